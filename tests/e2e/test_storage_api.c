/* PSA Secure Storage (ITS and PS) through the real daemon, with libtessera. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <sqlite3.h>

#include "client/tessera.h"
#include "harness.h"

#include "psa_storage_get.pb-c.h"

#define ITS TESSERA_STORAGE_ITS
#define PS  TESSERA_STORAGE_PS

/* Statuses: the PSA ones plus 1000. */
#define NOT_PERMITTED     1133
#define NOT_SUPPORTED     1134
#define INVALID_ARGUMENT  1135
#define ALREADY_EXISTS    1139
#define DOES_NOT_EXIST    1140
#define INSUFFICIENT_STOR 1142

#define CONFIG_QUOTAS                                                                              \
	"{\"core\": {\"allow_root\": true, \"log_level\": \"debug\", \"log_error_details\": "      \
	"true},"                                                                                   \
	" \"listener\": {\"socket_path\": \"%1$s\", \"timeout_ms\": 1000},"                        \
	" \"authenticators\": [{\"type\": \"Direct\", \"admins\": [{\"name\": \"admin_priv\"}]}]," \
	" \"quotas\": {\"max_assets_per_tenant\": 50, \"max_asset_bytes_per_tenant\": 6000},"      \
	" \"providers\": [{\"type\": \"Software\"}]}"

static struct td d;
static struct tessera_client *c;

static struct tessera_client *client_as(const char *app, uint8_t auth_type)
{
	struct tessera_options o;
	struct tessera_client *cl;
	char ep[160];

	tessera_options_init(&o);
	snprintf(ep, sizeof(ep), "unix:%s", d.sock);
	o.endpoint = ep;
	o.auth_type = auth_type;
	o.app_name = app;
	cr_assert_eq(tessera_open(&o, &cl), TESSERA_OK);
	return cl;
}

static void start(const char *config)
{
	td_start(&d, config);
	c = client_as("storage-user", TESSERA_AUTH_DIRECT);
}

static void setup(void)
{
	start(TD_CONFIG_DEFAULT);
}

static void setup_quotas(void)
{
	start(CONFIG_QUOTAS);
}

static void teardown(void)
{
	tessera_close(c);
	cr_assert_eq(td_stop(&d), 0);
}

TestSuite(storage_api, .init = setup, .fini = teardown, .timeout = 120);
TestSuite(storage_quota, .init = setup_quotas, .fini = teardown, .timeout = 240);

static void expect_get(struct tessera_client *cl, int store, uint64_t uid, uint64_t offset,
                       uint64_t size, const void *want, size_t want_len)
{
	uint8_t *got = NULL;
	size_t len = 99;

	cr_assert_eq(tessera_storage_get(cl, store, uid, offset, size, &got, &len), TESSERA_OK,
	             "store %d uid %llu", store, (unsigned long long)uid);
	cr_assert_eq(len, want_len, "store %d uid %llu: %zu bytes", store, (unsigned long long)uid,
	             len);
	cr_assert(want_len == 0 || memcmp(got, want, want_len) == 0);
	free(got);
}

static void expect_info(struct tessera_client *cl, int store, uint64_t uid, uint64_t capacity,
                        uint64_t size, uint32_t flags)
{
	struct tessera_storage_info info;

	cr_assert_eq(tessera_storage_info(cl, store, uid, &info), TESSERA_OK);
	cr_assert_eq(info.capacity, capacity);
	cr_assert_eq(info.size, size);
	cr_assert_eq(info.flags, flags);
}

static int get_status(struct tessera_client *cl, int store, uint64_t uid, uint64_t offset,
                      uint64_t size)
{
	uint8_t *got = NULL;
	size_t len = 0;
	int rc = tessera_storage_get(cl, store, uid, offset, size, &got, &len);

	free(got);
	return rc;
}

