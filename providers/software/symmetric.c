/*
 * Software provider: AEAD, unauthenticated ciphers and MACs on raw
 * symmetric keys.
 */
#include "providers/software/software-priv.h"

#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "common/secmem.h"

#define AEAD_FULL_TAG 16

const char *sw_block_prefix(uint8_t type)
{
	return type == PSA_KT_AES ? "AES" : type == PSA_KT_CAMELLIA ? "CAMELLIA" : NULL;
}

EVP_CIPHER *sw_aead_cipher(const struct psa_attrs *a, uint8_t kind)
{
	char name[32];
	const char *pfx = sw_block_prefix(a->type);

	if (kind == PSA_AEAD_CHACHA20_POLY1305)
		return a->type == PSA_KT_CHACHA20
		               ? EVP_CIPHER_fetch(NULL, "ChaCha20-Poly1305", NULL)
		               : NULL;
	if (pfx == NULL)
		return NULL;
	snprintf(name, sizeof(name), "%s-%u-%s", pfx, a->bits,
	         kind == PSA_AEAD_GCM ? "GCM" : "CCM");
	return EVP_CIPHER_fetch(NULL, name, NULL);
}

enum ts_err sw_aead(void *ctx, const struct psa_attrs *a, const uint8_t *key, size_t key_len,
                    const struct psa_alg *alg, bool encrypt, const uint8_t *nonce, size_t nonce_len,
                    const uint8_t *ad, size_t ad_len, const uint8_t *in, size_t in_len,
                    uint8_t **ret, size_t *ret_len)
{
	EVP_CIPHER *c = sw_aead_cipher(a, alg->kind);
	EVP_CIPHER_CTX *cx = NULL;
	size_t tag_len = alg->length ? alg->length : AEAD_FULL_TAG;
	size_t body_len, out_len;
	uint8_t *out = NULL;
	int n, ccm = alg->kind == PSA_AEAD_CCM;
	enum ts_err err = TS_E_PSA_INVALID_ARGUMENT;

	(void)ctx;
	if (c == NULL)
		return TS_E_PSA_NOT_SUPPORTED;
	if (key_len * 8 != a->bits)
		goto out;
	if (!psa_aead_tag_length_valid(alg->kind, tag_len))
		goto out;
	if ((ccm && (nonce_len < 7 || nonce_len > 13)) ||
	    (alg->kind == PSA_AEAD_CHACHA20_POLY1305 && nonce_len != 12) ||
	    (alg->kind == PSA_AEAD_GCM && nonce_len == 0))
		goto out;
	if (!encrypt && in_len < tag_len) {
		err = TS_E_PSA_INVALID_SIGNATURE;
		goto out;
	}
	body_len = encrypt ? in_len : in_len - tag_len;
	out_len = encrypt ? in_len + tag_len : body_len;
	out = malloc(out_len ? out_len : 1);
	cx = EVP_CIPHER_CTX_new();
	if (out == NULL || cx == NULL) {
		err = TS_E_NOMEM;
		goto out;
	}
	err = TS_E_PSA_GENERIC_ERROR;
	if (EVP_CipherInit_ex2(cx, c, NULL, NULL, encrypt, NULL) != 1 ||
	    EVP_CIPHER_CTX_ctrl(cx, EVP_CTRL_AEAD_SET_IVLEN, (int)nonce_len, NULL) != 1)
		goto out;
	if (ccm && EVP_CIPHER_CTX_ctrl(cx, EVP_CTRL_AEAD_SET_TAG, (int)tag_len,
	                               encrypt ? NULL : (void *)(in + body_len)) != 1)
		goto out;
	if (EVP_CipherInit_ex2(cx, NULL, key, nonce, encrypt, NULL) != 1)
		goto out;
	/* CCM must be told the length before any data. */
	if (ccm && EVP_CipherUpdate(cx, NULL, &n, NULL, (int)body_len) != 1)
		goto out;
	if (ad_len > 0 && EVP_CipherUpdate(cx, NULL, &n, ad, (int)ad_len) != 1)
		goto out;
	if (!encrypt && !ccm &&
	    EVP_CIPHER_CTX_ctrl(cx, EVP_CTRL_AEAD_SET_TAG, (int)tag_len, (void *)(in + body_len)) !=
	            1)
		goto out;
	/* CCM computes (or checks) the tag in this call, even over no text. */
	if ((body_len > 0 || ccm) &&
	    EVP_CipherUpdate(cx, out, &n, body_len ? in : out, (int)body_len) != 1) {
		err = encrypt ? TS_E_PSA_GENERIC_ERROR
		              : TS_E_PSA_INVALID_SIGNATURE; /* CCM checks here */
		goto out;
	}
	if (!ccm && EVP_CipherFinal_ex(cx, out + body_len, &n) != 1) {
		err = encrypt ? TS_E_PSA_GENERIC_ERROR : TS_E_PSA_INVALID_SIGNATURE;
		goto out;
	}
	if (encrypt &&
	    EVP_CIPHER_CTX_ctrl(cx, EVP_CTRL_AEAD_GET_TAG, (int)tag_len, out + body_len) != 1)
		goto out;
	*ret = out;
	*ret_len = out_len;
	out = NULL;
	err = TS_OK;
out:
	if (out != NULL)
		ts_free_secret(out, out_len);
	EVP_CIPHER_CTX_free(cx);
	EVP_CIPHER_free(c);
	return err;
}

