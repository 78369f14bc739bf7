/*
 * libtessera-psa: multipart hash, MAC, cipher and AEAD. The daemon holds
 * each operation behind a handle (0x10210-0x10216); the object keeps the
 * specification's state machine locally, so that the calls in the wrong
 * order are refused before any request (docs/psa-api.md).
 */
#include "client/psa/psa-priv.h"
#include "client/psa/multipart.h"

#include <stdlib.h>
#include <string.h>

#include "client/psa/pbmap.h"
#include "client/tessera.h"
#include "wire/wire.h"

#include "psa_op_abort.pb-c.h"
#include "psa_op_clone.pb-c.h"
#include "psa_op_finish.pb-c.h"
#include "psa_op_set_iv.pb-c.h"
#include "psa_op_set_lengths.pb-c.h"
#include "psa_op_setup.pb-c.h"
#include "psa_op_update.pb-c.h"

#define BYTES(p, n) ((ProtobufCBinaryData){.len = (n), .data = (uint8_t *)(p)})

psa_status_t tpsa_op_check(struct tessera_psa_op_s *op)
{
	if ((op->state & TPSA_S_ACTIVE) == 0 || (op->state & TPSA_S_ERROR) != 0)
		return PSA_ERROR_BAD_STATE;
	if (op->generation != (uint32_t)tpsa_generation()) {
		op->state |= TPSA_S_ERROR;
		return PSA_ERROR_COMMUNICATION_FAILURE;
	}
	return PSA_SUCCESS;
}

psa_status_t tpsa_op_fail(struct tessera_psa_op_s *op, psa_status_t st)
{
	if (st != PSA_SUCCESS && (op->state & TPSA_S_ACTIVE) != 0)
		op->state |= TPSA_S_ERROR;
	return st;
}

int tpsa_op_call(struct tessera_psa_op_s *op, uint32_t opcode, const ProtobufCMessage *msg,
                 const ProtobufCMessageDescriptor *desc, ProtobufCMessage **ret, psa_status_t *st)
{
	int rc = tpsa_call(op->provider, opcode, msg, desc, ret);

	*st = tpsa_status(rc);
	/* A new connection: the handle named nothing there (or worse). */
	if (op->generation != (uint32_t)tpsa_generation()) {
		if (*ret != NULL && rc == TESSERA_OK)
			protobuf_c_message_free_unpacked(*ret, NULL);
		*ret = NULL;
		*st = PSA_ERROR_COMMUNICATION_FAILURE;
	}
	/* An unknown handle is BadState on the daemon: the operation was freed there. */
	tpsa_op_fail(op, *st);
	return rc;
}

/* The usage flag an operation of kind needs. */
static psa_key_usage_t kind_usage(int kind)
{
	switch (kind) {
	case PSA_OP_SETUP__OPERATION__KIND__MAC_SIGN:
		return PSA_KEY_USAGE_SIGN_MESSAGE;
	case PSA_OP_SETUP__OPERATION__KIND__MAC_VERIFY:
		return PSA_KEY_USAGE_VERIFY_MESSAGE;
	case PSA_OP_SETUP__OPERATION__KIND__CIPHER_ENCRYPT:
	case PSA_OP_SETUP__OPERATION__KIND__AEAD_ENCRYPT:
		return PSA_KEY_USAGE_ENCRYPT;
	case PSA_OP_SETUP__OPERATION__KIND__CIPHER_DECRYPT:
	case PSA_OP_SETUP__OPERATION__KIND__AEAD_DECRYPT:
		return PSA_KEY_USAGE_DECRYPT;
	default:
		return PSA_KEY_USAGE_DERIVE;
	}
}

