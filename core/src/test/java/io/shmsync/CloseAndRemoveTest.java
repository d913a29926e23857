package io.shmsync;

import io.shmsync.testing.Await;
import io.shmsync.testing.ChildJvm;
import io.shmsync.testing.SemaphoreAgent;
import io.shmsync.testing.ShmDir;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.function.Executable;

import java.util.ArrayList;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code Region.close()} with threads blocked on its objects, use after close, and {@code remove(name)}
 * with waiters in this and another process; stale handles; reuse of a removed object's space.
 */
class CloseAndRemoveTest {
    @RegisterExtension
    final ShmDir shm = new ShmDir();

    interface Body {
        void run() throws Exception;
    }

    /** Starts a thread running {@code body}; the future completes with what it threw (null: returned). */
    static CompletableFuture<Throwable> waiter(boolean virtual, Body body) {
        CompletableFuture<Throwable> f = new CompletableFuture<>();
        (virtual ? Thread.ofVirtual() : Thread.ofPlatform()).start(() -> {
            try {
                body.run();
                f.complete(null);
            } catch (Throwable t) {
                f.complete(t);
            }
        });
        return f;
    }

    static List<CompletableFuture<Throwable>> blockAllKinds(Semaphore s) {
        List<CompletableFuture<Throwable>> fs = new ArrayList<>();
        for (boolean virtual : new boolean[]{false, true}) {
            fs.add(waiter(virtual, s::acquire));
            fs.add(waiter(virtual, s::acquire));
            fs.add(waiter(virtual, s::acquireUninterruptibly));
            fs.add(waiter(virtual, () -> s.tryAcquire(1, TimeUnit.HOURS)));
        }
        return fs;
    }

    static void assertAllThrew(List<CompletableFuture<Throwable>> fs, Class<? extends Throwable> type) throws Exception {
        for (CompletableFuture<Throwable> f : fs) {
            Throwable t = f.get();
            assertTrue(type.isInstance(t), "expected " + type.getSimpleName() + ", got " + t);
        }
    }

    static void assertIllegalState(String what, Executable e) {
        IllegalStateException x = assertThrows(IllegalStateException.class, e, what + " after close");
        assertFalse(x instanceof ObjectRemovedException, what + ": " + x);
    }

    @Test
    @Timeout(60)
    void closeWakesBlockedThreadsThenRefusesUse() throws Exception {
        String name = shm.regionName("close");
        Region region = Region.create(name, 64 * 1024);
        Semaphore s = region.semaphore("s", 0);
        List<CompletableFuture<Throwable>> blocked = blockAllKinds(s);
        Await.until(() -> s.getQueueLength() == blocked.size(), s::toString);

        region.close();
        assertAllThrew(blocked, RegionClosedException.class);
        assertTrue(region.isClosed());
        region.close(); // idempotent

        assertIllegalState("tryAcquire", s::tryAcquire);
        assertIllegalState("acquire", s::acquire);
        assertIllegalState("acquireUninterruptibly", s::acquireUninterruptibly);
        assertIllegalState("tryAcquire(timeout)", () -> s.tryAcquire(1, TimeUnit.SECONDS));
        assertIllegalState("release", s::release);
        assertIllegalState("release(n)", () -> s.release(2));
        assertIllegalState("drainPermits", s::drainPermits);
        assertIllegalState("availablePermits", s::availablePermits);
        assertIllegalState("getQueueLength", s::getQueueLength);
        assertIllegalState("semaphore(name, n)", () -> region.semaphore("s", 1));
        assertIllegalState("semaphore(name)", () -> region.semaphore("s"));
        assertIllegalState("entries", region::entries);
        assertTrue(region.toString().contains("closed"), region.toString());
        assertTrue(s.toString().contains("closed"), s.toString());

        // The aborted waiters deregistered before the unmap: another mapping sees nwaiters 0.
        try (Region again = Region.open(name)) {
            Semaphore s2 = again.semaphore("s");
            assertEquals(0, s2.getQueueLength(), s2.toString());
            assertEquals(0, s2.availablePermits(), s2.toString());
        }
    }

