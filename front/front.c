/*
 * A front's event loops, the signals and the drain.
 *
 * Threads. The main thread's loop owns the listening socket, the signals and
 * the limits; it accepts connections and deals them out to the loops (loop 0
 * is the main loop itself, the others run a loop each on their own thread).
 *
 * Shared between threads: the connection caps (f->lock) and each loop's
 * inbox (its inbox_lock: the main thread posts accepted connections, new
 * limits, wake-ups and stop orders, then wakes the loop). Everything else
 * belongs to one thread.
 */
#include "front/front-priv.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"

/* How long a drain may take before remaining connections are cut. */
#define DRAIN_LIMIT_MS 30000

/* ---- the end ---- */

/* The last step of a shutdown: with nothing left to serve, the main loop
 * ends once these handles are closed. */
static void close_main_handles(struct front *f)
{
	if (f->signals_open) {
		uv_close((uv_handle_t *)&f->sig_term, NULL);
		uv_close((uv_handle_t *)&f->sig_int, NULL);
		if (f->ops->reload != NULL)
			uv_close((uv_handle_t *)&f->sig_hup, NULL);
		f->signals_open = false;
		/* libuv puts back the default actions; a second stop signal
		 * during the last clean-up must not kill the process with a
		 * signal status. */
		signal(SIGTERM, SIG_IGN);
		signal(SIGINT, SIG_IGN);
		if (f->ops->reload != NULL)
			signal(SIGHUP, SIG_IGN);
	}
	if (f->drain_timer_open) {
		uv_close((uv_handle_t *)&f->drain_timer, NULL);
		f->drain_timer_open = false;
	}
	if (f->accept_pause_open) {
		uv_close((uv_handle_t *)&f->accept_pause, NULL);
		f->accept_pause_open = false;
	}
	if (f->loop_done_open) {
		uv_close((uv_handle_t *)&f->loop_done, NULL);
		f->loop_done_open = false;
	}
}

/* Main thread: once every loop has drained, the main loop winds down. */
static void check_all_done(struct front *f)
{
	if (atomic_load(&f->n_done) == f->n_loops)
		close_main_handles(f);
}

static void on_loop_done(uv_async_t *a)
{
	check_all_done(a->data);
}

/* The loop's thread: draining and with no connection left, it stops. */
static void loop_finish(struct front_loop *l)
{
	struct front *f = l->f;

	if (l->done)
		return;
	l->done = true;
	/* Nothing is in the program's hands: a connection waits for its
	 * request before it closes, and this is the last connection gone. */
	if (l->inited && f->ops->loop_stop != NULL)
		f->ops->loop_stop(f->ctx, l);
	if (!l->threaded) {
		atomic_fetch_add(&f->n_done, 1);
		check_all_done(f);
		return;
	}
	uv_mutex_lock(&l->inbox_lock);
	l->closed = true;
	uv_mutex_unlock(&l->inbox_lock);
	uv_close((uv_handle_t *)&l->wake, NULL); /* its loop then ends */
	atomic_fetch_add(&f->n_done, 1);
	uv_async_send(&f->loop_done);
}

void loop_conn_gone(struct front_loop *l)
{
	if (l->draining)
		loop_finish(l);
}

/* ---- what the main thread posts ---- */

/* The loop's thread: stop taking requests; idle connections go now, the
 * others after their response (on_write sees draining). */
static void loop_drain(struct front_loop *l)
{
	if (l->draining)
		return;
	l->draining = true;
	for (struct front_conn *c = l->conns, *next; c != NULL; c = next) {
		next = c->next;
		if (c->state == CS_READING)
			conn_close(c);
	}
	if (l->n_conns == 0)
		loop_finish(l);
}

static void loop_close_all(struct front_loop *l)
{
	for (struct front_conn *c = l->conns, *next; c != NULL; c = next) {
		next = c->next;
		conn_close(c);
	}
}

static void on_wake(uv_async_t *a)
{
	struct front_loop *l = a->data;
	struct front *f = l->f;
	struct front_conn *conns, *c;
	struct front_limits lim;
	bool has_limits, drain, force, wake;

	uv_mutex_lock(&l->inbox_lock);
	conns = l->inbox_head;
	l->inbox_head = l->inbox_tail = NULL;
	has_limits = l->inbox_has_limits;
	lim = l->inbox_limits;
	wake = l->inbox_wake;
	drain = l->inbox_drain;
	force = l->inbox_force;
	l->inbox_has_limits = l->inbox_wake = l->inbox_drain = l->inbox_force = false;
	uv_mutex_unlock(&l->inbox_lock);

	if (has_limits)
		l->lim = lim;
	if (wake && f->ops->wake != NULL)
		f->ops->wake(f->ctx, l);
	while ((c = conns) != NULL) {
		conns = c->inext;
		c->inext = NULL;
		conn_adopt(l, c);
	}
	if (drain)
		loop_drain(l);
	if (force)
		loop_close_all(l);
}

