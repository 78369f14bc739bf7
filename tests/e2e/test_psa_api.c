/*
 * libtessera-psa against the real daemon, per function family, on the
 * software provider. Criterion runs each test in its own process, so each
 * has its own library state (the one global client) and its own daemon.
 * Tests that need daemon extensions another part of the tree adds (the
 * multipart handles, PsaCopyKey, connection-scoped volatile keys) are
 * skipped, saying so, when ListOpcodes does not list those opcodes.
 */
#include <criterion/criterion.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/param_build.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "client/tessera.h"
#include "harness.h"
#include "psa/crypto.h"

static struct td d;
static char ep[160];

static void use_app(const char *app)
{
	setenv("TESSERA_AUTH", "direct", 1);
	setenv("TESSERA_APP_NAME", app, 1);
}

static void setup(void)
{
	td_start(&d, TD_CONFIG_DEFAULT);
	snprintf(ep, sizeof(ep), "unix:%s", d.sock);
	setenv("TESSERA_ENDPOINT", ep, 1);
	unsetenv("TESSERA_PSA_PROVIDER");
	use_app("alice");
	cr_assert_eq(psa_crypto_init(), PSA_SUCCESS);
}

static void teardown(void)
{
	cr_assert_eq(td_stop(&d), 0);
}

TestSuite(psa_api, .init = setup, .fini = teardown, .timeout = 120);

/* A libtessera client of app (for checks from outside the PSA library). */
static struct tessera_client *raw_client(const char *app)
{
	struct tessera_options o;
	struct tessera_client *c;

	tessera_options_init(&o);
	o.endpoint = ep;
	o.auth_type = TESSERA_AUTH_DIRECT;
	o.app_name = app;
	cr_assert_eq(tessera_open(&o, &c), TESSERA_OK);
	return c;
}

/* Whether the software provider lists opcode (with the extensions). */
static int daemon_has(uint32_t opcode)
{
	struct tessera_client *c = raw_client("probe");
	uint32_t *ops;
	size_t n;
	int found = 0;

	cr_assert_eq(tessera_list_opcodes(c, 1, &ops, &n), TESSERA_OK);
	for (size_t i = 0; i < n; i++)
		found |= ops[i] == opcode;
	free(ops);
	tessera_close(c);
	return found;
}

/* Whether app's ListKeys shows name. */
static int listed(const char *app, const char *name)
{
	struct tessera_client *c = raw_client(app);
	struct tessera_key_info *k;
	size_t n;
	int found = 0;

	cr_assert_eq(tessera_list_keys(c, &k, &n), TESSERA_OK);
	for (size_t i = 0; i < n; i++)
		found |= strcmp(k[i].name, name) == 0;
	tessera_key_info_free(k, n);
	tessera_close(c);
	return found;
}

/* Key ids for the helpers: 0 picks the next free persistent id, VOL makes a volatile key. */
#define VOL ((psa_key_id_t)-1)
static psa_key_id_t next_id = 100;

static psa_key_id_t make_key(psa_key_id_t id, psa_key_type_t type, size_t bits,
                             psa_key_usage_t usage, psa_algorithm_t alg)
{
	psa_key_attributes_t a = PSA_KEY_ATTRIBUTES_INIT;
	psa_key_id_t k = 0;

	if (id == 0)
		id = next_id++;
	if (id != VOL)
		psa_set_key_id(&a, id);
	psa_set_key_type(&a, type);
	psa_set_key_bits(&a, bits);
	psa_set_key_usage_flags(&a, usage);
	psa_set_key_algorithm(&a, alg);
	cr_assert_eq(psa_generate_key(&a, &k), PSA_SUCCESS, "generate type %#x", type);
	return k;
}

static psa_key_id_t import_key(psa_key_id_t id, psa_key_type_t type, psa_key_usage_t usage,
                               psa_algorithm_t alg, const uint8_t *data, size_t len)
{
	psa_key_attributes_t a = PSA_KEY_ATTRIBUTES_INIT;
	psa_key_id_t k = 0;

	if (id == 0)
		id = next_id++;
	if (id != VOL)
		psa_set_key_id(&a, id);
	psa_set_key_type(&a, type);
	psa_set_key_usage_flags(&a, usage);
	psa_set_key_algorithm(&a, alg);
	cr_assert_eq(psa_import_key(&a, data, len, &k), PSA_SUCCESS);
	return k;
}

