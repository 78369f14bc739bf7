/*
 * libtessera-psa: key derivation, held by the daemon behind a handle of kind
 * KEY_DERIVATION (inputs 0x10220, capacity 0x10221, output 0x10222).
 */
#include "client/psa/multipart.h"
#include "client/psa/psa-priv.h"

#include <stdlib.h>
#include <string.h>

#include "client/psa/pbmap.h"
#include "client/tessera.h"
#include "wire/wire.h"

#include "psa_export_key.pb-c.h"
#include "psa_kdf_capacity.pb-c.h"
#include "psa_kdf_input.pb-c.h"
#include "psa_kdf_output.pb-c.h"
#include "psa_op_setup.pb-c.h"

#define BYTES(p, n) ((ProtobufCBinaryData){.len = (n), .data = (uint8_t *)(p)})

psa_status_t psa_key_derivation_setup(psa_key_derivation_operation_t *operation,
                                      psa_algorithm_t alg)
{
	if (operation == NULL)
		return PSA_ERROR_INVALID_ARGUMENT;
	if ((operation->op.state & TPSA_S_ACTIVE) != 0)
		return PSA_ERROR_BAD_STATE;
	if (!PSA_ALG_IS_KEY_DERIVATION(alg) &&
	    !(PSA_ALG_IS_KEY_AGREEMENT(alg) && !PSA_ALG_IS_RAW_KEY_AGREEMENT(alg)))
		return PSA_ERROR_INVALID_ARGUMENT;
	return tpsa_op_setup(&operation->op, PSA_OP_SETUP__OPERATION__KIND__KEY_DERIVATION, false,
	                     0, alg, NULL);
}

static psa_status_t capacity(psa_key_derivation_operation_t *operation, bool set, size_t value,
                             size_t *ret)
{
	PsaKdfCapacity__Operation m = PSA_KDF_CAPACITY__OPERATION__INIT;
	PsaKdfCapacity__Result *r = NULL;
	struct tessera_psa_op_s *op = &operation->op;
	psa_status_t st = tpsa_enter();

	if (st == PSA_SUCCESS)
		st = tpsa_op_check(op);
	if (st == PSA_SUCCESS) {
		m.handle = op->handle;
		m.set = set;
		m.capacity = value;
		tpsa_op_call(op, WIRE_OP_PSA_KDF_CAPACITY, &m.base,
		             &psa_kdf_capacity__result__descriptor, (ProtobufCMessage **)&r, &st);
		/* Asking for more than there is does not break the operation. */
		if (st == PSA_ERROR_INVALID_ARGUMENT && set)
			op->state &= (uint8_t)~TPSA_S_ERROR;
	}
	if (st == PSA_SUCCESS && ret != NULL)
		*ret = r->capacity > SIZE_MAX ? SIZE_MAX : (size_t)r->capacity;
	if (st == PSA_SUCCESS && set && value == 0)
		op->state |= TPSA_S_EMPTY;
	if (r != NULL)
		psa_kdf_capacity__result__free_unpacked(r, NULL);
	tpsa_leave();
	return st;
}

psa_status_t psa_key_derivation_get_capacity(const psa_key_derivation_operation_t *operation,
                                             size_t *capacity_out)
{
	psa_key_derivation_operation_t copy;
	psa_status_t st;

	if (operation == NULL || capacity_out == NULL)
		return PSA_ERROR_INVALID_ARGUMENT;
	copy = *operation;
	st = capacity(&copy, false, 0, capacity_out);
	return st;
}

psa_status_t psa_key_derivation_set_capacity(psa_key_derivation_operation_t *operation,
                                             size_t capacity_in)
{
	if (operation == NULL)
		return PSA_ERROR_INVALID_ARGUMENT;
	return capacity(operation, true, capacity_in, NULL);
}

