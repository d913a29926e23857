// SPDX-License-Identifier: Apache-2.0
/*
 * sem_bench - the native floor that shmsync's Java benchmarks are compared
 * against: what glibc's process-shared sem_t (and a bare shared futex)
 * cost on this machine, measured the same way as the Java side.
 *
 *   sem_bench uncontended ITERS [--runs K]
 *       One process, a pshared sem_t in a MAP_SHARED anonymous mapping.
 *       K runs (default 5) of ITERS x { sem_post; sem_wait }, then K runs of
 *       ITERS x { CAS 0->1 acquire; store 0 release } on a word in the same
 *       mapping. Per run:   RUN op=OP run=I iters=N ns_per_op=X
 *       Per operation:      RESULT op=OP ns_per_op_best=X ns_per_op_median=X
 *       with OP = sem_post+sem_wait or cas_lock_unlock.
 *
 *   sem_bench pingpong ROUNDS [--cpus P,Q] [--warmup W]
 *   sem_bench futex-pingpong ROUNDS [--cpus P,Q] [--warmup W]
 *       fork(); the parent (pinned to CPU P) posts A and waits B, the child
 *       (pinned to CPU Q) waits A and posts B. P == Q puts both on one CPU.
 *       W warm-up round trips (default ROUNDS/10) are not sampled. Prints
 *       RESULT mech=M rounds=R cpus=P,Q p50_ns=.. p90_ns=.. p99_ns=..
 *              p999_ns=.. max_ns=.. mean_ns=.. cpu_us_per_rt=X
 *       with M = glibc_sem (pshared sem_t) or raw_futex (see struct
 *       futex_sem below), cpus=any when --cpus is not given, and
 *       cpu_us_per_rt = user+sys CPU time of both processes
 *       (getrusage RUSAGE_SELF + RUSAGE_CHILDREN after waitpid) divided by
 *       the W+R round trips that consumed it.
 *
 * Every failure prints "sem_bench: what: strerror" on stderr and exits 2.
 */
#define _GNU_SOURCE
#include "common.h"

#include <errno.h>
#include <inttypes.h>
#include <linux/futex.h>
#include <semaphore.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define BENCH_MAX_COUNT (UINT64_C(1) << 40)
#define CACHE_LINE 64

static void usage(void)
{
	fprintf(stderr,
		"usage: sem_bench uncontended ITERS [--runs K]\n"
		"       sem_bench pingpong ROUNDS [--cpus P,Q] [--warmup W]\n"
		"       sem_bench futex-pingpong ROUNDS [--cpus P,Q] [--warmup W]\n");
	exit(EXIT_TOOL_FAILURE);
}

static void *map_shared(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		die_errno("mmap(MAP_SHARED|MAP_ANONYMOUS, %zu)", size);
	return p;
}

/* ---------------------------------------------------------------------------
 * The raw shared-futex semaphore (mech=raw_futex).
 *
 * Same idea as glibc's, in two separate 32-bit words: post adds a token and
 * issues FUTEX_WAKE only if a waiter has registered; wait takes a token with
 * a CAS, else registers in `waiters` and sleeps on `value` while it is 0.
 * No wake-up is lost: post does (RMW value; load waiters) and a sleeper does
 * (RMW waiters; load value), all seq_cst, so at least one side sees the
 * other; and FUTEX_WAIT itself re-checks value == 0 under the futex lock.
 * Futex ops are non-private (no FUTEX_PRIVATE_FLAG): the words are shared
 * between processes.
 * ------------------------------------------------------------------------- */
struct futex_sem {
	uint32_t value;		/* tokens; the futex word */
	uint32_t waiters;	/* registered sleepers */
};

static long sys_futex(uint32_t *uaddr, int op, uint32_t val)
{
	return syscall(SYS_futex, uaddr, op, val, NULL, NULL, 0);
}

