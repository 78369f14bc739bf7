/*
 * Random numbers from the TPM, and hashing in process.
 */
#include "providers/tpm/tpm-priv.h"

#include <string.h>

#include "common/secmem.h"
#include "providers/software/software-priv.h"

enum ts_err tpm_generate_random(void *ctx, uint8_t *out, size_t len)
{
	struct tpm_ctx *c = ctx;
	enum ts_err st = TS_OK;

	pthread_mutex_lock(&c->lock);
	/* The TPM returns at most its largest digest per call. */
	while (len > 0 && st == TS_OK) {
		TPM2B_DIGEST *r = NULL;
		uint16_t ask = len > sizeof(r->buffer) ? sizeof(r->buffer) : (uint16_t)len;
		TSS2_RC rc =
		        Esys_GetRandom(c->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, ask, &r);

		if (rc != TSS2_RC_SUCCESS) {
			st = tpm_status(rc, "GetRandom");
			if (st == TS_E_PSA_GENERIC_ERROR)
				st = TS_E_PSA_INSUFFICIENT_ENTROPY;
		} else if (r->size == 0 || r->size > ask) {
			st = TS_E_PSA_INSUFFICIENT_ENTROPY;
		} else {
			memcpy(out, r->buffer, r->size);
			out += r->size;
			len -= r->size;
		}
		if (r != NULL)
			ts_wipe(r, sizeof(*r));
		Esys_Free(r);
	}
	pthread_mutex_unlock(&c->lock);
	return st;
}

static const char *hash_name(enum prov_hash alg)
{
	switch (alg) {
	case PROV_HASH_SHA_1:
		return "SHA1";
	case PROV_HASH_SHA_256:
		return "SHA256";
	case PROV_HASH_SHA_384:
		return "SHA384";
	case PROV_HASH_SHA_512:
		return "SHA512";
	case PROV_HASH_SHA3_256:
		return "SHA3-256";
	case PROV_HASH_SHA3_384:
		return "SHA3-384";
	case PROV_HASH_SHA3_512:
		return "SHA3-512";
	default:
		return NULL;
	}
}

/* Hashing is public and done in process: the TPM's hash sequences take
 * 1 KiB per command and a session slot, for the same digest. It serves
 * SignMessage/VerifyMessage for the hashes a TPM key can be bound to. */
enum ts_err tpm_hash_compute(void *ctx, enum prov_hash alg, const uint8_t *in, size_t len,
                             uint8_t *out, size_t outsize, size_t *ret_len)
{
	(void)ctx;
	if (hash_name(alg) == NULL)
		return TS_E_PSA_NOT_SUPPORTED; /* not a hash a TPM key is bound to */
	return prov_software_ops.hash_compute(NULL, alg, in, len, out, outsize, ret_len);
}
