/* The SQLite key store with sealed key material. */
#include "keystore/keystore.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sqlite3.h>

#include "common/secmem.h"

#define SCHEMA_VERSION 1
#define KEK_LEN        32
#define NONCE_LEN      12
#define TAG_LEN        16
#define SEAL_VERSION   1

enum { ST_CREATING = 1, ST_READY = 2, ST_DESTROYING = 3 };

/* Opened ready records, so a hot key is read and unsealed once. Direct
 * mapped: a slot per hash of the identity; a colliding key replaces it.
 * The cache has its own lock, so a hit never waits behind a durable commit
 * (an fsync) that holds the database lock: operations on hot keys run on the
 * daemon's event loops. Order: the database lock, then the cache lock. */
#define CACHE_SLOTS 1024

struct cached {
	uint8_t auth_type;
	char *app, *name;
	struct ks_record r;
};

struct ks {
	sqlite3 *db;
	pthread_mutex_t lock;       /* the database */
	pthread_mutex_t cache_lock; /* cache[] */
	uint8_t kek[KEK_LEN];
	struct cached cache[CACHE_SLOTS];
};

void ks_record_clear(struct ks_record *r)
{
	if (r == NULL)
		return;
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

static int record_copy(const struct ks_record *from, struct ks_record *to)
{
	memset(to, 0, sizeof(*to));
	to->provider = from->provider;
	to->attrs = malloc(from->attrs_len ? from->attrs_len : 1);
	to->material = malloc(from->material_len ? from->material_len : 1);
	if (to->attrs == NULL || to->material == NULL) {
		ks_record_clear(to);
		return -1;
	}
	memcpy(to->attrs, from->attrs, from->attrs_len);
	to->attrs_len = from->attrs_len;
	memcpy(to->material, from->material, from->material_len);
	to->material_len = from->material_len;
	return 0;
}

/* ---- the key-encryption key ---- */

static int read_exact_file(const char *path, uint8_t *out, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t got = 0;
	uint8_t extra;

	if (fd < 0)
		return -1;
	while (got < len) {
		ssize_t n = read(fd, out + got, len - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	/* Exactly len bytes: a longer file is not a key of ours. */
	if (got == len && read(fd, &extra, 1) == 0) {
		close(fd);
		return 0;
	}
	close(fd);
	ts_wipe(out, len);
	errno = EINVAL;
	return -1;
}

static int load_kek(struct ks *ks, const char *kek_path, char *err, size_t errlen)
{
	const char *creds = getenv("CREDENTIALS_DIRECTORY");
	char path[4096];
	int fd;

	if (creds != NULL) {
		snprintf(path, sizeof(path), "%s/tessera-kek", creds);
		if (access(path, F_OK) == 0) {
			if (read_exact_file(path, ks->kek, KEK_LEN) == 0)
				return 0;
			snprintf(err, errlen, "credential %s: must be exactly %d bytes", path,
			         KEK_LEN);
			return -1;
		}
	}
	if (read_exact_file(kek_path, ks->kek, KEK_LEN) == 0)
		return 0;
	if (errno != ENOENT) {
		snprintf(err, errlen, "key-encryption key %s: %s", kek_path,
		         errno == EINVAL ? "must be exactly 32 bytes" : strerror(errno));
		return -1;
	}
	/* First start: make one. O_EXCL so two starts cannot both write. */
	fd = open(kek_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "cannot create key-encryption key %s: %s", kek_path,
		         strerror(errno));
		return -1;
	}
	if (RAND_priv_bytes(ks->kek, KEK_LEN) != 1 || write(fd, ks->kek, KEK_LEN) != KEK_LEN ||
	    fsync(fd) != 0) {
		close(fd);
		unlink(kek_path);
		snprintf(err, errlen, "cannot write key-encryption key %s", kek_path);
		return -1;
	}
	close(fd);
	return 0;
}

/* ---- sealing ---- */

/* AAD: everything that identifies the record, length-prefixed. */
static uint8_t *build_aad(const struct ks_key_id *id, uint8_t provider, const uint8_t *attrs,
                          size_t attrs_len, size_t *ret_len)
{
	size_t app = strlen(id->app), name = strlen(id->name);
	size_t len = 8 + 1 + 4 + app + 4 + name + 1 + 4 + attrs_len;
	uint8_t *p, *aad = malloc(len);

	if (aad == NULL)
		return NULL;
	p = aad;
	memcpy(p, "tessks01", 8);
	p += 8;
	*p++ = id->auth_type;
	for (int i = 0; i < 4; i++)
		*p++ = (uint8_t)(app >> (8 * i));
	memcpy(p, id->app, app);
	p += app;
	for (int i = 0; i < 4; i++)
		*p++ = (uint8_t)(name >> (8 * i));
	memcpy(p, id->name, name);
	p += name;
	*p++ = provider;
	for (int i = 0; i < 4; i++)
		*p++ = (uint8_t)(attrs_len >> (8 * i));
	if (attrs_len > 0)
		memcpy(p, attrs, attrs_len);
	*ret_len = len;
	return aad;
}

static enum ts_err gcm(const struct ks *ks, int enc, const uint8_t *nonce, const uint8_t *aad,
                       size_t aad_len, const uint8_t *in, size_t in_len, uint8_t *out, uint8_t *tag)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	enum ts_err err = TS_E_PSA_CORRUPTION_DETECTED;
	int n;

	if (ctx == NULL)
		return TS_E_NOMEM;
	if (EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, ks->kek, nonce, enc) != 1 ||
	    EVP_CipherUpdate(ctx, NULL, &n, aad, (int)aad_len) != 1)
		goto out;
	if (in_len > 0 && EVP_CipherUpdate(ctx, out, &n, in, (int)in_len) != 1)
		goto out;
	if (!enc && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG_LEN, tag) != 1)
		goto out;
	if (EVP_CipherFinal_ex(ctx, out + in_len, &n) != 1)
		goto out; /* the tag did not verify */
	if (enc && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_LEN, tag) != 1)
		goto out;
	err = TS_OK;
