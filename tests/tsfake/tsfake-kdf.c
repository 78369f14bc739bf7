/*
 * The test endpoint's key-derivation family (opcodes 0x0401-0x0408) on
 * OpenSSL's EVP_KDF HKDF and TLS1-PRF, with what the service and the Mbed
 * TLS behind it do (TS v1.2.0's key_derivation_provider.c, Mbed TLS 3.6):
 *   - a pool of 10 derivation contexts of its own that recycles the least
 *     recently allocated one when full; a handle not in it is BAD_STATE,
 *     except for ABORT, which succeeds;
 *   - every KDF's initial capacity is 255 times its hash's length, and the
 *     TLS ones take only SHA-256 and SHA-384;
 *   - input order: HKDF's salt before its secret (none: an empty one), its
 *     info once, both before output; TLS's seed, (PSK-to-MS's other
 *     secret,) secret, label, all before output; a step the KDF does not
 *     take is INVALID_ARGUMENT, an input out of order BAD_STATE, and a
 *     failed input aborts the operation (every later call BAD_STATE); the
 *     other secret is INVALID_ARGUMENT in any form, as the real partition
 *     answers (its premaster code below is kept for the day it does not);
 *   - an input key: ID 0 or one not there is INVALID_HANDLE, one without
 *     DERIVE usage or another algorithm NOT_PERMITTED, DERIVE keys for the
 *     secrets and RAW_DATA ones for the other steps, else INVALID_ARGUMENT;
 *   - an output past the capacity is INSUFFICIENT_DATA and spends it;
 *   - a key agreement followed by a KDF (0x0409 KEY_AGREEMENT): set up with
 *     the full value, its agreement step ECDH on the fake's key pair with
 *     the policy checks of Mbed TLS (DERIVE usage, the key's algorithm the
 *     operation's, else NOT_PERMITTED; a raw agreement is refused for such
 *     a key by the plain policy check), the secret going in as that step.
 * OpenSSL derives a whole output at once: each output derives everything up
 * to its end again and answers the new bytes.
 */
#include "tsfake-priv.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include "common/secmem.h"

#define STEP_SECRET       0x0101u
#define STEP_OTHER_SECRET 0x0102u
#define STEP_LABEL        0x0201u
#define STEP_SALT         0x0202u
#define STEP_INFO         0x0203u
#define STEP_SEED         0x0204u

#define PSK_MAX 128 /* PSA_TLS12_PSK_TO_MS_PSK_MAX_SIZE */

enum { HKDF = 1, TLS_PRF = 2, PSK_TO_MS = 3 };
/* Inputs so far, in the order each KDF takes them. */
enum { ST_INIT, ST_SALT, ST_KEYED, ST_SEED, ST_OTHER, ST_SECRET, ST_LABEL, ST_OUTPUT };

struct buf {
	uint8_t *p;
	size_t len;
};

struct fkdf {
	bool used;
	bool dead; /* aborted by a failed input: alg 0 in Mbed TLS */
	uint32_t handle;
	uint64_t seq;
	int kind;
	uint32_t alg;   /* as set up, for the input keys' policy */
	bool agreement; /* a key agreement followed by the KDF */
	const EVP_MD *md;
	int state;
	bool info_set;
	uint64_t capacity, pos;
	struct buf salt, secret, info, seed, other, label;
};

struct kdf_pool {
	struct fkdf ops[POOL];
};

static void buf_clear(struct buf *b)
{
	ts_free_secret(b->p, b->len);
	b->p = NULL;
	b->len = 0;
}

static bool buf_set(struct buf *b, const uint8_t *v, size_t len)
{
	buf_clear(b);
	b->p = malloc(len > 0 ? len : 1);
	if (b->p == NULL)
		return false;
	if (len > 0)
		memcpy(b->p, v, len);
	b->len = len;
	return true;
}

static void kdf_clear(struct fkdf *d)
{
	buf_clear(&d->salt);
	buf_clear(&d->secret);
	buf_clear(&d->info);
	buf_clear(&d->seed);
	buf_clear(&d->other);
	buf_clear(&d->label);
	OPENSSL_cleanse(d, sizeof(*d));
}

