/*
 * Loaded keys. A TPM holds few transient objects (swtpm: 3, and the root key
 * takes one), so keys are loaded on use and kept in a small cache that
 * flushes the least recently used one to make room. When the TPM itself is
 * full (another user of a TPM without a resource manager, or a smaller TPM
 * than configured), the cache gives up entries until the load fits.
 *
 * Entries are found by the random part of the key's reference, which is
 * unique among the instance's live keys and constant for a key's life.
 */
#include "providers/tpm/tpm-priv.h"

#include <string.h>

#include <tss2/tss2_rc.h>

#include "common/log.h"
#include "common/secmem.h"

static struct tpm_cached *find(struct tpm_ctx *c, const uint8_t *ref, size_t ref_len)
{
	if (ref_len < TPM_REF_ID_LEN)
		return NULL;
	for (unsigned i = 0; i < c->n_cache; i++)
		if (c->cache[i].handle != ESYS_TR_NONE &&
		    memcmp(c->cache[i].id, ref, TPM_REF_ID_LEN) == 0)
			return &c->cache[i];
	return NULL;
}

static void flush(struct tpm_ctx *c, struct tpm_cached *e)
{
	TSS2_RC rc = Esys_FlushContext(c->esys, e->handle);

	if (rc != TSS2_RC_SUCCESS)
		(void)tpm_status(rc, "flushing a loaded key (FlushContext)");
	e->handle = ESYS_TR_NONE;
}

bool tpm_cache_flush_lru(struct tpm_ctx *c)
{
	struct tpm_cached *old = NULL;

	for (unsigned i = 0; i < c->n_cache; i++)
		if (c->cache[i].handle != ESYS_TR_NONE &&
		    (old == NULL || c->cache[i].used < old->used))
			old = &c->cache[i];
	if (old == NULL)
		return false;
	flush(c, old);
	return true;
}

static struct tpm_cached *free_entry(struct tpm_ctx *c)
{
	for (;;) {
		for (unsigned i = 0; i < c->n_cache; i++)
			if (c->cache[i].handle == ESYS_TR_NONE)
				return &c->cache[i];
		(void)tpm_cache_flush_lru(c);
	}
}

static TSS2_RC load(struct tpm_ctx *c, const struct tpm_material *m, ESYS_TR *ret)
{
	if (m->has_private)
		return Esys_Load(c->esys, c->root, tpm_session(c, TPM_SESS_IN), ESYS_TR_NONE,
		                 ESYS_TR_NONE, &m->priv, &m->pub, ret);
	return Esys_LoadExternal(c->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, NULL, &m->pub,
	                         ESYS_TR_RH_NULL, ret);
}

enum ts_err tpm_cache_get(struct tpm_ctx *c, const struct prov_key *k, const struct tpm_material *m,
                          ESYS_TR *ret)
{
	struct tpm_cached *e = find(c, k->ref, k->ref_len);
	TPM2B_AUTH auth = {0};
	TSS2_RC rc;

	if (e == NULL) {
		ESYS_TR h = ESYS_TR_NONE;

		if (k->ref_len < TPM_REF_ID_LEN)
			return TS_E_PSA_DATA_INVALID;
		if (m->has_private && c->root == ESYS_TR_NONE) {
			enum ts_err st = tpm_root_again(c);

			if (st != TS_OK)
				return st;
		}
		e = free_entry(c);
		for (bool again = true;;) {
			rc = load(c, m, &h);
			if (again && m->has_private && tpm_objects_lost(rc)) {
				enum ts_err st = tpm_reattach(c);

				if (st != TS_OK)
					return st;
				again = false;
				continue;
			}
			if (rc != TPM2_RC_OBJECT_MEMORY || !tpm_cache_flush_lru(c))
				break;
			/* The TPM is fuller than the cache thinks: room was made. */
			ts_debug("tpm: the TPM is out of object memory; flushed the least "
			         "recently used key");
		}
		if (rc != TSS2_RC_SUCCESS)
			return tpm_status(rc, m->has_private
			                              ? "loading a key (Load)"
			                              : "loading a public key (LoadExternal)");
		memcpy(e->id, k->ref, TPM_REF_ID_LEN);
		e->handle = h;
	}
	e->used = ++c->tick;
	auth.size = (uint16_t)m->auth_len;
	memcpy(auth.buffer, m->auth, m->auth_len);
	rc = Esys_TR_SetAuth(c->esys, e->handle, &auth);
	ts_wipe(&auth, sizeof(auth));
	if (rc != TSS2_RC_SUCCESS)
		return tpm_status(rc, "setting a key's auth value");
	*ret = e->handle;
	return TS_OK;
}

void tpm_cache_drop(struct tpm_ctx *c, const uint8_t *ref, size_t ref_len)
{
	struct tpm_cached *e = find(c, ref, ref_len);

	if (e != NULL)
		flush(c, e);
}

void tpm_cache_clear(struct tpm_ctx *c)
{
	while (tpm_cache_flush_lru(c))
		;
}
