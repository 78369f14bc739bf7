/*
 * Conversion between the PSA Crypto API's numeric encodings (psa/crypto.h)
 * and the protobuf messages of the wire contracts (psa_algorithm.proto,
 * psa_key_attributes.proto), for libtessera-psa.
 *
 * Statuses, the same for every function below:
 *   PSA_SUCCESS                     *ret holds the result.
 *   PSA_ERROR_INVALID_ARGUMENT      to_pb: the value is not of the family the function
 *                                   converts (a MAC algorithm given to tpsa_sign_to_pb);
 *                                   usage bits the specification does not define.
 *   PSA_ERROR_NOT_SUPPORTED         to_pb: a value the protobuf cannot express (SM3, RSA-PSS
 *                                   with any salt, EdDSA, HKDF-Extract, PBKDF2, "at least this
 *                                   length" wildcards, a vendor bit, key type NONE, ARIA,
 *                                   twisted Edwards curves, PSA_KEY_USAGE_VERIFY_DERIVATION,
 *                                   an unassigned algorithm of a known family...);
 *                                   from_pb: a length the PSA encoding cannot hold.
 * (These follow what psa-arch-tests expects of psa_import_key, psa_generate_key,
 * psa_hash_setup and psa_key_derivation_setup.)
 *   PSA_ERROR_COMMUNICATION_FAILURE from_pb: a malformed message (a missing sub-message, an
 *                                   unset oneof, an enum value that is NONE or unknown): the
 *                                   daemon's reply cannot be read.
 *   PSA_ERROR_INSUFFICIENT_MEMORY   to_pb: allocation failed.
 * On failure *ret is untouched; what to_pb allocated stays in the arena.
 *
 * Policy wildcards are mapped as they are (PSA_ALG_ANY_HASH in a signature
 * is SignHash.any): an operation that must not take a wildcard checks
 * PSA_ALG_IS_WILDCARD() itself before converting.
 *
 * This file never includes wire/psa.h: its usage bit macros are not the
 * specification's. The proto's usage flags are separate booleans.
 */
#ifndef TESSERA_CLIENT_PSA_PBMAP_H
#define TESSERA_CLIENT_PSA_PBMAP_H

#include <stddef.h>

#include "psa/crypto.h"
#include "psa_algorithm.pb-c.h"
#include "psa_key_attributes.pb-c.h"

/*
 * Every message a to_pb function builds, with all its sub-messages, lives
 * in an arena; tpsa_pbarena_free() releases all of it at once. An arena
 * starts zero-filled (PBARENA_INIT) and may be reused after a free.
 */
struct pbarena_block;
struct pbarena {
	struct pbarena_block *head;
};
#define PBARENA_INIT \
	{            \
		NULL \
	}

/* size zeroed bytes owned by the arena, aligned for any type; NULL when out of memory. */
void *tpsa_pbarena_alloc(struct pbarena *a, size_t size);
/* A new message of the descriptor's type, initialized with its defaults; NULL on failure. */
void *tpsa_pbarena_msg(struct pbarena *a, const ProtobufCMessageDescriptor *desc);
/* Frees everything allocated in the arena (NULL or empty: nothing to do). */
void tpsa_pbarena_free(struct pbarena *a);

/* Any algorithm, as the key policy and the key derivation setup carry it. */
psa_status_t tpsa_alg_to_pb(psa_algorithm_t alg, PsaAlgorithm__Algorithm **ret, struct pbarena *a);
psa_status_t tpsa_alg_from_pb(const PsaAlgorithm__Algorithm *pb, psa_algorithm_t *ret);

/*
 * Key attributes: type, bits, usage flags and algorithm (the lifetime and id
 * are not on the wire). to_pb applies the specification's rule that
 * SIGN_HASH grants SIGN_MESSAGE and VERIFY_HASH grants VERIFY_MESSAGE.
 * from_pb sets only those four fields of *ret.
 */
psa_status_t tpsa_attrs_to_pb(const psa_key_attributes_t *attrs,
                              PsaKeyAttributes__KeyAttributes **ret, struct pbarena *a);
