/*
 * tessera-bench: load generator for tesserad, with the baselines that give
 * its figures meaning measured in the same run.
 *
 *   tessera-bench [--socket PATH | --spawn] [--op OP] [--clients N] [--processes]
 *                 [--connect-per-request] [--duration SEC | --requests N]
 *                 [--baseline-threads N] [--json] [--idle N | --slow N]
 *                 [--io-threads N] [--flood N] [--provider ID]
 *                 [--spawn-hsm | --spawn-tpm | --spawn-ts [--libts PATH]]
 *
 * OP: ping, sign-ecdsa-p256, verify-ecdsa-p256, sign-rsa2048-pss, aead-64,
 * aead-16k, random-32, generate-destroy, fairness, or all (default). For each
 * it prints requests/s, p50/p99/p99.9 latency and tesserad's CPU time per
 * request, and the ratio to its baseline: an AF_UNIX echo of the same request
 * and response sizes for Ping, the same operation done in-process with
 * OpenSSL on --baseline-threads threads (default: the number of CPUs) for the
 * rest. Sign-hash ECDSA P-256 is also measured against a limit server
 * (limit.c, --baseline-threads event loops) driven by the same clients: its
 * "limit ratio" is tesserad's rate over the limit's. fairness (fairness.c):
 * a victim tenant's p99 alone and while another tenant generates RSA-4096
 * keys on --flood connections (default 2).
 * --spawn starts a tesserad of this build on a temporary socket and state
 * directory (and stops it afterwards), with core.io_threads set to
 * --io-threads (default 0: one event loop per CPU) and the authenticators
 * UnixPeerCredentials (the clients of every OP) and Direct (fairness).
 * --provider ID runs the key operations on another provider of a daemon
 * given with --socket (a PKCS#11 token: ID 2, a TPM: ID 3).
 * --spawn-hsm is --spawn with a SoftHSM2 token made in the temporary
 * directory, the Pkcs11 provider (and Software) in the daemon and the key
 * operations on provider 2 (default: sign-ecdsa-p256 only); sign-ecdsa-p256
 * also gets SoftHSM's own C_SignInit + C_Sign in this process (p11.c, on
 * --baseline-threads threads, token key) as its "hw ratio", measured while
 * the daemon is idle. --spawn-tpm is the same with a swtpm on a Unix socket,
 * the Tpm provider (password sessions) on provider 3, and ESAPI's own
 * Esys_Sign (tpm.c, one thread) on that swtpm as the baseline, measured
 * before the daemon starts: the provider keeps its connection to the TPM
 * open, and swtpm serves one connection at a time. --spawn-ts is the same
 * with the TrustedService provider (transport libts; libts_path: --libts,
 * by default the test endpoint's libts stand-in of this build) on provider
 * 4, and SIGN_HASH on the same library in this process (ts.c: one session,
 * the provider's codec) as the baseline, measured while the daemon is idle;
 * the stand-in keeps its keys in $TSFAKE_STORE, set to a file of the
 * daemon's and one of this process's in the temporary directory. Everything
 * started is stopped, and the directory removed, on every exit (also on
 * SIGINT/TERM).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include "bench/bench-priv.h"
#include "client/tessera.h"
#include "wire/wire.h"

#define MAX_CLIENTS    1024
#define LAT_PER_WORKER 262144 /* latency samples kept per worker (a ring beyond) */
/* The fairness case runs with every operation only while it takes < 15 s at
 * the default --duration; otherwise only as --op fairness. */
#define FAIRNESS_IN_ALL 1

enum op {
	OP_PING,
	OP_SIGN_ECDSA,
	OP_VERIFY_ECDSA,
	OP_SIGN_RSA_PSS,
	OP_AEAD_64,
	OP_AEAD_16K,
	OP_RANDOM_32,
	OP_GENERATE_DESTROY,
	OP_COUNT,
};

static const char *const op_names[OP_COUNT] = {
        "ping",    "sign-ecdsa-p256", "verify-ecdsa-p256", "sign-rsa2048-pss",
        "aead-64", "aead-16k",        "random-32",         "generate-destroy",
};

struct opts {
	char endpoint[PATH_MAX + 8];
	const char *socket;
	int clients;
	int processes;
	int persistent;
	double duration;
	long requests; /* per run; 0: by duration */
	int baseline_threads;
	int json;
	long idle;      /* --idle: connections held open during a Ping run */
	int slow;       /* --slow: those connections send half a header and stall */
	int io_threads; /* --spawn: the daemon's core.io_threads */
	int flood;      /* fairness: connections of the flooding tenant */
	int provider;   /* --provider: wire ID the key operations go to (1) */
	int hw;         /* --spawn-hsm, -tpm, -ts: HW_HSM, HW_TPM, HW_TS; else 0 */
	/* --libts: the library of --spawn-ts; ts_library() sets the test endpoint. */
	const char *libts;
};

enum { HW_HSM = 1, HW_TPM, HW_TS };

/* The in-process baseline of a hardware provider, for sign-ecdsa-p256. */
struct hw_figures {
	double rps;
	double session_rps;    /* HW_HSM: the same on a session key */
	double p50_us, p99_us; /* HW_TPM, HW_TS: one thread's latency */
};

/* What one worker measured; lives in shared memory for --processes. */
struct worker_out {
	long count;
	long errors;
	int first_error;
	long n_lat;
	float lat_us[LAT_PER_WORKER];
};

struct figures {
	double rps, p50, p99, p999;
	long count, errors;
	int first_error;
	double cpu_us_per_req;        /* daemon; <0 unknown */
	double client_cpu_us_per_req; /* this process (the clients), threads mode */
};

static struct opts opt = {
        .clients = 1, .persistent = 1, .duration = 3.0, .flood = 2, .provider = 1};
static pid_t daemon_pid;
static uint8_t sig_ecdsa[72];
static size_t sig_ecdsa_len;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_float(const void *a, const void *b)
{
	float x = *(const float *)a, y = *(const float *)b;

	return x < y ? -1 : x > y;
}

/* ---- the daemon side ---- */

static struct tessera_client *client_open(int persistent)
{
	struct tessera_options o;
	struct tessera_client *c;

	tessera_options_init(&o);
	o.endpoint = opt.endpoint;
	o.persistent = persistent;
	o.timeout_ms = 30000;
	return tessera_open(&o, &c) == TESSERA_OK ? c : NULL;
}

static const uint8_t hash32[32] = {0x42, 1, 2, 3, 4, 5, 6, 7};
static const uint8_t nonce12[12] = {1};
static uint8_t plain16k[16384];

static int daemon_op(struct tessera_client *c, enum op op, int worker)
{
	uint8_t *out = NULL;
	size_t len = 0;
	uint32_t maj, min;
	int rc;

	switch (op) {
	case OP_PING:
		return tessera_ping(c, &maj, &min);
	case OP_SIGN_ECDSA:
		rc = tessera_sign_hash(c, (uint8_t)opt.provider, "bench-ecdsa", "ecdsa-sha256",
		                       hash32, 32, &out, &len);
		break;
	case OP_VERIFY_ECDSA:
		return tessera_verify_hash(c, (uint8_t)opt.provider, "bench-ecdsa", "ecdsa-sha256",
		                           hash32, 32, sig_ecdsa, sig_ecdsa_len);
	case OP_SIGN_RSA_PSS:
		rc = tessera_sign_hash(c, (uint8_t)opt.provider, "bench-rsa", "rsa-pss-sha256",
		                       hash32, 32, &out, &len);
		break;
	case OP_AEAD_64:
	case OP_AEAD_16K:
		rc = tessera_aead_encrypt(c, (uint8_t)opt.provider, "bench-aes", "aes-gcm", nonce12,
		                          12, NULL, 0, plain16k,
		                          op == OP_AEAD_64 ? 64 : sizeof(plain16k), &out, &len);
		break;
	case OP_RANDOM_32:
		rc = tessera_generate_random(c, (uint8_t)opt.provider, 32, &out);
		break;
	default: {
		char name[48];
		struct tessera_key_spec spec = {.type = "ecc",
		                                .bits = 256,
		                                .alg = "ecdsa-sha256",
		                                .usage = TESSERA_USAGE_SIGN_HASH};

		snprintf(name, sizeof(name), "bench-gd-%d-%d", (int)getpid(), worker);
		rc = tessera_generate_key(c, (uint8_t)opt.provider, name, &spec);
		if (rc == TESSERA_OK)
			rc = tessera_destroy_key(c, (uint8_t)opt.provider, name);
		return rc;
	}
	}
	free(out);
	return rc;
}

