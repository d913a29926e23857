package io.shmsync.internal.posix;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The one binding of libc's variadic {@code syscall(3)} (and the per-architecture system call numbers) that
 * every raw system call of the library goes through: the futex calls ({@code Futex}) and the robust-list,
 * {@code tgkill} and {@code kill} calls of the lease machinery ({@code RobustSyscalls}).
 *
 * <p>Two handles: {@link #call} takes up to six arguments (unused ones are 0; the kernel ignores registers a
 * call does not read) and captures {@code errno}, read only when the call returned -1; {@link #callCritical}
 * takes three, captures nothing and is a {@linkplain Linker.Option#critical(boolean) critical} downcall, for
 * calls that never block and whose failure callers ignore ({@code FUTEX_WAKE}). They are created when the
 * class is initialised (the first {@code downcallHandle} costs 65–100 ms), which {@code Region} triggers
 * when the first region or semaphore file is opened.
 */
public final class Syscall {
    private Syscall() {
    }

    private static final boolean AARCH64 = "aarch64".equals(System.getProperty("os.arch"));
    public static final long SYS_FUTEX = AARCH64 ? 98 : 202;
    public static final long SYS_FUTEX_WAITV = 449; // same number on every architecture
    public static final long SYS_SET_ROBUST_LIST = AARCH64 ? 99 : 273;
    public static final long SYS_GET_ROBUST_LIST = AARCH64 ? 100 : 274;
    public static final long SYS_TGKILL = AARCH64 ? 131 : 234;
    public static final long SYS_KILL = AARCH64 ? 129 : 62;

    private static final StructLayout CAPTURE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CAPTURE.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final MethodHandle SYSCALL6;   // syscall(nr, a1..a6) with errno capture
    private static final MethodHandle CRITICAL3;  // syscall(nr, a1, a2, a3): never blocks, no errno

    static {
        NativeAccess.require();
        Linker linker = Linker.nativeLinker();
        MemorySegment syscall = linker.defaultLookup().find("syscall").orElseThrow();
        SYSCALL6 = linker.downcallHandle(syscall,
                FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG,
                        JAVA_LONG),
                Linker.Option.firstVariadicArg(1), Linker.Option.captureCallState("errno"));
        CRITICAL3 = linker.downcallHandle(syscall,
                FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG),
                Linker.Option.firstVariadicArg(1), Linker.Option.critical(false));
    }

    /** The layout of an errno capture buffer (allocate one per thread, or per call in a confined arena). */
    public static StructLayout captureLayout() {
        return CAPTURE;
    }

    /** The errno captured by the last {@link #call} with {@code capture}; meaningful only after a -1. */
    public static int errno(MemorySegment capture) {
        return (int) ERRNO.get(capture, 0L);
    }

    /**
     * {@code syscall(nr, a1, …, a6)} with errno captured into {@code capture}.
     *
     * @return the raw result: -1 means failure, with errno in {@code capture}
     */
    public static long call(MemorySegment capture, long nr, long a1, long a2, long a3, long a4, long a5, long a6) {
        try {
            return (long) SYSCALL6.invokeExact(capture, nr, a1, a2, a3, a4, a5, a6);
        } catch (Throwable t) {
            throw new IllegalStateException("syscall " + nr + " failed", t);
        }
    }

    /** As {@link #call}, returning the result if it is not negative, else {@code -errno}. */
    public static long callOrErrno(MemorySegment capture, long nr, long a1, long a2, long a3, long a4, long a5,
                                   long a6) {
        long r = call(capture, nr, a1, a2, a3, a4, a5, a6);
        return r == -1 ? -errno(capture) : r;
    }

    /** {@code syscall(nr, a1, a2, a3)} as a critical downcall without errno: only for calls that never block. */
    public static long callCritical(long nr, long a1, long a2, long a3) {
        try {
            return (long) CRITICAL3.invokeExact(nr, a1, a2, a3);
        } catch (Throwable t) {
            throw new IllegalStateException("syscall " + nr + " failed", t);
        }
    }
}
