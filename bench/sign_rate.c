/*
 * sign-rate: ECDSA P-256 sign-hash through a running tesserad (one
 * persistent connection per thread, Direct auth), next to the same signature
 * made in-process with OpenSSL on the same number of threads: the ceiling a
 * daemon can approach.
 *
 *   sign-rate SOCKET [THREADS] [SECONDS]
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "client/tessera.h"

static const char *sock_path;
static double seconds = 3.0;
static EVP_PKEY *local_key;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *daemon_worker(void *arg)
{
	long *count = arg;
	struct tessera_options o;
	struct tessera_client *c;
	char ep[160], app[32];
	uint8_t hash[32] = {1}, *sig;
	size_t len;
	double end;

	tessera_options_init(&o);
	snprintf(ep, sizeof(ep), "unix:%s", sock_path);
	snprintf(app, sizeof(app), "bench");
	o.endpoint = ep;
	o.auth_type = TESSERA_AUTH_DIRECT;
	o.app_name = app;
	if (tessera_open(&o, &c) != TESSERA_OK)
		return NULL;
	end = now() + seconds;
	while (now() < end) {
		if (tessera_sign_hash(c, 1, "bench-p256", "ecdsa-sha256", hash, 32, &sig, &len) !=
		    TESSERA_OK) {
			fprintf(stderr, "sign-rate: sign failed\n");
			break;
		}
		free(sig);
		(*count)++;
	}
	tessera_close(c);
	return NULL;
}

static void *local_worker(void *arg)
{
	long *count = arg;
	uint8_t hash[32] = {1}, sig[80];
	double end = now() + seconds;

	while (now() < end) {
		EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(local_key, NULL);
		size_t len = sizeof(sig);

		EVP_PKEY_sign_init(ctx);
		EVP_PKEY_sign(ctx, sig, &len, hash, 32);
		EVP_PKEY_CTX_free(ctx);
		(*count)++;
	}
	return NULL;
}

static double run(void *(*fn)(void *), int threads)
{
	pthread_t t[64];
	long counts[64] = {0}, total = 0;

	for (int i = 0; i < threads; i++)
		pthread_create(&t[i], NULL, fn, &counts[i]);
	for (int i = 0; i < threads; i++) {
		pthread_join(t[i], NULL);
		total += counts[i];
	}
	return (double)total / seconds;
}

int main(int argc, char **argv)
{
	struct tessera_options o;
	struct tessera_client *c;
	struct tessera_key_spec spec = {.type = "ecc",
	                                .bits = 256,
	                                .alg = "ecdsa-sha256",
	                                .usage = TESSERA_USAGE_SIGN_HASH};
	char ep[160];
	int threads = argc > 2 ? atoi(argv[2]) : 2;
	double base, dmn;

	if (argc < 2 || threads < 1 || threads > 64) {
		fprintf(stderr, "usage: sign-rate SOCKET [THREADS 1-64] [SECONDS]\n");
		return 2;
	}
	sock_path = argv[1];
	if (argc > 3)
		seconds = atof(argv[3]);
	tessera_options_init(&o);
	snprintf(ep, sizeof(ep), "unix:%s", sock_path);
	o.endpoint = ep;
	o.auth_type = TESSERA_AUTH_DIRECT;
	o.app_name = "bench";
	if (tessera_open(&o, &c) != TESSERA_OK)
		return 1;
	tessera_destroy_key(c, 1, "bench-p256");
	if (tessera_generate_key(c, 1, "bench-p256", &spec) != TESSERA_OK) {
		fprintf(stderr, "sign-rate: cannot create the key (is Direct enabled?)\n");
		return 1;
	}
	local_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "prime256v1");
	base = run(local_worker, threads);
	dmn = run(daemon_worker, threads);
	printf("in-process OpenSSL, %d thread(s): %8.0f signatures/s\n", threads, base);
	printf("tesserad sign-hash, %d client(s):  %8.0f signatures/s  (%.2fx)\n", threads, dmn,
	       dmn / base);
	tessera_destroy_key(c, 1, "bench-p256");
	tessera_close(c);
	EVP_PKEY_free(local_key);
	return 0;
}
