/*
 * Loading and validating the JSON configuration. The built-in defaults are
 * set first; every key present in the document replaces one. A key that is
 * not part of the schema, a value of the wrong type or out of range is an
 * error naming its path.
 */
#include "config/config-priv.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#define PATH_MAX_LEN        160
#define SUN_PATH_MAX        107 /* sizeof(sockaddr_un.sun_path) - 1 */
#define BODY_LIMIT_MAX      268435456u
#define TIMEOUT_MAX_MS      3600000u
#define IDLE_TIMEOUT_MAX_MS 86400000u
#define CONNECTIONS_MAX     1000000u

struct ctx {
	const char *origin;
	char *err;
	size_t errlen;
};

__attribute__((format(printf, 3, 4))) static int fail(struct ctx *c, const char *path,
                                                      const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (c->errlen > 0)
		snprintf(c->err, c->errlen, "%s: %s: %s", c->origin, path, msg);
	return -1;
}

/* "parent.key" into out (PATH_MAX_LEN bytes); a path too long to fit ends in "...". */
static void join(char *out, const char *parent, const char *key)
{
	int n;

	if (parent[0] == '\0')
		n = snprintf(out, PATH_MAX_LEN, "%s", key);
	else
		n = snprintf(out, PATH_MAX_LEN, "%s.%s", parent, key);
	if (n < 0 || n >= PATH_MAX_LEN)
		memcpy(out + PATH_MAX_LEN - 4, "...", 4);
}

/* A short rendering of a JSON value for "got ..." in messages. */
static void describe(const json_t *v, char *out, size_t outlen)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		snprintf(out, outlen, "an object");
		break;
	case JSON_ARRAY:
		snprintf(out, outlen, "an array");
		break;
	case JSON_STRING:
		snprintf(out, outlen, "the string \"%.40s%s\"", json_string_value(v),
		         json_string_length(v) > 40 ? "..." : "");
		break;
	case JSON_INTEGER:
		snprintf(out, outlen, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		break;
	case JSON_REAL:
		snprintf(out, outlen, "the number %g", json_real_value(v));
		break;
	case JSON_TRUE:
		snprintf(out, outlen, "true");
		break;
	case JSON_FALSE:
		snprintf(out, outlen, "false");
		break;
	default:
		snprintf(out, outlen, "null");
		break;
	}
}

static int check_keys(struct ctx *c, const json_t *obj, const char *path,
                      const char *const *allowed)
{
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)obj, key, v)
	{
		bool known = false;
		char list[256] = "", full[PATH_MAX_LEN];

		for (size_t i = 0; allowed[i] != NULL && !known; i++)
			known = strcmp(key, allowed[i]) == 0;
		if (known)
			continue;
		for (size_t i = 0; allowed[i] != NULL; i++) {
			strncat(list, i ? ", " : "", sizeof(list) - strlen(list) - 1);
			strncat(list, allowed[i], sizeof(list) - strlen(list) - 1);
		}
		join(full, path, key);
		return fail(c, full, "unknown key (expected one of: %s)", list);
	}
	return 0;
}

static int want_object(struct ctx *c, const json_t *v, const char *path)
{
	char got[96];

	if (json_is_object(v))
		return 0;
	describe(v, got, sizeof(got));
	return fail(c, path, "expected an object, got %s", got);
}

static int get_bool(struct ctx *c, const json_t *obj, const char *parent, const char *key,
                    bool *out)
{
	const json_t *v = json_object_get(obj, key);
	char path[PATH_MAX_LEN], got[96];

	if (v == NULL)
		return 0;
	if (!json_is_boolean(v)) {
		join(path, parent, key);
		describe(v, got, sizeof(got));
		return fail(c, path, "expected true or false, got %s", got);
	}
	*out = json_is_true(v);
	return 0;
}

static int get_uint(struct ctx *c, const json_t *obj, const char *parent, const char *key,
                    uint64_t min, uint64_t max, uint64_t *out)
{
	const json_t *v = json_object_get(obj, key);
	char path[PATH_MAX_LEN], got[96];
	json_int_t n;

	if (v == NULL)
		return 0;
	join(path, parent, key);
	if (!json_is_integer(v)) {
		describe(v, got, sizeof(got));
		return fail(c, path, "expected an integer from %llu to %llu, got %s",
		            (unsigned long long)min, (unsigned long long)max, got);
	}
	n = json_integer_value(v);
	if (n < 0 || (uint64_t)n < min || (uint64_t)n > max)
		return fail(c, path,
		            "expected an integer from %llu to %llu, got %" JSON_INTEGER_FORMAT,
		            (unsigned long long)min, (unsigned long long)max, n);
	*out = (uint64_t)n;
	return 0;
}

