/* The key store on real SQLite files in a temporary directory. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "keystore/keystore.h"

#define SW "software-provider"
#define TB "token-b"

static char dir[64], db[128], kek[128], err[512];
static struct ks *ks;

static void make_dir(void)
{
	strcpy(dir, "/tmp/tsks.XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(db, sizeof(db), "%s/keys.sqlite3", dir);
	snprintf(kek, sizeof(kek), "%s/kek", dir);
	unsetenv("CREDENTIALS_DIRECTORY");
}

static void setup(void)
{
	make_dir();
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

TestSuite(keystore, .init = setup, .fini = teardown);

static const struct ks_key_id alice_k1 = {.auth_type = 1, .app = "alice", .name = "k1"};
static const uint8_t attrs[] = {0x0a, 0x02, 0x5a, 0x00};
static const uint8_t secret[] = "0123456789abcdef-THE-SECRET-KEY-BYTES";
static const uint8_t ref1[] = {'o', 'b', 'j', '-', '1'};

static void create_ref(const struct ks_key_id *id, const char *provider, const uint8_t *ref,
                       size_t ref_len)
{
	cr_assert_eq(ks_reserve(ks, id, provider, ref, ref_len, attrs, sizeof(attrs)), TS_OK);
	cr_assert_eq(ks_commit(ks, id, NULL, 0, attrs, sizeof(attrs), secret, sizeof(secret)),
	             TS_OK);
}

static void create(const struct ks_key_id *id, const char *provider)
{
	create_ref(id, provider, NULL, 0);
}

static void close_store(void)
{
	ks_close(ks);
	ks = NULL;
}

static void reopen(void)
{
	close_store();
	cr_assert_eq(ks_open(db, kek, NULL, 0, &ks, err, sizeof(err)), TS_OK, "%s", err);
}

static void sql(const char *statement)
{
	sqlite3 *h;

	cr_assert_eq(sqlite3_open(db, &h), SQLITE_OK);
	cr_assert_eq(sqlite3_exec(h, statement, NULL, NULL, NULL), SQLITE_OK, "%s",
	             sqlite3_errmsg(h));
	sqlite3_close(h);
}

/* The first column of the first row of a query, as an integer. */
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

Test(keystore, files_are_private)
{
	struct stat sb;

	cr_assert_eq(stat(db, &sb), 0);
	cr_assert_eq(sb.st_mode & 0777, 0600);
	cr_assert_eq(stat(kek, &sb), 0);
	cr_assert_eq(sb.st_mode & 0777, 0600);
	cr_assert_eq(sb.st_size, 32);
}

Test(keystore, new_store_is_schema_2)
{
	cr_assert_eq(sql_int("SELECT value FROM meta WHERE key = 'schema_version'"), 2);
}

Test(keystore, create_get_round_trip)
{
	struct ks_record r;

	create_ref(&alice_k1, SW, ref1, sizeof(ref1));
	cr_assert_eq(ks_get(ks, &alice_k1, SW, &r), TS_OK);
	cr_assert_str_eq(r.provider, SW);
	cr_assert_eq(r.ref_len, sizeof(ref1));
	cr_assert_arr_eq(r.ref, ref1, sizeof(ref1));
	cr_assert_eq(r.material_len, sizeof(secret));
	cr_assert_arr_eq(r.material, secret, sizeof(secret));
	cr_assert_arr_eq(r.attrs, attrs, sizeof(attrs));
	ks_record_clear(&r);
	cr_assert_null(r.material);
	cr_assert_null(r.provider);
	/* Again, from the cache of opened records. */
	cr_assert_eq(ks_get(ks, &alice_k1, SW, &r), TS_OK);
	cr_assert_str_eq(r.provider, SW);
	cr_assert_arr_eq(r.ref, ref1, sizeof(ref1));
	ks_record_clear(&r);
}

Test(keystore, empty_attributes_and_material_are_kept_empty)
{
	struct ks_record r;

	cr_assert_eq(ks_reserve(ks, &alice_k1, SW, NULL, 0, NULL, 0), TS_OK);
	cr_assert_eq(ks_commit(ks, &alice_k1, NULL, 0, NULL, 0, NULL, 0), TS_OK);
	cr_assert_eq(ks_get(ks, &alice_k1, SW, &r), TS_OK);
	cr_assert_eq(r.attrs_len, 0);
	cr_assert_eq(r.ref_len, 0);
	cr_assert_eq(r.material_len, 0);
	ks_record_clear(&r);
}

Test(keystore, commit_keeps_or_replaces_the_reference)
{
	struct ks_key_id k2 = {1, "alice", "k2"}, k3 = {1, "alice", "k3"};
	static const uint8_t later[] = {0x7f, 0x00, 0x01};
	struct ks_record r;

	/* NULL keeps the reserved reference. */
	create_ref(&alice_k1, SW, ref1, sizeof(ref1));
	/* A reference learnt at creation replaces it. */
	cr_assert_eq(ks_reserve(ks, &k2, SW, ref1, sizeof(ref1), attrs, sizeof(attrs)), TS_OK);
	cr_assert_eq(ks_commit(ks, &k2, later, sizeof(later), attrs, sizeof(attrs), secret,
	                       sizeof(secret)),
	             TS_OK);
	/* A non-NULL empty one empties it. */
	cr_assert_eq(ks_reserve(ks, &k3, SW, ref1, sizeof(ref1), attrs, sizeof(attrs)), TS_OK);
	cr_assert_eq(ks_commit(ks, &k3, later, 0, attrs, sizeof(attrs), secret, sizeof(secret)),
	             TS_OK);
	reopen();
	cr_assert_eq(ks_get(ks, &alice_k1, SW, &r), TS_OK);
	cr_assert_eq(r.ref_len, sizeof(ref1));
	cr_assert_arr_eq(r.ref, ref1, sizeof(ref1));
	ks_record_clear(&r);
	cr_assert_eq(ks_get(ks, &k2, SW, &r), TS_OK);
	cr_assert_eq(r.ref_len, sizeof(later));
	cr_assert_arr_eq(r.ref, later, sizeof(later));
	ks_record_clear(&r);
	cr_assert_eq(ks_get(ks, &k3, SW, &r), TS_OK);
	cr_assert_eq(r.ref_len, 0);
	ks_record_clear(&r);
	/* Nothing reserved: nothing to commit. */
	cr_assert_eq(
	        ks_commit(ks, &alice_k1, NULL, 0, attrs, sizeof(attrs), secret, sizeof(secret)),
	        TS_E_PSA_DOES_NOT_EXIST);
}

