/*
 * The Trusted Services provider end to end: the real tesserad with the
 * provider's libts transport loading the test endpoint's libts stand-in
 * (tests/tsfake), whose persistent keys are kept in a file of the test's
 * own directory as a secure partition keeps them across daemon restarts.
 * Results are checked independently with OpenSSL on the exported public
 * keys.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "ts-e2e.h"

/* TS_LIBTS names a libts built elsewhere (Trusted Services' linux-pc build,
 * which carries the real crypto service on Mbed TLS) to run the suite
 * against instead of the stand-in; tests that need the stand-in's store or
 * fault switch, or keys that outlive the process, are skipped then. */
static const char *libts_under_test(void)
{
	const char *v = getenv("TS_LIBTS");

	return v != NULL && v[0] != '\0' ? v : FAKE_LIBTS;
}

static bool on_fake(void)
{
	return strcmp(libts_under_test(), FAKE_LIBTS) == 0;
}

/* A skipped test does not reach the suite's fini: it cleans up first. */
#define NEEDS_FAKE()                                                                          \
	do {                                                                                  \
		if (!on_fake()) {                                                             \
			ts_teardown();                                                        \
			cr_skip_test("needs the test endpoint's stand-in (TS_LIBTS is set)"); \
		}                                                                             \
	} while (0)

/* TS_TRANSPORT=tstee (the meson test ts_tee) runs the same suite through the
 * provider's tstee transport: tesserad's ioctl code on /dev/tee0, emulated
 * by libtsfake-tee.so preloaded into the daemon, in front of the same test
 * endpoint. */
static bool over_tee(void)
{
	const char *v = getenv("TS_TRANSPORT");

	return v != NULL && strcmp(v, "tstee") == 0;
}

static void setup(void)
{
	static char config[1024];

	make_store();
	if (over_tee()) {
		ts_preload_tee();
		snprintf(config, sizeof(config),
		         "%s \"providers\": [{\"type\": \"TrustedService\", \"transport\": "
		         "\"tstee\", \"device\": \"/dev/tee0\"}, {\"type\": \"Software\"}]}",
		         CONFIG_HEAD);
	} else {
		/* The head is an argument, so its "%1$s" reaches the harness as it is. */
		snprintf(config, sizeof(config),
		         "%s \"providers\": [{\"type\": \"TrustedService\", \"transport\": "
		         "\"libts\", \"libts_path\": \"%s\"}, {\"type\": \"Software\"}]}",
		         CONFIG_HEAD, libts_under_test());
	}
	td_start(&d, config);
	c = client_as("alice");
}

TestSuite(ts, .init = setup, .fini = ts_teardown, .timeout = 600);

Test(ts, a_p256_key_made_in_the_partition_signs_what_openssl_verifies)
{
	ecdsa_round_trip(256, "ecdsa-sha256", EVP_sha256(), "prime256v1");
}

Test(ts, a_p384_key_signs_what_openssl_verifies)
{
	ecdsa_round_trip(384, "ecdsa-sha384", EVP_sha384(), "secp384r1");
}

static EVP_PKEY *exported_rsa(const char *name)
{
	uint8_t *pub;
	const uint8_t *p;
	size_t len;
	EVP_PKEY *pk;

	cr_assert_eq(tessera_export_public_key(c, TS, name, &pub, &len), TESSERA_OK);
	p = pub;
	pk = d2i_PublicKey(EVP_PKEY_RSA, NULL, &p, (long)len);
	cr_assert_not_null(pk, "DER RSAPublicKey");
	free(pub);
	return pk;
}

static void rsa_sign_round_trip(const char *alg, int padding)
{
	struct tessera_key_spec s = {.type = "rsa",
	                             .bits = 2048,
	                             .alg = alg,
	                             .usage = TESSERA_USAGE_SIGN_HASH | TESSERA_USAGE_VERIFY_HASH};
	uint8_t h[64], *sig;
	size_t hlen, siglen;
	EVP_PKEY *pk;
	EVP_PKEY_CTX *ctx;

	cr_assert_eq(tessera_generate_key(c, TS, "rsa", &s), TESSERA_OK);
	sha(EVP_sha256(), "rsa in the partition", 20, h, &hlen);
	cr_assert_eq(tessera_sign_hash(c, TS, "rsa", alg, h, hlen, &sig, &siglen), TESSERA_OK);
	cr_assert_eq(siglen, 256);
	pk = exported_rsa("rsa");
	ctx = EVP_PKEY_CTX_new(pk, NULL);
	EVP_PKEY_verify_init(ctx);
	EVP_PKEY_CTX_set_rsa_padding(ctx, padding);
	EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256());
	if (padding == RSA_PKCS1_PSS_PADDING)
		EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, RSA_PSS_SALTLEN_AUTO);
	cr_assert_eq(EVP_PKEY_verify(ctx, sig, siglen, h, hlen), 1);
	cr_assert_eq(tessera_verify_hash(c, TS, "rsa", alg, h, hlen, sig, siglen), TESSERA_OK);
	sig[0] ^= 1;
	cr_assert_eq(tessera_verify_hash(c, TS, "rsa", alg, h, hlen, sig, siglen), 1149);
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(pk);
	free(sig);
}

