/*
 * Crypto providers, interface version 2.
 *
 * A provider type is a const table of metadata and operation functions; a
 * NULL operation means "not supported" and the core answers
 * PsaErrorNotSupported. Each configured instance of a type gets its own
 * context from init() and lives as long as the process. Providers compute
 * only: the core decodes the request, looks the key up in the key store
 * (scoped to the caller and the instance), checks the PSA policy and only
 * then calls the provider.
 *
 * Conventions for every operation below:
 *   - Errors are PSA errors: TS_E_PSA_NOT_SUPPORTED for a type, size or
 *     algorithm the provider lacks, TS_E_PSA_INVALID_ARGUMENT for bad data,
 *     TS_E_PSA_INSUFFICIENT_MEMORY / TS_E_NOMEM when out of memory,
 *     TS_E_PSA_COMMUNICATION_FAILURE / TS_E_PSA_HARDWARE_FAILURE when a
 *     device fails. Nothing else unless the operation lists it.
 *   - ret_* outputs are written only on success; output buffers are
 *     malloc'd and the caller frees them (ts_free_secret for anything that
 *     may be secret: material, plaintext, shared secrets, MACs).
 *   - k->attrs is never NULL except where an operation says so.
 *   - Calls on one instance may run concurrently up to max_concurrent().
 */
#ifndef TESSERA_PROVIDERS_PROVIDER_H
#define TESSERA_PROVIDERS_PROVIDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/errors.h"
#include "wire/psa.h"

/* Hash algorithms, numbered as psa_algorithm.proto's Hash enum. */
enum prov_hash {
	PROV_HASH_MD2 = 1,
	PROV_HASH_MD4 = 2,
	PROV_HASH_MD5 = 3,
	PROV_HASH_RIPEMD160 = 4,
	PROV_HASH_SHA_1 = 5,
	PROV_HASH_SHA_224 = 6,
	PROV_HASH_SHA_256 = 7,
	PROV_HASH_SHA_384 = 8,
	PROV_HASH_SHA_512 = 9,
	PROV_HASH_SHA_512_224 = 10,
	PROV_HASH_SHA_512_256 = 11,
	PROV_HASH_SHA3_224 = 12,
	PROV_HASH_SHA3_256 = 13,
	PROV_HASH_SHA3_384 = 14,
	PROV_HASH_SHA3_512 = 15,
};

#define PROV_HASH_MAX_SIZE 64

/*
 * A key as the core hands it over.
 *   material: what the provider returned when the key was made, kept sealed
 *             in the key store (the key itself for software; empty or a
 *             blob for hardware). Secret.
 *   ref:      the provider's reference, chosen by reserve_ref() before the
 *             key existed and recorded with the reservation (a PKCS#11
 *             CKA_ID, a Trusted Services key ID); empty when the type has
 *             no reserve_ref. Unique among the instance's live keys and
 *             constant for a key's life, so a provider may cache handles by
 *             it.
 *   label:    set for generate_key and import_key only (NULL elsewhere): a
 *             printable name of the tenant's key ("<auth type>:<application>/
 *             <key name>") that a device may show on its object (a PKCS#11
 *             CKA_LABEL); never used to find the key.
 */
struct prov_key {
	const struct psa_attrs *attrs;
	const uint8_t *material;
	size_t material_len;
	const uint8_t *ref;
	size_t ref_len;
	const char *label;
};

/* Parameters and results of TPM-style key attestation (ActivateCredential,
 * the one mechanism Parsec defines). */
struct prov_attest_prep {
	uint8_t *name, *public_area, *attesting_pub;
	size_t name_len, public_len, attesting_pub_len;
};

struct prov_ops {
	const char *type; /* the configuration's "type" */
	uint8_t id;       /* wire provider ID of the type's first instance */
	const char *uuid; /* Parsec's UUID for this provider type */
	const char *description;
	const char *vendor;
	uint32_t version_maj, version_min, version_rev;

	/* ---- instance life ---- */

