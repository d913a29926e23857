package io.shmsync.jcstress;

import io.shmsync.JcstressAccess;
import io.shmsync.JcstressAccess.RwSem;
import io.shmsync.JcstressAccess.Sem;
import io.shmsync.internal.sync.RwSemaphoreLayout;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.III_Result;
import org.openjdk.jcstress.infra.results.II_Result;

import java.lang.foreign.ValueLayout;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

/**
 * Controls that MUST fail: a deliberately broken release (plain load + plain store instead of the CAS of
 * PROTOCOL §3.2) with the same outcome table as {@link SemaphoreTests.ReleaseRace}. run.sh requires jcstress to
 * report it FAILED, which shows that the harness, in this configuration, does observe lost updates. Likewise
 * {@link BrokenReadTryLockControl}: the read-write semaphore's T1 (PROTOCOL §7.3) with a plain store instead of
 * its CAS, against the outcome table of {@link RwSemaphoreTests.ReadTryLockVsWriteTryLock}.
 */
public final class ControlTests {
    private ControlTests() {
    }

    @JCStressTest
    @Description("CONTROL (must fail): two releases by plain load/store: a permit is lost now and then.")
    @Outcome(id = "2, 0", expect = ACCEPTABLE, desc = "both released")
    @Outcome(expect = FORBIDDEN, desc = "a release was lost (expected here: this release is broken on purpose)")
    @State
    public static class BrokenReleaseControl {
        final Sem s = JcstressAccess.semaphore(0);

        void brokenRelease() {
            long d = s.data();
            s.segment().set(ValueLayout.JAVA_LONG, 0, d + 1); // not atomic with the load: the seeded bug
        }

        @Actor
        public void a1() {
            brokenRelease();
        }

        @Actor
        public void a2() {
            brokenRelease();
        }

        @Arbiter
        public void arbiter(II_Result r) {
            r.r1 = s.value();
            r.r2 = s.nwaiters();
        }
    }

    @JCStressTest
    @Description("CONTROL (must fail): read-tryLock by plain load/store (T1 without its CAS) races a real write"
            + " tryLock: now and then both get in, and the reader's store wipes WRITER out of the word.")
    @Outcome(id = "1, 0, 64", expect = ACCEPTABLE, desc = "the reader won: one read hold")
    @Outcome(id = "0, 1, 3", expect = ACCEPTABLE, desc = "the writer won: WRITER|PRESENT")
    @Outcome(expect = FORBIDDEN, desc = "both got in (expected here: this read-tryLock is broken on purpose)")
    @State
    public static class BrokenReadTryLockControl {
        final RwSem s = JcstressAccess.rwSemaphore();

        boolean brokenTryRead() {
            long st = s.state();
            if ((st & (RwSemaphoreLayout.PRESENT | RwSemaphoreLayout.WRITER)) != 0) {
                return false;
            }
            // not atomic with the load: the seeded bug
            s.segment().set(ValueLayout.JAVA_LONG, RwSemaphoreLayout.STATE_OFFSET, st + RwSemaphoreLayout.R1);
            return true;
        }

        @Actor
        public void reader(III_Result r) {
            r.r1 = brokenTryRead() ? 1 : 0;
        }

        @Actor
        public void writer(III_Result r) {
            r.r2 = s.rw.writeLock().tryLock() ? 1 : 0;
        }

        @Arbiter
        public void arbiter(III_Result r) {
            r.r3 = RwSemaphoreTests.code(s.state());
        }
    }
}
