/*
 * A bounded reader of Parsec's bincode (little-endian fixed-width integers,
 * u64-length-prefixed byte vectors), shared by the importer's TPM and
 * PKCS#11 parts: a read past the end sets `bad` and yields 0 or NULL, so a
 * decoder reads on and checks `bad` once.
 */
#ifndef TESSERA_MIGRATE_BINCODE_H
#define TESSERA_MIGRATE_BINCODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mig_bc {
	const uint8_t *p;
	size_t len, off;
	bool bad;
};

/* An n-byte little-endian integer (n <= 8). */
uint64_t mig_bc_n(struct mig_bc *r, int n);
/* A Vec<u8>: its bytes stay in the input; *ret_len 0 and NULL when bad. */
const uint8_t *mig_bc_bytes(struct mig_bc *r, size_t *ret_len);
/* psa-crypto's Hash variant -> the low byte of PSA_ALG_xxx; 0 if none. */
unsigned mig_bc_hash(uint64_t variant);
/* A SignHash: Specific(Hash) -> its hash byte, Any -> 0xff; 0 for anything
 * else (`bad` is set only for a read past the end). */
unsigned mig_bc_sign_hash(struct mig_bc *r);

#endif
