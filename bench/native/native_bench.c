// SPDX-License-Identifier: Apache-2.0
/*
 * native_bench - the C floors bench/run.sh compares shmsync with, beyond what kernel-mirror's sem_bench
 * measures (glibc sem_post+sem_wait, C CAS lock, glibc sem_t ping-pong):
 *
 *   native_bench mutex-uncontended ITERS [--runs K]
 *       One process, a robust process-shared error-checking pthread_mutex_t in a MAP_SHARED mapping
 *       (the mutex shmsync's Mutex is layout-compatible with). K runs of ITERS x { lock; unlock }:
 *       RUN op=robust_mutex_lock_unlock run=I iters=N ns_per_op=X
 *       RESULT op=robust_mutex_lock_unlock ns_per_op_best=X ns_per_op_median=X
 *
 *   native_bench spin-pingpong ROUNDS [--cpus P,Q] [--warmup W]
 *       The spin floor: fork(); parent and child hand a sequence number back and forth through two words
 *       in a MAP_SHARED page, each busy-waiting (pause) for the other's store. No system call at all.
 *       RESULT mech=c_spin rounds=R cpus=P,Q p50_ns=.. p90_ns=.. p99_ns=.. p999_ns=.. max_ns=.. mean_ns=..
 *              cpu_us_per_rt=X   (user+sys of both processes over the W+R rounds, as sem_bench pingpong)
 *
 *   native_bench contended sem|mutex NPROC SECONDS [--warmup-ms MS]
 *       NPROC forked processes (unpinned) hammer one pshared sem_t (1 permit: sem_wait; sem_post) or one robust
 *       pshared pthread mutex (lock; unlock), nothing in between. All start at one CLOCK_MONOTONIC instant,
 *       run MS ms uncounted, then count their operations for SECONDS s:
 *       RESULT kind=contended impl=glibc prim=sem|mutex nproc=N seconds=S ops_per_s=TOTAL
 *              min_ops_per_s=.. max_ops_per_s=.. cpu_us_per_op=X
 *       (min/max over the processes; cpu = user+sys of all children over the counted window / counted ops).
 *
 * Built by bench/run.sh with the system cc; not part of the library. Exit status 2 on any failure.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define LINE 64

static void die(const char *what, int err)
{
	fprintf(stderr, "native_bench: %s: %s\n", what, strerror(err));
	exit(2);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void *map_shared(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		die("mmap", errno);
	return p;
}

static void pin(int cpu)
{
	cpu_set_t set;

	if (cpu < 0)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) != 0)
		die("sched_setaffinity", errno);
}

static void cpu_us(int who, uint64_t *total)
{
	struct rusage ru;

	if (getrusage(who, &ru) != 0)
		die("getrusage", errno);
	*total = (uint64_t)ru.ru_utime.tv_sec * 1000000u + (uint64_t)ru.ru_utime.tv_usec +
		 (uint64_t)ru.ru_stime.tv_sec * 1000000u + (uint64_t)ru.ru_stime.tv_usec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static void init_robust_mutex(pthread_mutex_t *m)
{
	pthread_mutexattr_t a;
	int e;

	if ((e = pthread_mutexattr_init(&a)) != 0 ||
	    (e = pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED)) != 0 ||
	    (e = pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST)) != 0 ||
	    (e = pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ERRORCHECK)) != 0 ||
	    (e = pthread_mutex_init(m, &a)) != 0)
		die("pthread_mutex_init(robust, pshared, errorcheck)", e);
	pthread_mutexattr_destroy(&a);
}

static void lock(pthread_mutex_t *m)
{
	int e = pthread_mutex_lock(m);

	if (e == EOWNERDEAD)
		e = pthread_mutex_consistent(m);
	if (e != 0)
		die("pthread_mutex_lock", e);
}

static void unlock(pthread_mutex_t *m)
{
	int e = pthread_mutex_unlock(m);

	if (e != 0)
		die("pthread_mutex_unlock", e);
}

/* ------------------------------------------------------------------------------------------ uncontended */

