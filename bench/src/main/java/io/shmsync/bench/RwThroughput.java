package io.shmsync.bench;

import io.shmsync.Region;
import io.shmsync.RwSemaphore;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.locks.Lock;

/**
 * Read-mostly throughput of a region {@link RwSemaphore} with 1..N <em>processes</em> (JVMs), the Java side of
 * {@code bench/native/rwlock_bench throughput} (same loop: with probability W/1000 a write that increments two
 * counters, else a read that compares them).
 *
 * <pre>
 *   RwThroughput PROCS MILLIS [WRITE_PERMILLE]     (default 50: 95 % reads)
 * </pre>
 * creates a region and a counter file in /dev/shm, starts PROCS child JVMs (same java, same class path), which
 * warm up until a common start time and then count operations for MILLIS ms, and prints
 * <pre>RESULT mech=java procs=P millis=M write_permille=W ops=N ops_per_sec=X violations=V</pre>
 * ({@code V}: reads that saw the two counters differ; must be 0).
 */
public final class RwThroughput {
    private RwThroughput() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length >= 1 && args[0].equals("child")) {
            child(args[1], Path.of(args[2]), Long.parseLong(args[3]), Long.parseLong(args[4]),
                    Integer.parseInt(args[5]), Long.parseLong(args[6]));
            return;
        }
        int procs = Integer.parseInt(args[0]);
        long millis = Long.parseLong(args[1]);
        int permille = args.length > 2 ? Integer.parseInt(args[2]) : 50;
        String tag = ProcessHandle.current().pid() + "-" + Long.toHexString(System.nanoTime());
        String regionName = "bench-rwtp-" + tag;
        Path counters = Path.of("/dev/shm", "shmsync-bench-rwtp-" + tag);
        try (Region region = Region.create(regionName, 1 << 16)) {
            region.rwSemaphore("rw");
            Files.write(counters, new byte[4096]);
            String java = ProcessHandle.current().info().command().orElse("java");
            long startAt = System.currentTimeMillis() + 4000 + 500L * procs; // JVM start-up and JIT warm-up
            List<Process> children = new ArrayList<>();
            for (int i = 0; i < procs; i++) {
                children.add(new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED", "-cp",
                        System.getProperty("java.class.path"), RwThroughput.class.getName(), "child", regionName,
                        counters.toString(), Long.toString(startAt), Long.toString(millis), Integer.toString(permille),
                        Long.toString(i + 1)).redirectError(ProcessBuilder.Redirect.INHERIT).start());
            }
            long ops = 0;
            long violations = 0;
            for (Process p : children) {
                try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(),
                        StandardCharsets.UTF_8))) {
                    String line;
                    while ((line = r.readLine()) != null) {
                        if (line.startsWith("OPS ")) {
                            String[] f = line.split(" ");
                            ops += Long.parseLong(f[1]);
                            violations += Long.parseLong(f[2]);
                        }
                    }
                }
                if (p.waitFor() != 0) {
                    throw new IllegalStateException("a child failed: exit " + p.exitValue());
                }
            }
            System.out.printf(Locale.ROOT, "RESULT mech=java procs=%d millis=%d write_permille=%d ops=%d "
                    + "ops_per_sec=%.0f violations=%d%n", procs, millis, permille, ops, ops * 1000.0 / millis,
                    violations);
        } finally {
            Files.deleteIfExists(counters);
            Region.unlink(regionName);
        }
    }

    private static void child(String regionName, Path counters, long startAt, long millis, int permille, long seed)
            throws Exception {
        try (Region region = Region.open(regionName); Arena arena = Arena.ofShared();
             FileChannel ch = FileChannel.open(counters, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            MemorySegment c = ch.map(FileChannel.MapMode.READ_WRITE, 0, 4096, arena);
            RwSemaphore rw = region.rwSemaphore("rw");
            Lock read = rw.readLock();
            Lock write = rw.writeLock();
            long[] x = {seed * 0x9E3779B97F4A7C15L + 1};
            while (System.currentTimeMillis() < startAt) {
                run(read, write, c, permille, x, 1000, new long[1]); // warm-up (also JIT)
            }
            long[] bad = new long[1];
            long ops = 0;
            long end = System.nanoTime() + millis * 1_000_000L;
            do {
                ops += run(read, write, c, permille, x, 256, bad);
            } while (System.nanoTime() < end);
            System.out.println("OPS " + ops + " " + bad[0]);
        }
    }

    private static int run(Lock read, Lock write, MemorySegment c, int permille, long[] seed, int n, long[] bad) {
        long x = seed[0];
        for (int k = 0; k < n; k++) {
            x ^= x << 13;
            x ^= x >>> 7;
            x ^= x << 17;
            if (Long.remainderUnsigned(x, 1000) < permille) {
                write.lock();
                c.set(ValueLayout.JAVA_LONG, 0, c.get(ValueLayout.JAVA_LONG, 0) + 1);
                c.set(ValueLayout.JAVA_LONG, 8, c.get(ValueLayout.JAVA_LONG, 8) + 1);
                write.unlock();
            } else {
                read.lock();
                if (c.get(ValueLayout.JAVA_LONG, 0) != c.get(ValueLayout.JAVA_LONG, 8)) {
                    bad[0]++;
                }
                read.unlock();
            }
        }
        seed[0] = x;
        return n;
    }
}