/* One input: bytes, an integer (has_int), a key, or a key agreement (peer). */
static psa_status_t input(psa_key_derivation_operation_t *operation, psa_key_derivation_step_t step,
                          const uint8_t *data, size_t len, bool has_int, uint64_t value, bool keyed,
                          psa_key_id_t key, bool agreement)
{
	PsaKdfInput__Operation m = PSA_KDF_INPUT__OPERATION__INIT;
	struct tessera_psa_op_s *op = &operation->op;
	char name[TPSA_NAME_MAX] = "";
	ProtobufCMessage *r = NULL;
	struct tpsa_key *k;
	psa_status_t st = tpsa_enter();

	if (st == PSA_SUCCESS)
		st = tpsa_op_check(op);
	if (st == PSA_SUCCESS && keyed) {
		/* A key that is not there leaves the operation as it was (psa-arch-tests
		 * c019 goes on with it). */
		st = tpsa_key_find(key, &k);
		if (st == PSA_SUCCESS && k->provider != op->provider)
			st = tpsa_op_fail(op, PSA_ERROR_NOT_SUPPORTED);
		if (st == PSA_SUCCESS)
			tpsa_key_name(k->id, k->is_volatile, name);
	}
	if (st == PSA_SUCCESS) {
		m.handle = op->handle;
		m.step = step;
		if (agreement) {
			m.peer_key = BYTES(data, len);
			m.key_agreement = true;
		} else {
			m.data = BYTES(data, len);
		}
		m.key_name = name;
		m.integer = value;
		m.has_integer = has_int;
		tpsa_op_call(op, WIRE_OP_PSA_KDF_INPUT, &m.base, NULL, &r, &st);
		if (st == PSA_ERROR_DOES_NOT_EXIST)
			st = PSA_ERROR_INVALID_HANDLE;
	}
	tpsa_leave();
	return st;
}

psa_status_t psa_key_derivation_input_bytes(psa_key_derivation_operation_t *operation,
                                            psa_key_derivation_step_t step, const uint8_t *data,
                                            size_t data_length)
{
	return input(operation, step, data, data_length, false, 0, false, 0, false);
}

psa_status_t psa_key_derivation_input_integer(psa_key_derivation_operation_t *operation,
                                              psa_key_derivation_step_t step, uint64_t value)
{
	return input(operation, step, NULL, 0, true, value, false, 0, false);
}

psa_status_t psa_key_derivation_input_key(psa_key_derivation_operation_t *operation,
                                          psa_key_derivation_step_t step, psa_key_id_t key)
{
	return input(operation, step, NULL, 0, false, 0, true, key, false);
}

psa_status_t psa_key_derivation_key_agreement(psa_key_derivation_operation_t *operation,
                                              psa_key_derivation_step_t step,
                                              psa_key_id_t private_key, const uint8_t *peer_key,
                                              size_t peer_key_length)
{
	return input(operation, step, peer_key, peer_key_length, false, 0, true, private_key, true);
}

/* Output length bytes into out (locked). INSUFFICIENT_DATA leaves the op usable for abort. */
static psa_status_t output_locked(struct tessera_psa_op_s *op, uint8_t *out, size_t len)
{
	PsaKdfOutput__Operation m = PSA_KDF_OUTPUT__OPERATION__INIT;
	PsaKdfOutput__Result *r = NULL;
	psa_status_t st = tpsa_op_check(op);

	if (st == PSA_SUCCESS && (op->state & TPSA_S_EMPTY) != 0)
		return PSA_ERROR_INSUFFICIENT_DATA;
	if (st != PSA_SUCCESS)
		return st;
	m.handle = op->handle;
	m.length = len;
	tpsa_op_call(op, WIRE_OP_PSA_KDF_OUTPUT, &m.base, &psa_kdf_output__result__descriptor,
	             (ProtobufCMessage **)&r, &st);
	if (st == PSA_ERROR_INSUFFICIENT_DATA) {
		op->state = (uint8_t)((op->state & ~TPSA_S_ERROR) | TPSA_S_EMPTY);
	} else if (st == PSA_SUCCESS && r->output.len != len) {
		st = tpsa_op_fail(op, PSA_ERROR_COMMUNICATION_FAILURE);
	} else if (st == PSA_SUCCESS && len > 0) {
		memcpy(out, r->output.data, len);
	}
	if (r != NULL) {
		tpsa_wipe(r->output.data, r->output.len);
		psa_kdf_output__result__free_unpacked(r, NULL);
	}
	return st;
}

