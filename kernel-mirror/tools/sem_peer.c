// SPDX-License-Identifier: Apache-2.0
/*
 * sem_peer - a C peer that talks to shmsync semaphores through glibc's
 * own sem_open()/sem_post()/sem_wait(), for interop tests and the demo.
 *
 * A name "foo" or "/foo" is the glibc named semaphore /dev/shm/sem.foo.
 * Every failure prints "sem_peer: what: strerror" on stderr and exits 2;
 * success exits 0. Lines on stdout are flushed as they are written so a
 * parent process can wait for READY before it starts its side.
 *
 *   sem_peer create  NAME VALUE         sem_open(O_CREAT|O_EXCL, 0600, VALUE); prints OK
 *   sem_peer ping    A B ROUNDS [--cpu N] [--warmup W]
 *                                       per round: post A, wait B; prints READY, then
 *                                       RESULT rounds=.. p50_ns=.. p90_ns=.. p99_ns=..
 *                                       p999_ns=.. max_ns=.. mean_ns=.. user_us=.. sys_us=..
 *   sem_peer pong    A B ROUNDS [--cpu N] [--warmup W]
 *                                       W+ROUNDS times: wait A, post B; READY .. DONE rounds=..
 *   sem_peer produce NAME COUNT         post COUNT times; READY .. DONE count=..
 *   sem_peer consume NAME COUNT         wait COUNT times; READY .. DONE count=..
 *   sem_peer stat    NAME               value=V nwaiters=W private=P (raw sem_t words)
 *   sem_peer unlink  NAME               sem_unlink; prints OK
 *
 * ping and pong must be given the same W so the pong side does W+ROUNDS
 * waits; only the ROUNDS measured round trips enter the RESULT line.
 * user_us/sys_us are getrusage(RUSAGE_SELF) of the whole ping process.
 */
#define _GNU_SOURCE
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <semaphore.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

/* sem_open(3) rejects larger initial values with EINVAL. */
#define PEER_SEM_VALUE_MAX 2147483647u
#define PEER_MAX_COUNT (UINT64_C(1) << 40)

struct peer_opts {
	int cpu;		/* -1: leave the affinity alone */
	uint64_t warmup;
};

static void usage(void)
{
	fprintf(stderr,
		"usage: sem_peer create  NAME VALUE\n"
		"       sem_peer ping    A B ROUNDS [--cpu N] [--warmup W]\n"
		"       sem_peer pong    A B ROUNDS [--cpu N] [--warmup W]\n"
		"       sem_peer produce NAME COUNT\n"
		"       sem_peer consume NAME COUNT\n"
		"       sem_peer stat    NAME\n"
		"       sem_peer unlink  NAME\n"
		"NAME \"foo\" or \"/foo\" is the glibc named semaphore /dev/shm/sem.foo\n");
	exit(EXIT_TOOL_FAILURE);
}

/* "foo" -> "/foo"; "/foo" stays. The result is never freed (tiny, one per name). */
static const char *sem_name(const char *arg)
{
	char *name;

	if (arg[0] == '/')
		return arg;
	if (asprintf(&name, "/%s", arg) < 0)
		die_errno("asprintf");
	return name;
}

static sem_t *open_existing(const char *name)
{
	sem_t *s = sem_open(name, 0);

	if (s == SEM_FAILED)
		die_errno("sem_open(%s)", name);
	return s;
}

static void post(sem_t *s, const char *name)
{
	if (sem_post(s) != 0)
		die_errno("sem_post(%s)", name);
}

static void wait_retrying(sem_t *s, const char *name)
{
	while (sem_wait(s) != 0) {
		if (errno != EINTR)
			die_errno("sem_wait(%s)", name);
	}
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	if (fflush(stdout) != 0)
		die_errno("writing stdout");
}

/*
 * Split argv (after the subcommand) into exactly npos positional
 * arguments and, when opts is non-NULL, the --cpu/--warmup options,
 * which may appear anywhere.
 */