Test(keystore, names_are_per_tenant_and_unique_across_instances)
{
	struct ks_key_id bob_k1 = {.auth_type = 1, .app = "bob", .name = "k1"};
	struct ks_key_id unix_alice = {.auth_type = 3, .app = "alice", .name = "k1"};
	struct ks_record r;

	create(&alice_k1, SW);
	/* Same tenant, same name, other instance: refused. */
	cr_assert_eq(ks_reserve(ks, &alice_k1, TB, NULL, 0, attrs, sizeof(attrs)),
	             TS_E_PSA_ALREADY_EXISTS);
	/* Other tenants may use the name, in any instance. */
	create(&bob_k1, TB);
	create(&unix_alice, SW);
	/* The other instance does not see it: no wrong backend. */
	cr_assert_eq(ks_get(ks, &alice_k1, TB, &r), TS_E_PSA_DOES_NOT_EXIST);
	cr_assert_eq(ks_begin_destroy(ks, &alice_k1, TB, &r), TS_E_PSA_DOES_NOT_EXIST);
	cr_assert_eq(ks_get(ks, &bob_k1, SW, &r), TS_E_PSA_DOES_NOT_EXIST);
	cr_assert_eq(ks_get(ks, &(struct ks_key_id){1, "carol", "k1"}, SW, &r),
	             TS_E_PSA_DOES_NOT_EXIST);
	/* Its own instance still does, untouched by the attempts. */
	cr_assert_eq(ks_get(ks, &alice_k1, SW, &r), TS_OK);
	ks_record_clear(&r);
	/* Cached now: the cache answers the other instance the same way. */
	cr_assert_eq(ks_get(ks, &alice_k1, TB, &r), TS_E_PSA_DOES_NOT_EXIST);
	cr_assert_eq(ks_begin_destroy(ks, &alice_k1, TB, &r), TS_E_PSA_DOES_NOT_EXIST);
	cr_assert_eq(ks_get(ks, &alice_k1, SW, &r), TS_OK);
	ks_record_clear(&r);
}

Test(keystore, reserved_key_is_invisible_until_committed)
{
	struct ks_record r;

	cr_assert_eq(ks_reserve(ks, &alice_k1, SW, ref1, sizeof(ref1), attrs, sizeof(attrs)),
	             TS_OK);
	cr_assert_eq(ks_get(ks, &alice_k1, SW, &r), TS_E_PSA_DOES_NOT_EXIST);
	cr_assert_eq(ks_reserve(ks, &alice_k1, SW, NULL, 0, attrs, sizeof(attrs)),
	             TS_E_PSA_ALREADY_EXISTS);
	cr_assert_eq(ks_abort(ks, &alice_k1), TS_OK);
	create(&alice_k1, SW);
}

struct listed {
	int n;
	char names[128];
};

static int list_cb(void *ctx, const char *name, const char *provider, const uint8_t *a, size_t len)
{
	struct listed *l = ctx;

	cr_assert_eq(len, sizeof(attrs));
	cr_assert_arr_eq(a, attrs, sizeof(attrs));
	strcat(l->names, name);
	strcat(l->names, "@");
	strcat(l->names, provider);
	strcat(l->names, ",");
	l->n++;
	return 0;
}

static int list_count_cb(void *ctx, const char *name, const char *provider, const uint8_t *a,
                         size_t len)
{
	(void)name;
	(void)a;
	(void)len;
	cr_assert_str_eq(provider, SW);
	((struct listed *)ctx)->n++;
	return 0;
}

static int name_cb(void *ctx, uint8_t auth_type, const char *name)
{
	char *out = ctx;

	sprintf(out + strlen(out), "%u:%s,", auth_type, name);
	return 0;
}

Test(keystore, destroy_in_two_steps_and_lists)
{
	struct ks_record r;
	struct listed l = {0};
	char names[128] = "";

	create_ref(&alice_k1, SW, ref1, sizeof(ref1));
	create(&(struct ks_key_id){1, "alice", "k2"}, TB);
	create(&(struct ks_key_id){1, "bob", "k1"}, SW);
	create(&(struct ks_key_id){3, "alice", "k1"}, SW);
	cr_assert_eq(ks_list(ks, 1, "alice", list_cb, &l), TS_OK);
	cr_assert_eq(l.n, 2);
	cr_assert_str_eq(l.names, "k1@" SW ",k2@" TB ",");
	cr_assert_eq(ks_list_clients(ks, name_cb, names), TS_OK);
	cr_assert_str_eq(names, "1:alice,3:alice,1:bob,", "each authenticator's tenant, by name");

	/* Read it first so the record cache holds it: destroy must still win. */
	cr_assert_eq(ks_get(ks, &alice_k1, SW, &r), TS_OK);
	ks_record_clear(&r);
	cr_assert_eq(ks_get(ks, &alice_k1, TB, &r), TS_E_PSA_DOES_NOT_EXIST,
	             "cached, other instance");
	cr_assert_eq(ks_begin_destroy(ks, &alice_k1, SW, &r), TS_OK);
	cr_assert_arr_eq(r.material, secret, sizeof(secret));
	cr_assert_str_eq(r.provider, SW);
	cr_assert_eq(r.ref_len, sizeof(ref1), "the provider destroys by its reference");
	cr_assert_arr_eq(r.ref, ref1, sizeof(ref1));
	ks_record_clear(&r);
	/* While destroying, the key is gone for users and cannot be reused yet. */
	cr_assert_eq(ks_get(ks, &alice_k1, SW, &r), TS_E_PSA_DOES_NOT_EXIST);
	cr_assert_eq(ks_reserve(ks, &alice_k1, SW, NULL, 0, attrs, sizeof(attrs)),
	             TS_E_PSA_ALREADY_EXISTS);
	cr_assert_eq(ks_remove(ks, &alice_k1), TS_OK);
	memset(&l, 0, sizeof(l));
	cr_assert_eq(ks_list(ks, 1, "alice", list_cb, &l), TS_OK);
	cr_assert_eq(l.n, 1);
	create(&alice_k1, SW);
}

