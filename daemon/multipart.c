/*
 * The PSA C API's multipart operations and key derivations, held by the
 * daemon for a connection (opcodes 0x10210-0x10222; docs/protocol.md).
 *
 * Setup loads the key and checks the policy as the one-shot operation of
 * the same kind does, then the provider's mp_* (or kdf_*) hook makes the
 * state; hashing is the daemon's own, with OpenSSL, on any instance. Each
 * later request names the operation by its handle, which only the session
 * that set it up, with the same identity and on the same instance, can use
 * (anything else is PsaErrorBadState, as for a handle never issued, and
 * leaves the operation untouched).
 *
 * The daemon does not trust the client's order: an IV or nonce before data
 * where one is needed, once; lengths before data; additional data before
 * text and within the lengths given; finish once. The PSA state model's
 * "error state" lives in the client library: here any error on a found
 * operation frees it (so a provider's failure leaves nothing half-made
 * behind), and a later call on its handle is PsaErrorBadState, which the
 * client answers from its own state; abort of an unknown handle succeeds.
 * The exceptions are PSA's own: a capacity set higher than the current one
 * (InvalidArgument, the operation unchanged) and output past the capacity
 * (InsufficientData, the capacity then 0).
 */
#include "daemon/daemon-priv.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "common/secmem.h"
#include "common/util.h"

#include "psa_kdf_capacity.pb-c.h"
#include "psa_kdf_input.pb-c.h"
#include "psa_kdf_output.pb-c.h"
#include "psa_op_abort.pb-c.h"
#include "psa_op_clone.pb-c.h"
#include "psa_op_finish.pb-c.h"
#include "psa_op_set_iv.pb-c.h"
#include "psa_op_set_lengths.pb-c.h"
#include "psa_op_setup.pb-c.h"
#include "psa_op_update.pb-c.h"

enum {
	K_HASH = PSA_OP_SETUP__OPERATION__KIND__HASH,
	K_MAC_SIGN = PSA_OP_SETUP__OPERATION__KIND__MAC_SIGN,
	K_MAC_VERIFY = PSA_OP_SETUP__OPERATION__KIND__MAC_VERIFY,
	K_CIPHER_ENCRYPT = PSA_OP_SETUP__OPERATION__KIND__CIPHER_ENCRYPT,
	K_CIPHER_DECRYPT = PSA_OP_SETUP__OPERATION__KIND__CIPHER_DECRYPT,
	K_AEAD_ENCRYPT = PSA_OP_SETUP__OPERATION__KIND__AEAD_ENCRYPT,
	K_AEAD_DECRYPT = PSA_OP_SETUP__OPERATION__KIND__AEAD_DECRYPT,
	K_KDF = PSA_OP_SETUP__OPERATION__KIND__KEY_DERIVATION,
};

/* psa_algorithm.proto's Cipher values. */
enum { CIPHER_STREAM = 1, CIPHER_ECB_NO_PADDING = 6 };

static bool is_mac(int kind)
{
	return kind == K_MAC_SIGN || kind == K_MAC_VERIFY;
}
static bool is_cipher(int kind)
{
	return kind == K_CIPHER_ENCRYPT || kind == K_CIPHER_DECRYPT;
}
static bool is_aead(int kind)
{
	return kind == K_AEAD_ENCRYPT || kind == K_AEAD_DECRYPT;
}

/* The policy of each keyed kind, as the one-shot operation's table entry
 * states it (optable.c). */
static const struct op_desc keyed[] = {
        [K_MAC_SIGN] = {.policy = OPP_USE,
                        .fit = OPF_MAC,
                        .usage = PSA_USAGE_SIGN_MESSAGE | PSA_USAGE_SIGN_HASH},
        [K_MAC_VERIFY] = {.policy = OPP_USE,
                          .fit = OPF_MAC,
                          .usage = PSA_USAGE_VERIFY_MESSAGE | PSA_USAGE_VERIFY_HASH},
        [K_CIPHER_ENCRYPT] = {.policy = OPP_USE, .fit = OPF_CIPHER, .usage = PSA_USAGE_ENCRYPT},
        [K_CIPHER_DECRYPT] = {.policy = OPP_USE, .fit = OPF_CIPHER, .usage = PSA_USAGE_DECRYPT},
        [K_AEAD_ENCRYPT] = {.policy = OPP_USE, .fit = OPF_AEAD, .usage = PSA_USAGE_ENCRYPT},
        [K_AEAD_DECRYPT] = {.policy = OPP_USE, .fit = OPF_AEAD, .usage = PSA_USAGE_DECRYPT},
};

