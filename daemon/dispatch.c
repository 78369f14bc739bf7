/*
 * The worker-thread half of the request path: authentication, provider and
 * admin checks, body decoding and the operation, in Parsec's order (steps 8
 * to 14 of parsec-facts 1.4).
 */
#include "daemon/daemon-priv.h"

#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/secmem.h"

#include "delete_client.pb-c.h"
#include "list_authenticators.pb-c.h"
#include "list_clients.pb-c.h"
#include "list_keys.pb-c.h"
#include "list_opcodes.pb-c.h"
#include "list_providers.pb-c.h"
#include "ping.pb-c.h"
#include "share_trust_bundle.pb-c.h"

typedef enum ts_err (*core_fn)(const struct core_ctx *c, uint8_t **ret_body, size_t *ret_len);

struct core_entry {
	uint32_t opcode;
	const ProtobufCMessageDescriptor *desc; /* the Operation message */
	core_fn fn;
};

static const struct core_entry core_ops[] = {
        {WIRE_OP_PING, &ping__operation__descriptor, core_ping},
        {WIRE_OP_LIST_PROVIDERS, &list_providers__operation__descriptor, core_list_providers},
        {WIRE_OP_LIST_OPCODES, &list_opcodes__operation__descriptor, core_list_opcodes},
        {WIRE_OP_LIST_AUTHENTICATORS, &list_authenticators__operation__descriptor,
         core_list_authenticators},
        {WIRE_OP_LIST_KEYS, &list_keys__operation__descriptor, core_list_keys},
        {WIRE_OP_LIST_CLIENTS, &list_clients__operation__descriptor, core_list_clients},
        {WIRE_OP_DELETE_CLIENT, &delete_client__operation__descriptor, core_delete_client},
        {WIRE_OP_SHARE_TRUST_BUNDLE, &share_trust_bundle__operation__descriptor,
         core_share_trust_bundle},
};

size_t body_alloc_budget(size_t body_len)
{
	/* protobuf-c sizes arrays from the elements actually present, so the
	 * memory a body can make it allocate grows with the body's length. */
	return 16384 + body_len * 48;
}

ProtobufCMessage *decode_body(const ProtobufCMessageDescriptor *desc, const uint8_t *body,
                              size_t body_len, struct wire_pb_alloc *alloc)
{
	wire_pb_alloc_init(alloc, body_alloc_budget(body_len));
	return protobuf_c_message_unpack(desc, &alloc->base, body_len, body);
}

void free_body(ProtobufCMessage *m, struct wire_pb_alloc *alloc)
{
	protobuf_c_message_free_unpacked(m, &alloc->base);
}

void dispatch_reply_free(struct dispatch_reply *r)
{
	if (r == NULL)
		return;
	free(r->buf);
	r->buf = NULL;
	r->len = 0;
}

/* When even a header cannot be allocated, answer from static storage. */
static uint8_t oom_reply[WIRE_HEADER_LEN];

static void reply_build(const struct wire_header *req, enum ts_err err, const uint8_t *body,
                        size_t body_len, struct dispatch_reply *ret)
{
	struct wire_header h;
	uint16_t status = ts_err_wire_status(err);

	if (status != 0)
		body_len = 0; /* errors carry no body */
	if (req != NULL)
		wire_header_response(req, status, (uint32_t)body_len, &h);
	else
		wire_header_default_response(status, &h);
	ret->buf = malloc(WIRE_HEADER_LEN + body_len);
	if (ret->buf == NULL) {
		/* Rare enough that sharing one static buffer between threads is
		 * harmless: every writer stores the same bytes. */
		if (req != NULL)
			wire_header_response(req, ts_err_wire_status(TS_E_NOMEM), 0, &h);
		else
			wire_header_default_response(ts_err_wire_status(TS_E_NOMEM), &h);
		wire_header_encode(&h, oom_reply);
		ret->buf = NULL;
		ret->len = WIRE_HEADER_LEN;
		return;
	}
	wire_header_encode(&h, ret->buf);
	if (body_len > 0)
		memcpy(ret->buf + WIRE_HEADER_LEN, body, body_len);
	ret->len = WIRE_HEADER_LEN + body_len;
}

const uint8_t *dispatch_reply_bytes(const struct dispatch_reply *r)
{
	return r->buf != NULL ? r->buf : oom_reply;
}

void reply_status(const struct wire_header *req, enum ts_err err, struct dispatch_reply *ret)
{
	reply_build(req, err, NULL, 0, ret);
}

