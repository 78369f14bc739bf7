/*
 * Authenticators: turn a request's auth bytes (and the peer credentials read
 * at accept) into an application identity. Several may be enabled at once;
 * the request's auth type picks one.
 */
#ifndef TESSERA_AUTH_AUTH_H
#define TESSERA_AUTH_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/errors.h"

/* Credentials of the connected peer, from SO_PEERCRED at accept. */
struct auth_peer {
	bool valid;
	pid_t pid;
	uid_t uid;
	gid_t gid;
	/* When the connection was accepted, in the clock ticks since boot that
	 * /proc/PID/stat uses for start times (0: unknown). A process that
	 * started later than this is not the peer but a reuse of its pid. */
	uint64_t accept_ticks;
};

/* An authenticated caller. name is NULL for NoAuth. */
struct auth_identity {
	uint8_t auth_type;
	char *name;
	bool is_admin;
};

/* Free the name and reset the identity. NULL ok. */
void auth_identity_clear(struct auth_identity *id);

struct trust_store;

/* What a JWS must satisfy beyond its signature (auth/jws.c). */
struct jws_policy {
	const char *issuer;   /* "iss" must equal it; NULL: not checked */
	const char *audience; /* "aud" (string or array) must hold it; NULL: not checked */
	unsigned skew_s;      /* tolerance on exp, nbf and iat */
	bool need_sub;        /* "sub": a non-empty printable string */
	bool iat_optional;    /* "iat" may be absent (it is required otherwise) */
};

/* One SPIFFE JWT bundle (a JWKS file) and the trust domain it speaks for. */
struct auth_svid_bundle {
	const char *trust_domain;
	const char *path;
};

/* Settings of one enabled authenticator. */
struct auth_settings {
	const char *const *admins; /* identity names that are admins */
	size_t n_admins;
	/* Jwt only: the store holding the idp's chain (borrowed; it must
	 * outlive the authenticator) and the claims policy. */
	struct trust_store *trust;
	struct jws_policy jwt;
	/* JwtSvid only: the audience that must be in "aud", the skew allowed
	 * on the time claims, and the bundles (borrowed: init copies them). */
	struct {
		const char *audience;
		unsigned skew_s;
		const struct auth_svid_bundle *bundles;
		size_t n_bundles;
	} svid;
	/* Where init may describe why it failed, relative to the
	 * authenticator's configuration ("bundles[1].path: ..."); NULL: not
	 * wanted. */
	char *err;
	size_t errlen;
};

struct auth_ops {
	const char *name;        /* Parsec's name, e.g. "UnixPeerCredentials" */
	const char *description; /* for ListAuthenticators */
	uint8_t auth_type;       /* wire auth type */
	/* Optional. Build per-instance state; TS_OK or an error. */
	enum ts_err (*init)(const struct auth_settings *settings, void **ret_ctx);
	/* Check the auth bytes. TS_OK and a malloc'd *ret_name, or
	 * TS_E_AUTHENTICATION_ERROR / TS_E_INVALID_ENCODING / TS_E_NOMEM. */
	enum ts_err (*authenticate)(void *ctx, const uint8_t *auth, size_t len,
	                            const struct auth_peer *peer, char **ret_name);
	/* Optional. Free what init made. */
	void (*fini)(void *ctx);
};

/* The authenticator implementation for a wire auth type, or NULL when this
 * build has none (NoAuth has none either: it is not an authenticator). */
const struct auth_ops *auth_ops_find(uint8_t auth_type);

struct auth_set;

/* An empty set. TS_OK, or TS_E_NOMEM. */
enum ts_err auth_set_new(struct auth_set **ret_set);

/*
 * Enable an authenticator; the order of calls is the order ListAuthenticators
 * reports. TS_OK; TS_E_AUTHENTICATOR_DOES_NOT_EXIST when this build has no
 * such authenticator; TS_E_CONFIG when it is already in the set; TS_E_NOMEM;
 * or what the authenticator's init returned.
 */
enum ts_err auth_set_add(struct auth_set *set, uint8_t auth_type,
                         const struct auth_settings *settings);

