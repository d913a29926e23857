// SPDX-License-Identifier: GPL-2.0-only
/*
 * Regions and semaphore handles: attach (map, pin, vmap, validate), the
 * exported semaphore API, the identity check and the debugfs view.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cred.h>
#include <linux/debugfs.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/jiffies.h>
#include <linux/kdev_t.h>
#include <linux/moduleparam.h>
#include <linux/mman.h>
#include <linux/namei.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/sysfs.h>
#include <linux/vmalloc.h>

#include "shmsync_internal.h"

#define SHMSYNC_IDENTITY_PERIOD	(2 * HZ)

static LIST_HEAD(shmsync_regions);
static DEFINE_MUTEX(shmsync_lock);
static unsigned int shmsync_nregions;	/* in shmsync_regions */

/*
 * /sys/module/shmsync/parameters/attached (read-only, world-readable): one
 * line "DEV INO" per attached region file, DEV encoded as st_dev is (glibc
 * makedev), so that Region.unlink can tell the file this live module holds
 * from a copy whose header says kernel_attach != 0 (PROTOCOL.md 5). At most
 * SHMSYNC_MAX_REGIONS lines of at most 42 bytes: always fits the page.
 */
static int shmsync_attached_get(char *buf, const struct kernel_param *kp)
{
	struct shmsync_region *r;
	struct inode *inode;
	int n = 0;

	mutex_lock(&shmsync_lock);
	list_for_each_entry(r, &shmsync_regions, node) {
		inode = file_inode(r->file);
		n += sysfs_emit_at(buf, n, "%llu %lu\n",
				   (unsigned long long)huge_encode_dev(inode->i_sb->s_dev),
				   inode->i_ino);
	}
	mutex_unlock(&shmsync_lock);
	return n;
}

static const struct kernel_param_ops shmsync_attached_ops = {
	.get = shmsync_attached_get,
};

module_param_cb(attached, &shmsync_attached_ops, NULL, 0444);
MODULE_PARM_DESC(attached, "Attached region files, one \"DEV INO\" line each (read-only)");

static bool shmsync_region_name_ok(const char *name)
{
	size_t i, n = strnlen(name, SHMSYNC_NAME_MAX + 1);

	if (n < 1 || n > SHMSYNC_NAME_MAX)
		return false;
	for (i = 0; i < n; i++) {
		char c = name[i];

		if (isalnum(c) || c == '_')
			continue;
		if (i > 0 && (c == '.' || c == '-'))
			continue;
		return false;
	}
	return true;
}

static void shmsync_report(struct shmsync_region *r,
			   const struct shmsync_verdict *v)
{
	if (v->entry >= 0 && !strcmp(v->field, "name"))
		pr_err("region %s refused: directory entry %ld: name is also the name of entry %llu\n",
		       r->name, v->entry, v->value);
	else if (v->entry >= 0)
		pr_err("region %s refused: directory entry %ld: %s = %llu (limit %llu)\n",
		       r->name, v->entry, v->field, v->value, v->limit);
	else
		pr_err("region %s refused: %s = %llu (0x%llx), expected/limit %llu (0x%llx)\n",
		       r->name, v->field, v->value, v->value, v->limit, v->limit);
}

/* On the worker, in shmsync_mm: map, pin and vmap the region file. */
static int shmsync_map(void *arg)
{
	struct shmsync_region *r = arg;
	unsigned long done = 0;
	int n;

	r->uaddr = vm_mmap(r->file, 0, r->size, PROT_READ | PROT_WRITE,
			   MAP_SHARED, 0);
	if (IS_ERR_VALUE(r->uaddr)) {
		n = (int)r->uaddr;
		r->uaddr = 0;
		return n;
	}
	while (done < r->npages) {
		n = pin_user_pages_fast(r->uaddr + done * PAGE_SIZE,
					r->npages - done,
					FOLL_WRITE | FOLL_LONGTERM,
					r->pages + done);
		if (n <= 0)
			break;
		done += n;
	}
	if (done < r->npages) {
		unpin_user_pages(r->pages, done);
		vm_munmap(r->uaddr, r->size);
		r->uaddr = 0;
		return -EFAULT;	/* truncated while we attached */
	}
	r->kva = vmap(r->pages, r->npages, VM_MAP, PAGE_KERNEL);
	if (!r->kva) {
		unpin_user_pages(r->pages, r->npages);
		vm_munmap(r->uaddr, r->size);
		r->uaddr = 0;
		return -ENOMEM;
	}
	return 0;
}

