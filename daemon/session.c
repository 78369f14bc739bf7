/*
 * Connection sessions: what one tesserad connection holds beyond a single
 * request, for the PSA C API (docs/protocol.md, "Sessions"):
 *
 *   - a serial, unique in the process, that names its volatile keys in the
 *     key store (".volatile/<serial in hex>/<the client's rest>");
 *   - the multipart operations and key derivations it opened, by handle
 *     (never 0, never reused within the session), each bound to the
 *     identity and the provider instance that set it up;
 *   - the volatile keys it made, destroyed when it closes.
 *
 * Operations count in a per-tenant cap over every connection (the tenant
 * is the authenticator and the application): the counts live in one table
 * here under a mutex, because a tenant's connections run on any loop and
 * any worker. Everything else in a session belongs to its connection: the
 * request being run (one at a time), or the connection's loop while no
 * request of it is in flight (server.c keeps to that for the sweep and
 * the close), so a session needs no lock of its own.
 */
#include "daemon/daemon-priv.h"

#include <ctype.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "common/log.h"
#include "common/util.h"

struct vkey {
	struct vkey *next;
	const struct svc_provider *p;
	uint8_t auth_type;
	char *app;
	char *name; /* the key store's name */
};

struct session {
	uint64_t serial;
	uint32_t next_handle; /* 0 once the handles ran out */
	struct sess_op *ops;
	struct vkey *vkeys;
};

/* One tenant's open operations over every session. */
/* A tenant's open operations: over every instance (inst NULL, the
 * psa.max_operations_per_tenant cap), or on one instance whose provider
 * has a fixed number of slots (its share of them). */
struct op_tenant {
	struct op_tenant *next;
	const void *inst;
	uint8_t auth_type;
	unsigned n;
	char app[]; /* NUL-terminated */
};

static pthread_mutex_t tenants_lock = PTHREAD_MUTEX_INITIALIZER;
static struct op_tenant *tenants;
static _Atomic uint64_t next_serial = 1;

/* ---- the clock ---- */

static uint64_t monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint64_t (*_Atomic clock_fn)(void) = monotonic_ms;

void session_set_clock(uint64_t (*now_ms)(void))
{
	clock_fn = now_ms != NULL ? now_ms : monotonic_ms;
}

uint64_t session_now_ms(void)
{
	return clock_fn();
}

/* ---- the per-tenant counts ---- */

static const char *app_of(const char *app)
{
	return app != NULL ? app : "";
}

/* A place for one more operation of the tenant, or NULL past the cap (or
 * out of memory). */
static struct op_tenant *tenant_take(uint8_t auth_type, const char *app, const void *inst,
                                     unsigned cap)
{
	struct op_tenant *t;

	app = app_of(app);
	pthread_mutex_lock(&tenants_lock);
	for (t = tenants; t != NULL; t = t->next)
		if (t->auth_type == auth_type && t->inst == inst && strcmp(t->app, app) == 0)
			break;
	if (t == NULL) {
		size_t len = strlen(app) + 1;

		t = calloc(1, sizeof(*t) + len);
		if (t != NULL) {
			t->auth_type = auth_type;
			t->inst = inst;
			memcpy(t->app, app, len);
			t->next = tenants;
			tenants = t;
		}
	}
	if (t != NULL && t->n >= cap)
		t = NULL;
	if (t != NULL)
		t->n++;
	pthread_mutex_unlock(&tenants_lock);
	return t;
}

static void tenant_give(struct op_tenant *t)
{
	struct op_tenant **pp;

	pthread_mutex_lock(&tenants_lock);
	if (--t->n == 0) {
		for (pp = &tenants; *pp != NULL && *pp != t; pp = &(*pp)->next)
			;
		if (*pp != NULL)
			*pp = t->next;
		free(t);
	}
	pthread_mutex_unlock(&tenants_lock);
}

unsigned session_tenant_ops(uint8_t auth_type, const char *app)
{
	unsigned n = 0;

	app = app_of(app);
	pthread_mutex_lock(&tenants_lock);
	for (struct op_tenant *t = tenants; t != NULL; t = t->next)
		if (t->auth_type == auth_type && strcmp(t->app, app) == 0)
			n = t->n;
	pthread_mutex_unlock(&tenants_lock);
	return n;
}

/* ---- sessions ---- */

struct session *session_new(void)
{
	struct session *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->serial = atomic_fetch_add(&next_serial, 1);
	s->next_handle = 1;
	return s;
}

uint64_t session_serial(const struct session *s)
{
	return s->serial;
}

bool session_holds(const struct session *s)
{
	return s != NULL && (s->ops != NULL || s->vkeys != NULL);
}

