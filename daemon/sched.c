/*
 * The worker pool and its fair queue.
 *
 * Slow work (key generation, RSA and finite-field private keys, key-store
 * writes, hardware calls) is queued per tenant; workers serve the tenants
 * round-robin. Limits, each checked before a job starts:
 *   - a tenant has at most `per_tenant` jobs running (0: no limit);
 *   - a provider instance has at most its declared number of calls running;
 *   - "heavy" jobs (RSA and finite-field key generation: up to seconds
 *     each) take at most `max_heavy` workers (all but one), so a worker is
 *     always left for everything else; a tenant runs a second heavy job
 *     only while no other tenant has one waiting.
 * A job that may not start yet waits in the queue, never on a worker: a
 * worker only sleeps when nothing in the queue may start.
 *
 * So one tenant flooding RSA-4096 generation holds one worker, and another
 * tenant's work starts on the next free one instead of behind the flood
 * (libuv's pool, which this replaces, is one FIFO).
 */
#include "daemon/daemon-priv.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"

struct tenant {
	uint64_t id;
	struct sched_job *head, *tail; /* waiting, in submission order */
	unsigned waiting;              /* jobs from head to tail */
	unsigned running;
	unsigned heavy;            /* of which heavy */
	struct tenant *next_ready; /* the ring of tenants with waiting jobs */
	bool in_ring;
	struct tenant *next_hash;
};

#define TENANT_BUCKETS 256

struct sched {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	pthread_t *threads;
	unsigned n_threads;
	unsigned per_tenant; /* 0: no limit */
	unsigned max_heavy;
	unsigned heavy_running;
	bool stopping;
	struct tenant *buckets[TENANT_BUCKETS];
	struct tenant *ring; /* the tenant served next; NULL when nothing waits */
	unsigned waiting, running;
};

static struct tenant *tenant_get(struct sched *s, uint64_t id)
{
	struct tenant **b = &s->buckets[id % TENANT_BUCKETS], *t;

	for (t = *b; t != NULL; t = t->next_hash)
		if (t->id == id)
			return t;
	t = calloc(1, sizeof(*t));
	if (t == NULL)
		return NULL;
	t->id = id;
	t->next_hash = *b;
	*b = t;
	return t;
}

/* A tenant with nothing waiting or running is forgotten. */
static void tenant_maybe_free(struct sched *s, struct tenant *t)
{
	struct tenant **pp = &s->buckets[t->id % TENANT_BUCKETS];

	if (t->head != NULL || t->running > 0 || t->in_ring)
		return;
	while (*pp != t)
		pp = &(*pp)->next_hash;
	*pp = t->next_hash;
	free(t);
}

static void ring_insert(struct sched *s, struct tenant *t)
{
	if (t->in_ring)
		return;
	t->in_ring = true;
	if (s->ring == NULL) {
		t->next_ready = t;
		s->ring = t;
		return;
	}
	/* Just before the tenant served next: last in this round. */
	for (struct tenant *p = s->ring;; p = p->next_ready)
		if (p->next_ready == s->ring) {
			p->next_ready = t;
			t->next_ready = s->ring;
			return;
		}
}

static void ring_remove(struct sched *s, struct tenant *t)
{
	struct tenant *p = s->ring;

	if (!t->in_ring)
		return;
	t->in_ring = false;
	if (t->next_ready == t) {
		s->ring = NULL;
		return;
	}
	while (p->next_ready != t)
		p = p->next_ready;
	p->next_ready = t->next_ready;
	if (s->ring == t)
		s->ring = t->next_ready;
}

static bool provider_has_room(const struct sched_job *j)
{
	const struct svc_provider *p = j->prov;

	return p == NULL || p->max_concurrent == 0 ||
	       atomic_load(&((struct svc_provider *)p)->running) < p->max_concurrent;
}

/* Whether a tenant other than t has a heavy job at the head of its queue. */
static bool heavy_waiting_elsewhere(const struct tenant *t)
{
	const struct tenant *p = t->next_ready;

	for (; p != t; p = p->next_ready)
		if (p->head != NULL && p->head->heavy)
			return true;
	return false;
}

static bool heavy_may_start(const struct sched *s, const struct tenant *t)
{
	if (s->heavy_running >= s->max_heavy)
		return false;
	return t->heavy == 0 || !heavy_waiting_elsewhere(t);
}

/* The next job that may start, round-robin over the tenants, or NULL. */
static struct sched_job *pick(struct sched *s)
{
	struct tenant *start = s->ring, *t = start;

