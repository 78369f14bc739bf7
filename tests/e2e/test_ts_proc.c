/*
 * The Trusted Services provider against the test endpoint in a process of
 * its own (tests/tsfake/tsfake-server.c), reached through the provider's
 * real libts transport and the socket libts stand-in: tesserad killed
 * during creations and destructions leaves the endpoint and the key store
 * agreeing; the endpoint killed and started again alone is reconnected to;
 * an endpoint restart that loses volatile state ends the multipart
 * operations open in it; latency within and over a client's timeout.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sqlite3.h>

#include <openssl/evp.h>

#include "harness.h"
#include "psa/crypto.h"
#include "ts-e2e.h"
#include "tsfake-proc.h"

/* The persistent IDs the provider gives its keys in the partition
 * (providers/trusted_services/ts-priv.h, docs/trusted-services.md). */
#define ID_MIN 0x3f000000u
#define ID_MAX 0x3fffffffu

#define COMM_FAILURE 1145
#define NAMES        12
#define KILLS        8

static struct fake_proc fake;

static void start_daemon(void)
{
	static char config[1024];

	snprintf(config, sizeof(config),
	         "%s \"providers\": [{\"type\": \"TrustedService\", \"transport\": \"libts\","
	         " \"libts_path\": \"%s\"}, {\"type\": \"Software\"}]}",
	         CONFIG_HEAD, FAKE_SOCK_LIBTS);
	td_start(&d, config);
}

static void setup(void)
{
	make_store();
	unsetenv("TSFAKE_LATENCY_MS");
	fake_start(&fake, store_dir);
	start_daemon();
	c = client_as("alice");
}

static void teardown(void)
{
	tessera_close(c);
	c = NULL;
	cr_assert_eq(td_stop(&d), 0);
	/* A clean stop is exit 0 (a sanitizer's report is not). */
	cr_assert_eq(fake_stop(&fake, SIGTERM), 0, "tsfake-server did not stop cleanly");
	remove_store();
}

TestSuite(ts_proc, .init = setup, .fini = teardown, .timeout = 600);

static int sign_with(struct tessera_client *cl, const char *name)
{
	uint8_t h[32], *sig = NULL;
	size_t hl, sl = 0;
	int rc;

	sha(EVP_sha256(), name, strlen(name), h, &hl);
	rc = tessera_sign_hash(cl, TS, name, "ecdsa-sha256", h, hl, &sig, &sl);
	free(sig);
	return rc;
}

Test(ts_proc, a_key_made_in_the_other_process_signs_what_openssl_verifies)
{
	uint32_t ids[16];

	ecdsa_round_trip(256, "ecdsa-sha256", EVP_sha256(), "prime256v1");
	cr_assert_eq(fake_key_ids(&fake, ids, 16), 1, "the key is in the endpoint's process");
	cr_assert(ids[0] >= ID_MIN && ids[0] <= ID_MAX, "with an ID of the daemon's range");
}

/* ---- tesserad killed during creations and destructions ---- */

/* What the looping client did, appended to a file as it goes: an intent
 * before each request, its outcome after. */
struct rec {
	uint8_t name;
	uint8_t what; /* 0 intent, 1 created, 2 destroyed */
	int32_t status;
};

static volatile sig_atomic_t stop_loop;

static void on_term(int sig)
{
	(void)sig;
	stop_loop = 1;
}

static struct tessera_client *loop_client(void)
{
	struct tessera_options o;
	struct tessera_client *cl = NULL;
	static char ep[160];

	tessera_options_init(&o);
	snprintf(ep, sizeof(ep), "unix:%s", d.sock);
	o.endpoint = ep;
	o.auth_type = TESSERA_AUTH_DIRECT;
	o.app_name = "looper";
	o.timeout_ms = (unsigned)td_scale(30000);
	return tessera_open(&o, &cl) == TESSERA_OK ? cl : NULL;
}

/* The forked client: create and destroy keys until SIGTERM, without
 * assertions (the parent judges from the records). */
