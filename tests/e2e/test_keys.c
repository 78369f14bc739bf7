/*
 * Key operations on the software provider, end to end: every signature the
 * daemon makes is verified by OpenSSL on the exported public key, and
 * OpenSSL-made signatures verify in the daemon. Tenancy, policy, restart
 * and at-rest secrecy.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "harness.h"
#include "list_clients.pb-c.h"
#include "list_keys.pb-c.h"
#include "psa_copy_key.pb-c.h"
#include "psa_destroy_key.pb-c.h"
#include "psa_export_key.pb-c.h"
#include "psa_export_public_key.pb-c.h"
#include "psa_generate_key.pb-c.h"
#include "psa_get_key_attributes.pb-c.h"
#include "psa_import_key.pb-c.h"
#include "psa_purge_key.pb-c.h"
#include "psa_sign_hash.pb-c.h"
#include "psa_sign_message.pb-c.h"
#include "psa_verify_hash.pb-c.h"

static struct td d;

static void setup(void)
{
	td_start(&d, TD_CONFIG_DEFAULT);
}

static void teardown(void)
{
	if (getenv("TD_DUMP"))
		td_dump_log(&d);
	cr_assert_eq(td_stop(&d), 0);
}

TestSuite(keys, .init = setup, .fini = teardown, .timeout = 120);

/* ---- building requests ---- */

enum { USE_SIGN = 1, USE_VERIFY = 2, USE_EXPORT = 4, USE_SIGN_MSG = 8, USE_COPY = 16 };

struct spec {
	int type;   /* PSA_KEY_ATTRIBUTES__KEY_TYPE__VARIANT_* */
	int family; /* ECC family */
	uint32_t bits;
	int usage;
	int sign_kind; /* ..._ASYMMETRIC_SIGNATURE__VARIANT_*; 0 = Algorithm.none */
	int hash;      /* 0 = any */
};

/* Storage for one KeyAttributes message and its children. */
struct attrs_pb {
	PsaKeyAttributes__KeyAttributes a;
	PsaKeyAttributes__KeyType t;
	PsaKeyAttributes__KeyType__EccKeyPair ecc;
	PsaKeyAttributes__KeyType__EccPublicKey eccp;
	PsaKeyAttributes__KeyType__RsaKeyPair rsa;
	PsaKeyAttributes__KeyType__RsaPublicKey rsap;
	PsaKeyAttributes__KeyType__Aes aes;
	PsaKeyAttributes__KeyPolicy pol;
	PsaKeyAttributes__UsageFlags u;
	PsaAlgorithm__Algorithm alg;
	PsaAlgorithm__Algorithm__None none;
	PsaAlgorithm__Algorithm__AsymmetricSignature sig;
	PsaAlgorithm__Algorithm__AsymmetricSignature__Ecdsa ecdsa;
	PsaAlgorithm__Algorithm__AsymmetricSignature__RsaPkcs1v15Sign pkcs1;
	PsaAlgorithm__Algorithm__AsymmetricSignature__RsaPss pss;
	PsaAlgorithm__Algorithm__AsymmetricSignature__SignHash sh;
};

static PsaAlgorithm__Algorithm__AsymmetricSignature__SignHash__Any any_hash =
        PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_SIGNATURE__SIGN_HASH__ANY__INIT;

static void sign_alg(PsaAlgorithm__Algorithm__AsymmetricSignature *sig,
                     PsaAlgorithm__Algorithm__AsymmetricSignature__Ecdsa *ecdsa,
                     PsaAlgorithm__Algorithm__AsymmetricSignature__RsaPkcs1v15Sign *pkcs1,
                     PsaAlgorithm__Algorithm__AsymmetricSignature__RsaPss *pss,
                     PsaAlgorithm__Algorithm__AsymmetricSignature__SignHash *sh, int kind, int hash)
{
	psa_algorithm__algorithm__asymmetric_signature__init(sig);
	psa_algorithm__algorithm__asymmetric_signature__ecdsa__init(ecdsa);
	psa_algorithm__algorithm__asymmetric_signature__rsa_pkcs1v15_sign__init(pkcs1);
	psa_algorithm__algorithm__asymmetric_signature__rsa_pss__init(pss);
	psa_algorithm__algorithm__asymmetric_signature__sign_hash__init(sh);
	if (hash == 0) {
		sh->variant_case =
		        PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_SIGNATURE__SIGN_HASH__VARIANT_ANY;
		sh->any = &any_hash;
	} else {
		sh->variant_case =
		        PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_SIGNATURE__SIGN_HASH__VARIANT_SPECIFIC;
		sh->specific = hash;
	}
	sig->variant_case = kind;
	ecdsa->hash_alg = sh;
	pkcs1->hash_alg = sh;
	pss->hash_alg = sh;
	sig->ecdsa = ecdsa;
	if (kind == PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_SIGNATURE__VARIANT_RSA_PKCS1V15_SIGN)
		sig->rsa_pkcs1v15_sign = pkcs1;
	if (kind == PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_SIGNATURE__VARIANT_RSA_PSS)
		sig->rsa_pss = pss;
}

