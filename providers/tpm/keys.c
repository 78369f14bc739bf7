/*
 * TPM keys: templates, creation under the root key, the material format,
 * public-key import and export.
 *
 * Material (sealed by the key store like every record):
 *   "TPK1" | flags (bit 0: has a private part) | auth length (1 byte) | auth
 *   | root Name length (2 bytes, big-endian) | root Name
 *   | TPM2B_PUBLIC (TPM marshalling) | TPM2B_PRIVATE (when bit 0 is set)
 * The whole public area is kept as the TPM made it, never rebuilt from the
 * PSA attributes, so a later change of templates cannot break stored keys.
 *
 * The reference (reserve_ref) is 16 random bytes and the root key's Name: the
 * key store hands it back at start (adopt_key) without the sealed material,
 * so a TPM whose storage seed changed is found before any request.
 */
#include "providers/tpm/tpm-priv.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <tss2/tss2_mu.h>

#include "common/log.h"
#include "common/secmem.h"

#define MAGIC        "TPK1"
#define F_PRIVATE    0x01
#define KEY_AUTH_LEN 32

TPMI_ECC_CURVE tpm_curve(uint8_t family, uint32_t bits)
{
	if (family != PSA_ECC_SECP_R1)
		return TPM2_ECC_NONE;
	switch (bits) {
	case 256:
		return TPM2_ECC_NIST_P256;
	case 384:
		return TPM2_ECC_NIST_P384;
	case 521:
		return TPM2_ECC_NIST_P521;
	default:
		return TPM2_ECC_NONE;
	}
}

TPMI_ALG_HASH tpm_hash(unsigned hash)
{
	switch (hash) {
	case 5:
		return TPM2_ALG_SHA1;
	case 7:
		return TPM2_ALG_SHA256;
	case 8:
		return TPM2_ALG_SHA384;
	case 9:
		return TPM2_ALG_SHA512;
	default:
		return TPM2_ALG_ERROR;
	}
}

/* ---- templates ---- */

/* The signing scheme a policy fixes in the key (NULL for "any hash"), or
 * TS_E_PSA_NOT_SUPPORTED. */
static enum ts_err sign_scheme(const struct psa_attrs *a, TPMI_ALG_ASYM_SCHEME *ret_scheme,
                               TPMI_ALG_HASH *ret_hash)
{
	const struct psa_alg *g = &a->alg;
	bool ecc = a->type == PSA_KT_ECC_PAIR || a->type == PSA_KT_ECC_PUBLIC;

	*ret_scheme = TPM2_ALG_NULL;
	*ret_hash = TPM2_ALG_NULL;
	if (g->cls == PSA_AC_NONE)
		return TS_OK;
	if (g->cls != PSA_AC_SIGN)
		return TS_E_PSA_NOT_SUPPORTED;
	if (ecc && g->kind == PSA_SIGN_ECDSA)
		*ret_scheme = TPM2_ALG_ECDSA;
	else if (!ecc && g->kind == PSA_SIGN_RSA_PKCS1V15)
		*ret_scheme = TPM2_ALG_RSASSA;
	else if (!ecc && g->kind == PSA_SIGN_RSA_PSS)
		*ret_scheme = TPM2_ALG_RSAPSS;
	else
		return TS_E_PSA_NOT_SUPPORTED; /* raw PKCS#1, ecdsa_any, deterministic ECDSA */
	if (g->hash_any) {
		*ret_scheme = TPM2_ALG_NULL; /* the scheme comes with each signature */
		return TS_OK;
	}
	*ret_hash = tpm_hash(g->hash);
	return *ret_hash == TPM2_ALG_ERROR ? TS_E_PSA_NOT_SUPPORTED : TS_OK;
}

/* The public template of a key with these attributes. */
enum ts_err tpm_key_template(const struct psa_attrs *a, TPM2B_PUBLIC *t)
{
	TPMT_PUBLIC *p = &t->publicArea;
	TPMI_ALG_ASYM_SCHEME scheme = TPM2_ALG_NULL;
	TPMI_ALG_HASH hash = TPM2_ALG_NULL;
	bool encrypt = a->alg.cls == PSA_AC_ASYM_ENC;
	enum ts_err st = encrypt ? TS_OK : sign_scheme(a, &scheme, &hash);

