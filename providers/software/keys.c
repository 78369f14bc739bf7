/*
 * Software provider keys. Material is kept in PSA's export format: RSA key
 * pair = DER RSAPrivateKey, RSA public key = DER RSAPublicKey, Weierstrass
 * ECC key pair = the private scalar (big-endian, field size), ECC public key
 * = the uncompressed point, Montgomery keys = raw little-endian bytes,
 * symmetric keys = the raw key. So import, export and loading share one
 * parser and nothing has two encodings.
 */
#include "providers/software/software-priv.h"

#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "common/secmem.h"

/* OpenSSL's name for a Weierstrass curve of a PSA family and size. */
const char *sw_curve_name(uint8_t family, uint32_t bits)
{
	switch (family) {
	case PSA_ECC_SECP_R1:
		switch (bits) {
		case 192:
			return "prime192v1";
		case 224:
			return "secp224r1";
		case 256:
			return "prime256v1";
		case 384:
			return "secp384r1";
		case 521:
			return "secp521r1";
		}
		return NULL;
	case PSA_ECC_SECP_K1:
		switch (bits) {
		case 192:
			return "secp192k1";
		case 256:
			return "secp256k1";
		}
		return NULL;
	case PSA_ECC_BRAINPOOL_P_R1:
		switch (bits) {
		case 160:
			return "brainpoolP160r1";
		case 192:
			return "brainpoolP192r1";
		case 224:
			return "brainpoolP224r1";
		case 256:
			return "brainpoolP256r1";
		case 320:
			return "brainpoolP320r1";
		case 384:
			return "brainpoolP384r1";
		case 512:
			return "brainpoolP512r1";
		}
		return NULL;
	/* Binary curves, named as the PSA specification assigns them to its
	 * families (SECT_R1's 163-bit curve is NIST B-163, SECG sect163r2;
	 * SECT_R2's is sect163r1). */
	case PSA_ECC_SECT_K1:
		switch (bits) {
		case 163:
			return "sect163k1";
		case 233:
			return "sect233k1";
		case 239:
			return "sect239k1";
		case 283:
			return "sect283k1";
		case 409:
			return "sect409k1";
		case 571:
			return "sect571k1";
		}
		return NULL;
	case PSA_ECC_SECT_R1:
		switch (bits) {
		case 163:
			return "sect163r2";
		case 233:
			return "sect233r1";
		case 283:
			return "sect283r1";
		case 409:
			return "sect409r1";
		case 571:
			return "sect571r1";
		}
		return NULL;
	case PSA_ECC_SECT_R2:
		return bits == 163 ? "sect163r1" : NULL;
	default:
		return NULL;
	}
}

/* Every Weierstrass curve size of some family here. */
static const uint32_t curve_sizes[] = {160, 163, 192, 224, 233, 239, 256,
                                       283, 320, 384, 409, 512, 521, 571};

/* Whether the family has any curve here (a size of 0 asks about the family). */
static bool family_known(uint8_t family)
{
	for (size_t i = 0; i < sizeof(curve_sizes) / sizeof(curve_sizes[0]); i++)
		if (sw_curve_name(family, curve_sizes[i]) != NULL)
			return true;
	return false;
}

static size_t curve_bytes(uint32_t bits);

/* The size of the family's one curve whose private scalar (pair) or
 * uncompressed point has len bytes; 0 when none does, or two do (SECT-K1's
 * 233 and 239 both take 30 bytes: the attributes must say which). */
static uint32_t ecc_bits_from_len(uint8_t family, bool pair, size_t len)
{
	uint32_t found = 0;

	for (size_t i = 0; i < sizeof(curve_sizes) / sizeof(curve_sizes[0]); i++) {
		size_t n = curve_bytes(curve_sizes[i]);

		if (sw_curve_name(family, curve_sizes[i]) == NULL || len != (pair ? n : 1 + 2 * n))
			continue;
		if (found != 0)
			return 0;
		found = curve_sizes[i];
	}
	return found;
}

static size_t curve_bytes(uint32_t bits)
{
	return (bits + 7) / 8;
}

static const char *montgomery_name(uint32_t bits)
{
	return bits == 255 ? "X25519" : bits == 448 ? "X448" : NULL;
}

static bool is_ecc(const struct psa_attrs *a)
{
	return a->type == PSA_KT_ECC_PAIR || a->type == PSA_KT_ECC_PUBLIC;
}

