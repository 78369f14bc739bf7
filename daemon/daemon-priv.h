/* tesserad internals: shared by the daemon's own files only. */
#ifndef TESSERA_DAEMON_PRIV_H
#define TESSERA_DAEMON_PRIV_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "auth/auth.h"
#include "keystore/keystore.h"
#include "config/config.h"
#include "providers/provider.h"
#include "wire/wire.h"

/*
 * A configured provider instance. Instances are made once at start-up and
 * live as long as the process: a reload keeps them (svc_providers_differ
 * says what it would have changed).
 */
struct svc_provider {
	const struct prov_ops *ops;
	void *ctx;
	char *name;     /* the configuration's unique name; the key store's key */
	char *settings; /* as configured (compact JSON), to compare at reload */
	uint8_t wire_id;
	bool extension;          /* a second instance of a type: listed on request only */
	unsigned max_concurrent; /* 0: no limit */
	size_t max_payload;      /* 0: no limit */
	atomic_uint running;     /* calls on workers now (the scheduler counts) */
};

struct svc_providers {
	struct svc_provider *v; /* configuration order: the first is the default */
	size_t n;
};

/* Extension instances take wire IDs from here on, in configuration order
 * (Parsec clients reject IDs above 5 in ListProviders, so these are listed
 * only when the request asks for extensions). */
#define SVC_WIRE_ID_EXT_FIRST 0x80u
#define SVC_WIRE_ID_EXT_LAST  0xBFu

/* Start every configured provider instance. TS_OK; or an error with a
 * message naming the provider's key path in err (nothing is left running). */
enum ts_err svc_providers_new(const struct ts_config *cfg, struct svc_providers **ret, char *err,
                              size_t errlen);
/* Instances made by the caller (tests): takes the array, sets wire IDs. */
enum ts_err svc_providers_adopt(struct svc_provider *v, size_t n, struct svc_providers **ret);
void svc_providers_free(struct svc_providers *p);
/* Validate the providers of a configuration without starting them
 * (--check-config, reload). TS_OK or TS_E_CONFIG with a message. */
enum ts_err svc_providers_check(const struct ts_config *cfg, char *err, size_t errlen);
/* Load what the authenticators of a configuration read from files (the
 * JwtSvid bundles) without enabling them (--check-config). TS_OK, or an
 * error with a message naming the key path. */
enum ts_err svc_auth_check(const struct ts_config *cfg, char *err, size_t errlen);
/* Whether a configuration's provider list differs from the running one;
 * when it does, a description ("providers[1] (hsm): settings changed"). */
bool svc_providers_differ(const struct svc_providers *p, const struct ts_config *cfg, char *what,
                          size_t whatlen);
struct svc_state;
/* At start-up, before any request: every record a crash left "creating" or
 * "destroying" is handed to its instance's recover_key (with the reference
 * recorded at reserve time) and removed; then, in one walk over each
 * instance's keys, an instance with an adopt_key hook is told of each of
 * its live keys, and the volatile keys a crash left (their connection is
 * gone) are destroyed after it. Failures are logged. TS_OK, or TS_E_CONFIG
 * when an instance refuses its keys (adopt_key said TS_E_CONFIG): tesserad
 * must not start. *ret_purged (may be NULL): volatile keys destroyed. */
enum ts_err svc_recover_keys(struct svc_state *st, unsigned *ret_purged);
/* The instance with that wire ID, or NULL. */
const struct svc_provider *svc_providers_by_wire_id(const struct svc_providers *p, uint8_t id);
/* The instance with that name, or NULL. */
const struct svc_provider *svc_providers_by_name(const struct svc_providers *p, const char *name);

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
	const struct svc_providers *provs; /* borrowed: the process's instances */
	struct auth_set *auth;
};

/* Build a state from a config (taking ownership of cfg on success). TS_OK, or
 * an error with a message in err. */
