/*
 * The libuv front end of tesserad: the listening socket, connections,
 * framing, deadlines, back-pressure, signals and reload.
 *
 * Everything here runs on the loop thread except work_cb, which runs on a
 * libuv worker and only calls dispatch_request(). One request per connection
 * is in flight at a time, so responses leave in the order requests came.
 */
#include "daemon/daemon-priv.h"

#include <errno.h>
#include <signal.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "common/log.h"
#include "common/secmem.h"

/* Bytes the payload buffer starts with; it grows only as bytes arrive, so
 * memory follows what a client really sent, not what it declared. */
#define PAYLOAD_CHUNK 4096
/* How long a drain may take before remaining connections are cut. */
#define DRAIN_LIMIT_MS 30000

enum conn_state {
	CS_PREFIX,  /* reading magic + header size */
	CS_HEADER,  /* reading the rest of the 36-byte header */
	CS_DISCARD, /* reading a header of the wrong size, to answer InvalidHeader */
	CS_PAYLOAD, /* reading body + auth */
	CS_QUEUED,  /* whole request read, waiting for a worker slot */
	CS_WORKING, /* on a worker thread */
	CS_WRITING, /* response being written */
	CS_CLOSING,
};

struct uid_count {
	uid_t uid;
	unsigned n;
};

struct conn {
	uv_pipe_t pipe;
	uv_timer_t timer;
	uv_work_t work;
	uv_write_t wreq;
	struct server *srv;
	struct conn *prev, *next; /* every open connection */
	struct conn *wnext;       /* queue of requests waiting for a worker */
	struct auth_peer peer;
	enum conn_state state;
	uint8_t hdr[WIRE_HEADER_LEN];
	size_t have; /* bytes of the current stage received */
	uint32_t discard_left;
	struct wire_header h;
	uint8_t *payload;
	size_t payload_len, payload_cap;
	struct svc_state *st; /* pinned while the request runs */
	struct dispatch_reply reply;
	bool close_after_write;
	bool close_after_work;
	bool idle; /* between requests on a persistent connection */
	int open_handles;
};

struct server {
	uv_loop_t *loop;
	uv_pipe_t listen;
	bool listen_open;
	char *bound_path; /* socket file we created (unlinked at exit) */
	uv_signal_t sig_term, sig_int, sig_hup;
	uv_timer_t drain_timer;
	bool drain_timer_open;
	struct svc_state *st;
	const struct server_opts *opts;
	struct conn *conns;
	unsigned n_conns;
	struct uid_count *uids;
	size_t n_uids;
	unsigned in_flight;
	struct conn *wait_head, *wait_tail;
	bool draining;
	uint64_t rejected;
	int exit_code;
};

static void conn_close(struct conn *c);
static void conn_read_next(struct conn *c);
static void start_work(struct conn *c);

/* ---- per-uid connection counts ---- */

static struct uid_count *uid_slot(struct server *srv, uid_t uid, bool create)
{
	struct uid_count *grown;

	for (size_t i = 0; i < srv->n_uids; i++)
		if (srv->uids[i].uid == uid)
			return &srv->uids[i];
	if (!create)
		return NULL;
	grown = realloc(srv->uids, (srv->n_uids + 1) * sizeof(*grown));
	if (grown == NULL)
		return NULL;
	srv->uids = grown;
	srv->uids[srv->n_uids] = (struct uid_count){.uid = uid, .n = 0};
	return &srv->uids[srv->n_uids++];
}

static void uid_release(struct server *srv, uid_t uid)
{
	struct uid_count *u = uid_slot(srv, uid, false);

	if (u == NULL)
		return;
	if (--u->n == 0)
		*u = srv->uids[--srv->n_uids]; /* keep the table as small as the live uids */
}

/* ---- closing ---- */

/* The last step of a shutdown: with nothing left to serve, the loop ends
 * once these handles are closed. */
