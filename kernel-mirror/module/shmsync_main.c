// SPDX-License-Identifier: GPL-2.0-only
/*
 * shmsync.ko - kernel threads on the same futex words as user space.
 *
 * A shmsync region is a file, /dev/shm/shmsync.NAME, that JVMs and C
 * programs map MAP_SHARED; its semaphores are glibc sem_t words on which
 * everyone runs the protocol of docs/PROTOCOL.md (written once in C in
 * include/shmsync/sem.h). This module lets kernel threads run that same
 * protocol on the same words: they take and post tokens with the kernel's
 * atomics and, when they must block, sleep in the real futex hash on the
 * word itself, so a JVM's plain FUTEX_WAKE wakes them, and their FUTEX_WAKE
 * wakes the JVM.
 *
 * Kernel facilities used, and why:
 *
 * - One mm for all regions: insmod's, kept with mmget() at load time.
 *   A shared futex key is (inode, page index, offset), derived from a user
 *   address through the current mm; the kernel threads need a user address
 *   of the region, hence an mm that maps it. mm_alloc() is not exported, so
 *   the module borrows the mm of the process that loads it.
 * - vm_mmap() of the region file into that mm (by a kthread_worker that has
 *   adopted it with kthread_use_mm(), so regions can also be attached later,
 *   from any context), pin_user_pages_fast(FOLL_LONGTERM) and vmap(): the
 *   atomics work on the vmap, the futex calls on the user address.
 * - kthread_use_mm() in every kernel thread that waits or wakes, so the
 *   user address resolves to the same futex key as every process's mapping.
 * - do_futex(), which is not exported: its address is found once with a
 *   kprobe on do_futex itself (register and unregister; kprobes report
 *   sym+0x4 on IBT builds, so the address is normalised and validated with
 *   %pS), or taken from the do_futex_addr parameter and validated the same
 *   way. It is only ever called through a static_call, patched to a direct
 *   branch, because Debian's 6.12 is built with CONFIG_X86_KERNEL_IBT and
 *   seals do_futex: an indirect call would oops on an IBT CPU. If the
 *   address cannot be found and validated the module refuses to load.
 * - allow_signal(SIGKILL) + send_sig() for its own threads, so that rmmod
 *   interrupts a futex wait also on kernels whose kthread_stop() does not
 *   (since 6.1 kthread_stop() sets TIF_NOTIFY_SIGNAL, which does).
 *
 * What a future kernel could break: the do_futex() prototype (unchanged
 * from 5.10 to 6.12) or its absolute-CLOCK_MONOTONIC timeout semantics; the
 * kprobe address adjustment on IBT builds (the %pS check refuses anything
 * but do_futex+small offset); kthread_use_mm() and static_call being
 * available to modules; shared futex keys for shmem pages. Each failure is
 * a refusal to load, never a wrong call.
 *
 * Minimum kernel: 5.10 (kthread_use_mm 5.8, pin_user_pages 5.6, static_call
 * 5.10), enforced by Kbuild. Tested: Debian 6.1, 6.1 PREEMPT_RT and 6.12
 * under QEMU.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/debugfs.h>
#include <linux/delay.h>
#include <linux/futex.h>
#include <linux/kallsyms.h>
#include <linux/kprobes.h>
#include <linux/module.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/static_call.h>
#include <linux/uaccess.h>

#include "shmsync_internal.h"

static char *region;
module_param(region, charp, 0444);
MODULE_PARM_DESC(region, "Region NAME to attach at load time (/dev/shm/shmsync.NAME)");

static char *selftest;
module_param(selftest, charp, 0444);
MODULE_PARM_DESC(selftest,
		 "Self-test kthreads on the region: comma-separated pingpong:NAME, ping:NAME:ROUNDS, mutex:SEM:COUNTER:ITERS:THREADS, block:SEM:THREADS, kmutex:MUTEX:COUNTER:ITERS:THREADS, khold:MUTEX");

char *shmsync_dir = "/dev/shm";
module_param_named(dir, shmsync_dir, charp, 0444);
MODULE_PARM_DESC(dir, "Directory of region files (default /dev/shm)");

unsigned long shmsync_max_region_size = 64UL << 20;
module_param_named(max_region_size, shmsync_max_region_size, ulong, 0444);
MODULE_PARM_DESC(max_region_size, "Largest region to attach, in bytes (default 64 MiB; all of it is pinned)");

int shmsync_owner_uid = -1;
module_param_named(owner_uid, shmsync_owner_uid, int, 0444);
MODULE_PARM_DESC(owner_uid, "UID that must own region files (default -1: the attaching task's euid)");

static unsigned long do_futex_addr;
module_param(do_futex_addr, ulong, 0444);
MODULE_PARM_DESC(do_futex_addr, "Address of do_futex from /proc/kallsyms (default: found with a kprobe)");

struct mm_struct *shmsync_mm;
struct kthread_worker *shmsync_worker;
struct dentry *shmsync_debugfs;
static struct shmsync_region *param_region;

/* ------------------------------------------------------------------ futex */

