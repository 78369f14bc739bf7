/*
 * The TPM provider end to end, on a swtpm each test starts for itself (Unix
 * sockets in the test's temporary directory, killed with the test):
 * signatures checked by OpenSSL on the exported public key, more keys than
 * the TPM has object slots, keys that outlive tesserad and swtpm restarts,
 * tenant isolation, and the start-up errors an administrator meets (a
 * cleared TPM, a TPM that is not there, a wrong owner auth value).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "attest_key.pb-c.h"
#include "client/tessera.h"
#include "harness.h"
#include "prepare_key_attestation.pb-c.h"
#include "swtpm.h"

#define TESSERAD TESSERA_BUILD_DIR "/daemon/tesserad"
#define TPM_ID   3

static struct td d;
static struct tessera_client *c;
static char tdir[64]; /* swtpm's directory */
static char tpm_sock[128];
static pid_t swtpm_pid;
static int swtpm_gen; /* state directories used so far: a new one = a cleared TPM */
static char config[2048];

/* ---- swtpm ---- */

static void swtpm_start(int gen)
{
	swtpm_pid = td_swtpm_start(tdir, tpm_sock, gen);
}

static void swtpm_stop(void)
{
	td_swtpm_stop(&swtpm_pid);
}

/* The configuration with the provider's settings (extra: more keys). */
static const char *tpm_config(const char *tcti, const char *extra)
{
	snprintf(config, sizeof(config),
	         "{\"core\": {\"allow_root\": true, \"log_level\": \"debug\", "
	         "\"log_error_details\": true},"
	         " \"listener\": {\"socket_path\": \"%%1$s\", \"timeout_ms\": 5000},"
	         " \"authenticators\": [{\"type\": \"Direct\"}],"
	         " \"providers\": [{\"type\": \"Tpm\", \"tcti\": \"%s\"%s}]}",
	         tcti, extra != NULL ? extra : "");
	return config;
}

static struct tessera_client *client_as(const char *app)
{
	struct tessera_options o;
	struct tessera_client *cl;
	char ep[160];

	tessera_options_init(&o);
	snprintf(ep, sizeof(ep), "unix:%s", d.sock);
	o.endpoint = ep;
	o.auth_type = TESSERA_AUTH_DIRECT;
	o.app_name = app;
	cr_assert_eq(tessera_open(&o, &cl), TESSERA_OK);
	return cl;
}

static void setup(void)
{
	char tcti[200];

	strcpy(tdir, "/tmp/tstpm.XXXXXX");
	cr_assert_not_null(mkdtemp(tdir));
	snprintf(tpm_sock, sizeof(tpm_sock), "%s/tpm.sock", tdir);
	swtpm_gen = 0;
	swtpm_start(swtpm_gen);
	snprintf(tcti, sizeof(tcti), "swtpm:path=%s", tpm_sock);
	td_start(&d, tpm_config(tcti, NULL));
	c = client_as("alice");
}

static void teardown(void)
{
	char cmd[128];

	tessera_close(c);
	c = NULL;
	cr_assert_eq(td_stop(&d), 0);
	swtpm_stop();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tdir);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(tpm, .init = setup, .fini = teardown, .timeout = 120);

/* ---- OpenSSL on the exported public key ---- */

static EVP_PKEY *public_key(const char *name, const char *type, uint32_t bits)
{
	uint8_t *pub = NULL;
	size_t len = 0;
	EVP_PKEY *pk = NULL;

	cr_assert_eq(tessera_export_public_key(c, TPM_ID, name, &pub, &len), TESSERA_OK);
	if (strcmp(type, "rsa") == 0) {
		const uint8_t *p = pub;

		pk = d2i_PublicKey(EVP_PKEY_RSA, NULL, &p, (long)len);
	} else {
		OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
		OSSL_PARAM *params;
		EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);

		cr_assert_eq(len, 1 + 2 * ((bits + 7) / 8));
		OSSL_PARAM_BLD_push_utf8_string(b, OSSL_PKEY_PARAM_GROUP_NAME,
		                                bits == 256 ? "P-256" : "P-384", 0);
		OSSL_PARAM_BLD_push_octet_string(b, OSSL_PKEY_PARAM_PUB_KEY, pub, len);
		params = OSSL_PARAM_BLD_to_param(b);
		cr_assert_eq(EVP_PKEY_fromdata_init(pc), 1);
		cr_assert_eq(EVP_PKEY_fromdata(pc, &pk, EVP_PKEY_PUBLIC_KEY, params), 1);
		OSSL_PARAM_free(params);
		OSSL_PARAM_BLD_free(b);
		EVP_PKEY_CTX_free(pc);
	}
	free(pub);
	cr_assert_not_null(pk, "the exported public key of %s does not parse", name);
	return pk;
}

/* OpenSSL's verdict on a PSA signature: 1 verifies, 0 does not. */
static int openssl_verifies(EVP_PKEY *pk, const char *alg, const uint8_t *hash, size_t hash_len,
                            const uint8_t *sig, size_t sig_len)
{
	const EVP_MD *md = hash_len == 48 ? EVP_sha384() : EVP_sha256();
	EVP_PKEY_CTX *vc = EVP_PKEY_CTX_new(pk, NULL);
	uint8_t der[160];
	const uint8_t *s = sig;
	size_t slen = sig_len;
	int ok;

	cr_assert_eq(EVP_PKEY_verify_init(vc), 1);
	cr_assert_eq(EVP_PKEY_CTX_set_signature_md(vc, md), 1);
	if (strncmp(alg, "ecdsa", 5) == 0) {
		/* PSA signatures are r || s; OpenSSL verifies DER. */
		ECDSA_SIG *es = ECDSA_SIG_new();
		unsigned char *p = der;
		size_t n = sig_len / 2;

		ECDSA_SIG_set0(es, BN_bin2bn(sig, (int)n, NULL), BN_bin2bn(sig + n, (int)n, NULL));
		slen = (size_t)i2d_ECDSA_SIG(es, &p);
		ECDSA_SIG_free(es);
		s = der;
	} else if (strncmp(alg, "rsa-pss", 7) == 0) {
		cr_assert_eq(EVP_PKEY_CTX_set_rsa_padding(vc, RSA_PKCS1_PSS_PADDING), 1);
		/* PSA's PSS: the salt is as long as the hash. */
		cr_assert_eq(EVP_PKEY_CTX_set_rsa_pss_saltlen(vc, RSA_PSS_SALTLEN_DIGEST), 1);
	} else {
		cr_assert_eq(EVP_PKEY_CTX_set_rsa_padding(vc, RSA_PKCS1_PADDING), 1);
	}
	ok = EVP_PKEY_verify(vc, s, slen, hash, hash_len);
	EVP_PKEY_CTX_free(vc);
	return ok == 1;
}