psa_status_t tpsa_op_setup(struct tessera_psa_op_s *op, int kind, bool keyed, psa_key_id_t key,
                           psa_algorithm_t alg, psa_key_type_t *ret_type)
{
	PsaOpSetup__Operation m = PSA_OP_SETUP__OPERATION__INIT;
	PsaOpSetup__Result *r = NULL;
	PsaAlgorithm__Algorithm *pa = NULL;
	struct pbarena arena = PBARENA_INIT;
	char name[TPSA_NAME_MAX] = "";
	struct tpsa_key *k = NULL;
	uint8_t provider = 0;
	psa_status_t st;

	if ((op->state & TPSA_S_ACTIVE) != 0)
		return PSA_ERROR_BAD_STATE;
	st = tpsa_enter();
	if (st == PSA_SUCCESS) {
		if (keyed) {
			st = tpsa_key_find(key, &k);
			if (st == PSA_SUCCESS)
				st = tpsa_key_attrs(k);
			if (st == PSA_SUCCESS) {
				provider = k->provider;
				tpsa_key_name(k->id, k->is_volatile, name);
				if (ret_type != NULL)
					*ret_type = k->attrs.type;
			}
		} else {
			st = tpsa_default_provider(&provider);
		}
	}
	if (st == PSA_SUCCESS && PSA_ALG_IS_MAC(alg) && TPSA_MAC_TOO_SHORT(alg))
		st = PSA_ERROR_NOT_SUPPORTED; /* after the key, as in the one-shots */
	if (st == PSA_SUCCESS && !tpsa_provider_has(provider, WIRE_OP_PSA_OP_SETUP))
		st = PSA_ERROR_NOT_SUPPORTED;
	if (st == PSA_SUCCESS)
		st = tpsa_alg_to_pb(alg, &pa, &arena);
	if (st == PSA_SUCCESS) {
		m.kind = (PsaOpSetup__Operation__Kind)kind;
		m.key_name = name;
		m.alg = pa;
		st = keyed ? tpsa_refine_not_permitted(
		                     k, alg, kind_usage(kind),
		                     tpsa_key_call(k, WIRE_OP_PSA_OP_SETUP, &m.base,
		                                   &psa_op_setup__result__descriptor,
		                                   (ProtobufCMessage **)&r))
		           : tpsa_status(tpsa_call(provider, WIRE_OP_PSA_OP_SETUP, &m.base,
		                                   &psa_op_setup__result__descriptor,
		                                   (ProtobufCMessage **)&r));
		if (st == PSA_SUCCESS && r->handle == 0)
			st = PSA_ERROR_COMMUNICATION_FAILURE;
		if (st == PSA_SUCCESS) {
			memset(op, 0, sizeof(*op));
			op->handle = r->handle;
			op->provider = provider;
			op->generation = (uint32_t)tpsa_generation();
			op->alg = alg;
			op->state = TPSA_S_ACTIVE;
		}
	}
	if (r != NULL)
		psa_op_setup__result__free_unpacked(r, NULL);
	tpsa_pbarena_free(&arena);
	tpsa_leave();
	return st;
}

void tpsa_op_abort_locked(struct tessera_psa_op_s *op)
{
	if (op->handle != 0 && op->generation == (uint32_t)tpsa_generation()) {
		PsaOpAbort__Operation m = PSA_OP_ABORT__OPERATION__INIT;

		m.handle = op->handle;
		(void)tpsa_call(op->provider, WIRE_OP_PSA_OP_ABORT, &m.base, NULL, NULL);
	}
	memset(op, 0, sizeof(*op));
}

psa_status_t tpsa_op_abort(struct tessera_psa_op_s *op)
{
	psa_status_t st;

	if (op == NULL)
		return PSA_ERROR_INVALID_ARGUMENT;
	if ((op->state & TPSA_S_ACTIVE) == 0) {
		memset(op, 0, sizeof(*op));
		return PSA_SUCCESS;
	}
	st = tpsa_enter();
	if (st == PSA_SUCCESS)
		tpsa_op_abort_locked(op);
	else
		memset(op, 0, sizeof(*op));
	tpsa_leave();
	return PSA_SUCCESS;
}

/*
 * Feed input (additional data when ad) in chunks; the released output is
 * appended to out (NULL: none expected) up to out_size.
 */
static psa_status_t feed(struct tessera_psa_op_s *op, const uint8_t *input, size_t len, bool ad,
                         uint8_t *out, size_t out_size, size_t *ret_out)
{
	size_t done = 0, produced = 0;
	psa_status_t st = PSA_SUCCESS;

	do {
		PsaOpUpdate__Operation m = PSA_OP_UPDATE__OPERATION__INIT;
		PsaOpUpdate__Result *r = NULL;
		size_t n = len - done < TPSA_UPDATE_CHUNK ? len - done : TPSA_UPDATE_CHUNK;

		m.handle = op->handle;
		m.input = BYTES(input + done, n);
		m.additional_data = ad;
		tpsa_op_call(op, WIRE_OP_PSA_OP_UPDATE, &m.base, &psa_op_update__result__descriptor,
		             (ProtobufCMessage **)&r, &st);
		if (st == PSA_SUCCESS && r->output.len > 0) {
			if (out == NULL || r->output.len > out_size - produced)
				st = tpsa_op_fail(op, PSA_ERROR_BUFFER_TOO_SMALL);
			else
				memcpy(out + produced, r->output.data, r->output.len);
			if (st == PSA_SUCCESS)
				produced += r->output.len;
			tpsa_wipe(r->output.data, r->output.len);
		}
		if (r != NULL)
			psa_op_update__result__free_unpacked(r, NULL);
		done += n;
	} while (st == PSA_SUCCESS && done < len);
	if (ret_out != NULL)
		*ret_out = st == PSA_SUCCESS ? produced : 0;
	if (st != PSA_SUCCESS && out != NULL && produced > 0)
		tpsa_wipe(out, produced);
	return st;
}

/*
 * Finish: check (verify against expected) or not; the output and the tag
 * copied into their buffers. The daemon frees the operation either way.
 */
