/*
 * PSA algorithm identifiers <-> the psa_algorithm.proto messages. Every
 * to_pb function decodes the PSA value field by field and insists that
 * re-encoding the fields gives back exactly the value: a stray bit (a
 * vendor flag, a reserved field) makes the value NOT_SUPPORTED instead of
 * being dropped.
 */
#include "client/psa/pbmap-priv.h"

#include <stdint.h>

/* ---- Hashes ---- */

static const struct {
	psa_algorithm_t psa;
	PsaAlgorithm__Algorithm__Hash pb;
} hashes[] = {
        {PSA_ALG_MD2, PSA_ALGORITHM__ALGORITHM__HASH__MD2},
        {PSA_ALG_MD4, PSA_ALGORITHM__ALGORITHM__HASH__MD4},
        {PSA_ALG_MD5, PSA_ALGORITHM__ALGORITHM__HASH__MD5},
        {PSA_ALG_RIPEMD160, PSA_ALGORITHM__ALGORITHM__HASH__RIPEMD160},
        {PSA_ALG_SHA_1, PSA_ALGORITHM__ALGORITHM__HASH__SHA_1},
        {PSA_ALG_SHA_224, PSA_ALGORITHM__ALGORITHM__HASH__SHA_224},
        {PSA_ALG_SHA_256, PSA_ALGORITHM__ALGORITHM__HASH__SHA_256},
        {PSA_ALG_SHA_384, PSA_ALGORITHM__ALGORITHM__HASH__SHA_384},
        {PSA_ALG_SHA_512, PSA_ALGORITHM__ALGORITHM__HASH__SHA_512},
        {PSA_ALG_SHA_512_224, PSA_ALGORITHM__ALGORITHM__HASH__SHA_512_224},
        {PSA_ALG_SHA_512_256, PSA_ALGORITHM__ALGORITHM__HASH__SHA_512_256},
        {PSA_ALG_SHA3_224, PSA_ALGORITHM__ALGORITHM__HASH__SHA3_224},
        {PSA_ALG_SHA3_256, PSA_ALGORITHM__ALGORITHM__HASH__SHA3_256},
        {PSA_ALG_SHA3_384, PSA_ALGORITHM__ALGORITHM__HASH__SHA3_384},
        {PSA_ALG_SHA3_512, PSA_ALGORITHM__ALGORITHM__HASH__SHA3_512},
};

psa_status_t tpsa_hash_to_pb(psa_algorithm_t alg, PsaAlgorithm__Algorithm__Hash *ret)
{
	if (!PSA_ALG_IS_HASH(alg))
		return PSA_ERROR_INVALID_ARGUMENT;
	for (size_t i = 0; i < NELEM(hashes); i++) {
		if (hashes[i].psa == alg) {
			*ret = hashes[i].pb;
			return PSA_SUCCESS;
		}
	}
	return PSA_ERROR_NOT_SUPPORTED; /* SM3, SHAKE256-512, ANY_HASH, unassigned */
}

psa_status_t tpsa_hash_from_pb(PsaAlgorithm__Algorithm__Hash pb, psa_algorithm_t *ret)
{
	for (size_t i = 0; i < NELEM(hashes); i++) {
		if (hashes[i].pb == pb) {
			*ret = hashes[i].psa;
			return PSA_SUCCESS;
		}
	}
	return MALFORMED;
}

/* The hash in the low byte of a composite algorithm (HMAC, HKDF, OAEP...). */
static psa_status_t inner_hash_to_pb(psa_algorithm_t alg, PsaAlgorithm__Algorithm__Hash *ret)
{
	psa_algorithm_t h = PSA_ALG_GET_HASH(alg);

	if (h == PSA_ALG_NONE || h == PSA_ALG_ANY_HASH)
		return PSA_ERROR_NOT_SUPPORTED;
	return tpsa_hash_to_pb(h, ret);
}

/* ---- Unauthenticated ciphers ---- */

static const struct {
	psa_algorithm_t psa;
	PsaAlgorithm__Algorithm__Cipher pb;
} ciphers[] = {
        {PSA_ALG_STREAM_CIPHER, PSA_ALGORITHM__ALGORITHM__CIPHER__STREAM_CIPHER},
        {PSA_ALG_CTR, PSA_ALGORITHM__ALGORITHM__CIPHER__CTR},
        {PSA_ALG_CFB, PSA_ALGORITHM__ALGORITHM__CIPHER__CFB},
        {PSA_ALG_OFB, PSA_ALGORITHM__ALGORITHM__CIPHER__OFB},
        {PSA_ALG_XTS, PSA_ALGORITHM__ALGORITHM__CIPHER__XTS},
        {PSA_ALG_ECB_NO_PADDING, PSA_ALGORITHM__ALGORITHM__CIPHER__ECB_NO_PADDING},
        {PSA_ALG_CBC_NO_PADDING, PSA_ALGORITHM__ALGORITHM__CIPHER__CBC_NO_PADDING},
        {PSA_ALG_CBC_PKCS7, PSA_ALGORITHM__ALGORITHM__CIPHER__CBC_PKCS7},
};

psa_status_t tpsa_cipher_to_pb(psa_algorithm_t alg, PsaAlgorithm__Algorithm__Cipher *ret)
{
	if (!PSA_ALG_IS_CIPHER(alg))
		return PSA_ERROR_INVALID_ARGUMENT;
	for (size_t i = 0; i < NELEM(ciphers); i++) {
		if (ciphers[i].psa == alg) {
			*ret = ciphers[i].pb;
			return PSA_SUCCESS;
		}
	}
	return PSA_ERROR_NOT_SUPPORTED;
}

