/*
 * PKCS#11 keys: generation, import and export. A key is one token object
 * (secret keys) or two with the same CKA_ID (a public and a private key);
 * objects.c chooses the CKA_ID and finds and destroys the objects. The
 * label names the tenant's key, for whoever lists the token.
 *
 * The core keeps no material for these keys: what it stores is empty.
 */
#include "providers/pkcs11/pkcs11-priv.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>

#include "common/secmem.h"

static CK_BBOOL yes = CK_TRUE, no = CK_FALSE;

const uint8_t *p11_ec_oid(uint32_t bits, size_t *ret_len)
{
	static const uint8_t p192[] = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x01};
	static const uint8_t p224[] = {0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x21};
	static const uint8_t p256[] = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
	static const uint8_t p384[] = {0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22};
	static const uint8_t p521[] = {0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x23};

	switch (bits) {
	case 192:
		*ret_len = sizeof(p192);
		return p192;
	case 224:
		*ret_len = sizeof(p224);
		return p224;
	case 256:
		*ret_len = sizeof(p256);
		return p256;
	case 384:
		*ret_len = sizeof(p384);
		return p384;
	case 521:
		*ret_len = sizeof(p521);
		return p521;
	default:
		return NULL;
	}
}

static const char *ec_curve_name(uint32_t bits)
{
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
	default:
		return NULL;
	}
}

static size_t curve_bytes(uint32_t bits)
{
	return (bits + 7) / 8;
}

/* ---- templates ---- */

#define MAX_ATTRS 24

struct tmpl {
	CK_ATTRIBUTE a[MAX_ATTRS];
	CK_ULONG n;
};

static void add(struct tmpl *t, CK_ATTRIBUTE_TYPE type, const void *v, size_t len)
{
	if (t->n < MAX_ATTRS)
		t->a[t->n++] = (CK_ATTRIBUTE){type, (void *)v, (CK_ULONG)len};
}

static void add_bool(struct tmpl *t, CK_ATTRIBUTE_TYPE type, bool v)
{
	add(t, type, v ? &yes : &no, sizeof(CK_BBOOL));
}

/* The one mechanism a key's PSA policy allows; false when none maps. */
static bool policy_mech(const struct psa_alg *alg, CK_MECHANISM_TYPE *ret)
{
	switch (alg->cls) {
	case PSA_AC_SIGN:
		switch (alg->kind) {
		case PSA_SIGN_ECDSA:
		case PSA_SIGN_ECDSA_ANY:
			*ret = CKM_ECDSA;
			return true;
		case PSA_SIGN_RSA_PKCS1V15:
		case PSA_SIGN_RSA_PKCS1V15_RAW:
			*ret = CKM_RSA_PKCS;
			return true;
		case PSA_SIGN_RSA_PSS:
			*ret = CKM_RSA_PKCS_PSS;
			return true;
		}
		return false;
	case PSA_AC_ASYM_ENC:
		*ret = alg->kind == PSA_ENC_RSA_OAEP ? CKM_RSA_PKCS_OAEP : CKM_RSA_PKCS;
		return true;
	case PSA_AC_KEY_AGREEMENT:
		if (alg->kind == PSA_KA_ECDH && alg->kdf == 0) {
			*ret = CKM_ECDH1_DERIVE;
			return true;
		}
		return false;
	default:
		return p11_secret_mech(alg, ret);
	}
}

/* What both objects of a key share, and each one's usage. */
struct key_tmpl {
	struct tmpl pub, priv;
	CK_MECHANISM_TYPE allowed;
	CK_OBJECT_CLASS pub_cls, priv_cls;
	CK_KEY_TYPE kt;
};

static enum ts_err build_templates(struct p11 *p, const struct prov_key *k, CK_KEY_TYPE kt,
                                   struct key_tmpl *t)
{
	const struct psa_attrs *a = k->attrs;
	bool exportable = (a->usage & PSA_USAGE_EXPORT) != 0;
	const char *label = k->label;

