/*
 * The PKCS#11 provider end to end, on SoftHSM2: each test makes its own
 * token in a temporary directory (SOFTHSM2_CONF names a private
 * configuration), starts tesserad with the provider on it, and checks the
 * results from outside: signatures by OpenSSL on the exported public key,
 * token objects by opensc's pkcs11-tool, CKA_IDs against the key store.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
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
#include <pthread.h>
#include <sqlite3.h>

#include "client/tessera.h"
#include "harness.h"
#include "p11-common.h"

#define TESSERAD TESSERA_BUILD_DIR "/daemon/tesserad"
#define P11      2
#define LABEL    P11T_LABEL
#define PIN      P11T_PIN

static struct td d;
static struct tessera_client *c;
static char hsm[64];        /* the test's SoftHSM directory */
static char module[128];    /* libsofthsm2.so */
static const char *library; /* what the provider loads: module, or the fault module */
static char tmpl[4096];     /* the daemon's configuration template */

/* A private SoftHSM configuration and one initialised token. */
static void make_token(void)
{
	p11t_make_token(hsm);
	snprintf(module, sizeof(module), "%s", p11t_softhsm_module());
	library = module;
}

/* The configuration, with extra provider settings (JSON members, each
 * followed by a comma) in front of the default ones. Deprecated primitives
 * are allowed: SHA-1 is the only OAEP hash SoftHSM does. */
static const char *config(const char *extra)
{
	snprintf(tmpl, sizeof(tmpl),
	         "{\"core\": {\"allow_root\": true, \"log_level\": \"debug\", "
	         "\"log_error_details\": true, \"allow_deprecated\": true},"
	         " \"listener\": {\"socket_path\": \"%%1$s\", \"timeout_ms\": 5000},"
	         " \"authenticators\": [{\"type\": \"Direct\"}],"
	         " \"providers\": [{\"type\": \"Pkcs11\", %s \"library_path\": \"%s\","
	         " \"token_label\": \"" LABEL "\", \"user_pin_file\": \"%s/pin\"}]}",
	         extra, library, hsm);
	return tmpl;
}

static struct tessera_client *client_as(const char *app)
{
	struct tessera_options o;
	struct tessera_client *cl;
	static char ep[160];

	tessera_options_init(&o);
	snprintf(ep, sizeof(ep), "unix:%s", d.sock);
	o.endpoint = ep;
	o.auth_type = TESSERA_AUTH_DIRECT;
	o.app_name = app;
	o.timeout_ms = td_scale(60000);
	cr_assert_eq(tessera_open(&o, &cl), TESSERA_OK);
	return cl;
}

static void setup(void)
{
	make_token();
	td_start(&d, config(""));
	c = client_as("alice");
}

static void teardown(void)
{
	char cmd[128];

	/* Runs once more after a test that cleaned up before skipping. */
	tessera_close(c);
	c = NULL;
	if (d.pid > 0)
		cr_assert_eq(td_stop(&d), 0);
	d.pid = 0;
	if (hsm[0] != '\0') {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", hsm);
		(void)system(cmd);
		hsm[0] = '\0';
	}
	unsetenv("P11FAULT_MODULE");
	unsetenv("P11FAULT_CTL");
}

/* Generous: RSA key generation under valgrind on a loaded machine takes
 * minutes; a hang still ends. */
TestSuite(pkcs11, .init = setup, .fini = teardown, .timeout = 900);

/* ---- checks from outside ---- */

static EVP_PKEY *exported_public(const char *name, const char *curve)
{
	uint8_t *pub = NULL;
	size_t len = 0;
	EVP_PKEY *pk;
	const uint8_t *q;

	cr_assert_eq(tessera_export_public_key(c, P11, name, &pub, &len), TESSERA_OK);
	if (curve != NULL) {
		pk = p11t_ec_public(curve, pub, len);
	} else {
		q = pub;
		pk = d2i_PublicKey(EVP_PKEY_RSA, NULL, &q, (long)len);
		cr_assert_not_null(pk);
	}
	free(pub);
	return pk;
}

static int openssl_verify_rsa(EVP_PKEY *pk, int pss, const EVP_MD *md, const uint8_t *h,
                              size_t hlen, const uint8_t *sig, size_t len)
{
	EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new(pk, NULL);
	int ok;

	cr_assert_eq(EVP_PKEY_verify_init(pc), 1);
	cr_assert_eq(EVP_PKEY_CTX_set_signature_md(pc, md), 1);
	if (pss) {
		cr_assert_eq(EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PSS_PADDING), 1);
		cr_assert_eq(EVP_PKEY_CTX_set_rsa_pss_saltlen(pc, RSA_PSS_SALTLEN_DIGEST), 1);
	}
	ok = EVP_PKEY_verify(pc, sig, len, h, hlen) == 1;
	EVP_PKEY_CTX_free(pc);
	return ok;
}

/* What pkcs11-tool (opensc, an independent client) lists on the token. */
static char *token_objects(void)
{
	char cmd[512];
	static char out[32768];
	FILE *p;
	size_t n;

	snprintf(cmd, sizeof(cmd),
	         "pkcs11-tool --module %s --token-label '" LABEL "' --login --pin " PIN " -O 2>&1",
	         module);
	p = popen(cmd, "r");
	cr_assert_not_null(p);
	n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = '\0';
	cr_assert_eq(pclose(p), 0, "pkcs11-tool failed: %s", out);
	return out;
}

static int count(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *q = strstr(hay, needle); q != NULL; q = strstr(q + 1, needle))
		n++;
	return n;
}

