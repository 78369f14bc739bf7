/*
 * Signatures on the TPM: ECDSA (PSA's raw r || s, each the curve's size) and
 * RSA PKCS#1 v1.5 / PSS over a hash the caller made. Verification runs on
 * the TPM too (TPM2_VerifySignature on the loaded key or, for an imported
 * public key, on a LoadExternal copy).
 */
#include "providers/tpm/tpm-priv.h"

#include <stdlib.h>
#include <string.h>

#include "common/secmem.h"

/* The TPM scheme and digest for a request. */
static enum ts_err scheme_for(const struct tpm_material *m, const struct psa_alg *alg,
                              const uint8_t *hash, size_t hash_len, TPMT_SIG_SCHEME *ret_scheme,
                              TPM2B_DIGEST *ret_digest)
{
	TPMI_ALG_HASH h = tpm_hash(alg->hash);
	bool ecc = m->pub.publicArea.type == TPM2_ALG_ECC;

	if (alg->cls != PSA_AC_SIGN || h == TPM2_ALG_ERROR)
		return TS_E_PSA_NOT_SUPPORTED;
	if (ecc && alg->kind == PSA_SIGN_ECDSA)
		ret_scheme->scheme = TPM2_ALG_ECDSA;
	else if (!ecc && alg->kind == PSA_SIGN_RSA_PKCS1V15)
		ret_scheme->scheme = TPM2_ALG_RSASSA;
	else if (!ecc && alg->kind == PSA_SIGN_RSA_PSS)
		ret_scheme->scheme = TPM2_ALG_RSAPSS;
	else
		return TS_E_PSA_NOT_SUPPORTED;
	ret_scheme->details.any.hashAlg = h;
	if (hash_len != psa_hash_size(alg->hash) || hash_len > sizeof(ret_digest->buffer))
		return TS_E_PSA_INVALID_ARGUMENT;
	ret_digest->size = (uint16_t)hash_len;
	memcpy(ret_digest->buffer, hash, hash_len);
	return TS_OK;
}

/* Size in bytes of the key's curve or modulus. */
static size_t key_bytes(const struct tpm_material *m)
{
	const TPMT_PUBLIC *p = &m->pub.publicArea;

	if (p->type == TPM2_ALG_RSA)
		return p->unique.rsa.size;
	switch (p->parameters.eccDetail.curveID) {
	case TPM2_ECC_NIST_P256:
		return 32;
	case TPM2_ECC_NIST_P384:
		return 48;
	case TPM2_ECC_NIST_P521:
		return 66;
	default:
		return 0;
	}
}

static enum ts_err pack_signature(const struct tpm_material *m, const TPMT_SIGNATURE *s,
                                  uint8_t **ret, size_t *ret_len)
{
	size_t n = key_bytes(m), len;
	uint8_t *out;

	if (n == 0)
		return TS_E_PSA_GENERIC_ERROR;
	if (s->sigAlg == TPM2_ALG_ECDSA) {
		const TPM2B_ECC_PARAMETER *r = &s->signature.ecdsa.signatureR,
		                          *sv = &s->signature.ecdsa.signatureS;

		if (r->size > n || sv->size > n)
			return TS_E_PSA_GENERIC_ERROR;
		len = 2 * n;
		out = calloc(1, len);
		if (out == NULL)
			return TS_E_NOMEM;
		memcpy(out + n - r->size, r->buffer, r->size);
		memcpy(out + 2 * n - sv->size, sv->buffer, sv->size);
	} else {
		const TPM2B_PUBLIC_KEY_RSA *sig = &s->signature.rsassa.sig;

		if (sig->size != n)
			return TS_E_PSA_GENERIC_ERROR;
		len = n;
		out = malloc(len);
		if (out == NULL)
			return TS_E_NOMEM;
		memcpy(out, sig->buffer, n);
	}
	*ret = out;
	*ret_len = len;
	return TS_OK;
}