void tsfake_kdf_free(struct tsfake *f)
{
	struct kdf_pool *pool = f->kdf;

	if (pool == NULL)
		return;
	for (int i = 0; i < POOL; i++)
		if (pool->ops[i].used)
			kdf_clear(&pool->ops[i]);
	free(pool);
	f->kdf = NULL;
}

static struct kdf_pool *pool_of(struct call *c)
{
	if (c->f->kdf == NULL)
		c->f->kdf = calloc(1, sizeof(struct kdf_pool));
	if (c->f->kdf == NULL)
		c->rpc = TSC_RPC_RESOURCE_FAILURE;
	return c->f->kdf;
}

static struct fkdf *kdf_new(struct call *c)
{
	struct kdf_pool *pool = pool_of(c);
	struct fkdf *pick = NULL;

	if (pool == NULL)
		return NULL;
	for (int i = 0; i < POOL && pick == NULL; i++)
		if (!pool->ops[i].used)
			pick = &pool->ops[i];
	if (pick == NULL) {
		pick = &pool->ops[0];
		for (int i = 1; i < POOL; i++)
			if (pool->ops[i].seq < pick->seq)
				pick = &pool->ops[i];
		kdf_clear(pick);
	}
	pick->used = true;
	pick->handle = ++c->f->next_handle;
	pick->seq = ++c->f->seq;
	return pick;
}

/* The operation whose handle the request starts with; NULL with BAD_STATE
 * (or RPC -6 for a short body) when there is none. */
static struct fkdf *kdf_of(struct call *c)
{
	struct kdf_pool *pool = pool_of(c);
	uint32_t h;

	if (pool == NULL || !tsfake_u32_at(c, 0, &h))
		return NULL;
	for (int i = 0; i < POOL; i++)
		if (pool->ops[i].used && pool->ops[i].handle == h)
			return &pool->ops[i];
	c->service = TSC_PSA_ERROR_BAD_STATE;
	return NULL;
}

static void setup(struct call *c)
{
	struct psa_alg a = {0};
	struct fkdf *d;
	uint32_t alg;
	bool agreement;

	if (!tsfake_u32_at(c, 0, &alg))
		return;
	d = kdf_new(c);
	if (d == NULL)
		return;
	agreement = (alg & 0x7f000000u) == 0x09000000u && (alg & 0xffffu) != 0;
	/* a stays all zeros (no class) for a value not known */
	if (tsp_alg_back(alg, &a) == TS_OK && agreement) {
		/* ECDH only, then the KDF as a plain one */
		a.cls = a.kind == PSA_KA_ECDH ? PSA_AC_KDF : PSA_AC_NONE;
		a.kind = a.kdf;
		a.hash = a.kdf_hash;
	}
	if ((alg & 0x7f000000u) != 0x08000000u && !agreement) {
		c->service =
		        TSC_PSA_ERROR_INVALID_ARG; /* neither a KDF nor one after an agreement */
	} else if (a.cls != PSA_AC_KDF || sw_md(a.hash) == NULL ||
	           (a.kind != HKDF && a.hash != PROV_HASH_SHA_256 && a.hash != PROV_HASH_SHA_384)) {
		c->service = TSC_PSA_ERROR_NOT_SUPPORTED;
	} else {
		d->agreement = agreement;
		d->kind = a.kind;
		d->alg = alg;
		d->md = sw_md(a.hash);
		d->capacity = 255 * (uint64_t)EVP_MD_get_size(d->md);
		tsfake_answer_id(c, d->handle);
		return;
	}
	kdf_clear(d);
}