#define GET_UINT(c, obj, parent, key, min, max, field)                  \
	do {                                                            \
		uint64_t tmp_ = (field);                                \
		if (get_uint(c, obj, parent, key, min, max, &tmp_) < 0) \
			return -1;                                      \
		(field) = tmp_;                                         \
	} while (0)

/* A non-empty string without NUL bytes; *out replaced by a copy. */
static int get_string(struct ctx *c, const json_t *obj, const char *parent, const char *key,
                      size_t max_len, const char *why, char **out)
{
	const json_t *v = json_object_get(obj, key);
	char path[PATH_MAX_LEN], got[96];
	char *copy;

	if (v == NULL)
		return 0;
	join(path, parent, key);
	if (!json_is_string(v)) {
		describe(v, got, sizeof(got));
		return fail(c, path, "expected a non-empty string, got %s", got);
	}
	if (json_string_length(v) == 0 || strlen(json_string_value(v)) != json_string_length(v))
		return fail(c, path, "expected a non-empty string without NUL bytes");
	if (json_string_length(v) > max_len)
		return fail(c, path, "is %zu bytes long; at most %zu bytes are allowed%s",
		            json_string_length(v), max_len, why);
	copy = strdup(json_string_value(v));
	if (copy == NULL)
		return fail(c, path, "out of memory");
	free(*out);
	*out = copy;
	return 0;
}

static int parse_core(struct ctx *c, const json_t *o, struct ts_config *cfg)
{
	static const char *const keys[] = {"allow_root",
	                                   "threads",
	                                   "log_level",
	                                   "body_len_limit",
	                                   "buffer_size_limit",
	                                   "allow_deprecated",
	                                   "log_error_details",
	                                   "max_in_flight",
	                                   "io_threads",
	                                   "max_slow_per_tenant",
	                                   NULL};
	const json_t *lv;

	if (want_object(c, o, "core") < 0 || check_keys(c, o, "core", keys) < 0)
		return -1;
	if (get_bool(c, o, "core", "allow_root", &cfg->core.allow_root) < 0 ||
	    get_bool(c, o, "core", "allow_deprecated", &cfg->core.allow_deprecated) < 0 ||
	    get_bool(c, o, "core", "log_error_details", &cfg->core.log_error_details) < 0)
		return -1;
	GET_UINT(c, o, "core", "threads", 0, 256, cfg->core.threads);
	GET_UINT(c, o, "core", "io_threads", 0, 64, cfg->core.io_threads);
	GET_UINT(c, o, "core", "body_len_limit", 1, BODY_LIMIT_MAX, cfg->core.body_len_limit);
	GET_UINT(c, o, "core", "buffer_size_limit", 1, BODY_LIMIT_MAX, cfg->core.buffer_size_limit);
	GET_UINT(c, o, "core", "max_in_flight", 0, 65536, cfg->core.max_in_flight);
	GET_UINT(c, o, "core", "max_slow_per_tenant", 0, 65536, cfg->core.max_slow_per_tenant);
	lv = json_object_get(o, "log_level");
	if (lv != NULL) {
		enum ts_log_level level;

		if (!json_is_string(lv) || ts_log_level_parse(json_string_value(lv), &level) != 0) {
			char got[96];

			describe(lv, got, sizeof(got));
			return fail(c, "core.log_level",
			            "expected one of \"error\", \"warn\", \"info\", \"debug\", "
			            "\"trace\", got %s",
			            got);
		}
		cfg->core.log_level = level;
	}
	return 0;
}

static int parse_socket_mode(struct ctx *c, const json_t *v, unsigned *out)
{
	const char *s;
	size_t n;
	unsigned mode = 0;
	char got[96];

	describe(v, got, sizeof(got));
	if (!json_is_string(v))
		goto bad;
	s = json_string_value(v);
	n = strlen(s);
	if (n < 3 || n > 4 || n != json_string_length(v))
		goto bad;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '7')
			goto bad;
		mode = mode * 8 + (unsigned)(s[i] - '0');
	}
	if (mode > 0777)
		goto bad;
	*out = mode;
	return 0;
bad:
	return fail(c, "listener.socket_mode",
	            "expected a string of 3 or 4 octal digits no greater than \"0777\" "
	            "(e.g. \"0660\"), got %s",
	            got);
}