enum ts_err svc_state_new(struct ts_config *cfg, struct ks *ks, struct trust_store *trust,
                          const struct svc_providers *provs, struct svc_state **ret_st, char *err,
                          size_t errlen);
struct svc_state *svc_state_ref(struct svc_state *st);
void svc_state_unref(struct svc_state *st);

/* A complete response, header included, ready to write. */
struct dispatch_reply {
	uint8_t *buf;
	size_t len;
};

/* Free a reply produced by request_reply or reply_status. */
void dispatch_reply_free(struct dispatch_reply *r);

/* The bytes to write for a reply (a static header when allocation failed). */
const uint8_t *dispatch_reply_bytes(const struct dispatch_reply *r);

/* Build a header-only reply. When req is NULL, the default header. */
void reply_status(const struct wire_header *req, enum ts_err err, struct dispatch_reply *ret);

/* ---- the operation table (optable.c) ---- */

struct request;

/* Who the operation is for, as Parsec's own classes plus our extensions. */
enum op_class { OPC_CORE, OPC_CRYPTO, OPC_ADMIN, OPC_EXTENSION };

/* Where the operation runs, decided before it starts. */
enum op_where {
	OPW_LOOP,     /* in-memory tables: on the event loop that read it */
	OPW_WORKER,   /* key-store writes, admin work: a worker thread */
	OPW_PROVIDER, /* the provider's is_short hook decides (with the key's attributes) */
};

/* What the operation does with the key it names. */
enum op_key { OPK_NONE, OPK_USE, OPK_CREATE, OPK_DESTROY };

/* Which family of policy rules applies (policy.c). */
enum op_policy {
	OPP_NONE,
	OPP_CREATE, /* generate: deprecated primitives */
	OPP_SIGN,   /* sign/verify, hash or message */
	OPP_USE,    /* encryption, MAC, key agreement */
	OPP_EXPORT, /* export: the export flag, unless public */
	OPP_CAN_DO, /* the policy's algorithm must fit its key type */
	OPP_COPY,   /* psa_copy_key: the copy flag */
};

/* How an algorithm must fit the key's type (policy.c). */
enum op_fit {
	OPF_NONE,
	OPF_AEAD,
	OPF_CIPHER,
	OPF_MAC,
	OPF_ASYM_ENCRYPT,
	OPF_ASYM_DECRYPT,
	OPF_KEY_AGREEMENT,
};

/* What the contract decoder takes out of a body (step 12). */
struct op_args {
	const char *key_name; /* OPK_*: the key the operation names */
	bool has_attrs;
	struct psa_attrs attrs; /* generate, import, CanDoCrypto */
	bool has_alg;
	struct psa_alg alg;
	size_t input_len;  /* sign/verify: the hash (or message) length */
	int check_type;    /* CanDoCrypto: CAN_DO_CRYPTO__CHECK_TYPE__* (1 use .. 4 derive) */
	bool volatile_key; /* OPK_CREATE: the body's volatile_key (field 1000) */
};

struct op_desc {
	uint32_t opcode;
	const struct wire_opcode_info *wire; /* name, admin, needs_identity */
	const ProtobufCMessageDescriptor *body;
	enum op_class cls;
	enum op_key key;
	enum op_where where;
	enum op_policy policy;
	enum op_fit fit;
	uint32_t usage; /* PSA_USAGE_* flags, any of which allows the operation */
	bool signing;   /* OPP_SIGN: sign (else verify) */
	bool message;   /* OPP_SIGN: of a message (else of a hash) */
	bool keep_bits; /* OPK_CREATE: store the size the provider reports (import) */
	/* The body's field number of the key name when it is not 1; 0xFF when
	 * the name is nested (checked by its contract only). */
	uint8_t name_field;
	/* Step 12's contract beyond decoding: TS_OK or TS_E_INVALID_ENCODING. */
	enum ts_err (*contract)(const ProtobufCMessage *m, struct op_args *ret);
	/* Step 14: call the provider (or the core) and pack the result. */
	enum ts_err (*run)(struct request *r, uint8_t **ret_body, size_t *ret_len);
	/* Whether a provider type serves it (its functions are not NULL);
	 * NULL for core operations. */
	bool (*served_by)(const struct prov_ops *ops);
};

