/*
 * Raw-header behaviour, case by case as Parsec's e2e basic.rs and the parse
 * order of parsec-facts 1.4: each malformed request gets Parsec's status.
 */
#include <criterion/criterion.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

static struct td d;

static void setup(void)
{
	td_start(&d, TD_CONFIG_DEFAULT);
}

static void teardown(void)
{
	cr_assert_eq(td_stop(&d), 0, "tesserad must exit 0 on SIGTERM");
}

TestSuite(basic, .init = setup, .fini = teardown, .timeout = 60);

/* Build a NoAuth Ping header, let the caller mangle it, send it with the
 * given trailing bytes, and return the response status. */
static int send_mangled(void (*mangle)(uint8_t *hdr), const void *tail, size_t tail_len,
                        struct td_resp *r)
{
	struct wire_header h;
	uint8_t buf[WIRE_HEADER_LEN + 64];

	wire_header_request(&h, WIRE_OP_PING, 0, 0, 0, 0);
	wire_header_encode(&h, buf);
	if (mangle != NULL)
		mangle(buf);
	if (tail_len > 0)
		memcpy(buf + WIRE_HEADER_LEN, tail, tail_len);
	return td_raw(&d, buf, WIRE_HEADER_LEN + tail_len, r);
}

static void assert_default_header(const struct td_resp *r)
{
	cr_assert_eq(r->h.provider, 0);
	cr_assert_eq(r->h.session, 0);
	cr_assert_eq(r->h.opcode, WIRE_OP_PING);
	cr_assert_eq(r->h.body_len, 0);
	cr_assert_eq(r->h.version_maj, 1);
	cr_assert_eq(r->h.version_min, 0);
}

static void set_provider_ff(uint8_t *b)
{
	b[10] = 0xFF;
}
static void set_provider_pkcs11(uint8_t *b)
{
	b[10] = 2;
}
static void set_content_ff(uint8_t *b)
{
	b[19] = 0xFF;
}
static void set_accept_ff(uint8_t *b)
{
	b[20] = 0xFF;
}
static void set_auth_ff(uint8_t *b)
{
	b[21] = 0xFF;
}
static void set_auth_jwt(uint8_t *b)
{
	b[21] = 2;
}
static void set_opcode_ffff(uint8_t *b)
{
	b[28] = 0xFF;
	b[29] = 0xFF;
}
static void set_opcode_zero(uint8_t *b)
{
	b[28] = 0;
}
static void set_flags(uint8_t *b)
{
	b[8] = 56;
}
static void set_status(uint8_t *b)
{
	b[32] = 0xFF;
	b[33] = 0xFF;
}
static void set_reserved1(uint8_t *b)
{
	b[34] = 1;
}
static void set_reserved2(uint8_t *b)
{
	b[35] = 1;
}
static void set_magic(uint8_t *b)
{
	b[0] ^= 0x01;
}
static void set_version2(uint8_t *b)
{
	b[6] = 2;
}
static void set_minor1(uint8_t *b)
{
	b[7] = 1;
}
static void set_body_ffff(uint8_t *b)
{
	b[22] = 0xFF;
	b[23] = 0xFF;
}
static void set_auth_len_ffff(uint8_t *b)
{
	b[26] = 0xFF;
	b[27] = 0xFF;
}
static void set_body_huge(uint8_t *b)
{
	b[24] = 0x20;
} /* 2 MiB > 1 MiB limit */
static void set_session(uint8_t *b)
{
	b[11] = 0x2A;
	b[18] = 0x99;
}

#define STATUS_CASE(name, fn, expect, dflt)                          \
	Test(basic, name)                                            \
	{                                                            \
		struct td_resp r;                                    \
		cr_assert_eq(send_mangled(fn, NULL, 0, &r), expect); \
		if (dflt)                                            \
			assert_default_header(&r);                   \
		td_resp_free(&r);                                    \
	}

