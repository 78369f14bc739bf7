/*
 * The composition root of tesserad: the only file that knows every
 * component. It starts the provider instances once, for the life of the
 * process, and turns each configuration (the first, and every reload) into
 * a service state (authenticators, limits) that the request path uses.
 */
#include "daemon/daemon-priv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"

/* ---- provider instances: made once, kept for the process lifetime ---- */

static void provider_clear(struct svc_provider *p)
{
	if (p->ops != NULL && p->ops->fini != NULL)
		p->ops->fini(p->ctx);
	free(p->name);
	free(p->settings);
	memset(p, 0, sizeof(*p));
}

void svc_providers_free(struct svc_providers *p)
{
	if (p == NULL)
		return;
	/* The last first: the default instance outlives the others. */
	for (size_t i = p->n; i > 0; i--)
		provider_clear(&p->v[i - 1]);
	free(p->v);
	free(p);
}

/* The first instance of a type takes the type's wire ID (what Parsec
 * clients know); further ones take IDs from the extension range. */
static enum ts_err assign_wire_ids(struct svc_provider *v, size_t n)
{
	unsigned next_ext = SVC_WIRE_ID_EXT_FIRST;

	for (size_t i = 0; i < n; i++) {
		bool first = true;

		for (size_t k = 0; k < i; k++)
			if (v[k].ops->id == v[i].ops->id)
				first = false;
		if (first) {
			v[i].wire_id = v[i].ops->id;
			v[i].extension = false;
			continue;
		}
		if (next_ext > SVC_WIRE_ID_EXT_LAST)
			return TS_E_LIMIT;
		v[i].wire_id = (uint8_t)next_ext++;
		v[i].extension = true;
	}
	return TS_OK;
}

static void read_limits(struct svc_provider *p)
{
	p->max_concurrent = p->ops->max_concurrent != NULL ? p->ops->max_concurrent(p->ctx) : 0;
	p->max_payload = p->ops->max_payload != NULL ? p->ops->max_payload(p->ctx) : 0;
	atomic_init(&p->running, 0);
}

enum ts_err svc_providers_adopt(struct svc_provider *v, size_t n, struct svc_providers **ret)
{
	struct svc_providers *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return TS_E_NOMEM;
	p->v = v;
	p->n = n;
	if (assign_wire_ids(v, n) != TS_OK) {
		p->v = NULL;
		free(p);
		return TS_E_LIMIT;
	}
	for (size_t i = 0; i < n; i++)
		read_limits(&v[i]);
	*ret = p;
	return TS_OK;
}

/* The implementation of a configured provider, or NULL with a message. */
static const struct prov_ops *type_of(const struct ts_config *cfg, size_t i, char *err,
                                      size_t errlen)
{
	const struct prov_ops *ops = prov_find(cfg->providers[i].provider_id);

	if (ops == NULL)
		snprintf(err, errlen, "providers[%zu]: provider ID %u is not in this build", i,
		         cfg->providers[i].provider_id);
	return ops;
}

static enum ts_err check_one(const struct prov_ops *ops, const char *settings, const char *path,
                             char *err, size_t errlen)
{
	if (ops->check_settings != NULL)
		return ops->check_settings(settings, path, err, errlen);
	if (strcmp(settings, "{}") != 0) {
		snprintf(err, errlen, "%s: the %s provider takes no settings", path, ops->type);
		return TS_E_CONFIG;
	}
	return TS_OK;
}

enum ts_err svc_providers_check(const struct ts_config *cfg, char *err, size_t errlen)
{
	size_t n_ext = 0;

	for (size_t i = 0; i < cfg->n_providers; i++) {
		const struct prov_ops *ops = type_of(cfg, i, err, errlen);
		char path[32];
		enum ts_err rc;

		if (ops == NULL)
			return TS_E_CONFIG;
		snprintf(path, sizeof(path), "providers[%zu]", i);
		rc = check_one(ops, cfg->providers[i].settings, path, err, errlen);
		if (rc != TS_OK)
			return rc;
		for (size_t k = 0; k < i; k++)
			if (cfg->providers[k].provider_id == cfg->providers[i].provider_id) {
				n_ext++;
				break;
			}
	}
	if (n_ext > SVC_WIRE_ID_EXT_LAST - SVC_WIRE_ID_EXT_FIRST + 1) {
		snprintf(err, errlen, "providers: at most %u further instances of a type",
		         SVC_WIRE_ID_EXT_LAST - SVC_WIRE_ID_EXT_FIRST + 1);
		return TS_E_CONFIG;
	}
	return TS_OK;
}

