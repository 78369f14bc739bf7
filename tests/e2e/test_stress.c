/*
 * Hardening under pressure, each bounded in time and on loopback only:
 * 64 clients of mixed operations (no error, no memory growth), a thousand
 * stalled half-headers (cut at the deadline while others are served), and
 * running out of file descriptors, of disk space, and of write access to the
 * state directory (a clear status for the affected request, nothing lost or
 * corrupted).
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/un.h>
#include <unistd.h>

#include "client/tessera.h"
#include "harness.h"

static struct td d;
static char ep[160];

#define CFG_STRESS                                                                                 \
	"{\"core\": {\"allow_root\": true, \"log_level\": \"info\", \"log_error_details\": true}," \
	" \"listener\": {\"socket_path\": \"%1$s\", \"timeout_ms\": 1000,"                         \
	"  \"max_connections\": 4096, \"max_connections_per_uid\": 2048},"                         \
	" \"authenticators\": [{\"type\": \"UnixPeerCredentials\"}],"                              \
	" \"providers\": [{\"type\": \"Software\"}]}"

static struct tessera_client *open_client(void)
{
	struct tessera_options o;
	struct tessera_client *c;

	tessera_options_init(&o);
	o.endpoint = ep;
	o.timeout_ms = 20000;
	cr_assert_eq(tessera_open(&o, &c), TESSERA_OK);
	return c;
}

static long rss_kib(pid_t pid)
{
	char path[64], line[256];
	long kib = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	cr_assert_not_null(f);
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

static long fd_count(pid_t pid)
{
	char path[64];
	DIR *dir;
	long n = 0;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	dir = opendir(path);
	cr_assert_not_null(dir);
	while (readdir(dir) != NULL)
		n++;
	closedir(dir);
	return n;
}

static const uint8_t hash32[32] = {9, 8, 7};

static int sign(struct tessera_client *c, const char *name)
{
	uint8_t *sig = NULL;
	size_t len = 0;
	int rc = tessera_sign_hash(c, 1, name, "ecdsa-sha256", hash32, 32, &sig, &len);

	free(sig);
	return rc;
}

static int make_key(struct tessera_client *c, const char *name)
{
	struct tessera_key_spec spec = {.type = "ecc",
	                                .bits = 256,
	                                .alg = "ecdsa-sha256",
	                                .usage = TESSERA_USAGE_SIGN_HASH |
	                                         TESSERA_USAGE_VERIFY_HASH};

	return tessera_generate_key(c, 1, name, &spec);
}

/* ---- 64 clients, mixed operations ---- */

struct mixed {
	int id, rounds;
	atomic_long *errors;
	char first[96];
};

static void *mixed_client(void *arg)
{
	struct mixed *m = arg;
	struct tessera_client *c = open_client();
	uint8_t key[32] = {1}, nonce[12] = {2}, *out = NULL, *sig = NULL;
	char name[48];
	size_t len;
	uint32_t a, b;

	snprintf(name, sizeof(name), "mix-%d", m->id);
	for (int i = 0; i < m->rounds; i++) {
		int rc;

		switch (i % 6) {
		case 0:
			rc = tessera_ping(c, &a, &b);
			break;
		case 1:
			rc = sign(c, "shared");
			break;
		case 2:
			rc = tessera_sign_hash(c, 1, "shared", "ecdsa-sha256", hash32, 32, &sig,
			                       &len);
			if (rc == TESSERA_OK)
				rc = tessera_verify_hash(c, 1, "shared", "ecdsa-sha256", hash32, 32,
				                         sig, len);
			free(sig);
			sig = NULL;
			break;
		case 3:
			rc = tessera_aead_encrypt(c, 1, "aes", "aes-gcm", nonce, 12, NULL, 0, key,
			                          32, &out, &len);
			free(out);
			out = NULL;
			break;
		case 4:
			rc = tessera_generate_random(c, 1, 32, &out);
			free(out);
			out = NULL;
			break;
		default:
			/* every 60th request creates and destroys a key of its own */
			rc = i % 60 == 5 ? make_key(c, name) : TESSERA_OK;
			if (rc == TESSERA_OK && i % 60 == 5)
				rc = tessera_destroy_key(c, 1, name);
			break;
		}
		if (rc != TESSERA_OK && atomic_fetch_add(m->errors, 1) == 0)
			snprintf(m->first, sizeof(m->first), "client %d op %d: %s", m->id, i % 6,
			         tessera_strerror(rc));
	}
	tessera_close(c);
	return NULL;
}

