/* SPDX-License-Identifier: GPL-2.0-only */
/* shmsync.ko internals shared by its source files. */
#ifndef _SHMSYNC_INTERNAL_H
#define _SHMSYNC_INTERNAL_H

#include <linux/kref.h>
#include <linux/kthread.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/path.h>
#include <linux/spinlock.h>
#include <linux/types.h>

#include <shmsync/sem.h>
#include <shmsync/mutex.h>
/*
 * rwsem.h's protocol functions carry the names of the exported API
 * (shmsync_rwsem_down_read() ...): inside the module they are the
 * shmsync_proto_rwsem_*() of the other protocols.
 */
#define shmsync_rwsem_down_read		shmsync_proto_rwsem_down_read
#define shmsync_rwsem_down_write	shmsync_proto_rwsem_down_write
#define shmsync_rwsem_up_read		shmsync_proto_rwsem_up_read
#define shmsync_rwsem_up_write		shmsync_proto_rwsem_up_write
#define shmsync_rwsem_downgrade_write	shmsync_proto_rwsem_downgrade_write
#define shmsync_rwsem_try_upgrade	shmsync_proto_rwsem_try_upgrade
#include <shmsync/rwsem.h>
#undef shmsync_rwsem_down_read
#undef shmsync_rwsem_down_write
#undef shmsync_rwsem_up_read
#undef shmsync_rwsem_up_write
#undef shmsync_rwsem_downgrade_write
#undef shmsync_rwsem_try_upgrade
#include <shmsync/region.h>
#include <shmsync/shmsync.h>

#define SHMSYNC_NAME_MAX	200	/* region names: [A-Za-z0-9_][A-Za-z0-9._-]{0,199} */

/* An attached region: the file mapped into the module's mm, pinned, vmap'ed. */
struct shmsync_region {
	struct kref ref;
	struct list_head node;		/* shmsync_regions, under shmsync_lock */
	char name[SHMSYNC_NAME_MAX + 1];
	struct file *file;		/* identity: its inode */
	struct path dir;		/* the directory that holds the file */
	unsigned long ino;
	unsigned long uaddr;		/* where it is mapped in shmsync_mm */
	size_t size;
	unsigned long npages;
	struct page **pages;		/* pinned, FOLL_LONGTERM */
	void *kva;			/* vmap of pages */
	struct shmsync_geometry g;
	struct list_head objs;		/* shmsync_obj.node, under lock */
	struct mutex lock;
	bool replaced;			/* the name now points elsewhere */
	bool counted;			/* added to the header's kernel_attach */
	u32 generation;			/* kernel_generation after our attach */
	struct kthread_delayed_work identity_work;
	struct dentry *debugfs;
};

/*
 * What every object handle has: the directory entry it came from (offset
 * and generation copied once, after the checks of PROTOCOL.md 1.2), the
 * futex word's address in shmsync_mm, wake deferral, the removal watcher
 * and statistics. Handles pin their region.
 */
struct shmsync_obj {
	struct shmsync_region *region;
	struct list_head node;		/* region->objs, under region->lock */
	u16 type;
	u32 index;
	u64 offset;
	const u32 *sequence;		/* the entry's sequence, in kva */
	u32 __user *useq;		/* the same word in shmsync_mm */
	u32 generation;
	u32 __user *uaddr;		/* the futex word in shmsync_mm */
	unsigned int nwords;		/* futex words at uaddr: 1, or 2 (rwsem) */
	char name[SHMSYNC_MAX_NAME_BYTES + 1];
	atomic_t pending_wakes[2];	/* per word, deferred to the worker */
	struct kthread_work wake_work;
	atomic_t kwaiters;		/* kernel threads in a futex wait */
	struct task_struct *watcher;	/* ends kernel waits at a removal */
	atomic64_t futex_waits, futex_wakes, deferred_wakes;
};

/* A semaphore handle. */
struct shmsync_sem_handle {
	struct shmsync_obj o;
	struct shmsync_semref ref;	/* data: kva */
	atomic64_t downs, ups;
};

/* A read-write semaphore handle. */
struct shmsync_rwsem_handle {
	struct shmsync_obj o;
	struct shmsync_rwref ref;	/* state: kva, uaddr: o.uaddr */
	atomic64_t reads, writes, downgrades;
};

/* A robust mutex handle; holder: the kernel thread holding it through it. */
struct shmsync_mutex_handle {
	struct shmsync_obj o;
	struct shmsync_mutexref ref;	/* m: kva */
	spinlock_t hold_lock;		/* holder, holder_id */
	struct task_struct *holder;	/* referenced while held */
	u32 holder_id;
	atomic64_t locks, unlocks, owner_died, abandoned;
};

extern struct mm_struct *shmsync_mm;
extern struct kthread_worker *shmsync_worker;
extern struct dentry *shmsync_debugfs;
extern char *shmsync_dir;
extern unsigned long shmsync_max_region_size;
extern int shmsync_owner_uid;

long shmsync_do_futex(u32 __user *uaddr, int op, u32 val, ktime_t *timeout);
int shmsync_run_on_worker(int (*fn)(void *), void *arg);
void shmsync_obj_wake_work(struct kthread_work *work);
int shmsync_obj_wake_word(struct shmsync_obj *o, unsigned int word, int n);
int shmsync_obj_wait_word(struct shmsync_obj *o, unsigned int word,
			  u32 expected, const struct shmsync_wait *w);
bool shmsync_obj_removed(struct shmsync_obj *o);
int shmsync_obj_watch(void *arg);
int shmsync_enter_mm(void);
int shmsync_obj_init(struct shmsync_region *r, struct shmsync_obj *o,
		     const char *name, unsigned int type);
void shmsync_obj_fini(struct shmsync_obj *o);

#define SHMSYNC_MAX_REGIONS	64	/* attached at once (the attached list fits a page) */

int shmsync_regions_init(void);
void shmsync_regions_exit(void);
int shmsync_selftest_start(struct shmsync_region *r, const char *spec);
void shmsync_selftest_stop(void);
void shmsync_selftest_show(struct seq_file *m);

#endif /* _SHMSYNC_INTERNAL_H */