static psa_status_t finish(struct tessera_psa_op_s *op, bool check, const uint8_t *expected,
                           size_t expected_len, uint8_t *out, size_t out_size, size_t *ret_out,
                           uint8_t *tag, size_t tag_size, size_t *ret_tag)
{
	PsaOpFinish__Operation m = PSA_OP_FINISH__OPERATION__INIT;
	PsaOpFinish__Result *r = NULL;
	psa_status_t st;

	m.handle = op->handle;
	m.check = check;
	m.expected = BYTES(expected, expected_len);
	tpsa_op_call(op, WIRE_OP_PSA_OP_FINISH, &m.base, &psa_op_finish__result__descriptor,
	             (ProtobufCMessage **)&r, &st);
	if (st == PSA_SUCCESS && r->output.len > 0 && (out == NULL || r->output.len > out_size))
		st = PSA_ERROR_BUFFER_TOO_SMALL;
	if (st == PSA_SUCCESS && r->tag.len > 0 && (tag == NULL || r->tag.len > tag_size))
		st = PSA_ERROR_BUFFER_TOO_SMALL;
	if (st == PSA_SUCCESS) {
		if (r->output.len > 0)
			memcpy(out, r->output.data, r->output.len);
		if (r->tag.len > 0)
			memcpy(tag, r->tag.data, r->tag.len);
		if (ret_out != NULL)
			*ret_out = r->output.len;
		if (ret_tag != NULL)
			*ret_tag = r->tag.len;
		memset(op, 0, sizeof(*op));
	} else {
		/* Gone on the daemon: only abort is left, which then sends nothing. */
		op->handle = 0;
		tpsa_op_fail(op, st);
	}
	if (r != NULL) {
		tpsa_wipe(r->output.data, r->output.len);
		psa_op_finish__result__free_unpacked(r, NULL);
	}
	return st;
}

/* ---- hash */

psa_status_t psa_hash_setup(psa_hash_operation_t *operation, psa_algorithm_t alg)
{
	if (operation == NULL)
		return PSA_ERROR_INVALID_ARGUMENT;
	if ((operation->op.state & TPSA_S_ACTIVE) != 0)
		return PSA_ERROR_BAD_STATE;
	if (!PSA_ALG_IS_HASH(alg) || alg == PSA_ALG_ANY_HASH)
		return PSA_ERROR_INVALID_ARGUMENT;
	return tpsa_op_setup(&operation->op, PSA_OP_SETUP__OPERATION__KIND__HASH, false, 0, alg,
	                     NULL);
}

/* Hash and MAC updates: data in, nothing out. */
static psa_status_t update_no_output(struct tessera_psa_op_s *op, const uint8_t *input,
                                     size_t input_length)
{
	psa_status_t st = tpsa_enter();

	if (st == PSA_SUCCESS)
		st = tpsa_op_check(op);
	if (st == PSA_SUCCESS && input_length > 0)
		st = feed(op, input, input_length, false, NULL, 0, NULL);
	tpsa_leave();
	return st;
}

psa_status_t psa_hash_update(psa_hash_operation_t *operation, const uint8_t *input,
                             size_t input_length)
{
	return update_no_output(&operation->op, input, input_length);
}

psa_status_t psa_hash_finish(psa_hash_operation_t *operation, uint8_t *hash, size_t hash_size,
                             size_t *hash_length)
{
	psa_status_t st;

	if (hash_length != NULL)
		*hash_length = 0;
	st = tpsa_enter();
	if (st == PSA_SUCCESS)
		st = tpsa_op_check(&operation->op);
	if (st == PSA_SUCCESS &&
	    (hash_length == NULL || hash_size < PSA_HASH_LENGTH(operation->op.alg)))
		st = tpsa_op_fail(&operation->op, hash_length == NULL ? PSA_ERROR_INVALID_ARGUMENT
		                                                      : PSA_ERROR_BUFFER_TOO_SMALL);
	if (st == PSA_SUCCESS)
		st = finish(&operation->op, false, NULL, 0, hash, hash_size, hash_length, NULL, 0,
		            NULL);
	tpsa_leave();
	return st;
}

psa_status_t psa_hash_verify(psa_hash_operation_t *operation, const uint8_t *hash,
                             size_t hash_length)
{
	psa_status_t st = tpsa_enter();

	if (st == PSA_SUCCESS)
		st = tpsa_op_check(&operation->op);
	if (st == PSA_SUCCESS)
		st = finish(&operation->op, true, hash, hash_length, NULL, 0, NULL, NULL, 0, NULL);
	tpsa_leave();
	return st;
}

psa_status_t psa_hash_abort(psa_hash_operation_t *operation)
{
	return operation == NULL ? PSA_SUCCESS : tpsa_op_abort(&operation->op);
}

