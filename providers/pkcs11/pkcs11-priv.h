/*
 * The PKCS#11 provider: keys are token objects on one token of a PKCS#11
 * module, found by the CKA_ID the core recorded at reserve time.
 */
#ifndef TESSERA_PROVIDERS_PKCS11_PRIV_H
#define TESSERA_PROVIDERS_PKCS11_PRIV_H

#include <pthread.h>
#include <stdbool.h>

#include <p11-kit/pkcs11.h>

#include "providers/provider.h"

extern const struct prov_ops prov_pkcs11_ops;

/* CKA_IDs tesserad allocates: random, this long. */
#define P11_ID_LEN 16

/* Object handles found, kept by CKA_ID and class (checked at each use). */
#define P11_HANDLE_SLOTS 1024

struct p11_handle {
	uint8_t id[P11_ID_LEN];
	CK_OBJECT_CLASS cls;
	CK_OBJECT_HANDLE h;
	bool used;
};

struct p11 {
	void *lib;
	CK_FUNCTION_LIST_PTR f;
	bool finalize; /* this instance initialised the module */
	CK_SLOT_ID slot;
	bool sw_public;    /* software_public_operations */
	bool allow_export; /* allow_export */

	/* The session pool: all opened at start, logged in once. */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	CK_SESSION_HANDLE *sessions;
	unsigned n_sessions, n_free;
	CK_SESSION_HANDLE *free_list;
	/* The user PIN, kept to log in again when the token dropped every
	 * session (and so the login); wiped at fini. NULL: no login. */
	char *pin;
	size_t pin_len;

	struct p11_handle handles[P11_HANDLE_SLOTS]; /* under lock */

	/* What the token says it can do (C_GetMechanismList). */
	CK_MECHANISM_TYPE *mechs;
	CK_ULONG n_mechs;
	/* Refined by the start-up probe: OAEP beyond SHA-1 or with a label. */
	bool oaep_any_hash, oaep_label;

	unsigned mp_open; /* multipart operations, each on its own session (under lock) */
};

/* Multipart HMAC and AES-GCM across requests (multipart.c): each holds a
 * session of its own, outside the pool, at most this many at once. */
#define P11_MP_SESSIONS 16u
/* The additional data one GCM operation in parts may gather before its
 * first text (PsaErrorInsufficientMemory past it). */
#define P11_MP_MAX_AD ((size_t)1 << 20)
unsigned p11_mp_slots(void *ctx);
enum ts_err p11_mp_setup(void *ctx, int kind, const struct prov_key *k, const struct psa_alg *alg,
                         void **ret_state);
enum ts_err p11_mp_set_iv(void *ctx, void *state, const uint8_t *iv, size_t len);
enum ts_err p11_mp_set_lengths(void *ctx, void *state, uint64_t ad_len, uint64_t text_len);
enum ts_err p11_mp_update(void *ctx, void *state, bool ad, const uint8_t *in, size_t len,
                          uint8_t **ret, size_t *ret_len);
enum ts_err p11_mp_finish(void *ctx, void *state, uint8_t **ret, size_t *ret_len, uint8_t **ret_tag,
                          size_t *ret_tag_len);
enum ts_err p11_mp_verify(void *ctx, void *state, const uint8_t *expected, size_t len,
                          uint8_t **ret, size_t *ret_len);
void p11_mp_free(void *ctx, void *state);

/* A PSA status for a CK_RV (the fallback is what the call failed with). */
enum ts_err p11_status(CK_RV rv);
/* The name of a CK_RV for messages ("CKR_PIN_INCORRECT"). */
const char *p11_rv_name(CK_RV rv);

/* Take a session from the pool (waits while all are in use); give it back
 * with the status of what was done on it: after a device or communication
 * failure the session is checked and, when the token dropped it (or the
 * login), replaced by a new one before anyone else takes it. */
CK_SESSION_HANDLE p11_session_get(struct p11 *p);
void p11_session_put(struct p11 *p, CK_SESSION_HANDLE s, enum ts_err err);

/* Whether the token lists the mechanism; its info when ret_info is set. */
bool p11_has_mech(const struct p11 *p, CK_MECHANISM_TYPE m, CK_MECHANISM_INFO *ret_info);

