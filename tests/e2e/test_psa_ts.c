/*
 * The PSA Crypto C API (libtessera-psa) against tesserad whose default
 * provider is Trusted Services, on the test endpoint's stand-in: keys made
 * in the partition by PSA key ID, signatures OpenSSL verifies, multipart
 * MAC, cipher and AEAD held in the partition across requests (within the
 * provider's cap below the partition's pool), a key that may not leave the
 * partition copied inside it, hashing done by the daemon, and key
 * derivation in the partition (HKDF from a DERIVE key, ECDH followed by
 * HKDF with the shared secret kept there).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include "harness.h"
#include "psa/crypto.h"
#include "ts-e2e.h"

static char ep[160];

/* TS_LIBTS names a libts built elsewhere (Trusted Services' linux-pc build,
 * the real crypto service on Mbed TLS) to run the suite against instead of
 * the stand-in; every test here runs on either. */
static const char *libts_under_test(void)
{
	const char *v = getenv("TS_LIBTS");

	return v != NULL && v[0] != '\0' ? v : FAKE_LIBTS;
}

/* Counts the stand-in keeps (its PURGE_KEY calls) are read only on it. */
static bool on_fake(void)
{
	return strcmp(libts_under_test(), FAKE_LIBTS) == 0;
}

static void setup(void)
{
	static char config[1024];

	make_store();
	snprintf(config, sizeof(config),
	         "%s \"providers\": [{\"type\": \"TrustedService\", \"transport\": \"libts\","
	         " \"libts_path\": \"%s\"}, {\"type\": \"Software\"}]}",
	         CONFIG_HEAD, libts_under_test());
	td_start(&d, config);
	snprintf(ep, sizeof(ep), "unix:%s", d.sock);
	setenv("TESSERA_ENDPOINT", ep, 1);
	setenv("TESSERA_AUTH", "direct", 1);
	setenv("TESSERA_APP_NAME", "psa-on-ts", 1);
	unsetenv("TESSERA_PSA_PROVIDER");
	cr_assert_eq(psa_crypto_init(), PSA_SUCCESS);
}

static void teardown(void)
{
	cr_assert_eq(td_stop(&d), 0);
	remove_store();
}

TestSuite(psa_ts, .init = setup, .fini = teardown, .timeout = 300);

static psa_key_id_t make(psa_key_id_t id, psa_key_type_t type, size_t bits, psa_key_usage_t usage,
                         psa_algorithm_t alg, const uint8_t *data, size_t len)
{
	psa_key_attributes_t a = PSA_KEY_ATTRIBUTES_INIT;
	psa_key_id_t got = 0;

	psa_set_key_id(&a, id);
	psa_set_key_type(&a, type);
	psa_set_key_bits(&a, bits);
	psa_set_key_usage_flags(&a, usage);
	psa_set_key_algorithm(&a, alg);
	cr_assert_eq(data != NULL ? psa_import_key(&a, data, len, &got)
	                          : psa_generate_key(&a, &got),
	             PSA_SUCCESS);
	cr_assert_eq(got, id);
	return got;
}

Test(psa_ts, a_partition_key_by_id_signs_and_a_copy_of_it_stays_inside)
{
	psa_key_id_t k =
	        make(101, PSA_KEY_TYPE_ECC_KEY_PAIR(PSA_ECC_FAMILY_SECP_R1), 256,
	             PSA_KEY_USAGE_SIGN_HASH | PSA_KEY_USAGE_VERIFY_HASH | PSA_KEY_USAGE_COPY,
	             PSA_ALG_ECDSA(PSA_ALG_SHA_256), NULL, 0);
	psa_key_attributes_t a = PSA_KEY_ATTRIBUTES_INIT, got = PSA_KEY_ATTRIBUTES_INIT;
	uint8_t h[32], sig[PSA_SIGNATURE_MAX_SIZE], pub[PSA_EXPORT_PUBLIC_KEY_MAX_SIZE],
	        priv[PSA_EXPORT_KEY_PAIR_MAX_SIZE];
	size_t hl = 0, sl = 0, pl = 0, xl = 0;
	psa_key_id_t copy = 0;
	EVP_PKEY *pk;

	sha(EVP_sha256(), "in the partition", 16, h, &hl);
	cr_assert_eq(psa_sign_hash(k, PSA_ALG_ECDSA(PSA_ALG_SHA_256), h, hl, sig, sizeof(sig), &sl),
	             PSA_SUCCESS);
	cr_assert_eq(psa_export_public_key(k, pub, sizeof(pub), &pl), PSA_SUCCESS);
	pk = ec_public("prime256v1", pub, pl);
	cr_assert(openssl_ecdsa_ok(pk, h, hl, sig, sl));
	EVP_PKEY_free(pk);
	/* No EXPORT flag: the partition keeps it; a copy is made inside. */
	cr_assert_eq(psa_export_key(k, priv, sizeof(priv), &xl), PSA_ERROR_NOT_PERMITTED);
	psa_set_key_id(&a, 102);
	psa_set_key_usage_flags(&a, PSA_KEY_USAGE_VERIFY_HASH);
	psa_set_key_algorithm(&a, PSA_ALG_ECDSA(PSA_ALG_SHA_256));
	cr_assert_eq(psa_copy_key(k, &a, &copy), PSA_SUCCESS);
	cr_assert_eq(copy, 102);
	cr_assert_eq(psa_verify_hash(copy, PSA_ALG_ECDSA(PSA_ALG_SHA_256), h, hl, sig, sl),
	             PSA_SUCCESS);
	cr_assert_eq(
	        psa_sign_hash(copy, PSA_ALG_ECDSA(PSA_ALG_SHA_256), h, hl, sig, sizeof(sig), &sl),
	        PSA_ERROR_NOT_PERMITTED);
	cr_assert_eq(psa_get_key_attributes(copy, &got), PSA_SUCCESS);
	cr_assert_eq(psa_get_key_bits(&got), 256);
	cr_assert_eq(psa_get_key_usage_flags(&got) & PSA_KEY_USAGE_SIGN_HASH, 0);
	cr_assert_eq(psa_destroy_key(copy), PSA_SUCCESS);
	cr_assert_eq(psa_destroy_key(k), PSA_SUCCESS);
}