static void close_signals(struct server *srv)
{
	uv_close((uv_handle_t *)&srv->sig_term, NULL);
	uv_close((uv_handle_t *)&srv->sig_int, NULL);
	uv_close((uv_handle_t *)&srv->sig_hup, NULL);
	/* libuv puts back the default actions; a second stop signal during
	 * the last clean-up must not kill the process with a signal status. */
	signal(SIGTERM, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	if (srv->drain_timer_open) {
		uv_close((uv_handle_t *)&srv->drain_timer, NULL);
		srv->drain_timer_open = false;
	}
}

static void on_handle_closed(uv_handle_t *h)
{
	struct conn *c = h->data;
	struct server *srv = c->srv;

	if (--c->open_handles > 0)
		return;
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		srv->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	srv->n_conns--;
	if (c->peer.valid)
		uid_release(srv, c->peer.uid);
	ts_free_secret(c->payload, c->payload_cap);
	dispatch_reply_free(&c->reply);
	free(c);

	if (srv->draining && srv->n_conns == 0)
		close_signals(srv);
}

static void wait_remove(struct server *srv, struct conn *c)
{
	struct conn **pp = &srv->wait_head, *prev = NULL;

	while (*pp != NULL && *pp != c) {
		prev = *pp;
		pp = &(*pp)->wnext;
	}
	if (*pp == NULL)
		return;
	*pp = c->wnext;
	if (srv->wait_tail == c)
		srv->wait_tail = prev;
	c->wnext = NULL;
}

static void conn_close(struct conn *c)
{
	if (c->state == CS_CLOSING)
		return;
	if (c->state == CS_WORKING) {
		/* The worker still uses the request; close when it is done. */
		c->close_after_work = true;
		return;
	}
	if (c->state == CS_QUEUED)
		wait_remove(c->srv, c);
	c->state = CS_CLOSING;
	uv_read_stop((uv_stream_t *)&c->pipe);
	uv_close((uv_handle_t *)&c->timer, on_handle_closed);
	uv_close((uv_handle_t *)&c->pipe, on_handle_closed);
}

/* ---- writing ---- */

static void on_timer(uv_timer_t *t);

static void on_write(uv_write_t *req, int status)
{
	struct conn *c = req->data;

	dispatch_reply_free(&c->reply);
	if (c->state == CS_CLOSING)
		return;
	uv_timer_stop(&c->timer);
	if (status < 0 || c->close_after_write || c->srv->draining) {
		conn_close(c);
		return;
	}
	conn_read_next(c);
}

static void write_reply(struct conn *c)
{
	uv_buf_t buf = uv_buf_init((char *)dispatch_reply_bytes(&c->reply), (unsigned)c->reply.len);
	int rc;

	c->state = CS_WRITING;
	/* A client that does not read its response is cut after the same
	 * deadline a request gets. */
	uv_timer_start(&c->timer, on_timer, c->srv->st->cfg->listener.timeout_ms, 0);
	c->wreq.data = c;
	rc = uv_write(&c->wreq, (uv_stream_t *)&c->pipe, &buf, 1, on_write);
	if (rc < 0) {
		dispatch_reply_free(&c->reply);
		conn_close(c);
	}
}

/* A framing error or deadline: Parsec's default header with the status,
 * then close, because the stream is out of step with the header. */
static void fail(struct conn *c, enum ts_err err)
{
	uv_read_stop((uv_stream_t *)&c->pipe);
	uv_timer_stop(&c->timer);
	reply_status(NULL, err, &c->reply);
	c->close_after_write = true;
	write_reply(c);
}

/* ---- work ---- */

static void work_cb(uv_work_t *w)
{
	struct conn *c = w->data;

	dispatch_request(c->st, &c->peer, &c->h, c->payload, &c->reply);
}

static void after_work_cb(uv_work_t *w, int status)
{
	struct conn *c = w->data;
	struct server *srv = c->srv;

	(void)status;
	srv->in_flight--;
	svc_state_unref(c->st);
	c->st = NULL;
	/* The auth bytes may be a secret: wipe them with the body. */
	ts_free_secret(c->payload, c->payload_cap);
	c->payload = NULL;
	c->payload_cap = c->payload_len = 0;

	while (srv->wait_head != NULL && srv->in_flight < srv->st->cfg->core.max_in_flight) {
		struct conn *next = srv->wait_head;

		srv->wait_head = next->wnext;
		if (srv->wait_head == NULL)
			srv->wait_tail = NULL;
		next->wnext = NULL;
		start_work(next);
	}

	if (c->close_after_work) {
		c->state = CS_WRITING; /* leave CS_WORKING so conn_close proceeds */
		dispatch_reply_free(&c->reply);
		conn_close(c);
		return;
	}
	write_reply(c);
}

static void start_work(struct conn *c)
{
	struct server *srv = c->srv;
	int rc;

	srv->in_flight++;
	c->st = svc_state_ref(srv->st);
	c->state = CS_WORKING;
	c->work.data = c;
	rc = uv_queue_work(srv->loop, &c->work, work_cb, after_work_cb);
	if (rc < 0) {
		ts_error("cannot queue work: %s", uv_strerror(rc));
		srv->in_flight--;
		svc_state_unref(c->st);
		c->st = NULL;
		c->state = CS_PAYLOAD;
		fail(c, TS_E_PSA_INSUFFICIENT_MEMORY);
	}
}

/*
 * Discovery operations of the core read only in-memory tables, and the
 * authenticators that need no I/O cost less than handing the request to a
 * worker and back (two thread switches, measured at over half of a Ping's
 * latency). Those are answered on the loop thread; everything else, and any
 * authenticator that may verify a signature or touch storage, goes to a
 * worker.
 */
static bool answer_inline(const struct wire_header *h)
{
	if (h->provider != WIRE_PROVIDER_CORE)
		return false;
	if (h->auth_type != WIRE_AUTH_NONE && h->auth_type != WIRE_AUTH_DIRECT &&
	    h->auth_type != WIRE_AUTH_UNIX_PEER)
		return false;
	switch (h->opcode) {
	case WIRE_OP_PING:
	case WIRE_OP_LIST_PROVIDERS:
	case WIRE_OP_LIST_OPCODES:
	case WIRE_OP_LIST_AUTHENTICATORS:
		return true;
	default:
		return false;
	}
}

static void request_complete(struct conn *c)
{
	struct server *srv = c->srv;
	enum ts_err err;

	uv_read_stop((uv_stream_t *)&c->pipe);
	uv_timer_stop(&c->timer);
	/* Step 7: the request is whole, so a failure here keeps the stream in
	 * step; the answer still uses the default header, as in Parsec. */
	err = wire_check_fields(&c->h);
	if (err != TS_OK) {
		ts_free_secret(c->payload, c->payload_cap);
		c->payload = NULL;
		c->payload_cap = c->payload_len = 0;
		reply_status(NULL, err, &c->reply);
		write_reply(c);
		return;
	}
	if (answer_inline(&c->h)) {
		/* The loop thread owns srv->st (reloads run here too), so no
		 * reference is needed for a request finished before returning. */
		dispatch_request(srv->st, &c->peer, &c->h, c->payload, &c->reply);
		ts_free_secret(c->payload, c->payload_cap);
		c->payload = NULL;
		c->payload_cap = c->payload_len = 0;
		write_reply(c);
		return;
	}
	if (srv->in_flight < srv->st->cfg->core.max_in_flight) {
		start_work(c);
		return;
	}
	/* Back-pressure: the request waits here, and since this connection is
	 * not read meanwhile, its client cannot pile more on. */
	c->state = CS_QUEUED;
	if (srv->wait_tail != NULL)
		srv->wait_tail->wnext = c;
	else
		srv->wait_head = c;
	srv->wait_tail = c;
}

/* ---- reading ---- */

static uint8_t discard_buf[4096]; /* loop thread only */

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct conn *c = h->data;

	(void)suggested;
	switch (c->state) {
	case CS_PREFIX:
		*buf = uv_buf_init((char *)c->hdr + c->have, (unsigned)(WIRE_PREFIX_LEN - c->have));
		return;
	case CS_HEADER:
		*buf = uv_buf_init((char *)c->hdr + c->have, (unsigned)(WIRE_HEADER_LEN - c->have));
		return;
	case CS_DISCARD:
		*buf = uv_buf_init((char *)discard_buf, c->discard_left < sizeof(discard_buf)
		                                                ? c->discard_left
		                                                : sizeof(discard_buf));
		return;
	case CS_PAYLOAD:
		if (c->have == c->payload_cap) {
			size_t cap = c->payload_cap ? c->payload_cap * 2 : PAYLOAD_CHUNK;
			uint8_t *grown;

			if (cap > c->payload_len)
				cap = c->payload_len;
			grown = malloc(cap);
			if (grown == NULL) {
				*buf = uv_buf_init(NULL, 0); /* read_cb gets UV_ENOBUFS */
				return;
			}
			if (c->payload != NULL)
				memcpy(grown, c->payload, c->have);
			ts_free_secret(c->payload, c->payload_cap);
			c->payload = grown;
			c->payload_cap = cap;
		}
		*buf = uv_buf_init((char *)c->payload + c->have,
		                   (unsigned)(c->payload_cap - c->have));
		return;
	default:
		*buf = uv_buf_init(NULL, 0);
		return;
	}
}

