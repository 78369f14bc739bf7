/*
 * tesserad on the front end (front/): what it does with a framed request,
 * where the request runs, and reload.
 *
 * The front owns the socket, the connections and their event loops (the
 * shards: core.io_threads of them, shard 0 on the main loop). Here each
 * shard keeps the state its requests start on and its share of the
 * in-flight limit. A request that finishes on the shard that read it (the
 * discovery operations, and crypto on a provider that computes in process
 * with a key whose operations take microseconds: request_prepare decides,
 * before anything runs) is answered at once; the rest go to the fair worker
 * pool (sched.c, queued per tenant) and come back to the same shard through
 * its done_async, which answers them with front_reply.
 *
 * Shared between threads: each shard's list of finished work (done_lock)
 * and the configuration a reload posts to it (st_lock); the
 * reference-counted svc_state; the scheduler (its own lock). Everything
 * else belongs to the shard's thread.
 */
#include "daemon/daemon-priv.h"

#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "front/front.h"

struct server;

/* A connection's part that is tesserad's (front_conn_data). */
struct dconn {
	struct front_conn *fc;
	struct shard *sh;
	struct dconn *wnext;  /* the shard's wait list, or its list of finished work */
	bool queued;          /* on the wait list */
	struct svc_state *st; /* pinned while the request waits for or runs on a worker */
	struct request req;   /* the request being run */
	struct sched_job job; /* its slow work */
	uint64_t tenant;
	struct dispatch_reply reply;
	/* The PSA C API's state of the connection (session.c): made at its
	 * first request, freed when it closes. busy: a request of it is in
	 * flight, so only that request touches the session. */
	struct session *sess;
	bool busy;
	struct dconn *sprev, *snext; /* the shard's connections with a session */
};

/* A shard's part that is tesserad's (front_loop_data). */
struct shard {
	struct server *srv;
	uv_async_t done_async; /* workers hand finished requests back */
	bool done_async_open;
	uv_mutex_t done_lock;
	struct dconn *done_head; /* finished on workers, to answer */

	uv_mutex_t st_lock;
	struct svc_state *st_posted; /* a reloaded configuration, to take */

	/* The shard's own thread only. */
	struct svc_state *st;
	unsigned in_flight; /* requests of this shard on workers */
	struct dconn *wait_head, *wait_tail;
	struct dconn *sessions; /* connections with a session */
	uv_timer_t sweep;       /* frees operations idle past psa.operation_idle_ms */
	bool sweep_open;
};

struct server {
	struct front *front;
	struct svc_state *st;
	const struct server_opts *opts;
	struct sched *sched;
};

static void start_work(struct dconn *c);

/* Hand a reply over to the front, which frees it once written. */
static void give_reply(struct dispatch_reply *r, bool close, struct front_reply *ret)
{
	*ret = (struct front_reply){
	        .data = dispatch_reply_bytes(r), .len = r->len, .owned = r->buf, .close = close};
	r->buf = NULL;
	r->len = 0;
}

/* ---- sessions ---- */

/* A request of the connection is over: the loop may touch its session
 * again, and a connection holding operations or volatile keys is never
 * closed for idleness. */
static void request_over(struct dconn *c)
{
	c->busy = false;
	front_conn_hold_idle(c->fc, session_holds(c->sess));
}

static void session_attach(struct shard *sh, struct dconn *c)
{
	if (c->sess != NULL)
		return;
	c->sess = session_new(); /* NULL: served without one (extensions: BadState) */
	if (c->sess == NULL)
		return;
	c->sprev = NULL;
	c->snext = sh->sessions;
	if (sh->sessions != NULL)
		sh->sessions->sprev = c;
	sh->sessions = c;
}