static void fill_attrs(struct attrs_pb *p, const struct spec *s)
{
	memset(p, 0, sizeof(*p));
	psa_key_attributes__key_attributes__init(&p->a);
	psa_key_attributes__key_type__init(&p->t);
	psa_key_attributes__key_type__ecc_key_pair__init(&p->ecc);
	psa_key_attributes__key_type__ecc_public_key__init(&p->eccp);
	psa_key_attributes__key_type__rsa_key_pair__init(&p->rsa);
	psa_key_attributes__key_type__rsa_public_key__init(&p->rsap);
	psa_key_attributes__key_type__aes__init(&p->aes);
	psa_key_attributes__key_policy__init(&p->pol);
	psa_key_attributes__usage_flags__init(&p->u);
	psa_algorithm__algorithm__init(&p->alg);
	psa_algorithm__algorithm__none__init(&p->none);

	p->t.variant_case = s->type;
	p->ecc.curve_family = s->family;
	p->eccp.curve_family = s->family;
	p->t.ecc_key_pair = &p->ecc; /* union: the case decides */
	if (s->type == PSA_KEY_ATTRIBUTES__KEY_TYPE__VARIANT_ECC_PUBLIC_KEY)
		p->t.ecc_public_key = &p->eccp;
	if (s->type == PSA_KEY_ATTRIBUTES__KEY_TYPE__VARIANT_RSA_KEY_PAIR)
		p->t.rsa_key_pair = &p->rsa;
	if (s->type == PSA_KEY_ATTRIBUTES__KEY_TYPE__VARIANT_RSA_PUBLIC_KEY)
		p->t.rsa_public_key = &p->rsap;
	if (s->type == PSA_KEY_ATTRIBUTES__KEY_TYPE__VARIANT_AES)
		p->t.aes = &p->aes;
	p->u.sign_hash = (s->usage & USE_SIGN) != 0;
	p->u.verify_hash = (s->usage & USE_VERIFY) != 0;
	p->u.export = (s->usage & USE_EXPORT) != 0;
	p->u.sign_message = (s->usage & USE_SIGN_MSG) != 0;
	p->u.copy = (s->usage & USE_COPY) != 0;
	if (s->sign_kind == 0) {
		p->alg.variant_case = PSA_ALGORITHM__ALGORITHM__VARIANT_NONE;
		p->alg.none = &p->none;
	} else {
		sign_alg(&p->sig, &p->ecdsa, &p->pkcs1, &p->pss, &p->sh, s->sign_kind, s->hash);
		p->alg.variant_case = PSA_ALGORITHM__ALGORITHM__VARIANT_ASYMMETRIC_SIGNATURE;
		p->alg.asymmetric_signature = &p->sig;
	}
	p->pol.key_usage_flags = &p->u;
	p->pol.key_algorithm = &p->alg;
	p->a.key_type = &p->t;
	p->a.key_bits = s->bits;
	p->a.key_policy = &p->pol;
}

static const char *who = "alice";
/* Set: requests go as this process's UnixPeerCredentials tenant instead of
 * Direct `who`. */
static bool as_unix_peer;

static int call(uint32_t opcode, const ProtobufCMessage *m, struct td_resp *r)
{
	uint8_t buf[8192];
	size_t n = protobuf_c_message_pack(m, buf);
	uint32_t uid = (uint32_t)getuid();

	if (as_unix_peer)
		return td_call(&d, opcode, 1, 3, buf, n, &uid, sizeof(uid), r);
	return td_call(&d, opcode, 1, 1, buf, n, who, strlen(who), r);
}

static int generate(const char *name, const struct spec *s)
{
	struct attrs_pb ap;
	PsaGenerateKey__Operation op = PSA_GENERATE_KEY__OPERATION__INIT;

	fill_attrs(&ap, s);
	op.key_name = (char *)name;
	op.attributes = &ap.a;
	return call(WIRE_OP_PSA_GENERATE_KEY, &op.base, NULL);
}

static int import(const char *name, const struct spec *s, const uint8_t *data, size_t len)
{
	struct attrs_pb ap;
	PsaImportKey__Operation op = PSA_IMPORT_KEY__OPERATION__INIT;

	fill_attrs(&ap, s);
	op.key_name = (char *)name;
	op.attributes = &ap.a;
	op.data.data = (uint8_t *)data;
	op.data.len = len;
	return call(WIRE_OP_PSA_IMPORT_KEY, &op.base, NULL);
}

static int destroy(const char *name)
{
	PsaDestroyKey__Operation op = PSA_DESTROY_KEY__OPERATION__INIT;

	op.key_name = (char *)name;
	return call(WIRE_OP_PSA_DESTROY_KEY, &op.base, NULL);
}

/* Export (public or whole); returns the status, data in *out. */
static int export(const char *name, int public_only, uint8_t **out, size_t *len)
{
	PsaExportPublicKey__Operation op = PSA_EXPORT_PUBLIC_KEY__OPERATION__INIT;
	PsaExportPublicKey__Result *res;
	struct td_resp r;
	int st;

	op.key_name = (char *)name;
	st = call(public_only ? WIRE_OP_PSA_EXPORT_PUBLIC_KEY : WIRE_OP_PSA_EXPORT_KEY, &op.base,
	          &r);
	if (st == 0) {
		res = psa_export_public_key__result__unpack(NULL, r.body_len, r.body);
		cr_assert_not_null(res);
		*out = malloc(res->data.len);
		memcpy(*out, res->data.data, res->data.len);
		*len = res->data.len;
		psa_export_public_key__result__free_unpacked(res, NULL);
	}
	td_resp_free(&r);
	return st;
}

static int sign(const char *name, int kind, int hash, const uint8_t *h, size_t hlen, uint8_t **sig,
                size_t *siglen)
{
	PsaSignHash__Operation op = PSA_SIGN_HASH__OPERATION__INIT;
	PsaAlgorithm__Algorithm__AsymmetricSignature s;
	PsaAlgorithm__Algorithm__AsymmetricSignature__Ecdsa e;
	PsaAlgorithm__Algorithm__AsymmetricSignature__RsaPkcs1v15Sign p1;
	PsaAlgorithm__Algorithm__AsymmetricSignature__RsaPss ps;
	PsaAlgorithm__Algorithm__AsymmetricSignature__SignHash sh;
	PsaSignHash__Result *res;
	struct td_resp r;
	int st;

	sign_alg(&s, &e, &p1, &ps, &sh, kind, hash);
	op.key_name = (char *)name;
	op.alg = &s;
	op.hash.data = (uint8_t *)h;
	op.hash.len = hlen;
	st = call(WIRE_OP_PSA_SIGN_HASH, &op.base, &r);
	if (st == 0 && sig != NULL) {
		res = psa_sign_hash__result__unpack(NULL, r.body_len, r.body);
		cr_assert_not_null(res);
		*sig = malloc(res->signature.len);
		memcpy(*sig, res->signature.data, res->signature.len);
		*siglen = res->signature.len;
		psa_sign_hash__result__free_unpacked(res, NULL);
	}
	td_resp_free(&r);
	return st;
}

static int verify(const char *name, int kind, int hash, const uint8_t *h, size_t hlen,
                  const uint8_t *sig, size_t siglen)
{
	PsaVerifyHash__Operation op = PSA_VERIFY_HASH__OPERATION__INIT;
	PsaAlgorithm__Algorithm__AsymmetricSignature s;
	PsaAlgorithm__Algorithm__AsymmetricSignature__Ecdsa e;
	PsaAlgorithm__Algorithm__AsymmetricSignature__RsaPkcs1v15Sign p1;
	PsaAlgorithm__Algorithm__AsymmetricSignature__RsaPss ps;
	PsaAlgorithm__Algorithm__AsymmetricSignature__SignHash sh;

	sign_alg(&s, &e, &p1, &ps, &sh, kind, hash);
	op.key_name = (char *)name;
	op.alg = &s;
	op.hash.data = (uint8_t *)h;
	op.hash.len = hlen;
	op.signature.data = (uint8_t *)sig;
	op.signature.len = siglen;
	return call(WIRE_OP_PSA_VERIFY_HASH, &op.base, NULL);
}

