package io.shmsync.bench;

import io.shmsync.Region;
import io.shmsync.Semaphore;
import io.shmsync.SpinPolicy;

import net.openhft.chronicle.bytes.MappedBytes;
import net.openhft.chronicle.threads.Pauser;

import org.HdrHistogram.Histogram;
import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.BusySpinIdleStrategy;
import org.agrona.concurrent.IdleStrategy;
import org.agrona.concurrent.UnsafeBuffer;

import java.io.IOException;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.locks.LockSupport;

/**
 * Cross-process ping-pong between two JVMs over one of several mechanisms — the peers a user would pick
 * instead of shmsync, and shmsync with spin-then-park — in dense (back-to-back) or sparse (one message every
 * I µs) traffic. One round trip = ping {@code signal()} + {@code await()}, pong {@code await()} + {@code signal()}.
 *
 * <pre>
 * Exchange --mech M [--rounds R] [--warmup W] [--cpus P,Q] [--interval-us I] [--sparse-warmup S] [--spin-ns N] [--hgrm FILE]
 * </pre>
 * Mechanisms ({@code M}, also the {@code mech=} of the RESULT line):
 * <ul>
 *   <li>{@code shmsync_block}: two region {@link Semaphore}s, {@code release()} / {@code acquire()} (blocking);</li>
 *   <li>{@code shmsync_spin_park}: the same with core's spin-then-park, {@link SpinPolicy#adaptive(Duration)} of at most
 *       {@code --spin-ns} (default 20 µs) on both handles that wait;</li>
 *   <li>{@code shmsync_spin_fixed}: the same with {@link SpinPolicy#fixed(Duration)};</li>
 *   <li>{@code shmsync_spin_bench}: blocking semaphores with the benchmark-side loop {@link SpinThenPark} (bounded
 *       {@code tryAcquire()} + {@code onSpinWait} of {@code --spin-ns}, then {@code acquire()}), for comparison with
 *       core's policy (it was the stand-in before core had one);</li>
 *   <li>{@code agrona_spin}, {@code agrona_backoff}: Agrona {@link UnsafeBuffer} over a {@code MAP_SHARED} mapping of a
 *       {@code /dev/shm} file, a sequence word per direction ({@code putIntOrdered} / {@code getIntVolatile}), waiting
 *       with {@link BusySpinIdleStrategy} or a default {@link BackoffIdleStrategy} (spin, yield, then parkNanos
 *       1 µs … 1 ms);</li>
 *   <li>{@code chronicle_spin}, {@code chronicle_pauser}: Chronicle Bytes {@link MappedBytes} on a {@code /dev/shm} file
 *       ({@code writeOrderedInt} / {@code readVolatileInt}), waiting with {@code Pauser.busy()} or
 *       {@code Pauser.balanced()} (Chronicle Threads);</li>
 *   <li>{@code filelock}: {@link FileChannel#lock(long, long, boolean)} (fcntl record locks): three one-byte locks passed
 *       round-robin (each side always holds the lock the other is about to wait for);</li>
 *   <li>{@code uds}: a Unix-domain stream {@link SocketChannel}, one byte each way (blocking);</li>
 *   <li>{@code pipe}: two named pipes (FIFOs) opened with {@link FileChannel}, one byte each way (blocking).</li>
 * </ul>
 * Dense: W warm-up round trips (not recorded), then R timed ones. Sparse ({@code --interval-us I}): W dense warm-up
 * round trips, then S untimed gapped ones ({@code --sparse-warmup S}, default {@value #SPARSE_WARMUP_ROUNDS}, one every
 * max(100 µs, 5 × the spin budget) but at most every I µs, so that each wait outlasts any spin: a spinner that always
 * caught the signal during the dense warm-up runs its park path here for the first time, and the JIT's tier-up of that
 * path — which at one message per I µs would otherwise happen inside the timed window — is not the steady-state cost),
 * then R timed round trips started every I µs (the ping thread sleeps with {@code parkNanos} in
 * between; a round trip that overruns its slot starts the next one at once). Prints
 * <pre>RESULT mech=M rounds=R cpus=P,Q p50_ns=.. p90_ns=.. p99_ns=.. p999_ns=.. max_ns=.. mean_ns=.. cpu_us_per_rt=X sys_pct=Y
 *        [interval_us=I wall_s=S cpu_pct=C ping_cpu_us=A pong_cpu_us=B] spin_ns=N</pre>
 * Core's spin policy never spins when the JVM has one CPU; in the cross-CPU placement ({@code --cpus P,Q}, P ≠ Q) each
 * process is pinned to its own single CPU while its partner has another, so both JVMs then run with
 * {@code -Dio.shmsync.spinOnOneCpu=true} (core's switch for exactly that); pinned together (P = Q) they do not, and
 * nothing spins. {@code spin_ns} in the RESULT line is the pong side's effective maximum spin (0 = off).
 * CPU time: {@code getrusage(RUSAGE_SELF)} of each process (all threads) over the timed rounds; the pong JVM reports its
 * own. {@code cpu_pct} = both processes' CPU time / wall time of the timed rounds × 100 (100 = one whole core).
 */
