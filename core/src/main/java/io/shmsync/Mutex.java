package io.shmsync;

import io.shmsync.internal.futex.Futex;
import io.shmsync.internal.robust.ProcessTable;
import io.shmsync.internal.robust.RobustEntry;
import io.shmsync.internal.robust.RobustList;
import io.shmsync.internal.robust.TestHooks;
import io.shmsync.internal.robust.ThreadList;
import io.shmsync.internal.robust.WaiterPending;
import io.shmsync.internal.sync.Guard;
import io.shmsync.internal.sync.Spinner;
import io.shmsync.internal.sync.WaitNode;

import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.Lock;

import static io.shmsync.internal.robust.RobustList.RAW;
import static io.shmsync.internal.sync.MutexLayout.*;

/**
 * A robust mutual-exclusion lock in shared memory, usable from any thread of any process, and laid out
 * exactly as glibc's robust, process-shared, error-checking {@code pthread_mutex_t}: a C program's
 * {@code pthread_mutex_lock}/{@code unlock}/{@code consistent} on the same bytes interoperates. When a
 * holder dies — {@code kill -9}, a crash, an exit without unlocking — the next thread to acquire the mutex
 * is told so ({@link OwnerDiedException}) instead of waiting for ever or silently taking over
 * half-updated data.
 *
 * <pre>{@code
 * try (Region region = Region.openOrCreate("orders", 1 << 20)) {
 *     Mutex mutex = region.mutex("book");
 *     try {
 *         mutex.lock();
 *     } catch (OwnerDiedException e) {
 *         repairBook();              // we hold the lock: the dead holder may have left the book half-updated
 *         mutex.markConsistent();
 *     }
 *     try {
 *         updateBook();
 *     } finally {
 *         mutex.unlock();
 *     }
 * }
 * }</pre>
 *
 * <p><b>Semantics.</b> Not reentrant and error-checking: locking it again from the thread that holds it, and
 * unlocking it from a thread that does not, throw {@link IllegalMonitorStateException}. The holder is a Java
 * thread (platform or virtual: a virtual thread may lock on one carrier and unlock on another). In the
 * shared word a platform thread appears with its own TID, as a C thread would: it holds the mutex on its own
 * robust list, the one glibc keeps for it; a virtual thread appears as this process's lease thread
 * (docs/PROTOCOL.md §6.3). Not fair: a thread that finds
 * the mutex free takes it, even if others wait. {@link #newCondition()} is not supported.
 *
 * <p><b>Owner death.</b> Detected by the kernel, not by polling PIDs: every mutex is on a robust futex list
 * the kernel walks when its thread exits — the holding platform thread's own, or the process's lease
 * thread's (virtual threads) — so a process death, and also the end of a platform thread that still holds
 * mutexes (as with glibc's robust mutexes; a virtual thread that ends holding one leaves it held, as
 * {@code ReentrantLock} does), is reported. The next acquirer
 * gets the mutex <em>and</em> an {@link OwnerDiedException} (thrown with the mutex held); it repairs the
 * data and calls {@link #markConsistent()}. Unlocking without that makes the mutex permanently unusable:
 * every later lock attempt throws {@link NotRecoverableException}. Each death is reported to exactly one
 * next owner, and only once no thread of the dead process can still run: the acquirer waits until the
 * threads of dead processes have exited, or are blocked in the kernel with {@code SIGKILL} pending
 * (docs/PROTOCOL.md §6.4 "Owner death"), so the dead holder cannot still be inside its critical section while
 * the next owner repairs the data.
 *
 * <p><b>Waiter death.</b> A blocked platform thread keeps its own robust-list entry pending on the mutex
 * while it waits, so if its process is killed after an unlock chose it to wake up, the kernel wakes another
 * waiter in its place (§6.4 "Waiter death"). Virtual-thread waiters are not covered: if one is killed in that
 * instant, the other waiters wait until the next lock attempt or unlock of the mutex.
 *
 * <p><b>Cost.</b> An uncontended {@code lock()} + {@code unlock()} by a platform thread is two atomic
 * read-modify-write instructions (the CAS on the lock word, twice), as glibc's, plus plain loads and stores
 * for the checks and the list links; by a virtual thread four (a CAS that claims the lease list's head,
 * twice, in addition) (docs/PROTOCOL.md §6.4 "Cost"): no system call, no allocation, no GC write barrier. A
 * contended unlock adds one {@code FUTEX_WAKE}. Blocked platform threads sleep in {@code futex_wait} (or
 * {@code futex_waitv}, when they also watch a lease); virtual threads park.
 *
 * <p><b>Memory consistency effects.</b> Actions in a thread (of any process) before {@code unlock()}
 * happen-before actions after a later successful lock in another thread — also when the lock is acquired
 * with {@link OwnerDiedException}, for everything the dead holder wrote before it died (the dead holder's
 * writes are all visible; whether they are complete is what the exception warns about).
 *
 * <p><b>Failures.</b> As {@link Semaphore}: {@link ObjectRemovedException} after the mutex was removed,
 * {@link RegionClosedException} to threads blocked when this process closes the region. Closing a region
 * while this process holds some of its mutexes releases them as if the process had died (the next owner
 * gets {@link OwnerDiedException}); if another platform thread holds one then, the region's memory stays
 * mapped for the rest of the process's life (its robust list still points there: docs/PROTOCOL.md §6.5).
 * A mutex whose bytes another process corrupted (a {@code __kind} that is
 * not robust and process-shared, reserved bytes set, list pointers changed while held) fails with an
 * {@link UncheckedIOException} wrapping an {@link InvalidRegionException} that names the field. A lock that
 * stays held shows up in {@link #lock(long, TimeUnit)}'s {@link TimeoutException}, which names the holder.
 */
