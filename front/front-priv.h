/* The front end's internals: shared by front/'s own files only. */
#ifndef TESSERA_FRONT_PRIV_H
#define TESSERA_FRONT_PRIV_H

#include <stdalign.h>
#include <stdatomic.h>
#include <stddef.h>

#include "front/front.h"
#include "wire/framer.h"

enum conn_state {
	CS_READING, /* reading a request (the framer says how far) */
	CS_PROGRAM, /* whole request read, in the program's hands */
	CS_WRITING, /* response being written */
	CS_CLOSING,
};

struct front_conn {
	uv_pipe_t pipe;
	uv_timer_t timer;
	uv_write_t wreq;
	struct front_loop *l;
	struct front_conn *prev, *next; /* the loop's open connections */
	struct front_conn *inext;       /* the loop's inbox */
	int fd;                         /* accepted, until its loop adopts it */
	struct auth_peer peer;
	enum conn_state state;
	struct wire_framer fr;    /* the request being read, then answered */
	struct front_reply reply; /* being written */
	bool close_after_write;
	bool close_pending; /* closed while the program held the request */
	bool keep_open;     /* the request being answered asked for WIRE_FLAG_KEEP_OPEN */
	bool idle; /* between requests (or before the first, without deadline_from_accept) */
	bool hold_idle; /* front_conn_hold_idle: no idle limit */
	int open_handles;
	alignas(max_align_t) unsigned char data[]; /* ops->conn_size bytes */
};

struct front_loop {
	struct front *f;
	uv_loop_t *loop; /* the main loop for loop 0 */
	uv_loop_t own_loop;
	bool threaded;
	bool inited; /* ops->loop_init succeeded */
	uv_thread_t thread;
	uv_async_t wake;
	void *data; /* ops->loop_size bytes */

	/* Posted by the main thread (threaded loops only). */
	uv_mutex_t inbox_lock;
	struct front_conn *inbox_head, *inbox_tail; /* accepted, to adopt */
	struct front_limits inbox_limits;
	bool inbox_has_limits, inbox_drain, inbox_force, inbox_wake;
	bool closed; /* wake is closed: post nothing more */

	/* The loop's own thread only. */
	struct front_limits lim;
	struct front_conn *conns;
	unsigned n_conns;
	bool draining;
	bool done;
	uint8_t discard_buf[4096];

	atomic_uint assigned; /* connections dealt to it and not yet closed */
};

struct uid_count {
	uid_t uid;
	unsigned n;
};

struct front {
	const struct front_ops *ops;
	void *ctx;
	char *program;
	bool deadline_from_accept;
	bool answer_cut_short;
	uv_loop_t *loop; /* the main loop */
	bool ran;

	/* listen.c */
	int listen_fd;
	uv_poll_t listen;
	bool listen_open;
	uv_timer_t accept_pause;
	bool accept_pause_open;
	int spare_fd;     /* given up to shed connections when descriptors run out */
	char *bound_path; /* socket file we created (unlinked at the end) */
	char *caps_key;
	uint64_t rejected;
	uint64_t last_accept_warn;

	/* front.c */
	uv_signal_t sig_term, sig_int, sig_hup;
	bool signals_open;
	uv_timer_t drain_timer;
	bool drain_timer_open;
	uv_async_t loop_done; /* a threaded loop finished its drain */
	bool loop_done_open;
	atomic_uint n_done;
	struct front_loop *loops;
	unsigned n_loops;
	bool draining;

	uv_mutex_t lock; /* the caps below, counted across loops */
	unsigned max_conns, max_per_uid;
	unsigned n_conns;
	struct uid_count *uids;
	size_t n_uids;
};

/* ---- listen.c (main thread) ---- */

/* Start taking connections (after front_listen). */
void listen_start(struct front *f);
/* Stop taking connections; the socket is closed. */
void listen_close(struct front *f);
/* A connection's cap counts are given back (any thread). */
void caps_release(struct front *f, const struct auth_peer *peer);
/* Connections open now, over every loop. */
unsigned caps_open(struct front *f);

/* ---- conn.c (the connection's loop) ---- */

/* Take a connection the main thread accepted. */
void conn_adopt(struct front_loop *l, struct front_conn *c);
void conn_close(struct front_conn *c);

/* ---- front.c ---- */

/* Main thread: hand an accepted connection to the loop with the fewest. */
void loop_post_conn(struct front *f, struct front_conn *c);
/* The loop's thread: its last connection closed. */
void loop_conn_gone(struct front_loop *l);

#endif
