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
    // The current wait, from prepare() to finish() (this thread only).
    private boolean interruptible;
    private boolean multiplexed;
    private boolean timedOut;
    private boolean interruptedWhileAsleep;

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
    public boolean prepare(MemorySegment segment, long offset, int expected, long extraOffset, int extraExpected,
                           boolean interruptible) {
        aborted = false; // before the looks at closing below: a closer sets closing, then aborted
        this.segment = segment;
        this.offset = offset;
        this.expected = expected;
        this.extraExpected = extraExpected;
        this.extraOffset = extraOffset;
        this.registeredGuard = guard;
        this.thread = Thread.currentThread();
        this.interruptible = interruptible;
        fired = false;
        cancelled = false;
        multiplexed = false;
        timedOut = false;
        interruptedWhileAsleep = false;
        Guard g = guard;
        return !(g.scope.isClosing() || g.removed() || (interruptible && Thread.currentThread().isInterrupted()));
    }

    @Override
    public void sleep(boolean timed, long deadline) {
        boolean mux = Futex.hasWaitv();
        if (mux) {
            multiplexed = true;
            WaitMultiplexer.register(this);
        }
        while (!fired) {
            if (aborted) {
                break;
            }
            if (!mux && wordChanged()) {
                break;
            }
            long wait = mux ? Long.MAX_VALUE : POLL_NANOS;
            if (timed) {
                long remaining = deadline - System.nanoTime();
                if (remaining <= 0) {
                    timedOut = true;
                    break;
                }
                wait = Math.min(wait, remaining);
            }
            if (wait == Long.MAX_VALUE) {
                LockSupport.park(this);
            } else {
                LockSupport.parkNanos(this, wait);
            }
            if (Thread.interrupted()) {
                interruptedWhileAsleep = true; // park would not block again while the status is set
                if (interruptible) {
                    break;
                }
            }
        }
    }

    @Override
    public boolean finish() throws InterruptedException {
        cancelled = true;
        this.thread = null;
        if (multiplexed && !fired) {
            WaitMultiplexer.cancel(this);
        }
        multiplexed = false;
        if (interruptedWhileAsleep) {
            interruptedWhileAsleep = false;
            if (interruptible) {
                throw new InterruptedException(); // the status was cleared when it was seen
            }
            Thread.currentThread().interrupt(); // an uninterruptible wait keeps it for the caller
        }
        if (interruptible && Thread.interrupted()) {
            throw new InterruptedException();
        }
        checkAfterWake();
        return !timedOut;
    }
}