/* Run fn in a child process (its own library state) as app; its exit status. */
static int in_child(const char *app, int (*fn)(void))
{
	pid_t pid = td_fork();
	int status;

	cr_assert_geq(pid, 0);
	if (pid == 0) {
		use_app(app);
		_exit(fn());
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 100;
}

static const uint8_t aes_key[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

/* ---- library and keys */

Test(psa_api, init_is_idempotent)
{
	for (int i = 0; i < 5; i++)
		cr_assert_eq(psa_crypto_init(), PSA_SUCCESS);
}

static int child_reads_key_7(void)
{
	uint8_t out[16];
	size_t n;

	if (psa_export_key(7, out, sizeof(out), &n) != PSA_SUCCESS)
		return 1;
	return n == 16 && memcmp(out, aes_key, 16) == 0 ? 0 : 2;
}

static int child_reads_key_8_usage(void)
{
	psa_key_attributes_t a = PSA_KEY_ATTRIBUTES_INIT;

	if (psa_get_key_attributes(8, &a) != PSA_SUCCESS)
		return 1;
	return psa_get_key_usage_flags(&a) ==
	                               (PSA_KEY_USAGE_SIGN_HASH | PSA_KEY_USAGE_SIGN_MESSAGE) &&
	                       psa_get_key_bits(&a) == 256 &&
	                       psa_get_key_type(&a) ==
	                               PSA_KEY_TYPE_ECC_KEY_PAIR(PSA_ECC_FAMILY_SECP_R1)
	               ? 0
	               : 2;
}

static int child_does_not_see_key_7(void)
{
	uint8_t out[16];
	size_t n;
	psa_status_t st = psa_export_key(7, out, sizeof(out), &n);

	if (st != PSA_ERROR_INVALID_HANDLE) {
		fprintf(stderr, "bob: export of alice's key 7: %d\n", (int)st);
		return 1;
	}
	/* The same id is bob's own key. */
	if (import_key(7, PSA_KEY_TYPE_AES, PSA_KEY_USAGE_EXPORT, PSA_ALG_CTR, aes_key, 16) != 7)
		return 2;
	return psa_destroy_key(7) == PSA_SUCCESS ? 0 : 3;
}

Test(psa_api, persistent_key_by_id_and_attributes)
{
	psa_key_attributes_t a = PSA_KEY_ATTRIBUTES_INIT;
	uint8_t out[16];
	size_t n;

	cr_assert_eq(import_key(7, PSA_KEY_TYPE_AES, PSA_KEY_USAGE_EXPORT | PSA_KEY_USAGE_ENCRYPT,
	                        PSA_ALG_CTR, aes_key, 16),
	             7);
	cr_assert(listed("alice", "psa-key-7"));
	cr_assert_eq(psa_get_key_attributes(7, &a), PSA_SUCCESS);
	cr_assert_eq(psa_get_key_id(&a), 7);
	cr_assert_eq(psa_get_key_lifetime(&a), PSA_KEY_LIFETIME_PERSISTENT);
	cr_assert_eq(psa_get_key_type(&a), PSA_KEY_TYPE_AES);
	cr_assert_eq(psa_get_key_bits(&a), 128);
	cr_assert_eq(psa_get_key_algorithm(&a), PSA_ALG_CTR);
	cr_assert_eq(psa_get_key_usage_flags(&a), PSA_KEY_USAGE_EXPORT | PSA_KEY_USAGE_ENCRYPT);

	/* Same id again: taken. */
	psa_key_attributes_t b = PSA_KEY_ATTRIBUTES_INIT;
	psa_key_id_t k = 99;

	psa_set_key_id(&b, 7);
	psa_set_key_type(&b, PSA_KEY_TYPE_AES);
	cr_assert_eq(psa_import_key(&b, aes_key, 16, &k), PSA_ERROR_ALREADY_EXISTS);
	cr_assert_eq(k, 0);

	/* Another process finds it by id; another tenant does not. */
	cr_assert_eq(in_child("alice", child_reads_key_7), 0);
	/* SIGN_HASH grants SIGN_MESSAGE: reported alike here and from another process. */
	psa_key_id_t sk = make_key(8, PSA_KEY_TYPE_ECC_KEY_PAIR(PSA_ECC_FAMILY_SECP_R1), 256,
	                           PSA_KEY_USAGE_SIGN_HASH, PSA_ALG_ECDSA(PSA_ALG_SHA_256));

	cr_assert_eq(psa_get_key_attributes(sk, &a), PSA_SUCCESS);
	cr_assert_eq(psa_get_key_usage_flags(&a),
	             PSA_KEY_USAGE_SIGN_HASH | PSA_KEY_USAGE_SIGN_MESSAGE);
	cr_assert_eq(in_child("alice", child_reads_key_8_usage), 0);
	cr_assert_eq(in_child("bob", child_does_not_see_key_7), 0);

	/* The daemon restarts: the connection is new, the key is the same. */
	td_restart(&d, SIGTERM);
	cr_assert_eq(psa_export_key(7, out, sizeof(out), &n), PSA_SUCCESS);
	cr_assert_eq(n, 16);
	cr_assert_arr_eq(out, aes_key, 16);
	cr_assert_eq(psa_export_key(7, out, 15, &n), PSA_ERROR_BUFFER_TOO_SMALL);

	cr_assert_eq(psa_destroy_key(7), PSA_SUCCESS);
	cr_assert_eq(psa_export_key(7, out, sizeof(out), &n), PSA_ERROR_INVALID_HANDLE);
	cr_assert_eq(psa_destroy_key(7), PSA_ERROR_INVALID_HANDLE);
	cr_assert_eq(psa_destroy_key(PSA_KEY_ID_NULL), PSA_SUCCESS);
	cr_assert(!listed("alice", "psa-key-7"));
}

Test(psa_api, key_id_and_lifetime_rules)
{
	psa_key_attributes_t a = PSA_KEY_ATTRIBUTES_INIT;
	psa_key_id_t k = 5;
	uint8_t out[16];
	size_t n;

	psa_set_key_type(&a, PSA_KEY_TYPE_AES);
	psa_set_key_usage_flags(&a, PSA_KEY_USAGE_EXPORT);
	psa_set_key_id(&a, PSA_KEY_ID_VENDOR_MIN + 3);
	cr_assert_eq(psa_import_key(&a, aes_key, 16, &k), PSA_ERROR_INVALID_ARGUMENT);
	cr_assert_eq(k, 0);
	psa_set_key_id(&a, 0x80000000u);
	cr_assert_eq(psa_import_key(&a, aes_key, 16, &k), PSA_ERROR_INVALID_ARGUMENT);
	psa_set_key_id(&a, 11);
	psa_set_key_lifetime(&a, PSA_KEY_LIFETIME_FROM_PERSISTENCE_AND_LOCATION(
	                                 PSA_KEY_PERSISTENCE_READ_ONLY, 0));
	cr_assert_eq(psa_import_key(&a, aes_key, 16, &k), PSA_ERROR_NOT_SUPPORTED);
	/* Only the software provider: no secure element. */
	psa_set_key_lifetime(
	        &a, PSA_KEY_LIFETIME_FROM_PERSISTENCE_AND_LOCATION(
	                    PSA_KEY_PERSISTENCE_DEFAULT, PSA_KEY_LOCATION_PRIMARY_SECURE_ELEMENT));
	cr_assert_eq(psa_import_key(&a, aes_key, 16, &k), PSA_ERROR_NOT_SUPPORTED);
	/* A vendor location names the provider by wire ID. */
	psa_set_key_lifetime(&a, PSA_KEY_LIFETIME_FROM_PERSISTENCE_AND_LOCATION(
	                                 PSA_KEY_PERSISTENCE_DEFAULT, 0x800002));
	cr_assert_eq(psa_import_key(&a, aes_key, 16, &k), PSA_ERROR_NOT_SUPPORTED);
	psa_set_key_lifetime(&a, PSA_KEY_LIFETIME_FROM_PERSISTENCE_AND_LOCATION(
	                                 PSA_KEY_PERSISTENCE_DEFAULT, 0x800001));
	cr_assert_eq(psa_import_key(&a, aes_key, 16, &k), PSA_SUCCESS);
	cr_assert_eq(k, 11);
	cr_assert_eq(psa_export_key(11, out, sizeof(out), &n), PSA_SUCCESS);
	/* Ids naming no key. */
	cr_assert_eq(psa_export_key(0, out, sizeof(out), &n), PSA_ERROR_INVALID_HANDLE);
	cr_assert_eq(psa_export_key(12, out, sizeof(out), &n), PSA_ERROR_INVALID_HANDLE);
	cr_assert_eq(psa_export_key(PSA_KEY_ID_VENDOR_MIN + 77, out, sizeof(out), &n),
	             PSA_ERROR_INVALID_HANDLE);
	cr_assert_eq(psa_export_key(0xC0000000u, out, sizeof(out), &n), PSA_ERROR_INVALID_HANDLE);
	cr_assert_eq(psa_destroy_key(11), PSA_SUCCESS);
}

Test(psa_api, volatile_key_lives_with_the_connection)
{
	psa_key_attributes_t a = PSA_KEY_ATTRIBUTES_INIT;
	psa_key_id_t k1, k2;
	char name[48];
	uint8_t out[16];
	size_t n;

	if (!daemon_has(WIRE_OP_PSA_OP_SETUP)) {
		psa_key_attributes_t v = PSA_KEY_ATTRIBUTES_INIT;
		psa_key_id_t k = 1;

		/* Refused rather than made as a key that would outlive the process. */
		psa_set_key_type(&v, PSA_KEY_TYPE_AES);
		cr_assert_eq(psa_import_key(&v, aes_key, 16, &k), PSA_ERROR_NOT_SUPPORTED);
		cr_skip_test("the daemon has no connection sessions (volatile keys) yet");
	}
	k1 = import_key(VOL, PSA_KEY_TYPE_AES, PSA_KEY_USAGE_EXPORT, PSA_ALG_CTR, aes_key, 16);
	k2 = import_key(VOL, PSA_KEY_TYPE_AES, PSA_KEY_USAGE_EXPORT, PSA_ALG_CTR, aes_key, 16);
	cr_assert_geq(k1, PSA_KEY_ID_VENDOR_MIN);
	cr_assert_leq(k1, PSA_KEY_ID_VENDOR_MAX);
	cr_assert_neq(k1, k2);
	cr_assert_eq(psa_get_key_attributes(k1, &a), PSA_SUCCESS);
	cr_assert_eq(psa_get_key_lifetime(&a), PSA_KEY_LIFETIME_VOLATILE);
	cr_assert_eq(psa_get_key_id(&a), k1);
	cr_assert_eq(psa_export_key(k1, out, sizeof(out), &n), PSA_SUCCESS);
	cr_assert_arr_eq(out, aes_key, 16);
	cr_assert_eq(psa_destroy_key(k2), PSA_SUCCESS);
	cr_assert_eq(psa_export_key(k2, out, sizeof(out), &n), PSA_ERROR_INVALID_HANDLE);

	/* Not the tenant's named key: another connection does not see it. */
	snprintf(name, sizeof(name), ".volatile/%u", (unsigned)k1);
	cr_assert(!listed("alice", name));
	struct tessera_client *c = raw_client("alice");
	uint8_t *data;
	size_t len;

	cr_assert_eq(tessera_export_key(c, 1, name, &data, &len), 1140);
	tessera_close(c);

	/* The connection goes (the daemon restarts): the key is gone with it. */
	td_restart(&d, SIGTERM);
	cr_assert_eq(psa_export_key(k1, out, sizeof(out), &n), PSA_ERROR_COMMUNICATION_FAILURE);
	cr_assert_eq(psa_get_key_attributes(k1, &a), PSA_ERROR_COMMUNICATION_FAILURE);
	cr_assert_eq(psa_destroy_key(k1), PSA_SUCCESS);
	cr_assert_eq(psa_export_key(k1, out, sizeof(out), &n), PSA_ERROR_INVALID_HANDLE);
}

/* Makes a volatile key and reports its id through the exit status (id - VENDOR_MIN). */
static int child_makes_a_volatile_key(void)
{
	psa_key_id_t k =
	        import_key(VOL, PSA_KEY_TYPE_AES, PSA_KEY_USAGE_EXPORT, PSA_ALG_CTR, aes_key, 16);
	uint8_t out[16];
	size_t n;

	if (psa_export_key(k, out, sizeof(out), &n) != PSA_SUCCESS)
		return 99;
	return (int)(k - PSA_KEY_ID_VENDOR_MIN);
}

Test(psa_api, volatile_key_of_an_exited_process_is_gone)
{
	char name[48];
	uint8_t out[16], *data = NULL;
	size_t n, len;
	int off;
	struct tessera_client *c;

	if (!daemon_has(WIRE_OP_PSA_OP_SETUP))
		cr_skip_test("the daemon has no connection sessions (volatile keys) yet");
	off = in_child("alice", child_makes_a_volatile_key);
	cr_assert_lt(off, 99);
	snprintf(name, sizeof(name), ".volatile/%u", (unsigned)(PSA_KEY_ID_VENDOR_MIN + off));
	/* Not listed, not reachable by its name, not by its id in another process. */
	cr_assert(!listed("alice", name));
	c = raw_client("alice");
	cr_assert_eq(tessera_export_key(c, 1, name, &data, &len), 1140);
	tessera_close(c);
	cr_assert_eq(
	        psa_export_key(PSA_KEY_ID_VENDOR_MIN + (psa_key_id_t)off, out, sizeof(out), &n),
	        PSA_ERROR_INVALID_HANDLE);
}

/* ---- signatures, encryption */

/* An OpenSSL P-256 public key from PSA's uncompressed point. */
static EVP_PKEY *p256_pub(const uint8_t *pt, size_t len)
{
	OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	EVP_PKEY *pk = NULL;
	OSSL_PARAM *p;

	OSSL_PARAM_BLD_push_utf8_string(b, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0);
	OSSL_PARAM_BLD_push_octet_string(b, OSSL_PKEY_PARAM_PUB_KEY, pt, len);
	p = OSSL_PARAM_BLD_to_param(b);
	cr_assert_eq(EVP_PKEY_fromdata_init(ctx), 1);
	cr_assert_eq(EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, p), 1);
	OSSL_PARAM_free(p);
	OSSL_PARAM_BLD_free(b);
	EVP_PKEY_CTX_free(ctx);
	return pk;
}

/* OpenSSL's verdict on PSA's r||s signature of msg with SHA-256. */
static int openssl_verify(EVP_PKEY *pk, const uint8_t *sig, size_t sig_len, const uint8_t *msg,
                          size_t len)
{
	ECDSA_SIG *s = ECDSA_SIG_new();
	uint8_t *der = NULL;
	int der_len, ok;
	EVP_MD_CTX *md = EVP_MD_CTX_new();

	ECDSA_SIG_set0(s, BN_bin2bn(sig, (int)sig_len / 2, NULL),
	               BN_bin2bn(sig + sig_len / 2, (int)sig_len / 2, NULL));
	der_len = i2d_ECDSA_SIG(s, &der);
	cr_assert_gt(der_len, 0);
	cr_assert_eq(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pk), 1);
	ok = EVP_DigestVerify(md, der, (size_t)der_len, msg, len);
	EVP_MD_CTX_free(md);
	OPENSSL_free(der);
	ECDSA_SIG_free(s);
	return ok;
}