psa_status_t tpsa_cipher_from_pb(PsaAlgorithm__Algorithm__Cipher pb, psa_algorithm_t *ret)
{
	for (size_t i = 0; i < NELEM(ciphers); i++) {
		if (ciphers[i].pb == pb) {
			*ret = ciphers[i].psa;
			return PSA_SUCCESS;
		}
	}
	return MALFORMED;
}

/* ---- MACs ---- */

/* Bits 16-21 of a MAC or AEAD algorithm: a truncated MAC or shortened tag length. */
static uint32_t alg_length_field(psa_algorithm_t alg)
{
	return (alg >> TPSA_ALG_LENGTH_SHIFT_) & TPSA_ALG_LENGTH_MASK_;
}

psa_status_t tpsa_mac_to_pb(psa_algorithm_t alg, PsaAlgorithm__Algorithm__Mac **ret,
                            struct pbarena *a)
{
	psa_algorithm_t full = PSA_ALG_FULL_LENGTH_MAC(alg);
	uint32_t length = alg_length_field(alg);
	PsaAlgorithm__Algorithm__Mac__FullLength *fl;
	PsaAlgorithm__Algorithm__Mac *mac;
	psa_status_t status;

	if (!PSA_ALG_IS_MAC(alg))
		return PSA_ERROR_INVALID_ARGUMENT;
	if ((alg & TPSA_ALG_AT_LEAST_FLAG_) != 0)
		return PSA_ERROR_NOT_SUPPORTED;
	if ((fl = NEW_MSG(a, psa_algorithm__algorithm__mac__full_length)) == NULL ||
	    (mac = NEW_MSG(a, psa_algorithm__algorithm__mac)) == NULL)
		return PSA_ERROR_INSUFFICIENT_MEMORY;

	if (PSA_ALG_IS_HMAC(full)) {
		PsaAlgorithm__Algorithm__Mac__FullLength__Hmac *h;

		if ((h = NEW_MSG(a, psa_algorithm__algorithm__mac__full_length__hmac)) == NULL)
			return PSA_ERROR_INSUFFICIENT_MEMORY;
		if ((status = inner_hash_to_pb(full, &h->hash_alg)) != PSA_SUCCESS)
			return status;
		if (full != PSA_ALG_HMAC(full))
			return PSA_ERROR_NOT_SUPPORTED;
		fl->variant_case = PSA_ALGORITHM__ALGORITHM__MAC__FULL_LENGTH__VARIANT_HMAC;
		fl->hmac = h;
	} else if (full == PSA_ALG_CBC_MAC) {
		if ((fl->cbc_mac = NEW_MSG(
		             a, psa_algorithm__algorithm__mac__full_length__cbc_mac)) == NULL)
			return PSA_ERROR_INSUFFICIENT_MEMORY;
		fl->variant_case = PSA_ALGORITHM__ALGORITHM__MAC__FULL_LENGTH__VARIANT_CBC_MAC;
	} else if (full == PSA_ALG_CMAC) {
		if ((fl->cmac = NEW_MSG(a, psa_algorithm__algorithm__mac__full_length__cmac)) ==
		    NULL)
			return PSA_ERROR_INSUFFICIENT_MEMORY;
		fl->variant_case = PSA_ALGORITHM__ALGORITHM__MAC__FULL_LENGTH__VARIANT_CMAC;
	} else {
		return PSA_ERROR_NOT_SUPPORTED;
	}

	if (length == 0) {
		mac->variant_case = PSA_ALGORITHM__ALGORITHM__MAC__VARIANT_FULL_LENGTH;
		mac->full_length = fl;
	} else {
		PsaAlgorithm__Algorithm__Mac__Truncated *t;

		if ((t = NEW_MSG(a, psa_algorithm__algorithm__mac__truncated)) == NULL)
			return PSA_ERROR_INSUFFICIENT_MEMORY;
		t->mac_alg = fl;
		t->mac_length = length;
		mac->variant_case = PSA_ALGORITHM__ALGORITHM__MAC__VARIANT_TRUNCATED;
		mac->truncated = t;
	}
	*ret = mac;
	return PSA_SUCCESS;
}

static psa_status_t full_mac_from_pb(const PsaAlgorithm__Algorithm__Mac__FullLength *pb,
                                     psa_algorithm_t *ret)
{
	psa_algorithm_t h;
	psa_status_t status;

	if (pb == NULL)
		return MALFORMED;
	switch (pb->variant_case) {
	case PSA_ALGORITHM__ALGORITHM__MAC__FULL_LENGTH__VARIANT_HMAC:
		if (pb->hmac == NULL)
			return MALFORMED;
		if ((status = tpsa_hash_from_pb(pb->hmac->hash_alg, &h)) != PSA_SUCCESS)
			return status;
		*ret = PSA_ALG_HMAC(h);
		return PSA_SUCCESS;
	case PSA_ALGORITHM__ALGORITHM__MAC__FULL_LENGTH__VARIANT_CBC_MAC:
		*ret = PSA_ALG_CBC_MAC;
		return PSA_SUCCESS;
	case PSA_ALGORITHM__ALGORITHM__MAC__FULL_LENGTH__VARIANT_CMAC:
		*ret = PSA_ALG_CMAC;
		return PSA_SUCCESS;
	default:
		return MALFORMED;
	}
}

