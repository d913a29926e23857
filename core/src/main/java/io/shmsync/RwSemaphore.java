package io.shmsync;

import io.shmsync.internal.futex.Futex;
import io.shmsync.internal.robust.ProcessTable;
import io.shmsync.internal.sync.Guard;
import io.shmsync.internal.sync.MutexLayout;
import io.shmsync.internal.sync.WaitNode;

import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.Lock;
import java.util.concurrent.locks.ReadWriteLock;

import static io.shmsync.internal.sync.RwSemaphoreLayout.*;

/**
 * A read-write semaphore in shared memory: any number of readers or one writer, from any thread of any
 * process (and C programs running {@code kernel-mirror/include/shmsync/rwsem.h} on the same bytes).
 * Obtained with {@link Region#rwSemaphore(String)}.
 *
 * <pre>{@code
 * try (Region region = Region.openOrCreate("prices", 1 << 20)) {
 *     RwSemaphore rw = region.rwSemaphore("table");
 *     rw.readLock().lock();
 *     try {
 *         readTable();
 *     } finally {
 *         rw.readLock().unlock();
 *     }
 * }
 * }</pre>
 *
 * <p><b>Policy.</b> Writer-preferring, like Linux's rwsem: once a writer waits (in any process), readers that
 * arrive queue behind it. Phase-fair hand-off: every write release hands the lock to <em>all</em> readers
 * queued at that moment, before any other writer. Hence the bounds (docs/PROTOCOL.md §7.4): a reader that
 * must wait gets in after at most one writer's critical section; a writer waits for the readers holding
 * when it arrived and, for each writer that goes before it, at most the one read phase that writer handed
 * off — never for a stream of newly arriving readers. Writers are not ordered among themselves (as
 * {@link Mutex}). A writer that gives up (timeout, interrupt) never leaves readers queued behind it: if it
 * was the last writer waiting, the readers it held back get in at once.
 *
 * <p><b>Ownership.</b> Holds belong to threads, as with {@link java.util.concurrent.locks.ReentrantReadWriteLock}:
 * unlocking a lock the current thread does not hold throws {@link IllegalMonitorStateException}. Read holds
 * are reentrant (a thread that holds one gets another at once, even while a writer waits: queueing behind
 * a writer that waits for this very thread would deadlock), up to 65535 holds of all threads together.
 * The write lock is not reentrant; taking the write lock while holding a read hold, or a read hold while
 * holding the write lock, throws {@link IllegalMonitorStateException} instead of deadlocking: use
 * {@link #tryUpgrade()} and {@link #downgrade()}. Ownership is tracked in this process, per
 * {@code RwSemaphore} instance — {@link Region#rwSemaphore(String)} returns the same instance for the same
 * object while it lives — at no cost in allocation after a thread's first read hold (a small per-thread
 * table). A virtual thread may lock on one carrier and unlock on another.
 *
 * <p><b>Cost.</b> An uncontended read lock, read unlock, write lock or write unlock is one CAS on the state
 * word: no system call, no allocation, no spinning. A release makes a {@code FUTEX_WAKE} only when the word
 * shows waiters of the kind it must wake. Blocked platform threads sleep in {@code futex_waitv} (readers on
 * the word's low half, writers on its high half); virtual threads park and never pin their carrier.
 *
 * <p><b>Memory consistency effects.</b> Actions before a write unlock (or {@link #downgrade()}) happen-before
 * actions after any later read or write acquisition in any thread of any process; actions before a read
 * unlock happen-before actions after a later write acquisition.
 *
 * <p><b>Failures.</b> As {@link Semaphore}: {@link ObjectRemovedException} once the object was removed (also
 * to threads blocked on it); {@link RegionClosedException} to threads blocked when this process closes the
 * region; {@link IllegalStateException} after the close. A state word that another process corrupted
 * fails with an {@link UncheckedIOException} wrapping an {@link InvalidRegionException} naming it.
 *
 * <p><b>Robustness (a per-object option).</b> An object obtained with {@link Region#robustRwSemaphore(String)}
 * survives the death of a process that holds it or is queued for it: the process's read holds and queued
 * threads are given back by the cleaner of its process-table slot, and a dead write holder's lock is released
 * the same way, the next acquirer (reader or writer) getting an {@link OwnerDiedException} with its hold kept;
 * threads blocked on such an object run that cleaner themselves (docs/PROTOCOL.md §7.6, which also states the
 * nanosecond windows in which a death loses a hold instead). A plain object ({@link Region#rwSemaphore(String)})
 * is not robust: a process that dies, or closes the region, while holding a read or write hold leaves it held
 * for ever, and a process that dies while one of its threads is queued blocks the object too (a dead queued
 * writer keeps later readers out, a dead queued reader is handed a hold nobody gives back). Closing the
 * region deregisters this process's queued threads cleanly. The protocol is docs/PROTOCOL.md §7.
 */
public final class RwSemaphore implements ReadWriteLock {
    private static final VarHandle STATE = ValueLayout.JAVA_LONG.varHandle();
    private static final VarHandle INT = ValueLayout.JAVA_INT.varHandle();
    /** A robust waiter sleeps at most this long before it runs the cleaner of dead slots (PROTOCOL §7.6). */
    private static final long ROBUST_SLICE_NANOS = 100_000_000L;
    /** Timeouts beyond this are treated as "no timeout" (a deadline would overflow). */
    private static final long MAX_TIMEOUT_NANOS = Long.MAX_VALUE / 4;
    private static final ThreadLocal<ReadHolds> HOLDS = ThreadLocal.withInitial(ReadHolds::new);

