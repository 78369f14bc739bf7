/*
 * The key store: identity-scoped key records in SQLite.
 *
 * A key is (authenticator, application, key name) -> provider instance (a
 * configured provider, named by its unique configuration name such as
 * "software-provider" or "token-a"), the provider's reference for the key
 * (not secret, in clear, may be empty: a PKCS#11 CKA_ID, a TPM handle, a
 * Trusted Services key ID), PSA attributes (packed protobuf), the provider's
 * key material (always sealed with AES-256-GCM under the key-encryption key,
 * the AAD binding it to the whole identity tuple, the provider instance, the
 * reference and the attributes), and a state. Names are unique per
 * (authenticator, application) across provider instances, as in Parsec's
 * SQLite key store.
 *
 * Create and destroy are crash-consistent: reserve (state "creating", with
 * the reference the provider is about to use) -> the provider makes the key
 * -> commit (state "ready"); destroy marks "destroying" -> the provider
 * destroys -> remove. ks_recover() hands whatever a crash interrupted, with
 * its reference, to the provider to drop.
 *
 * Schema version 2 (this build) names provider instances; version 1 named
 * wire provider IDs and is migrated by ks_open().
 *
 * All functions are thread-safe. Functions returning material hand out a
 * malloc'd secret the caller must release with ks_record_clear(). Callbacks
 * run with the store locked and must not call back into it.
 */
#ifndef TESSERA_KEYSTORE_KEYSTORE_H
#define TESSERA_KEYSTORE_KEYSTORE_H

#include <stdbool.h>
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
	char *provider; /* the instance name */
	uint8_t *ref;   /* the provider's reference; not secret, may be empty */
	size_t ref_len;
	uint8_t *attrs;
	size_t attrs_len;
	uint8_t *material; /* secret: wiped by ks_record_clear */
	size_t material_len;
};

/* Wipe and free a record's buffers. NULL ok. */
void ks_record_clear(struct ks_record *r);

/* For migrating a version-1 store, whose records name a wire provider ID:
 * the instance that takes over that ID's keys. */
struct ks_legacy_provider {
	uint8_t provider_id;
	const char *instance;
};

/*
 * Open (creating if needed) the store at db_path, mode 0600, after SQLite's
 * quick_check (a damaged file is refused). The key-encryption key is
 * $CREDENTIALS_DIRECTORY/tessera-kek when that exists (32 bytes), else the
 * file kek_path: refused when others may read or write it, created with 32
 * random bytes and mode 0600 on first use, and never made anew for a store
 * that holds records, nor while an old-default key file <db_path>.kek
 * exists.
 *
 * A version-1 store is migrated to version 2 in one transaction: each
 * record's provider ID becomes the instance legacy[] gives for it (version 1
 * allowed one instance per provider type), its reference is empty, and its
 * material is opened and sealed again under the new AAD (material that did
 * not open before stays as it was, and still does not open). Records left
 * "creating" or "destroying" migrate too, for ks_recover(). On any failure
 * the file is left as it was. legacy may be NULL when n_legacy is 0; it is
 * only read for a version-1 store.
 *
 * TS_OK; TS_E_KEY_INFO_MANAGER_ERROR with a message in err (unreadable
 * files, a schema version newer than this build, a KEK that does not match
 * this store, a version-1 record whose provider ID legacy[] does not name or
 * names twice, a migration that could not be written); TS_E_NOMEM.
 */
enum ts_err ks_open(const char *db_path, const char *kek_path,
                    const struct ks_legacy_provider *legacy, size_t n_legacy, struct ks **ret_ks,
                    char *err, size_t errlen);
void ks_close(struct ks *ks);

/* Where the open store's key-encryption key came from. */
enum ks_kek_source {
	KS_KEK_CREDENTIAL = 1, /* $CREDENTIALS_DIRECTORY/tessera-kek */
	KS_KEK_FILE,           /* kek_path */
	KS_KEK_NEW_FILE,       /* kek_path, made by this open (a new store) */
};
enum ks_kek_source ks_kek_source(const struct ks *ks);

