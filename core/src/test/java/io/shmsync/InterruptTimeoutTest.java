package io.shmsync;

import io.shmsync.testing.Await;
import io.shmsync.testing.ChildJvm;
import io.shmsync.testing.SemaphoreAgent;
import io.shmsync.testing.Seeds;
import io.shmsync.testing.ShmDir;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Interrupts and timeouts of blocked acquires (glibc tst-sem13 style): the waiter count goes back to 0,
 * the interrupt status is cleared, no permit is consumed, and no interrupt is ever lost, for platform and
 * virtual threads, in this process and in another one that this process watches through its own handle.
 */
class InterruptTimeoutTest {
    @RegisterExtension
    final ShmDir shm = new ShmDir();

    Region region;

    @BeforeEach
    void createRegion() throws Exception {
        region = Region.create(shm.regionName("intr"), 64 * 1024);
    }

    @AfterEach
    void closeRegion() {
        region.close();
    }

    static Thread start(boolean virtual, String name, Runnable r) {
        return (virtual ? Thread.ofVirtual() : Thread.ofPlatform()).name(name).start(r);
    }

    static void awaitQueue(Semaphore s, int n) {
        Await.until(() -> s.getQueueLength() == n, () -> "queue length " + n + ": " + s);
    }

    /** Runs {@code body} on a new thread and returns what it threw (or null) and its interrupt status. */
    record Outcome(Throwable thrown, boolean interruptedAfter, Object value) {
    }

    interface Body {
        Object run() throws Exception;
    }

    static CompletableFuture<Outcome> spawn(boolean virtual, Body body) {
        CompletableFuture<Outcome> f = new CompletableFuture<>();
        start(virtual, "waiter", () -> {
            try {
                Object v = body.run();
                f.complete(new Outcome(null, Thread.currentThread().isInterrupted(), v));
            } catch (Throwable t) {
                f.complete(new Outcome(t, Thread.currentThread().isInterrupted(), null));
            }
        });
        return f;
    }

    // ------------------------------------------------------------------ in this process

    @ParameterizedTest(name = "virtual={0}")
    @ValueSource(booleans = {false, true})
    @Timeout(60)
    void interruptedAcquireThrowsAndDeregisters(boolean virtual) throws Exception {
        Semaphore s = region.semaphore("s", 0);
        AtomicReference<Thread> waiter = new AtomicReference<>();
        CompletableFuture<Outcome> f = spawn(virtual, () -> {
            waiter.set(Thread.currentThread());
            s.acquire();
            return "acquired";
        });
        awaitQueue(s, 1);
        waiter.get().interrupt();
        Outcome o = f.get();
        assertTrue(o.thrown() instanceof InterruptedException, "expected InterruptedException: " + o);
        assertFalse(o.interruptedAfter(), "interrupt status must be cleared by the InterruptedException");
        assertEquals(0, s.getQueueLength(), s.toString());
        assertEquals(0, s.availablePermits(), s.toString());
        // The semaphore still works, and the next waiter is woken by a release.
        CompletableFuture<Outcome> g = spawn(virtual, () -> {
            s.acquire();
            return "acquired";
        });
        awaitQueue(s, 1);
        s.release();
        assertEquals("acquired", g.get().value());
        assertEquals(0, s.availablePermits());
        assertEquals(0, s.getQueueLength());
    }

    @ParameterizedTest(name = "virtual={0}")
    @ValueSource(booleans = {false, true})
    @Timeout(60)
    void preInterruptedThreadNeverTakesAPermit(boolean virtual) throws Exception {
        Semaphore s = region.semaphore("s", 2);
        Outcome o = spawn(virtual, () -> {
            Thread.currentThread().interrupt();
            s.acquire();
            return "acquired";
        }).get();
        assertTrue(o.thrown() instanceof InterruptedException, o.toString());
        assertFalse(o.interruptedAfter());
        o = spawn(virtual, () -> {
            Thread.currentThread().interrupt();
            return s.tryAcquire(1, TimeUnit.SECONDS);
        }).get();
        assertTrue(o.thrown() instanceof InterruptedException, o.toString());
        assertEquals(2, s.availablePermits(), "no permit may be consumed");
        // The untimed tryAcquire ignores the interrupt, like java.util.concurrent.Semaphore's, and keeps it.
        o = spawn(virtual, () -> {
            Thread.currentThread().interrupt();
            return s.tryAcquire();
        }).get();
        assertEquals(Boolean.TRUE, o.value());
        assertTrue(o.interruptedAfter());
        assertEquals(1, s.availablePermits());
        assertEquals(0, s.getQueueLength());
    }

