package io.shmsync;

import java.time.Duration;
import java.util.Objects;

/**
 * Whether, and for how long, a thread that finds a blocking primitive unavailable spins (re-reads the shared
 * word in a loop with {@link Thread#onSpinWait()}) before it sleeps in the kernel. Immutable.
 *
 * <p>Blocking hands a permit or a lock from one process to another through the kernel: the waker's
 * {@code FUTEX_WAKE} and the sleeper's wake-up cost a few microseconds on one CPU and often tens of
 * microseconds between CPUs (more on a virtual machine, where the sleeping vCPU must be woken). A waiter that
 * spins a little first takes a permit released within its spin without any system call on either side, at
 * the price of the CPU time it spins. A policy is set per handle
 * ({@link Semaphore#setSpinPolicy(SpinPolicy)}); handles start with {@link #NONE}.
 *
 * <ul>
 *   <li>{@link #NONE}: never spin; block at once (the default, and glibc's {@code sem_wait} behaviour).</li>
 *   <li>{@link #fixed(Duration)}: spin up to the given time before every sleep.</li>
 *   <li>{@link #adaptive(Duration)}: spin up to a budget that follows the waits actually seen through the
 *       handle, never above the given maximum: after a wait that ended within the maximum (a spin would have
 *       caught, or caught, the hand-off) the budget becomes twice that wait, at least 1 µs; after a wait
 *       longer than the maximum (spinning would have been wasted) it halves, down to 0. A handle whose waits
 *       are all long (sparse traffic) so soon stops spinning, and starts again when waits become short (it
 *       keeps measuring how long its blocking waits take). This is the idea of glibc's adaptive mutex and
 *       HotSpot's adaptive spinning.</li>
 * </ul>
 *
 * <p><b>Guarantees.</b> A spin is always bounded by the policy's {@linkplain #maxSpin() maximum} (at most
 * {@link #MAX_SPIN}) and by the wait's own timeout. It allocates nothing and makes no system call. It happens
 * only on the slow path (the uncontended path is unchanged) and before the waiter registers itself in the
 * shared word, so a releaser sees no waiter and makes no {@code FUTEX_WAKE} for a waiter that is spinning.
 * A spinning thread still honours everything a blocked one does: {@link Thread#interrupt()} (interruptible
 * methods then throw {@link InterruptedException}), removal of the object and closing of the region end the
 * spin within a few iterations and are then reported as for a blocked thread. Nothing spins when only one CPU
 * is available to the JVM ({@link Runtime#availableProcessors()} is 1 when the class is initialised, e.g.
 * under {@code taskset -c 0}): there, the thread that would release can only run if the spinner stops.
 * Virtual threads spin too (on their carrier, within the same bound).
 *
 * <pre>{@code
 * Semaphore ready = region.semaphore("ready", 0);
 * ready.setSpinPolicy(SpinPolicy.adaptive(Duration.of(50, ChronoUnit.MICROS)));   // dense hand-offs between processes
 * }</pre>
 */
public final class SpinPolicy {
    /** The longest spin any policy allows: 10 ms. */
    public static final Duration MAX_SPIN = Duration.ofMillis(10);

    /** Never spin: a waiter that finds nothing to take sleeps at once. The default of every handle. */
    public static final SpinPolicy NONE = new SpinPolicy(0, false);

    private final long maxSpinNanos;
    private final boolean adaptive;

    private SpinPolicy(long maxSpinNanos, boolean adaptive) {
        this.maxSpinNanos = maxSpinNanos;
        this.adaptive = adaptive;
    }

    /**
     * Spin up to {@code maxSpin} before every sleep.
     *
     * @throws IllegalArgumentException if {@code maxSpin} is negative or longer than {@link #MAX_SPIN}
     */
    public static SpinPolicy fixed(Duration maxSpin) {
        long n = check(maxSpin);
        return n == 0 ? NONE : new SpinPolicy(n, false);
    }

    /**
     * Spin up to an adaptive budget of at most {@code maxSpin} before every sleep (see the class description).
     * The budget starts at {@code maxSpin}.
     *
     * @throws IllegalArgumentException if {@code maxSpin} is negative or longer than {@link #MAX_SPIN}
     */
    public static SpinPolicy adaptive(Duration maxSpin) {
        long n = check(maxSpin);
        return n == 0 ? NONE : new SpinPolicy(n, true);
    }

    private static long check(Duration maxSpin) {
        Objects.requireNonNull(maxSpin, "maxSpin");
        if (maxSpin.isNegative() || maxSpin.compareTo(MAX_SPIN) > 0) {
            throw new IllegalArgumentException("maxSpin must be 0 to " + MAX_SPIN + ", got " + maxSpin);
        }
        return maxSpin.toNanos();
    }

    /** The longest a single spin may last ({@link Duration#ZERO} for {@link #NONE}). */
    public Duration maxSpin() {
        return Duration.ofNanos(maxSpinNanos);
    }

    /** The longest a single spin may last, in nanoseconds (0 for {@link #NONE}). */
    public long maxSpinNanos() {
        return maxSpinNanos;
    }

    /** Whether the spin budget adapts to the waits seen (see {@link #adaptive(Duration)}). */
    public boolean isAdaptive() {
        return adaptive;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof SpinPolicy p && p.maxSpinNanos == maxSpinNanos && p.adaptive == adaptive;
    }

    @Override
    public int hashCode() {
        return Long.hashCode(maxSpinNanos) * 31 + (adaptive ? 1 : 0);
    }

    @Override
    public String toString() {
        return maxSpinNanos == 0 ? "SpinPolicy[NONE]"
                : "SpinPolicy[" + (adaptive ? "adaptive" : "fixed") + ", max " + maxSpinNanos + " ns]";
    }
}