EVP_CIPHER *sw_plain_cipher(const struct psa_attrs *a, uint8_t kind, int *ret_pad)
{
	static const char *const modes[] = {
	        [SW_C_CTR] = "CTR", [SW_C_CFB] = "CFB",       [SW_C_OFB] = "OFB",
	        [SW_C_ECB] = "ECB", [SW_C_CBC_NOPAD] = "CBC", [SW_C_CBC_PKCS7] = "CBC"};
	const char *pfx = sw_block_prefix(a->type);
	char name[32];

	*ret_pad = kind == SW_C_CBC_PKCS7;
	if (kind == SW_C_STREAM)
		return a->type == PSA_KT_CHACHA20 ? EVP_CIPHER_fetch(NULL, "ChaCha20", NULL) : NULL;
	if (pfx == NULL || kind >= sizeof(modes) / sizeof(modes[0]) || modes[kind] == NULL)
		return NULL;
	snprintf(name, sizeof(name), "%s-%u-%s", pfx, a->bits, modes[kind]);
	return EVP_CIPHER_fetch(NULL, name, NULL);
}

enum ts_err sw_cipher(void *ctx, const struct psa_attrs *a, const uint8_t *key, size_t key_len,
                      const struct psa_alg *alg, bool encrypt, const uint8_t *in, size_t in_len,
                      uint8_t **ret, size_t *ret_len)
{
	int pad = 0, n1 = 0, n2 = 0;
	EVP_CIPHER *c = sw_plain_cipher(a, alg->kind, &pad);
	EVP_CIPHER_CTX *cx = NULL;
	uint8_t iv[16], *out = NULL;
	size_t iv_len, block, cap = 0;
	enum ts_err err = TS_E_PSA_INVALID_ARGUMENT;

	(void)ctx;
	if (c == NULL)
		return TS_E_PSA_NOT_SUPPORTED;
	iv_len = (size_t)EVP_CIPHER_get_iv_length(c);
	block = (size_t)EVP_CIPHER_get_block_size(c);
	if (key_len * 8 != a->bits || iv_len > sizeof(iv))
		goto out;
	/* Modes without padding need whole blocks. */
	if (!pad && block > 1 &&
	    (encrypt ? in_len : in_len - (in_len < iv_len ? 0 : iv_len)) % block)
		goto out;
	if (encrypt) {
		/* A fresh random IV, sent in front of the ciphertext (Parsec's format). */
		if (iv_len > 0 && RAND_bytes(iv, (int)iv_len) != 1) {
			err = TS_E_PSA_INSUFFICIENT_ENTROPY;
			goto out;
		}
	} else {
		if (in_len < iv_len)
			goto out;
		memcpy(iv, in, iv_len);
		in += iv_len;
		in_len -= iv_len;
	}
	cap = iv_len + in_len + block;
	out = malloc(cap);
	cx = EVP_CIPHER_CTX_new();
	if (out == NULL || cx == NULL) {
		err = TS_E_NOMEM;
		goto out;
	}
	err = TS_E_PSA_GENERIC_ERROR;
	if (EVP_CipherInit_ex2(cx, c, key, iv_len ? iv : NULL, encrypt, NULL) != 1 ||
	    EVP_CIPHER_CTX_set_padding(cx, pad) != 1)
		goto out;
	if (encrypt)
		memcpy(out, iv, iv_len);
	if (EVP_CipherUpdate(cx, out + (encrypt ? iv_len : 0), &n1, in, (int)in_len) != 1)
		goto out;
	if (EVP_CipherFinal_ex(cx, out + (encrypt ? iv_len : 0) + n1, &n2) != 1) {
		err = encrypt ? TS_E_PSA_GENERIC_ERROR : TS_E_PSA_INVALID_PADDING;
		goto out;
	}
	*ret = out;
	*ret_len = (encrypt ? iv_len : 0) + (size_t)n1 + (size_t)n2;
	out = NULL;
	err = TS_OK;
out:
	if (out != NULL)
		ts_free_secret(out, cap);
	ts_wipe(iv, sizeof(iv));
	EVP_CIPHER_CTX_free(cx);
	EVP_CIPHER_free(c);
	return err;
}

