/*
 * tessera-idp: the identity provider. It trusts the orchestrator (root once,
 * intermediates chained to it), keeps the client definitions and the proven
 * running instances the orchestrator reports, and gives a process that is a
 * proven instance (or was started by one) a short-lived JWT naming its
 * application identity. tesserad trusts it in turn: it shares its own root
 * at start-up and each new intermediate before signing with it.
 */
#include "identity/identity-priv.h"

#include <getopt.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/rand.h>

#include "client/tessera.h"
#include "common/log.h"
#include "common/util.h"

#include "add_client.pb-c.h"
#include "get_token.pb-c.h"
#include "prove_client.pb-c.h"
#include "remove_client.pb-c.h"
#include "share_trust_bundle.pb-c.h"

#define MAX_DEFS      4096
#define MAX_INSTANCES 16384
#define MAX_ANCESTORS 32

struct client_def {
	char name[129];
	bool has_uid, has_gid;
	uid_t uid;
	gid_t gid;
	char exe_sha256[65];   /* "" any */
	char container_id[65]; /* "" any */
};

struct instance {
	char name[129];
	struct proc_proofs p;
};

struct idp {
	struct trust_store *orch; /* the orchestrator's chain */
	uid_t orch_uid;
	struct jws_policy orch_policy;
	struct sharer tesserad;
	const char *trust_domain, *issuer, *audience;
	int64_t token_lifetime_s;
	struct client_def *defs;
	size_t n_defs;
	struct instance *insts;
	size_t n_insts;
};

static const uint32_t idp_opcodes[] = {
        WIRE_OP_PING,
        WIRE_OP_LIST_PROVIDERS,
        WIRE_OP_LIST_OPCODES,
        WIRE_OP_LIST_AUTHENTICATORS,
        WIRE_OP_SHARE_TRUST_BUNDLE,
        WIRE_OP_ADD_CLIENT,
        WIRE_OP_PROVE_CLIENT,
        WIRE_OP_REMOVE_CLIENT,
        WIRE_OP_GET_TOKEN,
};

static struct client_def *def_find(struct idp *d, const char *name)
{
	for (size_t i = 0; i < d->n_defs; i++)
		if (strcmp(d->defs[i].name, name) == 0)
			return &d->defs[i];
	return NULL;
}

