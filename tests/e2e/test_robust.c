/* Deadlines, caps, slow and silent clients. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define CONFIG_DEADLINE                                                                          \
	"{\"core\": {\"allow_root\": true},"                                                     \
	" \"listener\": {\"socket_path\": \"%1$s\", \"timeout_ms\": 2000, \"idle_timeout_ms\": " \
	"1500,"                                                                                  \
	"              \"max_connections_per_uid\": 64, \"max_connections\": 128},"              \
	" \"authenticators\": [{\"type\": \"Direct\"}]}"

static struct td d;

static void teardown(void)
{
	cr_assert_eq(td_stop(&d), 0);
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void setup_deadline(void)
{
	td_start(&d, CONFIG_DEADLINE);
}

TestSuite(robust, .init = setup_deadline, .fini = teardown, .timeout = 120);

struct slow_result {
	int status;
	long elapsed_ms;
	int bytes_sent;
};

/* Send a valid Ping request one byte per second. */
static void *slow_client(void *arg)
{
	struct slow_result *res = arg;
	struct wire_header h;
	uint8_t buf[WIRE_HEADER_LEN];
	int fd = td_connect(&d);
	long start = now_ms();
	struct td_resp r;

	res->status = -1;
	wire_header_request(&h, WIRE_OP_PING, 0, 0, 0, 0);
	wire_header_encode(&h, buf);
	for (int i = 0; i < WIRE_HEADER_LEN; i++) {
		if (td_send_all(fd, buf + i, 1) < 0)
			break;
		res->bytes_sent++;
		/* Stop dribbling as soon as the daemon has answered. */
		if (td_read_response(fd, &r, 1000) == 0) {
			res->status = r.h.status;
			td_resp_free(&r);
			break;
		}
	}
	res->elapsed_ms = now_ms() - start;
	close(fd);
	return NULL;
}

Test(robust, dribbling_client_is_cut_at_the_deadline_while_others_are_served)
{
	pthread_t t;
	struct slow_result res = {0};
	int pings = 0;
	long until;

	cr_assert_eq(pthread_create(&t, NULL, slow_client, &res), 0);
	until = now_ms() + 3500;
	while (now_ms() < until) {
		cr_assert_eq(td_call(&d, WIRE_OP_PING, 0, 0, NULL, 0, NULL, 0, NULL), 0);
		pings++;
		usleep(20000);
	}
	pthread_join(t, NULL);
	/* Parsec bounds each read, so this client would hold a worker for
	 * 36 s; here the whole request is bounded (2 s). */
	cr_assert_eq(res.status, 15, "slow client got %d", res.status);
	cr_assert_lt(res.bytes_sent, WIRE_HEADER_LEN, "cut before the header was complete");
	cr_assert_gt(pings, 20, "the other client kept being served (%d pings)", pings);
}

Test(robust, silent_client_gets_connection_error)
{
	int fd = td_connect(&d);
	struct td_resp r;

	cr_assert_eq(td_read_response(fd, &r, 5000), 0);
	cr_assert_eq(r.h.status, 15);
	cr_assert_eq(r.h.opcode, WIRE_OP_PING);
	td_resp_free(&r);
	cr_assert(td_wait_closed(fd, 2000));
	close(fd);
}

Test(robust, idle_persistent_connection_is_closed_quietly)
{
	int fd = td_connect(&d);
	struct td_resp r;
	uint8_t b;

	cr_assert_eq(td_exchange(fd, WIRE_OP_PING, 0, 0, NULL, 0, NULL, 0, &r), 0);
	cr_assert_eq(r.h.status, 0);
	td_resp_free(&r);
	/* After the idle timeout (1.5 s) the connection closes with no bytes. */
	cr_assert_eq(td_recv_exact(fd, &b, 1, 4000), -1);
	close(fd);
}

Test(robust, per_uid_cap_closes_extra_connections_unanswered)
{
	int fds[64];
	int extra;
	struct td_resp r;

	cr_assert_eq(td_fill_connections(&d, fds, 64), 0);
	extra = td_connect(&d);
	cr_assert(td_wait_closed(extra, 3000), "65th connection of one uid must be closed");
	close(extra);
	/* The ones within the cap still work. */
	cr_assert_eq(td_exchange(fds[0], WIRE_OP_PING, 0, 0, NULL, 0, NULL, 0, &r), 0);
	cr_assert_eq(r.h.status, 0);
	td_resp_free(&r);
	for (int i = 0; i < 64; i++)
		close(fds[i]);
	/* Closing them frees the slots. */
	usleep(100000);
	cr_assert_eq(td_call(&d, WIRE_OP_PING, 0, 0, NULL, 0, NULL, 0, NULL), 0);
}

Test(robust, huge_declared_body_allocates_nothing_until_sent)
{
	/* Declare 1 MiB (the limit) but send 10 bytes: the deadline answers. */
	struct wire_header h;
	uint8_t buf[WIRE_HEADER_LEN + 10] = {0};
	int fd = td_connect(&d);
	struct td_resp r;

	wire_header_request(&h, WIRE_OP_PING, 0, 0, 1u << 20, 0);
	wire_header_encode(&h, buf);
	cr_assert_eq(td_send_all(fd, buf, sizeof(buf)), 0);
	cr_assert_eq(td_read_response(fd, &r, 5000), 0);
	cr_assert_eq(r.h.status, 15);
	td_resp_free(&r);
	close(fd);
}

Test(robust, garbage_then_good_clients)
{
	/* Random bytes on many connections never stop the daemon serving. */
	unsigned seed = 12345;

	for (int i = 0; i < 50; i++) {
		uint8_t junk[64];
		int fd = td_connect(&d);

		for (size_t k = 0; k < sizeof(junk); k++)
			junk[k] = (uint8_t)rand_r(&seed);
		td_send_all(fd, junk, (size_t)(rand_r(&seed) % 64) + 1);
		close(fd);
	}
	cr_assert_eq(td_call(&d, WIRE_OP_PING, 0, 0, NULL, 0, NULL, 0, NULL), 0);
}
