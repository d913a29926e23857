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

import java.io.IOException;
import java.util.concurrent.TimeUnit;

/**
 * An uncontended robust {@link Mutex} lock+unlock on the process's <em>lease list</em> (docs/PROTOCOL.md §6.3):
 * the path of virtual threads, and of platform threads that cannot share glibc's robust list — four atomics
 * per pair (the lease list's operation lock, twice) instead of the two of a platform thread's own list, which
 * {@code UncontendedBenchmark.shmsyncMutexLockUnlock} measures. The fork turns thread lists off, so JMH's
 * platform worker thread takes the lease path.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Dio.shmsync.mutex.threadLists=false"})
@State(Scope.Thread)
public class MutexLeaseListBenchmark {
    private Region region;
    private Mutex mutex;

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        String name = "bench-lease-" + ProcessHandle.current().pid() + "-" + Long.toHexString(System.nanoTime());
        region = Region.create(name, 1 << 16);
        mutex = region.mutex("m");
        Region.unlink(name);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        region.close();
    }

    @Benchmark
    public void shmsyncMutexLeaseListLockUnlock() {
        mutex.lock();
        mutex.unlock();
    }
}
