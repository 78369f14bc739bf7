/*
 * tessera: parsec-tool 0.5's command lines, with its meaning and its stdout
 * (docs/libtessera.md, "parsec-tool's spellings"). Informational lines go to
 * stderr, as parsec-tool's logger puts them there.
 */
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#include "client/cli-priv.h"
#include "client/client-priv.h"
#include "common/secmem.h"
#include "common/util.h"
#include "list_keys.pb-c.h"
#include "list_opcodes.pb-c.h"
#include "list_providers.pb-c.h"
#include "wire/wire.h"

#define PT_MAX_SAN 64

/* parsec-tool's own flags, which Tessera's forms never use. */
static const char *const pt_flags[] = {
        "-k",  "--key-name",     "-n",    "--nbytes", "-c",  "--client", "-p",   "--provider",
        "-s",  "--for-signing",  "-b",    "--pkcs1",  "--l", "--o",      "--ou", "--st",
        "--c", "--serialNumber", "--san", NULL,
};

static int is_pt_flag(const char *arg)
{
	for (int i = 0; pt_flags[i] != NULL; i++) {
		size_t n = strlen(pt_flags[i]);

		if (strncmp(arg, pt_flags[i], n) != 0)
			continue;
		/* Tessera's list-opcodes and key commands spell --provider too. */
		if (strcmp(pt_flags[i], "--provider") == 0)
			continue;
		if (arg[n] == '\0' || arg[n] == '=' || (arg[1] != '-' && n == 2))
			return 1;
	}
	return 0;
}

/* Tessera's options that take a separate value. */
static int is_tessera_valued(const char *arg)
{
	static const char *const opts[] = {
	        "--message", "--file",     "--signature", "--ciphertext", "--alg",
	        "--cn",      "--type",     "--usage",     "--curve",      "--bits",
	        "--for",     "--provider", NULL,
	};

	for (int i = 0; opts[i] != NULL; i++)
		if (strcmp(arg, opts[i]) == 0)
			return 1;
	return 0;
}

static int pt_command_index(const char *cmd);

int cli_parsec_form(const char *prog, int globals, int argc, char **argv)
{
	const char *base = strrchr(prog, '/');
	const char *env = getenv("TESSERA_CLI");

	base = base != NULL ? base + 1 : prog;
	/* Tessera's own commands (whoami, verify, import) keep their form,
	 * unless parsec-tool's global options ask for parsec-tool. */
	if (pt_command_index(argv[0]) < 0)
		return globals;
	if (globals || strcmp(base, "parsec-tool") == 0 ||
	    (env != NULL && strcmp(env, "parsec-tool") == 0))
		return 1;
	for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
		if (is_tessera_valued(argv[i]))
			i++; /* its value may look like anything: "--message -s" */
		else if (is_pt_flag(argv[i]))
			return 1;
	}
	return 0;
}

/* ---- Rust Debug forms of psa-crypto's types, as list-keys prints them ---- */

struct buf {
	char s[512];
	size_t n;
};

static void put(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->n >= sizeof(b->s))
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->s + b->n, sizeof(b->s) - b->n, fmt, ap);
	va_end(ap);
	b->n = n < 0 ? sizeof(b->s) : b->n + (size_t)n;
}

/* Tables indexed by the protobuf enum value or oneof case (the order of the
 * Rust enums). */
static const char *pick(const char *const *names, size_t n, unsigned v)
{
	return v < n && names[v] != NULL ? names[v] : "Unknown";
}
#define PICK(t, v) pick(t, sizeof(t) / sizeof(t[0]), (unsigned)(v))

static const char *const hash_names[] = {
        NULL,       "Md2",      "Md4",      "Md5",      "Ripemd160",  "Sha1",
        "Sha224",   "Sha256",   "Sha384",   "Sha512",   "Sha512_224", "Sha512_256",
        "Sha3_224", "Sha3_256", "Sha3_384", "Sha3_512",
};
static const char *const cipher_names[] = {
        NULL,  "StreamCipher", "Ctr",          "Cfb",      "Ofb",
        "Xts", "EcbNoPadding", "CbcNoPadding", "CbcPkcs7",
};
static const char *const aead_names[] = {NULL, "Ccm", "Gcm", "Chacha20Poly1305"};
static const char *const raw_ka_names[] = {NULL, "Ffdh", "Ecdh"};
static const char *const family_names[] = {
        NULL,     "SecpK1", "SecpR1",       "SecpR2", "SectK1",
        "SectR1", "SectR2", "BrainpoolPR1", "Frp",    "Montgomery",
};
static const char *const type_names[] = {
        NULL,       "RawData", "Hmac",     "Derive",       "Aes",        "Des",
        "Camellia", "Arc4",    "Chacha20", "RsaPublicKey", "RsaKeyPair",
};

static void put_full_mac(struct buf *b, const PsaAlgorithm__Algorithm__Mac__FullLength *m)
{
	if (m == NULL)
		put(b, "Unknown");
	else if (m->variant_case == PSA_ALGORITHM__ALGORITHM__MAC__FULL_LENGTH__VARIANT_HMAC)
		put(b, "Hmac { hash_alg: %s }",
		    m->hmac ? PICK(hash_names, m->hmac->hash_alg) : "Unknown");
	else if (m->variant_case == PSA_ALGORITHM__ALGORITHM__MAC__FULL_LENGTH__VARIANT_CBC_MAC)
		put(b, "CbcMac");
	else if (m->variant_case == PSA_ALGORITHM__ALGORITHM__MAC__FULL_LENGTH__VARIANT_CMAC)
		put(b, "Cmac");
	else
		put(b, "Unknown");
}

static void put_kdf(struct buf *b, const PsaAlgorithm__Algorithm__KeyDerivation *k)
{
	static const char *const names[] = {NULL, "Hkdf", "Tls12Prf", "Tls12PskToMs"};
	int h = 0;

	if (k == NULL) {
		put(b, "Unknown");
		return;
	}
	switch (k->variant_case) {
	case PSA_ALGORITHM__ALGORITHM__KEY_DERIVATION__VARIANT_HKDF:
		h = k->hkdf ? (int)k->hkdf->hash_alg : 0;
		break;
	case PSA_ALGORITHM__ALGORITHM__KEY_DERIVATION__VARIANT_TLS12_PRF:
		h = k->tls12_prf ? (int)k->tls12_prf->hash_alg : 0;
		break;
	case PSA_ALGORITHM__ALGORITHM__KEY_DERIVATION__VARIANT_TLS12_PSK_TO_MS:
		h = k->tls12_psk_to_ms ? (int)k->tls12_psk_to_ms->hash_alg : 0;
		break;
	default:
		break;
	}
	put(b, "%s { hash_alg: %s }", PICK(names, k->variant_case), PICK(hash_names, h));
}