enum ts_err svc_providers_new(const struct ts_config *cfg, struct svc_providers **ret, char *err,
                              size_t errlen)
{
	size_t n = cfg->n_providers;
	struct svc_provider *v;
	struct svc_providers *p = NULL;
	enum ts_err rc = svc_providers_check(cfg, err, errlen);

	if (rc != TS_OK)
		return rc;
	v = calloc(n ? n : 1, sizeof(*v));
	if (v == NULL)
		goto nomem;
	for (size_t i = 0; i < n; i++) {
		const struct cfg_provider *cp = &cfg->providers[i];
		struct svc_provider *sp = &v[i];
		char path[32];

		snprintf(path, sizeof(path), "providers[%zu]", i);
		sp->name = strdup(cp->name);
		sp->settings = strdup(cp->settings);
		if (sp->name == NULL || sp->settings == NULL) {
			rc = TS_E_NOMEM;
			goto fail;
		}
		sp->ops = type_of(cfg, i, err, errlen);
		if (sp->ops->init != NULL) {
			rc = sp->ops->init(cp->settings, path, &sp->ctx, err, errlen);
			if (rc != TS_OK) {
				sp->ops = NULL; /* nothing for fini to undo */
				goto fail;
			}
		}
	}
	rc = svc_providers_adopt(v, n, &p);
	if (rc != TS_OK)
		goto fail;
	*ret = p;
	return TS_OK;
fail:
	if (rc == TS_E_NOMEM)
		snprintf(err, errlen, "out of memory");
	for (size_t i = n; i > 0; i--)
		provider_clear(&v[i - 1]);
	free(v);
	return rc;
nomem:
	snprintf(err, errlen, "out of memory");
	return TS_E_NOMEM;
}

bool svc_providers_differ(const struct svc_providers *p, const struct ts_config *cfg, char *what,
                          size_t whatlen)
{
	size_t n = cfg->n_providers < p->n ? cfg->n_providers : p->n;

	for (size_t i = 0; i < n; i++) {
		const struct cfg_provider *cp = &cfg->providers[i];
		const struct svc_provider *sp = &p->v[i];

		if (prov_find(cp->provider_id) != sp->ops || strcmp(cp->name, sp->name) != 0) {
			snprintf(what, whatlen, "providers[%zu] is now \"%s\", was \"%s\"", i,
			         cp->name, sp->name);
			return true;
		}
		if (strcmp(cp->settings, sp->settings) != 0) {
			snprintf(what, whatlen, "providers[%zu] (%s): settings changed", i,
			         sp->name);
			return true;
		}
	}
	if (cfg->n_providers != p->n) {
		snprintf(what, whatlen, "%zu provider(s) configured, %zu running", cfg->n_providers,
		         p->n);
		return true;
	}
	return false;
}

const struct svc_provider *svc_providers_by_wire_id(const struct svc_providers *p, uint8_t id)
{
	for (size_t i = 0; i < p->n; i++)
		if (p->v[i].wire_id == id)
			return &p->v[i];
	return NULL;
}

const struct svc_provider *svc_providers_by_name(const struct svc_providers *p, const char *name)
{
	for (size_t i = 0; name != NULL && i < p->n; i++)
		if (strcmp(p->v[i].name, name) == 0)
			return &p->v[i];
	return NULL;
}

/* ---- start-up: what a crash left, and what each instance must know ---- */

static void recover_one(void *ctx, const struct ks_key_id *id, const struct ks_record *r)
{
	const struct svc_providers *provs = ctx;
	const struct svc_provider *p = svc_providers_by_name(provs, r->provider);

	/* A key half created or half destroyed when the daemon stopped: the
	 * provider drops what it holds (the reference was recorded before the
	 * key was made), the record goes with it. */
	if (p != NULL && p->ops->recover_key != NULL) {
		struct psa_attrs a;
		struct prov_key k;

		(void)key_from_record(r, &a, &k);
		p->ops->recover_key(p->ctx, &k);
	}
	ts_info("key store recovery: removed unfinished key \"%s\" of a client", id->name);
}

struct adopt_ctx {
	const struct svc_provider *p;
	struct vkey *leftovers;
	unsigned failed, refused;
	bool nomem;
};

