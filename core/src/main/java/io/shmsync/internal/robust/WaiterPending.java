package io.shmsync.internal.robust;


import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;

/**
 * A blocked waiter's claim on the kernel's exit-time wake-up (docs/PROTOCOL.md §6.4 "Waiter death"): while a
 * platform thread waits for a robust mutex, the {@code list_op_pending} field of <em>its own</em> robust-list
 * head — the one glibc registered for every thread it created, found with {@code get_robust_list(0, ...)} —
 * names the mutex's list entry. If the thread dies before it acquired the mutex or gave up (possibly after its
 * futex wake-up was consumed), the kernel's {@code handle_futex_death} sees a pending entry whose word has no
 * owner and wakes one waiter in its place, as it does for glibc's own robust waiters.
 *
 * <p>Only a platform thread's own head is touched, only by that thread, only between {@link #arm} and
 * {@link #disarm}, and only when it is glibc's layout ({@code futex_offset} = −32, the same as shmsync's
 * list entries) and idle ({@code list_op_pending} = 0). Virtual threads wait in the multiplexer's workers and
 * are not covered ({@link #arm} returns {@link #NOT_ARMED}).
 */
public final class WaiterPending {
    private WaiterPending() {
    }

    /** Returned by {@link #arm} when nothing was armed. */
    public static final long NOT_ARMED = 0L;

    private static final VarHandle LONG = ValueLayout.JAVA_LONG.varHandle();
    private static final long PENDING = 16;

    /** The calling platform thread's {@code &head->list_op_pending}, or 0 if it cannot be used. */
    private static final ThreadLocal<long[]> PENDING_ADDRESS = ThreadLocal.withInitial(() -> new long[] {lookup()});

    private static long lookup() {
        long head = ThreadList.glibcHead();
        return head == 0 ? 0 : head + PENDING;
    }

    /**
     * Before the first sleep of a wait: {@code list_op_pending} = {@code entryAddress} on the calling
     * platform thread's own robust-list head.
     *
     * @return the address armed (to pass to {@link #disarm}), or {@link #NOT_ARMED}
     */
    public static long arm(long entryAddress) {
        if (Thread.currentThread().isVirtual()) {
            return NOT_ARMED;
        }
        long pending = PENDING_ADDRESS.get()[0];
        if (pending == 0 || !LONG.compareAndSet(RobustList.RAW, pending, 0L, entryAddress)) {
            return NOT_ARMED;
        }
        return pending;
    }

    /** After the wait ended (acquired, gave up or failed): {@code list_op_pending} = 0 again. */
    public static void disarm(long armed) {
        if (armed != NOT_ARMED) {
            LONG.setVolatile(RobustList.RAW, armed, 0L);
        }
    }
}
