/*
 * A small framed server for tessera-idp and tessera-orchestrator: Parsec
 * wire protocol 1.0 on a Unix socket, persistent connections, every request
 * answered on the loop thread (their operations are a signature or a table
 * look-up). Ping and the List operations are answered here; the rest goes to the
 * program's handler with the caller's SO_PEERCRED credentials.
 */
#include "identity/identity-priv.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "wire/framer.h"

#include "list_authenticators.pb-c.h"
#include "list_opcodes.pb-c.h"
#include "list_providers.pb-c.h"
#include "ping.pb-c.h"

#define BODY_LIMIT      65536u
#define DEADLINE_MS     5000u  /* a whole request, once its first byte arrived */
#define IDLE_MS         60000u /* between requests */
#define MAX_CONNECTIONS 512u
#define MAX_PER_UID     64u /* one user cannot take every connection */

struct idsrv {
	uv_loop_t *loop;
	uv_pipe_t listener;
	idsrv_fn fn;
	void *ctx;
	const uint32_t *opcodes; /* what ListOpcodes reports */
	size_t n_opcodes;
	unsigned n_conns;
	struct {
		uid_t uid;
		unsigned n;
	} per_uid[MAX_CONNECTIONS];
	size_t n_uids;
	bool closing;
};

struct conn {
	uv_pipe_t pipe;
	uv_timer_t timer;
	struct idsrv *srv;
	struct auth_peer peer;
	struct wire_framer fr; /* the request being read */
	uint8_t scratch[64];   /* bytes of a wrong-sized header, discarded */
	bool closing;
	bool counted; /* in the per-uid table */
	int handles;  /* open handles: pipe and timer */
};

struct write_req {
	uv_write_t req;
	uint8_t *data;
	size_t len;
	bool close_after;
};

/* Add delta to uid's count; the new count (0 and no entry when full). */
static unsigned uid_count(struct idsrv *s, uid_t uid, int delta)
{
	size_t i;

	for (i = 0; i < s->n_uids && s->per_uid[i].uid != uid; i++)
		;
	if (i == s->n_uids) {
		if (delta < 0 || i == MAX_CONNECTIONS)
			return 0;
		s->per_uid[s->n_uids].uid = uid;
		s->per_uid[s->n_uids++].n = 0;
	}
	s->per_uid[i].n = (unsigned)((int)s->per_uid[i].n + delta);
	if (s->per_uid[i].n == 0) {
		unsigned n = 0;

		s->per_uid[i] = s->per_uid[--s->n_uids];
		return n;
	}
	return s->per_uid[i].n;
}

static void conn_handle_closed(uv_handle_t *h)
{
	struct conn *c = h->data;

	if (--c->handles > 0)
		return;
	c->srv->n_conns--;
	if (c->counted)
		uid_count(c->srv, c->peer.uid, -1);
	wire_framer_release(&c->fr); /* auth bytes may be tokens */
	free(c);
}

static void conn_close(struct conn *c)
{
	if (c->closing)
		return;
	c->closing = true;
	uv_timer_stop(&c->timer);
	uv_close((uv_handle_t *)&c->pipe, conn_handle_closed);
	uv_close((uv_handle_t *)&c->timer, conn_handle_closed);
}

static void on_timeout(uv_timer_t *t)
{
	conn_close(t->data);
}

static void on_written(uv_write_t *req, int status)
{
	struct write_req *w = (struct write_req *)req;
	struct conn *c = req->data;

	free(w->data);
	if (status < 0 || w->close_after)
		conn_close(c);
	free(w);
}