struct each {
	int n;
	char seen[256];
};

static int each_cb(void *ctx, const struct ks_key_id *id, const uint8_t *ref, size_t ref_len,
                   const uint8_t *a, size_t len)
{
	struct each *e = ctx;
	size_t at = strlen(e->seen);

	cr_assert_eq(len, sizeof(attrs));
	cr_assert_arr_eq(a, attrs, sizeof(attrs));
	snprintf(e->seen + at, sizeof(e->seen) - at, "%u/%s/%s=%.*s,", id->auth_type, id->app,
	         id->name, (int)ref_len, ref_len ? (const char *)ref : "");
	e->n++;
	return 0;
}

static int stop_cb(void *ctx, const struct ks_key_id *id, const uint8_t *ref, size_t ref_len,
                   const uint8_t *a, size_t len)
{
	(void)id;
	(void)ref;
	(void)ref_len;
	(void)a;
	(void)len;
	(*(int *)ctx)++;
	return 1;
}

Test(keystore, each_key_lists_only_the_instance_ready_keys_with_refs)
{
	struct ks_record r;
	struct each e = {0};
	int calls = 0;

	create_ref(&(struct ks_key_id){3, "1000", "a"}, TB, (const uint8_t *)"id-7", 4);
	create_ref(&alice_k1, TB, (const uint8_t *)"id-3", 4);
	create_ref(&(struct ks_key_id){1, "bob", "b"}, TB, (const uint8_t *)"id-5", 4);
	create_ref(&(struct ks_key_id){1, "alice", "sw"}, SW, (const uint8_t *)"sw-1", 4);
	/* Not ready: a reservation, and a key being destroyed. */
	cr_assert_eq(ks_reserve(ks, &(struct ks_key_id){1, "alice", "half"}, TB,
	                        (const uint8_t *)"id-9", 4, attrs, sizeof(attrs)),
	             TS_OK);
	create_ref(&(struct ks_key_id){1, "alice", "going"}, TB, (const uint8_t *)"id-8", 4);
	cr_assert_eq(ks_begin_destroy(ks, &(struct ks_key_id){1, "alice", "going"}, TB, &r), TS_OK);
	ks_record_clear(&r);

	cr_assert_eq(ks_each_key(ks, TB, each_cb, &e), TS_OK);
	cr_assert_eq(e.n, 3);
	cr_assert_str_eq(e.seen, "1/alice/k1=id-3,1/bob/b=id-5,3/1000/a=id-7,");
	memset(&e, 0, sizeof(e));
	cr_assert_eq(ks_each_key(ks, SW, each_cb, &e), TS_OK);
	cr_assert_str_eq(e.seen, "1/alice/sw=sw-1,");
	memset(&e, 0, sizeof(e));
	cr_assert_eq(ks_each_key(ks, "nobody", each_cb, &e), TS_OK);
	cr_assert_eq(e.n, 0);
	/* The callback can stop it. */
	cr_assert_eq(ks_each_key(ks, TB, stop_cb, &calls), TS_OK);
	cr_assert_eq(calls, 1);
}

Test(keystore, secret_never_on_disk_in_clear)
{
	char cmd[256];

	create(&alice_k1, SW);
	close_store();
	snprintf(cmd, sizeof(cmd), "grep -r -q -a 'THE-SECRET-KEY-BYTES' %s", dir);
	cr_assert_neq(system(cmd), 0, "the secret is in a file of %s", dir);
	cr_assert_eq(ks_open(db, kek, NULL, 0, &ks, err, sizeof(err)), TS_OK, "%s", err);
}

Test(keystore, record_moved_to_another_tenant_does_not_open)
{
	struct ks_record r;

	create(&alice_k1, SW);
	close_store();
	sql("UPDATE keys SET app = 'mallory'");
	cr_assert_eq(ks_open(db, kek, NULL, 0, &ks, err, sizeof(err)), TS_OK, "%s", err);
	cr_assert_eq(ks_get(ks, &(struct ks_key_id){1, "mallory", "k1"}, SW, &r),
	             TS_E_PSA_CORRUPTION_DETECTED);
}

Test(keystore, record_moved_to_another_instance_does_not_open)
{
	struct ks_record r;

	create(&alice_k1, SW);
	close_store();
	sql("UPDATE keys SET provider = '" TB "'");
	cr_assert_eq(ks_open(db, kek, NULL, 0, &ks, err, sizeof(err)), TS_OK, "%s", err);
	cr_assert_eq(ks_get(ks, &alice_k1, TB, &r), TS_E_PSA_CORRUPTION_DETECTED);
	cr_assert_eq(ks_get(ks, &alice_k1, SW, &r), TS_E_PSA_DOES_NOT_EXIST);
}