static const struct op_desc derive_key = {
        .policy = OPP_USE, .fit = OPF_NONE, .usage = PSA_USAGE_DERIVE};
static const struct op_desc agree_key = {
        .policy = OPP_USE, .fit = OPF_KEY_AGREEMENT, .usage = PSA_USAGE_DERIVE};
static const struct op_desc create_key = {.policy = OPP_CREATE};

/* OpenSSL's names of psa_algorithm.proto's hashes (MD2 and MD4 are not in
 * its default provider: NotSupported). */
static const char *const md_names[] = {
        [PROV_HASH_MD5] = "MD5",
        [PROV_HASH_RIPEMD160] = "RIPEMD160",
        [PROV_HASH_SHA_1] = "SHA1",
        [PROV_HASH_SHA_224] = "SHA224",
        [PROV_HASH_SHA_256] = "SHA256",
        [PROV_HASH_SHA_384] = "SHA384",
        [PROV_HASH_SHA_512] = "SHA512",
        [PROV_HASH_SHA_512_224] = "SHA512-224",
        [PROV_HASH_SHA_512_256] = "SHA512-256",
        [PROV_HASH_SHA3_224] = "SHA3-224",
        [PROV_HASH_SHA3_256] = "SHA3-256",
        [PROV_HASH_SHA3_384] = "SHA3-384",
        [PROV_HASH_SHA3_512] = "SHA3-512",
};

static uint64_t idle_ms(const struct request *r)
{
	return r->st->cfg->psa.operation_idle_ms;
}

/* The operation a request names, or NULL with PsaErrorBadState. */
static struct sess_op *find(struct request *r, uint32_t handle)
{
	return session_op_find(r->sess, r, handle, idle_ms(r), NULL);
}

/* An error on a found operation ends it (see the top of the file). */
static enum ts_err fail(struct request *r, struct sess_op *op, enum ts_err err)
{
	if (err != TS_OK)
		session_op_free(r->sess, op);
	return err;
}

/* Pack a result and wipe what it carried (MACs, plaintext, derived bytes). */
static enum ts_err pack_wiped(const ProtobufCMessage *m, uint8_t **a, size_t a_len, uint8_t **b,
                              size_t b_len, uint8_t **ret_body, size_t *ret_len)
{
	enum ts_err err = wire_pack(m, ret_body, ret_len);

	if (a != NULL)
		ts_free_secret(*a, a_len);
	if (b != NULL)
		ts_free_secret(*b, b_len);
	return err;
}

/* ---- setup ---- */

/* CCM's generated nonce: 15 - L bytes, L the smallest length field of at
 * least 2 bytes that holds the declared plaintext length (PSA_ALG_CCM). */
static size_t ccm_nonce_length(const struct sess_op *op)
{
	size_t l = 2;

	if (!op->lengths_set)
		return 13; /* refused by the provider: CCM needs the lengths first */
	while (l < 8 && (op->text_len >> (8 * l)) != 0)
		l++;
	return 15 - l;
}

/* A cipher that takes an IV or nonce, and the length generate makes. */
static size_t iv_length(const struct sess_op *op)
{
	if (is_aead(op->kind))
		return op->alg.kind == PSA_AEAD_CCM ? ccm_nonce_length(op) : 12;
	if (op->alg.kind == CIPHER_ECB_NO_PADDING)
		return 0;
	if (op->alg.kind == CIPHER_STREAM)
		return op->key_type == PSA_KT_CHACHA20 ? 12 : 0; /* ARC4 takes none */
	return op->key_type == PSA_KT_DES ? 8 : 16;
}

static enum ts_err setup_hash(struct request *r, struct sess_op **ret)
{
	EVP_MD *md;
	EVP_MD_CTX *ctx;
	unsigned h = r->args.alg.kind;
	enum ts_err err;