	if (st != TS_OK)
		return st;
	memset(t, 0, sizeof(*t));
	p->nameAlg = TPM2_ALG_SHA256;
	/* An encryption key has scheme NULL: the padding comes with each
	 * RSA_Encrypt/RSA_Decrypt, so PKCS#1 v1.5 and OAEP keys share a shape. */
	p->objectAttributes = TPMA_OBJECT_USERWITHAUTH |
	                      (encrypt ? TPMA_OBJECT_DECRYPT : TPMA_OBJECT_SIGN_ENCRYPT);
	if (a->type == PSA_KT_ECC_PAIR || a->type == PSA_KT_RSA_PAIR)
		p->objectAttributes |= TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
		                       TPMA_OBJECT_SENSITIVEDATAORIGIN;
	switch (a->type) {
	case PSA_KT_ECC_PAIR:
	case PSA_KT_ECC_PUBLIC:
		if (encrypt)
			return TS_E_PSA_NOT_SUPPORTED;
		p->type = TPM2_ALG_ECC;
		p->parameters.eccDetail.curveID = tpm_curve(a->family, a->bits);
		if (p->parameters.eccDetail.curveID == TPM2_ECC_NONE)
			return TS_E_PSA_NOT_SUPPORTED;
		p->parameters.eccDetail.symmetric.algorithm = TPM2_ALG_NULL;
		p->parameters.eccDetail.scheme.scheme = scheme;
		p->parameters.eccDetail.scheme.details.ecdsa.hashAlg = hash;
		p->parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
		return TS_OK;
	case PSA_KT_RSA_PAIR:
	case PSA_KT_RSA_PUBLIC:
		if (a->bits != 1024 && a->bits != 2048 && a->bits != 3072 && a->bits != 4096)
			return TS_E_PSA_NOT_SUPPORTED;
		p->type = TPM2_ALG_RSA;
		p->parameters.rsaDetail.symmetric.algorithm = TPM2_ALG_NULL;
		p->parameters.rsaDetail.scheme.scheme = scheme;
		p->parameters.rsaDetail.scheme.details.anySig.hashAlg = hash;
		p->parameters.rsaDetail.keyBits = (TPMI_RSA_KEY_BITS)a->bits;
		p->parameters.rsaDetail.exponent = 0; /* 65537 */
		return TS_OK;
	default:
		return TS_E_PSA_NOT_SUPPORTED;
	}
}

/* Whether the TPM takes a key of this shape (TPM2_TestParms): TS_OK,
 * TS_E_PSA_NOT_SUPPORTED, or the error of a TPM that does not answer. */
enum ts_err tpm_supports(struct tpm_ctx *c, const TPM2B_PUBLIC *t)
{
	TPMT_PUBLIC_PARMS p = {.type = t->publicArea.type, .parameters = t->publicArea.parameters};
	TSS2_RC rc = Esys_TestParms(c->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &p);

	if (rc == TSS2_RC_SUCCESS)
		return TS_OK;
	if ((rc & TSS2_RC_LAYER_MASK) == TSS2_TPM_RC_LAYER && (rc & TPM2_RC_FMT1))
		return TS_E_PSA_NOT_SUPPORTED; /* a parameter the TPM does not have */
	return tpm_status(rc, "testing key parameters (TestParms)");
}

enum ts_err tpm_can_do(void *ctx, const struct psa_attrs *a, int check)
{
	struct tpm_ctx *c = ctx;
	struct psa_attrs pair = *a;
	TPM2B_PUBLIC t;
	enum ts_err st;

	switch (check) {
	case 1: /* use */
	case 3: /* import */
		break;
	case 2: /* generate: key pairs */
		if (a->type != PSA_KT_ECC_PAIR && a->type != PSA_KT_RSA_PAIR)
			return TS_E_PSA_NOT_SUPPORTED;
		break;
	default:
		return TS_E_PSA_NOT_SUPPORTED;
	}
	if (pair.bits == 0)
		return TS_E_PSA_NOT_SUPPORTED; /* a template needs a size */
	st = tpm_key_template(&pair, &t);
	if (st != TS_OK)
		return st;
	if (a->alg.cls == PSA_AC_ASYM_ENC &&
	    (a->alg.kind == PSA_ENC_RSA_OAEP ? tpm_hash(a->alg.hash) == TPM2_ALG_ERROR
	                                     : a->alg.kind != PSA_ENC_RSA_PKCS1V15))
		return TS_E_PSA_NOT_SUPPORTED;
	pthread_mutex_lock(&c->lock);
	st = tpm_supports(c, &t);
	pthread_mutex_unlock(&c->lock);
	return st;
}