/* Make the keys the operations use (a fresh copy each run). */
static int setup_keys(void)
{
	struct tessera_client *c = client_open(1);
	struct tessera_key_spec ecdsa = {.type = "ecc",
	                                 .bits = 256,
	                                 .alg = "ecdsa-sha256",
	                                 .usage = TESSERA_USAGE_SIGN_HASH |
	                                          TESSERA_USAGE_VERIFY_HASH};
	struct tessera_key_spec rsa = {.type = "rsa",
	                               .bits = 2048,
	                               .alg = "rsa-pss-sha256",
	                               .usage =
	                                       TESSERA_USAGE_SIGN_HASH | TESSERA_USAGE_VERIFY_HASH};
	struct tessera_key_spec aes = {.type = "aes",
	                               .bits = 256,
	                               .alg = "aes-gcm",
	                               .usage = TESSERA_USAGE_ENCRYPT | TESSERA_USAGE_DECRYPT};
	uint8_t *sig = NULL;
	int rc;

	if (c == NULL)
		return -1;
	tessera_destroy_key(c, (uint8_t)opt.provider, "bench-ecdsa");
	tessera_destroy_key(c, (uint8_t)opt.provider, "bench-rsa");
	tessera_destroy_key(c, (uint8_t)opt.provider, "bench-aes");
	rc = tessera_generate_key(c, (uint8_t)opt.provider, "bench-ecdsa", &ecdsa);
	if (rc == TESSERA_OK)
		rc = tessera_generate_key(c, (uint8_t)opt.provider, "bench-rsa", &rsa);
	/* A hardware provider may have no AES: aead runs then fail, the rest work. */
	if (rc == TESSERA_OK &&
	    tessera_generate_key(c, (uint8_t)opt.provider, "bench-aes", &aes) == 1134)
		fprintf(stderr, "tessera-bench: provider %d has no AES-GCM; aead ops will fail\n",
		        opt.provider);
	if (rc == TESSERA_OK)
		rc = tessera_sign_hash(c, (uint8_t)opt.provider, "bench-ecdsa", "ecdsa-sha256",
		                       hash32, 32, &sig, &sig_ecdsa_len);
	if (rc == TESSERA_OK && sig_ecdsa_len <= sizeof(sig_ecdsa))
		memcpy(sig_ecdsa, sig, sig_ecdsa_len);
	free(sig);
	tessera_close(c);
	if (rc != TESSERA_OK)
		fprintf(stderr, "tessera-bench: cannot make the bench keys: %s\n",
		        tessera_strerror(rc));
	return rc == TESSERA_OK ? 0 : -1;
}

/* utime + stime of the daemon, in microseconds; -1 when unknown. */
static double daemon_cpu_us(void)
{
	char path[64], buf[1024], *p;
	unsigned long long ut = 0, st = 0;
	FILE *f;
	int field = 2;

	if (daemon_pid <= 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)daemon_pid);
	f = fopen(path, "r");
	if (f == NULL)
		return -1;
	p = fgets(buf, sizeof(buf), f);
	fclose(f);
	if (p == NULL || (p = strrchr(buf, ')')) == NULL)
		return -1;
	for (p++; *p != '\0' && field < 15; field++) {
		while (*p == ' ')
			p++;
		if (field + 1 == 14)
			ut = strtoull(p, NULL, 10);
		if (field + 1 == 15)
			st = strtoull(p, NULL, 10);
		while (*p != ' ' && *p != '\0')
			p++;
	}
	return (double)(ut + st) * 1e6 / (double)sysconf(_SC_CLK_TCK);
}

struct run_ctx {
	enum op op;
	int worker;
	struct worker_out *out;
	double end;
	long quota;
	atomic_int *go;
};

static void worker_loop(struct run_ctx *r)
{
	struct tessera_client *c = client_open(opt.persistent);
	struct worker_out *w = r->out;

	if (c == NULL) {
		w->errors++;
		w->first_error = TESSERA_ERR_CONNECT;
		return;
	}
	while (r->quota ? w->count + w->errors < r->quota : now_s() < r->end) {
		double t0 = now_s();
		int rc = daemon_op(c, r->op, r->worker);
		float us = (float)((now_s() - t0) * 1e6);

		if (rc != TESSERA_OK) {
			if (w->errors++ == 0)
				w->first_error = rc;
			continue;
		}
		w->lat_us[w->count % LAT_PER_WORKER] = us;
		w->count++;
	}
	w->n_lat = w->count < LAT_PER_WORKER ? w->count : LAT_PER_WORKER;
	tessera_close(c);
}

static void *thread_main(void *arg)
{
	worker_loop(arg);
	return NULL;
}

static void summarise(struct worker_out *outs, int n, double secs, struct figures *f)
{
	long total_lat = 0, k = 0;
	float *all;

	memset(f, 0, sizeof(*f));
	for (int i = 0; i < n; i++) {
		f->count += outs[i].count;
		if (outs[i].errors && !f->errors)
			f->first_error = outs[i].first_error;
		f->errors += outs[i].errors;
		total_lat += outs[i].n_lat;
	}
	f->rps = f->count / secs;
	all = malloc((size_t)(total_lat ? total_lat : 1) * sizeof(float));
	if (all == NULL)
		return;
	for (int i = 0; i < n; i++)
		for (long j = 0; j < outs[i].n_lat; j++)
			all[k++] = outs[i].lat_us[j];
	if (k > 0) {
		qsort(all, (size_t)k, sizeof(float), cmp_float);
		f->p50 = all[k / 2];
		f->p99 = all[(long)(k * 0.99)];
		f->p999 = all[(long)(k * 0.999)];
	}
	free(all);
}