Test(keystore, altered_reference_does_not_open_and_is_not_handed_over)
{
	struct ks_record r;

	create_ref(&alice_k1, TB, ref1, sizeof(ref1));
	close_store();
	sql("UPDATE keys SET ref = x'6f626a2d32'"); /* "obj-2": someone else's object */
	cr_assert_eq(ks_open(db, kek, NULL, 0, &ks, err, sizeof(err)), TS_OK, "%s", err);
	cr_assert_eq(ks_get(ks, &alice_k1, TB, &r), TS_E_PSA_CORRUPTION_DETECTED);
	cr_assert_eq(ks_begin_destroy(ks, &alice_k1, TB, &r), TS_OK);
	cr_assert_str_eq(r.provider, TB);
	cr_assert_eq(r.ref_len, 0, "the provider must not destroy obj-2 on the record's word");
	cr_assert_null(r.material);
	ks_record_clear(&r);
	cr_assert_eq(ks_remove(ks, &alice_k1), TS_OK);
}

Test(keystore, altered_attributes_do_not_open)
{
	struct ks_record r;

	create(&alice_k1, SW);
	close_store();
	sql("UPDATE keys SET attrs = x'0a025a01'");
	cr_assert_eq(ks_open(db, kek, NULL, 0, &ks, err, sizeof(err)), TS_OK, "%s", err);
	cr_assert_eq(ks_get(ks, &alice_k1, SW, &r), TS_E_PSA_CORRUPTION_DETECTED);
	/* It can still be destroyed. */
	cr_assert_eq(ks_begin_destroy(ks, &alice_k1, SW, &r), TS_OK);
	cr_assert_null(r.material);
	ks_record_clear(&r);
	cr_assert_eq(ks_remove(ks, &alice_k1), TS_OK);
}

Test(keystore, wrong_kek_is_refused_at_open)
{
	int fd;

	close_store();
	fd = open(kek, O_WRONLY | O_TRUNC);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, "0123456789abcdef0123456789abcdef", 32), 32);
	close(fd);
	cr_assert_eq(ks_open(db, kek, NULL, 0, &ks, err, sizeof(err)), TS_E_KEY_INFO_MANAGER_ERROR);
	cr_assert(strstr(err, "does not match") != NULL, "%s", err);
	/* A KEK of the wrong size is refused too. */
	fd = open(kek, O_WRONLY | O_TRUNC);
	cr_assert_eq(write(fd, "short", 5), 5);
	close(fd);
	cr_assert_eq(ks_open(db, kek, NULL, 0, &ks, err, sizeof(err)), TS_E_KEY_INFO_MANAGER_ERROR);
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
	cr_assert_eq(ks_open(path, "/nonexistent/kek", NULL, 0, &other, err, sizeof(err)), TS_OK,
	             "%s", err);
	ks_close(other);
	/* The first store was made with another KEK: the credential does not fit. */
	cr_assert_eq(ks_open(db, kek, NULL, 0, &other, err, sizeof(err)),
	             TS_E_KEY_INFO_MANAGER_ERROR);
	unsetenv("CREDENTIALS_DIRECTORY");
}

/* What ks_recover handed over, in the order it did. */
struct recovered {
	int n;
	char seen[512];
};

static void recover_cb(void *ctx, const struct ks_key_id *id, const struct ks_record *r)
{
	struct recovered *rec = ctx;
	size_t at = strlen(rec->seen);

	snprintf(rec->seen + at, sizeof(rec->seen) - at, "%u/%s/%s@%s ref=%.*s mat=%zu,",
	         id->auth_type, id->app, id->name, r->provider, (int)r->ref_len,
	         r->ref_len ? (const char *)r->ref : "", r->material_len);
	rec->n++;
}

Test(keystore, recovery_removes_unfinished_records)
{
	struct ks_key_id half = {1, "alice", "half"}, going = {1, "alice", "going"};
	struct recovered rec = {0};
	struct ks_record r;
	unsigned n = 0;

	create(&alice_k1, SW);
	cr_assert_eq(ks_reserve(ks, &half, SW, NULL, 0, attrs, sizeof(attrs)), TS_OK);
	create(&going, SW);
	cr_assert_eq(ks_begin_destroy(ks, &going, SW, &r), TS_OK);
	ks_record_clear(&r);
	/* "Crash": reopen without finishing either. */
	reopen();
	cr_assert_eq(ks_recover(ks, recover_cb, &rec, &n), TS_OK);
	cr_assert_eq(n, 2);
	cr_assert_eq(rec.n, 2);
	cr_assert(strstr(rec.seen, "1/alice/half@" SW " ref= mat=0,") != NULL, "%s", rec.seen);
	cr_assert(strstr(rec.seen, "1/alice/going@" SW " ref= mat=38,") != NULL, "%s", rec.seen);
	cr_assert_eq(ks_get(ks, &alice_k1, SW, &r), TS_OK, "ready keys survive");
	ks_record_clear(&r);
	cr_assert_eq(ks_reserve(ks, &half, SW, NULL, 0, attrs, sizeof(attrs)), TS_OK,
	             "the name is free again");
	/* Nothing left to recover. */
	cr_assert_eq(ks_recover(ks, NULL, NULL, &n), TS_OK);
	cr_assert_eq(n, 1, "only the new reservation");
}

