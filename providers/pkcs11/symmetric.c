/*
 * PKCS#11 secret keys and what uses them: AES keys for AES-GCM (CKM_AES_GCM,
 * the output ciphertext || tag as PSA defines), HMAC keys as generic secrets
 * for CKM_SHA*_HMAC, and raw ECDH (CKM_ECDH1_DERIVE with no KDF: the shared
 * secret is derived into a session object, read, and destroyed).
 */
#include "providers/pkcs11/pkcs11-priv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/secmem.h"

static CK_MECHANISM_TYPE hmac_mech(unsigned hash)
{
	switch (hash) {
	case PROV_HASH_SHA_1:
		return CKM_SHA_1_HMAC;
	case PROV_HASH_SHA_224:
		return CKM_SHA224_HMAC;
	case PROV_HASH_SHA_256:
		return CKM_SHA256_HMAC;
	case PROV_HASH_SHA_384:
		return CKM_SHA384_HMAC;
	case PROV_HASH_SHA_512:
		return CKM_SHA512_HMAC;
	default:
		return CK_UNAVAILABLE_INFORMATION;
	}
}

bool p11_secret_mech(const struct psa_alg *alg, CK_MECHANISM_TYPE *ret)
{
	if (alg->cls == PSA_AC_AEAD && alg->kind == PSA_AEAD_GCM) {
		*ret = CKM_AES_GCM;
		return true;
	}
	if (alg->cls == PSA_AC_MAC && alg->kind == PSA_MAC_HMAC) {
		*ret = hmac_mech(alg->hash);
		return *ret != CK_UNAVAILABLE_INFORMATION;
	}
	return false;
}

enum ts_err p11_aead(void *ctx, const struct prov_key *k, const struct psa_alg *alg, bool encrypt,
                     const uint8_t *nonce, size_t nonce_len, const uint8_t *ad, size_t ad_len,
                     const uint8_t *in, size_t in_len, uint8_t **ret, size_t *ret_len)
{
	struct p11 *p = ctx;
	size_t tag = alg->length != 0 ? alg->length : 16, size;
	CK_GCM_PARAMS gp;
	CK_MECHANISM m = {CKM_AES_GCM, &gp, sizeof(gp)};
	CK_SESSION_HANDLE s;
	CK_OBJECT_HANDLE o;
	CK_ULONG n;
	uint8_t *out;
	enum ts_err err;
	CK_RV rv;

	if (k->attrs->type != PSA_KT_AES || alg->kind != PSA_AEAD_GCM)
		return TS_E_PSA_NOT_SUPPORTED;
	if (!psa_aead_tag_length_valid(PSA_AEAD_GCM, tag))
		return TS_E_PSA_INVALID_ARGUMENT;
	if (nonce_len == 0 || nonce_len > 256)
		return TS_E_PSA_NOT_SUPPORTED;
	if (!encrypt && in_len < tag)
		return TS_E_PSA_INVALID_SIGNATURE;
	size = encrypt ? in_len + tag : in_len - tag;
	gp = (CK_GCM_PARAMS){.pIv = (CK_BYTE_PTR)nonce,
	                     .ulIvLen = (CK_ULONG)nonce_len,
	                     .ulIvBits = (CK_ULONG)nonce_len * 8,
	                     .pAAD = (CK_BYTE_PTR)ad,
	                     .ulAADLen = (CK_ULONG)ad_len,
	                     .ulTagBits = (CK_ULONG)tag * 8};
	/* Room for what a token may write before it checks the tag. */
	out = malloc(in_len + tag + 1);
	if (out == NULL)
		return TS_E_NOMEM;
	n = (CK_ULONG)(in_len + tag + 1);
	s = p11_session_get(p);
	err = p11_find(p, s, k, CKO_SECRET_KEY, &o);
	if (err == TS_OK) {
		if (encrypt) {
			rv = p->f->C_EncryptInit(s, &m, o);
			if (rv == CKR_OK)
				rv = p->f->C_Encrypt(s, (CK_BYTE_PTR)in, (CK_ULONG)in_len, out, &n);
			err = p11_status(rv);
		} else {
			rv = p->f->C_DecryptInit(s, &m, o);
			err = p11_status(rv);
			if (rv == CKR_OK) {
				rv = p->f->C_Decrypt(s, (CK_BYTE_PTR)in, (CK_ULONG)in_len, out, &n);
				err = p11_status(rv);
				/* The tag does not verify: the standard says
				 * CKR_ENCRYPTED_DATA_INVALID, SoftHSM 2.6 says
				 * CKR_GENERAL_ERROR. */
				if (rv == CKR_ENCRYPTED_DATA_INVALID ||
				    rv == CKR_ENCRYPTED_DATA_LEN_RANGE || rv == CKR_GENERAL_ERROR ||
				    rv == CKR_FUNCTION_FAILED)
					err = TS_E_PSA_INVALID_SIGNATURE;
			}
		}
	}
	p11_session_put(p, s, err);
	if (err == TS_OK && n != size)
		err = TS_E_PSA_COMMUNICATION_FAILURE;
	if (err != TS_OK) {
		ts_free_secret(out, in_len + tag + 1);
		return err;
	}
	*ret = out;
	*ret_len = n;
	return TS_OK;
}

