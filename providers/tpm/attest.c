/*
 * Key attestation with TPM2_ActivateCredential, as Parsec defines it.
 *
 * PrepareKeyAttestation gives a verifier the attested key's Name and public
 * area, and the public key of the TCG default endorsement key (RSA-2048,
 * template L-1, made again from the endorsement seed each time). The
 * verifier, trusting that EK, runs MakeCredential for that Name; only the TPM
 * that holds both the EK and a key with that Name can recover the
 * credential, which AttestKey returns.
 *
 * Object budget: the root key, the attested key and the EK are three
 * transient objects, all swtpm has, so the key cache is emptied first.
 */
#include "providers/tpm/tpm-priv.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <tss2/tss2_mu.h>

#include "common/secmem.h"

/* TPM2_PolicySecret(TPM_RH_ENDORSEMENT): the EK's authPolicy ("policy A"
 * of the TCG EK Credential Profile). */
static const uint8_t ek_policy[32] = {0x83, 0x71, 0x97, 0x67, 0x44, 0x84, 0xb3, 0xf8,
                                      0x1a, 0x90, 0xcc, 0x8d, 0x46, 0xa5, 0xd7, 0x24,
                                      0xfd, 0x52, 0xd7, 0x6e, 0x06, 0x52, 0x0b, 0x64,
                                      0xf2, 0xa1, 0xda, 0x1b, 0x33, 0x14, 0x69, 0xaa};

static void ek_template(TPM2B_PUBLIC *t)
{
	TPMT_PUBLIC *p = &t->publicArea;

	memset(t, 0, sizeof(*t));
	p->type = TPM2_ALG_RSA;
	p->nameAlg = TPM2_ALG_SHA256;
	p->objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
	                      TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_ADMINWITHPOLICY |
	                      TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT;
	p->authPolicy.size = sizeof(ek_policy);
	memcpy(p->authPolicy.buffer, ek_policy, sizeof(ek_policy));
	p->parameters.rsaDetail.symmetric.algorithm = TPM2_ALG_AES;
	p->parameters.rsaDetail.symmetric.keyBits.aes = 128;
	p->parameters.rsaDetail.symmetric.mode.aes = TPM2_ALG_CFB;
	p->parameters.rsaDetail.scheme.scheme = TPM2_ALG_NULL;
	p->parameters.rsaDetail.keyBits = 2048;
	p->parameters.rsaDetail.exponent = 0;
	p->unique.rsa.size = 256; /* all zero, as the profile says */
}

/* Make the EK (the cache must leave it a slot). */
static enum ts_err make_ek(struct tpm_ctx *c, ESYS_TR *ret, TPM2B_PUBLIC **ret_pub)
{
	TPM2B_SENSITIVE_CREATE sens = {0};
	TPM2B_DATA outside = {0};
	TPML_PCR_SELECTION pcrs = {0};
	TPM2B_PUBLIC tmpl;
	TPM2B_CREATION_DATA *cdata = NULL;
	TPM2B_DIGEST *chash = NULL;
	TPMT_TK_CREATION *ticket = NULL;
	TSS2_RC rc;

	ek_template(&tmpl);
	for (;;) {
		rc = Esys_CreatePrimary(c->esys, ESYS_TR_RH_ENDORSEMENT, ESYS_TR_PASSWORD,
		                        ESYS_TR_NONE, ESYS_TR_NONE, &sens, &tmpl, &outside, &pcrs,
		                        ret, ret_pub, &cdata, &chash, &ticket);
		if (rc != TPM2_RC_OBJECT_MEMORY || !tpm_cache_flush_lru(c))
			break;
	}
	Esys_Free(cdata);
	Esys_Free(chash);
	Esys_Free(ticket);
	if (rc != TSS2_RC_SUCCESS) {
		TSS2_RC b = tpm_rc_base(rc);

		if (b == TPM2_RC_BAD_AUTH || b == TPM2_RC_AUTH_FAIL) {
			(void)tpm_status(rc, "creating the endorsement key (check "
			                     "endorsement_auth_file)");
			return TS_E_PSA_GENERIC_ERROR; /* Parsec's answer without the auth */
		}
		return tpm_status(rc, "creating the endorsement key (CreatePrimary)");
	}
	return TS_OK;
}

