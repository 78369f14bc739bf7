/* Core operations: Parsec's "core provider", ID 0. */
#include "daemon/daemon-priv.h"

#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "keystore/keystore.h"

#include "delete_client.pb-c.h"
#include "list_authenticators.pb-c.h"
#include "list_clients.pb-c.h"
#include "list_keys.pb-c.h"
#include "list_opcodes.pb-c.h"
#include "list_providers.pb-c.h"
#include "ping.pb-c.h"
#include "share_trust_bundle.pb-c.h"
#include "psa_key_attributes.pb-c.h"

enum ts_err core_ping(const struct core_ctx *c, uint8_t **ret_body, size_t *ret_len)
{
	Ping__Result r = PING__RESULT__INIT;

	(void)c;
	r.wire_protocol_version_maj = WIRE_VERSION_MAJ;
	r.wire_protocol_version_min = WIRE_VERSION_MIN;
	return wire_pack(&r.base, ret_body, ret_len);
}

enum ts_err core_list_providers(const struct core_ctx *c, uint8_t **ret_body, size_t *ret_len)
{
	const struct svc_state *st = c->st;
	size_t n = st->n_providers + 1;
	ListProviders__Result r = LIST_PROVIDERS__RESULT__INIT;
	ListProviders__ProviderInfo *infos, **ptrs;
	uint32_t v[3];
	enum ts_err err = TS_E_NOMEM;

	infos = calloc(n, sizeof(*infos));
	ptrs = calloc(n, sizeof(*ptrs));
	if (infos == NULL || ptrs == NULL)
		goto out;
	/* Configured providers in config order (clients take the first as their
	 * default), the core last, as Parsec lists them. */
	for (size_t i = 0; i < st->n_providers; i++) {
		const struct prov_ops *ops = st->providers[i].ops;

		list_providers__provider_info__init(&infos[i]);
		infos[i].uuid = (char *)ops->uuid;
		infos[i].description = (char *)ops->description;
		infos[i].vendor = (char *)ops->vendor;
		infos[i].version_maj = ops->version_maj;
		infos[i].version_min = ops->version_min;
		infos[i].version_rev = ops->version_rev;
		infos[i].id = ops->id;
		ptrs[i] = &infos[i];
	}
	ts_version(v);
	list_providers__provider_info__init(&infos[n - 1]);
	infos[n - 1].uuid = WIRE_CORE_PROVIDER_UUID;
	infos[n - 1].description = "Tessera core: administrative operations, no cryptography";
	infos[n - 1].vendor = "";
	infos[n - 1].version_maj = v[0];
	infos[n - 1].version_min = v[1];
	infos[n - 1].version_rev = v[2];
	infos[n - 1].id = WIRE_PROVIDER_CORE;
	ptrs[n - 1] = &infos[n - 1];
	r.n_providers = n;
	r.providers = ptrs;
	err = wire_pack(&r.base, ret_body, ret_len);
out:
	free(ptrs);
	free(infos);
	return err;
}

enum ts_err core_list_opcodes(const struct core_ctx *c, uint8_t **ret_body, size_t *ret_len)
{
	const ListOpcodes__Operation *op = (const ListOpcodes__Operation *)c->msg;
	ListOpcodes__Result r = LIST_OPCODES__RESULT__INIT;
	/* Parsec narrows the requested ID to a byte; do the same. */
	uint8_t id = (uint8_t)op->provider_id;
	const struct svc_provider *p = NULL;
	const struct wire_opcode_info *table;
	uint32_t *codes;
	size_t n, k = 0;
	enum ts_err err;

