/* SPDX-License-Identifier: GPL-2.0-only OR Apache-2.0 */
/*
 * Validation of a mapped region and lock-free directory reads
 * (docs/PROTOCOL.md 1.2 and 1.4), once for user space and the kernel.
 *
 * The region is hostile: another process may write any byte at any time.
 * These functions read it only inside [base, base + file_size), read every
 * field once into a private copy, and check the copy; the caller uses only
 * the checked copies (struct shmsync_geometry, struct shmsync_entry) as
 * offsets, sizes and counts, never the region's bytes.
 *
 * On failure they return -EINVAL and fill struct shmsync_verdict with the
 * first field that failed (as Java's InvalidRegionException does).
 */
#ifndef SHMSYNC_REGION_H
#define SHMSYNC_REGION_H

#include "layout.h"
#include "shim.h"

#ifndef __KERNEL__
#include <string.h>
#endif

/* The checked geometry of a region (copied out of the header). */
struct shmsync_geometry {
	__u64 region_size;
	__u64 directory_offset;
	__u32 directory_capacity;
	__u64 heap_offset;
	__u64 heap_end;
	__u64 creator_pid_namespace;
};

/* A stable snapshot of one non-FREE directory entry. */
struct shmsync_entry {
	__u32 index;
	__u32 sequence;			/* even: the generation */
	__u8 state;
	__u8 name_length;
	__u16 type;
	__u64 offset;
	__u64 size;
	char name[SHMSYNC_MAX_NAME_BYTES + 1];	/* NUL-terminated copy */
};

/* Why a region was refused. */
struct shmsync_verdict {
	const char *field;		/* PROTOCOL.md field name */
	long entry;			/* directory entry index, or -1 */
	__u64 value;			/* the offending value */
	__u64 limit;			/* expected value or bound */
};

static inline int shmsync_refuse(struct shmsync_verdict *v, const char *field,
				 long entry, __u64 value, __u64 limit)
{
	v->field = field;
	v->entry = entry;
	v->value = value;
	v->limit = limit;
	return -EINVAL;
}

/*
 * Checks the header of a region whose file has file_size bytes, mapped (at
 * least its first page) at base, in the order of PROTOCOL.md 1.2.
 */
static inline int shmsync_check_header(const void *base, __u64 file_size,
				       struct shmsync_geometry *g,
				       struct shmsync_verdict *v)
{
	const struct shmsync_region_header *h = base;
	__u64 magic, size, dir, heap, heap_size, dir_end, pt, pt_want;
	__u32 version, header_length, flags, entry_length, cap, pt_cap;

	if (file_size < SHMSYNC_MIN_REGION_SIZE)
		return shmsync_refuse(v, "region_size", -1, file_size,
				      SHMSYNC_MIN_REGION_SIZE);
	magic = SHMSYNC_LOAD_ONCE(h->magic);
	if (magic != SHMSYNC_MAGIC)
		return shmsync_refuse(v, "magic", -1, magic, SHMSYNC_MAGIC);
	version = SHMSYNC_LOAD_ONCE(h->version);
	if (version != SHMSYNC_VERSION)
		return shmsync_refuse(v, "version", -1, version,
				      SHMSYNC_VERSION);
	header_length = SHMSYNC_LOAD_ONCE(h->header_length);
	if (header_length != SHMSYNC_HEADER_LENGTH)
		return shmsync_refuse(v, "header_length", -1, header_length,
				      SHMSYNC_HEADER_LENGTH);
	flags = SHMSYNC_LOAD_ONCE(h->flags);
	if (flags != 0)
		return shmsync_refuse(v, "flags", -1, flags, 0);
	size = SHMSYNC_LOAD_ONCE(h->region_size);
	if (size != file_size)
		return shmsync_refuse(v, "region_size", -1, size, file_size);
	if (size % SHMSYNC_PAGE_SIZE != 0)
		return shmsync_refuse(v, "region_size", -1, size,
				      SHMSYNC_PAGE_SIZE);
	entry_length = SHMSYNC_LOAD_ONCE(h->entry_length);
	if (entry_length != SHMSYNC_ENTRY_LENGTH)
		return shmsync_refuse(v, "entry_length", -1, entry_length,
				      SHMSYNC_ENTRY_LENGTH);
	dir = SHMSYNC_LOAD_ONCE(h->directory_offset);
	if (dir != SHMSYNC_HEADER_LENGTH)
		return shmsync_refuse(v, "directory_offset", -1, dir,
				      SHMSYNC_HEADER_LENGTH);
	cap = SHMSYNC_LOAD_ONCE(h->directory_capacity);
	if (cap < 1 || cap > SHMSYNC_MAX_DIRECTORY_CAPACITY)
		return shmsync_refuse(v, "directory_capacity", -1, cap,
				      SHMSYNC_MAX_DIRECTORY_CAPACITY);
	dir_end = dir + (__u64)cap * SHMSYNC_ENTRY_LENGTH; /* < 2^23: no overflow */
	heap = SHMSYNC_LOAD_ONCE(h->heap_offset);
	if (heap % SHMSYNC_ALIGNMENT != 0 || heap < dir_end || heap >= size)
		return shmsync_refuse(v, "heap_offset", -1, heap, dir_end);
	heap_size = SHMSYNC_LOAD_ONCE(h->heap_size);
	if (heap_size % SHMSYNC_ALIGNMENT != 0 || heap_size > size - heap)
		return shmsync_refuse(v, "heap_size", -1, heap_size,
				      size - heap);
	pt_cap = SHMSYNC_LOAD_ONCE(h->process_table_capacity);
	if (pt_cap > SHMSYNC_MAX_PROCESS_TABLE_CAPACITY)
		return shmsync_refuse(v, "process_table_capacity", -1, pt_cap,
				      SHMSYNC_MAX_PROCESS_TABLE_CAPACITY);
	pt = SHMSYNC_LOAD_ONCE(h->process_table_offset);
	pt_want = pt_cap ? (dir_end + SHMSYNC_ALIGNMENT - 1) &
			   ~(__u64)(SHMSYNC_ALIGNMENT - 1) : 0;
	if (pt != pt_want)
		return shmsync_refuse(v, "process_table_offset", -1, pt, pt_want);
	if (pt_cap && pt + (__u64)pt_cap * SHMSYNC_PROCESS_SLOT_LENGTH > heap)
		return shmsync_refuse(v, "process_table_capacity", -1, pt_cap,
				      (heap - pt) / SHMSYNC_PROCESS_SLOT_LENGTH);
	g->region_size = size;
	g->directory_offset = dir;
	g->directory_capacity = cap;
	g->heap_offset = heap;
	g->heap_end = heap + heap_size;
	g->creator_pid_namespace = SHMSYNC_LOAD_ONCE(h->creator_pid_namespace);
	return 0;
}