static long run_mixed(int clients, int rounds, char *first, size_t first_len)
{
	pthread_t th[64];
	struct mixed m[64];
	atomic_long errors = 0;

	for (int i = 0; i < clients; i++) {
		m[i] = (struct mixed){.id = i, .rounds = rounds, .errors = &errors};
		cr_assert_eq(pthread_create(&th[i], NULL, mixed_client, &m[i]), 0);
	}
	for (int i = 0; i < clients; i++)
		pthread_join(th[i], NULL);
	first[0] = '\0';
	for (int i = 0; i < clients && !first[0]; i++)
		snprintf(first, first_len, "%s", m[i].first);
	return (long)errors;
}

Test(stress, sixty_four_clients_of_mixed_operations_without_error_or_growth, .timeout = 300)
{
	struct tessera_client *c;
	struct tessera_key_spec aes = {.type = "aes",
	                               .bits = 256,
	                               .alg = "aes-gcm",
	                               .usage = TESSERA_USAGE_ENCRYPT | TESSERA_USAGE_DECRYPT};
	char first[96];
	long warm, after, errors;

	td_start(&d, CFG_STRESS);
	snprintf(ep, sizeof(ep), "unix:%s", d.sock);
	c = open_client();
	cr_assert_eq(make_key(c, "shared"), TESSERA_OK);
	cr_assert_eq(tessera_generate_key(c, 1, "aes", &aes), TESSERA_OK);
	tessera_close(c);

	/* Warm-up: the same 64 clients, so that every pool, cache and
	 * allocator arena the load needs exists. */
	errors = run_mixed(64, 120, first, sizeof(first));
	cr_assert_eq(errors, 0, "warm-up: %ld errors, first: %s", errors, first);
	warm = rss_kib(d.pid);
	/* The run: 64 x 600 requests. */
	errors = run_mixed(64, 600, first, sizeof(first));
	after = rss_kib(d.pid);
	cr_assert_eq(errors, 0, "%ld errors, first: %s", errors, first);
#if defined(__SANITIZE_ADDRESS__)
	/* ASan's quarantine holds freed memory on purpose; LeakSanitizer checks
	 * this build for leaks instead. */
	(void)warm;
	(void)after;
#else
	if (!td_under_valgrind()) /* valgrind's own memory is in the figure */
		cr_assert_leq(after, warm + warm / 20,
		              "RSS grew from %ld KiB after warm-up to %ld KiB", warm, after);
#endif
	cr_assert_eq(td_stop(&d), 0);
}

/* ---- stalled half-headers ---- */

Test(stress, a_thousand_stalled_half_headers_are_cut_while_others_are_served, .timeout = 120)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	static const uint8_t partial[10] = {0x10, 0xA7, 0xC0, 0x5E, 0x1E, 0x00};
	int fds[1000];
	struct tessera_client *c;
	long base_fds;
	uint32_t a, b;
	struct rlimit rl;

	getrlimit(RLIMIT_NOFILE, &rl);
	if (rl.rlim_max < 1200)
		cr_skip_test("needs 1200 file descriptors (hard limit %lu)",
		             (unsigned long)rl.rlim_max);
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
	td_start(&d, CFG_STRESS);
	snprintf(ep, sizeof(ep), "unix:%s", d.sock);
	base_fds = fd_count(d.pid);
	memcpy(sa.sun_path, d.sock, strlen(d.sock) + 1);
	for (int i = 0; i < 1000; i++) {
		fds[i] = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		while (connect(fds[i], (struct sockaddr *)&sa, sizeof(sa)) != 0) {
			cr_assert_eq(errno, EAGAIN, "connect %d: %s", i, strerror(errno));
			usleep(1000);
		}
		cr_assert_eq(send(fds[i], partial, sizeof(partial), MSG_NOSIGNAL), 10);
	}
	/* Meanwhile a normal client is served, on a fresh connection each time. */
	c = open_client();
	for (int i = 0; i < 200; i++)
		cr_assert_eq(tessera_ping(c, &a, &b), TESSERA_OK, "ping %d", i);
	tessera_close(c);
	/* Past the 1 s deadline every stalled connection is closed. */
	for (int i = 0; i < 1000; i++)
		cr_assert(td_wait_closed(fds[i], 3000), "stalled connection %d still open", i);
	for (int i = 0; i < 100 && fd_count(d.pid) > base_fds + 2; i++)
		usleep(20000);
	cr_assert_leq(fd_count(d.pid), base_fds + 2, "the daemon still holds %ld descriptors",
	              fd_count(d.pid) - base_fds);
	for (int i = 0; i < 1000; i++)
		close(fds[i]);
	cr_assert_eq(td_stop(&d), 0);
}

