/*
 * The libuv front end of tesserad: the listening socket, connections,
 * framing, deadlines, back-pressure, signals and reload.
 *
 * Threads. The main thread's loop owns the listening socket, the signals and
 * reloads; it accepts connections and deals them out in turn to
 * core.io_threads event loops, the shards (shard 0 is the main loop itself,
 * the others run a loop each on their own thread). A connection stays on its
 * shard for life: its reads, deadlines and writes all run there. Short
 * operations run on the shard that read them (the discovery operations, and
 * crypto on a provider that computes in process with a key whose operations
 * take microseconds: request_prepare decides, before anything runs); the rest
 * go to the fair worker pool (sched.c, queued per tenant) and come back to
 * the same shard through its done_async. One request per connection is in
 * flight at a time, so responses leave in the order requests came.
 *
 * Shared between threads: the connection caps (srv->lock); each shard's
 * inbox (its inbox_lock: the main thread posts accepted connections, a
 * reloaded configuration and stop orders, then wakes the shard); the
 * reference-counted svc_state; the scheduler (its own lock); each shard's
 * list of finished work (done_lock). Everything else belongs to one thread.
 */
#include "daemon/daemon-priv.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
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
#include "wire/framer.h"

/* How long a drain may take before remaining connections are cut. */
#define DRAIN_LIMIT_MS 30000
/* Connections taken per wake-up of the listener, so a connect storm does
 * not starve the connections of shard 0, which shares the main loop. */
#define ACCEPT_BATCH 64
/* Listening paused after running out of descriptors with no spare one. */
#define ACCEPT_PAUSE_MS 100

enum conn_state {
	CS_READING, /* reading a request (the framer says how far) */
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
	uv_write_t wreq;
	struct shard *sh;
	struct conn *prev, *next; /* the shard's open connections */
	struct conn *wnext;       /* the shard's worker queue, or its inbox */
	int fd;                   /* accepted, until its shard adopts it */
	struct auth_peer peer;
	enum conn_state state;
	struct wire_framer fr; /* the request being read, then run */
	struct svc_state *st;  /* pinned while the request waits for or runs on a worker */
	struct request req;    /* the request being run */
	struct sched_job job;  /* its slow work */
	uint64_t tenant;
	struct dispatch_reply reply;
	bool close_after_write;
	bool close_after_work;
	bool keep_open; /* the request being answered asked for WIRE_FLAG_KEEP_OPEN */
	bool idle;      /* between requests on a persistent connection */
	int open_handles;
};

struct shard {
	struct server *srv;
	uv_loop_t *loop; /* the main loop for shard 0 */
	uv_loop_t own_loop;
	bool threaded;
	uv_thread_t thread;
	uv_async_t wake;
	uv_async_t done_async; /* workers hand finished requests back */
	bool done_async_open;
	uv_mutex_t done_lock;
	struct conn *done_head; /* finished on workers, to answer */

	/* Posted by the main thread (threaded shards only). */
	uv_mutex_t inbox_lock;
	struct conn *inbox_head, *inbox_tail; /* accepted, to adopt */
	struct svc_state *inbox_st;           /* a reloaded configuration */
	bool inbox_drain, inbox_force;
	bool closed; /* wake is closed: post nothing more */

	/* The shard's own thread only. */
	struct svc_state *st;
	struct conn *conns;
	unsigned n_conns;
	unsigned in_flight; /* requests of this shard on workers */
	struct conn *wait_head, *wait_tail;
	bool draining;
	bool done;
	uint8_t discard_buf[4096];

	atomic_uint assigned; /* connections dealt to it and not yet closed */
};

struct server {
	uv_loop_t *loop; /* the main loop */
	int listen_fd;
	uv_poll_t listen;
	bool listen_open;
	uv_timer_t accept_pause;
	bool accept_pause_open;
	int spare_fd;     /* given up to shed connections when descriptors run out */
	char *bound_path; /* socket file we created (unlinked at exit) */
	uv_signal_t sig_term, sig_int, sig_hup;
	uv_timer_t drain_timer;
	bool drain_timer_open;
	uv_async_t shard_done; /* a threaded shard finished its drain */
	bool shard_done_open;
	atomic_uint n_done;
	struct svc_state *st;
	const struct server_opts *opts;
	struct sched *sched;
	struct shard *shards;
	unsigned n_shards;
	bool draining;
	uint64_t rejected;
	int exit_code;

	uv_mutex_t lock; /* the caps below, counted across shards */
	unsigned n_conns;
	struct uid_count *uids;
	size_t n_uids;
};

static void conn_close(struct conn *c);
static void conn_read_next(struct conn *c);
static void start_work(struct conn *c);

