/*
 * A PKCS#11 module's own ECDSA P-256 sign rate, in process (bench-priv.h):
 * the baseline of tessera-bench --spawn-hsm and of tessera-p11-baseline.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <p11-kit/pkcs11.h>

#include "bench-priv.h"

#define P11_MAX_THREADS 64

/* What the signing threads share during one phase. */
struct p11_phase {
	CK_FUNCTION_LIST_PTR f;
	CK_OBJECT_HANDLE key;
	atomic_long signs;
	atomic_int stop;
	atomic_int failed;
};

struct p11_worker {
	struct p11_phase *ph;
	CK_SESSION_HANDLE s;
};

static double p11_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *p11_worker_main(void *arg)
{
	struct p11_worker *w = arg;
	struct p11_phase *ph = w->ph;
	CK_MECHANISM m = {CKM_ECDSA, NULL, 0};
	CK_BYTE hash[32] = {0x42, 1, 2, 3}, sig[64];

	while (!atomic_load(&ph->stop)) {
		CK_ULONG n = sizeof(sig);

		if (ph->f->C_SignInit(w->s, &m, ph->key) != CKR_OK ||
		    ph->f->C_Sign(w->s, hash, sizeof(hash), sig, &n) != CKR_OK) {
			atomic_store(&ph->failed, 1);
			break;
		}
		atomic_fetch_add(&ph->signs, 1);
	}
	return NULL;
}

/* The slot whose initialised token has this label. */
static int p11_find_slot(CK_FUNCTION_LIST_PTR f, const char *label, CK_SLOT_ID *ret)
{
	CK_SLOT_ID slots[64];
	CK_ULONG n = 64;
	size_t len = strlen(label);

	if (f->C_GetSlotList(CK_TRUE, slots, &n) != CKR_OK)
		return -1;
	for (CK_ULONG i = 0; i < n; i++) {
		CK_TOKEN_INFO ti;
		size_t e = sizeof(ti.label);

		if (f->C_GetTokenInfo(slots[i], &ti) != CKR_OK)
			continue;
		while (e > 0 && ti.label[e - 1] == ' ')
			e--;
		if (e == len && memcmp(ti.label, label, len) == 0) {
			*ret = slots[i];
			return 0;
		}
	}
	return -1;
}

/* The PIN file's first line, without its newline; 0 or -1. */
static int p11_read_pin(const char *path, char *pin, size_t size, size_t *len)
{
	FILE *pf = fopen(path, "r");
	int ok;

	if (pf == NULL)
		return -1;
	ok = fgets(pin, (int)size, pf) != NULL;
	fclose(pf);
	if (!ok)
		return -1;
	*len = strcspn(pin, "\r\n");
	return 0;
}

/* Sign on `threads` sessions for `duration` s; signs per second, or -1. */
static double p11_phase_run(struct p11_phase *ph, const CK_SESSION_HANDLE *sessions, int threads,
                            double duration)
{
	struct p11_worker w[P11_MAX_THREADS];
	pthread_t tids[P11_MAX_THREADS];
	int started = 0;
	double t0, t1;

	atomic_store(&ph->stop, 0);
	atomic_store(&ph->signs, 0);
	atomic_store(&ph->failed, 0);
	t0 = p11_now();
	for (int i = 0; i < threads; i++) {
		w[i] = (struct p11_worker){.ph = ph, .s = sessions[i]};
		if (pthread_create(&tids[i], NULL, p11_worker_main, &w[i]) != 0)
			break;
		started++;
	}
	usleep((useconds_t)(duration * 1e6));
	atomic_store(&ph->stop, 1);
	for (int i = 0; i < started; i++)
		pthread_join(tids[i], NULL);
	t1 = p11_now();
	if (started < threads || atomic_load(&ph->failed))
		return -1;
	return (double)atomic_load(&ph->signs) / (t1 - t0);
}

int p11_baseline_run(const struct p11_baseline_params *p, struct p11_baseline_result *ret)
{
	static const CK_BYTE p256[] = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
	CK_C_INITIALIZE_ARGS init = {.flags = CKF_OS_LOCKING_OK};
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	CK_ATTRIBUTE pub[] = {{CKA_TOKEN, &no, 1}, {CKA_EC_PARAMS, (void *)p256, sizeof(p256)}};
	CK_ATTRIBUTE priv[] = {{CKA_TOKEN, &no, 1}, {CKA_SIGN, &yes, 1}};
	CK_MECHANISM gen = {CKM_EC_KEY_PAIR_GEN, NULL, 0};
	CK_SESSION_HANDLE sessions[P11_MAX_THREADS];
	CK_OBJECT_HANDLE pubkey = CK_INVALID_HANDLE;
	CK_C_GetFunctionList get;
	struct p11_phase ph = {0};
	CK_SLOT_ID slot;
	int opened = 0, initialised = 0, rc = -1;
	char pin[256];
	size_t pin_len = 0;
	void *lib;

	memset(ret, 0, sizeof(*ret));
	if (p->threads < 1 || p->threads > P11_MAX_THREADS || p->duration <= 0)
		return -1;
	if (p11_read_pin(p->pin_file, pin, sizeof(pin), &pin_len) != 0) {
		fprintf(stderr, "p11 baseline: cannot read %s\n", p->pin_file);
		return -1;
	}
	lib = dlopen(p->module, RTLD_NOW | RTLD_LOCAL);
	get = lib != NULL ? (CK_C_GetFunctionList)dlsym(lib, "C_GetFunctionList") : NULL;
	if (get == NULL || get(&ph.f) != CKR_OK || ph.f->C_Initialize(&init) != CKR_OK ||
	    (initialised = 1, p11_find_slot(ph.f, p->label, &slot)) != 0) {
		fprintf(stderr, "p11 baseline: cannot use %s / token %s\n", p->module, p->label);
		goto out;
	}
	for (; opened < p->threads; opened++)
		if (ph.f->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL,
		                        &sessions[opened]) != CKR_OK)
			goto out;
	if (ph.f->C_Login(sessions[0], CKU_USER, (CK_UTF8CHAR_PTR)pin, pin_len) != CKR_OK) {
		fprintf(stderr, "p11 baseline: the token refused the login\n");
		goto out;
	}
	/* A session key first (in memory), then a token key, the kind tesserad
	 * uses: SoftHSM's file backend checks a token object's file on each use. */
	for (int token = 0; token < 2; token++) {
		double rps;

		pub[0].pValue = token ? &yes : &no;
		priv[0].pValue = token ? &yes : &no;
		if (ph.f->C_GenerateKeyPair(sessions[0], &gen, pub, 2, priv, 2, &pubkey, &ph.key) !=
		    CKR_OK) {
			fprintf(stderr, "p11 baseline: key generation failed\n");
			goto out;
		}
		rps = p11_phase_run(&ph, sessions, p->threads, p->duration);
		(void)ph.f->C_DestroyObject(sessions[0], ph.key);
		(void)ph.f->C_DestroyObject(sessions[0], pubkey);
		if (rps < 0) {
			fprintf(stderr, "p11 baseline: C_SignInit or C_Sign failed\n");
			goto out;
		}
		if (token)
			ret->token_rps = rps;
		else
			ret->session_rps = rps;
	}
	rc = 0;
out:
	explicit_bzero(pin, sizeof(pin));
	for (int i = 0; i < opened; i++)
		(void)ph.f->C_CloseSession(sessions[i]);
	if (initialised)
		(void)ph.f->C_Finalize(NULL);
	if (lib != NULL)
		dlclose(lib);
	return rc;
}