Test(ts, rsa_2048_pkcs1v15_signature_verifies_in_openssl)
{
	rsa_sign_round_trip("rsa-pkcs1-sha256", RSA_PKCS1_PADDING);
}

Test(ts, rsa_2048_pss_signature_verifies_in_openssl)
{
	rsa_sign_round_trip("rsa-pss-sha256", RSA_PKCS1_PSS_PADDING);
}

Test(ts, openssl_ciphertext_is_decrypted_in_the_partition)
{
	struct tessera_key_spec s = {.type = "rsa",
	                             .bits = 2048,
	                             .alg = "rsa-oaep-sha256",
	                             .usage = TESSERA_USAGE_ENCRYPT | TESSERA_USAGE_DECRYPT};
	static const char secret[] = "sealed for the secure world";
	uint8_t ct[256], *pt, *ct2;
	size_t ctlen = sizeof(ct), ptlen, ct2len;
	EVP_PKEY *pk;
	EVP_PKEY_CTX *ctx;

	cr_assert_eq(tessera_generate_key(c, TS, "oaep", &s), TESSERA_OK);
	pk = exported_rsa("oaep");
	ctx = EVP_PKEY_CTX_new(pk, NULL);
	cr_assert_eq(EVP_PKEY_encrypt_init(ctx), 1);
	EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING);
	EVP_PKEY_CTX_set_rsa_oaep_md(ctx, EVP_sha256());
	EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, EVP_sha256());
	cr_assert_eq(EVP_PKEY_encrypt(ctx, ct, &ctlen, (const uint8_t *)secret, strlen(secret)), 1);
	cr_assert_eq(tessera_asymmetric_decrypt(c, TS, "oaep", "rsa-oaep-sha256", ct, ctlen, NULL,
	                                        0, &pt, &ptlen),
	             TESSERA_OK);
	cr_assert_eq(ptlen, strlen(secret));
	cr_assert_eq(memcmp(pt, secret, ptlen), 0);
	free(pt);
	/* And the other way: encrypted in the partition, decrypted there. */
	cr_assert_eq(tessera_asymmetric_encrypt(c, TS, "oaep", "rsa-oaep-sha256",
	                                        (const uint8_t *)secret, strlen(secret), NULL, 0,
	                                        &ct2, &ct2len),
	             TESSERA_OK);
	cr_assert_eq(ct2len, 256);
	cr_assert_eq(tessera_asymmetric_decrypt(c, TS, "oaep", "rsa-oaep-sha256", ct2, ct2len, NULL,
	                                        0, &pt, &ptlen),
	             TESSERA_OK);
	cr_assert_eq(memcmp(pt, secret, ptlen), 0);
	free(pt);
	free(ct2);
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(pk);
}

Test(ts, a_long_message_is_hashed_in_the_daemon_and_signed_as_a_hash)
{
	/* Over the service's 64-byte SIGN_MESSAGE cap. */
	uint8_t msg[3000], h[32], *sig;
	size_t hlen, siglen;
	EVP_PKEY *pk;

	memset(msg, 'm', sizeof(msg));
	cr_assert_eq(tessera_generate_key(c, TS, "msg", &p256), TESSERA_OK);
	cr_assert_eq(
	        tessera_sign_message(c, TS, "msg", "ecdsa-sha256", msg, sizeof(msg), &sig, &siglen),
	        TESSERA_OK);
	sha(EVP_sha256(), msg, sizeof(msg), h, &hlen);
	pk = exported_ec(c, "msg", "prime256v1");
	cr_assert(openssl_ecdsa_ok(pk, h, hlen, sig, siglen));
	cr_assert_eq(
	        tessera_verify_message(c, TS, "msg", "ecdsa-sha256", msg, sizeof(msg), sig, siglen),
	        TESSERA_OK);
	EVP_PKEY_free(pk);
	free(sig);
}

Test(ts, an_imported_public_key_verifies_an_openssl_signature)
{
	struct tessera_key_spec s = {.type = "ecc",
	                             .bits = 0,
	                             .alg = "ecdsa-sha256",
	                             .usage = TESSERA_USAGE_VERIFY_HASH};
	EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "prime256v1");
	uint8_t point[65], h[32], der[80], rs[64];
	const uint8_t *p = der;
	size_t plen = 0, hlen, dlen = sizeof(der);
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(pk, NULL);
	ECDSA_SIG *sig;
	const BIGNUM *r, *ss;

	cr_assert_not_null(pk);
	cr_assert_eq(EVP_PKEY_get_octet_string_param(pk, OSSL_PKEY_PARAM_PUB_KEY, point,
	                                             sizeof(point), &plen),
	             1);
	/* Verify-only: the client imports it as a public key. */
	cr_assert_eq(tessera_import_key(c, TS, "pub", &s, point, plen), TESSERA_OK);
	sha(EVP_sha256(), "from outside", 12, h, &hlen);
	EVP_PKEY_sign_init(ctx);
	cr_assert_eq(EVP_PKEY_sign(ctx, der, &dlen, h, hlen), 1);
	sig = d2i_ECDSA_SIG(NULL, &p, (long)dlen);
	ECDSA_SIG_get0(sig, &r, &ss);
	BN_bn2binpad(r, rs, 32);
	BN_bn2binpad(ss, rs + 32, 32);
	ECDSA_SIG_free(sig);
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(pk);
	cr_assert_eq(tessera_verify_hash(c, TS, "pub", "ecdsa-sha256", h, hlen, rs, 64),
	             TESSERA_OK);
	rs[5] ^= 1;
	cr_assert_eq(tessera_verify_hash(c, TS, "pub", "ecdsa-sha256", h, hlen, rs, 64), 1149);
}

