package io.shmsync;

import io.shmsync.internal.sync.Guard;
import io.shmsync.internal.sync.Spinner;
import io.shmsync.internal.sync.WaitScope;
import io.shmsync.testing.Await;
import io.shmsync.testing.Child;
import io.shmsync.testing.ChildJvm;
import io.shmsync.testing.ShmDir;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Spin-then-park: the public policy's bounds, that a spinning waiter still registers and blocks, still sees
 * interrupts, removal and close, the adaptive budget's rules, and that nothing spins on one CPU. No timing
 * asserts: a spin that failed to stop early would hang the test (an "unbounded" budget is used for that),
 * which the timeout reports.
 */
class SpinPolicyTest {
    /** Far longer than any test timeout: a spin with this budget only ends through an early exit. */
    static final long FOREVER = TimeUnit.HOURS.toNanos(1);

    @RegisterExtension
    final ShmDir shm = new ShmDir();

    Region region;

    @BeforeEach
    void createRegion() throws Exception {
        region = Region.create(shm.regionName("spin"), 64 * 1024);
    }

    @AfterEach
    void closeRegion() {
        region.close();
    }

    @Test
    void policyBoundsAndValues() {
        assertEquals(0, SpinPolicy.NONE.maxSpinNanos());
        assertFalse(SpinPolicy.NONE.isAdaptive());
        assertEquals(SpinPolicy.NONE, SpinPolicy.fixed(Duration.ZERO));
        assertEquals(SpinPolicy.NONE, SpinPolicy.adaptive(Duration.ZERO));
        SpinPolicy a = SpinPolicy.adaptive(Duration.ofNanos(50_000));
        assertTrue(a.isAdaptive());
        assertEquals(50_000, a.maxSpinNanos());
        assertEquals(Duration.ofNanos(50_000), a.maxSpin());
        assertEquals(a, SpinPolicy.adaptive(Duration.ofNanos(50_000)));
        assertNotEquals(a, SpinPolicy.fixed(Duration.ofNanos(50_000)));
        assertEquals(SpinPolicy.MAX_SPIN, SpinPolicy.fixed(SpinPolicy.MAX_SPIN).maxSpin());
        assertThrows(IllegalArgumentException.class, () -> SpinPolicy.fixed(SpinPolicy.MAX_SPIN.plusNanos(1)));
        assertThrows(IllegalArgumentException.class, () -> SpinPolicy.adaptive(Duration.ofNanos(-1)));
        assertThrows(NullPointerException.class, () -> SpinPolicy.fixed(null));
        Semaphore s = region.semaphore("s", 0);
        assertEquals(SpinPolicy.NONE, s.getSpinPolicy());
        s.setSpinPolicy(a);
        assertEquals(a, s.getSpinPolicy());
        assertEquals(SpinPolicy.NONE, region.semaphore("s").getSpinPolicy(), "the policy is per handle");
        assertThrows(NullPointerException.class, () -> s.setSpinPolicy(null));
    }

    static CompletableFuture<Throwable> spawn(boolean virtual, AtomicReference<Thread> thread, Body body) {
        CompletableFuture<Throwable> f = new CompletableFuture<>();
        (virtual ? Thread.ofVirtual() : Thread.ofPlatform()).start(() -> {
            thread.set(Thread.currentThread());
            try {
                body.run();
                f.complete(null);
            } catch (Throwable t) {
                f.complete(t);
            }
        });
        return f;
    }

    interface Body {
        void run() throws Exception;
    }

    /** A spinning waiter that finds no permit within its spin registers and blocks; a release wakes it. */
    @ParameterizedTest(name = "virtual={0}")
    @ValueSource(booleans = {false, true})
    @Timeout(60)
    void spinningWaiterStillBlocksAndIsWoken(boolean virtual) throws Exception {
        Semaphore s = region.semaphore("s", 0);
        s.setSpinPolicy(SpinPolicy.fixed(SpinPolicy.MAX_SPIN));
        CompletableFuture<Throwable> f = spawn(virtual, new AtomicReference<>(), s::acquire);
        Await.until(() -> s.getQueueLength() == 1, () -> "the waiter registers after its spin: " + s);
        s.release();
        assertEquals(null, f.get());
        assertEquals(0, s.availablePermits());
        assertEquals(0, s.getQueueLength());
    }

    /** Interrupt, removal and close reach a spinning or blocked waiter of a spinning handle. */
    @ParameterizedTest(name = "virtual={0}")
    @ValueSource(booleans = {false, true})
    @Timeout(60)
    void spinningHandleSeesInterruptRemovalAndClose(boolean virtual) throws Exception {
        Semaphore s = region.semaphore("s", 0);
        s.setSpinPolicy(SpinPolicy.adaptive(SpinPolicy.MAX_SPIN));
        AtomicReference<Thread> t = new AtomicReference<>();
        CompletableFuture<Throwable> f = spawn(virtual, t, s::acquire);
        Await.until(() -> t.get() != null, () -> "waiter started");
        t.get().interrupt();
        assertTrue(f.get() instanceof InterruptedException, String.valueOf(f.get()));
        assertEquals(0, s.getQueueLength());

        f = spawn(virtual, t, s::acquire);
        Await.until(() -> s.getQueueLength() == 1, () -> "waiter registered: " + s);
        region.remove("s");
        assertTrue(f.get() instanceof ObjectRemovedException, String.valueOf(f.get()));

        Semaphore u = region.semaphore("u", 0);
        u.setSpinPolicy(SpinPolicy.fixed(SpinPolicy.MAX_SPIN));
        f = spawn(virtual, t, u::acquireUninterruptibly);
        Await.until(() -> u.getQueueLength() == 1, () -> "waiter registered: " + u);
        region.close();
        assertTrue(f.get() instanceof RegionClosedException, String.valueOf(f.get()));
    }

