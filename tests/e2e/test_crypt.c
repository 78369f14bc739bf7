/*
 * AEAD, ciphers, MACs, RSA encryption and key agreement on the software
 * provider, each checked against OpenSSL doing the same thing on its own.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/dh.h>
#include <openssl/param_build.h>
#include <openssl/params.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "can_do_crypto.pb-c.h"
#include "psa_hash_compare.pb-c.h"
#include "psa_hash_compute.pb-c.h"
#include "harness.h"
#include "psa_aead_decrypt.pb-c.h"
#include "psa_aead_encrypt.pb-c.h"
#include "psa_asymmetric_decrypt.pb-c.h"
#include "psa_asymmetric_encrypt.pb-c.h"
#include "psa_cipher_decrypt.pb-c.h"
#include "psa_cipher_encrypt.pb-c.h"
#include "psa_export_key.pb-c.h"
#include "psa_generate_key.pb-c.h"
#include "psa_import_key.pb-c.h"
#include "psa_mac_compute.pb-c.h"
#include "psa_mac_verify.pb-c.h"
#include "psa_raw_key_agreement.pb-c.h"

static struct td d;

static void setup(void)
{
	td_start(&d, TD_CONFIG_DEFAULT);
}

static void teardown(void)
{
	cr_assert_eq(td_stop(&d), 0);
}

TestSuite(crypt, .init = setup, .fini = teardown, .timeout = 120);

#define U_ENC    (1 << 0)
#define U_DEC    (1 << 1)
#define U_EXP    (1 << 2)
#define U_SIGN   (1 << 3)
#define U_VER    (1 << 4)
#define U_DERIVE (1 << 5)

/* Send a message to provider 1 as Direct "carol"; result bytes (field 1) in *out. */
static int call(uint32_t opcode, const ProtobufCMessage *m, uint8_t **out, size_t *out_len)
{
	uint8_t *buf = malloc(protobuf_c_message_get_packed_size(m) + 1);
	size_t n = protobuf_c_message_pack(m, buf);
	struct td_resp r;
	int st = td_call(&d, opcode, 1, 1, buf, n, "carol", 5, &r);

	free(buf);
	if (st == 0 && out != NULL) {
		PsaExportKey__Result *res =
		        psa_export_key__result__unpack(NULL, r.body_len, r.body);

		cr_assert_not_null(res);
		*out = malloc(res->data.len + 1);
		memcpy(*out, res->data.data, res->data.len);
		*out_len = res->data.len;
		psa_export_key__result__free_unpacked(res, NULL);
	}
	td_resp_free(&r);
	return st;
}

/* Create (generate, or import when data != NULL) a key with a policy. */
static int make_key(const char *name, int type, int family, uint32_t bits, int usage,
                    PsaAlgorithm__Algorithm *alg, const uint8_t *data, size_t len)
{
	PsaKeyAttributes__KeyAttributes a = PSA_KEY_ATTRIBUTES__KEY_ATTRIBUTES__INIT;
	PsaKeyAttributes__KeyType t = PSA_KEY_ATTRIBUTES__KEY_TYPE__INIT;
	PsaKeyAttributes__KeyType__EccKeyPair ecc =
	        PSA_KEY_ATTRIBUTES__KEY_TYPE__ECC_KEY_PAIR__INIT;
	PsaKeyAttributes__KeyType__Aes empty = PSA_KEY_ATTRIBUTES__KEY_TYPE__AES__INIT;
	PsaKeyAttributes__KeyPolicy pol = PSA_KEY_ATTRIBUTES__KEY_POLICY__INIT;
	PsaKeyAttributes__UsageFlags u = PSA_KEY_ATTRIBUTES__USAGE_FLAGS__INIT;

	t.variant_case = type;
	ecc.curve_family = family;
	/* All variants but ECC are empty messages: one pointer serves. */
	t.aes = (void *)&empty;
	if (type == PSA_KEY_ATTRIBUTES__KEY_TYPE__VARIANT_ECC_KEY_PAIR)
		t.ecc_key_pair = &ecc;
	u.encrypt = (usage & U_ENC) != 0;
	u.decrypt = (usage & U_DEC) != 0;
	u.export = (usage & U_EXP) != 0;
	u.sign_message = (usage & U_SIGN) != 0;
	u.verify_message = (usage & U_VER) != 0;
	u.derive = (usage & U_DERIVE) != 0;
	pol.key_usage_flags = &u;
	pol.key_algorithm = alg;
	a.key_type = &t;
	a.key_bits = bits;
	a.key_policy = &pol;
	if (data == NULL) {
		PsaGenerateKey__Operation op = PSA_GENERATE_KEY__OPERATION__INIT;

		op.key_name = (char *)name;
		op.attributes = &a;
		return call(WIRE_OP_PSA_GENERATE_KEY, &op.base, NULL, NULL);
	} else {
		PsaImportKey__Operation op = PSA_IMPORT_KEY__OPERATION__INIT;

		op.key_name = (char *)name;
		op.attributes = &a;
		op.data.data = (uint8_t *)data;
		op.data.len = len;
		return call(WIRE_OP_PSA_IMPORT_KEY, &op.base, NULL, NULL);
	}
}

static void export_key(const char *name, int public_only, uint8_t **out, size_t *len)
{
	PsaExportKey__Operation op = PSA_EXPORT_KEY__OPERATION__INIT;

	op.key_name = (char *)name;
	cr_assert_eq(call(public_only ? WIRE_OP_PSA_EXPORT_PUBLIC_KEY : WIRE_OP_PSA_EXPORT_KEY,
	                  &op.base, out, len),
	             0);
}

/* ---- AEAD ---- */

static PsaAlgorithm__Algorithm__Aead aead_alg(int kind)
{
	PsaAlgorithm__Algorithm__Aead a = PSA_ALGORITHM__ALGORITHM__AEAD__INIT;

	a.variant_case = PSA_ALGORITHM__ALGORITHM__AEAD__VARIANT_AEAD_WITH_DEFAULT_LENGTH_TAG;
	a.aead_with_default_length_tag = kind;
	return a;
}