	if (exportable && !p->allow_export)
		return TS_E_PSA_NOT_PERMITTED; /* refused by the instance's settings */
	if (label == NULL)
		label = "tessera";
	memset(t, 0, sizeof(*t));
	t->pub_cls = CKO_PUBLIC_KEY;
	t->priv_cls = CKO_PRIVATE_KEY;
	t->kt = kt;
	add(&t->pub, CKA_CLASS, &t->pub_cls, sizeof(t->pub_cls));
	add(&t->priv, CKA_CLASS, &t->priv_cls, sizeof(t->priv_cls));
	add(&t->pub, CKA_KEY_TYPE, &t->kt, sizeof(t->kt));
	add(&t->priv, CKA_KEY_TYPE, &t->kt, sizeof(t->kt));
	add_bool(&t->pub, CKA_TOKEN, true);
	add_bool(&t->priv, CKA_TOKEN, true);
	add_bool(&t->pub, CKA_PRIVATE, false);
	add_bool(&t->priv, CKA_PRIVATE, true);
	add(&t->pub, CKA_ID, k->ref, k->ref_len);
	add(&t->priv, CKA_ID, k->ref, k->ref_len);
	add(&t->pub, CKA_LABEL, label, strlen(label));
	add(&t->priv, CKA_LABEL, label, strlen(label));
	add_bool(&t->priv, CKA_SENSITIVE, !exportable);
	add_bool(&t->priv, CKA_EXTRACTABLE, exportable);
	add_bool(&t->priv, CKA_SIGN, (a->usage & (PSA_USAGE_SIGN_HASH | PSA_USAGE_SIGN_MESSAGE)));
	add_bool(&t->pub, CKA_VERIFY,
	         (a->usage & (PSA_USAGE_VERIFY_HASH | PSA_USAGE_VERIFY_MESSAGE)));
	add_bool(&t->priv, CKA_DECRYPT, (a->usage & PSA_USAGE_DECRYPT));
	add_bool(&t->pub, CKA_ENCRYPT, (a->usage & PSA_USAGE_ENCRYPT));
	add_bool(&t->priv, CKA_DERIVE, (a->usage & PSA_USAGE_DERIVE));
	/* Nothing PSA has: SoftHSM would otherwise default them on. */
	add_bool(&t->pub, CKA_WRAP, false);
	add_bool(&t->priv, CKA_UNWRAP, false);
	if (policy_mech(&a->alg, &t->allowed)) {
		add(&t->pub, CKA_ALLOWED_MECHANISMS, &t->allowed, sizeof(t->allowed));
		add(&t->priv, CKA_ALLOWED_MECHANISMS, &t->allowed, sizeof(t->allowed));
	}
	return TS_OK;
}

/* ---- secret keys: one object ---- */

static bool secret_size_ok(const struct psa_attrs *a, uint32_t bits)
{
	if (a->type == PSA_KT_AES)
		return bits == 128 || bits == 192 || bits == 256;
	return a->type == PSA_KT_HMAC && bits >= 8 && bits % 8 == 0 && bits <= 4096;
}

/* The template of a secret key; value (import) may be NULL. */
static enum ts_err secret_template(struct p11 *p, const struct prov_key *k, struct key_tmpl *t,
                                   CK_ULONG *value_len, const uint8_t *value, size_t len)
{
	const struct psa_attrs *a = k->attrs;
	bool exportable = (a->usage & PSA_USAGE_EXPORT) != 0;
	const char *label = k->label != NULL ? k->label : "tessera";
	bool mac = a->type == PSA_KT_HMAC;

	if (exportable && !p->allow_export)
		return TS_E_PSA_NOT_PERMITTED;
	memset(t, 0, sizeof(*t));
	t->priv_cls = CKO_SECRET_KEY;
	t->kt = mac ? CKK_GENERIC_SECRET : CKK_AES;
	add(&t->priv, CKA_CLASS, &t->priv_cls, sizeof(t->priv_cls));
	add(&t->priv, CKA_KEY_TYPE, &t->kt, sizeof(t->kt));
	add_bool(&t->priv, CKA_TOKEN, true);
	add_bool(&t->priv, CKA_PRIVATE, true);
	add(&t->priv, CKA_ID, k->ref, k->ref_len);
	add(&t->priv, CKA_LABEL, label, strlen(label));
	add_bool(&t->priv, CKA_SENSITIVE, !exportable);
	add_bool(&t->priv, CKA_EXTRACTABLE, exportable);
	add_bool(&t->priv, CKA_ENCRYPT, !mac && (a->usage & PSA_USAGE_ENCRYPT));
	add_bool(&t->priv, CKA_DECRYPT, !mac && (a->usage & PSA_USAGE_DECRYPT));
	add_bool(&t->priv, CKA_SIGN,
	         mac && (a->usage & (PSA_USAGE_SIGN_MESSAGE | PSA_USAGE_SIGN_HASH)));
	add_bool(&t->priv, CKA_VERIFY,
	         mac && (a->usage & (PSA_USAGE_VERIFY_MESSAGE | PSA_USAGE_VERIFY_HASH)));
	add_bool(&t->priv, CKA_WRAP, false);
	add_bool(&t->priv, CKA_UNWRAP, false);
	add_bool(&t->priv, CKA_DERIVE, false);
	if (p11_secret_mech(&a->alg, &t->allowed))
		add(&t->priv, CKA_ALLOWED_MECHANISMS, &t->allowed, sizeof(t->allowed));
	if (value != NULL)
		add(&t->priv, CKA_VALUE, value, len);
	else
		add(&t->priv, CKA_VALUE_LEN, value_len, sizeof(*value_len));
	return TS_OK;
}

