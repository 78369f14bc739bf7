/*
 * The Trusted Services provider: PSA Crypto in an Arm secure partition,
 * reached with our own packed-c codec over one transport session.
 *
 * Policy the partition does not give us, kept here:
 *   - keys are persistent with IDs this daemon allocates from its own
 *     range (the partition's namespace is shared by every Linux process,
 *     so tenant scoping is the key store's); a candidate ID is first
 *     probed, and one found taken is skipped;
 *   - one session, one call at a time (max_concurrent 1, and a lock);
 *   - messages are hashed in the daemon and signed as hashes (the service
 *     takes at most 64 bytes in SIGN_MESSAGE);
 *   - cipher, MAC and AEAD data go through the service's multipart opcodes
 *     in pieces, inside one request (ts-symmetric.c); any other request or
 *     answer larger than the transport's buffer is PsaErrorInsufficientMemory;
 *   - a transport failure marks the session broken, and the next request
 *     opens a new one.
 */
#include "providers/trusted_services/ts-priv.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "common/secmem.h"
#include "providers/software/software-priv.h"
#include "providers/trusted_services/ts-codec.h"
#include "providers/trusted_services/ts-psa.h"
#include "providers/trusted_services/ts-transport.h"

/* ---- instance life ---- */

static void tsp_fini(void *ctx)
{
	struct tsp *p = ctx;

	if (p == NULL)
		return;
	if (p->t != NULL)
		p->t->close(p->tctx);
	tsp_settings_free(&p->settings);
	free(p->path);
	ts_free_secret(p->req, p->cap);
	ts_free_secret(p->resp, p->cap);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

static enum ts_err open_transport(struct tsp *p, const struct tsp_settings *s, const char *path,
                                  char *err, size_t errlen)
{
	struct tst_settings ts = {.path = path,
	                          .device = s->device,
	                          .libts_path = s->libts_path,
	                          .service = s->service};
	const char *mode = s->transport != NULL ? s->transport : "auto";
	enum ts_err rc;

	if (strcmp(mode, "tstee") == 0 || strcmp(mode, "libts") == 0) {
		p->t = strcmp(mode, "tstee") == 0 ? &tst_tstee_ops : &tst_libts_ops;
		rc = p->t->open(&ts, &p->tctx, err, errlen);
	} else {
		char first[256];

		/* auto: the kernel driver when a device answers, else libts. */
		p->t = &tst_tstee_ops;
		rc = p->t->open(&ts, &p->tctx, first, sizeof(first));
		if (rc != TS_OK && s->device == NULL) {
			p->t = &tst_libts_ops;
			rc = p->t->open(&ts, &p->tctx, err, errlen);
			if (rc != TS_OK) {
				size_t n = strlen(err);

				snprintf(err + n, errlen - n, "; and %s", first);
			}
		} else if (rc != TS_OK) {
			snprintf(err, errlen, "%s", first);
		}
	}
	if (rc != TS_OK)
		p->t = NULL;
	return rc;
}

static enum ts_err tsp_init(const char *settings, const char *path, void **ret_ctx, char *err,
                            size_t errlen)
{
	struct tsp_settings s = {0};
	struct tsp *p = NULL;
	enum ts_err rc = tsp_parse_settings(settings, path, &s, err, errlen);

	if (rc != TS_OK)
		goto out;
	rc = TS_E_NOMEM;
	p = calloc(1, sizeof(*p));
	if (p == NULL || pthread_mutex_init(&p->lock, NULL) != 0) {
		free(p);
		p = NULL;
		snprintf(err, errlen, "%s: out of memory", path);
		goto out;
	}
	p->next_id = TSP_KEY_ID_MIN;
	p->settings = s;
	memset(&s, 0, sizeof(s));
	p->path = strdup(path);
	if (p->path == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto out;
	}
	rc = open_transport(p, &p->settings, path, err, errlen);
	if (rc != TS_OK)
		goto out;
	p->cap = p->t->max_payload(p->tctx);
	if (p->cap > TST_PAYLOAD_MAX * 8)
		p->cap = TST_PAYLOAD_MAX * 8;
	p->req = malloc(p->cap);
	p->resp = malloc(p->cap);
	rc = TS_E_NOMEM;
	if (p->cap < 64 || p->req == NULL || p->resp == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto out;
	}
	*ret_ctx = p;
	p = NULL;
	rc = TS_OK;
out:
	tsp_fini(p);
	tsp_settings_free(&s);
	return rc;
}

static unsigned tsp_max_concurrent(void *ctx)
{
	(void)ctx;
	return 1; /* one libts session, not thread-safe; one tstee session */
}

static size_t tsp_max_payload(void *ctx)
{
	(void)ctx;
	/* No cap for the core to apply: cipher, AEAD and MAC data of any
	 * length go through the partition in pieces, and every other request
	 * that does not fit the transport's buffer (p->cap) is refused by the
	 * codec with PsaErrorInsufficientMemory before anything is sent. */
	return 0;
}

/* ---- one call ---- */

/* The request is in p->req[0..req_len); the response lands in p->resp.
 * Called with p->lock held. */
/* After a transport failure (the partition or its driver restarted, the
 * session is gone): a new session, with the settings of start-up. The
 * request that met the failure has failed; the next one goes through. */
static enum ts_err reopen(struct tsp *p)
{
	char err[512];
	size_t cap;

	if (p->t != NULL)
		p->t->close(p->tctx);
	p->tctx = NULL;
	/* open_transport leaves p->t NULL when it fails: tried again next time. */
	if (open_transport(p, &p->settings, p->path, err, sizeof(err)) != TS_OK)
		return TS_E_PSA_COMMUNICATION_FAILURE;
	cap = p->t->max_payload(p->tctx);
	if (cap < p->cap)
		p->cap = cap; /* the buffers stay as they were: never too small */
	p->broken = false;
	p->epoch++; /* the old session's multipart operations are gone */
	return TS_OK;
}

enum ts_err tsp_call(struct tsp *p, uint32_t opcode, size_t req_len, size_t *ret_len)
{
	size_t n = 0;
	int32_t rpc = -1;
	int64_t service = 0;
	enum ts_err err = TS_OK;

	if (p->broken || p->t == NULL)
		err = reopen(p);
	if (err == TS_OK)
		err = p->t->call(p->tctx, opcode, p->req, req_len, p->resp, p->cap, &n, &rpc,
		                 &service);
	OPENSSL_cleanse(p->req, req_len);
	if (err == TS_E_PSA_COMMUNICATION_FAILURE)
		p->broken = true;
	if (err != TS_OK)
		return err;
	err = tsc_status_to_err(rpc, service);
	if (err == TS_OK)
		*ret_len = n;
	else
		OPENSSL_cleanse(p->resp, p->cap);
	return err;
}

/* A call whose answer is one T1 record, copied out. */
enum ts_err tsp_call_data(struct tsp *p, uint32_t opcode, size_t req_len, uint8_t **ret,
                          size_t *ret_len)
{
	const uint8_t *v;
	size_t n = 0, vlen;
	uint8_t *out;
	enum ts_err err = tsp_call(p, opcode, req_len, &n);

	if (err != TS_OK)
		return err;
	err = tsc_resp_data(p->resp, n, &v, &vlen);
	if (err == TS_OK) {
		out = malloc(vlen > 0 ? vlen : 1);
		if (out == NULL) {
			err = TS_E_NOMEM;
		} else {
			if (vlen > 0)
				memcpy(out, v, vlen);
			*ret = out;
			*ret_len = vlen;
		}
	}
	OPENSSL_cleanse(p->resp, n);
	return err;
}

/* ---- key IDs ---- */

bool tsp_ref_id(const struct prov_key *k, uint32_t *ret)
{
	uint32_t id;

	if (k->ref == NULL || k->ref_len != 4)
		return false;
	id = (uint32_t)k->ref[0] << 24 | (uint32_t)k->ref[1] << 16 | (uint32_t)k->ref[2] << 8 |
	     k->ref[3];
	if (id < TSP_KEY_ID_MIN || id > TSP_KEY_ID_MAX)
		return false;
	*ret = id;
	return true;
}

enum ts_err tsp_key_alg(const struct prov_key *k, const struct psa_alg *alg, uint32_t *ret_id,
                        uint32_t *ret_alg)
{
	if (!tsp_ref_id(k, ret_id))
		return TS_E_PSA_DOES_NOT_EXIST;
	return tsp_alg(alg, ret_alg);
}

static enum ts_err key_exists(struct tsp *p, uint32_t id, bool *ret)
{
	size_t len, n;
	enum ts_err err = tsc_req_key_id(p->req, p->cap, id, &len);

	if (err == TS_OK)
		err = tsp_call(p, TSC_OP_GET_KEY_ATTRIBUTES, len, &n);
	if (err == TS_OK || err == TS_E_PSA_DOES_NOT_EXIST) {
		*ret = err == TS_OK;
		err = TS_OK;
	}
	return err;
}

static enum ts_err tsp_reserve_ref(void *ctx, const struct psa_attrs *a, uint8_t **ret_ref,
                                   size_t *ret_len)
{
	struct tsp *p = ctx;
	enum ts_err err = TS_E_PSA_INSUFFICIENT_STORAGE;
	uint32_t id = 0;
	uint8_t *ref;

	(void)a;
	pthread_mutex_lock(&p->lock);
	for (int i = 0; i < PROBE_MAX; i++) {
		bool taken = true;

		if (p->next_id < TSP_KEY_ID_MIN || p->next_id > TSP_KEY_ID_MAX) {
			err = TS_E_PSA_INSUFFICIENT_STORAGE; /* the range is used up */
			break;
		}
		id = p->next_id++;
		err = key_exists(p, id, &taken);
		if (err != TS_OK || !taken)
			break;
		/* Another normal-world client holds it: the next one. */
		err = TS_E_PSA_INSUFFICIENT_STORAGE;
	}
	pthread_mutex_unlock(&p->lock);
	if (err != TS_OK)
		return err;
	ref = malloc(4);
	if (ref == NULL)
		return TS_E_NOMEM;
	ref[0] = (uint8_t)(id >> 24);
	ref[1] = (uint8_t)(id >> 16);
	ref[2] = (uint8_t)(id >> 8);
	ref[3] = (uint8_t)id;
	*ret_ref = ref;
	*ret_len = 4;
	return TS_OK;
}

static enum ts_err tsp_adopt_key(void *ctx, const struct prov_key *k)
{
	struct tsp *p = ctx;
	enum ts_err err;
	uint32_t id;
	bool there = false;

	if (!tsp_ref_id(k, &id))
		return TS_E_PSA_DATA_CORRUPT;
	pthread_mutex_lock(&p->lock);
	if (id >= p->next_id)
		p->next_id = id + 1;
	/* A key the store knows but the partition lost (a secure-storage
	 * reset) is counted by the core as not taken up; requests on it are
	 * answered DoesNotExist, and it is never made again under the name. */
	err = key_exists(p, id, &there);
	pthread_mutex_unlock(&p->lock);
	if (err == TS_OK && !there)
		err = TS_E_PSA_DOES_NOT_EXIST;
	return err;
}

/* Called with the lock held: whether id is one we failed to create because
 * it was taken, forgetting it when so. */
static bool forget_foreign(struct tsp *p, uint32_t id)
{
	for (size_t i = 0; i < p->n_foreign; i++)
		if (p->foreign[i] == id) {
			p->foreign[i] = p->foreign[--p->n_foreign];
			return true;
		}
	return false;
}

/* Only the keys whose operations this provider serves are made. */
static bool served_type(const struct psa_attrs *a)
{
	switch (a->type) {
	case PSA_KT_ECC_PAIR:
	case PSA_KT_ECC_PUBLIC:
	case PSA_KT_RSA_PAIR:
	case PSA_KT_RSA_PUBLIC:
	case PSA_KT_AES:
	case PSA_KT_CHACHA20:
	case PSA_KT_HMAC:
	case PSA_KT_DERIVE:
	case PSA_KT_RAW_DATA:
		return true;
	default:
		return false;
	}
}

/* Make the key k names: generated (data NULL, source 0), imported, or a
 * copy of the partition key `source`. */
static enum ts_err create(struct tsp *p, const struct prov_key *k, const uint8_t *data,
                          size_t data_len, uint32_t source, uint32_t *ret_bits)
{
	struct tsc_attrs ta;
	size_t len = 0, n = 0;
	uint32_t id, got = 0;
	enum ts_err err;

	if (!tsp_ref_id(k, &id))
		return TS_E_PSA_INVALID_ARGUMENT;
	if (!served_type(k->attrs))
		return TS_E_PSA_NOT_SUPPORTED;
	err = tsp_attrs(k->attrs, id, &ta);
	if (err != TS_OK)
		return err;
	pthread_mutex_lock(&p->lock);
	if (source != 0)
		err = tsc_req_copy(p->req, p->cap, source, &ta, &len);
	else if (data == NULL)
		err = tsc_req_generate(p->req, p->cap, &ta, &len);
	else
		err = tsc_req_import(p->req, p->cap, &ta, data, data_len, &len);
	if (err == TS_OK)
		err = tsp_call(p,
		               source != 0    ? TSC_OP_COPY_KEY
		               : data == NULL ? TSC_OP_GENERATE_KEY
		                              : TSC_OP_IMPORT_KEY,
		               len, &n);
	if (err == TS_OK)
		err = tsc_resp_id(p->resp, n, &got);
	if (err == TS_OK && got != id) {
		/* Not the persistent key asked for: a broken endpoint. What it
		 * names may be anyone's, so it is left alone; the core's
		 * clean-up destroys what may exist under our own ID. */
		err = TS_E_PSA_COMMUNICATION_FAILURE;
	}
	if (err == TS_E_PSA_ALREADY_EXISTS) {
		/* Taken between the probe and now by another client: the core
		 * will call destroy_key on failure, which must spare it. */
		if (p->n_foreign < FOREIGN_MAX)
			p->foreign[p->n_foreign++] = id;
	}
	if (err == TS_OK && ret_bits != NULL) {
		struct tsc_attrs back;

		err = tsc_req_key_id(p->req, p->cap, id, &len);
		if (err == TS_OK)
			err = tsp_call(p, TSC_OP_GET_KEY_ATTRIBUTES, len, &n);
		if (err == TS_OK)
			err = tsc_resp_attrs(p->resp, n, &back);
		if (err == TS_OK)
			*ret_bits = back.bits;
	}
	pthread_mutex_unlock(&p->lock);
	return err;
}

static enum ts_err tsp_generate_key(void *ctx, const struct prov_key *k, uint8_t **ret_mat,
                                    size_t *ret_len)
{
	enum ts_err err = create(ctx, k, NULL, 0, 0, NULL);

	if (err == TS_OK) {
		/* The key lives in the partition; the store keeps only its ID. */
		*ret_mat = NULL;
		*ret_len = 0;
	}
	return err;
}

static enum ts_err tsp_import_key(void *ctx, const struct prov_key *k, const uint8_t *data,
                                  size_t len, uint8_t **ret_mat, size_t *ret_len,
                                  uint32_t *ret_bits)
{
	uint32_t bits = 0;
	enum ts_err err = create(ctx, k, data, len, 0, &bits);

	if (err == TS_OK) {
		*ret_mat = NULL;
		*ret_len = 0;
		*ret_bits = bits;
	}
	return err;
}

/* psa_copy_key in the partition: a key that may not leave it is copied too. */
static enum ts_err tsp_copy_key(void *ctx, const struct prov_key *src, const struct prov_key *dst,
                                uint8_t **ret_mat, size_t *ret_len)
{
	uint32_t source;
	enum ts_err err;

	if (!tsp_ref_id(src, &source))
		return TS_E_PSA_DOES_NOT_EXIST;
	err = create(ctx, dst, NULL, 0, source, NULL);
	if (err == TS_OK) {
		*ret_mat = NULL;
		*ret_len = 0;
	}
	return err;
}

static enum ts_err export_op(struct tsp *p, const struct prov_key *k, uint32_t opcode,
                             uint8_t **ret, size_t *ret_len)
{
	size_t len = 0;
	uint32_t id;
	enum ts_err err;

	if (!tsp_ref_id(k, &id))
		return TS_E_PSA_DOES_NOT_EXIST;
	pthread_mutex_lock(&p->lock);
	err = tsc_req_key_id(p->req, p->cap, id, &len);
	if (err == TS_OK)
		err = tsp_call_data(p, opcode, len, ret, ret_len);
	pthread_mutex_unlock(&p->lock);
	return err;
}

static enum ts_err tsp_export_key(void *ctx, const struct prov_key *k, uint8_t **ret,
                                  size_t *ret_len)
{
	return export_op(ctx, k, TSC_OP_EXPORT_KEY, ret, ret_len);
}

static enum ts_err tsp_export_public_key(void *ctx, const struct prov_key *k, uint8_t **ret,
                                         size_t *ret_len)
{
	return export_op(ctx, k, TSC_OP_EXPORT_PUBLIC_KEY, ret, ret_len);
}

static enum ts_err tsp_destroy_key(void *ctx, const struct prov_key *k)
{
	struct tsp *p = ctx;
	size_t len = 0, n = 0;
	uint32_t id;
	enum ts_err err;

	if (!tsp_ref_id(k, &id))
		return TS_OK; /* nothing of ours can be there */
	pthread_mutex_lock(&p->lock);
	if (forget_foreign(p, id)) {
		err = TS_OK;
	} else {
		err = tsc_req_key_id(p->req, p->cap, id, &len);
		if (err == TS_OK)
			err = tsp_call(p, TSC_OP_DESTROY_KEY, len, &n);
		if (err == TS_E_PSA_DOES_NOT_EXIST)
			err = TS_OK; /* gone already (or never made) */
	}
	pthread_mutex_unlock(&p->lock);
	return err;
}

/* psa_purge_key in the partition. Mbed TLS answers DOES_NOT_EXIST for a
 * persistent key that is stored but not in a key slot (never used since the
 * partition started, or purged already), where PSA has success: the key is
 * read first (GET_KEY_ATTRIBUTES loads it into a slot, and answers for a
 * key the partition does not hold), then PURGE_KEY drops the slot. */
static enum ts_err tsp_purge_key(void *ctx, const struct prov_key *k)
{
	struct tsp *p = ctx;
	size_t len = 0, n = 0;
	uint32_t id;
	enum ts_err err;

	if (!tsp_ref_id(k, &id))
		return TS_E_PSA_DOES_NOT_EXIST;
	pthread_mutex_lock(&p->lock);
	err = tsc_req_key_id(p->req, p->cap, id, &len);
	if (err == TS_OK)
		err = tsp_call(p, TSC_OP_GET_KEY_ATTRIBUTES, len, &n);
	if (err == TS_OK)
		err = tsc_req_key_id(p->req, p->cap, id, &len);
	if (err == TS_OK)
		err = tsp_call(p, TSC_OP_PURGE_KEY, len, &n);
	pthread_mutex_unlock(&p->lock);
	return err;
}

static void tsp_recover_key(void *ctx, const struct prov_key *k)
{
	/* A creation or destruction the daemon did not finish: the ID was
	 * recorded before anything was made, so whatever has it is ours. */
	(void)tsp_destroy_key(ctx, k);
}

/* ---- operations ---- */

static enum ts_err tsp_generate_random(void *ctx, uint8_t *out, size_t len)
{
	struct tsp *p = ctx;
	size_t chunk_max = p->cap - TSC_TLV_HEADER;
	enum ts_err err = TS_OK;

	pthread_mutex_lock(&p->lock);
	while (len > 0 && err == TS_OK) {
		size_t chunk = len < chunk_max ? len : chunk_max, rlen = 0, n = 0, vlen = 0;
		const uint8_t *v = NULL;

		err = tsc_req_random(p->req, p->cap, (uint32_t)chunk, &rlen);
		if (err == TS_OK)
			err = tsp_call(p, TSC_OP_GENERATE_RANDOM, rlen, &n);
		if (err == TS_OK)
			err = tsc_resp_data(p->resp, n, &v, &vlen);
		if (err == TS_OK && vlen != chunk)
			err = TS_E_PSA_COMMUNICATION_FAILURE;
		if (err == TS_OK) {
			memcpy(out, v, chunk);
			out += chunk;
			len -= chunk;
		}
		OPENSSL_cleanse(p->resp, n);
	}
	pthread_mutex_unlock(&p->lock);
	return err;
}

static enum ts_err tsp_hash_compute(void *ctx, enum prov_hash alg, const uint8_t *in, size_t len,
                                    uint8_t *out, size_t outsize, size_t *ret_len)
{
	(void)ctx;
	/* Hashing is public computation, done in the daemon (the service's
	 * multipart hash would cost a round trip per 8 KiB). */
	return prov_software_ops.hash_compute(NULL, alg, in, len, out, outsize, ret_len);
}

static enum ts_err tsp_sign_hash(void *ctx, const struct prov_key *k, const struct psa_alg *alg,
                                 const uint8_t *hash, size_t hash_len, uint8_t **ret_sig,
                                 size_t *ret_len)
{
	struct tsp *p = ctx;
	size_t len = 0;
	uint32_t id, a;
	enum ts_err err;

	err = tsp_key_alg(k, alg, &id, &a);
	if (err != TS_OK)
		return err;
	pthread_mutex_lock(&p->lock);
	err = tsc_req_sign(p->req, p->cap, id, a, hash, hash_len, &len);
	if (err == TS_OK)
		err = tsp_call_data(p, TSC_OP_SIGN_HASH, len, ret_sig, ret_len);
	pthread_mutex_unlock(&p->lock);
	return err;
}

static enum ts_err tsp_verify_hash(void *ctx, const struct prov_key *k, const struct psa_alg *alg,
                                   const uint8_t *hash, size_t hash_len, const uint8_t *sig,
                                   size_t sig_len)
{
	struct tsp *p = ctx;
	size_t len = 0, n = 0;
	uint32_t id, a;
	enum ts_err err;

	err = tsp_key_alg(k, alg, &id, &a);
	if (err != TS_OK)
		return err;
	pthread_mutex_lock(&p->lock);
	err = tsc_req_verify(p->req, p->cap, id, a, hash, hash_len, sig, sig_len, &len);
	if (err == TS_OK)
		err = tsp_call(p, TSC_OP_VERIFY_HASH, len, &n);
	pthread_mutex_unlock(&p->lock);
	return err;
}

static enum ts_err tsp_asym_crypt(void *ctx, const struct prov_key *k, const struct psa_alg *alg,
                                  bool encrypt, const uint8_t *in, size_t in_len,
                                  const uint8_t *label, size_t label_len, uint8_t **ret,
                                  size_t *ret_len)
{
	struct tsp *p = ctx;
	size_t len = 0;
	uint32_t id, a;
	enum ts_err err;

	err = tsp_key_alg(k, alg, &id, &a);
	if (err != TS_OK)
		return err;
	pthread_mutex_lock(&p->lock);
	err = tsc_req_asym(p->req, p->cap, id, a, in, in_len, label_len > 0 ? label : NULL,
	                   label_len, &len);
	if (err == TS_OK)
		err = tsp_call_data(p,
		                    encrypt ? TSC_OP_ASYMMETRIC_ENCRYPT : TSC_OP_ASYMMETRIC_DECRYPT,
		                    len, ret, ret_len);
	pthread_mutex_unlock(&p->lock);
	return err;
}

static bool can_do_asymmetric(const struct psa_attrs *a)
{
	if (a->type == PSA_KT_ECC_PAIR || a->type == PSA_KT_ECC_PUBLIC)
		return a->family == PSA_ECC_SECP_R1 &&
		       (a->bits == 0 || a->bits == 256 || a->bits == 384 || a->bits == 521) &&
		       (a->alg.cls == PSA_AC_NONE ||
		        (a->type == PSA_KT_ECC_PAIR && a->alg.cls == PSA_AC_KEY_AGREEMENT &&
		         a->alg.kind == PSA_KA_ECDH && a->alg.kdf <= 3) ||
		        (a->alg.cls == PSA_AC_SIGN &&
		         (a->alg.kind == PSA_SIGN_ECDSA || a->alg.kind == PSA_SIGN_ECDSA_ANY ||
		          a->alg.kind == PSA_SIGN_DETERMINISTIC_ECDSA)));
	return (a->bits == 0 || (a->bits >= 1024 && a->bits <= 4096 && a->bits % 8 == 0)) &&
	       (a->alg.cls == PSA_AC_NONE || a->alg.cls == PSA_AC_ASYM_ENC ||
	        (a->alg.cls == PSA_AC_SIGN && a->alg.kind != PSA_SIGN_ECDSA &&
	         a->alg.kind != PSA_SIGN_ECDSA_ANY && a->alg.kind != PSA_SIGN_DETERMINISTIC_ECDSA));
}

static bool can_do_symmetric(const struct psa_attrs *a)
{
	switch (a->type) {
	case PSA_KT_AES:
		return (a->bits == 0 || a->bits == 128 || a->bits == 192 || a->bits == 256) &&
		       (a->alg.cls == PSA_AC_NONE ||
		        (a->alg.cls == PSA_AC_AEAD && a->alg.kind != PSA_AEAD_CHACHA20_POLY1305) ||
		        (a->alg.cls == PSA_AC_CIPHER && a->alg.kind >= 2) ||
		        (a->alg.cls == PSA_AC_MAC && a->alg.kind == PSA_MAC_CMAC));
	case PSA_KT_CHACHA20:
		return (a->bits == 0 || a->bits == 256) &&
		       (a->alg.cls == PSA_AC_NONE ||
		        (a->alg.cls == PSA_AC_AEAD && a->alg.kind == PSA_AEAD_CHACHA20_POLY1305) ||
		        (a->alg.cls == PSA_AC_CIPHER && a->alg.kind == 1));
	case PSA_KT_HMAC:
		return a->bits % 8 == 0 && a->bits <= 65536 &&
		       (a->alg.cls == PSA_AC_NONE ||
		        (a->alg.cls == PSA_AC_MAC && a->alg.kind == PSA_MAC_HMAC));
	case PSA_KT_DERIVE:
	case PSA_KT_RAW_DATA:
		/* Inputs of the partition's KDFs (HKDF, TLS 1.2 PRF, PSK-to-MS),
		 * also after an ECDH agreement. */
		return a->bits % 8 == 0 && a->bits <= 65536 &&
		       (a->alg.cls == PSA_AC_NONE || a->alg.cls == PSA_AC_KDF ||
		        (a->alg.cls == PSA_AC_KEY_AGREEMENT && a->alg.kind == PSA_KA_ECDH &&
		         a->alg.kdf >= 1 && a->alg.kdf <= 3));
	default:
		return false;
	}
}

static enum ts_err tsp_key_agreement(void *ctx, const struct prov_key *k, const struct psa_alg *alg,
                                     const uint8_t *peer, size_t peer_len, uint8_t **ret,
                                     size_t *ret_len)
{
	struct tsp *p = ctx;
	size_t len = 0;
	uint32_t id, a;
	enum ts_err err;

	err = tsp_key_alg(k, alg, &id, &a);
	if (err != TS_OK)
		return err;
	pthread_mutex_lock(&p->lock);
	err = tsc_req_raw_agreement(p->req, p->cap, a, id, peer, peer_len, &len);
	if (err == TS_OK)
		err = tsp_call_data(p, TSC_OP_RAW_KEY_AGREEMENT, len, ret, ret_len);
	pthread_mutex_unlock(&p->lock);
	return err;
}

static enum ts_err tsp_can_do(void *ctx, const struct psa_attrs *a, int check)
{
	uint32_t v;
	bool asym = a->type == PSA_KT_ECC_PAIR || a->type == PSA_KT_ECC_PUBLIC ||
	            a->type == PSA_KT_RSA_PAIR || a->type == PSA_KT_RSA_PUBLIC;

	(void)ctx;
	if (!served_type(a))
		return TS_E_PSA_NOT_SUPPORTED;
	/* Derived keys are derived bytes imported: symmetric types only. */
	if (check == 4 && asym)
		return TS_E_PSA_NOT_SUPPORTED;
	if (asym ? !can_do_asymmetric(a) : !can_do_symmetric(a))
		return TS_E_PSA_NOT_SUPPORTED;
	return tsp_alg(&a->alg, &v);
}

const struct prov_ops prov_trusted_services_ops = {
        .type = "TrustedService",
        .id = 4,
        .uuid = "71129441-508a-4da6-b6e8-7b98a777e4c0",
        .description = "Trusted Services provider: PSA Crypto in an Arm secure partition",
        .vendor = "Arm (Trusted Services), Tessera",
        .version_maj = 0,
        .version_min = 1,
        .version_rev = 0,
        .check_settings = tsp_check_settings,
        .init = tsp_init,
        .fini = tsp_fini,
        .max_concurrent = tsp_max_concurrent,
        .max_payload = tsp_max_payload,
        .reserve_ref = tsp_reserve_ref,
        .recover_key = tsp_recover_key,
        .adopt_key = tsp_adopt_key,
        .generate_random = tsp_generate_random,
        .hash_compute = tsp_hash_compute,
        .generate_key = tsp_generate_key,
        .import_key = tsp_import_key,
        .export_key = tsp_export_key,
        .export_public_key = tsp_export_public_key,
        .destroy_key = tsp_destroy_key,
        .purge_key = tsp_purge_key,
        .sign_hash = tsp_sign_hash,
        .verify_hash = tsp_verify_hash,
        .asym_crypt = tsp_asym_crypt,
        .aead = tsp_aead,
        .cipher = tsp_cipher,
        .mac = tsp_mac,
        .mac_verify = tsp_mac_verify,
        .copy_key = tsp_copy_key,
        .mp_slots = tsp_mp_slots,
        .mp_setup = tsp_mp_setup,
        .mp_set_iv = tsp_mp_set_iv,
        .mp_set_lengths = tsp_mp_set_lengths,
        .mp_update = tsp_mp_update,
        .mp_finish = tsp_mp_finish,
        .mp_verify = tsp_mp_verify,
        .mp_free = tsp_mp_free,
        .kdf_setup = tsp_kdf_setup,
        .kdf_input = tsp_kdf_input,
        .kdf_input_key = tsp_kdf_input_key,
        .kdf_input_integer = tsp_kdf_input_integer,
        .kdf_output = tsp_kdf_output,
        .kdf_free = tsp_kdf_free,
        .kdf_key_agreement = tsp_kdf_key_agreement,
        .key_agreement = tsp_key_agreement,
        .can_do = tsp_can_do,
};
