/*
 * AEAD, unauthenticated ciphers and MACs on keys in the partition. Parsec's
 * operations are one-shot; the service has only multipart opcodes for these
 * families, so each request runs setup, its updates in pieces that fit the
 * buffer, and finish, all under the instance lock: no context outlives the
 * request (the partition pools 10 per family for every process on the box
 * and silently recycles the oldest), and one is aborted on any failure.
 */
#include "providers/trusted_services/ts-priv.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "common/secmem.h"
#include "providers/trusted_services/ts-codec.h"
#include "providers/trusted_services/ts-psa.h"

enum ts_err tsp_out_init(struct tsp_out *o, size_t cap)
{
	o->cap = cap;
	o->len = 0;
	o->buf = malloc(cap > 0 ? cap : 1);
	return o->buf != NULL ? TS_OK : TS_E_NOMEM;
}

enum ts_err tsp_out_add(struct tsp_out *o, const uint8_t *v, size_t n)
{
	/* An endpoint that answers more than the operation can produce is
	 * broken, not something to make room for. */
	if (n > o->cap - o->len)
		return TS_E_PSA_COMMUNICATION_FAILURE;
	if (n > 0)
		memcpy(o->buf + o->len, v, n);
	o->len += n;
	return TS_OK;
}

enum ts_err tsp_setup(struct tsp *p, uint32_t opcode, uint32_t id, uint32_t alg,
                      uint32_t *ret_handle)
{
	size_t len = 0, n = 0;
	enum ts_err err = tsc_req_setup(p->req, p->cap, id, alg, &len);

	if (err == TS_OK)
		err = tsp_call(p, opcode, len, &n);
	if (err == TS_OK)
		err = tsc_resp_id(p->resp, n, ret_handle);
	return err;
}

enum ts_err tsp_step(struct tsp *p, uint32_t opcode, uint32_t handle, const uint8_t *data,
                     size_t len, size_t *ret_n)
{
	size_t rlen = 0, n = 0;
	enum ts_err err = tsc_req_step(p->req, p->cap, handle, data, len, &rlen);

	if (err == TS_OK)
		err = tsp_call(p, opcode, rlen, &n);
	if (err == TS_OK && ret_n != NULL)
		*ret_n = n;
	return err;
}

void tsp_abort_op(struct tsp *p, uint32_t opcode, uint32_t handle)
{
	(void)tsp_step(p, opcode, handle, NULL, 0, NULL);
}

enum ts_err tsp_updates_fed(struct tsp *p, uint32_t opcode, uint32_t handle, const uint8_t *in,
                            size_t in_len, struct tsp_out *o, uint64_t *fed)
{
	enum ts_err err = TS_OK;
	size_t piece;

	for (size_t off = 0; off < in_len && err == TS_OK; off += piece) {
		size_t n = 0, vlen;
		const uint8_t *v;

		piece = in_len - off < TSP_CHUNK ? in_len - off : TSP_CHUNK;
		/* The service gives an update's output the input's length rounded
		 * up to a block, and Mbed TLS wants room for the block a PKCS#7
		 * decryption holds back as well: whole blocks on top of a held
		 * block go one byte short (see tsp_updates_fed in ts-priv.h). */
		if (fed != NULL && *fed > 0 && *fed % 16 == 0 && piece % 16 == 0)
			piece--;
		err = tsp_step(p, opcode, handle, in + off, piece, &n);
		if (err == TS_OK && o != NULL) {
			err = tsc_resp_optional(p->resp, n, TSC_TAG_1, &v, &vlen);
			if (err == TS_OK)
				err = tsp_out_add(o, v, vlen);
		}
		if (err == TS_OK && fed != NULL)
			*fed += piece;
		OPENSSL_cleanse(p->resp, n);
	}
	return err;
}

enum ts_err tsp_updates(struct tsp *p, uint32_t opcode, uint32_t handle, const uint8_t *in,
                        size_t in_len, struct tsp_out *o)
{
	return tsp_updates_fed(p, opcode, handle, in, in_len, o, NULL);
}

/* ---- AEAD ---- */

static size_t tag_length(const struct psa_alg *alg)
{
	return alg->length != 0 ? alg->length : 16; /* GCM, CCM and ChaCha20-Poly1305 */
}

