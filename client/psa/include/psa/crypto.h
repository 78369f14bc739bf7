/*
 * libtessera-psa: the PSA Certified Crypto API 1.1 over the Tessera socket.
 * A program written against the specification includes this one header and
 * links libtessera-psa; keys live in tesserad, named per tenant.
 *
 * Every function returns a psa_status_t (psa/error.h) unless stated. Besides
 * the statuses listed per family, any call may return
 * PSA_ERROR_BAD_STATE before psa_crypto_init(), PSA_ERROR_COMMUNICATION_FAILURE
 * when the daemon cannot be reached or the connection that held a volatile
 * key or an operation was lost, PSA_ERROR_INSUFFICIENT_MEMORY, and the
 * daemon's PSA_ERROR_NOT_PERMITTED / NOT_SUPPORTED / INVALID_HANDLE /
 * INVALID_ARGUMENT / HARDWARE_FAILURE / STORAGE_FAILURE answers.
 *
 * Multipart operations follow the specification's state model: setup on an
 * inactive object makes it active (failure leaves it inactive); any error
 * while active leaves it in an error state where every call but abort is
 * PSA_ERROR_BAD_STATE; a successful finish or verify, and abort in any
 * state, make it inactive again.
 */
#ifndef PSA_CRYPTO_H
#define PSA_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include "psa/error.h"
#include "psa/crypto_types.h"
#include "psa/crypto_values.h"
#include "psa/crypto_sizes.h"
#include "psa/crypto_struct.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Connects to tesserad (configured by the environment, as libtessera is) and
 * authenticates. Idempotent: later calls return PSA_SUCCESS at once.
 * PSA_ERROR_COMMUNICATION_FAILURE: no daemon; PSA_ERROR_INSUFFICIENT_MEMORY.
 */
psa_status_t psa_crypto_init(void);

/* ---- Key attributes (the simple accessors are inline in crypto_struct.h) ---- */

/*
 * Reads back the attributes of an existing key into *attributes.
 * PSA_ERROR_INVALID_HANDLE: no such key for this tenant.
 */
psa_status_t psa_get_key_attributes(psa_key_id_t key, psa_key_attributes_t *attributes);

/* ---- Key management ---- */

/*
 * Creates a key from data in the format psa_export_key() produces; *key gets
 * its id (the attribute id for a persistent key, a fresh one for a volatile
 * key). PSA_ERROR_ALREADY_EXISTS: the persistent id is taken;
 * PSA_ERROR_INVALID_ARGUMENT: bad data, type, bits or id; PSA_ERROR_NOT_SUPPORTED:
 * the type, size or lifetime cannot be served; PSA_ERROR_INSUFFICIENT_STORAGE.
 */
psa_status_t psa_import_key(const psa_key_attributes_t *attributes, const uint8_t *data,
                            size_t data_length, psa_key_id_t *key);

/* Generates a key of the attributes' type and bits; statuses as psa_import_key(). */
psa_status_t psa_generate_key(const psa_key_attributes_t *attributes, psa_key_id_t *key);

/*
 * Copies source_key into a new key whose policy is the intersection of both.
 * PSA_ERROR_NOT_PERMITTED: the source lacks PSA_KEY_USAGE_COPY;
 * PSA_ERROR_INVALID_ARGUMENT: incompatible policies, type or bits given.
 */
psa_status_t psa_copy_key(psa_key_id_t source_key, const psa_key_attributes_t *attributes,
                          psa_key_id_t *target_key);

/* Destroys a key; PSA_KEY_ID_NULL is a no-op returning PSA_SUCCESS. */
psa_status_t psa_destroy_key(psa_key_id_t key);

/* Drops any cached copy of a persistent key; the key itself stays. */
psa_status_t psa_purge_key(psa_key_id_t key);

/*
 * Exports a key in its standard format. PSA_ERROR_NOT_PERMITTED: no
 * PSA_KEY_USAGE_EXPORT (public keys are always exportable);
 * PSA_ERROR_BUFFER_TOO_SMALL: see PSA_EXPORT_KEY_OUTPUT_SIZE().
 */
psa_status_t psa_export_key(psa_key_id_t key, uint8_t *data, size_t data_size, size_t *data_length);

