#ifndef TESSERA_PROVIDERS_TS_PRIV_H
#define TESSERA_PROVIDERS_TS_PRIV_H

#include <pthread.h>

#include "providers/provider.h"
#include "providers/trusted_services/ts-transport.h"

extern const struct prov_ops prov_trusted_services_ops;

/*
 * The persistent key IDs this daemon gives its keys in the secure
 * partition, whose key namespace every normal-world client shares: the top
 * 1/64 of PSA's user range, so that other clients counting up from 1 (as
 * Parsec does) meet them last.
 */
#define TSP_KEY_ID_MIN 0x3f000000u
#define TSP_KEY_ID_MAX 0x3fffffffu

/* IDs probed before reserve_ref gives up on finding a free one. */
#define PROBE_MAX 64
/* IDs whose creation failed because another client holds them. */
#define FOREIGN_MAX 16

/* The instance's settings, kept to reopen the session. */
struct tsp_settings {
	char *transport, *device, *libts_path, *service;
};

/* Settings text → settings, with the defaults filled in. TS_OK, or
 * TS_E_CONFIG / TS_E_NOMEM with a message naming the key path. */
enum ts_err tsp_parse_settings(const char *text, const char *path, struct tsp_settings *ret,
                               char *err, size_t errlen);
void tsp_settings_free(struct tsp_settings *s); /* the strings; the struct is zeroed */
/* prov_ops.check_settings. */
enum ts_err tsp_check_settings(const char *settings, const char *path, char *err, size_t errlen);

/* One instance: its transport session and the buffers of one call. */
struct tsp {
	struct tsp_settings settings;
	char *path;  /* the instance's key path, for messages */
	bool broken; /* the last call failed in the transport: reopen before the next */
	const struct tst_ops *t;
	void *tctx;
	pthread_mutex_t lock; /* held for a whole operation, multipart steps and all */
	uint8_t *req, *resp;
	size_t cap;
	uint32_t next_id;
	uint32_t foreign[FOREIGN_MAX];
	size_t n_foreign;
	uint32_t epoch;      /* sessions opened so far: multipart handles die with theirs */
	unsigned mp_open[4]; /* operations open, per family (ts-multipart.c, TSP_FAM_KDF) */
};

/* One call with p->lock held: the request in p->req[0..req_len), the
 * answer in p->resp[0..*ret_len). TS_OK or the mapped status of either
 * level (tsc_status_to_err). */
enum ts_err tsp_call(struct tsp *p, uint32_t opcode, size_t req_len, size_t *ret_len);
/* Same, for an answer that is one T1 record, copied out (malloc'd). */
enum ts_err tsp_call_data(struct tsp *p, uint32_t opcode, size_t req_len, uint8_t **ret,
                          size_t *ret_len);
/* The partition key ID a key's reference names; false for one not ours. */
bool tsp_ref_id(const struct prov_key *k, uint32_t *ret);
/* The key's partition ID and the algorithm's PSA value, for an operation on
 * a key: TS_E_PSA_DOES_NOT_EXIST for a reference not ours, tsp_alg's errors. */
enum ts_err tsp_key_alg(const struct prov_key *k, const struct psa_alg *alg, uint32_t *ret_id,
                        uint32_t *ret_alg);

/* Multipart operations across requests (ts-multipart.c), per family at
 * most this many: below the partition's pool of 10, so one-shot requests
 * still find a context and none is recycled under a client. */
#define TSP_MP_PER_FAMILY 8u
unsigned tsp_mp_slots(void *ctx);
enum ts_err tsp_mp_setup(void *ctx, int kind, const struct prov_key *k, const struct psa_alg *alg,
                         void **ret_state);
enum ts_err tsp_mp_set_iv(void *ctx, void *state, const uint8_t *iv, size_t len);
enum ts_err tsp_mp_set_lengths(void *ctx, void *state, uint64_t ad_len, uint64_t text_len);
enum ts_err tsp_mp_update(void *ctx, void *state, bool ad, const uint8_t *in, size_t len,
                          uint8_t **ret, size_t *ret_len);
enum ts_err tsp_mp_finish(void *ctx, void *state, uint8_t **ret, size_t *ret_len, uint8_t **ret_tag,
                          size_t *ret_tag_len);
enum ts_err tsp_mp_verify(void *ctx, void *state, const uint8_t *expected, size_t len,
                          uint8_t **ret, size_t *ret_len);
void tsp_mp_free(void *ctx, void *state);

