#include "harness.h"

#include <criterion/criterion.h>
#include <criterion/hooks.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define TESSERAD TESSERA_BUILD_DIR "/daemon/tesserad"

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

void td_write_config(struct td *d, const char *tmpl)
{
	FILE *f = fopen(d->cfg, "w");

	cr_assert_not_null(f, "cannot write %s", d->cfg);
	fprintf(f, tmpl, d->sock);
	fclose(f);
}

static int try_connect(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		close(fd);
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * Criterion ignores failed assertions in a suite's .fini, where most suites
 * stop their daemon. So td_stop also writes what went wrong (an unclean exit,
 * valgrind errors) to a file the runner process set up, and the runner fails
 * the whole executable at the end if that file is not empty.
 */
static char failfile[80];

ReportHook(PRE_ALL)(struct criterion_test_set *set)
{
	(void)set;
	snprintf(failfile, sizeof(failfile), "/tmp/tessera-e2e-failures.%d", (int)getpid());
	unlink(failfile);
	setenv("TESSERA_E2E_FAILFILE", failfile, 1);
}

ReportHook(POST_ALL)(struct criterion_global_stats *stats)
{
	char buf[4096];
	size_t n = 0;
	FILE *f = fopen(failfile, "r");

	(void)stats;
	if (f == NULL)
		return;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	unlink(failfile);
	if (n == 0)
		return;
	buf[n] = '\0';
	fprintf(stderr, "\nFAILED in teardown (Criterion does not count these):\n%s", buf);
	fflush(NULL);
	_exit(1);
}

static void record_teardown_failure(const struct td *d, int rc)
{
	const char *path = getenv("TESSERA_E2E_FAILFILE");
	FILE *f = path != NULL ? fopen(path, "a") : NULL;

	if (f == NULL)
		return;
	fprintf(f, "  tesserad in %s: %s (status %d)\n", d->dir,
	        rc == 99 && td_under_valgrind() ? "valgrind found memory errors or leaks"
	                                        : "did not exit 0 at its stop",
	        rc);
	fclose(f);
}

/*
 * With TESSERA_VALGRIND=1 in the environment every daemon runs under
 * valgrind memcheck: an invalid access, a use of uninitialised memory or a
 * definite/indirect leak makes it exit 99 at its clean stop, which fails the
 * test (td_stop). Time limits grow to match valgrind's slowness.
 */
int td_under_valgrind(void)
{
	const char *v = getenv("TESSERA_VALGRIND");

	return v != NULL && strcmp(v, "1") == 0;
}

#define VALGRIND_ERROR_EXIT 99

double td_load_factor(void)
{
	/* Read once per test process (Criterion forks one per test): waits
	 * evaluate their bound on every pass of their loop. */
	static double factor;
	double load;
	long cpus;

	if (factor > 0)
		return factor;
	cpus = sysconf(_SC_NPROCESSORS_ONLN);
	/* The one-minute load average per CPU: past 1, every process here gets
	 * that much less of a CPU than it would alone. */
	if (getloadavg(&load, 1) != 1 || cpus <= 0 || load <= (double)cpus)
		factor = 1.0;
	else
		factor = load / (double)cpus > 8.0 ? 8.0 : load / (double)cpus;
	return factor;
}

int td_scale(int ms)
{
	return (int)((td_under_valgrind() ? ms * 20.0 : ms) * td_load_factor());
}

/* How long td_exchange and td_call wait for an answer: valgrind makes an
 * RSA key generation take tens of seconds. */
static int response_timeout_ms(void)
{
	return (int)((td_under_valgrind() ? 180000 : 10000) * td_load_factor());
}

pid_t td_fork(void)
{
	pid_t parent = getpid();
	bool main_thread = (pid_t)syscall(SYS_gettid) == parent;
	pid_t pid = fork();

	if (pid != 0)
		return pid;
	/* The kernel sends this when the thread that forked us ends; only the
	 * main thread lives as long as the test process, so only its children
	 * can use it. A test that fails in its set-up ends the process without
	 * running its clean-up, and this stops what it had started. */
	if (main_thread) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127); /* the test process ended before prctl */
	}
	return 0;
}