static void put_sign_hash(struct buf *b,
                          const PsaAlgorithm__Algorithm__AsymmetricSignature__SignHash *h)
{
	if (h != NULL &&
	    h->variant_case ==
	            PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_SIGNATURE__SIGN_HASH__VARIANT_ANY)
		put(b, "Any");
	else if (
	        h != NULL &&
	        h->variant_case ==
	                PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_SIGNATURE__SIGN_HASH__VARIANT_SPECIFIC)
		put(b, "Specific(%s)", PICK(hash_names, h->specific));
	else
		put(b, "Unknown");
}

static void put_signature(struct buf *b, const PsaAlgorithm__Algorithm__AsymmetricSignature *s)
{
	static const char *const names[] = {
	        NULL,    "RsaPkcs1v15Sign", "RsaPkcs1v15SignRaw", "RsaPss",
	        "Ecdsa", "EcdsaAny",        "DeterministicEcdsa",
	};
	const PsaAlgorithm__Algorithm__AsymmetricSignature__SignHash *h = NULL;

	if (s == NULL) {
		put(b, "Unknown");
		return;
	}
	put(b, "%s", PICK(names, s->variant_case));
	switch (s->variant_case) {
	case PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_SIGNATURE__VARIANT_RSA_PKCS1V15_SIGN:
		h = s->rsa_pkcs1v15_sign ? s->rsa_pkcs1v15_sign->hash_alg : NULL;
		break;
	case PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_SIGNATURE__VARIANT_RSA_PSS:
		h = s->rsa_pss ? s->rsa_pss->hash_alg : NULL;
		break;
	case PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_SIGNATURE__VARIANT_ECDSA:
		h = s->ecdsa ? s->ecdsa->hash_alg : NULL;
		break;
	case PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_SIGNATURE__VARIANT_DETERMINISTIC_ECDSA:
		h = s->deterministic_ecdsa ? s->deterministic_ecdsa->hash_alg : NULL;
		break;
	default:
		return; /* unit variants */
	}
	put(b, " { hash_alg: ");
	put_sign_hash(b, h);
	put(b, " }");
}

static void put_algorithm(struct buf *b, const PsaAlgorithm__Algorithm *a)
{
	if (a == NULL) {
		put(b, "None");
		return;
	}
	switch (a->variant_case) {
	case PSA_ALGORITHM__ALGORITHM__VARIANT_HASH:
		put(b, "Hash(%s)", PICK(hash_names, a->hash));
		break;
	case PSA_ALGORITHM__ALGORITHM__VARIANT_MAC:
		put(b, "Mac(");
		if (a->mac != NULL &&
		    a->mac->variant_case == PSA_ALGORITHM__ALGORITHM__MAC__VARIANT_TRUNCATED) {
			put(b, "Truncated { mac_alg: ");
			put_full_mac(b, a->mac->truncated ? a->mac->truncated->mac_alg : NULL);
			put(b, ", mac_length: %u }",
			    a->mac->truncated ? a->mac->truncated->mac_length : 0);
		} else {
			put(b, "FullLength(");
			put_full_mac(b, a->mac ? a->mac->full_length : NULL);
			put(b, ")");
		}
		put(b, ")");
		break;
	case PSA_ALGORITHM__ALGORITHM__VARIANT_CIPHER:
		put(b, "Cipher(%s)", PICK(cipher_names, a->cipher));
		break;
	case PSA_ALGORITHM__ALGORITHM__VARIANT_AEAD:
		if (a->aead != NULL &&
		    a->aead->variant_case ==
		            PSA_ALGORITHM__ALGORITHM__AEAD__VARIANT_AEAD_WITH_SHORTENED_TAG &&
		    a->aead->aead_with_shortened_tag != NULL)
			put(b, "Aead(AeadWithShortenedTag { aead_alg: %s, tag_length: %u })",
			    PICK(aead_names, a->aead->aead_with_shortened_tag->aead_alg),
			    a->aead->aead_with_shortened_tag->tag_length);
		else
			put(b, "Aead(AeadWithDefaultLengthTag(%s))",
			    a->aead ? PICK(aead_names, a->aead->aead_with_default_length_tag)
			            : "Unknown");
		break;
	case PSA_ALGORITHM__ALGORITHM__VARIANT_ASYMMETRIC_SIGNATURE:
		put(b, "AsymmetricSignature(");
		put_signature(b, a->asymmetric_signature);
		put(b, ")");
		break;
	case PSA_ALGORITHM__ALGORITHM__VARIANT_ASYMMETRIC_ENCRYPTION:
		if (a->asymmetric_encryption != NULL &&
		    a->asymmetric_encryption->variant_case ==
		            PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_ENCRYPTION__VARIANT_RSA_OAEP)
			put(b, "AsymmetricEncryption(RsaOaep { hash_alg: %s })",
			    a->asymmetric_encryption->rsa_oaep
			            ? PICK(hash_names, a->asymmetric_encryption->rsa_oaep->hash_alg)
			            : "Unknown");
		else
			put(b, "AsymmetricEncryption(RsaPkcs1v15Crypt)");
		break;
	case PSA_ALGORITHM__ALGORITHM__VARIANT_KEY_AGREEMENT:
		if (a->key_agreement != NULL &&
		    a->key_agreement->variant_case ==
		            PSA_ALGORITHM__ALGORITHM__KEY_AGREEMENT__VARIANT_WITH_KEY_DERIVATION &&
		    a->key_agreement->with_key_derivation != NULL) {
			put(b, "KeyAgreement(WithKeyDerivation { ka_alg: %s, kdf_alg: ",
			    PICK(raw_ka_names, a->key_agreement->with_key_derivation->ka_alg));
			put_kdf(b, a->key_agreement->with_key_derivation->kdf_alg);
			put(b, " })");
		} else {
			put(b, "KeyAgreement(Raw(%s))",
			    a->key_agreement ? PICK(raw_ka_names, a->key_agreement->raw)
			                     : "Unknown");
		}
		break;
	case PSA_ALGORITHM__ALGORITHM__VARIANT_KEY_DERIVATION:
		put(b, "KeyDerivation(");
		put_kdf(b, a->key_derivation);
		put(b, ")");
		break;
	default:
		put(b, "None");
		break;
	}
}