/* Whether an operation opened in session `epoch` and not yet ended can take
 * another step, with p->lock held: a broken session is reopened by the next
 * call, and the partition's contexts go with it (TS_E_PSA_BAD_STATE). */
enum ts_err tsp_op_live(const struct tsp *p, bool open, uint32_t epoch);

/* Key derivation across requests (ts-kdf.c): the partition's pool of
 * derivation contexts is its own, counted in mp_open[TSP_FAM_KDF] under the
 * same TSP_MP_PER_FAMILY cap. */
#define TSP_FAM_KDF 3
enum ts_err tsp_kdf_setup(void *ctx, const struct psa_alg *alg, void **ret_state,
                          uint64_t *ret_capacity);
enum ts_err tsp_kdf_input(void *ctx, void *state, uint32_t step, const uint8_t *data, size_t len);
enum ts_err tsp_kdf_input_key(void *ctx, void *state, uint32_t step, const struct prov_key *k);
enum ts_err tsp_kdf_input_integer(void *ctx, void *state, uint32_t step, uint64_t value);
enum ts_err tsp_kdf_output(void *ctx, void *state, uint8_t *out, size_t len);
void tsp_kdf_free(void *ctx, void *state);
enum ts_err tsp_kdf_key_agreement(void *ctx, void *state, uint32_t step,
                                  const struct prov_key *private_key, const uint8_t *peer,
                                  size_t peer_len);

/* Multipart steps (ts-symmetric.c), called with p->lock held. */
struct tsp_out { /* an output put together from the pieces the steps answer */
	uint8_t *buf;
	size_t cap, len;
};
enum ts_err tsp_out_init(struct tsp_out *o, size_t cap);
/* More than the room left is a broken endpoint: COMMUNICATION_FAILURE. */
enum ts_err tsp_out_add(struct tsp_out *o, const uint8_t *v, size_t n);
/* Setup: the handle of a new operation. */
enum ts_err tsp_setup(struct tsp *p, uint32_t opcode, uint32_t id, uint32_t alg,
                      uint32_t *ret_handle);
/* One step on the handle, with data as T1 when not NULL; the answer in
 * p->resp[0..*ret_n). */
enum ts_err tsp_step(struct tsp *p, uint32_t opcode, uint32_t handle, const uint8_t *data,
                     size_t len, size_t *ret_n);
void tsp_abort_op(struct tsp *p, uint32_t opcode, uint32_t handle);
/* Updates of in, piece by piece, collecting each piece's T1 into o (NULL:
 * the step answers nothing). */
enum ts_err tsp_updates(struct tsp *p, uint32_t opcode, uint32_t handle, const uint8_t *in,
                        size_t in_len, struct tsp_out *o);
/* The same for a cipher whose updates are counted in *fed (NULL: not
 * counted): a CBC-PKCS7 decryption. Mbed TLS, behind the real service,
 * holds the last whole block of such a decryption back and answers
 * BUFFER_TOO_SMALL to an update when the held block and the input's whole
 * blocks exceed the output the service allocates (the input's length
 * rounded up to a block); a piece of whole blocks after a multiple of 16
 * bytes is therefore sent one byte short, the byte going with the next. */
enum ts_err tsp_updates_fed(struct tsp *p, uint32_t opcode, uint32_t handle, const uint8_t *in,
                            size_t in_len, struct tsp_out *o, uint64_t *fed);

/* The symmetric families (ts-symmetric.c), each one request's worth of
 * multipart steps under the lock, in pieces of TSP_CHUNK bytes. */
#define TSP_CHUNK 4096u
enum ts_err tsp_aead(void *ctx, const struct prov_key *k, const struct psa_alg *alg, bool encrypt,
                     const uint8_t *nonce, size_t nonce_len, const uint8_t *ad, size_t ad_len,
                     const uint8_t *in, size_t in_len, uint8_t **ret, size_t *ret_len);
enum ts_err tsp_cipher(void *ctx, const struct prov_key *k, const struct psa_alg *alg, bool encrypt,
                       const uint8_t *in, size_t in_len, uint8_t **ret, size_t *ret_len);
enum ts_err tsp_mac(void *ctx, const struct prov_key *k, const struct psa_alg *alg,
                    const uint8_t *in, size_t in_len, uint8_t **ret, size_t *ret_len);
enum ts_err tsp_mac_verify(void *ctx, const struct prov_key *k, const struct psa_alg *alg,
                           const uint8_t *in, size_t in_len, const uint8_t *mac, size_t mac_len);

#endif
