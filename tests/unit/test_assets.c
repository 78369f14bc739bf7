/* PSA storage assets in the key store (keystore/assets.c), on real files. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "common/secmem.h"
#include "keystore/keystore.h"

static char dir[64], db[128], kek[128], err[512];
static struct ks *ks;

static void setup(void)
{
	strcpy(dir, "/tmp/tsas.XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(db, sizeof(db), "%s/keys.sqlite3", dir);
	snprintf(kek, sizeof(kek), "%s/kek", dir);
	unsetenv("CREDENTIALS_DIRECTORY");
	cr_assert_eq(ks_open(db, kek, NULL, 0, &ks, err, sizeof(err)), TS_OK, "%s", err);
}

static void teardown(void)
{
	char cmd[128];

	ks_close(ks);
	ks = NULL;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(assets, .init = setup, .fini = teardown);

static const struct ks_asset_id alice_its_7 = {
        .auth_type = 1, .app = "alice", .store = KS_STORE_ITS, .uid = 7};
static const struct ks_asset_id alice_ps_7 = {
        .auth_type = 1, .app = "alice", .store = KS_STORE_PS, .uid = 7};
static const struct ks_asset_id alice_its_8 = {
        .auth_type = 1, .app = "alice", .store = KS_STORE_ITS, .uid = 8};
static const struct ks_asset_id bob_its_7 = {
        .auth_type = 1, .app = "bob", .store = KS_STORE_ITS, .uid = 7};
static const uint8_t hello[] = "hello, secure storage";

static void sql(const char *statement)
{
	sqlite3 *h;

	cr_assert_eq(sqlite3_open(db, &h), SQLITE_OK);
	sqlite3_busy_timeout(h, 5000);
	cr_assert_eq(sqlite3_exec(h, statement, NULL, NULL, NULL), SQLITE_OK, "%s: %s", statement,
	             sqlite3_errmsg(h));
	sqlite3_close(h);
}

static int sql_int(const char *query)
{
	sqlite3 *h;
	sqlite3_stmt *st;
	int v;

	cr_assert_eq(sqlite3_open(db, &h), SQLITE_OK);
	cr_assert_eq(sqlite3_prepare_v2(h, query, -1, &st, NULL), SQLITE_OK, "%s",
	             sqlite3_errmsg(h));
	cr_assert_eq(sqlite3_step(st), SQLITE_ROW, "%s", query);
	v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(h);
	return v;
}

static enum ts_err get(const struct ks_asset_id *id, struct ks_asset_info *info, uint8_t **data,
                       size_t *len)
{
	return ks_asset_get(ks, id, info, data, len);
}

static void expect_data(const struct ks_asset_id *id, const void *want, size_t want_len)
{
	struct ks_asset_info info;
	uint8_t *data = NULL;
	size_t len = 0;

	cr_assert_eq(get(id, &info, &data, &len), TS_OK);
	cr_assert_eq(len, want_len);
	cr_assert_eq(info.size, want_len);
	cr_assert(want_len == 0 || memcmp(data, want, want_len) == 0);
	ts_free_secret(data, len);
}

Test(assets, set_get_replace_and_remove)
{
	struct ks_asset_info info;

	cr_assert_eq(get(&alice_its_7, &info, NULL, NULL), TS_E_PSA_DOES_NOT_EXIST);
	cr_assert_eq(ks_asset_set(ks, &alice_its_7, 2, hello, sizeof(hello)), TS_OK);
	expect_data(&alice_its_7, hello, sizeof(hello));
	cr_assert_eq(get(&alice_its_7, &info, NULL, NULL), TS_OK);
	cr_assert_eq(info.capacity, sizeof(hello));
	cr_assert_eq(info.flags, 2);
	/* Same uid: another store, another tenant, another asset. */
	cr_assert_eq(get(&alice_ps_7, &info, NULL, NULL), TS_E_PSA_DOES_NOT_EXIST);
	cr_assert_eq(get(&bob_its_7, &info, NULL, NULL), TS_E_PSA_DOES_NOT_EXIST);
	/* A replacement changes data and flags. */
	cr_assert_eq(ks_asset_set(ks, &alice_its_7, 0, (const uint8_t *)"x", 1), TS_OK);
	expect_data(&alice_its_7, "x", 1);
	cr_assert_eq(get(&alice_its_7, &info, NULL, NULL), TS_OK);
	cr_assert_eq(info.flags, 0);
	cr_assert_eq(ks_asset_remove(ks, &alice_its_7), TS_OK);
	cr_assert_eq(ks_asset_remove(ks, &alice_its_7), TS_E_PSA_DOES_NOT_EXIST);
	cr_assert_eq(get(&alice_its_7, &info, NULL, NULL), TS_E_PSA_DOES_NOT_EXIST);
	cr_assert_eq(sql_int("SELECT count(*) FROM asset_versions"), 0);
}

