/* The test endpoint: packed-c in, software-provider crypto, packed-c out. */
#include "tsfake-priv.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "common/secmem.h"

/* ---- the persistent store: id, attribute block, material length, material ---- */

static void put_u32(FILE *fp, uint32_t v)
{
	uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};

	(void)fwrite(b, 1, 4, fp);
}

static bool get_u32(FILE *fp, uint32_t *v)
{
	uint8_t b[4];

	if (fread(b, 1, 4, fp) != 4)
		return false;
	return tsc_r_u32(b, 4, 0, v);
}

static void save(struct tsfake *f)
{
	char tmp[4200];
	FILE *fp;

	if (f->store == NULL)
		return;
	snprintf(tmp, sizeof(tmp), "%s.tmp", f->store);
	fp = fopen(tmp, "wb");
	if (fp == NULL)
		return;
	for (size_t i = 0; i < f->n; i++) {
		const struct fkey *k = &f->keys[i];

		if (k->raw.lifetime == TSC_LIFETIME_VOLATILE)
			continue;
		put_u32(fp, k->id);
		put_u32(fp, k->raw.type);
		put_u32(fp, k->raw.bits);
		put_u32(fp, k->raw.lifetime);
		put_u32(fp, k->raw.id);
		put_u32(fp, k->raw.usage);
		put_u32(fp, k->raw.alg);
		put_u32(fp, (uint32_t)k->mat_len);
		(void)fwrite(k->mat, 1, k->mat_len, fp);
	}
	if (fclose(fp) == 0)
		(void)rename(tmp, f->store);
}

static bool load(struct tsfake *f)
{
	FILE *fp = fopen(f->store, "rb");
	uint32_t id;

	if (fp == NULL)
		return true; /* nothing stored yet */
	while (f->n < MAX_KEYS && get_u32(fp, &id)) {
		struct fkey *k = &f->keys[f->n];
		uint32_t len = 0;

		k->id = id;
		if (!get_u32(fp, &k->raw.type) || !get_u32(fp, &k->raw.bits) ||
		    !get_u32(fp, &k->raw.lifetime) || !get_u32(fp, &k->raw.id) ||
		    !get_u32(fp, &k->raw.usage) || !get_u32(fp, &k->raw.alg) ||
		    !get_u32(fp, &len) || len > 65536 || tsp_attrs_back(&k->raw, &k->a) != 0)
			break;
		k->a.bits = k->raw.bits;
		k->mat = malloc(len > 0 ? len : 1);
		if (k->mat == NULL || fread(k->mat, 1, len, fp) != len) {
			free(k->mat);
			k->mat = NULL;
			break;
		}
		k->mat_len = len;
		f->n++;
	}
	fclose(fp);
	return true;
}

struct tsfake *tsfake_new(const char *store_path)
{
	struct tsfake *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return NULL;
	f->next_volatile = VOLATILE_FIRST;
	if (sw_init(&f->sw) != 0 ||
	    (store_path != NULL && (f->store = strdup(store_path)) == NULL) ||
	    (f->store != NULL && !load(f))) {
		tsfake_free(f);
		return NULL;
	}
	return f;
}

void tsfake_free(struct tsfake *f)
{
	if (f == NULL)
		return;
	for (size_t i = 0; i < f->n; i++)
		ts_free_secret(f->keys[i].mat, f->keys[i].mat_len);
	tsfake_multipart_free(f);
	tsfake_kdf_free(f);
	if (f->sw != NULL)
		sw_fini(f->sw);
	free(f->store);
	free(f);
}

void tsfake_force(struct tsfake *f, int32_t rpc, int32_t service)
{
	f->force_rpc = rpc;
	f->force_service = service;
}

size_t tsfake_key_count(const struct tsfake *f)
{
	return f->n;
}

unsigned tsfake_purge_count(const struct tsfake *f)
{
	return f->purges;
}

static struct fkey *find(struct tsfake *f, uint32_t id)
{
	for (size_t i = 0; i < f->n; i++)
		if (f->keys[i].id == id)
			return &f->keys[i];
	return NULL;
}

/* ---- one call ---- */

/* An optional TLV: absent is empty, like the service. false (and RPC -6)
 * for a record that runs past the body. */
bool tsfake_tlv(struct call *c, size_t off, uint16_t tag, const uint8_t **v, size_t *len)
{
	switch (tsc_find_tlv(c->buf, c->req_len, off, tag, v, len)) {
	case TSC_FOUND:
		return true;
	case TSC_ABSENT:
		*v = (const uint8_t *)"";
		*len = 0;
		return true;
	default:
		c->rpc = TSC_RPC_INVALID_REQUEST_BODY;
		return false;
	}
}

