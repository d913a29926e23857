// SPDX-License-Identifier: GPL-2.0-only
/*
 * Self-test kernel threads (module parameter selftest=), for the VM tests
 * and for trying the module by hand. Comma-separated items:
 *
 *   pingpong:NAME        one thread answers: down(NAME.ping), up(NAME.pong)
 *   ping:NAME:ROUNDS     one thread asks: up(NAME.ping), down(NAME.pong),
 *                        1000 warm-up and ROUNDS timed round trips
 *   mutex:SEM:COUNTER:ITERS:THREADS
 *                        THREADS threads do ITERS times (0: until stopped)
 *                        down(SEM), plain increment of COUNTER's first
 *                        8 bytes, up(SEM)
 *   block:SEM:THREADS    THREADS threads block in down(SEM); a token they
 *                        get is posted back at once
 *   kmutex:MUTEX:COUNTER:ITERS:THREADS
 *                        as mutex:, with the robust mutex MUTEX
 *                        (shmsync_mutex_lock/unlock) instead of a semaphore
 *   krwsem:RWSEM:COUNTERS:ITERS:THREADS
 *                        THREADS threads on the read-write semaphore RWSEM,
 *                        ITERS times each (0: until stopped): even ones
 *                        write (shmsync_rwsem_down_write, plain increments
 *                        of COUNTERS.a then COUNTERS.b, up_write), odd ones
 *                        read (down_read, a != b counts as torn, up_read)
 *   khold:MUTEX          one thread locks MUTEX and holds it until the
 *                        module is unloaded, whose shmsync_mutex_put()
 *                        releases it as owner-died
 *
 * Results are in dmesg and in debugfs (shmsync/selftest).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/debugfs.h>
#include <linux/delay.h>
#include <linux/ktime.h>
#include <linux/sched/signal.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/vmalloc.h>

#include "shmsync_internal.h"

#define SHMSYNC_SELFTESTS	8
#define SHMSYNC_ST_THREADS	8
#define SHMSYNC_PING_WARMUP	1000

enum shmsync_st_mode { ST_PINGPONG, ST_PING, ST_MUTEX, ST_BLOCK, ST_KMUTEX, ST_KHOLD,
			    ST_KRWSEM };

static const char * const shmsync_st_names[] = {
	"pingpong", "ping", "mutex", "block", "kmutex", "khold", "krwsem"
};

struct shmsync_selftest {
	enum shmsync_st_mode mode;
	char arg[64];
	struct shmsync_sem_handle *a, *b;
	struct shmsync_mutex_handle *m;
	struct shmsync_rwsem_handle *rw;
	atomic64_t owner_died;
	atomic64_t reads, writes, torn;
	atomic_t started;		/* krwsem: odd-numbered starts write */
	long rounds;
	int nthreads;
	struct task_struct *tasks[SHMSYNC_ST_THREADS];
	atomic64_t done;
	atomic_t running;
	int result;
	u32 *rtt;
	u64 p50_ns, p90_ns, max_ns;
};

static struct shmsync_selftest *shmsync_tests[SHMSYNC_SELFTESTS];
static int shmsync_ntests;
static struct dentry *shmsync_st_file;

/* Waits, without reacting to signals, until kthread_stop(). */
static void shmsync_st_park(void)
{
	shmsync_kthread_exit();
	for (;;) {
		set_current_state(TASK_IDLE);
		if (kthread_should_stop())
			break;
		schedule();
	}
	__set_current_state(TASK_RUNNING);
}

/*
 * A down that finds a token does not look at signals or kthread_stop() (as
 * down_killable()), so loops that may always find one check here.
 */
static bool shmsync_st_stopping(void)
{
	return kthread_should_stop() || fatal_signal_pending(current);
}

static int shmsync_st_finish(struct shmsync_selftest *t, int ret)
{
	if (ret && ret != -ESHUTDOWN && ret != -EINTR && !t->result)
		t->result = ret;
	if (atomic_dec_and_test(&t->running))
		pr_info("selftest %s:%s finished: %lld operations, result %d\n",
			shmsync_st_names[t->mode], t->arg,
			atomic64_read(&t->done), t->result);
	shmsync_st_park();
	return 0;
}

static int shmsync_cmp_u32(const void *a, const void *b)
{
	u32 x = *(const u32 *)a, y = *(const u32 *)b;

	return x < y ? -1 : x > y;
}

/* Locks t->m; an owner death is repaired at once (counted). */
static int shmsync_st_lock(struct shmsync_selftest *t)
{
	int ret = shmsync_mutex_lock(t->m);

	if (ret == -EOWNERDEAD) {
		atomic64_inc(&t->owner_died);
		ret = shmsync_mutex_consistent(t->m);
	}
	return ret;
}