	if (r->args.key_name != NULL || r->args.alg.cls != PSA_AC_HASH)
		return TS_E_PSA_INVALID_ARGUMENT;
	if (h >= TS_ARRAY_LEN(md_names) || md_names[h] == NULL)
		return TS_E_PSA_NOT_SUPPORTED;
	md = EVP_MD_fetch(NULL, md_names[h], NULL);
	if (md == NULL)
		return TS_E_PSA_NOT_SUPPORTED;
	err = session_op_new(r->sess, r, K_HASH, r->st->cfg->psa.max_operations_per_tenant, ret);
	if (err != TS_OK) {
		EVP_MD_free(md);
		return err;
	}
	ctx = EVP_MD_CTX_new();
	if (ctx == NULL || EVP_DigestInit_ex(ctx, md, NULL) != 1) {
		EVP_MD_CTX_free(ctx);
		EVP_MD_free(md);
		session_op_free(r->sess, *ret);
		return TS_E_PSA_INSUFFICIENT_MEMORY;
	}
	EVP_MD_free(md); /* the context holds its own reference */
	(*ret)->md = ctx;
	return TS_OK;
}

static enum ts_err setup_kdf(struct request *r, struct sess_op **ret)
{
	const struct svc_provider *p = r->prov;
	const struct psa_alg *alg = &r->args.alg;
	uint64_t cap = 0;
	enum ts_err err;

	if (p->ops->kdf_setup == NULL)
		return TS_E_PSA_NOT_SUPPORTED;
	if (r->args.key_name != NULL ||
	    !(alg->cls == PSA_AC_KDF || (alg->cls == PSA_AC_KEY_AGREEMENT && alg->kdf != 0)))
		return TS_E_PSA_INVALID_ARGUMENT;
	err = session_op_new(r->sess, r, K_KDF, r->st->cfg->psa.max_operations_per_tenant, ret);
	if (err != TS_OK)
		return err;
	(*ret)->alg = *alg;
	err = p->ops->kdf_setup(p->ctx, alg, &(*ret)->state, &cap);
	if (err != TS_OK) {
		(*ret)->state = NULL;
		session_op_free(r->sess, *ret);
		return err;
	}
	(*ret)->capacity = cap;
	return TS_OK;
}

static enum ts_err setup_keyed(struct request *r, int kind, struct sess_op **ret)
{
	const struct svc_provider *p = r->prov;
	uint8_t want = is_mac(kind) ? PSA_AC_MAC : is_cipher(kind) ? PSA_AC_CIPHER : PSA_AC_AEAD;
	struct sess_op *op;
	enum ts_err err;

	if (p->ops->mp_setup == NULL)
		return TS_E_PSA_NOT_SUPPORTED;
	if (r->args.key_name == NULL || r->args.alg.cls != want)
		return TS_E_PSA_INVALID_ARGUMENT;
	if (r->st->ks == NULL)
		return TS_E_KEY_INFO_MANAGER_ERROR;
	err = key_get(r->st, p, &r->id, r->args.key_name, &r->key, &r->key_attrs, &r->pkey);
	if (err != TS_OK)
		return err;
	r->have_key = true;
	err = policy_check(&keyed[kind], &r->args, &r->key_attrs,
	                   r->st->cfg->core.allow_deprecated);
	if (err != TS_OK)
		return err;
	err = session_op_new(r->sess, r, kind, r->st->cfg->psa.max_operations_per_tenant, &op);
	if (err != TS_OK)
		return err;
	op->alg = r->args.alg;
	op->key_type = r->key_attrs.type;
	op->iv_needed = !is_mac(kind) && iv_length(op) > 0;
	err = p->ops->mp_setup(p->ctx, kind, &r->pkey, &r->args.alg, &op->state);
	if (err != TS_OK) {
		op->state = NULL;
		session_op_free(r->sess, op);
		return err;
	}
	*ret = op;
	return TS_OK;
}

enum ts_err mp_op_setup(struct request *r, uint8_t **ret_body, size_t *ret_len)
{
	const PsaOpSetup__Operation *o = (const void *)r->msg;
	PsaOpSetup__Result res = PSA_OP_SETUP__RESULT__INIT;
	struct sess_op *op = NULL;
	int kind = (int)o->kind;
	enum ts_err err;

