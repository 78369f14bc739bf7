/*
 * tessera-migrate against a Parsec installation written by the test from
 * the formats in docs/migrating-from-parsec.md: a SQLite (or on-disk) key
 * info store and Mbed TLS persistent key files for ECC P-256, RSA 2048 and
 * AES keys. The keys are then used through the real tesserad: they sign
 * (checked with OpenSSL against the original key) and ListKeys shows them
 * to the right tenant.
 */
#include <criterion/criterion.h>
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
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <sqlite3.h>

#include "client/tessera.h"
#include "harness.h"

#define MIGRATE TESSERA_BUILD_DIR "/migrate/tessera-migrate"

#define UUID_MBED   "1c1139dc-ad7c-47dc-ad6b-db6fdb466552"
#define UUID_PKCS11 "30e39502-eba6-4d60-a4af-c518b7f5e38f"
#define UUID_TPM    "1e4954a4-ff21-46d3-ab0c-661eeb667e1d"

/* PSA values (crypto_values.h). */
#define T_ECC_P256_PAIR 0x7112
#define T_RSA_PAIR      0x7001
#define T_AES           0x2400
#define U_EXPORT        0x0001
#define U_ENCRYPT       0x0100
#define U_DECRYPT       0x0200
#define U_SIGN_ANY      0x3c00 /* sign/verify hash and message */
#define A_ECDSA_SHA256  0x06000609
#define A_PKCS1_SHA256  0x06000209
#define A_GCM           0x05500200

static char tmp[64], parsec_dir[128], mbed_dir[160], kim[160], mappings[160], state[128], kek[128],
        cfg[128], credstore[128];
static EVP_PKEY *ec_key, *rsa_key, *peer_key, *carol_key;
static uint8_t aes_key[16];
static struct td d;

/* ---- writing a Parsec installation ---- */

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* An Mbed TLS ITS file holding a PSA persistent key. */
static void write_key_file(uint32_t id, uint16_t type, uint16_t bits, uint32_t usage, uint32_t alg,
                           const uint8_t *data, size_t len)
{
	uint8_t hdr[16 + 36];
	char path[256];
	FILE *f;

	memcpy(hdr, "PSA\0ITS\0", 8);
	put32(hdr + 8, (uint32_t)(36 + len));
	put32(hdr + 12, 0);
	memcpy(hdr + 16, "PSA\0KEY\0", 8);
	put32(hdr + 24, 0);      /* version */
	put32(hdr + 28, 1);      /* lifetime: persistent */
	hdr[32] = (uint8_t)type; /* type, u16 */
	hdr[33] = (uint8_t)(type >> 8);
	hdr[34] = (uint8_t)bits; /* bits, u16 */
	hdr[35] = (uint8_t)(bits >> 8);
	put32(hdr + 36, usage);
	put32(hdr + 40, alg);
	put32(hdr + 44, 0); /* alg2 */
	put32(hdr + 48, (uint32_t)len);
	snprintf(path, sizeof(path), "%s/%08x%08x.psa_its", mbed_dir, 0u, id);
	f = fopen(path, "wb");
	cr_assert_not_null(f);
	cr_assert_eq(fwrite(hdr, 1, sizeof(hdr), f), sizeof(hdr));
	cr_assert_eq(fwrite(data, 1, len, f), len);
	fclose(f);
}

/* A bincode psa-crypto Attributes as Parsec stores it: lifetime
 * Persistent, the Type variant (and the ECC family variant), bits (u64),
 * ten usage booleans, then the algorithm (variant None here). The importer
 * checks the type, family and size against the key file. */
#define V_AES      3
#define V_RSA_PAIR 9
#define V_ECC_PAIR 10
#define F_SECP_R1  1

static size_t attrs_blob(uint8_t *out, unsigned variant, uint64_t bits)
{
	size_t n = 0;

	put32(out, 1);
	put32(out + 4, variant);
	n = 8;
	if (variant == V_ECC_PAIR) {
		put32(out + n, F_SECP_R1);
		n += 4;
	}
	put32(out + n, (uint32_t)bits);
	put32(out + n + 4, (uint32_t)(bits >> 32));
	n += 8;
	memset(out + n, 0, 10 + 4);
	return n + 10 + 4;
}

/* The attributes a mapping of key file id records. */
static size_t blob_for(uint32_t id, uint8_t *out)
{
	switch (id) {
	case 1:
	case 4:
	case 7:
		return attrs_blob(out, V_ECC_PAIR, 256);
	case 3:
	case 42:
		return attrs_blob(out, V_AES, id == 42 ? 0 : 128); /* 0: imported without a size */
	}
	if (id >= 100 && id < 200)
		return attrs_blob(out, V_AES, 128);
	return attrs_blob(out, V_RSA_PAIR, 2048);
}

static void sql(sqlite3 *db, const char *s)
{
	char *msg = NULL;

	cr_assert_eq(sqlite3_exec(db, s, NULL, NULL, &msg), SQLITE_OK, "%s: %s", s, msg);
}

static void kim_row_blob(sqlite3 *db, int auth, const char *app, const char *name, const char *uuid,
                         const char *pname, uint32_t id, const uint8_t *blob, size_t blob_len)
{
	sqlite3_stmt *st;
	uint8_t idb[4];

	put32(idb, id);
	cr_assert_eq(
	        sqlite3_prepare_v2(db,
	                           "INSERT INTO key_mapping VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1, "
	                           "?7, 1)",
	                           -1, &st, NULL),
	        SQLITE_OK);
	sqlite3_bind_int(st, 1, auth);
	sqlite3_bind_text(st, 2, app, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, uuid, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, pname, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 6, idb, 4, SQLITE_STATIC);
	sqlite3_bind_blob(st, 7, blob, (int)blob_len, SQLITE_STATIC);
	cr_assert_eq(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
}

static void kim_row(sqlite3 *db, int auth, const char *app, const char *name, const char *uuid,
                    const char *pname, uint32_t id)
{
	uint8_t blob[64];
	size_t len = blob_for(id, blob);

	kim_row_blob(db, auth, app, name, uuid, pname, id, blob, len);
}

static void ec_scalar(EVP_PKEY *pk, uint8_t out[32])
{
	BIGNUM *bn = NULL;

	cr_assert_eq(EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_PRIV_KEY, &bn), 1);
	cr_assert_eq(BN_bn2binpad(bn, out, 32), 32);
	BN_clear_free(bn);
}