enum ts_err tpm_sign_hash(void *ctx, const struct prov_key *k, const struct psa_alg *alg,
                          const uint8_t *hash, size_t hash_len, uint8_t **ret_sig, size_t *ret_len)
{
	struct tpm_ctx *c = ctx;
	struct tpm_material m;
	TPMT_SIG_SCHEME scheme = {0};
	TPM2B_DIGEST digest = {0};
	TPMT_TK_HASHCHECK check = {.tag = TPM2_ST_HASHCHECK, .hierarchy = TPM2_RH_NULL};
	TPMT_SIGNATURE *sig = NULL;
	ESYS_TR h;
	enum ts_err st;

	pthread_mutex_lock(&c->lock);
	st = tpm_material_parse(c, k->material, k->material_len, &m);
	if (st == TS_OK && !m.has_private)
		st = TS_E_PSA_NOT_PERMITTED; /* a public key cannot sign */
	if (st == TS_OK)
		st = scheme_for(&m, alg, hash, hash_len, &scheme, &digest);
	for (int tries = 2; st == TS_OK && tries > 0; tries--) {
		TSS2_RC rc;

		st = tpm_cache_get(c, k, &m, &h);
		if (st != TS_OK)
			break;
		rc = Esys_Sign(c->esys, h, tpm_session(c, TPM_SESS_IN), ESYS_TR_NONE, ESYS_TR_NONE,
		               &digest, &scheme, &check, &sig);
		if (tries > 1 && tpm_objects_lost(rc)) {
			st = tpm_reattach(c);
			continue;
		}
		st = tpm_status(rc, "signing (Sign)");
		break;
	}
	pthread_mutex_unlock(&c->lock);
	if (st == TS_OK)
		st = pack_signature(&m, sig, ret_sig, ret_len);
	ts_wipe(&m, sizeof(m));
	Esys_Free(sig);
	return st;
}

enum ts_err tpm_verify_hash(void *ctx, const struct prov_key *k, const struct psa_alg *alg,
                            const uint8_t *hash, size_t hash_len, const uint8_t *sig,
                            size_t sig_len)
{
	struct tpm_ctx *c = ctx;
	struct tpm_material m;
	TPMT_SIG_SCHEME scheme = {0};
	TPM2B_DIGEST digest = {0};
	TPMT_SIGNATURE s;
	TPMT_TK_VERIFIED *ticket = NULL;
	ESYS_TR h;
	size_t n;
	enum ts_err st;

	memset(&s, 0, sizeof(s));
	pthread_mutex_lock(&c->lock);
	st = tpm_material_parse(c, k->material, k->material_len, &m);
	if (st == TS_OK)
		st = scheme_for(&m, alg, hash, hash_len, &scheme, &digest);
	if (st != TS_OK)
		goto out;
	n = key_bytes(&m);
	s.sigAlg = scheme.scheme;
	if (scheme.scheme == TPM2_ALG_ECDSA) {
		if (n == 0 || sig_len != 2 * n) {
			st = TS_E_PSA_INVALID_SIGNATURE;
			goto out;
		}
		s.signature.ecdsa.hash = scheme.details.any.hashAlg;
		s.signature.ecdsa.signatureR.size = (uint16_t)n;
		memcpy(s.signature.ecdsa.signatureR.buffer, sig, n);
		s.signature.ecdsa.signatureS.size = (uint16_t)n;
		memcpy(s.signature.ecdsa.signatureS.buffer, sig + n, n);
	} else {
		if (n == 0 || sig_len != n) {
			st = TS_E_PSA_INVALID_SIGNATURE;
			goto out;
		}
		s.signature.rsassa.hash = scheme.details.any.hashAlg;
		s.signature.rsassa.sig.size = (uint16_t)n;
		memcpy(s.signature.rsassa.sig.buffer, sig, n);
	}
	for (int tries = 2; st == TS_OK && tries > 0; tries--) {
		TSS2_RC rc;

		st = tpm_cache_get(c, k, &m, &h);
		if (st != TS_OK)
			break;
		rc = Esys_VerifySignature(c->esys, h, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
		                          &digest, &s, &ticket);
		if (tries > 1 && tpm_objects_lost(rc)) {
			st = tpm_reattach(c);
			continue;
		}
		st = tpm_status(rc, "verifying (VerifySignature)");
		break;
	}
	/* A signature the TPM finds malformed (r or s out of range) does not
	 * verify either. */
	if (st == TS_E_PSA_INVALID_ARGUMENT)
		st = TS_E_PSA_INVALID_SIGNATURE;
out:
	pthread_mutex_unlock(&c->lock);
	ts_wipe(&m, sizeof(m));
	Esys_Free(ticket);
	return st;
}