static void put_type(struct buf *b, const PsaKeyAttributes__KeyType *t)
{
	if (t == NULL) {
		put(b, "Unknown");
		return;
	}
	switch (t->variant_case) {
	case PSA_KEY_ATTRIBUTES__KEY_TYPE__VARIANT_ECC_KEY_PAIR:
		put(b, "EccKeyPair { curve_family: %s }",
		    t->ecc_key_pair ? PICK(family_names, t->ecc_key_pair->curve_family)
		                    : "Unknown");
		break;
	case PSA_KEY_ATTRIBUTES__KEY_TYPE__VARIANT_ECC_PUBLIC_KEY:
		put(b, "EccPublicKey { curve_family: %s }",
		    t->ecc_public_key ? PICK(family_names, t->ecc_public_key->curve_family)
		                      : "Unknown");
		break;
	case PSA_KEY_ATTRIBUTES__KEY_TYPE__VARIANT_DH_KEY_PAIR:
		put(b, "DhKeyPair { group_family: Rfc7919 }");
		break;
	case PSA_KEY_ATTRIBUTES__KEY_TYPE__VARIANT_DH_PUBLIC_KEY:
		put(b, "DhPublicKey { group_family: Rfc7919 }");
		break;
	default:
		put(b, "%s", PICK(type_names, t->variant_case));
		break;
	}
}

/* ProviderId's and AuthType's Display, as parsec-interface 0.27 writes them. */
static const char *provider_display(uint32_t id)
{
	static const char *const names[] = {
	        "Core provider",
	        "Mbed Crypto provider",
	        "PKCS #11 provider",
	        "TPM provider",
	        "Trusted Service provider",
	        "CryptoAuthentication Library provider",
	};

	return id < sizeof(names) / sizeof(names[0]) ? names[id] : NULL;
}

static const char *auth_display(uint32_t id)
{
	static const char *const names[] = {
	        "No authentication",
	        "Direct authentication",
	        "JSON Web Tokens authentication",
	        "Unix Peer Credentials authentication",
	        "JWT SPIFFE Verifiable Identity Document authentication",
	};

	return id < sizeof(names) / sizeof(names[0]) ? names[id] : "Unknown authentication";
}

/* ---- the key's attributes (parsec-client's key_attributes: ListKeys, first by name) ---- */

struct pt_key {
	ListKeys__Result *r;
	const PsaKeyAttributes__KeyAttributes *attr; /* in r */
	const PsaAlgorithm__Algorithm *alg;          /* in r, may be NULL */
};

static int pt_find_key(struct tessera_client *c, uint8_t prov, const char *name, struct pt_key *k)
{
	ListKeys__Operation op = LIST_KEYS__OPERATION__INIT;
	int rc;

	op.include_extensions = 1; /* -p may name an instance */
	rc = tessera_call(c, 0, WIRE_OP_LIST_KEYS, &op.base, &list_keys__result__descriptor,
	                  (ProtobufCMessage **)&k->r);

	k->attr = NULL;
	k->alg = NULL;
	if (rc != TESSERA_OK) {
		k->r = NULL;
		return cli_failed(c, "key attributes", rc);
	}
	/* The key in the provider addressed, else (parsec-client's
	 * key_attributes) the first of that name. */
	for (size_t i = 0; i < 2 * k->r->n_keys; i++) {
		const ListKeys__KeyInfo *ki = k->r->keys[i % k->r->n_keys];

		if (i < k->r->n_keys && ki->provider_id != prov)
			continue;
		if (strcmp(ki->name, name) == 0 && ki->attributes != NULL) {
			k->attr = ki->attributes;
			if (k->attr->key_policy != NULL)
				k->alg = k->attr->key_policy->key_algorithm;
			return EXIT_OK;
		}
	}
	fprintf(stderr, "tessera: no key \"%s\" among the caller's keys (NotFound)\n", name);
	list_keys__result__free_unpacked(k->r, NULL);
	k->r = NULL;
	return EXIT_STATUS;
}

static void pt_key_free(struct pt_key *k)
{
	if (k->r != NULL)
		list_keys__result__free_unpacked(k->r, NULL);
	k->r = NULL;
}

static int pt_list_keys(struct tessera_client *c)
{
	ListKeys__Operation op = LIST_KEYS__OPERATION__INIT;
	ListKeys__Result *r;
	int rc = tessera_call(c, 0, WIRE_OP_LIST_KEYS, &op.base, &list_keys__result__descriptor,
	                      (ProtobufCMessage **)&r);

	if (rc != TESSERA_OK)
		return cli_failed(c, "list-keys", rc);
	if (r->n_keys == 0)
		fprintf(stderr, "[INFO ] No keys currently available.\n");
	for (size_t i = 0; i < r->n_keys; i++) {
		const PsaKeyAttributes__KeyAttributes *a = r->keys[i]->attributes;
		const char *prov = provider_display(r->keys[i]->provider_id);
		struct buf b = {.n = 0};

		if (prov != NULL)
			put(&b, "%s, ", prov);
		else
			put(&b, "provider %u, ", r->keys[i]->provider_id);
		put_type(&b, a ? a->key_type : NULL);
		put(&b, ", %u bits, permitted algorithm: ", a ? a->key_bits : 0);
		put_algorithm(&b, a && a->key_policy ? a->key_policy->key_algorithm : NULL);
		printf("* %s (%s)\n", r->keys[i]->name, b.s);
	}
	list_keys__result__free_unpacked(r, NULL);
	return EXIT_OK;
}

/* ---- the other commands ---- */

struct pt_args {
	const char *key, *client, *text;
	const char *cn, *l, *o, *ou, *st, *c, *serial;
	char *san[PT_MAX_SAN];
	size_t n_san;
	uint64_t nbytes, bits;
	int have_nbytes, for_signing, pkcs1, provider;
};

static int pt_usage(const char *cmd, const char *what)
{
	fprintf(stderr, "tessera: %s: %s (parsec-tool's form; see tessera --help)\n", cmd, what);
	return EXIT_USAGE;
}

/* clap takes "-k=NAME" as "-k NAME". */
static const char *short_value(const char *v)
{
	return v[0] == '=' ? v + 1 : v;
}

