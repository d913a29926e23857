package io.shmsync;

import io.shmsync.internal.futex.Futex;
import io.shmsync.internal.sync.Guard;
import io.shmsync.internal.sync.Spinner;
import io.shmsync.internal.sync.WaitNode;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.util.concurrent.TimeUnit;

import static io.shmsync.internal.sync.SemaphoreLayout.DATA_OFFSET;
import static io.shmsync.internal.sync.SemaphoreLayout.NWAITERS_SHIFT;
import static io.shmsync.internal.sync.SemaphoreLayout.ONE_WAITER;
import static io.shmsync.internal.sync.SemaphoreLayout.SEM_VALUE_MAX;
import static io.shmsync.internal.sync.SemaphoreLayout.VALUE_MASK;

/**
 * A counting semaphore in shared memory, usable from any number of threads in any number of processes,
 * and laid out exactly as glibc's {@code sem_t}: a C program's {@code sem_wait}/{@code sem_post} on the
 * same bytes interoperates (see {@link PosixSemaphore} for {@code sem_open} names).
 *
 * <p>Conceptually a semaphore holds a number of permits, as {@link java.util.concurrent.Semaphore} does:
 * {@link #acquire()} blocks until a permit is available and takes it, {@link #release()} adds one. The
 * permits are a word in shared memory, so a permit released by one process can be acquired by another.
 * The semaphore is not fair: a thread that finds a permit takes it, even if others (in any process) wait.
 * Permits are not owned: any thread in any process may release. A process that dies after acquiring
 * keeps its permits for ever (as with glibc); use a robust mutex when the holder's death must be handled.
 *
 * <pre>{@code
 * try (Region region = Region.openOrCreate("pool", 1 << 20)) {
 *     Semaphore slots = region.semaphore("slots", 4);   // created with 4 permits by the first process
 *     slots.acquire();
 *     try {
 *         useSharedResource();
 *     } finally {
 *         slots.release();
 *     }
 * }
 * }</pre>
 *
 * <p><b>Cost.</b> An uncontended acquire or release is one CAS on the word: no system call, no allocation,
 * no spinning. A release makes a {@code FUTEX_WAKE} system call only when a waiter is registered (and, right
 * after one that woke a thread, may yield its CPU once so that the woken thread can run). A thread
 * that must block registers as a waiter and sleeps in the kernel on the word (platform threads), or parks
 * while a shared multiplexer thread sleeps for it (virtual threads, which so never pin their carrier).
 *
 * <p><b>Memory consistency effects.</b> Actions in a thread (of any process) prior to calling a
 * {@code release} method happen-before actions following a successful acquire method in another thread
 * that took a permit it released (or a later one, as the permits form one release sequence).
 *
 * <p><b>Failures.</b> Every operation first checks that the object was not removed from its region
 * ({@link ObjectRemovedException}); operations after the region (or POSIX semaphore) was closed throw
 * {@link IllegalStateException}; threads blocked when this process closes it, or when any process
 * removes the object, wake up and throw {@link RegionClosedException} or {@link ObjectRemovedException}.
 * The protocol and its correctness argument are in docs/PROTOCOL.md §3.
 */
public sealed class Semaphore permits PosixSemaphore {
    private static final VarHandle DATA = ValueLayout.JAVA_LONG.varHandle();
    /** Timeouts beyond this are treated as "no timeout" (a deadline would overflow). */
    private static final long MAX_TIMEOUT_NANOS = Long.MAX_VALUE / 4;

    private final MemorySegment segment;
    private final long data;
    private final long futexAddress;
    private final Guard guard;
    /** The guard's sequence word and generation, kept here so the per-operation check is one load. */
    private final long sequence;
    private final int generation;
    private final Spinner spinner = new Spinner();
    /** Whether this handle's last release wake-up found a sleeper (racy by design, a hint: see wakeOne). */
    private boolean wokeSleeper;
    private volatile SpinPolicy spinPolicy = SpinPolicy.NONE;

    Semaphore(MemorySegment segment, long offset, Guard guard) {
        this.segment = segment;
        this.data = offset + DATA_OFFSET;
        this.futexAddress = segment.address() + data; // the low (value) half of data: little-endian only
        this.guard = guard;
        this.sequence = guard.sequenceOffset();
        this.generation = guard.generation();
    }

