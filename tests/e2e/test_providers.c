/*
 * Provider instances end to end: two Software instances side by side (keys
 * routed to the instance that holds them, the second one addressed by an
 * extension ID that Parsec clients never see), the providers' own settings
 * checked with their key path, a reload that keeps the running providers,
 * and a key store written by the previous release taken over by this one.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sqlite3.h>

#include "list_providers.pb-c.h"

#include "client/tessera.h"
#include "harness.h"

#define TESSERAD TESSERA_BUILD_DIR "/daemon/tesserad"

#define TWO_SOFTWARE                                                                          \
	"{\"core\": {\"allow_root\": true, \"log_level\": \"debug\", \"log_error_details\": " \
	"true},"                                                                              \
	" \"listener\": {\"socket_path\": \"%1$s\", \"timeout_ms\": 1000},"                   \
	" \"authenticators\": [{\"type\": \"Direct\"}],"                                      \
	" \"providers\": [{\"type\": \"Software\"}, {\"type\": \"Software\", \"name\": "      \
	"\"second\"}]}"

static struct td d;
static struct tessera_client *c;

static struct tessera_client *client_as(const char *app)
{
	struct tessera_options o;
	struct tessera_client *cl;
	static char ep[160];

	tessera_options_init(&o);
	snprintf(ep, sizeof(ep), "unix:%s", d.sock);
	o.endpoint = ep;
	o.auth_type = TESSERA_AUTH_DIRECT;
	o.app_name = app;
	cr_assert_eq(tessera_open(&o, &cl), TESSERA_OK);
	return cl;
}

static void setup(void)
{
	td_start(&d, TWO_SOFTWARE);
	c = client_as("alice");
}

static void teardown(void)
{
	tessera_close(c);
	cr_assert_eq(td_stop(&d), 0);
}

TestSuite(providers, .init = setup, .fini = teardown, .timeout = 60);

static const struct tessera_key_spec p256 = {.type = "ecc",
                                             .bits = 256,
                                             .alg = "ecdsa-sha256",
                                             .usage = TESSERA_USAGE_SIGN_HASH |
                                                      TESSERA_USAGE_VERIFY_HASH};

static int sign(uint8_t provider, const char *name)
{
	uint8_t h[32] = {1, 2, 3}, *sig = NULL;
	size_t len = 0;
	int rc = tessera_sign_hash(c, provider, name, "ecdsa-sha256", h, sizeof(h), &sig, &len);

	if (rc == TESSERA_OK) {
		rc = tessera_verify_hash(c, provider, name, "ecdsa-sha256", h, sizeof(h), sig, len);
		free(sig);
	}
	return rc;
}

/* ListProviders with or without the extension field (1000, varint 1): how
 * many, and the IDs. */
static size_t count_providers(int extensions, uint32_t *ids, size_t max)
{
	static const uint8_t ext[] = {0xc0, 0x3e, 0x01};
	ListProviders__Result *res;
	struct td_resp r;
	size_t n;

	cr_assert_eq(td_call(&d, WIRE_OP_LIST_PROVIDERS, 0, 0, extensions ? ext : NULL,
	                     extensions ? sizeof(ext) : 0, NULL, 0, &r),
	             0);
	res = list_providers__result__unpack(NULL, r.body_len, r.body);
	cr_assert_not_null(res);
	n = res->n_providers;
	for (size_t i = 0; i < n && i < max; i++)
		ids[i] = res->providers[i]->id;
	list_providers__result__free_unpacked(res, NULL);
	td_resp_free(&r);
	return n;
}

Test(providers, a_second_instance_of_a_type_is_listed_only_on_request)
{
	uint32_t ids[8] = {0};
	struct tessera_provider_info *p;
	size_t n;

	/* What a Parsec client sees: the first instance and the core, nothing
	 * it would reject. */
	cr_assert_eq(count_providers(0, ids, 8), 2);
	cr_assert_eq(ids[0], 1);
	cr_assert_eq(ids[1], 0);
	cr_assert_eq(count_providers(1, ids, 8), 3);
	cr_assert_eq(ids[1], 0x80);
	/* libtessera asks, and sees the instance's ID and name. */
	cr_assert_eq(tessera_list_providers(c, &p, &n), TESSERA_OK);
	cr_assert_eq(n, 3);
	cr_assert_eq(p[0].id, 1);
	cr_assert_str_eq(p[0].name, "software-provider");
	cr_assert_eq(p[1].id, 0x80);
	cr_assert_str_eq(p[1].name, "second");
	cr_assert_eq(p[2].id, 0);
	tessera_provider_info_free(p, n);
}