    private final MemorySegment segment;
    private final long state;
    private final long readWord;
    private final long writeWord;
    private final Guard guard;
    private final Path file;
    private final long sequence;
    private final int generation;
    private final ReadLock readLock = new ReadLock();
    private final WriteLock writeLock = new WriteLock();
    /*
     * Owners are kept as thread ids (Thread.threadId(): unique, never reused), not Thread references: a
     * reference store into this long-lived object costs a GC post-write barrier (with G1 a StoreLoad fence
     * and a card enqueue) on every lock, more than the CAS itself. 0 means none.
     */
    /** The id of the thread of this process that holds the write lock through this instance; written only by it. */
    private long writer;
    /**
     * The id of the thread whose read hold took READERS from 0 to 1 (in all processes), while it holds, and
     * its number of holds: a single reader's lock and unlock need no thread-local lookup (the idea of
     * {@code ReentrantReadWriteLock}'s firstReader). Written only by that thread, and set to 0 before the
     * release CAS that lets another thread become first; other threads' holds are in {@link #HOLDS}.
     */
    private long firstReader;
    private int firstReaderHolds;
    /**
     * The hold table of the last thread that used one here (RRWL's cachedHoldCounter): while readers of other
     * processes keep READERS above 0, this process's reader is not first, and this saves its thread-local
     * lookup. Racy by design: a thread uses it only if its {@link ReadHolds#owner} is that thread.
     */
    private ReadHolds cachedHolds;
    /** Whether the object is robust (flags bit 0); the fields below are used only then. */
    private final boolean robust;
    private final ProcessTable table;
    /** This process's slot counts (reads, wwait, rwait0, rwait1), or -1. */
    private final long counts;
    private final long writerLease;
    private final long ownerDied;
    /** This process's lease TID (robust only). */
    private final int leaseTid;

    RwSemaphore(MemorySegment segment, long offset, long size, Guard guard, Path file, ProcessTable robustTable) {
        this.segment = segment;
        this.state = offset + STATE_OFFSET;
        this.readWord = segment.address() + offset + READ_WORD;
        this.writeWord = segment.address() + offset + WRITE_WORD;
        this.guard = guard;
        this.file = file;
        this.sequence = guard.sequenceOffset();
        this.generation = guard.generation();
        String bad = checkImage(segment, offset, size, robustTable == null ? -1 : robustTable.capacity());
        if (bad != null) {
            throw corrupt(bad.substring(0, bad.indexOf(':')), bad.substring(bad.indexOf(':') + 2));
        }
        this.robust = robustTable != null;
        this.table = robustTable;
        this.writerLease = offset + WRITER_LEASE_OFFSET;
        this.ownerDied = offset + OWNER_DIED_OFFSET;
        if (robust) {
            this.leaseTid = robustTable.attach().tid();
            this.counts = offset + LENGTH + (long) SLOT_COUNTS_SIZE * robustTable.slot();
        } else {
            this.leaseTid = 0;
            this.counts = -1;
        }
    }

    /** Whether the object's {@code flags} say robust (read before a handle is made). */
    static boolean isRobust(MemorySegment s, long offset) {
        return s.get(ValueLayout.JAVA_INT, offset + FLAGS_OFFSET) == ROBUST;
    }

    /**
     * Checks flags, the robust header, reserved bytes and the state invariants; returns "field: problem" or
     * null. {@code capacity}: the process table's capacity for a robust object, -1 for a plain one.
     */
    static String checkImage(MemorySegment s, long offset, long size, int capacity) {
        int flags = s.get(ValueLayout.JAVA_INT, offset + FLAGS_OFFSET);
        if (flags != (capacity < 0 ? 0 : ROBUST)) {
            return "flags: 0x" + Integer.toHexString(flags) + ", must be " + (capacity < 0 ? "0" : "1 (ROBUST)");
        }
        long r;
        if (capacity < 0) {
            r = s.get(ValueLayout.JAVA_INT, offset + SLOT_CAPACITY_OFFSET)
                    | s.get(ValueLayout.JAVA_LONG, offset + WRITER_LEASE_OFFSET);
        } else {
            int slots = s.get(ValueLayout.JAVA_INT, offset + SLOT_CAPACITY_OFFSET);
            if (slots != capacity || size < robustSize(capacity)) {
                return "slot_capacity: " + Integer.toUnsignedString(slots) + " (object of " + size + " bytes), but "
                        + "the process table has " + capacity + " slots";
            }
            r = 0;
        }
        for (long o = RESERVED_OFFSET; o < LENGTH; o += 8) {
            r |= s.get(ValueLayout.JAVA_LONG, offset + o);
        }
        if (r != 0) {
            return "reserved: bytes " + (capacity < 0 ? SLOT_CAPACITY_OFFSET : RESERVED_OFFSET) + ".." + (LENGTH - 1)
                    + " must be zero";
        }
        long st = (long) STATE.getVolatile(s, offset + STATE_OFFSET);
        String broken = broken(st);
        return broken == null ? null : "state: 0x" + Long.toHexString(st) + ": " + broken;
    }

    /** Refuses to operate on a removed object: one plain load of the entry's sequence (PROTOCOL §1.4). */
    private void checkGeneration() {
        if (sequence >= 0 && segment.get(ValueLayout.JAVA_INT, sequence) != generation) {
            guard.check(); // throws ObjectRemovedException
        }
    }

    /** The lock that admits readers. */
    @Override
    public Lock readLock() {
        return readLock;
    }

    /** The lock that admits one writer. */
    @Override
    public Lock writeLock() {
        return writeLock;
    }

    // ------------------------------------------------------------------ read side

    private static final int FAILED = 0;
    /** Acquired, and READERS was 0 before: the thread may become {@link #firstReader}. */
    private static final int FIRST = 1;
    private static final int ACQUIRED = 2;

