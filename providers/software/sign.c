/*
 * Software provider signatures: ECDSA (r || s, big-endian, each the size of
 * the curve order, as PSA defines), RSA PKCS#1 v1.5 (with a hash, or raw)
 * and RSA-PSS with a salt as long as the hash.
 */
#include "providers/software/software-priv.h"

#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "common/secmem.h"

const EVP_MD *sw_md(unsigned hash)
{
	switch (hash) {
	case 3:
		return EVP_md5();
	case 4:
		return EVP_ripemd160();
	case 5:
		return EVP_sha1();
	case 6:
		return EVP_sha224();
	case 7:
		return EVP_sha256();
	case 8:
		return EVP_sha384();
	case 9:
		return EVP_sha512();
	case 10:
		return EVP_sha512_224();
	case 11:
		return EVP_sha512_256();
	case 12:
		return EVP_sha3_224();
	case 13:
		return EVP_sha3_256();
	case 14:
		return EVP_sha3_384();
	case 15:
		return EVP_sha3_512();
	default:
		return NULL;
	}
}

/* Configure a sign/verify context for the algorithm. */
static enum ts_err setup(EVP_PKEY_CTX *pctx, const struct psa_attrs *a, const struct psa_alg *alg)
{
	const EVP_MD *md = NULL;

	if (alg->hash != 0) {
		md = sw_md(alg->hash);
		if (md == NULL)
			return TS_E_PSA_NOT_SUPPORTED;
	}
	switch (alg->kind) {
	case PSA_SIGN_ECDSA:
	case PSA_SIGN_ECDSA_ANY:
		if (a->family == PSA_ECC_MONTGOMERY)
			return TS_E_PSA_INVALID_ARGUMENT;
		break;
	case PSA_SIGN_DETERMINISTIC_ECDSA:
		/* RFC 6979 nonces need OpenSSL 3.2; Debian 12 ships 3.0. */
		return TS_E_PSA_NOT_SUPPORTED;
	case PSA_SIGN_RSA_PKCS1V15:
	case PSA_SIGN_RSA_PKCS1V15_RAW:
		if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1)
			return TS_E_PSA_GENERIC_ERROR;
		break;
	case PSA_SIGN_RSA_PSS:
		if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
		    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1 ||
		    EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md) != 1)
			return TS_E_PSA_GENERIC_ERROR;
		break;
	default:
		return TS_E_PSA_NOT_SUPPORTED;
	}
	if (md != NULL && EVP_PKEY_CTX_set_signature_md(pctx, md) != 1)
		return TS_E_PSA_GENERIC_ERROR;
	return TS_OK;
}

static size_t order_bytes(const struct psa_attrs *a)
{
	return (a->bits + 7) / 8;
}

/* DER ECDSA-Sig-Value -> r || s. */
static enum ts_err ecdsa_der_to_raw(const struct psa_attrs *a, const uint8_t *der, size_t len,
                                    uint8_t **ret, size_t *ret_len)
{
	const uint8_t *p = der;
	ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)len);
	size_t n = order_bytes(a);
	uint8_t *out = NULL;
	enum ts_err err = TS_E_PSA_GENERIC_ERROR;

	if (sig == NULL)
		return err;
	out = malloc(2 * n);
	if (out == NULL) {
		err = TS_E_NOMEM;
		goto out;
	}
	if (BN_bn2binpad(ECDSA_SIG_get0_r(sig), out, (int)n) != (int)n ||
	    BN_bn2binpad(ECDSA_SIG_get0_s(sig), out + n, (int)n) != (int)n)
		goto out;
	*ret = out;
	*ret_len = 2 * n;
	out = NULL;
	err = TS_OK;
out:
	free(out);
	ECDSA_SIG_free(sig);
	return err;
}