Test(storage_api, set_get_info_and_remove_in_both_stores)
{
	static const char data[] = "The quick brown fox";
	const int stores[] = {ITS, PS};

	for (int i = 0; i < 2; i++) {
		int s = stores[i];

		cr_assert_eq(get_status(c, s, 5, 0, 10), DOES_NOT_EXIST);
		cr_assert_eq(tessera_storage_remove(c, s, 5), DOES_NOT_EXIST);
		cr_assert_eq(tessera_storage_set(c, s, 5, (const uint8_t *)data, 19, 0),
		             TESSERA_OK);
		expect_get(c, s, 5, 0, 19, data, 19);
		expect_get(c, s, 5, 4, 5, "quick", 5);
		/* A longer size than what remains is a short read. */
		expect_get(c, s, 5, 16, 100, "fox", 3);
		/* At the end: nothing, and no error; past it: an error. */
		expect_get(c, s, 5, 19, 10, NULL, 0);
		cr_assert_eq(get_status(c, s, 5, 20, 1), INVALID_ARGUMENT);
		expect_get(c, s, 5, 3, 0, NULL, 0);
		expect_info(c, s, 5, 19, 19, 0);
		/* The same uid in the other store is another asset. */
		cr_assert_eq(get_status(c, s == ITS ? PS : ITS, 5, 0, 1),
		             s == ITS ? DOES_NOT_EXIST : TESSERA_OK);
		cr_assert_eq(tessera_storage_remove(c, s, 5), TESSERA_OK);
		cr_assert_eq(get_status(c, s, 5, 0, 1), DOES_NOT_EXIST);
		cr_assert_eq(tessera_storage_info(c, s, 5, &(struct tessera_storage_info){0}),
		             DOES_NOT_EXIST);
		cr_assert_eq(tessera_storage_set(c, s, 5, (const uint8_t *)data, 19, 0),
		             TESSERA_OK);
	}
}

Test(storage_api, uid_zero_and_unknown_flags_are_refused_first)
{
	struct tessera_storage_info info;
	uint32_t support = 0;

	for (int s = ITS; s <= PS; s++) {
		cr_assert_eq(tessera_storage_set(c, s, 0, (const uint8_t *)"x", 1, 0),
		             INVALID_ARGUMENT);
		cr_assert_eq(get_status(c, s, 0, 0, 1), INVALID_ARGUMENT);
		cr_assert_eq(tessera_storage_info(c, s, 0, &info), INVALID_ARGUMENT);
		cr_assert_eq(tessera_storage_remove(c, s, 0), INVALID_ARGUMENT);
		/* uid 0 comes before the flags. */
		cr_assert_eq(tessera_storage_set(c, s, 0, (const uint8_t *)"x", 1, 8),
		             INVALID_ARGUMENT);
		cr_assert_eq(tessera_storage_set(c, s, 3, (const uint8_t *)"x", 1, 8),
		             NOT_SUPPORTED);
		cr_assert_eq(tessera_storage_set(c, s, 3, (const uint8_t *)"x", 1, 1u << 31),
		             NOT_SUPPORTED);
		cr_assert_eq(tessera_storage_info(c, s, 3, &info), DOES_NOT_EXIST);
	}
	cr_assert_eq(tessera_storage_create(c, PS, 0, 10, 0), INVALID_ARGUMENT);
	cr_assert_eq(tessera_storage_set_extended(c, PS, 0, 0, (const uint8_t *)"x", 1),
	             INVALID_ARGUMENT);
	cr_assert_eq(tessera_storage_support(c, PS, &support), TESSERA_OK);
	cr_assert_eq(support, TESSERA_STORAGE_SUPPORT_SET_EXTENDED);
}

