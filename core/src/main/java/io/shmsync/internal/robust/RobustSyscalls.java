package io.shmsync.internal.robust;

import io.shmsync.internal.posix.Syscall;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * {@code set_robust_list(2)}, {@code tgkill(2)} and {@code kill(2)} through the shared binding of libc's
 * variadic {@code syscall(3)} ({@link Syscall}); used by the lease thread and the process table.
 */
final class RobustSyscalls {
    private RobustSyscalls() {
    }

    static final int ESRCH = 3;
    /** {@code sizeof(struct robust_list_head)} on 64-bit Linux; any other length is {@code EINVAL}. */
    static final long ROBUST_LIST_HEAD_SIZE = 24;

    /** {@code syscall(nr, a1, a2, a3)}: 0 or {@code -errno}, errno captured in a confined arena. */
    private static int call(long nr, long a1, long a2, long a3) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment cap = a.allocate(Syscall.captureLayout());
            long r = Syscall.call(cap, nr, a1, a2, a3, 0L, 0L, 0L);
            return r == 0 ? 0 : -Syscall.errno(cap);
        }
    }

    /**
     * {@code tgkill(pid, tid, 0)}: whether thread {@code tid} of process {@code pid} exists, in the caller's
     * PID namespace, without sending anything. Unlike {@code /proc}, not hidden by {@code hidepid}.
     *
     * @return 0 (exists), {@code -EPERM} (exists, not ours to signal), {@code -ESRCH} (no such thread), ...
     */
    static int tgkill0(int pid, int tid) {
        return call(Syscall.SYS_TGKILL, pid, tid, 0L);
    }

    /** {@code kill(tid, 0)}: whether a task with this TID exists (any thread ID names its thread group). */
    static int kill0(int tid) {
        return call(Syscall.SYS_KILL, tid, 0L, 0L);
    }

    /**
     * Registers {@code head} as the calling thread's robust list.
     *
     * @return 0, or {@code -errno}
     */
    static int setRobustList(long head) {
        return call(Syscall.SYS_SET_ROBUST_LIST, head, ROBUST_LIST_HEAD_SIZE, 0L);
    }
}