out:
	EVP_CIPHER_CTX_free(ctx);
	return err;
}

static enum ts_err seal(const struct ks *ks, const struct ks_key_id *id, uint8_t provider,
                        const uint8_t *attrs, size_t attrs_len, const uint8_t *pt, size_t pt_len,
                        uint8_t **ret, size_t *ret_len)
{
	size_t aad_len, len = 1 + NONCE_LEN + pt_len + TAG_LEN;
	uint8_t *aad = build_aad(id, provider, attrs, attrs_len, &aad_len);
	uint8_t *blob = malloc(len);
	enum ts_err err = TS_E_NOMEM;

	if (aad == NULL || blob == NULL || pt_len > INT32_MAX)
		goto out;
	blob[0] = SEAL_VERSION;
	/* A fresh random nonce per write: records are few and rewritten
	 * rarely, far below the 2^32 limit for random GCM nonces per key. */
	if (RAND_bytes(blob + 1, NONCE_LEN) != 1) {
		err = TS_E_PSA_INSUFFICIENT_ENTROPY;
		goto out;
	}
	err = gcm(ks, 1, blob + 1, aad, aad_len, pt, pt_len, blob + 1 + NONCE_LEN,
	          blob + 1 + NONCE_LEN + pt_len);
	if (err != TS_OK)
		goto out;
	*ret = blob;
	*ret_len = len;
	blob = NULL;
out:
	free(aad);
	free(blob);
	return err;
}

static enum ts_err unseal(const struct ks *ks, const struct ks_key_id *id, uint8_t provider,
                          const uint8_t *attrs, size_t attrs_len, const uint8_t *blob, size_t len,
                          uint8_t **ret, size_t *ret_len)
{
	size_t aad_len, pt_len;
	uint8_t *aad = NULL, *pt = NULL, tag[TAG_LEN];
	enum ts_err err = TS_E_PSA_CORRUPTION_DETECTED;

	if (len < 1 + NONCE_LEN + TAG_LEN || blob[0] != SEAL_VERSION)
		return err;
	pt_len = len - 1 - NONCE_LEN - TAG_LEN;
	aad = build_aad(id, provider, attrs, attrs_len, &aad_len);
	pt = malloc(pt_len ? pt_len : 1);
	if (aad == NULL || pt == NULL) {
		err = TS_E_NOMEM;
		goto out;
	}
	memcpy(tag, blob + 1 + NONCE_LEN + pt_len, TAG_LEN);
	err = gcm(ks, 0, blob + 1, aad, aad_len, blob + 1 + NONCE_LEN, pt_len, pt, tag);
	if (err != TS_OK)
		goto out;
	*ret = pt;
	*ret_len = pt_len;
	pt = NULL;
out:
	free(aad);
	ts_free_secret(pt, pt_len);
	return err;
}

/* ---- SQLite ---- */

static enum ts_err db_err(int rc)
{
	if (rc == SQLITE_FULL)
		return TS_E_PSA_INSUFFICIENT_STORAGE;
	if (rc == SQLITE_NOMEM)
		return TS_E_NOMEM;
	return TS_E_PSA_STORAGE_FAILURE;
}

