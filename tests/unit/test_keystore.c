/* The key store on real SQLite files in a temporary directory. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "keystore/keystore.h"

static char dir[64], db[128], kek[128], err[512];
static struct ks *ks;

static void setup(void)
{
	strcpy(dir, "/tmp/tsks.XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(db, sizeof(db), "%s/keys.sqlite3", dir);
	snprintf(kek, sizeof(kek), "%s/kek", dir);
	unsetenv("CREDENTIALS_DIRECTORY");
	cr_assert_eq(ks_open(db, kek, &ks, err, sizeof(err)), TS_OK, "%s", err);
}

static void teardown(void)
{
	char cmd[128];

	ks_close(ks);
	ks = NULL;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(keystore, .init = setup, .fini = teardown);

static const struct ks_key_id alice_k1 = {.auth_type = 1, .app = "alice", .name = "k1"};
static const uint8_t attrs[] = {0x0a, 0x02, 0x5a, 0x00};
static const uint8_t secret[] = "0123456789abcdef-THE-SECRET-KEY-BYTES";

static void create(const struct ks_key_id *id, uint8_t provider)
{
	cr_assert_eq(ks_reserve(ks, id, provider, attrs, sizeof(attrs)), TS_OK);
	cr_assert_eq(ks_commit(ks, id, attrs, sizeof(attrs), secret, sizeof(secret)), TS_OK);
}

Test(keystore, files_are_private)
{
	struct stat sb;

	cr_assert_eq(stat(db, &sb), 0);
	cr_assert_eq(sb.st_mode & 0777, 0600);
	cr_assert_eq(stat(kek, &sb), 0);
	cr_assert_eq(sb.st_mode & 0777, 0600);
	cr_assert_eq(sb.st_size, 32);
}

Test(keystore, create_get_round_trip)
{
	struct ks_record r;

	create(&alice_k1, 1);
	cr_assert_eq(ks_get(ks, &alice_k1, 1, &r), TS_OK);
	cr_assert_eq(r.material_len, sizeof(secret));
	cr_assert_arr_eq(r.material, secret, sizeof(secret));
	cr_assert_arr_eq(r.attrs, attrs, sizeof(attrs));
	ks_record_clear(&r);
	cr_assert_null(r.material);
}

Test(keystore, names_are_per_tenant_and_unique_across_providers)
{
	struct ks_key_id bob_k1 = {.auth_type = 1, .app = "bob", .name = "k1"};
	struct ks_key_id unix_alice = {.auth_type = 3, .app = "alice", .name = "k1"};
	struct ks_record r;

	create(&alice_k1, 1);
	/* Same tenant, same name, other provider: refused. */
	cr_assert_eq(ks_reserve(ks, &alice_k1, 2, attrs, sizeof(attrs)), TS_E_PSA_ALREADY_EXISTS);
	/* Other tenants may use the name. */
	create(&bob_k1, 1);
	create(&unix_alice, 1);
	/* The other provider does not see it: no wrong backend. */
	cr_assert_eq(ks_get(ks, &alice_k1, 2, &r), TS_E_PSA_DOES_NOT_EXIST);
	cr_assert_eq(ks_get(ks, &(struct ks_key_id){1, "carol", "k1"}, 1, &r),
	             TS_E_PSA_DOES_NOT_EXIST);
}

Test(keystore, reserved_key_is_invisible_until_committed)
{
	struct ks_record r;

	cr_assert_eq(ks_reserve(ks, &alice_k1, 1, attrs, sizeof(attrs)), TS_OK);
	cr_assert_eq(ks_get(ks, &alice_k1, 1, &r), TS_E_PSA_DOES_NOT_EXIST);
	cr_assert_eq(ks_reserve(ks, &alice_k1, 1, attrs, sizeof(attrs)), TS_E_PSA_ALREADY_EXISTS);
	cr_assert_eq(ks_abort(ks, &alice_k1), TS_OK);
	create(&alice_k1, 1);
}

static int count_cb(void *ctx, const char *name, uint8_t provider, const uint8_t *a, size_t len)
{
	(void)name;
	(void)provider;
	(void)a;
	(void)len;
	(*(int *)ctx)++;
	return 0;
}