static enum ts_err attested_material(struct tpm_ctx *c, const struct prov_key *attested,
                                     const struct prov_key *attesting, struct tpm_material *ret)
{
	enum ts_err st;

	if (attesting != NULL)
		return TS_E_PSA_NOT_SUPPORTED; /* only the default EK attests */
	st = tpm_material_parse(c, attested->material, attested->material_len, ret);
	if (st == TS_OK && !ret->has_private)
		st = TS_E_PSA_NOT_SUPPORTED; /* a public key does not live in the TPM */
	return st;
}

enum ts_err tpm_prepare_key_attestation(void *ctx, const struct prov_key *attested,
                                        const struct prov_key *attesting,
                                        struct prov_attest_prep *ret)
{
	struct tpm_ctx *c = ctx;
	struct tpm_material m;
	struct prov_attest_prep out = {0};
	TPM2B_PUBLIC *ek_pub = NULL;
	ESYS_TR ek = ESYS_TR_NONE;
	uint8_t buf[sizeof(TPMT_PUBLIC)];
	size_t off = 0;
	unsigned dlen = 32;
	enum ts_err st;

	pthread_mutex_lock(&c->lock);
	st = attested_material(c, attested, attesting, &m);
	if (st != TS_OK)
		goto out;
	/* The Name, as the TPM computes it: nameAlg || H(public area). */
	st = TS_E_PSA_GENERIC_ERROR;
	if (m.pub.publicArea.nameAlg != TPM2_ALG_SHA256 ||
	    Tss2_MU_TPMT_PUBLIC_Marshal(&m.pub.publicArea, buf, sizeof(buf), &off) !=
	            TSS2_RC_SUCCESS)
		goto out;
	st = TS_E_NOMEM;
	out.public_area = malloc(off);
	out.name = malloc(2 + 32);
	if (out.public_area == NULL || out.name == NULL)
		goto out;
	memcpy(out.public_area, buf, off);
	out.public_len = off;
	out.name[0] = (uint8_t)(TPM2_ALG_SHA256 >> 8);
	out.name[1] = (uint8_t)TPM2_ALG_SHA256;
	st = TS_E_PSA_GENERIC_ERROR;
	if (EVP_Digest(buf, off, out.name + 2, &dlen, EVP_sha256(), NULL) != 1)
		goto out;
	out.name_len = 2 + 32;
	st = make_ek(c, &ek, &ek_pub);
	if (st == TS_OK)
		st = tpm_public_to_psa(&ek_pub->publicArea, 2048, &out.attesting_pub,
		                       &out.attesting_pub_len);
	if (st == TS_OK) {
		*ret = out;
		memset(&out, 0, sizeof(out));
	}
out:
	if (ek != ESYS_TR_NONE)
		(void)Esys_FlushContext(c->esys, ek);
	pthread_mutex_unlock(&c->lock);
	Esys_Free(ek_pub);
	prov_attest_prep_clear(&out);
	ts_wipe(&m, sizeof(m));
	return st;
}

