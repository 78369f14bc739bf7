/*
 * PSA Secure Storage (ITS and PS) on the core provider: the rules of the
 * PSA Storage API 1.0 that come before the key store, and each store's
 * statuses (docs/storage.md). Assets belong to the caller's identity; the
 * key store keeps them sealed (keystore/assets.c).
 */
#include "daemon/daemon-priv.h"

#include "common/secmem.h"
#include "keystore/keystore.h"

#include "psa_ps_create.pb-c.h"
#include "psa_ps_get_support.pb-c.h"
#include "psa_ps_set_extended.pb-c.h"
#include "psa_storage_get.pb-c.h"
#include "psa_storage_get_info.pb-c.h"
#include "psa_storage_remove.pb-c.h"
#include "psa_storage_set.pb-c.h"

/* PSA_STORAGE_FLAG_WRITE_ONCE, _NO_CONFIDENTIALITY, _NO_REPLAY_PROTECTION. */
#define KNOWN_FLAGS 0x7u
/* PSA_STORAGE_SUPPORT_SET_EXTENDED: create and set_extended exist. */
#define SUPPORT_SET_EXTENDED 0x1u

/*
 * The status a store may answer with. The Storage API lists
 * INVALID_SIGNATURE and DATA_CORRUPT for PS only: ITS, which the
 * specification places where it cannot be tampered with, reports a record
 * that does not open as STORAGE_FAILURE. What neither lists (out of
 * memory, no entropy) is PS's GENERIC_ERROR or ITS's STORAGE_FAILURE.
 */
static enum ts_err store_status(uint8_t store, enum ts_err e)
{
	switch (e) {
	case TS_OK:
	case TS_E_PSA_NOT_PERMITTED:
	case TS_E_PSA_NOT_SUPPORTED:
	case TS_E_PSA_INVALID_ARGUMENT:
	case TS_E_PSA_ALREADY_EXISTS:
	case TS_E_PSA_DOES_NOT_EXIST:
	case TS_E_PSA_INSUFFICIENT_STORAGE:
	case TS_E_PSA_STORAGE_FAILURE:
		return e;
	case TS_E_PSA_INVALID_SIGNATURE:
	case TS_E_PSA_DATA_CORRUPT:
		return store == KS_STORE_PS ? e : TS_E_PSA_STORAGE_FAILURE;
	default:
		return store == KS_STORE_PS ? TS_E_PSA_GENERIC_ERROR : TS_E_PSA_STORAGE_FAILURE;
	}
}

/* The caller's asset of that uid. The request path has checked that there
 * is an identity (NotAuthenticated otherwise). */
static struct ks_asset_id asset_of(const struct request *r, uint8_t store, uint64_t uid)
{
	return (struct ks_asset_id){
	        .auth_type = r->id.auth_type, .app = r->id.name, .store = store, .uid = uid};
}

/* An empty result, packed. */
static enum ts_err empty(const ProtobufCMessageDescriptor *d, uint8_t **ret_body, size_t *ret_len)
{
	ProtobufCMessage m;

	protobuf_c_message_init(d, &m);
	return wire_pack(&m, ret_body, ret_len);
}

static enum ts_err set(struct request *r, uint8_t store, uint8_t **ret_body, size_t *ret_len)
{
	const PsaStorageSet__Operation *o = (const void *)r->msg;
	struct ks_asset_id id = asset_of(r, store, o->uid);
	enum ts_err err;

	if (o->uid == 0)
		return TS_E_PSA_INVALID_ARGUMENT;
	if (o->create_flags & ~KNOWN_FLAGS)
		return TS_E_PSA_NOT_SUPPORTED;
	if (r->st->ks == NULL)
		return TS_E_PSA_STORAGE_FAILURE;
	/* NO_CONFIDENTIALITY is kept and echoed, and the data is sealed
	 * all the same: more protection than asked for is allowed. */
	err = ks_asset_set(r->st->ks, &id, o->create_flags, o->data.data, o->data.len);
	if (err != TS_OK)
		return store_status(store, err);
	return empty(&psa_storage_set__result__descriptor, ret_body, ret_len);
}

static enum ts_err get(struct request *r, uint8_t store, uint8_t **ret_body, size_t *ret_len)
{
	const PsaStorageGet__Operation *o = (const void *)r->msg;
	PsaStorageGet__Result res = PSA_STORAGE_GET__RESULT__INIT;
	struct ks_asset_id id = asset_of(r, store, o->uid);
	struct ks_asset_info info;
	uint8_t *data = NULL;
	size_t len = 0;
	uint64_t n;
	enum ts_err err;

	if (o->uid == 0)
		return TS_E_PSA_INVALID_ARGUMENT;
	if (r->st->ks == NULL)
		return TS_E_PSA_STORAGE_FAILURE;
	err = ks_asset_get(r->st->ks, &id, &info, &data, &len);
	if (err != TS_OK)
		return store_status(store, err);
	/* Reading at the end gives nothing; past it is an error; a longer
	 * size than what remains is a short read. A range longer than one
	 * response may carry is refused, never cut short. */
	err = TS_E_PSA_INVALID_ARGUMENT;
	if (o->data_offset > info.size)
		goto out;
	n = info.size - o->data_offset;
	if (o->data_size < n)
		n = o->data_size;
	if (n > WIRE_STORAGE_GET_MAX)
		goto out;
	res.data.data = data + o->data_offset;
	res.data.len = (size_t)n;
	err = wire_pack(&res.base, ret_body, ret_len);
out:
	ts_free_secret(data, len);
	return store_status(store, err);
}

