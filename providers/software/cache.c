/*
 * A bounded cache of parsed asymmetric keys. Turning stored material into an
 * OpenSSL key costs as much as the operation itself for ECC (the public
 * point is derived from the scalar), so hot keys are kept parsed.
 *
 * Entries are found by SHA-256 over the key's type, family, size and
 * material, so a lookup cannot return another key; PsaDestroyKey evicts the
 * entry (sw_destroy_key), so a destroyed key's secret does not linger.
 * Users hold their own reference (EVP_PKEY_up_ref): an eviction or destroy
 * while a request uses the key is safe.
 */
#include "providers/software/software-priv.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "common/secmem.h"

#define CACHE_SLOTS 256

struct slot {
	uint8_t id[32];
	EVP_PKEY *pk;
	uint64_t used;
};

struct sw_ctx {
	EVP_MD *sha256; /* fetched once: an implicit fetch per request takes a lock */
	pthread_mutex_t lock;
	uint64_t tick;
	struct slot slots[CACHE_SLOTS];
};

enum ts_err sw_init(void **ret_ctx)
{
	struct sw_ctx *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return TS_E_NOMEM;
	c->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	if (c->sha256 == NULL) {
		free(c);
		return TS_E_PSA_GENERIC_ERROR;
	}
	pthread_mutex_init(&c->lock, NULL);
	*ret_ctx = c;
	return TS_OK;
}

void sw_fini(void *ctx)
{
	struct sw_ctx *c = ctx;

	if (c == NULL)
		return;
	for (int i = 0; i < CACHE_SLOTS; i++)
		EVP_PKEY_free(c->slots[i].pk);
	EVP_MD_free(c->sha256);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

static void key_id(const struct sw_ctx *c, const struct psa_attrs *a, const uint8_t *mat,
                   size_t len, uint8_t id[32])
{
	EVP_MD_CTX *h = EVP_MD_CTX_new();
	uint8_t head[6] = {a->type,
	                   a->family,
	                   (uint8_t)a->bits,
	                   (uint8_t)(a->bits >> 8),
	                   (uint8_t)(a->bits >> 16),
	                   (uint8_t)(a->bits >> 24)};
	unsigned n = 32;

	/* On failure the id is all zero bits and matches nothing cached. */
	memset(id, 0, 32);
	if (h == NULL || EVP_DigestInit_ex(h, c->sha256, NULL) != 1 ||
	    EVP_DigestUpdate(h, head, sizeof(head)) != 1 || EVP_DigestUpdate(h, mat, len) != 1 ||
	    EVP_DigestFinal_ex(h, id, &n) != 1)
		memset(id, 0, 32);
	EVP_MD_CTX_free(h);
}

static bool id_valid(const uint8_t id[32])
{
	uint8_t acc = 0;

	for (int i = 0; i < 32; i++)
		acc |= id[i];
	return acc != 0;
}

enum ts_err sw_get_pkey(void *ctx, const struct psa_attrs *a, const uint8_t *mat, size_t len,
                        EVP_PKEY **ret)
{
	struct sw_ctx *c = ctx;
	uint8_t id[32];
	EVP_PKEY *pk = NULL;
	struct slot *victim;
	enum ts_err err;

	if (c == NULL)
		return sw_load_pkey(a, mat, len, ret);
	key_id(c, a, mat, len, id);
	if (!id_valid(id))
		return sw_load_pkey(a, mat, len, ret);
	pthread_mutex_lock(&c->lock);
	for (int i = 0; i < CACHE_SLOTS; i++) {
		struct slot *s = &c->slots[i];

		if (s->pk != NULL && memcmp(s->id, id, sizeof(id)) == 0) {
			s->used = ++c->tick;
			EVP_PKEY_up_ref(s->pk);
			*ret = s->pk;
			pthread_mutex_unlock(&c->lock);
			return TS_OK;
		}
	}
	pthread_mutex_unlock(&c->lock);

	/* Parse outside the lock: other requests go on meanwhile. */
	err = sw_load_pkey(a, mat, len, &pk);
	if (err != TS_OK)
		return err;

	pthread_mutex_lock(&c->lock);
	victim = &c->slots[0];
	for (int i = 0; i < CACHE_SLOTS; i++) {
		struct slot *s = &c->slots[i];

		if (s->pk != NULL && memcmp(s->id, id, sizeof(id)) == 0) {
			victim = NULL; /* another request cached it first */
			break;
		}
		if (s->pk == NULL || s->used < victim->used)
			victim = s;
		if (s->pk == NULL)
			break;
	}
	if (victim != NULL) {
		EVP_PKEY_free(victim->pk);
		memcpy(victim->id, id, sizeof(id));
		victim->pk = pk;
		victim->used = ++c->tick;
		EVP_PKEY_up_ref(pk);
	}
	pthread_mutex_unlock(&c->lock);
	*ret = pk;
	return TS_OK;
}

/* PsaDestroyKey: nothing lives outside the key store but this cache entry. */
enum ts_err sw_destroy_key(void *ctx, const struct psa_attrs *a, const uint8_t *mat, size_t len)
{
	struct sw_ctx *c = ctx;
	uint8_t id[32];

	if (c == NULL || a == NULL)
		return TS_OK;
	key_id(c, a, mat, len, id);
	pthread_mutex_lock(&c->lock);
	for (int i = 0; i < CACHE_SLOTS; i++) {
		struct slot *s = &c->slots[i];

		if (s->pk != NULL && memcmp(s->id, id, sizeof(id)) == 0) {
			EVP_PKEY_free(s->pk);
			memset(s, 0, sizeof(*s));
		}
	}
	pthread_mutex_unlock(&c->lock);
	return TS_OK;
}
