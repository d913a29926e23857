// SPDX-License-Identifier: GPL-2.0-only
/*
 * Read-write semaphores for kernel threads: the protocol of
 * include/shmsync/rwsem.h (docs/PROTOCOL.md 7) on the same 64-bit state word
 * that JVMs (io.shmsync.RwSemaphore) and C programs use.
 *
 * Queued readers sleep on the low 32-bit half of the word, queued writers on
 * the high half; both are futex words of the handle's object (word 0 and 1),
 * so the object's wait and wake machinery serves them: the removal watcher
 * ends kernel waits on either half, and wakes from atomic context or from a
 * user task are deferred to the module's worker per half.
 *
 * Like Linux's rw_semaphore, holds are not tracked per thread: up_read and
 * up_write trust the caller, and a nested read while a writer waits
 * deadlocks. A kernel thread must release what it holds before it puts its
 * handle or exits: nothing releases a read or write hold on its behalf.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/jiffies.h>
#include <linux/sched.h>
#include <linux/slab.h>

#include "shmsync_internal.h"

/* The kernel shim's futex calls for rwsem.h (include/shmsync/shim.h). */
int shmsync_rw_futex_wake(struct shmsync_rwref *r, unsigned int word, int n)
{
	return shmsync_obj_wake_word(&r->h->o, word / sizeof(u32), n);
}

int shmsync_rw_futex_wait(struct shmsync_rwref *r, unsigned int word,
			  u32 expected, const struct shmsync_wait *w)
{
	return shmsync_obj_wait_word(&r->h->o, word / sizeof(u32), expected, w);
}

/**
 * shmsync_rwsem_get() - look up a read-write semaphore of an attached region
 * @r: the region
 * @name: the rwsem's name (1 to 40 bytes of UTF-8)
 *
 * As shmsync_sem_get(): offset and generation are copied once from the
 * checked directory entry; once the rwsem is removed every call returns
 * -EIDRM and a kernel thread blocked on it wakes up with -EIDRM. Several
 * kernel threads may share one handle.
 *
 * Context: process context, may sleep.
 * Return: the handle, or an ERR_PTR: -ENOENT, -EMEDIUMTYPE (not a rwsem),
 * -EOPNOTSUPP (a robust rwsem, PROTOCOL 7.6: the module does not run the
 * robust protocol), -EINVAL (the entry or its flags are corrupt), -ENOMEM.
 */
struct shmsync_rwsem_handle *shmsync_rwsem_get(struct shmsync_region *r,
					       const char *name)
{
	struct shmsync_rwsem_handle *h;
	u32 flags;
	int ret;

	h = kzalloc(sizeof(*h), GFP_KERNEL);
	if (!h)
		return ERR_PTR(-ENOMEM);
	ret = shmsync_obj_init(r, &h->o, name, SHMSYNC_TYPE_RWSEM);
	if (ret) {
		kfree(h);
		return ERR_PTR(ret);
	}
	flags = READ_ONCE(*(u32 *)((char *)r->kva + h->o.offset +
				   offsetof(struct shmsync_rwsem, flags)));
	if (flags) {
		/* Robust objects (PROTOCOL 7.6) are not run by the module. */
		shmsync_obj_fini(&h->o);
		kfree(h);
		return ERR_PTR(flags == SHMSYNC_RWSEM_ROBUST ? -EOPNOTSUPP :
			       -EINVAL);
	}
	h->ref.state = (u64 *)((char *)r->kva + h->o.offset);
	h->ref.uaddr = h->o.uaddr;
	h->ref.h = h;
	return h;
}
EXPORT_SYMBOL_GPL(shmsync_rwsem_get);

/**
 * shmsync_rwsem_put() - release a handle from shmsync_rwsem_get()
 * @s: the handle; no thread may be using it
 *
 * Wake-ups still deferred to the worker are delivered first. Holds taken
 * through the handle are not released.
 *
 * Context: process context, may sleep.
 */
void shmsync_rwsem_put(struct shmsync_rwsem_handle *s)
{
	shmsync_obj_fini(&s->o);
	kfree(s);
}
EXPORT_SYMBOL_GPL(shmsync_rwsem_put);

