/* SPDX-License-Identifier: GPL-2.0-only */
/* shmsync.ko internals shared by its source files. */
#ifndef _SHMSYNC_INTERNAL_H
#define _SHMSYNC_INTERNAL_H

#include <linux/kref.h>
#include <linux/kthread.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/path.h>
#include <linux/types.h>

#include <shmsync/sem.h>
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
	struct list_head sems;		/* shmsync_sem_handle.node, under lock */
	struct mutex lock;
	bool replaced;			/* the name now points elsewhere */
	bool counted;			/* added to the header's kernel_attach */
	u32 generation;			/* kernel_generation after our attach */
	struct kthread_delayed_work identity_work;
	struct dentry *debugfs;
};

/* A semaphore handle (refcounted through the region it pins). */
struct shmsync_sem_handle {
	struct shmsync_semref ref;	/* data: kva, uaddr: in shmsync_mm */
	struct shmsync_region *region;
	struct list_head node;
	const u32 *sequence;		/* the entry's sequence, in kva */
	u32 generation;
	u32 index;
	u64 offset;
	char name[SHMSYNC_MAX_NAME_BYTES + 1];
	atomic_t pending_wakes;		/* wakes deferred to the worker */
	struct kthread_work wake_work;
	atomic64_t downs, ups, futex_waits, futex_wakes, deferred_wakes;
};

extern struct mm_struct *shmsync_mm;
extern struct kthread_worker *shmsync_worker;
extern struct dentry *shmsync_debugfs;
extern char *shmsync_dir;
extern unsigned long shmsync_max_region_size;
extern int shmsync_owner_uid;

long shmsync_do_futex(u32 __user *uaddr, int op, u32 val, ktime_t *timeout);
int shmsync_run_on_worker(int (*fn)(void *), void *arg);
void shmsync_sem_wake_work(struct kthread_work *work);

int shmsync_regions_init(void);
void shmsync_regions_exit(void);
int shmsync_selftest_start(struct shmsync_region *r, const char *spec);
void shmsync_selftest_stop(void);
void shmsync_selftest_show(struct seq_file *m);

#endif /* _SHMSYNC_INTERNAL_H */