static enum ts_err generate_secret(struct p11 *p, const struct prov_key *k)
{
	CK_ULONG len = k->attrs->bits / 8;
	CK_MECHANISM m = {k->attrs->type == PSA_KT_AES ? CKM_AES_KEY_GEN
	                                               : CKM_GENERIC_SECRET_KEY_GEN,
	                  NULL, 0};
	struct key_tmpl t;
	CK_OBJECT_HANDLE o;
	CK_SESSION_HANDLE s;
	enum ts_err err;
	CK_RV rv;

	if (!secret_size_ok(k->attrs, k->attrs->bits))
		return TS_E_PSA_INVALID_ARGUMENT;
	if (!p11_has_mech(p, m.mechanism, NULL))
		return TS_E_PSA_NOT_SUPPORTED;
	err = secret_template(p, k, &t, &len, NULL, 0);
	if (err != TS_OK)
		return err;
	s = p11_session_get(p);
	rv = p->f->C_GenerateKey(s, &m, t.priv.a, t.priv.n, &o);
	p11_session_put(p, s, p11_status(rv));
	return p11_status(rv);
}

static enum ts_err import_secret(struct p11 *p, const struct prov_key *k, const uint8_t *data,
                                 size_t len, uint32_t *ret_bits)
{
	uint32_t bits = (uint32_t)len * 8;
	struct key_tmpl t;
	CK_OBJECT_HANDLE o;
	CK_SESSION_HANDLE s;
	enum ts_err err;
	CK_RV rv;

	if ((k->attrs->bits != 0 && k->attrs->bits != bits) || !secret_size_ok(k->attrs, bits))
		return TS_E_PSA_INVALID_ARGUMENT;
	err = secret_template(p, k, &t, NULL, data, len);
	if (err != TS_OK)
		return err;
	s = p11_session_get(p);
	rv = p->f->C_CreateObject(s, t.priv.a, t.priv.n, &o);
	p11_session_put(p, s, p11_status(rv));
	if (rv == CKR_OK)
		*ret_bits = bits;
	return p11_status(rv);
}

/* ---- generation ---- */

static enum ts_err check_rsa_bits(struct p11 *p, uint32_t bits)
{
	CK_MECHANISM_INFO mi;

	if (bits < 1024 || bits > 8192 || bits % 8 != 0)
		return bits == 0 ? TS_E_PSA_INVALID_ARGUMENT : TS_E_PSA_NOT_SUPPORTED;
	if (!p11_has_mech(p, CKM_RSA_PKCS_KEY_PAIR_GEN, &mi) || bits < mi.ulMinKeySize ||
	    bits > mi.ulMaxKeySize)
		return TS_E_PSA_NOT_SUPPORTED;
	return TS_OK;
}

