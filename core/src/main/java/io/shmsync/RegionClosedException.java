package io.shmsync;

/**
 * Thrown to a thread that was blocked on an object of a region (or POSIX semaphore) when this process
 * closed it, and by waits started after the close began. Other operations on a closed region throw the
 * {@link IllegalStateException} of the closed memory segment.
 */
public class RegionClosedException extends IllegalStateException {
    private static final long serialVersionUID = 1L;

    public RegionClosedException(String message) {
        super(message);
    }
}
