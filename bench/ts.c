/*
 * libts's own ECDSA P-256 SIGN_HASH, in process (bench-priv.h): the baseline
 * of tessera-bench --spawn-ts. The library is opened and called through the
 * provider's own libts transport (transport-libts.c, linked), the requests
 * are written and the answers read with the provider's packed-c codec
 * (ts-codec.c), and the key is persistent, as the provider's are, so what
 * lies between the two figures is the daemon: the wire protocol, the core
 * and the provider around its transport and codec.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench-priv.h"
#include "providers/trusted_services/ts-codec.h"
#include "providers/trusted_services/ts-transport.h"

#define TSB_MAX_SAMPLES 1000000

/* PSA encodings: ECC key pair on SECP-R1, ECDSA with SHA-256, sign and
 * verify a hash. */
#define TSB_TYPE_ECC_SECP_R1  0x7112u
#define TSB_ALG_ECDSA_SHA256  0x06000609u
#define TSB_USAGE_SIGN_VERIFY (0x00001000u | 0x00002000u)

/* The baseline's persistent key IDs: 0x3e000000 + this process's ID, below
 * the provider's range (TSP_KEY_ID_MIN, 0x3f000000), so that a key the
 * daemon made is never taken. */
#define TSB_KEY_ID_BASE 0x3e000000u
#define TSB_KEY_ID_SPAN 0x00ffffffu
#define TSB_KEY_TRIES   8

struct tsb {
	void *tr; /* the transport's state (tst_libts_ops) */
	uint8_t req[TST_PAYLOAD_MAX], resp[TST_PAYLOAD_MAX];
};

static double tsb_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int tsb_cmp(const void *a, const void *b)
{
	float x = *(const float *)a, y = *(const float *)b;

	return x < y ? -1 : x > y;
}

/* One call: t->req[0..req_len) out, the answer into t->resp[0..*ret_len).
 * 0, or -1 with the two statuses in *rpc and *service. */
static int tsb_call(struct tsb *t, uint32_t opcode, size_t req_len, size_t *ret_len, int32_t *rpc,
                    int64_t *service)
{
	*rpc = 0;
	*service = 0;
	if (tst_libts_ops.call(t->tr, opcode, t->req, req_len, t->resp, sizeof(t->resp), ret_len,
	                       rpc, service) != TS_OK) {
		*rpc = TSC_RPC_TRANSPORT_LAYER;
		return -1;
	}
	return *rpc == TSC_RPC_SUCCESS && *service == TSC_PSA_SUCCESS ? 0 : -1;
}

/* SIGN_HASH of a 32-byte digest until `duration` s have passed; 0, or -1 at
 * the first failure. */
static int tsb_sign_loop(struct tsb *t, uint32_t id, double duration,
                         struct ts_baseline_result *ret)
{
	static const uint8_t digest[32] = {0x42, 1, 2, 3};
	float *lat = malloc(TSB_MAX_SAMPLES * sizeof(float));
	double t0 = tsb_now(), end = t0 + duration, now;
	long n = 0;

	if (lat == NULL)
		return -1;
	while ((now = tsb_now()) < end) {
		const uint8_t *sig;
		size_t len = 0, sig_len = 0;
		int32_t rpc = 0;
		int64_t service = 0;

		if (tsc_req_sign(t->req, sizeof(t->req), id, TSB_ALG_ECDSA_SHA256, digest,
		                 sizeof(digest), &len) != TS_OK ||
		    tsb_call(t, TSC_OP_SIGN_HASH, len, &len, &rpc, &service) != 0 ||
		    tsc_resp_data(t->resp, len, &sig, &sig_len) != TS_OK || sig_len != 64) {
			fprintf(stderr,
			        "ts baseline: SIGN_HASH: rpc status %d, service status %lld, %zu "
			        "signature bytes\n",
			        (int)rpc, (long long)service, sig_len);
			free(lat);
			return -1;
		}
		lat[n % TSB_MAX_SAMPLES] = (float)((tsb_now() - now) * 1e6);
		n++;
	}
	ret->count = n;
	ret->rps = (double)n / (tsb_now() - t0);
	if (n > 0) {
		long k = n < TSB_MAX_SAMPLES ? n : TSB_MAX_SAMPLES;

		qsort(lat, (size_t)k, sizeof(float), tsb_cmp);
		ret->p50_us = lat[k / 2];
		ret->p99_us = lat[(long)((double)k * 0.99)];
	}
	free(lat);
	return 0;
}

int ts_baseline_run(const char *libts, const char *service, double duration,
                    struct ts_baseline_result *ret)
{
	struct tsb *t = calloc(1, sizeof(*t));
	struct tsc_attrs attrs = {.type = TSB_TYPE_ECC_SECP_R1,
	                          .bits = 256,
	                          .lifetime = TSC_LIFETIME_PERSISTENT,
	                          .usage = TSB_USAGE_SIGN_VERIFY,
	                          .alg = TSB_ALG_ECDSA_SHA256};
	struct tst_settings set = {.path = "--libts", .libts_path = libts, .service = service};
	const char *step = NULL;
	char err[512] = "";
	uint32_t id = 0, got = 0;
	int have_key = 0, rc = -1;
	int32_t rpc = 0;
	int64_t status = 0;
	size_t len = 0;

	memset(ret, 0, sizeof(*ret));
	if (t == NULL)
		return -1;
	if (tst_libts_ops.open(&set, &t->tr, err, sizeof(err)) != TS_OK) {
		fprintf(stderr, "ts baseline: %s\n", err);
		goto out;
	}
	/* A persistent key, as the provider makes: an ID another run left
	 * behind (ALREADY_EXISTS) is left alone and the next one tried. */
	step = "GENERATE_KEY";
	for (int i = 0; i < TSB_KEY_TRIES && !have_key; i++) {
		attrs.id = TSB_KEY_ID_BASE + (((uint32_t)getpid() + (uint32_t)i) % TSB_KEY_ID_SPAN);
		if (tsc_req_generate(t->req, sizeof(t->req), &attrs, &len) != TS_OK)
			goto out;
		if (tsb_call(t, TSC_OP_GENERATE_KEY, len, &len, &rpc, &status) == 0)
			have_key = 1;
		else if (rpc != TSC_RPC_SUCCESS || status != TSC_PSA_ERROR_ALREADY_EXISTS)
			goto out;
	}
	if (!have_key)
		goto out;
	id = attrs.id;
	if (tsc_resp_id(t->resp, len, &got) != TS_OK || got != id)
		goto out;
	step = NULL;
	rc = tsb_sign_loop(t, id, duration, ret);
out:
	if (step != NULL)
		fprintf(stderr,
		        "ts baseline: %s failed on %s (rpc status %d, service status %lld)\n", step,
		        libts, (int)rpc, (long long)status);
	if (have_key && (tsc_req_key_id(t->req, sizeof(t->req), id, &len) != TS_OK ||
	                 tsb_call(t, TSC_OP_DESTROY_KEY, len, &len, &rpc, &status) != 0)) {
		fprintf(stderr, "ts baseline: DESTROY_KEY of 0x%x: rpc status %d, service %lld\n",
		        (unsigned)id, (int)rpc, (long long)status);
		rc = -1;
	}
	tst_libts_ops.close(t->tr);
	free(t);
	return rc;
}
