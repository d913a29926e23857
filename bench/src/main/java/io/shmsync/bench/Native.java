package io.shmsync.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;

/** The few OS facts the harnesses need: CPU time (getrusage), thread ids, CPU affinity. */
final class Native {
    private static final int RUSAGE_SELF = 0;
    private static final long RUSAGE_SIZE = 144; // struct rusage on x86_64 and aarch64 (LP64)
    private static final MethodHandle GETRUSAGE = Linker.nativeLinker().downcallHandle(
            Linker.nativeLinker().defaultLookup().find("getrusage").orElseThrow(),
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.ADDRESS));
    private static final MemorySegment RUSAGE = Arena.global().allocate(RUSAGE_SIZE, 8);

    private Native() {
    }

    /** {user µs, system µs} of the whole process (all threads, dead ones included), from getrusage. */
    static synchronized long[] cpuTimeMicros() {
        int r;
        try {
            r = (int) GETRUSAGE.invokeExact(RUSAGE_SELF, RUSAGE);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
        if (r != 0) {
            throw new IllegalStateException("getrusage failed");
        }
        long user = RUSAGE.get(ValueLayout.JAVA_LONG, 0) * 1_000_000 + RUSAGE.get(ValueLayout.JAVA_LONG, 8);
        long sys = RUSAGE.get(ValueLayout.JAVA_LONG, 16) * 1_000_000 + RUSAGE.get(ValueLayout.JAVA_LONG, 24);
        return new long[]{user, sys};
    }

    /** The kernel thread id of the calling thread (from the /proc/thread-self link, no syscall wrapper needed). */
    static long currentTid() {
        try {
            return Long.parseLong(Files.readSymbolicLink(Path.of("/proc/thread-self")).getFileName().toString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * CPU time consumed so far by a single-threaded process we cannot instrument (the C peer), in µs,
     * from the scheduler's exact per-task runtime in /proc/PID/task/TID/schedstat (summed over its tasks).
     */
    static long schedstatMicros(long pid) {
        long ns = 0;
        try (var tasks = Files.list(Path.of("/proc", Long.toString(pid), "task"))) {
            for (Path t : (Iterable<Path>) tasks::iterator) {
                String s = Files.readString(t.resolve("schedstat")).trim();
                ns += Long.parseLong(s.substring(0, s.indexOf(' ')));
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the CPU time of process " + pid, e);
        }
        return ns / 1000;
    }

    /** Pins every thread of this JVM (and so every thread it starts later) to {@code cpu}, with taskset. */
    static void pinThisProcess(int cpu) {
        run("taskset", "-a", "-p", "-c", Integer.toString(cpu), Long.toString(ProcessHandle.current().pid()));
    }

    /** The CPUs this thread may run on, as /proc prints them (e.g. "0-1"). */
    static String allowedCpus() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/thread-self/status"))) {
                if (line.startsWith("Cpus_allowed_list:")) {
                    return line.substring(line.indexOf(':') + 1).trim();
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return "?";
    }

    static void run(String... cmd) {
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes());
            if (p.waitFor() != 0) {
                throw new IllegalStateException(String.join(" ", cmd) + " failed: " + out.trim());
            }
        } catch (IOException e) {
            throw new UncheckedIOException(String.join(" ", cmd) + " failed", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