enum ts_err p11_mac(void *ctx, const struct prov_key *k, const struct psa_alg *alg,
                    const uint8_t *in, size_t in_len, uint8_t **ret, size_t *ret_len)
{
	struct p11 *p = ctx;
	CK_MECHANISM m = {0, NULL, 0};
	uint8_t *out;
	CK_ULONG n = PROV_HASH_MAX_SIZE;
	CK_SESSION_HANDLE s;
	CK_OBJECT_HANDLE o;
	enum ts_err err;

	if (k->attrs->type != PSA_KT_HMAC || alg->kind != PSA_MAC_HMAC ||
	    !p11_secret_mech(alg, &m.mechanism))
		return TS_E_PSA_NOT_SUPPORTED;
	out = malloc(PROV_HASH_MAX_SIZE);
	if (out == NULL)
		return TS_E_NOMEM;
	s = p11_session_get(p);
	err = p11_find(p, s, k, CKO_SECRET_KEY, &o);
	if (err == TS_OK) {
		CK_RV rv = p->f->C_SignInit(s, &m, o);

		if (rv == CKR_OK)
			rv = p->f->C_Sign(s, (CK_BYTE_PTR)in, (CK_ULONG)in_len, out, &n);
		err = p11_status(rv);
	}
	p11_session_put(p, s, err);
	if (err == TS_OK && n != psa_hash_size(alg->hash))
		err = TS_E_PSA_COMMUNICATION_FAILURE;
	if (err != TS_OK) {
		ts_free_secret(out, PROV_HASH_MAX_SIZE);
		return err;
	}
	/* A truncated MAC is the full one's prefix. */
	*ret = out;
	*ret_len = alg->length != 0 && alg->length < n ? alg->length : n;
	return TS_OK;
}

enum ts_err p11_key_agreement(void *ctx, const struct prov_key *k, const struct psa_alg *alg,
                              const uint8_t *peer, size_t peer_len, uint8_t **ret, size_t *ret_len)
{
	struct p11 *p = ctx;
	const struct psa_attrs *a = k->attrs;
	size_t size = (a->bits + 7) / 8;
	CK_ECDH1_DERIVE_PARAMS ep = {.kdf = CKD_NULL,
	                             .pPublicData = (CK_BYTE_PTR)peer,
	                             .ulPublicDataLen = (CK_ULONG)peer_len};
	CK_MECHANISM m = {CKM_ECDH1_DERIVE, &ep, sizeof(ep)};
	CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
	CK_KEY_TYPE kt = CKK_GENERIC_SECRET;
	CK_ULONG vlen = (CK_ULONG)size;
	CK_BBOOL f = CK_FALSE, t = CK_TRUE;
	CK_ATTRIBUTE tmpl[] = {
	        {CKA_CLASS, &cls, sizeof(cls)},   {CKA_KEY_TYPE, &kt, sizeof(kt)},
	        {CKA_TOKEN, &f, sizeof(f)},       {CKA_SENSITIVE, &f, sizeof(f)},
	        {CKA_EXTRACTABLE, &t, sizeof(t)}, {CKA_VALUE_LEN, &vlen, sizeof(vlen)},
	};
	CK_SESSION_HANDLE s;
	CK_OBJECT_HANDLE o, secret = CK_INVALID_HANDLE;
	uint8_t *v = NULL;
	size_t vl = 0;
	enum ts_err err;

	if (alg->kind != PSA_KA_ECDH || alg->kdf != 0 || a->type != PSA_KT_ECC_PAIR ||
	    a->family != PSA_ECC_SECP_R1)
		return TS_E_PSA_NOT_SUPPORTED;
	if (!p11_ec_point_valid(a->bits, peer, peer_len))
		return TS_E_PSA_INVALID_ARGUMENT;
	s = p11_session_get(p);
	err = p11_find(p, s, k, CKO_PRIVATE_KEY, &o);
	if (err == TS_OK)
		err = p11_status(p->f->C_DeriveKey(s, &m, o, tmpl, 6, &secret));
	if (err == TS_OK)
		err = p11_get_attr(p, s, secret, CKA_VALUE, &v, &vl);
	if (secret != CK_INVALID_HANDLE)
		(void)p->f->C_DestroyObject(s, secret);
	p11_session_put(p, s, err);
	if (err == TS_OK && vl != size) {
		ts_free_secret(v, vl);
		err = TS_E_PSA_COMMUNICATION_FAILURE;
	}
	if (err != TS_OK)
		return err;
	*ret = v;
	*ret_len = vl;
	return TS_OK;
}