static int parse_listener(struct ctx *c, const json_t *o, struct ts_config *cfg)
{
	static const char *const keys[] = {
	        "socket_path",  "timeout_ms",      "idle_timeout_ms",         "socket_mode",
	        "socket_group", "max_connections", "max_connections_per_uid", NULL};
	const json_t *v;

	if (want_object(c, o, "listener") < 0 || check_keys(c, o, "listener", keys) < 0)
		return -1;
	if (get_string(c, o, "listener", "socket_path", SUN_PATH_MAX,
	               " (a Unix socket path must fit in sun_path)",
	               &cfg->listener.socket_path) < 0)
		return -1;
	GET_UINT(c, o, "listener", "timeout_ms", 1, TIMEOUT_MAX_MS, cfg->listener.timeout_ms);
	GET_UINT(c, o, "listener", "idle_timeout_ms", 0, IDLE_TIMEOUT_MAX_MS,
	         cfg->listener.idle_timeout_ms);
	GET_UINT(c, o, "listener", "max_connections", 1, CONNECTIONS_MAX,
	         cfg->listener.max_connections);
	GET_UINT(c, o, "listener", "max_connections_per_uid", 1, CONNECTIONS_MAX,
	         cfg->listener.max_connections_per_uid);
	if (cfg->listener.max_connections_per_uid > cfg->listener.max_connections)
		return fail(c, "listener.max_connections_per_uid",
		            "is %u, more than listener.max_connections (%u)",
		            cfg->listener.max_connections_per_uid, cfg->listener.max_connections);
	v = json_object_get(o, "socket_mode");
	if (v != NULL && parse_socket_mode(c, v, &cfg->listener.socket_mode) < 0)
		return -1;
	v = json_object_get(o, "socket_group");
	if (v != NULL && json_is_null(v)) {
		free(cfg->listener.socket_group);
		cfg->listener.socket_group = NULL;
	} else if (v != NULL && get_string(c, o, "listener", "socket_group", 255, "",
	                                   &cfg->listener.socket_group) < 0) {
		return -1;
	}
	return 0;
}

struct named_type {
	const char *name;
	uint8_t value;
	bool available;
};

static const struct named_type auth_types[] = {
        {"Direct", CFG_AUTH_DIRECT, true},
        {"UnixPeerCredentials", CFG_AUTH_UNIX_PEER, true},
        {"Jwt", CFG_AUTH_JWT, true},
        {"JwtSvid", CFG_AUTH_JWT_SVID, true},
        {NULL, 0, false},
};

static const struct named_type provider_types[] = {
        {"Software", CFG_PROVIDER_SOFTWARE, true},
        {"MbedCrypto", CFG_PROVIDER_SOFTWARE, true}, /* Parsec's name for the same slot */
        {"Pkcs11", CFG_PROVIDER_PKCS11, true},
        {"Tpm", CFG_PROVIDER_TPM, true},
        {"TrustedService", CFG_PROVIDER_TRUSTED_SERVICE, true},
        {NULL, 0, false},
};

static int parse_type(struct ctx *c, const json_t *item, const char *path,
                      const struct named_type *types, const char *what, uint8_t *out)
{
	const json_t *v = json_object_get(item, "type");
	char full[PATH_MAX_LEN], got[96], list[160] = "";

	join(full, path, "type");
	for (size_t i = 0; types[i].name != NULL; i++) {
		if (!types[i].available)
			continue;
		strncat(list, list[0] ? ", \"" : "\"", sizeof(list) - strlen(list) - 1);
		strncat(list, types[i].name, sizeof(list) - strlen(list) - 1);
		strncat(list, "\"", sizeof(list) - strlen(list) - 1);
	}
	if (v == NULL)
		return fail(c, full, "missing (expected one of %s)", list);
	if (json_is_string(v)) {
		for (size_t i = 0; types[i].name != NULL; i++) {
			if (strcmp(json_string_value(v), types[i].name) != 0)
				continue;
			if (!types[i].available)
				return fail(c, full,
				            "%s type \"%s\" is not available in this build "
				            "(available: %s)",
				            what, types[i].name, list);
			*out = types[i].value;
			return 0;
		}
	}
	describe(v, got, sizeof(got));
	return fail(c, full, "expected one of %s, got %s", list, got);
}

static void free_authenticators(struct cfg_authenticator *a, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		for (size_t k = 0; k < a[i].n_admins; k++)
			free(a[i].admins[k]);
		free(a[i].admins);
		free(a[i].issuer);
		free(a[i].audience);
		for (size_t k = 0; k < a[i].n_bundles; k++) {
			free(a[i].bundles[k].trust_domain);
			free(a[i].bundles[k].path);
		}
		free(a[i].bundles);
	}
	free(a);
}

static int parse_admins(struct ctx *c, const json_t *v, const char *path,
                        struct cfg_authenticator *a)
{
	char full[PATH_MAX_LEN], got[96];
	size_t n;

