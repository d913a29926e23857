// SPDX-License-Identifier: Apache-2.0
/*
 * waitv_pingpong - attribution diagnostic for bench/run.sh: what does the *kind* of futex wait cost in a
 * blocking cross-process ping-pong? Same two-process ping-pong (fork, MAP_SHARED anonymous page, a minimal
 * futex semaphore: value word + waiter count, wake only when a waiter is registered), four ways to sleep:
 *
 *   futex_wait  FUTEX_WAIT_BITSET on the value word (what glibc's sem_wait does)
 *   waitv_1     futex_waitv {value word}
 *   waitv_2     futex_waitv {value word, a private per-process "abort" word}
 *   waitv_3     futex_waitv {value word, a second shared word, a private word}
 *               = what a shmsync region semaphore waits on (semaphore word, directory-entry sequence word,
 *                 the thread's interrupt word); a PosixSemaphore waits like waitv_2
 *
 *   waitv_pingpong MODE ROUNDS [--cpus P,Q] [--warmup W]
 *   prints: RESULT mech=MODE rounds=R cpus=P,Q p50_ns=.. p90_ns=.. p99_ns=.. p999_ns=.. max_ns=.. mean_ns=..
 *           cpu_us_per_rt=X   (user+sys of both processes over all W+R rounds, as sem_bench pingpong)
 *
 * Built by bench/run.sh with the system cc; not part of the library.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <linux/futex.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef SYS_futex_waitv
#define SYS_futex_waitv 449
#endif
#define FUTEX2_SIZE_U32 0x02
#define FUTEX2_PRIVATE 128

struct waitv { uint64_t val; uint64_t uaddr; uint32_t flags; uint32_t reserved; };
struct sem { uint32_t value; uint32_t waiters; uint32_t other; uint32_t pad[13]; }; /* one cache line */

static int mode;
static uint32_t abort_word; /* private: every process has its own copy after fork */

static void die(const char *what) { fprintf(stderr, "waitv_pingpong: %s: %s\n", what, strerror(errno)); exit(2); }

static void sleep_on(struct sem *s)
{
	struct waitv w[3];
	int n = 0;

	if (mode == 0) {
		syscall(SYS_futex, &s->value, FUTEX_WAIT_BITSET, 0, NULL, NULL, FUTEX_BITSET_MATCH_ANY);
		return;
	}
	memset(w, 0, sizeof(w));
	w[n].uaddr = (uintptr_t)&s->value;
	w[n++].flags = FUTEX2_SIZE_U32;
	if (mode == 3) {
		w[n].uaddr = (uintptr_t)&s->other;
		w[n++].flags = FUTEX2_SIZE_U32;
	}
	if (mode >= 2) {
		w[n].uaddr = (uintptr_t)&abort_word;
		w[n++].flags = FUTEX2_SIZE_U32 | FUTEX2_PRIVATE;
	}
	if (syscall(SYS_futex_waitv, w, n, 0, NULL, CLOCK_MONOTONIC) < 0 && errno != EAGAIN && errno != EINTR)
		die("futex_waitv");
}

static void post(struct sem *s)
{
	__atomic_fetch_add(&s->value, 1, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&s->waiters, __ATOMIC_SEQ_CST) != 0)
		syscall(SYS_futex, &s->value, FUTEX_WAKE, 1, NULL, NULL, 0);
}

static void wait_sem(struct sem *s)
{
	for (;;) {
		uint32_t v = __atomic_load_n(&s->value, __ATOMIC_SEQ_CST);

		while (v != 0) {
			if (__atomic_compare_exchange_n(&s->value, &v, v - 1, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
				return;
		}
		__atomic_fetch_add(&s->waiters, 1, __ATOMIC_SEQ_CST);
		if (__atomic_load_n(&s->value, __ATOMIC_SEQ_CST) == 0)
			sleep_on(s);
		__atomic_fetch_sub(&s->waiters, 1, __ATOMIC_SEQ_CST);
	}
}

static void pin(int cpu)
{
	cpu_set_t set;

	if (cpu < 0)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) != 0)
		die("sched_setaffinity");
}