static bool is_rsa(const struct psa_attrs *a)
{
	return a->type == PSA_KT_RSA_PAIR || a->type == PSA_KT_RSA_PUBLIC;
}

/* Symmetric key sizes the provider accepts, in bits. */
static bool symmetric_size_ok(uint8_t type, uint32_t bits)
{
	switch (type) {
	case PSA_KT_AES:
	case PSA_KT_CAMELLIA:
		return bits == 128 || bits == 192 || bits == 256;
	case PSA_KT_CHACHA20:
		return bits == 256;
	case PSA_KT_HMAC:
	case PSA_KT_RAW_DATA:
	case PSA_KT_DERIVE:
		return bits > 0 && bits % 8 == 0 && bits <= 65536;
	default:
		return false;
	}
}

/* Build an EC key pair from its scalar (the public point is derived). */
static enum ts_err ec_pair_from_scalar(const char *curve, const uint8_t *d, size_t dlen,
                                       EVP_PKEY **ret)
{
	EC_GROUP *group = EC_GROUP_new_by_curve_name(OBJ_sn2nid(curve));
	BIGNUM *priv = BN_bin2bn(d, (int)dlen, NULL);
	EC_POINT *pub = NULL;
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	uint8_t point[1 + 2 * 72]; /* sect571's coordinates are 72 bytes */
	size_t plen;
	enum ts_err err = TS_E_PSA_INVALID_ARGUMENT;

	if (group == NULL || priv == NULL || bld == NULL || ctx == NULL) {
		err = group == NULL ? TS_E_PSA_NOT_SUPPORTED : TS_E_NOMEM;
		goto out;
	}
	/* The scalar must be in [1, n-1]. */
	if (BN_is_zero(priv) || BN_cmp(priv, EC_GROUP_get0_order(group)) >= 0)
		goto out;
	pub = EC_POINT_new(group);
	if (pub == NULL || EC_POINT_mul(group, pub, priv, NULL, NULL, NULL) != 1)
		goto out;
	plen = EC_POINT_point2oct(group, pub, POINT_CONVERSION_UNCOMPRESSED, point, sizeof(point),
	                          NULL);
	if (plen == 0)
		goto out;
	if (OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, curve, 0) != 1 ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, priv) != 1 ||
	    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, plen) != 1)
		goto out;
	params = OSSL_PARAM_BLD_to_param(bld);
	if (params == NULL || EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, ret, EVP_PKEY_KEYPAIR, params) != 1)
		goto out;
	err = TS_OK;
out:
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	EVP_PKEY_CTX_free(ctx);
	EC_POINT_free(pub);
	BN_clear_free(priv);
	EC_GROUP_free(group);
	return err;
}

static enum ts_err ec_public_from_point(const char *curve, const uint8_t *p, size_t len,
                                        EVP_PKEY **ret)
{
	OSSL_PARAM params[3];
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	enum ts_err err = TS_E_PSA_INVALID_ARGUMENT;

	if (ctx == NULL)
		return TS_E_NOMEM;
	/* PSA's format is the uncompressed point only. */
	if (len == 0 || p[0] != 0x04)
		goto out;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)curve, 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *)p, len);
	params[2] = OSSL_PARAM_construct_end();
	if (EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, ret, EVP_PKEY_PUBLIC_KEY, params) != 1)
		goto out;
	err = TS_OK;
out:
	EVP_PKEY_CTX_free(ctx);
	return err;
}

static bool is_dh(const struct psa_attrs *a)
{
	return a->type == PSA_KT_DH_PAIR || a->type == PSA_KT_DH_PUBLIC;
}

/* OpenSSL's name for an RFC 7919 group of a size. */
static const char *ffdhe_name(uint32_t bits)
{
	switch (bits) {
	case 2048:
		return "ffdhe2048";
	case 3072:
		return "ffdhe3072";
	case 4096:
		return "ffdhe4096";
	case 6144:
		return "ffdhe6144";
	case 8192:
		return "ffdhe8192";
	default:
		return NULL;
	}
}