psa_status_t psa_key_derivation_output_bytes(psa_key_derivation_operation_t *operation,
                                             uint8_t *output, size_t output_length)
{
	psa_status_t st;

	if (operation == NULL || (output == NULL && output_length > 0))
		return PSA_ERROR_INVALID_ARGUMENT;
	st = tpsa_enter();
	if (st == PSA_SUCCESS)
		st = output_locked(&operation->op, output, output_length);
	if (st != PSA_SUCCESS && output != NULL && output_length > 0)
		tpsa_wipe(output, output_length);
	tpsa_leave();
	return st;
}

/* Whether bits is a size the specification defines for the ECC family's curves. */
static bool ecc_size_valid(psa_ecc_family_t family, size_t bits)
{
	static const struct {
		psa_ecc_family_t family;
		size_t bits[7];
	} sizes[] = {
	        {PSA_ECC_FAMILY_SECP_R1, {192, 224, 256, 384, 521}},
	        {PSA_ECC_FAMILY_SECP_K1, {192, 224, 256}},
	        {PSA_ECC_FAMILY_SECP_R2, {160}},
	        {PSA_ECC_FAMILY_SECT_K1, {163, 233, 239, 283, 409, 571}},
	        {PSA_ECC_FAMILY_SECT_R1, {163, 233, 283, 409, 571}},
	        {PSA_ECC_FAMILY_SECT_R2, {163}},
	        {PSA_ECC_FAMILY_BRAINPOOL_P_R1, {160, 192, 224, 256, 320, 384, 512}},
	        {PSA_ECC_FAMILY_FRP, {256}},
	        {PSA_ECC_FAMILY_MONTGOMERY, {255, 448}},
	        {PSA_ECC_FAMILY_TWISTED_EDWARDS, {255, 448}},
	};

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		if (sizes[i].family == family)
			for (size_t j = 0; j < 7 && sizes[i].bits[j] != 0; j++)
				if (sizes[i].bits[j] == bits)
					return true;
	return false;
}

psa_status_t psa_key_derivation_output_key(const psa_key_attributes_t *attributes,
                                           psa_key_derivation_operation_t *operation,
                                           psa_key_id_t *key)
{
	PsaKdfOutput__Operation m = PSA_KDF_OUTPUT__OPERATION__INIT;
	PsaKdfOutput__Result *r = NULL;
	PsaKeyAttributes__KeyAttributes *pa = NULL;
	struct tessera_psa_op_s *op;
	struct pbarena arena = PBARENA_INIT;
	char name[TPSA_NAME_MAX];
	uint8_t provider;
	psa_key_id_t id;
	bool vol;
	psa_status_t st;

	if (key != NULL)
		*key = PSA_KEY_ID_NULL;
	if (attributes == NULL || operation == NULL || key == NULL)
		return PSA_ERROR_INVALID_ARGUMENT;
	op = &operation->op;
	st = tpsa_enter();
	if (st == PSA_SUCCESS)
		st = tpsa_op_check(op);
	if (st == PSA_SUCCESS && (op->state & TPSA_S_EMPTY) != 0)
		st = PSA_ERROR_INSUFFICIENT_DATA;
	/* Public keys cannot be derived (the specification's INVALID_ARGUMENT). */
	if (st == PSA_SUCCESS && (attributes->bits == 0 || attributes->type == 0 ||
	                          PSA_KEY_TYPE_IS_PUBLIC_KEY(attributes->type)))
		st = PSA_ERROR_INVALID_ARGUMENT;
	/* A curve size that does not exist is an argument error, before the daemon
	 * says whether it derives asymmetric keys at all. */
	if (st == PSA_SUCCESS && PSA_KEY_TYPE_IS_ECC_KEY_PAIR(attributes->type) &&
	    !ecc_size_valid(PSA_KEY_TYPE_ECC_GET_FAMILY(attributes->type), attributes->bits))
		st = PSA_ERROR_INVALID_ARGUMENT;
	if (st == PSA_SUCCESS)
		st = tpsa_new_key_place(attributes, &provider, &vol, &id);
	if (st == PSA_SUCCESS && provider != op->provider)
		st = PSA_ERROR_NOT_SUPPORTED;
	if (st == PSA_SUCCESS)
		st = tpsa_attrs_to_pb(attributes, &pa, &arena);
	if (st == PSA_SUCCESS) {
		tpsa_key_name(id, vol, name);
		m.handle = op->handle;
		m.length = PSA_BITS_TO_BYTES(attributes->bits);
		m.key_name = name;
		m.attributes = pa;
		m.volatile_key = vol;
		tpsa_op_call(op, WIRE_OP_PSA_KDF_OUTPUT, &m.base,
		             &psa_kdf_output__result__descriptor, (ProtobufCMessage **)&r, &st);
		if (st == PSA_ERROR_INSUFFICIENT_DATA)
			op->state = (uint8_t)((op->state & ~TPSA_S_ERROR) | TPSA_S_EMPTY);
	}
	if (st == PSA_SUCCESS) {
		/* Made from exactly these attributes (the daemon checked them). */
		struct tpsa_key *nk =
		        tpsa_key_add(id, provider, vol, attributes->lifetime, attributes);

		if (nk == NULL)
			st = PSA_ERROR_INSUFFICIENT_MEMORY;
		else
			nk->attrs.id = nk->attrs.lifetime = 0;
	}
	if (st == PSA_SUCCESS)
		*key = id;
	if (r != NULL)
		psa_kdf_output__result__free_unpacked(r, NULL);
	tpsa_pbarena_free(&arena);
	tpsa_leave();
	return st;
}