Test(providers, two_software_instances_route_keys_to_the_one_that_holds_them)
{
	struct tessera_key_info *k;
	size_t n;
	uint32_t *ops;
	size_t n_ops;

	cr_assert_eq(tessera_generate_key(c, 1, "first-key", &p256), TESSERA_OK);
	cr_assert_eq(tessera_generate_key(c, 0x80, "second-key", &p256), TESSERA_OK);
	cr_assert_eq(sign(1, "first-key"), TESSERA_OK);
	cr_assert_eq(sign(0x80, "second-key"), TESSERA_OK);
	/* Through the other instance, each key does not exist. */
	cr_assert_eq(sign(0x80, "first-key"), 1140);
	cr_assert_eq(sign(1, "second-key"), 1140);
	cr_assert_eq(tessera_destroy_key(c, 1, "second-key"), 1140);
	/* Names are unique per tenant across instances. */
	cr_assert_eq(tessera_generate_key(c, 0x80, "first-key", &p256), 1139);
	/* ListKeys says which instance holds which. */
	cr_assert_eq(tessera_list_keys(c, &k, &n), TESSERA_OK);
	cr_assert_eq(n, 2);
	for (size_t i = 0; i < n; i++) {
		if (strcmp(k[i].name, "first-key") == 0) {
			cr_assert_eq(k[i].provider_id, 1);
			cr_assert_str_eq(k[i].provider_name, "software-provider");
		} else {
			cr_assert_str_eq(k[i].name, "second-key");
			cr_assert_eq(k[i].provider_id, 0x80);
			cr_assert_str_eq(k[i].provider_name, "second");
		}
	}
	tessera_key_info_free(k, n);
	/* A Parsec client's ListKeys leaves out what it cannot parse. */
	{
		static const uint8_t body[] = {0};
		struct td_resp r;

		cr_assert_eq(td_call(&d, WIRE_OP_LIST_KEYS, 0, 1, body, 0, "alice", 5, &r), 0);
		cr_assert_not_null(memmem(r.body, r.body_len, "first-key", 9));
		cr_assert_null(memmem(r.body, r.body_len, "second-key", 10));
		td_resp_free(&r);
	}
	/* The second instance serves the same operations. */
	cr_assert_eq(tessera_list_opcodes(c, 0x80, &ops, &n_ops), TESSERA_OK);
	cr_assert_gt(n_ops, 10);
	free(ops);
	cr_assert_eq(tessera_destroy_key(c, 0x80, "second-key"), TESSERA_OK);
	cr_assert_eq(sign(0x80, "second-key"), 1140);
}

Test(providers, an_unconfigured_extension_id_is_refused_like_any_unknown_provider)
{
	struct td_resp r;

	/* 0x81 is in the extension range but nothing has it: what Parsec
	 * answers for an ID it does not know (ProviderDoesNotExist, in the
	 * default header), and 0x80, which is configured, gets past it. */
	cr_assert_eq(td_call(&d, WIRE_OP_PSA_GENERATE_RANDOM, 0x81, 0, "\x08\x04", 2, NULL, 0, &r),
	             6);
	cr_assert_eq(r.h.opcode, WIRE_OP_PING);
	td_resp_free(&r);
	cr_assert_eq(td_call(&d, WIRE_OP_PSA_GENERATE_RANDOM, 0x80, 0, "\x08\x04", 2, NULL, 0, &r),
	             0);
	cr_assert_eq(r.h.provider, 0x80);
	cr_assert_eq(r.body_len, 6);
	td_resp_free(&r);
}

