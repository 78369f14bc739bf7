/*
 * PKCS#11 signatures on the token: ECDSA with CKM_ECDSA on the hash (the
 * token's output is r || s, PSA's format), RSA PKCS#1 v1.5 with
 * CKM_RSA_PKCS on a DigestInfo built here (or on the raw input for the
 * "raw" scheme), RSA-PSS with CKM_RSA_PKCS_PSS (MGF1 with the same hash, a
 * salt as long as the hash, as PSA defines). Verification runs on the
 * token's public object, or with OpenSSL on the exported public key when
 * software_public_operations is set.
 */
#include "providers/pkcs11/pkcs11-priv.h"

#include <stdlib.h>
#include <string.h>

#include "common/secmem.h"
#include "providers/software/software-priv.h"

/* DER DigestInfo prefixes (RFC 8017, section 9.2, note 1). */
static const uint8_t di_sha1[] = {0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e,
                                  0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14};
static const uint8_t di_sha224[] = {0x30, 0x2d, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
                                    0x65, 0x03, 0x04, 0x02, 0x04, 0x05, 0x00, 0x04, 0x1c};
static const uint8_t di_sha256[] = {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
                                    0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20};
static const uint8_t di_sha384[] = {0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
                                    0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00, 0x04, 0x30};
static const uint8_t di_sha512[] = {0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
                                    0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04, 0x40};

static const uint8_t *digest_info(unsigned hash, size_t *ret_len)
{
	switch (hash) {
	case PROV_HASH_SHA_1:
		*ret_len = sizeof(di_sha1);
		return di_sha1;
	case PROV_HASH_SHA_224:
		*ret_len = sizeof(di_sha224);
		return di_sha224;
	case PROV_HASH_SHA_256:
		*ret_len = sizeof(di_sha256);
		return di_sha256;
	case PROV_HASH_SHA_384:
		*ret_len = sizeof(di_sha384);
		return di_sha384;
	case PROV_HASH_SHA_512:
		*ret_len = sizeof(di_sha512);
		return di_sha512;
	default:
		return NULL;
	}
}

/* What the token is given for one signature. */
struct sig_job {
	CK_MECHANISM m;
	CK_RSA_PKCS_PSS_PARAMS pss;
	uint8_t buf[19 + PROV_HASH_MAX_SIZE];
	const uint8_t *in;
	CK_ULONG in_len;
	size_t sig_len; /* the signature's size for this key */
};

static enum ts_err prepare(const struct prov_key *k, const struct psa_alg *alg, const uint8_t *hash,
                           size_t hash_len, struct sig_job *j)
{
	const struct psa_attrs *a = k->attrs;
	bool rsa = a->type == PSA_KT_RSA_PAIR || a->type == PSA_KT_RSA_PUBLIC;
	bool ecc = a->type == PSA_KT_ECC_PAIR || a->type == PSA_KT_ECC_PUBLIC;
	const uint8_t *di;
	size_t di_len = 0;

	memset(j, 0, sizeof(*j));
	j->in = hash;
	j->in_len = (CK_ULONG)hash_len;
	switch (alg->kind) {
	case PSA_SIGN_ECDSA:
	case PSA_SIGN_ECDSA_ANY:
		if (!ecc || a->family != PSA_ECC_SECP_R1)
			return TS_E_PSA_INVALID_ARGUMENT;
		j->m.mechanism = CKM_ECDSA;
		j->sig_len = 2 * ((a->bits + 7) / 8);
		return TS_OK;
	case PSA_SIGN_RSA_PKCS1V15:
		if (!rsa)
			return TS_E_PSA_INVALID_ARGUMENT;
		di = digest_info(alg->hash, &di_len);
		if (di == NULL || hash_len > PROV_HASH_MAX_SIZE)
			return TS_E_PSA_NOT_SUPPORTED;
		memcpy(j->buf, di, di_len);
		memcpy(j->buf + di_len, hash, hash_len);
		j->in = j->buf;
		j->in_len = (CK_ULONG)(di_len + hash_len);
		j->m.mechanism = CKM_RSA_PKCS;
		break;
	case PSA_SIGN_RSA_PKCS1V15_RAW:
		if (!rsa)
			return TS_E_PSA_INVALID_ARGUMENT;
		j->m.mechanism = CKM_RSA_PKCS;
		break;
	case PSA_SIGN_RSA_PSS:
		if (!rsa)
			return TS_E_PSA_INVALID_ARGUMENT;
		if (!p11_hash_mech(alg->hash, &j->pss.hashAlg, &j->pss.mgf))
			return TS_E_PSA_NOT_SUPPORTED;
		j->pss.sLen = (CK_ULONG)hash_len;
		j->m.mechanism = CKM_RSA_PKCS_PSS;
		j->m.pParameter = &j->pss;
		j->m.ulParameterLen = sizeof(j->pss);
		break;
	default:
		return TS_E_PSA_NOT_SUPPORTED; /* deterministic ECDSA: no PKCS#11 mechanism */
	}
	j->sig_len = (a->bits + 7) / 8;
	return TS_OK;
}

