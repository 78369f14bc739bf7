/*
 * Multipart HMAC and AES-GCM operations that live across requests (the PSA
 * C API's). A PKCS#11 operation belongs to a session until it ends, so each
 * one gets a session of its own, opened for it and closed with it: the pool
 * that one-shot requests use (and whose size is the instance's concurrency
 * contract) is never held by a client between requests. At most
 * P11_MP_SESSIONS are open at once; past that, PsaErrorInsufficientMemory.
 *
 * PKCS#11 takes GCM's nonce and additional data when the operation starts,
 * while PSA gives them step by step: both are kept here and the token's
 * operation starts at the first text (or at the end); the additional data
 * is bounded by P11_MP_MAX_AD. GCM decryption is not
 * offered in parts: PKCS#11 releases no plaintext before the tag is checked
 * (SoftHSM 2.6 buffers it and then fails the second C_DecryptUpdate with
 * CKR_BUFFER_TOO_SMALL for the whole amount), so the plaintext would come
 * only at the end, which PSA's output bounds do not allow; the one-shot
 * decryption serves it. A MAC is computed with
 * C_Sign* also to verify, compared here in constant time, so a truncated MAC
 * verifies too. Plain ciphers are not offered by this provider at all.
 */
#include "providers/pkcs11/pkcs11-priv.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "common/secmem.h"

struct p11_mp {
	int kind;
	CK_SESSION_HANDLE s;
	CK_OBJECT_HANDLE o;
	CK_MECHANISM_TYPE mech;
	size_t mac_len; /* MAC: the (possibly truncated) length */
	size_t tag_len; /* GCM */
	bool started;   /* GCM: the token's operation is running */
	bool ended;     /* finished or failed in the token */
	uint8_t nonce[256];
	size_t nonce_len;
	uint8_t *ad; /* GCM: the additional data, given whole to C_EncryptInit */
	size_t ad_len, ad_cap;
};

static bool is_mac(const struct p11_mp *m)
{
	return m->kind == PROV_MP_MAC_SIGN || m->kind == PROV_MP_MAC_VERIFY;
}

unsigned p11_mp_slots(void *ctx)
{
	(void)ctx;
	return P11_MP_SESSIONS;
}

enum ts_err p11_mp_setup(void *ctx, int kind, const struct prov_key *k, const struct psa_alg *alg,
                         void **ret_state)
{
	struct p11 *p = ctx;
	struct p11_mp *m;
	enum ts_err err;
	CK_RV rv;

	if (kind == PROV_MP_CIPHER_ENCRYPT || kind == PROV_MP_CIPHER_DECRYPT ||
	    kind == PROV_MP_AEAD_DECRYPT)
		return TS_E_PSA_NOT_SUPPORTED;
	if (kind == PROV_MP_MAC_SIGN || kind == PROV_MP_MAC_VERIFY) {
		if (k->attrs->type != PSA_KT_HMAC || alg->cls != PSA_AC_MAC ||
		    alg->kind != PSA_MAC_HMAC)
			return TS_E_PSA_NOT_SUPPORTED;
	} else if (k->attrs->type != PSA_KT_AES || alg->cls != PSA_AC_AEAD ||
	           alg->kind != PSA_AEAD_GCM) {
		return TS_E_PSA_NOT_SUPPORTED;
	}
	m = calloc(1, sizeof(*m));
	if (m == NULL)
		return TS_E_NOMEM;
	m->kind = kind;
	if (!p11_secret_mech(alg, &m->mech)) {
		free(m);
		return TS_E_PSA_NOT_SUPPORTED;
	}
	if (is_mac(m)) {
		m->mac_len = psa_hash_size(alg->hash);
		/* A truncated MAC of 4 bytes up to the full length, as the
		 * software provider takes it. */
		if (alg->length != 0 && (alg->length < 4 || alg->length > m->mac_len)) {
			free(m);
			return TS_E_PSA_INVALID_ARGUMENT;
		}
		if (alg->length != 0)
			m->mac_len = alg->length;
	} else {
		m->tag_len = alg->length != 0 ? alg->length : 16;
		if (!psa_aead_tag_length_valid(PSA_AEAD_GCM, m->tag_len)) {
			free(m);
			return TS_E_PSA_INVALID_ARGUMENT;
		}
	}
	pthread_mutex_lock(&p->lock);
	err = p->mp_open >= P11_MP_SESSIONS ? TS_E_PSA_INSUFFICIENT_MEMORY : TS_OK;
	if (err == TS_OK)
		p->mp_open++;
	pthread_mutex_unlock(&p->lock);
	if (err != TS_OK) {
		free(m);
		return err;
	}
	/* Sessions share the application's login. */
	rv = p->f->C_OpenSession(p->slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &m->s);
	err = p11_status(rv);
	if (err == TS_OK)
		err = p11_find(p, m->s, k, CKO_SECRET_KEY, &m->o);
	if (err == TS_OK && is_mac(m)) {
		CK_MECHANISM mech = {m->mech, NULL, 0};

		err = p11_status(p->f->C_SignInit(m->s, &mech, m->o));
	}
	if (err != TS_OK) {
		m->ended = true;
		p11_mp_free(p, m);
		return err;
	}
	*ret_state = m;
	return TS_OK;
}

