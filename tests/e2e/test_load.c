/* Both connection styles under volume: persistent and one request per connection. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

static struct td d;

static void setup(void)
{
	td_start(&d, TD_CONFIG_DEFAULT);
}

static void teardown(void)
{
	cr_assert_eq(td_stop(&d), 0);
}

TestSuite(load, .init = setup, .fini = teardown, .timeout = 300);

Test(load, ten_thousand_pings_on_one_connection)
{
	int fd = td_connect(&d);
	int ok = 0;

	for (int i = 0; i < 10000; i++) {
		struct td_resp r;

		cr_assert_eq(td_exchange(fd, WIRE_OP_PING, 0, 0, NULL, 0, NULL, 0, &r), 0,
		             "ping %d: transport failure", i);
		cr_assert_eq(r.h.status, 0, "ping %d: status %u", i, r.h.status);
		cr_assert_eq(r.body_len, 2);
		td_resp_free(&r);
		ok++;
	}
	cr_assert_eq(ok, 10000);
	close(fd);
}

Test(load, thousand_pings_each_on_its_own_connection)
{
	int ok = 0;

	for (int i = 0; i < 1000; i++) {
		int fd = td_connect(&d);
		struct td_resp r;

		cr_assert_eq(td_exchange(fd, WIRE_OP_PING, 0, 0, NULL, 0, NULL, 0, &r), 0,
		             "ping %d: transport failure", i);
		cr_assert_eq(r.h.status, 0);
		td_resp_free(&r);
		close(fd);
		ok++;
	}
	cr_assert_eq(ok, 1000);
}

Test(load, pipelined_requests_are_answered_in_order)
{
	/* Several requests written at once on one connection: each gets its
	 * answer, in order (one request in flight per connection). */
	uint32_t ops[] = {WIRE_OP_PING, WIRE_OP_LIST_PROVIDERS, WIRE_OP_LIST_AUTHENTICATORS,
	                  WIRE_OP_PING, WIRE_OP_LIST_OPCODES};
	uint8_t buf[5 * WIRE_HEADER_LEN];
	int fd = td_connect(&d);

	for (int i = 0; i < 5; i++) {
		struct wire_header h;

		wire_header_request(&h, ops[i], 0, 0, 0, 0);
		h.flags = WIRE_FLAG_KEEP_OPEN;
		h.session = (uint64_t)i + 100;
		wire_header_encode(&h, buf + i * WIRE_HEADER_LEN);
	}
	cr_assert_eq(td_send_all(fd, buf, sizeof(buf)), 0);
	for (int i = 0; i < 5; i++) {
		struct td_resp r;

		cr_assert_eq(td_read_response(fd, &r, 5000), 0);
		cr_assert_eq(r.h.opcode, ops[i]);
		cr_assert_eq(r.h.session, (uint64_t)i + 100);
		cr_assert_eq(r.h.status, 0);
		td_resp_free(&r);
	}
	close(fd);
}

struct worker {
	int ok;
	int failed;
};

static void *ping_worker(void *arg)
{
	struct worker *w = arg;

	for (int i = 0; i < 500; i++) {
		int fd = td_connect(&d);
		struct td_resp r;

		if (td_exchange(fd, WIRE_OP_PING, 0, 0, NULL, 0, NULL, 0, &r) == 0 &&
		    r.h.status == 0)
			w->ok++;
		else
			w->failed++;
		td_resp_free(&r);
		close(fd);
	}
	return NULL;
}

Test(load, concurrent_clients_all_succeed)
{
	pthread_t t[8];
	struct worker w[8];

	memset(w, 0, sizeof(w));
	for (int i = 0; i < 8; i++)
		cr_assert_eq(pthread_create(&t[i], NULL, ping_worker, &w[i]), 0);
	for (int i = 0; i < 8; i++) {
		pthread_join(t[i], NULL);
		cr_assert_eq(w[i].failed, 0, "worker %d: %d failures", i, w[i].failed);
		cr_assert_eq(w[i].ok, 500);
	}
}

/* One worker thread and one request in flight: every other complete request
 * waits in the daemon's queue. Work that goes to workers (random generation
 * by the provider, ListKeys) must still all succeed, in order per client. */
#define CONFIG_ONE_WORKER                                                          \
	"{\"core\": {\"allow_root\": true, \"threads\": 1, \"max_in_flight\": 1}," \
	" \"listener\": {\"socket_path\": \"%1$s\", \"timeout_ms\": 5000},"        \
	" \"authenticators\": [{\"type\": \"Direct\"}]}"

static void *random_worker(void *arg)
{
	static const uint8_t body[] = {0x08, 0x20}; /* 32 bytes */
	struct worker *w = arg;
	int fd = td_connect(&d);

	for (int i = 0; i < 300; i++) {
		struct td_resp r;
		uint32_t op = (i % 3 == 0) ? WIRE_OP_LIST_KEYS : WIRE_OP_PSA_GENERATE_RANDOM;
		uint8_t provider = op == WIRE_OP_LIST_KEYS ? 0 : 1;

		if (td_exchange(fd, op, provider, 1, op == WIRE_OP_LIST_KEYS ? NULL : body,
		                op == WIRE_OP_LIST_KEYS ? 0 : sizeof(body), "bench", 5, &r) == 0 &&
		    r.h.status == 0 && r.h.opcode == op &&
		    (op == WIRE_OP_LIST_KEYS || r.body_len == 34))
			w->ok++;
		else
			w->failed++;
		td_resp_free(&r);
	}
	close(fd);
	return NULL;
}

Test(backpressure, queued_requests_all_complete, .timeout = 120)
{
	pthread_t t[8];
	struct worker w[8];

	td_start(&d, CONFIG_ONE_WORKER);
	memset(w, 0, sizeof(w));
	for (int i = 0; i < 8; i++)
		cr_assert_eq(pthread_create(&t[i], NULL, random_worker, &w[i]), 0);
	for (int i = 0; i < 8; i++) {
		pthread_join(t[i], NULL);
		cr_assert_eq(w[i].failed, 0, "client %d: %d failures", i, w[i].failed);
		cr_assert_eq(w[i].ok, 300);
	}
	cr_assert_eq(td_stop(&d), 0);
}
