/* Protobuf key attributes and algorithms → the core's compact form. */
#include "wire/psa.h"

#include <stddef.h>
#include <string.h>

#define BAD TS_E_INVALID_ENCODING

static bool hash_valid(int h)
{
	return h >= 1 && h <= PSA_HASH_MAX;
}

bool psa_aead_tag_length_valid(unsigned aead, size_t tag_len)
{
	switch (aead) {
	case PSA_AEAD_GCM:
		return tag_len == 4 || tag_len == 8 || (tag_len >= 12 && tag_len <= 16);
	case PSA_AEAD_CCM:
		return tag_len >= 4 && tag_len <= 16 && tag_len % 2 == 0;
	case PSA_AEAD_CHACHA20_POLY1305:
		return tag_len == 16;
	default:
		return false;
	}
}

size_t psa_hash_size(unsigned hash)
{
	static const uint8_t sizes[PSA_HASH_MAX + 1] = {
	        0, 16, 16, 16, 20, 20, 28, 32, 48, 64, 28, 32, 28, 32, 48, 64,
	};

	return hash <= PSA_HASH_MAX ? sizes[hash] : 0;
}

static enum ts_err
sign_hash_from_pb(const PsaAlgorithm__Algorithm__AsymmetricSignature__SignHash *pb,
                  struct psa_alg *ret)
{
	if (pb == NULL)
		return BAD;
	switch (pb->variant_case) {
	case PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_SIGNATURE__SIGN_HASH__VARIANT_ANY:
		ret->hash_any = true;
		return TS_OK;
	case PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_SIGNATURE__SIGN_HASH__VARIANT_SPECIFIC:
		if (!hash_valid((int)pb->specific))
			return BAD;
		ret->hash = (uint8_t)pb->specific;
		return TS_OK;
	default:
		return BAD;
	}
}

enum ts_err psa_sign_alg_from_pb(const PsaAlgorithm__Algorithm__AsymmetricSignature *pb,
                                 struct psa_alg *ret)
{
	struct psa_alg a = {.cls = PSA_AC_SIGN};
	const PsaAlgorithm__Algorithm__AsymmetricSignature__SignHash *h = NULL;

	if (pb == NULL)
		return BAD;
	switch (pb->variant_case) {
	case PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_SIGNATURE__VARIANT_RSA_PKCS1V15_SIGN:
		h = pb->rsa_pkcs1v15_sign != NULL ? pb->rsa_pkcs1v15_sign->hash_alg : NULL;
		break;
	case PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_SIGNATURE__VARIANT_RSA_PSS:
		h = pb->rsa_pss != NULL ? pb->rsa_pss->hash_alg : NULL;
		break;
	case PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_SIGNATURE__VARIANT_ECDSA:
		h = pb->ecdsa != NULL ? pb->ecdsa->hash_alg : NULL;
		break;
	case PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_SIGNATURE__VARIANT_DETERMINISTIC_ECDSA:
		h = pb->deterministic_ecdsa != NULL ? pb->deterministic_ecdsa->hash_alg : NULL;
		break;
	case PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_SIGNATURE__VARIANT_RSA_PKCS1V15_SIGN_RAW:
	case PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_SIGNATURE__VARIANT_ECDSA_ANY:
		break;
	default:
		return BAD;
	}
	a.kind = (uint8_t)pb->variant_case;
	if (a.kind != PSA_SIGN_RSA_PKCS1V15_RAW && a.kind != PSA_SIGN_ECDSA_ANY &&
	    sign_hash_from_pb(h, &a) != TS_OK)
		return BAD; /* hash_alg is required where the scheme has one */
	*ret = a;
	return TS_OK;
}

enum ts_err psa_enc_alg_from_pb(const PsaAlgorithm__Algorithm__AsymmetricEncryption *pb,
                                struct psa_alg *ret)
{
	struct psa_alg a = {.cls = PSA_AC_ASYM_ENC};

	if (pb == NULL)
		return BAD;
	switch (pb->variant_case) {
	case PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_ENCRYPTION__VARIANT_RSA_PKCS1V15_CRYPT:
		a.kind = PSA_ENC_RSA_PKCS1V15;
		break;
	case PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_ENCRYPTION__VARIANT_RSA_OAEP:
		if (pb->rsa_oaep == NULL || !hash_valid((int)pb->rsa_oaep->hash_alg))
			return BAD;
		a.kind = PSA_ENC_RSA_OAEP;
		a.hash = (uint8_t)pb->rsa_oaep->hash_alg;
		break;
	default:
		return BAD;
	}
	*ret = a;
	return TS_OK;
}