/* A DH key of a named group from x (pair; y = g^x mod p is derived) or y. */
static enum ts_err dh_from_bytes(const struct psa_attrs *a, const uint8_t *v, size_t len,
                                 EVP_PKEY **ret)
{
	const char *group = ffdhe_name(a->bits);
	EVP_PKEY_CTX *pc = NULL, *fc = NULL;
	EVP_PKEY *params = NULL;
	BIGNUM *p = NULL, *g = NULL, *x = NULL, *y = NULL;
	BN_CTX *bn = BN_CTX_new();
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *ps = NULL, gp[2];
	enum ts_err err = TS_E_PSA_INVALID_ARGUMENT;

	if (group == NULL) {
		err = TS_E_PSA_NOT_SUPPORTED;
		goto out;
	}
	if (len != a->bits / 8 || bn == NULL || bld == NULL)
		goto out;
	/* The group's p and g, from OpenSSL's built-in RFC 7919 parameters. */
	pc = EVP_PKEY_CTX_new_from_name(NULL, "DH", NULL);
	gp[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)group, 0);
	gp[1] = OSSL_PARAM_construct_end();
	if (pc == NULL || EVP_PKEY_fromdata_init(pc) != 1 ||
	    EVP_PKEY_fromdata(pc, &params, EVP_PKEY_KEY_PARAMETERS, gp) != 1 ||
	    EVP_PKEY_get_bn_param(params, OSSL_PKEY_PARAM_FFC_P, &p) != 1 ||
	    EVP_PKEY_get_bn_param(params, OSSL_PKEY_PARAM_FFC_G, &g) != 1)
		goto out;
	if (a->type == PSA_KT_DH_PAIR) {
		x = BN_bin2bn(v, (int)len, NULL);
		y = BN_new();
		/* 1 < x < p */
		if (x == NULL || y == NULL || BN_cmp(x, BN_value_one()) <= 0 || BN_cmp(x, p) >= 0 ||
		    BN_mod_exp_mont_consttime(y, g, x, p, bn, NULL) != 1)
			goto out;
	} else {
		y = BN_bin2bn(v, (int)len, NULL);
		if (y == NULL || BN_cmp(y, BN_value_one()) <= 0 || BN_cmp(y, p) >= 0)
			goto out;
	}
	if (OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, group, 0) != 1 ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PUB_KEY, y) != 1 ||
	    (x != NULL && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, x) != 1))
		goto out;
	ps = OSSL_PARAM_BLD_to_param(bld);
	fc = EVP_PKEY_CTX_new_from_name(NULL, "DH", NULL);
	if (ps == NULL || fc == NULL || EVP_PKEY_fromdata_init(fc) != 1 ||
	    EVP_PKEY_fromdata(fc, ret, x != NULL ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY, ps) != 1)
		goto out;
	err = TS_OK;
out:
	OSSL_PARAM_free(ps);
	OSSL_PARAM_BLD_free(bld);
	EVP_PKEY_CTX_free(fc);
	EVP_PKEY_CTX_free(pc);
	EVP_PKEY_free(params);
	BN_free(p);
	BN_free(g);
	BN_clear_free(x);
	BN_free(y);
	BN_CTX_free(bn);
	return err;
}

enum ts_err sw_load_pkey(const struct psa_attrs *a, const uint8_t *mat, size_t len, EVP_PKEY **ret)
{
	const uint8_t *p = mat;
	const char *name;
	EVP_PKEY *pk = NULL;

	if (is_dh(a))
		return dh_from_bytes(a, mat, len, ret);
	if (is_rsa(a)) {
		pk = a->type == PSA_KT_RSA_PAIR ? d2i_PrivateKey(EVP_PKEY_RSA, NULL, &p, (long)len)
		                                : d2i_PublicKey(EVP_PKEY_RSA, NULL, &p, (long)len);
		if (pk == NULL || p != mat + len) {
			EVP_PKEY_free(pk);
			return TS_E_PSA_INVALID_ARGUMENT;
		}
		*ret = pk;
		return TS_OK;
	}
	if (is_ecc(a) && a->family == PSA_ECC_MONTGOMERY) {
		name = montgomery_name(a->bits);
		if (name == NULL)
			return TS_E_PSA_NOT_SUPPORTED;
		pk = a->type == PSA_KT_ECC_PAIR
		             ? EVP_PKEY_new_raw_private_key_ex(NULL, name, NULL, mat, len)
		             : EVP_PKEY_new_raw_public_key_ex(NULL, name, NULL, mat, len);
		if (pk == NULL)
			return TS_E_PSA_INVALID_ARGUMENT;
		*ret = pk;
		return TS_OK;
	}
	if (is_ecc(a)) {
		name = sw_curve_name(a->family, a->bits);
		if (name == NULL)
			return TS_E_PSA_NOT_SUPPORTED;
		if (a->type == PSA_KT_ECC_PAIR) {
			if (len != curve_bytes(a->bits))
				return TS_E_PSA_INVALID_ARGUMENT;
			return ec_pair_from_scalar(name, mat, len, ret);
		}
		if (len != 1 + 2 * curve_bytes(a->bits))
			return TS_E_PSA_INVALID_ARGUMENT;
		return ec_public_from_point(name, mat, len, ret);
	}
	return TS_E_PSA_NOT_SUPPORTED;
}