    @ParameterizedTest(name = "virtual={0}")
    @ValueSource(booleans = {false, true})
    @Timeout(60)
    void uninterruptibleWaiterKeepsWaitingAndKeepsTheInterrupt(boolean virtual) throws Exception {
        Semaphore s = region.semaphore("s", 0);
        AtomicReference<Thread> waiter = new AtomicReference<>();
        CompletableFuture<Outcome> f = spawn(virtual, () -> {
            waiter.set(Thread.currentThread());
            s.acquireUninterruptibly();
            return "acquired";
        });
        awaitQueue(s, 1);
        waiter.get().interrupt();
        waiter.get().interrupt();
        s.release(); // only a permit ends the wait: the thread must take exactly this one
        Outcome o = f.get();
        assertEquals("acquired", o.value(), o.toString());
        assertTrue(o.interruptedAfter(), "interrupt status must be set again on return");
        assertEquals(0, s.availablePermits());
        assertEquals(0, s.getQueueLength());
    }

    @ParameterizedTest(name = "virtual={0}")
    @ValueSource(booleans = {false, true})
    @Timeout(60)
    void timedAcquireTimesOutAndDeregisters(boolean virtual) throws Exception {
        Semaphore s = region.semaphore("s", 0);
        Outcome o = spawn(virtual, () -> s.tryAcquire(30, TimeUnit.MILLISECONDS)).get();
        assertEquals(Boolean.FALSE, o.value(), o.toString());
        assertEquals(0, s.getQueueLength(), s.toString());
        assertEquals(0, s.availablePermits());
        // Zero and negative timeouts never block.
        assertFalse(s.tryAcquire(0, TimeUnit.SECONDS));
        assertFalse(s.tryAcquire(-1, TimeUnit.SECONDS));
        assertEquals(0, s.getQueueLength());
        // A timed waiter is woken by a release; "infinite" timeouts do not overflow.
        for (long timeout : new long[]{TimeUnit.HOURS.toNanos(1), Long.MAX_VALUE}) {
            CompletableFuture<Outcome> f = spawn(virtual, () -> s.tryAcquire(timeout, TimeUnit.NANOSECONDS));
            awaitQueue(s, 1);
            s.release();
            assertEquals(Boolean.TRUE, f.get().value());
            assertEquals(0, s.getQueueLength());
            assertEquals(0, s.availablePermits());
        }
        // A timed waiter interrupted.
        AtomicReference<Thread> waiter = new AtomicReference<>();
        CompletableFuture<Outcome> f = spawn(virtual, () -> {
            waiter.set(Thread.currentThread());
            return s.tryAcquire(1, TimeUnit.HOURS);
        });
        awaitQueue(s, 1);
        waiter.get().interrupt();
        o = f.get();
        assertTrue(o.thrown() instanceof InterruptedException, o.toString());
        assertFalse(o.interruptedAfter());
        assertEquals(0, s.getQueueLength());
    }

    // ------------------------------------------------------------------ in another process

