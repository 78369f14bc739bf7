/*
 * Test helper: SPIFFE JWT bundles and JWT-SVIDs made with OpenSSL, good
 * ones and hostile ones (tests/unit/test_svid.c, tests/e2e/test_svid.c).
 */
#ifndef TESSERA_TESTS_SVID_MINT_H
#define TESSERA_TESTS_SVID_MINT_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

/* A new key: "P-256", "P-384", "P-521", "RSA2048", "RSA3072" or "RSA1024". */
EVP_PKEY *mint_key(const char *kind);

/* One public JWK (malloc'd JSON text) with "use": "jwt-svid" and kid. */
char *mint_jwk(EVP_PKEY *key, const char *kid);

/* {"spiffe_sequence": 1, "keys": [jwks...]} (malloc'd). */
char *mint_jwks(const char *const *jwks, size_t n);

/* Write text to path through a temporary file and rename (0, or -1). */
int mint_write(const char *path, const char *text);

/* Write a bundle of n keys (at most 8) under these kids to path (0, or -1). */
int mint_bundle(const char *path, EVP_PKEY *const *keys, const char *const *kids, size_t n);

/*
 * A compact JWS (malloc'd) of header and claims (JSON texts, encoded as
 * given) signed with sign_alg: ES256/384/512, RS256/384/512, PS256/384/512
 * with key; "HS256" with the bytes hmac_secret as an HMAC key; "none" for an
 * empty signature.
 */
char *mint_jws(EVP_PKEY *key, const char *sign_alg, const char *header, const char *claims,
               const char *hmac_secret);

/* A JWT-SVID: header {"alg": alg, "kid": kid, "typ": "JWT"}, claims
 * {"sub": sub, "aud": [aud], "exp": now + exp_in, "iat": now}. */
char *mint_svid(EVP_PKEY *key, const char *alg, const char *kid, const char *sub, const char *aud,
                long exp_in);

#endif