    /** T1: take a read hold if no writer is present (or, for a nested hold, in any case): one CAS. */
    private int tryRead(boolean nested) {
        long s = (long) STATE.get(segment, state);
        for (;;) {
            if (!nested && (s & (PRESENT | WRITER)) != 0) {
                return FAILED; // WRITER implies PRESENT (I1); testing both sends a corrupt word to the slow path
            }
            if (readers(s) + rwait(s) >= MAX_READERS || (nested && (s & WRITER) != 0)) {
                checkState(s);
                throw tooMany("read holds and queued readers", MAX_READERS);
            }
            long w = (long) STATE.compareAndExchangeAcquire(segment, state, s, s + R1);
            if (w == s) {
                if (robust) {
                    count(SLOT_READS, 1);
                }
                return readers(s) == 0 ? FIRST : ACQUIRED;
            }
            s = w;
        }
    }

    /** The id of the current thread (a field load: no allocation, no barrier). */
    private static long me() {
        return Thread.currentThread().threadId();
    }

    /** The current thread's hold table ({@link #cachedHolds} if it is its own, else the thread-local one). */
    private ReadHolds holds(long me) {
        ReadHolds h = cachedHolds;
        if (h == null || h.owner != me) {
            h = HOLDS.get();
            cachedHolds = h;
        }
        return h;
    }

    /** The current thread's read holds through this instance. */
    private int readHolds(long me) {
        int n = firstReader == me ? firstReaderHolds : 0;
        ReadHolds h = holds(me);
        int i = h.indexOf(this);
        return i < 0 ? n : n + h.counts[i];
    }

    /** Whether the current thread (which is not {@link #firstReader}) has holds in its table. */
    private boolean heldInTable(long me) {
        return holds(me).indexOf(this) >= 0;
    }

    /** Records a read hold just taken; {@code first}: the CAS took READERS from 0 to 1. */
    private void recordHold(long me, boolean first) {
        if (firstReader == me) {
            firstReaderHolds++;
        } else if (first) {
            firstReaderHolds = 1;
            firstReader = me;
        } else {
            recordInTable(me);
        }
    }

    private void recordInTable(long me) {
        ReadHolds h = holds(me);
        h.add(this, h.indexOf(this));
    }

    /** Forgets one read hold of the current thread, before its release CAS; false if it has none. */
    private boolean forgetHold(long me) {
        if (firstReader == me) {
            if (--firstReaderHolds == 0) {
                firstReader = 0;
            }
            return true;
        }
        return forgetInTable(me);
    }

    private boolean forgetInTable(long me) {
        ReadHolds h = holds(me);
        int i = h.indexOf(this);
        if (i < 0) {
            return false;
        }
        h.remove(i);
        return true;
    }

    /**
     * The read fast path: the removal check, T1 from a word without PRESENT (one CAS), the hold recorded in
     * plain fields. False (nothing changed) when anything needs the slow path: a writer present or holding
     * (also this thread: the slow path throws), the count limit, a lost CAS race.
     */
    private boolean tryReadFast() {
        checkGeneration();
        long s = (long) STATE.get(segment, state);
        if ((s & (PRESENT | WRITER)) != 0 || readers(s) + rwait(s) >= MAX_READERS
                || (long) STATE.compareAndExchangeAcquire(segment, state, s, s + R1) != s) {
            return false;
        }
        if (robust) {
            count(SLOT_READS, 1);
        }
        long me = me();
        if (readers(s) == 0) {
            firstReaderHolds = 1;
            firstReader = me;
        } else if (firstReader == me) {
            firstReaderHolds++;
        } else {
            recordInTable(me);
        }
        return true;
    }

    /** Read unlock: forget the hold, the removal check, T4. */
    private void unlockRead() {
        long me = me();
        if (firstReader == me) {
            if (--firstReaderHolds == 0) {
                firstReader = 0;
            }
        } else if (!forgetInTable(me)) {
            throw notReadHolder();
        }
        if (sequence >= 0 && segment.get(ValueLayout.JAVA_INT, sequence) != generation) {
            throw removedWhileHeld("read hold");
        }
        if (robust) {
            count(SLOT_READS, -1); // before T4: a death in between loses the hold, never duplicates it
        }
        long s = (long) STATE.get(segment, state);
        if (readers(s) != 0 && (long) STATE.compareAndExchangeRelease(segment, state, s, s - R1) == s) {
            if (wwait(s) != 0 && readers(s) == 1) {
                Futex.wake(writeWord, 1, true);
            }
            return;
        }
        releaseRead();
    }

    private IllegalMonitorStateException notReadHolder() {
        return new IllegalMonitorStateException(guard.description() + ": the current thread ("
                + Thread.currentThread() + ") holds no read hold");
    }

    /** The write fast path: the removal check and T5 from a word without WRITER and READERS (one CAS). */
    private boolean tryWriteFast() {
        checkGeneration();
        long s = (long) STATE.get(segment, state);
        if ((s & WRITER) != 0 || readers(s) != 0
                || (long) STATE.compareAndExchangeAcquire(segment, state, s, s | WRITER | PRESENT) != s) {
            return false;
        }
        if (robust) {
            INT.setRelease(segment, writerLease, leaseTid);
        }
        writer = me();
        return true;
    }

    /** Write unlock: the owner check, the removal check, T8 (one CAS when nobody is queued). */
    private void unlockWrite() {
        if (writer != me()) {
            throw notWriteHolder();
        }
        writer = 0;
        if (sequence >= 0 && segment.get(ValueLayout.JAVA_INT, sequence) != generation) {
            throw removedWhileHeld("write lock");
        }
        if (robust) {
            INT.setVolatile(segment, writerLease, 0); // before T8: a death in between loses the lock
        }
        long s = (long) STATE.get(segment, state);
        if ((s & ~PHASE) == (WRITER | PRESENT)
                && (long) STATE.compareAndExchangeRelease(segment, state, s, s & PHASE) == s) {
            return; // nobody queued: clear WRITER and PRESENT, keep PHASE (T8 without a hand-off)
        }
        releaseWrite(false);
    }