/* The Mbed Crypto key files of every key the stores below name. */
static void write_key_files(void)
{
	uint8_t sc[32], *der = NULL;
	int der_len;

	ec_scalar(ec_key, sc);
	write_key_file(1, T_ECC_P256_PAIR, 256, U_SIGN_ANY, A_ECDSA_SHA256, sc, 32);
	der_len = i2d_PrivateKey(rsa_key, &der);
	cr_assert_gt(der_len, 0);
	write_key_file(2, T_RSA_PAIR, 2048, U_SIGN_ANY, A_PKCS1_SHA256, der, (size_t)der_len);
	OPENSSL_free(der);
	write_key_file(3, T_AES, 128, U_EXPORT | U_ENCRYPT | U_DECRYPT, A_GCM, aes_key, 16);
	ec_scalar(peer_key, sc);
	write_key_file(4, T_ECC_P256_PAIR, 256, U_SIGN_ANY, A_ECDSA_SHA256, sc, 32);
	/* 6: damaged (no PSA\0KEY\0 magic). */
	{
		char path[256];
		FILE *f;

		snprintf(path, sizeof(path), "%s/%08x%08x.psa_its", mbed_dir, 0u, 6u);
		f = fopen(path, "wb");
		cr_assert_not_null(f);
		fwrite("PSA\0ITS\0\x08\0\0\0\0\0\0\0GARBAGE!", 1, 24, f);
		fclose(f);
	}
	ec_scalar(carol_key, sc);
	write_key_file(7, T_ECC_P256_PAIR, 256, U_SIGN_ANY, A_ECDSA_SHA256, sc, 32);
}

/* Parsec's SQLite key info store (schema version 1). */
static void write_sqlite_kim(void)
{
	sqlite3 *db;

	cr_assert_eq(sqlite3_open(kim, &db), SQLITE_OK);
	sql(db, "CREATE TABLE kim_metadata (id TEXT NOT NULL, int_value INTEGER NOT NULL, "
	        "PRIMARY KEY (id))");
	sql(db, "INSERT INTO kim_metadata (id, int_value) VALUES ('schema_version', 1)");
	sql(db,
	    "CREATE TABLE key_mapping (authenticator_id INTEGER NOT NULL, application_name "
	    "TEXT NOT NULL, key_name TEXT NOT NULL, provider_uuid TEXT NOT NULL, provider_name "
	    "TEXT NOT NULL, key_id BLOB NOT NULL, key_id_version INTEGER NOT NULL, "
	    "key_attributes BLOB NOT NULL, key_attributes_version INTEGER NOT NULL, PRIMARY KEY "
	    "(authenticator_id, application_name, key_name))");
	kim_row(db, 1, "alice", "ec-sign", UUID_MBED, "mbed-crypto-provider", 1);
	kim_row(db, 1, "alice", "rsa-sign", UUID_MBED, "mbed-crypto-provider", 2);
	kim_row(db, 1, "alice", "aes", UUID_MBED, "mbed-crypto-provider", 3);
	kim_row(db, 3, "0", "peer-ec", UUID_MBED, "mbed-crypto-provider", 4);
	kim_row(db, 1, "alice", "token-key", UUID_PKCS11, "pkcs11-provider", 5);
	kim_row(db, 1, "bob", "tpm-key", UUID_TPM, "tpm-provider", 9);
	kim_row(db, 255, "parsec", "RootKeyTPM", UUID_TPM, "tpm-provider", 10);
	kim_row(db, 1, "alice", "broken", UUID_MBED, "mbed-crypto-provider", 6);
	kim_row(db, 1, "carol", "conflict", UUID_MBED, "mbed-crypto-provider", 7);
	sqlite3_close(db);
}

static void b64url(const char *in, char *out)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t n = strlen(in), o = 0;

	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)(uint8_t)in[i] << 16;

		if (i + 1 < n)
			v |= (uint32_t)(uint8_t)in[i + 1] << 8;
		if (i + 2 < n)
			v |= (uint8_t)in[i + 2];
		out[o++] = a[(v >> 18) & 63];
		out[o++] = a[(v >> 12) & 63];
		out[o++] = i + 1 < n ? a[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < n ? a[v & 63] : '=';
	}
	out[o] = '\0';
}

/* One on-disk mapping: <dir>/<b64 app>/<provider>/<b64 name> holding a
 * bincode KeyInfo (u64 id length, the u32 key ID, the attributes); len
 * cuts it short for a damaged one. */
static void on_disk_row(const char *app, int provider, const char *name, uint32_t id, size_t len)
{
	char a[128], n[128], path[512];
	uint8_t buf[12 + 64] = {4};
	size_t blob_len;
	FILE *f;

	b64url(app, a);
	b64url(name, n);
	snprintf(path, sizeof(path), "mkdir -p '%s/%s/%d'", mappings, a, provider);
	cr_assert_eq(system(path), 0);
	snprintf(path, sizeof(path), "%s/%s/%d/%s", mappings, a, provider, n);
	put32(buf + 8, id);
	blob_len = blob_for(id, buf + 12);
	f = fopen(path, "wb");
	cr_assert_not_null(f);
	fwrite(buf, 1, len != 0 ? len : 12 + blob_len, f);
	fclose(f);
}

static void write_on_disk_kim(void)
{
	char n[128], path[512];
	uint8_t buf[12 + 64] = {4};
	size_t blob_len = blob_for(10, buf + 12);
	FILE *f;

	on_disk_row("alice", 1, "ec-sign", 1, 0);
	on_disk_row("alice", 1, "rsa-sign", 2, 0);
	on_disk_row("alice", 1, "aes", 3, 0);
	on_disk_row("alice", 2, "token-key", 5, 0);
	on_disk_row("alice", 1, "cut-short", 4, 10);
	/* An internal key: parsec/<b64("tpm" + name)>. */
	b64url("tpmRootKeyTPM", n);
	snprintf(path, sizeof(path), "%s/parsec", mappings);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/parsec/%s", mappings, n);
	f = fopen(path, "wb");
	cr_assert_not_null(f);
	fwrite(buf, 1, 12 + blob_len, f);
	fclose(f);
}

