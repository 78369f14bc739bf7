/*
 * Key operations: the core decodes, checks the contract, the identity and the
 * key policy, looks the key up in the key store (scoped to the caller and
 * the provider), and only then calls the provider.
 */
#include "daemon/daemon-priv.h"

#include <stdlib.h>
#include <string.h>

#include "common/secmem.h"
#include "keystore/keystore.h"
#include "wire/psa.h"

#include "psa_destroy_key.pb-c.h"
#include "psa_export_key.pb-c.h"
#include "psa_export_public_key.pb-c.h"
#include "psa_generate_key.pb-c.h"
#include "psa_import_key.pb-c.h"
#include "psa_sign_hash.pb-c.h"
#include "psa_sign_message.pb-c.h"
#include "psa_verify_hash.pb-c.h"
#include "psa_verify_message.pb-c.h"

/* Names are C strings in the key store: no NUL inside, not empty. */
static enum ts_err check_name(const char *name)
{
	return name != NULL && name[0] != '\0' ? TS_OK : TS_E_INVALID_ENCODING;
}

static struct ks_key_id key_id(const struct auth_identity *id, const char *name)
{
	return (struct ks_key_id){.auth_type = id->auth_type, .app = id->name, .name = name};
}

static enum ts_err pack_attrs(const PsaKeyAttributes__KeyAttributes *pb, uint8_t **ret,
                              size_t *ret_len)
{
	return wire_pack(&pb->base, ret, ret_len);
}

static enum ts_err generate(struct svc_state *st, const struct svc_provider *p,
                            const struct auth_identity *id, const PsaGenerateKey__Operation *op)
{
	struct ks_key_id kid = key_id(id, op->key_name);
	struct psa_attrs a;
	uint8_t *attrs = NULL, *mat = NULL;
	size_t attrs_len = 0, mat_len = 0;
	enum ts_err err;

	if (psa_attrs_from_pb(op->attributes, &a) != TS_OK)
		return TS_E_INVALID_ENCODING;
	if (psa_attrs_deprecated(&a) && !st->cfg->core.allow_deprecated)
		return TS_E_DEPRECATED_PRIMITIVE;
	err = pack_attrs(op->attributes, &attrs, &attrs_len);
	if (err != TS_OK)
		return err;
	err = ks_reserve(st->ks, &kid, p->ops->id, attrs, attrs_len);
	if (err != TS_OK)
		goto out;
	err = p->ops->generate_key(p->ctx, &a, &mat, &mat_len);
	if (err == TS_OK)
		err = ks_commit(st->ks, &kid, attrs, attrs_len, mat, mat_len);
	if (err != TS_OK) {
		if (mat != NULL && p->ops->destroy_key != NULL)
			p->ops->destroy_key(p->ctx, &a, mat, mat_len);
		ks_abort(st->ks, &kid);
	}
out:
	free(attrs);
	ts_free_secret(mat, mat_len);
	return err;
}

static enum ts_err import(struct svc_state *st, const struct svc_provider *p,
                          const struct auth_identity *id, PsaImportKey__Operation *op)
{
	struct ks_key_id kid = key_id(id, op->key_name);
	struct psa_attrs a;
	uint8_t *attrs = NULL, *mat = NULL;
	size_t attrs_len = 0, mat_len = 0;
	uint32_t bits = 0, asked;
	enum ts_err err;

	if (psa_attrs_from_pb(op->attributes, &a) != TS_OK)
		return TS_E_INVALID_ENCODING;
	/* Parsec only logs deprecated imports; so do we (nothing to refuse). */
	err = ks_reserve(st->ks, &kid, p->ops->id, NULL, 0);
	if (err != TS_OK)
		return err;
	err = p->ops->import_key(p->ctx, &a, op->data.data, op->data.len, &mat, &mat_len, &bits);
	if (err != TS_OK)
		goto out;
	/* Store the size the data really has (an import may say 0). */
	asked = op->attributes->key_bits;
	op->attributes->key_bits = bits;
	err = pack_attrs(op->attributes, &attrs, &attrs_len);
	op->attributes->key_bits = asked;
	if (err == TS_OK)
		err = ks_commit(st->ks, &kid, attrs, attrs_len, mat, mat_len);
out:
	if (err != TS_OK) {
		if (mat != NULL && p->ops->destroy_key != NULL)
			p->ops->destroy_key(p->ctx, &a, mat, mat_len);
		ks_abort(st->ks, &kid);
	}
	free(attrs);
	ts_free_secret(mat, mat_len);
	return err;
}

