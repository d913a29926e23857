package io.shmsync.jcstress;

import io.shmsync.JcstressAccess;
import io.shmsync.JcstressAccess.RwSem;
import io.shmsync.internal.sync.RwSemaphoreLayout;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.IIII_Result;
import org.openjdk.jcstress.infra.results.III_Result;

import static io.shmsync.internal.sync.RwSemaphoreLayout.PHASE;
import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE_INTERESTING;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

/**
 * jcstress tests of the read-write semaphore's state-word transitions (docs/PROTOCOL.md §7.3) as core executes
 * them, on objects over fresh native memory (JcstressAccess.RwSem: one object per state, no region). Actors use
 * the public API; where the lock must already be held when the actors start, "another party" holds it, by
 * core's transition code itself without the per-thread bookkeeping (T1, T5 in the state's constructor; T4, T8,
 * T9 in an actor), as a C program or another process would.
 *
 * <p>A final state word is reported as {@link #code(long)}: 0 = free, nobody waits.
 */
public final class RwSemaphoreTests {
    private RwSemaphoreTests() {
    }

    /**
     * The state word as a small number: {@code 64 * READERS} + 1 if {@code WRITER} + 2 if {@code PRESENT}
     * + 4 if {@code PHASE} + 8 if {@code RWAIT} &gt; 0 + 16 if {@code WWAIT} &gt; 0 + 32 if bits 2–15 are not zero.
     * E.g. 0 free; 3 write-held; 64 one read hold; 128 two read holds.
     */
    static int code(long s) {
        int c = 64 * RwSemaphoreLayout.readers(s);
        c |= RwSemaphoreLayout.writer(s) ? 1 : 0;
        c |= RwSemaphoreLayout.present(s) ? 2 : 0;
        c |= (s & PHASE) != 0 ? 4 : 0;
        c |= RwSemaphoreLayout.rwait(s) != 0 ? 8 : 0;
        c |= RwSemaphoreLayout.wwait(s) != 0 ? 16 : 0;
        c |= (s & RwSemaphoreLayout.ZERO_BITS) != 0 ? 32 : 0;
        return c;
    }

    @JCStressTest
    @Description("T1 read-tryLock races T5 write-tryLock on a free word (nobody unlocks): exactly one wins, and the"
            + " word shows exactly that hold: READERS 1, or WRITER|PRESENT.")
    @Outcome(id = "1, 0, 64", expect = ACCEPTABLE, desc = "the reader won: one read hold")
    @Outcome(id = "0, 1, 3", expect = ACCEPTABLE, desc = "the writer won: WRITER|PRESENT")
    @Outcome(expect = FORBIDDEN, desc = "both or neither got in, or the word does not match the winner")
    @State
    public static class ReadTryLockVsWriteTryLock {
        // the reader's hold is this instance's firstReader, the writer's its writer field: no per-thread table
        // entry is left behind by the holds that nobody releases (the object is garbage after the arbiter)
        final RwSem s = JcstressAccess.rwSemaphore();

        @Actor
        public void reader(III_Result r) {
            r.r1 = s.rw.readLock().tryLock() ? 1 : 0;
        }

        @Actor
        public void writer(III_Result r) {
            r.r2 = s.rw.writeLock().tryLock() ? 1 : 0;
        }

        @Arbiter
        public void arbiter(III_Result r) {
            r.r3 = code(s.state());
        }
    }

    @JCStressTest
    @Description("Two T1 read-tryLocks on a free word: both succeed; each reports READERS right after its own"
            + " acquisition (1 or 2: 2 for both = held at once), then unlocks (T4); the word ends free (a lost"
            + " CAS update would leave a hold or make an unlock find READERS 0, reported as -1).")
    @Outcome(id = {"1, 1, 0", "1, 2, 0", "2, 1, 0"}, expect = ACCEPTABLE, desc = "both got in, (partly) one after"
            + " the other")
    @Outcome(id = "2, 2, 0", expect = ACCEPTABLE_INTERESTING, desc = "both got in and held at once: READERS 2")
    @Outcome(expect = FORBIDDEN, desc = "a reader refused or saw READERS 0, or the word not free at the end")
    @State
    public static class TwoReadTryLocks {
        final RwSem s = JcstressAccess.rwSemaphore();

        int read() {
            try {
                if (!s.rw.readLock().tryLock()) {
                    return 0;
                }
                int seen = s.rw.getReadLockCount();
                s.rw.readLock().unlock();
                return seen;
            } catch (RuntimeException e) {
                return -1;
            }
        }

        @Actor
        public void a1(III_Result r) {
            r.r1 = read();
        }

        @Actor
        public void a2(III_Result r) {
            r.r2 = read();
        }

        @Arbiter
        public void arbiter(III_Result r) {
            r.r3 = code(s.state());
        }
    }

    @JCStressTest
    @Description("Another party holds the write lock, writes x, y and releases (T8, CAS release) while a reader"
            + " tries (T1, CAS acquire): a reader that gets in sees both writes; the word ends free.")
    @Outcome(id = "-1, -1, 0", expect = ACCEPTABLE, desc = "reader came before the release: refused")
    @Outcome(id = "1, 2, 0", expect = ACCEPTABLE, desc = "reader got in after the release and sees the writer's data")
    @Outcome(expect = FORBIDDEN, desc = "reader got in but missed (part of) the data, or the word not free")
    @State
    public static class WriteUnlockVsReadTryLock {
        final RwSem s = JcstressAccess.rwSemaphore();
        int x;
        int y;

