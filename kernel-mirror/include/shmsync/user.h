/* SPDX-License-Identifier: GPL-2.0-only OR Apache-2.0 */
/*
 * libshmsync-c: the user-space C view of a shmsync region (build/libshmsync.a).
 * Opens and validates a region like the Java library does, looks up
 * semaphores, and runs the protocol of sem.h on them.
 */
#ifndef SHMSYNC_USER_H
#define SHMSYNC_USER_H

#include <limits.h>
#include <stddef.h>
#include "sem.h"
#include "mutex.h"
#include "region.h"

struct shmsync_region {
	void *base;
	size_t size;
	int fd;
	struct shmsync_geometry g;
	char path[PATH_MAX];
};

/* A semaphore handle: the word, and the entry whose generation it checks. */
struct shmsync_usem {
	struct shmsync_semref ref;
	const __u32 *sequence;
	__u32 generation;
	__u64 offset;
};

/*
 * A robust mutex handle for the user-space build of mutex.h. Not robust
 * against this process's death (no robust list: see mutex.h); C programs
 * that need that call glibc's pthread_mutex_lock() on
 * (pthread_mutex_t *)ref.m, which is the same word.
 */
struct shmsync_umutex {
	struct shmsync_mutexref ref;
	const __u32 *sequence;
	__u32 generation;
	__u64 offset;
};

/* "<dir>/shmsync.NAME", dir from $SHMSYNC_DIR or /dev/shm. */
int shmsync_region_path(const char *name, char *buf, size_t len);
/*
 * Opens region NAME (O_NOFOLLOW, owned by the caller's euid, or by any uid
 * if allow_any_owner), maps it and validates header and directory. Returns 0
 * or a negative errno; -EINVAL with *v filled when the contents are refused.
 */
int shmsync_region_open(const char *name, int allow_any_owner,
			struct shmsync_region *r, struct shmsync_verdict *v);
void shmsync_region_close(struct shmsync_region *r);
/* Looks up the LIVE semaphore name. 0, -ENOENT, -EMEDIUMTYPE or -EINVAL. */
int shmsync_region_sem(struct shmsync_region *r, const char *name,
		       struct shmsync_usem *s, struct shmsync_verdict *v);

/* The protocol; all return -EIDRM once the object was removed. */
int shmsync_usem_trydown(struct shmsync_usem *s);
/* Blocks until a token is taken; signals do not end it. */
int shmsync_usem_down(struct shmsync_usem *s);
/* Blocks at most timeout_ns; -ETIMEDOUT when it elapsed. */
int shmsync_usem_down_timeout(struct shmsync_usem *s, long long timeout_ns);
int shmsync_usem_up(struct shmsync_usem *s);

/* Looks up the LIVE mutex name. 0, -ENOENT, -EMEDIUMTYPE or -EINVAL. */
int shmsync_region_mutex(struct shmsync_region *r, const char *name,
			 struct shmsync_umutex *m, struct shmsync_verdict *v);
/* mutex.h with the caller's TID as owner ID; -EIDRM once removed. */
int shmsync_umutex_lock(struct shmsync_umutex *m);
int shmsync_umutex_unlock(struct shmsync_umutex *m);
int shmsync_umutex_consistent(struct shmsync_umutex *m);

/* One line describing a verdict, e.g. "magic = 0x..., expected 0x...". */
void shmsync_verdict_format(const struct shmsync_verdict *v, char *buf,
			    size_t len);

#endif /* SHMSYNC_USER_H */