STATUS_CASE(provider_does_not_exist, set_provider_ff, 6, 1)
STATUS_CASE(provider_not_registered, set_provider_pkcs11, 5, 0)
STATUS_CASE(content_type_not_supported, set_content_ff, 2, 1)
STATUS_CASE(accept_type_not_supported, set_accept_ff, 3, 1)
STATUS_CASE(auth_type_does_not_exist, set_auth_ff, 12, 1)
STATUS_CASE(auth_type_jwt_not_registered, set_auth_jwt, 13, 0)
STATUS_CASE(opcode_does_not_exist, set_opcode_ffff, 9, 1)
STATUS_CASE(opcode_zero_does_not_exist, set_opcode_zero, 9, 1)
STATUS_CASE(flags_are_ignored, set_flags, 0, 0)
STATUS_CASE(request_status_is_ignored, set_status, 0, 0)
STATUS_CASE(reserved1_is_invalid_header, set_reserved1, 17, 1)
STATUS_CASE(reserved2_is_invalid_header, set_reserved2, 17, 1)
STATUS_CASE(bad_magic_is_invalid_header, set_magic, 17, 1)
STATUS_CASE(version_2_not_supported, set_version2, 4, 1)
STATUS_CASE(version_1_1_not_supported, set_minor1, 4, 1)
STATUS_CASE(body_len_over_limit, set_body_huge, 20, 1)

/* body_len or auth_len 0xFFFF with nothing after: the request never
 * completes, so the deadline (1 s here) answers ConnectionError. */
STATUS_CASE(body_len_without_body_is_connection_error, set_body_ffff, 15, 1)
STATUS_CASE(auth_len_without_auth_is_connection_error, set_auth_len_ffff, 15, 1)

Test(basic, ping_answers_version_1_0)
{
	struct td_resp r;

	cr_assert_eq(send_mangled(NULL, NULL, 0, &r), 0);
	cr_assert_eq(r.body_len, 2);
	cr_assert_eq(r.body[0], 0x08);
	cr_assert_eq(r.body[1], 0x01);
	td_resp_free(&r);
}

Test(basic, session_is_copied_back)
{
	struct td_resp r;

	cr_assert_eq(send_mangled(set_session, NULL, 0, &r), 0);
	cr_assert_eq(r.h.session, 0x990000000000002AULL);
	td_resp_free(&r);
}

Test(basic, magic_checked_after_four_bytes)
{
	/* Four wrong bytes and nothing else: answered at once, not at the deadline. */
	static const uint8_t bad[4] = {0xDE, 0xAD, 0xBE, 0xEF};
	struct td_resp r;
	int fd = td_connect(&d);

	cr_assert_eq(td_send_all(fd, bad, 4), 0);
	cr_assert_eq(td_read_response(fd, &r, 500), 0, "must answer before the 1 s deadline");
	cr_assert_eq(r.h.status, 17);
	cr_assert(td_wait_closed(fd, 2000), "the stream is out of step: closed");
	td_resp_free(&r);
	close(fd);
}

Test(basic, wrong_header_size_is_read_then_rejected)
{
	/* Header size 40: Parsec reads the 40 declared bytes, then says 17. */
	uint8_t buf[6 + 40];
	struct wire_header h;
	uint8_t full[WIRE_HEADER_LEN];
	struct td_resp r;

	wire_header_request(&h, WIRE_OP_PING, 0, 0, 0, 0);
	wire_header_encode(&h, full);
	memset(buf, 0, sizeof(buf));
	memcpy(buf, full, 6);
	buf[4] = 40;
	cr_assert_eq(td_raw(&d, buf, sizeof(buf), &r), 17);
	assert_default_header(&r);
	td_resp_free(&r);
}

Test(basic, mangled_body_fails_to_deserialize)
{
	/* A length-delimited field that claims more bytes than there are. */
	static const uint8_t body[] = {0x0A, 0x10, 'x'};
	struct td_resp r;

	cr_assert_eq(td_call(&d, WIRE_OP_PING, 0, 0, body, sizeof(body), NULL, 0, &r), 7);
	cr_assert_eq(r.h.opcode, WIRE_OP_PING);
	td_resp_free(&r);
	cr_assert_eq(td_call(&d, WIRE_OP_LIST_PROVIDERS, 0, 0, body, sizeof(body), NULL, 0, NULL),
	             7);
}