static void header_done(struct conn *c)
{
	enum ts_err err;

	wire_header_decode(c->hdr, &c->h);
	err = wire_check_header(&c->h, c->srv->st->cfg->core.body_len_limit);
	if (err != TS_OK) {
		fail(c, err);
		return;
	}
	c->payload_len = (size_t)c->h.body_len + c->h.auth_len;
	c->have = 0;
	if (c->payload_len == 0) {
		request_complete(c);
		return;
	}
	c->state = CS_PAYLOAD;
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct conn *c = s->data;
	uint32_t magic;
	uint16_t hdr_size;

	(void)buf;
	if (nread == 0)
		return;
	if (nread < 0) {
		if (c->idle || (c->state == CS_PREFIX && c->have == 0) || nread != UV_EOF) {
			conn_close(c);
			return;
		}
		/* Parsec answers a request cut short with ConnectionError. */
		fail(c, TS_E_CONNECTION_ERROR);
		return;
	}
	if (c->idle) {
		/* First byte of the next request: its deadline starts now. */
		c->idle = false;
		uv_timer_start(&c->timer, on_timer, c->srv->st->cfg->listener.timeout_ms, 0);
	}
	switch (c->state) {
	case CS_PREFIX:
		c->have += (size_t)nread;
		if (c->have >= 4) {
			wire_prefix_decode(c->hdr, &magic, &hdr_size);
			if (wire_check_magic(magic) != TS_OK) {
				fail(c, TS_E_INVALID_HEADER);
				return;
			}
		}
		if (c->have < WIRE_PREFIX_LEN)
			return;
		wire_prefix_decode(c->hdr, &magic, &hdr_size);
		if (hdr_size != WIRE_HEADER_SIZE_VALUE) {
			/* Parsec reads the declared header size before it rejects it. */
			if (hdr_size == 0) {
				fail(c, TS_E_INVALID_HEADER);
				return;
			}
			c->discard_left = hdr_size;
			c->state = CS_DISCARD;
			return;
		}
		c->state = CS_HEADER;
		return;
	case CS_HEADER:
		c->have += (size_t)nread;
		if (c->have == WIRE_HEADER_LEN)
			header_done(c);
		return;
	case CS_DISCARD:
		c->discard_left -= (uint32_t)nread;
		if (c->discard_left == 0)
			fail(c, TS_E_INVALID_HEADER);
		return;
	case CS_PAYLOAD:
		c->have += (size_t)nread;
		if (c->have == c->payload_len)
			request_complete(c);
		return;
	default:
		return;
	}
}

