/*
 * Software provider: multipart MAC, unauthenticated cipher and AEAD
 * operations (the mp_* hooks of providers/provider.h) for the PSA C API.
 *
 * Output rules follow the PSA Crypto API (and Mbed TLS, which the
 * psa-arch-tests compare against): a cipher update returns every whole
 * block it can (all bytes for CTR, CFB, OFB and stream ciphers), except that
 * CBC-PKCS#7 decryption keeps the last whole block for finish, where the
 * padding is checked. Every chunking gives the bytes the one-shot calls of
 * symmetric.c give.
 */
#include "providers/software/software-priv.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "common/secmem.h"

#define AEAD_FULL_TAG 16
#define CCM_BLOCK     16

/* Where the state is in its life; errors are sticky for the core, but the
 * provider also refuses calls out of order on its own. */
enum mp_phase { PH_SETUP, PH_READY, PH_DONE };

struct ccm {
	EVP_CIPHER_CTX *ecb; /* AES-ECB with the key: the block function */
	uint8_t mac[16];     /* CBC-MAC chaining value */
	uint8_t buf[16];     /* bytes of the current CBC-MAC block */
	size_t buf_len;
	uint8_t ctr[16]; /* the next counter block A_i */
	uint8_t ks[16];  /* keystream of the current counter block */
	size_t ks_pos;   /* used bytes of ks (16: none left) */
	uint8_t s0[16];  /* E(K, A_0): masks the tag */
	uint8_t nonce[13];
	size_t nonce_len;
	bool started;
};

struct mp {
	int kind;
	struct psa_alg alg;
	enum mp_phase phase;
	/* MAC */
	EVP_MAC_CTX *mx;
	size_t mac_len;
	/* cipher and AEAD (not CCM) */
	EVP_CIPHER_CTX *cx;
	size_t iv_len, block;
	int pad;
	bool encrypt, iv_set;
	uint64_t total; /* cipher: bytes in so far */
	/* AEAD */
	size_t tag_len;
	bool lengths_set, text_started;
	uint64_t ad_len, text_len; /* declared */
	uint64_t ad_seen, text_seen;
	struct ccm *ccm;
};

static bool is_mac(int kind)
{
	return kind == PROV_MP_MAC_SIGN || kind == PROV_MP_MAC_VERIFY;
}

static bool is_cipher(int kind)
{
	return kind == PROV_MP_CIPHER_ENCRYPT || kind == PROV_MP_CIPHER_DECRYPT;
}

static bool is_aead(int kind)
{
	return kind == PROV_MP_AEAD_ENCRYPT || kind == PROV_MP_AEAD_DECRYPT;
}

static void ccm_free(struct ccm *c)
{
	if (c == NULL)
		return;
	EVP_CIPHER_CTX_free(c->ecb);
	ts_free_secret(c, sizeof(*c));
}

static void mp_destroy(struct mp *m)
{
	if (m == NULL)
		return;
	EVP_MAC_CTX_free(m->mx);
	EVP_CIPHER_CTX_free(m->cx);
	ccm_free(m->ccm);
	ts_free_secret(m, sizeof(*m));
}

/* A malloc'd output buffer of at least one byte (malloc(0) may be NULL). */
static uint8_t *out_buf(size_t len)
{
	return malloc(len ? len : 1);
}

/* Hand over n bytes of buf (capacity cap): NULL and 0 when n is 0. */
static void give(uint8_t *buf, size_t cap, size_t n, uint8_t **ret, size_t *ret_len)
{
	if (n == 0) {
		ts_free_secret(buf, cap);
		buf = NULL;
	}
	*ret = buf;
	*ret_len = n;
}

/* ---- MAC ---- */

static enum ts_err mac_setup(struct mp *m, const struct prov_key *k)
{
	size_t full = 0;
	enum ts_err err;

	err = sw_mac_start(k->attrs, k->material, k->material_len, &m->alg, &m->mx, &full);
	if (err != TS_OK)
		return err;
	m->mac_len = m->alg.length ? m->alg.length : full;
	if (m->mac_len > full || m->mac_len < 4)
		return TS_E_PSA_INVALID_ARGUMENT;
	m->phase = PH_READY;
	return TS_OK;
}

