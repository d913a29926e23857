package io.shmsync.robust;

import io.shmsync.Mutex;
import io.shmsync.OwnerDiedException;
import io.shmsync.Region;
import io.shmsync.testing.Child;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Child JVM for the robust-mutex tests. Scenarios (first argument):
 * <ul>
 *   <li>{@code hammer REGION DATAFILE INDEX THREADS SEED}: THREADS threads lock the mutex "m" around a
 *       non-atomic update of {@link Data} for ever (until {@code STOP} or a kill), checking mutual exclusion
 *       and recovering owner deaths.</li>
 *   <li>{@code recreate REGION}: on LOCK locks "m"; on CLOSE closes the region holding it; on REOPEN opens
 *       the region by name again (by then another file) and attaches to it without locking anything; then
 *       waits to be killed. For the unlink-and-re-create test.</li>
 *   <li>{@code hold REGION}: obeys commands LOCK, TRYLOCK, UNLOCK, CONSISTENT, RECLAIM, PROCESSES, EXIT and
 *       prints one result line for each; a pause point ({@code -Dio.shmsync.test.pauseAt}) stops it inside.</li>
 * </ul>
 */
public final class RobustChild {
    private RobustChild() {
    }

    /**
     * The data the mutex "m" protects in the hammer tests, in a plain file mapped by every process.
     * Invariant (holds whenever the mutex is free and consistent): {@code total == sum(count[i])} and
     * {@code inside == 0}.
     */
    static final class Data {
        static final long SIZE = 8192;
        static final long TOTAL = 0;          // long
        static final long INSIDE = 8;         // int: pid of the thread's process inside the critical section, 0 outside
        static final long VIOLATIONS = 16;    // long: acquisitions that found INSIDE != 0 without OwnerDiedException
        static final long REPORTS = 24;       // int: number of owner deaths reported
        static final long STALE_REPORTS = 28; // int: OwnerDiedException while INSIDE == 0 (death at an edge step)
        static final long REPAIRS = 32;       // long: reports where total != sum(count)
        static final long COUNT = 64;         // long[64]: increments completed per child index
        static final long DEAD = 1024;        // int[]: pid found in INSIDE by each report
        static final int MAX_DEAD = 1500;
        static final int CHILDREN = 64;

        final MemorySegment s;

        Data(MemorySegment s) {
            this.s = s;
        }

        static Data map(Path file, Arena arena) throws Exception {
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                return new Data(ch.map(FileChannel.MapMode.READ_WRITE, 0, SIZE, arena));
            }
        }

        long sum() {
            long sum = 0;
            for (int i = 0; i < CHILDREN; i++) {
                sum += s.get(ValueLayout.JAVA_LONG, COUNT + 8L * i);
            }
            return sum;
        }

        /**
         * The critical section's entry check and, after an owner death, the repair. Call with the mutex held.
         */
        void enter(boolean ownerDied, int pid) {
            int inside = s.get(ValueLayout.JAVA_INT, INSIDE);
            if (ownerDied) {
                int r = s.get(ValueLayout.JAVA_INT, REPORTS);
                s.set(ValueLayout.JAVA_INT, REPORTS, r + 1);
                if (inside == 0) {
                    s.set(ValueLayout.JAVA_INT, STALE_REPORTS, s.get(ValueLayout.JAVA_INT, STALE_REPORTS) + 1);
                } else if (r < MAX_DEAD) {
                    s.set(ValueLayout.JAVA_INT, DEAD + 4L * r, inside);
                }
                long sum = sum();
                if (s.get(ValueLayout.JAVA_LONG, TOTAL) != sum) {
                    s.set(ValueLayout.JAVA_LONG, REPAIRS, s.get(ValueLayout.JAVA_LONG, REPAIRS) + 1);
                    s.set(ValueLayout.JAVA_LONG, TOTAL, sum);
                }
            } else if (inside != 0) {
                s.set(ValueLayout.JAVA_LONG, VIOLATIONS, s.get(ValueLayout.JAVA_LONG, VIOLATIONS) + 1);
            }
            s.set(ValueLayout.JAVA_INT, INSIDE, pid);
        }