psa_status_t tpsa_mac_from_pb(const PsaAlgorithm__Algorithm__Mac *pb, psa_algorithm_t *ret)
{
	psa_algorithm_t full;
	psa_status_t status;

	if (pb == NULL)
		return MALFORMED;
	switch (pb->variant_case) {
	case PSA_ALGORITHM__ALGORITHM__MAC__VARIANT_FULL_LENGTH:
		return full_mac_from_pb(pb->full_length, ret);
	case PSA_ALGORITHM__ALGORITHM__MAC__VARIANT_TRUNCATED:
		if (pb->truncated == NULL)
			return MALFORMED;
		if ((status = full_mac_from_pb(pb->truncated->mac_alg, &full)) != PSA_SUCCESS)
			return status;
		if (pb->truncated->mac_length > TPSA_ALG_LENGTH_MASK_)
			return PSA_ERROR_NOT_SUPPORTED;
		*ret = PSA_ALG_TRUNCATED_MAC(full, pb->truncated->mac_length);
		return PSA_SUCCESS;
	default:
		return MALFORMED;
	}
}

/* ---- AEAD ---- */

static const struct {
	psa_algorithm_t psa;
	PsaAlgorithm__Algorithm__Aead__AeadWithDefaultLengthTag pb;
} aeads[] = {
        {PSA_ALG_CCM, PSA_ALGORITHM__ALGORITHM__AEAD__AEAD_WITH_DEFAULT_LENGTH_TAG__CCM},
        {PSA_ALG_GCM, PSA_ALGORITHM__ALGORITHM__AEAD__AEAD_WITH_DEFAULT_LENGTH_TAG__GCM},
        {PSA_ALG_CHACHA20_POLY1305,
         PSA_ALGORITHM__ALGORITHM__AEAD__AEAD_WITH_DEFAULT_LENGTH_TAG__CHACHA20_POLY1305},
};

psa_status_t tpsa_aead_to_pb(psa_algorithm_t alg, PsaAlgorithm__Algorithm__Aead **ret,
                             struct pbarena *a)
{
	psa_algorithm_t base = PSA_ALG_AEAD_WITH_DEFAULT_LENGTH_TAG(alg);
	uint32_t tag = alg_length_field(alg);
	PsaAlgorithm__Algorithm__Aead__AeadWithDefaultLengthTag kind = 0;
	PsaAlgorithm__Algorithm__Aead *aead;

	if (!PSA_ALG_IS_AEAD(alg))
		return PSA_ERROR_INVALID_ARGUMENT;
	/* base is NONE for an unknown algorithm or one with a stray bit. */
	if ((alg & TPSA_ALG_AT_LEAST_FLAG_) != 0 || base == PSA_ALG_NONE || tag == 0)
		return PSA_ERROR_NOT_SUPPORTED;
	for (size_t i = 0; i < NELEM(aeads); i++) {
		if (aeads[i].psa == base)
			kind = aeads[i].pb;
	}
	if ((aead = NEW_MSG(a, psa_algorithm__algorithm__aead)) == NULL)
		return PSA_ERROR_INSUFFICIENT_MEMORY;
	if (alg == base) {
		aead->variant_case =
		        PSA_ALGORITHM__ALGORITHM__AEAD__VARIANT_AEAD_WITH_DEFAULT_LENGTH_TAG;
		aead->aead_with_default_length_tag = kind;
	} else {
		PsaAlgorithm__Algorithm__Aead__AeadWithShortenedTag *s;

		if ((s = NEW_MSG(a, psa_algorithm__algorithm__aead__aead_with_shortened_tag)) ==
		    NULL)
			return PSA_ERROR_INSUFFICIENT_MEMORY;
		s->aead_alg = kind;
		s->tag_length = tag;
		aead->variant_case =
		        PSA_ALGORITHM__ALGORITHM__AEAD__VARIANT_AEAD_WITH_SHORTENED_TAG;
		aead->aead_with_shortened_tag = s;
	}
	*ret = aead;
	return PSA_SUCCESS;
}

static psa_status_t aead_kind_from_pb(PsaAlgorithm__Algorithm__Aead__AeadWithDefaultLengthTag pb,
                                      psa_algorithm_t *ret)
{
	for (size_t i = 0; i < NELEM(aeads); i++) {
		if (aeads[i].pb == pb) {
			*ret = aeads[i].psa;
			return PSA_SUCCESS;
		}
	}
	return MALFORMED;
}

psa_status_t tpsa_aead_from_pb(const PsaAlgorithm__Algorithm__Aead *pb, psa_algorithm_t *ret)
{
	psa_algorithm_t base;
	psa_status_t status;

	if (pb == NULL)
		return MALFORMED;
	switch (pb->variant_case) {
	case PSA_ALGORITHM__ALGORITHM__AEAD__VARIANT_AEAD_WITH_DEFAULT_LENGTH_TAG:
		return aead_kind_from_pb(pb->aead_with_default_length_tag, ret);
	case PSA_ALGORITHM__ALGORITHM__AEAD__VARIANT_AEAD_WITH_SHORTENED_TAG:
		if (pb->aead_with_shortened_tag == NULL)
			return MALFORMED;
		status = aead_kind_from_pb(pb->aead_with_shortened_tag->aead_alg, &base);
		if (status != PSA_SUCCESS)
			return status;
		if (pb->aead_with_shortened_tag->tag_length == 0 ||
		    pb->aead_with_shortened_tag->tag_length > TPSA_ALG_LENGTH_MASK_)
			return PSA_ERROR_NOT_SUPPORTED;
		*ret = PSA_ALG_AEAD_WITH_SHORTENED_TAG(base,
		                                       pb->aead_with_shortened_tag->tag_length);
		return PSA_SUCCESS;
	default:
		return MALFORMED;
	}
}