psa_status_t psa_hash_clone(const psa_hash_operation_t *source_operation,
                            psa_hash_operation_t *target_operation)
{
	PsaOpClone__Operation m = PSA_OP_CLONE__OPERATION__INIT;
	PsaOpClone__Result *r = NULL;
	struct tessera_psa_op_s src;
	psa_status_t st;

	if (source_operation == NULL || target_operation == NULL)
		return PSA_ERROR_INVALID_ARGUMENT;
	src = source_operation->op;
	if ((target_operation->op.state & TPSA_S_ACTIVE) != 0)
		return PSA_ERROR_BAD_STATE;
	st = tpsa_enter();
	if (st == PSA_SUCCESS)
		st = tpsa_op_check(&src);
	if (st == PSA_SUCCESS) {
		m.handle = src.handle;
		st = tpsa_status(tpsa_call(src.provider, WIRE_OP_PSA_OP_CLONE, &m.base,
		                           &psa_op_clone__result__descriptor,
		                           (ProtobufCMessage **)&r));
		/* A new connection, whatever the daemon said: the handle named
		 * nothing there (its BadState is not the caller's). The source's
		 * next call finds the generation changed too. */
		if (src.generation != (uint32_t)tpsa_generation())
			st = PSA_ERROR_COMMUNICATION_FAILURE;
		if (st == PSA_SUCCESS && r->handle == 0)
			st = PSA_ERROR_COMMUNICATION_FAILURE;
	}
	if (st == PSA_SUCCESS) {
		target_operation->op = src;
		target_operation->op.handle = r->handle;
	}
	if (r != NULL)
		psa_op_clone__result__free_unpacked(r, NULL);
	tpsa_leave();
	return st;
}

psa_status_t psa_hash_suspend(psa_hash_operation_t *operation, uint8_t *hash_state,
                              size_t hash_state_size, size_t *hash_state_length)
{
	(void)operation;
	(void)hash_state;
	(void)hash_state_size;
	if (hash_state_length != NULL)
		*hash_state_length = 0;
	return PSA_ERROR_NOT_SUPPORTED;
}

psa_status_t psa_hash_resume(psa_hash_operation_t *operation, const uint8_t *hash_state,
                             size_t hash_state_length)
{
	(void)operation;
	(void)hash_state;
	(void)hash_state_length;
	return PSA_ERROR_NOT_SUPPORTED;
}

/* ---- MAC */

/* MAC, cipher and AEAD setup: the keyed operation made, the key's type
 * kept (for the size macros) and the direction marked. */
static psa_status_t keyed_setup(struct tessera_psa_op_s *op, int kind, bool second,
                                psa_key_id_t key, psa_algorithm_t alg)
{
	psa_key_type_t type = 0;
	psa_status_t st = tpsa_op_setup(op, kind, true, key, alg, &type);

	if (st == PSA_SUCCESS) {
		op->flags = type;
		if (second)
			op->state |= TPSA_S_DECRYPT;
	}
	return st;
}

static psa_status_t mac_setup(psa_mac_operation_t *operation, psa_key_id_t key, psa_algorithm_t alg,
                              bool verify)
{
	if (operation == NULL)
		return PSA_ERROR_INVALID_ARGUMENT;
	if ((operation->op.state & TPSA_S_ACTIVE) != 0)
		return PSA_ERROR_BAD_STATE;
	if (!PSA_ALG_IS_MAC(alg) || PSA_ALG_IS_WILDCARD(alg))
		return PSA_ERROR_INVALID_ARGUMENT;
	return keyed_setup(&operation->op,
	                   verify ? PSA_OP_SETUP__OPERATION__KIND__MAC_VERIFY
	                          : PSA_OP_SETUP__OPERATION__KIND__MAC_SIGN,
	                   verify, key, alg);
}

psa_status_t psa_mac_sign_setup(psa_mac_operation_t *operation, psa_key_id_t key,
                                psa_algorithm_t alg)
{
	return mac_setup(operation, key, alg, false);
}

psa_status_t psa_mac_verify_setup(psa_mac_operation_t *operation, psa_key_id_t key,
                                  psa_algorithm_t alg)
{
	return mac_setup(operation, key, alg, true);
}

psa_status_t psa_mac_update(psa_mac_operation_t *operation, const uint8_t *input,
                            size_t input_length)
{
	return update_no_output(&operation->op, input, input_length);
}

psa_status_t psa_mac_sign_finish(psa_mac_operation_t *operation, uint8_t *mac, size_t mac_size,
                                 size_t *mac_length)
{
	psa_status_t st;

	if (mac_length != NULL)
		*mac_length = 0;
	st = tpsa_enter();
	if (st == PSA_SUCCESS)
		st = tpsa_op_check(&operation->op);
	if (st == PSA_SUCCESS && (operation->op.state & TPSA_S_DECRYPT) != 0)
		st = tpsa_op_fail(&operation->op, PSA_ERROR_BAD_STATE);
	if (st == PSA_SUCCESS && mac_length == NULL)
		st = tpsa_op_fail(&operation->op, PSA_ERROR_INVALID_ARGUMENT);
	if (st == PSA_SUCCESS &&
	    mac_size < PSA_MAC_LENGTH(operation->op.flags, 0, operation->op.alg))
		st = tpsa_op_fail(&operation->op, PSA_ERROR_BUFFER_TOO_SMALL);
	if (st == PSA_SUCCESS)
		st = finish(&operation->op, false, NULL, 0, mac, mac_size, mac_length, NULL, 0,
		            NULL);
	tpsa_leave();
	return st;
}

psa_status_t psa_mac_verify_finish(psa_mac_operation_t *operation, const uint8_t *mac,
                                   size_t mac_length)
{
	psa_status_t st = tpsa_enter();

	if (st == PSA_SUCCESS)
		st = tpsa_op_check(&operation->op);
	if (st == PSA_SUCCESS && (operation->op.state & TPSA_S_DECRYPT) == 0)
		st = tpsa_op_fail(&operation->op, PSA_ERROR_BAD_STATE);
	if (st == PSA_SUCCESS)
		st = finish(&operation->op, true, mac, mac_length, NULL, 0, NULL, NULL, 0, NULL);
	tpsa_leave();
	return st;
}