enum ts_err key_destroy(struct svc_state *st, const struct svc_provider *p, uint8_t auth_type,
                        const char *app, const char *name)
{
	struct ks_key_id kid = {.auth_type = auth_type, .app = app, .name = name};
	struct ks_record r = {0};
	enum ts_err err;

	err = ks_begin_destroy(st->ks, &kid, p->ops->id, &r);
	if (err != TS_OK)
		return err;
	if (p->ops->destroy_key != NULL && r.material != NULL) {
		struct psa_attrs a;
		bool have = psa_attrs_unpack(r.attrs, r.attrs_len, &a) == TS_OK;

		err = p->ops->destroy_key(p->ctx, have ? &a : NULL, r.material, r.material_len);
		if (err != TS_OK) {
			/* Left "destroying": recovery at the next start retries. */
			ks_record_clear(&r);
			return err;
		}
	}
	ks_record_clear(&r);
	return ks_remove(st->ks, &kid);
}

/* Load a key for use; the record holds secrets until ks_record_clear. */
enum ts_err key_load(struct svc_state *st, const struct svc_provider *p,
                     const struct auth_identity *id, const char *name, struct ks_record *r,
                     struct psa_attrs *ret_attrs)
{
	struct ks_key_id kid = key_id(id, name);
	enum ts_err err = ks_get(st->ks, &kid, p->ops->id, r);

	if (err != TS_OK)
		return err;
	err = psa_attrs_unpack(r->attrs, r->attrs_len, ret_attrs);
	if (err != TS_OK) {
		ks_record_clear(r);
		return TS_E_PSA_DATA_CORRUPT;
	}
	/* An event loop serves many connections, so it runs only short work:
	 * RSA private-key and finite-field Diffie-Hellman operations take
	 * milliseconds and go to a worker (every key operation reaches this
	 * point before it reads or changes anything). */
	if (dispatch_on_loop() &&
	    (ret_attrs->type == PSA_KT_RSA_PAIR || ret_attrs->type == PSA_KT_DH_PAIR)) {
		ks_record_clear(r);
		return TS_E_ON_WORKER;
	}
	return TS_OK;
}

/* Parsec's policy order: usage flag, permitted algorithm, algorithm vs key
 * type, then the hash length. */
static enum ts_err check_sign_policy(const struct psa_attrs *a, const struct psa_alg *alg,
                                     uint32_t usage, bool signing, size_t hash_len)
{
	bool ecdsa = alg->kind == PSA_SIGN_ECDSA || alg->kind == PSA_SIGN_ECDSA_ANY ||
	             alg->kind == PSA_SIGN_DETERMINISTIC_ECDSA;

	if ((a->usage & usage) == 0)
		return TS_E_PSA_NOT_PERMITTED;
	if (!psa_alg_permits(&a->alg, alg))
		return TS_E_PSA_NOT_PERMITTED;
	if (ecdsa ? !(a->type == PSA_KT_ECC_PAIR || (!signing && a->type == PSA_KT_ECC_PUBLIC)) ||
	                    a->family == PSA_ECC_MONTGOMERY
	          : !(a->type == PSA_KT_RSA_PAIR || (!signing && a->type == PSA_KT_RSA_PUBLIC)))
		return TS_E_PSA_INVALID_ARGUMENT;
	if (alg->hash != 0 && hash_len != psa_hash_size(alg->hash))
		return TS_E_PSA_INVALID_ARGUMENT;
	return TS_OK;
}