	join(full, path, "admins");
	if (!json_is_array(v)) {
		describe(v, got, sizeof(got));
		return fail(c, full, "expected an array of {\"name\": ...} objects, got %s", got);
	}
	n = json_array_size(v);
	a->admins = calloc(n ? n : 1, sizeof(*a->admins));
	if (a->admins == NULL)
		return fail(c, full, "out of memory");
	for (size_t i = 0; i < n; i++) {
		static const char *const keys[] = {"name", NULL};
		const json_t *item = json_array_get(v, i);
		char ipath[PATH_MAX_LEN + 24];

		snprintf(ipath, sizeof(ipath), "%s[%zu]", full, i);
		if (want_object(c, item, ipath) < 0 || check_keys(c, item, ipath, keys) < 0)
			return -1;
		if (json_object_get(item, "name") == NULL)
			return fail(c, ipath, "missing \"name\"");
		if (get_string(c, item, ipath, "name", 65535, "", &a->admins[i]) < 0)
			return -1;
		a->n_admins++;
	}
	return 0;
}

static int parse_jwt(struct ctx *c, const json_t *item, const char *path,
                     struct cfg_authenticator *a)
{
	a->clock_skew_s = 30;
	a->issuer = strdup("tessera-idp");
	a->audience = strdup("tesserad");
	if (a->issuer == NULL || a->audience == NULL)
		return fail(c, path, "out of memory");
	if (get_string(c, item, path, "issuer", 255, "", &a->issuer) < 0 ||
	    get_string(c, item, path, "audience", 255, "", &a->audience) < 0)
		return -1;
	GET_UINT(c, item, path, "clock_skew_s", 0, 300, a->clock_skew_s);
	return 0;
}

/* ---- JwtSvid: audience, clock skew and the trust domains' bundle files ---- */

#define SVID_BUNDLES_MAX 64

static bool trust_domain_ok(const char *td)
{
	size_t n = strlen(td);

	if (n == 0 || n > 255)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((td[i] >= 'a' && td[i] <= 'z') || (td[i] >= '0' && td[i] <= '9') ||
		      td[i] == '.' || td[i] == '-' || td[i] == '_'))
			return false;
	return true;
}

static int parse_svid_bundle(struct ctx *c, const json_t *item, const char *path,
                             struct cfg_svid_bundle *b)
{
	static const char *const keys[] = {"trust_domain", "path", NULL};
	char full[PATH_MAX_LEN];

	if (want_object(c, item, path) < 0 || check_keys(c, item, path, keys) < 0)
		return -1;
	if (json_object_get(item, "trust_domain") == NULL)
		return fail(c, path, "missing \"trust_domain\" (e.g. \"example.org\")");
	if (json_object_get(item, "path") == NULL)
		return fail(c, path,
		            "missing \"path\" (the trust domain's JWT bundle, a JWKS file)");
	if (get_string(c, item, path, "trust_domain", 255, "", &b->trust_domain) < 0 ||
	    get_string(c, item, path, "path", 4095, "", &b->path) < 0)
		return -1;
	if (!trust_domain_ok(b->trust_domain)) {
		join(full, path, "trust_domain");
		return fail(c, full,
		            "\"%.60s\" is not a trust domain name (lowercase letters, digits, "
		            "\".\", \"-\" and \"_\"; no scheme, no path)",
		            b->trust_domain);
	}
	if (b->path[0] != '/') {
		join(full, path, "path");
		return fail(c, full, "expected an absolute path, got \"%.60s\"", b->path);
	}
	return 0;
}

static int parse_jwt_svid(struct ctx *c, const json_t *item, const char *path,
                          struct cfg_authenticator *a)
{
	const json_t *v = json_object_get(item, "bundles");
	char full[PATH_MAX_LEN], got[96];
	size_t n;

	a->clock_skew_s = 30;
	if (json_object_get(item, "audience") == NULL)
		return fail(c, path,
		            "missing \"audience\" (the value JWT-SVIDs for this daemon carry in "
		            "\"aud\")");
	if (get_string(c, item, path, "audience", 255, "", &a->audience) < 0)
		return -1;
	GET_UINT(c, item, path, "clock_skew_s", 0, 300, a->clock_skew_s);
	join(full, path, "bundles");
	if (!json_is_array(v) || json_array_size(v) == 0 || json_array_size(v) > SVID_BUNDLES_MAX) {
		if (v == NULL)
			return fail(c, full,
			            "missing (expected an array of {\"trust_domain\": ..., "
			            "\"path\": ...})");
		describe(v, got, sizeof(got));
		return fail(c, full,
		            "expected an array of 1 to %d {\"trust_domain\": ..., \"path\": "
		            "...} objects, got %s%s",
		            SVID_BUNDLES_MAX, got, json_is_array(v) ? " of another size" : "");
	}
	n = json_array_size(v);
	a->bundles = calloc(n, sizeof(*a->bundles));
	if (a->bundles == NULL)
		return fail(c, full, "out of memory");
	for (size_t i = 0; i < n; i++) {
		char ipath[PATH_MAX_LEN + 24];

		snprintf(ipath, sizeof(ipath), "%s[%zu]", full, i);
		a->n_bundles = i + 1;
		if (parse_svid_bundle(c, json_array_get(v, i), ipath, &a->bundles[i]) < 0)
			return -1;
		for (size_t k = 0; k < i; k++)
			if (strcmp(a->bundles[k].trust_domain, a->bundles[i].trust_domain) == 0)
				return fail(c, ipath,
				            "trust domain \"%s\" already has a bundle (%s[%zu]); "
				            "put all its keys in one JWKS file",
				            a->bundles[i].trust_domain, full, k);
	}
	return 0;
}