/* CPU time of this process (all its threads), in microseconds. */
static double self_cpu_us(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

static int measure_daemon(enum op op, struct figures *f)
{
	size_t size = sizeof(struct worker_out) * (size_t)opt.clients;
	struct worker_out *outs =
	        mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	double t0, t1, cpu0, cpu1, self0, self1;
	struct run_ctx ctx[MAX_CLIENTS];
	pthread_t th[MAX_CLIENTS];
	pid_t pids[MAX_CLIENTS];

	if (outs == MAP_FAILED)
		return -1;
	memset(outs, 0, size);
	cpu0 = daemon_cpu_us();
	self0 = self_cpu_us();
	t0 = now_s();
	for (int i = 0; i < opt.clients; i++) {
		ctx[i] = (struct run_ctx){
		        .op = op,
		        .worker = i,
		        .out = &outs[i],
		        .end = t0 + opt.duration,
		        .quota = opt.requests ? (opt.requests + opt.clients - 1) / opt.clients : 0};
		if (opt.processes) {
			pids[i] = fork();
			if (pids[i] == 0) {
				worker_loop(&ctx[i]);
				_exit(0);
			}
		} else {
			pthread_create(&th[i], NULL, thread_main, &ctx[i]);
		}
	}
	for (int i = 0; i < opt.clients; i++) {
		if (opt.processes)
			waitpid(pids[i], NULL, 0);
		else
			pthread_join(th[i], NULL);
	}
	t1 = now_s();
	cpu1 = daemon_cpu_us();
	self1 = self_cpu_us();
	summarise(outs, opt.clients, t1 - t0, f);
	f->cpu_us_per_req = cpu0 >= 0 && cpu1 >= 0 && f->count > 0 ? (cpu1 - cpu0) / f->count : -1;
	f->client_cpu_us_per_req = !opt.processes && f->count > 0 ? (self1 - self0) / f->count : -1;
	munmap(outs, size);
	return 0;
}

/* ---- baselines ---- */

/* In-process OpenSSL: the ceiling for a crypto operation. */
static EVP_PKEY *bl_ecdsa, *bl_rsa;
static uint8_t bl_aes_key[32];
static uint8_t bl_sig[80];
static size_t bl_sig_len;

static int local_op(enum op op)
{
	uint8_t out[16384 + 16], tag[16];
	size_t len = sizeof(out);
	EVP_PKEY_CTX *pc = NULL;
	int ok = 0, n;

	switch (op) {
	case OP_SIGN_ECDSA:
	case OP_SIGN_RSA_PSS:
		pc = EVP_PKEY_CTX_new(op == OP_SIGN_ECDSA ? bl_ecdsa : bl_rsa, NULL);
		ok = pc && EVP_PKEY_sign_init(pc) == 1 &&
		     EVP_PKEY_CTX_set_signature_md(pc, EVP_sha256()) == 1 &&
		     (op == OP_SIGN_ECDSA ||
		      (EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PSS_PADDING) == 1 &&
		       EVP_PKEY_CTX_set_rsa_pss_saltlen(pc, RSA_PSS_SALTLEN_DIGEST) == 1)) &&
		     EVP_PKEY_sign(pc, out, &len, hash32, 32) == 1;
		break;
	case OP_VERIFY_ECDSA:
		pc = EVP_PKEY_CTX_new(bl_ecdsa, NULL);
		ok = pc && EVP_PKEY_verify_init(pc) == 1 &&
		     EVP_PKEY_CTX_set_signature_md(pc, EVP_sha256()) == 1 &&
		     EVP_PKEY_verify(pc, bl_sig, bl_sig_len, hash32, 32) == 1;
		break;
	case OP_AEAD_64:
	case OP_AEAD_16K: {
		EVP_CIPHER_CTX *cc = EVP_CIPHER_CTX_new();
		int in_len = op == OP_AEAD_64 ? 64 : (int)sizeof(plain16k);

		ok = cc &&
		     EVP_EncryptInit_ex(cc, EVP_aes_256_gcm(), NULL, bl_aes_key, nonce12) == 1 &&
		     EVP_EncryptUpdate(cc, out, &n, plain16k, in_len) == 1 &&
		     EVP_EncryptFinal_ex(cc, out + n, &n) == 1 &&
		     EVP_CIPHER_CTX_ctrl(cc, EVP_CTRL_GCM_GET_TAG, 16, tag) == 1;
		EVP_CIPHER_CTX_free(cc);
		break;
	}
	case OP_RANDOM_32:
		ok = RAND_bytes(out, 32) == 1;
		break;
	case OP_GENERATE_DESTROY: {
		EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");

		ok = k != NULL;
		EVP_PKEY_free(k);
		break;
	}
	default:
		break;
	}
	EVP_PKEY_CTX_free(pc);
	return ok ? 0 : -1;
}

struct local_ctx {
	enum op op;
	double end;
	long count;
};

static void *local_thread(void *arg)
{
	struct local_ctx *l = arg;

	while (now_s() < l->end)
		if (local_op(l->op) == 0)
			l->count++;
	return NULL;
}

static double measure_local(enum op op)
{
	struct local_ctx ctx[MAX_CLIENTS];
	pthread_t th[MAX_CLIENTS];
	double t0 = now_s();
	long total = 0;
	double dur = opt.duration < 1 ? 1 : opt.duration;

	for (int i = 0; i < opt.baseline_threads; i++) {
		ctx[i] = (struct local_ctx){.op = op, .end = t0 + dur};
		pthread_create(&th[i], NULL, local_thread, &ctx[i]);
	}
	for (int i = 0; i < opt.baseline_threads; i++) {
		pthread_join(th[i], NULL);
		total += ctx[i].count;
	}
	return total / (now_s() - t0);
}

static int local_setup(void)
{
	size_t len = sizeof(bl_sig);
	EVP_PKEY_CTX *pc;

	bl_ecdsa = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	bl_rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	RAND_bytes(bl_aes_key, sizeof(bl_aes_key));
	pc = bl_ecdsa ? EVP_PKEY_CTX_new(bl_ecdsa, NULL) : NULL;
	if (pc == NULL || bl_rsa == NULL || EVP_PKEY_sign_init(pc) != 1 ||
	    EVP_PKEY_CTX_set_signature_md(pc, EVP_sha256()) != 1 ||
	    EVP_PKEY_sign(pc, bl_sig, &len, hash32, 32) != 1) {
		EVP_PKEY_CTX_free(pc);
		return -1;
	}
	bl_sig_len = len;
	EVP_PKEY_CTX_free(pc);
	return 0;
}

/* The AF_UNIX echo: the ceiling for Ping. One epoll loop (as tesserad's
 * front end is) answers each 36-byte request with a 38-byte response, Ping's
 * sizes, with a valid header so that libtessera accepts it. */
struct echo_conn {
	int fd;
	size_t got, need; /* need: header, then header + body + auth */
	uint8_t req[WIRE_HEADER_LEN + 65536 + 256];
};

static void echo_serve(struct echo_conn *c)
{
	for (;;) {
		ssize_t n = recv(c->fd, c->req + c->got, c->need - c->got, 0);
		struct wire_header h, rh;
		uint8_t resp[WIRE_HEADER_LEN + 2];

		if (n <= 0) {
			if (n < 0 && errno == EAGAIN)
				return;
			close(c->fd);
			c->fd = -1;
			return;
		}
		c->got += (size_t)n;
		if (c->got < c->need)
			continue;
		wire_header_decode(c->req, &h);
		if (c->need == WIRE_HEADER_LEN && h.body_len + h.auth_len > 0) {
			c->need += h.body_len + h.auth_len;
			if (c->need > sizeof(c->req)) {
				close(c->fd);
				c->fd = -1;
				return;
			}
			continue;
		}
		c->got = 0;
		c->need = WIRE_HEADER_LEN;
		wire_header_response(&h, 0, 2, &rh);
		wire_header_encode(&rh, resp);
		resp[36] = 0x08;
		resp[37] = 0x01;
		if (send(c->fd, resp, sizeof(resp), MSG_NOSIGNAL) != (ssize_t)sizeof(resp)) {
			close(c->fd);
			c->fd = -1;
			return;
		}
	}
}

static void echo_server(int lfd)
{
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL}, evs[64];

	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
	for (;;) {
		int n = epoll_wait(ep, evs, 64, -1);

		for (int i = 0; i < n; i++) {
			struct echo_conn *c = evs[i].data.ptr;

			if (c == NULL) {
				int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

				if (fd < 0 || (c = calloc(1, sizeof(*c))) == NULL) {
					if (fd >= 0)
						close(fd);
					continue;
				}
				c->fd = fd;
				c->need = WIRE_HEADER_LEN;
				ev.events = EPOLLIN;
				ev.data.ptr = c;
				epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
				continue;
			}
			echo_serve(c);
			if (c->fd < 0)
				free(c);
		}
	}
}

/* Run the Ping load against the echo server instead of the daemon. */
static int measure_echo(struct figures *f)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char saved[sizeof(opt.endpoint)];
	pid_t saved_pid = daemon_pid, srv;
	int lfd, rc;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "/tmp/tessera-bench-echo.%d.sock",
	         (int)getpid());
	unlink(sa.sun_path);
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 4096) < 0)
		return -1;
	/* A process of its own, as the daemon is. */
	srv = fork();
	if (srv == 0) {
		echo_server(lfd);
		_exit(0);
	}
	close(lfd);
	memcpy(saved, opt.endpoint, sizeof(saved));
	snprintf(opt.endpoint, sizeof(opt.endpoint), "unix:%s", sa.sun_path);
	daemon_pid = 0;
	rc = measure_daemon(OP_PING, f);
	daemon_pid = saved_pid;
	memcpy(opt.endpoint, saved, sizeof(saved));
	kill(srv, SIGKILL);
	waitpid(srv, NULL, 0);
	unlink(sa.sun_path);
	return rc;
}