static int adopt_one(void *ctx, const struct ks_key_id *id, const uint8_t *ref, size_t ref_len,
                     const uint8_t *attrs, size_t attrs_len)
{
	struct adopt_ctx *c = ctx;

	if (c->p->ops->adopt_key != NULL) {
		struct psa_attrs a;
		bool have = psa_attrs_unpack(attrs, attrs_len, &a) == TS_OK;
		struct prov_key k = {.attrs = have ? &a : NULL, .ref = ref, .ref_len = ref_len};
		enum ts_err rc = c->p->ops->adopt_key(c->p->ctx, &k);

		if (rc == TS_E_CONFIG)
			c->refused++;
		else if (rc != TS_OK)
			c->failed++;
	}
	/* Collected here, destroyed after the walk: the key store's callbacks
	 * must not call it, and the instance has been told of the key first. */
	if (session_note_leftover(&c->leftovers, c->p, id) != TS_OK)
		c->nomem = true;
	return 0;
}

enum ts_err svc_recover_keys(struct svc_state *st, unsigned *ret_purged)
{
	const struct svc_providers *provs = st->provs;
	enum ts_err rc = TS_OK;
	unsigned n = 0, purged = 0;

	if (ks_recover(st->ks, recover_one, (void *)provs, &n) != TS_OK)
		ts_warn("key store recovery did not complete; it is retried at the next start");
	else if (n > 0)
		ts_info("key store recovery: %u unfinished key(s) removed", n);
	for (size_t i = 0; i < provs->n; i++) {
		struct adopt_ctx c = {.p = &provs->v[i]};
		bool walked = ks_each_key(st->ks, c.p->name, adopt_one, &c) == TS_OK;

		if (!walked || c.failed > 0)
			ts_warn("provider %s: %u of its keys could not be taken up", c.p->name,
			        c.failed);
		if (!walked || c.nomem)
			ts_warn("provider %s: not every volatile key left by the last run could "
			        "be listed; the next start destroys the rest",
			        c.p->name);
		if (c.refused > 0) {
			ts_error("provider %s refuses %u of its keys: not starting (see above)",
			         c.p->name, c.refused);
			rc = TS_E_CONFIG;
		}
		/* An instance that refuses its keys is not asked to destroy any. */
		if (c.refused > 0)
			session_forget_leftovers(c.leftovers);
		else
			purged += session_destroy_leftovers(st, c.leftovers);
	}
	if (ret_purged != NULL)
		*ret_purged = purged;
	return rc;
}

/* ---- the service state: everything else of one configuration ---- */

static void state_free(struct svc_state *st)
{
	if (st == NULL)
		return;
	auth_set_free(st->auth);
	config_free(st->cfg);
	free(st);
}

/* Enable cfg's authenticators in set; only_files: just those that read
 * files at start (JwtSvid), as --check-config does. */
static enum ts_err add_authenticators(struct auth_set *set, const struct ts_config *cfg,
                                      struct trust_store *trust, bool only_files, char *err,
                                      size_t errlen)
{
	enum ts_err rc;

	for (size_t i = 0; i < cfg->n_authenticators; i++) {
		const struct cfg_authenticator *a = &cfg->authenticators[i];
		/* The bundle list in auth's form (the same two strings). */
		struct auth_svid_bundle bundles[64];
		char why[400] = "";
		struct auth_settings s = {
		        .admins = (const char *const *)a->admins,
		        .n_admins = a->n_admins,
		        .trust = trust,
		        .jwt = {.issuer = a->issuer,
		                .audience = a->audience,
		                .skew_s = a->clock_skew_s},
		        .svid = {.audience = a->audience,
		                 .skew_s = a->clock_skew_s,
		                 .bundles = bundles,
		                 .n_bundles = a->n_bundles < 64 ? a->n_bundles : 64},
		        .err = why,
		        .errlen = sizeof(why),
		};

		if (only_files && a->auth_type != CFG_AUTH_JWT_SVID)
			continue;
		for (size_t k = 0; k < s.svid.n_bundles; k++)
			bundles[k] = (struct auth_svid_bundle){a->bundles[k].trust_domain,
			                                       a->bundles[k].path};
		rc = auth_set_add(set, a->auth_type, &s);
		if (rc != TS_OK && why[0] != '\0') {
			snprintf(err, errlen, "authenticators[%zu].%s", i, why);
			return rc;
		}
		if (rc != TS_OK) {
			snprintf(err, errlen, "authenticators[%zu]: cannot enable %s: %s", i,
			         wire_auth_type_name(a->auth_type)
			                 ? wire_auth_type_name(a->auth_type)
			                 : "?",
			         ts_strerror(rc));
			return rc;
		}
		if (a->auth_type == CFG_AUTH_DIRECT)
			ts_warn("authenticators[%zu]: Direct is enabled: it trusts the application "
			        "name each client states, so whoever can connect to the socket can "
			        "act as any Direct tenant%s (docs/configuration.md)",
			        i, a->n_admins > 0 ? ", its admins included" : "");
	}
	return TS_OK;
}