/*
 * Whoever the trusted peer is can mint a token for any Jwt identity, admins
 * included: it must be an account that exists (a uid nobody has may be
 * handed to anyone later, as 996 went to polkitd), and the examples name it
 * by user name.
 */
static int parse_trust(struct ctx *c, const json_t *o, struct ts_config *cfg)
{
	static const char *const keys[] = {"peer_uid", "peer_user", "peer_gid", "peer_group", NULL};
	uint64_t uid = 0, gid = 0;
	struct passwd *pw = NULL;

	if (want_object(c, o, "trust") < 0 || check_keys(c, o, "trust", keys) < 0)
		return -1;
	if (json_object_get(o, "peer_uid") != NULL && json_object_get(o, "peer_user") != NULL)
		return fail(c, "trust", "give peer_uid or peer_user, not both");
	if (json_object_get(o, "peer_gid") != NULL && json_object_get(o, "peer_group") != NULL)
		return fail(c, "trust", "give peer_gid or peer_group, not both");
	if (json_object_get(o, "peer_uid") != NULL) {
		if (get_uint(c, o, "trust", "peer_uid", 0, 4294967294u, &uid) < 0)
			return -1;
		pw = getpwuid((uid_t)uid);
		if (pw == NULL)
			return fail(c, "trust.peer_uid",
			            "no account has uid %llu on this system (name the identity "
			            "services' user with trust.peer_user)",
			            (unsigned long long)uid);
	}
	if (json_object_get(o, "peer_user") != NULL) {
		if (get_string(c, o, "trust", "peer_user", 255, "", &cfg->trust.peer_user) < 0)
			return -1;
		pw = getpwnam(cfg->trust.peer_user);
		if (pw == NULL)
			return fail(c, "trust.peer_user", "no user named \"%s\" on this system",
			            cfg->trust.peer_user);
	}
	if (pw != NULL) {
		cfg->trust.configured = true;
		cfg->trust.peer_uid = (uint32_t)pw->pw_uid;
		free(cfg->trust.peer_account);
		cfg->trust.peer_account = strdup(pw->pw_name);
		if (cfg->trust.peer_account == NULL)
			return fail(c, "trust", "out of memory");
	}
	if (json_object_get(o, "peer_gid") != NULL &&
	    !json_is_null(json_object_get(o, "peer_gid"))) {
		if (get_uint(c, o, "trust", "peer_gid", 0, 4294967294u, &gid) < 0)
			return -1;
		cfg->trust.peer_gid = (int64_t)gid;
	}
	if (json_object_get(o, "peer_group") != NULL) {
		char *name = NULL;
		struct group *gr;

		if (get_string(c, o, "trust", "peer_group", 255, "", &name) < 0)
			return -1;
		gr = name != NULL ? getgrnam(name) : NULL;
		if (gr == NULL) {
			fail(c, "trust.peer_group", "no group named \"%s\" on this system",
			     name != NULL ? name : "");
			free(name);
			return -1;
		}
		cfg->trust.peer_gid = (int64_t)gr->gr_gid;
		free(name);
	}
	return 0;
}

static int parse_authenticators(struct ctx *c, const json_t *v, struct ts_config *cfg)
{
	static const char *const keys[] = {"type", "admins", NULL};
	static const char *const jwt_keys[] = {"type",     "admins",       "issuer",
	                                       "audience", "clock_skew_s", NULL};
	static const char *const svid_keys[] = {"type",         "admins",  "audience",
	                                        "clock_skew_s", "bundles", NULL};
	struct cfg_authenticator *list;
	size_t n;
	char got[96];

	if (!json_is_array(v) || json_array_size(v) == 0) {
		describe(v, got, sizeof(got));
		return fail(c, "authenticators",
		            "expected a non-empty array of authenticators, got %s%s", got,
		            json_is_array(v) ? " (empty)" : "");
	}
	n = json_array_size(v);
	list = calloc(n, sizeof(*list));
	if (list == NULL)
		return fail(c, "authenticators", "out of memory");
	free_authenticators(cfg->authenticators, cfg->n_authenticators);
	cfg->authenticators = list;
	cfg->n_authenticators = 0;
	for (size_t i = 0; i < n; i++) {
		const json_t *item = json_array_get(v, i);
		const json_t *admins;
		char path[PATH_MAX_LEN];

		snprintf(path, sizeof(path), "authenticators[%zu]", i);
		if (want_object(c, item, path) < 0)
			return -1;
		cfg->n_authenticators = i + 1;
		if (parse_type(c, item, path, auth_types, "authenticator", &list[i].auth_type) < 0)
			return -1;
		if (check_keys(c, item, path,
		               list[i].auth_type == CFG_AUTH_JWT        ? jwt_keys
		               : list[i].auth_type == CFG_AUTH_JWT_SVID ? svid_keys
		                                                        : keys) < 0)
			return -1;
		if (list[i].auth_type == CFG_AUTH_JWT && parse_jwt(c, item, path, &list[i]) < 0)
			return -1;
		if (list[i].auth_type == CFG_AUTH_JWT_SVID &&
		    parse_jwt_svid(c, item, path, &list[i]) < 0)
			return -1;
		for (size_t k = 0; k < i; k++)
			if (list[k].auth_type == list[i].auth_type)
				return fail(c, path,
				            "the same authenticator type as authenticators[%zu]; "
				            "each type may be enabled once",
				            k);
		admins = json_object_get(item, "admins");
		if (admins != NULL && parse_admins(c, admins, path, &list[i]) < 0)
			return -1;
	}
	return 0;
}