enum ts_err p11_generate_key(void *ctx, const struct prov_key *k, uint8_t **ret_mat,
                             size_t *ret_len)
{
	static const uint8_t e65537[] = {0x01, 0x00, 0x01};
	struct p11 *p = ctx;
	const struct psa_attrs *a = k->attrs;
	struct key_tmpl t;
	CK_MECHANISM m = {0, NULL, 0};
	CK_ULONG bits = a->bits;
	CK_OBJECT_HANDLE pub, priv;
	CK_SESSION_HANDLE s;
	const uint8_t *oid = NULL;
	size_t oid_len = 0;
	enum ts_err err;
	CK_RV rv;

	if (a->type == PSA_KT_ECC_PAIR) {
		if (a->family != PSA_ECC_SECP_R1)
			return TS_E_PSA_NOT_SUPPORTED;
		oid = p11_ec_oid(a->bits, &oid_len);
		if (oid == NULL || !p11_has_mech(p, CKM_EC_KEY_PAIR_GEN, NULL))
			return TS_E_PSA_NOT_SUPPORTED;
		m.mechanism = CKM_EC_KEY_PAIR_GEN;
		err = build_templates(p, k, CKK_EC, &t);
		if (err != TS_OK)
			return err;
		add(&t.pub, CKA_EC_PARAMS, oid, oid_len);
	} else if (a->type == PSA_KT_RSA_PAIR) {
		err = check_rsa_bits(p, a->bits);
		if (err != TS_OK)
			return err;
		m.mechanism = CKM_RSA_PKCS_KEY_PAIR_GEN;
		err = build_templates(p, k, CKK_RSA, &t);
		if (err != TS_OK)
			return err;
		add(&t.pub, CKA_MODULUS_BITS, &bits, sizeof(bits));
		add(&t.pub, CKA_PUBLIC_EXPONENT, e65537, sizeof(e65537));
	} else if (a->type == PSA_KT_AES || a->type == PSA_KT_HMAC) {
		return generate_secret(p, k);
	} else {
		return TS_E_PSA_NOT_SUPPORTED; /* public keys are imported */
	}
	s = p11_session_get(p);
	rv = p->f->C_GenerateKeyPair(s, &m, t.pub.a, t.pub.n, t.priv.a, t.priv.n, &pub, &priv);
	p11_session_put(p, s, p11_status(rv));
	if (rv != CKR_OK)
		return p11_status(rv);
	*ret_mat = NULL;
	*ret_len = 0;
	return TS_OK;
}

/* ---- public keys: token form <-> PSA form ---- */

/* CKA_EC_POINT is a DER OCTET STRING around the point; some tokens give
 * the point bare. The PSA form is the bare uncompressed point. */
static enum ts_err unwrap_point(const uint8_t *v, size_t len, uint32_t bits, uint8_t **ret,
                                size_t *ret_len)
{
	size_t want = 1 + 2 * curve_bytes(bits), hdr = 0;
	uint8_t *out;

	if (len == want + 2 && v[0] == 0x04 && v[1] == want)
		hdr = 2;
	else if (len == want + 3 && v[0] == 0x04 && v[1] == 0x81 && v[2] == want)
		hdr = 3;
	else if (len != want)
		return TS_E_PSA_COMMUNICATION_FAILURE;
	if (v[hdr] != 0x04)
		return TS_E_PSA_COMMUNICATION_FAILURE;
	out = malloc(want);
	if (out == NULL)
		return TS_E_NOMEM;
	memcpy(out, v + hdr, want);
	*ret = out;
	*ret_len = want;
	return TS_OK;
}

/* A DER RSAPublicKey from the modulus and exponent. */
static enum ts_err rsa_public_der(const uint8_t *n, size_t n_len, const uint8_t *e, size_t e_len,
                                  uint8_t **ret, size_t *ret_len)
{
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *ps = NULL;
	EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	EVP_PKEY *pk = NULL;
	BIGNUM *bn = BN_bin2bn(n, (int)n_len, NULL), *be = BN_bin2bn(e, (int)e_len, NULL);
	unsigned char *der = NULL;
	int dlen;
	enum ts_err err = TS_E_PSA_COMMUNICATION_FAILURE;

	if (bld == NULL || pc == NULL || bn == NULL || be == NULL) {
		err = TS_E_NOMEM;
		goto out;
	}
	if (OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) != 1 ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be) != 1)
		goto out;
	ps = OSSL_PARAM_BLD_to_param(bld);
	if (ps == NULL || EVP_PKEY_fromdata_init(pc) != 1 ||
	    EVP_PKEY_fromdata(pc, &pk, EVP_PKEY_PUBLIC_KEY, ps) != 1)
		goto out;
	dlen = i2d_PublicKey(pk, &der);
	if (dlen <= 0)
		goto out;
	*ret = malloc((size_t)dlen);
	if (*ret == NULL) {
		err = TS_E_NOMEM;
		goto out;
	}
	memcpy(*ret, der, (size_t)dlen);
	*ret_len = (size_t)dlen;
	err = TS_OK;