Test(keystore, recovery_hands_over_the_reserved_reference_after_a_crash)
{
	static const uint8_t tok_ref[] = {'C', 'K', 'A', '_', 'I', 'D', '-', '4', '2'};
	struct recovered rec = {0};
	unsigned n = 0;

	cr_assert_eq(ks_reserve(ks, &alice_k1, TB, tok_ref, sizeof(tok_ref), attrs, sizeof(attrs)),
	             TS_OK);
	/* The provider made its object; the daemon died before commit. */
	reopen();
	cr_assert_eq(ks_recover(ks, recover_cb, &rec, &n), TS_OK);
	cr_assert_eq(n, 1);
	cr_assert_str_eq(rec.seen, "1/alice/k1@" TB " ref=CKA_ID-42 mat=0,");
	cr_assert_eq(ks_reserve(ks, &alice_k1, SW, NULL, 0, attrs, sizeof(attrs)), TS_OK);
}

Test(keystore, recovery_withholds_an_altered_reference)
{
	struct recovered rec = {0};
	unsigned n = 0;

	cr_assert_eq(ks_reserve(ks, &alice_k1, TB, ref1, sizeof(ref1), attrs, sizeof(attrs)),
	             TS_OK);
	close_store();
	sql("UPDATE keys SET ref = x'6f626a2d32'");
	cr_assert_eq(ks_open(db, kek, NULL, 0, &ks, err, sizeof(err)), TS_OK, "%s", err);
	cr_assert_eq(ks_recover(ks, recover_cb, &rec, &n), TS_OK);
	cr_assert_eq(n, 1, "the record still goes");
	cr_assert_str_eq(rec.seen, "1/alice/k1@" TB " ref= mat=0,");
}

Test(keystore, schema_version_is_checked)
{
	close_store();
	sql("UPDATE meta SET value = 99 WHERE key = 'schema_version'");
	cr_assert_eq(ks_open(db, kek, NULL, 0, &ks, err, sizeof(err)), TS_E_KEY_INFO_MANAGER_ERROR);
	cr_assert(strstr(err, "99") != NULL, "%s", err);
}

/* ---- migration of a version-1 store made by the code at 9aeab3d ---- */

#define FIXTURE TESSERA_SOURCE_DIR "/tests/data/keystore-v1"

static void copy_file(const char *from, const char *to)
{
	char buf[4096];
	ssize_t n;
	int in = open(from, O_RDONLY), out;

	cr_assert_geq(in, 0, "%s", from);
	out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	cr_assert_geq(out, 0, "%s", to);
	while ((n = read(in, buf, sizeof(buf))) > 0)
		cr_assert_eq(write(out, buf, (size_t)n), n);
	cr_assert_eq(n, 0);
	close(in);
	close(out);
}

static uint8_t *slurp(const char *path, size_t *ret_len)
{
	struct stat sb;
	uint8_t *p;
	int fd = open(path, O_RDONLY);

	cr_assert_geq(fd, 0, "%s", path);
	cr_assert_eq(fstat(fd, &sb), 0);
	p = malloc((size_t)sb.st_size + 1);
	cr_assert_not_null(p);
	cr_assert_eq(read(fd, p, (size_t)sb.st_size), sb.st_size);
	close(fd);
	*ret_len = (size_t)sb.st_size;
	return p;
}

/* The file is byte for byte what it was. */
static void assert_unchanged(const uint8_t *before, size_t len)
{
	size_t now_len;
	uint8_t *now = slurp(db, &now_len);

	cr_assert_eq(now_len, len);
	cr_assert_arr_eq(now, before, len, "the store file changed");
	free(now);
}

static void setup_v1(void)
{
	make_dir();
	copy_file(FIXTURE "/keystore.sqlite3", db);
	copy_file(FIXTURE "/kek", kek);
}

TestSuite(migration, .init = setup_v1, .fini = teardown);

static const struct ks_legacy_provider sw_only[] = {{1, SW}};

static void bytes_from(uint8_t *p, uint8_t first)
{
	for (int i = 0; i < 32; i++)
		p[i] = (uint8_t)(first + i);
}

Test(migration, v1_store_is_migrated_to_v2)
{
	static const uint8_t ready_attrs[] = {0x0a, 0x02, 0x5a, 0x00, 0x10, 0x01};
	struct ks_key_id ready = {1, "alice", "ready-key"};
	struct ks_key_id other = {3, "1000", "other-ready"};
	struct recovered rec = {0};
	struct listed l = {0};
	struct ks_record r;
	uint8_t want[32], *before;
	size_t before_len;
	unsigned n = 0;

	cr_assert_eq(sql_int("SELECT value FROM meta WHERE key = 'schema_version'"), 1);
	cr_assert_eq(ks_open(db, kek, sw_only, 1, &ks, err, sizeof(err)), TS_OK, "%s", err);
	cr_assert_eq(sql_int("SELECT value FROM meta WHERE key = 'schema_version'"), 2);
	cr_assert_eq(sql_int("SELECT count(*) FROM keys WHERE provider = '" SW "'"), 4);

	bytes_from(want, 0x00);
	cr_assert_eq(ks_get(ks, &ready, SW, &r), TS_OK);
	cr_assert_str_eq(r.provider, SW);
	cr_assert_eq(r.ref_len, 0);
	cr_assert_eq(r.material_len, 32);
	cr_assert_arr_eq(r.material, want, 32);
	cr_assert_eq(r.attrs_len, sizeof(ready_attrs));
	cr_assert_arr_eq(r.attrs, ready_attrs, sizeof(ready_attrs));
	ks_record_clear(&r);
	bytes_from(want, 0x40);
	cr_assert_eq(ks_get(ks, &other, SW, &r), TS_OK);
	cr_assert_arr_eq(r.material, want, 32);
	ks_record_clear(&r);
	cr_assert_eq(ks_get(ks, &ready, TB, &r), TS_E_PSA_DOES_NOT_EXIST);

	/* The unfinished ones migrated as they were, for recovery. */
	cr_assert_eq(ks_recover(ks, recover_cb, &rec, &n), TS_OK);
	cr_assert_eq(n, 2);
	cr_assert(strstr(rec.seen, "3/1000/half-key@" SW " ref= mat=0,") != NULL, "%s", rec.seen);
	cr_assert(strstr(rec.seen, "1/alice/going-key@" SW " ref= mat=32,") != NULL, "%s",
	          rec.seen);
	cr_assert_eq(ks_list(ks, 3, "1000", list_count_cb, &l), TS_OK);
	cr_assert_eq(l.n, 1);
	close_store();

	/* A version-2 store: opening does nothing more, and needs no table. */
	before = slurp(db, &before_len);
	cr_assert_eq(ks_open(db, kek, NULL, 0, &ks, err, sizeof(err)), TS_OK, "%s", err);
	bytes_from(want, 0x00);
	cr_assert_eq(ks_get(ks, &ready, SW, &r), TS_OK);
	cr_assert_arr_eq(r.material, want, 32);
	ks_record_clear(&r);
	close_store();
	assert_unchanged(before, before_len);
	free(before);
}