static void on_closed(void *ctx, struct front_conn *fc)
{
	struct shard *sh = front_loop_data(front_conn_loop(fc));
	struct dconn *c = front_conn_data(fc);

	(void)ctx;
	if (c->sess == NULL)
		return;
	if (c->sprev != NULL)
		c->sprev->snext = c->snext;
	else
		sh->sessions = c->snext;
	if (c->snext != NULL)
		c->snext->sprev = c->sprev;
	/* Operations go now; volatile keys on a worker (the scheduler runs
	 * what was queued before it stops, so a drain destroys them too). */
	session_close(c->sess, sh->st, sh->srv->sched);
	c->sess = NULL;
}

static void sweep_arm(struct shard *sh);

static void on_sweep(uv_timer_t *t)
{
	struct shard *sh = t->data;
	uint64_t now = session_now_ms(), idle = sh->st->cfg->psa.operation_idle_ms;

	for (struct dconn *c = sh->sessions; c != NULL; c = c->snext)
		if (!c->busy && session_sweep(c->sess, now, idle))
			front_conn_hold_idle(c->fc, session_holds(c->sess));
	sweep_arm(sh);
}

/* A quarter of the idle limit between sweeps, within 10 ms..1 s. */
static void sweep_arm(struct shard *sh)
{
	uint64_t every = sh->st->cfg->psa.operation_idle_ms / 4;

	if (every < 10)
		every = 10;
	if (every > 1000)
		every = 1000;
	uv_timer_start(&sh->sweep, on_sweep, every, 0);
}

static void answer(struct dconn *c, bool close)
{
	struct front_reply r;

	give_reply(&c->reply, close, &r);
	front_reply(c->fc, &r);
}

/* ---- work ---- */

/* A worker thread: finish preparing (a large body is decoded here) and run. */
static void job_run(struct sched_job *j)
{
	struct dconn *c = (struct dconn *)((char *)j - offsetof(struct dconn, job));

	if (request_prepare(&c->req, false) != REQ_REPLY)
		request_run(&c->req);
	request_reply(&c->req, &c->reply);
}

/* A worker thread: hand the answered request back to its shard. */
static void job_done(struct sched_job *j)
{
	struct dconn *c = (struct dconn *)((char *)j - offsetof(struct dconn, job));
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
	unsigned n = sh->st->cfg->core.max_in_flight / front_n_loops(sh->srv->front);

	return n > 0 ? n : 1;
}

/* The waiting request to start next: the one whose tenant has the least
 * work queued or running, so a tenant with many connections does not keep
 * the others waiting here either. */
static struct dconn *wait_take(struct shard *sh)
{
	struct dconn *best = NULL, *prev_best = NULL, *prev = NULL;
	unsigned best_load = 0;

	for (struct dconn *c = sh->wait_head; c != NULL; prev = c, c = c->wnext) {
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
	best->queued = false;
	return best;
}

static void wait_remove(struct shard *sh, struct dconn *c)
{
	struct dconn **pp = &sh->wait_head, *prev = NULL;

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
	c->queued = false;
}

static void work_finished(struct dconn *c)
{
	struct shard *sh = c->sh;

	sh->in_flight--;
	svc_state_unref(c->st);
	c->st = NULL;
	while (sh->wait_head != NULL && sh->in_flight < in_flight_limit(sh))
		start_work(wait_take(sh));
	request_over(c);
	answer(c, false);
}

/* The shard's loop: requests the workers finished. */
static void on_done(uv_async_t *a)
{
	struct shard *sh = a->data;
	struct dconn *list, *rev = NULL;

	uv_mutex_lock(&sh->done_lock);
	list = sh->done_head;
	sh->done_head = NULL;
	uv_mutex_unlock(&sh->done_lock);
	/* Answer in the order they finished. */
	while (list != NULL) {
		struct dconn *next = list->wnext;

		list->wnext = rev;
		rev = list;
		list = next;
	}
	while (rev != NULL) {
		struct dconn *c = rev;

		rev = c->wnext;
		c->wnext = NULL;
		work_finished(c);
	}
}

static void start_work(struct dconn *c)
{
	struct shard *sh = c->sh;
	enum ts_err err;

	sh->in_flight++;
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
		/* The default header, then close, as for a framing error. */
		reply_status(NULL, TS_E_PSA_INSUFFICIENT_MEMORY, &c->reply);
		request_over(c);
		answer(c, true);
	}
}