/* Sign or verify, of a hash or (hashed here first) of a message. */
static enum ts_err sign_verify(struct svc_state *st, const struct svc_provider *p,
                               const struct auth_identity *id, const char *name,
                               const PsaAlgorithm__Algorithm__AsymmetricSignature *alg_pb,
                               const ProtobufCBinaryData *input, bool message,
                               const ProtobufCBinaryData *sig, uint8_t **ret_sig, size_t *ret_len)
{
	struct psa_alg alg;
	struct psa_attrs a;
	struct ks_record r = {0};
	uint8_t digest[PROV_HASH_MAX_SIZE];
	const uint8_t *h = input->data;
	size_t hlen = input->len;
	bool signing = sig == NULL;
	uint32_t usage = message ? (signing ? PSA_USAGE_SIGN_MESSAGE : PSA_USAGE_VERIFY_MESSAGE)
	                         : (signing ? PSA_USAGE_SIGN_HASH : PSA_USAGE_VERIFY_HASH);
	enum ts_err err;

	if (psa_sign_alg_from_pb(alg_pb, &alg) != TS_OK)
		return TS_E_INVALID_ENCODING;
	if (alg.hash_any)
		return TS_E_PSA_INVALID_ARGUMENT; /* "any hash" is a policy, not an algorithm */
	err = key_load(st, p, id, name, &r, &a);
	if (err != TS_OK)
		return err;
	if (message) {
		if (alg.hash == 0) {
			err = TS_E_PSA_INVALID_ARGUMENT; /* raw schemes sign no message */
			goto out;
		}
		/* PSA: a key allowed to sign hashes may also sign messages. */
		if ((a.usage & usage) == 0 &&
		    (a.usage & (signing ? PSA_USAGE_SIGN_HASH : PSA_USAGE_VERIFY_HASH)) != 0)
			usage = signing ? PSA_USAGE_SIGN_HASH : PSA_USAGE_VERIFY_HASH;
	}
	err = check_sign_policy(&a, &alg, usage, signing, message ? psa_hash_size(alg.hash) : hlen);
	if (err != TS_OK)
		goto out;
	if (message) {
		err = p->ops->hash_compute(p->ctx, (enum prov_hash)alg.hash, input->data,
		                           input->len, digest, sizeof(digest), &hlen);
		if (err != TS_OK)
			goto out;
		h = digest;
	}
	if (signing)
		err = p->ops->sign_hash(p->ctx, &a, r.material, r.material_len, &alg, h, hlen,
		                        ret_sig, ret_len);
	else
		err = p->ops->verify_hash(p->ctx, &a, r.material, r.material_len, &alg, h, hlen,
		                          sig->data, sig->len);
out:
	ks_record_clear(&r);
	return err;
}

static enum ts_err export(struct svc_state *st, const struct svc_provider *p,
                          const struct auth_identity *id, const char *name, bool public_only,
                          uint8_t **ret, size_t *ret_len) {
	struct psa_attrs a; struct ks_record r = {0};
	enum ts_err err = key_load(st, p, id, name, &r, &a);

	if (err != TS_OK) return err;
	if (public_only){err = p->ops->export_public_key(p->ctx, &a, r.material, r.material_len,
	                                                 ret, ret_len);}
else if ((a.usage & PSA_USAGE_EXPORT) == 0 && a.type != PSA_KT_RSA_PUBLIC &&
         a.type != PSA_KT_ECC_PUBLIC && a.type != PSA_KT_DH_PUBLIC)
{
	err = TS_E_PSA_NOT_PERMITTED; /* public keys may always be exported */
}
else
{
	err = p->ops->export_key(p->ctx, &a, r.material, r.material_len, ret, ret_len);
}
ks_record_clear(&r);
return err;
}

struct key_entry {
	uint32_t opcode;
	const ProtobufCMessageDescriptor *desc;
};

static const struct key_entry key_ops[] = {
        {WIRE_OP_PSA_GENERATE_KEY, &psa_generate_key__operation__descriptor},
        {WIRE_OP_PSA_IMPORT_KEY, &psa_import_key__operation__descriptor},
        {WIRE_OP_PSA_DESTROY_KEY, &psa_destroy_key__operation__descriptor},
        {WIRE_OP_PSA_EXPORT_KEY, &psa_export_key__operation__descriptor},
        {WIRE_OP_PSA_EXPORT_PUBLIC_KEY, &psa_export_public_key__operation__descriptor},
        {WIRE_OP_PSA_SIGN_HASH, &psa_sign_hash__operation__descriptor},
        {WIRE_OP_PSA_VERIFY_HASH, &psa_verify_hash__operation__descriptor},
        {WIRE_OP_PSA_SIGN_MESSAGE, &psa_sign_message__operation__descriptor},
        {WIRE_OP_PSA_VERIFY_MESSAGE, &psa_verify_message__operation__descriptor},
};

