/*
 * front/ on its own: a child process serves a trivial program (it answers
 * every request with an empty success, and ListKeys a moment later through
 * front_reply) on a temporary socket; the test talks raw bytes to it.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "front/front.h"

static char path[108];
static pid_t child;

/* ---- the program the child runs ---- */

static uv_timer_t later_timer;
static struct front_conn *later_conn;
static struct wire_header later_h;
static unsigned n_closed;
static uint32_t idle_ms = 60000;

static void answer(const struct wire_header *h, struct front_reply *ret)
{
	struct wire_header r;
	uint8_t *buf = malloc(WIRE_HEADER_LEN);

	wire_header_response(h, 0, 0, &r);
	wire_header_encode(&r, buf);
	*ret = (struct front_reply){.data = buf, .len = WIRE_HEADER_LEN, .owned = buf};
}

static void on_later(uv_timer_t *t)
{
	struct front_reply r;

	(void)t;
	answer(&later_h, &r);
	front_reply(later_conn, &r);
	later_conn = NULL;
}

static int loop_init(void *ctx, struct front_loop *l)
{
	(void)ctx;
	return uv_timer_init(front_loop_uv(l), &later_timer);
}

static void loop_stop(void *ctx, struct front_loop *l)
{
	(void)ctx;
	(void)l;
	uv_close((uv_handle_t *)&later_timer, NULL);
}

static enum front_next on_request(void *ctx, struct front_conn *c, const struct wire_header *h,
                                  const uint8_t *payload, struct front_reply *ret)
{
	(void)ctx;
	(void)payload;
	if (h->opcode == WIRE_OP_LIST_KEYS) {
		later_conn = c;
		later_h = *h;
		uv_timer_start(&later_timer, on_later, 50, 0);
		return FRONT_LATER;
	}
	/* The idle hold: ListProviders takes it, ListOpcodes lets go. */
	if (h->opcode == WIRE_OP_LIST_PROVIDERS || h->opcode == WIRE_OP_LIST_OPCODES)
		front_conn_hold_idle(c, h->opcode == WIRE_OP_LIST_PROVIDERS);
	answer(h, ret);
	/* ListAuthenticators: the status says how many connections closed. */
	if (h->opcode == WIRE_OP_LIST_AUTHENTICATORS) {
		struct wire_header r;

		wire_header_response(h, (uint16_t)n_closed, 0, &r);
		wire_header_encode(&r, ret->owned);
	}
	return FRONT_ANSWER;
}

static void on_closed(void *ctx, struct front_conn *c)
{
	(void)ctx;
	(void)c;
	n_closed++;
}

static const struct front_ops ops = {
        .loop_init = loop_init, .loop_stop = loop_stop, .request = on_request, .closed = on_closed};

static void serve(unsigned per_uid)
{
	struct front_config cfg = {.program = "test-front",
	                           .n_loops = 1,
	                           .limits = {.body_limit = 4096,
	                                      .timeout_ms = 2000,
	                                      .idle_ms = idle_ms,
	                                      .max_conns = 16,
	                                      .max_per_uid = per_uid},
	                           .deadline_from_accept = true,
	                           .answer_cut_short = true};
	struct front_socket s = {.path = path, .mode = 0600};
	struct front *f;
	char err[256];

	if (front_new(&cfg, &ops, NULL, &f) != TS_OK || front_listen(f, &s, err, sizeof(err)) != 0)
		_exit(3);
	front_run(f);
	front_free(f);
	_exit(0);
}

/* ---- the test's side ---- */

static int connect_to(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	strcpy(sa.sun_path, path);
	for (int i = 0; i < 500; i++) {
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			return fd;
		usleep(10000);
	}
	cr_assert_fail("cannot connect to %s: %s", path, strerror(errno));
	return -1;
}

static void start(unsigned per_uid)
{
	snprintf(path, sizeof(path), "/tmp/tsfront.%d.sock", (int)getpid());
	unlink(path);
	child = fork();
	cr_assert_neq(child, -1);
	if (child == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL); /* a failed test stops it too */
		serve(per_uid);
	}
	close(connect_to()); /* it listens */
}

