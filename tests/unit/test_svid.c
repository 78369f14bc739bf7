/*
 * The JwtSvid authenticator against bundles and tokens made here with
 * OpenSSL: every algorithm SPIFFE allows, the hostile tokens a validator
 * must refuse, bundle rotation and broken bundles.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "auth/auth.h"
#include "tests/common/svid-mint.h"

#define TD   "example.org"
#define APP  "spiffe://example.org/app"
#define AUD  "tessera"
#define SKEW 30

static char dir[64], path_a[128], path_b[128], init_err[400];
static EVP_PKEY *k256, *k384, *k521, *krsa, *kother;

static void write_bundle(const char *path, EVP_PKEY *const *keys, const char *const *kids, size_t n)
{
	cr_assert_eq(mint_bundle(path, keys, kids, n), 0);
}

static void setup(void)
{
	EVP_PKEY *a[] = {NULL, NULL, NULL, NULL, NULL};
	static const char *const kids[] = {"k256", "k384", "k521", "krsa", "shared"};

	snprintf(dir, sizeof(dir), "/tmp/ts-svid-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path_a, sizeof(path_a), "%s/example.org.jwks", dir);
	snprintf(path_b, sizeof(path_b), "%s/other.test.jwks", dir);
	k256 = mint_key("P-256");
	k384 = mint_key("P-384");
	k521 = mint_key("P-521");
	krsa = mint_key("RSA2048");
	kother = mint_key("P-256");
	cr_assert(k256 && k384 && k521 && krsa && kother);
	a[0] = k256, a[1] = k384, a[2] = k521, a[3] = krsa, a[4] = k256;
	write_bundle(path_a, a, kids, 5);
	/* other.test has its own key, under a kid example.org uses too. */
	write_bundle(path_b, (EVP_PKEY *[]){kother, kother}, (const char *[]){"kother", "shared"},
	             2);
}

static void teardown(void)
{
	char cmd[128];

	EVP_PKEY_free(k256);
	EVP_PKEY_free(k384);
	EVP_PKEY_free(k521);
	EVP_PKEY_free(krsa);
	EVP_PKEY_free(kother);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_assert_eq(system(cmd), 0);
}

static enum ts_err make_set(struct auth_set **ret, size_t n_bundles)
{
	const struct auth_svid_bundle bundles[] = {{TD, path_a}, {"other.test", path_b}};
	static const char *const admins[] = {"spiffe://example.org/admin"};
	struct auth_settings s = {
	        .admins = admins,
	        .n_admins = 1,
	        .svid = {.audience = AUD,
	                 .skew_s = SKEW,
	                 .bundles = bundles,
	                 .n_bundles = n_bundles},
	        .err = init_err,
	        .errlen = sizeof(init_err),
	};
	enum ts_err rc;

	init_err[0] = '\0';
	cr_assert_eq(auth_set_new(ret), TS_OK);
	rc = auth_set_add(*ret, 4, &s);
	return rc;
}

static struct auth_set *svid_set(void)
{
	struct auth_set *set;

	cr_assert_eq(make_set(&set, 2), TS_OK, "%s", init_err);
	return set;
}

/* The token's outcome, and the identity when accepted. */
static enum ts_err try(struct auth_set *set, const char *token, struct auth_identity *id)
{
	cr_assert_not_null(token);
	memset(id, 0, sizeof(*id));
	return auth_set_authenticate(set, 4, (const uint8_t *)token, strlen(token), NULL, id);
}

static void assert_refused(struct auth_set *set, char *token, const char *what)
{
	struct auth_identity id;

	cr_assert_eq(try(set, token, &id), TS_E_AUTHENTICATION_ERROR, "accepted: %s", what);
	free(token);
}

static void assert_accepted(struct auth_set *set, char *token, const char *name, const char *what)
{
	struct auth_identity id;

	cr_assert_eq(try(set, token, &id), TS_OK, "refused: %s", what);
	cr_assert_str_eq(id.name, name);
	cr_assert_eq(id.auth_type, 4);
	auth_identity_clear(&id);
	free(token);
}

/* A token with these claims (JSON text), header {"alg": alg, "kid": kid}. */
static char *with_claims(EVP_PKEY *key, const char *alg, const char *kid, const char *claims)
{
	char header[128];

	snprintf(header, sizeof(header), "{\"alg\":\"%s\",\"kid\":\"%s\"}", alg, kid);
	return mint_jws(key, alg, header, claims, NULL);
}