static long shmsync_futex_stub(u32 __user *uaddr, int op, u32 val,
			       ktime_t *timeout, u32 __user *uaddr2, u32 val2,
			       u32 val3)
{
	return -ENOENT;	/* never called: init refuses to load first */
}

DEFINE_STATIC_CALL(shmsync_futex_call, shmsync_futex_stub);

/*
 * Normalises addr to the start of do_futex and validates it: %pS must say
 * "do_futex+0x<off>/" with a small offset (the ENDBR that kprobes skip).
 */
static unsigned long shmsync_check_do_futex(unsigned long addr)
{
	static const char name[] = "do_futex+0x";
	char buf[KSYM_SYMBOL_LEN];
	unsigned long off;
	char *slash;

	if (!addr)
		return 0;
	snprintf(buf, sizeof(buf), "%pS", (void *)addr);
	if (strncmp(buf, name, sizeof(name) - 1))
		return 0;
	slash = strchr(buf, '/');
	if (!slash)
		return 0;
	*slash = 0;
	if (kstrtoul(buf + sizeof(name) - 1, 16, &off) || off > 16)
		return 0;
	return addr - off;
}

static unsigned long shmsync_find_do_futex(void)
{
	struct kprobe kp = { .symbol_name = "do_futex" };
	unsigned long addr;

	if (do_futex_addr)
		return shmsync_check_do_futex(do_futex_addr);
	if (register_kprobe(&kp) < 0)
		return 0;
	addr = (unsigned long)kp.addr;
	unregister_kprobe(&kp);
	return shmsync_check_do_futex(addr);
}

long shmsync_do_futex(u32 __user *uaddr, int op, u32 val, ktime_t *timeout)
{
	return static_call(shmsync_futex_call)(uaddr, op, val, timeout, NULL, 0, 0);
}

/*
 * Adopts shmsync_mm for one futex call if the current task is a kernel
 * thread without an mm. Returns 1 if adopted, 0 if already in it, -EPERM if
 * the task runs in another mm (a user task, or a kthread using another mm).
 */
int shmsync_enter_mm(void)
{
	if (current->mm == shmsync_mm)
		return 0;
	if (!(current->flags & PF_KTHREAD) || current->mm)
		return -EPERM;
	kthread_use_mm(shmsync_mm);
	return 1;
}

/* Futex word number i (0 or 1) of o, in shmsync_mm. */
static u32 __user *shmsync_obj_word(struct shmsync_obj *o, unsigned int i)
{
	return o->uaddr + i;
}

void shmsync_obj_wake_work(struct kthread_work *work)
{
	struct shmsync_obj *o = container_of(work, struct shmsync_obj, wake_work);
	unsigned int i;
	int n;

	for (i = 0; i < o->nwords; i++) {
		n = atomic_xchg(&o->pending_wakes[i], 0);
		if (n > 0) {
			shmsync_do_futex(shmsync_obj_word(o, i), FUTEX_WAKE, n,
					 NULL);
			atomic64_inc(&o->futex_wakes);
		}
	}
}

/*
 * FUTEX_WAKE of n waiters on futex word number word (0, or 1: the second
 * word of a read-write semaphore's state) of o.
 */