psa_status_t tpsa_attrs_from_pb(const PsaKeyAttributes__KeyAttributes *pb,
                                psa_key_attributes_t *ret);

psa_status_t tpsa_key_type_to_pb(psa_key_type_t type, PsaKeyAttributes__KeyType **ret,
                                 struct pbarena *a);
psa_status_t tpsa_key_type_from_pb(const PsaKeyAttributes__KeyType *pb, psa_key_type_t *ret);
psa_status_t tpsa_usage_to_pb(psa_key_usage_t usage, PsaKeyAttributes__UsageFlags **ret,
                              struct pbarena *a);
psa_status_t tpsa_usage_from_pb(const PsaKeyAttributes__UsageFlags *pb, psa_key_usage_t *ret);

/* The family sub-messages and enums the operation messages carry. */
psa_status_t tpsa_hash_to_pb(psa_algorithm_t alg, PsaAlgorithm__Algorithm__Hash *ret);
psa_status_t tpsa_hash_from_pb(PsaAlgorithm__Algorithm__Hash pb, psa_algorithm_t *ret);
psa_status_t tpsa_cipher_to_pb(psa_algorithm_t alg, PsaAlgorithm__Algorithm__Cipher *ret);
psa_status_t tpsa_cipher_from_pb(PsaAlgorithm__Algorithm__Cipher pb, psa_algorithm_t *ret);
psa_status_t tpsa_mac_to_pb(psa_algorithm_t alg, PsaAlgorithm__Algorithm__Mac **ret,
                            struct pbarena *a);
psa_status_t tpsa_mac_from_pb(const PsaAlgorithm__Algorithm__Mac *pb, psa_algorithm_t *ret);
psa_status_t tpsa_aead_to_pb(psa_algorithm_t alg, PsaAlgorithm__Algorithm__Aead **ret,
                             struct pbarena *a);
psa_status_t tpsa_aead_from_pb(const PsaAlgorithm__Algorithm__Aead *pb, psa_algorithm_t *ret);
psa_status_t tpsa_sign_to_pb(psa_algorithm_t alg,
                             PsaAlgorithm__Algorithm__AsymmetricSignature **ret, struct pbarena *a);
psa_status_t tpsa_sign_from_pb(const PsaAlgorithm__Algorithm__AsymmetricSignature *pb,
                               psa_algorithm_t *ret);
psa_status_t tpsa_asym_enc_to_pb(psa_algorithm_t alg,
                                 PsaAlgorithm__Algorithm__AsymmetricEncryption **ret,
                                 struct pbarena *a);
psa_status_t tpsa_asym_enc_from_pb(const PsaAlgorithm__Algorithm__AsymmetricEncryption *pb,
                                   psa_algorithm_t *ret);
/* A raw key agreement (ECDH, FFDH); one combined with a KDF is INVALID_ARGUMENT here. */
psa_status_t tpsa_raw_ka_to_pb(psa_algorithm_t alg,
                               PsaAlgorithm__Algorithm__KeyAgreement__Raw *ret);
psa_status_t tpsa_raw_ka_from_pb(PsaAlgorithm__Algorithm__KeyAgreement__Raw pb,
                                 psa_algorithm_t *ret);
/* A key agreement, raw or followed by a key derivation. */
psa_status_t tpsa_ka_to_pb(psa_algorithm_t alg, PsaAlgorithm__Algorithm__KeyAgreement **ret,
                           struct pbarena *a);
psa_status_t tpsa_ka_from_pb(const PsaAlgorithm__Algorithm__KeyAgreement *pb, psa_algorithm_t *ret);
psa_status_t tpsa_kdf_to_pb(psa_algorithm_t alg, PsaAlgorithm__Algorithm__KeyDerivation **ret,
                            struct pbarena *a);
/* For psa_key_derivation_setup(): a KDF or a key agreement with a KDF, else INVALID_ARGUMENT. */
psa_status_t tpsa_kdf_setup_to_pb(psa_algorithm_t alg, PsaAlgorithm__Algorithm **ret,
                                  struct pbarena *a);
psa_status_t tpsa_kdf_from_pb(const PsaAlgorithm__Algorithm__KeyDerivation *pb,
                              psa_algorithm_t *ret);

#endif