    /**
     * Also with {@code -Dio.shmsync.noWaitv=true} in the child: the fallback for kernels without
     * {@code futex_waitv} (FUTEX_WAIT_BITSET slices for platform threads, parkNanos polling for virtual ones).
     */
    @ParameterizedTest(name = "noWaitv={0}")
    @ValueSource(booleans = {false, true})
    @Timeout(120)
    void waitersInAnotherProcess(boolean noWaitv) throws Exception {
        Semaphore s = region.semaphore("s", 0);
        ChildJvm agent = shm.start(shm.child(SemaphoreAgent.class).args(region.name())
                .jvmArgs("-Djdk.virtualThreadScheduler.parallelism=2", "-Djdk.virtualThreadScheduler.maxPoolSize=2",
                        "-Dio.shmsync.noWaitv=" + noWaitv));
        agent.awaitLine("READY");
        int n = 0;
        for (String kind : new String[]{"", " virtual"}) {
            // interrupt: nwaiters 1, then 0, permit untouched
            String id = "w" + (++n);
            agent.send("acquire " + id + " s" + kind);
            agent.awaitLine(id + " STARTED");
            awaitQueue(s, 1);
            agent.send("interrupt " + id);
            agent.awaitLine(id + " INTERRUPTED interrupted=false");
            assertEquals(0, s.getQueueLength(), agent.describe(s.toString()));
            assertEquals(0, s.availablePermits(), agent.describe(s.toString()));

            // timeout: a loop of timed attempts, stopped
            id = "w" + (++n);
            agent.send("timed " + id + " s 20" + kind);
            agent.awaitLine(id + " STARTED");
            awaitQueue(s, 1);
            agent.send("stop " + id);
            Matcher m = agent.awaitMatch(Pattern.compile(id + " TIMEDOUT count=(\\d+)"));
            assertTrue(Integer.parseInt(m.group(1)) >= 1, agent.describe("no timeout"));
            assertEquals(0, s.getQueueLength(), agent.describe(s.toString()));

            // a release in this process wakes the waiter in the other one
            id = "w" + (++n);
            agent.send("acquire " + id + " s" + kind);
            agent.awaitLine(id + " STARTED");
            awaitQueue(s, 1);
            s.release();
            agent.awaitLine(id + " ACQUIRED");
            assertEquals(0, s.getQueueLength(), agent.describe(s.toString()));
            assertEquals(0, s.availablePermits(), agent.describe(s.toString()));

            // and the other way round: the agent releases, a waiter here wakes
            CompletableFuture<Outcome> f = spawn(!kind.isEmpty(), () -> {
                s.acquire();
                return "acquired";
            });
            awaitQueue(s, 1);
            agent.send("release s 1");
            agent.awaitLine("RELEASED s");
            assertEquals("acquired", f.get().value());
            assertEquals(0, s.getQueueLength());
        }
        agent.send("exit");
        agent.assertExit(0);
    }

    // ------------------------------------------------------------------ races

    static final int ACQUIRED = 1, INTERRUPTED = 2, FAILED = 3;

    @ParameterizedTest(name = "virtual={0}")
    @ValueSource(booleans = {false, true})
    @Timeout(180)
    void racingInterruptsAndReleases(boolean virtual) throws Exception {
        int rounds = virtual ? 1000 : 2000;
        long seed = Seeds.seed("racingInterruptsAndReleases(virtual=" + virtual + ")");
        Random rnd = new Random(seed);
        Semaphore s = region.semaphore("race", 0);
        AtomicInteger go = new AtomicInteger(-1);
        AtomicInteger started = new AtomicInteger(-1);
        AtomicInteger finished = new AtomicInteger(-1);
        int[] outcome = new int[rounds];
        boolean[] statusAfterIe = new boolean[rounds];
        Throwable[] failure = new Throwable[rounds];
        Thread waiter = start(virtual, "race-waiter", () -> {
            for (int round = 0; round < rounds; round++) {
                while (go.get() != round) {
                    Thread.yield();
                }
                Thread.interrupted(); // an interrupt of the previous round that came after its acquire
                started.set(round);
                try {
                    s.acquire();
                    outcome[round] = ACQUIRED;
                } catch (InterruptedException e) {
                    outcome[round] = INTERRUPTED;
                    statusAfterIe[round] = Thread.currentThread().isInterrupted();
                } catch (Throwable t) {
                    outcome[round] = FAILED;
                    failure[round] = t;
                }
                finished.set(round);
            }
        });
        int[] count = new int[4];
        for (int round = 0; round < rounds; round++) {
            int kind = rnd.nextInt(3); // 0: interrupt only, 1: release then interrupt, 2: interrupt then release
            long delay = rnd.nextInt(4) == 0 ? 0 : rnd.nextInt(100_000);
            long gap = rnd.nextInt(3) == 0 ? 0 : rnd.nextInt(20_000);
            go.set(round);
            while (started.get() != round) {
                Thread.yield();
            }
            spin(delay);
            if (kind == 1) {
                s.release();
                spin(gap);
            }
            waiter.interrupt();
            if (kind == 2) {
                spin(gap);
                s.release();
            }
            final int r = round;
            Await.until(() -> finished.get() == r, () -> "round " + r + " (kind " + kind + "): the waiter did not "
                    + "return: lost interrupt? " + s + " (seed " + seed + ")");
            String ctx = "round " + round + ", kind " + kind + ", delay " + delay + " ns, gap " + gap + " ns, "
                    + s + " (seed " + seed + ")";
            if (outcome[round] == FAILED) {
                throw new AssertionError("waiter failed in " + ctx, failure[round]);
            }
            count[outcome[round]]++;
            assertEquals(0, s.getQueueLength(), "waiter still registered: " + ctx);
            if (outcome[round] == INTERRUPTED) {
                assertFalse(statusAfterIe[round], "interrupt status set after InterruptedException: " + ctx);
                assertEquals(kind == 0 ? 0 : 1, s.availablePermits(), "interrupted waiter consumed a permit: " + ctx);
                if (kind != 0) {
                    assertTrue(s.tryAcquire(), ctx);
                }
            } else {
                if (kind == 0) {
                    fail("acquired a permit that was never released: " + ctx);
                }
                assertEquals(0, s.availablePermits(), "permit duplicated: " + ctx);
            }
        }
        waiter.join();
        System.out.println("racingInterruptsAndReleases(virtual=" + virtual + "): " + count[ACQUIRED]
                + " acquired, " + count[INTERRUPTED] + " interrupted in " + rounds + " rounds");
        assertEquals(rounds, count[ACQUIRED] + count[INTERRUPTED]);
        assertEquals(0, s.getQueueLength());
        assertEquals(0, s.availablePermits());
    }

