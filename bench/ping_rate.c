/*
 * ping-rate: Ping throughput and latency of a running tesserad, next to an
 * in-run baseline (an AF_UNIX echo server answering the same request and
 * response sizes from a thread of this process), so the numbers are ratios
 * anyone can reproduce on any machine.
 *
 *   ping-rate SOCKET [COUNT]
 *
 * Prints, for one persistent connection and for one connection per request:
 * requests/s, p50 and p99 latency, and the ratio to the echo baseline.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "wire/wire.h"

struct result {
	double rps;
	double p50_us, p99_us;
};

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int connect_to(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || strlen(path) >= sizeof(sa.sun_path))
		return -1;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int io_all(int fd, void *buf, size_t len, int writing)
{
	uint8_t *p = buf;

	while (len > 0) {
		ssize_t n = writing ? send(fd, p, len, MSG_NOSIGNAL) : recv(fd, p, len, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* count Ping exchanges; persistent or one connection each. */
static int run(const char *path, int count, int persistent, struct result *res)
{
	uint8_t req[WIRE_HEADER_LEN], resp[WIRE_HEADER_LEN + 2];
	struct wire_header h;
	double *lat = calloc((size_t)count, sizeof(double));
	double start, t0;
	int fd = -1;

	if (lat == NULL)
		return -1;
	wire_header_request(&h, WIRE_OP_PING, 0, 0, 0, 0);
	wire_header_encode(&h, req);
	start = now_us();
	for (int i = 0; i < count; i++) {
		t0 = now_us();
		if (fd < 0 && (fd = connect_to(path)) < 0)
			goto fail;
		if (io_all(fd, req, sizeof(req), 1) < 0 || io_all(fd, resp, sizeof(resp), 0) < 0)
			goto fail;
		if (!persistent) {
			close(fd);
			fd = -1;
		}
		lat[i] = now_us() - t0;
	}
	res->rps = count / ((now_us() - start) / 1e6);
	qsort(lat, (size_t)count, sizeof(double), cmp_double);
	res->p50_us = lat[count / 2];
	res->p99_us = lat[(size_t)(count * 0.99)];
	if (fd >= 0)
		close(fd);
	free(lat);
	return 0;
fail:
	fprintf(stderr, "ping-rate: exchange %s failed\n", persistent ? "(persistent)" : "");
	if (fd >= 0)
		close(fd);
	free(lat);
	return -1;
}

/* The baseline: read a 36-byte request, answer 38 bytes, per connection. */
static void *echo_conn(void *arg)
{
	int fd = (int)(intptr_t)arg;
	uint8_t req[WIRE_HEADER_LEN], resp[WIRE_HEADER_LEN + 2] = {0};

	while (io_all(fd, req, sizeof(req), 0) == 0 && io_all(fd, resp, sizeof(resp), 1) == 0)
		;
	close(fd);
	return NULL;
}

static void *echo_server(void *arg)
{
	int lfd = (int)(intptr_t)arg;

	for (;;) {
		pthread_t t;
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

		if (fd < 0)
			return NULL;
		if (pthread_create(&t, NULL, echo_conn, (void *)(intptr_t)fd) != 0) {
			close(fd);
			continue;
		}
		pthread_detach(t);
	}
}

static void report(const char *what, const struct result *r, const struct result *base)
{
	printf("%-34s %9.0f req/s  p50 %7.1f us  p99 %7.1f us   ratio to echo: %.2fx req/s, "
	       "%.2fx p50\n",
	       what, r->rps, r->p50_us, r->p99_us, r->rps / base->rps, r->p50_us / base->p50_us);
}

int main(int argc, char **argv)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char echo_path[108];
	struct result ep, ec, tp, tc;
	pthread_t srv;
	int count = argc > 2 ? atoi(argv[2]) : 20000;
	int lfd;

	if (argc < 2 || count < 100) {
		fprintf(stderr, "usage: ping-rate SOCKET [COUNT>=100]\n");
		return 2;
	}
	snprintf(echo_path, sizeof(echo_path), "/tmp/ping-rate-echo.%d.sock", (int)getpid());
	memcpy(sa.sun_path, echo_path, strlen(echo_path) + 1);
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 512) < 0) {
		perror("echo baseline");
		return 1;
	}
	pthread_create(&srv, NULL, echo_server, (void *)(intptr_t)lfd);

	if (run(echo_path, count, 1, &ep) < 0 || run(echo_path, count / 4, 0, &ec) < 0 ||
	    run(argv[1], count, 1, &tp) < 0 || run(argv[1], count / 4, 0, &tc) < 0) {
		unlink(echo_path);
		return 1;
	}
	unlink(echo_path);
	printf("baseline: AF_UNIX echo, same sizes  %9.0f req/s persistent, %9.0f req/s with "
	       "connect\n",
	       ep.rps, ec.rps);
	report("tesserad Ping, persistent", &tp, &ep);
	report("tesserad Ping, connect per request", &tc, &ec);
	return 0;
}
