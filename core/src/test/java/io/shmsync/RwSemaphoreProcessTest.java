package io.shmsync;

import io.shmsync.internal.sync.RwSemaphoreLayout;
import io.shmsync.testing.Await;
import io.shmsync.testing.Child;
import io.shmsync.testing.ChildJvm;
import io.shmsync.testing.Seeds;
import io.shmsync.testing.ShmDir;
import org.junit.jupiter.api.Assumptions;
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
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Lock;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * RwSemaphore across processes: JVMs hammering one object with readers and writers, interrupts and
 * timeouts from a seeded generator, under an invariant that only exclusion keeps (two counters in shared
 * memory that writers change together); and a C process running {@code include/shmsync/rwsem.h} on the
 * same word as the JVM — hand-offs in both directions, the abort rule, and the same stress.
 */
class RwSemaphoreProcessTest {
    @RegisterExtension
    final ShmDir shm = new ShmDir();

    private static final Pattern DONE = Pattern.compile("DONE writes=(\\d+) reads=(\\d+) violations=(\\d+) "
            + "aborted=(\\d+)");

    /** Maps the two-counter file (u64 at 0 and 8). */
    static MemorySegment counters(Path file, Arena arena) throws Exception {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE,
                StandardOpenOption.CREATE)) {
            if (ch.size() < 4096) {
                ch.write(java.nio.ByteBuffer.allocate(4096), 0);
            }
            return ch.map(FileChannel.MapMode.READ_WRITE, 0, 4096, arena);
        }
    }

    /**
     * Runs {@code rounds} random operations per thread on {@code rw}: reads check that the counters are
     * equal, writes increment both with a yield between; a quarter timed (0-200 µs), some tryLock, the rest
     * lockInterruptibly; a chaos thread interrupts the workers at seeded random moments.
     */
    static long[] hammer(RwSemaphore rw, MemorySegment c, int threads, int rounds, long seed) throws Exception {
        AtomicLong writes = new AtomicLong(), reads = new AtomicLong(), violations = new AtomicLong(),
                aborted = new AtomicLong();
        List<Thread> workers = new ArrayList<>();
        List<Throwable> errors = java.util.Collections.synchronizedList(new ArrayList<>());
        for (int t = 0; t < threads; t++) {
            Random random = new Random(seed * 31 + t);
            Runnable body = () -> {
                try {
                    for (int i = 0; i < rounds; i++) {
                        boolean read = random.nextInt(10) < 6;
                        Lock l = read ? rw.readLock() : rw.writeLock();
                        boolean got;
                        try {
                            int how = random.nextInt(4);
                            got = how == 0 ? l.tryLock(random.nextInt(200), TimeUnit.MICROSECONDS)
                                    : how == 1 ? l.tryLock() : lock(l);
                        } catch (InterruptedException e) {
                            got = false;
                        }
                        if (!got) {
                            aborted.incrementAndGet();
                            continue;
                        }
                        try {
                            if (read) {
                                if (c.get(ValueLayout.JAVA_LONG, 0) != c.get(ValueLayout.JAVA_LONG, 8)) {
                                    violations.incrementAndGet();
                                }
                                reads.incrementAndGet();
                            } else {
                                c.set(ValueLayout.JAVA_LONG, 0, c.get(ValueLayout.JAVA_LONG, 0) + 1);
                                if (random.nextInt(4) == 0) {
                                    Thread.yield();
                                }
                                c.set(ValueLayout.JAVA_LONG, 8, c.get(ValueLayout.JAVA_LONG, 8) + 1);
                                writes.incrementAndGet();
                            }
                        } finally {
                            l.unlock();
                            Thread.interrupted(); // an interrupt that missed its wait is dropped here
                        }
                    }
                } catch (Throwable e) {
                    errors.add(e);
                }
            };
            workers.add(t % 2 == 0 ? Thread.ofPlatform().start(body) : Thread.ofVirtual().start(body));
        }
        Random chaos = new Random(seed ^ 0xC4A05L);
        while (workers.stream().anyMatch(Thread::isAlive)) {
            workers.get(chaos.nextInt(threads)).interrupt();
            Thread.sleep(0, 100_000 + chaos.nextInt(900_000));
        }
        for (Thread w : workers) {
            w.join();
        }
        if (!errors.isEmpty()) {
            AssertionError e = new AssertionError("worker failed: " + errors.getFirst(), errors.getFirst());
            throw e;
        }
        return new long[]{writes.get(), reads.get(), violations.get(), aborted.get()};
    }

    private static boolean lock(Lock l) throws InterruptedException {
        l.lockInterruptibly();
        return true;
    }

    /** Child: {@code REGION COUNTERS THREADS ROUNDS SEED}; prints READY, waits for GO, hammers, prints DONE. */
    public static final class StressChild {
        public static void main(String[] args) {
            Child.run(args, a -> {
                try (Region r = Region.open(a[0]); Arena arena = Arena.ofShared()) {
                    RwSemaphore rw = r.rwSemaphore("rw");
                    MemorySegment c = counters(Path.of(a[1]), arena);
                    Child.say("READY");
                    Child.expect("GO");
                    long[] x = hammer(rw, c, Integer.parseInt(a[2]), Integer.parseInt(a[3]), Long.parseLong(a[4]));
                    Child.say("DONE writes=" + x[0] + " reads=" + x[1] + " violations=" + x[2] + " aborted=" + x[3]);
                }
            });
        }
    }

    @Test
    @Timeout(300)
    void threeJvmsKeepTheInvariant() throws Exception {
        long seed = Seeds.seed("RwSemaphoreProcessTest.threeJvmsKeepTheInvariant");
        String name = shm.regionName("rw");
        Path file = shm.path().resolve("counters");
        try (Region r = Region.create(name, 64 * 1024); Arena arena = Arena.ofShared()) {
            RwSemaphore rw = r.rwSemaphore("rw");
            MemorySegment c = counters(file, arena);
            List<ChildJvm> children = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                children.add(shm.start(shm.child(StressChild.class).name("stress-" + i)
                        .args(name, file, 2, 1500, seed + i)));
            }
            for (ChildJvm ch : children) {
                ch.awaitLine("READY");
            }
            for (ChildJvm ch : children) {
                ch.send("GO");
            }
            long writes = 0, reads = 0;
            for (ChildJvm ch : children) {
                Matcher m = ch.awaitMatch(DONE, Duration.ofSeconds(240));
                assertEquals("0", m.group(3), ch.describe("exclusion violated"));
                writes += Long.parseLong(m.group(1));
                reads += Long.parseLong(m.group(2));
                ch.assertExit(0);
            }
            System.out.println("threeJvmsKeepTheInvariant: " + writes + " writes, " + reads + " reads");
            assertTrue(writes > 0 && reads > 0, "both kinds of holds happened");
            assertEquals(writes, c.get(ValueLayout.JAVA_LONG, 0), "every write counted once");
            assertEquals(writes, c.get(ValueLayout.JAVA_LONG, 8));
            assertEquals(0L, rw.stateWord() & ~RwSemaphoreLayout.PHASE, rw.toString());
        }
    }

    // ------------------------------------------------------------------ C interop

    static Path peerBinary() {
        String bin = System.getProperty("shmsync.c.bin");
        Assumptions.assumeTrue(bin != null, "system property shmsync.c.bin not set (run through Maven)");
        Path p = Path.of(bin, "rwsem_peer");
        assertTrue(Files.isExecutable(p), p + " not built (make -C kernel-mirror user)");
        return p;
    }

    private ChildJvm peer(Region r) {
        long offset = r.entries().stream().filter(e -> e.name().equals("rw")).findFirst().orElseThrow().offset();
        ChildJvm c = shm.closeLater(ChildJvm.startProgram("rwsem_peer",
                List.of(peerBinary().toString(), r.file().toString(), Long.toString(offset))));
        c.awaitLine("READY");
        return c;
    }

    private static void expect(ChildJvm c, String command, String result) {
        c.send(command);
        awaitReply(c, command, result);
    }

    private static void awaitReply(ChildJvm c, String command, String result) {
        awaitReply(c, command, result, ChildJvm.DEFAULT_WAIT);
    }

    private static void awaitReply(ChildJvm c, String command, String result, Duration wait) {
        String word = command.split(" ")[0];
        String line = c.awaitLine(word + " ", wait);
        assertEquals(word + " " + result, line, c.describe("reply to " + command));
    }

    /**
     * Hand-offs between the languages: a C writer queued behind a Java reader holds back new Java readers and
     * gets in first; its release (C's T8) hands the lock to the Java reader; a Java writer's release hands it
     * to a queued C reader; a C writer that times out (C's T7) lets the Java reader queued behind it in.
     */
    @Test
    @Timeout(120)
    void handOffsBetweenJavaAndC() throws Exception {
        try (Region r = Region.create(shm.regionName("rw"), 64 * 1024)) {
            RwSemaphore rw = r.rwSemaphore("rw");
            ChildJvm c = peer(r);
            expect(c, "RTRY", "0");
            expect(c, "WTRY", "EAGAIN");
            assertEquals(1, rw.getReadLockCount());
            assertFalse(rw.writeLock().tryLock());
            expect(c, "RUNLOCK", "0");

            // C writer queued behind a Java reader; a Java reader arriving later queues behind the C writer
            RwSemaphoreTest.Holder r1 = new RwSemaphoreTest.Holder(rw.readLock());
            r1.awaitHolds();
            c.send("WLOCK");
            RwSemaphoreTest.awaitQueued(rw, 0, 1);
            RwSemaphoreTest.Holder r2 = new RwSemaphoreTest.Holder(rw.readLock());
            RwSemaphoreTest.awaitQueued(rw, 1, 1);
            r1.release();
            awaitReply(c, "WLOCK", "0");
            assertTrue(rw.isWriteLocked());
            assertFalse(r2.holds());
            expect(c, "WUNLOCK", "0"); // C hands off to the queued Java reader
            r2.awaitHolds();
            assertEquals(1, rw.getReadLockCount());
            r2.release();

            // Java writer's release hands off to a queued C reader
            rw.writeLock().lock();
            c.send("RLOCK");
            RwSemaphoreTest.awaitQueued(rw, 1, 0);
            rw.writeLock().unlock();
            awaitReply(c, "RLOCK", "0");
            assertEquals(1, rw.getReadLockCount());

            expect(c, "RUNLOCK", "0");

            // a C writer interrupted by a signal (EINTR, C's T7) lets the Java reader queued behind it in
            RwSemaphoreTest.Holder r3 = new RwSemaphoreTest.Holder(rw.readLock());
            r3.awaitHolds();
            c.send("WINTR");
            RwSemaphoreTest.awaitQueued(rw, 0, 1);
            RwSemaphoreTest.Holder r4 = new RwSemaphoreTest.Holder(true, rw.readLock());
            RwSemaphoreTest.awaitQueued(rw, 1, 1);
            for (int attempt = 0; ; attempt++) {
                // a signal that lands before the peer sleeps is lost: send again until it answers
                new ProcessBuilder("kill", "-USR1", Long.toString(c.pid())).start().waitFor();
                try {
                    awaitReply(c, "WINTR", "EINTR", Duration.ofMillis(200));
                    break;
                } catch (AssertionError notYet) {
                    assertTrue(attempt < 300, c.describe("WINTR never ended"));
                }
            }
            r4.awaitHolds();
            assertEquals(2, rw.getReadLockCount(), "r3 still holds; r4 got in beside it");
            assertEquals(0, rw.getQueueLength());

            // the same with a timeout: whenever it expires, a reader that queued behind it gets in
            c.send("WTIMED 100");
            RwSemaphoreTest.Holder r5 = new RwSemaphoreTest.Holder(rw.readLock());
            awaitReply(c, "WTIMED", "ETIMEDOUT", ChildJvm.DEFAULT_WAIT);
            r5.awaitHolds();
            for (RwSemaphoreTest.Holder h : List.of(r3, r4, r5)) {
                h.release();
            }
            assertEquals(0L, rw.stateWord() & ~RwSemaphoreLayout.PHASE, rw.toString());
            expect(c, "WTRY", "0");
            expect(c, "DOWNGRADE", "0");
            assertEquals(1, rw.getReadLockCount());
            expect(c, "UPGRADE", "0");
            assertTrue(rw.isWriteLocked());
            expect(c, "WUNLOCK", "0");
            assertEquals(0L, rw.stateWord() & ~RwSemaphoreLayout.PHASE, rw.toString());
        }
    }

    /** A JVM's threads and a C process hammer the same object under the two-counter invariant. */
    @Test
    @Timeout(300)
    void javaAndCKeepTheInvariantTogether() throws Exception {
        long seed = Seeds.seed("RwSemaphoreProcessTest.javaAndCKeepTheInvariantTogether");
        Path file = shm.path().resolve("counters");
        try (Region r = Region.create(shm.regionName("rw"), 64 * 1024); Arena arena = Arena.ofShared()) {
            RwSemaphore rw = r.rwSemaphore("rw");
            MemorySegment c = counters(file, arena);
            ChildJvm peer = peer(r);
            ChildJvm peer2 = peer(r);
            peer.send("STRESS " + file + " 20000 " + (seed & 0x7FFFFFFF));
            peer2.send("STRESS " + file + " 20000 " + ((seed >>> 32) & 0x7FFFFFFF));
            long[] java = hammer(rw, c, 2, 3000, seed);
            Pattern stress = Pattern.compile("STRESS writes=(\\d+) violations=(\\d+) timeouts=(\\d+)");
            long writes = java[0];
            for (ChildJvm p : List.of(peer, peer2)) {
                Matcher m = p.awaitMatch(stress, Duration.ofSeconds(240));
                assertEquals("0", m.group(2), p.describe("C reader saw unequal counters"));
                writes += Long.parseLong(m.group(1));
            }
            System.out.println("javaAndCKeepTheInvariantTogether: Java " + java[0] + " writes, " + java[1]
                    + " reads, " + java[3] + " aborted; total writes " + writes);
            assertEquals(0, java[2], "a Java reader saw unequal counters");
            assertEquals(writes, c.get(ValueLayout.JAVA_LONG, 0));
            assertEquals(writes, c.get(ValueLayout.JAVA_LONG, 8));
            assertEquals(0L, rw.stateWord() & ~RwSemaphoreLayout.PHASE, rw.toString());
        }
    }
}