public final class Mutex implements Lock {
    private static final VarHandle INT = ValueLayout.JAVA_INT.varHandle();
    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT;
    private static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG;
    /** Timeouts beyond this are treated as "no timeout" (a deadline would overflow). */
    private static final long MAX_TIMEOUT_NANOS = Long.MAX_VALUE / 4;

    // Outcomes of an attempt made under the robust-list operation lock.
    private static final int ACQUIRED = 0;
    private static final int OWNER_DIED = 1;
    private static final int NOT_RECOVERABLE = 2;
    private static final int BUSY = 3;

    private final MemorySegment segment;
    private final long base;
    private final long wordAddress;
    /** Absolute addresses for {@link RobustList#RAW} accesses under the operation lock (see there). */
    private final long ownerAddress;
    private final long sequenceAddress; // 0: no directory entry to watch
    private final long sequenceOffset;  // -1: no directory entry to watch
    private final int generation;
    private final long kindAddress;
    /** The thread list last used through this handle: found again with one comparison by the same thread. */
    private ThreadList lastList;
    private final Guard guard;
    private final ProcessTable table;
    private final RobustList list;
    private final RobustEntry entry;
    private final int leaseTid;
    private final Path file;
    private final Spinner spinner = new Spinner();
    private volatile SpinPolicy spinPolicy = SpinPolicy.NONE;

    Mutex(MemorySegment segment, long offset, Guard guard, ProcessTable table, Path file) {
        this.segment = segment;
        this.base = offset;
        this.wordAddress = segment.address() + offset + LOCK_OFFSET;
        this.ownerAddress = segment.address() + offset + OWNER_OFFSET;
        this.sequenceAddress = guard.sequenceOffset() < 0 ? 0 : segment.address() + guard.sequenceOffset();
        this.sequenceOffset = guard.sequenceOffset();
        this.generation = guard.generation();
        this.kindAddress = segment.address() + offset + KIND_OFFSET;
        this.guard = guard;
        this.table = table;
        this.list = table.attach();
        this.entry = table.mutexEntry(offset, guard.generation());
        this.leaseTid = list.tid();
        this.file = file;
        String bad = checkImage();
        if (bad != null) {
            throw corrupt(bad.substring(0, bad.indexOf(':')), bad.substring(bad.indexOf(':') + 2));
        }
    }

    /** Writes the initial image of a mutex at {@code offset} (the rest of the object is already zero). */
    static void writeImage(MemorySegment s, long offset) {
        s.set(ValueLayout.JAVA_INT, offset + KIND_OFFSET, KIND);
    }

    // ------------------------------------------------------------------ lock

    /**
     * Acquires the mutex, blocking until it is available. If the thread is interrupted while waiting it
     * keeps waiting; its interrupted status is set again when the method returns.
     *
     * @throws OwnerDiedException with the mutex <b>held</b>: the previous owner died holding it. Thrown only
     *         after every process whose lease was lost (the dead holder's among them) has no thread left that
     *         can run user code — exited, or blocked in the kernel with {@code SIGKILL} pending — so nothing
     *         of the dead holder still runs in the critical section; this wait is not bounded by a timeout of
     *         the lock call (it lasts as long as the dying threads take to enter the kernel)
     * @throws NotRecoverableException if the mutex is permanently unusable (the caller does not hold it)
     * @throws IllegalMonitorStateException if the current thread already holds it
     * @throws ObjectRemovedException if the mutex is (or gets) removed from its region
     * @throws RegionClosedException if this process closes the region while the thread waits
     * @throws IllegalStateException if this process lost its lease while the thread waited (the process is
     *         being killed): the mutex is not acquired
     */
    @Override
    public void lock() {
        Thread me = begin();
        if (tryFast(me) != ACQUIRED) {
            try {
                lockSlow(me, false, false, 0L, false);
            } catch (InterruptedException | TimeoutException impossible) {
                throw new AssertionError(impossible);
            }
        }
    }

    /**
     * Acquires the mutex unless the current thread is interrupted; as {@link #lock()} otherwise.
     *
     * @throws InterruptedException if the thread is interrupted on entry or while waiting (the status is
     *                              cleared; the thread does not hold the mutex)
     */
    @Override
    public void lockInterruptibly() throws InterruptedException {
        if (Thread.interrupted()) {
            throw new InterruptedException();
        }
        Thread me = begin();
        if (tryFast(me) != ACQUIRED) {
            try {
                lockSlow(me, true, false, 0L, false);
            } catch (TimeoutException impossible) {
                throw new AssertionError(impossible);
            }
        }
    }

    /**
     * Acquires the mutex if it is free, or if its owner is dead, at the time of the call. Never blocks and
     * never makes a system call, except to look up the owner's process when the mutex is held by another
     * process, and, when it acquires after an owner death, to wait until the dead process's threads have
     * stopped (as {@link #lock()}).
     *
     * @return true if the mutex was acquired
     * @throws OwnerDiedException with the mutex <b>held</b>, as {@link #lock()}
     * @throws NotRecoverableException as {@link #lock()}
     */
    @Override
    public boolean tryLock() {
        Thread me = begin();
        int r = tryFast(me);
        if (r == ACQUIRED) {
            return true;
        }
        guard.check();
        for (int attempt = 0; attempt < 16; attempt++) {
            int v = (int) INT.getVolatile(segment, base + LOCK_OFFSET);
            Owner o = owner(me, v);
            if (!o.takeable()) {
                return false;
            }
            r = takeOver(me, v, false, o);
            if (r != BUSY) {
                return finish(r, v, o);
            }
        }
        return false;
    }

