/*
 * The trusted side's certificates: ECDSA P-256 key pairs made in memory,
 * X.509 certificates for them, and ES256 signatures over JWS input. No key is
 * ever serialised; freeing a certificate clears its private key.
 */
#include "identity/identity.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common/secmem.h"

#define ROOT_LIFETIME_S (10LL * 365 * 24 * 3600)

struct pki_cert {
	EVP_PKEY *key;
	X509 *x509;
	uint8_t *der;
	size_t der_len;
	char kid[TRUST_KID_LEN];
};

void pki_cert_free(struct pki_cert *c)
{
	if (c == NULL)
		return;
	EVP_PKEY_free(c->key); /* OpenSSL clears the private scalar */
	X509_free(c->x509);
	free(c->der);
	free(c);
}

const uint8_t *pki_cert_der(const struct pki_cert *c, size_t *ret_len)
{
	*ret_len = c->der_len;
	return c->der;
}

const char *pki_cert_kid(const struct pki_cert *c)
{
	return c->kid;
}

static bool add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX v3;
	X509_EXTENSION *e;
	bool ok;

	X509V3_set_ctx(&v3, issuer, x, NULL, NULL, 0);
	e = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
	if (e == NULL)
		return false;
	ok = X509_add_ext(x, e, -1) == 1;
	X509_EXTENSION_free(e);
	return ok;
}

static bool make_x509(struct pki_cert *c, const struct pki_spec *spec,
                      const struct pki_cert *issuer)
{
	X509 *x = X509_new();
	X509_NAME *name;
	ASN1_INTEGER *serial;
	uint8_t rnd[16];
	BIGNUM *bn;
	X509 *issuer_x;
	EVP_PKEY *signer;
	time_t now = time(NULL);
	bool ok = false;

	if (x == NULL)
		return false;
	c->x509 = x;
	issuer_x = issuer != NULL ? issuer->x509 : x;
	signer = issuer != NULL ? issuer->key : c->key;
	if (X509_set_version(x, 2) != 1 || RAND_bytes(rnd, sizeof(rnd)) != 1)
		return false;
	rnd[0] &= 0x7f; /* a positive serial */
	bn = BN_bin2bn(rnd, sizeof(rnd), NULL);
	serial = bn ? BN_to_ASN1_INTEGER(bn, NULL) : NULL;
	BN_free(bn);
	if (serial == NULL)
		return false;
	ok = X509_set_serialNumber(x, serial) == 1;
	ASN1_INTEGER_free(serial);
	if (!ok)
		return false;
	ok = false;
	name = X509_get_subject_name(x);
	if (X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, (const unsigned char *)"Tessera",
	                               -1, -1, 0) != 1 ||
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)spec->cn,
	                               -1, -1, 0) != 1 ||
	    X509_set_issuer_name(x, X509_get_subject_name(issuer_x)) != 1 ||
	    X509_time_adj_ex(X509_getm_notBefore(x), 0, (long)spec->not_before_s, &now) == NULL ||
	    X509_time_adj_ex(X509_getm_notAfter(x), (int)(spec->lifetime_s / 86400),
	                     (long)(spec->lifetime_s % 86400), &now) == NULL ||
	    X509_set_pubkey(x, c->key) != 1)
		return false;
	if (!add_ext(x, issuer_x, NID_subject_key_identifier, "hash") ||
	    !add_ext(x, issuer_x, NID_authority_key_identifier, "keyid:always") ||
	    !add_ext(x, issuer_x, NID_basic_constraints,
	             spec->ca ? "critical,CA:TRUE" : "critical,CA:FALSE") ||
	    !add_ext(x, issuer_x, NID_key_usage,
	             spec->ca ? "critical,keyCertSign,cRLSign,digitalSignature"
	                      : "critical,digitalSignature"))
		return false;
	return X509_sign(x, signer, EVP_sha256()) > 0;
}

enum ts_err pki_cert_new(const struct pki_spec *spec, const struct pki_cert *issuer,
                         struct pki_cert **ret_cert)
{
	struct pki_cert *c = calloc(1, sizeof(*c));
	unsigned char *der = NULL;
	int n;

