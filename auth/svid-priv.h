/* The JwtSvid authenticator's internals (auth/spiffe.c, auth/svid.c). */
#ifndef TESSERA_AUTH_SVID_PRIV_H
#define TESSERA_AUTH_SVID_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include <openssl/evp.h>

#include "auth/auth-priv.h"
#include "common/util.h"

#define SVID_TRUST_DOMAIN_MAX 255

enum svid_key_type {
	SVID_KEY_EC_P256,
	SVID_KEY_EC_P384,
	SVID_KEY_EC_P521,
	SVID_KEY_RSA,
};

/* A JWS algorithm and the key it needs. */
struct svid_alg {
	const char *name;
	enum svid_key_type key_type;
	bool pss;
};

/* The JWT-SVID specification's algorithms, NULL-ended; svid_alg_names are
 * their names in the same order, for jws_header_check. */
extern const struct svid_alg svid_algs[];
extern const char *const svid_alg_names[];

struct svid_key {
	char *kid;
	enum svid_key_type type;
	EVP_PKEY *pkey;
};

/* The jwt-svid keys of one bundle. */
struct svid_keys {
	struct svid_key *v;
	size_t n;
};

/* A trust domain name: 1 to 255 of [a-z0-9._-]. */
bool svid_trust_domain_ok(const char *td, size_t len);

/* The length of the trust domain of a SPIFFE ID with a path
 * ("spiffe://td/seg/..."; the trust domain starts at id + 9), or 0 when id
 * is not one. */
size_t svid_id_trust_domain(const char *id, size_t len);

/* Parse a JWK Set: its jwt-svid keys of type EC (P-256, P-384, P-521, the
 * point checked) or RSA (2048 to 8192 bits), each with a unique kid; keys of
 * other uses or types are skipped. With trust_domain, the text may instead
 * be a bundle set as spiffe-helper writes it ({"<trust domain>": "<base64
 * of the JWKS>"}), and trust_domain's entry is used. TS_OK and *ret (free it
 * with svid_keys_free); TS_E_CONFIG with the reason in err; TS_E_NOMEM. */
enum ts_err svid_keys_parse(const char *text, size_t len, const char *trust_domain,
                            struct svid_keys **ret, char *err, size_t errlen);

/* Read and parse a bundle file (a regular file of at most 1 MiB). TS_OK,
 * *ret and the fstat of what was read in *ret_st; TS_E_CONFIG with the
 * reason in err; TS_E_NOMEM. */
enum ts_err svid_keys_load(const char *path, const char *trust_domain, struct svid_keys **ret,
                           struct stat *ret_st, char *err, size_t errlen);
void svid_keys_free(struct svid_keys *k);

/* The key with this kid, or NULL. */
const struct svid_key *svid_keys_find(const struct svid_keys *k, const char *kid);

/* The signature of msg under alg with pkey, a key of type (which alg must
 * need): true when it verifies. */
bool svid_signature_ok(EVP_PKEY *pkey, enum svid_key_type type, const struct svid_alg *alg,
                       const uint8_t *msg, size_t msg_len, const uint8_t *sig, size_t sig_len);

#endif
