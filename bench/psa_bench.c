/*
 * tessera-psa-bench: the PSA Crypto C API through libtessera-psa against
 * tesserad, each row next to the same calls made in process by OpenSSL (the
 * in-run baseline), as ratios. Rows: psa_sign_hash (ECDSA P-256, SHA-256),
 * a multipart AEAD (AES-256-GCM, 16 KiB in four 4 KiB updates: setup,
 * nonce, updates, finish: seven requests), and the same message in one
 * psa_aead_encrypt (one request). Each runs for --duration seconds on one
 * thread (the API's calls are synchronous; one program is one tenant).
 *
 *   tessera-psa-bench [--spawn] [--duration S] [--json]
 *
 * With --spawn a tesserad from this build runs on a temporary socket and
 * state directory; otherwise PARSEC_SERVICE_ENDPOINT names the daemon.
 */
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/ec.h>
#include <openssl/evp.h>

#include "bench-priv.h"
#include "psa/crypto.h"

static double duration = 1.0;
static bool json;
static pid_t daemon_pid;
static char spawn_dir[64];

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Whether a daemon answers on the socket: it accepts a connection. */
static bool socket_up(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool up;

	size_t len = strlen(path);

	if (fd < 0)
		return false;
	if (len >= sizeof(sa.sun_path)) {
		close(fd);
		return false;
	}
	memcpy(sa.sun_path, path, len + 1);
	up = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return up;
}

static int spawn_daemon(void)
{
	char sock[128], cfg[128], ep[160];
	FILE *f;

	snprintf(spawn_dir, sizeof(spawn_dir), "/tmp/tessera-psa-bench.XXXXXX");
	if (mkdtemp(spawn_dir) == NULL) {
		spawn_dir[0] = '\0';
		return -1;
	}
	snprintf(sock, sizeof(sock), "%s/api.sock", spawn_dir);
	snprintf(cfg, sizeof(cfg), "%s/tesserad.json", spawn_dir);
	f = fopen(cfg, "w");
	if (f == NULL)
		return -1;
	fprintf(f, "{\"core\": {\"allow_root\": true, \"log_level\": \"warn\"},"
	           " \"listener\": {\"idle_timeout_ms\": 600000}}\n");
	fclose(f);
	daemon_pid = bench_exec_tesserad(spawn_dir, cfg, sock, NULL);
	if (daemon_pid < 0) {
		daemon_pid = 0;
		return -1;
	}
	for (int i = 0; i < 400 && !socket_up(sock); i++)
		usleep(25000);
	if (!socket_up(sock)) {
		fprintf(stderr, "tessera-psa-bench: tesserad did not start\n");
		return -1;
	}
	snprintf(ep, sizeof(ep), "unix:%s", sock);
	setenv("PARSEC_SERVICE_ENDPOINT", ep, 1);
	return 0;
}

static void stop_daemon(void)
{
	if (daemon_pid > 0) {
		kill(daemon_pid, SIGTERM);
		waitpid(daemon_pid, NULL, 0);
		daemon_pid = 0;
	}
	if (spawn_dir[0] != '\0' && bench_remove_tree(spawn_dir) != 0)
		fprintf(stderr, "tessera-psa-bench: could not remove %s\n", spawn_dir);
	spawn_dir[0] = '\0';
}

/* ---- the two sides of each row ---- */

static const uint8_t hash32[32] = {0x42, 1, 2, 3};
static uint8_t text16k[16384];
static const uint8_t key32[32] = {7, 7, 7};
static const uint8_t nonce12[12] = {1};

struct side {
	long count;
	double secs;
	psa_status_t first_error;
};

static psa_key_id_t sign_key, aead_key;