	if (r->sess == NULL)
		return TS_E_PSA_BAD_STATE;
	if (kind == K_HASH)
		err = setup_hash(r, &op);
	else if (kind == K_KDF)
		err = setup_kdf(r, &op);
	else
		err = setup_keyed(r, kind, &op);
	if (err != TS_OK)
		return err;
	res.handle = op->handle;
	err = wire_pack(&res.base, ret_body, ret_len);
	return fail(r, op, err);
}

/* ---- update, IV, lengths ---- */

enum ts_err mp_op_update(struct request *r, uint8_t **ret_body, size_t *ret_len)
{
	const PsaOpUpdate__Operation *o = (const void *)r->msg;
	PsaOpUpdate__Result res = PSA_OP_UPDATE__RESULT__INIT;
	struct sess_op *op = find(r, o->handle);
	const uint8_t *in = o->input.data != NULL ? o->input.data : (const uint8_t *)"";
	uint8_t *out = NULL;
	size_t out_len = 0;
	enum ts_err err = TS_OK;

	if (op == NULL)
		return TS_E_PSA_BAD_STATE;
	if (op->kind == K_KDF || (o->additional_data && !is_aead(op->kind)))
		return fail(r, op, TS_E_PSA_BAD_STATE);
	if (op->kind == K_HASH)
		return fail(r, op,
		            EVP_DigestUpdate(op->md, in, o->input.len) == 1
		                    ? wire_pack(&res.base, ret_body, ret_len)
		                    : TS_E_PSA_HARDWARE_FAILURE);
	if (op->iv_needed && !op->iv_set)
		return fail(r, op, TS_E_PSA_BAD_STATE);
	if (is_aead(op->kind)) {
		if (o->additional_data) {
			if (op->text_started)
				return fail(r, op, TS_E_PSA_BAD_STATE);
			if (op->lengths_set && o->input.len > op->ad_len - op->ad_seen)
				return fail(r, op, TS_E_PSA_INVALID_ARGUMENT);
			op->ad_seen += o->input.len;
		} else {
			if (op->lengths_set && (op->ad_seen != op->ad_len ||
			                        o->input.len > op->text_len - op->text_seen))
				return fail(r, op, TS_E_PSA_INVALID_ARGUMENT);
			op->text_started = true;
			op->text_seen += o->input.len;
		}
	}
	op->updated = true;
	err = op->prov->ops->mp_update(op->prov->ctx, op->state, o->additional_data, in,
	                               o->input.len, &out, &out_len);
	if (err != TS_OK)
		return fail(r, op, err);
	res.output.data = out;
	res.output.len = out_len;
	return fail(r, op, pack_wiped(&res.base, &out, out_len, NULL, 0, ret_body, ret_len));
}

enum ts_err mp_op_set_iv(struct request *r, uint8_t **ret_body, size_t *ret_len)
{
	const PsaOpSetIv__Operation *o = (const void *)r->msg;
	PsaOpSetIv__Result res = PSA_OP_SET_IV__RESULT__INIT;
	struct sess_op *op = find(r, o->handle);
	const struct svc_provider *p;
	uint8_t gen[16];
	const uint8_t *iv = o->iv.data;
	size_t len = o->iv.len;
	enum ts_err err;

	if (op == NULL)
		return TS_E_PSA_BAD_STATE;
	p = op->prov;
	if (!(is_cipher(op->kind) || is_aead(op->kind)) || !op->iv_needed || op->iv_set ||
	    op->updated)
		return fail(r, op, TS_E_PSA_BAD_STATE);
	if (o->generate) {
		/* PSA generates IVs and nonces for encryption only. */
		if (op->kind != K_CIPHER_ENCRYPT && op->kind != K_AEAD_ENCRYPT)
			return fail(r, op, TS_E_PSA_BAD_STATE);
		if (o->iv.len != 0)
			return fail(r, op, TS_E_PSA_INVALID_ARGUMENT);
		if (p->ops->generate_random == NULL)
			return fail(r, op, TS_E_PSA_NOT_SUPPORTED);
		len = iv_length(op);
		err = p->ops->generate_random(p->ctx, gen, len);
		if (err != TS_OK)
			return fail(r, op, err);
		iv = gen;
		res.iv.data = gen;
		res.iv.len = len;
	}
	err = p->ops->mp_set_iv(p->ctx, op->state, iv != NULL ? iv : (const uint8_t *)"", len);
	if (err != TS_OK)
		return fail(r, op, err);
	op->iv_set = true;
	return fail(r, op, wire_pack(&res.base, ret_body, ret_len));
}

