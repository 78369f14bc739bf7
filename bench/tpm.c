/*
 * ESAPI's own ECDSA P-256 sign on a TPM, in process (bench-priv.h): the
 * baseline of tessera-bench --spawn-tpm.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <tss2/tss2_esys.h>
#include <tss2/tss2_tctildr.h>

#include "bench-priv.h"

#define TPM_MAX_SAMPLES 1000000

static double tpm_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int tpm_cmp(const void *a, const void *b)
{
	float x = *(const float *)a, y = *(const float *)b;

	return x < y ? -1 : x > y;
}

/* An ECC P-256 public area: a restricted decryption (storage) key, or an
 * unrestricted ECDSA-SHA256 signing key. */
static void tpm_ecc_template(TPM2B_PUBLIC *pub, int storage)
{
	TPMT_PUBLIC *t = &pub->publicArea;

	memset(pub, 0, sizeof(*pub));
	t->type = TPM2_ALG_ECC;
	t->nameAlg = TPM2_ALG_SHA256;
	t->objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
	                      TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_USERWITHAUTH;
	t->parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
	t->parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
	if (storage) {
		t->objectAttributes |= TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT;
		t->parameters.eccDetail.symmetric.algorithm = TPM2_ALG_AES;
		t->parameters.eccDetail.symmetric.keyBits.aes = 128;
		t->parameters.eccDetail.symmetric.mode.aes = TPM2_ALG_CFB;
		t->parameters.eccDetail.scheme.scheme = TPM2_ALG_NULL;
	} else {
		t->objectAttributes |= TPMA_OBJECT_SIGN_ENCRYPT;
		t->parameters.eccDetail.symmetric.algorithm = TPM2_ALG_NULL;
		t->parameters.eccDetail.scheme.scheme = TPM2_ALG_ECDSA;
		t->parameters.eccDetail.scheme.details.ecdsa.hashAlg = TPM2_ALG_SHA256;
	}
}

/* Esys_Sign until `duration` s have passed; 0, or -1 at the first failure. */
static int tpm_sign_loop(ESYS_CONTEXT *esys, ESYS_TR key, double duration,
                         struct tpm_baseline_result *ret)
{
	TPM2B_DIGEST digest = {.size = 32, .buffer = {0x42, 1, 2, 3}};
	TPMT_SIG_SCHEME scheme = {.scheme = TPM2_ALG_ECDSA,
	                          .details.ecdsa.hashAlg = TPM2_ALG_SHA256};
	TPMT_TK_HASHCHECK ticket = {.tag = TPM2_ST_HASHCHECK, .hierarchy = TPM2_RH_NULL};
	float *lat = malloc(TPM_MAX_SAMPLES * sizeof(float));
	double t0 = tpm_now(), end = t0 + duration, t;
	long n = 0;

	if (lat == NULL)
		return -1;
	while ((t = tpm_now()) < end) {
		TPMT_SIGNATURE *sig = NULL;
		TSS2_RC rc = Esys_Sign(esys, key, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
		                       &digest, &scheme, &ticket, &sig);

		Esys_Free(sig);
		if (rc != TSS2_RC_SUCCESS) {
			fprintf(stderr, "tpm baseline: Esys_Sign: 0x%x\n", (unsigned)rc);
			free(lat);
			return -1;
		}
		lat[n % TPM_MAX_SAMPLES] = (float)((tpm_now() - t) * 1e6);
		n++;
	}
	ret->count = n;
	ret->rps = (double)n / (tpm_now() - t0);
	if (n > 0) {
		long k = n < TPM_MAX_SAMPLES ? n : TPM_MAX_SAMPLES;

		qsort(lat, (size_t)k, sizeof(float), tpm_cmp);
		ret->p50_us = lat[k / 2];
		ret->p99_us = lat[(long)((double)k * 0.99)];
	}
	free(lat);
	return 0;
}

int tpm_baseline_run(const char *tcti, double duration, struct tpm_baseline_result *ret)
{
	TSS2_TCTI_CONTEXT *tc = NULL;
	ESYS_CONTEXT *esys = NULL;
	ESYS_TR primary = ESYS_TR_NONE, key = ESYS_TR_NONE;
	TPM2B_SENSITIVE_CREATE sens = {0};
	TPM2B_DATA outside = {0};
	TPML_PCR_SELECTION pcrs = {0};
	TPM2B_PUBLIC tmpl, *pub = NULL;
	TPM2B_PRIVATE *priv = NULL;
	TSS2_RC rc;
	int ret_rc = -1;
	const char *step;

	memset(ret, 0, sizeof(*ret));
	step = "Tss2_TctiLdr_Initialize";
	rc = Tss2_TctiLdr_Initialize(tcti, &tc);
	if (rc != TSS2_RC_SUCCESS)
		goto out;
	step = "Esys_Initialize";
	rc = Esys_Initialize(&esys, tc, NULL);
	if (rc != TSS2_RC_SUCCESS)
		goto out;
	tpm_ecc_template(&tmpl, 1);
	step = "Esys_CreatePrimary";
	rc = Esys_CreatePrimary(esys, ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD, ESYS_TR_NONE,
	                        ESYS_TR_NONE, &sens, &tmpl, &outside, &pcrs, &primary, NULL, NULL,
	                        NULL, NULL);
	if (rc != TSS2_RC_SUCCESS)
		goto out;
	tpm_ecc_template(&tmpl, 0);
	step = "Esys_Create";
	rc = Esys_Create(esys, primary, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &sens, &tmpl,
	                 &outside, &pcrs, &priv, &pub, NULL, NULL, NULL);
	if (rc != TSS2_RC_SUCCESS)
		goto out;
	step = "Esys_Load";
	rc = Esys_Load(esys, primary, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, priv, pub,
	               &key);
	if (rc != TSS2_RC_SUCCESS)
		goto out;
	step = NULL;
	ret_rc = tpm_sign_loop(esys, key, duration, ret);
out:
	if (step != NULL)
		fprintf(stderr, "tpm baseline: %s on \"%s\": 0x%x\n", step, tcti, (unsigned)rc);
	Esys_Free(priv);
	Esys_Free(pub);
	if (key != ESYS_TR_NONE)
		(void)Esys_FlushContext(esys, key);
	if (primary != ESYS_TR_NONE)
		(void)Esys_FlushContext(esys, primary);
	if (esys != NULL)
		Esys_Finalize(&esys);
	if (tc != NULL)
		Tss2_TctiLdr_Finalize(&tc);
	return ret_rc;
}