static void make_key(const char *name, const char *type, uint32_t bits, const char *alg)
{
	struct tessera_key_spec s = {.type = type,
	                             .bits = bits,
	                             .alg = alg,
	                             .usage = TESSERA_USAGE_SIGN_HASH | TESSERA_USAGE_VERIFY_HASH |
	                                      TESSERA_USAGE_SIGN_MESSAGE |
	                                      TESSERA_USAGE_VERIFY_MESSAGE};

	int rc = tessera_generate_key(c, TPM_ID, name, &s);

	if (rc != TESSERA_OK)
		td_dump_log(&d);
	cr_assert_eq(rc, TESSERA_OK, "generate %s: %d", name, rc);
}

/* Sign a hash with the key, check tesserad and OpenSSL both accept it and
 * both refuse it altered. */
static void sign_and_check(const char *name, EVP_PKEY *pk, const char *alg, size_t hash_len,
                           uint8_t seed)
{
	uint8_t h[48], *sig = NULL;
	size_t len = 0;

	memset(h, seed, sizeof(h));
	h[0] = (uint8_t)hash_len;
	cr_assert_eq(tessera_sign_hash(c, TPM_ID, name, alg, h, hash_len, &sig, &len), TESSERA_OK,
	             "sign with %s", name);
	cr_assert_eq(tessera_verify_hash(c, TPM_ID, name, alg, h, hash_len, sig, len), TESSERA_OK);
	cr_assert(openssl_verifies(pk, alg, h, hash_len, sig, len), "OpenSSL rejects %s's %s", name,
	          alg);
	sig[len / 3] ^= 0x40;
	cr_assert_eq(tessera_verify_hash(c, TPM_ID, name, alg, h, hash_len, sig, len), 1149);
	cr_assert(!openssl_verifies(pk, alg, h, hash_len, sig, len));
	free(sig);
}

Test(tpm, ecdsa_signatures_made_in_the_tpm_verify_in_openssl_with_the_exported_key)
{
	EVP_PKEY *pk;

	make_key("p256", "ecc", 256, "ecdsa-sha256");
	pk = public_key("p256", "ecc", 256);
	sign_and_check("p256", pk, "ecdsa-sha256", 32, 0x11);
	EVP_PKEY_free(pk);
	make_key("p384", "ecc", 384, "ecdsa-sha384");
	pk = public_key("p384", "ecc", 384);
	sign_and_check("p384", pk, "ecdsa-sha384", 48, 0x22);
	EVP_PKEY_free(pk);
}

Test(tpm, rsa_pkcs1_and_pss_signatures_verify_in_openssl)
{
	EVP_PKEY *pk;

	make_key("pkcs1", "rsa", 2048, "rsa-pkcs1-sha256");
	pk = public_key("pkcs1", "rsa", 2048);
	cr_assert_eq(EVP_PKEY_get_bits(pk), 2048);
	sign_and_check("pkcs1", pk, "rsa-pkcs1-sha256", 32, 0x33);
	EVP_PKEY_free(pk);
	make_key("pss", "rsa", 2048, "rsa-pss-sha256");
	pk = public_key("pss", "rsa", 2048);
	sign_and_check("pss", pk, "rsa-pss-sha256", 32, 0x44);
	EVP_PKEY_free(pk);
}

/* OpenSSL encrypts for the key (OAEP with SHA-256, or PKCS#1 v1.5). */
static size_t openssl_encrypt(EVP_PKEY *pk, bool oaep, const uint8_t *label, size_t label_len,
                              const uint8_t *in, size_t len, uint8_t *out, size_t outsize)
{
	EVP_PKEY_CTX *ec = EVP_PKEY_CTX_new(pk, NULL);
	size_t n = outsize;

	cr_assert_eq(EVP_PKEY_encrypt_init(ec), 1);
	if (oaep) {
		cr_assert_eq(EVP_PKEY_CTX_set_rsa_padding(ec, RSA_PKCS1_OAEP_PADDING), 1);
		cr_assert_eq(EVP_PKEY_CTX_set_rsa_oaep_md(ec, EVP_sha256()), 1);
		cr_assert_eq(EVP_PKEY_CTX_set_rsa_mgf1_md(ec, EVP_sha256()), 1);
		if (label_len > 0)
			cr_assert_eq(EVP_PKEY_CTX_set0_rsa_oaep_label(
			                     ec, OPENSSL_memdup(label, label_len), (int)label_len),
			             1);
	} else {
		cr_assert_eq(EVP_PKEY_CTX_set_rsa_padding(ec, RSA_PKCS1_PADDING), 1);
	}
	cr_assert_eq(EVP_PKEY_encrypt(ec, out, &n, in, len), 1);
	EVP_PKEY_CTX_free(ec);
	return n;
}

static void make_enc_key(const char *name, uint32_t bits, const char *alg)
{
	struct tessera_key_spec s = {.type = "rsa",
	                             .bits = bits,
	                             .alg = alg,
	                             .usage = TESSERA_USAGE_ENCRYPT | TESSERA_USAGE_DECRYPT};

	cr_assert_eq(tessera_generate_key(c, TPM_ID, name, &s), TESSERA_OK, "generate %s", name);
}

Test(tpm, rsa_oaep_and_pkcs1_decrypt_in_the_tpm_what_openssl_encrypted)
{
	static const uint8_t secret[] = "a secret for the TPM", good[] = "abc", bad[] = "abc";
	uint8_t ct[512], *pt = NULL, *ct2 = NULL;
	size_t n, len = 0, len2 = 0;
	EVP_PKEY *pk;

	make_enc_key("oaep", 2048, "rsa-oaep-sha256");
	pk = public_key("oaep", "rsa", 2048);
	/* No label. */
	n = openssl_encrypt(pk, true, NULL, 0, secret, sizeof(secret), ct, sizeof(ct));
	cr_assert_eq(tessera_asymmetric_decrypt(c, TPM_ID, "oaep", "rsa-oaep-sha256", ct, n, NULL,
	                                        0, &pt, &len),
	             TESSERA_OK);
	cr_assert_eq(len, sizeof(secret));
	cr_assert_arr_eq(pt, secret, len);
	free(pt);
	/* A label ending in a 0 byte (the TPM's rule; "abc" and its 0 here). */
	n = openssl_encrypt(pk, true, good, sizeof(good), secret, sizeof(secret), ct, sizeof(ct));
	cr_assert_eq(tessera_asymmetric_decrypt(c, TPM_ID, "oaep", "rsa-oaep-sha256", ct, n, good,
	                                        sizeof(good), &pt, &len),
	             TESSERA_OK);
	cr_assert_arr_eq(pt, secret, sizeof(secret));
	free(pt);
	/* A label the TPM cannot take is refused, not altered. */
	cr_assert_eq(tessera_asymmetric_decrypt(c, TPM_ID, "oaep", "rsa-oaep-sha256", ct, n, bad, 3,
	                                        &pt, &len),
	             1134);
	/* A damaged ciphertext. */
	ct[10] ^= 1;
	cr_assert_eq(tessera_asymmetric_decrypt(c, TPM_ID, "oaep", "rsa-oaep-sha256", ct, n, good,
	                                        sizeof(good), &pt, &len),
	             1150);
	/* Round trip through tesserad alone. */
	cr_assert_eq(tessera_asymmetric_encrypt(c, TPM_ID, "oaep", "rsa-oaep-sha256", secret,
	                                        sizeof(secret), NULL, 0, &ct2, &len2),
	             TESSERA_OK);
	cr_assert_eq(len2, 256);
	cr_assert_eq(tessera_asymmetric_decrypt(c, TPM_ID, "oaep", "rsa-oaep-sha256", ct2, len2,
	                                        NULL, 0, &pt, &len),
	             TESSERA_OK);
	cr_assert_arr_eq(pt, secret, sizeof(secret));
	free(pt);
	free(ct2);
	EVP_PKEY_free(pk);

	make_enc_key("pkcs1", 2048, "rsa-pkcs1");
	pk = public_key("pkcs1", "rsa", 2048);
	n = openssl_encrypt(pk, false, NULL, 0, secret, sizeof(secret), ct, sizeof(ct));
	cr_assert_eq(tessera_asymmetric_decrypt(c, TPM_ID, "pkcs1", "rsa-pkcs1", ct, n, NULL, 0,
	                                        &pt, &len),
	             TESSERA_OK);
	cr_assert_arr_eq(pt, secret, sizeof(secret));
	free(pt);
	ct[0] ^= 0x20;
	cr_assert_eq(tessera_asymmetric_decrypt(c, TPM_ID, "pkcs1", "rsa-pkcs1", ct, n, NULL, 0,
	                                        &pt, &len),
	             1150);
	/* The TPM still works after the bad padding (libtpms says "failure"). */
	cr_assert_eq(tessera_asymmetric_encrypt(c, TPM_ID, "pkcs1", "rsa-pkcs1", secret,
	                                        sizeof(secret), NULL, 0, &ct2, &len2),
	             TESSERA_OK);
	cr_assert_eq(tessera_asymmetric_decrypt(c, TPM_ID, "pkcs1", "rsa-pkcs1", ct2, len2, NULL, 0,
	                                        &pt, &len),
	             TESSERA_OK);
	cr_assert_arr_eq(pt, secret, sizeof(secret));
	free(pt);
	free(ct2);
	EVP_PKEY_free(pk);
}

