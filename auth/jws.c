/*
 * Compact JWS verification against the trust store's current intermediate.
 *
 * Everything that decides what a token means is parsed here, strictly:
 * canonical base64url, JSON objects that reject duplicate names and invalid
 * UTF-8, a closed list of header parameters. libjwt checks the signature
 * over the exact bytes received; its own, more lenient, view of the claims is
 * never used.
 */
#include "auth/auth-priv.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <jwt.h>

#include "common/secmem.h"

#define ES256_SIG_LEN 64
#define SUB_MAX_LEN   1024

static int b64url_value(unsigned char ch)
{
	if (ch >= 'A' && ch <= 'Z')
		return ch - 'A';
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a' + 26;
	if (ch >= '0' && ch <= '9')
		return ch - '0' + 52;
	if (ch == '-')
		return 62;
	if (ch == '_')
		return 63;
	return -1;
}

char *b64url_encode(const void *p, size_t len)
{
	static const char tab[] =
	        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	const uint8_t *in = p;
	char *out = malloc(len / 3 * 4 + 5), *o = out;
	uint32_t acc = 0;
	unsigned bits = 0;

	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		acc = (acc << 8) | in[i];
		bits += 8;
		while (bits >= 6) {
			bits -= 6;
			*o++ = tab[(acc >> bits) & 63];
		}
	}
	if (bits > 0)
		*o++ = tab[(acc << (6 - bits)) & 63];
	*o = '\0';
	return out;
}

int b64url_decode(const char *in, size_t len, uint8_t *out, size_t *ret_len)
{
	uint32_t acc = 0;
	unsigned bits = 0;
	size_t n = 0;

	if (len % 4 == 1)
		return -1;
	for (size_t i = 0; i < len; i++) {
		int v = b64url_value((unsigned char)in[i]);

		if (v < 0)
			return -1;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (uint8_t)(acc >> bits);
		}
	}
	if (bits > 0 && (acc & ((1u << bits) - 1)) != 0)
		return -1;
	*ret_len = n;
	return 0;
}

/* One base64url part decoded and parsed as a JSON object, or NULL. */
static json_t *decode_object(const char *in, size_t len)
{
	uint8_t *buf = malloc(len * 3 / 4 + 1);
	size_t n;
	json_t *j = NULL;

	if (buf == NULL)
		return NULL;
	if (len > 0 && b64url_decode(in, len, buf, &n) == 0)
		j = json_loadb((const char *)buf, n, JSON_REJECT_DUPLICATES, NULL);
	free(buf);
	if (j != NULL && !json_is_object(j)) {
		json_decref(j);
		j = NULL;
	}
	return j;
}

int jws_header_check(const json_t *h, const char *const *algs, const char *const *typs,
                     const char **ret_kid)
{
	const char *key, *kid = NULL;
	json_t *v;
	const json_t *alg = json_object_get(h, "alg");
	int found = -1;

	/* A closed list: crit, jku, jwk, x5u, x5c, b64 and the rest would each
	 * change how the token must be read. */
	json_object_foreach((json_t *)h, key, v)
	{
		if (strcmp(key, "alg") != 0 && strcmp(key, "kid") != 0 && strcmp(key, "typ") != 0)
			return -1;
	}
	if (!json_is_string(alg))
		return -1;
	for (int i = 0; algs[i] != NULL && found < 0; i++)
		if (strcmp(json_string_value(alg), algs[i]) == 0)
			found = i;
	if (found < 0)
		return -1;
	v = json_object_get(h, "kid");
	if (v != NULL) {
		if (!json_is_string(v) || json_string_length(v) == 0 ||
		    strlen(json_string_value(v)) != json_string_length(v))
			return -1;
		kid = json_string_value(v);
	}
	v = json_object_get(h, "typ");
	if (v != NULL) {
		bool typ_ok = false;

		for (size_t i = 0; json_is_string(v) && typs[i] != NULL && !typ_ok; i++)
			typ_ok = strcmp(json_string_value(v), typs[i]) == 0;
		if (!typ_ok)
			return -1;
	}
	*ret_kid = kid;
	return found;
}

static bool time_claim(const json_t *claims, const char *name, bool required, json_int_t *ret)
{
	const json_t *v = json_object_get(claims, name);

	if (v == NULL)
		return !required;
	if (!json_is_integer(v))
		return false;
	*ret = json_integer_value(v);
	return true;
}

static bool printable(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	return true;
}