static char *claims_exp(long exp_in, const char *sub, const char *aud_json)
{
	char *out;

	cr_assert(asprintf(&out, "{\"sub\":\"%s\",\"aud\":%s,\"exp\":%ld}", sub, aud_json,
	                   (long)time(NULL) + exp_in) > 0);
	return out;
}

TestSuite(svid, .init = setup, .fini = teardown);

Test(svid, every_algorithm_spiffe_allows_names_the_workload_by_its_spiffe_id)
{
	static const struct {
		const char *alg, *kid;
	} cases[] = {
	        {"ES256", "k256"}, {"ES384", "k384"}, {"ES512", "k521"},
	        {"RS256", "krsa"}, {"RS384", "krsa"}, {"RS512", "krsa"},
	        {"PS256", "krsa"}, {"PS384", "krsa"}, {"PS512", "krsa"},
	};
	struct auth_set *set = svid_set();
	struct auth_identity id;
	char *tok;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		EVP_PKEY *k = cases[i].kid[1] == 'r'   ? krsa
		              : cases[i].kid[1] == '2' ? k256
		              : cases[i].kid[1] == '3' ? k384
		                                       : k521;

		assert_accepted(set, mint_svid(k, cases[i].alg, cases[i].kid, APP, AUD, 300), APP,
		                cases[i].alg);
	}
	/* typ may be absent or JOSE; aud may be a string or hold ours among others;
	 * no iat is fine. */
	tok = claims_exp(60, APP, "\"tessera\"");
	assert_accepted(set,
	                mint_jws(k256, "ES256",
	                         "{\"alg\":\"ES256\",\"kid\":\"k256\",\"typ\":\"JOSE\"}", tok,
	                         NULL),
	                APP, "typ JOSE, aud a string");
	free(tok);
	tok = claims_exp(60, "spiffe://example.org/ns/prod/sa/web", "[\"x\",\"tessera\"]");
	assert_accepted(set, with_claims(k256, "ES256", "k256", tok),
	                "spiffe://example.org/ns/prod/sa/web", "aud among others");
	free(tok);
	/* The admin list holds SPIFFE IDs. */
	tok = mint_svid(k256, "ES256", "k256", "spiffe://example.org/admin", AUD, 60);
	cr_assert_eq(try(set, tok, &id), TS_OK);
	cr_assert(id.is_admin);
	auth_identity_clear(&id);
	free(tok);
	/* A token of the other trust domain, with its own key. */
	assert_accepted(set, mint_svid(kother, "ES256", "kother", "spiffe://other.test/x", AUD, 60),
	                "spiffe://other.test/x", "other trust domain");
	auth_set_free(set);
}

Test(svid, algorithms_outside_the_allow_list_are_refused)
{
	struct auth_set *set = svid_set();
	char *claims = claims_exp(300, APP, "[\"tessera\"]"), *jwk = mint_jwk(k256, "k256");

	assert_refused(set,
	               mint_jws(NULL, "none", "{\"alg\":\"none\",\"kid\":\"k256\"}", claims, NULL),
	               "alg none");
	/* The classic confusion: HMAC keyed with the public key's text. */
	assert_refused(set,
	               mint_jws(NULL, "HS256", "{\"alg\":\"HS256\",\"kid\":\"k256\"}", claims, jwk),
	               "HS256 keyed with the JWK");
	assert_refused(
	        set, mint_jws(k256, "ES256", "{\"alg\":\"EdDSA\",\"kid\":\"k256\"}", claims, NULL),
	        "EdDSA");
	assert_refused(
	        set, mint_jws(k256, "ES256", "{\"alg\":\"es256\",\"kid\":\"k256\"}", claims, NULL),
	        "alg in lower case");
	/* An allowed algorithm that does not fit the key. */
	assert_refused(set, with_claims(k256, "ES384", "k256", claims), "ES384 header, P-256 key");
	assert_refused(set, with_claims(krsa, "PS256", "k256", claims), "PS256 with an EC kid");
	assert_refused(set, with_claims(k256, "ES256", "krsa", claims), "ES256 with an RSA kid");
	/* RS256 signature presented as PS256 and the other way round. */
	{
		char *t = with_claims(krsa, "RS256", "krsa", claims), *dot = strchr(t, '.');
		const char *ps = "{\"alg\":\"PS256\",\"kid\":\"krsa\"}";
		char *h = b64url_encode(ps, strlen(ps)), *swapped;

		cr_assert(asprintf(&swapped, "%s%s", h, dot) > 0);
		assert_refused(set, swapped, "RS256 signature under a PS256 header");
		free(h);
		free(t);
	}
	free(jwk);
	free(claims);
	auth_set_free(set);
}