/*
 * Rotation: seal every record again under the key in new_kek_path (made,
 * 32 random bytes, 0600, when it does not exist; read when it does, so a run
 * cut short is run again with the same file), with the check value, in one
 * transaction: a crash leaves every record under the old key or every
 * record under the new one, never a mix. Records that open with neither
 * are left as they are and counted in *ret_damaged. The caller then puts
 * the new key where the daemon reads it (the file, or the credential).
 * TS_OK with the number re-sealed; TS_E_KEY_INFO_MANAGER_ERROR with a
 * message in err, and nothing changed.
 */
enum ts_err ks_rekey(struct ks *ks, const char *new_kek_path, unsigned *ret_count,
                     unsigned *ret_damaged, char *err, size_t errlen);

/*
 * Per-tenant quotas (0 = no limit): how many records a tenant (auth type,
 * application) may hold, in any state, and how many bytes they may take
 * (name, attributes, reference and sealed material). ks_reserve and
 * ks_commit answer TS_E_PSA_INSUFFICIENT_STORAGE past either, checked
 * under the store's lock so concurrent creations cannot overshoot.
 */
void ks_set_quotas(struct ks *ks, uint64_t max_keys, uint64_t max_bytes);

/*
 * Reserve a name for a key being created in the instance provider (a
 * non-empty name). ref (ref_len bytes, NULL when 0) is the reference the
 * provider will give the key; it is durable when this returns, before the
 * provider makes anything, so after a crash ks_recover() can hand it back
 * for the provider to destroy (the record is sealed already, so an altered
 * reference is not handed back). TS_OK; TS_E_PSA_ALREADY_EXISTS if the
 * tenant has a key of that name in any instance or state;
 * TS_E_PSA_INSUFFICIENT_ENTROPY, TS_E_NOMEM,
 * TS_E_PSA_STORAGE_FAILURE / TS_E_PSA_INSUFFICIENT_STORAGE.
 */
enum ts_err ks_reserve(struct ks *ks, const struct ks_key_id *id, const char *provider,
                       const uint8_t *ref, size_t ref_len, const uint8_t *attrs, size_t attrs_len);

/*
 * Make a reserved key ready with its final attributes and material (either
 * may be empty). ref NULL keeps the reference given to ks_reserve(); else it
 * replaces it (ref_len 0: empty), for a provider that learns its reference
 * only from the creation (a reference first recorded here is not
 * crash-safe: a crash before this call leaves the provider's object
 * unknown, so prefer choosing the reference before creating).
 * TS_OK; TS_E_PSA_DOES_NOT_EXIST when no reservation of that name is
 * pending; TS_E_PSA_INSUFFICIENT_ENTROPY, TS_E_NOMEM,
 * TS_E_PSA_STORAGE_FAILURE / TS_E_PSA_INSUFFICIENT_STORAGE.
 */
enum ts_err ks_commit(struct ks *ks, const struct ks_key_id *id, const uint8_t *ref, size_t ref_len,
                      const uint8_t *attrs, size_t attrs_len, const uint8_t *material,
                      size_t material_len);

/* Drop a reservation that did not complete. TS_OK (also when there was
 * none); TS_E_PSA_STORAGE_FAILURE / TS_E_PSA_INSUFFICIENT_STORAGE, and then
 * the store drops it at its next ks_reserve (a full disk that has room
 * again frees the name without a restart), or recovery at the next start. */
enum ts_err ks_abort(struct ks *ks, const struct ks_key_id *id);

/*
 * The ready key of that name in the instance provider. TS_OK with *ret
 * filled (provider, ref, attrs, material); TS_E_PSA_DOES_NOT_EXIST when there
 * is none, or it lives in another instance, or it is not ready;
 * TS_E_PSA_CORRUPTION_DETECTED when its sealed material does not open
 * (altered, or moved to another tenant or instance); TS_E_NOMEM;
 * TS_E_PSA_STORAGE_FAILURE.
 */
enum ts_err ks_get(struct ks *ks, const struct ks_key_id *id, const char *provider,
                   struct ks_record *ret);

/* Step 1 of destroy: mark the ready key "destroying" and return it so the
 * provider can destroy its part (by ret->ref, or its material). Same errors
 * as ks_get, except that a record whose material does not open is still
 * marked and returned, without material. */