/* The operation of an opcode that tesserad serves, or NULL. */
const struct op_desc *op_find(uint32_t opcode);
/* Whether a provider instance serves the operation (false for a NULL op). */
bool op_served(const struct op_desc *op, const struct svc_provider *p);

/* Key names: C strings of at most this many bytes (Parsec's store keeps
 * them as text; a bound keeps one tenant's ListKeys and rows small). */
#define OP_KEY_NAME_MAX 255

/* ---- the request path (request.c) ---- */

/* One request from its framed bytes to its reply. */
struct request {
	struct svc_state *st;
	const struct auth_peer *peer;
	struct wire_header h;
	const uint8_t *payload; /* body then auth bytes, borrowed */
	int stage;
	enum ts_err err;
	const struct op_desc *op;
	const struct svc_provider *prov; /* NULL for the core */
	struct auth_identity id;
	ProtobufCMessage *msg;
	struct wire_pb_alloc alloc;
	struct op_args args;
	bool have_key;
	struct ks_record key; /* secrets until the reply */
	struct psa_attrs key_attrs;
	struct prov_key pkey; /* points into key and key_attrs */
	uint8_t *out;
	size_t out_len;
	/* The connection's session (session.c); NULL without a connection
	 * (dispatch_request): the PSA C API's extension operations then
	 * answer PsaErrorBadState and volatile names exist nowhere. */
	struct session *sess;
	char *mapped_names[3]; /* session_key_name's results, freed with the request */
	bool key_volatile;     /* args.key_name is a mapped ".volatile/" name */
	bool vkey_added;       /* prepare recorded it in the session (OPK_CREATE) */
	bool key_made;         /* create() made a key (it exists even if the reply fails) */
};

enum req_next {
	REQ_REPLY,  /* finished (an error or a result): call request_reply */
	REQ_LOOP,   /* run it here: request_run, then request_reply */
	REQ_WORKER, /* run it on a worker: request_prepare again there, then request_run */
};

/* Take a request whose header passed the framing checks and whose body and
 * auth bytes (payload, body first) were read whole. Cannot fail. */
void request_init(struct request *r, struct svc_state *st, const struct auth_peer *peer,
                  const struct wire_header *h, const uint8_t *payload);
/* Steps 8-13 in Parsec's order (authentication, provider, admin, body and
 * contract, identity), then the key loaded once and the policy checked
 * once, and where it runs decided. On an event loop (on_loop) a body too
 * large to decode there stops after authentication with REQ_WORKER; called
 * again on the worker it goes on where it stopped. Touches no libuv handle. */
enum req_next request_prepare(struct request *r, bool on_loop);
/* Step 14, for a request prepare left ready. */
void request_run(struct request *r);
/* The reply (on allocation failure a static header-only one); frees and
 * wipes everything the request holds. */
void request_reply(struct request *r, struct dispatch_reply *ret);
/* Free and wipe what a request holds without answering it (its connection
 * went away before it ran). */
void request_discard(struct request *r);
/* The tenant a request belongs to for fair scheduling: the identity
 * (authenticator and name), or the peer's uid when it has none. */
uint64_t request_tenant(const struct request *r);

/* Whether a prepared request is heavy work for the scheduler: generating an
 * RSA or finite-field key (up to seconds). */
bool request_heavy(const struct request *r);

/* The whole path at once (tests, the fuzzer): as a loop would start it when
 * on_loop, then as a worker finishes it. */
void dispatch_request(struct svc_state *st, const struct auth_peer *peer,
                      const struct wire_header *h, const uint8_t *payload, bool on_loop,
                      struct dispatch_reply *ret_reply);

