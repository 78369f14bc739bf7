/*
 * The packed-c codec: a bounded writer and reader, the messages of the
 * operations the provider uses, and the status mapping.
 */
#include "providers/trusted_services/ts-codec.h"

#include <string.h>

void tsc_w_init(struct tsc_writer *w, uint8_t *buf, size_t cap)
{
	*w = (struct tsc_writer){.buf = buf, .cap = cap};
}

static bool room(struct tsc_writer *w, size_t n)
{
	if (w->failed || w->cap - w->len < n) {
		w->failed = true;
		return false;
	}
	return true;
}

void tsc_w_u32(struct tsc_writer *w, uint32_t v)
{
	uint8_t *p;

	if (!room(w, 4))
		return;
	p = w->buf + w->len;
	/* The fixed part is a packed struct in the endpoint's byte order:
	 * little-endian on every Arm system TS runs on. */
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
	w->len += 4;
}

void tsc_w_attrs(struct tsc_writer *w, const struct tsc_attrs *a)
{
	tsc_w_u32(w, a->type);
	tsc_w_u32(w, a->bits);
	tsc_w_u32(w, a->lifetime);
	tsc_w_u32(w, a->id);
	tsc_w_u32(w, a->usage);
	tsc_w_u32(w, a->alg);
}

void tsc_w_tlv(struct tsc_writer *w, uint16_t tag, const uint8_t *v, size_t len)
{
	uint8_t *p;

	if (tag <= w->last_tag) {
		w->misordered = true;
		return;
	}
	if (len > TSC_TLV_MAX) {
		w->failed = true;
		return;
	}
	if (len > SIZE_MAX - TSC_TLV_HEADER || !room(w, tsc_tlv_space(len)))
		return;
	p = w->buf + w->len;
	p[0] = (uint8_t)(tag >> 8);
	p[1] = (uint8_t)tag;
	p[2] = (uint8_t)(len >> 8);
	p[3] = (uint8_t)len;
	if (len > 0)
		memcpy(p + TSC_TLV_HEADER, v, len);
	w->len += tsc_tlv_space(len);
	w->last_tag = tag;
}

enum ts_err tsc_w_finish(const struct tsc_writer *w, size_t *ret_len)
{
	if (w->misordered)
		return TS_E_PSA_INVALID_ARGUMENT;
	if (w->failed)
		return TS_E_PSA_INSUFFICIENT_MEMORY;
	*ret_len = w->len;
	return TS_OK;
}

bool tsc_r_u32(const uint8_t *buf, size_t len, size_t off, uint32_t *ret)
{
	const uint8_t *p;

	if (off > len || len - off < 4)
		return false;
	p = buf + off;
	*ret = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
	return true;
}

bool tsc_r_attrs(const uint8_t *buf, size_t len, size_t off, struct tsc_attrs *ret)
{
	struct tsc_attrs a;

	if (off > len || len - off < TSC_ATTRS_LEN)
		return false;
	(void)tsc_r_u32(buf, len, off, &a.type);
	(void)tsc_r_u32(buf, len, off + 4, &a.bits);
	(void)tsc_r_u32(buf, len, off + 8, &a.lifetime);
	(void)tsc_r_u32(buf, len, off + 12, &a.id);
	(void)tsc_r_u32(buf, len, off + 16, &a.usage);
	(void)tsc_r_u32(buf, len, off + 20, &a.alg);
	*ret = a;
	return true;
}

enum tsc_find tsc_find_tlv(const uint8_t *buf, size_t len, size_t off, uint16_t tag,
                           const uint8_t **ret_val, size_t *ret_len)
{
	while (off < len) {
		uint16_t t, n;

		if (len - off < TSC_TLV_HEADER)
			return TSC_MALFORMED;
		t = (uint16_t)(buf[off] << 8 | buf[off + 1]);
		n = (uint16_t)(buf[off + 2] << 8 | buf[off + 3]);
		if (len - off - TSC_TLV_HEADER < n)
			return TSC_MALFORMED;
		if (t == tag) {
			*ret_val = buf + off + TSC_TLV_HEADER;
			*ret_len = n;
			return TSC_FOUND;
		}
		if (t > tag)
			return TSC_ABSENT;
		off += TSC_TLV_HEADER + (size_t)n;
	}
	return TSC_ABSENT;
}