/* Free what an operation holds: its hash context, or the provider's state
 * (which may call into a device: an abort in the partition, a PKCS#11
 * session closed). */
static void op_release_state(struct sess_op *op)
{
	if (op->md != NULL)
		EVP_MD_CTX_free(op->md);
	else if (op->state != NULL && op->kind == 8 /* KEY_DERIVATION */)
		op->prov->ops->kdf_free(op->prov->ctx, op->state);
	else if (op->state != NULL)
		op->prov->ops->mp_free(op->prov->ctx, op->state);
	op->md = op->state = NULL;
}

static void op_release(struct sess_op *op)
{
	op_release_state(op);
	if (op->tenant != NULL)
		tenant_give(op->tenant);
	if (op->inst_tenant != NULL)
		tenant_give(op->inst_tenant);
	free(op->app);
	free(op);
}

/* ---- releasing from an event loop ---- */

/* Where a loop hands a provider's state to be freed (session_set_scheduler). */
static struct sched *release_sched;

void session_set_scheduler(struct sched *sched)
{
	release_sched = sched;
}

struct release_job {
	struct sched_job job;
	struct sess_op *op;
};

static void release_job_run(struct sched_job *j)
{
	op_release_state(((struct release_job *)j)->op);
}

static void release_job_done(struct sched_job *j)
{
	struct release_job *rj = (struct release_job *)j;

	op_release(rj->op);
	free(rj);
}

/*
 * On an event loop (a connection closed, the idle sweep): the tenant's
 * place in its cap is given back at once, and a provider's state is freed
 * on a worker under the instance's concurrency limit, since freeing it may
 * wait for the device (Trusted Services' lock while another tenant's key
 * is made) and the loop serves every connection of its shard. Without a
 * scheduler, or when the job cannot be queued, it is freed here.
 */
static void op_release_from_loop(struct sess_op *op, uint64_t tenant)
{
	struct release_job *rj;

	if (op->tenant != NULL) {
		tenant_give(op->tenant);
		op->tenant = NULL;
	}
	if (op->inst_tenant != NULL) {
		tenant_give(op->inst_tenant);
		op->inst_tenant = NULL;
	}
	if (op->state == NULL || release_sched == NULL) {
		op_release(op);
		return;
	}
	rj = calloc(1, sizeof(*rj));
	if (rj != NULL) {
		rj->op = op;
		rj->job = (struct sched_job){.tenant = tenant,
		                             .prov = op->prov,
		                             .run = release_job_run,
		                             .done = release_job_done};
		if (sched_submit(release_sched, &rj->job) == TS_OK)
			return;
		free(rj);
	}
	op_release(op);
}

void session_op_free(struct session *s, struct sess_op *op)
{
	for (struct sess_op **pp = &s->ops; *pp != NULL; pp = &(*pp)->next)
		if (*pp == op) {
			*pp = op->next;
			break;
		}
	op_release(op);
}

enum ts_err session_op_new(struct session *s, const struct request *r, int kind,
                           unsigned max_per_tenant, struct sess_op **ret)
{
	struct sess_op *op;

	/* Handles are never reused: a session that used all 2^32-1 of them
	 * opens no more. */
	if (s->next_handle == 0)
		return TS_E_PSA_INSUFFICIENT_MEMORY;
	op = calloc(1, sizeof(*op));
	if (op == NULL)
		return TS_E_PSA_INSUFFICIENT_MEMORY;
	op->app = strdup(app_of(r->id.name));
	if (op->app == NULL) {
		free(op);
		return TS_E_PSA_INSUFFICIENT_MEMORY;
	}
	op->tenant = tenant_take(r->id.auth_type, r->id.name, NULL, max_per_tenant);
	/* A provider with a fixed number of slots for the whole instance (a
	 * partition's pool, a token's sessions): one tenant takes at most half,
	 * so it cannot lock every other tenant out of it. Hashing is the
	 * daemon's own. */
	if (op->tenant != NULL && kind != 1 /* HASH */ && r->prov != NULL &&
	    r->prov->ops->mp_slots != NULL) {
		unsigned share = r->prov->ops->mp_slots(r->prov->ctx) / 2;

		op->inst_tenant =
		        tenant_take(r->id.auth_type, r->id.name, r->prov, share > 0 ? share : 1);
		if (op->inst_tenant == NULL) {
			tenant_give(op->tenant);
			op->tenant = NULL;
		}
	}
	if (op->tenant == NULL) {
		free(op->app);
		free(op);
		return TS_E_PSA_INSUFFICIENT_MEMORY;
	}
	op->kind = kind;
	op->auth_type = r->id.auth_type;
	op->prov = r->prov;
	op->handle = s->next_handle++;
	op->last_used_ms = session_now_ms();
	op->next = s->ops;
	s->ops = op;
	*ret = op;
	return TS_OK;
}