enum ts_err psa_aead_alg_from_pb(const PsaAlgorithm__Algorithm__Aead *pb, struct psa_alg *ret)
{
	struct psa_alg a = {.cls = PSA_AC_AEAD};
	int v;

	if (pb == NULL)
		return BAD;
	switch (pb->variant_case) {
	case PSA_ALGORITHM__ALGORITHM__AEAD__VARIANT_AEAD_WITH_DEFAULT_LENGTH_TAG:
		v = (int)pb->aead_with_default_length_tag;
		break;
	case PSA_ALGORITHM__ALGORITHM__AEAD__VARIANT_AEAD_WITH_SHORTENED_TAG:
		if (pb->aead_with_shortened_tag == NULL)
			return BAD;
		v = (int)pb->aead_with_shortened_tag->aead_alg;
		a.length = pb->aead_with_shortened_tag->tag_length;
		if (a.length == 0)
			return BAD;
		break;
	default:
		return BAD;
	}
	if (v < PSA_AEAD_CCM || v > PSA_AEAD_CHACHA20_POLY1305)
		return BAD;
	a.kind = (uint8_t)v;
	*ret = a;
	return TS_OK;
}

static enum ts_err full_mac_from_pb(const PsaAlgorithm__Algorithm__Mac__FullLength *pb,
                                    struct psa_alg *a)
{
	if (pb == NULL)
		return BAD;
	switch (pb->variant_case) {
	case PSA_ALGORITHM__ALGORITHM__MAC__FULL_LENGTH__VARIANT_HMAC:
		if (pb->hmac == NULL || !hash_valid((int)pb->hmac->hash_alg))
			return BAD;
		a->kind = PSA_MAC_HMAC;
		a->hash = (uint8_t)pb->hmac->hash_alg;
		return TS_OK;
	case PSA_ALGORITHM__ALGORITHM__MAC__FULL_LENGTH__VARIANT_CBC_MAC:
		a->kind = PSA_MAC_CBC_MAC;
		return TS_OK;
	case PSA_ALGORITHM__ALGORITHM__MAC__FULL_LENGTH__VARIANT_CMAC:
		a->kind = PSA_MAC_CMAC;
		return TS_OK;
	default:
		return BAD;
	}
}

enum ts_err psa_mac_alg_from_pb(const PsaAlgorithm__Algorithm__Mac *pb, struct psa_alg *ret)
{
	struct psa_alg a = {.cls = PSA_AC_MAC};

	if (pb == NULL)
		return BAD;
	switch (pb->variant_case) {
	case PSA_ALGORITHM__ALGORITHM__MAC__VARIANT_FULL_LENGTH:
		if (full_mac_from_pb(pb->full_length, &a) != TS_OK)
			return BAD;
		break;
	case PSA_ALGORITHM__ALGORITHM__MAC__VARIANT_TRUNCATED:
		if (pb->truncated == NULL ||
		    full_mac_from_pb(pb->truncated->mac_alg, &a) != TS_OK ||
		    pb->truncated->mac_length == 0)
			return BAD;
		a.length = pb->truncated->mac_length;
		break;
	default:
		return BAD;
	}
	*ret = a;
	return TS_OK;
}

enum ts_err psa_cipher_alg_from_enum(int value, struct psa_alg *ret)
{
	if (value < 1 || value > 8)
		return BAD;
	*ret = (struct psa_alg){.cls = PSA_AC_CIPHER, .kind = (uint8_t)value};
	return TS_OK;
}

enum ts_err psa_ka_alg_from_enum(int value, struct psa_alg *ret)
{
	if (value != PSA_KA_FFDH && value != PSA_KA_ECDH)
		return BAD;
	*ret = (struct psa_alg){.cls = PSA_AC_KEY_AGREEMENT, .kind = (uint8_t)value};
	return TS_OK;
}

