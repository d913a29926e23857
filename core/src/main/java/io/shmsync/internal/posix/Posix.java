package io.shmsync.internal.posix;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The few libc calls the library needs, bound once through FFM. Every call that can fail returns
 * {@code -errno} instead of -1 (errno is captured with {@code Linker.Option.captureCallState("errno")}
 * and read only when the call returned -1). None of these is on a hot path.
 */
public final class Posix {
    private Posix() {
    }

    // fcntl.h / sys/stat.h / sys/mman.h constants, identical on x86_64 and aarch64 Linux.
    public static final int O_RDONLY = 0;
    public static final int O_RDWR = 2;
    public static final int O_CREAT = 0100;
    public static final int O_EXCL = 0200;
    public static final int O_NOFOLLOW = aarch64() ? 0100000 : 0400000;
    public static final int O_CLOEXEC = 02000000;
    public static final int PROT_READ = 1;
    public static final int PROT_WRITE = 2;
    public static final int MAP_SHARED = 1;
    public static final int F_OFD_SETLK = 37;
    public static final int F_OFD_SETLKW = 38;
    public static final short F_WRLCK = 1;
    public static final short F_UNLCK = 2;
    public static final int AT_FDCWD = -100;
    public static final int AT_EMPTY_PATH = 0x1000;
    public static final int STATX_BASIC_STATS = 0x7ff;
    public static final int S_IFMT = 0170000;
    public static final int S_IFREG = 0100000;

    public static final int EPERM = 1, ENOENT = 2, EINTR = 4, EAGAIN = 11, EACCES = 13, EEXIST = 17,
            EINVAL = 22, ENOSPC = 28, ENAMETOOLONG = 36, ENOSYS = 38, ELOOP = 40, ETIMEDOUT = 110,
            EFAULT = 14;

    static boolean aarch64() {
        return "aarch64".equals(System.getProperty("os.arch"));
    }

    private static final Linker LINKER = Linker.nativeLinker();
    private static final SymbolLookup LIBC = LINKER.defaultLookup();
    private static final StructLayout CAPTURE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CAPTURE.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final Linker.Option ERRNO_OPT = Linker.Option.captureCallState("errno");

    /** {@code struct flock} (same on x86_64 and aarch64): l_type, l_whence, l_start, l_len, l_pid. */
    private static final long FLOCK_SIZE = 32;
    /** {@code struct statx} offsets (arch independent). */
    private static final long STATX_SIZE = 256, STX_NLINK = 16, STX_UID = 20, STX_MODE = 28, STX_INO = 32,
            STX_SIZE = 40, STX_DEV_MAJOR = 136, STX_DEV_MINOR = 140;

    private static final MethodHandle OPEN, CLOSE, FCHMOD, STATX, FALLOCATE, MMAP, MUNMAP, LINK, UNLINK, FCNTL,
            GETPID, GETTID, GETEUID, STRERROR;

