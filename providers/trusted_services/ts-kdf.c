/*
 * Key derivation in the partition (the kdf_* hooks of providers/provider.h)
 * with the crypto service's key-derivation opcodes: HKDF, the TLS 1.2 PRF
 * and TLS 1.2 PSK-to-MS, as the partition's Mbed TLS builds them.
 *
 * An operation is one derivation context in the partition, which lives
 * across requests like the multipart ones (ts-multipart.c) and shares their
 * rules: the partition's derivation pool (10 contexts, every normal-world
 * client's) is kept below by the same per-family cap, an operation opened
 * in a session since reopened answers PsaErrorBadState, and freeing one
 * aborts it in the partition when it still lives there. The input order is
 * the partition's to check; the core counts the capacity down from what the
 * partition answers right after setup.
 *
 * A key agreement followed by a KDF is set up in the partition with its
 * full value (agreement | KDF), and its agreement step goes as the
 * service's KEY_AGREEMENT (tsp_kdf_key_agreement): the partition refuses a
 * raw agreement with a key whose policy names the agreement with its KDF,
 * and the shared secret then never leaves it.
 */
#include "providers/trusted_services/ts-priv.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "common/secmem.h"
#include "providers/trusted_services/ts-codec.h"
#include "providers/trusted_services/ts-psa.h"

struct tsp_kdf {
	uint32_t handle;
	uint32_t epoch; /* the session it lives in */
	bool open;      /* not aborted in the partition */
};

/* A one-u32 request on the handle (GET_CAPACITY, ABORT); the answer in
 * p->resp[0..*ret_n). */
static enum ts_err handle_call(struct tsp *p, uint32_t opcode, uint32_t handle, size_t *ret_n)
{
	size_t len = 0, n = 0;
	enum ts_err err = tsc_req_kdf_handle(p->req, p->cap, handle, &len);

	if (err == TS_OK)
		err = tsp_call(p, opcode, len, &n);
	if (err == TS_OK && ret_n != NULL)
		*ret_n = n;
	return err;
}

/* The initial capacity as the partition counts it. Its answer is a size_t
 * cut to 32 bits, so an all-ones answer is Mbed TLS's unlimited one. */
static enum ts_err capacity_of(struct tsp *p, uint32_t handle, uint64_t *ret)
{
	size_t n = 0;
	uint32_t cap = 0;
	enum ts_err err = handle_call(p, TSC_OP_KDF_GET_CAPACITY, handle, &n);

	if (err == TS_OK)
		err = tsc_resp_id(p->resp, n, &cap);
	if (err == TS_OK)
		*ret = cap == UINT32_MAX ? UINT64_MAX : cap;
	return err;
}

enum ts_err tsp_kdf_setup(void *ctx, const struct psa_alg *alg, void **ret_state,
                          uint64_t *ret_capacity)
{
	struct tsp *p = ctx;
	struct tsp_kdf *d;
	uint64_t cap = 0;
	uint32_t a;
	size_t len = 0, n = 0;
	enum ts_err err;

	if (alg->cls != PSA_AC_KDF && !(alg->cls == PSA_AC_KEY_AGREEMENT && alg->kdf != 0))
		return TS_E_PSA_INVALID_ARGUMENT;
	err = tsp_alg(alg, &a);
	if (err != TS_OK)
		return err;
	d = calloc(1, sizeof(*d));
	if (d == NULL)
		return TS_E_NOMEM;
	pthread_mutex_lock(&p->lock);
	if (p->mp_open[TSP_FAM_KDF] >= TSP_MP_PER_FAMILY) {
		err = TS_E_PSA_INSUFFICIENT_MEMORY;
	} else {
		err = tsc_req_kdf_setup(p->req, p->cap, a, &len);
		if (err == TS_OK)
			err = tsp_call(p, TSC_OP_KDF_SETUP, len, &n);
		if (err == TS_OK)
			err = tsc_resp_id(p->resp, n, &d->handle);
		if (err == TS_OK) {
			d->open = true;
			d->epoch = p->epoch;
			p->mp_open[TSP_FAM_KDF]++;
			err = capacity_of(p, d->handle, &cap);
			if (err != TS_OK) {
				if (err != TS_E_PSA_COMMUNICATION_FAILURE)
					(void)handle_call(p, TSC_OP_KDF_ABORT, d->handle, NULL);
				p->mp_open[TSP_FAM_KDF]--;
			}
		}
	}
	pthread_mutex_unlock(&p->lock);
	if (err != TS_OK) {
		free(d);
		return err;
	}
	*ret_state = d;
	*ret_capacity = cap;
	return TS_OK;
}

/* One input request with the lock held; the request may hold a secret. */
static enum ts_err input_call(struct tsp *p, uint32_t opcode, size_t req_len)
{
	size_t n = 0;
	enum ts_err err = tsp_call(p, opcode, req_len, &n);