Test(migration, v1_store_with_an_unlisted_provider_is_left_as_it_was)
{
	static const struct ks_legacy_provider other_type[] = {{2, "token-a"}};
	uint8_t *before;
	size_t before_len;

	before = slurp(db, &before_len);
	cr_assert_eq(ks_open(db, kek, NULL, 0, &ks, err, sizeof(err)), TS_E_KEY_INFO_MANAGER_ERROR);
	cr_assert_null(ks);
	cr_assert(strstr(err, "provider ID 1") != NULL, "%s", err);
	cr_assert(strstr(err, "configuration must list") != NULL, "%s", err);
	assert_unchanged(before, before_len);
	/* A table for another provider type does not help either. */
	cr_assert_eq(ks_open(db, kek, other_type, 1, &ks, err, sizeof(err)),
	             TS_E_KEY_INFO_MANAGER_ERROR);
	cr_assert(strstr(err, "provider ID 1") != NULL, "%s", err);
	assert_unchanged(before, before_len);
	cr_assert_eq(sql_int("SELECT count(*) FROM keys WHERE provider = 1"), 4);
	free(before);
}

Test(migration, ambiguous_table_is_refused)
{
	static const struct ks_legacy_provider twice[] = {{1, SW}, {1, "software-2"}};
	uint8_t *before;
	size_t before_len;

	before = slurp(db, &before_len);
	cr_assert_eq(ks_open(db, kek, twice, 2, &ks, err, sizeof(err)),
	             TS_E_KEY_INFO_MANAGER_ERROR);
	cr_assert(strstr(err, "provider ID 1") != NULL, "%s", err);
	assert_unchanged(before, before_len);
	free(before);
}

Test(migration, wrong_kek_is_refused_before_migrating)
{
	uint8_t *before;
	size_t before_len;
	int fd;

	fd = open(kek, O_WRONLY | O_TRUNC);
	cr_assert_eq(write(fd, "0123456789abcdef0123456789abcdef", 32), 32);
	close(fd);
	before = slurp(db, &before_len);
	cr_assert_eq(ks_open(db, kek, sw_only, 1, &ks, err, sizeof(err)),
	             TS_E_KEY_INFO_MANAGER_ERROR);
	cr_assert(strstr(err, "does not match") != NULL, "%s", err);
	assert_unchanged(before, before_len);
	free(before);
}

Test(migration, v1_record_that_did_not_open_still_does_not)
{
	struct ks_key_id ready = {1, "alice", "ready-key"};
	struct ks_key_id other = {3, "1000", "other-ready"};
	struct ks_record r;

	sql("UPDATE keys SET attrs = x'00' WHERE name = 'ready-key'");
	cr_assert_eq(ks_open(db, kek, sw_only, 1, &ks, err, sizeof(err)), TS_OK, "%s", err);
	cr_assert_eq(ks_get(ks, &ready, SW, &r), TS_E_PSA_CORRUPTION_DETECTED);
	cr_assert_eq(ks_get(ks, &other, SW, &r), TS_OK, "the others migrated");
	ks_record_clear(&r);
	cr_assert_eq(ks_begin_destroy(ks, &ready, SW, &r), TS_OK, "and it can be destroyed");
	cr_assert_null(r.material);
	ks_record_clear(&r);
}

/* ---- one daemon per store, and deletion that erases ---- */

Test(keystore, a_second_open_of_the_store_is_refused_naming_the_holder)
{
	struct ks *other = NULL;
	char pid[24];

	snprintf(pid, sizeof(pid), "%ld", (long)getpid());
	cr_assert_eq(ks_open(db, kek, NULL, 0, &other, err, sizeof(err)),
	             TS_E_KEY_INFO_MANAGER_ERROR, "a second opener got the store");
	cr_assert_null(other);
	cr_assert(strstr(err, "in use by process") != NULL && strstr(err, pid) != NULL, "%s", err);
	/* Closed, the store is free again. */
	ks_close(ks);
	cr_assert_eq(ks_open(db, kek, NULL, 0, &ks, err, sizeof(err)), TS_OK, "%s", err);
}

/* Whether needle occurs in the file at path (a missing file has nothing). */
static bool file_holds(const char *path, const uint8_t *needle, size_t len)
{
	FILE *f = fopen(path, "rb");
	static uint8_t buf[1 << 20];
	size_t n;

	if (f == NULL)
		return false;
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	return n >= len && memmem(buf, n, needle, len) != NULL;
}

