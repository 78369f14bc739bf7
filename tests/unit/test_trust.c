/*
 * Trust bundles and the Jwt authenticator: every certificate and token a
 * hostile or broken peer could send, each against a real store with a real
 * chain made by identity/pki.c.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "auth/auth.h"
#include "identity/identity.h"

#define PEER_UID 4242
#define AUD      "tesserad"
#define ISS      "tessera-idp"

static const struct auth_peer idp_peer = {.valid = true, .pid = 7, .uid = PEER_UID, .gid = 77};
static const struct auth_peer other_peer = {.valid = true, .pid = 8, .uid = 1000, .gid = 1000};

static struct trust_store *ts;
static struct pki_cert *root, *inter;
static struct auth_set *set;

static void share(const struct pki_cert *c, bool is_root, enum ts_err want)
{
	size_t len;
	const uint8_t *der = pki_cert_der(c, &len);

	cr_assert_eq(trust_store_share(ts, &idp_peer, der, len, is_root), want, "share %s: got %d",
	             is_root ? "root" : "intermediate",
	             trust_store_share(ts, &idp_peer, der, len, is_root));
}

static void setup(void)
{
	struct auth_settings s = {
	        .trust = NULL,
	        .jwt = {.issuer = ISS, .audience = AUD, .skew_s = 5},
	};

	cr_assert_eq(trust_store_new(PEER_UID, (gid_t)-1, &ts), TS_OK);
	cr_assert_eq(pki_root_new("test root", &root), TS_OK);
	cr_assert_eq(pki_intermediate_new(root, "test intermediate", 3600, &inter), TS_OK);
	size_t len;
	const uint8_t *der = pki_cert_der(root, &len);
	cr_assert_eq(trust_store_share(ts, &idp_peer, der, len, true), TS_OK);
	der = pki_cert_der(inter, &len);
	cr_assert_eq(trust_store_share(ts, &idp_peer, der, len, false), TS_OK);
	s.trust = ts;
	cr_assert_eq(auth_set_new(&set), TS_OK);
	cr_assert_eq(auth_set_add(set, 2, &s), TS_OK);
}

static void teardown(void)
{
	auth_set_free(set);
	pki_cert_free(inter);
	pki_cert_free(root);
	trust_store_free(ts);
}

/* Claims that pass, as a JSON object the caller may change. */
static json_t *good_claims(void)
{
	long now = (long)time(NULL);

	return json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:s}", "sub", "spiffe://test/app", "iss",
	                 ISS, "aud", AUD, "iat", (json_int_t)now, "nbf", (json_int_t)now, "exp",
	                 (json_int_t)now + 300, "jti", "1");
}

static char *sign(const struct pki_cert *c, json_t *claims)
{
	char *tok = NULL;

	cr_assert_eq(pki_sign_claims(c, claims, &tok), TS_OK);
	json_decref(claims);
	return tok;
}

static char *raw(const struct pki_cert *c, const char *header, const char *payload)
{
	char *tok = NULL;

	cr_assert_eq(pki_sign_raw(c, header, strlen(header), payload, strlen(payload), &tok),
	             TS_OK);
	return tok;
}

static enum ts_err auth_with(const char *tok, size_t len, struct auth_identity *id)
{
	return auth_set_authenticate(set, 2, (const uint8_t *)tok, len, &other_peer, id);
}

/* The token is refused with AuthenticationError, and a good token still
 * passes afterwards with the same intermediate. */
static void refused(const char *what, const char *tok, size_t len)
{
	struct auth_identity id = {0};
	uint64_t gen = trust_store_generation(ts);
	enum ts_err err = auth_with(tok, len, &id);
	char *good;

	cr_assert_eq(err, TS_E_AUTHENTICATION_ERROR, "%s: got %d", what, err);
	cr_assert_eq(ts_err_wire_status(err), 11);
	cr_assert_null(id.name, "%s", what);
	cr_assert_eq(trust_store_generation(ts), gen, "%s changed the store", what);
	good = sign(inter, good_claims());
	cr_assert_eq(auth_with(good, strlen(good), &id), TS_OK, "%s", what);
	auth_identity_clear(&id);
	free(good);
}

static void refused_str(const char *what, char *tok)
{
	refused(what, tok, strlen(tok));
	free(tok);
}

