/*
 * The core's request path (daemon/request.c, optable.c, policy.c,
 * keyops.c, cryptops.c) on the controllable test provider: dispatch, the
 * policy order, error mapping, where requests run, the core's fallbacks,
 * crash-safe creation and routing between two instances. A real key store
 * in a temporary directory; no cryptography.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/daemon-priv.h"
#include "keystore/keystore.h"
#include "providers/test/test-provider.h"

static char dir[64];
static struct ks *ks;
static struct svc_providers *provs;
static struct svc_state *st;
static struct tp_state *tpa, *tpb; /* instance "a" (wire ID 1), "b" (0x80) */

static void setup(void)
{
	char db[128], kek[128], err[512];
	struct ts_config *cfg;
	struct svc_provider *v = calloc(2, sizeof(*v));

	strcpy(dir, "/tmp/tsreq.XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(db, sizeof(db), "%s/ks.sqlite3", dir);
	snprintf(kek, sizeof(kek), "%s/kek", dir);
	cr_assert_eq(ks_open(db, kek, NULL, 0, &ks, err, sizeof(err)), TS_OK, "%s", err);
	cfg = config_load_string("{\"authenticators\": [{\"type\": \"Direct\", \"admins\": "
	                         "[{\"name\": \"root\"}]}]}",
	                         "test", err, sizeof(err));
	cr_assert_not_null(cfg, "%s", err);
	resolve_defaults(cfg);
	tpa = tp_new();
	tpb = tp_new();
	v[0] = (struct svc_provider){
	        .ops = &prov_test_ops, .ctx = tpa, .name = strdup("a"), .settings = strdup("{}")};
	v[1] = (struct svc_provider){.ops = &prov_test_minimal_ops,
	                             .ctx = tpb,
	                             .name = strdup("b"),
	                             .settings = strdup("{}")};
	cr_assert_eq(svc_providers_adopt(v, 2, &provs), TS_OK);
	cr_assert_eq(svc_state_new(cfg, ks, NULL, provs, &st, err, sizeof(err)), TS_OK, "%s", err);
}

static void teardown(void)
{
	char cmd[128];

	svc_state_unref(st);
	svc_providers_free(provs);
	ks_close(ks);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
}

TestSuite(request, .init = setup, .fini = teardown);

/* ---- a small protobuf writer: enough for the bodies below ---- */

struct pb {
	uint8_t b[1024];
	size_t n;
};

static void pb_varint_raw(struct pb *p, uint64_t v)
{
	do {
		uint8_t byte = v & 0x7f;

		v >>= 7;
		p->b[p->n++] = byte | (v ? 0x80 : 0);
	} while (v);
}

static void pb_varint(struct pb *p, unsigned field, uint64_t v)
{
	pb_varint_raw(p, (uint64_t)field << 3);
	pb_varint_raw(p, v);
}

static void pb_bytes(struct pb *p, unsigned field, const void *data, size_t len)
{
	pb_varint_raw(p, ((uint64_t)field << 3) | 2);
	pb_varint_raw(p, len);
	memcpy(p->b + p->n, data, len);
	p->n += len;
}

static void pb_msg(struct pb *p, unsigned field, const struct pb *m)
{
	pb_bytes(p, field, m->b, m->n);
}

/* Algorithm.AsymmetricSignature: ECDSA with a hash (0: "any hash"). */
static struct pb ecdsa(unsigned hash)
{
	struct pb sh = {0}, e = {0}, sig = {0}, empty = {0};

	if (hash == 0)
		pb_msg(&sh, 1, &empty);
	else
		pb_varint(&sh, 2, hash);
	pb_msg(&e, 1, &sh);
	pb_msg(&sig, 4, &e);
	return sig;
}

/* Algorithm.Mac: full-length HMAC with a hash. */
static struct pb hmac(unsigned hash)
{
	struct pb h = {0}, full = {0}, mac = {0};

	pb_varint(&h, 1, hash);
	pb_msg(&full, 1, &h);
	pb_msg(&mac, 1, &full);
	return mac;
}

#define USE_EXPORT      (1u << 1)
#define USE_SIGN_MSG    (1u << 6)
#define USE_VERIFY_MSG  (1u << 7)
#define USE_SIGN_HASH   (1u << 8)
#define USE_VERIFY_HASH (1u << 9)

/* KeyAttributes: type variant (11 ECC pair, 2 HMAC), bits, usage flags (a
 * bit per UsageFlags field number), the policy's algorithm (its Algorithm
 * oneof field number and body). */
static struct pb attrs(unsigned type, unsigned family, unsigned bits, unsigned usage,
                       unsigned alg_field, const struct pb *alg)
{
	struct pb t = {0}, variant = {0}, u = {0}, a = {0}, pol = {0}, out = {0};

	if (family != 0)
		pb_varint(&variant, 1, family);
	pb_msg(&t, type, &variant);
	for (unsigned f = 1; f <= 10; f++)
		if (usage & (1u << f))
			pb_varint(&u, f, 1);
	pb_msg(&a, alg_field, alg);
	pb_msg(&pol, 1, &u);
	pb_msg(&pol, 2, &a);
	pb_msg(&out, 1, &t);
	pb_varint(&out, 2, bits);
	pb_msg(&out, 3, &pol);
	return out;
}

static struct pb ecc_attrs(unsigned usage, unsigned hash)
{
	struct pb alg = ecdsa(hash);

	return attrs(11, 2 /* SECP_R1 */, 256, usage, 6, &alg);
}

/* ---- running requests ---- */

struct result {
	uint16_t status;
	enum req_next first; /* what the first request_prepare said */
	uint8_t body[512];
	size_t body_len;
};

/* One request through the path as an event loop would start it. auth is
 * the Direct application name, or NULL for no authentication. */
static struct result run(uint8_t provider, uint32_t opcode, const char *auth, const struct pb *body)
{
	struct auth_peer peer = {.valid = true, .uid = 1000};
	struct wire_header h;
	struct request r;
	struct dispatch_reply reply = {0};
	struct result res = {0};
	size_t auth_len = auth != NULL ? strlen(auth) : 0;
	uint8_t payload[2048];
	enum req_next next;

	memcpy(payload, body->b, body->n);
	if (auth_len > 0)
		memcpy(payload + body->n, auth, auth_len);
	wire_header_request(&h, opcode, provider, auth != NULL ? 1 : 0, (uint32_t)body->n,
	                    (uint16_t)auth_len);
	request_init(&r, st, &peer, &h, payload);
	res.first = next = request_prepare(&r, true);
	if (next == REQ_WORKER)
		next = request_prepare(&r, false);
	if (next != REQ_REPLY)
		request_run(&r);
	request_reply(&r, &reply);
	cr_assert_geq(reply.len, WIRE_HEADER_LEN);
	{
		struct wire_header out;

		wire_header_decode(dispatch_reply_bytes(&reply), &out);
		res.status = out.status;
		res.body_len = reply.len - WIRE_HEADER_LEN;
		cr_assert_leq(res.body_len, sizeof(res.body));
		memcpy(res.body, dispatch_reply_bytes(&reply) + WIRE_HEADER_LEN, res.body_len);
	}
	dispatch_reply_free(&reply);
	return res;
}

static uint16_t generate(uint8_t provider, const char *who, const char *name, const struct pb *a)
{
	struct pb body = {0};

	pb_bytes(&body, 1, name, strlen(name));
	pb_msg(&body, 2, a);
	return run(provider, WIRE_OP_PSA_GENERATE_KEY, who, &body).status;
}

static struct result sign_hash(uint8_t provider, const char *who, const char *name, unsigned hash,
                               size_t hash_len)
{
	struct pb body = {0}, alg = ecdsa(hash);
	uint8_t h[64] = {0};

	pb_bytes(&body, 1, name, strlen(name));
	pb_msg(&body, 2, &alg);
	pb_bytes(&body, 3, h, hash_len);
	return run(provider, WIRE_OP_PSA_SIGN_HASH, who, &body);
}

static unsigned calls(struct tp_state *s, enum tp_fn fn)
{
	return atomic_load(&s->calls[fn]);
}

/* ---- tests ---- */

Test(request, a_provider_result_comes_back_in_the_result_message)
{
	struct result r;

	cr_assert_eq(generate(1, "alice", "k", &(struct pb){0}), 16,
	             "no attributes: InvalidEncoding");
	cr_assert_eq(generate(1, "alice", "k", &(struct pb){.n = 0}), 16);
	{
		struct pb a = ecc_attrs(USE_SIGN_HASH, 7);

		cr_assert_eq(generate(1, "alice", "k", &a), 0);
	}
	memcpy(tpa->out, "\x01\x02\x03\x04", 4);
	tpa->out_len = 4;
	r = sign_hash(1, "alice", "k", 7, 32);
	cr_assert_eq(r.status, 0);
	/* PsaSignHash.Result: field 1, the provider's four bytes. */
	cr_assert_eq(r.body_len, 6);
	cr_assert_arr_eq(r.body, "\x0a\x04\x01\x02\x03\x04", 6);
	cr_assert_eq(tpa->last_in_len, 32);
	cr_assert_eq(tpa->last_alg.hash, 7);
}

Test(request, policy_is_checked_in_parsecs_order_before_the_provider_runs)
{
	struct pb a = ecc_attrs(USE_VERIFY_HASH, 7), b = ecc_attrs(USE_SIGN_HASH, 7);

	cr_assert_eq(generate(1, "alice", "verify-only", &a), 0);
	cr_assert_eq(generate(1, "alice", "signer", &b), 0);
	/* The usage flag first: NotPermitted. */
	cr_assert_eq(sign_hash(1, "alice", "verify-only", 7, 32).status, 1133);
	/* Then the permitted algorithm: SHA-384 where the policy says SHA-256. */
	cr_assert_eq(sign_hash(1, "alice", "signer", 8, 48).status, 1133);
	/* Then the hash length: InvalidArgument. */
	cr_assert_eq(sign_hash(1, "alice", "signer", 7, 31).status, 1135);
	/* "Any hash" is a policy, never an algorithm to run. */
	cr_assert_eq(sign_hash(1, "alice", "signer", 0, 32).status, 1135);
	cr_assert_eq(calls(tpa, TP_SIGN), 0, "the provider ran for a refused request");
	cr_assert_eq(sign_hash(1, "alice", "signer", 7, 32).status, 0);
	cr_assert_eq(calls(tpa, TP_SIGN), 1);
}

Test(request, a_policy_that_allows_any_hash_admits_each_one)
{
	struct pb a = ecc_attrs(USE_SIGN_HASH, 0);

	cr_assert_eq(generate(1, "alice", "any", &a), 0);
	cr_assert_eq(sign_hash(1, "alice", "any", 7, 32).status, 0);
	cr_assert_eq(sign_hash(1, "alice", "any", 9, 64).status, 0);
	cr_assert_eq(sign_hash(1, "alice", "any", 9, 32).status, 1135);
}

Test(request, provider_errors_map_to_their_wire_status)
{
	struct pb a = ecc_attrs(USE_SIGN_HASH, 7);
	static const struct {
		enum ts_err err;
		uint16_t status;
	} cases[] = {
	        {TS_E_PSA_HARDWARE_FAILURE, 1147},    {TS_E_PSA_COMMUNICATION_FAILURE, 1145},
	        {TS_E_PSA_INSUFFICIENT_MEMORY, 1141}, {TS_E_NOMEM, 1141},
	        {TS_E_PSA_NOT_SUPPORTED, 1134},       {TS_E_PSA_INVALID_SIGNATURE, 1149},
	};

	cr_assert_eq(generate(1, "alice", "k", &a), 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct result r;

		tpa->forced[TP_SIGN] = cases[i].err;
		r = sign_hash(1, "alice", "k", 7, 32);
		cr_assert_eq(r.status, cases[i].status, "%s: %u", ts_errname(cases[i].err),
		             r.status);
		cr_assert_eq(r.body_len, 0, "an error carries no body");
	}
}

Test(request, identity_and_support_are_checked_before_the_key)
{
	struct pb a = ecc_attrs(USE_SIGN_HASH, 7), body = {0};

	cr_assert_eq(generate(1, "alice", "k", &a), 0);
	/* No authentication: NotAuthenticated, after the body decoded. */
	cr_assert_eq(sign_hash(1, NULL, "k", 7, 32).status, 19);
	/* A body that does not decode: DeserializingBodyFailed. */
	body.b[0] = 0x0a;
	body.b[1] = 0x10;
	body.n = 2;
	cr_assert_eq(run(1, WIRE_OP_PSA_SIGN_HASH, "alice", &body).status, 7);
	/* Another tenant: the key does not exist for it. */
	cr_assert_eq(sign_hash(1, "bob", "k", 7, 32).status, 1140);
	/* The minimal instance has no key agreement: NotSupported before the body. */
	cr_assert_eq(run(0x80, WIRE_OP_PSA_RAW_KEY_AGREEMENT, "alice", &body).status, 1134);
	/* A core opcode on a provider and the reverse. */
	cr_assert_eq(run(1, WIRE_OP_LIST_PROVIDERS, NULL, &(struct pb){0}).status, 1134);
	cr_assert_eq(run(0, WIRE_OP_PSA_SIGN_HASH, "alice", &body).status, 1134);
	/* A known provider ID that is not configured. */
	cr_assert_eq(run(2, WIRE_OP_PSA_SIGN_HASH, "alice", &body).status, 5);
	cr_assert_eq(calls(tpa, TP_SIGN), 0);
}

Test(request, where_a_request_runs_is_decided_before_it_runs)
{
	struct pb a = ecc_attrs(USE_SIGN_HASH, 7);
	struct result r;

	cr_assert_eq(generate(1, "alice", "k", &a), 0);
	/* Discovery on the loop; key creation on a worker. */
	{
		struct result p = run(0, WIRE_OP_PING, NULL, &(struct pb){0});

		cr_assert_eq(p.status, 0, "status %u", p.status);
		cr_assert_eq(p.first, REQ_LOOP, "%d", p.first);
	}
	{
		struct pb body = {0};

		pb_bytes(&body, 1, "k2", 2);
		pb_msg(&body, 2, &a);
		cr_assert_eq(run(1, WIRE_OP_PSA_GENERATE_KEY, "alice", &body).first, REQ_WORKER);
	}
	/* The provider says: short here, long there. */
	tpa->is_short = true;
	r = sign_hash(1, "alice", "k", 7, 32);
	cr_assert_eq(r.first, REQ_LOOP);
	cr_assert_eq(tpa->last_opcode_asked, WIRE_OP_PSA_SIGN_HASH);
	tpa->is_short = false;
	cr_assert_eq(sign_hash(1, "alice", "k", 7, 32).first, REQ_WORKER);
	/* An error is answered where it was found. */
	cr_assert_eq(sign_hash(1, "alice", "missing", 7, 32).first, REQ_REPLY);
}

Test(request, an_instance_with_a_concurrency_limit_is_always_scheduled)
{
	struct pb a = ecc_attrs(USE_SIGN_HASH, 7);

	svc_state_unref(st);
	svc_providers_free(provs);
	{
		char err[256];
		struct ts_config *cfg = config_load_string(
		        "{\"authenticators\": [{\"type\": \"Direct\"}]}", "t", err, sizeof(err));
		struct svc_provider *v = calloc(1, sizeof(*v));

		resolve_defaults(cfg);
		tpa = tp_new();
		tpa->max_concurrent = 1;
		tpa->max_payload = 60;
		v[0] = (struct svc_provider){.ops = &prov_test_ops,
		                             .ctx = tpa,
		                             .name = strdup("a"),
		                             .settings = strdup("{}")};
		cr_assert_eq(svc_providers_adopt(v, 1, &provs), TS_OK);
		cr_assert_eq(provs->v[0].max_concurrent, 1);
		cr_assert_eq(svc_state_new(cfg, ks, NULL, provs, &st, err, sizeof(err)), TS_OK);
	}
	cr_assert_eq(generate(1, "alice", "k", &a), 0);
	cr_assert_eq(sign_hash(1, "alice", "k", 7, 32).first, REQ_WORKER,
	             "a limited instance ran on the loop");
	/* Past the instance's payload limit: InsufficientMemory, no call. */
	cr_assert_eq(sign_hash(1, "alice", "k", 7, 64).status, 1141);
	cr_assert_eq(calls(tpa, TP_SIGN), 1);
}

Test(request, creation_records_the_reference_first_and_rolls_back_on_failure)
{
	struct pb a = ecc_attrs(USE_SIGN_HASH | USE_EXPORT, 7);
	struct ks_key_id kid = {.auth_type = 1, .app = "alice", .name = "k"};
	struct ks_record rec = {0};

	/* The provider fails: nothing is left, and the name is free. */
	tpa->forced[TP_GENERATE] = TS_E_PSA_HARDWARE_FAILURE;
	cr_assert_eq(generate(1, "alice", "k", &a), 1147);
	cr_assert_eq(calls(tpa, TP_RESERVE_REF), 1, "the reference is chosen before the key");
	cr_assert_eq(ks_get(ks, &kid, "a", &rec), TS_E_PSA_DOES_NOT_EXIST);
	tpa->forced[TP_GENERATE] = TS_OK;
	cr_assert_eq(generate(1, "alice", "k", &a), 0);
	/* The generate call saw the reference the store recorded. */
	cr_assert_eq(ks_get(ks, &kid, "a", &rec), TS_OK);
	cr_assert_eq(rec.ref_len, 4);
	cr_assert_eq(tpa->last_ref_len, 4);
	cr_assert_arr_eq(rec.ref, tpa->last_ref, 4);
	ks_record_clear(&rec);
	/* A second key of that name, in either instance, already exists. */
	cr_assert_eq(generate(1, "alice", "k", &a), 1139);
	cr_assert_eq(generate(0x80, "alice", "k", &a), 1139);
}

Test(request, keys_route_to_the_instance_that_holds_them)
{
	struct pb a = ecc_attrs(USE_SIGN_HASH, 7);

	cr_assert_eq(generate(1, "alice", "in-a", &a), 0);
	cr_assert_eq(generate(0x80, "alice", "in-b", &a), 0);
	cr_assert_eq(sign_hash(1, "alice", "in-a", 7, 32).status, 0);
	cr_assert_eq(sign_hash(0x80, "alice", "in-b", 7, 32).status, 0);
	cr_assert_eq(sign_hash(1, "alice", "in-b", 7, 32).status, 1140);
	cr_assert_eq(sign_hash(0x80, "alice", "in-a", 7, 32).status, 1140);
	cr_assert_eq(calls(tpa, TP_SIGN), 1);
	cr_assert_eq(calls(tpb, TP_SIGN), 1);
}

Test(request, message_signing_uses_the_native_operation_or_hashes_first)
{
	struct pb a = ecc_attrs(USE_SIGN_HASH | USE_SIGN_MSG, 7), body = {0}, alg = ecdsa(7);

	cr_assert_eq(generate(1, "alice", "k", &a), 0);
	cr_assert_eq(generate(0x80, "alice", "k2", &a), 0);
	pb_bytes(&body, 1, "k", 1);
	pb_msg(&body, 2, &alg);
	pb_bytes(&body, 3, "hello", 5);
	cr_assert_eq(run(1, WIRE_OP_PSA_SIGN_MESSAGE, "alice", &body).status, 0);
	cr_assert_eq(calls(tpa, TP_SIGN_MESSAGE), 1);
	cr_assert_eq(calls(tpa, TP_HASH), 0);
	/* The minimal instance has no native one: hash, then sign the hash. */
	body.n = 0;
	pb_bytes(&body, 1, "k2", 2);
	pb_msg(&body, 2, &alg);
	pb_bytes(&body, 3, "hello", 5);
	cr_assert_eq(run(0x80, WIRE_OP_PSA_SIGN_MESSAGE, "alice", &body).status, 0);
	cr_assert_eq(calls(tpb, TP_HASH), 1);
	cr_assert_eq(calls(tpb, TP_SIGN), 1);
	cr_assert_eq(tpb->last_in_len, 32, "the SHA-256-sized digest was signed");
}

Test(request, mac_verification_is_native_or_compared_in_the_core)
{
	struct pb alg = hmac(7), a = attrs(2, 0, 256, USE_VERIFY_MSG, 3, &alg), body = {0};

	cr_assert_eq(generate(1, "alice", "m", &a), 0);
	cr_assert_eq(generate(0x80, "alice", "m2", &a), 0);
	/* Native: the provider's answer is the answer. */
	pb_bytes(&body, 1, "m", 1);
	pb_msg(&body, 2, &alg);
	pb_bytes(&body, 3, "data", 4);
	pb_bytes(&body, 4, "out", 3);
	tpa->forced[TP_MAC_VERIFY] = TS_E_PSA_INVALID_SIGNATURE;
	cr_assert_eq(run(1, WIRE_OP_PSA_MAC_VERIFY, "alice", &body).status, 1149);
	cr_assert_eq(calls(tpa, TP_MAC), 0);
	/* Fallback: compute ("out") and compare. */
	body.n = 0;
	pb_bytes(&body, 1, "m2", 2);
	pb_msg(&body, 2, &alg);
	pb_bytes(&body, 3, "data", 4);
	pb_bytes(&body, 4, "out", 3);
	cr_assert_eq(run(0x80, WIRE_OP_PSA_MAC_VERIFY, "alice", &body).status, 0);
	body.b[body.n - 1] = 'X';
	cr_assert_eq(run(0x80, WIRE_OP_PSA_MAC_VERIFY, "alice", &body).status, 1149);
	body.n -= 1;
	body.b[body.n - 3] = 2; /* a shorter MAC */
	cr_assert_eq(run(0x80, WIRE_OP_PSA_MAC_VERIFY, "alice", &body).status, 1149);
	cr_assert_eq(calls(tpb, TP_MAC), 3);
}

Test(request, destroy_hands_the_provider_the_key_and_frees_the_name)
{
	struct pb a = ecc_attrs(USE_SIGN_HASH, 7), body = {0};

	cr_assert_eq(generate(1, "alice", "k", &a), 0);
	pb_bytes(&body, 1, "k", 1);
	tpa->forced[TP_DESTROY] = TS_E_PSA_HARDWARE_FAILURE;
	cr_assert_eq(run(1, WIRE_OP_PSA_DESTROY_KEY, "alice", &body).status, 1147);
	tpa->forced[TP_DESTROY] = TS_OK;
	/* A destruction that failed is left for recovery: the key is gone for
	 * clients. */
	cr_assert_eq(sign_hash(1, "alice", "k", 7, 32).status, 1140);
	cr_assert_eq(generate(1, "alice", "k2", &a), 0);
	body.n = 0;
	pb_bytes(&body, 1, "k2", 2);
	cr_assert_eq(run(1, WIRE_OP_PSA_DESTROY_KEY, "alice", &body).status, 0);
	cr_assert_eq(tpa->last_ref_len, 4, "destroy got the key's reference");
	cr_assert_eq(generate(1, "alice", "k2", &a), 0, "the name is free again");
}

Test(request, the_tenant_is_the_identity_or_the_uid)
{
	struct request r1, r2;
	struct auth_peer p1 = {.valid = true, .uid = 1}, p2 = {.valid = true, .uid = 2};
	struct wire_header h;

	wire_header_request(&h, WIRE_OP_PING, 0, 0, 0, 0);
	request_init(&r1, st, &p1, &h, (const uint8_t *)"");
	request_init(&r2, st, &p2, &h, (const uint8_t *)"");
	cr_assert_neq(request_tenant(&r1), request_tenant(&r2));
	r1.id.name = "alice";
	r1.id.auth_type = 1;
	r2.id.name = "alice";
	r2.id.auth_type = 1;
	cr_assert_eq(request_tenant(&r1), request_tenant(&r2), "one identity, one tenant");
	r2.id.auth_type = 3;
	cr_assert_neq(request_tenant(&r1), request_tenant(&r2));
}

Test(request, start_up_hands_unfinished_keys_to_recovery_and_live_ones_to_adoption)
{
	struct pb a = ecc_attrs(USE_SIGN_HASH, 7);
	struct ks_key_id half = {.auth_type = 1, .app = "alice", .name = "half"};
	static const uint8_t ref[4] = {9, 9, 9, 9};

	cr_assert_eq(generate(1, "alice", "live1", &a), 0);
	cr_assert_eq(generate(1, "bob", "live2", &a), 0);
	cr_assert_eq(generate(0x80, "alice", "elsewhere", &a), 0);
	/* A creation a crash interrupted: reserved with its reference, never
	 * committed. */
	cr_assert_eq(ks_reserve(ks, &half, "a", ref, sizeof(ref), NULL, 0), TS_OK);
	cr_assert_eq(svc_recover_keys(st, NULL), TS_OK);
	cr_assert_eq(calls(tpa, TP_RECOVER), 1);
	cr_assert_eq(tpa->recovered_ref_len, 4, "recovery did not get the recorded reference");
	cr_assert_arr_eq(tpa->recovered_ref, ref, 4);
	cr_assert_eq(calls(tpb, TP_RECOVER), 0);
	/* The half-made record is gone: its name is free. */
	cr_assert_eq(generate(1, "alice", "half", &a), 0);
	/* Each instance was told of its own live keys only. */
	cr_assert_eq(calls(tpa, TP_ADOPT), 2);
	cr_assert_eq(calls(tpb, TP_ADOPT), 1);
}

Test(request, key_names_are_c_strings_of_at_most_255_bytes)
{
	struct pb a = ecc_attrs(USE_SIGN_HASH, 7), body = {0};
	char name[300];

	/* "nul\0tail" would be stored as "nul": refused whole. */
	pb_bytes(&body, 1, "nul\0tail", 8);
	pb_msg(&body, 2, &a);
	cr_assert_eq(run(1, WIRE_OP_PSA_GENERATE_KEY, "alice", &body).status, 16);
	cr_assert_eq(calls(tpa, TP_GENERATE), 0);
	memset(name, 'n', sizeof(name));
	name[256] = '\0';
	cr_assert_eq(generate(1, "alice", name, &a), 1135, "a 256-byte name");
	name[255] = '\0';
	cr_assert_eq(generate(1, "alice", name, &a), 0, "a 255-byte name");
	cr_assert_eq(sign_hash(1, "alice", name, 7, 32).status, 0);
	/* The key agreement's name is field 2. */
	body.n = 0;
	pb_varint(&body, 1, 2);
	pb_bytes(&body, 2, "k\0x", 3);
	cr_assert_eq(run(1, WIRE_OP_PSA_RAW_KEY_AGREEMENT, "alice", &body).status, 16);
}

Test(request, a_nul_is_found_only_in_the_field_that_holds_it)
{
	struct pb body = {0};

	pb_bytes(&body, 1, "name", 4);
	pb_varint(&body, 2, 0);
	pb_bytes(&body, 3, "\0\0\0", 3); /* binary data may hold NULs */
	cr_assert(!wire_string_has_nul(body.b, body.n, 1));
	cr_assert(wire_string_has_nul(body.b, body.n, 3));
	cr_assert(!wire_string_has_nul(body.b, body.n - 1, 3), "a truncated field is not read");
}