/* One input by step, as Mbed TLS orders them; a PSA status. */
static int32_t take_input(struct fkdf *d, uint32_t step, const uint8_t *v, size_t len)
{
	struct buf *into = NULL;
	int next = d->state;

	if (d->state == ST_OUTPUT)
		return TSC_PSA_ERROR_BAD_STATE;
	if (d->kind == HKDF) {
		switch (step) {
		case STEP_SALT:
			if (d->state != ST_INIT)
				return TSC_PSA_ERROR_BAD_STATE;
			into = &d->salt;
			next = ST_SALT;
			break;
		case STEP_SECRET:
			if (d->state != ST_INIT && d->state != ST_SALT)
				return TSC_PSA_ERROR_BAD_STATE;
			into = &d->secret;
			next = ST_KEYED;
			break;
		case STEP_INFO:
			if (d->info_set)
				return TSC_PSA_ERROR_BAD_STATE;
			into = &d->info;
			d->info_set = true;
			break;
		default:
			return TSC_PSA_ERROR_INVALID_ARG;
		}
	} else {
		switch (step) {
		case STEP_SEED:
			if (d->state != ST_INIT)
				return TSC_PSA_ERROR_BAD_STATE;
			into = &d->seed;
			next = ST_SEED;
			break;
		case STEP_OTHER_SECRET:
			if (d->kind != PSK_TO_MS)
				return TSC_PSA_ERROR_INVALID_ARG;
			if (d->state != ST_SEED)
				return TSC_PSA_ERROR_BAD_STATE;
			into = &d->other;
			next = ST_OTHER;
			break;
		case STEP_SECRET:
			if (d->state != ST_SEED && d->state != ST_OTHER)
				return TSC_PSA_ERROR_BAD_STATE;
			if (d->kind == PSK_TO_MS && len > PSK_MAX)
				return TSC_PSA_ERROR_INVALID_ARG;
			into = &d->secret;
			next = ST_SECRET;
			break;
		case STEP_LABEL:
			if (d->state != ST_SECRET)
				return TSC_PSA_ERROR_BAD_STATE;
			into = &d->label;
			next = ST_LABEL;
			break;
		default:
			return TSC_PSA_ERROR_INVALID_ARG;
		}
	}
	if (!buf_set(into, v, len))
		return TSC_PSA_ERROR_INSUFF_MEMORY;
	d->state = next;
	return TSC_PSA_SUCCESS;
}

static void input(struct call *c, const uint8_t *v, size_t len, uint32_t step, bool from_key)
{
	struct fkdf *d = kdf_of(c);
	int32_t st;

	if (d == NULL)
		return;
	if (d->dead) {
		c->service = TSC_PSA_ERROR_BAD_STATE;
		return;
	}
	/* TS v1.2.0's partition refuses PSK-to-MS's other secret, as bytes or
	 * as a DERIVE key (seen on its linux-pc libts). */
	(void)from_key;
	st = step == STEP_OTHER_SECRET ? TSC_PSA_ERROR_INVALID_ARG : take_input(d, step, v, len);
	if (st != TSC_PSA_SUCCESS)
		d->dead = true;
	c->service = st;
}

static void input_bytes(struct call *c)
{
	const uint8_t *v;
	size_t len;
	uint32_t step;

	if (!tsfake_u32_at(c, 4, &step) || !tsfake_tlv(c, 8, TSC_TAG_1, &v, &len))
		return;
	input(c, v, len, step, false);
}

static void input_key(struct call *c)
{
	struct fkdf *d;
	struct fkey *k;
	uint32_t step, id, h;
	bool secret;

	if (!tsfake_u32_at(c, 0, &h) || !tsfake_u32_at(c, 4, &step) || !tsfake_u32_at(c, 8, &id))
		return;
	if (id == 0) {
		c->service = TSC_PSA_ERROR_INVALID_HANDLE;
		return;
	}
	d = kdf_of(c);
	if (d == NULL)
		return;
	if (d->dead) {
		c->service = TSC_PSA_ERROR_BAD_STATE;
		return;
	}
	k = tsfake_key_at(c, 8, NULL);
	secret = step == STEP_SECRET || step == STEP_OTHER_SECRET;
	if (k == NULL) {
		/* INVALID_HANDLE set */
	} else if (!(k->raw.usage & 0x4000u) || !tsfake_alg_permitted(k, d->alg)) {
		c->service = TSC_PSA_ERROR_NOT_PERMITTED;
	} else if (secret ? k->a.type != PSA_KT_DERIVE : k->a.type != PSA_KT_RAW_DATA) {
		c->service = TSC_PSA_ERROR_INVALID_ARG;
	} else {
		input(c, k->mat, k->mat_len, step, true);
		return;
	}
	d->dead = true;
}