Test(basic, direct_auth_rejects_empty_and_bad_utf8)
{
	static const uint8_t bad[] = {0xFF, 0xFE};

	cr_assert_eq(td_call(&d, WIRE_OP_LIST_KEYS, 0, 1, NULL, 0, "", 0, NULL), 11);
	cr_assert_eq(td_call(&d, WIRE_OP_LIST_KEYS, 0, 1, NULL, 0, bad, 2, NULL), 11);
	cr_assert_eq(td_call(&d, WIRE_OP_LIST_KEYS, 0, 1, NULL, 0, "alice", 5, NULL), 0);
}

Test(basic, unix_peer_must_match_peer_uid)
{
	uint32_t uid = (uint32_t)geteuid();
	uint8_t good[4] = {(uint8_t)uid, (uint8_t)(uid >> 8), (uint8_t)(uid >> 16),
	                   (uint8_t)(uid >> 24)};
	uint8_t other[4] = {(uint8_t)(uid + 1), (uint8_t)((uid + 1) >> 8),
	                    (uint8_t)((uid + 1) >> 16), (uint8_t)((uid + 1) >> 24)};

	cr_assert_eq(td_call(&d, WIRE_OP_LIST_KEYS, 0, 3, NULL, 0, good, 4, NULL), 0);
	cr_assert_eq(td_call(&d, WIRE_OP_LIST_KEYS, 0, 3, NULL, 0, other, 4, NULL), 11);
	cr_assert_eq(td_call(&d, WIRE_OP_LIST_KEYS, 0, 3, NULL, 0, good, 3, NULL), 11);
}

Test(basic, identity_and_admin_rules)
{
	static const uint8_t client[] = {0x0A, 0x03, 'b', 'o', 'b'};

	/* ListKeys needs an identity even though it is a core operation. */
	cr_assert_eq(td_call(&d, WIRE_OP_LIST_KEYS, 0, 0, NULL, 0, NULL, 0, NULL), 19);
	/* Admin operations: no identity 19, not an admin 21, admin 0. */
	cr_assert_eq(td_call(&d, WIRE_OP_LIST_CLIENTS, 0, 0, NULL, 0, NULL, 0, NULL), 19);
	cr_assert_eq(td_call(&d, WIRE_OP_LIST_CLIENTS, 0, 1, NULL, 0, "eve", 3, NULL), 21);
	cr_assert_eq(td_call(&d, WIRE_OP_LIST_CLIENTS, 0, 1, NULL, 0, "admin_priv", 10, NULL), 0);
	cr_assert_eq(
	        td_call(&d, WIRE_OP_DELETE_CLIENT, 0, 1, client, sizeof(client), "eve", 3, NULL),
	        21);
	cr_assert_eq(td_call(&d, WIRE_OP_DELETE_CLIENT, 0, 1, client, sizeof(client), "admin_priv",
	                     10, NULL),
	             0);
	/* The admin check comes before the body is decoded. */
	cr_assert_eq(td_call(&d, WIRE_OP_DELETE_CLIENT, 0, 1, "\xFF", 1, "eve", 3, NULL), 21);
	cr_assert_eq(td_call(&d, WIRE_OP_DELETE_CLIENT, 0, 1, "\xFF", 1, "admin_priv", 10, NULL),
	             7);
}

Test(basic, core_and_crypto_opcodes_go_to_their_own_providers)
{
	static const uint8_t rand_body[] = {0x08, 0x10}; /* size = 16 */
	struct td_resp r;

	/* A core opcode sent to a crypto provider, and the reverse. */
	cr_assert_eq(td_call(&d, WIRE_OP_LIST_PROVIDERS, 1, 0, NULL, 0, NULL, 0, NULL), 1134);
	cr_assert_eq(td_call(&d, WIRE_OP_PSA_GENERATE_RANDOM, 0, 0, rand_body, 2, NULL, 0, NULL),
	             1134);
	/* The software provider serves random generation without an identity. */
	cr_assert_eq(td_call(&d, WIRE_OP_PSA_GENERATE_RANDOM, 1, 0, rand_body, 2, NULL, 0, &r), 0);
	cr_assert_eq(r.h.provider, 1);
	cr_assert_eq(r.body_len, 18);
	cr_assert_eq(r.body[0], 0x0A);
	cr_assert_eq(r.body[1], 16);
	td_resp_free(&r);
	/* An operation the software provider never serves (TPM attestation). */
	cr_assert_eq(td_call(&d, WIRE_OP_ATTEST_KEY, 1, 1, NULL, 0, "alice", 5, NULL), 1134);
}

