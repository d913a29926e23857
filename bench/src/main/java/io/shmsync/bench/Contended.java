package io.shmsync.bench;

import io.shmsync.Mutex;
import io.shmsync.Region;
import io.shmsync.Semaphore;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

/**
 * Contended throughput: N JVMs (unpinned) hammer one region {@link Semaphore} (1 permit: {@code acquire()};
 * {@code release()}) or one {@link Mutex} ({@code lock()}; {@code unlock()}), nothing in between — the same loop as
 * {@code native_bench contended} does with glibc's {@code sem_t} and robust {@code pthread_mutex_t}.
 *
 * <pre>Contended --prim sem|mutex --procs N --seconds S [--warmup-ms MS]</pre>
 * The children start, open the region, warm up (two threads of each child run the loop on the shared object,
 * so the JIT compiles it with its contended paths profiled: see {@link #warmUp}) and say READY; then each is told one common start instant on the
 * {@code CLOCK_MONOTONIC} scale ({@link System#nanoTime()} is that clock on Linux, the same in every process): it runs
 * MS ms uncounted (JIT, the contended paths warm), then counts its operations for S seconds. Prints
 * <pre>RESULT kind=contended impl=shmsync prim=P nproc=N seconds=S ops_per_s=TOTAL min_ops_per_s=.. max_ops_per_s=.. cpu_us_per_op=X</pre>
 * min/max over the processes (fairness); cpu = user+sys ({@code getrusage}) of all children over the counted
 * window / counted operations.
 */