/* ---- Asymmetric signature ---- */

/* The hash a signature is bound to: a specific one, or ANY_HASH (policies only). */
static psa_status_t sign_hash_to_pb(psa_algorithm_t alg,
                                    PsaAlgorithm__Algorithm__AsymmetricSignature__SignHash **ret,
                                    struct pbarena *a)
{
	PsaAlgorithm__Algorithm__AsymmetricSignature__SignHash *sh;
	psa_status_t status;

	if ((sh = NEW_MSG(a, psa_algorithm__algorithm__asymmetric_signature__sign_hash)) == NULL)
		return PSA_ERROR_INSUFFICIENT_MEMORY;
	if (PSA_ALG_GET_HASH(alg) == PSA_ALG_ANY_HASH) {
		sh->any =
		        NEW_MSG(a, psa_algorithm__algorithm__asymmetric_signature__sign_hash__any);
		if (sh->any == NULL)
			return PSA_ERROR_INSUFFICIENT_MEMORY;
		sh->variant_case =
		        PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_SIGNATURE__SIGN_HASH__VARIANT_ANY;
	} else {
		if ((status = inner_hash_to_pb(alg, &sh->specific)) != PSA_SUCCESS)
			return status;
		sh->variant_case =
		        PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_SIGNATURE__SIGN_HASH__VARIANT_SPECIFIC;
	}
	*ret = sh;
	return PSA_SUCCESS;
}

static psa_status_t
sign_hash_from_pb(const PsaAlgorithm__Algorithm__AsymmetricSignature__SignHash *pb,
                  psa_algorithm_t *ret)
{
	if (pb == NULL)
		return MALFORMED;
	switch (pb->variant_case) {
	case PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_SIGNATURE__SIGN_HASH__VARIANT_ANY:
		*ret = PSA_ALG_ANY_HASH;
		return PSA_SUCCESS;
	case PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_SIGNATURE__SIGN_HASH__VARIANT_SPECIFIC:
		return tpsa_hash_from_pb(pb->specific, ret);
	default:
		return MALFORMED;
	}
}

#define SIGN_(x) PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_SIGNATURE__VARIANT_##x

psa_status_t tpsa_sign_to_pb(psa_algorithm_t alg,
                             PsaAlgorithm__Algorithm__AsymmetricSignature **ret, struct pbarena *a)
{
	PsaAlgorithm__Algorithm__AsymmetricSignature__SignHash *sh = NULL;
	PsaAlgorithm__Algorithm__AsymmetricSignature *s;
	psa_status_t status;

	if (!PSA_ALG_IS_SIGN(alg))
		return PSA_ERROR_INVALID_ARGUMENT;
	if ((s = NEW_MSG(a, psa_algorithm__algorithm__asymmetric_signature)) == NULL)
		return PSA_ERROR_INSUFFICIENT_MEMORY;

	/* The two schemes without a hash first: their encodings have hash byte 0. */
	if (alg == PSA_ALG_RSA_PKCS1V15_SIGN_RAW) {
		s->rsa_pkcs1v15_sign_raw = NEW_MSG(
		        a, psa_algorithm__algorithm__asymmetric_signature__rsa_pkcs1v15_sign_raw);
		if (s->rsa_pkcs1v15_sign_raw == NULL)
			return PSA_ERROR_INSUFFICIENT_MEMORY;
		s->variant_case = SIGN_(RSA_PKCS1V15_SIGN_RAW);
		*ret = s;
		return PSA_SUCCESS;
	}
	if (alg == PSA_ALG_ECDSA_ANY) {
		s->ecdsa_any =
		        NEW_MSG(a, psa_algorithm__algorithm__asymmetric_signature__ecdsa_any);
		if (s->ecdsa_any == NULL)
			return PSA_ERROR_INSUFFICIENT_MEMORY;
		s->variant_case = SIGN_(ECDSA_ANY);
		*ret = s;
		return PSA_SUCCESS;
	}

	/* A builder applied to alg gives alg back only if alg is exactly that scheme. */
	if (alg != PSA_ALG_RSA_PKCS1V15_SIGN(alg) && alg != PSA_ALG_RSA_PSS(alg) &&
	    alg != PSA_ALG_ECDSA(alg) && alg != PSA_ALG_DETERMINISTIC_ECDSA(alg))
		return PSA_ERROR_NOT_SUPPORTED; /* PSS with any salt, EdDSA, unassigned */
	if ((status = sign_hash_to_pb(alg, &sh, a)) != PSA_SUCCESS)
		return status;

	if (alg == PSA_ALG_RSA_PKCS1V15_SIGN(alg)) {
		s->rsa_pkcs1v15_sign = NEW_MSG(
		        a, psa_algorithm__algorithm__asymmetric_signature__rsa_pkcs1v15_sign);
		if (s->rsa_pkcs1v15_sign == NULL)
			return PSA_ERROR_INSUFFICIENT_MEMORY;
		s->rsa_pkcs1v15_sign->hash_alg = sh;
		s->variant_case = SIGN_(RSA_PKCS1V15_SIGN);
	} else if (alg == PSA_ALG_RSA_PSS(alg)) {
		s->rsa_pss = NEW_MSG(a, psa_algorithm__algorithm__asymmetric_signature__rsa_pss);
		if (s->rsa_pss == NULL)
			return PSA_ERROR_INSUFFICIENT_MEMORY;
		s->rsa_pss->hash_alg = sh;
		s->variant_case = SIGN_(RSA_PSS);
	} else if (alg == PSA_ALG_ECDSA(alg)) {
		s->ecdsa = NEW_MSG(a, psa_algorithm__algorithm__asymmetric_signature__ecdsa);
		if (s->ecdsa == NULL)
			return PSA_ERROR_INSUFFICIENT_MEMORY;
		s->ecdsa->hash_alg = sh;
		s->variant_case = SIGN_(ECDSA);
	} else {
		s->deterministic_ecdsa = NEW_MSG(
		        a, psa_algorithm__algorithm__asymmetric_signature__deterministic_ecdsa);
		if (s->deterministic_ecdsa == NULL)
			return PSA_ERROR_INSUFFICIENT_MEMORY;
		s->deterministic_ecdsa->hash_alg = sh;
		s->variant_case = SIGN_(DETERMINISTIC_ECDSA);
	}
	*ret = s;
	return PSA_SUCCESS;
}