/* The key name every one of these operations carries (field 1). */
static const char *op_key_name(uint32_t opcode, const ProtobufCMessage *m)
{
	switch (opcode) {
	case WIRE_OP_PSA_GENERATE_KEY:
		return ((const PsaGenerateKey__Operation *)m)->key_name;
	case WIRE_OP_PSA_IMPORT_KEY:
		return ((const PsaImportKey__Operation *)m)->key_name;
	case WIRE_OP_PSA_DESTROY_KEY:
		return ((const PsaDestroyKey__Operation *)m)->key_name;
	case WIRE_OP_PSA_EXPORT_KEY:
		return ((const PsaExportKey__Operation *)m)->key_name;
	case WIRE_OP_PSA_EXPORT_PUBLIC_KEY:
		return ((const PsaExportPublicKey__Operation *)m)->key_name;
	case WIRE_OP_PSA_SIGN_HASH:
		return ((const PsaSignHash__Operation *)m)->key_name;
	case WIRE_OP_PSA_VERIFY_HASH:
		return ((const PsaVerifyHash__Operation *)m)->key_name;
	case WIRE_OP_PSA_SIGN_MESSAGE:
		return ((const PsaSignMessage__Operation *)m)->key_name;
	default:
		return ((const PsaVerifyMessage__Operation *)m)->key_name;
	}
}

/* The contract of each operation: a key name, and well-formed attributes
 * or algorithm where the operation has them. */
static enum ts_err check_contract(uint32_t opcode, const ProtobufCMessage *m)
{
	struct psa_attrs a;
	struct psa_alg alg;

	if (check_name(op_key_name(opcode, m)) != TS_OK)
		return TS_E_INVALID_ENCODING;
	switch (opcode) {
	case WIRE_OP_PSA_GENERATE_KEY:
		return psa_attrs_from_pb(((const PsaGenerateKey__Operation *)m)->attributes, &a);
	case WIRE_OP_PSA_IMPORT_KEY:
		return psa_attrs_from_pb(((const PsaImportKey__Operation *)m)->attributes, &a);
	case WIRE_OP_PSA_SIGN_HASH:
		return psa_sign_alg_from_pb(((const PsaSignHash__Operation *)m)->alg, &alg);
	case WIRE_OP_PSA_VERIFY_HASH:
		return psa_sign_alg_from_pb(((const PsaVerifyHash__Operation *)m)->alg, &alg);
	case WIRE_OP_PSA_SIGN_MESSAGE:
		return psa_sign_alg_from_pb(((const PsaSignMessage__Operation *)m)->alg, &alg);
	case WIRE_OP_PSA_VERIFY_MESSAGE:
		return psa_sign_alg_from_pb(((const PsaVerifyMessage__Operation *)m)->alg, &alg);
	default:
		return TS_OK;
	}
}

/* Result messages with one bytes field 1 share this shape. */
static enum ts_err bytes_result(uint32_t opcode, uint8_t *data, size_t len, uint8_t **ret_body,
                                size_t *ret_len)
{
	PsaSignHash__Result sr = PSA_SIGN_HASH__RESULT__INIT;
	PsaExportKey__Result er = PSA_EXPORT_KEY__RESULT__INIT;

	/* Both messages are "bytes field 1": pack whichever matches. */
	if (opcode == WIRE_OP_PSA_SIGN_HASH || opcode == WIRE_OP_PSA_SIGN_MESSAGE) {
		sr.signature.data = data;
		sr.signature.len = len;
		return wire_pack(&sr.base, ret_body, ret_len);
	}
	er.data.data = data;
	er.data.len = len;
	return wire_pack(&er.base, ret_body, ret_len);
}

bool key_op_known(uint32_t opcode)
{
	for (size_t i = 0; i < sizeof(key_ops) / sizeof(key_ops[0]); i++)
		if (key_ops[i].opcode == opcode)
			return true;
	return false;
}

