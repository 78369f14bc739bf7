/* tesserad internals: shared by the daemon's own files only. */
#ifndef TESSERA_DAEMON_PRIV_H
#define TESSERA_DAEMON_PRIV_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "auth/auth.h"
#include "config/config.h"
#include "providers/provider.h"
#include "wire/wire.h"

/* A configured crypto provider. */
struct svc_provider {
	const struct prov_ops *ops;
	void *ctx;
	char *name;
};

/*
 * Everything a request needs, built from one configuration. Workers hold a
 * reference for the duration of a request, so a reload can swap in a new
 * state while old requests finish on the old one.
 */
struct ks;

struct svc_state {
	atomic_int refs;
	struct ts_config *cfg;
	struct ks *ks;             /* borrowed: the key store outlives every state */
	struct trust_store *trust; /* borrowed, likewise: a root is kept for the process lifetime */
	struct auth_set *auth;
	struct svc_provider *providers; /* config order */
	size_t n_providers;
};

/* Build a state from a config (taking ownership of cfg on success). TS_OK, or
 * an error with a message in err. */
enum ts_err svc_state_new(struct ts_config *cfg, struct ks *ks, struct trust_store *trust,
                          struct svc_state **ret_st, char *err, size_t errlen);
struct svc_state *svc_state_ref(struct svc_state *st);
void svc_state_unref(struct svc_state *st);
const struct svc_provider *svc_state_provider(const struct svc_state *st, uint8_t id);

/* A complete response, header included, ready to write. */
struct dispatch_reply {
	uint8_t *buf;
	size_t len;
};

/*
 * Steps 8-14 of the request path (authentication onwards) for a request whose
 * header passed the framing checks and whose body and auth bytes (payload,
 * body first) were read whole. Touches no libuv handle. Produces a reply (on
 * allocation failure a static header-only one) and returns true, so the
 * caller can always answer; except that with on_loop set (an event loop runs
 * it) it returns false, having changed nothing and made no reply, when the
 * request's key needs long work: the caller then runs it again on a worker.
 */
bool dispatch_request(struct svc_state *st, const struct auth_peer *peer,
                      const struct wire_header *h, const uint8_t *payload, bool on_loop,
                      struct dispatch_reply *ret_reply);

/* Whether this thread runs a request for an event loop (see key_load). */
bool dispatch_on_loop(void);

/* Free a reply produced by dispatch_request or reply_status. */
void dispatch_reply_free(struct dispatch_reply *r);

/* The bytes to write for a reply (a static header when allocation failed). */
const uint8_t *dispatch_reply_bytes(const struct dispatch_reply *r);

/* Build a header-only reply. When req is NULL, the default header. */
void reply_status(const struct wire_header *req, enum ts_err err, struct dispatch_reply *ret);

/* Core operations (provider 0). Each decodes its body, checks its rules and
 * packs the result; a reply body (malloc'd) goes into *ret_body. */
struct core_ctx {
	struct svc_state *st;
	const struct auth_identity *id;
	const struct auth_peer *peer;
	const ProtobufCMessage *msg; /* the decoded Operation message */
};
enum ts_err core_ping(const struct core_ctx *c, uint8_t **ret_body, size_t *ret_len);
enum ts_err core_list_providers(const struct core_ctx *c, uint8_t **ret_body, size_t *ret_len);
enum ts_err core_list_opcodes(const struct core_ctx *c, uint8_t **ret_body, size_t *ret_len);
enum ts_err core_list_authenticators(const struct core_ctx *c, uint8_t **ret_body, size_t *ret_len);
enum ts_err core_list_keys(const struct core_ctx *c, uint8_t **ret_body, size_t *ret_len);
enum ts_err core_list_clients(const struct core_ctx *c, uint8_t **ret_body, size_t *ret_len);
enum ts_err core_delete_client(const struct core_ctx *c, uint8_t **ret_body, size_t *ret_len);
enum ts_err core_share_trust_bundle(const struct core_ctx *c, uint8_t **ret_body, size_t *ret_len);

/* Key operations (generate, import, destroy, export, sign, verify). */
bool key_op_known(uint32_t opcode);
enum ts_err key_dispatch(struct svc_state *st, const struct svc_provider *p,
                         const struct auth_identity *id, uint32_t opcode, const uint8_t *body,
                         size_t body_len, uint8_t **ret_body, size_t *ret_len);
/* Destroy one key of a tenant in a provider (also used by DeleteClient). */
enum ts_err key_destroy(struct svc_state *st, const struct svc_provider *p, uint8_t auth_type,
                        const char *app, const char *name);

struct ks_record;
struct psa_attrs;
/* A caller's ready key in a provider, with its attributes decoded. TS_OK;
 * TS_E_PSA_DOES_NOT_EXIST; TS_E_PSA_CORRUPTION_DETECTED/DATA_CORRUPT; on an
 * event loop, TS_E_ON_WORKER for a key whose operations take milliseconds. */
enum ts_err key_load(struct svc_state *st, const struct svc_provider *p,
                     const struct auth_identity *id, const char *name, struct ks_record *r,
                     struct psa_attrs *ret_attrs);

/* Encryption, MAC and key agreement with stored keys. */
bool crypt_op_known(uint32_t opcode);
enum ts_err crypt_dispatch(struct svc_state *st, const struct svc_provider *p,
                           const struct auth_identity *id, uint32_t opcode, const uint8_t *body,
                           size_t body_len, uint8_t **ret_body, size_t *ret_len);

/* Crypto operations served without keys (provider != 0). */
enum ts_err crypto_dispatch(struct svc_state *st, const struct svc_provider *p,
                            const struct auth_identity *id, uint32_t opcode, const uint8_t *body,
                            size_t body_len, uint8_t **ret_body, size_t *ret_len);

/* Step 12's parse: unpack a body with a budget that follows its length.
 * NULL when it does not decode (DeserializingBodyFailed). Free with free_body. */
ProtobufCMessage *decode_body(const ProtobufCMessageDescriptor *desc, const uint8_t *body,
                              size_t body_len, struct wire_pb_alloc *alloc);
void free_body(ProtobufCMessage *m, struct wire_pb_alloc *alloc);

/* Decoding budget for one request body: enough for any valid message of that
 * size, never proportional to counts the client declares. */
size_t body_alloc_budget(size_t body_len);

/* ---- the libuv front end ---- */

struct server;

struct server_opts {
	const char *config_path; /* for SIGHUP; NULL: embedded default */
	const char *socket_override;
	bool allow_root_override;
	const char *state_dir; /* overrides key_store.path's directory */
	struct ks *ks;
};

/* Run the daemon until SIGTERM/SIGINT. Returns the process exit code. */
int server_run(struct svc_state *st, const struct server_opts *opts);

/* systemd notification (no-op outside systemd). */
void notify_ready(void);
void notify_reloading(void);
void notify_stopping(void);
void notify_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Turn "0 = automatic" settings (threads, max_in_flight) into numbers. */
void resolve_defaults(struct ts_config *cfg);

/* Apply command-line overrides to a freshly loaded config. 0, or -1 on ENOMEM. */
int apply_overrides(struct ts_config *cfg, const struct server_opts *opts);

#endif