static int exec(sqlite3 *db, const char *sql)
{
	return sqlite3_exec(db, sql, NULL, NULL, NULL);
}

/* The KEK check value: a seal of nothing, stored once; a different KEK
 * cannot open it, so a swapped key file is caught at start-up instead of
 * making every key look corrupt. */
static int check_kek(struct ks *ks, char *err, size_t errlen)
{
	static const struct ks_key_id check_id = {.auth_type = 0, .app = "", .name = "kek-check"};
	sqlite3_stmt *st = NULL;
	uint8_t *blob = NULL, *pt = NULL;
	size_t blen = 0, plen = 0;
	int rc, result = -1;

	if (sqlite3_prepare_v2(ks->db, "SELECT value FROM meta WHERE key = 'kek_check'", -1, &st,
	                       NULL) != SQLITE_OK)
		goto out;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		if (unseal(ks, &check_id, 0, NULL, 0, sqlite3_column_blob(st, 0),
		           (size_t)sqlite3_column_bytes(st, 0), &pt, &plen) != TS_OK) {
			snprintf(err, errlen,
			         "the key-encryption key does not match this key "
			         "store (was the key file or credential replaced?)");
			goto out;
		}
		result = 0;
		goto out;
	}
	sqlite3_finalize(st);
	st = NULL;
	if (seal(ks, &check_id, 0, NULL, 0, NULL, 0, &blob, &blen) != TS_OK ||
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
	free(blob);
	ts_free_secret(pt, plen);
	return result;
}

static int init_schema(struct ks *ks, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	int version = -1;

	if (exec(ks->db, "BEGIN IMMEDIATE") != SQLITE_OK)
		goto fail;
	if (exec(ks->db,
	         "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value NOT NULL)") !=
	            SQLITE_OK ||
	    exec(ks->db, "CREATE TABLE IF NOT EXISTS keys ("
	                 " auth_type INTEGER NOT NULL, app TEXT NOT NULL, name TEXT NOT NULL,"
	                 " provider INTEGER NOT NULL, state INTEGER NOT NULL,"
	                 " attrs BLOB NOT NULL, material BLOB,"
	                 " PRIMARY KEY (auth_type, app, name))") != SQLITE_OK)
		goto fail;
	if (sqlite3_prepare_v2(ks->db, "SELECT value FROM meta WHERE key = 'schema_version'", -1,
	                       &st, NULL) != SQLITE_OK)
		goto fail;
	if (sqlite3_step(st) == SQLITE_ROW)
		version = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	if (version == -1) {
		char sql[96];

		snprintf(sql, sizeof(sql), "INSERT INTO meta VALUES ('schema_version', %d)",
		         SCHEMA_VERSION);
		if (exec(ks->db, sql) != SQLITE_OK)
			goto fail;
		version = SCHEMA_VERSION;
	}
	/* Migrations from older versions go here, each in this transaction. */
	if (version != SCHEMA_VERSION) {
		exec(ks->db, "ROLLBACK");
		snprintf(err, errlen,
		         "key store schema version %d is not supported (this build "
		         "reads version %d)",
		         version, SCHEMA_VERSION);
		return -1;
	}
	if (exec(ks->db, "COMMIT") != SQLITE_OK)
		goto fail;
	return 0;
fail:
	snprintf(err, errlen, "cannot initialise the key store: %s", sqlite3_errmsg(ks->db));
	exec(ks->db, "ROLLBACK");
	return -1;
}

enum ts_err ks_open(const char *db_path, const char *kek_path, struct ks **ret_ks, char *err,
                    size_t errlen)
{
	struct ks *ks = calloc(1, sizeof(*ks));
	int fd;

	err[0] = '\0';
	if (ks == NULL)
		return TS_E_NOMEM;
	pthread_mutex_init(&ks->lock, NULL);
	pthread_mutex_init(&ks->cache_lock, NULL);
	if (load_kek(ks, kek_path, err, errlen) < 0)
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
	if (exec(ks->db, "PRAGMA journal_mode=WAL") != SQLITE_OK ||
	    exec(ks->db, "PRAGMA synchronous=FULL") != SQLITE_OK) {
		snprintf(err, errlen, "key store %s: %s", db_path, sqlite3_errmsg(ks->db));
		goto fail;
	}
	if (init_schema(ks, err, errlen) < 0 || check_kek(ks, err, errlen) < 0)
		goto fail;
	*ret_ks = ks;
	return TS_OK;
fail:
	ks_close(ks);
	return TS_E_KEY_INFO_MANAGER_ERROR;
}

