/*
 * The front end of Tessera's servers (tesserad, tessera-idp,
 * tessera-orchestrator): the Parsec wire protocol over a Unix socket, up to
 * the point where a whole request is read.
 *
 * A front listens on a path (checked against sun_path, a stale socket
 * replaced, mode and group set) or on the socket systemd passed, accepts
 * within a global and a per-uid cap (shedding the backlog when descriptors
 * run out), reads each caller's SO_PEERCRED once at accept, and frames
 * requests with wire/framer.c under a whole-request deadline and an idle
 * limit between requests. Framing errors get Parsec's default header, then
 * the close. A response closes the connection, as in Parsec, unless the
 * request set WIRE_FLAG_KEEP_OPEN; a kept response echoes the flag.
 * SIGTERM and SIGINT drain (SIGHUP is the program's, when it wants it).
 *
 * A front has 1..N event loops. Loop 0 is the main thread's (libuv's
 * default loop), which also accepts and takes the signals; the others run
 * on threads of their own and are dealt connections in turn. A connection
 * stays on its loop for life, and every callback about it runs there.
 *
 * The program plugs in with a const struct front_ops: it is handed each
 * framed request and answers at once, or takes it and answers later with
 * front_reply() from the connection's loop. One request per connection is
 * in the program's hands at a time, and the connection is not read
 * meanwhile: responses leave in order, and a client cannot pile requests on.
 */
#ifndef TESSERA_FRONT_H
#define TESSERA_FRONT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "auth/auth.h"
#include "wire/wire.h"

struct front;
struct front_loop;
struct front_conn;

/* Limits a reload may change (front_set_limits). */
struct front_limits {
	uint32_t body_limit; /* body_len + auth_len of one request */
	uint32_t timeout_ms; /* a whole request once begun; also writing its response */
	uint32_t idle_ms;    /* a kept connection between requests; 0: no limit */
	unsigned max_conns;  /* open connections, over every loop */
	unsigned max_per_uid;
};

struct front_config {
	const char *program; /* in messages; loop threads are named "<program>-loop" */
	unsigned n_loops;    /* 1 or more */
	struct front_limits limits;
	/* The first request's deadline runs from accept, as Parsec's read
	 * timeout does (a client that connects and says nothing is cut after
	 * timeout_ms); otherwise a new connection is idle until its first byte. */
	bool deadline_from_accept;
	/* A request cut short (its deadline passed, or the peer closed in the
	 * middle of it) is answered with ConnectionError before the close, as
	 * Parsec does; otherwise the connection is just closed. */
	bool answer_cut_short;
	const char *caps_key; /* the setting to lower when descriptors run out; NULL: none */
};

/* Where to listen when systemd passed no socket. */
struct front_socket {
	const char *path;
	unsigned mode;
	const char *group;     /* NULL: the process's own */
	const char *path_key;  /* the setting that names the path, in messages; NULL: none */
	const char *group_key; /* likewise for the group */
};

/* A whole response, header first. */
struct front_reply {
	const uint8_t *data;
	size_t len;
	/* Freed once written. NULL: data is static (a reply made when memory
	 * ran out): the header cannot take the keep-open flag, so the
	 * connection closes after it. */
	uint8_t *owned;
	bool close; /* close after it whatever the request asked */
};

enum front_next {
	FRONT_ANSWER, /* the reply is in *ret_reply */
	FRONT_LATER,  /* the program will call front_reply() */
};