static psa_status_t psa_setup(void)
{
	psa_key_attributes_t a = PSA_KEY_ATTRIBUTES_INIT;
	psa_status_t st = psa_crypto_init();

	if (st != PSA_SUCCESS)
		return st;
	/* Persistent ids of this tenant; a run that was cut short left them. */
	psa_destroy_key(0x3fff0001);
	psa_destroy_key(0x3fff0002);
	psa_set_key_id(&a, 0x3fff0001);
	psa_set_key_type(&a, PSA_KEY_TYPE_ECC_KEY_PAIR(PSA_ECC_FAMILY_SECP_R1));
	psa_set_key_bits(&a, 256);
	psa_set_key_usage_flags(&a, PSA_KEY_USAGE_SIGN_HASH);
	psa_set_key_algorithm(&a, PSA_ALG_ECDSA(PSA_ALG_SHA_256));
	st = psa_generate_key(&a, &sign_key);
	if (st != PSA_SUCCESS)
		return st;
	psa_reset_key_attributes(&a);
	psa_set_key_id(&a, 0x3fff0002);
	psa_set_key_type(&a, PSA_KEY_TYPE_AES);
	psa_set_key_bits(&a, 256);
	psa_set_key_usage_flags(&a, PSA_KEY_USAGE_ENCRYPT);
	psa_set_key_algorithm(&a, PSA_ALG_GCM);
	return psa_import_key(&a, key32, sizeof(key32), &aead_key);
}

static psa_status_t psa_sign_once(void)
{
	uint8_t sig[PSA_SIGNATURE_MAX_SIZE];
	size_t len = 0;

	return psa_sign_hash(sign_key, PSA_ALG_ECDSA(PSA_ALG_SHA_256), hash32, sizeof(hash32), sig,
	                     sizeof(sig), &len);
}

static psa_status_t psa_aead_once(void)
{
	psa_aead_operation_t op = PSA_AEAD_OPERATION_INIT;
	static uint8_t out[sizeof(text16k) + 64];
	uint8_t tag[16];
	size_t n = 0, total = 0, tag_len = 0;
	psa_status_t st = psa_aead_encrypt_setup(&op, aead_key, PSA_ALG_GCM);

	if (st == PSA_SUCCESS)
		st = psa_aead_set_nonce(&op, nonce12, sizeof(nonce12));
	for (size_t off = 0; st == PSA_SUCCESS && off < sizeof(text16k); off += 4096) {
		st = psa_aead_update(&op, text16k + off, 4096, out + total, sizeof(out) - total,
		                     &n);
		total += n;
	}
	if (st == PSA_SUCCESS)
		st = psa_aead_finish(&op, out + total, sizeof(out) - total, &n, tag, sizeof(tag),
		                     &tag_len);
	if (st != PSA_SUCCESS)
		psa_aead_abort(&op);
	return st;
}

/* The same message in one call (psa_aead_encrypt: one request). */
static psa_status_t psa_aead_one_shot(void)
{
	static uint8_t out[sizeof(text16k) + 16];
	size_t n = 0;

	return psa_aead_encrypt(aead_key, PSA_ALG_GCM, nonce12, sizeof(nonce12), NULL, 0, text16k,
	                        sizeof(text16k), out, sizeof(out), &n);
}

static EVP_PKEY *ossl_ec;

static psa_status_t ossl_sign_once(void)
{
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(ossl_ec, NULL);
	uint8_t sig[80];
	size_t len = sizeof(sig);
	int ok = c != NULL && EVP_PKEY_sign_init(c) == 1 &&
	         EVP_PKEY_sign(c, sig, &len, hash32, sizeof(hash32)) == 1;

	EVP_PKEY_CTX_free(c);
	return ok ? PSA_SUCCESS : PSA_ERROR_GENERIC_ERROR;
}

static psa_status_t ossl_aead_one_shot(void)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	static uint8_t out[sizeof(text16k) + 64];
	uint8_t tag[16];
	int n = 0, m = 0;
	int ok = c != NULL &&
	         EVP_EncryptInit_ex2(c, EVP_aes_256_gcm(), key32, nonce12, NULL) == 1 &&
	         EVP_EncryptUpdate(c, out, &n, text16k, (int)sizeof(text16k)) == 1 &&
	         EVP_EncryptFinal_ex(c, out + n, &m) == 1 &&
	         EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, tag) == 1;

	EVP_CIPHER_CTX_free(c);
	return ok ? PSA_SUCCESS : PSA_ERROR_GENERIC_ERROR;
}