static int shmsync_rwsem_counted(atomic64_t *count, int ret)
{
	if (!ret)
		atomic64_inc(count);
	return ret;
}

/**
 * shmsync_rwsem_down_read_trylock() - take a read hold if no writer holds or
 * waits, never sleep
 * @s: the rwsem
 *
 * Context: any.
 * Return: 0 with a read hold; -EAGAIN if a writer holds or waits; -EIDRM if
 * the rwsem was removed; -EOVERFLOW at 65535 readers; -EUCLEAN if the state
 * word is corrupt (nothing changed).
 */
int shmsync_rwsem_down_read_trylock(struct shmsync_rwsem_handle *s)
{
	if (shmsync_obj_removed(&s->o))
		return -EIDRM;
	return shmsync_rwsem_counted(&s->reads,
				     shmsync_rwsem_read_trylock(&s->ref));
}
EXPORT_SYMBOL_GPL(shmsync_rwsem_down_read_trylock);

/**
 * shmsync_rwsem_down_write_trylock() - take the write lock if it is free,
 * never sleep
 * @s: the rwsem
 *
 * Context: any.
 * Return: 0 with the write lock; -EAGAIN if it is held (for reading or
 * writing); -EIDRM if the rwsem was removed.
 */
int shmsync_rwsem_down_write_trylock(struct shmsync_rwsem_handle *s)
{
	if (shmsync_obj_removed(&s->o))
		return -EIDRM;
	return shmsync_rwsem_counted(&s->writes,
				     shmsync_rwsem_write_trylock(&s->ref));
}
EXPORT_SYMBOL_GPL(shmsync_rwsem_down_write_trylock);

static int shmsync_rwsem_down_common(struct shmsync_rwsem_handle *s,
				     bool write, unsigned int mode,
				     ktime_t deadline)
{
	struct shmsync_wait w = { .mode = mode, .deadline = deadline };

	might_sleep();
	if (!(current->flags & PF_KTHREAD))
		return -EPERM;
	if (shmsync_obj_removed(&s->o))
		return -EIDRM;
	if (write)
		return shmsync_rwsem_counted(&s->writes,
					     shmsync_proto_rwsem_down_write(&s->ref,
									    &w));
	return shmsync_rwsem_counted(&s->reads,
				     shmsync_proto_rwsem_down_read(&s->ref, &w));
}

static ktime_t shmsync_rwsem_deadline(long timeout)
{
	return ktime_add_ns(ktime_get(), jiffies_to_nsecs(timeout));
}

/**
 * shmsync_rwsem_down_read() - take a read hold, sleeping while a writer holds
 * or waits
 * @s: the rwsem
 *
 * Writer-preferring and phase-fair (PROTOCOL.md 7): once a writer waits, new
 * readers queue; a write release admits every queued reader at once. The
 * sleep is a futex wait on the state word's low half, shared with
 * processes; as shmsync_sem_down() it behaves as the killable variant.
 *
 * Context: a kernel thread (PF_KTHREAD) without an mm of its own, or one
 * inside shmsync_kthread_enter(). May sleep.
 * Return: 0 with a read hold; -ESHUTDOWN if kthread_should_stop(); -EINTR
 * on a fatal signal; -EIDRM if the rwsem was removed; -EFAULT if the region
 * file was truncated; -EOVERFLOW at 65535 readers; -EUCLEAN if the state
 * word is corrupt; -EPERM if not called by a kernel thread. On any error
 * nothing is held and the thread is no longer queued.
 */
int shmsync_rwsem_down_read(struct shmsync_rwsem_handle *s)
{
	return shmsync_rwsem_down_common(s, false, SHMSYNC_WAIT_KILLABLE,
					 KTIME_MAX);
}
EXPORT_SYMBOL_GPL(shmsync_rwsem_down_read);

