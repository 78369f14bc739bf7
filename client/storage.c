/* libtessera: PSA Secure Storage (ITS and PS) on the core provider. */
#include "client/tessera.h"

#include <stdlib.h>
#include <string.h>

#include "client/client-priv.h"
#include "wire/wire.h"

#include "psa_ps_create.pb-c.h"
#include "psa_ps_get_support.pb-c.h"
#include "psa_ps_set_extended.pb-c.h"
#include "psa_storage_get.pb-c.h"
#include "psa_storage_get_info.pb-c.h"
#include "psa_storage_remove.pb-c.h"
#include "psa_storage_set.pb-c.h"

/* The opcode of an operation in a store: PS's are ITS's plus 0x10. */
static int opcode_of(int store, uint32_t its_opcode, uint32_t *ret)
{
	if (store == TESSERA_STORAGE_ITS)
		*ret = its_opcode;
	else if (store == TESSERA_STORAGE_PS)
		*ret = its_opcode + (WIRE_OP_PS_SET - WIRE_OP_ITS_SET);
	else
		return TESSERA_ERR_ARG;
	return TESSERA_OK;
}

int tessera_storage_set(struct tessera_client *c, int store, uint64_t uid, const uint8_t *data,
                        size_t len, uint32_t flags)
{
	PsaStorageSet__Operation op = PSA_STORAGE_SET__OPERATION__INIT;
	uint32_t opcode;
	int rc = opcode_of(store, WIRE_OP_ITS_SET, &opcode);

	if (rc != TESSERA_OK || (data == NULL && len != 0))
		return TESSERA_ERR_ARG;
	op.uid = uid;
	op.data.data = (uint8_t *)data;
	op.data.len = len;
	op.create_flags = flags;
	return tessera_call(c, WIRE_PROVIDER_CORE, opcode, &op.base, NULL, NULL);
}

/* One response's worth; *got may be less than size only at the end. */
static int get_piece(struct tessera_client *c, uint32_t opcode, uint64_t uid, uint64_t offset,
                     uint64_t size, uint8_t *out, size_t *got)
{
	PsaStorageGet__Operation op = PSA_STORAGE_GET__OPERATION__INIT;
	PsaStorageGet__Result *r = NULL;
	int rc;

	op.uid = uid;
	op.data_offset = offset;
	op.data_size = size;
	rc = tessera_call(c, WIRE_PROVIDER_CORE, opcode, &op.base,
	                  &psa_storage_get__result__descriptor, (ProtobufCMessage **)&r);
	if (rc != TESSERA_OK)
		return rc;
	/* More than asked for is a broken answer, not data to trust. */
	if (r->data.len > size) {
		rc = TESSERA_ERR_PROTOCOL;
	} else {
		if (r->data.len > 0)
			memcpy(out, r->data.data, r->data.len);
		*got = r->data.len;
	}
	if (r->data.len > 0)
		memset(r->data.data, 0, r->data.len);
	psa_storage_get__result__free_unpacked(r, NULL);
	return rc;
}

int tessera_storage_get(struct tessera_client *c, int store, uint64_t uid, uint64_t offset,
                        uint64_t size, uint8_t **ret, size_t *ret_len)
{
	uint8_t *buf = NULL;
	size_t have = 0, cap = 0;
	uint32_t opcode;
	int rc = opcode_of(store, WIRE_OP_ITS_GET, &opcode);

	if (rc != TESSERA_OK)
		return rc;
	/* At least one request, so that a missing asset or a bad offset is
	 * answered also when nothing is asked for. */
	do {
		uint64_t want = size - have;
		size_t got = 0;

		if (want > WIRE_STORAGE_GET_MAX)
			want = WIRE_STORAGE_GET_MAX;
		if (offset + have < offset) { /* the offset wrapped */
			rc = TESSERA_ERR_ARG;
			break;
		}
		if (cap - have < want) {
			/* Grown by what arrives, never by what was asked for. */
			size_t ncap = have + (size_t)want;

			/* Doubling while data keeps coming, within what was asked. */
			if (ncap < cap * 2 && cap * 2 <= size)
				ncap = cap * 2;
			uint8_t *grown = malloc(ncap ? ncap : 1);

			if (grown == NULL) {
				rc = TESSERA_ERR_NOMEM;
				break;
			}
			if (have > 0)
				memcpy(grown, buf, have);
			if (buf != NULL) {
				memset(buf, 0, cap);
				free(buf);
			}
			buf = grown;
			cap = ncap;
		}
		rc = get_piece(c, opcode, uid, offset + have, want, buf != NULL ? buf + have : NULL,
		               &got);
		if (rc != TESSERA_OK)
			break;
		have += got;
		if (got < want)
			break; /* the end of the data */
	} while (have < size);
	if (rc != TESSERA_OK) {
		if (buf != NULL) {
			memset(buf, 0, cap);
			free(buf);
		}
		return rc;
	}
	if (buf == NULL && (buf = malloc(1)) == NULL)
		return TESSERA_ERR_NOMEM;
	*ret = buf;
	*ret_len = have;
	return TESSERA_OK;
}

