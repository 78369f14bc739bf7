/* The fair worker pool (daemon/sched.c): tenants served round-robin, heavy
 * work capped so a worker is left for the rest, per-tenant and
 * per-provider limits, and no worker waiting on a limit. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "daemon/daemon-priv.h"

struct job {
	struct sched_job j;
	unsigned ms; /* how long it runs */
	int id;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int order[64], n_order, n_done;
static atomic_int running, max_running, heavy_running, max_heavy, gate = 1;
static atomic_int per_tenant_running[4], per_tenant_max[4];

static void bump_max(atomic_int *max, int now)
{
	int m;

	while ((m = atomic_load(max)) < now && !atomic_compare_exchange_weak(max, &m, now))
		;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

static void run(struct sched_job *sj)
{
	struct job *j = (struct job *)sj;
	int t = (int)(sj->tenant % 4);

	if (j->id < 0) { /* the gate: holds its worker until released */
		while (atomic_load(&gate))
			sleep_ms(1);
		return;
	}
	pthread_mutex_lock(&lock);
	order[n_order++] = j->id;
	pthread_mutex_unlock(&lock);
	bump_max(&max_running, atomic_fetch_add(&running, 1) + 1);
	bump_max(&per_tenant_max[t], atomic_fetch_add(&per_tenant_running[t], 1) + 1);
	if (sj->heavy)
		bump_max(&max_heavy, atomic_fetch_add(&heavy_running, 1) + 1);
	sleep_ms(j->ms);
	if (sj->heavy)
		atomic_fetch_sub(&heavy_running, 1);
	atomic_fetch_sub(&per_tenant_running[t], 1);
	atomic_fetch_sub(&running, 1);
}

static void done(struct sched_job *sj)
{
	(void)sj;
	pthread_mutex_lock(&lock);
	n_done++;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&lock);
}

static void reset(void)
{
	n_order = n_done = 0;
	atomic_store(&running, 0);
	atomic_store(&max_running, 0);
	atomic_store(&heavy_running, 0);
	atomic_store(&max_heavy, 0);
	atomic_store(&gate, 1);
	for (int i = 0; i < 4; i++) {
		atomic_store(&per_tenant_running[i], 0);
		atomic_store(&per_tenant_max[i], 0);
	}
}

static void wait_done(int n)
{
	pthread_mutex_lock(&lock);
	while (n_done < n)
		pthread_cond_wait(&cond, &lock);
	pthread_mutex_unlock(&lock);
}

static void job(struct job *j, int id, uint64_t tenant, unsigned ms, bool heavy,
                const struct svc_provider *p)
{
	memset(j, 0, sizeof(*j));
	j->id = id;
	j->ms = ms;
	j->j.tenant = tenant;
	j->j.heavy = heavy;
	j->j.prov = p;
	j->j.run = run;
	j->j.done = done;
}

TestSuite(sched, .init = reset);

Test(sched, tenants_are_served_round_robin)
{
	struct sched *s;
	struct job gatej, a[3], b;

	cr_assert_eq(sched_new(1, 0, &s), TS_OK);
	job(&gatej, -1, 3, 0, false, NULL);
	cr_assert_eq(sched_submit(s, &gatej.j), TS_OK);
	for (int i = 0; i < 3; i++) {
		job(&a[i], 10 + i, 1, 0, false, NULL);
		cr_assert_eq(sched_submit(s, &a[i].j), TS_OK);
	}
	job(&b, 20, 2, 0, false, NULL);
	cr_assert_eq(sched_submit(s, &b.j), TS_OK);
	cr_assert_eq(sched_tenant_load(s, 1), 3);
	atomic_store(&gate, 0);
	wait_done(5);
	cr_assert_eq(n_order, 4);
	cr_assert_eq(order[0], 10);
	cr_assert_eq(order[1], 20, "tenant 2 waited behind all of tenant 1");
	cr_assert_eq(order[2], 11);
	cr_assert_eq(order[3], 12);
	cr_assert_eq(sched_tenant_load(s, 1), 0);
	sched_free(s);
}

