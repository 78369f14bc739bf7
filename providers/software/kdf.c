/*
 * Software provider: key derivation for the PSA C API (the kdf_* hooks of
 * providers/provider.h): HKDF (RFC 5869), the TLS 1.2 PRF (RFC 5246 5) and
 * TLS 1.2 PSK-to-master-secret (RFC 4279 2, RFC 5489 2).
 *
 * Both are built here on HMAC so that output is a stream: each kdf_output
 * continues where the last one ended without computing the earlier bytes
 * again (OpenSSL's EVP_KDF only derives a whole output at once). The order
 * of input steps follows the PSA specification as Mbed TLS applies it.
 */
#include "providers/software/software-priv.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "common/secmem.h"

/* psa_key_derivation_step_t values. */
#define STEP_SECRET       0x0101u
#define STEP_OTHER_SECRET 0x0102u
#define STEP_LABEL        0x0201u
#define STEP_SALT         0x0202u
#define STEP_INFO         0x0203u
#define STEP_SEED         0x0204u

/* KeyDerivation oneof numbers. */
enum { KDF_HKDF = 1, KDF_TLS12_PRF = 2, KDF_TLS12_PSK_TO_MS = 3 };

/* PSA_TLS12_PSK_TO_MS_PSK_MAX_SIZE as our header (and Mbed TLS) define it:
 * RFC 4279's 64-octet minimum that implementations must take, doubled. */
#define PSK_MAX 128
/* The master secret is all PSK-to-MS makes. */
#define MASTER_SECRET_LEN 48

/* TLS input stages, in the only order PSA allows. */
enum { TLS_INIT, TLS_SEED, TLS_OTHER, TLS_SECRET, TLS_LABEL };

struct kdf {
	uint8_t kind;
	const EVP_MD *md;
	size_t hlen;
	EVP_MAC *hmac;
	/* HMAC keyed with HKDF's PRK or the TLS secret, duplicated per block. */
	EVP_MAC_CTX *keyed;
	/* HKDF */
	bool salt_done, secret_done, info_done;
	uint8_t *salt, *info; /* salt only until the secret arrives */
	size_t salt_len, info_len;
	/* TLS */
	int stage;
	uint8_t *seed, *other, *ls; /* ls: label || seed, once the label came */
	size_t seed_len, other_len, ls_len;
	uint8_t a[EVP_MAX_MD_SIZE]; /* P_hash's A(i) */
	/* output */
	bool out_started;
	uint8_t block[EVP_MAX_MD_SIZE];
	size_t pos;       /* bytes of block given out (hlen: none left) */
	unsigned counter; /* HKDF's T(i) index */
};

static void free_secret(uint8_t **p, size_t *len)
{
	ts_free_secret(*p, *len);
	*p = NULL;
	*len = 0;
}

static void kdf_destroy(struct kdf *d)
{
	if (d == NULL)
		return;
	EVP_MAC_CTX_free(d->keyed);
	EVP_MAC_free(d->hmac);
	free_secret(&d->salt, &d->salt_len);
	free_secret(&d->info, &d->info_len);
	free_secret(&d->seed, &d->seed_len);
	free_secret(&d->other, &d->other_len);
	free_secret(&d->ls, &d->ls_len);
	ts_free_secret(d, sizeof(*d));
}

static enum ts_err dup_bytes(const uint8_t *data, size_t len, uint8_t **ret, size_t *ret_len)
{
	uint8_t *p = malloc(len ? len : 1);

	if (p == NULL)
		return TS_E_NOMEM;
	if (len > 0)
		memcpy(p, data, len);
	*ret = p;
	*ret_len = len;
	return TS_OK;
}

/* An HMAC context keyed with key. An empty key is the same HMAC key as one
 * zero byte (keys are zero-padded to the block), which OpenSSL accepts. */
static enum ts_err hmac_keyed(struct kdf *d, const uint8_t *key, size_t len, EVP_MAC_CTX **ret)
{
	static const uint8_t zero[1];
	OSSL_PARAM params[2];
	EVP_MAC_CTX *mx = EVP_MAC_CTX_new(d->hmac);