/* ---- the front's callbacks ---- */

static enum front_next on_request(void *ctx, struct front_conn *fc, const struct wire_header *h,
                                  const uint8_t *payload, struct front_reply *ret)
{
	struct shard *sh = front_loop_data(front_conn_loop(fc));
	struct dconn *c = front_conn_data(fc);
	enum req_next next;
	enum ts_err err;

	(void)ctx;
	c->fc = fc;
	c->sh = sh;
	/* Step 7: the request is whole, so a failure here keeps the stream in
	 * step; the answer still uses the default header, as in Parsec. A
	 * provider ID past Parsec's range is an extension instance's, when one
	 * is configured (the provider is the last field checked). */
	err = wire_check_fields(h);
	if (err == TS_E_PROVIDER_DOES_NOT_EXIST &&
	    svc_providers_by_wire_id(sh->st->provs, h->provider) != NULL)
		err = TS_OK;
	if (err != TS_OK) {
		reply_status(NULL, err, &c->reply);
		give_reply(&c->reply, false, ret);
		return FRONT_ANSWER;
	}
	/* The shard holds a reference to sh->st and changes it only between
	 * callbacks, so a request finished before returning needs none. */
	session_attach(sh, c);
	c->busy = true;
	request_init(&c->req, sh->st, front_conn_peer(fc), h, payload);
	c->req.sess = c->sess;
	next = request_prepare(&c->req, true);
	if (next != REQ_WORKER) {
		if (next == REQ_LOOP)
			request_run(&c->req);
		request_reply(&c->req, &c->reply);
		request_over(c);
		give_reply(&c->reply, false, ret);
		return FRONT_ANSWER;
	}
	/* A worker finishes it, maybe after a reload: pin this state. */
	c->st = svc_state_ref(sh->st);
	c->req.st = c->st;
	c->tenant = request_tenant(&c->req);
	if (sh->in_flight < in_flight_limit(sh)) {
		start_work(c);
		return FRONT_LATER;
	}
	/* Back-pressure: the request waits here, and since the front does not
	 * read this connection meanwhile, its client cannot pile more on. */
	c->queued = true;
	if (sh->wait_tail != NULL)
		sh->wait_tail->wnext = c;
	else
		sh->wait_head = c;
	sh->wait_tail = c;
	return FRONT_LATER;
}

/* The drain ran out of time: a request that never started is dropped; one
 * on a worker is let go when it comes back (the front drops its reply). */
static void on_cancel(void *ctx, struct front_conn *fc)
{
	struct dconn *c = front_conn_data(fc);

	(void)ctx;
	if (!c->queued)
		return;
	wait_remove(c->sh, c);
	request_discard(&c->req);
	svc_state_unref(c->st);
	c->st = NULL;
	c->busy = false;
	front_reply(fc, NULL);
}

static int on_loop_init(void *ctx, struct front_loop *l)
{
	struct server *srv = ctx;
	struct shard *sh = front_loop_data(l);

	sh->srv = srv;
	if (uv_async_init(front_loop_uv(l), &sh->done_async, on_done) < 0)
		return -1;
	sh->done_async.data = sh;
	sh->done_async_open = true;
	if (uv_timer_init(front_loop_uv(l), &sh->sweep) < 0)
		return -1;
	sh->sweep.data = sh;
	sh->sweep_open = true;
	uv_mutex_init(&sh->done_lock);
	uv_mutex_init(&sh->st_lock);
	sh->st = svc_state_ref(srv->st);
	sweep_arm(sh);
	return 0;
}

/* Nothing is on a worker: a connection waits for its request before it
 * closes, and the shard's last connection is gone. */