/* The PSA export form of a key OpenSSL holds. */
static enum ts_err export_pkey(const struct psa_attrs *a, EVP_PKEY *pk, bool public_only,
                               uint8_t **ret, size_t *ret_len)
{
	uint8_t *out = NULL;
	size_t len = 0;
	int n;

	if (is_rsa(a)) {
		unsigned char *der = NULL;

		n = public_only ? i2d_PublicKey(pk, &der) : i2d_PrivateKey(pk, &der);
		if (n <= 0)
			return TS_E_PSA_GENERIC_ERROR;
		out = malloc((size_t)n);
		if (out != NULL)
			memcpy(out, der, (size_t)n);
		OPENSSL_clear_free(der, (size_t)n);
		len = (size_t)n;
	} else if (is_dh(a)) {
		BIGNUM *v = NULL;

		/* PSA: big-endian, as long as the group's modulus. */
		if (EVP_PKEY_get_bn_param(
		            pk, public_only ? OSSL_PKEY_PARAM_PUB_KEY : OSSL_PKEY_PARAM_PRIV_KEY,
		            &v) != 1)
			return TS_E_PSA_GENERIC_ERROR;
		len = a->bits / 8;
		out = malloc(len);
		if (out != NULL && BN_bn2binpad(v, out, (int)len) != (int)len) {
			ts_free_secret(out, len);
			out = NULL;
		}
		BN_clear_free(v);
	} else if (a->family == PSA_ECC_MONTGOMERY) {
		if ((public_only ? EVP_PKEY_get_raw_public_key(pk, NULL, &len)
		                 : EVP_PKEY_get_raw_private_key(pk, NULL, &len)) != 1)
			return TS_E_PSA_GENERIC_ERROR;
		out = malloc(len);
		if (out != NULL &&
		    (public_only ? EVP_PKEY_get_raw_public_key(pk, out, &len)
		                 : EVP_PKEY_get_raw_private_key(pk, out, &len)) != 1) {
			ts_free_secret(out, len);
			return TS_E_PSA_GENERIC_ERROR;
		}
	} else if (public_only) {
		if (EVP_PKEY_get_octet_string_param(pk, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, NULL, 0,
		                                    &len) != 1)
			return TS_E_PSA_GENERIC_ERROR;
		out = malloc(len);
		if (out != NULL &&
		    EVP_PKEY_get_octet_string_param(pk, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, out,
		                                    len, &len) != 1) {
			free(out);
			return TS_E_PSA_GENERIC_ERROR;
		}
	} else {
		BIGNUM *d = NULL;

		if (EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_PRIV_KEY, &d) != 1)
			return TS_E_PSA_GENERIC_ERROR;
		len = curve_bytes(a->bits);
		out = malloc(len);
		if (out != NULL && BN_bn2binpad(d, out, (int)len) != (int)len) {
			ts_free_secret(out, len);
			out = NULL;
		}
		BN_clear_free(d);
	}
	if (out == NULL)
		return TS_E_NOMEM;
	*ret = out;
	*ret_len = len;
	return TS_OK;
}

static enum ts_err copy_out(const uint8_t *in, size_t len, uint8_t **ret, size_t *ret_len)
{
	uint8_t *out = malloc(len ? len : 1);

	if (out == NULL)
		return TS_E_NOMEM;
	memcpy(out, in, len);
	*ret = out;
	*ret_len = len;
	return TS_OK;
}