static bool same_identity(const struct sess_op *op, const struct request *r)
{
	return op->auth_type == r->id.auth_type && strcmp(op->app, app_of(r->id.name)) == 0;
}

struct sess_op *session_op_find(struct session *s, const struct request *r, uint32_t handle,
                                uint64_t idle_ms, bool *ret_foreign)
{
	uint64_t now = session_now_ms();

	if (ret_foreign != NULL)
		*ret_foreign = false;
	if (s == NULL || handle == 0)
		return NULL;
	for (struct sess_op *op = s->ops; op != NULL; op = op->next) {
		if (op->handle != handle)
			continue;
		/* Another identity, or the handle sent to another instance:
		 * the operation is not touched, not even its last use. */
		if (!same_identity(op, r) || op->prov != r->prov) {
			if (ret_foreign != NULL)
				*ret_foreign = true;
			return NULL;
		}
		/* Idle past the limit: gone, as if the sweep had run. */
		if (now - op->last_used_ms >= idle_ms) {
			session_op_free(s, op);
			return NULL;
		}
		op->last_used_ms = now;
		return op;
	}
	return NULL;
}

bool session_sweep(struct session *s, uint64_t now_ms, uint64_t idle_ms)
{
	bool any = false;

	if (s == NULL)
		return false;
	for (struct sess_op **pp = &s->ops; *pp != NULL;) {
		struct sess_op *op = *pp;

		if (now_ms - op->last_used_ms >= idle_ms) {
			*pp = op->next;
			op_release_from_loop(op, s->serial);
			any = true;
		} else {
			pp = &op->next;
		}
	}
	return any;
}

/* ---- volatile keys ---- */

bool session_name_is_volatile(const char *client_name)
{
	return client_name != NULL &&
	       strncmp(client_name, SESSION_VOLATILE_PREFIX, strlen(SESSION_VOLATILE_PREFIX)) == 0;
}

const char *session_key_name(struct request *r, const char *client_name, enum ts_err *ret_err)
{
	const char *rest;
	size_t slot;
	char *name;

	if (!session_name_is_volatile(client_name))
		return client_name;
	rest = client_name + strlen(SESSION_VOLATILE_PREFIX);
	if (rest[0] == '\0') {
		*ret_err = TS_E_PSA_INVALID_ARGUMENT;
		return NULL;
	}
	if (r->sess == NULL) {
		*ret_err = TS_E_PSA_DOES_NOT_EXIST;
		return NULL;
	}
	for (slot = 0; slot < TS_ARRAY_LEN(r->mapped_names); slot++)
		if (r->mapped_names[slot] == NULL)
			break;
	if (slot == TS_ARRAY_LEN(r->mapped_names) ||
	    asprintf(&name, "%s%" PRIx64 "/%s", SESSION_VOLATILE_PREFIX, r->sess->serial, rest) <
	            0) {
		*ret_err = TS_E_NOMEM;
		return NULL;
	}
	r->mapped_names[slot] = name;
	return name;
}

static bool vkey_is(const struct vkey *k, const struct svc_provider *p, uint8_t auth_type,
                    const char *app, const char *name)
{
	return k->p == p && k->auth_type == auth_type && strcmp(k->app, app_of(app)) == 0 &&
	       strcmp(k->name, name) == 0;
}

static void vkey_free(struct vkey *k)
{
	free(k->app);
	free(k->name);
	free(k);
}

enum ts_err session_add_vkey(struct session *s, const struct svc_provider *p, uint8_t auth_type,
                             const char *app, const char *name, bool *ret_added)
{
	struct vkey *k;

	*ret_added = false;
	for (k = s->vkeys; k != NULL; k = k->next)
		if (vkey_is(k, p, auth_type, app, name))
			return TS_OK;
	k = calloc(1, sizeof(*k));
	if (k == NULL)
		return TS_E_NOMEM;
	k->p = p;
	k->auth_type = auth_type;
	k->app = strdup(app_of(app));
	k->name = strdup(name);
	if (k->app == NULL || k->name == NULL) {
		vkey_free(k);
		return TS_E_NOMEM;
	}
	k->next = s->vkeys;
	s->vkeys = k;
	*ret_added = true;
	return TS_OK;
}

void session_forget_vkey(struct session *s, const struct svc_provider *p, uint8_t auth_type,
                         const char *app, const char *name)
{
	for (struct vkey **pp = &s->vkeys; *pp != NULL; pp = &(*pp)->next) {
		struct vkey *k = *pp;

		if (vkey_is(k, p, auth_type, app, name)) {
			*pp = k->next;
			vkey_free(k);
			return;
		}
	}
}