/**
 * shmsync_rwsem_down_read_interruptible() - take a read hold, or stop at any
 * allowed signal
 * @s: the rwsem
 *
 * Context: as shmsync_rwsem_down_read().
 * Return: as shmsync_rwsem_down_read(), and -EINTR for any signal the
 * thread allowed (allow_signal()).
 */
int shmsync_rwsem_down_read_interruptible(struct shmsync_rwsem_handle *s)
{
	return shmsync_rwsem_down_common(s, false, SHMSYNC_WAIT_INTERRUPTIBLE,
					 KTIME_MAX);
}
EXPORT_SYMBOL_GPL(shmsync_rwsem_down_read_interruptible);

/**
 * shmsync_rwsem_down_read_killable() - take a read hold, or stop at a fatal
 * signal
 * @s: the rwsem
 *
 * Context: as shmsync_rwsem_down_read().
 * Return: as shmsync_rwsem_down_read().
 */
int shmsync_rwsem_down_read_killable(struct shmsync_rwsem_handle *s)
{
	return shmsync_rwsem_down_common(s, false, SHMSYNC_WAIT_KILLABLE,
					 KTIME_MAX);
}
EXPORT_SYMBOL_GPL(shmsync_rwsem_down_read_killable);

/**
 * shmsync_rwsem_down_read_timeout() - take a read hold, waiting at most
 * @timeout jiffies
 * @s: the rwsem
 * @timeout: jiffies; 0 or less only tries
 *
 * Context: as shmsync_rwsem_down_read().
 * Return: as shmsync_rwsem_down_read(), and -ETIMEDOUT when the time
 * elapsed.
 */
int shmsync_rwsem_down_read_timeout(struct shmsync_rwsem_handle *s,
				    long timeout)
{
	int ret;

	if (timeout <= 0) {
		ret = shmsync_rwsem_down_read_trylock(s);
		return ret == -EAGAIN ? -ETIMEDOUT : ret;
	}
	return shmsync_rwsem_down_common(s, false, SHMSYNC_WAIT_KILLABLE,
					 shmsync_rwsem_deadline(timeout));
}
EXPORT_SYMBOL_GPL(shmsync_rwsem_down_read_timeout);

/**
 * shmsync_rwsem_down_write() - take the write lock, sleeping until there is
 * no writer and no read hold
 * @s: the rwsem
 *
 * While it waits, new readers queue behind it. The sleep is a futex wait on
 * the state word's high half; as shmsync_sem_down() it behaves as the
 * killable variant.
 *
 * Context: as shmsync_rwsem_down_read().
 * Return: 0 with the write lock; otherwise as shmsync_rwsem_down_read(),
 * -EOVERFLOW meaning 32767 waiting writers. A writer that gives up lets the
 * readers it held back in if it was the last writer present.
 */
int shmsync_rwsem_down_write(struct shmsync_rwsem_handle *s)
{
	return shmsync_rwsem_down_common(s, true, SHMSYNC_WAIT_KILLABLE,
					 KTIME_MAX);
}
EXPORT_SYMBOL_GPL(shmsync_rwsem_down_write);

/**
 * shmsync_rwsem_down_write_interruptible() - take the write lock, or stop at
 * any allowed signal
 * @s: the rwsem
 *
 * Context: as shmsync_rwsem_down_read().
 * Return: as shmsync_rwsem_down_write(), and -EINTR for any signal the
 * thread allowed (allow_signal()).
 */
int shmsync_rwsem_down_write_interruptible(struct shmsync_rwsem_handle *s)
{
	return shmsync_rwsem_down_common(s, true, SHMSYNC_WAIT_INTERRUPTIBLE,
					 KTIME_MAX);
}
EXPORT_SYMBOL_GPL(shmsync_rwsem_down_write_interruptible);

/**
 * shmsync_rwsem_down_write_killable() - take the write lock, or stop at a
 * fatal signal
 * @s: the rwsem
 *
 * Context: as shmsync_rwsem_down_read().
 * Return: as shmsync_rwsem_down_write().
 */