Test(psa_ts, multipart_gcm_cbc_and_hmac_run_in_the_partition)
{
	static const uint8_t key[16] = {1, 2, 3}, nonce[12] = {9}, iv[16] = {4};
	uint8_t text[5000], ct[5200], one[5200], out[5200], tag[16], mac[32], mac1[32];
	size_t n = 0, total = 0, one_len = 0, tl = 0, ml = 0, m1 = 0;
	psa_aead_operation_t op = PSA_AEAD_OPERATION_INIT;
	psa_cipher_operation_t cop = PSA_CIPHER_OPERATION_INIT;
	psa_mac_operation_t mop = PSA_MAC_OPERATION_INIT;
	psa_key_id_t gk, ck, hk;

	memset(text, 't', sizeof(text));
	gk = make(110, PSA_KEY_TYPE_AES, 128, PSA_KEY_USAGE_ENCRYPT | PSA_KEY_USAGE_DECRYPT,
	          PSA_ALG_GCM, key, sizeof(key));
	cr_assert_eq(psa_aead_encrypt(gk, PSA_ALG_GCM, nonce, 12, NULL, 0, text, sizeof(text), one,
	                              sizeof(one), &one_len),
	             PSA_SUCCESS);
	cr_assert_eq(psa_aead_encrypt_setup(&op, gk, PSA_ALG_GCM), PSA_SUCCESS);
	cr_assert_eq(psa_aead_set_nonce(&op, nonce, 12), PSA_SUCCESS);
	for (size_t off = 0; off < sizeof(text); off += 1000) {
		cr_assert_eq(
		        psa_aead_update(&op, text + off, 1000, ct + total, sizeof(ct) - total, &n),
		        PSA_SUCCESS);
		cr_assert_eq(n, 1000, "GCM releases each update whole");
		total += n;
	}
	cr_assert_eq(
	        psa_aead_finish(&op, ct + total, sizeof(ct) - total, &n, tag, sizeof(tag), &tl),
	        PSA_SUCCESS);
	total += n;
	cr_assert_eq(total + tl, one_len);
	cr_assert_eq(memcmp(ct, one, total), 0);
	cr_assert_eq(memcmp(tag, one + total, tl), 0);

	ck = make(111, PSA_KEY_TYPE_AES, 128, PSA_KEY_USAGE_ENCRYPT | PSA_KEY_USAGE_DECRYPT,
	          PSA_ALG_CBC_PKCS7, key, sizeof(key));
	total = 0;
	cr_assert_eq(psa_cipher_encrypt_setup(&cop, ck, PSA_ALG_CBC_PKCS7), PSA_SUCCESS);
	cr_assert_eq(psa_cipher_set_iv(&cop, iv, 16), PSA_SUCCESS);
	cr_assert_eq(psa_cipher_update(&cop, text, 100, out, sizeof(out), &n), PSA_SUCCESS);
	cr_assert_eq(n, 96, "whole blocks only");
	total = n;
	cr_assert_eq(psa_cipher_finish(&cop, out + total, sizeof(out) - total, &n), PSA_SUCCESS);
	total += n;
	cr_assert_eq(total, 112);
	/* The one-shot decrypt of IV || ciphertext gives the text back. */
	memmove(out + 16, out, total);
	memcpy(out, iv, 16);
	cr_assert_eq(psa_cipher_decrypt(ck, PSA_ALG_CBC_PKCS7, out, total + 16, ct, sizeof(ct), &n),
	             PSA_SUCCESS);
	cr_assert_eq(n, 100);
	cr_assert_eq(memcmp(ct, text, 100), 0);

	hk = make(112, PSA_KEY_TYPE_HMAC, 256,
	          PSA_KEY_USAGE_SIGN_MESSAGE | PSA_KEY_USAGE_VERIFY_MESSAGE,
	          PSA_ALG_HMAC(PSA_ALG_SHA_256), NULL, 0);
	cr_assert_eq(psa_mac_compute(hk, PSA_ALG_HMAC(PSA_ALG_SHA_256), text, sizeof(text), mac1,
	                             sizeof(mac1), &m1),
	             PSA_SUCCESS);
	cr_assert_eq(psa_mac_sign_setup(&mop, hk, PSA_ALG_HMAC(PSA_ALG_SHA_256)), PSA_SUCCESS);
	cr_assert_eq(psa_mac_update(&mop, text, 3000), PSA_SUCCESS);
	cr_assert_eq(psa_mac_update(&mop, text + 3000, sizeof(text) - 3000), PSA_SUCCESS);
	cr_assert_eq(psa_mac_sign_finish(&mop, mac, sizeof(mac), &ml), PSA_SUCCESS);
	cr_assert_eq(ml, m1);
	cr_assert_eq(memcmp(mac, mac1, ml), 0);
	cr_assert_eq(psa_destroy_key(gk), PSA_SUCCESS);
	cr_assert_eq(psa_destroy_key(ck), PSA_SUCCESS);
	cr_assert_eq(psa_destroy_key(hk), PSA_SUCCESS);
}

/* AES-CCM with shortened tags, one-shot and multipart (the lengths set
 * first, as CCM needs), against OpenSSL; a damaged tag is INVALID_SIGNATURE. */
