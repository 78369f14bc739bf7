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

enum ts_err core_ping(struct request *r, uint8_t **ret_body, size_t *ret_len)
{
	Ping__Result res = PING__RESULT__INIT;

	(void)r;
	res.wire_protocol_version_maj = WIRE_VERSION_MAJ;
	res.wire_protocol_version_min = WIRE_VERSION_MIN;
	return wire_pack(&res.base, ret_body, ret_len);
}

enum ts_err core_list_providers(struct request *r, uint8_t **ret_body, size_t *ret_len)
{
	const ListProviders__Operation *op = (const ListProviders__Operation *)r->msg;
	const struct svc_providers *provs = r->st->provs;
	ListProviders__Result res = LIST_PROVIDERS__RESULT__INIT;
	ListProviders__ProviderInfo *infos, **ptrs;
	size_t k = 0;
	uint32_t v[3];
	enum ts_err err = TS_E_NOMEM;

	infos = calloc(provs->n + 1, sizeof(*infos));
	ptrs = calloc(provs->n + 1, sizeof(*ptrs));
	if (infos == NULL || ptrs == NULL)
		goto out;
	/* Configured providers in config order (clients take the first as their
	 * default), the core last, as Parsec lists them. Parsec clients reject
	 * the whole list for one ID they do not know: extension instances are
	 * listed only on request. */
	for (size_t i = 0; i < provs->n; i++) {
		const struct svc_provider *p = &provs->v[i];

		if (p->extension && !op->include_extensions)
			continue;
		list_providers__provider_info__init(&infos[k]);
		infos[k].uuid = (char *)p->ops->uuid;
		infos[k].description = (char *)p->ops->description;
		infos[k].vendor = (char *)p->ops->vendor;
		infos[k].version_maj = p->ops->version_maj;
		infos[k].version_min = p->ops->version_min;
		infos[k].version_rev = p->ops->version_rev;
		infos[k].id = p->wire_id;
		infos[k].name = p->name;
		ptrs[k] = &infos[k];
		k++;
	}
	ts_version(v);
	list_providers__provider_info__init(&infos[k]);
	infos[k].uuid = WIRE_CORE_PROVIDER_UUID;
	infos[k].description = "Tessera core: administrative operations, no cryptography";
	infos[k].vendor = "";
	infos[k].version_maj = v[0];
	infos[k].version_min = v[1];
	infos[k].version_rev = v[2];
	infos[k].id = WIRE_PROVIDER_CORE;
	ptrs[k] = &infos[k];
	res.n_providers = k + 1;
	res.providers = ptrs;
	err = wire_pack(&res.base, ret_body, ret_len);
out:
	free(ptrs);
	free(infos);
	return err;
}

enum ts_err core_list_opcodes(struct request *r, uint8_t **ret_body, size_t *ret_len)
{
	const ListOpcodes__Operation *op = (const ListOpcodes__Operation *)r->msg;
	ListOpcodes__Result res = LIST_OPCODES__RESULT__INIT;
	/* Parsec narrows the requested ID to a byte; do the same. */
	uint8_t id = (uint8_t)op->provider_id;
	const struct svc_provider *p = NULL;
	const struct wire_opcode_info *table;
	uint32_t *codes;
	size_t n, k = 0;
	enum ts_err err;

	if (id != WIRE_PROVIDER_CORE) {
		p = svc_providers_by_wire_id(r->st->provs, id);
		if (p == NULL)
			return id > WIRE_PROVIDER_ID_MAX ? TS_E_PROVIDER_DOES_NOT_EXIST
			                                 : TS_E_PROVIDER_NOT_REGISTERED;
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
		              : (o->cls == WIRE_CLASS_CRYPTO && op_served(op_find(o->opcode), p)))
			codes[k++] = o->opcode;
	}
	res.n_opcodes = k;
	res.opcodes = codes;
	err = wire_pack(&res.base, ret_body, ret_len);
	free(codes);
	return err;
}

enum ts_err core_list_authenticators(struct request *r, uint8_t **ret_body, size_t *ret_len)
{
	const struct auth_set *set = r->st->auth;
	size_t n = auth_set_count(set);
	ListAuthenticators__Result res = LIST_AUTHENTICATORS__RESULT__INIT;
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
	res.n_authenticators = n;
	res.authenticators = ptrs;
	err = wire_pack(&res.base, ret_body, ret_len);
out:
	free(ptrs);
	free(infos);
	return err;
}