/* Start the daemon on d's files and wait until it accepts. */
static void spawn(struct td *d, const char *const *extra)
{
	const char *argv[48];
	int n = 0, fd, status;
	long deadline;

	if (td_under_valgrind()) {
		argv[n++] = "/usr/bin/valgrind";
		argv[n++] = "--quiet";
		argv[n++] = "--error-exitcode=99";
		argv[n++] = "--leak-check=full";
		argv[n++] = "--show-leak-kinds=definite,indirect";
		argv[n++] = "--errors-for-leak-kinds=definite,indirect";
		argv[n++] = "--track-origins=yes";
	}
	argv[n++] = TESSERAD;
	argv[n++] = "--config";
	argv[n++] = d->cfg;
	argv[n++] = "--state-dir";
	argv[n++] = d->dir;
	argv[n++] = "--kek-file";
	argv[n++] = d->kek;
	for (int i = 0; extra != NULL && extra[i] != NULL && n < 46; i++)
		argv[n++] = extra[i];
	argv[n] = NULL;

	d->pid = td_fork();
	cr_assert_neq(d->pid, -1);
	if (d->pid == 0) {
		int log = open(d->log, O_WRONLY | O_CREAT | O_APPEND, 0600);

		if (log >= 0) {
			dup2(log, 2);
			dup2(log, 1);
		}
		unsetenv("NOTIFY_SOCKET");
		unsetenv("LISTEN_FDS");
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	deadline = now_ms() + (long)((td_under_valgrind() ? 120000 : 10000) * td_load_factor());
	while (now_ms() < deadline) {
		fd = try_connect(d->sock);
		if (fd >= 0) {
			close(fd);
			return;
		}
		if (waitpid(d->pid, &status, WNOHANG) == d->pid) {
			td_dump_log(d);
			d->pid = 0;
			cr_assert_fail("tesserad exited during start-up (status %d)", status);
		}
		usleep(10000);
	}
	td_dump_log(d);
	cr_assert_fail("tesserad did not accept connections in time");
}

/* A fresh temporary directory with the paths of d in it. */
static void make_dir(struct td *d)
{
	memset(d, 0, sizeof(*d));
	strcpy(d->dir, "/tmp/tsd.XXXXXX");
	cr_assert_not_null(mkdtemp(d->dir));
	snprintf(d->sock, sizeof(d->sock), "%s/api.sock", d->dir);
	snprintf(d->cfg, sizeof(d->cfg), "%s/tesserad.json", d->dir);
	snprintf(d->log, sizeof(d->log), "%s/tesserad.log", d->dir);
	snprintf(d->kek, sizeof(d->kek), "%s/secrets/keystore.kek", d->dir);
}

void td_start_args(struct td *d, const char *tmpl, const char *const *extra)
{
	make_dir(d);
	td_write_config(d, tmpl);
	d->extra = extra;
	spawn(d, extra);
}

int td_restart(struct td *d, int sig)
{
	int status = 0, rc;

	kill(d->pid, sig);
	cr_assert_eq(waitpid(d->pid, &status, 0), d->pid);
	rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	spawn(d, d->extra);
	return rc;
}

int td_halt(struct td *d, int sig)
{
	int status = 0;

	kill(d->pid, sig);
	cr_assert_eq(waitpid(d->pid, &status, 0), d->pid);
	d->pid = 0;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

void td_resume(struct td *d)
{
	spawn(d, d->extra);
}

void td_respawn(struct td *d)
{
	cr_assert_eq(d->pid, 0, "td_respawn: the daemon is still running");
	spawn(d, d->extra);
}

void td_start(struct td *d, const char *tmpl)
{
	td_start_args(d, tmpl, NULL);
}

void td_start_with_state(struct td *d, const char *tmpl, const char *state_src)
{
	char cmd[2048];

	make_dir(d);
	/* The store's files, and its key where the daemon reads it (a state
	 * from before the key moved out has it beside the store, as the
	 * operator's mv in docs/keystore.md would move it). */
	snprintf(cmd, sizeof(cmd),
	         "cp '%s'/keystore.sqlite3 '%s'/ && chmod 600 '%s'/keystore.* && "
	         "for f in '%s'/keystore.sqlite3-wal '%s'/keystore.sqlite3-shm; do "
	         "[ ! -e \"$f\" ] || cp \"$f\" '%s'/; done && "
	         "if [ -e '%s'/keystore.sqlite3.kek ]; then mkdir -m 700 '%s'/secrets && "
	         "cp '%s'/keystore.sqlite3.kek '%s' && chmod 600 '%s'; fi",
	         state_src, d->dir, d->dir, state_src, state_src, d->dir, state_src, d->dir,
	         state_src, d->kek, d->kek);
	cr_assert_eq(system(cmd), 0, "cannot copy %s", state_src);
	td_write_config(d, tmpl);
	spawn(d, NULL);
}

int td_wait_exit(struct td *d, int timeout_ms)
{
	long deadline = now_ms() + timeout_ms;
	int status = 0, rc = -1;

	while (d->pid > 0 && now_ms() < deadline) {
		if (waitpid(d->pid, &status, WNOHANG) == d->pid) {
			rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
			break;
		}
		usleep(5000);
	}
	if (rc == -1 && d->pid > 0) {
		kill(d->pid, SIGKILL);
		waitpid(d->pid, &status, 0);
	}
	if (rc != 0) {
		td_dump_log(d);
		record_teardown_failure(d, rc);
	}
	d->pid = 0;
	if (td_under_valgrind())
		cr_expect_neq(rc, VALGRIND_ERROR_EXIT,
		              "valgrind found memory errors or leaks in tesserad (log above)");
	return rc;
}

int td_stop(struct td *d)
{
	int rc = -1;
	char cmd[128];

	if (d->pid > 0) {
		kill(d->pid, SIGTERM);
		rc = td_wait_exit(d,
		                  (int)((td_under_valgrind() ? 120000 : 15000) * td_load_factor()));
	}
	if (d->dir[0] != '\0') {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d->dir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", d->dir);
		d->dir[0] = '\0';
	}
	return rc;
}

void td_dump_log(const struct td *d)
{
	char buf[4096];
	size_t n;
	FILE *f = fopen(d->log, "r");

	if (f == NULL)
		return;
	fprintf(stderr, "---- tesserad log (%s) ----\n", d->log);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		fwrite(buf, 1, n, stderr);
	fprintf(stderr, "---- end of log ----\n");
	fclose(f);
}

int td_log_count(const struct td *d, const char *needle)
{
	char line[2048];
	int count = 0;
	FILE *f = fopen(d->log, "r");

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strstr(line, needle) != NULL)
			count++;
	fclose(f);
	return count;
}

int td_connect(const struct td *d)
{
	int fd = try_connect(d->sock);

	cr_assert_geq(fd, 0, "connect %s: %s", d->sock, strerror(errno));
	return fd;
}

int td_send_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int td_recv_exact(int fd, void *buf, size_t len, int timeout_ms)
{
	uint8_t *p = buf;
	long deadline = now_ms() + timeout_ms;

	while (len > 0) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		long left = deadline - now_ms();
		ssize_t n;

		if (left <= 0)
			return -1;
		if (poll(&pfd, 1, (int)left) <= 0)
			continue;
		n = recv(fd, p, len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int td_wait_closed(int fd, int timeout_ms)
{
	uint8_t b;
	long deadline = now_ms() + timeout_ms;

	while (now_ms() < deadline) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		ssize_t n;

		if (poll(&pfd, 1, (int)(deadline - now_ms())) <= 0)
			continue;
		n = recv(fd, &b, 1, 0);
		if (n == 0 || (n < 0 && errno == ECONNRESET))
			return 1;
		if (n < 0 && errno != EINTR)
			return 1;
	}
	return 0;
}

void td_resp_free(struct td_resp *r)
{
	if (r == NULL)
		return;
	free(r->body);
	r->body = NULL;
	r->body_len = 0;
}

int td_read_response(int fd, struct td_resp *r, int timeout_ms)
{
	uint8_t hdr[WIRE_HEADER_LEN];

	memset(r, 0, sizeof(*r));
	if (td_recv_exact(fd, hdr, sizeof(hdr), timeout_ms) < 0)
		return -1;
	wire_header_decode(hdr, &r->h);
	if (r->h.magic != WIRE_MAGIC || r->h.hdr_size != 30 || r->h.body_len > (64u << 20))
		return -1;
	r->body_len = r->h.body_len;
	r->body = malloc(r->body_len ? r->body_len : 1);
	if (r->body == NULL)
		return -1;
	if (td_recv_exact(fd, r->body, r->body_len, timeout_ms) < 0) {
		td_resp_free(r);
		return -1;
	}
	return 0;
}

int td_exchange(int fd, uint32_t opcode, uint8_t provider, uint8_t auth_type, const void *body,
                size_t body_len, const void *auth, size_t auth_len, struct td_resp *r)
{
	struct wire_header h;
	uint8_t *buf;
	size_t len = WIRE_HEADER_LEN + body_len + auth_len;
	int rc;

	wire_header_request(&h, opcode, provider, auth_type, (uint32_t)body_len,
	                    (uint16_t)auth_len);
	h.flags = WIRE_FLAG_KEEP_OPEN; /* the connection may be used again */
	buf = malloc(len);
	if (buf == NULL)
		return -1;
	wire_header_encode(&h, buf);
	if (body_len > 0)
		memcpy(buf + WIRE_HEADER_LEN, body, body_len);
	if (auth_len > 0)
		memcpy(buf + WIRE_HEADER_LEN + body_len, auth, auth_len);
	rc = td_send_all(fd, buf, len);
	free(buf);
	if (rc < 0)
		return -1;
	return td_read_response(fd, r, response_timeout_ms());
}

int td_call(const struct td *d, uint32_t opcode, uint8_t provider, uint8_t auth_type,
            const void *body, size_t body_len, const void *auth, size_t auth_len, struct td_resp *r)
{
	struct td_resp local;
	int fd = td_connect(d), rc;

	rc = td_exchange(fd, opcode, provider, auth_type, body, body_len, auth, auth_len,
	                 r != NULL ? r : &local);
	close(fd);
	if (rc < 0)
		return -1;
	rc = (r != NULL ? r : &local)->h.status;
	if (r == NULL)
		td_resp_free(&local);
	return rc;
}

int td_raw(const struct td *d, const void *bytes, size_t len, struct td_resp *r)
{
	struct td_resp local;
	int fd = td_connect(d), rc;

	if (td_send_all(fd, bytes, len) < 0) {
		close(fd);
		return -1;
	}
	rc = td_read_response(fd, r != NULL ? r : &local, response_timeout_ms());
	close(fd);
	if (rc < 0)
		return -1;
	rc = (r != NULL ? r : &local)->h.status;
	if (r == NULL)
		td_resp_free(&local);
	return rc;
}

size_t td_unhex(const char *hex, uint8_t **ret)
{
	size_t n = strlen(hex) / 2;
	uint8_t *out = malloc(n ? n : 1);

	cr_assert_not_null(out);
	for (size_t i = 0; i < n; i++) {
		unsigned v;

		cr_assert_eq(sscanf(hex + 2 * i, "%2x", &v), 1, "bad hex at %zu", 2 * i);
		out[i] = (uint8_t)v;
	}
	*ret = out;
	return n;
}

int td_fill_connections(const struct td *d, int *fds, int n)
{
	/* The daemon may not have seen an earlier connection (the start-up
	 * probe) close yet; retry until all n are accepted and answered. */
	for (int attempt = 0; attempt < 50; attempt++) {
		struct td_resp r;
		int ok;

		for (int i = 0; i < n; i++)
			fds[i] = td_connect(d);
		ok = td_exchange(fds[n - 1], WIRE_OP_PING, 0, 0, NULL, 0, NULL, 0, &r) == 0 &&
		     r.h.status == 0;
		td_resp_free(&r);
		if (ok)
			return 0;
		for (int i = 0; i < n; i++)
			close(fds[i]);
		usleep(100000);
	}
	return -1;
}