/* ---- OpenSSL, independently ---- */

#define ECDSA    PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_SIGNATURE__VARIANT_ECDSA
#define PKCS1    PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_SIGNATURE__VARIANT_RSA_PKCS1V15_SIGN
#define PSS      PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_SIGNATURE__VARIANT_RSA_PSS
#define SHA256   PSA_ALGORITHM__ALGORITHM__HASH__SHA_256
#define SHA384   PSA_ALGORITHM__ALGORITHM__HASH__SHA_384
#define ECC_PAIR PSA_KEY_ATTRIBUTES__KEY_TYPE__VARIANT_ECC_KEY_PAIR
#define ECC_PUB  PSA_KEY_ATTRIBUTES__KEY_TYPE__VARIANT_ECC_PUBLIC_KEY
#define RSA_PAIR PSA_KEY_ATTRIBUTES__KEY_TYPE__VARIANT_RSA_KEY_PAIR
#define SECP_R1  PSA_KEY_ATTRIBUTES__KEY_TYPE__ECC_FAMILY__SECP_R1

static void sha(const EVP_MD *md, const char *msg, uint8_t *out, size_t *len)
{
	unsigned n;

	cr_assert_eq(EVP_Digest(msg, strlen(msg), out, &n, md, NULL), 1);
	*len = n;
}

static EVP_PKEY *ec_public(const char *curve, const uint8_t *point, size_t len)
{
	OSSL_PARAM params[3];
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	EVP_PKEY *pk = NULL;

	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)curve, 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *)point, len);
	params[2] = OSSL_PARAM_construct_end();
	cr_assert_eq(EVP_PKEY_fromdata_init(ctx), 1);
	cr_assert_eq(EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, params), 1);
	EVP_PKEY_CTX_free(ctx);
	return pk;
}

/* OpenSSL verifies a raw r||s ECDSA signature. */
static int openssl_verify_ecdsa(EVP_PKEY *pk, const uint8_t *h, size_t hlen, const uint8_t *rs,
                                size_t rslen)
{
	ECDSA_SIG *sig = ECDSA_SIG_new();
	unsigned char *der = NULL;
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(pk, NULL);
	int dlen, ok;

	ECDSA_SIG_set0(sig, BN_bin2bn(rs, (int)rslen / 2, NULL),
	               BN_bin2bn(rs + rslen / 2, (int)rslen / 2, NULL));
	dlen = i2d_ECDSA_SIG(sig, &der);
	EVP_PKEY_verify_init(ctx);
	ok = EVP_PKEY_verify(ctx, der, (size_t)dlen, h, hlen) == 1;
	OPENSSL_free(der);
	ECDSA_SIG_free(sig);
	EVP_PKEY_CTX_free(ctx);
	return ok;
}

static const struct spec p256_signer = {ECC_PAIR, SECP_R1, 256, USE_SIGN | USE_VERIFY,
                                        ECDSA,    SHA256};

Test(keys, ecdsa_p256_signature_verifies_in_openssl)
{
	uint8_t h[64], *sig, *pub;
	size_t hlen, siglen, publen;
	EVP_PKEY *pk;

	cr_assert_eq(generate("ec1", &p256_signer), 0);
	sha(EVP_sha256(), "hello tessera", h, &hlen);
	cr_assert_eq(sign("ec1", ECDSA, SHA256, h, hlen, &sig, &siglen), 0);
	cr_assert_eq(siglen, 64, "raw r || s");
	cr_assert_eq(export("ec1", 1, &pub, &publen), 0);
	cr_assert_eq(publen, 65);
	cr_assert_eq(pub[0], 0x04, "uncompressed point");
	pk = ec_public("prime256v1", pub, publen);
	cr_assert(openssl_verify_ecdsa(pk, h, hlen, sig, siglen));
	/* And the daemon agrees with itself, and rejects a flipped bit. */
	cr_assert_eq(verify("ec1", ECDSA, SHA256, h, hlen, sig, siglen), 0);
	sig[10] ^= 1;
	cr_assert_eq(verify("ec1", ECDSA, SHA256, h, hlen, sig, siglen), 1149);
	EVP_PKEY_free(pk);
	free(sig);
	free(pub);
}

Test(keys, ecdsa_p384_and_policy_any_hash)
{
	struct spec s = {ECC_PAIR, SECP_R1, 384, USE_SIGN, ECDSA, 0 /* any */};
	uint8_t h[64], *sig, *pub;
	size_t hlen, siglen, publen;
	EVP_PKEY *pk;

	cr_assert_eq(generate("ec384", &s), 0);
	sha(EVP_sha384(), "message", h, &hlen);
	cr_assert_eq(sign("ec384", ECDSA, SHA384, h, hlen, &sig, &siglen), 0);
	cr_assert_eq(siglen, 96);
	cr_assert_eq(export("ec384", 1, &pub, &publen), 0);
	pk = ec_public("secp384r1", pub, publen);
	cr_assert(openssl_verify_ecdsa(pk, h, hlen, sig, siglen));
	/* The policy allows any hash but the request must name one of the right length. */
	cr_assert_eq(sign("ec384", ECDSA, SHA256, h, hlen, NULL, NULL), 1135);
	EVP_PKEY_free(pk);
	free(sig);
	free(pub);
}

static void rsa_round_trip(int kind, int padding)
{
	struct spec s = {RSA_PAIR, 0, 2048, USE_SIGN | USE_VERIFY, kind, SHA256};
	uint8_t h[64], *sig, *pub;
	size_t hlen, siglen, publen;
	const uint8_t *p;
	EVP_PKEY *pk;
	EVP_PKEY_CTX *ctx;

	cr_assert_eq(generate("rsa1", &s), 0);
	sha(EVP_sha256(), "rsa message", h, &hlen);
	cr_assert_eq(sign("rsa1", kind, SHA256, h, hlen, &sig, &siglen), 0);
	cr_assert_eq(siglen, 256);
	cr_assert_eq(export("rsa1", 1, &pub, &publen), 0);
	p = pub;
	pk = d2i_PublicKey(EVP_PKEY_RSA, NULL, &p, (long)publen);
	cr_assert_not_null(pk, "public key is DER RSAPublicKey");
	ctx = EVP_PKEY_CTX_new(pk, NULL);
	EVP_PKEY_verify_init(ctx);
	EVP_PKEY_CTX_set_rsa_padding(ctx, padding);
	EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256());
	if (padding == RSA_PKCS1_PSS_PADDING)
		EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, RSA_PSS_SALTLEN_DIGEST);
	cr_assert_eq(EVP_PKEY_verify(ctx, sig, siglen, h, hlen), 1);
	cr_assert_eq(verify("rsa1", kind, SHA256, h, hlen, sig, siglen), 0);
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(pk);
	free(sig);
	free(pub);
}

