/*
 * The identity architecture end to end: the real tesserad, tessera-idp and
 * tessera-orchestrator on temporary sockets, applications launched with
 * `tessera-orchestrator run`, containers reported through the OCI hook, a
 * 1-second intermediate rotation under load, and recovery after the idp is
 * killed.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "client/tessera.h"
#include "harness.h"
#include "identity/identity.h"

#define IDP  TESSERA_BUILD_DIR "/identity/tessera-idp"
#define ORCH TESSERA_BUILD_DIR "/identity/tessera-orchestrator"
#define CLI  TESSERA_BUILD_DIR "/client/tessera"

static struct td d;
static char idp_sock[160], orch_sock[160], idp_ep[170], td_ep[170];
static char idp_log[160], orch_log[160];
static pid_t idp_pid, orch_pid;

static pid_t spawn(const char *const *argv, const char *log)
{
	pid_t pid = td_fork();

	cr_assert_neq(pid, -1);
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);

		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	return pid;
}

static void start_idp(void)
{
	char uid[16];
	const char *argv[] = {IDP,
	                      "--socket",
	                      idp_sock,
	                      "--tesserad",
	                      td_ep,
	                      "--orchestrator-uid",
	                      uid,
	                      "--trust-domain",
	                      "test.example",
	                      "--token-lifetime",
	                      "60",
	                      "--rotate",
	                      "1",
	                      "--check-interval-ms",
	                      "200",
	                      "--log-level",
	                      "debug",
	                      NULL};

	snprintf(uid, sizeof(uid), "%u", (unsigned)getuid());
	idp_pid = spawn(argv, idp_log);
}

static void start_orch(void)
{
	const char *argv[] = {ORCH,       "serve", "--socket",
	                      orch_sock,  "--idp", idp_ep,
	                      "--rotate", "1",     "--check-interval-ms",
	                      "200",      NULL};

	orch_pid = spawn(argv, orch_log);
}

static void dump(const char *path)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "cat %s >&2", path);
	if (system(cmd) != 0)
		return;
}

static int merge_stderr; /* run(): capture stderr too */

