/* SPDX-License-Identifier: GPL-2.0-only OR Apache-2.0 */
/*
 * shmsync region format, version 1: the bytes docs/PROTOCOL.md describes, as
 * C structures for user space and for the kernel module.
 *
 * Every structure mirrors one table of docs/PROTOCOL.md and one Java
 * descriptor class (named in its comment); every field is named as in the
 * table. Offsets and sizes are asserted at compile time below, and
 * "make -C kernel-mirror layout-dump" prints them so that a test can compare
 * them with the document and the Java constants.
 *
 * All fields are little-endian; x86_64 and aarch64 are the supported
 * architectures. Nothing in the region is a pointer: offsets are from the
 * start of the region file. The region is hostile input: validate before use
 * (region.h), and re-check every value read from it before using it as an
 * offset, a size or a count.
 *
 * The header is for C (not C++: struct shmsync_sem has a field "private").
 */
#ifndef SHMSYNC_LAYOUT_H
#define SHMSYNC_LAYOUT_H

#ifdef __KERNEL__
#include <linux/types.h>
#include <linux/stddef.h>
#else
#include <linux/types.h>
#include <stddef.h>
#endif

/* -------------------------------------------------------------------------
 * 1.1 Region header (RegionLayout): the first 128 bytes of the file.
 */
struct shmsync_region_header {
	__u64 magic;			/* SHMSYNC_MAGIC */
	__u32 version;			/* SHMSYNC_VERSION */
	__u32 header_length;		/* SHMSYNC_HEADER_LENGTH */
	__u64 region_size;		/* file size, multiple of 4096 */
	__u64 directory_offset;		/* SHMSYNC_HEADER_LENGTH */
	__u32 directory_capacity;	/* 1 .. SHMSYNC_MAX_DIRECTORY_CAPACITY */
	__u32 entry_length;		/* SHMSYNC_ENTRY_LENGTH */
	__u64 heap_offset;		/* multiple of 64, after the directory */
	__u64 heap_size;		/* multiple of 64, inside the region */
	__u32 creator_pid;		/* diagnostic */
	__u32 creator_uid;		/* diagnostic */
	__u64 creator_pid_namespace;	/* inode of /proc/self/ns/pid, or 0 */
	__u64 created_at_ns;		/* CLOCK_REALTIME, diagnostic */
	__u32 flags;			/* 0 in version 1 */
	__u32 process_table_capacity;	/* 0 .. SHMSYNC_MAX_PROCESS_TABLE_CAPACITY */
	__u64 process_table_offset;	/* end of directory, 64-aligned; 0 if none */
	__u32 kernel_attach;		/* current module attachments (atomic) */
	__u32 kernel_generation;	/* module attachments ever made */
	__u8 reserved[24];		/* zero */
};

#define SHMSYNC_MAGIC			0x00434E59534D4853ULL /* "SHMSYNC\0" */
#define SHMSYNC_VERSION			1
#define SHMSYNC_HEADER_LENGTH		128
#define SHMSYNC_PAGE_SIZE		4096
#define SHMSYNC_MIN_REGION_SIZE		SHMSYNC_PAGE_SIZE
#define SHMSYNC_MAX_DIRECTORY_CAPACITY	65536
#define SHMSYNC_ALIGNMENT		64	/* objects and heap: a cache line */
#define SHMSYNC_PROCESS_SLOT_LENGTH	64
#define SHMSYNC_MAX_PROCESS_TABLE_CAPACITY 4096

/* -------------------------------------------------------------------------
 * 1.4 Directory entry (DirectoryEntryLayout): directory_capacity entries of
 * 64 bytes at directory_offset. "sequence" is a seqlock (odd while a writer
 * changes the entry), the object's generation and a futex word.
 */