    /**
     * Two waiters A and B; a release wakes one of them while A is being interrupted. If the futex wake went
     * to A and A then throws InterruptedException, A must pass the wake-up on to B (docs/PROTOCOL.md §3.3):
     * otherwise B sleeps for ever next to an available permit. Checked every round, with a bounded wait.
     */
    @ParameterizedTest(name = "virtual={0}")
    @ValueSource(booleans = {false, true})
    @Timeout(180)
    void abortingWaiterPassesTheWakeUpOn(boolean virtual) throws Exception {
        int rounds = virtual ? 500 : 1000;
        long seed = Seeds.seed("abortingWaiterPassesTheWakeUpOn(virtual=" + virtual + ")");
        Random rnd = new Random(seed);
        Semaphore s = region.semaphore("passon", 0);
        AtomicInteger goA = new AtomicInteger(-1), goB = new AtomicInteger(-1);
        AtomicInteger doneA = new AtomicInteger(-1), doneB = new AtomicInteger(-1);
        int[] outcomeA = new int[rounds];
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread a = start(virtual, "A", () -> {
            for (int round = 0; round < rounds; round++) {
                while (goA.get() != round) {
                    Thread.yield();
                }
                Thread.interrupted();
                try {
                    s.acquire();
                    outcomeA[round] = ACQUIRED;
                } catch (InterruptedException e) {
                    outcomeA[round] = INTERRUPTED;
                } catch (Throwable t) {
                    failure.compareAndSet(null, t);
                    outcomeA[round] = FAILED;
                }
                doneA.set(round);
            }
        });
        Thread b = start(virtual, "B", () -> {
            for (int round = 0; round < rounds; round++) {
                while (goB.get() != round) {
                    Thread.yield();
                }
                s.acquireUninterruptibly();
                doneB.set(round);
            }
        });
        int passedOn = 0;
        for (int round = 0; round < rounds; round++) {
            final int r = round;
            goA.set(round);
            Await.until(() -> s.getQueueLength() == 1, () -> "A registered, round " + r + ": " + s);
            goB.set(round);
            Await.until(() -> s.getQueueLength() == 2, () -> "B registered, round " + r + ": " + s);
            spin(rnd.nextInt(50_000));
            if (rnd.nextBoolean()) {
                s.release();
                spin(rnd.nextInt(3) == 0 ? 0 : rnd.nextInt(30_000));
                a.interrupt();
            } else { // the interrupt first: A may be aborting while the release's wake-up goes to it
                a.interrupt();
                spin(rnd.nextInt(3) == 0 ? 0 : rnd.nextInt(10_000));
                s.release();
            }
            Await.until(() -> doneA.get() == r, () -> "A returned, round " + r + ": " + s + " (seed " + seed + ")");
            if (outcomeA[round] == FAILED) {
                throw new AssertionError("A failed in round " + round, failure.get());
            }
            if (outcomeA[round] == ACQUIRED) {
                s.release(); // B's permit
            } else {
                passedOn++; // B must get the released permit (woken by the release or by A's abort)
            }
            Await.until(() -> doneB.get() == r, () -> "B asleep next to an available permit in round " + r
                    + " (A " + (outcomeA[r] == ACQUIRED ? "acquired" : "was interrupted") + "): a wake-up was lost: "
                    + s + " (seed " + seed + ")");
            assertEquals(0, s.availablePermits(), "round " + round + ": " + s);
            assertEquals(0, s.getQueueLength(), "round " + round + ": " + s);
        }
        a.join();
        b.join();
        System.out.println("abortingWaiterPassesTheWakeUpOn(virtual=" + virtual + "): A interrupted (B had to get "
                + "the released permit) in " + passedOn + " of " + rounds + " rounds");
    }

