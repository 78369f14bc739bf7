/*
 * Multipart MAC, cipher and AEAD operations that live across requests (the
 * PSA C API's; the core holds one per client operation). Each is one
 * operation in the partition, whose pool has 10 contexts per family shared
 * by every normal-world client and silently recycles the oldest when full:
 * this instance keeps at most TSP_MP_PER_FAMILY open per family, below the
 * pool, and answers PsaErrorInsufficientMemory past that, so no context is
 * recycled under a client by this daemon (one-shot requests still find a
 * context free). A session reopened after a transport failure loses the
 * partition's contexts: the operations opened before answer
 * PsaErrorBadState, and are not aborted in the new session.
 */
#include "providers/trusted_services/ts-priv.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "common/secmem.h"
#include "providers/trusted_services/ts-codec.h"
#include "providers/trusted_services/ts-psa.h"

enum { FAM_MAC, FAM_CIPHER, FAM_AEAD };

struct tsp_mp {
	int kind;
	int family;
	uint32_t handle;
	uint32_t epoch; /* the session it lives in */
	bool open;      /* not finished, verified or aborted in the partition */
	bool counted;   /* a CBC-PKCS7 decryption: its input is counted in fed */
	uint64_t fed;   /* (see tsp_updates_fed) */
};

static int family_of(int kind)
{
	switch (kind) {
	case PROV_MP_MAC_SIGN:
	case PROV_MP_MAC_VERIFY:
		return FAM_MAC;
	case PROV_MP_CIPHER_ENCRYPT:
	case PROV_MP_CIPHER_DECRYPT:
		return FAM_CIPHER;
	default:
		return FAM_AEAD;
	}
}

static uint32_t setup_opcode(int kind)
{
	switch (kind) {
	case PROV_MP_MAC_SIGN:
		return TSC_OP_MAC_SIGN_SETUP;
	case PROV_MP_MAC_VERIFY:
		return TSC_OP_MAC_VERIFY_SETUP;
	case PROV_MP_CIPHER_ENCRYPT:
		return TSC_OP_CIPHER_ENCRYPT_SETUP;
	case PROV_MP_CIPHER_DECRYPT:
		return TSC_OP_CIPHER_DECRYPT_SETUP;
	case PROV_MP_AEAD_ENCRYPT:
		return TSC_OP_AEAD_ENCRYPT_SETUP;
	default:
		return TSC_OP_AEAD_DECRYPT_SETUP;
	}
}

static const uint32_t abort_opcode[] = {TSC_OP_MAC_ABORT, TSC_OP_CIPHER_ABORT, TSC_OP_AEAD_ABORT};

enum ts_err tsp_op_live(const struct tsp *p, bool open, uint32_t epoch)
{
	return open && epoch == p->epoch && !p->broken && p->t != NULL ? TS_OK : TS_E_PSA_BAD_STATE;
}

/* With p->lock held: whether the operation can take another step. */
static enum ts_err usable(const struct tsp *p, const struct tsp_mp *m)
{
	return tsp_op_live(p, m->open, m->epoch);
}

/* A step's failure ends the operation in the partition as PSA's error
 * state would: it is aborted there, and only mp_free is left to call. */
static void failed(struct tsp *p, struct tsp_mp *m, enum ts_err err)
{
	if (err != TS_OK && m->open && m->epoch == p->epoch &&
	    err != TS_E_PSA_COMMUNICATION_FAILURE)
		tsp_abort_op(p, abort_opcode[m->family], m->handle);
	if (err != TS_OK)
		m->open = false;
}

unsigned tsp_mp_slots(void *ctx)
{
	(void)ctx;
	return TSP_MP_PER_FAMILY; /* per family; the core shares it out whole */
}

