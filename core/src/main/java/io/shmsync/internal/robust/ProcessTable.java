package io.shmsync.internal.robust;

import io.shmsync.ObjectType;
import io.shmsync.ProcessInfo;
import io.shmsync.ProcessState;
import io.shmsync.RegionClosedException;
import io.shmsync.RegionFullException;
import io.shmsync.internal.futex.Futex;
import io.shmsync.internal.posix.Posix;
import io.shmsync.internal.region.Directory;
import io.shmsync.internal.sync.MutexLayout;
import io.shmsync.internal.sync.SemaphoreLayout;
import io.shmsync.internal.sync.RwSemaphoreRecovery;
import io.shmsync.internal.sync.UndoSemaphoreLayout;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;

import static io.shmsync.internal.robust.ProcessSlotLayout.*;
import static io.shmsync.internal.sync.MutexLayout.FUTEX_OWNER_DIED;
import static io.shmsync.internal.sync.MutexLayout.FUTEX_WAITERS;
import static io.shmsync.internal.sync.MutexLayout.TID_MASK;

/**
 * A region's process table (docs/PROTOCOL.md §6.2) and this process's robust state for the region: its slot,
 * the local entries of the mutexes it uses, and the close protocol.
 *
 * <p>A slot is claimed by a CAS of its lease word from 0 to this process's lease TID, with
 * {@code list_op_pending} covering the CAS, and then linked on the lease thread's robust list: from that
 * instant the kernel marks the lease {@code FUTEX_OWNER_DIED} when the process dies. A dead slot is
 * reclaimed exactly once: a cleaner takes its lease word like a robust mutex whose owner died (CAS from the
 * marked value to its own TID, linked on its own robust list, so a cleaner that dies hands the work on),
 * repairs what the dead process left, and frees the slot.
 */
public final class ProcessTable {
    private static final VarHandle INT = ValueLayout.JAVA_INT.varHandle();
    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT;
    private static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG;

    private final MemorySegment segment;
    private final Directory directory;
    private final long tableOffset;
    private final int capacity;
    private final String regionName;
    private final long creatorNamespace;
    private final long myNamespace;
    private final ConcurrentHashMap<Long, RobustEntry> mutexEntries = new ConcurrentHashMap<>();

    private volatile boolean closing;
    private volatile RobustList list;
    private int slot = -1;
    private RobustEntry slotEntry;

    private ProcessTable(Directory directory, String regionName, long myNamespace) {
        this.segment = directory.mapping().segment();
        this.directory = directory;
        this.tableOffset = directory.processTableOffset();
        this.capacity = directory.processTableCapacity();
        this.regionName = regionName;
        this.creatorNamespace = directory.creatorPidNamespace();
        this.myNamespace = myNamespace;
        directory.mapping().beforeUnmap(this::afterAccessesStopped);
    }

    /** The table of a region, or null if the region has none (capacity 0). */
    public static ProcessTable of(Directory directory, String regionName, long myNamespace) {
        return directory.processTableCapacity() == 0 ? null : new ProcessTable(directory, regionName, myNamespace);
    }

    public int capacity() {
        return capacity;
    }

    public boolean isClosing() {
        return closing;
    }

    /** Whether {@code other} maps the same region file as this table (another {@code Region} object of it). */
    boolean sameFile(ProcessTable other) {
        if (other == this) {
            return true;
        }
        var a = directory.mapping().stat();
        var b = other.directory.mapping().stat();
        return a != null && b != null && a.device() == b.device() && a.inode() == b.inode();
    }

    /** Offset of slot {@code i}'s lease word from the start of the region. */
    public long leaseOffset(int i) {
        return tableOffset + (long) i * LENGTH;
    }

    /** This process's slot, or -1 if it has not attached. */
    public int slot() {
        return slot;
    }

    // ------------------------------------------------------------------ attach

