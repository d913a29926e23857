package io.shmsync;

/**
 * Thrown by a {@link Mutex} lock method when the mutex is permanently unusable (glibc's
 * {@code ENOTRECOVERABLE}): a thread that acquired it after an owner died unlocked it without calling
 * {@link Mutex#markConsistent()}. The caller does not hold the mutex. The only way out is to
 * {@linkplain Region#remove(String) remove} the mutex and create it again.
 */
public class NotRecoverableException extends IllegalStateException {
    private static final long serialVersionUID = 1L;

    public NotRecoverableException(String message) {
        super(message);
    }
}