/* Free the set and every authenticator in it. NULL ok. */
void auth_set_free(struct auth_set *set);

/* Number of enabled authenticators, and the i-th in configured order (NULL
 * past the end). */
size_t auth_set_count(const struct auth_set *set);
const struct auth_ops *auth_set_get(const struct auth_set *set, size_t i);

/*
 * Authenticate a request. NoAuth (0) always succeeds with no identity
 * (ret_id->name NULL). Otherwise TS_OK with the identity and its admin flag;
 * TS_E_AUTHENTICATOR_NOT_REGISTERED when the type is not enabled;
 * TS_E_AUTHENTICATION_ERROR (or TS_E_INVALID_ENCODING) when the bytes are
 * rejected; TS_E_NOMEM. ret_id is untouched on failure. Thread-safe.
 */
enum ts_err auth_set_authenticate(const struct auth_set *set, uint8_t auth_type,
                                  const uint8_t *auth, size_t len, const struct auth_peer *peer,
                                  struct auth_identity *ret_id);

/*
 * Trust bundles (auth/trust.c): the trusting side of a trust relationship.
 * The first root certificate shared by the configured peer is kept for the
 * life of the process; intermediates must chain to it and each new one
 * replaces the previous at once. Thread-safe.
 */

/* A store that accepts bundles only from a peer with this uid (and gid,
 * when gid is not (gid_t)-1). TS_OK or TS_E_NOMEM. */
enum ts_err trust_store_new(uid_t peer_uid, gid_t peer_gid, struct trust_store **ret_ts);
void trust_store_free(struct trust_store *ts);

/*
 * Accept one DER certificate from peer. TS_OK; TS_E_PSA_NOT_PERMITTED when
 * the peer is not the configured one; TS_E_PSA_ALREADY_EXISTS for a second
 * root; TS_E_PSA_BAD_STATE for an intermediate before any root;
 * TS_E_PSA_INVALID_ARGUMENT for a certificate that does not parse, is not
 * ECDSA P-256, is outside its validity or (root) is not a self-signed CA;
 * TS_E_PSA_INVALID_SIGNATURE for an intermediate that does not chain to the
 * root; TS_E_NOMEM. On failure the store is unchanged.
 */
enum ts_err trust_store_share(struct trust_store *ts, const struct auth_peer *peer,
                              const uint8_t *der, size_t len, bool root);

/* Number of intermediates accepted so far (0: none yet). Any change of it
 * invalidates what was verified against an earlier one. */
uint64_t trust_store_generation(struct trust_store *ts);

/* True once a root has been accepted. */
bool trust_store_has_root(struct trust_store *ts);

/* "kid" of a certificate: lowercase hex SHA-256 of its DER (65 bytes with
 * the NUL). */
#define TRUST_KID_LEN 65
void trust_kid(const uint8_t *der, size_t len, char ret_kid[TRUST_KID_LEN]);

/*
 * Compact JWS verification (auth/jws.c) against the store's current
 * intermediate: strict base64url, header and payload JSON objects without
 * duplicate names, alg ES256 only, kid = the intermediate's, no crit, the
 * signature (checked by libjwt), exp and iat present and nbf/exp/iat within
 * skew of now, then the policy. TS_OK with the claims (a jansson object:
 * json_decref it) and the generation they were verified against;
 * TS_E_AUTHENTICATION_ERROR for any rejection; TS_E_NOMEM.
 */
/* base64url without padding (RFC 7515): encode len bytes into a malloc'd,
 * NUL-terminated string (NULL when out of memory); decode strictly — any
 * other character, a length no encoding produces, or non-zero bits after the
 * last byte is -1 — into out (at least len * 3 / 4 bytes), 0 on success. */
char *b64url_encode(const void *p, size_t len);
int b64url_decode(const char *in, size_t len, uint8_t *out, size_t *ret_len);

#define JWS_MAX_LEN 8192
struct json_t;
enum ts_err jws_verify(struct trust_store *ts, const char *token, size_t len,
                       const struct jws_policy *pol, int64_t now, struct json_t **ret_claims,
                       uint64_t *ret_generation);

#endif
