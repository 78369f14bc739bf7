/*
 * The sign-hash limit server: the least a daemon must do to answer a
 * libtessera PsaSignHash (ECDSA P-256) over AF_UNIX, so that tesserad's rate
 * can be read as a share of what its shape allows on this machine. It does
 * the work every such daemon does (framing, the protobuf body, the signature
 * as the software provider computes it, the response) and nothing Tessera
 * adds (authentication, policy, key store, logging).
 */
#include "bench/bench-priv.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include "psa_sign_hash.pb-c.h"
#include "wire/wire.h"

/* The keep-open flag a libtessera request sets on a persistent connection
 * (being added to wire/wire.h by the connection-protocol change). */
#ifndef WIRE_FLAG_KEEP_OPEN
#define WIRE_FLAG_KEEP_OPEN 0x8000u
#endif

#define LIMIT_MAX_LOOPS 64
#define LIMIT_REQ_MAX   4096 /* body + auth of a sign-hash request; more closes */
#define P256_BYTES      32

struct limit_conn {
	int fd;
	size_t got;
	uint8_t buf[WIRE_HEADER_LEN + LIMIT_REQ_MAX];
};

struct limit_loop {
	int ep;
	EVP_PKEY *key;
	pthread_t th;
};

/* The software provider's sign_hash (providers/software/sign.c) for ECDSA
 * with SHA-256 on a cached key: a context from the key, sign_init, the
 * digest, the size query, the signature, DER to r || s. Only its malloc of
 * the DER buffer is a stack buffer here. 0, or -1. */
static int sign_p256(EVP_PKEY *key, const uint8_t *hash, size_t hash_len,
                     uint8_t ret_sig[2 * P256_BYTES])
{
	EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
	uint8_t der[80];
	const uint8_t *p = der;
	ECDSA_SIG *sig = NULL;
	size_t len = 0;
	int rc = -1;

	if (pctx == NULL || EVP_PKEY_sign_init(pctx) != 1 ||
	    EVP_PKEY_CTX_set_signature_md(pctx, EVP_sha256()) != 1 ||
	    EVP_PKEY_sign(pctx, NULL, &len, hash, hash_len) != 1 || len > sizeof(der) ||
	    EVP_PKEY_sign(pctx, der, &len, hash, hash_len) != 1)
		goto out;
	sig = d2i_ECDSA_SIG(NULL, &p, (long)len);
	if (sig == NULL || BN_bn2binpad(ECDSA_SIG_get0_r(sig), ret_sig, P256_BYTES) != P256_BYTES ||
	    BN_bn2binpad(ECDSA_SIG_get0_s(sig), ret_sig + P256_BYTES, P256_BYTES) != P256_BYTES)
		goto out;
	rc = 0;
out:
	ECDSA_SIG_free(sig);
	EVP_PKEY_CTX_free(pctx);
	return rc;
}

/* Answer one whole request: its header h, its body (then the auth bytes,
 * unread) at body. 0, or -1 to close the connection: anything but a
 * decodable PsaSignHash of a 32-byte hash, or a failed send. */
static int answer(int fd, EVP_PKEY *key, const struct wire_header *h, const uint8_t *body)
{
	uint8_t resp[WIRE_HEADER_LEN + 2 + 2 * P256_BYTES], sig[2 * P256_BYTES];
	PsaSignHash__Result res = PSA_SIGN_HASH__RESULT__INIT;
	PsaSignHash__Operation *op;
	struct wire_pb_alloc alloc;
	struct wire_header rh;
	size_t len;
	int rc;

	if (h->magic != WIRE_MAGIC || h->opcode != WIRE_OP_PSA_SIGN_HASH)
		return -1;
	/* The daemon's budget for a body (daemon/dispatch.c). */
	wire_pb_alloc_init(&alloc, 16384 + (size_t)h->body_len * 48);
	op = psa_sign_hash__operation__unpack(&alloc.base, h->body_len, body);
	if (op == NULL)
		return -1;
	rc = op->hash.len == 32 ? sign_p256(key, op->hash.data, op->hash.len, sig) : -1;
	psa_sign_hash__operation__free_unpacked(op, &alloc.base);
	if (rc != 0)
		return -1;
	res.signature.data = sig;
	res.signature.len = sizeof(sig);
	len = psa_sign_hash__result__get_packed_size(&res);
	if (len > sizeof(resp) - WIRE_HEADER_LEN)
		return -1;
	psa_sign_hash__result__pack(&res, resp + WIRE_HEADER_LEN);
	wire_header_response(h, 0, (uint32_t)len, &rh);
	rh.flags = h->flags & WIRE_FLAG_KEEP_OPEN;
	wire_header_encode(&rh, resp);
	len += WIRE_HEADER_LEN;
	/* The socket's buffer is empty (one request at a time), so a short
	 * write means the client is gone. */
	return send(fd, resp, len, MSG_NOSIGNAL) == (ssize_t)len ? 0 : -1;
}