    /**
     * Acquires the mutex if it becomes available within the timeout (measured on {@code CLOCK_MONOTONIC})
     * and the thread is not interrupted.
     *
     * @return true if acquired, false if the timeout elapsed first
     * @throws OwnerDiedException with the mutex <b>held</b>, as {@link #lock()}
     */
    @Override
    public boolean tryLock(long time, TimeUnit unit) throws InterruptedException {
        long nanos = unit.toNanos(time);
        if (Thread.interrupted()) {
            throw new InterruptedException();
        }
        if (nanos <= 0) {
            return tryLock();
        }
        Thread me = begin();
        if (tryFast(me) == ACQUIRED) {
            return true;
        }
        boolean timed = nanos < MAX_TIMEOUT_NANOS;
        try {
            return lockSlow(me, true, timed, timed ? System.nanoTime() + nanos : 0L, false);
        } catch (TimeoutException impossible) {
            throw new AssertionError(impossible);
        }
    }

    /**
     * Acquires the mutex within the timeout or fails with an exception that names the holder: its lease TID,
     * its process (PID, alive or dead) if it is an attached shmsync process, or that its TID belongs to no
     * attached process (a C program's thread, whose death only the kernel reports).
     *
     * @throws TimeoutException if the timeout elapsed first
     * @throws InterruptedException if interrupted
     * @throws OwnerDiedException with the mutex <b>held</b>, as {@link #lock()}
     */
    public void lock(long time, TimeUnit unit) throws InterruptedException, TimeoutException {
        long nanos = unit.toNanos(time);
        if (Thread.interrupted()) {
            throw new InterruptedException();
        }
        Thread me = begin();
        if (tryFast(me) == ACQUIRED) {
            return;
        }
        boolean timed = nanos < MAX_TIMEOUT_NANOS;
        lockSlow(me, true, timed, timed ? System.nanoTime() + Math.max(nanos, 0) : 0L, true);
    }

    /** The checks of every lock call: not held by the caller. (Removal is checked under the operation lock.) */
    private Thread begin() {
        Thread me = Thread.currentThread();
        if (entry.holderId == me.threadId()) {
            throw new IllegalMonitorStateException(guard.description() + " is already held by this thread ("
                    + me + "); the mutex is not reentrant");
        }
        return me;
    }

    /**
     * Under the operation lock, with the region not closing (so {@link RobustList#RAW} may be used): whether the
     * mutex was removed from its region (its directory entry's {@code sequence} moved on).
     */
    private boolean removedRaw() {
        return sequenceAddress != 0 && RAW.get(I32, sequenceAddress) != generation;
    }

    /**
     * The calling platform thread's own robust list (PROTOCOL §6.3 "Thread lists"), or null: a virtual thread,
     * or a thread that cannot share glibc's list, or one that holds {@link ThreadList#LIMIT} words already,
     * takes the lease list.
     */
    private ThreadList threadList(Thread me) {
        ThreadList t = lastList;
        return t != null && t.thread == me && !t.isFull() ? t : threadListMiss(me);
    }

    /** {@link #threadList} when this handle last served another thread (kept out of the inlined fast path). */
    private ThreadList threadListMiss(Thread me) {
        ThreadList t = ThreadList.current(me);
        if (t == null) {
            return null;
        }
        lastList = t;
        return t.isFull() ? null : t;
    }

    /** Whether the mutex was removed from its region (its directory entry's {@code sequence} moved on). */
    private boolean removed() {
        return sequenceOffset >= 0 && segment.get(I32, sequenceOffset) != generation;
    }

    /**
     * The uncontended path. On a platform thread's own list (PROTOCOL §6.4 "Thread list"):
     * {@code list_op_pending} = the entry, CAS 0 → the thread's TID, link, {@code list_op_pending} = 0 — one
     * atomic, as glibc. Otherwise the lease list's path. BUSY sends the caller to the slow path, which also
     * reports a closed region, a removed mutex and a full list.
     */
    private int tryFast(Thread me) {
        ThreadList t = threadList(me);
        if (t == null) {
            return tryFastLease(me);
        }
        t.setPending(entry);
        if (TestHooks.ARMED) {
            TestHooks.at(TestHooks.LOCK_PENDING, t.tid);
        }
        if (!casFree(t)) {
            t.clearPending();
            return BUSY;
        }
        int r = acquiredThread(me, t, 0, null);
        return r == ACQUIRED ? r : finishFast(r);
    }

    /** An uncontended acquisition that must report (owner died, not recoverable): throws. */
    private int finishFast(int r) {
        finish(r, 0, null);
        return r;
    }

    /**
     * TL2: CAS 0 → the thread's TID on the region's segment, unless the region is closing or the mutex was
     * removed. Kept small: it is on the inlined fast path.
     */
    private boolean casFree(ThreadList t) {
        try {
            return !table.isClosing() && !removed() && INT.compareAndSet(segment, base + LOCK_OFFSET, 0, t.tid);
        } catch (IllegalStateException unmapped) { // the region's memory is closed: nothing was changed
            throw closedOnFastPath(t);
        }
    }

    private RegionClosedException closedOnFastPath(ThreadList t) {
        t.clearPending();
        return closed();
    }

    /**
     * The word holds this thread's TID (its CAS from {@code previous} succeeded; {@code list_op_pending} names
     * the entry): link the entry on the thread's list, check {@code __owner} and {@code __kind}, record the
     * holder, clear {@code list_op_pending}. The region's memory stays mapped while the word holds the TID of
     * one of this process's threads (PROTOCOL §6.5), so it is reached by address.
     */
    private int acquiredThread(Thread me, ThreadList t, int previous, Owner deadOwner) {
        RobustEntry e = entry;
        if (TestHooks.ARMED) {
            TestHooks.at(TestHooks.LOCK_CAS, t.tid);
        }
        t.link(e);
        if (TestHooks.ARMED) {
            TestHooks.at(TestHooks.LOCK_LINKED, t.tid);
        }
        int owner = RAW.get(I32, ownerAddress);
        if ((owner | previous) != 0 || deadOwner != null || RAW.get(I32, kindAddress) != KIND) {
            return acquiredSpecialThread(me, t, previous, deadOwner, owner); // may return OWNER_DIED etc.
        }
        e.holderTid = t.tid;
        e.holderId = me.threadId();
        t.clearPending();
        return ACQUIRED;
    }