enum ts_err ks_begin_destroy(struct ks *ks, const struct ks_key_id *id, const char *provider,
                             struct ks_record *ret);

/* Step 2 of destroy: remove the record. TS_OK (also when there was none);
 * TS_E_PSA_STORAGE_FAILURE. */
enum ts_err ks_remove(struct ks *ks, const struct ks_key_id *id);

/* Every ready key of one tenant, by name, with its instance. cb returns 0
 * to go on. TS_OK (also when cb stopped it); TS_E_PSA_STORAGE_FAILURE. */
typedef int (*ks_key_cb)(void *ctx, const char *name, const char *provider, const uint8_t *attrs,
                         size_t attrs_len);
enum ts_err ks_list(struct ks *ks, uint8_t auth_type, const char *app, ks_key_cb cb, void *ctx);

/*
 * Every ready key of the instance provider across all tenants, ordered by
 * (auth type, application, name), with its reference and attributes (no
 * material): for a provider rebuilding its state at start-up (which of its
 * objects are in use, the next free key ID). The references are as stored,
 * not checked against the seal (nothing is unsealed): fit for avoiding
 * reuse, not for acting on a key, which goes through ks_get(). cb returns 0
 * to go on.
 * TS_OK (also when cb stopped it); TS_E_PSA_STORAGE_FAILURE.
 */
typedef int (*ks_each_cb)(void *ctx, const struct ks_key_id *id, const uint8_t *ref, size_t ref_len,
                          const uint8_t *attrs, size_t attrs_len);
enum ts_err ks_each_key(struct ks *ks, const char *provider, ks_each_cb cb, void *ctx);

/* Whether a damaged record (one that did not open) should be reported now:
 * true the first time for an identity, false after, so the log names each
 * once however often it is asked for. Past KS_REPORTED_MAX identities, false
 * except once more, when *ret_full is set true (report "and more"). */
bool ks_first_report(struct ks *ks, const struct ks_key_id *id, bool *ret_full);

/* Distinct (auth type, application) pairs that own ready keys or storage
 * assets, sorted by application then auth type. cb returns 0 to go on. TS_OK;
 * TS_E_PSA_STORAGE_FAILURE. */
typedef int (*ks_client_cb)(void *ctx, uint8_t auth_type, const char *app);
enum ts_err ks_list_clients(struct ks *ks, ks_client_cb cb, void *ctx);

/* Crash recovery: for each record left "creating" or "destroying", cb is
 * given it with its instance name and reference (material is empty for
 * "creating", and for a record whose material does not open) so the
 * provider can drop what it made; the record is then removed. cb may be
 * NULL. TS_OK with the number handled in *ret_count;
 * TS_E_PSA_STORAGE_FAILURE / TS_E_NOMEM with the number handled before. */
typedef void (*ks_recover_cb)(void *ctx, const struct ks_key_id *id, const struct ks_record *r);
enum ts_err ks_recover(struct ks *ks, ks_recover_cb cb, void *ctx, unsigned *ret_count);

/* ---- PSA Secure Storage assets (keystore/assets.c) ----
 *
 * An asset is (authenticator, application, store, uid) -> flags, capacity,
 * data. The data is sealed with AES-256-GCM under the KEK, the AAD binding
 * the whole identity tuple, the flags, the capacity and a version. Each
 * write is one SQLite transaction and takes a fresh version from a counter
 * of the whole store; unless the asset has KS_ASSET_NO_REPLAY_PROTECTION,
 * its current version is also kept in a table of its own, so a row swapped
 * for an older sealed copy of itself does not open (a copy of the whole
 * file, with both tables, is not detected: the counter lives in the same
 * file). Assets are not cached: every read opens the record.
 */
enum ks_store { KS_STORE_ITS = 1, KS_STORE_PS = 2 };

/* The flags the store itself acts on (PSA_STORAGE_FLAG_* values); others
 * are kept and echoed. */
#define KS_ASSET_WRITE_ONCE           (1u << 0)
#define KS_ASSET_NO_REPLAY_PROTECTION (1u << 2)

/* The largest capacity of one asset, whatever the quotas say (it is sealed
 * and opened whole). */