/* ---- connection sessions (session.c) and multipart operations (multipart.c) ----
 *
 * A session is one connection's: a serial unique in the process, the
 * multipart operations it opened and the volatile keys it made. Only the
 * connection's own request touches it (one at a time), or the connection's
 * loop while no request of it is in flight (the idle sweep, the close).
 */

struct session;
struct vkey; /* a volatile key a session made (session.c) */
struct sched;

/* Names a client gives for a connection-scoped key start with this. */
#define SESSION_VOLATILE_PREFIX ".volatile/"

/* A multipart operation (or key derivation) held for a session. */
struct sess_op {
	struct sess_op *next;
	uint32_t handle;
	int kind; /* psa_op_setup's Kind (1 hash .. 8 key derivation) */
	/* Who set it up: any other identity is refused. */
	uint8_t auth_type;
	char *app;
	const struct svc_provider *prov;
	struct psa_alg alg;
	uint8_t key_type; /* the key's type (cipher IV sizes); 0 for hash and KDF */
	uint64_t last_used_ms;
	void *md;    /* HASH: an EVP_MD_CTX */
	void *state; /* the provider's mp_* or kdf_* state */
	/* What the daemon enforces whatever the client's order. */
	bool iv_needed, iv_set, lengths_set, updated, text_started;
	uint64_t ad_len, text_len, ad_seen, text_seen;
	uint64_t capacity;             /* KEY_DERIVATION */
	struct op_tenant *tenant;      /* its count in the per-tenant cap */
	struct op_tenant *inst_tenant; /* and in the tenant's share of the instance's slots */
};

/* A new session with a fresh serial; NULL when out of memory. */
struct session *session_new(void);
uint64_t session_serial(const struct session *s);
/* Whether it holds operations or volatile keys (its connection is then
 * never closed for idleness). */
bool session_holds(const struct session *s);
/* The connection closed: free every operation now (the per-tenant counts
 * drop at once) and destroy the volatile keys on a worker of sched (the key
 * store and the provider may block), holding a reference to st; inline
 * when sched is NULL or the job cannot be queued. Frees s. NULL ok. */
void session_close(struct session *s, struct svc_state *st, struct sched *sched);
/* The scheduler on which the event loops free a closed or idle operation's
 * provider state (NULL: freed where it is released; set before serving,
 * cleared before the scheduler stops). */
void session_set_scheduler(struct sched *sched);
/* Free the operations not used for idle_ms by now_ms. Whether any went. */
bool session_sweep(struct session *s, uint64_t now_ms, uint64_t idle_ms);
/* The clock of last use and the sweep, in ms (CLOCK_MONOTONIC); tests may
 * install their own (NULL: the default). */
void session_set_clock(uint64_t (*now_ms)(void));
uint64_t session_now_ms(void);

/* The key store's name for a key name a client gave: the name itself, or
 * for ".volatile/<rest>" the session's ".volatile/<serial in hex>/<rest>"
 * (kept with the request, freed by request_discard). NULL with *ret_err:
 * TS_E_PSA_DOES_NOT_EXIST for a volatile name without a session,
 * TS_E_PSA_INVALID_ARGUMENT for ".volatile/" alone or a mapped name past
 * OP_KEY_NAME_MAX + the prefix, TS_E_NOMEM. */
const char *session_key_name(struct request *r, const char *client_name, enum ts_err *ret_err);
/* Whether a client's name is a volatile one. */
bool session_name_is_volatile(const char *client_name);
/* Record a volatile key (mapped name) made by the session's request; TS_OK
 * also when it is recorded already (*ret_added false then). */
enum ts_err session_add_vkey(struct session *s, const struct svc_provider *p, uint8_t auth_type,
                             const char *app, const char *name, bool *ret_added);
/* Forget one (destroyed, or its creation failed). */
void session_forget_vkey(struct session *s, const struct svc_provider *p, uint8_t auth_type,
                         const char *app, const char *name);

