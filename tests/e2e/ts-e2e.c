/* The Trusted Services end-to-end tests' shared parts (ts-e2e.h). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>

#include "ts-e2e.h"
#include "tests/tsfake/tsfake.h"

struct td d;
struct tessera_client *c;
char store_dir[64];
char store[128];

struct tessera_client *client_as(const char *app)
{
	struct tessera_options o;
	struct tessera_client *cl;
	static char ep[160];

	tessera_options_init(&o);
	snprintf(ep, sizeof(ep), "unix:%s", d.sock);
	o.endpoint = ep;
	o.auth_type = TESSERA_AUTH_DIRECT;
	o.app_name = app;
	/* RSA key generation under valgrind on a loaded machine takes long. */
	o.timeout_ms = (unsigned)td_scale(60000);
	cr_assert_eq(tessera_open(&o, &cl), TESSERA_OK);
	return cl;
}

void make_store(void)
{
	strcpy(store_dir, "/tmp/tsfake.XXXXXX");
	cr_assert_not_null(mkdtemp(store_dir));
	snprintf(store, sizeof(store), "%s/partition.keys", store_dir);
	cr_assert_eq(setenv("TSFAKE_STORE", store, 1), 0);
	unsetenv("TSFAKE_FAULT");
}

void remove_store(void)
{
	char tmp[160];

	unlink(store);
	snprintf(tmp, sizeof(tmp), "%s.tmp", store);
	unlink(tmp);
	snprintf(tmp, sizeof(tmp), "%s.purges", store);
	unlink(tmp);
	rmdir(store_dir);
}

void ts_teardown(void)
{
	tessera_close(c);
	c = NULL;
	cr_assert_eq(td_stop(&d), 0);
	remove_store();
}

const struct tessera_key_spec p256 = {.type = "ecc",
                                      .bits = 256,
                                      .alg = "ecdsa-sha256",
                                      .usage = TESSERA_USAGE_SIGN_HASH | TESSERA_USAGE_VERIFY_HASH |
                                               TESSERA_USAGE_SIGN_MESSAGE |
                                               TESSERA_USAGE_VERIFY_MESSAGE};

void sha(const EVP_MD *md, const void *msg, size_t len, uint8_t *out, size_t *ret_len)
{
	unsigned n;

	cr_assert_eq(EVP_Digest(msg, len, out, &n, md, NULL), 1);
	*ret_len = n;
}

EVP_PKEY *ec_public(const char *curve, const uint8_t *point, size_t len)
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

/* OpenSSL's verdict on a raw r || s signature of h. */
int openssl_ecdsa_ok(EVP_PKEY *pk, const uint8_t *h, size_t hlen, const uint8_t *rs, size_t rslen)
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

EVP_PKEY *exported_ec(struct tessera_client *cl, const char *name, const char *curve)
{
	uint8_t *pub;
	size_t len;
	EVP_PKEY *pk;

	cr_assert_eq(tessera_export_public_key(cl, TS, name, &pub, &len), TESSERA_OK);
	cr_assert_eq(pub[0], 0x04, "an uncompressed point");
	pk = ec_public(curve, pub, len);
	free(pub);
	return pk;
}

void ecdsa_round_trip(uint32_t bits, const char *alg, const EVP_MD *md, const char *curve)
{
	struct tessera_key_spec s = {.type = "ecc",
	                             .bits = bits,
	                             .alg = alg,
	                             .usage = TESSERA_USAGE_SIGN_HASH | TESSERA_USAGE_VERIFY_HASH};
	uint8_t h[64], *sig;
	size_t hlen, siglen;
	EVP_PKEY *pk;

	cr_assert_eq(tessera_generate_key(c, TS, "ec", &s), TESSERA_OK);
	sha(md, "hello secure world", 18, h, &hlen);
	cr_assert_eq(tessera_sign_hash(c, TS, "ec", alg, h, hlen, &sig, &siglen), TESSERA_OK);
	cr_assert_eq(siglen, 2 * ((bits + 7) / 8));
	pk = exported_ec(c, "ec", curve);
	cr_assert(openssl_ecdsa_ok(pk, h, hlen, sig, siglen), "OpenSSL accepts the signature");
	cr_assert_eq(tessera_verify_hash(c, TS, "ec", alg, h, hlen, sig, siglen), TESSERA_OK);
	sig[3] ^= 0x40;
	cr_assert_eq(tessera_verify_hash(c, TS, "ec", alg, h, hlen, sig, siglen), 1149);
	EVP_PKEY_free(pk);
	free(sig);
}

void openssl_cipher(const char *name, int enc, const uint8_t *key, const uint8_t *iv,
                    const uint8_t *ad, size_t ad_len, const uint8_t *in, size_t len, uint8_t *out,
                    size_t *ret_len, uint8_t *tag)
{
	EVP_CIPHER *ciph = EVP_CIPHER_fetch(NULL, name, NULL);
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int n = 0, m = 0;

	cr_assert_not_null(ciph);
	cr_assert_eq(EVP_CipherInit_ex2(ctx, ciph, key, iv, enc, NULL), 1);
	if (ad != NULL)
		cr_assert_eq(EVP_CipherUpdate(ctx, NULL, &n, ad, (int)ad_len), 1);
	if (tag != NULL && !enc)
		cr_assert_eq(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, 16, tag), 1);
	cr_assert_eq(EVP_CipherUpdate(ctx, out, &n, in, (int)len), 1);
	cr_assert_eq(EVP_CipherFinal_ex(ctx, out + n, &m), 1);
	if (tag != NULL && enc)
		cr_assert_eq(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, 16, tag), 1);
	*ret_len = (size_t)(n + m);
	EVP_CIPHER_CTX_free(ctx);
	EVP_CIPHER_free(ciph);
}