    private IllegalMonitorStateException notWriteHolder() {
        return new IllegalMonitorStateException(guard.description() + ": the current thread ("
                + Thread.currentThread() + ") does not hold the write lock");
    }

    /** T2 and, when the wait fails, T3 (docs/PROTOCOL.md §7.3). */
    private boolean readSlow(boolean interruptible, boolean timed, long deadline) throws InterruptedException {
        WaitNode node = WaitNode.enter(guard);
        boolean registered = false;
        boolean acquired = false;
        long phase = 0;
        try {
            long s = (long) STATE.getVolatile(segment, state);
            for (;;) {
                checkState(s);
                if (readers(s) + rwait(s) >= MAX_READERS) {
                    throw tooMany("read holds and queued readers", MAX_READERS);
                }
                long w;
                if ((s & PRESENT) == 0) {
                    w = (long) STATE.compareAndExchangeAcquire(segment, state, s, s + R1);
                    if (w == s) {
                        if (robust) {
                            count(SLOT_READS, 1);
                        }
                        acquired = true;
                        return true;
                    }
                } else {
                    w = (long) STATE.compareAndExchange(segment, state, s, s + RW1);
                    if (w == s) {
                        registered = true;
                        phase = s & PHASE;
                        if (robust) {
                            count(rwaitCount(phase), 1);
                        }
                        s += RW1;
                        break;
                    }
                }
                s = w;
            }
            for (;;) {
                if ((s & PHASE) != phase) {
                    acquired = true; // admitted by a write release (T8/T9); s was read with acquire
                    if (robust) {
                        count(rwaitCount(phase), -1); // the registration first: a death between loses the hold
                        count(SLOT_READS, 1);
                    }
                    return true;
                }
                if ((s & PRESENT) == 0) {
                    if (robust) {
                        count(rwaitCount(phase), -1);
                    }
                    long w = (long) STATE.compareAndExchangeAcquire(segment, state, s, s - RW1 + R1);
                    if (w == s) {
                        if (robust) {
                            count(SLOT_READS, 1);
                        }
                        acquired = true;
                        return true;
                    }
                    if (robust) {
                        count(rwaitCount(phase), 1);
                    }
                    s = w;
                    continue;
                }
                if (!await(node, READ_WORD, (int) s, timed, deadline, interruptible)) {
                    return false;
                }
                s = (long) STATE.getAcquire(segment, state);
                checkState(s);
            }
        } finally {
            if (registered && !acquired) {
                readAbort(phase);
            }
            node.exit();
        }
    }

    /** T3: a queued reader gives up; if it was admitted meanwhile, it gives the hold it was handed back. */
    private void readAbort(long phase) {
        if (guard.removed()) {
            return; // the bytes may already belong to another object
        }
        if (robust) {
            count(rwaitCount(phase), -1); // before the deregistering CAS (or T4 of an admitted hold)
        }
        long s = (long) STATE.getVolatile(segment, state);
        for (;;) {
            if ((s & PHASE) != phase) {
                releaseRead();
                return;
            }
            if (rwait(s) == 0) {
                return; // corrupt: nothing to undo (the caller reports its own failure)
            }
            long w = (long) STATE.compareAndExchange(segment, state, s, s - RW1);
            if (w == s) {
                return;
            }
            s = w;
        }
    }

    /** T4: one CAS; wakes a writer if this was the last read hold and writers wait. */
    private void releaseRead() {
        long s = (long) STATE.get(segment, state);
        for (;;) {
            if (readers(s) == 0) {
                throw corrupt("state", String.format("0x%x has no read hold to release, but this thread held one: "
                        + "another process overwrote it", s));
            }
            long w = (long) STATE.compareAndExchangeRelease(segment, state, s, s - R1);
            if (w == s) {
                break;
            }
            s = w;
        }
        if (readers(s) == 1 && wwait(s) != 0) {
            Futex.wake(writeWord, 1, true);
        }
    }

    // ------------------------------------------------------------------ write side

    /** T5: one CAS from a free word (no writer, no read hold). */
    private boolean tryWrite() {
        long s = (long) STATE.get(segment, state);
        for (;;) {
            if ((s & WRITER) != 0 || readers(s) != 0) {
                return false;
            }
            long w = (long) STATE.compareAndExchangeAcquire(segment, state, s, s | WRITER | PRESENT);
            if (w == s) {
                if (robust) {
                    INT.setRelease(segment, writerLease, leaseTid);
                }
                return true;
            }
            s = w;
        }
    }

    /** T6 and, when the wait fails, T7. */
    private boolean writeSlow(boolean interruptible, boolean timed, long deadline) throws InterruptedException {
        WaitNode node = WaitNode.enter(guard);
        boolean registered = false;
        boolean acquired = false;
        try {
            long s = (long) STATE.getVolatile(segment, state);
            for (;;) {
                checkState(s);
                if ((s & WRITER) == 0 && readers(s) == 0) {
                    long n = (s | WRITER | PRESENT) - (registered ? WW1 : 0);
                    if (robust && registered) {
                        count(SLOT_WWAIT, -1); // before the CAS that deregisters
                    }
                    long w = (long) STATE.compareAndExchangeAcquire(segment, state, s, n);
                    if (w == s) {
                        if (robust) {
                            INT.setRelease(segment, writerLease, leaseTid);
                        }
                        acquired = true;
                        return true;
                    }
                    if (robust && registered) {
                        count(SLOT_WWAIT, 1);
                    }
                    s = w;
                    continue;
                }
                if (!registered) {
                    if (wwait(s) >= MAX_WAITING_WRITERS) {
                        throw tooMany("queued writers", MAX_WAITING_WRITERS);
                    }
                    long n = (s + WW1) | PRESENT;
                    long w = (long) STATE.compareAndExchange(segment, state, s, n);
                    if (w == s) {
                        registered = true;
                        if (robust) {
                            count(SLOT_WWAIT, 1);
                        }
                        s = n;
                    } else {
                        s = w;
                    }
                    continue;
                }
                if (!await(node, WRITE_WORD, (int) (s >>> 32), timed, deadline, interruptible)) {
                    return false;
                }
                s = (long) STATE.getVolatile(segment, state);
            }
        } finally {
            if (registered && !acquired) {
                writeAbort();
            }
            node.exit();
        }
    }

