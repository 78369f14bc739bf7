/*
 * JwtSvid authenticator (auth type 4): the auth bytes are a JWT-SVID, a
 * compact JWS that SPIRE (or any SPIFFE implementation) issued, verified
 * locally against the JWT bundle the operator configured for the trust
 * domain of its "sub". The identity is that SPIFFE ID.
 *
 * Bundles are files. Each use stats the file of the token's trust domain
 * and reads it again when its inode, size, mtime or ctime changed, so a
 * rotation (a new file renamed into place, or the file rewritten) takes
 * effect at the next request. A file that no longer loads leaves its trust
 * domain with no keys until it loads again: a key the operator removed
 * must not stay trusted because the new file has a typo.
 *
 * Every check but the signature runs at every request; the signature of a
 * token already verified with the same keys (same generation: any reload
 * starts a new one) is not checked again (auth/tokcache.c).
 */
#include "auth/svid-priv.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "common/log.h"

/* An RSA-8192 signature; nothing the allowed algorithms make is longer. */
#define SVID_MAX_SIG 1024

struct svid_bundle {
	char *trust_domain;
	char *path;
	struct svid_keys *keys; /* NULL: the file did not load */
	bool have_stat;         /* st is what keys were read from (or failed on) */
	struct stat st;
};

struct svid_ctx {
	char *audience;
	unsigned skew_s;
	pthread_mutex_t lock; /* the bundles' keys and stats, the generation */
	struct svid_bundle *b;
	size_t n;
	uint64_t generation; /* of the keys; a change of any bundle adds one */
	struct tok_cache *cache;
};

