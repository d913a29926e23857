// SPDX-License-Identifier: GPL-2.0-only
/*
 * shmsync_test.ko - exercises shmsync.ko's exported API from another
 * module, for the VM scenarios (kernel-mirror/test/scenarios.sh). Not
 * installed anywhere; built by run-vm.sh against shmsync.ko's symbols.
 *
 *   insmod shmsync_test.ko region=R sem=S [mutex=M]
 *     runs, in kernel threads, and prints "shmsync_test: RESULT <name>
 *     PASS|FAIL <detail>" for each:
 *     attach       shmsync_region_attach() twice gives one region
 *     timeout      down_timeout() on an empty semaphore returns -ETIMEDOUT
 *                  after the time, takes nothing; with a token: 0
 *     interrupt    down_interruptible() ends with -EINTR at SIGUSR1;
 *                  down_killable() does not, and is woken by up()
 *     stop         a thread blocked in down_interruptible() is stopped
 *                  by plain kthread_stop(): -ESHUTDOWN
 *     atomic       up() with a raw spinlock held, from a timer and from a
 *                  hard-irq irq_work: each wakes a thread blocked in down()
 *                  (the wake is deferred to shmsync's worker)
 *     The semaphore S must have value 0 and no waiters; it has them again
 *     afterwards. Handles are kept until rmmod (debugfs shows them).
 *
 *   ... mutex=M (with sem=S): also, on the unlocked robust mutex M:
 *     mutex        held by one thread: another's trylock -EBUSY,
 *                  lock_timeout -ETIMEDOUT, lock_interruptible -EINTR at
 *                  SIGUSR1, unlock -EPERM; the holder's trylock -EDEADLK;
 *                  after the holder's unlock the other locks; M is
 *                  unlocked again at the end
 *
 *   insmod shmsync_test.ko region=R rwsem=W
 *     on the free read-write semaphore W (left free, handle kept until
 *     rmmod), with the write lock taken by insmod's task (trylock; its
 *     releases from a user task are deferred wakes):
 *     rwsem-try    read/write trylock -EAGAIN, down_*_timeout(0) and
 *                  (300 ms) -ETIMEDOUT after the time
 *     rwsem-interrupt  down_read/down_write_interruptible end with -EINTR
 *                  at SIGUSR1
 *     rwsem-killable   down_read_killable ignores SIGUSR1 and is admitted
 *                  by downgrade_write; down_write_killable ignores it and
 *                  gets the lock at the last up_read
 *     rwsem-stop   down_read_interruptible under kthread_stop(): -ESHUTDOWN
 *
 *   insmod shmsync_test.ko region=R removal=S[,M]
 *     a thread blocks in down(S) (and, with M, one thread holds mutex M
 *     while another blocks in mutex_lock(M)); when a process removes S (M)
 *     from the region, the blocked calls print RESULT removal-sem /
 *     removal-mutex PASS if they returned -EIDRM.
 *     ... rmrwsem=W: also, with W's write lock taken by insmod's task, one
 *     thread blocks in down_read(W) and one in down_write(W); RESULT
 *     removal-rwsem-read / removal-rwsem-write PASS if they returned
 *     -EIDRM when W is removed.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/delay.h>
#include <linux/irq_work.h>
#include <linux/jiffies.h>
#include <linux/kthread.h>
#include <linux/module.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/timer.h>

#include <shmsync/shmsync.h>

static char *region;
module_param(region, charp, 0444);
MODULE_PARM_DESC(region, "Region NAME");
static char *sem;
module_param(sem, charp, 0444);
MODULE_PARM_DESC(sem, "Semaphore for the API tests (value 0, no waiters)");
static char *mutex;
module_param(mutex, charp, 0444);
MODULE_PARM_DESC(mutex, "Unlocked robust mutex for the mutex API tests");
static char *rwsem;
module_param(rwsem, charp, 0444);
MODULE_PARM_DESC(rwsem, "Free read-write semaphore for the rwsem API tests");
static char *rmrwsem;
module_param(rmrwsem, charp, 0444);
MODULE_PARM_DESC(rmrwsem, "With removal=: also block on this rwsem until a process removes it");
static char *removal;
module_param(removal, charp, 0444);
MODULE_PARM_DESC(removal, "SEM[,MUTEX]: block on them until a process removes them");

static struct shmsync_region *reg;
static struct shmsync_sem_handle *hs;
static struct shmsync_sem_handle *hrm;
static struct shmsync_mutex_handle *hm;
static struct shmsync_rwsem_handle *hrw;

#define result(name, ok, fmt, ...)					\
	pr_info("RESULT %s %s " fmt "\n", name, (ok) ? "PASS" : "FAIL",	\
		##__VA_ARGS__)

/* A kernel thread that runs fn and then waits for kthread_stop(). */
struct tt {
	struct task_struct *task;
	int (*fn)(struct tt *t);
	int ret;
	s64 ms;				/* how long fn took */
	struct completion done;
};

