/*
 * The TPM 2.0 provider's internals. tpm.c owns the instance (settings, the
 * ESYS context, the root key, the TPM-to-PSA status mapping); cache.c keeps
 * keys loaded; keys.c makes keys and holds the material format; sign.c signs
 * and verifies.
 *
 * Every function below that takes a struct tpm_ctx runs with ctx->lock held
 * (the provider's entry points take it): one ESYS context serves the
 * instance, and ESYS is not thread-safe.
 */
#ifndef TESSERA_PROVIDERS_TPM_PRIV_H
#define TESSERA_PROVIDERS_TPM_PRIV_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <tss2/tss2_esys.h>

#include "providers/provider.h"

extern const struct prov_ops prov_tpm_ops;

/* A key reference: 16 random bytes naming the key (the cache's key), then
 * the Name of the root key it was made under. */
#define TPM_REF_ID_LEN 16

/* Loaded keys kept by default, besides the root key (swtpm has 3 slots). */
#define TPM_CACHE_DEFAULT 2
#define TPM_CACHE_MAX     64

struct tpm_cached {
	uint8_t id[TPM_REF_ID_LEN];
	ESYS_TR handle; /* ESYS_TR_NONE: a free entry */
	uint64_t used;
};

struct tpm_ctx {
	pthread_mutex_t lock;
	TSS2_TCTI_CONTEXT *tcti;
	ESYS_CONTEXT *esys;
	ESYS_TR root;            /* the root key: a primary, or a persistent key */
	bool root_transient;     /* a primary made at start: flushed at fini */
	ESYS_TR session;         /* HMAC session salted with the root key */
	bool hmac_sessions;      /* false: password sessions (hmac_sessions) */
	TPM2B_NAME root_name;    /* recorded in each key (ref and material) */
	TPMT_SYM_DEF_OBJECT sym; /* the primary's symmetric scheme */
	unsigned n_cache;
	uint64_t tick;
	struct tpm_cached cache[TPM_CACHE_MAX];
	unsigned refused_keys; /* keys made under another root key (adopt_key) */
	bool seed_changed;     /* found by tpm_reattach: every key is lost */
};

/* ---- tpm.c ---- */

/* The PSA status for a TSS2 return code; logs what failed with the code
 * and its text (at debug level for a signature that does not verify). */
enum ts_err tpm_status(TSS2_RC rc, const char *what);
/* A TPM response code without its handle, parameter or session number (so
 * it compares with TPM2_RC_*); other layers' codes without the layer. */
TSS2_RC tpm_rc_base(TSS2_RC rc);
/* Whether a command failed because the TPM lost the objects it had loaded
 * (a TPM reset while tesserad ran). */
bool tpm_objects_lost(TSS2_RC rc);
/* After that: forget the loaded keys, make the root key again and check it
 * is the same key. TS_OK (the caller retries once), or an error. */
enum ts_err tpm_reattach(struct tpm_ctx *c);
/* For a root key lost earlier (root ESYS_TR_NONE): TS_E_PSA_DATA_INVALID
 * when the TPM's seed changed, else tpm_reattach. */
enum ts_err tpm_root_again(struct tpm_ctx *c);

/* The authorisation session for a command that authorises with an auth
 * value: the instance's HMAC session salted with the root key, with
 * parameter encryption of the first command parameter (TPM_SESS_IN) and of
 * the first response parameter too (TPM_SESS_BOTH: only for commands whose
 * response starts with a TPM2B). */
#define TPM_SESS_IN   TPMA_SESSION_DECRYPT
#define TPM_SESS_BOTH (TPMA_SESSION_DECRYPT | TPMA_SESSION_ENCRYPT)
ESYS_TR tpm_session(struct tpm_ctx *c, TPMA_SESSION encrypt);

/* ---- the material format (keys.c) ---- */

/* A parsed key material: pointers into the stored bytes. */
struct tpm_material {
	const uint8_t *auth; /* the key's userAuth */
	size_t auth_len;
	const uint8_t *root_name; /* Name of the root key it was made under */
	size_t root_name_len;
	TPM2B_PUBLIC pub;
	bool has_private; /* false: a public key, loaded with LoadExternal */
	TPM2B_PRIVATE priv;
};

/* Parse and check material. TS_OK, TS_E_PSA_DATA_INVALID (not a TPM key's
 * material), or TS_E_PSA_DATA_INVALID with a log line when the key was made
 * under another root key (the TPM was cleared or its seed changed). */
enum ts_err tpm_material_parse(struct tpm_ctx *c, const uint8_t *mat, size_t len,
                               struct tpm_material *ret);

/* Material from an auth value, a public area and (NULL for a public key) a
 * wrapped private part. */
enum ts_err tpm_material_pack(const struct tpm_ctx *c, const uint8_t *auth, size_t auth_len,
                              const TPM2B_PUBLIC *pub, const TPM2B_PRIVATE *priv, uint8_t **ret,
                              size_t *ret_len);