static char *header_kid(const char *alg, const char *kid)
{
	static char h[256];

	snprintf(h, sizeof(h), "{\"alg\":\"%s\",\"typ\":\"JWT\",\"kid\":\"%s\"}", alg, kid);
	return h;
}

static char *good_payload(void)
{
	json_t *c = good_claims();
	char *s = json_dumps(c, JSON_COMPACT);

	json_decref(c);
	return s;
}

TestSuite(trust, .init = setup, .fini = teardown);

Test(trust, a_good_token_names_its_subject_and_is_cached_until_rotation)
{
	struct auth_identity id = {0};
	char *tok = sign(inter, good_claims());
	struct pki_cert *next;

	cr_assert_eq(auth_with(tok, strlen(tok), &id), TS_OK);
	cr_assert_str_eq(id.name, "spiffe://test/app");
	cr_assert_eq(id.auth_type, 2);
	auth_identity_clear(&id);
	cr_assert_eq(auth_with(tok, strlen(tok), &id), TS_OK); /* from the cache */
	auth_identity_clear(&id);

	cr_assert_eq(pki_intermediate_new(root, "next", 3600, &next), TS_OK);
	share(next, false, TS_OK);
	cr_assert_eq(trust_store_generation(ts), 2);
	/* Signed by the previous intermediate: refused at once, cache or not. */
	cr_assert_eq(auth_with(tok, strlen(tok), &id), TS_E_AUTHENTICATION_ERROR);
	free(tok);
	tok = sign(next, good_claims());
	cr_assert_eq(auth_with(tok, strlen(tok), &id), TS_OK);
	auth_identity_clear(&id);
	free(tok);
	pki_cert_free(next);
}

Test(trust, bundles_from_the_wrong_peer_or_a_second_root_are_refused)
{
	struct pki_cert *root2, *inter2, *p384, *leaf_as_root, *expired;
	struct pki_spec s384 = {.cn = "p384", .ca = true, .lifetime_s = 3600, .group = "secp384r1"};
	struct pki_spec leaf = {.cn = "leaf", .ca = false, .lifetime_s = 3600};
	struct pki_spec old = {.cn = "old", .not_before_s = -7200, .lifetime_s = -3600};
	struct trust_store *fresh;
	size_t len;
	const uint8_t *der;
	uint8_t junk[600];
	const char *kid_before;
	char kid[TRUST_KID_LEN];

	cr_assert_eq(pki_root_new("second root", &root2), TS_OK);
	cr_assert_eq(pki_intermediate_new(root2, "foreign", 3600, &inter2), TS_OK);
	cr_assert_eq(pki_cert_new(&s384, NULL, &p384), TS_OK);
	cr_assert_eq(pki_cert_new(&leaf, NULL, &leaf_as_root), TS_OK);
	cr_assert_eq(pki_cert_new(&old, root, &expired), TS_OK);
	kid_before = pki_cert_kid(inter);

	der = pki_cert_der(root2, &len);
	cr_assert_eq(trust_store_share(ts, &other_peer, der, len, true), TS_E_PSA_NOT_PERMITTED);
	share(root2, true, TS_E_PSA_ALREADY_EXISTS);
	share(root, true, TS_E_PSA_ALREADY_EXISTS); /* even the same one again */
	share(inter2, false, TS_E_PSA_INVALID_SIGNATURE);
	share(p384, false, TS_E_PSA_INVALID_ARGUMENT);
	share(expired, false, TS_E_PSA_INVALID_ARGUMENT);
	der = pki_cert_der(inter, &len);
	cr_assert_eq(trust_store_share(ts, &other_peer, der, len, false), TS_E_PSA_NOT_PERMITTED);
	memcpy(junk, der, len < sizeof(junk) ? len : sizeof(junk));
	cr_assert_eq(trust_store_share(ts, &idp_peer, junk, 10, false), TS_E_PSA_INVALID_ARGUMENT);
	cr_assert_lt(len + 1, sizeof(junk));
	memcpy(junk, der, len);
	junk[len] = 0;
	cr_assert_eq(trust_store_share(ts, &idp_peer, junk, len + 1, false),
	             TS_E_PSA_INVALID_ARGUMENT, "trailing byte");
	/* Nothing of that changed the current intermediate. */
	cr_assert_eq(trust_store_generation(ts), 1);
	trust_kid(der, len, kid);
	cr_assert_str_eq(kid, kid_before);

	/* A fresh store: no intermediate before a root; a root must be a
	 * self-signed CA; a gid, when configured, must match too. */
	cr_assert_eq(trust_store_new(PEER_UID, 77, &fresh), TS_OK);
	der = pki_cert_der(inter, &len);
	cr_assert_eq(trust_store_share(fresh, &idp_peer, der, len, false), TS_E_PSA_BAD_STATE);
	der = pki_cert_der(leaf_as_root, &len);
	cr_assert_eq(trust_store_share(fresh, &idp_peer, der, len, true),
	             TS_E_PSA_INVALID_ARGUMENT);
	der = pki_cert_der(inter, &len);
	cr_assert_eq(trust_store_share(fresh, &idp_peer, der, len, true),
	             TS_E_PSA_INVALID_ARGUMENT);
	{
		struct auth_peer wrong_gid = idp_peer;

		wrong_gid.gid = 78;
		der = pki_cert_der(root2, &len);
		cr_assert_eq(trust_store_share(fresh, &wrong_gid, der, len, true),
		             TS_E_PSA_NOT_PERMITTED);
	}
	cr_assert(!trust_store_has_root(fresh));
	der = pki_cert_der(root2, &len);
	cr_assert_eq(trust_store_share(fresh, &idp_peer, der, len, true), TS_OK);
	cr_assert(trust_store_has_root(fresh));
	trust_store_free(fresh);

	pki_cert_free(root2);
	pki_cert_free(inter2);
	pki_cert_free(p384);
	pki_cert_free(leaf_as_root);
	pki_cert_free(expired);
}

