/* identity/: proofs read from /proc and the cgroup word check. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "identity/identity.h"

Test(identity, proofs_of_this_process_match_what_the_kernel_says)
{
	struct proc_proofs p;
	uint64_t start;
	pid_t ppid = 0;
	char exe_hash[65];

	cr_assert_eq(proc_read(getpid(), NULL, &p), TS_OK);
	cr_assert_eq(p.pid, getpid());
	cr_assert_eq(p.uid, getuid());
	cr_assert_eq(p.gid, getgid());
	cr_assert_eq(proc_stat(getpid(), &ppid, &start), TS_OK);
	cr_assert_eq(ppid, getppid());
	cr_assert_eq(start, p.start_time);
	cr_assert_eq(file_sha256("/proc/self/exe", exe_hash), TS_OK);
	cr_assert_str_eq(p.exe_sha256, exe_hash);
	cr_assert_neq(p.cgroup[0], '\0');
	/* A launcher hashes the program it is about to run instead. */
	cr_assert_eq(proc_read(getpid(), "/bin/sh", &p), TS_OK);
	cr_assert_eq(file_sha256("/bin/sh", exe_hash), TS_OK);
	cr_assert_str_eq(p.exe_sha256, exe_hash);
}

Test(identity, a_process_that_is_gone_has_no_proofs)
{
	struct proc_proofs p;
	pid_t child = fork();

	if (child == 0)
		_exit(0);
	waitpid(child, NULL, 0);
	cr_assert_eq(proc_read(child, NULL, &p), TS_E_PSA_DOES_NOT_EXIST);
	cr_assert_eq(file_sha256("/no/such/file", p.exe_sha256), TS_E_PSA_DOES_NOT_EXIST);
}

Test(identity, a_container_id_counts_only_as_a_whole_word_of_a_path)
{
	const char *cg = "12:pids:/system.slice/docker-abc123.scope;0::/kubepods/pod9/ctr-77";

	cr_assert(cgroup_names(cg, "abc123"));
	cr_assert(cgroup_names(cg, "ctr-77"));
	cr_assert(cgroup_names(cg, "kubepods"));
	cr_assert_not(cgroup_names(cg, "abc12"), "a prefix is not the id");
	cr_assert_not(cgroup_names(cg, "bc123"), "a suffix is not the id");
	cr_assert_not(cgroup_names(cg, "pids"), "controller names do not count");
	cr_assert_not(cgroup_names(cg, ""));
	cr_assert_not(cgroup_names("0::/", "x"));
}

Test(identity, base64url_has_no_padding_and_no_standard_alphabet)
{
	const uint8_t in[] = {0xfb, 0xff, 0xbf};
	char *s = b64url_encode(in, 3), *t = b64url_encode("ab", 2);

	cr_assert_str_eq(s, "-_-_");
	cr_assert_str_eq(t, "YWI");
	free(s);
	free(t);
}
