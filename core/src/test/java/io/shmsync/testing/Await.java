package io.shmsync.testing;

import java.time.Duration;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * Waits for a condition that must become true eventually (never a timing assertion: the limit only turns
 * a hang into a failure with a useful message; @Timeout bounds the test anyway).
 */
public final class Await {
    private Await() {
    }

    public static final Duration LIMIT = Duration.ofSeconds(30);

    public static void until(BooleanSupplier condition, Supplier<String> what) {
        long deadline = System.nanoTime() + LIMIT.toNanos();
        for (int spins = 0; !condition.getAsBoolean(); spins++) {
            if (System.nanoTime() - deadline > 0) {
                throw new AssertionError("condition not reached within " + LIMIT + ": " + what.get());
            }
            if (spins < 2_000) {
                Thread.yield();
            } else {
                try {
                    Thread.sleep(1);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new AssertionError("interrupted while waiting for: " + what.get());
                }
            }
        }
    }
}
