package io.shmsync;

import io.shmsync.testing.Child;
import io.shmsync.testing.ChildJvm;
import io.shmsync.testing.Seeds;
import io.shmsync.testing.ShmDir;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * N processes x M threads use a 1-permit region semaphore as a lock around a plain (non-atomic)
 * read-modify-write of a counter in shared memory: the final count is exact only if the semaphore gives
 * mutual exclusion across processes and its release/acquire order makes the plain accesses visible.
 */
class CrossProcessCounterTest {
    static final int PROCESSES = 4;
    static final int THREADS = 4;
    static final int INCREMENTS = 3000;

    @RegisterExtension
    final ShmDir shm = new ShmDir();

    // counter file layout: count (long) at 0, owner (int) at 8
    static final long COUNT = 0;
    static final long OWNER = 8;

    @Test
    @Timeout(180)
    void exactCountAcrossProcesses() throws Exception {
        long seed = Seeds.seed("CrossProcessCounterTest");
        String name = shm.regionName("counter");
        Path counterFile = shm.path().resolve("counter");
        Files.write(counterFile, new byte[64]);
        try (Region region = Region.create(name, 64 * 1024)) {
            Semaphore lock = region.semaphore("lock", 1);
            List<ChildJvm> children = new ArrayList<>();
            for (int p = 0; p < PROCESSES; p++) {
                children.add(shm.start(shm.child(Worker.class).name("worker-" + p)
                        .args(name, counterFile, p + 1, THREADS, INCREMENTS, seed + p)));
            }
            for (ChildJvm c : children) {
                c.awaitLine("READY");
            }
            for (ChildJvm c : children) {
                c.send("GO");
            }
            Pattern result = Pattern.compile("RESULT increments=(\\d+) violations=(\\d+)");
            long total = 0;
            for (ChildJvm c : children) {
                Matcher m = c.awaitMatch(result);
                if (!m.group(2).equals("0")) {
                    throw c.failure("mutual exclusion violated (seed " + seed + ")");
                }
                total += Long.parseLong(m.group(1));
                c.assertExit(0);
            }
            assertEquals((long) PROCESSES * THREADS * INCREMENTS, total);
            long count;
            try (FileChannel ch = FileChannel.open(counterFile, StandardOpenOption.READ);
                 Arena arena = Arena.ofConfined()) {
                count = ch.map(FileChannel.MapMode.READ_ONLY, 0, 64, arena).get(ValueLayout.JAVA_LONG, COUNT);
            }
            assertEquals((long) PROCESSES * THREADS * INCREMENTS, count,
                    "lost updates under the semaphore (seed " + seed + ")");
            assertEquals(1, lock.availablePermits(), lock.toString());
            assertEquals(0, lock.getQueueLength(), lock.toString());
        }
    }

    /** args: region counterFile processId threads increments seed. */
    public static final class Worker {
        public static void main(String[] args) {
            Child.run(args, a -> {
                String region = a[0];
                Path counterFile = Path.of(a[1]);
                int pid = Integer.parseInt(a[2]);
                int threads = Integer.parseInt(a[3]);
                int increments = Integer.parseInt(a[4]);
                long seed = Long.parseLong(a[5]);
                try (Region r = Region.open(region);
                     FileChannel ch = FileChannel.open(counterFile, StandardOpenOption.READ, StandardOpenOption.WRITE);
                     Arena arena = Arena.ofShared()) {
                    MemorySegment counter = ch.map(FileChannel.MapMode.READ_WRITE, 0, 64, arena);
                    Semaphore lock = r.semaphore("lock");
                    AtomicLong done = new AtomicLong();
                    AtomicLong violations = new AtomicLong();
                    List<Thread> ts = new ArrayList<>();
                    Child.say("READY");
                    Child.expect("GO");
                    for (int t = 0; t < threads; t++) {
                        int me = pid * 1000 + t + 1;
                        Random rnd = new Random(seed * 31 + t);
                        ts.add(Thread.ofPlatform().name("inc-" + t).start(() -> {
                            try {
                                for (int i = 0; i < increments; i++) {
                                    acquire(lock, rnd);
                                    try {
                                        if (counter.get(ValueLayout.JAVA_INT, OWNER) != 0) {
                                            violations.incrementAndGet();
                                        }
                                        counter.set(ValueLayout.JAVA_INT, OWNER, me);
                                        long v = counter.get(ValueLayout.JAVA_LONG, COUNT);
                                        for (int s = rnd.nextInt(20); s > 0; s--) {
                                            Thread.onSpinWait(); // widen the window for a lost update
                                        }
                                        counter.set(ValueLayout.JAVA_LONG, COUNT, v + 1);
                                        if (counter.get(ValueLayout.JAVA_INT, OWNER) != me) {
                                            violations.incrementAndGet();
                                        }
                                        counter.set(ValueLayout.JAVA_INT, OWNER, 0);
                                    } finally {
                                        lock.release();
                                    }
                                    done.incrementAndGet();
                                }
                            } catch (Throwable e) {
                                e.printStackTrace(System.out);
                                violations.addAndGet(1_000_000);
                            }
                        }));
                    }
                    for (Thread t : ts) {
                        t.join();
                    }
                    Child.say("RESULT increments=" + done.get() + " violations=" + violations.get());
                }
            });
        }

        /** Every way of acquiring, chosen at random. */
        static void acquire(Semaphore lock, Random rnd) throws InterruptedException {
            switch (rnd.nextInt(8)) {
                case 0 -> lock.acquireUninterruptibly();
                case 1 -> {
                    while (!lock.tryAcquire(1 + rnd.nextInt(3), TimeUnit.MILLISECONDS)) {
                        // timed out: try again
                    }
                }
                case 2 -> {
                    while (!lock.tryAcquire()) {
                        Thread.yield();
                    }
                }
                default -> lock.acquire();
            }
        }
    }
}
