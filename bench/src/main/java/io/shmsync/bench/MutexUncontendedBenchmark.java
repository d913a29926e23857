package io.shmsync.bench;

import io.shmsync.Mutex;
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

import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Uncontended robust {@link Mutex} lock + unlock, one thread, one op = one lock and one unlock, robust-list
 * bookkeeping included (docs/PROTOCOL.md §6.4). The C floor is glibc's robust, process-shared,
 * error-checking {@code pthread_mutex_lock + pthread_mutex_unlock} timed the same way by
 * {@code core/src/test/c/robust_peer.c} ({@code robust_peer bench N ROUNDS}); run it in the same session.
 * {@code reentrantLockLockUnlock} is the in-process reference. Run with {@code -prof gc}: 0 B/op expected.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED"})
@State(Scope.Thread)
public class MutexUncontendedBenchmark {
    private Region region;
    private Mutex mutex;
    private final ReentrantLock juc = new ReentrantLock();

    @Setup(Level.Trial)
    public void setUp() throws java.io.IOException {
        String name = "bench-mutex-" + ProcessHandle.current().pid() + "-" + Long.toHexString(System.nanoTime());
        region = Region.create(name, 1 << 16);
        mutex = region.mutex("m");
        Region.unlink(name);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        region.close();
    }

    @Benchmark
    public void mutexLockUnlock() {
        mutex.lock();
        mutex.unlock();
    }

    @Benchmark
    public boolean mutexTryLockUnlock() {
        boolean ok = mutex.tryLock();
        mutex.unlock();
        return ok;
    }

    @Benchmark
    public void reentrantLockLockUnlock() {
        juc.lock();
        juc.unlock();
    }
}
