/*
 * For check-install.sh: start tesserad with the e2e harness, run the
 * program $TESSERA_PSA_CONSUMER against it (Direct authentication, the
 * endpoint in the environment, $TESSERA_PSA_LIBDIR as its library path),
 * and pass when the program exits 0.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../e2e/harness.h"

Test(install_psa, consumer_against_the_daemon, .timeout = 120)
{
	const char *prog = getenv("TESSERA_PSA_CONSUMER"), *libdir = getenv("TESSERA_PSA_LIBDIR");
	struct td d;
	char ep[160];
	pid_t pid;
	int status;

	cr_assert_not_null(prog, "TESSERA_PSA_CONSUMER is not set");
	td_start(&d, TD_CONFIG_DEFAULT);
	snprintf(ep, sizeof(ep), "unix:%s", d.sock);
	pid = td_fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		setenv("TESSERA_ENDPOINT", ep, 1);
		setenv("TESSERA_AUTH", "direct", 1);
		setenv("TESSERA_APP_NAME", "installed-consumer", 1);
		if (libdir != NULL)
			setenv("LD_LIBRARY_PATH", libdir, 1);
		execl(prog, prog, (char *)NULL);
		_exit(127);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		td_dump_log(&d);
	cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the consumer failed (status %#x)",
	          status);
	cr_assert_eq(td_stop(&d), 0);
}
