/* Test helper: SPIFFE JWT bundles and JWT-SVIDs made with OpenSSL. */
#include "tests/common/svid-mint.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/hmac.h>
#include <openssl/rsa.h>

#include "auth/auth.h"

EVP_PKEY *mint_key(const char *kind)
{
	if (strcmp(kind, "RSA2048") == 0)
		return EVP_RSA_gen(2048);
	if (strcmp(kind, "RSA3072") == 0)
		return EVP_RSA_gen(3072);
	if (strcmp(kind, "RSA1024") == 0) /* too small to be trusted */
		return EVP_RSA_gen(1024);
	return EVP_EC_gen(kind);
}

static char *bn_b64(EVP_PKEY *key, const char *param)
{
	BIGNUM *bn = NULL;
	uint8_t buf[1024];
	int n;

	if (EVP_PKEY_get_bn_param(key, param, &bn) != 1)
		return NULL;
	n = BN_bn2bin(bn, buf);
	BN_free(bn);
	return b64url_encode(buf, (size_t)n);
}

char *mint_jwk(EVP_PKEY *key, const char *kid)
{
	char *out = NULL, *a = NULL, *b = NULL;

	if (EVP_PKEY_is_a(key, "RSA")) {
		a = bn_b64(key, OSSL_PKEY_PARAM_RSA_N);
		b = bn_b64(key, OSSL_PKEY_PARAM_RSA_E);
		if (a != NULL && b != NULL &&
		    asprintf(&out,
		             "{\"kty\": \"RSA\", \"use\": \"jwt-svid\", \"kid\": \"%s\", "
		             "\"n\": \"%s\", \"e\": \"%s\"}",
		             kid, a, b) < 0)
			out = NULL;
	} else {
		uint8_t pub[200];
		size_t len = 0, flen;
		char group[32];
		const char *crv;

		if (EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof(pub),
		                                    &len) != 1 ||
		    EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group,
		                                   sizeof(group), NULL) != 1)
			return NULL;
		flen = (len - 1) / 2;
		crv = flen == 32 ? "P-256" : flen == 48 ? "P-384" : "P-521";
		a = b64url_encode(pub + 1, flen);
		b = b64url_encode(pub + 1 + flen, flen);
		if (a != NULL && b != NULL &&
		    asprintf(&out,
		             "{\"kty\": \"EC\", \"use\": \"jwt-svid\", \"kid\": \"%s\", "
		             "\"crv\": \"%s\", \"x\": \"%s\", \"y\": \"%s\"}",
		             kid, crv, a, b) < 0)
			out = NULL;
	}
	free(a);
	free(b);
	return out;
}

char *mint_jwks(const char *const *jwks, size_t n)
{
	size_t len = 64;
	char *out;

	for (size_t i = 0; i < n; i++)
		len += strlen(jwks[i]) + 2;
	out = malloc(len);
	if (out == NULL)
		return NULL;
	strcpy(out, "{\"spiffe_sequence\": 1, \"keys\": [");
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			strcat(out, ", ");
		strcat(out, jwks[i]);
	}
	strcat(out, "]}");
	return out;
}

int mint_write(const char *path, const char *text)
{
	char tmp[512];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (f == NULL)
		return -1;
	if (fputs(text, f) < 0) {
		fclose(f);
		return -1;
	}
	if (fclose(f) != 0)
		return -1;
	return rename(tmp, path);
}

int mint_bundle(const char *path, EVP_PKEY *const *keys, const char *const *kids, size_t n)
{
	char *jwk[8] = {NULL}, *jwks = NULL;
	int rc = -1;

	if (n > 8)
		return -1;
	for (size_t i = 0; i < n; i++)
		if ((jwk[i] = mint_jwk(keys[i], kids[i])) == NULL)
			goto out;
	jwks = mint_jwks((const char *const *)jwk, n);
	if (jwks != NULL)
		rc = mint_write(path, jwks);
out:
	free(jwks);
	for (size_t i = 0; i < n; i++)
		free(jwk[i]);
	return rc;
}

static const EVP_MD *md_of(const char *alg)
{
	return alg[2] == '2' ? EVP_sha256() : alg[2] == '3' ? EVP_sha384() : EVP_sha512();
}

/* The signature in JWS form into sig (r || s for ECDSA). */
static size_t sign(EVP_PKEY *key, const char *alg, const char *msg, size_t len, uint8_t *sig)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	uint8_t der[1200];
	size_t der_len = sizeof(der), out = 0;

	if (EVP_DigestSignInit(md, &pctx, md_of(alg), NULL, key) != 1)
		goto done;
	if (alg[0] == 'P' && (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
	                      EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md_of(alg)) != 1 ||
	                      EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1))
		goto done;
	if (EVP_DigestSign(md, der, &der_len, (const uint8_t *)msg, len) != 1)
		goto done;
	if (alg[0] == 'E') {
		const uint8_t *p = der;
		ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
		size_t flen = (size_t)(EVP_PKEY_get_bits(key) + 7) / 8;

		if (es == NULL)
			goto done;
		BN_bn2binpad(ECDSA_SIG_get0_r(es), sig, (int)flen);
		BN_bn2binpad(ECDSA_SIG_get0_s(es), sig + flen, (int)flen);
		ECDSA_SIG_free(es);
		out = 2 * flen;
	} else {
		memcpy(sig, der, der_len);
		out = der_len;
	}
done:
	EVP_MD_CTX_free(md);
	return out;
}

char *mint_jws(EVP_PKEY *key, const char *sign_alg, const char *header, const char *claims,
               const char *hmac_secret)
{
	char *h = b64url_encode(header, strlen(header)), *c = b64url_encode(claims, strlen(claims));
	char *input = NULL, *s = NULL, *out = NULL;
	uint8_t sig[1200];
	size_t sig_len = 0;
	unsigned int hlen = 0;

	if (h == NULL || c == NULL || asprintf(&input, "%s.%s", h, c) < 0)
		goto done;
	if (strcmp(sign_alg, "none") == 0) {
		sig_len = 0;
	} else if (strcmp(sign_alg, "HS256") == 0) {
		HMAC(EVP_sha256(), hmac_secret, (int)strlen(hmac_secret), (uint8_t *)input,
		     strlen(input), sig, &hlen);
		sig_len = hlen;
	} else {
		sig_len = sign(key, sign_alg, input, strlen(input), sig);
		if (sig_len == 0)
			goto done;
	}
	s = b64url_encode(sig, sig_len);
	if (s != NULL && asprintf(&out, "%s.%s", input, s) < 0)
		out = NULL;
done:
	free(h);
	free(c);
	free(input);
	free(s);
	return out;
}

char *mint_svid(EVP_PKEY *key, const char *alg, const char *kid, const char *sub, const char *aud,
                long exp_in)
{
	char header[256], claims[1024];
	long now = (long)time(NULL);

	snprintf(header, sizeof(header), "{\"alg\":\"%s\",\"kid\":\"%s\",\"typ\":\"JWT\"}", alg,
	         kid);
	snprintf(claims, sizeof(claims),
	         "{\"sub\":\"%s\",\"aud\":[\"%s\"],\"exp\":%ld,\"iat\":%ld}", sub, aud,
	         now + exp_in, now);
	return mint_jws(key, alg, header, claims, NULL);
}
