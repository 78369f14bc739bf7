/*
 * Importing key pairs: the key is given to the TPM once with TPM2_Import
 * under the root key, and what is stored is the private part the TPM
 * wrapped, as for a generated key. The private key never rests in the key
 * store in clear; after the import it can only be used through this TPM.
 *
 * No outer wrapper (no seed for the root key), which Import allows for an
 * object with fixedTPM, fixedParent and encryptedDuplication clear; an inner
 * wrapper with a fresh AES-128 key (TPM 2.0 Part 1, 23.3.2.2: an integrity
 * digest over the sensitive area and the Name, then CFB encryption), so the
 * private key does not cross the bus in clear: the inner key is Import's
 * first parameter, which the HMAC session encrypts. Such a key is marked as
 * not made in the TPM (sensitiveDataOrigin clear).
 */
#include "providers/tpm/tpm-priv.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/rand.h>
#include <tss2/tss2_mu.h>

#include "common/secmem.h"

#define KEY_AUTH_LEN 32

static int curve_nid(uint32_t bits)
{
	return bits == 256   ? NID_X9_62_prime256v1
	       : bits == 384 ? NID_secp384r1
	       : bits == 521 ? NID_secp521r1
	                     : NID_undef;
}

/* ECC: PSA's private key is the scalar, curve-sized; the public point is
 * computed here. */
static enum ts_err ecc_pair(const struct psa_attrs *a, const uint8_t *d, size_t len,
                            TPM2B_PUBLIC *pub, TPMT_SENSITIVE *sens)
{
	size_t n = (a->bits + 7) / 8;
	EC_GROUP *g = EC_GROUP_new_by_curve_name(curve_nid(a->bits));
	BIGNUM *k = NULL;
	EC_POINT *q = NULL;
	uint8_t pt[1 + 2 * 66];
	enum ts_err st = TS_E_PSA_INVALID_ARGUMENT;

	if (g == NULL)
		return TS_E_PSA_NOT_SUPPORTED;
	if (len != n)
		goto out;
	k = BN_bin2bn(d, (int)len, NULL);
	q = EC_POINT_new(g);
	st = TS_E_NOMEM;
	if (k == NULL || q == NULL)
		goto out;
	st = TS_E_PSA_INVALID_ARGUMENT;
	if (BN_is_zero(k) || BN_cmp(k, EC_GROUP_get0_order(g)) >= 0 ||
	    EC_POINT_mul(g, q, k, NULL, NULL, NULL) != 1 ||
	    EC_POINT_point2oct(g, q, POINT_CONVERSION_UNCOMPRESSED, pt, sizeof(pt), NULL) !=
	            1 + 2 * n)
		goto out;
	memcpy(pub->publicArea.unique.ecc.x.buffer, pt + 1, n);
	pub->publicArea.unique.ecc.x.size = (uint16_t)n;
	memcpy(pub->publicArea.unique.ecc.y.buffer, pt + 1 + n, n);
	pub->publicArea.unique.ecc.y.size = (uint16_t)n;
	sens->sensitiveType = TPM2_ALG_ECC;
	memcpy(sens->sensitive.ecc.buffer, d, n);
	sens->sensitive.ecc.size = (uint16_t)n;
	st = TS_OK;
out:
	BN_clear_free(k);
	EC_POINT_free(q);
	EC_GROUP_free(g);
	return st;
}

/* RSA: PSA's private key is a DER RSAPrivateKey; the TPM takes the modulus
 * and one prime. */