	if (id > WIRE_PROVIDER_ID_MAX)
		return TS_E_PROVIDER_DOES_NOT_EXIST;
	if (id != WIRE_PROVIDER_CORE) {
		p = svc_state_provider(c->st, id);
		if (p == NULL)
			return TS_E_PROVIDER_NOT_REGISTERED;
	}
	table = wire_opcode_table(&n);
	codes = calloc(n, sizeof(*codes));
	if (codes == NULL)
		return TS_E_NOMEM;
	for (size_t i = 0; i < n; i++) {
		const struct wire_opcode_info *o = &table[i];

		/* Parsec clients reject the whole list if one value is unknown
		 * to them, so extensions are listed only on request. */
		if (o->idp_only || (!o->parsec_listed && !op->include_extensions))
			continue;
		if (p == NULL ? o->cls == WIRE_CLASS_CORE
		              : (o->cls == WIRE_CLASS_CRYPTO && prov_supports(p->ops, o->opcode)))
			codes[k++] = o->opcode;
	}
	r.n_opcodes = k;
	r.opcodes = codes;
	err = wire_pack(&r.base, ret_body, ret_len);
	free(codes);
	return err;
}

enum ts_err core_list_authenticators(const struct core_ctx *c, uint8_t **ret_body, size_t *ret_len)
{
	const struct auth_set *set = c->st->auth;
	size_t n = auth_set_count(set);
	ListAuthenticators__Result r = LIST_AUTHENTICATORS__RESULT__INIT;
	ListAuthenticators__AuthenticatorInfo *infos, **ptrs;
	uint32_t v[3];
	enum ts_err err = TS_E_NOMEM;

	infos = calloc(n ? n : 1, sizeof(*infos));
	ptrs = calloc(n ? n : 1, sizeof(*ptrs));
	if (infos == NULL || ptrs == NULL)
		goto out;
	ts_version(v);
	for (size_t i = 0; i < n; i++) {
		const struct auth_ops *a = auth_set_get(set, i);

		list_authenticators__authenticator_info__init(&infos[i]);
		infos[i].description = (char *)a->description;
		infos[i].version_maj = v[0];
		infos[i].version_min = v[1];
		infos[i].version_rev = v[2];
		infos[i].id = a->auth_type;
		ptrs[i] = &infos[i];
	}
	r.n_authenticators = n;
	r.authenticators = ptrs;
	err = wire_pack(&r.base, ret_body, ret_len);
out:
	free(ptrs);
	free(infos);
	return err;
}

/* ---- ListKeys, ListClients, DeleteClient: the key store's view ---- */

struct key_list {
	ListKeys__KeyInfo **items;
	size_t n, cap;
	enum ts_err err;
};

static int add_key(void *ctx, const char *name, uint8_t provider, const uint8_t *attrs,
                   size_t attrs_len)
{
	struct key_list *l = ctx;
	ListKeys__KeyInfo *ki;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		ListKeys__KeyInfo **grown = realloc(l->items, cap * sizeof(*grown));

		if (grown == NULL)
			goto nomem;
		l->items = grown;
		l->cap = cap;
	}
	ki = malloc(sizeof(*ki));
	if (ki == NULL)
		goto nomem;
	list_keys__key_info__init(ki);
	ki->provider_id = provider;
	ki->name = strdup(name);
	/* Stored attributes are the packed KeyAttributes message itself. */
	ki->attributes = psa_key_attributes__key_attributes__unpack(NULL, attrs_len, attrs);
	l->items[l->n++] = ki;
	if (ki->name == NULL || ki->attributes == NULL)
		goto nomem;
	return 0;
nomem:
	l->err = TS_E_NOMEM;
	return 1;
}

static void key_list_free(struct key_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->items[i]->name);
		psa_key_attributes__key_attributes__free_unpacked(l->items[i]->attributes, NULL);
		free(l->items[i]);
	}
	free(l->items);
}

enum ts_err core_list_keys(const struct core_ctx *c, uint8_t **ret_body, size_t *ret_len)
{
	ListKeys__Result r = LIST_KEYS__RESULT__INIT;
	struct key_list l = {0};
	enum ts_err err;