        void update(int index, Random rnd) {
            s.set(ValueLayout.JAVA_LONG, TOTAL, s.get(ValueLayout.JAVA_LONG, TOTAL) + 1);
            if (rnd.nextInt(64) == 0) {
                Thread.yield(); // widen the window between the two halves of the update
            }
            s.set(ValueLayout.JAVA_LONG, COUNT + 8L * index, s.get(ValueLayout.JAVA_LONG, COUNT + 8L * index) + 1);
        }

        void leave() {
            s.set(ValueLayout.JAVA_INT, INSIDE, 0);
        }
    }

    public static void main(String[] args) {
        Child.run(args, a -> {
            switch (a[0]) {
                case "hammer" -> hammer(a);
                case "hold" -> hold(a);
                case "recreate" -> recreate(a);
                case "undo" -> undo(a);
                case "undohammer" -> undoHammer(a);
                default -> throw new IllegalArgumentException(a[0]);
            }
        });
    }

    /** Locks "m" with recovery; returns whether the owner had died. */
    static boolean lockRecovering(Mutex m) {
        try {
            m.lock();
            return false;
        } catch (OwnerDiedException e) {
            return true;
        }
    }

    static void hammer(String[] a) throws Exception {
        String region = a[1];
        Path dataFile = Path.of(a[2]);
        int index = Integer.parseInt(a[3]);
        int threads = Integer.parseInt(a[4]);
        long seed = Long.parseLong(a[5]);
        int pid = (int) ProcessHandle.current().pid();
        AtomicBoolean stop = new AtomicBoolean();
        long[] done = new long[threads];
        try (Region r = Region.open(region); Arena arena = Arena.ofShared()) {
            Data data = Data.map(dataFile, arena);
            Mutex m = r.mutex("m");
            List<Thread> ts = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int ti = t;
                Random rnd = new Random(seed * 31 + t);
                Thread.Builder b = t % 2 == 0 ? Thread.ofPlatform() : Thread.ofVirtual();
                ts.add(b.unstarted(() -> {
                    while (!stop.get()) {
                        boolean died = lockRecovering(m);
                        try {
                            data.enter(died, pid);
                            if (died) {
                                m.markConsistent();
                            }
                            data.update(index, rnd);
                            data.leave();
                        } finally {
                            m.unlock();
                        }
                        done[ti]++;
                        if (rnd.nextInt(16) == 0) {
                            Thread.yield();
                        }
                    }
                }));
            }
            Child.say("READY");
            Child.expect("GO");
            ts.forEach(Thread::start);
            Child.expect("STOP");
            stop.set(true);
            for (Thread t : ts) {
                t.join();
            }
            long total = 0;
            for (long d : done) {
                total += d;
            }
            Child.say("RESULT done=" + total);
        }
    }

    /** {@code undo REGION}: commands "ACQUIRE n", "RELEASE n", "ADJ", "EXIT" on the undo semaphore "u". */
    static void undo(String[] a) throws Exception {
        try (Region r = Region.open(a[1])) {
            io.shmsync.UndoSemaphore u = r.undoSemaphore("u", 0);
            Child.say("READY pid=" + ProcessHandle.current().pid());
            for (;;) {
                String[] c = Child.command().split(" ");
                switch (c[0]) {
                    case "ACQUIRE" -> {
                        for (int i = 0; i < Integer.parseInt(c[1]); i++) {
                            u.acquire();
                        }
                        Child.say("ADJ " + u.adjustment());
                    }
                    case "RELEASE" -> {
                        for (int i = 0; i < Integer.parseInt(c[1]); i++) {
                            u.release();
                        }
                        Child.say("ADJ " + u.adjustment());
                    }
                    case "ADJ" -> Child.say("ADJ " + u.adjustment());
                    case "EXIT" -> {
                        return;
                    }
                    default -> throw new IllegalArgumentException(c[0]);
                }
            }
        }
    }

    /** {@code undohammer REGION THREADS SEED}: threads acquire, hold briefly and release "u" for ever. */
    static void undoHammer(String[] a) throws Exception {
        int threads = Integer.parseInt(a[2]);
        long seed = Long.parseLong(a[3]);
        try (Region r = Region.open(a[1])) {
            io.shmsync.UndoSemaphore u = r.undoSemaphore("u", 0);
            AtomicBoolean stop = new AtomicBoolean();
            List<Thread> ts = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                Random rnd = new Random(seed * 31 + t);
                ts.add(Thread.ofPlatform().start(() -> {
                    try {
                        while (!stop.get()) {
                            if (!u.tryAcquire(50, TimeUnit.MILLISECONDS)) {
                                continue;
                            }
                            if (rnd.nextInt(8) == 0) {
                                Thread.yield();
                            }
                            u.release();
                        }
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }));
            }
            Child.say("READY");
            Child.expect("STOP");
            stop.set(true);
            for (Thread t : ts) {
                t.join();
            }
            Child.say("RESULT adjustment=" + u.adjustment());
        }
    }

    static void recreate(String[] a) throws Exception {
        Region r = Region.open(a[1]);
        Mutex m = r.mutex("m");
        Child.say("READY pid=" + ProcessHandle.current().pid());
        Child.expect("LOCK");
        m.lock();
        Child.say("LOCKED");
        Child.expect("CLOSE");
        r.close();
        Child.say("CLOSED");
        Child.expect("REOPEN");
        Region again = Region.open(a[1]);
        again.mutex("m");
        Child.say("REOPENED");
        Child.expect("EXIT");
        again.close();
    }

    static void hold(String[] a) throws Exception {
        try (Region r = Region.open(a[1])) {
            java.util.Map<String, Mutex> mutexes = new java.util.HashMap<>();
            Child.say("READY pid=" + ProcessHandle.current().pid());
            for (;;) {
                String line = Child.command();
                String c = line.contains(" ") ? line.substring(0, line.indexOf(' ')) : line;
                String mutexName = line.contains(" ") ? line.substring(line.indexOf(' ') + 1) : "m";
                try {
                    Mutex m = null;
                    if (!c.equals("RECLAIM") && !c.equals("PROCESSES") && !c.equals("EXIT")) {
                        m = mutexes.computeIfAbsent(mutexName, r::mutex);
                    }
                    switch (c) {
                        case "ATTACH" -> Child.say("ATTACHED");
                        case "LOCK" -> Child.say("LOCKED ownerDied=" + lockRecovering(m));
                        case "VLOCK" -> {
                            // On a virtual thread: it waits through the wait multiplexer (lease word included),
                            // then locks and unlocks again, recovering an owner death.
                            Mutex vm = m;
                            Thread.ofVirtual().start(() -> {
                                try {
                                    boolean died = lockRecovering(vm);
                                    if (died) {
                                        vm.markConsistent();
                                    }
                                    vm.unlock();
                                    Child.say("VLOCKED ownerDied=" + died);
                                } catch (RuntimeException e) {
                                    Child.say("EXCEPTION " + e);
                                }
                            });
                        }
                        case "LOCK1S" -> {
                            try {
                                m.lock(1, TimeUnit.SECONDS);
                                Child.say("LOCKED ownerDied=false");
                            } catch (OwnerDiedException e) {
                                Child.say("LOCKED ownerDied=true kernel=" + e.markedByKernel());
                            }
                        }
                        case "TRYLOCK" -> Child.say("TRYLOCK " + m.tryLock());
                        case "UNLOCK" -> {
                            m.unlock();
                            Child.say("UNLOCKED");
                        }
                        case "CONSISTENT" -> {
                            m.markConsistent();
                            Child.say("CONSISTENT");
                        }
                        case "RECLAIM" -> Child.say("RECLAIMED " + r.reclaimDeadProcesses());
                        case "PROCESSES" -> Child.say("PROCESSES " + r.processes());
                        case "EXIT" -> {
                            return;
                        }
                        default -> throw new IllegalArgumentException(c);
                    }
                } catch (RuntimeException e) {
                    Child.say("EXCEPTION " + e);
                }
            }
        }
    }
}