struct shmsync_dir_entry {
	__u32 sequence;
	__u8 state;			/* SHMSYNC_STATE_* */
	__u8 name_length;		/* 1 .. SHMSYNC_MAX_NAME_BYTES */
	__u16 type;			/* SHMSYNC_TYPE_*, 0 when RESERVED */
	__u64 offset;			/* object offset in the region */
	__u64 size;			/* object size, positive multiple of 64 */
	__u8 name[40];			/* UTF-8, name_length bytes, rest zero */
};

#define SHMSYNC_STATE_FREE		0
#define SHMSYNC_STATE_RESERVED		1
#define SHMSYNC_STATE_LIVE		2
#define SHMSYNC_MAX_NAME_BYTES		40
#define SHMSYNC_ENTRY_LENGTH		64

/* 2. Object types (ObjectType) */
#define SHMSYNC_TYPE_SEMAPHORE		1
#define SHMSYNC_TYPE_MUTEX		2	/* robust mutex (section 6), 64 bytes */
#define SHMSYNC_MUTEX_LENGTH		64
#define SHMSYNC_TYPE_RWSEM		3	/* read-write semaphore (section 7) */
#define SHMSYNC_TYPE_UNDO_SEMAPHORE	5	/* sem_t + adjustments (section 6.8) */
#define SHMSYNC_UNDO_SEMAPHORE_MIN_LENGTH 64

/* -------------------------------------------------------------------------
 * 3.1 Semaphore (SemaphoreLayout): glibc's x86_64/aarch64 struct new_sem in
 * the first 32 bytes, so (sem_t *)(base + offset) works with sem_wait().
 *
 *   data bits  0-31  value     permits, 0 .. SEM_VALUE_MAX; the futex word
 *   data bits 32-63  nwaiters  threads registered as (maybe) blocked
 */
struct shmsync_sem {
	__u64 data;
	__u32 private;			/* SHMSYNC_FUTEX_SHARED */
	__u32 pad;
	__u8 glibc_reserved[16];
	__u8 reserved[32];
};

#define SHMSYNC_SEM_LENGTH		64
#define SHMSYNC_SEM_T_LENGTH		32
#define SHMSYNC_SEM_VALUE_MAX		2147483647U
#define SHMSYNC_NWAITERS_SHIFT		32
#define SHMSYNC_FUTEX_SHARED		128
#define SHMSYNC_SEM_VALUE_MASK		0xFFFFFFFFULL
#define SHMSYNC_SEM_ONE_WAITER		(1ULL << SHMSYNC_NWAITERS_SHIFT)
/* The futex word is the low (value) half of data: offset 0 on little-endian. */
#define SHMSYNC_SEM_FUTEX_OFFSET	0

/* -------------------------------------------------------------------------
 * 7.1 Read-write semaphore (RwSemaphoreLayout). The state word, as the
 * table at the top of Linux's kernel/locking/rwsem.c:
 *
 *   bit   0     PRESENT  a writer holds or waits (= WRITER || WWAIT > 0)
 *   bit   1     PHASE    toggled by each write release that hands the lock
 *                        to the queued readers
 *   bits  2-15  zero
 *   bits 16-31  RWAIT    queued readers
 *   bits 32-47  READERS  read holds
 *   bits 48-62  WWAIT    queued writers
 *   bit  63     WRITER   a writer holds
 *
 * Bits 0-31 (byte 0) are the readers' futex word, bits 32-63 (byte 4) the
 * writers'.
 */
struct shmsync_rwsem {
	__u64 state;
	__u32 flags;			/* 0, or SHMSYNC_RWSEM_ROBUST */
	__u32 slot_capacity;		/* robust: process table capacity */
	__u32 writer_lease;		/* robust: the write holder's lease TID */
	__u32 owner_died;		/* robust: dead writer's TID, untold */
	__u8 reserved[40];		/* zero */
};
/*
 * A robust object (flags SHMSYNC_RWSEM_ROBUST, PROTOCOL section 7.6) is
 * followed by 16 bytes of counts per process-table slot. C code and the
 * kernel module do not run the robust protocol: they refuse such objects
 * (the module's shmsync_rwsem_get() returns -EOPNOTSUPP).
 */
