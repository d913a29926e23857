// SPDX-License-Identifier: Apache-2.0
/* Helpers shared by the kernel-mirror user-space tools; see common.h. */
#define _GNU_SOURCE
#include "common.h"

#include <errno.h>
#include <inttypes.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

const char *tool_name = "shmsync-tool";

static noreturn void vdie(int err, const char *fmt, va_list ap)
{
	fflush(stdout);
	fprintf(stderr, "%s: ", tool_name);
	vfprintf(stderr, fmt, ap);
	if (err)
		fprintf(stderr, ": %s", strerror(err));
	fputc('\n', stderr);
	exit(EXIT_TOOL_FAILURE);
}

void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vdie(0, fmt, ap);
}

void die_errno(const char *fmt, ...)
{
	int err = errno;
	va_list ap;

	va_start(ap, fmt);
	vdie(err, fmt, ap);
}

uint64_t parse_u64(const char *what, const char *s, uint64_t min, uint64_t max)
{
	char *end;
	unsigned long long v;

	if (*s < '0' || *s > '9')
		die("%s: not a non-negative decimal number: '%s'", what, s);
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end != '\0')
		die("%s: not a non-negative decimal number: '%s'", what, s);
	if (v < min || v > max)
		die("%s: %llu out of range [%" PRIu64 ", %" PRIu64 "]", what, v, min, max);
	return v;
}

int parse_cpu(const char *what, const char *s)
{
	return (int)parse_u64(what, s, 0, CPU_SETSIZE - 1);
}

void pin_to_cpu(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) != 0)
		die_errno("sched_setaffinity(cpu %d)", cpu);
}

uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* Nearest rank: the smallest sample with at least permille/1000 of the samples at or below it. */
static uint64_t rank(const uint64_t *sorted, size_t n, unsigned permille)
{
	size_t k = ((uint64_t)n * permille + 999) / 1000;

	return sorted[k ? k - 1 : 0];
}

struct latency_summary summarize_latencies(uint64_t *samples, size_t n)
{
	struct latency_summary s = { .n = n };
	long double sum = 0;

	if (n == 0)
		return s;
	qsort(samples, n, sizeof(*samples), cmp_u64);
	for (size_t i = 0; i < n; i++)
		sum += samples[i];
	s.p50 = rank(samples, n, 500);
	s.p90 = rank(samples, n, 900);
	s.p99 = rank(samples, n, 990);
	s.p999 = rank(samples, n, 999);
	s.max = samples[n - 1];
	s.mean = (uint64_t)(sum / n + 0.5L);
	return s;
}

void cpu_time_us(int who, uint64_t *user_us, uint64_t *sys_us)
{
	struct rusage ru;

	if (getrusage(who, &ru) != 0)
		die_errno("getrusage");
	*user_us = (uint64_t)ru.ru_utime.tv_sec * 1000000u + (uint64_t)ru.ru_utime.tv_usec;
	*sys_us = (uint64_t)ru.ru_stime.tv_sec * 1000000u + (uint64_t)ru.ru_stime.tv_usec;
}