static int mutex_uncontended(uint64_t iters, unsigned runs)
{
	pthread_mutex_t *m = map_shared(4096);
	double ns[1000], median;

	init_robust_mutex(m);
	for (unsigned r = 0; r < runs; r++) {
		uint64_t t0 = now_ns();

		for (uint64_t i = 0; i < iters; i++) {
			lock(m);
			unlock(m);
		}
		ns[r] = (double)(now_ns() - t0) / (double)iters;
		printf("RUN op=robust_mutex_lock_unlock run=%u iters=%" PRIu64 " ns_per_op=%.2f\n", r + 1, iters,
		       ns[r]);
		fflush(stdout);
	}
	qsort(ns, runs, sizeof(*ns), cmp_double);
	median = runs % 2 ? ns[runs / 2] : (ns[runs / 2 - 1] + ns[runs / 2]) / 2;
	printf("RESULT op=robust_mutex_lock_unlock ns_per_op_best=%.2f ns_per_op_median=%.2f\n", ns[0], median);
	return 0;
}

/* ------------------------------------------------------------------------------------------ spin ping-pong */

struct spin_words {
	uint64_t ping __attribute__((aligned(LINE)));
	uint64_t pong __attribute__((aligned(LINE)));
};

static uint64_t spin_until(const uint64_t *w, uint64_t v)
{
	uint64_t x;

	while ((x = __atomic_load_n(w, __ATOMIC_ACQUIRE)) < v)
		__builtin_ia32_pause();
	return x;
}