enum ts_err sw_generate_key(void *ctx, const struct psa_attrs *a, uint8_t **ret_mat,
                            size_t *ret_len)
{
	EVP_PKEY *pk = NULL;
	enum ts_err err;

	(void)ctx;
	if (symmetric_size_ok(a->type, a->bits)) {
		size_t n = a->bits / 8;
		uint8_t *key = malloc(n);

		if (key == NULL)
			return TS_E_NOMEM;
		if (RAND_priv_bytes(key, (int)n) != 1) {
			ts_free_secret(key, n);
			return TS_E_PSA_INSUFFICIENT_ENTROPY;
		}
		*ret_mat = key;
		*ret_len = n;
		return TS_OK;
	}
	if (a->type == PSA_KT_RSA_PAIR) {
		/* Parsec's software provider offers these sizes. */
		if (a->bits != 1024 && a->bits != 2048 && a->bits != 3072 && a->bits != 4096)
			return a->bits < 1024 || a->bits > 4096 ? TS_E_PSA_INVALID_ARGUMENT
			                                        : TS_E_PSA_NOT_SUPPORTED;
		pk = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)a->bits);
	} else if (a->type == PSA_KT_DH_PAIR) {
		const char *group = ffdhe_name(a->bits);
		EVP_PKEY_CTX *gc;
		OSSL_PARAM gp[2];

		if (group == NULL)
			return TS_E_PSA_NOT_SUPPORTED;
		gp[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)group,
		                                         0);
		gp[1] = OSSL_PARAM_construct_end();
		gc = EVP_PKEY_CTX_new_from_name(NULL, "DH", NULL);
		if (gc == NULL || EVP_PKEY_keygen_init(gc) != 1 ||
		    EVP_PKEY_CTX_set_params(gc, gp) != 1 || EVP_PKEY_generate(gc, &pk) != 1)
			pk = NULL;
		EVP_PKEY_CTX_free(gc);
	} else if (a->type == PSA_KT_ECC_PAIR && a->family == PSA_ECC_MONTGOMERY) {
		const char *name = montgomery_name(a->bits);

		if (name == NULL)
			return TS_E_PSA_NOT_SUPPORTED;
		pk = EVP_PKEY_Q_keygen(NULL, NULL, name);
	} else if (a->type == PSA_KT_ECC_PAIR) {
		const char *curve = sw_curve_name(a->family, a->bits);

		if (curve == NULL)
			return TS_E_PSA_NOT_SUPPORTED;
		pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", curve);
	} else if (a->type == PSA_KT_AES || a->type == PSA_KT_CAMELLIA ||
	           a->type == PSA_KT_CHACHA20 || a->type == PSA_KT_HMAC ||
	           a->type == PSA_KT_RAW_DATA || a->type == PSA_KT_DERIVE) {
		return TS_E_PSA_INVALID_ARGUMENT; /* a size the type does not have */
	} else {
		return TS_E_PSA_NOT_SUPPORTED; /* public keys cannot be generated; DH, DES */
	}
	if (pk == NULL)
		return TS_E_PSA_GENERIC_ERROR;
	err = export_pkey(a, pk, false, ret_mat, ret_len);
	EVP_PKEY_free(pk);
	return err;
}

enum ts_err sw_import_key(void *ctx, const struct psa_attrs *a, const uint8_t *data, size_t len,
                          uint8_t **ret_mat, size_t *ret_len, uint32_t *ret_bits)
{
	struct psa_attrs sized = *a;
	EVP_PKEY *pk = NULL;
	enum ts_err err;

	(void)ctx;
	if (a->type == PSA_KT_AES || a->type == PSA_KT_CAMELLIA || a->type == PSA_KT_CHACHA20 ||
	    a->type == PSA_KT_HMAC || a->type == PSA_KT_RAW_DATA || a->type == PSA_KT_DERIVE) {
		uint32_t bits = (uint32_t)len * 8;

		if ((a->bits != 0 && a->bits != bits) || !symmetric_size_ok(a->type, bits))
			return TS_E_PSA_INVALID_ARGUMENT;
		*ret_bits = bits;
		return copy_out(data, len, ret_mat, ret_len);
	}
	if (is_ecc(a) && a->bits == 0) {
		/* The size follows from the data. */
		if (a->family == PSA_ECC_MONTGOMERY)
			sized.bits = len == 32 ? 255 : len == 56 ? 448 : 0;
		else
			sized.bits = ecc_bits_from_len(a->family, a->type == PSA_KT_ECC_PAIR, len);
	}
	if (is_dh(a) && a->bits == 0)
		sized.bits = (uint32_t)len * 8;
	if (!is_rsa(&sized) && !is_ecc(&sized) && !is_dh(&sized))
		return TS_E_PSA_NOT_SUPPORTED;
	err = sw_load_pkey(&sized, data, len, &pk);
	if (err != TS_OK)
		return err;
	if (is_rsa(&sized)) {
		uint32_t bits = (uint32_t)EVP_PKEY_get_bits(pk);

		if (a->bits != 0 && a->bits != bits) {
			EVP_PKEY_free(pk);
			return TS_E_PSA_INVALID_ARGUMENT;
		}
		sized.bits = bits;
	}
	EVP_PKEY_free(pk);
	*ret_bits = sized.bits;
	return copy_out(data, len, ret_mat, ret_len);
}