/*
 * One krwsem thread: even-numbered threads write, odd ones read. The
 * counters are plain 8-byte words: the rwsem is the only lock.
 */
static int shmsync_st_rwsem(struct shmsync_selftest *t)
{
	u64 *a = t->a->ref.data, *b = t->b->ref.data;
	bool writer = atomic_inc_return(&t->started) % 2 == 1;
	long i;
	int ret = 0;

	for (i = 0; (!t->rounds || i < t->rounds) && !shmsync_st_stopping(); i++) {
		if (writer) {
			ret = shmsync_rwsem_down_write(t->rw);
			if (ret)
				break;
			WRITE_ONCE(*a, READ_ONCE(*a) + 1);
			cond_resched();
			WRITE_ONCE(*b, READ_ONCE(*b) + 1);
			ret = shmsync_rwsem_up_write(t->rw);
			atomic64_inc(&t->writes);
		} else {
			ret = shmsync_rwsem_down_read(t->rw);
			if (ret)
				break;
			if (READ_ONCE(*a) != READ_ONCE(*b))
				atomic64_inc(&t->torn);
			ret = shmsync_rwsem_up_read(t->rw);
			atomic64_inc(&t->reads);
		}
		if (ret)
			break;
		atomic64_inc(&t->done);
		if (i % 8 == 7)
			usleep_range(20, 100);
		else
			cond_resched();
	}
	pr_info("selftest krwsem:%s: %s thread finished: %ld operations, %lld torn reads, error %d\n",
		t->arg, writer ? "writer" : "reader", i, atomic64_read(&t->torn), ret);
	return ret;
}

static int shmsync_st_thread(void *arg)
{
	struct shmsync_selftest *t = arg;
	u64 *counter, c, t0;
	long i;
	int ret = 0;

	allow_signal(SIGKILL);
	ret = shmsync_kthread_enter();
	if (ret)
		return shmsync_st_finish(t, ret);

	switch (t->mode) {
	case ST_PINGPONG:
		while (!shmsync_st_stopping()) {
			ret = shmsync_sem_down(t->a);
			if (ret)
				break;
			shmsync_sem_up(t->b);	/* always: never keep a token */
			atomic64_inc(&t->done);
			cond_resched();
		}
		break;
	case ST_PING:
		for (i = -SHMSYNC_PING_WARMUP; i < t->rounds && !shmsync_st_stopping(); i++) {
			t0 = ktime_get_ns();
			ret = shmsync_sem_up(t->a);
			if (!ret)
				ret = shmsync_sem_down(t->b);
			if (ret)
				break;
			if (i >= 0)
				t->rtt[i] = min_t(u64, ktime_get_ns() - t0, U32_MAX);
			atomic64_inc(&t->done);
			cond_resched();
		}
		if (!ret && t->rounds > 0) {
			sort(t->rtt, t->rounds, sizeof(u32), shmsync_cmp_u32, NULL);
			t->p50_ns = t->rtt[t->rounds / 2];
			t->p90_ns = t->rtt[t->rounds * 9 / 10];
			t->max_ns = t->rtt[t->rounds - 1];
			pr_info("selftest ping:%s: %ld round trips kthread->user->kthread, p50 %llu ns, p90 %llu ns, max %llu ns\n",
				t->arg, t->rounds, t->p50_ns, t->p90_ns, t->max_ns);
		}
		break;
	case ST_MUTEX:
		counter = t->b->ref.data;
		for (i = 0; (!t->rounds || i < t->rounds) && !shmsync_st_stopping(); i++) {
			ret = shmsync_sem_down(t->a);
			if (ret)
				break;
			c = READ_ONCE(*counter);
			WRITE_ONCE(*counter, c + 1);
			shmsync_sem_up(t->a);
			atomic64_inc(&t->done);
			/*
			 * The semaphore is not fair: a thread that posts and
			 * downs again at once keeps the token from woken
			 * waiters. Pause now and then to let them in.
			 */
			if (i % 8 == 7)
				usleep_range(20, 100);
			else
				cond_resched();
		}
		break;
	case ST_BLOCK:
		ret = shmsync_sem_down(t->a);
		if (!ret) {
			shmsync_sem_up(t->a);
			atomic64_inc(&t->done);
		}
		break;
	case ST_KMUTEX:
		counter = t->b->ref.data;
		for (i = 0; (!t->rounds || i < t->rounds) && !shmsync_st_stopping(); i++) {
			ret = shmsync_st_lock(t);
			if (ret)
				break;
			c = READ_ONCE(*counter);
			WRITE_ONCE(*counter, c + 1);
			ret = shmsync_mutex_unlock(t->m);
			if (ret)
				break;
			atomic64_inc(&t->done);
			if (i % 8 == 7)
				usleep_range(20, 100);
			else
				cond_resched();
		}
		break;
	case ST_KRWSEM:
		ret = shmsync_st_rwsem(t);
		break;
	case ST_KHOLD:
		ret = shmsync_st_lock(t);
		if (!ret) {
			atomic64_inc(&t->done);
			pr_info("selftest khold:%s: holding the mutex until unload\n",
				t->arg);
		}
		break;
	}
	return shmsync_st_finish(t, ret);
}