static void tt_park(void)
{
	for (;;) {
		set_current_state(TASK_IDLE);
		if (kthread_should_stop())
			break;
		schedule();
	}
	__set_current_state(TASK_RUNNING);
}

static int tt_main(void *arg)
{
	struct tt *t = arg;
	ktime_t t0 = ktime_get();

	t->ret = t->fn(t);
	t->ms = ktime_ms_delta(ktime_get(), t0);
	complete(&t->done);
	tt_park();
	return 0;
}

static int tt_start(struct tt *t, int (*fn)(struct tt *t), const char *name)
{
	t->fn = fn;
	t->ret = -EINPROGRESS;
	init_completion(&t->done);
	t->task = kthread_run(tt_main, t, "shmsync_test/%s", name);
	if (IS_ERR(t->task))
		return PTR_ERR(t->task);
	get_task_struct(t->task);
	return 0;
}

static void tt_stop(struct tt *t)
{
	kthread_stop(t->task);
	put_task_struct(t->task);
}

/* Waits until n threads are registered as waiters on hs (at most 20 s). */
static bool wait_waiters(u32 n)
{
	u32 v, w;
	int i;

	for (i = 0; i < 1000; i++) {
		if (!shmsync_sem_getvalue(hs, &v, &w) && w >= n)
			return true;
		msleep(20);
	}
	return false;
}

static bool sem_idle(u32 *v, u32 *w)
{
	return !shmsync_sem_getvalue(hs, v, w) && *v == 0 && *w == 0;
}

/* ------------------------------------------------------------- timeout */

static int fn_timeout(struct tt *t)
{
	ktime_t t0;
	int r0, r1, r2, r3;
	s64 ms;

	r0 = shmsync_sem_down_timeout(hs, 0);
	t0 = ktime_get();
	r1 = shmsync_sem_down_timeout(hs, msecs_to_jiffies(300));
	ms = ktime_ms_delta(ktime_get(), t0);
	r2 = shmsync_sem_trydown(hs);
	r3 = shmsync_sem_up(hs);
	if (!r3)
		r3 = shmsync_sem_down_timeout(hs, msecs_to_jiffies(10000));
	pr_info("timeout: down_timeout(0)=%d down_timeout(300 ms)=%d after %lld ms, trydown=%d, with a token=%d\n",
		r0, r1, ms, r2, r3);
	return r0 == -ETIMEDOUT && r1 == -ETIMEDOUT && ms >= 300 &&
	       r2 == -EAGAIN && r3 == 0 ? 0 : -EINVAL;
}

/* ------------------------------------------------------------ interrupt */

static int fn_interruptible(struct tt *t)
{
	allow_signal(SIGUSR1);
	return shmsync_sem_down_interruptible(hs);
}

static int fn_killable(struct tt *t)
{
	int ret;

	allow_signal(SIGUSR1);
	ret = shmsync_sem_down_killable(hs);
	flush_signals(current);
	return ret;
}

static int fn_stop(struct tt *t)
{
	int ret = shmsync_sem_down_interruptible(hs);

	return ret;
}

static void test_interrupt(void)
{
	struct tt a = {}, b = {}, c = {};
	bool ok, reg1, reg2, reg3;
	u32 v, w;
	long left;

	if (tt_start(&a, fn_interruptible, "intr")) {
		result("interrupt", 0, "kthread_run");
		return;
	}
	reg1 = wait_waiters(1);
	msleep(100);
	send_sig(SIGUSR1, a.task, 1);
	left = wait_for_completion_timeout(&a.done, 20 * HZ);
	tt_stop(&a);

	if (tt_start(&b, fn_killable, "kill")) {
		result("interrupt", 0, "kthread_run");
		return;
	}
	reg2 = wait_waiters(1);
	msleep(100);
	send_sig(SIGUSR1, b.task, 1);
	msleep(500);
	ok = !completion_done(&b.done);	/* SIGUSR1 does not end it */
	shmsync_sem_up(hs);
	wait_for_completion_timeout(&b.done, 20 * HZ);
	tt_stop(&b);
	result("interrupt", left && a.ret == -EINTR && reg1 && reg2 && ok && b.ret == 0 &&
	       sem_idle(&v, &w),
	       "down_interruptible at SIGUSR1: %d; down_killable ignored SIGUSR1 (%d) and took the token up() posted: %d; after: value=%u nwaiters=%u",
	       a.ret, ok, b.ret, v, w);

	if (tt_start(&c, fn_stop, "stop")) {
		result("stop", 0, "kthread_run");
		return;
	}
	reg3 = wait_waiters(1);
	msleep(100);
	/* plain kthread_stop(): since 6.1 it sets TIF_NOTIFY_SIGNAL */
	kthread_stop(c.task);
	put_task_struct(c.task);
	result("stop", reg3 && c.ret == -ESHUTDOWN && sem_idle(&v, &w),
	       "down_interruptible under kthread_stop(): %d; after: value=%u nwaiters=%u",
	       c.ret, v, w);
}

