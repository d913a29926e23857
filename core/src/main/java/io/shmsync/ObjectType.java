package io.shmsync;

/** The kinds of named object a region's directory can hold (docs/PROTOCOL.md §2). */
public enum ObjectType {
    /** A counting semaphore laid out as glibc's {@code sem_t}. */
    SEMAPHORE(1, 64),
    /** A robust, process-shared mutex laid out as glibc's {@code pthread_mutex_t} (docs/PROTOCOL.md §6). */
    MUTEX(2, 64),
    /** A read-write semaphore: one 64-bit state word, phase-fair hand-off to readers (docs/PROTOCOL.md §7). */
    RWSEM(3, 64),
    /** A semaphore whose permits come back when their process dies, SysV {@code SEM_UNDO} (docs/PROTOCOL.md §6.8). */
    UNDO_SEMAPHORE(5, 64);

    public static final int SEMAPHORE_VALUE = 1;
    public static final int MUTEX_VALUE = 2;
    public static final int RWSEM_VALUE = 3;
    public static final int UNDO_SEMAPHORE_VALUE = 5;

    private final int code;
    private final int minimumSize;

    ObjectType(int code, int minimumSize) {
        this.code = code;
        this.minimumSize = minimumSize;
    }

    /** The {@code type} value stored in the directory entry. */
    public int code() {
        return code;
    }

    /** The smallest valid object size of this type, in bytes. */
    public int minimumSize() {
        return minimumSize;
    }

    /** @return the type with this code, or null if the code is unknown */
    public static ObjectType ofCode(int code) {
        for (ObjectType t : values()) {
            if (t.code == code) {
                return t;
            }
        }
        return null;
    }
}