Test(psa_api, sign_and_verify_ecdsa)
{
	const uint8_t msg[] = "a message to sign";
	uint8_t sig[PSA_SIGNATURE_MAX_SIZE], pub[PSA_EXPORT_PUBLIC_KEY_MAX_SIZE], h[32];
	size_t sig_len, pub_len, h_len;
	psa_algorithm_t alg = PSA_ALG_ECDSA(PSA_ALG_SHA_256);
	psa_key_id_t k = make_key(21, PSA_KEY_TYPE_ECC_KEY_PAIR(PSA_ECC_FAMILY_SECP_R1), 256,
	                          PSA_KEY_USAGE_SIGN_HASH | PSA_KEY_USAGE_VERIFY_HASH |
	                                  PSA_KEY_USAGE_SIGN_MESSAGE | PSA_KEY_USAGE_VERIFY_MESSAGE,
	                          alg);
	EVP_PKEY *pk;

	cr_assert_eq(psa_export_public_key(k, pub, sizeof(pub), &pub_len), PSA_SUCCESS);
	cr_assert_eq(pub_len, 65);
	cr_assert_eq(pub[0], 4);
	pk = p256_pub(pub, pub_len);

	cr_assert_eq(psa_sign_message(k, alg, msg, sizeof(msg), sig, sizeof(sig), &sig_len),
	             PSA_SUCCESS);
	cr_assert_eq(sig_len, PSA_SIGN_OUTPUT_SIZE(
	                              PSA_KEY_TYPE_ECC_KEY_PAIR(PSA_ECC_FAMILY_SECP_R1), 256, alg));
	cr_assert_eq(openssl_verify(pk, sig, sig_len, msg, sizeof(msg)), 1);
	cr_assert_eq(psa_verify_message(k, alg, msg, sizeof(msg), sig, sig_len), PSA_SUCCESS);

	cr_assert_eq(psa_hash_compute(PSA_ALG_SHA_256, msg, sizeof(msg), h, sizeof(h), &h_len),
	             PSA_SUCCESS);
	cr_assert_eq(psa_sign_hash(k, alg, h, h_len, sig, sizeof(sig), &sig_len), PSA_SUCCESS);
	cr_assert_eq(openssl_verify(pk, sig, sig_len, msg, sizeof(msg)), 1);
	cr_assert_eq(psa_verify_hash(k, alg, h, h_len, sig, sig_len), PSA_SUCCESS);
	sig[5] ^= 0x40;
	cr_assert_eq(psa_verify_hash(k, alg, h, h_len, sig, sig_len), PSA_ERROR_INVALID_SIGNATURE);
	cr_assert_eq(psa_sign_hash(k, alg, h, h_len, sig, 63, &sig_len),
	             PSA_ERROR_BUFFER_TOO_SMALL);
	/* Not a signature algorithm; not the key's. */
	cr_assert_eq(psa_sign_hash(k, PSA_ALG_SHA_256, h, h_len, sig, sizeof(sig), &sig_len),
	             PSA_ERROR_INVALID_ARGUMENT);
	cr_assert_eq(psa_sign_hash(k, PSA_ALG_ECDSA(PSA_ALG_SHA_384), h, h_len, sig, sizeof(sig),
	                           &sig_len),
	             PSA_ERROR_NOT_PERMITTED);
	/* The private key may not leave. */
	cr_assert_eq(psa_export_key(k, pub, sizeof(pub), &pub_len), PSA_ERROR_NOT_PERMITTED);
	EVP_PKEY_free(pk);
	cr_assert_eq(psa_destroy_key(k), PSA_SUCCESS);
}

Test(psa_api, rsa_oaep_encrypt_decrypt)
{
	const uint8_t msg[] = "secret";
	const uint8_t label[] = "label";
	uint8_t ct[256], pt[256];
	size_t ct_len, pt_len;
	psa_algorithm_t alg = PSA_ALG_RSA_OAEP(PSA_ALG_SHA_256);
	psa_key_id_t k = make_key(0, PSA_KEY_TYPE_RSA_KEY_PAIR, 2048,
	                          PSA_KEY_USAGE_ENCRYPT | PSA_KEY_USAGE_DECRYPT, alg);

	cr_assert_eq(psa_asymmetric_encrypt(k, alg, msg, sizeof(msg), label, sizeof(label), ct,
	                                    sizeof(ct), &ct_len),
	             PSA_SUCCESS);
	cr_assert_eq(ct_len, 256);
	cr_assert_eq(psa_asymmetric_decrypt(k, alg, ct, ct_len, label, sizeof(label), pt,
	                                    sizeof(pt), &pt_len),
	             PSA_SUCCESS);
	cr_assert_eq(pt_len, sizeof(msg));
	cr_assert_arr_eq(pt, msg, sizeof(msg));
	cr_assert_neq(psa_asymmetric_decrypt(k, alg, ct, ct_len, NULL, 0, pt, sizeof(pt), &pt_len),
	              PSA_SUCCESS);
	cr_assert_eq(
	        psa_asymmetric_decrypt(k, alg, ct, ct_len, label, sizeof(label), pt, 3, &pt_len),
	        PSA_ERROR_BUFFER_TOO_SMALL);
	cr_assert_eq(psa_asymmetric_encrypt(k, PSA_ALG_RSA_PKCS1V15_CRYPT, msg, sizeof(msg), label,
	                                    sizeof(label), ct, sizeof(ct), &ct_len),
	             PSA_ERROR_INVALID_ARGUMENT);

	/* Its public key imported: the size read from the DER, encryption to it works. */
	uint8_t pub[PSA_EXPORT_PUBLIC_KEY_MAX_SIZE];
	size_t pub_len;
	psa_key_attributes_t a = PSA_KEY_ATTRIBUTES_INIT;

	cr_assert_eq(psa_export_public_key(k, pub, sizeof(pub), &pub_len), PSA_SUCCESS);
	psa_key_id_t p = import_key(0, PSA_KEY_TYPE_RSA_PUBLIC_KEY, PSA_KEY_USAGE_ENCRYPT, alg, pub,
	                            pub_len);

	cr_assert_eq(psa_get_key_attributes(p, &a), PSA_SUCCESS);
	cr_assert_eq(psa_get_key_bits(&a), 2048);
	cr_assert_eq(
	        psa_asymmetric_encrypt(p, alg, msg, sizeof(msg), NULL, 0, ct, sizeof(ct), &ct_len),
	        PSA_SUCCESS);
	cr_assert_eq(psa_asymmetric_decrypt(k, alg, ct, ct_len, NULL, 0, pt, sizeof(pt), &pt_len),
	             PSA_SUCCESS);
	cr_assert_arr_eq(pt, msg, sizeof(msg));
	/* A public key decrypts nothing. */
	cr_assert_eq(psa_asymmetric_decrypt(p, alg, ct, ct_len, NULL, 0, pt, sizeof(pt), &pt_len),
	             PSA_ERROR_NOT_PERMITTED);
	cr_assert_eq(psa_destroy_key(k), PSA_SUCCESS);
}

/* ---- symmetric one-shots */

Test(psa_api, aead_gcm_one_shot)
{
	const uint8_t nonce[12] = {9}, ad[] = "header", msg[] = "AEAD plaintext";
	uint8_t ct[64], pt[64];
	size_t ct_len, pt_len;
	psa_key_id_t k =
	        import_key(0, PSA_KEY_TYPE_AES, PSA_KEY_USAGE_ENCRYPT | PSA_KEY_USAGE_DECRYPT,
	                   PSA_ALG_GCM, aes_key, 16);

	cr_assert_eq(psa_aead_encrypt(k, PSA_ALG_GCM, nonce, 12, ad, sizeof(ad), msg, sizeof(msg),
	                              ct, sizeof(ct), &ct_len),
	             PSA_SUCCESS);
	cr_assert_eq(ct_len,
	             PSA_AEAD_ENCRYPT_OUTPUT_SIZE(PSA_KEY_TYPE_AES, PSA_ALG_GCM, sizeof(msg)));
	cr_assert_eq(psa_aead_decrypt(k, PSA_ALG_GCM, nonce, 12, ad, sizeof(ad), ct, ct_len, pt,
	                              sizeof(pt), &pt_len),
	             PSA_SUCCESS);
	cr_assert_eq(pt_len, sizeof(msg));
	cr_assert_arr_eq(pt, msg, sizeof(msg));
	ct[0] ^= 1;
	cr_assert_eq(psa_aead_decrypt(k, PSA_ALG_GCM, nonce, 12, ad, sizeof(ad), ct, ct_len, pt,
	                              sizeof(pt), &pt_len),
	             PSA_ERROR_INVALID_SIGNATURE);
	cr_assert_eq(psa_aead_encrypt(k, PSA_ALG_GCM, nonce, 12, ad, sizeof(ad), msg, sizeof(msg),
	                              ct, sizeof(msg), &ct_len),
	             PSA_ERROR_BUFFER_TOO_SMALL);
	cr_assert_eq(psa_aead_encrypt(k, PSA_ALG_CTR, nonce, 12, ad, sizeof(ad), msg, sizeof(msg),
	                              ct, sizeof(ct), &ct_len),
	             PSA_ERROR_INVALID_ARGUMENT);
}

Test(psa_api, cipher_ctr_one_shot)
{
	const uint8_t msg[40] = "unauthenticated cipher text, 40 bytes!";
	uint8_t ct[64], pt[64];
	size_t ct_len, pt_len;
	psa_key_id_t k =
	        import_key(0, PSA_KEY_TYPE_AES, PSA_KEY_USAGE_ENCRYPT | PSA_KEY_USAGE_DECRYPT,
	                   PSA_ALG_CTR, aes_key, 16);

	cr_assert_eq(psa_cipher_encrypt(k, PSA_ALG_CTR, msg, sizeof(msg), ct, sizeof(ct), &ct_len),
	             PSA_SUCCESS);
	cr_assert_eq(ct_len, 16 + sizeof(msg));
	cr_assert_eq(psa_cipher_decrypt(k, PSA_ALG_CTR, ct, ct_len, pt, sizeof(pt), &pt_len),
	             PSA_SUCCESS);
	cr_assert_eq(pt_len, sizeof(msg));
	cr_assert_arr_eq(pt, msg, sizeof(msg));
	cr_assert_eq(psa_cipher_encrypt(k, PSA_ALG_CTR, msg, sizeof(msg), ct, 20, &ct_len),
	             PSA_ERROR_BUFFER_TOO_SMALL);
}