/*
 * Exports the public part of an asymmetric key. PSA_ERROR_INVALID_ARGUMENT:
 * not an asymmetric key; PSA_ERROR_BUFFER_TOO_SMALL.
 */
psa_status_t psa_export_public_key(psa_key_id_t key, uint8_t *data, size_t data_size,
                                   size_t *data_length);

/* ---- Message digests (no key: computed by the daemon) ---- */

/* PSA_ERROR_NOT_SUPPORTED / INVALID_ARGUMENT: not a supported hash; BUFFER_TOO_SMALL. */
psa_status_t psa_hash_compute(psa_algorithm_t alg, const uint8_t *input, size_t input_length,
                              uint8_t *hash, size_t hash_size, size_t *hash_length);
/* PSA_ERROR_INVALID_SIGNATURE: the digest differs. */
psa_status_t psa_hash_compare(psa_algorithm_t alg, const uint8_t *input, size_t input_length,
                              const uint8_t *hash, size_t hash_length);

psa_status_t psa_hash_setup(psa_hash_operation_t *operation, psa_algorithm_t alg);
psa_status_t psa_hash_update(psa_hash_operation_t *operation, const uint8_t *input,
                             size_t input_length);
psa_status_t psa_hash_finish(psa_hash_operation_t *operation, uint8_t *hash, size_t hash_size,
                             size_t *hash_length);
/* PSA_ERROR_INVALID_SIGNATURE: the digest differs (the operation is then in error). */
psa_status_t psa_hash_verify(psa_hash_operation_t *operation, const uint8_t *hash,
                             size_t hash_length);
psa_status_t psa_hash_abort(psa_hash_operation_t *operation);
/* Optional in the specification: always PSA_ERROR_NOT_SUPPORTED here. */
psa_status_t psa_hash_suspend(psa_hash_operation_t *operation, uint8_t *hash_state,
                              size_t hash_state_size, size_t *hash_state_length);
/* Optional in the specification: always PSA_ERROR_NOT_SUPPORTED here. */
psa_status_t psa_hash_resume(psa_hash_operation_t *operation, const uint8_t *hash_state,
                             size_t hash_state_length);
/* PSA_ERROR_BAD_STATE: the source is not active or the target is not inactive. */
psa_status_t psa_hash_clone(const psa_hash_operation_t *source_operation,
                            psa_hash_operation_t *target_operation);

/* ---- Message authentication codes ---- */

psa_status_t psa_mac_compute(psa_key_id_t key, psa_algorithm_t alg, const uint8_t *input,
                             size_t input_length, uint8_t *mac, size_t mac_size,
                             size_t *mac_length);
/* PSA_ERROR_INVALID_SIGNATURE: the MAC does not match. */
psa_status_t psa_mac_verify(psa_key_id_t key, psa_algorithm_t alg, const uint8_t *input,
                            size_t input_length, const uint8_t *mac, size_t mac_length);

psa_status_t psa_mac_sign_setup(psa_mac_operation_t *operation, psa_key_id_t key,
                                psa_algorithm_t alg);
psa_status_t psa_mac_verify_setup(psa_mac_operation_t *operation, psa_key_id_t key,
                                  psa_algorithm_t alg);
psa_status_t psa_mac_update(psa_mac_operation_t *operation, const uint8_t *input,
                            size_t input_length);
psa_status_t psa_mac_sign_finish(psa_mac_operation_t *operation, uint8_t *mac, size_t mac_size,
                                 size_t *mac_length);
psa_status_t psa_mac_verify_finish(psa_mac_operation_t *operation, const uint8_t *mac,
                                   size_t mac_length);
psa_status_t psa_mac_abort(psa_mac_operation_t *operation);

/* ---- Unauthenticated ciphers ---- */

/* Output is IV || ciphertext, the IV random. PSA_ERROR_BUFFER_TOO_SMALL. */
psa_status_t psa_cipher_encrypt(psa_key_id_t key, psa_algorithm_t alg, const uint8_t *input,
                                size_t input_length, uint8_t *output, size_t output_size,
                                size_t *output_length);
/* Input is IV || ciphertext. PSA_ERROR_INVALID_PADDING: bad PKCS#7 padding. */
psa_status_t psa_cipher_decrypt(psa_key_id_t key, psa_algorithm_t alg, const uint8_t *input,
                                size_t input_length, uint8_t *output, size_t output_size,
                                size_t *output_length);