/* ---- messages ---- */

enum ts_err tsc_req_key_id(uint8_t *buf, size_t cap, uint32_t id, size_t *ret_len)
{
	struct tsc_writer w;

	tsc_w_init(&w, buf, cap);
	tsc_w_u32(&w, id);
	return tsc_w_finish(&w, ret_len);
}

enum ts_err tsc_req_generate(uint8_t *buf, size_t cap, const struct tsc_attrs *a, size_t *ret_len)
{
	struct tsc_writer w;

	tsc_w_init(&w, buf, cap);
	tsc_w_attrs(&w, a);
	return tsc_w_finish(&w, ret_len);
}

enum ts_err tsc_req_copy(uint8_t *buf, size_t cap, uint32_t source, const struct tsc_attrs *a,
                         size_t *ret_len)
{
	struct tsc_writer w;

	tsc_w_init(&w, buf, cap);
	tsc_w_u32(&w, source);
	tsc_w_attrs(&w, a);
	return tsc_w_finish(&w, ret_len);
}

enum ts_err tsc_req_import(uint8_t *buf, size_t cap, const struct tsc_attrs *a, const uint8_t *data,
                           size_t data_len, size_t *ret_len)
{
	struct tsc_writer w;

	tsc_w_init(&w, buf, cap);
	tsc_w_attrs(&w, a);
	tsc_w_tlv(&w, TSC_TAG_1, data, data_len);
	return tsc_w_finish(&w, ret_len);
}

enum ts_err tsc_req_sign(uint8_t *buf, size_t cap, uint32_t id, uint32_t alg, const uint8_t *in,
                         size_t in_len, size_t *ret_len)
{
	struct tsc_writer w;

	tsc_w_init(&w, buf, cap);
	tsc_w_u32(&w, id);
	tsc_w_u32(&w, alg);
	tsc_w_tlv(&w, TSC_TAG_1, in, in_len);
	return tsc_w_finish(&w, ret_len);
}

enum ts_err tsc_req_verify(uint8_t *buf, size_t cap, uint32_t id, uint32_t alg, const uint8_t *in,
                           size_t in_len, const uint8_t *sig, size_t sig_len, size_t *ret_len)
{
	struct tsc_writer w;

	tsc_w_init(&w, buf, cap);
	tsc_w_u32(&w, id);
	tsc_w_u32(&w, alg);
	tsc_w_tlv(&w, TSC_TAG_1, in, in_len);
	tsc_w_tlv(&w, TSC_TAG_2, sig, sig_len);
	return tsc_w_finish(&w, ret_len);
}

enum ts_err tsc_req_asym(uint8_t *buf, size_t cap, uint32_t id, uint32_t alg, const uint8_t *in,
                         size_t in_len, const uint8_t *salt, size_t salt_len, size_t *ret_len)
{
	struct tsc_writer w;

	tsc_w_init(&w, buf, cap);
	tsc_w_u32(&w, id);
	tsc_w_u32(&w, alg);
	tsc_w_tlv(&w, TSC_TAG_1, in, in_len);
	if (salt != NULL)
		tsc_w_tlv(&w, TSC_TAG_2, salt, salt_len);
	return tsc_w_finish(&w, ret_len);
}

enum ts_err tsc_req_random(uint8_t *buf, size_t cap, uint32_t size, size_t *ret_len)
{
	return tsc_req_key_id(buf, cap, size, ret_len); /* the same one-u32 fixed part */
}