static int spin_pingpong(uint64_t rounds, uint64_t warmup, int p, int q)
{
	struct spin_words *w = map_shared(4096);
	uint64_t *rtt = calloc(rounds, sizeof(*rtt)), total = warmup + rounds, self, kids;
	pid_t child;
	int status;
	char cpus[32] = "any";

	if (p >= 0)
		snprintf(cpus, sizeof(cpus), "%d,%d", p, q);
	if (!rtt)
		die("calloc", errno);
	fflush(stdout);
	child = fork();
	if (child < 0)
		die("fork", errno);
	if (child == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		pin(q);
		for (uint64_t i = 1; i <= total; i++) {
			spin_until(&w->ping, i);
			__atomic_store_n(&w->pong, i, __ATOMIC_RELEASE);
		}
		_exit(0);
	}
	pin(p);
	for (uint64_t i = 1; i <= total; i++) {
		uint64_t t0 = now_ns();

		__atomic_store_n(&w->ping, i, __ATOMIC_RELEASE);
		spin_until(&w->pong, i);
		if (i > warmup)
			rtt[i - warmup - 1] = now_ns() - t0;
	}
	if (waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		die("spin child failed", ECHILD);
	cpu_us(RUSAGE_SELF, &self);
	cpu_us(RUSAGE_CHILDREN, &kids);
	{
		uint64_t sum = 0;

		for (uint64_t i = 0; i < rounds; i++)
			sum += rtt[i];
		qsort(rtt, rounds, sizeof(*rtt), cmp_u64);
#define PCT(x) rtt[(uint64_t)((double)(rounds - 1) * (x))]
		printf("RESULT mech=c_spin rounds=%" PRIu64 " cpus=%s p50_ns=%" PRIu64 " p90_ns=%" PRIu64
		       " p99_ns=%" PRIu64 " p999_ns=%" PRIu64 " max_ns=%" PRIu64 " mean_ns=%" PRIu64
		       " cpu_us_per_rt=%.3f\n",
		       rounds, cpus, PCT(0.5), PCT(0.9), PCT(0.99),
		       PCT(0.999), rtt[rounds - 1], sum / rounds, (double)(self + kids) / (double)total);
#undef PCT
	}
	free(rtt);
	return 0;
}

/* ------------------------------------------------------------------------------------------ contended */

struct shared {
	sem_t sem __attribute__((aligned(LINE)));
	pthread_mutex_t mutex __attribute__((aligned(LINE)));
	uint64_t start_ns __attribute__((aligned(LINE)));
	uint64_t ops[64] __attribute__((aligned(LINE)));
	uint64_t cpu[64] __attribute__((aligned(LINE)));
};

static int contended(int use_mutex, int nproc, double seconds, uint64_t warmup_ms)
{
	struct shared *s = map_shared(sizeof(struct shared));
	uint64_t warm_ns = warmup_ms * 1000000u, run_ns = (uint64_t)(seconds * 1e9), total = 0, mn = UINT64_MAX,
		 mx = 0, kids = 0;
	pid_t pids[64];

	if (nproc < 1 || nproc > 64)
		die("NPROC must be 1..64", EINVAL);
	if (sem_init(&s->sem, 1, 1) != 0)
		die("sem_init", errno);
	init_robust_mutex(&s->mutex);
	s->start_ns = now_ns() + 200000000u; /* 200 ms: every child is forked and waiting by then */
	fflush(stdout);
	for (int k = 0; k < nproc; k++) {
		pids[k] = fork();
		if (pids[k] < 0)
			die("fork", errno);
		if (pids[k] == 0) {
			uint64_t t_count = s->start_ns + warm_ns, t_end = t_count + run_ns, n = 0, counted = 0, c0 = 0, c1;
			int counting = 0;

			prctl(PR_SET_PDEATHSIG, SIGKILL);
			while (now_ns() < s->start_ns)
				usleep(100);
			for (;;) {
				if (use_mutex) {
					lock(&s->mutex);
					unlock(&s->mutex);
				} else {
					while (sem_wait(&s->sem) != 0)
						if (errno != EINTR)
							die("sem_wait", errno);
					if (sem_post(&s->sem) != 0)
						die("sem_post", errno);
				}
				n++;
				if ((n & 255) == 0) {
					uint64_t t = now_ns();

					if (!counting && t >= t_count) {
						counting = 1;
						counted = n;
						cpu_us(RUSAGE_SELF, &c0);
					}
					if (t >= t_end)
						break;
				}
			}
			cpu_us(RUSAGE_SELF, &c1);
			s->ops[k] = counting ? n - counted : n;
			s->cpu[k] = c1 - c0;
			_exit(0);
		}
	}
	for (int k = 0; k < nproc; k++) {
		int status;

		if (waitpid(pids[k], &status, 0) != pids[k] || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
			die("contended child failed", ECHILD);
		total += s->ops[k];
		kids += s->cpu[k];
		mn = s->ops[k] < mn ? s->ops[k] : mn;
		mx = s->ops[k] > mx ? s->ops[k] : mx;
	}
	printf("RESULT kind=contended impl=glibc prim=%s nproc=%d seconds=%.1f ops_per_s=%.0f min_ops_per_s=%.0f "
	       "max_ops_per_s=%.0f cpu_us_per_op=%.4f\n",
	       use_mutex ? "mutex" : "sem", nproc, seconds, (double)total / seconds, (double)mn / seconds,
	       (double)mx / seconds, (double)kids / (double)total);
	return 0;
}

/* ------------------------------------------------------------------------------------------ main */

static void usage(void)
{
	fprintf(stderr, "usage: native_bench mutex-uncontended ITERS [--runs K]\n"
			"       native_bench spin-pingpong ROUNDS [--cpus P,Q] [--warmup W]\n"
			"       native_bench contended sem|mutex NPROC SECONDS [--warmup-ms MS]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	if (argc >= 3 && strcmp(argv[1], "mutex-uncontended") == 0) {
		unsigned runs = 5;

		for (int i = 3; i + 1 < argc; i += 2)
			if (strcmp(argv[i], "--runs") == 0)
				runs = (unsigned)atoi(argv[i + 1]);
		if (runs < 1 || runs > 1000)
			usage();
		return mutex_uncontended(strtoull(argv[2], NULL, 10), runs);
	}
	if (argc >= 3 && strcmp(argv[1], "spin-pingpong") == 0) {
		uint64_t rounds = strtoull(argv[2], NULL, 10), warmup = rounds / 10;
		int p = -1, q = -1;

		for (int i = 3; i + 1 < argc; i += 2) {
			if (strcmp(argv[i], "--cpus") == 0 && sscanf(argv[i + 1], "%d,%d", &p, &q) == 2)
				continue;
			if (strcmp(argv[i], "--warmup") == 0) {
				warmup = strtoull(argv[i + 1], NULL, 10);
				continue;
			}
			usage();
		}
		if (rounds < 1)
			usage();
		return spin_pingpong(rounds, warmup, p, q);
	}
	if (argc >= 5 && strcmp(argv[1], "contended") == 0) {
		uint64_t warm = 500;

		for (int i = 5; i + 1 < argc; i += 2)
			if (strcmp(argv[i], "--warmup-ms") == 0)
				warm = strtoull(argv[i + 1], NULL, 10);
		if (strcmp(argv[2], "sem") != 0 && strcmp(argv[2], "mutex") != 0)
			usage();
		return contended(strcmp(argv[2], "mutex") == 0, atoi(argv[3]), atof(argv[4]), warm);
	}
	usage();
}
