/* libtessera-psa: the process's client, status mapping, providers and key table. */
#include "client/psa/psa-priv.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "client/client-priv.h"
#include "client/tessera.h"
#include "wire/wire.h"

#include "list_keys.pb-c.h"
#include "psa_get_key_attributes.pb-c.h"
#include "client/psa/pbmap.h"

#define MAX_PROVIDERS 64

static struct {
	pthread_mutex_t mu;
	struct tessera_client *c;
	/* ListProviders, without the core, in its order (read once). */
	bool have_providers;
	uint8_t providers[MAX_PROVIDERS];
	bool software[MAX_PROVIDERS];
	char *names[MAX_PROVIDERS];
	size_t n_providers;
	/* ListOpcodes per provider ID, read when first needed. */
	uint32_t *opcodes[256];
	size_t n_opcodes[256];
	bool have_opcodes[256];
	struct tpsa_key *keys;
	size_t n_keys, cap_keys;
	psa_key_id_t next_volatile;
	/* $TESSERA_PSA_PROVIDER as it was when the client was made (read once:
	 * a later setenv changes nothing, and getenv races with it). */
	char *provider_env;
	/* Added to the client's connection count: a forked child starts past
	 * every generation its parent used, so an object it inherited never
	 * matches a connection of its own (whose handles restart at 1). */
	uint64_t gen_base;
} g = {.mu = PTHREAD_MUTEX_INITIALIZER};

/* The client's options from the environment (docs/psa-api.md). */
static psa_status_t open_client(void)
{
	struct tessera_options o;
	const char *auth = getenv("TESSERA_AUTH"), *t = getenv("TESSERA_TIMEOUT_MS"), *env;
	int rc;

	tessera_options_init(&o);
	env = getenv("TESSERA_PSA_PROVIDER");
	free(g.provider_env);
	g.provider_env = env != NULL ? strdup(env) : NULL;
	o.endpoint = getenv("TESSERA_ENDPOINT");
	if (o.endpoint != NULL && o.endpoint[0] == '\0')
		o.endpoint = NULL;
	if (auth == NULL || auth[0] == '\0') {
		const char *f = getenv("TESSERA_JWT_SVID_FILE"), *s = getenv("TESSERA_JWT_SVID");

		if ((f != NULL && f[0] != '\0') || (s != NULL && s[0] != '\0'))
			o.auth_type = TESSERA_AUTH_JWT_SVID;
	} else if (strcmp(auth, "none") == 0) {
		o.auth_type = TESSERA_AUTH_NONE;
	} else if (strcmp(auth, "direct") == 0) {
		o.auth_type = TESSERA_AUTH_DIRECT;
		o.app_name = getenv("TESSERA_APP_NAME");
	} else if (strcmp(auth, "unix-peer") == 0) {
		o.auth_type = TESSERA_AUTH_UNIX_PEER;
	} else if (strcmp(auth, "jwt") == 0) {
		o.auth_type = TESSERA_AUTH_JWT;
	} else if (strcmp(auth, "jwt-svid") == 0) {
		o.auth_type = TESSERA_AUTH_JWT_SVID;
	} else {
		return PSA_ERROR_COMMUNICATION_FAILURE;
	}
	if (t != NULL && t[0] != '\0') {
		char *end;
		unsigned long v = strtoul(t, &end, 10);

		if (*end == '\0' && v > 0 && v <= 3600000)
			o.timeout_ms = (unsigned)v;
	}
	o.persistent = 1;
	rc = tessera_open(&o, &g.c);
	if (rc == TESSERA_ERR_NOMEM)
		return PSA_ERROR_INSUFFICIENT_MEMORY;
	return rc == TESSERA_OK ? PSA_SUCCESS : PSA_ERROR_COMMUNICATION_FAILURE;
}

/*
 * fork(): the child must not share the parent's connection (two processes
 * on one stream) nor its keys and operations, which belong to the parent's
 * connection. It starts afresh, from the environment, at its next call.
 */