static void destroy_vkeys(struct svc_state *st, struct vkey *list)
{
	while (list != NULL) {
		struct vkey *k = list;
		enum ts_err err;

		list = k->next;
		err = key_destroy(st, k->p, k->auth_type, k->app, k->name);
		/* Gone already: destroyed by DeleteClient, say. What fails here is
		 * left to the purge at the next start. */
		if (err != TS_OK && err != TS_E_PSA_DOES_NOT_EXIST)
			ts_warn("a closed connection's volatile key could not be destroyed (%s); "
			        "the next start destroys it",
			        ts_strerror(err));
		vkey_free(k);
	}
}

struct vkey_job {
	struct sched_job job;
	struct svc_state *st;
	struct vkey *list;
};

static void vkey_job_run(struct sched_job *j)
{
	struct vkey_job *vj = (struct vkey_job *)j;

	destroy_vkeys(vj->st, vj->list);
	vj->list = NULL;
}

static void vkey_job_done(struct sched_job *j)
{
	struct vkey_job *vj = (struct vkey_job *)j;

	svc_state_unref(vj->st);
	free(vj);
}

void session_close(struct session *s, struct svc_state *st, struct sched *sched)
{
	struct vkey_job *vj;

	if (s == NULL)
		return;
	/* The tenant's cap has room again at once; a provider's state is
	 * freed on a worker (op_release_from_loop). */
	while (s->ops != NULL) {
		struct sess_op *op = s->ops;

		s->ops = op->next;
		op_release_from_loop(op, s->serial);
	}
	if (s->vkeys != NULL) {
		vj = sched != NULL && st != NULL ? calloc(1, sizeof(*vj)) : NULL;
		if (vj != NULL) {
			vj->st = svc_state_ref(st);
			vj->list = s->vkeys;
			vj->job = (struct sched_job){
			        .tenant = s->serial, .run = vkey_job_run, .done = vkey_job_done};
			if (sched_submit(sched, &vj->job) == TS_OK) {
				s->vkeys = NULL;
			} else {
				svc_state_unref(vj->st);
				free(vj);
			}
		}
		/* No worker to take it: destroy here (rare; the loop waits for
		 * the key store). */
		if (s->vkeys != NULL && st != NULL)
			destroy_vkeys(st, s->vkeys);
		else if (s->vkeys != NULL)
			while (s->vkeys != NULL) {
				struct vkey *k = s->vkeys;

				s->vkeys = k->next;
				vkey_free(k);
			}
		s->vkeys = NULL;
	}
	free(s);
}

/* ---- start-up ---- */

/* Whether a stored name is one session_key_name made: the prefix, the
 * serial in 1 to 16 hex digits, "/", and the client's rest. Only such a
 * record is a volatile key; a key a Parsec client or tessera-migrate made
 * before the prefix was reserved (".volatile/x") is never purged. */
static bool stored_name_is_volatile(const char *name)
{
	const char *p;
	size_t digits = 0;

	if (!session_name_is_volatile(name))
		return false;
	for (p = name + strlen(SESSION_VOLATILE_PREFIX);
	     isxdigit((unsigned char)*p) && !isupper((unsigned char)*p); p++)
		digits++;
	return digits >= 1 && digits <= 16 && p[0] == '/' && p[1] != '\0';
}

enum ts_err session_note_leftover(struct vkey **list, const struct svc_provider *p,
                                  const struct ks_key_id *id)
{
	struct vkey *k;

	if (!stored_name_is_volatile(id->name))
		return TS_OK;
	k = calloc(1, sizeof(*k));
	if (k != NULL) {
		k->p = p;
		k->auth_type = id->auth_type;
		k->app = strdup(app_of(id->app));
		k->name = strdup(id->name);
	}
	if (k == NULL || k->app == NULL || k->name == NULL) {
		if (k != NULL)
			vkey_free(k);
		return TS_E_NOMEM;
	}
	k->next = *list;
	*list = k;
	return TS_OK;
}

void session_forget_leftovers(struct vkey *list)
{
	while (list != NULL) {
		struct vkey *k = list;

		list = k->next;
		vkey_free(k);
	}
}

unsigned session_destroy_leftovers(struct svc_state *st, struct vkey *list)
{
	unsigned n = 0;

	for (struct vkey *k = list; k != NULL; k = k->next)
		n++;
	destroy_vkeys(st, list);
	if (n > 0)
		ts_info("%u volatile key(s) left by the last run destroyed", n);
	return n;
}