static int aead(const char *name, int kind, int encrypt, const uint8_t *nonce, size_t nlen,
                const char *ad, const uint8_t *in, size_t in_len, uint8_t **out, size_t *out_len)
{
	PsaAlgorithm__Algorithm__Aead alg = aead_alg(kind);

	if (encrypt) {
		PsaAeadEncrypt__Operation op = PSA_AEAD_ENCRYPT__OPERATION__INIT;

		op.key_name = (char *)name;
		op.alg = &alg;
		op.nonce = (ProtobufCBinaryData){nlen, (uint8_t *)nonce};
		op.additional_data = (ProtobufCBinaryData){strlen(ad), (uint8_t *)ad};
		op.plaintext = (ProtobufCBinaryData){in_len, (uint8_t *)in};
		return call(WIRE_OP_PSA_AEAD_ENCRYPT, &op.base, out, out_len);
	} else {
		PsaAeadDecrypt__Operation op = PSA_AEAD_DECRYPT__OPERATION__INIT;

		op.key_name = (char *)name;
		op.alg = &alg;
		op.nonce = (ProtobufCBinaryData){nlen, (uint8_t *)nonce};
		op.additional_data = (ProtobufCBinaryData){strlen(ad), (uint8_t *)ad};
		op.ciphertext = (ProtobufCBinaryData){in_len, (uint8_t *)in};
		return call(WIRE_OP_PSA_AEAD_DECRYPT, &op.base, out, out_len);
	}
}

/* OpenSSL's own AEAD, to compare with. */
static void openssl_aead(const char *cipher, int encrypt, const uint8_t *key, const uint8_t *nonce,
                         int nlen, const char *ad, const uint8_t *in, int in_len, uint8_t *out,
                         uint8_t *tag)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	EVP_CIPHER *ci = EVP_CIPHER_fetch(NULL, cipher, NULL);
	int n;

	cr_assert_eq(EVP_CipherInit_ex2(c, ci, NULL, NULL, encrypt, NULL), 1);
	EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_IVLEN, nlen, NULL);
	cr_assert_eq(EVP_CipherInit_ex2(c, NULL, key, nonce, encrypt, NULL), 1);
	EVP_CipherUpdate(c, NULL, &n, (const uint8_t *)ad, (int)strlen(ad));
	if (!encrypt)
		EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, 16, tag);
	cr_assert_eq(EVP_CipherUpdate(c, out, &n, in, in_len), 1);
	cr_assert_eq(EVP_CipherFinal_ex(c, out + n, &n), 1, "OpenSSL rejected it");
	if (encrypt)
		EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, 16, tag);
	EVP_CIPHER_free(ci);
	EVP_CIPHER_CTX_free(c);
}

static void aead_case(int kind, int type, const char *openssl_name, size_t nonce_len)
{
	PsaAlgorithm__Algorithm__Aead pa = aead_alg(kind);
	PsaAlgorithm__Algorithm alg = PSA_ALGORITHM__ALGORITHM__INIT;
	static const char msg[] = "attack at dawn, and bring the good biscuits";
	uint8_t nonce[13] = {9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 1, 2, 3};
	uint8_t *ct, *pt, *key, mine[128], tag[16];
	size_t ct_len, pt_len, key_len;

	alg.variant_case = PSA_ALGORITHM__ALGORITHM__VARIANT_AEAD;
	alg.aead = &pa;
	cr_assert_eq(make_key("sym", type, 0, 256, U_ENC | U_DEC | U_EXP, &alg, NULL, 0), 0);
	cr_assert_eq(aead("sym", kind, 1, nonce, nonce_len, "hdr", (const uint8_t *)msg,
	                  strlen(msg), &ct, &ct_len),
	             0);
	cr_assert_eq(ct_len, strlen(msg) + 16, "ciphertext then a 16-byte tag");
	cr_assert_eq(aead("sym", kind, 0, nonce, nonce_len, "hdr", ct, ct_len, &pt, &pt_len), 0);
	cr_assert_eq(pt_len, strlen(msg));
	cr_assert_arr_eq(pt, msg, pt_len);
	if (openssl_name != NULL) {
		/* OpenSSL, with the exported key, decrypts the daemon's ciphertext. */
		export_key("sym", 0, &key, &key_len);
		cr_assert_eq(key_len, 32);
		openssl_aead(openssl_name, 0, key, nonce, (int)nonce_len, "hdr", ct,
		             (int)(ct_len - 16), mine, ct + ct_len - 16);
		cr_assert_arr_eq(mine, msg, strlen(msg));
		/* And the daemon decrypts OpenSSL's. */
		free(pt);
		openssl_aead(openssl_name, 1, key, nonce, (int)nonce_len, "other",
		             (const uint8_t *)msg, (int)strlen(msg), mine, tag);
		memcpy(mine + strlen(msg), tag, 16);
		cr_assert_eq(aead("sym", kind, 0, nonce, nonce_len, "other", mine, strlen(msg) + 16,
		                  &pt, &pt_len),
		             0);
		cr_assert_arr_eq(pt, msg, pt_len);
		free(key);
	}
	/* A changed tag or associated data is refused. */
	ct[ct_len - 1] ^= 1;
	cr_assert_eq(aead("sym", kind, 0, nonce, nonce_len, "hdr", ct, ct_len, NULL, NULL), 1149);
	ct[ct_len - 1] ^= 1;
	cr_assert_eq(aead("sym", kind, 0, nonce, nonce_len, "hdX", ct, ct_len, NULL, NULL), 1149);
	free(ct);
	free(pt);
}

Test(crypt, aes_256_gcm_matches_openssl)
{
	aead_case(2, PSA_KEY_ATTRIBUTES__KEY_TYPE__VARIANT_AES, "AES-256-GCM", 12);
}

Test(crypt, chacha20_poly1305_matches_openssl)
{
	aead_case(3, PSA_KEY_ATTRIBUTES__KEY_TYPE__VARIANT_CHACHA20, "ChaCha20-Poly1305", 12);
}

Test(crypt, aes_256_ccm_round_trip)
{
	aead_case(1, PSA_KEY_ATTRIBUTES__KEY_TYPE__VARIANT_AES, NULL, 13);
}