#define KS_ASSET_MAX_CAPACITY (256u << 20)

struct ks_asset_id {
	uint8_t auth_type;
	const char *app;
	uint8_t store; /* enum ks_store */
	uint64_t uid;
};

struct ks_asset_info {
	uint64_t capacity;
	uint64_t size;
	uint32_t flags;
};

/* Per tenant and store (0 = no limit): how many assets, and how many bytes
 * of capacity. Past either, creating or growing answers
 * TS_E_PSA_INSUFFICIENT_STORAGE; a removal frees exactly what the asset
 * took, so the same fill gives the same count every time. */
void ks_set_asset_quotas(struct ks *ks, uint64_t max_assets, uint64_t max_bytes);

/*
 * Create or replace an asset with data (len bytes, NULL when 0) and flags:
 * capacity = size = len. TS_OK; TS_E_PSA_NOT_PERMITTED when the asset exists
 * and is write-once (checked before anything else);
 * TS_E_PSA_INSUFFICIENT_STORAGE past a quota or KS_ASSET_MAX_CAPACITY (or a
 * full disk); TS_E_PSA_INSUFFICIENT_ENTROPY, TS_E_NOMEM,
 * TS_E_PSA_STORAGE_FAILURE.
 */
enum ts_err ks_asset_set(struct ks *ks, const struct ks_asset_id *id, uint32_t flags,
                         const uint8_t *data, size_t len);

/* Reserve an empty asset of that capacity (size 0). The quota first, then
 * existence: TS_OK; TS_E_PSA_INSUFFICIENT_STORAGE; TS_E_PSA_ALREADY_EXISTS
 * (also for an asset whose record is damaged); the errors of ks_asset_set.
 * Flags are the caller's to check (PSA refuses write-once here). */
enum ts_err ks_asset_create(struct ks *ks, const struct ks_asset_id *id, uint64_t capacity,
                            uint32_t flags);

/*
 * Write len bytes at offset into an existing asset: size becomes
 * max(size, offset + len), capacity stays. TS_OK (len 0: nothing changes);
 * TS_E_PSA_DOES_NOT_EXIST; TS_E_PSA_NOT_PERMITTED (write-once);
 * TS_E_PSA_INVALID_ARGUMENT when offset > size or offset + len > capacity;
 * the errors of ks_asset_get for a record that does not open; those of
 * ks_asset_set.
 */
enum ts_err ks_asset_set_extended(struct ks *ks, const struct ks_asset_id *id, uint64_t offset,
                                  const uint8_t *data, size_t len);

/*
 * Open an asset: TS_OK with *ret_info, and, when ret_data is not NULL, its
 * whole data (a malloc'd secret of *ret_len = size bytes: ts_free_secret).
 * TS_E_PSA_DOES_NOT_EXIST; TS_E_PSA_DATA_CORRUPT when the record is
 * structurally broken (lengths that do not agree, an unknown version);
 * TS_E_PSA_INVALID_SIGNATURE when it does not authenticate: altered, moved
 * to another uid, store or tenant, or (with replay protection) an older
 * copy of itself or removed behind the store's back; TS_E_NOMEM;
 * TS_E_PSA_STORAGE_FAILURE.
 */
enum ts_err ks_asset_get(struct ks *ks, const struct ks_asset_id *id,
                         struct ks_asset_info *ret_info, uint8_t **ret_data, size_t *ret_len);

/* Remove an asset and its version, and erase them from the files (as key
 * deletion does). TS_OK; TS_E_PSA_DOES_NOT_EXIST; TS_E_PSA_NOT_PERMITTED
 * (write-once); TS_E_PSA_STORAGE_FAILURE. A damaged record can be removed. */
enum ts_err ks_asset_remove(struct ks *ks, const struct ks_asset_id *id);

/* Remove every asset of a tenant in both stores, write-once ones included
 * (DeleteClient), and erase them. TS_OK with the number removed in
 * *ret_count (may be NULL); TS_E_PSA_STORAGE_FAILURE. */
enum ts_err ks_assets_delete_tenant(struct ks *ks, uint8_t auth_type, const char *app,
                                    unsigned *ret_count);

#endif
