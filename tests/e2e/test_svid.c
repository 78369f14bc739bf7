/*
 * The real tesserad with a JwtSvid authenticator: JWT-SVIDs made here with
 * OpenSSL against a JWT bundle file in the daemon's temporary directory,
 * sent by libtessera and by the tessera command.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "client/tessera.h"
#include "harness.h"
#include "tests/common/svid-mint.h"

#define TESSERA  TESSERA_BUILD_DIR "/client/tessera"
#define TESSERAD TESSERA_BUILD_DIR "/daemon/tesserad"
#define APP      "spiffe://example.org/app"
#define OTHER    "spiffe://example.org/other"
#define AUTH_ERR 11 /* AuthenticationError */

static struct td d;
static EVP_PKEY *key;
static char bundle[192], token_file[192];

/* The bundle path is under the socket's directory: "%1$s" is the socket. */
#define SVID_CONFIG                                                                           \
	"{\"core\": {\"allow_root\": true, \"log_level\": \"debug\", \"log_error_details\": " \
	"true},"                                                                              \
	" \"listener\": {\"socket_path\": \"%1$s\", \"timeout_ms\": 1000},"                   \
	" \"authenticators\": [{\"type\": \"JwtSvid\", \"audience\": \"tessera\","            \
	"   \"clock_skew_s\": 5, \"admins\": [{\"name\": \"spiffe://example.org/admin\"}],"   \
	"   \"bundles\": [{\"trust_domain\": \"example.org\", \"path\": "                     \
	"\"%1$s.example.org.jwks\"}]},"                                                       \
	"  {\"type\": \"UnixPeerCredentials\"}],"                                             \
	" \"providers\": [{\"type\": \"Software\"}]}"

static void publish(EVP_PKEY *const *keys, const char *const *kids, size_t n)
{
	cr_assert_eq(mint_bundle(bundle, keys, kids, n), 0);
}

static void setup(void)
{
	key = mint_key("P-256");
	cr_assert_not_null(key);
	/* Start once to get the daemon's directory, then again with the
	 * bundle in it. */
	td_start(&d, TD_CONFIG_DEFAULT);
	snprintf(bundle, sizeof(bundle), "%s.example.org.jwks", d.sock);
	snprintf(token_file, sizeof(token_file), "%s/svid.token", d.dir);
	cr_assert_eq(td_halt(&d, SIGTERM), 0);
	publish(&key, (const char *[]){"k1"}, 1);
	td_write_config(&d, SVID_CONFIG);
	td_resume(&d);
}

static void teardown(void)
{
	EVP_PKEY_free(key);
	cr_assert_eq(td_stop(&d), 0);
}

TestSuite(svid, .init = setup, .fini = teardown, .timeout = 120);

/* A libtessera client sending the token (one connection per request when
 * persistent is 0, as Parsec clients do). */
static struct tessera_client *client_with(const char *token, const char *file)
{
	static char ep[160];
	struct tessera_options o;
	struct tessera_client *c;

	tessera_options_init(&o);
	snprintf(ep, sizeof(ep), "unix:%s", d.sock);
	o.endpoint = ep;
	o.auth_type = TESSERA_AUTH_JWT_SVID;
	o.jwt_svid = token;
	o.jwt_svid_file = file;
	cr_assert_eq(tessera_open(&o, &c), TESSERA_OK);
	return c;
}

static size_t count_keys(struct tessera_client *c, int *ret_rc)
{
	struct tessera_key_info *keys = NULL;
	size_t n = 0;

	*ret_rc = tessera_list_keys(c, &keys, &n);
	tessera_key_info_free(keys, n);
	return n;
}

static void write_token(const char *tok)
{
	cr_assert_eq(mint_write(token_file, tok), 0);
}