enum ts_err tpm_attest_key(void *ctx, const struct prov_key *attested,
                           const struct prov_key *attesting, const uint8_t *credential_blob,
                           size_t blob_len, const uint8_t *secret, size_t secret_len,
                           uint8_t **ret_credential, size_t *ret_len)
{
	struct tpm_ctx *c = ctx;
	struct tpm_material m;
	TPM2B_ID_OBJECT blob = {0};
	TPM2B_ENCRYPTED_SECRET sec = {0};
	TPMT_SYM_DEF sym = {.algorithm = TPM2_ALG_NULL};
	TPM2B_TIMEOUT *timeout = NULL;
	TPMT_TK_AUTH *pticket = NULL;
	TPM2B_DIGEST *cred = NULL;
	TPM2B_PUBLIC *ek_pub = NULL;
	ESYS_TR key, ek = ESYS_TR_NONE, session = ESYS_TR_NONE;
	TSS2_RC rc;
	enum ts_err st;

	if (blob_len > sizeof(blob.credential) || secret_len > sizeof(sec.secret))
		return TS_E_PSA_INVALID_ARGUMENT;
	blob.size = (uint16_t)blob_len;
	memcpy(blob.credential, credential_blob, blob_len);
	sec.size = (uint16_t)secret_len;
	memcpy(sec.secret, secret, secret_len);
	pthread_mutex_lock(&c->lock);
	st = attested_material(c, attested, attesting, &m);
	if (st != TS_OK)
		goto out;
	tpm_cache_clear(c); /* root + key + EK: every slot swtpm has */
	st = tpm_cache_get(c, attested, &m, &key);
	if (st == TS_OK)
		st = make_ek(c, &ek, &ek_pub);
	if (st != TS_OK)
		goto out;
	rc = Esys_StartAuthSession(c->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
	                           ESYS_TR_NONE, NULL, TPM2_SE_POLICY, &sym, TPM2_ALG_SHA256,
	                           &session);
	/* Used once: the TPM ends it after ActivateCredential. */
	if (rc == TSS2_RC_SUCCESS)
		rc = Esys_TRSess_SetAttributes(c->esys, session, 0, TPMA_SESSION_CONTINUESESSION);
	if (rc == TSS2_RC_SUCCESS)
		rc = Esys_PolicySecret(c->esys, ESYS_TR_RH_ENDORSEMENT, session, ESYS_TR_PASSWORD,
		                       ESYS_TR_NONE, ESYS_TR_NONE, NULL, NULL, NULL, 0, &timeout,
		                       &pticket);
	if (rc != TSS2_RC_SUCCESS) {
		st = tpm_status(rc, "starting the EK's policy session (PolicySecret)");
		goto out;
	}
	rc = Esys_ActivateCredential(c->esys, key, ek, tpm_session(c, TPM_SESS_BOTH), session,
	                             ESYS_TR_NONE, &blob, &sec, &cred);
	if (rc == TSS2_RC_SUCCESS) {
		session = ESYS_TR_NONE; /* ended with the command */
		st = TS_E_NOMEM;
		*ret_credential = malloc(cred->size ? cred->size : 1);
		if (*ret_credential != NULL) {
			memcpy(*ret_credential, cred->buffer, cred->size);
			*ret_len = cred->size;
			st = TS_OK;
		}
	} else {
		TSS2_RC b = tpm_rc_base(rc);

		st = tpm_status(rc, "ActivateCredential");
		/* A credential made for another Name or EK, or damaged: the HMAC
		 * or the seed's decryption fails (libtpms may say "failure"). */
		if (b == TPM2_RC_INTEGRITY || b == TPM2_RC_VALUE || b == TPM2_RC_SIZE ||
		    b == TPM2_RC_FAILURE)
			st = TS_E_PSA_INVALID_ARGUMENT;
		else if (b == TPM2_RC_BAD_AUTH || b == TPM2_RC_AUTH_FAIL)
			st = TS_E_PSA_GENERIC_ERROR;
	}
out:
	if (session != ESYS_TR_NONE)
		(void)Esys_FlushContext(c->esys, session);
	if (ek != ESYS_TR_NONE)
		(void)Esys_FlushContext(c->esys, ek);
	pthread_mutex_unlock(&c->lock);
	if (cred != NULL)
		ts_wipe(cred, sizeof(*cred));
	Esys_Free(cred);
	Esys_Free(ek_pub);
	Esys_Free(timeout);
	Esys_Free(pticket);
	ts_wipe(&m, sizeof(m));
	return st;
}
