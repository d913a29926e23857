package io.shmsync.internal.sync;

import io.shmsync.internal.futex.Futex;
import io.shmsync.internal.posix.Posix;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * Sleeps in {@code futex_waitv} on behalf of parked virtual threads.
 *
 * <p>Each worker is a daemon platform thread that waits on up to 127 distinct (word, expected value) pairs
 * plus its own private control word. Registrations and cancellations are queued and the control word is
 * bumped and woken, so the worker rebuilds its list. After every return from {@code futex_waitv} (a wake,
 * a value that differed, a spurious wake) the worker re-reads every registered word and unparks each
 * virtual thread whose word no longer equals its expected value or whose object was removed or closed.
 * It compares values, not wake-ups, so a change made while it is not inside the syscall makes the next
 * call return {@code EAGAIN} and is never missed. Registrations that do not fit are handed to the next
 * worker, started on demand.
 */
final class WaitMultiplexer {
    private static final int WORDS_PER_WORKER = Futex.WAITV_MAX - 1;
    private static final VarHandle INT = ValueLayout.JAVA_INT.varHandle();
    private static final List<Worker> WORKERS = new ArrayList<>();

    private WaitMultiplexer() {
    }

    static void register(VirtualWaitNode node) {
        worker(0).submit(node);
    }

    static void cancel(VirtualWaitNode node) {
        // The node is marked cancelled; kick every worker so that none keeps sleeping on its word.
        List<Worker> ws;
        synchronized (WORKERS) {
            ws = List.copyOf(WORKERS);
        }
        for (Worker w : ws) {
            w.kick();
        }
    }

    private static Worker worker(int index) {
        synchronized (WORKERS) {
            while (WORKERS.size() <= index) {
                Worker w = new Worker(WORKERS.size());
                WORKERS.add(w);
                Thread.ofPlatform().daemon().name("shmsync-wait-multiplexer-" + w.index).start(w::run);
            }
            return WORKERS.get(index);
        }
    }

    /** Number of worker threads started so far (for tests and diagnostics). */
    static int workers() {
        synchronized (WORKERS) {
            return WORKERS.size();
        }
    }

    private static final class Worker {
        private static final long CONTROL = 0;
        private static final long WAITV = 8;

        final int index;
        private final ConcurrentLinkedQueue<VirtualWaitNode> pending = new ConcurrentLinkedQueue<>();
        private final MemorySegment buffer;
        private final MemorySegment capture;
        private final long controlAddress;

        Worker(int index) {
            this.index = index;
            Arena arena = Arena.ofAuto();
            buffer = arena.allocate(WAITV + Futex.WAITV_MAX * Futex.WAITV_ENTRY_SIZE, 8);
            capture = arena.allocate(Futex.captureLayout());
            controlAddress = buffer.address() + CONTROL;
        }

        void submit(VirtualWaitNode node) {
            pending.add(node);
            kick();
        }

        void kick() {
            INT.getAndAdd(buffer, CONTROL, 1);
            Futex.wake(controlAddress, 1, false);
        }

        void run() {
            Set<VirtualWaitNode> nodes = new LinkedHashSet<>();
            Map<Long, Integer> slots = new HashMap<>(); // word address -> expected (distinct words)
            for (;;) {
                int control = (int) INT.getVolatile(buffer, CONTROL);
                for (VirtualWaitNode n; (n = pending.poll()) != null; ) {
                    nodes.add(n);
                }
                slots.clear();
                int count = 0;
                Futex.putWaitv(buffer.asSlice(WAITV), count++, controlAddress, control, false);
                var it = nodes.iterator();
                while (it.hasNext()) {
                    VirtualWaitNode n = it.next();
                    if (n.cancelled || n.fired) {
                        it.remove();
                        continue;
                    }
                    if (n.wordChanged()) {
                        it.remove();
                        n.fire();
                        continue;
                    }
                    long word = n.segment.address() + n.offset;
                    long xo = n.extraOffset;
                    long extra = xo < 0 ? 0 : n.segment.address() + xo;
                    Guard g = n.registeredGuard;
                    int need = (slots.containsKey(word) ? 0 : 1)
                            + (extra == 0 || slots.containsKey(extra) ? 0 : 1)
                            + (g.sequenceAddress == 0 || slots.containsKey(g.sequenceAddress) ? 0 : 1);
                    if (count + need > Futex.WAITV_MAX) {
                        it.remove();
                        worker(index + 1).submit(n); // does not fit: the next worker takes it
                        continue;
                    }
                    if (!slots.containsKey(word)) {
                        slots.put(word, n.expected);
                        Futex.putWaitv(buffer.asSlice(WAITV), count++, word, n.expected, true);
                    }
                    if (extra != 0 && !slots.containsKey(extra)) {
                        slots.put(extra, n.extraExpected);
                        Futex.putWaitv(buffer.asSlice(WAITV), count++, extra, n.extraExpected, true);
                    }
                    if (g.sequenceAddress != 0 && !slots.containsKey(g.sequenceAddress)) {
                        slots.put(g.sequenceAddress, g.generation);
                        Futex.putWaitv(buffer.asSlice(WAITV), count++, g.sequenceAddress, g.generation, true);
                    }
                }
                int r = Futex.waitv(buffer.address() + WAITV, count, 0, capture);
                if (r == -Posix.EFAULT) {
                    // A word's memory went away between the checks above and the call; the next pass's
                    // wordChanged() fires its waiters (their segment is closed).
                    Thread.onSpinWait();
                }
            }
        }
    }

    static int wordsPerWorker() {
        return WORDS_PER_WORKER;
    }
}