/* Start-up, before serving, on the one walk over the stored keys: a
 * record a crash left with a volatile name (one session_key_name made) is
 * put on *list (nothing else is; TS_E_NOMEM when it cannot be), and
 * session_destroy_leftovers destroys the list's keys and frees it,
 * answering how many there were; session_forget_leftovers frees it and
 * destroys nothing. */
enum ts_err session_note_leftover(struct vkey **list, const struct svc_provider *p,
                                  const struct ks_key_id *id);
unsigned session_destroy_leftovers(struct svc_state *st, struct vkey *list);
void session_forget_leftovers(struct vkey *list);

/* Operations of a session. session_op_new reserves a place in the
 * per-tenant cap (max_per_tenant; TS_E_PSA_INSUFFICIENT_MEMORY past it, or
 * when the session's handles ran out) and links a zeroed operation with a
 * fresh handle. session_op_find answers only the operation of that handle
 * set up by that identity on that instance and not idle past idle_ms (an
 * idle one is freed), else NULL; its last use becomes now. */
enum ts_err session_op_new(struct session *s, const struct request *r, int kind,
                           unsigned max_per_tenant, struct sess_op **ret);
struct sess_op *session_op_find(struct session *s, const struct request *r, uint32_t handle,
                                uint64_t idle_ms, bool *ret_foreign);
/* Unlink and free (mp_free/kdf_free/the hash context). */
void session_op_free(struct session *s, struct sess_op *op);
/* Open operations of a tenant over every session (tests). */
unsigned session_tenant_ops(uint8_t auth_type, const char *app);

enum ts_err mp_op_setup(struct request *r, uint8_t **ret_body, size_t *ret_len);
enum ts_err mp_op_update(struct request *r, uint8_t **ret_body, size_t *ret_len);
enum ts_err mp_op_set_iv(struct request *r, uint8_t **ret_body, size_t *ret_len);
enum ts_err mp_op_set_lengths(struct request *r, uint8_t **ret_body, size_t *ret_len);
enum ts_err mp_op_finish(struct request *r, uint8_t **ret_body, size_t *ret_len);
enum ts_err mp_op_abort(struct request *r, uint8_t **ret_body, size_t *ret_len);
enum ts_err mp_op_clone(struct request *r, uint8_t **ret_body, size_t *ret_len);
enum ts_err mp_kdf_input(struct request *r, uint8_t **ret_body, size_t *ret_len);
enum ts_err mp_kdf_capacity(struct request *r, uint8_t **ret_body, size_t *ret_len);
enum ts_err mp_kdf_output(struct request *r, uint8_t **ret_body, size_t *ret_len);

/* The whole path with a session (tests), as dispatch_request. */
void dispatch_request_session(struct svc_state *st, const struct auth_peer *peer,
                              const struct wire_header *h, const uint8_t *payload,
                              struct session *sess, struct dispatch_reply *ret_reply);

/* ---- the policy (policy.c) ---- */

/* Every PSA policy rule, in Parsec's order, for an operation about to run:
 * `key` is the stored key's attributes (or, for OPK_CREATE, the requested
 * ones). TS_OK; TS_E_PSA_NOT_PERMITTED (usage flag, permitted algorithm,
 * export); TS_E_PSA_INVALID_ARGUMENT (algorithm vs key type, hash length,
 * an algorithm that is a policy only); TS_E_DEPRECATED_PRIMITIVE. */
enum ts_err policy_check(const struct op_desc *op, const struct op_args *args,
                         const struct psa_attrs *key, bool allow_deprecated);

/* ---- operation runners (core.c, keyops.c, cryptops.c) ---- */