/* A short run first (caches, connections), then the measurement. */
static int measure_warm(enum op op, struct figures *f)
{
	double d = opt.duration;
	long r = opt.requests;

	opt.duration = 0.3;
	opt.requests = 0;
	measure_daemon(op, f);
	opt.duration = d;
	opt.requests = r;
	return measure_daemon(op, f);
}

/* Run the sign-hash load against the limit server (limit.c) instead of the
 * daemon: the same clients, calls and connection style. Its CPU per request
 * is measured as the daemon's is. */
static int measure_limit(struct figures *f)
{
	char saved[sizeof(opt.endpoint)];
	pid_t saved_pid = daemon_pid;
	struct limit_server srv;
	int rc;

	if (limit_start(opt.baseline_threads, &srv) != 0)
		return -1;
	memcpy(saved, opt.endpoint, sizeof(saved));
	snprintf(opt.endpoint, sizeof(opt.endpoint), "unix:%s", srv.path);
	daemon_pid = srv.pid;
	rc = measure_warm(OP_SIGN_ECDSA, f);
	daemon_pid = saved_pid;
	memcpy(opt.endpoint, saved, sizeof(saved));
	limit_stop(&srv);
	return rc;
}

/* ---- running the daemon (--spawn) ---- */

/* spawn_dir: the temporary directory of --spawn (and of the SoftHSM token
 * and the swtpm of --spawn-hsm / --spawn-tpm), removed by stop_daemon(). */
static char spawn_dir[64];
static pid_t swtpm_pid;
static char tpm_sock[100];
static struct p11_baseline_params hsm;
static char hsm_module[128], hsm_pin[128];
static struct tpm_baseline_result tpm_base;
static char ts_fake[PATH_MAX];

#define TS_SERVICE "sn:trustedfirmware.org:crypto:0"

#define HSM_LABEL "Tessera Bench"

static int make_spawn_dir(void)
{
	if (spawn_dir[0] != '\0')
		return 0;
	snprintf(spawn_dir, sizeof(spawn_dir), "/tmp/tessera-bench.XXXXXX");
	if (mkdtemp(spawn_dir) == NULL) {
		spawn_dir[0] = '\0';
		return -1;
	}
	return 0;
}

static int write_private_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	size_t len = strlen(text);
	int ok;

	if (fd < 0)
		return -1;
	ok = write(fd, text, len) == (ssize_t)len;
	return close(fd) == 0 && ok ? 0 : -1;
}

/* --spawn-hsm: a SoftHSM2 configuration and token under spawn_dir/hsm, the
 * user PIN in a 0600 file; SOFTHSM2_CONF set for this process and the
 * daemon. */
static int make_hsm_token(void)
{
	static const char *const modules[] = {
	        "/usr/lib/softhsm/libsofthsm2.so",
	        "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
	        "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
	        "/usr/local/lib/softhsm/libsofthsm2.so",
	};
	char dir[96], path[128], text[256], cmd[320];

	for (size_t i = 0; i < sizeof(modules) / sizeof(modules[0]) && !hsm_module[0]; i++)
		if (access(modules[i], R_OK) == 0)
			snprintf(hsm_module, sizeof(hsm_module), "%s", modules[i]);
	if (!hsm_module[0]) {
		fprintf(stderr, "tessera-bench: SoftHSM2 is not installed (libsofthsm2.so)\n");
		return -1;
	}
	snprintf(dir, sizeof(dir), "%s/hsm", spawn_dir);
	snprintf(path, sizeof(path), "%s/tokens", dir);
	if (mkdir(dir, 0700) != 0 || mkdir(path, 0700) != 0)
		return -1;
	snprintf(text, sizeof(text),
	         "directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n"
	         "slots.removable = false\n",
	         path);
	snprintf(path, sizeof(path), "%s/softhsm2.conf", dir);
	if (write_private_file(path, text) != 0)
		return -1;
	setenv("SOFTHSM2_CONF", path, 1);
	/* The PINs of a throw-away token in a temporary directory. */
	snprintf(cmd, sizeof(cmd),
	         "softhsm2-util --init-token --free --label '" HSM_LABEL
	         "' --so-pin 12345678 --pin 123456 >/dev/null");
	if (system(cmd) != 0) {
		fprintf(stderr, "tessera-bench: softhsm2-util --init-token failed\n");
		return -1;
	}
	snprintf(hsm_pin, sizeof(hsm_pin), "%s/pin", dir);
	if (write_private_file(hsm_pin, "123456\n") != 0)
		return -1;
	hsm = (struct p11_baseline_params){.module = hsm_module,
	                                   .label = HSM_LABEL,
	                                   .pin_file = hsm_pin,
	                                   .threads = opt.baseline_threads,
	                                   .duration = opt.duration < 1 ? 1 : opt.duration};
	return 0;
}

/* --spawn-tpm: swtpm on spawn_dir/tpm/tpm.sock (control socket beside it),
 * its state and log in that directory; 0 once it accepts connections. */
static int start_swtpm(void)
{
	char dir[72], state[128], server[160], ctrl[160], log[128];

	snprintf(dir, sizeof(dir), "%s/tpm", spawn_dir);
	if (mkdir(dir, 0700) != 0)
		return -1;
	snprintf(tpm_sock, sizeof(tpm_sock), "%s/tpm.sock", dir);
	snprintf(state, sizeof(state), "dir=%s", dir);
	snprintf(server, sizeof(server), "type=unixio,path=%s", tpm_sock);
	snprintf(ctrl, sizeof(ctrl), "type=unixio,path=%s.ctrl", tpm_sock);
	snprintf(log, sizeof(log), "%s/swtpm.log", dir);
	swtpm_pid = fork();
	if (swtpm_pid < 0)
		return -1;
	if (swtpm_pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);

		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execlp("swtpm", "swtpm", "socket", "--tpm2", "--tpmstate", state, "--server",
		       server, "--ctrl", ctrl, "--flags", "not-need-init,startup-clear",
		       (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 500; i++) {
		struct sockaddr_un sa = {.sun_family = AF_UNIX};
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		int up;

		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", tpm_sock);
		up = fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
		if (fd >= 0)
			close(fd);
		if (up)
			return 0;
		if (waitpid(swtpm_pid, NULL, WNOHANG) == swtpm_pid) {
			swtpm_pid = 0;
			fprintf(stderr,
			        "tessera-bench: swtpm exited at start (is it installed?)\n");
			return -1;
		}
		usleep(10000);
	}
	fprintf(stderr, "tessera-bench: swtpm did not listen on %s\n", tpm_sock);
	return -1;
}

/* --spawn-ts: the library, --libts or the test endpoint's libts stand-in
 * beside this build's tessera-bench; 0 when it can be read (or is a bare
 * name). */
static int ts_library(void)
{
	char self[PATH_MAX];
	ssize_t n;

	if (opt.libts == NULL) {
		n = readlink("/proc/self/exe", self, sizeof(self) - 1);
		if (n <= 0)
			return -1;
		self[n] = '\0';
		snprintf(ts_fake, sizeof(ts_fake), "%s/../tests/tsfake/libtsfake-libts.so",
		         dirname(self));
		opt.libts = ts_fake;
	}
	/* A bare name is dlopen()'s to look up, as libts_path's is. */
	if (strchr(opt.libts, '/') != NULL && access(opt.libts, R_OK) != 0) {
		fprintf(stderr, "tessera-bench: --spawn-ts: cannot read %s%s\n", opt.libts,
		        opt.libts == ts_fake ? " (the test endpoint: build tests/tsfake)" : "");
		return -1;
	}
	if (strchr(opt.libts, '"') != NULL || strchr(opt.libts, '\\') != NULL) {
		fprintf(stderr, "tessera-bench: --libts: no quotes or backslashes, please\n");
		return -1;
	}
	return 0;
}

/* --spawn-ts: TSFAKE_STORE, where the test endpoint keeps its persistent
 * keys, set to spawn_dir/ts-<who>.store (a real libts ignores it); the
 * daemon inherits the one set when it starts. */
static int ts_store(const char *who)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/ts-%s.store", spawn_dir, who);
	return setenv("TSFAKE_STORE", path, 1) == 0 ? 0 : -1;
}