Test(ts, keys_survive_a_daemon_restart)
{
	uint8_t h[32] = {7}, *sig, *pub1, *pub2;
	size_t siglen, len1, len2;

	NEEDS_FAKE();
	cr_assert_eq(tessera_generate_key(c, TS, "kept", &p256), TESSERA_OK);
	cr_assert_eq(tessera_export_public_key(c, TS, "kept", &pub1, &len1), TESSERA_OK);
	cr_assert_eq(tessera_sign_hash(c, TS, "kept", "ecdsa-sha256", h, 32, &sig, &siglen),
	             TESSERA_OK);
	tessera_close(c);
	c = NULL;
	cr_assert_eq(td_restart(&d, SIGTERM), 0);
	c = client_as("alice");
	cr_assert_eq(tessera_export_public_key(c, TS, "kept", &pub2, &len2), TESSERA_OK);
	cr_assert_eq(len1, len2);
	cr_assert_eq(memcmp(pub1, pub2, len1), 0, "the same key in the partition");
	cr_assert_eq(tessera_verify_hash(c, TS, "kept", "ecdsa-sha256", h, 32, sig, siglen),
	             TESSERA_OK);
	/* A key made after the restart gets an ID of its own (the allocator was
	 * rebuilt from the store): both keys live on. */
	cr_assert_eq(tessera_generate_key(c, TS, "after", &p256), TESSERA_OK);
	cr_assert_eq(tessera_verify_hash(c, TS, "kept", "ecdsa-sha256", h, 32, sig, siglen),
	             TESSERA_OK);
	free(pub1);
	free(pub2);
	free(sig);
}

Test(ts, another_tenants_key_does_not_exist)
{
	struct tessera_client *bob;
	uint8_t h[32] = {1}, *sig = NULL, *pa, *pb;
	size_t siglen, la, lb;

	cr_assert_eq(tessera_generate_key(c, TS, "mine", &p256), TESSERA_OK);
	bob = client_as("bob");
	cr_assert_eq(tessera_sign_hash(bob, TS, "mine", "ecdsa-sha256", h, 32, &sig, &siglen),
	             1140);
	cr_assert_eq(tessera_destroy_key(bob, TS, "mine"), 1140);
	/* Bob's key of the same name is another key in the shared partition. */
	cr_assert_eq(tessera_generate_key(bob, TS, "mine", &p256), TESSERA_OK);
	cr_assert_eq(tessera_export_public_key(c, TS, "mine", &pa, &la), TESSERA_OK);
	cr_assert_eq(tessera_export_public_key(bob, TS, "mine", &pb, &lb), TESSERA_OK);
	cr_assert(la != lb || memcmp(pa, pb, la) != 0);
	cr_assert_eq(tessera_destroy_key(bob, TS, "mine"), TESSERA_OK);
	cr_assert_eq(tessera_sign_hash(c, TS, "mine", "ecdsa-sha256", h, 32, &sig, &siglen),
	             TESSERA_OK, "alice's key is untouched by bob's destroy");
	free(sig);
	free(pa);
	free(pb);
	tessera_close(bob);
}

Test(ts, a_destroyed_key_is_gone_from_the_partition)
{
	uint8_t h[32] = {2}, *sig = NULL;
	size_t siglen;
	struct stat before, after;

	NEEDS_FAKE();
	cr_assert_eq(tessera_generate_key(c, TS, "gone", &p256), TESSERA_OK);
	cr_assert_eq(stat(store, &before), 0);
	cr_assert(before.st_size > 0);
	cr_assert_eq(tessera_destroy_key(c, TS, "gone"), TESSERA_OK);
	cr_assert_eq(stat(store, &after), 0);
	cr_assert_eq(after.st_size, 0, "the partition holds no key any more");
	cr_assert_eq(tessera_sign_hash(c, TS, "gone", "ecdsa-sha256", h, 32, &sig, &siglen), 1140);
}

Test(ts, what_cannot_be_split_over_the_partitions_buffer_is_insufficient_memory)
{
	struct tessera_key_spec rsa = {.type = "rsa",
	                               .bits = 2048,
	                               .alg = "rsa-pkcs1",
	                               .usage = TESSERA_USAGE_ENCRYPT | TESSERA_USAGE_DECRYPT};
	static uint8_t big[9000];
	uint8_t *out = NULL, *rnd = NULL;
	size_t len;

	cr_assert_eq(tessera_generate_key(c, TS, "rsa", &rsa), TESSERA_OK);
	cr_assert_eq(tessera_asymmetric_decrypt(c, TS, "rsa", "rsa-pkcs1", big, sizeof(big), NULL,
	                                        0, &out, &len),
	             1141);
	cr_assert_eq(tessera_import_key(c, TS, "huge", &p256, big, sizeof(big)), 1141);
	/* A long message is hashed in the daemon, random bytes come in
	 * buffer-sized pieces. */
	cr_assert_eq(tessera_generate_key(c, TS, "k", &p256), TESSERA_OK);
	cr_assert_eq(tessera_sign_message(c, TS, "k", "ecdsa-sha256", big, sizeof(big), &out, &len),
	             TESSERA_OK);
	free(out);
	cr_assert_eq(tessera_generate_random(c, TS, 20000, &rnd), TESSERA_OK);
	free(rnd);
}

