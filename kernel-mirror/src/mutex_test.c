// SPDX-License-Identifier: GPL-2.0-only OR Apache-2.0
/*
 * mutex-test: the C mutex protocol (include/shmsync/mutex.h, user-space
 * build) against glibc's robust pthread_mutex_t on one word, on the host:
 *
 *   1. processes locking with glibc and with mutex.h around a plain
 *      counter: the total is exact (mutual exclusion, no lost wake-up);
 *   2. a glibc holder exits: mutex.h's lock gets -EOWNERDEAD;
 *   3. mutex.h's abandon (what shmsync.ko does for a kernel holder whose
 *      handle is put): glibc's lock gets EOWNERDEAD;
 *   4. unlock without consistent: both sides get ENOTRECOVERABLE.
 *
 * Prints "PASS ..." or "FAIL ..." per step; exits 0 only if all passed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include "shmsync/mutex.h"

_Static_assert(sizeof(pthread_mutex_t) == SHMSYNC_PTHREAD_MUTEX_T_LENGTH,
	       "glibc pthread_mutex_t size");

struct shared {
	struct shmsync_mutex m;
	unsigned long long counter;
};

static int failures;

static void check(int ok, const char *what, long got)
{
	printf("%s %s (%ld)\n", ok ? "PASS" : "FAIL", what, got);
	failures += !ok;
}

static int proto_lock(struct shared *s)
{
	struct shmsync_mutexref r = { .m = &s->m };
	struct shmsync_wait w = { .deadline = { .tv_sec = -1 } };

	return shmsync_proto_mutex_lock(&r, (__u32)gettid(), &w);
}

static int proto_unlock(struct shared *s)
{
	struct shmsync_mutexref r = { .m = &s->m };

	return shmsync_proto_mutex_unlock(&r, (__u32)gettid());
}

static void hammer(struct shared *s, int glibc, long iters)
{
	pthread_mutex_t *pm = (pthread_mutex_t *)&s->m;
	long i;

	for (i = 0; i < iters; i++) {
		if ((glibc ? pthread_mutex_lock(pm) : -proto_lock(s)) != 0)
			_exit(3);
		s->counter = s->counter + 1;	/* plain: the mutex is the lock */
		if ((glibc ? pthread_mutex_unlock(pm) : -proto_unlock(s)) != 0)
			_exit(4);
	}
	_exit(0);
}

int main(int argc, char **argv)
{
	long iters = argc > 1 ? atol(argv[1]) : 200000;
	pthread_mutex_t *pm;
	pthread_mutexattr_t a;
	struct shared *s;
	struct shmsync_mutexref r;
	int i, st, bad = 0, ret;
	pid_t pid;

	setvbuf(stdout, NULL, _IOLBF, 0);
	s = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (s == MAP_FAILED)
		return 2;
	pm = (pthread_mutex_t *)&s->m;
	r.m = &s->m;
	pthread_mutexattr_init(&a);
	pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
	pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
	pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ERRORCHECK);
	pthread_mutex_init(pm, &a);
	check(s->m.kind == SHMSYNC_MUTEX_KIND, "glibc builds __kind 146", s->m.kind);

	/* 1 */
	for (i = 0; i < 4; i++)
		if (fork() == 0)
			hammer(s, i & 1, iters);
	for (i = 0; i < 4; i++) {
		wait(&st);
		bad += !WIFEXITED(st) || WEXITSTATUS(st);
	}
	check(!bad && s->counter == 4ULL * iters && s->m.lock == 0,
	      "2 glibc + 2 mutex.h processes: counter exact", (long)s->counter);

	/* 2 */
	pid = fork();
	if (pid == 0) {
		pthread_mutex_lock(pm);
		_exit(0);	/* dies holding it: glibc's robust list */
	}
	waitpid(pid, &st, 0);
	ret = proto_lock(s);
	check(ret == -EOWNERDEAD && s->m.owner == SHMSYNC_MUTEX_INCONSISTENT,
	      "glibc holder died: mutex.h lock returns -EOWNERDEAD", ret);
	ret = shmsync_proto_mutex_consistent(&r, (__u32)gettid());
	ret = ret ? ret : proto_unlock(s);
	check(ret == 0 && s->m.owner == 0 && s->m.lock == 0, "consistent + unlock", ret);

	/* 3 */
	ret = proto_lock(s);
	ret = ret ? ret : !shmsync_proto_mutex_abandon(&r, (__u32)gettid());
	check(ret == 0 && s->m.lock == SHMSYNC_MUTEX_OWNER_DIED, "abandon marks OWNER_DIED", ret);
	pid = fork();
	if (pid == 0)
		_exit(pthread_mutex_lock(pm) == EOWNERDEAD ? 0 : 1);
	waitpid(pid, &st, 0);
	check(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	      "glibc lock after abandon returns EOWNERDEAD", st);

	/* 4: the child died holding it (robust list) again: lock, no consistent, unlock */
	ret = proto_lock(s);
	ret = ret == -EOWNERDEAD ? proto_unlock(s) : -1000 + ret;
	check(ret == 0 && s->m.owner == SHMSYNC_MUTEX_NOTRECOVERABLE,
	      "unlock without consistent: NOTRECOVERABLE", ret);
	ret = pthread_mutex_lock(pm);
	check(ret == ENOTRECOVERABLE, "glibc: ENOTRECOVERABLE", ret);
	ret = proto_lock(s);
	check(ret == -ENOTRECOVERABLE && s->m.lock == 0, "mutex.h: -ENOTRECOVERABLE", ret);
	printf("%s\n", failures ? "FAILED" : "OK");
	return failures ? 1 : 0;
}
