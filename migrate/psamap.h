/*
 * PSA Crypto's numeric key attributes (psa_key_type_t, psa_algorithm_t,
 * psa_key_usage_t as Mbed TLS stores them in a persistent key file) turned
 * into the packed protobuf KeyAttributes that Tessera's key store keeps.
 * Reference: docs/migrating-from-parsec.md.
 */
#ifndef TESSERA_MIGRATE_PSAMAP_H
#define TESSERA_MIGRATE_PSAMAP_H

#include <stddef.h>
#include <stdint.h>

/* Numeric PSA attributes as read from a key file. */
struct mig_psa_attrs {
	uint32_t lifetime;
	uint16_t type;
	uint16_t bits;
	uint32_t usage;
	uint32_t alg;
	uint32_t alg2;
};

/*
 * Encode a as a packed KeyAttributes with key_bits = bits (0: none).
 * 0 and a malloc'd buffer; -1 with a reason in why (a type, family or
 * algorithm that has no protobuf form, or out of memory).
 */
int mig_psa_to_pb(const struct mig_psa_attrs *a, uint32_t bits, uint8_t **ret, size_t *ret_len,
                  char *why, size_t whylen);

/* A short human name of the key type ("ECC key pair SECP_R1", "RSA key
 * pair", "AES"), for the report. */
const char *mig_psa_type_name(uint16_t type, char *buf, size_t len);

#endif