/* ---- symmetric families, over the multipart opcodes ---- */

Test(ts, aes_gcm_over_the_buffer_size_matches_openssl)
{
	aead_matches_openssl("aes", "aes-gcm", "AES-256-GCM", 100000);
}

Test(ts, chacha20_poly1305_matches_openssl)
{
	aead_matches_openssl("chacha20", "chacha20-poly1305", "ChaCha20-Poly1305", 777);
}

/* AES-CCM (the service streams it on Mbed TLS; the stand-in on the software
 * provider's CCM): the partition's ciphertext is OpenSSL's, OpenSSL's is
 * decrypted in the partition, a damaged tag or text is InvalidSignature,
 * for the shortest, a middle and the longest nonce and more than the
 * buffer holds. */
Test(ts, aes_ccm_matches_openssl_both_ways)
{
	static const size_t nonces[] = {7, 12, 13}, lens[] = {0, 31, 20000};
	static uint8_t key[16], nonce[13], ad[100], pt[20000], ct[20016], back[20016];
	uint8_t *out = NULL, *plain = NULL, tag[16];
	size_t out_len = 0, plain_len = 0;

	memset(key, 0x5c, sizeof(key));
	memset(ad, 0x0a, sizeof(ad));
	for (size_t i = 0; i < sizeof(pt); i++)
		pt[i] = (uint8_t)(i * 13 + 1);
	import_sym("ccm", "aes", "aes-ccm", key, sizeof(key));
	for (int i = 0; i < 3; i++) {
		size_t nl = nonces[i], len = lens[i];

		memset(nonce, 0x30 + i, sizeof(nonce));
		cr_assert_eq(tessera_aead_encrypt(c, TS, "ccm", "aes-ccm", nonce, nl, ad,
		                                  sizeof(ad), pt, len, &out, &out_len),
		             TESSERA_OK, "nonce %zu", nl);
		cr_assert_eq(out_len, len + 16);
		cr_assert(openssl_ccm(1, key, sizeof(key), nonce, nl, ad, sizeof(ad), pt, len, ct,
		                      tag, 16));
		cr_assert_eq(memcmp(out, ct, len), 0, "the partition's ciphertext is OpenSSL's");
		cr_assert_eq(memcmp(out + len, tag, 16), 0, "and so is its tag (nonce %zu)", nl);
		free(out);
		memcpy(back, ct, len);
		memcpy(back + len, tag, 16);
		cr_assert_eq(tessera_aead_decrypt(c, TS, "ccm", "aes-ccm", nonce, nl, ad,
		                                  sizeof(ad), back, len + 16, &plain, &plain_len),
		             TESSERA_OK);
		cr_assert_eq(plain_len, len);
		cr_assert(len == 0 || memcmp(plain, pt, len) == 0);
		free(plain);
		back[len + 15] ^= 0x80;
		cr_assert_eq(tessera_aead_decrypt(c, TS, "ccm", "aes-ccm", nonce, nl, ad,
		                                  sizeof(ad), back, len + 16, &plain, &plain_len),
		             1149, "a damaged tag");
		back[len + 15] ^= 0x80;
		if (len > 0) {
			back[0] ^= 1;
			cr_assert_eq(tessera_aead_decrypt(c, TS, "ccm", "aes-ccm", nonce, nl, ad,
			                                  sizeof(ad), back, len + 16, &plain,
			                                  &plain_len),
			             1149, "a damaged text");
		}
	}
	/* A nonce CCM does not take. */
	cr_assert_eq(tessera_aead_encrypt(c, TS, "ccm", "aes-ccm", nonce, 6, ad, sizeof(ad), pt, 16,
	                                  &out, &out_len),
	             1135);
}

Test(ts, aes_cbc_pkcs7_and_ctr_match_openssl)
{
	static const char *const algs[] = {"aes-cbc-pkcs7", "aes-ctr"};
	static const char *const ossl[] = {"AES-128-CBC", "AES-128-CTR"};
	static uint8_t key[16], pt[20001], ct[20100];
	uint8_t *out = NULL, *plain = NULL;
	size_t out_len, plain_len, n;

	memset(key, 0x11, sizeof(key));
	for (size_t i = 0; i < sizeof(pt); i++)
		pt[i] = (uint8_t)(i ^ 0x5a);
	for (int a = 0; a < 2; a++) {
		char name[16];

		snprintf(name, sizeof(name), "c%d", a);
		import_sym(name, "aes", algs[a], key, 16);
		cr_assert_eq(tessera_cipher_encrypt(c, TS, name, algs[a], pt, sizeof(pt), &out,
		                                    &out_len),
		             TESSERA_OK);
		/* IV || ciphertext, the IV drawn in the partition. */
		openssl_cipher(ossl[a], 1, key, out, NULL, 0, pt, sizeof(pt), ct, &n, NULL);
		cr_assert_eq(out_len, 16 + n, "%s", algs[a]);
		cr_assert_eq(memcmp(out + 16, ct, n), 0, "%s", algs[a]);
		cr_assert_eq(tessera_cipher_decrypt(c, TS, name, algs[a], out, out_len, &plain,
		                                    &plain_len),
		             TESSERA_OK);
		cr_assert_eq(plain_len, sizeof(pt));
		cr_assert_eq(memcmp(plain, pt, plain_len), 0);
		free(out);
		free(plain);
	}
}

