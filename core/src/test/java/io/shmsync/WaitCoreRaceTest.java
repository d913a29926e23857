package io.shmsync;

import io.shmsync.testing.Seeds;
import io.shmsync.testing.ShmDir;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Removal and close racing a thread that is about to sleep: the waker must reach it whether it comes before
 * the waiter's last look, between that look and the futex syscall, or while it sleeps (docs/PROTOCOL.md §3.4:
 * platform waiters sleep on the object word alone; removals reach them through the removal watcher, closes
 * through the scope). A lost wake-up hangs the round, which the timeout reports. Randomised delays, seeded.
 */
class WaitCoreRaceTest {
    @RegisterExtension
    final ShmDir shm = new ShmDir();

    static CompletableFuture<Throwable> waiter(boolean virtual, Semaphore s, boolean timed) {
        CompletableFuture<Throwable> f = new CompletableFuture<>();
        (virtual ? Thread.ofVirtual() : Thread.ofPlatform()).start(() -> {
            try {
                if (timed) {
                    s.tryAcquire(1, TimeUnit.DAYS);
                } else {
                    s.acquire();
                }
                f.complete(null);
            } catch (Throwable t) {
                f.complete(t);
            }
        });
        return f;
    }

    static void delay(Random rnd) {
        switch (rnd.nextInt(4)) {
            case 0 -> { }
            case 1 -> Thread.onSpinWait();
            case 2 -> {
                for (int i = rnd.nextInt(200); i > 0; i--) {
                    Thread.onSpinWait();
                }
            }
            default -> Thread.yield();
        }
    }

    @ParameterizedTest(name = "virtual={0}")
    @ValueSource(booleans = {false, true})
    @Timeout(120)
    void removalRacingAWaiterIsNeverLost(boolean virtual) throws Exception {
        String what = "removalRacingAWaiterIsNeverLost(virtual=" + virtual + ")";
        Random rnd = new Random(Seeds.seed(what));
        int rounds = 400;
        try (Region region = Region.create(shm.regionName("race"), 256 * 1024)) {
            for (int i = 0; i < rounds; i++) {
                Semaphore s = region.semaphore("s", 0);
                if (rnd.nextBoolean()) {
                    s.setSpinPolicy(SpinPolicy.fixed(java.time.Duration.ofNanos(rnd.nextInt(20_000))));
                }
                CompletableFuture<Throwable> f = waiter(virtual, s, rnd.nextBoolean());
                delay(rnd);
                assertTrue(region.remove("s"));
                Throwable t = f.get(60, TimeUnit.SECONDS);
                assertTrue(t instanceof ObjectRemovedException, "round " + i + ": " + t);
            }
        }
        System.out.println(what + ": " + rounds + " removals, none lost");
    }

    @ParameterizedTest(name = "virtual={0}")
    @ValueSource(booleans = {false, true})
    @Timeout(120)
    void closeRacingAWaiterIsNeverLost(boolean virtual) throws Exception {
        String what = "closeRacingAWaiterIsNeverLost(virtual=" + virtual + ")";
        Random rnd = new Random(Seeds.seed(what));
        int rounds = 150;
        String name = shm.regionName("close");
        for (int i = 0; i < rounds; i++) {
            Region region = Region.openOrCreate(name, 64 * 1024);
            Semaphore s = region.semaphore("s", 0);
            CompletableFuture<Throwable> f = waiter(virtual, s, rnd.nextBoolean());
            delay(rnd);
            region.close();
            Throwable t = f.get(60, TimeUnit.SECONDS);
            assertTrue(t instanceof RegionClosedException || t instanceof IllegalStateException, "round " + i + ": " + t);
        }
        System.out.println(what + ": " + rounds + " closes, none lost");
    }
}