static bool futex_sem_try_take(struct futex_sem *s)
{
	uint32_t v = __atomic_load_n(&s->value, __ATOMIC_RELAXED);

	while (v > 0) {
		if (__atomic_compare_exchange_n(&s->value, &v, v - 1, true,
						__ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
			return true;
	}
	return false;
}

static void futex_sem_post(struct futex_sem *s)
{
	__atomic_fetch_add(&s->value, 1, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&s->waiters, __ATOMIC_SEQ_CST) > 0 &&
	    sys_futex(&s->value, FUTEX_WAKE, 1) < 0)
		die_errno("FUTEX_WAKE");
}

static void futex_sem_wait(struct futex_sem *s)
{
	if (futex_sem_try_take(s))
		return;
	__atomic_fetch_add(&s->waiters, 1, __ATOMIC_SEQ_CST);
	for (;;) {
		if (__atomic_load_n(&s->value, __ATOMIC_SEQ_CST) > 0) {
			if (futex_sem_try_take(s))
				break;
			continue;
		}
		if (sys_futex(&s->value, FUTEX_WAIT, 0) < 0 && errno != EAGAIN && errno != EINTR)
			die_errno("FUTEX_WAIT");
	}
	__atomic_fetch_sub(&s->waiters, 1, __ATOMIC_RELAXED);
}

/* ---------------------------------------------------------------------------
 * The two mechanisms behind one interface, for the ping-pong driver.
 * ------------------------------------------------------------------------- */
union channel {
	sem_t sem;
	struct futex_sem fsem;
	char line[CACHE_LINE];	/* one cache line each: no false sharing */
};

struct mechanism {
	const char *name;
	void (*init)(union channel *c);
	void (*post)(union channel *c);
	void (*wait)(union channel *c);
};

static void glibc_init(union channel *c)
{
	if (sem_init(&c->sem, 1, 0) != 0)
		die_errno("sem_init(pshared)");
}

static void glibc_post(union channel *c)
{
	if (sem_post(&c->sem) != 0)
		die_errno("sem_post");
}

static void glibc_wait(union channel *c)
{
	while (sem_wait(&c->sem) != 0) {
		if (errno != EINTR)
			die_errno("sem_wait");
	}
}

static void raw_init(union channel *c)
{
	c->fsem.value = 0;
	c->fsem.waiters = 0;
}

static void raw_post(union channel *c)
{
	futex_sem_post(&c->fsem);
}

static void raw_wait(union channel *c)
{
	futex_sem_wait(&c->fsem);
}

static const struct mechanism glibc_sem = { "glibc_sem", glibc_init, glibc_post, glibc_wait };
static const struct mechanism raw_futex = { "raw_futex", raw_init, raw_post, raw_wait };

/* ---------------------------------------------------------------------------
 * uncontended
 * ------------------------------------------------------------------------- */
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

static int cmd_uncontended(int argc, char **argv)
{
	const char *iters_arg = NULL;
	uint64_t iters;
	unsigned runs = 5;
	double *ns;
	union channel *map;
	sem_t *sem;
	uint32_t *word;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
			runs = (unsigned)parse_u64("--runs", argv[++i], 1, 1000);
		else if (argv[i][0] == '-' || iters_arg)
			usage();
		else
			iters_arg = argv[i];
	}
	if (!iters_arg)
		usage();
	iters = parse_u64("ITERS", iters_arg, 1, BENCH_MAX_COUNT);
	ns = calloc(runs, sizeof(*ns));
	if (!ns)
		die_errno("calloc");

	map = map_shared(2 * sizeof(*map));
	sem = &map[0].sem;
	word = (uint32_t *)(void *)&map[1];
	if (sem_init(sem, 1, 0) != 0)
		die_errno("sem_init(pshared)");

	for (unsigned r = 0; r < runs; r++) {
		uint64_t t0 = now_ns();

		for (uint64_t i = 0; i < iters; i++) {
			if (sem_post(sem) != 0)
				die_errno("sem_post");
			if (sem_wait(sem) != 0)
				die_errno("sem_wait");
		}
		ns[r] = (double)(now_ns() - t0) / (double)iters;
		printf("RUN op=sem_post+sem_wait run=%u iters=%" PRIu64 " ns_per_op=%.2f\n",
		       r + 1, iters, ns[r]);
		fflush(stdout);
	}
	report_runs("sem_post+sem_wait", ns, runs);

	for (unsigned r = 0; r < runs; r++) {
		uint64_t t0 = now_ns();

		for (uint64_t i = 0; i < iters; i++) {
			uint32_t expected = 0;

			if (!__atomic_compare_exchange_n(word, &expected, 1, false,
							 __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
				die("cas_lock_unlock: lock word was %" PRIu32 ", not 0", expected);
			__atomic_store_n(word, 0, __ATOMIC_RELEASE);
		}
		ns[r] = (double)(now_ns() - t0) / (double)iters;
		printf("RUN op=cas_lock_unlock run=%u iters=%" PRIu64 " ns_per_op=%.2f\n",
		       r + 1, iters, ns[r]);
		fflush(stdout);
	}
	report_runs("cas_lock_unlock", ns, runs);

	sem_destroy(sem);
	munmap(map, 2 * sizeof(*map));
	free(ns);
	return 0;
}

/* ---------------------------------------------------------------------------
 * pingpong / futex-pingpong
 * ------------------------------------------------------------------------- */
enum { CH_PING, CH_PONG, CH_READY, CH_COUNT };

/*
 * The parent blocks in wait() with no timeout, so a child that dies early
 * (pinning failed, killed) would hang it. SIGCHLD reaps the child: a clean
 * exit (it only exits 0 after its last post) is recorded for the final
 * waitpid; anything else ends the parent with status 2.
 */
static volatile sig_atomic_t pong_reaped;
static int pong_status;

static void on_sigchld(int sig)
{
	static const char msg[] = "sem_bench: pong child died before finishing\n";
	int saved_errno = errno, status;

	(void)sig;
	if (waitpid(-1, &status, WNOHANG) > 0) {
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			ssize_t ignored = write(STDERR_FILENO, msg, sizeof(msg) - 1);

			(void)ignored;
			_exit(EXIT_TOOL_FAILURE);
		}
		pong_status = status;
		pong_reaped = 1;
	}
	errno = saved_errno;
}

static void catch_child_exit(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigchld;
	sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGCHLD, &sa, NULL) != 0)
		die_errno("sigaction(SIGCHLD)");
}