static void parse_args(int argc, char **argv, const char **pos, int npos, struct peer_opts *opts)
{
	int n = 0;

	if (opts) {
		opts->cpu = -1;
		opts->warmup = 0;
	}
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];

		if (opts && strcmp(a, "--cpu") == 0 && i + 1 < argc) {
			opts->cpu = parse_cpu("--cpu", argv[++i]);
		} else if (opts && strcmp(a, "--warmup") == 0 && i + 1 < argc) {
			opts->warmup = parse_u64("--warmup", argv[++i], 0, PEER_MAX_COUNT);
		} else if (a[0] == '-' && a[1] == '-') {
			die("unknown or incomplete option '%s'", a);
		} else {
			if (n == npos)
				die("too many arguments ('%s')", a);
			pos[n++] = a;
		}
	}
	if (n != npos)
		usage();
}

static int cmd_create(int argc, char **argv)
{
	const char *pos[2];
	const char *name;
	unsigned value;
	sem_t *s;

	parse_args(argc, argv, pos, 2, NULL);
	name = sem_name(pos[0]);
	value = (unsigned)parse_u64("VALUE", pos[1], 0, PEER_SEM_VALUE_MAX);
	s = sem_open(name, O_CREAT | O_EXCL, 0600, value);
	if (s == SEM_FAILED)
		die_errno("sem_open(%s, O_CREAT|O_EXCL, 0600, %u)", name, value);
	say("OK");
	return 0;
}

static void setup_pair(int argc, char **argv, const char **a, const char **b,
		       sem_t **sa, sem_t **sb, uint64_t *rounds, struct peer_opts *opts)
{
	const char *pos[3];

	parse_args(argc, argv, pos, 3, opts);
	*a = sem_name(pos[0]);
	*b = sem_name(pos[1]);
	*rounds = parse_u64("ROUNDS", pos[2], 1, PEER_MAX_COUNT);
	*sa = open_existing(*a);
	*sb = open_existing(*b);
	if (opts->cpu >= 0)
		pin_to_cpu(opts->cpu);
}

static int cmd_ping(int argc, char **argv)
{
	const char *a, *b;
	sem_t *sa, *sb;
	uint64_t rounds, *rtt, user_us, sys_us;
	struct peer_opts opts;
	struct latency_summary sum;

	setup_pair(argc, argv, &a, &b, &sa, &sb, &rounds, &opts);
	rtt = malloc(rounds * sizeof(*rtt));
	if (!rtt)
		die_errno("malloc(%" PRIu64 " samples)", rounds);
	memset(rtt, 0, rounds * sizeof(*rtt));	/* fault the pages in before timing */
	say("READY");

	for (uint64_t i = 0; i < opts.warmup; i++) {
		post(sa, a);
		wait_retrying(sb, b);
	}
	for (uint64_t i = 0; i < rounds; i++) {
		uint64_t t0 = now_ns();

		post(sa, a);
		wait_retrying(sb, b);
		rtt[i] = now_ns() - t0;
	}

	cpu_time_us(RUSAGE_SELF, &user_us, &sys_us);
	sum = summarize_latencies(rtt, rounds);
	say("RESULT rounds=%" PRIu64 " p50_ns=%" PRIu64 " p90_ns=%" PRIu64 " p99_ns=%" PRIu64
	    " p999_ns=%" PRIu64 " max_ns=%" PRIu64 " mean_ns=%" PRIu64 " user_us=%" PRIu64
	    " sys_us=%" PRIu64,
	    rounds, sum.p50, sum.p90, sum.p99, sum.p999, sum.max, sum.mean, user_us, sys_us);
	free(rtt);
	return 0;
}

static int cmd_pong(int argc, char **argv)
{
	const char *a, *b;
	sem_t *sa, *sb;
	uint64_t rounds;
	struct peer_opts opts;

	setup_pair(argc, argv, &a, &b, &sa, &sb, &rounds, &opts);
	say("READY");
	for (uint64_t i = 0; i < opts.warmup + rounds; i++) {
		wait_retrying(sa, a);
		post(sb, b);
	}
	say("DONE rounds=%" PRIu64, rounds);
	return 0;
}