enum ts_err tsp_aead(void *ctx, const struct prov_key *k, const struct psa_alg *alg, bool encrypt,
                     const uint8_t *nonce, size_t nonce_len, const uint8_t *ad, size_t ad_len,
                     const uint8_t *in, size_t in_len, uint8_t **ret, size_t *ret_len)
{
	struct tsp *p = ctx;
	size_t tag_len = tag_length(alg), text_len, n = 0, vlen = 0, tlen = 0;
	const uint8_t *v, *t;
	struct tsp_out o = {0};
	uint32_t id, a, h = 0;
	bool open = false;
	enum ts_err err;

	err = tsp_key_alg(k, alg, &id, &a);
	if (err != TS_OK)
		return err;
	if (!psa_aead_tag_length_valid(alg->kind, tag_len))
		return TS_E_PSA_INVALID_ARGUMENT; /* as the partition answers, before any call */
	if (!encrypt && in_len < tag_len)
		return TS_E_PSA_INVALID_SIGNATURE;
	text_len = encrypt ? in_len : in_len - tag_len;
	if (ad_len > UINT32_MAX || text_len > UINT32_MAX)
		return TS_E_PSA_INSUFFICIENT_MEMORY;
	err = tsp_out_init(&o, encrypt ? in_len + tag_len : text_len);
	if (err != TS_OK)
		return err;
	pthread_mutex_lock(&p->lock);
	err = tsp_setup(p, encrypt ? TSC_OP_AEAD_ENCRYPT_SETUP : TSC_OP_AEAD_DECRYPT_SETUP, id, a,
	                &h);
	open = err == TS_OK;
	if (err == TS_OK) {
		size_t len = 0;

		/* CCM needs the lengths first; the others take them too. */
		err = tsc_req_aead_lengths(p->req, p->cap, h, (uint32_t)ad_len, (uint32_t)text_len,
		                           &len);
		if (err == TS_OK)
			err = tsp_call(p, TSC_OP_AEAD_SET_LENGTHS, len, &n);
	}
	if (err == TS_OK)
		err = tsp_step(p, TSC_OP_AEAD_SET_NONCE, h,
		               nonce != NULL ? nonce : (const uint8_t *)"", nonce_len, NULL);
	if (err == TS_OK)
		err = tsp_updates(p, TSC_OP_AEAD_UPDATE_AD, h, ad, ad_len, NULL);
	if (err == TS_OK)
		err = tsp_updates(p, TSC_OP_AEAD_UPDATE, h, in, text_len, &o);
	if (err == TS_OK && encrypt) {
		err = tsp_step(p, TSC_OP_AEAD_FINISH, h, NULL, 0, &n);
		open = false; /* finished, or failed: either way the operation is over */
		if (err == TS_OK)
			err = tsc_resp_optional(p->resp, n, TSC_TAG_1, &v, &vlen);
		if (err == TS_OK)
			err = tsc_resp_optional(p->resp, n, TSC_TAG_2, &t, &tlen);
		if (err == TS_OK)
			err = tsp_out_add(&o, v, vlen);
		if (err == TS_OK && tlen != tag_len)
			err = TS_E_PSA_COMMUNICATION_FAILURE;
		if (err == TS_OK)
			err = tsp_out_add(&o, t, tlen);
		OPENSSL_cleanse(p->resp, n);
	} else if (err == TS_OK) {
		err = tsp_step(p, TSC_OP_AEAD_VERIFY, h, in + text_len, tag_len, &n);
		open = false;
		if (err == TS_OK)
			err = tsc_resp_optional(p->resp, n, TSC_TAG_1, &v, &vlen);
		if (err == TS_OK)
			err = tsp_out_add(&o, v, vlen);
		OPENSSL_cleanse(p->resp, n);
	}
	if (open && err != TS_OK)
		tsp_abort_op(p, TSC_OP_AEAD_ABORT, h);
	pthread_mutex_unlock(&p->lock);
	if (err != TS_OK) {
		ts_free_secret(o.buf, o.cap);
		return err;
	}
	*ret = o.buf;
	*ret_len = o.len;
	return TS_OK;
}

/* ---- unauthenticated ciphers ---- */

/* The IV each mode takes (the Cipher enum: 1 stream, 6 ECB). */
static size_t iv_length(const struct prov_key *k, const struct psa_alg *alg)
{
	if (alg->kind == 6)
		return 0;
	if (alg->kind == 1)
		return k->attrs->type == PSA_KT_CHACHA20 ? 12 : 0;
	return 16; /* AES block */
}