enum ts_err core_ping(struct request *r, uint8_t **ret_body, size_t *ret_len);
enum ts_err core_list_providers(struct request *r, uint8_t **ret_body, size_t *ret_len);
enum ts_err core_list_opcodes(struct request *r, uint8_t **ret_body, size_t *ret_len);
enum ts_err core_list_authenticators(struct request *r, uint8_t **ret_body, size_t *ret_len);
enum ts_err core_list_keys(struct request *r, uint8_t **ret_body, size_t *ret_len);
enum ts_err core_list_clients(struct request *r, uint8_t **ret_body, size_t *ret_len);
enum ts_err core_delete_client(struct request *r, uint8_t **ret_body, size_t *ret_len);
enum ts_err core_share_trust_bundle(struct request *r, uint8_t **ret_body, size_t *ret_len);

enum ts_err keyop_generate(struct request *r, uint8_t **ret_body, size_t *ret_len);
enum ts_err keyop_import(struct request *r, uint8_t **ret_body, size_t *ret_len);
enum ts_err keyop_destroy(struct request *r, uint8_t **ret_body, size_t *ret_len);
enum ts_err keyop_export(struct request *r, uint8_t **ret_body, size_t *ret_len);
enum ts_err keyop_export_public(struct request *r, uint8_t **ret_body, size_t *ret_len);
enum ts_err keyop_get_attributes(struct request *r, uint8_t **ret_body, size_t *ret_len);
enum ts_err keyop_copy(struct request *r, uint8_t **ret_body, size_t *ret_len);
enum ts_err keyop_purge(struct request *r, uint8_t **ret_body, size_t *ret_len);
/* A provider's view of a stored record: *k points into rec and *a. TS_OK, or
 * TS_E_PSA_DATA_CORRUPT when the stored attributes do not decode (k->attrs
 * is then NULL, the rest is set). */
enum ts_err key_from_record(const struct ks_record *rec, struct psa_attrs *a, struct prov_key *k);
/* The caller's ready key in an instance, as key_from_record gives it. TS_OK;
 * ks_get's errors; TS_E_PSA_DATA_CORRUPT. rec holds secrets either way:
 * ks_record_clear it. */
enum ts_err key_get(const struct svc_state *st, const struct svc_provider *p,
                    const struct auth_identity *id, const char *name, struct ks_record *rec,
                    struct psa_attrs *a, struct prov_key *k);
/* Log, once per identity, that a stored record does not open or decode. */
void key_report_damaged(struct ks *ks, const struct ks_key_id *kid, const char *instance);
/* Make a key named name (the key store's name) in r->prov from data, with
 * the attributes a (checked already) and pb as they are stored (their
 * key_bits replaced by the size the import found), as PsaImportKey does. */
enum ts_err key_create(struct request *r, const char *name, const struct psa_attrs *a,
                       PsaKeyAttributes__KeyAttributes *pb, const uint8_t *data, size_t len);
/* Destroy one key of a tenant in an instance (also used by DeleteClient). */
enum ts_err key_destroy(struct svc_state *st, const struct svc_provider *p, uint8_t auth_type,
                        const char *app, const char *name);

enum ts_err cryptop_sign_hash(struct request *r, uint8_t **ret_body, size_t *ret_len);
enum ts_err cryptop_sign_message(struct request *r, uint8_t **ret_body, size_t *ret_len);
enum ts_err cryptop_verify_hash(struct request *r, uint8_t **ret_body, size_t *ret_len);
enum ts_err cryptop_verify_message(struct request *r, uint8_t **ret_body, size_t *ret_len);
enum ts_err cryptop_aead_encrypt(struct request *r, uint8_t **ret_body, size_t *ret_len);
enum ts_err cryptop_aead_decrypt(struct request *r, uint8_t **ret_body, size_t *ret_len);
enum ts_err cryptop_cipher_encrypt(struct request *r, uint8_t **ret_body, size_t *ret_len);
enum ts_err cryptop_cipher_decrypt(struct request *r, uint8_t **ret_body, size_t *ret_len);
enum ts_err cryptop_mac_compute(struct request *r, uint8_t **ret_body, size_t *ret_len);
enum ts_err cryptop_mac_verify(struct request *r, uint8_t **ret_body, size_t *ret_len);
enum ts_err cryptop_asym_encrypt(struct request *r, uint8_t **ret_body, size_t *ret_len);
enum ts_err cryptop_asym_decrypt(struct request *r, uint8_t **ret_body, size_t *ret_len);
enum ts_err cryptop_key_agreement(struct request *r, uint8_t **ret_body, size_t *ret_len);
enum ts_err cryptop_random(struct request *r, uint8_t **ret_body, size_t *ret_len);
enum ts_err cryptop_hash_compute(struct request *r, uint8_t **ret_body, size_t *ret_len);
enum ts_err cryptop_hash_compare(struct request *r, uint8_t **ret_body, size_t *ret_len);
enum ts_err cryptop_can_do(struct request *r, uint8_t **ret_body, size_t *ret_len);
enum ts_err cryptop_prepare_attestation(struct request *r, uint8_t **ret_body, size_t *ret_len);
enum ts_err cryptop_attest(struct request *r, uint8_t **ret_body, size_t *ret_len);

