/*
 * The composition root of tesserad: the only file that knows every
 * component. It turns a configuration into a service state (authenticators,
 * providers) that the request path uses.
 */
#include "daemon/daemon-priv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void state_free(struct svc_state *st)
{
	if (st == NULL)
		return;
	for (size_t i = 0; i < st->n_providers; i++) {
		struct svc_provider *p = &st->providers[i];

		if (p->ops != NULL && p->ops->fini != NULL)
			p->ops->fini(p->ctx);
		free(p->name);
	}
	free(st->providers);
	auth_set_free(st->auth);
	config_free(st->cfg);
	free(st);
}

static enum ts_err build_auth(struct svc_state *st, char *err, size_t errlen)
{
	enum ts_err rc = auth_set_new(&st->auth);

	if (rc != TS_OK)
		return rc;
	for (size_t i = 0; i < st->cfg->n_authenticators; i++) {
		const struct cfg_authenticator *a = &st->cfg->authenticators[i];
		struct auth_settings s = {
		        .admins = (const char *const *)a->admins,
		        .n_admins = a->n_admins,
		        .trust = st->trust,
		        .jwt = {.issuer = a->issuer,
		                .audience = a->audience,
		                .skew_s = a->clock_skew_s},
		};

		rc = auth_set_add(st->auth, a->auth_type, &s);
		if (rc != TS_OK) {
			snprintf(err, errlen, "authenticators[%zu]: cannot enable %s: %s", i,
			         wire_auth_type_name(a->auth_type)
			                 ? wire_auth_type_name(a->auth_type)
			                 : "?",
			         ts_strerror(rc));
			return rc;
		}
	}
	return TS_OK;
}

static enum ts_err build_providers(struct svc_state *st, char *err, size_t errlen)
{
	size_t n = st->cfg->n_providers;

	st->providers = calloc(n ? n : 1, sizeof(*st->providers));
	if (st->providers == NULL)
		return TS_E_NOMEM;
	for (size_t i = 0; i < n; i++) {
		const struct cfg_provider *cp = &st->cfg->providers[i];
		struct svc_provider *p = &st->providers[i];
		enum ts_err rc;

		p->ops = prov_find(cp->provider_id);
		if (p->ops == NULL) {
			snprintf(err, errlen, "providers[%zu]: provider ID %u is not in this build",
			         i, cp->provider_id);
			return TS_E_CONFIG;
		}
		st->n_providers = i + 1;    /* from here on state_free cleans this entry */
		p->name = strdup(cp->name); /* the configuration always names it */
		if (p->name == NULL)
			return TS_E_NOMEM;
		if (p->ops->init != NULL) {
			rc = p->ops->init(&p->ctx);
			if (rc != TS_OK) {
				snprintf(err, errlen, "providers[%zu] (%s): start-up failed: %s", i,
				         p->name, ts_strerror(rc));
				p->ops = NULL; /* nothing for fini to undo */
				return rc;
			}
		}
	}
	return TS_OK;
}

enum ts_err svc_state_new(struct ts_config *cfg, struct ks *ks, struct trust_store *trust,
                          struct svc_state **ret_st, char *err, size_t errlen)
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
	rc = build_auth(st, err, errlen);
	if (rc != TS_OK)
		goto out;
	rc = build_providers(st, err, errlen);
	if (rc != TS_OK)
		goto out;
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

const struct svc_provider *svc_state_provider(const struct svc_state *st, uint8_t id)
{
	for (size_t i = 0; i < st->n_providers; i++)
		if (st->providers[i].ops->id == id)
			return &st->providers[i];
	return NULL;
}

void resolve_defaults(struct ts_config *cfg)
{
	if (cfg->core.threads == 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);

		cfg->core.threads = n > 0 ? (unsigned)n : 1;
	}
	if (cfg->core.threads > 1024)
		cfg->core.threads = 1024; /* libuv's pool limit */
	if (cfg->core.max_in_flight == 0)
		cfg->core.max_in_flight = 4 * cfg->core.threads;
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

		snprintf(path, sizeof(path), "%s/keystore.sqlite3", opts->state_dir);
		if (config_set_string(&cfg->key_store.path, path) != 0)
			return -1;
	}
	return 0;
}
