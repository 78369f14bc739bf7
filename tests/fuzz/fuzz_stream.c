/*
 * libFuzzer target: the byte stream of a connection through the framer that
 * tesserad's event loops read with (wire/framer.c).
 *
 * Input: one byte that seeds the chunking, then the bytes a client sends.
 * The stream is read twice, once in the largest pieces the framer asks for
 * and once in pseudo-random smaller ones, as a socket may deliver it; both
 * must see the same requests (header, body and auth bytes) and end the same
 * way. A whole request must be exactly as
 * long as its header says and within the body limit; a failure must say why.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire/framer.h"

#define BODY_LIMIT   2048
#define MAX_OUTCOMES 64

struct outcome {
	uint8_t hdr[WIRE_HEADER_LEN]; /* the header as decoded, encoded again */
	uint32_t sum;                 /* of the payload */
};

struct run {
	struct outcome seen[MAX_OUTCOMES];
	size_t n_seen;
	size_t used;
	enum wire_frame_state last;
	enum ts_err err;
};

static uint32_t checksum(const uint8_t *p, size_t len)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

static void read_stream(const uint8_t *in, size_t len, uint32_t seed, struct run *r)
{
	struct wire_framer f;
	uint8_t scratch[32];

	memset(r, 0, sizeof(*r));
	wire_framer_init(&f, BODY_LIMIT);
	r->last = f.state;
	while (r->used < len) {
		uint8_t *buf;
		size_t want, n;

		if (wire_framer_buffer(&f, scratch, sizeof(scratch), &buf, &want) != TS_OK)
			abort(); /* bounded by BODY_LIMIT: never out of memory here */
		if (want == 0)
			abort();
		n = want;
		if (seed != 0) {
			seed ^= seed << 13;
			seed ^= seed >> 17;
			seed ^= seed << 5;
			n = 1 + seed % want;
		}
		if (n > len - r->used)
			n = len - r->used;
		memcpy(buf, in + r->used, n);
		r->used += n;
		r->last = wire_framer_got(&f, n);
		if (r->last == WF_DONE) {
			if (f.payload_len != (size_t)f.h.body_len + f.h.auth_len ||
			    f.h.body_len > BODY_LIMIT || (f.payload_len > 0 && f.payload == NULL))
				abort();
			(void)wire_check_fields(&f.h);
			if (r->n_seen < MAX_OUTCOMES) {
				wire_header_encode(&f.h, r->seen[r->n_seen].hdr);
				r->seen[r->n_seen].sum = checksum(f.payload, f.payload_len);
			}
			r->n_seen++;
			wire_framer_release(&f);
			wire_framer_init(&f, BODY_LIMIT);
		} else if (r->last == WF_FAILED) {
			if (f.err == TS_OK)
				abort();
			r->err = f.err;
			break;
		}
	}
	wire_framer_release(&f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct run whole, pieces;

	if (size < 1)
		return 0;
	read_stream(data + 1, size - 1, 0, &whole);
	read_stream(data + 1, size - 1, (uint32_t)data[0] * 2654435761u | 1u, &pieces);
	/* A failure may come a few bytes earlier in small pieces (a bad magic
	 * is seen at its fourth byte, inside the 6-byte prefix). */
	if (whole.last != pieces.last || whole.err != pieces.err || whole.n_seen != pieces.n_seen ||
	    (whole.last != WF_FAILED && whole.used != pieces.used))
		abort();
	for (size_t i = 0; i < whole.n_seen && i < MAX_OUTCOMES; i++)
		if (memcmp(whole.seen[i].hdr, pieces.seen[i].hdr, WIRE_HEADER_LEN) != 0 ||
		    whole.seen[i].sum != pieces.seen[i].sum)
			abort();
	return 0;
}
