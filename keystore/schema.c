/* The key store's schema: creation, checks at open, and migrations. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/secmem.h"
#include "keystore/keystore-priv.h"

/* Schema 2: a record belongs to a provider instance, by name, and carries
 * the provider's reference for the key. */
#define KEYS_TABLE_V2                                                         \
	"CREATE TABLE keys ("                                                 \
	" auth_type INTEGER NOT NULL, app TEXT NOT NULL, name TEXT NOT NULL," \
	" provider TEXT NOT NULL, ref BLOB NOT NULL, state INTEGER NOT NULL," \
	" attrs BLOB NOT NULL, material BLOB,"                                \
	" PRIMARY KEY (auth_type, app, name))"

static const struct ks_key_id check_id = {.auth_type = 0, .app = "", .name = "kek-check"};

enum ts_err ks_db_err(int rc)
{
	if (rc == SQLITE_FULL)
		return TS_E_PSA_INSUFFICIENT_STORAGE;
	if (rc == SQLITE_NOMEM)
		return TS_E_NOMEM;
	return TS_E_PSA_STORAGE_FAILURE;
}

int ks_bind_blob(sqlite3_stmt *st, int col, const uint8_t *p, size_t len)
{
	if (len == 0)
		return sqlite3_bind_zeroblob(st, col, 0);
	return sqlite3_bind_blob(st, col, p, (int)len, SQLITE_STATIC);
}

static int exec(sqlite3 *db, const char *sql)
{
	return sqlite3_exec(db, sql, NULL, NULL, NULL);
}

/* The AAD of the KEK check value in a store of that schema version. */
static uint8_t *check_aad(int version, size_t *ret_len)
{
	const struct ks_binding b = {.id = &check_id, .provider = ""};

	return version == 1 ? ks_aad_v1(&check_id, 0, NULL, 0, ret_len) : ks_aad(&b, ret_len);
}

/* The KEK check value: a seal of nothing, stored once; a different KEK
 * cannot open it, so a swapped key file is caught at start-up instead of
 * making every key look corrupt. Runs in the caller's transaction. */
int ks_check_kek(struct ks *ks, int version, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	uint8_t *aad = NULL, *blob = NULL, *pt = NULL;
	size_t aad_len, blen = 0, plen = 0;
	int rc, result = -1;

	aad = check_aad(version, &aad_len);
	if (aad == NULL ||
	    sqlite3_prepare_v2(ks->db, "SELECT value FROM meta WHERE key = 'kek_check'", -1, &st,
	                       NULL) != SQLITE_OK)
		goto out;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		if (ks_unseal(ks, aad, aad_len, sqlite3_column_blob(st, 0),
		              (size_t)sqlite3_column_bytes(st, 0), &pt, &plen) != TS_OK) {
			snprintf(err, errlen,
			         "the key-encryption key does not match this key "
			         "store (was the key file or credential replaced? after "
			         "tesserad --rekey, install the key it wrote)");
			goto out;
		}
		result = 0;
		goto out;
	}
	sqlite3_finalize(st);
	st = NULL;
	if (ks_seal(ks, aad, aad_len, NULL, 0, &blob, &blen) != TS_OK ||
	    sqlite3_prepare_v2(ks->db, "INSERT INTO meta(key, value) VALUES ('kek_check', ?)", -1,
	                       &st, NULL) != SQLITE_OK ||
	    sqlite3_bind_blob(st, 1, blob, (int)blen, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_DONE)
		goto out;
	result = 0;
out:
	if (result < 0 && err[0] == '\0')
		snprintf(err, errlen, "cannot check the key-encryption key: %s",
		         sqlite3_errmsg(ks->db));
	sqlite3_finalize(st);
	free(aad);
	free(blob);
	ts_free_secret(pt, plen);
	return result;
}

/* The instance that takes over a schema-1 provider ID; NULL with a message
 * when there is none or the table is ambiguous. */