/* The reference the key store recorded for a key, in lower-case hex. */
static void recorded_id(const char *app, const char *name, char *hex, size_t size)
{
	char path[160];
	sqlite3 *db;
	sqlite3_stmt *st;

	snprintf(path, sizeof(path), "%s/keystore.sqlite3", d.dir);
	cr_assert_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	cr_assert_eq(sqlite3_prepare_v2(db,
	                                "SELECT lower(hex(ref)) FROM keys WHERE app = ? AND "
	                                "name = ?",
	                                -1, &st, NULL),
	             SQLITE_OK);
	sqlite3_bind_text(st, 1, app, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
	snprintf(hex, size, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	sqlite3_close(db);
}

static const struct tessera_key_spec p256 = {
        .type = "ecc",
        .bits = 256,
        .alg = "ecdsa-sha256",
        .usage = TESSERA_USAGE_SIGN_HASH | TESSERA_USAGE_VERIFY_HASH | TESSERA_USAGE_SIGN_MESSAGE |
                 TESSERA_USAGE_VERIFY_MESSAGE};

/* ---- the tests ---- */

Test(pkcs11, ecdsa_signatures_of_every_curve_verify_with_openssl_on_the_exported_key)
{
	static const struct {
		uint32_t bits;
		const char *alg, *curve;
		const EVP_MD *(*md)(void);
	} curves[] = {
	        {256, "ecdsa-sha256", "prime256v1", EVP_sha256},
	        {384, "ecdsa-sha384", "secp384r1", EVP_sha384},
	        {521, "ecdsa-sha512", "secp521r1", EVP_sha512},
	};

	for (size_t i = 0; i < sizeof(curves) / sizeof(curves[0]); i++) {
		struct tessera_key_spec spec = p256;
		uint8_t h[64], *sig = NULL;
		size_t hlen = (size_t)EVP_MD_get_size(curves[i].md()), len = 0;
		char name[16];
		EVP_PKEY *pk;

		spec.bits = curves[i].bits;
		spec.alg = curves[i].alg;
		snprintf(name, sizeof(name), "ec%u", curves[i].bits);
		cr_assert_eq(tessera_generate_key(c, P11, name, &spec), TESSERA_OK);
		EVP_Digest("hello", 5, h, NULL, curves[i].md(), NULL);
		cr_assert_eq(tessera_sign_hash(c, P11, name, curves[i].alg, h, hlen, &sig, &len),
		             TESSERA_OK);
		/* PSA's r || s, each as long as the curve order. */
		cr_assert_eq(len, 2 * ((curves[i].bits + 7) / 8));
		pk = exported_public(name, curves[i].curve);
		cr_assert(p11t_verify_ecdsa(pk, h, hlen, sig, len), "%s", name);
		cr_assert_eq(tessera_verify_hash(c, P11, name, curves[i].alg, h, hlen, sig, len),
		             TESSERA_OK);
		sig[3] ^= 1;
		cr_assert_eq(tessera_verify_hash(c, P11, name, curves[i].alg, h, hlen, sig, len),
		             1149);
		cr_assert(!p11t_verify_ecdsa(pk, h, hlen, sig, len));
		EVP_PKEY_free(pk);
		free(sig);
	}
}

Test(pkcs11, messages_are_hashed_by_the_core_and_signed_on_the_token)
{
	uint8_t h[32], *sig = NULL;
	size_t len = 0;
	EVP_PKEY *pk;

	cr_assert_eq(tessera_generate_key(c, P11, "m", &p256), TESSERA_OK);
	cr_assert_eq(tessera_sign_message(c, P11, "m", "ecdsa-sha256", (const uint8_t *)"msg", 3,
	                                  &sig, &len),
	             TESSERA_OK);
	EVP_Digest("msg", 3, h, NULL, EVP_sha256(), NULL);
	pk = exported_public("m", "prime256v1");
	cr_assert(p11t_verify_ecdsa(pk, h, 32, sig, len));
	cr_assert_eq(tessera_verify_message(c, P11, "m", "ecdsa-sha256", (const uint8_t *)"msg", 3,
	                                    sig, len),
	             TESSERA_OK);
	cr_assert_eq(tessera_verify_message(c, P11, "m", "ecdsa-sha256", (const uint8_t *)"msG", 3,
	                                    sig, len),
	             1149);
	EVP_PKEY_free(pk);
	free(sig);
}

Test(pkcs11, rsa_pkcs1_and_pss_signatures_verify_with_openssl)
{
	static const struct {
		const char *alg;
		int pss;
	} algs[] = {{"rsa-pkcs1-sha256", 0}, {"rsa-pss-sha256", 1}};
	uint8_t h[32];

	EVP_Digest("data", 4, h, NULL, EVP_sha256(), NULL);
	for (size_t i = 0; i < 2; i++) {
		struct tessera_key_spec spec = {.type = "rsa",
		                                .bits = 2048,
		                                .alg = algs[i].alg,
		                                .usage = TESSERA_USAGE_SIGN_HASH |
		                                         TESSERA_USAGE_VERIFY_HASH};
		uint8_t *sig = NULL;
		size_t len = 0;
		EVP_PKEY *pk;

		cr_assert_eq(tessera_generate_key(c, P11, algs[i].alg, &spec), TESSERA_OK);
		cr_assert_eq(tessera_sign_hash(c, P11, algs[i].alg, algs[i].alg, h, 32, &sig, &len),
		             TESSERA_OK);
		cr_assert_eq(len, 256);
		pk = exported_public(algs[i].alg, NULL);
		cr_assert_eq(EVP_PKEY_get_bits(pk), 2048);
		cr_assert(openssl_verify_rsa(pk, algs[i].pss, EVP_sha256(), h, 32, sig, len), "%s",
		          algs[i].alg);
		cr_assert_eq(tessera_verify_hash(c, P11, algs[i].alg, algs[i].alg, h, 32, sig, len),
		             TESSERA_OK);
		sig[100] ^= 0x40;
		cr_assert_eq(tessera_verify_hash(c, P11, algs[i].alg, algs[i].alg, h, 32, sig, len),
		             1149);
		EVP_PKEY_free(pk);
		free(sig);
	}
}

Test(pkcs11, pkcs11_tool_sees_the_key_with_the_recorded_id_and_the_tenant_label)
{
	char id[64], line[96], *out;

	cr_assert_eq(tessera_generate_key(c, P11, "seen", &p256), TESSERA_OK);
	recorded_id("alice", "seen", id, sizeof(id));
	cr_assert_eq(strlen(id), 32, "%s", id);
	out = token_objects();
	/* Two objects (private and public) with the key store's CKA_ID and a
	 * label that names the tenant's key. */
	snprintf(line, sizeof(line), "ID:         %s", id);
	cr_assert_eq(count(out, line), 2, "%s", out);
	cr_assert_eq(count(out, "label:      1:alice/seen"), 2, "%s", out);
	cr_assert(strstr(out, "Allowed mechanisms: ECDSA") != NULL, "%s", out);
	/* Without the EXPORT usage the private key never leaves the token. */
	cr_assert(strstr(out, "sensitive, always sensitive, never extractable") != NULL, "%s", out);
	{
		uint8_t *k = NULL;
		size_t n = 0;

		cr_assert_eq(tessera_export_key(c, P11, "seen", &k, &n), 1133);
	}
}

Test(pkcs11, destroy_removes_both_objects_from_the_token)
{
	char id[64], *out;

	cr_assert_eq(tessera_generate_key(c, P11, "gone", &p256), TESSERA_OK);
	recorded_id("alice", "gone", id, sizeof(id));
	cr_assert_eq(count(token_objects(), id), 2);
	cr_assert_eq(tessera_destroy_key(c, P11, "gone"), TESSERA_OK);
	out = token_objects();
	cr_assert_eq(count(out, id), 0, "%s", out);
	cr_assert_eq(count(out, "alice/gone"), 0, "%s", out);
	cr_assert_eq(tessera_destroy_key(c, P11, "gone"), 1140);
}

Test(pkcs11, another_tenant_cannot_use_or_destroy_the_key)
{
	struct tessera_client *bob = client_as("bob");
	uint8_t h[32] = {7}, *sig = NULL, *pub = NULL;
	size_t len = 0;

	cr_assert_eq(tessera_generate_key(c, P11, "mine", &p256), TESSERA_OK);
	cr_assert_eq(tessera_sign_hash(bob, P11, "mine", "ecdsa-sha256", h, 32, &sig, &len), 1140);
	cr_assert_eq(tessera_export_public_key(bob, P11, "mine", &pub, &len), 1140);
	cr_assert_eq(tessera_destroy_key(bob, P11, "mine"), 1140);
	/* Bob's key of the same name is his own object. */
	cr_assert_eq(tessera_generate_key(bob, P11, "mine", &p256), TESSERA_OK);
	cr_assert_eq(count(token_objects(), "/mine"), 4);
	cr_assert_eq(tessera_sign_hash(c, P11, "mine", "ecdsa-sha256", h, 32, &sig, &len),
	             TESSERA_OK);
	free(sig);
	tessera_close(bob);
}

Test(pkcs11, keys_survive_a_daemon_restart)
{
	uint8_t *before = NULL, *after = NULL, h[32] = {9}, *sig = NULL;
	size_t blen = 0, alen = 0, len = 0;
	EVP_PKEY *pk;

	cr_assert_eq(tessera_generate_key(c, P11, "kept", &p256), TESSERA_OK);
	cr_assert_eq(tessera_export_public_key(c, P11, "kept", &before, &blen), TESSERA_OK);
	tessera_close(c);
	cr_assert_eq(td_restart(&d, SIGTERM), 0);
	c = client_as("alice");
	cr_assert_eq(tessera_export_public_key(c, P11, "kept", &after, &alen), TESSERA_OK);
	cr_assert_eq(alen, blen);
	cr_assert_arr_eq(after, before, blen);
	cr_assert_eq(tessera_sign_hash(c, P11, "kept", "ecdsa-sha256", h, 32, &sig, &len),
	             TESSERA_OK);
	pk = p11t_ec_public("prime256v1", before, blen);
	cr_assert(p11t_verify_ecdsa(pk, h, 32, sig, len));
	EVP_PKEY_free(pk);
	free(sig);
	free(before);
	free(after);
}

Test(pkcs11, imported_keys_live_on_the_token_and_work)
{
	EVP_PKEY *gen = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "prime256v1");
	uint8_t point[65], scalar[32], h[32], *sig = NULL, *pub = NULL;
	size_t plen = 0, len = 0, publen = 0;
	BIGNUM *dbn = NULL;
	struct tessera_key_spec pair = p256, pubspec = p256;
	EVP_PKEY_CTX *pc;
	uint8_t der[80];
	size_t dlen = sizeof(der);

	cr_assert_not_null(gen);
	cr_assert_eq(EVP_PKEY_get_octet_string_param(gen, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, point,
	                                             sizeof(point), &plen),
	             1);
	cr_assert_eq(EVP_PKEY_get_bn_param(gen, OSSL_PKEY_PARAM_PRIV_KEY, &dbn), 1);
	cr_assert_eq(BN_bn2binpad(dbn, scalar, 32), 32);
	BN_clear_free(dbn);
	/* A key pair: the token signs, OpenSSL verifies with its own key. */
	pair.bits = 0;
	cr_assert_eq(tessera_import_key(c, P11, "pair", &pair, scalar, 32), TESSERA_OK);
	EVP_Digest("abc", 3, h, NULL, EVP_sha256(), NULL);
	cr_assert_eq(tessera_sign_hash(c, P11, "pair", "ecdsa-sha256", h, 32, &sig, &len),
	             TESSERA_OK);
	cr_assert(p11t_verify_ecdsa(gen, h, 32, sig, len));
	cr_assert_eq(tessera_export_public_key(c, P11, "pair", &pub, &publen), TESSERA_OK);
	cr_assert_eq(publen, plen);
	cr_assert_arr_eq(pub, point, plen);
	free(pub);
	free(sig);
	/* A public key (only verify usage): the token verifies what OpenSSL
	 * signed. */
	pubspec.usage = TESSERA_USAGE_VERIFY_HASH;
	cr_assert_eq(tessera_import_key(c, P11, "pub", &pubspec, point, plen), TESSERA_OK);
	pc = EVP_PKEY_CTX_new(gen, NULL);
	cr_assert_eq(EVP_PKEY_sign_init(pc), 1);
	cr_assert_eq(EVP_PKEY_sign(pc, der, &dlen, h, 32), 1);
	EVP_PKEY_CTX_free(pc);
	{
		const uint8_t *q = der;
		ECDSA_SIG *s = d2i_ECDSA_SIG(NULL, &q, (long)dlen);
		uint8_t raw[64];

		BN_bn2binpad(ECDSA_SIG_get0_r(s), raw, 32);
		BN_bn2binpad(ECDSA_SIG_get0_s(s), raw + 32, 32);
		ECDSA_SIG_free(s);
		cr_assert_eq(tessera_verify_hash(c, P11, "pub", "ecdsa-sha256", h, 32, raw, 64),
		             TESSERA_OK);
		raw[0] ^= 1;
		cr_assert_eq(tessera_verify_hash(c, P11, "pub", "ecdsa-sha256", h, 32, raw, 64),
		             1149);
	}
	/* A point off the curve is refused before anything reaches the token. */
	point[40] ^= 1;
	cr_assert_eq(tessera_import_key(c, P11, "bad", &pubspec, point, plen), 1135);
	EVP_PKEY_free(gen);
}

Test(pkcs11, rsa_encryption_round_trips_and_oaep_beyond_sha1_is_not_supported)
{
	struct tessera_key_spec spec = {.type = "rsa",
	                                .bits = 2048,
	                                .alg = "rsa-pkcs1",
	                                .usage = TESSERA_USAGE_ENCRYPT | TESSERA_USAGE_DECRYPT};
	uint8_t *ct = NULL, *pt = NULL, ossl_ct[256];
	size_t ctlen = 0, ptlen = 0, olen = sizeof(ossl_ct);
	EVP_PKEY *pk;
	EVP_PKEY_CTX *pc;

	cr_assert_eq(tessera_generate_key(c, P11, "v15", &spec), TESSERA_OK);
	cr_assert_eq(tessera_asymmetric_encrypt(c, P11, "v15", "rsa-pkcs1",
	                                        (const uint8_t *)"secret", 6, NULL, 0, &ct, &ctlen),
	             TESSERA_OK);
	cr_assert_eq(ctlen, 256);
	cr_assert_eq(tessera_asymmetric_decrypt(c, P11, "v15", "rsa-pkcs1", ct, ctlen, NULL, 0, &pt,
	                                        &ptlen),
	             TESSERA_OK);
	cr_assert_eq(ptlen, 6);
	cr_assert_arr_eq(pt, "secret", 6);
	free(pt);
	free(ct);
	/* OpenSSL encrypts to the exported key; the token decrypts. */
	pk = exported_public("v15", NULL);
	pc = EVP_PKEY_CTX_new(pk, NULL);
	cr_assert_eq(EVP_PKEY_encrypt_init(pc), 1);
	cr_assert_eq(EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PADDING), 1);
	cr_assert_eq(EVP_PKEY_encrypt(pc, ossl_ct, &olen, (const uint8_t *)"from openssl", 12), 1);
	EVP_PKEY_CTX_free(pc);
	EVP_PKEY_free(pk);
	cr_assert_eq(tessera_asymmetric_decrypt(c, P11, "v15", "rsa-pkcs1", ossl_ct, olen, NULL, 0,
	                                        &pt, &ptlen),
	             TESSERA_OK);
	cr_assert_eq(ptlen, 12);
	cr_assert_arr_eq(pt, "from openssl", 12);
	free(pt);
	ossl_ct[10] ^= 1;
	cr_assert_eq(tessera_asymmetric_decrypt(c, P11, "v15", "rsa-pkcs1", ossl_ct, olen, NULL, 0,
	                                        &pt, &ptlen),
	             1150);

	/* OAEP: SoftHSM does SHA-1 without a label only; the rest is
	 * NotSupported, never a ciphertext made some other way. */
	spec.alg = "rsa-oaep-sha1";
	cr_assert_eq(tessera_generate_key(c, P11, "oaep1", &spec), TESSERA_OK);
	cr_assert_eq(tessera_asymmetric_encrypt(c, P11, "oaep1", "rsa-oaep-sha1",
	                                        (const uint8_t *)"x", 1, NULL, 0, &ct, &ctlen),
	             TESSERA_OK);
	cr_assert_eq(tessera_asymmetric_decrypt(c, P11, "oaep1", "rsa-oaep-sha1", ct, ctlen, NULL,
	                                        0, &pt, &ptlen),
	             TESSERA_OK);
	cr_assert_eq(ptlen, 1);
	free(pt);
	free(ct);
	cr_assert_eq(tessera_asymmetric_encrypt(c, P11, "oaep1", "rsa-oaep-sha1",
	                                        (const uint8_t *)"x", 1, (const uint8_t *)"L", 1,
	                                        &ct, &ctlen),
	             1134);
	spec.alg = "rsa-oaep-sha256";
	cr_assert_eq(tessera_generate_key(c, P11, "oaep256", &spec), TESSERA_OK);
	cr_assert_eq(tessera_asymmetric_encrypt(c, P11, "oaep256", "rsa-oaep-sha256",
	                                        (const uint8_t *)"x", 1, NULL, 0, &ct, &ctlen),
	             1134);
	cr_assert_eq(tessera_can_do_crypto(c, P11, 1, &spec), 1134);
	spec.alg = "rsa-oaep-sha1";
	cr_assert_eq(tessera_can_do_crypto(c, P11, 1, &spec), TESSERA_OK);
}

