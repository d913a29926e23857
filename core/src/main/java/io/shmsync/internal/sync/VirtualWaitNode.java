package io.shmsync.internal.sync;

import io.shmsync.internal.futex.Futex;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.locks.LockSupport;

/**
 * A virtual thread's wait. A virtual thread must never sleep inside a futex syscall: the FFM call pins its
 * carrier, so N blocked virtual threads would take all N carriers and starve the one that was about to
 * release them. Instead it registers its word with the {@link WaitMultiplexer}, whose platform thread
 * sleeps in {@code futex_waitv} on many words at once, and parks; the multiplexer unparks it when its word
 * no longer holds the expected value. Without {@code futex_waitv} it polls with {@code parkNanos} slices.
 */
final class VirtualWaitNode extends WaitNode {
    private static final long POLL_NANOS = 1_000_000L;

    // Registration, read by the multiplexer thread.
    volatile Thread thread;
    volatile MemorySegment segment;
    volatile long offset;
    volatile int expected;
    /** Optional second word in the same segment (-1: none) and its expected value. */
    volatile long extraOffset = -1;
    volatile int extraExpected;
    volatile Guard registeredGuard;
    /** Set by the multiplexer when the word changed, or by abort(). */
    volatile boolean fired;
    /** Set when the waiter stopped waiting; the multiplexer drops it. */
    volatile boolean cancelled;
    volatile boolean aborted;

    @Override
    void abort() {
        aborted = true;
        Thread t = thread;
        if (t != null) {
            LockSupport.unpark(t);
        }
    }

    /** Multiplexer side: should this waiter be woken now? */
    boolean wordChanged() {
        try {
            long x = extraOffset;
            return aborted || segment.get(ValueLayout.JAVA_INT, offset) != expected
                    || (x >= 0 && segment.get(ValueLayout.JAVA_INT, x) != extraExpected)
                    || registeredGuard.removed() || registeredGuard.scope.isClosing();
        } catch (RuntimeException closed) {
            return true; // memory gone: let the waiter find out
        }
    }

    void fire() {
        fired = true;
        LockSupport.unpark(thread);
    }

    @Override
    public boolean await(MemorySegment segment, long offset, int expected, long extraOffset, int extraExpected,
                         boolean timed, long deadline, boolean interruptible) throws InterruptedException {
        aborted = false;
        checkAfterWake();
        if (interruptible && Thread.interrupted()) {
            throw new InterruptedException();
        }
        this.segment = segment;
        this.offset = offset;
        this.expected = expected;
        this.extraExpected = extraExpected;
        this.extraOffset = extraOffset;
        this.registeredGuard = guard;
        this.thread = Thread.currentThread();
        fired = false;
        cancelled = false;
        boolean multiplexed = Futex.hasWaitv();
        if (multiplexed) {
            WaitMultiplexer.register(this);
        }
        boolean interruptedMeanwhile = false;
        try {
            while (!fired) {
                if (aborted) {
                    break;
                }
                if (!multiplexed && wordChanged()) {
                    break;
                }
                long wait = multiplexed ? Long.MAX_VALUE : POLL_NANOS;
                if (timed) {
                    long remaining = deadline - System.nanoTime();
                    if (remaining <= 0) {
                        return false;
                    }
                    wait = Math.min(wait, remaining);
                }
                if (wait == Long.MAX_VALUE) {
                    LockSupport.park(this);
                } else {
                    LockSupport.parkNanos(this, wait);
                }
                if (Thread.interrupted()) {
                    if (interruptible) {
                        throw new InterruptedException();
                    }
                    interruptedMeanwhile = true; // park would not block again while the status is set
                }
            }
        } finally {
            cancelled = true;
            this.thread = null;
            if (multiplexed && !fired) {
                WaitMultiplexer.cancel(this);
            }
            if (interruptedMeanwhile) {
                Thread.currentThread().interrupt();
            }
        }
        checkAfterWake();
        return true;
    }
}
