/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * shmsync.ko: the kernel API for other modules. Kernel threads attach to a
 * shmsync region (/dev/shm/shmsync.NAME) and block on, and wake, the same
 * semaphores as JVMs and C programs, through the same futex words.
 */
#ifndef _SHMSYNC_SHMSYNC_H
#define _SHMSYNC_SHMSYNC_H

#include <linux/compiler.h>
#include <linux/sched.h>
#include <linux/types.h>

struct shmsync_region;
struct shmsync_sem_handle;
struct shmsync_mutex_handle;
struct shmsync_rwsem_handle;

struct shmsync_region *shmsync_region_attach(const char *name);
void shmsync_region_detach(struct shmsync_region *r);

struct shmsync_sem_handle *shmsync_sem_get(struct shmsync_region *r,
					   const char *name);
void shmsync_sem_put(struct shmsync_sem_handle *s);

int __must_check shmsync_sem_trydown(struct shmsync_sem_handle *s);
int __must_check shmsync_sem_down(struct shmsync_sem_handle *s);
int __must_check shmsync_sem_down_interruptible(struct shmsync_sem_handle *s);
int __must_check shmsync_sem_down_killable(struct shmsync_sem_handle *s);
int __must_check shmsync_sem_down_timeout(struct shmsync_sem_handle *s,
					  long timeout);
int shmsync_sem_up(struct shmsync_sem_handle *s);
int shmsync_sem_getvalue(struct shmsync_sem_handle *s, u32 *value,
			 u32 *nwaiters);

struct shmsync_mutex_handle *shmsync_mutex_get(struct shmsync_region *r,
					       const char *name);
void shmsync_mutex_put(struct shmsync_mutex_handle *m);
int __must_check shmsync_mutex_trylock(struct shmsync_mutex_handle *m);
int __must_check shmsync_mutex_lock(struct shmsync_mutex_handle *m);
int __must_check shmsync_mutex_lock_interruptible(struct shmsync_mutex_handle *m);
int __must_check shmsync_mutex_lock_killable(struct shmsync_mutex_handle *m);
int __must_check shmsync_mutex_lock_timeout(struct shmsync_mutex_handle *m,
					    long timeout);
int shmsync_mutex_unlock(struct shmsync_mutex_handle *m);
int shmsync_mutex_consistent(struct shmsync_mutex_handle *m);

struct shmsync_rwsem_handle *shmsync_rwsem_get(struct shmsync_region *r,
					       const char *name);
void shmsync_rwsem_put(struct shmsync_rwsem_handle *s);
int __must_check shmsync_rwsem_down_read_trylock(struct shmsync_rwsem_handle *s);
int __must_check shmsync_rwsem_down_read(struct shmsync_rwsem_handle *s);
int __must_check
shmsync_rwsem_down_read_interruptible(struct shmsync_rwsem_handle *s);
int __must_check shmsync_rwsem_down_read_killable(struct shmsync_rwsem_handle *s);
int __must_check shmsync_rwsem_down_read_timeout(struct shmsync_rwsem_handle *s,
						 long timeout);
int __must_check shmsync_rwsem_down_write_trylock(struct shmsync_rwsem_handle *s);
int __must_check shmsync_rwsem_down_write(struct shmsync_rwsem_handle *s);
int __must_check
shmsync_rwsem_down_write_interruptible(struct shmsync_rwsem_handle *s);
int __must_check shmsync_rwsem_down_write_killable(struct shmsync_rwsem_handle *s);
int __must_check shmsync_rwsem_down_write_timeout(struct shmsync_rwsem_handle *s,
						  long timeout);
int shmsync_rwsem_up_read(struct shmsync_rwsem_handle *s);
int shmsync_rwsem_up_write(struct shmsync_rwsem_handle *s);
int shmsync_rwsem_downgrade_write(struct shmsync_rwsem_handle *s);
int __must_check shmsync_rwsem_try_upgrade(struct shmsync_rwsem_handle *s);

int shmsync_kthread_enter(void);
void shmsync_kthread_exit(void);
int shmsync_kthread_stop(struct task_struct *task);

#endif /* _SHMSYNC_SHMSYNC_H */