Test(psa_api, mac_and_hash_match_openssl)
{
	const uint8_t key[32] = {7, 7, 7}, msg[] = "mac me";
	uint8_t mac[PSA_MAC_MAX_SIZE], expect[32], h[PSA_HASH_MAX_SIZE];
	unsigned elen = 0;
	size_t mac_len, h_len;
	psa_algorithm_t alg = PSA_ALG_HMAC(PSA_ALG_SHA_256);
	psa_key_id_t k = import_key(0, PSA_KEY_TYPE_HMAC,
	                            PSA_KEY_USAGE_SIGN_MESSAGE | PSA_KEY_USAGE_VERIFY_MESSAGE, alg,
	                            key, sizeof(key));

	HMAC(EVP_sha256(), key, sizeof(key), msg, sizeof(msg), expect, &elen);
	cr_assert_eq(psa_mac_compute(k, alg, msg, sizeof(msg), mac, sizeof(mac), &mac_len),
	             PSA_SUCCESS);
	cr_assert_eq(mac_len, 32);
	cr_assert_arr_eq(mac, expect, 32);
	cr_assert_eq(psa_mac_verify(k, alg, msg, sizeof(msg), mac, mac_len), PSA_SUCCESS);
	mac[31] ^= 1;
	cr_assert_eq(psa_mac_verify(k, alg, msg, sizeof(msg), mac, mac_len),
	             PSA_ERROR_INVALID_SIGNATURE);
	cr_assert_eq(psa_mac_compute(k, alg, msg, sizeof(msg), mac, 31, &mac_len),
	             PSA_ERROR_BUFFER_TOO_SMALL);
	/* Shorter than 4 bytes is not supported; a missing key is said first. */
	cr_assert_eq(psa_mac_compute(k, PSA_ALG_TRUNCATED_MAC(alg, 3), msg, sizeof(msg), mac,
	                             sizeof(mac), &mac_len),
	             PSA_ERROR_NOT_SUPPORTED);
	cr_assert_eq(
	        psa_mac_verify(k + 1000, PSA_ALG_TRUNCATED_MAC(alg, 3), msg, sizeof(msg), mac, 3),
	        PSA_ERROR_INVALID_HANDLE);

	SHA256(msg, sizeof(msg), expect);
	cr_assert_eq(psa_hash_compute(PSA_ALG_SHA_256, msg, sizeof(msg), h, sizeof(h), &h_len),
	             PSA_SUCCESS);
	cr_assert_eq(h_len, 32);
	cr_assert_arr_eq(h, expect, 32);
	cr_assert_eq(psa_hash_compare(PSA_ALG_SHA_256, msg, sizeof(msg), expect, 32), PSA_SUCCESS);
	expect[0] ^= 1;
	cr_assert_eq(psa_hash_compare(PSA_ALG_SHA_256, msg, sizeof(msg), expect, 32),
	             PSA_ERROR_INVALID_SIGNATURE);
	cr_assert_eq(psa_hash_compute(PSA_ALG_SHA_256, msg, sizeof(msg), h, 31, &h_len),
	             PSA_ERROR_BUFFER_TOO_SMALL);
	cr_assert_eq(psa_hash_compute(PSA_ALG_SHA_512, msg, sizeof(msg), h, sizeof(h), &h_len),
	             PSA_SUCCESS);
	cr_assert_eq(h_len, 64);
}

Test(psa_api, raw_ecdh_agreement)
{
	psa_algorithm_t alg = PSA_ALG_ECDH;
	psa_key_type_t t = PSA_KEY_TYPE_ECC_KEY_PAIR(PSA_ECC_FAMILY_SECP_R1);
	psa_key_id_t a = make_key(0, t, 256, PSA_KEY_USAGE_DERIVE, alg);
	psa_key_id_t b = make_key(0, t, 256, PSA_KEY_USAGE_DERIVE, alg);
	uint8_t pa[65], pb[65], s1[32], s2[32];
	size_t na, nb, n1, n2;

	cr_assert_eq(psa_export_public_key(a, pa, sizeof(pa), &na), PSA_SUCCESS);
	cr_assert_eq(psa_export_public_key(b, pb, sizeof(pb), &nb), PSA_SUCCESS);
	cr_assert_eq(psa_raw_key_agreement(alg, a, pb, nb, s1, sizeof(s1), &n1), PSA_SUCCESS);
	cr_assert_eq(psa_raw_key_agreement(alg, b, pa, na, s2, sizeof(s2), &n2), PSA_SUCCESS);
	cr_assert_eq(n1, 32);
	cr_assert_eq(n2, 32);
	cr_assert_arr_eq(s1, s2, 32);
	cr_assert_eq(psa_raw_key_agreement(alg, a, pb, nb, s1, 31, &n1),
	             PSA_ERROR_BUFFER_TOO_SMALL);
	cr_assert_eq(psa_raw_key_agreement(PSA_ALG_SHA_256, a, pb, nb, s1, sizeof(s1), &n1),
	             PSA_ERROR_INVALID_ARGUMENT);
}

Test(psa_api, random_in_chunks)
{
	size_t len = 200000, zeros = 0;
	uint8_t *buf = calloc(1, len);

	cr_assert_eq(psa_generate_random(buf, len), PSA_SUCCESS);
	for (size_t i = 0; i < len; i++)
		zeros += buf[i] == 0;
	cr_assert_lt(zeros, len / 128); /* about len / 256 expected */
	cr_assert_neq(memcmp(buf, buf + 100000, 4096), 0);
	cr_assert_eq(psa_generate_random(NULL, 0), PSA_SUCCESS);
	free(buf);
}

/* ---- copy, purge */

Test(psa_api, copy_and_purge)
{
	psa_key_attributes_t a = PSA_KEY_ATTRIBUTES_INIT;
	psa_key_id_t src, dst = 0;
	uint8_t out[16];
	size_t n;

	if (!daemon_has(WIRE_OP_PSA_COPY_KEY))
		cr_skip_test("the daemon has no PsaCopyKey yet");
	src = import_key(31, PSA_KEY_TYPE_AES,
	                 PSA_KEY_USAGE_EXPORT | PSA_KEY_USAGE_COPY | PSA_KEY_USAGE_ENCRYPT,
	                 PSA_ALG_CTR, aes_key, 16);
	psa_set_key_id(&a, 32);
	psa_set_key_usage_flags(&a, PSA_KEY_USAGE_EXPORT);
	psa_set_key_algorithm(&a, PSA_ALG_CTR);
	cr_assert_eq(psa_copy_key(src, &a, &dst), PSA_SUCCESS);
	cr_assert_eq(dst, 32);
	cr_assert_eq(psa_export_key(dst, out, sizeof(out), &n), PSA_SUCCESS);
	cr_assert_arr_eq(out, aes_key, 16);
	cr_assert_eq(psa_purge_key(dst), PSA_SUCCESS);
	psa_set_key_bits(&a, 256);
	psa_set_key_id(&a, 33);
	cr_assert_eq(psa_copy_key(src, &a, &dst), PSA_ERROR_INVALID_ARGUMENT);
}

/* ---- multipart (the daemon's operation handles) */

#define NEED_MULTIPART()                                                                   \
	do {                                                                               \
		if (!daemon_has(WIRE_OP_PSA_OP_SETUP))                                     \
			cr_skip_test("the daemon has no multipart operation handles yet"); \
	} while (0)

Test(psa_api, multipart_hash_and_clone)
{
	psa_hash_operation_t op = PSA_HASH_OPERATION_INIT, op2 = PSA_HASH_OPERATION_INIT;
	uint8_t h[32], h2[32], expect[32];
	const uint8_t part1[] = "first part, ", part2[] = "second part";
	uint8_t all[sizeof(part1) + sizeof(part2)];
	size_t n;

	NEED_MULTIPART();
	memcpy(all, part1, sizeof(part1));
	memcpy(all + sizeof(part1), part2, sizeof(part2));
	SHA256(all, sizeof(all), expect);
	cr_assert_eq(psa_hash_setup(&op, PSA_ALG_SHA_256), PSA_SUCCESS);
	cr_assert_eq(psa_hash_setup(&op, PSA_ALG_SHA_256), PSA_ERROR_BAD_STATE);
	cr_assert_eq(psa_hash_update(&op, part1, sizeof(part1)), PSA_SUCCESS);
	cr_assert_eq(psa_hash_clone(&op, &op2), PSA_SUCCESS);
	cr_assert_eq(psa_hash_update(&op, part2, sizeof(part2)), PSA_SUCCESS);
	cr_assert_eq(psa_hash_update(&op2, part2, sizeof(part2)), PSA_SUCCESS);
	cr_assert_eq(psa_hash_finish(&op, h, sizeof(h), &n), PSA_SUCCESS);
	cr_assert_eq(n, 32);
	cr_assert_arr_eq(h, expect, 32);
	cr_assert_eq(psa_hash_finish(&op, h, sizeof(h), &n), PSA_ERROR_BAD_STATE);
	cr_assert_eq(psa_hash_verify(&op2, expect, 32), PSA_SUCCESS);
	cr_assert_eq(psa_hash_abort(&op2), PSA_SUCCESS);

	/* Verify fails: error state until abort. */
	cr_assert_eq(psa_hash_setup(&op, PSA_ALG_SHA_256), PSA_SUCCESS);
	cr_assert_eq(psa_hash_update(&op, part1, sizeof(part1)), PSA_SUCCESS);
	cr_assert_eq(psa_hash_verify(&op, expect, 32), PSA_ERROR_INVALID_SIGNATURE);
	cr_assert_eq(psa_hash_update(&op, part1, sizeof(part1)), PSA_ERROR_BAD_STATE);
	cr_assert_eq(psa_hash_abort(&op), PSA_SUCCESS);
	cr_assert_eq(psa_hash_setup(&op, PSA_ALG_SHA_256), PSA_SUCCESS);
	cr_assert_eq(psa_hash_finish(&op, h2, 16, &n), PSA_ERROR_BUFFER_TOO_SMALL);
	cr_assert_eq(psa_hash_abort(&op), PSA_SUCCESS);
	cr_assert_eq(psa_hash_suspend(&op, h2, sizeof(h2), &n), PSA_ERROR_NOT_SUPPORTED);

	/* An update larger than one request carries goes in pieces. */
	size_t big_len = 200000;
	uint8_t *big = malloc(big_len);

	for (size_t i = 0; i < big_len; i++)
		big[i] = (uint8_t)(i * 7);
	SHA256(big, big_len, expect);
	cr_assert_eq(psa_hash_setup(&op, PSA_ALG_SHA_256), PSA_SUCCESS);
	cr_assert_eq(psa_hash_update(&op, big, big_len), PSA_SUCCESS);
	cr_assert_eq(psa_hash_verify(&op, expect, 32), PSA_SUCCESS);
	free(big);
}