out:
	OPENSSL_free(der);
	EVP_PKEY_free(pk);
	OSSL_PARAM_free(ps);
	OSSL_PARAM_BLD_free(bld);
	EVP_PKEY_CTX_free(pc);
	BN_free(bn);
	BN_free(be);
	return err;
}

enum ts_err p11_public_of(struct p11 *p, CK_SESSION_HANDLE s, const struct prov_key *k,
                          uint8_t **ret, size_t *ret_len)
{
	const struct psa_attrs *a = k->attrs;
	CK_OBJECT_HANDLE o;
	uint8_t *v1 = NULL, *v2 = NULL;
	size_t l1 = 0, l2 = 0;
	enum ts_err err;

	err = p11_find(p, s, k, CKO_PUBLIC_KEY, &o);
	if (err != TS_OK)
		return err;
	if (a->type == PSA_KT_ECC_PAIR || a->type == PSA_KT_ECC_PUBLIC) {
		err = p11_get_attr(p, s, o, CKA_EC_POINT, &v1, &l1);
		if (err == TS_OK)
			err = unwrap_point(v1, l1, a->bits, ret, ret_len);
	} else if (a->type == PSA_KT_RSA_PAIR || a->type == PSA_KT_RSA_PUBLIC) {
		err = p11_get_attr(p, s, o, CKA_MODULUS, &v1, &l1);
		if (err == TS_OK)
			err = p11_get_attr(p, s, o, CKA_PUBLIC_EXPONENT, &v2, &l2);
		if (err == TS_OK)
			err = rsa_public_der(v1, l1, v2, l2, ret, ret_len);
	} else {
		err = TS_E_PSA_INVALID_ARGUMENT;
	}
	free(v1);
	free(v2);
	return err;
}

enum ts_err p11_export_public_key(void *ctx, const struct prov_key *k, uint8_t **ret,
                                  size_t *ret_len)
{
	struct p11 *p = ctx;
	CK_SESSION_HANDLE s;
	enum ts_err err;

	if (k->attrs->type != PSA_KT_ECC_PAIR && k->attrs->type != PSA_KT_ECC_PUBLIC &&
	    k->attrs->type != PSA_KT_RSA_PAIR && k->attrs->type != PSA_KT_RSA_PUBLIC)
		return TS_E_PSA_INVALID_ARGUMENT;
	s = p11_session_get(p);
	err = p11_public_of(p, s, k, ret, ret_len);
	p11_session_put(p, s, err);
	return err;
}

/* ---- import ---- */

static enum ts_err bn_param(EVP_PKEY *pk, const char *name, uint8_t **ret, size_t *ret_len)
{
	BIGNUM *b = NULL;
	int n;

	if (EVP_PKEY_get_bn_param(pk, name, &b) != 1)
		return TS_E_PSA_INVALID_ARGUMENT;
	n = BN_num_bytes(b);
	*ret = malloc(n > 0 ? (size_t)n : 1);
	if (*ret == NULL) {
		BN_clear_free(b);
		return TS_E_NOMEM;
	}
	*ret_len = (size_t)BN_bn2bin(b, *ret);
	BN_clear_free(b);
	return TS_OK;
}

/* The public point of a scalar on a curve (PSA form), checking the scalar. */
static enum ts_err ec_point_of(const char *curve, const uint8_t *d, size_t dlen, uint8_t *out,
                               size_t outsize, size_t *ret_len)
{
	EC_GROUP *g = EC_GROUP_new_by_curve_name(OBJ_sn2nid(curve));
	BIGNUM *priv = BN_bin2bn(d, (int)dlen, NULL);
	EC_POINT *pt = NULL;
	enum ts_err err = TS_E_PSA_INVALID_ARGUMENT;

	if (g == NULL || priv == NULL) {
		err = TS_E_NOMEM;
		goto out;
	}
	if (BN_is_zero(priv) || BN_cmp(priv, EC_GROUP_get0_order(g)) >= 0)
		goto out;
	pt = EC_POINT_new(g);
	if (pt == NULL || EC_POINT_mul(g, pt, priv, NULL, NULL, NULL) != 1)
		goto out;
	*ret_len = EC_POINT_point2oct(g, pt, POINT_CONVERSION_UNCOMPRESSED, out, outsize, NULL);
	if (*ret_len > 0)
		err = TS_OK;
out:
	EC_POINT_free(pt);
	BN_clear_free(priv);
	EC_GROUP_free(g);
	return err;
}

