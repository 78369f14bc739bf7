/*
 * libtessera: the C client library of Tessera.
 *
 * Speaks the Parsec wire protocol 1.0, so it also works against a Parsec
 * service (persistent connections then fall back to one request per
 * connection transparently, because Parsec closes after each response).
 *
 * Return values: TESSERA_OK (0) on success; a positive value is the Parsec
 * status the daemon answered with (e.g. 21 AdminOperation, 1140
 * PsaErrorDoesNotExist); a negative value is a local or transport error
 * (TESSERA_ERR_*). tessera_strerror() names both kinds.
 *
 * A client is not thread-safe: use one per thread.
 */
#ifndef TESSERA_CLIENT_TESSERA_H
#define TESSERA_CLIENT_TESSERA_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TESSERA_OK            0
#define TESSERA_ERR_CONNECT   (-1) /* could not connect to the endpoint */
#define TESSERA_ERR_IO        (-2) /* read/write failed, or the daemon closed before a whole response */
#define TESSERA_ERR_TIMEOUT   (-3) /* no whole response within timeout_ms */
#define TESSERA_ERR_PROTOCOL  (-4) /* malformed response */
#define TESSERA_ERR_NOMEM     (-5)
#define TESSERA_ERR_TOO_LARGE (-6) /* response body over max_response */
#define TESSERA_ERR_ARG       (-7) /* bad argument (e.g. an endpoint that is not "unix:/path") */

/* The endpoint used when neither the options nor $PARSEC_SERVICE_ENDPOINT name one. */
#define TESSERA_DEFAULT_ENDPOINT "unix:/run/tessera/api.sock"

#define TESSERA_AUTH_NONE      0
#define TESSERA_AUTH_DIRECT    1
#define TESSERA_AUTH_UNIX_PEER 3

struct tessera_options {
	/* "unix:/path"; NULL: $PARSEC_SERVICE_ENDPOINT, else TESSERA_DEFAULT_ENDPOINT. */
	const char *endpoint;
	/* TESSERA_AUTH_NONE, _DIRECT or _UNIX_PEER. */
	uint8_t auth_type;
	/* Direct only: the application name sent as the auth bytes. */
	const char *app_name;
	/* Bound on each whole request (connect, send, receive); 0 = 60000. */
	unsigned timeout_ms;
	/* Largest response body accepted; 0 = 16 MiB. */
	size_t max_response;
	/* 1: keep one connection open across requests (a Tessera extension) and
	 * reconnect once, transparently, if the daemon closed it; 0: one
	 * connection per request, as Parsec clients do. */
	int persistent;
};

struct tessera_client;

/* Fill o with the defaults: no endpoint (environment or default), UnixPeer
 * authentication, 60 s timeout, 16 MiB responses, persistent connection. */
void tessera_options_init(struct tessera_options *o);

/*
 * Make a client. It copies the options and connects lazily, at the first
 * request. TESSERA_OK and *ret_client; TESSERA_ERR_ARG for a malformed
 * endpoint, a path longer than a Unix socket address holds, an unknown auth
 * type or Direct without an application name; TESSERA_ERR_NOMEM.
 */
int tessera_open(const struct tessera_options *o, struct tessera_client **ret_client);

/* Close the connection and free the client. NULL ok. */
void tessera_close(struct tessera_client *c);

/* A static string for any return value: "success", a TESSERA_ERR_* reason,
 * or the Parsec status name ("PsaErrorNotPermitted"). */
const char *tessera_strerror(int rc);

/* The endpoint the client talks to (for messages). */
const char *tessera_endpoint(const struct tessera_client *c);

/*
 * One request with a ready-made protobuf body. Returns the response status
 * (TESSERA_OK or a positive Parsec status) with the response body in
 * *ret_body (malloc'd, NULL when empty; free() it) and *ret_len; or a
 * negative TESSERA_ERR_* with *ret_body untouched.
 */
int tessera_request(struct tessera_client *c, uint8_t provider, uint32_t opcode,
                    const uint8_t *body, size_t body_len, uint8_t **ret_body, size_t *ret_len);

/* Ping: the highest wire protocol version the daemon speaks. */
int tessera_ping(struct tessera_client *c, uint32_t *ret_maj, uint32_t *ret_min);

struct tessera_provider_info {
	char *uuid;
	char *description;
	char *vendor;
	uint32_t version_maj, version_min, version_rev;
	uint32_t id;
};
/* ListProviders: configured providers in order (the first is the default),
 * the core last. Free with tessera_provider_info_free. */
int tessera_list_providers(struct tessera_client *c, struct tessera_provider_info **ret,
                           size_t *ret_n);
void tessera_provider_info_free(struct tessera_provider_info *p, size_t n);

/* ListOpcodes of one provider, including Tessera's extensions (free() the
 * array). Status 5 (ProviderNotRegistered) or 6 (ProviderDoesNotExist) for a
 * provider the daemon lacks. */
int tessera_list_opcodes(struct tessera_client *c, uint8_t provider, uint32_t **ret, size_t *ret_n);

struct tessera_authenticator_info {
	char *description;
	uint32_t version_maj, version_min, version_rev;
	uint32_t id;
};
/* ListAuthenticators in the daemon's configured order. */
int tessera_list_authenticators(struct tessera_client *c, struct tessera_authenticator_info **ret,
                                size_t *ret_n);
void tessera_authenticator_info_free(struct tessera_authenticator_info *a, size_t n);

struct tessera_key_info {
	uint32_t provider_id;
	char *name;
};
/* ListKeys: the caller's keys (needs an authenticated identity: status 19
 * otherwise). */
int tessera_list_keys(struct tessera_client *c, struct tessera_key_info **ret, size_t *ret_n);
void tessera_key_info_free(struct tessera_key_info *k, size_t n);

/* ListClients (admins only: 19 without identity, 21 for a non-admin). */
int tessera_list_clients(struct tessera_client *c, char ***ret, size_t *ret_n);
void tessera_strv_free(char **v, size_t n);

/* DeleteClient: destroy every key of a client (admins only). */
int tessera_delete_client(struct tessera_client *c, const char *client);

#ifdef __cplusplus
}
#endif

#endif