psa_status_t tpsa_sign_from_pb(const PsaAlgorithm__Algorithm__AsymmetricSignature *pb,
                               psa_algorithm_t *ret)
{
	psa_algorithm_t h;
	psa_status_t status;

	if (pb == NULL)
		return MALFORMED;
	switch (pb->variant_case) {
	case PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_SIGNATURE__VARIANT_RSA_PKCS1V15_SIGN_RAW:
		*ret = PSA_ALG_RSA_PKCS1V15_SIGN_RAW;
		return PSA_SUCCESS;
	case PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_SIGNATURE__VARIANT_ECDSA_ANY:
		*ret = PSA_ALG_ECDSA_ANY;
		return PSA_SUCCESS;
	case PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_SIGNATURE__VARIANT_RSA_PKCS1V15_SIGN:
		if (pb->rsa_pkcs1v15_sign == NULL)
			return MALFORMED;
		if ((status = sign_hash_from_pb(pb->rsa_pkcs1v15_sign->hash_alg, &h)) !=
		    PSA_SUCCESS)
			return status;
		*ret = PSA_ALG_RSA_PKCS1V15_SIGN(h);
		return PSA_SUCCESS;
	case PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_SIGNATURE__VARIANT_RSA_PSS:
		if (pb->rsa_pss == NULL)
			return MALFORMED;
		if ((status = sign_hash_from_pb(pb->rsa_pss->hash_alg, &h)) != PSA_SUCCESS)
			return status;
		*ret = PSA_ALG_RSA_PSS(h);
		return PSA_SUCCESS;
	case PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_SIGNATURE__VARIANT_ECDSA:
		if (pb->ecdsa == NULL)
			return MALFORMED;
		if ((status = sign_hash_from_pb(pb->ecdsa->hash_alg, &h)) != PSA_SUCCESS)
			return status;
		*ret = PSA_ALG_ECDSA(h);
		return PSA_SUCCESS;
	case PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_SIGNATURE__VARIANT_DETERMINISTIC_ECDSA:
		if (pb->deterministic_ecdsa == NULL)
			return MALFORMED;
		status = sign_hash_from_pb(pb->deterministic_ecdsa->hash_alg, &h);
		if (status != PSA_SUCCESS)
			return status;
		*ret = PSA_ALG_DETERMINISTIC_ECDSA(h);
		return PSA_SUCCESS;
	default:
		return MALFORMED;
	}
}

/* ---- Asymmetric encryption ---- */

psa_status_t tpsa_asym_enc_to_pb(psa_algorithm_t alg,
                                 PsaAlgorithm__Algorithm__AsymmetricEncryption **ret,
                                 struct pbarena *a)
{
	PsaAlgorithm__Algorithm__AsymmetricEncryption *e;
	psa_status_t status;

	if (!PSA_ALG_IS_ASYMMETRIC_ENCRYPTION(alg))
		return PSA_ERROR_INVALID_ARGUMENT;
	if ((e = NEW_MSG(a, psa_algorithm__algorithm__asymmetric_encryption)) == NULL)
		return PSA_ERROR_INSUFFICIENT_MEMORY;
	if (alg == PSA_ALG_RSA_PKCS1V15_CRYPT) {
		e->rsa_pkcs1v15_crypt = NEW_MSG(
		        a, psa_algorithm__algorithm__asymmetric_encryption__rsa_pkcs1v15_crypt);
		if (e->rsa_pkcs1v15_crypt == NULL)
			return PSA_ERROR_INSUFFICIENT_MEMORY;
		e->variant_case =
		        PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_ENCRYPTION__VARIANT_RSA_PKCS1V15_CRYPT;
	} else if (alg == PSA_ALG_RSA_OAEP(alg)) {
		PsaAlgorithm__Algorithm__AsymmetricEncryption__RsaOaep *o;

		o = NEW_MSG(a, psa_algorithm__algorithm__asymmetric_encryption__rsa_oaep);
		if (o == NULL)
			return PSA_ERROR_INSUFFICIENT_MEMORY;
		if ((status = inner_hash_to_pb(alg, &o->hash_alg)) != PSA_SUCCESS)
			return status;
		e->variant_case = PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_ENCRYPTION__VARIANT_RSA_OAEP;
		e->rsa_oaep = o;
	} else {
		return PSA_ERROR_NOT_SUPPORTED;
	}
	*ret = e;
	return PSA_SUCCESS;
}

