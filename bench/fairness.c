/*
 * The fairness case: how much one tenant's slow requests (RSA-4096 key
 * generation, about a second of CPU each) delay another tenant's short ones.
 * The victim's p99 is measured alone and then under the flood, in the same
 * run, on the same daemon; the ratio of the two is the figure.
 */
#include "bench/bench-priv.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client/tessera.h"

#define VICTIM_SAMPLES 262144 /* latencies kept per operation and phase (a ring beyond) */

enum victim_kind {
	VICTIM_SIGN, /* RSA-2048 PSS sign-hash */
	VICTIM_GD,   /* ECC P-256 generate + destroy */
};

struct victim {
	const char *endpoint;
	enum victim_kind kind;
	const char *key_name; /* VICTIM_SIGN: the key; VICTIM_GD: the name to create */
	double end;
	float *lat_us;
	long count, errors;
	int first_error;
};

struct flood {
	const char *endpoint;
	int idx;
	atomic_int *stop;
	atomic_int *started;
	long keys, errors;
	int first_error;
	pthread_t th;
};

static const uint8_t fair_hash[32] = {0x5a, 0xa5, 1, 2, 3};

static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_lat(const void *a, const void *b)
{
	float x = *(const float *)a, y = *(const float *)b;

	return x < y ? -1 : x > y;
}

/* A persistent client of the Direct tenant app_name, or NULL. */
static struct tessera_client *tenant_open(const char *endpoint, const char *app_name,
                                          unsigned timeout_ms)
{
	struct tessera_options o;
	struct tessera_client *c;

	tessera_options_init(&o);
	o.endpoint = endpoint;
	o.auth_type = TESSERA_AUTH_DIRECT;
	o.app_name = app_name;
	o.persistent = 1;
	o.timeout_ms = timeout_ms;
	return tessera_open(&o, &c) == TESSERA_OK ? c : NULL;
}

static int victim_op(struct tessera_client *c, const struct victim *v)
{
	static const struct tessera_key_spec ecc = {.type = "ecc",
	                                            .bits = 256,
	                                            .alg = "ecdsa-sha256",
	                                            .usage = TESSERA_USAGE_SIGN_HASH};
	uint8_t *sig = NULL;
	size_t len = 0;
	int rc;

	if (v->kind == VICTIM_SIGN) {
		rc = tessera_sign_hash(c, 1, v->key_name, "rsa-pss-sha256", fair_hash,
		                       sizeof(fair_hash), &sig, &len);
		free(sig);
		return rc;
	}
	rc = tessera_generate_key(c, 1, v->key_name, &ecc);
	if (rc == TESSERA_OK)
		rc = tessera_destroy_key(c, 1, v->key_name);
	return rc;
}

static void *victim_main(void *arg)
{
	struct victim *v = arg;
	struct tessera_client *c = tenant_open(v->endpoint, "victim", 60000);

	if (c == NULL) {
		v->errors++;
		v->first_error = TESSERA_ERR_CONNECT;
		return NULL;
	}
	while (mono_s() < v->end) {
		double t0 = mono_s();
		int rc = victim_op(c, v);

		if (rc != TESSERA_OK) {
			if (v->errors++ == 0)
				v->first_error = rc;
			continue;
		}
		v->lat_us[v->count % VICTIM_SAMPLES] = (float)((mono_s() - t0) * 1e6);
		v->count++;
	}
	tessera_close(c);
	return NULL;
}

static void side_summarise(struct victim *v, struct fairness_side *ret)
{
	long n = v->count < VICTIM_SAMPLES ? v->count : VICTIM_SAMPLES;

	memset(ret, 0, sizeof(*ret));
	ret->count = v->count;
	ret->errors = v->errors;
	ret->first_error = v->first_error;
	if (n == 0)
		return;
	qsort(v->lat_us, (size_t)n, sizeof(float), cmp_lat);
	ret->p50_us = v->lat_us[n / 2];
	ret->p99_us = v->lat_us[(long)((double)n * 0.99)];
	ret->max_us = v->lat_us[n - 1];
}

/* Both victim operations at once, each on its own connection, for
 * `duration`; the phase ends when both have had their last answer. */
static int victim_phase(const struct fairness_params *p, struct victim v[2], const char *key,
                        const char *gd_name, struct fairness_side *ret_sign,
                        struct fairness_side *ret_gd)
{
	double end = mono_s() + p->duration;
	pthread_t th[2];

	for (int i = 0; i < 2; i++) {
		v[i].endpoint = p->endpoint;
		v[i].kind = i == 0 ? VICTIM_SIGN : VICTIM_GD;
		v[i].key_name = i == 0 ? key : gd_name;
		v[i].end = end;
		v[i].count = v[i].errors = 0;
		v[i].first_error = 0;
		if (pthread_create(&th[i], NULL, victim_main, &v[i]) != 0) {
			if (i == 1)
				pthread_join(th[0], NULL);
			return -1;
		}
	}
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	side_summarise(&v[0], ret_sign);
	side_summarise(&v[1], ret_gd);
	return 0;
}