static int pt_parse(int argc, char **argv, struct pt_args *a)
{
	enum { O_L = 256, O_O, O_OU, O_ST, O_C, O_SERIAL, O_SAN, O_CN, O_PKCS1 };
	static const struct option opts[] = {
	        {"key-name", required_argument, NULL, 'k'},
	        {"nbytes", required_argument, NULL, 'n'},
	        {"client", required_argument, NULL, 'c'},
	        {"provider", required_argument, NULL, 'p'},
	        {"for-signing", no_argument, NULL, 's'},
	        {"bits", required_argument, NULL, 'b'},
	        {"pkcs1", no_argument, NULL, O_PKCS1},
	        {"cn", required_argument, NULL, O_CN},
	        {"l", required_argument, NULL, O_L},
	        {"o", required_argument, NULL, O_O},
	        {"ou", required_argument, NULL, O_OU},
	        {"st", required_argument, NULL, O_ST},
	        {"c", required_argument, NULL, O_C},
	        {"serialNumber", required_argument, NULL, O_SERIAL},
	        {"san", required_argument, NULL, O_SAN},
	        {NULL, 0, NULL, 0},
	};
	const char *cmd = argv[0];
	int ch;

	memset(a, 0, sizeof(*a));
	a->provider = -1;
	optind = 0;
	while ((ch = getopt_long(argc, argv, "k:n:c:p:sb:", opts, NULL)) != -1) {
		switch (ch) {
		case 'k':
			a->key = short_value(optarg);
			break;
		case 'c':
			a->client = short_value(optarg);
			break;
		case 'n':
			if (ts_parse_u64(short_value(optarg), 1, 1u << 20, &a->nbytes) != 0)
				return pt_usage(cmd, "-n/--nbytes: expected 1 to 1048576");
			a->have_nbytes = 1;
			break;
		case 'p': {
			uint64_t v;

			if (ts_parse_u64(short_value(optarg), 0, 255, &v) != 0)
				return pt_usage(cmd, "-p/--provider: expected an ID from 0 to 255");
			a->provider = (int)v;
			break;
		}
		case 's':
			a->for_signing = 1;
			break;
		case 'b':
			if (ts_parse_u64(short_value(optarg), 1, 16384, &a->bits) != 0)
				return pt_usage(cmd, "-b/--bits: expected a number of bits");
			break;
		case O_PKCS1:
			a->pkcs1 = 1;
			break;
		case O_CN:
			a->cn = optarg;
			break;
		case O_L:
			a->l = optarg;
			break;
		case O_O:
			a->o = optarg;
			break;
		case O_OU:
			a->ou = optarg;
			break;
		case O_ST:
			a->st = optarg;
			break;
		case O_C:
			a->c = optarg;
			break;
		case O_SERIAL:
			a->serial = optarg;
			break;
		case O_SAN:
			/* clap's multi-value option: --san a b, or --san a --san b */
			do {
				if (a->n_san == PT_MAX_SAN)
					return pt_usage(cmd, "--san: too many names");
				a->san[a->n_san++] = optarg;
				optarg = optind < argc && argv[optind][0] != '-' ? argv[optind++]
				                                                 : NULL;
			} while (optarg != NULL);
			break;
		default:
			return EXIT_USAGE;
		}
	}
	if (optind < argc)
		a->text = argv[optind++];
	if (optind != argc)
		return pt_usage(cmd, "too many arguments");
	return EXIT_OK;
}

/* Which arguments each command takes: k key, c client, n nbytes, p provider,
 * t text, s/b RSA, 1 pkcs1, x CSR subject. */
static const struct {
	const char *name, *args;
	int needs_auth;
} pt_commands[] = {
        {"ping", "", 0},
        {"list-providers", "", 0},
        {"list-authenticators", "", 0},
        {"list-opcodes", "p", 0},
        {"list-keys", "", 1},
        {"list-clients", "", 1},
        {"delete-client", "c", 1},
        {"generate-random", "n", 1},
        {"export-public-key", "k1", 1},
        {"create-ecc-key", "k", 1},
        {"create-rsa-key", "ksb", 1},
        {"sign", "kt", 1},
        {"encrypt", "kt", 1},
        {"decrypt", "kt", 1},
        {"delete-key", "k", 1},
        {"create-csr", "kx", 1},
};

static int pt_command_index(const char *cmd)
{
	for (size_t i = 0; i < sizeof(pt_commands) / sizeof(pt_commands[0]); i++)
		if (strcmp(pt_commands[i].name, cmd) == 0)
			return (int)i;
	return -1;
}

static int pt_check(const char *cmd, const char *allowed, const struct pt_args *a)
{
	const struct {
		char f;
		int given;
		const char *flag;
	} given[] = {
	        {'k', a->key != NULL, "-k/--key-name"},
	        {'c', a->client != NULL, "-c/--client"},
	        {'n', a->have_nbytes, "-n/--nbytes"},
	        {'p', a->provider >= 0, "-p/--provider"},
	        {'t', a->text != NULL, "a positional argument"},
	        {'s', a->for_signing, "-s/--for-signing"},
	        {'b', a->bits != 0, "-b/--bits"},
	        {'1', a->pkcs1, "--pkcs1"},
	        {'x', a->cn || a->l || a->o || a->ou || a->st || a->c || a->serial || a->n_san > 0,
	         "the CSR subject options"},
	};
	char msg[128];

	for (size_t i = 0; i < sizeof(given) / sizeof(given[0]); i++) {
		if (given[i].given && strchr(allowed, given[i].f) == NULL) {
			snprintf(msg, sizeof(msg), "%s does not apply here", given[i].flag);
			return pt_usage(cmd, msg);
		}
		if (!given[i].given && strchr("kcnt", given[i].f) != NULL &&
		    strchr(allowed, given[i].f) != NULL) {
			snprintf(msg, sizeof(msg), "%s is needed", given[i].flag);
			return pt_usage(cmd, msg);
		}
	}
	return EXIT_OK;
}

/* parsec-client's set_default_auth: the first authenticator the daemon lists
 * that this client speaks, Direct with the application name "parsec-tool". */
static int pt_default_auth(struct tessera_options *o)
{
	struct tessera_options naked = *o;
	struct tessera_client *c;
	struct tessera_authenticator_info *a;
	size_t n;
	int rc;

	naked.auth_type = TESSERA_AUTH_NONE;
	naked.persistent = 0;
	if (tessera_open(&naked, &c) != TESSERA_OK) {
		fprintf(stderr, "tessera: bad endpoint (unix:/PATH, shorter than 108 bytes)\n");
		return EXIT_USAGE;
	}
	rc = tessera_list_authenticators(c, &a, &n);
	if (rc != TESSERA_OK) {
		rc = cli_failed(c, "list-authenticators", rc);
		tessera_close(c);
		return rc;
	}
	tessera_close(c);
	rc = EXIT_STATUS;
	for (size_t i = 0; i < n && rc != EXIT_OK; i++) {
		if (a[i].id == TESSERA_AUTH_DIRECT) {
			o->auth_type = TESSERA_AUTH_DIRECT;
			if (o->app_name == NULL)
				o->app_name = "parsec-tool";
			rc = EXIT_OK;
		} else if (a[i].id == TESSERA_AUTH_UNIX_PEER) {
			o->auth_type = TESSERA_AUTH_UNIX_PEER;
			rc = EXIT_OK;
		}
	}
	tessera_authenticator_info_free(a, n);
	if (rc != EXIT_OK)
		fprintf(stderr, "tessera: the daemon lists no authenticator parsec-tool speaks "
		                "(Direct or Unix peer credentials); give --auth\n");
	return rc;
}