/* The object of a key with class cls (CKO_PRIVATE_KEY, CKO_PUBLIC_KEY or
 * CKO_SECRET_KEY). TS_OK, TS_E_PSA_DOES_NOT_EXIST or a device error. */
enum ts_err p11_find(struct p11 *p, CK_SESSION_HANDLE s, const struct prov_key *k,
                     CK_OBJECT_CLASS cls, CK_OBJECT_HANDLE *ret);
/* An attribute's value, malloc'd. */
enum ts_err p11_get_attr(struct p11 *p, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o,
                         CK_ATTRIBUTE_TYPE t, uint8_t **ret, size_t *ret_len);

/* The digest of a PSA hash value (SHA-1/2 only): mechanism and size. */
bool p11_hash_mech(unsigned hash, CK_MECHANISM_TYPE *ret_mech, CK_MECHANISM_TYPE *ret_mgf);

/* keys.c */
enum ts_err p11_reserve_ref(void *ctx, const struct psa_attrs *a, uint8_t **ret_ref,
                            size_t *ret_len);
void p11_recover_key(void *ctx, const struct prov_key *k);
enum ts_err p11_generate_key(void *ctx, const struct prov_key *k, uint8_t **ret_mat,
                             size_t *ret_len);
enum ts_err p11_import_key(void *ctx, const struct prov_key *k, const uint8_t *data, size_t len,
                           uint8_t **ret_mat, size_t *ret_len, uint32_t *ret_bits);
enum ts_err p11_export_public_key(void *ctx, const struct prov_key *k, uint8_t **ret,
                                  size_t *ret_len);
enum ts_err p11_export_key(void *ctx, const struct prov_key *k, uint8_t **ret, size_t *ret_len);
enum ts_err p11_destroy_key(void *ctx, const struct prov_key *k);
/* The public key in PSA format, read from the token (for software
 * verification and encryption). */
enum ts_err p11_public_of(struct p11 *p, CK_SESSION_HANDLE s, const struct prov_key *k,
                          uint8_t **ret, size_t *ret_len);
/* CKA_EC_PARAMS (DER OID) of a SECP-R1 curve size, or NULL. */
const uint8_t *p11_ec_oid(uint32_t bits, size_t *ret_len);

/* Whether a bare uncompressed point lies on the SECP-R1 curve of this size. */
bool p11_ec_point_valid(uint32_t bits, const uint8_t *pt, size_t len);

/* symmetric.c */
/* The mechanism of an AEAD or MAC policy, false when the provider has none. */
bool p11_secret_mech(const struct psa_alg *alg, CK_MECHANISM_TYPE *ret);
enum ts_err p11_aead(void *ctx, const struct prov_key *k, const struct psa_alg *alg, bool encrypt,
                     const uint8_t *nonce, size_t nonce_len, const uint8_t *ad, size_t ad_len,
                     const uint8_t *in, size_t in_len, uint8_t **ret, size_t *ret_len);
enum ts_err p11_mac(void *ctx, const struct prov_key *k, const struct psa_alg *alg,
                    const uint8_t *in, size_t in_len, uint8_t **ret, size_t *ret_len);
enum ts_err p11_key_agreement(void *ctx, const struct prov_key *k, const struct psa_alg *alg,
                              const uint8_t *peer, size_t peer_len, uint8_t **ret, size_t *ret_len);

/* sign.c */
enum ts_err p11_sign_hash(void *ctx, const struct prov_key *k, const struct psa_alg *alg,
                          const uint8_t *hash, size_t hash_len, uint8_t **ret_sig, size_t *ret_len);
enum ts_err p11_verify_hash(void *ctx, const struct prov_key *k, const struct psa_alg *alg,
                            const uint8_t *hash, size_t hash_len, const uint8_t *sig,
                            size_t sig_len);

/* asym.c */
enum ts_err p11_asym_crypt(void *ctx, const struct prov_key *k, const struct psa_alg *alg,
                           bool encrypt, const uint8_t *in, size_t in_len, const uint8_t *label,
                           size_t label_len, uint8_t **ret, size_t *ret_len);
/* The OAEP probe at start (a session key; nothing stays on the token). */
void p11_probe_oaep(struct p11 *p);
enum ts_err p11_can_do(void *ctx, const struct psa_attrs *a, int check);

#endif