void import_sym(const char *name, const char *type, const char *alg, const uint8_t *key, size_t len)
{
	struct tessera_key_spec s = {.type = type,
	                             .bits = 0,
	                             .alg = alg,
	                             .usage = TESSERA_USAGE_ENCRYPT | TESSERA_USAGE_DECRYPT |
	                                      TESSERA_USAGE_SIGN_MESSAGE |
	                                      TESSERA_USAGE_VERIFY_MESSAGE |
	                                      TESSERA_USAGE_SIGN_HASH | TESSERA_USAGE_VERIFY_HASH};

	cr_assert_eq(tessera_import_key(c, TS, name, &s, key, len), TESSERA_OK);
}

void aead_matches_openssl(const char *type, const char *alg, const char *ossl, size_t len)
{
	static uint8_t key[32], nonce[12], ad[3000], pt[100000], ct[100016], back[100016];
	uint8_t *out = NULL, *plain = NULL, tag[16];
	size_t out_len = 0, plain_len = 0, n;
	int rc;

	for (size_t i = 0; i < sizeof(pt); i++)
		pt[i] = (uint8_t)(i * 7);
	memset(key, 0x21, sizeof(key));
	memset(nonce, 0x42, sizeof(nonce));
	memset(ad, 0x63, sizeof(ad));
	import_sym("aead", type, alg, key, 32);
	rc = tessera_aead_encrypt(c, TS, "aead", alg, nonce, 12, ad, sizeof(ad), pt, len, &out,
	                          &out_len);
	cr_assert_eq(rc, TESSERA_OK, "%d %s", rc, tessera_strerror(rc));
	cr_assert_eq(out_len, len + 16);
	openssl_cipher(ossl, 1, key, nonce, ad, sizeof(ad), pt, len, ct, &n, tag);
	cr_assert_eq(n, len);
	cr_assert_eq(memcmp(out, ct, len), 0, "the partition's ciphertext is OpenSSL's");
	cr_assert_eq(memcmp(out + len, tag, 16), 0, "and so is its tag");
	/* OpenSSL's ciphertext decrypted in the partition, and a flipped bit refused. */
	memcpy(back, ct, len);
	memcpy(back + len, tag, 16);
	cr_assert_eq(tessera_aead_decrypt(c, TS, "aead", alg, nonce, 12, ad, sizeof(ad), back,
	                                  len + 16, &plain, &plain_len),
	             TESSERA_OK);
	cr_assert_eq(plain_len, len);
	cr_assert_eq(memcmp(plain, pt, len), 0);
	free(plain);
	back[len / 2] ^= 1;
	cr_assert_eq(tessera_aead_decrypt(c, TS, "aead", alg, nonce, 12, ad, sizeof(ad), back,
	                                  len + 16, &plain, &plain_len),
	             1149);
	free(out);
}

/* ---- AES-CCM by OpenSSL, one-shot (it cannot stream CCM) ---- */

bool openssl_ccm(int enc, const uint8_t *key, size_t key_len, const uint8_t *nonce,
                 size_t nonce_len, const uint8_t *ad, size_t ad_len, const uint8_t *in, size_t len,
                 uint8_t *out, uint8_t *tag, size_t tag_len)
{
	char name[24];
	EVP_CIPHER *ciph;
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int n = 0;
	bool ok;

	snprintf(name, sizeof(name), "AES-%zu-CCM", key_len * 8);
	ciph = EVP_CIPHER_fetch(NULL, name, NULL);
	cr_assert_not_null(ciph);
	cr_assert_eq(EVP_CipherInit_ex2(ctx, ciph, NULL, NULL, enc, NULL), 1);
	cr_assert_eq(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_IVLEN, (int)nonce_len, NULL), 1);
	cr_assert_eq(
	        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, (int)tag_len, enc ? NULL : tag), 1);
	cr_assert_eq(EVP_CipherInit_ex2(ctx, NULL, key, nonce, enc, NULL), 1);
	cr_assert_eq(EVP_CipherUpdate(ctx, NULL, &n, NULL, (int)len), 1); /* the length first */
	if (ad_len > 0)
		cr_assert_eq(EVP_CipherUpdate(ctx, NULL, &n, ad, (int)ad_len), 1);
	ok = EVP_CipherUpdate(ctx, out, &n, in, (int)len) == 1;
	if (ok && enc)
		cr_assert_eq(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, (int)tag_len, tag), 1);
	EVP_CIPHER_CTX_free(ctx);
	EVP_CIPHER_free(ciph);
	return ok;
}

void ts_preload_tee(void)
{
	const char *asan = getenv("ASAN_OPTIONS");
	char opts[512];

	/* Only the daemon (a child) gets the emulated device. In the ASan
	 * build the preloaded library comes before ASan's runtime, which
	 * ASan refuses unless told that the order is intended. */
	if (asan != NULL && strstr(asan, "verify_asan_link_order") == NULL) {
		snprintf(opts, sizeof(opts), "%s:verify_asan_link_order=0", asan);
		cr_assert_eq(setenv("ASAN_OPTIONS", opts, 1), 0);
	}
	cr_assert_eq(setenv("LD_PRELOAD", FAKE_TEE, 1), 0);
	cr_assert_eq(setenv("TSFAKE_TEE", "1", 1), 0);
}

/* The PURGE_KEY calls the endpoint served on the store (tsfake.h). */
unsigned fake_purges(void)
{
	return tsfake_purges_in(store);
}
