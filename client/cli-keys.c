/* tessera: key commands (what parsec-tool users reach for). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "client/cli-priv.h"
#include "common/secmem.h"
#include "common/util.h"

static const char *const key_commands[] = {
        "create-ecc-key",    "create-rsa-key", "import",
        "export-public-key", "sign",           "verify",
        "encrypt",           "decrypt",        "generate-random",
        "delete-key",        "create-csr",     NULL,
};

int cli_is_key_command(const char *cmd)
{
	for (int i = 0; key_commands[i] != NULL; i++)
		if (strcmp(cmd, key_commands[i]) == 0)
			return 1;
	return 0;
}

struct args {
	const char *name, *curve, *purpose, *type, *alg, *usage, *file, *message, *signature,
	        *ciphertext, *cn;
	uint32_t bits;
	int der;
	int provider; /* -1: the daemon's default */
};

static int usage_error(const char *cmd, const char *what)
{
	fprintf(stderr, "tessera: %s: %s (see tessera --help)\n", cmd, what);
	return EXIT_USAGE;
}

static int parse(int argc, char **argv, struct args *a)
{
	enum {
		O_CURVE = 256,
		O_BITS,
		O_FOR,
		O_TYPE,
		O_ALG,
		O_USAGE,
		O_FILE,
		O_MESSAGE,
		O_SIG,
		O_CT,
		O_DER,
		O_PROVIDER,
		O_CN
	};
	static const struct option opts[] = {
	        {"curve", required_argument, NULL, O_CURVE},
	        {"bits", required_argument, NULL, O_BITS},
	        {"for", required_argument, NULL, O_FOR},
	        {"type", required_argument, NULL, O_TYPE},
	        {"alg", required_argument, NULL, O_ALG},
	        {"usage", required_argument, NULL, O_USAGE},
	        {"file", required_argument, NULL, O_FILE},
	        {"message", required_argument, NULL, O_MESSAGE},
	        {"signature", required_argument, NULL, O_SIG},
	        {"ciphertext", required_argument, NULL, O_CT},
	        {"der", no_argument, NULL, O_DER},
	        {"provider", required_argument, NULL, O_PROVIDER},
	        {"cn", required_argument, NULL, O_CN},
	        {NULL, 0, NULL, 0},
	};
	uint64_t v;
	int ch;

	memset(a, 0, sizeof(*a));
	a->provider = -1;
	optind = 0; /* 0, not 1: a full reset, so options may follow the name */
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case O_CURVE:
			a->curve = optarg;
			break;
		case O_FOR:
			a->purpose = optarg;
			break;
		case O_TYPE:
			a->type = optarg;
			break;
		case O_ALG:
			a->alg = optarg;
			break;
		case O_USAGE:
			a->usage = optarg;
			break;
		case O_FILE:
			a->file = optarg;
			break;
		case O_MESSAGE:
			a->message = optarg;
			break;
		case O_SIG:
			a->signature = optarg;
			break;
		case O_CT:
			a->ciphertext = optarg;
			break;
		case O_DER:
			a->der = 1;
			break;
		case O_CN:
			a->cn = optarg;
			break;
		case O_BITS:
			if (ts_parse_u64(optarg, 1, 16384, &v) != 0)
				return usage_error(argv[0], "--bits: expected a number of bits");
			a->bits = (uint32_t)v;
			break;
		case O_PROVIDER:
			if (ts_parse_u64(optarg, 1, 255, &v) != 0)
				return usage_error(argv[0],
				                   "--provider: expected an ID from 1 to 255");
			a->provider = (int)v;
			break;
		default:
			return EXIT_USAGE;
		}
	}
	if (optind < argc)
		a->name = argv[optind++];
	if (optind != argc)
		return usage_error(argv[0], "too many arguments");
	return EXIT_OK;
}