static void free_providers(struct cfg_provider *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(p[i].name);
		free(p[i].settings);
	}
	free(p);
}

static const char *provider_default_name(uint8_t id)
{
	switch (id) {
	case CFG_PROVIDER_SOFTWARE:
		return "software-provider";
	case CFG_PROVIDER_PKCS11:
		return "pkcs11-provider";
	case CFG_PROVIDER_TPM:
		return "tpm-provider";
	default:
		return "trusted-service-provider";
	}
}

/* The provider's own settings: its object less "type" and "name". */
static int provider_settings(struct ctx *c, const json_t *item, const char *path, char **ret)
{
	json_t *copy = json_deep_copy(item);

	if (copy == NULL)
		return fail(c, path, "out of memory");
	json_object_del(copy, "type");
	json_object_del(copy, "name");
	*ret = json_dumps(copy, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(copy);
	return *ret != NULL ? 0 : fail(c, path, "out of memory");
}

static int parse_providers(struct ctx *c, const json_t *v, struct ts_config *cfg)
{
	struct cfg_provider *list;
	size_t n;
	char got[96];

	if (!json_is_array(v) || json_array_size(v) == 0) {
		describe(v, got, sizeof(got));
		return fail(c, "providers", "expected a non-empty array of providers, got %s%s",
		            got, json_is_array(v) ? " (empty)" : "");
	}
	n = json_array_size(v);
	list = calloc(n, sizeof(*list));
	if (list == NULL)
		return fail(c, "providers", "out of memory");
	free_providers(cfg->providers, cfg->n_providers);
	cfg->providers = list;
	cfg->n_providers = 0;
	for (size_t i = 0; i < n; i++) {
		const json_t *item = json_array_get(v, i);
		char path[PATH_MAX_LEN];

		snprintf(path, sizeof(path), "providers[%zu]", i);
		/* Keys other than type and name belong to the provider type,
		 * which checks them (each error names its key path). */
		if (want_object(c, item, path) < 0)
			return -1;
		cfg->n_providers = i + 1;
		if (parse_type(c, item, path, provider_types, "provider", &list[i].provider_id) < 0)
			return -1;
		if (get_string(c, item, path, "name", 255, "", &list[i].name) < 0)
			return -1;
		if (list[i].name == NULL) {
			list[i].name = strdup(provider_default_name(list[i].provider_id));
			if (list[i].name == NULL)
				return fail(c, path, "out of memory");
		}
		if (provider_settings(c, item, path, &list[i].settings) < 0)
			return -1;
		/* Several instances of one type may run side by side (two
		 * tokens); keys are routed by the instance name. */
		for (size_t k = 0; k < i; k++)
			if (strcmp(list[k].name, list[i].name) == 0)
				return fail(c, path,
				            "the same name \"%s\" as providers[%zu] (give each "
				            "instance its own \"name\")",
				            list[i].name, k);
	}
	return 0;
}

static int parse_key_store(struct ctx *c, const json_t *o, struct ts_config *cfg)
{
	static const char *const keys[] = {"path", "kek_path", NULL};

	if (want_object(c, o, "key_store") < 0 || check_keys(c, o, "key_store", keys) < 0)
		return -1;
	if (get_string(c, o, "key_store", "path", 4095, "", &cfg->key_store.path) < 0 ||
	    get_string(c, o, "key_store", "kek_path", 4095, "", &cfg->key_store.kek_path) < 0)
		return -1;
	return 0;
}

static int parse_quotas(struct ctx *c, const json_t *o, struct ts_config *cfg)
{
	static const char *const keys[] = {"max_keys_per_tenant", "max_key_bytes_per_tenant", NULL};

	if (want_object(c, o, "quotas") < 0 || check_keys(c, o, "quotas", keys) < 0)
		return -1;
	GET_UINT(c, o, "quotas", "max_keys_per_tenant", 0, UINT32_MAX,
	         cfg->quotas.max_keys_per_tenant);
	GET_UINT(c, o, "quotas", "max_key_bytes_per_tenant", 0, (uint64_t)1 << 40,
	         cfg->quotas.max_key_bytes_per_tenant);
	return 0;
}

static int parse_psa(struct ctx *c, const json_t *o, struct ts_config *cfg)
{
	static const char *const keys[] = {"operation_idle_ms", "max_operations_per_tenant", NULL};

	if (want_object(c, o, "psa") < 0 || check_keys(c, o, "psa", keys) < 0)
		return -1;
	GET_UINT(c, o, "psa", "operation_idle_ms", 1, UINT32_MAX, cfg->psa.operation_idle_ms);
	GET_UINT(c, o, "psa", "max_operations_per_tenant", 1, 1000000,
	         cfg->psa.max_operations_per_tenant);
	return 0;
}

/* The built-in defaults; default.c states the same values as JSON. */
static struct ts_config *config_new_defaults(void)
{
	struct ts_config *cfg = calloc(1, sizeof(*cfg));

	if (cfg == NULL)
		return NULL;
	cfg->core.log_level = TS_LOG_INFO;
	cfg->core.body_len_limit = 1048576;
	cfg->core.buffer_size_limit = 1048576;
	cfg->listener.timeout_ms = 3000;
	cfg->listener.idle_timeout_ms = 60000;
	cfg->listener.socket_mode = 0666;
	cfg->listener.max_connections = 4096;
	cfg->listener.max_connections_per_uid = 1024;
	cfg->trust.peer_gid = -1;
	cfg->listener.socket_path = strdup("/run/tessera/api.sock");
	cfg->key_store.path = strdup("/var/lib/tessera/keystore.sqlite3");
	cfg->key_store.kek_path = strdup("/etc/tessera/keystore.kek");
	cfg->quotas.max_keys_per_tenant = 10000;
	cfg->quotas.max_key_bytes_per_tenant = 64u << 20;
	cfg->psa.operation_idle_ms = 300000;
	cfg->psa.max_operations_per_tenant = 64;
	cfg->authenticators = calloc(1, sizeof(*cfg->authenticators));
	cfg->providers = calloc(1, sizeof(*cfg->providers));
	if (cfg->authenticators != NULL) {
		cfg->n_authenticators = 1;
		cfg->authenticators[0].auth_type = CFG_AUTH_UNIX_PEER;
	}
	if (cfg->providers != NULL) {
		cfg->n_providers = 1;
		cfg->providers[0].provider_id = CFG_PROVIDER_SOFTWARE;
		cfg->providers[0].name = strdup("software-provider");
		cfg->providers[0].settings = strdup("{}");
	}
	if (cfg->listener.socket_path == NULL || cfg->key_store.path == NULL ||
	    cfg->key_store.kek_path == NULL || cfg->authenticators == NULL ||
	    cfg->providers == NULL || cfg->providers[0].name == NULL ||
	    cfg->providers[0].settings == NULL) {
		config_free(cfg);
		return NULL;
	}
	return cfg;
}

static struct ts_config *load(json_t *root, struct ctx *c)
{
	static const char *const keys[] = {"core",      "listener",  "authenticators",
	                                   "key_store", "providers", "trust",
	                                   "quotas",    "psa",       NULL};
	struct ts_config *cfg;
	const json_t *v;

	if (!json_is_object(root)) {
		fail(c, "(top level)", "expected a JSON object");
		return NULL;
	}
	if (check_keys(c, root, "", keys) < 0)
		return NULL;
	cfg = config_new_defaults();
	if (cfg == NULL) {
		fail(c, "(top level)", "out of memory");
		return NULL;
	}
	if (((v = json_object_get(root, "core")) != NULL && parse_core(c, v, cfg) < 0) ||
	    ((v = json_object_get(root, "listener")) != NULL && parse_listener(c, v, cfg) < 0) ||
	    ((v = json_object_get(root, "authenticators")) != NULL &&
	     parse_authenticators(c, v, cfg) < 0) ||
	    ((v = json_object_get(root, "key_store")) != NULL && parse_key_store(c, v, cfg) < 0) ||
	    ((v = json_object_get(root, "quotas")) != NULL && parse_quotas(c, v, cfg) < 0) ||
	    ((v = json_object_get(root, "psa")) != NULL && parse_psa(c, v, cfg) < 0) ||
	    ((v = json_object_get(root, "providers")) != NULL && parse_providers(c, v, cfg) < 0) ||
	    ((v = json_object_get(root, "trust")) != NULL && parse_trust(c, v, cfg) < 0)) {
		config_free(cfg);
		return NULL;
	}
	for (size_t i = 0; i < cfg->n_authenticators; i++) {
		char path[PATH_MAX_LEN];

		if (cfg->authenticators[i].auth_type != CFG_AUTH_JWT || cfg->trust.configured)
			continue;
		snprintf(path, sizeof(path), "authenticators[%zu]", i);
		fail(c, path,
		     "the Jwt authenticator verifies tokens against a chain shared by a trusted "
		     "peer: set trust.peer_user or trust.peer_uid");
		config_free(cfg);
		return NULL;
	}
	return cfg;
}

struct ts_config *config_load_string(const char *json, const char *origin, char *err, size_t errlen)
{
	struct ctx c = {.origin = origin, .err = err, .errlen = errlen};
	json_error_t jerr;
	json_t *root;
	struct ts_config *cfg;

	root = json_loads(json, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		snprintf(err, errlen, "%s: line %d, column %d: %s", origin, jerr.line, jerr.column,
		         jerr.text);
		return NULL;
	}
	cfg = load(root, &c);
	json_decref(root);
	return cfg;
}

/*
 * Who may change the configuration decides who is admin and what the daemon
 * trusts: the file and the directory holding it must be owned by root or the
 * daemon's user and writable by no one else (group write only for group
 * root; a world-writable directory only with the sticky bit, as /tmp).
 * 0, or -1 with a message in err.
 */
static int check_owner_mode(const char *path, const struct stat *sb, const char *what,
                            const char *file, char *err, size_t errlen)
{
	bool dir = S_ISDIR(sb->st_mode);

	if (sb->st_uid != 0 && sb->st_uid != geteuid()) {
		snprintf(
		        err, errlen,
		        "%s: %s %s is owned by uid %u, neither root nor the user tesserad runs as; "
		        "refusing a configuration others can change",
		        file, what, path, (unsigned)sb->st_uid);
		return -1;
	}
	if (((sb->st_mode & S_IWGRP) && sb->st_gid != 0) ||
	    ((sb->st_mode & S_IWOTH) && !(dir && (sb->st_mode & S_ISVTX)))) {
		snprintf(err, errlen,
		         "%s: %s %s is writable by %s (mode %04o); refusing a configuration others "
		         "can change: chmod go-w %s",
		         file, what, path, (sb->st_mode & S_IWOTH) ? "every user" : "its group",
		         (unsigned)(sb->st_mode & 07777), path);
		return -1;
	}
	return 0;
}

static int check_config_file(FILE *f, const char *path, char *err, size_t errlen)
{
	char dir[4096];
	char *slash;
	struct stat sb;

	if (fstat(fileno(f), &sb) != 0) {
		snprintf(err, errlen, "%s: cannot stat: %s", path, strerror(errno));
		return -1;
	}
	if (check_owner_mode(path, &sb, "the file", path, err, errlen) < 0)
		return -1;
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash == NULL)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	if (stat(dir, &sb) != 0) {
		snprintf(err, errlen, "%s: cannot stat its directory %s: %s", path, dir,
		         strerror(errno));
		return -1;
	}
	return check_owner_mode(dir, &sb, "the directory", path, err, errlen);
}