static enum ts_err rsa_pair(const uint8_t *der, size_t len, TPM2B_PUBLIC *pub, TPMT_SENSITIVE *sens,
                            uint32_t *ret_bits)
{
	const uint8_t *p = der;
	EVP_PKEY *pk = d2i_PrivateKey(EVP_PKEY_RSA, NULL, &p, (long)len);
	BIGNUM *n = NULL, *e = NULL, *p1 = NULL;
	int nlen, plen;
	enum ts_err st = TS_E_PSA_INVALID_ARGUMENT;

	if (pk == NULL || p != der + len)
		goto out;
	/* The TPM takes the modulus and a prime as they come and would only
	 * fail, or sign wrongly, at use: check the key is whole first. */
	{
		EVP_PKEY_CTX *kc = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL);
		int ok = kc != NULL && EVP_PKEY_check(kc) == 1;

		EVP_PKEY_CTX_free(kc);
		if (!ok)
			goto out;
	}
	if (EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_N, &n) != 1 ||
	    EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_E, &e) != 1 ||
	    EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_FACTOR1, &p1) != 1)
		goto out;
	nlen = BN_num_bytes(n);
	plen = BN_num_bytes(p1);
	st = TS_E_PSA_NOT_SUPPORTED;
	if (BN_num_bits(e) > 32 || nlen > (int)sizeof(pub->publicArea.unique.rsa.buffer) ||
	    plen > (int)sizeof(sens->sensitive.rsa.buffer) || plen * 2 != nlen)
		goto out;
	*ret_bits = (uint32_t)BN_num_bits(n);
	pub->publicArea.parameters.rsaDetail.keyBits = (TPMI_RSA_KEY_BITS)*ret_bits;
	pub->publicArea.parameters.rsaDetail.exponent =
	        BN_get_word(e) == 65537 ? 0 : (UINT32)BN_get_word(e);
	BN_bn2bin(n, pub->publicArea.unique.rsa.buffer);
	pub->publicArea.unique.rsa.size = (uint16_t)nlen;
	sens->sensitiveType = TPM2_ALG_RSA;
	BN_bn2bin(p1, sens->sensitive.rsa.buffer);
	sens->sensitive.rsa.size = (uint16_t)plen;
	st = TS_OK;
out:
	BN_free(n);
	BN_free(e);
	BN_clear_free(p1);
	EVP_PKEY_free(pk);
	return st;
}

/* The inner duplication wrapper: duplicate = AES-128-CFB(key, IV 0,
 * TPM2B_DIGEST(SHA-256(sensitive || Name)) || sensitive), sensitive being
 * the marshalled TPM2B_SENSITIVE. */
