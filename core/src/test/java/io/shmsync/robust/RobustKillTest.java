package io.shmsync.robust;

import io.shmsync.Mutex;
import io.shmsync.OwnerDiedException;
import io.shmsync.ProcessInfo;
import io.shmsync.ProcessState;
import io.shmsync.Region;
import io.shmsync.internal.robust.TestHooks;
import io.shmsync.testing.ChildJvm;
import io.shmsync.testing.Seeds;
import io.shmsync.testing.ShmDir;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * glibc tst-robust8 with JVMs: child processes hammer a robust mutex around a non-atomic update of shared
 * data and are killed with SIGKILL at random moments (seeded, printed), and at each named step of the
 * protocol (a test-only pause point stops a child exactly there before the kill). Mutual exclusion is never
 * violated, no lock stays stuck, each death inside the critical section is reported to exactly one next
 * owner, and the data is exact after repair.
 */
class RobustKillTest {
    @RegisterExtension
    final ShmDir shm = new ShmDir();

    static final Duration QUICK = Duration.ofSeconds(20);

    @Test
    @Timeout(600)
    void randomKillsNeverBreakMutualExclusionOrLoseADeath() throws Exception {
        Random rnd = Seeds.random("RobustKillTest.randomKills");
        int children = 3;
        int threads = 3;
        int kills = Integer.getInteger("shmsync.robust.kills", 24);
        String name = shm.regionName("kill");
        Path dataFile = shm.path().resolve("data");
        Files.write(dataFile, new byte[(int) RobustChild.Data.SIZE]);
        try (Region region = Region.create(name, 256 * 1024); Arena arena = Arena.ofShared()) {
            RobustChild.Data data = RobustChild.Data.map(dataFile, arena);
            Mutex m = region.mutex("m");
            ChildJvm[] running = new ChildJvm[children];
            int[] indexOf = new int[children];
            int nextIndex = 0;
            Set<Long> killed = new HashSet<>();
            for (int c = 0; c < children; c++) {
                indexOf[c] = nextIndex;
                running[c] = startHammer(name, dataFile, nextIndex++, threads, rnd.nextLong());
            }
            for (int k = 0; k < kills; k++) {
                int victim = rnd.nextInt(children);
                Thread.sleep(rnd.nextInt(k % 3 == 0 ? 300 : 60));
                killed.add(running[victim].pid());
                running[victim].close(); // SIGKILL, waits for the exit
                indexOf[victim] = nextIndex;
                running[victim] = startHammer(name, dataFile, nextIndex++, threads, rnd.nextLong());
            }
            Thread.sleep(200);
            for (ChildJvm c : running) {
                c.send("STOP");
            }
            for (ChildJvm c : running) {
                c.awaitLine("RESULT ");
                c.assertExit(0);
            }
            // Recover whatever the last death left, as any next owner would.
            boolean died;
            try {
                m.lock(30, TimeUnit.SECONDS);
                died = false;
            } catch (OwnerDiedException e) {
                died = true;
            }
            try {
                data.enter(died, (int) ProcessHandle.current().pid());
                if (died) {
                    m.markConsistent();
                }
                data.leave();
            } finally {
                m.unlock();
            }
            var s = data.s;
            long violations = s.get(ValueLayout.JAVA_LONG, RobustChild.Data.VIOLATIONS);
            int reports = s.get(ValueLayout.JAVA_INT, RobustChild.Data.REPORTS);
            int stale = s.get(ValueLayout.JAVA_INT, RobustChild.Data.STALE_REPORTS);
            long repairs = s.get(ValueLayout.JAVA_LONG, RobustChild.Data.REPAIRS);
            List<Integer> dead = new ArrayList<>();
            for (int i = 0; i < Math.min(reports, RobustChild.Data.MAX_DEAD); i++) {
                int pid = s.get(ValueLayout.JAVA_INT, RobustChild.Data.DEAD + 4L * i);
                if (pid != 0) {
                    dead.add(pid);
                }
            }
            long total = s.get(ValueLayout.JAVA_LONG, RobustChild.Data.TOTAL);
            System.out.println("RobustKillTest: " + kills + " kills, " + reports + " owner deaths reported (" + stale
                    + " at an edge step), " + repairs + " repairs, total " + total + ", dead holders " + dead
                    + ", processes " + region.processes().size());
            assertEquals(0, violations, "an acquirer found the critical section occupied without an owner death");
            assertEquals(total, data.sum(), "counter invariant after repair");
            assertTrue(total > 0);
            assertEquals(dead.size(), new HashSet<>(dead).size(), "a death reported twice: " + dead);
            for (int pid : dead) {
                assertTrue(killed.contains((long) pid), "reported death of " + pid + ", which was not killed");
            }
            assertTrue(reports <= kills, reports + " reports for " + kills + " kills");
            assertFalse(m.isLocked());
            assertTrue(m.isConsistent());
            // Every killed child's slot is dead or was reclaimed (by a later child's attach); reclaim the rest.
            region.reclaimDeadProcesses();
            for (ProcessInfo p : region.processes()) {
                assertTrue(p.current(), "after reclamation only this process is attached: " + region.processes());
            }
        }
    }