/* ---- per-uid connection counts (caller holds srv->lock) ---- */

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
	if (srv->accept_pause_open) {
		uv_close((uv_handle_t *)&srv->accept_pause, NULL);
		srv->accept_pause_open = false;
	}
	if (srv->shard_done_open) {
		uv_close((uv_handle_t *)&srv->shard_done, NULL);
		srv->shard_done_open = false;
	}
}

/* Main thread: once every shard has drained, the main loop winds down. */
static void check_all_done(struct server *srv)
{
	if (atomic_load(&srv->n_done) == srv->n_shards)
		close_signals(srv);
}

static void on_shard_done(uv_async_t *a)
{
	check_all_done(a->data);
}

/* The shard's thread: draining and with no connection left, it stops. */
static void shard_finish(struct shard *sh)
{
	struct server *srv = sh->srv;

	if (sh->done)
		return;
	sh->done = true;
	/* Nothing is on a worker: a connection waits for its request before
	 * it closes, and this is the last connection gone. */
	if (sh->done_async_open) {
		uv_close((uv_handle_t *)&sh->done_async, NULL);
		sh->done_async_open = false;
	}
	if (!sh->threaded) {
		atomic_fetch_add(&srv->n_done, 1);
		check_all_done(srv);
		return;
	}
	uv_mutex_lock(&sh->inbox_lock);
	sh->closed = true;
	uv_mutex_unlock(&sh->inbox_lock);
	uv_close((uv_handle_t *)&sh->wake, NULL); /* its loop then ends */
	atomic_fetch_add(&srv->n_done, 1);
	uv_async_send(&srv->shard_done);
}

static void on_handle_closed(uv_handle_t *h)
{
	struct conn *c = h->data;
	struct shard *sh = c->sh;
	struct server *srv = sh->srv;

	if (--c->open_handles > 0)
		return;
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		sh->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	sh->n_conns--;
	uv_mutex_lock(&srv->lock);
	srv->n_conns--;
	if (c->peer.valid)
		uid_release(srv, c->peer.uid);
	uv_mutex_unlock(&srv->lock);
	wire_framer_release(&c->fr);
	dispatch_reply_free(&c->reply);
	free(c);

	if (sh->draining && sh->n_conns == 0)
		shard_finish(sh);
}

static void wait_remove(struct shard *sh, struct conn *c)
{
	struct conn **pp = &sh->wait_head, *prev = NULL;

	while (*pp != NULL && *pp != c) {
		prev = *pp;
		pp = &(*pp)->wnext;
	}
	if (*pp == NULL)
		return;
	*pp = c->wnext;
	if (sh->wait_tail == c)
		sh->wait_tail = prev;
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
	if (c->state == CS_QUEUED) {
		/* Prepared but never run: drop what it holds. */
		wait_remove(c->sh, c);
		request_discard(&c->req);
		svc_state_unref(c->st);
		c->st = NULL;
	}
	c->state = CS_CLOSING;
	/* It no longer counts for dealing out connections: a client that
	 * closes and connects again finds this shard as free as before. */
	atomic_fetch_sub(&c->sh->assigned, 1);
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
	if (status < 0 || c->close_after_write || c->sh->draining) {
		conn_close(c);
		return;
	}
	conn_read_next(c);
}

/*
 * Parsec closes the connection after every response, and clients that read a
 * response to the end of the stream wait for that close. So the connection
 * stays open only when the request asked for it, and the response says so
 * with the same flag: a client that sees no flag knows the close follows.
 */
static bool keep_after_write(const struct conn *c)
{
	return c->keep_open && !c->close_after_write && !c->sh->draining;
}

