#include <criterion/criterion.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/config.h"

static char err[512];

static struct ts_config *load(const char *json)
{
	err[0] = '\0';
	return config_load_string(json, "test.json", err, sizeof(err));
}

/* The document must be rejected and the message must name path. */
static void assert_rejected(const char *json, const char *path)
{
	struct ts_config *cfg = load(json);

	cr_assert_null(cfg, "accepted: %s", json);
	cr_assert(strstr(err, path) != NULL, "error \"%s\" does not name %s", err, path);
	cr_assert(strncmp(err, "test.json: ", 11) == 0, "error lacks the origin: %s", err);
}

static void assert_accepted(const char *json)
{
	struct ts_config *cfg = load(json);

	cr_assert_not_null(cfg, "rejected %s: %s", json, err);
	config_free(cfg);
}

Test(config, empty_object_gives_the_defaults)
{
	struct ts_config *c = load("{}");

	cr_assert_not_null(c, "%s", err);
	cr_assert_not(c->core.allow_root);
	cr_assert_eq(c->core.threads, 0);
	cr_assert_eq(c->core.log_level, TS_LOG_INFO);
	cr_assert_eq(c->core.body_len_limit, 1048576);
	cr_assert_eq(c->core.buffer_size_limit, 1048576);
	cr_assert_str_eq(c->listener.socket_path, "/run/tessera/api.sock");
	cr_assert_eq(c->listener.timeout_ms, 3000);
	cr_assert_eq(c->listener.socket_mode, 0666);
	cr_assert_null(c->listener.socket_group);
	cr_assert_eq(c->n_authenticators, 1);
	cr_assert_eq(c->authenticators[0].auth_type, CFG_AUTH_UNIX_PEER);
	cr_assert_eq(c->n_providers, 1);
	cr_assert_eq(c->providers[0].provider_id, CFG_PROVIDER_SOFTWARE);
	cr_assert_str_eq(c->providers[0].name, "software-provider");
	config_free(c);
}

Test(config, embedded_default_states_exactly_the_builtin_defaults)
{
	struct ts_config *a = load("{}");
	struct ts_config *b = config_load_default(err, sizeof(err));

	cr_assert_not_null(a);
	cr_assert_not_null(b, "%s", err);
	cr_assert_eq(a->core.allow_root, b->core.allow_root);
	cr_assert_eq(a->core.threads, b->core.threads);
	cr_assert_eq(a->core.log_level, b->core.log_level);
	cr_assert_eq(a->core.body_len_limit, b->core.body_len_limit);
	cr_assert_eq(a->core.buffer_size_limit, b->core.buffer_size_limit);
	cr_assert_eq(a->core.allow_deprecated, b->core.allow_deprecated);
	cr_assert_eq(a->core.log_error_details, b->core.log_error_details);
	cr_assert_eq(a->core.max_in_flight, b->core.max_in_flight);
	cr_assert_eq(a->core.io_threads, b->core.io_threads);
	cr_assert_str_eq(a->listener.socket_path, b->listener.socket_path);
	cr_assert_eq(a->listener.timeout_ms, b->listener.timeout_ms);
	cr_assert_eq(a->listener.idle_timeout_ms, b->listener.idle_timeout_ms);
	cr_assert_eq(a->listener.socket_mode, b->listener.socket_mode);
	cr_assert_eq(a->listener.socket_group, b->listener.socket_group);
	cr_assert_eq(a->listener.max_connections, b->listener.max_connections);
	cr_assert_eq(a->listener.max_connections_per_uid, b->listener.max_connections_per_uid);
	cr_assert_eq(a->n_authenticators, b->n_authenticators);
	cr_assert_eq(a->authenticators[0].auth_type, b->authenticators[0].auth_type);
	cr_assert_eq(a->authenticators[0].n_admins, b->authenticators[0].n_admins);
	cr_assert_str_eq(a->key_store.path, b->key_store.path);
	cr_assert_str_eq(a->key_store.kek_path, b->key_store.kek_path);
	cr_assert_eq(a->quotas.max_keys_per_tenant, b->quotas.max_keys_per_tenant);
	cr_assert_eq(a->quotas.max_key_bytes_per_tenant, b->quotas.max_key_bytes_per_tenant);
	cr_assert_eq(a->psa.operation_idle_ms, b->psa.operation_idle_ms);
	cr_assert_eq(a->psa.max_operations_per_tenant, b->psa.max_operations_per_tenant);
	cr_assert_eq(a->n_providers, b->n_providers);
	cr_assert_str_eq(a->providers[0].name, b->providers[0].name);
	config_free(a);
	config_free(b);
}