enum ts_err p11_sign_hash(void *ctx, const struct prov_key *k, const struct psa_alg *alg,
                          const uint8_t *hash, size_t hash_len, uint8_t **ret_sig, size_t *ret_len)
{
	struct p11 *p = ctx;
	struct sig_job j;
	CK_SESSION_HANDLE s;
	CK_OBJECT_HANDLE o;
	CK_ULONG n;
	uint8_t *sig;
	enum ts_err err = prepare(k, alg, hash, hash_len, &j);
	CK_RV rv;

	if (err != TS_OK)
		return err;
	if (k->attrs->type != PSA_KT_ECC_PAIR && k->attrs->type != PSA_KT_RSA_PAIR)
		return TS_E_PSA_INVALID_ARGUMENT; /* a public key cannot sign */
	sig = malloc(j.sig_len);
	if (sig == NULL)
		return TS_E_NOMEM;
	n = (CK_ULONG)j.sig_len;
	s = p11_session_get(p);
	err = p11_find(p, s, k, CKO_PRIVATE_KEY, &o);
	if (err == TS_OK) {
		rv = p->f->C_SignInit(s, &j.m, o);
		if (rv == CKR_OK)
			rv = p->f->C_Sign(s, (CK_BYTE_PTR)j.in, j.in_len, sig, &n);
		err = p11_status(rv);
	}
	p11_session_put(p, s, err);
	OPENSSL_cleanse(j.buf, sizeof(j.buf));
	if (err == TS_OK && n != j.sig_len)
		err = TS_E_PSA_COMMUNICATION_FAILURE; /* not the size this key signs */
	if (err != TS_OK) {
		free(sig);
		return err;
	}
	*ret_sig = sig;
	*ret_len = n;
	return TS_OK;
}

/* Verification with OpenSSL on the public key the token gives out. */
static enum ts_err verify_in_software(struct p11 *p, const struct prov_key *k,
                                      const struct psa_alg *alg, const uint8_t *hash,
                                      size_t hash_len, const uint8_t *sig, size_t sig_len)
{
	struct psa_attrs pub = *k->attrs;
	CK_SESSION_HANDLE s = p11_session_get(p);
	uint8_t *der = NULL;
	size_t der_len = 0;
	enum ts_err err = p11_public_of(p, s, k, &der, &der_len);

	p11_session_put(p, s, err);
	if (err != TS_OK)
		return err;
	pub.type = pub.type == PSA_KT_RSA_PAIR   ? PSA_KT_RSA_PUBLIC
	           : pub.type == PSA_KT_ECC_PAIR ? PSA_KT_ECC_PUBLIC
	                                         : pub.type;
	/* No context: the software provider parses the key without its cache. */
	err = sw_verify_hash(NULL, &pub, der, der_len, alg, hash, hash_len, sig, sig_len);
	free(der);
	return err;
}

enum ts_err p11_verify_hash(void *ctx, const struct prov_key *k, const struct psa_alg *alg,
                            const uint8_t *hash, size_t hash_len, const uint8_t *sig,
                            size_t sig_len)
{
	struct p11 *p = ctx;
	struct sig_job j;
	CK_SESSION_HANDLE s;
	CK_OBJECT_HANDLE o;
	enum ts_err err = prepare(k, alg, hash, hash_len, &j);
	CK_RV rv;

	if (err != TS_OK)
		return err;
	if (sig_len != j.sig_len)
		return TS_E_PSA_INVALID_SIGNATURE;
	if (p->sw_public)
		return verify_in_software(p, k, alg, hash, hash_len, sig, sig_len);
	s = p11_session_get(p);
	err = p11_find(p, s, k, CKO_PUBLIC_KEY, &o);
	if (err == TS_OK) {
		rv = p->f->C_VerifyInit(s, &j.m, o);
		if (rv == CKR_OK)
			rv = p->f->C_Verify(s, (CK_BYTE_PTR)j.in, j.in_len, (CK_BYTE_PTR)sig,
			                    (CK_ULONG)sig_len);
		err = p11_status(rv);
		/* A signature the token cannot even parse is still just invalid. */
		if (rv == CKR_DATA_LEN_RANGE || rv == CKR_DATA_INVALID)
			err = TS_E_PSA_INVALID_SIGNATURE;
	}
	p11_session_put(p, s, err);
	return err;
}
