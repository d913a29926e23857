package io.shmsync.internal.robust;

import io.shmsync.internal.posix.Posix;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Whether a process whose lease was lost can still execute user code (docs/PROTOCOL.md §6.4 "Owner death"):
 * the kernel walks the lease thread's robust list when the lease thread exits, and the process's other threads
 * exit a moment later, each at its own pace. Read from {@code /proc/PID/task}, guarded against PID reuse by the
 * start time the slot recorded.
 */
final class DeadProcess {
    private DeadProcess() {
    }

    private static final long SIGKILL_BIT = 1L << (9 - 1);

    /**
     * False once no thread of process ({@code pid}, {@code startTime}) can run user code again: every thread
     * has exited (zombie or dead), or is blocked in the kernel (not running) with {@code SIGKILL} pending —
     * such a thread never returns to user mode: it exits when it leaves the kernel (a thread stuck in
     * uninterruptible sleep, state D, counts as stopped). A thread that is running ({@code R}) may be in user
     * mode until the kill's IPI reaches it, so it is waited for. Also false if the process is this one, is
     * gone, or the PID now names another process.
     */
    static boolean mayRunUserCode(int pid, long startTime) {
        if (pid <= 0 || pid == Posix.getpid()) {
            return false;
        }
        long st = ProcessTable.startTime(Integer.toString(pid));
        if (st < 0 || (startTime > 0 && st != startTime)) {
            return false;
        }
        try (var tasks = Files.newDirectoryStream(Path.of("/proc", Integer.toString(pid), "task"))) {
            for (Path t : tasks) {
                if (threadMayRunUserCode(t)) {
                    return true;
                }
            }
            return false;
        } catch (IOException | RuntimeException gone) {
            return false;
        }
    }

    private static boolean threadMayRunUserCode(Path task) {
        try {
            String stat = Files.readString(task.resolve("stat"));
            char state = stat.charAt(stat.lastIndexOf(')') + 2);
            if (state == 'Z' || state == 'X' || state == 'x') {
                return false;
            }
            if (state == 'R') {
                return true;
            }
            // Read after the state: a SIGKILL seen now was queued before the lease thread's exit (the kill, or
            // exit_group's zap of the other threads, precedes it), so this thread was already unable to
            // return to user mode when it was seen blocked.
            long pending = 0;
            for (String line : Files.readAllLines(task.resolve("status"))) {
                if (line.startsWith("SigPnd:") || line.startsWith("ShdPnd:")) {
                    pending |= Long.parseUnsignedLong(line.substring(7).trim(), 16);
                }
            }
            return (pending & SIGKILL_BIT) == 0;
        } catch (IOException | RuntimeException gone) {
            return false; // the thread exited meanwhile
        }
    }
}
