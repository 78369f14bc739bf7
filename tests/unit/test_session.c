/*
 * Connection sessions and the operations the daemon holds for them
 * (daemon/session.c, multipart.c): handles, the per-tenant cap, the binding
 * to the tenant and the session, the idle sweep on an injected clock, the
 * daemon's own ordering rules, freeing on error and on close, volatile
 * names. A fake provider with mp_* and kdf_* hooks that count their live
 * states; a real key store in a temporary directory.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "daemon/daemon-priv.h"
#include "keystore/keystore.h"

/* ---- the fake provider ---- */

struct fake {
	int live;           /* mp_* and kdf_* states not freed */
	unsigned destroyed; /* destroy_key calls */
	enum ts_err fail_update;
	uint32_t last_step; /* what kdf_input saw last */
	uint8_t last_input[32];
	size_t last_input_len;
	struct psa_alg agreed_alg; /* what key_agreement was asked to run */
};

struct fstate {
	int kind;
	uint8_t key;  /* the key's first byte: the "cipher" XORs with it */
	uint32_t sum; /* the "MAC" */
	uint8_t next; /* KDF output counter */
};

static struct fake fk;

static enum ts_err f_random(void *ctx, uint8_t *out, size_t len)
{
	(void)ctx;
	memset(out, 0xAB, len);
	return TS_OK;
}

static enum ts_err f_import(void *ctx, const struct prov_key *k, const uint8_t *data, size_t len,
                            uint8_t **ret_mat, size_t *ret_len, uint32_t *ret_bits)
{
	(void)ctx;
	(void)k;
	*ret_mat = malloc(len ? len : 1);
	memcpy(*ret_mat, data, len);
	*ret_len = len;
	*ret_bits = (uint32_t)len * 8;
	return TS_OK;
}

static enum ts_err f_destroy(void *ctx, const struct prov_key *k)
{
	(void)ctx;
	(void)k;
	fk.destroyed++;
	return TS_OK;
}

static enum ts_err f_mp_setup(void *ctx, int kind, const struct prov_key *k,
                              const struct psa_alg *alg, void **ret_state)
{
	struct fstate *s = calloc(1, sizeof(*s));

	(void)ctx;
	(void)alg;
	s->kind = kind;
	s->key = k->material_len > 0 ? k->material[0] : 0;
	fk.live++;
	*ret_state = s;
	return TS_OK;
}

static enum ts_err f_mp_set_iv(void *ctx, void *state, const uint8_t *iv, size_t len)
{
	(void)ctx;
	(void)state;
	(void)iv;
	return len == 16 || len == 12 ? TS_OK : TS_E_PSA_INVALID_ARGUMENT;
}

static enum ts_err f_mp_set_lengths(void *ctx, void *state, uint64_t ad, uint64_t text)
{
	(void)ctx;
	(void)state;
	(void)ad;
	(void)text;
	return TS_OK;
}

static enum ts_err f_mp_update(void *ctx, void *state, bool ad, const uint8_t *in, size_t len,
                               uint8_t **ret, size_t *ret_len)
{
	struct fstate *s = state;

	(void)ctx;
	if (fk.fail_update != TS_OK)
		return fk.fail_update;
	*ret = NULL;
	*ret_len = 0;
	for (size_t i = 0; i < len; i++)
		s->sum += in[i];
	if (s->kind >= PROV_MP_CIPHER_ENCRYPT && !ad && len > 0) {
		*ret = malloc(len);
		for (size_t i = 0; i < len; i++)
			(*ret)[i] = in[i] ^ s->key;
		*ret_len = len;
	}
	return TS_OK;
}

static enum ts_err f_mp_finish(void *ctx, void *state, uint8_t **ret, size_t *ret_len,
                               uint8_t **ret_tag, size_t *ret_tag_len)
{
	struct fstate *s = state;

	(void)ctx;
	*ret = malloc(4);
	memcpy(*ret, &s->sum, 4);
	*ret_len = 4;
	*ret_tag = NULL;
	*ret_tag_len = 0;
	return TS_OK;
}

static enum ts_err f_mp_verify(void *ctx, void *state, const uint8_t *expected, size_t len,
                               uint8_t **ret, size_t *ret_len)
{
	struct fstate *s = state;

	(void)ctx;
	*ret = NULL;
	*ret_len = 0;
	return len == 4 && memcmp(expected, &s->sum, 4) == 0 ? TS_OK : TS_E_PSA_INVALID_SIGNATURE;
}

static enum ts_err f_mp_clone(void *ctx, void *state, void **ret_state)
{
	struct fstate *s = malloc(sizeof(*s));

	(void)ctx;
	*s = *(struct fstate *)state;
	fk.live++;
	*ret_state = s;
	return TS_OK;
}

static void f_free(void *ctx, void *state)
{
	(void)ctx;
	free(state);
	fk.live--;
}

static enum ts_err f_kdf_setup(void *ctx, const struct psa_alg *alg, void **ret_state,
                               uint64_t *ret_capacity)
{
	(void)ctx;
	(void)alg;
	*ret_state = calloc(1, sizeof(struct fstate));
	fk.live++;
	*ret_capacity = 100;
	return TS_OK;
}

