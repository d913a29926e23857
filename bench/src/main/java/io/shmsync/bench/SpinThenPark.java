package io.shmsync.bench;

import io.shmsync.Semaphore;

/**
 * <b>Benchmark-side</b> spin-then-park: a bounded loop of {@link Semaphore#tryAcquire()} +
 * {@link Thread#onSpinWait()} for at most {@code spinNanos}, then the ordinary blocking
 * {@link Semaphore#acquire()}. It stood in for core's spin-before-park before {@code io.shmsync.SpinPolicy}
 * existed; the "shmsync spin-then-park" rows now use core's policy, and this loop remains as the
 * {@code shmsync_spin_bench} comparison row (what a user could write on top of the blocking API).
 *
 * <p>Never spins when only one CPU is usable ({@code usableCpus} ≤ 1): the thread that would release could not
 * run while we spin. A core policy would look at this process's own affinity mask
 * ({@link Runtime#availableProcessors()}); the harness passes the CPUs usable by the <em>pair</em> of processes
 * instead, because its cross-CPU placement pins each process to a single, different CPU (where the own-mask check
 * would wrongly turn spinning off) and its pinned placement puts both on one CPU (where it must be off).
 */
final class SpinThenPark {
    private final long spinNanos;

    /**
     * @param spinNanos  spin budget per acquire; 0 = plain blocking
     * @param usableCpus CPUs the two communicating processes can run on; ≤ 1 forces the budget to 0
     */
    SpinThenPark(long spinNanos, int usableCpus) {
        this.spinNanos = usableCpus > 1 ? Math.max(0, spinNanos) : 0;
    }

    /** The effective spin budget (0 when spinning is off). */
    long spinNanos() {
        return spinNanos;
    }

    void acquire(Semaphore s) throws InterruptedException {
        if (spinNanos > 0) {
            long deadline = System.nanoTime() + spinNanos;
            for (int i = 1; ; i++) {
                if (s.tryAcquire()) {
                    return;
                }
                Thread.onSpinWait(); // one PAUSE per look: on AMD Zen a PAUSE alone is tens of ns
                if ((i & 63) == 0 && System.nanoTime() - deadline >= 0) {
                    break;
                }
            }
        }
        s.acquire();
    }
}
