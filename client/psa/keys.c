/* libtessera-psa: key management over the socket. */
#include "client/psa/psa-priv.h"

#include <stdlib.h>
#include <string.h>

#include "client/psa/pbmap.h"
#include "client/tessera.h"
#include "wire/wire.h"

#include "psa_copy_key.pb-c.h"
#include "psa_destroy_key.pb-c.h"
#include "psa_export_key.pb-c.h"
#include "psa_export_public_key.pb-c.h"
#include "psa_generate_key.pb-c.h"
#include "psa_import_key.pb-c.h"
#include "psa_purge_key.pb-c.h"

psa_status_t psa_get_key_attributes(psa_key_id_t key, psa_key_attributes_t *attributes)
{
	struct tpsa_key *k;
	psa_status_t st;

	if (attributes == NULL)
		return PSA_ERROR_INVALID_ARGUMENT;
	*attributes = psa_key_attributes_init();
	st = tpsa_enter();
	if (st == PSA_SUCCESS)
		st = tpsa_key_find(key, &k);
	/* A volatile key lives with its connection, which may be gone without
	 * the library knowing yet: the daemon is asked rather than the cache
	 * (a lost connection answers PSA_ERROR_COMMUNICATION_FAILURE). */
	if (st == PSA_SUCCESS && k->is_volatile)
		k->have_attrs = false;
	if (st == PSA_SUCCESS)
		st = tpsa_key_attrs(k);
	if (st == PSA_SUCCESS) {
		*attributes = k->attrs;
		attributes->id = k->id;
		attributes->lifetime = k->lifetime;
	}
	tpsa_leave();
	return st;
}

/* Every usage flag the specification defines. */
#define TPSA_USAGE_DEFINED                                                                         \
	(PSA_KEY_USAGE_EXPORT | PSA_KEY_USAGE_COPY | PSA_KEY_USAGE_CACHE | PSA_KEY_USAGE_ENCRYPT | \
	 PSA_KEY_USAGE_DECRYPT | PSA_KEY_USAGE_SIGN_MESSAGE | PSA_KEY_USAGE_VERIFY_MESSAGE |       \
	 PSA_KEY_USAGE_SIGN_HASH | PSA_KEY_USAGE_VERIFY_HASH | PSA_KEY_USAGE_DERIVE |              \
	 PSA_KEY_USAGE_VERIFY_DERIVATION)

/* The checks import and generate share before any request. */
static psa_status_t check_new(const psa_key_attributes_t *attributes, psa_key_id_t *key)
{
	if (key != NULL)
		*key = PSA_KEY_ID_NULL;
	if (attributes == NULL || key == NULL)
		return PSA_ERROR_INVALID_ARGUMENT;
	if (attributes->type == PSA_KEY_TYPE_NONE) /* as Mbed TLS, and psa-arch-tests, answer */
		return PSA_ERROR_NOT_SUPPORTED;
	if ((attributes->usage & ~TPSA_USAGE_DEFINED) != 0) /* a flag the API does not define */
		return PSA_ERROR_INVALID_ARGUMENT;
	return PSA_SUCCESS;
}

/*
 * The attributes as protobuf. A permitted algorithm the wire cannot express
 * (a zero tag length, a KDF it has no name for, ...) is one no operation
 * can use through the daemon either: the key is made with no permitted
 * algorithm, which allows nothing more than the one asked for.
 */
static psa_status_t policy_to_pb(const psa_key_attributes_t *attributes,
                                 PsaKeyAttributes__KeyAttributes **ret, struct pbarena *arena)
{
	psa_status_t st = tpsa_attrs_to_pb(attributes, ret, arena);
	PsaAlgorithm__Algorithm *alg;

	if (st == PSA_ERROR_NOT_SUPPORTED && attributes->alg != PSA_ALG_NONE &&
	    tpsa_alg_to_pb(attributes->alg, &alg, arena) == PSA_ERROR_NOT_SUPPORTED) {
		psa_key_attributes_t none = *attributes;

		none.alg = PSA_ALG_NONE;
		st = tpsa_attrs_to_pb(&none, ret, arena);
	}
	return st;
}

/* What the daemon will hold: the attributes with their id and lifetime. */
static psa_status_t record(psa_key_id_t id, uint8_t provider, bool vol,
                           const psa_key_attributes_t *attributes, bool bits_known)
{
	struct tpsa_key *k = tpsa_key_add(id, provider, vol, attributes->lifetime, attributes);

	if (k == NULL)
		return PSA_ERROR_INSUFFICIENT_MEMORY;
	k->have_attrs = bits_known; /* type, usage and algorithm are known anyway */
	k->attrs.id = 0;
	k->attrs.lifetime = 0;
	/* As the daemon records them (and another process reads them back). */
	if (k->attrs.usage & PSA_KEY_USAGE_SIGN_HASH)
		k->attrs.usage |= PSA_KEY_USAGE_SIGN_MESSAGE;
	if (k->attrs.usage & PSA_KEY_USAGE_VERIFY_HASH)
		k->attrs.usage |= PSA_KEY_USAGE_VERIFY_MESSAGE;
	return PSA_SUCCESS;
}