static enum ts_err f_kdf_input(void *ctx, void *state, uint32_t step, const uint8_t *d, size_t n)
{
	(void)ctx;
	(void)state;
	fk.last_step = step;
	fk.last_input_len = n < sizeof(fk.last_input) ? n : sizeof(fk.last_input);
	memcpy(fk.last_input, d, fk.last_input_len);
	return TS_OK;
}

static enum ts_err f_key_agreement(void *ctx, const struct prov_key *k, const struct psa_alg *alg,
                                   const uint8_t *peer, size_t peer_len, uint8_t **ret,
                                   size_t *ret_len)
{
	(void)ctx;
	(void)k;
	(void)peer;
	fk.agreed_alg = *alg;
	*ret = malloc(6);
	memcpy(*ret, "shared", 6);
	*ret_len = peer_len > 0 ? 6 : 0;
	return TS_OK;
}

static enum ts_err f_kdf_input_key(void *ctx, void *state, uint32_t step, const struct prov_key *k)
{
	(void)ctx;
	(void)state;
	(void)step;
	(void)k;
	return TS_OK;
}

static enum ts_err f_kdf_input_integer(void *ctx, void *state, uint32_t step, uint64_t v)
{
	(void)ctx;
	(void)state;
	(void)step;
	(void)v;
	return TS_OK;
}

static enum ts_err f_kdf_output(void *ctx, void *state, uint8_t *out, size_t len)
{
	struct fstate *s = state;

	(void)ctx;
	for (size_t i = 0; i < len; i++)
		out[i] = s->next++;
	return TS_OK;
}

static const struct prov_ops fake_ops = {
        .type = "Fake",
        .id = 1,
        .uuid = "00000000-0000-0000-0000-000000000000",
        .generate_random = f_random,
        .import_key = f_import,
        .destroy_key = f_destroy,
        .key_agreement = f_key_agreement,
        .mp_setup = f_mp_setup,
        .mp_set_iv = f_mp_set_iv,
        .mp_set_lengths = f_mp_set_lengths,
        .mp_update = f_mp_update,
        .mp_finish = f_mp_finish,
        .mp_verify = f_mp_verify,
        .mp_clone = f_mp_clone,
        .mp_free = f_free,
        .kdf_setup = f_kdf_setup,
        .kdf_input = f_kdf_input,
        .kdf_input_key = f_kdf_input_key,
        .kdf_input_integer = f_kdf_input_integer,
        .kdf_output = f_kdf_output,
        .kdf_free = f_free,
};

/* ---- fixture ---- */

static char dir[64];
static struct ks *ks;
static struct svc_providers *provs;
static struct svc_state *st;
static uint64_t now_ms = 1000000;

static uint64_t fake_clock(void)
{
	return now_ms;
}