enum ts_err tsc_req_raw_agreement(uint8_t *buf, size_t cap, uint32_t alg, uint32_t id,
                                  const uint8_t *peer, size_t peer_len, size_t *ret_len)
{
	struct tsc_writer w;

	tsc_w_init(&w, buf, cap);
	tsc_w_u32(&w, alg);
	tsc_w_u32(&w, id);
	tsc_w_tlv(&w, TSC_TAG_1, peer, peer_len);
	return tsc_w_finish(&w, ret_len);
}

enum ts_err tsc_req_setup(uint8_t *buf, size_t cap, uint32_t key_id, uint32_t alg, size_t *ret_len)
{
	struct tsc_writer w;

	tsc_w_init(&w, buf, cap);
	tsc_w_u32(&w, key_id);
	tsc_w_u32(&w, alg);
	return tsc_w_finish(&w, ret_len);
}

enum ts_err tsc_req_step(uint8_t *buf, size_t cap, uint32_t handle, const uint8_t *data,
                         size_t data_len, size_t *ret_len)
{
	struct tsc_writer w;

	tsc_w_init(&w, buf, cap);
	tsc_w_u32(&w, handle);
	if (data != NULL)
		tsc_w_tlv(&w, TSC_TAG_1, data, data_len);
	return tsc_w_finish(&w, ret_len);
}

enum ts_err tsc_req_aead_lengths(uint8_t *buf, size_t cap, uint32_t handle, uint32_t ad_len,
                                 uint32_t text_len, size_t *ret_len)
{
	struct tsc_writer w;

	tsc_w_init(&w, buf, cap);
	tsc_w_u32(&w, handle);
	tsc_w_u32(&w, ad_len);
	tsc_w_u32(&w, text_len);
	return tsc_w_finish(&w, ret_len);
}

enum ts_err tsc_req_hash_setup(uint8_t *buf, size_t cap, uint32_t alg, size_t *ret_len)
{
	return tsc_req_key_id(buf, cap, alg, ret_len); /* one u32 */
}

enum ts_err tsc_req_hash_step(uint8_t *buf, size_t cap, uint32_t handle, const uint8_t *data,
                              size_t data_len, size_t *ret_len)
{
	return tsc_req_step(buf, cap, handle, data, data_len, ret_len); /* the same layout */
}

enum ts_err tsc_req_kdf_setup(uint8_t *buf, size_t cap, uint32_t alg, size_t *ret_len)
{
	return tsc_req_key_id(buf, cap, alg, ret_len); /* one u32 */
}

enum ts_err tsc_req_kdf_handle(uint8_t *buf, size_t cap, uint32_t handle, size_t *ret_len)
{
	return tsc_req_key_id(buf, cap, handle, ret_len);
}

enum ts_err tsc_req_kdf_input_bytes(uint8_t *buf, size_t cap, uint32_t handle, uint32_t step,
                                    const uint8_t *data, size_t data_len, size_t *ret_len)
{
	struct tsc_writer w;

	tsc_w_init(&w, buf, cap);
	tsc_w_u32(&w, handle);
	tsc_w_u32(&w, step);
	tsc_w_tlv(&w, TSC_TAG_1, data, data_len);
	return tsc_w_finish(&w, ret_len);
}

enum ts_err tsc_req_kdf_input_key(uint8_t *buf, size_t cap, uint32_t handle, uint32_t step,
                                  uint32_t key_id, size_t *ret_len)
{
	struct tsc_writer w;

	tsc_w_init(&w, buf, cap);
	tsc_w_u32(&w, handle);
	tsc_w_u32(&w, step);
	tsc_w_u32(&w, key_id);
	return tsc_w_finish(&w, ret_len);
}

enum ts_err tsc_req_kdf_key_agreement(uint8_t *buf, size_t cap, uint32_t handle, uint32_t step,
                                      uint32_t key_id, const uint8_t *peer, size_t peer_len,
                                      size_t *ret_len)
{
	struct tsc_writer w;

	tsc_w_init(&w, buf, cap);
	tsc_w_u32(&w, handle);
	tsc_w_u32(&w, step);
	tsc_w_u32(&w, key_id);
	tsc_w_tlv(&w, TSC_TAG_1, peer, peer_len);
	return tsc_w_finish(&w, ret_len);
}

