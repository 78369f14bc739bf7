/*
 * swtpm for the end-to-end tests (swtpm.h).
 */
#include "swtpm.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

static int try_connect(const char *path)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	if (strlen(path) >= sizeof(a.sun_path)) {
		close(fd);
		return -1;
	}
	memcpy(a.sun_path, path, strlen(path) + 1);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

pid_t td_swtpm_start(const char *dir, const char *sock, int gen)
{
	char state[128], statearg[160], server[200], ctrl[200], log[160], ctrl_path[140];
	pid_t pid;
	int fd;

	snprintf(state, sizeof(state), "%s/state%d", dir, gen);
	if (mkdir(state, 0700) != 0)
		cr_assert_eq(errno, EEXIST);
	snprintf(statearg, sizeof(statearg), "dir=%s", state);
	snprintf(server, sizeof(server), "type=unixio,path=%s", sock);
	snprintf(ctrl, sizeof(ctrl), "type=unixio,path=%s.ctrl", sock);
	snprintf(log, sizeof(log), "%s/swtpm.log", dir);
	snprintf(ctrl_path, sizeof(ctrl_path), "%s.ctrl", sock);
	unlink(sock);
	unlink(ctrl_path);
	pid = td_fork();
	cr_assert_neq(pid, -1);
	if (pid == 0) {
		int lfd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);

		if (lfd >= 0) {
			dup2(lfd, 1);
			dup2(lfd, 2);
		}
		execlp("swtpm", "swtpm", "socket", "--tpm2", "--tpmstate", statearg, "--server",
		       server, "--ctrl", ctrl, "--flags", "not-need-init,startup-clear",
		       (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < td_scale(500); i++) {
		int status;

		fd = try_connect(sock);
		if (fd >= 0) {
			close(fd);
			return pid;
		}
		cr_assert_neq(waitpid(pid, &status, WNOHANG), pid,
		              "swtpm exited at start (is it installed?)");
		usleep(10000);
	}
	cr_assert_fail("swtpm did not listen on %s", sock);
	return -1;
}

void td_swtpm_stop(pid_t *pid)
{
	if (*pid <= 0)
		return;
	kill(*pid, SIGTERM);
	waitpid(*pid, NULL, 0);
	*pid = 0;
}
