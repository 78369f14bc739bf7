/*
 * The PKCS#11 provider's multipart operations (the PSA C API's, held across
 * requests), called directly on a SoftHSM2 token: HMAC and AES-GCM in odd
 * pieces equal the one-shot operations, a wrong MAC does not verify,
 * GCM decryption in parts is refused, and the operations' own sessions are capped without touching
 * the pool.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "p11-common.h"
#include "providers/pkcs11/pkcs11-priv.h"

static const struct prov_ops *ops = &prov_pkcs11_ops;
static void *ctx;
static char hsm[64];

static void setup(void)
{
	char settings[512], err[512] = "";

	p11t_make_token(hsm);
	snprintf(settings, sizeof(settings),
	         "{\"library_path\": \"%s\", \"token_label\": \"" P11T_LABEL
	         "\", \"user_pin_file\": \"%s/pin\", \"sessions\": 2}",
	         p11t_softhsm_module(), hsm);
	cr_assert_eq(ops->check_settings(settings, "providers[0]", err, sizeof(err)), TS_OK, "%s",
	             err);
	cr_assert_eq(ops->init(settings, "providers[0]", &ctx, err, sizeof(err)), TS_OK, "%s", err);
}

static void teardown(void)
{
	char cmd[128];

	ops->fini(ctx);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", hsm);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(p11mp, .init = setup, .fini = teardown, .timeout = 120);

struct key {
	struct psa_attrs a;
	struct prov_key k;
	uint8_t *ref, *mat;
	size_t ref_len, mat_len;
};

static void make(struct key *x)
{
	cr_assert_eq(ops->reserve_ref(ctx, &x->a, &x->ref, &x->ref_len), TS_OK);
	x->k = (struct prov_key){
	        .attrs = &x->a, .ref = x->ref, .ref_len = x->ref_len, .label = "test/multipart"};
	cr_assert_eq(ops->generate_key(ctx, &x->k, &x->mat, &x->mat_len), TS_OK);
	x->k.material = x->mat;
	x->k.material_len = x->mat_len;
}

static void drop(struct key *x)
{
	cr_assert_eq(ops->destroy_key(ctx, &x->k), TS_OK);
	free(x->ref);
	free(x->mat);
}

static void feed(void *st, bool ad, const uint8_t *in, size_t len, size_t piece, uint8_t *out,
                 size_t *out_len)
{
	for (size_t off = 0; off < len; off += piece) {
		size_t n = len - off < piece ? len - off : piece, rl = 0;
		uint8_t *r = NULL;

		enum ts_err e = ops->mp_update(ctx, st, ad, in + off, n, &r, &rl);

		cr_assert_eq(e, TS_OK, "update at %zu (ad %d): %s", off, ad, ts_strerror(e));
		if (out != NULL && rl > 0) {
			memcpy(out + *out_len, r, rl);
			*out_len += rl;
		}
		free(r);
	}
}

Test(p11mp, hmac_in_pieces_equals_the_one_shot_and_truncated_macs_verify)
{
	struct key h = {
	        .a = {.type = PSA_KT_HMAC,
	              .bits = 256,
	              .usage = PSA_USAGE_SIGN_MESSAGE | PSA_USAGE_VERIFY_MESSAGE,
	              .alg = {.cls = PSA_AC_MAC, .kind = PSA_MAC_HMAC, .hash = PSA_HASH_SHA_256}}};
	uint8_t msg[3000], *one = NULL, *r = NULL;
	size_t one_len = 0, rl = 0;
	struct psa_alg trunc;
	void *st = NULL;

	memset(msg, 'm', sizeof(msg));
	make(&h);
	cr_assert_eq(ops->mac(ctx, &h.k, &h.a.alg, msg, sizeof(msg), &one, &one_len), TS_OK);
	cr_assert_eq(ops->mp_setup(ctx, PROV_MP_MAC_SIGN, &h.k, &h.a.alg, &st), TS_OK);
	feed(st, false, msg, sizeof(msg), 129, NULL, NULL);
	cr_assert_eq(ops->mp_finish(ctx, st, &r, &rl, NULL, NULL), TS_OK);
	ops->mp_free(ctx, st);
	cr_assert_eq(rl, one_len);
	cr_assert_eq(memcmp(r, one, rl), 0);
	free(r);

	trunc = h.a.alg;
	/* Truncations of 4 bytes up to the full length only. */
	trunc.length = 3;
	cr_assert_eq(ops->mp_setup(ctx, PROV_MP_MAC_SIGN, &h.k, &trunc, &st),
	             TS_E_PSA_INVALID_ARGUMENT);
	trunc.length = 33;
	cr_assert_eq(ops->mp_setup(ctx, PROV_MP_MAC_SIGN, &h.k, &trunc, &st),
	             TS_E_PSA_INVALID_ARGUMENT);
	trunc.length = 10;
	for (int bad = 0; bad < 2; bad++) {
		cr_assert_eq(ops->mp_setup(ctx, PROV_MP_MAC_VERIFY, &h.k, &trunc, &st), TS_OK);
		feed(st, false, msg, sizeof(msg), 1000, NULL, NULL);
		one[9] ^= (uint8_t)bad;
		cr_assert_eq(ops->mp_verify(ctx, st, one, 10, NULL, NULL),
		             bad ? TS_E_PSA_INVALID_SIGNATURE : TS_OK);
		ops->mp_free(ctx, st);
	}
	free(one);
	drop(&h);
}