static bool is_hex64(const char *s)
{
	if (strlen(s) != 64)
		return false;
	for (size_t i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

/* A statement from the orchestrator: a JWS verified against its chain whose
 * "stmt" claim names what it is (so one kind cannot be replayed as another). */
static enum ts_err statement(struct idp *d, const char *jws, const char *kind, json_t **ret)
{
	json_t *c = NULL;
	uint64_t gen;
	enum ts_err err;
	const json_t *stmt, *name;

	if (jws == NULL)
		return TS_E_PSA_INVALID_ARGUMENT;
	err = jws_verify(d->orch, jws, strlen(jws), &d->orch_policy, now_s(), &c, &gen);
	if (err != TS_OK) {
		ts_warn("%s statement refused: bad signature, chain, or claims", kind);
		return err == TS_E_NOMEM ? err : TS_E_PSA_INVALID_SIGNATURE;
	}
	stmt = json_object_get(c, "stmt");
	name = json_object_get(c, "name");
	if (!json_is_string(stmt) || strcmp(json_string_value(stmt), kind) != 0 ||
	    !json_is_string(name) || !client_name_ok(json_string_value(name))) {
		json_decref(c);
		return TS_E_PSA_INVALID_ARGUMENT;
	}
	*ret = c;
	return TS_OK;
}

static bool opt_id(const json_t *c, const char *key, bool *has, uint32_t *out)
{
	const json_t *v = json_object_get(c, key);

	*has = false;
	if (v == NULL)
		return true;
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    json_integer_value(v) > 4294967294LL)
		return false;
	*has = true;
	*out = (uint32_t)json_integer_value(v);
	return true;
}

static bool opt_str(const json_t *c, const char *key, char *out, size_t size, bool hex64)
{
	const json_t *v = json_object_get(c, key);

	out[0] = '\0';
	if (v == NULL)
		return true;
	if (!json_is_string(v) || json_string_length(v) >= size ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return false;
	if (hex64 && json_string_length(v) > 0 && !is_hex64(json_string_value(v)))
		return false;
	memcpy(out, json_string_value(v), json_string_length(v) + 1);
	return true;
}

static enum ts_err add_client(struct idp *d, const char *jws)
{
	struct client_def def = {0}, *slot;
	json_t *c;
	uint32_t uid = 0, gid = 0;
	enum ts_err err = statement(d, jws, "definition", &c);

	if (err != TS_OK)
		return err;
	snprintf(def.name, sizeof(def.name), "%s", json_string_value(json_object_get(c, "name")));
	if (!opt_id(c, "uid", &def.has_uid, &uid) || !opt_id(c, "gid", &def.has_gid, &gid) ||
	    !opt_str(c, "exe_sha256", def.exe_sha256, sizeof(def.exe_sha256), true) ||
	    !opt_str(c, "container_id", def.container_id, sizeof(def.container_id), false)) {
		json_decref(c);
		return TS_E_PSA_INVALID_ARGUMENT;
	}
	json_decref(c);
	def.uid = uid;
	def.gid = gid;
	slot = def_find(d, def.name);
	if (slot == NULL) {
		struct client_def *grown;

		if (d->n_defs >= MAX_DEFS)
			return TS_E_PSA_INSUFFICIENT_MEMORY;
		grown = realloc(d->defs, (d->n_defs + 1) * sizeof(*grown));
		if (grown == NULL)
			return TS_E_NOMEM;
		d->defs = grown;
		slot = &d->defs[d->n_defs++];
	}
	*slot = def;
	ts_info("client \"%s\" defined", def.name);
	return TS_OK;
}

static void remove_instances(struct idp *d, const char *name, pid_t pid)
{
	size_t k = 0;

	for (size_t i = 0; i < d->n_insts; i++) {
		const struct instance *in = &d->insts[i];

		if (strcmp(in->name, name) == 0 && (pid == 0 || in->p.pid == pid))
			continue;
		d->insts[k++] = *in;
	}
	d->n_insts = k;
}

static enum ts_err prove_client(struct idp *d, const char *jws)
{
	struct instance in = {0};
	struct client_def *def;
	json_t *c;
	const json_t *pid, *start, *uid, *gid;
	uint64_t live;
	enum ts_err err = statement(d, jws, "proofs", &c);

	if (err != TS_OK)
		return err;
	snprintf(in.name, sizeof(in.name), "%s", json_string_value(json_object_get(c, "name")));
	pid = json_object_get(c, "pid");
	start = json_object_get(c, "start_time");
	uid = json_object_get(c, "uid");
	gid = json_object_get(c, "gid");
	if (!json_is_integer(pid) || json_integer_value(pid) <= 0 ||
	    json_integer_value(pid) > 4194304 || !json_is_integer(start) ||
	    json_integer_value(start) < 0 || !json_is_integer(uid) || json_integer_value(uid) < 0 ||
	    !json_is_integer(gid) || json_integer_value(gid) < 0 ||
	    !opt_str(c, "exe_sha256", in.p.exe_sha256, sizeof(in.p.exe_sha256), true) ||
	    !opt_str(c, "cgroup", in.p.cgroup, sizeof(in.p.cgroup), false) ||
	    !opt_str(c, "container_id", in.p.container_id, sizeof(in.p.container_id), false)) {
		json_decref(c);
		return TS_E_PSA_INVALID_ARGUMENT;
	}
	in.p.pid = (pid_t)json_integer_value(pid);
	in.p.start_time = (uint64_t)json_integer_value(start);
	in.p.uid = (uid_t)json_integer_value(uid);
	in.p.gid = (gid_t)json_integer_value(gid);
	json_decref(c);
	def = def_find(d, in.name);
	if (def == NULL)
		return TS_E_PSA_DOES_NOT_EXIST;
	/* The proofs must satisfy the definition. */
	if ((def->has_uid && def->uid != in.p.uid) || (def->has_gid && def->gid != in.p.gid) ||
	    (def->exe_sha256[0] && strcmp(def->exe_sha256, in.p.exe_sha256) != 0) ||
	    (def->container_id[0] && strcmp(def->container_id, in.p.container_id) != 0)) {
		ts_warn("proofs for \"%s\" (pid %ld) do not match its definition", in.name,
		        (long)in.p.pid);
		return TS_E_PSA_NOT_PERMITTED;
	}
	/* And the process must be the one proven, alive now. */
	if (proc_start_time(in.p.pid, &live) != TS_OK || live != in.p.start_time)
		return TS_E_PSA_DOES_NOT_EXIST;
	remove_instances(d, in.name, in.p.pid);
	if (d->n_insts >= MAX_INSTANCES)
		return TS_E_PSA_INSUFFICIENT_MEMORY;
	{
		struct instance *grown = realloc(d->insts, (d->n_insts + 1) * sizeof(*grown));

		if (grown == NULL)
			return TS_E_NOMEM;
		d->insts = grown;
	}
	d->insts[d->n_insts++] = in;
	ts_info("client \"%s\" proven: pid %ld, uid %ld", in.name, (long)in.p.pid, (long)in.p.uid);
	return TS_OK;
}

static enum ts_err remove_client(struct idp *d, const char *jws)
{
	json_t *c;
	const json_t *pid;
	char name[129];
	struct client_def *def;
	enum ts_err err = statement(d, jws, "removal", &c);

	if (err != TS_OK)
		return err;
	snprintf(name, sizeof(name), "%s", json_string_value(json_object_get(c, "name")));
	pid = json_object_get(c, "pid");
	if (pid != NULL && (!json_is_integer(pid) || json_integer_value(pid) <= 0)) {
		json_decref(c);
		return TS_E_PSA_INVALID_ARGUMENT;
	}
	def = def_find(d, name);
	if (def == NULL) {
		json_decref(c);
		return TS_E_PSA_DOES_NOT_EXIST;
	}
	if (pid != NULL) {
		remove_instances(d, name, (pid_t)json_integer_value(pid));
		ts_info("client \"%s\" pid %ld stopped", name, (long)json_integer_value(pid));
	} else {
		remove_instances(d, name, 0);
		*def = d->defs[--d->n_defs];
		ts_info("client \"%s\" removed", name);
	}
	json_decref(c);
	return TS_OK;
}

/*
 * The proven instance the caller is, or descends from. TS_OK and *ret_in;
 * TS_E_AUTHENTICATION_ERROR when the peer's pid is gone or was reused (its
 * process started after the connection was accepted);
 * TS_E_PSA_DOES_NOT_EXIST when no proven instance is found.
 */
static enum ts_err match_caller(struct idp *d, const struct auth_peer *peer,
                                const struct instance **ret_in)
{
	pid_t pid = peer->pid;

	for (int depth = 0; depth < MAX_ANCESTORS && pid > 1; depth++) {
		uint64_t start;
		pid_t ppid = 0;

		if (proc_stat(pid, &ppid, &start) != TS_OK)
			return depth == 0 ? TS_E_AUTHENTICATION_ERROR : TS_E_PSA_DOES_NOT_EXIST;
		if (depth == 0 && peer->accept_ticks != 0 && start > peer->accept_ticks + 1)
			return TS_E_AUTHENTICATION_ERROR;
		for (size_t i = 0; i < d->n_insts; i++) {
			const struct instance *in = &d->insts[i];

			if (in->p.pid == pid && in->p.start_time == start) {
				*ret_in = in;
				return TS_OK;
			}
		}
		pid = ppid;
	}
	return TS_E_PSA_DOES_NOT_EXIST;
}

static enum ts_err get_token(struct idp *d, const struct auth_peer *peer, uint8_t **ret_body,
                             size_t *ret_len)
{
	const struct instance *in;
	GetToken__Result r = GET_TOKEN__RESULT__INIT;
	char sub[512], jti[33], *tok = NULL;
	uint8_t rnd[16];
	int64_t now = now_s();
	json_t *claims;
	enum ts_err err;

	if (!peer->valid)
		return TS_E_AUTHENTICATION_ERROR;
	err = match_caller(d, peer, &in);
	if (err == TS_E_PSA_DOES_NOT_EXIST)
		ts_info("GetToken from pid %ld (uid %ld): not a proven client", (long)peer->pid,
		        (long)peer->uid);
	if (err != TS_OK)
		return err;
	/* The caller runs as the proven user and group. */
	if (peer->uid != in->p.uid || peer->gid != in->p.gid)
		return TS_E_PSA_NOT_PERMITTED;
	/* The proven process itself must still be where it was proven to be. */
	if (in->p.pid == peer->pid && in->p.cgroup[0] != '\0') {
		char now[sizeof(in->p.cgroup)];

		if (proc_cgroup(peer->pid, now, sizeof(now)) != TS_OK ||
		    strcmp(now, in->p.cgroup) != 0)
			return TS_E_PSA_NOT_PERMITTED;
	}
	if (!d->tesserad.in_sync)
		return TS_E_PSA_BAD_STATE; /* a token tesserad cannot verify yet */
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return TS_E_PSA_INSUFFICIENT_ENTROPY;
	ts_hex(rnd, sizeof(rnd), jti);
	snprintf(sub, sizeof(sub), "spiffe://%s/%s", d->trust_domain, in->name);
	claims = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:s}", "sub", sub, "iss", d->issuer,
	                   "aud", d->audience, "iat", (json_int_t)now, "nbf", (json_int_t)now,
	                   "exp", (json_int_t)(now + d->token_lifetime_s), "jti", jti);
	if (claims == NULL)
		return TS_E_NOMEM;
	err = pki_sign_claims(d->tesserad.inter, claims, &tok);
	json_decref(claims);
	if (err != TS_OK)
		return err;
	r.token = tok;
	r.expires_at = (uint64_t)(now + d->token_lifetime_s);
	r.identity = sub;
	err = wire_pack(&r.base, ret_body, ret_len);
	ts_free_secret(tok, strlen(tok));
	return err;
}