Test(pkcs11, random_comes_from_the_token)
{
	uint8_t *a = NULL, *b = NULL;

	cr_assert_eq(tessera_generate_random(c, P11, 100, &a), TESSERA_OK);
	cr_assert_eq(tessera_generate_random(c, P11, 100, &b), TESSERA_OK);
	cr_assert_arr_neq(a, b, 100);
	free(a);
	free(b);
}

/* ---- start-up errors: tesserad is run by hand, it must exit ---- */

/* Run tesserad on a configuration; its exit status and what it printed. */
static int run_daemon(const char *cfg_text, char *out, size_t outlen)
{
	char path[160], cmd[512], state[160];
	FILE *p;
	size_t n;
	int status;

	snprintf(path, sizeof(path), "%s/bad.json", hsm);
	snprintf(state, sizeof(state), "%s/state", hsm);
	mkdir(state, 0700);
	p11t_write_file(path, cfg_text, 0600);
	snprintf(cmd, sizeof(cmd),
	         "timeout %d %s --allow-root --config %s --state-dir %s --socket %s/x.sock 2>&1",
	         td_scale(20000) / 1000, TESSERAD, path, state, hsm);
	p = popen(cmd, "r");
	cr_assert_not_null(p);
	n = fread(out, 1, outlen - 1, p);
	out[n] = '\0';
	status = pclose(p);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void expect_start_error(const char *cfg_text, const char *key, const char *why)
{
	char out[4096];
	int rc = run_daemon(cfg_text, out, sizeof(out));

	cr_assert(rc != 0 && rc != 124, "tesserad started (%d): %s", rc, out);
	cr_assert(strstr(out, key) != NULL, "no %s in: %s", key, out);
	cr_assert(strstr(out, why) != NULL, "no \"%s\" in: %s", why, out);
}

Test(pkcs11, a_wrong_pin_a_missing_module_or_an_unknown_token_stops_the_start_naming_the_setting)
{
	char cfg[4096], pin[160];

	snprintf(pin, sizeof(pin), "%s/wrong-pin", hsm);
	p11t_write_file(pin, "999999\n", 0600);
	snprintf(cfg, sizeof(cfg),
	         "{\"providers\": [{\"type\": \"Pkcs11\", \"library_path\": \"%s\","
	         " \"token_label\": \"" LABEL "\", \"user_pin_file\": \"%s\"}]}",
	         module, pin);
	expect_start_error(cfg, "providers[0].user_pin_file", "CKR_PIN_INCORRECT");

	snprintf(cfg, sizeof(cfg),
	         "{\"providers\": [{\"type\": \"Pkcs11\", \"library_path\": \"%s/none.so\","
	         " \"token_label\": \"" LABEL "\"}]}",
	         hsm);
	expect_start_error(cfg, "providers[0].library_path", "cannot load");

	snprintf(cfg, sizeof(cfg),
	         "{\"providers\": [{\"type\": \"Pkcs11\", \"library_path\": \"%s\","
	         " \"token_label\": \"No Such Token\"}]}",
	         module);
	expect_start_error(cfg, "providers[0].token_label", "No Such Token");

	snprintf(cfg, sizeof(cfg),
	         "{\"providers\": [{\"type\": \"Pkcs11\", \"library_path\": \"%s\","
	         " \"serial_number\": \"0000000000000000\"}]}",
	         module);
	expect_start_error(cfg, "providers[0].serial_number", "no initialised token");

	/* A PIN file others may read is refused. */
	p11t_write_file(pin, PIN "\n", 0644);
	snprintf(cfg, sizeof(cfg),
	         "{\"providers\": [{\"type\": \"Pkcs11\", \"library_path\": \"%s\","
	         " \"token_label\": \"" LABEL "\", \"user_pin_file\": \"%s\"}]}",
	         module, pin);
	expect_start_error(cfg, "providers[0].user_pin_file", "only its owner");

	/* A PIN written in the configuration is refused, even by --check-config. */
	snprintf(cfg, sizeof(cfg),
	         "{\"providers\": [{\"type\": \"Pkcs11\", \"library_path\": \"%s\","
	         " \"token_label\": \"" LABEL "\", \"user_pin\": \"" PIN "\"}]}",
	         module);
	expect_start_error(cfg, "providers[0].user_pin", "refused");
	snprintf(cfg, sizeof(cfg),
	         "{\"providers\": [{\"type\": \"Pkcs11\", \"library_path\": \"%s\","
	         " \"slot_number\": 0}]}",
	         module);
	expect_start_error(cfg, "providers[0].slot_number", "serial_number or token_label");
}

Test(pkcs11, the_pin_may_come_from_a_systemd_credential)
{
	char cfg[4096], out[4096], dir[160], cred[200];
	int rc;

	snprintf(dir, sizeof(dir), "%s/creds", hsm);
	cr_assert_eq(mkdir(dir, 0700), 0);
	snprintf(cred, sizeof(cred), "%s/p11pin", dir);
	p11t_write_file(cred, "999999", 0400);
	setenv("CREDENTIALS_DIRECTORY", dir, 1);
	snprintf(cfg, sizeof(cfg),
	         "{\"providers\": [{\"type\": \"Pkcs11\", \"library_path\": \"%s\","
	         " \"token_label\": \"" LABEL "\", \"user_pin_credential\": \"p11pin\"}]}",
	         module);
	/* The credential is read (a wrong PIN in it is reported as such). */
	rc = run_daemon(cfg, out, sizeof(out));
	unsetenv("CREDENTIALS_DIRECTORY");
	cr_assert(rc != 0 && rc != 124, "%s", out);
	cr_assert(strstr(out, "providers[0].user_pin_credential") != NULL, "%s", out);
	cr_assert(strstr(out, "CKR_PIN_INCORRECT") != NULL, "%s", out);
}

/* Restart the fixture's daemon with extra provider settings. */
static void restart_with(const char *extra)
{
	tessera_close(c);
	cr_assert_eq(td_stop(&d), 0);
	td_start(&d, config(extra));
	c = client_as("alice");
}

Test(pkcs11, exportable_keys_need_allow_export_and_the_export_flag)
{
	struct tessera_key_spec spec = p256;
	uint8_t *k = NULL, *pub = NULL, h[32] = {3}, *sig = NULL;
	size_t n = 0, publen = 0, len = 0;
	EVP_PKEY *pk;
	char *out;

	spec.usage |= TESSERA_USAGE_EXPORT;
	/* By default the instance makes no exportable keys. */
	cr_assert_eq(tessera_generate_key(c, P11, "x", &spec), 1133);
	cr_assert_eq(count(token_objects(), "alice/x"), 0);
	restart_with("\"allow_export\": true,");
	cr_assert_eq(tessera_generate_key(c, P11, "x", &spec), TESSERA_OK);
	out = token_objects();
	/* The one private key on the token may leave it. */
	cr_assert_eq(count(out, "Private Key Object"), 1, "%s", out);
	cr_assert_eq(count(out, "never extractable"), 0, "%s", out);
	cr_assert_eq(count(out, "sensitive"), 0, "%s", out);
	cr_assert_eq(tessera_export_key(c, P11, "x", &k, &n), TESSERA_OK);
	cr_assert_eq(n, 32);
	cr_assert_eq(tessera_export_public_key(c, P11, "x", &pub, &publen), TESSERA_OK);
	/* The scalar exported is the key the token signs with: imported back
	 * as a second key, it has the same public point. */
	{
		uint8_t *pub2 = NULL;
		size_t pub2len = 0;

		cr_assert_eq(tessera_import_key(c, P11, "copy", &p256, k, n), TESSERA_OK);
		cr_assert_eq(tessera_export_public_key(c, P11, "copy", &pub2, &pub2len),
		             TESSERA_OK);
		cr_assert_eq(pub2len, publen);
		cr_assert_arr_eq(pub2, pub, publen);
		free(pub2);
	}
	cr_assert_eq(tessera_sign_hash(c, P11, "x", "ecdsa-sha256", h, 32, &sig, &len), TESSERA_OK);
	pk = p11t_ec_public("prime256v1", pub, publen);
	cr_assert(p11t_verify_ecdsa(pk, h, 32, sig, len));
	EVP_PKEY_free(pk);
	free(sig);
	free(pub);
	free(k);
}

Test(pkcs11, software_public_operations_verify_and_encrypt_with_openssl)
{
	struct tessera_key_spec rsa = {.type = "rsa",
	                               .bits = 2048,
	                               .alg = "rsa-pkcs1",
	                               .usage = TESSERA_USAGE_ENCRYPT | TESSERA_USAGE_DECRYPT};
	uint8_t h[32] = {5}, *sig = NULL, *ct = NULL, *pt = NULL;
	size_t len = 0, ctlen = 0, ptlen = 0;

	restart_with("\"software_public_operations\": true,");
	cr_assert_eq(tessera_generate_key(c, P11, "s", &p256), TESSERA_OK);
	cr_assert_eq(tessera_sign_hash(c, P11, "s", "ecdsa-sha256", h, 32, &sig, &len), TESSERA_OK);
	cr_assert_eq(tessera_verify_hash(c, P11, "s", "ecdsa-sha256", h, 32, sig, len), TESSERA_OK);
	sig[0] ^= 1;
	cr_assert_eq(tessera_verify_hash(c, P11, "s", "ecdsa-sha256", h, 32, sig, len), 1149);
	free(sig);
	cr_assert_eq(tessera_generate_key(c, P11, "e", &rsa), TESSERA_OK);
	cr_assert_eq(tessera_asymmetric_encrypt(c, P11, "e", "rsa-pkcs1", (const uint8_t *)"hi", 2,
	                                        NULL, 0, &ct, &ctlen),
	             TESSERA_OK);
	cr_assert_eq(tessera_asymmetric_decrypt(c, P11, "e", "rsa-pkcs1", ct, ctlen, NULL, 0, &pt,
	                                        &ptlen),
	             TESSERA_OK);
	cr_assert_eq(ptlen, 2);
	cr_assert_arr_eq(pt, "hi", 2);
	free(pt);
	free(ct);
}

Test(pkcs11, aes_gcm_on_the_token_matches_openssl)
{
	static const uint8_t key[32] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11,
	                                12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22,
	                                23, 24, 25, 26, 27, 28, 29, 30, 31, 32};
	static const uint8_t nonce[12] = {9, 9, 9};
	struct tessera_key_spec spec = {.type = "aes",
	                                .bits = 256,
	                                .alg = "aes-gcm",
	                                .usage = TESSERA_USAGE_ENCRYPT | TESSERA_USAGE_DECRYPT};
	uint8_t *ct = NULL, *pt = NULL, want[64];
	size_t ctlen = 0, ptlen = 0;
	int n = 0, fin = 0;
	EVP_CIPHER_CTX *e = EVP_CIPHER_CTX_new();

	/* An imported key, so OpenSSL can compute what the token must give. */
	cr_assert_eq(tessera_import_key(c, P11, "gcm", &spec, key, 32), TESSERA_OK);
	cr_assert_eq(tessera_aead_encrypt(c, P11, "gcm", "aes-gcm", nonce, 12,
	                                  (const uint8_t *)"ad", 2, (const uint8_t *)"plaintext", 9,
	                                  &ct, &ctlen),
	             TESSERA_OK);
	cr_assert_eq(ctlen, 9 + 16);
	cr_assert_eq(EVP_EncryptInit_ex(e, EVP_aes_256_gcm(), NULL, key, nonce), 1);
	cr_assert_eq(EVP_EncryptUpdate(e, NULL, &n, (const uint8_t *)"ad", 2), 1);
	cr_assert_eq(EVP_EncryptUpdate(e, want, &n, (const uint8_t *)"plaintext", 9), 1);
	cr_assert_eq(EVP_EncryptFinal_ex(e, want + n, &fin), 1);
	cr_assert_eq(EVP_CIPHER_CTX_ctrl(e, EVP_CTRL_GCM_GET_TAG, 16, want + 9), 1);
	EVP_CIPHER_CTX_free(e);
	cr_assert_arr_eq(ct, want, 25);
	cr_assert_eq(tessera_aead_decrypt(c, P11, "gcm", "aes-gcm", nonce, 12,
	                                  (const uint8_t *)"ad", 2, ct, ctlen, &pt, &ptlen),
	             TESSERA_OK);
	cr_assert_eq(ptlen, 9);
	cr_assert_arr_eq(pt, "plaintext", 9);
	free(pt);
	/* A changed tag or associated data does not decrypt. */
	{
		int rc = tessera_aead_decrypt(c, P11, "gcm", "aes-gcm", nonce, 12,
		                              (const uint8_t *)"aD", 2, ct, ctlen, &pt, &ptlen);

		cr_assert_eq(rc, 1149, "%d", rc);
	}
	ct[ctlen - 1] ^= 1;
	cr_assert_eq(tessera_aead_decrypt(c, P11, "gcm", "aes-gcm", nonce, 12,
	                                  (const uint8_t *)"ad", 2, ct, ctlen, &pt, &ptlen),
	             1149);
	free(ct);
	/* A generated key round-trips too. */
	cr_assert_eq(tessera_generate_key(c, P11, "gcm2", &spec), TESSERA_OK);
	cr_assert_eq(tessera_aead_encrypt(c, P11, "gcm2", "aes-gcm", nonce, 12, NULL, 0,
	                                  (const uint8_t *)"x", 1, &ct, &ctlen),
	             TESSERA_OK);
	cr_assert_eq(tessera_aead_decrypt(c, P11, "gcm2", "aes-gcm", nonce, 12, NULL, 0, ct, ctlen,
	                                  &pt, &ptlen),
	             TESSERA_OK);
	cr_assert_eq(ptlen, 1);
	free(pt);
	free(ct);
	/* CCM is not on SoftHSM: the provider says so. */
	spec.alg = "aes-ccm";
	cr_assert_eq(tessera_can_do_crypto(c, P11, 2, &spec), 1134);
	spec.alg = "aes-gcm";
	cr_assert_eq(tessera_can_do_crypto(c, P11, 2, &spec), TESSERA_OK);
}