Test(providers, a_reload_keeps_the_running_providers_and_says_so)
{
	cr_assert_eq(tessera_generate_key(c, 0x80, "kept", &p256), TESSERA_OK);
	/* The second instance is gone from the file: the reload applies the
	 * rest and keeps both instances running until a restart. */
	td_write_config(&d, "{\"core\": {\"allow_root\": true, \"log_level\": \"debug\"},"
	                    " \"listener\": {\"socket_path\": \"%1$s\", \"timeout_ms\": 1000},"
	                    " \"authenticators\": [{\"type\": \"Direct\"}],"
	                    " \"providers\": [{\"type\": \"Software\"}]}");
	kill(d.pid, SIGHUP);
	for (int i = 0; i < td_scale(200) && td_log_count(&d, "configuration reloaded") == 0; i++)
		usleep(10000);
	cr_assert_eq(td_log_count(&d, "configuration reloaded"), 1);
	cr_assert_geq(td_log_count(&d, "the providers changed"), 1);
	cr_assert_eq(sign(0x80, "kept"), TESSERA_OK);
	/* A provider setting the type does not know: the whole reload is
	 * refused, naming the key. */
	td_write_config(&d,
	                "{\"core\": {\"allow_root\": true},"
	                " \"listener\": {\"socket_path\": \"%1$s\"},"
	                " \"providers\": [{\"type\": \"Software\", \"library_path\": \"/x\"}]}");
	kill(d.pid, SIGHUP);
	for (int i = 0; i < td_scale(200) && td_log_count(&d, "reload failed") == 0; i++)
		usleep(10000);
	cr_assert_eq(td_log_count(&d, "providers[0].library_path"), 1);
	cr_assert_eq(sign(1, "kept"), 1140);
	cr_assert_eq(sign(0x80, "kept"), TESSERA_OK);
}

/* tesserad --check-config FILE: its exit status, and what it printed. */
static int check_config(const char *json, char *out, size_t outlen)
{
	char path[160], cmd[400];
	FILE *f, *p;
	size_t got;
	int status;

	snprintf(path, sizeof(path), "%s/check.json", d.dir);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs(json, f);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "%s --check-config %s 2>&1", TESSERAD, path);
	p = popen(cmd, "r");
	cr_assert_not_null(p);
	got = fread(out, 1, outlen - 1, p);
	out[got] = '\0';
	status = pclose(p);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

Test(providers, check_config_checks_the_providers_own_settings)
{
	char out[1024];

	cr_assert_eq(check_config("{\"providers\": [{\"type\": \"Software\", \"name\": \"a\"},"
	                          " {\"type\": \"Software\", \"name\": \"b\"}]}",
	                          out, sizeof(out)),
	             0, "%s", out);
	cr_assert_eq(check_config("{\"providers\": [{\"type\": \"Software\"},"
	                          " {\"type\": \"Software\", \"name\": \"b\", \"pin\": \"1234\"}]}",
	                          out, sizeof(out)),
	             1);
	cr_assert(strstr(out, "providers[1].pin") != NULL, "%s", out);
	cr_assert_eq(
	        check_config(
	                "{\"providers\": [{\"type\": \"Software\"}, {\"type\": \"Software\"}]}",
	                out, sizeof(out)),
	        1);
	cr_assert(strstr(out, "same name") != NULL, "%s", out);
	/* The trusted peer's account is named, and a uid no account has is
	 * refused. */
	cr_assert_eq(check_config("{\"trust\": {\"peer_uid\": 0}}", out, sizeof(out)), 0, "%s",
	             out);
	cr_assert(strstr(out, "uid 0 (root)") != NULL, "%s", out);
	cr_assert_eq(check_config("{\"trust\": {\"peer_uid\": 4294967000}}", out, sizeof(out)), 1);
	cr_assert(strstr(out, "trust.peer_uid") != NULL, "%s", out);
}

/* ---- a key store of the previous release ---- */

#define V1_STATE TESSERA_SOURCE_DIR "/tests/data/keystore-v1-daemon"

TestSuite(upgrade, .timeout = 60);