/* The (truncated) MAC into out[EVP_MAX_MD_SIZE]. */
static enum ts_err mac_final(struct mp *m, uint8_t *out)
{
	size_t n = 0;

	m->phase = PH_DONE;
	if (EVP_MAC_final(m->mx, out, &n, EVP_MAX_MD_SIZE) != 1 || n < m->mac_len)
		return TS_E_PSA_GENERIC_ERROR;
	return TS_OK;
}

/* ---- unauthenticated ciphers ---- */

static enum ts_err cipher_setup(struct mp *m, const struct prov_key *k)
{
	EVP_CIPHER *c = sw_plain_cipher(k->attrs, m->alg.kind, &m->pad);
	enum ts_err err = TS_E_PSA_NOT_SUPPORTED;

	if (c == NULL)
		return err;
	m->iv_len = (size_t)EVP_CIPHER_get_iv_length(c);
	m->block = (size_t)EVP_CIPHER_get_block_size(c);
	m->encrypt = m->kind == PROV_MP_CIPHER_ENCRYPT;
	err = TS_E_PSA_INVALID_ARGUMENT;
	if (k->material_len * 8 != k->attrs->bits)
		goto out;
	err = TS_E_NOMEM;
	if ((m->cx = EVP_CIPHER_CTX_new()) == NULL)
		goto out;
	/* The key now, the IV when it comes (OpenSSL keeps the key schedule). */
	err = TS_E_PSA_GENERIC_ERROR;
	if (EVP_CipherInit_ex2(m->cx, c, k->material, NULL, m->encrypt, NULL) != 1 ||
	    EVP_CIPHER_CTX_set_padding(m->cx, m->pad) != 1)
		goto out;
	m->iv_set = m->iv_len == 0;
	m->phase = PH_READY;
	err = TS_OK;
out:
	EVP_CIPHER_free(c);
	return err;
}

static enum ts_err cipher_set_iv(struct mp *m, const uint8_t *iv, size_t len)
{
	uint8_t full[16] = {0};
	int rc;

	if (m->iv_set || m->total > 0)
		return TS_E_PSA_BAD_STATE; /* set twice, or a mode without an IV */
	if (m->alg.kind == SW_C_STREAM && len == 12) {
		/* ChaCha20 with the RFC 8439 nonce: OpenSSL's IV is a 32-bit
		 * little-endian block counter (0 here) followed by the nonce. */
		memcpy(full + 4, iv, 12);
		iv = full;
		len = 16;
	}
	if (len != m->iv_len)
		return TS_E_PSA_INVALID_ARGUMENT;
	rc = EVP_CipherInit_ex2(m->cx, NULL, NULL, iv, m->encrypt, NULL);
	ts_wipe(full, sizeof(full));
	if (rc != 1)
		return TS_E_PSA_GENERIC_ERROR;
	m->iv_set = true;
	return TS_OK;
}

static enum ts_err cipher_update(struct mp *m, const uint8_t *in, size_t len, uint8_t **ret,
                                 size_t *ret_len)
{
	size_t cap = len + m->block, done = 0, outn = 0;
	uint8_t *out;

	if (!m->iv_set)
		return TS_E_PSA_BAD_STATE;
	if ((out = out_buf(cap)) == NULL)
		return TS_E_NOMEM;
	/* EVP lengths are ints: feed large inputs in pieces. */
	while (done < len) {
		size_t chunk = len - done > (1u << 30) ? (1u << 30) : len - done;
		int n = 0;

		if (EVP_CipherUpdate(m->cx, out + outn, &n, in + done, (int)chunk) != 1) {
			ts_free_secret(out, cap);
			return TS_E_PSA_GENERIC_ERROR;
		}
		done += chunk;
		outn += (size_t)n;
	}
	m->total += len;
	give(out, cap, outn, ret, ret_len);
	return TS_OK;
}

static enum ts_err cipher_finish(struct mp *m, uint8_t **ret, size_t *ret_len)
{
	size_t cap = m->block;
	uint8_t *out;
	int n = 0;