bool jws_claims_ok(const json_t *c, const struct jws_policy *pol, int64_t now)
{
	json_int_t exp = 0, iat = 0, nbf = INT64_MIN;
	int64_t skew = (int64_t)pol->skew_s;
	const json_t *v;

	if (!time_claim(c, "exp", true, &exp) || !time_claim(c, "iat", !pol->iat_optional, &iat) ||
	    !time_claim(c, "nbf", false, &nbf))
		return false;
	if (json_object_get(c, "iat") == NULL)
		iat = now < exp ? now : exp; /* absent and allowed to be */
	if (now >= exp + skew || now + skew < nbf || iat > now + skew || iat > exp)
		return false;
	if (pol->issuer != NULL) {
		v = json_object_get(c, "iss");
		if (!json_is_string(v) || strcmp(json_string_value(v), pol->issuer) != 0)
			return false;
	}
	if (pol->audience != NULL) {
		bool found = false;
		size_t i;
		json_t *a;

		v = json_object_get(c, "aud");
		if (json_is_string(v)) {
			found = strcmp(json_string_value(v), pol->audience) == 0;
		} else if (json_is_array(v)) {
			json_array_foreach(v, i, a) found |=
			        json_is_string(a) &&
			        strcmp(json_string_value(a), pol->audience) == 0;
		}
		if (!found)
			return false;
	}
	if (pol->need_sub) {
		v = json_object_get(c, "sub");
		if (!json_is_string(v) || json_string_length(v) == 0 ||
		    json_string_length(v) > SUB_MAX_LEN ||
		    strlen(json_string_value(v)) != json_string_length(v) ||
		    !printable(json_string_value(v), json_string_length(v)))
			return false;
	}
	return true;
}

/* libjwt's check of the ES256 signature over the token's first two parts. */
static bool signature_ok(const char *token, size_t len, const char *pem, size_t pem_len)
{
	char *copy = malloc(len + 1);
	jwt_t *jwt = NULL;
	bool ok;

	if (copy == NULL)
		return false;
	memcpy(copy, token, len);
	copy[len] = '\0';
	ok = jwt_decode(&jwt, copy, (const unsigned char *)pem, (int)pem_len) == 0 &&
	     jwt_get_alg(jwt) == JWT_ALG_ES256;
	jwt_free(jwt);
	free(copy);
	return ok;
}

void jws_parts_clear(struct jws_parts *p)
{
	if (p == NULL)
		return;
	json_decref(p->header);
	json_decref(p->claims);
	free(p->sig);
	memset(p, 0, sizeof(*p));
}

enum ts_err jws_parse(const char *token, size_t len, size_t max_sig, struct jws_parts *ret)
{
	const char *dot1, *dot2, *sig;
	size_t sig_len;
	struct jws_parts p = {0};

	if (token == NULL || len == 0 || len > JWS_MAX_LEN || memchr(token, '\0', len) != NULL)
		return TS_E_AUTHENTICATION_ERROR;
	dot1 = memchr(token, '.', len);
	if (dot1 == NULL)
		return TS_E_AUTHENTICATION_ERROR;
	dot2 = memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - token));
	if (dot2 == NULL)
		return TS_E_AUTHENTICATION_ERROR;
	sig = dot2 + 1;
	sig_len = len - (size_t)(sig - token);
	/* Exactly three parts, and a signature no longer than the caller's
	 * algorithms make. */
	if (memchr(sig, '.', sig_len) != NULL || sig_len == 0 || sig_len > (max_sig * 4 + 2) / 3)
		return TS_E_AUTHENTICATION_ERROR;
	p.sig = malloc(sig_len * 3 / 4 + 1);
	if (p.sig == NULL)
		return TS_E_NOMEM;
	if (b64url_decode(sig, sig_len, p.sig, &p.sig_len) != 0)
		goto bad;
	p.header = decode_object(token, (size_t)(dot1 - token));
	if (p.header == NULL)
		goto bad;
	p.claims = decode_object(dot1 + 1, (size_t)(dot2 - dot1 - 1));
	if (p.claims == NULL)
		goto bad;
	p.signed_len = (size_t)(dot2 - token);
	*ret = p;
	return TS_OK;
bad:
	jws_parts_clear(&p);
	return TS_E_AUTHENTICATION_ERROR;
}

enum ts_err jws_verify(struct trust_store *ts, const char *token, size_t len,
                       const struct jws_policy *pol, int64_t now, struct json_t **ret_claims,
                       uint64_t *ret_generation)
{
	static const char *const algs[] = {"ES256", NULL}, *const typs[] = {"JWT", NULL};
	char kid[TRUST_KID_LEN], *pem = NULL;
	const char *hkid = NULL;
	size_t pem_len = 0;
	struct jws_parts p = {0};
	uint64_t gen = 0;
	enum ts_err err;

	err = jws_parse(token, len, ES256_SIG_LEN, &p);
	if (err != TS_OK)
		return err;
	if (p.sig_len != ES256_SIG_LEN) {
		err = TS_E_AUTHENTICATION_ERROR;
		goto out;
	}
	err = trust_store_current(ts, kid, &pem, &pem_len, &gen);
	if (err != TS_OK)
		goto out;
	err = TS_E_AUTHENTICATION_ERROR;
	if (jws_header_check(p.header, algs, typs, &hkid) < 0 || hkid == NULL ||
	    strcmp(hkid, kid) != 0)
		goto out;
	if (!jws_claims_ok(p.claims, pol, now))
		goto out;
	if (!signature_ok(token, len, pem, pem_len))
		goto out;
	*ret_claims = p.claims;
	*ret_generation = gen;
	p.claims = NULL;
	err = TS_OK;
out:
	jws_parts_clear(&p);
	free(pem);
	return err;
}