Test(psa_api, multipart_mac)
{
	const uint8_t key[32] = {3}, msg[] = "multipart MAC input";
	uint8_t mac[32], expect[32];
	unsigned elen = 0;
	size_t n;
	psa_algorithm_t alg = PSA_ALG_HMAC(PSA_ALG_SHA_256);
	psa_mac_operation_t op = PSA_MAC_OPERATION_INIT;
	psa_key_id_t k;

	NEED_MULTIPART();
	k = import_key(0, PSA_KEY_TYPE_HMAC,
	               PSA_KEY_USAGE_SIGN_MESSAGE | PSA_KEY_USAGE_VERIFY_MESSAGE, alg, key,
	               sizeof(key));
	HMAC(EVP_sha256(), key, sizeof(key), msg, sizeof(msg), expect, &elen);
	cr_assert_eq(psa_mac_sign_setup(&op, k, alg), PSA_SUCCESS);
	cr_assert_eq(psa_mac_update(&op, msg, 5), PSA_SUCCESS);
	cr_assert_eq(psa_mac_update(&op, msg + 5, sizeof(msg) - 5), PSA_SUCCESS);
	cr_assert_eq(psa_mac_verify_finish(&op, expect, 32), PSA_ERROR_BAD_STATE);
	cr_assert_eq(psa_mac_abort(&op), PSA_SUCCESS);
	cr_assert_eq(psa_mac_sign_setup(&op, k, alg), PSA_SUCCESS);
	cr_assert_eq(psa_mac_update(&op, msg, sizeof(msg)), PSA_SUCCESS);
	cr_assert_eq(psa_mac_sign_finish(&op, mac, sizeof(mac), &n), PSA_SUCCESS);
	cr_assert_eq(n, 32);
	cr_assert_arr_eq(mac, expect, 32);
	cr_assert_eq(psa_mac_verify_setup(&op, k, alg), PSA_SUCCESS);
	cr_assert_eq(psa_mac_update(&op, msg, sizeof(msg)), PSA_SUCCESS);
	cr_assert_eq(psa_mac_verify_finish(&op, expect, 32), PSA_SUCCESS);
}

Test(psa_api, multipart_cipher_cbc_output_lengths)
{
	const uint8_t iv[16] = {5};
	uint8_t msg[40], ct[64], pt[64], one[64];
	size_t n, total = 0, one_len;
	psa_cipher_operation_t op = PSA_CIPHER_OPERATION_INIT;
	psa_key_id_t k;

	NEED_MULTIPART();
	for (size_t i = 0; i < sizeof(msg); i++)
		msg[i] = (uint8_t)i;
	k = import_key(0, PSA_KEY_TYPE_AES, PSA_KEY_USAGE_ENCRYPT | PSA_KEY_USAGE_DECRYPT,
	               PSA_ALG_CBC_PKCS7, aes_key, 16);
	cr_assert_eq(psa_cipher_encrypt_setup(&op, k, PSA_ALG_CBC_PKCS7), PSA_SUCCESS);
	/* Data before the IV. */
	cr_assert_eq(psa_cipher_update(&op, msg, 10, ct, sizeof(ct), &n), PSA_ERROR_BAD_STATE);
	cr_assert_eq(psa_cipher_abort(&op), PSA_SUCCESS);
	cr_assert_eq(psa_cipher_encrypt_setup(&op, k, PSA_ALG_CBC_PKCS7), PSA_SUCCESS);
	cr_assert_eq(psa_cipher_set_iv(&op, iv, sizeof(iv)), PSA_SUCCESS);
	cr_assert_eq(psa_cipher_update(&op, msg, 10, ct, sizeof(ct), &n), PSA_SUCCESS);
	cr_assert_eq(n, 0);
	cr_assert_eq(psa_cipher_update(&op, msg + 10, 30, ct, sizeof(ct), &n), PSA_SUCCESS);
	cr_assert_eq(n, 32);
	total = n;
	cr_assert_eq(psa_cipher_finish(&op, ct + total, sizeof(ct) - total, &n), PSA_SUCCESS);
	cr_assert_eq(n, 16);
	total += n;

	/* The same as the one-shot's ciphertext after its IV. */
	cr_assert_eq(psa_cipher_decrypt_setup(&op, k, PSA_ALG_CBC_PKCS7), PSA_SUCCESS);
	cr_assert_eq(psa_cipher_set_iv(&op, iv, sizeof(iv)), PSA_SUCCESS);
	cr_assert_eq(psa_cipher_update(&op, ct, total, pt, sizeof(pt), &n), PSA_SUCCESS);
	cr_assert_eq(n, 32);
	cr_assert_eq(psa_cipher_finish(&op, pt + n, sizeof(pt) - n, &one_len), PSA_SUCCESS);
	cr_assert_eq(n + one_len, sizeof(msg));
	cr_assert_arr_eq(pt, msg, sizeof(msg));
	memcpy(one, iv, 16);
	memcpy(one + 16, ct, total);
	cr_assert_eq(psa_cipher_decrypt(k, PSA_ALG_CBC_PKCS7, one, 16 + total, pt, sizeof(pt), &n),
	             PSA_SUCCESS);
	cr_assert_eq(n, sizeof(msg));

	/* generate_iv, and a too small update buffer puts it in the error state. */
	cr_assert_eq(psa_cipher_encrypt_setup(&op, k, PSA_ALG_CBC_PKCS7), PSA_SUCCESS);
	cr_assert_eq(psa_cipher_generate_iv(&op, one, sizeof(one), &n), PSA_SUCCESS);
	cr_assert_eq(n, 16);
	cr_assert_eq(psa_cipher_generate_iv(&op, one, sizeof(one), &n), PSA_ERROR_BAD_STATE);
	cr_assert_eq(psa_cipher_abort(&op), PSA_SUCCESS);
	cr_assert_eq(psa_cipher_encrypt_setup(&op, k, PSA_ALG_CBC_PKCS7), PSA_SUCCESS);
	cr_assert_eq(psa_cipher_set_iv(&op, iv, sizeof(iv)), PSA_SUCCESS);
	cr_assert_eq(psa_cipher_update(&op, msg, 32, ct, 31, &n), PSA_ERROR_BUFFER_TOO_SMALL);
	cr_assert_eq(psa_cipher_update(&op, msg, 1, ct, sizeof(ct), &n), PSA_ERROR_BAD_STATE);
	cr_assert_eq(psa_cipher_abort(&op), PSA_SUCCESS);
}