static int pt_sign(struct tessera_client *c, uint8_t prov, const struct pt_args *a)
{
	struct pt_key k;
	char *alg = NULL;
	const EVP_MD *md = NULL;
	uint8_t hash[64], *sig = NULL, *der = NULL;
	unsigned hash_len = 0;
	size_t sig_len = 0;
	int rc = pt_find_key(c, prov, a->key, &k), der_len = 0, ecc;

	if (rc != EXIT_OK)
		return rc;
	if (k.alg == NULL ||
	    k.alg->variant_case != PSA_ALGORITHM__ALGORITHM__VARIANT_ASYMMETRIC_SIGNATURE) {
		fprintf(stderr,
		        "tessera: sign: the key's algorithm cannot sign (WrongKeyAlgorithm)\n");
		pt_key_free(&k);
		return EXIT_STATUS;
	}
	/* Only a specific SHA-2 hash: what tessera_alg_name names. */
	alg = tessera_alg_name(k.alg);
	ecc = k.alg->asymmetric_signature->variant_case ==
	              PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_SIGNATURE__VARIANT_ECDSA ||
	      k.alg->asymmetric_signature->variant_case ==
	              PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_SIGNATURE__VARIANT_DETERMINISTIC_ECDSA;
	pt_key_free(&k);
	if (alg != NULL)
		md = EVP_get_digestbyname(strrchr(alg, '-') + 1);
	if (md == NULL) {
		fprintf(stderr,
		        "tessera: sign: the key's signature algorithm needs a specific SHA-2 "
		        "hash (NotSupported)\n");
		free(alg);
		return EXIT_STATUS;
	}
	rc = EXIT_STATUS;
	if (EVP_Digest(a->text, strlen(a->text), hash, &hash_len, md, NULL) != 1)
		goto out;
	rc = tessera_sign_hash(c, prov, a->key, alg, hash, hash_len, &sig, &sig_len);
	if (rc != TESSERA_OK) {
		rc = cli_failed(c, "sign", rc);
		goto out;
	}
	rc = EXIT_STATUS;
	if (ecc) {
		if (cli_ecdsa_raw_to_der(sig, sig_len, &der, &der_len) < 0)
			goto out;
		free(sig);
		sig = malloc((size_t)der_len);
		if (sig == NULL)
			goto out;
		memcpy(sig, der, (size_t)der_len);
		sig_len = (size_t)der_len;
	}
	{
		char *b64 = malloc(4 * ((sig_len + 2) / 3) + 1);

		if (b64 == NULL)
			goto out;
		EVP_EncodeBlock((unsigned char *)b64, sig, (int)sig_len);
		printf("%s\n", b64);
		free(b64);
	}
	rc = EXIT_OK;
out:
	free(alg);
	free(sig);
	OPENSSL_free(der);
	return rc;
}

/* String::from_utf8_lossy: each ill-formed sequence becomes U+FFFD. */
static void print_utf8_lossy(const uint8_t *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		uint8_t c = s[i];
		size_t need = c < 0x80                 ? 0
		              : c >= 0xc2 && c <= 0xdf ? 1
		              : (c & 0xf0) == 0xe0     ? 2
		              : c >= 0xf0 && c <= 0xf4 ? 3
		                                       : 99;
		size_t j = 1;

		if (need == 0) {
			putchar(c);
			i++;
			continue;
		}
		/* The longest valid prefix, with the second byte's tighter ranges. */
		for (; need != 99 && j <= need && i + j < len; j++) {
			uint8_t lo = 0x80, hi = 0xbf, d = s[i + j];

			if (j == 1 && c == 0xe0)
				lo = 0xa0;
			else if (j == 1 && c == 0xed)
				hi = 0x9f;
			else if (j == 1 && c == 0xf0)
				lo = 0x90;
			else if (j == 1 && c == 0xf4)
				hi = 0x8f;
			if (d < lo || d > hi)
				break;
		}
		if (need != 99 && j == need + 1) {
			fwrite(s + i, 1, j, stdout);
		} else {
			fputs("\xef\xbf\xbd", stdout);
			if (need == 99)
				j = 1;
		}
		i += j;
	}
}

static int pt_crypt(struct tessera_client *c, uint8_t prov, const char *cmd,
                    const struct pt_args *a)
{
	struct pt_key k;
	char *alg;
	uint8_t *in = NULL, *out = NULL;
	size_t in_len = 0, out_len = 0;
	int rc = pt_find_key(c, prov, a->key, &k), decrypt = strcmp(cmd, "decrypt") == 0;

	if (rc != EXIT_OK)
		return rc;
	if (k.alg == NULL ||
	    k.alg->variant_case != PSA_ALGORITHM__ALGORITHM__VARIANT_ASYMMETRIC_ENCRYPTION) {
		int sym = k.alg != NULL &&
		          (k.alg->variant_case == PSA_ALGORITHM__ALGORITHM__VARIANT_CIPHER ||
		           k.alg->variant_case == PSA_ALGORITHM__ALGORITHM__VARIANT_AEAD);

		fprintf(stderr, "tessera: %s: the key's algorithm %s (%s)\n", cmd,
		        sym ? "is not supported here" : "cannot encrypt",
		        sym ? "NotSupported" : "WrongKeyAlgorithm");
		pt_key_free(&k);
		return EXIT_STATUS;
	}
	alg = tessera_alg_name(k.alg);
	pt_key_free(&k);
	if (alg == NULL) {
		fprintf(stderr,
		        "tessera: %s: the key's encryption algorithm is not supported "
		        "here (NotSupported)\n",
		        cmd);
		return EXIT_STATUS;
	}
	if (decrypt) {
		size_t len = strlen(a->text), pad = 0;

		in = malloc(len / 4 * 3 + 3);
		if (in == NULL || len % 4 != 0 ||
		    EVP_DecodeBlock(in, (const unsigned char *)a->text, (int)len) < 0) {
			free(in);
			free(alg);
			return pt_usage(cmd, "the ciphertext is not base64");
		}
		while (pad < 2 && len > pad && a->text[len - 1 - pad] == '=')
			pad++;
		in_len = len / 4 * 3 - pad;
		rc = tessera_asymmetric_decrypt(c, prov, a->key, alg, in, in_len, NULL, 0, &out,
		                                &out_len);
	} else {
		rc = tessera_asymmetric_encrypt(c, prov, a->key, alg, (const uint8_t *)a->text,
		                                strlen(a->text), NULL, 0, &out, &out_len);
	}
	free(alg);
	free(in);
	if (rc != TESSERA_OK)
		return cli_failed(c, cmd, rc);
	if (decrypt) {
		print_utf8_lossy(out, out_len);
		putchar('\n');
	} else {
		char *b64 = malloc(4 * ((out_len + 2) / 3) + 1);

		if (b64 != NULL) {
			EVP_EncodeBlock((unsigned char *)b64, out, (int)out_len);
			printf("%s\n", b64);
			free(b64);
		}
	}
	ts_free_secret(out, out_len);
	fflush(stdout);
	return EXIT_OK;
}

