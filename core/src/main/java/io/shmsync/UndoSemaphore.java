package io.shmsync;

import io.shmsync.internal.robust.ProcessTable;
import io.shmsync.internal.sync.Guard;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.util.concurrent.TimeUnit;

import static io.shmsync.internal.sync.UndoSemaphoreLayout.ADJUSTMENT_SIZE;
import static io.shmsync.internal.sync.UndoSemaphoreLayout.LENGTH;

/**
 * A counting semaphore whose permits are given back when the process that acquired them dies, like SysV
 * {@code SEM_UNDO}: each process records, in its process-table slot's entry of the semaphore, its
 * <em>adjustment</em> — permits it acquired minus permits it released — and when the process dies (or
 * closes the region) that adjustment is applied back: a positive one is released, a negative one (the
 * process released more than it acquired) is taken back as far as permits are available, as Linux clamps
 * {@code semadj} at 0. Obtained with {@link Region#undoSemaphore(String, int)}.
 *
 * <p>The permits themselves are a glibc {@code sem_t} exactly as {@link Semaphore}'s (C programs may
 * {@code sem_wait}/{@code sem_post} on it, without undo), with the same fast paths; each operation adds one
 * atomic add on the process's adjustment.
 *
 * <p><b>The loss window.</b> The {@code sem_t} word has no room to name the process that took a permit, so
 * the permit and the adjustment are changed by two atomics. The order is chosen so that a death between
 * them can only lose a permit, never duplicate one: an acquire takes the permit, then adds 1 to the
 * adjustment; a release subtracts 1 from the adjustment, then releases the permit. A process killed between
 * the two steps loses that one permit (per thread caught there); a cleaner killed between taking a dead
 * process's adjustment and applying it loses that adjustment (docs/PROTOCOL.md §6.8).
 *
 * <p>Blocking, interruption, timeouts, removal and close behave as for {@link Semaphore}.
 */
public final class UndoSemaphore {
    private static final VarHandle ADJ = ValueLayout.JAVA_INT.varHandle();

    private final Semaphore permits;
    private final MemorySegment segment;
    private final long adjustment;
    private final Guard guard;

    UndoSemaphore(MemorySegment segment, long offset, Guard guard, ProcessTable table) {
        this.permits = new Semaphore(segment, offset, guard);
        this.segment = segment;
        this.guard = guard;
        table.attach();
        this.adjustment = offset + LENGTH + (long) table.slot() * ADJUSTMENT_SIZE;
    }

    /** Acquires a permit, blocking until one is available; as {@link Semaphore#acquire()}. */
    public void acquire() throws InterruptedException {
        permits.acquire();
        record(1);
    }

    /** Acquires a permit, blocking uninterruptibly; as {@link Semaphore#acquireUninterruptibly()}. */
    public void acquireUninterruptibly() {
        permits.acquireUninterruptibly();
        record(1);
    }

    /** Takes a permit if one is available now; as {@link Semaphore#tryAcquire()}. */
    public boolean tryAcquire() {
        if (permits.tryAcquire()) {
            record(1);
            return true;
        }
        return false;
    }

    /** Takes a permit if one becomes available within the timeout; as {@link Semaphore#tryAcquire(long, TimeUnit)}. */
    public boolean tryAcquire(long timeout, TimeUnit unit) throws InterruptedException {
        if (permits.tryAcquire(timeout, unit)) {
            record(1);
            return true;
        }
        return false;
    }

    /**
     * Releases a permit (this process's adjustment first goes down by one). Any thread may release, as with
     * {@link Semaphore}; a process that releases more than it acquired gets a negative adjustment, which is
     * taken back at its death.
     *
     * @throws IllegalStateException at {@code SEM_VALUE_MAX}: nothing is changed
     */
    public void release() {
        record(-1);
        try {
            permits.release();
        } catch (RuntimeException e) {
            record(1);
            throw e;
        }
    }

    private void record(int delta) {
        ADJ.getAndAdd(segment, adjustment, delta);
    }

    /** This process's adjustment: permits it acquired minus permits it released. */
    public int adjustment() {
        guard.check();
        return (int) ADJ.getVolatile(segment, adjustment);
    }

    /** The current number of permits (a snapshot). */
    public int availablePermits() {
        return permits.availablePermits();
    }

    /** Whether threads of any process may be waiting (an estimate, as {@link Semaphore#hasQueuedThreads()}). */
    public boolean hasQueuedThreads() {
        return permits.hasQueuedThreads();
    }

    /** Sets how this handle's blocking acquires spin before they sleep; as {@link Semaphore#setSpinPolicy(SpinPolicy)}. */
    public void setSpinPolicy(SpinPolicy policy) {
        permits.setSpinPolicy(policy);
    }

    /** This handle's spin policy; as {@link Semaphore#getSpinPolicy()}. */
    public SpinPolicy getSpinPolicy() {
        return permits.getSpinPolicy();
    }

    /** The object's generation in its region's directory. */
    public int generation() {
        return guard.generation();
    }

    @Override
    public String toString() {
        String state;
        try {
            state = "permits=" + permits.availablePermits() + ", this process's adjustment=" + adjustment();
        } catch (IllegalStateException closed) {
            state = "closed or removed";
        }
        return "UndoSemaphore[" + guard.description() + ", " + state + "]";
    }
}