	if (!m->iv_set)
		return TS_E_PSA_BAD_STATE;
	m->phase = PH_DONE;
	/* Modes without padding need whole blocks, and so does PKCS#7
	 * decryption (at least one). */
	if (m->block > 1 && (m->pad ? !m->encrypt : true) &&
	    (m->total % m->block != 0 || (m->pad && m->total == 0)))
		return TS_E_PSA_INVALID_ARGUMENT;
	if ((out = out_buf(cap)) == NULL)
		return TS_E_NOMEM;
	if (EVP_CipherFinal_ex(m->cx, out, &n) != 1) {
		ts_free_secret(out, cap);
		return m->pad && !m->encrypt ? TS_E_PSA_INVALID_PADDING : TS_E_PSA_GENERIC_ERROR;
	}
	give(out, cap, (size_t)n, ret, ret_len);
	return TS_OK;
}

/* ---- AEAD ---- */

/*
 * CCM (RFC 3610, NIST SP 800-38C) streams here on AES-ECB: OpenSSL's EVP CCM
 * takes the whole text in one call. The CBC-MAC runs over B0, the encoded
 * additional data and the text, each zero-padded to a block; the text is
 * encrypted with the counter blocks A_1, A_2, ... and the tag with A_0.
 */

static enum ts_err ccm_block(struct ccm *c, const uint8_t in[16], uint8_t out[16])
{
	int n = 0;

	if (EVP_EncryptUpdate(c->ecb, out, &n, in, CCM_BLOCK) != 1 || n != CCM_BLOCK)
		return TS_E_PSA_GENERIC_ERROR;
	return TS_OK;
}

/* Bytes into the CBC-MAC. */
static enum ts_err ccm_mac(struct ccm *c, const uint8_t *in, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		c->buf[c->buf_len++] = in[i];
		if (c->buf_len == CCM_BLOCK) {
			for (int j = 0; j < CCM_BLOCK; j++)
				c->mac[j] ^= c->buf[j];
			if (ccm_block(c, c->mac, c->mac) != TS_OK)
				return TS_E_PSA_GENERIC_ERROR;
			c->buf_len = 0;
		}
	}
	return TS_OK;
}

/* Zero-pad the CBC-MAC's current block (end of the AD, end of the text). */
static enum ts_err ccm_mac_pad(struct ccm *c)
{
	static const uint8_t zeros[CCM_BLOCK];

	return c->buf_len ? ccm_mac(c, zeros, CCM_BLOCK - c->buf_len) : TS_OK;
}

/* Once nonce and lengths are known: B0, the AD length's encoding, S_0. */
static enum ts_err ccm_start(struct mp *m)
{
	struct ccm *c = m->ccm;
	size_t q = 15 - c->nonce_len;
	uint8_t b0[16], enc[10];
	size_t enc_len = 0;
	enum ts_err err;

	/* The text length must fit in q bytes. */
	if (q < 8 && m->text_len >> (8 * q) != 0)
		return TS_E_PSA_INVALID_ARGUMENT;
	b0[0] = (uint8_t)((m->ad_len > 0 ? 0x40 : 0) | ((m->tag_len - 2) / 2) << 3 | (q - 1));
	memcpy(b0 + 1, c->nonce, c->nonce_len);
	for (size_t i = 0; i < q; i++)
		b0[15 - i] = (uint8_t)(i < 8 ? m->text_len >> (8 * i) : 0);
	memset(c->mac, 0, sizeof(c->mac));
	c->buf_len = 0;
	if ((err = ccm_mac(c, b0, sizeof(b0))) != TS_OK)
		return err;
	if (m->ad_len > 0) {
		/* RFC 3610 2.2: 2 bytes, or 0xfffe and 4 bytes, or 0xffff and 8. */
		size_t nb = m->ad_len < 0xff00 ? 2 : m->ad_len <= 0xffffffffu ? 4 : 8;

		enc_len = nb == 2 ? 2 : nb + 2;
		enc[0] = 0xff;
		enc[1] = nb == 4 ? 0xfe : 0xff;
		for (size_t i = 0; i < nb; i++)
			enc[enc_len - 1 - i] = (uint8_t)(m->ad_len >> (8 * i));
		if ((err = ccm_mac(c, enc, enc_len)) != TS_OK)
			return err;
	}
	/* A_0 masks the tag; the text starts at A_1. */
	c->ctr[0] = (uint8_t)(q - 1);
	memcpy(c->ctr + 1, c->nonce, c->nonce_len);
	memset(c->ctr + 1 + c->nonce_len, 0, q);
	if ((err = ccm_block(c, c->ctr, c->s0)) != TS_OK)
		return err;
	c->ctr[15] = 1;
	c->ks_pos = CCM_BLOCK;
	c->started = true;
	ts_wipe(b0, sizeof(b0));
	return TS_OK;
}