psa_status_t tpsa_asym_enc_from_pb(const PsaAlgorithm__Algorithm__AsymmetricEncryption *pb,
                                   psa_algorithm_t *ret)
{
	psa_algorithm_t h;
	psa_status_t status;

	if (pb == NULL)
		return MALFORMED;
	switch (pb->variant_case) {
	case PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_ENCRYPTION__VARIANT_RSA_PKCS1V15_CRYPT:
		*ret = PSA_ALG_RSA_PKCS1V15_CRYPT;
		return PSA_SUCCESS;
	case PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_ENCRYPTION__VARIANT_RSA_OAEP:
		if (pb->rsa_oaep == NULL)
			return MALFORMED;
		if ((status = tpsa_hash_from_pb(pb->rsa_oaep->hash_alg, &h)) != PSA_SUCCESS)
			return status;
		*ret = PSA_ALG_RSA_OAEP(h);
		return PSA_SUCCESS;
	default:
		return MALFORMED;
	}
}

/* ---- Key derivation ---- */

#define KDF_(x) PSA_ALGORITHM__ALGORITHM__KEY_DERIVATION__VARIANT_##x

psa_status_t tpsa_kdf_to_pb(psa_algorithm_t alg, PsaAlgorithm__Algorithm__KeyDerivation **ret,
                            struct pbarena *a)
{
	PsaAlgorithm__Algorithm__KeyDerivation *k;
	PsaAlgorithm__Algorithm__Hash hash;
	psa_status_t status;

	if (!PSA_ALG_IS_KEY_DERIVATION(alg))
		return PSA_ERROR_INVALID_ARGUMENT;
	if (alg != PSA_ALG_HKDF(alg) && alg != PSA_ALG_TLS12_PRF(alg) &&
	    alg != PSA_ALG_TLS12_PSK_TO_MS(alg))
		return PSA_ERROR_NOT_SUPPORTED; /* HKDF-Extract/-Expand, PBKDF2, unassigned */
	if ((status = inner_hash_to_pb(alg, &hash)) != PSA_SUCCESS)
		return status;
	if ((k = NEW_MSG(a, psa_algorithm__algorithm__key_derivation)) == NULL)
		return PSA_ERROR_INSUFFICIENT_MEMORY;

	if (alg == PSA_ALG_HKDF(alg)) {
		if ((k->hkdf = NEW_MSG(a, psa_algorithm__algorithm__key_derivation__hkdf)) == NULL)
			return PSA_ERROR_INSUFFICIENT_MEMORY;
		k->hkdf->hash_alg = hash;
		k->variant_case = KDF_(HKDF);
	} else if (alg == PSA_ALG_TLS12_PRF(alg)) {
		k->tls12_prf = NEW_MSG(a, psa_algorithm__algorithm__key_derivation__tls12_prf);
		if (k->tls12_prf == NULL)
			return PSA_ERROR_INSUFFICIENT_MEMORY;
		k->tls12_prf->hash_alg = hash;
		k->variant_case = KDF_(TLS12_PRF);
	} else {
		k->tls12_psk_to_ms =
		        NEW_MSG(a, psa_algorithm__algorithm__key_derivation__tls12_psk_to_ms);
		if (k->tls12_psk_to_ms == NULL)
			return PSA_ERROR_INSUFFICIENT_MEMORY;
		k->tls12_psk_to_ms->hash_alg = hash;
		k->variant_case = KDF_(TLS12_PSK_TO_MS);
	}
	*ret = k;
	return PSA_SUCCESS;
}

psa_status_t tpsa_kdf_from_pb(const PsaAlgorithm__Algorithm__KeyDerivation *pb,
                              psa_algorithm_t *ret)
{
	psa_algorithm_t h;
	psa_status_t status;

	if (pb == NULL)
		return MALFORMED;
	switch (pb->variant_case) {
	case PSA_ALGORITHM__ALGORITHM__KEY_DERIVATION__VARIANT_HKDF:
		if (pb->hkdf == NULL)
			return MALFORMED;
		if ((status = tpsa_hash_from_pb(pb->hkdf->hash_alg, &h)) != PSA_SUCCESS)
			return status;
		*ret = PSA_ALG_HKDF(h);
		return PSA_SUCCESS;
	case PSA_ALGORITHM__ALGORITHM__KEY_DERIVATION__VARIANT_TLS12_PRF:
		if (pb->tls12_prf == NULL)
			return MALFORMED;
		if ((status = tpsa_hash_from_pb(pb->tls12_prf->hash_alg, &h)) != PSA_SUCCESS)
			return status;
		*ret = PSA_ALG_TLS12_PRF(h);
		return PSA_SUCCESS;
	case PSA_ALGORITHM__ALGORITHM__KEY_DERIVATION__VARIANT_TLS12_PSK_TO_MS:
		if (pb->tls12_psk_to_ms == NULL)
			return MALFORMED;
		if ((status = tpsa_hash_from_pb(pb->tls12_psk_to_ms->hash_alg, &h)) != PSA_SUCCESS)
			return status;
		*ret = PSA_ALG_TLS12_PSK_TO_MS(h);
		return PSA_SUCCESS;
	default:
		return MALFORMED;
	}
}

