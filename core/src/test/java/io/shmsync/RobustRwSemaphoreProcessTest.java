package io.shmsync;

import io.shmsync.internal.sync.RwSemaphoreLayout;
import io.shmsync.testing.Await;
import io.shmsync.testing.Child;
import io.shmsync.testing.ChildJvm;
import io.shmsync.testing.Seeds;
import io.shmsync.testing.ShmDir;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Robust read-write semaphores (docs/PROTOCOL.md §7.6) with real processes killed by SIGKILL: a dead write
 * holder is reported to the next acquirer, which holds the lock; dead readers' holds and dead queued
 * readers and writers are given back by the cleaner, which the blocked survivor runs itself.
 */
class RobustRwSemaphoreProcessTest {
    @RegisterExtension
    final ShmDir shm = new ShmDir();

    /**
     * Child: {@code REGION}; opens the robust rwsem "rw", prints READY, then for each command starts a thread
     * that takes a hold and keeps it until the process dies: {@code R} a read hold, {@code W} the write lock;
     * each replies "R ok" / "W ok" (or "... died" after an OwnerDiedException, still holding).
     */
    public static final class Holder {
        public static void main(String[] args) {
            Child.run(args, a -> {
                Region r = Region.open(a[0]);
                RwSemaphore rw = r.robustRwSemaphore("rw");
                Child.say("READY");
                for (;;) {
                    String c = Child.command();
                    java.util.concurrent.locks.Lock l = c.equals("R") ? rw.readLock() : rw.writeLock();
                    Thread.ofPlatform().daemon().start(() -> {
                        String how = "ok";
                        try {
                            l.lock();
                        } catch (OwnerDiedException e) {
                            how = "died";
                        }
                        Child.say(c + " " + how);
                        try {
                            Thread.sleep(Long.MAX_VALUE);
                        } catch (InterruptedException ignored) {
                            // hold until the process is killed
                        }
                    });
                }
            });
        }
    }

    private ChildJvm holder(String region, String name) {
        ChildJvm c = shm.start(shm.child(Holder.class).name(name).args(region));
        c.awaitLine("READY");
        return c;
    }

    private static long free(RwSemaphore rw) {
        return rw.stateWord() & ~RwSemaphoreLayout.PHASE;
    }

    @Test
    void plainAndRobustAreChosenAtCreation() throws Exception {
        try (Region r = Region.create(shm.regionName("rw"), 256 * 1024)) {
            RwSemaphore plain = r.rwSemaphore("plain");
            assertThrows(IllegalStateException.class, () -> r.robustRwSemaphore("plain"));
            RwSemaphore robust = r.robustRwSemaphore("robust");
            assertTrue(robust.toString().contains("robust"), robust.toString());
            assertEquals(robust, r.rwSemaphore("robust"), "the plain factory opens the robust object as it is");
            assertTrue(r.entries().stream().filter(e -> e.name().equals("robust")).findFirst().orElseThrow().size()
                    >= RwSemaphoreLayout.LENGTH + 16, "per-slot counts after the header");
            for (RwSemaphore rw : List.of(plain, robust)) {
                rw.readLock().lock();
                rw.readLock().lock();
                assertFalse(rw.writeLock().tryLock());
                rw.readLock().unlock();
                rw.readLock().unlock();
                rw.writeLock().lock();
                rw.downgrade();
                assertTrue(rw.tryUpgrade());
                rw.writeLock().unlock();
                assertEquals(0L, free(rw), rw.toString());
            }
        }
    }

    /** A child holding the write lock is killed: a waiting thread of this JVM is told, and holds it. */
    @Test
    @Timeout(120)
    void deadWriterIsReportedToTheNextAcquirer() throws Exception {
        String name = shm.regionName("rw");
        try (Region r = Region.create(name, 256 * 1024)) {
            RwSemaphore rw = r.robustRwSemaphore("rw");
            ChildJvm a = holder(name, "writer");
            a.send("W");
            a.awaitLine("W ok");
            int leaseTid = r.processes().stream().filter(p -> p.pid() == a.pid()).findFirst().orElseThrow().leaseTid();
            CompletableFuture<String> waiter = CompletableFuture.supplyAsync(() -> {
                try {
                    rw.writeLock().lock();
                    return "ok";
                } catch (OwnerDiedException e) {
                    return "died tid=" + e.ownerTid() + " held=" + rw.isWriteLockedByCurrentThread();
                } finally {
                    if (rw.isWriteLockedByCurrentThread()) {
                        rw.writeLock().unlock();
                    }
                }
            }, r2 -> Thread.ofPlatform().start(r2));
            Await.until(() -> rw.getQueuedWriterCount() == 1, () -> "the writer queues: " + rw);
            a.close(); // SIGKILL
            String got = waiter.get(60, TimeUnit.SECONDS);
            assertEquals("died tid=" + leaseTid + " held=true", got, "told once, with the lock held");
            assertEquals(0L, free(rw), rw.toString());
            rw.readLock().lock(); // told once only
            rw.readLock().unlock();
        }
    }