/* The bytes to work on: --message text or the contents of --file. */
static int input(const struct args *a, const char *cmd, uint8_t **ret, size_t *ret_len)
{
	FILE *f;
	uint8_t *buf = NULL;
	size_t len = 0, cap = 0, n;

	if ((a->message == NULL) == (a->file == NULL))
		return usage_error(cmd, "give exactly one of --message and --file");
	if (a->message != NULL) {
		*ret = (uint8_t *)strdup(a->message);
		*ret_len = strlen(a->message);
		return *ret != NULL ? EXIT_OK : EXIT_USAGE;
	}
	f = fopen(a->file, "rb");
	if (f == NULL) {
		fprintf(stderr, "tessera: %s: cannot read %s\n", cmd, a->file);
		return EXIT_USAGE;
	}
	do {
		if (len == cap) {
			uint8_t *grown = realloc(buf, cap ? cap * 2 : 4096);

			if (grown == NULL) {
				free(buf);
				fclose(f);
				return EXIT_USAGE;
			}
			buf = grown;
			cap = cap ? cap * 2 : 4096;
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
	} while (n > 0 && len < (64u << 20));
	fclose(f);
	*ret = buf;
	*ret_len = len;
	return EXIT_OK;
}

static void print_b64(const char *field, const uint8_t *data, size_t len)
{
	char *out = malloc(4 * ((len + 2) / 3) + 1);

	if (out == NULL)
		return;
	EVP_EncodeBlock((unsigned char *)out, data, (int)len);
	if (cli_json) {
		json_t *j = json_pack("{s:s}", field, out);
		char *s = json_dumps(j, JSON_INDENT(2));

		puts(s != NULL ? s : "{}");
		free(s);
		json_decref(j);
	} else {
		puts(out);
	}
	free(out);
}

static int decode_b64(const char *in, uint8_t **ret, size_t *ret_len)
{
	size_t len = strlen(in), pad = 0;
	uint8_t *out = malloc(len / 4 * 3 + 3);
	int n;

	if (out == NULL || len % 4 != 0) {
		free(out);
		return -1;
	}
	n = EVP_DecodeBlock(out, (const unsigned char *)in, (int)len);
	if (n < 0) {
		free(out);
		return -1;
	}
	/* EVP_DecodeBlock counts the padding as data. */
	while (len > 0 && in[len - 1] == '=' && pad < 2) {
		pad++;
		len--;
	}
	*ret = out;
	*ret_len = (size_t)n - pad;
	return 0;
}

/* The policy algorithm of one of the caller's keys in a provider (when
 * --alg is not given): asked of that key alone; a Parsec service has no such
 * request (OpcodeDoesNotExist), and there the caller's keys are listed. */
static char *key_alg(struct tessera_client *c, uint8_t provider, const char *name)
{
	struct tessera_key_info *k;
	size_t n;
	char *alg = NULL;
	int rc = tessera_key_attributes(c, provider, name, &k);

	if (rc == TESSERA_OK) {
		alg = k->alg != NULL ? strdup(k->alg) : NULL;
		tessera_key_info_free(k, 1);
		return alg;
	}
	if (rc != 9 /* OpcodeDoesNotExist */ || tessera_list_keys(c, &k, &n) != TESSERA_OK)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (k[i].provider_id == provider && strcmp(k[i].name, name) == 0 &&
		    k[i].alg != NULL)
			alg = strdup(k[i].alg);
	tessera_key_info_free(k, n);
	return alg;
}

/* PSA public key (RSAPublicKey DER, or an uncompressed point) -> OpenSSL key. */
static EVP_PKEY *public_to_pkey(const uint8_t *data, size_t len)
{
	const uint8_t *p = data;
	const char *curve = NULL;

	if (len > 0 && data[0] == 0x30)
		return d2i_PublicKey(EVP_PKEY_RSA, NULL, &p, (long)len);
	if (len == 65)
		curve = "prime256v1";
	else if (len == 97)
		curve = "secp384r1";
	else if (len == 133)
		curve = "secp521r1";
	if (curve != NULL && data[0] == 0x04) {
		OSSL_PARAM params[3] = {OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
		                                                         (char *)curve, 0),
		                        OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY,
		                                                          (void *)data, len),
		                        OSSL_PARAM_construct_end()};
		EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
		EVP_PKEY *pk = NULL;

		if (ctx != NULL && EVP_PKEY_fromdata_init(ctx) == 1)
			EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, params);
		EVP_PKEY_CTX_free(ctx);
		return pk;
	}
	return NULL;
}