    /** {@link #acquiredThread} after an owner death, or with an unusual {@code __owner} or {@code __kind}. */
    private int acquiredSpecialThread(Thread me, ThreadList t, int previous, Owner deadOwner, int owner) {
        RobustEntry e = entry;
        String bad;
        try {
            bad = owner == NOTRECOVERABLE ? null : checkImage();
        } catch (IllegalStateException unmapped) {
            bad = null; // closed meanwhile: give the word back below, report the close
        }
        if (owner == NOTRECOVERABLE || bad != null || table.isClosing()) {
            t.unlink(e, false);
            releaseWord(t.tid);
            t.clearPending();
            if (table.isClosing()) {
                throw closed();
            }
            if (bad != null) {
                throw corrupt(bad.substring(0, bad.indexOf(':')), bad.substring(bad.indexOf(':') + 2));
            }
            return NOT_RECOVERABLE;
        }
        boolean died = (previous & FUTEX_OWNER_DIED) != 0 || deadOwner != null || owner == INCONSISTENT;
        RAW.set(I32, ownerAddress, died ? INCONSISTENT : 0);
        e.holderTid = t.tid;
        e.holderId = me.threadId();
        e.inconsistent = died;
        t.clearPending();
        return died ? OWNER_DIED : ACQUIRED;
    }

    /**
     * The lease list's uncontended path: under the operation lock, CAS 0 → lease TID. BUSY sends the caller to
     * the slow path.
     */
    private int tryFastLease(Thread me) {
        RobustList l = list;
        l.lockOp(entry);
        int r = BUSY;
        try {
            if (TestHooks.ARMED) {
                TestHooks.at(TestHooks.LOCK_PENDING, leaseTid);
            }
            if (!table.isClosing() && !removedRaw() && l.size() < ROBUST_LIST_LIMIT
                    && INT.compareAndSet(RAW, wordAddress, 0, leaseTid)) {
                r = acquired(me, 0, null);
            }
        } finally {
            l.unlockOp();
        }
        if (r == OWNER_DIED || r == NOT_RECOVERABLE) {
            finish(r, 0, null);
        }
        return r;
    }

    /**
     * The word is ours (under the operation lock): link the entry, record the holder. The common case — the
     * word was 0, {@code __owner} is 0 and {@code __kind} is 146 — is two loads and two stores in the region;
     * everything else goes to {@link #acquiredSpecial}.
     *
     * @param previous the word value the CAS replaced
     * @param deadOwner the owner's process found dead through its lease, or null
     */
    private int acquired(Thread me, int previous, Owner deadOwner) {
        int owner = RAW.get(I32, ownerAddress);
        if ((owner | previous) != 0 || deadOwner != null || RAW.get(I32, ownerAddress + (KIND_OFFSET - OWNER_OFFSET)) != KIND) {
            return acquiredSpecial(me, previous, deadOwner, owner);
        }
        if (TestHooks.ARMED) {
            hooksAfterCas();
        }
        list.link(entry);
        entry.holderTid = leaseTid;
        entry.holderId = me.threadId();
        if (TestHooks.ARMED) {
            TestHooks.at(TestHooks.LOCK_LINKED, leaseTid);
        }
        return ACQUIRED;
    }

    private void hooksAfterCas() {
        TestHooks.at(TestHooks.LOCK_CAS, leaseTid);
        TestHooks.at(TestHooks.LOCK_CAS_UNLISTED, leaseTid, list::dropPendingForTest);
    }

    /** {@link #acquired} after an owner death, or with an unusual {@code __owner}: checks the image too. */
    private int acquiredSpecial(Thread me, int previous, Owner deadOwner, int owner) {
        if (owner == NOTRECOVERABLE || checkImage() != null) {
            return refuse(owner);
        }
        if (TestHooks.ARMED) {
            hooksAfterCas();
        }
        list.link(entry);
        boolean died = (previous & FUTEX_OWNER_DIED) != 0 || deadOwner != null || owner == INCONSISTENT;
        segment.set(I32, base + OWNER_OFFSET, died ? INCONSISTENT : 0);
        entry.holderTid = leaseTid;
        entry.holderId = me.threadId();
        entry.inconsistent = died;
        if (TestHooks.ARMED) {
            TestHooks.at(TestHooks.LOCK_LINKED, leaseTid);
        }
        return died ? OWNER_DIED : ACQUIRED;
    }

    /** Gives a just-acquired word back (not linked yet) and reports why. */
    private int refuse(int owner) {
        String bad = checkImage();
        releaseWord(leaseTid);
        if (bad != null) {
            throw corrupt(bad.substring(0, bad.indexOf(':')), bad.substring(bad.indexOf(':') + 2));
        }
        return NOT_RECOVERABLE;
    }

    /**
     * Step U4 (PROTOCOL.md §6.4): releases the lock word only while it still names {@code tid}, by CAS
     * (release), and wakes one waiter if {@code FUTEX_WAITERS} was set. A word that names anybody else is left
     * alone: once the kernel has marked this process's lease dead and a waiter has taken over, a late unlock by
     * a thread of the dying process must not free the new owner's lock (verification/spin finding-u4-clobber).
     * The uncontended case is one CAS, as the exchange it replaces.
     *
     * @return the value replaced, or the foreign value that was left in place
     */
    private int releaseWord(int tid) {
        int old = (int) INT.compareAndExchangeRelease(RAW, wordAddress, tid, 0);
        while (old != tid) {
            if ((old & TID_MASK) != tid || (old & FUTEX_OWNER_DIED) != 0) {
                return old;
            }
            int witness = (int) INT.compareAndExchangeRelease(RAW, wordAddress, old, 0);
            if (witness == old) {
                break;
            }
            old = witness;
        }
        if ((old & FUTEX_WAITERS) != 0) {
            Futex.wake(wordAddress, 1, true);
        }
        return old;
    }

