/*
 * Crash consistency: tesserad is SIGKILLed at random moments while a client
 * creates and destroys keys and another signs with them and asks for random
 * bytes (on the event loops, while the first one's work is on workers).
 * Requests never get a status a crash cannot explain, and afterwards every
 * key the client saw created
 * (and not destroyed) signs, no key it saw destroyed or fail exists, and the
 * key store holds no half-finished record.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <sqlite3.h>

#include "harness.h"
#include "psa_destroy_key.pb-c.h"
#include "psa_generate_key.pb-c.h"
#include "psa_generate_random.pb-c.h"
#include "psa_sign_hash.pb-c.h"

#define NAMES  16
#define KILLS  12
#define SHA256 PSA_ALGORITHM__ALGORITHM__HASH__SHA_256

static struct td d;
static atomic_int stop;

/* What the client knows of each name: */
enum known { ABSENT, PRESENT, UNKNOWN };

/* One request without assertions: status, or -1 when the daemon was not
 * there or went away (the outcome is then unknown). */
static int try_call(uint32_t opcode, const ProtobufCMessage *m)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	uint8_t body[1024], req[2048];
	struct wire_header h;
	struct td_resp r;
	size_t n = protobuf_c_message_pack(m, body);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), st = -1;

	strcpy(sa.sun_path, d.sock);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		goto out;
	wire_header_request(&h, opcode, 1, 1, (uint32_t)n, 4);
	wire_header_encode(&h, req);
	memcpy(req + WIRE_HEADER_LEN, body, n);
	memcpy(req + WIRE_HEADER_LEN + n, "eric", 4);
	if (td_send_all(fd, req, WIRE_HEADER_LEN + n + 4) < 0)
		goto out;
	if (td_read_response(fd, &r, 5000) == 0) {
		st = r.h.status;
		td_resp_free(&r);
	}
out:
	if (fd >= 0)
		close(fd);
	return st;
}

static PsaKeyAttributes__KeyType__EccKeyPair ecc = PSA_KEY_ATTRIBUTES__KEY_TYPE__ECC_KEY_PAIR__INIT;
static PsaKeyAttributes__KeyType type = PSA_KEY_ATTRIBUTES__KEY_TYPE__INIT;
static PsaKeyAttributes__UsageFlags usage = PSA_KEY_ATTRIBUTES__USAGE_FLAGS__INIT;
static PsaAlgorithm__Algorithm__AsymmetricSignature__SignHash sh =
        PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_SIGNATURE__SIGN_HASH__INIT;
static PsaAlgorithm__Algorithm__AsymmetricSignature__Ecdsa ecdsa =
        PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_SIGNATURE__ECDSA__INIT;
static PsaAlgorithm__Algorithm__AsymmetricSignature sig =
        PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_SIGNATURE__INIT;
static PsaAlgorithm__Algorithm alg = PSA_ALGORITHM__ALGORITHM__INIT;
static PsaKeyAttributes__KeyPolicy policy = PSA_KEY_ATTRIBUTES__KEY_POLICY__INIT;
static PsaKeyAttributes__KeyAttributes attrs = PSA_KEY_ATTRIBUTES__KEY_ATTRIBUTES__INIT;

static void init_attrs(void)
{
	ecc.curve_family = PSA_KEY_ATTRIBUTES__KEY_TYPE__ECC_FAMILY__SECP_R1;
	type.variant_case = PSA_KEY_ATTRIBUTES__KEY_TYPE__VARIANT_ECC_KEY_PAIR;
	type.ecc_key_pair = &ecc;
	usage.sign_hash = 1;
	sh.variant_case =
	        PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_SIGNATURE__SIGN_HASH__VARIANT_SPECIFIC;
	sh.specific = SHA256;
	ecdsa.hash_alg = &sh;
	sig.variant_case = PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_SIGNATURE__VARIANT_ECDSA;
	sig.ecdsa = &ecdsa;
	alg.variant_case = PSA_ALGORITHM__ALGORITHM__VARIANT_ASYMMETRIC_SIGNATURE;
	alg.asymmetric_signature = &sig;
	policy.key_usage_flags = &usage;
	policy.key_algorithm = &alg;
	attrs.key_type = &type;
	attrs.key_bits = 256;
	attrs.key_policy = &policy;
}

static int op_create(const char *name)
{
	PsaGenerateKey__Operation op = PSA_GENERATE_KEY__OPERATION__INIT;

	op.key_name = (char *)name;
	op.attributes = &attrs;
	return try_call(WIRE_OP_PSA_GENERATE_KEY, &op.base);
}

static int op_destroy(const char *name)
{
	PsaDestroyKey__Operation op = PSA_DESTROY_KEY__OPERATION__INIT;

	op.key_name = (char *)name;
	return try_call(WIRE_OP_PSA_DESTROY_KEY, &op.base);
}

static int op_sign(const char *name)
{
	PsaSignHash__Operation op = PSA_SIGN_HASH__OPERATION__INIT;
	static uint8_t hash[32] = {7};

	op.key_name = (char *)name;
	op.alg = &sig;
	op.hash.data = hash;
	op.hash.len = 32;
	return try_call(WIRE_OP_PSA_SIGN_HASH, &op.base);
}

