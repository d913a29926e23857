package io.shmsync.internal.robust;

import io.shmsync.internal.posix.NativeAccess;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

/** {@code set_robust_list(2)} through libc's variadic {@code syscall(3)}; used once, by the lease thread. */
final class RobustSyscalls {
    private RobustSyscalls() {
    }

    private static final boolean AARCH64 = "aarch64".equals(System.getProperty("os.arch"));
    private static final long SYS_SET_ROBUST_LIST = AARCH64 ? 99 : 273;
    private static final long SYS_TGKILL = AARCH64 ? 131 : 234;
    private static final long SYS_KILL = AARCH64 ? 129 : 62;
    static final int ESRCH = 3;
    /** {@code sizeof(struct robust_list_head)} on 64-bit Linux; any other length is {@code EINVAL}. */
    static final long ROBUST_LIST_HEAD_SIZE = 24;

    private static final StructLayout CAPTURE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CAPTURE.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final MethodHandle SYSCALL2;
    private static final MethodHandle SYSCALL3;

    static {
        NativeAccess.require();
        Linker linker = Linker.nativeLinker();
        SYSCALL2 = linker.downcallHandle(linker.defaultLookup().find("syscall").orElseThrow(),
                FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG),
                Linker.Option.firstVariadicArg(1), Linker.Option.captureCallState("errno"));
        SYSCALL3 = linker.downcallHandle(linker.defaultLookup().find("syscall").orElseThrow(),
                FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG),
                Linker.Option.firstVariadicArg(1), Linker.Option.captureCallState("errno"));
    }

    /**
     * {@code tgkill(pid, tid, 0)}: whether thread {@code tid} of process {@code pid} exists, in the caller's
     * PID namespace, without sending anything. Unlike {@code /proc}, not hidden by {@code hidepid}.
     *
     * @return 0 (exists), {@code -EPERM} (exists, not ours to signal), {@code -ESRCH} (no such thread), ...
     */
    static int tgkill0(int pid, int tid) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment cap = a.allocate(CAPTURE);
            long r = (long) SYSCALL3.invokeExact(cap, SYS_TGKILL, (long) pid, (long) tid, 0L);
            return r == 0 ? 0 : -(int) ERRNO.get(cap, 0L);
        } catch (Throwable t) {
            throw new IllegalStateException("tgkill failed", t);
        }
    }

    /** {@code kill(tid, 0)}: whether a task with this TID exists (any thread ID names its thread group). */
    static int kill0(int tid) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment cap = a.allocate(CAPTURE);
            long r = (long) SYSCALL2.invokeExact(cap, SYS_KILL, (long) tid, 0L);
            return r == 0 ? 0 : -(int) ERRNO.get(cap, 0L);
        } catch (Throwable t) {
            throw new IllegalStateException("kill failed", t);
        }
    }

    /**
     * Registers {@code head} as the calling thread's robust list.
     *
     * @return 0, or {@code -errno}
     */
    static int setRobustList(long head) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment cap = a.allocate(CAPTURE);
            long r = (long) SYSCALL2.invokeExact(cap, SYS_SET_ROBUST_LIST, head, ROBUST_LIST_HEAD_SIZE);
            return r == 0 ? 0 : -(int) ERRNO.get(cap, 0L);
        } catch (Throwable t) {
            throw new IllegalStateException("set_robust_list failed", t);
        }
    }
}
