/*
 * Readers for what a Parsec installation leaves on disk: the key info
 * store (the SQLite key info manager and the older on-disk one) and the
 * Mbed Crypto provider's key files (Mbed TLS's ITS files holding PSA
 * persistent keys). Formats: docs/migrating-from-parsec.md.
 */
#ifndef TESSERA_MIGRATE_PARSEC_H
#define TESSERA_MIGRATE_PARSEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "migrate/psamap.h"

/* Parsec's provider IDs (wire byte), as the on-disk store names its
 * directories. */
enum mig_parsec_provider {
	MIG_PROV_CORE = 0,
	MIG_PROV_MBED_CRYPTO = 1,
	MIG_PROV_PKCS11 = 2,
	MIG_PROV_TPM = 3,
	MIG_PROV_TRUSTED_SERVICE = 4,
	MIG_PROV_CRYPTOAUTHLIB = 5,
	MIG_PROV_UNKNOWN = 255,
};

/* Parsec's authenticator_id for its own keys. */
#define MIG_AUTH_INTERNAL 255

/* One key mapping of the key info store. */
struct mig_entry {
	unsigned auth; /* Parsec's auth type (1 Direct, 3 UnixPeer, 4 JwtSvid; 255 internal) */
	char *app;
	char *name;
	int provider; /* enum mig_parsec_provider */
	char *provider_name;
	uint8_t *key_id; /* the provider's reference, bincode */
	size_t key_id_len;
	/* The mapping's own idea of the key (its bincode attributes), when
	 * they decode: psa-crypto's Type variant, ECC/DH family variant and
	 * size (0: not recorded, as for an import that gave none). */
	bool kim_attrs_ok;
	unsigned kim_type, kim_family;
	uint64_t kim_bits;
	/* The whole bincode attributes (NULL if empty or out of memory): the
	 * only record of a PKCS#11 key's policy. */
	uint8_t *kim_blob;
	size_t kim_blob_len;
	char *origin; /* where it was read, for the report */
	char *bad;    /* NULL, or why the mapping itself cannot be used */
};

struct mig_entries {
	struct mig_entry *v;
	size_t n, cap;
};

void mig_entries_free(struct mig_entries *e);

/* The provider ID of a Parsec provider UUID, MIG_PROV_UNKNOWN if none. */
int mig_provider_of_uuid(const char *uuid);
/* A printable name of a Parsec provider ID. */
const char *mig_provider_label(int provider);

/* Append the mappings of the SQLite key info manager at path (opened read
 * only). 0, or -1 with a message in err (a file that is not such a store,
 * a schema version other than 1). */
int mig_read_sqlite(const char *path, struct mig_entries *e, char *err, size_t errlen);

/* Append the mappings of the on-disk key info manager under dir; auth is
 * the authenticator Parsec ran with (the on-disk store does not record
 * it). Internal keys (dir/parsec/) are appended with auth 255. 0, or -1
 * with a message in err. */
int mig_read_on_disk(const char *dir, unsigned auth, struct mig_entries *e, char *err,
                     size_t errlen);

/* Does the key file's type and size agree with what the mapping recorded
 * (when it recorded something readable)? 0, or -1 with why. */
int mig_check_kim_attrs(const struct mig_entry *m, const struct mig_psa_attrs *a, char *why,
                        size_t whylen);

/* Read the Mbed Crypto key with PSA key ID id from dir: its attributes and
 * its material (PSA export format; a secret, release with
 * ts_free_secret). 0, or -1 with why. */
int mig_read_mbed_key(const char *dir, uint32_t id, struct mig_psa_attrs *ret_attrs,
                      uint8_t **ret_data, size_t *ret_len, char *why, size_t whylen);

#endif