static void setup(void)
{
	FILE *f;

	strcpy(tmp, "/tmp/tsmig.XXXXXX");
	cr_assert_not_null(mkdtemp(tmp));
	snprintf(parsec_dir, sizeof(parsec_dir), "%s/parsec", tmp);
	snprintf(mbed_dir, sizeof(mbed_dir), "%s/home-parsec", parsec_dir);
	snprintf(kim, sizeof(kim), "%s/sqlite-key-info-manager.sqlite3", parsec_dir);
	snprintf(mappings, sizeof(mappings), "%s/mappings", parsec_dir);
	snprintf(state, sizeof(state), "%s/state", tmp);
	snprintf(kek, sizeof(kek), "%s/state.kek", tmp);
	snprintf(cfg, sizeof(cfg), "%s/tesserad.json", tmp);
	cr_assert_eq(mkdir(parsec_dir, 0700), 0);
	cr_assert_eq(mkdir(mbed_dir, 0700), 0);
	cr_assert_eq(mkdir(mappings, 0700), 0);
	cr_assert_eq(mkdir(state, 0700), 0);
	/* The systemd credential store the importer looks at: the test's own
	 * (empty unless a test fills it), never the host's. */
	snprintf(credstore, sizeof(credstore), "%s/credstore", tmp);
	setenv("TESSERA_CREDSTORE", credstore, 1);
	unsetenv("CREDENTIALS_DIRECTORY");
	f = fopen(cfg, "w");
	cr_assert_not_null(f);
	fprintf(f, TD_CONFIG_DEFAULT, "/nonexistent/unused.sock");
	fclose(f);
	ec_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	peer_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	carol_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	rsa_key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	cr_assert(ec_key && peer_key && carol_key && rsa_key);
	cr_assert_eq(RAND_bytes(aes_key, sizeof(aes_key)), 1);
	write_key_files();
}

static void teardown(void)
{
	char cmd[128];

	if (d.pid > 0)
		td_stop(&d);
	EVP_PKEY_free(ec_key);
	EVP_PKEY_free(rsa_key);
	EVP_PKEY_free(peer_key);
	EVP_PKEY_free(carol_key);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmp);
}

TestSuite(migrate, .init = setup, .fini = teardown, .timeout = 180);

/* ---- running things ---- */

static char out[16384];