static struct shmsync_sem_handle *shmsync_st_sem(struct shmsync_region *r,
						 const char *name,
						 const char *suffix)
{
	char buf[SHMSYNC_MAX_NAME_BYTES + 16];
	struct shmsync_sem_handle *h;

	snprintf(buf, sizeof(buf), "%s%s", name, suffix);
	h = shmsync_sem_get(r, buf);
	if (IS_ERR(h))
		pr_err("selftest: no semaphore \"%s\" in region %s (error %ld)\n",
		       buf, r->name, PTR_ERR(h));
	return h;
}

static int shmsync_st_parse(struct shmsync_region *r, char *item,
			    struct shmsync_selftest *t)
{
	char *mode = strsep(&item, ":");
	char *f[4] = { };
	int n, ret;

	for (n = 0; n < 4 && item; n++)
		f[n] = strsep(&item, ":");
	t->nthreads = 1;
	if (!strcmp(mode, "pingpong") && n == 1) {
		t->mode = ST_PINGPONG;
	} else if (!strcmp(mode, "ping") && n == 2) {
		t->mode = ST_PING;
		ret = kstrtol(f[1], 10, &t->rounds);
		if (ret || t->rounds < 1 || t->rounds > 10000000)
			return -EINVAL;
		t->rtt = vzalloc(array_size(t->rounds, sizeof(u32)));
		if (!t->rtt)
			return -ENOMEM;
	} else if (!strcmp(mode, "mutex") && n == 4) {
		t->mode = ST_MUTEX;
		if (kstrtol(f[2], 10, &t->rounds) || t->rounds < 0 ||
		    kstrtoint(f[3], 10, &t->nthreads))
			return -EINVAL;
	} else if (!strcmp(mode, "kmutex") && n == 4) {
		t->mode = ST_KMUTEX;
		if (kstrtol(f[2], 10, &t->rounds) || t->rounds < 0 ||
		    kstrtoint(f[3], 10, &t->nthreads))
			return -EINVAL;
	} else if (!strcmp(mode, "krwsem") && n == 4) {
		t->mode = ST_KRWSEM;
		if (kstrtol(f[2], 10, &t->rounds) || t->rounds < 0 ||
		    kstrtoint(f[3], 10, &t->nthreads))
			return -EINVAL;
	} else if (!strcmp(mode, "khold") && n == 1) {
		t->mode = ST_KHOLD;
	} else if (!strcmp(mode, "block") && n == 2) {
		t->mode = ST_BLOCK;
		if (kstrtoint(f[1], 10, &t->nthreads))
			return -EINVAL;
	} else {
		return -EINVAL;
	}
	if (t->nthreads < 1 || t->nthreads > SHMSYNC_ST_THREADS)
		return -EINVAL;
	strscpy(t->arg, f[0], sizeof(t->arg));
	switch (t->mode) {
	case ST_PINGPONG:
	case ST_PING:
		t->a = shmsync_st_sem(r, f[0], ".ping");
		if (IS_ERR(t->a))
			return PTR_ERR(t->a);
		t->b = shmsync_st_sem(r, f[0], ".pong");
		break;
	case ST_MUTEX:
		t->a = shmsync_st_sem(r, f[0], "");
		if (IS_ERR(t->a))
			return PTR_ERR(t->a);
		t->b = shmsync_st_sem(r, f[1], "");
		break;
	case ST_BLOCK:
		t->a = shmsync_st_sem(r, f[0], "");
		return PTR_ERR_OR_ZERO(t->a);
	case ST_KMUTEX:
	case ST_KHOLD:
		t->m = shmsync_mutex_get(r, f[0]);
		if (IS_ERR(t->m)) {
			pr_err("selftest: no mutex \"%s\" in region %s (error %ld)\n",
			       f[0], r->name, PTR_ERR(t->m));
			return PTR_ERR(t->m);
		}
		if (t->mode == ST_KHOLD)
			return 0;
		t->b = shmsync_st_sem(r, f[1], "");
		break;
	case ST_KRWSEM:
		t->rw = shmsync_rwsem_get(r, f[0]);
		if (IS_ERR(t->rw)) {
			pr_err("selftest: no rwsem \"%s\" in region %s (error %ld)\n",
			       f[0], r->name, PTR_ERR(t->rw));
			return PTR_ERR(t->rw);
		}
		t->a = shmsync_st_sem(r, f[1], ".a");
		if (IS_ERR(t->a))
			return PTR_ERR(t->a);
		t->b = shmsync_st_sem(r, f[1], ".b");
		break;
	}
	return PTR_ERR_OR_ZERO(t->b);
}

