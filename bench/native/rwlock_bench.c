// SPDX-License-Identifier: Apache-2.0
/*
 * rwlock_bench - the native reference for shmsync's RwSemaphore benchmarks (bench/rwsem.sh): glibc's
 * process-shared pthread_rwlock_t and the C copy of the shmsync rwsem protocol
 * (kernel-mirror/include/shmsync/rwsem.h), measured the same way as the Java side.
 *
 *   rwlock_bench uncontended ITERS [--runs K]
 *       One process, one thread, the locks in a MAP_SHARED anonymous mapping (one cache line each).
 *       K runs (default 5) of ITERS x { lock; unlock } for each OP. Per run:
 *           RUN op=OP run=I iters=N ns_per_op=X
 *       per operation:
 *           RESULT op=OP ns_per_op_best=X ns_per_op_median=X
 *       with OP = glibc_rdlock+unlock   pthread_rwlock_rdlock + pthread_rwlock_unlock (PTHREAD_PROCESS_SHARED)
 *                 glibc_wrlock+unlock   pthread_rwlock_wrlock + pthread_rwlock_unlock
 *                 rwsem_read+up_read    shmsync_rwsem_down_read + shmsync_rwsem_up_read (rwsem.h)
 *                 rwsem_write+up_write  shmsync_rwsem_down_write + shmsync_rwsem_up_write
 *
 *   rwlock_bench throughput MECH PROCS MILLIS [--write-permille W]
 *       fork()s PROCS processes that share one lock (MECH = glibc or rwsem) and two u64 counters; after a
 *       common start each loops for MILLIS ms: with probability W/1000 (default 50, i.e. 95 % reads) a write
 *       (lock, both counters + 1, unlock), else a read (lock, compare the counters, unlock). Prints
 *           RESULT mech=MECH procs=P millis=M write_permille=W ops=N ops_per_sec=X violations=V
 *       (V = reads that saw the counters differ: must be 0).
 *
 * Every failure prints "rwlock_bench: what: strerror" on stderr and exits 2. Built by bench/rwsem.sh with
 * the system cc; not part of the library.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "shmsync/rwsem.h"

#define CACHE_LINE 64

static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "rwlock_bench: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(2);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t parse_u64(const char *what, const char *s, uint64_t min, uint64_t max)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		die("%s: expected %" PRIu64 "..%" PRIu64 ", got '%s'", what, min, max, s);
	return v;
}

struct shared {
	union { pthread_rwlock_t lock; char line[CACHE_LINE]; } glibc;
	union { __u64 state; char line[CACHE_LINE]; } rwsem __attribute__((aligned(CACHE_LINE)));
	union { struct { volatile uint64_t a, b; } c; char line[CACHE_LINE]; } counters;
	union { struct { uint32_t ready; uint32_t go; uint64_t ops; uint64_t violations; } s; char line[CACHE_LINE]; } ctl;
};

static struct shared *map_shared(void)
{
	pthread_rwlockattr_t attr;
	struct shared *p = mmap(NULL, sizeof(*p), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		die("mmap: %s", strerror(errno));
	if (pthread_rwlockattr_init(&attr) || pthread_rwlockattr_setpshared(&attr, PTHREAD_PROCESS_SHARED) ||
	    pthread_rwlock_init(&p->glibc.lock, &attr))
		die("pthread_rwlock_init(pshared) failed");
	pthread_rwlockattr_destroy(&attr);
	return p;
}

static const struct shmsync_wait forever = { .deadline = { -1, 0 } };

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static void report_runs(const char *op, double *ns, unsigned runs)
{
	double median;

	qsort(ns, runs, sizeof(*ns), cmp_double);
	median = runs % 2 ? ns[runs / 2] : (ns[runs / 2 - 1] + ns[runs / 2]) / 2;
	printf("RESULT op=%s ns_per_op_best=%.2f ns_per_op_median=%.2f\n", op, ns[0], median);
	fflush(stdout);
}

enum op { GLIBC_RD, GLIBC_WR, RWSEM_RD, RWSEM_WR, OPS };
static const char *const op_names[OPS] = {
	"glibc_rdlock+unlock", "glibc_wrlock+unlock", "rwsem_read+up_read", "rwsem_write+up_write"
};

/* noinline: one call per operation, as a library call from Java or C would be */
static __attribute__((noinline)) void loop(enum op op, struct shared *m, uint64_t iters)
{
	struct shmsync_rwref r = { .state = &m->rwsem.state };

	for (uint64_t i = 0; i < iters; i++) {
		switch (op) {
		case GLIBC_RD:
			if (pthread_rwlock_rdlock(&m->glibc.lock) || pthread_rwlock_unlock(&m->glibc.lock))
				die("pthread_rwlock_rdlock/unlock failed");
			break;
		case GLIBC_WR:
			if (pthread_rwlock_wrlock(&m->glibc.lock) || pthread_rwlock_unlock(&m->glibc.lock))
				die("pthread_rwlock_wrlock/unlock failed");
			break;
		case RWSEM_RD:
			if (shmsync_rwsem_down_read(&r, &forever) || shmsync_rwsem_up_read(&r))
				die("rwsem read failed");
			break;
		default:
			if (shmsync_rwsem_down_write(&r, &forever) || shmsync_rwsem_up_write(&r))
				die("rwsem write failed");
			break;
		}
		__asm__ volatile("" ::: "memory");
	}
}