/* OpenSSL's AES-128 in mode (no padding), one-shot. */
static size_t openssl_block_mode(const char *mode, int enc, const uint8_t *key, const uint8_t *iv,
                                 const uint8_t *in, size_t len, uint8_t *out)
{
	char name[24];
	EVP_CIPHER *ciph;
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int n = 0, m = 0;

	snprintf(name, sizeof(name), "AES-128-%s", mode);
	ciph = EVP_CIPHER_fetch(NULL, name, NULL);
	cr_assert_not_null(ciph);
	cr_assert_eq(EVP_CipherInit_ex2(ctx, ciph, key, iv, enc, NULL), 1);
	cr_assert_eq(EVP_CIPHER_CTX_set_padding(ctx, 0), 1);
	cr_assert_eq(EVP_CipherUpdate(ctx, out, &n, in, (int)len), 1);
	cr_assert_eq(EVP_CipherFinal_ex(ctx, out + n, &m), 1);
	EVP_CIPHER_CTX_free(ctx);
	EVP_CIPHER_free(ciph);
	return (size_t)(n + m);
}

/* ECB (no padding, no IV), CFB and OFB (IV || text, the IV drawn in the
 * partition): the partition's output is OpenSSL's, and OpenSSL's is
 * decrypted in the partition; ECB on a partial block is InvalidArgument. */
Test(ts, aes_ecb_cfb_and_ofb_match_openssl_both_ways)
{
	static const char *const algs[] = {"aes-ecb", "aes-cfb", "aes-ofb"};
	static const char *const modes[] = {"ECB", "CFB", "OFB"};
	static uint8_t key[16], iv[16], pt[9000], ct[9100], back[9100];
	uint8_t *out = NULL, *plain = NULL;
	size_t out_len = 0, plain_len = 0, n;

	memset(key, 0x6b, sizeof(key));
	memset(iv, 0x17, sizeof(iv));
	for (size_t i = 0; i < sizeof(pt); i++)
		pt[i] = (uint8_t)(i * 3 + 7);
	for (int a = 0; a < 3; a++) {
		bool ecb = a == 0;
		/* Whole blocks for ECB; any length for the stream modes (over the buffer too). */
		size_t len = ecb ? 8192 + 64 : 9000 - 3, ivl = ecb ? 0 : 16;
		char name[8];

		snprintf(name, sizeof(name), "m%d", a);
		import_sym(name, "aes", algs[a], key, sizeof(key));
		cr_assert_eq(tessera_cipher_encrypt(c, TS, name, algs[a], pt, len, &out, &out_len),
		             TESSERA_OK, "%s", algs[a]);
		cr_assert_eq(out_len, ivl + len, "%s", algs[a]);
		n = openssl_block_mode(modes[a], 1, key, ecb ? NULL : out, pt, len, ct);
		cr_assert_eq(n, len);
		cr_assert_eq(memcmp(out + ivl, ct, len), 0, "%s: the partition's is OpenSSL's",
		             algs[a]);
		free(out);
		/* OpenSSL's ciphertext, under an IV of ours, decrypted in the partition. */
		n = openssl_block_mode(modes[a], 1, key, ecb ? NULL : iv, pt, len, ct);
		memcpy(back, iv, ivl);
		memcpy(back + ivl, ct, n);
		cr_assert_eq(tessera_cipher_decrypt(c, TS, name, algs[a], back, ivl + n, &plain,
		                                    &plain_len),
		             TESSERA_OK, "%s", algs[a]);
		cr_assert_eq(plain_len, len);
		cr_assert_eq(memcmp(plain, pt, len), 0, "%s", algs[a]);
		free(plain);
	}
	cr_assert_eq(tessera_cipher_encrypt(c, TS, "m0", "aes-ecb", pt, 33, &out, &out_len), 1135,
	             "ECB takes whole blocks only");
	cr_assert_eq(tessera_cipher_decrypt(c, TS, "m0", "aes-ecb", ct, 17, &plain, &plain_len),
	             1135);
	/* And the key still works. */
	cr_assert_eq(tessera_cipher_encrypt(c, TS, "m0", "aes-ecb", pt, 32, &out, &out_len),
	             TESSERA_OK);
	free(out);
}