enum ts_err mp_op_set_lengths(struct request *r, uint8_t **ret_body, size_t *ret_len)
{
	const PsaOpSetLengths__Operation *o = (const void *)r->msg;
	PsaOpSetLengths__Result res = PSA_OP_SET_LENGTHS__RESULT__INIT;
	struct sess_op *op = find(r, o->handle);
	enum ts_err err;

	if (op == NULL)
		return TS_E_PSA_BAD_STATE;
	if (!is_aead(op->kind) || op->lengths_set || op->updated)
		return fail(r, op, TS_E_PSA_BAD_STATE);
	err = op->prov->ops->mp_set_lengths(op->prov->ctx, op->state, o->ad_length,
	                                    o->plaintext_length);
	if (err != TS_OK)
		return fail(r, op, err);
	op->lengths_set = true;
	op->ad_len = o->ad_length;
	op->text_len = o->plaintext_length;
	return fail(r, op, wire_pack(&res.base, ret_body, ret_len));
}

/* ---- finish, abort, clone ---- */

static enum ts_err finish_hash(struct sess_op *op, const PsaOpFinish__Operation *o,
                               PsaOpFinish__Result *res, uint8_t *digest, unsigned *len)
{
	if (EVP_DigestFinal_ex(op->md, digest, len) != 1)
		return TS_E_PSA_HARDWARE_FAILURE;
	if (!o->check) {
		res->output.data = digest;
		res->output.len = *len;
		return TS_OK;
	}
	/* psa_hash_verify: the comparison does not stop at the first byte. */
	if (o->expected.len != *len || CRYPTO_memcmp(o->expected.data, digest, *len) != 0)
		return TS_E_PSA_INVALID_SIGNATURE;
	return TS_OK;
}

enum ts_err mp_op_finish(struct request *r, uint8_t **ret_body, size_t *ret_len)
{
	const PsaOpFinish__Operation *o = (const void *)r->msg;
	PsaOpFinish__Result res = PSA_OP_FINISH__RESULT__INIT;
	struct sess_op *op = find(r, o->handle);
	const struct prov_ops *ops;
	uint8_t digest[EVP_MAX_MD_SIZE];
	unsigned dlen = 0;
	uint8_t *out = NULL, *tag = NULL;
	size_t out_len = 0, tag_len = 0;
	const uint8_t *expected = o->expected.data != NULL ? o->expected.data : (const uint8_t *)"";
	enum ts_err err;
	bool verify = op != NULL && (op->kind == K_MAC_VERIFY || op->kind == K_AEAD_DECRYPT);

	if (op == NULL)
		return TS_E_PSA_BAD_STATE;
	ops = op->prov->ops;
	/* Whatever follows, the operation ends here: finish once. */
	if (op->kind == K_HASH) {
		err = finish_hash(op, o, &res, digest, &dlen);
		if (err == TS_OK)
			err = wire_pack(&res.base, ret_body, ret_len);
		OPENSSL_cleanse(digest, sizeof(digest));
		session_op_free(r->sess, op);
		return err;
	}
	if (op->kind == K_KDF || o->check != verify || (op->iv_needed && !op->iv_set))
		err = TS_E_PSA_BAD_STATE;
	else if (is_aead(op->kind) && op->lengths_set &&
	         (op->ad_seen != op->ad_len || op->text_seen != op->text_len))
		err = TS_E_PSA_INVALID_ARGUMENT;
	else if (verify)
		err = ops->mp_verify(op->prov->ctx, op->state, expected, o->expected.len, &out,
		                     &out_len);
	else
		err = ops->mp_finish(op->prov->ctx, op->state, &out, &out_len, &tag, &tag_len);
	if (err == TS_OK) {
		res.output.data = out;
		res.output.len = out_len;
		res.tag.data = tag;
		res.tag.len = tag_len;
		err = pack_wiped(&res.base, &out, out_len, &tag, tag_len, ret_body, ret_len);
	}
	session_op_free(r->sess, op);
	return err;
}