/* --------------------------------------------------------------- atomic */

static DEFINE_RAW_SPINLOCK(test_lock);
static struct timer_list test_timer;
static struct irq_work test_irq_work;
static atomic_t atomic_ups;

static void up_from_timer(struct timer_list *unused)
{
	if (!shmsync_sem_up(hs))
		atomic_inc(&atomic_ups);
}

static void up_from_irq_work(struct irq_work *unused)
{
	if (!shmsync_sem_up(hs))
		atomic_inc(&atomic_ups);
}

static int fn_down(struct tt *t)
{
	return shmsync_sem_down(hs);
}

static void test_atomic(void)
{
	static const char * const how[] = { "raw spinlock", "timer", "hard irq_work" };
	struct tt t[3] = {};
	unsigned long flags;
	bool ok = true;
	int i, n = 0;
	u32 v, w;

	timer_setup(&test_timer, up_from_timer, 0);
	test_irq_work = IRQ_WORK_INIT_HARD(up_from_irq_work);
	for (i = 0; i < 3; i++) {
		if (tt_start(&t[i], fn_down, "atomic")) {
			ok = false;
			break;
		}
		n++;
		if (!wait_waiters(1)) {
			ok = false;
			break;
		}
		msleep(100);
		switch (i) {
		case 0:
			raw_spin_lock_irqsave(&test_lock, flags);
			if (!shmsync_sem_up(hs))
				atomic_inc(&atomic_ups);
			raw_spin_unlock_irqrestore(&test_lock, flags);
			break;
		case 1:
			mod_timer(&test_timer, jiffies + 1);
			break;
		case 2:
			irq_work_queue(&test_irq_work);
			break;
		}
		if (!wait_for_completion_timeout(&t[i].done, 20 * HZ) || t[i].ret) {
			pr_info("atomic: the thread woken by up() under a %s: %d\n",
				how[i], t[i].ret);
			ok = false;
			break;
		}
	}
	del_timer_sync(&test_timer);
	irq_work_sync(&test_irq_work);
	for (i = 0; i < n; i++) {
		if (!completion_done(&t[i].done))
			send_sig(SIGKILL, t[i].task, 1);
		tt_stop(&t[i]);
	}
	result("atomic", ok && atomic_read(&atomic_ups) == 3 && sem_idle(&v, &w),
	       "3 threads blocked in down() woken by up() under a raw spinlock, in a timer and in a hard irq_work (%d ups); after: value=%u nwaiters=%u",
	       atomic_read(&atomic_ups), v, w);
}

/* ---------------------------------------------------------------- mutex */

static struct shmsync_mutex_handle *hmx;
static DECLARE_COMPLETION(mx_locked);
static DECLARE_COMPLETION(mx_go);
static int mx_relock, mx_unlock;

/* Locks, lets the other thread try, then relocks (-EDEADLK) and unlocks. */
static int fn_mx_hold(struct tt *t)
{
	int ret = shmsync_mutex_lock(hmx);

	complete(&mx_locked);
	if (ret)
		return ret;
	wait_for_completion(&mx_go);
	mx_relock = shmsync_mutex_trylock(hmx);
	mx_unlock = shmsync_mutex_unlock(hmx);
	return 0;
}