    private ChildJvm startHammer(String region, Path dataFile, int index, int threads, long seed) {
        ChildJvm c = shm.start(shm.child(RobustChild.class).name("hammer-" + index)
                .args("hammer", region, dataFile, index, threads, seed));
        c.awaitLine("READY");
        c.send("GO");
        return c;
    }

    // ------------------------------------------------------------------ kills at each named step

    private ChildJvm holder(String region, String pauseAt) {
        return holder(region, pauseAt, "lease");
    }

    /**
     * @param path "thread": the child's platform thread holds mutexes on its own (glibc's) robust list, the
     *             default; "lease": on the process's lease list, as virtual threads do (thread lists turned off)
     */
    private ChildJvm holder(String region, String pauseAt, String path) {
        ChildJvm.Builder b = shm.child(RobustChild.class).name("holder@" + pauseAt + "-" + path).args("hold", region);
        if (pauseAt != null) {
            b.jvmArgs("-Dio.shmsync.test.pauseAt=" + pauseAt);
        }
        if (path.equals("lease")) {
            b.jvmArgs("-Dio.shmsync.mutex.threadLists=false");
        }
        ChildJvm c = shm.start(b);
        c.awaitLine("READY");
        return c;
    }

    /**
     * Locks on another thread (recovering an owner death), unlocks, and completes with "ownerDied=..." or
     * the exception.
     */
    private static CompletableFuture<String> lockAsync(Mutex m) {
        CompletableFuture<String> f = new CompletableFuture<>();
        Thread.ofPlatform().start(() -> {
            String r;
            try {
                try {
                    m.lock(60, TimeUnit.SECONDS);
                    r = "ownerDied=false";
                } catch (OwnerDiedException e) {
                    r = "ownerDied=true kernel=" + e.markedByKernel();
                    m.markConsistent();
                }
                m.unlock();
            } catch (Throwable t) {
                r = t.toString();
            }
            f.complete(r);
        });
        return f;
    }

