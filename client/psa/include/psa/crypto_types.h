/*
 * The integer and object types of the PSA Certified Crypto API 1.1. The
 * widths are the specification's; the operation objects themselves are laid
 * out in crypto_struct.h. Programs include psa/crypto.h, not this file.
 */
#ifndef PSA_CRYPTO_TYPES_H
#define PSA_CRYPTO_TYPES_H

#include <stddef.h>
#include <stdint.h>

#include "psa/error.h"

/* Key types: the category in bits 12-14, the family and flags below. */
typedef uint16_t psa_key_type_t;
/* The curve family of an elliptic curve key type (PSA_ECC_FAMILY_*). */
typedef uint8_t psa_ecc_family_t;
/* The group family of a finite-field Diffie-Hellman key type (PSA_DH_FAMILY_*). */
typedef uint8_t psa_dh_family_t;
/* An algorithm identifier: category in bits 24-30, details below (PSA_ALG_*). */
typedef uint32_t psa_algorithm_t;

/* Where a key lives: persistence in bits 0-7, location in bits 8-31. */
typedef uint32_t psa_key_lifetime_t;
typedef uint8_t psa_key_persistence_t;
typedef uint32_t psa_key_location_t;

/* A key identifier; 0 (PSA_KEY_ID_NULL) names no key. */
typedef uint32_t psa_key_id_t;
/* A bit set of PSA_KEY_USAGE_* permissions. */
typedef uint32_t psa_key_usage_t;
/* Which input of a key derivation a call supplies (PSA_KEY_DERIVATION_INPUT_*). */
typedef uint16_t psa_key_derivation_step_t;

/* Key attributes: a value object, initialize it before use (PSA_KEY_ATTRIBUTES_INIT). */
typedef struct psa_key_attributes_s psa_key_attributes_t;

/*
 * Multipart operation objects. Each starts inactive when zero-filled or set
 * from its PSA_*_OPERATION_INIT macro or psa_*_operation_init() function.
 */
typedef struct psa_hash_operation_s psa_hash_operation_t;
typedef struct psa_mac_operation_s psa_mac_operation_t;
typedef struct psa_cipher_operation_s psa_cipher_operation_t;
typedef struct psa_aead_operation_s psa_aead_operation_t;
typedef struct psa_key_derivation_s psa_key_derivation_operation_t;

#endif