Test(keys, rsa_pkcs1v15_signature_verifies_in_openssl)
{
	rsa_round_trip(PKCS1, RSA_PKCS1_PADDING);
}

Test(keys, rsa_pss_signature_verifies_in_openssl)
{
	rsa_round_trip(PSS, RSA_PKCS1_PSS_PADDING);
}

Test(keys, openssl_signature_verifies_in_daemon_after_public_import)
{
	EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "prime256v1");
	struct spec s = {ECC_PUB, SECP_R1, 256, USE_VERIFY, ECDSA, SHA256};
	uint8_t point[65], h[64], der[80], raw[64];
	size_t plen, hlen, dlen = sizeof(der);
	const uint8_t *dp = der;
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(pk, NULL);
	ECDSA_SIG *es;

	cr_assert_eq(EVP_PKEY_get_octet_string_param(pk, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, point,
	                                             sizeof(point), &plen),
	             1);
	cr_assert_eq(import("peer", &s, point, plen), 0);
	sha(EVP_sha256(), "signed elsewhere", h, &hlen);
	EVP_PKEY_sign_init(ctx);
	cr_assert_eq(EVP_PKEY_sign(ctx, der, &dlen, h, hlen), 1);
	es = d2i_ECDSA_SIG(NULL, &dp, (long)dlen);
	BN_bn2binpad(ECDSA_SIG_get0_r(es), raw, 32);
	BN_bn2binpad(ECDSA_SIG_get0_s(es), raw + 32, 32);
	cr_assert_eq(verify("peer", ECDSA, SHA256, h, hlen, raw, 64), 0);
	raw[0] ^= 0x80;
	cr_assert_eq(verify("peer", ECDSA, SHA256, h, hlen, raw, 64), 1149);
	/* A public key cannot sign. */
	cr_assert_eq(sign("peer", ECDSA, SHA256, h, hlen, NULL, NULL), 1133);
	ECDSA_SIG_free(es);
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(pk);
}

Test(keys, policy_is_checked_in_parsecs_order)
{
	struct spec verify_only = {ECC_PAIR, SECP_R1, 256, USE_VERIFY, ECDSA, SHA256};
	struct spec rsa_policy_on_ecc = {ECC_PAIR, SECP_R1, 256, USE_SIGN, PKCS1, SHA256};
	uint8_t h[32] = {1};

	cr_assert_eq(generate("vonly", &verify_only), 0);
	cr_assert_eq(sign("vonly", ECDSA, SHA256, h, 32, NULL, NULL), 1133, "no sign usage");
	cr_assert_eq(generate("signer", &p256_signer), 0);
	cr_assert_eq(sign("signer", PKCS1, SHA256, h, 32, NULL, NULL), 1133,
	             "algorithm not permitted");
	cr_assert_eq(sign("signer", ECDSA, SHA256, h, 31, NULL, NULL), 1135, "hash length");
	cr_assert_eq(generate("mismatch", &rsa_policy_on_ecc), 0);
	cr_assert_eq(sign("mismatch", PKCS1, SHA256, h, 32, NULL, NULL), 1133,
	             "algorithm does not fit the key type: NotPermitted, as Parsec");
}

Test(keys, names_exist_once_and_destroy_works)
{
	uint8_t h[32] = {0}, *pub;
	size_t publen;

	cr_assert_eq(generate("k", &p256_signer), 0);
	cr_assert_eq(generate("k", &p256_signer), 1139, "AlreadyExists");
	cr_assert_eq(destroy("k"), 0);
	cr_assert_eq(destroy("k"), 1140);
	cr_assert_eq(sign("k", ECDSA, SHA256, h, 32, NULL, NULL), 1140);
	cr_assert_eq(export("k", 1, &pub, &publen), 1140);
	cr_assert_eq(generate("k", &p256_signer), 0, "the name is free again");
}

Test(keys, export_needs_the_export_flag)
{
	struct spec exportable = {ECC_PAIR, SECP_R1, 256, USE_SIGN | USE_EXPORT, ECDSA, SHA256};
	uint8_t *key, *pub;
	size_t klen, publen;

	cr_assert_eq(generate("noexp", &p256_signer), 0);
	cr_assert_eq(export("noexp", 0, &key, &klen), 1133);
	cr_assert_eq(export("noexp", 1, &pub, &publen), 0, "the public part always");
	free(pub);
	cr_assert_eq(generate("exp", &exportable), 0);
	cr_assert_eq(export("exp", 0, &key, &klen), 0);
	cr_assert_eq(klen, 32, "the private scalar");
	free(key);
}

Test(keys, contract_and_identity_errors)
{
	PsaGenerateKey__Operation op = PSA_GENERATE_KEY__OPERATION__INIT;
	struct attrs_pb ap;
	uint8_t buf[512];
	size_t n;

	op.key_name = "x";
	/* No attributes at all: InvalidEncoding. */
	n = psa_generate_key__operation__pack(&op, buf);
	cr_assert_eq(td_call(&d, WIRE_OP_PSA_GENERATE_KEY, 1, 1, buf, n, "a", 1, NULL), 16);
	/* ECC family NONE: InvalidEncoding, before the identity check. */
	fill_attrs(&ap, &p256_signer);
	ap.ecc.curve_family = 0;
	op.attributes = &ap.a;
	n = psa_generate_key__operation__pack(&op, buf);
	cr_assert_eq(td_call(&d, WIRE_OP_PSA_GENERATE_KEY, 1, 0, buf, n, NULL, 0, NULL), 16);
	/* A valid request without identity: NotAuthenticated. */
	fill_attrs(&ap, &p256_signer);
	n = psa_generate_key__operation__pack(&op, buf);
	cr_assert_eq(td_call(&d, WIRE_OP_PSA_GENERATE_KEY, 1, 0, buf, n, NULL, 0, NULL), 19);
	/* Empty key name. */
	op.key_name = "";
	n = psa_generate_key__operation__pack(&op, buf);
	cr_assert_eq(td_call(&d, WIRE_OP_PSA_GENERATE_KEY, 1, 1, buf, n, "a", 1, NULL), 16);
}

