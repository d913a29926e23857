/* SPDX-License-Identifier: GPL-2.0-only OR Apache-2.0 */
/*
 * The thin environment layer under sem.h and region.h: 64-bit atomics on the
 * semaphore word, ordered loads for the directory seqlock, futex calls,
 * allocation and sorting. One implementation for user space (GCC __atomic
 * builtins, syscall(SYS_futex)), one for the kernel (atomic64_*, READ_ONCE,
 * and futex functions the module provides: see module/shmsync_main.c).
 *
 * Every shim provides:
 *   struct shmsync_semref     where one semaphore's atomics and futex calls go
 *   struct shmsync_wait       how a blocking down may end (opaque to sem.h)
 *   shmsync_load64()          relaxed 64-bit load
 *   shmsync_cas64_acquire()   strong CAS, acquire on success, *old updated
 *   shmsync_cas64_release()   strong CAS, release on success, *old updated
 *   shmsync_fetch_add64()     relaxed fetch-and-add, returns the old value
 *   struct shmsync_mutexref   the same for one robust mutex (mutex.h)
 *   shmsync_load32(), shmsync_cas32_acquire(), shmsync_cas32_relaxed(),
 *   shmsync_cas32_release(),
 *   shmsync_xchg32_release(), SHMSYNC_STORE_ONCE()   32-bit words (mutex.h)
 *   shmsync_futex_wake()      non-private FUTEX_WAKE of n waiters on the word
 *   shmsync_futex_wait()      sleep while the word equals expected; 0 means
 *                             "look again", a negative errno ends the down
 *   shmsync_mutex_futex_wake(), shmsync_mutex_futex_wait()   the same on a
 *                             mutex's lock word
 *   SHMSYNC_LOAD_ONCE(), SHMSYNC_LOAD_ACQUIRE(), shmsync_rmb()
 *
 * and, for the read-write semaphore (rwsem.h, PROTOCOL.md 7):
 *   struct shmsync_rwref      where one rwsem's state word and futex calls go
 *   shmsync_load64_acquire()  acquire 64-bit load
 *   shmsync_rw_futex_wake()   non-private FUTEX_WAKE of n waiters on one
 *                             32-bit half of the state word (byte 0 or 4)
 *   shmsync_rw_futex_wait()   sleep while that half equals expected; return
 *                             values as shmsync_futex_wait()
 */
#ifndef SHMSYNC_SHIM_H
#define SHMSYNC_SHIM_H

#ifdef __KERNEL__

#include <linux/atomic.h>
#include <linux/compiler.h>
#include <linux/errno.h>
#include <linux/ktime.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/types.h>

struct shmsync_obj;

/*
 * A semaphore as the kernel sees it: data is the word in the vmap'ed view of
 * the pinned region pages (atomics); o the module's handle, which knows the
 * same word's address in the module's mm (futex key), the directory entry
 * the object came from (removal), statistics and wake deferral.
 */
struct shmsync_semref {
	u64 *data;
	struct shmsync_obj *o;
};

/* A robust mutex as the kernel sees it (mutex.h): the same split. */
struct shmsync_mutexref {
	struct shmsync_mutex *m;
	struct shmsync_obj *o;
};

/* How a kernel wait may end: see shmsync_obj_wait() in the module. */
struct shmsync_wait {
	unsigned int mode;	/* SHMSYNC_WAIT_* */
	ktime_t deadline;	/* absolute CLOCK_MONOTONIC, or KTIME_MAX */
};

#define SHMSYNC_WAIT_KILLABLE		0	/* fatal signals and stop end it */
#define SHMSYNC_WAIT_INTERRUPTIBLE	1	/* any signal and stop end it */

static inline u64 shmsync_load64(const u64 *p)
{
	return (u64)atomic64_read((const atomic64_t *)p);
}

static inline bool shmsync_cas64_acquire(u64 *p, u64 *old, u64 new)
{
	s64 o = (s64)*old;
	bool ok = atomic64_try_cmpxchg_acquire((atomic64_t *)p, &o, (s64)new);

	*old = (u64)o;
	return ok;
}

static inline bool shmsync_cas64_release(u64 *p, u64 *old, u64 new)
{
	s64 o = (s64)*old;
	bool ok = atomic64_try_cmpxchg_release((atomic64_t *)p, &o, (s64)new);

	*old = (u64)o;
	return ok;
}

static inline u64 shmsync_fetch_add64(u64 *p, u64 delta)
{
	return (u64)atomic64_fetch_add_relaxed((s64)delta, (atomic64_t *)p);
}

static inline u32 shmsync_load32(const u32 *p)
{
	return (u32)atomic_read((const atomic_t *)p);
}

