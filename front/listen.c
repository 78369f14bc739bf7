/*
 * The listening socket, on the main thread: binding a path (or taking the
 * socket systemd passed), accepting within the caps, SO_PEERCRED, and what
 * to do when file descriptors run out.
 */
#include "front/front-priv.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "common/log.h"

/* Connections taken per wake-up of the listener, so a connect storm does
 * not starve the connections of loop 0, which shares the main loop. */
#define ACCEPT_BATCH 64
/* Listening paused after running out of descriptors with no spare one. */
#define ACCEPT_PAUSE_MS 100

/* ---- per-uid connection counts (caller holds f->lock) ---- */

static struct uid_count *uid_slot(struct front *f, uid_t uid, bool create)
{
	struct uid_count *grown;

	for (size_t i = 0; i < f->n_uids; i++)
		if (f->uids[i].uid == uid)
			return &f->uids[i];
	if (!create)
		return NULL;
	grown = realloc(f->uids, (f->n_uids + 1) * sizeof(*grown));
	if (grown == NULL)
		return NULL;
	f->uids = grown;
	f->uids[f->n_uids] = (struct uid_count){.uid = uid, .n = 0};
	return &f->uids[f->n_uids++];
}

void caps_release(struct front *f, const struct auth_peer *peer)
{
	struct uid_count *u;

	uv_mutex_lock(&f->lock);
	f->n_conns--;
	u = peer->valid ? uid_slot(f, peer->uid, false) : NULL;
	if (u != NULL && --u->n == 0)
		*u = f->uids[--f->n_uids]; /* keep the table as small as the live uids */
	uv_mutex_unlock(&f->lock);
}

unsigned caps_open(struct front *f)
{
	unsigned n;

	uv_mutex_lock(&f->lock);
	n = f->n_conns;
	uv_mutex_unlock(&f->lock);
	return n;
}

/* ---- accepting ---- */

static void on_listen_ready(uv_poll_t *p, int status, int events);

static void on_accept_pause(uv_timer_t *t)
{
	struct front *f = t->data;

	if (f->listen_open)
		uv_poll_start(&f->listen, UV_READABLE, on_listen_ready);
}

/* Out of descriptors: give up the spare one to take the waiting connections
 * off the backlog and close them (their clients see the connection close at
 * once, instead of hanging), then take it back. With no spare to give, stop
 * listening for a moment rather than spin on a backlog we cannot accept. */
static void shed_backlog(struct front *f)
{
	int fd;

	if (f->spare_fd >= 0) {
		close(f->spare_fd);
		while ((fd = accept4(f->listen_fd, NULL, NULL, SOCK_CLOEXEC)) >= 0)
			close(fd);
		f->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		return;
	}
	f->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (f->spare_fd >= 0 || !f->accept_pause_open)
		return;
	uv_poll_stop(&f->listen);
	uv_timer_start(&f->accept_pause, on_accept_pause, ACCEPT_PAUSE_MS, 0);
}

static void accept_failed(struct front *f, int err)
{
	uint64_t now = uv_now(f->loop);
	bool emfile = err == EMFILE || err == ENFILE;

	/* Say so at most once a second: a full table makes every connect
	 * fail. */
	if (now - f->last_accept_warn >= 1000 || f->last_accept_warn == 0) {
		f->last_accept_warn = now;
		if (emfile)
			ts_warn("accept failed: out of file descriptors (%s); new connections "
			        "are refused until some close: raise the descriptor limit "
			        "(LimitNOFILE=)%s%s",
			        strerror(err), f->caps_key != NULL ? " or lower " : "",
			        f->caps_key != NULL ? f->caps_key : "");
		else
			ts_warn("accept failed: %s", strerror(err));
	}
	if (emfile)
		shed_backlog(f);
}

/* The clock ticks since boot that /proc/PID/stat uses for start times, or 0. */
static uint64_t boot_ticks(void)
{
	struct timespec ts;
	long hz = sysconf(_SC_CLK_TCK);

	if (hz <= 0 || clock_gettime(CLOCK_BOOTTIME, &ts) != 0)
		return 0;
	return (uint64_t)ts.tv_sec * (uint64_t)hz +
	       (uint64_t)ts.tv_nsec / (1000000000u / (uint64_t)hz);
}