Test(ts, hmac_and_cmac_match_openssl)
{
	static uint8_t key[32], msg[12000];
	uint8_t *mac = NULL, want[64];
	size_t mac_len = 0, want_len = 0;
	EVP_MAC *m;
	EVP_MAC_CTX *mc;
	OSSL_PARAM params[2];

	memset(key, 0x33, sizeof(key));
	memset(msg, 0x44, sizeof(msg));
	import_sym("h", "hmac", "hmac-sha256", key, 32);
	cr_assert_eq(
	        tessera_mac_compute(c, TS, "h", "hmac-sha256", msg, sizeof(msg), &mac, &mac_len),
	        TESSERA_OK);
	cr_assert_not_null(HMAC(EVP_sha256(), key, 32, msg, sizeof(msg), want, NULL));
	cr_assert_eq(mac_len, 32);
	cr_assert_eq(memcmp(mac, want, 32), 0);
	cr_assert_eq(tessera_mac_verify(c, TS, "h", "hmac-sha256", msg, sizeof(msg), mac, mac_len),
	             TESSERA_OK);
	mac[0] ^= 1;
	cr_assert_eq(tessera_mac_verify(c, TS, "h", "hmac-sha256", msg, sizeof(msg), mac, mac_len),
	             1149);
	free(mac);

	import_sym("cm", "aes", "cmac", key, 16);
	cr_assert_eq(tessera_mac_compute(c, TS, "cm", "cmac", msg, 100, &mac, &mac_len),
	             TESSERA_OK);
	m = EVP_MAC_fetch(NULL, "CMAC", NULL);
	mc = EVP_MAC_CTX_new(m);
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER, "AES-128-CBC", 0);
	params[1] = OSSL_PARAM_construct_end();
	cr_assert_eq(EVP_MAC_init(mc, key, 16, params), 1);
	cr_assert_eq(EVP_MAC_update(mc, msg, 100), 1);
	cr_assert_eq(EVP_MAC_final(mc, want, &want_len, sizeof(want)), 1);
	cr_assert_eq(mac_len, want_len);
	cr_assert_eq(memcmp(mac, want, mac_len), 0);
	EVP_MAC_CTX_free(mc);
	EVP_MAC_free(m);
	free(mac);
}

Test(ts, random_bytes_come_from_the_partition)
{
	uint8_t *a = NULL, *b = NULL;

	cr_assert_eq(tessera_generate_random(c, TS, 32, &a), TESSERA_OK);
	cr_assert_eq(tessera_generate_random(c, TS, 32, &b), TESSERA_OK);
	cr_assert_neq(memcmp(a, b, 32), 0);
	free(a);
	free(b);
}

/* Raw-data keys (key-derivation inputs) are made in the partition too. */
Test(ts, raw_data_keys_are_made_in_the_partition)
{
	struct tessera_key_spec s = {.type = "raw", .bits = 128, .usage = TESSERA_USAGE_EXPORT};
	uint8_t *data = NULL;
	size_t len = 0;

	cr_assert_eq(tessera_generate_key(c, TS, "raw", &s), TESSERA_OK);
	cr_assert_eq(tessera_export_key(c, TS, "raw", &data, &len), TESSERA_OK);
	cr_assert_eq(len, 16);
	free(data);
	s.bits = 12; /* not whole bytes */
	cr_assert_neq(tessera_generate_key(c, TS, "raw12", &s), TESSERA_OK);
}

Test(ts, ecdh_in_the_partition_agrees_with_openssl)
{
	struct tessera_key_spec s = {
	        .type = "ecc", .bits = 256, .alg = "ecdh", .usage = TESSERA_USAGE_DERIVE};
	EVP_PKEY *peer = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "prime256v1"), *ours;
	uint8_t point[65], *secret = NULL, want[32];
	size_t plen = 0, slen = 0, wlen = sizeof(want);
	EVP_PKEY_CTX *ctx;

	cr_assert_not_null(peer);
	cr_assert_eq(tessera_generate_key(c, TS, "dh", &s), TESSERA_OK);
	cr_assert_eq(EVP_PKEY_get_octet_string_param(peer, OSSL_PKEY_PARAM_PUB_KEY, point,
	                                             sizeof(point), &plen),
	             1);
	cr_assert_eq(tessera_raw_key_agreement(c, TS, "dh", "ecdh", point, plen, &secret, &slen),
	             TESSERA_OK);
	ours = exported_ec(c, "dh", "prime256v1");
	ctx = EVP_PKEY_CTX_new(peer, NULL);
	cr_assert_eq(EVP_PKEY_derive_init(ctx), 1);
	cr_assert_eq(EVP_PKEY_derive_set_peer(ctx, ours), 1);
	cr_assert_eq(EVP_PKEY_derive(ctx, want, &wlen), 1);
	cr_assert_eq(slen, wlen);
	cr_assert_eq(memcmp(secret, want, wlen), 0, "the same shared secret");
	/* A point not on the curve is refused. */
	point[40] ^= 1;
	free(secret);
	secret = NULL;
	cr_assert_neq(tessera_raw_key_agreement(c, TS, "dh", "ecdh", point, plen, &secret, &slen),
	              TESSERA_OK);
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(ours);
	EVP_PKEY_free(peer);
	free(secret);
}

/* ---- start-up errors: the daemon run on a configuration, its exit and output ---- */