Test(tpm, rsa_3072_signs_and_4096_is_not_supported_on_swtpm)
{
	struct tessera_key_spec s = {.type = "rsa",
	                             .bits = 4096,
	                             .alg = "rsa-pkcs1-sha256",
	                             .usage = TESSERA_USAGE_SIGN_HASH};
	EVP_PKEY *pk;

	make_key("r3072", "rsa", 3072, "rsa-pss-sha256");
	pk = public_key("r3072", "rsa", 3072);
	cr_assert_eq(EVP_PKEY_get_bits(pk), 3072);
	sign_and_check("r3072", pk, "rsa-pss-sha256", 32, 0x55);
	EVP_PKEY_free(pk);
	{
		int rc = tessera_generate_key(c, TPM_ID, "r4096", &s);

		cr_assert_eq(rc, 1134, "rc %d", rc);
	}
}

Test(tpm, can_do_crypto_asks_the_tpm)
{
	static const struct {
		int check;
		struct tessera_key_spec spec;
		int want;
	} cases[] = {
	        {2, {"ecc", 256, "ecdsa-sha256", TESSERA_USAGE_SIGN_HASH}, TESSERA_OK},
	        {2, {"ecc", 384, "ecdsa-sha384", TESSERA_USAGE_SIGN_HASH}, TESSERA_OK},
	        {2, {"ecc", 521, "ecdsa-sha512", TESSERA_USAGE_SIGN_HASH}, TESSERA_OK},
	        {2, {"rsa", 1024, "rsa-pkcs1-sha256", TESSERA_USAGE_SIGN_HASH}, TESSERA_OK},
	        {2, {"rsa", 3072, "rsa-pss-sha256", TESSERA_USAGE_SIGN_HASH}, TESSERA_OK},
	        {1, {"rsa", 2048, "rsa-oaep-sha256", TESSERA_USAGE_DECRYPT}, TESSERA_OK},
	        /* swtpm 0.7 has no RSA-4096; no secp256k1 on a TPM. */
	        {2, {"rsa", 4096, "rsa-pkcs1-sha256", TESSERA_USAGE_SIGN_HASH}, 1134},
	        {2, {"secp256k1", 256, "ecdsa-sha256", TESSERA_USAGE_SIGN_HASH}, 1134},
	        {3, {"ecc", 256, "ecdsa-sha256", TESSERA_USAGE_SIGN_HASH}, TESSERA_OK},
	        {3, {"rsa", 2048, "rsa-pkcs1-sha256", TESSERA_USAGE_SIGN_HASH}, TESSERA_OK},
	        {2, {"aes", 128, "aes-gcm", TESSERA_USAGE_ENCRYPT}, 1134},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = tessera_can_do_crypto(c, TPM_ID, cases[i].check, &cases[i].spec);

		cr_assert_eq(rc, cases[i].want, "case %zu: %d", i, rc);
	}
}

Test(tpm, a_message_is_hashed_and_signed_with_the_key)
{
	static const uint8_t msg[] = "a message for the TPM";
	uint8_t *sig = NULL, h[32];
	size_t len = 0;
	unsigned hl = 32;
	EVP_PKEY *pk;

	make_key("m", "ecc", 256, "ecdsa-sha256");
	cr_assert_eq(
	        tessera_sign_message(c, TPM_ID, "m", "ecdsa-sha256", msg, sizeof(msg), &sig, &len),
	        TESSERA_OK);
	cr_assert_eq(
	        tessera_verify_message(c, TPM_ID, "m", "ecdsa-sha256", msg, sizeof(msg), sig, len),
	        TESSERA_OK);
	cr_assert_eq(EVP_Digest(msg, sizeof(msg), h, &hl, EVP_sha256(), NULL), 1);
	pk = public_key("m", "ecc", 256);
	cr_assert(openssl_verifies(pk, "ecdsa", h, 32, sig, len));
	EVP_PKEY_free(pk);
	free(sig);
	/* The policy binds the key to its hash. */
	cr_assert_eq(
	        tessera_sign_message(c, TPM_ID, "m", "ecdsa-sha384", msg, sizeof(msg), &sig, &len),
	        1133);
}

/* swtpm has 3 object slots and the root key takes one: eight keys used in
 * turn are loaded and flushed by the provider's cache. */