/*
 * Main thread: hand something to a loop. Loop 0 runs on this thread, so it
 * is done directly; the others get it through their inbox. Only a late
 * MSG_FORCE (the drain timer) or a wake-up can find a loop already stopped:
 * connections and new limits end when the drain begins (the listener closes
 * first, reloads are not taken while draining), and a drain is posted once.
 */
enum loop_msg { MSG_CONN, MSG_LIMITS, MSG_WAKE, MSG_DRAIN, MSG_FORCE };

static void loop_post(struct front_loop *l, enum loop_msg m, struct front_conn *c,
                      const struct front_limits *lim)
{
	struct front *f = l->f;

	if (!l->threaded) {
		if (m == MSG_CONN)
			conn_adopt(l, c);
		else if (m == MSG_LIMITS)
			l->lim = *lim;
		else if (m == MSG_WAKE && f->ops->wake != NULL)
			f->ops->wake(f->ctx, l);
		else if (m == MSG_DRAIN)
			loop_drain(l);
		else if (m == MSG_FORCE)
			loop_close_all(l);
		return;
	}
	uv_mutex_lock(&l->inbox_lock);
	if (l->closed) {
		uv_mutex_unlock(&l->inbox_lock);
		if (m == MSG_CONN) {
			/* Not reachable (see above), but never leak a descriptor. */
			close(c->fd);
			caps_release(f, &c->peer);
			free(c);
		}
		return;
	}
	if (m == MSG_CONN) {
		if (l->inbox_tail != NULL)
			l->inbox_tail->inext = c;
		else
			l->inbox_head = c;
		l->inbox_tail = c;
	} else if (m == MSG_LIMITS) {
		l->inbox_limits = *lim;
		l->inbox_has_limits = true;
	} else if (m == MSG_WAKE) {
		l->inbox_wake = true;
	} else if (m == MSG_DRAIN) {
		l->inbox_drain = true;
	} else {
		l->inbox_force = true;
	}
	/* Sent under the lock, so the loop cannot close the handle between
	 * the check above and the send. */
	uv_async_send(&l->wake);
	uv_mutex_unlock(&l->inbox_lock);
}

/*
 * The loop with the fewest connections, the main loop's own on a tie: a
 * client that connects per request is then served where it was accepted,
 * with no hand-off, while persistent connections spread over the loops.
 */
void loop_post_conn(struct front *f, struct front_conn *c)
{
	struct front_loop *best = &f->loops[0];
	unsigned least = atomic_load(&best->assigned);

	for (unsigned i = 1; i < f->n_loops && least > 0; i++) {
		unsigned n = atomic_load(&f->loops[i].assigned);

		if (n < least) {
			least = n;
			best = &f->loops[i];
		}
	}
	atomic_fetch_add(&best->assigned, 1);
	loop_post(best, MSG_CONN, c, NULL);
}

void front_wake(struct front_loop *l)
{
	loop_post(l, MSG_WAKE, NULL, NULL);
}

void front_set_limits(struct front *f, const struct front_limits *lim)
{
	uv_mutex_lock(&f->lock);
	f->max_conns = lim->max_conns;
	f->max_per_uid = lim->max_per_uid;
	uv_mutex_unlock(&f->lock);
	for (unsigned i = 0; i < f->n_loops; i++)
		loop_post(&f->loops[i], MSG_LIMITS, NULL, lim);
}

/* ---- the loops ---- */

static void loop_thread(void *arg)
{
	struct front_loop *l = arg;
	char name[16];

	/* Named, so `top -H` and the tests can tell loops from workers. */
	snprintf(name, sizeof(name), "%s-loop", l->f->program);
	(void)pthread_setname_np(pthread_self(), name);
	uv_run(l->loop, UV_RUN_DEFAULT);
	/* The program holds nothing of ours: every request was answered
	 * before the last connection closed. */
	uv_loop_close(l->loop);
}

/* A loop thread starts with the stop and reload signals blocked, so they
 * are always taken by the main thread, which owns their handlers. */