/* ---- material ---- */

enum ts_err tpm_material_pack(const struct tpm_ctx *c, const uint8_t *auth, size_t auth_len,
                              const TPM2B_PUBLIC *pub, const TPM2B_PRIVATE *priv, uint8_t **ret,
                              size_t *ret_len)
{
	size_t cap = 4 + 2 + auth_len + 2 + c->root_name.size + sizeof(*pub) + 2 +
	             (priv != NULL ? sizeof(*priv) : 0);
	uint8_t *b = malloc(cap);
	size_t off = 0;

	if (b == NULL)
		return TS_E_NOMEM;
	memcpy(b, MAGIC, 4);
	b[4] = priv != NULL ? F_PRIVATE : 0;
	b[5] = (uint8_t)auth_len;
	if (auth_len > 0)
		memcpy(b + 6, auth, auth_len);
	off = 6 + auth_len;
	b[off++] = (uint8_t)(c->root_name.size >> 8);
	b[off++] = (uint8_t)c->root_name.size;
	memcpy(b + off, c->root_name.name, c->root_name.size);
	off += c->root_name.size;
	if (Tss2_MU_TPM2B_PUBLIC_Marshal(pub, b, cap, &off) != TSS2_RC_SUCCESS ||
	    (priv != NULL &&
	     Tss2_MU_TPM2B_PRIVATE_Marshal(priv, b, cap, &off) != TSS2_RC_SUCCESS)) {
		ts_free_secret(b, cap);
		return TS_E_PSA_GENERIC_ERROR;
	}
	*ret = b;
	*ret_len = off;
	return TS_OK;
}

static bool same_root(const struct tpm_ctx *c, const uint8_t *name, size_t len)
{
	return len == c->root_name.size && memcmp(name, c->root_name.name, len) == 0;
}

enum ts_err tpm_material_parse(struct tpm_ctx *c, const uint8_t *mat, size_t len,
                               struct tpm_material *ret)
{
	struct tpm_material m;
	size_t off;

	memset(&m, 0, sizeof(m));
	if (len < 6 || memcmp(mat, MAGIC, 4) != 0 || (mat[4] & ~F_PRIVATE) != 0)
		return TS_E_PSA_DATA_INVALID;
	m.has_private = (mat[4] & F_PRIVATE) != 0;
	m.auth_len = mat[5];
	m.auth = mat + 6;
	off = 6 + m.auth_len;
	if (m.auth_len > sizeof(((TPM2B_AUTH *)0)->buffer) || len < off + 2)
		return TS_E_PSA_DATA_INVALID;
	m.root_name_len = (size_t)mat[off] << 8 | mat[off + 1];
	m.root_name = mat + off + 2;
	off += 2 + m.root_name_len;
	if (len < off || Tss2_MU_TPM2B_PUBLIC_Unmarshal(mat, len, &off, &m.pub) != TSS2_RC_SUCCESS)
		return TS_E_PSA_DATA_INVALID;
	if (m.has_private &&
	    Tss2_MU_TPM2B_PRIVATE_Unmarshal(mat, len, &off, &m.priv) != TSS2_RC_SUCCESS)
		return TS_E_PSA_DATA_INVALID;
	if (off != len)
		return TS_E_PSA_DATA_INVALID;
	if (m.has_private && !same_root(c, m.root_name, m.root_name_len)) {
		ts_error("tpm: a key was made under another root key: the TPM was cleared or "
		         "its storage seed changed, and the key is lost");
		return TS_E_PSA_DATA_INVALID;
	}
	*ret = m;
	return TS_OK;
}

/* ---- references and start-up ---- */

enum ts_err tpm_reserve_ref(void *ctx, const struct psa_attrs *a, uint8_t **ret_ref,
                            size_t *ret_len)
{
	struct tpm_ctx *c = ctx;
	uint8_t *r = malloc(TPM_REF_ID_LEN + c->root_name.size);

	(void)a;
	if (r == NULL)
		return TS_E_NOMEM;
	if (RAND_bytes(r, TPM_REF_ID_LEN) != 1) {
		free(r);
		return TS_E_PSA_INSUFFICIENT_ENTROPY;
	}
	memcpy(r + TPM_REF_ID_LEN, c->root_name.name, c->root_name.size);
	*ret_ref = r;
	*ret_len = TPM_REF_ID_LEN + c->root_name.size;
	return TS_OK;
}