/* ---- out of file descriptors ---- */

Test(stress, running_out_of_descriptors_refuses_connections_and_recovers, .timeout = 120)
{
	struct rlimit low = {.rlim_cur = 64, .rlim_max = 64};
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fds[200], n = 0;
	struct tessera_client *c;
	uint32_t a, b;

	td_start(&d, CFG_STRESS);
	snprintf(ep, sizeof(ep), "unix:%s", d.sock);
	c = open_client();
	cr_assert_eq(make_key(c, "before"), TESSERA_OK);
	tessera_close(c);
	cr_assert_eq(prlimit(d.pid, RLIMIT_NOFILE, &low, NULL), 0, "prlimit: %s", strerror(errno));
	memcpy(sa.sun_path, d.sock, strlen(d.sock) + 1);
	for (n = 0; n < 200; n++) {
		fds[n] = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (connect(fds[n], (struct sockaddr *)&sa, sizeof(sa)) != 0) {
			close(fds[n]);
			break;
		}
	}
	usleep(300000);
	/* The daemon is alive, and closed what it could not hold. */
	cr_assert_eq(kill(d.pid, 0), 0);
	{
		int closed = 0;

		for (int i = 0; i < n; i++)
			closed += td_wait_closed(fds[i], 10) ? 1 : 0;
		cr_assert_gt(closed, 0, "no connection beyond the limit was refused");
	}
	for (int i = 0; i < n; i++)
		close(fds[i]);
	usleep(200000);
	/* With descriptors free again, everything works, and nothing was lost. */
	c = open_client();
	cr_assert_eq(tessera_ping(c, &a, &b), TESSERA_OK);
	cr_assert_eq(sign(c, "before"), TESSERA_OK);
	cr_assert_eq(make_key(c, "after"), TESSERA_OK);
	tessera_close(c);
	cr_assert_eq(td_stop(&d), 0);
}

/* ---- a full disk, a read-only state directory ---- */

static char mnt[200], mnt_kek[220];

/* The store on the small file system, its key beside it (it outlives each
 * daemon's temporary directory, as the store does). */
static const char *tmpfs_extra[] = {"--state-dir", mnt, "--kek-file", mnt_kek, NULL};

static void start_on_tmpfs(const char *size)
{
	char opts[64];

	if (geteuid() != 0)
		cr_skip_test("mounting a small file system for the key store needs root");
	strcpy(mnt, "/tmp/tsd-fs.XXXXXX");
	cr_assert_not_null(mkdtemp(mnt));
	snprintf(mnt_kek, sizeof(mnt_kek), "%s.kek", mnt);
	snprintf(opts, sizeof(opts), "size=%s,mode=0700", size);
	if (mount("tmpfs", mnt, "tmpfs", 0, opts) != 0) {
		rmdir(mnt);
		cr_skip_test("cannot mount a tmpfs here: %s", strerror(errno));
	}
	td_start_args(&d, CFG_STRESS, tmpfs_extra);
	snprintf(ep, sizeof(ep), "unix:%s", d.sock);
}

static void stop_tmpfs(void)
{
	td_stop(&d);
	umount2(mnt, MNT_DETACH);
	rmdir(mnt);
	unlink(mnt_kek);
}