Test(storage_api, zero_length_assets_exist_and_can_grow)
{
	cr_assert_eq(tessera_storage_set(c, ITS, 9, NULL, 0, 0), TESSERA_OK);
	expect_info(c, ITS, 9, 0, 0, 0);
	expect_get(c, ITS, 9, 0, 0, NULL, 0);
	expect_get(c, ITS, 9, 0, 10, NULL, 0);
	cr_assert_eq(get_status(c, ITS, 9, 1, 0), INVALID_ARGUMENT);
	cr_assert_eq(tessera_storage_set(c, ITS, 9, (const uint8_t *)"grown", 5, 0), TESSERA_OK);
	expect_get(c, ITS, 9, 0, 10, "grown", 5);
}

Test(storage_api, flags_are_echoed_and_a_set_replaces_data_and_flags)
{
	const uint32_t flags[] = {0, TESSERA_STORAGE_FLAG_NO_CONFIDENTIALITY,
	                          TESSERA_STORAGE_FLAG_NO_REPLAY_PROTECTION,
	                          TESSERA_STORAGE_FLAG_NO_CONFIDENTIALITY |
	                                  TESSERA_STORAGE_FLAG_NO_REPLAY_PROTECTION};

	for (int s = ITS; s <= PS; s++)
		for (size_t i = 0; i < 4; i++) {
			uint8_t v = (uint8_t)('a' + i);

			cr_assert_eq(tessera_storage_set(c, s, 6, &v, 1, flags[i]), TESSERA_OK);
			expect_info(c, s, 6, 1, 1, flags[i]);
			expect_get(c, s, 6, 0, 1, &v, 1);
		}
	/* Shorter data replaces longer: the old bytes are gone. */
	cr_assert_eq(tessera_storage_set(c, PS, 7, (const uint8_t *)"0123456789", 10, 0),
	             TESSERA_OK);
	cr_assert_eq(tessera_storage_set(c, PS, 7, (const uint8_t *)"ab", 2, 0), TESSERA_OK);
	expect_get(c, PS, 7, 0, 10, "ab", 2);
	cr_assert_eq(get_status(c, PS, 7, 5, 1), INVALID_ARGUMENT);
}

Test(storage_api, write_once_assets_cannot_change_but_stay_readable)
{
	for (int s = ITS; s <= PS; s++) {
		cr_assert_eq(tessera_storage_set(c, s, 1, (const uint8_t *)"once", 4,
		                                 TESSERA_STORAGE_FLAG_WRITE_ONCE),
		             TESSERA_OK);
		cr_assert_eq(tessera_storage_set(c, s, 1, (const uint8_t *)"twice", 5, 0),
		             NOT_PERMITTED);
		cr_assert_eq(tessera_storage_set(c, s, 1, (const uint8_t *)"x", 1, 8),
		             NOT_SUPPORTED, "unknown flags come before write-once");
		cr_assert_eq(tessera_storage_remove(c, s, 1), NOT_PERMITTED);
		expect_get(c, s, 1, 0, 10, "once", 4);
		expect_info(c, s, 1, 4, 4, TESSERA_STORAGE_FLAG_WRITE_ONCE);
	}
	cr_assert_eq(tessera_storage_set_extended(c, PS, 1, 0, (const uint8_t *)"O", 1),
	             NOT_PERMITTED);
	expect_get(c, PS, 1, 0, 10, "once", 4);
}

