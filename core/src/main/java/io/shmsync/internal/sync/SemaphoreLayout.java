package io.shmsync.internal.sync;

/**
 * A semaphore object: glibc's x86_64 {@code struct new_sem} (docs/PROTOCOL.md §3.1; a test checks these
 * constants against that table).
 *
 * <pre>
 * data (u64, offset 0):
 *   bits  0-31  value     available permits, 0 .. SEM_VALUE_MAX; the low half is the futex word
 *   bits 32-63  nwaiters  threads registered as (potentially) blocked
 * private (u32, offset 8) = 128 (FUTEX_SHARED), pad (u32, offset 12) = 0, then zeros up to 32 (sem_t) / 64
 * </pre>
 */
public final class SemaphoreLayout {
    private SemaphoreLayout() {
    }

    public static final int DATA_OFFSET = 0;
    public static final int PRIVATE_OFFSET = 8;
    public static final int PAD_OFFSET = 12;
    public static final int GLIBC_RESERVED_OFFSET = 16;
    public static final int RESERVED_OFFSET = 32;

    /** Size of a semaphore object in a region. */
    public static final int LENGTH = 64;
    /** Size of glibc's {@code sem_t} (and of a {@code /dev/shm/sem.NAME} file). */
    public static final int SEM_T_LENGTH = 32;
    public static final int SEM_VALUE_MAX = Integer.MAX_VALUE;
    public static final int NWAITERS_SHIFT = 32;
    public static final long ONE_WAITER = 1L << NWAITERS_SHIFT;
    public static final long VALUE_MASK = 0xFFFF_FFFFL;
    /** glibc's {@code FUTEX_SHARED}: the value of {@code private} for a process-shared semaphore. */
    public static final int FUTEX_SHARED = 128;
}