Test(svid, headers_and_structure_outside_the_spec_are_refused)
{
	struct auth_set *set = svid_set();
	char *claims = claims_exp(300, APP, "[\"tessera\"]"), *t, *bad;

	assert_refused(set, mint_jws(k256, "ES256", "{\"alg\":\"ES256\"}", claims, NULL), "no kid");
	assert_refused(set, with_claims(k256, "ES256", "nope", claims), "kid unknown");
	assert_refused(set,
	               mint_jws(k256, "ES256",
	                        "{\"alg\":\"ES256\",\"kid\":\"k256\",\"jku\":\"https://x\"}",
	                        claims, NULL),
	               "jku header");
	assert_refused(set,
	               mint_jws(k256, "ES256",
	                        "{\"alg\":\"ES256\",\"kid\":\"k256\",\"crit\":[\"exp\"]}", claims,
	                        NULL),
	               "crit header");
	assert_refused(set,
	               mint_jws(k256, "ES256",
	                        "{\"alg\":\"ES256\",\"kid\":\"k256\",\"typ\":\"at+jwt\"}", claims,
	                        NULL),
	               "typ at+jwt");
	assert_refused(set,
	               mint_jws(k256, "ES256",
	                        "{\"alg\":\"ES256\",\"kid\":\"k256\",\"alg\":\"none\"}", claims,
	                        NULL),
	               "duplicate alg");
	t = with_claims(k256, "ES256", "k256", claims);
	cr_assert(asprintf(&bad, "%s.AAAA", t) > 0);
	assert_refused(set, bad, "four parts");
	bad = strdup(t);
	*strrchr(bad, '.') = '\0';
	assert_refused(set, bad, "two parts");
	/* The signature damaged; the payload changed under the signature. */
	bad = strdup(t);
	bad[strlen(bad) - 5] = bad[strlen(bad) - 5] == 'A' ? 'B' : 'A';
	assert_refused(set, bad, "a damaged signature");
	{
		char *other = claims_exp(300, "spiffe://example.org/admin", "[\"tessera\"]");
		char *p = b64url_encode(other, strlen(other)), *d1 = strchr(t, '.'),
		     *d2 = strrchr(t, '.');

		cr_assert(asprintf(&bad, "%.*s.%s%s", (int)(d1 - t), t, p, d2) > 0);
		assert_refused(set, bad, "a payload swapped under the signature");
		free(p);
		free(other);
	}
	free(t);
	assert_refused(set, strdup(""), "empty");
	assert_refused(set, strdup("not a token"), "garbage");
	{
		struct auth_identity id;

		/* As Parsec: auth bytes that are not UTF-8 are InvalidEncoding. */
		cr_assert_eq(try(set, "\xff\xfe.a.b", &id), TS_E_INVALID_ENCODING);
	}
	free(claims);
	auth_set_free(set);
}

