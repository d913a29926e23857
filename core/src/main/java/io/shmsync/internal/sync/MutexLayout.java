package io.shmsync.internal.sync;

/**
 * A mutex object: glibc's x86_64 {@code pthread_mutex_t} (40 bytes, robust and process-shared) followed by
 * shmsync's holder fields (docs/PROTOCOL.md §6.1; a test checks these constants against that table).
 *
 * <pre>
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-----------------------------------------------------------+
 * |W|D|            owner TID (30 bits)         __lock (futex word) |  0
 * +-+-+-----------------------------------------------------------+
 * |                            __count                            |  4
 * |       __owner (C TID, 0, INCONSISTENT or NOTRECOVERABLE)       |  8
 * |                           __nusers                            | 12
 * |              __kind = 146 (ROBUST | ERRORCHECK | PSHARED)      | 16
 * +-------------------------------+-------------------------------+
 * |            __spins            |           __elision           | 20
 * +-------------------------------+-------------------------------+
 * |         __list.__prev (process-local pointer of the holder)    | 24
 * |         __list.__next (process-local pointer of the holder)    | 32
 * +---------------------------------------------------------------+
 * |              holder_thread (Java thread id, u64)               | 40
 * |                      reserved (16 bytes)                      | 48
 * +---------------------------------------------------------------+
 * W = FUTEX_WAITERS (bit 31), D = FUTEX_OWNER_DIED (bit 30)
 * </pre>
 */
public final class MutexLayout {
    private MutexLayout() {
    }

    public static final int LOCK_OFFSET = 0;
    public static final int COUNT_OFFSET = 4;
    public static final int OWNER_OFFSET = 8;
    public static final int NUSERS_OFFSET = 12;
    public static final int KIND_OFFSET = 16;
    public static final int SPINS_OFFSET = 20;
    public static final int ELISION_OFFSET = 22;
    public static final int LIST_PREV_OFFSET = 24;
    public static final int LIST_NEXT_OFFSET = 32;
    public static final int HOLDER_THREAD_OFFSET = 40;
    public static final int RESERVED_OFFSET = 48;

    /** Size of a mutex object in a region. */
    public static final int LENGTH = 64;
    /** Size of glibc's {@code pthread_mutex_t} on x86_64 and aarch64. */
    public static final int PTHREAD_MUTEX_T_LENGTH = 40;
    /** Bytes 48..63 that must be zero. */
    public static final int RESERVED_LENGTH = 16;

    /** {@code FUTEX_WAITERS}: some thread may sleep on the word; the releaser must wake one. */
    public static final int FUTEX_WAITERS = 0x8000_0000;
    /** {@code FUTEX_OWNER_DIED}: the kernel (or a cleaner) found the owner dead; the TID bits are 0. */
    public static final int FUTEX_OWNER_DIED = 0x4000_0000;
    /** {@code FUTEX_TID_MASK}: the owner's TID. */
    public static final int TID_MASK = 0x3FFF_FFFF;

    /** glibc's {@code PTHREAD_MUTEX_ERRORCHECK_NP}. */
    public static final int KIND_ERRORCHECK = 2;
    /** glibc's {@code PTHREAD_MUTEX_ROBUST_NORMAL_NP}. */
    public static final int KIND_ROBUST = 16;
    /** glibc's {@code PTHREAD_MUTEX_PSHARED_BIT}. */
    public static final int KIND_PSHARED = 128;
    /** The {@code __kind} shmsync writes: robust, error-checking, process-shared (as glibc 2.36 builds it). */
    public static final int KIND = KIND_ROBUST | KIND_ERRORCHECK | KIND_PSHARED;
    /** Also accepted: robust, normal (default type), process-shared; the same word protocol. */
    public static final int KIND_NORMAL = KIND_ROBUST | KIND_PSHARED;

    /** {@code __owner} after an owner death until {@code markConsistent}: glibc's {@code PTHREAD_MUTEX_INCONSISTENT}. */
    public static final int INCONSISTENT = Integer.MAX_VALUE;
    /** {@code __owner} of a mutex unlocked while inconsistent: glibc's {@code PTHREAD_MUTEX_NOTRECOVERABLE}. */
    public static final int NOTRECOVERABLE = Integer.MAX_VALUE - 1;

    /** The kernel walks at most this many entries of a robust list ({@code ROBUST_LIST_LIMIT}). */
    public static final int ROBUST_LIST_LIMIT = 2048;
}
