/* Start-up checks, reload and shutdown of the real daemon. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <grp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "list_authenticators.pb-c.h"

#define TESSERAD TESSERA_BUILD_DIR "/daemon/tesserad"

#define CONFIG_DIRECT_FIRST                                                 \
	"{\"core\": {\"allow_root\": true},"                                \
	" \"listener\": {\"socket_path\": \"%1$s\", \"timeout_ms\": 1000}," \
	" \"authenticators\": [{\"type\": \"Direct\"}, {\"type\": \"UnixPeerCredentials\"}]}"
#define CONFIG_UNIX_FIRST                                                   \
	"{\"core\": {\"allow_root\": true},"                                \
	" \"listener\": {\"socket_path\": \"%1$s\", \"timeout_ms\": 1000}," \
	" \"authenticators\": [{\"type\": \"UnixPeerCredentials\"}, {\"type\": \"Direct\"}]}"

TestSuite(lifecycle, .timeout = 60);

/* The first authenticator ListAuthenticators reports on connection fd, and
 * in *ret_n how many there are; -1 when the call or its answer fails. */
static int first_authenticator_on(int fd, size_t *ret_n)
{
	struct td_resp r;
	ListAuthenticators__Result *res;
	int id = -1;

	if (td_exchange(fd, WIRE_OP_LIST_AUTHENTICATORS, 0, 0, NULL, 0, NULL, 0, &r) != 0)
		return -1;
	res = list_authenticators__result__unpack(NULL, r.body_len, r.body);
	if (res != NULL && res->n_authenticators > 0) {
		id = (int)res->authenticators[0]->id;
		*ret_n = res->n_authenticators;
	}
	list_authenticators__result__free_unpacked(res, NULL);
	td_resp_free(&r);
	return id;
}

static int first_authenticator(const struct td *d, size_t *ret_n)
{
	int fd = td_connect(d);
	int id = first_authenticator_on(fd, ret_n);

	close(fd);
	cr_assert_geq(id, 0, "ListAuthenticators failed or listed none");
	return id;
}

static int wait_first_authenticator(const struct td *d, int want)
{
	size_t n;

	for (int i = 0; i < td_scale(200); i++) {
		if (first_authenticator(d, &n) == want)
			return 1;
		usleep(10000);
	}
	return 0;
}

Test(lifecycle, sighup_applies_a_valid_config_and_keeps_serving)
{
	struct td d;
	size_t n;

	td_start(&d, CONFIG_DIRECT_FIRST);
	cr_assert_eq(first_authenticator(&d, &n), 1);
	cr_assert_eq(n, 2);
	td_write_config(&d, CONFIG_UNIX_FIRST);
	kill(d.pid, SIGHUP);
	cr_assert(wait_first_authenticator(&d, 3), "reload did not change the order");
	cr_assert_eq(td_log_count(&d, "configuration reloaded"), 1);
	cr_assert_eq(td_stop(&d), 0);
}

/* Four event loops: connections are spread over them, a reload reaches
 * every one, and a stop drains them all. */
#define CONFIG_LOOPS(first, second)                                         \
	"{\"core\": {\"allow_root\": true, \"io_threads\": 4},"             \
	" \"listener\": {\"socket_path\": \"%1$s\", \"timeout_ms\": 1000}," \
	" \"authenticators\": [{\"type\": \"" first "\"}, {\"type\": \"" second "\"}]}"

static int threads_named(pid_t pid, const char *name)
{
	char path[300], comm[64];
	struct dirent *e;
	DIR *dir;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	dir = opendir(path);
	cr_assert_not_null(dir);
	while ((e = readdir(dir)) != NULL) {
		FILE *f;

		snprintf(path, sizeof(path), "/proc/%d/task/%s/comm", (int)pid, e->d_name);
		f = fopen(path, "r");
		if (f == NULL)
			continue;
		if (fgets(comm, sizeof(comm), f) != NULL && strncmp(comm, name, strlen(name)) == 0)
			n++;
		fclose(f);
	}
	closedir(dir);
	return n;
}

