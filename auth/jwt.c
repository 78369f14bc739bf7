/*
 * Jwt authenticator (auth type 2): the auth bytes are a compact JWS issued by
 * tessera-idp, verified locally against the intermediate the idp shared. The
 * identity is the token's "sub".
 *
 * Verified tokens are remembered (by SHA-256 of the token) until they expire
 * or the intermediate changes, so a client that sends the same token on every
 * request pays for one signature check.
 */
#include "auth/auth-priv.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "common/secmem.h"

#define CACHE_SLOTS 512

struct cache_slot {
	uint8_t hash[32];
	uint64_t generation; /* 0: empty */
	int64_t exp;
	char *name;
};

struct jwt_ctx {
	struct trust_store *trust;
	struct jws_policy pol;
	char *issuer, *audience;
	pthread_mutex_t lock;
	struct cache_slot slots[CACHE_SLOTS];
};

static enum ts_err jwt_init(const struct auth_settings *s, void **ret_ctx)
{
	struct jwt_ctx *c;

	if (s == NULL || s->trust == NULL)
		return TS_E_CONFIG;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return TS_E_NOMEM;
	c->trust = s->trust;
	c->pol = s->jwt;
	c->pol.need_sub = true;
	if (s->jwt.issuer != NULL && (c->issuer = strdup(s->jwt.issuer)) == NULL)
		goto nomem;
	if (s->jwt.audience != NULL && (c->audience = strdup(s->jwt.audience)) == NULL)
		goto nomem;
	c->pol.issuer = c->issuer;
	c->pol.audience = c->audience;
	pthread_mutex_init(&c->lock, NULL);
	*ret_ctx = c;
	return TS_OK;
nomem:
	free(c->issuer);
	free(c);
	return TS_E_NOMEM;
}

static void jwt_fini(void *ctx)
{
	struct jwt_ctx *c = ctx;

	if (c == NULL)
		return;
	for (size_t i = 0; i < CACHE_SLOTS; i++)
		free(c->slots[i].name);
	pthread_mutex_destroy(&c->lock);
	free(c->issuer);
	free(c->audience);
	free(c);
}

static struct cache_slot *slot_of(struct jwt_ctx *c, const uint8_t hash[32])
{
	return &c->slots[hash[0] | ((hash[1] & 1) << 8)]; /* 9 bits: 512 slots */
}

/* A cached identity for this token, still valid; NULL otherwise. */
static char *cache_get(struct jwt_ctx *c, const uint8_t hash[32], uint64_t gen, int64_t now)
{
	struct cache_slot *s = slot_of(c, hash);
	char *name = NULL;

	pthread_mutex_lock(&c->lock);
	if (s->generation == gen && gen != 0 && ts_consttime_eq(s->hash, hash, 32) &&
	    now < s->exp + (int64_t)c->pol.skew_s)
		name = strdup(s->name);
	pthread_mutex_unlock(&c->lock);
	return name;
}

static void cache_put(struct jwt_ctx *c, const uint8_t hash[32], uint64_t gen, int64_t exp,
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

static enum ts_err jwt_authenticate(void *ctx, const uint8_t *auth, size_t len,
                                    const struct auth_peer *peer, char **ret_name)
{
	struct jwt_ctx *c = ctx;
	uint8_t hash[32];
	unsigned int hlen = 0;
	int64_t now = (int64_t)time(NULL);
	uint64_t gen;
	json_t *claims = NULL;
	char *name;
	enum ts_err err;

	(void)peer;
	if (len == 0 || len > JWS_MAX_LEN)
		return TS_E_AUTHENTICATION_ERROR;
	if (EVP_Digest(auth, len, hash, &hlen, EVP_sha256(), NULL) != 1)
		return TS_E_NOMEM;
	gen = trust_store_generation(c->trust);
	name = cache_get(c, hash, gen, now);
	if (name != NULL) {
		*ret_name = name;
		return TS_OK;
	}
	err = jws_verify(c->trust, (const char *)auth, len, &c->pol, now, &claims, &gen);
	if (err != TS_OK)
		return err;
	name = strdup(json_string_value(json_object_get(claims, "sub")));
	if (name == NULL) {
		json_decref(claims);
		return TS_E_NOMEM;
	}
	cache_put(c, hash, gen, (int64_t)json_integer_value(json_object_get(claims, "exp")), name);
	json_decref(claims);
	*ret_name = name;
	return TS_OK;
}

const struct auth_ops auth_jwt_ops = {
        .name = "JwtAuthenticator",
        .description = "JSON Web Tokens from tessera-idp, verified against its shared "
                       "certificate chain",
        .auth_type = 2,
        .init = jwt_init,
        .authenticate = jwt_authenticate,
        .fini = jwt_fini,
};