Test(pkcs11, hmac_on_the_token_matches_openssl)
{
	uint8_t key[32], *mac = NULL, want[32];
	unsigned int wlen = 0;
	size_t len = 0;
	struct tessera_key_spec spec = {.type = "hmac",
	                                .bits = 256,
	                                .alg = "hmac-sha256",
	                                .usage = TESSERA_USAGE_SIGN_MESSAGE |
	                                         TESSERA_USAGE_VERIFY_MESSAGE};

	memset(key, 0x5a, sizeof(key));
	cr_assert_eq(tessera_import_key(c, P11, "mac", &spec, key, 32), TESSERA_OK);
	cr_assert_eq(tessera_mac_compute(c, P11, "mac", "hmac-sha256", (const uint8_t *)"data", 4,
	                                 &mac, &len),
	             TESSERA_OK);
	HMAC(EVP_sha256(), key, 32, (const uint8_t *)"data", 4, want, &wlen);
	cr_assert_eq(len, 32);
	cr_assert_arr_eq(mac, want, 32);
	cr_assert_eq(tessera_mac_verify(c, P11, "mac", "hmac-sha256", (const uint8_t *)"data", 4,
	                                mac, len),
	             TESSERA_OK);
	mac[0] ^= 1;
	cr_assert_eq(tessera_mac_verify(c, P11, "mac", "hmac-sha256", (const uint8_t *)"data", 4,
	                                mac, len),
	             1149);
	free(mac);
	cr_assert_eq(tessera_generate_key(c, P11, "mac2", &spec), TESSERA_OK);
	cr_assert_eq(tessera_mac_compute(c, P11, "mac2", "hmac-sha256", (const uint8_t *)"d", 1,
	                                 &mac, &len),
	             TESSERA_OK);
	cr_assert_eq(len, 32);
	free(mac);
}