/* The curve OIDs export-public-key knows (parsec-tool's curve_oid). */
static int curve_nid(int family, uint32_t bits)
{
	static const struct {
		int family;
		uint32_t bits;
		int nid;
	} map[] = {
	        {PSA_KEY_ATTRIBUTES__KEY_TYPE__ECC_FAMILY__SECP_R1, 192, NID_X9_62_prime192v1},
	        {PSA_KEY_ATTRIBUTES__KEY_TYPE__ECC_FAMILY__SECP_R1, 224, NID_secp224r1},
	        {PSA_KEY_ATTRIBUTES__KEY_TYPE__ECC_FAMILY__SECP_R1, 256, NID_X9_62_prime256v1},
	        {PSA_KEY_ATTRIBUTES__KEY_TYPE__ECC_FAMILY__SECP_R1, 384, NID_secp384r1},
	        {PSA_KEY_ATTRIBUTES__KEY_TYPE__ECC_FAMILY__SECP_R1, 521, NID_secp521r1},
	        {PSA_KEY_ATTRIBUTES__KEY_TYPE__ECC_FAMILY__SECP_K1, 192, NID_secp192k1},
	        {PSA_KEY_ATTRIBUTES__KEY_TYPE__ECC_FAMILY__SECP_K1, 224, NID_secp224k1},
	        {PSA_KEY_ATTRIBUTES__KEY_TYPE__ECC_FAMILY__SECP_K1, 256, NID_secp256k1},
	        {PSA_KEY_ATTRIBUTES__KEY_TYPE__ECC_FAMILY__SECT_K1, 233, NID_sect233k1},
	        {PSA_KEY_ATTRIBUTES__KEY_TYPE__ECC_FAMILY__SECT_K1, 283, NID_sect283k1},
	        {PSA_KEY_ATTRIBUTES__KEY_TYPE__ECC_FAMILY__SECT_K1, 409, NID_sect409k1},
	        {PSA_KEY_ATTRIBUTES__KEY_TYPE__ECC_FAMILY__SECT_K1, 571, NID_sect571k1},
	        {PSA_KEY_ATTRIBUTES__KEY_TYPE__ECC_FAMILY__SECT_R1, 233, NID_sect233r1},
	        {PSA_KEY_ATTRIBUTES__KEY_TYPE__ECC_FAMILY__SECT_R1, 283, NID_sect283r1},
	        {PSA_KEY_ATTRIBUTES__KEY_TYPE__ECC_FAMILY__SECT_R1, 409, NID_sect409r1},
	        {PSA_KEY_ATTRIBUTES__KEY_TYPE__ECC_FAMILY__SECT_R1, 571, NID_sect571r1},
	};

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (map[i].family == family && map[i].bits == bits)
			return map[i].nid;
	return NID_undef;
}

static int pt_export(struct tessera_client *c, uint8_t prov, const struct pt_args *a)
{
	struct pt_key k;
	const PsaKeyAttributes__KeyType *t;
	X509_PUBKEY *spki = NULL;
	uint8_t *data = NULL, *der = NULL;
	size_t len = 0;
	int rc = tessera_export_public_key(c, prov, a->key, &data, &len), n, family = -1;
	int rsa;

	if (rc != TESSERA_OK)
		return cli_failed(c, "export-public-key", rc);
	if ((rc = pt_find_key(c, prov, a->key, &k)) != EXIT_OK) {
		free(data);
		return rc;
	}
	t = k.attr->key_type;
	rsa = t != NULL &&
	      (t->variant_case == PSA_KEY_ATTRIBUTES__KEY_TYPE__VARIANT_RSA_KEY_PAIR ||
	       t->variant_case == PSA_KEY_ATTRIBUTES__KEY_TYPE__VARIANT_RSA_PUBLIC_KEY);
	if (t != NULL && t->variant_case == PSA_KEY_ATTRIBUTES__KEY_TYPE__VARIANT_ECC_KEY_PAIR &&
	    t->ecc_key_pair != NULL)
		family = (int)t->ecc_key_pair->curve_family;
	else if (t != NULL &&
	         t->variant_case == PSA_KEY_ATTRIBUTES__KEY_TYPE__VARIANT_ECC_PUBLIC_KEY &&
	         t->ecc_public_key != NULL)
		family = (int)t->ecc_public_key->curve_family;
	rc = EXIT_STATUS;
	if (rsa && a->pkcs1) {
		cli_write_pem("RSA PUBLIC KEY", data, len, "\n");
		rc = EXIT_OK;
	} else if (!rsa && family < 0) {
		fprintf(stderr, "tessera: export-public-key: unsupported type of key "
		                "(NotSupported)\n");
	} else if (!rsa && a->pkcs1) {
		fprintf(stderr, "tessera: export-public-key: PKCS#1 has no form for ECC keys "
		                "(WrongKeyAlgorithm)\n");
	} else if (!rsa && curve_nid(family, k.attr->key_bits) == NID_undef) {
		fprintf(stderr,
		        "tessera: export-public-key: unsupported number of bits %u for the "
		        "ECC family (NotSupported)\n",
		        k.attr->key_bits);
	} else {
		/* SubjectPublicKeyInfo around PSA's export form: RSAPublicKey, or
		 * the point, with rsaEncryption / ecPublicKey and the curve. */
		int nid = rsa ? NID_rsaEncryption : NID_X9_62_id_ecPublicKey;
		uint8_t *copy = OPENSSL_memdup(data, len);

		spki = X509_PUBKEY_new();
		if (spki != NULL && copy != NULL &&
		    X509_PUBKEY_set0_param(
		            spki, OBJ_nid2obj(nid), rsa ? V_ASN1_NULL : V_ASN1_OBJECT,
		            rsa ? NULL : OBJ_nid2obj(curve_nid(family, k.attr->key_bits)), copy,
		            (int)len) == 1) {
			copy = NULL; /* owned by spki */
			n = i2d_X509_PUBKEY(spki, &der);
			if (n > 0) {
				cli_write_pem("PUBLIC KEY", der, (size_t)n, "\n");
				rc = EXIT_OK;
			}
		}
		OPENSSL_free(copy);
	}
	X509_PUBKEY_free(spki);
	OPENSSL_free(der);
	free(data);
	pt_key_free(&k);
	return rc;
}