static int shmsync_unmap(void *arg)
{
	struct shmsync_region *r = arg;

	if (r->kva) {
		vunmap(r->kva);
		unpin_user_pages(r->pages, r->npages);
	}
	if (r->uaddr)
		vm_munmap(r->uaddr, r->size);
	return 0;
}

static void shmsync_identity_check(struct kthread_work *work)
{
	struct shmsync_region *r = container_of(work, struct shmsync_region,
						identity_work.work);
	char fname[sizeof("shmsync.") + SHMSYNC_NAME_MAX];
	struct dentry *d;
	bool replaced;
	int ret = 0;

	snprintf(fname, sizeof(fname), "shmsync.%s", r->name);
	d = lookup_positive_unlocked(fname, r->dir.dentry, strlen(fname));
	if (IS_ERR(d)) {
		ret = PTR_ERR(d);
		replaced = true;
	} else {
		replaced = d_inode(d) != file_inode(r->file);
		dput(d);
	}
	if (replaced && !r->replaced)
		pr_warn("region %s: %s/%s is %s; kernel threads stay on the attached file (inode %lu) while processes that open the name now get another one: re-attach\n",
			r->name, shmsync_dir, fname,
			ret ? "gone" : "another file", r->ino);
	else if (!replaced && r->replaced)
		pr_info("region %s: the name points to the attached file again\n",
			r->name);
	WRITE_ONCE(r->replaced, replaced);
	kthread_queue_delayed_work(shmsync_worker, &r->identity_work,
				   SHMSYNC_IDENTITY_PERIOD);
}

/*
 * The header words kernel_attach and kernel_generation (docs/PROTOCOL.md
 * 1.1, 5): one attachment is one mapped struct shmsync_region, counted once
 * after validation and uncounted once when it is freed (last reference,
 * rmmod, or a failure after the count), with atomic RMWs on the pinned
 * page; other processes only read the words (Region.unlink).
 */
#define SHMSYNC_HDR_ATOMIC(r, field)					\
	((atomic_t *)((char *)(r)->kva +				\
		      offsetof(struct shmsync_region_header, field)))

static void shmsync_count_attach(struct shmsync_region *r)
{
	atomic_inc(SHMSYNC_HDR_ATOMIC(r, kernel_attach));
	r->generation = atomic_inc_return(SHMSYNC_HDR_ATOMIC(r, kernel_generation));
	r->counted = true;
}

static void shmsync_uncount_attach(struct shmsync_region *r)
{
	if (!r->counted)
		return;
	r->counted = false;
	/* Never below 0: a foreign writer may have cleared the word. */
	if (!atomic_add_unless(SHMSYNC_HDR_ATOMIC(r, kernel_attach), -1, 0))
		pr_warn("region %s: kernel_attach was already 0 at detach (written by someone else); left at 0\n",
			r->name);
}