static void on_timer(uv_timer_t *t)
{
	struct conn *c = t->data;

	switch (c->state) {
	case CS_PREFIX:
		if (c->idle) {
			conn_close(c); /* an idle persistent connection: no request to answer */
			return;
		}
		/* fall through */
	case CS_HEADER:
	case CS_DISCARD:
	case CS_PAYLOAD:
		/* The whole request did not arrive in time. */
		fail(c, TS_E_CONNECTION_ERROR);
		return;
	case CS_WRITING:
		conn_close(c);
		return;
	default:
		return;
	}
}

static void conn_read_next(struct conn *c)
{
	uint32_t idle_ms = c->srv->st->cfg->listener.idle_timeout_ms;

	c->state = CS_PREFIX;
	c->have = 0;
	c->close_after_write = false;
	c->idle = true;
	if (idle_ms > 0)
		uv_timer_start(&c->timer, on_timer, idle_ms, 0);
	if (uv_read_start((uv_stream_t *)&c->pipe, on_alloc, on_read) < 0)
		conn_close(c);
}

/* ---- accepting ---- */

static void reject_closed(uv_handle_t *h)
{
	free(h);
}

/* Close callback for a connection that was never registered. */
static void conn_free_unregistered(uv_handle_t *h)
{
	free(h->data);
}