/* ---- ListKeys, ListClients, DeleteClient: the key store's view ---- */

struct key_list {
	const struct svc_providers *provs;
	bool extensions; /* list keys of extension instances too */
	struct ks *ks;   /* the tenant listed, for reporting a damaged record */
	uint8_t auth_type;
	const char *app;
	bool all; /* damaged records too, with NULL attributes (not packed) */
	ListKeys__KeyInfo **items;
	size_t n, cap;
	enum ts_err err;
};

static int add_key(void *ctx, const char *name, const char *provider, const uint8_t *attrs,
                   size_t attrs_len)
{
	struct key_list *l = ctx;
	const struct svc_provider *p = svc_providers_by_name(l->provs, provider);
	PsaKeyAttributes__KeyAttributes *attributes;
	ListKeys__KeyInfo *ki;

	/* Keys of instances no longer configured are not listed; those of
	 * extension instances only on request (Parsec clients reject the
	 * whole list for an ID they do not know). */
	if (p == NULL || (p->extension && !l->extensions))
		return 0;
	/* A connection's volatile keys are its own, never listed (DeleteClient,
	 * which lists all, destroys them too). */
	if (!l->all && session_name_is_volatile(name))
		return 0;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		ListKeys__KeyInfo **grown = realloc(l->items, cap * sizeof(*grown));

		if (grown == NULL)
			goto nomem;
		l->items = grown;
		l->cap = cap;
	}
	/* Stored attributes are the packed KeyAttributes message itself. */
	attributes = psa_key_attributes__key_attributes__unpack(NULL, attrs_len, attrs);
	if (attributes == NULL && !l->all) {
		/* A damaged record (the store checks its pages at start, not each
		 * record's bytes): reported once and left out, and the tenant's
		 * other keys are listed. */
		const struct ks_key_id kid = {
		        .auth_type = l->auth_type, .app = l->app, .name = name};

		key_report_damaged(l->ks, &kid, provider);
		return 0;
	}
	ki = malloc(sizeof(*ki));
	if (ki == NULL) {
		psa_key_attributes__key_attributes__free_unpacked(attributes, NULL);
		goto nomem;
	}
	list_keys__key_info__init(ki);
	ki->provider_id = p->wire_id;
	ki->provider_name = p->name; /* lives as long as the process */
	ki->name = strdup(name);
	ki->attributes = attributes;
	l->items[l->n++] = ki;
	if (ki->name == NULL || (ki->attributes == NULL && !l->all))
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

enum ts_err core_list_keys(struct request *r, uint8_t **ret_body, size_t *ret_len)
{
	const ListKeys__Operation *op = (const ListKeys__Operation *)r->msg;
	ListKeys__Result res = LIST_KEYS__RESULT__INIT;
	struct key_list l = {.provs = r->st->provs,
	                     .extensions = op->include_extensions,
	                     .ks = r->st->ks,
	                     .auth_type = r->id.auth_type,
	                     .app = r->id.name};
	enum ts_err err;

	if (r->st->ks == NULL)
		return TS_E_KEY_INFO_MANAGER_ERROR;
	err = ks_list(r->st->ks, r->id.auth_type, r->id.name, add_key, &l);
	if (err == TS_OK)
		err = l.err;
	if (err == TS_OK) {
		res.n_keys = l.n;
		res.keys = l.items;
		err = wire_pack(&res.base, ret_body, ret_len);
	}
	key_list_free(&l);
	return err;
}

/*
 * Client names across authenticators (docs/protocol.md, "Client names"). A
 * tenant of the admin's own authenticator is written as its application
 * name, as Parsec writes every name; a tenant of another authenticator as
 * "<Type>:<application>" with the authenticator's configuration type
 * ("Jwt:spiffe://example.org/app"), and so is an own name that would
 * otherwise read as one of those. ListClients writes them so and
 * DeleteClient reads them so: one view, one name per tenant.
 */
static const struct {
	uint8_t auth_type;
	const char *prefix;
} client_prefixes[] = {
        {WIRE_AUTH_DIRECT, "Direct:"},
        {WIRE_AUTH_JWT, "Jwt:"},
        {WIRE_AUTH_UNIX_PEER, "UnixPeerCredentials:"},
        {WIRE_AUTH_JWT_SVID, "JwtSvid:"},
};

/* The auth type a qualified name names, 0 when it is not qualified; *rest
 * is the application part. */
