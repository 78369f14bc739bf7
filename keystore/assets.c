/*
 * PSA Secure Storage assets in the key store's database: sealed records,
 * one transaction per write, versions against replay, per-tenant quotas.
 */
#include "keystore/keystore.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/secmem.h"
#include "keystore/keystore-priv.h"

/*
 * assets holds the records; asset_versions the version each replay-protected
 * asset was last written with, which a restored older row does not carry.
 * Versions come from one counter of the whole store (meta 'asset_version'),
 * so no two writes ever share one, even across a removal and a new asset of
 * the same uid: an old copy never matches a newer version.
 */
#define ASSET_TABLES                                                                \
	"CREATE TABLE IF NOT EXISTS assets ("                                       \
	" auth_type INTEGER NOT NULL, app TEXT NOT NULL, store INTEGER NOT NULL,"   \
	" uid INTEGER NOT NULL, flags INTEGER NOT NULL, capacity INTEGER NOT NULL," \
	" size INTEGER NOT NULL, version INTEGER NOT NULL, data BLOB NOT NULL,"     \
	" PRIMARY KEY (auth_type, app, store, uid));"                               \
	"CREATE TABLE IF NOT EXISTS asset_versions ("                               \
	" auth_type INTEGER NOT NULL, app TEXT NOT NULL, store INTEGER NOT NULL,"   \
	" uid INTEGER NOT NULL, version INTEGER NOT NULL,"                          \
	" PRIMARY KEY (auth_type, app, store, uid));"                               \
	"INSERT OR IGNORE INTO meta (key, value) VALUES ('asset_version', 0)"

#define WHERE_ASSET "auth_type = ?1 AND app = ?2 AND store = ?3 AND uid = ?4"

int ks_assets_init_schema(struct ks *ks, char *err, size_t errlen)
{
	if (sqlite3_exec(ks->db, ASSET_TABLES, NULL, NULL, NULL) == SQLITE_OK)
		return 0;
	snprintf(err, errlen, "cannot create the storage tables: %s", sqlite3_errmsg(ks->db));
	return -1;
}

void ks_set_asset_quotas(struct ks *ks, uint64_t max_assets, uint64_t max_bytes)
{
	pthread_mutex_lock(&ks->lock);
	ks->max_assets = max_assets;
	ks->max_asset_bytes = max_bytes;
	pthread_mutex_unlock(&ks->lock);
}

/* ---- the AAD ---- */

static uint8_t *put_le(uint8_t *p, uint64_t v, int bytes)
{
	for (int i = 0; i < bytes; i++)
		*p++ = (uint8_t)(v >> (8 * i));
	return p;
}

/* Everything the sealed data is bound to: the identity tuple, and the
 * metadata a reader trusts (flags, capacity, version). Fixed-width fields
 * after the one length-prefixed string. malloc'd; NULL when out of memory. */
static uint8_t *asset_aad(const struct ks_asset_id *id, uint32_t flags, uint64_t capacity,
                          uint64_t version, size_t *ret_len)
{
	size_t app = strlen(id->app);
	size_t len = 8 + 1 + 4 + app + 1 + 8 + 8 + 4 + 8;
	uint8_t *aad, *p;

	if (app > UINT32_MAX || (aad = malloc(len)) == NULL)
		return NULL;
	memcpy(aad, "tessas01", 8);
	p = aad + 8;
	*p++ = id->auth_type;
	p = put_le(p, app, 4);
	memcpy(p, id->app, app);
	p += app;
	*p++ = id->store;
	p = put_le(p, id->uid, 8);
	p = put_le(p, version, 8);
	p = put_le(p, flags, 4);
	put_le(p, capacity, 8);
	*ret_len = len;
	return aad;
}

/* ---- statements ---- */