    @ParameterizedTest(name = "{0} {1}")
    @CsvSource({TestHooks.LOCK_PENDING + ",lease", TestHooks.LOCK_CAS + ",lease", TestHooks.LOCK_CAS_UNLISTED + ",lease",
            TestHooks.LOCK_LINKED + ",lease", TestHooks.LOCK_PENDING + ",thread", TestHooks.LOCK_CAS + ",thread",
            TestHooks.LOCK_LINKED + ",thread"})
    @Timeout(120)
    void killDuringLock(String step, String path) throws Exception {
        String name = shm.regionName("step");
        try (Region region = Region.create(name, 64 * 1024)) {
            Mutex m = region.mutex("m");
            ChildJvm c = holder(name, step, path);
            c.send("LOCK");
            c.awaitLine("SHMSYNC-PAUSED " + step);
            String expected;
            CompletableFuture<String> got;
            if (step.equals(TestHooks.LOCK_PENDING)) {
                // The word was not taken yet: a locker gets it at once, and the death changes nothing.
                got = lockAsync(m);
                assertEquals("ownerDied=false", got.get(30, TimeUnit.SECONDS));
                c.close();
                got = lockAsync(m);
                expected = "ownerDied=false";
            } else {
                got = lockAsync(m);
                awaitWaiter(m);
                assertFalse(got.isDone(), "acquired a mutex held by a live process: " + got.getNow(null));
                c.close();
                // Unlisted, only the lease tells. Listed or pending, the kernel marks the word too, but it walks
                // the lease entry (first on the list) before the mutex and the pending slot, so a waiter woken by
                // the lease may take the word before the kernel's mark reaches it: either report is right.
                // On a thread's own list only the kernel can tell, at that thread's exit.
                expected = step.equals(TestHooks.LOCK_CAS_UNLISTED) ? "ownerDied=true kernel=false"
                        : path.equals("thread") ? "ownerDied=true kernel=true" : "ownerDied=true kernel=";
            }
            String report = got.get(30, TimeUnit.SECONDS);
            if (expected.endsWith("=")) {
                assertTrue(report.equals(expected + "true") || report.equals(expected + "false"), report);
            } else {
                assertEquals(expected, report);
            }
            assertTrue(m.isConsistent());
            assertEquals(1, region.reclaimDeadProcesses(), region.processes().toString());
            assertFalse(m.isLocked());
        }
    }