Test(p11mp, gcm_encryption_in_pieces_equals_the_one_shot)
{
	struct key k = {.a = {.type = PSA_KT_AES,
	                      .bits = 128,
	                      .usage = PSA_USAGE_ENCRYPT | PSA_USAGE_DECRYPT,
	                      .alg = {.cls = PSA_AC_AEAD, .kind = PSA_AEAD_GCM}}};
	uint8_t nonce[12] = {9}, ad[33], text[2000], ct[2100], *one = NULL, *r = NULL, *tag = NULL;
	size_t one_len = 0, ct_len = 0, rl = 0, tl = 0;
	void *st = NULL;

	memset(ad, 'a', sizeof(ad));
	for (size_t i = 0; i < sizeof(text); i++)
		text[i] = (uint8_t)i;
	make(&k);
	cr_assert_eq(ops->aead(ctx, &k.k, &k.a.alg, true, nonce, 12, ad, sizeof(ad), text,
	                       sizeof(text), &one, &one_len),
	             TS_OK);
	cr_assert_eq(ops->mp_setup(ctx, PROV_MP_AEAD_ENCRYPT, &k.k, &k.a.alg, &st), TS_OK);
	cr_assert_eq(ops->mp_set_lengths(ctx, st, sizeof(ad), sizeof(text)), TS_OK);
	cr_assert_eq(ops->mp_set_iv(ctx, st, nonce, 12), TS_OK);
	feed(st, true, ad, sizeof(ad), 10, NULL, NULL);
	feed(st, false, text, sizeof(text), 301, ct, &ct_len);
	cr_assert_eq(ops->mp_update(ctx, st, true, ad, 1, &r, &rl), TS_E_PSA_BAD_STATE,
	             "no additional data after the text");
	cr_assert_eq(ops->mp_finish(ctx, st, &r, &rl, &tag, &tl), TS_OK);
	ops->mp_free(ctx, st);
	memcpy(ct + ct_len, r, rl);
	ct_len += rl;
	free(r);
	cr_assert_eq(tl, 16);
	cr_assert_eq(ct_len + tl, one_len);
	cr_assert_eq(memcmp(ct, one, ct_len), 0);
	cr_assert_eq(memcmp(tag, one + ct_len, tl), 0);

	/* The one-shot decryption opens it; in parts it is not offered (the
	 * token would release the plaintext only at the end). */
	memcpy(ct + ct_len, tag, tl);
	{
		uint8_t *back = NULL;
		size_t back_len = 0;

		cr_assert_eq(ops->aead(ctx, &k.k, &k.a.alg, false, nonce, 12, ad, sizeof(ad), ct,
		                       ct_len + tl, &back, &back_len),
		             TS_OK);
		cr_assert_eq(back_len, sizeof(text));
		cr_assert_eq(memcmp(back, text, sizeof(text)), 0);
		free(back);
	}
	cr_assert_eq(ops->mp_setup(ctx, PROV_MP_AEAD_DECRYPT, &k.k, &k.a.alg, &st),
	             TS_E_PSA_NOT_SUPPORTED);
	free(tag);
	free(one);
	drop(&k);
}

