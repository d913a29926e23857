package io.shmsync.robust;

import io.shmsync.Mutex;
import io.shmsync.NotRecoverableException;
import io.shmsync.OwnerDiedException;
import io.shmsync.Region;
import io.shmsync.RegionEntry;
import io.shmsync.testing.ChildJvm;
import io.shmsync.testing.ShmDir;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A C program calling glibc's {@code pthread_mutex_lock}/{@code unlock}/{@code consistent} on a mutex that
 * Java created: hand-offs in both directions, error checking on both sides, a C holder killed while a JVM
 * waits, a JVM holder killed while the C program waits, and unrecoverable mutexes seen from both sides.
 */
class RobustInteropTest {
    @RegisterExtension
    final ShmDir shm = new ShmDir();

    private static long offset(Region r, String name) {
        return r.entries().stream().filter(e -> e.name().equals(name)).findFirst().map(RegionEntry::offset)
                .orElseThrow();
    }

    /** Runs {@code body} on a platform thread, completing with its result or its exception's string. */
    private static CompletableFuture<String> async(java.util.concurrent.Callable<String> body) {
        CompletableFuture<String> f = new CompletableFuture<>();
        Thread.ofPlatform().start(() -> {
            try {
                f.complete(body.call());
            } catch (Throwable t) {
                f.complete(t.toString());
            }
        });
        return f;
    }

    private static void awaitWaiter(Mutex m) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!m.hasQueuedThreads()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("no waiter on " + m);
            }
            Thread.sleep(1);
        }
        Thread.sleep(20);
    }

    @Test
    @Timeout(120)
    void handOffBothWaysAndErrorChecking() throws Exception {
        try (Region r = Region.create(shm.regionName("c"), 64 * 1024)) {
            Mutex m = r.mutex("m");
            ChildJvm c = shm.closeLater(CPeer.start(r.file(), offset(r, "m")));
            assertTrue(c.output().getFirst().endsWith("kind=146"), c.output().toString());
            // Java holds; C blocks in pthread_mutex_lock; Java's unlock hands over.
            m.lock();
            c.send("TRYLOCK");
            c.awaitLine("TRYLOCK EBUSY");
            c.send("UNLOCK");
            c.awaitLine("UNLOCK EPERM"); // glibc: the word's TID is not the caller's
            c.send("LOCK");
            c.awaitLine("LOCKING");
            awaitWaiter(m);
            m.unlock();
            c.awaitLine("LOCK 0");
            // C holds: Java's tryLock fails, C's relock is EDEADLK (error-checking kind), Java waits.
            assertFalse(m.tryLock());
            assertTrue(m.isLocked());
            assertTrue(m.toString().contains("not the lease of any process"), m.toString());
            c.send("LOCK");
            c.awaitLine("LOCK EDEADLK");
            assertThrows(IllegalMonitorStateException.class, m::unlock);
            CompletableFuture<String> j = async(() -> {
                m.lock();
                m.unlock();
                return "ok";
            });
            awaitWaiter(m);
            c.send("UNLOCK");
            c.awaitLine("UNLOCK 0");
            assertEquals("ok", j.get(30, TimeUnit.SECONDS));
            // A Java waiter's timeout names the C holder's TID.
            c.send("LOCK");
            c.awaitLine("LOCK 0");
            var te = assertThrows(java.util.concurrent.TimeoutException.class,
                    () -> m.lock(100, TimeUnit.MILLISECONDS));
            String tid = c.output().getFirst().replaceAll(".*tid=(\\d+).*", "$1");
            assertTrue(te.getMessage().contains("TID " + tid), te.getMessage());
            c.send("UNLOCK");
            c.awaitLine("UNLOCK 0");
            c.send("EXIT");
            c.assertExit(0);
        }
    }

    @Test
    @Timeout(120)
    void cHolderKilledWhileAJvmWaits() throws Exception {
        try (Region r = Region.create(shm.regionName("c"), 64 * 1024)) {
            Mutex m = r.mutex("m");
            ChildJvm c = shm.closeLater(CPeer.start(r.file(), offset(r, "m")));
            c.send("LOCK");
            c.awaitLine("LOCK 0");
            CompletableFuture<String> j = async(() -> {
                try {
                    m.lock();
                    return "no owner death";
                } catch (OwnerDiedException e) {
                    String s = "ownerDied kernel=" + e.markedByKernel() + " consistent=" + m.isConsistent();
                    m.markConsistent();
                    m.unlock();
                    return s;
                }
            });
            awaitWaiter(m);
            c.send("DIE");
            c.awaitExit(Duration.ofSeconds(30));
            assertEquals("ownerDied kernel=true consistent=false", j.get(30, TimeUnit.SECONDS));
            m.lock();
            assertTrue(m.isConsistent());
            m.unlock();
        }
    }

    @Test
    @Timeout(120)
    void jvmHolderKilledWhileCWaitsThenNotRecoverableBothWays() throws Exception {
        String name = shm.regionName("c");
        try (Region r = Region.create(name, 64 * 1024)) {
            Mutex m = r.mutex("m");
            ChildJvm jvm = shm.start(RobustChild.class, "hold", name);
            jvm.awaitLine("READY");
            jvm.send("LOCK");
            jvm.awaitLine("LOCKED ownerDied=false");
            ChildJvm c = shm.closeLater(CPeer.start(r.file(), offset(r, "m")));
            c.send("LOCK");
            c.awaitLine("LOCKING");
            awaitWaiter(m);
            jvm.close(); // SIGKILL: the kernel walks the JVM's lease list and wakes the C waiter
            c.awaitLine("LOCK EOWNERDEAD");
            c.send("CONSISTENT");
            c.awaitLine("CONSISTENT 0");
            c.send("UNLOCK");
            c.awaitLine("UNLOCK 0");
            // C recovers without pthread_mutex_consistent: Java finds the mutex not recoverable.
            c.send("LOCK");
            c.awaitLine("LOCK 0");
            c.send("DIE");
            c.awaitExit(Duration.ofSeconds(30));
            ChildJvm c2 = shm.closeLater(CPeer.start(r.file(), offset(r, "m")));
            c2.send("LOCK");
            c2.awaitLine("LOCK EOWNERDEAD");
            c2.send("UNLOCK");
            c2.awaitLine("UNLOCK 0");
            assertThrows(NotRecoverableException.class, m::lock);
            assertTrue(m.isNotRecoverable());
            // And the other way round: Java recovers without markConsistent, C gets ENOTRECOVERABLE.
            assertTrue(r.remove("m"));
            Mutex m2 = r.mutex("m");
            ChildJvm java2 = shm.start(RobustChild.class, "hold", name);
            java2.awaitLine("READY");
            java2.send("LOCK");
            java2.awaitLine("LOCKED ownerDied=false");
            java2.close();
            try {
                m2.lock();
                throw new AssertionError("no owner death reported");
            } catch (OwnerDiedException expected) {
                m2.unlock(); // without markConsistent
            }
            ChildJvm c3 = shm.closeLater(CPeer.start(r.file(), offset(r, "m")));
            c3.send("LOCK");
            c3.awaitLine("LOCK ENOTRECOVERABLE");
            c3.send("EXIT");
            c3.assertExit(0);
        }
    }
}