Test(psa_api, multipart_aead_gcm_and_ccm)
{
	const uint8_t nonce[12] = {1, 2}, ad[] = "ad", msg[] = "multipart AEAD text";
	uint8_t one[64], ct[64], tag[16], pt[64];
	size_t one_len, n, m, t;
	psa_aead_operation_t op = PSA_AEAD_OPERATION_INIT;
	psa_algorithm_t ccm = PSA_ALG_CCM;
	psa_key_id_t k, kc;

	NEED_MULTIPART();
	k = import_key(0, PSA_KEY_TYPE_AES, PSA_KEY_USAGE_ENCRYPT | PSA_KEY_USAGE_DECRYPT,
	               PSA_ALG_GCM, aes_key, 16);
	cr_assert_eq(psa_aead_encrypt(k, PSA_ALG_GCM, nonce, 12, ad, sizeof(ad), msg, sizeof(msg),
	                              one, sizeof(one), &one_len),
	             PSA_SUCCESS);
	cr_assert_eq(psa_aead_encrypt_setup(&op, k, PSA_ALG_GCM), PSA_SUCCESS);
	cr_assert_eq(psa_aead_update_ad(&op, ad, sizeof(ad)), PSA_ERROR_BAD_STATE); /* no nonce */
	cr_assert_eq(psa_aead_abort(&op), PSA_SUCCESS);
	cr_assert_eq(psa_aead_encrypt_setup(&op, k, PSA_ALG_GCM), PSA_SUCCESS);
	cr_assert_eq(psa_aead_set_nonce(&op, nonce, 12), PSA_SUCCESS);
	cr_assert_eq(psa_aead_update_ad(&op, ad, sizeof(ad)), PSA_SUCCESS);
	cr_assert_eq(psa_aead_update(&op, msg, 7, ct, sizeof(ct), &n), PSA_SUCCESS);
	cr_assert_eq(psa_aead_update_ad(&op, ad, 1), PSA_ERROR_BAD_STATE);
	cr_assert_eq(psa_aead_abort(&op), PSA_SUCCESS);

	cr_assert_eq(psa_aead_encrypt_setup(&op, k, PSA_ALG_GCM), PSA_SUCCESS);
	cr_assert_eq(psa_aead_set_nonce(&op, nonce, 12), PSA_SUCCESS);
	cr_assert_eq(psa_aead_update_ad(&op, ad, sizeof(ad)), PSA_SUCCESS);
	cr_assert_eq(psa_aead_update(&op, msg, 7, ct, sizeof(ct), &n), PSA_SUCCESS);
	cr_assert_eq(psa_aead_update(&op, msg + 7, sizeof(msg) - 7, ct + n, sizeof(ct) - n, &m),
	             PSA_SUCCESS);
	n += m;
	cr_assert_eq(psa_aead_finish(&op, ct + n, sizeof(ct) - n, &m, tag, sizeof(tag), &t),
	             PSA_SUCCESS);
	n += m;
	cr_assert_eq(n, sizeof(msg));
	cr_assert_eq(t, 16);
	cr_assert_eq(one_len, n + t);
	cr_assert_arr_eq(one, ct, n);
	cr_assert_arr_eq(one + n, tag, 16);

	cr_assert_eq(psa_aead_decrypt_setup(&op, k, PSA_ALG_GCM), PSA_SUCCESS);
	cr_assert_eq(psa_aead_generate_nonce(&op, pt, sizeof(pt), &m), PSA_ERROR_BAD_STATE);
	cr_assert_eq(psa_aead_abort(&op), PSA_SUCCESS);
	cr_assert_eq(psa_aead_decrypt_setup(&op, k, PSA_ALG_GCM), PSA_SUCCESS);
	cr_assert_eq(psa_aead_set_nonce(&op, nonce, 12), PSA_SUCCESS);
	cr_assert_eq(psa_aead_update_ad(&op, ad, sizeof(ad)), PSA_SUCCESS);
	cr_assert_eq(psa_aead_update(&op, ct, n, pt, sizeof(pt), &m), PSA_SUCCESS);
	cr_assert_eq(psa_aead_verify(&op, pt + m, sizeof(pt) - m, &t, tag, 16), PSA_SUCCESS);
	cr_assert_eq(m + t, sizeof(msg));
	cr_assert_arr_eq(pt, msg, sizeof(msg));

	/* CCM needs its lengths before any data, and the declared lengths are binding. */
	kc = import_key(0, PSA_KEY_TYPE_AES, PSA_KEY_USAGE_ENCRYPT | PSA_KEY_USAGE_DECRYPT, ccm,
	                aes_key, 16);
	cr_assert_eq(psa_aead_encrypt_setup(&op, kc, ccm), PSA_SUCCESS);
	cr_assert_eq(psa_aead_set_nonce(&op, nonce, 12), PSA_SUCCESS);
	cr_assert_eq(psa_aead_update_ad(&op, ad, sizeof(ad)), PSA_ERROR_BAD_STATE);
	cr_assert_eq(psa_aead_abort(&op), PSA_SUCCESS);
	cr_assert_eq(psa_aead_encrypt_setup(&op, kc, ccm), PSA_SUCCESS);
	cr_assert_eq(psa_aead_set_lengths(&op, sizeof(ad), sizeof(msg)), PSA_SUCCESS);
	cr_assert_eq(psa_aead_set_nonce(&op, nonce, 12), PSA_SUCCESS);
	cr_assert_eq(psa_aead_update_ad(&op, ad, sizeof(ad) + 1), PSA_ERROR_INVALID_ARGUMENT);
	cr_assert_eq(psa_aead_abort(&op), PSA_SUCCESS);
	cr_assert_eq(psa_aead_encrypt_setup(&op, kc, ccm), PSA_SUCCESS);
	cr_assert_eq(psa_aead_set_lengths(&op, sizeof(ad), sizeof(msg)), PSA_SUCCESS);
	cr_assert_eq(psa_aead_set_nonce(&op, nonce, 12), PSA_SUCCESS);
	cr_assert_eq(psa_aead_update_ad(&op, ad, sizeof(ad)), PSA_SUCCESS);
	cr_assert_eq(psa_aead_update(&op, msg, sizeof(msg), ct, sizeof(ct), &n), PSA_SUCCESS);
	cr_assert_eq(psa_aead_finish(&op, ct + n, sizeof(ct) - n, &m, tag, sizeof(tag), &t),
	             PSA_SUCCESS);
	cr_assert_eq(psa_aead_encrypt(kc, ccm, nonce, 12, ad, sizeof(ad), msg, sizeof(msg), one,
	                              sizeof(one), &one_len),
	             PSA_SUCCESS);
	cr_assert_eq(one_len, n + m + t);
	cr_assert_arr_eq(one, ct, n + m);
	cr_assert_arr_eq(one + n + m, tag, t);

	/* A generated CCM nonce leaves the length field the declared text
	 * needs: 15 - L bytes, L >= 2 (13 up to 64 KiB - 1, 12 beyond). */
	{
		static const struct {
			size_t text, nonce;
		} want[] = {{0, 13}, {0xffff, 13}, {0x10000, 12}, {70000, 12}, {0x1000000, 11}};
		uint8_t gen[PSA_AEAD_NONCE_MAX_SIZE];

		for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
			cr_assert_eq(psa_aead_encrypt_setup(&op, kc, ccm), PSA_SUCCESS);
			cr_assert_eq(psa_aead_set_lengths(&op, 0, want[i].text), PSA_SUCCESS);
			cr_assert_eq(psa_aead_generate_nonce(&op, gen, sizeof(gen), &m),
			             PSA_SUCCESS, "text of %zu bytes", want[i].text);
			cr_assert_eq(m, want[i].nonce, "text of %zu bytes", want[i].text);
			cr_assert_eq(psa_aead_abort(&op), PSA_SUCCESS);
		}
	}
}

Test(psa_api, key_derivation_hkdf)
{
	psa_key_derivation_operation_t op = PSA_KEY_DERIVATION_OPERATION_INIT;
	psa_algorithm_t alg = PSA_ALG_HKDF(PSA_ALG_SHA_256);
	const uint8_t ikm[22] = {0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b,
	                         0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b};
	const uint8_t salt[13] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
	const uint8_t info[10] = {0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9};
	/* RFC 5869 test case 1, first 16 bytes of OKM, and the 4 after them. */
	const uint8_t okm[16] = {0x3c, 0xb2, 0x5f, 0x25, 0xfa, 0xac, 0xd5, 0x7a,
	                         0x90, 0x43, 0x4f, 0x64, 0xd0, 0x36, 0x2f, 0x2a};
	const uint8_t okm_next[4] = {0x2d, 0x2d, 0x0a, 0x90};
	uint8_t out[16];
	size_t cap;
	psa_key_id_t secret;

	NEED_MULTIPART();
	secret = import_key(0, PSA_KEY_TYPE_DERIVE, PSA_KEY_USAGE_DERIVE, alg, ikm, sizeof(ikm));
	cr_assert_eq(psa_key_derivation_setup(&op, alg), PSA_SUCCESS);
	cr_assert_eq(psa_key_derivation_input_bytes(&op, PSA_KEY_DERIVATION_INPUT_SALT, salt,
	                                            sizeof(salt)),
	             PSA_SUCCESS);
	cr_assert_eq(psa_key_derivation_input_key(&op, PSA_KEY_DERIVATION_INPUT_SECRET, secret),
	             PSA_SUCCESS);
	cr_assert_eq(psa_key_derivation_input_bytes(&op, PSA_KEY_DERIVATION_INPUT_INFO, info,
	                                            sizeof(info)),
	             PSA_SUCCESS);
	cr_assert_eq(psa_key_derivation_get_capacity(&op, &cap), PSA_SUCCESS);
	cr_assert_eq(cap, 255 * 32);
	cr_assert_eq(psa_key_derivation_set_capacity(&op, 24), PSA_SUCCESS);
	cr_assert_eq(psa_key_derivation_output_bytes(&op, out, 16), PSA_SUCCESS);
	cr_assert_arr_eq(out, okm, 16);
	cr_assert_eq(psa_key_derivation_output_bytes(&op, out, 16), PSA_ERROR_INSUFFICIENT_DATA);
	cr_assert_eq(psa_key_derivation_abort(&op), PSA_SUCCESS);
	cr_assert_eq(psa_key_derivation_output_bytes(&op, out, 16), PSA_ERROR_BAD_STATE);

	/* The same bytes as a key; then verified, in constant time, by the library. */
	psa_key_attributes_t ka = PSA_KEY_ATTRIBUTES_INIT;
	psa_key_id_t derived = 0;
	uint8_t wrong[16];
	size_t n;

	for (int round = 0; round < 3; round++) {
		cr_assert_eq(psa_key_derivation_setup(&op, alg), PSA_SUCCESS);
		cr_assert_eq(psa_key_derivation_input_bytes(&op, PSA_KEY_DERIVATION_INPUT_SALT,
		                                            salt, sizeof(salt)),
		             PSA_SUCCESS);
		cr_assert_eq(
		        psa_key_derivation_input_key(&op, PSA_KEY_DERIVATION_INPUT_SECRET, secret),
		        PSA_SUCCESS);
		cr_assert_eq(psa_key_derivation_input_bytes(&op, PSA_KEY_DERIVATION_INPUT_INFO,
		                                            info, sizeof(info)),
		             PSA_SUCCESS);
		if (round == 0) {
			psa_set_key_type(&ka, PSA_KEY_TYPE_AES);
			psa_set_key_bits(&ka, 128);
			psa_set_key_usage_flags(&ka, PSA_KEY_USAGE_EXPORT);
			cr_assert_eq(psa_key_derivation_output_key(&ka, &op, &derived),
			             PSA_SUCCESS);
			cr_assert_geq(derived, PSA_KEY_ID_VENDOR_MIN);
			cr_assert_eq(psa_export_key(derived, out, sizeof(out), &n), PSA_SUCCESS);
			cr_assert_eq(n, 16);
			cr_assert_arr_eq(out, okm, 16);
			cr_assert_eq(psa_get_key_attributes(derived, &ka), PSA_SUCCESS);
			cr_assert_eq(psa_get_key_bits(&ka), 128);
		} else if (round == 1) {
			cr_assert_eq(psa_key_derivation_verify_bytes(&op, okm, sizeof(okm)),
			             PSA_SUCCESS);
		} else {
			memcpy(wrong, okm, sizeof(wrong));
			wrong[15] ^= 1;
			cr_assert_eq(psa_key_derivation_verify_bytes(&op, wrong, sizeof(wrong)),
			             PSA_ERROR_INVALID_SIGNATURE);
			/* A mismatch does not end the operation: the stream goes on
			 * after the 16 bytes compared. */
			cr_assert_eq(psa_key_derivation_output_bytes(&op, out, 4), PSA_SUCCESS);
			cr_assert_arr_eq(out, okm_next, 4);
			/* No key can be the PASSWORD_HASH key verify_key needs. */
			cr_assert_eq(psa_key_derivation_verify_key(&op, derived),
			             PSA_ERROR_INVALID_ARGUMENT);
			cr_assert_eq(psa_key_derivation_output_bytes(&op, out, 1),
			             PSA_ERROR_BAD_STATE);
		}
		cr_assert_eq(psa_key_derivation_abort(&op), PSA_SUCCESS);
	}
}

