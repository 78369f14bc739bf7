/*
 * tessera-migrate's reading of Parsec's TPM key records (a bincode
 * PasswordContext and the whole bincode Attributes) and the public area it
 * rebuilds as Parsec's provider does.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include <tss2/tss2_mu.h>

#include "common/secmem.h"
#include "migrate/tpm.h"

struct buf {
	uint8_t b[1024];
	size_t n;
};

static void put_n(struct buf *b, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		b->b[b->n++] = (uint8_t)(v >> (8 * i));
}

static void put_vec(struct buf *b, const uint8_t *p, size_t len)
{
	put_n(b, len, 8);
	if (len > 0)
		memcpy(b->b + b->n, p, len);
	b->n += len;
}

static const uint8_t auth[32] = {1, 2, 3};
static uint8_t big[384];

/* A PasswordContext: RSA (modulus of n bytes) or ECC (x, y of n bytes). */
static void context(struct buf *b, bool rsa, size_t n, size_t priv_len, bool legacy)
{
	b->n = 0;
	put_n(b, 0, 8);
	put_n(b, 0, 4);
	put_n(b, 0, 4);
	put_vec(b, legacy ? big : NULL, legacy ? 100 : 0);
	put_vec(b, auth, sizeof(auth));
	if (legacy)
		return;
	put_n(b, rsa ? 0 : 1, 4);
	put_vec(b, big, n);
	if (!rsa)
		put_vec(b, big, n);
	put_vec(b, big, priv_len);
}

/* Attributes: key type variant (+ family), bits, usages, algorithm words. */
static void attrs(struct buf *b, unsigned type, uint64_t bits, const uint32_t *alg, size_t n_alg)
{
	b->n = 0;
	put_n(b, 1, 4);
	put_n(b, type, 4);
	if (type == 10 || type == 11)
		put_n(b, 1, 4);
	put_n(b, bits, 8);
	for (int i = 0; i < 10; i++)
		put_n(b, i == 3 || i == 4, 1); /* encrypt, decrypt */
	for (size_t i = 0; i < n_alg; i++)
		put_n(b, alg[i], 4);
}

static int convert(struct buf *id, struct buf *at, struct mig_psa_attrs *pa, TPM2B_PUBLIC *pub,
                   char *why, size_t whylen)
{
	struct mig_entry m = {.key_id = id->b,
	                      .key_id_len = id->n,
	                      .kim_attrs_raw = at->b,
	                      .kim_attrs_raw_len = at->n};
	uint8_t *native = NULL;
	size_t len = 0, off = 0;
	TPM2B_PRIVATE priv;
	int rc = mig_tpm_convert(&m, pa, &native, &len, why, whylen);

	if (rc == 0) {
		/* tss2-mu refuses to unmarshal into a TPM2B whose size is set. */
		memset(pub, 0, sizeof(*pub));
		memset(&priv, 0, sizeof(priv));
		cr_assert_eq(Tss2_MU_TPM2B_PUBLIC_Unmarshal(native, len, &off, pub),
		             TSS2_RC_SUCCESS);
		cr_assert_eq(Tss2_MU_TPM2B_PRIVATE_Unmarshal(native, len, &off, &priv),
		             TSS2_RC_SUCCESS);
		cr_assert_eq(len - off, sizeof(auth), "the auth value ends the native form");
		cr_assert_eq(memcmp(native + off, auth, sizeof(auth)), 0);
		ts_free_secret(native, len);
	}
	return rc;
}

Test(migrate_tpm, an_rsa_oaep_key_gets_parsecs_public_area)
{
	static const uint32_t oaep256[] = {6, 1, 6}; /* AsymmetricEncryption, RsaOaep, Sha256 */
	struct buf id, at;
	struct mig_psa_attrs pa;
	TPM2B_PUBLIC pub;
	char why[256];

	context(&id, true, 256, 200, false);
	attrs(&at, 9, 2048, oaep256, 3);
	cr_assert_eq(convert(&id, &at, &pa, &pub, why, sizeof(why)), 0, "%s", why);
	cr_assert_eq(pa.type, 0x7001);
	cr_assert_eq(pa.bits, 2048);
	cr_assert_eq(pa.alg, 0x07000309);
	cr_assert_eq(pa.usage, 0x0300);
	cr_assert_eq(pub.publicArea.type, TPM2_ALG_RSA);
	cr_assert_eq(pub.publicArea.nameAlg, TPM2_ALG_SHA256);
	cr_assert_eq(pub.publicArea.objectAttributes,
	             TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
	                     TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_USERWITHAUTH |
	                     TPMA_OBJECT_SIGN_ENCRYPT | TPMA_OBJECT_DECRYPT,
	             "an encryption key has sign too, as Parsec makes it");
	cr_assert_eq(pub.publicArea.parameters.rsaDetail.scheme.scheme, TPM2_ALG_NULL);
	cr_assert_eq(pub.publicArea.parameters.rsaDetail.symmetric.algorithm, TPM2_ALG_NULL);
	cr_assert_eq(pub.publicArea.parameters.rsaDetail.exponent, 0);
	cr_assert_eq(pub.publicArea.unique.rsa.size, 256);
	cr_assert_eq(pub.publicArea.authPolicy.size, 0);
}