Test(svid, claims_outside_the_spec_are_refused)
{
	static const char *const not_ids[] = {
	        "app",
	        "https://example.org/app",
	        "SPIFFE://example.org/app",
	        "spiffe://Example.org/app",
	        "spiffe://example.org",
	        "spiffe://example.org/",
	        "spiffe://example.org/app/",
	        "spiffe://example.org//app",
	        "spiffe://example.org/./app",
	        "spiffe://example.org/../app",
	        "spiffe://example.org/a?b",
	        "spiffe://example.org:8080/app",
	        "spiffe://user@example.org/app",
	        "spiffe:///app",
	};
	struct auth_set *set = svid_set();
	char *c;

	for (size_t i = 0; i < sizeof(not_ids) / sizeof(not_ids[0]); i++)
		assert_refused(set, mint_svid(k256, "ES256", "k256", not_ids[i], AUD, 300),
		               not_ids[i]);
	/* A trust domain with no bundle, whatever key signs. */
	assert_refused(set, mint_svid(k256, "ES256", "k256", "spiffe://example.com/app", AUD, 300),
	               "trust domain without a bundle");
	/* Another trust domain's key: under its own kid, and under a kid both
	 * bundles have. */
	assert_refused(set, mint_svid(kother, "ES256", "kother", APP, AUD, 300),
	               "other.test's key for an example.org ID");
	assert_refused(set, mint_svid(kother, "ES256", "shared", APP, AUD, 300),
	               "other.test's key under a kid example.org has too");
	assert_refused(set, mint_svid(k256, "ES256", "shared", "spiffe://other.test/x", AUD, 300),
	               "example.org's key under other.test's kid");
	/* Time: expired past the skew, expired within it, no exp, nbf ahead. */
	assert_refused(set, mint_svid(k256, "ES256", "k256", APP, AUD, -SKEW - 5), "expired");
	c = claims_exp(-SKEW + 10, APP, "\"" AUD "\"");
	assert_accepted(set, with_claims(k256, "ES256", "k256", c), APP, "expired within the skew");
	free(c);
	assert_refused(
	        set,
	        with_claims(k256, "ES256", "k256", "{\"sub\":\"" APP "\",\"aud\":[\"" AUD "\"]}"),
	        "no exp");
	assert_refused(set,
	               with_claims(k256, "ES256", "k256",
	                           "{\"sub\":\"" APP "\",\"aud\":[\"" AUD
	                           "\"],\"exp\":\"9999999999\"}"),
	               "exp a string");
	cr_assert(asprintf(&c, "{\"sub\":\"%s\",\"aud\":\"%s\",\"exp\":%ld,\"nbf\":%ld}", APP, AUD,
	                   (long)time(NULL) + 600, (long)time(NULL) + 300) > 0);
	assert_refused(set, with_claims(k256, "ES256", "k256", c), "nbf ahead");
	free(c);
	/* Audience: another, none, an empty list, a number. */
	assert_refused(set, mint_svid(k256, "ES256", "k256", APP, "tesserad", 300), "aud mismatch");
	c = claims_exp(300, APP, "[]");
	assert_refused(set, with_claims(k256, "ES256", "k256", c), "aud empty");
	free(c);
	c = claims_exp(300, APP, "7");
	assert_refused(set, with_claims(k256, "ES256", "k256", c), "aud a number");
	free(c);
	cr_assert(asprintf(&c, "{\"sub\":\"%s\",\"exp\":%ld}", APP, (long)time(NULL) + 300) > 0);
	assert_refused(set, with_claims(k256, "ES256", "k256", c), "no aud");
	free(c);
	cr_assert(asprintf(&c, "{\"aud\":\"%s\",\"exp\":%ld}", AUD, (long)time(NULL) + 300) > 0);
	assert_refused(set, with_claims(k256, "ES256", "k256", c), "no sub");
	free(c);
	auth_set_free(set);
}

Test(svid, a_rotated_bundle_is_read_at_the_next_request)
{
	struct auth_set *set = svid_set();
	EVP_PKEY *knew = mint_key("P-256");
	char *old_tok = mint_svid(k256, "ES256", "k256", APP, AUD, 300);
	char *new_tok = mint_svid(knew, "ES256", "knew", APP, AUD, 300);
	struct auth_identity id;

	cr_assert_not_null(knew);
	cr_assert_eq(try(set, old_tok, &id), TS_OK);
	auth_identity_clear(&id);
	cr_assert_eq(try(set, new_tok, &id), TS_E_AUTHENTICATION_ERROR);
	/* The new key is published next to the old one (a new file renamed in). */
	write_bundle(path_a, (EVP_PKEY *[]){k256, knew}, (const char *[]){"k256", "knew"}, 2);
	cr_assert_eq(try(set, new_tok, &id), TS_OK, "the new key is not used");
	auth_identity_clear(&id);
	cr_assert_eq(try(set, old_tok, &id), TS_OK);
	auth_identity_clear(&id);
	/* The old key is withdrawn: its tokens stop at once, though unexpired. */
	write_bundle(path_a, (EVP_PKEY *[]){knew}, (const char *[]){"knew"}, 1);
	cr_assert_eq(try(set, old_tok, &id), TS_E_AUTHENTICATION_ERROR, "a removed key is used");
	cr_assert_eq(try(set, new_tok, &id), TS_OK);
	auth_identity_clear(&id);
	/* Rewritten in place rather than renamed: read again too. */
	{
		char *jwk = mint_jwk(k256, "k256"), *jwks = mint_jwks((const char *const *)&jwk, 1);
		FILE *f = fopen(path_a, "w");

		cr_assert_not_null(f);
		fputs(jwks, f);
		fclose(f);
		free(jwk);
		free(jwks);
	}
	cr_assert_eq(try(set, old_tok, &id), TS_OK, "an in-place rewrite is not read");
	auth_identity_clear(&id);
	cr_assert_eq(try(set, new_tok, &id), TS_E_AUTHENTICATION_ERROR);
	/* The kid now names another key: a token verified (and remembered)
	 * under the old key is refused, not answered from the cache. */
	cr_assert_eq(try(set, old_tok, &id), TS_OK);
	auth_identity_clear(&id);
	write_bundle(path_a, (EVP_PKEY *[]){knew}, (const char *[]){"k256"}, 1);
	cr_assert_eq(try(set, old_tok, &id), TS_E_AUTHENTICATION_ERROR,
	             "a remembered token outlived its key");
	free(old_tok);
	free(new_tok);
	EVP_PKEY_free(knew);
	auth_set_free(set);
}