/* ---- Key agreement ---- */

psa_status_t tpsa_raw_ka_to_pb(psa_algorithm_t alg, PsaAlgorithm__Algorithm__KeyAgreement__Raw *ret)
{
	if (!PSA_ALG_IS_KEY_AGREEMENT(alg) || !PSA_ALG_IS_RAW_KEY_AGREEMENT(alg))
		return PSA_ERROR_INVALID_ARGUMENT;
	if (alg == PSA_ALG_FFDH)
		*ret = PSA_ALGORITHM__ALGORITHM__KEY_AGREEMENT__RAW__FFDH;
	else if (alg == PSA_ALG_ECDH)
		*ret = PSA_ALGORITHM__ALGORITHM__KEY_AGREEMENT__RAW__ECDH;
	else
		return PSA_ERROR_NOT_SUPPORTED;
	return PSA_SUCCESS;
}

psa_status_t tpsa_raw_ka_from_pb(PsaAlgorithm__Algorithm__KeyAgreement__Raw pb,
                                 psa_algorithm_t *ret)
{
	switch (pb) {
	case PSA_ALGORITHM__ALGORITHM__KEY_AGREEMENT__RAW__FFDH:
		*ret = PSA_ALG_FFDH;
		return PSA_SUCCESS;
	case PSA_ALGORITHM__ALGORITHM__KEY_AGREEMENT__RAW__ECDH:
		*ret = PSA_ALG_ECDH;
		return PSA_SUCCESS;
	default:
		return MALFORMED;
	}
}

psa_status_t tpsa_ka_to_pb(psa_algorithm_t alg, PsaAlgorithm__Algorithm__KeyAgreement **ret,
                           struct pbarena *a)
{
	psa_algorithm_t base = PSA_ALG_KEY_AGREEMENT_GET_BASE(alg);
	PsaAlgorithm__Algorithm__KeyAgreement__WithKeyDerivation *w;
	PsaAlgorithm__Algorithm__KeyAgreement *ka;
	PsaAlgorithm__Algorithm__KeyAgreement__Raw raw;
	psa_status_t status;

	if (!PSA_ALG_IS_KEY_AGREEMENT(alg))
		return PSA_ERROR_INVALID_ARGUMENT;
	if ((status = tpsa_raw_ka_to_pb(base, &raw)) != PSA_SUCCESS)
		return PSA_ERROR_NOT_SUPPORTED;
	if ((ka = NEW_MSG(a, psa_algorithm__algorithm__key_agreement)) == NULL)
		return PSA_ERROR_INSUFFICIENT_MEMORY;
	if (alg == base) {
		ka->variant_case = PSA_ALGORITHM__ALGORITHM__KEY_AGREEMENT__VARIANT_RAW;
		ka->raw = raw;
	} else {
		w = NEW_MSG(a, psa_algorithm__algorithm__key_agreement__with_key_derivation);
		if (w == NULL)
			return PSA_ERROR_INSUFFICIENT_MEMORY;
		w->ka_alg = raw;
		status = tpsa_kdf_to_pb(PSA_ALG_KEY_AGREEMENT_GET_KDF(alg), &w->kdf_alg, a);
		if (status != PSA_SUCCESS)
			return status == PSA_ERROR_INVALID_ARGUMENT ? PSA_ERROR_NOT_SUPPORTED
			                                            : status;
		ka->variant_case =
		        PSA_ALGORITHM__ALGORITHM__KEY_AGREEMENT__VARIANT_WITH_KEY_DERIVATION;
		ka->with_key_derivation = w;
	}
	*ret = ka;
	return PSA_SUCCESS;
}

psa_status_t tpsa_ka_from_pb(const PsaAlgorithm__Algorithm__KeyAgreement *pb, psa_algorithm_t *ret)
{
	psa_algorithm_t base, kdf;
	psa_status_t status;

	if (pb == NULL)
		return MALFORMED;
	switch (pb->variant_case) {
	case PSA_ALGORITHM__ALGORITHM__KEY_AGREEMENT__VARIANT_RAW:
		return tpsa_raw_ka_from_pb(pb->raw, ret);
	case PSA_ALGORITHM__ALGORITHM__KEY_AGREEMENT__VARIANT_WITH_KEY_DERIVATION:
		if (pb->with_key_derivation == NULL)
			return MALFORMED;
		if ((status = tpsa_raw_ka_from_pb(pb->with_key_derivation->ka_alg, &base)) !=
		    PSA_SUCCESS)
			return status;
		if ((status = tpsa_kdf_from_pb(pb->with_key_derivation->kdf_alg, &kdf)) !=
		    PSA_SUCCESS)
			return status;
		*ret = PSA_ALG_KEY_AGREEMENT(base, kdf);
		return PSA_SUCCESS;
	default:
		return MALFORMED;
	}
}

/* ---- Any algorithm ---- */