	if (t == NULL)
		return NULL;
	do {
		struct sched_job *j = t->head;

		if (j != NULL && (s->per_tenant == 0 || t->running < s->per_tenant) &&
		    (!j->heavy || heavy_may_start(s, t)) && provider_has_room(j)) {
			t->head = j->next;
			if (t->head == NULL)
				t->tail = NULL;
			t->waiting--;
			t->running++;
			s->waiting--;
			s->running++;
			if (j->heavy) {
				t->heavy++;
				s->heavy_running++;
			}
			if (j->prov != NULL)
				atomic_fetch_add(&((struct svc_provider *)j->prov)->running, 1);
			s->ring = t->next_ready; /* the next tenant goes next */
			if (t->head == NULL)
				ring_remove(s, t);
			j->t = t;
			return j;
		}
		t = t->next_ready;
	} while (t != start);
	return NULL;
}

static void *worker(void *arg)
{
	struct sched *s = arg;

	(void)pthread_setname_np(pthread_self(), "tesserad-work");
	pthread_mutex_lock(&s->lock);
	for (;;) {
		struct sched_job *j = pick(s);

		if (j == NULL) {
			if (s->stopping && s->waiting == 0)
				break;
			pthread_cond_wait(&s->wake, &s->lock);
			continue;
		}
		pthread_mutex_unlock(&s->lock);
		j->run(j);
		pthread_mutex_lock(&s->lock);
		j->t->running--;
		s->running--;
		if (j->heavy) {
			j->t->heavy--;
			s->heavy_running--;
		}
		if (j->prov != NULL)
			atomic_fetch_sub(&((struct svc_provider *)j->prov)->running, 1);
		tenant_maybe_free(s, j->t);
		/* A slot of that tenant and of that provider is free: a job
		 * another worker passed over may start now. */
		pthread_cond_broadcast(&s->wake);
		pthread_mutex_unlock(&s->lock);
		j->done(j); /* the job may be freed from here on */
		pthread_mutex_lock(&s->lock);
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

enum ts_err sched_new(unsigned threads, unsigned per_tenant, struct sched **ret)
{
	struct sched *s = calloc(1, sizeof(*s));
	sigset_t block, old;

	if (s == NULL)
		return TS_E_NOMEM;
	s->threads = calloc(threads ? threads : 1, sizeof(*s->threads));
	if (s->threads == NULL) {
		free(s);
		return TS_E_NOMEM;
	}
	s->per_tenant = per_tenant;
	s->max_heavy = threads > 1 ? threads - 1 : 1;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->wake, NULL);
	/* Workers never take the stop and reload signals (the main thread
	 * owns their handlers). */
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	for (unsigned i = 0; i < (threads ? threads : 1); i++) {
		if (pthread_create(&s->threads[i], NULL, worker, s) != 0)
			break;
		s->n_threads++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (s->n_threads == 0) {
		sched_free(s);
		return TS_E_SYSTEM;
	}
	if (s->n_threads < threads)
		ts_warn("started %u of %u worker threads", s->n_threads, threads);
	*ret = s;
	return TS_OK;
}

void sched_set_per_tenant(struct sched *s, unsigned per_tenant)
{
	pthread_mutex_lock(&s->lock);
	s->per_tenant = per_tenant;
	pthread_cond_broadcast(&s->wake);
	pthread_mutex_unlock(&s->lock);
}

enum ts_err sched_submit(struct sched *s, struct sched_job *j)
{
	struct tenant *t;

	pthread_mutex_lock(&s->lock);
	t = tenant_get(s, j->tenant);
	if (t == NULL) {
		pthread_mutex_unlock(&s->lock);
		return TS_E_NOMEM;
	}
	j->next = NULL;
	if (t->tail != NULL)
		t->tail->next = j;
	else
		t->head = j;
	t->tail = j;
	t->waiting++;
	s->waiting++;
	ring_insert(s, t);
	pthread_cond_signal(&s->wake);
	pthread_mutex_unlock(&s->lock);
	return TS_OK;
}

unsigned sched_tenant_load(struct sched *s, uint64_t tenant)
{
	struct tenant *t;
	unsigned n = 0;

	pthread_mutex_lock(&s->lock);
	for (t = s->buckets[tenant % TENANT_BUCKETS]; t != NULL; t = t->next_hash)
		if (t->id == tenant) {
			n = t->running + t->waiting;
			break;
		}
	pthread_mutex_unlock(&s->lock);
	return n;
}

void sched_free(struct sched *s)
{
	if (s == NULL)
		return;
	pthread_mutex_lock(&s->lock);
	s->stopping = true;
	pthread_cond_broadcast(&s->wake);
	pthread_mutex_unlock(&s->lock);
	for (unsigned i = 0; i < s->n_threads; i++)
		pthread_join(s->threads[i], NULL);
	for (size_t b = 0; b < TENANT_BUCKETS; b++)
		while (s->buckets[b] != NULL) {
			struct tenant *t = s->buckets[b];

			s->buckets[b] = t->next_hash;
			free(t);
		}
	pthread_cond_destroy(&s->wake);
	pthread_mutex_destroy(&s->lock);
	free(s->threads);
	free(s);
}