Test(tpm, more_keys_than_the_tpm_has_object_slots_work_in_turn)
{
	enum { N = 8 };
	EVP_PKEY *pk[N];
	char name[N][16];

	for (int i = 0; i < N; i++) {
		snprintf(name[i], sizeof(name[i]), "k%d", i);
		make_key(name[i], "ecc", 256, "ecdsa-sha256");
		pk[i] = public_key(name[i], "ecc", 256);
		/* Each creation with the TPM full of loaded keys. */
		sign_and_check(name[i], pk[i], "ecdsa-sha256", 32, (uint8_t)(0xa0 + i));
	}
	for (int round = 0; round < 3; round++)
		for (int i = 0; i < N; i++) {
			int k = round == 1 ? N - 1 - i : (i * 3) % N;

			sign_and_check(name[k], pk[k], "ecdsa-sha256", 32,
			               (uint8_t)(round * N + i));
		}
	/* A destroyed key is gone, the others still sign. */
	cr_assert_eq(tessera_destroy_key(c, TPM_ID, "k3"), TESSERA_OK);
	cr_assert_eq(tessera_export_public_key(c, TPM_ID, "k3", &(uint8_t *){NULL}, &(size_t){0}),
	             1140);
	sign_and_check("k4", pk[4], "ecdsa-sha256", 32, 0x77);
	/* A cache larger than the TPM: the provider learns from the TPM's
	 * "out of object memory" and flushes until the load fits. */
	{
		char tcti[200];

		tessera_close(c);
		snprintf(tcti, sizeof(tcti), "swtpm:path=%s", tpm_sock);
		/* Password sessions too, this time. */
		td_write_config(&d,
		                tpm_config(tcti, ", \"loaded_keys\": 8, \"hmac_sessions\": false"));
		cr_assert_eq(td_restart(&d, SIGTERM), 0);
		c = client_as("alice");
		for (int i = 0; i < 2 * N; i++)
			if (i % N != 3)
				sign_and_check(name[i % N], pk[i % N], "ecdsa-sha256", 32,
				               (uint8_t)i);
		cr_assert_geq(td_log_count(&d, "out of object memory"), 1);
	}
	for (int i = 0; i < N; i++)
		EVP_PKEY_free(pk[i]);
}

/* 64 clients at once, 200 keys, 3 object slots: every request succeeds
 * (8 clients and 16 keys under valgrind, which is 50 times slower). */
enum { CLIENTS = 64, KEYS = 200 };
static int n_clients = CLIENTS, n_keys = KEYS;

struct crowd {
	int index;
	atomic_int *errors;
	int first_error;
};

static void *crowd_main(void *arg)
{
	struct crowd *w = arg;
	struct tessera_client *cl = client_as(w->index % 2 ? "alice" : "bob");
	int n = n_keys / n_clients + (w->index < n_keys % n_clients ? 1 : 0);
	uint8_t h[32];

	memset(h, w->index, sizeof(h));
	for (int round = 0; round < 2; round++)
		for (int k = 0; k < n; k++) {
			char name[32];
			uint8_t *sig = NULL;
			size_t len = 0;
			int rc = TESSERA_OK;

			snprintf(name, sizeof(name), "crowd-%d-%d", w->index, k);
			if (round == 0)
				rc = tessera_generate_key(
				        cl, TPM_ID, name,
				        &(struct tessera_key_spec){
				                .type = "ecc",
				                .bits = 256,
				                .alg = "ecdsa-sha256",
				                .usage = TESSERA_USAGE_SIGN_HASH |
				                         TESSERA_USAGE_VERIFY_HASH});
			if (rc == TESSERA_OK)
				rc = tessera_sign_hash(cl, TPM_ID, name, "ecdsa-sha256", h, 32,
				                       &sig, &len);
			if (rc == TESSERA_OK)
				rc = tessera_verify_hash(cl, TPM_ID, name, "ecdsa-sha256", h, 32,
				                         sig, len);
			free(sig);
			if (rc != TESSERA_OK && atomic_fetch_add(w->errors, 1) == 0)
				w->first_error = rc;
		}
	tessera_close(cl);
	return NULL;
}

Test(tpm, sixty_four_clients_and_two_hundred_keys_on_three_object_slots_see_no_error)
{
	pthread_t t[CLIENTS];
	struct crowd w[CLIENTS];
	atomic_int errors = 0;
	struct tessera_key_info *k;
	size_t n;
	int first = 0;

	if (td_under_valgrind()) {
		n_clients = 8;
		n_keys = 16;
	}
	for (int i = 0; i < n_clients; i++) {
		w[i] = (struct crowd){.index = i, .errors = &errors};
		cr_assert_eq(pthread_create(&t[i], NULL, crowd_main, &w[i]), 0);
	}
	for (int i = 0; i < n_clients; i++) {
		pthread_join(t[i], NULL);
		if (first == 0)
			first = w[i].first_error;
	}
	cr_assert_eq(atomic_load(&errors), 0, "%d errors, the first %d", atomic_load(&errors),
	             first);
	cr_assert_eq(tessera_list_keys(c, &k, &n), TESSERA_OK);
	cr_assert_eq(n, (size_t)n_keys / 2, "alice has %zu keys", n);
	tessera_key_info_free(k, n);
}

/* SIGKILL while clients create keys: after the restart every key the
 * daemon lists signs, and names that did not finish can be made again. */
static atomic_int stop_creating;

static void *creator_main(void *arg)
{
	int index = (int)(intptr_t)arg;
	struct tessera_client *cl = client_as("alice");

	for (int k = 0; !atomic_load(&stop_creating); k++) {
		char name[32];

		snprintf(name, sizeof(name), "kill-%d-%d", index, k);
		if (tessera_generate_key(cl, TPM_ID, name,
		                         &(struct tessera_key_spec){
		                                 .type = "ecc",
		                                 .bits = 256,
		                                 .alg = "ecdsa-sha256",
		                                 .usage = TESSERA_USAGE_SIGN_HASH}) != TESSERA_OK)
			break; /* the daemon is gone */
	}
	tessera_close(cl);
	return NULL;
}

Test(tpm, sigkill_during_creations_leaves_only_keys_that_work)
{
	enum { CREATORS = 6 };
	pthread_t t[CREATORS];
	struct tessera_key_info *k;
	size_t n;
	uint8_t h[32] = {1};

	atomic_store(&stop_creating, 0);
	for (int i = 0; i < CREATORS; i++)
		cr_assert_eq(pthread_create(&t[i], NULL, creator_main, (void *)(intptr_t)i), 0);
	usleep((useconds_t)td_scale(300) * 1000);
	tessera_close(c);
	cr_assert_eq(td_restart(&d, SIGKILL), 128 + SIGKILL);
	atomic_store(&stop_creating, 1);
	for (int i = 0; i < CREATORS; i++)
		pthread_join(t[i], NULL);
	c = client_as("alice");
	cr_assert_eq(tessera_list_keys(c, &k, &n), TESSERA_OK);
	cr_assert_gt(n, 0, "no key was made before the kill");
	for (size_t i = 0; i < n; i++) {
		uint8_t *sig = NULL;
		size_t len = 0;

		cr_assert_eq(
		        tessera_sign_hash(c, TPM_ID, k[i].name, "ecdsa-sha256", h, 32, &sig, &len),
		        TESSERA_OK, "%s", k[i].name);
		free(sig);
	}
	tessera_key_info_free(k, n);
	/* The name each creator was on when the daemon died is free again or
	 * holds a working key; either way a new key can be made. */
	make_key("after-kill", "ecc", 256, "ecdsa-sha256");
}