Test(pkcs11, raw_ecdh_on_the_token_matches_openssl)
{
	struct tessera_key_spec spec = {
	        .type = "ecc", .bits = 256, .alg = "ecdh", .usage = TESSERA_USAGE_DERIVE};
	EVP_PKEY *peer = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "prime256v1"), *ours;
	uint8_t point[65], *secret = NULL, want[32];
	size_t plen = 0, len = 0, wlen = sizeof(want);
	EVP_PKEY_CTX *pc;

	cr_assert_eq(tessera_generate_key(c, P11, "dh", &spec), TESSERA_OK);
	cr_assert_eq(EVP_PKEY_get_octet_string_param(peer, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY,
	                                             point, sizeof(point), &plen),
	             1);
	cr_assert_eq(tessera_raw_key_agreement(c, P11, "dh", "ecdh", point, plen, &secret, &len),
	             TESSERA_OK);
	ours = exported_public("dh", "prime256v1");
	pc = EVP_PKEY_CTX_new(peer, NULL);
	cr_assert_eq(EVP_PKEY_derive_init(pc), 1);
	cr_assert_eq(EVP_PKEY_derive_set_peer(pc, ours), 1);
	cr_assert_eq(EVP_PKEY_derive(pc, want, &wlen), 1);
	EVP_PKEY_CTX_free(pc);
	cr_assert_eq(len, 32);
	cr_assert_arr_eq(secret, want, 32);
	free(secret);
	/* A point off the curve is refused. */
	point[30] ^= 1;
	cr_assert_eq(tessera_raw_key_agreement(c, P11, "dh", "ecdh", point, plen, &secret, &len),
	             1135);
	EVP_PKEY_free(ours);
	EVP_PKEY_free(peer);
}