static void send_reply(struct conn *c, const struct wire_header *req, enum ts_err err,
                       const uint8_t *body, size_t body_len, bool close_after)
{
	struct write_req *w = calloc(1, sizeof(*w));
	struct wire_header h;
	uint16_t status = ts_err_wire_status(err);
	uv_buf_t b;

	if (status != 0)
		body_len = 0;
	if (w == NULL || (w->data = malloc(WIRE_HEADER_LEN + body_len)) == NULL) {
		free(w);
		conn_close(c);
		return;
	}
	if (req != NULL)
		wire_header_response(req, status, (uint32_t)body_len, &h);
	else
		wire_header_default_response(status, &h);
	/* Kept open only for a client that asked (WIRE_FLAG_KEEP_OPEN), and
	 * the response says so; otherwise the close follows, as in Parsec. */
	if (!close_after)
		h.flags = WIRE_FLAG_KEEP_OPEN;
	wire_header_encode(&h, w->data);
	if (body_len > 0)
		memcpy(w->data + WIRE_HEADER_LEN, body, body_len);
	w->len = WIRE_HEADER_LEN + body_len;
	w->close_after = close_after;
	w->req.data = c;
	b = uv_buf_init((char *)w->data, (unsigned)w->len);
	if (uv_write(&w->req, (uv_stream_t *)&c->pipe, &b, 1, on_written) != 0) {
		free(w->data);
		free(w);
		conn_close(c);
	}
}

/* The body of a built-in operation must decode even when it is ignored
 * (Parsec's step 12), through the one bounded decoder. */
static bool body_decodes(const struct wire_header *h, const uint8_t *body)
{
	const ProtobufCMessageDescriptor *desc =
	        h->opcode == WIRE_OP_PING             ? &ping__operation__descriptor
	        : h->opcode == WIRE_OP_LIST_PROVIDERS ? &list_providers__operation__descriptor
	        : h->opcode == WIRE_OP_LIST_AUTHENTICATORS
	                ? &list_authenticators__operation__descriptor
	                : &list_opcodes__operation__descriptor;
	struct wire_pb_alloc a;
	ProtobufCMessage *m = wire_decode(desc, body, h->body_len, &a);

	wire_decoded_free(m, &a);
	return m != NULL;
}

static enum ts_err builtin(struct idsrv *s, const struct wire_header *h, const uint8_t *body,
                           uint8_t **ret_body, size_t *ret_len)
{
	if (!body_decodes(h, body))
		return TS_E_DESERIALIZING_BODY_FAILED;
	if (h->opcode == WIRE_OP_PING) {
		Ping__Result r = PING__RESULT__INIT;

		r.wire_protocol_version_maj = 1;
		r.wire_protocol_version_min = 0;
		return wire_pack(&r.base, ret_body, ret_len);
	} else if (h->opcode == WIRE_OP_LIST_PROVIDERS) {
		/* Only the core: these services run no crypto provider. */
		ListProviders__Result r = LIST_PROVIDERS__RESULT__INIT;
		ListProviders__ProviderInfo core = LIST_PROVIDERS__PROVIDER_INFO__INIT, *list[1];
		uint32_t ver[3];

		ts_version(ver);
		core.uuid = WIRE_CORE_PROVIDER_UUID;
		core.description = "Tessera identity service core";
		core.vendor = "Tessera";
		core.version_maj = ver[0];
		core.version_min = ver[1];
		core.version_rev = ver[2];
		list[0] = &core;
		r.n_providers = 1;
		r.providers = list;
		return wire_pack(&r.base, ret_body, ret_len);
	} else if (h->opcode == WIRE_OP_LIST_AUTHENTICATORS) {
		/* Callers are known by their peer credentials, not by auth bytes. */
		ListAuthenticators__Result r = LIST_AUTHENTICATORS__RESULT__INIT;

		return wire_pack(&r.base, ret_body, ret_len);
	} else {
		ListOpcodes__Result r = LIST_OPCODES__RESULT__INIT;

		r.n_opcodes = s->n_opcodes;
		r.opcodes = (uint32_t *)s->opcodes;
		return wire_pack(&r.base, ret_body, ret_len);
	}
}

/* Answer the whole request the framer holds; whether the connection stays
 * open for another. */
