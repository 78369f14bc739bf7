/*
 * A stand-in for libts.so.2 whose endpoint runs in another process: the
 * eight functions of libts 2.x's public API, each call forwarded over the
 * Unix socket named by TSFAKE_SOCKET to tsfake-server (framing in
 * tsfake-sock.h). A session is one connection. With the server gone, a
 * call in flight answers RPC_ERROR_INTERNAL, and the session's next begin()
 * fails as libts's does on a dead endpoint, so that the provider marks the
 * session broken and opens a new one.
 */
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "tsfake-sock.h"
#include "tsfake.h"

#define EXPORTED __attribute__((visibility("default")))

struct sock_session {
	int fd;
	bool dead, in_call;
	size_t req_len, resp_max;
	uint8_t buf[TSFAKE_BUFFER];
};

static int the_context;

EXPORTED void service_locator_init(void)
{
}

EXPORTED void *service_locator_query(const char *name)
{
	return name != NULL && strcmp(name, "sn:trustedfirmware.org:crypto:0") == 0 ? &the_context
	                                                                            : NULL;
}

EXPORTED void *service_context_open(void *ctx)
{
	const char *path = getenv("TSFAKE_SOCKET");
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct sock_session *s;

	if (ctx != &the_context || path == NULL || strlen(path) >= sizeof(sa.sun_path))
		return NULL;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	memcpy(sa.sun_path, path, strlen(path));
	s->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s->fd < 0 || connect(s->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		if (s->fd >= 0)
			close(s->fd);
		free(s);
		return NULL;
	}
	return s;
}

EXPORTED void service_context_close(void *ctx, void *session)
{
	struct sock_session *s = session;

	(void)ctx;
	if (s == NULL)
		return;
	close(s->fd);
	explicit_bzero(s->buf, sizeof(s->buf));
	free(s);
}

EXPORTED void service_context_relinquish(void *ctx)
{
	(void)ctx;
}

/* The server never speaks unasked: anything to read between calls is its
 * end of the connection. */
static bool peer_gone(const struct sock_session *s)
{
	struct pollfd p = {.fd = s->fd, .events = POLLIN};

	return poll(&p, 1, 0) != 0;
}

EXPORTED void *rpc_caller_session_begin(void *session, uint8_t **req_buf, size_t req_len,
                                        size_t resp_max)
{
	struct sock_session *s = session;

	if (s == NULL || s->in_call || req_len > TSFAKE_BUFFER || resp_max > TSFAKE_BUFFER)
		return NULL;
	if (s->dead || peer_gone(s)) {
		s->dead = true;
		return NULL;
	}
	s->in_call = true;
	s->req_len = req_len;
	s->resp_max = resp_max;
	*req_buf = s->buf;
	return s;
}

EXPORTED int32_t rpc_caller_session_invoke(void *handle, uint32_t opcode, uint8_t **resp_buf,
                                           size_t *resp_len, int64_t *service_status)
{
	struct sock_session *s = handle;
	uint8_t head[TSFAKE_RESP_HEAD];
	uint32_t len;
	uint64_t service;

	if (s == NULL || !s->in_call)
		return -4; /* RPC_ERROR_INVALID_STATE */
	*resp_buf = s->buf;
	*resp_len = 0;
	*service_status = 0;
	tsfake_put32(head, opcode);
	tsfake_put32(head + 4, (uint32_t)s->req_len);
	tsfake_put32(head + 8, (uint32_t)s->resp_max);
	if (!tsfake_write_all(s->fd, head, TSFAKE_REQ_HEAD) ||
	    !tsfake_write_all(s->fd, s->buf, s->req_len) ||
	    !tsfake_read_all(s->fd, head, TSFAKE_RESP_HEAD))
		goto gone;
	len = tsfake_get32(head + 12);
	if (len == TSFAKE_BUFFER + 1) {
		/* A damaged answer (TSFAKE_DAMAGE_OVERSIZE): read it all, keep
		 * the buffer's worth, and hand on the claim. */
		uint8_t extra;

		if (!tsfake_read_all(s->fd, s->buf, TSFAKE_BUFFER) ||
		    !tsfake_read_all(s->fd, &extra, 1))
			goto gone;
	} else if (len > TSFAKE_BUFFER || !tsfake_read_all(s->fd, s->buf, len)) {
		goto gone;
	}
	service = (uint64_t)tsfake_get32(head + 4) | (uint64_t)tsfake_get32(head + 8) << 32;
	*service_status = (int64_t)service;
	*resp_len = len;
	return (int32_t)tsfake_get32(head);
gone:
	s->dead = true;
	return -1; /* RPC_ERROR_INTERNAL, as libts answers for a lost endpoint */
}

EXPORTED int32_t rpc_caller_session_end(void *handle)
{
	struct sock_session *s = handle;

	if (s == NULL || !s->in_call)
		return -4;
	s->in_call = false;
	return 0;
}