enum ts_err mp_op_abort(struct request *r, uint8_t **ret_body, size_t *ret_len)
{
	const PsaOpAbort__Operation *o = (const void *)r->msg;
	PsaOpAbort__Result res = PSA_OP_ABORT__RESULT__INIT;
	struct sess_op *op;
	bool foreign = false;

	if (r->sess == NULL)
		return TS_E_PSA_BAD_STATE;
	/* An unknown handle is not an error (psa_*_abort of an inactive
	 * operation succeeds); another identity's is, and stays as it is. */
	op = session_op_find(r->sess, r, o->handle, idle_ms(r), &foreign);
	if (foreign)
		return TS_E_PSA_BAD_STATE;
	if (op != NULL)
		session_op_free(r->sess, op);
	return wire_pack(&res.base, ret_body, ret_len);
}

enum ts_err mp_op_clone(struct request *r, uint8_t **ret_body, size_t *ret_len)
{
	const PsaOpClone__Operation *o = (const void *)r->msg;
	PsaOpClone__Result res = PSA_OP_CLONE__RESULT__INIT;
	struct sess_op *src = find(r, o->handle), *op = NULL, *next;
	const struct svc_provider *p;
	uint32_t handle;
	void *state = NULL;
	EVP_MD_CTX *md = NULL;
	enum ts_err err;

	if (src == NULL)
		return TS_E_PSA_BAD_STATE;
	p = src->prov;
	/* PSA clones hashes; MACs where the provider can. The source stays
	 * as it was whatever happens here. */
	if (src->kind == K_HASH) {
		md = EVP_MD_CTX_new();
		if (md == NULL || EVP_MD_CTX_copy_ex(md, src->md) != 1) {
			EVP_MD_CTX_free(md);
			return TS_E_PSA_INSUFFICIENT_MEMORY;
		}
	} else if (!is_mac(src->kind) || p->ops->mp_clone == NULL) {
		return TS_E_PSA_NOT_SUPPORTED;
	}
	err = session_op_new(r->sess, r, src->kind, r->st->cfg->psa.max_operations_per_tenant, &op);
	if (err == TS_OK && md == NULL)
		err = p->ops->mp_clone(p->ctx, src->state, &state);
	if (err != TS_OK) {
		EVP_MD_CTX_free(md);
		if (op != NULL)
			session_op_free(r->sess, op);
		return err;
	}
	/* Everything but its own handle, link, count and last use. */
	handle = op->handle;
	next = op->next;
	{
		struct op_tenant *t = op->tenant;
		char *app = op->app;
		uint64_t used = op->last_used_ms;

		*op = *src;
		op->tenant = t;
		op->app = app;
		op->last_used_ms = used;
	}
	op->handle = handle;
	op->next = next;
	op->md = md;
	op->state = state;
	res.handle = handle;
	return fail(r, op, wire_pack(&res.base, ret_body, ret_len));
}

/* ---- key derivation ---- */

static struct sess_op *find_kdf(struct request *r, uint32_t handle, enum ts_err *ret_err)
{
	struct sess_op *op = find(r, handle);

	*ret_err = TS_E_PSA_BAD_STATE;
	if (op == NULL)
		return NULL;
	if (op->kind != K_KDF) {
		session_op_free(r->sess, op);
		return NULL;
	}
	*ret_err = TS_OK;
	return op;
}

/* A key as input: its DERIVE flag and permitted algorithm, as for the
 * operation's own algorithm. */
static enum ts_err load_input_key(struct request *r, const struct sess_op *op,
                                  const struct op_desc *rules)
{
	enum ts_err err;

	if (r->st->ks == NULL)
		return TS_E_KEY_INFO_MANAGER_ERROR;
	err = key_get(r->st, op->prov, &r->id, r->args.key_name, &r->key, &r->key_attrs, &r->pkey);
	if (err != TS_OK)
		return err;
	r->have_key = true;
	r->args.alg = op->alg;
	r->args.has_alg = true;
	return policy_check(rules, &r->args, &r->key_attrs, r->st->cfg->core.allow_deprecated);
}