enum ts_err tpm_adopt_key(void *ctx, const struct prov_key *k)
{
	struct tpm_ctx *c = ctx;

	/* Public keys are loaded as external keys and need no root key. */
	if (k->attrs != NULL &&
	    (k->attrs->type == PSA_KT_ECC_PUBLIC || k->attrs->type == PSA_KT_RSA_PUBLIC))
		return TS_OK;
	if (k->ref_len < TPM_REF_ID_LEN ||
	    !same_root(c, k->ref + TPM_REF_ID_LEN, k->ref_len - TPM_REF_ID_LEN)) {
		if (c->refused_keys++ == 0)
			ts_error("tpm: keys in the key store were made under another root key: "
			         "this TPM was cleared or its storage seed changed (or root_handle "
			         "names another key); its keys cannot be loaded");
		return TS_E_CONFIG;
	}
	return TS_OK;
}

/* ---- generate, import ---- */

enum ts_err tpm_generate_key(void *ctx, const struct prov_key *k, uint8_t **ret_mat,
                             size_t *ret_len)
{
	struct tpm_ctx *c = ctx;
	TPM2B_SENSITIVE_CREATE sens;
	TPM2B_DATA outside = {0};
	TPML_PCR_SELECTION pcrs = {0};
	TPM2B_PUBLIC tmpl, *out_pub = NULL;
	TPM2B_PRIVATE *out_priv = NULL;
	TPM2B_CREATION_DATA *cdata = NULL;
	TPM2B_DIGEST *chash = NULL;
	TPMT_TK_CREATION *ticket = NULL;
	enum ts_err st;

	memset(&sens, 0, sizeof(sens));
	if (k->attrs->type != PSA_KT_ECC_PAIR && k->attrs->type != PSA_KT_RSA_PAIR)
		return TS_E_PSA_NOT_SUPPORTED;
	st = tpm_key_template(k->attrs, &tmpl);
	if (st != TS_OK)
		return st;
	sens.sensitive.userAuth.size = KEY_AUTH_LEN;
	if (RAND_bytes(sens.sensitive.userAuth.buffer, KEY_AUTH_LEN) != 1)
		return TS_E_PSA_INSUFFICIENT_ENTROPY;
	pthread_mutex_lock(&c->lock);
	st = tpm_supports(c, &tmpl);
	if (st == TS_OK && c->root == ESYS_TR_NONE)
		st = tpm_root_again(c);
	for (int tries = 2; st == TS_OK && tries > 0; tries--) {
		TSS2_RC rc = Esys_Create(c->esys, c->root, tpm_session(c, TPM_SESS_BOTH),
		                         ESYS_TR_NONE, ESYS_TR_NONE, &sens, &tmpl, &outside, &pcrs,
		                         &out_priv, &out_pub, &cdata, &chash, &ticket);

		if (tries > 1 && tpm_objects_lost(rc)) {
			st = tpm_reattach(c);
			continue;
		}
		/* Create needs a free object slot of its own. */
		if (rc == TPM2_RC_OBJECT_MEMORY && tpm_cache_flush_lru(c)) {
			tries++;
			continue;
		}
		st = tpm_status(rc, "creating a key (Create)");
		break;
	}
	pthread_mutex_unlock(&c->lock);
	if (st == TS_OK)
		st = tpm_material_pack(c, sens.sensitive.userAuth.buffer, KEY_AUTH_LEN, out_pub,
		                       out_priv, ret_mat, ret_len);
	ts_wipe(&sens, sizeof(sens));
	if (out_priv != NULL)
		ts_wipe(out_priv, sizeof(*out_priv));
	Esys_Free(out_priv);
	Esys_Free(out_pub);
	Esys_Free(cdata);
	Esys_Free(chash);
	Esys_Free(ticket);
	return st;
}

/* DER: read a tag and a definite length; the content in *ret. */
static bool der_item(const uint8_t **p, const uint8_t *end, uint8_t tag, const uint8_t **ret,
                     size_t *ret_len)
{
	size_t len;

	if (end - *p < 2 || (*p)[0] != tag)
		return false;
	len = (*p)[1];
	*p += 2;
	if (len & 0x80) {
		size_t n = len & 0x7F;

		if (n == 0 || n > 2 || (size_t)(end - *p) < n)
			return false;
		len = 0;
		for (size_t i = 0; i < n; i++)
			len = len << 8 | *(*p)++;
	}
	if ((size_t)(end - *p) < len)
		return false;
	*ret = *p;
	*ret_len = len;
	*p += len;
	return true;
}