Test(assets, zero_length_assets_exist)
{
	struct ks_asset_info info;

	cr_assert_eq(ks_asset_set(ks, &alice_its_7, 0, NULL, 0), TS_OK);
	expect_data(&alice_its_7, NULL, 0);
	cr_assert_eq(get(&alice_its_7, &info, NULL, NULL), TS_OK);
	cr_assert_eq(info.capacity, 0);
}

Test(assets, the_data_is_not_on_disk_in_clear)
{
	char cmd[256];

	cr_assert_eq(ks_asset_set(ks, &alice_ps_7, 0, hello, sizeof(hello) - 1), TS_OK);
	ks_close(ks);
	ks = NULL;
	snprintf(cmd, sizeof(cmd), "cat %s/keys.sqlite3* | grep -q 'secure storage'", dir);
	cr_assert_neq(system(cmd), 0, "the plaintext is in the files");
	cr_assert_eq(ks_open(db, kek, NULL, 0, &ks, err, sizeof(err)), TS_OK, "%s", err);
	expect_data(&alice_ps_7, hello, sizeof(hello) - 1);
}

Test(assets, write_once_cannot_be_replaced_extended_or_removed)
{
	cr_assert_eq(ks_asset_set(ks, &alice_ps_7, KS_ASSET_WRITE_ONCE, hello, 5), TS_OK);
	cr_assert_eq(ks_asset_set(ks, &alice_ps_7, 0, hello, 3), TS_E_PSA_NOT_PERMITTED);
	cr_assert_eq(ks_asset_set_extended(ks, &alice_ps_7, 0, hello, 1), TS_E_PSA_NOT_PERMITTED);
	cr_assert_eq(ks_asset_remove(ks, &alice_ps_7), TS_E_PSA_NOT_PERMITTED);
	expect_data(&alice_ps_7, hello, 5);
	/* Write-once comes before the quota. */
	ks_set_asset_quotas(ks, 1, 4);
	cr_assert_eq(ks_asset_set(ks, &alice_ps_7, 0, hello, 100), TS_E_PSA_NOT_PERMITTED);
	/* The tenant's deletion takes it anyway. */
	unsigned n = 0;
	cr_assert_eq(ks_assets_delete_tenant(ks, 1, "alice", &n), TS_OK);
	cr_assert_eq(n, 1);
	cr_assert_eq(get(&alice_ps_7, &(struct ks_asset_info){0}, NULL, NULL),
	             TS_E_PSA_DOES_NOT_EXIST);
}

