/*
 * Connections, on their own loop: the framer read loop, the whole-request
 * deadline and the idle limit, the keep-open rule and writing the reply.
 *
 * A connection's handles (pipe and timer) are closed together and the
 * connection is freed in the last close callback, never before: libuv may
 * still call into a handle until its close callback has run.
 */
#include "front/front-priv.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/errors.h"
#include "common/secmem.h"

static void conn_read_next(struct front_conn *c);
static void on_timer(uv_timer_t *t);

/* When even a header cannot be allocated, answer from static storage. */
static uint8_t oom_reply[WIRE_HEADER_LEN];

/* Parsec's default header with err's status: the answer to a framing error,
 * whose header cannot be trusted to address a reply. */
static void status_reply(enum ts_err err, struct front_reply *ret)
{
	struct wire_header h;

	memset(ret, 0, sizeof(*ret));
	ret->owned = malloc(WIRE_HEADER_LEN);
	if (ret->owned == NULL) {
		/* Rare enough that sharing one static buffer between threads is
		 * harmless: every writer stores the same bytes. */
		wire_header_default_response(ts_err_wire_status(TS_E_NOMEM), &h);
		wire_header_encode(&h, oom_reply);
		ret->data = oom_reply;
	} else {
		wire_header_default_response(ts_err_wire_status(err), &h);
		wire_header_encode(&h, ret->owned);
		ret->data = ret->owned;
	}
	ret->len = WIRE_HEADER_LEN;
}

/* A reply can hold secrets (an exported key, plaintext, asset data): wiped
 * before it is freed. */
static void reply_drop(struct front_reply *r)
{
	ts_free_secret(r->owned, r->len);
	memset(r, 0, sizeof(*r));
}

/* ---- closing ---- */

static void on_handle_closed(uv_handle_t *h)
{
	struct front_conn *c = h->data;
	struct front_loop *l = c->l;

	if (--c->open_handles > 0)
		return;
	if (l->f->ops->closed != NULL)
		l->f->ops->closed(l->f->ctx, c);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		l->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	l->n_conns--;
	caps_release(l->f, &c->peer);
	wire_framer_release(&c->fr);
	reply_drop(&c->reply);
	free(c);
	if (l->n_conns == 0)
		loop_conn_gone(l);
}

void conn_close(struct front_conn *c)
{
	const struct front_ops *ops = c->l->f->ops;

	if (c->state == CS_CLOSING)
		return;
	if (c->state == CS_PROGRAM) {
		/* The program still uses the request; close when it lets go. */
		if (c->close_pending)
			return;
		c->close_pending = true;
		if (ops->cancel != NULL)
			ops->cancel(c->l->f->ctx, c);
		return;
	}
	c->state = CS_CLOSING;
	/* It no longer counts for dealing out connections: a client that
	 * closes and connects again finds this loop as free as before. */
	atomic_fetch_sub(&c->l->assigned, 1);
	uv_read_stop((uv_stream_t *)&c->pipe);
	uv_close((uv_handle_t *)&c->timer, on_handle_closed);
	uv_close((uv_handle_t *)&c->pipe, on_handle_closed);
}

/* ---- writing ---- */