static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

static uint64_t pct(const uint64_t *s, uint64_t n, double p)
{
	uint64_t i = (uint64_t)(p * (double)n + 0.999999);

	return s[(i ? i : 1) - 1];
}

int main(int argc, char **argv)
{
	static const char *names[] = { "futex_wait", "waitv_1", "waitv_2", "waitv_3" };
	int p = -1, q = -1, status;
	uint64_t rounds, warmup, *rtt, sum = 0;
	long long w = -1;
	struct sem *s;
	struct rusage self, kids;
	pid_t child;

	if (argc < 3)
		goto usage;
	for (mode = 0; mode < 4 && strcmp(argv[1], names[mode]) != 0; mode++)
		;
	if (mode == 4)
		goto usage;
	rounds = strtoull(argv[2], NULL, 10);
	for (int i = 3; i < argc; i++) {
		if (strcmp(argv[i], "--cpus") == 0 && i + 1 < argc && sscanf(argv[i + 1], "%d,%d", &p, &q) == 2)
			i++;
		else if (strcmp(argv[i], "--warmup") == 0 && i + 1 < argc)
			w = atoll(argv[++i]);
		else
			goto usage;
	}
	if (rounds == 0)
		goto usage;
	warmup = w < 0 ? rounds / 10 : (uint64_t)w;
	rtt = calloc(rounds, sizeof(*rtt));
	s = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (!rtt || s == MAP_FAILED)
		die("allocation");
	fflush(stdout);
	child = fork();
	if (child < 0)
		die("fork");
	if (child == 0) {
		pin(q);
		for (uint64_t i = 0; i < warmup + rounds; i++) {
			wait_sem(&s[0]);
			post(&s[1]);
		}
		_exit(0);
	}
	pin(p);
	for (uint64_t i = 0; i < warmup; i++) {
		post(&s[0]);
		wait_sem(&s[1]);
	}
	for (uint64_t i = 0; i < rounds; i++) {
		uint64_t t0 = now_ns();

		post(&s[0]);
		wait_sem(&s[1]);
		rtt[i] = now_ns() - t0;
		sum += rtt[i];
	}
	if (waitpid(child, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		die("child");
	getrusage(RUSAGE_SELF, &self);
	getrusage(RUSAGE_CHILDREN, &kids);
	qsort(rtt, rounds, sizeof(*rtt), cmp);
	printf("RESULT mech=%s rounds=%" PRIu64 " cpus=", names[mode], rounds);
	if (p >= 0)
		printf("%d,%d", p, q);
	else
		printf("any");
	double cpu_us = (double)(self.ru_utime.tv_sec + self.ru_stime.tv_sec + kids.ru_utime.tv_sec + kids.ru_stime.tv_sec) * 1e6
		+ (double)(self.ru_utime.tv_usec + self.ru_stime.tv_usec + kids.ru_utime.tv_usec + kids.ru_stime.tv_usec);
	printf(" p50_ns=%" PRIu64 " p90_ns=%" PRIu64 " p99_ns=%" PRIu64 " p999_ns=%" PRIu64 " max_ns=%" PRIu64
	       " mean_ns=%" PRIu64 " cpu_us_per_rt=%.2f\n",
	       pct(rtt, rounds, 0.50), pct(rtt, rounds, 0.90), pct(rtt, rounds, 0.99), pct(rtt, rounds, 0.999),
	       rtt[rounds - 1], (sum + rounds / 2) / rounds, cpu_us / (double)(warmup + rounds));
	return 0;
usage:
	fprintf(stderr, "usage: waitv_pingpong futex_wait|waitv_1|waitv_2|waitv_3 ROUNDS [--cpus P,Q] [--warmup W]\n");
	return 2;
}