/* r || s -> DER, for OpenSSL's verify. */
static enum ts_err ecdsa_raw_to_der(const struct psa_attrs *a, const uint8_t *raw, size_t len,
                                    uint8_t **ret, size_t *ret_len)
{
	size_t n = order_bytes(a);
	ECDSA_SIG *sig;
	BIGNUM *r, *s;
	unsigned char *der = NULL;
	int dlen;

	if (len != 2 * n)
		return TS_E_PSA_INVALID_SIGNATURE;
	sig = ECDSA_SIG_new();
	r = BN_bin2bn(raw, (int)n, NULL);
	s = BN_bin2bn(raw + n, (int)n, NULL);
	if (sig == NULL || r == NULL || s == NULL || ECDSA_SIG_set0(sig, r, s) != 1) {
		ECDSA_SIG_free(sig);
		BN_free(r);
		BN_free(s);
		return TS_E_NOMEM;
	}
	dlen = i2d_ECDSA_SIG(sig, &der);
	ECDSA_SIG_free(sig);
	if (dlen <= 0)
		return TS_E_PSA_GENERIC_ERROR;
	*ret = der;
	*ret_len = (size_t)dlen;
	return TS_OK;
}

static bool is_ecdsa(const struct psa_alg *alg)
{
	return alg->kind == PSA_SIGN_ECDSA || alg->kind == PSA_SIGN_ECDSA_ANY ||
	       alg->kind == PSA_SIGN_DETERMINISTIC_ECDSA;
}

enum ts_err sw_sign_hash(void *ctx, const struct psa_attrs *a, const uint8_t *mat, size_t mat_len,
                         const struct psa_alg *alg, const uint8_t *hash, size_t hash_len,
                         uint8_t **ret_sig, size_t *ret_len)
{
	EVP_PKEY *pk = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	uint8_t *sig = NULL;
	size_t slen = 0;
	enum ts_err err;

	err = sw_get_pkey(ctx, a, mat, mat_len, &pk);
	if (err != TS_OK)
		return err;
	err = TS_E_NOMEM;
	pctx = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL);
	if (pctx == NULL)
		goto out;
	err = TS_E_PSA_GENERIC_ERROR;
	if (EVP_PKEY_sign_init(pctx) != 1)
		goto out;
	err = setup(pctx, a, alg);
	if (err != TS_OK)
		goto out;
	err = TS_E_PSA_GENERIC_ERROR;
	if (EVP_PKEY_sign(pctx, NULL, &slen, hash, hash_len) != 1)
		goto out;
	err = TS_E_NOMEM;
	sig = malloc(slen);
	if (sig == NULL)
		goto out;
	err = TS_E_PSA_INVALID_ARGUMENT; /* e.g. raw PKCS#1 input too long for the key */
	if (EVP_PKEY_sign(pctx, sig, &slen, hash, hash_len) != 1)
		goto out;
	if (is_ecdsa(alg)) {
		err = ecdsa_der_to_raw(a, sig, slen, ret_sig, ret_len);
		goto out;
	}
	*ret_sig = sig;
	*ret_len = slen;
	sig = NULL;
	err = TS_OK;
out:
	free(sig);
	EVP_PKEY_CTX_free(pctx);
	EVP_PKEY_free(pk);
	return err;
}

enum ts_err sw_verify_hash(void *ctx, const struct psa_attrs *a, const uint8_t *mat, size_t mat_len,
                           const struct psa_alg *alg, const uint8_t *hash, size_t hash_len,
                           const uint8_t *sig, size_t sig_len)
{
	EVP_PKEY *pk = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	uint8_t *der = NULL;
	size_t der_len = 0;
	enum ts_err err;

	err = sw_get_pkey(ctx, a, mat, mat_len, &pk);
	if (err != TS_OK)
		return err;
	if (is_ecdsa(alg)) {
		err = ecdsa_raw_to_der(a, sig, sig_len, &der, &der_len);
		if (err != TS_OK)
			goto out;
		sig = der;
		sig_len = der_len;
	}
	err = TS_E_NOMEM;
	pctx = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL);
	if (pctx == NULL)
		goto out;
	err = TS_E_PSA_GENERIC_ERROR;
	if (EVP_PKEY_verify_init(pctx) != 1)
		goto out;
	err = setup(pctx, a, alg);
	if (err != TS_OK)
		goto out;
	err = EVP_PKEY_verify(pctx, sig, sig_len, hash, hash_len) == 1 ? TS_OK
	                                                               : TS_E_PSA_INVALID_SIGNATURE;
out:
	OPENSSL_free(der);
	EVP_PKEY_CTX_free(pctx);
	EVP_PKEY_free(pk);
	return err;
}