/*
 * AddClient, ProveClient and RemoveClient: each body holds one string (field
 * 1), a JWS from the orchestrator, handed to fn. Only the orchestrator's own
 * user reports clients (their signatures are checked as well).
 */
static enum ts_err orchestrator_statement(struct idp *d, const struct auth_peer *peer,
                                          const ProtobufCMessageDescriptor *desc,
                                          enum ts_err (*fn)(struct idp *, const char *),
                                          const uint8_t *body, size_t len)
{
	const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field(desc, 1);
	struct wire_pb_alloc a;
	ProtobufCMessage *m;
	enum ts_err err;

	if (!peer->valid || peer->uid != d->orch_uid)
		return TS_E_PSA_NOT_PERMITTED;
	if (!trust_store_has_root(d->orch))
		return TS_E_PSA_BAD_STATE;
	m = wire_decode(desc, body, len, &a);
	if (m == NULL)
		return TS_E_DESERIALIZING_BODY_FAILED;
	err = fn(d, *(const char *const *)((const char *)m + f->offset));
	wire_decoded_free(m, &a);
	return err;
}

static enum ts_err handle(void *ctx, const struct auth_peer *peer, uint32_t opcode,
                          const uint8_t *body, size_t len, uint8_t **ret_body, size_t *ret_len)
{
	struct idp *d = ctx;
	struct wire_pb_alloc a;
	enum ts_err err = TS_E_DESERIALIZING_BODY_FAILED;

	switch (opcode) {
	case WIRE_OP_SHARE_TRUST_BUNDLE: {
		ShareTrustBundle__Operation *op = (ShareTrustBundle__Operation *)wire_decode(
		        &share_trust_bundle__operation__descriptor, body, len, &a);

		if (op != NULL) {
			err = trust_store_share(d->orch, peer, op->certificate.data,
			                        op->certificate.len, op->root);
			wire_decoded_free(&op->base, &a);
		}
		return err;
	}
	case WIRE_OP_ADD_CLIENT:
		return orchestrator_statement(d, peer, &add_client__operation__descriptor,
		                              add_client, body, len);
	case WIRE_OP_PROVE_CLIENT:
		return orchestrator_statement(d, peer, &prove_client__operation__descriptor,
		                              prove_client, body, len);
	case WIRE_OP_REMOVE_CLIENT:
		return orchestrator_statement(d, peer, &remove_client__operation__descriptor,
		                              remove_client, body, len);
	case WIRE_OP_GET_TOKEN: {
		ProtobufCMessage *op =
		        wire_decode(&get_token__operation__descriptor, body, len, &a);

		if (op == NULL)
			return err;
		wire_decoded_free(op, &a);
		return get_token(d, peer, ret_body, ret_len);
	}
	default:
		return TS_E_PSA_NOT_SUPPORTED;
	}
}