Test(crypt, aead_policy)
{
	PsaAlgorithm__Algorithm__Aead gcm = aead_alg(2), chacha = aead_alg(3);
	PsaAlgorithm__Algorithm alg = PSA_ALGORITHM__ALGORITHM__INIT;
	uint8_t nonce[32] = {0}; /* also used as input */

	alg.variant_case = PSA_ALGORITHM__ALGORITHM__VARIANT_AEAD;
	alg.aead = &gcm;
	cr_assert_eq(make_key("gcm-enc-only", PSA_KEY_ATTRIBUTES__KEY_TYPE__VARIANT_AES, 0, 128,
	                      U_ENC, &alg, NULL, 0),
	             0);
	cr_assert_eq(aead("gcm-enc-only", 1, 1, nonce, 12, "", nonce, 4, NULL, NULL), 1133,
	             "CCM is not the permitted algorithm");
	cr_assert_eq(aead("gcm-enc-only", 2, 0, nonce, 12, "", nonce, 20, NULL, NULL), 1133,
	             "no decrypt usage");
	alg.aead = &chacha;
	cr_assert_eq(make_key("chacha-on-aes", PSA_KEY_ATTRIBUTES__KEY_TYPE__VARIANT_AES, 0, 256,
	                      U_ENC, &alg, NULL, 0),
	             0);
	cr_assert_eq(aead("chacha-on-aes", 3, 1, nonce, 12, "", nonce, 4, NULL, NULL), 1133,
	             "ChaCha20-Poly1305 does not fit an AES key: NotPermitted, as Parsec");
}

/* ---- ciphers ---- */

static int cipher(const char *name, int alg, int encrypt, const uint8_t *in, size_t len,
                  uint8_t **out, size_t *out_len)
{
	if (encrypt) {
		PsaCipherEncrypt__Operation op = PSA_CIPHER_ENCRYPT__OPERATION__INIT;

		op.key_name = (char *)name;
		op.alg = alg;
		op.plaintext = (ProtobufCBinaryData){len, (uint8_t *)in};
		return call(WIRE_OP_PSA_CIPHER_ENCRYPT, &op.base, out, out_len);
	} else {
		PsaCipherDecrypt__Operation op = PSA_CIPHER_DECRYPT__OPERATION__INIT;

		op.key_name = (char *)name;
		op.alg = alg;
		op.ciphertext = (ProtobufCBinaryData){len, (uint8_t *)in};
		return call(WIRE_OP_PSA_CIPHER_DECRYPT, &op.base, out, out_len);
	}
}

Test(crypt, aes_cbc_pkcs7_iv_prepended_and_openssl_decrypts)
{
	PsaAlgorithm__Algorithm alg = PSA_ALGORITHM__ALGORITHM__INIT;
	static const char msg[] = "sixteen byte msg plus a tail";
	uint8_t *ct, *pt, *key, mine[64];
	size_t ct_len, pt_len, key_len;
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int n1, n2;

	alg.variant_case = PSA_ALGORITHM__ALGORITHM__VARIANT_CIPHER;
	alg.cipher = PSA_ALGORITHM__ALGORITHM__CIPHER__CBC_PKCS7;
	cr_assert_eq(make_key("cbc", PSA_KEY_ATTRIBUTES__KEY_TYPE__VARIANT_AES, 0, 128,
	                      U_ENC | U_DEC | U_EXP, &alg, NULL, 0),
	             0);
	cr_assert_eq(cipher("cbc", alg.cipher, 1, (const uint8_t *)msg, strlen(msg), &ct, &ct_len),
	             0);
	cr_assert_eq(ct_len, 16 + 32, "IV, then two padded blocks");
	export_key("cbc", 0, &key, &key_len);
	cr_assert_eq(EVP_DecryptInit_ex2(c, EVP_aes_128_cbc(), key, ct, NULL), 1);
	cr_assert_eq(EVP_DecryptUpdate(c, mine, &n1, ct + 16, (int)ct_len - 16), 1);
	cr_assert_eq(EVP_DecryptFinal_ex(c, mine + n1, &n2), 1);
	cr_assert_eq((size_t)(n1 + n2), strlen(msg));
	cr_assert_arr_eq(mine, msg, strlen(msg));
	cr_assert_eq(cipher("cbc", alg.cipher, 0, ct, ct_len, &pt, &pt_len), 0);
	cr_assert_arr_eq(pt, msg, strlen(msg));
	/* Two encryptions of the same text differ (fresh IV). */
	free(pt);
	cr_assert_eq(cipher("cbc", alg.cipher, 1, (const uint8_t *)msg, strlen(msg), &pt, &pt_len),
	             0);
	cr_assert(memcmp(pt, ct, 16) != 0);
	EVP_CIPHER_CTX_free(c);
	free(ct);
	free(pt);
	free(key);
}

Test(crypt, aes_ctr_round_trip_any_length)
{
	PsaAlgorithm__Algorithm alg = PSA_ALGORITHM__ALGORITHM__INIT;
	uint8_t *ct, *pt;
	size_t ct_len, pt_len;

	alg.variant_case = PSA_ALGORITHM__ALGORITHM__VARIANT_CIPHER;
	alg.cipher = PSA_ALGORITHM__ALGORITHM__CIPHER__CTR;
	cr_assert_eq(make_key("ctr", PSA_KEY_ATTRIBUTES__KEY_TYPE__VARIANT_AES, 0, 256,
	                      U_ENC | U_DEC, &alg, NULL, 0),
	             0);
	cr_assert_eq(cipher("ctr", alg.cipher, 1, (const uint8_t *)"seven!!", 7, &ct, &ct_len), 0);
	cr_assert_eq(ct_len, 16 + 7);
	cr_assert_eq(cipher("ctr", alg.cipher, 0, ct, ct_len, &pt, &pt_len), 0);
	cr_assert_eq(pt_len, 7);
	cr_assert_arr_eq(pt, "seven!!", 7);
	free(ct);
	free(pt);
}

/* ---- MAC ---- */

static int mac(const char *name, PsaAlgorithm__Algorithm__Mac *alg, const char *in,
               const uint8_t *expect, size_t expect_len, uint8_t **out, size_t *out_len)
{
	if (expect == NULL) {
		PsaMacCompute__Operation op = PSA_MAC_COMPUTE__OPERATION__INIT;

		op.key_name = (char *)name;
		op.alg = alg;
		op.input = (ProtobufCBinaryData){strlen(in), (uint8_t *)in};
		return call(WIRE_OP_PSA_MAC_COMPUTE, &op.base, out, out_len);
	} else {
		PsaMacVerify__Operation op = PSA_MAC_VERIFY__OPERATION__INIT;

		op.key_name = (char *)name;
		op.alg = alg;
		op.input = (ProtobufCBinaryData){strlen(in), (uint8_t *)in};
		op.mac = (ProtobufCBinaryData){expect_len, (uint8_t *)expect};
		return call(WIRE_OP_PSA_MAC_VERIFY, &op.base, NULL, NULL);
	}
}