Test(tpm, keys_survive_restarts_of_tesserad_and_of_the_tpm_even_while_tesserad_runs)
{
	EVP_PKEY *pe, *pr;

	make_key("ecc", "ecc", 256, "ecdsa-sha256");
	make_key("rsa", "rsa", 2048, "rsa-pkcs1-sha256");
	pe = public_key("ecc", "ecc", 256);
	pr = public_key("rsa", "rsa", 2048);
	tessera_close(c);
	cr_assert_eq(td_restart(&d, SIGTERM), 0);
	c = client_as("alice");
	sign_and_check("ecc", pe, "ecdsa-sha256", 32, 1);
	sign_and_check("rsa", pr, "rsa-pkcs1-sha256", 32, 2);
	/* swtpm restarted on its state while tesserad runs (a TPM reset): the
	 * loaded keys and the root key are gone from the TPM; the provider
	 * makes the root key again, checks it is the same, and reloads. */
	swtpm_stop();
	swtpm_start(swtpm_gen);
	sign_and_check("ecc", pe, "ecdsa-sha256", 32, 3);
	sign_and_check("rsa", pr, "rsa-pkcs1-sha256", 32, 4);
	cr_assert_eq(td_log_count(&d, "no longer holds the loaded keys"), 1);
	make_key("after-reset", "ecc", 256, "ecdsa-sha256");
	/* And both restarted. */
	tessera_close(c);
	swtpm_stop();
	swtpm_start(swtpm_gen);
	cr_assert_eq(td_restart(&d, SIGTERM), 0);
	c = client_as("alice");
	sign_and_check("ecc", pe, "ecdsa-sha256", 32, 5);
	sign_and_check("rsa", pr, "rsa-pkcs1-sha256", 32, 6);
	EVP_PKEY_free(pe);
	EVP_PKEY_free(pr);
}

Test(tpm, another_tenant_does_not_see_the_key)
{
	struct tessera_client *bob;
	uint8_t h[32] = {7}, *sig = NULL;
	size_t len = 0;

	make_key("mine", "ecc", 256, "ecdsa-sha256");
	bob = client_as("bob");
	cr_assert_eq(tessera_sign_hash(bob, TPM_ID, "mine", "ecdsa-sha256", h, 32, &sig, &len),
	             1140);
	cr_assert_eq(tessera_destroy_key(bob, TPM_ID, "mine"), 1140);
	tessera_close(bob);
	cr_assert_eq(tessera_sign_hash(c, TPM_ID, "mine", "ecdsa-sha256", h, 32, &sig, &len),
	             TESSERA_OK);
	free(sig);
}

Test(tpm, random_numbers_of_any_size_come_from_the_tpm)
{
	uint8_t *a = NULL, *b = NULL;
	size_t zeros = 0;

	/* The TPM returns at most 64 bytes per command. */
	cr_assert_eq(tessera_generate_random(c, TPM_ID, 1000, &a), TESSERA_OK);
	cr_assert_eq(tessera_generate_random(c, TPM_ID, 1000, &b), TESSERA_OK);
	cr_assert_neq(memcmp(a, b, 1000), 0);
	for (size_t i = 0; i < 1000; i++)
		zeros += a[i] == 0;
	cr_assert_lt(zeros, 20, "%zu zero bytes in 1000", zeros);
	/* The last chunk is filled too. */
	cr_assert_neq(memcmp(a + 960, (uint8_t[40]){0}, 40), 0);
	free(a);
	free(b);
}

Test(tpm, an_imported_public_key_verifies_what_its_private_key_signed)
{
	EVP_PKEY *pk = EVP_EC_gen("P-256");
	struct tessera_key_spec s = {.type = "ecc",
	                             .bits = 256,
	                             .alg = "ecdsa-sha256",
	                             .usage = TESSERA_USAGE_VERIFY_HASH};
	uint8_t pub[65], h[32], der[80], sig[64] = {0}, *back = NULL, *tsig = NULL;
	size_t publen = 0, derlen = sizeof(der), backlen = 0, tlen = 0;
	EVP_PKEY_CTX *sc = EVP_PKEY_CTX_new(pk, NULL);
	const uint8_t *p = der;
	ECDSA_SIG *es;
	const BIGNUM *r, *sv;

	cr_assert_not_null(pk);
	cr_assert_eq(EVP_PKEY_get_octet_string_param(pk, OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof(pub),
	                                             &publen),
	             1);
	cr_assert_eq(tessera_import_key(c, TPM_ID, "peer", &s, pub, publen), TESSERA_OK);
	cr_assert_eq(tessera_export_public_key(c, TPM_ID, "peer", &back, &backlen), TESSERA_OK);
	cr_assert_eq(backlen, publen);
	cr_assert_arr_eq(back, pub, publen);
	memset(h, 0x5c, sizeof(h));
	cr_assert_eq(EVP_PKEY_sign_init(sc), 1);
	cr_assert_eq(EVP_PKEY_sign(sc, der, &derlen, h, sizeof(h)), 1);
	es = d2i_ECDSA_SIG(NULL, &p, (long)derlen);
	ECDSA_SIG_get0(es, &r, &sv);
	BN_bn2binpad(r, sig, 32);
	BN_bn2binpad(sv, sig + 32, 32);
	cr_assert_eq(tessera_verify_hash(c, TPM_ID, "peer", "ecdsa-sha256", h, 32, sig, 64),
	             TESSERA_OK);
	sig[5] ^= 1;
	cr_assert_eq(tessera_verify_hash(c, TPM_ID, "peer", "ecdsa-sha256", h, 32, sig, 64), 1149);
	/* A public key cannot sign. */
	cr_assert_neq(tessera_sign_hash(c, TPM_ID, "peer", "ecdsa-sha256", h, 32, &tsig, &tlen),
	              TESSERA_OK);
	ECDSA_SIG_free(es);
	EVP_PKEY_CTX_free(sc);
	EVP_PKEY_free(pk);
	free(back);
}

/* A key pair made by OpenSSL, given to the TPM with TPM2_Import: it signs in
 * the TPM, OpenSSL verifies with its own copy, and it outlives a restart. */