psa_status_t psa_mac_abort(psa_mac_operation_t *operation)
{
	return operation == NULL ? PSA_SUCCESS : tpsa_op_abort(&operation->op);
}

/* ---- cipher */

static psa_status_t cipher_setup(psa_cipher_operation_t *operation, psa_key_id_t key,
                                 psa_algorithm_t alg, bool decrypt)
{
	psa_status_t st;

	if (operation == NULL)
		return PSA_ERROR_INVALID_ARGUMENT;
	if ((operation->op.state & TPSA_S_ACTIVE) != 0)
		return PSA_ERROR_BAD_STATE;
	if (!PSA_ALG_IS_CIPHER(alg))
		return PSA_ERROR_INVALID_ARGUMENT;
	st = keyed_setup(&operation->op,
	                 decrypt ? PSA_OP_SETUP__OPERATION__KIND__CIPHER_DECRYPT
	                         : PSA_OP_SETUP__OPERATION__KIND__CIPHER_ENCRYPT,
	                 decrypt, key, alg);
	/* Modes without an IV are ready for data at once. */
	if (st == PSA_SUCCESS && PSA_CIPHER_IV_LENGTH(operation->op.flags, alg) == 0)
		operation->op.state |= TPSA_S_IV;
	return st;
}

psa_status_t psa_cipher_encrypt_setup(psa_cipher_operation_t *operation, psa_key_id_t key,
                                      psa_algorithm_t alg)
{
	return cipher_setup(operation, key, alg, false);
}

psa_status_t psa_cipher_decrypt_setup(psa_cipher_operation_t *operation, psa_key_id_t key,
                                      psa_algorithm_t alg)
{
	return cipher_setup(operation, key, alg, true);
}

/* Set (generate: make) the IV or nonce; the IV made is copied to iv. */
static psa_status_t set_iv(struct tessera_psa_op_s *op, bool generate, const uint8_t *iv_in,
                           size_t iv_in_len, uint8_t *iv, size_t iv_size, size_t *iv_length)
{
	PsaOpSetIv__Operation m = PSA_OP_SET_IV__OPERATION__INIT;
	PsaOpSetIv__Result *r = NULL;
	psa_status_t st;

	m.handle = op->handle;
	m.generate = generate;
	m.iv = BYTES(iv_in, iv_in_len);
	tpsa_op_call(op, WIRE_OP_PSA_OP_SET_IV, &m.base, &psa_op_set_iv__result__descriptor,
	             (ProtobufCMessage **)&r, &st);
	if (st == PSA_SUCCESS && generate) {
		st = tpsa_out(r->iv.data, r->iv.len, iv, iv_size, iv_length);
		tpsa_op_fail(op, st);
	}
	if (st == PSA_SUCCESS)
		op->state |= TPSA_S_IV;
	if (r != NULL)
		psa_op_set_iv__result__free_unpacked(r, NULL);
	return st;
}

psa_status_t psa_cipher_generate_iv(psa_cipher_operation_t *operation, uint8_t *iv, size_t iv_size,
                                    size_t *iv_length)
{
	struct tessera_psa_op_s *op = &operation->op;
	psa_status_t st;

	if (iv_length != NULL)
		*iv_length = 0;
	st = tpsa_enter();
	if (st == PSA_SUCCESS)
		st = tpsa_op_check(op);
	if (st == PSA_SUCCESS && ((op->state & (TPSA_S_IV | TPSA_S_DECRYPT | TPSA_S_DATA)) != 0))
		st = tpsa_op_fail(op, PSA_ERROR_BAD_STATE);
	if (st == PSA_SUCCESS && iv_length == NULL)
		st = tpsa_op_fail(op, PSA_ERROR_INVALID_ARGUMENT);
	if (st == PSA_SUCCESS && iv_size < PSA_CIPHER_IV_LENGTH(op->flags, op->alg))
		st = tpsa_op_fail(op, PSA_ERROR_BUFFER_TOO_SMALL);
	if (st == PSA_SUCCESS)
		st = set_iv(op, true, NULL, 0, iv, iv_size, iv_length);
	tpsa_leave();
	return st;
}

psa_status_t psa_cipher_set_iv(psa_cipher_operation_t *operation, const uint8_t *iv,
                               size_t iv_length)
{
	struct tessera_psa_op_s *op = &operation->op;
	psa_status_t st = tpsa_enter();

	if (st == PSA_SUCCESS)
		st = tpsa_op_check(op);
	if (st == PSA_SUCCESS && ((op->state & (TPSA_S_IV | TPSA_S_DATA)) != 0))
		st = tpsa_op_fail(op, PSA_ERROR_BAD_STATE);
	if (st == PSA_SUCCESS && iv_length != PSA_CIPHER_IV_LENGTH(op->flags, op->alg))
		st = tpsa_op_fail(op, PSA_ERROR_INVALID_ARGUMENT);
	if (st == PSA_SUCCESS)
		st = set_iv(op, false, iv, iv_length, NULL, 0, NULL);
	tpsa_leave();
	return st;
}