    /** Checks the fields a corrupt peer could have broken; returns "field: problem" or null. */
    private String checkImage() {
        int kind = segment.get(I32, base + KIND_OFFSET);
        if (kind != KIND && kind != KIND_NORMAL) {
            return "__kind: " + kind + " is not a robust, process-shared mutex (expected " + KIND
                    + " = ROBUST|ERRORCHECK|PSHARED or " + KIND_NORMAL + " = ROBUST|PSHARED)";
        }
        long r1 = segment.get(I64, base + RESERVED_OFFSET);
        long r2 = segment.get(I64, base + RESERVED_OFFSET + 8);
        if ((r1 | r2) != 0) {
            return "reserved: bytes " + RESERVED_OFFSET + ".." + (LENGTH - 1) + " must be zero, found 0x"
                    + Long.toHexString(r1) + " 0x" + Long.toHexString(r2);
        }
        return null;
    }

    private UncheckedIOException corrupt(String field, String problem) {
        return new UncheckedIOException(new InvalidRegionException(file, guard.description() + " " + field,
                problem));
    }

    // ------------------------------------------------------------------ the slow path

    /** Who holds the word {@code v}, as far as this process can tell. */
    private record Owner(int tid, int slot, int pid, boolean free, boolean markedDead, boolean leaseDead) {
        boolean takeable() {
            return free || markedDead || leaseDead;
        }
    }

    private Owner owner(Thread me, int v) {
        int tid = v & TID_MASK;
        if ((v & FUTEX_OWNER_DIED) != 0) {
            return new Owner(tid, -1, 0, false, true, false);
        }
        if (tid == 0) {
            return new Owner(0, -1, 0, true, false, false);
        }
        if (tid == leaseTid) {
            if (localHolder() == me.threadId()) {
                throw new IllegalMonitorStateException(guard.description() + " is already held by this thread ("
                        + me + ") through another handle; the mutex is not reentrant");
            }
            return new Owner(tid, table.slot(), 0, false, false, false);
        }
        if (ThreadList.isOurs(tid)) {
            // A platform thread of this process holds it on its own list: no lease to watch, the kernel marks
            // the word at that thread's exit.
            ThreadList t = ThreadList.current(me);
            if (t != null && t.tid == tid) {
                throw new IllegalMonitorStateException(guard.description() + " is already held by this thread ("
                        + me + ") through another handle; the mutex is not reentrant");
            }
            return new Owner(tid, -1, 0, false, false, false);
        }
        int s = table.slotOf(tid);
        boolean dead = s >= 0 && table.leaseLost(s, tid);
        return new Owner(tid, s, s >= 0 ? table.pidOf(s) : 0, false, false, dead);
    }

    /** The thread id of the thread of this process holding this mutex through any handle of any Region object of its file. */
    private long localHolder() {
        long h = entry.holderId;
        if (h != 0) {
            return h;
        }
        RobustList l = list;
        l.lockOp();
        try {
            return l.holderOf(table, base);
        } finally {
            l.unlockOp();
        }
    }

    /** Under the operation lock: CAS {@code v} → our TID, keeping (or adding) {@code FUTEX_WAITERS}. */
    private int takeOver(Thread me, int v, boolean waited, Owner o) {
        ThreadList t = threadList(me);
        if (t != null) {
            return takeOverThread(me, t, v, waited, o);
        }
        RobustList l = list;
        l.lockOp(entry);
        try {
            if (table.isClosing()) {
                throw closed();
            }
            l.checkRoom();
            if (waited && ownLeaseLost()) {
                // This process is being killed (its lease thread exited): a woken waiter must not take m now,
                // after the kernel's walk; it passes its wake-up on instead (PROTOCOL §6.4 "Waiter death").
                throw new IllegalStateException(guard.description() + ": this process lost its lease (it is "
                        + "being killed); the mutex was not acquired");
            }
            int nv = leaseTid | (v & FUTEX_WAITERS) | (waited ? FUTEX_WAITERS : 0);
            if (!INT.compareAndSet(segment, base + LOCK_OFFSET, v, nv)) {
                return BUSY;
            }
            return acquired(me, v, o.leaseDead() ? o : null);
        } finally {
            l.unlockOp();
        }
    }

    /**
     * {@link #takeOver} on the calling platform thread's own list: {@code list_op_pending} = the entry (a waiter
     * armed it already for its sleep), CAS, link. No operation lock, and no check of this process's lease: if
     * this thread dies after its CAS, the kernel marks the word as this very thread exits.
     */
    private int takeOverThread(Thread me, ThreadList t, int v, boolean waited, Owner o) {
        if (table.isClosing()) {
            throw closed();
        }
        boolean armed = t.pendingIs(entry);
        if (!armed) {
            t.setPending(entry);
        }
        int nv = t.tid | (v & FUTEX_WAITERS) | (waited ? FUTEX_WAITERS : 0);
        boolean taken;
        try {
            taken = INT.compareAndSet(segment, base + LOCK_OFFSET, v, nv);
        } catch (IllegalStateException unmapped) {
            taken = false;
        }
        if (!taken) {
            if (!armed) {
                t.clearPending();
            }
            if (table.isClosing()) {
                throw closed();
            }
            return BUSY;
        }
        return acquiredThread(me, t, v, o.leaseDead() ? o : null);
    }

    /** Whether this process's own lease word no longer names its lease thread (it exited: we are dying). */
    private boolean ownLeaseLost() {
        int s = table.slot();
        return s >= 0 && ((int) INT.getVolatile(segment, table.leaseOffset(s)) & (TID_MASK | FUTEX_OWNER_DIED)) != leaseTid;
    }

