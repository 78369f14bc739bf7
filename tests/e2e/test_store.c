/*
 * The key store against a careless operator and a damaged disk (issue 11):
 * per-tenant quotas, the key-encryption key's place and rotation, a damaged
 * file refused at start, a damaged record reported once. The real tesserad
 * on real SQLite files.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sqlite3.h>

#include "client/tessera.h"
#include "harness.h"

#define TESSERAD TESSERA_BUILD_DIR "/daemon/tesserad"

#define STORE_CONFIG                                                                  \
	"{\"core\": {\"allow_root\": true, \"log_level\": \"debug\"},"                \
	" \"listener\": {\"socket_path\": \"%1$s\", \"timeout_ms\": 1000},"           \
	" \"authenticators\": [{\"type\": \"Direct\"}],"                              \
	" \"quotas\": {\"max_keys_per_tenant\": 3, \"max_key_bytes_per_tenant\": 0}," \
	" \"providers\": [{\"type\": \"Software\"}]}"

static struct td d;

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
	td_start(&d, STORE_CONFIG);
}

static void teardown(void)
{
	bool running = d.pid > 0;
	int rc = td_stop(&d);

	if (running)
		cr_assert_eq(rc, 0);
}

TestSuite(store, .init = setup, .fini = teardown, .timeout = 120);

static const struct tessera_key_spec p256 = {.type = "ecc",
                                             .bits = 256,
                                             .alg = "ecdsa-sha256",
                                             .usage = TESSERA_USAGE_SIGN_HASH |
                                                      TESSERA_USAGE_VERIFY_HASH};

static int sign(struct tessera_client *cl, const char *name)
{
	uint8_t h[32] = {7}, *sig = NULL;
	size_t len = 0;
	int rc = tessera_sign_hash(cl, 1, name, "ecdsa-sha256", h, sizeof(h), &sig, &len);

	free(sig);
	return rc;
}

static size_t count_keys(struct tessera_client *cl)
{
	struct tessera_key_info *keys = NULL;
	size_t n = 0;

	cr_assert_eq(tessera_list_keys(cl, &keys, &n), TESSERA_OK);
	tessera_key_info_free(keys, n);
	return n;
}

/* Run tesserad on d's files with extra arguments; its exit status, and
 * what it printed in out. */