    /**
     * "Aborts pass wake-ups on" (docs/PROTOCOL.md §3.3): waiters that time out or are interrupted at the
     * moment a release wakes them must not strand the permit. Noise threads (platform and virtual) wait
     * with tiny timeouts and get interrupted at random, giving back every permit they get; steady waiters
     * block without timeout. When the noise stops, the steady waiters must still receive every permit: a
     * swallowed wake-up leaves one asleep with a permit available, which the bounded wait reports.
     */
    @Test
    @Timeout(180)
    void timeoutsAndInterruptsNeverStrandAPermit() throws Exception {
        long seed = Seeds.seed("timeoutsAndInterruptsNeverStrandAPermit");
        Semaphore s = region.semaphore("strand", 0);
        int steady = 4, perSteady = 2_000, noiseThreads = 4;
        java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
        AtomicInteger steadyGot = new AtomicInteger();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        java.util.List<Thread> steadyThreads = new java.util.ArrayList<>(), noise = new java.util.ArrayList<>();
        for (int i = 0; i < steady; i++) {
            steadyThreads.add(start(i % 2 == 1, "steady-" + i, () -> {
                for (int k = 0; k < perSteady; k++) {
                    s.acquireUninterruptibly();
                    steadyGot.incrementAndGet();
                }
            }));
        }
        for (int i = 0; i < noiseThreads; i++) {
            Random rnd = new Random(seed + i);
            noise.add(start(i % 2 == 1, "noise-" + i, () -> {
                while (!stop.get()) {
                    try {
                        if (s.tryAcquire(rnd.nextInt(200), TimeUnit.MICROSECONDS)) {
                            s.release(); // give it back: noise never keeps a permit
                        }
                    } catch (InterruptedException e) {
                        // expected now and then
                    } catch (Throwable t) {
                        failure.compareAndSet(null, t);
                        return;
                    }
                }
            }));
        }
        Random rnd = new Random(seed);
        Thread interrupter = start(false, "interrupter", () -> {
            while (!stop.get()) {
                noise.get(rnd.nextInt(noise.size())).interrupt();
                spin(rnd.nextInt(50_000));
            }
        });
        for (int k = 0; k < steady * perSteady; k++) {
            s.release();
            if (rnd.nextInt(8) == 0) {
                spin(rnd.nextInt(20_000));
            }
        }
        // Let the noise run a little longer, then stop it: the steady waiters must get the rest on their own.
        Await.until(() -> steadyGot.get() >= steady * perSteady / 2, () -> "progress: " + steadyGot + ", " + s);
        stop.set(true);
        interrupter.join();
        for (Thread t : noise) {
            t.join();
        }
        for (Thread t : steadyThreads) {
            t.join(java.time.Duration.ofSeconds(30));
            if (t.isAlive()) {
                throw new AssertionError(t.getName() + " still waiting with " + s + " after " + steadyGot
                        + " of " + steady * perSteady + " permits: a wake-up was lost (seed " + seed + ")");
            }
        }
        if (failure.get() != null) {
            throw new AssertionError("seed " + seed, failure.get());
        }
        assertEquals(steady * perSteady, steadyGot.get());
        assertEquals(0, s.availablePermits(), s.toString());
        assertEquals(0, s.getQueueLength(), s.toString());
    }

    static void spin(long nanos) {
        if (nanos == 0) {
            return;
        }
        long end = System.nanoTime() + nanos;
        while (System.nanoTime() - end < 0) {
            Thread.onSpinWait();
        }
    }
}