static enum ts_err get_info(struct request *r, uint8_t store, uint8_t **ret_body, size_t *ret_len)
{
	const PsaStorageGetInfo__Operation *o = (const void *)r->msg;
	PsaStorageGetInfo__Result res = PSA_STORAGE_GET_INFO__RESULT__INIT;
	struct ks_asset_id id = asset_of(r, store, o->uid);
	struct ks_asset_info info;
	enum ts_err err;

	if (o->uid == 0)
		return TS_E_PSA_INVALID_ARGUMENT;
	if (r->st->ks == NULL)
		return TS_E_PSA_STORAGE_FAILURE;
	/* The record is opened, so a damaged one is reported here too. */
	err = ks_asset_get(r->st->ks, &id, &info, NULL, NULL);
	if (err != TS_OK)
		return store_status(store, err);
	res.capacity = info.capacity;
	res.size = info.size;
	res.flags = info.flags;
	return store_status(store, wire_pack(&res.base, ret_body, ret_len));
}

static enum ts_err remove_asset(struct request *r, uint8_t store, uint8_t **ret_body,
                                size_t *ret_len)
{
	const PsaStorageRemove__Operation *o = (const void *)r->msg;
	struct ks_asset_id id = asset_of(r, store, o->uid);
	enum ts_err err;

	if (o->uid == 0)
		return TS_E_PSA_INVALID_ARGUMENT;
	if (r->st->ks == NULL)
		return TS_E_PSA_STORAGE_FAILURE;
	err = ks_asset_remove(r->st->ks, &id);
	if (err != TS_OK)
		return store_status(store, err);
	return empty(&psa_storage_remove__result__descriptor, ret_body, ret_len);
}

enum ts_err storage_its_set(struct request *r, uint8_t **ret_body, size_t *ret_len)
{
	return set(r, KS_STORE_ITS, ret_body, ret_len);
}

enum ts_err storage_its_get(struct request *r, uint8_t **ret_body, size_t *ret_len)
{
	return get(r, KS_STORE_ITS, ret_body, ret_len);
}

enum ts_err storage_its_get_info(struct request *r, uint8_t **ret_body, size_t *ret_len)
{
	return get_info(r, KS_STORE_ITS, ret_body, ret_len);
}

enum ts_err storage_its_remove(struct request *r, uint8_t **ret_body, size_t *ret_len)
{
	return remove_asset(r, KS_STORE_ITS, ret_body, ret_len);
}

enum ts_err storage_ps_set(struct request *r, uint8_t **ret_body, size_t *ret_len)
{
	return set(r, KS_STORE_PS, ret_body, ret_len);
}

enum ts_err storage_ps_get(struct request *r, uint8_t **ret_body, size_t *ret_len)
{
	return get(r, KS_STORE_PS, ret_body, ret_len);
}

enum ts_err storage_ps_get_info(struct request *r, uint8_t **ret_body, size_t *ret_len)
{
	return get_info(r, KS_STORE_PS, ret_body, ret_len);
}

enum ts_err storage_ps_remove(struct request *r, uint8_t **ret_body, size_t *ret_len)
{
	return remove_asset(r, KS_STORE_PS, ret_body, ret_len);
}

enum ts_err storage_ps_create(struct request *r, uint8_t **ret_body, size_t *ret_len)
{
	const PsaPsCreate__Operation *o = (const void *)r->msg;
	struct ks_asset_id id = asset_of(r, KS_STORE_PS, o->uid);
	enum ts_err err;

	if (o->uid == 0)
		return TS_E_PSA_INVALID_ARGUMENT;
	/* Write-once is refused before existence is looked at (an empty
	 * write-once asset could never be filled). */
	if ((o->create_flags & ~KNOWN_FLAGS) || (o->create_flags & KS_ASSET_WRITE_ONCE))
		return TS_E_PSA_NOT_SUPPORTED;
	if (r->st->ks == NULL)
		return TS_E_PSA_STORAGE_FAILURE;
	err = ks_asset_create(r->st->ks, &id, o->capacity, o->create_flags);
	if (err != TS_OK)
		return store_status(KS_STORE_PS, err);
	return empty(&psa_ps_create__result__descriptor, ret_body, ret_len);
}

enum ts_err storage_ps_set_extended(struct request *r, uint8_t **ret_body, size_t *ret_len)
{
	const PsaPsSetExtended__Operation *o = (const void *)r->msg;
	struct ks_asset_id id = asset_of(r, KS_STORE_PS, o->uid);
	enum ts_err err;

	if (o->uid == 0)
		return TS_E_PSA_INVALID_ARGUMENT;
	if (r->st->ks == NULL)
		return TS_E_PSA_STORAGE_FAILURE;
	err = ks_asset_set_extended(r->st->ks, &id, o->data_offset, o->data.data, o->data.len);
	if (err != TS_OK)
		return store_status(KS_STORE_PS, err);
	return empty(&psa_ps_set_extended__result__descriptor, ret_body, ret_len);
}

enum ts_err storage_ps_get_support(struct request *r, uint8_t **ret_body, size_t *ret_len)
{
	PsaPsGetSupport__Result res = PSA_PS_GET_SUPPORT__RESULT__INIT;

	(void)r;
	res.support = SUPPORT_SET_EXTENDED;
	return wire_pack(&res.base, ret_body, ret_len);
}