psa_status_t psa_cipher_encrypt_setup(psa_cipher_operation_t *operation, psa_key_id_t key,
                                      psa_algorithm_t alg);
psa_status_t psa_cipher_decrypt_setup(psa_cipher_operation_t *operation, psa_key_id_t key,
                                      psa_algorithm_t alg);
psa_status_t psa_cipher_generate_iv(psa_cipher_operation_t *operation, uint8_t *iv, size_t iv_size,
                                    size_t *iv_length);
psa_status_t psa_cipher_set_iv(psa_cipher_operation_t *operation, const uint8_t *iv,
                               size_t iv_length);
psa_status_t psa_cipher_update(psa_cipher_operation_t *operation, const uint8_t *input,
                               size_t input_length, uint8_t *output, size_t output_size,
                               size_t *output_length);
psa_status_t psa_cipher_finish(psa_cipher_operation_t *operation, uint8_t *output,
                               size_t output_size, size_t *output_length);
psa_status_t psa_cipher_abort(psa_cipher_operation_t *operation);

/* ---- Authenticated encryption with associated data ---- */

/* Output is ciphertext || tag. PSA_ERROR_BUFFER_TOO_SMALL. */
psa_status_t psa_aead_encrypt(psa_key_id_t key, psa_algorithm_t alg, const uint8_t *nonce,
                              size_t nonce_length, const uint8_t *additional_data,
                              size_t additional_data_length, const uint8_t *plaintext,
                              size_t plaintext_length, uint8_t *ciphertext, size_t ciphertext_size,
                              size_t *ciphertext_length);
/* PSA_ERROR_INVALID_SIGNATURE: authentication failed; nothing is returned. */
psa_status_t psa_aead_decrypt(psa_key_id_t key, psa_algorithm_t alg, const uint8_t *nonce,
                              size_t nonce_length, const uint8_t *additional_data,
                              size_t additional_data_length, const uint8_t *ciphertext,
                              size_t ciphertext_length, uint8_t *plaintext, size_t plaintext_size,
                              size_t *plaintext_length);

psa_status_t psa_aead_encrypt_setup(psa_aead_operation_t *operation, psa_key_id_t key,
                                    psa_algorithm_t alg);
psa_status_t psa_aead_decrypt_setup(psa_aead_operation_t *operation, psa_key_id_t key,
                                    psa_algorithm_t alg);
/* Mandatory before any input for CCM. */
psa_status_t psa_aead_set_lengths(psa_aead_operation_t *operation, size_t ad_length,
                                  size_t plaintext_length);
psa_status_t psa_aead_generate_nonce(psa_aead_operation_t *operation, uint8_t *nonce,
                                     size_t nonce_size, size_t *nonce_length);
psa_status_t psa_aead_set_nonce(psa_aead_operation_t *operation, const uint8_t *nonce,
                                size_t nonce_length);
psa_status_t psa_aead_update_ad(psa_aead_operation_t *operation, const uint8_t *input,
                                size_t input_length);
psa_status_t psa_aead_update(psa_aead_operation_t *operation, const uint8_t *input,
                             size_t input_length, uint8_t *output, size_t output_size,
                             size_t *output_length);
psa_status_t psa_aead_finish(psa_aead_operation_t *operation, uint8_t *ciphertext,
                             size_t ciphertext_size, size_t *ciphertext_length, uint8_t *tag,
                             size_t tag_size, size_t *tag_length);
/* PSA_ERROR_INVALID_SIGNATURE: the tag does not authenticate the message. */
psa_status_t psa_aead_verify(psa_aead_operation_t *operation, uint8_t *plaintext,
                             size_t plaintext_size, size_t *plaintext_length, const uint8_t *tag,
                             size_t tag_length);
psa_status_t psa_aead_abort(psa_aead_operation_t *operation);

/* ---- Key derivation ---- */

psa_status_t psa_key_derivation_setup(psa_key_derivation_operation_t *operation,
                                      psa_algorithm_t alg);
psa_status_t psa_key_derivation_get_capacity(const psa_key_derivation_operation_t *operation,
                                             size_t *capacity);