/* KEY_AGREEMENT { op_handle, step, private_key_id } + T1 the peer key. */
static void key_agreement(struct call *c)
{
	const struct psa_alg ecdh = {.cls = PSA_AC_KEY_AGREEMENT, .kind = PSA_KA_ECDH};
	const uint8_t *peer;
	uint8_t *secret = NULL;
	size_t peer_len, len = 0;
	struct fkdf *d;
	struct fkey *k;
	uint32_t step, id, h;
	enum ts_err err;

	if (!tsfake_u32_at(c, 0, &h) || !tsfake_u32_at(c, 4, &step) || !tsfake_u32_at(c, 8, &id) ||
	    !tsfake_tlv(c, 12, TSC_TAG_1, &peer, &peer_len))
		return;
	d = kdf_of(c);
	if (d == NULL)
		return;
	if (d->dead) {
		c->service = TSC_PSA_ERROR_BAD_STATE;
		return;
	}
	k = id != 0 ? tsfake_key_at(c, 8, NULL) : NULL;
	if (id == 0) {
		c->service = TSC_PSA_ERROR_INVALID_HANDLE;
	} else if (k == NULL) {
		/* INVALID_HANDLE set */
	} else if (!d->agreement) {
		c->service = TSC_PSA_ERROR_INVALID_ARG;
	} else if (!(k->raw.usage & 0x4000u) || !tsfake_alg_permitted(k, d->alg)) {
		c->service = TSC_PSA_ERROR_NOT_PERMITTED;
	} else if (k->a.type != PSA_KT_ECC_PAIR) {
		c->service = TSC_PSA_ERROR_INVALID_ARG;
	} else {
		err = sw_key_agreement(c->f->sw, &k->a, k->mat, k->mat_len, &ecdh, peer, peer_len,
		                       &secret, &len);
		if (err != TS_OK) {
			tsfake_set_err(c, err);
		} else {
			input(c, secret, len, step, true);
			ts_free_secret(secret, len);
			return;
		}
	}
	d->dead = true;
}

/* PSK-to-MS's premaster secret (RFC 4279 2, RFC 5489 2): the other secret
 * (or as many zeros as the PSK has bytes) and the PSK, each after its
 * 16-bit length. */
static bool premaster(const struct fkdf *d, struct buf *ret)
{
	size_t olen = d->state >= ST_OTHER && d->other.p != NULL ? d->other.len : d->secret.len;
	size_t len = 4 + olen + d->secret.len;
	uint8_t *p = calloc(1, len);

	if (p == NULL)
		return false;
	p[0] = (uint8_t)(olen >> 8);
	p[1] = (uint8_t)olen;
	if (d->other.p != NULL)
		memcpy(p + 2, d->other.p, olen);
	p[2 + olen] = (uint8_t)(d->secret.len >> 8);
	p[3 + olen] = (uint8_t)d->secret.len;
	memcpy(p + 4 + olen, d->secret.p, d->secret.len);
	ret->p = p;
	ret->len = len;
	return true;
}

/* The first len bytes of the KDF's output into out. */
static bool derive(const struct fkdf *d, uint8_t *out, size_t len)
{
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, d->kind == HKDF ? "HKDF" : "TLS1-PRF", NULL);
	EVP_KDF_CTX *kctx = kdf != NULL ? EVP_KDF_CTX_new(kdf) : NULL;
	struct buf secret = {0}, ls = {0};
	OSSL_PARAM params[5], *q = params;
	bool ok = kctx != NULL;

	*q++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
	                                        (char *)EVP_MD_get0_name(d->md), 0);
	if (d->kind == HKDF) {
		static uint8_t none;

		*q++ = OSSL_PARAM_construct_octet_string(
		        OSSL_KDF_PARAM_KEY, d->secret.len > 0 ? d->secret.p : &none, d->secret.len);
		if (d->salt.len > 0)
			*q++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, d->salt.p,
			                                         d->salt.len);
		if (d->info.len > 0)
			*q++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, d->info.p,
			                                         d->info.len);
	} else {
		/* P_hash(secret, label || seed) */
		if (d->kind == PSK_TO_MS)
			ok = ok && premaster(d, &secret);
		else
			ok = ok && buf_set(&secret, d->secret.p, d->secret.len);
		ls.len = d->label.len + d->seed.len;
		ls.p = malloc(ls.len > 0 ? ls.len : 1);
		ok = ok && ls.p != NULL;
		if (ok) {
			if (d->label.len > 0)
				memcpy(ls.p, d->label.p, d->label.len);
			if (d->seed.len > 0)
				memcpy(ls.p + d->label.len, d->seed.p, d->seed.len);
			*q++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SECRET, secret.p,
			                                         secret.len);
			*q++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SEED, ls.p, ls.len);
		}
	}
	*q = OSSL_PARAM_construct_end();
	ok = ok && EVP_KDF_derive(kctx, out, len, params) == 1;
	buf_clear(&secret);
	buf_clear(&ls);
	EVP_KDF_CTX_free(kctx);
	EVP_KDF_free(kdf);
	return ok;
}

