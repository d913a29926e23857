package io.shmsync.bench;

import io.shmsync.PosixSemaphore;
import io.shmsync.Region;
import io.shmsync.Semaphore;

import org.HdrHistogram.Histogram;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/**
 * Cross-process blocking ping-pong: this JVM (ping) and a second process (pong) hand a token back and forth
 * through two semaphores; one round trip = ping {@code release(A)} + {@code acquire(B)}, pong
 * {@code acquire(A)} + {@code release(B)}. Both sides block in the kernel (futex) whenever the other has not
 * posted yet; nobody spins.
 *
 * <pre>
 * PingPong --peer jvm|jvm-posix|c [--rounds R] [--warmup W] [--cpus P,Q] [--sem-peer PATH] [--hgrm FILE]
 * </pre>
 * <ul>
 *   <li>{@code --peer jvm}: the pong side is a second JVM that this one starts (same java binary, same
 *       class path, same JVM flags), on two semaphores of a fresh shmsync region ({@code mech=jvm_jvm});</li>
 *   <li>{@code --peer jvm-posix}: the same with two {@link PosixSemaphore}s ({@code /dev/shm/sem.*}) instead of
 *       region semaphores ({@code mech=jvm_jvm_posix}): same protocol, but no directory guard, so a blocked
 *       thread watches one shared futex word less;</li>
 *   <li>{@code --peer c}: the pong side is the C program {@code sem_peer pong} (glibc {@code sem_open} +
 *       {@code sem_wait}/{@code sem_post}) on two POSIX named semaphores that this JVM opens with
 *       {@link PosixSemaphore} ({@code mech=jvm_c});</li>
 *   <li>{@code --cpus P,Q}: every thread of this JVM runs on CPU P ({@code taskset -a -p}), the peer is started
 *       under {@code taskset -c Q}. {@code 0,1} = cross-CPU, {@code 0,0} = both on one CPU.</li>
 * </ul>
 * W warm-up round trips (default R/10) are not recorded, then R round trips are timed with
 * {@link System#nanoTime()} into an HdrHistogram (3 significant digits); one more untimed round lets the
 * peer stay alive until its CPU time is read. Prints, in {@code sem_bench pingpong}'s format:
 * <pre>RESULT mech=M rounds=R cpus=P,Q p50_ns=.. p90_ns=.. p99_ns=.. p999_ns=.. max_ns=.. mean_ns=.. cpu_us_per_rt=X sys_pct=Y</pre>
 * {@code cpu_us_per_rt}: user+system CPU time of <em>both</em> processes (all their threads: JIT, GC, ...)
 * during the R timed round trips, divided by R (this JVM: getrusage; a JVM peer reports its own getrusage;
 * the C peer: its exact scheduler runtime from /proc/PID/task/TID/schedstat). {@code sys_pct}: the share of
 * that CPU time spent in the kernel (the C peer's split comes from /proc/PID/stat clock ticks, so it is
 * coarse for short runs).
 */
public final class PingPong {
    private static final String REGION_A = "ping";
    private static final String REGION_B = "pong";
    private static final java.util.Map<String, String> MECH = java.util.Map.of(
            "jvm", "jvm_jvm", "jvm-posix", "jvm_jvm_posix", "c", "jvm_c");

