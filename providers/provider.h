/*
 * Crypto providers. A provider is a const table of metadata and operation
 * functions; a NULL operation means "not supported" and the dispatcher
 * answers PsaErrorNotSupported. Providers compute only: the core decodes,
 * checks policy and looks keys up before calling them.
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

struct prov_ops {
	uint8_t id;       /* wire provider ID (static per type) */
	const char *uuid; /* Parsec's UUID for this provider type */
	const char *description;
	const char *vendor;
	uint32_t version_maj, version_min, version_rev;
	/* Its operations are computation in this process (no device, no I/O
	 * beyond the key store), so tesserad may run the short ones on the
	 * event loop that read the request instead of handing them to a
	 * worker. A hardware provider leaves this false. */
	bool runs_on_loop;

	/* Optional. Build provider state; TS_OK or an error. */
	enum ts_err (*init)(void **ret_ctx);
	/* Optional. Free what init made. */
	void (*fini)(void *ctx);

	/* Fill len bytes with random data. TS_OK, or a PSA error. */
	enum ts_err (*generate_random)(void *ctx, uint8_t *out, size_t len);
	/* Hash in into out (size outsize >= PROV_HASH_MAX_SIZE); TS_OK and the
	 * digest length in *ret_len, TS_E_PSA_NOT_SUPPORTED for an algorithm it
	 * lacks, or another PSA error. */
	enum ts_err (*hash_compute)(void *ctx, enum prov_hash alg, const uint8_t *in, size_t len,
	                            uint8_t *out, size_t outsize, size_t *ret_len);

	/*
	 * Keys. "Material" is what the provider needs to use a key later: the
	 * key itself for software, a reference for hardware. The core keeps it
	 * sealed in the key store and hands it back for each operation. Output
	 * buffers are malloc'd; material and secrets must be freed with
	 * ts_free_secret. Errors are PSA errors (NotSupported for a type or
	 * size the provider lacks, InvalidArgument for bad data).
	 */
	enum ts_err (*generate_key)(void *ctx, const struct psa_attrs *a, uint8_t **ret_mat,
	                            size_t *ret_len);
	/* Import data in PSA's export format; *ret_bits receives the key size. */
	enum ts_err (*import_key)(void *ctx, const struct psa_attrs *a, const uint8_t *data,
	                          size_t len, uint8_t **ret_mat, size_t *ret_len,
	                          uint32_t *ret_bits);
	enum ts_err (*export_key)(void *ctx, const struct psa_attrs *a, const uint8_t *mat,
	                          size_t mat_len, uint8_t **ret, size_t *ret_len);
	enum ts_err (*export_public_key)(void *ctx, const struct psa_attrs *a, const uint8_t *mat,
	                                 size_t mat_len, uint8_t **ret, size_t *ret_len);
	/* Optional even when keys are supported: NULL means nothing lives
	 * outside the key store. */
	enum ts_err (*destroy_key)(void *ctx, const struct psa_attrs *a, const uint8_t *mat,
	                           size_t mat_len);
	enum ts_err (*sign_hash)(void *ctx, const struct psa_attrs *a, const uint8_t *mat,
	                         size_t mat_len, const struct psa_alg *alg, const uint8_t *hash,
	                         size_t hash_len, uint8_t **ret_sig, size_t *ret_len);
	/* TS_OK, or TS_E_PSA_INVALID_SIGNATURE for a signature that does not verify. */
	enum ts_err (*verify_hash)(void *ctx, const struct psa_attrs *a, const uint8_t *mat,
	                           size_t mat_len, const struct psa_alg *alg, const uint8_t *hash,
	                           size_t hash_len, const uint8_t *sig, size_t sig_len);
	/* AEAD: encrypt returns ciphertext || tag; decrypt takes it so and
	 * answers TS_E_PSA_INVALID_SIGNATURE when the tag does not verify. */
	enum ts_err (*aead)(void *ctx, const struct psa_attrs *a, const uint8_t *key,
	                    size_t key_len, const struct psa_alg *alg, bool encrypt,
	                    const uint8_t *nonce, size_t nonce_len, const uint8_t *ad,
	                    size_t ad_len, const uint8_t *in, size_t in_len, uint8_t **ret,
	                    size_t *ret_len);
	/* Unauthenticated ciphers: encrypt picks a random IV and returns
	 * IV || ciphertext; decrypt takes that form. */
	enum ts_err (*cipher)(void *ctx, const struct psa_attrs *a, const uint8_t *key,
	                      size_t key_len, const struct psa_alg *alg, bool encrypt,
	                      const uint8_t *in, size_t in_len, uint8_t **ret, size_t *ret_len);
	/* MAC of in (truncated to alg->length when set). Verification is the
	 * core's constant-time comparison against this. */
	enum ts_err (*mac)(void *ctx, const struct psa_attrs *a, const uint8_t *key, size_t key_len,
	                   const struct psa_alg *alg, const uint8_t *in, size_t in_len,
	                   uint8_t **ret, size_t *ret_len);
	/* RSA encryption; label is the OAEP label (PSA's "salt"). */
	enum ts_err (*asym_crypt)(void *ctx, const struct psa_attrs *a, const uint8_t *mat,
	                          size_t mat_len, const struct psa_alg *alg, bool encrypt,
	                          const uint8_t *in, size_t in_len, const uint8_t *label,
	                          size_t label_len, uint8_t **ret, size_t *ret_len);
	/* Raw key agreement with a peer public key in PSA's format. */
	enum ts_err (*key_agreement)(void *ctx, const struct psa_attrs *a, const uint8_t *mat,
	                             size_t mat_len, const struct psa_alg *alg, const uint8_t *peer,
	                             size_t peer_len, uint8_t **ret, size_t *ret_len);
	/* CanDoCrypto: can the provider hold keys like these (bits 0 = any size)
	 * and run their algorithm, for check 1 use, 2 generate, 3 import,
	 * 4 derive? TS_OK or TS_E_PSA_NOT_SUPPORTED. The core has already
	 * checked that the algorithm fits the key type. */
	enum ts_err (*can_do)(void *ctx, const struct psa_attrs *a, int check);
};

/* The implementation for a wire provider ID, or NULL when this build has none. */
const struct prov_ops *prov_find(uint8_t id);

/* Whether a provider serves an opcode (its function for it is not NULL). */
int prov_supports(const struct prov_ops *ops, uint32_t opcode);

#endif