enum ts_err p11_mp_set_iv(void *ctx, void *state, const uint8_t *iv, size_t len)
{
	struct p11_mp *m = state;

	(void)ctx;
	if (is_mac(m) || m->started || m->ended || m->nonce_len != 0)
		return TS_E_PSA_BAD_STATE;
	if (len == 0 || len > sizeof(m->nonce))
		return TS_E_PSA_INVALID_ARGUMENT;
	memcpy(m->nonce, iv, len);
	m->nonce_len = len;
	return TS_OK;
}

enum ts_err p11_mp_set_lengths(void *ctx, void *state, uint64_t ad_len, uint64_t text_len)
{
	struct p11_mp *m = state;

	(void)ctx;
	/* GCM needs no lengths (the core checks the data against them). */
	(void)ad_len;
	(void)text_len;
	return is_mac(m) || m->started || m->ended ? TS_E_PSA_BAD_STATE : TS_OK;
}

/* GCM encryption: start the token's operation with the nonce and the
 * additional data. */
static enum ts_err gcm_start(struct p11 *p, struct p11_mp *m)
{
	CK_GCM_PARAMS gp = {.pIv = m->nonce,
	                    .ulIvLen = (CK_ULONG)m->nonce_len,
	                    .ulIvBits = (CK_ULONG)m->nonce_len * 8,
	                    .pAAD = m->ad,
	                    .ulAADLen = (CK_ULONG)m->ad_len,
	                    .ulTagBits = (CK_ULONG)m->tag_len * 8};
	CK_MECHANISM mech = {CKM_AES_GCM, &gp, sizeof(gp)};
	CK_RV rv;

	if (m->nonce_len == 0)
		return TS_E_PSA_BAD_STATE;
	rv = p->f->C_EncryptInit(m->s, &mech, m->o);
	m->started = rv == CKR_OK;
	ts_free_secret(m->ad, m->ad_cap);
	m->ad = NULL;
	m->ad_len = m->ad_cap = 0;
	return p11_status(rv);
}

/* One token call that returns bytes: at most `room` of them. */
static enum ts_err gcm_step(struct p11 *p, struct p11_mp *m, const uint8_t *in, size_t len,
                            bool final, uint8_t **ret, size_t *ret_len)
{
	size_t room = len + m->tag_len + 16;
	uint8_t *out = malloc(room);
	CK_ULONG n = (CK_ULONG)room;
	CK_RV rv;

	if (out == NULL)
		return TS_E_NOMEM;
	rv = final ? p->f->C_EncryptFinal(m->s, out, &n)
	           : p->f->C_EncryptUpdate(m->s, (CK_BYTE_PTR)in, (CK_ULONG)len, out, &n);
	if (rv != CKR_OK || n > room) {
		ts_free_secret(out, room);
		m->ended = true;
		return rv == CKR_OK ? TS_E_PSA_COMMUNICATION_FAILURE : p11_status(rv);
	}
	*ret = out;
	*ret_len = n;
	return TS_OK;
}

enum ts_err p11_mp_update(void *ctx, void *state, bool ad, const uint8_t *in, size_t len,
                          uint8_t **ret, size_t *ret_len)
{
	struct p11 *p = ctx;
	struct p11_mp *m = state;
	enum ts_err err;

	if (m->ended)
		return TS_E_PSA_BAD_STATE;
	if (is_mac(m)) {
		if (ad)
			return TS_E_PSA_BAD_STATE;
		err = p11_status(p->f->C_SignUpdate(m->s, (CK_BYTE_PTR)in, (CK_ULONG)len));
		m->ended = err != TS_OK;
		*ret = NULL;
		*ret_len = 0;
		return err;
	}
	if (ad) {
		uint8_t *grown;
		size_t cap;

		if (m->started)
			return TS_E_PSA_BAD_STATE;
		/* The token takes the additional data whole at the start: it is
		 * kept here, up to a bound (a request's own limit does not cap
		 * the sum of many). */
		if (len > P11_MP_MAX_AD - m->ad_len)
			return TS_E_PSA_INSUFFICIENT_MEMORY;
		if (m->ad_len + len > m->ad_cap) {
			cap = m->ad_cap < 256 ? 256 : m->ad_cap;
			while (cap < m->ad_len + len)
				cap *= 2;
			grown = malloc(cap);
			if (grown == NULL)
				return TS_E_NOMEM;
			if (m->ad_len > 0)
				memcpy(grown, m->ad, m->ad_len);
			ts_free_secret(m->ad, m->ad_cap);
			m->ad = grown;
			m->ad_cap = cap;
		}
		if (len > 0)
			memcpy(m->ad + m->ad_len, in, len);
		m->ad_len += len;
		*ret = NULL;
		*ret_len = 0;
		return TS_OK;
	}
	if (!m->started && (err = gcm_start(p, m)) != TS_OK) {
		m->ended = true;
		return err;
	}
	if (len == 0) {
		*ret = NULL;
		*ret_len = 0;
		return TS_OK;
	}
	return gcm_step(p, m, in, len, false, ret, ret_len);
}

