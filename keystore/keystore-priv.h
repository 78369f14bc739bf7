/* Internals shared by the key store's files. */
#ifndef TESSERA_KEYSTORE_PRIV_H
#define TESSERA_KEYSTORE_PRIV_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "keystore/keystore.h"

#define KS_SCHEMA_VERSION 2
#define KS_KEK_LEN        32

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

/* A reservation whose roll-back failed (a full disk): dropped at the next
 * write, so its name is free again without a restart. */
struct ks_pending {
	uint8_t auth_type;
	char *app, *name;
};

#define KS_PENDING_MAX 64

/* Records already reported as not opening (ks_first_report): each is logged
 * once, not on every use. Bounded; past it, nothing more is reported. */
#define KS_REPORTED_MAX 256

struct ks {
	int lock_fd; /* <db>.lock, held (flock) while the store is open; -1: none */
	sqlite3 *db;
	pthread_mutex_t lock;       /* the database, pending[] */
	pthread_mutex_t cache_lock; /* cache[] */
	uint8_t kek[KS_KEK_LEN];
	enum ks_kek_source kek_source;
	struct cached cache[CACHE_SLOTS];
	struct ks_pending pending[KS_PENDING_MAX];
	size_t n_pending;
	uint64_t max_keys, max_bytes; /* per tenant, 0 = none; under lock */
	struct ks_pending reported[KS_REPORTED_MAX]; /* under cache_lock */
	size_t n_reported;
	/* PSA storage assets (assets.c): per tenant and store, 0 = none;
	 * under lock. */
	uint64_t max_assets, max_asset_bytes;
};

/* What a sealed record is bound to (schema 2). */
struct ks_binding {
	const struct ks_key_id *id;
	const char *provider;
	const uint8_t *ref;
	size_t ref_len;
	const uint8_t *attrs;
	size_t attrs_len;
};

/* ---- the key-encryption key and sealing (keystore/seal.c) ---- */

/* Fill ks->kek from the credential or kek_path (made on first use, unless
 * the store db_path already holds records or an old-default key sits beside
 * it). 0, or -1 with a message in err. */
int ks_load_kek(struct ks *ks, const char *db_path, const char *kek_path, char *err,
                size_t errlen);
/* Check ks->kek against the store's check value, writing one when there is
 * none; in the caller's transaction. 0, or -1 with a message in err. */
int ks_check_kek(struct ks *ks, int version, char *err, size_t errlen);

/* The AAD of schema 2 and of schema 1 (a wire provider ID, no reference),
 * length-prefixed; malloc'd, NULL when out of memory. */
uint8_t *ks_aad(const struct ks_binding *b, size_t *ret_len);
uint8_t *ks_aad_v1(const struct ks_key_id *id, uint8_t provider, const uint8_t *attrs,
                   size_t attrs_len, size_t *ret_len);

/* AES-256-GCM under the KEK with a fresh nonce: TS_OK and a malloc'd blob;
 * TS_E_NOMEM, TS_E_PSA_INSUFFICIENT_ENTROPY. */
enum ts_err ks_seal(const struct ks *ks, const uint8_t *aad, size_t aad_len, const uint8_t *pt,
                    size_t pt_len, uint8_t **ret, size_t *ret_len);
/* TS_OK and a malloc'd secret (ts_free_secret); TS_E_PSA_CORRUPTION_DETECTED
 * when the blob does not open with this AAD; TS_E_NOMEM. */
enum ts_err ks_unseal(const struct ks *ks, const uint8_t *aad, size_t aad_len, const uint8_t *blob,
                      size_t len, uint8_t **ret, size_t *ret_len);

/* ks_seal / ks_unseal with the schema-2 AAD of b. */
enum ts_err ks_seal_record(const struct ks *ks, const struct ks_binding *b, const uint8_t *pt,
                           size_t pt_len, uint8_t **ret, size_t *ret_len);
enum ts_err ks_unseal_record(const struct ks *ks, const struct ks_binding *b, const uint8_t *blob,
                             size_t len, uint8_t **ret, size_t *ret_len);

/* ---- the schema and its migrations (keystore/schema.c) ---- */

/* Create, check (the version, the KEK) or migrate the schema, in one
 * transaction. 0, or -1 with a message in err and the file unchanged. */
int ks_init_schema(struct ks *ks, const struct ks_legacy_provider *legacy, size_t n_legacy,
                   char *err, size_t errlen);

/* SQLite result -> key store error. */
enum ts_err ks_db_err(int rc);

/* Bind a blob that may be empty: a NULL pointer would bind SQL NULL. */
int ks_bind_blob(sqlite3_stmt *st, int col, const uint8_t *p, size_t len);

/* ---- PSA storage assets (keystore/assets.c) ---- */

/* What ks_seal adds to the plaintext: a format byte, the nonce, the tag. */
#define KS_SEAL_OVERHEAD (1 + 12 + 16)

/* Create the asset tables and the version counter when missing, in the
 * caller's transaction (tables added to schema 2: a build without them
 * ignores them). 0, or -1 with a message in err. */
int ks_assets_init_schema(struct ks *ks, char *err, size_t errlen);

/* For ks_rekey, in its transaction: seal every asset again under fresh
 * (those that do not open under old are left as they are and counted in
 * *damaged). Leaves ks->kek as it found it. TS_OK with the number re-sealed
 * added to *count; a storage error, TS_E_NOMEM. */
enum ts_err ks_assets_rekey(struct ks *ks, const uint8_t old[KS_KEK_LEN],
                            const uint8_t fresh[KS_KEK_LEN], unsigned *count, unsigned *damaged);

#endif