Test(crypt, hmac_sha256_matches_openssl_and_verifies)
{
	PsaAlgorithm__Algorithm__Mac__FullLength__Hmac h =
	        PSA_ALGORITHM__ALGORITHM__MAC__FULL_LENGTH__HMAC__INIT;
	PsaAlgorithm__Algorithm__Mac__FullLength full =
	        PSA_ALGORITHM__ALGORITHM__MAC__FULL_LENGTH__INIT;
	PsaAlgorithm__Algorithm__Mac__Truncated tr = PSA_ALGORITHM__ALGORITHM__MAC__TRUNCATED__INIT;
	PsaAlgorithm__Algorithm__Mac m = PSA_ALGORITHM__ALGORITHM__MAC__INIT;
	PsaAlgorithm__Algorithm__Mac m16 = PSA_ALGORITHM__ALGORITHM__MAC__INIT;
	PsaAlgorithm__Algorithm alg = PSA_ALGORITHM__ALGORITHM__INIT;
	static const uint8_t key[32] = "an hmac key of thirty-two bytes";
	uint8_t *out, expect[64];
	size_t out_len, expect_len;

	h.hash_alg = PSA_ALGORITHM__ALGORITHM__HASH__SHA_256;
	full.variant_case = PSA_ALGORITHM__ALGORITHM__MAC__FULL_LENGTH__VARIANT_HMAC;
	full.hmac = &h;
	m.variant_case = PSA_ALGORITHM__ALGORITHM__MAC__VARIANT_FULL_LENGTH;
	m.full_length = &full;
	alg.variant_case = PSA_ALGORITHM__ALGORITHM__VARIANT_MAC;
	alg.mac = &m;
	cr_assert_eq(make_key("hmac", PSA_KEY_ATTRIBUTES__KEY_TYPE__VARIANT_HMAC, 0, 0,
	                      U_SIGN | U_VER, &alg, key, sizeof(key)),
	             0);
	cr_assert_eq(mac("hmac", &m, "the message", NULL, 0, &out, &out_len), 0);
	cr_assert_not_null(EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key, sizeof(key),
	                             (const uint8_t *)"the message", 11, expect, sizeof(expect),
	                             &expect_len));
	cr_assert_eq(out_len, 32);
	cr_assert_arr_eq(out, expect, 32);
	cr_assert_eq(mac("hmac", &m, "the message", expect, 32, NULL, NULL), 0);
	expect[31] ^= 1;
	cr_assert_eq(mac("hmac", &m, "the message", expect, 32, NULL, NULL), 1149);
	cr_assert_eq(mac("hmac", &m, "the message", expect, 31, NULL, NULL), 1149);
	/* A truncated MAC is a different algorithm: not permitted by this policy. */
	tr.mac_alg = &full;
	tr.mac_length = 16;
	m16.variant_case = PSA_ALGORITHM__ALGORITHM__MAC__VARIANT_TRUNCATED;
	m16.truncated = &tr;
	cr_assert_eq(mac("hmac", &m16, "the message", NULL, 0, NULL, NULL), 1133);
	free(out);
}

Test(crypt, cmac_aes_matches_openssl)
{
	PsaAlgorithm__Algorithm__Mac__FullLength__Cmac cm =
	        PSA_ALGORITHM__ALGORITHM__MAC__FULL_LENGTH__CMAC__INIT;
	PsaAlgorithm__Algorithm__Mac__FullLength full =
	        PSA_ALGORITHM__ALGORITHM__MAC__FULL_LENGTH__INIT;
	PsaAlgorithm__Algorithm__Mac m = PSA_ALGORITHM__ALGORITHM__MAC__INIT;
	PsaAlgorithm__Algorithm alg = PSA_ALGORITHM__ALGORITHM__INIT;
	static const uint8_t key[16] = "0123456789abcdef";
	uint8_t *out, expect[32];
	size_t out_len, expect_len;

	full.variant_case = PSA_ALGORITHM__ALGORITHM__MAC__FULL_LENGTH__VARIANT_CMAC;
	full.cmac = &cm;
	m.variant_case = PSA_ALGORITHM__ALGORITHM__MAC__VARIANT_FULL_LENGTH;
	m.full_length = &full;
	alg.variant_case = PSA_ALGORITHM__ALGORITHM__VARIANT_MAC;
	alg.mac = &m;
	cr_assert_eq(make_key("cmac", PSA_KEY_ATTRIBUTES__KEY_TYPE__VARIANT_AES, 0, 128, U_SIGN,
	                      &alg, key, sizeof(key)),
	             0);
	cr_assert_eq(mac("cmac", &m, "block cipher mac", NULL, 0, &out, &out_len), 0);
	cr_assert_not_null(EVP_Q_mac(NULL, "CMAC", NULL, "AES-128-CBC", NULL, key, sizeof(key),
	                             (const uint8_t *)"block cipher mac", 16, expect,
	                             sizeof(expect), &expect_len));
	cr_assert_eq(out_len, expect_len);
	cr_assert_arr_eq(out, expect, out_len);
	free(out);
}

/* ---- RSA encryption ---- */

static int asym(const char *name, PsaAlgorithm__Algorithm__AsymmetricEncryption *alg, int encrypt,
                const uint8_t *in, size_t len, const char *label, uint8_t **out, size_t *out_len)
{
	if (encrypt) {
		PsaAsymmetricEncrypt__Operation op = PSA_ASYMMETRIC_ENCRYPT__OPERATION__INIT;

		op.key_name = (char *)name;
		op.alg = alg;
		op.plaintext = (ProtobufCBinaryData){len, (uint8_t *)in};
		op.salt = (ProtobufCBinaryData){strlen(label), (uint8_t *)label};
		return call(WIRE_OP_PSA_ASYMMETRIC_ENCRYPT, &op.base, out, out_len);
	} else {
		PsaAsymmetricDecrypt__Operation op = PSA_ASYMMETRIC_DECRYPT__OPERATION__INIT;

		op.key_name = (char *)name;
		op.alg = alg;
		op.ciphertext = (ProtobufCBinaryData){len, (uint8_t *)in};
		op.salt = (ProtobufCBinaryData){strlen(label), (uint8_t *)label};
		return call(WIRE_OP_PSA_ASYMMETRIC_DECRYPT, &op.base, out, out_len);
	}
}