/* Read everything until the peer closes (or timeout_ms passes); the number
 * of bytes, and *ret_closed whether the close came. */
static size_t read_to_eof(int fd, uint8_t *buf, size_t size, int timeout_ms, bool *ret_closed)
{
	size_t got = 0;

	*ret_closed = false;
	while (got < size) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		ssize_t n;

		if (poll(&pfd, 1, timeout_ms) <= 0)
			break;
		n = recv(fd, buf + got, size - got, 0);
		if (n == 0) {
			*ret_closed = true;
			break;
		}
		if (n < 0)
			break;
		got += (size_t)n;
	}
	return got;
}

/* A Parsec client (any of Parsec's client libraries in other languages) reads
 * a response until the connection closes; Parsec closes after every response.
 * With the default 60 s idle timeout, the close must follow the response at
 * once, not a minute later. */
Test(basic, a_client_reading_to_eof_gets_the_close_right_after_the_response)
{
	uint8_t req[WIRE_HEADER_LEN], resp[256];
	struct wire_header h;
	bool closed;
	size_t n;

	for (int round = 0; round < 3; round++) {
		int fd = td_connect(&d);

		wire_header_request(&h, WIRE_OP_PING, 0, 0, 0, 0);
		wire_header_encode(&h, req);
		cr_assert_eq(td_send_all(fd, req, sizeof(req)), 0);
		n = read_to_eof(fd, resp, sizeof(resp), td_scale(3000), &closed);
		close(fd);
		cr_assert(closed, "round %d: no close within 3 s after %zu bytes", round, n);
		cr_assert_eq(n, WIRE_HEADER_LEN + 2, "round %d: the 38-byte Ping response", round);
		wire_header_decode(resp, &h);
		cr_assert_eq(h.status, 0);
		cr_assert_eq(h.flags, 0, "a Parsec client sees flags 0, as Parsec sends");
	}
}

/* The opt-in: a request with WIRE_FLAG_KEEP_OPEN gets a response that says
 * the connection stays open, and the next request is read on it; a request
 * without it on the same connection is answered and then closed. */
Test(basic, keep_open_flag_keeps_the_connection_for_the_next_request)
{
	uint8_t req[WIRE_HEADER_LEN], resp[256];
	struct wire_header h;
	struct td_resp r;
	bool closed;
	size_t n;
	int fd = td_connect(&d);

	for (int i = 0; i < 3; i++) {
		cr_assert_eq(td_exchange(fd, WIRE_OP_PING, 0, 0, NULL, 0, NULL, 0, &r), 0);
		cr_assert_eq(r.h.status, 0);
		cr_assert_eq(r.h.flags, WIRE_FLAG_KEEP_OPEN, "request %d: flags %#x", i, r.h.flags);
		td_resp_free(&r);
	}
	/* The last request of the connection does not ask. */
	wire_header_request(&h, WIRE_OP_PING, 0, 0, 0, 0);
	wire_header_encode(&h, req);
	cr_assert_eq(td_send_all(fd, req, sizeof(req)), 0);
	n = read_to_eof(fd, resp, sizeof(resp), td_scale(3000), &closed);
	close(fd);
	cr_assert(closed);
	cr_assert_eq(n, WIRE_HEADER_LEN + 2);
	wire_header_decode(resp, &h);
	cr_assert_eq(h.flags, 0);
}

/* Parsec clients connect to /run/parsec/parsec.sock; the shipped tmpfiles
 * configuration makes that a symbolic link to tesserad's socket, and a
 * connection through such a link reaches the daemon. */
Test(basic, a_symlink_to_the_socket_serves_parsec_clients)
{
	struct td via = d;

	snprintf(via.sock, sizeof(via.sock), "%s/parsec.sock", d.dir);
	cr_assert_eq(symlink(d.sock, via.sock), 0);
	cr_assert_eq(td_call(&via, WIRE_OP_PING, 0, 0, NULL, 0, NULL, 0, NULL), 0);
	unlink(via.sock);
}