Test(svid, a_bundle_that_breaks_or_goes_refuses_its_trust_domain_until_it_is_back)
{
	struct auth_set *set = svid_set();
	char *tok = mint_svid(k256, "ES256", "k256", APP, AUD, 300);
	char *other = mint_svid(kother, "ES256", "kother", "spiffe://other.test/x", AUD, 300);
	struct auth_identity id;

	cr_assert_eq(mint_write(path_a, "{\"keys\": [{\"kty\": \"EC\""), 0);
	cr_assert_eq(try(set, tok, &id), TS_E_AUTHENTICATION_ERROR,
	             "a broken bundle still trusted");
	cr_assert_eq(try(set, other, &id), TS_OK, "another trust domain is affected");
	auth_identity_clear(&id);
	write_bundle(path_a, (EVP_PKEY *[]){k256}, (const char *[]){"k256"}, 1);
	cr_assert_eq(try(set, tok, &id), TS_OK, "a repaired bundle is not read");
	auth_identity_clear(&id);
	cr_assert_eq(unlink(path_a), 0);
	cr_assert_eq(try(set, tok, &id), TS_E_AUTHENTICATION_ERROR,
	             "a removed bundle still trusted");
	write_bundle(path_a, (EVP_PKEY *[]){k256}, (const char *[]){"k256"}, 1);
	cr_assert_eq(try(set, tok, &id), TS_OK);
	auth_identity_clear(&id);
	free(tok);
	free(other);
	auth_set_free(set);
}

/* Each broken bundle refuses the authenticator at start, naming the file. */
Test(svid, malformed_bundles_are_refused_at_start_naming_the_file)
{
	EVP_PKEY *small = mint_key("RSA1024");
	char *small_jwk = mint_jwk(small, "small"), *good = mint_jwk(k256, "k256");
	char *off_curve, *dup, *cases[10];
	const char *x = strstr(good, "\"x\": \"") + 6;
	struct auth_set *set;

	/* The same x with a y of the right length that is not on the curve. */
	cr_assert(asprintf(&off_curve,
	                   "{\"keys\": [{\"kty\": \"EC\", \"use\": \"jwt-svid\", \"kid\": \"a\", "
	                   "\"crv\": \"P-256\", \"x\": \"%.43s\", \"y\": "
	                   "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE\"}]}",
	                   x) > 0);
	cr_assert(asprintf(&dup, "{\"keys\": [%s, %s]}", good, good) > 0);
	cases[0] = strdup("not json");
	cases[1] = strdup("[]");
	cases[2] = strdup("{\"spiffe_sequence\": 3}");
	cases[3] = strdup("{\"keys\": {}}");
	cases[4] = off_curve;
	cases[5] = dup;
	cases[6] = NULL;
	cr_assert(asprintf(&cases[6], "{\"keys\": [%s]}", small_jwk) > 0);
	cases[7] =
	        strdup("{\"keys\": [{\"kty\": \"EC\", \"use\": \"jwt-svid\", \"crv\": \"P-256\", "
	               "\"x\": \"AA\", \"y\": \"AA\"}]}");
	cases[8] = strdup("{\"keys\": [{\"kty\": \"EC\", \"use\": \"jwt-svid\", \"kid\": \"a\", "
	                  "\"crv\": \"P-256K\", \"x\": \"AA\", \"y\": \"AA\"}]}");
	cases[9] = strdup("{\"keys\": [{\"kty\": \"RSA\", \"use\": \"jwt-svid\", \"kid\": \"a\", "
	                  "\"n\": \"AA==\", \"e\": \"AQAB\"}]}");
	for (size_t i = 0; i < 10; i++) {
		cr_assert_eq(mint_write(path_a, cases[i]), 0);
		cr_assert_eq(make_set(&set, 1), TS_E_CONFIG, "case %zu accepted: %s", i, cases[i]);
		cr_assert(strstr(init_err, "bundles[0].path") != NULL && strstr(init_err, path_a),
		          "case %zu: %s", i, init_err);
		auth_set_free(set);
		free(cases[i]);
	}
	/* No file at all. */
	cr_assert_eq(unlink(path_a), 0);
	cr_assert_eq(make_set(&set, 1), TS_E_CONFIG);
	cr_assert(strstr(init_err, "cannot open") != NULL, "%s", init_err);
	auth_set_free(set);
	/* Keys for X.509-SVIDs and types we do not know are skipped, as the
	 * bundle spec asks; the jwt-svid key next to them is used. */
	{
		char *jwks;
		char *tok = mint_svid(k256, "ES256", "k256", APP, AUD, 60);
		struct auth_identity id;

		cr_assert(
		        asprintf(&jwks,
		                 "{\"spiffe_refresh_hint\": 300, \"keys\": [{\"kty\": \"RSA\", "
		                 "\"use\": \"x509-svid\", \"x5c\": [\"AA\"], \"n\": \"AA\", \"e\": "
		                 "\"AQAB\"}, {\"kty\": \"OKP\", \"use\": \"jwt-svid\", \"kid\": "
		                 "\"ed\", \"crv\": \"Ed25519\", \"x\": \"AA\"}, %s]}",
		                 good) > 0);
		cr_assert_eq(mint_write(path_a, jwks), 0);
		cr_assert_eq(make_set(&set, 1), TS_OK, "%s", init_err);
		cr_assert_eq(try(set, tok, &id), TS_OK);
		auth_identity_clear(&id);
		auth_set_free(set);
		free(jwks);
		free(tok);
	}
	EVP_PKEY_free(small);
	free(small_jwk);
	free(good);
}