static enum ts_err kdf_from_pb(const PsaAlgorithm__Algorithm__KeyDerivation *pb, uint8_t *ret_kind,
                               uint8_t *ret_hash)
{
	const PsaAlgorithm__Algorithm__KeyDerivation__Hkdf *hkdf;
	int h;

	if (pb == NULL)
		return BAD;
	switch (pb->variant_case) {
	case PSA_ALGORITHM__ALGORITHM__KEY_DERIVATION__VARIANT_HKDF:
		hkdf = pb->hkdf;
		if (hkdf == NULL)
			return BAD;
		h = (int)hkdf->hash_alg;
		break;
	case PSA_ALGORITHM__ALGORITHM__KEY_DERIVATION__VARIANT_TLS12_PRF:
		if (pb->tls12_prf == NULL)
			return BAD;
		h = (int)pb->tls12_prf->hash_alg;
		break;
	case PSA_ALGORITHM__ALGORITHM__KEY_DERIVATION__VARIANT_TLS12_PSK_TO_MS:
		if (pb->tls12_psk_to_ms == NULL)
			return BAD;
		h = (int)pb->tls12_psk_to_ms->hash_alg;
		break;
	default:
		return BAD;
	}
	if (!hash_valid(h))
		return BAD;
	*ret_kind = (uint8_t)pb->variant_case;
	*ret_hash = (uint8_t)h;
	return TS_OK;
}

enum ts_err psa_alg_from_pb(const PsaAlgorithm__Algorithm *pb, struct psa_alg *ret)
{
	struct psa_alg a = {0};
	enum ts_err err = TS_OK;

	if (pb == NULL)
		return BAD;
	switch (pb->variant_case) {
	case PSA_ALGORITHM__ALGORITHM__VARIANT_NONE:
		a.cls = PSA_AC_NONE;
		break;
	case PSA_ALGORITHM__ALGORITHM__VARIANT_HASH:
		if (!hash_valid((int)pb->hash))
			return BAD;
		a.cls = PSA_AC_HASH;
		a.kind = (uint8_t)pb->hash;
		break;
	case PSA_ALGORITHM__ALGORITHM__VARIANT_MAC:
		err = psa_mac_alg_from_pb(pb->mac, &a);
		break;
	case PSA_ALGORITHM__ALGORITHM__VARIANT_CIPHER:
		err = psa_cipher_alg_from_enum((int)pb->cipher, &a);
		break;
	case PSA_ALGORITHM__ALGORITHM__VARIANT_AEAD:
		err = psa_aead_alg_from_pb(pb->aead, &a);
		break;
	case PSA_ALGORITHM__ALGORITHM__VARIANT_ASYMMETRIC_SIGNATURE:
		err = psa_sign_alg_from_pb(pb->asymmetric_signature, &a);
		break;
	case PSA_ALGORITHM__ALGORITHM__VARIANT_ASYMMETRIC_ENCRYPTION:
		err = psa_enc_alg_from_pb(pb->asymmetric_encryption, &a);
		break;
	case PSA_ALGORITHM__ALGORITHM__VARIANT_KEY_AGREEMENT: {
		const PsaAlgorithm__Algorithm__KeyAgreement *ka = pb->key_agreement;

		if (ka == NULL)
			return BAD;
		if (ka->variant_case == PSA_ALGORITHM__ALGORITHM__KEY_AGREEMENT__VARIANT_RAW) {
			err = psa_ka_alg_from_enum((int)ka->raw, &a);
		} else if (
		        ka->variant_case ==
		                PSA_ALGORITHM__ALGORITHM__KEY_AGREEMENT__VARIANT_WITH_KEY_DERIVATION &&
		        ka->with_key_derivation != NULL) {
			err = psa_ka_alg_from_enum((int)ka->with_key_derivation->ka_alg, &a);
			if (err == TS_OK)
				err = kdf_from_pb(ka->with_key_derivation->kdf_alg, &a.kdf,
				                  &a.kdf_hash);
		} else {
			err = BAD;
		}
		break;
	}
	case PSA_ALGORITHM__ALGORITHM__VARIANT_KEY_DERIVATION:
		a.cls = PSA_AC_KDF;
		err = kdf_from_pb(pb->key_derivation, &a.kind, &a.hash);
		break;
	default:
		return BAD;
	}
	if (err != TS_OK)
		return err;
	*ret = a;
	return TS_OK;
}

static uint32_t usage_from_pb(const PsaKeyAttributes__UsageFlags *u)
{
	return (u->export ? PSA_USAGE_EXPORT : 0) | (u->copy ? PSA_USAGE_COPY : 0) |
	       (u->cache ? PSA_USAGE_CACHE : 0) | (u->encrypt ? PSA_USAGE_ENCRYPT : 0) |
	       (u->decrypt ? PSA_USAGE_DECRYPT : 0) |
	       (u->sign_message ? PSA_USAGE_SIGN_MESSAGE : 0) |
	       (u->verify_message ? PSA_USAGE_VERIFY_MESSAGE : 0) |
	       (u->sign_hash ? PSA_USAGE_SIGN_HASH : 0) |
	       (u->verify_hash ? PSA_USAGE_VERIFY_HASH : 0) | (u->derive ? PSA_USAGE_DERIVE : 0);
}