Test(svid, a_workload_owns_its_keys_by_spiffe_id_and_an_expired_token_is_refused)
{
	char *app_tok = mint_svid(key, "ES256", "k1", APP, "tessera", 300);
	char *other_tok = mint_svid(key, "ES256", "k1", OTHER, "tessera", 300);
	char *expired = mint_svid(key, "ES256", "k1", APP, "tessera", -60);
	struct tessera_key_spec p256 = {.type = "ecc",
	                                .bits = 256,
	                                .alg = "ecdsa-sha256",
	                                .usage = TESSERA_USAGE_SIGN_MESSAGE};
	struct tessera_client *app, *other, *old;
	uint8_t *sig = NULL;
	size_t sig_len = 0;
	int rc;

	app = client_with(app_tok, NULL);
	other = client_with(other_tok, NULL);
	old = client_with(expired, NULL);
	cr_assert_eq(tessera_generate_key(app, 1, "signer", &p256), TESSERA_OK);
	cr_assert_eq(count_keys(app, &rc), 1);
	cr_assert_eq(rc, TESSERA_OK);
	cr_assert_eq(tessera_sign_message(app, 1, "signer", "ecdsa-sha256", (const uint8_t *)"m", 1,
	                                  &sig, &sig_len),
	             TESSERA_OK);
	free(sig);
	/* Another SPIFFE ID of the same trust domain: no such key. */
	cr_assert_eq(count_keys(other, &rc), 0);
	cr_assert_eq(rc, TESSERA_OK);
	sig = NULL;
	cr_assert_eq(tessera_sign_message(other, 1, "signer", "ecdsa-sha256", (const uint8_t *)"m",
	                                  1, &sig, &sig_len),
	             1140 /* PsaErrorDoesNotExist */);
	cr_assert_eq(tessera_destroy_key(other, 1, "signer"), 1140);
	/* An expired token of the owner is no identity at all. */
	cr_assert_eq(count_keys(old, &rc), 0);
	cr_assert_eq(rc, AUTH_ERR);
	cr_assert_eq(tessera_destroy_key(old, 1, "signer"), AUTH_ERR);
	cr_assert_eq(count_keys(app, &rc), 1, "the key must survive");
	/* Auth bytes that are not UTF-8: InvalidEncoding (16), as Parsec answers. */
	cr_assert_eq(td_call(&d, WIRE_OP_LIST_KEYS, 0, 4, NULL, 0, "\xff\xfe", 2, NULL), 16);
	tessera_close(app);
	tessera_close(other);
	tessera_close(old);
	free(app_tok);
	free(other_tok);
	free(expired);
}

Test(svid, the_token_file_is_read_again_and_a_rotated_bundle_is_used_without_restart)
{
	EVP_PKEY *next = mint_key("P-384");
	char *tok1 = mint_svid(key, "ES256", "k1", APP, "tessera", 300);
	char *tok2 = mint_svid(next, "ES384", "k2", APP, "tessera", 300);
	struct tessera_client *c;
	int rc;

	cr_assert_not_null(next);
	write_token(tok1);
	c = client_with(NULL, token_file);
	count_keys(c, &rc);
	cr_assert_eq(rc, TESSERA_OK);
	/* SPIRE rotates the token: the next request sends the new one, which
	 * the daemon does not know the key of yet. */
	write_token(tok2);
	count_keys(c, &rc);
	cr_assert_eq(rc, AUTH_ERR, "the token file was not read again");
	/* The bundle gains the new key: accepted at the next request. */
	publish((EVP_PKEY *[]){key, next}, (const char *[]){"k1", "k2"}, 2);
	count_keys(c, &rc);
	cr_assert_eq(rc, TESSERA_OK, "the new bundle was not read");
	/* The old key is withdrawn: a token it signed stops working. */
	publish(&next, (const char *[]){"k2"}, 1);
	write_token(tok1);
	count_keys(c, &rc);
	cr_assert_eq(rc, AUTH_ERR, "a withdrawn key is still trusted");
	/* A file with no token is the client's error, not the daemon's. */
	write_token("\n");
	count_keys(c, &rc);
	cr_assert_eq(rc, TESSERA_ERR_CREDENTIAL);
	cr_assert_geq(td_log_count(&d, "was reloaded"), 2);
	tessera_close(c);
	EVP_PKEY_free(next);
	free(tok1);
	free(tok2);
}