    private boolean finish(int r, int v, Owner o) {
        if (r == ACQUIRED) {
            return true;
        }
        if (r == NOT_RECOVERABLE) {
            throw new NotRecoverableException(guard.description() + " is not recoverable: a thread acquired it "
                    + "after an owner died and unlocked it without markConsistent(); remove and recreate it");
        }
        // Before telling of the death: the dead process's other threads stop (PROTOCOL §6.4 "Owner death").
        table.awaitDeadProcessesStopped();
        if (o != null && o.leaseDead()) {
            table.wakeLeaseWatchers(o.slot());
            throw new OwnerDiedException(this, o.tid(), o.pid(), false, guard.description()
                    + " acquired after its owner died: process " + o.pid() + " (lease TID " + o.tid()
                    + ", process-table slot " + o.slot() + ") lost its lease while holding it; the lock was "
                    + "taken in the instant the process was killed, so the kernel had not marked it. This thread "
                    + "now holds the mutex: repair the data it protects, call markConsistent(), then unlock()");
        }
        boolean kernel = (v & FUTEX_OWNER_DIED) != 0;
        throw new OwnerDiedException(this, 0, 0, kernel, guard.description() + " acquired after its owner died ("
                + (kernel ? "the kernel marked the lock word FUTEX_OWNER_DIED"
                : "__owner was INCONSISTENT although the lock word showed no owner death: treated as one")
                + "). This thread now holds the mutex: repair the data it protects, call markConsistent(), then "
                + "unlock()");
    }

    private boolean lockSlow(Thread me, boolean interruptible, boolean timed, long deadline, boolean throwOnTimeout)
            throws InterruptedException, TimeoutException {
        if (table.isClosing()) {
            throw closed();
        }
        guard.check();
        String bad = checkImage();
        if (bad != null) {
            throw corrupt(bad.substring(0, bad.indexOf(':')), bad.substring(bad.indexOf(':') + 2));
        }
        WaitNode node = WaitNode.enter(guard);
        boolean waited = false;
        boolean settled = false;
        Spinner sp = spinner;
        long waitStart = 0;
        long pending = WaiterPending.NOT_ARMED;
        try {
            for (;;) {
                if (table.isClosing()) {
                    throw closed();
                }
                int v = (int) INT.getVolatile(segment, base + LOCK_OFFSET);
                Owner o = owner(me, v);
                if (o.takeable()) {
                    int r = takeOver(me, v, waited, o);
                    if (r == BUSY) {
                        continue;
                    }
                    settled = true;
                    if (waitStart != 0 && waited) { // a spin that caught the release adapted itself
                        sp.waited(waitStart);
                    }
                    return finish(r, v, o);
                }
                if (waitStart == 0 && sp.enabled()) { // spin once, before announcing a waiter (SpinPolicy)
                    waitStart = sp.spin(segment, base + LOCK_OFFSET, v, guard, interruptible, timed, deadline);
                    continue;
                }
                if ((v & FUTEX_WAITERS) == 0) {
                    if (!INT.compareAndSet(segment, base + LOCK_OFFSET, v, v | FUTEX_WAITERS)) {
                        continue;
                    }
                    v |= FUTEX_WAITERS;
                }
                long leaseOffset = -1;
                int lease = 0;
                if (o.slot() >= 0 && o.tid() != leaseTid) {
                    // Also watch the owner's lease: at its death the kernel marks and wakes it even when it
                    // never got to mark this word (PROTOCOL §6.4 (b)).
                    leaseOffset = table.leaseOffset(o.slot());
                    lease = (int) INT.getVolatile(segment, leaseOffset);
                    if ((lease & TID_MASK) != o.tid()) {
                        continue;
                    }
                    if ((lease & FUTEX_WAITERS) == 0) {
                        if (!INT.compareAndSet(segment, leaseOffset, lease, lease | FUTEX_WAITERS)) {
                            continue;
                        }
                        lease |= FUTEX_WAITERS;
                    }
                }
                if (!waited) {
                    // Keep this thread's own list_op_pending on m until the wait ends: if it dies (even after
                    // its wake-up was consumed), the kernel wakes another waiter (PROTOCOL §6.4 "Waiter death").
                    pending = WaiterPending.arm(wordAddress + (LIST_NEXT_OFFSET - LOCK_OFFSET));
                }
                waited = true;
                boolean woke = node.await(segment, base + LOCK_OFFSET, v, leaseOffset, lease, timed, deadline, interruptible);
                if (TestHooks.ARMED) {
                    TestHooks.at(TestHooks.LOCK_WOKEN, leaseTid);
                }
                if (!woke) {
                    if (throwOnTimeout) {
                        throw new TimeoutException(guard.description() + " not acquired within the timeout: held by "
                                + describeHolder((int) INT.getVolatile(segment, base + LOCK_OFFSET)));
                    }
                    return false;
                }
            }
        } finally {
            if (!settled && waited) {
                passOnWake();
            }
            WaiterPending.disarm(pending);
            node.exit();
        }
    }

    /**
     * A waiter that gives up may have consumed the one wake-up an unlock (or the kernel, at an owner's death)
     * gave: if the mutex is free or owner-died, wake one other waiter (PROTOCOL §6.4).
     */
    private void passOnWake() {
        try {
            if (guard.removed() || guard.scope().isClosing()) {
                return;
            }
            int v = (int) INT.getVolatile(segment, base + LOCK_OFFSET);
            if ((v & TID_MASK) == 0) {
                Futex.wake(wordAddress, 1, true);
            }
        } catch (IllegalStateException closedMeanwhile) {
            // unmapped: nobody of ours can be waiting
        }
    }