static inline bool shmsync_cas32_acquire(u32 *p, u32 *old, u32 new)
{
	int o = (int)*old;
	bool ok = atomic_try_cmpxchg_acquire((atomic_t *)p, &o, (int)new);

	*old = (u32)o;
	return ok;
}

static inline bool shmsync_cas32_relaxed(u32 *p, u32 *old, u32 new)
{
	int o = (int)*old;
	bool ok = atomic_try_cmpxchg_relaxed((atomic_t *)p, &o, (int)new);

	*old = (u32)o;
	return ok;
}

static inline bool shmsync_cas32_release(u32 *p, u32 *old, u32 new)
{
	int o = (int)*old;
	bool ok = atomic_try_cmpxchg_release((atomic_t *)p, &o, (int)new);

	*old = (u32)o;
	return ok;
}

static inline u32 shmsync_xchg32_release(u32 *p, u32 new)
{
	return (u32)atomic_xchg_release((atomic_t *)p, (int)new);
}

#define SHMSYNC_STORE_ONCE(x, v)	WRITE_ONCE(x, v)

/*
 * Provided by the module (module/shmsync_main.c): FUTEX_WAKE of n waiters
 * on the object's futex word; "sleep while the word equals expected".
 */
int shmsync_obj_wake(struct shmsync_obj *o, int n);
int shmsync_obj_wait(struct shmsync_obj *o, u32 expected,
		     const struct shmsync_wait *w);

static inline int shmsync_futex_wake(struct shmsync_semref *s, int n)
{
	return shmsync_obj_wake(s->o, n);
}

static inline int shmsync_futex_wait(struct shmsync_semref *s, u32 expected,
				     const struct shmsync_wait *w)
{
	return shmsync_obj_wait(s->o, expected, w);
}

static inline int shmsync_mutex_futex_wake(struct shmsync_mutexref *m, int n)
{
	return shmsync_obj_wake(m->o, n);
}

static inline int shmsync_mutex_futex_wait(struct shmsync_mutexref *m,
					   u32 expected,
					   const struct shmsync_wait *w)
{
	return shmsync_obj_wait(m->o, expected, w);
}

struct shmsync_rwsem_handle;

/*
 * A read-write semaphore as the kernel sees it: state in the vmap'ed view
 * (atomics), uaddr the same word in the module's mm (futex key of byte 0;
 * the writers' half is uaddr + 1), h the handle, NULL only for tests.
 */
struct shmsync_rwref {
	u64 *state;
	u32 __user *uaddr;
	struct shmsync_rwsem_handle *h;
};

static inline u64 shmsync_load64_acquire(const u64 *p)
{
	return (u64)atomic64_read_acquire((const atomic64_t *)p);
}

/* To be provided by the module with the rwsem API (word: 0 or 4). */
int shmsync_rw_futex_wake(struct shmsync_rwref *r, unsigned int word, int n);
int shmsync_rw_futex_wait(struct shmsync_rwref *r, unsigned int word,
			  u32 expected, const struct shmsync_wait *w);

#define SHMSYNC_LOAD_ONCE(x)		READ_ONCE(x)
/* seqlock reader (region.h): acquire on the first sequence load ... */
#define SHMSYNC_LOAD_ACQUIRE(p)		smp_load_acquire(p)
/* ... and a read barrier between the fields and the second load */
#define shmsync_rmb()			smp_rmb()
#define shmsync_alloc_array(n, size)	kvmalloc_array(n, size, GFP_KERNEL)
#define shmsync_free(p)			kvfree(p)
#define shmsync_sort(base, n, size, cmp) sort(base, n, size, cmp, NULL)

#else /* user space */

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <linux/futex.h>
#include <linux/types.h>
#include <sys/syscall.h>

/* In user space the atomics and the futex calls use the same address. */
struct shmsync_semref {
	__u64 *data;
};

struct shmsync_mutex;
struct shmsync_mutexref {
	struct shmsync_mutex *m;
};

/*
 * How a user-space down may end: deadline is absolute CLOCK_MONOTONIC
 * (tv_sec < 0: none); interruptible makes EINTR end it (sem_wait style),
 * otherwise a signal only makes it look again.
 */
struct shmsync_wait {
	struct timespec deadline;
	bool interruptible;
};