Test(migrate_tpm, an_ecdsa_p384_key_gets_its_curve_and_scheme)
{
	/* AsymmetricSignature, Ecdsa, SignHash::Specific, Sha384 */
	static const uint32_t ecdsa384[] = {5, 3, 0, 7};
	struct buf id, at;
	struct mig_psa_attrs pa;
	TPM2B_PUBLIC pub;
	char why[256];

	context(&id, false, 48, 120, false);
	attrs(&at, 10, 384, ecdsa384, 4);
	cr_assert_eq(convert(&id, &at, &pa, &pub, why, sizeof(why)), 0, "%s", why);
	cr_assert_eq(pa.type, 0x7112);
	cr_assert_eq(pa.alg, 0x0600060a);
	cr_assert_eq(pub.publicArea.type, TPM2_ALG_ECC);
	cr_assert_eq(pub.publicArea.parameters.eccDetail.curveID, TPM2_ECC_NIST_P384);
	cr_assert_eq(pub.publicArea.parameters.eccDetail.scheme.scheme, TPM2_ALG_ECDSA);
	cr_assert_eq(pub.publicArea.parameters.eccDetail.scheme.details.ecdsa.hashAlg,
	             TPM2_ALG_SHA384);
	cr_assert_eq(pub.publicArea.parameters.eccDetail.kdf.scheme, TPM2_ALG_NULL);
	cr_assert_eq(pub.publicArea.objectAttributes & TPMA_OBJECT_DECRYPT, 0);
	cr_assert_eq(pub.publicArea.unique.ecc.x.size, 48);
}

Test(migrate_tpm, records_parsec_cannot_have_written_are_refused_with_the_reason)
{
	static const uint32_t ecdsa_any[] = {5, 4};
	static const uint32_t ecdsa256[] = {5, 3, 0, 6};
	static const uint32_t any_hash[] = {5, 3, 1};
	struct buf id, at;
	struct mig_psa_attrs pa;
	TPM2B_PUBLIC pub;
	char why[256];

	context(&id, false, 32, 100, true);
	attrs(&at, 10, 256, ecdsa256, 4);
	cr_assert_eq(convert(&id, &at, &pa, &pub, why, sizeof(why)), -1);
	cr_assert_not_null(strstr(why, "older Parsec's format"), "%s", why);

	context(&id, false, 32, 100, false);
	id.n -= 3;
	cr_assert_eq(convert(&id, &at, &pa, &pub, why, sizeof(why)), -1);
	cr_assert_not_null(strstr(why, "is not a PasswordContext"), "%s", why);

	context(&id, false, 32, 100, false);
	attrs(&at, 10, 256, ecdsa_any, 2);
	cr_assert_eq(convert(&id, &at, &pa, &pub, why, sizeof(why)), -1);
	cr_assert_not_null(strstr(why, "not one Parsec's TPM provider makes keys for"), "%s", why);
	attrs(&at, 10, 256, any_hash, 3);
	cr_assert_eq(convert(&id, &at, &pa, &pub, why, sizeof(why)), -1);
	cr_assert_not_null(strstr(why, "not one Parsec's TPM provider makes keys for"), "%s", why);

	/* A key pair recorded without its private part. */
	context(&id, false, 32, 0, false);
	attrs(&at, 10, 256, ecdsa256, 4);
	cr_assert_eq(convert(&id, &at, &pa, &pub, why, sizeof(why)), -1);
	cr_assert_not_null(strstr(why, "without its private part"), "%s", why);

	/* An AES key is no TPM key. */
	attrs(&at, 3, 128, ecdsa256, 4);
	cr_assert_eq(convert(&id, &at, &pa, &pub, why, sizeof(why)), -1);
	cr_assert_not_null(strstr(why, "not an RSA or ECC key"), "%s", why);
}