enum ts_err tsc_req_kdf_output_bytes(uint8_t *buf, size_t cap, uint32_t handle, uint32_t len,
                                     size_t *ret_len)
{
	struct tsc_writer w;

	tsc_w_init(&w, buf, cap);
	tsc_w_u32(&w, handle);
	tsc_w_u32(&w, len);
	return tsc_w_finish(&w, ret_len);
}

enum ts_err tsc_resp_id(const uint8_t *resp, size_t len, uint32_t *ret_id)
{
	return tsc_r_u32(resp, len, 0, ret_id) ? TS_OK : TS_E_PSA_COMMUNICATION_FAILURE;
}

enum ts_err tsc_resp_attrs(const uint8_t *resp, size_t len, struct tsc_attrs *ret)
{
	return tsc_r_attrs(resp, len, 0, ret) ? TS_OK : TS_E_PSA_COMMUNICATION_FAILURE;
}

enum ts_err tsc_resp_data(const uint8_t *resp, size_t len, const uint8_t **ret_val, size_t *ret_len)
{
	/* An output the service always writes: missing means a broken answer. */
	return tsc_find_tlv(resp, len, 0, TSC_TAG_1, ret_val, ret_len) == TSC_FOUND
	               ? TS_OK
	               : TS_E_PSA_COMMUNICATION_FAILURE;
}

enum ts_err tsc_resp_optional(const uint8_t *resp, size_t len, uint16_t tag,
                              const uint8_t **ret_val, size_t *ret_len)
{
	switch (tsc_find_tlv(resp, len, 0, tag, ret_val, ret_len)) {
	case TSC_FOUND:
		return TS_OK;
	case TSC_ABSENT:
		*ret_val = resp;
		*ret_len = 0;
		return TS_OK;
	default:
		return TS_E_PSA_COMMUNICATION_FAILURE;
	}
}

/* ---- status ---- */

static const struct {
	int32_t psa;
	enum ts_err err;
} psa_map[] = {
        {TSC_PSA_SUCCESS, TS_OK},
        /* A bug on one side or the other: nothing a client can fix. */
        {TSC_PSA_ERROR_PROGRAMMER, TS_E_PSA_GENERIC_ERROR},
        {TSC_PSA_ERROR_CONN_REFUSED, TS_E_PSA_COMMUNICATION_FAILURE},
        {TSC_PSA_ERROR_CONN_BUSY, TS_E_PSA_COMMUNICATION_FAILURE},
        {TSC_PSA_ERROR_GENERIC, TS_E_PSA_GENERIC_ERROR},
        {TSC_PSA_ERROR_NOT_PERMITTED, TS_E_PSA_NOT_PERMITTED},
        {TSC_PSA_ERROR_NOT_SUPPORTED, TS_E_PSA_NOT_SUPPORTED},
        {TSC_PSA_ERROR_INVALID_ARG, TS_E_PSA_INVALID_ARGUMENT},
        /* The service answers INVALID_HANDLE for a key ID it does not
         * hold (one the partition lost, or one destroyed behind the
         * daemon's back): to our client that key does not exist. */
        {TSC_PSA_ERROR_INVALID_HANDLE, TS_E_PSA_DOES_NOT_EXIST},
        {TSC_PSA_ERROR_BAD_STATE, TS_E_PSA_BAD_STATE},
        {TSC_PSA_ERROR_BUFFER_SMALL, TS_E_PSA_BUFFER_TOO_SMALL},
        {TSC_PSA_ERROR_ALREADY_EXISTS, TS_E_PSA_ALREADY_EXISTS},
        {TSC_PSA_ERROR_DOES_NOT_EXIST, TS_E_PSA_DOES_NOT_EXIST},
        {TSC_PSA_ERROR_INSUFF_MEMORY, TS_E_PSA_INSUFFICIENT_MEMORY},
        {TSC_PSA_ERROR_INSUFF_STORAGE, TS_E_PSA_INSUFFICIENT_STORAGE},
        {TSC_PSA_ERROR_INSUFF_DATA, TS_E_PSA_INSUFFICIENT_DATA},
        /* The wire has no SERVICE_FAILURE status of its own. */
        {TSC_PSA_ERROR_SERVICE_FAILURE, TS_E_PSA_COMMUNICATION_FAILURE},
        {TSC_PSA_ERROR_COMMUNICATION, TS_E_PSA_COMMUNICATION_FAILURE},
        {TSC_PSA_ERROR_STORAGE, TS_E_PSA_STORAGE_FAILURE},
        {TSC_PSA_ERROR_HARDWARE, TS_E_PSA_HARDWARE_FAILURE},
        {TSC_PSA_ERROR_INSUFF_ENTROPY, TS_E_PSA_INSUFFICIENT_ENTROPY},
        {TSC_PSA_ERROR_INVALID_SIG, TS_E_PSA_INVALID_SIGNATURE},
        {TSC_PSA_ERROR_INVALID_PADDING, TS_E_PSA_INVALID_PADDING},
        {TSC_PSA_ERROR_CORRUPTION, TS_E_PSA_CORRUPTION_DETECTED},
        {TSC_PSA_ERROR_DATA_CORRUPT, TS_E_PSA_DATA_CORRUPT},
        {TSC_PSA_ERROR_DATA_INVALID, TS_E_PSA_DATA_INVALID},
};