	/* Optional. Validate the instance's settings (the provider's JSON
	 * object from the configuration, without "type" and "name", as
	 * compact JSON text; "{}" when there are none) without touching any
	 * device: --check-config and a reload use it. TS_OK, or TS_E_CONFIG
	 * with a message naming the key path under `path` ("providers[1]").
	 * NULL means the type takes no settings: any key is an error. */
	enum ts_err (*check_settings)(const char *settings, const char *path, char *err,
	                              size_t errlen);
	/* Optional. Start an instance: TS_OK and *ret_ctx; TS_E_CONFIG (a
	 * setting, message in err naming its key path) or another error with
	 * a message. check_settings has passed already. */
	enum ts_err (*init)(const char *settings, const char *path, void **ret_ctx, char *err,
	                    size_t errlen);
	/* Optional. Free what init made. NULL ctx allowed. */
	void (*fini)(void *ctx);

	/* ---- limits and scheduling ---- */

	/* Optional. How many calls may run on this instance at once (1 for a
	 * libts session or an ESYS context, N for N PKCS#11 sessions); 0 or
	 * NULL: no limit. The core queues calls past it without blocking a
	 * worker thread. */
	unsigned (*max_concurrent)(void *ctx);
	/* Optional. The largest request body the instance can carry (Trusted
	 * Services on hardware: 8 KiB); 0 or NULL: no limit beyond the
	 * daemon's. The core answers PsaErrorInsufficientMemory for a larger
	 * one before any call. */
	size_t (*max_payload)(void *ctx);
	/* Optional. Whether an operation is short enough to run on the event
	 * loop that read the request (microseconds, in process, no device):
	 * `a` is the key's attributes for an operation on a key, NULL for
	 * random and hashing. NULL: never (every call goes to a worker). */
	bool (*is_short)(void *ctx, uint32_t opcode, const struct psa_attrs *a);

	/* ---- keys that live outside the key store ---- */

	/* Optional. Choose the reference of a key about to be created; the
	 * core records it with the reservation, before generate_key or
	 * import_key runs, so that a crash in between leaves a record that
	 * names what may exist in the device. TS_OK and a malloc'd ref. */
	enum ts_err (*reserve_ref)(void *ctx, const struct psa_attrs *a, uint8_t **ret_ref,
	                           size_t *ret_len);
	/* Optional. At start-up, for each key whose creation or destruction a
	 * crash interrupted: destroy whatever exists of it (it may be nothing;
	 * k->attrs may be NULL and material empty). The record goes after. */
	void (*recover_key)(void *ctx, const struct prov_key *k);
	/* Optional. At start-up, once per live key of this instance, before
	 * any request: a provider rebuilds its own state (a key-ID counter).
	 * An error is logged and start-up goes on, except TS_E_CONFIG: the
	 * instance cannot serve the keys it holds (a TPM whose storage seed
	 * changed) and tesserad refuses to start; the provider logs why. */
	enum ts_err (*adopt_key)(void *ctx, const struct prov_key *k);

	/* ---- operations ---- */

	/* Fill len bytes with random data. TS_OK, TS_E_PSA_INSUFFICIENT_ENTROPY. */
	enum ts_err (*generate_random)(void *ctx, uint8_t *out, size_t len);
	/* Hash in into out (outsize >= PROV_HASH_MAX_SIZE); TS_OK and the
	 * digest length in *ret_len. */
	enum ts_err (*hash_compute)(void *ctx, enum prov_hash alg, const uint8_t *in, size_t len,
	                            uint8_t *out, size_t outsize, size_t *ret_len);

