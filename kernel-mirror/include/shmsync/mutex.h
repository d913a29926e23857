/* SPDX-License-Identifier: GPL-2.0-only OR Apache-2.0 */
/*
 * The robust mutex word protocol (docs/PROTOCOL.md 6.1 and 6.4) on glibc's
 * robust, process-shared pthread_mutex_t, written once in C for the kernel
 * module and user space on top of shim.h. This is the only C copy of it;
 * Java's copy is io.shmsync.Mutex.
 *
 * The lock word is owner ID | FUTEX_WAITERS | FUTEX_OWNER_DIED, as glibc's
 * and the kernel's robust-futex code read it. The caller passes its owner
 * ID: a kernel thread's is SHMSYNC_KERNEL_OWNER | TID (layout.h, and
 * PROTOCOL.md 5), a user-space caller's its TID.
 *
 * What this file does not do is the robust list: a word holding a dead
 * owner's ID is marked FUTEX_OWNER_DIED by whoever tracks that owner. For a
 * process that is the kernel (glibc's per-thread list, shmsync's lease
 * thread); for a kernel thread it is the module, which calls
 * shmsync_proto_mutex_abandon() when a handle is released while held. The
 * user-space build of this file has no robust list of its own, so a process
 * dying while it holds a mutex through it leaves the mutex locked: C
 * programs that must survive their death use glibc's pthread_mutex_lock()
 * on the same word; the user-space build exists to test this protocol
 * against glibc's.
 *
 * Return values (as glibc's, negated): 0 acquired; -EOWNERDEAD acquired
 * after an owner died (owner = INCONSISTENT: repair, then consistent(), or
 * unlock() makes it NOTRECOVERABLE); -ENOTRECOVERABLE not acquired, never
 * will be; -EBUSY (trylock) held by another; -EDEADLK the caller's own ID
 * is in the word; -EUCLEAN the mutex is corrupt (__kind or the reserved
 * bytes), not acquired; -EPERM unlock by a non-owner; and whatever the
 * shim's wait reports (-EINTR, -ETIMEDOUT, -ESHUTDOWN, -EIDRM, -EFAULT),
 * after which the caller does not hold the mutex.
 */
#ifndef SHMSYNC_MUTEX_H
#define SHMSYNC_MUTEX_H

#include "layout.h"
#include "shim.h"

#define SHMSYNC_MUTEX_TAKEABLE(v)					\
	(((v) & SHMSYNC_MUTEX_TID_MASK) == 0 || ((v) & SHMSYNC_MUTEX_OWNER_DIED))

/* __kind robust|pshared (with or without errorcheck), reserved bytes zero. */
static inline int shmsync_mutex_check_image(struct shmsync_mutex *m)
{
	__s32 kind = SHMSYNC_LOAD_ONCE(m->kind);
	unsigned int i;

	if (kind != SHMSYNC_MUTEX_KIND && kind != SHMSYNC_MUTEX_KIND_NORMAL)
		return -EUCLEAN;
	for (i = 0; i < sizeof(m->reserved); i++)
		if (SHMSYNC_LOAD_ONCE(m->reserved[i]))
			return -EUCLEAN;
	return 0;
}

/*
 * U4 (PROTOCOL.md 6.4): release the word only while it still names id, by
 * CAS, and wake one sleeper if FUTEX_WAITERS was set. A word that names
 * anybody else is left alone: after the kernel marked this owner dead and a
 * waiter took over, a late unlock of the dead process must not free the new
 * owner's lock (found by verification/spin, finding-u4-clobber). Returns the
 * value replaced, or the foreign value that was left in place.
 */
static inline __u32 shmsync_proto_mutex_release(struct shmsync_mutexref *r,
						__u32 id)
{
	__u32 old = id;

	while (!shmsync_cas32_release(&r->m->lock, &old, 0)) {
		if ((old & SHMSYNC_MUTEX_TID_MASK) != id ||
		    (old & SHMSYNC_MUTEX_OWNER_DIED))
			return old;
	}
	if (old & SHMSYNC_MUTEX_WAITERS)
		shmsync_mutex_futex_wake(r, 1);
	return old;
}

/*
 * After the CAS that made the caller (id) the owner; v is the value it replaced.
 * NOTRECOVERABLE and a corrupt image release at once; an owner death (the
 * word had FUTEX_OWNER_DIED, or __owner was INCONSISTENT, which only a death
 * or corruption leaves) is reported with the mutex held.
 */
static inline int shmsync_proto_mutex_acquired(struct shmsync_mutexref *r,
					       __u32 id, __u32 v)
{
	struct shmsync_mutex *m = r->m;
	__s32 owner = SHMSYNC_LOAD_ONCE(m->owner);
	__s32 kind = SHMSYNC_LOAD_ONCE(m->kind);
	int bad;

	if (owner == 0 && !(v & SHMSYNC_MUTEX_OWNER_DIED) &&
	    kind == SHMSYNC_MUTEX_KIND)
		return 0;
	if (owner == SHMSYNC_MUTEX_NOTRECOVERABLE) {
		shmsync_proto_mutex_release(r, id);
		return -ENOTRECOVERABLE;
	}
	bad = shmsync_mutex_check_image(m);
	if (bad) {
		shmsync_proto_mutex_release(r, id);
		return bad;
	}
	if ((v & SHMSYNC_MUTEX_OWNER_DIED) || owner == SHMSYNC_MUTEX_INCONSISTENT) {
		SHMSYNC_STORE_ONCE(m->owner, SHMSYNC_MUTEX_INCONSISTENT);
		return -EOWNERDEAD;
	}
	return 0;
}