/* CTR over the text, and the plaintext into the CBC-MAC. */
static enum ts_err ccm_crypt(struct mp *m, const uint8_t *in, size_t len, uint8_t *out)
{
	struct ccm *c = m->ccm;
	size_t q = 15 - c->nonce_len;

	for (size_t i = 0; i < len; i++) {
		uint8_t p;

		if (c->ks_pos == CCM_BLOCK) {
			if (ccm_block(c, c->ctr, c->ks) != TS_OK)
				return TS_E_PSA_GENERIC_ERROR;
			for (size_t j = 0; j < q && ++c->ctr[15 - j] == 0; j++)
				;
			c->ks_pos = 0;
		}
		out[i] = in[i] ^ c->ks[c->ks_pos++];
		p = m->encrypt ? in[i] : out[i];
		if (ccm_mac(c, &p, 1) != TS_OK)
			return TS_E_PSA_GENERIC_ERROR;
	}
	return TS_OK;
}

/* The tag (tag_len bytes into tag[16]) once everything went in. */
static enum ts_err ccm_tag(struct mp *m, uint8_t tag[16])
{
	struct ccm *c = m->ccm;
	enum ts_err err;

	if (!c->started && (err = ccm_start(m)) != TS_OK)
		return err;
	if ((err = ccm_mac_pad(c)) != TS_OK)
		return err;
	for (int i = 0; i < CCM_BLOCK; i++)
		tag[i] = c->mac[i] ^ c->s0[i];
	return TS_OK;
}

static enum ts_err aead_setup(struct mp *m, const struct prov_key *k)
{
	uint8_t kind = m->alg.kind;
	EVP_CIPHER *c = sw_aead_cipher(k->attrs, kind);
	char name[32];
	enum ts_err err = TS_E_PSA_NOT_SUPPORTED;

	if (c == NULL)
		return err;
	m->encrypt = m->kind == PROV_MP_AEAD_ENCRYPT;
	m->tag_len = m->alg.length ? m->alg.length : AEAD_FULL_TAG;
	err = TS_E_PSA_INVALID_ARGUMENT;
	if (!psa_aead_tag_length_valid(kind, m->tag_len))
		goto out;
	if (k->material_len * 8 != k->attrs->bits)
		goto out;
	err = TS_E_NOMEM;
	if (kind == PSA_AEAD_CCM) {
		EVP_CIPHER *ecb;

		snprintf(name, sizeof(name), "%s-%u-ECB", sw_block_prefix(k->attrs->type),
		         k->attrs->bits);
		if ((m->ccm = calloc(1, sizeof(*m->ccm))) == NULL ||
		    (m->ccm->ecb = EVP_CIPHER_CTX_new()) == NULL)
			goto out;
		err = TS_E_PSA_GENERIC_ERROR;
		ecb = EVP_CIPHER_fetch(NULL, name, NULL);
		if (ecb == NULL ||
		    EVP_EncryptInit_ex2(m->ccm->ecb, ecb, k->material, NULL, NULL) != 1 ||
		    EVP_CIPHER_CTX_set_padding(m->ccm->ecb, 0) != 1) {
			EVP_CIPHER_free(ecb);
			goto out;
		}
		EVP_CIPHER_free(ecb);
	} else {
		if ((m->cx = EVP_CIPHER_CTX_new()) == NULL)
			goto out;
		err = TS_E_PSA_GENERIC_ERROR;
		if (EVP_CipherInit_ex2(m->cx, c, k->material, NULL, m->encrypt, NULL) != 1)
			goto out;
	}
	m->phase = PH_READY;
	err = TS_OK;
out:
	EVP_CIPHER_free(c);
	return err;
}

static enum ts_err aead_set_nonce(struct mp *m, const uint8_t *nonce, size_t len)
{
	uint8_t kind = m->alg.kind;