Test(psa_ts, ccm_with_several_tag_lengths_matches_openssl)
{
	static const size_t tags[] = {4, 8, 14};
	static const uint8_t key[32] = {7, 7, 7}, nonce[11] = {3, 1, 4}, ad[20] = {2};
	uint8_t text[3000], one[3100], ct[3100], tag[16], back[3100];
	size_t n = 0, total = 0, tl = 0, one_len = 0;

	for (size_t i = 0; i < sizeof(text); i++)
		text[i] = (uint8_t)(i * 5);
	for (int i = 0; i < 3; i++) {
		psa_algorithm_t alg = PSA_ALG_AEAD_WITH_SHORTENED_TAG(PSA_ALG_CCM, tags[i]);
		psa_aead_operation_t op = PSA_AEAD_OPERATION_INIT;
		psa_key_id_t k =
		        make(120 + i, PSA_KEY_TYPE_AES, 256,
		             PSA_KEY_USAGE_ENCRYPT | PSA_KEY_USAGE_DECRYPT, alg, key, sizeof(key));

		cr_assert_eq(psa_aead_encrypt(k, alg, nonce, sizeof(nonce), ad, sizeof(ad), text,
		                              sizeof(text), one, sizeof(one), &one_len),
		             PSA_SUCCESS);
		cr_assert_eq(one_len, sizeof(text) + tags[i]);
		cr_assert(openssl_ccm(1, key, sizeof(key), nonce, sizeof(nonce), ad, sizeof(ad),
		                      text, sizeof(text), ct, tag, tags[i]));
		cr_assert_eq(memcmp(one, ct, sizeof(text)), 0, "tag length %zu", tags[i]);
		cr_assert_eq(memcmp(one + sizeof(text), tag, tags[i]), 0, "tag length %zu",
		             tags[i]);

		/* The same in pieces, held in the partition across requests. */
		total = 0;
		cr_assert_eq(psa_aead_encrypt_setup(&op, k, alg), PSA_SUCCESS);
		cr_assert_eq(psa_aead_set_lengths(&op, sizeof(ad), sizeof(text)), PSA_SUCCESS);
		cr_assert_eq(psa_aead_set_nonce(&op, nonce, sizeof(nonce)), PSA_SUCCESS);
		cr_assert_eq(psa_aead_update_ad(&op, ad, sizeof(ad)), PSA_SUCCESS);
		for (size_t off = 0; off < sizeof(text); off += 1000) {
			cr_assert_eq(psa_aead_update(&op, text + off, 1000, back + total,
			                             sizeof(back) - total, &n),
			             PSA_SUCCESS);
			total += n;
		}
		cr_assert_eq(psa_aead_finish(&op, back + total, sizeof(back) - total, &n, tag,
		                             sizeof(tag), &tl),
		             PSA_SUCCESS);
		total += n;
		cr_assert_eq(total, sizeof(text));
		cr_assert_eq(tl, tags[i]);
		cr_assert_eq(memcmp(back, ct, total), 0);
		cr_assert_eq(memcmp(tag, one + sizeof(text), tl), 0);

		/* OpenSSL's ciphertext decrypted in the partition; a damaged tag refused. */
		cr_assert_eq(psa_aead_decrypt(k, alg, nonce, sizeof(nonce), ad, sizeof(ad), one,
		                              one_len, back, sizeof(back), &n),
		             PSA_SUCCESS);
		cr_assert_eq(n, sizeof(text));
		cr_assert_eq(memcmp(back, text, n), 0);
		one[one_len - 1] ^= 4;
		cr_assert_eq(psa_aead_decrypt(k, alg, nonce, sizeof(nonce), ad, sizeof(ad), one,
		                              one_len, back, sizeof(back), &n),
		             PSA_ERROR_INVALID_SIGNATURE, "tag length %zu", tags[i]);
		cr_assert_eq(psa_destroy_key(k), PSA_SUCCESS);
	}
}