static void shmsync_obj_show(struct seq_file *m, struct shmsync_obj *o)
{
	struct shmsync_sem_handle *sh;
	struct shmsync_mutex_handle *mh;
	struct shmsync_rwsem_handle *rh;
	u64 d;
	u32 v;

	if (o->type == SHMSYNC_TYPE_SEMAPHORE) {
		sh = container_of(o, struct shmsync_sem_handle, o);
		d = shmsync_load64(sh->ref.data);
		seq_printf(m, "sem %s offset=%llu generation=%u removed=%d value=%u nwaiters=%u downs=%lld ups=%lld",
			   o->name, o->offset, o->generation,
			   shmsync_obj_removed(o), shmsync_sem_value(d),
			   shmsync_sem_nwaiters(d), atomic64_read(&sh->downs),
			   atomic64_read(&sh->ups));
	} else if (o->type == SHMSYNC_TYPE_RWSEM) {
		rh = container_of(o, struct shmsync_rwsem_handle, o);
		d = shmsync_load64(rh->ref.state);
		seq_printf(m, "rwsem %s offset=%llu generation=%u removed=%d state=0x%016llx reads=%lld writes=%lld downgrades=%lld",
			   o->name, o->offset, o->generation,
			   shmsync_obj_removed(o), d,
			   atomic64_read(&rh->reads), atomic64_read(&rh->writes),
			   atomic64_read(&rh->downgrades));
	} else {
		mh = container_of(o, struct shmsync_mutex_handle, o);
		v = shmsync_load32(&mh->ref.m->lock);
		seq_printf(m, "mutex %s offset=%llu generation=%u removed=%d lock=0x%08x owner=%d locks=%lld unlocks=%lld owner_died=%lld abandoned=%lld",
			   o->name, o->offset, o->generation,
			   shmsync_obj_removed(o), v,
			   READ_ONCE(mh->ref.m->owner),
			   atomic64_read(&mh->locks), atomic64_read(&mh->unlocks),
			   atomic64_read(&mh->owner_died),
			   atomic64_read(&mh->abandoned));
	}
	seq_printf(m, " kwaiters=%d futex_waits=%lld futex_wakes=%lld deferred_wakes=%lld\n",
		   atomic_read(&o->kwaiters), atomic64_read(&o->futex_waits),
		   atomic64_read(&o->futex_wakes),
		   atomic64_read(&o->deferred_wakes));
}