static void looper(const char *log_path)
{
	struct sigaction sa = {.sa_handler = on_term};
	struct tessera_client *cl = NULL;
	bool present[NAMES] = {false};
	unsigned seed = 1201;
	int log = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);

	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	while (!stop_loop && log >= 0) {
		int i = rand_r(&seed) % NAMES, st;
		char name[16];
		struct rec r = {.name = (uint8_t)i};

		if (cl == NULL && (cl = loop_client()) == NULL) {
			usleep(5000);
			continue;
		}
		snprintf(name, sizeof(name), "k%02d", i);
		if (write(log, &r, sizeof(r)) != (ssize_t)sizeof(r))
			break;
		if (present[i]) {
			st = tessera_destroy_key(cl, TS, name);
			r.what = 2;
			present[i] = !(st == 0 || st == 1140);
		} else {
			st = tessera_generate_key(cl, TS, name, &p256);
			r.what = 1;
			present[i] = st == 0 || st == 1139;
		}
		r.status = st;
		if (write(log, &r, sizeof(r)) != (ssize_t)sizeof(r))
			break;
		if (st < 0) { /* the daemon went away: a new connection */
			tessera_close(cl);
			cl = NULL;
			usleep(5000);
		}
	}
	tessera_close(cl);
	_exit(0);
}

enum known { ABSENT, PRESENT, UNKNOWN };

struct loop_stats {
	unsigned ok, cut;
};

