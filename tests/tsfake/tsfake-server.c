/*
 * The test endpoint in a process of its own, for tests that kill the daemon
 * or the endpoint: tsfake-server SOCKET serves one struct tsfake, whose
 * persistent keys are in $TSFAKE_STORE, to every connection on the Unix
 * socket SOCKET, one call at a time (framing in tsfake-sock.h).
 *
 * Faults: TSFAKE_LATENCY_MS (or the latency control message) sleeps before
 * each answer; SIGHUP (or the restart control message) loses volatile state
 * as a restarted partition does; TSFAKE_FAULT="rpc,service" forces the
 * status of every call and TSFAKE_RESPONSE="truncate" or "oversize" damages
 * every answer, as in the in-process stand-in (or the fault control
 * message, which also clears them). Killed, it can be started again alone on
 * the same socket and store.
 */
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "tsfake-priv.h"
#include "tsfake-sock.h"

#define MAX_CONNS 16

static volatile sig_atomic_t hup, term;

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		hup = 1;
	else
		term = 1;
}

struct server {
	struct tsfake *f;
	const char *store;
	unsigned latency_ms;
	int32_t fault_rpc, fault_service; /* forced on every call when not both 0 */
	uint32_t damage;                  /* TSFAKE_DAMAGE_* */
	uint8_t buf[TSFAKE_BUFFER];
};

/* The fault switches of the environment, named as the in-process stand-in's. */
static void faults_from_env(struct server *sv)
{
	const char *fault = getenv("TSFAKE_FAULT"), *how = getenv("TSFAKE_RESPONSE");
	int rpc = 0, service = 0;

	if (fault != NULL && sscanf(fault, "%d,%d", &rpc, &service) == 2) {
		sv->fault_rpc = rpc;
		sv->fault_service = service;
	}
	if (how != NULL && strcmp(how, "truncate") == 0)
		sv->damage = TSFAKE_DAMAGE_TRUNCATE;
	else if (how != NULL && strcmp(how, "oversize") == 0)
		sv->damage = TSFAKE_DAMAGE_OVERSIZE;
}

/* A new fake on the same store: volatile keys and multipart contexts gone.
 * Handles keep counting up, so an old one names nothing new. */
static bool restart(struct server *sv)
{
	uint32_t next_handle = sv->f->next_handle;
	struct tsfake *f = tsfake_new(sv->store);

	if (f == NULL)
		return false;
	tsfake_free(sv->f);
	sv->f = f;
	sv->f->next_handle = next_handle;
	return true;
}

static void pause_ms(unsigned ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0 && !term)
		;
}

static size_t control(struct server *sv, uint32_t opcode, size_t req_len, int32_t *rpc)
{
	size_t n = 0;

	*rpc = 0;
	switch (opcode) {
	case TSFAKE_CTL_RESTART:
		if (!restart(sv))
			*rpc = TSC_RPC_RESOURCE_FAILURE;
		break;
	case TSFAKE_CTL_KEYS:
		for (size_t i = 0; i < sv->f->n && n + 4 <= sizeof(sv->buf); i++, n += 4)
			tsfake_put32(sv->buf + n, sv->f->keys[i].id);
		break;
	case TSFAKE_CTL_LATENCY:
		if (req_len == 4)
			sv->latency_ms = tsfake_get32(sv->buf);
		else
			*rpc = TSC_RPC_INVALID_REQUEST_BODY;
		break;
	case TSFAKE_CTL_FAULT:
		if (req_len == 12 && tsfake_get32(sv->buf + 8) <= TSFAKE_DAMAGE_OVERSIZE) {
			sv->fault_rpc = (int32_t)tsfake_get32(sv->buf);
			sv->fault_service = (int32_t)tsfake_get32(sv->buf + 4);
			sv->damage = tsfake_get32(sv->buf + 8);
		} else {
			*rpc = TSC_RPC_INVALID_REQUEST_BODY;
		}
		break;
	default:
		*rpc = TSC_RPC_INVALID_VALUE;
	}
	return n;
}