static int shmsync_status_show(struct seq_file *m, void *unused)
{
	struct shmsync_region *r = m->private;
	struct shmsync_obj *o;

	seq_printf(m, "region %s\nfile %s/shmsync.%s\ninode %lu\nreplaced %d\n",
		   r->name, shmsync_dir, r->name, r->ino, READ_ONCE(r->replaced));
	seq_printf(m, "size %zu\ndirectory_capacity %u\nheap %llu-%llu\nrefs %u\n",
		   r->size, r->g.directory_capacity, r->g.heap_offset,
		   r->g.heap_end, kref_read(&r->ref));
	seq_printf(m, "kernel_attach %u\nkernel_generation %u\nattach_generation %u\n",
		   (u32)atomic_read(SHMSYNC_HDR_ATOMIC(r, kernel_attach)),
		   (u32)atomic_read(SHMSYNC_HDR_ATOMIC(r, kernel_generation)),
		   r->generation);
	mutex_lock(&r->lock);
	list_for_each_entry(o, &r->objs, node)
		shmsync_obj_show(m, o);
	mutex_unlock(&r->lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(shmsync_status);

static int shmsync_open_file(struct shmsync_region *r)
{
	struct inode *inode;
	kuid_t owner;
	char *path;
	loff_t size;

	path = kasprintf(GFP_KERNEL, "%s/shmsync.%s", shmsync_dir, r->name);
	if (!path)
		return -ENOMEM;
	r->file = filp_open(path, O_RDWR | O_NOFOLLOW | O_LARGEFILE, 0);
	if (IS_ERR(r->file)) {
		pr_err("region %s: cannot open %s: error %ld\n", r->name, path,
		       PTR_ERR(r->file));
		kfree(path);
		return PTR_ERR(r->file);
	}
	kfree(path);
	inode = file_inode(r->file);
	r->ino = inode->i_ino;
	if (!S_ISREG(inode->i_mode)) {
		pr_err("region %s refused: not a regular file\n", r->name);
		return -EINVAL;
	}
	owner = shmsync_owner_uid >= 0 ? make_kuid(current_user_ns(), shmsync_owner_uid)
				       : current_euid();
	if (!uid_eq(inode->i_uid, owner)) {
		pr_err("region %s refused: owned by uid %u, expected %u (owner_uid=)\n",
		       r->name, from_kuid(current_user_ns(), inode->i_uid),
		       from_kuid(current_user_ns(), owner));
		return -EPERM;
	}
	size = i_size_read(inode);
	if (size < SHMSYNC_MIN_REGION_SIZE) {
		pr_err("region %s refused: region_size: file has %lld bytes, fewer than %d (truncated?)\n",
		       r->name, size, SHMSYNC_MIN_REGION_SIZE);
		return -EINVAL;
	}
	if (size > shmsync_max_region_size || size % PAGE_SIZE) {
		pr_err("region %s refused: region_size: %lld bytes, must be a multiple of %lu and at most max_region_size=%lu\n",
		       r->name, size, PAGE_SIZE, shmsync_max_region_size);
		return -EINVAL;
	}
	r->size = size;
	r->npages = size >> PAGE_SHIFT;
	r->dir.mnt = mntget(r->file->f_path.mnt);
	r->dir.dentry = dget_parent(r->file->f_path.dentry);
	return 0;
}

static void shmsync_region_free(struct shmsync_region *r)
{
	if (r->kva)
		shmsync_uncount_attach(r);
	if (r->uaddr)
		shmsync_run_on_worker(shmsync_unmap, r);
	kvfree(r->pages);
	if (r->dir.dentry)
		path_put(&r->dir);
	if (!IS_ERR_OR_NULL(r->file))
		fput(r->file);
	kfree(r);
}

/**
 * shmsync_region_attach() - attach a shmsync region by name
 * @name: the region name, [A-Za-z0-9_][A-Za-z0-9._-]{0,199}; the file is
 *        <dir>/shmsync.@name (module parameter dir, default /dev/shm)
 *
 * The file is opened in the caller's context (its mount namespace and
 * credentials: it must be a regular file, not a symbolic link, owned by the
 * caller's euid or by owner_uid), mapped into shmsync's mm, pinned, and its
 * header and directory are validated as docs/PROTOCOL.md 1.2 says; a region
 * that fails is refused with one dmesg line naming the field. Attaching an
 * attached name returns the same region with one more reference. A new
 * attachment adds 1 to the header's kernel_attach and kernel_generation
 * (atomically); its last shmsync_region_detach() subtracts 1 from
 * kernel_attach.
 *
 * The region's identity is the inode: if the name is later unlinked or
 * replaced, kernel threads stay on the attached file, dmesg says so once and
 * the debugfs view shows "replaced 1".
 *
 * Context: process context, may sleep.
 * Return: the region, or an ERR_PTR: -EINVAL (bad name or refused contents),
 * -ENOENT, -EPERM (owner), -EFAULT (truncated while attaching), -ENOMEM,
 * -ENOSPC (SHMSYNC_MAX_REGIONS regions attached already).
 */
struct shmsync_region *shmsync_region_attach(const char *name)
{
	struct shmsync_verdict v;
	struct shmsync_region *r;
	int ret;

	if (!shmsync_region_name_ok(name))
		return ERR_PTR(-EINVAL);
	mutex_lock(&shmsync_lock);
	list_for_each_entry(r, &shmsync_regions, node) {
		if (!strcmp(r->name, name)) {
			kref_get(&r->ref);
			mutex_unlock(&shmsync_lock);
			return r;
		}
	}
	if (shmsync_nregions >= SHMSYNC_MAX_REGIONS) {
		pr_err("region %s: %d regions are attached already, the most the module attaches\n",
		       name, SHMSYNC_MAX_REGIONS);
		ret = -ENOSPC;
		goto unlock;
	}
	r = kzalloc(sizeof(*r), GFP_KERNEL);
	if (!r) {
		ret = -ENOMEM;
		goto unlock;
	}
	strscpy(r->name, name, sizeof(r->name));
	kref_init(&r->ref);
	INIT_LIST_HEAD(&r->objs);
	mutex_init(&r->lock);
	kthread_init_delayed_work(&r->identity_work, shmsync_identity_check);
	ret = shmsync_open_file(r);
	if (ret)
		goto fail;
	r->pages = kvcalloc(r->npages, sizeof(*r->pages), GFP_KERNEL);
	if (!r->pages) {
		ret = -ENOMEM;
		goto fail;
	}
	ret = shmsync_run_on_worker(shmsync_map, r);
	if (ret) {
		pr_err("region %s refused: cannot map and pin %zu bytes: error %d%s\n",
		       r->name, r->size, ret,
		       ret == -EFAULT ? " (file truncated?)" : "");
		goto fail;
	}
	ret = shmsync_check_header(r->kva, r->size, &r->g, &v);
	if (!ret)
		ret = shmsync_check_directory(r->kva, &r->g, &v);
	if (ret) {
		if (ret == -EINVAL)
			shmsync_report(r, &v);
		goto fail;
	}
	shmsync_count_attach(r);	/* uncounted by shmsync_region_free() */
	r->debugfs = debugfs_create_dir(r->name, shmsync_debugfs);
	debugfs_create_file("status", 0400, r->debugfs, r, &shmsync_status_fops);
	list_add(&r->node, &shmsync_regions);
	shmsync_nregions++;
	kthread_queue_delayed_work(shmsync_worker, &r->identity_work,
				   SHMSYNC_IDENTITY_PERIOD);
	mutex_unlock(&shmsync_lock);
	pr_info("attached region %s: %zu bytes, inode %lu, %u directory entries, kernel_generation %u\n",
		r->name, r->size, r->ino, r->g.directory_capacity, r->generation);
	return r;

fail:
	shmsync_region_free(r);
unlock:
	mutex_unlock(&shmsync_lock);
	return ERR_PTR(ret);
}
EXPORT_SYMBOL_GPL(shmsync_region_attach);

static void shmsync_region_release(struct kref *ref)
{
	struct shmsync_region *r = container_of(ref, struct shmsync_region, ref);

	list_del(&r->node);
	shmsync_nregions--;
	mutex_unlock(&shmsync_lock);
	kthread_cancel_delayed_work_sync(&r->identity_work);
	debugfs_remove_recursive(r->debugfs);
	pr_info("detached region %s\n", r->name);
	shmsync_region_free(r);
}

/**
 * shmsync_region_detach() - drop a reference taken by shmsync_region_attach()
 * @r: the region
 *
 * The last reference unmaps the region; semaphore handles hold references,
 * so put them first.
 *
 * Context: process context, may sleep.
 */
void shmsync_region_detach(struct shmsync_region *r)
{
	kref_put_mutex(&r->ref, shmsync_region_release, &shmsync_lock);
}
EXPORT_SYMBOL_GPL(shmsync_region_detach);

/*
 * Looks up object name of the given type and fills in o (offset and
 * generation copied once from the checked entry); starts its removal
 * watcher and links it to the region, which it pins.
 */
int shmsync_obj_init(struct shmsync_region *r, struct shmsync_obj *o,
			    const char *name, unsigned int type)
{
	struct shmsync_verdict v;
	struct shmsync_entry e;
	u64 seq_off;
	int ret;

	ret = shmsync_lookup(r->kva, &r->g, name, strnlen(name, 64), type, &e, &v);
	if (ret == -EINVAL)
		shmsync_report(r, &v);
	if (ret)
		return ret;
	seq_off = r->g.directory_offset + (u64)e.index * SHMSYNC_ENTRY_LENGTH +
		  offsetof(struct shmsync_dir_entry, sequence);
	o->region = r;
	o->type = type;
	o->index = e.index;
	o->offset = e.offset;
	o->sequence = (const u32 *)((char *)r->kva + seq_off);
	o->useq = (u32 __user *)(r->uaddr + seq_off);
	o->generation = e.sequence;
	/* the futex word is at offset 0 of every type; a rwsem has two */
	o->uaddr = (u32 __user *)(r->uaddr + e.offset);
	o->nwords = type == SHMSYNC_TYPE_RWSEM ? 2 : 1;
	memcpy(o->name, e.name, sizeof(o->name));
	kthread_init_work(&o->wake_work, shmsync_obj_wake_work);
	o->watcher = kthread_run(shmsync_obj_watch, o, "shmsync/w/%u", e.index);
	if (IS_ERR(o->watcher))
		return PTR_ERR(o->watcher);
	get_task_struct(o->watcher);
	kref_get(&r->ref);
	mutex_lock(&r->lock);
	list_add_tail(&o->node, &r->objs);
	mutex_unlock(&r->lock);
	return 0;
}

/* Undoes shmsync_obj_init(): stops the watcher, delivers deferred wakes. */
void shmsync_obj_fini(struct shmsync_obj *o)
{
	struct shmsync_region *r = o->region;

	shmsync_kthread_stop(o->watcher);
	put_task_struct(o->watcher);
	kthread_flush_work(&o->wake_work);
	mutex_lock(&r->lock);
	list_del(&o->node);
	mutex_unlock(&r->lock);
	shmsync_region_detach(r);
}

/**
 * shmsync_sem_get() - look up a semaphore of an attached region
 * @r: the region
 * @name: the semaphore's name (1 to 40 bytes of UTF-8)
 *
 * The directory entry is read with its seqlock and checked like at attach;
 * the handle keeps a private copy of its offset (used from then on, never
 * re-read from the region) and its generation: once the object is removed
 * from the region (by any process), every operation returns -EIDRM, and a
 * kernel thread blocked on it wakes up and returns -EIDRM (each handle has
 * a watcher thread sleeping on the entry's sequence word).
 *
 * Context: process context, may sleep.
 * Return: the handle, or an ERR_PTR: -ENOENT, -EMEDIUMTYPE (not a
 * semaphore), -EINVAL (the entry is corrupt), -ENOMEM.
 */
struct shmsync_sem_handle *shmsync_sem_get(struct shmsync_region *r,
					   const char *name)
{
	struct shmsync_sem_handle *h;
	int ret;

	h = kzalloc(sizeof(*h), GFP_KERNEL);
	if (!h)
		return ERR_PTR(-ENOMEM);
	ret = shmsync_obj_init(r, &h->o, name, SHMSYNC_TYPE_SEMAPHORE);
	if (ret) {
		kfree(h);
		return ERR_PTR(ret);
	}
	h->ref.data = (u64 *)((char *)r->kva + h->o.offset);
	h->ref.o = &h->o;
	return h;
}
EXPORT_SYMBOL_GPL(shmsync_sem_get);

/**
 * shmsync_sem_put() - release a handle from shmsync_sem_get()
 * @s: the handle; no thread may be using it
 *
 * A wake-up still deferred to the worker is delivered first.
 *
 * Context: process context, may sleep.
 */
void shmsync_sem_put(struct shmsync_sem_handle *s)
{
	shmsync_obj_fini(&s->o);
	kfree(s);
}
EXPORT_SYMBOL_GPL(shmsync_sem_put);

static bool shmsync_removed(struct shmsync_sem_handle *s)
{
	return shmsync_obj_removed(&s->o);
}

/**
 * shmsync_sem_trydown() - take a token if one is there, never block
 * @s: the semaphore
 *
 * Context: any.
 * Return: 0 if a token was taken, -EAGAIN if none was there, -EIDRM if the
 * semaphore was removed from its region.
 */
int shmsync_sem_trydown(struct shmsync_sem_handle *s)
{
	int ret;

	if (shmsync_removed(s))
		return -EIDRM;
	ret = shmsync_proto_trydown(&s->ref);
	if (!ret)
		atomic64_inc(&s->downs);
	return ret;
}
EXPORT_SYMBOL_GPL(shmsync_sem_trydown);

static int shmsync_down_common(struct shmsync_sem_handle *s, unsigned int mode,
			       ktime_t deadline)
{
	struct shmsync_wait w = { .mode = mode, .deadline = deadline };
	int ret;

	might_sleep();
	if (!(current->flags & PF_KTHREAD))
		return -EPERM;
	if (shmsync_removed(s))
		return -EIDRM;
	ret = shmsync_proto_down(&s->ref, &w);
	if (!ret)
		atomic64_inc(&s->downs);
	return ret;
}

/**
 * shmsync_sem_down() - take a token, sleeping until one is there
 * @s: the semaphore
 *
 * Unlike down(), this cannot sleep uninterruptibly: the sleep is a futex
 * wait, which a pending signal always ends. It behaves as
 * shmsync_sem_down_killable(): other signals are blocked while it sleeps,
 * and it returns early only when the thread is stopped or killed. It never
 * spins and never leaves the thread in D state.
 *
 * Context: a kernel thread (PF_KTHREAD) without an mm of its own, or one
 * inside shmsync_kthread_enter(). May sleep.
 * Return: 0 with a token taken; -ESHUTDOWN if kthread_should_stop();
 * -EINTR on a fatal signal; -EIDRM if the semaphore was removed; -EFAULT
 * if the region file was truncated; -EPERM if not called by a kernel
 * thread. On any error no token is taken and the thread no longer counts
 * as a waiter.
 */
int shmsync_sem_down(struct shmsync_sem_handle *s)
{
	return shmsync_down_common(s, SHMSYNC_WAIT_KILLABLE, KTIME_MAX);
}
EXPORT_SYMBOL_GPL(shmsync_sem_down);

/**
 * shmsync_sem_down_interruptible() - take a token, or stop at any signal
 * @s: the semaphore
 *
 * Context: as shmsync_sem_down().
 * Return: as shmsync_sem_down(), and -EINTR for any signal the thread
 * allowed (allow_signal()).
 */
int shmsync_sem_down_interruptible(struct shmsync_sem_handle *s)
{
	return shmsync_down_common(s, SHMSYNC_WAIT_INTERRUPTIBLE, KTIME_MAX);
}
EXPORT_SYMBOL_GPL(shmsync_sem_down_interruptible);

/**
 * shmsync_sem_down_killable() - take a token, or stop at a fatal signal
 * @s: the semaphore
 *
 * Context: as shmsync_sem_down().
 * Return: as shmsync_sem_down().
 */
int shmsync_sem_down_killable(struct shmsync_sem_handle *s)
{
	return shmsync_down_common(s, SHMSYNC_WAIT_KILLABLE, KTIME_MAX);
}
EXPORT_SYMBOL_GPL(shmsync_sem_down_killable);

/**
 * shmsync_sem_down_timeout() - take a token, waiting at most @timeout jiffies
 * @s: the semaphore
 * @timeout: jiffies; 0 or less only tries
 *
 * Context: as shmsync_sem_down().
 * Return: as shmsync_sem_down(), and -ETIMEDOUT when the time elapsed.
 */
int shmsync_sem_down_timeout(struct shmsync_sem_handle *s, long timeout)
{
	ktime_t deadline;
	int ret;

	if (timeout <= 0) {
		ret = shmsync_sem_trydown(s);
		return ret == -EAGAIN ? -ETIMEDOUT : ret;
	}
	deadline = ktime_add_ns(ktime_get(), jiffies_to_nsecs(timeout));
	return shmsync_down_common(s, SHMSYNC_WAIT_KILLABLE, deadline);
}
EXPORT_SYMBOL_GPL(shmsync_sem_down_timeout);

/**
 * shmsync_sem_up() - post a token, waking one waiter (in any process) if any
 * @s: the semaphore
 *
 * The FUTEX_WAKE is made only when the waiter count says someone waits.
 * A kernel thread in process context wakes directly; any other caller
 * (a user task, atomic context) has the wake delivered by the module's
 * worker thread.
 *
 * Context: any.
 * Return: 0; -EOVERFLOW if the value is already SEM_VALUE_MAX (nothing
 * changed); -EIDRM if the semaphore was removed.
 */
int shmsync_sem_up(struct shmsync_sem_handle *s)
{
	int ret;

	if (shmsync_removed(s))
		return -EIDRM;
	ret = shmsync_proto_up(&s->ref);
	if (!ret)
		atomic64_inc(&s->ups);
	return ret;
}
EXPORT_SYMBOL_GPL(shmsync_sem_up);

/**
 * shmsync_sem_getvalue() - read a semaphore's value and waiter count
 * @s: the semaphore
 * @value: where to store the tokens available now
 * @nwaiters: where to store the threads (of all processes) registered as
 *            waiting; an estimate (a process killed while waiting leaves it
 *            one too high)
 *
 * A snapshot for diagnostics and tests, stale as soon as it is read.
 *
 * Context: any.
 * Return: 0, or -EIDRM if the semaphore was removed.
 */
int shmsync_sem_getvalue(struct shmsync_sem_handle *s, u32 *value,
			 u32 *nwaiters)
{
	u64 d;

	if (shmsync_removed(s))
		return -EIDRM;
	d = shmsync_load64(s->ref.data);
	*value = shmsync_sem_value(d);
	*nwaiters = shmsync_sem_nwaiters(d);
	return 0;
}
EXPORT_SYMBOL_GPL(shmsync_sem_getvalue);

int shmsync_regions_init(void)
{
	return 0;
}

void shmsync_regions_exit(void)
{
	WARN_ON(!list_empty(&shmsync_regions));
}