static void before_fork(void)
{
	pthread_mutex_lock(&g.mu);
}

static void after_fork_parent(void)
{
	pthread_mutex_unlock(&g.mu);
}

static void after_fork_child(void)
{
	g.gen_base += tessera_connection_generation(g.c) + 1;
	tessera_close(g.c); /* closes only the child's copy of the socket */
	g.c = NULL;
	for (size_t i = 0; i < g.n_providers; i++)
		free(g.names[i]);
	g.n_providers = 0;
	g.have_providers = false;
	for (size_t i = 0; i < 256; i++) {
		free(g.opcodes[i]);
		g.opcodes[i] = NULL;
		g.have_opcodes[i] = false;
	}
	free(g.keys);
	g.keys = NULL;
	g.n_keys = g.cap_keys = 0;
	pthread_mutex_init(&g.mu, NULL);
}

static void register_fork(void)
{
	pthread_atfork(before_fork, after_fork_parent, after_fork_child);
}

psa_status_t tpsa_enter(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, register_fork);
	pthread_mutex_lock(&g.mu);
	if (g.c == NULL)
		return open_client();
	return PSA_SUCCESS;
}

void tpsa_leave(void)
{
	pthread_mutex_unlock(&g.mu);
}

struct tessera_client *tpsa_client(void)
{
	return g.c;
}

uint64_t tpsa_generation(void)
{
	return g.gen_base + tessera_connection_generation(g.c);
}

psa_status_t tpsa_status(int rc)
{
	if (rc == TESSERA_OK)
		return PSA_SUCCESS;
	if (rc > 1000 && rc < 1000 + 256)
		return (psa_status_t)(1000 - rc);
	/* OpcodeDoesNotExist; DeprecatedPrimitive (DES, ARC4, MD5, SHA-1 keys the
	 * daemon refuses to make) */
	if (rc == 9 || rc == 22)
		return PSA_ERROR_NOT_SUPPORTED;
	if (rc == TESSERA_ERR_NOMEM)
		return PSA_ERROR_INSUFFICIENT_MEMORY;
	return PSA_ERROR_COMMUNICATION_FAILURE;
}

psa_status_t tpsa_key_status(int rc)
{
	psa_status_t st = tpsa_status(rc);

	return st == PSA_ERROR_DOES_NOT_EXIST ? PSA_ERROR_INVALID_HANDLE : st;
}

int tpsa_call(uint8_t provider, uint32_t opcode, const ProtobufCMessage *op,
              const ProtobufCMessageDescriptor *desc, ProtobufCMessage **ret_result)
{
	return tessera_call(g.c, provider, opcode, op, desc, ret_result);
}

static psa_status_t load_providers(void);

psa_status_t psa_crypto_init(void)
{
	psa_status_t st = tpsa_enter();

	/* Connects, and reads the providers once (a TESSERA_PSA_PROVIDER that
	 * names none is reported by the calls that need it). */
	if (st == PSA_SUCCESS)
		st = load_providers();
	tpsa_leave();
	return st;
}

static psa_status_t load_providers(void)
{
	struct tessera_provider_info *p;
	const char *sw_uuid = NULL;
	size_t n;
	int rc;

	if (g.have_providers)
		return PSA_SUCCESS;
	rc = tessera_list_providers(g.c, &p, &n);
	if (rc != TESSERA_OK)
		return tpsa_status(rc);
	for (size_t i = 0; i < n; i++)
		if (p[i].id == WIRE_PROVIDER_SOFTWARE)
			sw_uuid = p[i].uuid;
	g.n_providers = 0;
	for (size_t i = 0; i < n && g.n_providers < MAX_PROVIDERS; i++) {
		if (p[i].id == WIRE_PROVIDER_CORE || p[i].id > 255)
			continue;
		g.providers[g.n_providers] = (uint8_t)p[i].id;
		g.software[g.n_providers] = p[i].id == WIRE_PROVIDER_SOFTWARE ||
		                            (sw_uuid != NULL && strcmp(p[i].uuid, sw_uuid) == 0);
		g.names[g.n_providers] = strdup(p[i].name);
		g.n_providers++;
	}
	tessera_provider_info_free(p, n);
	g.have_providers = true;
	return PSA_SUCCESS;
}

