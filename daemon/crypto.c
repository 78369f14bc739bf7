/*
 * Crypto operations that need no key: random generation and hashing. The
 * core checks the contract and limits; the provider computes.
 */
#include "daemon/daemon-priv.h"

#include <stdlib.h>
#include <string.h>

#include "common/secmem.h"

#include "can_do_crypto.pb-c.h"
#include "psa_generate_random.pb-c.h"
#include "wire/psa.h"
#include "psa_hash_compare.pb-c.h"
#include "psa_hash_compute.pb-c.h"

static bool hash_alg_valid(int alg)
{
	return alg >= PROV_HASH_MD2 && alg <= PROV_HASH_SHA3_512;
}

static enum ts_err do_generate_random(struct svc_state *st, const struct svc_provider *p,
                                      const PsaGenerateRandom__Operation *op, uint8_t **ret_body,
                                      size_t *ret_len)
{
	PsaGenerateRandom__Result r = PSA_GENERATE_RANDOM__RESULT__INIT;
	uint8_t *bytes;
	enum ts_err err;

	/* Parsec refuses a result larger than the response buffer limit. */
	if (op->size > st->cfg->core.buffer_size_limit)
		return TS_E_RESPONSE_TOO_LARGE;
	bytes = malloc(op->size ? op->size : 1);
	if (bytes == NULL)
		return TS_E_NOMEM;
	err = p->ops->generate_random(p->ctx, bytes, op->size);
	if (err == TS_OK) {
		r.random_bytes.data = bytes;
		r.random_bytes.len = op->size;
		err = wire_pack(&r.base, ret_body, ret_len);
	}
	ts_free_secret(bytes, op->size);
	return err;
}

static enum ts_err do_hash(const struct svc_provider *p, int alg, const ProtobufCBinaryData *in,
                           uint8_t *out, size_t *ret_len)
{
	return p->ops->hash_compute(p->ctx, (enum prov_hash)alg, in->data, in->len, out,
	                            PROV_HASH_MAX_SIZE, ret_len);
}

/* CanDoCrypto: the answer is the status (Parsec's semantics). */
static enum ts_err do_can_do(const struct svc_provider *p, const struct auth_identity *id,
                             const CanDoCrypto__Operation *op, uint8_t **ret_body, size_t *ret_len)
{
	CanDoCrypto__Result r = CAN_DO_CRYPTO__RESULT__INIT;
	struct psa_attrs a;
	enum ts_err err;

	if (op->check_type < CAN_DO_CRYPTO__CHECK_TYPE__USE ||
	    op->check_type > CAN_DO_CRYPTO__CHECK_TYPE__DERIVE ||
	    psa_attrs_from_pb(op->attributes, &a) != TS_OK)
		return TS_E_INVALID_ENCODING;
	if (id->name == NULL)
		return TS_E_NOT_AUTHENTICATED;
	if (!psa_alg_fits_type(&a))
		return TS_E_PSA_NOT_PERMITTED;
	err = p->ops->can_do(p->ctx, &a, (int)op->check_type);
	if (err != TS_OK)
		return err;
	return wire_pack(&r.base, ret_body, ret_len);
}

enum ts_err crypto_dispatch(struct svc_state *st, const struct svc_provider *p,
                            const struct auth_identity *id, uint32_t opcode, const uint8_t *body,
                            size_t body_len, uint8_t **ret_body, size_t *ret_len)
{
	const ProtobufCMessageDescriptor *desc;
	struct wire_pb_alloc alloc;
	ProtobufCMessage *msg;
	uint8_t digest[PROV_HASH_MAX_SIZE];
	size_t dlen = 0;
	enum ts_err err;

	if (!prov_supports(p->ops, opcode))
		return TS_E_PSA_NOT_SUPPORTED;
	if (key_op_known(opcode))
		return key_dispatch(st, p, id, opcode, body, body_len, ret_body, ret_len);
	if (crypt_op_known(opcode))
		return crypt_dispatch(st, p, id, opcode, body, body_len, ret_body, ret_len);
	switch (opcode) {
	case WIRE_OP_PSA_GENERATE_RANDOM:
		desc = &psa_generate_random__operation__descriptor;
		break;
	case WIRE_OP_PSA_HASH_COMPUTE:
		desc = &psa_hash_compute__operation__descriptor;
		break;
	case WIRE_OP_PSA_HASH_COMPARE:
		desc = &psa_hash_compare__operation__descriptor;
		break;
	case WIRE_OP_CAN_DO_CRYPTO:
		desc = &can_do_crypto__operation__descriptor;
		break;
	default:
		return TS_E_PSA_NOT_SUPPORTED;
	}
	msg = decode_body(desc, body, body_len, &alloc);
	if (msg == NULL)
		return TS_E_DESERIALIZING_BODY_FAILED;

	switch (opcode) {
	case WIRE_OP_CAN_DO_CRYPTO:
		err = do_can_do(p, id, (CanDoCrypto__Operation *)msg, ret_body, ret_len);
		break;
	case WIRE_OP_PSA_GENERATE_RANDOM:
		err = do_generate_random(st, p, (PsaGenerateRandom__Operation *)msg, ret_body,
		                         ret_len);
		break;
	case WIRE_OP_PSA_HASH_COMPUTE: {
		PsaHashCompute__Operation *op = (PsaHashCompute__Operation *)msg;
		PsaHashCompute__Result r = PSA_HASH_COMPUTE__RESULT__INIT;

		err = TS_E_INVALID_ENCODING;
		if (!hash_alg_valid((int)op->alg))
			break;
		err = do_hash(p, (int)op->alg, &op->input, digest, &dlen);
		if (err != TS_OK)
			break;
		r.hash.data = digest;
		r.hash.len = dlen;
		err = wire_pack(&r.base, ret_body, ret_len);
		break;
	}
	default: { /* WIRE_OP_PSA_HASH_COMPARE */
		PsaHashCompare__Operation *op = (PsaHashCompare__Operation *)msg;
		PsaHashCompare__Result r = PSA_HASH_COMPARE__RESULT__INIT;

		err = TS_E_INVALID_ENCODING;
		if (!hash_alg_valid((int)op->alg))
			break;
		err = do_hash(p, (int)op->alg, &op->input, digest, &dlen);
		if (err != TS_OK)
			break;
		/* PSA: a reference of the wrong length or value is a bad signature. */
		if (op->hash.len != dlen || !ts_consttime_eq(op->hash.data, digest, dlen)) {
			err = TS_E_PSA_INVALID_SIGNATURE;
			break;
		}
		err = wire_pack(&r.base, ret_body, ret_len);
		break;
	}
	}
	free_body(msg, &alloc);
	return err;
}