Test(p11mp, gcm_additional_data_is_bounded)
{
	struct key k = {.a = {.type = PSA_KT_AES,
	                      .bits = 128,
	                      .usage = PSA_USAGE_ENCRYPT | PSA_USAGE_DECRYPT,
	                      .alg = {.cls = PSA_AC_AEAD, .kind = PSA_AEAD_GCM}}};
	static uint8_t chunk[65536];
	uint8_t nonce[12] = {9}, *r = NULL, *tag = NULL;
	size_t rl = 0, tl = 0;
	void *st = NULL;

	make(&k);
	cr_assert_eq(ops->mp_setup(ctx, PROV_MP_AEAD_ENCRYPT, &k.k, &k.a.alg, &st), TS_OK);
	cr_assert_eq(ops->mp_set_iv(ctx, st, nonce, 12), TS_OK);
	/* Kept whole until the first text: up to the bound, in many pieces
	 * that each fit a request, then no more. */
	for (size_t n = 0; n < P11_MP_MAX_AD; n += sizeof(chunk))
		feed(st, true, chunk, sizeof(chunk), sizeof(chunk), NULL, NULL);
	cr_assert_eq(ops->mp_update(ctx, st, true, chunk, 1, &r, &rl),
	             TS_E_PSA_INSUFFICIENT_MEMORY);
	/* What was kept still makes a tag. */
	cr_assert_eq(ops->mp_finish(ctx, st, &r, &rl, &tag, &tl), TS_OK);
	cr_assert_eq(tl, 16);
	ops->mp_free(ctx, st);
	free(r);
	free(tag);
	drop(&k);
}

Test(p11mp, operations_hold_sessions_of_their_own_up_to_a_cap)
{
	struct key h = {
	        .a = {.type = PSA_KT_HMAC,
	              .bits = 256,
	              .usage = PSA_USAGE_SIGN_MESSAGE,
	              .alg = {.cls = PSA_AC_MAC, .kind = PSA_MAC_HMAC, .hash = PSA_HASH_SHA_256}}};
	void *st[P11_MP_SESSIONS], *extra = NULL;
	uint8_t *one = NULL, *r = NULL;
	size_t one_len = 0, rl = 0;

	make(&h);
	for (unsigned i = 0; i < P11_MP_SESSIONS; i++) {
		cr_assert_eq(ops->mp_setup(ctx, PROV_MP_MAC_SIGN, &h.k, &h.a.alg, &st[i]), TS_OK);
		feed(st[i], false, (const uint8_t *)"abc", 3, 3, NULL, NULL);
	}
	cr_assert_eq(ops->mp_setup(ctx, PROV_MP_MAC_SIGN, &h.k, &h.a.alg, &extra),
	             TS_E_PSA_INSUFFICIENT_MEMORY);
	/* The pool (2 sessions) is untouched: one-shot calls run. */
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(
		        ops->mac(ctx, &h.k, &h.a.alg, (const uint8_t *)"abc", 3, &one, &one_len),
		        TS_OK);
		if (i < 2)
			free(one);
	}
	for (unsigned i = 0; i < P11_MP_SESSIONS; i++) {
		cr_assert_eq(ops->mp_finish(ctx, st[i], &r, &rl, NULL, NULL), TS_OK);
		cr_assert_eq(memcmp(r, one, one_len), 0);
		free(r);
		ops->mp_free(ctx, st[i]);
	}
	/* Plain ciphers are not this provider's. */
	cr_assert_eq(ops->mp_setup(ctx, PROV_MP_CIPHER_ENCRYPT, &h.k, &h.a.alg, &extra),
	             TS_E_PSA_NOT_SUPPORTED);
	free(one);
	drop(&h);
}