    /**
     * The directory writers take the directory lock (fcntl on the region's descriptor) before they touch the
     * mapping, so after close they fail with the error of a closed descriptor instead of
     * IllegalStateException; worse, the descriptor number may meanwhile belong to another file (see the
     * report: Directory.lock()/unlock() on a closed Mapping's fd).
     */
    @Test
    @Timeout(60)
    void directoryWritesAfterCloseThrowIllegalState() throws Exception {
        Region region = Region.create(shm.regionName("closed"), 64 * 1024);
        region.semaphore("s", 0);
        region.close();
        assertIllegalState("remove", () -> region.remove("s"));
        assertIllegalState("reserveUnusedName", () -> region.reserveUnusedName("w-"));
    }

    /** Threads hammering the semaphore while the region closes end with IllegalStateException, nothing worse. */
    @Test
    @Timeout(60)
    void closeUnderLoad() throws Exception {
        Region region = Region.create(shm.regionName("load"), 64 * 1024);
        Semaphore s = region.semaphore("s", 2);
        List<CompletableFuture<Throwable>> hammers = new ArrayList<>();
        java.util.concurrent.atomic.AtomicLong ops = new java.util.concurrent.atomic.AtomicLong();
        for (int i = 0; i < 4; i++) {
            int k = i;
            hammers.add(waiter(i % 2 == 1, () -> {
                for (;;) {
                    if (k == 0) {
                        s.acquire();
                    } else if (!s.tryAcquire(1, TimeUnit.MILLISECONDS)) {
                        continue;
                    }
                    ops.incrementAndGet();
                    s.release();
                }
            }));
        }
        Await.until(() -> ops.get() > 10_000, () -> "hammers running: " + ops.get());
        region.close();
        for (CompletableFuture<Throwable> f : hammers) {
            Throwable t = f.get();
            assertTrue(t instanceof IllegalStateException, "expected IllegalStateException, got " + t);
        }
    }

    /**
     * Closing while another thread creates, reserves and removes objects may interrupt a directory change
     * half way (its entry left with an odd sequence, as if the writer had died). The file must stay valid:
     * it opens, readers skip the busy entry, and the next writer repairs it.
     */
    @Test
    @Timeout(60)
    void closeDuringDirectoryChangesLeavesAValidRegion() throws Exception {
        String name = shm.regionName("busy");
        for (int round = 0; round < 20; round++) {
            Region region = Region.openOrCreate(name, 64 * 1024, RegionOptions.defaults().directoryCapacity(64));
            java.util.concurrent.atomic.AtomicInteger changes = new java.util.concurrent.atomic.AtomicInteger();
            CompletableFuture<Throwable> writer = waiter(false, () -> {
                for (int i = 0; ; i++) {
                    region.semaphore("c" + (i % 20), 1);
                    if (i % 3 == 0) {
                        region.remove("c" + ((i + 7) % 20));
                    }
                    region.remove(region.reserveUnusedName("r"));
                    changes.incrementAndGet();
                }
            });
            int target = 1 + round * 3;
            Await.until(() -> changes.get() >= target || writer.isDone(), () -> "writer progress " + changes);
            region.close();
            Throwable t = writer.get();
            assertTrue(t instanceof RuntimeException, "the writer ends with an exception: " + t);
            System.out.println("closeDuringDirectoryChanges: writer ended with " + t);
            try (Region again = Region.open(name)) {
                List<RegionEntry> entries = again.entries();
                again.semaphore("after-" + round, 1); // a writer: repairs a half-done entry
                assertEquals(entries.size() + 1, again.entries().size(), again.entries().toString());
            }
            Region.open(name).close(); // still valid after the repair
        }
    }

    @Test
    @Timeout(60)
    void closingAPosixSemaphoreWakesItsWaiters() throws Exception {
        String n = shm.semName();
        PosixSemaphore s = PosixSemaphore.create(n, 0600, 0);
        List<CompletableFuture<Throwable>> blocked = blockAllKinds(s);
        Await.until(() -> s.getQueueLength() == blocked.size(), s::toString);
        s.close();
        assertAllThrew(blocked, RegionClosedException.class);
        assertIllegalState("release", s::release);
        try (PosixSemaphore again = PosixSemaphore.open(n)) {
            assertEquals(0, again.getQueueLength());
            assertEquals(0, again.availablePermits());
        }
    }