/* The sealed material of a key, as the store wrote it. */
static size_t sealed_blob(const char *name, uint8_t *out, size_t max)
{
	sqlite3 *h;
	sqlite3_stmt *st;
	size_t n = 0;

	cr_assert_eq(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	cr_assert_eq(
	        sqlite3_prepare_v2(h, "SELECT material FROM keys WHERE name = ?", -1, &st, NULL),
	        SQLITE_OK);
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		n = (size_t)sqlite3_column_bytes(st, 0);
		cr_assert_leq(n, max);
		memcpy(out, sqlite3_column_blob(st, 0), n);
	}
	sqlite3_finalize(st);
	sqlite3_close(h);
	return n;
}

Test(keystore, a_destroyed_key_leaves_no_sealed_copy_in_the_database_or_the_wal)
{
	struct ks_record r = {0};
	uint8_t blob[256];
	size_t n;
	char wal[160];

	snprintf(wal, sizeof(wal), "%s-wal", db);
	create(&alice_k1, SW);
	n = sealed_blob("k1", blob, sizeof(blob));
	cr_assert_gt(n, 32);
	cr_assert(file_holds(db, blob + 8, 32) || file_holds(wal, blob + 8, 32),
	          "the test cannot see the record it is about to destroy");
	cr_assert_eq(ks_begin_destroy(ks, &alice_k1, SW, &r), TS_OK);
	ks_record_clear(&r);
	cr_assert_eq(ks_remove(ks, &alice_k1), TS_OK);
	cr_assert(!file_holds(db, blob + 8, 32), "the database still holds the sealed record");
	cr_assert(!file_holds(wal, blob + 8, 32), "the WAL still holds the sealed record");
	/* A roll-back of a creation erases too. */
	cr_assert_eq(ks_reserve(ks, &alice_k1, SW, NULL, 0, attrs, sizeof(attrs)), TS_OK);
	n = sealed_blob("k1", blob, sizeof(blob));
	cr_assert_eq(ks_abort(ks, &alice_k1), TS_OK);
	cr_assert(!file_holds(db, blob + 8, 16) && !file_holds(wal, blob + 8, 16));
}

/* ---- issue 11 finding 3: where the KEK lives and who may read it ---- */

Test(keystore, a_kek_file_open_to_other_users_is_refused)
{
	create(&alice_k1, SW);
	close_store();
	cr_assert_eq(chmod(kek, 0644), 0);
	cr_assert_eq(ks_open(db, kek, NULL, 0, &ks, err, sizeof(err)), TS_E_KEY_INFO_MANAGER_ERROR);
	cr_assert(strstr(err, "open to other users") != NULL && strstr(err, "0644") != NULL, "%s",
	          err);
	cr_assert_eq(chmod(kek, 0620), 0);
	cr_assert_eq(ks_open(db, kek, NULL, 0, &ks, err, sizeof(err)), TS_E_KEY_INFO_MANAGER_ERROR,
	             "group-writable");
	cr_assert_eq(chmod(kek, 0600), 0);
	reopen();
}

Test(keystore, a_missing_kek_is_not_made_anew_for_a_store_with_records)
{
	struct ks_record r;

	create(&alice_k1, SW);
	close_store();
	cr_assert_eq(rename(kek, "/tmp/tsks-kek-aside"), 0);
	cr_assert_eq(ks_open(db, kek, NULL, 0, &ks, err, sizeof(err)), TS_E_KEY_INFO_MANAGER_ERROR);
	cr_assert(strstr(err, "is missing") != NULL, "%s", err);
	cr_assert_neq(access(kek, F_OK), 0, "no new key was written");
	/* The key put back: everything opens as before. */
	cr_assert_eq(rename("/tmp/tsks-kek-aside", kek), 0);
	reopen();
	cr_assert_eq(ks_get(ks, &alice_k1, SW, &r), TS_OK);
	ks_record_clear(&r);
}

Test(keystore, an_old_default_kek_beside_the_store_is_refused_naming_the_move)
{
	char old[160];

	close_store();
	snprintf(old, sizeof(old), "%s.kek", db);
	cr_assert_eq(rename(kek, old), 0);
	cr_assert_eq(ks_open(db, kek, NULL, 0, &ks, err, sizeof(err)), TS_E_KEY_INFO_MANAGER_ERROR);
	cr_assert(strstr(err, "mv ") != NULL && strstr(err, old) != NULL, "%s", err);
	cr_assert_neq(access(kek, F_OK), 0);
	cr_assert_eq(rename(old, kek), 0);
	reopen();
}

Test(keystore, a_new_kek_goes_in_a_private_directory_of_its_own)
{
	char path[160], other[160];
	struct ks *o;
	struct stat sb;

	snprintf(path, sizeof(path), "%s/secrets/tesserad.kek", dir);
	snprintf(other, sizeof(other), "%s/new.sqlite3", dir);
	cr_assert_eq(ks_open(other, path, NULL, 0, &o, err, sizeof(err)), TS_OK, "%s", err);
	cr_assert_eq(ks_kek_source(o), KS_KEK_NEW_FILE);
	ks_close(o);
	cr_assert_eq(stat(path, &sb), 0);
	cr_assert_eq(sb.st_mode & 0777, 0600);
	cr_assert_eq(sb.st_size, 32);
	*strrchr(path, '/') = '\0';
	cr_assert_eq(stat(path, &sb), 0);
	cr_assert_eq(sb.st_mode & 0777, 0700);
	cr_assert_eq(ks_kek_source(ks), KS_KEK_NEW_FILE);
	reopen();
	cr_assert_eq(ks_kek_source(ks), KS_KEK_FILE);
}