int tessera_storage_info(struct tessera_client *c, int store, uint64_t uid,
                         struct tessera_storage_info *ret)
{
	PsaStorageGetInfo__Operation op = PSA_STORAGE_GET_INFO__OPERATION__INIT;
	PsaStorageGetInfo__Result *r = NULL;
	uint32_t opcode;
	int rc = opcode_of(store, WIRE_OP_ITS_GET_INFO, &opcode);

	if (rc != TESSERA_OK)
		return rc;
	op.uid = uid;
	rc = tessera_call(c, WIRE_PROVIDER_CORE, opcode, &op.base,
	                  &psa_storage_get_info__result__descriptor, (ProtobufCMessage **)&r);
	if (rc != TESSERA_OK)
		return rc;
	ret->capacity = r->capacity;
	ret->size = r->size;
	ret->flags = r->flags;
	psa_storage_get_info__result__free_unpacked(r, NULL);
	return TESSERA_OK;
}

int tessera_storage_remove(struct tessera_client *c, int store, uint64_t uid)
{
	PsaStorageRemove__Operation op = PSA_STORAGE_REMOVE__OPERATION__INIT;
	uint32_t opcode;
	int rc = opcode_of(store, WIRE_OP_ITS_REMOVE, &opcode);

	if (rc != TESSERA_OK)
		return rc;
	op.uid = uid;
	return tessera_call(c, WIRE_PROVIDER_CORE, opcode, &op.base, NULL, NULL);
}

int tessera_storage_create(struct tessera_client *c, int store, uint64_t uid, uint64_t capacity,
                           uint32_t flags)
{
	PsaPsCreate__Operation op = PSA_PS_CREATE__OPERATION__INIT;

	if (store != TESSERA_STORAGE_PS)
		return TESSERA_ERR_ARG;
	op.uid = uid;
	op.capacity = capacity;
	op.create_flags = flags;
	return tessera_call(c, WIRE_PROVIDER_CORE, WIRE_OP_PS_CREATE, &op.base, NULL, NULL);
}

int tessera_storage_set_extended(struct tessera_client *c, int store, uint64_t uid, uint64_t offset,
                                 const uint8_t *data, size_t len)
{
	PsaPsSetExtended__Operation op = PSA_PS_SET_EXTENDED__OPERATION__INIT;

	if (store != TESSERA_STORAGE_PS || (data == NULL && len != 0))
		return TESSERA_ERR_ARG;
	op.uid = uid;
	op.data_offset = offset;
	op.data.data = (uint8_t *)data;
	op.data.len = len;
	return tessera_call(c, WIRE_PROVIDER_CORE, WIRE_OP_PS_SET_EXTENDED, &op.base, NULL, NULL);
}

int tessera_storage_support(struct tessera_client *c, int store, uint32_t *ret)
{
	PsaPsGetSupport__Operation op = PSA_PS_GET_SUPPORT__OPERATION__INIT;
	PsaPsGetSupport__Result *r = NULL;
	int rc;

	if (store == TESSERA_STORAGE_ITS) {
		*ret = 0;
		return TESSERA_OK;
	}
	if (store != TESSERA_STORAGE_PS)
		return TESSERA_ERR_ARG;
	rc = tessera_call(c, WIRE_PROVIDER_CORE, WIRE_OP_PS_GET_SUPPORT, &op.base,
	                  &psa_ps_get_support__result__descriptor, (ProtobufCMessage **)&r);
	if (rc != TESSERA_OK)
		return rc;
	*ret = r->support;
	psa_ps_get_support__result__free_unpacked(r, NULL);
	return TESSERA_OK;
}