static int export_public(struct tessera_client *c, uint8_t prov, const struct args *a)
{
	uint8_t *data;
	size_t len;
	EVP_PKEY *pk;
	int rc = tessera_export_public_key(c, prov, a->name, &data, &len);

	if (rc != TESSERA_OK)
		return cli_failed(c, "export-public-key", rc);
	pk = public_to_pkey(data, len);
	if (pk == NULL) {
		/* A type PEM tooling does not cover here: give the PSA bytes. */
		print_b64("public_key", data, len);
	} else if (a->der) {
		unsigned char *der = NULL;
		int n = i2d_PUBKEY(pk, &der);

		if (n > 0)
			fwrite(der, 1, (size_t)n, stdout);
		OPENSSL_free(der);
	} else {
		PEM_write_PUBKEY(stdout, pk);
	}
	EVP_PKEY_free(pk);
	free(data);
	return EXIT_OK;
}

/* r || s (PSA) -> DER ECDSA-Sig-Value (X.509). */
int cli_ecdsa_raw_to_der(const uint8_t *rs, size_t len, uint8_t **ret, int *ret_len)
{
	ECDSA_SIG *sig = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(rs, (int)len / 2, NULL);
	BIGNUM *s = BN_bin2bn(rs + len / 2, (int)len / 2, NULL);
	unsigned char *der = NULL;
	int n = -1;

	if (sig != NULL && r != NULL && s != NULL && ECDSA_SIG_set0(sig, r, s) == 1) {
		r = s = NULL; /* owned by sig now */
		n = i2d_ECDSA_SIG(sig, &der);
	}
	BN_free(r);
	BN_free(s);
	ECDSA_SIG_free(sig);
	if (n <= 0)
		return -1;
	*ret = der;
	*ret_len = n;
	return 0;
}

/* The X.509 signature algorithm for a PSA algorithm name (0: none). */
/* The hash of a hash-and-sign algorithm name (ecdsa-, rsa-pkcs1-, rsa-pss-
 * and sha1/sha224/sha256/sha384/sha512), or NULL. */
static const EVP_MD *sig_alg_md(const char *alg)
{
	static const char *const prefixes[] = {"ecdsa-", "rsa-pkcs1-", "rsa-pss-"};
	static const char *const hashes[] = {"sha1", "sha224", "sha256", "sha384", "sha512"};

	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		size_t n = strlen(prefixes[i]);

		if (strncmp(alg, prefixes[i], n) != 0)
			continue;
		for (size_t j = 0; j < sizeof(hashes) / sizeof(hashes[0]); j++)
			if (strcmp(alg + n, hashes[j]) == 0)
				return EVP_get_digestbyname(hashes[j]);
	}
	return NULL;
}

/* Sign or verify a message; where the provider has no message operation
 * (Parsec 1.1.0's Mbed Crypto provider answers PsaSignMessage with
 * NotSupported), the message is hashed here and the hash signed or
 * verified, as parsec-tool does. */
static int sign_or_verify(struct tessera_client *c, uint8_t prov, const char *key, const char *alg,
                          const uint8_t *in, size_t in_len, const uint8_t *sig, size_t sig_len,
                          uint8_t **ret_sig, size_t *ret_len)
{
	const EVP_MD *md;
	uint8_t hash[EVP_MAX_MD_SIZE];
	unsigned hash_len = 0;
	int rc = sig == NULL ? tessera_sign_message(c, prov, key, alg, in, in_len, ret_sig, ret_len)
	                     : tessera_verify_message(c, prov, key, alg, in, in_len, sig, sig_len);

	if (rc != 1134 /* PsaErrorNotSupported */ || (md = sig_alg_md(alg)) == NULL ||
	    EVP_Digest(in, in_len, hash, &hash_len, md, NULL) != 1)
		return rc;
	return sig == NULL ? tessera_sign_hash(c, prov, key, alg, hash, hash_len, ret_sig, ret_len)
	                   : tessera_verify_hash(c, prov, key, alg, hash, hash_len, sig, sig_len);
}

