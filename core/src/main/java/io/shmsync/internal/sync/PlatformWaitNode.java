package io.shmsync.internal.sync;

import io.shmsync.internal.futex.Futex;
import io.shmsync.internal.posix.Posix;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.nio.channels.ClosedByInterruptException;

/**
 * A platform thread's wait: {@code futex_waitv} on {the object's word, an optional extra word, the guard's
 * sequence word, this thread's private abort word}, or {@code FUTEX_WAIT_BITSET} slices of at most 10 ms where the kernel
 * lacks {@code futex_waitv}. All native memory it needs is allocated once per thread and reused.
 */
final class PlatformWaitNode extends WaitNode {
    private static final long WAITV = 0;                 // 4 x 24 bytes
    private static final long TIMESPEC = 96;             // 16 bytes
    private static final long ABORT_WORD = 112;          // 4 bytes
    private static final long BUFFER_SIZE = 128;
    private static final long FALLBACK_SLICE_NANOS = 10_000_000L;
    private static final VarHandle ABORT = ValueLayout.JAVA_INT.varHandle();

    private final MemorySegment buffer;
    private final MemorySegment capture;
    private final long abortAddress;
    private InterruptHook hook;

    PlatformWaitNode() {
        Arena arena = Arena.ofAuto();
        buffer = arena.allocate(BUFFER_SIZE, 8);
        capture = arena.allocate(Futex.captureLayout());
        abortAddress = buffer.address() + ABORT_WORD;
    }

    @Override
    void abort() {
        ABORT.setVolatile(buffer, ABORT_WORD, 1);
        Futex.wake(abortAddress, 1, false);
    }

    @Override
    public boolean await(MemorySegment segment, long offset, int expected, long extraOffset, int extraExpected,
                         boolean timed, long deadline, boolean interruptible) throws InterruptedException {
        Guard g = guard;
        // Reset the abort word, then look at the scope: WaitScope.closeAndDrain sets 'closing' before it
        // sets our abort word, so either we see 'closing' here or futex_waitv sees the abort word set.
        ABORT.setVolatile(buffer, ABORT_WORD, 0);
        checkAfterWake();
        InterruptHook h = null;
        if (interruptible) {
            h = hook;
            if (h == null || !h.isOpen()) {
                h = hook = new InterruptHook(this);
            }
            h.beginWait();
        }
        int r;
        try {
            long extra = extraOffset < 0 ? 0 : segment.address() + extraOffset;
            r = Futex.hasWaitv()
                    ? sleepWaitv(segment.address() + offset, expected, extra, extraExpected, g, timed, deadline)
                    : extra != 0 && segment.get(ValueLayout.JAVA_INT, extraOffset) != extraExpected ? -Posix.EAGAIN
                    : sleepSlice(segment.address() + offset, expected, timed, deadline);
        } finally {
            if (h != null) {
                try {
                    h.endWait();
                } catch (ClosedByInterruptException e) {
                    hook = null;
                    Thread.interrupted(); // InterruptedException clears the status, as java.util.concurrent does
                    throw new InterruptedException();
                }
            }
        }
        checkAfterWake();
        if (r == -Posix.ETIMEDOUT) {
            return false;
        }
        if (r < 0 && r != -Posix.EAGAIN && r != -Posix.EINTR) {
            throw new IllegalStateException("futex wait on " + g.description() + " failed: "
                    + Posix.strerror(-r) + " (errno " + -r + ")");
        }
        return true;
    }

    private int sleepWaitv(long wordAddress, int expected, long extraAddress, int extraExpected, Guard g,
                           boolean timed, long deadline) {
        int n = 0;
        Futex.putWaitv(buffer, n++, wordAddress, expected, true);
        if (extraAddress != 0) {
            Futex.putWaitv(buffer, n++, extraAddress, extraExpected, true);
        }
        if (g.sequenceAddress != 0) {
            Futex.putWaitv(buffer, n++, g.sequenceAddress, g.generation, true);
        }
        Futex.putWaitv(buffer, n++, abortAddress, 0, false);
        long ts = 0;
        if (timed) {
            Futex.putDeadline(buffer, TIMESPEC, deadline);
            ts = buffer.address() + TIMESPEC;
        }
        return Futex.waitv(buffer.address() + WAITV, n, ts, capture);
    }

    private int sleepSlice(long wordAddress, int expected, boolean timed, long deadline) {
        long now = System.nanoTime();
        long until = now + FALLBACK_SLICE_NANOS;
        boolean last = timed && deadline - until <= 0;
        Futex.putDeadline(buffer, TIMESPEC, last ? deadline : until);
        int r = Futex.waitBitset(wordAddress, expected, buffer.address() + TIMESPEC, true, capture);
        if (r == -Posix.ETIMEDOUT && !last) {
            return 0; // end of a slice, not of the wait: the caller re-checks interrupt, close and its word
        }
        return r;
    }
}
