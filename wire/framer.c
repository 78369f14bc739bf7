#include "wire/framer.h"

#include <stdlib.h>
#include <string.h>

#include "common/secmem.h"

/* Bytes the payload buffer starts with; it doubles as bytes arrive, so
 * memory follows what a client really sent, not what it declared. */
#define PAYLOAD_CHUNK 4096

void wire_framer_init(struct wire_framer *f, uint32_t body_limit)
{
	memset(f, 0, sizeof(*f));
	f->state = WF_PREFIX;
	f->body_limit = body_limit;
}

bool wire_framer_started(const struct wire_framer *f)
{
	return f->state != WF_PREFIX || f->have > 0;
}

void wire_framer_release(struct wire_framer *f)
{
	ts_free_secret(f->payload, f->payload_cap);
	f->payload = NULL;
	f->payload_cap = f->payload_len = 0;
}

enum ts_err wire_framer_buffer(struct wire_framer *f, uint8_t *scratch, size_t scratch_len,
                               uint8_t **ret_buf, size_t *ret_len)
{
	switch (f->state) {
	case WF_PREFIX:
		*ret_buf = f->hdr + f->have;
		*ret_len = WIRE_PREFIX_LEN - f->have;
		return TS_OK;
	case WF_HEADER:
		*ret_buf = f->hdr + f->have;
		*ret_len = WIRE_HEADER_LEN - f->have;
		return TS_OK;
	case WF_DISCARD:
		*ret_buf = scratch;
		*ret_len = f->discard_left < scratch_len ? f->discard_left : scratch_len;
		return TS_OK;
	case WF_PAYLOAD:
		if (f->have == f->payload_cap) {
			size_t cap = f->payload_cap ? f->payload_cap * 2 : PAYLOAD_CHUNK;
			uint8_t *grown;

			if (cap > f->payload_len)
				cap = f->payload_len;
			grown = malloc(cap);
			if (grown == NULL)
				return TS_E_NOMEM;
			if (f->payload != NULL)
				memcpy(grown, f->payload, f->have);
			ts_free_secret(f->payload, f->payload_cap);
			f->payload = grown;
			f->payload_cap = cap;
		}
		*ret_buf = f->payload + f->have;
		*ret_len = f->payload_cap - f->have;
		return TS_OK;
	default:
		*ret_buf = NULL;
		*ret_len = 0;
		return TS_E_IO; /* nothing more is read for this request */
	}
}

static enum wire_frame_state fail(struct wire_framer *f, enum ts_err err)
{
	f->err = err;
	f->state = WF_FAILED;
	return f->state;
}

static enum wire_frame_state header_done(struct wire_framer *f)
{
	enum ts_err err;

	wire_header_decode(f->hdr, &f->h);
	err = wire_check_header(&f->h, f->body_limit);
	if (err != TS_OK)
		return fail(f, err);
	f->payload_len = (size_t)f->h.body_len + f->h.auth_len;
	f->have = 0;
	f->state = f->payload_len == 0 ? WF_DONE : WF_PAYLOAD;
	return f->state;
}

enum wire_frame_state wire_framer_got(struct wire_framer *f, size_t n)
{
	uint32_t magic;
	uint16_t hdr_size;

	switch (f->state) {
	case WF_PREFIX:
		f->have += n;
		if (f->have >= 4) {
			wire_prefix_decode(f->hdr, &magic, &hdr_size);
			if (wire_check_magic(magic) != TS_OK)
				return fail(f, TS_E_INVALID_HEADER);
		}
		if (f->have < WIRE_PREFIX_LEN)
			return f->state;
		wire_prefix_decode(f->hdr, &magic, &hdr_size);
		if (hdr_size == WIRE_HEADER_SIZE_VALUE) {
			f->state = WF_HEADER;
			return f->state;
		}
		/* Parsec reads the declared header size before it rejects it. */
		if (hdr_size == 0)
			return fail(f, TS_E_INVALID_HEADER);
		f->discard_left = hdr_size;
		f->state = WF_DISCARD;
		return f->state;
	case WF_HEADER:
		f->have += n;
		return f->have == WIRE_HEADER_LEN ? header_done(f) : f->state;
	case WF_DISCARD:
		f->discard_left -= (uint32_t)n;
		return f->discard_left == 0 ? fail(f, TS_E_INVALID_HEADER) : f->state;
	case WF_PAYLOAD:
		f->have += n;
		if (f->have == f->payload_len)
			f->state = WF_DONE;
		return f->state;
	default:
		return f->state;
	}
}