Test(assets, create_and_set_extended_follow_capacity)
{
	struct ks_asset_info info;

	cr_assert_eq(ks_asset_create(ks, &alice_ps_7, 10, 0), TS_OK);
	cr_assert_eq(get(&alice_ps_7, &info, NULL, NULL), TS_OK);
	cr_assert_eq(info.capacity, 10);
	cr_assert_eq(info.size, 0);
	cr_assert_eq(ks_asset_create(ks, &alice_ps_7, 5, 0), TS_E_PSA_ALREADY_EXISTS);
	cr_assert_eq(ks_asset_set_extended(ks, &alice_ps_7, 0, (const uint8_t *)"abcd", 4), TS_OK);
	cr_assert_eq(ks_asset_set_extended(ks, &alice_ps_7, 5, (const uint8_t *)"z", 1),
	             TS_E_PSA_INVALID_ARGUMENT, "a gap after the data");
	cr_assert_eq(ks_asset_set_extended(ks, &alice_ps_7, 4, (const uint8_t *)"efghijk", 7),
	             TS_E_PSA_INVALID_ARGUMENT, "past the capacity");
	cr_assert_eq(ks_asset_set_extended(ks, &alice_ps_7, 2, (const uint8_t *)"CDEFGH", 6),
	             TS_OK);
	expect_data(&alice_ps_7, "abCDEFGH", 8);
	cr_assert_eq(ks_asset_set_extended(ks, &alice_ps_7, 8, NULL, 0), TS_OK);
	cr_assert_eq(get(&alice_ps_7, &info, NULL, NULL), TS_OK);
	cr_assert_eq(info.capacity, 10);
	cr_assert_eq(info.size, 8);
	/* set resets the capacity to the data. */
	cr_assert_eq(ks_asset_set(ks, &alice_ps_7, 0, (const uint8_t *)"12345678", 8), TS_OK);
	cr_assert_eq(get(&alice_ps_7, &info, NULL, NULL), TS_OK);
	cr_assert_eq(info.capacity, 8);
	cr_assert_eq(ks_asset_set_extended(ks, &alice_ps_7, 0, (const uint8_t *)"0123456789", 10),
	             TS_E_PSA_INVALID_ARGUMENT);
	cr_assert_eq(ks_asset_set_extended(ks, &alice_its_8, 0, hello, 1), TS_E_PSA_DOES_NOT_EXIST);
}

Test(assets, quotas_are_exact_and_removal_frees_exactly)
{
	unsigned first = 0, second = 0;
	uint8_t block[512] = {0};

	ks_set_asset_quotas(ks, 0, 4096);
	for (uint64_t uid = 5;; uid++) {
		struct ks_asset_id id = alice_its_7;

		id.uid = uid;
		enum ts_err e = ks_asset_set(ks, &id, 0, block, sizeof(block));
		if (e != TS_OK) {
			cr_assert_eq(e, TS_E_PSA_INSUFFICIENT_STORAGE);
			break;
		}
		first++;
	}
	cr_assert_eq(first, 8);
	for (uint64_t uid = 5; uid < 5 + first; uid++) {
		struct ks_asset_id id = alice_its_7;

		id.uid = uid;
		cr_assert_eq(ks_asset_remove(ks, &id), TS_OK);
	}
	for (uint64_t uid = 5;; uid++) {
		struct ks_asset_id id = alice_its_7;

		id.uid = uid;
		if (ks_asset_set(ks, &id, 0, block, sizeof(block)) != TS_OK)
			break;
		second++;
	}
	cr_assert_eq(second, first);
	/* Another store and another tenant have quotas of their own. */
	cr_assert_eq(ks_asset_set(ks, &alice_ps_7, 0, block, sizeof(block)), TS_OK);
	cr_assert_eq(ks_asset_set(ks, &bob_its_7, 0, block, sizeof(block)), TS_OK);
	/* A replacement counts only its new size; create counts capacity. */
	ks_set_asset_quotas(ks, 2, 0);
	cr_assert_eq(ks_asset_set(ks, &bob_its_7, 0, block, 10), TS_OK);
	struct ks_asset_id bob8 = bob_its_7;
	bob8.uid = 8;
	cr_assert_eq(ks_asset_set(ks, &bob8, 0, block, 10), TS_OK);
	bob8.uid = 9;
	cr_assert_eq(ks_asset_set(ks, &bob8, 0, block, 10), TS_E_PSA_INSUFFICIENT_STORAGE);
	ks_set_asset_quotas(ks, 0, 16u << 20);
	cr_assert_eq(ks_asset_create(ks, &bob8, 0xFFFFFFFFu, 0), TS_E_PSA_INSUFFICIENT_STORAGE);
	/* The quota before existence: an existing uid asked for too much. */
	cr_assert_eq(ks_asset_create(ks, &bob_its_7, 0xFFFFFFFFu, 0),
	             TS_E_PSA_INSUFFICIENT_STORAGE);
	cr_assert_eq(ks_asset_create(ks, &bob_its_7, 20, 0), TS_E_PSA_ALREADY_EXISTS);
}

