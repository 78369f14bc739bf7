/*
 * tesserad's JSON configuration: schema, defaults, validation. Every error
 * names the key path and what was expected; unknown keys are errors.
 * Reference: docs/configuration.md.
 */
#ifndef TESSERA_CONFIG_CONFIG_H
#define TESSERA_CONFIG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/log.h"

/* Values equal Parsec's wire auth types. */
#define CFG_AUTH_DIRECT    1
#define CFG_AUTH_JWT       2
#define CFG_AUTH_UNIX_PEER 3
#define CFG_AUTH_JWT_SVID  4

/* Values equal Parsec's provider IDs. */
#define CFG_PROVIDER_SOFTWARE        1
#define CFG_PROVIDER_PKCS11          2
#define CFG_PROVIDER_TPM             3
#define CFG_PROVIDER_TRUSTED_SERVICE 4

/* JwtSvid: the JWT bundle file of one trust domain. */
struct cfg_svid_bundle {
	char *trust_domain;
	char *path;
};

struct cfg_authenticator {
	uint8_t auth_type;
	char **admins;
	size_t n_admins;
	/* Jwt only. */
	char *issuer; /* required "iss" */
	/* Jwt and JwtSvid. */
	char *audience; /* required in "aud" */
	unsigned clock_skew_s;
	/* JwtSvid only. */
	struct cfg_svid_bundle *bundles;
	size_t n_bundles;
};

struct cfg_provider {
	uint8_t provider_id; /* the type, as its wire provider ID */
	char *name;          /* unique among the providers */
	/* The rest of the provider's object (every key but "type" and
	 * "name") as compact JSON text with sorted keys, "{}" when empty: the
	 * provider validates it. Equal text means equal settings. */
	char *settings;
};

struct ts_config {
	struct {
		bool allow_root;
		unsigned threads; /* 0 = number of CPUs (the daemon resolves it) */
		enum ts_log_level log_level;
		uint32_t body_len_limit;
		uint32_t buffer_size_limit;
		bool allow_deprecated;
		bool log_error_details;
		unsigned max_in_flight; /* 0 = 4 x threads (the daemon resolves it) */
		unsigned io_threads;    /* event loops; 0 = number of CPUs (resolved) */
		unsigned
		        max_slow_per_tenant; /* slow requests of one tenant running; 0 = no limit */
	} core;
	struct {
		char *socket_path;
		uint32_t timeout_ms;
		uint32_t idle_timeout_ms;
		unsigned socket_mode;
		char *socket_group; /* NULL: leave the group as created */
		unsigned max_connections;
		unsigned max_connections_per_uid;
	} listener;
	struct cfg_authenticator *authenticators;
	size_t n_authenticators;
	struct {
		char *path;
		/* The key-encryption key file, used when systemd hands over no
		 * credential "tessera-kek"; outside the store's directory by
		 * default (docs/keystore.md). */
		char *kek_path;
	} key_store;
	/* Per-tenant limits (0 = no limit), answered with
	 * PsaErrorInsufficientStorage. */
	struct {
		uint64_t max_keys_per_tenant;
		uint64_t max_key_bytes_per_tenant; /* name + attributes + material + ref */
	} quotas;
	/* The PSA C API's operations held by the daemon (docs/protocol.md). */
	struct {
		uint32_t operation_idle_ms;         /* an unused operation is freed after it */
		unsigned max_operations_per_tenant; /* over all its connections */
	} psa;
	struct cfg_provider *providers;
	size_t n_providers;
	/* Who may share trust bundles (ShareTrustBundle). */
	struct {
		bool configured; /* peer_uid or peer_user was given */
		uint32_t peer_uid;
		int64_t peer_gid;   /* -1: any group */
		char *peer_user;    /* as written, for messages; NULL when by uid */
		char *peer_account; /* the account peer_uid belongs to (its user name) */
	} trust;
};

/*
 * Parse and validate. On success a new configuration (free it with
 * config_free); on failure NULL and one line in err:
 * "<origin>: <key path>: <what is wrong and what was expected>".
 */
struct ts_config *config_load_file(const char *path, char *err, size_t errlen);
struct ts_config *config_load_string(const char *json, const char *origin, char *err,
                                     size_t errlen);

/* The embedded default configuration; NULL only when out of memory. */
struct ts_config *config_load_default(char *err, size_t errlen);

/* The JSON text of the embedded default configuration. */
const char *config_default_json(void);

/* Free a configuration. NULL ok. */
void config_free(struct ts_config *cfg);

/* Replace a string field with a copy of value (command-line overrides).
 * 0 on success, -1 when out of memory (the field is then unchanged). */
int config_set_string(char **field, const char *value);

#endif