static int csr_sig_nid(const char *alg, const EVP_MD **ret_md)
{
	static const struct {
		const char *alg;
		int nid;
	} map[] = {
	        {"ecdsa-sha256", NID_ecdsa_with_SHA256},
	        {"ecdsa-sha384", NID_ecdsa_with_SHA384},
	        {"ecdsa-sha512", NID_ecdsa_with_SHA512},
	        {"rsa-pkcs1-sha256", NID_sha256WithRSAEncryption},
	        {"rsa-pkcs1-sha384", NID_sha384WithRSAEncryption},
	        {"rsa-pkcs1-sha512", NID_sha512WithRSAEncryption},
	};

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		if (strcmp(alg, map[i].alg) == 0) {
			*ret_md = sig_alg_md(alg);
			return map[i].nid;
		}
	}
	return 0;
}

void cli_write_pem(const char *label, const uint8_t *der, size_t len, const char *eol)
{
	char *b64 = malloc(4 * ((len + 2) / 3) + 1);
	size_t n;

	if (b64 == NULL)
		return;
	n = (size_t)EVP_EncodeBlock((unsigned char *)b64, der, (int)len);
	printf("-----BEGIN %s-----%s", label, eol);
	for (size_t i = 0; i < n; i += 64)
		printf("%.*s%s", (int)(n - i < 64 ? n - i : 64), b64 + i, eol);
	printf("-----END %s-----%s", label, eol);
	free(b64);
}

/* The subject: one RDN per attribute, in rcgen's order (as parsec-tool). */
static int csr_subject(X509_NAME *subj, const struct cli_csr *r)
{
	const char *const fields[][2] = {
	        {"CN", r->cn},
	        {"OU", r->ou},
	        {"O", r->o},
	        {"L", r->l},
	        {"ST", r->st},
	        {"C", r->c},
	        {"serialNumber", r->serial},
	};

	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (fields[i][1] != NULL &&
		    X509_NAME_add_entry_by_txt(subj, fields[i][0], MBSTRING_UTF8,
		                               (const unsigned char *)fields[i][1], -1, -1, 0) != 1)
			return -1;
	return 0;
}

/* A subjectAltName extension request with the DNS names. */
static int csr_san(X509_REQ *req, const struct cli_csr *r)
{
	STACK_OF(X509_EXTENSION) *exts = NULL;
	GENERAL_NAMES *gens = NULL;
	X509_EXTENSION *ext = NULL;
	int rc = -1;

	if (r->n_san == 0)
		return 0;
	gens = GENERAL_NAMES_new();
	exts = sk_X509_EXTENSION_new_null();
	if (gens == NULL || exts == NULL)
		goto out;
	for (size_t i = 0; i < r->n_san; i++) {
		GENERAL_NAME *g = GENERAL_NAME_new();
		ASN1_IA5STRING *dns = ASN1_IA5STRING_new();

		if (g == NULL || dns == NULL || ASN1_STRING_set(dns, r->san[i], -1) != 1) {
			GENERAL_NAME_free(g);
			ASN1_IA5STRING_free(dns);
			goto out;
		}
		GENERAL_NAME_set0_value(g, GEN_DNS, dns);
		if (sk_GENERAL_NAME_push(gens, g) <= 0) {
			GENERAL_NAME_free(g);
			goto out;
		}
	}
	ext = X509V3_EXT_i2d(NID_subject_alt_name, 0, gens);
	if (ext == NULL || sk_X509_EXTENSION_push(exts, ext) <= 0)
		goto out;
	ext = NULL; /* owned by exts */
	rc = X509_REQ_add_extensions(req, exts) == 1 ? 0 : -1;
out:
	X509_EXTENSION_free(ext);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	GENERAL_NAMES_free(gens);
	return rc;
}

/*
 * A PKCS#10 request for a key held in the daemon: the request is built here,
 * its to-be-signed part hashed here, and the hash signed by the daemon; the
 * private key never leaves it.
 */