/* Read what is there and answer every whole request in it. 0, or -1 when
 * the connection is to be closed. */
static int serve(struct limit_conn *c, EVP_PKEY *key)
{
	ssize_t n = recv(c->fd, c->buf + c->got, sizeof(c->buf) - c->got, 0);

	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	if (n == 0)
		return -1;
	c->got += (size_t)n;
	while (c->got >= WIRE_HEADER_LEN) {
		struct wire_header h;
		size_t need;

		wire_header_decode(c->buf, &h);
		need = WIRE_HEADER_LEN + (size_t)h.body_len + h.auth_len;
		if (need > sizeof(c->buf))
			return -1;
		if (c->got < need)
			return 0;
		if (answer(c->fd, key, &h, c->buf + WIRE_HEADER_LEN) != 0)
			return -1;
		memmove(c->buf, c->buf + need, c->got - need);
		c->got -= need;
	}
	return 0;
}

static void *loop_main(void *arg)
{
	struct limit_loop *l = arg;
	struct epoll_event evs[64];

	for (;;) {
		int n = epoll_wait(l->ep, evs, 64, -1);

		for (int i = 0; i < n; i++) {
			struct limit_conn *c = evs[i].data.ptr;

			if (serve(c, l->key) != 0) {
				close(c->fd); /* leaves the epoll set with it */
				free(c);
			}
		}
	}
	return NULL;
}

/* The server process: never returns. */
static void server_main(int lfd, int loops)
{
	struct limit_loop loop[LIMIT_MAX_LOOPS];
	EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	unsigned next = 0;

	if (key == NULL)
		_exit(1);
	for (int i = 0; i < loops; i++) {
		loop[i].ep = epoll_create1(EPOLL_CLOEXEC);
		loop[i].key = key;
		if (loop[i].ep < 0 || pthread_create(&loop[i].th, NULL, loop_main, &loop[i]) != 0)
			_exit(1);
	}
	/* Deal connections out in turn, so N clients spread evenly. */
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		struct epoll_event ev = {.events = EPOLLIN};
		struct limit_conn *c;

		if (fd < 0)
			continue;
		c = malloc(sizeof(*c));
		if (c == NULL) {
			close(fd);
			continue;
		}
		c->fd = fd;
		c->got = 0;
		ev.data.ptr = c;
		if (epoll_ctl(loop[next++ % (unsigned)loops].ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
			close(fd);
			free(c);
		}
	}
}

int limit_start(int loops, struct limit_server *ret)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	pid_t parent = getpid(), pid;
	int lfd;

	if (loops < 1 || loops > LIMIT_MAX_LOOPS)
		return -1;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "/tmp/tessera-bench-limit.%d.sock", (int)parent);
	unlink(sa.sun_path);
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0)
		return -1;
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(lfd, 4096) != 0) {
		close(lfd);
		unlink(sa.sun_path);
		return -1;
	}
	pid = fork();
	if (pid == 0) {
		/* Not to outlive the bench, however it ends. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(0);
		server_main(lfd, loops);
	}
	close(lfd);
	if (pid < 0) {
		unlink(sa.sun_path);
		return -1;
	}
	ret->pid = pid;
	memcpy(ret->path, sa.sun_path, sizeof(ret->path));
	return 0;
}

void limit_stop(struct limit_server *s)
{
	if (s == NULL || s->pid <= 0)
		return;
	kill(s->pid, SIGKILL);
	waitpid(s->pid, NULL, 0);
	unlink(s->path);
	s->pid = 0;
}