static const char *legacy_instance(const struct ks_legacy_provider *legacy, size_t n_legacy,
                                   int provider_id, char *err, size_t errlen)
{
	const char *found = NULL;

	for (size_t i = 0; i < n_legacy; i++) {
		if (legacy[i].provider_id != provider_id)
			continue;
		if (found != NULL) {
			snprintf(err, errlen,
			         "cannot upgrade the key store to version 2: provider ID %d is "
			         "given two instances; version 1 had one per provider type",
			         provider_id);
			return NULL;
		}
		found = legacy[i].instance;
	}
	if (found == NULL || found[0] == '\0')
		snprintf(err, errlen,
		         "cannot upgrade the key store to version 2: it holds keys of provider ID "
		         "%d, and no configured provider takes them over; the configuration must "
		         "list a provider of that type to upgrade (the store was left as it was)",
		         provider_id);
	return found != NULL && found[0] != '\0' ? found : NULL;
}

/* One schema-1 record's material under the schema-2 AAD. A blob that does
 * not open under schema 1 is kept as it is: it did not open before and
 * still does not (the AAD tags differ), and it can still be destroyed. */
static enum ts_err reseal_v1(struct ks *ks, sqlite3_stmt *sel, const struct ks_binding *b,
                             uint8_t provider_id, uint8_t **ret, size_t *ret_len)
{
	const uint8_t *blob = sqlite3_column_blob(sel, 6);
	size_t blen = (size_t)sqlite3_column_bytes(sel, 6), aad_len, plen = 0;
	uint8_t *aad, *pt = NULL;
	enum ts_err err;

	aad = ks_aad_v1(b->id, provider_id, b->attrs, b->attrs_len, &aad_len);
	if (aad == NULL)
		return TS_E_NOMEM;
	err = ks_unseal(ks, aad, aad_len, blob, blen, &pt, &plen);
	free(aad);
	if (err == TS_OK) {
		err = ks_seal_record(ks, b, pt, plen, ret, ret_len);
	} else if (err == TS_E_PSA_CORRUPTION_DETECTED) {
		*ret = malloc(blen ? blen : 1);
		err = *ret != NULL ? TS_OK : TS_E_NOMEM;
		if (err == TS_OK) {
			memcpy(*ret, blob, blen);
			*ret_len = blen;
		}
	}
	ts_free_secret(pt, plen);
	return err;
}

/* Schema 1 -> 2, in the caller's transaction: provider IDs become
 * instance names, references are empty, material is sealed again. */