static const struct core_entry *core_find(uint32_t opcode)
{
	for (size_t i = 0; i < sizeof(core_ops) / sizeof(core_ops[0]); i++)
		if (core_ops[i].opcode == opcode)
			return &core_ops[i];
	return NULL;
}

static enum ts_err run_core(struct svc_state *st, const struct wire_opcode_info *op,
                            const struct auth_identity *id, const struct auth_peer *peer,
                            const uint8_t *body, size_t body_len, uint8_t **ret_body,
                            size_t *ret_len)
{
	const struct core_entry *e = core_find(op->opcode);
	struct wire_pb_alloc alloc;
	ProtobufCMessage *msg;
	struct core_ctx c = {.st = st, .id = id, .peer = peer};
	enum ts_err err;

	if (e == NULL)
		return TS_E_PSA_NOT_SUPPORTED;
	/* Step 12: the body must decode even when the operation ignores it. */
	msg = decode_body(e->desc, body, body_len, &alloc);
	if (msg == NULL)
		return TS_E_DESERIALIZING_BODY_FAILED;
	/* Step 13. */
	if (op->needs_identity && id->name == NULL) {
		err = TS_E_NOT_AUTHENTICATED;
	} else {
		c.msg = msg;
		err = e->fn(&c, ret_body, ret_len);
	}
	free_body(msg, &alloc);
	return err;
}

static _Thread_local bool on_loop_now;

bool dispatch_on_loop(void)
{
	return on_loop_now;
}

bool dispatch_request(struct svc_state *st, const struct auth_peer *peer,
                      const struct wire_header *h, const uint8_t *payload, bool on_loop,
                      struct dispatch_reply *ret_reply)
{
	const struct wire_opcode_info *op = wire_opcode_find(h->opcode);
	const uint8_t *body = payload, *auth = payload + h->body_len;
	struct auth_identity id = {0};
	uint8_t *out = NULL;
	size_t out_len = 0;
	enum ts_err err;

	if (op == NULL) { /* the framing layer checked this already */
		reply_status(NULL, TS_E_OPCODE_DOES_NOT_EXIST, ret_reply);
		return true;
	}
	/* Step 8: authentication picks the authenticator by the request's type. */
	err = auth_set_authenticate(st->auth, h->auth_type, auth, h->auth_len, peer, &id);
	if (err != TS_OK) {
		if (st->cfg->core.log_error_details)
			ts_info("opcode %s: authentication (%s) failed: %s", op->name,
			        wire_auth_type_name(h->auth_type), ts_strerror(err));
		goto out;
	}
	/* Step 9: a known provider ID that is not configured. */
	if (h->provider != WIRE_PROVIDER_CORE && svc_state_provider(st, h->provider) == NULL) {
		err = TS_E_PROVIDER_NOT_REGISTERED;
		goto out;
	}
	/* Step 10: core opcodes go to the core, crypto opcodes to a provider. */
	if ((h->provider == WIRE_PROVIDER_CORE) != (op->cls == WIRE_CLASS_CORE)) {
		err = TS_E_PSA_NOT_SUPPORTED;
		goto out;
	}
	/* Step 11: admin operations are checked before the body is decoded. */
	if (op->admin) {
		if (id.name == NULL) {
			err = TS_E_NOT_AUTHENTICATED;
			goto out;
		}
		if (!id.is_admin) {
			err = TS_E_ADMIN_OPERATION;
			goto out;
		}
	}
	/* Steps 12-14. */
	if (h->provider == WIRE_PROVIDER_CORE) {
		err = run_core(st, op, &id, peer, body, h->body_len, &out, &out_len);
	} else {
		on_loop_now = on_loop;
		err = crypto_dispatch(st, svc_state_provider(st, h->provider), &id, op->opcode,
		                      body, h->body_len, &out, &out_len);
		on_loop_now = false;
		if (err == TS_E_ON_WORKER) {
			ts_free_secret(out, out_len);
			auth_identity_clear(&id);
			return false;
		}
	}
	if (err != TS_OK && st->cfg->core.log_error_details)
		ts_info("opcode %s on provider %u: %s", op->name, h->provider, ts_strerror(err));
out:
	reply_build(h, err, out, out_len, ret_reply);
	/* Reply bodies can hold exported keys or plaintext. */
	ts_free_secret(out, out_len);
	auth_identity_clear(&id);
	return true;
}