bool tpsa_provider_has(uint8_t provider, uint32_t opcode)
{
	if (!g.have_opcodes[provider]) {
		uint32_t *ops;
		size_t n;

		if (tessera_list_opcodes(g.c, provider, &ops, &n) != TESSERA_OK)
			return false; /* asked again next time */
		g.opcodes[provider] = ops;
		g.n_opcodes[provider] = n;
		g.have_opcodes[provider] = true;
	}
	for (size_t i = 0; i < g.n_opcodes[provider]; i++)
		if (g.opcodes[provider][i] == opcode)
			return true;
	return false;
}

/* A provider type's name as the configuration spells it. */
static int type_id(const char *s)
{
	static const struct {
		const char *name;
		int id;
	} types[] = {
	        {"software", WIRE_PROVIDER_SOFTWARE},
	        {"pkcs11", WIRE_PROVIDER_PKCS11},
	        {"tpm", WIRE_PROVIDER_TPM},
	        {"trusted-service", WIRE_PROVIDER_TRUSTED_SERVICE},
	        {"trustedservice", WIRE_PROVIDER_TRUSTED_SERVICE},
	};

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strcasecmp(s, types[i].name) == 0)
			return types[i].id;
	return -1;
}

static bool provider_listed(uint8_t id)
{
	for (size_t i = 0; i < g.n_providers; i++)
		if (g.providers[i] == id)
			return true;
	return false;
}

psa_status_t tpsa_default_provider(uint8_t *ret)
{
	psa_status_t st = load_providers();
	const char *env = g.provider_env;

	if (st != PSA_SUCCESS)
		return st;
	if (env != NULL && env[0] != '\0') {
		char *end;
		unsigned long v = strtoul(env, &end, 10);
		int t;

		if (*end == '\0' && v >= 1 && v <= 255 && provider_listed((uint8_t)v)) {
			*ret = (uint8_t)v;
			return PSA_SUCCESS;
		}
		for (size_t i = 0; i < g.n_providers; i++)
			if (g.names[i] != NULL && strcmp(g.names[i], env) == 0) {
				*ret = g.providers[i];
				return PSA_SUCCESS;
			}
		t = type_id(env);
		if (t > 0 && provider_listed((uint8_t)t)) {
			*ret = (uint8_t)t;
			return PSA_SUCCESS;
		}
		return PSA_ERROR_NOT_SUPPORTED;
	}
	if (g.n_providers == 0)
		return PSA_ERROR_NOT_SUPPORTED;
	*ret = g.providers[0];
	return PSA_SUCCESS;
}

psa_status_t tpsa_location_provider(psa_key_location_t loc, uint8_t *ret)
{
	psa_status_t st = load_providers();

	if (st != PSA_SUCCESS)
		return st;
	if (loc == PSA_KEY_LOCATION_LOCAL_STORAGE)
		return tpsa_default_provider(ret);
	if (loc == PSA_KEY_LOCATION_PRIMARY_SECURE_ELEMENT) {
		for (size_t i = 0; i < g.n_providers; i++)
			if (!g.software[i]) {
				*ret = g.providers[i];
				return PSA_SUCCESS;
			}
		return PSA_ERROR_NOT_SUPPORTED;
	}
	if ((loc & 0x800000u) != 0 && (loc & ~0x800000u) <= 255 &&
	    provider_listed((uint8_t)(loc & 0xffu))) {
		*ret = (uint8_t)(loc & 0xffu);
		return PSA_SUCCESS;
	}
	return PSA_ERROR_NOT_SUPPORTED;
}