/*
 * The size of an imported key where the data alone tells it (0: ask the
 * daemon later): unstructured keys, and the curves whose scalar or point
 * length names one size.
 */
/* One DER header at *p (tag expected): the content's length, or -1. */
static long der_item(const uint8_t **p, const uint8_t *end, uint8_t tag)
{
	size_t len, nbytes;

	if (end - *p < 2 || **p != tag)
		return -1;
	(*p)++;
	len = *(*p)++;
	if (len & 0x80) {
		nbytes = len & 0x7f;
		if (nbytes == 0 || nbytes > 3 || (size_t)(end - *p) < nbytes)
			return -1;
		for (len = 0; nbytes > 0; nbytes--)
			len = len << 8 | *(*p)++;
	}
	return len <= (size_t)(end - *p) ? (long)len : -1;
}

/* The modulus size of PSA's RSA formats (DER RSAPublicKey or RSAPrivateKey), or 0. */
static size_t rsa_bits(psa_key_type_t type, const uint8_t *data, size_t len)
{
	const uint8_t *p = data, *end = data + len;
	size_t bits;
	long n;

	if (der_item(&p, end, 0x30) < 0)
		return 0;
	if (type == PSA_KEY_TYPE_RSA_KEY_PAIR) { /* the version comes first */
		if ((n = der_item(&p, end, 0x02)) < 0)
			return 0;
		p += n;
	}
	if ((n = der_item(&p, end, 0x02)) <= 0)
		return 0;
	while (n > 0 && *p == 0) {
		p++;
		n--;
	}
	if (n == 0)
		return 0;
	bits = (size_t)n * 8;
	for (uint8_t top = *p; (top & 0x80) == 0; top = (uint8_t)(top << 1))
		bits--;
	return bits;
}

static size_t import_bits(psa_key_type_t type, const uint8_t *data, size_t len)
{
	size_t n = len;

	if (PSA_KEY_TYPE_IS_UNSTRUCTURED(type))
		return len * 8;
	if (PSA_KEY_TYPE_IS_RSA(type))
		return rsa_bits(type, data, len);
	if (!PSA_KEY_TYPE_IS_ECC(type))
		return 0;
	if (PSA_KEY_TYPE_ECC_GET_FAMILY(type) == PSA_ECC_FAMILY_MONTGOMERY)
		return len == 32 ? 255 : len == 56 ? 448 : 0;
	if (PSA_KEY_TYPE_IS_ECC_PUBLIC_KEY(type)) {
		if (len < 3 || data[0] != 0x04 || len % 2 == 0)
			return 0;
		n = (len - 1) / 2;
	}
	switch (PSA_KEY_TYPE_ECC_GET_FAMILY(type)) {
	case PSA_ECC_FAMILY_SECP_R1:
		return n == 66 ? 521 : n == 24 || n == 28 || n == 32 || n == 48 ? n * 8 : 0;
	case PSA_ECC_FAMILY_SECP_K1:
		return n == 24 || n == 32 ? n * 8 : 0;
	case PSA_ECC_FAMILY_BRAINPOOL_P_R1:
		return n == 20 || n == 24 || n == 28 || n == 32 || n == 40 || n == 48 || n == 64
		               ? n * 8
		               : 0;
	default:
		return 0;
	}
}

psa_status_t psa_import_key(const psa_key_attributes_t *attributes, const uint8_t *data,
                            size_t data_length, psa_key_id_t *key)
{
	PsaImportKey__Operation op = PSA_IMPORT_KEY__OPERATION__INIT;
	PsaKeyAttributes__KeyAttributes *pa = NULL;
	struct pbarena arena = PBARENA_INIT;
	char name[TPSA_NAME_MAX];
	uint8_t provider;
	psa_key_id_t id;
	bool vol;
	psa_status_t st = check_new(attributes, key);

	if (st != PSA_SUCCESS)
		return st;
	if (data == NULL || data_length == 0)
		return data_length == 0 ? PSA_ERROR_INVALID_ARGUMENT : PSA_ERROR_INVALID_ARGUMENT;
	st = tpsa_enter();
	if (st == PSA_SUCCESS)
		st = tpsa_new_key_place(attributes, &provider, &vol, &id);
	if (st == PSA_SUCCESS)
		st = policy_to_pb(attributes, &pa, &arena);
	if (st == PSA_SUCCESS) {
		tpsa_key_name(id, vol, name);
		op.key_name = name;
		op.attributes = pa;
		op.data.data = (uint8_t *)data;
		op.data.len = data_length;
		op.volatile_key = vol;
		st = tpsa_status(tpsa_call(provider, WIRE_OP_PSA_IMPORT_KEY, &op.base, NULL, NULL));
	}
	if (st == PSA_SUCCESS) {
		psa_key_attributes_t known = *attributes;

		if (known.bits == 0)
			known.bits = import_bits(known.type, data, data_length);
		st = record(id, provider, vol, &known, known.bits != 0);
	}
	if (st == PSA_SUCCESS)
		*key = id;
	tpsa_pbarena_free(&arena);
	tpsa_leave();
	return st;
}