Test(tpm, an_imported_key_pair_signs_in_the_tpm_and_openssl_verifies_with_its_own_copy)
{
	EVP_PKEY *ec = EVP_EC_gen("P-256"), *rsa = EVP_RSA_gen(2048);
	BIGNUM *priv = NULL;
	uint8_t scalar[32], *der = NULL, *pub = NULL, opub[65];
	size_t publen = 0, opublen = 0;
	int derlen;
	struct tessera_key_spec es = {.type = "ecc",
	                              .bits = 256,
	                              .alg = "ecdsa-sha256",
	                              .usage = TESSERA_USAGE_SIGN_HASH | TESSERA_USAGE_VERIFY_HASH},
	                        rs = {.type = "rsa",
	                              .bits = 0,
	                              .alg = "rsa-pss-sha256",
	                              .usage = TESSERA_USAGE_SIGN_HASH | TESSERA_USAGE_VERIFY_HASH};

	cr_assert_not_null(ec);
	cr_assert_not_null(rsa);
	cr_assert_eq(EVP_PKEY_get_bn_param(ec, OSSL_PKEY_PARAM_PRIV_KEY, &priv), 1);
	cr_assert_eq(BN_bn2binpad(priv, scalar, 32), 32);
	BN_clear_free(priv);
	cr_assert_eq(tessera_import_key(c, TPM_ID, "ec-in", &es, scalar, 32), TESSERA_OK);
	OPENSSL_cleanse(scalar, sizeof(scalar));
	derlen = i2d_PrivateKey(rsa, &der);
	cr_assert_gt(derlen, 0);
	cr_assert_eq(tessera_import_key(c, TPM_ID, "rsa-in", &rs, der, (size_t)derlen), TESSERA_OK);
	/* A modulus its prime does not divide is refused by the TPM. */
	der[20] ^= 0x10;
	{
		int rc = tessera_import_key(c, TPM_ID, "rsa-bad", &rs, der, (size_t)derlen);

		cr_assert_eq(rc, 1135, "rc %d", rc);
	}
	OPENSSL_clear_free(der, (size_t)derlen);
	cr_assert_eq(tessera_import_key(c, TPM_ID, "ec-bad", &es, (uint8_t[31]){1}, 31), 1135);
	/* The public key the TPM holds is OpenSSL's. */
	cr_assert_eq(tessera_export_public_key(c, TPM_ID, "ec-in", &pub, &publen), TESSERA_OK);
	cr_assert_eq(EVP_PKEY_get_octet_string_param(ec, OSSL_PKEY_PARAM_PUB_KEY, opub,
	                                             sizeof(opub), &opublen),
	             1);
	cr_assert_eq(publen, opublen);
	cr_assert_arr_eq(pub, opub, publen);
	free(pub);
	sign_and_check("ec-in", ec, "ecdsa-sha256", 32, 0x31);
	sign_and_check("rsa-in", rsa, "rsa-pss-sha256", 32, 0x32);
	tessera_close(c);
	cr_assert_eq(td_restart(&d, SIGTERM), 0);
	c = client_as("alice");
	sign_and_check("ec-in", ec, "ecdsa-sha256", 32, 0x33);
	sign_and_check("rsa-in", rsa, "rsa-pss-sha256", 32, 0x34);
	/* The private key is not in the key store in clear: only the TPM can
	 * use it, and it cannot be exported. */
	cr_assert_eq(tessera_export_key(c, TPM_ID, "ec-in", &pub, &publen), 1134);
	EVP_PKEY_free(ec);
	EVP_PKEY_free(rsa);
}

/* ---- key attestation: a verifier holding only the EK's public key ---- */

struct prepared {
	uint8_t name[64], pub[1024], ek[512];
	size_t name_len, pub_len, ek_len;
};

/* PrepareKeyAttestation for alice's key; the status. */
static int prepare(const char *key, const char *attesting, struct prepared *ret)
{
	PrepareKeyAttestation__Operation op = PREPARE_KEY_ATTESTATION__OPERATION__INIT;
	PrepareKeyAttestation__PrepareKeyAttestationParams p =
	        PREPARE_KEY_ATTESTATION__PREPARE_KEY_ATTESTATION_PARAMS__INIT;
	PrepareKeyAttestation__PrepareKeyAttestationParams__ActivateCredential ac =
	        PREPARE_KEY_ATTESTATION__PREPARE_KEY_ATTESTATION_PARAMS__ACTIVATE_CREDENTIAL__INIT;
	uint8_t buf[512];
	size_t n;
	struct td_resp r;
	int st;

	ac.attested_key_name = (char *)key;
	ac.attesting_key_name = (char *)attesting;
	p.mechanism_case =
	        PREPARE_KEY_ATTESTATION__PREPARE_KEY_ATTESTATION_PARAMS__MECHANISM_ACTIVATE_CREDENTIAL;
	p.activate_credential = &ac;
	op.parameters = &p;
	n = prepare_key_attestation__operation__pack(&op, buf);
	st = td_call(&d, WIRE_OP_PREPARE_KEY_ATTESTATION, TPM_ID, 1, buf, n, "alice", 5, &r);
	if (st == 0) {
		PrepareKeyAttestation__Result *res =
		        prepare_key_attestation__result__unpack(NULL, r.body_len, r.body);
		const PrepareKeyAttestation__PrepareKeyAttestationOutput__ActivateCredential *o;

		cr_assert_not_null(res);
		cr_assert_not_null(res->output);
		o = res->output->activate_credential;
		cr_assert_not_null(o);
		cr_assert_leq(o->name.len, sizeof(ret->name));
		cr_assert_leq(o->public_.len, sizeof(ret->pub));
		cr_assert_leq(o->attesting_key_pub.len, sizeof(ret->ek));
		memcpy(ret->name, o->name.data, ret->name_len = o->name.len);
		memcpy(ret->pub, o->public_.data, ret->pub_len = o->public_.len);
		memcpy(ret->ek, o->attesting_key_pub.data, ret->ek_len = o->attesting_key_pub.len);
		prepare_key_attestation__result__free_unpacked(res, NULL);
	}
	td_resp_free(&r);
	return st;
}

/* AttestKey; the status, and the credential in out (at least 64 bytes). */
static int attest(const char *key, const uint8_t *blob, size_t blob_len, const uint8_t *secret,
                  size_t secret_len, uint8_t *out, size_t *out_len)
{
	AttestKey__Operation op = ATTEST_KEY__OPERATION__INIT;
	AttestKey__AttestationMechanismParams p = ATTEST_KEY__ATTESTATION_MECHANISM_PARAMS__INIT;
	AttestKey__AttestationMechanismParams__ActivateCredential ac =
	        ATTEST_KEY__ATTESTATION_MECHANISM_PARAMS__ACTIVATE_CREDENTIAL__INIT;
	uint8_t buf[1024];
	size_t n;
	struct td_resp r;
	int st;

	ac.credential_blob = (ProtobufCBinaryData){blob_len, (uint8_t *)blob};
	ac.secret = (ProtobufCBinaryData){secret_len, (uint8_t *)secret};
	p.mechanism_case = ATTEST_KEY__ATTESTATION_MECHANISM_PARAMS__MECHANISM_ACTIVATE_CREDENTIAL;
	p.activate_credential = &ac;
	op.attested_key_name = (char *)key;
	op.parameters = &p;
	op.attesting_key_name = "";
	n = attest_key__operation__pack(&op, buf);
	st = td_call(&d, WIRE_OP_ATTEST_KEY, TPM_ID, 1, buf, n, "alice", 5, &r);
	if (st == 0) {
		AttestKey__Result *res = attest_key__result__unpack(NULL, r.body_len, r.body);

		cr_assert_not_null(res);
		cr_assert_not_null(res->output);
		cr_assert_not_null(res->output->activate_credential);
		cr_assert_leq(res->output->activate_credential->credential.len, 64);
		*out_len = res->output->activate_credential->credential.len;
		memcpy(out, res->output->activate_credential->credential.data, *out_len);
		attest_key__result__free_unpacked(res, NULL);
	}
	td_resp_free(&r);
	return st;
}