/* Generate and destroy RSA-4096 keys, each name used once, until told to
 * stop; the request in flight then is finished and its key destroyed. */
static void *flood_main(void *arg)
{
	static const struct tessera_key_spec rsa = {.type = "rsa",
	                                            .bits = 4096,
	                                            .alg = "rsa-pss-sha256",
	                                            .usage = TESSERA_USAGE_SIGN_HASH};
	struct flood *f = arg;
	struct tessera_client *c = tenant_open(f->endpoint, "flood", 120000);
	char name[64];
	long seq = 0;

	atomic_fetch_add(f->started, 1);
	if (c == NULL) {
		f->errors++;
		f->first_error = TESSERA_ERR_CONNECT;
		return NULL;
	}
	while (!atomic_load(f->stop)) {
		int rc;

		snprintf(name, sizeof(name), "fair-flood-%d-%d-%ld", (int)getpid(), f->idx, seq++);
		rc = tessera_generate_key(c, 1, name, &rsa);
		if (rc == TESSERA_OK) {
			f->keys++;
			rc = tessera_destroy_key(c, 1, name);
		} else {
			/* A cut connection may still have left the key. */
			tessera_destroy_key(c, 1, name);
			usleep(10000); /* no busy loop on a daemon that refuses */
		}
		if (rc != TESSERA_OK && f->errors++ == 0)
			f->first_error = rc;
	}
	tessera_close(c);
	return NULL;
}

/* The victim's RSA key, made fresh; 0 or -1 with a message. */
static int victim_key_make(struct tessera_client *c, const char *key)
{
	static const struct tessera_key_spec rsa = {.type = "rsa",
	                                            .bits = 2048,
	                                            .alg = "rsa-pss-sha256",
	                                            .usage = TESSERA_USAGE_SIGN_HASH};
	uint8_t *sig = NULL;
	size_t len = 0;
	int rc;

	tessera_destroy_key(c, 1, key);
	rc = tessera_generate_key(c, 1, key, &rsa);
	/* One signature first, so the alone phase starts with the key cached. */
	if (rc == TESSERA_OK)
		rc = tessera_sign_hash(c, 1, key, "rsa-pss-sha256", fair_hash, sizeof(fair_hash),
		                       &sig, &len);
	free(sig);
	if (rc != TESSERA_OK) {
		fprintf(stderr,
		        "tessera-bench: fairness: cannot make the victim's key as Direct "
		        "\"victim\" (is the Direct authenticator configured?): %s\n",
		        tessera_strerror(rc));
		return -1;
	}
	return 0;
}

int fairness_run(const struct fairness_params *p, struct fairness_result *ret)
{
	struct flood *fl = calloc((size_t)p->flood, sizeof(*fl));
	struct victim v[2] = {{0}};
	struct tessera_client *setup = tenant_open(p->endpoint, "victim", 60000);
	atomic_int stop = 0, started = 0;
	double t0 = mono_s(), t_end;
	char key[64], gd_name[64];
	int n_flood = 0, rc = -1;

	memset(ret, 0, sizeof(*ret));
	snprintf(key, sizeof(key), "fair-victim-rsa-%d", (int)getpid());
	snprintf(gd_name, sizeof(gd_name), "fair-victim-gd-%d", (int)getpid());
	v[0].lat_us = malloc(VICTIM_SAMPLES * sizeof(float));
	v[1].lat_us = malloc(VICTIM_SAMPLES * sizeof(float));
	if (fl == NULL || setup == NULL || v[0].lat_us == NULL || v[1].lat_us == NULL ||
	    victim_key_make(setup, key) != 0)
		goto out;
	if (victim_phase(p, v, key, gd_name, &ret->sign[0], &ret->gd[0]) != 0)
		goto out;

	for (; n_flood < p->flood; n_flood++) {
		fl[n_flood] = (struct flood){.endpoint = p->endpoint,
		                             .idx = n_flood,
		                             .stop = &stop,
		                             .started = &started};
		if (pthread_create(&fl[n_flood].th, NULL, flood_main, &fl[n_flood]) != 0)
			break;
	}
	/* Until every flood connection has its first generation under way. */
	for (int i = 0; i < 200 && atomic_load(&started) < n_flood; i++)
		usleep(10000);
	usleep(100000);
	rc = victim_phase(p, v, key, gd_name, &ret->sign[1], &ret->gd[1]);
	t_end = mono_s();
	atomic_store(&stop, 1);
	for (int i = 0; i < n_flood; i++) {
		pthread_join(fl[i].th, NULL);
		ret->flood_keys += fl[i].keys;
		if (fl[i].errors && !ret->flood_errors)
			ret->flood_first_error = fl[i].first_error;
		ret->flood_errors += fl[i].errors;
	}
	ret->stop_s = mono_s() - t_end;
	if (n_flood < p->flood)
		rc = -1;
out:
	if (setup != NULL)
		tessera_destroy_key(setup, 1, key);
	tessera_close(setup);
	free(v[0].lat_us);
	free(v[1].lat_us);
	free(fl);
	ret->total_s = mono_s() - t0;
	return rc;
}
