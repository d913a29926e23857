package io.shmsync;

/** A region has no free directory entry, or no free space big enough, for a new object. */
public class RegionFullException extends IllegalStateException {
    private static final long serialVersionUID = 1L;

    public RegionFullException(String message) {
        super(message);
    }
}