psa_status_t psa_generate_key(const psa_key_attributes_t *attributes, psa_key_id_t *key)
{
	PsaGenerateKey__Operation op = PSA_GENERATE_KEY__OPERATION__INIT;
	PsaKeyAttributes__KeyAttributes *pa = NULL;
	struct pbarena arena = PBARENA_INIT;
	char name[TPSA_NAME_MAX];
	uint8_t provider;
	psa_key_id_t id;
	bool vol;
	psa_status_t st = check_new(attributes, key);

	if (st != PSA_SUCCESS)
		return st;
	if (attributes->bits == 0 || PSA_KEY_TYPE_IS_PUBLIC_KEY(attributes->type))
		return PSA_ERROR_INVALID_ARGUMENT;
	st = tpsa_enter();
	if (st == PSA_SUCCESS)
		st = tpsa_new_key_place(attributes, &provider, &vol, &id);
	if (st == PSA_SUCCESS)
		st = policy_to_pb(attributes, &pa, &arena);
	if (st == PSA_SUCCESS) {
		tpsa_key_name(id, vol, name);
		op.key_name = name;
		op.attributes = pa;
		op.volatile_key = vol;
		st = tpsa_status(
		        tpsa_call(provider, WIRE_OP_PSA_GENERATE_KEY, &op.base, NULL, NULL));
	}
	if (st == PSA_SUCCESS)
		st = record(id, provider, vol, attributes, true);
	if (st == PSA_SUCCESS)
		*key = id;
	tpsa_pbarena_free(&arena);
	tpsa_leave();
	return st;
}

psa_status_t psa_copy_key(psa_key_id_t source_key, const psa_key_attributes_t *attributes,
                          psa_key_id_t *target_key)
{
	PsaCopyKey__Operation op = PSA_COPY_KEY__OPERATION__INIT;
	PsaKeyAttributes__KeyAttributes *pa = NULL;
	struct pbarena arena = PBARENA_INIT;
	char name[TPSA_NAME_MAX], target[TPSA_NAME_MAX];
	psa_key_attributes_t ta;
	struct tpsa_key *k;
	uint8_t provider;
	psa_key_id_t id;
	bool vol;
	psa_status_t st;

	if (target_key != NULL)
		*target_key = PSA_KEY_ID_NULL;
	if (attributes == NULL || target_key == NULL)
		return PSA_ERROR_INVALID_ARGUMENT;
	st = tpsa_enter();
	if (st == PSA_SUCCESS)
		st = tpsa_key_find(source_key, &k);
	if (st == PSA_SUCCESS)
		st = tpsa_key_attrs(k);
	if (st == PSA_SUCCESS) {
		/* Type and size come from the source; they may be given only equal. */
		if ((attributes->type != 0 && attributes->type != k->attrs.type) ||
		    (attributes->bits != 0 && attributes->bits != k->attrs.bits))
			st = PSA_ERROR_INVALID_ARGUMENT;
		ta = *attributes;
		ta.type = k->attrs.type;
		ta.bits = k->attrs.bits;
	}
	if (st == PSA_SUCCESS)
		st = tpsa_new_key_place(&ta, &provider, &vol, &id);
	if (st == PSA_SUCCESS &&
	    (provider != k->provider || /* copies stay in the source's provider */
	     !tpsa_provider_has(provider, WIRE_OP_PSA_COPY_KEY)))
		st = PSA_ERROR_NOT_SUPPORTED;
	if (st == PSA_SUCCESS)
		st = tpsa_attrs_to_pb(&ta, &pa, &arena);
	if (st == PSA_SUCCESS) {
		tpsa_key_name(k->id, k->is_volatile, name);
		tpsa_key_name(id, vol, target);
		op.key_name = name;
		op.target_key_name = target;
		op.attributes = pa;
		op.volatile_key = vol;
		st = tpsa_key_call(k, WIRE_OP_PSA_COPY_KEY, &op.base, NULL, NULL);
	}
	if (st == PSA_SUCCESS) {
		/* The policy is the intersection the daemon made: read it back. */
		struct tpsa_key *t = tpsa_key_add(id, provider, vol, ta.lifetime, NULL);

		if (t == NULL)
			st = PSA_ERROR_INSUFFICIENT_MEMORY;
	}
	if (st == PSA_SUCCESS)
		*target_key = id;
	tpsa_pbarena_free(&arena);
	tpsa_leave();
	return st;
}

