/*
 * The request path after framing, in Parsec's order (steps 8 to 14 of
 * parsec-facts 1.4): authentication, provider, class and admin checks, the
 * body decoded once with its contract, the identity, the key loaded once,
 * the policy checked once; then where it runs is decided, before anything
 * runs; then the provider; then the reply.
 *
 * An event loop calls request_prepare (cheap: authentication is cached,
 * decoding is bounded by LOOP_BODY_MAX, the key usually comes from the key
 * store's cache) and either runs the request at once or hands it, prepared,
 * to a worker, which picks it up where it stopped. Nothing here touches a
 * libuv handle or depends on the thread it runs on.
 */
#include "daemon/daemon-priv.h"

#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/secmem.h"
#include "keystore/keystore.h"

/* Larger bodies are decoded on a worker: an event loop serves many
 * connections and decodes only what takes microseconds. */
#define LOOP_BODY_MAX 65536

enum stage {
	STAGE_NEW,      /* framed, nothing checked */
	STAGE_CHECKED,  /* steps 8-11 passed */
	STAGE_PREPARED, /* decoded, identity and key and policy done: ready to run */
	STAGE_DONE,     /* r->err and r->out are the answer */
};

void dispatch_reply_free(struct dispatch_reply *r)
{
	if (r == NULL)
		return;
	ts_free_secret(r->buf, r->len); /* it may hold an exported key or plaintext */
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

void request_init(struct request *r, struct svc_state *st, const struct auth_peer *peer,
                  const struct wire_header *h, const uint8_t *payload)
{
	memset(r, 0, sizeof(*r));
	r->st = st;
	r->peer = peer;
	r->h = *h;
	r->payload = payload;
	r->stage = STAGE_NEW;
}

static enum req_next finish(struct request *r, enum ts_err err)
{
	r->err = err;
	r->stage = STAGE_DONE;
	return REQ_REPLY;
}

/* Steps 8-11, and whether the operation is served at all. */
static enum ts_err check(struct request *r)
{
	const struct svc_state *st = r->st;
	const struct wire_opcode_info *wop = wire_opcode_find(r->h.opcode);
	enum ts_err err;

	if (wop == NULL) /* the framing layer checked this already */
		return TS_E_OPCODE_DOES_NOT_EXIST;
	/* Step 8: the request's auth type picks the authenticator. */
	err = auth_set_authenticate(st->auth, r->h.auth_type, r->payload + r->h.body_len,
	                            r->h.auth_len, r->peer, &r->id);
	if (err != TS_OK) {
		if (st->cfg->core.log_error_details)
			ts_info("opcode %s: authentication (%s) failed: %s", wop->name,
			        wire_auth_type_name(r->h.auth_type), ts_strerror(err));
		return err;
	}
	/* Step 9: a known provider ID that is not configured. */
	if (r->h.provider != WIRE_PROVIDER_CORE) {
		r->prov = svc_providers_by_wire_id(st->provs, r->h.provider);
		if (r->prov == NULL)
			return r->h.provider > WIRE_PROVIDER_ID_MAX ? TS_E_PROVIDER_DOES_NOT_EXIST
			                                            : TS_E_PROVIDER_NOT_REGISTERED;
	}
	/* Step 10: core opcodes go to the core, crypto opcodes to a provider. */
	if ((r->h.provider == WIRE_PROVIDER_CORE) != (wop->cls == WIRE_CLASS_CORE))
		return TS_E_PSA_NOT_SUPPORTED;
	/* Step 11: admin operations are checked before the body is decoded. */
	if (wop->admin) {
		if (r->id.name == NULL)
			return TS_E_NOT_AUTHENTICATED;
		if (!r->id.is_admin)
			return TS_E_ADMIN_OPERATION;
	}
	r->op = op_find(r->h.opcode);
	if (r->op == NULL || (r->prov != NULL && !op_served(r->op, r->prov)))
		return TS_E_PSA_NOT_SUPPORTED;
	/* What the instance's transport cannot carry is refused before any
	 * call, with the status PSA's client gives for it. */
	if (r->prov != NULL && r->prov->max_payload != 0 && r->h.body_len > r->prov->max_payload)
		return TS_E_PSA_INSUFFICIENT_MEMORY;
	return TS_OK;
}

/*
 * The one place where a volatile name (".volatile/<rest>", the PSA C API's
 * connection-scoped keys) becomes the session's name in the key store, for
 * the name the contract found: a creation must say volatile_key exactly
 * when it uses such a name, and is recorded in the session (before it runs,
 * so nothing it makes can outlive the connection unrecorded). Without a
 * session a volatile key exists nowhere and none can be made.
 */
static enum ts_err map_key_name(struct request *r)
{
	bool vol = session_name_is_volatile(r->args.key_name);
	const char *name;
	enum ts_err err = TS_OK;

	if (r->op->key == OPK_CREATE && vol != r->args.volatile_key)
		return TS_E_PSA_INVALID_ARGUMENT;
	if (!vol)
		return TS_OK;
	name = session_key_name(r, r->args.key_name, &err);
	if (name == NULL)
		return r->op->key == OPK_CREATE && err == TS_E_PSA_DOES_NOT_EXIST
		               ? TS_E_PSA_NOT_SUPPORTED
		               : err;
	r->args.key_name = name;
	r->key_volatile = true;
	if (r->op->key == OPK_CREATE) {
		if (r->id.name == NULL) /* step 13 refuses it next */
			return TS_OK;
		err = session_add_vkey(r->sess, r->prov, r->id.auth_type, r->id.name, name,
		                       &r->vkey_added);
	}
	return err;
}

/* Step 12 onwards, up to the call. */
static enum ts_err prepare(struct request *r)
{
	const struct op_desc *op = r->op;
	enum ts_err err;

	/* Step 12: the body must decode even when the operation ignores it. */
	r->msg = wire_decode(op->body, r->payload, r->h.body_len, &r->alloc);
	if (r->msg == NULL)
		return TS_E_DESERIALIZING_BODY_FAILED;
	err = op->contract(r->msg, &r->args);
	if (err != TS_OK)
		return err;
	if (r->args.key_name != NULL) {
		/* "a\0b" would be stored as "a": refuse it rather than lose the rest. */
		if (op->name_field != 0xFF &&
		    wire_string_has_nul(r->payload, r->h.body_len,
		                        op->name_field ? op->name_field : 1))
			return TS_E_INVALID_ENCODING;
		if (strlen(r->args.key_name) > OP_KEY_NAME_MAX)
			return TS_E_PSA_INVALID_ARGUMENT;
	}
	/* Step 13. */
	if (op->wire->needs_identity && r->id.name == NULL)
		return TS_E_NOT_AUTHENTICATED;
	if (r->args.key_name != NULL) {
		err = map_key_name(r);
		if (err != TS_OK)
			return err;
	}
	if (op->key != OPK_NONE && r->st->ks == NULL)
		return TS_E_KEY_INFO_MANAGER_ERROR;
	if (op->key == OPK_USE) {
		err = key_get(r->st, r->prov, &r->id, r->args.key_name, &r->key, &r->key_attrs,
		              &r->pkey);
		if (err != TS_OK)
			return err;
		r->have_key = true;
		return policy_check(op, &r->args, &r->key_attrs, r->st->cfg->core.allow_deprecated);
	}
	if (op->policy != OPP_NONE && r->args.has_attrs)
		return policy_check(op, &r->args, &r->args.attrs,
		                    r->st->cfg->core.allow_deprecated);
	return TS_OK;
}

/* Decided before it runs: the table, then the provider's own word. */
static enum req_next where(const struct request *r)
{
	const struct svc_provider *p = r->prov;

	switch (r->op->where) {
	case OPW_LOOP:
		return REQ_LOOP;
	case OPW_WORKER:
		return REQ_WORKER;
	default:
		/* An instance with a concurrency limit is always scheduled. */
		if (p == NULL || p->max_concurrent != 0 || p->ops->is_short == NULL)
			return REQ_WORKER;
		return p->ops->is_short(p->ctx, r->op->opcode, r->have_key ? &r->key_attrs : NULL)
		               ? REQ_LOOP
		               : REQ_WORKER;
	}
}

enum req_next request_prepare(struct request *r, bool on_loop)
{
	enum ts_err err;

	if (r->stage == STAGE_DONE)
		return REQ_REPLY;
	if (r->stage == STAGE_NEW) {
		err = check(r);
		if (err != TS_OK)
			return finish(r, err);
		r->stage = STAGE_CHECKED;
		if (on_loop && r->h.body_len > LOOP_BODY_MAX)
			return REQ_WORKER;
	}
	if (r->stage == STAGE_CHECKED) {
		err = prepare(r);
		if (err != TS_OK)
			return finish(r, err);
		r->stage = STAGE_PREPARED;
	}
	return on_loop ? where(r) : REQ_WORKER;
}

void request_run(struct request *r)
{
	if (r->stage != STAGE_PREPARED)
		return;
	r->err = r->op->run(r, &r->out, &r->out_len);
	r->stage = STAGE_DONE;
	if (r->key_volatile && r->sess != NULL && r->op->key == OPK_DESTROY && r->err == TS_OK)
		session_forget_vkey(r->sess, r->prov, r->id.auth_type, r->id.name,
		                    r->args.key_name);
}

void request_discard(struct request *r)
{
	/* A volatile key recorded for a creation that did not happen (one made
	 * whose reply then failed exists, and stays the session's). */
	if (r->vkey_added && r->sess != NULL && !r->key_made)
		session_forget_vkey(r->sess, r->prov, r->id.auth_type, r->id.name,
		                    r->args.key_name);
	r->vkey_added = false;
	r->key_made = false;
	/* Reply bodies can hold exported keys or plaintext. */
	ts_free_secret(r->out, r->out_len);
	r->out = NULL;
	wire_decoded_free(r->msg, &r->alloc);
	r->msg = NULL;
	ks_record_clear(&r->key);
	ts_wipe(&r->pkey, sizeof(r->pkey));
	for (size_t i = 0; i < sizeof(r->mapped_names) / sizeof(r->mapped_names[0]); i++) {
		free(r->mapped_names[i]);
		r->mapped_names[i] = NULL;
	}
	auth_identity_clear(&r->id);
}

void request_reply(struct request *r, struct dispatch_reply *ret)
{
	if (r->stage != STAGE_DONE) /* never ran: only a caller's mistake gets here */
		r->err = TS_E_PSA_BAD_STATE;
	if (r->err != TS_OK && r->op != NULL && r->st->cfg->core.log_error_details)
		ts_info("opcode %s on provider %u: %s", r->op->wire->name, r->h.provider,
		        ts_strerror(r->err));
	if (r->err == TS_E_OPCODE_DOES_NOT_EXIST)
		reply_build(NULL, r->err, NULL, 0, ret);
	else
		reply_build(&r->h, r->err, r->out, r->out_len, ret);
	request_discard(r);
}

uint64_t request_tenant(const struct request *r)
{
	/* FNV-1a over the authenticator and the name: collisions only merge
	 * two tenants' queues, they never mix their keys. */
	uint64_t h = 1469598103934665603ull;

	if (r->id.name == NULL) {
		uint32_t uid = r->peer != NULL ? (uint32_t)r->peer->uid : 0;

		for (int i = 0; i < 4; i++)
			h = (h ^ ((uid >> (8 * i)) & 0xff)) * 1099511628211ull;
		return h;
	}
	h = (h ^ (uint64_t)(r->id.auth_type + 1)) * 1099511628211ull;
	for (const char *p = r->id.name; *p != '\0'; p++)
		h = (h ^ (uint8_t)*p) * 1099511628211ull;
	return h;
}

bool request_heavy(const struct request *r)
{
	return r->op != NULL && r->op->policy == OPP_CREATE && r->args.has_attrs &&
	       (r->args.attrs.type == PSA_KT_RSA_PAIR || r->args.attrs.type == PSA_KT_DH_PAIR);
}

static void dispatch(struct svc_state *st, const struct auth_peer *peer,
                     const struct wire_header *h, const uint8_t *payload, bool on_loop,
                     struct session *sess, struct dispatch_reply *ret_reply)
{
	struct request r;
	enum req_next next;

	request_init(&r, st, peer, h, payload);
	r.sess = sess;
	next = request_prepare(&r, on_loop);
	if (next == REQ_WORKER)
		next = request_prepare(&r, false);
	if (next != REQ_REPLY)
		request_run(&r);
	request_reply(&r, ret_reply);
}

void dispatch_request(struct svc_state *st, const struct auth_peer *peer,
                      const struct wire_header *h, const uint8_t *payload, bool on_loop,
                      struct dispatch_reply *ret_reply)
{
	dispatch(st, peer, h, payload, on_loop, NULL, ret_reply);
}

void dispatch_request_session(struct svc_state *st, const struct auth_peer *peer,
                              const struct wire_header *h, const uint8_t *payload,
                              struct session *sess, struct dispatch_reply *ret_reply)
{
	dispatch(st, peer, h, payload, false, sess, ret_reply);
}