/* Output expected_length bytes and compare them in constant time. */
static psa_status_t verify_locked(struct tessera_psa_op_s *op, const uint8_t *expected,
                                  size_t expected_length)
{
	uint8_t *buf = malloc(expected_length ? expected_length : 1);
	psa_status_t st;

	if (buf == NULL)
		return tpsa_op_fail(op, PSA_ERROR_INSUFFICIENT_MEMORY);
	st = output_locked(op, buf, expected_length);
	/* A mismatch leaves the operation usable (as INSUFFICIENT_DATA does):
	 * only other errors put it in the error state. */
	if (st == PSA_SUCCESS && tpsa_memcmp_ct(buf, expected, expected_length) != 0)
		st = PSA_ERROR_INVALID_SIGNATURE;
	tpsa_free_secret(buf, expected_length ? expected_length : 1);
	return st;
}

psa_status_t psa_key_derivation_verify_bytes(psa_key_derivation_operation_t *operation,
                                             const uint8_t *expected_output, size_t output_length)
{
	psa_status_t st;

	if (operation == NULL || (expected_output == NULL && output_length > 0))
		return PSA_ERROR_INVALID_ARGUMENT;
	st = tpsa_enter();
	if (st == PSA_SUCCESS)
		st = verify_locked(&operation->op, expected_output, output_length);
	tpsa_leave();
	return st;
}

psa_status_t psa_key_derivation_verify_key(psa_key_derivation_operation_t *operation,
                                           psa_key_id_t expected)
{
	struct tpsa_key *k;
	psa_status_t st;

	if (operation == NULL)
		return PSA_ERROR_INVALID_ARGUMENT;
	st = tpsa_enter();
	if (st == PSA_SUCCESS)
		st = tpsa_op_check(&operation->op);
	if (st == PSA_SUCCESS)
		st = tpsa_key_find(expected, &k);
	/* The expected key must be a PSA_KEY_TYPE_PASSWORD_HASH key that permits
	 * PSA_KEY_USAGE_VERIFY_DERIVATION; the Parsec wire carries neither that
	 * type nor that usage, so no key here can be one (psa_import_key and
	 * psa_key_derivation_output_key refuse to make it). psa_key_derivation_
	 * verify_bytes compares with bytes. */
	if (st == PSA_SUCCESS)
		st = PSA_ERROR_INVALID_ARGUMENT;
	tpsa_op_fail(&operation->op, st);
	tpsa_leave();
	return st;
}

psa_status_t psa_key_derivation_abort(psa_key_derivation_operation_t *operation)
{
	return operation == NULL ? PSA_SUCCESS : tpsa_op_abort(&operation->op);
}