        {
            if (!s.t5TryWrite()) {
                throw new IllegalStateException("fresh object not free");
            }
        }

        @Actor
        public void writer() {
            x = 1;
            y = 2;
            s.t8ReleaseWrite();
        }

        @Actor
        public void reader(III_Result r) {
            if (s.rw.readLock().tryLock()) {
                r.r1 = x;
                r.r2 = y;
                s.rw.readLock().unlock();
            } else {
                r.r1 = -1;
                r.r2 = -1;
            }
        }

        @Arbiter
        public void arbiter(III_Result r) {
            r.r3 = code(s.state());
        }
    }

    @JCStressTest
    @Description("Another party holds the write lock and downgrades it (T9: the write hold becomes a read hold in"
            + " one CAS) while a writer tries (T5): the writer never gets in, whether it tries while the write"
            + " hold is still there or after the downgrade (it reports the word it saw just before trying); the"
            + " word ends with the one read hold, PRESENT clear; the downgrader still sees its own write.")
    @Outcome(id = "1, 0, 3, 64", expect = ACCEPTABLE, desc = "writer tried before the downgrade: kept out")
    @Outcome(id = "1, 0, 64, 64", expect = ACCEPTABLE, desc = "writer tried after the downgrade: kept out by the"
            + " read hold")
    @Outcome(expect = FORBIDDEN, desc = "a writer got in around the downgrade, or the word is wrong")
    @State
    public static class DowngradeVsWriteTryLock {
        final RwSem s = JcstressAccess.rwSemaphore();
        int x;

        {
            if (!s.t5TryWrite()) {
                throw new IllegalStateException("fresh object not free");
            }
        }

        @Actor
        public void downgrader(IIII_Result r) {
            x = 1;
            s.t9Downgrade();
            r.r1 = x;
        }

        @Actor
        public void writer(IIII_Result r) {
            r.r3 = code(s.state());
            if (s.rw.writeLock().tryLock()) {
                x = 2;
                r.r2 = 1; // the instance is garbage afterwards: its writer field needs no unlock
            }
        }

        @Arbiter
        public void arbiter(IIII_Result r) {
            r.r4 = code(s.state());
        }
    }

    @JCStressTest
    @Description("Another party holds a read hold, reads x, y, marks 'done' and releases (T4, CAS release) while"
            + " a writer tries (T5, CAS acquire), and if it gets in writes x, y and unlocks (T8): the writer gets"
            + " in only after the release and then sees the mark; the reader never sees the writer's writes.")
    @Outcome(id = {"0, 0, 0, 0"}, expect = ACCEPTABLE, desc = "writer came before the read release: refused")
    @Outcome(id = {"0, 0, 2, 0"}, expect = ACCEPTABLE, desc = "writer got in after the release, saw the mark")
    @Outcome(expect = FORBIDDEN, desc = "writer got in while the reader held (reader saw its writes) or without"
            + " seeing the reader's mark, or the word not free")
    @State
    public static class ReadUnlockVsWriteTryLock {
        final RwSem s = JcstressAccess.rwSemaphore();
        int x;
        int y;
        int done;

        {
            if (!s.t1TryRead()) {
                throw new IllegalStateException("fresh object not free");
            }
        }

        @Actor
        public void reader(IIII_Result r) {
            r.r1 = x;
            r.r2 = y;
            done = 1;
            s.t4ReleaseRead();
        }

        @Actor
        public void writer(IIII_Result r) {
            if (s.rw.writeLock().tryLock()) {
                r.r3 = 1 + done;
                x = 1;
                y = 1;
                s.rw.writeLock().unlock();
            }
        }

        @Arbiter
        public void arbiter(IIII_Result r) {
            r.r4 = code(s.state());
        }
    }

    @JCStressTest
    @Description("Blocking: another party holds the write lock, writes x, y and releases (T8) while a reader"
            + " lock()s: the reader gets in only after the release, by T1, or queued (T2: registers, futex wait)"
            + " and admitted by T8's hand-off (PHASE toggled); it sees the data, unlocks; the word ends free. A"
            + " lost wake-up or hand-off hangs the test.")
    @Outcome(id = "1, 2, 0, 0", expect = ACCEPTABLE, desc = "reader got in after the release without queueing")
    @Outcome(id = "1, 2, 0, 1", expect = ACCEPTABLE_INTERESTING, desc = "reader queued and was admitted by the"
            + " hand-off")
    @Outcome(expect = FORBIDDEN, desc = "reader missed (part of) the data, or the word not free")
    @State
    public static class ReadLockWaitsForWriteUnlock {
        final RwSem s = JcstressAccess.rwSemaphore();
        int x;
        int y;

        {
            if (!s.t5TryWrite()) {
                throw new IllegalStateException("fresh object not free");
            }
        }

        @Actor
        public void writer() {
            x = 1;
            y = 2;
            s.t8ReleaseWrite();
        }

        @Actor
        public void reader(IIII_Result r) {
            s.rw.readLock().lock();
            r.r1 = x;
            r.r2 = y;
            s.rw.readLock().unlock();
        }

        @Arbiter
        public void arbiter(IIII_Result r) {
            long st = s.state();
            r.r3 = code(st & ~PHASE);
            r.r4 = (st & PHASE) != 0 ? 1 : 0;
        }
    }
}