    @Test
    @Timeout(120)
    void removeWakesWaitersHereAndInAnotherProcess() throws Exception {
        String name = shm.regionName("remove");
        try (Region region = Region.create(name, 64 * 1024)) {
            Semaphore s = region.semaphore("s", 0);
            region.semaphore("before", 0);
            RegionEntry old = entry(region, "s");
            ChildJvm agent = shm.start(shm.child(SemaphoreAgent.class).args(name));
            agent.awaitLine("READY");
            agent.send("acquire c1 s");
            agent.send("acquire c2 s virtual");
            agent.awaitLine("c1 STARTED");
            agent.awaitLine("c2 STARTED");
            List<CompletableFuture<Throwable>> local = blockAllKinds(s);
            Await.until(() -> s.getQueueLength() == local.size() + 2, s::toString);

            assertTrue(region.remove("s"));
            assertAllThrew(local, ObjectRemovedException.class);
            agent.awaitLine("c1 REMOVED");
            agent.awaitLine("c2 REMOVED");

            // Stale handles refuse to operate, here and there.
            assertThrows(ObjectRemovedException.class, s::tryAcquire);
            assertThrows(ObjectRemovedException.class, s::release);
            assertThrows(ObjectRemovedException.class, s::acquire);
            assertThrows(ObjectRemovedException.class, s::availablePermits);
            assertThrows(ObjectRemovedException.class, () -> s.tryAcquire(1, TimeUnit.SECONDS));
            assertTrue(s.toString().contains("REMOVED"), s.toString());
            agent.send("release s 1");
            agent.awaitLine("RELEASE-FAILED s " + ObjectRemovedException.class.getName());
            assertThrows(NoSuchElementException.class, () -> region.semaphore("s"));
            assertFalse(region.remove("s"));
            assertEquals(List.of("before"), region.entries().stream().map(RegionEntry::name).toList());

            // The space is reused (first fit) by a new object with a new generation and a fresh image.
            Semaphore again = region.semaphore("s", 5);
            RegionEntry neu = entry(region, "s");
            assertEquals(old.offset(), neu.offset(), "first fit must reuse the freed space");
            assertNotEquals(old.generation(), neu.generation());
            assertEquals(neu.generation(), again.generation());
            assertEquals(5, again.availablePermits());
            assertEquals(0, again.getQueueLength(), "fresh image, not the old bytes");
            // The old handle stays dead although the name exists again.
            assertThrows(ObjectRemovedException.class, s::tryAcquire);
            assertEquals(5, again.availablePermits());
            // The other process's old handle too; a fresh lookup there works.
            agent.send("release s 1");
            agent.awaitLine("RELEASE-FAILED s " + ObjectRemovedException.class.getName());

            agent.send("exit");
            agent.assertExit(0);
        }
    }

    @Test
    @Timeout(60)
    void closeInAnotherProcessDoesNotDisturbThisOne() throws Exception {
        String name = shm.regionName("other");
        try (Region region = Region.create(name, 64 * 1024)) {
            Semaphore s = region.semaphore("s", 0);
            ChildJvm agent = shm.start(shm.child(SemaphoreAgent.class).args(name));
            agent.awaitLine("READY");
            agent.send("acquire c1 s");
            agent.send("acquire c2 s virtual");
            Await.until(() -> s.getQueueLength() == 2, s::toString);
            CompletableFuture<Throwable> local = waiter(false, s::acquire);
            Await.until(() -> s.getQueueLength() == 3, s::toString);
            agent.send("close");
            agent.awaitLine("CLOSED");
            agent.awaitLine("c1 CLOSED");
            agent.awaitLine("c2 CLOSED");
            assertEquals(1, s.getQueueLength(), agent.describe(s.toString()));
            assertFalse(local.isDone());
            s.release();
            assertEquals(null, local.get());
            assertEquals(0, s.getQueueLength());
            agent.send("exit");
            agent.assertExit(0);
        }
    }

    static RegionEntry entry(Region r, String name) {
        return r.entries().stream().filter(e -> e.name().equals(name)).findFirst().orElseThrow();
    }
}
