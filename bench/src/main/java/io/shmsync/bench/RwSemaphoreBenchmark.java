package io.shmsync.bench;

import io.shmsync.Region;
import io.shmsync.RwSemaphore;

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
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Lock;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * Uncontended read lock + unlock and write lock + unlock, one thread, one op = one lock and one unlock (the
 * C reference, {@code bench/native/rwlock_bench uncontended}, times glibc's pshared {@code pthread_rwlock_t}
 * and the C {@code rwsem.h} protocol the same way; {@code bench/run.sh} step 9 runs both).
 *
 * <ul>
 *   <li>{@code rwRead}, {@code rwWrite}: a region {@link RwSemaphore} in a {@code /dev/shm} region,
 *       {@code lock()} + {@code unlock()}; {@code rwTryRead}, {@code rwTryWrite}: {@code tryLock()} +
 *       {@code unlock()};</li>
 *   <li>{@code jucRead}, {@code jucWrite}: {@link ReentrantReadWriteLock} (non-fair), the in-process
 *       reference;</li>
 *   <li>{@code casFloorRead}: the Java floor of the protocol — two 64-bit CASes (add, then subtract a read
 *       hold) on a {@code long} in a {@code MAP_SHARED} mapping of a {@code /dev/shm} file.</li>
 * </ul>
 * Run with {@code -prof gc}: every benchmark here must show {@code gc.alloc.rate.norm} ≈ 0 B/op.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow"})
@State(Scope.Thread)
public class RwSemaphoreBenchmark {
    private static final VarHandle LONG = ValueLayout.JAVA_LONG.varHandle();
    private static final long R1 = 1L << 32;

    private Region region;
    private RwSemaphore rw;
    private Lock read;
    private Lock write;
    private ReentrantReadWriteLock juc;
    private Lock jucRead;
    private Lock jucWrite;
    private Arena arena;
    private MemorySegment word;

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        String tag = ProcessHandle.current().pid() + "-" + Long.toHexString(System.nanoTime());
        String regionName = "bench-rw-" + tag;
        region = Region.create(regionName, 1 << 16);
        rw = region.rwSemaphore("rw");
        Region.unlink(regionName);
        read = rw.readLock();
        write = rw.writeLock();

        juc = new ReentrantReadWriteLock();
        jucRead = juc.readLock();
        jucWrite = juc.writeLock();

        arena = Arena.ofShared();
        Path file = Path.of("/dev/shm", "shmsync-bench-rwcas-" + tag);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.READ,
                StandardOpenOption.WRITE)) {
            ch.write(java.nio.ByteBuffer.allocate(4096));
            word = ch.map(FileChannel.MapMode.READ_WRITE, 0, 4096, arena);
        } finally {
            Files.deleteIfExists(file);
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        region.close();
        arena.close();
    }

    @Benchmark
    public void rwRead() {
        read.lock();
        read.unlock();
    }

    @Benchmark
    public void rwWrite() {
        write.lock();
        write.unlock();
    }

    @Benchmark
    public boolean rwTryRead() {
        boolean ok = read.tryLock();
        read.unlock();
        return ok;
    }

    @Benchmark
    public boolean rwTryWrite() {
        boolean ok = write.tryLock();
        write.unlock();
        return ok;
    }

    @Benchmark
    public void jucRead() {
        jucRead.lock();
        jucRead.unlock();
    }

    @Benchmark
    public void jucWrite() {
        jucWrite.lock();
        jucWrite.unlock();
    }

    @Benchmark
    public long casFloorRead() {
        long s = (long) LONG.get(word, 0L);
        long w = (long) LONG.compareAndExchangeAcquire(word, 0L, s, s + R1);
        if (w != s) {
            throw new IllegalStateException("word was " + w);
        }
        s = (long) LONG.compareAndExchangeRelease(word, 0L, w + R1, w);
        return s;
    }
}