/* ---- PSA Secure Storage on the core (storage.c) ---- */

enum ts_err storage_its_set(struct request *r, uint8_t **ret_body, size_t *ret_len);
enum ts_err storage_its_get(struct request *r, uint8_t **ret_body, size_t *ret_len);
enum ts_err storage_its_get_info(struct request *r, uint8_t **ret_body, size_t *ret_len);
enum ts_err storage_its_remove(struct request *r, uint8_t **ret_body, size_t *ret_len);
enum ts_err storage_ps_set(struct request *r, uint8_t **ret_body, size_t *ret_len);
enum ts_err storage_ps_get(struct request *r, uint8_t **ret_body, size_t *ret_len);
enum ts_err storage_ps_get_info(struct request *r, uint8_t **ret_body, size_t *ret_len);
enum ts_err storage_ps_remove(struct request *r, uint8_t **ret_body, size_t *ret_len);
enum ts_err storage_ps_create(struct request *r, uint8_t **ret_body, size_t *ret_len);
enum ts_err storage_ps_set_extended(struct request *r, uint8_t **ret_body, size_t *ret_len);
enum ts_err storage_ps_get_support(struct request *r, uint8_t **ret_body, size_t *ret_len);

/* ---- the worker pool (sched.c) ---- */

struct sched;
struct tenant;

/* A unit of slow work. run() runs on a worker; done() runs right after on
 * the same worker, with the scheduler's counts already released (it hands
 * the result back to the connection's event loop). */
struct sched_job {
	struct sched_job *next;
	struct tenant *t;
	uint64_t tenant;                 /* request_tenant() */
	const struct svc_provider *prov; /* its concurrency limit applies; NULL: none */
	bool heavy;                      /* see request_heavy() */
	void (*run)(struct sched_job *j);
	void (*done)(struct sched_job *j);
};

/* Start `threads` workers serving tenants round-robin, each tenant with at
 * most per_tenant jobs running (0: no limit). TS_OK; TS_E_NOMEM; TS_E_SYSTEM
 * when no thread could start. */
enum ts_err sched_new(unsigned threads, unsigned per_tenant, struct sched **ret);
/* A reload's new per-tenant limit. */
void sched_set_per_tenant(struct sched *s, unsigned per_tenant);
/* Queue a job. TS_OK, or TS_E_NOMEM (the job was not queued). */
enum ts_err sched_submit(struct sched *s, struct sched_job *j);
/* How many jobs a tenant has queued or running. */
unsigned sched_tenant_load(struct sched *s, uint64_t tenant);
/* Stop: waiting jobs still run, then the workers are joined. */
void sched_free(struct sched *s);

/* ---- the libuv front end ---- */

struct server;

struct server_opts {
	const char *config_path; /* for SIGHUP; NULL: embedded default */
	const char *socket_override;
	bool allow_root_override;
	const char *state_dir;    /* overrides key_store.path's directory */
	const char *kek_override; /* overrides key_store.kek_path */
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