	/* Make a key (k->ref set, material empty); its material in
	 * *ret_mat (may be empty for a hardware key). */
	enum ts_err (*generate_key)(void *ctx, const struct prov_key *k, uint8_t **ret_mat,
	                            size_t *ret_len);
	/* Import data in PSA's export format; *ret_bits receives the key
	 * size. TS_E_PSA_INVALID_ARGUMENT for data that is not such a key. */
	enum ts_err (*import_key)(void *ctx, const struct prov_key *k, const uint8_t *data,
	                          size_t len, uint8_t **ret_mat, size_t *ret_len,
	                          uint32_t *ret_bits);
	/* Optional: take over a key that exists in the device already, made
	 * there by another service (tessera-migrate, for Parsec's keys), given
	 * in the device's own form as the provider type documents it (Tpm:
	 * docs/tpm.md). The provider checks that it can use the key (a TPM
	 * loads it under its root key once) and returns its material.
	 * TS_E_PSA_NOT_SUPPORTED for attributes the provider does not serve,
	 * TS_E_PSA_INVALID_ARGUMENT for data that does not parse or does not
	 * match the attributes, TS_E_PSA_DATA_INVALID for a key the device
	 * refuses (made under another root key, or damaged). */
	enum ts_err (*import_native)(void *ctx, const struct prov_key *k, const uint8_t *data,
	                             size_t len, uint8_t **ret_mat, size_t *ret_len);
	/* Optional: psa_copy_key inside the device (dst->ref reserved,
	 * dst->attrs the target's policy, which the core has already
	 * intersected with the source's); its material as generate_key's.
	 * NULL: the core exports the source and imports it under dst, which a
	 * device that will not release the key cannot do. */
	enum ts_err (*copy_key)(void *ctx, const struct prov_key *src, const struct prov_key *dst,
	                        uint8_t **ret_mat, size_t *ret_len);
	/* PSA export format. TS_E_PSA_NOT_PERMITTED for a key the device will
	 * not release. */
	enum ts_err (*export_key)(void *ctx, const struct prov_key *k, uint8_t **ret,
	                          size_t *ret_len);
	enum ts_err (*export_public_key)(void *ctx, const struct prov_key *k, uint8_t **ret,
	                                 size_t *ret_len);
	/* Optional even when keys are supported: NULL means nothing lives
	 * outside the key store. k->attrs may be NULL (attributes that no
	 * longer decode). An error leaves the record "destroying" and the
	 * destruction is retried at the next start. */
	enum ts_err (*destroy_key)(void *ctx, const struct prov_key *k);
	/* Optional: psa_purge_key, called after the core's checks (the key
	 * exists for the caller): drop the copies of the key the device keeps
	 * in volatile memory; the stored key stays and works as before. NULL:
	 * nothing of a key outlives a request (the core answers success). */
	enum ts_err (*purge_key)(void *ctx, const struct prov_key *k);

	enum ts_err (*sign_hash)(void *ctx, const struct prov_key *k, const struct psa_alg *alg,
	                         const uint8_t *hash, size_t hash_len, uint8_t **ret_sig,
	                         size_t *ret_len);
	/* TS_OK, or TS_E_PSA_INVALID_SIGNATURE for a signature that does not verify. */
	enum ts_err (*verify_hash)(void *ctx, const struct prov_key *k, const struct psa_alg *alg,
	                           const uint8_t *hash, size_t hash_len, const uint8_t *sig,
	                           size_t sig_len);
	/* Optional: native message signing (EdDSA needs it; a token may hash
	 * inside). NULL: the core hashes with hash_compute and signs the hash. */
	enum ts_err (*sign_message)(void *ctx, const struct prov_key *k, const struct psa_alg *alg,
	                            const uint8_t *msg, size_t msg_len, uint8_t **ret_sig,
	                            size_t *ret_len);
	enum ts_err (*verify_message)(void *ctx, const struct prov_key *k,
	                              const struct psa_alg *alg, const uint8_t *msg, size_t msg_len,
	                              const uint8_t *sig, size_t sig_len);