static void write_reply(struct conn *c)
{
	uv_buf_t buf = uv_buf_init((char *)dispatch_reply_bytes(&c->reply), (unsigned)c->reply.len);
	int rc;

	if (!keep_after_write(c))
		c->close_after_write = true;
	else if (c->reply.buf != NULL) /* not the shared out-of-memory reply: it closes */
		wire_header_set_flags(c->reply.buf, WIRE_FLAG_KEEP_OPEN);
	else
		c->close_after_write = true;
	c->state = CS_WRITING;
	/* A client that does not read its response is cut after the same
	 * deadline a request gets. */
	uv_timer_start(&c->timer, on_timer, c->sh->st->cfg->listener.timeout_ms, 0);
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

/* A worker thread: finish preparing (a large body is decoded here) and run. */
static void job_run(struct sched_job *j)
{
	struct conn *c = (struct conn *)((char *)j - offsetof(struct conn, job));

	if (request_prepare(&c->req, false) != REQ_REPLY)
		request_run(&c->req);
	request_reply(&c->req, &c->reply);
}

/* A worker thread: hand the answered request back to its shard. */
static void job_done(struct sched_job *j)
{
	struct conn *c = (struct conn *)((char *)j - offsetof(struct conn, job));
	struct shard *sh = c->sh;

	uv_mutex_lock(&sh->done_lock);
	c->wnext = sh->done_head;
	sh->done_head = c;
	uv_async_send(&sh->done_async);
	uv_mutex_unlock(&sh->done_lock);
}

/* core.max_in_flight is shared evenly by the shards. */
static unsigned in_flight_limit(const struct shard *sh)
{
	unsigned n = sh->st->cfg->core.max_in_flight / sh->srv->n_shards;

	return n > 0 ? n : 1;
}

/* The waiting request to start next: the one whose tenant has the least
 * work queued or running, so a tenant with many connections does not keep
 * the others waiting here either. */
static struct conn *wait_take(struct shard *sh)
{
	struct conn *best = NULL, *prev_best = NULL, *prev = NULL;
	unsigned best_load = 0;

	for (struct conn *c = sh->wait_head; c != NULL; prev = c, c = c->wnext) {
		unsigned load = sched_tenant_load(sh->srv->sched, c->tenant);

		if (best == NULL || load < best_load) {
			best = c;
			prev_best = prev;
			best_load = load;
			if (load == 0)
				break;
		}
	}
	if (best == NULL)
		return NULL;
	if (prev_best != NULL)
		prev_best->wnext = best->wnext;
	else
		sh->wait_head = best->wnext;
	if (sh->wait_tail == best)
		sh->wait_tail = prev_best;
	best->wnext = NULL;
	return best;
}

static void work_finished(struct conn *c)
{
	struct shard *sh = c->sh;

	sh->in_flight--;
	svc_state_unref(c->st);
	c->st = NULL;
	/* The auth bytes may be a secret: wipe them with the body. */
	wire_framer_release(&c->fr);

	while (sh->wait_head != NULL && sh->in_flight < in_flight_limit(sh))
		start_work(wait_take(sh));

	if (c->close_after_work) {
		c->state = CS_WRITING; /* leave CS_WORKING so conn_close proceeds */
		dispatch_reply_free(&c->reply);
		conn_close(c);
		return;
	}
	write_reply(c);
}

/* The shard's loop: requests the workers finished. */
static void on_done(uv_async_t *a)
{
	struct shard *sh = a->data;
	struct conn *list, *rev = NULL;

	uv_mutex_lock(&sh->done_lock);
	list = sh->done_head;
	sh->done_head = NULL;
	uv_mutex_unlock(&sh->done_lock);
	/* Answer in the order they finished. */
	while (list != NULL) {
		struct conn *next = list->wnext;

		list->wnext = rev;
		rev = list;
		list = next;
	}
	while (rev != NULL) {
		struct conn *c = rev;

		rev = c->wnext;
		c->wnext = NULL;
		work_finished(c);
	}
}

static void start_work(struct conn *c)
{
	struct shard *sh = c->sh;
	enum ts_err err;

	sh->in_flight++;
	c->state = CS_WORKING;
	c->job = (struct sched_job){.tenant = c->tenant,
	                            .prov = c->req.prov,
	                            .heavy = request_heavy(&c->req),
	                            .run = job_run,
	                            .done = job_done};
	err = sched_submit(sh->srv->sched, &c->job);
	if (err != TS_OK) {
		ts_error("cannot queue work: %s", ts_strerror(err));
		sh->in_flight--;
		request_reply(&c->req, &c->reply); /* frees what it holds */
		dispatch_reply_free(&c->reply);
		svc_state_unref(c->st);
		c->st = NULL;
		c->state = CS_READING;
		fail(c, TS_E_PSA_INSUFFICIENT_MEMORY);
	}
}

static void request_complete(struct conn *c)
{
	struct shard *sh = c->sh;
	enum req_next next;
	enum ts_err err;

	uv_read_stop((uv_stream_t *)&c->pipe);
	uv_timer_stop(&c->timer);
	c->keep_open = (c->fr.h.flags & WIRE_FLAG_KEEP_OPEN) != 0;
	/* Step 7: the request is whole, so a failure here keeps the stream in
	 * step; the answer still uses the default header, as in Parsec. A
	 * provider ID past Parsec's range is an extension instance's, when one
	 * is configured (the provider is the last field checked). */
	err = wire_check_fields(&c->fr.h);
	if (err == TS_E_PROVIDER_DOES_NOT_EXIST &&
	    svc_providers_by_wire_id(sh->st->provs, c->fr.h.provider) != NULL)
		err = TS_OK;
	if (err != TS_OK) {
		wire_framer_release(&c->fr);
		reply_status(NULL, err, &c->reply);
		write_reply(c);
		return;
	}
	/* The shard holds a reference to sh->st and changes it only between
	 * callbacks, so a request finished before returning needs none. */
	request_init(&c->req, sh->st, &c->peer, &c->fr.h, c->fr.payload);
	next = request_prepare(&c->req, true);
	if (next != REQ_WORKER) {
		if (next == REQ_LOOP)
			request_run(&c->req);
		request_reply(&c->req, &c->reply);
		wire_framer_release(&c->fr);
		write_reply(c);
		return;
	}
	/* A worker finishes it, maybe after a reload: pin this state. */
	c->st = svc_state_ref(sh->st);
	c->req.st = c->st;
	c->tenant = request_tenant(&c->req);
	if (sh->in_flight < in_flight_limit(sh)) {
		start_work(c);
		return;
	}
	/* Back-pressure: the request waits here, and since this connection is
	 * not read meanwhile, its client cannot pile more on. */
	c->state = CS_QUEUED;
	if (sh->wait_tail != NULL)
		sh->wait_tail->wnext = c;
	else
		sh->wait_head = c;
	sh->wait_tail = c;
}

/* ---- reading ---- */

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct conn *c = h->data;
	uint8_t *p;
	size_t len;

	(void)suggested;
	if (c->state != CS_READING ||
	    wire_framer_buffer(&c->fr, c->sh->discard_buf, sizeof(c->sh->discard_buf), &p, &len) !=
	            TS_OK) {
		*buf = uv_buf_init(NULL, 0); /* read_cb gets UV_ENOBUFS */
		return;
	}
	*buf = uv_buf_init((char *)p, (unsigned)len);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct conn *c = s->data;

	(void)buf;
	if (nread == 0)
		return;
	if (nread < 0) {
		if (c->idle || !wire_framer_started(&c->fr) || nread != UV_EOF) {
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
		uv_timer_start(&c->timer, on_timer, c->sh->st->cfg->listener.timeout_ms, 0);
	}
	switch (wire_framer_got(&c->fr, (size_t)nread)) {
	case WF_DONE:
		request_complete(c);
		return;
	case WF_FAILED:
		fail(c, c->fr.err);
		return;
	default:
		return; /* more to read */
	}
}

static void on_timer(uv_timer_t *t)
{
	struct conn *c = t->data;

	switch (c->state) {
	case CS_READING:
		if (c->idle) {
			conn_close(c); /* an idle persistent connection: no request to answer */
			return;
		}
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
	uint32_t idle_ms = c->sh->st->cfg->listener.idle_timeout_ms;

	c->state = CS_READING;
	wire_framer_init(&c->fr, c->sh->st->cfg->core.body_len_limit);
	c->close_after_write = false;
	c->keep_open = false;
	c->idle = true;
	if (idle_ms > 0)
		uv_timer_start(&c->timer, on_timer, idle_ms, 0);
	if (uv_read_start((uv_stream_t *)&c->pipe, on_alloc, on_read) < 0)
		conn_close(c);
}

/* ---- shards ---- */

/* The shard's thread: take a connection the main thread accepted. */
static void shard_adopt(struct shard *sh, struct conn *c)
{
	const struct ts_config *cfg = sh->st->cfg;

	c->sh = sh;
	uv_pipe_init(sh->loop, &c->pipe, 0);
	c->pipe.data = c;
	uv_timer_init(sh->loop, &c->timer);
	c->timer.data = c;
	c->open_handles = 2;
	c->next = sh->conns;
	if (sh->conns != NULL)
		sh->conns->prev = c;
	sh->conns = c;
	sh->n_conns++;
	c->state = CS_READING;
	wire_framer_init(&c->fr, cfg->core.body_len_limit);
	if (uv_pipe_open(&c->pipe, c->fd) < 0) {
		close(c->fd);
		conn_close(c);
		return;
	}
	if (sh->draining) {
		conn_close(c);
		return;
	}
	/* The first request's deadline runs from accept, as Parsec's read
	 * timeout does: a client that connects and says nothing is cut. */
	uv_timer_start(&c->timer, on_timer, cfg->listener.timeout_ms, 0);
	if (uv_read_start((uv_stream_t *)&c->pipe, on_alloc, on_read) < 0)
		conn_close(c);
}

/* The shard's thread: stop taking requests; idle connections go now, the
 * others after their response (on_write sees draining). */
static void shard_drain(struct shard *sh)
{
	if (sh->draining)
		return;
	sh->draining = true;
	for (struct conn *c = sh->conns, *next; c != NULL; c = next) {
		next = c->next;
		if (c->state == CS_READING)
			conn_close(c);
	}
	if (sh->n_conns == 0)
		shard_finish(sh);
}

static void shard_close_all(struct shard *sh)
{
	for (struct conn *c = sh->conns, *next; c != NULL; c = next) {
		next = c->next;
		conn_close(c);
	}
}

static void shard_set_state(struct shard *sh, struct svc_state *st)
{
	svc_state_unref(sh->st); /* requests on workers keep their own reference */
	sh->st = st;
}

static void on_wake(uv_async_t *a)
{
	struct shard *sh = a->data;
	struct conn *conns, *c;
	struct svc_state *st;
	bool drain, force;

	uv_mutex_lock(&sh->inbox_lock);
	conns = sh->inbox_head;
	sh->inbox_head = sh->inbox_tail = NULL;
	st = sh->inbox_st;
	sh->inbox_st = NULL;
	drain = sh->inbox_drain;
	force = sh->inbox_force;
	sh->inbox_drain = sh->inbox_force = false;
	uv_mutex_unlock(&sh->inbox_lock);

	if (st != NULL)
		shard_set_state(sh, st);
	while ((c = conns) != NULL) {
		conns = c->wnext;
		c->wnext = NULL;
		shard_adopt(sh, c);
	}
	if (drain)
		shard_drain(sh);
	if (force)
		shard_close_all(sh);
}

/*
 * Main thread: hand something to a shard. Shard 0 runs on this thread, so it
 * is called directly; the others get it through their inbox. Only a late
 * MSG_FORCE (the drain timer) can find a shard already stopped: connections
 * and reloads end when the drain begins (the listener closes first, on_hup
 * ignores a draining server), and a drain is posted once.
 */
enum shard_msg { MSG_CONN, MSG_STATE, MSG_DRAIN, MSG_FORCE };

static void shard_post(struct shard *sh, enum shard_msg m, struct conn *c, struct svc_state *st)
{
	if (!sh->threaded) {
		if (m == MSG_CONN)
			shard_adopt(sh, c);
		else if (m == MSG_STATE)
			shard_set_state(sh, st);
		else if (m == MSG_DRAIN)
			shard_drain(sh);
		else
			shard_close_all(sh);
		return;
	}
	uv_mutex_lock(&sh->inbox_lock);
	if (sh->closed) {
		uv_mutex_unlock(&sh->inbox_lock);
		return;
	}
	if (m == MSG_CONN) {
		if (sh->inbox_tail != NULL)
			sh->inbox_tail->wnext = c;
		else
			sh->inbox_head = c;
		sh->inbox_tail = c;
	} else if (m == MSG_STATE) {
		svc_state_unref(sh->inbox_st); /* an older reload not yet taken */
		sh->inbox_st = st;
	} else if (m == MSG_DRAIN) {
		sh->inbox_drain = true;
	} else {
		sh->inbox_force = true;
	}
	/* Sent under the lock, so the shard cannot close the handle between
	 * the check above and the send. */
	uv_async_send(&sh->wake);
	uv_mutex_unlock(&sh->inbox_lock);
}

static void shard_thread(void *arg)
{
	struct shard *sh = arg;

	/* Named, so `top -H` and the tests can tell loops from workers. */
	(void)pthread_setname_np(pthread_self(), "tesserad-loop");
	uv_run(sh->loop, UV_RUN_DEFAULT);
	/* Workers may still hold nothing of ours: every request finished
	 * before the last connection closed. */
	uv_loop_close(sh->loop);
}

/* A loop thread starts with the stop and reload signals blocked, so they
 * are always taken by the main thread, which owns their handlers. */
static int start_loop_thread(struct shard *sh)
{
	sigset_t block, old;
	int rc;

	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	rc = uv_thread_create(&sh->thread, shard_thread, sh);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}

/* A shard with a loop and thread of its own; on failure nothing of it is
 * left running. */
static int start_threaded_shard(struct shard *sh)
{
	int rc;

	sh->threaded = true;
	sh->loop = &sh->own_loop;
	rc = uv_loop_init(sh->loop);
	if (rc < 0)
		return rc;
	rc = uv_async_init(sh->loop, &sh->wake, on_wake);
	if (rc < 0) {
		uv_loop_close(sh->loop);
		return rc;
	}
	sh->wake.data = sh;
	rc = uv_async_init(sh->loop, &sh->done_async, on_done);
	sh->done_async.data = sh;
	sh->done_async_open = rc == 0;
	if (rc == 0)
		rc = start_loop_thread(sh);
	if (rc < 0) {
		uv_close((uv_handle_t *)&sh->wake, NULL);
		if (sh->done_async_open)
			uv_close((uv_handle_t *)&sh->done_async, NULL);
		sh->done_async_open = false;
		uv_run(sh->loop, UV_RUN_DEFAULT);
		uv_loop_close(sh->loop);
	}
	return rc;
}

/* Main thread, at start-up: core.io_threads shards, shard 0 on the main
 * loop. Returns the number running (0 only when out of memory). */
static unsigned start_shards(struct server *srv)
{
	unsigned want = srv->st->cfg->core.io_threads;

	srv->shards = calloc(want, sizeof(*srv->shards));
	if (srv->shards == NULL)
		return 0;
	for (unsigned i = 0; i < want; i++) {
		struct shard *sh = &srv->shards[i];
		int rc = 0;

		sh->srv = srv;
		sh->st = svc_state_ref(srv->st);
		uv_mutex_init(&sh->inbox_lock);
		uv_mutex_init(&sh->done_lock);
		atomic_init(&sh->assigned, 0);
		if (i == 0) {
			sh->loop = srv->loop;
			rc = uv_async_init(sh->loop, &sh->done_async, on_done);
			sh->done_async.data = sh;
			sh->done_async_open = rc == 0;
		} else {
			rc = start_threaded_shard(sh);
		}
		if (rc < 0) {
			ts_warn("cannot start event loop %u of %u (%s); serving with %u", i + 1,
			        want, uv_strerror(rc), i);
			svc_state_unref(sh->st);
			uv_mutex_destroy(&sh->inbox_lock);
			uv_mutex_destroy(&sh->done_lock);
			break;
		}
		srv->n_shards = i + 1;
	}
	return srv->n_shards;
}

static void stop_shards(struct server *srv)
{
	for (unsigned i = 0; i < srv->n_shards; i++) {
		struct shard *sh = &srv->shards[i];

		if (sh->threaded)
			uv_thread_join(&sh->thread);
		svc_state_unref(sh->inbox_st);
		svc_state_unref(sh->st);
		uv_mutex_destroy(&sh->inbox_lock);
		uv_mutex_destroy(&sh->done_lock);
	}
	free(srv->shards);
	srv->shards = NULL;
	srv->n_shards = 0;
}

/* ---- accepting (main thread) ---- */

static void on_accept_pause(uv_timer_t *t)
{
	struct server *srv = t->data;

	if (srv->listen_open)
		uv_poll_start(&srv->listen, UV_READABLE, srv->listen.poll_cb);
}

/* Out of descriptors: give up the spare one to take the waiting connections
 * off the backlog and close them (their clients see the connection close at
 * once, instead of hanging), then take it back. With no spare to give, stop
 * listening for a moment rather than spin on a backlog we cannot accept. */
static void shed_backlog(struct server *srv)
{
	int fd;

	if (srv->spare_fd >= 0) {
		close(srv->spare_fd);
		while ((fd = accept4(srv->listen_fd, NULL, NULL, SOCK_CLOEXEC)) >= 0)
			close(fd);
		srv->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		return;
	}
	srv->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (srv->spare_fd >= 0 || !srv->accept_pause_open)
		return;
	uv_poll_stop(&srv->listen);
	uv_timer_start(&srv->accept_pause, on_accept_pause, ACCEPT_PAUSE_MS, 0);
}

static void accept_failed(struct server *srv, int err)
{
	/* Say so at most once a second: a full table makes every connect
	 * fail. */
	static uint64_t last_ms;
	uint64_t now = uv_now(srv->loop);
	bool emfile = err == EMFILE || err == ENFILE;

	if (now - last_ms >= 1000 || last_ms == 0) {
		last_ms = now;
		if (emfile)
			ts_warn("accept failed: out of file descriptors (%s); new connections "
			        "are refused until some close: raise the descriptor limit "
			        "(LimitNOFILE=) or lower listener.max_connections",
			        strerror(err));
		else
			ts_warn("accept failed: %s", strerror(err));
	}
	if (emfile)
		shed_backlog(srv);
}

/*
 * The shard with the fewest connections, the main loop's own on a tie: a
 * client that connects per request is then served where it was accepted,
 * with no hand-off, while persistent connections spread over the shards.
 */
static struct shard *pick_shard(struct server *srv)
{
	struct shard *best = &srv->shards[0];
	unsigned least = atomic_load(&best->assigned);

	for (unsigned i = 1; i < srv->n_shards && least > 0; i++) {
		unsigned n = atomic_load(&srv->shards[i].assigned);

		if (n < least) {
			least = n;
			best = &srv->shards[i];
		}
	}
	atomic_fetch_add(&best->assigned, 1);
	return best;
}

static void accept_one(struct server *srv, int fd)
{
	const struct ts_config *cfg = srv->st->cfg;
	struct ucred cred;
	socklen_t len = sizeof(cred);
	struct uid_count *u = NULL;
	struct conn *c;
	unsigned open_now;
	bool refuse;

	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		ts_error("out of memory accepting a connection");
		close(fd);
		return;
	}
	c->fd = fd;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) {
		c->peer.valid = true;
		c->peer.pid = cred.pid;
		c->peer.uid = cred.uid;
		c->peer.gid = cred.gid;
	}
	uv_mutex_lock(&srv->lock);
	if (c->peer.valid)
		u = uid_slot(srv, c->peer.uid, true);
	refuse = srv->n_conns >= cfg->listener.max_connections ||
	         (c->peer.valid && (u == NULL || u->n >= cfg->listener.max_connections_per_uid));
	if (refuse) {
		if (u != NULL && u->n == 0)
			*u = srv->uids[--srv->n_uids]; /* the slot made for this one */
	} else {
		if (u != NULL)
			u->n++;
		else
			c->peer.valid = false; /* no uid slot: count it nowhere, trust it nowhere */
		srv->n_conns++;
	}
	open_now = srv->n_conns;
	uv_mutex_unlock(&srv->lock);
	if (refuse) {
		/* Over a cap: the connection is closed unanswered. Warn once
		 * in a while, not per connection, so a flood cannot flood the log. */
		if (srv->rejected++ % 1000 == 0)
			ts_warn("connection refused (uid %u): %u open, caps %u total, %u per uid",
			        (unsigned)c->peer.uid, open_now, cfg->listener.max_connections,
			        cfg->listener.max_connections_per_uid);
		close(fd);
		free(c);
		return;
	}
	shard_post(pick_shard(srv), MSG_CONN, c, NULL);
}

