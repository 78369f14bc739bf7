#ifndef TESSERA_PROVIDERS_SOFTWARE_PRIV_H
#define TESSERA_PROVIDERS_SOFTWARE_PRIV_H

#include <openssl/evp.h>

#include "providers/provider.h"

extern const struct prov_ops prov_software_ops;

/* OpenSSL's curve name for a Weierstrass family and size, or NULL. */
const char *sw_curve_name(uint8_t family, uint32_t bits);
/* The digest for a PSA hash value, or NULL. */
const EVP_MD *sw_md(unsigned hash);
/* Parse material (PSA export format) into an OpenSSL key. */
enum ts_err sw_load_pkey(const struct psa_attrs *a, const uint8_t *mat, size_t len, EVP_PKEY **ret);

enum ts_err sw_generate_key(void *ctx, const struct psa_attrs *a, uint8_t **ret_mat,
                            size_t *ret_len);
enum ts_err sw_import_key(void *ctx, const struct psa_attrs *a, const uint8_t *data, size_t len,
                          uint8_t **ret_mat, size_t *ret_len, uint32_t *ret_bits);
enum ts_err sw_export_key(void *ctx, const struct psa_attrs *a, const uint8_t *mat, size_t mat_len,
                          uint8_t **ret, size_t *ret_len);
enum ts_err sw_export_public_key(void *ctx, const struct psa_attrs *a, const uint8_t *mat,
                                 size_t mat_len, uint8_t **ret, size_t *ret_len);
enum ts_err sw_sign_hash(void *ctx, const struct psa_attrs *a, const uint8_t *mat, size_t mat_len,
                         const struct psa_alg *alg, const uint8_t *hash, size_t hash_len,
                         uint8_t **ret_sig, size_t *ret_len);
enum ts_err sw_verify_hash(void *ctx, const struct psa_attrs *a, const uint8_t *mat, size_t mat_len,
                           const struct psa_alg *alg, const uint8_t *hash, size_t hash_len,
                           const uint8_t *sig, size_t sig_len);

/* Shared by the one-shot (symmetric.c) and multipart (multipart.c) code. */
/* Cipher values of psa_algorithm.Cipher. */
enum {
	SW_C_STREAM = 1,
	SW_C_CTR,
	SW_C_CFB,
	SW_C_OFB,
	SW_C_XTS,
	SW_C_ECB,
	SW_C_CBC_NOPAD,
	SW_C_CBC_PKCS7
};
/* "AES" or "CAMELLIA" for a block-cipher key type, else NULL. */
const char *sw_block_prefix(uint8_t type);
/* OpenSSL's cipher for an AEAD kind on a key, or NULL; EVP_CIPHER_free it. */
EVP_CIPHER *sw_aead_cipher(const struct psa_attrs *a, uint8_t kind);
/* OpenSSL's cipher for a psa_algorithm.Cipher value on a key, or NULL;
 * *ret_pad says whether the mode pads (PKCS#7). EVP_CIPHER_free it. */
EVP_CIPHER *sw_plain_cipher(const struct psa_attrs *a, uint8_t kind, int *ret_pad);
/* A MAC context keyed and ready for data, and the untruncated MAC size.
 * TS_OK, TS_E_PSA_NOT_SUPPORTED (hash, key type or CBC-MAC),
 * TS_E_PSA_GENERIC_ERROR (OpenSSL refused the key). */
enum ts_err sw_mac_start(const struct psa_attrs *a, const uint8_t *key, size_t key_len,
                         const struct psa_alg *alg, EVP_MAC_CTX **ret, size_t *ret_full_len);

enum ts_err sw_aead(void *ctx, const struct psa_attrs *a, const uint8_t *key, size_t key_len,
                    const struct psa_alg *alg, bool encrypt, const uint8_t *nonce, size_t nonce_len,
                    const uint8_t *ad, size_t ad_len, const uint8_t *in, size_t in_len,
                    uint8_t **ret, size_t *ret_len);
enum ts_err sw_cipher(void *ctx, const struct psa_attrs *a, const uint8_t *key, size_t key_len,
                      const struct psa_alg *alg, bool encrypt, const uint8_t *in, size_t in_len,
                      uint8_t **ret, size_t *ret_len);
enum ts_err sw_mac(void *ctx, const struct psa_attrs *a, const uint8_t *key, size_t key_len,
                   const struct psa_alg *alg, const uint8_t *in, size_t in_len, uint8_t **ret,
                   size_t *ret_len);
enum ts_err sw_asym_crypt(void *ctx, const struct psa_attrs *a, const uint8_t *mat, size_t mat_len,
                          const struct psa_alg *alg, bool encrypt, const uint8_t *in, size_t in_len,
                          const uint8_t *label, size_t label_len, uint8_t **ret, size_t *ret_len);
enum ts_err sw_key_agreement(void *ctx, const struct psa_attrs *a, const uint8_t *mat,
                             size_t mat_len, const struct psa_alg *alg, const uint8_t *peer,
                             size_t peer_len, uint8_t **ret, size_t *ret_len);

/* Multipart MAC, cipher and AEAD (multipart.c): prov_ops.mp_*. */
enum ts_err sw_mp_setup(void *ctx, int kind, const struct prov_key *k, const struct psa_alg *alg,
                        void **ret_state);
enum ts_err sw_mp_set_iv(void *ctx, void *state, const uint8_t *iv, size_t len);
enum ts_err sw_mp_set_lengths(void *ctx, void *state, uint64_t ad_len, uint64_t text_len);
enum ts_err sw_mp_update(void *ctx, void *state, bool ad, const uint8_t *in, size_t len,
                         uint8_t **ret, size_t *ret_len);
enum ts_err sw_mp_finish(void *ctx, void *state, uint8_t **ret, size_t *ret_len, uint8_t **ret_tag,
                         size_t *ret_tag_len);
enum ts_err sw_mp_verify(void *ctx, void *state, const uint8_t *expected, size_t len, uint8_t **ret,
                         size_t *ret_len);
enum ts_err sw_mp_clone(void *ctx, void *state, void **ret_state);
void sw_mp_free(void *ctx, void *state);

/* Key derivation (kdf.c): prov_ops.kdf_*. */
enum ts_err sw_kdf_setup(void *ctx, const struct psa_alg *alg, void **ret_state,
                         uint64_t *ret_capacity);
enum ts_err sw_kdf_input(void *ctx, void *state, uint32_t step, const uint8_t *data, size_t len);
enum ts_err sw_kdf_input_key(void *ctx, void *state, uint32_t step, const struct prov_key *k);
enum ts_err sw_kdf_input_integer(void *ctx, void *state, uint32_t step, uint64_t value);
enum ts_err sw_kdf_output(void *ctx, void *state, uint8_t *out, size_t len);
void sw_kdf_free(void *ctx, void *state);

enum ts_err sw_can_do(void *ctx, const struct psa_attrs *a, int check);

/* Provider state: the parsed-key cache (cache.c). */
enum ts_err sw_init(void **ret_ctx);
void sw_fini(void *ctx);
/* A parsed key, from the cache or freshly parsed; EVP_PKEY_free it. */
enum ts_err sw_get_pkey(void *ctx, const struct psa_attrs *a, const uint8_t *mat, size_t len,
                        EVP_PKEY **ret);
enum ts_err sw_destroy_key(void *ctx, const struct psa_attrs *a, const uint8_t *mat, size_t len);

#endif