static int migrate_v1(struct ks *ks, const struct ks_legacy_provider *legacy, size_t n_legacy,
                      char *err, size_t errlen)
{
	sqlite3_stmt *sel = NULL, *ins = NULL;
	int rc, result = -1;

	if (exec(ks->db, "ALTER TABLE keys RENAME TO keys_v1") != SQLITE_OK ||
	    exec(ks->db, KEYS_TABLE_V2) != SQLITE_OK ||
	    sqlite3_prepare_v2(ks->db,
	                       "SELECT auth_type, app, name, provider, state, attrs, material "
	                       "FROM keys_v1",
	                       -1, &sel, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(ks->db,
	                       "INSERT INTO keys (auth_type, app, name, provider, ref, state, "
	                       "attrs, material) VALUES (?, ?, ?, ?, x'', ?, ?, ?)",
	                       -1, &ins, NULL) != SQLITE_OK)
		goto out;
	while ((rc = sqlite3_step(sel)) == SQLITE_ROW) {
		struct ks_key_id id = {
		        .auth_type = (uint8_t)sqlite3_column_int(sel, 0),
		        .app = (const char *)sqlite3_column_text(sel, 1),
		        .name = (const char *)sqlite3_column_text(sel, 2),
		};
		int provider_id = sqlite3_column_int(sel, 3);
		struct ks_binding b = {.id = &id};
		uint8_t *blob = NULL;
		size_t blen = 0;
		enum ts_err e = TS_OK;

		if (id.app == NULL || id.name == NULL || provider_id < 0 || provider_id > 255) {
			snprintf(
			        err, errlen,
			        "cannot upgrade the key store to version 2: a record is malformed");
			goto out;
		}
		b.provider = legacy_instance(legacy, n_legacy, provider_id, err, errlen);
		if (b.provider == NULL)
			goto out;
		b.attrs = sqlite3_column_blob(sel, 5);
		b.attrs_len = (size_t)sqlite3_column_bytes(sel, 5);
		if (sqlite3_column_type(sel, 6) != SQLITE_NULL)
			e = reseal_v1(ks, sel, &b, (uint8_t)provider_id, &blob, &blen);
		if (e != TS_OK) {
			snprintf(err, errlen,
			         "cannot upgrade the key store to version 2: sealing a record: %s",
			         ts_strerror(e));
			goto out;
		}
		sqlite3_bind_int(ins, 1, id.auth_type);
		sqlite3_bind_text(ins, 2, id.app, -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 3, id.name, -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 4, b.provider, -1, SQLITE_STATIC);
		sqlite3_bind_int(ins, 5, sqlite3_column_int(sel, 4));
		ks_bind_blob(ins, 6, b.attrs, b.attrs_len);
		if (blob != NULL)
			sqlite3_bind_blob(ins, 7, blob, (int)blen, SQLITE_STATIC);
		else
			sqlite3_bind_null(ins, 7);
		rc = sqlite3_step(ins);
		sqlite3_reset(ins);
		sqlite3_clear_bindings(ins);
		free(blob); /* sealed: not secret */
		if (rc != SQLITE_DONE)
			goto out;
	}
	if (rc != SQLITE_DONE)
		goto out;
	sqlite3_finalize(sel);
	sel = NULL;
	if (exec(ks->db, "DROP TABLE keys_v1") != SQLITE_OK ||
	    exec(ks->db, "DELETE FROM meta WHERE key = 'kek_check'") != SQLITE_OK ||
	    ks_check_kek(ks, 2, err, errlen) < 0 ||
	    exec(ks->db, "UPDATE meta SET value = 2 WHERE key = 'schema_version'") != SQLITE_OK)
		goto out;
	result = 0;
out:
	if (result < 0 && err[0] == '\0')
		snprintf(err, errlen, "cannot upgrade the key store to version 2: %s",
		         sqlite3_errmsg(ks->db));
	sqlite3_finalize(sel);
	sqlite3_finalize(ins);
	return result;
}

int ks_init_schema(struct ks *ks, const struct ks_legacy_provider *legacy, size_t n_legacy,
                   char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	int version = -1;

	if (exec(ks->db, "BEGIN IMMEDIATE") != SQLITE_OK)
		goto fail;
	if (exec(ks->db,
	         "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value NOT NULL)") !=
	    SQLITE_OK)
		goto fail;
	if (sqlite3_prepare_v2(ks->db, "SELECT value FROM meta WHERE key = 'schema_version'", -1,
	                       &st, NULL) != SQLITE_OK)
		goto fail;
	if (sqlite3_step(st) == SQLITE_ROW)
		version = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	if (version == -1) {
		/* A new store (every version wrote its version with its tables,
		 * so a keys table here is not ours and CREATE fails on it). */
		char sql[96];

		snprintf(sql, sizeof(sql), "INSERT INTO meta VALUES ('schema_version', %d)",
		         KS_SCHEMA_VERSION);
		if (exec(ks->db, KEYS_TABLE_V2) != SQLITE_OK || exec(ks->db, sql) != SQLITE_OK)
			goto fail;
		version = KS_SCHEMA_VERSION;
	}
	if (version < 1 || version > KS_SCHEMA_VERSION) {
		exec(ks->db, "ROLLBACK");
		snprintf(err, errlen,
		         "key store schema version %d is not supported (this build "
		         "reads versions 1 to %d)",
		         version, KS_SCHEMA_VERSION);
		return -1;
	}
	/* The KEK first: a migration with the wrong one would call every
	 * record corrupt. */
	if (ks_check_kek(ks, version, err, errlen) < 0)
		goto fail;
	/* Migrations, each in this transaction. */
	if (version == 1 && migrate_v1(ks, legacy, n_legacy, err, errlen) < 0)
		goto fail;
	/* PSA storage assets: tables of their own, made when missing. */
	if (ks_assets_init_schema(ks, err, errlen) < 0)
		goto fail;
	if (exec(ks->db, "COMMIT") != SQLITE_OK)
		goto fail;
	return 0;
fail:
	if (err[0] == '\0')
		snprintf(err, errlen, "cannot initialise the key store: %s",
		         sqlite3_errmsg(ks->db));
	exec(ks->db, "ROLLBACK");
	return -1;
}
