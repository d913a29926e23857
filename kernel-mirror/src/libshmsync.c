// SPDX-License-Identifier: GPL-2.0-only OR Apache-2.0
/* libshmsync-c: region open/validate and semaphores for C programs. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "shmsync/user.h"

int shmsync_region_path(const char *name, char *buf, size_t len)
{
	const char *dir = getenv("SHMSYNC_DIR");
	int n;

	if (!dir || !*dir)
		dir = "/dev/shm";
	if (!name || !*name || strchr(name, '/'))
		return -EINVAL;
	n = snprintf(buf, len, "%s/shmsync.%s", dir, name);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int shmsync_region_open(const char *name, int allow_any_owner,
			struct shmsync_region *r, struct shmsync_verdict *v)
{
	struct stat st;
	int ret;

	memset(r, 0, sizeof(*r));
	r->fd = -1;
	ret = shmsync_region_path(name, r->path, sizeof(r->path));
	if (ret)
		return ret;
	r->fd = open(r->path, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
	if (r->fd < 0)
		return -errno;
	if (fstat(r->fd, &st) < 0) {
		ret = -errno;
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		ret = -EINVAL;
		shmsync_refuse(v, "file type", -1, st.st_mode, S_IFREG);
		goto fail;
	}
	if (!allow_any_owner && st.st_uid != geteuid()) {
		ret = -EPERM;
		goto fail;
	}
	if (st.st_size < SHMSYNC_MIN_REGION_SIZE) {
		ret = shmsync_refuse(v, "region_size", -1, st.st_size,
				     SHMSYNC_MIN_REGION_SIZE);
		goto fail;
	}
	r->size = st.st_size;
	r->base = mmap(NULL, r->size, PROT_READ | PROT_WRITE, MAP_SHARED,
		       r->fd, 0);
	if (r->base == MAP_FAILED) {
		r->base = NULL;
		ret = -errno;
		goto fail;
	}
	ret = shmsync_check_header(r->base, r->size, &r->g, v);
	if (!ret)
		ret = shmsync_check_directory(r->base, &r->g, v);
	if (!ret)
		return 0;
fail:
	shmsync_region_close(r);
	return ret;
}

void shmsync_region_close(struct shmsync_region *r)
{
	if (r->base)
		munmap(r->base, r->size);
	if (r->fd >= 0)
		close(r->fd);
	r->base = NULL;
	r->fd = -1;
}

int shmsync_region_sem(struct shmsync_region *r, const char *name,
		       struct shmsync_usem *s, struct shmsync_verdict *v)
{
	struct shmsync_entry e;
	int ret;

	ret = shmsync_lookup(r->base, &r->g, name, strlen(name),
			     SHMSYNC_TYPE_SEMAPHORE, &e, v);
	if (ret)
		return ret;
	s->ref.data = (__u64 *)((char *)r->base + e.offset);
	s->sequence = &shmsync_dir_entry(r->base, &r->g, e.index)->sequence;
	s->generation = e.sequence;
	s->offset = e.offset;
	return 0;
}

static int removed(const struct shmsync_usem *s)
{
	return __atomic_load_n(s->sequence, __ATOMIC_RELAXED) != s->generation;
}

int shmsync_usem_trydown(struct shmsync_usem *s)
{
	return removed(s) ? -EIDRM : shmsync_proto_trydown(&s->ref);
}

int shmsync_usem_down(struct shmsync_usem *s)
{
	struct shmsync_wait w = { .deadline = { .tv_sec = -1 } };

	return removed(s) ? -EIDRM : shmsync_proto_down(&s->ref, &w);
}

int shmsync_usem_down_timeout(struct shmsync_usem *s, long long timeout_ns)
{
	struct shmsync_wait w = { .interruptible = false };

	if (removed(s))
		return -EIDRM;
	clock_gettime(CLOCK_MONOTONIC, &w.deadline);
	w.deadline.tv_sec += timeout_ns / 1000000000LL;
	w.deadline.tv_nsec += timeout_ns % 1000000000LL;
	if (w.deadline.tv_nsec >= 1000000000L) {
		w.deadline.tv_sec++;
		w.deadline.tv_nsec -= 1000000000L;
	}
	return shmsync_proto_down(&s->ref, &w);
}

int shmsync_usem_up(struct shmsync_usem *s)
{
	return removed(s) ? -EIDRM : shmsync_proto_up(&s->ref);
}

int shmsync_region_mutex(struct shmsync_region *r, const char *name,
			 struct shmsync_umutex *m, struct shmsync_verdict *v)
{
	struct shmsync_entry e;
	int ret;

	ret = shmsync_lookup(r->base, &r->g, name, strlen(name),
			     SHMSYNC_TYPE_MUTEX, &e, v);
	if (ret)
		return ret;
	m->ref.m = (struct shmsync_mutex *)((char *)r->base + e.offset);
	m->sequence = &shmsync_dir_entry(r->base, &r->g, e.index)->sequence;
	m->generation = e.sequence;
	m->offset = e.offset;
	return 0;
}

static int mutex_removed(const struct shmsync_umutex *m)
{
	return __atomic_load_n(m->sequence, __ATOMIC_RELAXED) != m->generation;
}

int shmsync_umutex_lock(struct shmsync_umutex *m)
{
	struct shmsync_wait w = { .deadline = { .tv_sec = -1 } };

	if (mutex_removed(m))
		return -EIDRM;
	return shmsync_proto_mutex_lock(&m->ref, (__u32)gettid(), &w);
}

int shmsync_umutex_unlock(struct shmsync_umutex *m)
{
	return mutex_removed(m) ? -EIDRM :
	       shmsync_proto_mutex_unlock(&m->ref, (__u32)gettid());
}

int shmsync_umutex_consistent(struct shmsync_umutex *m)
{
	return shmsync_proto_mutex_consistent(&m->ref, (__u32)gettid());
}

void shmsync_verdict_format(const struct shmsync_verdict *v, char *buf,
			    size_t len)
{
	if (v->entry >= 0)
		snprintf(buf, len, "directory entry %ld %s = %llu (limit %llu)",
			 v->entry, v->field, (unsigned long long)v->value,
			 (unsigned long long)v->limit);
	else
		snprintf(buf, len, "%s = %llu (0x%llx), expected/limit %llu (0x%llx)",
			 v->field, (unsigned long long)v->value,
			 (unsigned long long)v->value,
			 (unsigned long long)v->limit,
			 (unsigned long long)v->limit);
}
