package io.shmsync.jcstress;

import io.shmsync.JcstressAccess;
import io.shmsync.JcstressAccess.Sem;
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
 * jcstress tests of the semaphore's word transitions (docs/PROTOCOL.md §3.2) as core executes them.
 * Every outcome not listed as ACCEPTABLE is FORBIDDEN; run.sh fails on any. Tests have two actors: jcstress
 * runs a test only on at least as many CPUs as it has actors, and CI machines may have two.
 */
public final class SemaphoreTests {
    private SemaphoreTests() {
    }

    @JCStressTest
    @Description("Two tryAcquire race for one permit: exactly one wins, the word ends at value 0, nwaiters 0.")
    @Outcome(id = {"1, 0, 0, 0", "0, 1, 0, 0"}, expect = ACCEPTABLE, desc = "one winner, permit gone")
    @Outcome(expect = FORBIDDEN, desc = "permit duplicated or lost, or nwaiters touched")
    @State
    public static class TryAcquireRace {
        final Sem s = JcstressAccess.semaphore(1);

        @Actor
        public void a1(IIII_Result r) {
            r.r1 = s.sem.tryAcquire() ? 1 : 0;
        }

        @Actor
        public void a2(IIII_Result r) {
            r.r2 = s.sem.tryAcquire() ? 1 : 0;
        }

        @Arbiter
        public void arbiter(IIII_Result r) {
            r.r3 = s.value();
            r.r4 = s.nwaiters();
        }
    }

    @JCStressTest
    @Description("Two releases race (CAS retry with the witnessed value): both permits land.")
    @Outcome(id = "2, 0", expect = ACCEPTABLE, desc = "both released")
    @Outcome(expect = FORBIDDEN, desc = "a release was lost or nwaiters changed")
    @State
    public static class ReleaseRace {
        final Sem s = JcstressAccess.semaphore(0);

        @Actor
        public void a1() {
            s.sem.release();
        }

        @Actor
        public void a2() {
            s.sem.release();
        }

        @Arbiter
        public void arbiter(II_Result r) {
            r.r1 = s.value();
            r.r2 = s.nwaiters();
        }
    }

    @JCStressTest
    @Description("tryAcquire races release on an empty semaphore: the token is either taken or still there.")
    @Outcome(id = {"1, 0, 0", "0, 1, 0"}, expect = ACCEPTABLE, desc = "taken after the release / not yet released")
    @Outcome(expect = FORBIDDEN, desc = "token lost or duplicated")
    @State
    public static class TryAcquireVsRelease {
        final Sem s = JcstressAccess.semaphore(0);

        @Actor
        public void taker(III_Result r) {
            r.r1 = s.sem.tryAcquire() ? 1 : 0;
        }

        @Actor
        public void releaser() {
            s.sem.release();
        }

        @Arbiter
        public void arbiter(III_Result r) {
            r.r2 = s.value();
            r.r3 = s.nwaiters();
        }
    }

    @JCStressTest
    @Description("Two threads each take and give back the one permit if they get it: it is never duplicated"
            + " (a plain counter incremented under the permit loses no update) and it ends back in the word.")
    @Outcome(id = {"1, 1, 0", "2, 1, 0"}, expect = ACCEPTABLE, desc = "1 or 2 holders, one at a time")
    @Outcome(expect = FORBIDDEN, desc = "two holders at once, or the permit lost or duplicated")
    @State
    public static class MutualExclusion {
        final Sem s = JcstressAccess.semaphore(1);
        int inside;          // plain field: only a permit holder touches it
        int entries;         // plain field: incremented under the permit

        void critical() {
            if (s.sem.tryAcquire()) {
                int e = entries;
                inside++;
                entries = e + 1;
                inside--;
                s.sem.release();
            }
        }

        @Actor
        public void a1() {
            critical();
        }

        @Actor
        public void a2() {
            critical();
        }

        @Arbiter
        public void arbiter(III_Result r) {
            r.r1 = entries;
            r.r2 = s.value();
            r.r3 = s.nwaiters() + inside;
        }
    }

    @JCStressTest
    @Description("A blocking acquire (slow path: register, futex wait, deregister, take) against a release:"
            + " the waiter always gets the token (no lost wake-up: a lost one hangs the test) and deregisters.")
    @Outcome(id = "0, 0", expect = ACCEPTABLE, desc = "token taken, waiter deregistered")
    @Outcome(expect = FORBIDDEN, desc = "token or waiter count wrong")
    @State
    public static class AcquireBlocksUntilRelease {
        final Sem s = JcstressAccess.semaphore(0);

        @Actor
        public void waiter() {
            s.sem.acquireUninterruptibly();
        }

        @Actor
        public void releaser() {
            s.sem.release();
        }

        @Arbiter
        public void arbiter(II_Result r) {
            r.r1 = s.value();
            r.r2 = s.nwaiters();
        }
    }
}