Test(keys, deprecated_algorithms_are_refused_in_generate)
{
	struct spec sha1 = {ECC_PAIR, SECP_R1, 256,
	                    USE_SIGN, ECDSA,   PSA_ALGORITHM__ALGORITHM__HASH__SHA_1};

	cr_assert_eq(generate("old", &sha1), 22);
}

Test(keys, unsupported_sizes)
{
	struct spec rsa512 = {RSA_PAIR, 0, 512, USE_SIGN, PKCS1, SHA256};
	struct spec p255 = {ECC_PAIR, SECP_R1, 255, USE_SIGN, ECDSA, SHA256};

	cr_assert_eq(generate("r", &rsa512), 1135);
	cr_assert_eq(generate("e", &p255), 1134);
}

static int count_keys(const char *as, const char *name)
{
	struct td_resp r;
	ListKeys__Result *res;
	int found = -1;

	cr_assert_eq(td_call(&d, WIRE_OP_LIST_KEYS, 0, 1, NULL, 0, as, strlen(as), &r), 0);
	res = list_keys__result__unpack(NULL, r.body_len, r.body);
	cr_assert_not_null(res);
	found = 0;
	for (size_t i = 0; i < res->n_keys; i++) {
		cr_assert_eq(res->keys[i]->provider_id, 1);
		cr_assert_not_null(res->keys[i]->attributes, "attributes come with each key");
		if (strcmp(res->keys[i]->name, name) == 0)
			found++;
	}
	list_keys__result__free_unpacked(res, NULL);
	td_resp_free(&r);
	return found;
}

static int count_keys_as_unix_peer(const char *name)
{
	struct td_resp r;
	ListKeys__Result *res;
	uint32_t uid = (uint32_t)getuid();
	int found = 0;

	cr_assert_eq(td_call(&d, WIRE_OP_LIST_KEYS, 0, 3, NULL, 0, &uid, sizeof(uid), &r), 0);
	res = list_keys__result__unpack(NULL, r.body_len, r.body);
	cr_assert_not_null(res);
	for (size_t i = 0; i < res->n_keys; i++)
		if (strcmp(res->keys[i]->name, name) == 0)
			found++;
	list_keys__result__free_unpacked(res, NULL);
	td_resp_free(&r);
	return found;
}

Test(keys, tenants_cannot_see_each_others_keys)
{
	uint8_t h[32] = {2}, *pub;
	size_t publen;

	who = "alice";
	cr_assert_eq(generate("shared-name", &p256_signer), 0);
	cr_assert_eq(count_keys("alice", "shared-name"), 1);
	who = "bob";
	cr_assert_eq(count_keys("bob", "shared-name"), 0);
	cr_assert_eq(sign("shared-name", ECDSA, SHA256, h, 32, NULL, NULL), 1140);
	cr_assert_eq(export("shared-name", 1, &pub, &publen), 1140);
	cr_assert_eq(destroy("shared-name"), 1140);
	/* Bob may use the same name for his own key. */
	cr_assert_eq(generate("shared-name", &p256_signer), 0);
	who = "alice";
	cr_assert_eq(sign("shared-name", ECDSA, SHA256, h, 32, NULL, NULL), 0,
	             "alice's key intact");
}

Test(keys, admin_lists_and_deletes_clients)
{
	struct td_resp r;
	ListClients__Result *res;
	static const uint8_t del_alice[] = {0x0a, 0x05, 'a', 'l', 'i', 'c', 'e'};

	who = "alice";
	cr_assert_eq(generate("a1", &p256_signer), 0);
	cr_assert_eq(generate("a2", &p256_signer), 0);
	who = "bob";
	cr_assert_eq(generate("b1", &p256_signer), 0);
	cr_assert_eq(td_call(&d, WIRE_OP_LIST_CLIENTS, 0, 1, NULL, 0, "admin_priv", 10, &r), 0);
	res = list_clients__result__unpack(NULL, r.body_len, r.body);
	cr_assert_eq(res->n_clients, 2);
	cr_assert_str_eq(res->clients[0], "alice");
	cr_assert_str_eq(res->clients[1], "bob");
	list_clients__result__free_unpacked(res, NULL);
	td_resp_free(&r);
	cr_assert_eq(td_call(&d, WIRE_OP_DELETE_CLIENT, 0, 1, del_alice, sizeof(del_alice),
	                     "admin_priv", 10, NULL),
	             0);
	cr_assert_eq(count_keys("alice", "a1") + count_keys("alice", "a2"), 0);
	cr_assert_eq(count_keys("bob", "b1"), 1, "other clients keep their keys");
	who = "alice";
}

/* ListClients by `admin` (Direct name, or NULL for the UnixPeer admin) as
 * one comma-separated string. */
static void list_clients_as(const char *admin, char *out, size_t outsize)
{
	struct td_resp r;
	ListClients__Result *res;
	uint32_t uid = (uint32_t)getuid();

	if (admin != NULL)
		cr_assert_eq(
		        td_call(&d, WIRE_OP_LIST_CLIENTS, 0, 1, NULL, 0, admin, strlen(admin), &r),
		        0);
	else
		cr_assert_eq(
		        td_call(&d, WIRE_OP_LIST_CLIENTS, 0, 3, NULL, 0, &uid, sizeof(uid), &r), 0);
	res = list_clients__result__unpack(NULL, r.body_len, r.body);
	cr_assert_not_null(res);
	out[0] = '\0';
	for (size_t i = 0; i < res->n_clients; i++)
		snprintf(out + strlen(out), outsize - strlen(out), "%s%s", i ? "," : "",
		         res->clients[i]);
	list_clients__result__free_unpacked(res, NULL);
	td_resp_free(&r);
}

static int delete_client_as_direct_admin(const char *client)
{
	uint8_t body[128];

	cr_assert_lt(strlen(client), 100);
	body[0] = 0x0a;
	body[1] = (uint8_t)strlen(client);
	memcpy(body + 2, client, strlen(client));
	return td_call(&d, WIRE_OP_DELETE_CLIENT, 0, 1, body, 2 + strlen(client), "admin_priv", 10,
	               NULL);
}

/* Issue 11 finding 6: with two authenticators, DeleteClient reached only
 * the admin's own and answered Success for a tenant ListClients showed. */
