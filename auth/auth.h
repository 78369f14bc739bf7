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
};

/* An authenticated caller. name is NULL for NoAuth. */
struct auth_identity {
	uint8_t auth_type;
	char *name;
	bool is_admin;
};

/* Free the name and reset the identity. NULL ok. */
void auth_identity_clear(struct auth_identity *id);

/* Settings of one enabled authenticator. */
struct auth_settings {
	const char *const *admins; /* identity names that are admins */
	size_t n_admins;
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

#endif