static int integrity_ok(void)
{
	char db[256];
	sqlite3 *h;
	sqlite3_stmt *st;
	int ok = 0;

	snprintf(db, sizeof(db), "%s/keystore.sqlite3", mnt);
	cr_assert_eq(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	if (sqlite3_prepare_v2(h, "PRAGMA integrity_check", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		ok = strcmp((const char *)sqlite3_column_text(st, 0), "ok") == 0;
	sqlite3_finalize(st);
	sqlite3_close(h);
	return ok;
}

Test(stress, a_full_disk_gets_insufficient_storage_and_loses_nothing, .timeout = 180)
{
	struct tessera_client *c;
	char name[32], filler[256];
	int made = 0, rc = TESSERA_OK;

	start_on_tmpfs("4m");
	c = open_client();
	cr_assert_eq(make_key(c, "k0"), TESSERA_OK);
	/* Leave only a little room (256 KiB). */
	snprintf(filler, sizeof(filler), "%s/filler", mnt);
	{
		struct statvfs vfs;
		static char block[65536];
		FILE *f = fopen(filler, "w");
		unsigned long long left;

		cr_assert_not_null(f);
		cr_assert_eq(statvfs(mnt, &vfs), 0);
		left = (unsigned long long)vfs.f_bavail * vfs.f_frsize;
		for (unsigned long long w = 0; w + sizeof(block) + 262144 <= left;
		     w += sizeof(block))
			cr_assert_eq(fwrite(block, 1, sizeof(block), f), sizeof(block));
		fclose(f);
	}
	for (made = 1; made < 4000; made++) {
		snprintf(name, sizeof(name), "k%d", made);
		rc = make_key(c, name);
		if (rc != TESSERA_OK)
			break;
	}
	cr_assert_eq(rc, 1142, "key %d: %s (expected PsaErrorInsufficientStorage)", made,
	             tessera_strerror(rc));
	cr_assert_gt(made, 10, "the disk filled too early to test anything");
	fprintf(stderr, "full disk after %d keys\n", made);
	/* Every key made before still works; the failed one does not exist. */
	for (int i = 0; i < made; i++) {
		snprintf(name, sizeof(name), "k%d", i);
		cr_assert_eq(sign(c, name), TESSERA_OK, "key %s after the disk filled", name);
	}
	snprintf(name, sizeof(name), "k%d", made);
	cr_assert_eq(sign(c, name), 1140, "the failed key exists");
	/* Room again: creation works, and a restart finds everything. */
	unlink(filler);
	rc = make_key(c, name);
	cr_assert_eq(rc, TESSERA_OK, "creating %s once there is room: %s", name,
	             tessera_strerror(rc));
	tessera_close(c);
	td_restart(&d, SIGKILL);
	c = open_client();
	for (int i = 0; i <= made; i++) {
		snprintf(name, sizeof(name), "k%d", i);
		cr_assert_eq(sign(c, name), TESSERA_OK, "key %s after the restart", name);
	}
	tessera_close(c);
	cr_assert(integrity_ok());
	cr_assert_geq(td_log_count(&d, "storage"), 1, "no log line about storage");
	stop_tmpfs();
}

/*
 * A read-only state directory: tesserad refuses to start on it with a message
 * naming the key store (a directory cannot turn read-only under a running
 * daemon: the kernel refuses to remount a file system with files open for
 * writing), and the store is intact once it is writable again.
 */
Test(stress, a_read_only_state_directory_is_refused_at_start_with_a_clear_error, .timeout = 120)
{
	struct tessera_client *c;
	char cmd[1024], out[512] = "";
	FILE *p;
	int status;

	start_on_tmpfs("8m");
	c = open_client();
	cr_assert_eq(make_key(c, "k1"), TESSERA_OK);
	tessera_close(c);
	cr_assert_eq(td_stop(&d), 0);
	cr_assert_eq(mount(NULL, mnt, NULL, MS_REMOUNT | MS_RDONLY, NULL), 0, "remount: %s",
	             strerror(errno));
	snprintf(cmd, sizeof(cmd),
	         "timeout 10 %s/daemon/tesserad --socket %s/x.sock --state-dir %s --kek-file %s "
	         "--allow-root 2>&1",
	         TESSERA_BUILD_DIR, d.dir, mnt, mnt_kek);
	p = popen(cmd, "r");
	cr_assert_not_null(p);
	if (fread(out, 1, sizeof(out) - 1, p) == 0)
		out[0] = '\0';
	status = pclose(p);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) != 0 && WEXITSTATUS(status) != 124,
	          "tesserad on a read-only store: status %d, %s", status, out);
	cr_assert(strstr(out, "key_store") != NULL && strstr(out, "Read-only") != NULL,
	          "start-up message: %s", out);
	/* Writable again: the key is there and works. */
	cr_assert_eq(mount(NULL, mnt, NULL, MS_REMOUNT, NULL), 0);
	td_start_args(&d, CFG_STRESS, tmpfs_extra);
	snprintf(ep, sizeof(ep), "unix:%s", d.sock);
	c = open_client();
	cr_assert_eq(sign(c, "k1"), TESSERA_OK);
	tessera_close(c);
	cr_assert(integrity_ok());
	stop_tmpfs();
}

/* ---- a flood of bad input ---- */

/* One malformed request of kind k (0..7) with pseudo-random content. */
static void bad_request(unsigned *seed, int k)
{
	uint8_t buf[4096];
	struct wire_header h;
	struct td_resp r = {0};
	size_t len = WIRE_HEADER_LEN;
	int st;

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)rand_r(seed);
	switch (k) {
	case 0: /* random bytes */
		len = 36 + (size_t)rand_r(seed) % 200;
		break;
	case 1: /* a valid header, a random body for a random known opcode */
		wire_header_request(&h, 1 + (uint32_t)rand_r(seed) % 0x20, 1, 0, 300, 0);
		wire_header_encode(&h, buf);
		len += 300;
		break;
	case 2: /* unknown opcode */
		wire_header_request(&h, 0x7fff0000u + (uint32_t)rand_r(seed) % 100, 0, 0, 0, 0);
		wire_header_encode(&h, buf);
		break;
	case 3: /* unknown provider and auth type */
		wire_header_request(&h, WIRE_OP_PING, (uint8_t)(6 + rand_r(seed) % 250),
		                    (uint8_t)(5 + rand_r(seed) % 250), 0, 0);
		wire_header_encode(&h, buf);
		break;
	case 4: /* huge auth (Direct) */
		wire_header_request(&h, WIRE_OP_LIST_KEYS, 0, 1, 0, 3000);
		wire_header_encode(&h, buf);
		len += 3000;
		break;
	case 5: /* a body larger than the limit is declared */
		wire_header_request(&h, WIRE_OP_PING, 0, 0, 0x7fffffffu, 0);
		wire_header_encode(&h, buf);
		break;
	case 6: /* a garbage token for Jwt, which is not enabled here */
		wire_header_request(&h, WIRE_OP_PING, 0, 2, 0, 200);
		wire_header_encode(&h, buf);
		len += 200;
		break;
	default: { /* a header field at a boundary (not the header size or the lengths:
		    * those make the daemon wait for more bytes until its deadline) */
		static const int offsets[] = {6,  7,  8,  9,  10, 11, 18, 19, 20, 21,
		                              28, 29, 30, 31, 32, 33, 34, 35, 6,  34};

		wire_header_request(&h, WIRE_OP_PING, 0, 0, 0, 0);
		wire_header_encode(&h, buf);
		buf[offsets[rand_r(seed) % 20]] ^= 0xff;
		break;
	}
	}
	st = td_raw(&d, buf, len, &r);
	/* An answer with a status, or a clean close: never a success for these. */
	if (st == 0 && k != 7 && k != 0) {
		cr_assert_fail("kind %d was answered with success", k);
	}
	td_resp_free(&r);
}

Test(stress, a_flood_of_bad_input_is_answered_and_leaves_memory_as_it_was, .timeout = 300)
{
	struct tessera_client *c;
	unsigned seed = 20261130;
	long warm, after;
	uint32_t a, b;

	td_start(&d, CFG_STRESS);
	snprintf(ep, sizeof(ep), "unix:%s", d.sock);
	for (int i = 0; i < 2000; i++)
		bad_request(&seed, i % 8);
	warm = rss_kib(d.pid);
	for (int i = 0; i < 16000; i++)
		bad_request(&seed, i % 8);
	after = rss_kib(d.pid);
	/* Still serving. */
	c = open_client();
	cr_assert_eq(tessera_ping(c, &a, &b), TESSERA_OK);
	tessera_close(c);
#if !defined(__SANITIZE_ADDRESS__)
	if (!td_under_valgrind())
		cr_assert_leq(after, warm + warm / 20, "RSS grew from %ld KiB to %ld KiB", warm,
		              after);
#else
	(void)warm;
	(void)after;
#endif
	cr_assert_eq(td_stop(&d), 0);
}