static void on_loop_stop(void *ctx, struct front_loop *l)
{
	struct shard *sh = front_loop_data(l);

	(void)ctx;
	if (sh->done_async_open) {
		uv_close((uv_handle_t *)&sh->done_async, NULL);
		sh->done_async_open = false;
	}
	if (sh->sweep_open) {
		uv_close((uv_handle_t *)&sh->sweep, NULL);
		sh->sweep_open = false;
	}
}

static void on_loop_fini(void *ctx, struct front_loop *l)
{
	struct shard *sh = front_loop_data(l);

	(void)ctx;
	svc_state_unref(sh->st_posted);
	svc_state_unref(sh->st);
	uv_mutex_destroy(&sh->done_lock);
	uv_mutex_destroy(&sh->st_lock);
}

/* The shard's thread: take a reloaded configuration. */
static void on_wake(void *ctx, struct front_loop *l)
{
	struct shard *sh = front_loop_data(l);
	struct svc_state *st;

	(void)ctx;
	uv_mutex_lock(&sh->st_lock);
	st = sh->st_posted;
	sh->st_posted = NULL;
	uv_mutex_unlock(&sh->st_lock);
	if (st == NULL)
		return;
	svc_state_unref(sh->st); /* requests on workers keep their own reference */
	sh->st = st;
}

static void on_stopping(void *ctx, const char *why)
{
	(void)ctx;
	(void)why;
	notify_stopping();
}

/* ---- reload ---- */

static struct front_limits limits_of(const struct ts_config *cfg)
{
	return (struct front_limits){.body_limit = cfg->core.body_len_limit,
	                             .timeout_ms = cfg->listener.timeout_ms,
	                             .idle_ms = cfg->listener.idle_timeout_ms,
	                             .max_conns = cfg->listener.max_connections,
	                             .max_per_uid = cfg->listener.max_connections_per_uid};
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
	if (strcmp(old->key_store.path, new->key_store.path) != 0)
		ts_warn("reload: key_store.path changed; it takes effect at restart");
	if (old->trust.configured != new->trust.configured ||
	    old->trust.peer_uid != new->trust.peer_uid ||
	    old->trust.peer_gid != new->trust.peer_gid)
		ts_warn("reload: trust.* changed; it takes effect at restart");
}

/* Main thread: every shard takes st at its next wake-up. */
static void post_state(struct server *srv, struct svc_state *st)
{
	struct front_limits lim = limits_of(st->cfg);

	front_set_limits(srv->front, &lim);
	for (unsigned i = 0; i < front_n_loops(srv->front); i++) {
		struct front_loop *l = front_loop_at(srv->front, i);
		struct shard *sh = front_loop_data(l);

		uv_mutex_lock(&sh->st_lock);
		svc_state_unref(sh->st_posted); /* an older reload not yet taken */
		sh->st_posted = svc_state_ref(st);
		uv_mutex_unlock(&sh->st_lock);
		front_wake(l);
	}
}

/* The new state from the configuration file, or NULL after logging why. */
static struct svc_state *reload_state(struct server *srv)
{
	struct ts_config *cfg;
	struct svc_state *st;
	char err[512];

	cfg = config_load_file(srv->opts->config_path, err, sizeof(err));
	if (cfg == NULL) {
		ts_error("reload failed, keeping the running configuration: %s", err);
		return NULL;
	}
	if (apply_overrides(cfg, srv->opts) != 0) {
		ts_error("reload failed, keeping the running configuration: out of memory");
		config_free(cfg);
		return NULL;
	}
	resolve_defaults(cfg);
	keep_startup_settings(srv->st->cfg, cfg);
	/* Providers live as long as the process: a valid new configuration
	 * applies everything else and keeps them. */
	if (svc_providers_check(cfg, err, sizeof(err)) != TS_OK) {
		ts_error("reload failed, keeping the running configuration: %s", err);
		config_free(cfg);
		return NULL;
	}
	if (svc_providers_differ(srv->st->provs, cfg, err, sizeof(err)))
		ts_warn("reload: the providers changed (%s); the running ones are kept until "
		        "restart",
		        err);
	if (svc_state_new(cfg, srv->st->ks, srv->st->trust, srv->st->provs, &st, err,
	                  sizeof(err)) != TS_OK) {
		ts_error("reload failed, keeping the running configuration: %s", err);
		config_free(cfg);
		return NULL;
	}
	return st;
}