    /**
     * Attaches this process to the table (once): checks the PID namespace, starts the lease thread, reclaims
     * dead slots, claims a free one.
     *
     * @return the robust list every robust word of this region is linked on
     * @throws IllegalStateException if this process is in another PID namespace than the region's creator
     * @throws RegionFullException if no slot is free
     */
    public RobustList attach() {
        RobustList l = list;
        if (l != null) {
            return l;
        }
        attachCounting();
        return list;
    }

    /** Attaches if not yet attached; returns the number of dead slots reclaimed by this call. */
    private synchronized int attachCounting() {
        if (list != null) {
            return 0;
        }
        if (closing) {
            throw new RegionClosedException("region " + regionName + " is closed");
        }
        checkNamespace();
        RobustList rl = RobustList.get();
        int n = reclaimDead(rl);
        claim(rl);
        list = rl;
        return n;
    }

    private void checkNamespace() {
        if (creatorNamespace == 0 || myNamespace == 0 || creatorNamespace != myNamespace) {
            throw new IllegalStateException("region " + regionName + " was created in PID namespace "
                    + ns(creatorNamespace) + " and this process is in " + ns(myNamespace) + ": robust objects "
                    + "(mutexes, process leases) store thread IDs, which the kernel compares inside one PID "
                    + "namespace only, so they cannot be used from here (plain semaphores can)");
        }
    }

    private static String ns(long inode) {
        return inode == 0 ? "(unknown: /proc/self/ns/pid unreadable)" : "pid:[" + inode + "]";
    }

    private void claim(RobustList rl) {
        int tid = rl.tid();
        for (int i = 0; i < capacity; i++) {
            long lo = leaseOffset(i);
            if ((int) INT.getVolatile(segment, lo) != 0) {
                continue;
            }
            RobustEntry se = new RobustEntry(segment, lo, true, this, 0);
            rl.lockOp(se);
            try {
                rl.checkRoom();
                if (!INT.compareAndSet(segment, lo, 0, tid)) {
                    continue;
                }
                TestHooks.at(TestHooks.ATTACH_CAS, tid);
                TestHooks.at(TestHooks.ATTACH_CAS_UNLISTED, tid, rl::dropPendingForTest);
                rl.link(se);
                zeroAdjustments(i); // a slot never inherits a former occupant's undo adjustments
                zeroRwCounts(i);
                segment.set(I32, lo + GENERATION_OFFSET, segment.get(I32, lo + GENERATION_OFFSET) + 1);
                segment.set(I32, lo + PID_OFFSET, Posix.getpid());
                segment.set(I64, lo + START_TIME_OFFSET, startTime("self"));
                segment.set(I64, lo + PID_NAMESPACE_OFFSET, myNamespace);
                segment.set(I32, lo + LEASE_TID_OFFSET, tid);
                segment.set(I32, lo + RESERVED_OFFSET, 0);
                Instant now = Instant.now();
                segment.set(I64, lo + ATTACHED_AT_NS_OFFSET, now.getEpochSecond() * 1_000_000_000L + now.getNano());
                INT.setRelease(segment, lo + STATE_OFFSET, STATE_LIVE);
                slot = i;
                slotEntry = se;
                return;
            } finally {
                rl.unlockOp();
            }
        }
        throw new RegionFullException("the process table of region " + regionName + " is full: all " + capacity
                + " slots are held by live processes (dead ones were reclaimed first)");
    }

    /** The local entry of the mutex at {@code objectOffset} with directory generation {@code generation}. */
    public RobustEntry mutexEntry(long objectOffset, int generation) {
        return mutexEntries.compute(objectOffset, (k, old) -> old != null && old.generation == generation ? old
                : new RobustEntry(segment, objectOffset, false, this, generation));
    }

    // ------------------------------------------------------------------ owners