Test(keystore, rekey_seals_every_record_under_the_new_key_and_only_it_opens_the_store)
{
	const struct ks_key_id bob = {.auth_type = 3, .app = "1000", .name = "b"};
	char fresh[160];
	unsigned n = 0, damaged = 9;
	struct ks_record r;

	snprintf(fresh, sizeof(fresh), "%s/fresh.kek", dir);
	create(&alice_k1, SW);
	create_ref(&bob, TB, ref1, sizeof(ref1));
	cr_assert_eq(ks_rekey(ks, fresh, &n, &damaged, err, sizeof(err)), TS_OK, "%s", err);
	cr_assert_eq(n, 2);
	cr_assert_eq(damaged, 0);
	/* The running store keeps working, on the new key. */
	create(&(struct ks_key_id){1, "alice", "after"}, SW);
	close_store();
	cr_assert_eq(ks_open(db, kek, NULL, 0, &ks, err, sizeof(err)), TS_E_KEY_INFO_MANAGER_ERROR,
	             "the old key no longer opens the store");
	cr_assert(strstr(err, "does not match") != NULL && strstr(err, "rekey") != NULL, "%s", err);
	cr_assert_eq(ks_open(db, fresh, NULL, 0, &ks, err, sizeof(err)), TS_OK, "%s", err);
	cr_assert_eq(ks_get(ks, &alice_k1, SW, &r), TS_OK);
	cr_assert_arr_eq(r.material, secret, sizeof(secret));
	ks_record_clear(&r);
	cr_assert_eq(ks_get(ks, &bob, TB, &r), TS_OK);
	cr_assert_arr_eq(r.ref, ref1, sizeof(ref1));
	ks_record_clear(&r);
	cr_assert_eq(ks_get(ks, &(struct ks_key_id){1, "alice", "after"}, SW, &r), TS_OK);
	ks_record_clear(&r);
	/* Rotating to the key in use is refused. */
	cr_assert_eq(ks_rekey(ks, fresh, &n, &damaged, err, sizeof(err)),
	             TS_E_KEY_INFO_MANAGER_ERROR);
	close_store();
	strcpy(kek, fresh);
	reopen();
}

Test(keystore, rekey_to_a_key_others_can_read_changes_nothing)
{
	char fresh[160];
	unsigned n, damaged;
	int fd;
	struct ks_record r;

	create(&alice_k1, SW);
	snprintf(fresh, sizeof(fresh), "%s/fresh.kek", dir);
	fd = open(fresh, O_WRONLY | O_CREAT, 0644);
	cr_assert_eq(write(fd, "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345", 32), 32);
	close(fd);
	cr_assert_eq(chmod(fresh, 0644), 0);
	cr_assert_eq(ks_rekey(ks, fresh, &n, &damaged, err, sizeof(err)),
	             TS_E_KEY_INFO_MANAGER_ERROR);
	cr_assert(strstr(err, "open to other users") != NULL, "%s", err);
	reopen();
	cr_assert_eq(ks_get(ks, &alice_k1, SW, &r), TS_OK, "still under the old key");
	ks_record_clear(&r);
}

Test(keystore, a_record_that_opens_with_no_key_is_left_and_counted_by_rekey)
{
	char fresh[160];
	unsigned n = 0, damaged = 0;

	create(&alice_k1, SW);
	create(&(struct ks_key_id){1, "alice", "k2"}, SW);
	close_store();
	sql("UPDATE keys SET material = zeroblob(64) WHERE name = 'k2'");
	reopen();
	snprintf(fresh, sizeof(fresh), "%s/fresh.kek", dir);
	cr_assert_eq(ks_rekey(ks, fresh, &n, &damaged, err, sizeof(err)), TS_OK, "%s", err);
	cr_assert_eq(n, 1);
	cr_assert_eq(damaged, 1);
	close_store();
	strcpy(kek, fresh);
	reopen();
}

/* ---- issue 11 finding 8: a damaged store ---- */

Test(keystore, a_damaged_file_is_refused_at_open_naming_the_recovery)
{
	uint8_t junk[300];
	int fd;

	/* Enough records for several pages, then the pages' structure
	 * overwritten where a b-tree page keeps its header and cell
	 * pointers. */
	for (int i = 0; i < 60; i++) {
		char name[16];

		snprintf(name, sizeof(name), "k%d", i);
		create(&(struct ks_key_id){1, "alice", name}, SW);
	}
	close_store();
	cr_assert_gt(sql_int("PRAGMA page_count"), 4);
	memset(junk, 0x5a, sizeof(junk));
	fd = open(db, O_WRONLY);
	cr_assert_geq(fd, 0);
	for (int page = 2; page <= 4; page++)
		cr_assert_eq(pwrite(fd, junk, 100, (off_t)(page - 1) * sql_int("PRAGMA page_size")),
		             100);
	close(fd);
	cr_assert_eq(ks_open(db, kek, NULL, 0, &ks, err, sizeof(err)), TS_E_KEY_INFO_MANAGER_ERROR);
	cr_assert(strstr(err, "damaged") != NULL && strstr(err, ".recover") != NULL, "%s", err);
	cr_assert_null(ks);
}

Test(keystore, a_damaged_record_is_reported_once)
{
	bool full = true;
	const struct ks_key_id other = {.auth_type = 1, .app = "bob", .name = "k1"};

	cr_assert(ks_first_report(ks, &alice_k1, &full));
	cr_assert_not(full);
	cr_assert_not(ks_first_report(ks, &alice_k1, &full), "reported once");
	cr_assert(ks_first_report(ks, &other, &full), "another identity is reported");
	for (int i = 0; i < 300; i++) {
		char name[16];

		snprintf(name, sizeof(name), "n%d", i);
		(void)ks_first_report(ks, &(struct ks_key_id){1, "alice", name}, &full);
		if (full)
			break;
	}
	cr_assert(full, "a bounded set says once that it is full");
	cr_assert_not(ks_first_report(ks, &(struct ks_key_id){1, "alice", "later"}, &full));
	cr_assert_not(full, "and then stays silent");
}
