/*
 * robust_peer: a C process that uses a shmsync mutex through glibc's own pthread_mutex_* calls, for the
 * Java interop tests (RobustInteropTest), and a measurement of glibc's uncontended robust, process-shared
 * lock+unlock (MutexCostTest).
 *
 *   robust_peer FILE OFFSET     map FILE, treat FILE+OFFSET as a pthread_mutex_t; read commands from
 *                               stdin (LOCK, TRYLOCK, TIMEDLOCK, UNLOCK, CONSISTENT, DIE, EXIT) and
 *                               print one line per command ("LOCK 0", "LOCK EOWNERDEAD", ...)
 *   robust_peer bench N ROUNDS  ROUNDS x N uncontended pthread_mutex_lock+unlock on a robust, pshared,
 *                               error-checking mutex in a MAP_SHARED page; prints "BENCH ns=... cpu=..." per round
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char *name(int rc)
{
	static char buf[32];

	switch (rc) {
	case 0: return "0";
	case EOWNERDEAD: return "EOWNERDEAD";
	case ENOTRECOVERABLE: return "ENOTRECOVERABLE";
	case EDEADLK: return "EDEADLK";
	case EBUSY: return "EBUSY";
	case EPERM: return "EPERM";
	case EINVAL: return "EINVAL";
	case ETIMEDOUT: return "ETIMEDOUT";
	default:
		snprintf(buf, sizeof(buf), "%d", rc);
		return buf;
	}
}

static double now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e9 + t.tv_nsec;
}

static double cpu_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return t.tv_sec * 1e9 + t.tv_nsec;
}

static int bench(long n, int rounds)
{
	pthread_mutex_t *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	pthread_mutexattr_t a;

	if (m == MAP_FAILED)
		return 1;
	pthread_mutexattr_init(&a);
	pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
	pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
	pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ERRORCHECK);
	pthread_mutex_init(m, &a);
	printf("KIND %d\n", m->__data.__kind);
	for (int r = 0; r < rounds; r++) {
		double t0 = now_ns();
		double c0 = cpu_ns();

		for (long i = 0; i < n; i++) {
			pthread_mutex_lock(m);
			pthread_mutex_unlock(m);
		}
		printf("BENCH ns=%.2f cpu=%.2f\n", (now_ns() - t0) / n, (cpu_ns() - c0) / n);
		fflush(stdout);
	}
	return 0;
}

int main(int argc, char **argv)
{
	char line[128];

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 4 && strcmp(argv[1], "bench") == 0)
		return bench(atol(argv[2]), atoi(argv[3]));
	if (argc != 3) {
		fprintf(stderr, "usage: robust_peer FILE OFFSET | robust_peer bench N ROUNDS\n");
		return 2;
	}
	int fd = open(argv[1], O_RDWR);
	struct stat st;

	if (fd < 0 || fstat(fd, &st) != 0) {
		perror(argv[1]);
		return 2;
	}
	char *base = mmap(NULL, st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	if (base == MAP_FAILED) {
		perror("mmap");
		return 2;
	}
	pthread_mutex_t *m = (pthread_mutex_t *)(base + atol(argv[2]));

	printf("READY tid=%d kind=%d\n", gettid(), m->__data.__kind);
	while (fgets(line, sizeof(line), stdin)) {
		line[strcspn(line, "\n")] = 0;
		if (strcmp(line, "LOCK") == 0) {
			printf("LOCKING\n");
			printf("LOCK %s\n", name(pthread_mutex_lock(m)));
		} else if (strcmp(line, "TRYLOCK") == 0) {
			printf("TRYLOCK %s\n", name(pthread_mutex_trylock(m)));
		} else if (strcmp(line, "TIMEDLOCK") == 0) {
			struct timespec ts;

			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += 200 * 1000 * 1000;
			if (ts.tv_nsec >= 1000000000) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000;
			}
			printf("TIMEDLOCK %s\n", name(pthread_mutex_timedlock(m, &ts)));
		} else if (strcmp(line, "UNLOCK") == 0) {
			printf("UNLOCK %s\n", name(pthread_mutex_unlock(m)));
		} else if (strcmp(line, "CONSISTENT") == 0) {
			printf("CONSISTENT %s\n", name(pthread_mutex_consistent(m)));
		} else if (strcmp(line, "STATE") == 0) {
			printf("STATE lock=0x%08x owner=%d kind=%d\n", (unsigned)m->__data.__lock, m->__data.__owner,
			       m->__data.__kind);
		} else if (strcmp(line, "DIE") == 0) {
			printf("DYING\n");
			fflush(stdout);
			raise(SIGKILL);
		} else if (strcmp(line, "EXIT") == 0) {
			return 0;
		} else {
			printf("UNKNOWN %s\n", line);
		}
	}
	return 0;
}
