/* The SQLite key store with sealed key material: the operations. */
#include "keystore/keystore.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/secmem.h"
#include "keystore/keystore-priv.h"

void ks_record_clear(struct ks_record *r)
{
	if (r == NULL)
		return;
	free(r->provider);
	free(r->ref);
	free(r->attrs);
	ts_free_secret(r->material, r->material_len);
	memset(r, 0, sizeof(*r));
}

static size_t slot_of(const struct ks_key_id *id)
{
	/* FNV-1a over the identity; the slot is only a hint, entries are
	 * compared in full. */
	uint64_t h = 1469598103934665603ULL;
	const char *parts[2] = {id->app, id->name};

	h = (h ^ id->auth_type) * 1099511628211ULL;
	for (int k = 0; k < 2; k++) {
		for (const char *p = parts[k]; *p != '\0'; p++)
			h = (h ^ (uint8_t)*p) * 1099511628211ULL;
		h = (h ^ 0xFF) * 1099511628211ULL;
	}
	return (size_t)(h % CACHE_SLOTS);
}

static void cached_clear(struct cached *c)
{
	free(c->app);
	free(c->name);
	ks_record_clear(&c->r);
	memset(c, 0, sizeof(*c));
}

static bool cached_is(const struct cached *c, const struct ks_key_id *id)
{
	return c->app != NULL && c->auth_type == id->auth_type && strcmp(c->app, id->app) == 0 &&
	       strcmp(c->name, id->name) == 0;
}

/* Forget a key (it changed state); caller holds the database lock. */
static void cache_drop(struct ks *ks, const struct ks_key_id *id)
{
	struct cached *c = &ks->cache[slot_of(id)];

	pthread_mutex_lock(&ks->cache_lock);
	if (cached_is(c, id))
		cached_clear(c);
	pthread_mutex_unlock(&ks->cache_lock);
}

/* A malloc'd copy of len bytes (never NULL for len 0, so that NULL means
 * out of memory). */
static uint8_t *dup_bytes(const void *p, size_t len)
{
	uint8_t *d = malloc(len ? len : 1);

	if (d != NULL && len > 0)
		memcpy(d, p, len);
	return d;
}

static int record_copy(const struct ks_record *from, struct ks_record *to)
{
	memset(to, 0, sizeof(*to));
	to->provider = strdup(from->provider);
	to->ref = dup_bytes(from->ref, from->ref_len);
	to->attrs = dup_bytes(from->attrs, from->attrs_len);
	to->material = dup_bytes(from->material, from->material_len);
	to->material_len = from->material_len; /* so a partial copy is wiped whole */
	if (to->provider == NULL || to->ref == NULL || to->attrs == NULL || to->material == NULL) {
		ks_record_clear(to);
		return -1;
	}
	to->ref_len = from->ref_len;
	to->attrs_len = from->attrs_len;
	return 0;
}

/*
 * One daemon per store: a second one would serve keys from its cache that
 * the first has destroyed. The lock is on a file of its own next to the
 * store (SQLite's close drops POSIX locks on the database file), and holds
 * the holder's pid for the message. 0, or -1 with a message in err.
 */
static int take_lock(struct ks *ks, const char *db_path, char *err, size_t errlen)
{
	char path[4200], pid[24];
	ssize_t n;
	int len;

	snprintf(path, sizeof(path), "%s.lock", db_path);
	ks->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (ks->lock_fd < 0) {
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	if (flock(ks->lock_fd, LOCK_EX | LOCK_NB) != 0) {
		n = pread(ks->lock_fd, pid, sizeof(pid) - 1, 0);
		pid[n > 0 ? n : 0] = '\0';
		pid[strcspn(pid, "\n")] = '\0';
		snprintf(err, errlen,
		         "key store %s is in use by process %s (another tesserad on the same "
		         "store?)",
		         db_path, pid[0] != '\0' ? pid : "(unknown)");
		close(ks->lock_fd);
		ks->lock_fd = -1;
		return -1;
	}
	len = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(ks->lock_fd, 0) != 0 || pwrite(ks->lock_fd, pid, (size_t)len, 0) != len) {
		/* The lock holds; only the message of a second daemon suffers. */
	}
	return 0;
}