/* Signs with any of the names and asks for random bytes until the kills
 * end: a key exists or not (0 or DoesNotExist), or the daemon was away. */
struct mixed {
	unsigned signed_ok, random_ok, odd;
	int odd_status;
};

static void *mixer(void *arg)
{
	struct mixed *m = arg;
	unsigned seed = 99;

	while (!atomic_load(&stop)) {
		PsaGenerateRandom__Operation rnd = PSA_GENERATE_RANDOM__OPERATION__INIT;
		char name[16];
		int st;

		snprintf(name, sizeof(name), "k%02d", rand_r(&seed) % NAMES);
		st = op_sign(name);
		if (st == 0)
			m->signed_ok++;
		else if (st != 1140 && st != -1)
			m->odd++, m->odd_status = st;
		rnd.size = 32;
		st = try_call(WIRE_OP_PSA_GENERATE_RANDOM, &rnd.base);
		if (st == 0)
			m->random_ok++;
		else if (st != -1)
			m->odd++, m->odd_status = st;
		if (st == -1)
			usleep(5000);
	}
	return NULL;
}

/* Kill the daemon at random moments and start it again. */
static void *killer(void *arg)
{
	unsigned seed = 20261122;

	(void)arg;
	for (int i = 0; i < KILLS; i++) {
		usleep((useconds_t)td_scale(20 + (int)(rand_r(&seed) % 150)) * 1000);
		td_restart(&d, SIGKILL);
	}
	atomic_store(&stop, 1);
	return NULL;
}

static int count_unfinished(const char *db)
{
	sqlite3 *h;
	sqlite3_stmt *st;
	int n = -1;

	cr_assert_eq(sqlite3_open(db, &h), SQLITE_OK);
	cr_assert_eq(
	        sqlite3_prepare_v2(h, "SELECT count(*) FROM keys WHERE state != 2", -1, &st, NULL),
	        SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(h);
	return n;
}

Test(crash, sigkill_during_creates_and_destroys, .timeout = 300)
{
	enum known state[NAMES];
	char name[NAMES][16];
	struct mixed mix = {0};
	pthread_t t, tm;
	unsigned seed = 7, ops = 0, ok = 0, unknown = 0;
	char db[160];

	init_attrs();
	td_start(&d, TD_CONFIG_DEFAULT);
	for (int i = 0; i < NAMES; i++) {
		snprintf(name[i], sizeof(name[i]), "k%02d", i);
		state[i] = ABSENT;
	}
	cr_assert_eq(pthread_create(&t, NULL, killer, NULL), 0);
	cr_assert_eq(pthread_create(&tm, NULL, mixer, &mix), 0);
	while (!atomic_load(&stop)) {
		int i = rand_r(&seed) % NAMES, st;

		if (state[i] == PRESENT || (state[i] == UNKNOWN && rand_r(&seed) % 2)) {
			st = op_destroy(name[i]);
			if (st == 0 || st == 1140)
				state[i] = ABSENT; /* 1140: an unknown create had not happened */
			else
				state[i] = UNKNOWN;
		} else {
			st = op_create(name[i]);
			if (st == 0 || st == 1139)
				state[i] = PRESENT; /* 1139: an unknown create had happened */
			else
				state[i] = UNKNOWN;
		}
		ops++;
		if (st == 0)
			ok++;
		else if (st < 0) {
			unknown++;
			usleep(5000); /* the daemon is restarting */
		}
	}
	pthread_join(t, NULL);
	pthread_join(tm, NULL);
	/* Once more from this thread, so that the daemon the checks below use
	 * is stopped with the test process if they fail (td_fork). */
	td_restart(&d, SIGKILL);
	cr_assert_eq(mix.odd, 0, "%u signatures or random requests got status %d", mix.odd,
	             mix.odd_status);
	cr_assert_gt(mix.signed_ok, 0, "no signature succeeded during the kills");
	cr_assert_gt(mix.random_ok, 0, "no random request succeeded during the kills");

	/* The daemon is running (restarted last by the killer); check. */
	for (int i = 0; i < NAMES; i++) {
		int st = op_sign(name[i]);

		if (state[i] == PRESENT)
			cr_assert_eq(st, 0, "%s was created (seen) but does not sign: %d", name[i],
			             st);
		else if (state[i] == ABSENT)
			cr_assert_eq(st, 1140, "%s was destroyed (seen) but exists: %d", name[i],
			             st);
		else
			cr_assert(st == 0 || st == 1140, "%s: %d", name[i], st);
	}
	snprintf(db, sizeof(db), "%s/keystore.sqlite3", d.dir);
	cr_assert_eq(count_unfinished(db), 0, "recovery left half-finished records");
	cr_assert_gt(ok, 20, "too few operations succeeded to mean anything (%u of %u)", ok, ops);
	cr_assert_gt(unknown, 0, "no request was ever cut by a kill");
	fprintf(stderr,
	        "crash test: %u operations, %u succeeded, %u cut by %d kills; %u signatures "
	        "and %u random requests alongside\n",
	        ops, ok, unknown, KILLS, mix.signed_ok, mix.random_ok);
	cr_assert_eq(td_stop(&d), 0);
}