Test(storage_api, create_and_set_extended_follow_the_capacity_rules)
{
	/* s011, s012, s013, s015, s016, s017 in spirit. */
	cr_assert_eq(tessera_storage_set_extended(c, PS, 20, 0, (const uint8_t *)"x", 1),
	             DOES_NOT_EXIST);
	cr_assert_eq(tessera_storage_create(c, PS, 20, 10, 0), TESSERA_OK);
	expect_info(c, PS, 20, 10, 0, 0);
	cr_assert_eq(tessera_storage_create(c, PS, 20, 5, 0), ALREADY_EXISTS);
	cr_assert_eq(tessera_storage_create(c, PS, 20, 10, TESSERA_STORAGE_FLAG_WRITE_ONCE),
	             NOT_SUPPORTED, "write-once before existence");
	cr_assert_eq(tessera_storage_create(c, PS, 21, 10, TESSERA_STORAGE_FLAG_WRITE_ONCE),
	             NOT_SUPPORTED);
	cr_assert_eq(tessera_storage_create(c, PS, 20, 0xFFFFFFFFu, 0), INSUFFICIENT_STOR,
	             "the capacity before existence");
	cr_assert_eq(tessera_storage_create(c, PS, 21, 0xFFFFFFFFu, 0), INSUFFICIENT_STOR);
	cr_assert_eq(tessera_storage_set_extended(c, PS, 20, 0, (const uint8_t *)"hello", 5),
	             TESSERA_OK);
	cr_assert_eq(tessera_storage_set_extended(c, PS, 20, 6, (const uint8_t *)"x", 1),
	             INVALID_ARGUMENT, "a gap");
	cr_assert_eq(tessera_storage_set_extended(c, PS, 20, 5, (const uint8_t *)"123456", 6),
	             INVALID_ARGUMENT, "past the capacity");
	cr_assert_eq(tessera_storage_set_extended(c, PS, 20, 5, NULL, 0), TESSERA_OK);
	cr_assert_eq(tessera_storage_set_extended(c, PS, 20, 3, (const uint8_t *)"LO world", 7),
	             TESSERA_OK);
	expect_get(c, PS, 20, 0, 100, "helLO worl", 10);
	expect_info(c, PS, 20, 10, 10, 0);
	/* set resets the capacity to its data (s016). */
	cr_assert_eq(tessera_storage_set(c, PS, 20, (const uint8_t *)"12345678", 8, 0), TESSERA_OK);
	expect_info(c, PS, 20, 8, 8, 0);
	cr_assert_eq(tessera_storage_set_extended(c, PS, 20, 0, (const uint8_t *)"0123456789", 10),
	             INVALID_ARGUMENT);
	/* ITS has neither. */
	cr_assert_eq(tessera_storage_create(c, ITS, 22, 10, 0), TESSERA_ERR_ARG);
}

Test(storage_api, a_range_longer_than_one_response_is_refused_not_cut)
{
	const size_t big = 3u << 20, piece = 900u << 10;
	uint8_t *data = malloc(big), *got = NULL, *body = NULL;
	PsaStorageGet__Operation op = PSA_STORAGE_GET__OPERATION__INIT;
	size_t len = 0, n;

	cr_assert_not_null(data);
	for (size_t i = 0; i < big; i++)
		data[i] = (uint8_t)(i * 7 + i / 251);
	cr_assert_eq(tessera_storage_create(c, PS, 30, big, 0), TESSERA_OK);
	for (size_t off = 0; off < big; off += piece)
		cr_assert_eq(tessera_storage_set_extended(c, PS, 30, off, data + off,
		                                          big - off < piece ? big - off : piece),
		             TESSERA_OK);
	expect_info(c, PS, 30, big, big, 0);
	/* libtessera reads it in pieces. */
	cr_assert_eq(tessera_storage_get(c, PS, 30, 0, big, &got, &len), TESSERA_OK);
	cr_assert_eq(len, big);
	cr_assert(memcmp(got, data, big) == 0);
	free(got);
	/* One request for more than a response carries: refused. */
	op.uid = 30;
	op.data_size = 2u << 20;
	n = psa_storage_get__operation__get_packed_size(&op);
	body = malloc(64); /* room for any three varints */
	psa_storage_get__operation__pack(&op, body);
	got = NULL;
	cr_assert_eq(tessera_request(c, 0, 0x10111, body, n, &got, &len), INVALID_ARGUMENT);
	free(got);
	/* Ending within one response's worth: served whole. */
	op.data_offset = big - 1000;
	n = psa_storage_get__operation__get_packed_size(&op);
	psa_storage_get__operation__pack(&op, body);
	got = NULL;
	cr_assert_eq(tessera_request(c, 0, 0x10111, body, n, &got, &len), TESSERA_OK);
	cr_assert_gt(len, 1000);
	free(got);
	free(body);
	free(data);
}