Test(trust, hostile_tokens_get_authentication_error_and_change_nothing)
{
	const char *kid = pki_cert_kid(inter);
	char *p = good_payload(), *tok, *h64, *p64, buf[9000];
	struct pki_cert *old_inter = NULL, *foreign_root, *foreign;
	long now = (long)time(NULL);
	json_t *c;
	int cases = 0;

	/* 1. alg none, no signature. */
	h64 = b64url_encode(header_kid("none", kid), strlen(header_kid("none", kid)));
	p64 = b64url_encode(p, strlen(p));
	snprintf(buf, sizeof(buf), "%s.%s.", h64, p64);
	refused("alg none", buf, strlen(buf)), cases++;
	free(h64);

	/* 2. HS256 keyed with the intermediate's public key. */
	{
		unsigned char mac[32];
		unsigned int mlen = 0;
		char *m64;
		const char *hh = header_kid("HS256", kid);
		const uint8_t *der;
		size_t dlen;

		h64 = b64url_encode(hh, strlen(hh));
		snprintf(buf, sizeof(buf), "%s.%s", h64, p64);
		der = pki_cert_der(inter, &dlen);
		HMAC(EVP_sha256(), der, (int)dlen, (const unsigned char *)buf, strlen(buf), mac,
		     &mlen);
		m64 = b64url_encode(mac, mlen);
		strcat(buf, ".");
		strcat(buf, m64);
		refused("HS256 with the public key", buf, strlen(buf)), cases++;
		free(m64);
		free(h64);
	}

	/* 3. A kid that is not the current intermediate's. */
	refused_str("wrong kid", raw(inter, header_kid("ES256", pki_cert_kid(root)), p)), cases++;

	/* 4. Signed by the previous intermediate after rotation. */
	{
		struct pki_cert *next;

		cr_assert_eq(pki_intermediate_new(root, "next", 3600, &next), TS_OK);
		tok = sign(inter, good_claims());
		share(next, false, TS_OK);
		old_inter = inter;
		inter = next;
		kid = pki_cert_kid(inter);
		refused_str("previous intermediate", tok), cases++;
		/* and one made with the old key but naming the new kid */
		refused_str("old key, new kid", raw(old_inter, header_kid("ES256", kid), p)),
		        cases++;
	}

	/* 5. A foreign key claiming the current kid. */
	cr_assert_eq(pki_root_new("foreign", &foreign_root), TS_OK);
	cr_assert_eq(pki_intermediate_new(foreign_root, "foreign", 3600, &foreign), TS_OK);
	refused_str("foreign key", raw(foreign, header_kid("ES256", kid), p)), cases++;

	/* 6-12. Claims. */
	c = good_claims();
	json_object_set_new(c, "exp", json_integer(now - 60));
	json_object_set_new(c, "iat", json_integer(now - 120));
	json_object_set_new(c, "nbf", json_integer(now - 120));
	refused_str("expired", sign(inter, c)), cases++;
	c = good_claims();
	json_object_set_new(c, "nbf", json_integer(now + 120));
	refused_str("not yet valid", sign(inter, c)), cases++;
	c = good_claims();
	json_object_set_new(c, "iat", json_integer(now + 120));
	refused_str("issued in the future", sign(inter, c)), cases++;
	c = good_claims();
	json_object_set_new(c, "aud", json_string("someone-else"));
	refused_str("wrong audience", sign(inter, c)), cases++;
	c = good_claims();
	json_object_set_new(c, "aud", json_pack("[s,s]", "a", "b"));
	refused_str("audience list without us", sign(inter, c)), cases++;
	c = good_claims();
	json_object_set_new(c, "iss", json_string("mallory"));
	refused_str("wrong issuer", sign(inter, c)), cases++;
	c = good_claims();
	json_object_del(c, "sub");
	refused_str("missing sub", sign(inter, c)), cases++;
	c = good_claims();
	json_object_set_new(c, "sub", json_string(""));
	refused_str("empty sub", sign(inter, c)), cases++;
	c = good_claims();
	json_object_set_new(c, "sub", json_string("app\nroot"));
	refused_str("sub with a control character", sign(inter, c)), cases++;
	c = good_claims();
	json_object_del(c, "exp");
	refused_str("missing exp", sign(inter, c)), cases++;
	c = good_claims();
	json_object_set_new(c, "exp", json_string("never"));
	refused_str("exp as a string", sign(inter, c)), cases++;
	c = good_claims();
	json_object_set_new(c, "sub", json_integer(5));
	refused_str("sub not a string", sign(inter, c)), cases++;

	/* 13. Oversized. */
	{
		char *big = malloc(JWS_MAX_LEN + 200);
		size_t n;

		c = good_claims();
		memset(big, 'a', JWS_MAX_LEN);
		big[JWS_MAX_LEN] = '\0';
		json_object_set_new(c, "pad", json_string(big));
		tok = sign(inter, c);
		n = strlen(tok);
		cr_assert_gt(n, JWS_MAX_LEN);
		refused("oversized", tok, n), cases++;
		free(tok);
		free(big);
	}

	/* 14. Garbage base64 and other encodings. */
	tok = sign(inter, good_claims());
	{
		size_t n = strlen(tok);
		char *dot = strchr(tok, '.');

		memcpy(buf, tok, n + 1);
		buf[1] = '!';
		refused("garbage base64", buf, n), cases++;
		memcpy(buf, tok, n + 1);
		buf[(dot - tok) + 3] = '+'; /* base64, not base64url */
		refused("standard base64 alphabet", buf, n), cases++;
		snprintf(buf, sizeof(buf), "%s=", tok);
		refused("padding", buf, n + 1), cases++;
		snprintf(buf, sizeof(buf), "%s.e30", tok);
		refused("trailing part", buf, strlen(buf)), cases++;
		snprintf(buf, sizeof(buf), "%s\n", tok);
		refused("trailing newline", buf, n + 1), cases++;
		refused("NUL inside", tok, n + 1), cases++;
		refused("truncated", tok, n - 2), cases++;
		memcpy(buf, tok, n + 1);
		buf[n - 5] = buf[n - 5] == 'A' ? 'B' : 'A';
		refused("signature bit flipped", buf, n), cases++;
		refused("empty", "", 0), cases++;
		refused("two parts", tok, (size_t)(strrchr(tok, '.') - tok)), cases++;
	}
	/* 15. Header and payload swapped (signed so, too). */
	{
		char *dot1 = strchr(tok, '.'), *dot2 = strrchr(tok, '.');
		char *hh = strndup(tok, (size_t)(dot1 - tok));
		char *pp = strndup(dot1 + 1, (size_t)(dot2 - dot1 - 1));

		snprintf(buf, sizeof(buf), "%s.%s.%s", pp, hh, dot2 + 1);
		refused("header and payload swapped", buf, strlen(buf)), cases++;
		free(hh);
		free(pp);
	}
	free(tok);
	refused_str("swapped, then signed", raw(inter, p, header_kid("ES256", kid))), cases++;

	/* 16. Duplicate claims, duplicate header parameters, non-UTF-8. */
	{
		char dup[512];

		snprintf(dup, sizeof(dup),
		         "{\"sub\":\"spiffe://test/app\",\"sub\":\"spiffe://test/admin\","
		         "\"iss\":\"%s\",\"aud\":\"%s\",\"iat\":%ld,\"exp\":%ld}",
		         ISS, AUD, now, now + 300);
		refused_str("duplicate sub", raw(inter, header_kid("ES256", kid), dup)), cases++;
		snprintf(dup, sizeof(dup),
		         "{\"alg\":\"ES256\",\"alg\":\"none\",\"typ\":\"JWT\",\"kid\":\"%s\"}",
		         kid);
		refused_str("duplicate alg", raw(inter, dup, p)), cases++;
		snprintf(dup, sizeof(dup),
		         "{\"sub\":\"spiffe://test/\xff\xfe\",\"iss\":\"%s\",\"aud\":\"%s\","
		         "\"iat\":%ld,\"exp\":%ld}",
		         ISS, AUD, now, now + 300);
		refused_str("non-UTF-8 sub", raw(inter, header_kid("ES256", kid), dup)), cases++;
		snprintf(dup, sizeof(dup), "{\"alg\":\"ES256\",\"kid\":\"%s\",\"crit\":[\"exp\"]}",
		         kid);
		refused_str("crit header", raw(inter, dup, p)), cases++;
		snprintf(dup, sizeof(dup),
		         "{\"alg\":\"ES256\",\"kid\":\"%s\",\"jwk\":{\"kty\":\"EC\"}}", kid);
		refused_str("embedded jwk", raw(inter, dup, p)), cases++;
		refused_str("ES384 named", raw(inter, header_kid("ES384", kid), p)), cases++;
		refused_str("payload an array", raw(inter, header_kid("ES256", kid), "[1,2]")),
		        cases++;
		refused_str("payload not JSON", raw(inter, header_kid("ES256", kid), "{\"sub\":")),
		        cases++;
	}
	cr_assert_geq(cases, 20);

	free(p64);
	free(p);
	pki_cert_free(old_inter);
	pki_cert_free(foreign);
	pki_cert_free(foreign_root);
}