static enum ts_err inner_wrap(const TPM2B_PUBLIC *pub, const TPMT_SENSITIVE *sens,
                              TPM2B_DATA *ret_key, TPM2B_PRIVATE *ret_dup)
{
	static const uint8_t iv[16];
	uint8_t plain[sizeof(ret_dup->buffer)], area[sizeof(TPMT_PUBLIC)], name[2 + 32];
	uint8_t *p = plain + 2 + 32; /* the sensitive area's place */
	size_t off = 2, area_len = 0, len;
	unsigned dl = 32;
	EVP_CIPHER_CTX *cc = NULL;
	EVP_MD_CTX *h = NULL;
	int outl = 0;
	enum ts_err st = TS_E_PSA_GENERIC_ERROR;

	/* TPM2B_SENSITIVE: its size, then the TPMT_SENSITIVE. */
	if (Tss2_MU_TPMT_SENSITIVE_Marshal(sens, p, sizeof(plain) - 2 - 32, &off) !=
	            TSS2_RC_SUCCESS ||
	    Tss2_MU_TPMT_PUBLIC_Marshal(&pub->publicArea, area, sizeof(area), &area_len) !=
	            TSS2_RC_SUCCESS)
		goto out;
	p[0] = (uint8_t)((off - 2) >> 8);
	p[1] = (uint8_t)(off - 2);
	len = 2 + 32 + off;
	name[0] = (uint8_t)(TPM2_ALG_SHA256 >> 8);
	name[1] = (uint8_t)TPM2_ALG_SHA256;
	h = EVP_MD_CTX_new();
	cc = EVP_CIPHER_CTX_new();
	if (h == NULL || cc == NULL ||
	    EVP_Digest(area, area_len, name + 2, &dl, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestInit_ex(h, EVP_sha256(), NULL) != 1 || EVP_DigestUpdate(h, p, off) != 1 ||
	    EVP_DigestUpdate(h, name, sizeof(name)) != 1 ||
	    EVP_DigestFinal_ex(h, plain + 2, &dl) != 1)
		goto out;
	plain[0] = 0;
	plain[1] = 32;
	ret_key->size = 16;
	if (RAND_bytes(ret_key->buffer, 16) != 1) {
		st = TS_E_PSA_INSUFFICIENT_ENTROPY;
		goto out;
	}
	if (EVP_EncryptInit_ex(cc, EVP_aes_128_cfb128(), NULL, ret_key->buffer, iv) != 1 ||
	    EVP_EncryptUpdate(cc, ret_dup->buffer, &outl, plain, (int)len) != 1 ||
	    (size_t)outl != len)
		goto out;
	ret_dup->size = (uint16_t)len;
	st = TS_OK;
out:
	ts_wipe(plain, sizeof(plain));
	EVP_MD_CTX_free(h);
	EVP_CIPHER_CTX_free(cc);
	return st;
}

enum ts_err tpm_import_pair(struct tpm_ctx *c, const struct prov_key *k, const uint8_t *data,
                            size_t len, uint8_t **ret_mat, size_t *ret_len, uint32_t *ret_bits)
{
	struct psa_attrs a = *k->attrs;
	TPM2B_PUBLIC pub;
	TPMT_SENSITIVE sens;
	TPM2B_PRIVATE dup = {0};
	TPM2B_DATA inner_key = {0};
	TPM2B_ENCRYPTED_SECRET no_seed = {0};
	TPMT_SYM_DEF_OBJECT inner = {.algorithm = TPM2_ALG_AES};
	TPM2B_PRIVATE *out = NULL;
	uint32_t bits = a.bits;
	enum ts_err st;

	inner.keyBits.aes = 128;
	inner.mode.aes = TPM2_ALG_CFB;
	memset(&sens, 0, sizeof(sens));
	if (a.type == PSA_KT_RSA_PAIR && a.bits == 0)
		a.bits = 2048; /* for the template; the size comes from the key */
	if (a.type == PSA_KT_ECC_PAIR && a.bits == 0)
		a.bits = len == 66 ? 521 : (uint32_t)len * 8;
	st = tpm_key_template(&a, &pub);
	if (st != TS_OK)
		return st;
	pub.publicArea.objectAttributes &=
	        ~(TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN);
	if (a.type == PSA_KT_ECC_PAIR) {
		st = ecc_pair(&a, data, len, &pub, &sens);
		bits = a.bits;
	} else {
		st = rsa_pair(data, len, &pub, &sens, &bits);
		if (st == TS_OK && k->attrs->bits != 0 && bits != k->attrs->bits)
			st = TS_E_PSA_INVALID_ARGUMENT;
	}
	if (st != TS_OK)
		goto out;
	sens.authValue.size = KEY_AUTH_LEN;
	sens.seedValue.size = 32; /* the obfuscation value of an asymmetric key */
	st = TS_E_PSA_INSUFFICIENT_ENTROPY;
	if (RAND_bytes(sens.authValue.buffer, KEY_AUTH_LEN) != 1 ||
	    RAND_bytes(sens.seedValue.buffer, 32) != 1)
		goto out;
	st = inner_wrap(&pub, &sens, &inner_key, &dup);
	if (st != TS_OK)
		goto out;
	pthread_mutex_lock(&c->lock);
	st = tpm_supports(c, &pub);
	if (st == TS_OK && c->root == ESYS_TR_NONE)
		st = tpm_root_again(c);
	for (int tries = 2; st == TS_OK && tries > 0; tries--) {
		TSS2_RC rc =
		        Esys_Import(c->esys, c->root, tpm_session(c, TPM_SESS_BOTH), ESYS_TR_NONE,
		                    ESYS_TR_NONE, &inner_key, &pub, &dup, &no_seed, &inner, &out);

		if (tries > 1 && tpm_objects_lost(rc)) {
			st = tpm_reattach(c);
			continue;
		}
		st = tpm_status(rc, "importing a key (Import)");
		/* A key the TPM finds inconsistent (its prime does not divide the
		 * modulus, a point off the curve). */
		if (st == TS_E_PSA_DATA_INVALID)
			st = TS_E_PSA_INVALID_ARGUMENT;
		break;
	}
	pthread_mutex_unlock(&c->lock);
	if (st == TS_OK)
		st = tpm_material_pack(c, sens.authValue.buffer, KEY_AUTH_LEN, &pub, out, ret_mat,
		                       ret_len);
	if (st == TS_OK)
		*ret_bits = bits;
out:
	ts_wipe(&sens, sizeof(sens));
	ts_wipe(&dup, sizeof(dup));
	ts_wipe(&inner_key, sizeof(inner_key));
	if (out != NULL)
		ts_wipe(out, sizeof(*out));
	Esys_Free(out);
	return st;
}
