/*
 * The framed server of tessera-idp and tessera-orchestrator, on the front
 * end (front/): one event loop, persistent connections on request, every
 * request answered on the loop thread (their operations are a signature or
 * a table look-up). Ping and the List operations are answered here; the
 * rest goes to the program's handler with the caller's SO_PEERCRED
 * credentials.
 */
#include "identity/identity-priv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "front/front.h"

#include "list_authenticators.pb-c.h"
#include "list_opcodes.pb-c.h"
#include "list_providers.pb-c.h"
#include "ping.pb-c.h"

#define BODY_LIMIT      65536u
#define DEADLINE_MS     5000u  /* a whole request, once its first byte arrived */
#define IDLE_MS         60000u /* before the first request and between requests */
#define MAX_CONNECTIONS 512u
#define MAX_PER_UID     64u /* one user cannot take every connection */

struct idsrv {
	struct front *front;
	idsrv_fn fn;
	void *ctx;
	const uint32_t *opcodes; /* what ListOpcodes reports */
	size_t n_opcodes;
	uv_timer_t tick;
	bool tick_open;
	void (*tick_fn)(void *ctx);
};

/* The body of a built-in operation must decode even when it is ignored
 * (Parsec's step 12), through the one bounded decoder. */
static bool body_decodes(const struct wire_header *h, const uint8_t *body)
{
	const ProtobufCMessageDescriptor *desc =
	        h->opcode == WIRE_OP_PING             ? &ping__operation__descriptor
	        : h->opcode == WIRE_OP_LIST_PROVIDERS ? &list_providers__operation__descriptor
	        : h->opcode == WIRE_OP_LIST_AUTHENTICATORS
	                ? &list_authenticators__operation__descriptor
	                : &list_opcodes__operation__descriptor;
	struct wire_pb_alloc a;
	ProtobufCMessage *m = wire_decode(desc, body, h->body_len, &a);

	wire_decoded_free(m, &a);
	return m != NULL;
}

static enum ts_err builtin(struct idsrv *s, const struct wire_header *h, const uint8_t *body,
                           uint8_t **ret_body, size_t *ret_len)
{
	if (!body_decodes(h, body))
		return TS_E_DESERIALIZING_BODY_FAILED;
	if (h->opcode == WIRE_OP_PING) {
		Ping__Result r = PING__RESULT__INIT;

		r.wire_protocol_version_maj = 1;
		r.wire_protocol_version_min = 0;
		return wire_pack(&r.base, ret_body, ret_len);
	} else if (h->opcode == WIRE_OP_LIST_PROVIDERS) {
		/* Only the core: these services run no crypto provider. */
		ListProviders__Result r = LIST_PROVIDERS__RESULT__INIT;
		ListProviders__ProviderInfo core = LIST_PROVIDERS__PROVIDER_INFO__INIT, *list[1];
		uint32_t ver[3];

		ts_version(ver);
		core.uuid = WIRE_CORE_PROVIDER_UUID;
		core.description = "Tessera identity service core";
		core.vendor = "Tessera";
		core.version_maj = ver[0];
		core.version_min = ver[1];
		core.version_rev = ver[2];
		list[0] = &core;
		r.n_providers = 1;
		r.providers = list;
		return wire_pack(&r.base, ret_body, ret_len);
	} else if (h->opcode == WIRE_OP_LIST_AUTHENTICATORS) {
		/* Callers are known by their peer credentials, not by auth bytes. */
		ListAuthenticators__Result r = LIST_AUTHENTICATORS__RESULT__INIT;

		return wire_pack(&r.base, ret_body, ret_len);
	} else {
		ListOpcodes__Result r = LIST_OPCODES__RESULT__INIT;

		r.n_opcodes = s->n_opcodes;
		r.opcodes = (uint32_t *)s->opcodes;
		return wire_pack(&r.base, ret_body, ret_len);
	}
}

/* When even a header cannot be allocated, answer from static storage. */
static uint8_t oom_reply[WIRE_HEADER_LEN];

