package io.shmsync.bench;

import net.openhft.chronicle.bytes.MappedBytes;

import org.agrona.concurrent.UnsafeBuffer;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.io.IOException;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.TimeUnit;

/**
 * The same uncontended CAS lock + release store as {@code UncontendedBenchmark.varHandleCasLockUnlock} (and the
 * C {@code cas_lock_unlock} floor), done the way the shared-memory libraries users would pick instead do it, on
 * a {@code MAP_SHARED} mapping of a {@code /dev/shm} file:
 * <ul>
 *   <li>{@code agronaCasLockUnlock}: Agrona {@link UnsafeBuffer#compareAndSetInt} + {@code putIntOrdered} over a
 *       {@link MappedByteBuffer};</li>
 *   <li>{@code chronicleCasLockUnlock}: Chronicle Bytes {@link MappedBytes#compareAndSwapInt} +
 *       {@code writeOrderedInt}.</li>
 * </ul>
 * Each library gets the JVM flags it documents for JDK 17+ (see {@link #AGRONA_FLAGS} and
 * {@link #CHRONICLE_FLAGS}; bench/README.md): on JDK 25 neither runs without them. The states are separate, so if
 * one library cannot start, only its benchmark fails (JMH reports it and goes on).
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow",
        // Agrona 2.x: org.agrona.UnsafeApi uses jdk.internal.misc.Unsafe
        "--add-exports=java.base/jdk.internal.misc=ALL-UNNAMED",
        // Chronicle Bytes / Core on JDK 17+ (their documented set; the minimum that works here is
        // sun.nio.ch + java.lang.reflect opened and jdk.internal.ref exported)
        "--add-exports=java.base/jdk.internal.ref=ALL-UNNAMED", "--add-exports=java.base/sun.nio.ch=ALL-UNNAMED",
        "--add-exports=jdk.unsupported/sun.misc=ALL-UNNAMED", "--add-opens=java.base/java.lang=ALL-UNNAMED",
        "--add-opens=java.base/java.lang.reflect=ALL-UNNAMED", "--add-opens=java.base/java.io=ALL-UNNAMED",
        "--add-opens=java.base/java.util=ALL-UNNAMED", "--add-opens=java.base/java.nio=ALL-UNNAMED",
        "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED", "-Dchronicle.analytics.disable=true"})
public class PeerUncontendedBenchmark {
    /** The flags Agrona 2.x needs on JDK 25 (also used by run.sh for the ping-pong). */
    public static final String AGRONA_FLAGS = "--add-exports=java.base/jdk.internal.misc=ALL-UNNAMED";
    /** The flags Chronicle Bytes 2026.x needs on JDK 25 (also used by run.sh for the ping-pong). */
    public static final String CHRONICLE_FLAGS = "--add-exports=java.base/jdk.internal.ref=ALL-UNNAMED "
            + "--add-exports=java.base/sun.nio.ch=ALL-UNNAMED --add-exports=jdk.unsupported/sun.misc=ALL-UNNAMED "
            + "--add-opens=java.base/java.lang=ALL-UNNAMED --add-opens=java.base/java.lang.reflect=ALL-UNNAMED "
            + "--add-opens=java.base/java.io=ALL-UNNAMED --add-opens=java.base/java.util=ALL-UNNAMED "
            + "--add-opens=java.base/java.nio=ALL-UNNAMED --add-opens=java.base/sun.nio.ch=ALL-UNNAMED "
            + "-Dchronicle.analytics.disable=true";

    private static Path newFile(String what) throws IOException {
        Path file = Path.of("/dev/shm", "shmsync-bench-" + what + "-" + ProcessHandle.current().pid() + "-"
                + Long.toHexString(System.nanoTime()));
        Files.write(file, new byte[4096]);
        return file;
    }

    @State(Scope.Thread)
    public static class Agrona {
        UnsafeBuffer buffer;

        @Setup(Level.Trial)
        public void setUp() throws IOException {
            Path file = newFile("agrona");
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                buffer = new UnsafeBuffer(ch.map(FileChannel.MapMode.READ_WRITE, 0, 4096));
            } finally {
                Files.deleteIfExists(file);
            }
        }
    }

    @State(Scope.Thread)
    public static class Chronicle {
        MappedBytes bytes;

        @Setup(Level.Trial)
        public void setUp() throws IOException {
            Path file = newFile("chronicle");
            bytes = MappedBytes.mappedBytes(file.toFile(), 4096);
            bytes.compareAndSwapInt(0, 0, 0); // map the chunk now, not in the first measured call
            Files.deleteIfExists(file);
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            bytes.releaseLast();
        }
    }

    @Benchmark
    public boolean agronaCasLockUnlock(Agrona s) {
        boolean ok = s.buffer.compareAndSetInt(0, 0, 1);
        if (!ok) {
            throw new IllegalStateException("lock word was " + s.buffer.getInt(0));
        }
        s.buffer.putIntOrdered(0, 0);
        return ok;
    }

    @Benchmark
    public boolean chronicleCasLockUnlock(Chronicle s) {
        boolean ok = s.bytes.compareAndSwapInt(0, 0, 1);
        if (!ok) {
            throw new IllegalStateException("lock word was " + s.bytes.readInt(0));
        }
        s.bytes.writeOrderedInt(0, 0);
        return ok;
    }
}