/* In a forked child, as tenant app: psa_purge_key(id); 0 when it answered want. */
static int child_purges(const char *app, psa_key_id_t id, psa_status_t want)
{
	int status;
	pid_t pid = fork();

	cr_assert_geq(pid, 0);
	if (pid == 0) {
		setenv("TESSERA_APP_NAME", app, 1);
		_exit(psa_purge_key(id) == want ? 0 : 1);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* psa_purge_key on a partition key reaches the partition's PURGE_KEY (the
 * core alone answered it before), the key signs after it; another tenant
 * does not see the key, and purging it sends nothing. */
Test(psa_ts, purge_reaches_the_partition_and_the_key_still_signs)
{
	psa_key_id_t k = make(130, PSA_KEY_TYPE_ECC_KEY_PAIR(PSA_ECC_FAMILY_SECP_R1), 256,
	                      PSA_KEY_USAGE_SIGN_HASH | PSA_KEY_USAGE_VERIFY_HASH,
	                      PSA_ALG_ECDSA(PSA_ALG_SHA_256), NULL, 0);
	uint8_t h[32], sig[PSA_SIGNATURE_MAX_SIZE];
	size_t hl = 0, sl = 0;

	cr_assert(!on_fake() || fake_purges() == 0);
	cr_assert_eq(psa_purge_key(k), PSA_SUCCESS);
	cr_assert(!on_fake() || fake_purges() == 1, "the partition saw one PURGE_KEY");
	sha(EVP_sha256(), "after the purge", 15, h, &hl);
	cr_assert_eq(psa_sign_hash(k, PSA_ALG_ECDSA(PSA_ALG_SHA_256), h, hl, sig, sizeof(sig), &sl),
	             PSA_SUCCESS);
	cr_assert_eq(psa_verify_hash(k, PSA_ALG_ECDSA(PSA_ALG_SHA_256), h, hl, sig, sl),
	             PSA_SUCCESS);
	/* DoesNotExist from the daemon, which the PSA API reports as INVALID_HANDLE. */
	cr_assert_eq(child_purges("someone-else", k, PSA_ERROR_INVALID_HANDLE), 0,
	             "another tenant's key does not exist for it");
	cr_assert_eq(psa_purge_key(131), PSA_ERROR_INVALID_HANDLE, "no such key");
	cr_assert(!on_fake() || fake_purges() == 1, "neither reached the partition");
	cr_assert_eq(psa_purge_key(k), PSA_SUCCESS);
	cr_assert(!on_fake() || fake_purges() == 2);
	cr_assert_eq(psa_destroy_key(k), PSA_SUCCESS);
	cr_assert_eq(psa_purge_key(k), PSA_ERROR_INVALID_HANDLE, "a destroyed key");
}

/* In a forked child, as tenant app: open n MAC operations (PSA_SUCCESS
 * each) and then one more (want), and exit 0 when all were as expected. */
static int child_opens(const char *app, psa_key_id_t hk, int n, psa_status_t want)
{
	int status;
	pid_t pid = fork();

	cr_assert_geq(pid, 0);
	if (pid == 0) {
		psa_mac_operation_t op;
		int bad = 0;

		setenv("TESSERA_APP_NAME", app, 1);
		for (int i = 0; i <= n; i++) {
			op = psa_mac_operation_init();
			bad |= psa_mac_sign_setup(&op, hk, PSA_ALG_HMAC(PSA_ALG_SHA_256)) !=
			       (i < n ? PSA_SUCCESS : want);
		}
		_exit(bad);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* The partition's pool (10 per family, every client of the machine) is
 * never recycled under a client: the provider keeps 8 per family open at
 * most, and one tenant takes at most half of that, so it cannot lock the
 * others out. */
Test(psa_ts, the_partitions_pool_is_shared_and_never_recycled_under_a_client)
{
	psa_mac_operation_t ops[5];
	psa_key_id_t hk = make(120, PSA_KEY_TYPE_HMAC, 256, PSA_KEY_USAGE_SIGN_MESSAGE,
	                       PSA_ALG_HMAC(PSA_ALG_SHA_256), NULL, 0);
	uint8_t mac[32], mac1[32];
	size_t ml = 0, m1 = 0;

	cr_assert_eq(psa_mac_compute(hk, PSA_ALG_HMAC(PSA_ALG_SHA_256), (const uint8_t *)"x", 1,
	                             mac1, sizeof(mac1), &m1),
	             PSA_SUCCESS);
	for (int i = 0; i < 5; i++)
		ops[i] = psa_mac_operation_init();
	for (int i = 0; i < 4; i++) {
		cr_assert_eq(psa_mac_sign_setup(&ops[i], hk, PSA_ALG_HMAC(PSA_ALG_SHA_256)),
		             PSA_SUCCESS, "operation %d", i);
		cr_assert_eq(psa_mac_update(&ops[i], (const uint8_t *)"x", 1), PSA_SUCCESS);
	}
	cr_assert_eq(psa_mac_sign_setup(&ops[4], hk, PSA_ALG_HMAC(PSA_ALG_SHA_256)),
	             PSA_ERROR_INSUFFICIENT_MEMORY, "half of the instance's 8 is this tenant's");
	/* Another tenant still gets its half (the key is alice's: the child
	 * fails at setup with INVALID_HANDLE, which proves nothing), so it
	 * makes its own key first. */
	{
		int status;
		pid_t pid = fork();

		cr_assert_geq(pid, 0);
		if (pid == 0) {
			psa_key_id_t bk;
			int rc;

			setenv("TESSERA_APP_NAME", "psa-on-ts-bob", 1);
			bk = make(121, PSA_KEY_TYPE_HMAC, 256, PSA_KEY_USAGE_SIGN_MESSAGE,
			          PSA_ALG_HMAC(PSA_ALG_SHA_256), NULL, 0);
			rc = child_opens("psa-on-ts-bob", bk, 4, PSA_ERROR_INSUFFICIENT_MEMORY);
			(void)psa_destroy_key(bk);
			_exit(rc);
		}
		cr_assert_eq(waitpid(pid, &status, 0), pid);
		cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		          "the second tenant did not get its half");
	}
	/* One-shot MACs still run, and every open operation is intact. */
	cr_assert_eq(psa_mac_compute(hk, PSA_ALG_HMAC(PSA_ALG_SHA_256), (const uint8_t *)"x", 1,
	                             mac, sizeof(mac), &ml),
	             PSA_SUCCESS);
	for (int i = 0; i < 4; i++) {
		cr_assert_eq(psa_mac_sign_finish(&ops[i], mac, sizeof(mac), &ml), PSA_SUCCESS);
		cr_assert_eq(memcmp(mac, mac1, m1), 0);
	}
	cr_assert_eq(psa_mac_abort(&ops[4]), PSA_SUCCESS);
	cr_assert_eq(psa_mac_sign_setup(&ops[4], hk, PSA_ALG_HMAC(PSA_ALG_SHA_256)), PSA_SUCCESS);
	cr_assert_eq(psa_mac_abort(&ops[4]), PSA_SUCCESS);
	cr_assert_eq(psa_destroy_key(hk), PSA_SUCCESS);
}

Test(psa_ts, hashing_is_the_daemons)
{
	psa_hash_operation_t h = PSA_HASH_OPERATION_INIT;
	uint8_t d1[32], d2[32];
	size_t l1 = 0, l2 = 0;

	cr_assert_eq(psa_hash_setup(&h, PSA_ALG_SHA_256), PSA_SUCCESS);
	cr_assert_eq(psa_hash_update(&h, (const uint8_t *)"ab", 2), PSA_SUCCESS);
	cr_assert_eq(psa_hash_update(&h, (const uint8_t *)"c", 1), PSA_SUCCESS);
	cr_assert_eq(psa_hash_finish(&h, d1, sizeof(d1), &l1), PSA_SUCCESS);
	sha(EVP_sha256(), "abc", 3, d2, &l2);
	cr_assert_eq(l1, l2);
	cr_assert_eq(memcmp(d1, d2, l1), 0);
}

/* ---- key derivation in the partition ---- */

/* RFC 5869 A.1 (HKDF-SHA-256). */
static const uint8_t rfc_ikm[22] = {0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b,
                                    0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b,
                                    0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b};
static const uint8_t rfc_salt[13] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
static const uint8_t rfc_info[10] = {0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9};
static const uint8_t rfc_okm[42] = {
        0x3c, 0xb2, 0x5f, 0x25, 0xfa, 0xac, 0xd5, 0x7a, 0x90, 0x43, 0x4f, 0x64, 0xd0, 0x36,
        0x2f, 0x2a, 0x2d, 0x2d, 0x0a, 0x90, 0xcf, 0x1a, 0x5a, 0x4c, 0x5d, 0xb0, 0x2d, 0x56,
        0xec, 0xc4, 0xc5, 0xbf, 0x34, 0x00, 0x72, 0x08, 0xd5, 0xb8, 0x87, 0x18, 0x58, 0x65};

/* OpenSSL's HKDF-SHA-256 of the same inputs. */
static void openssl_hkdf(const uint8_t *ikm, size_t ikm_len, uint8_t *out, size_t len)
{
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	EVP_KDF_CTX *kc = EVP_KDF_CTX_new(kdf);
	OSSL_PARAM params[] = {
	        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0),
	        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)ikm, ikm_len),
	        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)rfc_salt,
	                                          sizeof(rfc_salt)),
	        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)rfc_info,
	                                          sizeof(rfc_info)),
	        OSSL_PARAM_construct_end()};

	cr_assert_not_null(kc);
	cr_assert_eq(EVP_KDF_derive(kc, out, len, params), 1);
	EVP_KDF_CTX_free(kc);
	EVP_KDF_free(kdf);
}

/* HKDF-SHA-256 set up with the RFC's salt, the secret from key k, its info. */
static void hkdf_from(psa_key_derivation_operation_t *op, psa_key_id_t k)
{
	*op = psa_key_derivation_operation_init();
	cr_assert_eq(psa_key_derivation_setup(op, PSA_ALG_HKDF(PSA_ALG_SHA_256)), PSA_SUCCESS);
	cr_assert_eq(psa_key_derivation_input_bytes(op, PSA_KEY_DERIVATION_INPUT_SALT, rfc_salt,
	                                            sizeof(rfc_salt)),
	             PSA_SUCCESS);
	cr_assert_eq(psa_key_derivation_input_key(op, PSA_KEY_DERIVATION_INPUT_SECRET, k),
	             PSA_SUCCESS);
	cr_assert_eq(psa_key_derivation_input_bytes(op, PSA_KEY_DERIVATION_INPUT_INFO, rfc_info,
	                                            sizeof(rfc_info)),
	             PSA_SUCCESS);
}