    /**
     * The slot whose process has lease TID {@code tid} (alive, dead or being cleaned), or -1 if no attached
     * process has it (a C program's thread, or a process gone and reclaimed).
     */
    public int slotOf(int tid) {
        if (tid == 0) {
            return -1;
        }
        int dead = -1;
        for (int i = 0; i < capacity; i++) {
            long lo = leaseOffset(i);
            if (segment.get(I32, lo + LEASE_TID_OFFSET) != tid) {
                continue;
            }
            int lw = (int) INT.getVolatile(segment, lo);
            if ((lw & TID_MASK) == tid) {
                return i; // its own live lease
            }
            if (lw != 0 || (int) INT.getVolatile(segment, lo + STATE_OFFSET) != STATE_FREE) {
                dead = i;
            }
        }
        return dead;
    }

    /** Whether the process of slot {@code i}, whose lease TID was {@code tid}, no longer holds its lease. */
    public boolean leaseLost(int i, int tid) {
        return ((int) INT.getVolatile(segment, leaseOffset(i)) & TID_MASK) != tid;
    }

    /** The PID recorded in slot {@code i}. */
    public int pidOf(int i) {
        return segment.get(I32, leaseOffset(i) + PID_OFFSET);
    }

    /** Wakes every thread (of any process) watching slot {@code i}'s lease word: the kernel woke only one. */
    public void wakeLeaseWatchers(int i) {
        Futex.wake(segment.address() + leaseOffset(i), Integer.MAX_VALUE, true);
    }

    /**
     * Marks the word at {@code offset} {@code FUTEX_OWNER_DIED} if its owner TID is {@code tid}, keeping
     * {@code FUTEX_WAITERS} and waking one waiter, exactly as the kernel's {@code handle_futex_death} does.
     *
     * @return true if this call marked it
     */
    boolean markOwnerDied(long offset, int tid) {
        for (;;) {
            int w = (int) INT.getVolatile(segment, offset);
            if ((w & TID_MASK) != tid || tid == 0) {
                return false;
            }
            if (INT.compareAndSet(segment, offset, w, (w & FUTEX_WAITERS) | FUTEX_OWNER_DIED)) {
                if ((w & FUTEX_WAITERS) != 0) {
                    Futex.wake(segment.address() + offset, 1, true);
                }
                return true;
            }
        }
    }

    // ------------------------------------------------------------------ reclamation

    /**
     * Reclaims every dead slot this call can claim (each is reclaimed by exactly one cleaner).
     *
     * @return the number of slots this call reclaimed
     */
    public int reclaimDead() {
        int n = attachCounting();
        return n + reclaimDead(list);
    }

    private int reclaimDead(RobustList rl) {
        int n = 0;
        boolean procOk = procIsOurs();
        for (int i = 0; i < capacity; i++) {
            if (i == slot) {
                continue;
            }
            long lo = leaseOffset(i);
            int lw = (int) INT.getVolatile(segment, lo);
            if (lw == 0) {
                continue;
            }
            if (procOk && stillRunning(segment.get(I32, lo + PID_OFFSET), segment.get(I64, lo + START_TIME_OFFSET))) {
                // Marked dead, or not yet, but some thread of the process still runs (it is being killed): a
                // sibling thread could still change a word or an adjustment. Clean once it has exited.
                continue;
            }
            if ((lw & FUTEX_OWNER_DIED) == 0) {
                // Alive by its lease. A process killed in the instant between its lease CAS and the kernel's
                // walk leaves a lease nobody marks (PROTOCOL §6.4 (b)); tgkill proves it dead, so mark it.
                int tid = segment.get(I32, lo + LEASE_TID_OFFSET);
                int state = (int) INT.getVolatile(segment, lo + STATE_OFFSET);
                boolean dead;
                if (state == STATE_LIVE && (lw & TID_MASK) == tid) {
                    dead = procSaysDead(segment.get(I32, lo + PID_OFFSET), segment.get(I64, lo + START_TIME_OFFSET), tid);
                } else if (state == STATE_FREE) {
                    // Claimed, fields not written yet: alive while a task with the lease TID exists.
                    dead = RobustSyscalls.kill0(lw & TID_MASK) == -RobustSyscalls.ESRCH;
                } else {
                    dead = false; // CLEANING by a live cleaner (its own death is the kernel's to mark)
                }
                if (!dead || !markOwnerDied(lo, lw & TID_MASK)) {
                    continue;
                }
                wakeLeaseWatchers(i);
                lw = (int) INT.getVolatile(segment, lo);
                if ((lw & FUTEX_OWNER_DIED) == 0) {
                    continue;
                }
            }
            if (reclaimSlot(rl, i, lw)) {
                n++;
            }
        }
        return n;
    }