	/* AEAD: encrypt returns ciphertext || tag; decrypt takes it so and
	 * answers TS_E_PSA_INVALID_SIGNATURE when the tag does not verify. */
	enum ts_err (*aead)(void *ctx, const struct prov_key *k, const struct psa_alg *alg,
	                    bool encrypt, const uint8_t *nonce, size_t nonce_len, const uint8_t *ad,
	                    size_t ad_len, const uint8_t *in, size_t in_len, uint8_t **ret,
	                    size_t *ret_len);
	/* Unauthenticated ciphers: encrypt picks a random IV and returns
	 * IV || ciphertext; decrypt takes that form. */
	enum ts_err (*cipher)(void *ctx, const struct prov_key *k, const struct psa_alg *alg,
	                      bool encrypt, const uint8_t *in, size_t in_len, uint8_t **ret,
	                      size_t *ret_len);
	/* MAC of in (truncated to alg->length when set). */
	enum ts_err (*mac)(void *ctx, const struct prov_key *k, const struct psa_alg *alg,
	                   const uint8_t *in, size_t in_len, uint8_t **ret, size_t *ret_len);
	/* Optional: native verification (a token key that may verify a MAC but
	 * not compute one). TS_OK or TS_E_PSA_INVALID_SIGNATURE. NULL: the core
	 * computes with mac and compares in constant time. */
	enum ts_err (*mac_verify)(void *ctx, const struct prov_key *k, const struct psa_alg *alg,
	                          const uint8_t *in, size_t in_len, const uint8_t *mac,
	                          size_t mac_len);
	/* RSA encryption; label is the OAEP label (PSA's "salt"). */
	enum ts_err (*asym_crypt)(void *ctx, const struct prov_key *k, const struct psa_alg *alg,
	                          bool encrypt, const uint8_t *in, size_t in_len,
	                          const uint8_t *label, size_t label_len, uint8_t **ret,
	                          size_t *ret_len);
	/* Raw key agreement with a peer public key in PSA's format. */
	enum ts_err (*key_agreement)(void *ctx, const struct prov_key *k, const struct psa_alg *alg,
	                             const uint8_t *peer, size_t peer_len, uint8_t **ret,
	                             size_t *ret_len);
	/* CanDoCrypto: can the provider hold keys like these (bits 0 = any size)
	 * and run their algorithm, for check 1 use, 2 generate, 3 import,
	 * 4 derive? TS_OK or TS_E_PSA_NOT_SUPPORTED. The core has already
	 * checked that the algorithm fits the key type. */
	enum ts_err (*can_do)(void *ctx, const struct psa_attrs *a, int check);

	/* Optional: key attestation (ActivateCredential). prepare returns
	 * what a verifier needs to make a credential for the attested key;
	 * attest_key answers the challenge with the credential. */
	enum ts_err (*prepare_key_attestation)(void *ctx, const struct prov_key *attested,
	                                       const struct prov_key *attesting,
	                                       struct prov_attest_prep *ret);
	enum ts_err (*attest_key)(void *ctx, const struct prov_key *attested,
	                          const struct prov_key *attesting, const uint8_t *credential_blob,
	                          size_t blob_len, const uint8_t *secret, size_t secret_len,
	                          uint8_t **ret_credential, size_t *ret_len);

	/* ---- multipart operations (the PSA C API; docs/psa-api.md) ----
	 *
	 * Optional, all or none of mp_*. The core holds each operation for the
	 * connection that set it up and frees it with mp_free (on abort, an
	 * error, finish, the connection's close or idleness). The state is
	 * the provider's; calls on one state never run concurrently. Hashing
	 * is the core's own and never reaches a provider. kind is one of
	 * PROV_MP_*. Outputs as for one-shot operations (malloc'd; empty
	 * outputs may be NULL with length 0). */
	enum ts_err (*mp_setup)(void *ctx, int kind, const struct prov_key *k,
	                        const struct psa_alg *alg, void **ret_state);
	/* Cipher IV or AEAD nonce (the core generates one with generate_random
	 * when the client asks it to). TS_E_PSA_INVALID_ARGUMENT for a wrong
	 * length. */
	enum ts_err (*mp_set_iv)(void *ctx, void *state, const uint8_t *iv, size_t len);
	/* AEAD only: the total lengths (CCM needs them before any data). */
	enum ts_err (*mp_set_lengths)(void *ctx, void *state, uint64_t ad_len, uint64_t text_len);
	/* MAC and cipher: data; AEAD: additional data when ad, else text. */
	enum ts_err (*mp_update)(void *ctx, void *state, bool ad, const uint8_t *in, size_t len,
	                         uint8_t **ret, size_t *ret_len);
	/* MAC sign: the MAC in *ret; cipher: the last bytes; AEAD encrypt: the
	 * last ciphertext bytes in *ret and the tag in *ret_tag. */
	enum ts_err (*mp_finish)(void *ctx, void *state, uint8_t **ret, size_t *ret_len,
	                         uint8_t **ret_tag, size_t *ret_tag_len);
	/* MAC verify (expected: the MAC) or AEAD decrypt (expected: the tag;
	 * the last plaintext bytes in *ret). TS_E_PSA_INVALID_SIGNATURE when
	 * it does not verify, and then nothing is returned. */
	enum ts_err (*mp_verify)(void *ctx, void *state, const uint8_t *expected, size_t len,
	                         uint8_t **ret, size_t *ret_len);
	/* Optional: how many operations (mp_* and kdf_* states) the instance
	 * can hold open at once over every tenant, when that is fixed (a
	 * partition's pool, a token's sessions); the core then gives one
	 * tenant at most half of them. NULL: no such limit. */
	unsigned (*mp_slots)(void *ctx);
	/* Optional within mp_*: a copy of a state (MAC). */
	enum ts_err (*mp_clone)(void *ctx, void *state, void **ret_state);
	void (*mp_free)(void *ctx, void *state);