static inline struct shmsync_dir_entry *
shmsync_dir_entry(void *base, const struct shmsync_geometry *g, __u32 i)
{
	return (struct shmsync_dir_entry *)((char *)base + g->directory_offset +
					    (__u64)i * SHMSYNC_ENTRY_LENGTH);
}

/*
 * Seqlock read of entry i (i < directory_capacity). Returns 1 with a stable
 * non-FREE snapshot in *e, 0 if the entry is FREE, or busy (odd sequence,
 * or it kept changing).
 */
static inline int shmsync_read_entry(void *base,
				     const struct shmsync_geometry *g, __u32 i,
				     struct shmsync_entry *e)
{
	struct shmsync_dir_entry *de = shmsync_dir_entry(base, g, i);
	unsigned int n, tries;
	__u32 s1, s2;

	for (tries = 0; tries < 1000; tries++) {
		s1 = SHMSYNC_LOAD_ACQUIRE(&de->sequence);
		if (s1 & 1)
			return 0;
		e->index = i;
		e->sequence = s1;
		e->state = SHMSYNC_LOAD_ONCE(de->state);
		e->name_length = SHMSYNC_LOAD_ONCE(de->name_length);
		e->type = SHMSYNC_LOAD_ONCE(de->type);
		e->offset = SHMSYNC_LOAD_ONCE(de->offset);
		e->size = SHMSYNC_LOAD_ONCE(de->size);
		for (n = 0; n < SHMSYNC_MAX_NAME_BYTES; n++)
			e->name[n] = (char)SHMSYNC_LOAD_ONCE(de->name[n]);
		e->name[SHMSYNC_MAX_NAME_BYTES] = 0;
		shmsync_rmb();
		s2 = SHMSYNC_LOAD_ONCE(de->sequence);
		if (s1 == s2)
			return e->state != SHMSYNC_STATE_FREE;
	}
	return 0;
}

/* Strict UTF-8 (no overlong forms, no surrogates, at most U+10FFFF). */
static inline int shmsync_utf8_valid(const unsigned char *s, unsigned int n)
{
	unsigned int i = 0, k, len;
	__u32 c, min;

	while (i < n) {
		c = s[i];
		if (c < 0x80) {
			i++;
			continue;
		} else if ((c & 0xE0) == 0xC0) {
			len = 2; c &= 0x1F; min = 0x80;
		} else if ((c & 0xF0) == 0xE0) {
			len = 3; c &= 0x0F; min = 0x800;
		} else if ((c & 0xF8) == 0xF0) {
			len = 4; c &= 0x07; min = 0x10000;
		} else {
			return 0;
		}
		if (n - i < len)
			return 0;
		for (k = 1; k < len; k++) {
			if ((s[i + k] & 0xC0) != 0x80)
				return 0;
			c = (c << 6) | (s[i + k] & 0x3F);
		}
		if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
			return 0;
		i += len;
	}
	return 1;
}

/* Checks one stable, non-FREE entry on its own (PROTOCOL.md 1.2). */
static inline int shmsync_check_entry(const struct shmsync_geometry *g,
				      const struct shmsync_entry *e,
				      struct shmsync_verdict *v)
{
	__u64 min;

