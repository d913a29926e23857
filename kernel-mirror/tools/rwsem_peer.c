// SPDX-License-Identifier: Apache-2.0
/*
 * rwsem_peer: a C process that runs the read-write semaphore protocol of
 * include/shmsync/rwsem.h (docs/PROTOCOL.md 7) on an object of a shmsync
 * region, for the Java interop tests (RwSemaphoreInteropTest).
 *
 *   rwsem_peer FILE OFFSET
 *
 * maps FILE and uses the rwsem at OFFSET. Reads commands from stdin, one per
 * line, and answers each with one line "<COMMAND> <result>" (0, EAGAIN,
 * ETIMEDOUT, EUCLEAN, ...):
 *
 *   RLOCK | WLOCK            block until acquired
 *   WINTR                    block until acquired or a SIGUSR1 arrives
 *   RTRY | WTRY              try once
 *   RTIMED MS | WTIMED MS    block at most MS milliseconds
 *   RUNLOCK | WUNLOCK | DOWNGRADE | UPGRADE
 *   STRESS CFILE ROUNDS SEED ROUNDS random operations (reads check, writes
 *                            change two u64 counters at offset 0 and 8 of
 *                            CFILE together; a third of them timed); answers
 *                            "STRESS writes=W violations=V timeouts=T"
 *   EXIT
 *
 * Exits when stdin ends.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "shmsync/rwsem.h"
#include "common.h"

static const char *result(int rc)
{
	static char buf[32];

	switch (rc) {
	case 0: return "0";
	case -EAGAIN: return "EAGAIN";
	case -ETIMEDOUT: return "ETIMEDOUT";
	case -EUCLEAN: return "EUCLEAN";
	case -EOVERFLOW: return "EOVERFLOW";
	case -EINTR: return "EINTR";
	default:
		snprintf(buf, sizeof(buf), "%d", rc);
		return buf;
	}
}

static void *map_file(const char *path, size_t *size)
{
	struct stat st;
	void *p;
	int fd = open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		die_errno("open %s", path);
	if (fstat(fd, &st) < 0)
		die_errno("fstat %s", path);
	p = mmap(NULL, st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		die_errno("mmap %s", path);
	close(fd);
	*size = st.st_size;
	return p;
}

static struct shmsync_wait deadline_in(long ms)
{
	struct shmsync_wait w = { .interruptible = false };

	clock_gettime(CLOCK_MONOTONIC, &w.deadline);
	w.deadline.tv_sec += ms / 1000;
	w.deadline.tv_nsec += (ms % 1000) * 1000000L;
	if (w.deadline.tv_nsec >= 1000000000L) {
		w.deadline.tv_sec++;
		w.deadline.tv_nsec -= 1000000000L;
	}
	return w;
}

static const struct shmsync_wait forever = { .deadline = { -1, 0 } };
static const struct shmsync_wait interruptible = { .deadline = { -1, 0 },
						   .interruptible = true };

static void on_usr1(int sig)
{
	(void)sig;	/* only to make the futex wait return EINTR */
}

static void stress(struct shmsync_rwref *r, const char *cfile, long rounds,
		   unsigned int seed)
{
	size_t size;
	volatile __u64 *c = map_file(cfile, &size);
	long writes = 0, violations = 0, timeouts = 0;
	int rc;

	if (size < 16)
		die("%s: too small", cfile);
	for (long i = 0; i < rounds; i++) {
		int op = rand_r(&seed) % 10;
		bool timed = rand_r(&seed) % 3 == 0;
		struct shmsync_wait w = timed ? deadline_in(rand_r(&seed) % 3)
					      : forever;

		if (op < 6) {
			rc = shmsync_rwsem_down_read(r, &w);
			if (rc == -ETIMEDOUT) {
				timeouts++;
				continue;
			}
			if (rc)
				die("down_read: %s", result(rc));
			if (c[0] != c[1])
				violations++;
			rc = shmsync_rwsem_up_read(r);
		} else {
			rc = shmsync_rwsem_down_write(r, &w);
			if (rc == -ETIMEDOUT) {
				timeouts++;
				continue;
			}
			if (rc)
				die("down_write: %s", result(rc));
			c[0] = c[0] + 1;
			if (rand_r(&seed) % 4 == 0)
				sched_yield();
			c[1] = c[1] + 1;
			writes++;
			rc = shmsync_rwsem_up_write(r);
		}
		if (rc)
			die("release: %s", result(rc));
	}
	printf("STRESS writes=%ld violations=%ld timeouts=%ld\n", writes,
	       violations, timeouts);
}

int main(int argc, char **argv)
{
	char line[4096], cmd[64], arg1[4000];
	struct shmsync_rwref r;
	size_t size;
	char *base;
	__u64 offset;

	struct sigaction sa = { .sa_handler = on_usr1 };	/* no SA_RESTART */

	tool_name = "rwsem_peer";
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGUSR1, &sa, NULL) < 0)
		die_errno("sigaction");
	if (argc != 3)
		die("usage: rwsem_peer FILE OFFSET");
	base = map_file(argv[1], &size);
	offset = parse_u64("OFFSET", argv[2], 0, size - SHMSYNC_RWSEM_LENGTH);
	if (offset % SHMSYNC_ALIGNMENT)
		die("OFFSET %llu is not 64-aligned", (unsigned long long)offset);
	r.state = (__u64 *)(base + offset);
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("READY\n");
	while (fgets(line, sizeof(line), stdin)) {
		long a = 0, b = 0;
		unsigned int seed = 0;
		struct shmsync_wait w;
		int rc = -EINVAL;

		arg1[0] = 0;
		if (sscanf(line, "%63s %3999s %ld %u", cmd, arg1, &b, &seed) < 1)
			continue;
		a = atol(arg1);
		if (!strcmp(cmd, "EXIT"))
			break;
		if (!strcmp(cmd, "STRESS")) {
			stress(&r, arg1, b, seed);
			continue;
		}
		if (!strcmp(cmd, "RLOCK"))
			rc = shmsync_rwsem_down_read(&r, &forever);
		else if (!strcmp(cmd, "WLOCK"))
			rc = shmsync_rwsem_down_write(&r, &forever);
		else if (!strcmp(cmd, "WINTR"))
			rc = shmsync_rwsem_down_write(&r, &interruptible);
		else if (!strcmp(cmd, "RTRY"))
			rc = shmsync_rwsem_read_trylock(&r);
		else if (!strcmp(cmd, "WTRY"))
			rc = shmsync_rwsem_write_trylock(&r);
		else if (!strcmp(cmd, "RTIMED")) {
			w = deadline_in(a);
			rc = shmsync_rwsem_down_read(&r, &w);
		} else if (!strcmp(cmd, "WTIMED")) {
			w = deadline_in(a);
			rc = shmsync_rwsem_down_write(&r, &w);
		} else if (!strcmp(cmd, "RUNLOCK"))
			rc = shmsync_rwsem_up_read(&r);
		else if (!strcmp(cmd, "WUNLOCK"))
			rc = shmsync_rwsem_up_write(&r);
		else if (!strcmp(cmd, "DOWNGRADE"))
			rc = shmsync_rwsem_downgrade_write(&r);
		else if (!strcmp(cmd, "UPGRADE"))
			rc = shmsync_rwsem_try_upgrade(&r);
		printf("%s %s\n", cmd, result(rc));
	}
	return 0;
}