int shmsync_rwsem_down_write_killable(struct shmsync_rwsem_handle *s)
{
	return shmsync_rwsem_down_common(s, true, SHMSYNC_WAIT_KILLABLE,
					 KTIME_MAX);
}
EXPORT_SYMBOL_GPL(shmsync_rwsem_down_write_killable);

/**
 * shmsync_rwsem_down_write_timeout() - take the write lock, waiting at most
 * @timeout jiffies
 * @s: the rwsem
 * @timeout: jiffies; 0 or less only tries
 *
 * Context: as shmsync_rwsem_down_read().
 * Return: as shmsync_rwsem_down_write(), and -ETIMEDOUT when the time
 * elapsed.
 */
int shmsync_rwsem_down_write_timeout(struct shmsync_rwsem_handle *s,
				     long timeout)
{
	int ret;

	if (timeout <= 0) {
		ret = shmsync_rwsem_down_write_trylock(s);
		return ret == -EAGAIN ? -ETIMEDOUT : ret;
	}
	return shmsync_rwsem_down_common(s, true, SHMSYNC_WAIT_KILLABLE,
					 shmsync_rwsem_deadline(timeout));
}
EXPORT_SYMBOL_GPL(shmsync_rwsem_down_write_timeout);

/**
 * shmsync_rwsem_up_read() - release a read hold
 * @s: the rwsem
 *
 * The last reader wakes one queued writer (of any process).
 *
 * Context: any (from atomic context or a user task the wake-up is delivered
 * by the module's worker).
 * Return: 0; -EUCLEAN if the word counted no read hold (nothing changed);
 * -EIDRM if the rwsem was removed (the word is not touched).
 */
int shmsync_rwsem_up_read(struct shmsync_rwsem_handle *s)
{
	if (shmsync_obj_removed(&s->o))
		return -EIDRM;
	return shmsync_proto_rwsem_up_read(&s->ref);
}
EXPORT_SYMBOL_GPL(shmsync_rwsem_up_read);

/**
 * shmsync_rwsem_up_write() - release the write lock
 * @s: the rwsem
 *
 * Hands the lock to every queued reader at once, or else wakes one queued
 * writer.
 *
 * Context: any, as shmsync_rwsem_up_read().
 * Return: 0; -EUCLEAN if the word showed no writer or broke the invariants
 * (nothing changed); -EIDRM if the rwsem was removed.
 */
int shmsync_rwsem_up_write(struct shmsync_rwsem_handle *s)
{
	if (shmsync_obj_removed(&s->o))
		return -EIDRM;
	return shmsync_proto_rwsem_up_write(&s->ref);
}
EXPORT_SYMBOL_GPL(shmsync_rwsem_up_write);

/**
 * shmsync_rwsem_downgrade_write() - turn the write lock into a read hold
 * @s: the rwsem
 *
 * Atomically: no writer can get in between. Queued readers are admitted
 * with the caller; queued writers keep waiting.
 *
 * Context: any, as shmsync_rwsem_up_read().
 * Return: as shmsync_rwsem_up_write().
 */
int shmsync_rwsem_downgrade_write(struct shmsync_rwsem_handle *s)
{
	int ret;

	if (shmsync_obj_removed(&s->o))
		return -EIDRM;
	ret = shmsync_proto_rwsem_downgrade_write(&s->ref);
	if (!ret)
		atomic64_inc(&s->downgrades);
	return ret;
}
EXPORT_SYMBOL_GPL(shmsync_rwsem_downgrade_write);

/**
 * shmsync_rwsem_try_upgrade() - turn the caller's read hold into the write
 * lock if it is the only read hold, never sleep
 * @s: the rwsem
 *
 * Context: any.
 * Return: 0 with the write lock (the read hold is gone); -EAGAIN if other
 * read holds exist (the caller still reads); -EIDRM if the rwsem was
 * removed.
 */
int shmsync_rwsem_try_upgrade(struct shmsync_rwsem_handle *s)
{
	if (shmsync_obj_removed(&s->o))
		return -EIDRM;
	return shmsync_proto_rwsem_try_upgrade(&s->ref);
}
EXPORT_SYMBOL_GPL(shmsync_rwsem_try_upgrade);