#define SHMSYNC_RWSEM_ROBUST		0x1
#define SHMSYNC_RWSEM_SLOT_COUNTS_SIZE	16

#define SHMSYNC_RWSEM_LENGTH		64
#define SHMSYNC_RWSEM_PRESENT		0x1ULL
#define SHMSYNC_RWSEM_PHASE		0x2ULL
#define SHMSYNC_RWSEM_RWAIT_SHIFT	16
#define SHMSYNC_RWSEM_READERS_SHIFT	32
#define SHMSYNC_RWSEM_WWAIT_SHIFT	48
#define SHMSYNC_RWSEM_WRITER_SHIFT	63
#define SHMSYNC_RWSEM_RW1		(1ULL << SHMSYNC_RWSEM_RWAIT_SHIFT)
#define SHMSYNC_RWSEM_R1		(1ULL << SHMSYNC_RWSEM_READERS_SHIFT)
#define SHMSYNC_RWSEM_WW1		(1ULL << SHMSYNC_RWSEM_WWAIT_SHIFT)
#define SHMSYNC_RWSEM_WRITER		(1ULL << SHMSYNC_RWSEM_WRITER_SHIFT)
#define SHMSYNC_RWSEM_ZERO_BITS		0xFFFCULL
#define SHMSYNC_RWSEM_MAX_READERS	65535
#define SHMSYNC_RWSEM_MAX_WAITING_WRITERS 32767
#define SHMSYNC_RWSEM_READ_WORD		0	/* byte of the readers' futex word */
#define SHMSYNC_RWSEM_WRITE_WORD	4	/* byte of the writers' futex word */

/* Minimum object size per type (the validation of docs/PROTOCOL.md 1.2). */
static inline __u64 shmsync_type_min_size(unsigned int type)
{
	switch (type) {
	case SHMSYNC_TYPE_SEMAPHORE:
		return SHMSYNC_SEM_LENGTH;
	case SHMSYNC_TYPE_MUTEX:
		return SHMSYNC_MUTEX_LENGTH;
	case SHMSYNC_TYPE_RWSEM:
		return SHMSYNC_RWSEM_LENGTH;
	case SHMSYNC_TYPE_UNDO_SEMAPHORE:
		return SHMSYNC_UNDO_SEMAPHORE_MIN_LENGTH;
	default:
		return 0;
	}
}

/* -------------------------------------------------------------------------
 * Compile-time checks: every offset and size of the PROTOCOL.md tables.
 */