Test(keys, delete_client_reaches_every_authenticator_listed)
{
	char uid[16], qualified[64], odd[80], list[512], want[512];

	snprintf(uid, sizeof(uid), "%u", (unsigned)getuid());
	snprintf(qualified, sizeof(qualified), "UnixPeerCredentials:%s", uid);
	snprintf(odd, sizeof(odd), "Direct:%s", qualified);
	who = "alice";
	cr_assert_eq(generate("a1", &p256_signer), 0);
	/* A Direct tenant whose own name reads like a qualified one. */
	who = qualified;
	cr_assert_eq(generate("x1", &p256_signer), 0);
	as_unix_peer = true;
	cr_assert_eq(generate("u1", &p256_signer), 0);
	as_unix_peer = false;

	list_clients_as("admin_priv", list, sizeof(list));
	snprintf(want, sizeof(want), "%s,%s,alice", odd, qualified);
	cr_assert_str_eq(list, want, "own names plain, other authenticators' qualified");
	list_clients_as(NULL, list, sizeof(list));
	snprintf(want, sizeof(want), "%s,%s,Direct:alice", uid, odd);
	cr_assert_str_eq(list, want, "the UnixPeer admin's view");

	/* The UnixPeer tenant, by the name the Direct admin was shown. */
	cr_assert_eq(delete_client_as_direct_admin(qualified), 0);
	as_unix_peer = true;
	cr_assert_eq(count_keys_as_unix_peer("u1"), 0, "the UnixPeer tenant's key is gone");
	as_unix_peer = false;
	cr_assert_eq(count_keys(qualified, "x1"), 1, "the Direct tenant of that spelling kept its");
	cr_assert_eq(delete_client_as_direct_admin(odd), 0);
	cr_assert_eq(count_keys(qualified, "x1"), 0);
	cr_assert_eq(count_keys("alice", "a1"), 1);
	/* Names that match no tenant: Success, nothing deleted, as Parsec. */
	cr_assert_eq(delete_client_as_direct_admin("Jwt:nobody"), 0);
	cr_assert_eq(delete_client_as_direct_admin("nobody"), 0);
	cr_assert_eq(count_keys("alice", "a1"), 1);
	list_clients_as("admin_priv", list, sizeof(list));
	cr_assert_str_eq(list, "alice");
}

Test(keys, keys_survive_restart_and_kill)
{
	uint8_t *pub1, *pub2, h[32] = {3};
	size_t len1, len2;

	who = "alice";
	cr_assert_eq(generate("durable", &p256_signer), 0);
	cr_assert_eq(export("durable", 1, &pub1, &len1), 0);
	cr_assert_eq(td_restart(&d, SIGTERM), 0);
	cr_assert_eq(export("durable", 1, &pub2, &len2), 0);
	cr_assert_eq(len1, len2);
	cr_assert_arr_eq(pub1, pub2, len1, "same key after a restart");
	free(pub2);
	/* SIGKILL right after a create the client saw succeed. */
	cr_assert_eq(generate("durable2", &p256_signer), 0);
	cr_assert_eq(td_restart(&d, SIGKILL), 128 + SIGKILL);
	cr_assert_eq(sign("durable2", ECDSA, SHA256, h, 32, NULL, NULL), 0);
	cr_assert_eq(export("durable", 1, &pub2, &len2), 0);
	cr_assert_arr_eq(pub1, pub2, len1);
	free(pub1);
	free(pub2);
}

Test(keys, imported_private_key_is_not_on_disk_in_clear)
{
	/* A recognisable private scalar for P-256. */
	uint8_t scalar[32];
	char cmd[512], hex[65];
	struct spec s = {ECC_PAIR, SECP_R1, 256, USE_SIGN, ECDSA, SHA256};
	uint8_t h[32] = {4};

	for (int i = 0; i < 32; i++)
		scalar[i] = (uint8_t)(0x11 + i);
	cr_assert_eq(import("secret", &s, scalar, sizeof(scalar)), 0);
	cr_assert_eq(sign("secret", ECDSA, SHA256, h, 32, NULL, NULL), 0);
	/* Look for the scalar, raw and as hex, in every file of the state dir. */
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", scalar[i]);
	snprintf(cmd, sizeof(cmd),
	         "python3 -c \"import sys,os,glob\n"
	         "needle=bytes.fromhex('%s')\n"
	         "hits=[f for f in glob.glob('%s/*') if os.path.isfile(f) and "
	         "(needle in open(f,'rb').read() or b'%s' in open(f,'rb').read())]\n"
	         "sys.exit(1 if hits else 0)\"",
	         hex, d.dir, hex);
	cr_assert_eq(system(cmd), 0, "the private scalar is in a file of %s", d.dir);
}

static void other_curve(int family, uint32_t bits, const char *curve)
{
	struct spec s = {ECC_PAIR, family, bits, USE_SIGN, ECDSA, SHA256};
	uint8_t h[64], *sig, *pub;
	size_t hlen, siglen, publen;
	EVP_PKEY *pk;

	cr_assert_eq(generate(curve, &s), 0, "%s", curve);
	sha(EVP_sha256(), "curves", h, &hlen);
	cr_assert_eq(sign(curve, ECDSA, SHA256, h, hlen, &sig, &siglen), 0);
	cr_assert_eq(siglen, 2 * ((bits + 7) / 8));
	cr_assert_eq(export(curve, 1, &pub, &publen), 0);
	pk = ec_public(curve, pub, publen);
	cr_assert(openssl_verify_ecdsa(pk, h, hlen, sig, siglen), "%s", curve);
	EVP_PKEY_free(pk);
	free(sig);
	free(pub);
}

Test(keys, ecdsa_on_secp256k1_and_brainpool_verifies_in_openssl)
{
	other_curve(PSA_KEY_ATTRIBUTES__KEY_TYPE__ECC_FAMILY__SECP_K1, 256, "secp256k1");
	other_curve(PSA_KEY_ATTRIBUTES__KEY_TYPE__ECC_FAMILY__BRAINPOOL_P_R1, 256,
	            "brainpoolP256r1");
	other_curve(PSA_KEY_ATTRIBUTES__KEY_TYPE__ECC_FAMILY__SECP_R1, 521, "secp521r1");
}

/* Issue 16: the binary curves OpenSSL offers, as Parsec's Mbed Crypto
 * provider serves them: generate, export, ECDSA verified by OpenSSL. */