static uint8_t client_qualifier(const char *name, const char **rest)
{
	for (size_t i = 0; i < TS_ARRAY_LEN(client_prefixes); i++) {
		size_t n = strlen(client_prefixes[i].prefix);

		if (strncmp(name, client_prefixes[i].prefix, n) == 0) {
			*rest = name + n;
			return client_prefixes[i].auth_type;
		}
	}
	*rest = name;
	return 0;
}

struct name_list {
	char **names;
	size_t n, cap;
	enum ts_err err;
	uint8_t own_auth;
};

static int add_name(void *ctx, uint8_t auth_type, const char *app)
{
	struct name_list *l = ctx;
	const char *rest, *prefix = NULL;
	char *name;

	if (auth_type != l->own_auth || client_qualifier(app, &rest) != 0) {
		for (size_t i = 0; i < TS_ARRAY_LEN(client_prefixes); i++)
			if (client_prefixes[i].auth_type == auth_type)
				prefix = client_prefixes[i].prefix;
		if (prefix == NULL)
			return 0; /* not an auth type with tenants */
	}
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
	if (prefix == NULL)
		name = strdup(app);
	else if (asprintf(&name, "%s%s", prefix, app) < 0)
		name = NULL;
	if (name == NULL) {
		l->err = TS_E_NOMEM;
		return 1;
	}
	l->names[l->n++] = name;
	return 0;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void name_list_free(struct name_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->names[i]);
	free(l->names);
}

enum ts_err core_list_clients(struct request *r, uint8_t **ret_body, size_t *ret_len)
{
	ListClients__Result res = LIST_CLIENTS__RESULT__INIT;
	struct name_list l = {.own_auth = r->id.auth_type};
	enum ts_err err;

	if (r->st->ks == NULL)
		return TS_E_KEY_INFO_MANAGER_ERROR;
	/* Every authenticator's tenants, sorted as written. */
	err = ks_list_clients(r->st->ks, add_name, &l);
	if (err == TS_OK)
		err = l.err;
	if (err == TS_OK) {
		if (l.n > 1)
			qsort(l.names, l.n, sizeof(*l.names), cmp_names);
		res.n_clients = l.n;
		res.clients = l.names;
		err = wire_pack(&res.base, ret_body, ret_len);
	}
	name_list_free(&l);
	return err;
}

enum ts_err core_delete_client(struct request *r, uint8_t **ret_body, size_t *ret_len)
{
	const DeleteClient__Operation *op = (const DeleteClient__Operation *)r->msg;
	DeleteClient__Result res = DELETE_CLIENT__RESULT__INIT;
	struct key_list l = {.provs = r->st->provs, .extensions = true, .all = true};
	const char *app;
	uint8_t auth_type;
	enum ts_err err;

	if (r->st->ks == NULL)
		return TS_E_KEY_INFO_MANAGER_ERROR;
	if (op->client == NULL || op->client[0] == '\0')
		return TS_E_INVALID_ENCODING;
	/* The name as ListClients writes it. Keys go one by one, best effort:
	 * a name that matches no tenant is not an error (Parsec answers
	 * Success too). */
	auth_type = client_qualifier(op->client, &app);
	if (auth_type == 0)
		auth_type = r->id.auth_type;
	err = ks_list(r->st->ks, auth_type, app, add_key, &l);
	if (err == TS_OK)
		err = l.err;
	for (size_t i = 0; err == TS_OK && i < l.n; i++) {
		const struct svc_provider *p =
		        svc_providers_by_name(r->st->provs, l.items[i]->provider_name);

		if (p != NULL)
			(void)key_destroy(r->st, p, auth_type, app, l.items[i]->name);
	}
	key_list_free(&l);
	if (err != TS_OK)
		return err;
	return wire_pack(&res.base, ret_body, ret_len);
}

/*
 * ShareTrustBundle (a Tessera extension): the idp hands over its root, once,
 * then each new intermediate. Who may share is checked against the socket's
 * peer credentials, not against an authenticator: the sharer is a service,
 * not a tenant.
 */
enum ts_err core_share_trust_bundle(struct request *r, uint8_t **ret_body, size_t *ret_len)
{
	const ShareTrustBundle__Operation *op = (const ShareTrustBundle__Operation *)r->msg;

	(void)ret_body;
	(void)ret_len;
	if (r->st->trust == NULL)
		return TS_E_PSA_NOT_PERMITTED;
	return trust_store_share(r->st->trust, r->peer, op->certificate.data, op->certificate.len,
	                         op->root);
}