enum ts_err sw_export_key(void *ctx, const struct psa_attrs *a, const uint8_t *mat, size_t mat_len,
                          uint8_t **ret, size_t *ret_len)
{
	(void)ctx;
	(void)a;
	return copy_out(mat, mat_len, ret, ret_len);
}

enum ts_err sw_export_public_key(void *ctx, const struct psa_attrs *a, const uint8_t *mat,
                                 size_t mat_len, uint8_t **ret, size_t *ret_len)
{
	EVP_PKEY *pk = NULL;
	enum ts_err err;

	(void)ctx;
	if (a->type == PSA_KT_RSA_PUBLIC || a->type == PSA_KT_ECC_PUBLIC ||
	    a->type == PSA_KT_DH_PUBLIC)
		return copy_out(mat, mat_len, ret, ret_len);
	if (a->type != PSA_KT_RSA_PAIR && a->type != PSA_KT_ECC_PAIR && a->type != PSA_KT_DH_PAIR)
		return TS_E_PSA_INVALID_ARGUMENT; /* symmetric keys have no public part */
	err = sw_get_pkey(ctx, a, mat, mat_len, &pk);
	if (err != TS_OK)
		return err;
	err = export_pkey(a, pk, true, ret, ret_len);
	EVP_PKEY_free(pk);
	return err;
}

/* Does the software provider know this hash (for the algorithms bound to one)? */
static bool hash_ok(unsigned h)
{
	return h == 0 || sw_md(h) != NULL;
}

enum ts_err sw_can_do(void *ctx, const struct psa_attrs *a, int check)
{
	const struct psa_alg *alg = &a->alg;
	bool pub = a->type == PSA_KT_RSA_PUBLIC || a->type == PSA_KT_ECC_PUBLIC ||
	           a->type == PSA_KT_DH_PUBLIC;

	(void)ctx;
	if (check == 4 || (check == 2 && pub))
		return TS_E_PSA_NOT_SUPPORTED; /* no key derivation; public keys are imported */
	switch (a->type) {
	case PSA_KT_AES:
	case PSA_KT_CAMELLIA:
	case PSA_KT_CHACHA20:
	case PSA_KT_HMAC:
	case PSA_KT_RAW_DATA:
	case PSA_KT_DERIVE:
		if (a->bits != 0 && !symmetric_size_ok(a->type, a->bits))
			return TS_E_PSA_NOT_SUPPORTED;
		break;
	case PSA_KT_RSA_PAIR:
	case PSA_KT_RSA_PUBLIC:
		if (a->bits != 0 &&
		    (a->bits < 1024 || a->bits > 4096 || (check == 2 && a->bits % 1024 != 0)))
			return TS_E_PSA_NOT_SUPPORTED;
		break;
	case PSA_KT_ECC_PAIR:
	case PSA_KT_ECC_PUBLIC:
		if (a->family == PSA_ECC_MONTGOMERY) {
			if (a->bits != 0 && montgomery_name(a->bits) == NULL)
				return TS_E_PSA_NOT_SUPPORTED;
		} else if (a->bits != 0 ? sw_curve_name(a->family, a->bits) == NULL
		                        : !family_known(a->family)) {
			return TS_E_PSA_NOT_SUPPORTED;
		}
		break;
	case PSA_KT_DH_PAIR:
	case PSA_KT_DH_PUBLIC:
		if (a->bits != 0 && ffdhe_name(a->bits) == NULL)
			return TS_E_PSA_NOT_SUPPORTED;
		break;
	default:
		return TS_E_PSA_NOT_SUPPORTED; /* DES, ARC4 */
	}
	if (!hash_ok(alg->hash) || !hash_ok(alg->kdf_hash) || alg->kdf != 0 ||
	    alg->cls == PSA_AC_KDF)
		return TS_E_PSA_NOT_SUPPORTED;
	if ((alg->cls == PSA_AC_SIGN && alg->kind == PSA_SIGN_DETERMINISTIC_ECDSA) ||
	    (alg->cls == PSA_AC_MAC && alg->kind == PSA_MAC_CBC_MAC) ||

	    (alg->cls == PSA_AC_CIPHER && alg->kind == 5 /* XTS */) ||
	    (alg->cls == PSA_AC_AEAD && a->type == PSA_KT_CAMELLIA))
		return TS_E_PSA_NOT_SUPPORTED;
	return TS_OK;
}