static int name_cb(void *ctx, const char *name)
{
	strcat(ctx, name);
	strcat(ctx, ",");
	return 0;
}

Test(keystore, destroy_in_two_steps_and_lists)
{
	struct ks_record r;
	int n = 0;
	char names[128] = "";

	create(&alice_k1, 1);
	create(&(struct ks_key_id){1, "alice", "k2"}, 1);
	create(&(struct ks_key_id){1, "bob", "k1"}, 1);
	cr_assert_eq(ks_list(ks, 1, "alice", count_cb, &n), TS_OK);
	cr_assert_eq(n, 2);
	cr_assert_eq(ks_list_clients(ks, name_cb, names), TS_OK);
	cr_assert_str_eq(names, "alice,bob,");

	/* Read it first so the record cache holds it: destroy must still win. */
	cr_assert_eq(ks_get(ks, &alice_k1, 1, &r), TS_OK);
	ks_record_clear(&r);
	cr_assert_eq(ks_get(ks, &alice_k1, 2, &r), TS_E_PSA_DOES_NOT_EXIST,
	             "cached, other provider");
	cr_assert_eq(ks_begin_destroy(ks, &alice_k1, 1, &r), TS_OK);
	cr_assert_arr_eq(r.material, secret, sizeof(secret));
	ks_record_clear(&r);
	/* While destroying, the key is gone for users and cannot be reused yet. */
	cr_assert_eq(ks_get(ks, &alice_k1, 1, &r), TS_E_PSA_DOES_NOT_EXIST);
	cr_assert_eq(ks_reserve(ks, &alice_k1, 1, attrs, sizeof(attrs)), TS_E_PSA_ALREADY_EXISTS);
	cr_assert_eq(ks_remove(ks, &alice_k1), TS_OK);
	n = 0;
	cr_assert_eq(ks_list(ks, 1, "alice", count_cb, &n), TS_OK);
	cr_assert_eq(n, 1);
	create(&alice_k1, 1);
}

Test(keystore, secret_never_on_disk_in_clear)
{
	char cmd[256];

	create(&alice_k1, 1);
	ks_close(ks);
	ks = NULL;
	snprintf(cmd, sizeof(cmd), "grep -r -q -a 'THE-SECRET-KEY-BYTES' %s", dir);
	cr_assert_neq(system(cmd), 0, "the secret is in a file of %s", dir);
	cr_assert_eq(ks_open(db, kek, &ks, err, sizeof(err)), TS_OK, "%s", err);
}

static void sql(const char *statement)
{
	sqlite3 *h;

	cr_assert_eq(sqlite3_open(db, &h), SQLITE_OK);
	cr_assert_eq(sqlite3_exec(h, statement, NULL, NULL, NULL), SQLITE_OK, "%s",
	             sqlite3_errmsg(h));
	sqlite3_close(h);
}

Test(keystore, record_moved_to_another_tenant_does_not_open)
{
	struct ks_record r;

	create(&alice_k1, 1);
	ks_close(ks);
	ks = NULL;
	sql("UPDATE keys SET app = 'mallory'");
	cr_assert_eq(ks_open(db, kek, &ks, err, sizeof(err)), TS_OK, "%s", err);
	cr_assert_eq(ks_get(ks, &(struct ks_key_id){1, "mallory", "k1"}, 1, &r),
	             TS_E_PSA_CORRUPTION_DETECTED);
}

Test(keystore, altered_attributes_do_not_open)
{
	struct ks_record r;

	create(&alice_k1, 1);
	ks_close(ks);
	ks = NULL;
	sql("UPDATE keys SET attrs = x'0a025a01'");
	cr_assert_eq(ks_open(db, kek, &ks, err, sizeof(err)), TS_OK, "%s", err);
	cr_assert_eq(ks_get(ks, &alice_k1, 1, &r), TS_E_PSA_CORRUPTION_DETECTED);
	/* It can still be destroyed. */
	cr_assert_eq(ks_begin_destroy(ks, &alice_k1, 1, &r), TS_OK);
	cr_assert_null(r.material);
	cr_assert_eq(ks_remove(ks, &alice_k1), TS_OK);
}