enum ts_err sw_mac_start(const struct psa_attrs *a, const uint8_t *key, size_t key_len,
                         const struct psa_alg *alg, EVP_MAC_CTX **ret, size_t *ret_full_len)
{
	EVP_MAC *mac = NULL;
	EVP_MAC_CTX *mx = NULL;
	OSSL_PARAM params[2];
	char cipher[32];
	enum ts_err err = TS_E_PSA_NOT_SUPPORTED;

	if (alg->kind == PSA_MAC_HMAC) {
		const EVP_MD *md = sw_md(alg->hash);

		if (md == NULL)
			return err;
		mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
		params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
		                                             (char *)EVP_MD_get0_name(md), 0);
	} else if (alg->kind == PSA_MAC_CMAC && sw_block_prefix(a->type) != NULL) {
		snprintf(cipher, sizeof(cipher), "%s-%u-CBC", sw_block_prefix(a->type), a->bits);
		mac = EVP_MAC_fetch(NULL, "CMAC", NULL);
		params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER, cipher, 0);
	} else {
		return err; /* CBC-MAC is unsafe for variable lengths; not offered */
	}
	params[1] = OSSL_PARAM_construct_end();
	err = TS_E_PSA_GENERIC_ERROR;
	if (mac == NULL || (mx = EVP_MAC_CTX_new(mac)) == NULL ||
	    EVP_MAC_init(mx, key, key_len, params) != 1)
		goto out;
	*ret_full_len = EVP_MAC_CTX_get_mac_size(mx);
	*ret = mx;
	mx = NULL;
	err = TS_OK;
out:
	EVP_MAC_CTX_free(mx);
	EVP_MAC_free(mac);
	return err;
}

enum ts_err sw_mac(void *ctx, const struct psa_attrs *a, const uint8_t *key, size_t key_len,
                   const struct psa_alg *alg, const uint8_t *in, size_t in_len, uint8_t **ret,
                   size_t *ret_len)
{
	EVP_MAC_CTX *mx = NULL;
	uint8_t full[EVP_MAX_MD_SIZE];
	size_t full_len = 0, out_len;
	uint8_t *out;
	enum ts_err err;

	(void)ctx;
	err = sw_mac_start(a, key, key_len, alg, &mx, &full_len);
	if (err != TS_OK)
		return err;
	err = TS_E_PSA_GENERIC_ERROR;
	if (EVP_MAC_update(mx, in, in_len) != 1 ||
	    EVP_MAC_final(mx, full, &full_len, sizeof(full)) != 1)
		goto out;
	out_len = alg->length ? alg->length : full_len;
	err = TS_E_PSA_INVALID_ARGUMENT;
	if (out_len > full_len || out_len < 4)
		goto out;
	err = TS_E_NOMEM;
	out = malloc(out_len);
	if (out == NULL)
		goto out;
	memcpy(out, full, out_len);
	*ret = out;
	*ret_len = out_len;
	err = TS_OK;
out:
	ts_wipe(full, sizeof(full));
	EVP_MAC_CTX_free(mx);
	return err;
}
