/*
 * SPIFFE pieces for the JwtSvid authenticator: SPIFFE IDs, SPIFFE JWT
 * bundles (RFC 7517 JWK Sets, one file per trust domain) and the signature
 * check of the JWS algorithms the JWT-SVID specification allows.
 *
 * A bundle file is read whole and parsed strictly; a JWK whose "use" or
 * "kty" is not one we know is skipped, as the bundle specification asks,
 * but a "jwt-svid" key that is known and broken makes the whole file
 * refused: a bundle half understood is not one to trust.
 */
#include "auth/svid-priv.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>

#define BUNDLE_MAX_BYTES (1u << 20)
#define BUNDLE_MAX_KEYS  256
#define KID_MAX_LEN      255
#define RSA_MIN_BITS     2048
#define RSA_MAX_BITS     8192
#define SPIFFE_ID_MAX    2048

/* The JWT-SVID specification's algorithms (RFC 7518 3.3, 3.4 and 3.5). */
const struct svid_alg svid_algs[] = {
        {"ES256", SVID_KEY_EC_P256, false}, {"ES384", SVID_KEY_EC_P384, false},
        {"ES512", SVID_KEY_EC_P521, false}, {"RS256", SVID_KEY_RSA, false},
        {"RS384", SVID_KEY_RSA, false},     {"RS512", SVID_KEY_RSA, false},
        {"PS256", SVID_KEY_RSA, true},      {"PS384", SVID_KEY_RSA, true},
        {"PS512", SVID_KEY_RSA, true},      {NULL, 0, false},
};

const char *const svid_alg_names[] = {"ES256", "ES384", "ES512", "RS256", "RS384",
                                      "RS512", "PS256", "PS384", "PS512", NULL};

static const EVP_MD *alg_md(const struct svid_alg *a)
{
	switch (a->name[2]) {
	case '2':
		return EVP_sha256();
	case '3':
		return EVP_sha384();
	default:
		return EVP_sha512();
	}
}

static bool td_char(unsigned char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '.' || ch == '-' ||
	       ch == '_';
}

static bool path_char(unsigned char ch)
{
	return td_char(ch) || (ch >= 'A' && ch <= 'Z');
}

bool svid_trust_domain_ok(const char *td, size_t len)
{
	if (len == 0 || len > SVID_TRUST_DOMAIN_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!td_char((unsigned char)td[i]))
			return false;
	return true;
}

size_t svid_id_trust_domain(const char *id, size_t len)
{
	static const char scheme[] = "spiffe://";
	const size_t slen = sizeof(scheme) - 1;
	size_t td_len = 0, seg = 0, seg_start;

	if (len > SPIFFE_ID_MAX || len <= slen || memcmp(id, scheme, slen) != 0)
		return 0;
	while (slen + td_len < len && id[slen + td_len] != '/')
		td_len++;
	if (!svid_trust_domain_ok(id + slen, td_len))
		return 0;
	/* A workload's ID has a path: segments of letters, digits, ".", "-"
	 * and "_", none empty, none "." or "..", no trailing "/". */
	if (slen + td_len == len)
		return 0;
	for (size_t i = slen + td_len; i < len; i = seg_start + seg) {
		seg_start = i + 1; /* past the '/' */
		for (seg = 0; seg_start + seg < len && id[seg_start + seg] != '/'; seg++)
			if (!path_char((unsigned char)id[seg_start + seg]))
				return 0;
		if (seg == 0 || (seg == 1 && id[seg_start] == '.') ||
		    (seg == 2 && id[seg_start] == '.' && id[seg_start + 1] == '.'))
			return 0;
	}
	return td_len;
}

void svid_keys_free(struct svid_keys *k)
{
	if (k == NULL)
		return;
	for (size_t i = 0; i < k->n; i++) {
		free(k->v[i].kid);
		EVP_PKEY_free(k->v[i].pkey);
	}
	free(k->v);
	free(k);
}

__attribute__((format(printf, 3, 4))) static enum ts_err why(char *buf, size_t len, const char *fmt,
                                                             ...)
{
	va_list ap;

	if (len > 0) {
		va_start(ap, fmt);
		vsnprintf(buf, len, fmt, ap);
		va_end(ap);
	}
	return TS_E_CONFIG;
}

/* A base64url member of a JWK decoded into a malloc'd buffer, or NULL. */
static uint8_t *jwk_bytes(const json_t *jwk, const char *name, size_t *ret_len)
{
	const json_t *v = json_object_get(jwk, name);
	uint8_t *out;

	if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > 2048)
		return NULL;
	out = malloc(json_string_length(v) * 3 / 4 + 1);
	if (out != NULL &&
	    b64url_decode(json_string_value(v), json_string_length(v), out, ret_len) != 0) {
		free(out);
		out = NULL;
	}
	return out;
}