/* spiffe-helper's jwt_bundle_file_name holds the Workload API's bundle set:
 * each trust domain's JWKS in standard base64. */
Test(svid, a_bundle_set_as_spiffe_helper_writes_it_is_read_for_the_configured_trust_domain)
{
	char *jwk = mint_jwk(k256, "k256"), *jwks = mint_jwks((const char *const *)&jwk, 1);
	char *other_jwk = mint_jwk(kother, "k256"),
	     *other = mint_jwks((const char *const *)&other_jwk, 1);
	unsigned char b64[4096], b64o[4096];
	char *set_text;
	struct auth_set *set;
	struct auth_identity id;
	char *tok = mint_svid(k256, "ES256", "k256", APP, AUD, 60);
	char *forged = mint_svid(kother, "ES256", "k256", APP, AUD, 60);

	cr_assert_lt(strlen(jwks), 3000);
	EVP_EncodeBlock(b64, (const unsigned char *)jwks, (int)strlen(jwks));
	EVP_EncodeBlock(b64o, (const unsigned char *)other, (int)strlen(other));
	/* The other trust domain's entry carries another key under the same kid. */
	cr_assert(asprintf(&set_text, "{\"other.test\": \"%s\", \"example.org\": \"%s\"}", b64o,
	                   b64) > 0);
	cr_assert_eq(mint_write(path_a, set_text), 0);
	cr_assert_eq(make_set(&set, 1), TS_OK, "%s", init_err);
	cr_assert_eq(try(set, tok, &id), TS_OK);
	auth_identity_clear(&id);
	cr_assert_eq(try(set, forged, &id), TS_E_AUTHENTICATION_ERROR,
	             "another entry of the set was used");
	auth_set_free(set);
	free(set_text);
	/* A set without the configured trust domain, or an entry not base64. */
	cr_assert(asprintf(&set_text, "{\"other.test\": \"%s\"}", b64o) > 0);
	cr_assert_eq(mint_write(path_a, set_text), 0);
	cr_assert_eq(make_set(&set, 1), TS_E_CONFIG);
	cr_assert(strstr(init_err, "example.org") != NULL, "%s", init_err);
	auth_set_free(set);
	free(set_text);
	cr_assert_eq(mint_write(path_a, "{\"example.org\": \"!!!!\"}"), 0);
	cr_assert_eq(make_set(&set, 1), TS_E_CONFIG);
	auth_set_free(set);
	free(jwk);
	free(jwks);
	free(other_jwk);
	free(other);
	free(tok);
	free(forged);
}