/* How many of the daemon's epoll instances watch at least `min` sockets:
 * each event loop has one, and watches the connections it serves. */
static int loops_watching_sockets(pid_t pid, int min)
{
	char path[300], target[64], line[256];
	struct dirent *e;
	DIR *dir;
	int loops = 0;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	dir = opendir(path);
	cr_assert_not_null(dir);
	while ((e = readdir(dir)) != NULL) {
		ssize_t len;
		FILE *f;
		int sockets = 0;

		snprintf(path, sizeof(path), "/proc/%d/fd/%s", (int)pid, e->d_name);
		len = readlink(path, target, sizeof(target) - 1);
		if (len <= 0)
			continue;
		target[len] = '\0';
		if (strcmp(target, "anon_inode:[eventpoll]") != 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/fdinfo/%s", (int)pid, e->d_name);
		f = fopen(path, "r");
		if (f == NULL)
			continue;
		while (fgets(line, sizeof(line), f) != NULL) {
			int tfd;
			char watched[300];

			if (sscanf(line, "tfd: %d", &tfd) != 1)
				continue;
			snprintf(watched, sizeof(watched), "/proc/%d/fd/%d", (int)pid, tfd);
			len = readlink(watched, target, sizeof(target) - 1);
			if (len > 0 && strncmp(target, "socket:", 7) == 0)
				sockets++;
		}
		fclose(f);
		if (sockets >= min)
			loops++;
	}
	closedir(dir);
	return loops;
}

Test(lifecycle, every_event_loop_takes_connections_reloads_and_drains)
{
	struct td d;
	size_t n;
	int fds[8];

	td_start(&d, CONFIG_LOOPS("Direct", "UnixPeerCredentials"));
	/* The socket may answer before the loop threads have named themselves. */
	for (int t = 0; t < td_scale(300) && threads_named(d.pid, "tesserad-loop") < 3; t++)
		usleep(10000);
	cr_assert_eq(threads_named(d.pid, "tesserad-loop"), 3,
	             "the main loop and three more, each on its own thread");
	for (int i = 0; i < 8; i++) {
		fds[i] = td_connect(&d);
		cr_assert_eq(first_authenticator_on(fds[i], &n), 1, "connection %d", i);
	}
	cr_assert_geq(td_log_count(&d, "4 event loop(s)"), 1);
	/* Dealt out by fewest connections: two on each loop. */
	cr_assert_eq(loops_watching_sockets(d.pid, 2), 4, "the connections are not spread");

	/* The reload reaches the loop of every open connection. */
	td_write_config(&d, CONFIG_LOOPS("UnixPeerCredentials", "Direct"));
	kill(d.pid, SIGHUP);
	for (int i = 0; i < 8; i++) {
		int id = -1;

		for (int t = 0; t < td_scale(200) && (id = first_authenticator_on(fds[i], &n)) != 3;
		     t++)
			usleep(10000);
		cr_assert_eq(id, 3, "connection %d still sees the old configuration", i);
	}

	/* A stop closes every idle connection, on every loop, and exits 0. */
	kill(d.pid, SIGTERM);
	for (int i = 0; i < 8; i++) {
		cr_assert(td_wait_closed(fds[i], td_scale(5000)), "connection %d left open", i);
		close(fds[i]);
	}
	cr_assert_eq(td_wait_exit(&d, td_scale(5000)), 0);
	td_stop(&d);
}

Test(lifecycle, sighup_with_a_broken_config_keeps_the_old_one)
{
	struct td d;
	size_t n;

	td_start(&d, CONFIG_DIRECT_FIRST);
	td_write_config(&d, "{\"listener\": {\"socket_path\": \"%1$s\", \"timeout_ms\": -1}}");
	kill(d.pid, SIGHUP);
	for (int i = 0; i < td_scale(200) && td_log_count(&d, "reload failed") == 0; i++)
		usleep(10000);
	cr_assert_eq(td_log_count(&d, "reload failed"), 1, "the failure is logged");
	cr_assert_geq(td_log_count(&d, "listener.timeout_ms"), 1, "the log names the key");
	/* Still serving, with the old authenticators. */
	cr_assert_eq(td_call(&d, WIRE_OP_PING, 0, 0, NULL, 0, NULL, 0, NULL), 0);
	cr_assert_eq(first_authenticator(&d, &n), 1);
	/* Broken JSON too. */
	td_write_config(&d, "{ not json");
	kill(d.pid, SIGHUP);
	for (int i = 0; i < td_scale(200) && td_log_count(&d, "reload failed") < 2; i++)
		usleep(10000);
	cr_assert_eq(td_log_count(&d, "reload failed"), 2);
	cr_assert_eq(td_call(&d, WIRE_OP_PING, 0, 0, NULL, 0, NULL, 0, NULL), 0);
	cr_assert_eq(td_stop(&d), 0);
}

Test(lifecycle, sigterm_exits_zero_and_removes_the_socket)
{
	struct td d;
	char sock[128];
	struct stat sb;

	td_start(&d, TD_CONFIG_DEFAULT);
	strcpy(sock, d.sock);
	cr_assert_eq(stat(sock, &sb), 0);
	cr_assert(S_ISSOCK(sb.st_mode));
	/* Default socket mode 0666: access control is by identity. */
	cr_assert_eq(sb.st_mode & 0777, 0666);
	kill(d.pid, SIGTERM);
	cr_assert_eq(td_wait_exit(&d, td_scale(5000)), 0);
	cr_assert_neq(stat(sock, &sb), 0, "socket file removed at exit");
	td_stop(&d);
}

Test(lifecycle, sigint_finishes_the_request_in_flight)
{
	struct td d;
	struct td_resp r;
	int fd;

	td_start(&d, TD_CONFIG_DEFAULT);
	fd = td_connect(&d);
	/* A whole request is sent, then the signal: the answer still comes. */
	cr_assert_eq(td_exchange(fd, WIRE_OP_PING, 0, 0, NULL, 0, NULL, 0, &r), 0);
	td_resp_free(&r);
	kill(d.pid, SIGINT);
	cr_assert(td_wait_closed(fd, td_scale(5000)), "idle connection closed at shutdown");
	close(fd);
	cr_assert_eq(td_wait_exit(&d, td_scale(5000)), 0);
	td_stop(&d);
}

static int run(const char *cmd, char *out, size_t outlen)
{
	FILE *p = popen(cmd, "r");
	size_t n;
	int st;

	cr_assert_not_null(p);
	n = fread(out, 1, outlen - 1, p);
	out[n] = '\0';
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

Test(lifecycle, command_line)
{
	char out[4096], cmd[1024];
	char dir[] = "/tmp/tsc.XXXXXX";
	FILE *f;

	cr_assert_not_null(mkdtemp(dir));
	cr_assert_eq(run(TESSERAD " --version", out, sizeof(out)), 0);
	cr_assert(strstr(out, "tesserad ") != NULL);
	cr_assert_eq(run(TESSERAD " --print-default-config", out, sizeof(out)), 0);
	cr_assert(strstr(out, "\"listener\"") != NULL);

	snprintf(cmd, sizeof(cmd), "%s/good.json", dir);
	f = fopen(cmd, "w");
	fputs("{\"core\": {\"threads\": 2}}", f);
	fclose(f);
	snprintf(cmd, sizeof(cmd), TESSERAD " --check-config %s/good.json 2>&1", dir);
	cr_assert_eq(run(cmd, out, sizeof(out)), 0, "%s", out);

	snprintf(cmd, sizeof(cmd), "%s/bad.json", dir);
	f = fopen(cmd, "w");
	fputs("{\"core\": {\"threads\": 2, \"colour\": \"blue\"}}", f);
	fclose(f);
	snprintf(cmd, sizeof(cmd), TESSERAD " --check-config %s/bad.json 2>&1", dir);
	cr_assert_eq(run(cmd, out, sizeof(out)), 1);
	cr_assert(strstr(out, "core.colour") != NULL, "error names the key: %s", out);

	cr_assert_eq(run(TESSERAD " --no-such-flag 2>&1", out, sizeof(out)), 2);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_assert_eq(system(cmd), 0);
}

Test(lifecycle, socket_path_too_long_is_an_error_not_truncated)
{
	char longpath[200], cmd[512], out[4096];

	memset(longpath, 'x', sizeof(longpath));
	memcpy(longpath, "/tmp/", 5);
	longpath[150] = '\0';
	snprintf(cmd, sizeof(cmd),
	         TESSERAD " --allow-root --state-dir /nonexistent-tessera --socket %s 2>&1",
	         longpath);
	cr_assert_neq(run(cmd, out, sizeof(out)), 0);
	cr_assert(strstr(out, "socket_path") != NULL, "names the key: %s", out);
	cr_assert(
	        access("/tmp/xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	               "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
	               F_OK) != 0,
	        "no truncated socket file was created");
}

Test(lifecycle, refuses_root_unless_allowed)
{
	char cmd[512], out[4096];
	char dir[] = "/tmp/tsr.XXXXXX";

	if (geteuid() != 0)
		cr_skip_test("needs root");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(cmd, sizeof(cmd), TESSERAD " --socket %s/s.sock 2>&1", dir);
	cr_assert_eq(run(cmd, out, sizeof(out)), 1);
	cr_assert(strstr(out, "allow_root") != NULL, "%s", out);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_assert_eq(system(cmd), 0);
}

Test(lifecycle, a_live_daemon_socket_is_not_stolen)
{
	struct td d;
	char cmd[512], out[4096], state[] = "/tmp/tsl.XXXXXX";

	td_start(&d, TD_CONFIG_DEFAULT);
	/* A store of its own (one daemon per store is another test): only the
	 * socket is contended. */
	cr_assert_not_null(mkdtemp(state));
	snprintf(cmd, sizeof(cmd),
	         TESSERAD " --allow-root --state-dir %s --kek-file %s/kek --socket %s 2>&1", state,
	         state, d.sock);
	cr_assert_eq(run(cmd, out, sizeof(out)), 1);
	cr_assert(strstr(out, "another process is listening") != NULL, "%s", out);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", state);
	cr_assert_eq(system(cmd), 0);
	cr_assert_eq(td_call(&d, WIRE_OP_PING, 0, 0, NULL, 0, NULL, 0, NULL), 0);
	cr_assert_eq(td_stop(&d), 0);
}

/* A datagram socket standing in for systemd's notification socket. */
static int notify_listen(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	cr_assert_geq(fd, 0);
	strcpy(sa.sun_path, path);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

/* Wait for a notification containing want; 1 if it came within 5 s. */
static int notify_wait(int fd, const char *want)
{
	for (int i = 0; i < 50; i++) {
		char buf[512];
		struct timeval tv = {0, 100000};
		ssize_t n;

		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		n = recv(fd, buf, sizeof(buf) - 1, 0);
		if (n <= 0)
			continue;
		buf[n] = '\0';
		if (strstr(buf, want) != NULL)
			return 1;
	}
	return 0;
}

Test(lifecycle, systemd_notifications)
{
	char dir[] = "/tmp/tsn.XXXXXX", npath[128], sock[128], cmd[512], kek[128];
	int nfd, status;
	pid_t pid;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(kek, sizeof(kek), "%s/secrets/kek", dir);
	snprintf(npath, sizeof(npath), "%s/notify", dir);
	snprintf(sock, sizeof(sock), "%s/api.sock", dir);
	nfd = notify_listen(npath);
	pid = td_fork();
	if (pid == 0) {
		setenv("NOTIFY_SOCKET", npath, 1);
		execl(TESSERAD, TESSERAD, "--allow-root", "--socket", sock, "--log-level", "error",
		      "--state-dir", dir, "--kek-file", kek, (char *)NULL);
		_exit(127);
	}
	cr_assert(notify_wait(nfd, "READY=1"), "READY=1 after start-up");
	kill(pid, SIGHUP);
	cr_assert(notify_wait(nfd, "RELOADING=1"), "RELOADING=1 on SIGHUP");
	cr_assert(notify_wait(nfd, "READY=1"), "READY=1 after the reload");
	kill(pid, SIGTERM);
	cr_assert(notify_wait(nfd, "STOPPING=1"), "STOPPING=1 on SIGTERM");
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(nfd);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_assert_eq(system(cmd), 0);
}

Test(lifecycle, socket_activation)
{
	char dir[] = "/tmp/tsa.XXXXXX", sock[128], cmd[512], kek[128];
	struct td d = {0};
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int status, fd = -1;
	pid_t pid;

	if (system("command -v systemd-socket-activate >/dev/null") != 0)
		cr_skip_test("systemd-socket-activate is not installed");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(kek, sizeof(kek), "%s/secrets/kek", dir);
	snprintf(sock, sizeof(sock), "%s/activated.sock", dir);
	pid = td_fork();
	if (pid == 0) {
		/* The daemon is told a different path: it must use the socket it
		 * was handed, not bind its own. */
		int devnull = open("/dev/null", O_WRONLY);

		dup2(devnull, 2);
		execlp("systemd-socket-activate", "systemd-socket-activate", "-l", sock, TESSERAD,
		       "--allow-root", "--socket", "/nonexistent/dir/api.sock", "--state-dir", dir,
		       "--kek-file", kek, (char *)NULL);
		_exit(127);
	}
	strcpy(sa.sun_path, sock);
	for (int i = 0; i < 500 && fd < 0; i++) {
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
			close(fd);
			fd = -1;
			usleep(10000);
		}
	}
	cr_assert_geq(fd, 0, "the activation socket never appeared");
	close(fd);
	strcpy(d.sock, sock);
	cr_assert_eq(td_call(&d, WIRE_OP_PING, 0, 0, NULL, 0, NULL, 0, NULL), 0);
	cr_assert_eq(td_call(&d, WIRE_OP_PING, 0, 0, NULL, 0, NULL, 0, NULL), 0);
	kill(pid, SIGTERM);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %d", status);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_assert_eq(system(cmd), 0);
}

#define CONFIG_CAPS                                                                \
	"{\"core\": {\"allow_root\": true},"                                       \
	" \"listener\": {\"socket_path\": \"%1$s\", \"max_connections\": 4,"       \
	"              \"max_connections_per_uid\": 4, \"socket_mode\": \"0660\"," \
	"              \"socket_group\": \"daemon\"}}"

Test(lifecycle, global_cap_and_socket_group)
{
	struct td d;
	struct stat sb;
	struct group *gr = getgrnam("daemon");
	int fds[4], extra;

	if (gr == NULL)
		cr_skip_test("no group named daemon");
	td_start(&d, CONFIG_CAPS);
	cr_assert_eq(stat(d.sock, &sb), 0);
	cr_assert_eq(sb.st_mode & 0777, 0660);
	cr_assert_eq(sb.st_gid, gr->gr_gid);
	cr_assert_eq(td_fill_connections(&d, fds, 4), 0);
	extra = td_connect(&d);
	cr_assert(td_wait_closed(extra, td_scale(3000)),
	          "a fifth connection is over the global cap");
	close(extra);
	for (int i = 0; i < 4; i++)
		close(fds[i]);
	usleep(100000);
	cr_assert_eq(td_call(&d, WIRE_OP_PING, 0, 0, NULL, 0, NULL, 0, NULL), 0);
	cr_assert_eq(td_stop(&d), 0);
}

Test(lifecycle, no_core_dumps)
{
	struct td d;
	char path[64], line[256];
	int found = 0;
	FILE *f;

	td_start(&d, TD_CONFIG_DEFAULT);
	snprintf(path, sizeof(path), "/proc/%d/limits", (int)d.pid);
	f = fopen(path, "r");
	cr_assert_not_null(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, "Max core file size", 18) == 0) {
			unsigned long soft, hard;

			cr_assert_eq(sscanf(line + 18, " %lu %lu", &soft, &hard), 2, "%s", line);
			cr_assert_eq(soft, 0);
			cr_assert_eq(hard, 0);
			found = 1;
		}
	}
	fclose(f);
	cr_assert(found);
	cr_assert_eq(td_stop(&d), 0);
}