static void setup(void)
{
	char db[128], kek[128], err[512];
	struct ts_config *cfg;
	struct svc_provider *v = calloc(1, sizeof(*v));

	memset(&fk, 0, sizeof(fk));
	session_set_clock(fake_clock);
	strcpy(dir, "/tmp/tssess.XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(db, sizeof(db), "%s/ks.sqlite3", dir);
	snprintf(kek, sizeof(kek), "%s/kek", dir);
	cr_assert_eq(ks_open(db, kek, NULL, 0, &ks, err, sizeof(err)), TS_OK, "%s", err);
	cfg = config_load_string("{\"authenticators\": [{\"type\": \"Direct\"}], "
	                         "\"psa\": {\"max_operations_per_tenant\": 3, "
	                         "\"operation_idle_ms\": 1000}}",
	                         "test", err, sizeof(err));
	cr_assert_not_null(cfg, "%s", err);
	resolve_defaults(cfg);
	v[0] = (struct svc_provider){
	        .ops = &fake_ops, .ctx = NULL, .name = strdup("f"), .settings = strdup("{}")};
	cr_assert_eq(svc_providers_adopt(v, 1, &provs), TS_OK);
	cr_assert_eq(svc_state_new(cfg, ks, NULL, provs, &st, err, sizeof(err)), TS_OK, "%s", err);
}

static void teardown(void)
{
	char cmd[128];

	svc_state_unref(st);
	svc_providers_free(provs);
	ks_close(ks);
	session_set_clock(NULL);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
}

TestSuite(session, .init = setup, .fini = teardown);

/* ---- protobuf bodies ---- */

struct pb {
	uint8_t b[1024];
	size_t n;
};

static void varint(struct pb *p, uint64_t v)
{
	do {
		p->b[p->n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
		v >>= 7;
	} while (v != 0);
}

static void f_uint(struct pb *p, unsigned field, uint64_t v)
{
	varint(p, (uint64_t)field << 3);
	varint(p, v);
}

static void f_bytes(struct pb *p, unsigned field, const void *d, size_t len)
{
	varint(p, ((uint64_t)field << 3) | 2);
	varint(p, len);
	memcpy(p->b + p->n, d, len);
	p->n += len;
}

static void f_str(struct pb *p, unsigned field, const char *s)
{
	f_bytes(p, field, s, strlen(s));
}

static void f_msg(struct pb *p, unsigned field, const struct pb *m)
{
	f_bytes(p, field, m->b, m->n);
}

/* Algorithm: SHA-256 hash. */
static struct pb alg_sha256(void)
{
	struct pb a = {0};

	f_uint(&a, 2, 7);
	return a;
}

/* Algorithm: HMAC-SHA-256. */
static struct pb alg_hmac(void)
{
	struct pb h = {0}, full = {0}, mac = {0}, a = {0};

	f_uint(&h, 1, 7);
	f_msg(&full, 1, &h);
	f_msg(&mac, 1, &full);
	f_msg(&a, 3, &mac);
	return a;
}

/* Algorithm: a cipher mode (psa_algorithm.proto's Cipher: 7 CBC_NO_PADDING). */
static struct pb alg_cipher(unsigned mode)
{
	struct pb a = {0};

	f_uint(&a, 4, mode);
	return a;
}

/* Algorithm: HKDF-SHA-256. */
static struct pb alg_hkdf(void)
{
	struct pb h = {0}, kdf = {0}, a = {0};

	f_uint(&h, 1, 7);
	f_msg(&kdf, 1, &h);
	f_msg(&a, 9, &kdf);
	return a;
}

/* KeyAttributes: type (KeyType field: 2 HMAC, 4 AES, 3 DERIVE), bits,
 * usage (UsageFlags field numbers as bits), the permitted algorithm. */
static struct pb attrs(unsigned type, unsigned bits, unsigned usage, const struct pb *alg)
{
	struct pb t = {0}, empty = {0}, u = {0}, pol = {0}, out = {0};

	f_msg(&t, type, &empty);
	for (unsigned f = 1; f <= 10; f++)
		if (usage & (1u << f))
			f_uint(&u, f, 1);
	f_msg(&pol, 1, &u);
	f_msg(&pol, 2, alg);
	f_msg(&out, 1, &t);
	f_uint(&out, 2, bits);
	f_msg(&out, 3, &pol);
	return out;
}

#define U_ENCRYPT  (1u << 4)
#define U_DECRYPT  (1u << 5)
#define U_SIGN_MSG (1u << 6)
#define U_DERIVE   (1u << 10)

/* ---- running requests ---- */

struct result {
	uint16_t status;
	uint8_t body[1100];
	size_t body_len;
};

/* One request of tenant `who` (Direct) on a session (NULL: none). */
static struct result run(struct session *s, uint32_t opcode, const char *who, const struct pb *b)
{
	struct auth_peer peer = {.valid = true, .uid = 1000};
	struct wire_header h, out;
	struct dispatch_reply reply = {0};
	struct result res = {0};
	uint8_t payload[2048];
	size_t alen = strlen(who);

	memcpy(payload, b->b, b->n);
	memcpy(payload + b->n, who, alen);
	wire_header_request(&h, opcode, opcode == WIRE_OP_LIST_KEYS ? 0 : 1, 1, (uint32_t)b->n,
	                    (uint16_t)alen);
	if (s != NULL)
		dispatch_request_session(st, &peer, &h, payload, s, &reply);
	else
		dispatch_request(st, &peer, &h, payload, false, &reply);
	cr_assert_geq(reply.len, WIRE_HEADER_LEN);
	wire_header_decode(dispatch_reply_bytes(&reply), &out);
	res.status = out.status;
	res.body_len = reply.len - WIRE_HEADER_LEN;
	cr_assert_leq(res.body_len, sizeof(res.body));
	memcpy(res.body, dispatch_reply_bytes(&reply) + WIRE_HEADER_LEN, res.body_len);
	dispatch_reply_free(&reply);
	return res;
}

/* A Result whose field 1 is a varint (handles, capacity): its value. */
static uint64_t result_uint(const struct result *r)
{
	uint64_t v = 0;

	cr_assert_geq(r->body_len, 2);
	cr_assert_eq(r->body[0], 0x08);
	for (size_t i = 1, shift = 0; i < r->body_len; i++, shift += 7) {
		v |= (uint64_t)(r->body[i] & 0x7f) << shift;
		if (!(r->body[i] & 0x80))
			break;
	}
	return v;
}

/* A Result's bytes field (field number `field`) copied out; its length. */
static size_t result_bytes(const struct result *r, unsigned field, uint8_t *out)
{
	size_t i = 0;

	while (i < r->body_len) {
		unsigned key = r->body[i++];
		size_t len = r->body[i++];

		cr_assert_eq(key & 7, 2);
		cr_assert_lt(len, 128);
		if ((key >> 3) == field) {
			memcpy(out, r->body + i, len);
			return len;
		}
		i += len;
	}
	return 0;
}

static struct result setup_op(struct session *s, const char *who, unsigned kind, const char *key,
                              const struct pb *alg)
{
	struct pb b = {0};

	f_uint(&b, 1, kind);
	if (key != NULL)
		f_str(&b, 2, key);
	f_msg(&b, 3, alg);
	return run(s, WIRE_OP_PSA_OP_SETUP, who, &b);
}

static uint32_t hash_setup(struct session *s, const char *who)
{
	struct pb a = alg_sha256();
	struct result r = setup_op(s, who, 1, NULL, &a);

	cr_assert_eq(r.status, 0, "setup: %u", r.status);
	return (uint32_t)result_uint(&r);
}

static uint16_t update(struct session *s, const char *who, uint32_t h, const char *data)
{
	struct pb b = {0};

	f_uint(&b, 1, h);
	f_str(&b, 2, data);
	return run(s, WIRE_OP_PSA_OP_UPDATE, who, &b).status;
}

static struct result finish(struct session *s, const char *who, uint32_t h)
{
	struct pb b = {0};

	f_uint(&b, 1, h);
	return run(s, WIRE_OP_PSA_OP_FINISH, who, &b);
}

static uint16_t abort_op(struct session *s, const char *who, uint32_t h)
{
	struct pb b = {0};

	f_uint(&b, 1, h);
	return run(s, WIRE_OP_PSA_OP_ABORT, who, &b).status;
}

static uint16_t import(struct session *s, const char *who, const char *name, bool vol,
                       const struct pb *a, const char *data)
{
	struct pb b = {0};

	f_str(&b, 1, name);
	f_msg(&b, 2, a);
	f_str(&b, 3, data);
	if (vol)
		f_uint(&b, 1000, 1);
	return run(s, WIRE_OP_PSA_IMPORT_KEY, who, &b).status;
}

static uint16_t destroy(struct session *s, const char *who, const char *name)
{
	struct pb b = {0};

	f_str(&b, 1, name);
	return run(s, WIRE_OP_PSA_DESTROY_KEY, who, &b).status;
}

/* ---- tests ---- */

Test(session, without_a_session_the_extension_operations_answer_bad_state)
{
	struct pb a = alg_sha256();

	cr_assert_eq(setup_op(NULL, "alice", 1, NULL, &a).status, 1137);
	cr_assert_eq(abort_op(NULL, "alice", 1), 1137);
}

Test(session, a_multipart_hash_is_sha256_of_the_whole_input)
{
	struct session *s = session_new();
	uint8_t want[32], got[64];
	unsigned wlen = 0;
	uint32_t h = hash_setup(s, "alice");
	struct result r;

	cr_assert_neq(h, 0);
	cr_assert_eq(update(s, "alice", h, "hello, "), 0);
	cr_assert_eq(update(s, "alice", h, "world"), 0);
	r = finish(s, "alice", h);
	cr_assert_eq(r.status, 0);
	EVP_Digest("hello, world", 12, want, &wlen, EVP_sha256(), NULL);
	cr_assert_eq(result_bytes(&r, 1, got), 32);
	cr_assert_arr_eq(got, want, 32);
	/* Finished: the handle is gone, and finishing again is refused. */
	cr_assert_eq(finish(s, "alice", h).status, 1137);
	cr_assert_eq(update(s, "alice", h, "x"), 1137);
	session_close(s, st, NULL);
}

Test(session, hash_verify_and_clone)
{
	struct session *s = session_new();
	uint8_t want[32];
	unsigned wlen = 0;
	uint32_t h = hash_setup(s, "alice"), c;
	struct pb b = {0};
	struct result r;

	cr_assert_eq(update(s, "alice", h, "abc"), 0);
	f_uint(&b, 1, h);
	r = run(s, WIRE_OP_PSA_OP_CLONE, "alice", &b);
	cr_assert_eq(r.status, 0);
	c = (uint32_t)result_uint(&r);
	cr_assert_neq(c, h);
	cr_assert_eq(session_tenant_ops(1, "alice"), 2, "a clone counts in the cap");
	EVP_Digest("abc", 3, want, &wlen, EVP_sha256(), NULL);
	/* The clone verifies against the digest of what came before it. */
	b = (struct pb){0};
	f_uint(&b, 1, c);
	f_uint(&b, 2, 1);
	f_bytes(&b, 3, want, 32);
	cr_assert_eq(run(s, WIRE_OP_PSA_OP_FINISH, "alice", &b).status, 0);
	/* The source goes on on its own and no longer matches. */
	cr_assert_eq(update(s, "alice", h, "d"), 0);
	b = (struct pb){0};
	f_uint(&b, 1, h);
	f_uint(&b, 2, 1);
	f_bytes(&b, 3, want, 32);
	cr_assert_eq(run(s, WIRE_OP_PSA_OP_FINISH, "alice", &b).status, 1149);
	cr_assert_eq(session_tenant_ops(1, "alice"), 0);
	session_close(s, st, NULL);
}

Test(session, handles_are_never_zero_and_never_reused)
{
	struct session *s = session_new();
	uint32_t a = hash_setup(s, "alice"), b;

	cr_assert_eq(abort_op(s, "alice", a), 0);
	cr_assert_eq(abort_op(s, "alice", a), 0, "abort of an unknown handle succeeds");
	b = hash_setup(s, "alice");
	cr_assert_neq(a, 0);
	cr_assert_neq(b, a);
	cr_assert_eq(update(s, "alice", a, "x"), 1137);
	session_close(s, st, NULL);
}

Test(session, the_cap_is_per_tenant_over_all_sessions)
{
	struct session *s1 = session_new(), *s2 = session_new();
	struct pb a = alg_sha256();
	uint32_t h;

	h = hash_setup(s1, "alice");
	(void)hash_setup(s1, "alice");
	(void)hash_setup(s2, "alice");
	cr_assert_eq(setup_op(s2, "alice", 1, NULL, &a).status, 1141, "past the cap");
	cr_assert_eq(setup_op(s1, "alice", 1, NULL, &a).status, 1141);
	/* Another tenant is not affected, and nothing of alice's went. */
	(void)hash_setup(s1, "bob");
	cr_assert_eq(session_tenant_ops(1, "alice"), 3);
	cr_assert_eq(update(s1, "alice", h, "still here"), 0);
	cr_assert_eq(abort_op(s1, "alice", h), 0);
	(void)hash_setup(s2, "alice");
	/* Closing a session gives its places back at once. */
	session_close(s2, st, NULL);
	cr_assert_eq(session_tenant_ops(1, "alice"), 1);
	(void)hash_setup(s1, "alice");
	(void)hash_setup(s1, "alice");
	session_close(s1, st, NULL);
	cr_assert_eq(session_tenant_ops(1, "alice"), 0);
	cr_assert_eq(session_tenant_ops(1, "bob"), 0);
}

Test(session, another_tenant_or_session_cannot_use_a_handle)
{
	struct session *s1 = session_new(), *s2 = session_new();
	uint32_t h = hash_setup(s1, "alice");

	cr_assert_eq(update(s1, "bob", h, "x"), 1137, "another identity on the same session");
	cr_assert_eq(abort_op(s1, "bob", h), 1137);
	cr_assert_eq(finish(s1, "bob", h).status, 1137);
	cr_assert_eq(update(s2, "alice", h, "x"), 1137, "the same tenant on another session");
	cr_assert_eq(finish(s2, "alice", h).status, 1137);
	/* None of that touched it. */
	cr_assert_eq(update(s1, "alice", h, "x"), 0);
	cr_assert_eq(finish(s1, "alice", h).status, 0);
	session_close(s1, st, NULL);
	session_close(s2, st, NULL);
}

Test(session, an_idle_operation_is_swept_and_its_handle_is_bad_state)
{
	struct session *s = session_new();
	uint32_t a = hash_setup(s, "alice"), b;

	now_ms += 600;
	b = hash_setup(s, "alice");
	cr_assert_eq(update(s, "alice", a, "x"), 0, "used within the limit");
	now_ms += 600; /* b idle 600 ms, a 600 ms: neither past 1000 */
	cr_assert_not(session_sweep(s, session_now_ms(), 1000));
	cr_assert_eq(session_tenant_ops(1, "alice"), 2);
	now_ms += 400; /* b 1000 ms idle, a 1000 */
	cr_assert(session_sweep(s, session_now_ms(), 1000));
	cr_assert_eq(session_tenant_ops(1, "alice"), 0);
	cr_assert_not(session_holds(s));
	cr_assert_eq(update(s, "alice", a, "x"), 1137);
	cr_assert_eq(update(s, "alice", b, "x"), 1137);
	/* Without a sweep, a look-up past the limit frees it too. */
	a = hash_setup(s, "alice");
	now_ms += 1000;
	cr_assert_eq(update(s, "alice", a, "x"), 1137);
	cr_assert_eq(session_tenant_ops(1, "alice"), 0);
	session_close(s, st, NULL);
}

Test(session, mac_setup_checks_the_policy_and_the_provider_state_is_freed)
{
	struct session *s = session_new();
	struct pb mac = alg_hmac(), a = attrs(2, 0, U_SIGN_MSG, &mac);
	struct pb noflag = attrs(2, 0, U_ENCRYPT, &mac), cbc = alg_cipher(7);
	uint8_t sum[4], got[8];
	struct result r;
	uint32_t h;

	cr_assert_eq(import(s, "alice", "hk", false, &a, "key-bytes"), 0);
	cr_assert_eq(import(s, "alice", "no", false, &noflag, "key-bytes"), 0);
	cr_assert_eq(setup_op(s, "alice", 2, "no", &mac).status, 1133, "no usage flag");
	cr_assert_eq(setup_op(s, "alice", 2, "hk", &cbc).status, 1135, "not a MAC algorithm");
	cr_assert_eq(setup_op(s, "alice", 2, "missing", &mac).status, 1140);
	cr_assert_eq(setup_op(s, "bob", 2, "hk", &mac).status, 1140, "another tenant's key");
	r = setup_op(s, "alice", 2, "hk", &mac);
	cr_assert_eq(r.status, 0);
	h = (uint32_t)result_uint(&r);
	cr_assert_eq(fk.live, 1);
	cr_assert_eq(update(s, "alice", h, "ab"), 0);
	r = finish(s, "alice", h);
	cr_assert_eq(r.status, 0);
	{
		uint32_t v = 'a' + 'b';

		memcpy(sum, &v, 4);
	}
	cr_assert_eq(result_bytes(&r, 1, got), 4);
	cr_assert_arr_eq(got, sum, 4);
	cr_assert_eq(fk.live, 0, "finish frees the provider's state");
	session_close(s, st, NULL);
}

Test(session, a_provider_error_frees_the_operation)
{
	struct session *s = session_new();
	struct pb mac = alg_hmac(), a = attrs(2, 0, U_SIGN_MSG, &mac);
	struct result r;
	uint32_t h;

	cr_assert_eq(import(s, "alice", "hk", false, &a, "key-bytes"), 0);
	r = setup_op(s, "alice", 2, "hk", &mac);
	h = (uint32_t)result_uint(&r);
	fk.fail_update = TS_E_PSA_HARDWARE_FAILURE;
	cr_assert_eq(update(s, "alice", h, "x"), 1147);
	fk.fail_update = TS_OK;
	cr_assert_eq(fk.live, 0);
	cr_assert_eq(session_tenant_ops(1, "alice"), 0);
	cr_assert_eq(update(s, "alice", h, "x"), 1137);
	session_close(s, st, NULL);
}

Test(session, a_cipher_needs_its_iv_first_and_once)
{
	struct session *s = session_new();
	struct pb cbc = alg_cipher(7), a = attrs(4, 0, U_ENCRYPT, &cbc);
	struct pb b = {0};
	uint8_t iv[32];
	struct result r;
	uint32_t h;

	cr_assert_eq(import(s, "alice", "aes", false, &a, "0123456789abcdef"), 0);
	r = setup_op(s, "alice", 4, "aes", &cbc);
	cr_assert_eq(r.status, 0);
	h = (uint32_t)result_uint(&r);
	cr_assert_eq(update(s, "alice", h, "data"), 1137, "data before the IV");
	cr_assert_eq(fk.live, 0, "the refused operation is freed");
	r = setup_op(s, "alice", 4, "aes", &cbc);
	h = (uint32_t)result_uint(&r);
	f_uint(&b, 1, h);
	f_uint(&b, 3, 1);
	r = run(s, WIRE_OP_PSA_OP_SET_IV, "alice", &b);
	cr_assert_eq(r.status, 0);
	cr_assert_eq(result_bytes(&r, 1, iv), 16, "a block's worth, from generate_random");
	cr_assert_eq(iv[0], 0xAB);
	cr_assert_eq(update(s, "alice", h, "data"), 0);
	cr_assert_eq(run(s, WIRE_OP_PSA_OP_SET_IV, "alice", &b).status, 1137, "a second IV");
	cr_assert_eq(session_tenant_ops(1, "alice"), 0);
	session_close(s, st, NULL);
}

Test(session, volatile_names_need_the_flag_and_a_session)
{
	struct session *s = session_new();
	struct pb mac = alg_hmac(), a = attrs(2, 0, U_SIGN_MSG, &mac);

	cr_assert_eq(import(s, "alice", ".volatile/k", false, &a, "kb"), 1135);
	cr_assert_eq(import(s, "alice", "k", true, &a, "kb"), 1135);
	cr_assert_eq(import(s, "alice", ".volatile/", true, &a, "kb"), 1135);
	cr_assert_eq(import(NULL, "alice", ".volatile/k", true, &a, "kb"), 1134);
	cr_assert_not(session_holds(s));
	cr_assert_eq(import(s, "alice", ".volatile/k", true, &a, "kb"), 0);
	cr_assert(session_holds(s));
	session_close(s, st, NULL);
}

Test(session, volatile_keys_are_the_sessions_own_and_go_with_it)
{
	struct session *s1 = session_new(), *s2 = session_new();
	struct pb mac = alg_hmac(), a = attrs(2, 0, U_SIGN_MSG, &mac), lk = {0};
	struct ks_record rec = {0};
	struct ks_key_id kid = {.auth_type = 1, .app = "alice"};
	char name[64];
	struct result r;

	cr_assert_eq(import(s1, "alice", ".volatile/k", true, &a, "kb"), 0);
	snprintf(name, sizeof(name), ".volatile/%llx/k", (unsigned long long)session_serial(s1));
	kid.name = name;
	cr_assert_eq(ks_get(ks, &kid, "f", &rec), TS_OK, "stored under the session's name");
	ks_record_clear(&rec);
	/* The same name elsewhere is another key (none). */
	cr_assert_eq(setup_op(s2, "alice", 2, ".volatile/k", &mac).status, 1140);
	cr_assert_eq(setup_op(NULL, "alice", 2, ".volatile/k", &mac).status, 1140);
	r = setup_op(s1, "alice", 2, ".volatile/k", &mac);
	cr_assert_eq(r.status, 0);
	/* ListKeys does not show it. */
	r = run(s1, WIRE_OP_LIST_KEYS, "alice", &lk);
	cr_assert_eq(r.status, 0);
	cr_assert_eq(r.body_len, 0, "no keys listed");
	/* Closing frees the operation and destroys the key. */
	session_close(s1, st, NULL);
	cr_assert_eq(fk.live, 0);
	cr_assert_eq(fk.destroyed, 1);
	cr_assert_eq(ks_get(ks, &kid, "f", &rec), TS_E_PSA_DOES_NOT_EXIST);
	session_close(s2, st, NULL);
}

Test(session, a_destroyed_volatile_key_is_forgotten)
{
	struct session *s = session_new();
	struct pb mac = alg_hmac(), a = attrs(2, 0, U_SIGN_MSG, &mac);

	cr_assert_eq(import(s, "alice", ".volatile/k", true, &a, "kb"), 0);
	cr_assert_eq(destroy(s, "alice", ".volatile/k"), 0);
	cr_assert_not(session_holds(s));
	cr_assert_eq(fk.destroyed, 1);
	session_close(s, st, NULL);
	cr_assert_eq(fk.destroyed, 1);
}

Test(session, leftover_volatile_records_are_purged_at_start)
{
	struct session *s = session_new();
	struct pb mac = alg_hmac(), a = attrs(2, 0, U_SIGN_MSG, &mac);

	struct ks_key_id legacy = {.auth_type = 1, .app = "alice", .name = ".volatile/legacy"};
	struct ks_record rec = {0};
	unsigned purged = 99;

	cr_assert_eq(import(s, "alice", ".volatile/k", true, &a, "kb"), 0);
	cr_assert_eq(import(s, "alice", "persistent", false, &a, "kb"), 0);
	/* A key a Parsec client named so before the prefix was reserved (or
	 * one tessera-migrate brought): not a session's, never purged. */
	cr_assert_eq(ks_reserve(ks, &legacy, "f", NULL, 0, (const uint8_t *)"a", 1), TS_OK);
	cr_assert_eq(
	        ks_commit(ks, &legacy, NULL, 0, (const uint8_t *)"a", 1, (const uint8_t *)"m", 1),
	        TS_OK);
	/* As after a crash: the records are there, the session is not. */
	cr_assert_eq(svc_recover_keys(st, &purged), TS_OK);
	cr_assert_eq(purged, 1);
	cr_assert_eq(fk.destroyed, 1);
	session_close(s, NULL, NULL); /* frees its records of them, destroys nothing */
	cr_assert_eq(svc_recover_keys(st, &purged), TS_OK);
	cr_assert_eq(purged, 0);
	cr_assert_eq(ks_get(ks, &legacy, "f", &rec), TS_OK);
	ks_record_clear(&rec);
}

Test(session, key_derivation_capacity_and_output)
{
	struct session *s = session_new();
	struct pb hkdf = alg_hkdf(), b = {0};
	uint8_t got[64];
	struct result r;
	uint32_t h;

	r = setup_op(s, "alice", 8, NULL, &hkdf);
	cr_assert_eq(r.status, 0);
	h = (uint32_t)result_uint(&r);
	f_uint(&b, 1, h);
	f_uint(&b, 2, 0x0101);
	f_str(&b, 3, "secret");
	cr_assert_eq(run(s, WIRE_OP_PSA_KDF_INPUT, "alice", &b).status, 0);
	b = (struct pb){0};
	f_uint(&b, 1, h);
	r = run(s, WIRE_OP_PSA_KDF_CAPACITY, "alice", &b);
	cr_assert_eq(result_uint(&r), 100);
	f_uint(&b, 2, 1);
	f_uint(&b, 3, 101);
	cr_assert_eq(run(s, WIRE_OP_PSA_KDF_CAPACITY, "alice", &b).status, 1135, "only lower");
	b = (struct pb){0};
	f_uint(&b, 1, h);
	f_uint(&b, 2, 1);
	f_uint(&b, 3, 40);
	r = run(s, WIRE_OP_PSA_KDF_CAPACITY, "alice", &b);
	cr_assert_eq(result_uint(&r), 40);
	b = (struct pb){0};
	f_uint(&b, 1, h);
	f_uint(&b, 2, 32);
	r = run(s, WIRE_OP_PSA_KDF_OUTPUT, "alice", &b);
	cr_assert_eq(r.status, 0);
	cr_assert_eq(result_bytes(&r, 1, got), 32);
	cr_assert_eq(got[31], 31);
	r = run(s, WIRE_OP_PSA_KDF_OUTPUT, "alice", &b);
	cr_assert_eq(r.status, 1143, "8 left, 32 asked");
	b = (struct pb){0};
	f_uint(&b, 1, h);
	r = run(s, WIRE_OP_PSA_KDF_CAPACITY, "alice", &b);
	cr_assert_eq(r.status, 0);
	cr_assert_eq(r.body_len, 0, "capacity 0 (a default value packs to nothing)");
	cr_assert_eq(abort_op(s, "alice", h), 0);
	cr_assert_eq(fk.live, 0);
	session_close(s, st, NULL);
}

Test(session, key_derivation_makes_a_volatile_key)
{
	struct session *s = session_new();
	struct pb hkdf = alg_hkdf(), none = {0}, b = {0}, empty = {0};
	struct pb out_attrs;
	struct result r;
	uint32_t h;

	f_msg(&none, 1, &empty);
	out_attrs = attrs(3, 256, U_DERIVE, &none);
	r = setup_op(s, "alice", 8, NULL, &hkdf);
	h = (uint32_t)result_uint(&r);
	f_uint(&b, 1, h);
	f_str(&b, 3, ".volatile/derived");
	f_msg(&b, 4, &out_attrs);
	cr_assert_eq(run(s, WIRE_OP_PSA_KDF_OUTPUT, "alice", &b).status, 1135, "no volatile flag");
	r = setup_op(s, "alice", 8, NULL, &hkdf);
	h = (uint32_t)result_uint(&r);
	b = (struct pb){0};
	f_uint(&b, 1, h);
	f_str(&b, 3, ".volatile/derived");
	f_msg(&b, 4, &out_attrs);
	f_uint(&b, 1000, 1);
	cr_assert_eq(run(s, WIRE_OP_PSA_KDF_OUTPUT, "alice", &b).status, 0);
	cr_assert(session_holds(s));
	b = (struct pb){0};
	f_uint(&b, 1, h);
	r = run(s, WIRE_OP_PSA_KDF_CAPACITY, "alice", &b);
	cr_assert_eq(result_uint(&r), 100 - 32);
	session_close(s, st, NULL);
	cr_assert_eq(fk.destroyed, 1);
}

Test(session, a_key_agreement_input_feeds_the_shared_secret)
{
	struct session *s = session_new();
	struct pb h = {0}, hkdf = {0}, with = {0}, ka = {0}, alg = {0};
	struct pb fam = {0}, t = {0}, u = {0}, pol = {0}, a = {0}, b = {0}, other = {0};
	struct result r;
	uint32_t handle;

	/* ECDH followed by HKDF-SHA-256. */
	f_uint(&h, 1, 7);
	f_msg(&hkdf, 1, &h);
	f_uint(&with, 1, 2);
	f_msg(&with, 2, &hkdf);
	f_msg(&ka, 2, &with);
	f_msg(&alg, 8, &ka);
	/* A P-256 key pair allowed to derive with exactly that. */
	f_uint(&fam, 1, 2);
	f_msg(&t, 11, &fam);
	f_uint(&u, 10, 1);
	f_msg(&pol, 1, &u);
	f_msg(&pol, 2, &alg);
	f_msg(&a, 1, &t);
	f_uint(&a, 2, 256);
	f_msg(&a, 3, &pol);
	cr_assert_eq(import(s, "alice", "ec", false, &a, "private key bytes"), 0);
	r = setup_op(s, "alice", 8, NULL, &alg);
	cr_assert_eq(r.status, 0);
	handle = (uint32_t)result_uint(&r);
	f_uint(&b, 1, handle);
	f_uint(&b, 2, 0x0101);
	f_str(&b, 4, "ec");
	f_str(&b, 7, "peer public key");
	f_uint(&b, 8, 1);
	cr_assert_eq(run(s, WIRE_OP_PSA_KDF_INPUT, "alice", &b).status, 0);
	cr_assert_eq(fk.last_step, 0x0101);
	cr_assert_eq(fk.last_input_len, 6);
	cr_assert_arr_eq(fk.last_input, "shared", 6);
	cr_assert_eq(fk.agreed_alg.cls, PSA_AC_KEY_AGREEMENT);
	cr_assert_eq(fk.agreed_alg.kdf, 0, "the raw agreement runs, the KDF is the operation's");
	cr_assert_eq(abort_op(s, "alice", handle), 0);
	/* A key whose policy is another algorithm may not. */
	r = setup_op(s, "alice", 8, NULL, &alg);
	handle = (uint32_t)result_uint(&r);
	f_msg(&other, 9, &hkdf);
	pol = (struct pb){0};
	f_msg(&pol, 1, &u);
	f_msg(&pol, 2, &other);
	a = (struct pb){0};
	f_msg(&a, 1, &t);
	f_uint(&a, 2, 256);
	f_msg(&a, 3, &pol);
	cr_assert_eq(import(s, "alice", "ec2", false, &a, "private key bytes"), 0);
	b = (struct pb){0};
	f_uint(&b, 1, handle);
	f_uint(&b, 2, 0x0101);
	f_str(&b, 4, "ec2");
	f_str(&b, 7, "peer public key");
	f_uint(&b, 8, 1);
	cr_assert_eq(run(s, WIRE_OP_PSA_KDF_INPUT, "alice", &b).status, 1133);
	cr_assert_eq(fk.live, 0, "the refused derivation is freed");
	session_close(s, st, NULL);
}

Test(session, malformed_bodies_and_missing_identities_are_refused_before_anything)
{
	struct session *s = session_new();
	struct pb a = alg_sha256(), b = {0};
	struct auth_peer peer = {.valid = true, .uid = 1000};
	struct wire_header h, out;
	struct dispatch_reply reply = {0};
	struct result r;

	r = setup_op(s, "alice", 0, NULL, &a);
	cr_assert_eq(r.status, 16, "kind NONE");
	r = setup_op(s, "alice", 9, NULL, &a);
	cr_assert_eq(r.status, 16, "an unknown kind");
	f_uint(&b, 1, 1);
	cr_assert_eq(run(s, WIRE_OP_PSA_OP_SETUP, "alice", &b).status, 16, "no algorithm");
	r = setup_op(s, "alice", 1, "a key", &a);
	cr_assert_eq(r.status, 1135, "a hash takes no key");
	cr_assert_eq(update(s, "alice", 0, "x"), 1137, "handle 0");
	cr_assert_eq(finish(s, "alice", 12345).status, 1137, "a handle never issued");
	/* No authentication: NotAuthenticated, and nothing was opened. */
	b = (struct pb){0};
	f_uint(&b, 1, 1);
	f_msg(&b, 3, &a);
	wire_header_request(&h, WIRE_OP_PSA_OP_SETUP, 1, 0, (uint32_t)b.n, 0);
	dispatch_request_session(st, &peer, &h, b.b, s, &reply);
	wire_header_decode(dispatch_reply_bytes(&reply), &out);
	dispatch_reply_free(&reply);
	cr_assert_eq(out.status, 19);
	cr_assert_not(session_holds(s));
	session_close(s, st, NULL);
}