enum ts_err tsp_mp_setup(void *ctx, int kind, const struct prov_key *k, const struct psa_alg *alg,
                         void **ret_state)
{
	struct tsp *p = ctx;
	struct tsp_mp *m;
	uint32_t id, a;
	enum ts_err err;

	if (kind < PROV_MP_MAC_SIGN || kind > PROV_MP_AEAD_DECRYPT)
		return TS_E_PSA_NOT_SUPPORTED;
	err = tsp_key_alg(k, alg, &id, &a);
	if (err != TS_OK)
		return err;
	if ((kind == PROV_MP_AEAD_ENCRYPT || kind == PROV_MP_AEAD_DECRYPT) &&
	    !psa_aead_tag_length_valid(alg->kind, alg->length != 0 ? alg->length : 16))
		return TS_E_PSA_INVALID_ARGUMENT;
	m = calloc(1, sizeof(*m));
	if (m == NULL)
		return TS_E_NOMEM;
	m->kind = kind;
	m->family = family_of(kind);
	m->counted = kind == PROV_MP_CIPHER_DECRYPT && alg->kind == 8; /* CBC-PKCS7 */
	pthread_mutex_lock(&p->lock);
	if (p->mp_open[m->family] >= TSP_MP_PER_FAMILY) {
		err = TS_E_PSA_INSUFFICIENT_MEMORY;
	} else {
		err = tsp_setup(p, setup_opcode(kind), id, a, &m->handle);
		if (err == TS_OK) {
			m->open = true;
			m->epoch = p->epoch;
			p->mp_open[m->family]++;
		}
	}
	pthread_mutex_unlock(&p->lock);
	if (err != TS_OK) {
		free(m);
		return err;
	}
	*ret_state = m;
	return TS_OK;
}

enum ts_err tsp_mp_set_iv(void *ctx, void *state, const uint8_t *iv, size_t len)
{
	struct tsp *p = ctx;
	struct tsp_mp *m = state;
	enum ts_err err;

	if (m->family == FAM_MAC)
		return TS_E_PSA_BAD_STATE;
	pthread_mutex_lock(&p->lock);
	err = usable(p, m);
	if (err == TS_OK) {
		err = tsp_step(
		        p, m->family == FAM_CIPHER ? TSC_OP_CIPHER_SET_IV : TSC_OP_AEAD_SET_NONCE,
		        m->handle, iv != NULL ? iv : (const uint8_t *)"", len, NULL);
		failed(p, m, err);
	}
	pthread_mutex_unlock(&p->lock);
	return err;
}

enum ts_err tsp_mp_set_lengths(void *ctx, void *state, uint64_t ad_len, uint64_t text_len)
{
	struct tsp *p = ctx;
	struct tsp_mp *m = state;
	size_t len = 0, n = 0;
	enum ts_err err;

	if (m->family != FAM_AEAD)
		return TS_E_PSA_BAD_STATE;
	/* The service's lengths are 32-bit. */
	if (ad_len > UINT32_MAX || text_len > UINT32_MAX)
		return TS_E_PSA_NOT_SUPPORTED;
	pthread_mutex_lock(&p->lock);
	err = usable(p, m);
	if (err == TS_OK)
		err = tsc_req_aead_lengths(p->req, p->cap, m->handle, (uint32_t)ad_len,
		                           (uint32_t)text_len, &len);
	if (err == TS_OK) {
		err = tsp_call(p, TSC_OP_AEAD_SET_LENGTHS, len, &n);
		failed(p, m, err);
	}
	pthread_mutex_unlock(&p->lock);
	return err;
}

enum ts_err tsp_mp_update(void *ctx, void *state, bool ad, const uint8_t *in, size_t len,
                          uint8_t **ret, size_t *ret_len)
{
	struct tsp *p = ctx;
	struct tsp_mp *m = state;
	struct tsp_out o = {0};
	uint32_t opcode;
	bool output;
	enum ts_err err;

	if (ad && m->family != FAM_AEAD)
		return TS_E_PSA_BAD_STATE;
	opcode = m->family == FAM_MAC      ? TSC_OP_MAC_UPDATE
	         : m->family == FAM_CIPHER ? TSC_OP_CIPHER_UPDATE
	         : ad                      ? TSC_OP_AEAD_UPDATE_AD
	                                   : TSC_OP_AEAD_UPDATE;
	output = m->family != FAM_MAC && !ad;
	/* A block held back by an earlier update may come out with this one. */
	if (output && (err = tsp_out_init(&o, len + 16)) != TS_OK)
		return err;
	pthread_mutex_lock(&p->lock);
	err = usable(p, m);
	if (err == TS_OK) {
		err = tsp_updates_fed(p, opcode, m->handle, in, len, output ? &o : NULL,
		                      m->counted ? &m->fed : NULL);
		failed(p, m, err);
	}
	pthread_mutex_unlock(&p->lock);
	if (err != TS_OK) {
		if (output)
			ts_free_secret(o.buf, o.cap);
		return err;
	}
	*ret = o.buf;
	*ret_len = o.len;
	return TS_OK;
}

/* A copy of one T1 (or T2) record of the answer; TS_OK with NULL when the
 * record is absent and allowed to be. */