/* The location a key found on provider p reports. */
static psa_key_location_t provider_location(uint8_t p)
{
	uint8_t d;

	if (tpsa_default_provider(&d) == PSA_SUCCESS && d == p)
		return PSA_KEY_LOCATION_LOCAL_STORAGE;
	for (size_t i = 0; i < g.n_providers; i++)
		if (!g.software[i])
			return g.providers[i] == p ? PSA_KEY_LOCATION_PRIMARY_SECURE_ELEMENT
			                           : (psa_key_location_t)(0x800000u | p);
	return (psa_key_location_t)(0x800000u | p);
}

void tpsa_key_name(psa_key_id_t id, bool is_volatile, char *buf)
{
	snprintf(buf, TPSA_NAME_MAX, is_volatile ? ".volatile/%u" : "psa-key-%u", (unsigned)id);
}

static struct tpsa_key *table_get(psa_key_id_t id)
{
	for (size_t i = 0; i < g.n_keys; i++)
		if (g.keys[i].id == id)
			return &g.keys[i];
	return NULL;
}

struct tpsa_key *tpsa_key_add(psa_key_id_t id, uint8_t provider, bool is_volatile,
                              psa_key_lifetime_t lifetime, const psa_key_attributes_t *attrs)
{
	struct tpsa_key *k = table_get(id);

	if (k == NULL) {
		if (g.n_keys == g.cap_keys) {
			size_t cap = g.cap_keys ? g.cap_keys * 2 : 16;
			struct tpsa_key *n = realloc(g.keys, cap * sizeof(*n));

			if (n == NULL)
				return NULL;
			g.keys = n;
			g.cap_keys = cap;
		}
		k = &g.keys[g.n_keys++];
	}
	memset(k, 0, sizeof(*k));
	k->id = id;
	k->provider = provider;
	k->is_volatile = is_volatile;
	k->lifetime = lifetime;
	k->generation = tpsa_generation();
	if (attrs != NULL) {
		k->attrs = *attrs;
		k->have_attrs = true;
		k->have_policy = true;
	}
	return k;
}

void tpsa_key_forget(psa_key_id_t id)
{
	for (size_t i = 0; i < g.n_keys; i++)
		if (g.keys[i].id == id) {
			g.keys[i] = g.keys[--g.n_keys];
			return;
		}
}

psa_key_id_t tpsa_volatile_id(void)
{
	if (g.next_volatile == 0)
		g.next_volatile = PSA_KEY_ID_VENDOR_MIN;
	if (g.next_volatile > PSA_KEY_ID_VENDOR_MAX)
		return 0;
	return g.next_volatile++;
}

/*
 * A daemon without PsaGetKeyAttributes (a Parsec service, or an older
 * tesserad): the key's entry in ListKeys. 1140 when it is not listed.
 */
static int list_attrs(uint8_t p, const char *name, psa_key_attributes_t *ret, psa_status_t *ret_st)
{
	ListKeys__Operation op = LIST_KEYS__OPERATION__INIT;
	ListKeys__Result *r = NULL;
	int rc;

	op.include_extensions = 1;
	rc = tpsa_call(WIRE_PROVIDER_CORE, WIRE_OP_LIST_KEYS, &op.base,
	               &list_keys__result__descriptor, (ProtobufCMessage **)&r);
	*ret_st = tpsa_status(rc);
	if (rc != TESSERA_OK)
		return rc;
	rc = 1140;
	*ret_st = PSA_ERROR_DOES_NOT_EXIST;
	for (size_t i = 0; i < r->n_keys; i++) {
		const ListKeys__KeyInfo *k = r->keys[i];

		if (k->provider_id != p || k->name == NULL || strcmp(k->name, name) != 0)
			continue;
		*ret = psa_key_attributes_init();
		*ret_st = k->attributes != NULL ? tpsa_attrs_from_pb(k->attributes, ret)
		                                : PSA_ERROR_COMMUNICATION_FAILURE;
		rc = TESSERA_OK;
		break;
	}
	list_keys__result__free_unpacked(r, NULL);
	return rc;
}