void ks_close(struct ks *ks)
{
	if (ks == NULL)
		return;
	for (size_t i = 0; i < CACHE_SLOTS; i++)
		cached_clear(&ks->cache[i]);
	sqlite3_close(ks->db);
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

enum ts_err ks_reserve(struct ks *ks, const struct ks_key_id *id, uint8_t provider,
                       const uint8_t *attrs, size_t attrs_len)
{
	sqlite3_stmt *st = NULL;
	enum ts_err err;
	int rc;

	pthread_mutex_lock(&ks->lock);
	rc = sqlite3_prepare_v2(ks->db,
	                        "INSERT INTO keys (auth_type, app, name, provider, state, attrs) "
	                        "VALUES (?, ?, ?, ?, 1, ?)",
	                        -1, &st, NULL);
	if (rc == SQLITE_OK) {
		bind_id(st, id);
		sqlite3_bind_int(st, 4, provider);
		/* A NULL pointer would bind SQL NULL; an empty blob is meant. */
		if (attrs_len == 0)
			sqlite3_bind_zeroblob(st, 5, 0);
		else
			sqlite3_bind_blob(st, 5, attrs, (int)attrs_len, SQLITE_STATIC);
		rc = sqlite3_step(st);
	}
	if (rc == SQLITE_DONE)
		err = TS_OK;
	else if (sqlite3_extended_errcode(ks->db) == SQLITE_CONSTRAINT_PRIMARYKEY)
		err = TS_E_PSA_ALREADY_EXISTS;
	else
		err = db_err(rc);
	sqlite3_finalize(st);
	pthread_mutex_unlock(&ks->lock);
	return err;
}

enum ts_err ks_commit(struct ks *ks, const struct ks_key_id *id, const uint8_t *attrs,
                      size_t attrs_len, const uint8_t *material, size_t material_len)
{
	sqlite3_stmt *st = NULL;
	uint8_t *blob = NULL;
	size_t blen = 0;
	enum ts_err err;
	int rc, provider = -1;

	pthread_mutex_lock(&ks->lock);
	cache_drop(ks, id);
	rc = sqlite3_prepare_v2(ks->db,
	                        "SELECT provider FROM keys WHERE auth_type = ? AND app = ? AND "
	                        "name = ? AND state = 1",
	                        -1, &st, NULL);
	if (rc == SQLITE_OK) {
		bind_id(st, id);
		if (sqlite3_step(st) == SQLITE_ROW)
			provider = sqlite3_column_int(st, 0);
	}
	sqlite3_finalize(st);
	st = NULL;
	err = TS_E_PSA_DOES_NOT_EXIST;
	if (provider < 0)
		goto out;
	err = seal(ks, id, (uint8_t)provider, attrs, attrs_len, material, material_len, &blob,
	           &blen);
	if (err != TS_OK)
		goto out;
	rc = sqlite3_prepare_v2(ks->db,
	                        "UPDATE keys SET state = 2, attrs = ?4, material = ?5 WHERE "
	                        "auth_type = ?1 AND app = ?2 AND name = ?3 AND state = 1",
	                        -1, &st, NULL);
	if (rc == SQLITE_OK) {
		bind_id(st, id);
		sqlite3_bind_blob(st, 4, attrs, (int)attrs_len, SQLITE_STATIC);
		sqlite3_bind_blob(st, 5, blob, (int)blen, SQLITE_STATIC);
		rc = sqlite3_step(st);
	}
	err = rc == SQLITE_DONE ? TS_OK : db_err(rc);
out:
	sqlite3_finalize(st);
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
	return rc == SQLITE_DONE ? TS_OK : db_err(rc);
}

/* Delete a record that is in the given state (the last step of create
 * rollback and of destroy). */
static enum ts_err delete_in_state(struct ks *ks, const struct ks_key_id *id, int state)
{
	enum ts_err err;

	pthread_mutex_lock(&ks->lock);
	cache_drop(ks, id);
	err = delete_row(ks, id, state);
	pthread_mutex_unlock(&ks->lock);
	return err;
}

enum ts_err ks_abort(struct ks *ks, const struct ks_key_id *id)
{
	return delete_in_state(ks, id, ST_CREATING);
}

enum ts_err ks_remove(struct ks *ks, const struct ks_key_id *id)
{
	return delete_in_state(ks, id, ST_DESTROYING);
}

/* Read and open one ready record; caller holds the lock. */
static enum ts_err get_locked(struct ks *ks, const struct ks_key_id *id, uint8_t provider,
                              struct ks_record *ret)
{
	sqlite3_stmt *st = NULL;
	struct ks_record r = {0};
	enum ts_err err = TS_E_PSA_DOES_NOT_EXIST;
	int rc;

	rc = sqlite3_prepare_v2(
	        ks->db,
	        "SELECT provider, attrs, material FROM keys WHERE auth_type = ? AND "
	        "app = ? AND name = ? AND state = 2",
	        -1, &st, NULL);
	if (rc != SQLITE_OK) {
		err = db_err(rc);
		goto out;
	}
	bind_id(st, id);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		if (rc != SQLITE_DONE)
			err = db_err(rc);
		goto out;
	}
	/* A key of that name in another provider does not exist for this one. */
	if (sqlite3_column_int(st, 0) != provider)
		goto out;
	r.provider = provider;
	r.attrs_len = (size_t)sqlite3_column_bytes(st, 1);
	r.attrs = malloc(r.attrs_len ? r.attrs_len : 1);
	if (r.attrs == NULL) {
		err = TS_E_NOMEM;
		goto out;
	}
	if (r.attrs_len > 0)
		memcpy(r.attrs, sqlite3_column_blob(st, 1), r.attrs_len);
	err = unseal(ks, id, provider, r.attrs, r.attrs_len, sqlite3_column_blob(st, 2),
	             (size_t)sqlite3_column_bytes(st, 2), &r.material, &r.material_len);
	if (err != TS_OK)
		goto out;
	*ret = r;
	memset(&r, 0, sizeof(r));
out:
	sqlite3_finalize(st);
	ks_record_clear(&r);
	return err;
}

