package io.shmsync.internal.robust;

import java.lang.foreign.MemorySegment;

/**
 * One robust futex word of this process — a mutex or a process-table slot — and its node on the lease
 * thread's robust list (docs/PROTOCOL.md §6.3).
 *
 * <p>The kernel sees the list through the {@code list_next} pointers written into shared memory; this
 * process keeps its own copy of the links here (local {@link #prev}/{@link #next}) and never follows a
 * pointer read from shared memory, which another process could have overwritten. All fields are guarded
 * by the {@link RobustList} operation lock, except {@link #holder}, which only its holder thread writes.
 */
public final class RobustEntry {
    /** The mapping that holds the word ({@code null} for the list head). */
    final MemorySegment segment;
    /** Offset of the futex word in {@link #segment}. */
    final long wordOffset;
    /** Where this entry's {@code next} pointer is stored, and the value that points at this entry. */
    final MemorySegment linkSegment;
    final long nextOffset;
    final long address;
    /** A process-table slot (linked before all mutexes) rather than a mutex. */
    final boolean lease;
    /** The region's process table (for close), or null for the head. */
    final ProcessTable table;
    /** The directory generation of the object, to tell a replaced object apart. */
    final int generation;

    RobustEntry prev;
    RobustEntry next;
    boolean linked;

    /** The Java thread of this process that holds the mutex (null: none here). */
    public Thread holder;

    RobustEntry(MemorySegment segment, long wordOffset, boolean lease, ProcessTable table, int generation) {
        this.segment = segment;
        this.wordOffset = wordOffset;
        this.linkSegment = segment;
        this.nextOffset = wordOffset + io.shmsync.internal.sync.MutexLayout.LIST_NEXT_OFFSET;
        this.address = segment.address() + nextOffset;
        this.lease = lease;
        this.table = table;
        this.generation = generation;
    }

    /** The list head: its "next" field is {@code robust_list_head.list}, its "prev" field glibc's {@code robust_prev}. */
    RobustEntry(MemorySegment block, long headOffset) {
        this.segment = null;
        this.wordOffset = -1;
        this.linkSegment = block;
        this.nextOffset = headOffset;
        this.address = block.address() + headOffset;
        this.lease = true;
        this.table = null;
        this.generation = 0;
        this.prev = this;
        this.next = this;
        this.linked = true;
    }

    /** The address that a {@code list_op_pending} or a {@code next} pointer uses for this entry. */
    public long address() {
        return address;
    }

    public long wordOffset() {
        return wordOffset;
    }

    public int generation() {
        return generation;
    }

    public boolean isLinked() {
        return linked;
    }
}