Test(keystore, wrong_kek_is_refused_at_open)
{
	int fd;

	ks_close(ks);
	ks = NULL;
	fd = open(kek, O_WRONLY | O_TRUNC);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, "0123456789abcdef0123456789abcdef", 32), 32);
	close(fd);
	cr_assert_eq(ks_open(db, kek, &ks, err, sizeof(err)), TS_E_KEY_INFO_MANAGER_ERROR);
	cr_assert(strstr(err, "does not match") != NULL, "%s", err);
	/* A KEK of the wrong size is refused too. */
	fd = open(kek, O_WRONLY | O_TRUNC);
	cr_assert_eq(write(fd, "short", 5), 5);
	close(fd);
	cr_assert_eq(ks_open(db, kek, &ks, err, sizeof(err)), TS_E_KEY_INFO_MANAGER_ERROR);
	cr_assert(strstr(err, "32 bytes") != NULL, "%s", err);
	cr_assert_null(ks);
}

Test(keystore, kek_from_systemd_credential)
{
	char creds[128], path[160];
	struct ks *other;
	int fd;

	snprintf(creds, sizeof(creds), "%s/creds", dir);
	cr_assert_eq(mkdir(creds, 0700), 0);
	snprintf(path, sizeof(path), "%s/tessera-kek", creds);
	fd = open(path, O_WRONLY | O_CREAT, 0600);
	cr_assert_eq(write(fd, "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345", 32), 32);
	close(fd);
	setenv("CREDENTIALS_DIRECTORY", creds, 1);
	/* A new store with the credential; no KEK file gets created. */
	snprintf(path, sizeof(path), "%s/other.sqlite3", dir);
	cr_assert_eq(ks_open(path, "/nonexistent/kek", &other, err, sizeof(err)), TS_OK, "%s", err);
	ks_close(other);
	/* The first store was made with another KEK: the credential does not fit. */
	cr_assert_eq(ks_open(db, kek, &other, err, sizeof(err)), TS_E_KEY_INFO_MANAGER_ERROR);
	unsetenv("CREDENTIALS_DIRECTORY");
}

static int recovered;

static void recover_cb(void *ctx, const struct ks_key_id *id, const struct ks_record *r)
{
	(void)ctx;
	(void)r;
	cr_assert_str_eq(id->app, "alice");
	recovered++;
}

Test(keystore, recovery_removes_unfinished_records)
{
	struct ks_record r;
	unsigned n = 0;

	create(&alice_k1, 1);
	cr_assert_eq(
	        ks_reserve(ks, &(struct ks_key_id){1, "alice", "half"}, 1, attrs, sizeof(attrs)),
	        TS_OK);
	create(&(struct ks_key_id){1, "alice", "going"}, 1);
	cr_assert_eq(ks_begin_destroy(ks, &(struct ks_key_id){1, "alice", "going"}, 1, &r), TS_OK);
	ks_record_clear(&r);
	/* "Crash": reopen without finishing either. */
	ks_close(ks);
	cr_assert_eq(ks_open(db, kek, &ks, err, sizeof(err)), TS_OK, "%s", err);
	cr_assert_eq(ks_recover(ks, recover_cb, NULL, &n), TS_OK);
	cr_assert_eq(n, 2);
	cr_assert_eq(recovered, 2);
	cr_assert_eq(ks_get(ks, &alice_k1, 1, &r), TS_OK, "ready keys survive");
	ks_record_clear(&r);
	cr_assert_eq(
	        ks_reserve(ks, &(struct ks_key_id){1, "alice", "half"}, 1, attrs, sizeof(attrs)),
	        TS_OK, "the name is free again");
}

Test(keystore, schema_version_is_checked)
{
	ks_close(ks);
	ks = NULL;
	sql("UPDATE meta SET value = 99 WHERE key = 'schema_version'");
	cr_assert_eq(ks_open(db, kek, &ks, err, sizeof(err)), TS_E_KEY_INFO_MANAGER_ERROR);
	cr_assert(strstr(err, "99") != NULL, "%s", err);
}