/* Run a command, capture stdout; the exit status. */
static int run(const char *const *argv, char *out, size_t outlen)
{
	int p[2];
	pid_t pid;
	size_t got = 0;
	int status = 0;

	cr_assert_eq(pipe(p), 0);
	pid = td_fork();
	cr_assert_neq(pid, -1);
	if (pid == 0) {
		dup2(p[1], 1);
		if (merge_stderr)
			dup2(p[1], 2);
		close(p[0]);
		close(p[1]);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(p[1]);
	for (;;) {
		ssize_t n = read(p[0], out + got, outlen - 1 - got);

		if (n <= 0)
			break;
		got += (size_t)n;
	}
	out[got] = '\0';
	close(p[0]);
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* `tessera-orchestrator run --name NAME -- tessera --auth jwt ARGS...` */
static int run_as(const char *name, char *out, size_t outlen, const char *a1, const char *a2,
                  const char *a3, const char *a4)
{
	const char *argv[] = {ORCH, "run",        "--socket", orch_sock, "--name", name,    "--",
	                      CLI,  "--endpoint", td_ep,      "--auth",  "jwt",    "--idp", idp_ep,
	                      a1,   a2,           a3,         a4,        NULL};

	return run(argv, out, outlen);
}

/* A client of the idp (it knows callers by their peer credentials). */
static struct tessera_client *idp_client(void)
{
	struct tessera_options o;
	struct tessera_client *c;

	tessera_options_init(&o);
	o.endpoint = idp_ep;
	o.auth_type = TESSERA_AUTH_NONE;
	cr_assert_eq(tessera_open(&o, &c), TESSERA_OK);
	return c;
}

/* A client of tesserad that authenticates with tokens from the idp. */
static struct tessera_client *jwt_client(void)
{
	struct tessera_options o;
	struct tessera_client *c;

	tessera_options_init(&o);
	o.endpoint = td_ep;
	o.auth_type = TESSERA_AUTH_JWT;
	o.idp_endpoint = idp_ep;
	cr_assert_eq(tessera_open(&o, &c), TESSERA_OK);
	return c;
}

static void wait_socket(const char *path)
{
	for (int i = 0; i < td_scale(200); i++) {
		if (access(path, F_OK) == 0)
			return;
		usleep(50000);
	}
	cr_assert_fail("%s never appeared", path);
}

/* Until the orchestrator has given the idp its chain and the idp has given
 * tesserad its chain, reports fail: wait for both. */
static void wait_ready(void)
{
	char out[4096];

	for (int i = 0; i < td_scale(100); i++) {
		if (run_as("probe", out, sizeof(out), "whoami", NULL, NULL, NULL) == 0)
			return;
		usleep(100000);
	}
	dump(idp_log);
	dump(orch_log);
	cr_assert_fail("the identity chain never became ready");
}

static void setup(void)
{
	char cfg[2048];

	snprintf(cfg, sizeof(cfg),
	         "{\"core\": {\"allow_root\": true, \"log_level\": \"debug\", "
	         "\"log_error_details\": true},"
	         " \"listener\": {\"socket_path\": \"%%1$s\", \"timeout_ms\": 1000},"
	         " \"authenticators\": [{\"type\": \"Jwt\", \"issuer\": \"tessera-idp\", "
	         "\"audience\": \"tesserad\", \"clock_skew_s\": 5},"
	         " {\"type\": \"UnixPeerCredentials\"}],"
	         " \"trust\": {\"peer_uid\": %u},"
	         " \"providers\": [{\"type\": \"Software\"}]}",
	         (unsigned)getuid());
	td_start(&d, cfg);
	snprintf(idp_sock, sizeof(idp_sock), "%s/idp.sock", d.dir);
	snprintf(orch_sock, sizeof(orch_sock), "%s/orch.sock", d.dir);
	snprintf(idp_ep, sizeof(idp_ep), "unix:%s", idp_sock);
	snprintf(td_ep, sizeof(td_ep), "unix:%s", d.sock);
	snprintf(idp_log, sizeof(idp_log), "%s/idp.log", d.dir);
	snprintf(orch_log, sizeof(orch_log), "%s/orch.log", d.dir);
	start_idp();
	wait_socket(idp_sock);
	start_orch();
	wait_socket(orch_sock);
	wait_ready();
}

/* SIGTERM and wait: a clean stop exits 0 (sanitizer builds fail it on a
 * leak or a memory error). */
static void stop(pid_t *pid)
{
	int status = 0;

	if (*pid > 0) {
		kill(*pid, SIGTERM);
		waitpid(*pid, &status, 0);
		*pid = 0;
		cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		          "a clean stop ended with status %d", status);
	}
}

static void teardown(void)
{
	pid_t o = orch_pid, i = idp_pid;

	stop(&orch_pid);
	stop(&idp_pid);
	if (o > 0 && i > 0) {
		char cmd[400];

		snprintf(cmd, sizeof(cmd), "grep -l 'Sanitizer\\|runtime error' %s %s >&2", idp_log,
		         orch_log);
		cr_expect_neq(system(cmd), 0, "sanitizer reports in the idp or orchestrator log");
	}
	td_stop(&d);
}

TestSuite(identity, .init = setup, .fini = teardown, .timeout = 120);

Test(identity, a_launched_application_gets_its_identity_and_uses_its_keys)
{
	char out[8192];
	int rc;

	rc = run_as("app1", out, sizeof(out), "whoami", NULL, NULL, NULL);
	cr_assert_eq(rc, 0, "%s", out);
	cr_assert(strstr(out, "spiffe://test.example/app1") != NULL, "%s", out);

	rc = run_as("app1", out, sizeof(out), "create-ecc-key", "k1", NULL, NULL);
	if (rc != 0) {
		td_dump_log(&d);
		dump(idp_log);
	}
	cr_assert_eq(rc, 0, "create-ecc-key: %s", out);
	rc = run_as("app1", out, sizeof(out), "list-keys", NULL, NULL, NULL);
	cr_assert_eq(rc, 0, "%s", out);
	cr_assert(strstr(out, "k1") != NULL, "%s", out);

	/* Another application does not see it, and cannot use it. */
	rc = run_as("app2", out, sizeof(out), "list-keys", NULL, NULL, NULL);
	cr_assert_eq(rc, 0, "%s", out);
	cr_assert(strstr(out, "k1") == NULL, "app2 sees app1's key: %s", out);
	rc = run_as("app2", out, sizeof(out), "delete-key", "k1", NULL, NULL);
	cr_assert_neq(rc, 0, "app2 destroyed app1's key");
	rc = run_as("app1", out, sizeof(out), "list-keys", NULL, NULL, NULL);
	cr_assert(strstr(out, "k1") != NULL, "%s", out);
}

Test(identity, a_process_not_launched_by_the_orchestrator_gets_no_token)
{
	struct tessera_client *c;
	char *tok = NULL, *ident = NULL, out[4096];
	uint64_t exp;
	const char *argv[] = {CLI,     "--endpoint", td_ep,       "--auth", "jwt",
	                      "--idp", idp_ep,       "list-keys", NULL};

	c = idp_client();
	cr_assert_eq(tessera_get_token(c, &tok, &exp, &ident), 1140);
	/* The idp answers the core discovery operations too. */
	{
		uint32_t *ops = NULL, maj = 0, min = 0;
		size_t n = 0, np = 0;
		struct tessera_provider_info *pi = NULL;
		int has_token = 0;

		cr_assert_eq(tessera_ping(c, &maj, &min), TESSERA_OK);
		cr_assert_eq(maj, 1);
		cr_assert_eq(tessera_list_opcodes(c, 0, &ops, &n), TESSERA_OK);
		for (size_t i = 0; i < n; i++)
			has_token |= ops[i] == WIRE_OP_GET_TOKEN;
		cr_assert(has_token, "ListOpcodes of the idp lacks GetToken");
		free(ops);
		cr_assert_eq(tessera_list_providers(c, &pi, &np), TESSERA_OK);
		cr_assert_eq(np, 1);
		cr_assert_eq(pi[0].id, 0);
		tessera_provider_info_free(pi, np);
		/* And not tesserad's operations. */
		{
			uint8_t *rb = NULL;
			size_t rl = 0;

			cr_assert_eq(tessera_request(c, 1, WIRE_OP_PSA_GENERATE_RANDOM, NULL, 0,
			                             &rb, &rl),
			             5);
			free(rb);
		}
	}
	tessera_close(c);
	cr_assert_neq(run(argv, out, sizeof(out)), 0);

	/* A made-up token is refused by tesserad with AuthenticationError. */
	{
		struct td_resp r;
		const char *fake = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.";

		cr_assert_eq(td_call(&d, WIRE_OP_LIST_KEYS, 0, 2, NULL, 0, fake, strlen(fake), &r),
		             11);
		td_resp_free(&r);
	}
}

/* Report this very process (the test) to the orchestrator, as a hook would
 * for a container's init process. */
/* The longest word of this process's cgroup paths (what a runtime's
 * container id looks like to the orchestrator's check), or "" if none. */
static void own_cgroup_word(char *out, size_t size)
{
	char buf[4096], best[128] = "";
	FILE *f = fopen("/proc/self/cgroup", "r");

	out[0] = '\0';
	if (f == NULL)
		return;
	while (fgets(buf, sizeof(buf), f) != NULL) {
		char *path = strchr(buf, ':');

		path = path != NULL ? strchr(path + 1, ':') : NULL;
		for (char *p = path; p != NULL && *p != '\0';) {
			size_t n = 0;

			while ((p[n] >= 'a' && p[n] <= 'z') || (p[n] >= 'A' && p[n] <= 'Z') ||
			       (p[n] >= '0' && p[n] <= '9'))
				n++;
			if (n > strlen(best) && n < sizeof(best)) {
				memcpy(best, p, n);
				best[n] = '\0';
			}
			p += n > 0 ? n : 1;
		}
	}
	fclose(f);
	snprintf(out, size, "%s", best);
}

static int hook(const char *phase, pid_t pid, const char *name, const char *id)
{
	char state[512], path[200], idfield[160] = "";
	FILE *f;
	int status;
	pid_t child;

	snprintf(path, sizeof(path), "%s/state.json", d.dir);
	if (id[0] != '\0')
		snprintf(idfield, sizeof(idfield), "\"id\": \"%s\", ", id);
	snprintf(state, sizeof(state),
	         "{\"ociVersion\": \"1.0.2\", %s\"status\": \"%s\", \"pid\": %ld,"
	         " \"bundle\": \"/tmp\", \"annotations\": {\"org.tessera.client\": \"%s\"}}",
	         idfield, strcmp(phase, "poststop") == 0 ? "stopped" : "created", (long)pid, name);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs(state, f);
	fclose(f);
	child = td_fork();
	if (child == 0) {
		int fd = open(path, O_RDONLY);

		dup2(fd, 0);
		execl(ORCH, ORCH, "hook", "--socket", orch_sock, phase, (char *)NULL);
		_exit(127);
	}
	waitpid(child, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int sign_once(struct tessera_client *c)
{
	uint8_t hash[32] = {1, 2, 3}, *sig = NULL;
	size_t sl = 0;
	int rc = tessera_sign_hash(c, 1, "hk", "ecdsa-sha256", hash, sizeof(hash), &sig, &sl);

	free(sig);
	return rc;
}

Test(identity, container_hook_rotation_under_load_and_idp_restart)
{
	struct tessera_client *c;
	struct tessera_key_spec spec = {.type = "ecc",
	                                .bits = 256,
	                                .alg = "ecdsa-sha256",
	                                .usage = TESSERA_USAGE_SIGN_HASH};
	time_t end;
	int n = 0, rc;
	char out[256];

	char word[128];

	/* A container id the kernel does not confirm (not in the process's
	 * cgroup paths) is refused. */
	cr_assert_eq(hook("prestart", getpid(), "ctr1", "not-our-container"), 1);
	/* This process, reported through the OCI hook under the annotation's
	 * name, with an id its cgroup does name. */
	own_cgroup_word(word, sizeof(word));
	cr_assert_eq(hook("prestart", getpid(), "ctr1", word), 0);
	c = jwt_client();
	rc = tessera_generate_key(c, 1, "hk", &spec);
	cr_assert_eq(rc, TESSERA_OK, "%s", tessera_strerror(rc));
	cr_assert_str_eq(tessera_identity(c), "spiffe://test.example/ctr1");

	/* The intermediate rotates every second: 3.5 s of signing loses no
	 * request (a rotation costs at most one transparent retry). */
	end = time(NULL) + 4;
	while (time(NULL) < end) {
		rc = sign_once(c);
		cr_assert_eq(rc, TESSERA_OK, "request %d: %s", n, tessera_strerror(rc));
		n++;
	}
	cr_assert_gt(n, 100);
	cr_assert_geq(td_log_count(&d, "intermediate"), 3, "no rotation happened");

	/* kill -9 the idp; the restart sequence restarts what trusted it
	 * (tesserad) and then the idp; the orchestrator re-reports its
	 * clients; the key is still there. */
	kill(idp_pid, SIGKILL);
	waitpid(idp_pid, NULL, 0);
	idp_pid = 0;
	td_restart(&d, SIGTERM);
	start_idp();
	for (int i = 0; i < td_scale(100); i++) {
		rc = sign_once(c);
		if (rc == TESSERA_OK)
			break;
		usleep(100000);
	}
	cr_assert_eq(rc, TESSERA_OK, "no service after the idp restart: %s", tessera_strerror(rc));
	cr_assert_str_eq(tessera_identity(c), "spiffe://test.example/ctr1");

	/* poststop: no more tokens for it. */
	cr_assert_eq(hook("poststop", getpid(), "ctr1", word), 0);
	{
		struct tessera_client *ic;
		char *tok = NULL, *ident = NULL;
		uint64_t exp;

		ic = idp_client();
		cr_assert_eq(tessera_get_token(ic, &tok, &exp, &ident), 1140);
		tessera_close(ic);
	}
	/* A bad state document is refused with a message. */
	{
		const char *argv[] = {ORCH, "hook", "--socket", orch_sock, "bogus", NULL};

		cr_assert_eq(run(argv, out, sizeof(out)), 2);
	}
	tessera_close(c);
}

/* A real container: runc runs the tessera CLI with the orchestrator as its
 * prestart/poststop hooks; inside, `whoami` gets the annotated identity. */
Test(identity, a_runc_container_reported_by_its_hooks_gets_its_identity)
{
	char bundle[200], rootfs[220], cfgpath[240], cmd[2048], id[64], out[4096];
	char *config;
	FILE *f;
	int rc;

	if (geteuid() != 0 || access("/usr/sbin/runc", X_OK) != 0)
		cr_skip_test("runc needs root and /usr/sbin/runc");
	snprintf(bundle, sizeof(bundle), "%s/bundle", d.dir);
	snprintf(rootfs, sizeof(rootfs), "%s/rootfs", bundle);
	snprintf(
	        cmd, sizeof(cmd),
	        "mkdir -p %s/usr %s/proc %s/dev && ln -s usr/bin %s/bin && ln -s usr/lib %s/lib && "
	        "ln -s usr/lib64 %s/lib64",
	        rootfs, rootfs, rootfs, rootfs, rootfs, rootfs);
	cr_assert_eq(system(cmd), 0);
	snprintf(id, sizeof(id), "tessera-e2e-%ld", (long)getpid());
	rc = asprintf(
	        &config,
	        "{\"ociVersion\": \"1.0.2\","
	        " \"process\": {\"terminal\": false, \"user\": {\"uid\": 0, \"gid\": 0},"
	        "  \"args\": [\"%s\", \"--endpoint\", \"%s\", \"--auth\", \"jwt\", \"--idp\", "
	        "\"%s\","
	        "   \"whoami\"],"
	        "  \"env\": [\"PATH=/usr/bin\"], \"cwd\": \"/\", \"noNewPrivileges\": true},"
	        " \"root\": {\"path\": \"rootfs\", \"readonly\": true},"
	        " \"hostname\": \"c\","
	        " \"mounts\": ["
	        "  {\"destination\": \"/proc\", \"type\": \"proc\", \"source\": \"proc\"},"
	        "  {\"destination\": \"/dev\", \"type\": \"tmpfs\", \"source\": \"tmpfs\","
	        "   \"options\": [\"nosuid\", \"mode=755\"]},"
	        "  {\"destination\": \"/usr\", \"type\": \"bind\", \"source\": \"/usr\","
	        "   \"options\": [\"rbind\", \"ro\"]},"
	        "  {\"destination\": \"%s\", \"type\": \"bind\", \"source\": \"%s\","
	        "   \"options\": [\"rbind\"]},"
	        "  {\"destination\": \"%s\", \"type\": \"bind\", \"source\": \"%s\","
	        "   \"options\": [\"rbind\", \"ro\"]}],"
	        " \"hooks\": {"
	        "  \"prestart\": [{\"path\": \"%s\", \"args\": [\"tessera-orchestrator\", \"hook\","
	        "   \"--socket\", \"%s\", \"prestart\"]}],"
	        "  \"poststop\": [{\"path\": \"%s\", \"args\": [\"tessera-orchestrator\", \"hook\","
	        "   \"--socket\", \"%s\", \"poststop\"]}]},"
	        " \"annotations\": {\"org.tessera.client\": \"webapp\"},"
	        " \"linux\": {\"namespaces\": [{\"type\": \"pid\"}, {\"type\": \"ipc\"},"
	        "  {\"type\": \"uts\"}, {\"type\": \"mount\"}]}}",
	        CLI, td_ep, idp_ep, d.dir, d.dir, TESSERA_BUILD_DIR, TESSERA_BUILD_DIR, ORCH,
	        orch_sock, ORCH, orch_sock);
	cr_assert_gt(rc, 0);
	snprintf(cfgpath, sizeof(cfgpath), "%s/config.json", bundle);
	f = fopen(cfgpath, "w");
	cr_assert_not_null(f);
	fputs(config, f);
	fclose(f);
	free(config);

	/* Can this machine run containers at all? If not, say so and skip. */
	{
		const char *argv[] = {"/usr/sbin/runc", "run", "--bundle", bundle, id, NULL};

		merge_stderr = 1;
		rc = run(argv, out, sizeof(out));
		merge_stderr = 0;
	}
	/* runc's own failure before any hook ran (no privileges for
	 * namespaces, no cgroups): this machine cannot run containers. */
	if (rc != 0 && strstr(out, "tessera") == NULL && strstr(out, "spiffe://") == NULL) {
		fprintf(stderr, "runc: %s\n", out);
		cr_skip_test("runc cannot run containers on this machine");
	}
	cr_assert_eq(rc, 0, "runc run: %s", out);
	cr_assert(strstr(out, "spiffe://test.example/webapp") != NULL, "inside: %s", out);

	/* poststop removed it: the orchestrator holds no client of that name. */
	{
		char buf[4096];
		FILE *lf = fopen(orch_log, "r");
		size_t n = lf ? fread(buf, 1, sizeof(buf) - 1, lf) : 0;

		if (lf)
			fclose(lf);
		buf[n] = '\0';
		cr_assert(strstr(buf, "\"webapp\" pid") != NULL, "%s", buf);
	}
}

/* The orchestrator is the root of the chain: after kill -9 of it, the
 * restart sequence restarts everything that trusted it (idp, then tesserad)
 * and a program launched before keeps its identity, because its launcher
 * reports it again. */
Test(identity, a_running_client_survives_the_orchestrator_restart_sequence)
{
	char stopfile[200], script[700], out[4096];
	int p[2], status;
	pid_t launcher;
	size_t got = 0;

	snprintf(stopfile, sizeof(stopfile), "%s/stop-app3", d.dir);
	snprintf(script, sizeof(script),
	         "while [ ! -e %s ]; do sleep 0.05; done; exec %s --endpoint %s --auth jwt "
	         "--idp %s whoami",
	         stopfile, CLI, td_ep, idp_ep);
	cr_assert_eq(pipe(p), 0);
	launcher = td_fork();
	if (launcher == 0) {
		dup2(p[1], 1);
		close(p[0]);
		close(p[1]);
		execl(ORCH, ORCH, "run", "--socket", orch_sock, "--name", "app3", "--refresh-ms",
		      "200", "--", "/bin/sh", "-c", script, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	usleep((useconds_t)td_scale(500) * 1000);

	kill(orch_pid, SIGKILL);
	waitpid(orch_pid, NULL, 0);
	orch_pid = 0;
	stop(&idp_pid);
	td_restart(&d, SIGTERM);
	start_idp();
	wait_socket(idp_sock);
	start_orch();
	/* The launcher repeats its report every 200 ms. */
	usleep((useconds_t)td_scale(1500) * 1000);
	close(open(stopfile, O_CREAT | O_WRONLY, 0600));
	for (;;) {
		ssize_t n = read(p[0], out + got, sizeof(out) - 1 - got);

		if (n <= 0)
			break;
		got += (size_t)n;
	}
	out[got] = '\0';
	close(p[0]);
	waitpid(launcher, &status, 0);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		dump(orch_log);
		dump(idp_log);
	}
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %d: %s", status, out);
	cr_assert(strstr(out, "spiffe://test.example/app3") != NULL, "%s", out);
}

/* tesserad restarting alone needs no other restart: the idp finds it without
 * a root on its next check and shares the root again. */
Test(identity, a_tesserad_restart_alone_heals_itself)
{
	struct tessera_client *c;
	struct tessera_key_spec spec = {.type = "ecc",
	                                .bits = 256,
	                                .alg = "ecdsa-sha256",
	                                .usage = TESSERA_USAGE_SIGN_HASH};
	char word[128];
	int rc = -1;

	own_cgroup_word(word, sizeof(word));
	cr_assert_eq(hook("prestart", getpid(), "ctr2", word), 0);
	c = jwt_client();
	cr_assert_eq(tessera_generate_key(c, 1, "hk", &spec), TESSERA_OK);
	td_restart(&d, SIGKILL);
	for (int i = 0; i < td_scale(50) && rc != TESSERA_OK; i++) {
		rc = sign_once(c);
		if (rc != TESSERA_OK)
			usleep(100000);
	}
	cr_assert_eq(rc, TESSERA_OK, "%s", tessera_strerror(rc));
	cr_assert_geq(td_log_count(&d, "root certificate accepted"), 1);
	tessera_close(c);
}

/* base64url to a malloc'd NUL-terminated string, or NULL. */
static char *b64url_decode_str(const char *in, size_t len, size_t *ret_len)
{
	char *out = malloc(len * 3 / 4 + 2);

	if (out != NULL && b64url_decode(in, len, (uint8_t *)out, ret_len) != 0) {
		free(out);
		return NULL;
	}
	if (out != NULL)
		out[*ret_len] = '\0';
	return out;
}

/* Hostile variants of a real token, sent to the real tesserad: each gets
 * AuthenticationError, and the caller's keys are as they were. */
static int list_keys_with(const char *tok, size_t len)
{
	struct td_resp r = {0};
	int st = td_call(&d, WIRE_OP_LIST_KEYS, 0, 2, NULL, 0, tok, len, &r);

	td_resp_free(&r);
	return st;
}

/* One round of hostile variants built from the real token `tok`; each must
 * get AuthenticationError. Returns the number of cases sent. */
static int hostile_round(const char *tok, struct pki_cert *foreign)
{
	size_t n = strlen(tok);
	const char *dot1 = strchr(tok, '.'), *dot2 = strrchr(tok, '.');
	char buf[10000], *p64, *forged = NULL;
	int cases = 0;

	/* alg none, the payload kept */
	p64 = strndup(dot1 + 1, (size_t)(dot2 - dot1 - 1));
	snprintf(buf, sizeof(buf), "eyJhbGciOiJub25lIn0.%s.", p64);
	cr_assert_eq(list_keys_with(buf, strlen(buf)), 11);
	cases++;
	/* a flipped signature byte */
	memcpy(buf, tok, n + 1);
	buf[n - 3] = buf[n - 3] == 'A' ? 'B' : 'A';
	cr_assert_eq(list_keys_with(buf, n), 11);
	cases++;
	/* trailing data, a trailing part, truncation */
	snprintf(buf, sizeof(buf), "%s ", tok);
	cr_assert_eq(list_keys_with(buf, n + 1), 11);
	cases++;
	snprintf(buf, sizeof(buf), "%s.e30", tok);
	cr_assert_eq(list_keys_with(buf, strlen(buf)), 11);
	cases++;
	cr_assert_eq(list_keys_with(tok, n - 1), 11);
	cases++;
	/* another subject in the payload, the signature kept */
	{
		char payload[1024];
		char *enc;

		snprintf(payload, sizeof(payload),
		         "{\"sub\":\"spiffe://test.example/admin\",\"iss\":\"tessera-idp\","
		         "\"aud\":\"tesserad\",\"iat\":%ld,\"exp\":%ld}",
		         (long)time(NULL), (long)time(NULL) + 60);
		enc = b64url_encode(payload, strlen(payload));
		snprintf(buf, sizeof(buf), "%.*s.%s%s", (int)(dot1 - tok), tok, enc, dot2);
		cr_assert_eq(list_keys_with(buf, strlen(buf)), 11);
		cases++;
		free(enc);
	}
	/* a foreign key naming the real kid, with the real claims: the real
	 * header and payload bytes signed with the foreign key */
	{
		char *hdr_json = NULL, *pl_json = NULL;
		size_t hlen, plen;

		hdr_json = b64url_decode_str(tok, (size_t)(dot1 - tok), &hlen);
		pl_json = b64url_decode_str(dot1 + 1, (size_t)(dot2 - dot1 - 1), &plen);
		cr_assert_not_null(hdr_json);
		cr_assert_not_null(pl_json);
		cr_assert_eq(pki_sign_raw(foreign, hdr_json, hlen, pl_json, plen, &forged),
		             TESSERA_OK);
		cr_assert_eq(list_keys_with(forged, strlen(forged)), 11);
		cases++;
		free(hdr_json);
		free(pl_json);
		free(forged);
	}
	/* random bytes and an oversized token */
	memset(buf, 'A', sizeof(buf));
	cr_assert_eq(list_keys_with(buf, 9000), 11);
	cases++;
	cr_assert_eq(list_keys_with("\xff\xfe\x01", 3), 11);
	cases++;
	/* header and payload swapped */
	snprintf(buf, sizeof(buf), "%s.%.*s%s", p64, (int)(dot1 - tok), tok, dot2);
	cr_assert_eq(list_keys_with(buf, strlen(buf)), 11);
	cases++;
	free(p64);
	return cases;
}

Test(identity, hostile_tokens_are_refused_by_tesserad_and_change_nothing)
{
	struct tessera_client *ic, *c;
	struct tessera_key_info *keys = NULL;
	struct pki_cert *foreign_root, *foreign;
	char *tok = NULL, *ident = NULL, word[128];
	uint64_t exp;
	size_t nkeys = 0;
	int cases = 0, attempt;

	own_cgroup_word(word, sizeof(word));
	cr_assert_eq(hook("prestart", getpid(), "victim", word), 0);
	/* The victim owns one key. */
	c = jwt_client();
	{
		struct tessera_key_spec spec = {.type = "ecc",
		                                .bits = 256,
		                                .alg = "ecdsa-sha256",
		                                .usage = TESSERA_USAGE_SIGN_HASH};

		cr_assert_eq(tessera_generate_key(c, 1, "victim-key", &spec), TESSERA_OK);
	}
	cr_assert_eq(pki_root_new("mallory", &foreign_root), TESSERA_OK);
	cr_assert_eq(pki_intermediate_new(foreign_root, "mallory", 600, &foreign), TESSERA_OK);

	/* The intermediate rotates every second in this suite, and a token
	 * signed by the previous one is rightly refused. So a round counts only
	 * when the real token works before and after it; a round that a rotation
	 * fell into (tesserad logged a new intermediate) is run again. */
	for (attempt = 0;; attempt++) {
		int rotations = td_log_count(&d, "intermediate");
		int before, after;

		ic = idp_client();
		cr_assert_eq(tessera_get_token(ic, &tok, &exp, &ident), TESSERA_OK);
		tessera_close(ic);
		before = list_keys_with(tok, strlen(tok));
		cases += hostile_round(tok, foreign);
		after = list_keys_with(tok, strlen(tok));
		if (before == 0 && after == 0)
			break;
		cr_assert_neq(td_log_count(&d, "intermediate"), rotations,
		              "the real token was refused (%d, %d) with no rotation", before,
		              after);
		cr_assert_lt(attempt, 5, "a rotation fell into every round");
		free(tok);
		free(ident);
		tok = ident = NULL;
	}
	cr_assert_geq(cases, 10);

	/* Nothing changed: the key is there, for the victim only. */
	cr_assert_eq(tessera_list_keys(c, &keys, &nkeys), TESSERA_OK);
	cr_assert_eq(nkeys, 1);
	cr_assert_str_eq(keys[0].name, "victim-key");
	tessera_key_info_free(keys, nkeys);
	cr_assert_geq(td_log_count(&d, "authentication (Jwt) failed"), cases);
	tessera_close(c);
	pki_cert_free(foreign);
	pki_cert_free(foreign_root);
	free(tok);
	free(ident);
}

/* The idp reads its socket with the same framer as tesserad: pipelined
 * requests are answered in order, a request in one-byte pieces is whole, and
 * a bad magic gets InvalidHeader with the default header, then a close. */
static int connect_idp(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	cr_assert_geq(fd, 0);
	strcpy(sa.sun_path, idp_sock);
	cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0, "%s", strerror(errno));
	return fd;
}

Test(identity, the_idp_frames_requests_like_tesserad)
{
	uint8_t req[3 * WIRE_HEADER_LEN];
	struct wire_header h;
	struct td_resp r;
	int fd = connect_idp();

	wire_header_request(&h, WIRE_OP_PING, 0, 0, 0, 0);
	h.flags = WIRE_FLAG_KEEP_OPEN;
	h.session = 1;
	wire_header_encode(&h, req);
	h.opcode = WIRE_OP_LIST_PROVIDERS;
	h.session = 2;
	wire_header_encode(&h, req + WIRE_HEADER_LEN);
	h.opcode = WIRE_OP_PING;
	h.session = 3;
	wire_header_encode(&h, req + 2 * WIRE_HEADER_LEN);
	cr_assert_eq(td_send_all(fd, req, 2 * WIRE_HEADER_LEN), 0);
	for (uint64_t s = 1; s <= 2; s++) {
		cr_assert_eq(td_read_response(fd, &r, td_scale(5000)), 0);
		cr_assert_eq(r.h.session, s, "answers in request order");
		cr_assert_eq(r.h.status, 0);
		td_resp_free(&r);
	}
	for (size_t i = 0; i < WIRE_HEADER_LEN; i++) {
		cr_assert_eq(td_send_all(fd, req + 2 * WIRE_HEADER_LEN + i, 1), 0);
		usleep(1000);
	}
	cr_assert_eq(td_read_response(fd, &r, td_scale(5000)), 0);
	cr_assert_eq(r.h.session, 3);
	cr_assert_eq(r.h.status, 0);
	td_resp_free(&r);

	req[0] ^= 0xFF;
	cr_assert_eq(td_send_all(fd, req, WIRE_HEADER_LEN), 0);
	cr_assert_eq(td_read_response(fd, &r, td_scale(5000)), 0);
	cr_assert_eq(r.h.status, 17, "InvalidHeader, got %u", r.h.status);
	cr_assert_eq(r.h.session, 0, "the default header");
	td_resp_free(&r);
	cr_assert(td_wait_closed(fd, td_scale(5000)), "closed after a framing error");
	close(fd);
}

/* Like tesserad, the idp closes after a response unless the request asked
 * to keep the connection (a client reading to EOF is not kept waiting). */
Test(identity, the_idp_closes_after_a_response_unless_asked_to_keep_the_connection)
{
	uint8_t req[WIRE_HEADER_LEN];
	struct wire_header h;
	struct td_resp r;
	int fd = connect_idp();

	wire_header_request(&h, WIRE_OP_PING, 0, 0, 0, 0);
	h.flags = WIRE_FLAG_KEEP_OPEN;
	wire_header_encode(&h, req);
	cr_assert_eq(td_send_all(fd, req, sizeof(req)), 0);
	cr_assert_eq(td_read_response(fd, &r, td_scale(5000)), 0);
	cr_assert_eq(r.h.flags, WIRE_FLAG_KEEP_OPEN, "kept open, and says so");
	td_resp_free(&r);
	h.flags = 0;
	wire_header_encode(&h, req);
	cr_assert_eq(td_send_all(fd, req, sizeof(req)), 0);
	cr_assert_eq(td_read_response(fd, &r, td_scale(5000)), 0);
	cr_assert_eq(r.h.flags, 0);
	cr_assert_eq(r.h.status, 0);
	td_resp_free(&r);
	cr_assert(td_wait_closed(fd, td_scale(3000)), "the close follows the response");
	close(fd);
}