Test(pkcs11, list_opcodes_names_what_the_provider_serves)
{
	uint32_t *ops = NULL;
	size_t n = 0;
	int seen = 0;

	cr_assert_eq(tessera_list_opcodes(c, P11, &ops, &n), TESSERA_OK);
	for (size_t i = 0; i < n; i++) {
		seen += ops[i] == WIRE_OP_PSA_SIGN_HASH || ops[i] == WIRE_OP_PSA_AEAD_ENCRYPT ||
		        ops[i] == WIRE_OP_PSA_RAW_KEY_AGREEMENT;
		/* no unauthenticated ciphers */
		cr_assert_neq(ops[i], WIRE_OP_PSA_CIPHER_ENCRYPT);
	}
	cr_assert_eq(seen, 3);
	free(ops);
}

/* ---- concurrency and crashes ---- */

struct signer {
	pthread_t t;
	int failures;
};

static void *sign_loop(void *arg)
{
	struct signer *s = arg;
	struct tessera_client *cl = client_as("alice");
	uint8_t h[32] = {1}, *sig = NULL;
	size_t len = 0;

	for (int i = 0; i < 8; i++) {
		if (tessera_sign_hash(cl, P11, "shared", "ecdsa-sha256", h, 32, &sig, &len) !=
		    TESSERA_OK) {
			s->failures++;
			continue;
		}
		if (tessera_verify_hash(cl, P11, "shared", "ecdsa-sha256", h, 32, sig, len) !=
		    TESSERA_OK)
			s->failures++;
		free(sig);
	}
	tessera_close(cl);
	return NULL;
}

Test(pkcs11, sixty_four_clients_share_a_pool_of_four_sessions_without_an_error)
{
	static struct signer s[64];

	cr_assert_eq(tessera_generate_key(c, P11, "shared", &p256), TESSERA_OK);
	for (int i = 0; i < 64; i++)
		cr_assert_eq(pthread_create(&s[i].t, NULL, sign_loop, &s[i]), 0);
	for (int i = 0; i < 64; i++) {
		pthread_join(s[i].t, NULL);
		cr_assert_eq(s[i].failures, 0, "client %d: %d failures", i, s[i].failures);
	}
}

/* The CKA_IDs on the token (each once, however many objects carry it). */
static size_t token_ids(char ids[][40], size_t max)
{
	const char *out = token_objects(), *q = out;
	size_t n = 0;

	while ((q = strstr(q, "ID:         ")) != NULL) {
		char id[40] = "";
		bool dup = false;

		q += 12;
		sscanf(q, "%39[0-9a-f]", id);
		for (size_t i = 0; i < n; i++)
			dup = dup || strcmp(ids[i], id) == 0;
		if (!dup && n < max)
			snprintf(ids[n++], 40, "%s", id);
	}
	return n;
}

