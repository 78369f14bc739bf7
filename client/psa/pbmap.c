/*
 * The arena the protobuf messages are built in, and PSA key types, usage
 * flags and key attributes <-> the psa_key_attributes.proto messages.
 * The algorithms are in pbmap-alg.c.
 */
#include "client/psa/pbmap-priv.h"

#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>

/* ---- Arena ---- */

struct pbarena_block {
	struct pbarena_block *next;
	alignas(max_align_t) unsigned char data[];
};

void *tpsa_pbarena_alloc(struct pbarena *a, size_t size)
{
	struct pbarena_block *b;

	if (size > SIZE_MAX - sizeof(*b))
		return NULL;
	b = calloc(1, sizeof(*b) + size);
	if (b == NULL)
		return NULL;
	b->next = a->head;
	a->head = b;
	return b->data;
}

void *tpsa_pbarena_msg(struct pbarena *a, const ProtobufCMessageDescriptor *desc)
{
	void *m = tpsa_pbarena_alloc(a, desc->sizeof_message);

	if (m != NULL)
		protobuf_c_message_init(desc, m);
	return m;
}

void tpsa_pbarena_free(struct pbarena *a)
{
	struct pbarena_block *b, *next;

	if (a == NULL)
		return;
	for (b = a->head; b != NULL; b = next) {
		next = b->next;
		free(b);
	}
	a->head = NULL;
}

/* ---- Key types ---- */

/* Parsec numbers the curve families itself; the PSA values are bytes of the key type. */
static const struct {
	psa_ecc_family_t psa;
	PsaKeyAttributes__KeyType__EccFamily pb;
} ecc_families[] = {
        {PSA_ECC_FAMILY_SECP_K1, PSA_KEY_ATTRIBUTES__KEY_TYPE__ECC_FAMILY__SECP_K1},
        {PSA_ECC_FAMILY_SECP_R1, PSA_KEY_ATTRIBUTES__KEY_TYPE__ECC_FAMILY__SECP_R1},
        {PSA_ECC_FAMILY_SECP_R2, PSA_KEY_ATTRIBUTES__KEY_TYPE__ECC_FAMILY__SECP_R2},
        {PSA_ECC_FAMILY_SECT_K1, PSA_KEY_ATTRIBUTES__KEY_TYPE__ECC_FAMILY__SECT_K1},
        {PSA_ECC_FAMILY_SECT_R1, PSA_KEY_ATTRIBUTES__KEY_TYPE__ECC_FAMILY__SECT_R1},
        {PSA_ECC_FAMILY_SECT_R2, PSA_KEY_ATTRIBUTES__KEY_TYPE__ECC_FAMILY__SECT_R2},
        {PSA_ECC_FAMILY_BRAINPOOL_P_R1, PSA_KEY_ATTRIBUTES__KEY_TYPE__ECC_FAMILY__BRAINPOOL_P_R1},
        {PSA_ECC_FAMILY_FRP, PSA_KEY_ATTRIBUTES__KEY_TYPE__ECC_FAMILY__FRP},
        {PSA_ECC_FAMILY_MONTGOMERY, PSA_KEY_ATTRIBUTES__KEY_TYPE__ECC_FAMILY__MONTGOMERY},
};

static psa_status_t ecc_family_to_pb(psa_ecc_family_t f, PsaKeyAttributes__KeyType__EccFamily *ret)
{
	for (size_t i = 0; i < NELEM(ecc_families); i++) {
		if (ecc_families[i].psa == f) {
			*ret = ecc_families[i].pb;
			return PSA_SUCCESS;
		}
	}
	return PSA_ERROR_NOT_SUPPORTED; /* twisted Edwards, unassigned */
}

static psa_status_t ecc_family_from_pb(PsaKeyAttributes__KeyType__EccFamily pb,
                                       psa_ecc_family_t *ret)
{
	for (size_t i = 0; i < NELEM(ecc_families); i++) {
		if (ecc_families[i].pb == pb) {
			*ret = ecc_families[i].psa;
			return PSA_SUCCESS;
		}
	}
	return MALFORMED;
}

/* The one DH family, whose protobuf value is 0. */
static psa_status_t dh_family_from_pb(PsaKeyAttributes__KeyType__DhFamily pb, psa_dh_family_t *ret)
{
	if (pb != PSA_KEY_ATTRIBUTES__KEY_TYPE__DH_FAMILY__RFC7919)
		return MALFORMED;
	*ret = PSA_DH_FAMILY_RFC7919;
	return PSA_SUCCESS;
}

#define KT_(x) PSA_KEY_ATTRIBUTES__KEY_TYPE__VARIANT_##x