static void on_reload(void *ctx)
{
	struct server *srv = ctx;
	struct svc_state *st, *old;

	notify_reloading();
	if (srv->opts->config_path == NULL) {
		ts_warn("SIGHUP: running on the embedded default configuration; nothing to "
		        "reload");
		notify_ready();
		return;
	}
	st = reload_state(srv);
	if (st == NULL) {
		notify_ready();
		return;
	}
	sched_set_per_tenant(srv->sched, st->cfg->core.max_slow_per_tenant);
	old = srv->st;
	srv->st = st;
	svc_state_unref(old); /* the shards and running requests keep their own */
	post_state(srv, st);
	ts_log_set_level(st->cfg->core.log_level);
	ts_info("configuration reloaded from %s", srv->opts->config_path);
	notify_ready();
}

static const struct front_ops server_ops = {
        .conn_size = sizeof(struct dconn),
        .loop_size = sizeof(struct shard),
        .loop_init = on_loop_init,
        .loop_stop = on_loop_stop,
        .loop_fini = on_loop_fini,
        .wake = on_wake,
        .request = on_request,
        .cancel = on_cancel,
        .closed = on_closed,
        .stopping = on_stopping,
        .reload = on_reload,
};

int server_run(struct svc_state *st, const struct server_opts *opts)
{
	const struct ts_config *cfg = st->cfg;
	struct server srv = {.st = st, .opts = opts};
	struct front_config fcfg = {.program = "tesserad",
	                            .n_loops = cfg->core.io_threads,
	                            .limits = limits_of(cfg),
	                            .deadline_from_accept = true,
	                            .answer_cut_short = true,
	                            .caps_key = "listener.max_connections"};
	struct front_socket sock = {.path = cfg->listener.socket_path,
	                            .mode = cfg->listener.socket_mode,
	                            .group = cfg->listener.socket_group,
	                            .path_key = "listener.socket_path",
	                            .group_key = "listener.socket_group"};
	const char *where;
	char err[512];
	int rc = 1;

	/* The signals and the loops first, then the workers: once the socket
	 * accepts, everything is in place. */
	if (front_new(&fcfg, &server_ops, &srv, &srv.front) != TS_OK) {
		ts_error("out of memory");
		goto out;
	}
	if (sched_new(cfg->core.threads, cfg->core.max_slow_per_tenant, &srv.sched) != TS_OK) {
		ts_error("cannot start the worker threads");
		goto out;
	}
	session_set_scheduler(srv.sched);
	if (front_listen(srv.front, &sock, err, sizeof(err)) < 0) {
		ts_error("%s", err);
		goto out;
	}
	where = front_bound_path(srv.front) != NULL ? front_bound_path(srv.front)
	                                            : "the systemd socket";
	ts_info("tesserad %s ready on %s (%u event loop(s), %u worker threads, "
	        "%zu authenticator(s), %zu provider(s))",
	        TESSERA_VERSION, where, front_n_loops(srv.front), cfg->core.threads,
	        auth_set_count(st->auth), st->provs->n);
	notify_status("serving on %s", where);
	notify_ready();

	rc = front_run(srv.front);
	ts_info("stopped");
out:
	front_free(srv.front); /* removes the socket file */
	/* Every request is answered: the workers are idle. */
	/* Jobs queued so far still run in sched_free; nothing queues more. */
	session_set_scheduler(NULL);
	sched_free(srv.sched);
	svc_state_unref(srv.st);
	return rc;
}