    /**
     * The sibling-thread window seen by waiters in other JVMs: a virtual thread (through the wait
     * multiplexer), and a platform thread without futex_waitv (10 ms slices); both watch the holder's lease.
     */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"VLOCK", "VLOCK noWaitv", "LOCK noWaitv"})
    @Timeout(120)
    void waitersInOtherJvmsLearnOfAnUnmarkedDeathThroughTheLease(String mode) throws Exception {
        String name = shm.regionName("lease");
        try (Region region = Region.create(name, 64 * 1024)) {
            Mutex m = region.mutex("m");
            ChildJvm holder = holder(name, TestHooks.LOCK_CAS_UNLISTED);
            holder.send("LOCK");
            holder.awaitLine("SHMSYNC-PAUSED " + TestHooks.LOCK_CAS_UNLISTED);
            ChildJvm.Builder b = shm.child(RobustChild.class).name("waiter-" + mode).args("hold", name);
            if (mode.endsWith("noWaitv")) {
                b.jvmArgs("-Dio.shmsync.noWaitv=true");
            }
            ChildJvm waiter = shm.start(b);
            waiter.awaitLine("READY");
            waiter.send(mode.split(" ")[0]);
            awaitWaiter(m);
            holder.close();
            waiter.awaitLine(mode.startsWith("V") ? "VLOCKED ownerDied=true" : "LOCKED ownerDied=true");
            if (!mode.startsWith("V")) {
                waiter.send("CONSISTENT");
                waiter.awaitLine("CONSISTENT");
                waiter.send("UNLOCK");
                waiter.awaitLine("UNLOCKED");
            }
            m.lock();
            assertTrue(m.isConsistent());
            m.unlock();
        }
    }

    @ParameterizedTest(name = "{0} {1}")
    @CsvSource({TestHooks.UNLOCK_PENDING + ",lease", TestHooks.UNLOCK_DEQUEUED + ",lease", TestHooks.UNLOCK_RELEASED + ",lease",
            TestHooks.UNLOCK_PENDING + ",thread", TestHooks.UNLOCK_DEQUEUED + ",thread", TestHooks.UNLOCK_RELEASED + ",thread"})
    @Timeout(120)
    void killDuringUnlock(String step, String path) throws Exception {
        String name = shm.regionName("step");
        try (Region region = Region.create(name, 64 * 1024)) {
            Mutex m = region.mutex("m");
            ChildJvm c = holder(name, step, path);
            c.send("LOCK");
            c.awaitLine("LOCKED ownerDied=false");
            CompletableFuture<String> got = lockAsync(m);
            awaitWaiter(m);
            c.send("UNLOCK");
            c.awaitLine("SHMSYNC-PAUSED " + step);
            if (step.equals(TestHooks.UNLOCK_RELEASED)) {
                assertEquals("ownerDied=false", got.get(30, TimeUnit.SECONDS), "released before the pause");
                c.close();
            } else {
                Thread.sleep(100);
                assertFalse(got.isDone(), "acquired while the unlock was still in flight: " + got.getNow(null));
                c.close();
                String report = got.get(30, TimeUnit.SECONDS); // kernel= either way on the lease list, as in killDuringLock
                assertTrue(report.equals("ownerDied=true kernel=true")
                        || path.equals("lease") && report.equals("ownerDied=true kernel=false"), report);
            }
            assertTrue(m.isConsistent());
            assertEquals(1, region.reclaimDeadProcesses());
        }
    }

    @Test
    @Timeout(120)
    void killAfterClaimingASlotAndWhileCleaning() throws Exception {
        String name = shm.regionName("slots");
        try (Region region = Region.create(name, 64 * 1024)) {
            Mutex m = region.mutex("m");
            ChildJvm a = holder(name, TestHooks.ATTACH_CAS);
            a.send("ATTACH");
            a.awaitLine("SHMSYNC-PAUSED " + TestHooks.ATTACH_CAS);
            a.close();
            assertEquals(List.of(ProcessState.DEAD), states(region, false), region.processes().toString());
            // A cleaner (attaching: it reclaims before it claims a slot of its own) takes the dead slot and is
            // killed while cleaning: the slot is dead again. Two later cleaners race: it is reclaimed once.
            ChildJvm b = holder(name, TestHooks.CLEAN_CLAIMED);
            b.send("ATTACH");
            b.awaitLine("SHMSYNC-PAUSED " + TestHooks.CLEAN_CLAIMED);
            assertEquals(List.of(ProcessState.CLEANING), states(region, false), region.processes().toString());
            b.close();
            assertEquals(List.of(ProcessState.DEAD), states(region, false), region.processes().toString());
            ChildJvm c1 = holder(name, null);
            ChildJvm c2 = holder(name, null);
            c1.send("RECLAIM");
            c2.send("RECLAIM");
            int n1 = Integer.parseInt(c1.awaitLine("RECLAIMED ").substring(10));
            int n2 = Integer.parseInt(c2.awaitLine("RECLAIMED ").substring(10));
            assertEquals(1, n1 + n2 + region.reclaimDeadProcesses(), "the dead slot reclaimed exactly once");
            assertEquals(List.of(ProcessState.ALIVE, ProcessState.ALIVE), states(region, false));
            c1.send("EXIT");
            c1.assertExit(0);
            c2.close();
            m.lock();
            m.unlock();
        }
    }

    /** A slot claimed in the sibling-thread window: its lease is never marked; tgkill proves the death. */
    @Test
    @Timeout(120)
    void aSlotClaimedInTheSiblingWindowIsProvedDeadAndReclaimed() throws Exception {
        String name = shm.regionName("slots");
        try (Region region = Region.create(name, 64 * 1024)) {
            region.mutex("m");
            ChildJvm a = holder(name, TestHooks.ATTACH_CAS_UNLISTED);
            a.send("ATTACH");
            a.awaitLine("SHMSYNC-PAUSED " + TestHooks.ATTACH_CAS_UNLISTED);
            a.close();
            assertEquals(List.of(ProcessState.ATTACHING), states(region, false),
                    "the kernel did not mark it: " + region.processes());
            assertEquals(1, region.reclaimDeadProcesses());
            assertEquals(List.of(), states(region, false));
        }
    }

    private static List<ProcessState> states(Region region, boolean includeSelf) {
        return region.processes().stream().filter(p -> includeSelf || !p.current()).map(ProcessInfo::state).toList();
    }

    private static void awaitWaiter(Mutex m) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!m.hasQueuedThreads()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("no waiter registered on " + m);
            }
            Thread.sleep(1);
        }
        Thread.sleep(20); // let it fall asleep
    }
}