psa_status_t psa_destroy_key(psa_key_id_t key)
{
	PsaDestroyKey__Operation op = PSA_DESTROY_KEY__OPERATION__INIT;
	char name[TPSA_NAME_MAX];
	struct tpsa_key *k;
	psa_status_t st;

	if (key == PSA_KEY_ID_NULL)
		return PSA_SUCCESS;
	st = tpsa_enter();
	if (st == PSA_SUCCESS) {
		st = tpsa_key_find(key, &k);
		if (st == PSA_ERROR_COMMUNICATION_FAILURE && key >= PSA_KEY_ID_VENDOR_MIN) {
			/* Its connection is gone, and the daemon destroyed it with it. */
			tpsa_key_forget(key);
			tpsa_leave();
			return PSA_SUCCESS;
		}
	}
	if (st == PSA_SUCCESS) {
		tpsa_key_name(k->id, k->is_volatile, name);
		op.key_name = name;
		st = tpsa_key_call(k, WIRE_OP_PSA_DESTROY_KEY, &op.base, NULL, NULL);
		if (st == PSA_ERROR_COMMUNICATION_FAILURE && k->is_volatile &&
		    k->generation != tpsa_generation())
			st = PSA_SUCCESS; /* gone with its connection */
		if (st == PSA_SUCCESS || st == PSA_ERROR_INVALID_HANDLE)
			tpsa_key_forget(key);
	}
	tpsa_leave();
	return st;
}

psa_status_t psa_purge_key(psa_key_id_t key)
{
	PsaPurgeKey__Operation op = PSA_PURGE_KEY__OPERATION__INIT;
	char name[TPSA_NAME_MAX];
	struct tpsa_key *k;
	psa_status_t st = tpsa_enter();

	if (st == PSA_SUCCESS)
		st = tpsa_key_find(key, &k);
	/* A daemon without the extension caches nothing the client could drop. */
	if (st == PSA_SUCCESS && tpsa_provider_has(k->provider, WIRE_OP_PSA_PURGE_KEY)) {
		tpsa_key_name(k->id, k->is_volatile, name);
		op.key_name = name;
		st = tpsa_key_call(k, WIRE_OP_PSA_PURGE_KEY, &op.base, NULL, NULL);
	}
	tpsa_leave();
	return st;
}

/* Export (pub: the public part) of key into data. */
static psa_status_t export(psa_key_id_t key, bool pub, uint8_t *data, size_t data_size,
                           size_t *data_length)
{
	PsaExportKey__Operation eo = PSA_EXPORT_KEY__OPERATION__INIT;
	PsaExportPublicKey__Operation po = PSA_EXPORT_PUBLIC_KEY__OPERATION__INIT;
	ProtobufCMessage *r = NULL;
	char name[TPSA_NAME_MAX];
	struct tpsa_key *k;
	psa_status_t st;

	if (data_length != NULL)
		*data_length = 0;
	if (data_length == NULL || (data == NULL && data_size > 0))
		return PSA_ERROR_INVALID_ARGUMENT;
	st = tpsa_enter();
	if (st == PSA_SUCCESS)
		st = tpsa_key_find(key, &k);
	if (st == PSA_SUCCESS) {
		tpsa_key_name(k->id, k->is_volatile, name);
		eo.key_name = po.key_name = name;
		st = pub ? tpsa_key_call(k, WIRE_OP_PSA_EXPORT_PUBLIC_KEY, &po.base,
		                         &psa_export_public_key__result__descriptor, &r)
		         : tpsa_key_call(k, WIRE_OP_PSA_EXPORT_KEY, &eo.base,
		                         &psa_export_key__result__descriptor, &r);
	}
	if (st == PSA_SUCCESS) {
		ProtobufCBinaryData *d = pub ? &((PsaExportPublicKey__Result *)r)->data
		                             : &((PsaExportKey__Result *)r)->data;

		st = tpsa_out(d->data, d->len, data, data_size, data_length);
		tpsa_wipe(d->data, d->len);
	}
	if (r != NULL)
		protobuf_c_message_free_unpacked(r, NULL);
	tpsa_leave();
	return st;
}

psa_status_t psa_export_key(psa_key_id_t key, uint8_t *data, size_t data_size, size_t *data_length)
{
	return export(key, false, data, data_size, data_length);
}

psa_status_t psa_export_public_key(psa_key_id_t key, uint8_t *data, size_t data_size,
                                   size_t *data_length)
{
	return export(key, true, data, data_size, data_length);
}