static void on_write(uv_write_t *req, int status)
{
	struct front_conn *c = req->data;

	reply_drop(&c->reply);
	if (c->state == CS_CLOSING)
		return;
	uv_timer_stop(&c->timer);
	if (status < 0 || c->close_after_write || c->l->draining) {
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
static bool keep_after_write(const struct front_conn *c)
{
	return c->keep_open && !c->close_after_write && !c->l->draining;
}

/* Write c->reply. */
static void write_reply(struct front_conn *c)
{
	uv_buf_t buf = uv_buf_init((char *)c->reply.data, (unsigned)c->reply.len);
	int rc;

	if (c->reply.close || !keep_after_write(c))
		c->close_after_write = true;
	else if (c->reply.owned != NULL && c->reply.len >= WIRE_HEADER_LEN)
		wire_header_set_flags(c->reply.owned, WIRE_FLAG_KEEP_OPEN);
	else
		c->close_after_write = true; /* a static reply: it closes */
	c->state = CS_WRITING;
	/* A client that does not read its response is cut after the same
	 * deadline a request gets. */
	uv_timer_start(&c->timer, on_timer, c->l->lim.timeout_ms, 0);
	c->wreq.data = c;
	rc = uv_write(&c->wreq, (uv_stream_t *)&c->pipe, &buf, 1, on_write);
	if (rc < 0) {
		reply_drop(&c->reply);
		conn_close(c);
	}
}

/* A framing error or a request cut short: Parsec's default header with the
 * status, then close, because the stream is out of step with the header. */
static void fail(struct front_conn *c, enum ts_err err)
{
	uv_read_stop((uv_stream_t *)&c->pipe);
	uv_timer_stop(&c->timer);
	wire_framer_release(&c->fr);
	status_reply(err, &c->reply);
	c->close_after_write = true;
	write_reply(c);
}

/* Closed, or answered with ConnectionError first, as the program asked. */
static void cut_short(struct front_conn *c)
{
	if (c->l->f->answer_cut_short)
		fail(c, TS_E_CONNECTION_ERROR);
	else
		conn_close(c);
}

void front_reply(struct front_conn *c, const struct front_reply *r)
{
	/* The auth bytes may be a secret: wipe them with the body. */
	wire_framer_release(&c->fr);
	if (c->close_pending) {
		if (r != NULL)
			ts_free_secret(r->owned, r->len);
		c->state = CS_WRITING; /* leave CS_PROGRAM so conn_close proceeds */
		conn_close(c);
		return;
	}
	c->reply = *r;
	write_reply(c);
}

/* ---- reading ---- */

static void request_complete(struct front_conn *c)
{
	struct front *f = c->l->f;
	struct front_reply r = {0};

	uv_read_stop((uv_stream_t *)&c->pipe);
	uv_timer_stop(&c->timer);
	c->keep_open = (c->fr.h.flags & WIRE_FLAG_KEEP_OPEN) != 0;
	c->state = CS_PROGRAM;
	if (f->ops->request(f->ctx, c, &c->fr.h, c->fr.payload, &r) == FRONT_ANSWER)
		front_reply(c, &r);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct front_conn *c = h->data;
	uint8_t *p;
	size_t len;

	(void)suggested;
	if (c->state != CS_READING ||
	    wire_framer_buffer(&c->fr, c->l->discard_buf, sizeof(c->l->discard_buf), &p, &len) !=
	            TS_OK) {
		*buf = uv_buf_init(NULL, 0); /* read_cb gets UV_ENOBUFS */
		return;
	}
	*buf = uv_buf_init((char *)p, (unsigned)len);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct front_conn *c = s->data;

	(void)buf;
	if (nread == 0)
		return;
	if (nread < 0) {
		if (c->idle || !wire_framer_started(&c->fr) || nread != UV_EOF) {
			conn_close(c);
			return;
		}
		/* Parsec answers a request cut short with ConnectionError. */
		cut_short(c);
		return;
	}
	if (c->idle) {
		/* First byte of the next request: its deadline starts now. */
		c->idle = false;
		uv_timer_start(&c->timer, on_timer, c->l->lim.timeout_ms, 0);
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
	struct front_conn *c = t->data;

	switch (c->state) {
	case CS_READING:
		if (c->idle && c->hold_idle)
			return; /* held since the timer started */
		if (c->idle) {
			conn_close(c); /* an idle connection: no request to answer */
			return;
		}
		/* The whole request did not arrive in time. */
		cut_short(c);
		return;
	case CS_WRITING:
		conn_close(c);
		return;
	default:
		return;
	}
}

/* Ready for a request; idle until its first byte. */
static void read_idle(struct front_conn *c)
{
	uint32_t idle_ms = c->l->lim.idle_ms;

	c->state = CS_READING;
	wire_framer_init(&c->fr, c->l->lim.body_limit);
	c->close_after_write = false;
	c->keep_open = false;
	c->idle = true;
	if (idle_ms > 0 && !c->hold_idle)
		uv_timer_start(&c->timer, on_timer, idle_ms, 0);
}

static void conn_read_next(struct front_conn *c)
{
	read_idle(c);
	if (uv_read_start((uv_stream_t *)&c->pipe, on_alloc, on_read) < 0)
		conn_close(c);
}

void conn_adopt(struct front_loop *l, struct front_conn *c)
{
	c->l = l;
	uv_pipe_init(l->loop, &c->pipe, 0);
	c->pipe.data = c;
	uv_timer_init(l->loop, &c->timer);
	c->timer.data = c;
	c->open_handles = 2;
	c->next = l->conns;
	if (l->conns != NULL)
		l->conns->prev = c;
	l->conns = c;
	l->n_conns++;
	c->state = CS_READING;
	wire_framer_init(&c->fr, l->lim.body_limit);
	if (uv_pipe_open(&c->pipe, c->fd) < 0) {
		close(c->fd);
		conn_close(c);
		return;
	}
	if (l->draining) {
		conn_close(c);
		return;
	}
	if (l->f->deadline_from_accept)
		/* The first request's deadline runs from accept, as Parsec's
		 * read timeout does: a client that connects and says nothing is
		 * cut. */
		uv_timer_start(&c->timer, on_timer, l->lim.timeout_ms, 0);
	else
		read_idle(c);
	if (uv_read_start((uv_stream_t *)&c->pipe, on_alloc, on_read) < 0)
		conn_close(c);
}

void front_conn_hold_idle(struct front_conn *c, bool hold)
{
	bool was = c->hold_idle;

	c->hold_idle = hold;
	if (was == hold || c->state != CS_READING || !c->idle)
		return;
	if (hold)
		uv_timer_stop(&c->timer);
	else if (c->l->lim.idle_ms > 0)
		uv_timer_start(&c->timer, on_timer, c->l->lim.idle_ms, 0);
}

struct front_loop *front_conn_loop(struct front_conn *c)
{
	return c->l;
}

void *front_conn_data(struct front_conn *c)
{
	return c->data;
}

const struct auth_peer *front_conn_peer(const struct front_conn *c)
{
	return &c->peer;
}