/* TPM 2.0 Part 1, 11.4.10.2: KDFa with SHA-256 (one or two blocks). */
static void kdfa(const uint8_t *key, size_t key_len, const char *label, const uint8_t *ctx_u,
                 size_t u_len, uint32_t bits, uint8_t *out)
{
	for (uint32_t i = 1, done = 0; done < bits / 8; i++) {
		uint8_t in[128], h[32];
		size_t n = 0;
		unsigned hl = 32;

		in[n++] = (uint8_t)(i >> 24);
		in[n++] = (uint8_t)(i >> 16);
		in[n++] = (uint8_t)(i >> 8);
		in[n++] = (uint8_t)i;
		memcpy(in + n, label, strlen(label) + 1); /* with its 0 */
		n += strlen(label) + 1;
		if (u_len > 0)
			memcpy(in + n, ctx_u, u_len);
		n += u_len;
		in[n++] = (uint8_t)(bits >> 24);
		in[n++] = (uint8_t)(bits >> 16);
		in[n++] = (uint8_t)(bits >> 8);
		in[n++] = (uint8_t)bits;
		cr_assert_not_null(HMAC(EVP_sha256(), key, (int)key_len, in, n, h, &hl));
		memcpy(out + done, h, bits / 8 - done < 32 ? bits / 8 - done : 32);
		done += 32;
	}
}

/* TPM2_MakeCredential in software (Part 1, 24; Part 3, 12.6), for an RSA-2048
 * EK with SHA-256 and AES-128-CFB: blob = TPM2B_ID_OBJECT contents, secret =
 * TPM2B_ENCRYPTED_SECRET contents. */
static void make_credential(const struct prepared *pr, const uint8_t *cred, size_t cred_len,
                            uint8_t *blob, size_t *blob_len, uint8_t *secret, size_t *secret_len)
{
	static const uint8_t iv[16];
	const uint8_t *p = pr->ek;
	EVP_PKEY *ek = d2i_PublicKey(EVP_PKEY_RSA, NULL, &p, (long)pr->ek_len);
	uint8_t seed[32], sym[16], hkey[32], plain[2 + 64], *enc = blob + 2 + 32;
	uint8_t mac_in[128];
	unsigned hl = 32;
	int outl = 0;
	EVP_CIPHER_CTX *cc = EVP_CIPHER_CTX_new();

	cr_assert_not_null(ek);
	cr_assert_eq(RAND_bytes(seed, sizeof(seed)), 1);
	/* The seed, for the EK only: OAEP-SHA256 with the label "IDENTITY\0". */
	{
		EVP_PKEY_CTX *ec = EVP_PKEY_CTX_new(ek, NULL);
		static const char label[] = "IDENTITY";

		cr_assert_eq(EVP_PKEY_encrypt_init(ec), 1);
		cr_assert_eq(EVP_PKEY_CTX_set_rsa_padding(ec, RSA_PKCS1_OAEP_PADDING), 1);
		cr_assert_eq(EVP_PKEY_CTX_set_rsa_oaep_md(ec, EVP_sha256()), 1);
		cr_assert_eq(EVP_PKEY_CTX_set_rsa_mgf1_md(ec, EVP_sha256()), 1);
		cr_assert_eq(EVP_PKEY_CTX_set0_rsa_oaep_label(
		                     ec, OPENSSL_memdup(label, sizeof(label)), (int)sizeof(label)),
		             1);
		*secret_len = 512;
		cr_assert_eq(EVP_PKEY_encrypt(ec, secret, secret_len, seed, sizeof(seed)), 1);
		EVP_PKEY_CTX_free(ec);
	}
	/* The credential, encrypted with a key bound to the attested Name. */
	kdfa(seed, sizeof(seed), "STORAGE", pr->name, pr->name_len, 128, sym);
	plain[0] = (uint8_t)(cred_len >> 8);
	plain[1] = (uint8_t)cred_len;
	memcpy(plain + 2, cred, cred_len);
	cr_assert_eq(EVP_EncryptInit_ex(cc, EVP_aes_128_cfb128(), NULL, sym, iv), 1);
	cr_assert_eq(EVP_EncryptUpdate(cc, enc, &outl, plain, (int)(2 + cred_len)), 1);
	cr_assert_eq(outl, (int)(2 + cred_len));
	/* The outer HMAC over it and the Name. */
	kdfa(seed, sizeof(seed), "INTEGRITY", NULL, 0, 256, hkey);
	memcpy(mac_in, enc, 2 + cred_len);
	memcpy(mac_in + 2 + cred_len, pr->name, pr->name_len);
	blob[0] = 0;
	blob[1] = 32;
	cr_assert_not_null(
	        HMAC(EVP_sha256(), hkey, 32, mac_in, 2 + cred_len + pr->name_len, blob + 2, &hl));
	*blob_len = 2 + 32 + 2 + cred_len;
	EVP_CIPHER_CTX_free(cc);
	EVP_PKEY_free(ek);
}

Test(tpm, attestation_returns_the_credential_only_for_the_key_it_was_made_for)
{
	struct prepared a, b;
	uint8_t cred[16], got[64], blob[128], secret[512], h[32];
	size_t got_len = 0, blob_len = 0, secret_len = 0;
	unsigned hl = 32;

	make_key("attested", "ecc", 256, "ecdsa-sha256");
	make_key("other", "rsa", 2048, "rsa-pkcs1-sha256");
	cr_assert_eq(prepare("attested", "", &a), 0);
	cr_assert_eq(prepare("other", "", &b), 0);
	/* What the verifier checks first: the Name is the hash of the public
	 * area it is given, and both keys are attested by the same EK. */
	cr_assert_eq(a.name_len, 34);
	cr_assert_eq(a.name[0], 0x00);
	cr_assert_eq(a.name[1], 0x0b);
	cr_assert_eq(EVP_Digest(a.pub, a.pub_len, h, &hl, EVP_sha256(), NULL), 1);
	cr_assert_arr_eq(a.name + 2, h, 32);
	cr_assert_eq(b.ek_len, a.ek_len);
	cr_assert_arr_eq(b.ek, a.ek, a.ek_len);
	cr_assert_neq(memcmp(a.name, b.name, 34), 0);
	/* The public area is the key's: its ECC point is the exported key's. */
	{
		uint8_t *pub = NULL;
		size_t len = 0;

		cr_assert_eq(tessera_export_public_key(c, TPM_ID, "attested", &pub, &len),
		             TESSERA_OK);
		cr_assert_not_null(memmem(a.pub, a.pub_len, pub + 1, 32), "x not in the area");
		free(pub);
	}

	cr_assert_eq(RAND_bytes(cred, sizeof(cred)), 1);
	make_credential(&a, cred, sizeof(cred), blob, &blob_len, secret, &secret_len);
	cr_assert_eq(blob_len, 52);
	cr_assert_eq(secret_len, 256);
	cr_assert_eq(attest("attested", blob, blob_len, secret, secret_len, got, &got_len), 0);
	cr_assert_eq(got_len, sizeof(cred));
	cr_assert_arr_eq(got, cred, sizeof(cred));
	/* The same challenge answered for another key: refused. */
	cr_assert_eq(attest("other", blob, blob_len, secret, secret_len, got, &got_len), 1135);
	/* Damaged data (Parsec's activate_credential_bad_data). */
	blob[20] ^= 1;
	cr_assert_eq(attest("attested", blob, blob_len, secret, secret_len, got, &got_len), 1135);
	blob[20] ^= 1;
	memset(secret, 0x5a, secret_len);
	cr_assert_eq(attest("attested", blob, blob_len, secret, secret_len, got, &got_len), 1135);
	/* Only the default EK attests; the provider still works after all that. */
	cr_assert_eq(prepare("attested", "other", &b), 1134);
	make_credential(&b, cred, sizeof(cred), blob, &blob_len, secret, &secret_len);
	cr_assert_eq(attest("other", blob, blob_len, secret, secret_len, got, &got_len), 0);
	cr_assert_arr_eq(got, cred, sizeof(cred));
	{
		EVP_PKEY *pk = public_key("attested", "ecc", 256);

		sign_and_check("attested", pk, "ecdsa-sha256", 32, 0x66);
		EVP_PKEY_free(pk);
	}
}

