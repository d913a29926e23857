package io.shmsync.internal.sync;

import io.shmsync.RegionClosedException;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * The local waiters of one mapping (a region or a POSIX semaphore file). Closing the mapping first
 * {@linkplain #closeAndDrain() aborts} every thread of this process blocked on its words, and waits until
 * all have left their wait, so that memory is never unmapped under a sleeping thread.
 *
 * <p>Entering and leaving allocate nothing: a waiter marks its (per-thread, reused) {@link WaitNode} with the
 * scope and counts itself in {@link #activeWaiters()}; the closer finds the marked nodes among all nodes of
 * the process ({@link WaitNode#abortAll(WaitScope)}). Either a waiter's {@link #enter} sees {@code closing}
 * (and fails), or the closer sees it counted and marked (both sides write, then read, volatile variables).
 */
public final class WaitScope {
    private static final VarHandle ACTIVE;

    static {
        try {
            ACTIVE = MethodHandles.lookup().findVarHandle(WaitScope.class, "active", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final String name;
    @SuppressWarnings("unused") // through ACTIVE
    private volatile int active;
    private volatile boolean closing;

    public WaitScope(String name) {
        this.name = name;
    }

    public String name() {
        return name;
    }

    public boolean isClosing() {
        return closing;
    }

    void enter(WaitNode node) {
        node.scope = this;
        ACTIVE.getAndAdd(this, 1);
        if (closing) {
            exit(node);
            throw closedException();
        }
    }

    void exit(WaitNode node) {
        node.scope = null;
        if ((int) ACTIVE.getAndAdd(this, -1) == 1 && closing) {
            synchronized (this) {
                notifyAll();
            }
        }
    }

    RegionClosedException closedException() {
        return new RegionClosedException(name + " was closed by this process while a thread was waiting on it");
    }

    /** Number of threads of this process currently waiting on this scope. */
    public int activeWaiters() {
        return active;
    }

    /**
     * Marks the scope closing, aborts every local waiter (they throw {@link RegionClosedException}) and
     * returns when none is left inside a wait. Idempotent.
     */
    public void closeAndDrain() {
        closing = true;
        RemovalWatcher.kickAll(); // it drops this scope's words before they are unmapped
        boolean interrupted = false;
        synchronized (this) {
            while (active != 0) {
                WaitNode.abortAll(this);
                try {
                    wait(10);
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }
}