static void shmsync_st_free(struct shmsync_selftest *t)
{
	if (!IS_ERR_OR_NULL(t->a))
		shmsync_sem_put(t->a);
	if (!IS_ERR_OR_NULL(t->b))
		shmsync_sem_put(t->b);
	if (!IS_ERR_OR_NULL(t->m))
		shmsync_mutex_put(t->m);
	if (!IS_ERR_OR_NULL(t->rw))
		shmsync_rwsem_put(t->rw);
	vfree(t->rtt);
	kfree(t);
}

static int shmsync_st_show(struct seq_file *m, void *unused)
{
	shmsync_selftest_show(m);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(shmsync_st);

/* Parses spec and starts its threads on region r. */
int shmsync_selftest_start(struct shmsync_region *r, const char *spec)
{
	char *buf, *cur, *item;
	struct shmsync_selftest *t;
	int i, ret = 0;

	buf = kstrdup(spec, GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	cur = buf;
	while ((item = strsep(&cur, ",")) != NULL) {
		if (!*item)
			continue;
		if (shmsync_ntests == SHMSYNC_SELFTESTS) {
			ret = -E2BIG;
			break;
		}
		t = kzalloc(sizeof(*t), GFP_KERNEL);
		if (!t) {
			ret = -ENOMEM;
			break;
		}
		ret = shmsync_st_parse(r, item, t);
		if (ret) {
			pr_err("selftest: cannot use \"%s\" (error %d)\n", item, ret);
			shmsync_st_free(t);
			break;
		}
		atomic_set(&t->running, t->nthreads);
		shmsync_tests[shmsync_ntests++] = t;
		for (i = 0; i < t->nthreads; i++) {
			t->tasks[i] = kthread_run(shmsync_st_thread, t,
						  "shmsync/%s/%d",
						  shmsync_st_names[t->mode], i);
			if (IS_ERR(t->tasks[i])) {
				ret = PTR_ERR(t->tasks[i]);
				t->tasks[i] = NULL;
				atomic_sub(t->nthreads - i, &t->running);
				break;
			}
			get_task_struct(t->tasks[i]);
		}
		if (ret)
			break;
	}
	kfree(buf);
	if (!shmsync_st_file)
		shmsync_st_file = debugfs_create_file("selftest", 0400,
						      shmsync_debugfs, NULL,
						      &shmsync_st_fops);
	return ret;
}

/* Stops every self-test thread (also while blocked in a futex wait). */
void shmsync_selftest_stop(void)
{
	struct shmsync_selftest *t;
	int i, k;

	for (k = 0; k < shmsync_ntests; k++) {
		t = shmsync_tests[k];
		for (i = 0; i < t->nthreads; i++) {
			if (!t->tasks[i])
				continue;
			shmsync_kthread_stop(t->tasks[i]);
			put_task_struct(t->tasks[i]);
		}
	}
	debugfs_remove(shmsync_st_file);
	shmsync_st_file = NULL;
	for (k = 0; k < shmsync_ntests; k++)
		shmsync_st_free(shmsync_tests[k]);
	shmsync_ntests = 0;
}

void shmsync_selftest_show(struct seq_file *m)
{
	struct shmsync_selftest *t;
	int k;

	for (k = 0; k < shmsync_ntests; k++) {
		t = shmsync_tests[k];
		seq_printf(m, "%s:%s threads=%d running=%d done=%lld result=%d",
			   shmsync_st_names[t->mode], t->arg, t->nthreads,
			   atomic_read(&t->running), atomic64_read(&t->done),
			   t->result);
		if (t->mode == ST_KMUTEX || t->mode == ST_KHOLD)
			seq_printf(m, " owner_died=%lld",
				   atomic64_read(&t->owner_died));
		if (t->mode == ST_KRWSEM)
			seq_printf(m, " reads=%lld writes=%lld torn=%lld",
				   atomic64_read(&t->reads),
				   atomic64_read(&t->writes),
				   atomic64_read(&t->torn));
		if (t->mode == ST_PING)
			seq_printf(m, " rounds=%ld p50_ns=%llu p90_ns=%llu max_ns=%llu",
				   t->rounds, t->p50_ns, t->p90_ns, t->max_ns);
		seq_puts(m, "\n");
	}
}