static int reap_child(pid_t child)
{
	int status;

	for (;;) {
		if (pong_reaped)
			return pong_status;
		if (waitpid(child, &status, 0) == child)
			return status;
		if (errno != EINTR && errno != ECHILD)
			die_errno("waitpid");
		/* ECHILD: the handler reaped it between our check and the call. */
	}
}

static noreturn void pong_child(const struct mechanism *m, union channel *ch, int cpu,
				uint64_t total)
{
	/* Do not outlive a parent that died mid-run (it would never post again). */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0)
		die_errno("prctl(PR_SET_PDEATHSIG)");
	if (getppid() == 1)
		_exit(EXIT_TOOL_FAILURE);
	if (cpu >= 0)
		pin_to_cpu(cpu);
	m->post(&ch[CH_READY]);
	for (uint64_t i = 0; i < total; i++) {
		m->wait(&ch[CH_PING]);
		m->post(&ch[CH_PONG]);
	}
	_exit(0);
}

static void parse_cpus(const char *s, int *p, int *q)
{
	const char *comma = strchr(s, ',');
	char first[32];

	if (!comma || (size_t)(comma - s) >= sizeof(first))
		die("--cpus: expected P,Q, got '%s'", s);
	memcpy(first, s, (size_t)(comma - s));
	first[comma - s] = '\0';
	*p = parse_cpu("--cpus P", first);
	*q = parse_cpu("--cpus Q", comma + 1);
}