/* Forget instances whose process has gone (pid reuse cannot match them, but
 * they would fill the table). */
static void prune(struct idp *d)
{
	size_t k = 0;

	for (size_t i = 0; i < d->n_insts; i++) {
		uint64_t start;

		if (proc_start_time(d->insts[i].p.pid, &start) == TS_OK &&
		    start == d->insts[i].p.start_time)
			d->insts[k++] = d->insts[i];
	}
	d->n_insts = k;
}

/* Share what tesserad lacks (our root and current intermediate at start-up,
 * a new intermediate when due), then forget exited clients. */
static void on_tick(void *ctx)
{
	struct idp *d = ctx;

	sharer_tick(&d->tesserad);
	prune(d);
}

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: tessera-idp [options]\n"
	        "  --socket PATH            where clients and the orchestrator reach us\n"
	        "                           (default /run/tessera/idp.sock)\n"
	        "  --tesserad unix:PATH     the daemon that trusts us (default\n"
	        "                           unix:/run/tessera/api.sock)\n"
	        "  --orchestrator-user NAME the user whose trust bundles we accept\n"
	        "  --orchestrator-uid UID   the same by number (default 0)\n"
	        "  --trust-domain NAME      identities are spiffe://NAME/<client>\n"
	        "                           (default tessera.local)\n"
	        "  --issuer S --audience S  token iss and aud (default tessera-idp, tesserad)\n"
	        "  --token-lifetime SEC     (default 300)\n"
	        "  --rotate SEC             intermediate rotation period (default 3600)\n"
	        "  --check-interval-ms MS   how often tesserad's trust is checked (default 2000)\n"
	        "  --log-level LEVEL        error, warn, info, debug\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	        {"socket", required_argument, NULL, 's'},
	        {"tesserad", required_argument, NULL, 't'},
	        {"orchestrator-user", required_argument, NULL, 'U'},
	        {"orchestrator-uid", required_argument, NULL, 'u'},
	        {"trust-domain", required_argument, NULL, 'd'},
	        {"issuer", required_argument, NULL, 'i'},
	        {"audience", required_argument, NULL, 'a'},
	        {"token-lifetime", required_argument, NULL, 'l'},
	        {"rotate", required_argument, NULL, 'r'},
	        {"check-interval-ms", required_argument, NULL, 'c'},
	        {"log-level", required_argument, NULL, 'L'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	struct idp d = {0};
	const char *socket_path = "/run/tessera/idp.sock", *tesserad = "unix:/run/tessera/api.sock";
	uint64_t orch_uid = 0, lifetime = 300, rotate = 3600, check_ms = 2000;
	int ch;

	d.trust_domain = "tessera.local";
	d.issuer = "tessera-idp";
	d.audience = "tesserad";
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 's':
			socket_path = optarg;
			break;
		case 't':
			tesserad = optarg;
			break;
		case 'U': {
			struct passwd *pw = getpwnam(optarg);

			if (pw == NULL) {
				fprintf(stderr, "tessera-idp: --orchestrator-user: no user %s\n",
				        optarg);
				return 2;
			}
			orch_uid = pw->pw_uid;
			break;
		}
		case 'u':
		case 'l':
		case 'r':
		case 'c': {
			uint64_t *dst = ch == 'u'   ? &orch_uid
			                : ch == 'l' ? &lifetime
			                : ch == 'r' ? &rotate
			                            : &check_ms;
			uint64_t max = ch == 'u' ? 4294967294u : 86400000u;

			if (ts_parse_u64(optarg, ch == 'u' ? 0 : 1, max, dst) != 0) {
				fprintf(stderr, "tessera-idp: --%s: expected a number, got %s\n",
				        ch == 'u'   ? "orchestrator-uid"
				        : ch == 'l' ? "token-lifetime"
				        : ch == 'r' ? "rotate"
				                    : "check-interval-ms",
				        optarg);
				return 2;
			}
			break;
		}
		case 'd':
			d.trust_domain = optarg;
			break;
		case 'i':
			d.issuer = optarg;
			break;
		case 'a':
			d.audience = optarg;
			break;
		case 'L': {
			enum ts_log_level lv;

			if (ts_log_level_parse(optarg, &lv) != 0) {
				fprintf(stderr, "tessera-idp: --log-level: unknown level %s\n",
				        optarg);
				return 2;
			}
			ts_log_set_level(lv);
			break;
		}
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc || !client_name_ok(d.trust_domain)) {
		usage(stderr);
		return 2;
	}
	identity_harden();
	d.token_lifetime_s = (int64_t)lifetime;
	d.orch_uid = (uid_t)orch_uid;
	d.orch_policy.audience = "tessera-idp";
	d.orch_policy.skew_s = 30;
	if (trust_store_new((uid_t)orch_uid, (gid_t)-1, &d.orch) != TS_OK ||
	    sharer_init(&d.tesserad, tesserad, "tesserad", "tessera-idp", (int64_t)rotate) !=
	            TS_OK) {
		ts_error("cannot make our keys");
		return 1;
	}
	ts_info("tessera-idp: trusting uid %llu; tesserad at %s", (unsigned long long)orch_uid,
	        tesserad);
	if (idsrv_serve(socket_path, 0666, idp_opcodes, TS_ARRAY_LEN(idp_opcodes), handle, on_tick,
	                check_ms, &d) != 0)
		return 1;
	sharer_fini(&d.tesserad);
	trust_store_free(d.orch);
	free(d.defs);
	free(d.insts);
	return 0;
}