struct ts_config *config_load_file(const char *path, char *err, size_t errlen)
{
	struct ctx c = {.origin = path, .err = err, .errlen = errlen};
	json_error_t jerr;
	json_t *root;
	struct ts_config *cfg;
	FILE *f = fopen(path, "re");

	if (f == NULL) {
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return NULL;
	}
	if (check_config_file(f, path, err, errlen) < 0) {
		fclose(f);
		return NULL;
	}
	root = json_loadf(f, JSON_REJECT_DUPLICATES, &jerr);
	fclose(f);
	if (root == NULL) {
		snprintf(err, errlen, "%s: line %d, column %d: %s", path, jerr.line, jerr.column,
		         jerr.text);
		return NULL;
	}
	cfg = load(root, &c);
	json_decref(root);
	return cfg;
}

struct ts_config *config_load_default(char *err, size_t errlen)
{
	return config_load_string(config_default_json(), "(embedded default)", err, errlen);
}

void config_free(struct ts_config *cfg)
{
	if (cfg == NULL)
		return;
	free(cfg->listener.socket_path);
	free(cfg->listener.socket_group);
	free(cfg->key_store.path);
	free(cfg->key_store.kek_path);
	free(cfg->trust.peer_user);
	free(cfg->trust.peer_account);
	free_authenticators(cfg->authenticators, cfg->n_authenticators);
	free_providers(cfg->providers, cfg->n_providers);
	free(cfg);
}

int config_set_string(char **field, const char *value)
{
	char *copy = strdup(value);

	if (copy == NULL)
		return -1;
	free(*field);
	*field = copy;
	return 0;
}