/* Take the mutex if it is free or its owner died; never block. */
static inline int shmsync_proto_mutex_trylock(struct shmsync_mutexref *r,
					      __u32 id)
{
	__u32 v = shmsync_load32(&r->m->lock);

	for (;;) {
		if (SHMSYNC_MUTEX_TAKEABLE(v)) {
			if (!shmsync_cas32_acquire(&r->m->lock, &v,
						   id | (v & SHMSYNC_MUTEX_WAITERS)))
				continue;
			return shmsync_proto_mutex_acquired(r, id, v);
		}
		return (v & SHMSYNC_MUTEX_TID_MASK) == id ? -EDEADLK : -EBUSY;
	}
}

/*
 * Lock: take it, or set FUTEX_WAITERS and sleep while the word is unchanged,
 * then look again. A thread that has slept keeps FUTEX_WAITERS set when it
 * takes the mutex (other sleepers may rely on it, as glibc's
 * assume_other_futex_waiters). A waiter that gives up passes on the wake-up
 * it may have consumed if the mutex is free.
 */
static inline int shmsync_proto_mutex_lock(struct shmsync_mutexref *r, __u32 id,
					   const struct shmsync_wait *w)
{
	__u32 *lock = &r->m->lock;
	__u32 v, waiters = 0;
	int ret;

	ret = shmsync_proto_mutex_trylock(r, id);
	if (ret != -EBUSY)
		return ret;
	ret = shmsync_mutex_check_image(r->m);
	if (ret)
		return ret;
	v = shmsync_load32(lock);
	for (;;) {
		if (SHMSYNC_MUTEX_TAKEABLE(v)) {
			if (!shmsync_cas32_acquire(lock, &v, id | waiters |
						   (v & SHMSYNC_MUTEX_WAITERS)))
				continue;
			return shmsync_proto_mutex_acquired(r, id, v);
		}
		if ((v & SHMSYNC_MUTEX_TID_MASK) == id)
			return -EDEADLK;
		if (!(v & SHMSYNC_MUTEX_WAITERS)) {
			if (!shmsync_cas32_relaxed(lock, &v,
						   v | SHMSYNC_MUTEX_WAITERS))
				continue;
			v |= SHMSYNC_MUTEX_WAITERS;
		}
		waiters = SHMSYNC_MUTEX_WAITERS;
		ret = shmsync_mutex_futex_wait(r, v, w);
		if (ret) {
			v = shmsync_load32(lock);
			if ((v & SHMSYNC_MUTEX_TID_MASK) == 0)
				shmsync_mutex_futex_wake(r, 1);
			return ret;
		}
		v = shmsync_load32(lock);
	}
}

/*
 * Unlock by the owner: INCONSISTENT becomes NOTRECOVERABLE (no consistent()
 * after a death); exchange the word with 0, wake one sleeper if flagged.
 * -EUCLEAN: the word named another owner (someone overwrote it while the
 * caller held it, or the caller's process was found dead); it is left alone.
 */
static inline int shmsync_proto_mutex_unlock(struct shmsync_mutexref *r,
					     __u32 id)
{
	struct shmsync_mutex *m = r->m;
	__u32 v = shmsync_load32(&m->lock), old;

	if ((v & SHMSYNC_MUTEX_TID_MASK) != id || (v & SHMSYNC_MUTEX_OWNER_DIED))
		return -EPERM;
	if (SHMSYNC_LOAD_ONCE(m->owner) == SHMSYNC_MUTEX_INCONSISTENT)
		SHMSYNC_STORE_ONCE(m->owner, SHMSYNC_MUTEX_NOTRECOVERABLE);
	old = shmsync_proto_mutex_release(r, id);
	return (old & SHMSYNC_MUTEX_TID_MASK) == id ? 0 : -EUCLEAN;
}

/* pthread_mutex_consistent(): the owner repaired the data after a death. */
static inline int shmsync_proto_mutex_consistent(struct shmsync_mutexref *r,
						 __u32 id)
{
	struct shmsync_mutex *m = r->m;

	if ((shmsync_load32(&m->lock) & SHMSYNC_MUTEX_TID_MASK) != id)
		return -EPERM;
	if (SHMSYNC_LOAD_ONCE(m->owner) != SHMSYNC_MUTEX_INCONSISTENT)
		return -EINVAL;
	SHMSYNC_STORE_ONCE(m->owner, 0);
	return 0;
}

/*
 * Release a mutex whose owner id can no longer unlock it (it is gone, or
 * its handle is being released) as the kernel's robust-futex code does at a
 * thread's death: word = (old & FUTEX_WAITERS) | FUTEX_OWNER_DIED, then wake
 * one waiter. Returns 1 if it was id's and is now marked, else 0.
 */
static inline int shmsync_proto_mutex_abandon(struct shmsync_mutexref *r,
					      __u32 id)
{
	__u32 v = shmsync_load32(&r->m->lock);

	do {
		if ((v & SHMSYNC_MUTEX_TID_MASK) != id ||
		    (v & SHMSYNC_MUTEX_OWNER_DIED))
			return 0;
	} while (!shmsync_cas32_release(&r->m->lock, &v,
					(v & SHMSYNC_MUTEX_WAITERS) |
					SHMSYNC_MUTEX_OWNER_DIED));
	shmsync_mutex_futex_wake(r, 1);
	return 1;
}

#endif /* SHMSYNC_MUTEX_H */