    /**
     * Sets how this handle's blocking lock methods spin before they sleep (see {@link SpinPolicy}): a waiter
     * re-reads the lock word for up to the policy's budget before it sets the waiters bit and sleeps. Affects
     * this handle only, and lock calls that start after this call.
     *
     * @param policy {@link SpinPolicy#NONE} (the default) to never spin
     */
    public void setSpinPolicy(SpinPolicy policy) {
        java.util.Objects.requireNonNull(policy, "policy");
        spinPolicy = policy;
        spinner.configure(policy.maxSpinNanos(), policy.isAdaptive());
    }

    /** This handle's spin policy ({@link SpinPolicy#NONE} unless {@link #setSpinPolicy(SpinPolicy) set}). */
    public SpinPolicy getSpinPolicy() {
        return spinPolicy;
    }

    // ------------------------------------------------------------------ unlock

    /**
     * Releases the mutex and wakes one waiting thread (of any process) if there is one. If the mutex was
     * acquired with {@link OwnerDiedException} and {@link #markConsistent()} was not called, it becomes
     * permanently unrecoverable.
     *
     * @throws IllegalMonitorStateException if the current thread does not hold the mutex
     * @throws RegionClosedException if this process closed the region while the thread held the mutex (it
     *                               was then released as owner-died)
     * @throws ObjectRemovedException if the mutex was removed while held (the word is left alone)
     */
    @Override
    public void unlock() {
        Thread me = Thread.currentThread();
        RobustEntry e = entry;
        if (e.holderId != me.threadId()) {
            throw notHeld(me);
        }
        int tid = e.holderTid;
        if (tid != leaseTid) {
            unlockThread(me, e, tid);
            return;
        }
        RobustList l = list;
        String linkProblem = null;
        int old;
        l.lockOp(e);
        try {
            if (TestHooks.ARMED) {
                TestHooks.at(TestHooks.UNLOCK_PENDING, leaseTid);
            }
            if (table.isClosing()) {
                // close() released it as owner-died (or is about to, once it gets the operation lock)
                throw closed();
            }
            if (removedRaw()) {
                l.unlink(e, false);
                e.holderId = 0;
                e.inconsistent = false;
                throw guardRemoved();
            }
            if (!l.unlink(e, true)) {
                linkProblem = l.mismatch();
            }
            e.holderId = 0;
            if (TestHooks.ARMED) {
                TestHooks.at(TestHooks.UNLOCK_DEQUEUED, leaseTid);
            }
            if (e.inconsistent) {
                e.inconsistent = false;
                RAW.set(I32, ownerAddress, NOTRECOVERABLE);
            }
            old = releaseWord(leaseTid);
            if (TestHooks.ARMED) {
                TestHooks.at(TestHooks.UNLOCK_RELEASED, leaseTid);
            }
        } finally {
            l.unlockOp();
        }
        if (linkProblem != null || (old & TID_MASK) != leaseTid) {
            throw unlockCorruption(old, linkProblem, leaseTid);
        }
    }

    /**
     * Unlock of a word held through the calling thread's own list (PROTOCOL §6.4 "Thread list"):
     * {@code list_op_pending} = the entry, unlink, {@code NOTRECOVERABLE} if due, CAS TID → 0 (release) and a
     * wake-up if {@code FUTEX_WAITERS} was set, {@code list_op_pending} = 0. One atomic when nobody waits.
     */
    private void unlockThread(Thread me, RobustEntry e, int tid) {
        ThreadList t = lastList;
        if (t == null || t.thread != me) {
            t = ThreadList.current(me);
        }
        if (t == null || t.tid != tid) {
            throw new IllegalStateException(guard.description() + ": held with TID " + tid + " but this thread's "
                    + "list is " + t);
        }
        String linkProblem = null;
        int old;
        t.setPending(e);
        try {
            if (TestHooks.ARMED) {
                TestHooks.at(TestHooks.UNLOCK_PENDING, tid);
            }
            if (removedRaw()) {
                t.unlink(e, false);
                e.holderId = 0;
                e.inconsistent = false;
                throw guardRemoved();
            }
            if (!t.unlink(e, true)) {
                linkProblem = t.mismatch();
            }
            e.holderId = 0;
            if (TestHooks.ARMED) {
                TestHooks.at(TestHooks.UNLOCK_DEQUEUED, tid);
            }
            if (e.inconsistent) {
                e.inconsistent = false;
                RAW.set(I32, ownerAddress, NOTRECOVERABLE);
            }
            old = releaseWord(tid);
            if (TestHooks.ARMED) {
                TestHooks.at(TestHooks.UNLOCK_RELEASED, tid);
            }
        } finally {
            t.clearPending();
        }
        if ((old & TID_MASK) != tid && table.isClosing()) {
            throw closed(); // close() marked it owner-died while this thread held it
        }
        if (linkProblem != null || (old & TID_MASK) != tid) {
            throw unlockCorruption(old, linkProblem, tid);
        }
    }

    private RuntimeException notHeld(Thread me) {
        if (table.isClosing()) {
            return closed();
        }
        return new IllegalMonitorStateException(guard.description() + " is not held by the current thread (" + me
                + ")");
    }

    private RuntimeException unlockCorruption(int old, String linkProblem, int tid) {
        if ((old & TID_MASK) != tid) {
            return corrupt("__lock", String.format("was 0x%08x while this thread held the mutex (owner TID %d): "
                    + "another process overwrote it; the mutex was released", old, tid));
        }
        return corrupt("__list", linkProblem + " (another process overwrote the holder's list pointer; this "
                + "process repaired its robust list from its own copy and released the mutex)");
    }

    private ObjectRemovedException guardRemoved() {
        return new ObjectRemovedException(guard.description() + " was removed from its region while this thread "
                + "held it; the thread no longer holds it, and its memory was left alone");
    }