enum ts_err key_dispatch(struct svc_state *st, const struct svc_provider *p,
                         const struct auth_identity *id, uint32_t opcode, const uint8_t *body,
                         size_t body_len, uint8_t **ret_body, size_t *ret_len)
{
	const ProtobufCMessageDescriptor *desc = NULL;
	struct wire_pb_alloc alloc;
	ProtobufCMessage *m;
	uint8_t *out = NULL;
	size_t out_len = 0;
	enum ts_err err;

	for (size_t i = 0; i < sizeof(key_ops) / sizeof(key_ops[0]); i++)
		if (key_ops[i].opcode == opcode)
			desc = key_ops[i].desc;
	if (desc == NULL)
		return TS_E_PSA_NOT_SUPPORTED;
	m = decode_body(desc, body, body_len, &alloc);
	if (m == NULL)
		return TS_E_DESERIALIZING_BODY_FAILED;
	/* Step 12 (contract) before step 13 (identity), as in Parsec. */
	err = check_contract(opcode, m);
	if (err != TS_OK)
		goto out;
	if (id->name == NULL) {
		err = TS_E_NOT_AUTHENTICATED;
		goto out;
	}
	if (st->ks == NULL) {
		err = TS_E_KEY_INFO_MANAGER_ERROR;
		goto out;
	}
	switch (opcode) {
	case WIRE_OP_PSA_GENERATE_KEY:
		err = generate(st, p, id, (PsaGenerateKey__Operation *)m);
		if (err == TS_OK)
			err = wire_pack(
			        &(PsaGenerateKey__Result)PSA_GENERATE_KEY__RESULT__INIT.base,
			        ret_body, ret_len);
		break;
	case WIRE_OP_PSA_IMPORT_KEY:
		err = import(st, p, id, (PsaImportKey__Operation *)m);
		if (err == TS_OK)
			err = wire_pack(&(PsaImportKey__Result)PSA_IMPORT_KEY__RESULT__INIT.base,
			                ret_body, ret_len);
		break;
	case WIRE_OP_PSA_DESTROY_KEY:
		err = key_destroy(st, p, id->auth_type, id->name, op_key_name(opcode, m));
		if (err == TS_OK)
			err = wire_pack(&(PsaDestroyKey__Result)PSA_DESTROY_KEY__RESULT__INIT.base,
			                ret_body, ret_len);
		break;
	case WIRE_OP_PSA_EXPORT_KEY:
	case WIRE_OP_PSA_EXPORT_PUBLIC_KEY:
		err = export(st, p, id, op_key_name(opcode, m),
		             opcode == WIRE_OP_PSA_EXPORT_PUBLIC_KEY, &out, &out_len);
		if (err == TS_OK)
			err = bytes_result(opcode, out, out_len, ret_body, ret_len);
		break;
	case WIRE_OP_PSA_SIGN_HASH: {
		PsaSignHash__Operation *op = (PsaSignHash__Operation *)m;

		err = sign_verify(st, p, id, op->key_name, op->alg, &op->hash, false, NULL, &out,
		                  &out_len);
		if (err == TS_OK)
			err = bytes_result(opcode, out, out_len, ret_body, ret_len);
		break;
	}
	case WIRE_OP_PSA_SIGN_MESSAGE: {
		PsaSignMessage__Operation *op = (PsaSignMessage__Operation *)m;

		err = sign_verify(st, p, id, op->key_name, op->alg, &op->message, true, NULL, &out,
		                  &out_len);
		if (err == TS_OK)
			err = bytes_result(opcode, out, out_len, ret_body, ret_len);
		break;
	}
	case WIRE_OP_PSA_VERIFY_HASH: {
		PsaVerifyHash__Operation *op = (PsaVerifyHash__Operation *)m;

		err = sign_verify(st, p, id, op->key_name, op->alg, &op->hash, false,
		                  &op->signature, NULL, NULL);
		if (err == TS_OK)
			err = wire_pack(&(PsaVerifyHash__Result)PSA_VERIFY_HASH__RESULT__INIT.base,
			                ret_body, ret_len);
		break;
	}
	default: { /* WIRE_OP_PSA_VERIFY_MESSAGE */
		PsaVerifyMessage__Operation *op = (PsaVerifyMessage__Operation *)m;

		err = sign_verify(st, p, id, op->key_name, op->alg, &op->message, true,
		                  &op->signature, NULL, NULL);
		if (err == TS_OK)
			err = wire_pack(
			        &(PsaVerifyMessage__Result)PSA_VERIFY_MESSAGE__RESULT__INIT.base,
			        ret_body, ret_len);
		break;
	}
	}
out:
	ts_free_secret(out, out_len);
	free_body(m, &alloc);
	return err;
}
