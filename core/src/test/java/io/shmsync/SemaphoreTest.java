package io.shmsync;

import io.shmsync.testing.Await;
import io.shmsync.testing.Seeds;
import io.shmsync.testing.ShmDir;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Semaphore semantics within one process: counting, introspection, mutual exclusion, POSIX names. */
class SemaphoreTest {
    @RegisterExtension
    final ShmDir shm = new ShmDir();

    @Test
    void counting() throws Exception {
        try (Region r = Region.create(shm.regionName("count"), 64 * 1024)) {
            Semaphore s = r.semaphore("s", 2);
            assertTrue(s.tryAcquire());
            assertTrue(s.tryAcquire(0, TimeUnit.SECONDS));
            assertFalse(s.tryAcquire());
            assertEquals(0, s.availablePermits());
            s.release();
            s.release(3);
            s.release(0);
            assertThrows(IllegalArgumentException.class, () -> s.release(-1));
            assertEquals(4, s.availablePermits());
            assertEquals(4, s.drainPermits());
            assertEquals(0, s.drainPermits());
            assertFalse(s.hasQueuedThreads());
            assertEquals(0, s.getQueueLength());
            assertThrows(IllegalArgumentException.class, () -> r.semaphore("neg", -1));
        }
    }

    @Test
    @Timeout(60)
    void introspectionWhileThreadsWait() throws Exception {
        try (Region r = Region.create(shm.regionName("intro"), 64 * 1024)) {
            Semaphore s = r.semaphore("jobs", 0);
            List<Thread> ts = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                ts.add(Thread.ofPlatform().start(s::acquireUninterruptibly));
            }
            ts.add(Thread.ofVirtual().start(s::acquireUninterruptibly));
            Await.until(() -> s.getQueueLength() == 4, s::toString);
            assertTrue(s.hasQueuedThreads());
            String str = s.toString();
            assertTrue(str.contains("\"jobs\"") && str.contains(r.name()) && str.contains("permits=0")
                    && str.contains("waiters=4"), str);
            s.release(4);
            for (Thread t : ts) {
                t.join();
            }
            assertFalse(s.hasQueuedThreads());
            assertEquals(0, s.availablePermits());
        }
    }

    /** Platform and virtual threads increment a plain field under a 1-permit semaphore: exact count. */
    @Test
    @Timeout(120)
    void mutualExclusionAndVisibilityBetweenThreads() throws Exception {
        long seed = Seeds.seed("SemaphoreTest.mutualExclusion");
        int threads = 8, increments = 20_000;
        long[] counter = new long[1]; // plain, deliberately not volatile
        AtomicInteger inside = new AtomicInteger();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        try (Region r = Region.create(shm.regionName("mutex"), 64 * 1024)) {
            Semaphore lock = r.semaphore("lock", 1);
            CyclicBarrier start = new CyclicBarrier(threads);
            List<Thread> ts = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                Random rnd = new Random(seed + t);
                Runnable body = () -> {
                    try {
                        start.await();
                        for (int i = 0; i < increments; i++) {
                            switch (rnd.nextInt(4)) {
                                case 0 -> lock.acquireUninterruptibly();
                                case 1 -> {
                                    while (!lock.tryAcquire(1, TimeUnit.MILLISECONDS)) {
                                        // again
                                    }
                                }
                                default -> lock.acquire();
                            }
                            try {
                                if (inside.incrementAndGet() != 1) {
                                    throw new AssertionError("two threads inside");
                                }
                                counter[0]++;
                                inside.decrementAndGet();
                            } finally {
                                lock.release();
                            }
                        }
                    } catch (Throwable e) {
                        failure.compareAndSet(null, e);
                    }
                };
                ts.add(t % 2 == 0 ? Thread.ofPlatform().start(body) : Thread.ofVirtual().start(body));
            }
            for (Thread t : ts) {
                t.join();
            }
            if (failure.get() != null) {
                throw new AssertionError("seed " + seed, failure.get());
            }
            assertEquals((long) threads * increments, counter[0], "seed " + seed);
            assertEquals(1, lock.availablePermits());
            assertEquals(0, lock.getQueueLength());
        }
    }

    @Test
    void posixSemaphoreLifecycle() throws Exception {
        String n = shm.semName();
        assertThrows(NoSuchFileException.class, () -> PosixSemaphore.open(n));
        assertFalse(PosixSemaphore.unlink(n));
        try (PosixSemaphore s = PosixSemaphore.create(n, 0640, 3)) {
            assertEquals(n, s.name());
            assertEquals(32, Files.size(PosixSemaphore.path(n)));
            assertEquals("rw-r-----", java.nio.file.attribute.PosixFilePermissions.toString(
                    Files.getPosixFilePermissions(PosixSemaphore.path(n))));
            assertThrows(FileAlreadyExistsException.class, () -> PosixSemaphore.create(n, 0600, 1));
            try (PosixSemaphore again = PosixSemaphore.openOrCreate(n, 0600, 9)) {
                assertEquals(3, again.availablePermits(), "an existing semaphore keeps its value");
                assertTrue(again.tryAcquire());
                assertEquals(2, s.availablePermits(), "two handles, one semaphore");
            }
            assertEquals(0, s.generation());
            assertTrue(s.toString().startsWith("PosixSemaphore["), s.toString());
            assertTrue(PosixSemaphore.unlink(n));
            assertThrows(NoSuchFileException.class, () -> PosixSemaphore.open(n));
            s.release();
            assertEquals(3, s.availablePermits(), "usable after unlink, like sem_unlink");
        }
        String bare = shm.semName().substring(1); // without the slash
        try (PosixSemaphore s = PosixSemaphore.openOrCreate(bare, 0600, 1)) {
            assertEquals("/" + bare, s.name());
            assertTrue(Files.exists(PosixSemaphore.path("/" + bare)));
        } finally {
            PosixSemaphore.unlink(bare);
        }
    }

    /** Threads racing openOrCreate of one POSIX name: one initialises it, the permits exist once. */
    @Test
    @Timeout(60)
    void posixOpenOrCreateRace() throws Exception {
        for (int round = 0; round < 20; round++) {
            String n = shm.semName();
            int threads = 8;
            CyclicBarrier start = new CyclicBarrier(threads);
            AtomicInteger got = new AtomicInteger();
            AtomicReference<Throwable> failure = new AtomicReference<>();
            List<Thread> ts = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                ts.add(Thread.ofPlatform().start(() -> {
                    try {
                        start.await();
                        try (PosixSemaphore s = PosixSemaphore.openOrCreate(n, 0600, 3)) {
                            while (s.tryAcquire()) {
                                got.incrementAndGet();
                            }
                        }
                    } catch (Throwable e) {
                        failure.compareAndSet(null, e);
                    }
                }));
            }
            for (Thread t : ts) {
                t.join();
            }
            if (failure.get() != null) {
                throw new AssertionError(failure.get());
            }
            assertEquals(3, got.get(), "round " + round);
            try (var files = Files.list(PosixSemaphore.SHM_DIRECTORY)) {
                assertTrue(files.map(p -> p.getFileName().toString())
                        .noneMatch(f -> f.matches("sem\\.[0-9a-f]{12}")), "temp files left in /dev/shm");
            }
        }
    }
}