/* The signature algorithm a CSR uses (parsec-tool's get_rcgen_algorithm). */
static char *pt_csr_alg(struct tessera_client *c, uint8_t prov, const char *key, int *ret_rc)
{
	struct pt_key k;
	const PsaAlgorithm__Algorithm__AsymmetricSignature *s;
	const PsaAlgorithm__Algorithm__AsymmetricSignature__SignHash *h = NULL;
	char *alg = NULL;

	if ((*ret_rc = pt_find_key(c, prov, key, &k)) != EXIT_OK)
		return NULL;
	*ret_rc = EXIT_STATUS;
	if (k.alg == NULL ||
	    k.alg->variant_case != PSA_ALGORITHM__ALGORITHM__VARIANT_ASYMMETRIC_SIGNATURE ||
	    (s = k.alg->asymmetric_signature) == NULL) {
		fprintf(stderr, "tessera: create-csr: the key is not an asymmetric signing key "
		                "(WrongKeyAlgorithm)\n");
		goto out;
	}
	if (s->variant_case ==
	    PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_SIGNATURE__VARIANT_RSA_PKCS1V15_SIGN)
		h = s->rsa_pkcs1v15_sign ? s->rsa_pkcs1v15_sign->hash_alg : NULL;
	else if (s->variant_case == PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_SIGNATURE__VARIANT_ECDSA)
		h = s->ecdsa ? s->ecdsa->hash_alg : NULL;
	if (h != NULL &&
	    h->variant_case ==
	            PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_SIGNATURE__SIGN_HASH__VARIANT_ANY) {
		/* the tool's default hash, SHA-256 (P-256 only for ECDSA) */
		if (s->variant_case !=
		    PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_SIGNATURE__VARIANT_ECDSA)
			alg = strdup("rsa-pkcs1-sha256");
		else if (k.attr->key_bits == 256)
			alg = strdup("ecdsa-sha256");
	} else if (h != NULL) {
		alg = tessera_alg_name(k.alg);
		/* ECDSA: the hash's size must be the curve's (P-256/SHA-256, P-384/SHA-384) */
		if (alg != NULL &&
		    s->variant_case ==
		            PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_SIGNATURE__VARIANT_ECDSA) {
			char want[32];

			snprintf(want, sizeof(want), "ecdsa-sha%u", k.attr->key_bits);
			if (strcmp(alg, want) != 0 || k.attr->key_bits > 384) {
				free(alg);
				alg = NULL;
			}
		}
	}
	if (alg == NULL)
		fprintf(stderr, "tessera: create-csr: the key's algorithm is not supported for "
		                "certificate requests (NotSupported)\n");
out:
	pt_key_free(&k);
	if (alg != NULL)
		*ret_rc = EXIT_OK;
	return alg;
}

static int pt_generate(struct tessera_client *c, uint8_t prov, const char *cmd,
                       const struct pt_args *a)
{
	struct tessera_key_spec spec = {0};
	int rc;

	if (strcmp(cmd, "create-ecc-key") == 0) {
		fprintf(stderr, "[INFO ] Creating ECC signing key...\n");
		spec.type = "ecc";
		spec.bits = 256;
		spec.alg = "ecdsa-sha256";
		spec.usage = TESSERA_USAGE_SIGN_HASH | TESSERA_USAGE_SIGN_MESSAGE |
		             TESSERA_USAGE_VERIFY_HASH | TESSERA_USAGE_VERIFY_MESSAGE;
	} else {
		fprintf(stderr, "[INFO ] Creating RSA %s key...\n",
		        a->for_signing ? "signing" : "encryption");
		spec.type = "rsa";
		spec.bits = a->bits ? (uint32_t)a->bits : 2048;
		spec.alg = a->for_signing ? "rsa-pkcs1-sha256" : "rsa-pkcs1";
		spec.usage = a->for_signing ? TESSERA_USAGE_SIGN_HASH | TESSERA_USAGE_VERIFY_HASH |
		                                      TESSERA_USAGE_SIGN_MESSAGE |
		                                      TESSERA_USAGE_VERIFY_MESSAGE
		                            : TESSERA_USAGE_ENCRYPT | TESSERA_USAGE_DECRYPT;
	}
	rc = tessera_generate_key(c, prov, a->key, &spec);
	if (rc != TESSERA_OK)
		return cli_failed(c, cmd, rc);
	fprintf(stderr, "[INFO ] Key \"%s\" created.\n", a->key);
	return EXIT_OK;
}