static int fn_mx_other(struct tt *t)
{
	int busy, tmo, intr, perm, ret;

	allow_signal(SIGUSR1);
	busy = shmsync_mutex_trylock(hmx);
	tmo = shmsync_mutex_lock_timeout(hmx, msecs_to_jiffies(300));
	perm = shmsync_mutex_unlock(hmx);
	intr = shmsync_mutex_lock_interruptible(hmx);	/* the test sends SIGUSR1 */
	flush_signals(current);
	pr_info("mutex: while held by another kthread: trylock=%d lock_timeout(300 ms)=%d unlock=%d lock_interruptible at SIGUSR1=%d\n",
		busy, tmo, perm, intr);
	if (busy != -EBUSY || tmo != -ETIMEDOUT || perm != -EPERM || intr != -EINTR)
		return -EINVAL;
	complete(&mx_go);
	ret = shmsync_mutex_lock(hmx);	/* granted by the holder's unlock */
	if (!ret)
		ret = shmsync_mutex_unlock(hmx);
	return ret;
}

static void test_mutex(void)
{
	struct tt hold = {}, other = {};
	long left = 0;

	hmx = shmsync_mutex_get(reg, mutex);
	if (IS_ERR(hmx)) {
		result("mutex", 0, "shmsync_mutex_get(%s): %ld", mutex, PTR_ERR(hmx));
		hmx = NULL;
		return;
	}
	if (tt_start(&hold, fn_mx_hold, "mxhold")) {
		result("mutex", 0, "kthread_run");
		return;
	}
	wait_for_completion(&mx_locked);
	if (!tt_start(&other, fn_mx_other, "mxother")) {
		msleep(3000);	/* trylock, 300 ms timeout, unlock, then it sleeps */
		send_sig(SIGUSR1, other.task, 1);
		left = wait_for_completion_timeout(&other.done, 30 * HZ);
		tt_stop(&other);
	}
	complete(&mx_go);	/* also if the other thread failed */
	wait_for_completion(&hold.done);
	tt_stop(&hold);
	result("mutex", left && hold.ret == 0 && other.ret == 0 && mx_relock == -EDEADLK &&
	       mx_unlock == 0,
	       "held by one kthread: the other's trylock -EBUSY, lock_timeout -ETIMEDOUT, unlock -EPERM, lock_interruptible -EINTR at SIGUSR1; the holder's trylock %d (-EDEADLK), unlock %d; then the other locked and unlocked (%d; holder %d)",
	       mx_relock, mx_unlock, other.ret, hold.ret);
}

/* -------------------------------------------------------------- removal */

static int fn_rm_sem(struct tt *t)
{
	int ret = shmsync_sem_down(hrm);

	result("removal-sem", ret == -EIDRM, "down() returned %d", ret);
	return ret;
}

static int fn_rm_hold(struct tt *t)
{
	int ret = shmsync_mutex_lock(hm);

	pr_info("removal: holding the mutex: %d\n", ret);
	return ret;
}

static int fn_rm_lock(struct tt *t)
{
	int ret = shmsync_mutex_lock(hm);

	result("removal-mutex", ret == -EIDRM, "mutex_lock() returned %d", ret);
	return ret;
}

static struct shmsync_rwsem_handle *hrmw;

static int fn_rm_rwread(struct tt *t)
{
	int ret = shmsync_rwsem_down_read(hrmw);

	result("removal-rwsem-read", ret == -EIDRM, "down_read() returned %d", ret);
	return ret;
}

static int fn_rm_rwwrite(struct tt *t)
{
	int ret = shmsync_rwsem_down_write(hrmw);

	result("removal-rwsem-write", ret == -EIDRM, "down_write() returned %d", ret);
	return ret;
}

static struct tt rm_tt[5];

static int start_rm_rwsem(void)
{
	int ret;

	hrmw = shmsync_rwsem_get(reg, rmrwsem);
	if (IS_ERR(hrmw)) {
		ret = PTR_ERR(hrmw);
		hrmw = NULL;
		return ret;
	}
	ret = shmsync_rwsem_down_write_trylock(hrmw);
	if (ret)
		return ret;
	ret = tt_start(&rm_tt[3], fn_rm_rwread, "rmrwr");
	if (!ret)
		ret = tt_start(&rm_tt[4], fn_rm_rwwrite, "rmrww");
	return ret;
}