/* Start tesserad with `providers` (a JSON array, or "" for the default). */
static int spawn_daemon(const char *providers)
{
	char sock[128], cfg[128], log[128];
	FILE *f;

	if (make_spawn_dir() != 0)
		return -1;
	snprintf(sock, sizeof(sock), "%s/api.sock", spawn_dir);
	snprintf(log, sizeof(log), "%s/tesserad.log", spawn_dir);
	/* Room for --idle connections, all from this one uid; Direct for the
	 * two tenants of the fairness case. */
	snprintf(cfg, sizeof(cfg), "%s/tesserad.json", spawn_dir);
	f = fopen(cfg, "w");
	if (f == NULL)
		return -1;
	fprintf(f,
	        "{\"listener\": {\"max_connections\": %ld, \"max_connections_per_uid\": %ld,"
	        " \"idle_timeout_ms\": 600000, \"timeout_ms\": 600000},"
	        " \"core\": {\"allow_root\": true, \"log_level\": \"warn\", \"io_threads\": %d},"
	        " \"authenticators\": [{\"type\": \"UnixPeerCredentials\"}, {\"type\": "
	        "\"Direct\"}]%s%s}\n",
	        opt.idle + 4096, opt.idle + 4096, opt.io_threads,
	        providers[0] ? ", \"providers\": " : "", providers);
	fclose(f);
	daemon_pid = bench_exec_tesserad(spawn_dir, cfg, sock, log);
	if (daemon_pid < 0) {
		daemon_pid = 0;
		return -1;
	}
	snprintf(opt.endpoint, sizeof(opt.endpoint), "unix:%s", sock);
	for (int i = 0; i < 200; i++) {
		struct tessera_client *c;
		uint32_t a, b;

		usleep(50000);
		c = client_open(1);
		if (c != NULL && tessera_ping(c, &a, &b) == TESSERA_OK) {
			tessera_close(c);
			return 0;
		}
		tessera_close(c);
		if (waitpid(daemon_pid, NULL, WNOHANG) == daemon_pid) {
			daemon_pid = 0;
			break;
		}
	}
	fprintf(stderr, "tessera-bench: tesserad did not start; its log:\n");
	f = fopen(log, "r");
	for (int c; f != NULL && (c = fgetc(f)) != EOF;)
		fputc(c, stderr);
	if (f != NULL)
		fclose(f);
	return -1;
}

/* Stop what --spawn* started (tesserad, swtpm) and remove spawn_dir. Safe
 * to call more than once, and with nothing started. */
static void stop_daemon(void)
{
	if (spawn_dir[0] == '\0')
		return;
	if (daemon_pid > 0) {
		kill(daemon_pid, SIGTERM);
		waitpid(daemon_pid, NULL, 0);
		daemon_pid = 0;
	}
	if (swtpm_pid > 0) {
		kill(swtpm_pid, SIGTERM);
		waitpid(swtpm_pid, NULL, 0);
		swtpm_pid = 0;
	}
	if (bench_remove_tree(spawn_dir) != 0)
		fprintf(stderr, "tessera-bench: could not remove %s\n", spawn_dir);
	spawn_dir[0] = '\0';
}

/* SIGINT, SIGTERM, SIGHUP during a --spawn run: stop the children and
 * remove the directory with async-signal-safe calls only, then exit. */
static void on_signal(int sig)
{
	char *const rm[] = {"rm", "-rf", spawn_dir, NULL};
	pid_t pid;

	if (daemon_pid > 0)
		kill(daemon_pid, SIGTERM);
	if (swtpm_pid > 0)
		kill(swtpm_pid, SIGTERM);
	if (daemon_pid > 0)
		waitpid(daemon_pid, NULL, 0);
	if (swtpm_pid > 0)
		waitpid(swtpm_pid, NULL, 0);
	if (spawn_dir[0] != '\0' && (pid = fork()) == 0) {
		execv("/bin/rm", rm);
		_exit(127);
	} else if (spawn_dir[0] != '\0' && pid > 0) {
		waitpid(pid, NULL, 0);
	}
	_exit(128 + sig);
}

/* The daemon's pid, from the socket's peer credentials. */
static pid_t peer_pid(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct ucred cr;
	socklen_t len = sizeof(cr);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	pid_t pid = 0;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) == 0)
		pid = cr.pid;
	if (fd >= 0)
		close(fd);
	return pid;
}

/* ---- idle connections (--idle N) ---- */

static long daemon_rss_kib(void)
{
	char path[64], line[256];
	long kib = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)daemon_pid);
	f = fopen(path, "r");
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

static long daemon_fds(void)
{
	char path[64];
	DIR *d;
	long n = 0;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)daemon_pid);
	d = opendir(path);
	if (d == NULL)
		return -1;
	while (readdir(d) != NULL)
		n++;
	closedir(d);
	return n;
}

/* Ping p99 with and without opt.idle idle connections held open; daemon RSS
 * per idle connection. 0, or -1 when the connections could not be made. */
static int measure_idle(void)
{
	struct figures before, during;
	long rss0, rss1, fds0, fds1, opened = 0;
	int *fds = calloc((size_t)opt.idle, sizeof(int));
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int saved_clients = opt.clients, rc = -1;

	if (fds == NULL)
		return -1;
	opt.clients = 1;
	measure_daemon(OP_PING, &before);
	rss0 = daemon_rss_kib();
	fds0 = daemon_fds();
	if (strlen(opt.endpoint + 5) >= sizeof(sa.sun_path)) {
		free(fds);
		return -1;
	}
	memcpy(sa.sun_path, opt.endpoint + 5, strlen(opt.endpoint + 5) + 1);
	while (opened < opt.idle) {
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			static const uint8_t half[10] = {0x10, 0xA7, 0xC0, 0x5E, 0x1E, 0x00};

			if (opt.slow &&
			    send(fd, half, sizeof(half), MSG_NOSIGNAL) != sizeof(half)) {
				close(fd);
				continue;
			}
			fds[opened++] = fd;
			continue;
		}
		if (fd >= 0)
			close(fd);
		if (errno == EAGAIN) { /* the backlog is full: let the daemon drain it */
			usleep(1000);
			continue;
		}
		fprintf(stderr, "tessera-bench: idle connection %ld: %s\n", opened,
		        strerror(errno));
		goto out;
	}
	/* Until the daemon has accepted them all. */
	for (int i = 0; i < 500 && !opt.slow && daemon_fds() < fds0 + opt.idle; i++)
		usleep(20000);
	rss1 = daemon_rss_kib();
	fds1 = daemon_fds();
	measure_daemon(OP_PING, &during);
	if (opt.json)
		printf("    {\"op\": \"ping-with-%s\", \"connections\": %ld, "
		       "\"p99_us_without\": %.1f, \"p99_us_with\": %.1f, \"ratio_p99\": %.3f, "
		       "\"rps_without\": %.1f, \"rps_with\": %.1f, \"daemon_rss_kib_per_idle\": "
		       "%.3f}",
		       opt.slow ? "stalled" : "idle", opt.idle, before.p99, during.p99,
		       during.p99 / before.p99, before.rps, during.rps,
		       (double)(rss1 - rss0) / (double)opt.idle);
	else
		printf("ping with %ld %s connections: p99 %.1f us (without: %.1f us) = %.2fx; "
		       "%.0f req/s (without: %.0f); daemon RSS %ld -> %ld KiB = %.2f KiB per idle "
		       "connection\n",
		       opt.idle, opt.slow ? "stalled" : "idle", during.p99, before.p99,
		       during.p99 / before.p99, during.rps, before.rps, rss0, rss1,
		       (double)(rss1 - rss0) / (double)opt.idle);
	rc = 0;
	if (during.errors != 0 || before.errors != 0) {
		fprintf(stderr, "tessera-bench: %ld failed Ping(s)\n",
		        during.errors + before.errors);
		rc = -1;
	}
	if (!opt.slow && fds1 < fds0 + opt.idle) {
		fprintf(stderr,
		        "tessera-bench: the daemon held %ld descriptors, %ld before the %ld "
		        "idle connections\n",
		        fds1, fds0, opt.idle);
		rc = -1;
	}
