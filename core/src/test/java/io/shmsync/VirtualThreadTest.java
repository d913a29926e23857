package io.shmsync;

import io.shmsync.testing.Child;
import io.shmsync.testing.ChildJvm;
import io.shmsync.testing.ShmDir;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Virtual threads blocked in {@code acquire()} must not pin their carriers: in a child JVM whose scheduler
 * has only 2 carriers (and may not add any), 50 virtual threads block on a 0-permit semaphore and another
 * virtual thread releases them one by one. If a blocked virtual thread sat in the futex syscall, the
 * releaser would never run: a deadlock, reported with the child's output when its line does not come.
 */
class VirtualThreadTest {
    static final String[] TWO_CARRIERS = {
            "-Djdk.virtualThreadScheduler.parallelism=2", "-Djdk.virtualThreadScheduler.maxPoolSize=2"};

    @RegisterExtension
    final ShmDir shm = new ShmDir();

    ChildJvm scenario(String scenario, String region, boolean noWaitv) {
        ChildJvm c = shm.start(shm.child(Scenarios.class).name(scenario).args(scenario, region)
                .jvmArgs(TWO_CARRIERS).jvmArgs("-Dio.shmsync.noWaitv=" + noWaitv));
        c.awaitLine("READY");
        return c;
    }

    @ParameterizedTest(name = "noWaitv={0}")
    @ValueSource(booleans = {false, true})
    @Timeout(120)
    void fiftyBlockedVirtualThreadsOnTwoCarriers(boolean noWaitv) throws Exception {
        String name = shm.regionName("vt");
        try (Region region = Region.create(name, 64 * 1024)) {
            Semaphore s = region.semaphore("s", 0);
            ChildJvm c = scenario("fifty", name, noWaitv);
            c.awaitLine("RESULT completed=50 value=0 nwaiters=0");
            c.assertExit(0);
            assertEquals(0, s.availablePermits());
            assertEquals(0, s.getQueueLength());
        }
    }

    /** 200 virtual threads on 200 different semaphores: more words than one futex_waitv call can take. */
    @Test
    @Timeout(120)
    void manyDistinctWords() throws Exception {
        String name = shm.regionName("vt");
        try (Region region = Region.create(name, 256 * 1024, RegionOptions.defaults().directoryCapacity(256))) {
            ChildJvm c = scenario("distinct", name, false);
            c.awaitLine("RESULT completed=200 leftover=0 nwaiters=0");
            c.assertExit(0);
            assertEquals(200, region.entries().size());
        }
    }

    @Test
    @Timeout(120)
    void interruptsAndTimeoutsOfVirtualWaiters() throws Exception {
        String name = shm.regionName("vt");
        try (Region region = Region.create(name, 64 * 1024)) {
            Semaphore s = region.semaphore("s", 0);
            ChildJvm c = scenario("interrupts", name, false);
            c.awaitLine("RESULT interrupted=20 timedout=20 acquired=20 value=0 nwaiters=0");
            c.assertExit(0);
            assertEquals(0, s.getQueueLength());
        }
    }

    /** Virtual threads of the child are woken by releases made in this process. */
    @ParameterizedTest(name = "noWaitv={0}")
    @ValueSource(booleans = {false, true})
    @Timeout(120)
    void releasesFromAnotherProcessWakeVirtualThreads(boolean noWaitv) throws Exception {
        String name = shm.regionName("vt");
        try (Region region = Region.create(name, 64 * 1024)) {
            Semaphore s = region.semaphore("s", 0);
            ChildJvm c = scenario("remote", name, noWaitv);
            c.awaitLine("BLOCKED 50");
            assertEquals(50, s.getQueueLength(), c.describe(s.toString()));
            for (int i = 0; i < 50; i++) {
                s.release();
                if (i % 10 == 9) {
                    Thread.yield();
                }
            }
            c.awaitLine("RESULT completed=50");
            c.assertExit(0);
            assertEquals(0, s.availablePermits());
            assertEquals(0, s.getQueueLength());
        }
    }

    /** args: SCENARIO REGION. Prints READY, then a RESULT line. */
    public static final class Scenarios {
        public static void main(String[] args) {
            Child.run(args, a -> {
                try (Region region = Region.open(a[1])) {
                    Child.say("READY");
                    switch (a[0]) {
                        case "fifty" -> fifty(region);
                        case "distinct" -> distinct(region);
                        case "interrupts" -> interrupts(region);
                        case "remote" -> remote(region);
                        default -> throw new IllegalArgumentException(a[0]);
                    }
                }
            });
        }

        static void await(String what, java.util.function.BooleanSupplier c) throws InterruptedException {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30); // < the parent's 60 s: the diagnosis gets printed
            while (!c.getAsBoolean()) {
                if (System.nanoTime() > deadline) {
                    throw new AssertionError("stuck waiting for " + what);
                }
                Thread.sleep(1);
            }
        }