/* A DER INTEGER's unsigned value without leading zeros. */
static bool der_uint(const uint8_t **p, const uint8_t *end, const uint8_t **ret, size_t *ret_len)
{
	const uint8_t *v;
	size_t n;

	if (!der_item(p, end, 0x02, &v, &n) || n == 0 || (v[0] & 0x80))
		return false;
	while (n > 1 && v[0] == 0) {
		v++;
		n--;
	}
	*ret = v;
	*ret_len = n;
	return true;
}

static enum ts_err parse_rsa_public(const uint8_t *data, size_t len, TPM2B_PUBLIC *t,
                                    uint32_t *ret_bits)
{
	const uint8_t *p = data, *end = data + len, *seq, *n, *e;
	size_t seq_len, n_len, e_len;
	uint32_t exp = 0;

	if (!der_item(&p, end, 0x30, &seq, &seq_len) || p != end)
		return TS_E_PSA_INVALID_ARGUMENT;
	p = seq;
	end = seq + seq_len;
	if (!der_uint(&p, end, &n, &n_len) || !der_uint(&p, end, &e, &e_len) || p != end)
		return TS_E_PSA_INVALID_ARGUMENT;
	if (e_len > 4 || n_len > sizeof(t->publicArea.unique.rsa.buffer))
		return TS_E_PSA_NOT_SUPPORTED;
	for (size_t i = 0; i < e_len; i++)
		exp = exp << 8 | e[i];
	if (exp < 3 || (exp & 1) == 0)
		return TS_E_PSA_INVALID_ARGUMENT;
	*ret_bits = (uint32_t)n_len * 8;
	t->publicArea.parameters.rsaDetail.exponent = exp == 65537 ? 0 : exp;
	memcpy(t->publicArea.unique.rsa.buffer, n, n_len);
	t->publicArea.unique.rsa.size = (uint16_t)n_len;
	return TS_OK;
}

enum ts_err tpm_import_key(void *ctx, const struct prov_key *k, const uint8_t *data, size_t len,
                           uint8_t **ret_mat, size_t *ret_len, uint32_t *ret_bits)
{
	struct tpm_ctx *c = ctx;
	struct psa_attrs a = *k->attrs;
	TPM2B_PUBLIC t;
	uint32_t bits = a.bits;
	enum ts_err st;

	if (a.type == PSA_KT_RSA_PUBLIC) {
		/* The size comes from the modulus; the template needs one first. */
		if (a.bits == 0)
			a.bits = 2048;
		st = tpm_key_template(&a, &t);
		if (st == TS_OK)
			st = parse_rsa_public(data, len, &t, &bits);
		if (st == TS_OK && k->attrs->bits != 0 && bits != k->attrs->bits)
			st = TS_E_PSA_INVALID_ARGUMENT;
		else if (st == TS_OK && bits != 1024 && bits != 2048 && bits != 3072 &&
		         bits != 4096)
			st = TS_E_PSA_NOT_SUPPORTED;
		t.publicArea.parameters.rsaDetail.keyBits = (TPMI_RSA_KEY_BITS)bits;
	} else if (a.type == PSA_KT_ECC_PUBLIC) {
		size_t n;

		if (a.bits == 0 && len > 1)
			a.bits = (uint32_t)((len - 1) / 2 * 8);
		if (a.bits == 528)
			a.bits = 521;
		n = (a.bits + 7) / 8;
		st = tpm_key_template(&a, &t);
		if (st == TS_OK && (len != 1 + 2 * n || data[0] != 0x04))
			st = TS_E_PSA_INVALID_ARGUMENT;
		if (st == TS_OK) {
			TPMS_ECC_POINT *q = &t.publicArea.unique.ecc;

			memcpy(q->x.buffer, data + 1, n);
			q->x.size = (uint16_t)n;
			memcpy(q->y.buffer, data + 1 + n, n);
			q->y.size = (uint16_t)n;
			bits = a.bits;
		}
	} else {
		return tpm_import_pair(c, k, data, len, ret_mat, ret_len, ret_bits);
	}
	if (st != TS_OK)
		return st;
	pthread_mutex_lock(&c->lock);
	st = tpm_supports(c, &t);
	pthread_mutex_unlock(&c->lock);
	if (st == TS_OK)
		st = tpm_material_pack(c, NULL, 0, &t, NULL, ret_mat, ret_len);
	if (st == TS_OK)
		*ret_bits = bits;
	return st;
}