enum ts_err ks_get(struct ks *ks, const struct ks_key_id *id, uint8_t provider,
                   struct ks_record *ret)
{
	enum ts_err err;

	struct cached *c;

	c = &ks->cache[slot_of(id)];
	pthread_mutex_lock(&ks->cache_lock);
	if (cached_is(c, id)) {
		/* Same answers as the database: another provider's key does
		 * not exist for this one. */
		err = c->r.provider != provider      ? TS_E_PSA_DOES_NOT_EXIST
		      : record_copy(&c->r, ret) == 0 ? TS_OK
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

enum ts_err ks_begin_destroy(struct ks *ks, const struct ks_key_id *id, uint8_t provider,
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
		 * provider gets no material, the row goes. */
		r.provider = provider;
		err = TS_OK;
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
		err = db_err(rc);
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
			       (uint8_t)sqlite3_column_int(st, 1), sqlite3_column_blob(st, 2),
			       (size_t)sqlite3_column_bytes(st, 2)) != 0)
				break;
	}
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		err = db_err(rc);
	sqlite3_finalize(st);
	pthread_mutex_unlock(&ks->lock);
	return err;
}

enum ts_err ks_list_clients(struct ks *ks, ks_name_cb cb, void *ctx)
{
	sqlite3_stmt *st = NULL;
	enum ts_err err = TS_OK;
	int rc;

	pthread_mutex_lock(&ks->lock);
	rc = sqlite3_prepare_v2(ks->db,
	                        "SELECT DISTINCT app FROM keys WHERE state = 2 ORDER BY app", -1,
	                        &st, NULL);
	if (rc == SQLITE_OK)
		while ((rc = sqlite3_step(st)) == SQLITE_ROW)
			if (cb(ctx, (const char *)sqlite3_column_text(st, 0)) != 0)
				break;
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		err = db_err(rc);
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
		int state;

		rc = sqlite3_prepare_v2(ks->db,
		                        "SELECT auth_type, app, name, provider, state, attrs, "
		                        "material FROM keys WHERE state != 2 LIMIT 1",
		                        -1, &st, NULL);
		if (rc != SQLITE_OK || (rc = sqlite3_step(st)) != SQLITE_ROW)
			break;
		app = strdup((const char *)sqlite3_column_text(st, 1));
		name = strdup((const char *)sqlite3_column_text(st, 2));
		if (app == NULL || name == NULL) {
			free(app);
			free(name);
			rc = SQLITE_NOMEM;
			break;
		}
		id.auth_type = (uint8_t)sqlite3_column_int(st, 0);
		id.app = app;
		id.name = name;
		r.provider = (uint8_t)sqlite3_column_int(st, 3);
		state = sqlite3_column_int(st, 4);
		if (sqlite3_column_bytes(st, 6) > 0)
			(void)unseal(
			        ks, &id, r.provider, sqlite3_column_blob(st, 5),
			        (size_t)sqlite3_column_bytes(st, 5), sqlite3_column_blob(st, 6),
			        (size_t)sqlite3_column_bytes(st, 6), &r.material, &r.material_len);
		sqlite3_finalize(st);
		st = NULL;
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
	pthread_mutex_unlock(&ks->lock);
	*ret_count = count;
	return rc == SQLITE_DONE ? TS_OK : db_err(rc);
}