    /** Children holding read locks are killed: the writer waiting here gets in once the cleaner ran. */
    @Test
    @Timeout(120)
    void deadReadersHoldsComeBack() throws Exception {
        String name = shm.regionName("rw");
        try (Region r = Region.create(name, 256 * 1024)) {
            RwSemaphore rw = r.robustRwSemaphore("rw");
            ChildJvm a = holder(name, "reader-a");
            ChildJvm b = holder(name, "reader-b");
            for (ChildJvm c : List.of(a, b, a)) {
                c.send("R");
                c.awaitLine("R ok");
            }
            assertEquals(3, rw.getReadLockCount());
            CompletableFuture<Void> w = CompletableFuture.runAsync(() -> {
                rw.writeLock().lock();
                rw.writeLock().unlock();
            }, r2 -> Thread.ofPlatform().start(r2));
            Await.until(() -> rw.getQueuedWriterCount() == 1, () -> "the writer queues: " + rw);
            a.close();
            b.close();
            w.get(60, TimeUnit.SECONDS); // no OwnerDiedException: dead readers changed nothing
            assertEquals(0L, free(rw), rw.toString());
        }
    }

    /** A child queued for the write lock is killed: it no longer keeps readers out (PRESENT clears). */
    @Test
    @Timeout(120)
    void deadQueuedWriterLetsReadersIn() throws Exception {
        String name = shm.regionName("rw");
        try (Region r = Region.create(name, 256 * 1024)) {
            RwSemaphore rw = r.robustRwSemaphore("rw");
            rw.readLock().lock();
            ChildJvm a = holder(name, "queued-writer");
            a.send("W");
            Await.until(() -> rw.getQueuedWriterCount() == 1, () -> "the child's writer queues: " + rw);
            ChildJvm b = holder(name, "reader");
            b.send("R"); // queues behind the child's writer
            Await.until(() -> rw.getQueuedReaderCount() == 1, () -> "the reader queues: " + rw);
            a.close();
            b.awaitLine("R ok"); // the reader's own wait ran the cleaner
            assertEquals(0, rw.getQueuedWriterCount(), rw.toString());
            rw.readLock().unlock();
            b.close();
            r.reclaimDeadProcesses();
            assertEquals(0L, free(rw), rw.toString());
        }
    }

    /**
     * A child queued for a read hold is killed; this thread's write release hands it a hold nobody will give
     * back; the cleaner gives it back, and the next writer gets in.
     */
    @Test
    @Timeout(120)
    void deadQueuedReaderHandOffComesBack() throws Exception {
        String name = shm.regionName("rw");
        try (Region r = Region.create(name, 256 * 1024)) {
            RwSemaphore rw = r.robustRwSemaphore("rw");
            rw.writeLock().lock();
            ChildJvm a = holder(name, "queued-reader");
            a.send("R");
            Await.until(() -> rw.getQueuedReaderCount() == 1, () -> "the child's reader queues: " + rw);
            a.close();
            rw.writeLock().unlock(); // hands a read hold to the dead registration (or the cleaner was first)
            assertTrue(rw.writeLock().tryLock(60, TimeUnit.SECONDS), rw.toString());
            rw.writeLock().unlock();
            assertEquals(0L, free(rw), rw.toString());
        }
    }

    /**
     * Seeded rounds: children take random holds or queue, random ones are killed; afterwards this JVM must
     * get the write lock (told at most once per dead writer) and leave the word free.
     */
    @Test
    @Timeout(300)
    void randomKillsLeaveTheObjectUsable() throws Exception {
        Random rnd = Seeds.random("RobustRwSemaphoreProcessTest.randomKills");
        String name = shm.regionName("rw");
        int rounds = Integer.getInteger("shmsync.robust.rwrounds", 4);
        try (Region r = Region.create(name, 256 * 1024)) {
            RwSemaphore rw = r.robustRwSemaphore("rw");
            for (int round = 0; round < rounds; round++) {
                List<ChildJvm> children = new ArrayList<>();
                for (int i = 0; i < 2; i++) {
                    ChildJvm c = holder(name, "round" + round + "-" + i);
                    children.add(c);
                    for (int k = rnd.nextInt(3) + 1; k > 0; k--) {
                        c.send(rnd.nextBoolean() ? "R" : "W");
                    }
                }
                Thread.sleep(rnd.nextInt(300)); // let some holds and registrations happen (no timing assert)
                for (ChildJvm c : children) {
                    c.close();
                }
                boolean got;
                try {
                    got = rw.writeLock().tryLock(60, TimeUnit.SECONDS);
                } catch (OwnerDiedException e) {
                    got = rw.isWriteLockedByCurrentThread();
                }
                assertTrue(got, "round " + round + ": " + rw);
                rw.writeLock().unlock();
                r.reclaimDeadProcesses();
                assertEquals(0L, free(rw), "round " + round + ": " + rw);
            }
            System.out.println("RobustRwSemaphoreProcessTest.randomKills: " + rounds + " rounds");
        }
    }
}
