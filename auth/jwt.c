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

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

struct jwt_ctx {
	struct trust_store *trust;
	struct jws_policy pol;
	char *issuer, *audience;
	struct tok_cache *cache;
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
	if (tok_cache_new(c->pol.skew_s, &c->cache) != TS_OK)
		goto nomem;
	*ret_ctx = c;
	return TS_OK;
nomem:
	free(c->issuer);
	free(c->audience);
	free(c);
	return TS_E_NOMEM;
}

static void jwt_fini(void *ctx)
{
	struct jwt_ctx *c = ctx;

	if (c == NULL)
		return;
	tok_cache_free(c->cache);
	free(c->issuer);
	free(c->audience);
	free(c);
}

static enum ts_err jwt_authenticate(void *ctx, const uint8_t *auth, size_t len,
                                    const struct auth_peer *peer, char **ret_name)
{
	struct jwt_ctx *c = ctx;
	uint8_t hash[32];
	int64_t now = (int64_t)time(NULL);
	uint64_t gen;
	json_t *claims = NULL;
	char *name;
	enum ts_err err;

	(void)peer;
	if (len == 0 || len > JWS_MAX_LEN)
		return TS_E_AUTHENTICATION_ERROR;
	if (!tok_cache_hash(auth, len, hash))
		return TS_E_NOMEM;
	gen = trust_store_generation(c->trust);
	name = tok_cache_get(c->cache, hash, gen, now);
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
	tok_cache_put(c->cache, hash, gen,
	              (int64_t)json_integer_value(json_object_get(claims, "exp")), name);
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