Test(assets, a_row_moved_to_another_uid_or_tenant_does_not_open)
{
	struct ks_asset_info info;

	cr_assert_eq(ks_asset_set(ks, &alice_ps_7, KS_ASSET_NO_REPLAY_PROTECTION, hello, 5), TS_OK);
	ks_close(ks);
	ks = NULL;
	sql("UPDATE assets SET uid = 8");
	cr_assert_eq(ks_open(db, kek, NULL, 0, &ks, err, sizeof(err)), TS_OK, "%s", err);
	struct ks_asset_id ps8 = alice_ps_7;
	ps8.uid = 8;
	cr_assert_eq(get(&ps8, &info, NULL, NULL), TS_E_PSA_INVALID_SIGNATURE);
	ks_close(ks);
	ks = NULL;
	sql("UPDATE assets SET uid = 7, app = 'bob'");
	cr_assert_eq(ks_open(db, kek, NULL, 0, &ks, err, sizeof(err)), TS_OK, "%s", err);
	struct ks_asset_id bob_ps_7 = alice_ps_7;
	bob_ps_7.app = "bob";
	cr_assert_eq(get(&bob_ps_7, &info, NULL, NULL), TS_E_PSA_INVALID_SIGNATURE);
	ks_close(ks);
	ks = NULL;
	/* Back where it was, it opens again; with flags edited it does not. */
	sql("UPDATE assets SET app = 'alice'");
	cr_assert_eq(ks_open(db, kek, NULL, 0, &ks, err, sizeof(err)), TS_OK, "%s", err);
	expect_data(&alice_ps_7, hello, 5);
	ks_close(ks);
	ks = NULL;
	sql("UPDATE assets SET flags = 6");
	cr_assert_eq(ks_open(db, kek, NULL, 0, &ks, err, sizeof(err)), TS_OK, "%s", err);
	cr_assert_eq(get(&alice_ps_7, &info, NULL, NULL), TS_E_PSA_INVALID_SIGNATURE);
	/* A damaged record can still be removed. */
	cr_assert_eq(ks_asset_remove(ks, &alice_ps_7), TS_OK);
}

Test(assets, a_broken_record_is_data_corrupt)
{
	struct ks_asset_info info;

	cr_assert_eq(ks_asset_set(ks, &alice_ps_7, 0, hello, 5), TS_OK);
	ks_close(ks);
	ks = NULL;
	sql("UPDATE assets SET size = 4");
	cr_assert_eq(ks_open(db, kek, NULL, 0, &ks, err, sizeof(err)), TS_OK, "%s", err);
	cr_assert_eq(get(&alice_ps_7, &info, NULL, NULL), TS_E_PSA_DATA_CORRUPT);
	ks_close(ks);
	ks = NULL;
	sql("UPDATE assets SET size = 5, data = x'0102'");
	cr_assert_eq(ks_open(db, kek, NULL, 0, &ks, err, sizeof(err)), TS_OK, "%s", err);
	cr_assert_eq(get(&alice_ps_7, &info, NULL, NULL), TS_E_PSA_DATA_CORRUPT);
	cr_assert_eq(ks_asset_set_extended(ks, &alice_ps_7, 0, hello, 1), TS_E_PSA_DATA_CORRUPT);
}

/* Keep a copy of the asset's row (written with old_flags), write it again
 * (with new_flags), then put the copy back. */