int shmsync_obj_wake_word(struct shmsync_obj *o, unsigned int word, int n)
{
	int adopted, old, new;
	long ret;

	if (n <= 0)
		return 0;
	if (WARN_ON_ONCE(word >= o->nwords))
		return -EINVAL;
	if (in_task() && preemptible()) {
		adopted = shmsync_enter_mm();
		if (adopted >= 0) {
			ret = shmsync_do_futex(shmsync_obj_word(o, word),
					       FUTEX_WAKE, n, NULL);
			if (adopted)
				kthread_unuse_mm(shmsync_mm);
			atomic64_inc(&o->futex_wakes);
			return ret;
		}
	}
	/*
	 * A user task (its mm is not ours), or a context that cannot sleep
	 * (a spinlock held, interrupts off, a timer or an interrupt): the
	 * worker wakes. The token or the unlock is already published, so a
	 * waiter that looks before the worker runs finds it; one that sleeps
	 * is woken by the worker (FUTEX_WAKE counts, it does not compare).
	 * The count saturates at INT_MAX ("all").
	 */
	old = atomic_read(&o->pending_wakes[word]);
	do {
		new = n > INT_MAX - old ? INT_MAX : old + n;
	} while (!atomic_try_cmpxchg(&o->pending_wakes[word], &old, new));
	atomic64_inc(&o->deferred_wakes);
	kthread_queue_work(shmsync_worker, &o->wake_work);
	return 0;
}

/* The kernel shim's FUTEX_WAKE (include/shmsync/shim.h). */
int shmsync_obj_wake(struct shmsync_obj *o, int n)
{
	return shmsync_obj_wake_word(o, 0, n);
}

bool shmsync_obj_removed(struct shmsync_obj *o)
{
	return READ_ONCE(*o->sequence) != o->generation;
}

/*
 * The kernel shim's futex wait: sleep while the word equals expected, in the
 * real futex hash, as a kernel thread in shmsync_mm. 0 means "look again";
 * -ESHUTDOWN: the thread is being stopped; -EINTR: a (fatal) signal;
 * -ETIMEDOUT; -EIDRM: the object was removed; -EFAULT: the region file was
 * truncated under us; -EPERM: not a kernel thread.
 *
 * A kernel thread can sleep on one futex word only, so the object's
 * watcher thread (shmsync_obj_watch()) sleeps on the directory entry's
 * sequence word and, when it changes, wakes the object's word until no
 * kernel waiter is left. kwaiters and the sequence are a Dekker pair: a
 * waiter counts itself before it reads the sequence, the watcher reads the
 * sequence before it reads kwaiters (full barriers on both sides), so a
 * waiter either sees the removal or is counted and woken.
 */
int shmsync_obj_wait_word(struct shmsync_obj *o, unsigned int word,
			  u32 expected, const struct shmsync_wait *w)
{
	ktime_t deadline = w->deadline;
	sigset_t block, saved;
	int adopted, ret;
	long r;

	if (WARN_ON_ONCE(word >= o->nwords))
		return -EINVAL;
	if (kthread_should_stop())
		return -ESHUTDOWN;
	if (fatal_signal_pending(current))
		return -EINTR;
	adopted = shmsync_enter_mm();
	if (adopted < 0)
		return adopted;
	atomic_inc(&o->kwaiters);
	/* count, then read the sequence: pairs with the watcher's smp_mb() */
	smp_mb__after_atomic();
	if (shmsync_obj_removed(o)) {
		ret = -EIDRM;
		goto out;
	}
	if (w->mode == SHMSYNC_WAIT_KILLABLE) {
		/* only SIGKILL (which cannot be blocked) and kthread_stop end it */
		sigfillset(&block);
		sigprocmask(SIG_BLOCK, &block, &saved);
	}
	atomic64_inc(&o->futex_waits);
	r = shmsync_do_futex(shmsync_obj_word(o, word), FUTEX_WAIT, expected,
			     deadline == KTIME_MAX ? NULL : &deadline);
	if (w->mode == SHMSYNC_WAIT_KILLABLE)
		sigprocmask(SIG_SETMASK, &saved, NULL);

	switch (r) {
	case 0:
	case -EAGAIN:
		ret = 0;
		break;
	case -ETIMEDOUT:
		ret = -ETIMEDOUT;
		break;
	case -EINTR:
	case -ERESTARTSYS:
	case -ERESTARTNOINTR:
	case -ERESTARTNOHAND:
	case -ERESTART_RESTARTBLOCK:
		/*
		 * Never loop on a pending signal: the futex sleep would return
		 * at once, again and again.
		 */
		ret = kthread_should_stop() ? -ESHUTDOWN : -EINTR;
		break;
	default:
		ret = r;	/* -EFAULT: truncated region */
		break;
	}
	if (!ret && shmsync_obj_removed(o))
		ret = -EIDRM;
out:
	atomic_dec(&o->kwaiters);
	if (adopted)
		kthread_unuse_mm(shmsync_mm);
	return ret;
}