	if (c->st->ks == NULL)
		return TS_E_KEY_INFO_MANAGER_ERROR;
	err = ks_list(c->st->ks, c->id->auth_type, c->id->name, add_key, &l);
	if (err == TS_OK)
		err = l.err;
	if (err == TS_OK) {
		/* Keys of providers no longer configured are not listed. */
		ListKeys__KeyInfo **shown = calloc(l.n ? l.n : 1, sizeof(*shown));
		size_t k = 0;

		if (shown == NULL) {
			err = TS_E_NOMEM;
		} else {
			for (size_t i = 0; i < l.n; i++)
				if (svc_state_provider(c->st, (uint8_t)l.items[i]->provider_id))
					shown[k++] = l.items[i];
			r.n_keys = k;
			r.keys = shown;
			err = wire_pack(&r.base, ret_body, ret_len);
			free(shown);
		}
	}
	key_list_free(&l);
	return err;
}

struct name_list {
	char **names;
	size_t n, cap;
	enum ts_err err;
};

static int add_name(void *ctx, const char *name)
{
	struct name_list *l = ctx;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		char **grown = realloc(l->names, cap * sizeof(*grown));

		if (grown == NULL) {
			l->err = TS_E_NOMEM;
			return 1;
		}
		l->names = grown;
		l->cap = cap;
	}
	l->names[l->n] = strdup(name);
	if (l->names[l->n] == NULL) {
		l->err = TS_E_NOMEM;
		return 1;
	}
	l->n++;
	return 0;
}

static void name_list_free(struct name_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->names[i]);
	free(l->names);
}

enum ts_err core_list_clients(const struct core_ctx *c, uint8_t **ret_body, size_t *ret_len)
{
	ListClients__Result r = LIST_CLIENTS__RESULT__INIT;
	struct name_list l = {0};
	enum ts_err err;

	if (c->st->ks == NULL)
		return TS_E_KEY_INFO_MANAGER_ERROR;
	/* Names from every authenticator, sorted and unique, as Parsec does. */
	err = ks_list_clients(c->st->ks, add_name, &l);
	if (err == TS_OK)
		err = l.err;
	if (err == TS_OK) {
		r.n_clients = l.n;
		r.clients = l.names;
		err = wire_pack(&r.base, ret_body, ret_len);
	}
	name_list_free(&l);
	return err;
}

enum ts_err core_delete_client(const struct core_ctx *c, uint8_t **ret_body, size_t *ret_len)
{
	const DeleteClient__Operation *op = (const DeleteClient__Operation *)c->msg;
	DeleteClient__Result r = DELETE_CLIENT__RESULT__INIT;
	struct key_list l = {0};
	enum ts_err err;

	if (c->st->ks == NULL)
		return TS_E_KEY_INFO_MANAGER_ERROR;
	if (op->client == NULL || op->client[0] == '\0')
		return TS_E_INVALID_ENCODING;
	/* The client is looked up under the admin's own authenticator. Keys go
	 * one by one, best effort: a client without keys is not an error. */
	err = ks_list(c->st->ks, c->id->auth_type, op->client, add_key, &l);
	if (err == TS_OK)
		err = l.err;
	for (size_t i = 0; err == TS_OK && i < l.n; i++) {
		const struct svc_provider *p =
		        svc_state_provider(c->st, (uint8_t)l.items[i]->provider_id);

		if (p == NULL)
			continue;
		(void)key_destroy(c->st, p, c->id->auth_type, op->client, l.items[i]->name);
	}
	key_list_free(&l);
	if (err != TS_OK)
		return err;
	return wire_pack(&r.base, ret_body, ret_len);
}

/*
 * ShareTrustBundle (a Tessera extension): the idp hands over its root, once,
 * then each new intermediate. Who may share is checked against the socket's
 * peer credentials, not against an authenticator: the sharer is a service,
 * not a tenant.
 */
enum ts_err core_share_trust_bundle(const struct core_ctx *c, uint8_t **ret_body, size_t *ret_len)
{
	const ShareTrustBundle__Operation *op = (const ShareTrustBundle__Operation *)c->msg;

	(void)ret_body;
	(void)ret_len;
	if (c->st->trust == NULL)
		return TS_E_PSA_NOT_PERMITTED;
	return trust_store_share(c->st->trust, c->peer, op->certificate.data, op->certificate.len,
	                         op->root);
}