static EVP_PKEY *pkey_fromdata(const char *type, OSSL_PARAM *params)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
	EVP_PKEY *pkey = NULL;

	if (ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
		pkey = NULL;
	EVP_PKEY_CTX_free(ctx);
	return pkey;
}

/* A point that is on its curve, or NULL. */
static EVP_PKEY *ec_key(const json_t *jwk, enum svid_key_type *ret_type, char *err, size_t errlen)
{
	static const struct {
		const char *crv, *group;
		size_t len;
		enum svid_key_type type;
	} curves[] = {
	        {"P-256", "P-256", 32, SVID_KEY_EC_P256},
	        {"P-384", "P-384", 48, SVID_KEY_EC_P384},
	        {"P-521", "P-521", 66, SVID_KEY_EC_P521},
	};
	const json_t *crv = json_object_get(jwk, "crv");
	uint8_t *x = NULL, *y = NULL, pub[1 + 2 * 66];
	size_t xlen = 0, ylen = 0, c;
	EVP_PKEY *pkey = NULL;
	EVP_PKEY_CTX *check = NULL;
	OSSL_PARAM params[3];

	for (c = 0; c < TS_ARRAY_LEN(curves); c++)
		if (json_is_string(crv) && strcmp(json_string_value(crv), curves[c].crv) == 0)
			break;
	if (c == TS_ARRAY_LEN(curves)) {
		why(err, errlen, "\"crv\" is not P-256, P-384 or P-521");
		return NULL;
	}
	x = jwk_bytes(jwk, "x", &xlen);
	y = jwk_bytes(jwk, "y", &ylen);
	if (x == NULL || y == NULL || xlen != curves[c].len || ylen != curves[c].len) {
		why(err, errlen, "\"x\" and \"y\" must be base64url of %zu bytes each",
		    curves[c].len);
		goto out;
	}
	pub[0] = 0x04;
	memcpy(pub + 1, x, xlen);
	memcpy(pub + 1 + xlen, y, ylen);
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
	                                             (char *)curves[c].group, 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, pub, 1 + 2 * xlen);
	params[2] = OSSL_PARAM_construct_end();
	pkey = pkey_fromdata("EC", params);
	check = pkey != NULL ? EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL) : NULL;
	if (check == NULL || EVP_PKEY_public_check(check) != 1) {
		why(err, errlen, "the point is not on curve %s", curves[c].crv);
		EVP_PKEY_free(pkey);
		pkey = NULL;
		goto out;
	}
	*ret_type = curves[c].type;
out:
	EVP_PKEY_CTX_free(check);
	free(x);
	free(y);
	return pkey;
}

static EVP_PKEY *rsa_key(const json_t *jwk, char *err, size_t errlen)
{
	uint8_t *n = NULL, *e = NULL;
	size_t nlen = 0, elen = 0;
	BIGNUM *bn = NULL, *be = NULL;
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY *pkey = NULL;
	int bits;

	n = jwk_bytes(jwk, "n", &nlen);
	e = jwk_bytes(jwk, "e", &elen);
	if (n == NULL || e == NULL || elen > 8) {
		why(err, errlen, "\"n\" and \"e\" must be base64url integers");
		goto out;
	}
	bn = BN_bin2bn(n, (int)nlen, NULL);
	be = BN_bin2bn(e, (int)elen, NULL);
	if (bn == NULL || be == NULL)
		goto nomem;
	bits = BN_num_bits(bn);
	if (bits < RSA_MIN_BITS || bits > RSA_MAX_BITS) {
		why(err, errlen, "an RSA modulus of %d bits (expected %d to %d)", bits,
		    RSA_MIN_BITS, RSA_MAX_BITS);
		goto out;
	}
	if (!BN_is_odd(be) || BN_is_one(be)) {
		why(err, errlen, "\"e\" must be an odd integer above 1");
		goto out;
	}
	bld = OSSL_PARAM_BLD_new();
	if (bld == NULL || OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) != 1 ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be) != 1 ||
	    (params = OSSL_PARAM_BLD_to_param(bld)) == NULL)
		goto nomem;
	pkey = pkey_fromdata("RSA", params);
	if (pkey == NULL)
		why(err, errlen, "not an RSA public key");
	goto out;
nomem:
	why(err, errlen, "out of memory");