int cli_create_csr(struct tessera_client *c, uint8_t prov, const struct cli_csr *r)
{
	X509_REQ *req = X509_REQ_new();
	X509_NAME *subj = X509_NAME_new();
	X509_ALGOR *algor = X509_ALGOR_new();
	ASN1_BIT_STRING *bits = ASN1_BIT_STRING_new();
	EVP_PKEY *pk = NULL;
	uint8_t *pub = NULL, *tbs = NULL, *sig = NULL, *der = NULL, hash[64];
	size_t pub_len = 0, sig_len = 0;
	int tbs_len, der_len = 0, rc = EXIT_STATUS, nid = 0;
	unsigned hash_len;
	char *alg = r->alg != NULL ? strdup(r->alg) : key_alg(c, prov, r->key);
	const EVP_MD *md = NULL;

	if (alg == NULL || (nid = csr_sig_nid(alg, &md)) == 0) {
		rc = usage_error("create-csr", "the key must sign with ECDSA or RSA PKCS#1 v1.5 "
		                               "and SHA-2 (give --alg if its policy names none)");
		goto out;
	}
	rc = tessera_export_public_key(c, prov, r->key, &pub, &pub_len);
	if (rc != TESSERA_OK) {
		rc = cli_failed(c, "create-csr", rc);
		goto out;
	}
	rc = EXIT_STATUS;
	pk = public_to_pkey(pub, pub_len);
	if (req == NULL || subj == NULL || algor == NULL || bits == NULL || pk == NULL ||
	    X509_REQ_set_version(req, 0) != 1 || csr_subject(subj, r) != 0 ||
	    X509_REQ_set_subject_name(req, subj) != 1 || X509_REQ_set_pubkey(req, pk) != 1 ||
	    csr_san(req, r) != 0 ||
	    /* RSA signature algorithms carry NULL parameters; ECDSA ones none. */
	    X509_ALGOR_set0(algor, OBJ_nid2obj(nid),
	                    strncmp(alg, "rsa", 3) == 0 ? V_ASN1_NULL : V_ASN1_UNDEF, NULL) != 1 ||
	    X509_REQ_set1_signature_algo(req, algor) != 1) {
		fprintf(stderr, "tessera: create-csr: cannot build the request\n");
		goto out;
	}
	tbs_len = i2d_re_X509_REQ_tbs(req, &tbs);
	if (tbs_len <= 0 || EVP_Digest(tbs, (size_t)tbs_len, hash, &hash_len, md, NULL) != 1)
		goto out;
	rc = tessera_sign_hash(c, prov, r->key, alg, hash, hash_len, &sig, &sig_len);
	if (rc != TESSERA_OK) {
		rc = cli_failed(c, "create-csr", rc);
		goto out;
	}
	rc = EXIT_STATUS;
	if (strncmp(alg, "ecdsa", 5) == 0) {
		if (cli_ecdsa_raw_to_der(sig, sig_len, &der, &der_len) < 0)
			goto out;
		ASN1_BIT_STRING_set(bits, der, der_len);
	} else {
		ASN1_BIT_STRING_set(bits, sig, (int)sig_len);
	}
	/* A signature is whole bytes: no unused bits. */
	bits->flags &= ~(ASN1_STRING_FLAG_BITS_LEFT | 0x07);
	bits->flags |= ASN1_STRING_FLAG_BITS_LEFT;
	X509_REQ_set0_signature(req, bits);
	bits = NULL;
	if (r->format == CLI_CSR_DER) {
		i2d_X509_REQ_fp(stdout, req);
	} else if (r->format == CLI_CSR_PEM) {
		PEM_write_X509_REQ(stdout, req);
	} else {
		/* parsec-tool: rcgen's PEM (CRLF line ends), then println!'s newline */
		unsigned char *out = NULL;
		int n = i2d_X509_REQ(req, &out);

		if (n <= 0)
			goto out;
		cli_write_pem("CERTIFICATE REQUEST", out, (size_t)n, "\r\n");
		printf("\n");
		OPENSSL_free(out);
	}
	rc = EXIT_OK;
out:
	free(alg);
	free(pub);
	free(sig);
	OPENSSL_free(tbs);
	OPENSSL_free(der);
	ASN1_BIT_STRING_free(bits);
	X509_ALGOR_free(algor);
	X509_NAME_free(subj);
	EVP_PKEY_free(pk);
	X509_REQ_free(req);
	return rc;
}