	OPENSSL_cleanse(p->req, req_len);
	return err;
}

enum ts_err tsp_kdf_input(void *ctx, void *state, uint32_t step, const uint8_t *data, size_t len)
{
	struct tsp *p = ctx;
	struct tsp_kdf *d = state;
	size_t rlen = 0;
	enum ts_err err;

	pthread_mutex_lock(&p->lock);
	err = tsp_op_live(p, d->open, d->epoch);
	if (err == TS_OK)
		err = tsc_req_kdf_input_bytes(p->req, p->cap, d->handle, step,
		                              data != NULL ? data : (const uint8_t *)"", len,
		                              &rlen);
	if (err == TS_OK)
		err = input_call(p, TSC_OP_KDF_INPUT_BYTES, rlen);
	pthread_mutex_unlock(&p->lock);
	return err;
}

enum ts_err tsp_kdf_input_key(void *ctx, void *state, uint32_t step, const struct prov_key *k)
{
	struct tsp *p = ctx;
	struct tsp_kdf *d = state;
	size_t rlen = 0;
	uint32_t id;
	enum ts_err err;

	if (!tsp_ref_id(k, &id))
		return TS_E_PSA_DOES_NOT_EXIST;
	pthread_mutex_lock(&p->lock);
	err = tsp_op_live(p, d->open, d->epoch);
	if (err == TS_OK)
		err = tsc_req_kdf_input_key(p->req, p->cap, d->handle, step, id, &rlen);
	if (err == TS_OK)
		err = input_call(p, TSC_OP_KDF_INPUT_KEY, rlen);
	pthread_mutex_unlock(&p->lock);
	return err;
}

enum ts_err tsp_kdf_key_agreement(void *ctx, void *state, uint32_t step,
                                  const struct prov_key *private_key, const uint8_t *peer,
                                  size_t peer_len)
{
	struct tsp *p = ctx;
	struct tsp_kdf *d = state;
	size_t rlen = 0;
	uint32_t id;
	enum ts_err err;

	if (!tsp_ref_id(private_key, &id))
		return TS_E_PSA_DOES_NOT_EXIST;
	pthread_mutex_lock(&p->lock);
	err = tsp_op_live(p, d->open, d->epoch);
	if (err == TS_OK)
		err = tsc_req_kdf_key_agreement(p->req, p->cap, d->handle, step, id, peer, peer_len,
		                                &rlen);
	if (err == TS_OK)
		err = input_call(p, TSC_OP_KDF_KEY_AGREEMENT, rlen);
	pthread_mutex_unlock(&p->lock);
	return err;
}

enum ts_err tsp_kdf_input_integer(void *ctx, void *state, uint32_t step, uint64_t value)
{
	(void)ctx;
	(void)state;
	(void)step;
	(void)value;
	/* The service has no integer input (PBKDF2's cost), and none of the
	 * algorithms it derives with takes one. */
	return TS_E_PSA_INVALID_ARGUMENT;
}

enum ts_err tsp_kdf_output(void *ctx, void *state, uint8_t *out, size_t len)
{
	struct tsp *p = ctx;
	struct tsp_kdf *d = state;
	size_t piece;
	enum ts_err err;

	pthread_mutex_lock(&p->lock);
	err = tsp_op_live(p, d->open, d->epoch);
	for (size_t off = 0; off < len && err == TS_OK; off += piece) {
		const uint8_t *v = NULL;
		size_t rlen = 0, n = 0, vlen = 0;

		/* The answer's T1 must fit the service's response buffer. */
		piece = len - off < TSP_CHUNK ? len - off : TSP_CHUNK;
		err = tsc_req_kdf_output_bytes(p->req, p->cap, d->handle, (uint32_t)piece, &rlen);
		if (err == TS_OK)
			err = tsp_call(p, TSC_OP_KDF_OUTPUT_BYTES, rlen, &n);
		if (err == TS_OK)
			err = tsc_resp_data(p->resp, n, &v, &vlen);
		if (err == TS_OK && vlen != piece)
			err = TS_E_PSA_COMMUNICATION_FAILURE;
		if (err == TS_OK)
			memcpy(out + off, v, piece);
		OPENSSL_cleanse(p->resp, n);
	}
	pthread_mutex_unlock(&p->lock);
	if (err != TS_OK)
		OPENSSL_cleanse(out, len);
	return err;
}

void tsp_kdf_free(void *ctx, void *state)
{
	struct tsp *p = ctx;
	struct tsp_kdf *d = state;

	if (d == NULL)
		return;
	pthread_mutex_lock(&p->lock);
	if (tsp_op_live(p, d->open, d->epoch) == TS_OK)
		(void)handle_call(p, TSC_OP_KDF_ABORT, d->handle, NULL);
	p->mp_open[TSP_FAM_KDF]--;
	pthread_mutex_unlock(&p->lock);
	free(d);
}