static int start_removal(void)
{
	char *buf, *m;
	int ret;

	buf = kstrdup(removal, GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	m = strchr(buf, ',');
	if (m)
		*m++ = 0;
	hrm = shmsync_sem_get(reg, buf);
	if (IS_ERR(hrm)) {
		ret = PTR_ERR(hrm);
		hrm = NULL;
		goto out;
	}
	ret = tt_start(&rm_tt[0], fn_rm_sem, "rmsem");
	if (ret || !m)
		goto out;
	hm = shmsync_mutex_get(reg, m);
	if (IS_ERR(hm)) {
		ret = PTR_ERR(hm);
		hm = NULL;
		goto out;
	}
	ret = tt_start(&rm_tt[1], fn_rm_hold, "rmhold");
	if (!ret) {
		wait_for_completion(&rm_tt[1].done);
		ret = tt_start(&rm_tt[2], fn_rm_lock, "rmlock");
	}
out:
	kfree(buf);
	return ret;
}

/* --------------------------------------------------------------- module */

/* ---------------------------------------------------------------- rwsem */

static int fn_rw_try(struct tt *t)
{
	int r0, r1, r2, r3, r4, r5;
	ktime_t t0;
	s64 ms1, ms2;

	r0 = shmsync_rwsem_down_read_trylock(hrw);
	r1 = shmsync_rwsem_down_write_trylock(hrw);
	r2 = shmsync_rwsem_down_read_timeout(hrw, 0);
	r3 = shmsync_rwsem_down_write_timeout(hrw, 0);
	t0 = ktime_get();
	r4 = shmsync_rwsem_down_read_timeout(hrw, msecs_to_jiffies(300));
	ms1 = ktime_ms_delta(ktime_get(), t0);
	t0 = ktime_get();
	r5 = shmsync_rwsem_down_write_timeout(hrw, msecs_to_jiffies(300));
	ms2 = ktime_ms_delta(ktime_get(), t0);
	pr_info("rwsem-try: read_trylock=%d write_trylock=%d read_timeout(0)=%d write_timeout(0)=%d read_timeout(300 ms)=%d after %lld ms write_timeout(300 ms)=%d after %lld ms\n",
		r0, r1, r2, r3, r4, ms1, r5, ms2);
	return r0 == -EAGAIN && r1 == -EAGAIN && r2 == -ETIMEDOUT &&
	       r3 == -ETIMEDOUT && r4 == -ETIMEDOUT && ms1 >= 300 &&
	       r5 == -ETIMEDOUT && ms2 >= 300 ? 0 : -EINVAL;
}

static int fn_rw_rintr(struct tt *t)
{
	allow_signal(SIGUSR1);
	return shmsync_rwsem_down_read_interruptible(hrw);
}

static int fn_rw_wintr(struct tt *t)
{
	allow_signal(SIGUSR1);
	return shmsync_rwsem_down_write_interruptible(hrw);
}

static int fn_rw_rkill(struct tt *t)
{
	int ret;

	allow_signal(SIGUSR1);
	ret = shmsync_rwsem_down_read_killable(hrw);
	flush_signals(current);
	return ret ? ret : shmsync_rwsem_up_read(hrw);
}

static int fn_rw_wkill(struct tt *t)
{
	int ret;

	allow_signal(SIGUSR1);
	ret = shmsync_rwsem_down_write_killable(hrw);
	flush_signals(current);
	return ret ? ret : shmsync_rwsem_up_write(hrw);
}

static int fn_rw_stop(struct tt *t)
{
	return shmsync_rwsem_down_read_interruptible(hrw);
}

/* Runs fn in a thread, sends SIGUSR1 after 300 ms; its result or 1 if it goes on. */
static int rw_signalled(int (*fn)(struct tt *t), const char *name,
			struct tt *t, bool stays)
{
	if (tt_start(t, fn, name))
		return -ECHILD;
	msleep(300);
	send_sig(SIGUSR1, t->task, 1);
	if (stays) {
		msleep(500);
		return completion_done(&t->done) ? t->ret : 1;
	}
	if (!wait_for_completion_timeout(&t->done, 20 * HZ))
		return 1;
	return t->ret;
}

static void test_rwsem(void)
{
	struct tt a = {}, b = {}, c = {}, d = {}, e = {};
	int w0, ri, wi, rk, dg, wk, up, ws, st, rel;
	bool rkdone, wkdone;

	hrw = shmsync_rwsem_get(reg, rwsem);
	if (IS_ERR(hrw)) {
		result("rwsem-try", 0, "shmsync_rwsem_get: %ld", PTR_ERR(hrw));
		hrw = NULL;
		return;
	}
	w0 = shmsync_rwsem_down_write_trylock(hrw);
	if (!tt_start(&a, fn_rw_try, "rwtry")) {
		wait_for_completion(&a.done);
		tt_stop(&a);
	}
	result("rwsem-try", w0 == 0 && a.ret == 0,
	       "write_trylock by insmod: %d; another thread: trylocks -EAGAIN, timeouts -ETIMEDOUT after the time (%d)",
	       w0, a.ret);

	ri = rw_signalled(fn_rw_rintr, "rwrintr", &b, false);
	tt_stop(&b);
	wi = rw_signalled(fn_rw_wintr, "rwwintr", &c, false);
	tt_stop(&c);
	result("rwsem-interrupt", ri == -EINTR && wi == -EINTR,
	       "write lock held; down_read_interruptible at SIGUSR1: %d, down_write_interruptible at SIGUSR1: %d",
	       ri, wi);

	rk = rw_signalled(fn_rw_rkill, "rwrkill", &d, true);
	dg = shmsync_rwsem_downgrade_write(hrw);	/* admits d; we now read */
	rkdone = wait_for_completion_timeout(&d.done, 20 * HZ);
	tt_stop(&d);
	wk = rw_signalled(fn_rw_wkill, "rwwkill", &e, true);
	up = shmsync_rwsem_up_read(hrw);		/* the last read: e gets it */
	wkdone = wait_for_completion_timeout(&e.done, 20 * HZ);
	tt_stop(&e);
	result("rwsem-killable", rk == 1 && dg == 0 && rkdone && d.ret == 0 &&
	       wk == 1 && up == 0 && wkdone && e.ret == 0,
	       "down_read_killable went on after SIGUSR1 (%d), downgrade_write %d admitted it: %d; down_write_killable went on after SIGUSR1 (%d), up_read %d gave it the lock: %d",
	       rk, dg, d.ret, wk, up, e.ret);

	ws = shmsync_rwsem_down_write_trylock(hrw);
	if (tt_start(&c, fn_rw_stop, "rwstop")) {
		result("rwsem-stop", 0, "kthread_run");
		return;
	}
	msleep(300);
	kthread_stop(c.task);
	put_task_struct(c.task);
	st = c.ret;
	rel = shmsync_rwsem_up_write(hrw);
	result("rwsem-stop", ws == 0 && st == -ESHUTDOWN && rel == 0,
	       "write lock %d; down_read_interruptible under kthread_stop(): %d; up_write %d",
	       ws, st, rel);
}

static int __init shmsync_test_init(void)
{
	struct shmsync_region *again;
	struct tt t = {};
	int ret;

	if (!region)
		return -EINVAL;
	reg = shmsync_region_attach(region);
	if (IS_ERR(reg))
		return PTR_ERR(reg);
	if (removal) {
		ret = start_removal();
		if (!ret && rmrwsem)
			ret = start_rm_rwsem();
		if (ret)
			goto fail;
		return 0;
	}
	if (rwsem) {
		test_rwsem();
		return 0;
	}
	if (!sem) {
		ret = -EINVAL;
		goto fail;
	}
	again = shmsync_region_attach(region);
	result("attach", again == reg, "attached from another module; a second attach %s",
	       again == reg ? "shares the region" : "gave another region");
	if (!IS_ERR(again))
		shmsync_region_detach(again);
	hs = shmsync_sem_get(reg, sem);
	if (IS_ERR(hs)) {
		ret = PTR_ERR(hs);
		hs = NULL;
		goto fail;
	}
	if (!tt_start(&t, fn_timeout, "timeout")) {
		wait_for_completion(&t.done);
		tt_stop(&t);
		result("timeout", t.ret == 0, "down_timeout: -ETIMEDOUT after the time, no token taken; 0 with a token (%d)",
		       t.ret);
	}
	test_interrupt();
	test_atomic();
	if (mutex)
		test_mutex();
	return 0;
fail:
	shmsync_region_detach(reg);
	return ret;
}

static void __exit shmsync_test_exit(void)
{
	int i;

	for (i = 0; i < ARRAY_SIZE(rm_tt); i++) {
		if (!rm_tt[i].task)
			continue;
		send_sig(SIGKILL, rm_tt[i].task, 1);
		tt_stop(&rm_tt[i]);
	}
	if (hrm)
		shmsync_sem_put(hrm);
	if (hm)
		shmsync_mutex_put(hm);
	if (hs)
		shmsync_sem_put(hs);
	if (hmx)
		shmsync_mutex_put(hmx);
	if (hrw)
		shmsync_rwsem_put(hrw);
	if (hrmw)
		shmsync_rwsem_put(hrmw);
	shmsync_region_detach(reg);
}

module_init(shmsync_test_init);
module_exit(shmsync_test_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Tests of shmsync.ko's exported API from another module (VM scenarios only)");