static int start_loop_thread(struct front_loop *l)
{
	sigset_t block, old;
	int rc;

	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	rc = uv_thread_create(&l->thread, loop_thread, l);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}

/* The program's part of a loop, on the main thread before the loop runs. */
static int loop_init_program(struct front_loop *l)
{
	struct front *f = l->f;

	if (f->ops->loop_size > 0) {
		l->data = calloc(1, f->ops->loop_size);
		if (l->data == NULL)
			return UV_ENOMEM;
	}
	if (f->ops->loop_init != NULL && f->ops->loop_init(f->ctx, l) != 0) {
		free(l->data);
		l->data = NULL;
		return UV_ENOMEM;
	}
	l->inited = true;
	return 0;
}

static void loop_fini_program(struct front_loop *l)
{
	struct front *f = l->f;

	if (l->inited && f->ops->loop_fini != NULL)
		f->ops->loop_fini(f->ctx, l);
	l->inited = false;
	free(l->data);
	l->data = NULL;
}

/* A loop with a thread of its own; on failure nothing of it is left
 * running. */
static int start_threaded_loop(struct front_loop *l)
{
	int rc;

	l->threaded = true;
	l->loop = &l->own_loop;
	rc = uv_loop_init(l->loop);
	if (rc < 0)
		return rc;
	rc = uv_async_init(l->loop, &l->wake, on_wake);
	if (rc < 0) {
		uv_loop_close(l->loop);
		return rc;
	}
	l->wake.data = l;
	rc = loop_init_program(l);
	if (rc == 0 && (rc = start_loop_thread(l)) < 0 && l->f->ops->loop_stop != NULL)
		l->f->ops->loop_stop(l->f->ctx, l); /* it closes what it opened on the loop */
	if (rc < 0) {
		uv_close((uv_handle_t *)&l->wake, NULL);
		uv_run(l->loop, UV_RUN_DEFAULT);
		loop_fini_program(l);
		uv_loop_close(l->loop);
	}
	return rc;
}

/* Main thread, at start-up: want loops, loop 0 on the main loop. Returns
 * the number running. */
static unsigned start_loops(struct front *f, unsigned want, const struct front_limits *lim)
{
	for (unsigned i = 0; i < want; i++) {
		struct front_loop *l = &f->loops[i];
		int rc;

		l->f = f;
		l->lim = *lim;
		uv_mutex_init(&l->inbox_lock);
		atomic_init(&l->assigned, 0);
		if (i == 0) {
			l->loop = f->loop;
			rc = loop_init_program(l);
		} else {
			rc = start_threaded_loop(l);
		}
		if (rc < 0) {
			ts_warn("cannot start event loop %u of %u (%s); serving with %u", i + 1,
			        want, uv_strerror(rc), i);
			uv_mutex_destroy(&l->inbox_lock);
			break;
		}
		f->n_loops = i + 1;
	}
	return f->n_loops;
}

static void stop_loops(struct front *f)
{
	for (unsigned i = 0; i < f->n_loops; i++) {
		struct front_loop *l = &f->loops[i];

		if (l->threaded)
			uv_thread_join(&l->thread);
		loop_fini_program(l);
		uv_mutex_destroy(&l->inbox_lock);
	}
	f->n_loops = 0;
}

/* ---- signals and the drain ---- */

static void on_drain_timer(uv_timer_t *t)
{
	struct front *f = t->data;

	ts_warn("shutdown: %u connection(s) still busy after %d ms; closing them", caps_open(f),
	        DRAIN_LIMIT_MS);
	for (unsigned i = 0; i < f->n_loops; i++)
		loop_post(&f->loops[i], MSG_FORCE, NULL, NULL);
}

/* Stop accepting; every loop closes its connections with no request in
 * progress now, and the others after their response is written; the last
 * one to finish ends the main loop (check_all_done). */
static void drain(struct front *f)
{
	if (f->draining)
		return;
	f->draining = true;
	listen_close(f);
	for (unsigned i = 0; i < f->n_loops; i++)
		loop_post(&f->loops[i], MSG_DRAIN, NULL, NULL);
}

