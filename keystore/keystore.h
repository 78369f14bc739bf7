/*
 * The key store: identity-scoped key records in SQLite.
 *
 * A key is (authenticator, application, key name) -> provider, PSA
 * attributes (packed protobuf), the provider's key material or reference
 * (always sealed with AES-256-GCM under the key-encryption key, the AAD
 * binding it to the whole identity tuple, the provider and the attributes),
 * and a state. Names are unique per (authenticator, application) across
 * providers, as in Parsec's SQLite key store.
 *
 * Create and destroy are crash-consistent: reserve (state "creating") ->
 * the provider makes the key -> commit (state "ready"); destroy marks
 * "destroying" -> the provider destroys -> remove. ks_recover() finishes or
 * rolls back whatever a crash interrupted.
 *
 * All functions are thread-safe. Functions returning material hand out a
 * malloc'd secret the caller must release with ks_record_clear().
 */
#ifndef TESSERA_KEYSTORE_KEYSTORE_H
#define TESSERA_KEYSTORE_KEYSTORE_H

#include <stddef.h>
#include <stdint.h>

#include "common/errors.h"

struct ks;

struct ks_key_id {
	uint8_t auth_type;
	const char *app;
	const char *name;
};

struct ks_record {
	uint8_t provider;
	uint8_t *attrs;
	size_t attrs_len;
	uint8_t *material; /* secret: wiped by ks_record_clear */
	size_t material_len;
};

/* Wipe and free a record's buffers. NULL ok. */
void ks_record_clear(struct ks_record *r);

/*
 * Open (creating if needed) the store at db_path, mode 0600. The
 * key-encryption key is $CREDENTIALS_DIRECTORY/tessera-kek when that exists
 * (32 bytes), else the file kek_path, created with 32 random bytes and mode
 * 0600 on first use. TS_OK; TS_E_KEY_INFO_MANAGER_ERROR with a message in
 * err (unreadable files, wrong schema version, a KEK that does not match
 * this store); TS_E_NOMEM.
 */
enum ts_err ks_open(const char *db_path, const char *kek_path, struct ks **ret_ks, char *err,
                    size_t errlen);
void ks_close(struct ks *ks);

/* Reserve a name for a key being created. TS_OK; TS_E_PSA_ALREADY_EXISTS if
 * the tenant has a key of that name in any provider or state;
 * TS_E_PSA_STORAGE_FAILURE / TS_E_PSA_INSUFFICIENT_STORAGE. */
enum ts_err ks_reserve(struct ks *ks, const struct ks_key_id *id, uint8_t provider,
                       const uint8_t *attrs, size_t attrs_len);

/* Make a reserved key ready with its final attributes and material. */
enum ts_err ks_commit(struct ks *ks, const struct ks_key_id *id, const uint8_t *attrs,
                      size_t attrs_len, const uint8_t *material, size_t material_len);

/* Drop a reservation that did not complete. */
enum ts_err ks_abort(struct ks *ks, const struct ks_key_id *id);

/*
 * The ready key of that name in that provider. TS_OK with *ret filled;
 * TS_E_PSA_DOES_NOT_EXIST when there is none, or it lives in another
 * provider, or it is not ready; TS_E_PSA_CORRUPTION_DETECTED when its sealed
 * material does not open (altered, or moved to another tenant).
 */
enum ts_err ks_get(struct ks *ks, const struct ks_key_id *id, uint8_t provider,
                   struct ks_record *ret);

/* Step 1 of destroy: mark the ready key "destroying" and return it so the
 * provider can destroy its part. Same errors as ks_get. */
enum ts_err ks_begin_destroy(struct ks *ks, const struct ks_key_id *id, uint8_t provider,
                             struct ks_record *ret);

/* Step 2 of destroy: remove the record. */
enum ts_err ks_remove(struct ks *ks, const struct ks_key_id *id);

/* Every ready key of one tenant, by name. cb returns 0 to go on. */
typedef int (*ks_key_cb)(void *ctx, const char *name, uint8_t provider, const uint8_t *attrs,
                         size_t attrs_len);
enum ts_err ks_list(struct ks *ks, uint8_t auth_type, const char *app, ks_key_cb cb, void *ctx);

/* Distinct application names that own ready keys, sorted. */
typedef int (*ks_name_cb)(void *ctx, const char *name);
enum ts_err ks_list_clients(struct ks *ks, ks_name_cb cb, void *ctx);

/* Crash recovery: for each record left "creating" or "destroying", cb is
 * given it (material may be empty for "creating") so the provider can drop
 * what it made; the record is then removed. Returns the number handled in
 * *ret_count. */
typedef void (*ks_recover_cb)(void *ctx, const struct ks_key_id *id, const struct ks_record *r);
enum ts_err ks_recover(struct ks *ks, ks_recover_cb cb, void *ctx, unsigned *ret_count);

#endif