int cli_key_command(struct tessera_client *c, int argc, char **argv)
{
	const char *cmd = argv[0];
	struct tessera_key_spec spec = {0};
	struct args a;
	uint8_t prov, *in = NULL, *out = NULL, *sig = NULL;
	size_t in_len = 0, out_len = 0, sig_len = 0;
	char *alg = NULL;
	int rc = parse(argc, argv, &a);

	if (rc != EXIT_OK)
		return rc;
	if (strcmp(cmd, "generate-random") != 0 && a.name == NULL)
		return usage_error(cmd, "a key name is needed");
	if (a.provider >= 0) {
		prov = (uint8_t)a.provider;
	} else if ((rc = tessera_default_provider(c, &prov)) != TESSERA_OK) {
		return cli_failed(c, cmd, rc);
	}

	if (strcmp(cmd, "create-ecc-key") == 0) {
		const char *curve = a.curve ? a.curve : "p256";

		spec.type = "ecc";
		if (strcmp(curve, "p256") == 0)
			spec.bits = 256, spec.alg = "ecdsa-sha256";
		else if (strcmp(curve, "p384") == 0)
			spec.bits = 384, spec.alg = "ecdsa-sha384";
		else if (strcmp(curve, "p521") == 0)
			spec.bits = 521, spec.alg = "ecdsa-sha512";
		else
			return usage_error(cmd, "--curve: expected p256, p384 or p521");
		spec.usage = TESSERA_USAGE_SIGN_HASH | TESSERA_USAGE_VERIFY_HASH |
		             TESSERA_USAGE_SIGN_MESSAGE | TESSERA_USAGE_VERIFY_MESSAGE;
		rc = tessera_generate_key(c, prov, a.name, &spec);
	} else if (strcmp(cmd, "create-rsa-key") == 0) {
		int encrypt = a.purpose != NULL && strcmp(a.purpose, "encrypt") == 0;

		if (a.purpose != NULL && !encrypt && strcmp(a.purpose, "sign") != 0)
			return usage_error(cmd, "--for: expected sign or encrypt");
		spec.type = "rsa";
		spec.bits = a.bits ? a.bits : 2048;
		spec.alg = encrypt ? "rsa-oaep-sha256" : "rsa-pkcs1-sha256";
		spec.usage = encrypt ? TESSERA_USAGE_ENCRYPT | TESSERA_USAGE_DECRYPT
		                     : TESSERA_USAGE_SIGN_HASH | TESSERA_USAGE_VERIFY_HASH |
		                               TESSERA_USAGE_SIGN_MESSAGE |
		                               TESSERA_USAGE_VERIFY_MESSAGE;
		rc = tessera_generate_key(c, prov, a.name, &spec);
	} else if (strcmp(cmd, "import") == 0) {
		if (a.type == NULL || a.usage == NULL)
			return usage_error(cmd, "--type and --usage are needed");
		spec.type = a.type;
		spec.alg = a.alg;
		spec.usage = strcmp(a.usage, "sign") == 0
		                     ? TESSERA_USAGE_SIGN_HASH | TESSERA_USAGE_SIGN_MESSAGE |
		                               TESSERA_USAGE_VERIFY_HASH |
		                               TESSERA_USAGE_VERIFY_MESSAGE
		             : strcmp(a.usage, "verify") == 0
		                     ? TESSERA_USAGE_VERIFY_HASH | TESSERA_USAGE_VERIFY_MESSAGE
		             : strcmp(a.usage, "encrypt") == 0 ? TESSERA_USAGE_ENCRYPT
		             : strcmp(a.usage, "decrypt") == 0
		                     ? TESSERA_USAGE_ENCRYPT | TESSERA_USAGE_DECRYPT
		                     : 0;
		if (spec.usage == 0)
			return usage_error(cmd,
			                   "--usage: expected sign, verify, encrypt or decrypt");
		if ((rc = input(&a, cmd, &in, &in_len)) != EXIT_OK)
			return rc;
		rc = tessera_import_key(c, prov, a.name, &spec, in, in_len);
		ts_free_secret(in, in_len);
		in = NULL;
	} else if (strcmp(cmd, "export-public-key") == 0) {
		return export_public(c, prov, &a);
	} else if (strcmp(cmd, "create-csr") == 0) {
		struct cli_csr r = {.key = a.name, .alg = a.alg, .cn = a.cn};

		if (a.cn == NULL)
			return usage_error(cmd, "--cn is needed");
		r.format = a.der ? CLI_CSR_DER : CLI_CSR_PEM;
		return cli_create_csr(c, prov, &r);
	} else if (strcmp(cmd, "delete-key") == 0) {
		rc = tessera_destroy_key(c, prov, a.name);
	} else if (strcmp(cmd, "generate-random") == 0) {
		uint64_t n;

		if (a.name == NULL || ts_parse_u64(a.name, 1, 1u << 20, &n) != 0)
			return usage_error(cmd, "expected a byte count from 1 to 1048576");
		rc = tessera_generate_random(c, prov, (size_t)n, &out);
		if (rc == TESSERA_OK) {
			for (uint64_t i = 0; i < n; i++)
				printf("%02x", out[i]);
			printf("\n");
			ts_free_secret(out, (size_t)n);
			return EXIT_OK;
		}
	} else {
		/* sign, verify, encrypt, decrypt: the algorithm defaults to the key's policy. */
		alg = a.alg != NULL ? strdup(a.alg) : key_alg(c, prov, a.name);
		if (alg == NULL) {
			fprintf(stderr,
			        "tessera: %s: no key \"%s\" with a named algorithm; give "
			        "--alg\n",
			        cmd, a.name);
			return EXIT_STATUS;
		}
		if (strcmp(cmd, "sign") == 0 || strcmp(cmd, "verify") == 0 ||
		    strcmp(cmd, "encrypt") == 0) {
			if ((rc = input(&a, cmd, &in, &in_len)) != EXIT_OK) {
				free(alg);
				return rc;
			}
		}
		if (strcmp(cmd, "sign") == 0) {
			rc = sign_or_verify(c, prov, a.name, alg, in, in_len, NULL, 0, &out,
			                    &out_len);
			if (rc == TESSERA_OK)
				print_b64("signature", out, out_len);
		} else if (strcmp(cmd, "verify") == 0) {
			if (a.signature == NULL || decode_b64(a.signature, &sig, &sig_len) < 0)
				rc = -100;
			else
				rc = sign_or_verify(c, prov, a.name, alg, in, in_len, sig, sig_len,
				                    NULL, NULL);
			if (rc == TESSERA_OK)
				printf(cli_json ? "{\"verified\": true}\n"
				                : "Signature verified.\n");
		} else if (strcmp(cmd, "encrypt") == 0) {
			rc = tessera_asymmetric_encrypt(c, prov, a.name, alg, in, in_len, NULL, 0,
			                                &out, &out_len);
			if (rc == TESSERA_OK)
				print_b64("ciphertext", out, out_len);
		} else {
			if (a.ciphertext == NULL || decode_b64(a.ciphertext, &in, &in_len) < 0)
				rc = -100;
			else
				rc = tessera_asymmetric_decrypt(c, prov, a.name, alg, in, in_len,
				                                NULL, 0, &out, &out_len);
			if (rc == TESSERA_OK) {
				fwrite(out, 1, out_len, stdout);
				if (!cli_json)
					fflush(stdout);
			}
		}
		free(alg);
		free(in);
		free(sig);
		ts_free_secret(out, out_len);
		if (rc == -100)
			return usage_error(cmd, "a base64 --signature/--ciphertext is needed");
		return rc == TESSERA_OK ? EXIT_OK : cli_failed(c, cmd, rc);
	}
	if (rc != TESSERA_OK)
		return cli_failed(c, cmd, rc);
	if (!cli_json)
		printf("%s: done.\n", cmd);
	else
		printf("{\"%s\": \"done\"}\n", cmd);
	return EXIT_OK;
}
