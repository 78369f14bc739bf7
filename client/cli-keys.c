/* tessera: key commands (what parsec-tool users reach for). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "client/cli-priv.h"
#include "common/secmem.h"
#include "common/util.h"

static const char *const key_commands[] = {
        "create-ecc-key",
        "create-rsa-key",
        "import",
        "export-public-key",
        "sign",
        "verify",
        "encrypt",
        "decrypt",
        "generate-random",
        "delete-key",
        NULL,
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
	        *ciphertext;
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
		O_PROVIDER
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

/* The policy algorithm of one of the caller's keys (when --alg is not given). */
static char *key_alg(struct tessera_client *c, const char *name)
{
	struct tessera_key_info *k;
	size_t n;
	char *alg = NULL;

	if (tessera_list_keys(c, &k, &n) != TESSERA_OK)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (strcmp(k[i].name, name) == 0 && k[i].alg != NULL)
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
		alg = a.alg != NULL ? strdup(a.alg) : key_alg(c, a.name);
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
			rc = tessera_sign_message(c, prov, a.name, alg, in, in_len, &out, &out_len);
			if (rc == TESSERA_OK)
				print_b64("signature", out, out_len);
		} else if (strcmp(cmd, "verify") == 0) {
			if (a.signature == NULL || decode_b64(a.signature, &sig, &sig_len) < 0)
				rc = -100;
			else
				rc = tessera_verify_message(c, prov, a.name, alg, in, in_len, sig,
				                            sig_len);
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