bool p11_ec_point_valid(uint32_t bits, const uint8_t *pt, size_t len)
{
	const char *curve = ec_curve_name(bits);
	EC_GROUP *g = curve != NULL ? EC_GROUP_new_by_curve_name(OBJ_sn2nid(curve)) : NULL;
	EC_POINT *q = g != NULL ? EC_POINT_new(g) : NULL;
	bool ok = q != NULL && len > 0 && pt[0] == 0x04 &&
	          EC_POINT_oct2point(g, q, pt, len, NULL) == 1;

	EC_POINT_free(q);
	EC_GROUP_free(g);
	return ok;
}

static enum ts_err create_objects(struct p11 *p, struct key_tmpl *t, bool with_private)
{
	CK_SESSION_HANDLE s = p11_session_get(p);
	CK_OBJECT_HANDLE o;
	CK_RV rv = p->f->C_CreateObject(s, t->pub.a, t->pub.n, &o);

	if (rv == CKR_OK && with_private)
		rv = p->f->C_CreateObject(s, t->priv.a, t->priv.n, &o);
	p11_session_put(p, s, p11_status(rv));
	/* A half-made pair is removed by the core's destroy_key on failure. */
	return p11_status(rv);
}

static enum ts_err import_ecc(struct p11 *p, const struct prov_key *k, const uint8_t *data,
                              size_t len, uint32_t *ret_bits)
{
	const struct psa_attrs *a = k->attrs;
	bool pair = a->type == PSA_KT_ECC_PAIR;
	uint32_t bits = a->bits;
	uint8_t point[1 + 2 * 66], wrapped[3 + sizeof(point)];
	size_t point_len = 0, oid_len = 0, hdr;
	const uint8_t *oid;
	const char *curve;
	struct key_tmpl t;
	enum ts_err err;

	if (a->family != PSA_ECC_SECP_R1)
		return TS_E_PSA_NOT_SUPPORTED;
	if (bits == 0)
		bits = pair ? (len == 66 ? 521 : (uint32_t)len * 8)
		            : (len == 133 ? 521 : (uint32_t)(len - 1) / 2 * 8);
	oid = p11_ec_oid(bits, &oid_len);
	curve = ec_curve_name(bits);
	if (oid == NULL || curve == NULL)
		return a->bits == 0 ? TS_E_PSA_INVALID_ARGUMENT : TS_E_PSA_NOT_SUPPORTED;
	if (len != (pair ? curve_bytes(bits) : 1 + 2 * curve_bytes(bits)))
		return TS_E_PSA_INVALID_ARGUMENT;
	if (pair) {
		err = ec_point_of(curve, data, len, point, sizeof(point), &point_len);
		if (err != TS_OK)
			return err;
	} else {
		if (!p11_ec_point_valid(bits, data, len))
			return TS_E_PSA_INVALID_ARGUMENT;
		memcpy(point, data, len);
		point_len = len;
	}
	/* The token's CKA_EC_POINT: a DER OCTET STRING around the point. */
	wrapped[0] = 0x04;
	if (point_len < 128) {
		wrapped[1] = (uint8_t)point_len;
		hdr = 2;
	} else {
		wrapped[1] = 0x81;
		wrapped[2] = (uint8_t)point_len;
		hdr = 3;
	}
	memcpy(wrapped + hdr, point, point_len);
	err = build_templates(p, k, CKK_EC, &t);
	if (err != TS_OK)
		return err;
	add(&t.pub, CKA_EC_PARAMS, oid, oid_len);
	add(&t.pub, CKA_EC_POINT, wrapped, hdr + point_len);
	if (pair) {
		add(&t.priv, CKA_EC_PARAMS, oid, oid_len);
		add(&t.priv, CKA_VALUE, data, len);
	}
	err = create_objects(p, &t, pair);
	if (err == TS_OK)
		*ret_bits = bits;
	return err;
}