static enum ts_err build_auth(struct svc_state *st, char *err, size_t errlen)
{
	enum ts_err rc = auth_set_new(&st->auth);

	if (rc != TS_OK)
		return rc;
	return add_authenticators(st->auth, st->cfg, st->trust, false, err, errlen);
}

enum ts_err svc_auth_check(const struct ts_config *cfg, char *err, size_t errlen)
{
	struct auth_set *set = NULL;
	enum ts_err rc = auth_set_new(&set);

	if (rc == TS_OK)
		rc = add_authenticators(set, cfg, NULL, true, err, errlen);
	else
		snprintf(err, errlen, "out of memory");
	auth_set_free(set);
	return rc;
}

enum ts_err svc_state_new(struct ts_config *cfg, struct ks *ks, struct trust_store *trust,
                          const struct svc_providers *provs, struct svc_state **ret_st, char *err,
                          size_t errlen)
{
	struct svc_state *st = calloc(1, sizeof(*st));
	enum ts_err rc = TS_E_NOMEM;

	if (st == NULL) {
		snprintf(err, errlen, "out of memory");
		return rc;
	}
	atomic_init(&st->refs, 1);
	st->cfg = cfg;
	st->ks = ks;
	st->trust = trust;
	st->provs = provs;
	rc = build_auth(st, err, errlen);
	if (rc != TS_OK)
		goto out;
	/* The store enforces the quotas of the configuration in force (a
	 * reload changes them from its next creation on). */
	if (ks != NULL)
		ks_set_quotas(ks, cfg->quotas.max_keys_per_tenant,
		              cfg->quotas.max_key_bytes_per_tenant);
	if (ks != NULL)
		ks_set_asset_quotas(ks, cfg->quotas.max_assets_per_tenant,
		                    cfg->quotas.max_asset_bytes_per_tenant);
	*ret_st = st;
	st = NULL;
out:
	if (st != NULL) {
		st->cfg = NULL; /* the caller still owns cfg on failure */
		if (rc == TS_E_NOMEM)
			snprintf(err, errlen, "out of memory");
		state_free(st);
	}
	return rc;
}

struct svc_state *svc_state_ref(struct svc_state *st)
{
	atomic_fetch_add(&st->refs, 1);
	return st;
}

void svc_state_unref(struct svc_state *st)
{
	if (st != NULL && atomic_fetch_sub(&st->refs, 1) == 1)
		state_free(st);
}

void resolve_defaults(struct ts_config *cfg)
{
	if (cfg->core.threads == 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);

		cfg->core.threads = n > 0 ? (unsigned)n : 1;
	}
	if (cfg->core.threads > 1024)
		cfg->core.threads = 1024; /* libuv's pool limit */
	/* Requests waiting for a worker are ordered fairly by the scheduler;
	 * this only bounds the memory they hold. */
	if (cfg->core.max_in_flight == 0)
		cfg->core.max_in_flight = 256;
	if (cfg->core.io_threads == 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);

		cfg->core.io_threads = n <= 0 ? 1 : n > 64 ? 64 : (unsigned)n;
	}
}

int apply_overrides(struct ts_config *cfg, const struct server_opts *opts)
{
	if (opts->socket_override != NULL &&
	    config_set_string(&cfg->listener.socket_path, opts->socket_override) != 0)
		return -1;
	if (opts->allow_root_override)
		cfg->core.allow_root = true;
	if (opts->state_dir != NULL) {
		char path[4096];

		size_t len = strlen(opts->state_dir);

		snprintf(path, sizeof(path), "%s/keystore.sqlite3", opts->state_dir);
		if (config_set_string(&cfg->key_store.path, path) != 0)
			return -1;
		/* Its key beside the directory, not in it: DIR.kek. */
		while (len > 1 && opts->state_dir[len - 1] == '/')
			len--;
		snprintf(path, sizeof(path), "%.*s.kek", (int)len, opts->state_dir);
		if (opts->kek_override == NULL &&
		    config_set_string(&cfg->key_store.kek_path, path) != 0)
			return -1;
	}
	if (opts->kek_override != NULL &&
	    config_set_string(&cfg->key_store.kek_path, opts->kek_override) != 0)
		return -1;
	return 0;
}
