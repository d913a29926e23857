package io.shmsync.internal.robust;

import java.util.concurrent.locks.LockSupport;

/**
 * Test-only pause points at the named steps of the robust protocol (docs/PROTOCOL.md §6.4). With
 * {@code -Dio.shmsync.test.pauseAt=STEP} (optionally {@code STEP@N}: the N-th time, default 1st) the
 * thread that reaches the step prints {@code SHMSYNC-PAUSED STEP tid=<lease TID>} and parks for ever, so
 * that a test can kill the process exactly there. Without the property the check is a read of a
 * {@code static final} null, which the JIT folds away.
 */
public final class TestHooks {
    private TestHooks() {
    }

    /** Step names, in protocol order. */
    public static final String LOCK_PENDING = "lock:pending-set";
    public static final String LOCK_CAS = "lock:after-cas";
    public static final String LOCK_CAS_UNLISTED = "lock:after-cas-unlisted";
    public static final String LOCK_LINKED = "lock:linked";
    /** A blocked lock call's futex wait returned (woken, spuriously, by a value change, or timed out). */
    public static final String LOCK_WOKEN = "lock:woken";
    public static final String UNLOCK_PENDING = "unlock:pending-set";
    public static final String UNLOCK_DEQUEUED = "unlock:dequeued";
    public static final String UNLOCK_RELEASED = "unlock:released";
    public static final String ATTACH_CAS = "attach:after-cas";
    public static final String ATTACH_CAS_UNLISTED = "attach:after-cas-unlisted";
    public static final String CLEAN_CLAIMED = "clean:claimed";

    private static final String STEP;
    private static final int NTH;
    private static final java.util.concurrent.atomic.AtomicInteger COUNT = new java.util.concurrent.atomic.AtomicInteger();

    static {
        String p = System.getProperty("io.shmsync.test.pauseAt");
        if (p != null && p.contains("@")) {
            STEP = p.substring(0, p.indexOf('@'));
            NTH = Integer.parseInt(p.substring(p.indexOf('@') + 1));
        } else {
            STEP = p;
            NTH = 1;
        }
    }

    /** Whether any pause point is armed: {@code if (TestHooks.ARMED)} costs nothing when it is not. */
    public static final boolean ARMED = STEP != null;

    /** Pauses for ever if {@code step} is the armed step (and this is its N-th occurrence). */
    public static void at(String step, int leaseTid) {
        at(step, leaseTid, null);
    }

    /** As {@link #at(String, int)}, running {@code beforePause} first when it pauses. */
    public static void at(String step, int leaseTid, Runnable beforePause) {
        if (STEP != null && STEP.equals(step) && COUNT.incrementAndGet() == NTH) {
            if (beforePause != null) {
                beforePause.run();
            }
            synchronized (System.out) {
                System.out.println("SHMSYNC-PAUSED " + step + " tid=" + leaseTid);
                System.out.flush();
            }
            for (;;) {
                LockSupport.park();
                Thread.interrupted();
            }
        }
    }
}
