package io.shmsync.internal.sync;

import java.lang.foreign.MemorySegment;
import java.lang.ref.WeakReference;
import java.util.Iterator;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The per-thread state of one blocking wait; the one wait core that every primitive uses.
 *
 * <p>Usage by a primitive's slow path (see {@code Semaphore}):
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
     * spuriously: the caller re-reads its word and decides.
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
    public abstract boolean await(MemorySegment segment, long offset, int expected, long extraOffset,
                                  int extraExpected, boolean timed, long deadline, boolean interruptible)
            throws InterruptedException;

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