size_t tpsa_cipher_update_length(const struct tessera_psa_op_s *op, size_t input_length)
{
	size_t bs = PSA_BLOCK_CIPHER_BLOCK_LENGTH(op->flags),
	       total = op->capacity_hint + input_length;

	if (op->alg == PSA_ALG_ECB_NO_PADDING || op->alg == PSA_ALG_CBC_NO_PADDING ||
	    (op->alg == PSA_ALG_CBC_PKCS7 && (op->state & TPSA_S_DECRYPT) == 0))
		return bs > 0 ? total / bs * bs : total;
	if (op->alg == PSA_ALG_CBC_PKCS7) /* the last whole block waits for finish */
		return bs > 0 && total > 0 ? (total - 1) / bs * bs : 0;
	return input_length;
}

psa_status_t psa_cipher_update(psa_cipher_operation_t *operation, const uint8_t *input,
                               size_t input_length, uint8_t *output, size_t output_size,
                               size_t *output_length)
{
	struct tessera_psa_op_s *op = &operation->op;
	size_t expect = 0, got = 0;
	psa_status_t st;

	if (output_length != NULL)
		*output_length = 0;
	st = tpsa_enter();
	if (st == PSA_SUCCESS)
		st = tpsa_op_check(op);
	if (st == PSA_SUCCESS && (op->state & TPSA_S_IV) == 0)
		st = tpsa_op_fail(op, PSA_ERROR_BAD_STATE);
	if (st == PSA_SUCCESS && output_length == NULL)
		st = tpsa_op_fail(op, PSA_ERROR_INVALID_ARGUMENT);
	if (st == PSA_SUCCESS) {
		expect = tpsa_cipher_update_length(op, input_length);
		if (output_size < expect)
			st = tpsa_op_fail(op, PSA_ERROR_BUFFER_TOO_SMALL);
	}
	if (st == PSA_SUCCESS && input_length > 0) {
		op->state |= TPSA_S_DATA;
		st = feed(op, input, input_length, false, output, output_size, &got);
		if (st == PSA_SUCCESS) {
			op->capacity_hint = op->capacity_hint + input_length - got;
			*output_length = got;
		}
	}
	tpsa_leave();
	return st;
}

psa_status_t psa_cipher_finish(psa_cipher_operation_t *operation, uint8_t *output,
                               size_t output_size, size_t *output_length)
{
	struct tessera_psa_op_s *op = &operation->op;
	psa_status_t st;

	if (output_length != NULL)
		*output_length = 0;
	st = tpsa_enter();
	if (st == PSA_SUCCESS)
		st = tpsa_op_check(op);
	if (st == PSA_SUCCESS && (op->state & TPSA_S_IV) == 0)
		st = tpsa_op_fail(op, PSA_ERROR_BAD_STATE);
	if (st == PSA_SUCCESS && output_length == NULL)
		st = tpsa_op_fail(op, PSA_ERROR_INVALID_ARGUMENT);
	if (st == PSA_SUCCESS && op->alg == PSA_ALG_CBC_PKCS7 &&
	    (op->state & TPSA_S_DECRYPT) == 0 &&
	    output_size < PSA_BLOCK_CIPHER_BLOCK_LENGTH(op->flags))
		st = tpsa_op_fail(op, PSA_ERROR_BUFFER_TOO_SMALL);
	if (st == PSA_SUCCESS)
		st = finish(op, false, NULL, 0, output, output_size, output_length, NULL, 0, NULL);
	tpsa_leave();
	return st;
}

psa_status_t psa_cipher_abort(psa_cipher_operation_t *operation)
{
	return operation == NULL ? PSA_SUCCESS : tpsa_op_abort(&operation->op);
}

/* ---- AEAD */

static bool is_ccm(psa_algorithm_t alg)
{
	return PSA_ALG_AEAD_WITH_DEFAULT_LENGTH_TAG(alg) == PSA_ALG_CCM;
}

static psa_status_t aead_setup(psa_aead_operation_t *operation, psa_key_id_t key,
                               psa_algorithm_t alg, bool decrypt)
{
	if (operation == NULL)
		return PSA_ERROR_INVALID_ARGUMENT;
	if ((operation->op.state & TPSA_S_ACTIVE) != 0)
		return PSA_ERROR_BAD_STATE;
	if (!PSA_ALG_IS_AEAD(alg) || PSA_ALG_IS_WILDCARD(alg) || TPSA_ALG_LENGTH_FIELD(alg) == 0)
		return PSA_ERROR_INVALID_ARGUMENT;
	return keyed_setup(&operation->op,
	                   decrypt ? PSA_OP_SETUP__OPERATION__KIND__AEAD_DECRYPT
	                           : PSA_OP_SETUP__OPERATION__KIND__AEAD_ENCRYPT,
	                   decrypt, key, alg);
}