/* ---- start-up errors ---- */

/* Run tesserad on a configuration and d's state directory until it exits;
 * its status, and what it printed. */
static int run_tesserad(const char *json, char *out, size_t outlen)
{
	char path[160], cmd[600];
	FILE *f, *p;
	size_t got;
	int status;

	snprintf(path, sizeof(path), "%s/once.json", d.dir);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fprintf(f, json, d.sock);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "timeout 30 %s --config %s --state-dir %s --kek-file %s 2>&1",
	         TESSERAD, path, d.dir, d.kek);
	p = popen(cmd, "r");
	cr_assert_not_null(p);
	got = fread(out, 1, outlen - 1, p);
	out[got] = '\0';
	status = pclose(p);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void stop_daemon(void)
{
	tessera_close(c);
	c = NULL;
	kill(d.pid, SIGTERM);
	cr_assert_eq(td_wait_exit(&d, td_scale(10000)), 0);
}

Test(tpm, a_cleared_tpm_is_refused_at_start_and_its_keys_are_not_shadowed)
{
	char out[8192], tcti[200];

	make_key("before", "ecc", 256, "ecdsa-sha256");
	stop_daemon();
	/* A fresh state directory: new seeds, as after TPM2_Clear. */
	swtpm_stop();
	swtpm_start(++swtpm_gen);
	snprintf(tcti, sizeof(tcti), "swtpm:path=%s", tpm_sock);
	cr_assert_eq(run_tesserad(tpm_config(tcti, NULL), out, sizeof(out)), 1, "%s", out);
	cr_assert(strstr(out, "made under another root key") != NULL, "%s", out);
	cr_assert(strstr(out, "cleared") != NULL, "%s", out);
	cr_assert(strstr(out, "not starting") != NULL, "%s", out);
	/* The TPM it was made on, back again: tesserad starts and the key
	 * signs. */
	swtpm_stop();
	swtpm_start(0);
	td_respawn(&d);
	c = client_as("alice");
	{
		EVP_PKEY *pk = public_key("before", "ecc", 256);

		sign_and_check("before", pk, "ecdsa-sha256", 32, 9);
		EVP_PKEY_free(pk);
	}
}

Test(tpm, a_missing_tpm_or_a_wrong_owner_auth_is_a_start_error_naming_the_setting)
{
	char out[8192], tcti[200], auth[160], extra[220];
	FILE *f;

	stop_daemon();
	snprintf(tcti, sizeof(tcti), "swtpm:path=%s/absent.sock", tdir);
	cr_assert_eq(run_tesserad(tpm_config(tcti, NULL), out, sizeof(out)), 1, "%s", out);
	cr_assert(strstr(out, "providers[0].tcti") != NULL, "%s", out);
	cr_assert(strstr(out, "absent.sock") != NULL, "%s", out);
	cr_assert_eq(run_tesserad(tpm_config("nosuchtcti:x", NULL), out, sizeof(out)), 1, "%s",
	             out);
	cr_assert(strstr(out, "providers[0].tcti") != NULL, "%s", out);
	/* The owner hierarchy has an empty auth value; another one is refused. */
	snprintf(auth, sizeof(auth), "%s/owner.auth", tdir);
	f = fopen(auth, "w");
	cr_assert_not_null(f);
	fputs("str:not-the-owner\n", f);
	fclose(f);
	snprintf(tcti, sizeof(tcti), "swtpm:path=%s", tpm_sock);
	snprintf(extra, sizeof(extra), ", \"owner_auth_file\": \"%s\"", auth);
	cr_assert_eq(run_tesserad(tpm_config(tcti, extra), out, sizeof(out)), 1, "%s", out);
	cr_assert(strstr(out, "providers[0].owner_auth_file") != NULL, "%s", out);
	cr_assert(strstr(out, "refused the owner hierarchy auth") != NULL, "%s", out);
	cr_assert(strstr(out, "not-the-owner") == NULL, "the auth value was logged: %s", out);
	/* A persistent root key that is not there. */
	cr_assert_eq(run_tesserad(tpm_config(tcti, ", \"root_handle\": \"0x81000001\""), out,
	                          sizeof(out)),
	             1, "%s", out);
	cr_assert(strstr(out, "providers[0].root_handle: no key at 0x81000001") != NULL, "%s", out);
	/* A credential without systemd's directory. */
	cr_assert_eq(run_tesserad(tpm_config(tcti, ", \"owner_auth_credential\": \"tpm-owner\""),
	                          out, sizeof(out)),
	             1, "%s", out);
	cr_assert(strstr(out, "providers[0].owner_auth_credential") != NULL, "%s", out);
	/* Running again for the suite's clean-up. */
	td_respawn(&d);
	c = client_as("alice");
}

Test(tpm, check_config_names_the_provider_setting_at_fault)
{
	char out[4096], tcti[200];
	char path[160], cmd[400];
	static const struct {
		const char *extra, *key;
	} bad[] = {
	        {", \"loaded_keys\": 0", "providers[0].loaded_keys"},
	        {", \"hmac_sessions\": 1", "providers[0].hmac_sessions"},
	        {", \"root_handle\": \"0x80000001\"", "providers[0].root_handle"},
	        {", \"owner_auth_file\": \"relative\"", "providers[0].owner_auth_file"},
	        {", \"owner_auth_credential\": \"../x\"", "providers[0].owner_auth_credential"},
	        {", \"pin\": \"1\"", "providers[0].pin"},
	};

	snprintf(tcti, sizeof(tcti), "swtpm:path=%s", tpm_sock);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		FILE *f, *p;
		size_t got;
		int status;

		snprintf(path, sizeof(path), "%s/check.json", d.dir);
		f = fopen(path, "w");
		cr_assert_not_null(f);
		fprintf(f, tpm_config(tcti, bad[i].extra), d.sock);
		fclose(f);
		snprintf(cmd, sizeof(cmd), "%s --check-config %s 2>&1", TESSERAD, path);
		p = popen(cmd, "r");
		got = fread(out, 1, sizeof(out) - 1, p);
		out[got] = '\0';
		status = pclose(p);
		cr_assert_eq(WEXITSTATUS(status), 1, "%s: %s", bad[i].extra, out);
		cr_assert(strstr(out, bad[i].key) != NULL, "%s", out);
	}
}