static void svid_fini(void *ctx)
{
	struct svid_ctx *c = ctx;

	if (c == NULL)
		return;
	for (size_t i = 0; i < c->n; i++) {
		free(c->b[i].trust_domain);
		free(c->b[i].path);
		svid_keys_free(c->b[i].keys);
	}
	free(c->b);
	free(c->audience);
	tok_cache_free(c->cache);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

static enum ts_err svid_init(const struct auth_settings *s, void **ret_ctx)
{
	struct svid_ctx *c;
	char why[256];
	enum ts_err rc = TS_E_NOMEM;

	if (s == NULL || s->svid.audience == NULL || s->svid.audience[0] == '\0' ||
	    s->svid.n_bundles == 0)
		return TS_E_CONFIG;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return TS_E_NOMEM;
	pthread_mutex_init(&c->lock, NULL);
	c->skew_s = s->svid.skew_s;
	c->generation = 1;
	c->audience = strdup(s->svid.audience);
	c->b = calloc(s->svid.n_bundles, sizeof(*c->b));
	if (c->audience == NULL || c->b == NULL || tok_cache_new(c->skew_s, &c->cache) != TS_OK)
		goto out;
	for (size_t i = 0; i < s->svid.n_bundles; i++) {
		const struct auth_svid_bundle *in = &s->svid.bundles[i];
		struct svid_bundle *b = &c->b[i];

		c->n = i + 1;
		if (in->trust_domain == NULL || in->path == NULL ||
		    !svid_trust_domain_ok(in->trust_domain, strlen(in->trust_domain))) {
			rc = TS_E_CONFIG;
			goto out;
		}
		b->trust_domain = strdup(in->trust_domain);
		b->path = strdup(in->path);
		if (b->trust_domain == NULL || b->path == NULL) {
			rc = TS_E_NOMEM;
			goto out;
		}
		rc = svid_keys_load(b->path, b->trust_domain, &b->keys, &b->st, why, sizeof(why));
		if (rc != TS_OK) {
			if (s->err != NULL && s->errlen > 0)
				snprintf(s->err, s->errlen, "bundles[%zu].path: %s: %s", i, b->path,
				         why);
			goto out;
		}
		b->have_stat = true;
	}
	*ret_ctx = c;
	c = NULL;
	rc = TS_OK;
out:
	svid_fini(c);
	return rc;
}

static bool same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	       a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/* Read the bundle again when its file changed, and start a new key
 * generation when it did. Called with the lock held. */
static void bundle_refresh(struct svid_ctx *c, struct svid_bundle *b)
{
	struct svid_keys *keys = NULL;
	struct stat st;
	char why[256];

	if (stat(b->path, &st) != 0) {
		if (b->keys != NULL || b->have_stat)
			ts_warn("JwtSvid: the bundle of %s (%s) is gone: its tokens are refused "
			        "until it is back",
			        b->trust_domain, b->path);
		if (b->keys != NULL || b->have_stat)
			c->generation++;
		svid_keys_free(b->keys);
		b->keys = NULL;
		b->have_stat = false;
		return;
	}
	if (b->have_stat && same_file(&st, &b->st))
		return;
	c->generation++;
	svid_keys_free(b->keys);
	b->keys = NULL;
	if (svid_keys_load(b->path, b->trust_domain, &keys, &st, why, sizeof(why)) != TS_OK) {
		/* Remember the file that failed, so it is not read at every request;
		 * any change to it is read again. */
		ts_warn("JwtSvid: the bundle of %s (%s) no longer loads (%s): its tokens are "
		        "refused until it does",
		        b->trust_domain, b->path, why);
		b->st = st;
		b->have_stat = true;
		return;
	}
	ts_info("JwtSvid: the bundle of %s (%s) was reloaded: %zu jwt-svid key(s)", b->trust_domain,
	        b->path, keys->n);
	b->keys = keys;
	b->st = st;
	b->have_stat = true;
}

/* The key of this trust domain's bundle with this kid (a new reference),
 * and the key generation; or NULL. */
static EVP_PKEY *find_key(struct svid_ctx *c, const char *td, size_t td_len, const char *kid,
                          enum svid_key_type *ret_type, uint64_t *ret_gen)
{
	EVP_PKEY *pkey = NULL;

	pthread_mutex_lock(&c->lock);
	for (size_t i = 0; i < c->n; i++) {
		struct svid_bundle *b = &c->b[i];
		const struct svid_key *k;

		if (strlen(b->trust_domain) != td_len || memcmp(b->trust_domain, td, td_len) != 0)
			continue;
		bundle_refresh(c, b);
		k = svid_keys_find(b->keys, kid);
		if (k != NULL && EVP_PKEY_up_ref(k->pkey) == 1) {
			pkey = k->pkey;
			*ret_type = k->type;
			*ret_gen = c->generation;
		}
		break;
	}
	pthread_mutex_unlock(&c->lock);
	return pkey;
}

static enum ts_err svid_authenticate(void *ctx, const uint8_t *auth, size_t len,
                                     const struct auth_peer *peer, char **ret_name)
{
	static const char *const typs[] = {"JWT", "JOSE", NULL};
	struct svid_ctx *c = ctx;
	const struct jws_policy pol = {
	        .audience = c->audience,
	        .skew_s = c->skew_s,
	        .need_sub = true,
	        .iat_optional = true,
	};
	struct jws_parts p = {0};
	const char *kid = NULL, *sub;
	size_t td_len;
	EVP_PKEY *pkey = NULL;
	enum svid_key_type type = SVID_KEY_RSA;
	uint64_t gen = 0;
	uint8_t hash[32];
	int64_t now = (int64_t)time(NULL);
	char *name;
	int alg;
	enum ts_err err;

	(void)peer;
	/* Parsec answers auth bytes that are not UTF-8 so. */
	if (len > 0 && !ts_utf8_valid(auth, len))
		return TS_E_INVALID_ENCODING;
	err = jws_parse((const char *)auth, len, SVID_MAX_SIG, &p);
	if (err != TS_OK)
		return err;
	err = TS_E_AUTHENTICATION_ERROR;
	/* SPIFFE makes kid optional; SPIRE always sets it, and without it the
	 * key would have to be guessed: required. */
	alg = jws_header_check(p.header, svid_alg_names, typs, &kid);
	if (alg < 0 || kid == NULL)
		goto out;
	if (!jws_claims_ok(p.claims, &pol, now))
		goto out;
	sub = json_string_value(json_object_get(p.claims, "sub"));
	td_len = svid_id_trust_domain(sub, strlen(sub));
	if (td_len == 0)
		goto out;
	pkey = find_key(c, sub + 9, td_len, kid, &type, &gen);
	if (pkey == NULL)
		goto out;
	if (!tok_cache_hash(auth, len, hash)) {
		err = TS_E_NOMEM;
		goto out;
	}
	name = tok_cache_get(c->cache, hash, gen, now);
	if (name == NULL) {
		if (!svid_signature_ok(pkey, type, &svid_algs[alg], auth, p.signed_len, p.sig,
		                       p.sig_len))
			goto out;
		name = strdup(sub);
		if (name == NULL) {
			err = TS_E_NOMEM;
			goto out;
		}
		tok_cache_put(c->cache, hash, gen,
		              (int64_t)json_integer_value(json_object_get(p.claims, "exp")), name);
	}
	*ret_name = name;
	err = TS_OK;
out:
	EVP_PKEY_free(pkey);
	jws_parts_clear(&p);
	return err;
}

const struct auth_ops auth_jwt_svid_ops = {
        .name = "JwtSvid",
        .description = "JWT-SVIDs from SPIFFE (SPIRE), verified against the configured JWT "
                       "bundles of their trust domains",
        .auth_type = 4,
        .init = svid_init,
        .authenticate = svid_authenticate,
        .fini = svid_fini,
};