static void restore_copy(uint32_t old_flags, uint32_t new_flags)
{
	cr_assert_eq(ks_asset_set(ks, &alice_ps_7, old_flags, (const uint8_t *)"old", 3), TS_OK);
	ks_close(ks);
	ks = NULL;
	sql("CREATE TABLE saved AS SELECT * FROM assets");
	cr_assert_eq(ks_open(db, kek, NULL, 0, &ks, err, sizeof(err)), TS_OK, "%s", err);
	cr_assert_eq(ks_asset_set(ks, &alice_ps_7, new_flags, (const uint8_t *)"new", 3), TS_OK);
	ks_close(ks);
	ks = NULL;
	sql("DELETE FROM assets; INSERT INTO assets SELECT * FROM saved; DROP TABLE saved");
	cr_assert_eq(ks_open(db, kek, NULL, 0, &ks, err, sizeof(err)), TS_OK, "%s", err);
}

static void restore_old_copy(uint32_t flags)
{
	restore_copy(flags, flags);
}

Test(assets, an_older_copy_restored_does_not_open)
{
	struct ks_asset_info info;

	restore_old_copy(0);
	cr_assert_eq(get(&alice_ps_7, &info, NULL, NULL), TS_E_PSA_INVALID_SIGNATURE);
	/* Nor does a forged version number: it is in the AAD. */
	ks_close(ks);
	ks = NULL;
	sql("UPDATE assets SET version = (SELECT version FROM asset_versions)");
	cr_assert_eq(ks_open(db, kek, NULL, 0, &ks, err, sizeof(err)), TS_OK, "%s", err);
	cr_assert_eq(get(&alice_ps_7, &info, NULL, NULL), TS_E_PSA_INVALID_SIGNATURE);
}

/* The newer write is protected: an older copy that was written without
 * protection does not open either (its own flags do not decide). */
Test(assets, an_older_unprotected_copy_does_not_replace_a_protected_asset)
{
	struct ks_asset_info info;

	restore_copy(KS_ASSET_NO_REPLAY_PROTECTION, 0);
	cr_assert_eq(get(&alice_ps_7, &info, NULL, NULL), TS_E_PSA_INVALID_SIGNATURE);
}

Test(assets, an_older_copy_opens_without_replay_protection)
{
	restore_old_copy(KS_ASSET_NO_REPLAY_PROTECTION);
	expect_data(&alice_ps_7, "old", 3);
	cr_assert_eq(sql_int("SELECT count(*) FROM asset_versions"), 0);
}

Test(assets, a_record_removed_behind_the_store_is_detected)
{
	struct ks_asset_info info;

	cr_assert_eq(ks_asset_set(ks, &alice_ps_7, 0, hello, 5), TS_OK);
	ks_close(ks);
	ks = NULL;
	sql("DELETE FROM assets");
	cr_assert_eq(ks_open(db, kek, NULL, 0, &ks, err, sizeof(err)), TS_OK, "%s", err);
	cr_assert_eq(get(&alice_ps_7, &info, NULL, NULL), TS_E_PSA_INVALID_SIGNATURE);
	cr_assert_eq(ks_asset_create(ks, &alice_ps_7, 4, 0), TS_E_PSA_ALREADY_EXISTS);
	cr_assert_eq(ks_asset_remove(ks, &alice_ps_7), TS_OK);
	cr_assert_eq(get(&alice_ps_7, &info, NULL, NULL), TS_E_PSA_DOES_NOT_EXIST);
}

static int count_client(void *ctx, uint8_t auth_type, const char *app)
{
	(void)auth_type;
	if (strcmp(app, "carol") == 0)
		(*(int *)ctx)++;
	return 0;
}

