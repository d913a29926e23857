package io.shmsync.jcstress;

import io.shmsync.JcstressAccess;
import io.shmsync.JcstressAccess.Sem;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.II_Result;

import java.lang.foreign.ValueLayout;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

/**
 * Controls that MUST fail: a deliberately broken release (plain load + plain store instead of the CAS of
 * PROTOCOL §3.2) with the same outcome table as {@link SemaphoreTests.ReleaseRace}. run.sh requires jcstress to
 * report it FAILED, which shows that the harness, in this configuration, does observe lost updates.
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
}
