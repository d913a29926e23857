package io.shmsync.examples;

import io.shmsync.PosixSemaphore;
import io.shmsync.Region;
import io.shmsync.Semaphore;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The demo: processes ping-pong through named semaphores and the round trips are printed as a table.
 *
 * <ol>
 *   <li>JVM ⇄ JVM through two semaphores in a shmsync region;</li>
 *   <li>JVM ⇄ C through two POSIX named semaphores ({@code sem_open}), if the C peer was built
 *       ({@code make -C kernel-mirror user});</li>
 *   <li>the same two, with both processes pinned to one CPU (if {@code taskset} exists), because on a
 *       virtual machine a cross-CPU wake-up is dominated by waking the other vCPU.</li>
 * </ol>
 * Run it with {@code ./demo.sh}, or: {@code java --enable-native-access=ALL-UNNAMED -cp ... PingPongDemo [rounds]}.
 */
public final class PingPongDemo {
    private PingPongDemo() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length > 0 && args[0].equals("pong")) {
            pong(args[1], Integer.parseInt(args[2]));
            return;
        }
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 20_000;
        Path cPeer = Path.of(System.getProperty("shmsync.c.peer", "kernel-mirror/build/sem_peer"));
        boolean haveC = Files.isExecutable(cPeer);
        boolean haveTaskset = Files.isExecutable(Path.of("/usr/bin/taskset"));
        String region = "demo-" + ProcessHandle.current().pid();

        List<String[]> rows = new ArrayList<>();
        System.out.printf("shmsync demo: %d round trips per row (after %d warm-up), region %s%n",
                rounds, rounds / 10, Region.path(region));
        try (Region r = Region.create(region, 1 << 16)) {
            rows.add(row("JVM <-> JVM, region semaphores", "cross-CPU", jvmPingPong(r, rounds, null)));
            if (haveTaskset) {
                rows.add(row("JVM <-> JVM, region semaphores", "pinned CPU 0", jvmPingPong(r, rounds, "0")));
            }
            System.out.println("region directory: " + r.entries());
        } finally {
            Region.unlink(region);
        }
        if (haveC) {
            rows.add(row("JVM <-> C (sem_open), POSIX semaphores", "cross-CPU", cPingPong(cPeer, rounds, null)));
            if (haveTaskset) {
                rows.add(row("JVM <-> C (sem_open), POSIX semaphores", "pinned CPU 0", cPingPong(cPeer, rounds, "0")));
            }
        } else {
            System.out.println("(no C peer at " + cPeer + ": run `make -C kernel-mirror user` to add the JVM <-> C row)");
        }
        printTable(rows);
    }

    /** The child: pong through the region's semaphores. */
    private static void pong(String region, int total) throws Exception {
        try (Region r = Region.open(region)) {
            Semaphore ping = r.semaphore("ping", 0);
            Semaphore pongSem = r.semaphore("pong", 0);
            System.out.println("READY");
            System.out.flush();
            for (int i = 0; i < total; i++) {
                ping.acquire();
                pongSem.release();
            }
        }
    }

    private static long[] jvmPingPong(Region r, int rounds, String cpu) throws Exception {
        r.remove("ping");
        r.remove("pong");
        Semaphore ping = r.semaphore("ping", 0);
        Semaphore pong = r.semaphore("pong", 0);
        int warmup = rounds / 10;
        List<String> cmd = new ArrayList<>();
        if (cpu != null) {
            cmd.addAll(List.of("taskset", "-c", cpu));
        }
        cmd.add(ProcessHandle.current().info().command().orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        cmd.addAll(List.of("--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                "-Dio.shmsync.dir=" + Region.directory(), PingPongDemo.class.getName(), "pong", r.name(),
                Integer.toString(warmup + rounds)));
        Process child = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        awaitReady(child);
        return measure(ping, pong, warmup, rounds, cpu, child);
    }

    /** Pings {@code warmup + rounds} times (pinned to {@code cpu} if given) and returns the measured round trips. */
    private static long[] measure(Semaphore ping, Semaphore pong, int warmup, int rounds, String cpu, Process peer)
            throws InterruptedException {
        if (cpu != null) {
            taskset(cpu);
        }
        long[] rtt = new long[rounds];
        for (int i = 0; i < warmup + rounds; i++) {
            long t0 = System.nanoTime();
            ping.release();
            pong.acquire();
            long t1 = System.nanoTime();
            if (i >= warmup) {
                rtt[i - warmup] = t1 - t0;
            }
        }
        if (peer.waitFor() != 0) {
            throw new IllegalStateException("peer process failed with exit code " + peer.exitValue());
        }
        if (cpu != null) {
            taskset("0-" + (Runtime.getRuntime().availableProcessors() - 1));
        }
        return rtt;
    }

    private static long[] cPingPong(Path peer, int rounds, String cpu) throws Exception {
        String a = "/shmsync-demo-a-" + ProcessHandle.current().pid();
        String b = "/shmsync-demo-b-" + ProcessHandle.current().pid();
        int warmup = rounds / 10;
        try (PosixSemaphore ping = PosixSemaphore.create(a, 0600, 0);
             PosixSemaphore pong = PosixSemaphore.create(b, 0600, 0)) {
            List<String> cmd = new ArrayList<>(List.of(peer.toString(), "pong", a, b, Integer.toString(rounds)));
            cmd.addAll(List.of("--warmup", Integer.toString(warmup)));
            if (cpu != null) {
                cmd.addAll(List.of("--cpu", cpu));
            }
            Process child = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            awaitReady(child);
            return measure(ping, pong, warmup, rounds, cpu, child);
        } finally {
            PosixSemaphore.unlink(a);
            PosixSemaphore.unlink(b);
        }
    }

    private static void awaitReady(Process child) throws IOException {
        BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream()));
        for (String line; (line = out.readLine()) != null; ) {
            if (line.startsWith("READY")) {
                Thread.ofPlatform().daemon().start(() -> out.lines().forEach(l -> System.out.println("  peer: " + l)));
                return;
            }
            System.out.println("  peer: " + line);
        }
        throw new IOException("peer exited before it was ready (exit " + child.onExit().join().exitValue() + ")");
    }

    /** Pins the calling thread (its TID) to {@code cpus} with taskset. */
    private static void taskset(String cpus) {
        try {
            String tid = Files.readSymbolicLink(Path.of("/proc/thread-self")).getFileName().toString();
            new ProcessBuilder("taskset", "-p", "-c", cpus, tid).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).start().waitFor();
        } catch (IOException | InterruptedException e) {
            throw new IllegalStateException("taskset failed", e);
        }
    }

    private static String[] row(String what, String where, long[] rtt) {
        long[] s = rtt.clone();
        Arrays.sort(s);
        return new String[]{what, where, us(pct(s, 50)), us(pct(s, 90)), us(pct(s, 99)), us(s[s.length - 1])};
    }

    private static long pct(long[] sorted, double p) {
        return sorted[(int) Math.min(sorted.length - 1, Math.ceil(p / 100 * sorted.length) - 1)];
    }

    private static String us(long nanos) {
        return String.format("%.1f", nanos / 1000.0);
    }

    private static void printTable(List<String[]> rows) {
        String[] head = {"ping-pong", "CPUs", "p50 us", "p90 us", "p99 us", "max us"};
        int[] w = new int[head.length];
        for (int i = 0; i < head.length; i++) {
            w[i] = head[i].length();
            for (String[] r : rows) {
                w[i] = Math.max(w[i], r[i].length());
            }
        }
        StringBuilder fmt = new StringBuilder("|");
        for (int i = 0; i < w.length; i++) {
            fmt.append(" %").append(i < 2 ? "-" : "").append(w[i]).append("s |");
        }
        String f = fmt.append("%n").toString();
        System.out.println();
        System.out.printf(f, (Object[]) head);
        StringBuilder sep = new StringBuilder("|");
        for (int x : w) {
            sep.append("-".repeat(x + 2)).append("|");
        }
        System.out.println(sep);
        for (String[] r : rows) {
            System.out.printf(f, (Object[]) r);
        }
        System.out.println("\nRound trip = one release + one acquire on each side. On a virtual machine a wake-up that"
                + " crosses vCPUs costs tens of microseconds whatever the mechanism; pinned rows show the protocol's cost.");
    }
}
