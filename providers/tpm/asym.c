/*
 * RSA encryption on the TPM: PKCS#1 v1.5 (RSAES) and OAEP, with the padding
 * given per command (keys have scheme NULL).
 *
 * OAEP labels: the TPM takes a non-empty label only when its last byte is 0
 * (that 0 is part of the label OAEP hashes), and at most 64 bytes. A PSA
 * label that ends otherwise cannot be used on the TPM and is NotSupported,
 * never changed behind the caller's back.
 */
#include "providers/tpm/tpm-priv.h"

#include <stdlib.h>
#include <string.h>

#include "common/secmem.h"

static enum ts_err crypt_scheme(const struct psa_alg *alg, const uint8_t *label, size_t label_len,
                                TPMT_RSA_DECRYPT *ret_scheme, TPM2B_DATA *ret_label)
{
	if (alg->cls != PSA_AC_ASYM_ENC)
		return TS_E_PSA_NOT_SUPPORTED;
	if (alg->kind == PSA_ENC_RSA_PKCS1V15) {
		if (label_len > 0)
			return TS_E_PSA_INVALID_ARGUMENT; /* PKCS#1 v1.5 has no label */
		ret_scheme->scheme = TPM2_ALG_RSAES;
		return TS_OK;
	}
	if (alg->kind != PSA_ENC_RSA_OAEP)
		return TS_E_PSA_NOT_SUPPORTED;
	ret_scheme->scheme = TPM2_ALG_OAEP;
	ret_scheme->details.oaep.hashAlg = tpm_hash(alg->hash);
	if (ret_scheme->details.oaep.hashAlg == TPM2_ALG_ERROR)
		return TS_E_PSA_NOT_SUPPORTED;
	if (label_len > 0 && (label[label_len - 1] != 0 || label_len > sizeof(ret_label->buffer)))
		return TS_E_PSA_NOT_SUPPORTED; /* the TPM's label rule */
	ret_label->size = (uint16_t)label_len;
	if (label_len > 0)
		memcpy(ret_label->buffer, label, label_len);
	return TS_OK;
}

enum ts_err tpm_asym_crypt(void *ctx, const struct prov_key *k, const struct psa_alg *alg,
                           bool encrypt, const uint8_t *in, size_t in_len, const uint8_t *label,
                           size_t label_len, uint8_t **ret, size_t *ret_len)
{
	struct tpm_ctx *c = ctx;
	struct tpm_material m;
	TPMT_RSA_DECRYPT scheme = {0};
	TPM2B_DATA lab = {0};
	TPM2B_PUBLIC_KEY_RSA msg = {0}, *out = NULL;
	ESYS_TR h;
	TSS2_RC rc = TSS2_RC_SUCCESS;
	enum ts_err st;

	if (in_len > sizeof(msg.buffer))
		return encrypt ? TS_E_PSA_INVALID_ARGUMENT : TS_E_PSA_INVALID_PADDING;
	pthread_mutex_lock(&c->lock);
	st = tpm_material_parse(c, k->material, k->material_len, &m);
	if (st == TS_OK && m.pub.publicArea.type != TPM2_ALG_RSA)
		st = TS_E_PSA_NOT_SUPPORTED;
	if (st == TS_OK && !encrypt && !m.has_private)
		st = TS_E_PSA_NOT_PERMITTED;
	if (st == TS_OK)
		st = crypt_scheme(alg, label, label_len, &scheme, &lab);
	if (st == TS_OK && !encrypt && in_len != m.pub.publicArea.unique.rsa.size)
		st = TS_E_PSA_INVALID_PADDING;
	if (st == TS_OK)
		st = tpm_cache_get(c, k, &m, &h);
	if (st == TS_OK) {
		msg.size = (uint16_t)in_len;
		memcpy(msg.buffer, in, in_len);
		if (encrypt)
			rc = Esys_RSA_Encrypt(c->esys, h, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
			                      &msg, &scheme, &lab, &out);
		else
			rc = Esys_RSA_Decrypt(c->esys, h, tpm_session(c, TPM_SESS_BOTH),
			                      ESYS_TR_NONE, ESYS_TR_NONE, &msg, &scheme, &lab,
			                      &out);
		st = tpm_status(rc,
		                encrypt ? "encrypting (RSA_Encrypt)" : "decrypting (RSA_Decrypt)");
	}
	pthread_mutex_unlock(&c->lock);
	if (st != TS_OK && rc != TSS2_RC_SUCCESS) {
		TSS2_RC b = tpm_rc_base(rc);

		/* Too long a plaintext; a ciphertext that does not decrypt (the
		 * reference code says TPM_RC_VALUE, libtpms 0.9 TPM_RC_FAILURE
		 * without entering failure mode). */
		if (encrypt && b == TPM2_RC_VALUE)
			st = TS_E_PSA_INVALID_ARGUMENT;
		else if (!encrypt && (b == TPM2_RC_FAILURE || b == TPM2_RC_VALUE))
			st = TS_E_PSA_INVALID_PADDING;
	}
	if (st == TS_OK) {
		uint8_t *o = malloc(out->size ? out->size : 1);

		if (o == NULL) {
			st = TS_E_NOMEM;
		} else {
			memcpy(o, out->buffer, out->size);
			*ret = o;
			*ret_len = out->size;
		}
	}
	if (out != NULL)
		ts_wipe(out, sizeof(*out));
	Esys_Free(out);
	ts_wipe(&msg, sizeof(msg));
	ts_wipe(&m, sizeof(m));
	return st;
}
