package io.shmsync.internal.sync;

import io.shmsync.internal.futex.Futex;
import io.shmsync.internal.posix.Posix;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.channels.ClosedByInterruptException;
import java.util.concurrent.locks.LockSupport;

/**
 * A platform thread's wait: the kernel sleeps on the object's shared word only (plus a robust mutex owner's
 * lease word), and {@link Thread#interrupt()}, {@code Region.close()} and the object's removal (seen by the
 * {@link RemovalWatcher}) reach the sleeper by waking its object word until it has left the kernel
 * (docs/PROTOCOL.md §3.4).
 *
 * <ul>
 *   <li>No extra word: {@code FUTEX_WAIT_BITSET} on the object's word, as glibc's {@code sem_wait}.</li>
 *   <li>An extra word: {@code futex_waitv} on {the object's word, the extra word}.</li>
 *   <li>Kernels without {@code futex_waitv}: {@code FUTEX_WAIT_BITSET} slices of at most 10 ms.</li>
 * </ul>
 *
 * <p><b>Aborting a sleeper.</b> The waiter makes its {@code window} odd (volatile write) before it looks, for
 * the last time before the syscall, at its interrupt status, at its scope's {@code closing} flag and at its
 * object's {@code sequence} word, and makes it even again right after the syscall returned. An aborter first
 * sets what the waiter looks at (the interrupt status: {@code Thread.interrupt()} does that before it calls
 * the {@link InterruptHook}; {@code closing}; or, for a removal, the remover changed {@code sequence} before
 * the watcher saw it), then reads {@code window}: either the waiter sees the flag and does not sleep, or the
 * aborter sees the window open and {@code FUTEX_WAKE}s the object word (all waiters, any process: a spurious
 * wake-up for the others, which the protocol allows) again and again, backing off, until the window closes.
 * A wake that comes before the waiter is queued is lost, but the next one, after it is queued, is not. All
 * native memory is allocated once per thread and reused; a wait allocates nothing.
 */
final class PlatformWaitNode extends WaitNode {
    private static final long WAITV = 0;                 // 2 x 24 bytes
    private static final long TIMESPEC = 48;             // 16 bytes
    private static final long BUFFER_SIZE = 64;
    private static final long FALLBACK_SLICE_NANOS = 10_000_000L;
    private static final VarHandle WINDOW;

