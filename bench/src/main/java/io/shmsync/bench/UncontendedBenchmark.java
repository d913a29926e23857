package io.shmsync.bench;

import io.shmsync.PosixSemaphore;
import io.shmsync.Region;

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
import java.util.concurrent.locks.ReentrantLock;

/**
 * Uncontended acquire + release, one thread, one op = one acquire and one release (the C floor,
 * {@code kernel-mirror/build/sem_bench uncontended}, times {@code sem_post + sem_wait} the same way).
 *
 * <ul>
 *   <li>{@code shmsyncTryAcquireRelease}, {@code shmsyncAcquireRelease}: a region {@link io.shmsync.Semaphore}
 *       in a {@code /dev/shm} region (1 permit, so every acquire succeeds on the fast path);</li>
 *   <li>{@code posixTryAcquireRelease}: a {@link PosixSemaphore} ({@code /dev/shm/sem.NAME}, the file glibc's
 *       {@code sem_open} uses) — same protocol, no directory guard;</li>
 *   <li>{@code jucTryAcquireRelease}, {@code jucAcquireRelease}: {@link java.util.concurrent.Semaphore}
 *       (non-fair), the in-process reference;</li>
 *   <li>{@code shmsyncMutexLockUnlock}: a region {@link io.shmsync.Mutex} ({@code lock()}+{@code unlock()}; robust:
 *       the C floor is glibc's robust process-shared {@code pthread_mutex_lock}+{@code unlock},
 *       {@code bench/native/native_bench mutex-uncontended});</li>
 *   <li>{@code reentrantLockLockUnlock}: {@link ReentrantLock} (non-fair), the in-process reference for a lock;</li>
 *   <li>{@code varHandleCasLockUnlock}: the Java floor — CAS 0→1 (acquire) and a release store of 0 on an
 *       {@code int} in a {@code MAP_SHARED} mapping of a {@code /dev/shm} file, exactly the C
 *       {@code cas_lock_unlock} loop.</li>
 * </ul>
 * Files are unlinked right after they are mapped, so a killed fork leaves nothing in {@code /dev/shm}.
 * Run with {@code -prof gc}: every benchmark here must show {@code gc.alloc.rate.norm} ≈ 0 B/op.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow"})
@State(Scope.Thread)
public class UncontendedBenchmark {
    private static final VarHandle INT = ValueLayout.JAVA_INT.varHandle();

    private Region region;
    private io.shmsync.Semaphore shmsync;
    private io.shmsync.Mutex mutex;
    private final ReentrantLock reentrantLock = new ReentrantLock();
    private PosixSemaphore posix;
    private java.util.concurrent.Semaphore juc;
    private Arena arena;
    private MemorySegment word;

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        String tag = ProcessHandle.current().pid() + "-" + Long.toHexString(System.nanoTime());
        String regionName = "bench-jmh-" + tag;
        region = Region.create(regionName, 1 << 16);
        shmsync = region.semaphore("s", 1);
        mutex = region.mutex("m");
        Region.unlink(regionName);

        String posixName = "/shmsync-bench-jmh-" + tag;
        posix = PosixSemaphore.create(posixName, 0600, 1);
        PosixSemaphore.unlink(posixName);

        juc = new java.util.concurrent.Semaphore(1);

        arena = Arena.ofShared();
        Path file = Path.of("/dev/shm", "shmsync-bench-cas-" + tag);
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
        posix.close();
        arena.close();
    }

    @Benchmark
    public boolean shmsyncTryAcquireRelease() {
        boolean ok = shmsync.tryAcquire();
        shmsync.release();
        return ok;
    }

    @Benchmark
    public void shmsyncAcquireRelease() throws InterruptedException {
        shmsync.acquire();
        shmsync.release();
    }

    @Benchmark
    public boolean posixTryAcquireRelease() {
        boolean ok = posix.tryAcquire();
        posix.release();
        return ok;
    }

    @Benchmark
    public boolean jucTryAcquireRelease() {
        boolean ok = juc.tryAcquire();
        juc.release();
        return ok;
    }

    @Benchmark
    public void jucAcquireRelease() throws InterruptedException {
        juc.acquire();
        juc.release();
    }

    @Benchmark
    public void shmsyncMutexLockUnlock() {
        mutex.lock();
        mutex.unlock();
    }

    @Benchmark
    public void reentrantLockLockUnlock() {
        reentrantLock.lock();
        reentrantLock.unlock();
    }

    @Benchmark
    public int varHandleCasLockUnlock() {
        int witness = (int) INT.compareAndExchangeAcquire(word, 0L, 0, 1);
        if (witness != 0) {
            throw new IllegalStateException("lock word was " + witness);
        }
        INT.setRelease(word, 0L, 0);
        return witness;
    }
}