psa_status_t tpsa_alg_to_pb(psa_algorithm_t alg, PsaAlgorithm__Algorithm **ret, struct pbarena *a)
{
	PsaAlgorithm__Algorithm *m;
	psa_status_t status;

	if ((m = NEW_MSG(a, psa_algorithm__algorithm)) == NULL)
		return PSA_ERROR_INSUFFICIENT_MEMORY;
	if (alg == PSA_ALG_NONE) {
		if ((m->none = NEW_MSG(a, psa_algorithm__algorithm__none)) == NULL)
			return PSA_ERROR_INSUFFICIENT_MEMORY;
		m->variant_case = PSA_ALGORITHM__ALGORITHM__VARIANT_NONE;
		status = PSA_SUCCESS;
	} else if (PSA_ALG_IS_HASH(alg)) {
		m->variant_case = PSA_ALGORITHM__ALGORITHM__VARIANT_HASH;
		status = tpsa_hash_to_pb(alg, &m->hash);
	} else if (PSA_ALG_IS_MAC(alg)) {
		m->variant_case = PSA_ALGORITHM__ALGORITHM__VARIANT_MAC;
		status = tpsa_mac_to_pb(alg, &m->mac, a);
	} else if (PSA_ALG_IS_CIPHER(alg)) {
		m->variant_case = PSA_ALGORITHM__ALGORITHM__VARIANT_CIPHER;
		status = tpsa_cipher_to_pb(alg, &m->cipher);
	} else if (PSA_ALG_IS_AEAD(alg)) {
		m->variant_case = PSA_ALGORITHM__ALGORITHM__VARIANT_AEAD;
		status = tpsa_aead_to_pb(alg, &m->aead, a);
	} else if (PSA_ALG_IS_SIGN(alg)) {
		m->variant_case = PSA_ALGORITHM__ALGORITHM__VARIANT_ASYMMETRIC_SIGNATURE;
		status = tpsa_sign_to_pb(alg, &m->asymmetric_signature, a);
	} else if (PSA_ALG_IS_ASYMMETRIC_ENCRYPTION(alg)) {
		m->variant_case = PSA_ALGORITHM__ALGORITHM__VARIANT_ASYMMETRIC_ENCRYPTION;
		status = tpsa_asym_enc_to_pb(alg, &m->asymmetric_encryption, a);
	} else if (PSA_ALG_IS_KEY_AGREEMENT(alg)) {
		m->variant_case = PSA_ALGORITHM__ALGORITHM__VARIANT_KEY_AGREEMENT;
		status = tpsa_ka_to_pb(alg, &m->key_agreement, a);
	} else if (PSA_ALG_IS_KEY_DERIVATION(alg)) {
		m->variant_case = PSA_ALGORITHM__ALGORITHM__VARIANT_KEY_DERIVATION;
		status = tpsa_kdf_to_pb(alg, &m->key_derivation, a);
	} else {
		status = PSA_ERROR_NOT_SUPPORTED; /* no such category (or a vendor algorithm) */
	}
	if (status != PSA_SUCCESS)
		return status;
	*ret = m;
	return PSA_SUCCESS;
}

psa_status_t tpsa_alg_from_pb(const PsaAlgorithm__Algorithm *pb, psa_algorithm_t *ret)
{
	if (pb == NULL)
		return MALFORMED;
	switch (pb->variant_case) {
	case PSA_ALGORITHM__ALGORITHM__VARIANT_NONE:
		*ret = PSA_ALG_NONE;
		return PSA_SUCCESS;
	case PSA_ALGORITHM__ALGORITHM__VARIANT_HASH:
		return tpsa_hash_from_pb(pb->hash, ret);
	case PSA_ALGORITHM__ALGORITHM__VARIANT_MAC:
		return tpsa_mac_from_pb(pb->mac, ret);
	case PSA_ALGORITHM__ALGORITHM__VARIANT_CIPHER:
		return tpsa_cipher_from_pb(pb->cipher, ret);
	case PSA_ALGORITHM__ALGORITHM__VARIANT_AEAD:
		return tpsa_aead_from_pb(pb->aead, ret);
	case PSA_ALGORITHM__ALGORITHM__VARIANT_ASYMMETRIC_SIGNATURE:
		return tpsa_sign_from_pb(pb->asymmetric_signature, ret);
	case PSA_ALGORITHM__ALGORITHM__VARIANT_ASYMMETRIC_ENCRYPTION:
		return tpsa_asym_enc_from_pb(pb->asymmetric_encryption, ret);
	case PSA_ALGORITHM__ALGORITHM__VARIANT_KEY_AGREEMENT:
		return tpsa_ka_from_pb(pb->key_agreement, ret);
	case PSA_ALGORITHM__ALGORITHM__VARIANT_KEY_DERIVATION:
		return tpsa_kdf_from_pb(pb->key_derivation, ret);
	default:
		return MALFORMED;
	}
}

/*
 * What psa_key_derivation_setup() takes: a key derivation, or a key
 * agreement followed by one, as a whole Algorithm.
 */
psa_status_t tpsa_kdf_setup_to_pb(psa_algorithm_t alg, PsaAlgorithm__Algorithm **ret,
                                  struct pbarena *a)
{
	if (!PSA_ALG_IS_KEY_DERIVATION(alg) &&
	    !(PSA_ALG_IS_KEY_AGREEMENT(alg) && !PSA_ALG_IS_RAW_KEY_AGREEMENT(alg)))
		return PSA_ERROR_INVALID_ARGUMENT;
	return tpsa_alg_to_pb(alg, ret, a);
}
