// SPDX-License-Identifier: GPL-2.0-only
/*
 * Robust mutexes for kernel threads: the protocol of include/shmsync/mutex.h
 * (docs/PROTOCOL.md 6.4) on the glibc pthread_mutex_t words that JVMs and C
 * programs lock, with the owner-death handling a kernel thread needs.
 *
 * A kernel thread has no robust futex list, and the kernel's exit path
 * would not walk one for a word it shares with processes anyway. So a
 * kernel thread's owner ID is SHMSYNC_KERNEL_OWNER | its TID, a value that
 * no task has in any PID namespace: the kernel's robust-list code, glibc
 * and Java never take it for one of theirs (a Java waiter finds no lease
 * with that TID and waits on the word alone, as for a C thread). The handle
 * records which kernel thread holds the mutex through it; releasing the
 * handle (shmsync_mutex_put(), which module unload and the self-tests do
 * for their handles) while the mutex is held marks the word
 * FUTEX_OWNER_DIED and wakes a waiter, exactly as the kernel does for a
 * dying thread: the next owner, in any process, is told. A kernel thread
 * must unlock or put before it exits: nothing watches its exit.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/sched.h>
#include <linux/sched/task.h>
#include <linux/slab.h>

#include "shmsync_internal.h"

static u32 shmsync_owner_id(void)
{
	return SHMSYNC_KERNEL_OWNER | (u32)task_pid_nr(current);
}

static bool shmsync_mutex_removed(struct shmsync_mutex_handle *h)
{
	return READ_ONCE(*h->o.sequence) != h->o.generation;
}

/**
 * shmsync_mutex_get() - look up a robust mutex of an attached region
 * @r: the region
 * @name: the mutex's name (1 to 40 bytes of UTF-8)
 *
 * As shmsync_sem_get(): offset and generation are copied once from the
 * checked directory entry; once the mutex is removed every call returns
 * -EIDRM and a kernel thread blocked on it wakes up with -EIDRM. Several
 * kernel threads may share one handle.
 *
 * Context: process context, may sleep.
 * Return: the handle, or an ERR_PTR: -ENOENT, -EMEDIUMTYPE (not a mutex),
 * -EINVAL (the entry is corrupt), -ENOMEM.
 */
struct shmsync_mutex_handle *shmsync_mutex_get(struct shmsync_region *r,
					       const char *name)
{
	struct shmsync_mutex_handle *h;
	int ret;

	h = kzalloc(sizeof(*h), GFP_KERNEL);
	if (!h)
		return ERR_PTR(-ENOMEM);
	spin_lock_init(&h->hold_lock);
	ret = shmsync_obj_init(r, &h->o, name, SHMSYNC_TYPE_MUTEX);
	if (ret) {
		kfree(h);
		return ERR_PTR(ret);
	}
	h->ref.m = (struct shmsync_mutex *)((char *)r->kva + h->o.offset);
	h->ref.o = &h->o;
	return h;
}
EXPORT_SYMBOL_GPL(shmsync_mutex_get);

/**
 * shmsync_mutex_put() - release a handle from shmsync_mutex_get()
 * @m: the handle; no thread may be locking or unlocking through it
 *
 * If a kernel thread still holds the mutex through this handle, the mutex
 * is released as if its owner had died (FUTEX_OWNER_DIED, one waiter
 * woken; the next owner gets EOWNERDEAD / OwnerDiedException), with a
 * dmesg warning.
 *
 * Context: process context, may sleep.
 */
void shmsync_mutex_put(struct shmsync_mutex_handle *m)
{
	struct task_struct *holder;
	u32 id;

	spin_lock(&m->hold_lock);
	holder = m->holder;
	id = m->holder_id;
	m->holder = NULL;
	spin_unlock(&m->hold_lock);
	if (holder) {
		if (!shmsync_mutex_removed(m) &&
		    shmsync_proto_mutex_abandon(&m->ref, id)) {
			atomic64_inc(&m->abandoned);
			pr_warn("mutex %s of region %s released as owner-died: its handle was put while kernel thread %d held it\n",
				m->o.name, m->o.region->name, task_pid_nr(holder));
		}
		put_task_struct(holder);
	}
	shmsync_obj_fini(&m->o);
	kfree(m);
}
EXPORT_SYMBOL_GPL(shmsync_mutex_put);

static int shmsync_mutex_held(struct shmsync_mutex_handle *m, u32 id, int ret)
{
	if (ret && ret != -EOWNERDEAD)
		return ret;
	spin_lock(&m->hold_lock);
	m->holder = get_task_struct(current);
	m->holder_id = id;
	spin_unlock(&m->hold_lock);
	atomic64_inc(&m->locks);
	if (ret)
		atomic64_inc(&m->owner_died);
	return ret;
}

/**
 * shmsync_mutex_trylock() - take the mutex if it is free, never sleep
 * @m: the mutex
 *
 * Context: a kernel thread.
 * Return: 0 with the mutex held; -EOWNERDEAD held, after its previous owner
 * died (repair, then shmsync_mutex_consistent(); unlocking without it makes
 * the mutex unrecoverable for everyone); -EBUSY held by someone else;
 * -EDEADLK held by this thread; -ENOTRECOVERABLE; -EUCLEAN corrupt
 * (__kind or reserved bytes); -EIDRM removed; -EPERM not a kernel thread.
 */
int shmsync_mutex_trylock(struct shmsync_mutex_handle *m)
{
	u32 id = shmsync_owner_id();

	if (!(current->flags & PF_KTHREAD))
		return -EPERM;
	if (shmsync_mutex_removed(m))
		return -EIDRM;
	return shmsync_mutex_held(m, id, shmsync_proto_mutex_trylock(&m->ref, id));
}
EXPORT_SYMBOL_GPL(shmsync_mutex_trylock);

