package io.shmsync.internal.sync;

import io.shmsync.internal.futex.Futex;
import io.shmsync.internal.posix.Posix;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.function.IntFunction;

/**
 * A daemon platform thread that sleeps in {@code futex_waitv} on up to {@link Futex#WAITV_MAX} words on behalf
 * of others: its own private control word plus the words its items ask for. Items are submitted through a
 * lock-free queue; submitting bumps and wakes the control word, so the worker takes them in on its next pass.
 * Every pass re-checks every item ({@link #fill()}) before sleeping again, so a worker compares values, never
 * counts wake-ups: a change made while it is outside the syscall makes the next call return {@code EAGAIN}.
 * Used by the {@link WaitMultiplexer} (parked virtual threads) and the {@link RemovalWatcher} (directory
 * {@code sequence} words of objects with platform waiters); {@link Pool} starts workers on demand, and an item
 * that does not fit in one worker's list is handed to the next.
 *
 * @param <T> what the worker watches for
 */
abstract class WaitvWorker<T> implements Runnable {
    private static final VarHandle INT = ValueLayout.JAVA_INT.varHandle();
    private static final long CONTROL = 0;
    private static final long WAITV = 8;

    final int index;
    private final ConcurrentLinkedQueue<T> pending = new ConcurrentLinkedQueue<>();
    private final MemorySegment buffer;
    private final MemorySegment waitv;
    private final MemorySegment capture;
    private final long controlAddress;
    private int count;

    WaitvWorker(int index) {
        this.index = index;
        Arena arena = Arena.ofAuto();
        buffer = arena.allocate(WAITV + Futex.WAITV_MAX * Futex.WAITV_ENTRY_SIZE, 8);
        waitv = buffer.asSlice(WAITV);
        capture = arena.allocate(Futex.captureLayout());
        controlAddress = buffer.address() + CONTROL;
    }

    /** Queues {@code item} and wakes the worker, which takes it in on its next pass. */
    final void submit(T item) {
        pending.add(item);
        kick();
    }

    /** Makes the worker run a pass now (re-check every item). */
    final void kick() {
        INT.getAndAdd(buffer, CONTROL, 1);
        Futex.wake(controlAddress, 1, false);
    }

    /** Takes a newly submitted item into the worker's own set (worker thread only). */
    abstract void accept(T item);

    /**
     * Re-checks every item (firing, dropping or handing on the ones that are done or do not fit) and adds the
     * words to sleep on with {@link #add} while {@link #room()} allows (worker thread only).
     */
    abstract void fill();

    /** Entries left in this pass's wait list. */
    final int room() {
        return Futex.WAITV_MAX - count;
    }

    /** Adds one word to this pass's wait list: sleep while it holds {@code expected}. */
    final void add(long address, int expected, boolean shared) {
        Futex.putWaitv(waitv, count++, address, expected, shared);
    }

    @Override
    public final void run() {
        for (;;) {
            int control = (int) INT.getVolatile(buffer, CONTROL);
            for (T item; (item = pending.poll()) != null; ) {
                accept(item);
            }
            count = 0;
            add(controlAddress, control, false);
            fill();
            int r = Futex.waitv(buffer.address() + WAITV, count, 0, capture);
            if (r == -Posix.EFAULT) {
                // A word's memory went away between fill() and the call; the next pass drops or fires its items.
                Thread.onSpinWait();
            }
        }
    }

    /** Workers started on demand, each a daemon thread named {@code prefix + index}. */
    static final class Pool<W extends WaitvWorker<?>> {
        private final String prefix;
        private final IntFunction<W> factory;
        private final List<W> workers = new ArrayList<>();

        Pool(String prefix, IntFunction<W> factory) {
            this.prefix = prefix;
            this.factory = factory;
        }

        /** Worker {@code index}, starting it (and any before it) if needed. */
        W get(int index) {
            synchronized (workers) {
                while (workers.size() <= index) {
                    W w = factory.apply(workers.size());
                    workers.add(w);
                    Thread.ofPlatform().daemon().name(prefix + w.index).start(w);
                }
                return workers.get(index);
            }
        }

        /** Makes every started worker run a pass now. */
        void kickAll() {
            List<W> ws;
            synchronized (workers) {
                ws = List.copyOf(workers);
            }
            for (W w : ws) {
                w.kick();
            }
        }

        /** Number of workers started so far (tests, diagnostics). */
        int size() {
            synchronized (workers) {
                return workers.size();
            }
        }
    }
}