bool tsfake_u32_at(struct call *c, size_t off, uint32_t *v)
{
	if (!tsc_r_u32(c->buf, c->req_len, off, v)) {
		c->rpc = TSC_RPC_INVALID_REQUEST_BODY;
		return false;
	}
	return true;
}

void tsfake_answer_id(struct call *c, uint32_t id)
{
	struct tsc_writer w;

	tsc_w_init(&w, c->buf, c->cap);
	tsc_w_u32(&w, id);
	if (tsc_w_finish(&w, &c->resp_len) != 0)
		c->rpc = TSC_RPC_INTERNAL;
}

/* T1 out of data (which may lie in buf: it is copied first). */
void tsfake_answer_data(struct call *c, const uint8_t *data, size_t len)
{
	uint8_t *copy = malloc(len > 0 ? len : 1);
	struct tsc_writer w;

	if (copy == NULL) {
		c->rpc = TSC_RPC_RESOURCE_FAILURE;
		return;
	}
	if (len > 0)
		memcpy(copy, data, len);
	tsc_w_init(&w, c->buf, c->cap);
	tsc_w_tlv(&w, TSC_TAG_1, copy, len);
	if (tsc_w_finish(&w, &c->resp_len) != 0)
		c->rpc = TSC_RPC_INTERNAL; /* the answer does not fit the buffer */
	ts_free_secret(copy, len);
}

void tsfake_set_err(struct call *c, enum ts_err err)
{
	c->service = tsc_err_to_psa(err);
}

/* The usage widening Mbed TLS does. */
static uint32_t widen(uint32_t usage)
{
	if (usage & 0x1000u)
		usage |= 0x0400u;
	if (usage & 0x2000u)
		usage |= 0x0800u;
	return usage;
}

static void op_create(struct call *c, bool import)
{
	struct tsfake *f = c->f;
	struct tsc_attrs raw;
	struct psa_attrs a;
	const uint8_t *data = NULL;
	size_t data_len = 0;
	uint8_t *mat = NULL;
	size_t mat_len = 0;
	uint32_t bits = 0, id;
	enum ts_err err;

	if (!tsc_r_attrs(c->buf, c->req_len, 0, &raw)) {
		c->rpc = TSC_RPC_INVALID_REQUEST_BODY;
		return;
	}
	if (import && !tsfake_tlv(c, TSC_ATTRS_LEN, TSC_TAG_1, &data, &data_len))
		return;
	if (tsp_attrs_back(&raw, &a) != 0) {
		c->service = TSC_PSA_ERROR_NOT_SUPPORTED;
		return;
	}
	if (raw.lifetime == TSC_LIFETIME_VOLATILE) {
		id = f->next_volatile++;
	} else {
		id = raw.id;
		if (id == 0 || id > 0x3fffffffu) {
			c->service = TSC_PSA_ERROR_INVALID_ARG;
			return;
		}
		if (find(f, id) != NULL) {
			c->service = TSC_PSA_ERROR_ALREADY_EXISTS;
			return;
		}
	}
	if (f->n == MAX_KEYS) {
		c->service = TSC_PSA_ERROR_INSUFF_STORAGE;
		return;
	}
	if (import)
		err = sw_import_key(f->sw, &a, data, data_len, &mat, &mat_len, &bits);
	else
		err = sw_generate_key(f->sw, &a, &mat, &mat_len);
	if (err != 0) {
		tsfake_set_err(c, err);
		return;
	}
	if (import) {
		if (raw.bits != 0 && raw.bits != bits) {
			ts_free_secret(mat, mat_len);
			c->service = TSC_PSA_ERROR_INVALID_ARG;
			return;
		}
		raw.bits = bits;
		a.bits = bits;
	}
	raw.id = id;
	raw.usage = widen(raw.usage);
	f->keys[f->n++] =
	        (struct fkey){.id = id, .raw = raw, .a = a, .mat = mat, .mat_len = mat_len};
	save(f);
	tsfake_answer_id(c, id);
}

/* COPY_KEY: the source's material under a new persistent ID, with the
 * requested policy narrowed by the source's (PSA's rule, as the service
 * applies it): the source needs the COPY flag; type and size are the
 * source's or zero. */