static psa_status_t ossl_aead_once(void)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	static uint8_t out[sizeof(text16k) + 64];
	uint8_t tag[16];
	int n = 0, total = 0;
	int ok = c != NULL && EVP_EncryptInit_ex2(c, EVP_aes_256_gcm(), key32, nonce12, NULL) == 1;

	for (size_t off = 0; ok && off < sizeof(text16k); off += 4096) {
		ok = EVP_EncryptUpdate(c, out + total, &n, text16k + off, 4096) == 1;
		total += n;
	}
	ok = ok && EVP_EncryptFinal_ex(c, out + total, &n) == 1 &&
	     EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, tag) == 1;
	EVP_CIPHER_CTX_free(c);
	return ok ? PSA_SUCCESS : PSA_ERROR_GENERIC_ERROR;
}

static void run(psa_status_t (*fn)(void), struct side *ret)
{
	double start = now_s(), t;

	*ret = (struct side){0};
	do {
		psa_status_t st = fn();

		if (st != PSA_SUCCESS) {
			ret->first_error = st;
			break;
		}
		ret->count++;
		t = now_s();
	} while (t - start < duration);
	ret->secs = now_s() - start;
}

static int row(const char *name, psa_status_t (*daemon)(void), psa_status_t (*local)(void),
               bool last)
{
	struct side d, l;
	double drate, lrate;

	run(local, &l);
	run(daemon, &d);
	if (d.first_error != PSA_SUCCESS || l.first_error != PSA_SUCCESS) {
		fprintf(stderr, "tessera-psa-bench: %s failed: psa status %d (baseline %d)\n", name,
		        (int)d.first_error, (int)l.first_error);
		return -1;
	}
	drate = d.count / d.secs;
	lrate = l.count / l.secs;
	if (json)
		printf("    {\"op\": \"%s\", \"calls\": %ld, \"rate\": %.1f, \"us_per_call\": "
		       "%.1f, "
		       "\"baseline\": \"openssl in-process\", \"baseline_rate\": %.1f, "
		       "\"baseline_us_per_call\": %.2f, \"ratio\": %.4f}%s\n",
		       name, d.count, drate, 1e6 / drate, lrate, 1e6 / lrate, drate / lrate,
		       last ? "" : ",");
	else
		printf("%-24s %9.0f/s = %7.1f us/call | openssl in-process %9.0f/s = %6.2f us: "
		       "%.3fx\n",
		       name, drate, 1e6 / drate, lrate, 1e6 / lrate, drate / lrate);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longs[] = {{"spawn", no_argument, NULL, 's'},
	                                      {"duration", required_argument, NULL, 'd'},
	                                      {"json", no_argument, NULL, 'j'},
	                                      {"help", no_argument, NULL, 'h'},
	                                      {NULL, 0, NULL, 0}};
	bool spawn = false;
	psa_status_t st;
	int c, rc = 1;

	while ((c = getopt_long(argc, argv, "", longs, NULL)) != -1) {
		switch (c) {
		case 's':
			spawn = true;
			break;
		case 'd':
			duration = strtod(optarg, NULL);
			if (duration <= 0) {
				fprintf(stderr, "tessera-psa-bench: --duration must be > 0\n");
				return 2;
			}
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			printf("usage: tessera-psa-bench [--spawn] [--duration SECONDS] "
			       "[--json]\n");
			return 0;
		default:
			return 2;
		}
	}
	memset(text16k, 'p', sizeof(text16k));
	ossl_ec = EVP_EC_gen("P-256");
	if (ossl_ec == NULL)
		return 1;
	if (spawn && spawn_daemon() != 0)
		goto out;
	st = psa_setup();
	if (st != PSA_SUCCESS) {
		fprintf(stderr, "tessera-psa-bench: key set-up failed: psa status %d\n", (int)st);
		goto out;
	}
	if (json)
		printf("{\"psa_api\": [\n");
	if (row("psa_sign_hash ecdsa-p256", psa_sign_once, ossl_sign_once, false) == 0 &&
	    row("psa_aead gcm 16k/4k parts", psa_aead_once, ossl_aead_once, false) == 0 &&
	    row("psa_aead_encrypt gcm 16k", psa_aead_one_shot, ossl_aead_one_shot, true) == 0)
		rc = 0;
	if (json)
		printf("]}\n");
	psa_destroy_key(sign_key);
	psa_destroy_key(aead_key);
out:
	EVP_PKEY_free(ossl_ec);
	stop_daemon();
	return rc;
}