static int prepare_asset(struct ks *ks, const char *sql, const struct ks_asset_id *id,
                         sqlite3_stmt **st)
{
	int rc = sqlite3_prepare_v2(ks->db, sql, -1, st, NULL);

	if (rc != SQLITE_OK)
		return rc;
	sqlite3_bind_int(*st, 1, id->auth_type);
	sqlite3_bind_text(*st, 2, id->app, -1, SQLITE_STATIC);
	sqlite3_bind_int(*st, 3, id->store);
	/* SQLite integers are signed: the uid is kept as its bit pattern. */
	sqlite3_bind_int64(*st, 4, (sqlite3_int64)id->uid);
	return SQLITE_OK;
}

/* Run a statement on one asset that returns no row. */
static enum ts_err exec_asset(struct ks *ks, const char *sql, const struct ks_asset_id *id)
{
	sqlite3_stmt *st = NULL;
	int rc = prepare_asset(ks, sql, id, &st);

	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? TS_OK : ks_db_err(rc);
}

static enum ts_err begin(struct ks *ks)
{
	int rc = sqlite3_exec(ks->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);

	return rc == SQLITE_OK ? TS_OK : ks_db_err(rc);
}

/* Commit on success, else roll back; the error that decides. */
static enum ts_err end(struct ks *ks, enum ts_err err)
{
	int rc;

	if (err == TS_OK) {
		rc = sqlite3_exec(ks->db, "COMMIT", NULL, NULL, NULL);
		if (rc == SQLITE_OK)
			return TS_OK;
		err = ks_db_err(rc);
	}
	sqlite3_exec(ks->db, "ROLLBACK", NULL, NULL, NULL);
	return err;
}

/* After a deletion: copy the WAL into the database and cut it, so no file
 * keeps the freed (and, by secure_delete, overwritten) pages' old copies,
 * as the key store does after deleting a key. */