/*
 * A damaged file is refused at open, before anything is written to it: a
 * store that half works (one tenant's keys unreadable, new keys still made
 * into broken pages) hides the damage until it is worse. SQLite's
 * quick_check reads every page of the b-trees (linear in the file's size,
 * milliseconds for thousands of keys); it does not check each record's
 * content, which the seal does. 0, or -1 with a message in err.
 */
static int quick_check(struct ks *ks, const char *db_path, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	const char *first = NULL;
	int rc;

	rc = sqlite3_prepare_v2(ks->db, "PRAGMA quick_check(1)", -1, &st, NULL);
	if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		first = (const char *)sqlite3_column_text(st, 0);
		if (first != NULL && strcmp(first, "ok") == 0) {
			sqlite3_finalize(st);
			return 0;
		}
	}
	snprintf(err, errlen,
	         "key store %s is damaged (SQLite: %s); refusing to use it. Stop here, keep a "
	         "copy of the files, and recover the readable records as docs/keystore.md "
	         "(\"A damaged key store\") shows: sqlite3 '%s' .recover | sqlite3 '%s.recovered'",
	         db_path, first != NULL ? first : sqlite3_errstr(rc), db_path, db_path);
	sqlite3_finalize(st);
	return -1;
}

enum ts_err ks_open(const char *db_path, const char *kek_path,
                    const struct ks_legacy_provider *legacy, size_t n_legacy, struct ks **ret_ks,
                    char *err, size_t errlen)
{
	struct ks *ks = calloc(1, sizeof(*ks));
	int fd;

	err[0] = '\0';
	if (ks == NULL)
		return TS_E_NOMEM;
	ks->lock_fd = -1;
	pthread_mutex_init(&ks->lock, NULL);
	pthread_mutex_init(&ks->cache_lock, NULL);
	if (take_lock(ks, db_path, err, errlen) < 0 ||
	    ks_load_kek(ks, db_path, kek_path, err, errlen) < 0)
		goto fail;
	/* Create the file ourselves so it is 0600 whatever the umask. */
	fd = open(db_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "cannot open key store %s: %s", db_path, strerror(errno));
		goto fail;
	}
	fchmod(fd, 0600);
	close(fd);
	if (sqlite3_open_v2(db_path, &ks->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX,
	                    NULL) != SQLITE_OK) {
		snprintf(err, errlen, "cannot open key store %s: %s", db_path,
		         ks->db ? sqlite3_errmsg(ks->db) : "out of memory");
		goto fail;
	}
	sqlite3_busy_timeout(ks->db, 5000);
	/* WAL and FULL sync: a key the client was told exists survives a crash
	 * or power loss. */
	/* secure_delete: SQLite overwrites what a delete frees, so a destroyed
	 * key's sealed record does not stay in free pages (the WAL is
	 * checkpointed and truncated after each deletion, erase()). */
	if (sqlite3_exec(ks->db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_exec(ks->db, "PRAGMA synchronous=FULL", NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_exec(ks->db, "PRAGMA secure_delete=ON", NULL, NULL, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "key store %s: %s", db_path, sqlite3_errmsg(ks->db));
		goto fail;
	}
	if (quick_check(ks, db_path, err, errlen) < 0 ||
	    ks_init_schema(ks, legacy, n_legacy, err, errlen) < 0)
		goto fail;
	*ret_ks = ks;
	return TS_OK;
fail:
	ks_close(ks);
	return TS_E_KEY_INFO_MANAGER_ERROR;
}

enum ks_kek_source ks_kek_source(const struct ks *ks)
{
	return ks->kek_source;
}

void ks_close(struct ks *ks)
{
	if (ks == NULL)
		return;
	for (size_t i = 0; i < CACHE_SLOTS; i++)
		cached_clear(&ks->cache[i]);
	for (size_t i = 0; i < ks->n_pending; i++) {
		free(ks->pending[i].app);
		free(ks->pending[i].name);
	}
	for (size_t i = 0; i < ks->n_reported && i < KS_REPORTED_MAX; i++) {
		free(ks->reported[i].app);
		free(ks->reported[i].name);
	}
	sqlite3_close(ks->db);
	if (ks->lock_fd >= 0)
		close(ks->lock_fd); /* and the lock with it */
	ts_wipe(ks->kek, sizeof(ks->kek));
	pthread_mutex_destroy(&ks->lock);
	pthread_mutex_destroy(&ks->cache_lock);
	free(ks);
}

static void bind_id(sqlite3_stmt *st, const struct ks_key_id *id)
{
	sqlite3_bind_int(st, 1, id->auth_type);
	sqlite3_bind_text(st, 2, id->app, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, id->name, -1, SQLITE_STATIC);
}

/* Run a query for one key's row; the caller holds the lock. TS_OK with
 * *st on the row; TS_E_PSA_DOES_NOT_EXIST when there is none; a storage
 * error. *st is set either way (finalize it). */
static enum ts_err select_one(struct ks *ks, const char *sql, const struct ks_key_id *id,
                              sqlite3_stmt **st)
{
	int rc = sqlite3_prepare_v2(ks->db, sql, -1, st, NULL);

	if (rc != SQLITE_OK)
		return ks_db_err(rc);
	bind_id(*st, id);
	rc = sqlite3_step(*st);
	if (rc == SQLITE_ROW)
		return TS_OK;
	return rc == SQLITE_DONE ? TS_E_PSA_DOES_NOT_EXIST : ks_db_err(rc);
}

static enum ts_err delete_row(struct ks *ks, const struct ks_key_id *id, int state);

/* Drop the reservations whose roll-back failed earlier; caller holds the lock. */
static void retry_pending(struct ks *ks)
{
	for (size_t i = 0; i < ks->n_pending;) {
		struct ks_pending *p = &ks->pending[i];
		struct ks_key_id id = {.auth_type = p->auth_type, .app = p->app, .name = p->name};

		if (delete_row(ks, &id, ST_CREATING) != TS_OK) {
			i++;
			continue;
		}
		free(p->app);
		free(p->name);
		*p = ks->pending[--ks->n_pending];
	}
}

/* Remember a reservation to drop later; caller holds the lock. Past the
 * limit (or out of memory) recovery at the next start drops it. */
static void add_pending(struct ks *ks, const struct ks_key_id *id)
{
	struct ks_pending *p;

	if (ks->n_pending == KS_PENDING_MAX)
		return;
	p = &ks->pending[ks->n_pending];
	p->auth_type = id->auth_type;
	p->app = strdup(id->app);
	p->name = strdup(id->name);
	if (p->app == NULL || p->name == NULL) {
		free(p->app);
		free(p->name);
		return;
	}
	ks->n_pending++;
}

void ks_set_quotas(struct ks *ks, uint64_t max_keys, uint64_t max_bytes)
{
	pthread_mutex_lock(&ks->lock);
	ks->max_keys = max_keys;
	ks->max_bytes = max_bytes;
	pthread_mutex_unlock(&ks->lock);
}

/* Whether the tenant has room for one more record of `bytes` bytes, not
 * counting its own reservation of that name (a commit replaces it). Caller
 * holds the lock. TS_OK, TS_E_PSA_INSUFFICIENT_STORAGE, or a database
 * error. */
static enum ts_err quota_check(struct ks *ks, const struct ks_key_id *id, uint64_t bytes)
{
	sqlite3_stmt *st = NULL;
	enum ts_err err;
	int rc;

	if (ks->max_keys == 0 && ks->max_bytes == 0)
		return TS_OK;
	rc = sqlite3_prepare_v2(ks->db,
	                        "SELECT count(*), coalesce(sum(length(CAST(name AS BLOB)) + "
	                        "length(attrs) + length(ref) + coalesce(length(material), 0)), 0) "
	                        "FROM keys WHERE auth_type = ?1 AND app = ?2 AND "
	                        "NOT (name = ?3 AND state = 1)",
	                        -1, &st, NULL);
	if (rc == SQLITE_OK) {
		bind_id(st, id);
		rc = sqlite3_step(st);
	}
	if (rc != SQLITE_ROW) {
		err = ks_db_err(rc);
	} else {
		uint64_t keys = (uint64_t)sqlite3_column_int64(st, 0);
		uint64_t used = (uint64_t)sqlite3_column_int64(st, 1);

		err = (ks->max_keys != 0 && keys + 1 > ks->max_keys) ||
		                      (ks->max_bytes != 0 && used + bytes > ks->max_bytes)
		              ? TS_E_PSA_INSUFFICIENT_STORAGE
		              : TS_OK;
	}
	sqlite3_finalize(st);
	return err;
}

enum ts_err ks_reserve(struct ks *ks, const struct ks_key_id *id, const char *provider,
                       const uint8_t *ref, size_t ref_len, const uint8_t *attrs, size_t attrs_len)
{
	const struct ks_binding b = {id, provider, ref, ref_len, attrs, attrs_len};
	sqlite3_stmt *st = NULL;
	uint8_t *blob = NULL;
	size_t blen = 0;
	enum ts_err err;
	int rc;

	/* A seal of nothing binds the reference to the record, so recovery
	 * hands a provider only a reference the store wrote. */
	err = ks_seal_record(ks, &b, NULL, 0, &blob, &blen);
	if (err != TS_OK)
		return err;
	pthread_mutex_lock(&ks->lock);
	if (ks->n_pending > 0)
		retry_pending(ks);
	err = quota_check(ks, id, strlen(id->name) + ref_len + attrs_len + blen);
	if (err != TS_OK) {
		pthread_mutex_unlock(&ks->lock);
		free(blob);
		return err;
	}
	rc = sqlite3_prepare_v2(ks->db,
	                        "INSERT INTO keys (auth_type, app, name, provider, ref, state, "
	                        "attrs, material) VALUES (?, ?, ?, ?, ?, 1, ?, ?)",
	                        -1, &st, NULL);
	if (rc == SQLITE_OK) {
		bind_id(st, id);
		sqlite3_bind_text(st, 4, provider, -1, SQLITE_STATIC);
		ks_bind_blob(st, 5, ref, ref_len);
		ks_bind_blob(st, 6, attrs, attrs_len);
		sqlite3_bind_blob(st, 7, blob, (int)blen, SQLITE_STATIC);
		rc = sqlite3_step(st);
	}
	if (rc == SQLITE_DONE)
		err = TS_OK;
	else if (sqlite3_extended_errcode(ks->db) == SQLITE_CONSTRAINT_PRIMARYKEY)
		err = TS_E_PSA_ALREADY_EXISTS;
	else
		err = ks_db_err(rc);
	sqlite3_finalize(st);
	pthread_mutex_unlock(&ks->lock);
	free(blob); /* sealed: not secret */
	return err;
}

enum ts_err ks_commit(struct ks *ks, const struct ks_key_id *id, const uint8_t *ref, size_t ref_len,
                      const uint8_t *attrs, size_t attrs_len, const uint8_t *material,
                      size_t material_len)
{
	struct ks_binding b = {
	        .id = id, .ref = ref, .ref_len = ref_len, .attrs = attrs, .attrs_len = attrs_len};
	sqlite3_stmt *st = NULL;
	char *provider = NULL;
	uint8_t *blob = NULL, *reserved = NULL;
	size_t blen = 0;
	enum ts_err err = TS_E_PSA_DOES_NOT_EXIST;
	int rc;

	pthread_mutex_lock(&ks->lock);
	cache_drop(ks, id);
	err = select_one(ks,
	                 "SELECT provider, ref FROM keys WHERE auth_type = ? AND app = ? "
	                 "AND name = ? AND state = 1",
	                 id, &st);
	if (err != TS_OK)
		goto out;
	provider = strdup((const char *)sqlite3_column_text(st, 0));
	if (ref == NULL) {
		b.ref_len = (size_t)sqlite3_column_bytes(st, 1);
		reserved = dup_bytes(sqlite3_column_blob(st, 1), b.ref_len);
		b.ref = reserved;
	}
	sqlite3_finalize(st);
	st = NULL;
	err = TS_E_NOMEM;
	if (provider == NULL || (ref == NULL && reserved == NULL))
		goto out;
	b.provider = provider;
	err = ks_seal_record(ks, &b, material, material_len, &blob, &blen);
	if (err != TS_OK)
		goto out;
	/* The material is known only now: the quota is checked again. */
	err = quota_check(ks, id, strlen(id->name) + b.ref_len + attrs_len + blen);
	if (err != TS_OK)
		goto out;
	rc = sqlite3_prepare_v2(ks->db,
	                        "UPDATE keys SET state = 2, ref = ?4, attrs = ?5, material = ?6 "
	                        "WHERE auth_type = ?1 AND app = ?2 AND name = ?3 AND state = 1",
	                        -1, &st, NULL);
	if (rc == SQLITE_OK) {
		bind_id(st, id);
		ks_bind_blob(st, 4, b.ref, b.ref_len);
		ks_bind_blob(st, 5, attrs, attrs_len);
		sqlite3_bind_blob(st, 6, blob, (int)blen, SQLITE_STATIC);
		rc = sqlite3_step(st);
	}
	err = rc == SQLITE_DONE ? TS_OK : ks_db_err(rc);
out:
	sqlite3_finalize(st);
	free(provider);
	free(reserved);
	free(blob); /* sealed: not secret */
	pthread_mutex_unlock(&ks->lock);
	return err;
}

static enum ts_err delete_row(struct ks *ks, const struct ks_key_id *id, int state)
{
	sqlite3_stmt *st = NULL;
	int rc;

	rc = sqlite3_prepare_v2(ks->db,
	                        state ? "DELETE FROM keys WHERE auth_type = ? AND app = ? AND "
	                                "name = ? AND state = ?"
	                              : "DELETE FROM keys WHERE auth_type = ? AND app = ? AND "
	                                "name = ?",
	                        -1, &st, NULL);
	if (rc == SQLITE_OK) {
		bind_id(st, id);
		if (state)
			sqlite3_bind_int(st, 4, state);
		rc = sqlite3_step(st);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? TS_OK : ks_db_err(rc);
}

/*
 * After a record is deleted: the pages that held it are overwritten in the
 * database (secure_delete), but earlier versions of them are still frames
 * of the WAL until a checkpoint. Copy the WAL into the database and cut it
 * to nothing, so no file of the store keeps the sealed record. Caller
 * holds the lock. A failure (a reader in the way) leaves it for the next
 * deletion or SQLite's own checkpoint; the record is gone for clients.
 */
static void erase(struct ks *ks)
{
	(void)sqlite3_wal_checkpoint_v2(ks->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
}

/* Delete a record that is in the given state (the last step of create
 * rollback and of destroy). */
static enum ts_err delete_in_state(struct ks *ks, const struct ks_key_id *id, int state)
{
	enum ts_err err;

	pthread_mutex_lock(&ks->lock);
	cache_drop(ks, id);
	err = delete_row(ks, id, state);
	if (err == TS_OK)
		erase(ks);
	pthread_mutex_unlock(&ks->lock);
	return err;
}

enum ts_err ks_abort(struct ks *ks, const struct ks_key_id *id)
{
	enum ts_err err;

	pthread_mutex_lock(&ks->lock);
	cache_drop(ks, id);
	err = delete_row(ks, id, ST_CREATING);
	if (err != TS_OK)
		add_pending(ks, id);
	else
		erase(ks);
	pthread_mutex_unlock(&ks->lock);
	return err;
}

enum ts_err ks_remove(struct ks *ks, const struct ks_key_id *id)
{
	return delete_in_state(ks, id, ST_DESTROYING);
}

/*
 * Fill r from a row of (provider, ref, attrs, material) starting at column
 * col, opening the material. TS_OK; TS_E_PSA_CORRUPTION_DETECTED with
 * r->provider set and no reference or material (a reference the seal does
 * not vouch for is not handed to a provider); TS_E_NOMEM.
 */
static enum ts_err record_from_row(struct ks *ks, const struct ks_key_id *id, sqlite3_stmt *st,
                                   int col, struct ks_record *r)
{
	struct ks_binding b = {.id = id};
	enum ts_err err;

	memset(r, 0, sizeof(*r));
	r->provider = strdup((const char *)sqlite3_column_text(st, col));
	b.ref = sqlite3_column_blob(st, col + 1);
	b.ref_len = (size_t)sqlite3_column_bytes(st, col + 1);
	r->attrs_len = (size_t)sqlite3_column_bytes(st, col + 2);
	r->attrs = dup_bytes(sqlite3_column_blob(st, col + 2), r->attrs_len);
	if (r->provider == NULL || r->attrs == NULL) {
		err = TS_E_NOMEM;
		goto out;
	}
	b.provider = r->provider;
	b.attrs = r->attrs;
	b.attrs_len = r->attrs_len;
	err = ks_unseal_record(ks, &b, sqlite3_column_blob(st, col + 3),
	                       (size_t)sqlite3_column_bytes(st, col + 3), &r->material,
	                       &r->material_len);
	if (err != TS_OK)
		goto out;
	r->ref = dup_bytes(b.ref, b.ref_len);
	if (r->ref == NULL) {
		err = TS_E_NOMEM;
		goto out;
	}
	r->ref_len = b.ref_len;
	return TS_OK;
out:
	if (err != TS_E_PSA_CORRUPTION_DETECTED || r->provider == NULL)
		ks_record_clear(r);
	return err;
}

/* Read and open one ready record; caller holds the lock. */
static enum ts_err get_locked(struct ks *ks, const struct ks_key_id *id, const char *provider,
                              struct ks_record *ret)
{
	sqlite3_stmt *st = NULL;
	struct ks_record r = {0};
	enum ts_err err;

	err = select_one(ks,
	                 "SELECT provider, ref, attrs, material FROM keys WHERE "
	                 "auth_type = ? AND app = ? AND name = ? AND state = 2",
	                 id, &st);
	if (err != TS_OK)
		goto out;
	/* A key of that name in another instance does not exist for this one. */
	err = TS_E_PSA_DOES_NOT_EXIST;
	if (strcmp((const char *)sqlite3_column_text(st, 0), provider) != 0)
		goto out;
	err = record_from_row(ks, id, st, 0, &r);
	if (err != TS_OK)
		goto out;
	*ret = r;
	memset(&r, 0, sizeof(r));
out:
	sqlite3_finalize(st);
	ks_record_clear(&r);
	return err;
}

enum ts_err ks_get(struct ks *ks, const struct ks_key_id *id, const char *provider,
                   struct ks_record *ret)
{
	struct cached *c = &ks->cache[slot_of(id)];
	enum ts_err err;

	pthread_mutex_lock(&ks->cache_lock);
	if (cached_is(c, id)) {
		/* Same answers as the database: another instance's key does
		 * not exist for this one. */
		err = strcmp(c->r.provider, provider) != 0 ? TS_E_PSA_DOES_NOT_EXIST
		      : record_copy(&c->r, ret) == 0       ? TS_OK
		                                           : TS_E_NOMEM;
		pthread_mutex_unlock(&ks->cache_lock);
		return err;
	}
	pthread_mutex_unlock(&ks->cache_lock);
	/* A miss: read under the database lock, and fill the slot before
	 * releasing it, so no change to this key can slip in between (every
	 * change drops the slot under the database lock). */
	pthread_mutex_lock(&ks->lock);
	err = get_locked(ks, id, provider, ret);
	if (err == TS_OK) {
		pthread_mutex_lock(&ks->cache_lock);
		cached_clear(c);
		c->auth_type = id->auth_type;
		c->app = strdup(id->app);
		c->name = strdup(id->name);
		if (c->app == NULL || c->name == NULL || record_copy(ret, &c->r) != 0)
			cached_clear(c);
		pthread_mutex_unlock(&ks->cache_lock);
	}
	pthread_mutex_unlock(&ks->lock);
	return err;
}

enum ts_err ks_begin_destroy(struct ks *ks, const struct ks_key_id *id, const char *provider,
                             struct ks_record *ret)
{
	sqlite3_stmt *st = NULL;
	struct ks_record r = {0};
	enum ts_err err;
	int rc;

	pthread_mutex_lock(&ks->lock);
	cache_drop(ks, id);
	err = get_locked(ks, id, provider, &r);
	if (err == TS_E_PSA_CORRUPTION_DETECTED) {
		/* A record that does not open can still be destroyed: the
		 * provider gets neither reference nor material, the row goes. */
		r.provider = strdup(provider);
		err = r.provider != NULL ? TS_OK : TS_E_NOMEM;
	}
	if (err != TS_OK)
		goto out;
	rc = sqlite3_prepare_v2(ks->db,
	                        "UPDATE keys SET state = 3 WHERE auth_type = ? AND app = ? AND "
	                        "name = ? AND state = 2",
	                        -1, &st, NULL);
	if (rc == SQLITE_OK) {
		bind_id(st, id);
		rc = sqlite3_step(st);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		err = ks_db_err(rc);
		goto out;
	}
	*ret = r;
	memset(&r, 0, sizeof(r));
out:
	ks_record_clear(&r);
	pthread_mutex_unlock(&ks->lock);
	return err;
}

enum ts_err ks_list(struct ks *ks, uint8_t auth_type, const char *app, ks_key_cb cb, void *ctx)
{
	sqlite3_stmt *st = NULL;
	enum ts_err err = TS_OK;
	int rc;

	pthread_mutex_lock(&ks->lock);
	rc = sqlite3_prepare_v2(ks->db,
	                        "SELECT name, provider, attrs FROM keys WHERE auth_type = ? AND "
	                        "app = ? AND state = 2 ORDER BY name",
	                        -1, &st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_int(st, 1, auth_type);
		sqlite3_bind_text(st, 2, app, -1, SQLITE_STATIC);
		while ((rc = sqlite3_step(st)) == SQLITE_ROW)
			if (cb(ctx, (const char *)sqlite3_column_text(st, 0),
			       (const char *)sqlite3_column_text(st, 1), sqlite3_column_blob(st, 2),
			       (size_t)sqlite3_column_bytes(st, 2)) != 0)
				break;
	}
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		err = ks_db_err(rc);
	sqlite3_finalize(st);
	pthread_mutex_unlock(&ks->lock);
	return err;
}

enum ts_err ks_each_key(struct ks *ks, const char *provider, ks_each_cb cb, void *ctx)
{
	sqlite3_stmt *st = NULL;
	enum ts_err err = TS_OK;
	int rc;

	pthread_mutex_lock(&ks->lock);
	rc = sqlite3_prepare_v2(ks->db,
	                        "SELECT auth_type, app, name, ref, attrs FROM keys WHERE "
	                        "provider = ? AND state = 2 ORDER BY auth_type, app, name",
	                        -1, &st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(st, 1, provider, -1, SQLITE_STATIC);
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			const struct ks_key_id id = {
			        .auth_type = (uint8_t)sqlite3_column_int(st, 0),
			        .app = (const char *)sqlite3_column_text(st, 1),
			        .name = (const char *)sqlite3_column_text(st, 2),
			};
			const uint8_t *ref = sqlite3_column_blob(st, 3);
			size_t ref_len = (size_t)sqlite3_column_bytes(st, 3);
			const uint8_t *attrs = sqlite3_column_blob(st, 4);
			size_t attrs_len = (size_t)sqlite3_column_bytes(st, 4);

			if (cb(ctx, &id, ref, ref_len, attrs, attrs_len) != 0)
				break;
		}
	}
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		err = ks_db_err(rc);
	sqlite3_finalize(st);
	pthread_mutex_unlock(&ks->lock);
	return err;
}

bool ks_first_report(struct ks *ks, const struct ks_key_id *id, bool *ret_full)
{
	bool first = true;

	*ret_full = false;
	pthread_mutex_lock(&ks->cache_lock);
	for (size_t i = 0; i < ks->n_reported && i < KS_REPORTED_MAX && first; i++) {
		const struct ks_pending *p = &ks->reported[i];

		if (p->auth_type == id->auth_type && strcmp(p->app, id->app) == 0 &&
		    strcmp(p->name, id->name) == 0)
			first = false;
	}
	if (first && ks->n_reported < KS_REPORTED_MAX) {
		struct ks_pending *p = &ks->reported[ks->n_reported];

		p->auth_type = id->auth_type;
		p->app = strdup(id->app);
		p->name = strdup(id->name);
		if (p->app != NULL && p->name != NULL)
			ks->n_reported++;
		else {
			free(p->app);
			free(p->name);
		}
	} else if (first) {
		/* Full: one last report says so, then silence. */
		first = ks->n_reported == KS_REPORTED_MAX;
		*ret_full = first;
		if (first)
			ks->n_reported++;
	}
	pthread_mutex_unlock(&ks->cache_lock);
	return first;
}

enum ts_err ks_list_clients(struct ks *ks, ks_client_cb cb, void *ctx)
{
	sqlite3_stmt *st = NULL;
	enum ts_err err = TS_OK;
	int rc;

	pthread_mutex_lock(&ks->lock);
	rc = sqlite3_prepare_v2(ks->db,
	                        /* Tenants that hold only storage assets too. */
	                        "SELECT auth_type, app FROM keys WHERE state = 2"
	                        " UNION SELECT auth_type, app FROM assets"
	                        " ORDER BY app, auth_type",
	                        -1, &st, NULL);
	if (rc == SQLITE_OK)
		while ((rc = sqlite3_step(st)) == SQLITE_ROW)
			if (cb(ctx, (uint8_t)sqlite3_column_int(st, 0),
			       (const char *)sqlite3_column_text(st, 1)) != 0)
				break;
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		err = ks_db_err(rc);
	sqlite3_finalize(st);
	pthread_mutex_unlock(&ks->lock);
	return err;
}

enum ts_err ks_recover(struct ks *ks, ks_recover_cb cb, void *ctx, unsigned *ret_count)
{
	sqlite3_stmt *st = NULL;
	unsigned count = 0;
	int rc;

	pthread_mutex_lock(&ks->lock);
	/* Collect first, then act: deleting while stepping a query is messy. */
	for (;;) {
		struct ks_key_id id;
		struct ks_record r = {0};
		char *app, *name;
		enum ts_err e;
		int state;

		rc = sqlite3_prepare_v2(ks->db,
		                        "SELECT auth_type, app, name, state, provider, ref, attrs, "
		                        "material FROM keys WHERE state != 2 LIMIT 1",
		                        -1, &st, NULL);
		if (rc != SQLITE_OK || (rc = sqlite3_step(st)) != SQLITE_ROW)
			break;
		app = strdup((const char *)sqlite3_column_text(st, 1));
		name = strdup((const char *)sqlite3_column_text(st, 2));
		id.auth_type = (uint8_t)sqlite3_column_int(st, 0);
		id.app = app;
		id.name = name;
		state = sqlite3_column_int(st, 3);
		/* A record whose seal does not open (or a migrated reservation,
		 * which had none) comes without reference or material. */
		e = app != NULL && name != NULL ? record_from_row(ks, &id, st, 4, &r) : TS_E_NOMEM;
		sqlite3_finalize(st);
		st = NULL;
		if (e == TS_E_NOMEM) {
			free(app);
			free(name);
			rc = SQLITE_NOMEM;
			break;
		}
		cache_drop(ks, &id);
		if (cb != NULL)
			cb(ctx, &id, &r);
		ks_record_clear(&r);
		rc = delete_row(ks, &id, state) == TS_OK ? SQLITE_OK : SQLITE_ERROR;
		free(app);
		free(name);
		if (rc != SQLITE_OK)
			break;
		count++;
	}
	sqlite3_finalize(st);
	if (count > 0)
		erase(ks);
	pthread_mutex_unlock(&ks->lock);
	*ret_count = count;
	return rc == SQLITE_DONE ? TS_OK : ks_db_err(rc);
}