/* One call from fd; false when the connection is to be closed. */
static bool serve(struct server *sv, int fd)
{
	uint8_t head[TSFAKE_RESP_HEAD];
	uint32_t opcode, req_len, cap;
	size_t resp_len = 0;
	int64_t service = 0;
	int32_t rpc;
	bool oversize = false;

	if (!tsfake_read_all(fd, head, TSFAKE_REQ_HEAD))
		return false;
	opcode = tsfake_get32(head);
	req_len = tsfake_get32(head + 4);
	cap = tsfake_get32(head + 8);
	if (req_len > sizeof(sv->buf) || !tsfake_read_all(fd, sv->buf, req_len))
		return false;
	if (opcode >= TSFAKE_CTL_FIRST) {
		resp_len = control(sv, opcode, req_len, &rpc);
	} else {
		if (cap > sizeof(sv->buf))
			cap = sizeof(sv->buf);
		if (sv->fault_rpc != 0 || sv->fault_service != 0)
			tsfake_force(sv->f, sv->fault_rpc, sv->fault_service);
		rpc = tsfake_call(sv->f, opcode, sv->buf, cap, req_len, &resp_len, &service);
		if (sv->damage == TSFAKE_DAMAGE_TRUNCATE && resp_len > 0)
			resp_len--;
		else if (sv->damage == TSFAKE_DAMAGE_OVERSIZE)
			oversize = true;
		if (sv->latency_ms > 0)
			pause_ms(sv->latency_ms);
	}
	tsfake_put32(head, (uint32_t)rpc);
	tsfake_put32(head + 4, (uint32_t)(uint64_t)service);
	tsfake_put32(head + 8, (uint32_t)((uint64_t)service >> 32));
	if (oversize) { /* the buffer whole (zeros after the answer) and one byte more */
		memset(sv->buf + resp_len, 0, sizeof(sv->buf) - resp_len);
		resp_len = sizeof(sv->buf);
	}
	tsfake_put32(head + 12, (uint32_t)resp_len + (oversize ? 1u : 0u));
	if (!tsfake_write_all(fd, head, TSFAKE_RESP_HEAD) ||
	    !tsfake_write_all(fd, sv->buf, resp_len) ||
	    (oversize && !tsfake_write_all(fd, (const uint8_t *)"", 1)))
		return false;
	explicit_bzero(sv->buf, sizeof(sv->buf));
	return true;
}

static int listen_on(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -1;
	memcpy(sa.sun_path, path, strlen(path));
	unlink(path); /* a socket a killed server left */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, 8) != 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

int main(int argc, char **argv)
{
	struct server sv = {.store = getenv("TSFAKE_STORE")};
	struct pollfd p[1 + MAX_CONNS];
	struct sigaction sa = {.sa_handler = on_signal};
	const char *latency = getenv("TSFAKE_LATENCY_MS");
	size_t n = 1;

	if (argc != 2) {
		fprintf(stderr, "usage: tsfake-server SOCKET (keys in $TSFAKE_STORE)\n");
		return 2;
	}
	if (latency != NULL)
		sv.latency_ms = (unsigned)strtoul(latency, NULL, 10);
	faults_from_env(&sv);
	sigemptyset(&sa.sa_mask);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	sv.f = tsfake_new(sv.store);
	if (sv.f == NULL) {
		fprintf(stderr, "tsfake-server: cannot read the store %s\n",
		        sv.store != NULL ? sv.store : "(none)");
		return 1;
	}
	p[0] = (struct pollfd){.fd = listen_on(argv[1]), .events = POLLIN};
	if (p[0].fd < 0) {
		fprintf(stderr, "tsfake-server: cannot listen on %s\n", argv[1]);
		tsfake_free(sv.f);
		return 1;
	}
	while (!term) {
		int ready = poll(p, n, -1);

		/* A SIGHUP sent before a request was sent is seen before the
		 * request is served: it is delivered by the time poll returns. */
		if (hup) {
			hup = 0;
			(void)restart(&sv);
		}
		if (ready < 0)
			continue; /* a signal */
		for (size_t i = n; i-- > 1;) {
			if (p[i].revents == 0 || serve(&sv, p[i].fd))
				continue;
			close(p[i].fd);
			p[i] = p[--n];
		}
		if (p[0].revents & POLLIN) {
			int fd = accept4(p[0].fd, NULL, NULL, SOCK_CLOEXEC);

			if (fd >= 0 && n < 1 + MAX_CONNS)
				p[n++] = (struct pollfd){.fd = fd, .events = POLLIN};
			else if (fd >= 0)
				close(fd);
		}
	}
	for (size_t i = 0; i < n; i++)
		close(p[i].fd);
	unlink(argv[1]);
	tsfake_free(sv.f);
	return 0;
}