static void erase(struct ks *ks)
{
	(void)sqlite3_wal_checkpoint_v2(ks->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
}

/* ---- reading a record ---- */

struct row {
	sqlite3_stmt *st; /* holds the columns below */
	uint32_t flags;
	uint64_t capacity, size, version;
	const uint8_t *blob;
	size_t blob_len;
	bool has_counter;
	uint64_t counter;
	bool broken; /* a column of the wrong type or range */
};

static void row_free(struct row *r)
{
	sqlite3_finalize(r->st);
	memset(r, 0, sizeof(*r));
}

/* Whether a version row exists for the asset (the record may be gone). */
static enum ts_err has_counter(struct ks *ks, const struct ks_asset_id *id, bool *ret)
{
	sqlite3_stmt *st = NULL;
	int rc = prepare_asset(ks, "SELECT 1 FROM asset_versions WHERE " WHERE_ASSET, id, &st);

	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return ks_db_err(rc);
	*ret = rc == SQLITE_ROW;
	return TS_OK;
}

static bool column_u64(sqlite3_stmt *st, int col, uint64_t max, uint64_t *ret)
{
	sqlite3_int64 v;

	if (sqlite3_column_type(st, col) != SQLITE_INTEGER)
		return false;
	v = sqlite3_column_int64(st, col);
	if (v < 0 || (uint64_t)v > max)
		return false;
	*ret = (uint64_t)v;
	return true;
}

/* Load an asset's row. TS_OK; TS_E_PSA_DOES_NOT_EXIST (with *ret_dangling
 * when its version row is still there: removed behind the store's back);
 * a database error. */
static enum ts_err load(struct ks *ks, const struct ks_asset_id *id, struct row *r,
                        bool *ret_dangling)
{
	uint64_t flags = 0;
	enum ts_err err;
	int rc;

	memset(r, 0, sizeof(*r));
	*ret_dangling = false;
	rc = prepare_asset(ks,
	                   "SELECT a.flags, a.capacity, a.size, a.version, a.data, v.version "
	                   "FROM assets a LEFT JOIN asset_versions v USING (auth_type, app, "
	                   "store, uid) WHERE a.auth_type = ?1 AND a.app = ?2 AND a.store = ?3 "
	                   "AND a.uid = ?4",
	                   id, &r->st);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(r->st);
	if (rc == SQLITE_DONE) {
		row_free(r);
		err = has_counter(ks, id, ret_dangling);
		return err != TS_OK ? err : TS_E_PSA_DOES_NOT_EXIST;
	}
	if (rc != SQLITE_ROW) {
		row_free(r);
		return ks_db_err(rc);
	}
	if (!column_u64(r->st, 0, UINT32_MAX, &flags) ||
	    !column_u64(r->st, 1, KS_ASSET_MAX_CAPACITY, &r->capacity) ||
	    !column_u64(r->st, 2, r->capacity, &r->size) ||
	    !column_u64(r->st, 3, INT64_MAX, &r->version) ||
	    sqlite3_column_type(r->st, 4) != SQLITE_BLOB)
		r->broken = true;
	r->flags = (uint32_t)flags;
	r->blob = sqlite3_column_blob(r->st, 4);
	r->blob_len = (size_t)sqlite3_column_bytes(r->st, 4);
	r->has_counter = sqlite3_column_type(r->st, 5) != SQLITE_NULL;
	if (r->has_counter && !column_u64(r->st, 5, INT64_MAX, &r->counter))
		r->broken = true;
	return TS_OK;
}

/*
 * Open a loaded row: its shape, then its freshness, then its seal. TS_OK
 * with the data (a secret, ts_free_secret); TS_E_PSA_DATA_CORRUPT;
 * TS_E_PSA_INVALID_SIGNATURE; TS_E_NOMEM.
 */
static enum ts_err open_row(const struct ks *ks, const struct ks_asset_id *id, const struct row *r,
                            uint8_t **ret, size_t *ret_len)
{
	uint8_t *aad, *pt = NULL;
	size_t aad_len, pt_len = 0;
	enum ts_err err;

	if (r->broken || r->blob == NULL || r->blob_len < KS_SEAL_OVERHEAD ||
	    r->blob_len - KS_SEAL_OVERHEAD != r->size)
		return TS_E_PSA_DATA_CORRUPT;
	/* Replay protection: the row must carry the version written last. A
	 * version row exists exactly when the last write was protected, so
	 * when there is one it decides, whatever the row's own flags say (an
	 * older copy written with NO_REPLAY_PROTECTION put back over a newer
	 * protected one must not open); without one, only a row that says it
	 * takes no protection opens. */
	if (r->has_counter ? r->counter != r->version : !(r->flags & KS_ASSET_NO_REPLAY_PROTECTION))
		return TS_E_PSA_INVALID_SIGNATURE;
	aad = asset_aad(id, r->flags, r->capacity, r->version, &aad_len);
	if (aad == NULL)
		return TS_E_NOMEM;
	err = ks_unseal(ks, aad, aad_len, r->blob, r->blob_len, &pt, &pt_len);
	free(aad);
	if (err == TS_E_PSA_CORRUPTION_DETECTED)
		return TS_E_PSA_INVALID_SIGNATURE;
	if (err != TS_OK)
		return err;
	*ret = pt;
	*ret_len = pt_len;
	return TS_OK;
}

/* ---- writing a record (in the caller's transaction) ---- */

static enum ts_err next_version(struct ks *ks, uint64_t *ret)
{
	sqlite3_stmt *st = NULL;
	int rc;

	rc = sqlite3_exec(ks->db, "UPDATE meta SET value = value + 1 WHERE key = 'asset_version'",
	                  NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return ks_db_err(rc);
	rc = sqlite3_prepare_v2(ks->db, "SELECT value FROM meta WHERE key = 'asset_version'", -1,
	                        &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && !column_u64(st, 0, INT64_MAX, ret))
		rc = SQLITE_CORRUPT;
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? TS_OK : ks_db_err(rc);
}

/* Seal data under a fresh version and write the record and, for a
 * replay-protected asset, its version; replaces what was there. */
static enum ts_err write_record(struct ks *ks, const struct ks_asset_id *id, uint32_t flags,
                                uint64_t capacity, const uint8_t *data, size_t len)
{
	sqlite3_stmt *st = NULL;
	uint8_t *aad = NULL, *blob = NULL;
	size_t aad_len, blen = 0;
	uint64_t version = 0;
	enum ts_err err;
	int rc;

	err = next_version(ks, &version);
	if (err != TS_OK)
		return err;
	aad = asset_aad(id, flags, capacity, version, &aad_len);
	if (aad == NULL)
		return TS_E_NOMEM;
	err = ks_seal(ks, aad, aad_len, data, len, &blob, &blen);
	free(aad);
	if (err != TS_OK)
		return err;
	rc = prepare_asset(ks,
	                   "INSERT OR REPLACE INTO assets (auth_type, app, store, uid, flags, "
	                   "capacity, size, version, data) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, "
	                   "?8, ?9)",
	                   id, &st);
	if (rc == SQLITE_OK) {
		sqlite3_bind_int64(st, 5, flags);
		sqlite3_bind_int64(st, 6, (sqlite3_int64)capacity);
		sqlite3_bind_int64(st, 7, (sqlite3_int64)len);
		sqlite3_bind_int64(st, 8, (sqlite3_int64)version);
		sqlite3_bind_blob(st, 9, blob, (int)blen, SQLITE_STATIC);
		rc = sqlite3_step(st);
	}
	sqlite3_finalize(st);
	free(blob); /* sealed: not secret */
	if (rc != SQLITE_DONE)
		return ks_db_err(rc);
	if (flags & KS_ASSET_NO_REPLAY_PROTECTION)
		return exec_asset(ks, "DELETE FROM asset_versions WHERE " WHERE_ASSET, id);
	st = NULL;
	rc = prepare_asset(ks,
	                   "INSERT OR REPLACE INTO asset_versions (auth_type, app, store, uid, "
	                   "version) VALUES (?1, ?2, ?3, ?4, ?5)",
	                   id, &st);
	if (rc == SQLITE_OK) {
		sqlite3_bind_int64(st, 5, (sqlite3_int64)version);
		rc = sqlite3_step(st);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? TS_OK : ks_db_err(rc);
}

/* Room for the asset with that capacity, its own current record not
 * counted (it is being replaced). Caller holds the lock. */
static enum ts_err quota(struct ks *ks, const struct ks_asset_id *id, uint64_t capacity)
{
	sqlite3_stmt *st = NULL;
	uint64_t count, used;
	enum ts_err err;
	int rc;

	if (capacity > KS_ASSET_MAX_CAPACITY)
		return TS_E_PSA_INSUFFICIENT_STORAGE;
	if (ks->max_assets == 0 && ks->max_asset_bytes == 0)
		return TS_OK;
	rc = prepare_asset(ks,
	                   "SELECT count(*), coalesce(sum(capacity), 0) FROM assets WHERE "
	                   "auth_type = ?1 AND app = ?2 AND store = ?3 AND uid != ?4",
	                   id, &st);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		err = ks_db_err(rc);
	} else {
		count = (uint64_t)sqlite3_column_int64(st, 0);
		used = (uint64_t)sqlite3_column_int64(st, 1);
		err = (ks->max_assets != 0 && count + 1 > ks->max_assets) ||
		                      (ks->max_asset_bytes != 0 &&
		                       (capacity > ks->max_asset_bytes ||
		                        used > ks->max_asset_bytes - capacity))
		              ? TS_E_PSA_INSUFFICIENT_STORAGE
		              : TS_OK;
	}
	sqlite3_finalize(st);
	return err;
}

/* The flags column of an existing record: TS_OK, TS_E_PSA_DOES_NOT_EXIST,
 * or a database error. */
static enum ts_err current_flags(struct ks *ks, const struct ks_asset_id *id, uint32_t *ret)
{
	sqlite3_stmt *st = NULL;
	int rc = prepare_asset(ks, "SELECT flags FROM assets WHERE " WHERE_ASSET, id, &st);

	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*ret = (uint32_t)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (rc == SQLITE_ROW)
		return TS_OK;
	return rc == SQLITE_DONE ? TS_E_PSA_DOES_NOT_EXIST : ks_db_err(rc);
}

/* ---- the operations ---- */

enum ts_err ks_asset_set(struct ks *ks, const struct ks_asset_id *id, uint32_t flags,
                         const uint8_t *data, size_t len)
{
	uint32_t old = 0;
	enum ts_err err;

	pthread_mutex_lock(&ks->lock);
	err = begin(ks);
	if (err != TS_OK)
		goto out;
	err = current_flags(ks, id, &old);
	if (err == TS_OK && (old & KS_ASSET_WRITE_ONCE))
		err = TS_E_PSA_NOT_PERMITTED;
	else if (err == TS_OK || err == TS_E_PSA_DOES_NOT_EXIST)
		err = quota(ks, id, len);
	if (err == TS_OK)
		err = write_record(ks, id, flags, len, data, len);
	err = end(ks, err);
out:
	pthread_mutex_unlock(&ks->lock);
	return err;
}

enum ts_err ks_asset_create(struct ks *ks, const struct ks_asset_id *id, uint64_t capacity,
                            uint32_t flags)
{
	uint32_t old;
	bool dangling = false;
	enum ts_err err;

	pthread_mutex_lock(&ks->lock);
	err = begin(ks);
	if (err != TS_OK)
		goto out;
	err = quota(ks, id, capacity);
	if (err == TS_OK) {
		err = current_flags(ks, id, &old);
		if (err == TS_OK)
			err = TS_E_PSA_ALREADY_EXISTS;
		else if (err == TS_E_PSA_DOES_NOT_EXIST)
			err = has_counter(ks, id, &dangling);
		if (err == TS_OK && dangling)
			err = TS_E_PSA_ALREADY_EXISTS; /* a damaged one: remove it first */
	}
	if (err == TS_OK)
		err = write_record(ks, id, flags, capacity, NULL, 0);
	err = end(ks, err);
out:
	pthread_mutex_unlock(&ks->lock);
	return err;
}

enum ts_err ks_asset_set_extended(struct ks *ks, const struct ks_asset_id *id, uint64_t offset,
                                  const uint8_t *data, size_t len)
{
	struct row r;
	uint8_t *pt = NULL, *grown = NULL;
	size_t pt_len = 0, new_len = 0;
	bool dangling;
	enum ts_err err;

	pthread_mutex_lock(&ks->lock);
	err = begin(ks);
	if (err != TS_OK)
		goto out;
	err = load(ks, id, &r, &dangling);
	if (err == TS_E_PSA_DOES_NOT_EXIST && dangling)
		err = TS_E_PSA_INVALID_SIGNATURE;
	if (err != TS_OK)
		goto done;
	if (r.flags & KS_ASSET_WRITE_ONCE) {
		err = TS_E_PSA_NOT_PERMITTED;
		goto done;
	}
	err = open_row(ks, id, &r, &pt, &pt_len);
	if (err != TS_OK)
		goto done;
	/* No gap after the data, no growth past the capacity. */
	if (offset > r.size || len > r.capacity - offset) {
		err = TS_E_PSA_INVALID_ARGUMENT;
		goto done;
	}
	if (len == 0)
		goto done;
	new_len = offset + len > pt_len ? (size_t)(offset + len) : pt_len;
	grown = malloc(new_len);
	if (grown == NULL) {
		err = TS_E_NOMEM;
		goto done;
	}
	if (pt_len > 0)
		memcpy(grown, pt, pt_len);
	memcpy(grown + offset, data, len);
	err = write_record(ks, id, r.flags, r.capacity, grown, new_len);
done:
	row_free(&r);
	err = end(ks, err);
out:
	pthread_mutex_unlock(&ks->lock);
	ts_free_secret(pt, pt_len);
	ts_free_secret(grown, new_len);
	return err;
}

enum ts_err ks_asset_get(struct ks *ks, const struct ks_asset_id *id,
                         struct ks_asset_info *ret_info, uint8_t **ret_data, size_t *ret_len)
{
	struct row r;
	uint8_t *pt = NULL;
	size_t pt_len = 0;
	bool dangling;
	enum ts_err err;

	pthread_mutex_lock(&ks->lock);
	err = load(ks, id, &r, &dangling);
	if (err == TS_E_PSA_DOES_NOT_EXIST && dangling)
		err = TS_E_PSA_INVALID_SIGNATURE;
	if (err == TS_OK)
		err = open_row(ks, id, &r, &pt, &pt_len);
	if (err == TS_OK) {
		ret_info->capacity = r.capacity;
		ret_info->size = r.size;
		ret_info->flags = r.flags;
		if (ret_data != NULL) {
			*ret_data = pt;
			*ret_len = pt_len;
			pt = NULL;
		}
	}
	row_free(&r);
	pthread_mutex_unlock(&ks->lock);
	ts_free_secret(pt, pt_len);
	return err;
}

enum ts_err ks_asset_remove(struct ks *ks, const struct ks_asset_id *id)
{
	uint32_t flags = 0;
	bool dangling = false;
	enum ts_err err;

	pthread_mutex_lock(&ks->lock);
	err = begin(ks);
	if (err != TS_OK)
		goto out;
	err = current_flags(ks, id, &flags);
	if (err == TS_OK && (flags & KS_ASSET_WRITE_ONCE))
		err = TS_E_PSA_NOT_PERMITTED;
	if (err == TS_E_PSA_DOES_NOT_EXIST) {
		/* The version of a record removed behind our back: its remains
		 * go, and the uid is free again. */
		err = has_counter(ks, id, &dangling);
		if (err == TS_OK && !dangling)
			err = TS_E_PSA_DOES_NOT_EXIST;
	}
	if (err == TS_OK)
		err = exec_asset(ks, "DELETE FROM assets WHERE " WHERE_ASSET, id);
	if (err == TS_OK)
		err = exec_asset(ks, "DELETE FROM asset_versions WHERE " WHERE_ASSET, id);
	err = end(ks, err);
	if (err == TS_OK)
		erase(ks);
out:
	pthread_mutex_unlock(&ks->lock);
	return err;
}

enum ts_err ks_assets_delete_tenant(struct ks *ks, uint8_t auth_type, const char *app,
                                    unsigned *ret_count)
{
	static const char *const sql[] = {
	        "DELETE FROM assets WHERE auth_type = ?1 AND app = ?2",
	        "DELETE FROM asset_versions WHERE auth_type = ?1 AND app = ?2",
	};
	unsigned count = 0;
	enum ts_err err;

	pthread_mutex_lock(&ks->lock);
	err = begin(ks);
	if (err != TS_OK)
		goto out;
	for (size_t i = 0; err == TS_OK && i < 2; i++) {
		sqlite3_stmt *st = NULL;
		int rc = sqlite3_prepare_v2(ks->db, sql[i], -1, &st, NULL);

		if (rc == SQLITE_OK) {
			sqlite3_bind_int(st, 1, auth_type);
			sqlite3_bind_text(st, 2, app, -1, SQLITE_STATIC);
			rc = sqlite3_step(st);
		}
		if (rc == SQLITE_DONE && i == 0)
			count = (unsigned)sqlite3_changes(ks->db);
		sqlite3_finalize(st);
		if (rc != SQLITE_DONE)
			err = ks_db_err(rc);
	}
	err = end(ks, err);
	if (err == TS_OK) {
		erase(ks);
		if (ret_count != NULL)
			*ret_count = count;
	}
out:
	pthread_mutex_unlock(&ks->lock);
	return err;
}

/* ---- rotation of the key-encryption key ---- */

/* One asset's row by rowid, opened under old and sealed under fresh with the
 * same AAD (same version: nothing else changes). */
static enum ts_err rekey_one(struct ks *ks, sqlite3_int64 rowid, const uint8_t *old,
                             const uint8_t *fresh, bool *ret_damaged)
{
	sqlite3_stmt *st = NULL;
	struct ks_asset_id id;
	uint8_t *aad = NULL, *pt = NULL, *blob = NULL;
	size_t aad_len = 0, pt_len = 0, blen = 0;
	enum ts_err err;
	int rc;

	*ret_damaged = false;
	rc = sqlite3_prepare_v2(ks->db,
	                        "SELECT auth_type, app, store, uid, flags, capacity, version, data "
	                        "FROM assets WHERE rowid = ?",
	                        -1, &st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, rowid);
		rc = sqlite3_step(st);
	}
	if (rc != SQLITE_ROW) {
		err = ks_db_err(rc);
		goto out;
	}
	id.auth_type = (uint8_t)sqlite3_column_int(st, 0);
	id.app = (const char *)sqlite3_column_text(st, 1);
	id.store = (uint8_t)sqlite3_column_int(st, 2);
	id.uid = (uint64_t)sqlite3_column_int64(st, 3);
	err = TS_E_NOMEM;
	if (id.app == NULL ||
	    (aad = asset_aad(&id, (uint32_t)sqlite3_column_int64(st, 4),
	                     (uint64_t)sqlite3_column_int64(st, 5),
	                     (uint64_t)sqlite3_column_int64(st, 6), &aad_len)) == NULL)
		goto out;
	memcpy(ks->kek, old, KS_KEK_LEN);
	err = ks_unseal(ks, aad, aad_len, sqlite3_column_blob(st, 7),
	                (size_t)sqlite3_column_bytes(st, 7), &pt, &pt_len);
	if (err == TS_E_PSA_CORRUPTION_DETECTED) {
		/* Opened by no key before, and by none after. */
		*ret_damaged = true;
		err = TS_OK;
		goto out;
	}
	if (err != TS_OK)
		goto out;
	memcpy(ks->kek, fresh, KS_KEK_LEN);
	err = ks_seal(ks, aad, aad_len, pt, pt_len, &blob, &blen);
	if (err != TS_OK)
		goto out;
	sqlite3_finalize(st);
	st = NULL;
	rc = sqlite3_prepare_v2(ks->db, "UPDATE assets SET data = ? WHERE rowid = ?", -1, &st,
	                        NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_blob(st, 1, blob, (int)blen, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, rowid);
		rc = sqlite3_step(st);
	}
	err = rc == SQLITE_DONE ? TS_OK : ks_db_err(rc);
out:
	sqlite3_finalize(st);
	free(aad);
	free(blob);
	ts_free_secret(pt, pt_len);
	return err;
}

enum ts_err ks_assets_rekey(struct ks *ks, const uint8_t old[KS_KEK_LEN],
                            const uint8_t fresh[KS_KEK_LEN], unsigned *count, unsigned *damaged)
{
	uint8_t saved[KS_KEK_LEN];
	sqlite3_int64 *rows = NULL;
	size_t n = 0, cap = 0;
	sqlite3_stmt *st = NULL;
	enum ts_err err = TS_OK;
	int rc;

	memcpy(saved, ks->kek, KS_KEK_LEN);
	/* The rowids first: the rows are then changed one by one, not while
	 * a query walks them. */
	rc = sqlite3_prepare_v2(ks->db, "SELECT rowid FROM assets", -1, &st, NULL);
	while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			sqlite3_int64 *grown = realloc(rows, ncap * sizeof(*rows));

			if (grown == NULL) {
				err = TS_E_NOMEM;
				break;
			}
			rows = grown;
			cap = ncap;
		}
		rows[n++] = sqlite3_column_int64(st, 0);
		rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	if (err == TS_OK && rc != SQLITE_DONE)
		err = ks_db_err(rc);
	for (size_t i = 0; err == TS_OK && i < n; i++) {
		bool bad = false;

		err = rekey_one(ks, rows[i], old, fresh, &bad);
		if (err == TS_OK && bad)
			(*damaged)++;
		else if (err == TS_OK)
			(*count)++;
	}
	free(rows);
	memcpy(ks->kek, saved, KS_KEK_LEN);
	ts_wipe(saved, sizeof(saved));
	return err;
}