static int cmd_produce_consume(int argc, char **argv, int produce)
{
	const char *pos[2];
	const char *name;
	uint64_t count;
	sem_t *s;

	parse_args(argc, argv, pos, 2, NULL);
	name = sem_name(pos[0]);
	count = parse_u64("COUNT", pos[1], 0, PEER_MAX_COUNT);
	s = open_existing(name);
	say("READY");
	for (uint64_t i = 0; i < count; i++) {
		if (produce)
			post(s, name);
		else
			wait_retrying(s, name);
	}
	say("DONE count=%" PRIu64, count);
	return 0;
}

/*
 * Read the raw words of glibc's struct new_sem (nptl/semaphoreP.h,
 * sysdeps/nptl/internaltypes.h) in the 64-bit-atomics layout used on
 * x86_64 and aarch64 (USE_64B_ATOMICS_ON_SEM_T):
 *
 *   offset 0  uint64_t data     low 32 bits = value, high 32 bits = nwaiters
 *   offset 8  int      private  0 = process-private futex ops, 128 = shared
 *   offset 12 int      pad
 *
 * Builds with 32-bit atomics keep value<<1|waiters-bit in a 32-bit word
 * instead, so the numbers printed here would be wrong there.
 */
static int cmd_stat(int argc, char **argv)
{
	const char *pos[1];
	const char *name;
	sem_t *s;

	parse_args(argc, argv, pos, 1, NULL);
	name = sem_name(pos[0]);
	s = open_existing(name);
#if (defined(__x86_64__) || defined(__aarch64__)) && defined(__ORDER_LITTLE_ENDIAN__) && \
	__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	_Static_assert(sizeof(sem_t) == 32, "glibc sem_t is 32 bytes on 64-bit targets");
	{
		/* sem_open maps the file; the mapping has no declared type. */
		const uint64_t *data = (const uint64_t *)(const void *)s;
		const int32_t *private_word = (const int32_t *)((const char *)s + 8);
		uint64_t d = __atomic_load_n(data, __ATOMIC_ACQUIRE);
		int32_t p = __atomic_load_n(private_word, __ATOMIC_RELAXED);

		say("value=%" PRIu32 " nwaiters=%" PRIu32 " private=%" PRId32,
		    (uint32_t)d, (uint32_t)(d >> 32), p);
	}
	return 0;
#else
	(void)s;
	die("stat: only the 64-bit-atomics little-endian sem_t layout (x86_64, aarch64) is supported");
#endif
}

static int cmd_unlink(int argc, char **argv)
{
	const char *pos[1];
	const char *name;

	parse_args(argc, argv, pos, 1, NULL);
	name = sem_name(pos[0]);
	if (sem_unlink(name) != 0)
		die_errno("sem_unlink(%s)", name);
	say("OK");
	return 0;
}

int main(int argc, char **argv)
{
	const char *cmd;

	tool_name = "sem_peer";
	if (argc < 2)
		usage();
	cmd = argv[1];
	argc -= 2;
	argv += 2;
	if (strcmp(cmd, "create") == 0)
		return cmd_create(argc, argv);
	if (strcmp(cmd, "ping") == 0)
		return cmd_ping(argc, argv);
	if (strcmp(cmd, "pong") == 0)
		return cmd_pong(argc, argv);
	if (strcmp(cmd, "produce") == 0)
		return cmd_produce_consume(argc, argv, 1);
	if (strcmp(cmd, "consume") == 0)
		return cmd_produce_consume(argc, argv, 0);
	if (strcmp(cmd, "stat") == 0)
		return cmd_stat(argc, argv);
	if (strcmp(cmd, "unlink") == 0)
		return cmd_unlink(argc, argv);
	usage();
}
