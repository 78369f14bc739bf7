/*
 * PKCS#11 RSA encryption (PKCS#1 v1.5 and OAEP) and what the token can do.
 *
 * OAEP: tokens list CKM_RSA_PKCS_OAEP but need not do every hash or a
 * label (SoftHSM 2.6 does SHA-1 without a label only, and refuses the rest
 * with CKR_ARGUMENTS_BAD). A start-up probe on a session key finds out; a
 * combination the token refuses is NotSupported, never a result computed
 * some other way.
 */
#include "providers/pkcs11/pkcs11-priv.h"

#include <stdlib.h>
#include <string.h>

#include "common/secmem.h"
#include "providers/software/software-priv.h"

struct enc_job {
	CK_MECHANISM m;
	CK_RSA_PKCS_OAEP_PARAMS oaep;
};

static enum ts_err prepare(struct p11 *p, const struct psa_alg *alg, const uint8_t *label,
                           size_t label_len, struct enc_job *j)
{
	memset(j, 0, sizeof(*j));
	if (alg->kind == PSA_ENC_RSA_PKCS1V15) {
		if (label_len > 0)
			return TS_E_PSA_INVALID_ARGUMENT; /* PKCS#1 v1.5 has no label */
		j->m.mechanism = CKM_RSA_PKCS;
		return TS_OK;
	}
	if (alg->kind != PSA_ENC_RSA_OAEP ||
	    !p11_hash_mech(alg->hash, &j->oaep.hashAlg, &j->oaep.mgf))
		return TS_E_PSA_NOT_SUPPORTED;
	if ((alg->hash != PROV_HASH_SHA_1 && !p->oaep_any_hash) ||
	    (label_len > 0 && !p->oaep_label))
		return TS_E_PSA_NOT_SUPPORTED;
	j->oaep.source = CKZ_DATA_SPECIFIED;
	j->oaep.pSourceData = label_len > 0 ? (void *)label : NULL;
	j->oaep.ulSourceDataLen = (CK_ULONG)label_len;
	j->m.mechanism = CKM_RSA_PKCS_OAEP;
	j->m.pParameter = &j->oaep;
	j->m.ulParameterLen = sizeof(j->oaep);
	return TS_OK;
}

static enum ts_err encrypt_in_software(struct p11 *p, const struct prov_key *k,
                                       const struct psa_alg *alg, const uint8_t *in, size_t in_len,
                                       const uint8_t *label, size_t label_len, uint8_t **ret,
                                       size_t *ret_len)
{
	struct psa_attrs pub = *k->attrs;
	CK_SESSION_HANDLE s = p11_session_get(p);
	uint8_t *der = NULL;
	size_t der_len = 0;
	enum ts_err err = p11_public_of(p, s, k, &der, &der_len);

	p11_session_put(p, s, err);
	if (err != TS_OK)
		return err;
	pub.type = PSA_KT_RSA_PUBLIC;
	err = sw_asym_crypt(NULL, &pub, der, der_len, alg, true, in, in_len, label, label_len, ret,
	                    ret_len);
	free(der);
	return err;
}

enum ts_err p11_asym_crypt(void *ctx, const struct prov_key *k, const struct psa_alg *alg,
                           bool encrypt, const uint8_t *in, size_t in_len, const uint8_t *label,
                           size_t label_len, uint8_t **ret, size_t *ret_len)
{
	struct p11 *p = ctx;
	const struct psa_attrs *a = k->attrs;
	struct enc_job j;
	size_t size = (a->bits + 7) / 8;
	CK_ULONG n = (CK_ULONG)size;
	CK_SESSION_HANDLE s;
	CK_OBJECT_HANDLE o;
	uint8_t *out;
	enum ts_err err;
	CK_RV rv = CKR_OK;

	if (a->type != PSA_KT_RSA_PAIR && (a->type != PSA_KT_RSA_PUBLIC || !encrypt))
		return TS_E_PSA_INVALID_ARGUMENT;
	err = prepare(p, alg, label, label_len, &j);
	if (err != TS_OK)
		return err;
	if (encrypt && p->sw_public)
		return encrypt_in_software(p, k, alg, in, in_len, label, label_len, ret, ret_len);
	if (!encrypt && in_len != size)
		return TS_E_PSA_INVALID_ARGUMENT;
	out = malloc(size);
	if (out == NULL)
		return TS_E_NOMEM;
	s = p11_session_get(p);
	err = p11_find(p, s, k, encrypt ? CKO_PUBLIC_KEY : CKO_PRIVATE_KEY, &o);
	if (err == TS_OK) {
		if (encrypt) {
			rv = p->f->C_EncryptInit(s, &j.m, o);
			if (rv == CKR_OK)
				rv = p->f->C_Encrypt(s, (CK_BYTE_PTR)in, (CK_ULONG)in_len, out, &n);
		} else {
			rv = p->f->C_DecryptInit(s, &j.m, o);
			if (rv == CKR_OK)
				rv = p->f->C_Decrypt(s, (CK_BYTE_PTR)in, (CK_ULONG)in_len, out, &n);
		}
		err = p11_status(rv);
		/* Plaintext too long for the key and padding. */
		if (encrypt && (rv == CKR_DATA_LEN_RANGE || rv == CKR_DATA_INVALID))
			err = TS_E_PSA_INVALID_ARGUMENT;
	}
	p11_session_put(p, s, err);
	/* A ciphertext that does not decrypt says nothing more than that
	 * (SoftHSM: CKR_ENCRYPTED_DATA_INVALID, or CKR_GENERAL_ERROR). */
	if (!encrypt && (err == TS_E_PSA_INVALID_ARGUMENT || rv == CKR_GENERAL_ERROR ||
	                 rv == CKR_FUNCTION_FAILED))
		err = TS_E_PSA_INVALID_PADDING;
	if (err != TS_OK || n > size) {
		ts_free_secret(out, size);
		return err != TS_OK ? err : TS_E_PSA_COMMUNICATION_FAILURE;
	}
	*ret = out;
	*ret_len = n;
	return TS_OK;
}