enum ts_err psa_attrs_from_pb(const PsaKeyAttributes__KeyAttributes *pb, struct psa_attrs *ret)
{
	struct psa_attrs a = {0};
	const PsaKeyAttributes__KeyType *t;
	int fam;

	if (pb == NULL || pb->key_type == NULL || pb->key_policy == NULL ||
	    pb->key_policy->key_usage_flags == NULL || pb->key_policy->key_algorithm == NULL)
		return BAD;
	t = pb->key_type;
	switch (t->variant_case) {
	case PSA_KEY_ATTRIBUTES__KEY_TYPE__VARIANT_ECC_KEY_PAIR:
	case PSA_KEY_ATTRIBUTES__KEY_TYPE__VARIANT_ECC_PUBLIC_KEY:
		fam = t->variant_case == PSA_KEY_ATTRIBUTES__KEY_TYPE__VARIANT_ECC_KEY_PAIR
		              ? (t->ecc_key_pair ? (int)t->ecc_key_pair->curve_family : 0)
		              : (t->ecc_public_key ? (int)t->ecc_public_key->curve_family : 0);
		if (fam < PSA_ECC_SECP_K1 || fam > PSA_ECC_MONTGOMERY)
			return BAD;
		a.family = (uint8_t)fam;
		break;
	case PSA_KEY_ATTRIBUTES__KEY_TYPE__VARIANT_DH_KEY_PAIR:
	case PSA_KEY_ATTRIBUTES__KEY_TYPE__VARIANT_DH_PUBLIC_KEY:
		fam = t->variant_case == PSA_KEY_ATTRIBUTES__KEY_TYPE__VARIANT_DH_KEY_PAIR
		              ? (t->dh_key_pair ? (int)t->dh_key_pair->group_family : -1)
		              : (t->dh_public_key ? (int)t->dh_public_key->group_family : -1);
		if (fam != 0) /* RFC 7919 is the only family, and its value is 0 */
			return BAD;
		break;
	default:
		if (t->variant_case < PSA_KEY_ATTRIBUTES__KEY_TYPE__VARIANT_RAW_DATA ||
		    t->variant_case > PSA_KEY_ATTRIBUTES__KEY_TYPE__VARIANT_DH_PUBLIC_KEY)
			return BAD;
		break;
	}
	a.type = (uint8_t)t->variant_case;
	a.bits = pb->key_bits;
	a.usage = usage_from_pb(pb->key_policy->key_usage_flags);
	if (psa_alg_from_pb(pb->key_policy->key_algorithm, &a.alg) != TS_OK)
		return BAD;
	*ret = a;
	return TS_OK;
}

/* Stored attributes are a few dozen bytes and decoded on every use of a
 * key: their message tree is built in a buffer on the stack instead of a
 * malloc per sub-message (a larger one falls back to the heap). */
struct arena {
	ProtobufCAllocator base;
	size_t used;
	_Alignas(max_align_t) uint8_t buf[2048];
};

static void *arena_alloc(void *data, size_t size)
{
	struct arena *a = data;
	size_t at = (a->used + _Alignof(max_align_t) - 1) & ~(_Alignof(max_align_t) - 1);

	if (size > sizeof(a->buf) || at > sizeof(a->buf) - size)
		return NULL;
	a->used = at + size;
	return a->buf + at;
}

static void arena_free(void *data, void *ptr)
{
	(void)data;
	(void)ptr; /* the whole arena goes with the stack frame */
}

enum ts_err psa_attrs_unpack(const uint8_t *buf, size_t len, struct psa_attrs *ret)
{
	struct arena a = {.base = {.alloc = arena_alloc, .free = arena_free}};
	PsaKeyAttributes__KeyAttributes *pb;
	enum ts_err err;

	a.base.allocator_data = &a;
	pb = psa_key_attributes__key_attributes__unpack(&a.base, len, buf);
	if (pb != NULL)
		return psa_attrs_from_pb(pb, ret);
	pb = psa_key_attributes__key_attributes__unpack(NULL, len, buf);
	if (pb == NULL)
		return TS_E_DESERIALIZING_BODY_FAILED;
	err = psa_attrs_from_pb(pb, ret);
	psa_key_attributes__key_attributes__free_unpacked(pb, NULL);
	return err;
}