static int run_daemon(const char *providers, char *out, size_t outlen)
{
	char path[200], cmd[600];
	FILE *f, *p;
	size_t got;
	int status;

	snprintf(path, sizeof(path), "%s/bad.json", store_dir);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fprintf(f,
	        "{\"core\": {\"allow_root\": true}, \"listener\": {\"socket_path\": "
	        "\"%s/bad.sock\"}, \"authenticators\": [{\"type\": \"Direct\"}], \"providers\": "
	        "[%s]}",
	        store_dir, providers);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "timeout 20 %s --config %s 2>&1", TESSERAD, path);
	p = popen(cmd, "r");
	cr_assert_not_null(p);
	got = fread(out, 1, outlen - 1, p);
	out[got] = '\0';
	status = pclose(p);
	unlink(path);
	snprintf(path, sizeof(path), "%s/bad.sock", store_dir);
	unlink(path);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

Test(ts, a_library_that_does_not_load_stops_start_up_naming_libts_path)
{
	char out[2048];

	cr_assert_neq(run_daemon("{\"type\": \"TrustedService\", \"transport\": \"libts\","
	                         " \"libts_path\": \"/nonexistent/libts.so.2\"}",
	                         out, sizeof(out)),
	              0);
	cr_assert_not_null(strstr(out, "providers[0].libts_path"), "%s", out);
	cr_assert_not_null(strstr(out, "/nonexistent/libts.so.2"), "%s", out);
}

Test(ts, an_unknown_service_name_stops_start_up_naming_service)
{
	char out[2048];

	cr_assert_neq(run_daemon("{\"type\": \"TrustedService\", \"transport\": \"libts\","
	                         " \"libts_path\": \"" FAKE_LIBTS "\","
	                         " \"service\": \"urn:sn:trustedfirmware.org:crypto:0\"}",
	                         out, sizeof(out)),
	              0);
	cr_assert_not_null(strstr(out, "providers[0].service"), "%s", out);
}

Test(ts, settings_errors_name_their_key)
{
	char out[2048];

	cr_assert_neq(run_daemon("{\"type\": \"TrustedService\", \"transport\": \"ffa\"}", out,
	                         sizeof(out)),
	              0);
	cr_assert_not_null(strstr(out, "providers[0].transport"), "%s", out);
	cr_assert_neq(
	        run_daemon("{\"type\": \"TrustedService\", \"libts\": \"x\"}", out, sizeof(out)),
	        0);
	cr_assert_not_null(strstr(out, "providers[0].libts"), "%s", out);
	cr_assert_neq(run_daemon("{\"type\": \"TrustedService\", \"transport\": \"tstee\","
	                         " \"device\": \"/dev/null\"}",
	                         out, sizeof(out)),
	              0);
	cr_assert_not_null(strstr(out, "providers[0].device"), "%s", out);
}

Test(ts, a_failing_partition_gives_a_clear_status_and_the_daemon_keeps_serving)
{
	uint8_t h[32] = {3}, *sig = NULL;
	size_t siglen;

	NEEDS_FAKE();
	cr_assert_eq(tessera_generate_key(c, TS, "f", &p256), TESSERA_OK);
	/* The stand-in reads TSFAKE_FAULT from its environment, which the
	 * daemon inherited at start: restart with it set. */
	tessera_close(c);
	c = NULL;
	setenv("TSFAKE_FAULT", "-5,0", 1); /* FF-A transport failure */
	cr_assert_eq(td_restart(&d, SIGTERM), 0);
	c = client_as("alice");
	cr_assert_eq(tessera_sign_hash(c, TS, "f", "ecdsa-sha256", h, 32, &sig, &siglen), 1145);
	cr_assert_eq(tessera_sign_hash(c, TS, "f", "ecdsa-sha256", h, 32, &sig, &siglen), 1145);
	tessera_close(c);
	c = NULL;
	setenv("TSFAKE_FAULT", "0,-147", 1); /* PSA_ERROR_HARDWARE_FAILURE */
	cr_assert_eq(td_restart(&d, SIGTERM), 0);
	c = client_as("alice");
	cr_assert_eq(tessera_sign_hash(c, TS, "f", "ecdsa-sha256", h, 32, &sig, &siglen), 1147);
	tessera_close(c);
	c = NULL;
	unsetenv("TSFAKE_FAULT");
	cr_assert_eq(td_restart(&d, SIGTERM), 0);
	c = client_as("alice");
	cr_assert_eq(tessera_sign_hash(c, TS, "f", "ecdsa-sha256", h, 32, &sig, &siglen),
	             TESSERA_OK);
	free(sig);
}

/* ---- beside the software provider ---- */

