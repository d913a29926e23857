package io.shmsync.internal.sync;

import java.lang.foreign.MemorySegment;
import java.lang.ref.WeakReference;
import java.util.Iterator;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The per-thread state of one blocking wait; the one wait core that every primitive uses.
 *
 * <p>Usage by a primitive's slow path (see {@code Mutex}, {@code RwSemaphore}):
 * <pre>{@code
 * WaitNode node = WaitNode.enter(guard);      // registers with the scope: close waits for us
 * try {
 *     ... word transitions; when it must block:
 *     if (!node.await(segment, wordOffset, expected, timed, deadline, interruptible)) -> timed out
 * } finally {
 *     ... undo the registration in the word if the wait failed;
 *     node.exit();
 * }
 * }</pre>
 * {@code await} is three phases, which a primitive may also call one by one to do word transitions between
 * them: {@link #prepare} opens the wait (everything that does not need the word: the interrupt hook, the
 * removal watch, the abort window), {@link #sleep} only sleeps, {@link #finish} closes the wait and reports
 * how it ended. {@code Semaphore} registers as a waiter in its word after {@code prepare} and deregisters
 * before {@code finish}, so that it is counted as a waiter only while it is about to sleep or asleep
 * (docs/PROTOCOL.md §3.2): a releaser makes a {@code FUTEX_WAKE} for every release while a waiter is counted.
 * <pre>{@code
 * boolean inTime;
 * try {
 *     if (node.prepare(segment, wordOffset, expected, interruptible)) {  // false: an abort is pending
 *         ... register in the word, re-read it;
 *         if (it still holds expected) node.sleep(timed, deadline);
 *         ... deregister;
 *     }
 * } finally {
 *     inTime = node.finish();                 // always; throws on interrupt, close, removal
 * }
 * }</pre>
 * A platform thread reuses one node for all its waits; a virtual thread gets a node per thread too, but
 * never makes a futex syscall itself (it would pin its carrier): it parks and lets the
 * {@link WaitMultiplexer} watch its word.
 */
public abstract sealed class WaitNode permits PlatformWaitNode, VirtualWaitNode {
    private static final ThreadLocal<WaitNode> NODES = ThreadLocal.withInitial(WaitNode::create);
    /**
     * Every node of the process (weakly: a node dies with its thread), so that {@link WaitScope#closeAndDrain()}
     * can find the waiters of a scope without the waits registering anywhere (which would allocate).
     */
    static final ConcurrentLinkedQueue<WeakReference<WaitNode>> ALL = new ConcurrentLinkedQueue<>();
    private static final AtomicInteger REGISTERED = new AtomicInteger();
    private static volatile int purgeAt = 1024;

    Guard guard;
    /** The scope this node is waiting in, or null; set by {@link WaitScope#enter}, read by its closer. */
    volatile WaitScope scope;

    private static WaitNode create() {
        WaitNode n = Thread.currentThread().isVirtual() ? new VirtualWaitNode() : new PlatformWaitNode();
        ALL.add(new WeakReference<>(n));
        if (REGISTERED.incrementAndGet() >= purgeAt) {
            int live = 0;
            for (Iterator<WeakReference<WaitNode>> it = ALL.iterator(); it.hasNext(); ) {
                if (it.next().get() == null) {
                    it.remove();
                } else {
                    live++;
                }
            }
            REGISTERED.set(live);
            purgeAt = 2 * live + 1024; // amortised: a purge per ~live new nodes
        }
        return n;
    }

    /** Aborts every node of this process that is waiting in {@code scope} (see {@link WaitScope#closeAndDrain()}). */
    static void abortAll(WaitScope scope) {
        for (WeakReference<WaitNode> ref : ALL) {
            WaitNode n = ref.get();
            if (n != null && n.scope == scope) {
                n.abort();
            }
        }
    }

    /** Enters a wait for an object protected by {@code guard}; pair with {@link #exit()} in a finally block. */
    public static WaitNode enter(Guard guard) {
        WaitNode node = NODES.get();
        if (node.guard != null) {
            throw new IllegalStateException("a thread cannot enter a second wait while in one (" + node.guard.description()
                    + ")");
        }
        guard.scope.enter(node);
        node.guard = guard;
        return node;
    }

    /** Leaves the scope entered with {@link #enter(Guard)}. */
    public final void exit() {
        Guard g = guard;
        guard = null;
        if (g != null) {
            g.scope.exit(this);
        }
    }

    /**
     * Blocks while the 32-bit word at {@code segment + offset} equals {@code expected}; may return
     * spuriously: the caller re-reads its word and decides. Equivalent to {@link #prepare}, {@link #sleep}
     * (if {@code prepare} returned true) and {@link #finish}.
     *
     * @param timed         whether {@code deadline} applies
     * @param deadline      a {@link System#nanoTime()} deadline (CLOCK_MONOTONIC)
     * @param interruptible whether {@link Thread#interrupt()} ends the wait with {@link InterruptedException}
     * @return false if the deadline passed, true otherwise (woken, spurious, word changed)
     * @throws InterruptedException if interruptible and interrupted (the interrupt status is cleared)
     * @throws io.shmsync.ObjectRemovedException if the guarded object was removed
     * @throws io.shmsync.RegionClosedException if this process closed the mapping
     */
    public final boolean await(MemorySegment segment, long offset, int expected, boolean timed, long deadline,
                               boolean interruptible) throws InterruptedException {
        return await(segment, offset, expected, -1, 0, timed, deadline, interruptible);
    }

    /**
     * As {@link #await(MemorySegment, long, int, boolean, long, boolean)}, but also returns when the 32-bit
     * word at {@code segment + extraOffset} no longer equals {@code extraExpected} (a robust mutex waiter
     * watches its owner's lease word this way, docs/PROTOCOL.md §6). The extra word is shared (not private)
     * and is compared before sleeping like the main word; {@code extraOffset < 0} means none.
     */
    public final boolean await(MemorySegment segment, long offset, int expected, long extraOffset, int extraExpected,
                               boolean timed, long deadline, boolean interruptible) throws InterruptedException {
        boolean inTime;
        try {
            if (prepare(segment, offset, expected, extraOffset, extraExpected, interruptible)) {
                sleep(timed, deadline);
            }
        } finally {
            inTime = finish();
        }
        return inTime;
    }

    /** {@link #prepare(MemorySegment, long, int, long, int, boolean)} without an extra word. */
    public final boolean prepare(MemorySegment segment, long offset, int expected, boolean interruptible) {
        return prepare(segment, offset, expected, -1, 0, interruptible);
    }

    /**
     * Phase 1 of a wait (see the class comment): opens a wait on the word(s) of
     * {@link #await(MemorySegment, long, int, long, int, boolean, long, boolean)}, so that from now on an
     * interrupt (if {@code interruptible}), a close of the scope or a removal of the object ends a
     * {@link #sleep} of this wait, even one that has not started yet (docs/PROTOCOL.md §3.4). Makes no
     * system call once the thread has waited on the object before. Must be followed by {@link #finish()},
     * in a finally block, whatever it returns or throws.
     *
     * @return true if the thread may {@link #sleep}; false if an abort (interrupt, close, removal) is already
     *         pending: then {@link #finish()} reports it
     */
    public abstract boolean prepare(MemorySegment segment, long offset, int expected, long extraOffset,
                                    int extraExpected, boolean interruptible);

    /**
     * Phase 2 of a wait: blocks while the word(s) given to {@link #prepare} hold their expected values, until
     * woken, aborted, spuriously, or (if {@code timed}) until {@code deadline}; call at most once per
     * {@code prepare}, and only if it returned true. Throws nothing: {@link #finish()} reports the outcome.
     */
    public abstract void sleep(boolean timed, long deadline);

    /**
     * Phase 3 of a wait: closes the wait opened by {@link #prepare} (call exactly once per {@code prepare},
     * whether or not the thread slept) and reports how it ended.
     *
     * @return false if {@link #sleep} ended at its deadline, true otherwise (woken, spurious, word changed,
     *         or no sleep)
     * @throws InterruptedException if interruptible and interrupted (the interrupt status is cleared)
     * @throws io.shmsync.ObjectRemovedException if the guarded object was removed
     * @throws io.shmsync.RegionClosedException if this process closed the mapping
     */
    public abstract boolean finish() throws InterruptedException;

    /**
     * Called by {@link WaitScope#closeAndDrain()} from another thread, after it set {@code closing}: end the
     * current wait now (returns when the waiter has left the kernel, or at once if it is not in it).
     */
    abstract void abort();

    /** Common checks after any return from a sleep. */
    final void checkAfterWake() {
        Guard g = guard;
        if (g.scope.isClosing()) {
            throw g.scope.closedException();
        }
        if (g.removed()) {
            throw g.removedException();
        }
    }
}