Test(storage_api, two_tenants_see_only_their_own_assets)
{
	struct tessera_client *bob = client_as("bob", TESSERA_AUTH_DIRECT);

	cr_assert_eq(tessera_storage_set(c, ITS, 40, (const uint8_t *)"alice", 5, 0), TESSERA_OK);
	cr_assert_eq(tessera_storage_set(c, PS, 40, (const uint8_t *)"alice", 5,
	                                 TESSERA_STORAGE_FLAG_WRITE_ONCE),
	             TESSERA_OK);
	cr_assert_eq(get_status(bob, ITS, 40, 0, 5), DOES_NOT_EXIST);
	cr_assert_eq(tessera_storage_remove(bob, PS, 40), DOES_NOT_EXIST);
	/* Bob's uid 40 is his own, and write-once for Alice is nothing to him. */
	cr_assert_eq(tessera_storage_set(bob, PS, 40, (const uint8_t *)"bob", 3, 0), TESSERA_OK);
	expect_get(bob, PS, 40, 0, 10, "bob", 3);
	expect_get(c, PS, 40, 0, 10, "alice", 5);
	cr_assert_eq(tessera_storage_remove(bob, PS, 40), TESSERA_OK);
	expect_get(c, PS, 40, 0, 10, "alice", 5);
	tessera_close(bob);
}

Test(storage_api, an_identity_is_needed_and_only_the_core_serves_storage)
{
	struct tessera_client *anon = client_as(NULL, TESSERA_AUTH_NONE);
	uint8_t body[] = {0x08, 0x05}; /* uid 5 */

	cr_assert_eq(tessera_storage_set(anon, ITS, 5, (const uint8_t *)"x", 1, 0), 19);
	cr_assert_eq(get_status(anon, PS, 5, 0, 1), 19);
	tessera_close(anon);
	/* On a crypto provider: not supported, as any core opcode there. */
	cr_assert_eq(td_call(&d, 0x10102, 1, 1, body, sizeof(body), "storage-user", 12, NULL),
	             NOT_SUPPORTED);
	cr_assert_eq(td_call(&d, 0x10102, 0, 1, body, sizeof(body), "storage-user", 12, NULL),
	             DOES_NOT_EXIST);
}

Test(storage_api, assets_survive_a_restart)
{
	cr_assert_eq(tessera_storage_set(c, ITS, 50, (const uint8_t *)"its", 3, 0), TESSERA_OK);
	cr_assert_eq(tessera_storage_set(c, PS, 50, (const uint8_t *)"ps", 2,
	                                 TESSERA_STORAGE_FLAG_WRITE_ONCE),
	             TESSERA_OK);
	tessera_close(c);
	cr_assert_eq(td_restart(&d, SIGTERM), 0);
	c = client_as("storage-user", TESSERA_AUTH_DIRECT);
	expect_get(c, ITS, 50, 0, 10, "its", 3);
	expect_get(c, PS, 50, 0, 10, "ps", 2);
	cr_assert_eq(tessera_storage_remove(c, PS, 50), NOT_PERMITTED);
}

static int has_client(char **v, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i], name) == 0)
			return 1;
	return 0;
}