out:
	for (long i = 0; i < opened; i++)
		close(fds[i]);
	free(fds);
	opt.clients = saved_clients;
	return rc;
}

/* ---- output ---- */

static double ratio(double a, double b)
{
	return b > 0 ? a / b : 0;
}

/* limit: the limit server's figures for this operation, or NULL; hw: the
 * hardware provider's in-process baseline, or NULL. */
static void print_row(enum op op, const struct figures *f, double base_rps,
                      const struct figures *echo, const struct figures *limit,
                      const struct hw_figures *hw)
{
	if (opt.json) {
		printf("    {\"op\": \"%s\", \"clients\": %d, \"mode\": \"%s\", \"connection\": "
		       "\"%s\", "
		       "\"requests\": %ld, \"errors\": %ld, \"rps\": %.1f, \"p50_us\": %.1f, "
		       "\"p99_us\": %.1f, \"p999_us\": %.1f, \"daemon_cpu_us_per_req\": %.2f, "
		       "\"client_cpu_us_per_req\": %.2f, ",
		       op_names[op], opt.clients, opt.processes ? "processes" : "threads",
		       opt.persistent ? "persistent" : "per-request", f->count, f->errors, f->rps,
		       f->p50, f->p99, f->p999, f->cpu_us_per_req, f->client_cpu_us_per_req);
		if (op == OP_PING)
			printf("\"baseline\": \"af_unix echo\", \"baseline_rps\": %.1f, "
			       "\"baseline_p50_us\": %.1f, \"ratio_rps\": %.3f, \"ratio_p50\": "
			       "%.3f}",
			       echo->rps, echo->p50, f->rps / echo->rps, f->p50 / echo->p50);
		else
			printf("\"baseline\": \"openssl in-process, %d threads\", "
			       "\"baseline_rps\": "
			       "%.1f, \"ratio_rps\": %.3f",
			       opt.baseline_threads, base_rps, f->rps / base_rps);
		if (op != OP_PING && limit != NULL)
			printf(", \"limit_baseline\": \"af_unix sign server, %d loops\", "
			       "\"limit_rps\": %.1f, \"limit_p50_us\": %.1f, \"limit_p99_us\": "
			       "%.1f, \"limit_cpu_us_per_req\": %.2f, \"limit_ratio\": %.3f",
			       opt.baseline_threads, limit->rps, limit->p50, limit->p99,
			       limit->cpu_us_per_req, f->rps / limit->rps);
		if (hw != NULL && opt.hw == HW_HSM)
			printf(", \"hw_baseline\": \"softhsm2 C_SignInit+C_Sign in process, "
			       "token key, %d threads\", \"hw_baseline_rps\": %.1f, "
			       "\"hw_baseline_session_key_rps\": %.1f, \"hw_ratio\": %.3f",
			       opt.baseline_threads, hw->rps, hw->session_rps,
			       ratio(f->rps, hw->rps));
		else if (hw != NULL && opt.hw == HW_TS)
			printf(", \"hw_baseline\": \"libts SIGN_HASH in process, %s, 1 session\", "
			       "\"hw_baseline_rps\": %.1f, \"hw_baseline_p50_us\": %.1f, "
			       "\"hw_baseline_p99_us\": %.1f, \"hw_ratio\": %.3f",
			       opt.libts == ts_fake ? "the test endpoint" : opt.libts, hw->rps,
			       hw->p50_us, hw->p99_us, ratio(f->rps, hw->rps));
		else if (hw != NULL)
			printf(", \"hw_baseline\": \"esys Esys_Sign in process, same swtpm before "
			       "tesserad, 1 thread\", \"hw_baseline_rps\": %.1f, "
			       "\"hw_baseline_p50_us\": %.1f, \"hw_baseline_p99_us\": %.1f, "
			       "\"hw_ratio\": %.3f",
			       hw->rps, hw->p50_us, hw->p99_us, ratio(f->rps, hw->rps));
		if (op != OP_PING)
			printf("}");
		return;
	}
	printf("%-18s %8.0f/s  p50 %7.1f  p99 %7.1f  p99.9 %7.1f us  cpu/req %5.1f us (clients "
	       "%5.1f)",
	       op_names[op], f->rps, f->p50, f->p99, f->p999, f->cpu_us_per_req,
	       f->client_cpu_us_per_req);
	if (op == OP_PING)
		printf("  | echo %9.0f req/s p50 %6.1f p99 %6.1f us: %.2fx req/s, %.2fx p50\n",
		       echo->rps, echo->p50, echo->p99, f->rps / echo->rps, f->p50 / echo->p50);
	else
		printf("  | openssl x%d %8.0f/s = %5.1f us/op: %.2fx\n", opt.baseline_threads,
		       base_rps, opt.baseline_threads * 1e6 / base_rps, f->rps / base_rps);
	if (limit != NULL)
		printf("%-18s %8.0f/s  p50 %7.1f  p99 %7.1f  p99.9 %7.1f us  cpu/req %5.1f us: "
		       "limit server (%d loops); limit ratio %.2fx\n",
		       "", limit->rps, limit->p50, limit->p99, limit->p999, limit->cpu_us_per_req,
		       opt.baseline_threads, f->rps / limit->rps);
	if (hw != NULL && opt.hw == HW_HSM)
		printf("%-18s %8.0f/s  softhsm in process x%d, token key (session key %.0f/s): "
		       "hw ratio %.2fx\n",
		       "", hw->rps, opt.baseline_threads, hw->session_rps, ratio(f->rps, hw->rps));
	else if (hw != NULL && opt.hw == HW_TS)
		printf("%-18s %8.0f/s  p50 %7.1f  p99 %7.1f us  libts SIGN_HASH in process x1 "
		       "(%s): hw ratio %.2fx\n",
		       "", hw->rps, hw->p50_us, hw->p99_us,
		       opt.libts == ts_fake ? "the test endpoint" : opt.libts,
		       ratio(f->rps, hw->rps));
	else if (hw != NULL)
		printf("%-18s %8.0f/s  p50 %7.1f  p99 %7.1f us  Esys_Sign in process x1, same "
		       "swtpm "
		       "(before tesserad connected): hw ratio %.2fx\n",
		       "", hw->rps, hw->p50_us, hw->p99_us, ratio(f->rps, hw->rps));
	if (f->errors)
		printf("%-18s %ld errors, the first: %s\n", "", f->errors,
		       tessera_strerror(f->first_error));
}