Test(config, example_files_parse)
{
	static const char *const files[] = {"tesserad.json", "direct-and-unix-peer.json",
	                                    "development.json", "identity.json", "spiffe.json"};

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char path[512];
		struct ts_config *c;

		snprintf(path, sizeof(path), "%s/config/examples/%s", TESSERA_SOURCE_DIR, files[i]);
		c = config_load_file(path, err, sizeof(err));
		if (c == NULL && strstr(err, "writable by") != NULL) {
			/* A checkout made with a permissive umask: the content
			 * is what is checked here. */
			char text[8192];
			FILE *f = fopen(path, "r");
			size_t n;

			cr_assert_not_null(f);
			n = fread(text, 1, sizeof(text) - 1, f);
			fclose(f);
			text[n] = '\0';
			c = config_load_string(text, path, err, sizeof(err));
		}
		/* The identity example names the idp's system user, which a
		 * build machine may not have: then exactly that is the error. */
		if (c == NULL && getpwnam("tessera-idp") == NULL &&
		    strcmp(files[i], "identity.json") == 0) {
			cr_assert(strstr(err, "trust.peer_user") != NULL &&
			                  strstr(err, "tessera-idp") != NULL,
			          "%s: %s", files[i], err);
			continue;
		}
		cr_assert_not_null(c, "%s: %s", files[i], err);
		if (strcmp(files[i], "identity.json") == 0)
			cr_assert_str_eq(c->trust.peer_account, "tessera-idp");
		/* Issue 11 finding 7: no example makes every local user an admin
		 * (a Direct admin believes the name a client states). */
		for (size_t a = 0; a < c->n_authenticators; a++)
			if (c->authenticators[a].auth_type == CFG_AUTH_DIRECT &&
			    c->authenticators[a].n_admins > 0)
				cr_assert_eq(c->listener.socket_mode & 0006, 0,
				             "%s: a Direct admin on a socket mode %04o", files[i],
				             c->listener.socket_mode);
		config_free(c);
	}
}

/* The shipped full example is the embedded default, word for word (the
 * package installs it as /etc/tessera/tesserad.json). */
Test(config, the_full_example_is_the_embedded_default)
{
	char path[512], text[8192];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s/config/examples/tesserad.json", TESSERA_SOURCE_DIR);
	f = fopen(path, "r");
	cr_assert_not_null(f);
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	cr_assert_str_eq(text, config_default_json(),
	                 "regenerate it: tesserad --print-default-config > %s", path);
}

/* Issue 11 finding 7: a configuration others can write was accepted (and
 * another user made themselves a Direct admin through a SIGHUP). */