Test(storage_api, delete_client_erases_every_asset_including_write_once)
{
	struct tessera_client *admin = client_as("admin_priv", TESSERA_AUTH_DIRECT);
	char **v = NULL;
	size_t n = 0;

	cr_assert_eq(tessera_storage_set(c, ITS, 1, (const uint8_t *)"w1", 2,
	                                 TESSERA_STORAGE_FLAG_WRITE_ONCE),
	             TESSERA_OK);
	cr_assert_eq(tessera_storage_set(c, PS, 2, (const uint8_t *)"p2", 2, 0), TESSERA_OK);
	/* A tenant with assets and no key is a client all the same. */
	cr_assert_eq(tessera_list_clients(admin, &v, &n), TESSERA_OK);
	cr_assert(has_client(v, n, "storage-user"));
	tessera_strv_free(v, n);
	cr_assert_eq(tessera_delete_client(admin, "storage-user"), TESSERA_OK);
	cr_assert_eq(get_status(c, ITS, 1, 0, 2), DOES_NOT_EXIST);
	cr_assert_eq(get_status(c, PS, 2, 0, 2), DOES_NOT_EXIST);
	cr_assert_eq(tessera_list_clients(admin, &v, &n), TESSERA_OK);
	cr_assert_not(has_client(v, n, "storage-user"));
	tessera_strv_free(v, n);
	/* The uid is free again. */
	cr_assert_eq(tessera_storage_set(c, ITS, 1, (const uint8_t *)"new", 3, 0), TESSERA_OK);
	tessera_close(admin);
}

/* Fill with 512-byte assets from uid 5 until the quota says no (s003). */
static unsigned fill(int store)
{
	uint8_t block[512];
	unsigned n = 0;
	int rc;

	memset(block, 0x5A, sizeof(block));
	while ((rc = tessera_storage_set(c, store, 5 + n, block, sizeof(block), 0)) == TESSERA_OK)
		n++;
	cr_assert_eq(rc, INSUFFICIENT_STOR, "store %d after %u assets", store, n);
	return n;
}

static void empty_out(int store, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		cr_assert_eq(tessera_storage_remove(c, store, 5 + i), TESSERA_OK);
}

Test(storage_quota, the_refill_count_is_the_same_every_time)
{
	for (int s = ITS; s <= PS; s++) {
		unsigned first = fill(s), again;

		/* 6000 bytes of capacity: eleven 512-byte assets. */
		cr_assert_eq(first, 11, "store %d", s);
		empty_out(s, first);
		again = fill(s);
		cr_assert_eq(again, first);
		empty_out(s, again);
	}
	/* The count limit too: 50 empty assets, not one more. */
	for (unsigned i = 0; i < 50; i++)
		cr_assert_eq(tessera_storage_set(c, ITS, 100 + i, NULL, 0, 0), TESSERA_OK);
	cr_assert_eq(tessera_storage_set(c, ITS, 150, NULL, 0, 0), INSUFFICIENT_STOR);
	/* Replacing one is no new asset. */
	cr_assert_eq(tessera_storage_set(c, ITS, 149, (const uint8_t *)"x", 1, 0), TESSERA_OK);
	/* Another tenant has a quota of its own. */
	struct tessera_client *other = client_as("other", TESSERA_AUTH_DIRECT);
	cr_assert_eq(tessera_storage_set(other, ITS, 150, NULL, 0, 0), TESSERA_OK);
	tessera_close(other);
}

/* The PSA Storage API program (tests/psa-storage): every check it makes
 * passes, for a tenant of its own. */
static void run_psa_program(const char *app)
{
	char cmd[1024], out[200];

	snprintf(out, sizeof(out), "%s/psa-%s.out", d.dir, app);
	snprintf(cmd, sizeof(cmd),
	         "TESSERA_ENDPOINT=unix:%s TESSERA_AUTH=direct TESSERA_APP_NAME=%s "
	         "%s/tests/psa-storage/psa-storage-prog >%s 2>&1",
	         d.sock, app, TESSERA_BUILD_DIR, out);
	if (system(cmd) != 0) {
		snprintf(cmd, sizeof(cmd), "cat %s >&2", out);
		(void)system(cmd);
		cr_assert_fail("psa-storage-prog failed for %s", app);
	}
	snprintf(cmd, sizeof(cmd), "test $(grep -c '^ok ' %s) -eq 21", out);
	cr_assert_eq(system(cmd), 0, "21 checks");
	snprintf(cmd, sizeof(cmd), "grep -q '^# its fits 11 assets' %s", out);
	cr_assert_eq(system(cmd), 0, "the quota decides the count");
}