/* The key types without parameters: each is an empty message in the KeyType oneof. */
static const struct {
	psa_key_type_t psa;
	PsaKeyAttributes__KeyType__VariantCase pb;
	const ProtobufCMessageDescriptor *desc;
} plain_types[] = {
        {PSA_KEY_TYPE_RAW_DATA, KT_(RAW_DATA), &psa_key_attributes__key_type__raw_data__descriptor},
        {PSA_KEY_TYPE_HMAC, KT_(HMAC), &psa_key_attributes__key_type__hmac__descriptor},
        {PSA_KEY_TYPE_DERIVE, KT_(DERIVE), &psa_key_attributes__key_type__derive__descriptor},
        {PSA_KEY_TYPE_AES, KT_(AES), &psa_key_attributes__key_type__aes__descriptor},
        {PSA_KEY_TYPE_DES, KT_(DES), &psa_key_attributes__key_type__des__descriptor},
        {PSA_KEY_TYPE_CAMELLIA, KT_(CAMELLIA), &psa_key_attributes__key_type__camellia__descriptor},
        {PSA_KEY_TYPE_ARC4, KT_(ARC4), &psa_key_attributes__key_type__arc4__descriptor},
        {PSA_KEY_TYPE_CHACHA20, KT_(CHACHA20), &psa_key_attributes__key_type__chacha20__descriptor},
        {PSA_KEY_TYPE_RSA_PUBLIC_KEY, KT_(RSA_PUBLIC_KEY),
         &psa_key_attributes__key_type__rsa_public_key__descriptor},
        {PSA_KEY_TYPE_RSA_KEY_PAIR, KT_(RSA_KEY_PAIR),
         &psa_key_attributes__key_type__rsa_key_pair__descriptor},
};

psa_status_t tpsa_key_type_to_pb(psa_key_type_t type, PsaKeyAttributes__KeyType **ret,
                                 struct pbarena *a)
{
	PsaKeyAttributes__KeyType *kt;
	psa_status_t status;

	if ((kt = NEW_MSG(a, psa_key_attributes__key_type)) == NULL)
		return PSA_ERROR_INSUFFICIENT_MEMORY;

	for (size_t i = 0; i < NELEM(plain_types); i++) {
		if (plain_types[i].psa != type)
			continue;
		/* Every member of the oneof is a message pointer in the same union. */
		if ((kt->raw_data = tpsa_pbarena_msg(a, plain_types[i].desc)) == NULL)
			return PSA_ERROR_INSUFFICIENT_MEMORY;
		kt->variant_case = plain_types[i].pb;
		*ret = kt;
		return PSA_SUCCESS;
	}

	if (PSA_KEY_TYPE_IS_ECC_KEY_PAIR(type)) {
		if ((kt->ecc_key_pair = NEW_MSG(a, psa_key_attributes__key_type__ecc_key_pair)) ==
		    NULL)
			return PSA_ERROR_INSUFFICIENT_MEMORY;
		status = ecc_family_to_pb(PSA_KEY_TYPE_ECC_GET_FAMILY(type),
		                          &kt->ecc_key_pair->curve_family);
		kt->variant_case = KT_(ECC_KEY_PAIR);
	} else if (PSA_KEY_TYPE_IS_ECC_PUBLIC_KEY(type)) {
		kt->ecc_public_key = NEW_MSG(a, psa_key_attributes__key_type__ecc_public_key);
		if (kt->ecc_public_key == NULL)
			return PSA_ERROR_INSUFFICIENT_MEMORY;
		status = ecc_family_to_pb(PSA_KEY_TYPE_ECC_GET_FAMILY(type),
		                          &kt->ecc_public_key->curve_family);
		kt->variant_case = KT_(ECC_PUBLIC_KEY);
	} else if (type == PSA_KEY_TYPE_DH_KEY_PAIR(PSA_DH_FAMILY_RFC7919)) {
		if ((kt->dh_key_pair = NEW_MSG(a, psa_key_attributes__key_type__dh_key_pair)) ==
		    NULL)
			return PSA_ERROR_INSUFFICIENT_MEMORY;
		kt->dh_key_pair->group_family = PSA_KEY_ATTRIBUTES__KEY_TYPE__DH_FAMILY__RFC7919;
		kt->variant_case = KT_(DH_KEY_PAIR);
		status = PSA_SUCCESS;
	} else if (type == PSA_KEY_TYPE_DH_PUBLIC_KEY(PSA_DH_FAMILY_RFC7919)) {
		kt->dh_public_key = NEW_MSG(a, psa_key_attributes__key_type__dh_public_key);
		if (kt->dh_public_key == NULL)
			return PSA_ERROR_INSUFFICIENT_MEMORY;
		kt->dh_public_key->group_family = PSA_KEY_ATTRIBUTES__KEY_TYPE__DH_FAMILY__RFC7919;
		kt->variant_case = KT_(DH_PUBLIC_KEY);
		status = PSA_SUCCESS;
	} else {
		status = PSA_ERROR_NOT_SUPPORTED; /* NONE, ARIA, SM4, passwords, other DH groups...
		                                   */
	}
	if (status != PSA_SUCCESS)
		return status;
	*ret = kt;
	return PSA_SUCCESS;
}

