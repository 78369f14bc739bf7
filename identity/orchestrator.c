/*
 * tessera-orchestrator: the reference orchestrator.
 *
 *   serve  holds a root and intermediate in memory, shares them with the idp
 *          (and rotates), and turns reports on its control socket into signed
 *          AddClient / ProveClient / RemoveClient statements for the idp;
 *   run    starts a program as a named client: the program is proven before
 *          it runs and reported stopped when it exits;
 *   hook   an OCI runtime hook (prestart / poststop) reporting containers.
 */
#include "identity/identity-priv.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "client/tessera.h"
#include "common/log.h"
#include "common/util.h"

#include "report_client.pb-c.h"

#define DEFAULT_SOCKET "/run/tessera/orchestrator.sock"
#define STATEMENT_TTL  60

struct reported {
	char name[129];
	struct proc_proofs p;
};

struct orch {
	struct sharer idp;
	uid_t allow_uid;
	struct reported *items;
	size_t n_items;
};

static const uint32_t orch_opcodes[] = {WIRE_OP_PING, WIRE_OP_LIST_PROVIDERS, WIRE_OP_LIST_OPCODES,
                                        WIRE_OP_LIST_AUTHENTICATORS, WIRE_OP_REPORT_CLIENT};

/* Sign one statement for the idp. */
static char *statement(struct orch *o, json_t *claims, const char *kind)
{
	int64_t now = now_s();
	char *tok = NULL;

	json_object_set_new(claims, "stmt", json_string(kind));
	json_object_set_new(claims, "iss", json_string("tessera-orchestrator"));
	json_object_set_new(claims, "aud", json_string("tessera-idp"));
	json_object_set_new(claims, "iat", json_integer(now));
	json_object_set_new(claims, "exp", json_integer(now + STATEMENT_TTL));
	if (pki_sign_claims(o->idp.inter, claims, &tok) != TS_OK)
		tok = NULL;
	json_decref(claims);
	return tok;
}

static int send_client(struct orch *o, struct tessera_client *c, const struct reported *r)
{
	json_t *def = json_pack("{s:s, s:I, s:I}", "name", r->name, "uid", (json_int_t)r->p.uid,
	                        "gid", (json_int_t)r->p.gid);
	json_t *pr = json_pack("{s:s, s:I, s:I, s:I, s:I, s:s, s:s, s:s}", "name", r->name, "pid",
	                       (json_int_t)r->p.pid, "start_time", (json_int_t)r->p.start_time,
	                       "uid", (json_int_t)r->p.uid, "gid", (json_int_t)r->p.gid,
	                       "exe_sha256", r->p.exe_sha256, "cgroup", r->p.cgroup, "container_id",
	                       r->p.container_id);
	char *d, *p;
	int rc;

	if (def == NULL || pr == NULL) {
		json_decref(def);
		json_decref(pr);
		return TESSERA_ERR_NOMEM;
	}
	if (r->p.container_id[0] != '\0')
		json_object_set_new(def, "container_id", json_string(r->p.container_id));
	d = statement(o, def, "definition");
	p = statement(o, pr, "proofs");
	rc = d != NULL && p != NULL ? tessera_add_client(c, d) : TESSERA_ERR_NOMEM;
	if (rc == TESSERA_OK)
		rc = tessera_prove_client(c, p);
	free(d);
	free(p);
	return rc;
}

static int send_removal(struct orch *o, struct tessera_client *c, const char *name, pid_t pid)
{
	json_t *j = json_pack("{s:s}", "name", name);
	char *s;
	int rc;

	if (j != NULL && pid > 0)
		json_object_set_new(j, "pid", json_integer(pid));
	s = j != NULL ? statement(o, j, "removal") : NULL;
	if (s == NULL)
		return TESSERA_ERR_NOMEM;
	rc = tessera_remove_client(c, s);
	free(s);
	return rc;
}

/* Is this process already reported under this name (same start time)? */
static bool known(const struct orch *o, const char *name, pid_t pid)
{
	uint64_t start;

	if (proc_start_time(pid, &start) != TS_OK)
		return false;
	for (size_t i = 0; i < o->n_items; i++)
		if (o->items[i].p.pid == pid && o->items[i].p.start_time == start &&
		    strcmp(o->items[i].name, name) == 0)
			return true;
	return false;
}