public final class Exchange {
    private static final List<String> MECHS = List.of("shmsync_block", "shmsync_spin_park", "shmsync_spin_fixed",
            "shmsync_spin_bench", "agrona_spin", "agrona_backoff",
            "chronicle_spin", "chronicle_pauser", "filelock", "uds", "pipe");

    private Exchange() {
    }

    /** One process's end of the channel. */
    interface Side extends AutoCloseable {
        void signal() throws Exception;

        void await() throws Exception;

        @Override
        default void close() throws Exception {
        }
    }

    public static void main(String[] args) throws Exception {
        if (args.length > 0 && args[0].equals("pong")) {
            pong(args[1], args[2], Long.parseLong(args[3]), Long.parseLong(args[4]), Long.parseLong(args[5]),
                    Integer.parseInt(args[6]));
            return;
        }
        String mech = null;
        long rounds = 20_000;
        long warmup = -1;
        long sparseWarmup = -1;
        long intervalUs = 0;
        long spinNs = 20_000;
        int cpuP = -1;
        int cpuQ = -1;
        String hgrm = null;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--mech" -> mech = args[++i];
                case "--rounds" -> rounds = Long.parseLong(args[++i]);
                case "--warmup" -> warmup = Long.parseLong(args[++i]);
                case "--sparse-warmup" -> sparseWarmup = Long.parseLong(args[++i]);
                case "--interval-us" -> intervalUs = Long.parseLong(args[++i]);
                case "--spin-ns" -> spinNs = Long.parseLong(args[++i]);
                case "--hgrm" -> hgrm = args[++i];
                case "--cpus" -> {
                    String[] pq = args[++i].split(",");
                    cpuP = Integer.parseInt(pq[0]);
                    cpuQ = Integer.parseInt(pq[1]);
                }
                default -> usage("unknown argument " + args[i]);
            }
        }
        if (mech == null || !MECHS.contains(mech) || rounds < 1 || intervalUs < 0) {
            usage("--mech " + String.join("|", MECHS) + " is required, rounds >= 1");
        }
        if (warmup < 0) {
            warmup = rounds / 10;
        }
        if (intervalUs == 0) {
            sparseWarmup = 0;
        } else if (sparseWarmup < 0) {
            sparseWarmup = SPARSE_WARMUP_ROUNDS;
        }
        if (cpuP >= 0) {
            Native.pinThisProcess(cpuP);
        }
        run(mech, rounds, warmup, sparseWarmup, intervalUs, spinNs, cpuP, cpuQ, hgrm);
    }

    private static void usage(String why) {
        System.err.println("Exchange: " + why);
        System.err.println("usage: Exchange --mech M [--rounds R] [--warmup W] [--cpus P,Q] [--interval-us I] [--sparse-warmup S] [--spin-ns N] [--hgrm FILE]");
        System.exit(2);
    }

    /** Default number of gapped warm-up rounds before a sparse run (enough invocations for C2, Tier4InvocationThreshold). */
    static final long SPARSE_WARMUP_ROUNDS = 5_000;

    private static void run(String mech, long rounds, long warmup, long sparseWarmup, long intervalUs, long spinNs,
                            int cpuP, int cpuQ, String hgrm) throws Exception {
        String name = "shmsync-bench-x-" + ProcessHandle.current().pid();
        Path dir = Path.of("/dev/shm");
        // CPUs the pair can use: one (pinned together), two (cross-CPU), or whatever this JVM may use (unpinned)
        int usable = cpuP < 0 ? Runtime.getRuntime().availableProcessors() : cpuP == cpuQ ? 1 : 2;
        boolean spinOnOneCpu = cpuP >= 0 && cpuP != cpuQ;
        if (spinOnOneCpu) {
            System.setProperty("io.shmsync.spinOnOneCpu", "true"); // read by core when a wait starts
        }
        Setup setup = prepare(mech, name, dir, usable);
        try {
            List<String> cmd = new ArrayList<>();
            if (cpuQ >= 0) {
                cmd.addAll(List.of("taskset", "-c", Integer.toString(cpuQ)));
            }
            cmd.add(ProcessHandle.current().info().command()
                    .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
            cmd.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments());
            if (spinOnOneCpu) {
                cmd.add("-Dio.shmsync.spinOnOneCpu=true");
            }
            cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), Exchange.class.getName(), "pong", mech, name,
                    Long.toString(warmup + sparseWarmup), Long.toString(rounds), Long.toString(spinNs),
                    Integer.toString(usable)));
            PingPong.Peer peer = PingPong.Peer.start(cmd);
            try (Side side = setup.pingSide(spinNs)) {
                for (long i = 0; i < warmup; i++) {
                    side.signal();
                    side.await();
                }
                Histogram h = PingPong.newHistogram();
                long period = intervalUs * 1000;
                long next = System.nanoTime();
                long warmPeriod = Math.min(period, Math.max(100_000L, 5 * spinNs));
                for (long i = 0; i < sparseWarmup; i++) { // untimed gapped rounds: every wait outlasts the spin
                    next = sleepUntil(next + warmPeriod);
                    side.signal();
                    side.await();
                }
                long[] c0 = Native.cpuTimeMicros();
                long start = System.nanoTime();
                next = start;
                for (long i = 0; i < rounds; i++) {
                    if (period > 0) {
                        next = sleepUntil(next + period);
                    }
                    long t0 = System.nanoTime();
                    side.signal();
                    side.await();
                    h.recordValue(System.nanoTime() - t0);
                }
                long wallNs = System.nanoTime() - start;
                long[] c1 = Native.cpuTimeMicros();
                peer.finished = true;
                side.signal(); // the untimed last round: the peer reports its CPU time, answers and exits
                side.await();
                peer.awaitExit();
                String line = peer.line("CPU ");
                long[] self = PingPong.minus(c1, c0);
                long[] other = {PingPong.field(line, "user_us"), PingPong.field(line, "sys_us")};
                long effectiveSpin = PingPong.field(line, "spin_ns");
                report(mech, h, rounds, cpuP, cpuQ, self, other, intervalUs, wallNs, effectiveSpin, hgrm);
            } finally {
                peer.close();
            }
        } finally {
            setup.close();
        }
    }

    /** Parks until {@code deadline} ({@link System#nanoTime()}); returns it. */
    private static long sleepUntil(long deadline) {
        for (long now; (now = System.nanoTime()) < deadline; ) {
            LockSupport.parkNanos(deadline - now);
        }
        return deadline;
    }

    private static void report(String mech, Histogram h, long rounds, int cpuP, int cpuQ, long[] self, long[] other,
                               long intervalUs, long wallNs, long spinNs, String hgrm) throws IOException {
        String cpus = cpuP >= 0 ? cpuP + "," + cpuQ : "any";
        double selfUs = self[0] + self[1];
        double otherUs = other[0] + other[1];
        double cpuUs = selfUs + otherUs;
        double sysPct = cpuUs == 0 ? 0 : 100.0 * (self[1] + other[1]) / cpuUs;
        StringBuilder sb = new StringBuilder(String.format(Locale.ROOT,
                "RESULT mech=%s rounds=%d cpus=%s p50_ns=%d p90_ns=%d p99_ns=%d p999_ns=%d max_ns=%d mean_ns=%d "
                        + "cpu_us_per_rt=%.3f sys_pct=%.0f",
                mech, h.getTotalCount(), cpus, h.getValueAtPercentile(50), h.getValueAtPercentile(90),
                h.getValueAtPercentile(99), h.getValueAtPercentile(99.9), h.getMaxValue(), Math.round(h.getMean()),
                cpuUs / rounds, sysPct));
        if (intervalUs > 0) {
            sb.append(String.format(Locale.ROOT, " interval_us=%d wall_s=%.2f cpu_pct=%.3f ping_cpu_us=%.0f pong_cpu_us=%.0f",
                    intervalUs, wallNs / 1e9, 100.0 * cpuUs * 1000 / wallNs, selfUs, otherUs));
        }
        sb.append(" spin_ns=").append(spinNs);
        System.out.println(sb.insert("RESULT ".length(), intervalUs > 0 ? "kind=sparse " : "kind=exchange "));
        if (hgrm != null) {
            try (PrintStream out = new PrintStream(Files.newOutputStream(Path.of(hgrm)), true, StandardCharsets.UTF_8)) {
                out.printf("# mech=%s cpus=%s interval_us=%d, round-trip time in microseconds%n", mech, cpus, intervalUs);
                h.outputPercentileDistribution(out, 5, 1000.0);
            }
        }
    }

    /** The pong JVM: W + R + 1 rounds of await, signal; reports its CPU time over the R timed rounds. */
    private static void pong(String mech, String name, long warmup, long rounds, long spinNs, int usable) throws Exception {
        boolean readyFirst = mech.equals("pipe"); // opening a FIFO blocks until the other side opens it too
        if (readyFirst) {
            System.out.println("READY");
            System.out.flush();
        }
        try (Side side = pongSide(mech, name, Path.of("/dev/shm"), spinNs, usable)) {
            if (!readyFirst) {
                System.out.println("READY");
                System.out.flush();
            }
            for (long i = 0; i < warmup; i++) {
                side.await();
                side.signal();
            }
            long[] c0 = Native.cpuTimeMicros();
            for (long i = 0; i < rounds; i++) {
                side.await();
                side.signal();
            }
            long[] c1 = Native.cpuTimeMicros();
            long effective = side instanceof SemSide s ? s.effectiveSpinNanos() : 0;
            System.out.println("CPU user_us=" + (c1[0] - c0[0]) + " sys_us=" + (c1[1] - c0[1]) + " spin_ns=" + effective);
            System.out.flush();
            side.await();
            side.signal();
        }
    }

    // ------------------------------------------------------------------------------------------ mechanisms

    /** What the ping side creates before the pong process starts; it opens its own side once pong is ready. */
    private interface Setup extends AutoCloseable {
        Side pingSide(long spinNs) throws Exception;

        @Override
        void close() throws Exception;
    }

    private static Setup prepare(String mech, String name, Path dir, int usable) throws Exception {
        return switch (mech) {
            case "shmsync_block", "shmsync_spin_park", "shmsync_spin_fixed", "shmsync_spin_bench" -> {
                Region.unlink(name);
                Region region = Region.create(name, 1 << 16);
                region.semaphore("a", 0);
                region.semaphore("b", 0);
                yield new Setup() {
                    @Override
                    public Side pingSide(long spinNs) {
                        return new SemSide(region.semaphore("a"), region.semaphore("b"), mech, spinNs, usable);
                    }

                    @Override
                    public void close() throws IOException {
                        region.close();
                        Region.unlink(name);
                    }
                };
            }
            case "agrona_spin", "agrona_backoff", "chronicle_spin", "chronicle_pauser", "filelock" -> {
                Path file = dir.resolve(name);
                Files.deleteIfExists(file);
                Files.write(file, new byte[4096]);
                yield new Setup() {
                    @Override
                    public Side pingSide(long spinNs) throws Exception {
                        return open(mech, file, true);
                    }

                    @Override
                    public void close() throws IOException {
                        Files.deleteIfExists(file);
                    }
                };
            }
            case "uds" -> {
                Path sock = Path.of(System.getProperty("java.io.tmpdir"), name + ".sock");
                Files.deleteIfExists(sock);
                ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
                server.bind(UnixDomainSocketAddress.of(sock));
                yield new Setup() {
                    @Override
                    public Side pingSide(long spinNs) throws IOException {
                        return new StreamSide(server.accept());
                    }

                    @Override
                    public void close() throws IOException {
                        server.close();
                        Files.deleteIfExists(sock);
                    }
                };
            }
            case "pipe" -> {
                Path a = dir.resolve(name + ".a");
                Path b = dir.resolve(name + ".b");
                Files.deleteIfExists(a);
                Files.deleteIfExists(b);
                Native.run("mkfifo", "-m", "600", a.toString(), b.toString());
                yield new Setup() {
                    @Override
                    public Side pingSide(long spinNs) throws IOException {
                        FileChannel out = FileChannel.open(a, StandardOpenOption.WRITE);
                        FileChannel in = FileChannel.open(b, StandardOpenOption.READ);
                        return new PipeSide(in, out);
                    }

                    @Override
                    public void close() throws IOException {
                        Files.deleteIfExists(a);
                        Files.deleteIfExists(b);
                    }
                };
            }
            default -> throw new IllegalArgumentException(mech);
        };
    }

    private static Side pongSide(String mech, String name, Path dir, long spinNs, int usable) throws Exception {
        return switch (mech) {
            case "shmsync_block", "shmsync_spin_park", "shmsync_spin_fixed", "shmsync_spin_bench" -> {
                Region region = Region.open(name);
                SemSide s = new SemSide(region.semaphore("b"), region.semaphore("a"), mech, spinNs, usable) {
                    @Override
                    public void close() {
                        region.close();
                    }
                };
                yield s;
            }
            case "agrona_spin", "agrona_backoff", "chronicle_spin", "chronicle_pauser", "filelock" ->
                    open(mech, dir.resolve(name), false);
            case "uds" -> new StreamSide(SocketChannel.open(UnixDomainSocketAddress.of(
                    Path.of(System.getProperty("java.io.tmpdir"), name + ".sock"))));
            case "pipe" -> {
                FileChannel in = FileChannel.open(dir.resolve(name + ".a"), StandardOpenOption.READ);
                FileChannel out = FileChannel.open(dir.resolve(name + ".b"), StandardOpenOption.WRITE);
                yield new PipeSide(in, out);
            }
            default -> throw new IllegalArgumentException(mech);
        };
    }

    private static Side open(String mech, Path file, boolean ping) throws IOException {
        int out = ping ? 0 : 64;   // each direction's sequence word on its own cache line
        int in = ping ? 64 : 0;
        return switch (mech) {
            case "agrona_spin", "agrona_backoff" -> {
                FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE);
                UnsafeBuffer buf = new UnsafeBuffer(ch.map(FileChannel.MapMode.READ_WRITE, 0, 4096));
                ch.close();
                IdleStrategy idle = mech.equals("agrona_spin") ? new BusySpinIdleStrategy() : new BackoffIdleStrategy();
                yield new SeqSide() {
                    @Override
                    void put(int v) {
                        buf.putIntOrdered(out, v);
                    }

                    @Override
                    void waitFor(int v) {
                        idle.reset();
                        while (buf.getIntVolatile(in) != v) {
                            idle.idle();
                            checkInterrupt();
                        }
                    }
                };
            }
            case "chronicle_spin", "chronicle_pauser" -> {
                MappedBytes bytes = MappedBytes.mappedBytes(file.toFile(), 4096);
                Pauser pauser = mech.equals("chronicle_spin") ? Pauser.busy() : Pauser.balanced();
                yield new SeqSide() {
                    @Override
                    void put(int v) {
                        bytes.writeOrderedInt(out, v);
                    }

                    @Override
                    void waitFor(int v) {
                        pauser.reset();
                        while (bytes.readVolatileInt(in) != v) {
                            pauser.pause();
                            checkInterrupt();
                        }
                    }

                    @Override
                    public void close() {
                        bytes.releaseLast();
                    }
                };
            }
            case "filelock" -> new LockSide(FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE), ping);
            default -> throw new IllegalArgumentException(mech);
        };
    }

    /** A dead peer interrupts the ping thread (PingPong.Peer); a spinning wait has to look. */
    private static void checkInterrupt() {
        if (Thread.currentThread().isInterrupted()) {
            throw new IllegalStateException("interrupted: the peer died");
        }
    }

    private static class SemSide implements Side {
        private final Semaphore out;
        private final Semaphore in;
        private final SpinThenPark benchSpin; // only for shmsync_spin_bench
        private final long coreSpinNanos;

        SemSide(Semaphore out, Semaphore in, String mech, long spinNs, int usable) {
            this.out = out;
            this.in = in;
            this.benchSpin = new SpinThenPark(mech.equals("shmsync_spin_bench") ? spinNs : 0, usable);
            SpinPolicy p = switch (mech) {
                case "shmsync_spin_park" -> SpinPolicy.adaptive(Duration.ofNanos(spinNs));
                case "shmsync_spin_fixed" -> SpinPolicy.fixed(Duration.ofNanos(spinNs));
                default -> SpinPolicy.NONE;
            };
            in.setSpinPolicy(p); // the handle this side waits on
            boolean coreSpins = Runtime.getRuntime().availableProcessors() > 1 || Boolean.getBoolean("io.shmsync.spinOnOneCpu");
            this.coreSpinNanos = coreSpins ? p.maxSpinNanos() : 0;
        }

        /** The longest spin before a park this side's waits may make (0: plain blocking). */
        long effectiveSpinNanos() {
            return Math.max(benchSpin.spinNanos(), coreSpinNanos);
        }

        @Override
        public void signal() {
            out.release();
        }

        @Override
        public void await() throws InterruptedException {
            benchSpin.acquire(in);
        }
    }

    /** Shared-memory sequence numbers, one word per direction; the waiting strategy is the subclass's. */
    private abstract static class SeqSide implements Side {
        private int sent;
        private int received;

        abstract void put(int v);

        abstract void waitFor(int v);

        @Override
        public void signal() {
            put(++sent);
        }

        @Override
        public void await() {
            waitFor(++received);
        }
    }

    private static final class StreamSide implements Side {
        private final SocketChannel ch;
        private final ByteBuffer one = ByteBuffer.allocateDirect(1);

        StreamSide(SocketChannel ch) {
            this.ch = ch;
        }

        @Override
        public void signal() throws IOException {
            one.clear();
            while (one.hasRemaining()) {
                ch.write(one);
            }
        }

        @Override
        public void await() throws IOException {
            one.clear();
            while (one.hasRemaining()) {
                if (ch.read(one) < 0) {
                    throw new IOException("peer closed the socket");
                }
            }
        }

        @Override
        public void close() throws IOException {
            ch.close();
        }
    }

    private static final class PipeSide implements Side {
        private final FileChannel in;
        private final FileChannel out;
        private final ByteBuffer one = ByteBuffer.allocateDirect(1);

        PipeSide(FileChannel in, FileChannel out) {
            this.in = in;
            this.out = out;
        }

        @Override
        public void signal() throws IOException {
            one.clear();
            while (one.hasRemaining()) {
                out.write(one);
            }
        }

        @Override
        public void await() throws IOException {
            one.clear();
            while (one.hasRemaining()) {
                if (in.read(one) < 0) {
                    throw new IOException("peer closed the pipe");
                }
            }
        }

        @Override
        public void close() throws IOException {
            in.close();
            out.close();
        }
    }

    /**
     * Token passing with three fcntl record locks L0, L1, L2 (one byte each) on one file. Initially ping holds L0
     * and L1, pong holds L2 and is about to lock L0. Round r: ping unlocks L[r%3] (signal) and locks L[(r+2)%3]
     * (await); pong locks L[r%3] (await) and unlocks L[(r+2)%3] (signal). After a round the holdings have rotated
     * by one (ping {L(r+1), L(r+2)}, pong {L(r)}), so each side always waits for a lock the other holds and will
     * release exactly once per round.
     */
    private static final class LockSide implements Side {
        private final FileChannel ch;
        private final boolean ping;
        private final FileLock[] held = new FileLock[3];
        private long round;

        LockSide(FileChannel ch, boolean ping) throws IOException {
            this.ch = ch;
            this.ping = ping;
            if (ping) {
                held[0] = ch.lock(0, 1, false);
                held[1] = ch.lock(1, 1, false);
            } else {
                held[2] = ch.lock(2, 1, false);
            }
        }

        @Override
        public void signal() throws IOException {
            int i = (int) ((ping ? round : round + 2) % 3);
            held[i].release();
            held[i] = null;
            if (!ping) {
                round++;
            }
        }

        @Override
        public void await() throws IOException {
            int i = (int) ((ping ? round + 2 : round) % 3);
            held[i] = ch.lock(i, 1, false);
            if (ping) {
                round++;
            }
        }

        @Override
        public void close() throws IOException {
            ch.close();
        }
    }
}