static int stop(void)
{
	int status = 0;

	kill(child, SIGTERM);
	waitpid(child, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Send a header-only request: whether it went out whole. */
static bool try_send_req(int fd, uint32_t opcode, uint16_t flags, uint32_t magic_xor)
{
	struct wire_header h;
	uint8_t b[WIRE_HEADER_LEN];

	wire_header_request(&h, opcode, 0, 0, 0, 0);
	h.flags = flags;
	h.magic ^= magic_xor;
	wire_header_encode(&h, b);
	return send(fd, b, sizeof(b), MSG_NOSIGNAL) == (ssize_t)sizeof(b);
}

static void send_req(int fd, uint32_t opcode, uint16_t flags, uint32_t magic_xor)
{
	cr_assert(try_send_req(fd, opcode, flags, magic_xor), "send: %s", strerror(errno));
}

/* A header within 3 s: 0, or -1 on EOF or timeout. */
static int read_header(int fd, struct wire_header *h)
{
	uint8_t b[WIRE_HEADER_LEN];
	size_t got = 0;

	while (got < sizeof(b)) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t n;

		if (poll(&p, 1, 3000) <= 0)
			return -1;
		n = recv(fd, b + got, sizeof(b) - got, 0);
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	wire_header_decode(b, h);
	return 0;
}

/* The peer closed: EOF, or a reset when it closed with our bytes unread. */
static bool closed(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	uint8_t b;
	ssize_t n;

	if (poll(&p, 1, 3000) != 1)
		return false;
	n = recv(fd, &b, 1, 0);
	return n == 0 || (n < 0 && errno == ECONNRESET);
}

Test(front, a_response_closes_the_connection_unless_the_request_asked)
{
	struct wire_header h;
	int fd;

	start(8);
	fd = connect_to();
	send_req(fd, WIRE_OP_PING, WIRE_FLAG_KEEP_OPEN, 0);
	cr_assert_eq(read_header(fd, &h), 0);
	cr_assert_eq(h.flags, WIRE_FLAG_KEEP_OPEN, "a kept response says so");
	send_req(fd, WIRE_OP_PING, 0, 0);
	cr_assert_eq(read_header(fd, &h), 0);
	cr_assert_eq(h.flags, 0);
	cr_assert(closed(fd), "no close after a response the client did not ask to keep");
	close(fd);
	cr_assert_eq(stop(), 0);
}

Test(front, a_deferred_answer_keeps_the_order_and_the_connection)
{
	struct wire_header h;
	int fd;

	start(8);
	fd = connect_to();
	/* Pipelined: the second is read only after the first is answered. */
	send_req(fd, WIRE_OP_LIST_KEYS, WIRE_FLAG_KEEP_OPEN, 0);
	send_req(fd, WIRE_OP_PING, WIRE_FLAG_KEEP_OPEN, 0);
	cr_assert_eq(read_header(fd, &h), 0);
	cr_assert_eq(h.opcode, WIRE_OP_LIST_KEYS);
	cr_assert_eq(read_header(fd, &h), 0);
	cr_assert_eq(h.opcode, WIRE_OP_PING);
	close(fd);
	cr_assert_eq(stop(), 0);
}

Test(front, a_framing_error_gets_the_default_header_then_the_close)
{
	struct wire_header h;
	int fd;

	start(8);
	fd = connect_to();
	send_req(fd, WIRE_OP_LIST_KEYS, WIRE_FLAG_KEEP_OPEN, 0xff);
	cr_assert_eq(read_header(fd, &h), 0);
	cr_assert_eq(h.status, 17, "InvalidHeader, got %u", h.status);
	cr_assert_eq(h.opcode, WIRE_OP_PING, "the default header");
	cr_assert(closed(fd));
	close(fd);
	cr_assert_eq(stop(), 0);
}

Test(front, a_uid_over_its_cap_is_closed_unanswered)
{
	struct wire_header h;
	int first, second;

	start(1);
	/* The start-up probe may not have been seen closing yet: retry. */
	for (int i = 0;; i++) {
		first = connect_to();
		send_req(first, WIRE_OP_PING, WIRE_FLAG_KEEP_OPEN, 0);
		if (read_header(first, &h) == 0)
			break;
		close(first);
		cr_assert_lt(i, 50, "the first connection is never served");
		usleep(20000);
	}
	second = connect_to();
	/* The front may have closed it already: then the send fails, which is
	 * as unanswered as a close after it. */
	(void)try_send_req(second, WIRE_OP_PING, 0, 0);
	cr_assert_neq(read_header(second, &h), 0, "a second connection of the uid was served");
	close(second);
	close(first);
	cr_assert_eq(stop(), 0);
}

Test(front, sigterm_closes_idle_connections_and_exits_cleanly)
{
	struct wire_header h;
	int fd;

	start(8);
	fd = connect_to();
	send_req(fd, WIRE_OP_PING, WIRE_FLAG_KEEP_OPEN, 0);
	cr_assert_eq(read_header(fd, &h), 0);
	kill(child, SIGTERM);
	cr_assert(closed(fd), "an idle connection kept the drain waiting");
	close(fd);
	cr_assert_eq(stop(), 0);
	cr_assert_neq(access(path, F_OK), 0, "the socket file it made is left behind");
}

Test(front, a_held_connection_is_not_closed_for_idleness)
{
	struct wire_header h;
	int fd, other;

	idle_ms = 200; /* the child inherits it */
	start(8);
	fd = connect_to();
	send_req(fd, WIRE_OP_LIST_PROVIDERS, WIRE_FLAG_KEEP_OPEN, 0);
	cr_assert_eq(read_header(fd, &h), 0);
	/* A plain connection goes after 200 ms... */
	other = connect_to();
	send_req(other, WIRE_OP_PING, WIRE_FLAG_KEEP_OPEN, 0);
	cr_assert_eq(read_header(other, &h), 0);
	cr_assert(closed(other), "an idle connection stays open");
	close(other);
	/* ...while the held one, idle longer, is still served. */
	usleep(300000);
	send_req(fd, WIRE_OP_LIST_AUTHENTICATORS, WIRE_FLAG_KEEP_OPEN, 0);
	cr_assert_eq(read_header(fd, &h), 0);
	cr_assert_geq(h.status, 2, "the closed callback ran (the first probe and the plain one)");
	/* Let go: the idle limit applies again. */
	send_req(fd, WIRE_OP_LIST_OPCODES, WIRE_FLAG_KEEP_OPEN, 0);
	cr_assert_eq(read_header(fd, &h), 0);
	cr_assert(closed(fd), "released and idle, yet open");
	close(fd);
	cr_assert_eq(stop(), 0);
}
