package io.shmsync.internal.robust;

import java.lang.foreign.MemorySegment;

/**
 * One robust futex word of this process — a mutex or a process-table slot — and its node on the lease
 * thread's robust list (docs/PROTOCOL.md §6.3).
 *
 * <p>The kernel sees the list through the {@code list_next} pointers written into shared memory; this
 * process keeps its own copy of the links (index-based, in the {@link RobustList}) and never follows a
 * pointer read from shared memory, which another process could have overwritten. All fields are guarded
 * by the {@link RobustList} operation lock, except {@link #holderId} and {@link #inconsistent}, which only the holder thread writes.
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
    /** Absolute address of the futex word. */
    public final long wordAddress;
    /** The directory generation of the object, to tell a replaced object apart. */
    final int generation;

    /** Index of this entry's links in the {@link RobustList}'s arrays while linked, -1 otherwise. */
    int index = -1;
    /**
     * The owner TID the holder of this process wrote into the word: the lease TID (lease list) or the holding
     * platform thread's own TID (its {@link ThreadList}). Written by the holder only; meaningful while
     * {@link #holderId} is not 0.
     */
    public int holderTid;
    boolean linked;

    /**
     * {@link Thread#threadId()} of the Java thread of this process that holds the mutex, 0 if none here. A
     * {@code long} rather than the {@code Thread}, so that setting and clearing it is a plain store without a
     * GC write barrier.
     */
    public long holderId;
    /**
     * Whether the holder wrote {@code __owner} = {@code INCONSISTENT} (it acquired after an owner death) and has
     * not called {@code markConsistent()} yet: its unlock then makes the mutex not recoverable. Only the holder
     * thread reads or writes it; it spares the unlock a read of {@code __owner}.
     */
    public boolean inconsistent;

    RobustEntry(MemorySegment segment, long wordOffset, boolean lease, ProcessTable table, int generation) {
        this.segment = segment;
        this.wordOffset = wordOffset;
        this.linkSegment = segment;
        this.nextOffset = wordOffset + io.shmsync.internal.sync.MutexLayout.LIST_NEXT_OFFSET;
        this.address = segment.address() + nextOffset;
        this.wordAddress = segment.address() + wordOffset;
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
        this.wordAddress = 0;
        this.lease = true;
        this.table = null;
        this.generation = 0;
        this.index = 0;
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