/* The references of the key store's records, whatever their state. */
static size_t store_ids(char ids[][40], size_t max)
{
	char path[160];
	sqlite3 *db;
	sqlite3_stmt *st;
	size_t n = 0;

	snprintf(path, sizeof(path), "%s/keystore.sqlite3", d.dir);
	cr_assert_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	cr_assert_eq(sqlite3_prepare_v2(db,
	                                "SELECT lower(hex(ref)) FROM keys WHERE length(ref) > 0",
	                                -1, &st, NULL),
	             SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW && n < max)
		snprintf(ids[n++], 40, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

#define CHURN_KEYS 200

static struct {
	pthread_t t;
	volatile int stop;
	/* 1 creation acknowledged, 2 destruction asked (in flight: either
	 * outcome is right), 3 destruction acknowledged */
	int state[CHURN_KEYS];
} churn;

static void *churn_loop(void *arg)
{
	struct tessera_client *cl = client_as("alice");
	char name[16];

	(void)arg;
	for (int i = 0; i < CHURN_KEYS && !churn.stop; i++) {
		snprintf(name, sizeof(name), "c%d", i);
		if (tessera_generate_key(cl, P11, name, &p256) != TESSERA_OK)
			break;
		churn.state[i] = 1;
		if (i % 2 == 0)
			continue;
		churn.state[i] = 2;
		if (tessera_destroy_key(cl, P11, name) != TESSERA_OK)
			break;
		churn.state[i] = 3;
	}
	tessera_close(cl);
	return NULL;
}

Test(pkcs11, sigkill_during_creations_and_destructions_leaves_token_and_key_store_in_step)
{
	static char tok[512][40], store[512][40];
	size_t nt, ns;
	int acknowledged = 0;

	cr_assert_eq(pthread_create(&churn.t, NULL, churn_loop, NULL), 0);
	usleep((useconds_t)td_scale(400) * 1000);
	/* Killed mid-loop; started again on the same token and key store. */
	cr_assert_eq(td_restart(&d, SIGKILL), 128 + SIGKILL);
	churn.stop = 1;
	pthread_join(churn.t, NULL);
	nt = token_ids(tok, 512);
	ns = store_ids(store, 512);
	/* Every object on the token belongs to a key the store knows, and the
	 * other way round. */
	cr_assert_eq(nt, ns, "%zu token IDs, %zu key store records", nt, ns);
	for (size_t i = 0; i < nt; i++) {
		bool known = false;

		for (size_t k = 0; k < ns; k++)
			known = known || strcmp(tok[i], store[k]) == 0;
		cr_assert(known, "token object %s is not in the key store", tok[i]);
	}
	/* No acknowledged key is lost, none acknowledged destroyed is back. */
	for (int i = 0; i < CHURN_KEYS; i++) {
		char name[16];
		uint8_t *pub = NULL;
		size_t len = 0;
		int rc;

		if (churn.state[i] == 0 || churn.state[i] == 2)
			continue;
		acknowledged++;
		snprintf(name, sizeof(name), "c%d", i);
		rc = tessera_export_public_key(c, P11, name, &pub, &len);
		free(pub);
		cr_assert_eq(rc, churn.state[i] == 1 ? TESSERA_OK : 1140, "%s (state %d)", name,
		             churn.state[i]);
	}
	cr_assert_gt(acknowledged, 0, "the loop made no key before the kill");
}

/* ---- faults SoftHSM cannot produce, from the fault-injecting module ---- */

#define FAULT_MODULE TESSERA_BUILD_DIR "/tests/e2e/libp11fault.so"

static char ctl[160];

static void set_fault(const char *line)
{
	p11t_write_file(ctl, line, 0600);
}

/* The provider on the fault module (which forwards to SoftHSM). */
static void use_fault_module(const char *extra)
{
	snprintf(ctl, sizeof(ctl), "%s/fault", hsm);
	set_fault("");
	setenv("P11FAULT_MODULE", module, 1);
	setenv("P11FAULT_CTL", ctl, 1);
	library = FAULT_MODULE;
	restart_with(extra);
}

static int sign_p256(const char *name)
{
	uint8_t h[32] = {4}, *sig = NULL;
	size_t len = 0;
	int rc = tessera_sign_hash(c, P11, name, "ecdsa-sha256", h, 32, &sig, &len);

	free(sig);
	return rc;
}

Test(pkcs11, a_session_the_token_dropped_is_replaced_and_the_login_restored)
{
	/* One session: when the token drops it, the login goes with it. */
	use_fault_module("\"sessions\": 1,");
	cr_assert_eq(tessera_generate_key(c, P11, "k", &p256), TESSERA_OK);
	cr_assert_eq(sign_p256("k"), TESSERA_OK);
	set_fault("C_Sign 0xb3 1"); /* CKR_SESSION_HANDLE_INVALID */
	cr_assert_eq(sign_p256("k"), 1145);
	/* The next request runs on a new, logged-in session (the private key
	 * needs the login). */
	cr_assert_eq(sign_p256("k"), TESSERA_OK);
	cr_assert_eq(sign_p256("k"), TESSERA_OK);
}

Test(pkcs11, a_removed_device_is_a_hardware_failure_and_serving_resumes)
{
	uint8_t *r = NULL;

	use_fault_module("");
	cr_assert_eq(tessera_generate_key(c, P11, "k", &p256), TESSERA_OK);
	set_fault("C_Sign 0x32 1"); /* CKR_DEVICE_REMOVED */
	cr_assert_eq(sign_p256("k"), 1147);
	cr_assert_eq(sign_p256("k"), TESSERA_OK);
	set_fault("C_GenerateRandom 0x32 0"); /* gone until further notice */
	cr_assert_eq(tessera_generate_random(c, P11, 16, &r), 1147);
	cr_assert_eq(tessera_generate_random(c, P11, 16, &r), 1147);
	set_fault("");
	cr_assert_eq(tessera_generate_random(c, P11, 16, &r), TESSERA_OK);
	free(r);
}

Test(pkcs11, a_full_token_is_insufficient_storage_and_leaves_no_key_behind)
{
	struct tessera_key_info *k = NULL;
	size_t n = 0;

	use_fault_module("");
	set_fault("C_GenerateKeyPair 0x31 1"); /* CKR_DEVICE_MEMORY */
	cr_assert_eq(tessera_generate_key(c, P11, "big", &p256), 1142);
	cr_assert_eq(tessera_list_keys(c, &k, &n), TESSERA_OK);
	cr_assert_eq(n, 0);
	tessera_key_info_free(k, n);
	cr_assert_eq(count(token_objects(), "alice/big"), 0);
	/* Room again: the name is free. */
	cr_assert_eq(tessera_generate_key(c, P11, "big", &p256), TESSERA_OK);
	cr_assert_eq(sign_p256("big"), TESSERA_OK);
}

Test(pkcs11, a_locked_pin_stops_the_start_naming_the_setting)
{
	char cfg[4096];

	snprintf(ctl, sizeof(ctl), "%s/fault", hsm);
	set_fault("C_Login 0xa4 0"); /* CKR_PIN_LOCKED */
	setenv("P11FAULT_MODULE", module, 1);
	setenv("P11FAULT_CTL", ctl, 1);
	snprintf(cfg, sizeof(cfg),
	         "{\"providers\": [{\"type\": \"Pkcs11\", \"library_path\": \"%s\","
	         " \"token_label\": \"" LABEL "\", \"user_pin_file\": \"%s/pin\"}]}",
	         FAULT_MODULE, hsm);
	expect_start_error(cfg, "providers[0].user_pin_file", "CKR_PIN_LOCKED");
}

Test(pkcs11, two_tokens_are_two_instances_and_each_key_lives_on_its_own)
{
	char cmd[256], cfg[4096], *out;

	snprintf(cmd, sizeof(cmd),
	         "softhsm2-util --init-token --free --label Second --so-pin 12345678 --pin "
	         "654321 >/dev/null");
	cr_assert_eq(system(cmd), 0);
	snprintf(cmd, sizeof(cmd), "%s/pin2", hsm);
	p11t_write_file(cmd, "654321", 0600);
	snprintf(cfg, sizeof(cfg),
	         "{\"core\": {\"allow_root\": true, \"log_level\": \"debug\"},"
	         " \"listener\": {\"socket_path\": \"%%1$s\", \"timeout_ms\": 5000},"
	         " \"authenticators\": [{\"type\": \"Direct\"}],"
	         " \"providers\": [{\"type\": \"Pkcs11\", \"library_path\": \"%s\","
	         " \"token_label\": \"" LABEL "\", \"user_pin_file\": \"%s/pin\"},"
	         " {\"type\": \"Pkcs11\", \"name\": \"second\", \"library_path\": \"%s\","
	         " \"token_label\": \"Second\", \"user_pin_file\": \"%s/pin2\"}]}",
	         module, hsm, module, hsm);
	tessera_close(c);
	cr_assert_eq(td_stop(&d), 0);
	td_start(&d, cfg);
	c = client_as("alice");
	cr_assert_eq(tessera_generate_key(c, P11, "one", &p256), TESSERA_OK);
	cr_assert_eq(tessera_generate_key(c, 0x80, "two", &p256), TESSERA_OK);
	cr_assert_eq(sign_p256("one"), TESSERA_OK);
	{
		uint8_t h[32] = {1}, *sig = NULL;
		size_t len = 0;

		cr_assert_eq(tessera_sign_hash(c, 0x80, "two", "ecdsa-sha256", h, 32, &sig, &len),
		             TESSERA_OK);
		free(sig);
		cr_assert_eq(tessera_sign_hash(c, 0x80, "one", "ecdsa-sha256", h, 32, &sig, &len),
		             1140);
	}
	cr_assert_eq(sign_p256("two"), 1140);
	/* Each object is on its own token. */
	out = token_objects();
	cr_assert_eq(count(out, "alice/one"), 2, "%s", out);
	cr_assert_eq(count(out, "alice/two"), 0, "%s", out);
}

Test(pkcs11, rsa_3072_and_4096_keys_are_made_on_the_token)
{
	struct tessera_key_spec spec = {.type = "rsa",
	                                .bits = 3072,
	                                .alg = "rsa-pkcs1-sha256",
	                                .usage = TESSERA_USAGE_SIGN_HASH |
	                                         TESSERA_USAGE_VERIFY_HASH};
	uint8_t h[32] = {2}, *sig = NULL;
	size_t len = 0;
	EVP_PKEY *pk;

	/* Slow generation stays out of the valgrind run. */
	if (td_under_valgrind()) {
		teardown(); /* a skipped test's .fini does not run */
		cr_skip_test("RSA 3072/4096 generation under valgrind takes minutes");
	}
	for (int bits = 3072; bits <= 4096; bits += 1024) {
		char name[16];

		spec.bits = (uint32_t)bits;
		snprintf(name, sizeof(name), "rsa%d", bits);
		cr_assert_eq(tessera_generate_key(c, P11, name, &spec), TESSERA_OK);
		cr_assert_eq(tessera_sign_hash(c, P11, name, "rsa-pkcs1-sha256", h, 32, &sig, &len),
		             TESSERA_OK);
		cr_assert_eq(len, (size_t)bits / 8);
		pk = exported_public(name, NULL);
		cr_assert_eq(EVP_PKEY_get_bits(pk), bits);
		cr_assert(openssl_verify_rsa(pk, 0, EVP_sha256(), h, 32, sig, len));
		EVP_PKEY_free(pk);
		free(sig);
	}
	/* Sizes the provider does not make. */
	spec.bits = 1000;
	cr_assert_eq(tessera_generate_key(c, P11, "odd", &spec), 1134);
}

Test(pkcs11, an_imported_rsa_key_pair_signs_on_the_token)
{
	EVP_PKEY *gen = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	unsigned char *der = NULL;
	int dlen = i2d_PrivateKey(gen, &der);
	struct tessera_key_spec spec = {.type = "rsa",
	                                .bits = 0,
	                                .alg = "rsa-pkcs1-sha256",
	                                .usage = TESSERA_USAGE_SIGN_HASH |
	                                         TESSERA_USAGE_VERIFY_HASH};
	uint8_t h[32] = {8}, *sig = NULL;
	size_t len = 0;

	cr_assert_gt(dlen, 0);
	cr_assert_eq(tessera_import_key(c, P11, "rsapair", &spec, der, (size_t)dlen), TESSERA_OK);
	OPENSSL_clear_free(der, (size_t)dlen);
	cr_assert_eq(tessera_sign_hash(c, P11, "rsapair", "rsa-pkcs1-sha256", h, 32, &sig, &len),
	             TESSERA_OK);
	cr_assert(openssl_verify_rsa(gen, 0, EVP_sha256(), h, 32, sig, len));
	free(sig);
	/* Garbage is not a key. */
	cr_assert_eq(tessera_import_key(c, P11, "junk", &spec, h, 32), 1135);
	EVP_PKEY_free(gen);
}

Test(pkcs11, exported_rsa_and_aes_keys_are_the_keys_the_token_uses)
{
	struct tessera_key_spec rsa = {.type = "rsa",
	                               .bits = 2048,
	                               .alg = "rsa-pkcs1-sha256",
	                               .usage = TESSERA_USAGE_SIGN_HASH |
	                                        TESSERA_USAGE_VERIFY_HASH | TESSERA_USAGE_EXPORT};
	struct tessera_key_spec aes = {.type = "aes",
	                               .bits = 128,
	                               .alg = "aes-gcm",
	                               .usage = TESSERA_USAGE_ENCRYPT | TESSERA_USAGE_DECRYPT |
	                                        TESSERA_USAGE_EXPORT};
	uint8_t *der = NULL, *key = NULL, *ct = NULL, h[32] = {6}, *sig = NULL, nonce[12] = {0};
	size_t dlen = 0, klen = 0, ctlen = 0, len = 0;
	const uint8_t *q;
	EVP_PKEY *pk;

	restart_with("\"allow_export\": true,");
	cr_assert_eq(tessera_generate_key(c, P11, "r", &rsa), TESSERA_OK);
	cr_assert_eq(tessera_export_key(c, P11, "r", &der, &dlen), TESSERA_OK);
	q = der;
	pk = d2i_PrivateKey(EVP_PKEY_RSA, NULL, &q, (long)dlen);
	cr_assert_not_null(pk);
	cr_assert_eq(EVP_PKEY_get_bits(pk), 2048);
	/* What the token signs verifies with the exported key. */
	cr_assert_eq(tessera_sign_hash(c, P11, "r", "rsa-pkcs1-sha256", h, 32, &sig, &len),
	             TESSERA_OK);
	cr_assert(openssl_verify_rsa(pk, 0, EVP_sha256(), h, 32, sig, len));
	EVP_PKEY_free(pk);
	free(sig);
	free(der);

	cr_assert_eq(tessera_generate_key(c, P11, "a", &aes), TESSERA_OK);
	cr_assert_eq(tessera_export_key(c, P11, "a", &key, &klen), TESSERA_OK);
	cr_assert_eq(klen, 16);
	cr_assert_eq(tessera_aead_encrypt(c, P11, "a", "aes-gcm", nonce, 12, NULL, 0,
	                                  (const uint8_t *)"abc", 3, &ct, &ctlen),
	             TESSERA_OK);
	{
		EVP_CIPHER_CTX *e = EVP_CIPHER_CTX_new();
		uint8_t want[3 + 16];
		int n = 0, fin = 0;

		cr_assert_eq(EVP_EncryptInit_ex(e, EVP_aes_128_gcm(), NULL, key, nonce), 1);
		cr_assert_eq(EVP_EncryptUpdate(e, want, &n, (const uint8_t *)"abc", 3), 1);
		cr_assert_eq(EVP_EncryptFinal_ex(e, want + n, &fin), 1);
		cr_assert_eq(EVP_CIPHER_CTX_ctrl(e, EVP_CTRL_GCM_GET_TAG, 16, want + 3), 1);
		EVP_CIPHER_CTX_free(e);
		cr_assert_eq(ctlen, sizeof(want));
		cr_assert_arr_eq(ct, want, sizeof(want));
	}
	free(ct);
	free(key);
}

Test(pkcs11, check_config_validates_the_settings_without_loading_the_module)
{
	char cfg[1024], path[160], cmd[512], out[2048];
	FILE *p;
	size_t n;
	int status;

	snprintf(path, sizeof(path), "%s/check.json", hsm);
	/* A module that does not exist: only a start would find out. */
	p11t_write_file(
	        path,
	        "{\"providers\": [{\"type\": \"Pkcs11\", \"library_path\": \"/nonexistent/x.so\","
	        " \"token_label\": \"T\", \"user_pin_file\": \"/nonexistent/pin\"}]}",
	        0600);
	snprintf(cmd, sizeof(cmd), "%s --check-config %s 2>&1", TESSERAD, path);
	p = popen(cmd, "r");
	n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = '\0';
	status = pclose(p);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s", out);
	/* What is wrong in the settings themselves is found. */
	snprintf(cfg, sizeof(cfg),
	         "{\"providers\": [{\"type\": \"Pkcs11\", \"library_path\": \"lib.so\"}]}");
	p11t_write_file(path, cfg, 0600);
	p = popen(cmd, "r");
	n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = '\0';
	status = pclose(p);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 1, "%s", out);
	cr_assert(strstr(out, "providers[0].library_path") != NULL, "%s", out);
	p11t_write_file(path,
	                "{\"providers\": [{\"type\": \"Pkcs11\", \"library_path\": \"/x.so\","
	                " \"sessions\": 0, \"token_label\": \"T\"}]}",
	                0600);
	p = popen(cmd, "r");
	n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = '\0';
	status = pclose(p);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 1, "%s", out);
	cr_assert(strstr(out, "providers[0].sessions") != NULL, "%s", out);
}