Test(upgrade, a_key_store_written_by_the_previous_release_opens_and_works)
{
	uint8_t h[32], *sig = NULL, *pub = NULL;
	size_t siglen = 0, publen = 0, n;
	struct tessera_key_info *k;
	EVP_PKEY *pk;
	FILE *f;

	td_start_with_state(&d, TD_CONFIG_DEFAULT, V1_STATE);
	c = client_as("alice");
	/* Both keys, with their names, in the Software instance. */
	cr_assert_eq(tessera_list_keys(c, &k, &n), TESSERA_OK);
	cr_assert_eq(n, 2);
	for (size_t i = 0; i < n; i++) {
		cr_assert(strcmp(k[i].name, "imported") == 0 ||
		                  strcmp(k[i].name, "made-by-v1") == 0,
		          "%s", k[i].name);
		cr_assert_str_eq(k[i].provider_name, "software-provider");
	}
	tessera_key_info_free(k, n);
	/* The imported key signs, and its signature verifies under the public
	 * key it was made with, independently of tesserad. */
	memset(h, 0x5a, sizeof(h));
	cr_assert_eq(tessera_sign_hash(c, 1, "imported", "ecdsa-sha256", h, 32, &sig, &siglen),
	             TESSERA_OK);
	f = fopen(V1_STATE "/imported.pub.pem", "r");
	cr_assert_not_null(f);
	pk = PEM_read_PUBKEY(f, NULL, NULL, NULL);
	fclose(f);
	cr_assert_not_null(pk);
	{
		EVP_PKEY_CTX *vc = EVP_PKEY_CTX_new(pk, NULL);
		uint8_t der[80];
		size_t derlen;

		/* PSA signatures are r || s; OpenSSL verifies DER. */
		{
			ECDSA_SIG *es = ECDSA_SIG_new();
			unsigned char *p = der;

			ECDSA_SIG_set0(es, BN_bin2bn(sig, 32, NULL), BN_bin2bn(sig + 32, 32, NULL));
			derlen = (size_t)i2d_ECDSA_SIG(es, &p);
			ECDSA_SIG_free(es);
		}
		cr_assert_eq(EVP_PKEY_verify_init(vc), 1);
		cr_assert_eq(EVP_PKEY_verify(vc, der, derlen, h, 32), 1,
		             "the migrated key is not the imported one");
		EVP_PKEY_CTX_free(vc);
	}
	EVP_PKEY_free(pk);
	free(sig);
	/* The generated one works too, and new keys can be made. */
	cr_assert_eq(tessera_export_public_key(c, 1, "made-by-v1", &pub, &publen), TESSERA_OK);
	cr_assert_eq(publen, 65);
	free(pub);
	cr_assert_eq(tessera_generate_key(c, 1, "made-by-v2", &p256), TESSERA_OK);
	tessera_close(c);
	/* A restart finds the store already upgraded. */
	td_restart(&d, SIGTERM);
	c = client_as("alice");
	cr_assert_eq(tessera_list_keys(c, &k, &n), TESSERA_OK);
	cr_assert_eq(n, 3);
	tessera_key_info_free(k, n);
	tessera_close(c);
	{
		char db[200];
		sqlite3 *s3;
		sqlite3_stmt *st;
		int version = -1;

		snprintf(db, sizeof(db), "%s/keystore.sqlite3", d.dir);
		cr_assert_eq(sqlite3_open_v2(db, &s3, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
		cr_assert_eq(sqlite3_prepare_v2(s3,
		                                "SELECT value FROM meta WHERE key = "
		                                "'schema_version'",
		                                -1, &st, NULL),
		             SQLITE_OK);
		if (sqlite3_step(st) == SQLITE_ROW)
			version = sqlite3_column_int(st, 0);
		sqlite3_finalize(st);
		sqlite3_close(s3);
		cr_assert_eq(version, 2, "the store was not upgraded");
	}
	cr_assert_eq(td_stop(&d), 0);
}

Test(providers, a_second_daemon_on_the_same_store_refuses_to_start)
{
	char cmd[600], out[2048], pid[24];
	size_t got;
	FILE *p;
	int status;

	/* Same configuration and state directory, another socket. */
	snprintf(cmd, sizeof(cmd),
	         "timeout 30 %s --config %s --socket %s/second.sock --state-dir %s 2>&1", TESSERAD,
	         d.cfg, d.dir, d.dir);
	p = popen(cmd, "r");
	cr_assert_not_null(p);
	got = fread(out, 1, sizeof(out) - 1, p);
	out[got] = '\0';
	status = pclose(p);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 1, "status %d: %s", status, out);
	snprintf(pid, sizeof(pid), "process %d", (int)d.pid);
	cr_assert(strstr(out, pid) != NULL, "the holder is not named: %s", out);
	/* The first one serves on, its keys intact. */
	cr_assert_eq(tessera_generate_key(c, 1, "still-here", &p256), TESSERA_OK);
	cr_assert_eq(sign(1, "still-here"), TESSERA_OK);
}
