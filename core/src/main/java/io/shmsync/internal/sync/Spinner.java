package io.shmsync.internal.sync;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The bounded, optionally adaptive spin before a futex wait (the public side is {@code io.shmsync.SpinPolicy});
 * one per handle, shared by the handle's threads. Part of the wait core: every primitive's slow path calls
 * {@link #spin} before it registers as a waiter, and {@link #waited} after a wait that ended in success.
 *
 * <p>The budget is a plain field, read and written racily by the handle's threads (as glibc's mutex
 * {@code __spins}): a lost update only makes one spin a little longer or shorter, never longer than the
 * maximum. No allocation, no system call.
 */
public final class Spinner {
    /** Whether more than one CPU is available (read once): on one CPU nothing ever spins. */
    static final boolean MULTI_CPU = Runtime.getRuntime().availableProcessors() > 1;
    /** Smallest budget an adaptive spinner grows to after a short wait. */
    static final long MIN_BUDGET_NANOS = 1_000;
    /** Iterations between two looks at the clock, the interrupt status, close and removal. */
    private static final int CHECK_EVERY = 8;

    private volatile long maxNanos;
    private volatile boolean adaptive;
    private long budget; // racy by design, see the class comment

    /** Sets the policy: {@code maxNanos} 0 disables spinning; the adaptive budget restarts at the maximum. */
    public void configure(long maxNanos, boolean adaptive) {
        this.budget = maxNanos;
        this.adaptive = adaptive;
        this.maxNanos = maxNanos;
    }

    /** Whether {@link #spin} may do anything (a policy other than NONE and more than one CPU). */
    public boolean enabled() {
        return maxNanos != 0 && enabledOnThisMachine();
    }

    static boolean enabledOnThisMachine() {
        return MULTI_CPU || Boolean.getBoolean("io.shmsync.spinOnOneCpu"); // the latter for tests only
    }

    /** The current budget in nanoseconds (for tests and diagnostics). */
    public long budgetNanos() {
        return maxNanos == 0 ? 0 : Math.min(budget, maxNanos);
    }

    /**
     * Spins while the 32-bit word at {@code segment + offset} equals {@code expected}, for at most the current
     * budget (and never past {@code deadline} if {@code timed}); stops early when the thread is interrupted
     * (if {@code interruptible}), the guarded object is removed or its scope is closing. Call only if
     * {@link #enabled()}. The caller need not be inside a {@link WaitScope}: a spin makes no system call, and
     * a region closed under it ends it with {@link io.shmsync.RegionClosedException}.
     *
     * <p>When the word changes during the spin, an adaptive budget is adapted here, from the time of the last
     * clock reading (at most {@value #CHECK_EVERY} iterations old): the caller, about to take what it saw, has
     * no clock call left on its hand-off path. Only a wait that goes on to sleep reports to
     * {@link #waited(long)}.
     *
     * @return the {@link System#nanoTime()} at which the wait began, for {@link #waited(long)}
     */
    public long spin(MemorySegment segment, long offset, int expected, Guard guard, boolean interruptible,
                     boolean timed, long deadline) {
        long start = System.nanoTime();
        long b = Math.min(budget, maxNanos);
        if (b <= 0) {
            return start;
        }
        long end = start + b;
        if (timed && deadline - end < 0) {
            end = deadline;
        }
        Thread me = Thread.currentThread();
        long now = start;
        try {
            for (int i = 1; ; i++) {
                if (segment.get(ValueLayout.JAVA_INT, offset) != expected) {
                    if (adaptive) {
                        adapt(now - start);
                    }
                    return start;
                }
                Thread.onSpinWait();
                if (i % CHECK_EVERY == 0 && ((now = System.nanoTime()) - end >= 0
                        || (interruptible && me.isInterrupted()) || guard.scope.isClosing() || guard.removed())) {
                    return start;
                }
            }
        } catch (IllegalStateException closedUnderUs) { // the mapping's arena was closed between two checks
            if (guard.scope.isClosing()) {
                throw guard.scope.closedException();
            }
            throw closedUnderUs;
        }
    }

    /**
     * Adapts the budget after a wait that began at {@code start} (from {@link #spin}) and just succeeded:
     * a wait that ended within the maximum sets the budget to twice its length (at least
     * {@link #MIN_BUDGET_NANOS}); a longer one halves it. Nothing for a fixed policy.
     */
    public void waited(long start) {
        if (adaptive) {
            adapt(System.nanoTime() - start);
        }
    }

    private void adapt(long w) {
        long max = maxNanos;
        long b;
        if (w <= max) {
            b = Math.min(max, Math.max(2 * w, MIN_BUDGET_NANOS));
        } else {
            b = Math.min(budget, max) >> 1;
            if (b < MIN_BUDGET_NANOS / 2) {
                b = 0;
            }
        }
        budget = b;
    }
}