    private boolean reclaimSlot(RobustList rl, int i, int lw) {
        long lo = leaseOffset(i);
        RobustEntry se = new RobustEntry(segment, lo, false, this, 0);
        rl.lockOp(se);
        try {
            if (closing) {
                return false;
            }
            rl.checkRoom();
            if (!INT.compareAndSet(segment, lo, lw, rl.tid() | (lw & FUTEX_WAITERS))) {
                return false; // another cleaner won, or it changed
            }
            rl.link(se);
            INT.setRelease(segment, lo + STATE_OFFSET, STATE_CLEANING);
        } finally {
            rl.unlockOp();
        }
        wakeLeaseWatchers(i);
        TestHooks.at(TestHooks.CLEAN_CLAIMED, rl.tid());
        int deadTid = segment.get(I32, lo + LEASE_TID_OFFSET);
        repairAbandonedMutexes(deadTid);
        undoAdjustments(i);
        undoRwSemaphores(i, deadTid, true);
        rl.lockOp(se);
        try {
            if (closing || !se.linked) {
                return false; // the region was closed meanwhile: close() released the slot as dead again
            }
            rl.unlink(se, true);
            clearSlot(lo);
            int old = (int) INT.getAndSetRelease(segment, lo, 0);
            if ((old & FUTEX_WAITERS) != 0) {
                wakeLeaseWatchers(i);
            }
        } finally {
            rl.unlockOp();
        }
        return true;
    }

    /**
     * Marks owner-died every mutex word that still names the dead process's lease TID: words it locked in
     * the instant the kernel was walking its list (PROTOCOL §6.4 (b)). Idempotent.
     */
    private void repairAbandonedMutexes(int deadTid) {
        if (deadTid == 0) {
            return;
        }
        for (int i = 0; i < capacity; i++) {
            long lo = leaseOffset(i);
            if (((int) INT.getVolatile(segment, lo) & TID_MASK) == deadTid
                    && segment.get(I32, lo + LEASE_TID_OFFSET) == deadTid) {
                return; // the TID belongs to a live process again: leave its words alone
            }
        }
        for (Directory.Entry e : directory.entriesOfType(ObjectType.MUTEX)) {
            markOwnerDied(e.offset() + MutexLayout.LOCK_OFFSET, deadTid);
        }
    }

    // ------------------------------------------------------------------ undo semaphores (PROTOCOL §6.8)

    private static final VarHandle LONG = ValueLayout.JAVA_LONG.varHandle();
    private static final java.util.concurrent.atomic.AtomicLong UNDONE = new java.util.concurrent.atomic.AtomicLong();

    /** Permits this process gave back or took back for dead or departed processes (diagnostic). */
    public static long permitsUndone() {
        return UNDONE.get();
    }

    /** Offset of slot {@code slot}'s adjustment in the undo semaphore at {@code objectOffset}, or -1 if invalid. */
    private long adjustmentOffset(Directory.Entry e, int slot) {
        long o = e.offset();
        if (segment.get(I32, o + UndoSemaphoreLayout.UNDO_CAPACITY_OFFSET) != capacity
                || e.size() < UndoSemaphoreLayout.objectSize(capacity)) {
            return -1; // corrupt: leave it alone (the handle refuses it too)
        }
        return o + UndoSemaphoreLayout.LENGTH + (long) slot * UndoSemaphoreLayout.ADJUSTMENT_SIZE;
    }