static void on_connection(uv_stream_t *server, int status)
{
	struct server *srv = server->data;
	const struct ts_config *cfg = srv->st->cfg;
	struct conn *c;
	struct ucred cred;
	socklen_t len = sizeof(cred);
	uv_os_fd_t fd;
	struct uid_count *u = NULL;

	if (status < 0) {
		/* EMFILE and friends: libuv has already shed the pending
		 * connection; keep serving the ones we have. Say so at most once
		 * a second: a full table makes every connect fail. */
		static uint64_t last_ms;
		uint64_t now = uv_now(srv->loop);

		if (now - last_ms >= 1000 || last_ms == 0) {
			last_ms = now;
			if (status == UV_EMFILE || status == UV_ENFILE)
				ts_warn("accept failed: out of file descriptors (%s); new "
				        "connections "
				        "are refused until some close: raise the descriptor limit "
				        "(LimitNOFILE=) or lower listener.max_connections",
				        uv_strerror(status));
			else
				ts_warn("accept failed: %s", uv_strerror(status));
		}
		return;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		/* Take the connection off the backlog so the listener goes on. */
		uv_pipe_t *p = malloc(sizeof(*p));

		ts_error("out of memory accepting a connection");
		if (p == NULL || uv_pipe_init(srv->loop, p, 0) != 0) {
			free(p);
			return;
		}
		(void)uv_accept(server, (uv_stream_t *)p);
		uv_close((uv_handle_t *)p, reject_closed);
		return;
	}
	c->srv = srv;
	uv_pipe_init(srv->loop, &c->pipe, 0);
	c->pipe.data = c;
	c->open_handles = 1;
	if (uv_accept(server, (uv_stream_t *)&c->pipe) < 0) {
		c->state = CS_CLOSING;
		uv_close((uv_handle_t *)&c->pipe, conn_free_unregistered);
		return;
	}
	if (uv_fileno((uv_handle_t *)&c->pipe, &fd) == 0 &&
	    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) {
		c->peer.valid = true;
		c->peer.pid = cred.pid;
		c->peer.uid = cred.uid;
		c->peer.gid = cred.gid;
	}
	if (c->peer.valid)
		u = uid_slot(srv, c->peer.uid, true);
	if (srv->draining || srv->n_conns >= cfg->listener.max_connections ||
	    (c->peer.valid && (u == NULL || u->n >= cfg->listener.max_connections_per_uid))) {
		/* Over a cap: the connection is closed unanswered. Warn once
		 * in a while, not per connection, so a flood cannot flood the log. */
		if (srv->rejected++ % 1000 == 0)
			ts_warn("connection refused (uid %u): %u open, caps %u total, %u per uid",
			        (unsigned)c->peer.uid, srv->n_conns, cfg->listener.max_connections,
			        cfg->listener.max_connections_per_uid);
		if (u != NULL && u->n == 0)
			*u = srv->uids[--srv->n_uids]; /* the slot made for this one */
		c->state = CS_CLOSING;
		uv_close((uv_handle_t *)&c->pipe, conn_free_unregistered);
		return;
	}
	if (u != NULL)
		u->n++;
	else
		c->peer.valid = false; /* no uid slot: count it nowhere, trust it nowhere */
	c->next = srv->conns;
	if (srv->conns != NULL)
		srv->conns->prev = c;
	srv->conns = c;
	srv->n_conns++;

	uv_timer_init(srv->loop, &c->timer);
	c->timer.data = c;
	c->open_handles = 2;
	/* The first request's deadline runs from accept, as Parsec's read
	 * timeout does: a client that connects and says nothing is cut. */
	c->state = CS_PREFIX;
	uv_timer_start(&c->timer, on_timer, cfg->listener.timeout_ms, 0);
	if (uv_read_start((uv_stream_t *)&c->pipe, on_alloc, on_read) < 0)
		conn_close(c);
}

/* ---- the listening socket ---- */