/* The kernel shim's futex wait (include/shmsync/shim.h). */
int shmsync_obj_wait(struct shmsync_obj *o, u32 expected,
		     const struct shmsync_wait *w)
{
	return shmsync_obj_wait_word(o, 0, expected, w);
}

/*
 * The removal watcher of one object handle (a kernel thread in shmsync_mm):
 * sleeps in FUTEX_WAIT on the entry's sequence word, which every removal
 * changes and wakes (PROTOCOL.md 1.4); then wakes the object's futex word
 * every 10 ms while kernel threads still wait on it (a waiter that looked
 * at the sequence just before the removal may queue just after a wake), and
 * parks until the handle is put. Waking the word also wakes user-space
 * waiters: for them it is a spurious wake-up, which the protocols allow.
 */
int shmsync_obj_watch(void *arg)
{
	struct shmsync_obj *o = arg;
	unsigned int i;
	long r;

	allow_signal(SIGKILL);
	kthread_use_mm(shmsync_mm);
	while (!kthread_should_stop() && !shmsync_obj_removed(o)) {
		r = shmsync_do_futex(o->useq, FUTEX_WAIT, o->generation, NULL);
		if (r != 0 && r != -EAGAIN && signal_pending(current)) {
			if (kthread_should_stop())
				break;
			flush_signals(current);
		} else if (r == -EFAULT) {
			break;	/* truncated: waits end with -EFAULT too */
		}
	}
	/* read the sequence, then kwaiters: pairs with shmsync_obj_wait() */
	smp_mb();
	while (!kthread_should_stop() && atomic_read(&o->kwaiters) > 0) {
		for (i = 0; i < o->nwords; i++)
			shmsync_do_futex(shmsync_obj_word(o, i), FUTEX_WAKE,
					 INT_MAX, NULL);
		atomic64_inc(&o->futex_wakes);
		msleep_interruptible(10);
		flush_signals(current);
	}
	kthread_unuse_mm(shmsync_mm);
	for (;;) {
		set_current_state(TASK_IDLE);
		if (kthread_should_stop())
			break;
		schedule();
	}
	__set_current_state(TASK_RUNNING);
	return 0;
}

/**
 * shmsync_kthread_enter() - let the current kernel thread use shmsync's mm
 *
 * Optional: the waiting and waking calls adopt the mm for each futex call by
 * themselves; a thread that calls them in a loop saves that cost by adopting
 * it once. Pair with shmsync_kthread_exit() before the thread ends.
 *
 * Context: a kernel thread (PF_KTHREAD) without an mm of its own.
 * Return: 0, or -EPERM if the caller is not such a thread.
 */
int shmsync_kthread_enter(void)
{
	return shmsync_enter_mm() < 0 ? -EPERM : 0;
}
EXPORT_SYMBOL_GPL(shmsync_kthread_enter);

/**
 * shmsync_kthread_exit() - undo shmsync_kthread_enter()
 *
 * Context: the kernel thread that called shmsync_kthread_enter().
 */
void shmsync_kthread_exit(void)
{
	if (current->mm == shmsync_mm)
		kthread_unuse_mm(shmsync_mm);
}
EXPORT_SYMBOL_GPL(shmsync_kthread_exit);

/**
 * shmsync_kthread_stop() - stop a kernel thread that may be blocked in shmsync
 * @task: the thread, created with kthread_create() and referenced by the caller
 *
 * A thread blocked in shmsync_sem_down*() sleeps in a futex wait. Since 6.1
 * kthread_stop() interrupts it; on older kernels only a signal does. This
 * sends SIGKILL (effective if the thread called allow_signal(SIGKILL)) and
 * then calls kthread_stop(). The interrupted down returns -ESHUTDOWN or
 * -EINTR without taking a token.
 *
 * Context: process context, may sleep.
 * Return: the thread function's return value, as kthread_stop().
 */
