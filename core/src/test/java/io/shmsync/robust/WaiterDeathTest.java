package io.shmsync.robust;

import io.shmsync.Mutex;
import io.shmsync.Region;
import io.shmsync.internal.robust.TestHooks;
import io.shmsync.testing.ChildJvm;
import io.shmsync.testing.ShmDir;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A waiter killed after its futex wake-up was consumed (docs/PROTOCOL.md §6.4 "Waiter death"): two child JVMs
 * wait on a mutex held by this process; the unlock wakes one of them, which stops right after its futex wait
 * returned and is killed there. The other waiter must then be woken (by the kernel, through the dead thread's
 * {@code list_op_pending}). Without the fix it sleeps on a free mutex for ever, and the bounded wait for its
 * wake-up fails.
 */
class WaiterDeathTest {
    @RegisterExtension
    final ShmDir shm = new ShmDir();

    private static final String WOKEN = "SHMSYNC-PAUSED " + TestHooks.LOCK_WOKEN;

    @Test
    @Timeout(180)
    void aWaiterKilledAfterItsWakeUpPassesTheWakeUpOn() throws Exception {
        String name = shm.regionName("wdeath");
        try (Region region = Region.create(name, 64 * 1024)) {
            Mutex m = region.mutex("m");
            // Held by a virtual thread, so on this process's lease list: the waiters watch the lease too and
            // sleep in futex_waitv, where lockAndAwaitSleep sees them (a word on a thread's own list is slept
            // on with futex_wait, which every parked JVM thread uses as well). Waiter death is the same for both.
            ExecutorService holder = Executors.newSingleThreadExecutor(Thread.ofVirtual().factory());
            holder.submit((Runnable) m::lock).get();
            // Both waiters stop at their first return from the futex wait; whichever the unlock wakes is killed.
            ChildJvm a = waiter(name, "a");
            lockAndAwaitSleep(a);
            ChildJvm b = waiter(name, "b");
            lockAndAwaitSleep(b);
            assertTrue(m.hasQueuedThreads());
            assertFalse(a.output().stream().anyMatch(l -> l.startsWith(WOKEN)) || b.output().stream().anyMatch(l -> l.startsWith(WOKEN)),
                    "a waiter returned before the unlock: " + a.output() + " " + b.output());

            holder.submit((Runnable) m::unlock).get();
            holder.shutdown();
            ChildJvm woken = null;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (woken == null) {
                if (a.output().stream().anyMatch(l -> l.startsWith(WOKEN))) {
                    woken = a;
                } else if (b.output().stream().anyMatch(l -> l.startsWith(WOKEN))) {
                    woken = b;
                } else if (System.nanoTime() > deadline) {
                    throw new AssertionError("the unlock woke no waiter: " + a.output() + " " + b.output());
                }
                Thread.sleep(5);
            }
            ChildJvm other = woken == a ? b : a;
            assertFalse(other.output().stream().anyMatch(l -> l.startsWith(WOKEN)), "both woken by one unlock (the second was not asleep yet: a test setup problem): " + a.output() + " " + b.output());
            woken.close(); // SIGKILL after its wake-up was consumed, before it retried

            // The lost wake-up would leave `other` asleep on a free mutex for ever: bounded, generous wait.
            other.awaitLine(WOKEN, Duration.ofSeconds(60));
            other.close();
            assertTrue(m.tryLock(30, TimeUnit.SECONDS), "the mutex is free: no waiter holds it");
            assertTrue(m.isConsistent());
            m.unlock();
        }
    }

    private ChildJvm waiter(String region, String tag) {
        ChildJvm c = shm.start(shm.child(RobustChild.class).name("waiter-" + tag).args("hold", region)
                .jvmArgs("-Dio.shmsync.test.pauseAt=" + TestHooks.LOCK_WOKEN));
        c.awaitLine("READY");
        return c;
    }

    /**
     * Sends LOCK and waits until one more thread of the child than before is blocked in {@code futex_waitv}
     * (syscall 449 in /proc/PID/task/TID/syscall), not counting shmsync's own worker threads, which start
     * with the wait and sleep there too.
     */
    private static void lockAndAwaitSleep(ChildJvm c) throws InterruptedException {
        Path tasks = Path.of("/proc", Long.toString(c.pid()), "task");
        // ATTACH opens the mutex handle, whose helper threads (a removal watcher) may wait in futex_waitv too:
        // count them in the baseline.
        c.send("ATTACH");
        c.awaitLine("ATTACHED");
        Thread.sleep(300);
        long before = blockedInWaitv(tasks);
        c.send("LOCK");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (blockedInWaitv(tasks) <= before) {
            if (System.nanoTime() > deadline) {
                throw c.failure("no thread blocked in futex_waitv");
            }
            Thread.sleep(2);
        }
    }

    private static long blockedInWaitv(Path tasks) {
        try (Stream<Path> s = Files.list(tasks)) {
            return s.filter(t -> {
                try {
                    // shmsync's own workers (removal watcher, multiplexer: comm "shmsync-...") sleep there too
                    return Files.readString(t.resolve("syscall")).startsWith("449 ")
                            && !Files.readString(t.resolve("comm")).startsWith("shmsync-");
                } catch (IOException | RuntimeException gone) {
                    return false;
                }
            }).count();
        } catch (IOException e) {
            return 0;
        }
    }
}