static void op_copy(struct call *c)
{
	struct tsfake *f = c->f;
	struct fkey *src = tsfake_key_of(c, NULL);
	struct tsc_attrs raw;
	uint8_t *mat;

	if (src == NULL)
		return;
	if (!tsc_r_attrs(c->buf, c->req_len, 4, &raw)) {
		c->rpc = TSC_RPC_INVALID_REQUEST_BODY;
		return;
	}
	if (!(src->raw.usage & 0x2u)) {
		c->service = TSC_PSA_ERROR_NOT_PERMITTED;
		return;
	}
	if ((raw.type != 0 && raw.type != src->raw.type) ||
	    (raw.bits != 0 && raw.bits != src->raw.bits) ||
	    (raw.alg != 0 && src->raw.alg != 0 && raw.alg != src->raw.alg)) {
		c->service = TSC_PSA_ERROR_INVALID_ARG;
		return;
	}
	if (raw.lifetime == TSC_LIFETIME_VOLATILE || raw.id == 0 || raw.id > 0x3fffffffu) {
		c->service = TSC_PSA_ERROR_INVALID_ARG;
		return;
	}
	if (find(f, raw.id) != NULL) {
		c->service = TSC_PSA_ERROR_ALREADY_EXISTS;
		return;
	}
	if (f->n == MAX_KEYS) {
		c->service = TSC_PSA_ERROR_INSUFF_STORAGE;
		return;
	}
	mat = malloc(src->mat_len > 0 ? src->mat_len : 1);
	if (mat == NULL) {
		c->service = TSC_PSA_ERROR_INSUFF_MEMORY;
		return;
	}
	memcpy(mat, src->mat, src->mat_len);
	raw.type = src->raw.type;
	raw.bits = src->raw.bits;
	raw.usage = widen(raw.usage) & src->raw.usage;
	if (raw.alg == 0)
		raw.alg = src->raw.alg;
	f->keys[f->n++] = (struct fkey){
	        .id = raw.id, .raw = raw, .a = src->a, .mat = mat, .mat_len = src->mat_len};
	save(f);
	tsfake_answer_id(c, raw.id);
}

struct fkey *tsfake_key_of(struct call *c, uint32_t *ret_id)
{
	return tsfake_key_at(c, 0, ret_id);
}

struct fkey *tsfake_key_at(struct call *c, size_t off, uint32_t *ret_id)
{
	uint32_t id;
	struct fkey *k;

	if (!tsfake_u32_at(c, off, &id))
		return NULL;
	k = find(c->f, id);
	if (k == NULL)
		c->service = TSC_PSA_ERROR_INVALID_HANDLE;
	if (ret_id != NULL)
		*ret_id = id;
	return k;
}

static void op_destroy(struct call *c)
{
	struct fkey *k = tsfake_key_of(c, NULL);
	struct tsfake *f = c->f;

	if (k == NULL)
		return;
	ts_free_secret(k->mat, k->mat_len);
	*k = f->keys[--f->n];
	save(f);
}

/* PURGE_KEY: the key's cached copy dropped; nothing is cached here, so
 * only counted. A key it does not hold is INVALID_HANDLE, as elsewhere
 * (Mbed TLS answers DOES_NOT_EXIST also for a stored key not in a slot:
 * the provider reads the key first, see tsp_purge_key). */
static void op_purge(struct call *c)
{
	char name[4200];
	FILE *fp;
	unsigned n;

	if (tsfake_key_of(c, NULL) == NULL)
		return;
	c->f->purges++;
	if (c->f->store == NULL)
		return;
	n = tsfake_purges_in(c->f->store) + 1;
	snprintf(name, sizeof(name), "%s.purges", c->f->store);
	fp = fopen(name, "w");
	if (fp != NULL) {
		fprintf(fp, "%u\n", n);
		fclose(fp);
	}
}

static void op_export(struct call *c, bool public)
{
	struct fkey *k = tsfake_key_of(c, NULL);
	uint8_t *out = NULL;
	size_t len = 0;
	enum ts_err err;

	if (k == NULL)
		return;
	if (!public && !(k->raw.usage & 0x1u)) {
		c->service = TSC_PSA_ERROR_NOT_PERMITTED;
		return;
	}
	err = public ? sw_export_public_key(c->f->sw, &k->a, k->mat, k->mat_len, &out, &len)
	             : sw_export_key(c->f->sw, &k->a, k->mat, k->mat_len, &out, &len);
	if (err != 0) {
		tsfake_set_err(c, err);
		return;
	}
	tsfake_answer_data(c, out, len);
	ts_free_secret(out, len);
}

static void op_attributes(struct call *c)
{
	struct fkey *k = tsfake_key_of(c, NULL);
	struct tsc_writer w;

	if (k == NULL)
		return;
	tsc_w_init(&w, c->buf, c->cap);
	tsc_w_attrs(&w, &k->raw);
	(void)tsc_w_finish(&w, &c->resp_len);
}

