#include "auth/auth-priv.h"

#include <stdlib.h>
#include <string.h>

#include "common/util.h"

static const struct auth_ops *const registry[] = {
        &auth_direct_ops,
        &auth_jwt_ops,
        &auth_unix_peer_ops,
        &auth_jwt_svid_ops,
};

struct auth_instance {
	const struct auth_ops *ops;
	void *ctx;
	char **admins;
	size_t n_admins;
};

struct auth_set {
	struct auth_instance *items;
	size_t n;
};

void auth_identity_clear(struct auth_identity *id)
{
	if (id == NULL)
		return;
	free(id->name);
	memset(id, 0, sizeof(*id));
}

const struct auth_ops *auth_ops_find(uint8_t auth_type)
{
	for (size_t i = 0; i < TS_ARRAY_LEN(registry); i++)
		if (registry[i]->auth_type == auth_type)
			return registry[i];
	return NULL;
}

enum ts_err auth_set_new(struct auth_set **ret_set)
{
	struct auth_set *set = calloc(1, sizeof(*set));

	if (set == NULL)
		return TS_E_NOMEM;
	*ret_set = set;
	return TS_OK;
}

static void instance_fini(struct auth_instance *in)
{
	if (in->ops != NULL && in->ops->fini != NULL)
		in->ops->fini(in->ctx);
	for (size_t i = 0; i < in->n_admins; i++)
		free(in->admins[i]);
	free(in->admins);
}

static const struct auth_instance *set_find(const struct auth_set *set, uint8_t auth_type)
{
	for (size_t i = 0; i < set->n; i++)
		if (set->items[i].ops->auth_type == auth_type)
			return &set->items[i];
	return NULL;
}

enum ts_err auth_set_add(struct auth_set *set, uint8_t auth_type,
                         const struct auth_settings *settings)
{
	const struct auth_ops *ops = auth_ops_find(auth_type);
	struct auth_instance in = {0}, *grown;
	enum ts_err err = TS_E_NOMEM;

	if (ops == NULL)
		return TS_E_AUTHENTICATOR_DOES_NOT_EXIST;
	if (set_find(set, auth_type) != NULL)
		return TS_E_CONFIG;
	in.ops = ops;
	if (settings != NULL && settings->n_admins > 0) {
		in.admins = calloc(settings->n_admins, sizeof(*in.admins));
		if (in.admins == NULL)
			goto out;
		for (; in.n_admins < settings->n_admins; in.n_admins++) {
			in.admins[in.n_admins] = strdup(settings->admins[in.n_admins]);
			if (in.admins[in.n_admins] == NULL)
				goto out;
		}
	}
	if (ops->init != NULL) {
		err = ops->init(settings, &in.ctx);
		if (err != TS_OK) {
			in.ops = NULL; /* nothing for fini to undo */
			goto out;
		}
	}
	grown = realloc(set->items, (set->n + 1) * sizeof(*grown));
	if (grown == NULL) {
		err = TS_E_NOMEM;
		goto out;
	}
	set->items = grown;
	set->items[set->n++] = in;
	memset(&in, 0, sizeof(in));
	err = TS_OK;
out:
	instance_fini(&in);
	return err;
}

void auth_set_free(struct auth_set *set)
{
	if (set == NULL)
		return;
	for (size_t i = 0; i < set->n; i++)
		instance_fini(&set->items[i]);
	free(set->items);
	free(set);
}

size_t auth_set_count(const struct auth_set *set)
{
	return set->n;
}

const struct auth_ops *auth_set_get(const struct auth_set *set, size_t i)
{
	return i < set->n ? set->items[i].ops : NULL;
}

enum ts_err auth_set_authenticate(const struct auth_set *set, uint8_t auth_type,
                                  const uint8_t *auth, size_t len, const struct auth_peer *peer,
                                  struct auth_identity *ret_id)
{
	const struct auth_instance *in;
	char *name = NULL;
	enum ts_err err;
	bool admin = false;

	if (auth_type == 0) {
		memset(ret_id, 0, sizeof(*ret_id));
		return TS_OK;
	}
	in = set_find(set, auth_type);
	if (in == NULL)
		return TS_E_AUTHENTICATOR_NOT_REGISTERED;
	err = in->ops->authenticate(in->ctx, auth, len, peer, &name);
	if (err != TS_OK)
		return err;
	for (size_t i = 0; i < in->n_admins && !admin; i++)
		admin = strcmp(in->admins[i], name) == 0;
	ret_id->auth_type = auth_type;
	ret_id->name = name;
	ret_id->is_admin = admin;
	return TS_OK;
}