Test(crypt, rsa_oaep_with_label_openssl_encrypts_daemon_decrypts)
{
	PsaAlgorithm__Algorithm__AsymmetricEncryption__RsaOaep oaep =
	        PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_ENCRYPTION__RSA_OAEP__INIT;
	PsaAlgorithm__Algorithm__AsymmetricEncryption e =
	        PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_ENCRYPTION__INIT;
	PsaAlgorithm__Algorithm alg = PSA_ALGORITHM__ALGORITHM__INIT;
	uint8_t *pub, *pt, ct[256];
	size_t pub_len, pt_len, ct_len = sizeof(ct);
	const uint8_t *p;
	EVP_PKEY *pk;
	EVP_PKEY_CTX *c;

	oaep.hash_alg = PSA_ALGORITHM__ALGORITHM__HASH__SHA_256;
	e.variant_case = PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_ENCRYPTION__VARIANT_RSA_OAEP;
	e.rsa_oaep = &oaep;
	alg.variant_case = PSA_ALGORITHM__ALGORITHM__VARIANT_ASYMMETRIC_ENCRYPTION;
	alg.asymmetric_encryption = &e;
	cr_assert_eq(make_key("oaep", PSA_KEY_ATTRIBUTES__KEY_TYPE__VARIANT_RSA_KEY_PAIR, 0, 2048,
	                      U_ENC | U_DEC, &alg, NULL, 0),
	             0);
	export_key("oaep", 1, &pub, &pub_len);
	p = pub;
	pk = d2i_PublicKey(EVP_PKEY_RSA, NULL, &p, (long)pub_len);
	cr_assert_not_null(pk);
	c = EVP_PKEY_CTX_new(pk, NULL);
	EVP_PKEY_encrypt_init(c);
	EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_OAEP_PADDING);
	EVP_PKEY_CTX_set_rsa_oaep_md(c, EVP_sha256());
	EVP_PKEY_CTX_set_rsa_mgf1_md(c, EVP_sha256());
	EVP_PKEY_CTX_set0_rsa_oaep_label(c, OPENSSL_strdup("label"), 5);
	cr_assert_eq(EVP_PKEY_encrypt(c, ct, &ct_len, (const uint8_t *)"secret data", 11), 1);
	cr_assert_eq(asym("oaep", &e, 0, ct, ct_len, "label", &pt, &pt_len), 0);
	cr_assert_eq(pt_len, 11);
	cr_assert_arr_eq(pt, "secret data", 11);
	free(pt);
	cr_assert_eq(asym("oaep", &e, 0, ct, ct_len, "other", NULL, NULL), 1150,
	             "the label is bound to the ciphertext");
	/* The daemon's own round trip. */
	cr_assert_eq(asym("oaep", &e, 1, (const uint8_t *)"hi", 2, "", &pt, &pt_len), 0);
	cr_assert_eq(pt_len, 256);
	EVP_PKEY_CTX_free(c);
	EVP_PKEY_free(pk);
	free(pub);
	free(pt);
}

/* ---- key agreement ---- */

static int agree(const char *name, int alg, const uint8_t *peer, size_t len, uint8_t **out,
                 size_t *out_len)
{
	PsaRawKeyAgreement__Operation op = PSA_RAW_KEY_AGREEMENT__OPERATION__INIT;

	op.private_key_name = (char *)name;
	op.alg = alg;
	op.peer_key = (ProtobufCBinaryData){len, (uint8_t *)peer};
	return call(WIRE_OP_PSA_RAW_KEY_AGREEMENT, &op.base, out, out_len);
}

static void ecdh_case(int family, uint32_t bits, const char *openssl_type, const char *curve)
{
	PsaAlgorithm__Algorithm__KeyAgreement ka = PSA_ALGORITHM__ALGORITHM__KEY_AGREEMENT__INIT;
	PsaAlgorithm__Algorithm alg = PSA_ALGORITHM__ALGORITHM__INIT;
	EVP_PKEY *mine = curve ? EVP_PKEY_Q_keygen(NULL, NULL, openssl_type, curve)
	                       : EVP_PKEY_Q_keygen(NULL, NULL, openssl_type);
	EVP_PKEY *theirs = NULL;
	EVP_PKEY_CTX *c;
	uint8_t mine_pub[200], *their_pub, *secret, expect[128];
	size_t mine_len = sizeof(mine_pub), their_len, secret_len, expect_len = sizeof(expect);

	ka.variant_case = PSA_ALGORITHM__ALGORITHM__KEY_AGREEMENT__VARIANT_RAW;
	ka.raw = PSA_ALGORITHM__ALGORITHM__KEY_AGREEMENT__RAW__ECDH;
	alg.variant_case = PSA_ALGORITHM__ALGORITHM__VARIANT_KEY_AGREEMENT;
	alg.key_agreement = &ka;
	cr_assert_eq(make_key("dh", PSA_KEY_ATTRIBUTES__KEY_TYPE__VARIANT_ECC_KEY_PAIR, family,
	                      bits, U_DERIVE, &alg, NULL, 0),
	             0);
	if (curve)
		cr_assert_eq(EVP_PKEY_get_octet_string_param(mine,
		                                             OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY,
		                                             mine_pub, sizeof(mine_pub), &mine_len),
		             1);
	else
		cr_assert_eq(EVP_PKEY_get_raw_public_key(mine, mine_pub, &mine_len), 1);
	cr_assert_eq(agree("dh", PSA_ALGORITHM__ALGORITHM__KEY_AGREEMENT__RAW__ECDH, mine_pub,
	                   mine_len, &secret, &secret_len),
	             0);
	/* OpenSSL computes the same secret from the daemon's public key. */
	export_key("dh", 1, &their_pub, &their_len);
	if (curve) {
		OSSL_PARAM params[3] = {OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
		                                                         (char *)curve, 0),
		                        OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY,
		                                                          their_pub, their_len),
		                        OSSL_PARAM_construct_end()};
		EVP_PKEY_CTX *fc = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);

		EVP_PKEY_fromdata_init(fc);
		cr_assert_eq(EVP_PKEY_fromdata(fc, &theirs, EVP_PKEY_PUBLIC_KEY, params), 1);
		EVP_PKEY_CTX_free(fc);
	} else {
		theirs = EVP_PKEY_new_raw_public_key_ex(NULL, openssl_type, NULL, their_pub,
		                                        their_len);
	}
	c = EVP_PKEY_CTX_new(mine, NULL);
	EVP_PKEY_derive_init(c);
	cr_assert_eq(EVP_PKEY_derive_set_peer(c, theirs), 1);
	cr_assert_eq(EVP_PKEY_derive(c, expect, &expect_len), 1);
	cr_assert_eq(secret_len, expect_len);
	cr_assert_arr_eq(secret, expect, secret_len);
	/* FFDH is a different algorithm from the policy's ECDH. */
	cr_assert_eq(agree("dh", PSA_ALGORITHM__ALGORITHM__KEY_AGREEMENT__RAW__FFDH, mine_pub,
	                   mine_len, NULL, NULL),
	             1133);
	EVP_PKEY_CTX_free(c);
	EVP_PKEY_free(mine);
	EVP_PKEY_free(theirs);
	free(their_pub);
	free(secret);
}

