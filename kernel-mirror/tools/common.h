/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Helpers shared by the user-space tools in kernel-mirror/tools/:
 * error exits, strict number parsing, CPU pinning, clocks, latency
 * summaries and CPU-time accounting.
 *
 * Every failure ends the process with exit status 2 after a one-line
 * message on stderr, so callers (Java tests, scripts) can tell a tool
 * failure from a normal result by the status alone.
 */
#ifndef SHMSYNC_TOOLS_COMMON_H
#define SHMSYNC_TOOLS_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdnoreturn.h>

#define EXIT_TOOL_FAILURE 2

/* Print "PROG: message" to stderr and exit 2. */
noreturn void die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Same, with ": strerror(errno)" appended (errno read on entry). */
noreturn void die_errno(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Name used as the message prefix; set once from argv[0]. */
extern const char *tool_name;

/* Strict decimal parsing: the whole string must be a number in range. */
uint64_t parse_u64(const char *what, const char *s, uint64_t min, uint64_t max);
int parse_cpu(const char *what, const char *s);

/* Pin the calling thread (= the process, for these single-threaded tools). */
void pin_to_cpu(int cpu);

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t now_ns(void);

struct latency_summary {
	size_t n;
	uint64_t p50, p90, p99, p999, max;
	uint64_t mean;	/* rounded to the nearest ns */
};

/*
 * Sort samples[0..n) in place and summarise them. Percentiles use the
 * nearest-rank rule on the sorted array: pX = sorted[ceil(X * n) - 1].
 */
struct latency_summary summarize_latencies(uint64_t *samples, size_t n);

/* user and system CPU time of RUSAGE_SELF or RUSAGE_CHILDREN, in µs. */
void cpu_time_us(int who, uint64_t *user_us, uint64_t *sys_us);

#endif /* SHMSYNC_TOOLS_COMMON_H */