/* Run a shell command; its exit status and output. */
static int run(char *out, size_t outlen, const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	FILE *p;
	size_t n;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	p = popen(cmd, "r");
	cr_assert_not_null(p);
	n = fread(out, 1, outlen - 1, p);
	out[n] = '\0';
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

Test(svid, the_tessera_command_takes_the_token_from_a_file_or_the_environment)
{
	char *tok = mint_svid(key, "ES256", "k1", APP, "tessera", 300);
	char *admin = mint_svid(key, "ES256", "k1", "spiffe://example.org/admin", "tessera", 300);
	char out[8192];

	write_token(tok);
	cr_assert_eq(run(out, sizeof(out),
	                 TESSERA " --endpoint unix:%s --auth jwt-svid --jwt-svid-file %s "
	                         "create-ecc-key from-cli 2>&1",
	                 d.sock, token_file),
	             0, "%s", out);
	cr_assert_eq(run(out, sizeof(out),
	                 "TESSERA_JWT_SVID='%s' " TESSERA " --endpoint unix:%s --auth jwt-svid "
	                 "list-keys 2>&1",
	                 tok, d.sock),
	             0, "%s", out);
	cr_assert(strstr(out, "from-cli") != NULL, "%s", out);
	cr_assert_eq(run(out, sizeof(out),
	                 "TESSERA_JWT_SVID_FILE=%s " TESSERA " --endpoint unix:%s --auth jwt-svid "
	                 "list-keys 2>&1",
	                 token_file, d.sock),
	             0, "%s", out);
	cr_assert(strstr(out, "from-cli") != NULL, "%s", out);
	/* The admin named by its SPIFFE ID sees the workload. */
	cr_assert_eq(run(out, sizeof(out),
	                 "TESSERA_JWT_SVID='%s' " TESSERA " --endpoint unix:%s --auth jwt-svid "
	                 "list-clients 2>&1",
	                 admin, d.sock),
	             0, "%s", out);
	cr_assert(strstr(out, APP) != NULL, "%s", out);
	cr_assert_eq(run(out, sizeof(out), TESSERA " --endpoint unix:%s list-authenticators 2>&1",
	                 d.sock),
	             0, "%s", out);
	cr_assert(strstr(out, "JwtSvid") != NULL, "%s", out);
	/* No token source: a usage error before any request. */
	cr_assert_eq(run(out, sizeof(out),
	                 "env -u TESSERA_JWT_SVID -u TESSERA_JWT_SVID_FILE " TESSERA
	                 " --endpoint unix:%s --auth jwt-svid list-keys 2>&1",
	                 d.sock),
	             2, "%s", out);
	cr_assert(strstr(out, "--jwt-svid-file") != NULL, "%s", out);
	free(tok);
	free(admin);
}

Test(svid, a_bundle_that_does_not_load_stops_the_start_naming_its_key_path)
{
	char out[4096];

	cr_assert_eq(td_halt(&d, SIGTERM), 0);
	cr_assert_eq(mint_write(bundle, "{\"keys\": 1}"), 0);
	cr_assert_eq(
	        run(out, sizeof(out),
	            "timeout 60 %s --config %s --socket %s/other.sock --state-dir %s --kek-file %s "
	            "2>&1",
	            TESSERAD, d.cfg, d.dir, d.dir, d.kek),
	        1, "%s", out);
	cr_assert(strstr(out, "authenticators[0].bundles[0].path") != NULL && strstr(out, bundle),
	          "%s", out);
	/* --check-config reads the bundles too. */
	cr_assert_eq(run(out, sizeof(out), "%s --check-config %s 2>&1", TESSERAD, d.cfg), 1, "%s",
	             out);
	cr_assert(strstr(out, "authenticators[0].bundles[0].path") != NULL, "%s", out);
	/* Repaired: the daemon starts again for the teardown. */
	publish(&key, (const char *[]){"k1"}, 1);
	cr_assert_eq(run(out, sizeof(out), "%s --check-config %s 2>&1", TESSERAD, d.cfg), 0, "%s",
	             out);
	cr_assert_eq(run(out, sizeof(out), "%s --check-config %s 2>&1", TESSERAD, d.cfg), 0, "%s",
	             out);
	td_resume(&d);
}
