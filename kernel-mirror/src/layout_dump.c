// SPDX-License-Identifier: GPL-2.0-only OR Apache-2.0
/*
 * Prints the C view of the region format, one line per field and constant:
 *
 *   LAYOUT <Struct> <field> <offset> <size>
 *   CONST <Class>.<NAME> <value>
 *
 * <Struct> and <Class> are the Java descriptor names (RegionLayout,
 * DirectoryEntryLayout, SemaphoreLayout, MutexLayout, ObjectType), <field> and <NAME> the
 * names of docs/PROTOCOL.md's tables; values are decimal. Constants are
 * qualified by class because several classes have a LENGTH.
 */
#include <stdio.h>
#include "shmsync/layout.h"

#define FIELD(cls, st, f)						\
	printf("LAYOUT %s %s %zu %zu\n", #cls, #f,			\
	       offsetof(struct st, f), sizeof(((struct st *)0)->f))
#define CONST(cls, name, v)						\
	printf("CONST %s.%s %llu\n", #cls, #name, (unsigned long long)(v))

int main(void)
{
	FIELD(RegionLayout, shmsync_region_header, magic);
	FIELD(RegionLayout, shmsync_region_header, version);
	FIELD(RegionLayout, shmsync_region_header, header_length);
	FIELD(RegionLayout, shmsync_region_header, region_size);
	FIELD(RegionLayout, shmsync_region_header, directory_offset);
	FIELD(RegionLayout, shmsync_region_header, directory_capacity);
	FIELD(RegionLayout, shmsync_region_header, entry_length);
	FIELD(RegionLayout, shmsync_region_header, heap_offset);
	FIELD(RegionLayout, shmsync_region_header, heap_size);
	FIELD(RegionLayout, shmsync_region_header, creator_pid);
	FIELD(RegionLayout, shmsync_region_header, creator_uid);
	FIELD(RegionLayout, shmsync_region_header, creator_pid_namespace);
	FIELD(RegionLayout, shmsync_region_header, created_at_ns);
	FIELD(RegionLayout, shmsync_region_header, flags);
	FIELD(RegionLayout, shmsync_region_header, process_table_capacity);
	FIELD(RegionLayout, shmsync_region_header, process_table_offset);
	FIELD(RegionLayout, shmsync_region_header, kernel_attach);
	FIELD(RegionLayout, shmsync_region_header, kernel_generation);
	FIELD(RegionLayout, shmsync_region_header, reserved);
	CONST(RegionLayout, LENGTH, sizeof(struct shmsync_region_header));
	CONST(RegionLayout, MAGIC, SHMSYNC_MAGIC);
	CONST(RegionLayout, VERSION, SHMSYNC_VERSION);
	CONST(RegionLayout, PAGE_SIZE, SHMSYNC_PAGE_SIZE);
	CONST(RegionLayout, MIN_REGION_SIZE, SHMSYNC_MIN_REGION_SIZE);
	CONST(RegionLayout, MAX_DIRECTORY_CAPACITY, SHMSYNC_MAX_DIRECTORY_CAPACITY);
	CONST(RegionLayout, ALIGNMENT, SHMSYNC_ALIGNMENT);
	CONST(RegionLayout, PROCESS_SLOT_LENGTH, SHMSYNC_PROCESS_SLOT_LENGTH);
	CONST(RegionLayout, MAX_PROCESS_TABLE_CAPACITY, SHMSYNC_MAX_PROCESS_TABLE_CAPACITY);

	FIELD(DirectoryEntryLayout, shmsync_dir_entry, sequence);
	FIELD(DirectoryEntryLayout, shmsync_dir_entry, state);
	FIELD(DirectoryEntryLayout, shmsync_dir_entry, name_length);
	FIELD(DirectoryEntryLayout, shmsync_dir_entry, type);
	FIELD(DirectoryEntryLayout, shmsync_dir_entry, offset);
	FIELD(DirectoryEntryLayout, shmsync_dir_entry, size);
	FIELD(DirectoryEntryLayout, shmsync_dir_entry, name);
	CONST(DirectoryEntryLayout, STATE_FREE, SHMSYNC_STATE_FREE);
	CONST(DirectoryEntryLayout, STATE_RESERVED, SHMSYNC_STATE_RESERVED);
	CONST(DirectoryEntryLayout, STATE_LIVE, SHMSYNC_STATE_LIVE);
	CONST(DirectoryEntryLayout, MAX_NAME_BYTES, SHMSYNC_MAX_NAME_BYTES);
	CONST(DirectoryEntryLayout, LENGTH, sizeof(struct shmsync_dir_entry));

	CONST(ObjectType, SEMAPHORE, SHMSYNC_TYPE_SEMAPHORE);
	CONST(ObjectType, MUTEX, SHMSYNC_TYPE_MUTEX);
	CONST(ObjectType, RWSEM, SHMSYNC_TYPE_RWSEM);

	FIELD(SemaphoreLayout, shmsync_sem, data);
	FIELD(SemaphoreLayout, shmsync_sem, private);
	FIELD(SemaphoreLayout, shmsync_sem, pad);
	FIELD(SemaphoreLayout, shmsync_sem, glibc_reserved);
	FIELD(SemaphoreLayout, shmsync_sem, reserved);
	CONST(SemaphoreLayout, LENGTH, sizeof(struct shmsync_sem));
	CONST(SemaphoreLayout, SEM_T_LENGTH, SHMSYNC_SEM_T_LENGTH);
	CONST(SemaphoreLayout, SEM_VALUE_MAX, SHMSYNC_SEM_VALUE_MAX);
	CONST(SemaphoreLayout, NWAITERS_SHIFT, SHMSYNC_NWAITERS_SHIFT);
	CONST(SemaphoreLayout, FUTEX_SHARED, SHMSYNC_FUTEX_SHARED);

	FIELD(RwSemaphoreLayout, shmsync_rwsem, state);
	FIELD(RwSemaphoreLayout, shmsync_rwsem, flags);
	FIELD(RwSemaphoreLayout, shmsync_rwsem, slot_capacity);
	FIELD(RwSemaphoreLayout, shmsync_rwsem, writer_lease);
	FIELD(RwSemaphoreLayout, shmsync_rwsem, owner_died);
	FIELD(RwSemaphoreLayout, shmsync_rwsem, reserved);
	CONST(RwSemaphoreLayout, ROBUST, SHMSYNC_RWSEM_ROBUST);
	CONST(RwSemaphoreLayout, SLOT_COUNTS_SIZE,
	      SHMSYNC_RWSEM_SLOT_COUNTS_SIZE);
	CONST(RwSemaphoreLayout, LENGTH, sizeof(struct shmsync_rwsem));
	CONST(RwSemaphoreLayout, PRESENT, SHMSYNC_RWSEM_PRESENT);
	CONST(RwSemaphoreLayout, PHASE, SHMSYNC_RWSEM_PHASE);
	CONST(RwSemaphoreLayout, RWAIT_SHIFT, SHMSYNC_RWSEM_RWAIT_SHIFT);
	CONST(RwSemaphoreLayout, READERS_SHIFT, SHMSYNC_RWSEM_READERS_SHIFT);
	CONST(RwSemaphoreLayout, WWAIT_SHIFT, SHMSYNC_RWSEM_WWAIT_SHIFT);
	CONST(RwSemaphoreLayout, WRITER_SHIFT, SHMSYNC_RWSEM_WRITER_SHIFT);
	CONST(RwSemaphoreLayout, MAX_READERS, SHMSYNC_RWSEM_MAX_READERS);
	CONST(RwSemaphoreLayout, MAX_WAITING_WRITERS,
	      SHMSYNC_RWSEM_MAX_WAITING_WRITERS);
	CONST(RwSemaphoreLayout, READ_WORD, SHMSYNC_RWSEM_READ_WORD);
	CONST(RwSemaphoreLayout, WRITE_WORD, SHMSYNC_RWSEM_WRITE_WORD);
	CONST(ObjectType, UNDO_SEMAPHORE, SHMSYNC_TYPE_UNDO_SEMAPHORE);
	FIELD(MutexLayout, shmsync_mutex, lock);
	FIELD(MutexLayout, shmsync_mutex, count);
	FIELD(MutexLayout, shmsync_mutex, owner);
	FIELD(MutexLayout, shmsync_mutex, nusers);
	FIELD(MutexLayout, shmsync_mutex, kind);
	FIELD(MutexLayout, shmsync_mutex, spins);
	FIELD(MutexLayout, shmsync_mutex, elision);
	FIELD(MutexLayout, shmsync_mutex, list_prev);
	FIELD(MutexLayout, shmsync_mutex, list_next);
	FIELD(MutexLayout, shmsync_mutex, holder_thread);
	FIELD(MutexLayout, shmsync_mutex, reserved);
	CONST(MutexLayout, LENGTH, sizeof(struct shmsync_mutex));
	CONST(MutexLayout, PTHREAD_MUTEX_T_LENGTH, SHMSYNC_PTHREAD_MUTEX_T_LENGTH);
	CONST(MutexLayout, KIND, SHMSYNC_MUTEX_KIND);
	CONST(MutexLayout, KIND_NORMAL, SHMSYNC_MUTEX_KIND_NORMAL);
	CONST(MutexLayout, TID_MASK, SHMSYNC_MUTEX_TID_MASK);
	CONST(MutexLayout, FUTEX_OWNER_DIED, SHMSYNC_MUTEX_OWNER_DIED);
	CONST(MutexLayout, INCONSISTENT, SHMSYNC_MUTEX_INCONSISTENT);
	CONST(MutexLayout, NOTRECOVERABLE, SHMSYNC_MUTEX_NOTRECOVERABLE);
	CONST(MutexLayout, ROBUST_LIST_LIMIT, SHMSYNC_ROBUST_LIST_LIMIT);
	return ferror(stdout) ? 2 : 0;
}
