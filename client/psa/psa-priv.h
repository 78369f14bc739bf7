/*
 * libtessera-psa internals: the process's one client, the key table, and
 * the helpers every function family shares (docs/psa-api.md).
 */
#ifndef TESSERA_CLIENT_PSA_PRIV_H
#define TESSERA_CLIENT_PSA_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "psa/crypto.h"

struct tessera_client;

/* Largest chunk of random bytes asked for in one request. */
#define TPSA_RANDOM_CHUNK 65536u
/* Largest input sent in one multipart update request. */
#define TPSA_UPDATE_CHUNK 65536u

/* The length an AEAD algorithm's tag or a truncated MAC has (bits 16-21): 0
 * is no valid tag, and a MAC at full length. */
#define TPSA_ALG_LENGTH_FIELD(alg) (((alg) >> 16) & 0x3fu)

/* One key this process knows of. */
struct tpsa_key {
	psa_key_id_t id;
	uint8_t provider;
	bool is_volatile;
	bool have_attrs;             /* attrs complete (the size too) */
	bool have_policy;            /* attrs.type, usage and alg known */
	uint64_t generation;         /* volatile keys: the connection they live on */
	psa_key_lifetime_t lifetime; /* as created, or as found */
	psa_key_attributes_t attrs;  /* type, bits, usage, alg (when have_attrs) */
};

/*
 * Every public function runs between tpsa_enter() and tpsa_leave(): one
 * mutex for the client and the table. tpsa_enter() makes the client when
 * there is none yet (lazily, from the environment) and returns its status;
 * tpsa_leave() must be called in any case.
 */
psa_status_t tpsa_enter(void);
void tpsa_leave(void);

/* The client (valid between enter and leave, after enter succeeded). */
struct tessera_client *tpsa_client(void);
/* Its current connection generation. */
uint64_t tpsa_generation(void);

/* A libtessera result (TESSERA_OK, a Parsec status, or TESSERA_ERR_*) as PSA. */
psa_status_t tpsa_status(int rc);
/* The same, for calls that name a key: DoesNotExist is INVALID_HANDLE. */
psa_status_t tpsa_key_status(int rc);

/* Pack op, send it, unpack the result with desc (NULL: not read). */
int tpsa_call(uint8_t provider, uint32_t opcode, const ProtobufCMessage *op,
              const ProtobufCMessageDescriptor *desc, ProtobufCMessage **ret_result);

/* The provider that serves hashing and random numbers (the default one). */
psa_status_t tpsa_default_provider(uint8_t *ret);
/* The provider a lifetime's location selects (NOT_SUPPORTED if none). */
psa_status_t tpsa_location_provider(psa_key_location_t loc, uint8_t *ret);

/* Whether provider serves opcode (ListOpcodes with the extensions, read once). */
bool tpsa_provider_has(uint8_t provider, uint32_t opcode);

/* The wire name of key id (buf of TPSA_NAME_MAX bytes). */
#define TPSA_NAME_MAX 32
void tpsa_key_name(psa_key_id_t id, bool is_volatile, char *buf);

/*
 * Find key id: a known volatile key (COMMUNICATION_FAILURE once its
 * connection is gone), or a persistent one found on the daemon's providers.
 * INVALID_HANDLE for ids that name no key.
 */
psa_status_t tpsa_key_find(psa_key_id_t id, struct tpsa_key **ret);
/*
 * One request naming key k: its status as PSA (DoesNotExist: INVALID_HANDLE,
 * and a persistent key forgotten then), COMMUNICATION_FAILURE when a
 * volatile key's connection turned out to be gone.
 */
psa_status_t tpsa_key_call(struct tpsa_key *k, uint32_t opcode, const ProtobufCMessage *op,
                           const ProtobufCMessageDescriptor *desc, ProtobufCMessage **ret);
/* A NOT_PERMITTED from the daemon for a use the key's policy allows, of an
 * algorithm its type does not fit: the specification's status for that. */
psa_status_t tpsa_refine_not_permitted(struct tpsa_key *k, psa_algorithm_t alg,
                                       psa_key_usage_t need, psa_status_t st);
/* Make sure k->attrs holds the key's attributes (one request if not). */
psa_status_t tpsa_key_attrs(struct tpsa_key *k);
/* Record a key made by this process; NULL when out of memory. */
struct tpsa_key *tpsa_key_add(psa_key_id_t id, uint8_t provider, bool is_volatile,
                              psa_key_lifetime_t lifetime, const psa_key_attributes_t *attrs);
/* Forget a key (after destroy, or when it turned out gone). */
void tpsa_key_forget(psa_key_id_t id);
/* A new volatile key id (0 when the range is used up). */
psa_key_id_t tpsa_volatile_id(void);

/*
 * Where a key to be created goes: its provider, whether it is volatile, and
 * the id it gets (volatile: a new one). Checks the lifetime and id rules.
 */
psa_status_t tpsa_new_key_place(const psa_key_attributes_t *attrs, uint8_t *ret_provider,
                                bool *ret_volatile, psa_key_id_t *ret_id);

/* Whether the key's policy algorithm permits alg. */
bool tpsa_policy_permits(psa_algorithm_t policy, psa_algorithm_t alg);
/* A MAC truncated below what libtessera-psa takes (4 bytes, as Mbed TLS). */
#define TPSA_MAC_TOO_SHORT(alg) (TPSA_ALG_LENGTH_FIELD(alg) > 0 && TPSA_ALG_LENGTH_FIELD(alg) < 4)

/* Constant-time comparison: 0 when equal. */
int tpsa_memcmp_ct(const uint8_t *a, const uint8_t *b, size_t n);

/* Zero n bytes that may hold secrets (p may be NULL when n is 0). */
void tpsa_wipe(void *p, size_t n);

/* Zero and free a buffer that may hold secrets. */
void tpsa_free_secret(void *p, size_t n);

/* Copy a result into the caller's buffer: BUFFER_TOO_SMALL when it does not fit. */
psa_status_t tpsa_out(const uint8_t *src, size_t len, uint8_t *dst, size_t dst_size,
                      size_t *ret_len);

#endif