static int shmsync_mutex_lock_common(struct shmsync_mutex_handle *m,
				     unsigned int mode, ktime_t deadline)
{
	struct shmsync_wait w = { .mode = mode, .deadline = deadline };
	u32 id = shmsync_owner_id();

	might_sleep();
	if (!(current->flags & PF_KTHREAD))
		return -EPERM;
	if (shmsync_mutex_removed(m))
		return -EIDRM;
	return shmsync_mutex_held(m, id, shmsync_proto_mutex_lock(&m->ref, id, &w));
}

/**
 * shmsync_mutex_lock() - lock, sleeping until the mutex is free
 * @m: the mutex
 *
 * The sleep is a futex wait on the lock word (shared with processes); as
 * shmsync_sem_down() it behaves as the killable variant: only a fatal
 * signal or kthread_stop() end it early.
 *
 * Context: a kernel thread (PF_KTHREAD) without an mm of its own, or one
 * inside shmsync_kthread_enter(). May sleep.
 * Return: as shmsync_mutex_trylock() except -EBUSY, and -ESHUTDOWN
 * (kthread_should_stop()), -EINTR (fatal signal), -EFAULT (truncated
 * region); on these the mutex is not held.
 */
int shmsync_mutex_lock(struct shmsync_mutex_handle *m)
{
	return shmsync_mutex_lock_common(m, SHMSYNC_WAIT_KILLABLE, KTIME_MAX);
}
EXPORT_SYMBOL_GPL(shmsync_mutex_lock);

/**
 * shmsync_mutex_lock_interruptible() - lock, or stop at any allowed signal
 * @m: the mutex
 *
 * Context: as shmsync_mutex_lock().
 * Return: as shmsync_mutex_lock(), and -EINTR for any signal the thread
 * allowed (allow_signal()).
 */
int shmsync_mutex_lock_interruptible(struct shmsync_mutex_handle *m)
{
	return shmsync_mutex_lock_common(m, SHMSYNC_WAIT_INTERRUPTIBLE, KTIME_MAX);
}
EXPORT_SYMBOL_GPL(shmsync_mutex_lock_interruptible);

/**
 * shmsync_mutex_lock_killable() - lock, or stop at a fatal signal
 * @m: the mutex
 *
 * Context: as shmsync_mutex_lock().
 * Return: as shmsync_mutex_lock().
 */
int shmsync_mutex_lock_killable(struct shmsync_mutex_handle *m)
{
	return shmsync_mutex_lock_common(m, SHMSYNC_WAIT_KILLABLE, KTIME_MAX);
}
EXPORT_SYMBOL_GPL(shmsync_mutex_lock_killable);

/**
 * shmsync_mutex_lock_timeout() - lock, waiting at most @timeout jiffies
 * @m: the mutex
 * @timeout: jiffies; 0 or less only tries
 *
 * Context: as shmsync_mutex_lock().
 * Return: as shmsync_mutex_lock(), and -ETIMEDOUT when the time elapsed.
 */
int shmsync_mutex_lock_timeout(struct shmsync_mutex_handle *m, long timeout)
{
	int ret;

	if (timeout <= 0) {
		ret = shmsync_mutex_trylock(m);
		return ret == -EBUSY ? -ETIMEDOUT : ret;
	}
	return shmsync_mutex_lock_common(m, SHMSYNC_WAIT_KILLABLE,
					 ktime_add_ns(ktime_get(),
						      jiffies_to_nsecs(timeout)));
}
EXPORT_SYMBOL_GPL(shmsync_mutex_lock_timeout);

/**
 * shmsync_mutex_unlock() - unlock a mutex this thread holds
 * @m: the handle it was locked through
 *
 * Wakes one sleeper (of any process) if the word says one sleeps. After an
 * -EOWNERDEAD lock without shmsync_mutex_consistent(), the mutex becomes
 * not recoverable.
 *
 * Context: the kernel thread that holds it.
 * Return: 0; -EPERM if this thread does not hold it through @m; -EUCLEAN if
 * the word named another owner (overwritten; it was released all the same).
 */
int shmsync_mutex_unlock(struct shmsync_mutex_handle *m)
{
	struct task_struct *holder;
	u32 id;
	int ret;

	spin_lock(&m->hold_lock);
	holder = m->holder;
	id = m->holder_id;
	if (holder != current) {
		spin_unlock(&m->hold_lock);
		return -EPERM;
	}
	m->holder = NULL;
	spin_unlock(&m->hold_lock);
	put_task_struct(holder);
	if (shmsync_mutex_removed(m))
		return -EIDRM;	/* the word is not ours any more: leave it */
	ret = shmsync_proto_mutex_unlock(&m->ref, id);
	if (!ret || ret == -EUCLEAN)
		atomic64_inc(&m->unlocks);
	return ret;
}
EXPORT_SYMBOL_GPL(shmsync_mutex_unlock);

/**
 * shmsync_mutex_consistent() - mark a mutex repaired after -EOWNERDEAD
 * @m: the handle it was locked through
 *
 * Context: the kernel thread that holds it.
 * Return: 0; -EPERM if this thread does not hold it; -EINVAL if it is not
 * inconsistent.
 */
int shmsync_mutex_consistent(struct shmsync_mutex_handle *m)
{
	if (READ_ONCE(m->holder) != current)
		return -EPERM;
	return shmsync_proto_mutex_consistent(&m->ref, m->holder_id);
}
EXPORT_SYMBOL_GPL(shmsync_mutex_consistent);