out:
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(bn);
	BN_free(be);
	free(n);
	free(e);
	return pkey;
}

/* One JWK of the set: added to k, skipped, or an error for the file. */
static enum ts_err add_jwk(struct svid_keys *k, const json_t *jwk, size_t i, char *err,
                           size_t errlen)
{
	const json_t *use = json_object_get(jwk, "use"), *kty = json_object_get(jwk, "kty");
	const json_t *kid = json_object_get(jwk, "kid");
	struct svid_key key = {0};
	char sub[200] = "";

	if (!json_is_object(jwk))
		return why(err, errlen, "keys[%zu]: expected a JWK object", i);
	/* Keys for X.509-SVIDs, and uses or types we do not know, are not ours. */
	if (!json_is_string(use) || strcmp(json_string_value(use), "jwt-svid") != 0)
		return TS_OK;
	if (!json_is_string(kty) || (strcmp(json_string_value(kty), "EC") != 0 &&
	                             strcmp(json_string_value(kty), "RSA") != 0))
		return TS_OK;
	if (!json_is_string(kid) || json_string_length(kid) == 0 ||
	    json_string_length(kid) > KID_MAX_LEN ||
	    strlen(json_string_value(kid)) != json_string_length(kid))
		return why(err, errlen, "keys[%zu]: a jwt-svid key needs a \"kid\" (1 to %d bytes)",
		           i, KID_MAX_LEN);
	for (size_t j = 0; j < k->n; j++)
		if (strcmp(k->v[j].kid, json_string_value(kid)) == 0)
			return why(err, errlen, "keys[%zu]: \"kid\" \"%s\" is used twice", i,
			           k->v[j].kid);
	if (strcmp(json_string_value(kty), "EC") == 0) {
		key.pkey = ec_key(jwk, &key.type, sub, sizeof(sub));
	} else {
		key.type = SVID_KEY_RSA;
		key.pkey = rsa_key(jwk, sub, sizeof(sub));
	}
	if (key.pkey == NULL)
		return why(err, errlen, "keys[%zu] (kid \"%s\"): %s", i, json_string_value(kid),
		           sub);
	key.kid = strdup(json_string_value(kid));
	if (key.kid == NULL) {
		EVP_PKEY_free(key.pkey);
		return TS_E_NOMEM;
	}
	k->v[k->n++] = key;
	return TS_OK;
}

/* spiffe-helper's jwt_bundle_file_name: {"<trust domain>": "<base64 of its
 * JWKS>", ...}, the Workload API's bundle set. The JWKS of td, decoded. */
static enum ts_err from_bundle_set(const json_t *root, const char *td, struct svid_keys **ret,
                                   char *err, size_t errlen)
{
	const json_t *v = json_object_get(root, td);
	const char *b64;
	size_t len, pad = 0;
	unsigned char *raw;
	int n;
	enum ts_err rc;

	if (!json_is_string(v))
		return why(err, errlen,
		           "neither a JWK Set (an object with a \"keys\" array) nor a bundle set "
		           "with an entry for \"%s\"",
		           td);
	b64 = json_string_value(v);
	len = json_string_length(v);
	if (len == 0 || len % 4 != 0 || len > 4 * BUNDLE_MAX_BYTES / 3)
		return why(err, errlen, "the entry for \"%s\" is not base64", td);
	while (pad < 2 && b64[len - 1 - pad] == '=')
		pad++;
	raw = malloc(len / 4 * 3 + 1);
	if (raw == NULL)
		return why(err, errlen, "out of memory");
	n = EVP_DecodeBlock(raw, (const unsigned char *)b64, (int)len);
	if (n < 0 || (size_t)n < pad) {
		free(raw);
		return why(err, errlen, "the entry for \"%s\" is not base64", td);
	}
	rc = svid_keys_parse((const char *)raw, (size_t)n - pad, NULL, ret, err, errlen);
	free(raw);
	return rc;
}

