/*
 * tessera-bench's parts outside tessera_bench.c: the sign-hash limit server
 * (limit.c).
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

#endif