Test(assets, delete_tenant_erases_both_stores_and_lists_storage_only_tenants)
{
	const struct ks_asset_id carol_its = {
	        .auth_type = 3, .app = "carol", .store = KS_STORE_ITS, .uid = 1};
	const struct ks_asset_id carol_ps = {
	        .auth_type = 3, .app = "carol", .store = KS_STORE_PS, .uid = 2};
	int seen = 0;
	unsigned n = 0;
	char cmd[256];

	cr_assert_eq(ks_asset_set(ks, &carol_its, KS_ASSET_WRITE_ONCE, hello, 5), TS_OK);
	cr_assert_eq(ks_asset_set(ks, &carol_ps, 0, hello, 5), TS_OK);
	cr_assert_eq(ks_asset_set(ks, &alice_ps_7, 0, hello, 5), TS_OK);
	cr_assert_eq(ks_list_clients(ks, count_client, &seen), TS_OK);
	cr_assert_eq(seen, 1);
	cr_assert_eq(ks_assets_delete_tenant(ks, 3, "carol", &n), TS_OK);
	cr_assert_eq(n, 2);
	seen = 0;
	cr_assert_eq(ks_list_clients(ks, count_client, &seen), TS_OK);
	cr_assert_eq(seen, 0);
	expect_data(&alice_ps_7, hello, 5);
	ks_close(ks);
	ks = NULL;
	cr_assert_eq(sql_int("SELECT count(*) FROM assets WHERE app = 'carol'"), 0);
	cr_assert_eq(sql_int("SELECT count(*) FROM asset_versions WHERE app = 'carol'"), 0);
	/* Erased: the WAL was cut, so no file keeps the old pages. */
	snprintf(cmd, sizeof(cmd), "test ! -s %s/keys.sqlite3-wal", dir);
	cr_assert_eq(system(cmd), 0);
	cr_assert_eq(ks_open(db, kek, NULL, 0, &ks, err, sizeof(err)), TS_OK, "%s", err);
}

Test(assets, each_write_is_one_transaction_and_survives_reopening)
{
	struct ks_asset_info info;

	cr_assert_eq(ks_asset_set(ks, &alice_its_7, 0, hello, 5), TS_OK);
	/* A failed write leaves the old record and its version whole. */
	ks_set_asset_quotas(ks, 0, 4);
	cr_assert_eq(ks_asset_set(ks, &alice_its_7, 0, hello, 9), TS_E_PSA_INSUFFICIENT_STORAGE);
	ks_close(ks);
	cr_assert_eq(ks_open(db, kek, NULL, 0, &ks, err, sizeof(err)), TS_OK, "%s", err);
	expect_data(&alice_its_7, hello, 5);
	cr_assert_eq(get(&alice_its_7, &info, NULL, NULL), TS_OK);
	cr_assert_eq(sql_int("SELECT count(*) FROM asset_versions"), 1);
	cr_assert_eq(sql_int("SELECT a.version = v.version FROM assets a JOIN asset_versions v"),
	             1);
}

Test(assets, rekey_seals_assets_again_under_the_new_key)
{
	char fresh[160];
	unsigned count = 0, damaged = 0;

	snprintf(fresh, sizeof(fresh), "%s/new.kek", dir);
	cr_assert_eq(ks_asset_set(ks, &alice_its_7, 0, hello, sizeof(hello)), TS_OK);
	cr_assert_eq(ks_asset_set(ks, &alice_ps_7, KS_ASSET_NO_REPLAY_PROTECTION, hello, 3), TS_OK);
	cr_assert_eq(ks_rekey(ks, fresh, &count, &damaged, err, sizeof(err)), TS_OK, "%s", err);
	cr_assert_eq(count, 2);
	cr_assert_eq(damaged, 0);
	expect_data(&alice_its_7, hello, sizeof(hello));
	ks_close(ks);
	ks = NULL;
	/* The old key no longer opens the store; the new one opens the assets. */
	cr_assert_neq(ks_open(db, kek, NULL, 0, &ks, err, sizeof(err)), TS_OK);
	ks = NULL;
	cr_assert_eq(ks_open(db, fresh, NULL, 0, &ks, err, sizeof(err)), TS_OK, "%s", err);
	expect_data(&alice_its_7, hello, sizeof(hello));
	expect_data(&alice_ps_7, hello, 3);
}