/* Key agreement into the operation: the shared secret goes to the step
 * and is wiped. */
static enum ts_err input_agreement(struct request *r, struct sess_op *op,
                                   const PsaKdfInput__Operation *o)
{
	const struct svc_provider *p = op->prov;
	struct psa_alg raw = op->alg;
	uint8_t *secret = NULL;
	size_t len = 0;
	enum ts_err err;

	if (op->alg.cls != PSA_AC_KEY_AGREEMENT || r->args.key_name == NULL)
		return TS_E_PSA_INVALID_ARGUMENT;
	if (p->ops->key_agreement == NULL && p->ops->kdf_key_agreement == NULL)
		return TS_E_PSA_NOT_SUPPORTED;
	err = load_input_key(r, op, &agree_key);
	if (err != TS_OK)
		return err;
	if (p->ops->kdf_key_agreement != NULL)
		return p->ops->kdf_key_agreement(p->ctx, op->state, o->step, &r->pkey,
		                                 o->peer_key.data != NULL ? o->peer_key.data
		                                                          : (const uint8_t *)"",
		                                 o->peer_key.len);
	raw.kdf = 0;
	raw.kdf_hash = 0;
	err = p->ops->key_agreement(p->ctx, &r->pkey, &raw,
	                            o->peer_key.data != NULL ? o->peer_key.data
	                                                     : (const uint8_t *)"",
	                            o->peer_key.len, &secret, &len);
	if (err != TS_OK)
		return err;
	err = p->ops->kdf_input(p->ctx, op->state, o->step, secret, len);
	ts_free_secret(secret, len);
	return err;
}

enum ts_err mp_kdf_input(struct request *r, uint8_t **ret_body, size_t *ret_len)
{
	const PsaKdfInput__Operation *o = (const void *)r->msg;
	PsaKdfInput__Result res = PSA_KDF_INPUT__RESULT__INIT;
	struct sess_op *op;
	const struct svc_provider *p;
	unsigned sources;
	enum ts_err err;

	op = find_kdf(r, o->handle, &err);
	if (op == NULL)
		return err;
	p = op->prov;
	/* Exactly one kind of input (data may be empty: an empty salt). */
	sources = (o->data.len > 0) + (r->args.key_name != NULL && !o->key_agreement) +
	          o->has_integer + o->key_agreement;
	if (sources > 1 || (o->peer_key.len > 0 && !o->key_agreement))
		return fail(r, op, TS_E_PSA_INVALID_ARGUMENT);
	if (o->key_agreement)
		err = input_agreement(r, op, o);
	else if (o->has_integer)
		err = p->ops->kdf_input_integer(p->ctx, op->state, o->step, o->integer);
	else if (r->args.key_name != NULL) {
		err = load_input_key(r, op, &derive_key);
		if (err == TS_OK)
			err = p->ops->kdf_input_key(p->ctx, op->state, o->step, &r->pkey);
	} else
		err = p->ops->kdf_input(p->ctx, op->state, o->step,
		                        o->data.data != NULL ? o->data.data : (const uint8_t *)"",
		                        o->data.len);
	if (err != TS_OK)
		return fail(r, op, err);
	return fail(r, op, wire_pack(&res.base, ret_body, ret_len));
}

enum ts_err mp_kdf_capacity(struct request *r, uint8_t **ret_body, size_t *ret_len)
{
	const PsaKdfCapacity__Operation *o = (const void *)r->msg;
	PsaKdfCapacity__Result res = PSA_KDF_CAPACITY__RESULT__INIT;
	struct sess_op *op;
	enum ts_err err;

	op = find_kdf(r, o->handle, &err);
	if (op == NULL)
		return err;
	if (o->set) {
		/* Only lower: the operation stays as it was otherwise. */
		if (o->capacity > op->capacity)
			return TS_E_PSA_INVALID_ARGUMENT;
		op->capacity = o->capacity;
	}
	res.capacity = op->capacity;
	return fail(r, op, wire_pack(&res.base, ret_body, ret_len));
}