static void output_bytes(struct call *c)
{
	struct fkdf *d = kdf_of(c);
	uint8_t *all;
	uint64_t total;
	uint32_t len;

	if (d == NULL || !tsfake_u32_at(c, 4, &len))
		return;
	if (d->dead) {
		c->service = TSC_PSA_ERROR_BAD_STATE;
		return;
	}
	if (len > d->capacity || (len == 0 && d->capacity == 0)) {
		d->capacity = 0;
		c->service = TSC_PSA_ERROR_INSUFF_DATA;
		return;
	}
	if (d->kind == HKDF ? d->state < ST_KEYED || !d->info_set : d->state < ST_LABEL) {
		d->capacity = 0; /* Mbed TLS aborts the operation inside */
		c->service = TSC_PSA_ERROR_BAD_STATE;
		return;
	}
	d->state = ST_OUTPUT;
	total = d->pos + len;
	all = malloc(total + 1);
	if (all == NULL) {
		c->service = TSC_PSA_ERROR_INSUFF_MEMORY;
		return;
	}
	if (len > 0 && !derive(d, all, total)) {
		c->service = TSC_PSA_ERROR_GENERIC;
	} else {
		d->capacity -= len;
		d->pos = total;
		tsfake_answer_data(c, all + total - len, len);
	}
	ts_free_secret(all, total + 1);
}

static void capacity(struct call *c)
{
	struct fkdf *d = kdf_of(c);

	if (d == NULL)
		return;
	if (d->dead) {
		c->service = TSC_PSA_ERROR_BAD_STATE;
		return;
	}
	/* The answer is a u32: the service truncates its size_t. */
	tsfake_answer_id(c, d->capacity > UINT32_MAX ? UINT32_MAX : (uint32_t)d->capacity);
}

static void set_capacity(struct call *c)
{
	struct fkdf *d = kdf_of(c);
	uint32_t cap;

	if (d == NULL || !tsfake_u32_at(c, 4, &cap))
		return;
	if (d->dead)
		c->service = TSC_PSA_ERROR_BAD_STATE;
	else if (cap > d->capacity)
		c->service = TSC_PSA_ERROR_INVALID_ARG;
	else
		d->capacity = cap;
}

static void abort_op(struct call *c)
{
	struct fkdf *d = kdf_of(c);

	if (d != NULL)
		kdf_clear(d);
	else if (c->rpc == 0)
		c->service = TSC_PSA_SUCCESS; /* nothing to abort */
}

bool tsfake_kdf(struct call *c, uint32_t opcode)
{
	switch (opcode) {
	case TSC_OP_KDF_SETUP:
		setup(c);
		return true;
	case TSC_OP_KDF_GET_CAPACITY:
		capacity(c);
		return true;
	case TSC_OP_KDF_SET_CAPACITY:
		set_capacity(c);
		return true;
	case TSC_OP_KDF_INPUT_BYTES:
		input_bytes(c);
		return true;
	case TSC_OP_KDF_INPUT_KEY:
		input_key(c);
		return true;
	case TSC_OP_KDF_OUTPUT_BYTES:
		output_bytes(c);
		return true;
	case TSC_OP_KDF_ABORT:
		abort_op(c);
		return true;
	case TSC_OP_KDF_KEY_AGREEMENT:
		key_agreement(c);
		return true;
	default:
		return false;
	}
}