static void on_stop_signal(uv_signal_t *s, int signum)
{
	struct front *f = s->data;
	const char *why = signum == SIGTERM ? "SIGTERM" : "SIGINT";

	if (f->draining)
		return;
	if (f->ops->stopping != NULL)
		f->ops->stopping(f->ctx, why);
	ts_info("%s: no longer accepting; finishing the requests of %u open connection(s)", why,
	        caps_open(f));
	drain(f);
	if (atomic_load(&f->n_done) == f->n_loops)
		return;
	uv_timer_init(f->loop, &f->drain_timer);
	f->drain_timer.data = f;
	f->drain_timer_open = true;
	uv_timer_start(&f->drain_timer, on_drain_timer, DRAIN_LIMIT_MS, 0);
	uv_unref((uv_handle_t *)&f->drain_timer);
}

static void on_hup(uv_signal_t *s, int signum)
{
	struct front *f = s->data;

	(void)signum;
	if (!f->draining)
		f->ops->reload(f->ctx);
}

/* ---- the front ---- */

enum ts_err front_new(const struct front_config *cfg, const struct front_ops *ops, void *ctx,
                      struct front **ret)
{
	struct front *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return TS_E_NOMEM;
	f->program = strdup(cfg->program);
	f->loops = calloc(cfg->n_loops > 0 ? cfg->n_loops : 1, sizeof(*f->loops));
	if (f->program == NULL || f->loops == NULL) {
		free(f->program);
		free(f->loops);
		free(f);
		return TS_E_NOMEM;
	}
	f->ops = ops;
	f->ctx = ctx;
	f->deadline_from_accept = cfg->deadline_from_accept;
	f->answer_cut_short = cfg->answer_cut_short;
	f->loop = uv_default_loop();
	f->listen_fd = -1;
	f->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	f->max_conns = cfg->limits.max_conns;
	f->max_per_uid = cfg->limits.max_per_uid;
	if (cfg->caps_key != NULL && (f->caps_key = strdup(cfg->caps_key)) == NULL) {
		free(f->program);
		free(f->loops);
		free(f);
		return TS_E_NOMEM;
	}
	atomic_init(&f->n_done, 0);
	uv_mutex_init(&f->lock);
	/* Signals first: once the socket accepts, a stop (or reload) request
	 * may come at any moment, and SIGHUP's default action would kill us. */
	uv_signal_init(f->loop, &f->sig_term);
	uv_signal_init(f->loop, &f->sig_int);
	f->sig_term.data = f->sig_int.data = f;
	uv_signal_start(&f->sig_term, on_stop_signal, SIGTERM);
	uv_signal_start(&f->sig_int, on_stop_signal, SIGINT);
	if (ops->reload != NULL) {
		uv_signal_init(f->loop, &f->sig_hup);
		f->sig_hup.data = f;
		uv_signal_start(&f->sig_hup, on_hup, SIGHUP);
	}
	f->signals_open = true;
	uv_timer_init(f->loop, &f->accept_pause);
	f->accept_pause.data = f;
	f->accept_pause_open = true;
	uv_async_init(f->loop, &f->loop_done, on_loop_done);
	f->loop_done.data = f;
	f->loop_done_open = true;
	if (start_loops(f, cfg->n_loops > 0 ? cfg->n_loops : 1, &cfg->limits) == 0) {
		front_free(f);
		return TS_E_NOMEM;
	}
	*ret = f;
	return TS_OK;
}

int front_run(struct front *f)
{
	f->ran = true;
	listen_start(f);
	(void)uv_run(f->loop, UV_RUN_DEFAULT);
	stop_loops(f);
	return 0;
}

void front_free(struct front *f)
{
	if (f == NULL)
		return;
	if (!f->ran) {
		/* The loops have no connection: they stop at once, and the last
		 * one to stop ends the main loop (check_all_done). */
		f->ran = true;
		drain(f);
		if (f->n_loops == 0)
			close_main_handles(f);
		(void)uv_run(f->loop, UV_RUN_DEFAULT);
		stop_loops(f);
	}
	listen_close(f);
	if (f->bound_path != NULL)
		unlink(f->bound_path);
	free(f->bound_path);
	free(f->caps_key);
	free(f->uids);
	free(f->loops);
	free(f->program);
	if (f->spare_fd >= 0)
		close(f->spare_fd);
	uv_mutex_destroy(&f->lock);
	(void)uv_loop_close(f->loop);
	free(f);
}

unsigned front_n_loops(const struct front *f)
{
	return f->n_loops;
}

struct front_loop *front_loop_at(struct front *f, unsigned i)
{
	return &f->loops[i];
}

uv_loop_t *front_loop_uv(struct front_loop *l)
{
	return l->loop;
}

void *front_loop_data(struct front_loop *l)
{
	return l->data;
}