    static {
        try {
            WINDOW = MethodHandles.lookup().findVarHandle(PlatformWaitNode.class, "window", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final MemorySegment buffer;
    private final MemorySegment capture;
    private final long waitvAddress;
    private final long timespecAddress;
    private InterruptHook hook;
    /** Odd while the thread may be inside (or about to enter) the futex syscall of a wait; +1 at each edge. */
    private volatile int window;
    /** The object word of the current wait: what aborters wake. Written before {@code window} turns odd. */
    private volatile long wakeAddress;
    // The current wait, from prepare() to finish() (this thread only).
    private MemorySegment waitSegment;
    private long waitWord;
    private int waitExpected;
    private long waitExtraOffset;
    private int waitExtraExpected;
    /** The hook that brackets the current wait (begun in prepare), or null. */
    private InterruptHook waitHook;
    /** The current wait's futex result: 0 until it sleeps. */
    private int result;

    PlatformWaitNode() {
        Arena arena = Arena.ofAuto();
        buffer = arena.allocate(BUFFER_SIZE, 8);
        capture = arena.allocate(Futex.captureLayout());
        waitvAddress = buffer.address() + WAITV;
        timespecAddress = buffer.address() + TIMESPEC;
    }

    @Override
    void abort() {
        int w = window;
        if ((w & 1) != 0) {
            kickUntilLeft(w, wakeAddress);
        }
    }

    /** From the {@link InterruptHook} of the wait whose window was {@code w}: end that wait if still inside. */
    void abortWindow(int w) {
        if (window == w) {
            kickUntilLeft(w, wakeAddress);
        }
    }

    /** From the {@link RemovalWatcher}: end the current wait if it is on the object {@code removed} guards. */
    void abortIfWaitingOn(Guard removed) {
        int w = window;
        if ((w & 1) == 0) {
            return;
        }
        Guard g = guard; // racy read: the window check below tells whether it belongs to window w
        long address = wakeAddress;
        if (g != null && g.sameObject(removed) && window == w) {
            kickUntilLeft(w, address);
        }
    }

    /** Wakes {@code address} until the window {@code w} has closed, backing off (spin, yield, short sleeps). */
    private void kickUntilLeft(int w, long address) {
        for (int i = 0; window == w; i++) {
            Futex.wake(address, Integer.MAX_VALUE, true);
            if (i < 8) {
                Thread.onSpinWait();
            } else if (i < 24) {
                Thread.yield(); // the waiter may need this CPU to reach the kernel
            } else {
                LockSupport.parkNanos(Math.min(1_000L << Math.min(i - 24, 10), 1_000_000L));
            }
        }
    }

    @Override
    public boolean prepare(MemorySegment segment, long offset, int expected, long extraOffset, int extraExpected,
                           boolean interruptible) {
        Guard g = guard;
        long word = segment.address() + offset;
        waitSegment = segment;
        waitWord = word;
        waitExpected = expected;
        waitExtraOffset = extraOffset;
        waitExtraExpected = extraExpected;
        result = 0; // no sleep: "look again"
        boolean watched = g.sequenceAddress != 0 && Futex.hasWaitv();
        if (watched) {
            RemovalWatcher.watch(g); // before the window opens: the watcher then sees it, or we see the removal
        }
        int w = window + 1; // odd: this wait's window
        wakeAddress = word;
        if (interruptible) {
            InterruptHook h = hook;
            if (h == null || !h.isOpen()) {
                h = hook = new InterruptHook(this);
            }
            h.window = w;
            waitHook = h;
            h.beginWait(); // an interrupt from here on calls abortWindow(w)
        }
        WINDOW.setVolatile(this, w);
        // An aborter may have looked before the window opened: do not sleep if it set its flag (PROTOCOL §3.4).
        return !(g.scope.isClosing() || (interruptible && Thread.currentThread().isInterrupted())
                || g.removedVolatile());
    }

    @Override
    public void sleep(boolean timed, long deadline) {
        long word = waitWord;
        int expected = waitExpected;
        long extraOffset = waitExtraOffset;
        int r;
        if (!Futex.hasWaitv()) {
            r = extraOffset >= 0 && waitSegment.get(ValueLayout.JAVA_INT, extraOffset) != waitExtraExpected
                    ? -Posix.EAGAIN : sleepSlice(word, expected, timed, deadline);
        } else if (extraOffset < 0) {
            r = Futex.waitBitset(word, expected, timed ? deadline(deadline) : 0, true, capture);
        } else {
            r = sleepWaitv(word, expected, waitSegment.address() + extraOffset, waitExtraExpected, timed, deadline);
        }
        result = r;
    }

    @Override
    public boolean finish() throws InterruptedException {
        InterruptHook h = waitHook;
        waitHook = null;
        waitSegment = null;
        try {
            int w = window;
            if ((w & 1) != 0) {
                WINDOW.setVolatile(this, w + 1); // before endWait: an aborter may hold the hook's close lock
            }
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
        int r = result;
        if (r == -Posix.ETIMEDOUT) {
            return false;
        }
        if (r < 0 && r != -Posix.EAGAIN && r != -Posix.EINTR) {
            throw new IllegalStateException("futex wait on " + guard.description() + " failed: "
                    + Posix.strerror(-r) + " (errno " + -r + ")");
        }
        return true;
    }

    private long deadline(long deadline) {
        Futex.putDeadline(buffer, TIMESPEC, deadline);
        return timespecAddress;
    }

    private int sleepWaitv(long wordAddress, int expected, long extraAddress, int extraExpected, boolean timed,
                           long deadline) {
        Futex.putWaitv(buffer, 0, wordAddress, expected, true);
        Futex.putWaitv(buffer, 1, extraAddress, extraExpected, true);
        return Futex.waitv(waitvAddress, 2, timed ? deadline(deadline) : 0, capture);
    }

    private int sleepSlice(long wordAddress, int expected, boolean timed, long deadline) {
        long now = System.nanoTime();
        long until = now + FALLBACK_SLICE_NANOS;
        boolean last = timed && deadline - until <= 0;
        int r = Futex.waitBitset(wordAddress, expected, deadline(last ? deadline : until), true, capture);
        if (r == -Posix.ETIMEDOUT && !last) {
            return 0; // end of a slice, not of the wait: the caller re-checks interrupt, close and its word
        }
        return r;
    }
}