    private RegionClosedException closed() {
        return new RegionClosedException(guard.description() + ": the region was closed by this process; mutexes "
                + "it held were released as if the process had died");
    }

    // ------------------------------------------------------------------ recovery

    /**
     * Marks the mutex consistent again after an {@link OwnerDiedException}: the caller repaired the data it
     * protects (glibc's {@code pthread_mutex_consistent}). Only the holder may call it.
     *
     * @throws IllegalMonitorStateException if the current thread does not hold the mutex
     * @throws IllegalStateException if the mutex is not in the owner-died state
     */
    public void markConsistent() {
        guard.check();
        if (entry.holderId != Thread.currentThread().threadId()) {
            throw new IllegalMonitorStateException(guard.description() + " is not held by the current thread");
        }
        if (segment.get(I32, base + OWNER_OFFSET) != INCONSISTENT) {
            throw new IllegalStateException(guard.description() + " is consistent: markConsistent() is only for a "
                    + "holder that acquired it with OwnerDiedException");
        }
        segment.set(I32, base + OWNER_OFFSET, 0);
        entry.inconsistent = false;
    }

    /**
     * False while the mutex is held after an owner death and not yet {@linkplain #markConsistent() marked
     * consistent}, and for ever once it is not recoverable.
     */
    public boolean isConsistent() {
        guard.check();
        int owner = segment.get(I32, base + OWNER_OFFSET);
        return owner != INCONSISTENT && owner != NOTRECOVERABLE;
    }

    /** Whether the mutex is permanently unusable ({@link NotRecoverableException}). */
    public boolean isNotRecoverable() {
        guard.check();
        return segment.get(I32, base + OWNER_OFFSET) == NOTRECOVERABLE;
    }

    // ------------------------------------------------------------------ introspection

    /** Whether some thread of some process holds the mutex (a snapshot). */
    public boolean isLocked() {
        guard.check();
        return ((int) INT.getVolatile(segment, base + LOCK_OFFSET) & TID_MASK) != 0;
    }

    /** Whether the current thread holds the mutex. */
    public boolean isHeldByCurrentThread() {
        return entry.holderId == Thread.currentThread().threadId() && !table.isClosing();
    }

    /**
     * Whether threads (of any process) may be waiting: the word's {@code FUTEX_WAITERS} bit. An estimate, as
     * with glibc: the bit stays set until the next unlock even if the waiters gave up.
     */
    public boolean hasQueuedThreads() {
        guard.check();
        return ((int) INT.getVolatile(segment, base + LOCK_OFFSET) & FUTEX_WAITERS) != 0;
    }

    /**
     * The owner TID in the lock word, or 0: the holding thread's TID (a C thread, or a shmsync platform thread
     * holding it on its own robust list), or a shmsync process's lease TID (virtual threads).
     */
    public int holderTid() {
        guard.check();
        return (int) INT.getVolatile(segment, base + LOCK_OFFSET) & TID_MASK;
    }

    /** The object's generation in its region's directory. */
    public int generation() {
        return guard.generation();
    }

    /** Not supported. */
    @Override
    public Condition newCondition() {
        throw new UnsupportedOperationException("shmsync mutexes have no condition variables yet");
    }

    /** Bit 29 of an owner ID: a kernel thread of the module ({@code SHMSYNC_KERNEL_OWNER}, PROTOCOL §6.4). */
    private static final int KERNEL_OWNER = 0x2000_0000;
    /** Linux's {@code PID_MAX_LIMIT} on 64-bit: no TID reaches it, so {@code KERNEL_OWNER | TID} is unambiguous. */
    private static final int PID_MAX_LIMIT = 1 << 22;

    private String describeHolder(int v) {
        int tid = v & TID_MASK;
        if ((v & FUTEX_OWNER_DIED) != 0) {
            return "nobody (the owner died; the next locker recovers it)";
        }
        if (tid == 0) {
            return "nobody";
        }
        if (tid == leaseTid) {
            long h = localHolder();
            return "a thread of this process (lease TID " + tid + ", Java thread id " + h + ")";
        }
        if (ThreadList.isOurs(tid)) {
            return "a platform thread of this process (TID " + tid + ", holding it on its own robust list)";
        }
        if ((tid & KERNEL_OWNER) != 0 && (tid & ~KERNEL_OWNER) < PID_MAX_LIMIT) {
            return "kernel thread " + (tid & ~KERNEL_OWNER) + " (owner ID 0x" + Integer.toHexString(tid)
                    + ", a thread of the shmsync.ko module: PROTOCOL §5/§6.4)";
        }
        int s = table.slotOf(tid);
        if (s < 0) {
            return "TID " + tid + ", which is not the lease of any process attached to the region: a thread "
                    + "holding it on its own robust list — a C program's thread or a platform thread of another "
                    + "shmsync process (the kernel reports its death) — or a process that is gone";
        }
        return "lease TID " + tid + " of process " + table.pidOf(s) + " (process-table slot " + s + ", "
                + (table.leaseLost(s, tid) ? "dead" : "alive") + ")";
    }

    @Override
    public String toString() {
        String state;
        try {
            int v = (int) INT.getVolatile(segment, base + LOCK_OFFSET);
            int owner = segment.get(I32, base + OWNER_OFFSET);
            state = ((v & TID_MASK) == 0 && (v & FUTEX_OWNER_DIED) == 0 ? "unlocked" : "locked by " + describeHolder(v))
                    + ((v & FUTEX_WAITERS) != 0 ? ", waiters" : "")
                    + (owner == INCONSISTENT ? ", inconsistent" : owner == NOTRECOVERABLE ? ", not recoverable" : "")
                    + (guard.removed() ? ", REMOVED" : "");
        } catch (IllegalStateException closed) {
            state = "closed";
        }
        return "Mutex[" + guard.description() + ", " + state + "]";
    }
}