        static void join(List<Thread> threads) throws InterruptedException {
            for (Thread t : threads) {
                if (!t.join(java.time.Duration.ofSeconds(30))) {
                    throw new AssertionError("virtual thread " + t + " still blocked: deadlock (pinned carriers?)");
                }
            }
        }

        static List<Thread> blockMany(Semaphore s, int n, AtomicInteger completed) {
            List<Thread> ts = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                ts.add(Thread.ofVirtual().name("vt-" + i).start(() -> {
                    try {
                        s.acquire();
                        completed.incrementAndGet();
                    } catch (InterruptedException e) {
                        throw new AssertionError(e);
                    }
                }));
            }
            return ts;
        }

        static void fifty(Region region) throws Exception {
            Semaphore s = region.semaphore("s");
            AtomicInteger completed = new AtomicInteger();
            List<Thread> ts = blockMany(s, 50, completed);
            await("50 registered waiters", () -> s.getQueueLength() == 50);
            // The releaser is a virtual thread too: it needs a free carrier.
            Thread releaser = Thread.ofVirtual().start(() -> {
                for (int i = 0; i < 50; i++) {
                    s.release();
                    Thread.yield();
                }
            });
            ts.add(releaser);
            join(ts);
            Child.say("RESULT completed=" + completed.get() + " value=" + s.availablePermits()
                    + " nwaiters=" + s.getQueueLength());
        }

        static void distinct(Region region) throws Exception {
            int n = 200;
            List<Semaphore> sems = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                sems.add(region.semaphore("d" + i, 0));
            }
            AtomicInteger completed = new AtomicInteger();
            List<Thread> ts = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                Semaphore s = sems.get(i);
                ts.add(Thread.ofVirtual().start(() -> {
                    try {
                        s.acquire();
                        completed.incrementAndGet();
                    } catch (InterruptedException e) {
                        throw new AssertionError(e);
                    }
                }));
            }
            await("all registered", () -> sems.stream().allMatch(s -> s.getQueueLength() == 1));
            Thread releaser = Thread.ofVirtual().start(() -> {
                for (int i = n - 1; i >= 0; i--) { // last registered first: the later multiplexer workers
                    sems.get(i).release();
                }
            });
            ts.add(releaser);
            join(ts);
            int leftover = 0, waiters = 0;
            for (Semaphore s : sems) {
                leftover += s.availablePermits();
                waiters += s.getQueueLength();
            }
            Child.say("RESULT completed=" + completed.get() + " leftover=" + leftover + " nwaiters=" + waiters);
        }

        static void interrupts(Region region) throws Exception {
            Semaphore s = region.semaphore("s");
            AtomicInteger interrupted = new AtomicInteger(), timedOut = new AtomicInteger(),
                    acquired = new AtomicInteger(), errors = new AtomicInteger();
            List<Thread> toInterrupt = new ArrayList<>(), all = new ArrayList<>();
            for (int i = 0; i < 60; i++) {
                int kind = i % 3; // 0: interrupted, 1: timed out, 2: released
                Thread t = Thread.ofVirtual().start(() -> {
                    try {
                        if (kind == 1) {
                            if (!s.tryAcquire(20, TimeUnit.MILLISECONDS)) {
                                timedOut.incrementAndGet();
                            } else {
                                errors.incrementAndGet();
                            }
                        } else {
                            s.acquire();
                            acquired.incrementAndGet();
                        }
                    } catch (InterruptedException e) {
                        if (Thread.currentThread().isInterrupted()) {
                            errors.incrementAndGet();
                        }
                        interrupted.incrementAndGet();
                    }
                });
                all.add(t);
                if (kind == 0) {
                    toInterrupt.add(t);
                }
            }
            await("timed waiters gone, 40 left", () -> timedOut.get() == 20 && s.getQueueLength() == 40);
            for (Thread t : toInterrupt) {
                t.interrupt();
            }
            await("interrupted waiters gone", () -> interrupted.get() == 20 && s.getQueueLength() == 20);
            Thread releaser = Thread.ofVirtual().start(() -> s.release(20));
            all.add(releaser);
            join(all);
            if (errors.get() != 0) {
                throw new AssertionError(errors.get() + " errors");
            }
            Child.say("RESULT interrupted=" + interrupted.get() + " timedout=" + timedOut.get() + " acquired="
                    + acquired.get() + " value=" + s.availablePermits() + " nwaiters=" + s.getQueueLength());
        }

        static void remote(Region region) throws Exception {
            Semaphore s = region.semaphore("s");
            AtomicInteger completed = new AtomicInteger();
            List<Thread> ts = blockMany(s, 50, completed);
            await("50 registered waiters", () -> s.getQueueLength() == 50);
            Child.say("BLOCKED 50");
            join(ts);
            Child.say("RESULT completed=" + completed.get());
        }
    }
}