Test(ts, the_ts_provider_is_listed_first_and_keys_stay_with_their_provider)
{
	struct tessera_provider_info *p;
	uint8_t def = 0, h[32] = {4}, *sig = NULL;
	size_t n = 0, siglen;

	cr_assert_eq(tessera_list_providers(c, &p, &n), TESSERA_OK);
	cr_assert_eq(n, 3, "TS, Software and the core");
	cr_assert_eq(p[0].id, TS);
	cr_assert_str_eq(p[0].uuid, "71129441-508a-4da6-b6e8-7b98a777e4c0");
	cr_assert_eq(p[1].id, SW);
	cr_assert_eq(p[2].id, 0);
	tessera_provider_info_free(p, n);
	cr_assert_eq(tessera_default_provider(c, &def), TESSERA_OK);
	cr_assert_eq(def, TS);
	cr_assert_eq(tessera_generate_key(c, TS, "ts-key", &p256), TESSERA_OK);
	cr_assert_eq(tessera_generate_key(c, SW, "sw-key", &p256), TESSERA_OK);
	cr_assert_eq(tessera_sign_hash(c, SW, "ts-key", "ecdsa-sha256", h, 32, &sig, &siglen),
	             1140);
	cr_assert_eq(tessera_sign_hash(c, TS, "sw-key", "ecdsa-sha256", h, 32, &sig, &siglen),
	             1140);
	cr_assert_eq(tessera_sign_hash(c, TS, "ts-key", "ecdsa-sha256", h, 32, &sig, &siglen),
	             TESSERA_OK);
	free(sig);
}

/* ---- crash consistency ---- */

/* The persistent keys in the endpoint's store file. */
static size_t partition_keys(void)
{
	FILE *f = fopen(store, "rb");
	uint8_t head[32];
	size_t n = 0;

	if (f == NULL)
		return 0;
	while (fread(head, 1, sizeof(head), f) == sizeof(head)) {
		uint32_t len = (uint32_t)head[28] | (uint32_t)head[29] << 8 |
		               (uint32_t)head[30] << 16 | (uint32_t)head[31] << 24;

		cr_assert_eq(fseek(f, (long)len, SEEK_CUR), 0);
		n++;
	}
	fclose(f);
	return n;
}

Test(ts, sigkill_during_creations_leaves_the_partition_and_the_store_agreeing)
{
	char acked[160];
	int fds[2];
	pid_t pid;
	struct tessera_key_info *keys;
	size_t n = 0, n_acked = 0, ts_keys = 0;
	bool maybe = false; /* a destruction was under way at the kill */
	FILE *in;

	NEEDS_FAKE();
	cr_assert_eq(pipe(fds), 0);
	pid = td_fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		struct tessera_client *cl = client_as("crasher");
		FILE *out = fdopen(fds[1], "w");

		close(fds[0]);
		setvbuf(out, NULL, _IOLBF, 0);
		for (int i = 0; i < 100000; i++) {
			char name[32];

			snprintf(name, sizeof(name), "k%d", i);
			if (tessera_generate_key(cl, TS, name, &p256) != TESSERA_OK)
				break;
			fprintf(out, "%s\n", name); /* acknowledged */
			if (i % 3 == 2) {
				snprintf(name, sizeof(name), "k%d", i - 1);
				fprintf(out, "~%s\n", name); /* may be gone from here on */
				if (tessera_destroy_key(cl, TS, name) != TESSERA_OK)
					break;
				fprintf(out, "-%s\n", name);
			}
		}
		_exit(0);
	}
	close(fds[1]);
	usleep((useconds_t)td_scale(300) * 1000);
	td_restart(&d, SIGKILL);
	cr_assert_eq(waitpid(pid, NULL, 0), pid);
	/* What the client was told, in order: made, or destroyed. */
	in = fdopen(fds[0], "r");
	{
		static char names[100000][24];
		static bool live[100000];
		size_t count = 0;

		while (fgets(acked, sizeof(acked), in) != NULL && count < 100000) {
			acked[strcspn(acked, "\n")] = '\0';
			if (acked[0] == '-' || acked[0] == '~') {
				for (size_t i = 0; i < count; i++)
					if (strcmp(names[i], acked + 1) == 0)
						live[i] = false;
				maybe = acked[0] == '~';
			} else {
				snprintf(names[count], sizeof(names[count]), "%.23s", acked);
				live[count++] = true;
			}
		}
		fclose(in);
		cr_assert_gt(count, 2, "the loop ran before the kill");
		struct tessera_client *cl = client_as("crasher");

		cr_assert_eq(tessera_list_keys(cl, &keys, &n), TESSERA_OK);
		for (size_t i = 0; i < n; i++)
			if (keys[i].provider_id == TS)
				ts_keys++;
		/* Every acknowledged live key is there. */
		for (size_t i = 0; i < count; i++) {
			bool found = false;

			if (!live[i])
				continue;
			n_acked++;
			for (size_t j = 0; j < n && !found; j++)
				found = strcmp(keys[j].name, names[i]) == 0;
			cr_assert(found, "acknowledged key %s lost", names[i]);
		}
		tessera_key_info_free(keys, n);
		tessera_close(cl);
	}
	/* The store knows at most one key more than was acknowledged (the one
	 * committed as the kill came) and one whose destruction the kill cut
	 * short, and the partition holds exactly what the store knows: nothing
	 * half made or half destroyed survives recovery. */
	cr_assert_geq(ts_keys, n_acked);
	cr_assert_leq(ts_keys, n_acked + 1 + (maybe ? 1 : 0));
	cr_assert_eq(partition_keys(), ts_keys, "partition %zu, store %zu", partition_keys(),
	             ts_keys);
}