static int cmd_uncontended(int argc, char **argv)
{
	const char *iters_arg = NULL;
	unsigned runs = 5;
	uint64_t iters;
	struct shared *m = map_shared();
	double *ns;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
			runs = (unsigned)parse_u64("--runs", argv[++i], 1, 1000);
		else if (argv[i][0] == '-' || iters_arg)
			die("usage: rwlock_bench uncontended ITERS [--runs K]");
		else
			iters_arg = argv[i];
	}
	if (!iters_arg)
		die("usage: rwlock_bench uncontended ITERS [--runs K]");
	iters = parse_u64("ITERS", iters_arg, 1, UINT64_C(1) << 40);
	ns = calloc(runs, sizeof(*ns));
	if (!ns)
		die("calloc failed");
	for (int op = 0; op < OPS; op++) {
		loop(op, m, iters / 10 + 1); /* warm-up */
		for (unsigned r = 0; r < runs; r++) {
			uint64_t t0 = now_ns();

			loop(op, m, iters);
			ns[r] = (double)(now_ns() - t0) / (double)iters;
			printf("RUN op=%s run=%u iters=%" PRIu64 " ns_per_op=%.2f\n", op_names[op], r + 1, iters, ns[r]);
			fflush(stdout);
		}
		report_runs(op_names[op], ns, runs);
	}
	free(ns);
	return 0;
}

/* xorshift64: a cheap, deterministic per-process choice of read or write */
static uint64_t next(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

static void worker(struct shared *m, int glibc, unsigned permille, uint64_t millis, uint64_t seed)
{
	struct shmsync_rwref r = { .state = &m->rwsem.state };
	uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1, ops = 0, bad = 0, end;

	__atomic_fetch_add(&m->ctl.s.ready, 1, __ATOMIC_SEQ_CST);
	while (!__atomic_load_n(&m->ctl.s.go, __ATOMIC_ACQUIRE))
		;
	end = now_ns() + millis * 1000000u;
	do {
		for (int k = 0; k < 256; k++, ops++) {
			int write = next(&x) % 1000 < permille;

			if (glibc ? (write ? pthread_rwlock_wrlock(&m->glibc.lock) : pthread_rwlock_rdlock(&m->glibc.lock))
				  : (write ? shmsync_rwsem_down_write(&r, &forever)
					   : shmsync_rwsem_down_read(&r, &forever)))
				die("lock failed");
			if (write) {
				m->counters.c.a++;
				m->counters.c.b++;
			} else if (m->counters.c.a != m->counters.c.b) {
				bad++;
			}
			if (glibc ? pthread_rwlock_unlock(&m->glibc.lock)
				  : (write ? shmsync_rwsem_up_write(&r) : shmsync_rwsem_up_read(&r)))
				die("unlock failed");
		}
	} while (now_ns() < end);
	__atomic_fetch_add(&m->ctl.s.ops, ops, __ATOMIC_SEQ_CST);
	__atomic_fetch_add(&m->ctl.s.violations, bad, __ATOMIC_SEQ_CST);
}

static int cmd_throughput(int argc, char **argv)
{
	unsigned permille = 50;
	uint64_t procs, millis;
	struct shared *m;
	int glibc, failed = 0;

	if (argc >= 5 && strcmp(argv[3], "--write-permille") == 0)
		permille = (unsigned)parse_u64("--write-permille", argv[4], 0, 1000);
	else if (argc != 3)
		die("usage: rwlock_bench throughput glibc|rwsem PROCS MILLIS [--write-permille W]");
	if (strcmp(argv[0], "glibc") && strcmp(argv[0], "rwsem"))
		die("MECH must be glibc or rwsem, got '%s'", argv[0]);
	glibc = strcmp(argv[0], "glibc") == 0;
	procs = parse_u64("PROCS", argv[1], 1, 256);
	millis = parse_u64("MILLIS", argv[2], 1, 3600000);
	m = map_shared();
	for (uint64_t i = 0; i < procs; i++) {
		pid_t pid = fork();

		if (pid < 0)
			die("fork: %s", strerror(errno));
		if (pid == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			worker(m, glibc, permille, millis, i + 1);
			_exit(0);
		}
	}
	while (__atomic_load_n(&m->ctl.s.ready, __ATOMIC_ACQUIRE) != procs)
		usleep(1000);
	__atomic_store_n(&m->ctl.s.go, 1, __ATOMIC_RELEASE);
	for (uint64_t i = 0; i < procs; i++) {
		int status;

		if (wait(&status) < 0 || !WIFEXITED(status) || WEXITSTATUS(status))
			failed = 1;
	}
	if (failed)
		die("a worker failed");
	printf("RESULT mech=%s procs=%" PRIu64 " millis=%" PRIu64 " write_permille=%u ops=%" PRIu64
	       " ops_per_sec=%.0f violations=%" PRIu64 "\n", glibc ? "glibc" : "rwsem", procs, millis, permille,
	       m->ctl.s.ops, (double)m->ctl.s.ops * 1000.0 / (double)millis, m->ctl.s.violations);
	return m->ctl.s.violations ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "uncontended") == 0)
		return cmd_uncontended(argc - 2, argv + 2);
	if (argc >= 2 && strcmp(argv[1], "throughput") == 0)
		return cmd_throughput(argc - 2, argv + 2);
	die("usage: rwlock_bench uncontended ITERS [--runs K] | throughput glibc|rwsem PROCS MILLIS "
	    "[--write-permille W]");
}