/* PsaGetKeyAttributes of name on provider p into *ret (type, bits, usage, alg). */
static int fetch_attrs(uint8_t p, const char *name, psa_key_attributes_t *ret, psa_status_t *ret_st)
{
	PsaGetKeyAttributes__Operation op = PSA_GET_KEY_ATTRIBUTES__OPERATION__INIT;
	PsaGetKeyAttributes__Result *r = NULL;
	int rc;

	if (!tpsa_provider_has(p, WIRE_OP_PSA_GET_KEY_ATTRIBUTES))
		return list_attrs(p, name, ret, ret_st);
	op.key_name = (char *)name;
	rc = tpsa_call(p, WIRE_OP_PSA_GET_KEY_ATTRIBUTES, &op.base,
	               &psa_get_key_attributes__result__descriptor, (ProtobufCMessage **)&r);
	*ret_st = tpsa_status(rc);
	if (rc != TESSERA_OK)
		return rc;
	*ret = psa_key_attributes_init();
	if (r->attributes == NULL)
		*ret_st = PSA_ERROR_COMMUNICATION_FAILURE;
	else
		*ret_st = tpsa_attrs_from_pb(r->attributes, ret);
	psa_get_key_attributes__result__free_unpacked(r, NULL);
	return rc;
}

psa_status_t tpsa_key_find(psa_key_id_t id, struct tpsa_key **ret)
{
	struct tpsa_key *k = table_get(id);
	char name[TPSA_NAME_MAX];
	psa_status_t st;

	if (k != NULL) {
		if (k->is_volatile && k->generation != tpsa_generation())
			return PSA_ERROR_COMMUNICATION_FAILURE;
		*ret = k;
		return PSA_SUCCESS;
	}
	if (id < PSA_KEY_ID_USER_MIN || id > PSA_KEY_ID_USER_MAX)
		return PSA_ERROR_INVALID_HANDLE;
	st = load_providers();
	if (st != PSA_SUCCESS)
		return st;
	tpsa_key_name(id, false, name);
	for (size_t i = 0; i < g.n_providers; i++) {
		psa_key_attributes_t a;
		int rc = fetch_attrs(g.providers[i], name, &a, &st);

		if (rc == 1140) /* PsaErrorDoesNotExist: try the next */
			continue;
		if (st != PSA_SUCCESS)
			return st;
		k = tpsa_key_add(
		        id, g.providers[i], false,
		        PSA_KEY_LIFETIME_FROM_PERSISTENCE_AND_LOCATION(
		                PSA_KEY_PERSISTENCE_DEFAULT, provider_location(g.providers[i])),
		        &a);
		if (k == NULL)
			return PSA_ERROR_INSUFFICIENT_MEMORY;
		*ret = k;
		return PSA_SUCCESS;
	}
	return PSA_ERROR_INVALID_HANDLE;
}

psa_status_t tpsa_key_call(struct tpsa_key *k, uint32_t opcode, const ProtobufCMessage *op,
                           const ProtobufCMessageDescriptor *desc, ProtobufCMessage **ret)
{
	int rc = tpsa_call(k->provider, opcode, op, desc, ret);
	psa_status_t st = tpsa_key_status(rc);

	if (k->is_volatile && k->generation != tpsa_generation()) {
		if (rc == TESSERA_OK && desc != NULL && *ret != NULL) {
			protobuf_c_message_free_unpacked(*ret, NULL);
			*ret = NULL;
		}
		return PSA_ERROR_COMMUNICATION_FAILURE;
	}
	if (st == PSA_ERROR_INVALID_HANDLE && !k->is_volatile)
		tpsa_key_forget(k->id);
	return st;
}