psa_status_t psa_aead_encrypt_setup(psa_aead_operation_t *operation, psa_key_id_t key,
                                    psa_algorithm_t alg)
{
	return aead_setup(operation, key, alg, false);
}

psa_status_t psa_aead_decrypt_setup(psa_aead_operation_t *operation, psa_key_id_t key,
                                    psa_algorithm_t alg)
{
	return aead_setup(operation, key, alg, true);
}

psa_status_t psa_aead_set_lengths(psa_aead_operation_t *operation, size_t ad_length,
                                  size_t plaintext_length)
{
	struct tessera_psa_op_s *op = &operation->op;
	psa_status_t st = tpsa_enter();

	if (st == PSA_SUCCESS)
		st = tpsa_op_check(op);
	if (st == PSA_SUCCESS && (op->state & (TPSA_S_LENGTHS | TPSA_S_AD | TPSA_S_DATA)) != 0)
		st = tpsa_op_fail(op, PSA_ERROR_BAD_STATE);
	if (st == PSA_SUCCESS) {
		PsaOpSetLengths__Operation m = PSA_OP_SET_LENGTHS__OPERATION__INIT;
		ProtobufCMessage *r = NULL;

		m.handle = op->handle;
		m.ad_length = ad_length;
		m.plaintext_length = plaintext_length;
		tpsa_op_call(op, WIRE_OP_PSA_OP_SET_LENGTHS, &m.base, NULL, &r, &st);
	}
	if (st == PSA_SUCCESS) {
		op->state |= TPSA_S_LENGTHS;
		op->ad_remaining = ad_length;
		op->text_remaining = plaintext_length;
	}
	tpsa_leave();
	return st;
}

psa_status_t psa_aead_generate_nonce(psa_aead_operation_t *operation, uint8_t *nonce,
                                     size_t nonce_size, size_t *nonce_length)
{
	struct tessera_psa_op_s *op = &operation->op;
	psa_status_t st;

	if (nonce_length != NULL)
		*nonce_length = 0;
	st = tpsa_enter();
	if (st == PSA_SUCCESS)
		st = tpsa_op_check(op);
	if (st == PSA_SUCCESS &&
	    (op->state & (TPSA_S_IV | TPSA_S_DECRYPT | TPSA_S_AD | TPSA_S_DATA)) != 0)
		st = tpsa_op_fail(op, PSA_ERROR_BAD_STATE);
	if (st == PSA_SUCCESS && nonce_length == NULL)
		st = tpsa_op_fail(op, PSA_ERROR_INVALID_ARGUMENT);
	if (st == PSA_SUCCESS && nonce_size < PSA_AEAD_NONCE_LENGTH(op->flags, op->alg))
		st = tpsa_op_fail(op, PSA_ERROR_BUFFER_TOO_SMALL);
	if (st == PSA_SUCCESS)
		st = set_iv(op, true, NULL, 0, nonce, nonce_size, nonce_length);
	tpsa_leave();
	return st;
}

psa_status_t psa_aead_set_nonce(psa_aead_operation_t *operation, const uint8_t *nonce,
                                size_t nonce_length)
{
	struct tessera_psa_op_s *op = &operation->op;
	psa_status_t st = tpsa_enter();

	if (st == PSA_SUCCESS)
		st = tpsa_op_check(op);
	if (st == PSA_SUCCESS && (op->state & (TPSA_S_IV | TPSA_S_AD | TPSA_S_DATA)) != 0)
		st = tpsa_op_fail(op, PSA_ERROR_BAD_STATE);
	if (st == PSA_SUCCESS && nonce_length == 0)
		st = tpsa_op_fail(op, PSA_ERROR_INVALID_ARGUMENT);
	if (st == PSA_SUCCESS)
		st = set_iv(op, false, nonce, nonce_length, NULL, 0, NULL);
	tpsa_leave();
	return st;
}

/* The state checks update_ad and update share. */
static psa_status_t aead_data_check(struct tessera_psa_op_s *op)
{
	psa_status_t st = tpsa_op_check(op);

	if (st != PSA_SUCCESS)
		return st;
	if ((op->state & TPSA_S_IV) == 0)
		return tpsa_op_fail(op, PSA_ERROR_BAD_STATE);
	if (is_ccm(op->alg) && (op->state & TPSA_S_LENGTHS) == 0)
		return tpsa_op_fail(op, PSA_ERROR_BAD_STATE);
	return PSA_SUCCESS;
}

psa_status_t psa_aead_update_ad(psa_aead_operation_t *operation, const uint8_t *input,
                                size_t input_length)
{
	struct tessera_psa_op_s *op = &operation->op;
	psa_status_t st = tpsa_enter();

	if (st == PSA_SUCCESS)
		st = aead_data_check(op);
	if (st == PSA_SUCCESS && (op->state & TPSA_S_DATA) != 0)
		st = tpsa_op_fail(op, PSA_ERROR_BAD_STATE);
	if (st == PSA_SUCCESS && (op->state & TPSA_S_LENGTHS) != 0 &&
	    input_length > op->ad_remaining)
		st = tpsa_op_fail(op, PSA_ERROR_INVALID_ARGUMENT);
	if (st == PSA_SUCCESS && input_length > 0) {
		op->state |= TPSA_S_AD;
		st = feed(op, input, input_length, true, NULL, 0, NULL);
		if (st == PSA_SUCCESS && (op->state & TPSA_S_LENGTHS) != 0)
			op->ad_remaining -= input_length;
	}
	tpsa_leave();
	return st;
}