Test(config, a_configuration_others_can_change_is_refused)
{
	char dir[] = "/tmp/tscfg.XXXXXX", path[64], cmd[96];
	struct ts_config *c;
	FILE *f;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/tesserad.json", dir);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs("{}", f);
	fclose(f);
	cr_assert_eq(chmod(path, 0644), 0);
	c = config_load_file(path, err, sizeof(err));
	cr_assert_not_null(c, "%s", err);
	config_free(c);

	cr_assert_eq(chmod(path, 0666), 0);
	cr_assert_null(config_load_file(path, err, sizeof(err)));
	cr_assert(strstr(err, "writable by every user") != NULL && strstr(err, path) != NULL, "%s",
	          err);
	cr_assert_eq(chmod(path, 0664), 0);
	if (getegid() != 0 || chown(path, (uid_t)-1, 12345) == 0) {
		cr_assert_null(config_load_file(path, err, sizeof(err)));
		cr_assert(strstr(err, "writable by its group") != NULL, "%s", err);
	}
	cr_assert_eq(chmod(path, 0600), 0);
	/* The directory counts too: another user could replace the file. */
	cr_assert_eq(chmod(dir, 0777), 0);
	cr_assert_null(config_load_file(path, err, sizeof(err)));
	cr_assert(strstr(err, "the directory") != NULL, "%s", err);
	cr_assert_eq(chmod(dir, 01777), 0);
	c = config_load_file(path, err, sizeof(err));
	cr_assert_not_null(c, "a sticky directory, as /tmp: %s", err);
	config_free(c);
	cr_assert_eq(chmod(dir, 0700), 0);
	if (geteuid() == 0) {
		cr_assert_eq(chown(path, 12345, (gid_t)-1), 0);
		cr_assert_null(config_load_file(path, err, sizeof(err)));
		cr_assert(strstr(err, "owned by uid 12345") != NULL, "%s", err);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_assert_eq(system(cmd), 0);
}

Test(config, missing_file_and_bad_json)
{
	cr_assert_null(config_load_file("/nonexistent/tesserad.json", err, sizeof(err)));
	cr_assert(strstr(err, "/nonexistent/tesserad.json") != NULL);
	cr_assert_null(load("{\"core\": {"));
	cr_assert(strstr(err, "line 1") != NULL, "%s", err);
	assert_rejected("[]", "top level");
	cr_assert_null(load("42"), "a bare number is not a configuration");
}

Test(config, unknown_keys_are_errors)
{
	assert_rejected("{\"colour\": 1}", "colour");
	assert_rejected("{\"core\": {\"thread_pool_size\": 4}}", "core.thread_pool_size");
	assert_rejected("{\"listener\": {\"timeout\": 200}}", "listener.timeout");
	assert_rejected("{\"authenticators\": [{\"type\": \"Direct\", \"admin\": []}]}",
	                "authenticators[0].admin");
	assert_rejected("{\"authenticators\": [{\"type\": \"Direct\", \"admins\": "
	                "[{\"name\": \"a\", \"role\": \"x\"}]}]}",
	                "authenticators[0].admins[0].role");
	/* A provider's own keys are its type's to check (the daemon's unit
	 * tests cover that); the loader hands them over as they were. */
	{
		struct ts_config *c = load("{\"providers\": [{\"type\": \"Software\", "
		                           "\"zeta\": 1, \"library_path\": \"/x\"}]}");

		cr_assert_not_null(c, "%s", err);
		cr_assert_str_eq(c->providers[0].settings, "{\"library_path\":\"/x\",\"zeta\":1}");
		config_free(c);
	}
	/* The message lists what is allowed. */
	assert_rejected("{\"core\": {\"treads\": 4}}", "core.treads");
	cr_assert(strstr(err, "threads") != NULL, "%s", err);
}

Test(config, duplicate_keys_are_errors)
{
	cr_assert_null(load("{\"core\": {\"threads\": 1, \"threads\": 2}}"));
	cr_assert(strstr(err, "duplicate") != NULL, "%s", err);
}

Test(config, integer_ranges)
{
	assert_accepted("{\"core\": {\"threads\": 0}}");
	assert_accepted("{\"core\": {\"threads\": 256}}");
	assert_rejected("{\"core\": {\"threads\": 257}}", "core.threads");
	assert_rejected("{\"core\": {\"threads\": -1}}", "core.threads");
	assert_rejected("{\"core\": {\"body_len_limit\": 0}}", "core.body_len_limit");
	assert_accepted("{\"core\": {\"body_len_limit\": 1}}");
	assert_accepted("{\"core\": {\"body_len_limit\": 268435456}}");
	assert_rejected("{\"core\": {\"body_len_limit\": 268435457}}", "core.body_len_limit");
	assert_rejected("{\"listener\": {\"timeout_ms\": 0}}", "listener.timeout_ms");
	assert_accepted("{\"listener\": {\"timeout_ms\": 1}}");
	assert_accepted("{\"listener\": {\"timeout_ms\": 3600000}}");
	assert_rejected("{\"listener\": {\"timeout_ms\": 3600001}}", "listener.timeout_ms");
	cr_assert(strstr(err, "from 1 to 3600000") != NULL, "says the range: %s", err);
	assert_accepted("{\"listener\": {\"idle_timeout_ms\": 0}}");
	assert_rejected("{\"listener\": {\"max_connections\": 0}}", "listener.max_connections");
	assert_rejected(
	        "{\"listener\": {\"max_connections\": 10, \"max_connections_per_uid\": 11}}",
	        "listener.max_connections_per_uid");
	assert_accepted(
	        "{\"listener\": {\"max_connections\": 10, \"max_connections_per_uid\": 10}}");
	assert_rejected("{\"core\": {\"max_in_flight\": 65537}}", "core.max_in_flight");
	assert_rejected("{\"core\": {\"io_threads\": 65}}", "core.io_threads");
	assert_rejected("{\"core\": {\"io_threads\": -1}}", "core.io_threads");
}

Test(config, strict_types)
{
	assert_rejected("{\"core\": {\"threads\": \"4\"}}", "core.threads");
	assert_rejected("{\"core\": {\"threads\": 4.0}}", "core.threads");
	assert_rejected("{\"core\": {\"threads\": true}}", "core.threads");
	assert_rejected("{\"core\": {\"allow_root\": 1}}", "core.allow_root");
	assert_rejected("{\"core\": {\"allow_root\": \"yes\"}}", "core.allow_root");
	assert_rejected("{\"core\": []}", "core");
	assert_rejected("{\"core\": {\"log_level\": \"verbose\"}}", "core.log_level");
	assert_rejected("{\"core\": {\"log_level\": 3}}", "core.log_level");
	assert_rejected("{\"listener\": {\"socket_path\": \"\"}}", "listener.socket_path");
	assert_rejected("{\"listener\": {\"socket_path\": 5}}", "listener.socket_path");
	assert_rejected("{\"key_store\": {\"path\": null}}", "key_store.path");
	assert_rejected("{\"key_store\": {\"kek_path\": \"\"}}", "key_store.kek_path");
	assert_rejected("{\"quotas\": {\"max_keys_per_tenant\": -1}}",
	                "quotas.max_keys_per_tenant");
	assert_rejected("{\"quotas\": {\"max_key_bytes_per_tenant\": \"1M\"}}",
	                "quotas.max_key_bytes_per_tenant");
	assert_rejected("{\"quotas\": {\"max_keys\": 5}}", "quotas.max_keys");
	assert_rejected("{\"psa\": {\"operation_idle_ms\": 0}}", "psa.operation_idle_ms");
	assert_rejected("{\"psa\": {\"max_operations\": 5}}", "psa.max_operations");
}

Test(config, kek_and_quotas)
{
	char err[256];
	struct ts_config *cfg = config_load_string("{}", "t", err, sizeof(err));
	char *dir;

	cr_assert_not_null(cfg, "%s", err);
	/* By default the KEK is not in the store's directory: a copy of the
	 * state directory must not open the keys. */
	dir = strdup(cfg->key_store.path);
	*strrchr(dir, '/') = '\0';
	cr_assert_neq(strncmp(cfg->key_store.kek_path, dir, strlen(dir)), 0, "%s in %s",
	              cfg->key_store.kek_path, dir);
	free(dir);
	cr_assert_gt(cfg->quotas.max_keys_per_tenant, 0, "a quota by default");
	cr_assert_gt(cfg->quotas.max_key_bytes_per_tenant, 0);
	config_free(cfg);
	cfg = config_load_string("{\"quotas\": {\"max_keys_per_tenant\": 0, "
	                         "\"max_key_bytes_per_tenant\": 4096}, \"key_store\": "
	                         "{\"kek_path\": \"/srv/k\"}}",
	                         "t", err, sizeof(err));
	cr_assert_not_null(cfg, "%s", err);
	cr_assert_eq(cfg->quotas.max_keys_per_tenant, 0);
	cr_assert_eq(cfg->quotas.max_key_bytes_per_tenant, 4096);
	cr_assert_str_eq(cfg->key_store.kek_path, "/srv/k");
	config_free(cfg);
}

Test(config, log_levels)
{
	struct ts_config *c = load("{\"core\": {\"log_level\": \"trace\"}}");

	cr_assert_not_null(c);
	cr_assert_eq(c->core.log_level, TS_LOG_DEBUG);
	config_free(c);
	c = load("{\"core\": {\"log_level\": \"error\"}}");
	cr_assert_eq(c->core.log_level, TS_LOG_ERROR);
	config_free(c);
}

Test(config, socket_mode)
{
	struct ts_config *c = load("{\"listener\": {\"socket_mode\": \"0660\"}}");

	cr_assert_not_null(c, "%s", err);
	cr_assert_eq(c->listener.socket_mode, 0660);
	config_free(c);
	c = load("{\"listener\": {\"socket_mode\": \"600\"}}");
	cr_assert_eq(c->listener.socket_mode, 0600);
	config_free(c);
	assert_rejected("{\"listener\": {\"socket_mode\": \"999\"}}", "listener.socket_mode");
	assert_rejected("{\"listener\": {\"socket_mode\": \"0o660\"}}", "listener.socket_mode");
	assert_rejected("{\"listener\": {\"socket_mode\": \"1777\"}}", "listener.socket_mode");
	assert_rejected("{\"listener\": {\"socket_mode\": \"66\"}}", "listener.socket_mode");
	assert_rejected("{\"listener\": {\"socket_mode\": 666}}", "listener.socket_mode");
}

Test(config, socket_path_length_is_the_sun_path_limit)
{
	char json[512], path[120];

	memset(path, 'a', sizeof(path));
	path[0] = '/';
	path[107] = '\0';
	snprintf(json, sizeof(json), "{\"listener\": {\"socket_path\": \"%s\"}}", path);
	assert_accepted(json);
	path[107] = 'a';
	path[108] = '\0';
	snprintf(json, sizeof(json), "{\"listener\": {\"socket_path\": \"%s\"}}", path);
	assert_rejected(json, "listener.socket_path");
	cr_assert(strstr(err, "108") != NULL && strstr(err, "107") != NULL, "%s", err);
}

Test(config, socket_group)
{
	struct ts_config *c = load("{\"listener\": {\"socket_group\": \"tessera\"}}");

	cr_assert_not_null(c);
	cr_assert_str_eq(c->listener.socket_group, "tessera");
	config_free(c);
	assert_accepted("{\"listener\": {\"socket_group\": null}}");
	assert_rejected("{\"listener\": {\"socket_group\": \"\"}}", "listener.socket_group");
}

Test(config, authenticators)
{
	struct ts_config *c = load("{\"authenticators\": [{\"type\": \"Direct\", \"admins\": "
	                           "[{\"name\": \"a\"}, {\"name\": \"b\"}]}, "
	                           "{\"type\": \"UnixPeerCredentials\"}]}");

	cr_assert_not_null(c, "%s", err);
	cr_assert_eq(c->n_authenticators, 2);
	cr_assert_eq(c->authenticators[0].auth_type, CFG_AUTH_DIRECT);
	cr_assert_eq(c->authenticators[0].n_admins, 2);
	cr_assert_str_eq(c->authenticators[0].admins[1], "b");
	cr_assert_eq(c->authenticators[1].auth_type, CFG_AUTH_UNIX_PEER);
	cr_assert_eq(c->authenticators[1].n_admins, 0);
	config_free(c);

	assert_rejected("{\"authenticators\": []}", "authenticators");
	assert_rejected("{\"authenticators\": {}}", "authenticators");
	assert_rejected("{\"authenticators\": [{}]}", "authenticators[0].type");
	assert_rejected("{\"authenticators\": [{\"type\": \"direct\"}]}", "authenticators[0].type");
	assert_rejected("{\"authenticators\": [{\"type\": \"Direct\"}, {\"type\": \"Direct\"}]}",
	                "authenticators[1]");
	assert_rejected("{\"authenticators\": [{\"type\": \"Jwt\"}]}", "authenticators[0]");
	cr_assert(strstr(err, "trust.peer_user") != NULL, "%s", err);
	assert_rejected("{\"authenticators\": [{\"type\": \"Direct\", \"issuer\": \"x\"}]}",
	                "authenticators[0].issuer");
	assert_rejected("{\"trust\": {\"peer_uid\": 5}, \"authenticators\": [{\"type\": "
	                "\"Jwt\", \"clock_skew_s\": 301}]}",
	                "authenticators[0].clock_skew_s");
	assert_rejected("{\"trust\": {\"peer_uid\": 5, \"peer_user\": \"root\"}}", "trust");
	assert_rejected("{\"trust\": {\"peer_user\": \"no-such-user-here\"}}", "trust.peer_user");
	assert_rejected("{\"trust\": {\"peer_uid\": -1}}", "trust.peer_uid");
	/* A uid no account has: refused, and the message says what to do. */
	assert_rejected("{\"trust\": {\"peer_uid\": 4294967000}}", "trust.peer_uid");
	cr_assert(strstr(err, "no account") != NULL && strstr(err, "peer_user") != NULL, "%s", err);
	assert_rejected("{\"trust\": {\"peer_user\": \"root\", \"peer_group\": "
	                "\"no-such-group-here\"}}",
	                "trust.peer_group");
	c = load("{\"trust\": {\"peer_uid\": 0, \"peer_group\": \"root\"}}");
	cr_assert_not_null(c, "%s", err);
	cr_assert_str_eq(c->trust.peer_account, "root");
	cr_assert_eq(c->trust.peer_gid, 0);
	config_free(c);
	assert_rejected("{\"trust\": {\"uid\": 1}}", "trust.uid");
	c = load("{\"trust\": {\"peer_user\": \"root\", \"peer_gid\": 7}, \"authenticators\": "
	         "[{\"type\": \"Jwt\", \"issuer\": \"me\", \"clock_skew_s\": 0}]}");
	cr_assert_not_null(c, "%s", err);
	cr_assert(c->trust.configured);
	cr_assert_eq(c->trust.peer_uid, 0);
	cr_assert_eq(c->trust.peer_gid, 7);
	cr_assert_str_eq(c->authenticators[0].issuer, "me");
	cr_assert_str_eq(c->authenticators[0].audience, "tesserad");
	cr_assert_eq(c->authenticators[0].clock_skew_s, 0);
	config_free(c);
	assert_rejected("{\"authenticators\": [{\"type\": \"Direct\", \"admins\": [\"a\"]}]}",
	                "authenticators[0].admins[0]");
	assert_rejected("{\"authenticators\": [{\"type\": \"Direct\", \"admins\": [{}]}]}",
	                "authenticators[0].admins[0]");
	assert_rejected("{\"authenticators\": [{\"type\": \"Direct\", \"admins\": "
	                "[{\"name\": \"\"}]}]}",
	                "authenticators[0].admins[0].name");
}

#define SVID_HEAD \
	"{\"authenticators\": [{\"type\": \"UnixPeerCredentials\"}, {\"type\": \"JwtSvid\", "

Test(config, jwt_svid_takes_an_audience_a_skew_and_one_bundle_per_trust_domain)
{
	struct ts_config *c =
	        load(SVID_HEAD "\"audience\": \"tessera\", \"clock_skew_s\": 5, "
	                       "\"admins\": [{\"name\": \"spiffe://example.org/admin\"}], "
	                       "\"bundles\": [{\"trust_domain\": \"example.org\", "
	                       "\"path\": \"/etc/tessera/spiffe/example.org.jwks\"}, "
	                       "{\"trust_domain\": \"other.test\", \"path\": \"/b\"}]}]}");
	const struct cfg_authenticator *a;

	cr_assert_not_null(c, "%s", err);
	a = &c->authenticators[1];
	cr_assert_eq(a->auth_type, CFG_AUTH_JWT_SVID);
	cr_assert_str_eq(a->audience, "tessera");
	cr_assert_eq(a->clock_skew_s, 5);
	cr_assert_eq(a->n_bundles, 2);
	cr_assert_str_eq(a->bundles[0].trust_domain, "example.org");
	cr_assert_str_eq(a->bundles[0].path, "/etc/tessera/spiffe/example.org.jwks");
	cr_assert_str_eq(a->bundles[1].trust_domain, "other.test");
	cr_assert_str_eq(a->admins[0], "spiffe://example.org/admin");
	config_free(c);
	c = load(SVID_HEAD "\"audience\": \"t\", \"bundles\": [{\"trust_domain\": \"a\", "
	                   "\"path\": \"/a\"}]}]}");
	cr_assert_not_null(c, "%s", err);
	cr_assert_eq(c->authenticators[1].clock_skew_s, 30);
	config_free(c);

	assert_rejected(SVID_HEAD "\"bundles\": [{\"trust_domain\": \"a\", \"path\": \"/a\"}]}]}",
	                "authenticators[1]");
	cr_assert(strstr(err, "audience") != NULL, "%s", err);
	assert_rejected(SVID_HEAD "\"audience\": \"t\"}]}", "authenticators[1].bundles");
	assert_rejected(SVID_HEAD "\"audience\": \"t\", \"bundles\": []}]}",
	                "authenticators[1].bundles");
	assert_rejected(SVID_HEAD "\"audience\": \"t\", \"bundles\": {}}]}",
	                "authenticators[1].bundles");
	assert_rejected(SVID_HEAD "\"audience\": \"\", \"bundles\": [{\"trust_domain\": \"a\", "
	                          "\"path\": \"/a\"}]}]}",
	                "authenticators[1].audience");
	assert_rejected(SVID_HEAD "\"audience\": \"t\", \"bundles\": [\"/a\"]}]}",
	                "authenticators[1].bundles[0]");
	assert_rejected(SVID_HEAD "\"audience\": \"t\", \"bundles\": [{\"path\": \"/a\"}]}]}",
	                "authenticators[1].bundles[0]");
	cr_assert(strstr(err, "trust_domain") != NULL, "%s", err);
	assert_rejected(SVID_HEAD
	                "\"audience\": \"t\", \"bundles\": [{\"trust_domain\": \"a\"}]}]}",
	                "authenticators[1].bundles[0]");
	cr_assert(strstr(err, "path") != NULL, "%s", err);
	assert_rejected(SVID_HEAD "\"audience\": \"t\", \"bundles\": [{\"trust_domain\": "
	                          "\"spiffe://a\", \"path\": \"/a\"}]}]}",
	                "authenticators[1].bundles[0].trust_domain");
	assert_rejected(SVID_HEAD "\"audience\": \"t\", \"bundles\": [{\"trust_domain\": "
	                          "\"Example.org\", \"path\": \"/a\"}]}]}",
	                "authenticators[1].bundles[0].trust_domain");
	assert_rejected(SVID_HEAD "\"audience\": \"t\", \"bundles\": [{\"trust_domain\": "
	                          "\"a\", \"path\": \"a.jwks\"}]}]}",
	                "authenticators[1].bundles[0].path");
	assert_rejected(SVID_HEAD "\"audience\": \"t\", \"bundles\": [{\"trust_domain\": "
	                          "\"a\", \"path\": \"/a\", \"url\": \"x\"}]}]}",
	                "authenticators[1].bundles[0].url");
	assert_rejected(SVID_HEAD "\"audience\": \"t\", \"bundles\": [{\"trust_domain\": "
	                          "\"a\", \"path\": \"/a\"}, {\"trust_domain\": \"a\", "
	                          "\"path\": \"/b\"}]}]}",
	                "authenticators[1].bundles[1]");
	assert_rejected(SVID_HEAD "\"audience\": \"t\", \"clock_skew_s\": 301, \"bundles\": "
	                          "[{\"trust_domain\": \"a\", \"path\": \"/a\"}]}]}",
	                "authenticators[1].clock_skew_s");
	assert_rejected(SVID_HEAD "\"audience\": \"t\", \"issuer\": \"x\", \"bundles\": "
	                          "[{\"trust_domain\": \"a\", \"path\": \"/a\"}]}]}",
	                "authenticators[1].issuer");
}

Test(config, providers)
{
	struct ts_config *c =
	        load("{\"providers\": [{\"type\": \"MbedCrypto\", \"name\": \"sw\"}]}");

	cr_assert_not_null(c, "%s", err);
	cr_assert_eq(c->providers[0].provider_id, CFG_PROVIDER_SOFTWARE);
	cr_assert_str_eq(c->providers[0].name, "sw");
	config_free(c);
	assert_rejected("{\"providers\": []}", "providers");
	/* Two instances of one type, each with its own name. */
	c = load("{\"providers\": [{\"type\": \"Software\"}, {\"type\": \"Software\", "
	         "\"name\": \"other\"}]}");
	cr_assert_not_null(c, "%s", err);
	cr_assert_eq(c->n_providers, 2);
	cr_assert_str_eq(c->providers[0].name, "software-provider");
	cr_assert_str_eq(c->providers[1].name, "other");
	config_free(c);
	assert_rejected("{\"providers\": [{\"type\": \"Software\"}, {\"type\": \"Software\"}]}",
	                "providers[1]");
	cr_assert(strstr(err, "same name") != NULL, "%s", err);
	/* The TPM provider is in this build: its settings go to it. */
	c = load("{\"providers\": [{\"type\": \"Tpm\", \"tcti\": \"swtpm:path=/x\"}]}");
	cr_assert_not_null(c, "%s", err);
	cr_assert_eq(c->providers[0].provider_id, 3);
	cr_assert_str_eq(c->providers[0].name, "tpm-provider");
	cr_assert(strstr(c->providers[0].settings, "swtpm:path=/x") != NULL);
	config_free(c);
	assert_rejected("{\"providers\": [{\"type\": \"Quantum\"}]}", "providers[0].type");
	assert_rejected("{\"providers\": [{\"type\": \"Software\", \"name\": 3}]}",
	                "providers[0].name");
}

Test(config, set_string_replaces_value)
{
	struct ts_config *c = load("{}");

	cr_assert_eq(config_set_string(&c->listener.socket_path, "/tmp/x.sock"), 0);
	cr_assert_str_eq(c->listener.socket_path, "/tmp/x.sock");
	config_free(c);
	config_free(NULL);
}