    /** Refuses to operate on a removed object: one plain load of the entry's sequence (PROTOCOL §1.4). */
    private void checkGeneration() {
        if (sequence >= 0 && segment.get(ValueLayout.JAVA_INT, sequence) != generation) {
            guard.check(); // throws ObjectRemovedException
        }
    }

    /** Writes the initial image of a semaphore (glibc's {@code __new_sem_open_init}) at {@code offset}. */
    static void writeImage(MemorySegment s, long offset, int permits) {
        checkInitial(permits);
        s.set(ValueLayout.JAVA_LONG, offset + DATA_OFFSET, permits);
        s.set(ValueLayout.JAVA_INT, offset + io.shmsync.internal.sync.SemaphoreLayout.PRIVATE_OFFSET,
                io.shmsync.internal.sync.SemaphoreLayout.FUTEX_SHARED);
        s.set(ValueLayout.JAVA_INT, offset + io.shmsync.internal.sync.SemaphoreLayout.PAD_OFFSET, 0);
    }

    static void checkInitial(int permits) {
        if (permits < 0) {
            throw new IllegalArgumentException("initial permits must be 0 to " + SEM_VALUE_MAX + ", got " + permits);
        }
    }

    // ------------------------------------------------------------------ acquire

    /**
     * Acquires a permit, blocking until one is available or the thread is interrupted.
     *
     * @throws InterruptedException if the current thread is interrupted on entry or while waiting; its
     *                              interrupted status is cleared, it holds no permit, and it is no longer
     *                              counted as a waiter
     * @throws ObjectRemovedException if the semaphore is (or gets) removed from its region
     * @throws RegionClosedException if this process closes the region while the thread waits
     */
    public void acquire() throws InterruptedException {
        if (Thread.interrupted()) {
            throw new InterruptedException();
        }
        checkGeneration();
        if (!tryTake()) {
            acquireSlow(true, false, 0L);
        }
    }

    /**
     * Acquires a permit, blocking until one is available. If the thread is interrupted while waiting it
     * keeps waiting; its interrupted status is set again when the method returns.
     *
     * @throws ObjectRemovedException if the semaphore is (or gets) removed from its region
     * @throws RegionClosedException if this process closes the region while the thread waits
     */
    public void acquireUninterruptibly() {
        checkGeneration();
        if (!tryTake()) {
            try {
                acquireSlow(false, false, 0L);
            } catch (InterruptedException impossible) {
                throw new AssertionError(impossible);
            }
        }
    }

    /**
     * Acquires a permit only if one is available at the time of the call. Never blocks, never makes a
     * system call.
     *
     * @return true if a permit was taken
     */
    public boolean tryAcquire() {
        checkGeneration();
        return tryTake();
    }

    /**
     * Acquires a permit if one becomes available within the timeout and the thread is not interrupted.
     * The timeout is measured on {@code CLOCK_MONOTONIC} (as {@link System#nanoTime()}); a timeout of
     * zero or less does not block.
     *
     * @return true if a permit was taken, false if the timeout elapsed first (then the thread is no longer
     *         counted as a waiter)
     * @throws InterruptedException as {@link #acquire()}
     */
    public boolean tryAcquire(long timeout, TimeUnit unit) throws InterruptedException {
        long nanos = unit.toNanos(timeout);
        if (Thread.interrupted()) {
            throw new InterruptedException();
        }
        checkGeneration();
        if (tryTake()) {
            return true;
        }
        if (nanos <= 0) {
            return false;
        }
        boolean timed = nanos < MAX_TIMEOUT_NANOS;
        return acquireSlow(true, timed, timed ? System.nanoTime() + nanos : 0L);
    }

    /** The fast path: take a token if one is there (CAS with acquire order). */
    private boolean tryTake() {
        // First guess the state of an uncontended lock-like semaphore (one permit, no waiter): one CAS, no
        // load, as release() guesses 0 -> 1. Otherwise the CAS returned the current value.
        long d = (long) DATA.compareAndExchangeAcquire(segment, data, 1L, 0L);
        if (d == 1L) {
            return true;
        }
        while ((d & VALUE_MASK) != 0) {
            long witness = (long) DATA.compareAndExchangeAcquire(segment, data, d, d - 1);
            if (witness == d) {
                return true;
            }
            d = witness;
        }
        return false;
    }