/* The response to h: err's status, and the body when err is TS_OK. */
static void build_reply(const struct wire_header *h, enum ts_err err, const uint8_t *body,
                        size_t body_len, struct front_reply *ret)
{
	struct wire_header rh;
	uint16_t status = ts_err_wire_status(err);
	uint8_t *buf;

	if (status != 0)
		body_len = 0; /* errors carry no body */
	buf = malloc(WIRE_HEADER_LEN + body_len);
	if (buf == NULL) {
		wire_header_response(h, ts_err_wire_status(TS_E_NOMEM), 0, &rh);
		wire_header_encode(&rh, oom_reply);
		*ret = (struct front_reply){
		        .data = oom_reply, .len = WIRE_HEADER_LEN, .close = true};
		return;
	}
	wire_header_response(h, status, (uint32_t)body_len, &rh);
	wire_header_encode(&rh, buf);
	if (body_len > 0)
		memcpy(buf + WIRE_HEADER_LEN, body, body_len);
	*ret = (struct front_reply){.data = buf, .len = WIRE_HEADER_LEN + body_len, .owned = buf};
}

/* A whole request: answered at once. The front sets the keep-open flag on
 * the response when the request asked for it. */
static enum front_next on_request(void *ctx, struct front_conn *c, const struct wire_header *h,
                                  const uint8_t *payload, struct front_reply *ret)
{
	struct idsrv *s = ctx;
	uint8_t *out = NULL;
	size_t out_len = 0;
	enum ts_err err = wire_check_fields(h);

	if (err == TS_OK && h->provider != WIRE_PROVIDER_CORE)
		err = TS_E_PROVIDER_NOT_REGISTERED;
	if (err == TS_OK) {
		if (h->opcode == WIRE_OP_PING || h->opcode == WIRE_OP_LIST_OPCODES ||
		    h->opcode == WIRE_OP_LIST_PROVIDERS || h->opcode == WIRE_OP_LIST_AUTHENTICATORS)
			err = builtin(s, h, payload, &out, &out_len);
		else
			err = s->fn(s->ctx, front_conn_peer(c), h->opcode, payload, h->body_len,
			            &out, &out_len);
	}
	build_reply(h, err, out, out_len, ret);
	if (out != NULL)
		ts_free_secret(out, out_len); /* tokens */
	return FRONT_ANSWER;
}

static void on_tick(uv_timer_t *t)
{
	struct idsrv *s = t->data;

	s->tick_fn(s->ctx);
}

/* A stop signal: the front drains; the periodic work ends now. */
static void on_stopping(void *ctx, const char *why)
{
	struct idsrv *s = ctx;

	ts_info("%s: stopping", why);
	if (s->tick_open) {
		uv_timer_stop(&s->tick);
		uv_close((uv_handle_t *)&s->tick, NULL);
		s->tick_open = false;
	}
}

static const struct front_ops idsrv_ops = {
        .request = on_request,
        .stopping = on_stopping,
};

int idsrv_serve(const char *path, unsigned mode, const uint32_t *opcodes, size_t n_opcodes,
                idsrv_fn fn, void (*tick)(void *ctx), uint64_t tick_ms, void *ctx)
{
	struct idsrv s = {
	        .fn = fn, .ctx = ctx, .opcodes = opcodes, .n_opcodes = n_opcodes, .tick_fn = tick};
	const struct front_config cfg = {.program = program_invocation_short_name,
	                                 .n_loops = 1,
	                                 .limits = {.body_limit = BODY_LIMIT,
	                                            .timeout_ms = DEADLINE_MS,
	                                            .idle_ms = IDLE_MS,
	                                            .max_conns = MAX_CONNECTIONS,
	                                            .max_per_uid = MAX_PER_UID}};
	/* Under socket activation, path, mode and owner are the unit's. */
	const struct front_socket sock = {.path = path, .mode = mode};
	char err[512];
	int rc = -1;

	/* Stop signals are handled from before the socket exists. */
	if (front_new(&cfg, &idsrv_ops, &s, &s.front) != TS_OK) {
		ts_error("cannot listen on %s: out of memory", path);
		return -1;
	}
	if (front_listen(s.front, &sock, err, sizeof(err)) != 0) {
		ts_error("cannot listen on %s: %s", path, err);
		goto out;
	}
	ts_info("listening on %s", path);
	uv_timer_init(front_loop_uv(front_loop_at(s.front, 0)), &s.tick);
	s.tick.data = &s;
	s.tick_open = true;
	tick(ctx);
	uv_timer_start(&s.tick, on_tick, tick_ms, tick_ms);
	rc = front_run(s.front);
out:
	front_free(s.front); /* removes the socket file it made */
	return rc;
}
