#ifndef TESSERA_AUTH_PRIV_H
#define TESSERA_AUTH_PRIV_H

#include "auth/auth.h"

extern const struct auth_ops auth_direct_ops;
extern const struct auth_ops auth_unix_peer_ops;
extern const struct auth_ops auth_jwt_ops;
extern const struct auth_ops auth_jwt_svid_ops;

/* The current intermediate: kid, public key PEM (malloc'd) and generation.
 * TS_E_AUTHENTICATION_ERROR when there is none; TS_E_NOMEM. */
enum ts_err trust_store_current(struct trust_store *ts, char ret_kid[TRUST_KID_LEN], char **ret_pem,
                                size_t *ret_pem_len, uint64_t *ret_generation);

/*
 * Verified tokens (auth/tokcache.c): by SHA-256 of the token, for one key
 * generation (never 0) and until exp + skew_s. Thread-safe.
 */
struct tok_cache;
enum ts_err tok_cache_new(unsigned skew_s, struct tok_cache **ret);
void tok_cache_free(struct tok_cache *c);
/* SHA-256 of the token; false only when OpenSSL fails. */
bool tok_cache_hash(const uint8_t *token, size_t len, uint8_t ret_hash[32]);
/* A copy of the identity cached for this token and generation, still
 * valid at now; NULL otherwise (or out of memory). */
char *tok_cache_get(struct tok_cache *c, const uint8_t hash[32], uint64_t gen, int64_t now);
/* Remember a verified token (nothing happens when out of memory). */
void tok_cache_put(struct tok_cache *c, const uint8_t hash[32], uint64_t gen, int64_t exp,
                   const char *name);

/*
 * The pieces of compact JWS verification (auth/jws.c) that the Jwt and
 * JwtSvid authenticators share.
 */
struct json_t;
struct jws_parts {
	struct json_t *header; /* the protected header, a JSON object */
	struct json_t *claims; /* the payload, a JSON object */
	size_t signed_len;     /* the signing input: the token's first signed_len bytes */
	uint8_t *sig;          /* the decoded signature (malloc'd) */
	size_t sig_len;
};

/* Split a compact JWS of at most JWS_MAX_LEN bytes into exactly three
 * parts: strict base64url, header and payload JSON objects without
 * duplicate names, a non-empty signature of at most max_sig bytes. TS_OK
 * and *ret (free it with jws_parts_clear); TS_E_AUTHENTICATION_ERROR for
 * anything else; TS_E_NOMEM. */
enum ts_err jws_parse(const char *token, size_t len, size_t max_sig, struct jws_parts *ret);
void jws_parts_clear(struct jws_parts *p);

/* The header holds only alg, kid and typ; alg is one of algs (NULL-ended);
 * typ, when present, one of typs; kid, when present, a non-empty string.
 * The index of alg in algs and *ret_kid (borrowed from h, NULL when
 * absent); -1 for any other header. */
int jws_header_check(const struct json_t *h, const char *const *algs, const char *const *typs,
                     const char **ret_kid);

/* exp present, iat present unless pol->iat_optional, exp/nbf/iat within
 * pol->skew_s of now, then iss, aud and sub as pol asks. */
bool jws_claims_ok(const struct json_t *c, const struct jws_policy *pol, int64_t now);

#endif
