/* Software provider: RSA encryption and raw key agreement. */
#include "providers/software/software-priv.h"

#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/dh.h>
#include <openssl/rsa.h>

#include "common/secmem.h"

enum ts_err sw_asym_crypt(void *ctx, const struct psa_attrs *a, const uint8_t *mat, size_t mat_len,
                          const struct psa_alg *alg, bool encrypt, const uint8_t *in, size_t in_len,
                          const uint8_t *label, size_t label_len, uint8_t **ret, size_t *ret_len)
{
	EVP_PKEY *pk = NULL;
	EVP_PKEY_CTX *pc = NULL;
	uint8_t *out = NULL;
	size_t out_len = 0;
	enum ts_err err;

	err = sw_get_pkey(ctx, a, mat, mat_len, &pk);
	if (err != TS_OK)
		return err;
	err = TS_E_NOMEM;
	pc = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL);
	if (pc == NULL)
		goto out;
	err = TS_E_PSA_GENERIC_ERROR;
	if ((encrypt ? EVP_PKEY_encrypt_init(pc) : EVP_PKEY_decrypt_init(pc)) != 1)
		goto out;
	if (alg->kind == PSA_ENC_RSA_OAEP) {
		const EVP_MD *md = sw_md(alg->hash);

		if (md == NULL) {
			err = TS_E_PSA_NOT_SUPPORTED;
			goto out;
		}
		if (EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_OAEP_PADDING) != 1 ||
		    EVP_PKEY_CTX_set_rsa_oaep_md(pc, md) != 1 ||
		    EVP_PKEY_CTX_set_rsa_mgf1_md(pc, md) != 1)
			goto out;
		if (label_len > 0) {
			/* OpenSSL takes ownership of the label buffer. */
			void *l = OPENSSL_memdup(label, label_len);

			if (l == NULL ||
			    EVP_PKEY_CTX_set0_rsa_oaep_label(pc, l, (int)label_len) != 1) {
				OPENSSL_free(l);
				goto out;
			}
		}
	} else {
		/* PKCS#1 v1.5 has no label: PSA refuses one. */
		if (label_len > 0) {
			err = TS_E_PSA_INVALID_ARGUMENT;
			goto out;
		}
		if (EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PADDING) != 1)
			goto out;
	}
	if ((encrypt ? EVP_PKEY_encrypt(pc, NULL, &out_len, in, in_len)
	             : EVP_PKEY_decrypt(pc, NULL, &out_len, in, in_len)) != 1)
		goto out;
	err = TS_E_NOMEM;
	out = malloc(out_len ? out_len : 1);
	if (out == NULL)
		goto out;
	if ((encrypt ? EVP_PKEY_encrypt(pc, out, &out_len, in, in_len)
	             : EVP_PKEY_decrypt(pc, out, &out_len, in, in_len)) != 1) {
		/* Too long a plaintext, or a ciphertext that does not decrypt. */
		err = encrypt ? TS_E_PSA_INVALID_ARGUMENT : TS_E_PSA_INVALID_PADDING;
		ts_free_secret(out, out_len);
		out = NULL;
		goto out;
	}
	*ret = out;
	*ret_len = out_len;
	err = TS_OK;
out:
	EVP_PKEY_CTX_free(pc);
	EVP_PKEY_free(pk);
	return err;
}

enum ts_err sw_key_agreement(void *ctx, const struct psa_attrs *a, const uint8_t *mat,
                             size_t mat_len, const struct psa_alg *alg, const uint8_t *peer,
                             size_t peer_len, uint8_t **ret, size_t *ret_len)
{
	struct psa_attrs pa = *a;
	EVP_PKEY *pk = NULL, *pp = NULL;
	EVP_PKEY_CTX *pc = NULL;
	uint8_t *out = NULL;
	size_t out_len = 0;
	enum ts_err err;

	(void)ctx;
	if (!(alg->kind == PSA_KA_ECDH && a->type == PSA_KT_ECC_PAIR) &&
	    !(alg->kind == PSA_KA_FFDH && a->type == PSA_KT_DH_PAIR))
		return TS_E_PSA_NOT_SUPPORTED;
	err = sw_get_pkey(ctx, a, mat, mat_len, &pk);
	if (err != TS_OK)
		return err;
	/* The peer key is in PSA's public format for the same curve or group. */
	pa.type = a->type == PSA_KT_DH_PAIR ? PSA_KT_DH_PUBLIC : PSA_KT_ECC_PUBLIC;
	err = sw_load_pkey(&pa, peer, peer_len, &pp);
	if (err != TS_OK) {
		err = TS_E_PSA_INVALID_ARGUMENT;
		goto out;
	}
	err = TS_E_PSA_GENERIC_ERROR;
	pc = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL);
	if (pc == NULL || EVP_PKEY_derive_init(pc) != 1)
		goto out;
	/* PSA's raw FFDH output keeps the modulus' length (leading zeros). */
	if (a->type == PSA_KT_DH_PAIR && EVP_PKEY_CTX_set_dh_pad(pc, 1) != 1)
		goto out;
	if (EVP_PKEY_derive_set_peer(pc, pp) != 1) {
		err = TS_E_PSA_INVALID_ARGUMENT;
		goto out;
	}
	if (EVP_PKEY_derive(pc, NULL, &out_len) != 1)
		goto out;
	out = malloc(out_len);
	if (out == NULL) {
		err = TS_E_NOMEM;
		goto out;
	}
	if (EVP_PKEY_derive(pc, out, &out_len) != 1) {
		ts_free_secret(out, out_len);
		goto out;
	}
	*ret = out;
	*ret_len = out_len;
	err = TS_OK;
out:
	EVP_PKEY_CTX_free(pc);
	EVP_PKEY_free(pp);
	EVP_PKEY_free(pk);
	return err;
}