	/* ---- key derivation (the PSA C API) ----
	 *
	 * Optional, all or none of kdf_* (kdf_key_agreement aside). alg is of
	 * class PSA_AC_KDF or a key agreement with a KDF: for the agreement
	 * step the core calls kdf_key_agreement when the provider has it, else
	 * runs key_agreement raw and hands the secret to kdf_input. step values
	 * are PSA's (0x0101 secret, 0x0102 other secret, 0x0201 label, 0x0202
	 * salt, 0x0203 info, 0x0204 seed, 0x1001 password, 0x1002 cost). The
	 * provider checks the order of steps (TS_E_PSA_BAD_STATE) and reports
	 * the initial capacity at setup; the core counts the capacity down. */
	enum ts_err (*kdf_setup)(void *ctx, const struct psa_alg *alg, void **ret_state,
	                         uint64_t *ret_capacity);
	enum ts_err (*kdf_input)(void *ctx, void *state, uint32_t step, const uint8_t *data,
	                         size_t len);
	/* A key as input (a DERIVE key's material for the secret step). */
	enum ts_err (*kdf_input_key)(void *ctx, void *state, uint32_t step,
	                             const struct prov_key *k);
	enum ts_err (*kdf_input_integer)(void *ctx, void *state, uint32_t step, uint64_t value);
	/* The next len bytes of output. */
	enum ts_err (*kdf_output)(void *ctx, void *state, uint8_t *out, size_t len);
	void (*kdf_free)(void *ctx, void *state);
	/* Optional: the agreement step of a key agreement with a KDF, done by
	 * the provider (the shared secret need not leave it): private_key's
	 * agreement with peer (the public key as PsaExportPublicKey gives it)
	 * becomes input step. The core has checked the key's policy (DERIVE,
	 * the operation's algorithm). */
	enum ts_err (*kdf_key_agreement)(void *ctx, void *state, uint32_t step,
	                                 const struct prov_key *private_key, const uint8_t *peer,
	                                 size_t peer_len);
};

/* Multipart kinds (psa_op_setup.proto's Kind, without HASH). */
enum prov_mp_kind {
	PROV_MP_MAC_SIGN = 2,
	PROV_MP_MAC_VERIFY = 3,
	PROV_MP_CIPHER_ENCRYPT = 4,
	PROV_MP_CIPHER_DECRYPT = 5,
	PROV_MP_AEAD_ENCRYPT = 6,
	PROV_MP_AEAD_DECRYPT = 7,
};

/* The provider type named by a configuration "type" ("Software"), or NULL
 * when this build has none. */
const struct prov_ops *prov_find_type(const char *type);

/* The provider type whose first instance has this wire ID, or NULL. */
const struct prov_ops *prov_find(uint8_t id);

/* Free what a prepare_key_attestation result holds. NULL ok. */
void prov_attest_prep_clear(struct prov_attest_prep *p);

#endif