/* The algorithm of an operation against the key's policy: the same, or the
 * policy's "any hash" form of it. */
bool tsfake_alg_permitted(const struct fkey *k, uint32_t alg)
{
	return alg == k->raw.alg ||
	       ((k->raw.alg & 0xffu) == 0xffu && (alg & ~0xffu) == (k->raw.alg & ~0xffu));
}

static void op_sign(struct call *c, bool verify, bool message)
{
	struct fkey *k = tsfake_key_of(c, NULL);
	const uint8_t *in, *sig = NULL;
	uint8_t digest[64], *out = NULL;
	size_t in_len, sig_len = 0, out_len = 0;
	struct psa_alg alg;
	uint32_t raw_alg;
	uint32_t need = verify ? (message ? 0x0800u : 0x2000u) : (message ? 0x0400u : 0x1000u);
	enum ts_err err;

	if (k == NULL || !tsfake_u32_at(c, 4, &raw_alg) ||
	    !tsfake_tlv(c, 8, TSC_TAG_1, &in, &in_len) ||
	    (verify && !tsfake_tlv(c, 8, TSC_TAG_2, &sig, &sig_len)))
		return;
	if (message && in_len > MSG_MAX) {
		c->rpc = TSC_RPC_INVALID_REQUEST_BODY;
		return;
	}
	if (!(k->raw.usage & need) || !tsfake_alg_permitted(k, raw_alg)) {
		c->service = TSC_PSA_ERROR_NOT_PERMITTED;
		return;
	}
	if (tsp_alg_back(raw_alg, &alg) != 0 || alg.cls != PSA_AC_SIGN) {
		c->service = TSC_PSA_ERROR_INVALID_ARG;
		return;
	}
	if (message) {
		err = prov_software_ops.hash_compute(NULL, (enum prov_hash)alg.hash, in, in_len,
		                                     digest, sizeof(digest), &in_len);
		if (err != 0) {
			tsfake_set_err(c, err);
			return;
		}
		in = digest;
	}
	if (verify) {
		err = sw_verify_hash(c->f->sw, &k->a, k->mat, k->mat_len, &alg, in, in_len, sig,
		                     sig_len);
		tsfake_set_err(c, err);
		return;
	}
	err = sw_sign_hash(c->f->sw, &k->a, k->mat, k->mat_len, &alg, in, in_len, &out, &out_len);
	if (err != 0) {
		tsfake_set_err(c, err);
		return;
	}
	tsfake_answer_data(c, out, out_len);
	free(out);
}

static void op_asym(struct call *c, bool encrypt)
{
	struct fkey *k = tsfake_key_of(c, NULL);
	const uint8_t *in, *salt;
	size_t in_len, salt_len;
	uint8_t *out = NULL;
	size_t out_len = 0;
	struct psa_alg alg;
	uint32_t raw_alg;
	enum ts_err err;

	if (k == NULL || !tsfake_u32_at(c, 4, &raw_alg) ||
	    !tsfake_tlv(c, 8, TSC_TAG_1, &in, &in_len) ||
	    !tsfake_tlv(c, 8, TSC_TAG_2, &salt, &salt_len))
		return;
	if (!(k->raw.usage & (encrypt ? 0x0100u : 0x0200u)) || raw_alg != k->raw.alg) {
		c->service = TSC_PSA_ERROR_NOT_PERMITTED;
		return;
	}
	if (tsp_alg_back(raw_alg, &alg) != 0 || alg.cls != PSA_AC_ASYM_ENC) {
		c->service = TSC_PSA_ERROR_INVALID_ARG;
		return;
	}
	err = sw_asym_crypt(c->f->sw, &k->a, k->mat, k->mat_len, &alg, encrypt, in, in_len,
	                    salt_len > 0 ? salt : NULL, salt_len, &out, &out_len);
	if (err != 0) {
		tsfake_set_err(c, err);
		return;
	}
	tsfake_answer_data(c, out, out_len);
	ts_free_secret(out, out_len);
}