psa_status_t tpsa_key_attrs(struct tpsa_key *k)
{
	char name[TPSA_NAME_MAX];
	psa_key_attributes_t a;
	psa_status_t st;
	int rc;

	if (k->have_attrs)
		return PSA_SUCCESS;
	tpsa_key_name(k->id, k->is_volatile, name);
	rc = fetch_attrs(k->provider, name, &a, &st);
	if (k->is_volatile && k->generation != tpsa_generation())
		return PSA_ERROR_COMMUNICATION_FAILURE;
	if (rc == 1140)
		return PSA_ERROR_INVALID_HANDLE;
	if (st != PSA_SUCCESS)
		return st;
	k->attrs = a;
	k->have_attrs = k->have_policy = true;
	return PSA_SUCCESS;
}

psa_status_t tpsa_new_key_place(const psa_key_attributes_t *attrs, uint8_t *ret_provider,
                                bool *ret_volatile, psa_key_id_t *ret_id)
{
	psa_key_persistence_t pers = PSA_KEY_LIFETIME_GET_PERSISTENCE(attrs->lifetime);
	psa_status_t st;

	if (pers == PSA_KEY_PERSISTENCE_READ_ONLY)
		return PSA_ERROR_NOT_SUPPORTED;
	if (pers != PSA_KEY_PERSISTENCE_VOLATILE) {
		if (attrs->id >= PSA_KEY_ID_VENDOR_MIN && attrs->id <= PSA_KEY_ID_VENDOR_MAX)
			return PSA_ERROR_INVALID_ARGUMENT;
		if (attrs->id < PSA_KEY_ID_USER_MIN || attrs->id > PSA_KEY_ID_USER_MAX)
			return PSA_ERROR_INVALID_ARGUMENT;
	}
	st = tpsa_location_provider(PSA_KEY_LIFETIME_GET_LOCATION(attrs->lifetime), ret_provider);
	if (st != PSA_SUCCESS)
		return st;
	*ret_volatile = pers == PSA_KEY_PERSISTENCE_VOLATILE;
	/* Without connection sessions (a Parsec service, an older tesserad) a
	 * "volatile" key would outlive the process. */
	if (*ret_volatile && !tpsa_provider_has(*ret_provider, WIRE_OP_PSA_OP_SETUP))
		return PSA_ERROR_NOT_SUPPORTED;
	if (*ret_volatile) {
		*ret_id = tpsa_volatile_id();
		if (*ret_id == 0)
			return PSA_ERROR_INSUFFICIENT_MEMORY;
	} else {
		*ret_id = attrs->id;
	}
	return PSA_SUCCESS;
}

/* Does the key's policy algorithm permit alg (exactly, or as an any-hash signature policy)? */
bool tpsa_policy_permits(psa_algorithm_t policy, psa_algorithm_t alg)
{
	if (policy == alg)
		return true;
	return PSA_ALG_IS_SIGN_HASH(policy) && PSA_ALG_SIGN_GET_HASH(policy) == PSA_ALG_ANY_HASH &&
	       (policy & ~0xffu) == (alg & ~0xffu);
}