static inline __u64 shmsync_load64(const __u64 *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static inline bool shmsync_cas64_acquire(__u64 *p, __u64 *old, __u64 new)
{
	return __atomic_compare_exchange_n(p, old, new, false, __ATOMIC_ACQUIRE,
					   __ATOMIC_RELAXED);
}

static inline bool shmsync_cas64_release(__u64 *p, __u64 *old, __u64 new)
{
	return __atomic_compare_exchange_n(p, old, new, false, __ATOMIC_RELEASE,
					   __ATOMIC_RELAXED);
}

static inline __u64 shmsync_fetch_add64(__u64 *p, __u64 delta)
{
	return __atomic_fetch_add(p, delta, __ATOMIC_RELAXED);
}

static inline __u32 shmsync_load32(const __u32 *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static inline bool shmsync_cas32_acquire(__u32 *p, __u32 *old, __u32 new)
{
	return __atomic_compare_exchange_n(p, old, new, false, __ATOMIC_ACQUIRE,
					   __ATOMIC_RELAXED);
}

static inline bool shmsync_cas32_relaxed(__u32 *p, __u32 *old, __u32 new)
{
	return __atomic_compare_exchange_n(p, old, new, false, __ATOMIC_RELAXED,
					   __ATOMIC_RELAXED);
}

static inline bool shmsync_cas32_release(__u32 *p, __u32 *old, __u32 new)
{
	return __atomic_compare_exchange_n(p, old, new, false, __ATOMIC_RELEASE,
					   __ATOMIC_RELAXED);
}

static inline __u32 shmsync_xchg32_release(__u32 *p, __u32 new)
{
	return __atomic_exchange_n(p, new, __ATOMIC_RELEASE);
}

#define SHMSYNC_STORE_ONCE(x, v)	__atomic_store_n(&(x), (v), __ATOMIC_RELAXED)

static inline int shmsync_word_wake(__u32 *word, int n)
{
	long r = syscall(SYS_futex, word, FUTEX_WAKE, n, NULL, NULL, 0);

	return r < 0 ? -errno : (int)r;
}

static inline int shmsync_word_wait(__u32 *word, __u32 expected,
				    const struct shmsync_wait *w)
{
	const struct timespec *ts = w && w->deadline.tv_sec >= 0 ?
				    &w->deadline : NULL;
	long r = syscall(SYS_futex, word, FUTEX_WAIT_BITSET, expected, ts,
			 NULL, FUTEX_BITSET_MATCH_ANY);

	if (r == 0)
		return 0;
	switch (errno) {
	case EAGAIN:
		return 0;
	case EINTR:
		return w && w->interruptible ? -EINTR : 0;
	default:
		return -errno;	/* ETIMEDOUT, EFAULT (truncated region) */
	}
}

static inline __u32 *shmsync_futex_word(struct shmsync_semref *s)
{
	return (__u32 *)((char *)s->data + SHMSYNC_SEM_FUTEX_OFFSET);
}

static inline int shmsync_futex_wake(struct shmsync_semref *s, int n)
{
	return shmsync_word_wake(shmsync_futex_word(s), n);
}

static inline int shmsync_futex_wait(struct shmsync_semref *s, __u32 expected,
				     const struct shmsync_wait *w)
{
	return shmsync_word_wait(shmsync_futex_word(s), expected, w);
}

/* The mutex's futex word is its first field, lock. */
static inline int shmsync_mutex_futex_wake(struct shmsync_mutexref *m, int n)
{
	return shmsync_word_wake((__u32 *)m->m, n);
}

static inline int shmsync_mutex_futex_wait(struct shmsync_mutexref *m,
					   __u32 expected,
					   const struct shmsync_wait *w)
{
	return shmsync_word_wait((__u32 *)m->m, expected, w);
}

/* In user space the rwsem's atomics and futex calls use the same address. */
struct shmsync_rwref {
	__u64 *state;
};

static inline __u64 shmsync_load64_acquire(const __u64 *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static inline __u32 *shmsync_rw_futex_word(struct shmsync_rwref *r,
					   unsigned int word)
{
	return (__u32 *)((char *)r->state + word);
}

static inline int shmsync_rw_futex_wake(struct shmsync_rwref *r,
					unsigned int word, int n)
{
	return shmsync_word_wake(shmsync_rw_futex_word(r, word), n);
}

static inline int shmsync_rw_futex_wait(struct shmsync_rwref *r,
					unsigned int word, __u32 expected,
					const struct shmsync_wait *w)
{
	return shmsync_word_wait(shmsync_rw_futex_word(r, word), expected, w);
}

#define SHMSYNC_LOAD_ONCE(x)		__atomic_load_n(&(x), __ATOMIC_RELAXED)
#define SHMSYNC_LOAD_ACQUIRE(p)		__atomic_load_n(p, __ATOMIC_ACQUIRE)
#define shmsync_rmb()			__atomic_thread_fence(__ATOMIC_ACQUIRE)
#define shmsync_alloc_array(n, size)	calloc(n, size)
#define shmsync_free(p)			free(p)
#define shmsync_sort(base, n, size, cmp) qsort(base, n, size, cmp)

#endif /* __KERNEL__ */

#endif /* SHMSYNC_SHIM_H */