	if (m->iv_set)
		return TS_E_PSA_BAD_STATE;
	if ((kind == PSA_AEAD_CCM && (len < 7 || len > 13)) ||
	    (kind == PSA_AEAD_CHACHA20_POLY1305 && len != 12) || len == 0)
		return TS_E_PSA_INVALID_ARGUMENT;
	if (kind == PSA_AEAD_CCM) {
		if (m->lengths_set && 15 - len < 8 && m->text_len >> (8 * (15 - len)) != 0)
			return TS_E_PSA_INVALID_ARGUMENT;
		memcpy(m->ccm->nonce, nonce, len);
		m->ccm->nonce_len = len;
	} else {
		if (kind == PSA_AEAD_GCM &&
		    EVP_CIPHER_CTX_ctrl(m->cx, EVP_CTRL_AEAD_SET_IVLEN, (int)len, NULL) != 1)
			return TS_E_PSA_INVALID_ARGUMENT; /* longer than OpenSSL takes */
		if (EVP_CipherInit_ex2(m->cx, NULL, NULL, nonce, m->encrypt, NULL) != 1)
			return TS_E_PSA_GENERIC_ERROR;
	}
	m->iv_set = true;
	return TS_OK;
}

static enum ts_err aead_set_lengths(struct mp *m, uint64_t ad_len, uint64_t text_len)
{
	if (m->lengths_set || m->text_started || m->ad_seen > 0)
		return TS_E_PSA_BAD_STATE;
	if (m->ccm != NULL && m->iv_set && m->ccm->nonce_len > 7 &&
	    text_len >> (8 * (15 - m->ccm->nonce_len)) != 0)
		return TS_E_PSA_INVALID_ARGUMENT;
	m->ad_len = ad_len;
	m->text_len = text_len;
	m->lengths_set = true;
	return TS_OK;
}

static enum ts_err aead_update(struct mp *m, bool ad, const uint8_t *in, size_t len, uint8_t **ret,
                               size_t *ret_len)
{
	uint8_t *out = NULL;
	size_t done = 0, outn = 0;
	enum ts_err err;

	if (!m->iv_set || (m->ccm != NULL && !m->lengths_set))
		return TS_E_PSA_BAD_STATE; /* CCM needs the lengths before any data */
	if (ad && m->text_started)
		return TS_E_PSA_BAD_STATE;
	if (m->lengths_set && (ad ? len > m->ad_len - m->ad_seen
	                          : m->ad_seen != m->ad_len || len > m->text_len - m->text_seen))
		return TS_E_PSA_INVALID_ARGUMENT;
	if (m->ccm != NULL && !m->ccm->started && (err = ccm_start(m)) != TS_OK)
		return err;
	if (ad) {
		if (m->ccm != NULL) {
			if ((err = ccm_mac(m->ccm, in, len)) != TS_OK)
				return err;
		}
		while (m->ccm == NULL && done < len) {
			size_t chunk = len - done > (1u << 30) ? (1u << 30) : len - done;
			int n = 0;

			if (EVP_CipherUpdate(m->cx, NULL, &n, in + done, (int)chunk) != 1)
				return TS_E_PSA_GENERIC_ERROR;
			done += chunk;
		}
		m->ad_seen += len;
		*ret = NULL;
		*ret_len = 0;
		return TS_OK;
	}
	if (m->ccm != NULL && !m->text_started && (err = ccm_mac_pad(m->ccm)) != TS_OK)
		return err;
	m->text_started = true;
	if (len == 0) {
		*ret = NULL;
		*ret_len = 0;
		return TS_OK;
	}
	if ((out = out_buf(len)) == NULL)
		return TS_E_NOMEM;
	if (m->ccm != NULL) {
		err = ccm_crypt(m, in, len, out);
		outn = len;
	} else {
		for (err = TS_OK; done < len && err == TS_OK;) {
			size_t chunk = len - done > (1u << 30) ? (1u << 30) : len - done;
			int n = 0;

			if (EVP_CipherUpdate(m->cx, out + outn, &n, in + done, (int)chunk) != 1)
				err = TS_E_PSA_GENERIC_ERROR;
			done += chunk;
			outn += (size_t)n;
		}
	}
	if (err != TS_OK) {
		ts_free_secret(out, len);
		return err;
	}
	m->text_seen += len;
	give(out, len, outn, ret, ret_len);
	return TS_OK;
}