    /**
     * T7: a queued writer gives up. If it was the last writer present, the readers queued behind it get in;
     * if the lock is free and writers remain, the wake-up it may have consumed is passed on.
     */
    private void writeAbort() {
        if (guard.removed()) {
            return;
        }
        if (robust) {
            count(SLOT_WWAIT, -1); // before the deregistering CAS
        }
        long s = (long) STATE.getVolatile(segment, state);
        long n;
        for (;;) {
            if (wwait(s) == 0) {
                return; // corrupt: nothing to undo
            }
            n = s - WW1;
            if (wwait(n) == 0 && (s & WRITER) == 0) {
                n &= ~PRESENT;
            }
            long w = (long) STATE.compareAndExchange(segment, state, s, n);
            if (w == s) {
                break;
            }
            s = w;
        }
        if ((s & PRESENT) != 0 && (n & PRESENT) == 0 && rwait(n) != 0) {
            Futex.wake(readWord, Integer.MAX_VALUE, true);
        }
        if ((n & WRITER) == 0 && readers(n) == 0 && wwait(n) != 0) {
            Futex.wake(writeWord, 1, true);
        }
    }

    /**
     * T8 (and T9 with {@code downgrade}): clear WRITER, hand the lock to every queued reader, wake them, or
     * else one writer. Returns the replaced state.
     */
    private long releaseWrite(boolean downgrade) {
        long s = (long) STATE.get(segment, state);
        long n;
        for (;;) {
            if ((s & WRITER) == 0 || broken(s) != null) {
                throw corrupt("state", String.format("0x%x while this thread held the write lock%s: another process "
                        + "overwrote it", s, broken(s) == null ? "" : " (" + broken(s) + ")"));
            }
            int rw = rwait(s);
            n = s & ~WRITER;
            if (rw != 0) {
                n = (n - rw * RW1 + rw * R1) ^ PHASE;
            }
            if (downgrade) {
                n += R1;
            }
            n = wwait(s) != 0 ? n | PRESENT : n & ~PRESENT;
            long w = (long) STATE.compareAndExchangeRelease(segment, state, s, n);
            if (w == s) {
                break;
            }
            s = w;
        }
        if (rwait(s) != 0) {
            Futex.wake(readWord, Integer.MAX_VALUE, true);
        } else if (!downgrade && wwait(s) != 0) {
            Futex.wake(writeWord, 1, true);
        }
        return s;
    }

    // ------------------------------------------------------------------ downgrade, upgrade

    /**
     * Atomically turns the current thread's write lock into a read hold (T9): no writer can get in between,
     * and every reader queued at this moment is admitted too (the writer's turn is over). Never blocks.
     *
     * <p>Memory effects as a write unlock followed by a read acquisition by this thread.
     *
     * @throws IllegalMonitorStateException if the current thread does not hold the write lock
     */
    public void downgrade() {
        long me = me();
        if (writer != me) {
            throw new IllegalMonitorStateException(guard.description() + ": downgrade() without the write lock ("
                    + Thread.currentThread() + ")");
        }
        writer = 0;
        checkRemovedWhileHeld("write lock");
        if (robust) {
            INT.setVolatile(segment, writerLease, 0);
        }
        releaseWrite(true);
        if (robust) {
            count(SLOT_READS, 1);
        }
        recordHold(me, false);
    }

    /**
     * Turns the current thread's read hold into the write lock, atomically, if it is the only read hold of
     * any thread in any process and no writer holds the lock (T10); otherwise changes nothing. Never blocks:
     * a blocking upgrade would deadlock two threads upgrading at once, each waiting for the other's read
     * hold. A writer that is queued does not stop the upgrade (writers are not ordered among themselves).
     *
     * <p>Memory effects as a read unlock followed by a write acquisition.
     *
     * @return true if the thread now holds the write lock and no read hold
     * @throws IllegalMonitorStateException if the current thread holds no read hold, or more than one
     */
    public boolean tryUpgrade() {
        long me = me();
        int holds = readHolds(me);
        if (holds == 0) {
            throw new IllegalMonitorStateException(guard.description() + ": tryUpgrade() without a read hold ("
                    + Thread.currentThread() + ")");
        }
        if (holds != 1) {
            throw new IllegalMonitorStateException(guard.description() + ": tryUpgrade() with " + holds
                    + " nested read holds; release all but one first");
        }
        checkGeneration();
        long s = (long) STATE.get(segment, state);
        if (robust) {
            count(SLOT_READS, -1);
        }
        for (;;) {
            if (readers(s) != 1 || (s & WRITER) != 0) {
                if (robust) {
                    count(SLOT_READS, 1);
                }
                return false;
            }
            long w = (long) STATE.compareAndExchangeAcquire(segment, state, s, (s - R1) | WRITER | PRESENT);
            if (w == s) {
                break;
            }
            s = w;
        }
        if (robust) {
            INT.setRelease(segment, writerLease, leaseTid);
        }
        forgetHold(me);
        writer = me;
        checkOwnerDied();
        return true;
    }