/* Run tessera-migrate with args; its exit status, what it printed in out. */
static int migrate(const char *args)
{
	char cmd[2048];
	size_t got;
	FILE *p;
	int status;

	/* Under TESSERA_VALGRIND=1 the importer runs under valgrind too (an
	 * error or a leak is exit status 99, which no assertion expects). */
	snprintf(cmd, sizeof(cmd), "timeout 300 %s %s --config %s --state-dir %s %s 2>&1",
	         td_under_valgrind() ? "valgrind --quiet --error-exitcode=99 --leak-check=full "
	                               "--errors-for-leak-kinds=definite,indirect "
	                               "--track-origins=yes"
	                             : "",
	         MIGRATE, cfg, state, args);
	p = popen(cmd, "r");
	cr_assert_not_null(p);
	got = fread(out, 1, sizeof(out) - 1, p);
	out[got] = '\0';
	status = pclose(p);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

#define assert_out(needle) cr_assert_not_null(strstr(out, needle), "no '%s' in:\n%s", needle, out)

static void start_on_state(void)
{
	static const char *extra[5];

	extra[0] = "--state-dir";
	extra[1] = state;
	extra[2] = "--kek-file";
	extra[3] = kek;
	extra[4] = NULL;
	td_start_args(&d, TD_CONFIG_DEFAULT, extra);
}

static struct tessera_client *client(uint8_t auth, const char *app)
{
	struct tessera_options o;
	struct tessera_client *cl;
	char ep[160];

	tessera_options_init(&o);
	snprintf(ep, sizeof(ep), "unix:%s", d.sock);
	o.endpoint = ep;
	o.auth_type = auth;
	o.app_name = app;
	cr_assert_eq(tessera_open(&o, &cl), TESSERA_OK);
	return cl;
}

static bool has_key(struct tessera_client *cl, const char *name, size_t *ret_n)
{
	struct tessera_key_info *keys = NULL;
	size_t n = 0;
	bool found = false;

	cr_assert_eq(tessera_list_keys(cl, &keys, &n), TESSERA_OK);
	for (size_t i = 0; i < n; i++)
		found = found || strcmp(keys[i].name, name) == 0;
	tessera_key_info_free(keys, n);
	if (ret_n != NULL)
		*ret_n = n;
	return found;
}

/* Sign a digest with the migrated key and verify with OpenSSL against the
 * original key's public part. */
static void assert_signs(struct tessera_client *cl, const char *name, const char *alg,
                         EVP_PKEY *orig)
{
	uint8_t h[32], *sig = NULL, *der = NULL;
	size_t sig_len = 0, der_len;
	EVP_PKEY_CTX *vc;
	ECDSA_SIG *es = NULL;

	SHA256((const uint8_t *)"migrated from Parsec", 20, h);
	cr_assert_eq(tessera_sign_hash(cl, 1, name, alg, h, sizeof(h), &sig, &sig_len), TESSERA_OK,
	             "%s signs", name);
	if (EVP_PKEY_get_base_id(orig) == EVP_PKEY_EC) {
		/* PSA's raw r || s, as DER for OpenSSL. */
		cr_assert_eq(sig_len, 64);
		es = ECDSA_SIG_new();
		ECDSA_SIG_set0(es, BN_bin2bn(sig, 32, NULL), BN_bin2bn(sig + 32, 32, NULL));
		der_len = (size_t)i2d_ECDSA_SIG(es, &der);
		ECDSA_SIG_free(es);
	} else {
		der = OPENSSL_memdup(sig, sig_len);
		der_len = sig_len;
	}
	vc = EVP_PKEY_CTX_new(orig, NULL);
	cr_assert_eq(EVP_PKEY_verify_init(vc), 1);
	if (EVP_PKEY_get_base_id(orig) == EVP_PKEY_RSA)
		cr_assert_eq(EVP_PKEY_CTX_set_rsa_padding(vc, RSA_PKCS1_PADDING), 1);
	cr_assert_eq(EVP_PKEY_CTX_set_signature_md(vc, EVP_sha256()), 1);
	cr_assert_eq(EVP_PKEY_verify(vc, der, der_len, h, sizeof(h)), 1,
	             "the signature of %s verifies with the original key", name);
	EVP_PKEY_CTX_free(vc);
	OPENSSL_free(der);
	free(sig);
}

static bool exists(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0;
}

/* ---- tests ---- */

Test(migrate, sqlite_store_dry_run_apply_and_the_keys_work_in_tesserad)
{
	char path[256], args[512];
	struct tessera_client *alice, *peer, *carol;
	uint8_t *got = NULL;
	size_t got_len = 0, n = 0;
	static const struct tessera_key_spec p256 = {.type = "ecc",
	                                             .bits = 256,
	                                             .alg = "ecdsa-sha256",
	                                             .usage = TESSERA_USAGE_SIGN_HASH |
	                                                      TESSERA_USAGE_VERIFY_HASH};

	write_sqlite_kim();
	snprintf(args, sizeof(args), "--kek-file %s --sqlite %s --mbed-dir %s", kek, kim, mbed_dir);

	/* A dry run on no store: a report, and nothing written. */
	cr_assert_eq(migrate(args), 1, "a failed key makes the status 1:\n%s", out);
	assert_out("import   Direct \"alice\" key \"ec-sign\": ECC key pair SECP_R1, 256 bits");
	assert_out("import   Direct \"alice\" key \"rsa-sign\": RSA key pair, 2048 bits");
	assert_out("import   Direct \"alice\" key \"aes\": AES, 128 bits");
	assert_out("import   UnixPeerCredentials \"0\" key \"peer-ec\"");
	assert_out("skip     Direct \"alice\" key \"token-key\": Pkcs11 key (provider "
	           "\"pkcs11-provider\"): the configuration has no Pkcs11 provider");
	assert_out("skip     Direct \"bob\" key \"tpm-key\": Tpm key");
	assert_out("skip     Internal \"parsec\" key \"RootKeyTPM\": Parsec's own key");
	assert_out("fail     Direct \"alice\" key \"broken\": key file");
	assert_out("not a PSA persistent key");
	assert_out("would import 5, already present 0, skipped 3, failed 1");
	assert_out("dry run: nothing was written");
	snprintf(path, sizeof(path), "%s/keystore.sqlite3", state);
	cr_assert(!exists(path), "a dry run makes no store");
	cr_assert(!exists(kek), "nor a key-encryption key");

	/* carol already has a Tessera key of that name; tesserad holds the store. */
	start_on_state();
	carol = client(TESSERA_AUTH_DIRECT, "carol");
	cr_assert_eq(tessera_generate_key(carol, 1, "conflict", &p256), TESSERA_OK);
	cr_assert_eq(migrate(args), 1);
	assert_out("is in use by process");
	assert_out("stop tesserad first");
	tessera_close(carol);
	cr_assert_eq(td_stop(&d), 0);
	d.pid = 0;

	/* The dry run now sees the conflict. */
	cr_assert_eq(migrate(args), 1);
	assert_out("skip     Direct \"carol\" key \"conflict\"");
	assert_out("a different Tessera key of that name exists");
	assert_out("would import 4, already present 0, skipped 4, failed 1");

	snprintf(args, sizeof(args), "--kek-file %s --sqlite %s --mbed-dir %s --apply", kek, kim,
	         mbed_dir);
	cr_assert_eq(migrate(args), 1, "%s", out);
	assert_out("migrating 9 Parsec key mappings");
	assert_out("imported Direct \"alice\" key \"ec-sign\"");
	assert_out("skipped  Direct \"carol\" key \"conflict\"");
	assert_out("failed   Direct \"alice\" key \"broken\"");
	assert_out("imported 4, already present 0, skipped 4, failed 1");

	/* Idempotent. */
	cr_assert_eq(migrate(args), 1);
	assert_out("present  Direct \"alice\" key \"ec-sign\": ECC key pair SECP_R1, 256 bits "
	           "(Mbed Crypto key 1): already in Tessera (migrated before)");
	assert_out("imported 0, already present 4, skipped 4, failed 1");
	assert_out("nothing new to import");

	/* The real daemon on the result. */
	start_on_state();
	alice = client(TESSERA_AUTH_DIRECT, "alice");
	cr_assert(has_key(alice, "ec-sign", &n));
	cr_assert(has_key(alice, "rsa-sign", NULL));
	cr_assert(has_key(alice, "aes", NULL));
	cr_assert_eq(n, 3, "alice has her three software keys, no more");
	assert_signs(alice, "ec-sign", "ecdsa-sha256", ec_key);
	assert_signs(alice, "rsa-sign", "rsa-pkcs1-sha256", rsa_key);
	cr_assert_eq(tessera_export_key(alice, 1, "aes", &got, &got_len), TESSERA_OK);
	cr_assert_eq(got_len, sizeof(aes_key));
	cr_assert_arr_eq(got, aes_key, sizeof(aes_key), "the AES key is the one Parsec had");
	free(got);
	cr_assert_neq(tessera_export_key(alice, 1, "ec-sign", &got, &got_len), TESSERA_OK,
	              "the policy came along: no export flag, no export");
	peer = client(TESSERA_AUTH_UNIX_PEER, NULL);
	cr_assert(has_key(peer, "peer-ec", &n));
	cr_assert_eq(n, 1, "the UnixPeer tenant sees only its key");
	assert_signs(peer, "peer-ec", "ecdsa-sha256", peer_key);
	carol = client(TESSERA_AUTH_DIRECT, "carol");
	{
		/* carol's key is still the Tessera one, not Parsec's. */
		uint8_t h[32] = {1}, *sig = NULL;
		size_t sig_len = 0;
		EVP_PKEY_CTX *vc;
		ECDSA_SIG *es = ECDSA_SIG_new();
		uint8_t *der = NULL;
		int der_len;

		cr_assert_eq(tessera_sign_hash(carol, 1, "conflict", "ecdsa-sha256", h, 32, &sig,
		                               &sig_len),
		             TESSERA_OK);
		ECDSA_SIG_set0(es, BN_bin2bn(sig, 32, NULL), BN_bin2bn(sig + 32, 32, NULL));
		der_len = i2d_ECDSA_SIG(es, &der);
		vc = EVP_PKEY_CTX_new(carol_key, NULL);
		EVP_PKEY_verify_init(vc);
		EVP_PKEY_CTX_set_signature_md(vc, EVP_sha256());
		cr_assert_neq(EVP_PKEY_verify(vc, der, (size_t)der_len, h, 32), 1,
		              "the conflicting key was not overwritten");
		EVP_PKEY_CTX_free(vc);
		ECDSA_SIG_free(es);
		OPENSSL_free(der);
		free(sig);
	}
	tessera_close(alice);
	tessera_close(peer);
	tessera_close(carol);
}

Test(migrate, on_disk_store_is_imported_for_the_authenticator_given)
{
	char args[512];
	struct tessera_client *alice;
	size_t n = 0;

	write_on_disk_kim();
	snprintf(args, sizeof(args), "--kek-file %s --on-disk %s --mbed-dir %s", kek, mappings,
	         mbed_dir);
	cr_assert_eq(migrate(args), 2, "--on-disk needs --on-disk-auth");
	assert_out("--on-disk-auth");

	strcat(args, " --on-disk-auth Direct --apply");
	cr_assert_eq(migrate(args), 1, "%s", out);
	assert_out("imported Direct \"alice\" key \"ec-sign\"");
	assert_out("imported Direct \"alice\" key \"rsa-sign\"");
	assert_out("imported Direct \"alice\" key \"aes\"");
	assert_out("skipped  Direct \"alice\" key \"token-key\": Pkcs11 key");
	assert_out("skipped  Internal \"parsec\" key \"RootKeyTPM\": Parsec's own key (Tpm)");
	assert_out("failed   Direct \"alice\" key \"cut-short\"");
	assert_out("KeyInfo");
	assert_out("imported 3, already present 0, skipped 2, failed 1");

	cr_assert_eq(migrate(args), 1);
	assert_out("imported 0, already present 3, skipped 2, failed 1");

	/* A dry run never makes a key-encryption key: without one it says so
	 * and compares nothing. */
	{
		char moved[160], dry[512];

		snprintf(moved, sizeof(moved), "%s.moved", kek);
		cr_assert_eq(rename(kek, moved), 0);
		snprintf(dry, sizeof(dry),
		         "--kek-file %s --on-disk %s --mbed-dir %s --on-disk-auth "
		         "Direct",
		         kek, mappings, mbed_dir);
		cr_assert_eq(migrate(dry), 1);
		assert_out("has no key-encryption key at");
		assert_out("would import 3, already present 0");
		cr_assert(!exists(kek));
		cr_assert_eq(rename(moved, kek), 0);
	}

	start_on_state();
	alice = client(TESSERA_AUTH_DIRECT, "alice");
	cr_assert(has_key(alice, "ec-sign", &n));
	cr_assert_eq(n, 3);
	assert_signs(alice, "ec-sign", "ecdsa-sha256", ec_key);
	assert_signs(alice, "rsa-sign", "rsa-pkcs1-sha256", rsa_key);
	tessera_close(alice);
}

Test(migrate, bad_arguments_and_stores_are_refused_with_a_reason)
{
	char args[512];
	FILE *f;

	cr_assert_eq(migrate(""), 2);
	assert_out("--sqlite FILE or --on-disk DIR");
	snprintf(args, sizeof(args), "--sqlite %s/nope.sqlite3", tmp);
	cr_assert_eq(migrate(args), 1);
	assert_out("No such file or directory");
	/* A SQLite file that is not Parsec's. */
	{
		sqlite3 *db;

		cr_assert_eq(sqlite3_open(kim, &db), SQLITE_OK);
		sql(db, "CREATE TABLE other (x)");
		sqlite3_close(db);
	}
	snprintf(args, sizeof(args), "--sqlite %s", kim);
	cr_assert_eq(migrate(args), 1);
	assert_out("not a Parsec SQLite key info store");
	/* A configuration without a Software provider. */
	f = fopen(cfg, "w");
	cr_assert_not_null(f);
	fprintf(f, "{\"providers\": [{\"type\": \"Software\", \"name\": \"sw\"}]}");
	fclose(f);
	snprintf(args, sizeof(args), "--sqlite %s --instance other", kim);
	unlink(kim);
	write_sqlite_kim();
	cr_assert_eq(migrate(args), 1);
	assert_out("--instance other: no Software provider of that name");
	/* The PSA C API's volatile names are reserved. */
	cr_assert_eq(migrate("--adopt-pkcs11 --tenant Direct:app --key-name .volatile/k --alg "
	                     "ecdsa-sha256 --label L"),
	             2);
	assert_out("reserved for the PSA C API's volatile keys");
}

/* A key record exactly as Mbed TLS writes it: the "PSA storage save:
 * AES-GCM+CTR" anchor of Mbed TLS's storage-format tests
 * (tests/suites/test_suite_psa_crypto_storage_format.misc.data), which
 * Mbed TLS's CI checks it both writes and reads: AES-128, usage EXPORT |
 * ENCRYPT, algorithm GCM, enrolment algorithm CTR (Tessera keeps one
 * algorithm: alg2 is dropped). Wrapped in an ITS header as psa_its_file.c
 * writes one. */
Test(migrate, a_key_record_mbed_tls_writes_is_imported)
{
	static const char record[] =
	        "505341004b45590000000000010000000024800001010000000250050010c00"
	        "410000000404142434445464748494a4b4c4d4e4f";
	uint8_t *rec = NULL, its[16], *got = NULL;
	size_t len = td_unhex(record, &rec), got_len = 0;
	char path[256], args[512];
	struct tessera_client *alice;
	sqlite3 *db;
	FILE *f;

	memcpy(its, "PSA\0ITS\0", 8);
	put32(its + 8, (uint32_t)len);
	put32(its + 12, 0);
	snprintf(path, sizeof(path), "%s/%08x%08x.psa_its", mbed_dir, 0u, 42u);
	f = fopen(path, "wb");
	cr_assert_not_null(f);
	fwrite(its, 1, sizeof(its), f);
	fwrite(rec, 1, len, f);
	fclose(f);
	free(rec);
	write_sqlite_kim();
	cr_assert_eq(sqlite3_open(kim, &db), SQLITE_OK);
	sql(db, "DELETE FROM key_mapping");
	kim_row(db, 1, "alice", "from-mbedtls", UUID_MBED, "mbed-crypto-provider", 42);
	{
		/* A mapping that says RSA 2048 over the file of an ECC key. */
		uint8_t blob[64];
		size_t blob_len = attrs_blob(blob, V_RSA_PAIR, 2048);

		kim_row_blob(db, 1, "alice", "wrong-file", UUID_MBED, "mbed-crypto-provider", 1,
		             blob, blob_len);
	}
	sqlite3_close(db);
	snprintf(args, sizeof(args), "--kek-file %s --sqlite %s --mbed-dir %s --apply", kek, kim,
	         mbed_dir);
	cr_assert_eq(migrate(args), 1, "%s", out);
	assert_out(
	        "failed   Direct \"alice\" key \"wrong-file\": the key file (PSA type 0x7112, 256 "
	        "bits) is not the key Parsec's mapping describes (RsaKeyPair, family 0, 2048 "
	        "bits): is --mbed-dir this installation's?");
	assert_out("imported Direct \"alice\" key \"from-mbedtls\": AES, 128 bits (Mbed Crypto key "
	           "42)");
	start_on_state();
	alice = client(TESSERA_AUTH_DIRECT, "alice");
	cr_assert_eq(tessera_export_key(alice, 1, "from-mbedtls", &got, &got_len), TESSERA_OK);
	cr_assert_eq(got_len, 16);
	cr_assert_arr_eq(got, "@ABCDEFGHIJKLMNO", 16);
	free(got);
	tessera_close(alice);
}

/* A large store shows its progress on a terminal (and only there). */
Test(migrate, progress_on_a_terminal_for_a_large_store)
{
	char cmd[1024], name[32];
	size_t got;
	sqlite3 *db;
	FILE *p;

	write_sqlite_kim();
	cr_assert_eq(sqlite3_open(kim, &db), SQLITE_OK);
	sql(db, "DELETE FROM key_mapping");
	for (uint32_t i = 0; i < 60; i++) {
		snprintf(name, sizeof(name), "k%u", i);
		write_key_file(100 + i, T_AES, 128, U_ENCRYPT | U_DECRYPT, A_GCM, aes_key, 16);
		kim_row(db, 1, "many", name, UUID_MBED, "mbed-crypto-provider", 100 + i);
	}
	sqlite3_close(db);

	/* Without a terminal: no progress line. */
	snprintf(cmd, sizeof(cmd), "--kek-file %s --sqlite %s --mbed-dir %s -q", kek, kim,
	         mbed_dir);
	cr_assert_eq(migrate(cmd), 0, "%s", out);
	cr_assert_null(strstr(out, "migrating: "), "%s", out);
	assert_out("would import 60, already present 0, skipped 0, failed 0");

	/* On a terminal (script(1) gives it one). */
	snprintf(cmd, sizeof(cmd),
	         "timeout 60 script -qec '%s --config %s --state-dir %s --kek-file %s --sqlite %s "
	         "--mbed-dir %s --apply' /dev/null",
	         MIGRATE, cfg, state, kek, kim, mbed_dir);
	p = popen(cmd, "r");
	cr_assert_not_null(p);
	got = fread(out, 1, sizeof(out) - 1, p);
	out[got] = '\0';
	cr_assert_eq(pclose(p), 0, "%s", out);
	assert_out("migrating: 60/60 keys (100%)");
	assert_out("imported 60, already present 0, skipped 0, failed 0");
}

/* The configuration's per-tenant quota holds for imported keys too. */
Test(migrate, imported_keys_count_against_the_tenant_quota)
{
	char args[512];
	FILE *f = fopen(cfg, "w");

	cr_assert_not_null(f);
	fprintf(f, "{\"quotas\": {\"max_keys_per_tenant\": 2}, \"providers\": [{\"type\": "
	           "\"Software\"}]}");
	fclose(f);
	write_sqlite_kim();
	snprintf(args, sizeof(args), "--kek-file %s --sqlite %s --mbed-dir %s --apply", kek, kim,
	         mbed_dir);
	cr_assert_eq(migrate(args), 1, "%s", out);
	assert_out("imported Direct \"alice\" key \"aes\"");
	assert_out("imported Direct \"alice\" key \"ec-sign\"");
	assert_out(
	        "failed   Direct \"alice\" key \"rsa-sign\": RSA key pair, 2048 bits (Mbed Crypto "
	        "key 2): the key store refuses it (PSA: insufficient storage; past the tenant's "
	        "quotas in the configuration?)");
	assert_out("imported Direct \"carol\" key \"conflict\"");
	assert_out("imported 4, already present 0, skipped 3, failed 2");
}

/* Run as root (to read Parsec's files), the importer gives the files the
 * store made to the owner of the store's directory, so that tesserad,
 * running as that user, can open them. */
Test(migrate, run_as_root_the_store_files_go_to_the_store_directory_owner)
{
	char args[512], path[256];
	struct tessera_client *alice;
	struct stat sb;

	if (geteuid() != 0)
		cr_skip_test("needs root");
	cr_assert_eq(chown(state, 65534, 65534), 0);
	write_sqlite_kim();
	snprintf(args, sizeof(args), "--kek-file %s --sqlite %s --mbed-dir %s --apply", kek, kim,
	         mbed_dir);
	cr_assert_eq(migrate(args), 1, "%s", out);
	assert_out("imported 5, already present 0");
	snprintf(path, sizeof(path), "%s/keystore.sqlite3", state);
	cr_assert_eq(stat(path, &sb), 0);
	cr_assert_eq(sb.st_uid, 65534, "the store is the directory owner's");
	cr_assert_eq(sb.st_gid, 65534);
	cr_assert_eq(sb.st_mode & 0777, 0600);
	snprintf(path, sizeof(path), "%s/keystore.sqlite3.lock", state);
	cr_assert_eq(stat(path, &sb), 0);
	cr_assert_eq(sb.st_uid, 65534, "and its lock file");
	cr_assert_eq(stat(kek, &sb), 0);
	cr_assert_eq(sb.st_uid, 65534, "and the key-encryption key this run made");
	cr_assert_eq(sb.st_mode & 0777, 0600);
	assert_out("now belongs to uid 65534");

	start_on_state();
	alice = client(TESSERA_AUTH_DIRECT, "alice");
	assert_signs(alice, "ec-sign", "ecdsa-sha256", ec_key);
	tessera_close(alice);
}

/* Under systemd the key-encryption key is an encrypted credential only a
 * unit opens: run by hand, the importer refuses rather than make a file key
 * the daemon would not use, and says how to run it. */
Test(migrate, a_store_keyed_by_a_systemd_credential_needs_the_credential)
{
	char args[512], path[256];
	FILE *f;

	cr_assert_eq(mkdir(credstore, 0700), 0);
	snprintf(path, sizeof(path), "%s/tessera-kek", credstore);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs("sealed by systemd-creds", f);
	fclose(f);
	write_sqlite_kim();
	snprintf(args, sizeof(args), "--kek-file %s --sqlite %s --mbed-dir %s --apply", kek, kim,
	         mbed_dir);
	cr_assert_eq(migrate(args), 1, "%s", out);
	assert_out("is the systemd credential");
	assert_out("systemd-run --pipe --wait -p LoadCredentialEncrypted=tessera-kek:");
	snprintf(path, sizeof(path), "%s/keystore.sqlite3", state);
	cr_assert(!exists(path), "nothing written");
	cr_assert(!exists(kek));
}

/* ---- the layout a real Parsec 1.1.0 writes ---- */

/* The key_attributes blobs a Parsec 1.1.0 service (Mbed Crypto provider,
 * SQLite key info manager) wrote for keys made by parsec-tool-style
 * requests, byte for byte as observed (docs/migrating-from-parsec.md, "What
 * the importer was checked against"): unlike the test blobs above they carry
 * the whole policy, and a key imported without a size records 0 bits. */
static const char attrs_ecdsa_p256[] = "010000000a000000010000000001000000000000"
                                       "0000000000010101010005000000030000000000000006000000";
static const char attrs_rsa_sign[] = "0100000009000000000800000000000000000000000101010100"
                                     "05000000000000000000000006000000";
static const char attrs_rsa_oaep[] = "0100000009000000000800000000000000000001010000000000"
                                     "060000000100000006000000";
static const char attrs_rsa_pkcs1_crypt[] = "01000000090000000008000000000000000000010100000000"
                                            "000600000000000000";
static const char attrs_aes_no_alg[] = "010000000300000000000000000000000000000100000000000000"
                                       "000000";
static const char attrs_aes_gcm[] = "010000000300000000000000000000000000000100000000000004000000"
                                    "0000000001000000";
static const char attrs_ecc_public[] = "010000000b00000001000000000000000000000000000000000000"
                                       "0100010000000000";
static const char attrs_rsa_public[] = "010000000800000000000000000000000000000100000000000000"
                                       "000000";

static void kim_row_hex(sqlite3 *db, int auth, const char *app, const char *name, uint32_t id,
                        const char *attrs_hex)
{
	uint8_t *blob = NULL;
	size_t len = td_unhex(attrs_hex, &blob);

	cr_assert_gt(len, 0);
	kim_row_blob(db, auth, app, name, UUID_MBED, "mbed-crypto-provider", id, blob, len);
	free(blob);
}

/* The key's alg and usage as ListKeys reports them. */
static void assert_listed(struct tessera_client *cl, const char *name, const char *type,
                          uint32_t bits, const char *alg, uint32_t usage)
{
	struct tessera_key_info *keys = NULL;
	size_t n = 0;
	bool found = false;

	cr_assert_eq(tessera_list_keys(cl, &keys, &n), TESSERA_OK);
	for (size_t i = 0; i < n; i++) {
		if (strcmp(keys[i].name, name) != 0)
			continue;
		found = true;
		cr_assert_str_eq(keys[i].type, type, "%s", name);
		cr_assert_eq(keys[i].bits, bits, "%s: %u bits", name, keys[i].bits);
		if (alg == NULL)
			cr_assert_null(keys[i].alg, "%s: %s", name, keys[i].alg);
		else
			cr_assert(keys[i].alg != NULL && strcmp(keys[i].alg, alg) == 0, "%s: %s",
			          name, keys[i].alg ? keys[i].alg : "(none)");
		cr_assert_eq(keys[i].usage, usage, "%s: usage %#x", name, keys[i].usage);
	}
	tessera_key_info_free(keys, n);
	cr_assert(found, "%s is listed", name);
}

/* RSA ciphertext made with OpenSSL from the original key's public part. */
static size_t rsa_encrypt(EVP_PKEY *pk, int oaep, const char *msg, uint8_t *ct, size_t ct_size)
{
	EVP_PKEY_CTX *ec = EVP_PKEY_CTX_new(pk, NULL);
	size_t len = ct_size;

	cr_assert_eq(EVP_PKEY_encrypt_init(ec), 1);
	if (oaep) {
		cr_assert_eq(EVP_PKEY_CTX_set_rsa_padding(ec, RSA_PKCS1_OAEP_PADDING), 1);
		cr_assert_eq(EVP_PKEY_CTX_set_rsa_oaep_md(ec, EVP_sha256()), 1);
		cr_assert_eq(EVP_PKEY_CTX_set_rsa_mgf1_md(ec, EVP_sha256()), 1);
	} else {
		cr_assert_eq(EVP_PKEY_CTX_set_rsa_padding(ec, RSA_PKCS1_PADDING), 1);
	}
	cr_assert_eq(EVP_PKEY_encrypt(ec, ct, &len, (const uint8_t *)msg, strlen(msg)), 1);
	EVP_PKEY_CTX_free(ec);
	return len;
}

Test(migrate, a_store_laid_out_as_parsec_1_1_0_writes_it_works_in_tesserad)
{
	static const uint8_t nonce[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
	uint8_t sc[32], aes256[32], pt_point[65], ct[512], want[64], *der = NULL, *got = NULL;
	size_t point_len = 0, ct_len, got_len = 0;
	int der_len, want_len = 0, fin = 0;
	char args[512];
	struct tessera_client *alice, *bob, *ptool;
	EVP_CIPHER_CTX *gcm;
	sqlite3 *db;

	/* Key files with the headers Parsec 1.1.0's Mbed TLS 3.0.0 wrote: key
	 * IDs from 2 (Parsec increments its counter, which starts at
	 * PSA_KEY_ID_USER_MIN, before use), a gap where a generation failed. */
	ec_scalar(ec_key, sc);
	write_key_file(2, T_ECC_P256_PAIR, 256, U_SIGN_ANY, A_ECDSA_SHA256, sc, 32);
	der_len = i2d_PrivateKey(rsa_key, &der);
	cr_assert_gt(der_len, 0);
	write_key_file(3, T_RSA_PAIR, 2048, U_SIGN_ANY, A_PKCS1_SHA256, der, (size_t)der_len);
	write_key_file(4, T_RSA_PAIR, 2048, U_ENCRYPT | U_DECRYPT, 0x07000309, der,
	               (size_t)der_len);
	write_key_file(10, T_RSA_PAIR, 2048, U_ENCRYPT | U_DECRYPT, 0x07000200, der,
	               (size_t)der_len);
	OPENSSL_free(der);
	cr_assert_eq(RAND_bytes(aes256, sizeof(aes256)), 1);
	write_key_file(8, T_AES, 256, U_ENCRYPT, 0, aes256, sizeof(aes256));
	write_key_file(9, T_AES, 128, U_ENCRYPT, A_GCM, aes_key, sizeof(aes_key));
	cr_assert_eq(EVP_PKEY_get_octet_string_param(peer_key, OSSL_PKEY_PARAM_PUB_KEY, pt_point,
	                                             sizeof(pt_point), &point_len),
	             1);
	cr_assert_eq(point_len, 65);
	write_key_file(13, 0x4112, 256, 0x2800, 0, pt_point, point_len);
	der = NULL;
	der_len = i2d_PublicKey(rsa_key, &der);
	cr_assert_gt(der_len, 0);
	write_key_file(14, 0x4001, 2048, U_ENCRYPT, 0, der, (size_t)der_len);
	OPENSSL_free(der);
	ec_scalar(carol_key, sc);
	write_key_file(17, T_ECC_P256_PAIR, 256, U_SIGN_ANY, A_ECDSA_SHA256, sc, 32);

	write_sqlite_kim();
	cr_assert_eq(sqlite3_open(kim, &db), SQLITE_OK);
	sql(db, "DELETE FROM key_mapping");
	kim_row_hex(db, 1, "alice", "ec-p256", 2, attrs_ecdsa_p256);
	kim_row_hex(db, 1, "alice", "rsa-sign", 3, attrs_rsa_sign);
	kim_row_hex(db, 1, "alice", "rsa-enc", 4, attrs_rsa_oaep);
	kim_row_hex(db, 1, "alice", "aes", 8, attrs_aes_no_alg);
	kim_row_hex(db, 1, "bob", "aes128", 9, attrs_aes_gcm);
	kim_row_hex(db, 1, "parsec-tool", "pt-rsa", 10, attrs_rsa_pkcs1_crypt);
	kim_row_hex(db, 1, "bob", "alice-ec-pub", 13, attrs_ecc_public);
	kim_row_hex(db, 1, "bob", "alice-rsa-pub", 14, attrs_rsa_public);
	kim_row_hex(db, 3, "1000", "u1000-ec", 17, attrs_ecdsa_p256);
	sqlite3_close(db);

	snprintf(args, sizeof(args), "--kek-file %s --sqlite %s --mbed-dir %s", kek, kim, mbed_dir);
	cr_assert_eq(migrate(args), 0, "%s", out);
	assert_out("would import 9, already present 0, skipped 0, failed 0");
	strcat(args, " --apply");
	cr_assert_eq(migrate(args), 0, "%s", out);
	assert_out("imported Direct \"alice\" key \"aes\": AES, 256 bits (Mbed Crypto key 8)");
	assert_out("imported Direct \"bob\" key \"alice-ec-pub\": ECC public key SECP_R1, 256 bits "
	           "(Mbed Crypto key 13)");
	assert_out("imported Direct \"bob\" key \"alice-rsa-pub\": RSA public key, 2048 bits "
	           "(Mbed Crypto key 14)");
	assert_out("imported UnixPeerCredentials \"1000\" key \"u1000-ec\"");
	assert_out("imported 9, already present 0, skipped 0, failed 0");

	start_on_state();
	alice = client(TESSERA_AUTH_DIRECT, "alice");
	bob = client(TESSERA_AUTH_DIRECT, "bob");
	ptool = client(TESSERA_AUTH_DIRECT, "parsec-tool");
	/* The policies Parsec 1.1.0's ListKeys reported for these keys; the
	 * size where Parsec recorded 0 is the key's (as tesserad's own import
	 * records it). */
	assert_listed(alice, "ec-p256", "ecc", 256, "ecdsa-sha256",
	              TESSERA_USAGE_SIGN_MESSAGE | TESSERA_USAGE_VERIFY_MESSAGE |
	                      TESSERA_USAGE_SIGN_HASH | TESSERA_USAGE_VERIFY_HASH);
	assert_listed(alice, "rsa-sign", "rsa", 2048, "rsa-pkcs1-sha256",
	              TESSERA_USAGE_SIGN_MESSAGE | TESSERA_USAGE_VERIFY_MESSAGE |
	                      TESSERA_USAGE_SIGN_HASH | TESSERA_USAGE_VERIFY_HASH);
	assert_listed(alice, "rsa-enc", "rsa", 2048, "rsa-oaep-sha256",
	              TESSERA_USAGE_ENCRYPT | TESSERA_USAGE_DECRYPT);
	assert_listed(alice, "aes", "aes", 256, NULL, TESSERA_USAGE_ENCRYPT);
	assert_listed(bob, "aes128", "aes", 128, "aes-gcm", TESSERA_USAGE_ENCRYPT);
	assert_listed(bob, "alice-ec-pub", "ecc-public", 256, NULL,
	              TESSERA_USAGE_VERIFY_MESSAGE | TESSERA_USAGE_VERIFY_HASH);
	assert_listed(bob, "alice-rsa-pub", "rsa-public", 2048, NULL, TESSERA_USAGE_ENCRYPT);
	assert_listed(ptool, "pt-rsa", "rsa", 2048, "rsa-pkcs1",
	              TESSERA_USAGE_ENCRYPT | TESSERA_USAGE_DECRYPT);

	assert_signs(alice, "ec-p256", "ecdsa-sha256", ec_key);
	assert_signs(alice, "rsa-sign", "rsa-pkcs1-sha256", rsa_key);
	ct_len = rsa_encrypt(rsa_key, 1, "to alice", ct, sizeof(ct));
	cr_assert_eq(tessera_asymmetric_decrypt(alice, 1, "rsa-enc", "rsa-oaep-sha256", ct, ct_len,
	                                        NULL, 0, &got, &got_len),
	             TESSERA_OK);
	cr_assert(got_len == 8 && memcmp(got, "to alice", 8) == 0, "OAEP decrypts");
	free(got);
	ct_len = rsa_encrypt(rsa_key, 0, "to parsec-tool", ct, sizeof(ct));
	cr_assert_eq(tessera_asymmetric_decrypt(ptool, 1, "pt-rsa", "rsa-pkcs1", ct, ct_len, NULL,
	                                        0, &got, &got_len),
	             TESSERA_OK);
	cr_assert(got_len == 14 && memcmp(got, "to parsec-tool", 14) == 0, "PKCS#1 decrypts");
	free(got);

	/* bob's AES-128 key encrypts as the original key does (AES-GCM, the
	 * ciphertext and tag); decrypt was not in its policy. */
	gcm = EVP_CIPHER_CTX_new();
	cr_assert_eq(EVP_EncryptInit_ex(gcm, EVP_aes_128_gcm(), NULL, aes_key, nonce), 1);
	cr_assert_eq(EVP_EncryptUpdate(gcm, NULL, &want_len, (const uint8_t *)"ad", 2), 1);
	cr_assert_eq(EVP_EncryptUpdate(gcm, want, &want_len, (const uint8_t *)"aead", 4), 1);
	cr_assert_eq(EVP_EncryptFinal_ex(gcm, want + want_len, &fin), 1);
	cr_assert_eq(EVP_CIPHER_CTX_ctrl(gcm, EVP_CTRL_GCM_GET_TAG, 16, want + want_len + fin), 1);
	EVP_CIPHER_CTX_free(gcm);
	cr_assert_eq(tessera_aead_encrypt(bob, 1, "aes128", "aes-gcm", nonce, sizeof(nonce),
	                                  (const uint8_t *)"ad", 2, (const uint8_t *)"aead", 4,
	                                  &got, &got_len),
	             TESSERA_OK);
	cr_assert_eq(got_len, 4 + 16);
	cr_assert_arr_eq(got, want, got_len, "the AES key is the one Parsec had");
	free(got);
	cr_assert_neq(tessera_aead_decrypt(bob, 1, "aes128", "aes-gcm", nonce, sizeof(nonce),
	                                   (const uint8_t *)"ad", 2, want, 20, &got, &got_len),
	              TESSERA_OK, "encrypt-only, as in Parsec");
	tessera_close(alice);
	tessera_close(bob);
	tessera_close(ptool);
}