	if (mx == NULL)
		return TS_E_NOMEM;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
	                                             (char *)EVP_MD_get0_name(d->md), 0);
	params[1] = OSSL_PARAM_construct_end();
	if (EVP_MAC_init(mx, len ? key : zero, len ? len : 1, params) != 1) {
		EVP_MAC_CTX_free(mx);
		return TS_E_PSA_GENERIC_ERROR;
	}
	*ret = mx;
	return TS_OK;
}

/* out = HMAC(keyed key, p1 || p2 || p3); out has room for hlen bytes. */
static enum ts_err hmac3(struct kdf *d, const uint8_t *p1, size_t l1, const uint8_t *p2, size_t l2,
                         const uint8_t *p3, size_t l3, uint8_t *out)
{
	EVP_MAC_CTX *mx = EVP_MAC_CTX_dup(d->keyed);
	size_t n = 0;
	enum ts_err err = TS_E_PSA_GENERIC_ERROR;

	if (mx == NULL)
		return TS_E_NOMEM;
	if ((l1 == 0 || EVP_MAC_update(mx, p1, l1) == 1) &&
	    (l2 == 0 || EVP_MAC_update(mx, p2, l2) == 1) &&
	    (l3 == 0 || EVP_MAC_update(mx, p3, l3) == 1) &&
	    EVP_MAC_final(mx, out, &n, EVP_MAX_MD_SIZE) == 1 && n == d->hlen)
		err = TS_OK;
	EVP_MAC_CTX_free(mx);
	return err;
}