static int bind_path(struct server *srv, const struct ts_config *cfg, char *err, size_t errlen)
{
	const char *path = cfg->listener.socket_path;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct stat sb;
	int fd = -1, rc;

	/* libuv 1.44 would silently cut a long path; refuse instead. */
	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen,
		         "listener.socket_path is %zu bytes long; a Unix socket path must be "
		         "shorter than %zu bytes",
		         strlen(path), sizeof(sa.sun_path));
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if (lstat(path, &sb) == 0) {
		if (!S_ISSOCK(sb.st_mode)) {
			snprintf(err, errlen, "%s exists and is not a socket; not replacing it",
			         path);
			return -1;
		}
		/* A socket file is left by a previous run; replace it unless a
		 * live daemon still answers on it. */
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			close(fd);
			snprintf(err, errlen, "another process is listening on %s", path);
			return -1;
		}
		if (fd >= 0)
			close(fd);
		unlink(path);
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	/* The umask (077) keeps the new file private until chmod below. */
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		snprintf(err, errlen, "cannot bind %s: %s", path, strerror(errno));
		goto fail;
	}
	if (cfg->listener.socket_group != NULL) {
		struct group *gr = getgrnam(cfg->listener.socket_group);

		if (gr == NULL) {
			snprintf(err, errlen, "listener.socket_group: no group named \"%s\"",
			         cfg->listener.socket_group);
			goto fail_unlink;
		}
		if (chown(path, (uid_t)-1, gr->gr_gid) < 0) {
			snprintf(err, errlen, "cannot give %s to group %s: %s", path,
			         cfg->listener.socket_group, strerror(errno));
			goto fail_unlink;
		}
	}
	if (chmod(path, cfg->listener.socket_mode) < 0) {
		snprintf(err, errlen, "cannot chmod %s: %s", path, strerror(errno));
		goto fail_unlink;
	}
	srv->bound_path = strdup(path);
	rc = uv_pipe_open(&srv->listen, fd);
	if (rc < 0 || srv->bound_path == NULL) {
		snprintf(err, errlen, "cannot use the socket: %s",
		         rc < 0 ? uv_strerror(rc) : "out of memory");
		goto fail_unlink;
	}
	return 0;
fail_unlink:
	unlink(path);
fail:
	close(fd);
	return -1;
}

static int open_listener(struct server *srv, char *err, size_t errlen)
{
	int n = sd_listen_fds(1);
	int rc;

	uv_pipe_init(srv->loop, &srv->listen, 0);
	srv->listen.data = srv;
	srv->listen_open = true;
	if (n > 1) {
		snprintf(err, errlen, "systemd passed %d sockets; tesserad takes exactly one", n);
		return -1;
	}
	if (n == 1) {
		if (sd_is_socket_unix(SD_LISTEN_FDS_START, SOCK_STREAM, 1, NULL, 0) <= 0) {
			snprintf(err, errlen,
			         "the socket from systemd is not a listening "
			         "Unix stream socket");
			return -1;
		}
		rc = uv_pipe_open(&srv->listen, SD_LISTEN_FDS_START);
		if (rc < 0) {
			snprintf(err, errlen, "cannot use the socket from systemd: %s",
			         uv_strerror(rc));
			return -1;
		}
		ts_info("listening on the socket passed by systemd");
	} else if (bind_path(srv, srv->st->cfg, err, errlen) < 0) {
		return -1;
	}
	rc = uv_listen((uv_stream_t *)&srv->listen, SOMAXCONN, on_connection);
	if (rc < 0) {
		snprintf(err, errlen, "listen: %s", uv_strerror(rc));
		return -1;
	}
	return 0;
}

/* ---- signals ---- */

static void on_drain_timer(uv_timer_t *t)
{
	struct server *srv = t->data;

	ts_warn("shutdown: %u connection(s) still busy after %d ms; closing them", srv->n_conns,
	        DRAIN_LIMIT_MS);
	for (struct conn *c = srv->conns, *next; c != NULL; c = next) {
		next = c->next;
		conn_close(c);
	}
}

static void begin_drain(struct server *srv, const char *why)
{
	if (srv->draining)
		return;
	srv->draining = true;
	notify_stopping();
	ts_info("%s: no longer accepting; finishing %u request(s) in flight", why, srv->in_flight);
	if (srv->listen_open) {
		uv_close((uv_handle_t *)&srv->listen, NULL);
		srv->listen_open = false;
	}
	/* Connections with no request in progress go now; the others close
	 * after their response is written (on_write sees draining). */
	for (struct conn *c = srv->conns, *next; c != NULL; c = next) {
		next = c->next;
		if (c->state == CS_PREFIX || c->state == CS_HEADER || c->state == CS_DISCARD ||
		    c->state == CS_PAYLOAD)
			conn_close(c);
	}
	if (srv->n_conns == 0) {
		close_signals(srv);
		return;
	}
	uv_timer_init(srv->loop, &srv->drain_timer);
	srv->drain_timer.data = srv;
	srv->drain_timer_open = true;
	uv_timer_start(&srv->drain_timer, on_drain_timer, DRAIN_LIMIT_MS, 0);
	uv_unref((uv_handle_t *)&srv->drain_timer);
}

static void on_stop_signal(uv_signal_t *s, int signum)
{
	begin_drain(s->data, signum == SIGTERM ? "SIGTERM" : "SIGINT");
}

