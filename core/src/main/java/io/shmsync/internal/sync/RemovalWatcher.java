package io.shmsync.internal.sync;

import io.shmsync.internal.futex.Futex;

import java.lang.ref.WeakReference;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

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
    private static final WaitvWorker.Pool<Worker> POOL = new WaitvWorker.Pool<>("shmsync-removal-watcher-", Worker::new);

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
        POOL.get(0).submit(g);
    }

    /** Lets every worker drop the guards of a closing scope now (they would on their next pass anyway). */
    static void kickAll() {
        POOL.kickAll();
    }

    /** Number of worker threads started so far (tests, diagnostics). */
    static int workers() {
        return POOL.size();
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

    private static final class Worker extends WaitvWorker<Guard> {
        private final Map<Key, Guard> watched = new LinkedHashMap<>();

        Worker(int index) {
            super(index);
        }

        @Override
        void accept(Guard g) {
            watched.putIfAbsent(Key.of(g), g);
        }

        @Override
        void fill() {
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
                if (room() == 0) {
                    it.remove();
                    POOL.get(index + 1).submit(g); // does not fit: the next worker takes it
                    continue;
                }
                add(g.sequenceAddress, g.generation, true);
            }
        }
    }

    static int wordsPerWorker() {
        return WORDS_PER_WORKER;
    }
}