/* Does EncryptInit take these OAEP parameters on this RSA public key? */
static bool oaep_takes(struct p11 *p, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE pub,
                       CK_MECHANISM_TYPE hash, CK_RSA_PKCS_MGF_TYPE mgf, bool label)
{
	static uint8_t l[] = "probe";
	static uint8_t msg[] = "x";
	uint8_t out[128];
	CK_ULONG n = sizeof(out);
	CK_RSA_PKCS_OAEP_PARAMS op = {hash, mgf, CKZ_DATA_SPECIFIED, label ? l : NULL,
	                              label ? sizeof(l) - 1 : 0};
	CK_MECHANISM m = {CKM_RSA_PKCS_OAEP, &op, sizeof(op)};

	if (p->f->C_EncryptInit(s, &m, pub) != CKR_OK)
		return false;
	/* Finish the operation either way, so the session is free again. */
	return p->f->C_Encrypt(s, msg, 1, out, &n) == CKR_OK;
}

void p11_probe_oaep(struct p11 *p)
{
	static const uint8_t e65537[] = {0x01, 0x00, 0x01};
	CK_ULONG bits = 1024;
	CK_BBOOL f = CK_FALSE, t = CK_TRUE;
	CK_ATTRIBUTE pub_t[] = {
	        {CKA_TOKEN, &f, sizeof(f)},
	        {CKA_ENCRYPT, &t, sizeof(t)},
	        {CKA_MODULUS_BITS, &bits, sizeof(bits)},
	        {CKA_PUBLIC_EXPONENT, (void *)e65537, sizeof(e65537)},
	};
	CK_ATTRIBUTE priv_t[] = {
	        {CKA_TOKEN, &f, sizeof(f)},
	        {CKA_PRIVATE, &f, sizeof(f)},
	        {CKA_DECRYPT, &t, sizeof(t)},
	};
	CK_MECHANISM gen = {CKM_RSA_PKCS_KEY_PAIR_GEN, NULL, 0};
	CK_OBJECT_HANDLE pub, priv;
	CK_SESSION_HANDLE s;

	p->oaep_any_hash = false;
	p->oaep_label = false;
	if (!p11_has_mech(p, CKM_RSA_PKCS_OAEP, NULL) ||
	    !p11_has_mech(p, CKM_RSA_PKCS_KEY_PAIR_GEN, NULL))
		return;
	s = p11_session_get(p);
	if (p->f->C_GenerateKeyPair(s, &gen, pub_t, 4, priv_t, 3, &pub, &priv) == CKR_OK) {
		p->oaep_any_hash = oaep_takes(p, s, pub, CKM_SHA256, CKG_MGF1_SHA256, false) &&
		                   oaep_takes(p, s, pub, CKM_SHA512, CKG_MGF1_SHA512, false);
		p->oaep_label = oaep_takes(p, s, pub, CKM_SHA_1, CKG_MGF1_SHA1, true);
		(void)p->f->C_DestroyObject(s, pub);
		(void)p->f->C_DestroyObject(s, priv);
	}
	p11_session_put(p, s, TS_OK);
}

/* ---- CanDoCrypto, from the token's mechanism list ---- */