Test(trust, no_token_passes_before_an_intermediate_is_shared)
{
	struct trust_store *fresh;
	struct auth_set *s2;
	struct auth_settings s = {.jwt = {.skew_s = 5}};
	struct auth_identity id = {0};
	char *tok = sign(inter, good_claims());
	size_t len;
	const uint8_t *der = pki_cert_der(root, &len);

	cr_assert_eq(trust_store_new(PEER_UID, (gid_t)-1, &fresh), TS_OK);
	s.trust = fresh;
	cr_assert_eq(auth_set_new(&s2), TS_OK);
	cr_assert_eq(auth_set_add(s2, 2, &s), TS_OK);
	cr_assert_eq(auth_set_authenticate(s2, 2, (uint8_t *)tok, strlen(tok), NULL, &id),
	             TS_E_AUTHENTICATION_ERROR);
	cr_assert_eq(trust_store_share(fresh, &idp_peer, der, len, true), TS_OK);
	cr_assert_eq(auth_set_authenticate(s2, 2, (uint8_t *)tok, strlen(tok), NULL, &id),
	             TS_E_AUTHENTICATION_ERROR);
	der = pki_cert_der(inter, &len);
	cr_assert_eq(trust_store_share(fresh, &idp_peer, der, len, false), TS_OK);
	/* No issuer or audience configured: only signature and time count. */
	cr_assert_eq(auth_set_authenticate(s2, 2, (uint8_t *)tok, strlen(tok), NULL, &id), TS_OK);
	auth_identity_clear(&id);
	auth_set_free(s2);
	trust_store_free(fresh);
	free(tok);
	/* Without a trust store the authenticator cannot be made. */
	cr_assert_eq(auth_set_new(&s2), TS_OK);
	cr_assert_eq(auth_set_add(s2, 2, &(struct auth_settings){0}), TS_E_CONFIG);
	auth_set_free(s2);
}