    /**
     * The slow path (docs/PROTOCOL.md §3.2): spin if the policy says so (before registering, so that a
     * releaser makes no wake-up call for a spinning waiter); then, until a token is taken: open a wait, register
     * as a waiter, sleep if the value is 0, deregister, close the wait, try to take a token. The waiter is
     * counted (and every release makes a {@code FUTEX_WAKE}) only from just before its sleep to just after it.
     */
    private boolean acquireSlow(boolean interruptible, boolean timed, long deadline) throws InterruptedException {
        Spinner sp = spinner;
        long waitStart = 0;
        if (sp.enabled()) { // outside the wait scope: a spin makes no system call (the Spinner adapts itself)
            waitStart = sp.spin(segment, data, 0, guard, interruptible, timed, deadline);
            if (tryTake()) {
                return true;
            }
        }
        WaitNode node = WaitNode.enter(guard);
        // Whether a sleep may have consumed a release's wake-up that no take attempt has answered yet: a wait
        // that then ends without a take passes it on (PROTOCOL §3.3, "Aborts pass wake-ups on").
        boolean owe = false;
        try {
            do {
                boolean inTime;
                try {
                    if (node.prepare(segment, data, 0, interruptible)) {
                        owe |= sleepRegistered(node, timed, deadline);
                    }
                } finally {
                    inTime = node.finish();
                }
                if (!inTime) {
                    return false;
                }
                owe = false; // the take below answers it: it takes the token, or sees that another did
            } while (!tryTake());
            if (waitStart != 0) {
                sp.waited(waitStart);
            }
            return true;
        } finally {
            if (owe) {
                passOn();
            }
            node.exit();
        }
    }

    /**
     * Inside an open wait: registers as a waiter ({@code nwaiters + 1}), sleeps if the value it saw is 0, and
     * deregisters (unless the object was removed: its bytes may already be another object's).
     *
     * @return whether it slept (and so may have consumed a release's wake-up)
     */
    private boolean sleepRegistered(WaitNode node, boolean timed, long deadline) {
        long d = (long) DATA.getAndAdd(segment, data, ONE_WAITER);
        boolean slept = false;
        try {
            if ((d & VALUE_MASK) == 0) {
                slept = true;
                node.sleep(timed, deadline);
            }
        } finally {
            if (!guard.removed()) {
                DATA.getAndAdd(segment, data, -ONE_WAITER);
            }
        }
        return slept;
    }

    /**
     * A waiter that slept and gives up without trying to take a token: if a token is available and others
     * are registered, wakes one of them, as it may have consumed the wake-up meant for that token (docs/PROTOCOL.md
     * §3.3, "Aborts pass wake-ups on").
     */
    private void passOn() {
        if (guard.removed()) {
            return; // the bytes may already belong to another object
        }
        long d = (long) DATA.getVolatile(segment, data);
        if ((d & VALUE_MASK) != 0 && (d >>> NWAITERS_SHIFT) != 0) {
            Futex.wake(futexAddress, 1, true);
        }
    }

    // ------------------------------------------------------------------ release

    /**
     * Releases a permit: adds one, and wakes one waiting thread (in any process) if one is registered.
     * Never blocks.
     *
     * @throws IllegalStateException if the value is already {@code SEM_VALUE_MAX} (2³¹−1): nothing is
     *                               changed (glibc's {@code EOVERFLOW})
     */
    public void release() {
        checkGeneration();
        // First try the transition from the most common state when releasing a lock-like semaphore (no
        // permit, no waiter): one CAS, no load. Otherwise the CAS returned the current value.
        long d = (long) DATA.compareAndExchangeRelease(segment, data, 0L, 1L);
        if (d != 0L) {
            releaseFrom(d);
        }
    }

    private void releaseFrom(long d) {
        for (;;) {
            if ((d & VALUE_MASK) >= SEM_VALUE_MAX) { // >=: a corrupt value above the maximum must not wrap
                throw overflow(1);
            }
            long witness = (long) DATA.compareAndExchangeRelease(segment, data, d, d + 1);
            if (witness == d) {
                break;
            }
            d = witness;
        }
        if ((d >>> NWAITERS_SHIFT) != 0) {
            wakeOne();
        }
    }