/* The RSA key components, as OpenSSL and PKCS#11 name them. */
static const char *const names[] = {
        OSSL_PKEY_PARAM_RSA_N,         OSSL_PKEY_PARAM_RSA_E,
        OSSL_PKEY_PARAM_RSA_D,         OSSL_PKEY_PARAM_RSA_FACTOR1,
        OSSL_PKEY_PARAM_RSA_FACTOR2,   OSSL_PKEY_PARAM_RSA_EXPONENT1,
        OSSL_PKEY_PARAM_RSA_EXPONENT2, OSSL_PKEY_PARAM_RSA_COEFFICIENT1,
};
static const CK_ATTRIBUTE_TYPE types[] = {
        CKA_MODULUS, CKA_PUBLIC_EXPONENT, CKA_PRIVATE_EXPONENT, CKA_PRIME_1,
        CKA_PRIME_2, CKA_EXPONENT_1,      CKA_EXPONENT_2,       CKA_COEFFICIENT,
};

static enum ts_err import_rsa(struct p11 *p, const struct prov_key *k, const uint8_t *data,
                              size_t len, uint32_t *ret_bits)
{
	const struct psa_attrs *a = k->attrs;
	bool pair = a->type == PSA_KT_RSA_PAIR;
	const uint8_t *q = data;
	EVP_PKEY *pk = pair ? d2i_PrivateKey(EVP_PKEY_RSA, NULL, &q, (long)len)
	                    : d2i_PublicKey(EVP_PKEY_RSA, NULL, &q, (long)len);
	uint8_t *v[8] = {0};
	size_t vl[8] = {0};
	size_t nv = pair ? 8 : 2;
	struct key_tmpl t;
	uint32_t bits;
	enum ts_err err = TS_E_PSA_INVALID_ARGUMENT;

	if (pk == NULL || q != data + len)
		goto out;
	bits = (uint32_t)EVP_PKEY_get_bits(pk);
	if (a->bits != 0 && a->bits != bits)
		goto out;
	err = check_rsa_bits(p, bits);
	if (err != TS_OK)
		goto out;
	for (size_t i = 0; i < nv; i++) {
		err = bn_param(pk, names[i], &v[i], &vl[i]);
		if (err != TS_OK)
			goto out;
	}
	err = build_templates(p, k, CKK_RSA, &t);
	if (err != TS_OK)
		goto out;
	add(&t.pub, CKA_MODULUS, v[0], vl[0]);
	add(&t.pub, CKA_PUBLIC_EXPONENT, v[1], vl[1]);
	for (size_t i = 0; pair && i < nv; i++)
		add(&t.priv, types[i], v[i], vl[i]);
	err = create_objects(p, &t, pair);
	if (err == TS_OK)
		*ret_bits = bits;
out:
	for (size_t i = 0; i < 8; i++)
		ts_free_secret(v[i], vl[i]);
	EVP_PKEY_free(pk);
	return err;
}

enum ts_err p11_import_key(void *ctx, const struct prov_key *k, const uint8_t *data, size_t len,
                           uint8_t **ret_mat, size_t *ret_len, uint32_t *ret_bits)
{
	const struct psa_attrs *a = k->attrs;
	enum ts_err err;

	if (a->type == PSA_KT_ECC_PAIR || a->type == PSA_KT_ECC_PUBLIC)
		err = import_ecc(ctx, k, data, len, ret_bits);
	else if (a->type == PSA_KT_RSA_PAIR || a->type == PSA_KT_RSA_PUBLIC)
		err = import_rsa(ctx, k, data, len, ret_bits);
	else if (a->type == PSA_KT_AES || a->type == PSA_KT_HMAC)
		err = import_secret(ctx, k, data, len, ret_bits);
	else
		err = TS_E_PSA_NOT_SUPPORTED;
	if (err != TS_OK)
		return err;
	*ret_mat = NULL;
	*ret_len = 0;
	return TS_OK;
}

/* ---- export of private keys (EXPORT flag and allow_export only) ---- */