    // ------------------------------------------------------------------ introspection

    /** Whether some thread of some process holds the write lock (a snapshot). */
    public boolean isWriteLocked() {
        checkGeneration();
        return ((long) STATE.getVolatile(segment, state) & WRITER) != 0;
    }

    /** Whether the current thread holds the write lock. */
    public boolean isWriteLockedByCurrentThread() {
        return writer == me();
    }

    /** The number of read holds of all threads of all processes (a snapshot). */
    public int getReadLockCount() {
        checkGeneration();
        return readers((long) STATE.getVolatile(segment, state));
    }

    /** The number of read holds the current thread has on this object (through this instance). */
    public int getReadHoldCount() {
        return readHolds(me());
    }

    /**
     * Whether threads of any process are queued (registered as waiting). An estimate, as with
     * {@link Semaphore#hasQueuedThreads()}: a process killed while queued stays counted.
     */
    public boolean hasQueuedThreads() {
        return getQueueLength() > 0;
    }

    /** Queued readers plus queued writers, of all processes (a snapshot). */
    public int getQueueLength() {
        checkGeneration();
        long s = (long) STATE.getVolatile(segment, state);
        return rwait(s) + wwait(s);
    }

    /** Queued readers of all processes (a snapshot). */
    public int getQueuedReaderCount() {
        checkGeneration();
        return rwait((long) STATE.getVolatile(segment, state));
    }

    /** Queued writers of all processes (a snapshot). */
    public int getQueuedWriterCount() {
        checkGeneration();
        return wwait((long) STATE.getVolatile(segment, state));
    }

    /** The object's generation in its region's directory. */
    public int generation() {
        return generation;
    }

    /** Whether the object was removed from its region (or replaced). */
    boolean isRemoved() {
        return guard.removed();
    }

    /** The raw state word (for tests and diagnostics). */
    long stateWord() {
        return (long) STATE.getVolatile(segment, state);
    }

    @Override
    public String toString() {
        String st;
        try {
            long s = (long) STATE.getVolatile(segment, state);
            st = "Write locks = " + ((s & WRITER) != 0 ? 1 : 0) + ", Read locks = " + readers(s)
                    + ", queued readers = " + rwait(s) + ", queued writers = " + wwait(s)
                    + (guard.removed() ? ", REMOVED" : "");
        } catch (IllegalStateException closed) {
            st = "closed";
        }
        return "RwSemaphore[" + guard.description() + ", " + st + "]";
    }

    // ------------------------------------------------------------------ robustness (PROTOCOL §7.6)

    /** Adds {@code delta} to this process's slot count at {@code field} (robust objects only). */
    private void count(int field, int delta) {
        INT.getAndAdd(segment, counts + field, delta);
    }

    private static int rwaitCount(long phase) {
        return phase == 0 ? SLOT_RWAIT0 : SLOT_RWAIT0 + 4;
    }

    /**
     * After an acquisition of a robust object: if a cleaner released the write lock of a dead holder and no
     * acquirer was told yet, this one is (with its hold).
     */
    private void checkOwnerDied() {
        if (robust && (int) INT.getVolatile(segment, ownerDied) != 0) {
            int tid = (int) INT.getAndSet(segment, ownerDied, 0);
            if (tid != 0) {
                throw new OwnerDiedException(null, tid, 0, false, guard.description() + ": the process (lease TID "
                        + tid + ") that held the write lock died (or closed the region) holding it; a cleaner "
                        + "released it, and the current thread now holds the " + (writer == me() ? "write lock" : "read "
                        + "hold") + ": the data it protects may be half-updated");
            }
        }
    }

    /**
     * One wait of T2/T6 on the half at {@code word}. For a plain object, the wait core's wait. For a robust
     * one, also the write holder's lease word (its death ends the wait: the kernel marks the lease), and at
     * most {@link #ROBUST_SLICE_NANOS}; after either, this thread runs the cleaner of dead slots (§6.6),
     * which gives back what dead processes held or were queued for. Returns false only at the caller's
     * deadline.
     */
    private boolean await(WaitNode node, int word, int expected, boolean timed, long deadline, boolean interruptible)
            throws InterruptedException {
        if (!robust) {
            return node.await(segment, state + word, expected, timed, deadline, interruptible);
        }
        long lease = -1;
        int leaseValue = 0;
        int holder = (int) INT.getVolatile(segment, writerLease);
        int slot = holder == 0 || holder == leaseTid ? -1 : table.slotOf(holder);
        if (slot >= 0) {
            lease = table.leaseOffset(slot);
            leaseValue = (int) INT.getVolatile(segment, lease);
            if ((leaseValue & MutexLayout.TID_MASK) != holder) {
                table.reclaimDead(); // the holder's lease is lost: it is dead
                if ((int) INT.getVolatile(segment, writerLease) != holder) {
                    return true; // cleaned: look again
                }
                // Not cleaned yet (its last threads are still exiting, or another cleaner is at work): sleep a
                // slice on the word alone rather than spin.
                slot = -1;
                lease = -1;
                leaseValue = 0;
            } else if ((leaseValue & MutexLayout.FUTEX_WAITERS) == 0) {
                // The kernel wakes a lease's watcher only if FUTEX_WAITERS is set (as a mutex waiter does, §6.4)
                INT.compareAndSet(segment, lease, leaseValue, leaseValue | MutexLayout.FUTEX_WAITERS);
                leaseValue |= MutexLayout.FUTEX_WAITERS;
            }
        }
        long sliceEnd = System.nanoTime() + ROBUST_SLICE_NANOS;
        boolean sliceFirst = !timed || deadline - sliceEnd > 0;
        boolean woken = node.await(segment, state + word, expected, lease, leaseValue, true,
                sliceFirst ? sliceEnd : deadline, interruptible);
        if (!woken && !sliceFirst) {
            return false; // the caller's deadline
        }
        if (!woken || (slot >= 0 && table.leaseLost(slot, holder))) {
            if (table.reclaimDead() > 0 && slot >= 0) {
                table.wakeLeaseWatchers(slot);
            }
        }
        return true;
    }