static bool openssl_gcm_opens(const uint8_t key[16], const uint8_t nonce[12], const uint8_t *ct,
                              size_t ct_len, const uint8_t *want, size_t want_len)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	uint8_t out[256];
	int n = 0, m = 0;
	bool ok =
	        c != NULL && ct_len >= 16 && ct_len - 16 <= sizeof(out) &&
	        EVP_DecryptInit_ex(c, EVP_aes_128_gcm(), NULL, key, nonce) == 1 &&
	        EVP_DecryptUpdate(c, out, &n, ct, (int)(ct_len - 16)) == 1 &&
	        EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16, (void *)(ct + ct_len - 16)) == 1 &&
	        EVP_DecryptFinal_ex(c, out + n, &m) == 1;

	EVP_CIPHER_CTX_free(c);
	return ok && (size_t)(n + m) == want_len && memcmp(out, want, want_len) == 0;
}

/* A DERIVE key made in the partition by its PSA ID feeds HKDF there: the
 * output is RFC 5869's and OpenSSL's; output_key makes an AES key in the
 * partition from the next bytes, which encrypts what OpenSSL opens with
 * those bytes; the capacity runs out with INSUFFICIENT_DATA. */
Test(psa_ts, hkdf_in_the_partition_from_a_derive_key_by_id)
{
	static const uint8_t nonce[12] = {7};
	psa_key_id_t dk = make(140, PSA_KEY_TYPE_DERIVE, 0, PSA_KEY_USAGE_DERIVE,
	                       PSA_ALG_HKDF(PSA_ALG_SHA_256), rfc_ikm, sizeof(rfc_ikm));
	psa_key_derivation_operation_t op;
	psa_key_attributes_t a = PSA_KEY_ATTRIBUTES_INIT;
	uint8_t out[64], ossl[64], ct[64], raw[16];
	size_t cap = 0, n = 0;
	psa_key_id_t aes = 0;

	openssl_hkdf(rfc_ikm, sizeof(rfc_ikm), ossl, sizeof(ossl));
	cr_assert_eq(memcmp(ossl, rfc_okm, sizeof(rfc_okm)), 0);

	hkdf_from(&op, dk);
	cr_assert_eq(psa_key_derivation_get_capacity(&op, &cap), PSA_SUCCESS);
	cr_assert_eq(cap, 255 * 32);
	cr_assert_eq(psa_key_derivation_output_bytes(&op, out, 20), PSA_SUCCESS);
	cr_assert_eq(psa_key_derivation_output_bytes(&op, out + 20, 22), PSA_SUCCESS);
	cr_assert_eq(memcmp(out, rfc_okm, sizeof(rfc_okm)), 0, "RFC 5869 A.1's OKM");
	/* The next 16 bytes as an AES key in the partition. */
	psa_set_key_id(&a, 141);
	psa_set_key_type(&a, PSA_KEY_TYPE_AES);
	psa_set_key_bits(&a, 128);
	psa_set_key_usage_flags(&a, PSA_KEY_USAGE_ENCRYPT);
	psa_set_key_algorithm(&a, PSA_ALG_GCM);
	cr_assert_eq(psa_key_derivation_output_key(&a, &op, &aes), PSA_SUCCESS);
	cr_assert_eq(aes, 141);
	cr_assert_eq(psa_export_key(aes, raw, sizeof(raw), &n), PSA_ERROR_NOT_PERMITTED);
	cr_assert_eq(psa_aead_encrypt(aes, PSA_ALG_GCM, nonce, 12, NULL, 0,
	                              (const uint8_t *)"derived in the partition", 24, ct,
	                              sizeof(ct), &n),
	             PSA_SUCCESS);
	cr_assert(openssl_gcm_opens(ossl + 42, nonce, ct, n,
	                            (const uint8_t *)"derived in the partition", 24),
	          "OpenSSL opens it with HKDF's bytes 42..57");
	/* 58 bytes given out; what is left lowered to 6, then 7 asked for. */
	cr_assert_eq(psa_key_derivation_get_capacity(&op, &cap), PSA_SUCCESS);
	cr_assert_eq(cap, 255 * 32 - 58);
	cr_assert_eq(psa_key_derivation_set_capacity(&op, 6), PSA_SUCCESS);
	cr_assert_eq(psa_key_derivation_output_bytes(&op, out, 7), PSA_ERROR_INSUFFICIENT_DATA);
	cr_assert_eq(psa_key_derivation_abort(&op), PSA_SUCCESS);

	/* The partition's own capacity: 255 * 32 bytes, and not one more. */
	hkdf_from(&op, dk);
	{
		static uint8_t big[255 * 32];

		cr_assert_eq(psa_key_derivation_output_bytes(&op, big, sizeof(big)), PSA_SUCCESS);
		cr_assert_eq(memcmp(big, rfc_okm, sizeof(rfc_okm)), 0);
		cr_assert_eq(psa_key_derivation_output_bytes(&op, out, 1),
		             PSA_ERROR_INSUFFICIENT_DATA);
	}
	cr_assert_eq(psa_key_derivation_abort(&op), PSA_SUCCESS);
	cr_assert_eq(psa_destroy_key(aes), PSA_SUCCESS);
	cr_assert_eq(psa_destroy_key(dk), PSA_SUCCESS);
}

/* Another tenant's derive key is no key for it; a key without the DERIVE
 * flag is refused. */
