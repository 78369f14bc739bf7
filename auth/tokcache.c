/*
 * A small cache of verified tokens, shared by the Jwt and JwtSvid
 * authenticators: by SHA-256 of the token, with the identity it named, its
 * expiry and the generation of the keys that verified it. An entry is good
 * only for that generation and until the token expires, so a change of keys
 * (an intermediate rotated, a bundle reloaded) voids every entry at once.
 */
#include "auth/auth-priv.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "common/secmem.h"

#define CACHE_SLOTS 512

struct cache_slot {
	uint8_t hash[32];
	uint64_t generation; /* 0: empty */
	int64_t exp;
	char *name;
};

struct tok_cache {
	unsigned skew_s;
	pthread_mutex_t lock;
	struct cache_slot slots[CACHE_SLOTS];
};

enum ts_err tok_cache_new(unsigned skew_s, struct tok_cache **ret)
{
	struct tok_cache *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return TS_E_NOMEM;
	c->skew_s = skew_s;
	pthread_mutex_init(&c->lock, NULL);
	*ret = c;
	return TS_OK;
}

void tok_cache_free(struct tok_cache *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < CACHE_SLOTS; i++)
		free(c->slots[i].name);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

bool tok_cache_hash(const uint8_t *token, size_t len, uint8_t ret_hash[32])
{
	unsigned int hlen = 0;

	return EVP_Digest(token, len, ret_hash, &hlen, EVP_sha256(), NULL) == 1 && hlen == 32;
}

static struct cache_slot *slot_of(struct tok_cache *c, const uint8_t hash[32])
{
	return &c->slots[hash[0] | ((hash[1] & 1) << 8)]; /* 9 bits: 512 slots */
}

char *tok_cache_get(struct tok_cache *c, const uint8_t hash[32], uint64_t gen, int64_t now)
{
	struct cache_slot *s = slot_of(c, hash);
	char *name = NULL;

	pthread_mutex_lock(&c->lock);
	if (s->generation == gen && gen != 0 && ts_consttime_eq(s->hash, hash, 32) &&
	    now < s->exp + (int64_t)c->skew_s)
		name = strdup(s->name);
	pthread_mutex_unlock(&c->lock);
	return name;
}

void tok_cache_put(struct tok_cache *c, const uint8_t hash[32], uint64_t gen, int64_t exp,
                   const char *name)
{
	struct cache_slot *s = slot_of(c, hash);
	char *copy = strdup(name);

	if (copy == NULL)
		return;
	pthread_mutex_lock(&c->lock);
	free(s->name);
	memcpy(s->hash, hash, 32);
	s->generation = gen;
	s->exp = exp;
	s->name = copy;
	pthread_mutex_unlock(&c->lock);
}
