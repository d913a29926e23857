package io.shmsync.internal.sync;

import io.shmsync.RegionClosedException;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The local waiters of one mapping (a region or a POSIX semaphore file). Closing the mapping first
 * {@linkplain #closeAndDrain() aborts} every thread of this process blocked on its words, and waits until
 * all have left their wait, so that memory is never unmapped under a sleeping thread.
 */
public final class WaitScope {
    private final String name;
    private final Set<WaitNode> active = ConcurrentHashMap.newKeySet();
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
        active.add(node);
        if (closing) {
            active.remove(node);
            throw closedException();
        }
    }

    void exit(WaitNode node) {
        active.remove(node);
        if (closing) {
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
        return active.size();
    }

    /**
     * Marks the scope closing, aborts every local waiter (they throw {@link RegionClosedException}) and
     * returns when none is left inside a wait. Idempotent.
     */
    public void closeAndDrain() {
        closing = true;
        boolean interrupted = false;
        synchronized (this) {
            while (!active.isEmpty()) {
                for (WaitNode n : active) {
                    n.abort();
                }
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