Test(psa_ts, another_tenants_derive_key_is_an_invalid_handle)
{
	psa_key_id_t dk = make(150, PSA_KEY_TYPE_DERIVE, 0, PSA_KEY_USAGE_DERIVE,
	                       PSA_ALG_HKDF(PSA_ALG_SHA_256), rfc_ikm, sizeof(rfc_ikm));
	psa_key_id_t nk = make(151, PSA_KEY_TYPE_DERIVE, 0, PSA_KEY_USAGE_EXPORT,
	                       PSA_ALG_HKDF(PSA_ALG_SHA_256), rfc_ikm, sizeof(rfc_ikm));
	psa_key_derivation_operation_t op = PSA_KEY_DERIVATION_OPERATION_INIT;
	int status;
	pid_t pid = fork();

	cr_assert_geq(pid, 0);
	if (pid == 0) {
		psa_key_derivation_operation_t kd = PSA_KEY_DERIVATION_OPERATION_INIT;

		setenv("TESSERA_APP_NAME", "psa-on-ts-eve", 1);
		_exit(psa_key_derivation_setup(&kd, PSA_ALG_HKDF(PSA_ALG_SHA_256)) != PSA_SUCCESS ||
		      psa_key_derivation_input_key(&kd, PSA_KEY_DERIVATION_INPUT_SECRET, dk) !=
		              PSA_ERROR_INVALID_HANDLE);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	          "another tenant used the derive key");
	cr_assert_eq(psa_key_derivation_setup(&op, PSA_ALG_HKDF(PSA_ALG_SHA_256)), PSA_SUCCESS);
	cr_assert_eq(psa_key_derivation_input_key(&op, PSA_KEY_DERIVATION_INPUT_SECRET, nk),
	             PSA_ERROR_NOT_PERMITTED);
	cr_assert_eq(psa_key_derivation_abort(&op), PSA_SUCCESS);
	cr_assert_eq(psa_destroy_key(nk), PSA_SUCCESS);
	cr_assert_eq(psa_destroy_key(dk), PSA_SUCCESS);
}

/* A client that exits with operations open in the partition: the daemon
 * aborts them there (on a worker, not the loop), so the provider's slots
 * come back and another process can open as many. */