Test(crypt, ecdh_p256_matches_openssl)
{
	ecdh_case(PSA_KEY_ATTRIBUTES__KEY_TYPE__ECC_FAMILY__SECP_R1, 256, "EC", "prime256v1");
}

Test(crypt, ecdh_on_a_koblitz_binary_curve_matches_openssl)
{
	ecdh_case(PSA_KEY_ATTRIBUTES__KEY_TYPE__ECC_FAMILY__SECT_K1, 283, "EC", "sect283k1");
}

Test(crypt, ecdh_on_a_random_binary_curve_matches_openssl)
{
	ecdh_case(PSA_KEY_ATTRIBUTES__KEY_TYPE__ECC_FAMILY__SECT_R1, 571, "EC", "sect571r1");
}

Test(crypt, x25519_matches_openssl)
{
	ecdh_case(PSA_KEY_ATTRIBUTES__KEY_TYPE__ECC_FAMILY__MONTGOMERY, 255, "X25519", NULL);
}

/* ---- CanDoCrypto ---- */

/* usage: sign_hash and verify_hash, unless `bare` (no usage flag). */
static int can_do_usage(int check, int type, int family, uint32_t bits,
                        PsaAlgorithm__Algorithm *alg, int auth, bool bare);

static int can_do(int check, int type, int family, uint32_t bits, PsaAlgorithm__Algorithm *alg,
                  int auth)
{
	return can_do_usage(check, type, family, bits, alg, auth, false);
}

static int can_do_usage(int check, int type, int family, uint32_t bits,
                        PsaAlgorithm__Algorithm *alg, int auth, bool bare)
{
	PsaKeyAttributes__KeyAttributes a = PSA_KEY_ATTRIBUTES__KEY_ATTRIBUTES__INIT;
	PsaKeyAttributes__KeyType t = PSA_KEY_ATTRIBUTES__KEY_TYPE__INIT;
	PsaKeyAttributes__KeyType__EccKeyPair ecc =
	        PSA_KEY_ATTRIBUTES__KEY_TYPE__ECC_KEY_PAIR__INIT;
	PsaKeyAttributes__KeyType__EccPublicKey eccp =
	        PSA_KEY_ATTRIBUTES__KEY_TYPE__ECC_PUBLIC_KEY__INIT;
	PsaKeyAttributes__KeyType__Aes empty = PSA_KEY_ATTRIBUTES__KEY_TYPE__AES__INIT;
	PsaKeyAttributes__KeyPolicy pol = PSA_KEY_ATTRIBUTES__KEY_POLICY__INIT;
	PsaKeyAttributes__UsageFlags u = PSA_KEY_ATTRIBUTES__USAGE_FLAGS__INIT;
	CanDoCrypto__Operation op = CAN_DO_CRYPTO__OPERATION__INIT;
	uint8_t buf[512];
	size_t n;

	t.variant_case = type;
	ecc.curve_family = family;
	eccp.curve_family = family;
	t.aes = (void *)&empty;
	if (type == PSA_KEY_ATTRIBUTES__KEY_TYPE__VARIANT_ECC_KEY_PAIR)
		t.ecc_key_pair = &ecc;
	if (type == PSA_KEY_ATTRIBUTES__KEY_TYPE__VARIANT_ECC_PUBLIC_KEY)
		t.ecc_public_key = &eccp;
	u.sign_hash = !bare;
	u.verify_hash = !bare;
	u.encrypt = !bare;
	u.sign_hash = !bare;
	u.verify_hash = !bare;
	u.encrypt = !bare;
	pol.key_usage_flags = &u;
	pol.key_algorithm = alg;
	a.key_type = &t;
	a.key_bits = bits;
	a.key_policy = &pol;
	op.check_type = check;
	op.attributes = &a;
	n = can_do_crypto__operation__pack(&op, buf);
	return td_call(&d, WIRE_OP_CAN_DO_CRYPTO, 1, auth ? 1 : 0, buf, n, auth ? "carol" : NULL,
	               auth ? 5 : 0, NULL);
}