enum ts_err p11_mp_finish(void *ctx, void *state, uint8_t **ret, size_t *ret_len, uint8_t **ret_tag,
                          size_t *ret_tag_len)
{
	struct p11 *p = ctx;
	struct p11_mp *m = state;
	uint8_t *out = NULL;
	size_t n = 0;
	enum ts_err err;

	if (m->ended || m->kind == PROV_MP_MAC_VERIFY || m->kind == PROV_MP_AEAD_DECRYPT)
		return TS_E_PSA_BAD_STATE;
	if (is_mac(m)) {
		uint8_t mac[PROV_HASH_MAX_SIZE];
		CK_ULONG ml = sizeof(mac);

		err = p11_status(p->f->C_SignFinal(m->s, mac, &ml));
		m->ended = true;
		if (err == TS_OK && ml < m->mac_len)
			err = TS_E_PSA_COMMUNICATION_FAILURE;
		if (err == TS_OK && (out = malloc(m->mac_len)) == NULL)
			err = TS_E_NOMEM;
		if (err == TS_OK)
			memcpy(out, mac, m->mac_len);
		OPENSSL_cleanse(mac, sizeof(mac));
		if (err != TS_OK)
			return err;
		*ret = out;
		*ret_len = m->mac_len;
		return TS_OK;
	}
	if (!m->started && (err = gcm_start(p, m)) != TS_OK) {
		m->ended = true;
		return err;
	}
	err = gcm_step(p, m, NULL, 0, true, &out, &n);
	m->ended = true;
	if (err == TS_OK && n < m->tag_len) {
		ts_free_secret(out, n);
		err = TS_E_PSA_COMMUNICATION_FAILURE;
	}
	if (err != TS_OK)
		return err;
	/* The final part is the rest of the ciphertext, then the tag. */
	*ret_tag = malloc(m->tag_len);
	if (*ret_tag == NULL) {
		free(out);
		return TS_E_NOMEM;
	}
	memcpy(*ret_tag, out + n - m->tag_len, m->tag_len);
	*ret_tag_len = m->tag_len;
	*ret = out;
	*ret_len = n - m->tag_len;
	return TS_OK;
}

enum ts_err p11_mp_verify(void *ctx, void *state, const uint8_t *expected, size_t len,
                          uint8_t **ret, size_t *ret_len)
{
	struct p11 *p = ctx;
	struct p11_mp *m = state;
	uint8_t mac[PROV_HASH_MAX_SIZE];
	CK_ULONG ml = sizeof(mac);
	enum ts_err err;

	/* Only a MAC is verified in parts (GCM decryption is not offered). */
	if (m->ended || m->kind != PROV_MP_MAC_VERIFY)
		return TS_E_PSA_BAD_STATE;
	err = p11_status(p->f->C_SignFinal(m->s, mac, &ml));
	m->ended = true;
	if (err == TS_OK && ml < m->mac_len)
		err = TS_E_PSA_COMMUNICATION_FAILURE;
	if (err == TS_OK && (len != m->mac_len || CRYPTO_memcmp(mac, expected, len) != 0))
		err = TS_E_PSA_INVALID_SIGNATURE;
	OPENSSL_cleanse(mac, sizeof(mac));
	if (ret != NULL && err == TS_OK) {
		*ret = NULL;
		*ret_len = 0;
	}
	return err;
}

void p11_mp_free(void *ctx, void *state)
{
	struct p11 *p = ctx;
	struct p11_mp *m = state;

	if (m == NULL)
		return;
	/* Closing the session ends whatever operation it still has. */
	if (m->s != CK_INVALID_HANDLE)
		(void)p->f->C_CloseSession(m->s);
	ts_free_secret(m->ad, m->ad_cap);
	OPENSSL_cleanse(m->nonce, sizeof(m->nonce));
	free(m);
	pthread_mutex_lock(&p->lock);
	p->mp_open--;
	pthread_mutex_unlock(&p->lock);
}