enum ts_err tsc_status_to_err(int32_t rpc_status, int64_t service_status)
{
	switch (rpc_status) {
	case TSC_RPC_SUCCESS:
		break;
	case TSC_RPC_INVALID_VALUE:
		/* An opcode or interface the endpoint does not serve. */
		return TS_E_PSA_NOT_SUPPORTED;
	case TSC_RPC_INVALID_REQUEST_BODY:
		/* A body the service refused: short, or a value longer than
		 * its buffer for it (SIGN_MESSAGE over 64 bytes). */
		return TS_E_PSA_INVALID_ARGUMENT;
	case TSC_RPC_RESOURCE_FAILURE:
		return TS_E_PSA_INSUFFICIENT_MEMORY;
	case TSC_RPC_INTERNAL:        /* also every SP-side RPC error on real Linux */
	case TSC_RPC_NOT_FOUND:       /* service or shared memory gone */
	case TSC_RPC_INVALID_STATE:   /* session misuse */
	case TSC_RPC_TRANSPORT_LAYER: /* FF-A */
	case TSC_RPC_INVALID_RESPONSE_BODY:
	default:
		return TS_E_PSA_COMMUNICATION_FAILURE;
	}
	for (size_t i = 0; i < sizeof(psa_map) / sizeof(psa_map[0]); i++)
		if ((int64_t)psa_map[i].psa == service_status)
			return psa_map[i].err;
	return TS_E_PSA_GENERIC_ERROR; /* a status PSA does not define */
}

int32_t tsc_err_to_psa(enum ts_err err)
{
	if (err == TS_E_NOMEM || err == TS_E_LIMIT)
		return TSC_PSA_ERROR_INSUFF_MEMORY;
	/* psa_map backwards, skipping the statuses it folds into another's error. */
	for (size_t i = 0; i < sizeof(psa_map) / sizeof(psa_map[0]); i++)
		if (psa_map[i].err == err && psa_map[i].psa != TSC_PSA_ERROR_INVALID_HANDLE &&
		    psa_map[i].psa != TSC_PSA_ERROR_PROGRAMMER &&
		    psa_map[i].psa != TSC_PSA_ERROR_CONN_REFUSED &&
		    psa_map[i].psa != TSC_PSA_ERROR_CONN_BUSY &&
		    psa_map[i].psa != TSC_PSA_ERROR_SERVICE_FAILURE)
			return psa_map[i].psa;
	return TSC_PSA_ERROR_GENERIC;
}
