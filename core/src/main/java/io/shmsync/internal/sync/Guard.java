package io.shmsync.internal.sync;

import io.shmsync.ObjectRemovedException;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * What a handle's waits must watch besides their futex word: the scope (local close) and, for objects
 * in a region, the directory entry's {@code sequence} word, which changes (and is woken) when the object
 * is removed. A guard without a sequence word ({@link #of(WaitScope, String)}) only watches the scope.
 */
public final class Guard {
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT;
    private static final java.lang.invoke.VarHandle SEQUENCE = ValueLayout.JAVA_INT.varHandle();

    final WaitScope scope;
    final MemorySegment segment;
    final long sequenceOffset;   // -1: none
    final long sequenceAddress;  // 0: none
    final int generation;
    private final String description;
    /** Whether the {@link RemovalWatcher} watches (or has finished watching) the sequence word for us. */
    volatile boolean watched;

    private Guard(WaitScope scope, MemorySegment segment, long sequenceOffset, int generation, String description) {
        this.scope = scope;
        this.segment = segment;
        this.sequenceOffset = sequenceOffset;
        this.sequenceAddress = sequenceOffset < 0 ? 0 : segment.address() + sequenceOffset;
        this.generation = generation;
        this.description = description;
    }

    /** A guard on a directory entry's {@code sequence} word at {@code sequenceOffset} of {@code segment}. */
    public static Guard of(WaitScope scope, MemorySegment segment, long sequenceOffset, int generation, String description) {
        return new Guard(scope, segment, sequenceOffset, generation, description);
    }

    /** A guard that only watches the scope. */
    public static Guard of(WaitScope scope, String description) {
        return new Guard(scope, null, -1, 0, description);
    }

    /** Offset of the guarded {@code sequence} word in the segment, or -1 if there is none. */
    public long sequenceOffset() {
        return sequenceOffset;
    }

    public WaitScope scope() {
        return scope;
    }

    public String description() {
        return description;
    }

    public int generation() {
        return generation;
    }

    /** @return true if the object behind this guard was removed or replaced */
    public boolean removed() {
        return sequenceOffset >= 0 && segment.get(INT, sequenceOffset) != generation;
    }

    /** As {@link #removed()}, with a volatile read (ordered after the waiter's window write, PROTOCOL §3.4). */
    boolean removedVolatile() {
        return sequenceOffset >= 0 && (int) SEQUENCE.getVolatile(segment, sequenceOffset) != generation;
    }

    /** Whether {@code o} guards the same object: same scope, same sequence word, same generation. */
    boolean sameObject(Guard o) {
        return o.scope == scope && o.sequenceAddress == sequenceAddress && o.generation == generation;
    }

    /** One plain load: throws if the object was removed. Called at the start of every operation. */
    public void check() {
        if (sequenceOffset >= 0 && segment.get(INT, sequenceOffset) != generation) {
            throw removedException();
        }
    }

    ObjectRemovedException removedException() {
        return new ObjectRemovedException(description + " was removed from its region (generation "
                + Integer.toUnsignedString(generation) + " is gone)");
    }
}