    private void zeroAdjustments(int slot) {
        for (Directory.Entry e : directory.entriesOfType(ObjectType.UNDO_SEMAPHORE)) {
            long a = adjustmentOffset(e, slot);
            if (a >= 0) {
                INT.setVolatile(segment, a, 0);
            }
        }
    }

    /**
     * Applies slot {@code slot}'s adjustment of every undo semaphore back: takes it (atomic exchange with 0,
     * so it is applied at most once), then releases that many permits, or takes back a negative one as far
     * as permits are available. A cleaner killed between the two loses that adjustment, never doubles it.
     */
    private void undoAdjustments(int slot) {
        for (Directory.Entry e : directory.entriesOfType(ObjectType.UNDO_SEMAPHORE)) {
            long a = adjustmentOffset(e, slot);
            if (a < 0) {
                continue;
            }
            int adj = (int) INT.getAndSet(segment, a, 0);
            if (adj != 0) {
                UNDONE.addAndGet(Math.abs(applyToPermits(e.offset() + SemaphoreLayout.DATA_OFFSET, adj)));
            }
        }
    }

    /** Adds {@code delta} permits (clamped to 0 … SEM_VALUE_MAX), waking waiters; returns what was applied. */
    private int applyToPermits(long data, int delta) {
        for (;;) {
            long d = (long) LONG.getVolatile(segment, data);
            long value = d & SemaphoreLayout.VALUE_MASK;
            long applied = delta > 0 ? Math.min(delta, SemaphoreLayout.SEM_VALUE_MAX - value) : -Math.min(-(long) delta, value);
            if (LONG.compareAndSet(segment, data, d, d + applied)) {
                long waiters = d >>> SemaphoreLayout.NWAITERS_SHIFT;
                if (applied > 0 && waiters > 0) {
                    Futex.wake(segment.address() + data, (int) Math.min(waiters, applied), true);
                }
                return (int) applied;
            }
        }
    }

    // ------------------------------------------------------------------ robust read-write semaphores (§7.6)

    private void zeroRwCounts(int slot) {
        for (Directory.Entry e : directory.entriesOfType(ObjectType.RWSEM)) {
            RwSemaphoreRecovery.zero(segment, e.offset(), e.size(), capacity, slot);
        }
    }

    /** Gives back slot {@code slot}'s holds (and registrations) of every robust read-write semaphore. */
    private void undoRwSemaphores(int slot, int leaseTid, boolean registrations) {
        for (Directory.Entry e : directory.entriesOfType(ObjectType.RWSEM)) {
            RwSemaphoreRecovery.undo(segment, e.offset(), e.size(), capacity, slot, leaseTid, registrations);
        }
    }

    private void clearSlot(long lo) {
        segment.set(I32, lo + PID_OFFSET, 0);
        segment.set(I64, lo + START_TIME_OFFSET, 0L);
        segment.set(I64, lo + PID_NAMESPACE_OFFSET, 0L);
        segment.set(I32, lo + LEASE_TID_OFFSET, 0);
        segment.set(I32, lo + RESERVED_OFFSET, 0);
        segment.set(I64, lo + ATTACHED_AT_NS_OFFSET, 0L);
        INT.setRelease(segment, lo + STATE_OFFSET, STATE_FREE);
    }

    // ------------------------------------------------------------------ listing

