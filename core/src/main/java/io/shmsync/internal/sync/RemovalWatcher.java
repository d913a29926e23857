package io.shmsync.internal.sync;

import io.shmsync.internal.futex.Futex;
import io.shmsync.internal.posix.Posix;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.lang.ref.WeakReference;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * Watches, for the platform threads of this process, the directory-entry {@code sequence} words of the
 * objects they wait on, so that their futex waits need not (docs/PROTOCOL.md §3.4): a wait on one word is
 * markedly cheaper than {@code futex_waitv} on two.
 *
 * <p>A guard is registered once, before the first platform wait on it ({@link #watch(Guard)}), and stays
 * watched until its object is removed or its scope closes; guards with the same (scope, word, generation)
 * share one watch. Each worker is a daemon thread sleeping in {@code futex_waitv} on up to 127 such words
 * plus its private control word. When a word no longer holds its generation (a removal; the remover also
 * wakes it), the worker aborts every local platform waiter of that object the way {@code Thread.interrupt()}
 * does: it wakes the waiter's object word until the waiter's window has closed ({@link PlatformWaitNode}).
 *
 * <p>No removal is missed: the worker compares values, not wake-ups (a change made while it is not inside
 * the syscall makes the next call return at once); a waiter registers its guard before it opens its window
 * and, after opening it, reads {@code sequence} once more (volatile) before it sleeps, while the worker reads
 * {@code sequence} before it reads the waiter's window. So either the waiter sees the removal and does not
 * sleep, or the worker sees its window open and wakes it until it has left the kernel.
 */
final class RemovalWatcher {
    private static final int WORDS_PER_WORKER = Futex.WAITV_MAX - 1;
    private static final VarHandle INT = ValueLayout.JAVA_INT.varHandle();
    private static final List<Worker> WORKERS = new ArrayList<>();

    private RemovalWatcher() {
    }

    /** Makes sure {@code g}'s sequence word is watched; cheap (one volatile read) after the first call. */
    static void watch(Guard g) {
        if (!g.watched) {
            register(g);
        }
    }

    private static void register(Guard g) {
        synchronized (g) {
            if (g.watched) {
                return;
            }
            g.watched = true;
        }
        worker(0).submit(g);
    }

    /** Lets every worker drop the guards of a closing scope now (they would on their next pass anyway). */
    static void kickAll() {
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
                Thread.ofPlatform().daemon().name("shmsync-removal-watcher-" + w.index).start(w::run);
            }
            return WORKERS.get(index);
        }
    }

    /** Number of worker threads started so far (tests, diagnostics). */
    static int workers() {
        synchronized (WORKERS) {
            return WORKERS.size();
        }
    }

    /** Aborts this process's platform waiters on the object of {@code g} (its scope, word and generation). */
    static void abortWaiters(Guard g) {
        for (WeakReference<WaitNode> ref : WaitNode.ALL) {
            if (ref.get() instanceof PlatformWaitNode n) {
                n.abortIfWaitingOn(g);
            }
        }
    }

    private record Key(WaitScope scope, long address, int generation) {
        static Key of(Guard g) {
            return new Key(g.scope, g.sequenceAddress, g.generation);
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Key k && k.scope == scope && k.address == address && k.generation == generation;
        }

        @Override
        public int hashCode() {
            return Objects.hash(System.identityHashCode(scope), address, generation);
        }
    }

    private static final class Worker {
        private static final long CONTROL = 0;
        private static final long WAITV = 8;

        final int index;
        private final ConcurrentLinkedQueue<Guard> pending = new ConcurrentLinkedQueue<>();
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

        void submit(Guard g) {
            pending.add(g);
            kick();
        }

        void kick() {
            INT.getAndAdd(buffer, CONTROL, 1);
            Futex.wake(controlAddress, 1, false);
        }

        void run() {
            Map<Key, Guard> watched = new LinkedHashMap<>();
            MemorySegment waitv = buffer.asSlice(WAITV);
            for (;;) {
                int control = (int) INT.getVolatile(buffer, CONTROL);
                for (Guard g; (g = pending.poll()) != null; ) {
                    watched.putIfAbsent(Key.of(g), g);
                }
                int count = 0;
                Futex.putWaitv(waitv, count++, controlAddress, control, false);
                var it = watched.values().iterator();
                while (it.hasNext()) {
                    Guard g = it.next();
                    boolean removed;
                    try {
                        if (g.scope.isClosing()) {
                            it.remove(); // close aborts its waiters itself
                            continue;
                        }
                        removed = g.removedVolatile();
                    } catch (RuntimeException unmapped) {
                        it.remove();
                        continue;
                    }
                    if (removed) {
                        it.remove();
                        abortWaiters(g);
                        continue;
                    }
                    if (count == Futex.WAITV_MAX) {
                        it.remove();
                        worker(index + 1).submit(g); // does not fit: the next worker takes it
                        continue;
                    }
                    Futex.putWaitv(waitv, count++, g.sequenceAddress, g.generation, true);
                }
                int r = Futex.waitv(buffer.address() + WAITV, count, 0, capture);
                if (r == -Posix.EFAULT) {
                    Thread.onSpinWait(); // a word's memory went away: the next pass drops its guard
                }
            }
        }
    }

    static int wordsPerWorker() {
        return WORDS_PER_WORKER;
    }
}