static bool name_in_use(const struct orch *o, const char *name)
{
	for (size_t i = 0; i < o->n_items; i++)
		if (strcmp(o->items[i].name, name) == 0)
			return true;
	return false;
}

/* Tell the idp that name's pid stopped (pid 0: every instance); when no
 * instance is left, the definition goes too. */
static void forget(struct orch *o, struct tessera_client *c, const char *name, pid_t pid)
{
	size_t k = 0;

	for (size_t i = 0; i < o->n_items; i++) {
		if (strcmp(o->items[i].name, name) == 0 && (pid == 0 || o->items[i].p.pid == pid))
			continue;
		o->items[k++] = o->items[i];
	}
	o->n_items = k;
	if (c == NULL)
		return;
	if (pid > 0)
		send_removal(o, c, name, pid);
	if (!name_in_use(o, name))
		send_removal(o, c, name, 0);
}

static enum ts_err report(struct orch *o, const struct auth_peer *peer, const uint8_t *body,
                          size_t len)
{
	struct wire_pb_alloc a;
	ReportClient__Operation *op = (ReportClient__Operation *)wire_decode(
	        &report_client__operation__descriptor, body, len, &a);
	struct tessera_client *c = NULL;
	struct reported r = {0};
	enum ts_err err = TS_OK;
	int rc;

	if (op == NULL)
		return TS_E_DESERIALIZING_BODY_FAILED;
	if (!peer->valid ||
	    (peer->uid != 0 && peer->uid != geteuid() && peer->uid != o->allow_uid)) {
		err = TS_E_PSA_NOT_PERMITTED;
		goto out;
	}
	if (op->name == NULL || !client_name_ok(op->name) || op->pid > 4194304 ||
	    (!op->stopped && op->pid == 0) ||
	    (op->executable != NULL && op->executable[0] != '\0' && op->executable[0] != '/')) {
		err = TS_E_PSA_INVALID_ARGUMENT;
		goto out;
	}
	if (!o->idp.in_sync && sharer_tick(&o->idp) != 0) {
		err = TS_E_PSA_COMMUNICATION_FAILURE;
		goto out;
	}
	if (sharer_connect(&o->idp, &c) != TESSERA_OK) {
		err = TS_E_PSA_COMMUNICATION_FAILURE;
		goto out;
	}
	if (op->stopped) {
		forget(o, c, op->name, (pid_t)op->pid);
		ts_info("client \"%s\" pid %u reported stopped", op->name, op->pid);
		goto out;
	}
	snprintf(r.name, sizeof(r.name), "%s", op->name);
	if (known(o, op->name, (pid_t)op->pid))
		goto out; /* a launcher's periodic repeat */
	err = proc_read((pid_t)op->pid,
	                op->executable != NULL && op->executable[0] ? op->executable : NULL, &r.p);
	if (err != TS_OK)
		goto out;
	if (op->container_id != NULL && op->container_id[0] != '\0') {
		/* The runtime's word is taken only where the kernel agrees. */
		if (strlen(op->container_id) >= sizeof(r.p.container_id) ||
		    !cgroup_names(r.p.cgroup, op->container_id)) {
			ts_warn("client \"%s\": container id %s is not in the cgroup path %s",
			        r.name, op->container_id, r.p.cgroup);
			err = TS_E_PSA_NOT_PERMITTED;
			goto out;
		}
		snprintf(r.p.container_id, sizeof(r.p.container_id), "%s", op->container_id);
	}
	rc = send_client(o, c, &r);
	if (rc == 1137) { /* PsaErrorBadState: the idp restarted since our last tick */
		o->idp.in_sync = false;
		if (sharer_tick(&o->idp) == 0)
			rc = send_client(o, c, &r);
	}
	if (rc != TESSERA_OK) {
		ts_warn("the idp refused client \"%s\": %s", r.name, tessera_strerror(rc));
		err = rc > 0 ? TS_E_PSA_NOT_PERMITTED : TS_E_PSA_COMMUNICATION_FAILURE;
		goto out;
	}
	{
		struct reported *grown = realloc(o->items, (o->n_items + 1) * sizeof(*grown));

		if (grown == NULL) {
			err = TS_E_NOMEM;
			goto out;
		}
		o->items = grown;
		o->items[o->n_items++] = r;
	}
	ts_info("client \"%s\" reported: pid %ld uid %ld", r.name, (long)r.p.pid, (long)r.p.uid);
out:
	tessera_close(c);
	wire_decoded_free(&op->base, &a);
	return err;
}