enum ts_err sw_kdf_setup(void *ctx, const struct psa_alg *alg, void **ret_state,
                         uint64_t *ret_capacity)
{
	uint8_t kind = alg->cls == PSA_AC_KDF ? alg->kind : alg->kdf;
	uint8_t hash = alg->cls == PSA_AC_KDF ? alg->hash : alg->kdf_hash;
	struct kdf *d;

	(void)ctx;
	if (alg->cls != PSA_AC_KDF && !(alg->cls == PSA_AC_KEY_AGREEMENT && alg->kdf != 0))
		return TS_E_PSA_INVALID_ARGUMENT;
	if (kind < KDF_HKDF || kind > KDF_TLS12_PSK_TO_MS || sw_md(hash) == NULL)
		return TS_E_PSA_NOT_SUPPORTED;
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return TS_E_NOMEM;
	d->kind = kind;
	d->md = sw_md(hash);
	d->hlen = (size_t)EVP_MD_get_size(d->md);
	d->pos = d->hlen;
	if ((d->hmac = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL) {
		kdf_destroy(d);
		return TS_E_PSA_GENERIC_ERROR;
	}
	*ret_state = d;
	*ret_capacity = kind == KDF_HKDF              ? 255 * (uint64_t)d->hlen
	                : kind == KDF_TLS12_PSK_TO_MS ? MASTER_SECRET_LEN
	                                              : UINT64_MAX; /* unlimited */
	return TS_OK;
}

/* HKDF-Extract: PRK = HMAC(salt, IKM); then HMAC keyed with the PRK. */
static enum ts_err hkdf_extract(struct kdf *d, const uint8_t *ikm, size_t len)
{
	uint8_t prk[EVP_MAX_MD_SIZE];
	EVP_MAC_CTX *salted = NULL;
	enum ts_err err;

	err = hmac_keyed(d, d->salt, d->salt_len, &salted);
	if (err != TS_OK)
		return err;
	d->keyed = salted;
	err = hmac3(d, ikm, len, NULL, 0, NULL, 0, prk);
	d->keyed = NULL;
	EVP_MAC_CTX_free(salted);
	if (err == TS_OK)
		err = hmac_keyed(d, prk, d->hlen, &d->keyed);
	ts_wipe(prk, sizeof(prk));
	free_secret(&d->salt, &d->salt_len);
	return err;
}

static enum ts_err hkdf_input(struct kdf *d, uint32_t step, const uint8_t *data, size_t len)
{
	enum ts_err err;

	switch (step) {
	case STEP_SALT:
		if (d->salt_done || d->secret_done)
			return TS_E_PSA_BAD_STATE; /* the salt goes before the secret */
		err = dup_bytes(data, len, &d->salt, &d->salt_len);
		d->salt_done = err == TS_OK;
		return err;
	case STEP_SECRET:
		if (d->secret_done)
			return TS_E_PSA_BAD_STATE;
		err = hkdf_extract(d, data, len);
		d->secret_done = err == TS_OK;
		return err;
	case STEP_INFO:
		if (d->info_done)
			return TS_E_PSA_BAD_STATE;
		err = dup_bytes(data, len, &d->info, &d->info_len);
		d->info_done = err == TS_OK;
		return err;
	default:
		return TS_E_PSA_INVALID_ARGUMENT;
	}
}

/* PSK-to-MS's pre-master secret (RFC 4279 2): other_secret with its
 * length (zeros as long as the PSK when there is none), then the PSK. */
static enum ts_err psk_premaster(struct kdf *d, const uint8_t *psk, size_t len, uint8_t **ret,
                                 size_t *ret_len)
{
	size_t olen = d->other != NULL ? d->other_len : len;
	size_t total = 2 + olen + 2 + len;
	uint8_t *p = malloc(total);

	if (p == NULL)
		return TS_E_NOMEM;
	p[0] = (uint8_t)(olen >> 8);
	p[1] = (uint8_t)olen;
	if (d->other != NULL && olen > 0)
		memcpy(p + 2, d->other, olen);
	else
		memset(p + 2, 0, olen);
	p[2 + olen] = (uint8_t)(len >> 8);
	p[3 + olen] = (uint8_t)len;
	if (len > 0)
		memcpy(p + 4 + olen, psk, len);
	*ret = p;
	*ret_len = total;
	return TS_OK;
}

static enum ts_err tls_input(struct kdf *d, uint32_t step, const uint8_t *data, size_t len)
{
	uint8_t *pms = NULL;
	size_t pms_len = 0;
	enum ts_err err;

	switch (step) {
	case STEP_SEED:
		if (d->stage != TLS_INIT)
			return TS_E_PSA_BAD_STATE;
		err = dup_bytes(data, len, &d->seed, &d->seed_len);
		if (err == TS_OK)
			d->stage = TLS_SEED;
		return err;
	case STEP_OTHER_SECRET:
		if (d->kind != KDF_TLS12_PSK_TO_MS)
			return TS_E_PSA_INVALID_ARGUMENT;
		if (d->stage != TLS_SEED)
			return TS_E_PSA_BAD_STATE;
		if (len > 0xffff)
			return TS_E_PSA_INVALID_ARGUMENT;
		err = dup_bytes(data, len, &d->other, &d->other_len);
		if (err == TS_OK)
			d->stage = TLS_OTHER;
		return err;
	case STEP_SECRET:
		if (d->stage != TLS_SEED && d->stage != TLS_OTHER)
			return TS_E_PSA_BAD_STATE;
		if (d->kind == KDF_TLS12_PSK_TO_MS) {
			if (len > PSK_MAX)
				return TS_E_PSA_INVALID_ARGUMENT;
			if ((err = psk_premaster(d, data, len, &pms, &pms_len)) != TS_OK)
				return err;
			data = pms;
			len = pms_len;
		}
		err = hmac_keyed(d, data, len, &d->keyed);
		ts_free_secret(pms, pms_len);
		free_secret(&d->other, &d->other_len);
		if (err == TS_OK)
			d->stage = TLS_SECRET;
		return err;
	case STEP_LABEL:
		if (d->stage != TLS_SECRET)
			return TS_E_PSA_BAD_STATE;
		if ((d->ls = malloc(len + d->seed_len + 1)) == NULL)
			return TS_E_NOMEM;
		if (len > 0)
			memcpy(d->ls, data, len);
		if (d->seed_len > 0)
			memcpy(d->ls + len, d->seed, d->seed_len);
		d->ls_len = len + d->seed_len;
		free_secret(&d->seed, &d->seed_len);
		/* A(1) = HMAC(secret, A(0)) with A(0) = label || seed. */
		err = hmac3(d, d->ls, d->ls_len, NULL, 0, NULL, 0, d->a);
		if (err == TS_OK)
			d->stage = TLS_LABEL;
		return err;
	default:
		return TS_E_PSA_INVALID_ARGUMENT;
	}
}

enum ts_err sw_kdf_input(void *ctx, void *state, uint32_t step, const uint8_t *data, size_t len)
{
	struct kdf *d = state;

	(void)ctx;
	if (d->out_started)
		return TS_E_PSA_BAD_STATE;
	return d->kind == KDF_HKDF ? hkdf_input(d, step, data, len) : tls_input(d, step, data, len);
}

enum ts_err sw_kdf_input_key(void *ctx, void *state, uint32_t step, const struct prov_key *k)
{
	bool secret = step == STEP_SECRET || step == STEP_OTHER_SECRET;
	uint8_t type = k->attrs->type;

	/* Secrets come from DERIVE keys; the other inputs from RAW_DATA ones
	 * (or an HMAC key as HKDF's salt). */
	if (secret ? type != PSA_KT_DERIVE
	           : type != PSA_KT_RAW_DATA && !(type == PSA_KT_HMAC && step == STEP_SALT))
		return TS_E_PSA_INVALID_ARGUMENT;
	return sw_kdf_input(ctx, state, step, k->material, k->material_len);
}

enum ts_err sw_kdf_input_integer(void *ctx, void *state, uint32_t step, uint64_t value)
{
	struct kdf *d = state;

	(void)ctx;
	(void)step;
	(void)value;
	/* None of these algorithms takes a number (PBKDF2's cost would). */
	return d->out_started ? TS_E_PSA_BAD_STATE : TS_E_PSA_INVALID_ARGUMENT;
}

/* The next block of output into d->block. */
static enum ts_err next_block(struct kdf *d)
{
	uint8_t c;
	enum ts_err err;

	if (d->kind == KDF_HKDF) {
		/* T(i) = HMAC(PRK, T(i-1) || info || i), T(0) empty. */
		if (d->counter >= 255)
			return TS_E_PSA_INSUFFICIENT_DATA;
		c = (uint8_t)++d->counter;
		return hmac3(d, d->block, d->counter > 1 ? d->hlen : 0, d->info, d->info_len, &c, 1,
		             d->block);
	}
	/* P_hash: HMAC(secret, A(i) || label || seed), A(i+1) = HMAC(secret, A(i)). */
	err = hmac3(d, d->a, d->hlen, d->ls, d->ls_len, NULL, 0, d->block);
	if (err == TS_OK)
		err = hmac3(d, d->a, d->hlen, NULL, 0, NULL, 0, d->a);
	return err;
}

enum ts_err sw_kdf_output(void *ctx, void *state, uint8_t *out, size_t len)
{
	struct kdf *d = state;
	enum ts_err err;

	(void)ctx;
	if (d->kind == KDF_HKDF ? !d->secret_done || !d->info_done : d->stage != TLS_LABEL)
		return TS_E_PSA_BAD_STATE; /* inputs missing */
	d->out_started = true;
	while (len > 0) {
		size_t n;

		if (d->pos == d->hlen) {
			if ((err = next_block(d)) != TS_OK)
				return err;
			d->pos = 0;
		}
		n = d->hlen - d->pos < len ? d->hlen - d->pos : len;
		memcpy(out, d->block + d->pos, n);
		d->pos += n;
		out += n;
		len -= n;
	}
	return TS_OK;
}

void sw_kdf_free(void *ctx, void *state)
{
	(void)ctx;
	kdf_destroy(state);
}
