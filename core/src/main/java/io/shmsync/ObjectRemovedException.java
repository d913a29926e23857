package io.shmsync;

/**
 * Thrown by an operation on a handle whose object was removed from its region (by this or another
 * process) after the handle was obtained, and by a wait that was blocked on it when it was removed. The
 * handle is dead: look the name up again to get the object that may have replaced it.
 */
public class ObjectRemovedException extends IllegalStateException {
    private static final long serialVersionUID = 1L;

    public ObjectRemovedException(String message) {
        super(message);
    }
}
