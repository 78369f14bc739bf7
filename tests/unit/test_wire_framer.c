/* The framer: requests read off a byte stream in any chunking, and Parsec's
 * order of framing errors. */
#include <criterion/criterion.h>
#include <string.h>

#include "wire/framer.h"

static uint8_t scratch[16];

/* A request: header for opcode with body_len bytes of body and auth_len of
 * auth, both filled with a pattern. Returns its length. */
static size_t make_request(uint8_t *out, uint32_t opcode, uint32_t body_len, uint16_t auth_len)
{
	struct wire_header h;

	wire_header_request(&h, opcode, 1, 1, body_len, auth_len);
	wire_header_encode(&h, out);
	for (size_t i = 0; i < (size_t)body_len + auth_len; i++)
		out[WIRE_HEADER_LEN + i] = (uint8_t)(i * 7 + 3);
	return WIRE_HEADER_LEN + body_len + auth_len;
}

/* Feed len bytes in chunks of at most `chunk`; returns the state after the
 * last byte the framer took, and in *ret_used how many it took. */
static enum wire_frame_state feed(struct wire_framer *f, const uint8_t *in, size_t len,
                                  size_t chunk, size_t *ret_used)
{
	enum wire_frame_state st = f->state;
	size_t used = 0;

	while (used < len &&
	       (st == WF_PREFIX || st == WF_HEADER || st == WF_DISCARD || st == WF_PAYLOAD)) {
		uint8_t *buf;
		size_t want, n;

		cr_assert_eq(wire_framer_buffer(f, scratch, sizeof(scratch), &buf, &want), TS_OK);
		cr_assert_gt(want, 0);
		n = want < chunk ? want : chunk;
		if (n > len - used)
			n = len - used;
		memcpy(buf, in + used, n);
		used += n;
		st = wire_framer_got(f, n);
	}
	*ret_used = used;
	return st;
}

Test(framer, a_request_reads_the_same_in_any_chunking)
{
	uint8_t req[WIRE_HEADER_LEN + 5000 + 40];
	size_t len = make_request(req, WIRE_OP_PSA_SIGN_HASH, 5000, 40);
	static const size_t chunks[] = {1, 2, 5, 6, 7, 35, 36, 37, 4096, 100000};

	for (size_t i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
		struct wire_framer f;
		size_t used;

		wire_framer_init(&f, 1 << 20);
		cr_assert_not(wire_framer_started(&f));
		cr_assert_eq(feed(&f, req, len, chunks[i], &used), WF_DONE, "chunk %zu", chunks[i]);
		cr_assert(wire_framer_started(&f));
		cr_assert_eq(used, len);
		cr_assert_eq(f.h.opcode, WIRE_OP_PSA_SIGN_HASH);
		cr_assert_eq(f.h.body_len, 5000);
		cr_assert_eq(f.h.auth_len, 40);
		cr_assert_eq(f.payload_len, 5040);
		cr_assert_arr_eq(f.payload, req + WIRE_HEADER_LEN, 5040, "chunk %zu", chunks[i]);
		wire_framer_release(&f);
		cr_assert_null(f.payload);
	}
}

Test(framer, takes_no_byte_of_the_next_pipelined_request)
{
	uint8_t two[2 * (WIRE_HEADER_LEN + 3)];
	size_t a = make_request(two, WIRE_OP_PING, 3, 0), used;
	struct wire_framer f;

	make_request(two + a, WIRE_OP_LIST_OPCODES, 3, 0);
	wire_framer_init(&f, 4096);
	cr_assert_eq(feed(&f, two, sizeof(two), 1000, &used), WF_DONE);
	cr_assert_eq(used, a);
	cr_assert_eq(f.h.opcode, WIRE_OP_PING);
	wire_framer_release(&f);
	wire_framer_init(&f, 4096);
	cr_assert_eq(feed(&f, two + a, sizeof(two) - a, 1000, &used), WF_DONE);
	cr_assert_eq(f.h.opcode, WIRE_OP_LIST_OPCODES);
	wire_framer_release(&f);
}

Test(framer, a_bad_magic_fails_after_its_four_bytes)
{
	uint8_t req[WIRE_HEADER_LEN];
	struct wire_framer f;
	size_t used;

	make_request(req, WIRE_OP_PING, 0, 0);
	req[0] ^= 0xFF;
	wire_framer_init(&f, 4096);
	cr_assert_eq(feed(&f, req, sizeof(req), 1, &used), WF_FAILED);
	cr_assert_eq(used, 4);
	cr_assert_eq(f.err, TS_E_INVALID_HEADER);
}

Test(framer, a_wrong_header_size_is_read_then_refused)
{
	uint8_t req[64] = {0};
	struct wire_framer f;
	size_t used;

	make_request(req, WIRE_OP_PING, 0, 0);
	/* 0: at once */
	req[4] = 0;
	req[5] = 0;
	wire_framer_init(&f, 4096);
	cr_assert_eq(feed(&f, req, sizeof(req), 64, &used), WF_FAILED);
	cr_assert_eq(used, WIRE_PREFIX_LEN);
	cr_assert_eq(f.err, TS_E_INVALID_HEADER);
	/* 40: forty more bytes are read (through the scratch buffer), then refused */
	req[4] = 40;
	wire_framer_init(&f, 4096);
	cr_assert_eq(feed(&f, req, sizeof(req), 64, &used), WF_FAILED);
	cr_assert_eq(used, WIRE_PREFIX_LEN + 40);
	cr_assert_eq(f.err, TS_E_INVALID_HEADER);
}

Test(framer, a_body_over_the_limit_fails_at_the_header_and_allocates_nothing)
{
	uint8_t req[WIRE_HEADER_LEN + 10];
	struct wire_framer f;
	size_t used;

	make_request(req, WIRE_OP_PSA_SIGN_HASH, 10, 0);
	wire_framer_init(&f, 9);
	cr_assert_eq(feed(&f, req, sizeof(req), 1, &used), WF_FAILED);
	cr_assert_eq(used, WIRE_HEADER_LEN);
	cr_assert_eq(f.err, TS_E_BODY_SIZE_EXCEEDS_LIMIT);
	cr_assert_null(f.payload);
}

Test(framer, memory_follows_the_bytes_sent_not_the_length_declared)
{
	uint8_t req[WIRE_HEADER_LEN + 10];
	struct wire_header h;
	struct wire_framer f;
	size_t used;

	wire_header_request(&h, WIRE_OP_PSA_SIGN_HASH, 1, 1, 1 << 20, 0);
	wire_header_encode(&h, req);
	memset(req + WIRE_HEADER_LEN, 0x55, 10);
	wire_framer_init(&f, 1 << 21);
	cr_assert_eq(feed(&f, req, sizeof(req), 1000, &used), WF_PAYLOAD);
	cr_assert_eq(used, sizeof(req));
	cr_assert_leq(f.payload_cap, 4096, "%zu bytes held for 10 sent", f.payload_cap);
	wire_framer_release(&f);
}