static void accept_one(struct front *f, int fd)
{
	struct front_conn *c;
	struct ucred cred;
	socklen_t len = sizeof(cred);
	struct uid_count *u = NULL;
	unsigned open_now, max_conns, max_per_uid;
	bool refuse;

	c = calloc(1, sizeof(*c) + f->ops->conn_size);
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
		c->peer.accept_ticks = boot_ticks();
	}
	uv_mutex_lock(&f->lock);
	max_conns = f->max_conns;
	max_per_uid = f->max_per_uid;
	if (c->peer.valid)
		u = uid_slot(f, c->peer.uid, true);
	refuse = f->n_conns >= max_conns || (c->peer.valid && (u == NULL || u->n >= max_per_uid));
	if (refuse) {
		if (u != NULL && u->n == 0)
			*u = f->uids[--f->n_uids]; /* the slot made for this one */
	} else {
		if (u != NULL)
			u->n++;
		else
			c->peer.valid = false; /* no uid slot: count it nowhere, trust it nowhere */
		f->n_conns++;
	}
	open_now = f->n_conns;
	uv_mutex_unlock(&f->lock);
	if (refuse) {
		/* Over a cap: the connection is closed unanswered. Warn once
		 * in a while, not per connection, so a flood cannot flood the log. */
		if (f->rejected++ % 1000 == 0)
			ts_warn("connection refused (uid %u): %u open, caps %u total, %u per uid",
			        (unsigned)c->peer.uid, open_now, max_conns, max_per_uid);
		close(fd);
		free(c);
		return;
	}
	loop_post_conn(f, c);
}

static void on_listen_ready(uv_poll_t *p, int status, int events)
{
	struct front *f = p->data;

	(void)events;
	if (status < 0) {
		ts_warn("listening socket: %s", uv_strerror(status));
		return;
	}
	for (int i = 0; i < ACCEPT_BATCH && !f->draining; i++) {
		int fd = accept4(f->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

		if (fd >= 0) {
			accept_one(f, fd);
			continue;
		}
		if (errno == EINTR || errno == ECONNABORTED)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			accept_failed(f, errno);
		return;
	}
}

void listen_start(struct front *f)
{
	if (f->listen_open)
		uv_poll_start(&f->listen, UV_READABLE, on_listen_ready);
}

void listen_close(struct front *f)
{
	if (f->listen_open) {
		uv_close((uv_handle_t *)&f->listen, NULL);
		f->listen_open = false;
	}
	if (f->listen_fd >= 0)
		close(f->listen_fd);
	f->listen_fd = -1;
}

/* ---- the listening socket ---- */

static int bind_path(struct front *f, const struct front_socket *s, char *err, size_t errlen)
{
	const char *path = s->path;
	const char *path_key = s->path_key != NULL ? s->path_key : "the socket path";
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct stat sb;
	int fd = -1;

	/* libuv 1.44 would silently cut a long path; refuse instead. */
	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen,
		         "%s is %zu bytes long; a Unix socket path must be "
		         "shorter than %zu bytes",
		         path_key, strlen(path), sizeof(sa.sun_path));
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
		 * live server still answers on it. */
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
	/* The programs' umask (077) keeps the new file private until chmod. */
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		snprintf(err, errlen, "cannot bind %s: %s", path, strerror(errno));
		goto fail;
	}
	if (s->group != NULL) {
		struct group *gr = getgrnam(s->group);
		const char *group_key = s->group_key != NULL ? s->group_key : "socket group";

		if (gr == NULL) {
			snprintf(err, errlen, "%s: no group named \"%s\"", group_key, s->group);
			goto fail_unlink;
		}
		if (chown(path, (uid_t)-1, gr->gr_gid) < 0) {
			snprintf(err, errlen, "cannot give %s to group %s: %s", path, s->group,
			         strerror(errno));
			goto fail_unlink;
		}
	}
	if (chmod(path, s->mode) < 0) {
		snprintf(err, errlen, "cannot chmod %s: %s", path, strerror(errno));
		goto fail_unlink;
	}
	f->bound_path = strdup(path);
	if (f->bound_path == NULL) {
		snprintf(err, errlen, "cannot use the socket: out of memory");
		goto fail_unlink;
	}
	f->listen_fd = fd;
	return 0;
fail_unlink:
	unlink(path);
fail:
	close(fd);
	return -1;
}

int front_listen(struct front *f, const struct front_socket *s, char *err, size_t errlen)
{
	int n = sd_listen_fds(1);
	int rc;

	if (n > 1) {
		snprintf(err, errlen, "systemd passed %d sockets; %s takes exactly one", n,
		         f->program);
		return -1;
	}
	if (n == 1) {
		if (sd_is_socket_unix(SD_LISTEN_FDS_START, SOCK_STREAM, 1, NULL, 0) <= 0) {
			snprintf(err, errlen,
			         "the socket from systemd is not a listening "
			         "Unix stream socket");
			return -1;
		}
		f->listen_fd = SD_LISTEN_FDS_START;
		ts_info("listening on the socket passed by systemd");
	} else if (bind_path(f, s, err, errlen) < 0) {
		return -1;
	}
	if (listen(f->listen_fd, SOMAXCONN) < 0) {
		snprintf(err, errlen, "listen: %s", strerror(errno));
		listen_close(f);
		return -1;
	}
	/* uv_poll_init makes the descriptor non-blocking. */
	rc = uv_poll_init(f->loop, &f->listen, f->listen_fd);
	if (rc < 0) {
		snprintf(err, errlen, "cannot watch the socket: %s", uv_strerror(rc));
		listen_close(f);
		return -1;
	}
	f->listen.data = f;
	f->listen_open = true;
	return 0;
}

const char *front_bound_path(const struct front *f)
{
	return f->bound_path;
}