/* Common to finish and verify: the data matches the declared lengths. */
static enum ts_err aead_end(struct mp *m)
{
	if (!m->iv_set || (m->ccm != NULL && !m->lengths_set))
		return TS_E_PSA_BAD_STATE;
	m->phase = PH_DONE;
	if (m->lengths_set && (m->ad_seen != m->ad_len || m->text_seen != m->text_len))
		return TS_E_PSA_INVALID_ARGUMENT;
	return TS_OK;
}

static enum ts_err aead_finish(struct mp *m, uint8_t **ret, size_t *ret_len, uint8_t **ret_tag,
                               size_t *ret_tag_len)
{
	uint8_t full[16], *tag = NULL;
	enum ts_err err;
	int n = 0;

	if ((err = aead_end(m)) != TS_OK)
		return err;
	if (m->ccm != NULL) {
		err = ccm_tag(m, full);
	} else {
		err = TS_E_PSA_GENERIC_ERROR;
		/* GCM and ChaCha20-Poly1305 have nothing left to output. */
		if (EVP_CipherFinal_ex(m->cx, full, &n) == 1 && n == 0 &&
		    EVP_CIPHER_CTX_ctrl(m->cx, EVP_CTRL_AEAD_GET_TAG, (int)m->tag_len, full) == 1)
			err = TS_OK;
	}
	if (err == TS_OK && (tag = malloc(m->tag_len)) == NULL)
		err = TS_E_NOMEM;
	if (err == TS_OK) {
		memcpy(tag, full, m->tag_len);
		*ret = NULL;
		*ret_len = 0;
		*ret_tag = tag;
		*ret_tag_len = m->tag_len;
	}
	ts_wipe(full, sizeof(full));
	return err;
}

static enum ts_err aead_verify(struct mp *m, const uint8_t *tag, size_t len, uint8_t **ret,
                               size_t *ret_len)
{
	uint8_t full[16];
	enum ts_err err;
	int n = 0;

	if ((err = aead_end(m)) != TS_OK)
		return err;
	if (len != m->tag_len)
		return TS_E_PSA_INVALID_SIGNATURE;
	if (m->ccm != NULL) {
		err = ccm_tag(m, full);
		if (err == TS_OK && CRYPTO_memcmp(full, tag, len) != 0)
			err = TS_E_PSA_INVALID_SIGNATURE;
	} else {
		err = TS_E_PSA_GENERIC_ERROR;
		if (EVP_CIPHER_CTX_ctrl(m->cx, EVP_CTRL_AEAD_SET_TAG, (int)len, (void *)tag) == 1)
			err = EVP_CipherFinal_ex(m->cx, full, &n) == 1 && n == 0
			              ? TS_OK
			              : TS_E_PSA_INVALID_SIGNATURE;
	}
	ts_wipe(full, sizeof(full));
	if (err == TS_OK) {
		*ret = NULL;
		*ret_len = 0;
	}
	return err;
}

/* ---- the hooks ---- */

enum ts_err sw_mp_setup(void *ctx, int kind, const struct prov_key *k, const struct psa_alg *alg,
                        void **ret_state)
{
	struct mp *m;
	enum ts_err err;

	(void)ctx;
	if ((is_mac(kind) && alg->cls != PSA_AC_MAC) ||
	    (is_cipher(kind) && alg->cls != PSA_AC_CIPHER) ||
	    (is_aead(kind) && alg->cls != PSA_AC_AEAD) ||
	    (!is_mac(kind) && !is_cipher(kind) && !is_aead(kind)))
		return TS_E_PSA_INVALID_ARGUMENT;
	if ((m = calloc(1, sizeof(*m))) == NULL)
		return TS_E_NOMEM;
	m->kind = kind;
	m->alg = *alg;
	err = is_mac(kind)      ? mac_setup(m, k)
	      : is_cipher(kind) ? cipher_setup(m, k)
	                        : aead_setup(m, k);
	if (err != TS_OK) {
		mp_destroy(m);
		return err;
	}
	*ret_state = m;
	return TS_OK;
}

enum ts_err sw_mp_set_iv(void *ctx, void *state, const uint8_t *iv, size_t len)
{
	struct mp *m = state;

	(void)ctx;
	if (m->phase != PH_READY || is_mac(m->kind))
		return TS_E_PSA_BAD_STATE;
	return is_cipher(m->kind) ? cipher_set_iv(m, iv, len) : aead_set_nonce(m, iv, len);
}