/* A DER RSAPrivateKey from the token's components. */
static enum ts_err export_rsa(struct p11 *p, const struct prov_key *k, uint8_t **ret,
                              size_t *ret_len)
{
	CK_SESSION_HANDLE s = p11_session_get(p);
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	OSSL_PARAM *ps = NULL;
	EVP_PKEY *pk = NULL;
	BIGNUM *bn[8] = {0};
	unsigned char *der = NULL;
	CK_OBJECT_HANDLE o;
	int dlen = 0;
	enum ts_err err = p11_find(p, s, k, CKO_PRIVATE_KEY, &o);

	for (size_t i = 0; err == TS_OK && i < 8; i++) {
		uint8_t *v = NULL;
		size_t vl = 0;

		err = p11_get_attr(p, s, o, types[i], &v, &vl);
		if (err != TS_OK)
			break;
		/* Secure BIGNUMs: the builder then keeps them apart and
		 * OSSL_PARAM_free wipes them. */
		bn[i] = BN_secure_new();
		if (bn[i] != NULL && BN_bin2bn(v, (int)vl, bn[i]) == NULL) {
			BN_clear_free(bn[i]);
			bn[i] = NULL;
		}
		ts_free_secret(v, vl);
		if (bn[i] == NULL || bld == NULL ||
		    OSSL_PARAM_BLD_push_BN(bld, names[i], bn[i]) != 1)
			err = TS_E_NOMEM;
	}
	p11_session_put(p, s, err);
	if (err != TS_OK)
		goto out;
	err = TS_E_PSA_COMMUNICATION_FAILURE; /* components that make no key */
	ps = OSSL_PARAM_BLD_to_param(bld);
	if (ps == NULL || pc == NULL || EVP_PKEY_fromdata_init(pc) != 1 ||
	    EVP_PKEY_fromdata(pc, &pk, EVP_PKEY_KEYPAIR, ps) != 1)
		goto out;
	dlen = i2d_PrivateKey(pk, &der);
	if (dlen <= 0)
		goto out;
	err = TS_E_NOMEM;
	*ret = malloc((size_t)dlen);
	if (*ret == NULL)
		goto out;
	memcpy(*ret, der, (size_t)dlen);
	*ret_len = (size_t)dlen;
	err = TS_OK;
out:
	if (der != NULL)
		OPENSSL_clear_free(der, (size_t)dlen);
	EVP_PKEY_free(pk);
	OSSL_PARAM_free(ps);
	OSSL_PARAM_BLD_free(bld);
	EVP_PKEY_CTX_free(pc);
	for (size_t i = 0; i < 8; i++)
		BN_clear_free(bn[i]);
	return err;
}

enum ts_err p11_export_key(void *ctx, const struct prov_key *k, uint8_t **ret, size_t *ret_len)
{
	struct p11 *p = ctx;
	const struct psa_attrs *a = k->attrs;
	CK_SESSION_HANDLE s;
	CK_OBJECT_HANDLE o;
	uint8_t *v = NULL, *out;
	size_t vl = 0, n = curve_bytes(a->bits);
	enum ts_err err;

	if (a->type == PSA_KT_ECC_PUBLIC || a->type == PSA_KT_RSA_PUBLIC)
		return p11_export_public_key(ctx, k, ret, ret_len);
	if (!p->allow_export)
		return TS_E_PSA_NOT_PERMITTED;
	if (a->type == PSA_KT_AES || a->type == PSA_KT_HMAC)
		n = a->bits / 8;
	else if (a->type == PSA_KT_RSA_PAIR)
		return export_rsa(p, k, ret, ret_len);
	else if (a->type != PSA_KT_ECC_PAIR)
		return TS_E_PSA_NOT_SUPPORTED;
	s = p11_session_get(p);
	err = p11_find(p, s, k, a->type == PSA_KT_ECC_PAIR ? CKO_PRIVATE_KEY : CKO_SECRET_KEY, &o);
	if (err == TS_OK)
		err = p11_get_attr(p, s, o, CKA_VALUE, &v, &vl);
	p11_session_put(p, s, err);
	if (err != TS_OK)
		return err;
	/* PSA: the scalar padded to the curve size; a secret key as it is. */
	out = vl <= n ? calloc(1, n) : NULL;
	if (out == NULL) {
		ts_free_secret(v, vl);
		return vl <= n ? TS_E_NOMEM : TS_E_PSA_COMMUNICATION_FAILURE;
	}
	memcpy(out + (n - vl), v, vl);
	ts_free_secret(v, vl);
	*ret = out;
	*ret_len = n;
	return TS_OK;
}
