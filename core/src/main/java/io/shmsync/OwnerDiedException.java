package io.shmsync;

/**
 * Thrown by a {@link Mutex} lock method that <b>acquired</b> the mutex after its previous owner died while
 * holding it (glibc's {@code EOWNERDEAD}). The calling thread holds the mutex when it catches this
 * exception: the data it protects may be half-updated. Repair the data, call {@link Mutex#markConsistent()},
 * then {@link Mutex#unlock()} as usual. Unlocking without {@code markConsistent()} makes the mutex
 * permanently unrecoverable ({@link NotRecoverableException} for every later locker).
 *
 * <pre>{@code
 * try {
 *     mutex.lock();
 * } catch (OwnerDiedException e) {
 *     repair(shared);           // we hold the lock here
 *     mutex.markConsistent();
 * }
 * try {
 *     update(shared);
 * } finally {
 *     mutex.unlock();
 * }
 * }</pre>
 *
 * <p>Each death of a holder is reported to exactly one next owner. The death is learnt from the kernel's
 * robust-futex list, or — for a lock taken in the instant its process was killed — from the owner's
 * process lease; {@link #markedByKernel()} tells which.
 */
public class OwnerDiedException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final transient Mutex mutex;
    private final int ownerTid;
    private final int ownerPid;
    private final boolean markedByKernel;

    public OwnerDiedException(Mutex mutex, int ownerTid, int ownerPid, boolean markedByKernel, String message) {
        super(message);
        this.mutex = mutex;
        this.ownerTid = ownerTid;
        this.ownerPid = ownerPid;
        this.markedByKernel = markedByKernel;
    }

    /** The mutex, now held by the thread that caught this exception. */
    public Mutex mutex() {
        return mutex;
    }

    /** The dead owner's lease TID if known (the kernel clears it from the word), else 0. */
    public int ownerTid() {
        return ownerTid;
    }

    /** The dead owner's PID if known from the process table, else 0. */
    public int ownerPid() {
        return ownerPid;
    }

    /**
     * True if the kernel marked the lock word {@code FUTEX_OWNER_DIED}; false if the death was learnt from the
     * owner's process lease (the lock was taken in the instant the process was killed) or from a corrupt
     * {@code __owner}.
     */
    public boolean markedByKernel() {
        return markedByKernel;
    }
}
