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
 * The children start, open the region and say READY; then each is told one common start instant on the
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
                if (s != null) {
                    s.acquire();
                    s.release();
                } else {
                    m.lock();
                    m.unlock();
                }
                n++;
                if ((n & 255) == 0) {
                    long t = System.nanoTime();
                    if (counted < 0 && t >= countFrom) {
                        counted = n;
                        c0 = Native.cpuTimeMicros();
                    }
                    if (t >= end) {
                        break;
                    }
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
}