    /** A snapshot of the occupied slots. */
    public List<ProcessInfo> processes() {
        List<ProcessInfo> out = new ArrayList<>();
        for (int i = 0; i < capacity; i++) {
            long lo = leaseOffset(i);
            int lw = (int) INT.getVolatile(segment, lo);
            int state = (int) INT.getVolatile(segment, lo + STATE_OFFSET);
            if (lw == 0 && state == STATE_FREE) {
                continue;
            }
            int tid = segment.get(I32, lo + LEASE_TID_OFFSET);
            ProcessState ps;
            if ((lw & FUTEX_OWNER_DIED) != 0 || lw == 0) {
                ps = ProcessState.DEAD;
            } else if (state == STATE_CLEANING) {
                ps = ProcessState.CLEANING;
            } else if (state == STATE_FREE) {
                ps = ProcessState.ATTACHING;
            } else {
                ps = ProcessState.ALIVE;
            }
            long at = segment.get(I64, lo + ATTACHED_AT_NS_OFFSET);
            out.add(new ProcessInfo(i, segment.get(I32, lo + PID_OFFSET), tid,
                    segment.get(I64, lo + PID_NAMESPACE_OFFSET), segment.get(I64, lo + START_TIME_OFFSET),
                    segment.get(I32, lo + GENERATION_OFFSET), ps,
                    Instant.ofEpochSecond(0, at), i == slot));
        }
        return out;
    }

    // ------------------------------------------------------------------ close

    /**
     * Before the region is unmapped: every robust word of this region that this process holds is unlinked
     * from the robust list and released as if the process had died (mutexes become owner-died, a slot being
     * cleaned goes back to dead), then the process's own slot is freed. After this no entry of the list
     * points into the mapping, so the kernel can never write into memory mapped there later (the hazard of
     * musl commit da8d0fc4). Operations on the region's mutexes fail from now on.
     */
    public synchronized void close() {
        closing = true;
        RobustList rl = list;
        if (rl == null) {
            return;
        }
        if (slotEntry != null && slotEntry.linked) {
            undoAdjustments(slot); // leaving the region gives back what this process holds, as its death would
            undoRwSemaphores(slot, rl.tid(), false); // its queued threads deregister as the close ends their waits
        }
        rl.lockOp();
        try {
            for (RobustEntry e : rl.entriesOf(this)) {
                if (e == slotEntry) {
                    continue;
                }
                rl.setPending(e);
                rl.unlink(e, true);
                e.holderId = 0;
                e.inconsistent = false;
                markOwnerDied(e.wordOffset, rl.tid());
            }
            if (slotEntry != null && slotEntry.linked) {
                rl.setPending(slotEntry);
                rl.unlink(slotEntry, true);
                long lo = slotEntry.wordOffset;
                clearSlot(lo);
                int old = (int) INT.getAndSetRelease(segment, lo, 0);
                if ((old & FUTEX_WAITERS) != 0) {
                    Futex.wake(segment.address() + lo, Integer.MAX_VALUE, true);
                }
            }
        } finally {
            rl.unlockOp();
        }
    }

    /**
     * The last step of closing the region, run by its mapping after the JVM's close handshake (no thread is
     * inside an access to the region's segment any more, and every later access fails) and before the unmap.
     * A mutex held by a platform thread of this process on its own robust list (PROTOCOL §6.3 "Thread lists")
     * is linked on that thread's list, which no other thread may edit: its word is marked owner-died and woken
     * as {@link #close()} does for the lease list's words, and the memory is then <em>left mapped</em> for the
     * rest of the process's life, so that the kernel, walking that thread's list, and the thread itself, when
     * it unlocks (and gets {@code RegionClosedException}), only ever touch this region's memory (PROTOCOL §6.5).
     *
     * @return whether the memory must stay mapped
     */
    private boolean afterAccessesStopped() {
        boolean keep = false;
        for (RobustEntry e : mutexEntries.values()) {
            for (;;) {
                int w = (int) INT.getVolatile(RobustList.RAW, e.wordAddress);
                if ((w & FUTEX_OWNER_DIED) != 0 || !ThreadList.holding(w & TID_MASK, e)) {
                    break; // free, dead, held by another process, or through another mapping of the file
                }
                keep = true; // that thread's list points here (and it unlocks by address)
                if (INT.compareAndSet(RobustList.RAW, e.wordAddress, w, (w & FUTEX_WAITERS) | FUTEX_OWNER_DIED)) {
                    if ((w & FUTEX_WAITERS) != 0) {
                        Futex.wake(e.wordAddress, 1, true);
                    }
                    break;
                }
            }
        }
        return keep;
    }

