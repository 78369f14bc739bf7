/*
 * The PSA Crypto C API (libtessera-psa) against tesserad whose default
 * provider is Trusted Services, on the test endpoint's stand-in: keys made
 * in the partition by PSA key ID, signatures OpenSSL verifies, multipart
 * MAC, cipher and AEAD held in the partition across requests (within the
 * provider's cap below the partition's pool), a key that may not leave the
 * partition copied inside it, hashing done by the daemon, and key
 * derivation answered NotSupported (the provider has none).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/evp.h>

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

Test(psa_ts, hashing_is_the_daemons_and_derivation_is_not_the_partitions)
{
	psa_hash_operation_t h = PSA_HASH_OPERATION_INIT;
	psa_key_derivation_operation_t kd = PSA_KEY_DERIVATION_OPERATION_INIT;
	uint8_t d1[32], d2[32];
	size_t l1 = 0, l2 = 0;

	cr_assert_eq(psa_hash_setup(&h, PSA_ALG_SHA_256), PSA_SUCCESS);
	cr_assert_eq(psa_hash_update(&h, (const uint8_t *)"ab", 2), PSA_SUCCESS);
	cr_assert_eq(psa_hash_update(&h, (const uint8_t *)"c", 1), PSA_SUCCESS);
	cr_assert_eq(psa_hash_finish(&h, d1, sizeof(d1), &l1), PSA_SUCCESS);
	sha(EVP_sha256(), "abc", 3, d2, &l2);
	cr_assert_eq(l1, l2);
	cr_assert_eq(memcmp(d1, d2, l1), 0);
	cr_assert_eq(psa_key_derivation_setup(&kd, PSA_ALG_HKDF(PSA_ALG_SHA_256)),
	             PSA_ERROR_NOT_SUPPORTED);
	cr_assert_eq(psa_key_derivation_abort(&kd), PSA_SUCCESS);
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

/* A CBC-PKCS7 decryption across requests in updates of whole blocks: the
 * service holds the last block back each time, and the real one sizes an
 * update's output as its input rounded up to a block. */
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