Test(crypt, can_do_crypto_answers_by_status)
{
	PsaAlgorithm__Algorithm__AsymmetricSignature__SignHash sh =
	        PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_SIGNATURE__SIGN_HASH__INIT;
	PsaAlgorithm__Algorithm__AsymmetricSignature__Ecdsa e =
	        PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_SIGNATURE__ECDSA__INIT;
	PsaAlgorithm__Algorithm__AsymmetricSignature s =
	        PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_SIGNATURE__INIT;
	PsaAlgorithm__Algorithm ecdsa = PSA_ALGORITHM__ALGORITHM__INIT;
	PsaAlgorithm__Algorithm__Aead gcm = aead_alg(2);
	PsaAlgorithm__Algorithm aes_gcm = PSA_ALGORITHM__ALGORITHM__INIT;
	PsaAlgorithm__Algorithm none = PSA_ALGORITHM__ALGORITHM__INIT;
	PsaAlgorithm__Algorithm__None none_v = PSA_ALGORITHM__ALGORITHM__NONE__INIT;
	const int ECC = PSA_KEY_ATTRIBUTES__KEY_TYPE__VARIANT_ECC_KEY_PAIR;
	const int ECCP = PSA_KEY_ATTRIBUTES__KEY_TYPE__VARIANT_ECC_PUBLIC_KEY;
	const int R1 = PSA_KEY_ATTRIBUTES__KEY_TYPE__ECC_FAMILY__SECP_R1;
	const int AES = PSA_KEY_ATTRIBUTES__KEY_TYPE__VARIANT_AES;

	sh.variant_case =
	        PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_SIGNATURE__SIGN_HASH__VARIANT_SPECIFIC;
	sh.specific = PSA_ALGORITHM__ALGORITHM__HASH__SHA_256;
	e.hash_alg = &sh;
	s.variant_case = PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_SIGNATURE__VARIANT_ECDSA;
	s.ecdsa = &e;
	ecdsa.variant_case = PSA_ALGORITHM__ALGORITHM__VARIANT_ASYMMETRIC_SIGNATURE;
	ecdsa.asymmetric_signature = &s;
	aes_gcm.variant_case = PSA_ALGORITHM__ALGORITHM__VARIANT_AEAD;
	aes_gcm.aead = &gcm;
	none.variant_case = PSA_ALGORITHM__ALGORITHM__VARIANT_NONE;
	none.none = &none_v;

	cr_assert_eq(can_do(2, ECC, R1, 256, &ecdsa, 1), 0, "generate P-256 ECDSA");
	cr_assert_eq(can_do(1, ECC, R1, 0, &ecdsa, 1), 0, "bits 0: any size");
	cr_assert_eq(can_do(2, ECC, R1, 255, &ecdsa, 1), 1134, "no such curve");
	cr_assert_eq(can_do(2, ECCP, R1, 256, &ecdsa, 1), 1134, "public keys are not generated");
	cr_assert_eq(can_do(3, ECCP, R1, 256, &ecdsa, 1), 0, "but imported");
	/* As Parsec's crypto_capability.rs answers: every "no" is NotSupported. */
	cr_assert_eq(can_do(1, AES, 0, 256, &ecdsa, 1), 1134, "ECDSA does not fit an AES key");
	cr_assert_eq(can_do(2, AES, 0, 256, &ecdsa, 1), 1134, "nor when generating one");
	cr_assert_eq(can_do_usage(1, ECC, R1, 256, &ecdsa, 1, true), 1134,
	             "a use check needs a usage flag that uses the key");
	cr_assert_eq(can_do_usage(2, ECC, R1, 256, &ecdsa, 1, true), 1134,
	             "so does a generate check whose policy names an algorithm");
	cr_assert_eq(can_do(1, ECC, R1, 256, &none, 1), 1134, "a use check needs an algorithm");
	cr_assert_eq(can_do_usage(2, ECC, R1, 256, &none, 1, true), 0,
	             "a generate check without one asks only about the key");
	cr_assert_eq(can_do(1, ECC, PSA_KEY_ATTRIBUTES__KEY_TYPE__ECC_FAMILY__MONTGOMERY, 255,
	                    &ecdsa, 1),
	             1134, "ECDSA on a Montgomery curve");
	cr_assert_eq(can_do(2, AES, 0, 256, &aes_gcm, 1), 0);
	cr_assert_eq(can_do(2, AES, 0, 100, &aes_gcm, 1), 1134);
	cr_assert_eq(can_do(4, AES, 0, 256, &aes_gcm, 1), 1134, "no derivation");
	cr_assert_eq(can_do(0, ECC, R1, 256, &ecdsa, 1), 16, "check type NONE");
	cr_assert_eq(can_do(2, ECC, R1, 256, &ecdsa, 0), 19, "needs an identity");
}

/* ---- hashing (no key, no identity needed) ---- */