static void on_listen_ready(uv_poll_t *p, int status, int events)
{
	struct server *srv = p->data;

	(void)events;
	if (status < 0) {
		ts_warn("listening socket: %s", uv_strerror(status));
		return;
	}
	for (int i = 0; i < ACCEPT_BATCH && !srv->draining; i++) {
		int fd = accept4(srv->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

		if (fd >= 0) {
			accept_one(srv, fd);
			continue;
		}
		if (errno == EINTR || errno == ECONNABORTED)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			accept_failed(srv, errno);
		return;
	}
}

/* ---- the listening socket ---- */

static int bind_path(struct server *srv, const struct ts_config *cfg, char *err, size_t errlen)
{
	const char *path = cfg->listener.socket_path;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct stat sb;
	int fd = -1;

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
	if (srv->bound_path == NULL) {
		snprintf(err, errlen, "cannot use the socket: out of memory");
		goto fail_unlink;
	}
	srv->listen_fd = fd;
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
		srv->listen_fd = SD_LISTEN_FDS_START;
		ts_info("listening on the socket passed by systemd");
	} else if (bind_path(srv, srv->st->cfg, err, errlen) < 0) {
		return -1;
	}
	if (listen(srv->listen_fd, SOMAXCONN) < 0) {
		snprintf(err, errlen, "listen: %s", strerror(errno));
		return -1;
	}
	/* uv_poll_init makes the descriptor non-blocking. */
	rc = uv_poll_init(srv->loop, &srv->listen, srv->listen_fd);
	if (rc < 0) {
		snprintf(err, errlen, "cannot watch the socket: %s", uv_strerror(rc));
		return -1;
	}
	srv->listen.data = srv;
	srv->listen_open = true;
	return 0;
}

