/*
 * Starting the build's tesserad for a bench run (bench-priv.h), shared by
 * tessera-bench and tessera-psa-bench.
 */
#include "bench-priv.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

pid_t bench_exec_tesserad(const char *dir, const char *config, const char *sock, const char *log)
{
	char self[PATH_MAX], exe[PATH_MAX + 32], kek[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	pid_t pid;

	if (n <= 0)
		return -1;
	self[n] = '\0';
	/* Both programs live in the build's bench/, tesserad in its daemon/. */
	snprintf(exe, sizeof(exe), "%s/../daemon/tesserad", dirname(self));
	snprintf(kek, sizeof(kek), "%s/secrets/kek", dir);
	pid = fork();
	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY);
		int lfd = log != NULL ? open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600) : -1;

		dup2(fd, 1);
		dup2(lfd >= 0 ? lfd : fd, 2);
		execl(exe, exe, "--config", config, "--socket", sock, "--state-dir", dir,
		      "--kek-file", kek, (char *)NULL);
		_exit(127);
	}
	return pid;
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	return remove(path) != 0 && errno != ENOENT ? -1 : 0;
}

int bench_remove_tree(const char *dir)
{
	return nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}