enum ts_err tsp_cipher(void *ctx, const struct prov_key *k, const struct psa_alg *alg, bool encrypt,
                       const uint8_t *in, size_t in_len, uint8_t **ret, size_t *ret_len)
{
	struct tsp *p = ctx;
	size_t iv_len = iv_length(k, alg), n = 0, vlen;
	const uint8_t *v;
	struct tsp_out o = {0};
	uint32_t id, a, h = 0;
	bool open = false;
	enum ts_err err;

	err = tsp_key_alg(k, alg, &id, &a);
	if (err != TS_OK)
		return err;
	if (!encrypt && in_len < iv_len)
		return TS_E_PSA_INVALID_ARGUMENT;
	/* Up to one block more (padding) and the IV in front. */
	err = tsp_out_init(&o, in_len + 16 + iv_len);
	if (err != TS_OK)
		return err;
	pthread_mutex_lock(&p->lock);
	err = tsp_setup(p, encrypt ? TSC_OP_CIPHER_ENCRYPT_SETUP : TSC_OP_CIPHER_DECRYPT_SETUP, id,
	                a, &h);
	open = err == TS_OK;
	if (err == TS_OK && iv_len > 0) {
		if (encrypt) {
			err = tsp_step(p, TSC_OP_CIPHER_GENERATE_IV, h, NULL, 0, &n);
			if (err == TS_OK)
				err = tsc_resp_data(p->resp, n, &v, &vlen);
			if (err == TS_OK && vlen != iv_len)
				err = TS_E_PSA_COMMUNICATION_FAILURE;
			if (err == TS_OK)
				err = tsp_out_add(&o, v, vlen);
		} else {
			err = tsp_step(p, TSC_OP_CIPHER_SET_IV, h, in, iv_len, NULL);
		}
	}
	if (err == TS_OK) {
		uint64_t fed = 0;

		err = tsp_updates_fed(p, TSC_OP_CIPHER_UPDATE, h, in + (encrypt ? 0 : iv_len),
		                      in_len - (encrypt ? 0 : iv_len), &o,
		                      !encrypt && alg->kind == 8 /* CBC-PKCS7 */ ? &fed : NULL);
	}
	if (err == TS_OK) {
		err = tsp_step(p, TSC_OP_CIPHER_FINISH, h, NULL, 0, &n);
		open = false;
		if (err == TS_OK)
			err = tsc_resp_optional(p->resp, n, TSC_TAG_1, &v, &vlen);
		if (err == TS_OK)
			err = tsp_out_add(&o, v, vlen);
		OPENSSL_cleanse(p->resp, n);
	}
	if (open && err != TS_OK)
		tsp_abort_op(p, TSC_OP_CIPHER_ABORT, h);
	pthread_mutex_unlock(&p->lock);
	if (err != TS_OK) {
		ts_free_secret(o.buf, o.cap);
		return err;
	}
	*ret = o.buf;
	*ret_len = o.len;
	return TS_OK;
}

/* ---- MAC ---- */

static enum ts_err mac_run(struct tsp *p, const struct prov_key *k, const struct psa_alg *alg,
                           const uint8_t *in, size_t in_len, const uint8_t *expect,
                           size_t expect_len, uint8_t **ret, size_t *ret_len)
{
	size_t n = 0, vlen;
	const uint8_t *v;
	uint32_t id, a, h = 0;
	bool open = false;
	enum ts_err err;

	err = tsp_key_alg(k, alg, &id, &a);
	if (err != TS_OK)
		return err;
	pthread_mutex_lock(&p->lock);
	err = tsp_setup(p, expect == NULL ? TSC_OP_MAC_SIGN_SETUP : TSC_OP_MAC_VERIFY_SETUP, id, a,
	                &h);
	open = err == TS_OK;
	if (err == TS_OK)
		err = tsp_updates(p, TSC_OP_MAC_UPDATE, h, in, in_len, NULL);
	if (err == TS_OK && expect == NULL) {
		err = tsp_step(p, TSC_OP_MAC_SIGN_FINISH, h, NULL, 0, &n);
		open = false;
		if (err == TS_OK)
			err = tsc_resp_data(p->resp, n, &v, &vlen);
		if (err == TS_OK) {
			uint8_t *m = malloc(vlen > 0 ? vlen : 1);

			if (m == NULL) {
				err = TS_E_NOMEM;
			} else {
				memcpy(m, v, vlen);
				*ret = m;
				*ret_len = vlen;
			}
		}
		OPENSSL_cleanse(p->resp, n);
	} else if (err == TS_OK) {
		err = tsp_step(p, TSC_OP_MAC_VERIFY_FINISH, h, expect, expect_len, NULL);
		open = false;
	}
	if (open && err != TS_OK)
		tsp_abort_op(p, TSC_OP_MAC_ABORT, h);
	pthread_mutex_unlock(&p->lock);
	return err;
}

enum ts_err tsp_mac(void *ctx, const struct prov_key *k, const struct psa_alg *alg,
                    const uint8_t *in, size_t in_len, uint8_t **ret, size_t *ret_len)
{
	return mac_run(ctx, k, alg, in, in_len, NULL, 0, ret, ret_len);
}

enum ts_err tsp_mac_verify(void *ctx, const struct prov_key *k, const struct psa_alg *alg,
                           const uint8_t *in, size_t in_len, const uint8_t *mac, size_t mac_len)
{
	return mac_run(ctx, k, alg, in, in_len, mac != NULL ? mac : (const uint8_t *)"", mac_len,
	               NULL, NULL);
}