    // ------------------------------------------------------------------ helpers

    private void checkState(long s) {
        String b = broken(s);
        if (b != null) {
            throw corrupt("state", String.format("0x%x: %s (another process overwrote it)", s, b));
        }
    }

    private void checkRemovedWhileHeld(String what) {
        if (guard.removed()) {
            throw removedWhileHeld(what);
        }
    }

    private ObjectRemovedException removedWhileHeld(String what) {
        return new ObjectRemovedException(guard.description() + " was removed from its region while this thread "
                + "held its " + what + "; the thread no longer holds it, and its memory was left alone");
    }

    private IllegalStateException tooMany(String what, int max) {
        return new IllegalStateException(guard.description() + ": too many " + what + " (at most " + max + ")");
    }

    private UncheckedIOException corrupt(String field, String problem) {
        return new UncheckedIOException(new InvalidRegionException(file, guard.description() + " " + field, problem));
    }

    private static long deadline(long nanos) {
        return nanos < MAX_TIMEOUT_NANOS ? System.nanoTime() + nanos : 0L;
    }

    /**
     * The read holds of one thread: a few (object, count) pairs, scanned linearly. Allocated once per
     * thread; grows only when a thread holds more distinct read-write semaphores at once than it has room for.
     */
    private static final class ReadHolds {
        /** The id of the thread this table belongs to. */
        final long owner = me();
        RwSemaphore[] keys = new RwSemaphore[4];
        int[] counts = new int[4];

        int indexOf(RwSemaphore r) {
            RwSemaphore[] k = keys;
            for (int i = 0; i < k.length; i++) {
                if (k[i] == r) {
                    return i;
                }
            }
            return -1;
        }

        void add(RwSemaphore r, int i) {
            if (i >= 0) {
                counts[i]++;
                return;
            }
            RwSemaphore[] k = keys;
            for (int j = 0; j < k.length; j++) {
                if (k[j] == null) {
                    k[j] = r;
                    counts[j] = 1;
                    return;
                }
            }
            int n = k.length;
            keys = java.util.Arrays.copyOf(k, n * 2);
            counts = java.util.Arrays.copyOf(counts, n * 2);
            keys[n] = r;
            counts[n] = 1;
        }

        void remove(int i) {
            if (--counts[i] == 0) {
                keys[i] = null;
            }
        }
    }

    // ------------------------------------------------------------------ the two locks

    /**
     * What the two views share: {@code lock()} (the side's fast path, else its blocking acquisition,
     * uninterruptibly), {@code lockInterruptibly()}, the timed {@code tryLock}, and the owner-died report of a
     * robust object after every acquisition. Each side supplies its fast path, its blocking acquisition and
     * its {@code tryLock()}; their documented behaviour is in {@link ReadLock} and {@link WriteLock}.
     */
    private abstract class HoldLock implements Lock {
        /** The side's fast path (one CAS); false, with nothing changed, when the slow path is needed. */
        abstract boolean fast();

        /** The side's checks and blocking acquisition; false only at the deadline. */
        abstract boolean acquire(boolean interruptible, boolean timed, long deadline) throws InterruptedException;

        @Override
        public final void lock() {
            if (!fast()) {
                try {
                    acquire(false, false, 0L);
                } catch (InterruptedException impossible) {
                    throw new AssertionError(impossible);
                }
            }
            checkOwnerDied();
        }

        @Override
        public final void lockInterruptibly() throws InterruptedException {
            if (Thread.interrupted()) {
                throw new InterruptedException();
            }
            if (!fast()) {
                acquire(true, false, 0L);
            }
            checkOwnerDied();
        }

        @Override
        public final boolean tryLock(long time, TimeUnit unit) throws InterruptedException {
            long nanos = unit.toNanos(time);
            if (Thread.interrupted()) {
                throw new InterruptedException();
            }
            if (nanos <= 0) {
                return tryLock();
            }
            if (acquire(true, nanos < MAX_TIMEOUT_NANOS, deadline(nanos))) {
                checkOwnerDied();
                return true;
            }
            return false;
        }
    }

    /**
     * The read side. {@link #lock()} and {@link #lockInterruptibly()} block while a writer holds the lock
     * or waits for it (unless the thread already holds a read hold); {@link #tryLock()} never blocks and
     * never makes a system call. On a robust object every method that acquires may instead throw
     * {@link OwnerDiedException} <em>with the read hold taken</em>, once per dead write holder (PROTOCOL §7.6).
     *
     * <ul>
     *   <li>{@code lock()} takes a read hold, blocking while a writer holds or waits. If interrupted while
     *       waiting, keeps waiting and sets the interrupt status again on return. Throws
     *       {@link IllegalMonitorStateException} if the current thread holds the write lock,
     *       {@link IllegalStateException} if 65535 read holds and queued readers exist already.</li>
     *   <li>{@code lockInterruptibly()}: as {@code lock()}, but an interrupt (on entry or while waiting) ends the
     *       wait with {@link InterruptedException}: the status is cleared, and the thread holds no new read hold
     *       — also if a writer's release had just handed it one (it is given back).</li>
     *   <li>{@code tryLock(time, unit)} takes a read hold if one can be had within the timeout
     *       ({@code CLOCK_MONOTONIC}) and the thread is not interrupted; a timeout of zero or less does not
     *       block. False if the timeout elapsed first (the thread holds no new read hold and is not queued).</li>
     * </ul>
     */
    private final class ReadLock extends HoldLock {
        @Override
        boolean fast() {
            return tryReadFast();
        }