static int run_tesserad(const char *extra, char *out, size_t outsize)
{
	char cmd[1024];
	size_t got;
	FILE *p;
	int status;

	snprintf(cmd, sizeof(cmd),
	         "timeout 60 %s --config %s --socket %s/other.sock --state-dir %s %s 2>&1",
	         TESSERAD, d.cfg, d.dir, d.dir, extra);
	p = popen(cmd, "r");
	cr_assert_not_null(p);
	got = fread(out, 1, outsize - 1, p);
	out[got] = '\0';
	status = pclose(p);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

/* ---- finding 4: quotas ---- */

Test(store, a_tenant_past_its_key_quota_gets_insufficient_storage_and_others_do_not)
{
	struct tessera_client *alice = client_as("alice"), *bob = client_as("bob");

	for (int i = 0; i < 3; i++) {
		char name[8];

		snprintf(name, sizeof(name), "k%d", i);
		cr_assert_eq(tessera_generate_key(alice, 1, name, &p256), TESSERA_OK);
	}
	cr_assert_eq(tessera_generate_key(alice, 1, "k3", &p256), 1142, "InsufficientStorage");
	cr_assert_eq(tessera_import_key(alice, 1, "k3", &p256, (const uint8_t *)"x", 1), 1142);
	cr_assert_eq(count_keys(alice), 3, "nothing half-made stays");
	cr_assert_eq(tessera_generate_key(bob, 1, "k0", &p256), TESSERA_OK, "a quota per tenant");
	/* Finding 7: the Direct authenticator is called out in the log. */
	cr_assert_eq(td_log_count(&d, "Direct is enabled: it trusts the application name"), 1);
	/* Room again after a destroy. */
	cr_assert_eq(tessera_destroy_key(alice, 1, "k0"), TESSERA_OK);
	cr_assert_eq(tessera_generate_key(alice, 1, "k3", &p256), TESSERA_OK);
	cr_assert_eq(sign(alice, "k3"), TESSERA_OK);
	tessera_close(alice);
	tessera_close(bob);
}

#define BYTES_CONFIG                                                                     \
	"{\"core\": {\"allow_root\": true},"                                             \
	" \"listener\": {\"socket_path\": \"%1$s\", \"timeout_ms\": 1000},"              \
	" \"authenticators\": [{\"type\": \"Direct\"}],"                                 \
	" \"quotas\": {\"max_keys_per_tenant\": 0, \"max_key_bytes_per_tenant\": 4096}," \
	" \"providers\": [{\"type\": \"Software\"}]}"

Test(store, a_tenant_past_its_byte_quota_gets_insufficient_storage)
{
	struct tessera_client *alice;
	char name[256];
	int made = 0, rc = TESSERA_OK;

	cr_assert_eq(td_stop(&d), 0);
	td_start(&d, BYTES_CONFIG);
	alice = client_as("alice");
	/* Long names: 4096 bytes hold a handful of such keys, not 100. */
	memset(name, 'n', 250);
	name[250] = '\0';
	for (int i = 0; i < 100 && rc == TESSERA_OK; i++) {
		name[0] = (char)('A' + i % 26);
		name[1] = (char)('A' + i / 26);
		rc = tessera_generate_key(alice, 1, name, &p256);
		if (rc == TESSERA_OK)
			made++;
	}
	cr_assert_eq(rc, 1142, "InsufficientStorage");
	cr_assert_gt(made, 3, "the byte quota, not the count quota, stopped it");
	cr_assert_lt(made, 20);
	cr_assert_eq(count_keys(alice), (size_t)made);
	tessera_close(alice);
}

/* ---- finding 3: the key-encryption key ---- */

Test(store, the_kek_is_outside_the_store_directory_and_refused_when_others_can_read_it)
{
	struct tessera_client *alice = client_as("alice");
	char out[4096];
	struct stat sb;

	cr_assert_eq(tessera_generate_key(alice, 1, "k", &p256), TESSERA_OK);
	tessera_close(alice);
	cr_assert_eq(stat(d.kek, &sb), 0, "the key is where --kek-file says");
	cr_assert_eq(sb.st_mode & 0777, 0600);
	cr_assert_eq(td_halt(&d, SIGTERM), 0);
	cr_assert_eq(chmod(d.kek, 0644), 0);
	cr_assert_eq(run_tesserad(strcat(strcpy(out, "--kek-file "), d.kek), out, sizeof(out)), 1);
	cr_assert(strstr(out, "open to other users") != NULL, "%s", out);
	/* A missing key is not made anew for a store with records. */
	cr_assert_eq(chmod(d.kek, 0600), 0);
	cr_assert_eq(run_tesserad("--kek-file /tmp/tessera-no-such-dir/kek", out, sizeof(out)), 1);
	cr_assert(strstr(out, "is missing") != NULL, "%s", out);
	cr_assert_neq(access("/tmp/tessera-no-such-dir", F_OK), 0, "nothing was written");
	td_resume(&d);
	alice = client_as("alice");
	cr_assert_eq(sign(alice, "k"), TESSERA_OK);
	tessera_close(alice);
}

Test(store, rekey_moves_every_key_to_a_new_kek_and_the_old_one_no_longer_opens_the_store)
{
	struct tessera_client *alice = client_as("alice"), *bob = client_as("bob");
	char out[4096], args[512], fresh[200], old_kek[128];

	cr_assert_eq(tessera_generate_key(alice, 1, "a", &p256), TESSERA_OK);
	cr_assert_eq(tessera_generate_key(bob, 1, "b", &p256), TESSERA_OK);
	tessera_close(alice);
	tessera_close(bob);
	cr_assert_eq(td_halt(&d, SIGTERM), 0);
	snprintf(fresh, sizeof(fresh), "%s/secrets/new.kek", d.dir);
	snprintf(args, sizeof(args), "--kek-file %s --rekey %s", d.kek, fresh);
	cr_assert_eq(run_tesserad(args, out, sizeof(out)), 0, "%s", out);
	cr_assert(strstr(out, "re-sealed 2 records") != NULL, "%s", out);
	cr_assert(strstr(out, "systemd-creds encrypt") != NULL, "%s", out);
	/* The old key no longer opens the store. */
	snprintf(args, sizeof(args), "--kek-file %s", d.kek);
	cr_assert_eq(run_tesserad(args, out, sizeof(out)), 1);
	cr_assert(strstr(out, "does not match") != NULL, "%s", out);
	/* Installed as the message says: both tenants' keys work. */
	snprintf(old_kek, sizeof(old_kek), "%s", d.kek);
	cr_assert_eq(rename(fresh, old_kek), 0);
	td_resume(&d);
	alice = client_as("alice");
	bob = client_as("bob");
	cr_assert_eq(sign(alice, "a"), TESSERA_OK);
	cr_assert_eq(sign(bob, "b"), TESSERA_OK);
	tessera_close(alice);
	tessera_close(bob);
}

Test(store, a_running_daemon_cannot_be_rekeyed_under_it)
{
	char out[4096], args[512];

	snprintf(args, sizeof(args), "--kek-file %s --rekey %s/secrets/new.kek", d.kek, d.dir);
	cr_assert_eq(run_tesserad(args, out, sizeof(out)), 1);
	cr_assert(strstr(out, "in use by process") != NULL, "%s", out);
}

/* ---- finding 8: damage ---- */

static void sql(const char *statement)
{
	char db[200];
	sqlite3 *h;

	snprintf(db, sizeof(db), "%s/keystore.sqlite3", d.dir);
	cr_assert_eq(sqlite3_open(db, &h), SQLITE_OK);
	cr_assert_eq(sqlite3_exec(h, statement, NULL, NULL, NULL), SQLITE_OK, "%s",
	             sqlite3_errmsg(h));
	sqlite3_close(h);
}

Test(store, a_record_that_does_not_open_is_reported_once_and_the_rest_works)
{
	struct tessera_client *alice = client_as("alice");

	cr_assert_eq(tessera_generate_key(alice, 1, "bad", &p256), TESSERA_OK);
	cr_assert_eq(tessera_generate_key(alice, 1, "good", &p256), TESSERA_OK);
	tessera_close(alice);
	cr_assert_eq(td_halt(&d, SIGTERM), 0);
	sql("UPDATE keys SET material = zeroblob(80) WHERE name = 'bad'");
	td_resume(&d);
	alice = client_as("alice");
	cr_assert_eq(sign(alice, "bad"), 1151, "CorruptionDetected");
	cr_assert_eq(sign(alice, "bad"), 1151);
	cr_assert_eq(sign(alice, "good"), TESSERA_OK);
	cr_assert_eq(count_keys(alice), 2, "ListKeys works");
	cr_assert_eq(tessera_generate_key(alice, 1, "new", &p256), TESSERA_OK);
	tessera_close(alice);
	cr_assert_eq(td_log_count(&d, "\"bad\" of tenant (auth type 1, \"alice\")"), 1,
	             "reported once, with its identity");
	cr_assert_eq(td_log_count(&d, "does not open"), 1);
}

Test(store, a_damaged_store_is_refused_at_start_with_the_recovery_command)
{
	struct tessera_client *alice = client_as("alice");
	char db[200], out[4096], args[256];
	uint8_t junk[300];
	FILE *f;

	for (int i = 0; i < 3; i++) {
		char name[8];

		snprintf(name, sizeof(name), "k%d", i);
		cr_assert_eq(tessera_generate_key(alice, 1, name, &p256), TESSERA_OK);
	}
	tessera_close(alice);
	cr_assert_eq(td_halt(&d, SIGTERM), 0);
	/* 300 bytes over the keys table's page, where its b-tree header and
	 * cell pointers are (page 3 in a new store: 1 is the schema, 2 the
	 * meta table). */
	snprintf(db, sizeof(db), "%s/keystore.sqlite3", d.dir);
	memset(junk, 0xa5, sizeof(junk));
	f = fopen(db, "r+b");
	cr_assert_not_null(f);
	cr_assert_eq(fseek(f, 2 * 4096, SEEK_SET), 0);
	cr_assert_eq(fwrite(junk, 1, sizeof(junk), f), sizeof(junk));
	fclose(f);
	snprintf(args, sizeof(args), "--kek-file %s", d.kek);
	cr_assert_eq(run_tesserad(args, out, sizeof(out)), 1, "%s", out);
	cr_assert(strstr(out, "damaged") != NULL && strstr(out, ".recover") != NULL, "%s", out);
	/* Nothing to stop: td_stop finds no daemon and removes the files. */
}
