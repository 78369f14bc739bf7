/*
 * e2e: keys that live on a PKCS#11 token before Tessera knows them, on a
 * SoftHSM2 token of the test's own: a Parsec PKCS#11 installation (4-byte
 * big-endian CKA_IDs, no labels, a SQLite key info store) migrated by
 * tessera-migrate, and keys an administrator made with pkcs11-tool adopted
 * into a tenant with tessera-migrate --adopt-pkcs11. Signatures are checked
 * by OpenSSL on the public key read from the token with pkcs11-tool.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <sqlite3.h>

#include "client/tessera.h"
#include "harness.h"
#include "p11-common.h"

#define MIGRATE     TESSERA_BUILD_DIR "/migrate/tessera-migrate"
#define P11         2
#define UUID_PKCS11 "30e39502-eba6-4d60-a4af-c518b7f5e38f"

static struct td d;
static char hsm[64], state[128], kek[128], cfg[128], kim[128];
static char tmpl[4096], out[16384];

static const char *config_text(const char *sock)
{
	snprintf(tmpl, sizeof(tmpl),
	         "{\"core\": {\"allow_root\": true, \"log_level\": \"debug\"},"
	         " \"listener\": {\"socket_path\": \"%s\", \"timeout_ms\": 5000},"
	         " \"authenticators\": [{\"type\": \"Direct\"}],"
	         " \"providers\": [{\"type\": \"Software\"},"
	         " {\"type\": \"Pkcs11\", \"name\": \"hsm\", \"library_path\": \"%s\","
	         " \"token_label\": \"" P11T_LABEL "\", \"user_pin_file\": \"%s/pin\"}]}",
	         sock, p11t_softhsm_module(), hsm);
	return tmpl;
}

static void setup(void)
{
	p11t_make_token(hsm);
	snprintf(state, sizeof(state), "%s/state", hsm);
	snprintf(kek, sizeof(kek), "%s/state.kek", hsm);
	snprintf(cfg, sizeof(cfg), "%s/tesserad.json", hsm);
	snprintf(kim, sizeof(kim), "%s/sqlite-key-info-manager.sqlite3", hsm);
	cr_assert_eq(mkdir(state, 0700), 0);
	p11t_write_file(cfg, config_text("/nonexistent/unused.sock"), 0600);
}

static void teardown(void)
{
	char cmd[128];

	if (d.pid > 0)
		td_stop(&d);
	d.pid = 0;
	if (hsm[0] != '\0') {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", hsm);
		(void)system(cmd);
		hsm[0] = '\0';
	}
}

TestSuite(p11adopt, .init = setup, .fini = teardown, .timeout = 600);

/* ---- running things ---- */