Test(keys, ecdsa_on_the_binary_curves_verifies_in_openssl)
{
	static const struct {
		int family;
		uint32_t bits;
		const char *name;
	} curves[] = {
	        {PSA_KEY_ATTRIBUTES__KEY_TYPE__ECC_FAMILY__SECT_K1, 233, "sect233k1"},
	        {PSA_KEY_ATTRIBUTES__KEY_TYPE__ECC_FAMILY__SECT_K1, 239, "sect239k1"},
	        {PSA_KEY_ATTRIBUTES__KEY_TYPE__ECC_FAMILY__SECT_K1, 283, "sect283k1"},
	        {PSA_KEY_ATTRIBUTES__KEY_TYPE__ECC_FAMILY__SECT_K1, 409, "sect409k1"},
	        {PSA_KEY_ATTRIBUTES__KEY_TYPE__ECC_FAMILY__SECT_K1, 571, "sect571k1"},
	        {PSA_KEY_ATTRIBUTES__KEY_TYPE__ECC_FAMILY__SECT_R1, 233, "sect233r1"},
	        {PSA_KEY_ATTRIBUTES__KEY_TYPE__ECC_FAMILY__SECT_R1, 283, "sect283r1"},
	        {PSA_KEY_ATTRIBUTES__KEY_TYPE__ECC_FAMILY__SECT_R1, 409, "sect409r1"},
	        {PSA_KEY_ATTRIBUTES__KEY_TYPE__ECC_FAMILY__SECT_R1, 571, "sect571r1"},
	};
	struct spec s163 = {ECC_PAIR, PSA_KEY_ATTRIBUTES__KEY_TYPE__ECC_FAMILY__SECT_K1,
	                    163,      USE_SIGN,
	                    ECDSA,    SHA256};

	for (size_t i = 0; i < sizeof(curves) / sizeof(curves[0]); i++)
		other_curve(curves[i].family, curves[i].bits, curves[i].name);
	/* An OpenSSL key imports with its size taken from the data. */
	{
		EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "sect409r1");
		struct spec s = {ECC_PAIR, PSA_KEY_ATTRIBUTES__KEY_TYPE__ECC_FAMILY__SECT_R1,
		                 0,        USE_SIGN,
		                 ECDSA,    SHA256};
		BIGNUM *priv = NULL;
		uint8_t scalar[52], point[200], *pub;
		size_t plen, publen;

		cr_assert_not_null(pk);
		cr_assert_eq(EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_PRIV_KEY, &priv), 1);
		cr_assert_eq(BN_bn2binpad(priv, scalar, sizeof(scalar)), (int)sizeof(scalar));
		cr_assert_eq(EVP_PKEY_get_octet_string_param(pk, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY,
		                                             point, sizeof(point), &plen),
		             1);
		cr_assert_eq(import("b409", &s, scalar, sizeof(scalar)), 0);
		cr_assert_eq(export("b409", 1, &pub, &publen), 0);
		cr_assert_eq(publen, plen);
		cr_assert_arr_eq(pub, point, plen, "the same key");
		free(pub);
		BN_clear_free(priv);
		EVP_PKEY_free(pk);
	}
	/* The 163-bit ones are on Parsec's deprecated list. */
	cr_assert_eq(generate("sect163k1", &s163), 22, "DeprecatedPrimitive");
}

Test(keys, openssl_rsa_private_key_imports_and_signs)
{
	EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)3072);
	struct spec s = {RSA_PAIR, 0, 0 /* from the data */, USE_SIGN | USE_EXPORT, PKCS1, SHA256};
	unsigned char *der = NULL;
	uint8_t h[64], *sig, *back;
	size_t hlen, siglen, backlen;
	int n = i2d_PrivateKey(pk, &der);
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(pk, NULL);

	cr_assert_gt(n, 0);
	cr_assert_eq(import("imported-rsa", &s, der, (size_t)n), 0);
	sha(EVP_sha256(), "imported", h, &hlen);
	cr_assert_eq(sign("imported-rsa", PKCS1, SHA256, h, hlen, &sig, &siglen), 0);
	cr_assert_eq(siglen, 384);
	EVP_PKEY_verify_init(ctx);
	EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING);
	EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256());
	cr_assert_eq(EVP_PKEY_verify(ctx, sig, siglen, h, hlen), 1);
	/* Exported back, byte for byte (PSA's RSAPrivateKey format). */
	cr_assert_eq(export("imported-rsa", 0, &back, &backlen), 0);
	cr_assert_eq(backlen, (size_t)n);
	cr_assert_arr_eq(back, der, backlen);
	/* Size taken from the data: a mismatching stated size is refused. */
	s.bits = 2048;
	cr_assert_eq(import("wrong-size", &s, der, (size_t)n), 1135);
	OPENSSL_clear_free(der, (size_t)n);
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(pk);
	free(sig);
	free(back);
}

Test(deprecated, allowed_when_configured, .timeout = 60)
{
	struct spec sha1 = {ECC_PAIR, SECP_R1, 256,
	                    USE_SIGN, ECDSA,   PSA_ALGORITHM__ALGORITHM__HASH__SHA_1};

	td_start(&d, "{\"core\": {\"allow_root\": true, \"allow_deprecated\": true},"
	             " \"listener\": {\"socket_path\": \"%1$s\"},"
	             " \"authenticators\": [{\"type\": \"Direct\"}]}");
	who = "alice";
	cr_assert_eq(generate("old-but-allowed", &sha1), 0);
	cr_assert_eq(td_stop(&d), 0);
}

/* ---- the PSA C API's key extensions: attributes, copy, purge ---- */

/* PsaGetKeyAttributes: the status; the attributes in *ret (free_unpacked). */
static int get_attributes(const char *name, PsaKeyAttributes__KeyAttributes **ret)
{
	PsaGetKeyAttributes__Operation op = PSA_GET_KEY_ATTRIBUTES__OPERATION__INIT;
	PsaGetKeyAttributes__Result *res;
	struct td_resp r;
	int st;

	op.key_name = (char *)name;
	st = call(WIRE_OP_PSA_GET_KEY_ATTRIBUTES, &op.base, &r);
	if (st == 0) {
		res = psa_get_key_attributes__result__unpack(NULL, r.body_len, r.body);
		cr_assert_not_null(res);
		cr_assert_not_null(res->attributes);
		*ret = res->attributes;
		res->attributes = NULL;
		psa_get_key_attributes__result__free_unpacked(res, NULL);
	}
	td_resp_free(&r);
	return st;
}