enum ts_err svid_keys_parse(const char *text, size_t len, const char *trust_domain,
                            struct svid_keys **ret, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	const json_t *keys = json_object_get(root, "keys");
	struct svid_keys *k = NULL;
	enum ts_err rc;

	if (root == NULL) {
		rc = why(err, errlen, "not JSON: line %d: %s", jerr.line, jerr.text);
		goto out;
	}
	if (json_is_object(root) && keys == NULL && trust_domain != NULL) {
		rc = from_bundle_set(root, trust_domain, ret, err, errlen);
		goto out;
	}
	if (!json_is_object(root) || !json_is_array(keys)) {
		rc = why(err, errlen, "not a JWK Set (an object with a \"keys\" array)");
		goto out;
	}
	if (json_array_size(keys) > BUNDLE_MAX_KEYS) {
		rc = why(err, errlen, "%zu keys, more than %d", json_array_size(keys),
		         BUNDLE_MAX_KEYS);
		goto out;
	}
	rc = TS_E_NOMEM;
	k = calloc(1, sizeof(*k));
	if (k == NULL)
		goto out;
	k->v = calloc(json_array_size(keys) + 1, sizeof(*k->v));
	if (k->v == NULL)
		goto out;
	for (size_t i = 0; i < json_array_size(keys); i++) {
		rc = add_jwk(k, json_array_get(keys, i), i, err, errlen);
		if (rc != TS_OK)
			goto out;
	}
	*ret = k;
	k = NULL;
	rc = TS_OK;
out:
	if (rc == TS_E_NOMEM)
		why(err, errlen, "out of memory");
	svid_keys_free(k);
	json_decref(root);
	return rc;
}

enum ts_err svid_keys_load(const char *path, const char *trust_domain, struct svid_keys **ret,
                           struct stat *ret_st, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	struct stat st;
	char *buf = NULL;
	size_t got = 0;
	enum ts_err rc;

	if (fd < 0)
		return why(err, errlen, "cannot open: %s", strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		rc = why(err, errlen, "not a regular file");
		goto out;
	}
	if (st.st_size > (off_t)BUNDLE_MAX_BYTES) {
		rc = why(err, errlen, "larger than %u bytes", BUNDLE_MAX_BYTES);
		goto out;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (buf == NULL) {
		rc = why(err, errlen, "out of memory");
		goto out;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = why(err, errlen, "cannot read: %s", n < 0 ? strerror(errno) : "short");
			goto out;
		}
		got += (size_t)n;
	}
	rc = svid_keys_parse(buf, got, trust_domain, ret, err, errlen);
	if (rc == TS_OK)
		*ret_st = st;
out:
	free(buf);
	close(fd);
	return rc;
}

const struct svid_key *svid_keys_find(const struct svid_keys *k, const char *kid)
{
	for (size_t i = 0; k != NULL && i < k->n; i++)
		if (strcmp(k->v[i].kid, kid) == 0)
			return &k->v[i];
	return NULL;
}

/* A JWS ECDSA signature (r || s, each the curve's size) as DER. */
static uint8_t *ecdsa_der(const uint8_t *sig, size_t len, int *ret_len)
{
	ECDSA_SIG *es = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(sig, (int)(len / 2), NULL),
	       *s = BN_bin2bn(sig + len / 2, (int)(len / 2), NULL);
	uint8_t *der = NULL;
	int n = -1;

	if (es != NULL && r != NULL && s != NULL && ECDSA_SIG_set0(es, r, s) == 1) {
		r = s = NULL; /* es owns them */
		n = i2d_ECDSA_SIG(es, &der);
	}
	ECDSA_SIG_free(es);
	BN_free(r);
	BN_free(s);
	if (n <= 0) {
		OPENSSL_free(der);
		return NULL;
	}
	*ret_len = n;
	return der;
}

bool svid_signature_ok(EVP_PKEY *pkey, enum svid_key_type type, const struct svid_alg *alg,
                       const uint8_t *msg, size_t msg_len, const uint8_t *sig, size_t sig_len)
{
	static const size_t ec_len[] = {
	        [SVID_KEY_EC_P256] = 64, [SVID_KEY_EC_P384] = 96, [SVID_KEY_EC_P521] = 132};
	EVP_MD_CTX *md = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	uint8_t *der = NULL;
	int der_len = 0;
	bool ok = false;

	if (type != alg->key_type)
		return false;
	if (type == SVID_KEY_RSA) {
		if (sig_len != (size_t)EVP_PKEY_get_size(pkey))
			return false;
	} else {
		if (sig_len != ec_len[type] || (der = ecdsa_der(sig, sig_len, &der_len)) == NULL)
			return false;
	}
	md = EVP_MD_CTX_new();
	if (md == NULL || EVP_DigestVerifyInit(md, &pctx, alg_md(alg), NULL, pkey) != 1)
		goto out;
	if (alg->pss && (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
	                 EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, alg_md(alg)) != 1 ||
	                 EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1))
		goto out;
	ok = EVP_DigestVerify(md, der != NULL ? der : sig, der != NULL ? (size_t)der_len : sig_len,
	                      msg, msg_len) == 1;
out:
	EVP_MD_CTX_free(md);
	OPENSSL_free(der);
	return ok;
}