Test(pkcs11, a_token_that_is_gone_does_not_stop_the_other_providers)
{
	char cfg[4096];
	uint8_t *r = NULL;
	struct tessera_key_spec spec = p256;

	snprintf(ctl, sizeof(ctl), "%s/fault", hsm);
	set_fault("");
	setenv("P11FAULT_MODULE", module, 1);
	setenv("P11FAULT_CTL", ctl, 1);
	snprintf(cfg, sizeof(cfg),
	         "{\"core\": {\"allow_root\": true, \"log_level\": \"debug\"},"
	         " \"listener\": {\"socket_path\": \"%%1$s\", \"timeout_ms\": 5000},"
	         " \"authenticators\": [{\"type\": \"Direct\"}],"
	         " \"providers\": [{\"type\": \"Pkcs11\", \"library_path\": \"%s\","
	         " \"token_label\": \"" LABEL "\", \"user_pin_file\": \"%s/pin\"},"
	         " {\"type\": \"Software\"}]}",
	         FAULT_MODULE, hsm);
	tessera_close(c);
	cr_assert_eq(td_stop(&d), 0);
	td_start(&d, cfg);
	c = client_as("alice");
	cr_assert_eq(tessera_generate_key(c, P11, "hw", &p256), TESSERA_OK);
	cr_assert_eq(tessera_generate_key(c, 1, "sw", &spec), TESSERA_OK);
	set_fault("C_Sign 0x32 0"); /* the token is gone */
	cr_assert_eq(sign_p256("hw"), 1147);
	{
		uint8_t h[32] = {4}, *sig = NULL;
		size_t len = 0;

		cr_assert_eq(tessera_sign_hash(c, 1, "sw", "ecdsa-sha256", h, 32, &sig, &len),
		             TESSERA_OK);
		free(sig);
	}
	cr_assert_eq(tessera_generate_random(c, 1, 8, &r), TESSERA_OK);
	free(r);
	set_fault("");
	cr_assert_eq(sign_p256("hw"), TESSERA_OK);
}