static bool process(struct conn *c)
{
	const struct wire_header *h = &c->fr.h;
	uint8_t *out = NULL;
	size_t out_len = 0;
	enum ts_err err = wire_check_fields(h);
	bool keep = (h->flags & WIRE_FLAG_KEEP_OPEN) != 0;

	if (err == TS_OK && h->provider != WIRE_PROVIDER_CORE)
		err = TS_E_PROVIDER_NOT_REGISTERED;
	if (err == TS_OK) {
		if (h->opcode == WIRE_OP_PING || h->opcode == WIRE_OP_LIST_OPCODES ||
		    h->opcode == WIRE_OP_LIST_PROVIDERS || h->opcode == WIRE_OP_LIST_AUTHENTICATORS)
			err = builtin(c->srv, h, c->fr.payload, &out, &out_len);
		else
			err = c->srv->fn(c->srv->ctx, &c->peer, h->opcode, c->fr.payload,
			                 h->body_len, &out, &out_len);
	}
	send_reply(c, h, err, out, out_len, !keep);
	if (out != NULL)
		ts_free_secret(out, out_len); /* tokens */
	return keep;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *ret)
{
	struct conn *c = h->data;
	uint8_t *p;
	size_t len;

	(void)suggested;
	if (c->closing ||
	    wire_framer_buffer(&c->fr, c->scratch, sizeof(c->scratch), &p, &len) != TS_OK) {
		*ret = uv_buf_init(NULL, 0);
		return;
	}
	*ret = uv_buf_init((char *)p, (unsigned)len);
}

static void on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *b)
{
	struct conn *c = st->data;
	bool was_started = wire_framer_started(&c->fr);

	(void)b;
	if (n < 0) {
		conn_close(c);
		return;
	}
	if (n == 0 || c->closing)
		return;
	switch (wire_framer_got(&c->fr, (size_t)n)) {
	case WF_DONE:
		if (!process(c)) {
			uv_read_stop(st); /* the close follows the response */
			wire_framer_release(&c->fr);
			return;
		}
		wire_framer_release(&c->fr);
		wire_framer_init(&c->fr, BODY_LIMIT);
		uv_timer_start(&c->timer, on_timeout, IDLE_MS, 0);
		return;
	case WF_FAILED:
		/* Out of step with the stream: answer, read no more, close. */
		uv_read_stop(st);
		send_reply(c, NULL, c->fr.err, NULL, 0, true);
		return;
	default:
		/* The first bytes of a request: the whole of it is due in time. */
		if (!was_started)
			uv_timer_start(&c->timer, on_timeout, DEADLINE_MS, 0);
		return;
	}
}

static uint64_t boot_ticks(void)
{
	struct timespec ts;
	long hz = sysconf(_SC_CLK_TCK);

	if (hz <= 0 || clock_gettime(CLOCK_BOOTTIME, &ts) != 0)
		return 0;
	return (uint64_t)ts.tv_sec * (uint64_t)hz +
	       (uint64_t)ts.tv_nsec / (1000000000u / (uint64_t)hz);
}

static void get_peer(struct conn *c)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);
	uv_os_fd_t fd;

	if (uv_fileno((uv_handle_t *)&c->pipe, &fd) == 0 &&
	    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) == 0) {
		c->peer.valid = true;
		c->peer.pid = cr.pid;
		c->peer.uid = cr.uid;
		c->peer.gid = cr.gid;
		c->peer.accept_ticks = boot_ticks();
	}
}

static void on_connection(uv_stream_t *l, int status)
{
	struct idsrv *s = l->data;
	struct conn *c;

	if (status < 0)
		return;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return;
	c->srv = s;
	wire_framer_init(&c->fr, BODY_LIMIT);
	if (uv_pipe_init(s->loop, &c->pipe, 0) != 0) {
		free(c);
		return;
	}
	c->pipe.data = c;
	c->handles = 1;
	uv_timer_init(s->loop, &c->timer);
	c->timer.data = c;
	c->handles = 2;
	s->n_conns++;
	if (uv_accept(l, (uv_stream_t *)&c->pipe) != 0 || s->n_conns > MAX_CONNECTIONS) {
		conn_close(c);
		return;
	}
	get_peer(c);
	if (c->peer.valid) {
		c->counted = true;
		if (uid_count(s, c->peer.uid, +1) > MAX_PER_UID) {
			conn_close(c);
			return;
		}
	}
	uv_read_start((uv_stream_t *)&c->pipe, on_alloc, on_read);
	uv_timer_start(&c->timer, on_timeout, IDLE_MS, 0);
}