public final class Contended {
    private Contended() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length > 0 && args[0].equals("worker")) {
            worker(args[1], args[2], Double.parseDouble(args[3]), Long.parseLong(args[4]));
            return;
        }
        String prim = null;
        int procs = 1;
        double seconds = 2;
        long warmupMs = 500;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--prim" -> prim = args[++i];
                case "--procs" -> procs = Integer.parseInt(args[++i]);
                case "--seconds" -> seconds = Double.parseDouble(args[++i]);
                case "--warmup-ms" -> warmupMs = Long.parseLong(args[++i]);
                default -> {
                    System.err.println("usage: Contended --prim sem|mutex --procs N --seconds S [--warmup-ms MS]");
                    System.exit(2);
                }
            }
        }
        if (prim == null || !List.of("sem", "mutex").contains(prim) || procs < 1 || procs > 64) {
            System.err.println("usage: Contended --prim sem|mutex --procs N --seconds S [--warmup-ms MS]");
            System.exit(2);
        }
        String name = "bench-contended-" + ProcessHandle.current().pid();
        Region.unlink(name);
        List<Process> children = new ArrayList<>();
        try (Region region = Region.create(name, 1 << 20)) {
            if (prim.equals("sem")) {
                region.semaphore("s", 1);
            } else {
                region.mutex("m");
            }
            List<String> cmd = new ArrayList<>();
            cmd.add(ProcessHandle.current().info().command()
                    .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
            cmd.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments());
            cmd.addAll(List.of("-Dio.shmsync.dir=" + Region.directory(), "-cp", System.getProperty("java.class.path"),
                    Contended.class.getName(), "worker", prim, name, Double.toString(seconds), Long.toString(warmupMs)));
            List<BufferedReader> outs = new ArrayList<>();
            for (int k = 0; k < procs; k++) {
                Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
                children.add(p);
                outs.add(new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8)));
            }
            for (BufferedReader r : outs) {
                String l = r.readLine();
                if (!"READY".equals(l)) {
                    throw new IllegalStateException("worker did not start: " + l);
                }
            }
            long start = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(100);
            for (Process p : children) {
                Writer w = new OutputStreamWriter(p.getOutputStream(), StandardCharsets.UTF_8);
                w.write("GO " + start + "\n");
                w.flush();
            }
            long total = 0;
            long min = Long.MAX_VALUE;
            long max = 0;
            long cpuUs = 0;
            for (int k = 0; k < procs; k++) {
                String l = outs.get(k).readLine();
                if (l == null || !l.startsWith("OPS ")) {
                    throw new IllegalStateException("worker " + k + " failed: " + l);
                }
                long n = PingPong.field(l, "n");
                total += n;
                min = Math.min(min, n);
                max = Math.max(max, n);
                cpuUs += PingPong.field(l, "cpu_us");
                if (!children.get(k).waitFor(60, TimeUnit.SECONDS) || children.get(k).exitValue() != 0) {
                    throw new IllegalStateException("worker " + k + " did not exit cleanly");
                }
            }
            System.out.printf(Locale.ROOT, "RESULT kind=contended impl=shmsync prim=%s nproc=%d seconds=%.1f ops_per_s=%.0f "
                            + "min_ops_per_s=%.0f max_ops_per_s=%.0f cpu_us_per_op=%.4f%n",
                    prim, procs, seconds, total / seconds, min / seconds, max / seconds, (double) cpuUs / total);
        } finally {
            children.forEach(Process::destroyForcibly);
            Region.unlink(name);
        }
    }

    private static void worker(String prim, String name, double seconds, long warmupMs) throws Exception {
        try (Region region = Region.open(name)) {
            Semaphore s = prim.equals("sem") ? region.semaphore("s") : null;
            Mutex m = prim.equals("mutex") ? region.mutex("m") : null;
            warmUp(s, m);
            System.out.println("READY");
            System.out.flush();
            String go = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)).readLine();
            if (go == null || !go.startsWith("GO ")) {
                throw new IllegalStateException("no GO line: " + go);
            }
            long start = Long.parseLong(go.substring(3).trim());
            long countFrom = start + TimeUnit.MILLISECONDS.toNanos(warmupMs);
            long end = countFrom + (long) (seconds * 1e9);
            for (long now; (now = System.nanoTime()) < start; ) {
                TimeUnit.NANOSECONDS.sleep(Math.min(start - now, 100_000));
            }
            long n = 0;
            long counted = -1;
            long[] c0 = null;
            while (true) {
                burst(s, m);
                n += BURST;
                long t = System.nanoTime();
                if (counted < 0 && t >= countFrom) {
                    counted = n;
                    c0 = Native.cpuTimeMicros();
                }
                if (t >= end) {
                    break;
                }
            }
            long[] c1 = Native.cpuTimeMicros();
            if (counted < 0) {
                counted = n;
                c0 = c1;
            }
            System.out.println("OPS n=" + (n - counted) + " cpu_us=" + (c1[0] - c0[0] + c1[1] - c0[1]));
            System.out.flush();
        }
    }

    /** Operations per {@link #burst} call (the loop reads the clock once per burst). */
    private static final int BURST = 256;
    /** Bursts per thread of the in-process warm-up. */
    private static final int WARM_BURSTS = 2_000;

    /**
     * {@value #BURST} acquire+release (or lock+unlock) pairs. A method of its own, so that the measured loop calls
     * code compiled as a whole method, and the same code the warm-up profiled, rather than an on-stack-replacement
     * compilation of the worker's loop.
     */
    private static void burst(Semaphore s, Mutex m) throws InterruptedException {
        if (s != null) {
            for (int i = 0; i < BURST; i++) {
                s.acquire();
                s.release();
            }
        } else {
            for (int i = 0; i < BURST; i++) {
                m.lock();
                m.unlock();
            }
        }
    }

    /**
     * Before READY: two threads of this process run {@value #WARM_BURSTS} bursts each on the shared object, so
     * that the JIT compiles {@link #burst} with the contended paths (waiter registration, futex wait and wake)
     * already profiled. Without it the loop is compiled from an uncontended profile and deoptimised ("uncommon
     * trap") at the first contended operation, inside the counted window: on a loaded machine it then runs in
     * the interpreter for seconds, which measured the JIT, not the primitive (a 1 s, 1-process mutex run gave
     * 116 k ops/s, a 6 s run 7.9 M ops/s).
     */
    private static void warmUp(Semaphore s, Mutex m) throws Exception {
        Thread other = Thread.ofPlatform().start(() -> {
            try {
                for (int i = 0; i < WARM_BURSTS; i++) {
                    burst(s, m);
                }
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
        });
        for (int i = 0; i < WARM_BURSTS; i++) {
            burst(s, m);
        }
        other.join();
    }
}
