package io.shmsync;

/** A name exists in a region's directory, but as another type of object than the one asked for. */
public class ObjectTypeMismatchException extends IllegalStateException {
    private static final long serialVersionUID = 1L;

    public ObjectTypeMismatchException(String message) {
        super(message);
    }
}