Test(psa_api, operations_fail_after_the_connection_is_lost)
{
	psa_hash_operation_t op = PSA_HASH_OPERATION_INIT;
	uint8_t h[32];
	size_t n;

	NEED_MULTIPART();
	cr_assert_eq(psa_hash_setup(&op, PSA_ALG_SHA_256), PSA_SUCCESS);
	cr_assert_eq(psa_hash_update(&op, h, 4), PSA_SUCCESS);
	td_restart(&d, SIGTERM);
	cr_assert_eq(psa_hash_update(&op, h, 4), PSA_ERROR_COMMUNICATION_FAILURE);
	cr_assert_eq(psa_hash_finish(&op, h, sizeof(h), &n), PSA_ERROR_BAD_STATE);
	cr_assert_eq(psa_hash_abort(&op), PSA_SUCCESS);
	/* A new operation on the new connection works. */
	cr_assert_eq(psa_hash_setup(&op, PSA_ALG_SHA_256), PSA_SUCCESS);
	cr_assert_eq(psa_hash_finish(&op, h, sizeof(h), &n), PSA_SUCCESS);
}

/* ---- threads */

struct worker {
	psa_key_id_t key;
	int failures;
};

static void *sign_and_hash(void *arg)
{
	struct worker *w = arg;
	psa_algorithm_t alg = PSA_ALG_ECDSA(PSA_ALG_SHA_256);
	uint8_t msg[32], sig[64], h[32];
	size_t n;

	for (int i = 0; i < 25; i++) {
		memset(msg, i, sizeof(msg));
		if (psa_sign_message(w->key, alg, msg, sizeof(msg), sig, sizeof(sig), &n) !=
		            PSA_SUCCESS ||
		    psa_verify_message(w->key, alg, msg, sizeof(msg), sig, n) != PSA_SUCCESS ||
		    psa_hash_compute(PSA_ALG_SHA_256, msg, sizeof(msg), h, sizeof(h), &n) !=
		            PSA_SUCCESS)
			w->failures++;
	}
	return NULL;
}