enum ts_err sw_mp_set_lengths(void *ctx, void *state, uint64_t ad_len, uint64_t text_len)
{
	struct mp *m = state;

	(void)ctx;
	if (m->phase != PH_READY || !is_aead(m->kind))
		return TS_E_PSA_BAD_STATE;
	return aead_set_lengths(m, ad_len, text_len);
}

enum ts_err sw_mp_update(void *ctx, void *state, bool ad, const uint8_t *in, size_t len,
                         uint8_t **ret, size_t *ret_len)
{
	struct mp *m = state;

	(void)ctx;
	if (m->phase != PH_READY || (ad && !is_aead(m->kind)))
		return TS_E_PSA_BAD_STATE;
	if (is_mac(m->kind)) {
		if (len > 0 && EVP_MAC_update(m->mx, in, len) != 1)
			return TS_E_PSA_GENERIC_ERROR;
		*ret = NULL;
		*ret_len = 0;
		return TS_OK;
	}
	if (is_cipher(m->kind))
		return cipher_update(m, in, len, ret, ret_len);
	return aead_update(m, ad, in, len, ret, ret_len);
}

enum ts_err sw_mp_finish(void *ctx, void *state, uint8_t **ret, size_t *ret_len, uint8_t **ret_tag,
                         size_t *ret_tag_len)
{
	struct mp *m = state;
	uint8_t full[EVP_MAX_MD_SIZE];
	uint8_t *out;
	enum ts_err err;

	(void)ctx;
	if (m->phase != PH_READY || m->kind == PROV_MP_MAC_VERIFY ||
	    m->kind == PROV_MP_AEAD_DECRYPT)
		return TS_E_PSA_BAD_STATE;
	if (is_aead(m->kind))
		return aead_finish(m, ret, ret_len, ret_tag, ret_tag_len);
	if (is_cipher(m->kind))
		err = cipher_finish(m, ret, ret_len);
	else if ((err = mac_final(m, full)) == TS_OK) {
		if ((out = malloc(m->mac_len)) == NULL) {
			err = TS_E_NOMEM;
		} else {
			memcpy(out, full, m->mac_len);
			*ret = out;
			*ret_len = m->mac_len;
		}
		ts_wipe(full, sizeof(full));
	}
	if (err == TS_OK && ret_tag != NULL) {
		*ret_tag = NULL;
		*ret_tag_len = 0;
	}
	return err;
}

enum ts_err sw_mp_verify(void *ctx, void *state, const uint8_t *expected, size_t len, uint8_t **ret,
                         size_t *ret_len)
{
	struct mp *m = state;
	uint8_t full[EVP_MAX_MD_SIZE];
	enum ts_err err;

	(void)ctx;
	if (m->phase != PH_READY)
		return TS_E_PSA_BAD_STATE;
	if (m->kind == PROV_MP_AEAD_DECRYPT)
		return aead_verify(m, expected, len, ret, ret_len);
	if (m->kind != PROV_MP_MAC_VERIFY)
		return TS_E_PSA_BAD_STATE;
	err = mac_final(m, full);
	if (err == TS_OK && (len != m->mac_len || CRYPTO_memcmp(full, expected, m->mac_len) != 0))
		err = TS_E_PSA_INVALID_SIGNATURE;
	ts_wipe(full, sizeof(full));
	if (err == TS_OK && ret != NULL) {
		*ret = NULL;
		*ret_len = 0;
	}
	return err;
}

enum ts_err sw_mp_clone(void *ctx, void *state, void **ret_state)
{
	struct mp *m = state, *c;

	(void)ctx;
	if (!is_mac(m->kind))
		return TS_E_PSA_NOT_SUPPORTED;
	if (m->phase != PH_READY)
		return TS_E_PSA_BAD_STATE;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return TS_E_NOMEM;
	*c = *m;
	c->cx = NULL;
	c->ccm = NULL;
	if ((c->mx = EVP_MAC_CTX_dup(m->mx)) == NULL) {
		mp_destroy(c);
		return TS_E_NOMEM;
	}
	*ret_state = c;
	return TS_OK;
}

void sw_mp_free(void *ctx, void *state)
{
	(void)ctx;
	mp_destroy(state);
}