static enum ts_err handle(void *ctx, const struct auth_peer *peer, uint32_t opcode,
                          const uint8_t *body, size_t len, uint8_t **ret_body, size_t *ret_len)
{
	(void)ret_body;
	(void)ret_len;
	if (opcode != WIRE_OP_REPORT_CLIENT)
		return TS_E_PSA_NOT_SUPPORTED;
	return report(ctx, peer, body, len);
}

/* The idp restarted and lost every client: report the live ones again. */
static void resend_all(void *ctx)
{
	struct orch *o = ctx;
	struct tessera_client *c;
	size_t k = 0;

	if (sharer_connect(&o->idp, &c) != TESSERA_OK)
		return;
	for (size_t i = 0; i < o->n_items; i++) {
		uint64_t start;

		if (proc_start_time(o->items[i].p.pid, &start) != TS_OK ||
		    start != o->items[i].p.start_time)
			continue; /* gone meanwhile */
		if (send_client(o, c, &o->items[i]) == TESSERA_OK)
			o->items[k++] = o->items[i];
	}
	ts_info("re-reported %zu client(s) to the idp", k);
	o->n_items = k;
	tessera_close(c);
}

/* Share what the idp lacks, then report clients whose process exited. */
static void on_tick(void *ctx)
{
	struct orch *o = ctx;
	struct tessera_client *c = NULL;

	sharer_tick(&o->idp);
	/* Processes that exited without a report (a launcher killed -9). */
	for (size_t i = 0; i < o->n_items;) {
		uint64_t start;
		char name[129];

		if (proc_start_time(o->items[i].p.pid, &start) == TS_OK &&
		    start == o->items[i].p.start_time) {
			i++;
			continue;
		}
		memcpy(name, o->items[i].name, sizeof(name));
		if (c == NULL && sharer_connect(&o->idp, &c) != TESSERA_OK)
			c = NULL;
		forget(o, c, name, o->items[i].p.pid);
	}
	tessera_close(c);
}

static int parse_num(const char *opt, const char *text, uint64_t min, uint64_t max, uint64_t *ret)
{
	if (ts_parse_u64(text, min, max, ret) == 0)
		return 0;
	fprintf(stderr, "tessera-orchestrator: %s: expected a number from %llu to %llu, got %s\n",
	        opt, (unsigned long long)min, (unsigned long long)max, text);
	return -1;
}

static int cmd_serve(int argc, char **argv)
{
	static const struct option opts[] = {
	        {"socket", required_argument, NULL, 's'},
	        {"idp", required_argument, NULL, 'i'},
	        {"rotate", required_argument, NULL, 'r'},
	        {"check-interval-ms", required_argument, NULL, 'c'},
	        {"allow-uid", required_argument, NULL, 'a'},
	        {"log-level", required_argument, NULL, 'L'},
	        {NULL, 0, NULL, 0},
	};
	struct orch o = {0};
	const char *sock = DEFAULT_SOCKET, *idp = "unix:/run/tessera/idp.sock";
	uint64_t rotate = 3600, check_ms = 2000, allow = 0;
	enum ts_log_level lv;
	int ch;

	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 's':
			sock = optarg;
			break;
		case 'i':
			idp = optarg;
			break;
		case 'r':
			if (parse_num("--rotate", optarg, 1, 86400 * 30, &rotate) != 0)
				return 2;
			break;
		case 'c':
			if (parse_num("--check-interval-ms", optarg, 10, 3600000, &check_ms) != 0)
				return 2;
			break;
		case 'a':
			if (parse_num("--allow-uid", optarg, 0, 4294967294u, &allow) != 0)
				return 2;
			break;
		case 'L':
			if (ts_log_level_parse(optarg, &lv) != 0) {
				fprintf(stderr, "tessera-orchestrator: unknown log level %s\n",
				        optarg);
				return 2;
			}
			ts_log_set_level(lv);
			break;
		default:
			return 2;
		}
	}
	identity_harden();
	o.allow_uid = (uid_t)allow;
	if (sharer_init(&o.idp, idp, "tessera-idp", "tessera-orchestrator", (int64_t)rotate) !=
	    TS_OK) {
		ts_error("cannot make our keys");
		return 1;
	}
	o.idp.on_reset = resend_all;
	o.idp.ctx = &o;
	ts_info("tessera-orchestrator: idp at %s", idp);
	if (idsrv_serve(sock, 0600, orch_opcodes, TS_ARRAY_LEN(orch_opcodes), handle, on_tick,
	                check_ms, &o) != 0)
		return 1;
	sharer_fini(&o.idp);
	free(o.items);
	return 0;
}