static void print_fairness(const struct fairness_result *r)
{
	const struct fairness_side *s = r->sign, *g = r->gd;

	if (opt.json) {
		printf("    {\"op\": \"fairness\", \"flood_connections\": %d, \"duration_s\": "
		       "%.2f, "
		       "\"sign_rsa2048_p99_us_alone\": %.1f, \"sign_rsa2048_p99_us_flood\": %.1f, "
		       "\"ratio_sign_p99\": %.3f, \"sign_requests_alone\": %ld, "
		       "\"sign_requests_flood\": %ld, "
		       "\"generate_destroy_p99_us_alone\": %.1f, "
		       "\"generate_destroy_p99_us_flood\": %.1f, "
		       "\"ratio_generate_destroy_p99\": %.3f, \"generate_destroy_requests_alone\": "
		       "%ld, \"generate_destroy_requests_flood\": %ld, \"victim_errors\": %ld, "
		       "\"flood_keys\": %ld, \"flood_errors\": %ld, \"flood_stop_s\": %.2f, "
		       "\"total_s\": %.2f}",
		       opt.flood, opt.duration, s[0].p99_us, s[1].p99_us,
		       ratio(s[1].p99_us, s[0].p99_us), s[0].count, s[1].count, g[0].p99_us,
		       g[1].p99_us, ratio(g[1].p99_us, g[0].p99_us), g[0].count, g[1].count,
		       s[0].errors + s[1].errors + g[0].errors + g[1].errors, r->flood_keys,
		       r->flood_errors, r->stop_s, r->total_s);
		return;
	}
	printf("fairness: victim under a flood of RSA-4096 generations on %d connection(s), "
	       "p99 alone -> flooded (target <= 3x):\n",
	       opt.flood);
	printf("%-18s RSA-2048 PSS sign   %9.1f -> %11.1f us = %7.2fx  (%ld -> %ld requests)\n", "",
	       s[0].p99_us, s[1].p99_us, ratio(s[1].p99_us, s[0].p99_us), s[0].count, s[1].count);
	printf("%-18s ECC generate+destroy %8.1f -> %11.1f us = %7.2fx  (%ld -> %ld requests)\n",
	       "", g[0].p99_us, g[1].p99_us, ratio(g[1].p99_us, g[0].p99_us), g[0].count,
	       g[1].count);
	printf("%-18s flood: %ld keys, %ld errors; stopped in %.2f s; %.1f s in all\n", "",
	       r->flood_keys, r->flood_errors, r->stop_s, r->total_s);
	for (int i = 0; i < 2; i++) {
		if (s[i].errors)
			printf("%-18s sign: %ld errors, the first: %s\n", "", s[i].errors,
			       tessera_strerror(s[i].first_error));
		if (g[i].errors)
			printf("%-18s generate+destroy: %ld errors, the first: %s\n", "",
			       g[i].errors, tessera_strerror(g[i].first_error));
	}
	if (r->flood_errors)
		printf("%-18s flood: the first error: %s\n", "",
		       tessera_strerror(r->flood_first_error));
}

/* The fairness case and its output; 0 when it ran without a failed request. */
static int run_fairness(int first)
{
	struct fairness_params p = {
	        .endpoint = opt.endpoint, .flood = opt.flood, .duration = opt.duration};
	struct fairness_result r;
	long errors;

	if (fairness_run(&p, &r) != 0)
		return -1;
	if (opt.json && !first)
		printf(",\n");
	print_fairness(&r);
	errors = r.sign[0].errors + r.sign[1].errors + r.gd[0].errors + r.gd[1].errors +
	         r.flood_errors;
	/* Without a sample in each phase there is no figure. */
	if (r.sign[0].count == 0 || r.sign[1].count == 0 || r.gd[0].count == 0 ||
	    r.gd[1].count == 0 || r.flood_keys == 0 || errors != 0) {
		fprintf(stderr, "tessera-bench: fairness: %ld failed request(s)%s\n", errors,
		        r.flood_keys == 0 ? ", no flood key made" : "");
		return -1;
	}
	return 0;
}