/* Settings fixed at start-up; a reload that changes them is told so. */
static void keep_startup_settings(const struct ts_config *old, struct ts_config *new)
{
	if (strcmp(old->listener.socket_path, new->listener.socket_path) != 0)
		ts_warn("reload: listener.socket_path changed; it takes effect at restart");
	if (new->core.threads != old->core.threads)
		ts_warn("reload: core.threads changed; it takes effect at restart");
	new->core.threads = old->core.threads;
}

static void on_hup(uv_signal_t *s, int signum)
{
	struct server *srv = s->data;
	struct ts_config *cfg;
	struct svc_state *st, *old;
	char err[512];

	(void)signum;
	if (srv->draining)
		return;
	notify_reloading();
	if (srv->opts->config_path == NULL) {
		ts_warn("SIGHUP: running on the embedded default configuration; nothing to "
		        "reload");
		notify_ready();
		return;
	}
	cfg = config_load_file(srv->opts->config_path, err, sizeof(err));
	if (cfg == NULL) {
		ts_error("reload failed, keeping the running configuration: %s", err);
		notify_ready();
		return;
	}
	if (apply_overrides(cfg, srv->opts) != 0) {
		ts_error("reload failed, keeping the running configuration: out of memory");
		config_free(cfg);
		notify_ready();
		return;
	}
	resolve_defaults(cfg);
	keep_startup_settings(srv->st->cfg, cfg);
	if (strcmp(srv->st->cfg->key_store.path, cfg->key_store.path) != 0)
		ts_warn("reload: key_store.path changed; it takes effect at restart");
	if (srv->st->cfg->trust.configured != cfg->trust.configured ||
	    srv->st->cfg->trust.peer_uid != cfg->trust.peer_uid ||
	    srv->st->cfg->trust.peer_gid != cfg->trust.peer_gid)
		ts_warn("reload: trust.* changed; it takes effect at restart");
	if (svc_state_new(cfg, srv->st->ks, srv->st->trust, &st, err, sizeof(err)) != TS_OK) {
		ts_error("reload failed, keeping the running configuration: %s", err);
		config_free(cfg);
		notify_ready();
		return;
	}
	old = srv->st;
	srv->st = st;
	svc_state_unref(old); /* requests still running keep their own reference */
	ts_log_set_level(st->cfg->core.log_level);
	ts_info("configuration reloaded from %s", srv->opts->config_path);
	notify_ready();
}

int server_run(struct svc_state *st, const struct server_opts *opts)
{
	struct server srv = {0};
	char err[512];
	int rc;

	srv.loop = uv_default_loop();
	srv.st = st;
	srv.opts = opts;
	/* Signals first: once the socket accepts, a reload or stop request may
	 * come at any moment, and SIGHUP's default action would kill us. */
	uv_signal_init(srv.loop, &srv.sig_term);
	uv_signal_init(srv.loop, &srv.sig_int);
	uv_signal_init(srv.loop, &srv.sig_hup);
	srv.sig_term.data = srv.sig_int.data = srv.sig_hup.data = &srv;
	uv_signal_start(&srv.sig_term, on_stop_signal, SIGTERM);
	uv_signal_start(&srv.sig_int, on_stop_signal, SIGINT);
	uv_signal_start(&srv.sig_hup, on_hup, SIGHUP);
	if (open_listener(&srv, err, sizeof(err)) < 0) {
		ts_error("%s", err);
		if (srv.listen_open)
			uv_close((uv_handle_t *)&srv.listen, NULL);
		close_signals(&srv);
		uv_run(srv.loop, UV_RUN_DEFAULT);
		svc_state_unref(srv.st);
		free(srv.bound_path);
		return 1;
	}

	ts_info("tesserad %s ready on %s (%u worker threads, %zu authenticator(s), "
	        "%zu provider(s))",
	        TESSERA_VERSION, srv.bound_path ? srv.bound_path : "the systemd socket",
	        st->cfg->core.threads, auth_set_count(st->auth), st->n_providers);
	notify_status("serving on %s", srv.bound_path ? srv.bound_path : "the systemd socket");
	notify_ready();

	rc = uv_run(srv.loop, UV_RUN_DEFAULT);
	(void)rc;
	if (srv.bound_path != NULL)
		unlink(srv.bound_path);
	free(srv.bound_path);
	free(srv.uids);
	svc_state_unref(srv.st);
	uv_loop_close(srv.loop);
	ts_info("stopped");
	return srv.exit_code;
}