static bool bits_in(const struct p11 *p, CK_MECHANISM_TYPE m, uint32_t bits)
{
	CK_MECHANISM_INFO mi;

	if (!p11_has_mech(p, m, &mi))
		return false;
	/* In bits for RSA and EC keys (bytes only for secret keys). */
	return bits == 0 || (bits >= mi.ulMinKeySize && bits <= mi.ulMaxKeySize);
}

static bool alg_ok(struct p11 *p, const struct psa_attrs *a)
{
	const struct psa_alg *alg = &a->alg;
	bool rsa = a->type == PSA_KT_RSA_PAIR || a->type == PSA_KT_RSA_PUBLIC;
	bool hash_ok = alg->hash == 0 || p11_hash_mech(alg->hash, NULL, NULL);

	switch (alg->cls) {
	case PSA_AC_NONE:
		return true;
	case PSA_AC_SIGN:
		if (!hash_ok)
			return false;
		switch (alg->kind) {
		case PSA_SIGN_ECDSA:
		case PSA_SIGN_ECDSA_ANY:
			return !rsa && p11_has_mech(p, CKM_ECDSA, NULL);
		case PSA_SIGN_RSA_PKCS1V15:
		case PSA_SIGN_RSA_PKCS1V15_RAW:
			return rsa && p11_has_mech(p, CKM_RSA_PKCS, NULL);
		case PSA_SIGN_RSA_PSS:
			return rsa && p11_has_mech(p, CKM_RSA_PKCS_PSS, NULL);
		default:
			return false;
		}
	case PSA_AC_AEAD:
	case PSA_AC_MAC: {
		CK_MECHANISM_TYPE m;

		return hash_ok && p11_secret_mech(alg, &m) && p11_has_mech(p, m, NULL) &&
		       (alg->cls == PSA_AC_AEAD) == (a->type == PSA_KT_AES);
	}
	case PSA_AC_KEY_AGREEMENT:
		return !rsa && alg->kind == PSA_KA_ECDH && alg->kdf == 0 &&
		       p11_has_mech(p, CKM_ECDH1_DERIVE, NULL);
	case PSA_AC_ASYM_ENC:
		if (!rsa || !hash_ok)
			return false;
		if (alg->kind == PSA_ENC_RSA_PKCS1V15)
			return p11_has_mech(p, CKM_RSA_PKCS, NULL);
		return alg->kind == PSA_ENC_RSA_OAEP && p11_has_mech(p, CKM_RSA_PKCS_OAEP, NULL) &&
		       (alg->hash == PROV_HASH_SHA_1 || p->oaep_any_hash);
	default:
		return false;
	}
}

enum ts_err p11_can_do(void *ctx, const struct psa_attrs *a, int check)
{
	struct p11 *p = ctx;
	bool pair = a->type == PSA_KT_RSA_PAIR || a->type == PSA_KT_ECC_PAIR;
	size_t oid_len;

	if (check == 4)
		return TS_E_PSA_NOT_SUPPORTED;
	switch (a->type) {
	case PSA_KT_RSA_PAIR:
	case PSA_KT_RSA_PUBLIC:
		if (!bits_in(p, CKM_RSA_PKCS_KEY_PAIR_GEN, a->bits) ||
		    (a->bits != 0 && (a->bits < 1024 || a->bits > 8192 || a->bits % 8 != 0)))
			return TS_E_PSA_NOT_SUPPORTED;
		break;
	case PSA_KT_ECC_PAIR:
	case PSA_KT_ECC_PUBLIC:
		if (a->family != PSA_ECC_SECP_R1 || !bits_in(p, CKM_EC_KEY_PAIR_GEN, a->bits) ||
		    (a->bits != 0 && p11_ec_oid(a->bits, &oid_len) == NULL))
			return TS_E_PSA_NOT_SUPPORTED;
		break;
	case PSA_KT_AES:
		/* Secret key sizes are in bytes in CK_MECHANISM_INFO. */
		if (!bits_in(p, CKM_AES_KEY_GEN, a->bits / 8) ||
		    (a->bits != 0 && a->bits != 128 && a->bits != 192 && a->bits != 256))
			return TS_E_PSA_NOT_SUPPORTED;
		break;
	case PSA_KT_HMAC:
		if (!p11_has_mech(p, CKM_GENERIC_SECRET_KEY_GEN, NULL) || a->bits % 8 != 0 ||
		    a->bits > 4096)
			return TS_E_PSA_NOT_SUPPORTED;
		break;
	default:
		return TS_E_PSA_NOT_SUPPORTED;
	}
	if (check == 2 && !pair && a->type != PSA_KT_AES && a->type != PSA_KT_HMAC)
		return TS_E_PSA_NOT_SUPPORTED;
	return alg_ok(p, a) ? TS_OK : TS_E_PSA_NOT_SUPPORTED;
}