Test(sched, heavy_work_leaves_a_worker_for_everything_else)
{
	struct sched *s;
	struct job h[4], light;

	cr_assert_eq(sched_new(2, 0, &s), TS_OK);
	for (int i = 0; i < 4; i++) {
		job(&h[i], i, 1, 60, true, NULL);
		cr_assert_eq(sched_submit(s, &h[i].j), TS_OK);
	}
	/* Once the first heavy job runs (however loaded the machine is). */
	for (int i = 0; i < 5000 && atomic_load(&heavy_running) == 0; i++)
		sleep_ms(1);
	job(&light, 99, 2, 0, false, NULL);
	cr_assert_eq(sched_submit(s, &light.j), TS_OK);
	wait_done(5);
	cr_assert_eq(atomic_load(&max_heavy), 1, "heavy jobs took both workers");
	/* The light job ran second: right after the first heavy one started. */
	cr_assert_eq(order[1], 99);
	sched_free(s);
}

Test(sched, a_tenant_limit_caps_its_running_jobs)
{
	struct sched *s;
	struct job a[4];

	cr_assert_eq(sched_new(3, 1, &s), TS_OK);
	for (int i = 0; i < 4; i++) {
		job(&a[i], i, 1, 20, false, NULL);
		cr_assert_eq(sched_submit(s, &a[i].j), TS_OK);
	}
	wait_done(4);
	cr_assert_eq(atomic_load(&per_tenant_max[1]), 1);
	sched_free(s);
}

Test(sched, a_provider_limit_holds_and_blocks_no_one_else)
{
	struct sched *s;
	struct svc_provider p = {.max_concurrent = 1};
	struct job onp[4], free_job;

	atomic_init(&p.running, 0);
	cr_assert_eq(sched_new(2, 0, &s), TS_OK);
	for (int i = 0; i < 4; i++) {
		job(&onp[i], i, (uint64_t)i, 30, false, &p);
		cr_assert_eq(sched_submit(s, &onp[i].j), TS_OK);
	}
	job(&free_job, 99, 9, 0, false, NULL);
	cr_assert_eq(sched_submit(s, &free_job.j), TS_OK);
	wait_done(5);
	/* Only the provider's jobs overlap with nothing of their own kind. */
	cr_assert_leq(atomic_load(&max_running), 2);
	cr_assert_eq(atomic_load(&p.running), 0);
	/* The free job did not wait behind the four limited ones. */
	cr_assert(order[1] == 99 || order[0] == 99, "order %d %d", order[0], order[1]);
	sched_free(s);
}

Test(sched, one_tenant_alone_may_use_every_worker_but_one_for_heavy_work)
{
	struct sched *s;
	struct job h[4], other[2];

	cr_assert_eq(sched_new(3, 0, &s), TS_OK);
	for (int i = 0; i < 4; i++) {
		job(&h[i], i, 1, 100, true, NULL);
		cr_assert_eq(sched_submit(s, &h[i].j), TS_OK);
	}
	wait_done(4);
	cr_assert_eq(atomic_load(&max_heavy), 2, "3 workers: 2 for heavy work");
	/* With a second tenant's heavy work waiting, each gets its turn. */
	atomic_store(&max_heavy, 0);
	for (int i = 0; i < 4; i++) {
		job(&h[i], i, 1, 40, true, NULL);
		cr_assert_eq(sched_submit(s, &h[i].j), TS_OK);
	}
	for (int i = 0; i < 2; i++) {
		job(&other[i], 50 + i, 2, 0, true, NULL);
		cr_assert_eq(sched_submit(s, &other[i].j), TS_OK);
	}
	wait_done(10);
	cr_assert_leq(atomic_load(&max_heavy), 2);
	/* Tenant 2's first job did not wait for all of tenant 1's. */
	{
		int pos = -1, later = 0;

		for (int i = 4; i < n_order; i++)
			if (order[i] == 50)
				pos = i;
		for (int i = pos + 1; i < n_order; i++)
			if (order[i] < 50)
				later++;
		cr_assert_geq(pos, 0);
		cr_assert_geq(later, 1, "tenant 2 ran only after tenant 1's whole flood");
	}
	sched_free(s);
}