/* Send one ReportClient to the orchestrator. */
static int send_report(const char *sock, const char *name, pid_t pid, const char *exe, bool stopped,
                       const char *container_id)
{
	struct tessera_options opt;
	struct tessera_client *c;
	char ep[PATH_MAX + 8];
	int rc;

	snprintf(ep, sizeof(ep), "unix:%s", sock);
	tessera_options_init(&opt);
	opt.endpoint = ep;
	opt.auth_type = TESSERA_AUTH_NONE;
	opt.timeout_ms = 10000;
	opt.persistent = 0;
	rc = tessera_open(&opt, &c);
	if (rc != TESSERA_OK)
		return rc;
	rc = tessera_report_client(c, name, (uint32_t)pid, exe, stopped, container_id);
	tessera_close(c);
	return rc;
}

/* PROGRAM as execvp would find it, made absolute. */
static char *resolve(const char *prog)
{
	const char *path = getenv("PATH");
	char buf[PATH_MAX];

	if (strchr(prog, '/') != NULL)
		return realpath(prog, NULL);
	if (path == NULL)
		path = "/usr/local/bin:/usr/bin:/bin";
	while (*path != '\0') {
		const char *end = strchr(path, ':');
		size_t n = end ? (size_t)(end - path) : strlen(path);

		if (n > 0 &&
		    (size_t)snprintf(buf, sizeof(buf), "%.*s/%s", (int)n, path, prog) <
		            sizeof(buf) &&
		    access(buf, X_OK) == 0)
			return realpath(buf, NULL);
		path += n + (end != NULL);
	}
	return NULL;
}

static pid_t child_pid;

static void forward(int sig)
{
	if (child_pid > 0)
		kill(child_pid, sig);
}