    private PingPong() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length > 0 && args[0].equals("pong-jvm")) {
            pongJvm(args[1], args[2], Long.parseLong(args[3]), Long.parseLong(args[4]));
            return;
        }
        String peer = null;
        long rounds = 20_000;
        long warmup = -1;
        int cpuP = -1;
        int cpuQ = -1;
        String semPeer = "kernel-mirror/build/sem_peer";
        String hgrm = null;
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            String v = i + 1 < args.length ? args[i + 1] : null;
            switch (a) {
                case "--peer" -> peer = args[++i];
                case "--rounds" -> rounds = Long.parseLong(args[++i]);
                case "--warmup" -> warmup = Long.parseLong(args[++i]);
                case "--sem-peer" -> semPeer = args[++i];
                case "--hgrm" -> hgrm = args[++i];
                case "--cpus" -> {
                    String[] pq = v.split(",");
                    cpuP = Integer.parseInt(pq[0]);
                    cpuQ = Integer.parseInt(pq[1]);
                    i++;
                }
                default -> usage("unknown argument " + a);
            }
        }
        if (peer == null || !List.of("jvm", "jvm-posix", "c").contains(peer) || rounds < 1) {
            usage("--peer jvm|jvm-posix|c is required, rounds >= 1");
        }
        if (warmup < 0) {
            warmup = rounds / 10;
        }
        if (cpuP >= 0) {
            Native.pinThisProcess(cpuP);
        }
        Measurement m = peer.equals("c")
                ? cPeer(Path.of(semPeer), rounds, warmup, cpuQ)
                : jvmPeer(peer.equals("jvm-posix"), rounds, warmup, cpuQ);
        String cpus = cpuP >= 0 ? cpuP + "," + cpuQ : "any";
        Histogram h = m.histogram;
        double cpuUs = m.selfCpu[0] + m.selfCpu[1] + m.peerCpu[0] + m.peerCpu[1];
        double sysPct = cpuUs == 0 ? 0 : 100.0 * (m.selfCpu[1] + m.peerCpu[1]) / cpuUs;
        System.out.printf(Locale.ROOT,
                "RESULT mech=%s rounds=%d cpus=%s p50_ns=%d p90_ns=%d p99_ns=%d p999_ns=%d max_ns=%d mean_ns=%d "
                        + "cpu_us_per_rt=%.2f sys_pct=%.0f%n",
                MECH.get(peer), h.getTotalCount(), cpus,
                h.getValueAtPercentile(50), h.getValueAtPercentile(90), h.getValueAtPercentile(99),
                h.getValueAtPercentile(99.9), h.getMaxValue(), Math.round(h.getMean()), cpuUs / rounds, sysPct);
        if (hgrm != null) {
            try (PrintStream out = new PrintStream(Files.newOutputStream(Path.of(hgrm)), true, StandardCharsets.UTF_8)) {
                out.printf("# mech=%s cpus=%s, round-trip time in microseconds%n", peer, cpus);
                h.outputPercentileDistribution(out, 5, 1000.0);
            }
        }
    }

    private static void usage(String why) {
        System.err.println("PingPong: " + why);
        System.err.println("usage: PingPong --peer jvm|jvm-posix|c [--rounds R] [--warmup W] [--cpus P,Q] [--sem-peer PATH] [--hgrm FILE]");
        System.exit(2);
    }

    /** What one run produced: round-trip times and CPU time {user µs, sys µs} of each side over the timed rounds. */
    private record Measurement(Histogram histogram, long[] selfCpu, long[] peerCpu) {
    }

    // ---------------------------------------------------------------------------------------- JVM peer

    private static Measurement jvmPeer(boolean posix, long rounds, long warmup, int cpuQ) throws Exception {
        long pid = ProcessHandle.current().pid();
        String name = posix ? "/shmsync-bench-pp-" + pid : "bench-pp-" + pid;
        Region region = null;
        Semaphore a;
        Semaphore b;
        if (posix) {
            PosixSemaphore.unlink(name + "-a");
            PosixSemaphore.unlink(name + "-b");
            a = PosixSemaphore.create(name + "-a", 0600, 0);
            b = PosixSemaphore.create(name + "-b", 0600, 0);
        } else {
            Region.unlink(name);
            region = Region.create(name, 1 << 16);
            a = region.semaphore(REGION_A, 0);
            b = region.semaphore(REGION_B, 0);
        }
        try {
            List<String> cmd = new ArrayList<>();
            if (cpuQ >= 0) {
                cmd.addAll(List.of("taskset", "-c", Integer.toString(cpuQ)));
            }
            cmd.add(ProcessHandle.current().info().command()
                    .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
            // Same JVM flags as this one (heap, GC, native access, ...), same class path.
            cmd.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments());
            cmd.addAll(List.of("-Dio.shmsync.dir=" + Region.directory(), "-cp", System.getProperty("java.class.path"),
                    PingPong.class.getName(), "pong-jvm", posix ? "posix" : "region", name,
                    Long.toString(warmup), Long.toString(rounds)));
            Peer p = Peer.start(cmd);
            try {
                Histogram h = newHistogram();
                run(a, b, warmup, null);
                long[] c0 = Native.cpuTimeMicros();
                run(a, b, rounds, h);
                long[] c1 = Native.cpuTimeMicros();
                lastRound(p, a, b); // untimed: then the peer reports its CPU time and exits
                String line = p.line("CPU ");
                long[] peerCpu = {field(line, "user_us"), field(line, "sys_us")};
                return new Measurement(h, minus(c1, c0), peerCpu);
            } finally {
                p.close();
            }
        } finally {
            if (posix) {
                ((PosixSemaphore) a).close();
                ((PosixSemaphore) b).close();
                PosixSemaphore.unlink(name + "-a");
                PosixSemaphore.unlink(name + "-b");
            } else {
                region.close();
                Region.unlink(name);
            }
        }
    }

    /**
     * The JVM peer: W + R + 1 rounds of acquire(A), release(B) on the region's semaphores or on the POSIX
     * semaphores NAME-a, NAME-b; reports its CPU time over the R rounds.
     */
    private static void pongJvm(String kind, String name, long warmup, long rounds) throws Exception {
        Region region = null;
        Semaphore a;
        Semaphore b;
        if (kind.equals("posix")) {
            a = PosixSemaphore.open(name + "-a");
            b = PosixSemaphore.open(name + "-b");
        } else {
            region = Region.open(name);
            a = region.semaphore(REGION_A);
            b = region.semaphore(REGION_B);
        }
        System.out.println("READY");
        System.out.flush();
        serve(a, b, warmup);
        long[] c0 = Native.cpuTimeMicros();
        serve(a, b, rounds);
        long[] c1 = Native.cpuTimeMicros();
        serve(a, b, 1);
        System.out.println("CPU user_us=" + (c1[0] - c0[0]) + " sys_us=" + (c1[1] - c0[1]));
        if (region != null) {
            region.close();
        }
    }

    private static void serve(Semaphore a, Semaphore b, long n) throws InterruptedException {
        for (long i = 0; i < n; i++) {
            a.acquire();
            b.release();
        }
    }

    // ------------------------------------------------------------------------------------------ C peer

    private static Measurement cPeer(Path semPeer, long rounds, long warmup, int cpuQ) throws Exception {
        if (!Files.isExecutable(semPeer)) {
            throw new IllegalStateException("no C peer at " + semPeer + " (make -C kernel-mirror user)");
        }
        long pid = ProcessHandle.current().pid();
        String an = "/shmsync-bench-pp-a-" + pid;
        String bn = "/shmsync-bench-pp-b-" + pid;
        PosixSemaphore.unlink(an);
        PosixSemaphore.unlink(bn);
        try (PosixSemaphore a = PosixSemaphore.create(an, 0600, 0);
             PosixSemaphore b = PosixSemaphore.create(bn, 0600, 0)) {
            List<String> cmd = new ArrayList<>();
            if (cpuQ >= 0) {
                cmd.addAll(List.of("taskset", "-c", Integer.toString(cpuQ)));
            }
            cmd.addAll(List.of(semPeer.toString(), "pong", an, bn, Long.toString(rounds + 1),
                    "--warmup", Long.toString(warmup)));
            Peer p = Peer.start(cmd);
            try {
                Histogram h = newHistogram();
                run(a, b, warmup, null);
                long peer0 = Native.schedstatMicros(p.pid());
                long[] ticks0 = procStatTicks(p.pid());
                long[] c0 = Native.cpuTimeMicros();
                run(a, b, rounds, h);
                long[] c1 = Native.cpuTimeMicros();
                long peer1 = Native.schedstatMicros(p.pid()); // still alive: it waits for the last round
                long[] ticks1 = procStatTicks(p.pid());
                lastRound(p, a, b);
                long peerTotal = peer1 - peer0;
                long uT = ticks1[0] - ticks0[0];
                long sT = ticks1[1] - ticks0[1];
                long peerSys = uT + sT == 0 ? 0 : Math.round((double) peerTotal * sT / (uT + sT));
                return new Measurement(h, minus(c1, c0), new long[]{peerTotal - peerSys, peerSys});
            } finally {
                p.close();
            }
        } finally {
            PosixSemaphore.unlink(an);
            PosixSemaphore.unlink(bn);
        }
    }

    /** {utime, stime} clock ticks of a process (fields 14 and 15 of /proc/PID/stat). */
    private static long[] procStatTicks(long pid) throws IOException {
        String s = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
        String[] f = s.substring(s.lastIndexOf(')') + 2).split(" ");
        return new long[]{Long.parseLong(f[11]), Long.parseLong(f[12])}; // fields 14, 15 counted from 1
    }

    // ------------------------------------------------------------------------------------------ common

    static Histogram newHistogram() {
        Histogram h = new Histogram(1, TimeUnit.SECONDS.toNanos(100), 3);
        h.setAutoResize(false);
        return h;
    }

    /** n round trips as the ping side; records each round-trip time into h if h is not null. */
    private static void run(Semaphore a, Semaphore b, long n, Histogram h) throws InterruptedException {
        if (h == null) {
            for (long i = 0; i < n; i++) {
                a.release();
                b.acquire();
            }
            return;
        }
        for (long i = 0; i < n; i++) {
            long t0 = System.nanoTime();
            a.release();
            b.acquire();
            h.recordValue(System.nanoTime() - t0);
        }
    }

    /** The untimed extra round after which the peer exits; its exit is expected from here on. */
    private static void lastRound(Peer p, Semaphore a, Semaphore b) throws InterruptedException {
        p.finished = true;
        a.release();
        if (!b.tryAcquire(60, TimeUnit.SECONDS)) {
            throw new IllegalStateException("peer did not answer the last round");
        }
        p.awaitExit();
    }

    static long[] minus(long[] x, long[] y) {
        return new long[]{x[0] - y[0], x[1] - y[1]};
    }

    static long field(String line, String key) {
        for (String kv : line.split(" ")) {
            if (kv.startsWith(key + "=")) {
                return Long.parseLong(kv.substring(key.length() + 1));
            }
        }
        throw new IllegalStateException("no " + key + " in \"" + line + "\"");
    }

    /**
     * The pong process: its output is read on a daemon thread (lines kept, echoed to stderr); if it dies
     * before the ping side is done, the waiting ping thread is interrupted instead of blocking for ever.
     */
    static final class Peer implements AutoCloseable {
        private final Process process;
        private final List<String> lines = new CopyOnWriteArrayList<>();
        volatile boolean finished;
        private Thread reader;

        private Peer(Process process) {
            this.process = process;
        }

        static Peer start(List<String> cmd) throws IOException, InterruptedException {
            Process proc = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            Peer p = new Peer(proc);
            CompletableFuture<Boolean> ready = new CompletableFuture<>();
            p.reader = Thread.ofPlatform().daemon().name("peer-output").start(() -> {
                try (BufferedReader r = new BufferedReader(new InputStreamReader(proc.getInputStream(),
                        StandardCharsets.UTF_8))) {
                    for (String l; (l = r.readLine()) != null; ) {
                        p.lines.add(l);
                        if (l.startsWith("READY")) {
                            ready.complete(true);
                        } else {
                            System.err.println("  peer: " + l);
                        }
                    }
                } catch (IOException ignored) {
                    // the process is gone
                }
                ready.complete(false);
            });
            boolean ok;
            try {
                ok = ready.get(60, TimeUnit.SECONDS);
            } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
                ok = false;
            }
            if (!ok) {
                proc.destroyForcibly();
                throw new IllegalStateException("peer did not start: " + String.join(" ", cmd) + "\n" + p.lines);
            }
            Thread main = Thread.currentThread();
            proc.onExit().thenRun(() -> {
                if (!p.finished) {
                    main.interrupt(); // a dead peer never posts: do not block for ever
                }
            });
            return p;
        }

        long pid() {
            return process.pid();
        }

        void awaitExit() throws InterruptedException {
            if (!process.waitFor(60, TimeUnit.SECONDS)) {
                throw new IllegalStateException("peer did not exit");
            }
            if (process.exitValue() != 0) {
                throw new IllegalStateException("peer failed with exit code " + process.exitValue() + ": " + lines);
            }
            reader.join(10_000); // the last lines (EOF comes with the exit)
        }

        String line(String prefix) throws InterruptedException {
            for (int i = 0; i < 500; i++) {
                for (String l : lines) {
                    if (l.startsWith(prefix)) {
                        return l;
                    }
                }
                Thread.sleep(10);
            }
            throw new IllegalStateException("peer printed no \"" + prefix + "\" line: " + lines);
        }

        @Override
        public void close() {
            finished = true;
            if (process.isAlive()) {
                process.descendants().forEach(ProcessHandle::destroyForcibly);
                process.destroyForcibly();
            }
        }
    }
}