psa_status_t psa_aead_update(psa_aead_operation_t *operation, const uint8_t *input,
                             size_t input_length, uint8_t *output, size_t output_size,
                             size_t *output_length)
{
	struct tessera_psa_op_s *op = &operation->op;
	size_t got = 0;
	psa_status_t st;

	if (output_length != NULL)
		*output_length = 0;
	st = tpsa_enter();
	if (st == PSA_SUCCESS)
		st = aead_data_check(op);
	if (st == PSA_SUCCESS && output_length == NULL)
		st = tpsa_op_fail(op, PSA_ERROR_INVALID_ARGUMENT);
	if (st == PSA_SUCCESS && (op->state & TPSA_S_LENGTHS) != 0 &&
	    (op->ad_remaining != 0 || input_length > op->text_remaining))
		st = tpsa_op_fail(op, PSA_ERROR_INVALID_ARGUMENT);
	/* GCM and ChaCha20-Poly1305 release every byte at once. */
	if (st == PSA_SUCCESS && !is_ccm(op->alg) && output_size < input_length)
		st = tpsa_op_fail(op, PSA_ERROR_BUFFER_TOO_SMALL);
	if (st == PSA_SUCCESS) {
		op->state |= TPSA_S_DATA;
		if (input_length > 0)
			st = feed(op, input, input_length, false, output, output_size, &got);
		if (st == PSA_SUCCESS) {
			if ((op->state & TPSA_S_LENGTHS) != 0)
				op->text_remaining -= input_length;
			*output_length = got;
		}
	}
	tpsa_leave();
	return st;
}

/* The checks finish and verify share: a nonce, and every declared byte given. */
static psa_status_t aead_end_check(struct tessera_psa_op_s *op, bool decrypt)
{
	psa_status_t st = tpsa_op_check(op);

	if (st != PSA_SUCCESS)
		return st;
	if ((op->state & TPSA_S_IV) == 0 || ((op->state & TPSA_S_DECRYPT) != 0) != decrypt)
		return tpsa_op_fail(op, PSA_ERROR_BAD_STATE);
	if (is_ccm(op->alg) && (op->state & TPSA_S_LENGTHS) == 0)
		return tpsa_op_fail(op, PSA_ERROR_BAD_STATE);
	if ((op->state & TPSA_S_LENGTHS) != 0 && (op->ad_remaining != 0 || op->text_remaining != 0))
		return tpsa_op_fail(op, PSA_ERROR_INVALID_ARGUMENT);
	return PSA_SUCCESS;
}

psa_status_t psa_aead_finish(psa_aead_operation_t *operation, uint8_t *ciphertext,
                             size_t ciphertext_size, size_t *ciphertext_length, uint8_t *tag,
                             size_t tag_size, size_t *tag_length)
{
	struct tessera_psa_op_s *op = &operation->op;
	psa_status_t st;

	if (ciphertext_length != NULL)
		*ciphertext_length = 0;
	if (tag_length != NULL)
		*tag_length = 0;
	st = tpsa_enter();
	if (st == PSA_SUCCESS)
		st = aead_end_check(op, false);
	if (st == PSA_SUCCESS && (ciphertext_length == NULL || tag_length == NULL))
		st = tpsa_op_fail(op, PSA_ERROR_INVALID_ARGUMENT);
	if (st == PSA_SUCCESS && tag_size < PSA_AEAD_TAG_LENGTH(op->flags, 0, op->alg))
		st = tpsa_op_fail(op, PSA_ERROR_BUFFER_TOO_SMALL);
	if (st == PSA_SUCCESS)
		st = finish(op, false, NULL, 0, ciphertext, ciphertext_size, ciphertext_length, tag,
		            tag_size, tag_length);
	tpsa_leave();
	return st;
}

psa_status_t psa_aead_verify(psa_aead_operation_t *operation, uint8_t *plaintext,
                             size_t plaintext_size, size_t *plaintext_length, const uint8_t *tag,
                             size_t tag_length)
{
	struct tessera_psa_op_s *op = &operation->op;
	psa_status_t st;

	if (plaintext_length != NULL)
		*plaintext_length = 0;
	st = tpsa_enter();
	if (st == PSA_SUCCESS)
		st = aead_end_check(op, true);
	if (st == PSA_SUCCESS && plaintext_length == NULL)
		st = tpsa_op_fail(op, PSA_ERROR_INVALID_ARGUMENT);
	if (st == PSA_SUCCESS)
		st = finish(op, true, tag, tag_length, plaintext, plaintext_size, plaintext_length,
		            NULL, 0, NULL);
	tpsa_leave();
	return st;
}

psa_status_t psa_aead_abort(psa_aead_operation_t *operation)
{
	return operation == NULL ? PSA_SUCCESS : tpsa_op_abort(&operation->op);
}