static int run(const char *cmd)
{
	size_t got;
	FILE *p = popen(cmd, "r");
	int status;

	cr_assert_not_null(p);
	got = fread(out, 1, sizeof(out) - 1, p);
	out[got] = '\0';
	status = pclose(p);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

/* pkcs11-tool (opensc) on the test's token, logged in. */
static void p11tool(const char *args)
{
	char cmd[1024];

	snprintf(cmd, sizeof(cmd),
	         "pkcs11-tool --module %s --token-label '" P11T_LABEL "' --login --pin " P11T_PIN
	         " %s 2>&1",
	         p11t_softhsm_module(), args);
	cr_assert_eq(run(cmd), 0, "pkcs11-tool %s: %s", args, out);
}

static void keypair(const char *id_hex, const char *label)
{
	char args[256];

	snprintf(args, sizeof(args),
	         "--keypairgen --key-type EC:prime256v1 --usage-sign --id %s%s%s%s", id_hex,
	         label != NULL ? " --label '" : "", label != NULL ? label : "",
	         label != NULL ? "'" : "");
	p11tool(args);
}

/* The public key object with that CKA_ID, as the token gives it. */
static EVP_PKEY *token_public(const char *id_hex)
{
	char args[256], path[160];
	uint8_t der[512];
	const uint8_t *q = der;
	EVP_PKEY *pk;
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/pub-%s.der", hsm, id_hex);
	snprintf(args, sizeof(args), "--read-object --type pubkey --id %s -o %s", id_hex, path);
	p11tool(args);
	f = fopen(path, "rb");
	cr_assert_not_null(f);
	n = fread(der, 1, sizeof(der), f);
	fclose(f);
	pk = d2i_PUBKEY(NULL, &q, (long)n);
	cr_assert_not_null(pk, "the token's public key %s does not parse", id_hex);
	return pk;
}

/* tessera-migrate on the test's configuration and key store. */
static int migrate(const char *args)
{
	char cmd[2048];

	snprintf(cmd, sizeof(cmd), "timeout 300 %s %s --config %s --state-dir %s %s 2>&1",
	         td_under_valgrind() ? "valgrind --quiet --error-exitcode=99 --leak-check=full "
	                               "--errors-for-leak-kinds=definite,indirect "
	                               "--track-origins=yes"
	                             : "",
	         MIGRATE, cfg, state, args);
	return run(cmd);
}

#define assert_out(needle) cr_assert_not_null(strstr(out, needle), "no '%s' in:\n%s", needle, out)

static void start_daemon(void)
{
	static const char *extra[5];

	extra[0] = "--state-dir";
	extra[1] = state;
	extra[2] = "--kek-file";
	extra[3] = kek;
	extra[4] = NULL;
	td_start_args(&d, config_text("%1$s"), extra);
}

static struct tessera_client *client(const char *app)
{
	struct tessera_options o;
	struct tessera_client *cl;
	char ep[160];

	tessera_options_init(&o);
	snprintf(ep, sizeof(ep), "unix:%s", d.sock);
	o.endpoint = ep;
	o.auth_type = TESSERA_AUTH_DIRECT;
	o.app_name = app;
	o.timeout_ms = td_scale(60000);
	cr_assert_eq(tessera_open(&o, &cl), TESSERA_OK);
	return cl;
}

/* A signature by the tenant's key that OpenSSL accepts with pk. */
static void signs_for(struct tessera_client *cl, const char *name, EVP_PKEY *pk)
{
	uint8_t h[32], *sig = NULL;
	size_t len = 0;

	SHA256((const uint8_t *)name, strlen(name), h);
	cr_assert_eq(tessera_sign_hash(cl, P11, name, "ecdsa-sha256", h, 32, &sig, &len),
	             TESSERA_OK, "%s", name);
	cr_assert_eq(len, 64);
	cr_assert(p11t_verify_ecdsa(pk, h, 32, sig, len), "%s: OpenSSL rejects it", name);
	h[0] ^= 1;
	cr_assert(!p11t_verify_ecdsa(pk, h, 32, sig, len));
	free(sig);
}

/* ---- a Parsec PKCS#11 installation, written as Parsec leaves it ---- */

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* Parsec's bincode Attributes: Persistent, the type (ECC pair SECP-R1
 * P-256 or RSA pair 2048), sign/verify hash and message, one algorithm
 * (ECDSA or RSA PKCS#1 v1.5 sign, with SHA-256). */
enum kind { EC_PAIR, RSA_PAIR, EC_PUBLIC };

static size_t parsec_attrs(uint8_t *b, enum kind k)
{
	bool rsa = k == RSA_PAIR;
	size_t n = 0;

	put32(b + n, 1); /* Persistent */
	n += 4;
	put32(b + n, rsa              ? 9
	             : k == EC_PUBLIC ? 11
	                              : 10); /* RsaKeyPair / EccPublicKey / EccKeyPair */
	n += 4;
	if (!rsa) {
		put32(b + n, 1); /* SecpR1 */
		n += 4;
	}
	put32(b + n, rsa ? 2048 : 256); /* bits, u64 */
	put32(b + n + 4, 0);
	n += 8;
	/* export copy cache encrypt decrypt sign_message verify_message
	 * sign_hash verify_hash derive */
	memcpy(b + n, k == EC_PUBLIC ? "\0\0\0\0\0\0\1\0\1\0" : "\0\0\0\0\0\1\1\1\1\0", 10);
	n += 10;
	put32(b + n, 5);               /* AsymmetricSignature */
	put32(b + n + 4, rsa ? 0 : 3); /* RsaPkcs1v15Sign / Ecdsa */
	put32(b + n + 8, 0);           /* SignHash::Specific */
	put32(b + n + 12, 6);          /* Hash::Sha256 */
	return n + 16;
}

static void sql(sqlite3 *db, const char *s)
{
	char *msg = NULL;

	cr_assert_eq(sqlite3_exec(db, s, NULL, NULL, &msg), SQLITE_OK, "%s: %s", s, msg);
}

static void kim_row(sqlite3 *db, const char *app, const char *name, uint32_t key_id, enum kind k)
{
	sqlite3_stmt *st;
	uint8_t idb[4], blob[64];
	size_t blen = parsec_attrs(blob, k);

	put32(idb, key_id); /* bincode u32: little-endian */
	cr_assert_eq(sqlite3_prepare_v2(db,
	                                "INSERT INTO key_mapping VALUES (1, ?1, ?2, ?3, "
	                                "'pkcs11-provider', ?4, 1, ?5, 1)",
	                                -1, &st, NULL),
	             SQLITE_OK);
	sqlite3_bind_text(st, 1, app, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, UUID_PKCS11, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 4, idb, 4, SQLITE_STATIC);
	sqlite3_bind_blob(st, 5, blob, (int)blen, SQLITE_STATIC);
	cr_assert_eq(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
}

static void write_kim(void)
{
	sqlite3 *db;

	cr_assert_eq(sqlite3_open(kim, &db), SQLITE_OK);
	sql(db, "CREATE TABLE kim_metadata (id TEXT NOT NULL, int_value INTEGER NOT NULL, "
	        "PRIMARY KEY (id))");
	sql(db, "INSERT INTO kim_metadata VALUES ('schema_version', 1)");
	sql(db, "CREATE TABLE key_mapping (authenticator_id INTEGER NOT NULL, application_name "
	        "TEXT NOT NULL, key_name TEXT NOT NULL, provider_uuid TEXT NOT NULL, "
	        "provider_name TEXT NOT NULL, key_id BLOB NOT NULL, key_id_version INTEGER NOT "
	        "NULL, key_attributes BLOB NOT NULL, key_attributes_version INTEGER NOT NULL, "
	        "PRIMARY KEY (authenticator_id, application_name, key_name))");
	kim_row(db, "alice", "parsec-ec", 42, EC_PAIR);   /* CKA_ID 0000002a: there */
	kim_row(db, "alice", "gone", 99, EC_PAIR);        /* CKA_ID 00000063: no object */
	kim_row(db, "alice", "wrong-type", 43, RSA_PAIR); /* CKA_ID 0000002b: EC, not RSA */
	kim_row(db, "alice", "parsec-rsa", 7, RSA_PAIR);
	kim_row(db, "alice", "parsec-pub", 9, EC_PUBLIC);
	        /* CKA_ID 00000009: public only */ /* CKA_ID 00000007 */
	sqlite3_close(db);
}

/* ---- the tests ---- */

Test(p11adopt, parsec_pkcs11_keys_migrate_and_sign_missing_or_mismatched_ones_fail)
{
	char args[256], before[16384];
	struct tessera_client *alice, *bob;
	EVP_PKEY *pk;
	EVP_PKEY_CTX *pc;
	EVP_PKEY *peer;
	char path[160];
	FILE *f;
	uint8_t h[48] = {0}, *sig = NULL;
	size_t len = 0;

	/* As Parsec's provider makes them: the u32 big-endian, no label. */
	keypair("0000002a", NULL);
	keypair("0000002b", NULL);
	p11tool("--keypairgen --key-type rsa:2048 --usage-sign --id 00000007");
	/* An imported public key: Parsec makes one public object. */
	peer = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	cr_assert_not_null(peer);
	snprintf(path, sizeof(path), "%s/peer.der", hsm);
	f = fopen(path, "wb");
	cr_assert_not_null(f);
	cr_assert_eq(i2d_PUBKEY_fp(f, peer), 1);
	fclose(f);
	snprintf(args, sizeof(args), "--write-object %s --type pubkey --id 00000009 --usage-sign",
	         path);
	p11tool(args);
	write_kim();
	p11tool("-O");
	snprintf(before, sizeof(before), "%s", out);

	snprintf(args, sizeof(args), "--sqlite %s", kim);
	cr_assert_eq(migrate(args), 1, "%s", out); /* a dry run that reports failures */
	assert_out("import   Direct \"alice\" key \"parsec-ec\": ECC key pair SECP_R1, 256 bits "
	           "(PKCS#11 CKA_ID 0000002a, instance \"hsm\")");
	assert_out("fail     Direct \"alice\" key \"gone\": PKCS#11 key (CKA_ID 00000063) on "
	           "instance \"hsm\": no key object has this CKA_ID");
	assert_out("fail     Direct \"alice\" key \"wrong-type\": PKCS#11 key (CKA_ID 0000002b): "
	           "the token holds a ECC key pair SECP_R1 of 256 bits, the mapping records a "
	           "RSA key pair of 2048 bits");
	assert_out("import   Direct \"alice\" key \"parsec-rsa\": RSA key pair, 2048 bits "
	           "(PKCS#11 CKA_ID 00000007");
	assert_out(
	        "import   Direct \"alice\" key \"parsec-pub\": ECC public key SECP_R1, 256 bits");
	assert_out("would import 3, already present 0, skipped 0, failed 2");

	snprintf(args, sizeof(args), "--sqlite %s --apply", kim);
	cr_assert_eq(migrate(args), 1, "%s", out);
	assert_out("imported 3, already present 0, skipped 0, failed 2");
	cr_assert_eq(migrate(args), 1, "%s", out);
	assert_out("present  Direct \"alice\" key \"parsec-ec\"");
	assert_out("imported 0, already present 3, skipped 0, failed 2");
	/* The token's objects are as they were (no label set, none made). */
	p11tool("-O");
	cr_assert_str_eq(out, before);

	start_daemon();
	alice = client("alice");
	bob = client("bob");
	pk = token_public("0000002a");
	signs_for(alice, "parsec-ec", pk);
	cr_assert_eq(tessera_sign_hash(bob, P11, "parsec-ec", "ecdsa-sha256", h, 32, &sig, &len),
	             1140);
	/* Parsec's policy came along: another algorithm is refused. */
	cr_assert_neq(tessera_sign_hash(alice, P11, "parsec-ec", "ecdsa-sha384", h, 48, &sig, &len),
	              TESSERA_OK);
	EVP_PKEY_free(pk);
	/* The RSA key signs PKCS#1 v1.5 SHA-256, as Parsec's policy says. */
	pk = token_public("00000007");
	SHA256((const uint8_t *)"rsa", 3, h);
	cr_assert_eq(
	        tessera_sign_hash(alice, P11, "parsec-rsa", "rsa-pkcs1-sha256", h, 32, &sig, &len),
	        TESSERA_OK);
	pc = EVP_PKEY_CTX_new(pk, NULL);
	cr_assert_eq(EVP_PKEY_verify_init(pc), 1);
	cr_assert_eq(EVP_PKEY_CTX_set_signature_md(pc, EVP_sha256()), 1);
	cr_assert_eq(EVP_PKEY_verify(pc, sig, len, h, 32), 1, "OpenSSL rejects it");
	EVP_PKEY_CTX_free(pc);
	free(sig);
	EVP_PKEY_free(pk);
	/* The public key verifies what its private half (OpenSSL's) signed. */
	{
		uint8_t der[128], rs[64] = {0};
		const uint8_t *q = der;
		size_t dlen = sizeof(der);
		ECDSA_SIG *es;
		const BIGNUM *r, *sv;

		SHA256((const uint8_t *)"pub", 3, h);
		pc = EVP_PKEY_CTX_new(peer, NULL);
		cr_assert_eq(EVP_PKEY_sign_init(pc), 1);
		cr_assert_eq(EVP_PKEY_sign(pc, der, &dlen, h, 32), 1);
		EVP_PKEY_CTX_free(pc);
		es = d2i_ECDSA_SIG(NULL, &q, (long)dlen);
		cr_assert_not_null(es);
		ECDSA_SIG_get0(es, &r, &sv);
		BN_bn2binpad(r, rs, 32);
		BN_bn2binpad(sv, rs + 32, 32);
		ECDSA_SIG_free(es);
		cr_assert_eq(tessera_verify_hash(alice, P11, "parsec-pub", "ecdsa-sha256", h, 32,
		                                 rs, 64),
		             TESSERA_OK);
		rs[5] ^= 1;
		cr_assert_neq(tessera_verify_hash(alice, P11, "parsec-pub", "ecdsa-sha256", h, 32,
		                                  rs, 64),
		              TESSERA_OK);
	}
	EVP_PKEY_free(peer);
	tessera_close(alice);
	tessera_close(bob);
}

Test(p11adopt, administrator_keys_adopted_by_label_and_by_cka_id_sign_for_their_tenant_only)
{
	struct tessera_client *alice, *bob;
	EVP_PKEY *by_label, *by_id;
	uint8_t h[32] = {0}, *sig = NULL;
	size_t len = 0;
	static const struct tessera_key_spec p256 = {.type = "ecc",
	                                             .bits = 256,
	                                             .alg = "ecdsa-sha256",
	                                             .usage = TESSERA_USAGE_SIGN_HASH |
	                                                      TESSERA_USAGE_VERIFY_HASH};

	keypair("0a0b0c0d", "admin-ec");
	keypair("0102", NULL);

	cr_assert_eq(migrate("--adopt-pkcs11 --tenant Direct:alice --key-name by-label --label "
	                     "admin-ec --alg ecdsa-sha256"),
	             0, "%s", out);
	assert_out("Direct \"alice\" key \"by-label\" on PKCS#11 instance \"hsm\": adopted ECC "
	           "key pair SECP_R1, 256 bits, CKA_ID 0a0b0c0d, usage 0x3c00");
	cr_assert_eq(migrate("--adopt-pkcs11 --tenant Direct:alice --key-name by-id --cka-id "
	                     "01:02 --alg ecdsa-sha256 --pkcs11-instance hsm"),
	             0, "%s", out);
	assert_out("adopted ECC key pair SECP_R1, 256 bits, CKA_ID 0102");
	/* Again: the same record is there already. */
	cr_assert_eq(migrate("--adopt-pkcs11 --tenant Direct:alice --key-name by-id --cka-id "
	                     "0102 --alg ecdsa-sha256"),
	             0, "%s", out);
	assert_out("already adopted:");
	/* The name taken by another key is not overwritten. */
	cr_assert_eq(migrate("--adopt-pkcs11 --tenant Direct:alice --key-name by-id --label "
	                     "admin-ec --alg ecdsa-sha256"),
	             1, "%s", out);
	assert_out("a different Tessera key of that name exists");
	/* An algorithm for another key type is refused. */
	cr_assert_eq(migrate("--adopt-pkcs11 --tenant Direct:alice --key-name rsa --cka-id 0102 "
	                     "--alg rsa-pkcs1-sha256"),
	             1, "%s", out);
	assert_out("does not fit the key, a ECC key pair SECP_R1");
	/* Objects another key of the store holds are not adopted again. */
	cr_assert_eq(migrate("--adopt-pkcs11 --tenant Direct:bob --key-name mine --cka-id 0102 "
	                     "--alg ecdsa-sha256"),
	             1, "%s", out);
	assert_out("the token's objects are already Tessera key \"by-id\" of tenant 1:\"alice\"");
	cr_assert_eq(migrate("--adopt-pkcs11 --tenant Direct:alice --key-name x --cka-id 0103 "
	                     "--alg ecdsa-sha256"),
	             1, "%s", out);
	assert_out("no key object has this CKA_ID");

	start_daemon();
	alice = client("alice");
	bob = client("bob");
	by_label = token_public("0a0b0c0d");
	by_id = token_public("0102");
	signs_for(alice, "by-label", by_label);
	signs_for(alice, "by-id", by_id);
	cr_assert_eq(tessera_sign_hash(bob, P11, "by-label", "ecdsa-sha256", h, 32, &sig, &len),
	             1140);
	cr_assert_eq(tessera_sign_hash(bob, P11, "by-id", "ecdsa-sha256", h, 32, &sig, &len), 1140);
	/* The provider's own keys (16-byte CKA_IDs) work next to them. */
	cr_assert_eq(tessera_generate_key(alice, P11, "own", &p256), TESSERA_OK);
	cr_assert_eq(tessera_sign_hash(alice, P11, "own", "ecdsa-sha256", h, 32, &sig, &len),
	             TESSERA_OK);
	free(sig);
	cr_assert_eq(tessera_destroy_key(alice, P11, "own"), TESSERA_OK);
	/* Destroying an adopted key destroys its objects. */
	cr_assert_eq(tessera_destroy_key(alice, P11, "by-id"), TESSERA_OK);
	p11tool("-O");
	cr_assert_null(strstr(out, "ID:         0102"), "%s", out);
	EVP_PKEY_free(by_label);
	EVP_PKEY_free(by_id);
	tessera_close(alice);
	tessera_close(bob);
}

Test(p11adopt, an_ambiguous_label_is_refused)
{
	keypair("01", "twin");
	keypair("02", "twin");
	cr_assert_eq(migrate("--adopt-pkcs11 --tenant Direct:alice --key-name k --label twin "
	                     "--alg ecdsa-sha256"),
	             1, "%s", out);
	assert_out("ambiguous");
	cr_assert_eq(migrate("--adopt-pkcs11 --tenant Direct:alice --key-name k --label nobody "
	                     "--alg ecdsa-sha256"),
	             1, "%s", out);
	assert_out("no key object has this label");
	/* Nothing was recorded: the label names one key once a twin is gone. */
	p11tool("--delete-object --type privkey --id 02");
	p11tool("--delete-object --type pubkey --id 02");
	cr_assert_eq(migrate("--adopt-pkcs11 --tenant Direct:alice --key-name k --label twin "
	                     "--alg ecdsa-sha256"),
	             0, "%s", out);
	assert_out("CKA_ID 01,");
}
