package io.shmsync.internal.futex;

import io.shmsync.internal.posix.Posix;
import io.shmsync.internal.posix.Syscall;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * Raw futex system calls through the shared binding of libc's {@code syscall(3)} ({@link Syscall}): {@code FUTEX_WAKE},
 * {@code FUTEX_WAIT_BITSET} (absolute {@code CLOCK_MONOTONIC} deadline) and {@code futex_waitv}.
 *
 * <p>Addresses are passed as raw {@code long}s so that the calls allocate nothing; callers guarantee the
 * memory is mapped (a wait is only made while its region cannot be unmapped, and a wake on memory that was
 * unmapped in the meantime fails harmlessly with {@code EFAULT}). Shared words use non-private operations,
 * so other processes and kernel threads wake them. The method handles are created when the class is
 * initialised, which {@link #init()} triggers when the first region or semaphore file is opened.
 */
public final class Futex {
    private Futex() {
    }

    public static final int FUTEX_WAKE = 1;
    public static final int FUTEX_WAIT_BITSET = 9;
    public static final int FUTEX_PRIVATE_FLAG = 128;
    public static final int FUTEX_BITSET_MATCH_ANY = -1;
    /** {@code struct futex_waitv} flags. */
    public static final int FUTEX2_SIZE_U32 = 2;
    public static final int FUTEX2_PRIVATE = 128;
    /** Size of {@code struct futex_waitv { u64 val; u64 uaddr; u32 flags; u32 __reserved; }}. */
    public static final long WAITV_ENTRY_SIZE = 24;
    /** Largest number of words one {@code futex_waitv} call can wait on ({@code FUTEX_WAITV_MAX}). */
    public static final int WAITV_MAX = 128;
    public static final int CLOCK_MONOTONIC = 1;

    private static final long SYS_FUTEX = Syscall.SYS_FUTEX;
    private static final long SYS_FUTEX_WAITV = Syscall.SYS_FUTEX_WAITV;

    /** Whether the kernel has {@code futex_waitv} (Linux 5.16+), probed once. */
    private static final boolean HAS_WAITV;

    static {
        boolean has;
        try (var arena = java.lang.foreign.Arena.ofConfined()) {
            MemorySegment cap = arena.allocate(Syscall.captureLayout());
            // nr_futexes == 0 is EINVAL on kernels that have the call, ENOSYS on those that do not.
            long r = Syscall.call(cap, SYS_FUTEX_WAITV, 0L, 0L, 0L, 0L, 0L, 0L);
            has = !(r == -1 && Syscall.errno(cap) == Posix.ENOSYS);
        }
        HAS_WAITV = has && !Boolean.getBoolean("io.shmsync.noWaitv");
    }

    /** Forces the method handles to be created now (65-100 ms the first time), not on a first contended wait. */
    public static void init() {
        // class initialisation does the work
    }

    /** @return whether {@code futex_waitv} is available (can be disabled with {@code -Dio.shmsync.noWaitv=true}) */
    public static boolean hasWaitv() {
        return HAS_WAITV;
    }

    /** The layout of the errno capture buffer a waiting thread keeps. */
    public static StructLayout captureLayout() {
        return Syscall.captureLayout();
    }

    public static int errno(MemorySegment capture) {
        return Syscall.errno(capture);
    }

    /**
     * {@code FUTEX_WAKE} on the 32-bit word at {@code address}: wakes up to {@code count} waiters.
     *
     * @param shared false to use {@code FUTEX_PRIVATE_FLAG} (only for words no other process uses)
     * @return the number woken, or -1 (e.g. {@code EFAULT} on memory unmapped since), which callers ignore
     */
    public static int wake(long address, int count, boolean shared) {
        return (int) Syscall.callCritical(SYS_FUTEX, address,
                shared ? FUTEX_WAKE : FUTEX_WAKE | FUTEX_PRIVATE_FLAG, count);
    }

    /**
     * {@code futex_waitv(waiters, n, 0, timeout, CLOCK_MONOTONIC)}.
     *
     * @param waitv   address of {@code n} {@code struct futex_waitv}
     * @param timeout address of an absolute {@code struct timespec} on {@code CLOCK_MONOTONIC}, or 0
     * @param capture errno capture buffer
     * @return index of a woken word (>= 0) or {@code -errno} ({@code -EAGAIN}: a word differed,
     *         {@code -ETIMEDOUT}, {@code -EINTR}, ...)
     */
    public static int waitv(long waitv, int n, long timeout, MemorySegment capture) {
        return (int) Syscall.callOrErrno(capture, SYS_FUTEX_WAITV, waitv, n, 0L, timeout, CLOCK_MONOTONIC, 0L);
    }

    /**
     * {@code FUTEX_WAIT_BITSET} on a shared word while it equals {@code expected}, until the absolute
     * {@code CLOCK_MONOTONIC} time at {@code timeout} (0: no deadline).
     *
     * @return 0 when woken (or spuriously), or {@code -errno} ({@code -EAGAIN}, {@code -ETIMEDOUT}, {@code -EINTR})
     */
    public static int waitBitset(long address, int expected, long timeout, boolean shared, MemorySegment capture) {
        long op = shared ? FUTEX_WAIT_BITSET : FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG;
        long r = Syscall.callOrErrno(capture, SYS_FUTEX, address, op, Integer.toUnsignedLong(expected), timeout, 0L,
                Integer.toUnsignedLong(FUTEX_BITSET_MATCH_ANY));
        return r >= 0 ? 0 : (int) r;
    }

    /** Writes one {@code struct futex_waitv} entry. */
    public static void putWaitv(MemorySegment array, int index, long address, int expected, boolean shared) {
        long base = index * WAITV_ENTRY_SIZE;
        array.set(JAVA_LONG, base, Integer.toUnsignedLong(expected));
        array.set(JAVA_LONG, base + 8, address);
        array.set(java.lang.foreign.ValueLayout.JAVA_INT, base + 16, shared ? FUTEX2_SIZE_U32 : FUTEX2_SIZE_U32 | FUTEX2_PRIVATE);
        array.set(java.lang.foreign.ValueLayout.JAVA_INT, base + 20, 0);
    }

    /** Writes an absolute {@code struct timespec} for a {@link System#nanoTime()} deadline (CLOCK_MONOTONIC). */
    public static void putDeadline(MemorySegment segment, long offset, long deadlineNanos) {
        segment.set(JAVA_LONG, offset, Math.floorDiv(deadlineNanos, 1_000_000_000L));
        segment.set(JAVA_LONG, offset + 8, Math.floorMod(deadlineNanos, 1_000_000_000L));
    }
}