/* PSA_ERROR_INVALID_ARGUMENT: more than the current capacity. */
psa_status_t psa_key_derivation_set_capacity(psa_key_derivation_operation_t *operation,
                                             size_t capacity);
psa_status_t psa_key_derivation_input_bytes(psa_key_derivation_operation_t *operation,
                                            psa_key_derivation_step_t step, const uint8_t *data,
                                            size_t data_length);
psa_status_t psa_key_derivation_input_integer(psa_key_derivation_operation_t *operation,
                                              psa_key_derivation_step_t step, uint64_t value);
psa_status_t psa_key_derivation_input_key(psa_key_derivation_operation_t *operation,
                                          psa_key_derivation_step_t step, psa_key_id_t key);
/* Feeds the shared secret of a key agreement into the derivation. */
psa_status_t psa_key_derivation_key_agreement(psa_key_derivation_operation_t *operation,
                                              psa_key_derivation_step_t step,
                                              psa_key_id_t private_key, const uint8_t *peer_key,
                                              size_t peer_key_length);
/* PSA_ERROR_INSUFFICIENT_DATA: the capacity is exhausted (it then drops to 0). */
psa_status_t psa_key_derivation_output_bytes(psa_key_derivation_operation_t *operation,
                                             uint8_t *output, size_t output_length);
psa_status_t psa_key_derivation_output_key(const psa_key_attributes_t *attributes,
                                           psa_key_derivation_operation_t *operation,
                                           psa_key_id_t *key);
/* PSA_ERROR_INVALID_SIGNATURE: the output differs. */
psa_status_t psa_key_derivation_verify_bytes(psa_key_derivation_operation_t *operation,
                                             const uint8_t *expected_output, size_t output_length);
psa_status_t psa_key_derivation_verify_key(psa_key_derivation_operation_t *operation,
                                           psa_key_id_t expected);
psa_status_t psa_key_derivation_abort(psa_key_derivation_operation_t *operation);

/* ---- Asymmetric signature ---- */

psa_status_t psa_sign_message(psa_key_id_t key, psa_algorithm_t alg, const uint8_t *input,
                              size_t input_length, uint8_t *signature, size_t signature_size,
                              size_t *signature_length);
/* PSA_ERROR_INVALID_SIGNATURE: the signature does not verify. */
psa_status_t psa_verify_message(psa_key_id_t key, psa_algorithm_t alg, const uint8_t *input,
                                size_t input_length, const uint8_t *signature,
                                size_t signature_length);
psa_status_t psa_sign_hash(psa_key_id_t key, psa_algorithm_t alg, const uint8_t *hash,
                           size_t hash_length, uint8_t *signature, size_t signature_size,
                           size_t *signature_length);
/* PSA_ERROR_INVALID_SIGNATURE: the signature does not verify. */
psa_status_t psa_verify_hash(psa_key_id_t key, psa_algorithm_t alg, const uint8_t *hash,
                             size_t hash_length, const uint8_t *signature, size_t signature_length);

/* ---- Asymmetric encryption ---- */

psa_status_t psa_asymmetric_encrypt(psa_key_id_t key, psa_algorithm_t alg, const uint8_t *input,
                                    size_t input_length, const uint8_t *salt, size_t salt_length,
                                    uint8_t *output, size_t output_size, size_t *output_length);
/* PSA_ERROR_INVALID_PADDING: the ciphertext does not decrypt. */
psa_status_t psa_asymmetric_decrypt(psa_key_id_t key, psa_algorithm_t alg, const uint8_t *input,
                                    size_t input_length, const uint8_t *salt, size_t salt_length,
                                    uint8_t *output, size_t output_size, size_t *output_length);

/* ---- Key agreement ---- */

/* The raw shared secret: use it only through a key derivation. */
psa_status_t psa_raw_key_agreement(psa_algorithm_t alg, psa_key_id_t private_key,
                                   const uint8_t *peer_key, size_t peer_key_length, uint8_t *output,
                                   size_t output_size, size_t *output_length);

/* ---- Random numbers ---- */

/* PSA_ERROR_INSUFFICIENT_ENTROPY. */
psa_status_t psa_generate_random(uint8_t *output, size_t output_size);

#ifdef __cplusplus
}
#endif

#endif