/* The status Mbed TLS gives for alg on a key of type t that the algorithm does not fit. */
static psa_status_t misfit(psa_key_type_t t, psa_algorithm_t alg, psa_key_usage_t need)
{
	if (PSA_ALG_IS_SIGN(alg)) {
		bool fits = PSA_KEY_TYPE_IS_RSA(t)
		                    ? PSA_ALG_IS_RSA_PKCS1V15_SIGN(alg) || PSA_ALG_IS_RSA_PSS(alg)
		            : PSA_KEY_TYPE_IS_ECC(t) ? PSA_ALG_IS_ECDSA(alg)
		                                     : false;

		if (need & (PSA_KEY_USAGE_SIGN_HASH | PSA_KEY_USAGE_SIGN_MESSAGE))
			return !PSA_KEY_TYPE_IS_KEY_PAIR(t) || !fits ? PSA_ERROR_INVALID_ARGUMENT
			                                             : PSA_SUCCESS;
		if (PSA_KEY_TYPE_IS_RSA(t) || PSA_KEY_TYPE_IS_ECC(t))
			return fits ? PSA_SUCCESS : PSA_ERROR_INVALID_ARGUMENT;
		return PSA_ERROR_NOT_SUPPORTED; /* verify with a key that verifies nothing */
	}
	if (PSA_ALG_IS_ASYMMETRIC_ENCRYPTION(alg)) {
		if (!PSA_KEY_TYPE_IS_ASYMMETRIC(t) ||
		    (need == PSA_KEY_USAGE_DECRYPT && !PSA_KEY_TYPE_IS_KEY_PAIR(t)))
			return PSA_ERROR_INVALID_ARGUMENT;
		return PSA_KEY_TYPE_IS_RSA(t) ? PSA_SUCCESS : PSA_ERROR_NOT_SUPPORTED;
	}
	if (PSA_ALG_IS_MAC(alg))
		return (PSA_ALG_IS_HMAC(alg) ? t == PSA_KEY_TYPE_HMAC
		                             : PSA_BLOCK_CIPHER_BLOCK_LENGTH(t) > 1)
		               ? PSA_SUCCESS
		               : PSA_ERROR_INVALID_ARGUMENT;
	if (PSA_ALG_IS_CIPHER(alg))
		return (PSA_ALG_IS_STREAM_CIPHER(alg) ? t == PSA_KEY_TYPE_CHACHA20
		                                      : PSA_BLOCK_CIPHER_BLOCK_LENGTH(t) > 1)
		               ? PSA_SUCCESS
		               : PSA_ERROR_INVALID_ARGUMENT;
	if (PSA_ALG_IS_RAW_KEY_AGREEMENT(alg))
		return (PSA_ALG_IS_ECDH(alg) ? PSA_KEY_TYPE_IS_ECC_KEY_PAIR(t)
		                             : PSA_KEY_TYPE_IS_DH(t) && PSA_KEY_TYPE_IS_KEY_PAIR(t))
		               ? PSA_SUCCESS
		               : PSA_ERROR_INVALID_ARGUMENT;
	return PSA_SUCCESS;
}

psa_status_t tpsa_refine_not_permitted(struct tpsa_key *k, psa_algorithm_t alg,
                                       psa_key_usage_t need, psa_status_t st)
{
	psa_status_t fit;

	/* The daemon answers NotPermitted for a key of the wrong type, as Parsec
	 * does; the specification (and Mbed TLS) answer that only for the policy.
	 * When the policy allows the use, the refusal was the type's. */
	if (st != PSA_ERROR_NOT_PERMITTED || (!k->have_policy && tpsa_key_attrs(k) != PSA_SUCCESS))
		return st;
	if ((k->attrs.usage & need) == 0 || !tpsa_policy_permits(k->attrs.alg, alg))
		return st;
	fit = misfit(k->attrs.type, alg, need);
	return fit != PSA_SUCCESS ? fit : st;
}

int tpsa_memcmp_ct(const uint8_t *a, const uint8_t *b, size_t n)
{
	volatile uint8_t d = 0;

	for (size_t i = 0; i < n; i++)
		d |= a[i] ^ b[i];
	return d != 0;
}

void tpsa_wipe(void *p, size_t n)
{
	if (p != NULL && n > 0)
		explicit_bzero(p, n);
}

void tpsa_free_secret(void *p, size_t n)
{
	if (p == NULL)
		return;
	explicit_bzero(p, n);
	free(p);
}

psa_status_t tpsa_out(const uint8_t *src, size_t len, uint8_t *dst, size_t dst_size,
                      size_t *ret_len)
{
	if (len > dst_size)
		return PSA_ERROR_BUFFER_TOO_SMALL;
	if (len > 0)
		memcpy(dst, src, len);
	*ret_len = len;
	return PSA_SUCCESS;
}