Test(psa_ts, operations_of_a_process_that_exits_are_aborted_in_the_partition)
{
	psa_key_id_t hk = make(130, PSA_KEY_TYPE_HMAC, 256, PSA_KEY_USAGE_SIGN_MESSAGE,
	                       PSA_ALG_HMAC(PSA_ALG_SHA_256), NULL, 0);
	psa_mac_operation_t ops[4];
	int status, opened = 0;
	pid_t pid = fork();

	cr_assert_geq(pid, 0);
	if (pid == 0) {
		int bad = 0;

		for (int i = 0; i < 4; i++) {
			ops[i] = psa_mac_operation_init();
			bad |= psa_mac_sign_setup(&ops[i], hk, PSA_ALG_HMAC(PSA_ALG_SHA_256)) !=
			       PSA_SUCCESS;
		}
		_exit(bad); /* with all four (the tenant's share) open */
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* The daemon learns of the close and frees on a worker: retried a while. */
	for (int tries = 0; tries < 100 && opened < 4; tries++) {
		for (; opened < 4; opened++) {
			ops[opened] = psa_mac_operation_init();
			if (psa_mac_sign_setup(&ops[opened], hk, PSA_ALG_HMAC(PSA_ALG_SHA_256)) !=
			    PSA_SUCCESS)
				break;
		}
		if (opened < 4)
			usleep((useconds_t)td_scale(20) * 1000);
	}
	cr_assert_eq(opened, 4, "the exited process's operations were not given back");
	for (int i = 0; i < 4; i++)
		cr_assert_eq(psa_mac_abort(&ops[i]), PSA_SUCCESS);
	cr_assert_eq(psa_destroy_key(hk), PSA_SUCCESS);
}

/* Derivations hold partition contexts too: a tenant's share of them (4)
 * and no more, those of a process that exits come back (aborted on a
 * worker), and none is recycled under its operation. */
Test(psa_ts, derivations_are_capped_and_those_of_an_exited_process_come_back)
{
	psa_key_id_t dk = make(160, PSA_KEY_TYPE_DERIVE, 0, PSA_KEY_USAGE_DERIVE,
	                       PSA_ALG_HKDF(PSA_ALG_SHA_256), rfc_ikm, sizeof(rfc_ikm));
	psa_key_derivation_operation_t ops[5];
	uint8_t out[42];
	int status, opened = 0;
	pid_t pid = fork();

	cr_assert_geq(pid, 0);
	if (pid == 0) {
		int bad = 0;

		for (int i = 0; i < 4; i++) {
			ops[i] = psa_key_derivation_operation_init();
			bad |= psa_key_derivation_setup(&ops[i], PSA_ALG_HKDF(PSA_ALG_SHA_256)) !=
			       PSA_SUCCESS;
		}
		_exit(bad);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	for (int tries = 0; tries < 100 && opened < 4; tries++) {
		for (; opened < 4; opened++) {
			ops[opened] = psa_key_derivation_operation_init();
			if (psa_key_derivation_setup(&ops[opened], PSA_ALG_HKDF(PSA_ALG_SHA_256)) !=
			    PSA_SUCCESS)
				break;
		}
		if (opened < 4)
			usleep((useconds_t)td_scale(20) * 1000);
	}
	cr_assert_eq(opened, 4, "the exited process's derivations were not given back");
	ops[4] = psa_key_derivation_operation_init();
	cr_assert_eq(psa_key_derivation_setup(&ops[4], PSA_ALG_HKDF(PSA_ALG_SHA_256)),
	             PSA_ERROR_INSUFFICIENT_MEMORY);
	cr_assert_eq(psa_key_derivation_abort(&ops[4]), PSA_SUCCESS);
	for (int i = 0; i < 4; i++) {
		cr_assert_eq(psa_key_derivation_abort(&ops[i]), PSA_SUCCESS);
		hkdf_from(&ops[i], dk);
	}
	for (int i = 0; i < 4; i++) {
		cr_assert_eq(psa_key_derivation_output_bytes(&ops[i], out, sizeof(out)),
		             PSA_SUCCESS, "operation %d", i);
		cr_assert_eq(memcmp(out, rfc_okm, sizeof(out)), 0, "operation %d", i);
		cr_assert_eq(psa_key_derivation_abort(&ops[i]), PSA_SUCCESS);
	}
	cr_assert_eq(psa_destroy_key(dk), PSA_SUCCESS);
}

/* A CBC-PKCS7 decryption across requests in updates of whole blocks: the
 * service holds the last block back each time, and the real one sizes an
 * update's output as its input rounded up to a block. */
Test(psa_ts, a_key_for_messages_only_signs_and_verifies_messages_but_no_hash)
{
	static const uint8_t scalar[32] = {0x11, 0x22, 0x33, 0x44, 5, 6, 7, 8, 9, 10, 11, 12};
	static const char msg[] = "signed as a message, hashed by the daemon";
	psa_algorithm_t alg = PSA_ALG_ECDSA(PSA_ALG_SHA_256);
	uint8_t sig[PSA_SIGNATURE_MAX_SIZE], h[32];
	size_t sl = 0, hl = 0;
	psa_key_id_t k = make(170, PSA_KEY_TYPE_ECC_KEY_PAIR(PSA_ECC_FAMILY_SECP_R1), 256,
	                      PSA_KEY_USAGE_SIGN_MESSAGE | PSA_KEY_USAGE_VERIFY_MESSAGE, alg,
	                      scalar, sizeof(scalar));

	/* The partition is asked for SIGN_HASH / VERIFY_HASH, which the key's
	 * own policy does not name: the client's policy is still what holds. */
	cr_assert_eq(
	        psa_sign_message(k, alg, (const uint8_t *)msg, sizeof(msg), sig, sizeof(sig), &sl),
	        PSA_SUCCESS);
	cr_assert_eq(sl, 64);
	cr_assert_eq(psa_verify_message(k, alg, (const uint8_t *)msg, sizeof(msg), sig, sl),
	             PSA_SUCCESS);
	sig[5] ^= 1;
	cr_assert_eq(psa_verify_message(k, alg, (const uint8_t *)msg, sizeof(msg), sig, sl),
	             PSA_ERROR_INVALID_SIGNATURE);
	sha(EVP_sha256(), msg, sizeof(msg), h, &hl);
	cr_assert_eq(psa_sign_hash(k, alg, h, hl, sig, sizeof(sig), &sl), PSA_ERROR_NOT_PERMITTED);
	cr_assert_eq(psa_destroy_key(k), PSA_SUCCESS);
}

Test(psa_ts, gcm_tags_psa_does_not_allow_are_refused_before_the_partition)
{
	static const uint8_t key[16] = {9}, nonce[12] = {1};
	uint8_t text[40] = {4}, out[80];
	size_t n = 0;

	for (size_t t = 1; t <= 16; t++) {
		bool allowed = t == 4 || t == 8 || t >= 12;
		psa_algorithm_t alg = PSA_ALG_AEAD_WITH_SHORTENED_TAG(PSA_ALG_GCM, t);
		psa_aead_operation_t op = PSA_AEAD_OPERATION_INIT;
		psa_key_id_t k = make(150 + (psa_key_id_t)t, PSA_KEY_TYPE_AES, 128,
		                      PSA_KEY_USAGE_ENCRYPT, alg, key, sizeof(key));

		cr_assert_eq(psa_aead_encrypt(k, alg, nonce, sizeof(nonce), NULL, 0, text,
		                              sizeof(text), out, sizeof(out), &n),
		             allowed ? PSA_SUCCESS : PSA_ERROR_INVALID_ARGUMENT, "tag of %zu", t);
		if (allowed)
			cr_assert_eq(n, sizeof(text) + t);
		cr_assert_eq(psa_aead_encrypt_setup(&op, k, alg),
		             allowed ? PSA_SUCCESS : PSA_ERROR_INVALID_ARGUMENT, "tag of %zu", t);
		cr_assert_eq(psa_aead_abort(&op), PSA_SUCCESS);
		cr_assert_eq(psa_destroy_key(k), PSA_SUCCESS);
	}
}

Test(psa_ts, a_multipart_cbc_pkcs7_decryption_takes_updates_of_whole_blocks)
{
	static const uint8_t key[16] = {7};
	uint8_t text[9000], ct[9100], out[9100];
	size_t n = 0, cl = 0, total = 0;
	psa_cipher_operation_t op = PSA_CIPHER_OPERATION_INIT;
	psa_key_id_t k;

	for (size_t i = 0; i < sizeof(text); i++)
		text[i] = (uint8_t)(i * 7);
	k = make(140, PSA_KEY_TYPE_AES, 128, PSA_KEY_USAGE_ENCRYPT | PSA_KEY_USAGE_DECRYPT,
	         PSA_ALG_CBC_PKCS7, key, sizeof(key));
	cr_assert_eq(
	        psa_cipher_encrypt(k, PSA_ALG_CBC_PKCS7, text, sizeof(text), ct, sizeof(ct), &cl),
	        PSA_SUCCESS);
	cr_assert_eq(cl, 16 + 9008);
	cr_assert_eq(psa_cipher_decrypt_setup(&op, k, PSA_ALG_CBC_PKCS7), PSA_SUCCESS);
	cr_assert_eq(psa_cipher_set_iv(&op, ct, 16), PSA_SUCCESS);
	/* 32, 16, then 8960 (three pieces of the provider's 4 KiB on top of a
	 * held block): whole blocks every time. */
	for (size_t off = 16, step = 32; off < cl; off += step, step = off == 48 ? 16 : cl - off) {
		cr_assert_eq(psa_cipher_update(&op, ct + off, step, out + total,
		                               sizeof(out) - total, &n),
		             PSA_SUCCESS, "update of %zu at %zu", step, off);
		total += n;
	}
	cr_assert_eq(psa_cipher_finish(&op, out + total, sizeof(out) - total, &n), PSA_SUCCESS);
	total += n;
	cr_assert_eq(total, sizeof(text));
	cr_assert_eq(memcmp(out, text, total), 0);
	cr_assert_eq(psa_destroy_key(k), PSA_SUCCESS);
}

/* ---- a key agreement followed by a KDF, in the partition ---- */

#define ECDH_HKDF PSA_ALG_KEY_AGREEMENT(PSA_ALG_ECDH, PSA_ALG_HKDF(PSA_ALG_SHA_256))

/* ECDH P-256 with HKDF-SHA-256: a private key imported by PSA ID with that
 * policy agrees in the partition with OpenSSL's peer key (the secret stays
 * there, as the derivation's secret), and the output is OpenSSL's ECDH
 * secret through OpenSSL's HKDF; the raw agreement is not the key's
 * algorithm, and a key without DERIVE is refused. */
Test(psa_ts, ecdh_then_hkdf_in_the_partition_matches_openssl)
{
	static const uint8_t scalar[32] = {0x1c, 0x2d, 0x3e, 0x4f, 0x50, 0x61, 0x72, 0x83,
	                                   0x94, 0xa5, 0xb6, 0xc7, 0xd8, 0xe9, 0xfa, 0x0b,
	                                   0x1c, 0x2d, 0x3e, 0x4f, 0x50, 0x61, 0x72, 0x83,
	                                   0x94, 0xa5, 0xb6, 0xc7, 0xd8, 0xe9, 0xfa, 0x0b};
	psa_key_id_t k = make(170, PSA_KEY_TYPE_ECC_KEY_PAIR(PSA_ECC_FAMILY_SECP_R1), 256,
	                      PSA_KEY_USAGE_DERIVE, ECDH_HKDF, scalar, sizeof(scalar));
	psa_key_id_t nd = make(171, PSA_KEY_TYPE_ECC_KEY_PAIR(PSA_ECC_FAMILY_SECP_R1), 256,
	                       PSA_KEY_USAGE_EXPORT, ECDH_HKDF, scalar, sizeof(scalar));
	psa_key_derivation_operation_t op = PSA_KEY_DERIVATION_OPERATION_INIT;
	EVP_PKEY *peer = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256"), *ours;
	EVP_PKEY_CTX *c;
	uint8_t pub[PSA_EXPORT_PUBLIC_KEY_MAX_SIZE], secret[32], want[48], out[48], raw[32];
	uint8_t *peer_pub = NULL;
	size_t pl = 0, sl = sizeof(secret), ppl, n = 0;

	cr_assert_not_null(peer);
	ppl = EVP_PKEY_get1_encoded_public_key(peer, &peer_pub);
	cr_assert_eq(ppl, 65);
	cr_assert_eq(psa_export_public_key(k, pub, sizeof(pub), &pl), PSA_SUCCESS);
	ours = ec_public("prime256v1", pub, pl);
	c = EVP_PKEY_CTX_new(peer, NULL);
	cr_assert_eq(EVP_PKEY_derive_init(c), 1);
	cr_assert_eq(EVP_PKEY_derive_set_peer(c, ours), 1);
	cr_assert_eq(EVP_PKEY_derive(c, secret, &sl), 1);
	cr_assert_eq(sl, 32);
	EVP_PKEY_CTX_free(c);
	EVP_PKEY_free(ours);
	openssl_hkdf(secret, sl, want, sizeof(want));

	cr_assert_eq(psa_key_derivation_setup(&op, ECDH_HKDF), PSA_SUCCESS);
	cr_assert_eq(psa_key_derivation_input_bytes(&op, PSA_KEY_DERIVATION_INPUT_SALT, rfc_salt,
	                                            sizeof(rfc_salt)),
	             PSA_SUCCESS);
	cr_assert_eq(psa_key_derivation_key_agreement(&op, PSA_KEY_DERIVATION_INPUT_SECRET, k,
	                                              peer_pub, ppl),
	             PSA_SUCCESS);
	cr_assert_eq(psa_key_derivation_input_bytes(&op, PSA_KEY_DERIVATION_INPUT_INFO, rfc_info,
	                                            sizeof(rfc_info)),
	             PSA_SUCCESS);
	cr_assert_eq(psa_key_derivation_output_bytes(&op, out, 20), PSA_SUCCESS);
	cr_assert_eq(psa_key_derivation_output_bytes(&op, out + 20, 28), PSA_SUCCESS);
	cr_assert_eq(memcmp(out, want, sizeof(want)), 0, "OpenSSL's ECDH then HKDF");
	cr_assert_eq(psa_key_derivation_abort(&op), PSA_SUCCESS);

	/* The key's policy is the agreement with its KDF: no raw agreement. */
	cr_assert_eq(psa_raw_key_agreement(PSA_ALG_ECDH, k, peer_pub, ppl, raw, sizeof(raw), &n),
	             PSA_ERROR_NOT_PERMITTED);
	/* Without DERIVE usage the agreement step is refused. */
	cr_assert_eq(psa_key_derivation_setup(&op, ECDH_HKDF), PSA_SUCCESS);
	cr_assert_eq(psa_key_derivation_key_agreement(&op, PSA_KEY_DERIVATION_INPUT_SECRET, nd,
	                                              peer_pub, ppl),
	             PSA_ERROR_NOT_PERMITTED);
	cr_assert_eq(psa_key_derivation_abort(&op), PSA_SUCCESS);

	OPENSSL_free(peer_pub);
	EVP_PKEY_free(peer);
	cr_assert_eq(psa_destroy_key(nd), PSA_SUCCESS);
	cr_assert_eq(psa_destroy_key(k), PSA_SUCCESS);
}

/* A DERIVE key whose policy is ECDH with HKDF-SHA-256 feeds such an
 * operation as its secret by input_key: RFC 5869 A.1's output. */
Test(psa_ts, a_derive_key_for_ecdh_then_hkdf_is_the_secret_by_input_key)
{
	psa_key_id_t dk = make(172, PSA_KEY_TYPE_DERIVE, 0, PSA_KEY_USAGE_DERIVE, ECDH_HKDF,
	                       rfc_ikm, sizeof(rfc_ikm));
	psa_key_derivation_operation_t op = PSA_KEY_DERIVATION_OPERATION_INIT;
	psa_key_attributes_t got = PSA_KEY_ATTRIBUTES_INIT;
	uint8_t out[42];

	cr_assert_eq(psa_get_key_attributes(dk, &got), PSA_SUCCESS);
	cr_assert_eq(psa_get_key_algorithm(&got), ECDH_HKDF);
	cr_assert_eq(psa_key_derivation_setup(&op, ECDH_HKDF), PSA_SUCCESS);
	cr_assert_eq(psa_key_derivation_input_bytes(&op, PSA_KEY_DERIVATION_INPUT_SALT, rfc_salt,
	                                            sizeof(rfc_salt)),
	             PSA_SUCCESS);
	cr_assert_eq(psa_key_derivation_input_key(&op, PSA_KEY_DERIVATION_INPUT_SECRET, dk),
	             PSA_SUCCESS);
	cr_assert_eq(psa_key_derivation_input_bytes(&op, PSA_KEY_DERIVATION_INPUT_INFO, rfc_info,
	                                            sizeof(rfc_info)),
	             PSA_SUCCESS);
	cr_assert_eq(psa_key_derivation_output_bytes(&op, out, sizeof(out)), PSA_SUCCESS);
	cr_assert_eq(memcmp(out, rfc_okm, sizeof(rfc_okm)), 0, "RFC 5869 A.1's OKM");
	cr_assert_eq(psa_key_derivation_abort(&op), PSA_SUCCESS);
	cr_assert_eq(psa_destroy_key(dk), PSA_SUCCESS);
}
