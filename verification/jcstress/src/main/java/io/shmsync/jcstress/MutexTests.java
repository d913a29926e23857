package io.shmsync.jcstress;

import io.shmsync.JcstressAccess.MutexPool;
import io.shmsync.Mutex;
import io.shmsync.OwnerDiedException;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.III_Result;
import org.openjdk.jcstress.infra.results.II_Result;
import org.openjdk.jcstress.infra.results.IIII_Result;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

/**
 * jcstress tests of the robust mutex's lock-word transitions (docs/PROTOCOL.md §6.4) as core executes them,
 * on mutexes of a region in the test JVM (JcstressAccess.MutexPool). The holder's death is simulated by
 * writing what the kernel's robust-list walk writes (FUTEX_OWNER_DIED, TID 0) into a free lock word.
 */
public final class MutexTests {
    private MutexTests() {
    }

    /** Outcome codes of one locking actor. */
    static final int NOT_ACQUIRED = 0;
    static final int ACQUIRED = 1;
    static final int OWNER_DIED = 2;

    @JCStressTest
    @Description("Two tryLock race; a winner increments a plain counter and unlocks. The counter loses no"
            + " update, and the word ends free.")
    @Outcome(id = {"1, 1, 2, 0", "1, 0, 1, 0", "0, 1, 1, 0"}, expect = ACCEPTABLE,
            desc = "one after the other, or one of them")
    @Outcome(expect = FORBIDDEN, desc = "both inside at once (lost update), nobody acquired, or the word not free")
    @State
    public static class TryLockRace {
        final int i = MutexPool.next(0);
        final Mutex m = MutexPool.mutex(i);
        int counter;

        int attempt() {
            if (!m.tryLock()) {
                return NOT_ACQUIRED;
            }
            try {
                int c = counter;
                counter = c + 1;
            } finally {
                m.unlock();
            }
            return ACQUIRED;
        }

        @Actor
        public void a1(IIII_Result r) {
            r.r1 = attempt();
        }

        @Actor
        public void a2(IIII_Result r) {
            r.r2 = attempt();
        }

        @Arbiter
        public void arbiter(IIII_Result r) {
            r.r3 = counter;
            r.r4 = MutexPool.lockWord(i);
        }
    }

    @JCStressTest
    @Description("Two threads lock() (contended slow path: FUTEX_WAITERS, futex wait, wake one at unlock),"
            + " increment a plain counter and unlock: no lost update, no lost wake-up (it would hang), word free.")
    @Outcome(id = "2, 0, 0", expect = ACCEPTABLE, desc = "both, one at a time")
    @Outcome(expect = FORBIDDEN, desc = "lost update, or the word not free at the end")
    @State
    public static class LockCounter {
        final int i = MutexPool.next(1);
        final Mutex m = MutexPool.mutex(i);
        int counter;

        void inc() {
            m.lock();
            try {
                int c = counter;
                counter = c + 1;
            } finally {
                m.unlock();
            }
        }

        @Actor
        public void a1() {
            inc();
        }

        @Actor
        public void a2() {
            inc();
        }

        @Arbiter
        public void arbiter(III_Result r) {
            r.r1 = counter;
            r.r2 = MutexPool.lockWord(i);
            r.r3 = m.isConsistent() ? 0 : 1;
        }
    }

    @JCStressTest
    @Description("The lock word carries FUTEX_OWNER_DIED (as the kernel leaves it for a dead holder); two"
            + " tryLock race: exactly one gets OwnerDiedException holding the mutex (one report per death),"
            + " repairs it (markConsistent) and unlocks; the other fails or, after that, acquires normally.")
    @Outcome(id = {"2, 0", "0, 2", "2, 1", "1, 2"}, expect = ACCEPTABLE,
            desc = "one owner-died report; the other failed or came after the repair")
    @Outcome(expect = FORBIDDEN, desc = "two reports, or none")
    @State
    public static class OwnerDiedReportedOnce {
        final int i = MutexPool.next(2);
        final Mutex m = MutexPool.mutex(i);

        {
            MutexPool.markOwnerDied(i);
        }

        int attempt() {
            try {
                if (!m.tryLock()) {
                    return NOT_ACQUIRED;
                }
                m.unlock();
                return ACQUIRED;
            } catch (OwnerDiedException e) {
                m.markConsistent();
                m.unlock();
                return OWNER_DIED;
            }
        }

        // No arbiter reading the word: the constructor of a later state that reuses this pool entry marks it
        // FUTEX_OWNER_DIED again, possibly before this state's arbiter would run.
        @Actor
        public void a1(II_Result r) {
            r.r1 = attempt();
        }

        @Actor
        public void a2(II_Result r) {
            r.r2 = attempt();
        }
    }
}