Test(crypt, hash_compute_and_compare_match_openssl)
{
	static const struct {
		int alg;
		const char *md;
	} cases[] = {
	        {PSA_ALGORITHM__ALGORITHM__HASH__SHA_256, "SHA256"},
	        {PSA_ALGORITHM__ALGORITHM__HASH__SHA_384, "SHA384"},
	        {PSA_ALGORITHM__ALGORITHM__HASH__SHA_512, "SHA512"},
	        {PSA_ALGORITHM__ALGORITHM__HASH__SHA3_256, "SHA3-256"},
	        {PSA_ALGORITHM__ALGORITHM__HASH__RIPEMD160, "RIPEMD160"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		PsaHashCompute__Operation op = PSA_HASH_COMPUTE__OPERATION__INIT;
		PsaHashCompare__Operation cmp = PSA_HASH_COMPARE__OPERATION__INIT;
		PsaHashCompute__Result *res;
		uint8_t buf[256], expect[64];
		unsigned elen;
		size_t n;
		struct td_resp r;
		EVP_MD *md = EVP_MD_fetch(NULL, cases[i].md, NULL);

		op.alg = cases[i].alg;
		op.input = (ProtobufCBinaryData){9, (uint8_t *)"some text"};
		n = psa_hash_compute__operation__pack(&op, buf);
		cr_assert_eq(td_call(&d, WIRE_OP_PSA_HASH_COMPUTE, 1, 0, buf, n, NULL, 0, &r), 0,
		             "%s", cases[i].md);
		res = psa_hash_compute__result__unpack(NULL, r.body_len, r.body);
		cr_assert_not_null(res);
		cr_assert_not_null(md, "%s", cases[i].md);
		EVP_Digest("some text", 9, expect, &elen, md, NULL);
		cr_assert_eq(res->hash.len, elen);
		cr_assert_arr_eq(res->hash.data, expect, elen, "%s", cases[i].md);
		psa_hash_compute__result__free_unpacked(res, NULL);
		td_resp_free(&r);

		cmp.alg = cases[i].alg;
		cmp.input = op.input;
		cmp.hash = (ProtobufCBinaryData){elen, expect};
		n = psa_hash_compare__operation__pack(&cmp, buf);
		cr_assert_eq(td_call(&d, WIRE_OP_PSA_HASH_COMPARE, 1, 0, buf, n, NULL, 0, NULL), 0);
		expect[0] ^= 1;
		n = psa_hash_compare__operation__pack(&cmp, buf);
		cr_assert_eq(td_call(&d, WIRE_OP_PSA_HASH_COMPARE, 1, 0, buf, n, NULL, 0, NULL),
		             1149);
		EVP_MD_free(md);
	}
	{
		PsaHashCompute__Operation op = PSA_HASH_COMPUTE__OPERATION__INIT;
		uint8_t buf[64];
		size_t n;

		op.alg = PSA_ALGORITHM__ALGORITHM__HASH__HASH_NONE;
		n = psa_hash_compute__operation__pack(&op, buf);
		cr_assert_eq(td_call(&d, WIRE_OP_PSA_HASH_COMPUTE, 1, 0, buf, n, NULL, 0, NULL),
		             16);
		op.alg = PSA_ALGORITHM__ALGORITHM__HASH__MD2;
		n = psa_hash_compute__operation__pack(&op, buf);
		cr_assert_eq(td_call(&d, WIRE_OP_PSA_HASH_COMPUTE, 1, 0, buf, n, NULL, 0, NULL),
		             1134, "MD2 is not in OpenSSL 3's default provider");
	}
}

Test(crypt, ffdh_2048_matches_openssl)
{
	PsaAlgorithm__Algorithm__KeyAgreement ka = PSA_ALGORITHM__ALGORITHM__KEY_AGREEMENT__INIT;
	PsaAlgorithm__Algorithm alg = PSA_ALGORITHM__ALGORITHM__INIT;
	PsaKeyAttributes__KeyAttributes a = PSA_KEY_ATTRIBUTES__KEY_ATTRIBUTES__INIT;
	PsaKeyAttributes__KeyType t = PSA_KEY_ATTRIBUTES__KEY_TYPE__INIT;
	PsaKeyAttributes__KeyType__DhKeyPair dh = PSA_KEY_ATTRIBUTES__KEY_TYPE__DH_KEY_PAIR__INIT;
	PsaKeyAttributes__KeyPolicy pol = PSA_KEY_ATTRIBUTES__KEY_POLICY__INIT;
	PsaKeyAttributes__UsageFlags u = PSA_KEY_ATTRIBUTES__USAGE_FLAGS__INIT;
	PsaGenerateKey__Operation op = PSA_GENERATE_KEY__OPERATION__INIT;
	OSSL_PARAM gp[2] = {
	        OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, "ffdhe2048", 0),
	        OSSL_PARAM_construct_end()};
	EVP_PKEY_CTX *gc = EVP_PKEY_CTX_new_from_name(NULL, "DH", NULL);
	EVP_PKEY *mine = NULL, *theirs = NULL;
	BIGNUM *y = NULL;
	uint8_t my_pub[256], *their_pub, *secret, expect[256];
	size_t their_len, secret_len, expect_len = sizeof(expect);
	EVP_PKEY_CTX *c, *fc;

	ka.variant_case = PSA_ALGORITHM__ALGORITHM__KEY_AGREEMENT__VARIANT_RAW;
	ka.raw = PSA_ALGORITHM__ALGORITHM__KEY_AGREEMENT__RAW__FFDH;
	alg.variant_case = PSA_ALGORITHM__ALGORITHM__VARIANT_KEY_AGREEMENT;
	alg.key_agreement = &ka;
	t.variant_case = PSA_KEY_ATTRIBUTES__KEY_TYPE__VARIANT_DH_KEY_PAIR;
	t.dh_key_pair = &dh; /* RFC 7919 is family 0 */
	u.derive = 1;
	pol.key_usage_flags = &u;
	pol.key_algorithm = &alg;
	a.key_type = &t;
	a.key_bits = 2048;
	a.key_policy = &pol;
	op.key_name = "ffdh";
	op.attributes = &a;
	cr_assert_eq(call(WIRE_OP_PSA_GENERATE_KEY, &op.base, NULL, NULL), 0);
	export_key("ffdh", 1, &their_pub, &their_len);
	cr_assert_eq(their_len, 256, "y is as long as the modulus");

	/* OpenSSL's own key on the same group. */
	cr_assert_eq(EVP_PKEY_keygen_init(gc), 1);
	cr_assert_eq(EVP_PKEY_CTX_set_params(gc, gp), 1);
	cr_assert_eq(EVP_PKEY_generate(gc, &mine), 1);
	cr_assert_eq(EVP_PKEY_get_bn_param(mine, OSSL_PKEY_PARAM_PUB_KEY, &y), 1);
	cr_assert_eq(BN_bn2binpad(y, my_pub, 256), 256);
	cr_assert_eq(agree("ffdh", PSA_ALGORITHM__ALGORITHM__KEY_AGREEMENT__RAW__FFDH, my_pub, 256,
	                   &secret, &secret_len),
	             0);
	cr_assert_eq(secret_len, 256, "padded to the modulus length");

	{
		BIGNUM *ty = BN_bin2bn(their_pub, (int)their_len, NULL);
		OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
		OSSL_PARAM *ps;

		OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "ffdhe2048", 0);
		OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PUB_KEY, ty);
		ps = OSSL_PARAM_BLD_to_param(bld);
		fc = EVP_PKEY_CTX_new_from_name(NULL, "DH", NULL);
		cr_assert_eq(EVP_PKEY_fromdata_init(fc), 1);
		cr_assert_eq(EVP_PKEY_fromdata(fc, &theirs, EVP_PKEY_PUBLIC_KEY, ps), 1);
		OSSL_PARAM_free(ps);
		OSSL_PARAM_BLD_free(bld);
		BN_free(ty);
		EVP_PKEY_CTX_free(fc);
	}
	c = EVP_PKEY_CTX_new(mine, NULL);
	EVP_PKEY_derive_init(c);
	EVP_PKEY_CTX_set_dh_pad(c, 1);
	cr_assert_eq(EVP_PKEY_derive_set_peer(c, theirs), 1);
	cr_assert_eq(EVP_PKEY_derive(c, expect, &expect_len), 1);
	cr_assert_eq(expect_len, secret_len);
	cr_assert_arr_eq(secret, expect, secret_len, "both sides agree");
	/* A peer value out of range is refused. */
	memset(my_pub, 0, sizeof(my_pub));
	my_pub[255] = 1;
	cr_assert_eq(agree("ffdh", PSA_ALGORITHM__ALGORITHM__KEY_AGREEMENT__RAW__FFDH, my_pub, 256,
	                   NULL, NULL),
	             1135);
	EVP_PKEY_CTX_free(c);
	EVP_PKEY_CTX_free(gc);
	EVP_PKEY_free(mine);
	EVP_PKEY_free(theirs);
	BN_free(y);
	free(their_pub);
	free(secret);
}

Test(crypt, x448_matches_openssl)
{
	ecdh_case(PSA_KEY_ATTRIBUTES__KEY_TYPE__ECC_FAMILY__MONTGOMERY, 448, "X448", NULL);
}