static void op_raw_agreement(struct call *c)
{
	const uint8_t *peer;
	size_t peer_len, out_len = 0;
	uint8_t *out = NULL;
	uint32_t raw_alg, id;
	struct psa_alg alg;
	struct fkey *k;
	enum ts_err err;

	if (!tsfake_u32_at(c, 0, &raw_alg) || !tsfake_u32_at(c, 4, &id) ||
	    !tsfake_tlv(c, 8, TSC_TAG_1, &peer, &peer_len))
		return;
	k = find(c->f, id);
	if (k == NULL) {
		c->service = TSC_PSA_ERROR_INVALID_HANDLE;
		return;
	}
	if (!(k->raw.usage & 0x4000u) || !tsfake_alg_permitted(k, raw_alg)) {
		c->service = TSC_PSA_ERROR_NOT_PERMITTED;
		return;
	}
	if (tsp_alg_back(raw_alg, &alg) != 0 || alg.cls != PSA_AC_KEY_AGREEMENT) {
		c->service = TSC_PSA_ERROR_INVALID_ARG;
		return;
	}
	err = sw_key_agreement(c->f->sw, &k->a, k->mat, k->mat_len, &alg, peer, peer_len, &out,
	                       &out_len);
	if (err != 0) {
		tsfake_set_err(c, err);
		return;
	}
	tsfake_answer_data(c, out, out_len);
	ts_free_secret(out, out_len);
}

static void op_random(struct call *c)
{
	uint32_t size;
	uint8_t *out;

	if (!tsfake_u32_at(c, 0, &size))
		return;
	if (tsc_tlv_space(size) > c->cap) {
		c->rpc = TSC_RPC_INTERNAL; /* the answer would not fit */
		return;
	}
	out = malloc(size > 0 ? size : 1);
	if (out == NULL) {
		c->rpc = TSC_RPC_RESOURCE_FAILURE;
		return;
	}
	if (prov_software_ops.generate_random(NULL, out, size) != 0)
		c->service = TSC_PSA_ERROR_INSUFF_ENTROPY;
	else
		tsfake_answer_data(c, out, size);
	free(out);
}

/* The store file is the partition's key namespace, shared by every
 * session on it (in this process or another): read it again before each
 * call. */
static void reload(struct tsfake *f)
{
	size_t kept = 0;

	for (size_t i = 0; i < f->n; i++) {
		if (f->keys[i].raw.lifetime == TSC_LIFETIME_VOLATILE)
			f->keys[kept++] = f->keys[i];
		else
			ts_free_secret(f->keys[i].mat, f->keys[i].mat_len);
	}
	f->n = kept;
	(void)load(f);
}

int32_t tsfake_call(struct tsfake *f, uint32_t opcode, uint8_t *buf, size_t cap, size_t req_len,
                    size_t *ret_len, int64_t *ret_service)
{
	struct call c = {.f = f, .buf = buf, .cap = cap, .req_len = req_len};

	if (f->store != NULL)
		reload(f);

	if (f->force_rpc != 0 || f->force_service != 0) {
		c.rpc = f->force_rpc;
		c.service = f->force_service;
		f->force_rpc = f->force_service = 0;
	} else if (req_len > cap) {
		c.rpc = TSC_RPC_INVALID_REQUEST_BODY;
	} else {
		switch (opcode) {
		case TSC_OP_GENERATE_KEY:
			op_create(&c, false);
			break;
		case TSC_OP_IMPORT_KEY:
			op_create(&c, true);
			break;
		case TSC_OP_DESTROY_KEY:
			op_destroy(&c);
			break;
		case TSC_OP_EXPORT_KEY:
			op_export(&c, false);
			break;
		case TSC_OP_EXPORT_PUBLIC_KEY:
			op_export(&c, true);
			break;
		case TSC_OP_GET_KEY_ATTRIBUTES:
			op_attributes(&c);
			break;
		case TSC_OP_COPY_KEY:
			op_copy(&c);
			break;
		case TSC_OP_PURGE_KEY:
			op_purge(&c);
			break;
		case TSC_OP_SIGN_HASH:
			op_sign(&c, false, false);
			break;
		case TSC_OP_VERIFY_HASH:
			op_sign(&c, true, false);
			break;
		case TSC_OP_SIGN_MESSAGE:
			op_sign(&c, false, true);
			break;
		case TSC_OP_VERIFY_MESSAGE:
			op_sign(&c, true, true);
			break;
		case TSC_OP_ASYMMETRIC_ENCRYPT:
			op_asym(&c, true);
			break;
		case TSC_OP_ASYMMETRIC_DECRYPT:
			op_asym(&c, false);
			break;
		case TSC_OP_GENERATE_RANDOM:
			op_random(&c);
			break;
		case TSC_OP_RAW_KEY_AGREEMENT:
			op_raw_agreement(&c);
			break;
		default:
			if (!tsfake_multipart(&c, opcode) && !tsfake_kdf(&c, opcode))
				c.rpc = TSC_RPC_INVALID_VALUE;
		}
	}
	if (c.rpc != 0 || c.service != 0)
		c.resp_len = 0;
	*ret_len = c.resp_len;
	*ret_service = c.rpc == 0 ? c.service : 0;
	return c.rpc;
}