/* ---- signals ---- */

static unsigned open_connections(struct server *srv)
{
	unsigned n;

	uv_mutex_lock(&srv->lock);
	n = srv->n_conns;
	uv_mutex_unlock(&srv->lock);
	return n;
}

static void on_drain_timer(uv_timer_t *t)
{
	struct server *srv = t->data;

	ts_warn("shutdown: %u connection(s) still busy after %d ms; closing them",
	        open_connections(srv), DRAIN_LIMIT_MS);
	for (unsigned i = 0; i < srv->n_shards; i++)
		shard_post(&srv->shards[i], MSG_FORCE, NULL, NULL);
}

static void close_listener(struct server *srv)
{
	if (!srv->listen_open)
		return;
	uv_close((uv_handle_t *)&srv->listen, NULL);
	close(srv->listen_fd);
	srv->listen_fd = -1;
	srv->listen_open = false;
}

static void begin_drain(struct server *srv, const char *why)
{
	if (srv->draining)
		return;
	srv->draining = true;
	notify_stopping();
	ts_info("%s: no longer accepting; finishing the requests of %u open connection(s)", why,
	        open_connections(srv));
	close_listener(srv);
	/* Every shard closes its connections with no request in progress now,
	 * and the others after their response is written; the last one to
	 * finish ends the main loop (check_all_done). */
	for (unsigned i = 0; i < srv->n_shards; i++)
		shard_post(&srv->shards[i], MSG_DRAIN, NULL, NULL);
	if (atomic_load(&srv->n_done) == srv->n_shards)
		return;
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
	if (new->core.io_threads != old->core.io_threads)
		ts_warn("reload: core.io_threads changed; it takes effect at restart");
	new->core.threads = old->core.threads;
	new->core.io_threads = old->core.io_threads;
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
	/* Providers live as long as the process: a valid new configuration
	 * applies everything else and keeps them. */
	if (svc_providers_check(cfg, err, sizeof(err)) != TS_OK) {
		ts_error("reload failed, keeping the running configuration: %s", err);
		config_free(cfg);
		notify_ready();
		return;
	}
	if (svc_providers_differ(srv->st->provs, cfg, err, sizeof(err)))
		ts_warn("reload: the providers changed (%s); the running ones are kept until "
		        "restart",
		        err);
	if (svc_state_new(cfg, srv->st->ks, srv->st->trust, srv->st->provs, &st, err,
	                  sizeof(err)) != TS_OK) {
		ts_error("reload failed, keeping the running configuration: %s", err);
		config_free(cfg);
		notify_ready();
		return;
	}
	sched_set_per_tenant(srv->sched, st->cfg->core.max_slow_per_tenant);
	old = srv->st;
	srv->st = st;
	svc_state_unref(old); /* the shards and running requests keep their own */
	for (unsigned i = 0; i < srv->n_shards; i++)
		shard_post(&srv->shards[i], MSG_STATE, NULL, svc_state_ref(st));
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
	srv.listen_fd = -1;
	srv.spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	atomic_init(&srv.n_done, 0);
	uv_mutex_init(&srv.lock);
	/* Signals first: once the socket accepts, a reload or stop request may
	 * come at any moment, and SIGHUP's default action would kill us. */
	uv_signal_init(srv.loop, &srv.sig_term);
	uv_signal_init(srv.loop, &srv.sig_int);
	uv_signal_init(srv.loop, &srv.sig_hup);
	srv.sig_term.data = srv.sig_int.data = srv.sig_hup.data = &srv;
	uv_signal_start(&srv.sig_term, on_stop_signal, SIGTERM);
	uv_signal_start(&srv.sig_int, on_stop_signal, SIGINT);
	uv_signal_start(&srv.sig_hup, on_hup, SIGHUP);
	uv_timer_init(srv.loop, &srv.accept_pause);
	srv.accept_pause.data = &srv;
	srv.accept_pause_open = true;
	uv_async_init(srv.loop, &srv.shard_done, on_shard_done);
	srv.shard_done.data = &srv;
	srv.shard_done_open = true;
	/* The workers and the loops first: once the socket accepts,
	 * everything is in place. */
	if (sched_new(st->cfg->core.threads, st->cfg->core.max_slow_per_tenant, &srv.sched) !=
	    TS_OK) {
		ts_error("cannot start the worker threads");
		close_signals(&srv);
		uv_run(srv.loop, UV_RUN_DEFAULT);
		goto failed;
	}
	if (start_shards(&srv) == 0) {
		ts_error("out of memory");
		close_signals(&srv);
		uv_run(srv.loop, UV_RUN_DEFAULT);
		goto failed;
	}
	if (open_listener(&srv, err, sizeof(err)) < 0) {
		ts_error("%s", err);
		close_listener(&srv);
		if (srv.listen_fd >= 0)
			close(srv.listen_fd);
		/* The loops have no connection: they stop at once, and the last
		 * one to stop ends the main loop (check_all_done). */
		srv.draining = true;
		for (unsigned i = 0; i < srv.n_shards; i++)
			shard_post(&srv.shards[i], MSG_DRAIN, NULL, NULL);
		uv_run(srv.loop, UV_RUN_DEFAULT);
		stop_shards(&srv);
		goto failed;
	}
	uv_poll_start(&srv.listen, UV_READABLE, on_listen_ready);

	ts_info("tesserad %s ready on %s (%u event loop(s), %u worker threads, "
	        "%zu authenticator(s), %zu provider(s))",
	        TESSERA_VERSION, srv.bound_path ? srv.bound_path : "the systemd socket",
	        srv.n_shards, st->cfg->core.threads, auth_set_count(st->auth), st->provs->n);
	notify_status("serving on %s", srv.bound_path ? srv.bound_path : "the systemd socket");
	notify_ready();

	(void)uv_run(srv.loop, UV_RUN_DEFAULT);
	stop_shards(&srv);
	ts_info("stopped");
	rc = srv.exit_code;
	goto out;

failed:
	rc = 1;
out:
	if (srv.bound_path != NULL)
		unlink(srv.bound_path);
	free(srv.bound_path);
	free(srv.uids);
	free(srv.shards);
	/* Every request is answered: the workers are idle. */
	sched_free(srv.sched);
	if (srv.spare_fd >= 0)
		close(srv.spare_fd);
	uv_mutex_destroy(&srv.lock);
	svc_state_unref(srv.st);
	(void)uv_loop_close(srv.loop);
	return rc;
}