    /** A spinning mutex waiter still sets the waiters bit and sleeps, is handed the lock, and sees interrupts. */
    @ParameterizedTest(name = "virtual={0}")
    @ValueSource(booleans = {false, true})
    @Timeout(60)
    void spinningMutexWaiterBlocksAndSeesInterrupts(boolean virtual) throws Exception {
        Mutex m = region.mutex("m");
        Mutex other = region.mutex("m");
        other.setSpinPolicy(SpinPolicy.fixed(SpinPolicy.MAX_SPIN));
        assertEquals(SpinPolicy.NONE, m.getSpinPolicy());
        m.lock();
        AtomicReference<Thread> t = new AtomicReference<>();
        CompletableFuture<Throwable> f = spawn(virtual, t, () -> {
            other.lockInterruptibly();
            other.unlock();
        });
        Await.until(m::hasQueuedThreads, () -> "the waiter announces itself after its spin: " + m);
        m.unlock();
        assertEquals(null, f.get());

        m.lock();
        t.set(null);
        f = spawn(virtual, t, other::lockInterruptibly);
        Await.until(() -> t.get() != null, () -> "waiter started");
        t.get().interrupt();
        assertTrue(f.get() instanceof InterruptedException, String.valueOf(f.get()));
        m.unlock();
        assertFalse(m.isLocked());
    }

    /** The spin itself stops at once when the word changes, the thread is interrupted, the object removed or its scope closed. */
    @Test
    @Timeout(60)
    void spinStopsEarlyForEveryReason() throws Exception {
        try (Arena arena = Arena.ofShared()) {
            MemorySegment m = arena.allocate(64, 64);
            WaitScope scope = new WaitScope("test scope");
            Guard guard = Guard.of(scope, m, 8, 2, "test object");
            m.set(ValueLayout.JAVA_INT, 8, 2);
            Spinner sp = new Spinner();
            sp.configure(FOREVER, false);

            // The word changes while spinning.
            Thread changer = Thread.ofPlatform().start(() -> {
                Thread.yield();
                m.set(ValueLayout.JAVA_INT, 0, 1);
            });
            sp.spin(m, 0, 0, guard, true, false, 0);
            changer.join();
            assertEquals(1, m.get(ValueLayout.JAVA_INT, 0));
            m.set(ValueLayout.JAVA_INT, 0, 0);

            // Interrupted (only if interruptible); the status is left set for the caller to report.
            Thread.currentThread().interrupt();
            sp.spin(m, 0, 0, guard, true, false, 0);
            assertTrue(Thread.interrupted());
            // A deadline ends it too.
            sp.spin(m, 0, 0, guard, false, true, System.nanoTime());

            // Removal: the guard's sequence changes.
            m.set(ValueLayout.JAVA_INT, 8, 4);
            sp.spin(m, 0, 0, guard, false, false, 0);
            m.set(ValueLayout.JAVA_INT, 8, 2);

            // Close.
            scope.closeAndDrain();
            sp.spin(m, 0, 0, guard, false, false, 0);
        }
    }

    @Test
    void adaptiveBudgetShrinksAfterLongWaitsAndGrowsAfterShortOnes() {
        Spinner sp = new Spinner();
        long max = TimeUnit.SECONDS.toNanos(1);
        sp.configure(max, true);
        assertEquals(max, sp.budgetNanos(), "starts at the maximum");
        long b = max;
        for (int i = 0; i < 40 && b > 0; i++) {
            sp.waited(System.nanoTime() - 2 * max); // a wait twice the maximum: spinning would have been wasted
            assertEquals(b / 2 < 500 ? 0 : b / 2, sp.budgetNanos(), "halves after a long wait");
            b = sp.budgetNanos();
        }
        assertEquals(0, sp.budgetNanos(), "reaches 0: a handle with sparse traffic stops spinning");
        sp.waited(System.nanoTime()); // a (nearly) instant wait: a spin would have caught it
        long grown = sp.budgetNanos();
        assertTrue(grown >= 1_000 && grown <= max, "grows again after a short wait: " + grown);
        sp.waited(System.nanoTime() - max / 4);
        assertTrue(sp.budgetNanos() >= max / 2, "twice the last short wait: " + sp.budgetNanos());
        sp.waited(System.nanoTime() - max / 4 * 3);
        assertEquals(max, sp.budgetNanos(), "never above the maximum");

        Spinner fixed = new Spinner();
        fixed.configure(max, false);
        fixed.waited(System.nanoTime() - 2 * max);
        assertEquals(max, fixed.budgetNanos(), "a fixed policy does not adapt");
    }

    /** With one CPU available nothing spins, whatever the policy (a child JVM limited to one CPU). */
    @Test
    @Timeout(120)
    void noSpinningOnOneCpu() throws Exception {
        ChildJvm c = shm.start(shm.child(OneCpu.class).name("one-cpu").args(region.name())
                .jvmArgs("-XX:ActiveProcessorCount=1"));
        c.awaitLine("RESULT cpus=1 budget=0");
        c.assertExit(0);
    }

    /** args: REGION. Prints the budget of a spinning handle. */
    public static final class OneCpu {
        public static void main(String[] args) {
            Child.run(args, a -> {
                try (Region r = Region.open(a[0])) {
                    Semaphore s = r.semaphore("one", 1);
                    s.setSpinPolicy(SpinPolicy.fixed(Duration.ofMillis(1)));
                    s.acquire();
                    Child.say("RESULT cpus=" + Runtime.getRuntime().availableProcessors() + " budget="
                            + s.spinBudgetNanos());
                }
            });
        }
    }
}