#define SHMSYNC_ASSERT_FIELD(type, field, off, len)				\
	_Static_assert(offsetof(struct type, field) == (off) &&		\
		       sizeof(((struct type *)0)->field) == (len),		\
		       #type "." #field " offset and size")

SHMSYNC_ASSERT_FIELD(shmsync_region_header, magic, 0, 8);
SHMSYNC_ASSERT_FIELD(shmsync_region_header, version, 8, 4);
SHMSYNC_ASSERT_FIELD(shmsync_region_header, header_length, 12, 4);
SHMSYNC_ASSERT_FIELD(shmsync_region_header, region_size, 16, 8);
SHMSYNC_ASSERT_FIELD(shmsync_region_header, directory_offset, 24, 8);
SHMSYNC_ASSERT_FIELD(shmsync_region_header, directory_capacity, 32, 4);
SHMSYNC_ASSERT_FIELD(shmsync_region_header, entry_length, 36, 4);
SHMSYNC_ASSERT_FIELD(shmsync_region_header, heap_offset, 40, 8);
SHMSYNC_ASSERT_FIELD(shmsync_region_header, heap_size, 48, 8);
SHMSYNC_ASSERT_FIELD(shmsync_region_header, creator_pid, 56, 4);
SHMSYNC_ASSERT_FIELD(shmsync_region_header, creator_uid, 60, 4);
SHMSYNC_ASSERT_FIELD(shmsync_region_header, creator_pid_namespace, 64, 8);
SHMSYNC_ASSERT_FIELD(shmsync_region_header, created_at_ns, 72, 8);
SHMSYNC_ASSERT_FIELD(shmsync_region_header, flags, 80, 4);
SHMSYNC_ASSERT_FIELD(shmsync_region_header, process_table_capacity, 84, 4);
SHMSYNC_ASSERT_FIELD(shmsync_region_header, process_table_offset, 88, 8);
SHMSYNC_ASSERT_FIELD(shmsync_region_header, kernel_attach, 96, 4);
SHMSYNC_ASSERT_FIELD(shmsync_region_header, kernel_generation, 100, 4);
SHMSYNC_ASSERT_FIELD(shmsync_region_header, reserved, 104, 24);
_Static_assert(sizeof(struct shmsync_region_header) == SHMSYNC_HEADER_LENGTH,
	       "region header size");

SHMSYNC_ASSERT_FIELD(shmsync_dir_entry, sequence, 0, 4);
SHMSYNC_ASSERT_FIELD(shmsync_dir_entry, state, 4, 1);
SHMSYNC_ASSERT_FIELD(shmsync_dir_entry, name_length, 5, 1);
SHMSYNC_ASSERT_FIELD(shmsync_dir_entry, type, 6, 2);
SHMSYNC_ASSERT_FIELD(shmsync_dir_entry, offset, 8, 8);
SHMSYNC_ASSERT_FIELD(shmsync_dir_entry, size, 16, 8);
SHMSYNC_ASSERT_FIELD(shmsync_dir_entry, name, 24, 40);
_Static_assert(sizeof(struct shmsync_dir_entry) == SHMSYNC_ENTRY_LENGTH,
	       "directory entry size");
_Static_assert(sizeof(((struct shmsync_dir_entry *)0)->name) ==
	       SHMSYNC_MAX_NAME_BYTES, "directory entry name size");

SHMSYNC_ASSERT_FIELD(shmsync_sem, data, 0, 8);
SHMSYNC_ASSERT_FIELD(shmsync_sem, private, 8, 4);
SHMSYNC_ASSERT_FIELD(shmsync_sem, pad, 12, 4);
SHMSYNC_ASSERT_FIELD(shmsync_sem, glibc_reserved, 16, 16);
SHMSYNC_ASSERT_FIELD(shmsync_sem, reserved, 32, 32);
_Static_assert(sizeof(struct shmsync_sem) == SHMSYNC_SEM_LENGTH,
	       "semaphore size");
_Static_assert(offsetof(struct shmsync_sem, reserved) == SHMSYNC_SEM_T_LENGTH,
	       "sem_t part of a semaphore");
SHMSYNC_ASSERT_FIELD(shmsync_rwsem, state, 0, 8);
SHMSYNC_ASSERT_FIELD(shmsync_rwsem, flags, 8, 4);
SHMSYNC_ASSERT_FIELD(shmsync_rwsem, slot_capacity, 12, 4);
SHMSYNC_ASSERT_FIELD(shmsync_rwsem, writer_lease, 16, 4);
SHMSYNC_ASSERT_FIELD(shmsync_rwsem, owner_died, 20, 4);
SHMSYNC_ASSERT_FIELD(shmsync_rwsem, reserved, 24, 40);
_Static_assert(sizeof(struct shmsync_rwsem) == SHMSYNC_RWSEM_LENGTH,
	       "rwsem size");
_Static_assert(SHMSYNC_RWSEM_MAX_READERS == 0xFFFF &&
	       SHMSYNC_RWSEM_MAX_WAITING_WRITERS == 0x7FFF,
	       "rwsem count fields");
_Static_assert(SHMSYNC_HEADER_LENGTH % SHMSYNC_ALIGNMENT == 0 &&
	       SHMSYNC_ENTRY_LENGTH == SHMSYNC_ALIGNMENT,
	       "directory is cache-line aligned");
/* -------------------------------------------------------------------------
 * 6.1 Robust mutex (MutexLayout): glibc's x86_64 robust, process-shared
 * pthread_mutex_t in the first 40 bytes.
 *
 *   lock bits  0-29  owner TID (FUTEX_TID_MASK)
 *   lock bit     30  FUTEX_OWNER_DIED
 *   lock bit     31  FUTEX_WAITERS
 */
struct shmsync_mutex {
	__u32 lock;			/* the futex word */
	__u32 count;			/* glibc __count, not used */
	__s32 owner;			/* glibc __owner: 0, INCONSISTENT, NOTRECOVERABLE */
	__u32 nusers;			/* glibc __nusers, not used */
	__s32 kind;			/* SHMSYNC_MUTEX_KIND or _KIND_NORMAL */
	__u16 spins;
	__u16 elision;
	__u64 list_prev;		/* a C holder's robust-list pointers */
	__u64 list_next;
	__u64 holder_thread;		/* Java thread id of a shmsync holder */
	__u8 reserved[16];		/* zero */
};

#define SHMSYNC_PTHREAD_MUTEX_T_LENGTH	40
#define SHMSYNC_MUTEX_KIND		146	/* robust | errorcheck | pshared */
#define SHMSYNC_MUTEX_KIND_NORMAL	144	/* robust | pshared */
#define SHMSYNC_MUTEX_TID_MASK		0x3FFFFFFFU
#define SHMSYNC_MUTEX_OWNER_DIED	0x40000000U
#define SHMSYNC_MUTEX_WAITERS		0x80000000U
#define SHMSYNC_MUTEX_INCONSISTENT	2147483647
#define SHMSYNC_MUTEX_NOTRECOVERABLE	2147483646
#define SHMSYNC_ROBUST_LIST_LIMIT	2048
/*
 * Owner IDs of kernel threads (section 5): SHMSYNC_KERNEL_OWNER | TID. No
 * task anywhere has a TID of 2^22 (PID_MAX_LIMIT) or more, so such an ID is
 * never a process's lease TID or a C thread's TID in any PID namespace.
 */
#define SHMSYNC_KERNEL_OWNER		0x20000000U

SHMSYNC_ASSERT_FIELD(shmsync_mutex, lock, 0, 4);
SHMSYNC_ASSERT_FIELD(shmsync_mutex, count, 4, 4);
SHMSYNC_ASSERT_FIELD(shmsync_mutex, owner, 8, 4);
SHMSYNC_ASSERT_FIELD(shmsync_mutex, nusers, 12, 4);
SHMSYNC_ASSERT_FIELD(shmsync_mutex, kind, 16, 4);
SHMSYNC_ASSERT_FIELD(shmsync_mutex, spins, 20, 2);
SHMSYNC_ASSERT_FIELD(shmsync_mutex, elision, 22, 2);
SHMSYNC_ASSERT_FIELD(shmsync_mutex, list_prev, 24, 8);
SHMSYNC_ASSERT_FIELD(shmsync_mutex, list_next, 32, 8);
SHMSYNC_ASSERT_FIELD(shmsync_mutex, holder_thread, 40, 8);
SHMSYNC_ASSERT_FIELD(shmsync_mutex, reserved, 48, 16);
_Static_assert(sizeof(struct shmsync_mutex) == SHMSYNC_MUTEX_LENGTH,
	       "mutex size");
_Static_assert(offsetof(struct shmsync_mutex, holder_thread) ==
	       SHMSYNC_PTHREAD_MUTEX_T_LENGTH, "pthread_mutex_t part of a mutex");

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "shmsync regions are little-endian; big-endian hosts are not supported"
#endif

#endif /* SHMSYNC_LAYOUT_H */