Test(storage_quota, the_psa_storage_api_passes_the_arch_test_sequences)
{
	struct tessera_client *admin = client_as("admin_priv", TESSERA_AUTH_DIRECT);

	run_psa_program("psa-prog");
	/* Write-once uids stay: the same tenant cannot run it again until
	 * an admin deletes it, which removes them too. */
	struct tessera_client *prog = client_as("psa-prog", TESSERA_AUTH_DIRECT);
	cr_assert_eq(tessera_storage_set(prog, ITS, 1, (const uint8_t *)"x", 1, 0), NOT_PERMITTED);
	tessera_close(prog);
	cr_assert_eq(tessera_delete_client(admin, "psa-prog"), TESSERA_OK);
	run_psa_program("psa-prog");
	tessera_close(admin);
}

/* ---- the CLI ---- */

#define TESSERA TESSERA_BUILD_DIR "/client/tessera"

/* Run a shell command line with $T standing for the tessera command as
 * the tenant storage-user; its exit status. */
static int cli(const char *line)
{
	char cmd[2048];
	int st;

	snprintf(cmd, sizeof(cmd),
	         "T='" TESSERA " --endpoint unix:%s --auth direct --app-name storage-user'; "
	         "D='%s'; %s",
	         d.sock, d.dir, line);
	st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

Test(storage_api, the_cli_round_trips_bytes_from_a_file_and_from_stdin)
{
	/* Every byte value, from a file. */
	cr_assert_eq(cli("head -c 70000 /dev/urandom > $D/in.bin && "
	                 "$T storage set --ps 11 --file $D/in.bin --flags no-replay-protection"),
	             0);
	cr_assert_eq(cli("$T storage get --ps 11 > $D/out.bin && cmp $D/in.bin $D/out.bin"), 0);
	cr_assert_eq(cli("$T storage get --ps 11 --output $D/out2.bin && cmp $D/in.bin $D/out2.bin "
	                 "&& test \"$(stat -c %a $D/out2.bin)\" = 600"),
	             0);
	cr_assert_eq(cli("$T storage info --ps 11 > $D/info.txt && "
	                 "grep -qx 'capacity: 70000' $D/info.txt && "
	                 "grep -qx 'size: 70000' $D/info.txt && "
	                 "grep -qx 'flags: no-replay-protection' $D/info.txt"),
	             0);
	/* From standard input, and a part of it back. */
	cr_assert_eq(cli("printf 'hello storage' | $T storage set --its 12 --flags write-once"), 0);
	cr_assert_eq(cli("test \"$($T storage get --its 12 --offset 6 --size 4)\" = stor"), 0);
	cr_assert_eq(cli("$T storage info --its 12 | grep -qx 'flags: write-once'"), 0);
	expect_get(c, ITS, 12, 0, 100, "hello storage", 13);
	/* The daemon's refusals are exit status 1; usage errors 2. */
	cr_assert_eq(cli("$T storage remove --its 12 2>/dev/null"), 1);
	cr_assert_eq(cli("$T storage get --its 99 2>/dev/null"), 1);
	cr_assert_eq(cli("$T storage get 12 2>/dev/null"), 2);
	cr_assert_eq(cli("$T storage set --its 13 --flags sometimes </dev/null 2>/dev/null"), 2);
	cr_assert_eq(cli("$T storage remove --ps 11"), 0);
	cr_assert_eq(cli("$T storage info --ps 11 2>/dev/null"), 1);
	cr_assert_eq(cli("$T --json storage info --its 12 | grep -q '\"flags\": 1'"), 0);
}

/* ---- the seal through the daemon ---- */

/* Stop the daemon, run SQL on its store, start it again. */
static void edit_store(const char *statement)
{
	char db[200];
	sqlite3 *h;

	tessera_close(c);
	cr_assert_eq(td_halt(&d, SIGTERM), 0);
	snprintf(db, sizeof(db), "%s/keystore.sqlite3", d.dir);
	cr_assert_eq(sqlite3_open(db, &h), SQLITE_OK);
	cr_assert_eq(sqlite3_exec(h, statement, NULL, NULL, NULL), SQLITE_OK, "%s",
	             sqlite3_errmsg(h));
	sqlite3_close(h);
	td_resume(&d);
	c = client_as("storage-user", TESSERA_AUTH_DIRECT);
}

Test(storage_api, an_older_copy_put_back_is_refused_with_each_stores_status)
{
	struct tessera_storage_info info;
	struct tessera_client *other;

	cr_assert_eq(tessera_storage_set(c, ITS, 60, (const uint8_t *)"old", 3, 0), TESSERA_OK);
	cr_assert_eq(tessera_storage_set(c, PS, 60, (const uint8_t *)"old", 3, 0), TESSERA_OK);
	edit_store("CREATE TABLE saved AS SELECT * FROM assets WHERE uid = 60");
	cr_assert_eq(tessera_storage_set(c, ITS, 60, (const uint8_t *)"new", 3, 0), TESSERA_OK);
	cr_assert_eq(tessera_storage_set(c, PS, 60, (const uint8_t *)"new", 3, 0), TESSERA_OK);
	edit_store("DELETE FROM assets WHERE uid = 60; INSERT INTO assets SELECT * FROM saved; "
	           "DROP TABLE saved");
	/* PS reports the failed authentication; ITS, which has no such status,
	 * a storage failure. */
	cr_assert_eq(get_status(c, PS, 60, 0, 3), 1149);
	cr_assert_eq(tessera_storage_info(c, PS, 60, &info), 1149);
	cr_assert_eq(get_status(c, ITS, 60, 0, 3), 1146);
	cr_assert_eq(tessera_storage_info(c, ITS, 60, &info), 1146);
	/* A damaged asset can be removed, and its uid used again. */
	cr_assert_eq(tessera_storage_remove(c, PS, 60), TESSERA_OK);
	cr_assert_eq(tessera_storage_set(c, PS, 60, (const uint8_t *)"again", 5, 0), TESSERA_OK);
	expect_get(c, PS, 60, 0, 10, "again", 5);

	/* Without replay protection an older copy opens, but a row given to
	 * another tenant does not. */
	cr_assert_eq(tessera_storage_set(c, PS, 61, (const uint8_t *)"mine", 4,
	                                 TESSERA_STORAGE_FLAG_NO_REPLAY_PROTECTION),
	             TESSERA_OK);
	edit_store("UPDATE assets SET app = 'other' WHERE uid = 61");
	other = client_as("other", TESSERA_AUTH_DIRECT);
	cr_assert_eq(get_status(other, PS, 61, 0, 4), 1149);
	cr_assert_eq(get_status(c, PS, 61, 0, 4), DOES_NOT_EXIST);
	tessera_close(other);
	/* Broken lengths: data corrupt. */
	edit_store("UPDATE assets SET app = 'storage-user', size = 3 WHERE uid = 61");
	cr_assert_eq(get_status(c, PS, 61, 0, 4), 1152);
}

Test(storage_api, the_core_lists_the_storage_opcodes_on_request)
{
	uint32_t *ops = NULL;
	size_t n = 0, found = 0;

	cr_assert_eq(tessera_list_opcodes(c, 0, &ops, &n), TESSERA_OK);
	for (size_t i = 0; i < n; i++)
		if ((ops[i] >= 0x10100 && ops[i] <= 0x10103) ||
		    (ops[i] >= 0x10110 && ops[i] <= 0x10116))
			found++;
	free(ops);
	cr_assert_eq(found, 11);
	cr_assert_eq(tessera_list_opcodes(c, 1, &ops, &n), TESSERA_OK);
	for (size_t i = 0; i < n; i++)
		cr_assert(ops[i] < 0x10100 || ops[i] > 0x10116, "a crypto provider lists 0x%x",
		          ops[i]);
	free(ops);
}