int shmsync_kthread_stop(struct task_struct *task)
{
	send_sig(SIGKILL, task, 1);
	return kthread_stop(task);
}
EXPORT_SYMBOL_GPL(shmsync_kthread_stop);

/* --------------------------------------------------------- worker and init */

struct shmsync_call {
	struct kthread_work work;
	int (*fn)(void *arg);
	void *arg;
	int ret;
};

static void shmsync_call_work(struct kthread_work *work)
{
	struct shmsync_call *c = container_of(work, struct shmsync_call, work);

	c->ret = c->fn(c->arg);
}

/* Runs fn(arg) on the worker (a kernel thread in shmsync_mm) and waits. */
int shmsync_run_on_worker(int (*fn)(void *), void *arg)
{
	struct shmsync_call c = { .fn = fn, .arg = arg };

	kthread_init_work(&c.work, shmsync_call_work);
	kthread_queue_work(shmsync_worker, &c.work);
	kthread_flush_work(&c.work);
	return c.ret;
}

static int shmsync_worker_use_mm(void *unused)
{
	kthread_use_mm(shmsync_mm);
	return 0;
}

static int shmsync_worker_unuse_mm(void *unused)
{
	kthread_unuse_mm(shmsync_mm);
	return 0;
}

static int __init shmsync_init(void)
{
	unsigned long addr;
	int ret;

	addr = shmsync_find_do_futex();
	if (!addr) {
		pr_err("cannot find and validate do_futex (kprobes disabled? pass do_futex_addr= from /proc/kallsyms); not loading\n");
		return -ENOENT;
	}
	static_call_update(shmsync_futex_call,
			   (typeof(&shmsync_futex_stub))addr);
	pr_info("futex calls go to %pS through a static call\n", (void *)addr);

	if (!current->mm) {
		pr_err("must be loaded by a user process (its mm holds the region mappings)\n");
		return -EINVAL;
	}
	shmsync_mm = current->mm;
	mmget(shmsync_mm);

	shmsync_worker = kthread_create_worker(0, "shmsync");
	if (IS_ERR(shmsync_worker)) {
		ret = PTR_ERR(shmsync_worker);
		goto err_mm;
	}
	shmsync_run_on_worker(shmsync_worker_use_mm, NULL);
	shmsync_debugfs = debugfs_create_dir("shmsync", NULL);

	ret = shmsync_regions_init();
	if (ret)
		goto err_worker;

	if (region && *region) {
		param_region = shmsync_region_attach(region);
		if (IS_ERR(param_region)) {
			ret = PTR_ERR(param_region);
			param_region = NULL;
			goto err_regions;
		}
		if (selftest && *selftest) {
			ret = shmsync_selftest_start(param_region, selftest);
			if (ret)
				goto err_selftest;
		}
	} else if (selftest && *selftest) {
		pr_err("selftest= needs region=\n");
		ret = -EINVAL;
		goto err_regions;
	}
	return 0;

err_selftest:
	shmsync_selftest_stop();
	shmsync_region_detach(param_region);
err_regions:
	shmsync_regions_exit();
err_worker:
	debugfs_remove_recursive(shmsync_debugfs);
	shmsync_run_on_worker(shmsync_worker_unuse_mm, NULL);
	kthread_destroy_worker(shmsync_worker);
err_mm:
	mmput(shmsync_mm);
	return ret;
}

static void __exit shmsync_exit(void)
{
	shmsync_selftest_stop();
	if (param_region)
		shmsync_region_detach(param_region);
	shmsync_regions_exit();
	debugfs_remove_recursive(shmsync_debugfs);
	shmsync_run_on_worker(shmsync_worker_unuse_mm, NULL);
	kthread_destroy_worker(shmsync_worker);
	mmput(shmsync_mm);
	pr_info("unloaded\n");
}

module_init(shmsync_init);
module_exit(shmsync_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("shmsync");
MODULE_DESCRIPTION("Kernel threads on shmsync semaphores in /dev/shm, interoperating with user-space futexes");