	if (c == NULL)
		return TS_E_NOMEM;
	c->key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", spec->group ? spec->group : "prime256v1");
	if (c->key == NULL || !make_x509(c, spec, issuer) || (n = i2d_X509(c->x509, &der)) <= 0) {
		pki_cert_free(c);
		return TS_E_SYSTEM;
	}
	c->der = malloc((size_t)n);
	if (c->der == NULL) {
		OPENSSL_free(der);
		pki_cert_free(c);
		return TS_E_NOMEM;
	}
	memcpy(c->der, der, (size_t)n);
	OPENSSL_free(der);
	c->der_len = (size_t)n;
	trust_kid(c->der, c->der_len, c->kid);
	*ret_cert = c;
	return TS_OK;
}

enum ts_err pki_root_new(const char *cn, struct pki_cert **ret_cert)
{
	struct pki_spec s = {
	        .cn = cn, .ca = true, .not_before_s = -300, .lifetime_s = ROOT_LIFETIME_S};

	return pki_cert_new(&s, NULL, ret_cert);
}

enum ts_err pki_intermediate_new(const struct pki_cert *root, const char *cn, int64_t lifetime_s,
                                 struct pki_cert **ret_cert)
{
	struct pki_spec s = {.cn = cn, .ca = false, .not_before_s = -300, .lifetime_s = lifetime_s};

	return pki_cert_new(&s, root, ret_cert);
}

/* ECDSA over SHA-256, as the 64-byte r || s that JWS uses. */
static bool es256(EVP_PKEY *key, const void *msg, size_t len, uint8_t out[64])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char der[80];
	const unsigned char *p = der;
	size_t der_len = sizeof(der);
	ECDSA_SIG *sig = NULL;
	const BIGNUM *r, *s;
	bool ok = false;

	if (md == NULL || EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) != 1 ||
	    EVP_DigestSign(md, der, &der_len, msg, len) != 1)
		goto out;
	sig = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
	if (sig == NULL)
		goto out;
	ECDSA_SIG_get0(sig, &r, &s);
	ok = BN_bn2binpad(r, out, 32) == 32 && BN_bn2binpad(s, out + 32, 32) == 32;
out:
	ECDSA_SIG_free(sig);
	EVP_MD_CTX_free(md);
	return ok;
}

enum ts_err pki_sign_raw(const struct pki_cert *c, const char *header, size_t header_len,
                         const char *payload, size_t payload_len, char **ret_token)
{
	char *h = b64url_encode(header, header_len), *p = b64url_encode(payload, payload_len);
	char *s = NULL, *tok = NULL;
	uint8_t sig[64];
	size_t hl, pl, sl;
	enum ts_err err = TS_E_NOMEM;

	if (h == NULL || p == NULL)
		goto out;
	hl = strlen(h);
	pl = strlen(p);
	tok = malloc(hl + pl + 2 + 90);
	if (tok == NULL)
		goto out;
	memcpy(tok, h, hl);
	tok[hl] = '.';
	memcpy(tok + hl + 1, p, pl);
	if (!es256(c->key, tok, hl + 1 + pl, sig)) {
		err = TS_E_SYSTEM;
		goto out;
	}
	s = b64url_encode(sig, sizeof(sig));
	if (s == NULL)
		goto out;
	sl = strlen(s);
	tok[hl + 1 + pl] = '.';
	memcpy(tok + hl + 2 + pl, s, sl + 1);
	*ret_token = tok;
	tok = NULL;
	err = TS_OK;
out:
	free(h);
	free(p);
	free(s);
	free(tok);
	return err;
}

enum ts_err pki_sign_claims(const struct pki_cert *c, const struct json_t *claims, char **ret_token)
{
	char header[160], *payload;
	int hn;
	enum ts_err err;

	hn = snprintf(header, sizeof(header), "{\"alg\":\"ES256\",\"typ\":\"JWT\",\"kid\":\"%s\"}",
	              c->kid);
	payload = json_dumps(claims, JSON_COMPACT | JSON_SORT_KEYS);
	if (payload == NULL)
		return TS_E_NOMEM;
	err = pki_sign_raw(c, header, (size_t)hn, payload, strlen(payload), ret_token);
	free(payload);
	return err;
}