    static {
        NativeAccess.require();
        OPEN = bind("open", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT), true,
                Linker.Option.firstVariadicArg(2));
        CLOSE = bind("close", FunctionDescriptor.of(JAVA_INT, JAVA_INT), true);
        FCHMOD = bind("fchmod", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT), true);
        STATX = bind("statx", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, ADDRESS), true);
        FALLOCATE = bind("posix_fallocate", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_LONG), false);
        MMAP = bind("mmap", FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT,
                JAVA_LONG), true);
        MUNMAP = bind("munmap", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG), true);
        LINK = bind("link", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS), true);
        UNLINK = bind("unlink", FunctionDescriptor.of(JAVA_INT, ADDRESS), true);
        FCNTL = bind("fcntl", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS), true,
                Linker.Option.firstVariadicArg(2));
        GETPID = bind("getpid", FunctionDescriptor.of(JAVA_INT), false);
        GETTID = bind("gettid", FunctionDescriptor.of(JAVA_INT), false);
        GETEUID = bind("geteuid", FunctionDescriptor.of(JAVA_INT), false);
        STRERROR = bind("strerror", FunctionDescriptor.of(ADDRESS, JAVA_INT), false);
    }

    static MethodHandle bind(String name, FunctionDescriptor fd, boolean errno, Linker.Option... extra) {
        MemorySegment sym = LIBC.find(name).orElseThrow(() -> new UnsatisfiedLinkError("libc has no " + name));
        Linker.Option[] opts = extra;
        if (errno) {
            opts = java.util.Arrays.copyOf(extra, extra.length + 1);
            opts[extra.length] = ERRNO_OPT;
        }
        return LINKER.downcallHandle(sym, fd, opts);
    }

    /** A captured-state buffer for one call (errno). */
    static MemorySegment captureBuffer(Arena arena) {
        return arena.allocate(CAPTURE);
    }

    static int errno(MemorySegment capture) {
        return (int) ERRNO.get(capture, 0L);
    }

    /** Makes sure the libc bindings exist (the first binding costs tens of milliseconds). */
    public static void init() {
        // class initialisation does the work
    }

    private static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) {
            return r;
        }
        if (t instanceof Error e) {
            throw e;
        }
        return new IllegalStateException(t);
    }

    /** One libc call that returns -1 and sets errno on failure; gets a confined arena and the capture buffer. */
    @FunctionalInterface
    private interface ErrnoCall {
        long apply(Arena arena, MemorySegment capture) throws Throwable;
    }

    /** Runs {@code c}: its result, or {@code -errno} when it returned -1 (errno is read only then). */
    private static long call(ErrnoCall c) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment cap = captureBuffer(a);
            long r = c.apply(a, cap);
            return r != -1 ? r : -errno(cap);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** open(2); returns fd or -errno. */
    public static int open(String path, int flags, int mode) {
        return (int) call((a, cap) -> (int) OPEN.invokeExact(cap, a.allocateFrom(path), flags, mode));
    }

    public static int close(int fd) {
        return (int) call((a, cap) -> (int) CLOSE.invokeExact(cap, fd));
    }

    public static int fchmod(int fd, int mode) {
        return (int) call((a, cap) -> (int) FCHMOD.invokeExact(cap, fd, mode));
    }

    /** What {@link #fstat} tells about an open file. */
    public record FileStat(int mode, int uid, long nlink, long inode, long size, long device) {
        public boolean isRegularFile() {
            return (mode & S_IFMT) == S_IFREG;
        }
    }

    /** statx(fd, "", AT_EMPTY_PATH): the attributes of an open file; throws on failure. */
    public static FileStat fstat(int fd) throws java.io.IOException {
        return statx(fd, "", AT_EMPTY_PATH);
    }

    /** statx of a path (follows symlinks unless flags say otherwise). */
    public static FileStat statx(int dirfd, String path, int flags) throws java.io.IOException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment cap = captureBuffer(a);
            MemorySegment buf = a.allocate(STATX_SIZE, 8);
            int r = (int) STATX.invokeExact(cap, dirfd, a.allocateFrom(path), flags, STATX_BASIC_STATS, buf);
            if (r < 0) {
                throw Errors.io("statx", path.isEmpty() ? "fd " + dirfd : path, errno(cap));
            }
            int mode = Short.toUnsignedInt(buf.get(ValueLayout.JAVA_SHORT, STX_MODE));
            long dev = ((long) buf.get(JAVA_INT, STX_DEV_MAJOR) << 32) | Integer.toUnsignedLong(buf.get(JAVA_INT, STX_DEV_MINOR));
            return new FileStat(mode, buf.get(JAVA_INT, STX_UID), Integer.toUnsignedLong(buf.get(JAVA_INT, STX_NLINK)),
                    buf.get(JAVA_LONG, STX_INO), buf.get(JAVA_LONG, STX_SIZE), dev);
        } catch (java.io.IOException | RuntimeException e) {
            throw e;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** posix_fallocate(3); returns 0 or the error number (it does not use errno). */
    public static int posixFallocate(int fd, long offset, long len) {
        try {
            return (int) FALLOCATE.invokeExact(fd, offset, len);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** mmap(NULL, len, PROT_READ|PROT_WRITE, MAP_SHARED, fd, 0); returns the address or -errno. */
    public static long mmapShared(int fd, long len) {
        return call((a, cap) -> (long) MMAP.invokeExact(cap, 0L, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0L));
    }

    public static int munmap(long address, long len) {
        return (int) call((a, cap) -> (int) MUNMAP.invokeExact(cap, address, len));
    }

    public static int link(String from, String to) {
        return (int) call((a, cap) -> (int) LINK.invokeExact(cap, a.allocateFrom(from), a.allocateFrom(to)));
    }

    public static int unlink(String path) {
        return (int) call((a, cap) -> (int) UNLINK.invokeExact(cap, a.allocateFrom(path)));
    }

    /**
     * An open-file-description lock on byte 0 of {@code fd}: {@code F_OFD_SETLK} (try) or
     * {@code F_OFD_SETLKW} (wait), write lock or unlock. Returns 0 or -errno ({@code -EAGAIN}: held elsewhere).
     */
    public static int ofdLock(int fd, boolean wait, boolean lock) {
        return (int) call((a, cap) -> {
            MemorySegment fl = a.allocate(FLOCK_SIZE, 8);
            fl.set(ValueLayout.JAVA_SHORT, 0, lock ? F_WRLCK : F_UNLCK);
            fl.set(ValueLayout.JAVA_SHORT, 2, (short) 0); // SEEK_SET
            fl.set(JAVA_LONG, 8, 0L);                      // l_start
            fl.set(JAVA_LONG, 16, 1L);                     // l_len: byte 0 only
            fl.set(JAVA_INT, 24, 0);                       // l_pid must be 0 for OFD locks
            return (int) FCNTL.invokeExact(cap, fd, wait ? F_OFD_SETLKW : F_OFD_SETLK, fl);
        });
    }

    public static int getpid() {
        try {
            return (int) GETPID.invokeExact();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public static int gettid() {
        try {
            return (int) GETTID.invokeExact();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public static int geteuid() {
        try {
            return (int) GETEUID.invokeExact();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** strerror(3) text for an error number. */
    public static String strerror(int errno) {
        try {
            MemorySegment s = (MemorySegment) STRERROR.invokeExact(errno);
            return s.reinterpret(256).getString(0);
        } catch (Throwable t) {
            return "errno " + errno;
        }
    }
}