/* Each name's state as the client saw it acknowledged. */
static void replay(const char *log_path, enum known *state, struct loop_stats *stats)
{
	FILE *fp = fopen(log_path, "rb");
	struct rec r;

	cr_assert_not_null(fp);
	for (int i = 0; i < NAMES; i++)
		state[i] = ABSENT;
	while (fread(&r, sizeof(r), 1, fp) == 1) {
		cr_assert_lt(r.name, NAMES);
		if (r.what == 0) {
			state[r.name] = UNKNOWN; /* until its outcome, if any */
			continue;
		}
		if (r.status == 0)
			stats->ok++;
		else if (r.status < 0)
			stats->cut++;
		if (r.what == 1 && (r.status == 0 || r.status == 1139))
			state[r.name] = PRESENT;
		else if (r.what == 2 && (r.status == 0 || r.status == 1140))
			state[r.name] = ABSENT;
		else
			state[r.name] = UNKNOWN;
	}
	fclose(fp);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* The key store's records of the looping client: name index → partition
 * ID (ids[i] 0 when it has none); every record must be a finished one. */
static void store_records(uint32_t ids[NAMES])
{
	char db[160];
	sqlite3 *h;
	sqlite3_stmt *st;

	memset(ids, 0, NAMES * sizeof(ids[0]));
	snprintf(db, sizeof(db), "%s/keystore.sqlite3", d.dir);
	cr_assert_eq(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	cr_assert_eq(sqlite3_prepare_v2(h, "SELECT name, ref, state FROM keys WHERE app = 'looper'",
	                                -1, &st, NULL),
	             SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0);
		const uint8_t *ref = sqlite3_column_blob(st, 1);
		int i;

		cr_assert(name != NULL && sscanf(name, "k%d", &i) == 1 && i >= 0 && i < NAMES);
		cr_assert_eq(sqlite3_column_bytes(st, 1), 4, "a partition ID is the reference");
		cr_assert_eq(sqlite3_column_int(st, 2), 2,
		             "%s: recovery left a half-finished record", name);
		ids[i] = (uint32_t)ref[0] << 24 | (uint32_t)ref[1] << 16 | (uint32_t)ref[2] << 8 |
		         ref[3];
	}
	sqlite3_finalize(st);
	sqlite3_close(h);
}

Test(ts_proc, sigkill_of_tesserad_leaves_no_orphan_and_loses_no_key_in_the_endpoint)
{
	char log_path[160];
	enum known state[NAMES];
	struct loop_stats stats = {0};
	uint32_t known[NAMES], in_store[NAMES], in_fake[256], ours[256];
	size_t n_store = 0, n_fake, n_ours = 0;
	unsigned seed = 20261201;
	struct tessera_client *cl;
	pid_t child;
	int status;

	snprintf(log_path, sizeof(log_path), "%s/ops.log", store_dir);
	child = td_fork();
	cr_assert_neq(child, -1);
	if (child == 0)
		looper(log_path);
	for (int i = 0; i < KILLS; i++) {
		usleep((useconds_t)td_scale(40 + (int)(rand_r(&seed) % 200)) * 1000);
		td_restart(&d, SIGKILL);
	}
	usleep((useconds_t)td_scale(200) * 1000); /* some requests after the last start */
	kill(child, SIGTERM);
	cr_assert_eq(waitpid(child, &status, 0), child);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* Nothing is in flight now; one more crash, and recovery on start. */
	td_restart(&d, SIGKILL);

	replay(log_path, state, &stats);
	fprintf(stderr, "ts_proc: %u requests succeeded, %u cut by %d kills\n", stats.ok, stats.cut,
	        KILLS);
	cr_assert_gt(stats.ok, 10, "too few requests succeeded to mean anything");

	/* What the client saw acknowledged is what the daemon has. */
	cl = client_as("looper");
	for (int i = 0; i < NAMES; i++) {
		char name[16];
		int st;

		snprintf(name, sizeof(name), "k%02d", i);
		st = sign_with(cl, name);
		if (state[i] == PRESENT)
			cr_assert_eq(st, 0, "%s was acknowledged created but does not sign: %d",
			             name, st);
		else if (state[i] == ABSENT)
			cr_assert_eq(st, 1140, "%s was acknowledged destroyed but exists: %d", name,
			             st);
		else
			cr_assert(st == 0 || st == 1140, "%s: %d", name, st);
	}
	tessera_close(cl);

	/* The key store and the endpoint hold the same partition IDs. */
	store_records(known);
	for (int i = 0; i < NAMES; i++) {
		if (state[i] == PRESENT)
			cr_assert_neq(known[i], 0, "k%02d lost from the key store", i);
		if (known[i] != 0)
			in_store[n_store++] = known[i];
	}
	n_fake = fake_key_ids(&fake, in_fake, 256);
	for (size_t i = 0; i < n_fake; i++)
		if (in_fake[i] >= ID_MIN && in_fake[i] <= ID_MAX)
			ours[n_ours++] = in_fake[i];
	qsort(in_store, n_store, sizeof(in_store[0]), cmp_u32);
	qsort(ours, n_ours, sizeof(ours[0]), cmp_u32);
	for (size_t i = 0; i < n_store && i < n_ours; i++)
		cr_assert_eq(in_store[i], ours[i],
		             "the key store knows %#x, the endpoint %#x (an orphan or a lost key)",
		             in_store[i], ours[i]);
	cr_assert_eq(n_store, n_ours,
	             "%zu keys in the key store, %zu of the daemon's range in the endpoint",
	             n_store, n_ours);
}

/* ---- the endpoint killed and started again alone ---- */

Test(ts_proc, the_endpoint_killed_and_restarted_alone_is_reconnected_to)
{
	uint8_t *rnd = NULL;
	EVP_PKEY *pk;
	uint8_t h[32], *sig = NULL;
	size_t hl, sl = 0;
	int rc;

	cr_assert_eq(tessera_generate_key(c, TS, "kept", &p256), TESSERA_OK);
	cr_assert_eq(sign_with(c, "kept"), 0);
	pk = exported_ec(c, "kept", "prime256v1");

	fake_stop(&fake, SIGKILL);
	/* Down: a clear status, and the daemon serves its other provider. */
	rc = sign_with(c, "kept");
	cr_assert_eq(rc, COMM_FAILURE, "with the endpoint gone: %d %s", rc, tessera_strerror(rc));
	rc = sign_with(c, "kept");
	cr_assert_eq(rc, COMM_FAILURE, "still gone: %d", rc);
	cr_assert_eq(tessera_generate_random(c, SW, 16, &rnd), TESSERA_OK);
	free(rnd);

	/* Back: the session was marked broken, so the next request reconnects. */
	fake_start(&fake, store_dir);
	sha(EVP_sha256(), "after the restart", 17, h, &hl);
	rc = tessera_sign_hash(c, TS, "kept", "ecdsa-sha256", h, hl, &sig, &sl);
	cr_assert_eq(rc, TESSERA_OK, "the first request after the restart: %d", rc);
	cr_assert(openssl_ecdsa_ok(pk, h, hl, sig, sl), "the persistent key signs as before");
	free(sig);

	/* Killed and restarted between two requests: the first one meets the
	 * dead session (a clear status), the next goes through. */
	fake_stop(&fake, SIGKILL);
	fake_start(&fake, store_dir);
	rc = sign_with(c, "kept");
	cr_assert(rc == TESSERA_OK || rc == COMM_FAILURE, "%d %s", rc, tessera_strerror(rc));
	cr_assert_eq(sign_with(c, "kept"), TESSERA_OK);
	cr_assert_eq(tessera_generate_key(c, TS, "new", &p256), TESSERA_OK);
	cr_assert_eq(sign_with(c, "new"), TESSERA_OK);
	EVP_PKEY_free(pk);
}

/* ---- an endpoint restart that loses volatile state ---- */

static void psa_init_on_daemon(const char *app)
{
	static char ep[160];

	snprintf(ep, sizeof(ep), "unix:%s", d.sock);
	setenv("TESSERA_ENDPOINT", ep, 1);
	setenv("TESSERA_AUTH", "direct", 1);
	setenv("TESSERA_APP_NAME", app, 1);
	unsetenv("TESSERA_PSA_PROVIDER");
	cr_assert_eq(psa_crypto_init(), PSA_SUCCESS);
}

static psa_key_id_t psa_key(psa_key_id_t id, psa_key_type_t type, size_t bits,
                            psa_key_usage_t usage, psa_algorithm_t alg)
{
	psa_key_attributes_t a = PSA_KEY_ATTRIBUTES_INIT;
	psa_key_id_t got = 0;

	psa_set_key_id(&a, id);
	psa_set_key_type(&a, type);
	psa_set_key_bits(&a, bits);
	psa_set_key_usage_flags(&a, usage);
	psa_set_key_algorithm(&a, alg);
	cr_assert_eq(psa_generate_key(&a, &got), PSA_SUCCESS);
	return got;
}

/* A MAC and a cipher operation open in the partition across requests, the
 * partition restarted under them (by restart()), then: both answer
 * BadState (the first one CommunicationFailure instead when the restart
 * broke the session: session_lost), new ones work, the persistent keys are
 * unaffected. */
static void multipart_across(void (*restart)(void), bool session_lost)
{
	static const uint8_t text[200] = {1, 2, 3};
	const psa_algorithm_t hmac = PSA_ALG_HMAC(PSA_ALG_SHA_256);
	psa_mac_operation_t mop = PSA_MAC_OPERATION_INIT;
	psa_cipher_operation_t cop = PSA_CIPHER_OPERATION_INIT;
	uint8_t iv[16] = {9}, out[512], mac[32], mac1[32], h[32], sig[64];
	size_t n = 0, ml = 0, m1 = 0, sl = 0, hl = 0;
	psa_key_id_t hk, ck, ek;
	psa_status_t st;

	psa_init_on_daemon("multipart");
	hk = psa_key(301, PSA_KEY_TYPE_HMAC, 256,
	             PSA_KEY_USAGE_SIGN_MESSAGE | PSA_KEY_USAGE_VERIFY_MESSAGE, hmac);
	ck = psa_key(302, PSA_KEY_TYPE_AES, 128, PSA_KEY_USAGE_ENCRYPT | PSA_KEY_USAGE_DECRYPT,
	             PSA_ALG_CBC_NO_PADDING);
	ek = psa_key(303, PSA_KEY_TYPE_ECC_KEY_PAIR(PSA_ECC_FAMILY_SECP_R1), 256,
	             PSA_KEY_USAGE_SIGN_HASH | PSA_KEY_USAGE_VERIFY_HASH,
	             PSA_ALG_ECDSA(PSA_ALG_SHA_256));
	cr_assert_eq(psa_mac_sign_setup(&mop, hk, hmac), PSA_SUCCESS);
	cr_assert_eq(psa_mac_update(&mop, text, 100), PSA_SUCCESS);
	cr_assert_eq(psa_cipher_encrypt_setup(&cop, ck, PSA_ALG_CBC_NO_PADDING), PSA_SUCCESS);
	cr_assert_eq(psa_cipher_set_iv(&cop, iv, sizeof(iv)), PSA_SUCCESS);
	cr_assert_eq(psa_cipher_update(&cop, text, 32, out, sizeof(out), &n), PSA_SUCCESS);

	restart();

	st = psa_mac_update(&mop, text + 100, 100);
	cr_assert(st == PSA_ERROR_BAD_STATE ||
	                  (session_lost && st == PSA_ERROR_COMMUNICATION_FAILURE),
	          "a MAC whose context the partition lost: %d", st);
	cr_assert_eq(psa_mac_abort(&mop), PSA_SUCCESS);
	st = psa_cipher_update(&cop, text + 32, 32, out, sizeof(out), &n);
	cr_assert_eq(st, PSA_ERROR_BAD_STATE, "a cipher whose context the partition lost: %d", st);
	cr_assert_eq(psa_cipher_abort(&cop), PSA_SUCCESS);

	/* New operations work, on the same (persistent) keys. */
	cr_assert_eq(psa_mac_sign_setup(&mop, hk, hmac), PSA_SUCCESS);
	cr_assert_eq(psa_mac_update(&mop, text, 100), PSA_SUCCESS);
	cr_assert_eq(psa_mac_update(&mop, text + 100, 100), PSA_SUCCESS);
	cr_assert_eq(psa_mac_sign_finish(&mop, mac, sizeof(mac), &ml), PSA_SUCCESS);
	cr_assert_eq(psa_mac_compute(hk, hmac, text, sizeof(text), mac1, sizeof(mac1), &m1),
	             PSA_SUCCESS);
	cr_assert_eq(ml, m1);
	cr_assert_eq(memcmp(mac, mac1, ml), 0);
	cr_assert_eq(psa_cipher_encrypt_setup(&cop, ck, PSA_ALG_CBC_NO_PADDING), PSA_SUCCESS);
	cr_assert_eq(psa_cipher_set_iv(&cop, iv, sizeof(iv)), PSA_SUCCESS);
	cr_assert_eq(psa_cipher_update(&cop, text, 64, out, sizeof(out), &n), PSA_SUCCESS);
	cr_assert_eq(n, 64);
	cr_assert_eq(psa_cipher_finish(&cop, out + n, sizeof(out) - n, &n), PSA_SUCCESS);
	sha(EVP_sha256(), text, sizeof(text), h, &hl);
	cr_assert_eq(
	        psa_sign_hash(ek, PSA_ALG_ECDSA(PSA_ALG_SHA_256), h, hl, sig, sizeof(sig), &sl),
	        PSA_SUCCESS);
	cr_assert_eq(psa_verify_hash(ek, PSA_ALG_ECDSA(PSA_ALG_SHA_256), h, hl, sig, sl),
	             PSA_SUCCESS);
	cr_assert_eq(psa_destroy_key(hk), PSA_SUCCESS);
	cr_assert_eq(psa_destroy_key(ck), PSA_SUCCESS);
	cr_assert_eq(psa_destroy_key(ek), PSA_SUCCESS);
}

static void restart_by_message(void)
{
	size_t n;

	cr_assert_eq(fake_ctl(&fake, FAKE_CTL_RESTART, NULL, 0, NULL, 0, &n), 0);
}

static void restart_by_sighup(void)
{
	/* Seen by the server before the next request it reads. */
	cr_assert_eq(kill(fake.pid, SIGHUP), 0);
}

static void restart_by_kill(void)
{
	/* The process gone: the daemon's session too, reopened on the next
	 * request (which may fail). */
	fake_stop(&fake, SIGKILL);
	fake_start(&fake, store_dir);
}

Test(ts_proc, a_restart_losing_volatile_state_ends_open_multipart_operations)
{
	multipart_across(restart_by_message, false);
}

Test(ts_proc, a_sighup_restart_ends_open_multipart_operations)
{
	multipart_across(restart_by_sighup, false);
}

Test(ts_proc, multipart_operations_of_a_killed_endpoint_answer_bad_state)
{
	multipart_across(restart_by_kill, true);
}

/* ---- latency ---- */

Test(ts_proc, requests_succeed_with_latency_in_the_endpoint)
{
	int rc;

	/* The server started again with TSFAKE_LATENCY_MS set. */
	fake_stop(&fake, SIGTERM);
	cr_assert_eq(setenv("TSFAKE_LATENCY_MS", "50", 1), 0);
	fake_start(&fake, store_dir);
	unsetenv("TSFAKE_LATENCY_MS");
	/* The first request meets the old session gone; then every one works. */
	rc = tessera_generate_key(c, TS, "warm", &p256);
	cr_assert(rc == TESSERA_OK || rc == COMM_FAILURE, "%d %s", rc, tessera_strerror(rc));
	ecdsa_round_trip(256, "ecdsa-sha256", EVP_sha256(), "prime256v1");
}

Test(ts_proc, latency_over_the_client_timeout_is_a_timeout_and_the_daemon_keeps_serving)
{
	struct tessera_options o;
	struct tessera_client *slow;
	static char ep[160];
	uint8_t *rnd = NULL;
	int timeout = td_scale(500), rc;

	cr_assert_eq(tessera_generate_key(c, TS, "k", &p256), TESSERA_OK);
	tessera_options_init(&o);
	snprintf(ep, sizeof(ep), "unix:%s", d.sock);
	o.endpoint = ep;
	o.auth_type = TESSERA_AUTH_DIRECT;
	o.app_name = "alice";
	o.timeout_ms = (unsigned)timeout;
	cr_assert_eq(tessera_open(&o, &slow), TESSERA_OK);

	fake_set_latency(&fake, (unsigned)(4 * timeout));
	rc = sign_with(slow, "k");
	cr_assert_eq(rc, TESSERA_ERR_TIMEOUT, "%d %s", rc, tessera_strerror(rc));
	tessera_close(slow);
	/* While the partition is slow, the other provider answers. */
	cr_assert_eq(tessera_generate_random(c, SW, 16, &rnd), TESSERA_OK);
	free(rnd);
	/* Back to speed (the message waits for the slow call): TS serves again. */
	fake_set_latency(&fake, 0);
	cr_assert_eq(sign_with(c, "k"), TESSERA_OK);
}

/* ---- forced statuses and damaged answers ---- */

/* Each fault of the endpoint in its own process gives the status the
 * in-process stand-in's does (test_ts.c, test_ts_provider.c), the other
 * provider answers meanwhile, and the partition serves again once the
 * fault is gone. */
Test(ts_proc, each_fault_of_the_endpoint_is_a_clear_status_and_the_daemon_keeps_serving)
{
	static const struct {
		int32_t rpc, service;
		uint32_t damage;
		int want;
		const char *what;
	} faults[] = {
	        {-5, 0, FAKE_DAMAGE_NONE, COMM_FAILURE, "FF-A transport failure"},
	        {-1, 0, FAKE_DAMAGE_NONE, COMM_FAILURE, "RPC internal error"},
	        {-8, 0, FAKE_DAMAGE_NONE, 1141, "resource failure: InsufficientMemory"},
	        {0, -147, FAKE_DAMAGE_NONE, 1147, "PSA_ERROR_HARDWARE_FAILURE"},
	        {0, -146, FAKE_DAMAGE_NONE, 1146, "PSA_ERROR_STORAGE_FAILURE"},
	        {0, 0, FAKE_DAMAGE_TRUNCATE, COMM_FAILURE, "a truncated answer"},
	        {0, 0, FAKE_DAMAGE_OVERSIZE, COMM_FAILURE, "an answer over the buffer"},
	};
	uint8_t *rnd = NULL;

	cr_assert_eq(tessera_generate_key(c, TS, "k", &p256), TESSERA_OK);
	for (size_t i = 0; i < sizeof(faults) / sizeof(faults[0]); i++) {
		int rc;

		fake_set_fault(&fake, faults[i].rpc, faults[i].service, faults[i].damage);
		rc = sign_with(c, "k");
		cr_assert_eq(rc, faults[i].want, "%s: %d %s", faults[i].what, rc,
		             tessera_strerror(rc));
		rc = sign_with(c, "k");
		cr_assert_eq(rc, faults[i].want, "%s again: %d", faults[i].what, rc);
		cr_assert_eq(tessera_generate_random(c, SW, 16, &rnd), TESSERA_OK);
		free(rnd);
		fake_set_fault(&fake, 0, 0, FAKE_DAMAGE_NONE);
		cr_assert_eq(sign_with(c, "k"), TESSERA_OK, "after %s", faults[i].what);
	}
	cr_assert_eq(tessera_destroy_key(c, TS, "k"), TESSERA_OK);
	cr_assert_eq(fake_key_ids(&fake, NULL, 0), 0);
}

/* The same switches from the server's environment at start, as the
 * in-process stand-in reads them. */
Test(ts_proc, faults_from_the_endpoints_environment)
{
	int rc;

	cr_assert_eq(tessera_generate_key(c, TS, "k", &p256), TESSERA_OK);
	fake_stop(&fake, SIGTERM);
	cr_assert_eq(setenv("TSFAKE_FAULT", "0,-147", 1), 0);
	fake_start(&fake, store_dir);
	unsetenv("TSFAKE_FAULT");
	/* The first request may meet the old session gone. */
	rc = sign_with(c, "k");
	cr_assert(rc == 1147 || rc == COMM_FAILURE, "%d %s", rc, tessera_strerror(rc));
	cr_assert_eq(sign_with(c, "k"), 1147);
	fake_stop(&fake, SIGTERM);
	cr_assert_eq(setenv("TSFAKE_RESPONSE", "truncate", 1), 0);
	fake_start(&fake, store_dir);
	unsetenv("TSFAKE_RESPONSE");
	cr_assert_eq(sign_with(c, "k"), COMM_FAILURE);
	cr_assert_eq(sign_with(c, "k"), COMM_FAILURE);
	fake_set_fault(&fake, 0, 0, FAKE_DAMAGE_NONE);
	cr_assert_eq(sign_with(c, "k"), TESSERA_OK);
}