struct front_ops {
	size_t conn_size; /* the program's bytes per connection (front_conn_data) */
	size_t loop_size; /* the program's bytes per loop (front_loop_data) */
	/* Main thread, before the loop runs: set up the program's part of it.
	 * 0, or -1 (the front then runs with the loops made so far). Optional. */
	int (*loop_init)(void *ctx, struct front_loop *l);
	/* The loop's thread: it is draining and its last connection is gone;
	 * close the handles loop_init opened on it. Optional. */
	void (*loop_stop)(void *ctx, struct front_loop *l);
	/* Main thread, once the loop has ended (or when loop_init succeeded
	 * and the front is freed without running). Optional. */
	void (*loop_fini)(void *ctx, struct front_loop *l);
	/* The loop's thread, after front_wake(). Optional. */
	void (*wake)(void *ctx, struct front_loop *l);
	/*
	 * The connection's loop: a whole request, its header past the framing
	 * checks (the field checks are the program's: an answer it gives here
	 * keeps the stream in step). payload is the body then the auth bytes;
	 * it and h stay valid until the reply is given. Returns FRONT_ANSWER
	 * with *ret_reply set, or FRONT_LATER.
	 */
	enum front_next (*request)(void *ctx, struct front_conn *c, const struct wire_header *h,
	                           const uint8_t *payload, struct front_reply *ret_reply);
	/* The connection's loop: a connection whose request the program holds
	 * is closed (the drain ran out of time). The program calls
	 * front_reply() when it lets go of the request (at once if it can;
	 * the reply is then dropped). Optional: without it the front waits. */
	void (*cancel)(void *ctx, struct front_conn *c);
	/* The connection's loop: the connection is closed (for any reason)
	 * and its program data is freed when this returns; no request of it
	 * is in the program's hands. Optional. */
	void (*closed)(void *ctx, struct front_conn *c);
	/* Main thread: a drain begins (why: "SIGTERM", "SIGINT"). Optional. */
	void (*stopping)(void *ctx, const char *why);
	/* Main thread: SIGHUP, when not draining. NULL: SIGHUP is left alone. */
	void (*reload)(void *ctx);
};

/*
 * A front on libuv's default loop, with cfg->n_loops loops (fewer when a
 * loop cannot start: that is logged) and the stop (and reload) signals
 * handled from now on. TS_OK, or TS_E_NOMEM.
 */
enum ts_err front_new(const struct front_config *cfg, const struct front_ops *ops, void *ctx,
                      struct front **ret);

/* Listen on the socket systemd passed (exactly one Unix stream socket), or
 * else bind s->path. 0, or -1 with a message in err. */
int front_listen(struct front *f, const struct front_socket *s, char *err, size_t errlen);

/* Serve until a drain has finished. Returns 0. */
int front_run(struct front *f);

/* Stop what runs (a front that never ran winds down first), remove the
 * socket file it made, free. Accepts NULL. */
void front_free(struct front *f);

/* Main thread: new limits. The caps apply to the next accept; the
 * deadlines and body limit to each loop's next request. */
void front_set_limits(struct front *f, const struct front_limits *lim);

/* Main thread: have ops->wake run on the loop's thread (at once for loop
 * 0). Nothing runs on a loop that has stopped. */
void front_wake(struct front_loop *l);

/* The number of loops running. */
unsigned front_n_loops(const struct front *f);
/* Loop i (i < front_n_loops). */
struct front_loop *front_loop_at(struct front *f, unsigned i);
/* The path bound, or NULL under socket activation. */
const char *front_bound_path(const struct front *f);

uv_loop_t *front_loop_uv(struct front_loop *l);
void *front_loop_data(struct front_loop *l);

/*
 * The connection's loop: answer the request the program took (FRONT_LATER).
 * r may be NULL only after ops->cancel; the reply is dropped when the
 * connection is being closed.
 */
void front_reply(struct front_conn *c, const struct front_reply *r);

/* The connection's loop: while held, the connection is never closed for
 * idleness between requests (listener.idle_ms); letting go while it is
 * idle starts the idle limit anew. */
void front_conn_hold_idle(struct front_conn *c, bool hold);

struct front_loop *front_conn_loop(struct front_conn *c);
void *front_conn_data(struct front_conn *c);
/* The peer's credentials from accept (valid false when unknown). */
const struct auth_peer *front_conn_peer(const struct front_conn *c);

#endif
