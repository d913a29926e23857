// SPDX-License-Identifier: GPL-2.0-only OR Apache-2.0
/*
 * shmsync-c: a C peer on a shmsync region, for interop tests. With --glibc
 * it calls glibc's own sem_wait()/sem_post() on a sem_t * pointing into the
 * region; without, the C protocol of include/shmsync/sem.h.
 *
 *   shmsync-c check REGION
 *   shmsync-c stat REGION SEM
 *   shmsync-c post REGION SEM N
 *   shmsync-c ping REGION SEND RECV ROUNDS [--glibc] [--warmup W]
 *   shmsync-c echo REGION RECV SEND ROUNDS [--glibc]
 *   shmsync-c mutex REGION SEM COUNTER ITERS [--glibc]
 *   shmsync-c counter REGION COUNTER
 *   shmsync-c mstat REGION MUTEX        lock=0x... owner=N kind=N
 *   shmsync-c pmutex REGION MUTEX COUNTER ITERS [--glibc]
 *       plain increments of COUNTER under the robust MUTEX: glibc's
 *       pthread_mutex_lock/unlock, or the C protocol of mutex.h
 *
 * Prints status lines (OK, READY, RESULT ..., DONE ...); exits 0 on success,
 * 1 when a region is refused, 2 on any other error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "shmsync/user.h"

_Static_assert(sizeof(sem_t) == SHMSYNC_SEM_T_LENGTH, "glibc sem_t size");

static int use_glibc;

static void die(const char *what, int err)
{
	fprintf(stderr, "shmsync-c: %s: %s\n", what, strerror(err < 0 ? -err : err));
	exit(2);
}

static void open_region(const char *name, struct shmsync_region *r)
{
	struct shmsync_verdict v;
	char msg[256];
	int ret = shmsync_region_open(name, 1, r, &v);

	if (ret == -EINVAL) {
		shmsync_verdict_format(&v, msg, sizeof(msg));
		printf("REFUSED %s\n", msg);
		exit(1);
	}
	if (ret)
		die(name, ret);
}

static void sem(struct shmsync_region *r, const char *name, struct shmsync_usem *s)
{
	struct shmsync_verdict v;
	int ret = shmsync_region_sem(r, name, s, &v);

	if (ret)
		die(name, ret);
}

static void down(struct shmsync_usem *s)
{
	int ret;

	if (use_glibc) {
		while (sem_wait((sem_t *)s->ref.data) != 0)
			if (errno != EINTR)
				die("sem_wait", errno);
		return;
	}
	ret = shmsync_usem_down(s);
	if (ret)
		die("down", ret);
}

static void up(struct shmsync_usem *s)
{
	int ret;

	if (use_glibc) {
		if (sem_post((sem_t *)s->ref.data) != 0)
			die("sem_post", errno);
		return;
	}
	ret = shmsync_usem_up(s);
	if (ret)
		die("up", ret);
}

static long long now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000000000LL + t.tv_nsec;
}

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	struct shmsync_region r;
	struct shmsync_usem a, b;
	long long n, i, warmup = 0, *t;
	int k;

	for (k = 1; k < argc; k++) {
		if (!strcmp(argv[k], "--glibc")) {
			use_glibc = 1;
			memmove(&argv[k], &argv[k + 1], (argc - k) * sizeof(*argv));
			argc--;
			k--;
		} else if (!strcmp(argv[k], "--warmup") && k + 1 < argc) {
			warmup = atoll(argv[k + 1]);
			memmove(&argv[k], &argv[k + 2], (argc - k - 1) * sizeof(*argv));
			argc -= 2;
			k--;
		}
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 3 && !strcmp(argv[1], "check")) {
		open_region(argv[2], &r);
		printf("OK capacity=%u heap_offset=%llu heap_end=%llu\n",
		       r.g.directory_capacity, (unsigned long long)r.g.heap_offset,
		       (unsigned long long)r.g.heap_end);
		return 0;
	}
	if (argc == 4 && !strcmp(argv[1], "stat")) {
		__u64 d;

		open_region(argv[2], &r);
		sem(&r, argv[3], &a);
		d = shmsync_load64(a.ref.data);
		printf("value=%u nwaiters=%u\n", shmsync_sem_value(d),
		       shmsync_sem_nwaiters(d));
		return 0;
	}
	if (argc == 5 && !strcmp(argv[1], "post")) {
		open_region(argv[2], &r);
		sem(&r, argv[3], &a);
		for (n = atoll(argv[4]); n > 0; n--)
			up(&a);
		printf("DONE\n");
		return 0;
	}
	if (argc == 6 && (!strcmp(argv[1], "ping") || !strcmp(argv[1], "echo"))) {
		open_region(argv[2], &r);
		sem(&r, argv[3], &a);
		sem(&r, argv[4], &b);
		n = atoll(argv[5]);
		printf("READY\n");
		if (argv[1][0] == 'e') {
			for (i = 0; i < n + warmup; i++) {
				down(&a);
				up(&b);
			}
			printf("DONE rounds=%lld\n", n);
			return 0;
		}
		t = calloc(n, sizeof(*t));
		if (!t)
			die("calloc", ENOMEM);
		for (i = 0; i < warmup; i++) {
			up(&a);
			down(&b);
		}
		for (i = 0; i < n; i++) {
			long long t0 = now_ns();

			up(&a);
			down(&b);
			t[i] = now_ns() - t0;
		}
		qsort(t, n, sizeof(*t), cmp_ll);
		printf("RESULT rounds=%lld p50_ns=%lld p90_ns=%lld max_ns=%lld\n",
		       n, t[n / 2], t[(n * 9) / 10], t[n - 1]);
		return 0;
	}
	if (argc == 6 && !strcmp(argv[1], "mutex")) {
		__u64 *counter, c;

		open_region(argv[2], &r);
		sem(&r, argv[3], &a);
		sem(&r, argv[4], &b);
		counter = b.ref.data;
		n = atoll(argv[5]);
		printf("READY\n");
		for (i = 0; i < n; i++) {
			down(&a);
			/* not atomic as an increment: the semaphore is the lock */
			c = __atomic_load_n(counter, __ATOMIC_RELAXED);
			__atomic_store_n(counter, c + 1, __ATOMIC_RELAXED);
			up(&a);
		}
		printf("DONE iterations=%lld\n", n);
		return 0;
	}
	if (argc == 4 && !strcmp(argv[1], "mstat")) {
		struct shmsync_verdict v;
		struct shmsync_umutex m;
		int ret;

		open_region(argv[2], &r);
		ret = shmsync_region_mutex(&r, argv[3], &m, &v);
		if (ret)
			die(argv[3], ret);
		printf("lock=0x%08x owner=%d kind=%d\n",
		       shmsync_load32(&m.ref.m->lock), m.ref.m->owner,
		       m.ref.m->kind);
		return 0;
	}
	if (argc == 6 && !strcmp(argv[1], "pmutex")) {
		struct shmsync_verdict v;
		struct shmsync_umutex m;
		__u64 *counter, c, died = 0;
		int ret;

		open_region(argv[2], &r);
		ret = shmsync_region_mutex(&r, argv[3], &m, &v);
		if (ret)
			die(argv[3], ret);
		sem(&r, argv[4], &b);
		counter = b.ref.data;
		n = atoll(argv[5]);
		printf("READY\n");
		for (i = 0; i < n; i++) {
			if (use_glibc)
				ret = pthread_mutex_lock((pthread_mutex_t *)m.ref.m);
			else
				ret = -shmsync_umutex_lock(&m);
			if (ret == EOWNERDEAD) {
				died++;
				ret = use_glibc ?
				      pthread_mutex_consistent((pthread_mutex_t *)m.ref.m) :
				      -shmsync_umutex_consistent(&m);
			}
			if (ret)
				die("lock", ret);
			c = __atomic_load_n(counter, __ATOMIC_RELAXED);
			__atomic_store_n(counter, c + 1, __ATOMIC_RELAXED);
			ret = use_glibc ? pthread_mutex_unlock((pthread_mutex_t *)m.ref.m) :
			      -shmsync_umutex_unlock(&m);
			if (ret)
				die("unlock", ret);
		}
		printf("DONE iterations=%lld owner_died=%llu\n", n,
		       (unsigned long long)died);
		return 0;
	}
	if (argc == 4 && !strcmp(argv[1], "counter")) {
		open_region(argv[2], &r);
		sem(&r, argv[3], &a);
		printf("counter=%llu\n",
		       (unsigned long long)__atomic_load_n(a.ref.data, __ATOMIC_ACQUIRE));
		return 0;
	}
	fprintf(stderr, "usage: shmsync-c check|stat|post|ping|echo|mutex|counter|mstat|pmutex REGION ... (see the source)\n");
	return 2;
}