/* The public template for keys with these attributes (unique part empty). */
enum ts_err tpm_key_template(const struct psa_attrs *a, TPM2B_PUBLIC *t);
/* TPM2_TestParms on a template: TS_OK or TS_E_PSA_NOT_SUPPORTED. */
enum ts_err tpm_supports(struct tpm_ctx *c, const TPM2B_PUBLIC *t);
/* import.c: a key pair in PSA's format, through TPM2_Import. */
enum ts_err tpm_import_pair(struct tpm_ctx *c, const struct prov_key *k, const uint8_t *data,
                            size_t len, uint8_t **ret_mat, size_t *ret_len, uint32_t *ret_bits);

enum ts_err tpm_reserve_ref(void *ctx, const struct psa_attrs *a, uint8_t **ret_ref,
                            size_t *ret_len);
enum ts_err tpm_adopt_key(void *ctx, const struct prov_key *k);
enum ts_err tpm_generate_key(void *ctx, const struct prov_key *k, uint8_t **ret_mat,
                             size_t *ret_len);
enum ts_err tpm_import_key(void *ctx, const struct prov_key *k, const uint8_t *data, size_t len,
                           uint8_t **ret_mat, size_t *ret_len, uint32_t *ret_bits);
enum ts_err tpm_export_public_key(void *ctx, const struct prov_key *k, uint8_t **ret,
                                  size_t *ret_len);
enum ts_err tpm_destroy_key(void *ctx, const struct prov_key *k);
/* A public area in PSA's export format (RSA: DER RSAPublicKey; ECC: the
 * uncompressed point, bits the curve size). */
enum ts_err tpm_public_to_psa(const TPMT_PUBLIC *p, uint32_t bits, uint8_t **ret, size_t *ret_len);
/* CanDoCrypto: the key's template is built and TPM2_TestParms asked. */
enum ts_err tpm_can_do(void *ctx, const struct psa_attrs *a, int check);
/* The TPM curve for a PSA family and size, or TPM2_ECC_NONE. */
TPMI_ECC_CURVE tpm_curve(uint8_t family, uint32_t bits);
/* The TPM hash for a PSA hash value, or TPM2_ALG_ERROR. */
TPMI_ALG_HASH tpm_hash(unsigned hash);

/* native.c: a key made in this TPM by another service (import_native). */
enum ts_err tpm_import_native(void *ctx, const struct prov_key *k, const uint8_t *data, size_t len,
                              uint8_t **ret_mat, size_t *ret_len);

/* ---- cache.c ---- */

/* The loaded handle of a key (loading it, and flushing the least recently
 * used key when the cache or the TPM is full), with its auth value set. */
enum ts_err tpm_cache_get(struct tpm_ctx *c, const struct prov_key *k, const struct tpm_material *m,
                          ESYS_TR *ret);
/* Flush one key (destroy), or all (fini, attestation). */
void tpm_cache_drop(struct tpm_ctx *c, const uint8_t *ref, size_t ref_len);
void tpm_cache_clear(struct tpm_ctx *c);
/* Flush the least recently used loaded key; false when none is loaded. */
bool tpm_cache_flush_lru(struct tpm_ctx *c);

/* ---- sign.c ---- */

enum ts_err tpm_sign_hash(void *ctx, const struct prov_key *k, const struct psa_alg *alg,
                          const uint8_t *hash, size_t hash_len, uint8_t **ret_sig, size_t *ret_len);
enum ts_err tpm_verify_hash(void *ctx, const struct prov_key *k, const struct psa_alg *alg,
                            const uint8_t *hash, size_t hash_len, const uint8_t *sig,
                            size_t sig_len);

/* ---- random.c ---- */

/* GetRandom in a loop: any size. */
enum ts_err tpm_generate_random(void *ctx, uint8_t *out, size_t len);
/* In process (OpenSSL): SHA-1, SHA-2 and SHA-3 of 256 bits and more. */
enum ts_err tpm_hash_compute(void *ctx, enum prov_hash alg, const uint8_t *in, size_t len,
                             uint8_t *out, size_t outsize, size_t *ret_len);

/* ---- asym.c ---- */

enum ts_err tpm_asym_crypt(void *ctx, const struct prov_key *k, const struct psa_alg *alg,
                           bool encrypt, const uint8_t *in, size_t in_len, const uint8_t *label,
                           size_t label_len, uint8_t **ret, size_t *ret_len);

/* ---- attest.c ---- */

enum ts_err tpm_prepare_key_attestation(void *ctx, const struct prov_key *attested,
                                        const struct prov_key *attesting,
                                        struct prov_attest_prep *ret);
enum ts_err tpm_attest_key(void *ctx, const struct prov_key *attested,
                           const struct prov_key *attesting, const uint8_t *credential_blob,
                           size_t blob_len, const uint8_t *secret, size_t secret_len,
                           uint8_t **ret_credential, size_t *ret_len);

#endif