Test(psa_api, threads_share_the_connection)
{
	psa_key_id_t k = make_key(0, PSA_KEY_TYPE_ECC_KEY_PAIR(PSA_ECC_FAMILY_SECP_R1), 256,
	                          PSA_KEY_USAGE_SIGN_MESSAGE | PSA_KEY_USAGE_VERIFY_MESSAGE,
	                          PSA_ALG_ECDSA(PSA_ALG_SHA_256));
	struct worker w[4];
	pthread_t t[4];

	for (int i = 0; i < 4; i++) {
		w[i].key = k;
		w[i].failures = 0;
		cr_assert_eq(pthread_create(&t[i], NULL, sign_and_hash, &w[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		cr_expect_eq(w[i].failures, 0, "thread %d: %d failed calls", i, w[i].failures);
	}
}

/* ---- the daemon's cap on operations, per tenant */

#define CAP 3
#define CAP_CONFIG                                                                            \
	"{\"core\": {\"allow_root\": true, \"log_level\": \"debug\", \"log_error_details\": " \
	"true},"                                                                              \
	" \"listener\": {\"socket_path\": \"%1$s\", \"timeout_ms\": 1000},"                   \
	" \"authenticators\": [{\"type\": \"Direct\"}],"                                      \
	" \"psa\": {\"max_operations_per_tenant\": 3},"                                       \
	" \"providers\": [{\"type\": \"Software\"}]}"

static void cap_setup(void)
{
	td_start(&d, CAP_CONFIG);
	snprintf(ep, sizeof(ep), "unix:%s", d.sock);
	setenv("TESSERA_ENDPOINT", ep, 1);
	use_app("alice");
}

TestSuite(psa_cap, .init = cap_setup, .fini = teardown, .timeout = 120);

/* Opens the whole cap of hash operations; 0 when all opened and one more was refused. */
static int open_cap(psa_hash_operation_t *ops)
{
	psa_hash_operation_t extra = PSA_HASH_OPERATION_INIT;

	for (int i = 0; i < CAP; i++) {
		ops[i] = psa_hash_operation_init();
		if (psa_hash_setup(&ops[i], PSA_ALG_SHA_256) != PSA_SUCCESS)
			return 1;
	}
	return psa_hash_setup(&extra, PSA_ALG_SHA_256) == PSA_ERROR_INSUFFICIENT_MEMORY ? 0 : 2;
}

static int child_opens_the_cap(void)
{
	psa_hash_operation_t ops[CAP];

	return open_cap(ops);
}

/* Opens the cap, then dies without closing anything. */
static int child_killed_holding_the_cap(void)
{
	psa_hash_operation_t ops[CAP];

	if (open_cap(ops) != 0)
		return 1;
	raise(SIGKILL);
	return 2;
}

Test(psa_cap, a_tenant_at_its_cap_leaves_others_alone)
{
	psa_hash_operation_t ops[CAP];
	uint8_t h[32];
	size_t n;

	if (!daemon_has(WIRE_OP_PSA_OP_SETUP))
		cr_skip_test("the daemon has no multipart operation handles yet");
	cr_assert_eq(open_cap(ops), 0);
	/* bob, at the same time, has his own cap. */
	cr_assert_eq(in_child("bob", child_opens_the_cap), 0);
	/* One finished: one more fits. */
	cr_assert_eq(psa_hash_finish(&ops[0], h, sizeof(h), &n), PSA_SUCCESS);
	cr_assert_eq(psa_hash_setup(&ops[0], PSA_ALG_SHA_256), PSA_SUCCESS);
	for (int i = 0; i < CAP; i++)
		cr_assert_eq(psa_hash_abort(&ops[i]), PSA_SUCCESS);
}

Test(psa_cap, a_killed_process_leaves_no_operation_behind)
{
	psa_hash_operation_t ops[CAP];
	int status = in_child("alice", child_killed_holding_the_cap);

	if (!daemon_has(WIRE_OP_PSA_OP_SETUP))
		cr_skip_test("the daemon has no multipart operation handles yet");
	cr_assert_eq(status, 100, "the child was not killed holding its operations");
	/* Its connection closed with it: alice can open her whole cap again. */
	for (int tries = 0;; tries++) {
		int rc = open_cap(ops);

		for (int i = 0; i < CAP; i++)
			psa_hash_abort(&ops[i]);
		if (rc == 0)
			break;
		cr_assert_lt(tries, 50, "the killed process's operations are still counted");
		usleep((useconds_t)td_scale(100) * 1000);
	}
}

/* ---- two provider instances: lifetimes and TESSERA_PSA_PROVIDER */

#define MULTI_CONFIG                                                                          \
	"{\"core\": {\"allow_root\": true, \"log_level\": \"debug\", \"log_error_details\": " \
	"true},"                                                                              \
	" \"listener\": {\"socket_path\": \"%1$s\", \"timeout_ms\": 1000},"                   \
	" \"authenticators\": [{\"type\": \"Direct\"}],"                                      \
	" \"providers\": [{\"type\": \"Software\", \"name\": \"first\"},"                     \
	"                 {\"type\": \"Software\", \"name\": \"second\"}]}"

static void multi_setup(void)
{
	td_start(&d, MULTI_CONFIG);
	snprintf(ep, sizeof(ep), "unix:%s", d.sock);
	setenv("TESSERA_ENDPOINT", ep, 1);
	unsetenv("TESSERA_PSA_PROVIDER");
	use_app("alice");
}

TestSuite(psa_multi, .init = multi_setup, .fini = teardown, .timeout = 120);

/* The provider ID app's ListKeys shows name on, or -1. */
static int provider_of(const char *app, const char *name)
{
	struct tessera_client *c = raw_client(app);
	struct tessera_key_info *k;
	size_t n;
	int found = -1;

	cr_assert_eq(tessera_list_keys(c, &k, &n), TESSERA_OK);
	for (size_t i = 0; i < n; i++)
		if (strcmp(k[i].name, name) == 0)
			found = (int)k[i].provider_id;
	tessera_key_info_free(k, n);
	tessera_close(c);
	return found;
}

static psa_status_t import_at(psa_key_id_t id, psa_key_location_t loc)
{
	psa_key_attributes_t a = PSA_KEY_ATTRIBUTES_INIT;
	psa_key_id_t k;

	psa_set_key_id(&a, id);
	psa_set_key_lifetime(&a, PSA_KEY_LIFETIME_FROM_PERSISTENCE_AND_LOCATION(
	                                 PSA_KEY_PERSISTENCE_DEFAULT, loc));
	psa_set_key_type(&a, PSA_KEY_TYPE_AES);
	psa_set_key_usage_flags(&a, PSA_KEY_USAGE_EXPORT);
	return psa_import_key(&a, aes_key, 16, &k);
}

/* A new process finds key 9 on the second instance, and reports where. */
static int child_finds_key_9(void)
{
	psa_key_attributes_t a = PSA_KEY_ATTRIBUTES_INIT;
	uint8_t out[16];
	size_t n;

	if (psa_export_key(9, out, sizeof(out), &n) != PSA_SUCCESS || n != 16)
		return 1;
	if (psa_get_key_attributes(9, &a) != PSA_SUCCESS)
		return 2;
	return psa_get_key_lifetime(&a) == PSA_KEY_LIFETIME_FROM_PERSISTENCE_AND_LOCATION(
	                                           PSA_KEY_PERSISTENCE_DEFAULT, 0x800080)
	               ? 0
	               : 3;
}

static int child_with_second_as_default(void)
{
	setenv("TESSERA_PSA_PROVIDER", "second", 1);
	return import_at(10, PSA_KEY_LOCATION_LOCAL_STORAGE) == PSA_SUCCESS ? 0 : 1;
}

static int child_with_unknown_provider(void)
{
	setenv("TESSERA_PSA_PROVIDER", "third", 1);
	return import_at(11, PSA_KEY_LOCATION_LOCAL_STORAGE) == PSA_ERROR_NOT_SUPPORTED ? 0 : 1;
}

Test(psa_multi, locations_select_instances)
{
	cr_assert_eq(import_at(8, PSA_KEY_LOCATION_LOCAL_STORAGE), PSA_SUCCESS);
	cr_assert_eq(provider_of("alice", "psa-key-8"), 1);
	cr_assert_eq(import_at(9, 0x800080), PSA_SUCCESS);
	cr_assert_eq(provider_of("alice", "psa-key-9"), 0x80);
	/* One id is one key, whichever instance is asked. */
	cr_assert_eq(import_at(9, PSA_KEY_LOCATION_LOCAL_STORAGE), PSA_ERROR_ALREADY_EXISTS);
	/* Both instances are software: no secure element. */
	cr_assert_eq(import_at(12, PSA_KEY_LOCATION_PRIMARY_SECURE_ELEMENT),
	             PSA_ERROR_NOT_SUPPORTED);
	cr_assert_eq(import_at(12, 0x800081), PSA_ERROR_NOT_SUPPORTED);
	cr_assert_eq(in_child("alice", child_finds_key_9), 0);
	cr_assert_eq(in_child("alice", child_with_second_as_default), 0);
	cr_assert_eq(provider_of("alice", "psa-key-10"), 0x80);
	cr_assert_eq(in_child("alice", child_with_unknown_provider), 0);
	cr_assert_eq(provider_of("alice", "psa-key-11"), -1);
}

Test(psa_api, a_policy_the_wire_cannot_express_permits_nothing)
{
	psa_algorithm_t alg =
	        PSA_ALG_KEY_AGREEMENT(PSA_ALG_ECDH, PSA_ALG_HKDF_EXTRACT(PSA_ALG_SHA_256));
	psa_key_type_t t = PSA_KEY_TYPE_ECC_KEY_PAIR(PSA_ECC_FAMILY_SECP_R1);
	psa_key_attributes_t a = PSA_KEY_ATTRIBUTES_INIT;
	psa_key_id_t k = make_key(0, t, 256, PSA_KEY_USAGE_DERIVE, alg);
	uint8_t pub[65], s[32];
	size_t n, m;

	cr_assert_eq(psa_get_key_attributes(k, &a), PSA_SUCCESS);
	cr_assert_eq(psa_get_key_algorithm(&a), alg);
	cr_assert_eq(psa_export_public_key(k, pub, sizeof(pub), &n), PSA_SUCCESS);
	/* Made with no permitted algorithm: plain ECDH, which the asked policy does not
	 * allow either, is refused. */
	cr_assert_eq(psa_raw_key_agreement(PSA_ALG_ECDH, k, pub, n, s, sizeof(s), &m),
	             PSA_ERROR_NOT_PERMITTED);
}

Test(psa_api, an_algorithm_the_key_type_does_not_fit)
{
	const uint8_t raw[16] = {1};
	uint8_t out[64], h[32] = {0};
	size_t n;
	psa_algorithm_t ecdsa = PSA_ALG_ECDSA(PSA_ALG_SHA_256);
	psa_key_id_t aes = import_key(0, PSA_KEY_TYPE_AES, PSA_KEY_USAGE_SIGN_HASH, ecdsa, raw, 16);
	psa_key_id_t data =
	        import_key(0, PSA_KEY_TYPE_RAW_DATA, PSA_KEY_USAGE_ENCRYPT, PSA_ALG_CTR, raw, 16);
	psa_key_id_t hmac =
	        import_key(0, PSA_KEY_TYPE_HMAC, PSA_KEY_USAGE_SIGN_MESSAGE, PSA_ALG_CMAC, raw, 16);
	psa_cipher_operation_t op = PSA_CIPHER_OPERATION_INIT;

	/* The policy allows the use: the type is what does not fit. */
	cr_assert_eq(psa_sign_hash(aes, ecdsa, h, 32, out, sizeof(out), &n),
	             PSA_ERROR_INVALID_ARGUMENT);
	cr_assert_eq(psa_cipher_encrypt(data, PSA_ALG_CTR, raw, 16, out, sizeof(out), &n),
	             PSA_ERROR_INVALID_ARGUMENT);
	cr_assert_eq(psa_mac_compute(hmac, PSA_ALG_CMAC, raw, 16, out, sizeof(out), &n),
	             PSA_ERROR_INVALID_ARGUMENT);
	if (daemon_has(WIRE_OP_PSA_OP_SETUP))
		cr_assert_eq(psa_cipher_encrypt_setup(&op, data, PSA_ALG_CTR),
		             PSA_ERROR_INVALID_ARGUMENT);
	/* The policy does not allow it: NOT_PERMITTED, whatever the type. */
	cr_assert_eq(
	        psa_sign_hash(aes, PSA_ALG_ECDSA(PSA_ALG_SHA_384), h, 32, out, sizeof(out), &n),
	        PSA_ERROR_NOT_PERMITTED);
	cr_assert_eq(psa_cipher_decrypt(data, PSA_ALG_CTR, out, 32, out, sizeof(out), &n),
	             PSA_ERROR_NOT_PERMITTED);
}

/* An operation object inherited across fork() names nothing in the child:
 * the child's own first operation (handle 1 on its first connection, as
 * the parent's was) is never reached through it. */
Test(psa_api, an_operation_inherited_across_fork_is_not_the_childs)
{
	psa_hash_operation_t a = PSA_HASH_OPERATION_INIT;
	pid_t pid;
	int status;

	cr_assert_eq(psa_hash_setup(&a, PSA_ALG_SHA_256), PSA_SUCCESS);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		static const uint8_t empty_sha256[4] = {0xe3, 0xb0, 0xc4, 0x42};
		psa_hash_operation_t b = PSA_HASH_OPERATION_INIT;
		uint8_t h[32];
		size_t n = 0;
		int bad = 0;

		bad |= psa_hash_setup(&b, PSA_ALG_SHA_256) != PSA_SUCCESS;
		bad |= psa_hash_update(&a, (const uint8_t *)"parent", 6) !=
		       PSA_ERROR_COMMUNICATION_FAILURE;
		bad |= psa_hash_finish(&b, h, sizeof(h), &n) != PSA_SUCCESS;
		bad |= memcmp(h, empty_sha256, 4) != 0; /* nothing went into b */
		_exit(bad);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* The parent's operation is its own still. */
	cr_assert_eq(psa_hash_update(&a, (const uint8_t *)"abc", 3), PSA_SUCCESS);
	cr_assert_eq(psa_hash_abort(&a), PSA_SUCCESS);
}

Test(psa_api, a_lost_connection_is_a_communication_failure_for_clone_and_volatile_attributes)
{
	psa_hash_operation_t a = PSA_HASH_OPERATION_INIT, b = PSA_HASH_OPERATION_INIT;
	psa_key_attributes_t at = PSA_KEY_ATTRIBUTES_INIT;
	static const uint8_t key[16] = {1};
	psa_key_id_t k = 0;

	psa_set_key_type(&at, PSA_KEY_TYPE_AES);
	psa_set_key_usage_flags(&at, PSA_KEY_USAGE_ENCRYPT);
	psa_set_key_algorithm(&at, PSA_ALG_CTR);
	cr_assert_eq(psa_import_key(&at, key, sizeof(key), &k), PSA_SUCCESS); /* volatile */
	cr_assert_eq(psa_get_key_attributes(k, &at), PSA_SUCCESS);
	cr_assert_eq(psa_hash_setup(&a, PSA_ALG_SHA_256), PSA_SUCCESS);
	cr_assert_eq(td_restart(&d, SIGTERM), 0);
	cr_assert_eq(psa_get_key_attributes(k, &at), PSA_ERROR_COMMUNICATION_FAILURE,
	             "the key died with its connection; the cache does not say so");
	cr_assert_eq(psa_hash_clone(&a, &b), PSA_ERROR_COMMUNICATION_FAILURE);
	cr_assert_eq(psa_hash_abort(&a), PSA_SUCCESS);
	cr_assert_eq(psa_hash_abort(&b), PSA_SUCCESS);
	cr_assert_eq(psa_destroy_key(k), PSA_SUCCESS);
}

Test(psa_api, the_provider_variable_is_read_once)
{
	uint8_t h[32] = {0};
	size_t n = 0;

	cr_assert_eq(psa_hash_compute(PSA_ALG_SHA_256, h, 4, h, sizeof(h), &n), PSA_SUCCESS);
	setenv("TESSERA_PSA_PROVIDER", "no-such-provider", 1);
	cr_assert_eq(psa_hash_compute(PSA_ALG_SHA_256, h, 4, h, sizeof(h), &n), PSA_SUCCESS);
	unsetenv("TESSERA_PSA_PROVIDER");
}
