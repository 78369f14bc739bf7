/*
 * tessera-bench's parts outside tessera_bench.c: the sign-hash limit server
 * (limit.c) and the fairness case (fairness.c).
 */
#ifndef TESSERA_BENCH_BENCH_PRIV_H
#define TESSERA_BENCH_BENCH_PRIV_H

#include <stddef.h>
#include <sys/types.h>
#include <sys/un.h>

/* ---- limit.c ---- */

/*
 * A minimal AF_UNIX server for PsaSignHash with ECDSA P-256, in a process of
 * its own: `loops` epoll threads, each owning the connections the accepting
 * thread deals to it in turn. It frames requests as tesserad does (36-byte
 * header, then body_len + auth_len bytes), decodes the body with protobuf-c,
 * signs the hash with the OpenSSL calls of the software provider on a key
 * made at start, and answers with a header and a PsaSignHash result. No
 * authentication, policy or key store. Connections stay open; bit 0x8000 of
 * the request's flags (keep open) is echoed in the response's.
 */
struct limit_server {
	pid_t pid;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

/* Bind a socket under /tmp and start the server process. 0 and *ret filled
 * in, or -1 (nothing left behind). */
int limit_start(int loops, struct limit_server *ret);

/* Kill the server, wait for it and remove its socket. NULL, or a server
 * already stopped, ok. */
void limit_stop(struct limit_server *s);

/* ---- fairness.c ---- */

struct fairness_params {
	const char *endpoint; /* "unix:/path" of the daemon */
	int flood;            /* connections generating RSA-4096 keys */
	double duration;      /* each victim phase, seconds */
};

/* What the victim saw of one operation in one phase. */
struct fairness_side {
	double p50_us, p99_us, max_us;
	long count, errors;
	int first_error;
};

struct fairness_result {
	struct fairness_side sign[2]; /* RSA-2048 PSS sign-hash: [0] alone, [1] under the flood */
	struct fairness_side gd[2];   /* ECC P-256 generate + destroy, the same */
	long flood_keys, flood_errors;
	int flood_first_error;
	double stop_s;  /* from the end of the loaded phase until the flood had closed */
	double total_s; /* the whole case, set-up included */
};

/*
 * The fairness case: the tenant Direct "victim" signs with RSA-2048 PSS on
 * one connection and generates + destroys ECC P-256 keys on another, first
 * alone, then while the tenant Direct "flood" generates (and destroys)
 * RSA-4096 keys on p->flood connections. The daemon needs the Direct
 * authenticator. 0 and *ret filled in (errors counted there), or -1 when the
 * victim's key could not be made (a message on stderr).
 */
int fairness_run(const struct fairness_params *p, struct fairness_result *ret);

#endif