/* ---- export ---- */

static size_t der_len_size(size_t n)
{
	return n < 0x80 ? 1 : n < 0x100 ? 2 : 3;
}

static uint8_t *der_put_len(uint8_t *p, size_t n)
{
	if (n >= 0x100) {
		*p++ = 0x82;
		*p++ = (uint8_t)(n >> 8);
	} else if (n >= 0x80) {
		*p++ = 0x81;
	}
	*p++ = (uint8_t)n;
	return p;
}

/* An unsigned big-endian value as a DER INTEGER (a 0 byte before a high
 * bit, leading zeros dropped). */
static size_t der_int_size(const uint8_t *v, size_t n)
{
	while (n > 1 && v[0] == 0) {
		v++;
		n--;
	}
	n += (v[0] & 0x80) ? 1 : 0;
	return 1 + der_len_size(n) + n;
}

static uint8_t *der_put_int(uint8_t *p, const uint8_t *v, size_t n)
{
	while (n > 1 && v[0] == 0) {
		v++;
		n--;
	}
	*p++ = 0x02;
	p = der_put_len(p, n + ((v[0] & 0x80) ? 1 : 0));
	if (v[0] & 0x80)
		*p++ = 0;
	memcpy(p, v, n);
	return p + n;
}

enum ts_err tpm_public_to_psa(const TPMT_PUBLIC *p, uint32_t bits, uint8_t **ret, size_t *ret_len)
{
	uint8_t *out, *w;
	size_t len;

	if (p->type == TPM2_ALG_ECC) {
		size_t n = (bits + 7) / 8;
		const TPMS_ECC_POINT *q = &p->unique.ecc;

		if (q->x.size > n || q->y.size > n)
			return TS_E_PSA_DATA_INVALID;
		len = 1 + 2 * n;
		out = calloc(1, len);
		if (out == NULL)
			return TS_E_NOMEM;
		out[0] = 0x04;
		memcpy(out + 1 + n - q->x.size, q->x.buffer, q->x.size);
		memcpy(out + 1 + 2 * n - q->y.size, q->y.buffer, q->y.size);
	} else if (p->type == TPM2_ALG_RSA) {
		uint32_t e =
		        p->parameters.rsaDetail.exponent ? p->parameters.rsaDetail.exponent : 65537;
		uint8_t eb[4] = {(uint8_t)(e >> 24), (uint8_t)(e >> 16), (uint8_t)(e >> 8),
		                 (uint8_t)e};
		const TPM2B_PUBLIC_KEY_RSA *mod = &p->unique.rsa;
		size_t body;

		if (mod->size == 0)
			return TS_E_PSA_DATA_INVALID;
		body = der_int_size(mod->buffer, mod->size) + der_int_size(eb, 4);
		len = 1 + der_len_size(body) + body;
		out = malloc(len);
		if (out == NULL)
			return TS_E_NOMEM;
		w = out;
		*w++ = 0x30;
		w = der_put_len(w, body);
		w = der_put_int(w, mod->buffer, mod->size);
		(void)der_put_int(w, eb, 4);
	} else {
		return TS_E_PSA_DATA_INVALID;
	}
	*ret = out;
	*ret_len = len;
	return TS_OK;
}

enum ts_err tpm_export_public_key(void *ctx, const struct prov_key *k, uint8_t **ret,
                                  size_t *ret_len)
{
	struct tpm_material m;
	enum ts_err st = tpm_material_parse(ctx, k->material, k->material_len, &m);

	if (st == TS_OK)
		st = tpm_public_to_psa(&m.pub.publicArea, k->attrs->bits, ret, ret_len);
	ts_wipe(&m, sizeof(m));
	return st;
}

enum ts_err tpm_destroy_key(void *ctx, const struct prov_key *k)
{
	struct tpm_ctx *c = ctx;

	/* Nothing of the key lives in the TPM but a loaded copy. */
	pthread_mutex_lock(&c->lock);
	tpm_cache_drop(c, k->ref, k->ref_len);
	pthread_mutex_unlock(&c->lock);
	return TS_OK;
}