static int pt_simple(struct tessera_client *c, const char *cmd, uint8_t opcode_prov)
{
	int rc;

	if (strcmp(cmd, "ping") == 0) {
		uint32_t maj, min;

		if ((rc = tessera_ping(c, &maj, &min)) != TESSERA_OK)
			return cli_failed(c, cmd, rc);
		printf("%u.%u\n", maj, min);
	} else if (strcmp(cmd, "list-providers") == 0) {
		/* As a Parsec client asks: without Tessera's extension instances. */
		ListProviders__Operation op = LIST_PROVIDERS__OPERATION__INIT;
		ListProviders__Result *r;

		rc = tessera_call(c, 0, WIRE_OP_LIST_PROVIDERS, &op.base,
		                  &list_providers__result__descriptor, (ProtobufCMessage **)&r);
		if (rc != TESSERA_OK)
			return cli_failed(c, cmd, rc);
		for (size_t i = 0; i < r->n_providers; i++) {
			const ListProviders__ProviderInfo *p = r->providers[i];
			const char *name = provider_display(p->id);

			printf("ID: 0x%02x (%s)\nDescription: %s\nVersion: %u.%u.%u\nVendor: "
			       "%s\nUUID: %s\n\n",
			       p->id, name ? name : "Unknown provider", p->description,
			       p->version_maj, p->version_min, p->version_rev,
			       p->vendor[0] ? p->vendor : "Unspecified", p->uuid);
		}
		list_providers__result__free_unpacked(r, NULL);
	} else if (strcmp(cmd, "list-authenticators") == 0) {
		struct tessera_authenticator_info *a;
		size_t n;

		if ((rc = tessera_list_authenticators(c, &a, &n)) != TESSERA_OK)
			return cli_failed(c, cmd, rc);
		for (size_t i = 0; i < n; i++)
			printf("ID: 0x%02x (%s)\nDescription: %s\nVersion: %u.%u.%u\n\n", a[i].id,
			       auth_display(a[i].id), a[i].description, a[i].version_maj,
			       a[i].version_min, a[i].version_rev);
		tessera_authenticator_info_free(a, n);
	} else if (strcmp(cmd, "list-opcodes") == 0) {
		/* As a Parsec client asks: without Tessera's extension opcodes. */
		ListOpcodes__Operation op = LIST_OPCODES__OPERATION__INIT;
		ListOpcodes__Result *r;

		op.provider_id = opcode_prov;
		rc = tessera_call(c, 0, WIRE_OP_LIST_OPCODES, &op.base,
		                  &list_opcodes__result__descriptor, (ProtobufCMessage **)&r);
		if (rc != TESSERA_OK)
			return cli_failed(c, cmd, rc);
		for (size_t i = 0; i < r->n_opcodes; i++) {
			const struct wire_opcode_info *info = wire_opcode_find(r->opcodes[i]);

			printf("0x%02x (%s)\n", r->opcodes[i], info ? info->name : "Unknown");
		}
		list_opcodes__result__free_unpacked(r, NULL);
	} else if (strcmp(cmd, "list-clients") == 0) {
		char **v;
		size_t n;

		if ((rc = tessera_list_clients(c, &v, &n)) != TESSERA_OK)
			return cli_failed(c, cmd, rc);
		if (n == 0)
			fprintf(stderr, "[INFO ] No clients in the service.\n");
		for (size_t i = 0; i < n; i++)
			printf("%s\n", v[i]);
		tessera_strv_free(v, n);
	} else {
		return pt_list_keys(c);
	}
	return EXIT_OK;
}

int cli_parsec_run(struct tessera_options *o, int auth_given, int provider, int argc, char **argv)
{
	const char *cmd = argv[0];
	struct tessera_client *c;
	struct pt_args a;
	int ci = pt_command_index(cmd);
	uint8_t prov = 0;
	int rc;

	if (ci < 0) {
		fprintf(stderr, "tessera: %s is not a parsec-tool 0.5 command\n", cmd);
		return EXIT_USAGE;
	}
	if ((rc = pt_parse(argc, argv, &a)) != EXIT_OK ||
	    (rc = pt_check(cmd, pt_commands[ci].args, &a)) != EXIT_OK)
		return rc;

	/* parsec-tool's client: naked (no authentication, the core as the
	 * implicit provider) for the four core queries; else the daemon's
	 * first authenticator it speaks and its first provider. */
	if (!auth_given)
		o->auth_type = TESSERA_AUTH_NONE;
	if (!auth_given && pt_commands[ci].needs_auth && (rc = pt_default_auth(o)) != EXIT_OK)
		return rc;
	if (o->auth_type == TESSERA_AUTH_DIRECT && o->app_name == NULL)
		o->app_name = "parsec-tool";
	o->persistent = 0; /* one connection per request, as parsec-client */
	if (tessera_open(o, &c) != TESSERA_OK) {
		fprintf(stderr, "tessera: bad endpoint (unix:/PATH, shorter than 108 bytes)\n");
		return EXIT_USAGE;
	}
	if (provider >= 0) {
		prov = (uint8_t)provider;
	} else if (pt_commands[ci].needs_auth &&
	           (rc = tessera_default_provider(c, &prov)) != TESSERA_OK) {
		rc = cli_failed(c, cmd, rc);
		goto out;
	}

	if (!pt_commands[ci].needs_auth || strcmp(cmd, "list-keys") == 0 ||
	    strcmp(cmd, "list-clients") == 0) {
		rc = pt_simple(c, cmd, a.provider >= 0 ? (uint8_t)a.provider : prov);
	} else if (strcmp(cmd, "delete-client") == 0) {
		rc = tessera_delete_client(c, a.client);
		rc = rc == TESSERA_OK ? EXIT_OK : cli_failed(c, cmd, rc);
		if (rc == EXIT_OK)
			fprintf(stderr, "[INFO ] Client \"%s\" deleted.\n", a.client);
	} else if (strcmp(cmd, "generate-random") == 0) {
		uint8_t *out = NULL;

		rc = tessera_generate_random(c, prov, (size_t)a.nbytes, &out);
		if (rc != TESSERA_OK) {
			rc = cli_failed(c, cmd, rc);
		} else {
			for (uint64_t i = 0; i < a.nbytes; i++)
				printf("%02X ", out[i]);
			printf("\n");
			ts_free_secret(out, (size_t)a.nbytes);
		}
	} else if (strcmp(cmd, "export-public-key") == 0) {
		rc = pt_export(c, prov, &a);
	} else if (strncmp(cmd, "create-", 7) == 0 && strcmp(cmd, "create-csr") != 0) {
		rc = pt_generate(c, prov, cmd, &a);
	} else if (strcmp(cmd, "sign") == 0) {
		rc = pt_sign(c, prov, &a);
	} else if (strcmp(cmd, "encrypt") == 0 || strcmp(cmd, "decrypt") == 0) {
		rc = pt_crypt(c, prov, cmd, &a);
	} else if (strcmp(cmd, "delete-key") == 0) {
		rc = tessera_destroy_key(c, prov, a.key);
		rc = rc == TESSERA_OK ? EXIT_OK : cli_failed(c, cmd, rc);
		if (rc == EXIT_OK)
			fprintf(stderr, "[INFO ] Key \"%s\" deleted.\n", a.key);
	} else {
		struct cli_csr r = {
		        .key = a.key,
		        .cn = a.cn,
		        .ou = a.ou,
		        .o = a.o,
		        .l = a.l,
		        .st = a.st,
		        .c = a.c,
		        .serial = a.serial,
		        .san = a.san,
		        .n_san = a.n_san,
		        .format = CLI_CSR_PEM_CRLF,
		};
		char *alg = pt_csr_alg(c, prov, a.key, &rc);

		if (alg != NULL) {
			r.alg = alg;
			rc = cli_create_csr(c, prov, &r);
			free(alg);
		}
	}
out:
	tessera_close(c);
	return rc;
}
