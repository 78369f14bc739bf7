/*
 * tessera-p11-baseline: a PKCS#11 module's own ECDSA P-256 sign rate, in
 * process (C_SignInit + C_Sign, one session per thread, one login), as the
 * baseline of `tessera-bench --provider 2`: first on a session key (in
 * memory), then on a token key, the kind tesserad uses (SoftHSM's file
 * backend checks a token object's file on each use); the token key is
 * destroyed afterwards.
 *
 *   tessera-p11-baseline --module PATH --token-label LABEL --pin-file FILE
 *                        [--threads N] [--duration SEC]
 */
#include <dlfcn.h>
#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <p11-kit/pkcs11.h>

static CK_FUNCTION_LIST_PTR f;
static CK_OBJECT_HANDLE key;
static atomic_long signs;
static atomic_int stop;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *worker(void *arg)
{
	CK_SESSION_HANDLE s = *(CK_SESSION_HANDLE *)arg;
	CK_MECHANISM m = {CKM_ECDSA, NULL, 0};
	CK_BYTE hash[32] = {0x42, 1, 2, 3}, sig[64];

	while (!atomic_load(&stop)) {
		CK_ULONG n = sizeof(sig);

		if (f->C_SignInit(s, &m, key) != CKR_OK ||
		    f->C_Sign(s, hash, 32, sig, &n) != CKR_OK) {
			fprintf(stderr, "tessera-p11-baseline: C_Sign failed\n");
			exit(1);
		}
		atomic_fetch_add(&signs, 1);
	}
	return NULL;
}

/* The slot whose initialised token has this label. */
static int find_slot(const char *label, CK_SLOT_ID *ret)
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

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
	        {"module", required_argument, NULL, 'm'},
	        {"token-label", required_argument, NULL, 'l'},
	        {"pin-file", required_argument, NULL, 'p'},
	        {"threads", required_argument, NULL, 't'},
	        {"duration", required_argument, NULL, 'd'},
	        {NULL, 0, NULL, 0},
	};
	static const CK_BYTE p256[] = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
	const char *module = NULL, *label = NULL, *pin_file = NULL;
	int threads = (int)sysconf(_SC_NPROCESSORS_ONLN), ch;
	double duration = 3, t0, t1;
	CK_C_INITIALIZE_ARGS init = {.flags = CKF_OS_LOCKING_OK};
	CK_C_GetFunctionList get;
	CK_SLOT_ID slot;
	CK_SESSION_HANDLE sessions[64];
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	CK_ATTRIBUTE pub[] = {{CKA_TOKEN, &no, 1}, {CKA_EC_PARAMS, (void *)p256, sizeof(p256)}};
	CK_ATTRIBUTE priv[] = {{CKA_TOKEN, &no, 1}, {CKA_SIGN, &yes, 1}};
	CK_MECHANISM gen = {CKM_EC_KEY_PAIR_GEN, NULL, 0};
	CK_OBJECT_HANDLE pubkey;
	pthread_t tids[64];
	char pin[256];
	size_t pin_len;
	FILE *pf;
	void *lib;

	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'm':
			module = optarg;
			break;
		case 'l':
			label = optarg;
			break;
		case 'p':
			pin_file = optarg;
			break;
		case 't':
			threads = atoi(optarg);
			break;
		case 'd':
			duration = atof(optarg);
			break;
		default:
			return 2;
		}
	}
	if (module == NULL || label == NULL || pin_file == NULL || threads < 1 || threads > 64 ||
	    duration <= 0) {
		fprintf(stderr, "usage: tessera-p11-baseline --module PATH --token-label LABEL "
		                "--pin-file FILE [--threads 1-64] [--duration SEC]\n");
		return 2;
	}
	pf = fopen(pin_file, "r");
	if (pf == NULL || fgets(pin, sizeof(pin), pf) == NULL) {
		fprintf(stderr, "tessera-p11-baseline: cannot read %s\n", pin_file);
		return 1;
	}
	fclose(pf);
	pin_len = strcspn(pin, "\r\n");
	lib = dlopen(module, RTLD_NOW | RTLD_LOCAL);
	get = lib != NULL ? (CK_C_GetFunctionList)dlsym(lib, "C_GetFunctionList") : NULL;
	if (get == NULL || get(&f) != CKR_OK || f->C_Initialize(&init) != CKR_OK ||
	    find_slot(label, &slot) != 0) {
		fprintf(stderr, "tessera-p11-baseline: cannot use %s / token %s\n", module, label);
		return 1;
	}
	for (int i = 0; i < threads; i++)
		if (f->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL,
		                     &sessions[i]) != CKR_OK)
			return 1;
	if (f->C_Login(sessions[0], CKU_USER, (CK_UTF8CHAR_PTR)pin, pin_len) != CKR_OK ||
	    f->C_GenerateKeyPair(sessions[0], &gen, pub, 2, priv, 2, &pubkey, &key) != CKR_OK) {
		fprintf(stderr, "tessera-p11-baseline: login or key generation failed\n");
		return 1;
	}
	memset(pin, 0, sizeof(pin));
	for (int token = 0; token < 2; token++) {
		if (token) {
			pub[0].pValue = &yes;
			priv[0].pValue = &yes;
			if (f->C_GenerateKeyPair(sessions[0], &gen, pub, 2, priv, 2, &pubkey,
			                         &key) != CKR_OK)
				return 1;
		}
		atomic_store(&stop, 0);
		atomic_store(&signs, 0);
		t0 = now();
		for (int i = 0; i < threads; i++)
			pthread_create(&tids[i], NULL, worker, &sessions[i]);
		usleep((useconds_t)(duration * 1e6));
		atomic_store(&stop, 1);
		for (int i = 0; i < threads; i++)
			pthread_join(tids[i], NULL);
		t1 = now();
		printf("PKCS#11 in process, ECDSA P-256 C_SignInit+C_Sign, %s key, %d thread(s): "
		       "%.0f signs/s\n",
		       token ? "token" : "session", threads,
		       (double)atomic_load(&signs) / (t1 - t0));
	}
	(void)f->C_DestroyObject(sessions[0], key);
	(void)f->C_DestroyObject(sessions[0], pubkey);
	for (int i = 0; i < threads; i++)
		(void)f->C_CloseSession(sessions[i]);
	(void)f->C_Finalize(NULL);
	return 0;
}