	if (e->state != SHMSYNC_STATE_RESERVED && e->state != SHMSYNC_STATE_LIVE)
		return shmsync_refuse(v, "state", e->index, e->state,
				      SHMSYNC_STATE_LIVE);
	if (e->name_length < 1 || e->name_length > SHMSYNC_MAX_NAME_BYTES ||
	    !shmsync_utf8_valid((const unsigned char *)e->name, e->name_length))
		return shmsync_refuse(v, "name_length", e->index,
				      e->name_length, SHMSYNC_MAX_NAME_BYTES);
	if (e->state != SHMSYNC_STATE_LIVE)
		return 0;
	min = shmsync_type_min_size(e->type);
	if (min == 0)
		return shmsync_refuse(v, "type", e->index, e->type,
				      SHMSYNC_TYPE_SEMAPHORE);
	if (e->offset % SHMSYNC_ALIGNMENT != 0 || e->offset < g->heap_offset ||
	    e->offset >= g->heap_end)
		return shmsync_refuse(v, "offset", e->index, e->offset,
				      g->heap_offset);
	if (e->size == 0 || e->size % SHMSYNC_ALIGNMENT != 0 ||
	    e->size > g->heap_end - e->offset)
		return shmsync_refuse(v, "size", e->index, e->size,
				      g->heap_end - e->offset);
	if (e->size < min)
		return shmsync_refuse(v, "size", e->index, e->size, min);
	return 0;
}

static inline int shmsync_cmp_name(const void *a, const void *b)
{
	const struct shmsync_entry *x = a, *y = b;

	if (x->name_length != y->name_length)
		return x->name_length < y->name_length ? -1 : 1;
	return memcmp(x->name, y->name, x->name_length);
}

static inline int shmsync_cmp_offset(const void *a, const void *b)
{
	const struct shmsync_entry *x = a, *y = b;

	/* RESERVED entries (offset 0) sort first and are skipped */
	if (x->state != y->state)
		return x->state < y->state ? -1 : 1;
	if (x->offset != y->offset)
		return x->offset < y->offset ? -1 : 1;
	return 0;
}

/*
 * Validates every stable entry: each on its own, names unique, LIVE objects
 * not overlapping. Returns 0, -EINVAL (verdict filled) or -ENOMEM.
 */
static inline int shmsync_check_directory(void *base,
					  const struct shmsync_geometry *g,
					  struct shmsync_verdict *v)
{
	struct shmsync_entry *all, *a, *b;
	__u32 i, n = 0;
	int ret = 0;

	all = shmsync_alloc_array(g->directory_capacity, sizeof(*all));
	if (!all)
		return -ENOMEM;
	for (i = 0; i < g->directory_capacity; i++) {
		if (!shmsync_read_entry(base, g, i, &all[n]))
			continue;
		ret = shmsync_check_entry(g, &all[n], v);
		if (ret)
			goto out;
		n++;
	}
	shmsync_sort(all, n, sizeof(*all), shmsync_cmp_name);
	for (i = 1; i < n; i++) {
		a = &all[i - 1];
		b = &all[i];
		if (shmsync_cmp_name(a, b) == 0) {
			ret = shmsync_refuse(v, "name", b->index, a->index,
					     b->index);
			goto out;
		}
	}
	shmsync_sort(all, n, sizeof(*all), shmsync_cmp_offset);
	for (i = 1; i < n; i++) {
		a = &all[i - 1];
		b = &all[i];
		if (a->state == SHMSYNC_STATE_LIVE &&
		    a->offset + a->size > b->offset) {
			ret = shmsync_refuse(v, "offset", b->index, b->offset,
					     a->offset + a->size);
			goto out;
		}
	}
out:
	shmsync_free(all);
	return ret;
}

/*
 * Lock-free lookup of the LIVE object name (len bytes) of the given type.
 * Returns 0 with a checked snapshot in *e; -ENOENT if there is no such LIVE
 * entry; -EMEDIUMTYPE if it has another type; -EINVAL (verdict filled) if
 * the entry does not pass the checks.
 */
static inline int shmsync_lookup(void *base, const struct shmsync_geometry *g,
				 const char *name, unsigned int len,
				 unsigned int type, struct shmsync_entry *e,
				 struct shmsync_verdict *v)
{
	__u32 i;
	int ret;

	if (len < 1 || len > SHMSYNC_MAX_NAME_BYTES)
		return -ENOENT;
	for (i = 0; i < g->directory_capacity; i++) {
		if (!shmsync_read_entry(base, g, i, e))
			continue;
		if (e->name_length != len || memcmp(e->name, name, len) != 0)
			continue;
		ret = shmsync_check_entry(g, e, v);
		if (ret)
			return ret;
		if (e->state != SHMSYNC_STATE_LIVE)
			return -ENOENT;
		return e->type == type ? 0 : -EMEDIUMTYPE;
	}
	return -ENOENT;
}

#endif /* SHMSYNC_REGION_H */