static void usage(FILE *out)
{
	fprintf(out,
	        "usage: tessera-bench [--socket PATH | --spawn] [--op OP] [--clients N]\n"
	        "                     [--processes] [--connect-per-request]\n"
	        "                     [--duration SEC | --requests N] [--baseline-threads N] "
	        "[--json]\n"
	        "                     [--idle N]   (Ping p99 with N idle connections open)\n"
	        "                     [--slow N]   (the same with N stalled half-headers)\n"
	        "                     [--io-threads N] (--spawn: tesserad's event loops)\n"
	        "                     [--flood N]  (fairness: flooding connections, "
	        "default 2)\n"
	        "                     [--provider ID] (key operations' provider, default 1;\n"
	        "                                      3: the TPM)\n"
	        "                     [--spawn-hsm]  (spawn with a SoftHSM2 token, provider 2,\n"
	        "                                     + SoftHSM's own sign rate in process)\n"
	        "                     [--spawn-tpm]  (spawn with a swtpm, provider 3,\n"
	        "                                     + ESAPI's own Esys_Sign in process)\n"
	        "                     [--spawn-ts [--libts PATH]] (spawn with the TrustedService\n"
	        "                                     provider over libts, provider 4: PATH or\n"
	        "                                     the test endpoint; + libts's own\n"
	        "                                     SIGN_HASH in process)\n"
	        "OP: all (default)");
	for (int i = 0; i < OP_COUNT; i++)
		fprintf(out, ", %s", op_names[i]);
	fprintf(out, ", fairness\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
	        {"socket", required_argument, NULL, 's'},
	        {"spawn", no_argument, NULL, 'S'},
	        {"op", required_argument, NULL, 'o'},
	        {"clients", required_argument, NULL, 'c'},
	        {"processes", no_argument, NULL, 'p'},
	        {"connect-per-request", no_argument, NULL, 'C'},
	        {"duration", required_argument, NULL, 'd'},
	        {"requests", required_argument, NULL, 'n'},
	        {"baseline-threads", required_argument, NULL, 'b'},
	        {"json", no_argument, NULL, 'j'},
	        {"idle", required_argument, NULL, 'i'},
	        {"slow", required_argument, NULL, 'w'},
	        {"io-threads", required_argument, NULL, 'I'},
	        {"flood", required_argument, NULL, 'F'},
	        {"provider", required_argument, NULL, 'P'},
	        {"spawn-hsm", no_argument, NULL, 'H'},
	        {"spawn-tpm", no_argument, NULL, 'T'},
	        {"spawn-ts", no_argument, NULL, 'X'},
	        {"libts", required_argument, NULL, 'L'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	int ops[OP_COUNT], n_ops = 0, spawn = 0, ch, first = 1, bad = 0;
	int want_all = 0, fairness = 0;

	opt.baseline_threads = (int)sysconf(_SC_NPROCESSORS_ONLN);
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case 's':
			opt.socket = optarg;
			break;
		case 'S':
			spawn = 1;
			break;
		case 'H':
		case 'T':
		case 'X':
			if (opt.hw != 0) {
				fprintf(stderr, "tessera-bench: --spawn-hsm, --spawn-tpm or "
				                "--spawn-ts, once\n");
				return 2;
			}
			spawn = 1;
			opt.hw = ch == 'H' ? HW_HSM : ch == 'T' ? HW_TPM : HW_TS;
			break;
		case 'L':
			opt.libts = optarg;
			break;
		case 'o': {
			int found = strcmp(optarg, "all") == 0;

			want_all |= found;
			if (strcmp(optarg, "fairness") == 0)
				found = fairness = 1;
			for (int i = 0; i < OP_COUNT; i++)
				if (strcmp(optarg, op_names[i]) == 0) {
					ops[n_ops++ % OP_COUNT] = i;
					found = 1;
				}
			if (!found) {
				fprintf(stderr, "tessera-bench: unknown --op %s\n", optarg);
				usage(stderr);
				return 2;
			}
			break;
		}
		case 'c':
			opt.clients = atoi(optarg);
			break;
		case 'p':
			opt.processes = 1;
			break;
		case 'C':
			opt.persistent = 0;
			break;
		case 'd':
			opt.duration = atof(optarg);
			break;
		case 'n':
			opt.requests = atol(optarg);
			break;
		case 'b':
			opt.baseline_threads = atoi(optarg);
			break;
		case 'j':
			opt.json = 1;
			break;
		case 'i':
			opt.idle = atol(optarg);
			break;
		case 'w':
			opt.idle = atol(optarg);
			opt.slow = 1;
			break;
		case 'I':
			opt.io_threads = atoi(optarg);
			break;
		case 'P': {
			char *end;
			long n = strtol(optarg, &end, 10);

			if (*end != '\0' || n < 1 || n > 255) {
				fprintf(stderr, "tessera-bench: --provider: expected 1 to 255\n");
				return 2;
			}
			opt.provider = (int)n;
			break;
		}
		case 'F': {
			char *end;
			long n = strtol(optarg, &end, 10);

			opt.flood = *end == '\0' && n >= 1 && n <= 64 ? (int)n : -1;
			break;
		}
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (opt.idle < 0 || opt.idle > 1000000 || opt.io_threads < 0 || opt.io_threads > 64 ||
	    opt.clients < 1 || opt.clients > MAX_CLIENTS || opt.duration <= 0 ||
	    opt.baseline_threads < 1 || opt.baseline_threads > MAX_CLIENTS || opt.requests < 0 ||
	    opt.flood < 1 || (!spawn && opt.socket == NULL) || (spawn && opt.socket != NULL)) {
		usage(stderr);
		return 2;
	}
	if (opt.libts != NULL && opt.hw != HW_TS) {
		fprintf(stderr, "tessera-bench: --libts goes with --spawn-ts\n");
		return 2;
	}
	if (opt.hw != 0) {
		if (opt.provider != 1 || opt.idle > 0) {
			fprintf(stderr,
			        "tessera-bench: --spawn-hsm/--spawn-tpm/--spawn-ts choose the "
			        "provider and take no --idle/--slow\n");
			return 2;
		}
		opt.provider = opt.hw == HW_HSM ? 2 : opt.hw == HW_TPM ? 3 : 4;
		/* Sign-hash ECDSA P-256 unless other operations are asked for. */
		if (n_ops == 0 && !want_all && !fairness)
			ops[n_ops++] = OP_SIGN_ECDSA;
	}
	if (n_ops == 0 && (want_all || !fairness)) {
		for (int i = 0; i < OP_COUNT; i++)
			ops[n_ops++] = i;
		fairness |= FAIRNESS_IN_ALL;
	}
	signal(SIGPIPE, SIG_IGN);
	memset(plain16k, 0x5a, sizeof(plain16k));
	if (spawn) {
		char providers[512 + PATH_MAX] = "";

		signal(SIGINT, on_signal);
		signal(SIGTERM, on_signal);
		signal(SIGHUP, on_signal);
		if (make_spawn_dir() != 0) {
			fprintf(stderr, "tessera-bench: cannot make a temporary directory\n");
			return 1;
		}
		if (opt.hw == HW_HSM) {
			if (make_hsm_token() != 0) {
				stop_daemon();
				return 1;
			}
			snprintf(providers, sizeof(providers),
			         "[{\"type\": \"Pkcs11\", \"library_path\": \"%s\", "
			         "\"token_label\": \"" HSM_LABEL "\", \"user_pin_file\": \"%s\"}, "
			         "{\"type\": \"Software\"}]",
			         hsm_module, hsm_pin);
		} else if (opt.hw == HW_TPM) {
			char tcti[160];

			/* The provider keeps its TCTI connection open while the
			 * daemon runs and swtpm serves one at a time, so ESAPI's
			 * baseline runs on the same swtpm before the daemon starts. */
			if (start_swtpm() != 0) {
				stop_daemon();
				return 1;
			}
			snprintf(tcti, sizeof(tcti), "swtpm:path=%s", tpm_sock);
			if (tpm_baseline_run(tcti, opt.duration < 1 ? 1 : opt.duration,
			                     &tpm_base) != 0) {
				stop_daemon();
				return 1;
			}
			/* Password sessions, as the baseline's. */
			snprintf(providers, sizeof(providers),
			         "[{\"type\": \"Tpm\", \"tcti\": \"%s\", \"hmac_sessions\": "
			         "false}, {\"type\": \"Software\"}]",
			         tcti);
		} else if (opt.hw == HW_TS) {
			if (ts_library() != 0 || ts_store("daemon") != 0) {
				stop_daemon();
				return 1;
			}
			snprintf(providers, sizeof(providers),
			         "[{\"type\": \"TrustedService\", \"transport\": \"libts\", "
			         "\"libts_path\": \"%s\", \"service\": \"" TS_SERVICE "\"}, "
			         "{\"type\": \"Software\"}]",
			         opt.libts);
		}
		if (spawn_daemon(providers) != 0) {
			stop_daemon();
			return 1;
		}
		/* The daemon has its own endpoint (its instance of the stand-in
		 * is in its process); this process's gets a store of its own. */
		if (opt.hw == HW_TS && ts_store("bench") != 0) {
			stop_daemon();
			return 1;
		}
	} else {
		snprintf(opt.endpoint, sizeof(opt.endpoint), "unix:%s", opt.socket);
		daemon_pid = peer_pid(opt.socket);
	}
	if (setup_keys() != 0 || local_setup() != 0) {
		stop_daemon();
		return 1;
	}
	if (opt.idle > 0) {
		struct rlimit rl;

		/* One descriptor per idle connection here, and in the daemon. */
		if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
			rl.rlim_cur = rl.rlim_max;
			setrlimit(RLIMIT_NOFILE, &rl);
		}
		if (opt.json)
			printf("{\n  \"results\": [\n");
		bad = measure_idle() != 0;
		if (opt.json)
			printf("\n  ]\n}\n");
		stop_daemon();
		return bad;
	}
	if (opt.json)
		printf("{\n  \"cpus\": %ld,\n  \"results\": [\n", sysconf(_SC_NPROCESSORS_ONLN));
	else
		printf("# %d client(s) (%s), %s connections, %s; baselines measured in this run\n",
		       opt.clients, opt.processes ? "processes" : "threads",
		       opt.persistent ? "persistent" : "one-per-request",
		       opt.requests ? "fixed request count" : "fixed duration");
	for (int i = 0; i < n_ops; i++) {
		struct figures f, echo = {0}, limit = {0};
		struct hw_figures hw = {0};
		double base = 0;

		if (measure_warm((enum op)ops[i], &f) != 0) {
			stop_daemon();
			return 1;
		}
		if (ops[i] == OP_SIGN_ECDSA && opt.provider == 1 &&
		    (measure_limit(&limit) != 0 || limit.count == 0 || limit.errors != 0)) {
			fprintf(stderr, "tessera-bench: the limit server failed: %s\n",
			        limit.errors ? tessera_strerror(limit.first_error)
			                     : "it did not start or answer");
			stop_daemon();
			return 1;
		}
		if (ops[i] == OP_PING) {
			if (measure_echo(&echo) != 0)
				echo.count = 0;
			if (echo.count == 0 || echo.errors != 0) {
				fprintf(stderr, "tessera-bench: the echo baseline failed: %s\n",
				        tessera_strerror(echo.first_error));
				stop_daemon();
				return 1;
			}
		} else {
			base = measure_local((enum op)ops[i]);
		}
		if (ops[i] == OP_SIGN_ECDSA && opt.hw == HW_HSM) {
			struct p11_baseline_result r;

			/* The daemon is idle now; its token objects stay. */
			if (p11_baseline_run(&hsm, &r) != 0) {
				stop_daemon();
				return 1;
			}
			hw = (struct hw_figures){.rps = r.token_rps, .session_rps = r.session_rps};
		} else if (ops[i] == OP_SIGN_ECDSA && opt.hw == HW_TS) {
			struct ts_baseline_result r;

			/* The daemon is idle now; its key stays. */
			if (ts_baseline_run(opt.libts, TS_SERVICE,
			                    opt.duration < 1 ? 1 : opt.duration, &r) != 0) {
				stop_daemon();
				return 1;
			}
			hw = (struct hw_figures){
			        .rps = r.rps, .p50_us = r.p50_us, .p99_us = r.p99_us};
		} else if (ops[i] == OP_SIGN_ECDSA && opt.hw == HW_TPM) {
			hw = (struct hw_figures){.rps = tpm_base.rps,
			                         .p50_us = tpm_base.p50_us,
			                         .p99_us = tpm_base.p99_us};
		}
		if (opt.json && !first)
			printf(",\n");
		first = 0;
		print_row((enum op)ops[i], &f, base, &echo,
		          ops[i] == OP_SIGN_ECDSA && opt.provider == 1 ? &limit : NULL,
		          ops[i] == OP_SIGN_ECDSA && opt.hw != 0 ? &hw : NULL);
		bad |= f.errors != 0;
	}
	if (fairness) {
		bad |= run_fairness(first) != 0;
		first = 0;
	}
	if (opt.json)
		printf("\n  ]\n}\n");
	stop_daemon();
	return bad ? 1 : 0;
}
