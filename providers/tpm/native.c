/*
 * Keys another service made in this TPM (Parsec's TPM provider), taken over
 * by tessera-migrate through import_native.
 *
 * The native form (docs/tpm.md, "Keys made elsewhere"):
 *   TPM2B_PUBLIC | TPM2B_PRIVATE (size 0: a public key) | the key's auth
 *   value (the rest, at most a TPM2B_AUTH)
 * all in TPM marshalling. The key is loaded once under the root key (a
 * public key with LoadExternal) and flushed: a key made under another
 * primary, or whose public area is not the one it was created with, fails
 * the load and is refused.
 */
#include "providers/tpm/tpm-priv.h"

#include <string.h>

#include <tss2/tss2_mu.h>

#include "common/secmem.h"

/* Does the public area describe a key of these attributes? */
static bool matches(const struct psa_attrs *a, const TPMT_PUBLIC *p, bool has_private)
{
	switch (a->type) {
	case PSA_KT_ECC_PAIR:
	case PSA_KT_ECC_PUBLIC:
		return p->type == TPM2_ALG_ECC && has_private == (a->type == PSA_KT_ECC_PAIR) &&
		       p->parameters.eccDetail.curveID == tpm_curve(a->family, a->bits);
	case PSA_KT_RSA_PAIR:
	case PSA_KT_RSA_PUBLIC:
		return p->type == TPM2_ALG_RSA && has_private == (a->type == PSA_KT_RSA_PAIR) &&
		       p->parameters.rsaDetail.keyBits == a->bits &&
		       p->unique.rsa.size * 8u == a->bits;
	default:
		return false;
	}
}

/* Load the key once and flush it. */
static enum ts_err try_load(struct tpm_ctx *c, const TPM2B_PUBLIC *pub, const TPM2B_PRIVATE *priv)
{
	enum ts_err st = TS_OK;
	ESYS_TR h = ESYS_TR_NONE;

	if (priv != NULL && c->root == ESYS_TR_NONE)
		st = tpm_root_again(c);
	for (int tries = 3; st == TS_OK && tries > 0; tries--) {
		TSS2_RC rc = priv != NULL ? Esys_Load(c->esys, c->root, tpm_session(c, TPM_SESS_IN),
		                                      ESYS_TR_NONE, ESYS_TR_NONE, priv, pub, &h)
		                          : Esys_LoadExternal(c->esys, ESYS_TR_NONE, ESYS_TR_NONE,
		                                              ESYS_TR_NONE, NULL, pub,
		                                              ESYS_TR_RH_NULL, &h);

		if (tries > 1 && priv != NULL && tpm_objects_lost(rc)) {
			st = tpm_reattach(c);
			continue;
		}
		if (tries > 1 && rc == TPM2_RC_OBJECT_MEMORY && tpm_cache_flush_lru(c))
			continue;
		st = tpm_status(rc, priv != NULL ? "loading a key made elsewhere (Load)"
		                                 : "loading a public key made elsewhere "
		                                   "(LoadExternal)");
		break;
	}
	if (st == TS_OK)
		(void)Esys_FlushContext(c->esys, h);
	else if (st != TS_E_PSA_INSUFFICIENT_MEMORY && st != TS_E_PSA_COMMUNICATION_FAILURE &&
	         st != TS_E_PSA_HARDWARE_FAILURE)
		st = TS_E_PSA_DATA_INVALID; /* the TPM refuses this key */
	return st;
}

enum ts_err tpm_import_native(void *ctx, const struct prov_key *k, const uint8_t *data, size_t len,
                              uint8_t **ret_mat, size_t *ret_len)
{
	struct tpm_ctx *c = ctx;
	TPM2B_PUBLIC pub, tmpl;
	TPM2B_PRIVATE priv;
	size_t off = 0, auth_len;
	enum ts_err st;

	memset(&pub, 0, sizeof(pub));
	memset(&priv, 0, sizeof(priv));
	/* Keys of attributes this provider does not serve are refused here,
	 * not at their first use. */
	st = tpm_key_template(k->attrs, &tmpl);
	if (st != TS_OK)
		return st;
	if (Tss2_MU_TPM2B_PUBLIC_Unmarshal(data, len, &off, &pub) != TSS2_RC_SUCCESS ||
	    Tss2_MU_TPM2B_PRIVATE_Unmarshal(data, len, &off, &priv) != TSS2_RC_SUCCESS) {
		st = TS_E_PSA_INVALID_ARGUMENT;
		goto out;
	}
	auth_len = len - off;
	if (auth_len > sizeof(((TPM2B_AUTH *)0)->buffer) ||
	    !matches(k->attrs, &pub.publicArea, priv.size > 0)) {
		st = TS_E_PSA_INVALID_ARGUMENT;
		goto out;
	}
	pthread_mutex_lock(&c->lock);
	st = tpm_supports(c, &pub);
	if (st == TS_OK)
		st = try_load(c, &pub, priv.size > 0 ? &priv : NULL);
	pthread_mutex_unlock(&c->lock);
	if (st == TS_OK)
		st = tpm_material_pack(c, data + off, auth_len, &pub, priv.size > 0 ? &priv : NULL,
		                       ret_mat, ret_len);
out:
	ts_wipe(&priv, sizeof(priv));
	return st;
}