static int cmd_run(int argc, char **argv)
{
	static const struct option opts[] = {
	        {"socket", required_argument, NULL, 's'},
	        {"name", required_argument, NULL, 'n'},
	        {"refresh-ms", required_argument, NULL, 'r'},
	        {NULL, 0, NULL, 0},
	};
	const char *sock = DEFAULT_SOCKET, *name = NULL;
	uint64_t refresh_ms = 5000;
	char *exe;
	int ch, gate[2], status = 0, rc;
	struct sigaction sa = {0};

	while ((ch = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		if (ch == 's')
			sock = optarg;
		else if (ch == 'n')
			name = optarg;
		else if (ch == 'r') {
			if (parse_num("--refresh-ms", optarg, 10, 3600000, &refresh_ms) != 0)
				return 2;
		} else
			return 2;
	}
	if (name == NULL || !client_name_ok(name) || optind >= argc) {
		fprintf(stderr, "usage: tessera-orchestrator run [--socket PATH] --name NAME -- "
		                "PROGRAM [ARGS...]\n(NAME: letters, digits, '.', '_', '-')\n");
		return 2;
	}
	exe = resolve(argv[optind]);
	if (exe == NULL || access(exe, X_OK) != 0) {
		fprintf(stderr, "tessera-orchestrator: %s: not an executable program\n",
		        argv[optind]);
		free(exe);
		return 127;
	}
	if (pipe2(gate, O_CLOEXEC) != 0)
		return 1;
	child_pid = fork();
	if (child_pid < 0)
		return 1;
	if (child_pid == 0) {
		char go;

		/* Wait until we are proven; run the exact file that was hashed. */
		close(gate[1]);
		if (read(gate[0], &go, 1) != 1)
			_exit(126);
		close(gate[0]);
		execv(exe, argv + optind);
		_exit(127);
	}
	close(gate[0]);
	rc = send_report(sock, name, child_pid, exe, false, NULL);
	if (rc != TESSERA_OK) {
		fprintf(stderr, "tessera-orchestrator: cannot report %s to %s: %s\n", name, sock,
		        tessera_strerror(rc));
		close(gate[1]);
		waitpid(child_pid, NULL, 0);
		free(exe);
		return 1;
	}
	sa.sa_handler = forward;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	if (write(gate[1], "g", 1) != 1)
		kill(child_pid, SIGKILL);
	close(gate[1]);
	/* Until it exits, repeat the report now and then: a restarted
	 * orchestrator (and the idp restarted with it) learns of it again. */
	for (long waited = 0;;) {
		pid_t w = waitpid(child_pid, &status, WNOHANG);

		if (w == child_pid || (w < 0 && errno != EINTR))
			break;
		usleep(10000);
		waited += 10;
		if (waited >= (long)refresh_ms) {
			waited = 0;
			send_report(sock, name, child_pid, exe, false, NULL);
		}
	}
	rc = send_report(sock, name, child_pid, NULL, true, NULL);
	if (rc != TESSERA_OK)
		fprintf(stderr, "tessera-orchestrator: cannot report %s stopped: %s\n", name,
		        tessera_strerror(rc));
	free(exe);
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

/* An OCI hook: the container's state document on stdin. */
static int cmd_hook(int argc, char **argv)
{
	static const struct option opts[] = {
	        {"socket", required_argument, NULL, 's'},
	        {"name-annotation", required_argument, NULL, 'a'},
	        {NULL, 0, NULL, 0},
	};
	const char *sock = DEFAULT_SOCKET, *annotation = "org.tessera.client", *phase, *name;
	json_t *state, *ann;
	json_error_t jerr;
	json_int_t pid = 0;
	int ch, rc;
	bool stop;

	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch == 's')
			sock = optarg;
		else if (ch == 'a')
			annotation = optarg;
		else
			return 2;
	}
	if (optind + 1 != argc ||
	    (strcmp(argv[optind], "prestart") != 0 && strcmp(argv[optind], "createRuntime") != 0 &&
	     strcmp(argv[optind], "poststop") != 0)) {
		fprintf(stderr, "usage: tessera-orchestrator hook [--socket PATH] "
		                "[--name-annotation KEY] prestart|createRuntime|poststop "
		                "< state.json\n");
		return 2;
	}
	phase = argv[optind];
	stop = strcmp(phase, "poststop") == 0;
	state = json_loadf(stdin, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(state)) {
		fprintf(stderr,
		        "tessera-orchestrator: hook: the state on stdin is not a JSON "
		        "object: %s\n",
		        jerr.text);
		json_decref(state);
		return 1;
	}
	ann = json_object_get(json_object_get(state, "annotations"), annotation);
	name = json_is_string(ann) ? json_string_value(ann)
	                           : json_string_value(json_object_get(state, "id"));
	if (json_is_integer(json_object_get(state, "pid")))
		pid = json_integer_value(json_object_get(state, "pid"));
	if (name == NULL || !client_name_ok(name) || pid < 0 || pid > 4194304 ||
	    (!stop && pid == 0)) {
		fprintf(stderr,
		        "tessera-orchestrator: hook: the state needs an \"id\" (or the "
		        "%s annotation) that is a valid client name and%s a \"pid\"\n",
		        annotation, stop ? "" : " (for prestart)");
		json_decref(state);
		return 1;
	}
	rc = send_report(sock, name, (pid_t)pid, NULL, stop,
	                 json_string_value(json_object_get(state, "id")));
	if (rc != TESSERA_OK)
		fprintf(stderr, "tessera-orchestrator: hook %s for %s: %s\n", phase, name,
		        tessera_strerror(rc));
	json_decref(state);
	return rc == TESSERA_OK ? 0 : 1;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "serve") == 0)
		return cmd_serve(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "run") == 0)
		return cmd_run(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "hook") == 0)
		return cmd_hook(argc - 1, argv + 1);
	fprintf(argc >= 2 && strcmp(argv[1], "--help") == 0 ? stdout : stderr,
	        "usage: tessera-orchestrator serve [--socket PATH] [--idp unix:PATH] "
	        "[--rotate SEC]\n"
	        "                                  [--check-interval-ms MS] [--allow-uid UID]\n"
	        "       tessera-orchestrator run [--socket PATH] --name NAME -- PROGRAM [ARGS...]\n"
	        "       tessera-orchestrator hook [--socket PATH] [--name-annotation KEY] "
	        "prestart|poststop\n");
	return argc >= 2 && strcmp(argv[1], "--help") == 0 ? 0 : 2;
}