static enum ts_err take(struct tsp *p, size_t n, uint8_t tag, bool required, uint8_t **ret,
                        size_t *ret_len)
{
	const uint8_t *v = NULL;
	size_t vlen = 0;
	enum ts_err err = required ? tsc_resp_data(p->resp, n, &v, &vlen)
	                           : tsc_resp_optional(p->resp, n, tag, &v, &vlen);
	uint8_t *c;

	*ret = NULL;
	*ret_len = 0;
	if (err != TS_OK || vlen == 0)
		return err;
	c = malloc(vlen);
	if (c == NULL)
		return TS_E_NOMEM;
	memcpy(c, v, vlen);
	*ret = c;
	*ret_len = vlen;
	return TS_OK;
}

enum ts_err tsp_mp_finish(void *ctx, void *state, uint8_t **ret, size_t *ret_len, uint8_t **ret_tag,
                          size_t *ret_tag_len)
{
	struct tsp *p = ctx;
	struct tsp_mp *m = state;
	uint8_t *out = NULL, *tag = NULL;
	size_t n = 0, out_len = 0, tag_len = 0;
	enum ts_err err;

	if (m->kind == PROV_MP_MAC_VERIFY || m->kind == PROV_MP_AEAD_DECRYPT)
		return TS_E_PSA_BAD_STATE;
	pthread_mutex_lock(&p->lock);
	err = usable(p, m);
	if (err == TS_OK) {
		uint32_t op = m->family == FAM_MAC      ? TSC_OP_MAC_SIGN_FINISH
		              : m->family == FAM_CIPHER ? TSC_OP_CIPHER_FINISH
		                                        : TSC_OP_AEAD_FINISH;

		err = tsp_step(p, op, m->handle, NULL, 0, &n);
		m->open = false; /* finished, or failed: over either way */
		if (err == TS_OK)
			err = take(p, n, TSC_TAG_1, m->family == FAM_MAC, &out, &out_len);
		if (err == TS_OK && m->family == FAM_AEAD) {
			err = take(p, n, TSC_TAG_2, false, &tag, &tag_len);
			if (err == TS_OK && tag == NULL)
				err = TS_E_PSA_COMMUNICATION_FAILURE; /* an AEAD always has a tag */
		}
		OPENSSL_cleanse(p->resp, n);
	}
	pthread_mutex_unlock(&p->lock);
	if (err != TS_OK) {
		ts_free_secret(out, out_len);
		free(tag);
		return err;
	}
	*ret = out;
	*ret_len = out_len;
	if (ret_tag != NULL) {
		*ret_tag = tag;
		*ret_tag_len = tag_len;
	} else {
		free(tag);
	}
	return TS_OK;
}

enum ts_err tsp_mp_verify(void *ctx, void *state, const uint8_t *expected, size_t len,
                          uint8_t **ret, size_t *ret_len)
{
	struct tsp *p = ctx;
	struct tsp_mp *m = state;
	uint8_t *out = NULL;
	size_t n = 0, out_len = 0;
	enum ts_err err;

	if (m->kind != PROV_MP_MAC_VERIFY && m->kind != PROV_MP_AEAD_DECRYPT)
		return TS_E_PSA_BAD_STATE;
	pthread_mutex_lock(&p->lock);
	err = usable(p, m);
	if (err == TS_OK) {
		err = tsp_step(
		        p, m->family == FAM_MAC ? TSC_OP_MAC_VERIFY_FINISH : TSC_OP_AEAD_VERIFY,
		        m->handle, expected != NULL ? expected : (const uint8_t *)"", len, &n);
		m->open = false;
		if (err == TS_OK && m->family == FAM_AEAD)
			err = take(p, n, TSC_TAG_1, false, &out, &out_len);
		OPENSSL_cleanse(p->resp, n);
	}
	pthread_mutex_unlock(&p->lock);
	if (err != TS_OK) {
		ts_free_secret(out, out_len);
		return err;
	}
	if (ret != NULL) {
		*ret = out;
		*ret_len = out_len;
	} else {
		ts_free_secret(out, out_len);
	}
	return TS_OK;
}

void tsp_mp_free(void *ctx, void *state)
{
	struct tsp *p = ctx;
	struct tsp_mp *m = state;

	if (m == NULL)
		return;
	pthread_mutex_lock(&p->lock);
	if (usable(p, m) == TS_OK)
		tsp_abort_op(p, abort_opcode[m->family], m->handle);
	p->mp_open[m->family]--;
	pthread_mutex_unlock(&p->lock);
	free(m);
}