/* Key types made from derived bytes (PSA's psa_key_derivation_output_key
 * for symmetric keys: the bytes are the key). */
static bool derivable(uint8_t type)
{
	switch (type) {
	case PSA_KT_RAW_DATA:
	case PSA_KT_HMAC:
	case PSA_KT_DERIVE:
	case PSA_KT_AES:
	case PSA_KT_DES:
	case PSA_KT_CAMELLIA:
	case PSA_KT_ARC4:
	case PSA_KT_CHACHA20:
		return true;
	default:
		return false;
	}
}

/* The derived bytes as a new key, made as PsaImportKey makes one. */
static enum ts_err output_key(struct request *r, const PsaKdfOutput__Operation *o,
                              const uint8_t *data, size_t len)
{
	bool added = false;
	enum ts_err err;

	if (r->key_volatile) {
		err = session_add_vkey(r->sess, r->prov, r->id.auth_type, r->id.name,
		                       r->args.key_name, &added);
		if (err != TS_OK)
			return err;
	}
	err = key_create(r, r->args.key_name, &r->args.attrs, o->attributes, data, len);
	if (err != TS_OK && added)
		session_forget_vkey(r->sess, r->prov, r->id.auth_type, r->id.name,
		                    r->args.key_name);
	return err;
}

enum ts_err mp_kdf_output(struct request *r, uint8_t **ret_body, size_t *ret_len)
{
	const PsaKdfOutput__Operation *o = (const void *)r->msg;
	PsaKdfOutput__Result res = PSA_KDF_OUTPUT__RESULT__INIT;
	struct sess_op *op;
	const struct svc_provider *p;
	bool make_key = r->args.key_name != NULL;
	uint64_t want = o->length;
	uint8_t *buf;
	enum ts_err err;

	op = find_kdf(r, o->handle, &err);
	if (op == NULL)
		return err;
	p = op->prov;
	if (make_key) {
		/* As PsaImportKey's rules: the name says volatile exactly when
		 * the flag does; a size in whole bytes; symmetric types only. */
		if (session_name_is_volatile(o->key_name) != o->volatile_key)
			return fail(r, op, TS_E_PSA_INVALID_ARGUMENT);
		if (!derivable(r->args.attrs.type))
			return fail(r, op, TS_E_PSA_NOT_SUPPORTED);
		if (r->args.attrs.bits == 0 || r->args.attrs.bits % 8 != 0)
			return fail(r, op, TS_E_PSA_INVALID_ARGUMENT);
		if (p->ops->import_key == NULL)
			return fail(r, op, TS_E_PSA_NOT_SUPPORTED);
		err = policy_check(&create_key, &r->args, &r->args.attrs,
		                   r->st->cfg->core.allow_deprecated);
		if (err != TS_OK)
			return fail(r, op, err);
		if (r->st->ks == NULL)
			return fail(r, op, TS_E_KEY_INFO_MANAGER_ERROR);
		want = r->args.attrs.bits / 8;
	}
	if (want > op->capacity) {
		/* PSA: nothing is output and the capacity is spent. */
		op->capacity = 0;
		return TS_E_PSA_INSUFFICIENT_DATA;
	}
	if (want > r->st->cfg->core.buffer_size_limit)
		return fail(r, op, TS_E_PSA_INSUFFICIENT_MEMORY);
	buf = malloc(want > 0 ? want : 1);
	if (buf == NULL)
		return fail(r, op, TS_E_PSA_INSUFFICIENT_MEMORY);
	err = want > 0 ? p->ops->kdf_output(p->ctx, op->state, buf, want) : TS_OK;
	if (err == TS_OK) {
		op->capacity -= want;
		if (make_key) {
			err = output_key(r, o, buf, want);
			if (err == TS_OK)
				err = wire_pack(&res.base, ret_body, ret_len);
		} else {
			res.output.data = buf;
			res.output.len = want;
			err = wire_pack(&res.base, ret_body, ret_len);
		}
	}
	ts_free_secret(buf, want);
	return fail(r, op, err);
}