psa_status_t tpsa_key_type_from_pb(const PsaKeyAttributes__KeyType *pb, psa_key_type_t *ret)
{
	psa_ecc_family_t ecc;
	psa_dh_family_t dh;
	psa_status_t status;

	if (pb == NULL)
		return MALFORMED;
	for (size_t i = 0; i < NELEM(plain_types); i++) {
		if (plain_types[i].pb == pb->variant_case) {
			*ret = plain_types[i].psa;
			return PSA_SUCCESS;
		}
	}
	switch (pb->variant_case) {
	case KT_(ECC_KEY_PAIR):
		if (pb->ecc_key_pair == NULL)
			return MALFORMED;
		if ((status = ecc_family_from_pb(pb->ecc_key_pair->curve_family, &ecc)) !=
		    PSA_SUCCESS)
			return status;
		*ret = PSA_KEY_TYPE_ECC_KEY_PAIR(ecc);
		return PSA_SUCCESS;
	case KT_(ECC_PUBLIC_KEY):
		if (pb->ecc_public_key == NULL)
			return MALFORMED;
		status = ecc_family_from_pb(pb->ecc_public_key->curve_family, &ecc);
		if (status != PSA_SUCCESS)
			return status;
		*ret = PSA_KEY_TYPE_ECC_PUBLIC_KEY(ecc);
		return PSA_SUCCESS;
	case KT_(DH_KEY_PAIR):
		if (pb->dh_key_pair == NULL)
			return MALFORMED;
		if ((status = dh_family_from_pb(pb->dh_key_pair->group_family, &dh)) != PSA_SUCCESS)
			return status;
		*ret = PSA_KEY_TYPE_DH_KEY_PAIR(dh);
		return PSA_SUCCESS;
	case KT_(DH_PUBLIC_KEY):
		if (pb->dh_public_key == NULL)
			return MALFORMED;
		if ((status = dh_family_from_pb(pb->dh_public_key->group_family, &dh)) !=
		    PSA_SUCCESS)
			return status;
		*ret = PSA_KEY_TYPE_DH_PUBLIC_KEY(dh);
		return PSA_SUCCESS;
	default:
		return MALFORMED;
	}
}

/* ---- Usage flags ---- */

/* The flags the protobuf has a field for; VERIFY_DERIVATION (1.1) has none. */
#define USAGE_ON_WIRE                                                                              \
	(PSA_KEY_USAGE_EXPORT | PSA_KEY_USAGE_COPY | PSA_KEY_USAGE_CACHE | PSA_KEY_USAGE_ENCRYPT | \
	 PSA_KEY_USAGE_DECRYPT | PSA_KEY_USAGE_SIGN_MESSAGE | PSA_KEY_USAGE_VERIFY_MESSAGE |       \
	 PSA_KEY_USAGE_SIGN_HASH | PSA_KEY_USAGE_VERIFY_HASH | PSA_KEY_USAGE_DERIVE)

psa_status_t tpsa_usage_to_pb(psa_key_usage_t usage, PsaKeyAttributes__UsageFlags **ret,
                              struct pbarena *a)
{
	PsaKeyAttributes__UsageFlags *u;

