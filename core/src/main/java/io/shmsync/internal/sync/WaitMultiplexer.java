package io.shmsync.internal.sync;

import io.shmsync.internal.futex.Futex;

import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;

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
    private static final WaitvWorker.Pool<Worker> POOL = new WaitvWorker.Pool<>("shmsync-wait-multiplexer-", Worker::new);

    private WaitMultiplexer() {
    }

    static void register(VirtualWaitNode node) {
        POOL.get(0).submit(node);
    }

    static void cancel(VirtualWaitNode node) {
        // The node is marked cancelled; kick every worker so that none keeps sleeping on its word.
        POOL.kickAll();
    }

    /** Number of worker threads started so far (for tests and diagnostics). */
    static int workers() {
        return POOL.size();
    }

    private static final class Worker extends WaitvWorker<VirtualWaitNode> {
        private final Set<VirtualWaitNode> nodes = new LinkedHashSet<>();
        private final Map<Long, Integer> slots = new HashMap<>(); // word address -> expected (distinct words)

        Worker(int index) {
            super(index);
        }

        @Override
        void accept(VirtualWaitNode n) {
            nodes.add(n);
        }

        @Override
        void fill() {
            slots.clear();
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
                if (need > room()) {
                    it.remove();
                    POOL.get(index + 1).submit(n); // does not fit: the next worker takes it
                    continue;
                }
                if (!slots.containsKey(word)) {
                    slots.put(word, n.expected);
                    add(word, n.expected, true);
                }
                if (extra != 0 && !slots.containsKey(extra)) {
                    slots.put(extra, n.extraExpected);
                    add(extra, n.extraExpected, true);
                }
                if (g.sequenceAddress != 0 && !slots.containsKey(g.sequenceAddress)) {
                    slots.put(g.sequenceAddress, g.generation);
                    add(g.sequenceAddress, g.generation, true);
                }
            }
        }
    }

    static int wordsPerWorker() {
        return WORDS_PER_WORKER;
    }
}