static int cmd_pingpong(const struct mechanism *m, int argc, char **argv)
{
	const char *rounds_arg = NULL;
	uint64_t rounds, warmup = UINT64_MAX, *rtt;
	uint64_t su, ss, cu, cs;
	int cpu_p = -1, cpu_q = -1, status;
	union channel *ch;
	struct latency_summary sum;
	char cpus[32];
	pid_t child;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--cpus") == 0 && i + 1 < argc)
			parse_cpus(argv[++i], &cpu_p, &cpu_q);
		else if (strcmp(argv[i], "--warmup") == 0 && i + 1 < argc)
			warmup = parse_u64("--warmup", argv[++i], 0, BENCH_MAX_COUNT);
		else if (argv[i][0] == '-' || rounds_arg)
			usage();
		else
			rounds_arg = argv[i];
	}
	if (!rounds_arg)
		usage();
	rounds = parse_u64("ROUNDS", rounds_arg, 1, BENCH_MAX_COUNT);
	if (warmup == UINT64_MAX)
		warmup = rounds / 10;

	rtt = malloc(rounds * sizeof(*rtt));
	if (!rtt)
		die_errno("malloc(%" PRIu64 " samples)", rounds);
	memset(rtt, 0, rounds * sizeof(*rtt));	/* fault the pages in before timing */

	ch = map_shared(CH_COUNT * sizeof(*ch));
	for (int i = 0; i < CH_COUNT; i++)
		m->init(&ch[i]);

	fflush(stdout);
	catch_child_exit();
	child = fork();
	if (child < 0)
		die_errno("fork");
	if (child == 0)
		pong_child(m, ch, cpu_q, warmup + rounds);

	if (cpu_p >= 0)
		pin_to_cpu(cpu_p);
	m->wait(&ch[CH_READY]);
	for (uint64_t i = 0; i < warmup; i++) {
		m->post(&ch[CH_PING]);
		m->wait(&ch[CH_PONG]);
	}
	for (uint64_t i = 0; i < rounds; i++) {
		uint64_t t0 = now_ns();

		m->post(&ch[CH_PING]);
		m->wait(&ch[CH_PONG]);
		rtt[i] = now_ns() - t0;
	}

	status = reap_child(child);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		die("pong child failed (wait status 0x%x)", status);
	cpu_time_us(RUSAGE_SELF, &su, &ss);
	cpu_time_us(RUSAGE_CHILDREN, &cu, &cs);

	sum = summarize_latencies(rtt, rounds);
	if (cpu_p >= 0)
		snprintf(cpus, sizeof(cpus), "%d,%d", cpu_p, cpu_q);
	else
		snprintf(cpus, sizeof(cpus), "any");
	printf("RESULT mech=%s rounds=%" PRIu64 " cpus=%s p50_ns=%" PRIu64 " p90_ns=%" PRIu64
	       " p99_ns=%" PRIu64 " p999_ns=%" PRIu64 " max_ns=%" PRIu64 " mean_ns=%" PRIu64
	       " cpu_us_per_rt=%.2f\n",
	       m->name, rounds, cpus, sum.p50, sum.p90, sum.p99, sum.p999, sum.max, sum.mean,
	       (double)(su + ss + cu + cs) / (double)(warmup + rounds));
	fflush(stdout);

	munmap(ch, CH_COUNT * sizeof(*ch));
	free(rtt);
	return 0;
}

int main(int argc, char **argv)
{
	const char *cmd;

	tool_name = "sem_bench";
	if (argc < 2)
		usage();
	cmd = argv[1];
	argc -= 2;
	argv += 2;
	if (strcmp(cmd, "uncontended") == 0)
		return cmd_uncontended(argc, argv);
	if (strcmp(cmd, "pingpong") == 0)
		return cmd_pingpong(&glibc_sem, argc, argv);
	if (strcmp(cmd, "futex-pingpong") == 0)
		return cmd_pingpong(&raw_futex, argc, argv);
	usage();
}