    // ------------------------------------------------------------------ /proc

    /** Whether /proc is the procfs of this process's PID namespace (so PIDs read there are ours). */
    private static boolean procIsOurs() {
        try {
            String stat = Files.readString(Path.of("/proc/self/stat"));
            return Integer.parseInt(stat.substring(0, stat.indexOf(' '))) == Posix.getpid();
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    /** Start time of process {@code pid} ("self" allowed) in clock ticks since boot, or -1. */
    static long startTime(String pid) {
        try {
            String stat = Files.readString(Path.of("/proc", pid, "stat"));
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            return Long.parseLong(f[19]); // field 22; f[0] is field 3
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    /** True if /proc shows the process (pid, start time) with a thread that has not exited (not a zombie). */
    private static boolean stillRunning(int pid, long startTime) {
        if (pid <= 0 || pid == Posix.getpid()) {
            return false;
        }
        long st = startTime(Integer.toString(pid));
        if (st < 0 || (startTime > 0 && st != startTime)) {
            return false;
        }
        try (var tasks = Files.newDirectoryStream(Path.of("/proc", Integer.toString(pid), "task"))) {
            for (Path t : tasks) {
                try {
                    String stat = Files.readString(t.resolve("stat"));
                    char state = stat.charAt(stat.lastIndexOf(')') + 2);
                    if (state != 'Z' && state != 'X') {
                        return true;
                    }
                } catch (IOException | RuntimeException gone) {
                    // the task exited meanwhile
                }
            }
            return false;
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    /**
     * True only if the process's lease thread provably no longer exists: {@code tgkill(pid, lease TID, 0)}
     * fails with {@code ESRCH} (the caller is in the region's PID namespace, §6.7), or /proc shows the PID
     * with another start time. A thread we may not signal ({@code EPERM}) exists.
     */
    private static boolean procSaysDead(int pid, long startTime, int leaseTid) {
        if (pid <= 0 || leaseTid <= 0) {
            return false;
        }
        if (RobustSyscalls.tgkill0(pid, leaseTid) == -RobustSyscalls.ESRCH) {
            return true;
        }
        long st = startTime(Integer.toString(pid));
        return st > 0 && startTime > 0 && st != startTime; // the PID was reused (and the TID too)
    }

    /**
     * Blocks until no process whose lease was lost can still run user code (PROTOCOL §6.4 "Owner death"): a
     * thread about to report an owner death calls it, so that the dead holder's sibling threads — still
     * running for a moment after the kernel walked the lease thread's list — cannot be inside the critical
     * section any more. Polls {@code /proc} (50 µs doubling to 10 ms); keeps an interrupt for the caller.
     * Returns at once when no slot is dead, the common case being one read per slot.
     */
    public void awaitDeadProcessesStopped() {
        long pause = 50_000;
        boolean interrupted = false;
        for (;;) {
            boolean running = false;
            for (int i = 0; i < capacity && !running; i++) {
                long lo = leaseOffset(i);
                int tid = segment.get(I32, lo + LEASE_TID_OFFSET);
                if (i == slot || tid == 0 || !leaseLost(i, tid)
                        || (int) INT.getVolatile(segment, lo + STATE_OFFSET) == STATE_FREE) {
                    continue;
                }
                running = DeadProcess.mayRunUserCode(segment.get(I32, lo + PID_OFFSET),
                        segment.get(I64, lo + START_TIME_OFFSET));
            }
            if (!running) {
                break;
            }
            java.util.concurrent.locks.LockSupport.parkNanos(pause);
            pause = Math.min(pause * 2, 10_000_000L);
            interrupted |= Thread.interrupted();
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public String toString() {
        return "ProcessTable[" + regionName + ", " + capacity + " slots, this process "
                + (slot < 0 ? "not attached" : "in slot " + slot) + "]";
    }
}