        /**
         * Takes a read hold if no writer holds or waits (or the thread already has one). Never blocks, never
         * makes a system call.
         *
         * @throws IllegalMonitorStateException if the current thread holds the write lock
         */
        @Override
        public boolean tryLock() {
            if (tryReadFast()) {
                checkOwnerDied();
                return true;
            }
            long me = me();
            checkWriter(me);
            checkGeneration();
            boolean nested = firstReader == me;
            int r = tryRead(nested);
            if (r == FAILED && !nested && heldInTable(me)) {
                r = tryRead(true); // a writer is present, but this thread holds already: nest
            }
            if (r == FAILED) {
                return false;
            }
            recordHold(me, r == FIRST);
            checkOwnerDied();
            return true;
        }

        @Override
        boolean acquire(boolean interruptible, boolean timed, long deadline) throws InterruptedException {
            long me = me();
            checkWriter(me);
            checkGeneration();
            boolean nested = firstReader == me;
            int r = tryRead(nested);
            if (r == FAILED && !nested && heldInTable(me)) {
                r = tryRead(true); // a writer is present, but this thread holds already: nest
            }
            if (r == FAILED) {
                if (!readSlow(interruptible, timed, deadline)) {
                    return false;
                }
                r = ACQUIRED;
            }
            recordHold(me, r == FIRST);
            return true;
        }

        private void checkWriter(long me) {
            if (writer == me) {
                throw new IllegalMonitorStateException(guard.description() + ": the current thread holds the write "
                        + "lock; a read hold would wait for itself (use downgrade())");
            }
        }

        /**
         * Releases one read hold of the current thread (T4); wakes a writer if it was the last hold of all and
         * a writer waits. Never blocks.
         *
         * @throws IllegalMonitorStateException if the current thread holds no read hold
         * @throws ObjectRemovedException if the object was removed meanwhile (the hold is forgotten, the
         *                                memory left alone)
         */
        @Override
        public void unlock() {
            unlockRead();
        }

        /** Not supported. */
        @Override
        public Condition newCondition() {
            throw new UnsupportedOperationException("read holds have no conditions");
        }

        @Override
        public String toString() {
            return "ReadLock[" + RwSemaphore.this + "]";
        }
    }

    /**
     * The write side. {@link #lock()} blocks while any read hold or another writer exists; while it waits,
     * new readers queue behind it. Not reentrant. On a robust object every method that acquires may instead
     * throw {@link OwnerDiedException} <em>with the write lock taken</em>, once per dead write holder
     * (PROTOCOL §7.6).
     *
     * <ul>
     *   <li>{@code lock()} takes the write lock, blocking until no read hold and no other writer exists. If
     *       interrupted while waiting, keeps waiting and sets the interrupt status again on return. Throws
     *       {@link IllegalMonitorStateException} if the current thread holds the write lock already, or a read
     *       hold (that would wait for itself: use {@link #tryUpgrade()}).</li>
     *   <li>{@code lockInterruptibly()}: as {@code lock()}, but an interrupt (on entry or while waiting) ends the
     *       wait with {@link InterruptedException}: the thread is no longer queued, and if it was the last writer
     *       waiting, the readers queued behind it get in.</li>
     *   <li>{@code tryLock(time, unit)} takes the write lock if it can be had within the timeout
     *       ({@code CLOCK_MONOTONIC}) and the thread is not interrupted; a timeout of zero or less does not
     *       block. False if the timeout elapsed first: the thread is no longer queued, and if it was the last
     *       writer waiting, the readers queued behind it get in.</li>
     * </ul>
     */
    private final class WriteLock extends HoldLock {
        @Override
        boolean fast() {
            return tryWriteFast();
        }

        /**
         * Takes the write lock if no read hold and no writer exists at the time of the call (queued writers
         * or readers do not stop it). Never blocks, never makes a system call.
         *
         * @throws IllegalMonitorStateException if the current thread holds the write lock already
         */
        @Override
        public boolean tryLock() {
            if (tryWriteFast()) {
                checkOwnerDied();
                return true;
            }
            checkNotWriter();
            checkGeneration();
            if (tryWrite()) {
                writer = me();
                checkOwnerDied();
                return true;
            }
            return false;
        }

        @Override
        boolean acquire(boolean interruptible, boolean timed, long deadline) throws InterruptedException {
            checkNotWriter();
            checkGeneration();
            if (!tryWrite()) {
                // Only now (a read hold of this thread makes tryWrite fail anyway): would it wait for itself?
                long me = me();
                if (firstReader == me || heldInTable(me)) {
                    throw new IllegalMonitorStateException(guard.description() + ": the current thread holds a read "
                            + "hold; waiting for the write lock would wait for itself (use tryUpgrade())");
                }
                if (!writeSlow(interruptible, timed, deadline)) {
                    return false;
                }
            }
            writer = me();
            return true;
        }

        private void checkNotWriter() {
            if (writer == me()) {
                throw new IllegalMonitorStateException(guard.description() + " is write-locked by the current thread "
                        + "already; the write lock is not reentrant");
            }
        }

        /**
         * Releases the write lock (T8): hands it to every reader queued now (they all get in) or, if none,
         * wakes one queued writer. Never blocks.
         *
         * @throws IllegalMonitorStateException if the current thread does not hold the write lock
         * @throws ObjectRemovedException if the object was removed meanwhile (the memory is left alone)
         */
        @Override
        public void unlock() {
            unlockWrite();
        }

        /** Not supported. */
        @Override
        public Condition newCondition() {
            throw new UnsupportedOperationException("shmsync read-write semaphores have no conditions yet");
        }

        @Override
        public String toString() {
            return "WriteLock[" + RwSemaphore.this + "]";
        }
    }
}
