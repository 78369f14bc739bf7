/* The software provider's parsed-key cache. */
#include <criterion/criterion.h>
#include <string.h>

#include "providers/software/software-priv.h"

static const struct psa_attrs p256 = {
        .type = PSA_KT_ECC_PAIR, .family = PSA_ECC_SECP_R1, .bits = 256};
static const struct psa_attrs k256 = {
        .type = PSA_KT_ECC_PAIR, .family = PSA_ECC_SECP_K1, .bits = 256};

Test(software, cache_hits_evicts_on_destroy_and_keeps_curves_apart)
{
	uint8_t scalar[32];
	EVP_PKEY *a, *b, *c, *k;
	void *ctx;

	for (int i = 0; i < 32; i++)
		scalar[i] = (uint8_t)(i + 1);
	cr_assert_eq(sw_init(&ctx), TS_OK);
	cr_assert_eq(sw_get_pkey(ctx, &p256, scalar, 32, &a), TS_OK);
	cr_assert_eq(sw_get_pkey(ctx, &p256, scalar, 32, &b), TS_OK);
	cr_assert_eq(a, b, "a hot key is parsed once");
	/* The same 32 bytes on another curve are another key. */
	cr_assert_eq(sw_get_pkey(ctx, &k256, scalar, 32, &k), TS_OK);
	cr_assert_neq(k, a);
	cr_assert_str_eq(EVP_PKEY_get0_type_name(k), "EC");
	/* Destroy evicts; the holders' references stay valid. */
	cr_assert_eq(sw_destroy_key(ctx, &p256, scalar, 32), TS_OK);
	cr_assert_eq(sw_get_pkey(ctx, &p256, scalar, 32, &c), TS_OK);
	cr_assert_neq(c, a, "parsed again after destroy");
	cr_assert_eq(EVP_PKEY_get_bits(a), 256, "an evicted key in use is still valid");
	EVP_PKEY_free(a);
	EVP_PKEY_free(b);
	EVP_PKEY_free(c);
	EVP_PKEY_free(k);
	sw_fini(ctx);
}

Test(software, cache_is_bounded)
{
	void *ctx;
	EVP_PKEY *first, *again;
	uint8_t scalar[32];

	cr_assert_eq(sw_init(&ctx), TS_OK);
	memset(scalar, 0x11, sizeof(scalar));
	cr_assert_eq(sw_get_pkey(ctx, &p256, scalar, 32, &first), TS_OK);
	/* 300 other keys push the first one out of 256 slots. */
	for (int i = 0; i < 300; i++) {
		EVP_PKEY *pk;

		scalar[0] = (uint8_t)(i + 0x20);
		scalar[1] = (uint8_t)(i >> 8);
		cr_assert_eq(sw_get_pkey(ctx, &p256, scalar, 32, &pk), TS_OK);
		EVP_PKEY_free(pk);
	}
	memset(scalar, 0x11, sizeof(scalar));
	cr_assert_eq(sw_get_pkey(ctx, &p256, scalar, 32, &again), TS_OK);
	cr_assert_neq(again, first, "the least recently used entry was evicted");
	EVP_PKEY_free(first);
	EVP_PKEY_free(again);
	sw_fini(ctx);
}