/* The socket systemd passed (socket activation, one socket), or -1. */
static int activated_fd(void)
{
	const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");

	if (pid == NULL || fds == NULL || strtol(pid, NULL, 10) != (long)getpid() ||
	    strcmp(fds, "1") != 0)
		return -1;
	return 3;
}

static int idsrv_start(uv_loop_t *loop, const char *path, unsigned mode, const uint32_t *opcodes,
                       size_t n_opcodes, idsrv_fn fn, void *ctx, struct idsrv **ret)
{
	struct idsrv *s;
	struct stat sb;
	int rc;

	if (strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
		ts_error("socket path %s is too long for a Unix socket", path);
		return -1;
	}
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return -1;
	s->loop = loop;
	s->fn = fn;
	s->ctx = ctx;
	s->opcodes = opcodes;
	s->n_opcodes = n_opcodes;
	uv_pipe_init(loop, &s->listener, 0);
	s->listener.data = s;
	if (activated_fd() >= 0) {
		/* systemd made the socket (path, mode and owner are the unit's). */
		rc = uv_pipe_open(&s->listener, activated_fd());
	} else {
		/* A socket left by an earlier run; anything else is not ours. */
		if (lstat(path, &sb) == 0 && S_ISSOCK(sb.st_mode))
			unlink(path);
		rc = uv_pipe_bind(&s->listener, path);
		if (rc == 0)
			rc = chmod(path, mode) == 0 ? 0 : -errno;
	}
	if (rc == 0)
		rc = uv_listen((uv_stream_t *)&s->listener, 128, on_connection);
	if (rc != 0) {
		ts_error("cannot listen on %s: %s", path, rc < -1 ? uv_strerror(rc) : "error");
		uv_close((uv_handle_t *)&s->listener, NULL);
		uv_run(loop, UV_RUN_NOWAIT);
		free(s);
		return -1;
	}
	*ret = s;
	return 0;
}

static void listener_closed(uv_handle_t *h)
{
	free(h->data);
}

struct serve_state {
	uv_timer_t tick;
	uv_signal_t sigterm, sigint;
	struct idsrv *srv;
	void (*fn)(void *ctx);
	void *ctx;
};

static void serve_tick(uv_timer_t *t)
{
	struct serve_state *s = t->data;

	s->fn(s->ctx);
}

static void serve_signal(uv_signal_t *sig, int signum)
{
	struct serve_state *s = sig->data;

	ts_info("signal %d: stopping", signum);
	uv_timer_stop(&s->tick);
	uv_close((uv_handle_t *)&s->tick, NULL);
	uv_close((uv_handle_t *)&s->sigterm, NULL);
	uv_close((uv_handle_t *)&s->sigint, NULL);
	if (s->srv != NULL)
		uv_close((uv_handle_t *)&s->srv->listener, listener_closed);
}

int idsrv_serve(const char *path, unsigned mode, const uint32_t *opcodes, size_t n_opcodes,
                idsrv_fn fn, void (*tick)(void *ctx), uint64_t tick_ms, void *ctx)
{
	uv_loop_t *loop = uv_default_loop();
	struct serve_state s = {.fn = tick, .ctx = ctx};

	/* Stop signals are handled from before the socket exists. */
	uv_timer_init(loop, &s.tick);
	s.tick.data = &s;
	uv_signal_init(loop, &s.sigterm);
	uv_signal_init(loop, &s.sigint);
	s.sigterm.data = s.sigint.data = &s;
	uv_signal_start(&s.sigterm, serve_signal, SIGTERM);
	uv_signal_start(&s.sigint, serve_signal, SIGINT);
	if (idsrv_start(loop, path, mode, opcodes, n_opcodes, fn, ctx, &s.srv) != 0)
		return -1;
	ts_info("listening on %s", path);
	tick(ctx);
	uv_timer_start(&s.tick, serve_tick, tick_ms, tick_ms);
	uv_run(loop, UV_RUN_DEFAULT);
	uv_loop_close(loop);
	unlink(path);
	return 0;
}