    /**
     * {@code FUTEX_WAKE(1)} for a release that saw a registered waiter. A waiter stays registered until it runs
     * again after its wake-up; a woken waiter that waits for this CPU may not get it before this thread's time
     * slice ends, and until then each of this thread's releases pays a {@code FUTEX_WAKE} that wakes no one
     * (thousands in a busy loop). So when the wake after one that woke a sleeper wakes no one, yield once:
     * the scheduler may run the woken waiter now. A hint only, not part of the protocol: a releaser whose wake-ups
     * all find a sleeper (a ping-pong) never yields, and one yield at most follows each wake-up that found one.
     */
    private void wakeOne() {
        if (Futex.wake(futexAddress, 1, true) > 0) {
            wokeSleeper = true;
        } else if (wokeSleeper) {
            wokeSleeper = false;
            Thread.yield();
        }
    }

    /**
     * Releases {@code permits} permits at once and wakes up to that many waiters.
     *
     * @throws IllegalArgumentException if {@code permits} is negative
     * @throws IllegalStateException if the value would exceed {@code SEM_VALUE_MAX}: nothing is changed
     */
    public void release(int permits) {
        if (permits < 0) {
            throw new IllegalArgumentException("permits must not be negative: " + permits);
        }
        checkGeneration();
        if (permits == 0) {
            return;
        }
        long d = (long) DATA.get(segment, data);
        for (;;) {
            if ((d & VALUE_MASK) + permits > SEM_VALUE_MAX) {
                throw overflow(permits);
            }
            long witness = (long) DATA.compareAndExchangeRelease(segment, data, d, d + permits);
            if (witness == d) {
                break;
            }
            d = witness;
        }
        long waiters = d >>> NWAITERS_SHIFT;
        if (waiters != 0) {
            Futex.wake(futexAddress, (int) Math.min(waiters, permits), true);
        }
    }

    private IllegalStateException overflow(int permits) {
        return new IllegalStateException("releasing " + permits + " permit(s) would exceed SEM_VALUE_MAX ("
                + SEM_VALUE_MAX + ") on " + guard.description());
    }

    /**
     * Acquires and returns all permits that are immediately available (never blocks).
     */
    public int drainPermits() {
        checkGeneration();
        long d = (long) DATA.get(segment, data);
        while ((d & VALUE_MASK) != 0) {
            long witness = (long) DATA.compareAndExchangeAcquire(segment, data, d, d & ~VALUE_MASK);
            if (witness == d) {
                return (int) (d & VALUE_MASK);
            }
            d = witness;
        }
        return 0;
    }

    // ------------------------------------------------------------------ introspection

    /** The current number of permits (a snapshot: it may change at once). */
    public int availablePermits() {
        checkGeneration();
        // A value above SEM_VALUE_MAX can only be written by a corrupting peer: report it clamped, never negative.
        return (int) Math.min((long) DATA.getVolatile(segment, data) & VALUE_MASK, SEM_VALUE_MAX);
    }

    /**
     * Whether any thread, in any process, may be waiting. An estimate: waiters register just before they
     * sleep and deregister after, and a process killed while waiting stays counted (as with glibc).
     */
    public boolean hasQueuedThreads() {
        return getQueueLength() > 0;
    }

    /** Estimated number of threads of all processes registered as waiting (see {@link #hasQueuedThreads()}). */
    public int getQueueLength() {
        checkGeneration();
        return (int) ((long) DATA.getVolatile(segment, data) >>> NWAITERS_SHIFT);
    }

    // ------------------------------------------------------------------ spinning

    /**
     * Sets how this handle's blocking acquires spin before they sleep (see {@link SpinPolicy}); affects this
     * handle only (another handle on the same semaphore, in this or another process, keeps its own policy)
     * and acquires that start after the call. Resets an adaptive budget to the policy's maximum.
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

    /** The current spin budget of this handle in nanoseconds (0 if it does not spin); for diagnostics. */
    long spinBudgetNanos() {
        return spinner.enabled() ? spinner.budgetNanos() : 0;
    }

    /** The object's generation in its region's directory (0 for a POSIX semaphore). */
    public int generation() {
        return guard.generation();
    }

    String describe() {
        return guard.description();
    }

    @Override
    public String toString() {
        String state;
        try {
            long d = (long) DATA.getVolatile(segment, data);
            state = "permits=" + (d & VALUE_MASK) + ", waiters=" + (d >>> NWAITERS_SHIFT)
                    + (guard.removed() ? ", REMOVED" : "");
        } catch (IllegalStateException closed) {
            state = "closed";
        }
        return "Semaphore[" + guard.description() + ", " + state + "]";
    }
}