static int copy_key(const char *from, const char *to, const struct spec *s)
{
	struct attrs_pb ap;
	PsaCopyKey__Operation op = PSA_COPY_KEY__OPERATION__INIT;

	fill_attrs(&ap, s);
	op.key_name = (char *)from;
	op.target_key_name = (char *)to;
	op.attributes = &ap.a;
	return call(WIRE_OP_PSA_COPY_KEY, &op.base, NULL);
}

Test(keys, get_attributes_returns_what_was_made_with_the_imported_size)
{
	PsaKeyAttributes__KeyAttributes *a = NULL;
	struct spec s = {ECC_PAIR, SECP_R1, 0, USE_SIGN | USE_EXPORT, ECDSA, SHA256};

	/* An import that leaves the size 0 is answered with the size found. */
	{
		uint8_t k[32];

		memset(k, 0x11, sizeof(k));
		cr_assert_eq(import("attr-imp", &s, k, sizeof(k)), 0);
	}
	cr_assert_eq(get_attributes("attr-imp", &a), 0);
	cr_assert_eq(a->key_bits, 256);
	cr_assert_eq(a->key_type->variant_case, ECC_PAIR);
	cr_assert_eq(a->key_type->ecc_key_pair->curve_family, SECP_R1);
	cr_assert(a->key_policy->key_usage_flags->sign_hash);
	cr_assert(a->key_policy->key_usage_flags->export);
	cr_assert_not(a->key_policy->key_usage_flags->verify_hash);
	cr_assert_eq(a->key_policy->key_algorithm->variant_case,
	             PSA_ALGORITHM__ALGORITHM__VARIANT_ASYMMETRIC_SIGNATURE);
	psa_key_attributes__key_attributes__free_unpacked(a, NULL);

	/* Another tenant's key, and a missing one, do not exist. */
	who = "bob";
	cr_assert_eq(get_attributes("attr-imp", &a), 1140);
	who = "alice";
	cr_assert_eq(get_attributes("attr-none", &a), 1140);
	cr_assert_eq(destroy("attr-imp"), 0);
}

Test(keys, copy_needs_the_copy_flag_and_intersects_the_policies)
{
	struct spec src = {ECC_PAIR, SECP_R1, 256, USE_SIGN | USE_VERIFY | USE_EXPORT | USE_COPY,
	                   ECDSA,    0 /* any hash */};
	struct spec narrow = {ECC_PAIR, SECP_R1, 0, USE_SIGN | USE_EXPORT, ECDSA, SHA256};
	struct spec nocopy = {ECC_PAIR, SECP_R1, 256, USE_SIGN | USE_EXPORT, ECDSA, SHA256};
	struct spec other_alg = {ECC_PAIR, SECP_R1, 0, USE_SIGN, PKCS1, SHA256};
	struct spec other_type = {RSA_PAIR, 0, 0, USE_SIGN, ECDSA, SHA256};
	PsaKeyAttributes__KeyAttributes *a = NULL;
	uint8_t *x = NULL, *y = NULL, h[32], *sig = NULL;
	size_t xl = 0, yl = 0, hl = 0, sl = 0;

	cr_assert_eq(generate("cp-src", &src), 0);
	cr_assert_eq(copy_key("cp-src", "cp-dst", &narrow), 0);
	/* The copy is the same key: equal export, and it signs as the source
	 * verifies. */
	cr_assert_eq(export("cp-src", 0, &x, &xl), 0);
	cr_assert_eq(export("cp-dst", 0, &y, &yl), 0);
	cr_assert_eq(xl, yl);
	cr_assert_eq(memcmp(x, y, xl), 0);
	free(x);
	free(y);
	sha(EVP_sha256(), "copied", h, &hl);
	cr_assert_eq(sign("cp-dst", ECDSA, SHA256, h, hl, &sig, &sl), 0);
	cr_assert_eq(verify("cp-src", ECDSA, SHA256, h, hl, sig, sl), 0);
	free(sig);
	/* Its policy: both usages (no verify, no copy), the narrower algorithm. */
	cr_assert_eq(get_attributes("cp-dst", &a), 0);
	cr_assert_eq(a->key_bits, 256);
	cr_assert(a->key_policy->key_usage_flags->sign_hash);
	cr_assert_not(a->key_policy->key_usage_flags->verify_hash);
	cr_assert_not(a->key_policy->key_usage_flags->copy);
	cr_assert_eq(
	        a->key_policy->key_algorithm->asymmetric_signature->ecdsa->hash_alg->variant_case,
	        PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_SIGNATURE__SIGN_HASH__VARIANT_SPECIFIC);
	psa_key_attributes__key_attributes__free_unpacked(a, NULL);
	/* So it cannot be copied again, and cannot verify. */
	cr_assert_eq(copy_key("cp-dst", "cp-dst2", &narrow), 1133);
	cr_assert_eq(verify("cp-dst", ECDSA, SHA256, h, hl, (const uint8_t *)"x", 1), 1133);

	/* The rules: the target must not exist; no common algorithm, another
	 * type or another size is InvalidArgument; no copy flag NotPermitted. */
	cr_assert_eq(copy_key("cp-src", "cp-dst", &narrow), 1139);
	cr_assert_eq(copy_key("cp-src", "cp-x", &other_alg), 1135);
	cr_assert_eq(copy_key("cp-src", "cp-x", &other_type), 1135);
	narrow.bits = 384;
	cr_assert_eq(copy_key("cp-src", "cp-x", &narrow), 1135);
	narrow.bits = 0;
	cr_assert_eq(generate("cp-nocopy", &nocopy), 0);
	cr_assert_eq(copy_key("cp-nocopy", "cp-x", &narrow), 1133);
	cr_assert_eq(get_attributes("cp-x", &a), 1140); /* nothing was made */
	/* Another tenant cannot copy alice's key, nor see the copy. */
	who = "bob";
	cr_assert_eq(copy_key("cp-src", "cp-bob", &narrow), 1140);
	cr_assert_eq(get_attributes("cp-dst", &a), 1140);
	who = "alice";

	PsaPurgeKey__Operation pop = PSA_PURGE_KEY__OPERATION__INIT;

	pop.key_name = "cp-dst";
	cr_assert_eq(call(WIRE_OP_PSA_PURGE_KEY, &pop.base, NULL), 0);
	pop.key_name = "cp-none";
	cr_assert_eq(call(WIRE_OP_PSA_PURGE_KEY, &pop.base, NULL), 1140);
	cr_assert_eq(destroy("cp-dst"), 0);
	cr_assert_eq(destroy("cp-src"), 0);
	cr_assert_eq(destroy("cp-nocopy"), 0);
}