	if ((usage & ~(psa_key_usage_t)(USAGE_ON_WIRE | PSA_KEY_USAGE_VERIFY_DERIVATION)) != 0)
		return PSA_ERROR_INVALID_ARGUMENT; /* bits the specification does not define */
	if ((usage & PSA_KEY_USAGE_VERIFY_DERIVATION) != 0)
		return PSA_ERROR_NOT_SUPPORTED;
	if ((u = NEW_MSG(a, psa_key_attributes__usage_flags)) == NULL)
		return PSA_ERROR_INSUFFICIENT_MEMORY;
	u->export = (usage & PSA_KEY_USAGE_EXPORT) != 0;
	u->copy = (usage & PSA_KEY_USAGE_COPY) != 0;
	u->cache = (usage & PSA_KEY_USAGE_CACHE) != 0;
	u->encrypt = (usage & PSA_KEY_USAGE_ENCRYPT) != 0;
	u->decrypt = (usage & PSA_KEY_USAGE_DECRYPT) != 0;
	/* The specification: permission to sign a hash includes signing a message. */
	u->sign_message = (usage & (PSA_KEY_USAGE_SIGN_MESSAGE | PSA_KEY_USAGE_SIGN_HASH)) != 0;
	u->verify_message =
	        (usage & (PSA_KEY_USAGE_VERIFY_MESSAGE | PSA_KEY_USAGE_VERIFY_HASH)) != 0;
	u->sign_hash = (usage & PSA_KEY_USAGE_SIGN_HASH) != 0;
	u->verify_hash = (usage & PSA_KEY_USAGE_VERIFY_HASH) != 0;
	u->derive = (usage & PSA_KEY_USAGE_DERIVE) != 0;
	*ret = u;
	return PSA_SUCCESS;
}

psa_status_t tpsa_usage_from_pb(const PsaKeyAttributes__UsageFlags *pb, psa_key_usage_t *ret)
{
	psa_key_usage_t u = 0;

	if (pb == NULL)
		return MALFORMED;
	u |= pb->export ? PSA_KEY_USAGE_EXPORT : 0;
	u |= pb->copy ? PSA_KEY_USAGE_COPY : 0;
	u |= pb->cache ? PSA_KEY_USAGE_CACHE : 0;
	u |= pb->encrypt ? PSA_KEY_USAGE_ENCRYPT : 0;
	u |= pb->decrypt ? PSA_KEY_USAGE_DECRYPT : 0;
	u |= pb->sign_message ? PSA_KEY_USAGE_SIGN_MESSAGE : 0;
	u |= pb->verify_message ? PSA_KEY_USAGE_VERIFY_MESSAGE : 0;
	u |= pb->sign_hash ? PSA_KEY_USAGE_SIGN_HASH : 0;
	u |= pb->verify_hash ? PSA_KEY_USAGE_VERIFY_HASH : 0;
	u |= pb->derive ? PSA_KEY_USAGE_DERIVE : 0;
	*ret = u;
	return PSA_SUCCESS;
}

/* ---- Key attributes ---- */

psa_status_t tpsa_attrs_to_pb(const psa_key_attributes_t *attrs,
                              PsaKeyAttributes__KeyAttributes **ret, struct pbarena *a)
{
	PsaKeyAttributes__KeyAttributes *ka;
	PsaKeyAttributes__KeyPolicy *pol;
	size_t bits = psa_get_key_bits(attrs);
	psa_status_t status;

	if (bits > UINT32_MAX)
		return PSA_ERROR_NOT_SUPPORTED;
	if ((ka = NEW_MSG(a, psa_key_attributes__key_attributes)) == NULL ||
	    (pol = NEW_MSG(a, psa_key_attributes__key_policy)) == NULL)
		return PSA_ERROR_INSUFFICIENT_MEMORY;
	if ((status = tpsa_key_type_to_pb(psa_get_key_type(attrs), &ka->key_type, a)) !=
	            PSA_SUCCESS ||
	    (status = tpsa_usage_to_pb(psa_get_key_usage_flags(attrs), &pol->key_usage_flags, a)) !=
	            PSA_SUCCESS ||
	    (status = tpsa_alg_to_pb(psa_get_key_algorithm(attrs), &pol->key_algorithm, a)) !=
	            PSA_SUCCESS)
		return status;
	ka->key_bits = (uint32_t)bits;
	ka->key_policy = pol;
	*ret = ka;
	return PSA_SUCCESS;
}

psa_status_t tpsa_attrs_from_pb(const PsaKeyAttributes__KeyAttributes *pb,
                                psa_key_attributes_t *ret)
{
	psa_key_type_t type;
	psa_key_usage_t usage;
	psa_algorithm_t alg;
	psa_status_t status;

	if (pb == NULL || pb->key_policy == NULL)
		return MALFORMED;
	if ((status = tpsa_key_type_from_pb(pb->key_type, &type)) != PSA_SUCCESS ||
	    (status = tpsa_usage_from_pb(pb->key_policy->key_usage_flags, &usage)) != PSA_SUCCESS ||
	    (status = tpsa_alg_from_pb(pb->key_policy->key_algorithm, &alg)) != PSA_SUCCESS)
		return status;
	psa_set_key_type(ret, type);
	psa_set_key_bits(ret, pb->key_bits);
	psa_set_key_usage_flags(ret, usage);
	psa_set_key_algorithm(ret, alg);
	return PSA_SUCCESS;
}
