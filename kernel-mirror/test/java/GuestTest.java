// SPDX-License-Identifier: Apache-2.0
import io.shmsync.Mutex;
import io.shmsync.OwnerDiedException;
import io.shmsync.Region;
import io.shmsync.RegionEntry;
import io.shmsync.RwSemaphore;
import io.shmsync.Semaphore;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The JVM side of the kernel-mirror VM scenarios (kernel-mirror/test/scenarios.sh), through the public
 * API only. Every wait has a timeout, so a lost wake-up fails the run instead of hanging it.
 *
 * <pre>
 * setup REGION SIZE SEM...                    create the region and semaphores (value 0; NAME=N for N)
 * ping REGION SEND RECV ROUNDS WARMUP         release SEND, acquire RECV; prints RESULT with the RTT
 * echo REGION RECV SEND ROUNDS                acquire RECV, release SEND
 * rtt REGION KSEND KRECV JSEND JRECV RUNS ROUNDS WARMUP
 *                                             alternating runs against a kthread echo (K*) and a JVM
 *                                             echo (J*); prints each run, the medians and the spreads
 * mutex REGION SEM COUNTER ITERS THREADS      plain increments of COUNTER's first word under SEM
 * hammer REGION SEM FLAGFILE AFTER            2 threads acquire/release SEM until FLAGFILE exists, then
 *                                             AFTER more cycles each; prints DONE with the counts
 * kattach REGION                              prints KATTACH kernel_attach=N (Region#kernelAttachments)
 * unlink REGION                               Region.unlink: prints UNLINK deleted=true|false, or
 *                                             UNLINK refused: MESSAGE (a FileSystemException)
 * mkmutex REGION NAME...                      create robust mutexes
 * remove REGION NAME...                       Region.remove; prints REMOVED NAME true|false
 * lockmutex REGION MUTEX COUNTER ITERS THREADS  plain increments of COUNTER's first word under the
 *                                             robust MUTEX (Mutex.lock/unlock); owner deaths are counted
 * ownerdied REGION MUTEX                      prints READY and the holder, then lock(120 s): prints
 *                                             OWNERDIED kernel=... and recovers, or NOOWNERDIED
 * </pre>
 */
public final class GuestTest {
    private static final long TIMEOUT_S = 120;

    public static void main(String[] a) throws Exception {
        switch (a[0]) {
            case "setup" -> setup(a);
            case "ping" -> {
                try (Region r = Region.open(a[1])) {
                    long[] t = ping(r.semaphore(a[2]), r.semaphore(a[3]), Integer.parseInt(a[4]),
                            Integer.parseInt(a[5]));
                    System.out.println("RESULT rounds=" + t.length + " p50_ns=" + t[t.length / 2]
                            + " p90_ns=" + t[t.length * 9 / 10] + " max_ns=" + t[t.length - 1]);
                }
            }
            case "echo" -> {
                try (Region r = Region.open(a[1])) {
                    int n = echo(r.semaphore(a[2]), r.semaphore(a[3]), Integer.parseInt(a[4]));
                    System.out.println("DONE rounds=" + n);
                }
            }
            case "rtt" -> rtt(a);
            case "mutex" -> mutex(a);
            case "hammer" -> hammer(a);
            case "kattach" -> {
                try (Region r = Region.open(a[1])) {
                    System.out.println("KATTACH kernel_attach=" + Integer.toUnsignedString(r.kernelAttachments()));
                }
            }
            case "unlink" -> {
                try {
                    System.out.println("UNLINK deleted=" + Region.unlink(a[1]));
                } catch (java.nio.file.FileSystemException e) {
                    System.out.println("UNLINK refused: " + e.getMessage());
                }
            }
            case "mkmutex" -> {
                try (Region r = Region.open(a[1])) {
                    for (int i = 2; i < a.length; i++) {
                        r.mutex(a[i]);
                    }
                    System.out.println("OK");
                }
            }
            case "remove" -> {
                try (Region r = Region.open(a[1])) {
                    for (int i = 2; i < a.length; i++) {
                        System.out.println("REMOVED " + a[i] + " " + r.remove(a[i]));
                    }
                }
            }
            case "mkrwsem" -> {
                try (Region r = Region.open(a[1])) {
                    for (int i = 2; i < a.length; i++) {
                        r.rwSemaphore(a[i]);
                    }
                    System.out.println("OK");
                }
            }
            case "rwsem" -> rwsem(a);
            case "lockmutex" -> lockMutex(a);
            case "ownerdied" -> ownerDied(a);
            default -> throw new IllegalArgumentException(a[0]);
        }
    }

    static void setup(String[] a) throws Exception {
        try (Region r = Region.openOrCreate(a[1], Long.parseLong(a[2]))) {
            for (int i = 3; i < a.length; i++) {
                String[] nv = a[i].split("=");
                r.semaphore(nv[0], nv.length > 1 ? Integer.parseInt(nv[1]) : 0);
            }
            System.out.println("OK " + r.file() + " " + r.entries().size() + " objects");
        }
    }

    static void acquire(Semaphore s) throws InterruptedException {
        if (!s.tryAcquire(TIMEOUT_S, TimeUnit.SECONDS)) {
            throw new IllegalStateException("no token within " + TIMEOUT_S + " s on " + s);
        }
    }

    static long[] ping(Semaphore send, Semaphore recv, int rounds, int warmup) throws Exception {
        for (int i = 0; i < warmup; i++) {
            send.release();
            acquire(recv);
        }
        long[] t = new long[rounds];
        for (int i = 0; i < rounds; i++) {
            long t0 = System.nanoTime();
            send.release();
            acquire(recv);
            t[i] = System.nanoTime() - t0;
        }
        Arrays.sort(t);
        return t;
    }

    static int echo(Semaphore recv, Semaphore send, int rounds) throws Exception {
        System.out.println("READY");
        for (int i = 0; i < rounds; i++) {
            acquire(recv);
            send.release();
        }
        return rounds;
    }

    static void rtt(String[] a) throws Exception {
        int runs = Integer.parseInt(a[6]), rounds = Integer.parseInt(a[7]), warmup = Integer.parseInt(a[8]);
        try (Region r = Region.open(a[1])) {
            Semaphore ks = r.semaphore(a[2]), kr = r.semaphore(a[3]);
            Semaphore js = r.semaphore(a[4]), jr = r.semaphore(a[5]);
            List<Long> k = new ArrayList<>(), j = new ArrayList<>();
            for (int i = 0; i < runs; i++) {
                long kp50 = ping(ks, kr, rounds, warmup)[rounds / 2];
                long jp50 = ping(js, jr, rounds, warmup)[rounds / 2];
                k.add(kp50);
                j.add(jp50);
                System.out.println("RTT run=" + i + " jvm_kthread_p50_ns=" + kp50 + " jvm_jvm_p50_ns=" + jp50);
            }
            System.out.println("RTT-SUMMARY runs=" + runs + " rounds=" + rounds + " jvm_kthread " + stats(k)
                    + " jvm_jvm " + stats(j));
        }
    }

    static String stats(List<Long> v) {
        long[] s = v.stream().mapToLong(Long::longValue).sorted().toArray();
        return "median_us=" + s[s.length / 2] / 1000.0 + " min_us=" + s[0] / 1000.0 + " max_us="
                + s[s.length - 1] / 1000.0;
    }

    static MemorySegment mapObject(Region r, String name, Arena arena) throws Exception {
        RegionEntry e = r.entries().stream().filter(x -> x.name().equals(name)).findFirst().orElseThrow();
        try (FileChannel ch = FileChannel.open(r.file(), StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            return ch.map(FileChannel.MapMode.READ_WRITE, 0, r.size(), arena).asSlice(e.offset(), e.size());
        }
    }

    static void mutex(String[] a) throws Exception {
        int iters = Integer.parseInt(a[4]), threads = Integer.parseInt(a[5]);
        try (Region r = Region.open(a[1]); Arena arena = Arena.ofShared()) {
            Semaphore m = r.semaphore(a[2]);
            MemorySegment counter = mapObject(r, a[3], arena);
            System.out.println("READY");
            Thread[] ts = new Thread[threads];
            Throwable[] err = new Throwable[1];
            for (int t = 0; t < threads; t++) {
                ts[t] = new Thread(() -> {
                    try {
                        for (int i = 0; i < iters; i++) {
                            acquire(m);
                            long c = counter.get(ValueLayout.JAVA_LONG, 0);   // plain: the semaphore is the lock
                            counter.set(ValueLayout.JAVA_LONG, 0, c + 1);
                            m.release();
                        }
                    } catch (Throwable x) {
                        err[0] = x;
                    }
                });
                ts[t].start();
            }
            for (Thread t : ts) {
                t.join();
            }
            if (err[0] != null) {
                throw new RuntimeException(err[0]);
            }
            System.out.println("DONE iterations=" + (long) iters * threads);
        }
    }

    static void hammer(String[] a) throws Exception {
        Path flag = Path.of(a[3]);
        int after = Integer.parseInt(a[4]);
        try (Region r = Region.open(a[1])) {
            Semaphore m = r.semaphore(a[2]);
            long[] before = new long[2], done = new long[2];
            Throwable[] err = new Throwable[1];
            Thread[] ts = new Thread[2];
            System.out.println("READY");
            for (int t = 0; t < 2; t++) {
                int id = t;
                ts[t] = new Thread(() -> {
                    try {
                        while (!Files.exists(flag)) {
                            acquire(m);
                            m.release();
                            before[id]++;
                        }
                        for (int i = 0; i < after; i++) {
                            acquire(m);
                            m.release();
                            done[id]++;
                        }
                    } catch (Throwable x) {
                        err[0] = x;
                    }
                });
                ts[t].start();
            }
            for (Thread t : ts) {
                t.join();
            }
            if (err[0] != null) {
                throw new RuntimeException(err[0]);
            }
            System.out.println("DONE before=" + (before[0] + before[1]) + " after=" + (done[0] + done[1])
                    + " permits=" + m.availablePermits());
        }
    }

    static void lockMutex(String[] a) throws Exception {
        int iters = Integer.parseInt(a[4]), threads = Integer.parseInt(a[5]);
        try (Region r = Region.open(a[1]); Arena arena = Arena.ofShared()) {
            Mutex m = r.mutex(a[2]);
            MemorySegment counter = mapObject(r, a[3], arena);
            System.out.println("READY");
            Thread[] ts = new Thread[threads];
            Throwable[] err = new Throwable[1];
            long[] died = new long[1];
            for (int t = 0; t < threads; t++) {
                ts[t] = new Thread(() -> {
                    try {
                        for (int i = 0; i < iters; i++) {
                            if (!m.tryLock(TIMEOUT_S, TimeUnit.SECONDS)) {
                                throw new IllegalStateException("not locked within " + TIMEOUT_S + " s: " + m);
                            }
                            try {
                                long c = counter.get(ValueLayout.JAVA_LONG, 0);   // plain: the mutex is the lock
                                counter.set(ValueLayout.JAVA_LONG, 0, c + 1);
                            } finally {
                                m.unlock();
                            }
                        }
                    } catch (OwnerDiedException e) {
                        synchronized (died) {
                            died[0]++;
                        }
                        err[0] = e;
                    } catch (Throwable x) {
                        err[0] = x;
                    }
                });
                ts[t].start();
            }
            for (Thread t : ts) {
                t.join();
            }
            if (err[0] != null) {
                throw new RuntimeException(err[0]);
            }
            System.out.println("DONE iterations=" + (long) iters * threads);
        }
    }

    /**
     * rwsem R RW COUNTERS ITERS READERS WRITERS: on the read-write semaphore RW, WRITERS threads increment
     * COUNTERS.a then COUNTERS.b under the write lock, READERS threads check a == b under a read hold,
     * ITERS times each (bounded waits: a lock not taken within TIMEOUT_S fails). Prints reads, writes, torn.
     */
    static void rwsem(String[] a) throws Exception {
        int iters = Integer.parseInt(a[4]), readers = Integer.parseInt(a[5]), writers = Integer.parseInt(a[6]);
        try (Region r = Region.open(a[1]); Arena arena = Arena.ofShared()) {
            RwSemaphore rw = r.rwSemaphore(a[2]);
            MemorySegment ca = mapObject(r, a[3] + ".a", arena), cb = mapObject(r, a[3] + ".b", arena);
            System.out.println("READY " + rw);
            Thread[] ts = new Thread[readers + writers];
            Throwable[] err = new Throwable[1];
            java.util.concurrent.atomic.AtomicLong reads = new java.util.concurrent.atomic.AtomicLong(),
                    writes = new java.util.concurrent.atomic.AtomicLong(),
                    torn = new java.util.concurrent.atomic.AtomicLong();
            for (int t = 0; t < ts.length; t++) {
                boolean writer = t < writers;
                ts[t] = new Thread(() -> {
                    try {
                        java.util.concurrent.locks.Lock l = writer ? rw.writeLock() : rw.readLock();
                        for (int i = 0; i < iters; i++) {
                            if (!l.tryLock(TIMEOUT_S, TimeUnit.SECONDS)) {
                                throw new IllegalStateException((writer ? "write" : "read")
                                        + " lock not taken within " + TIMEOUT_S + " s: " + rw);
                            }
                            try {
                                if (writer) {   // plain: the rwsem is the lock
                                    ca.set(ValueLayout.JAVA_LONG, 0, ca.get(ValueLayout.JAVA_LONG, 0) + 1);
                                    Thread.yield();
                                    cb.set(ValueLayout.JAVA_LONG, 0, cb.get(ValueLayout.JAVA_LONG, 0) + 1);
                                    writes.incrementAndGet();
                                } else {
                                    if (ca.get(ValueLayout.JAVA_LONG, 0) != cb.get(ValueLayout.JAVA_LONG, 0)) {
                                        torn.incrementAndGet();
                                    }
                                    reads.incrementAndGet();
                                }
                            } finally {
                                l.unlock();
                            }
                        }
                    } catch (Throwable x) {
                        err[0] = x;
                    }
                });
                ts[t].start();
            }
            for (Thread t : ts) {
                t.join();
            }
            System.out.println("DONE reads=" + reads + " writes=" + writes + " torn=" + torn + " " + rw);
            if (err[0] != null) {
                throw new RuntimeException(err[0]);
            }
        }
    }

    static void ownerDied(String[] a) throws Exception {
        try (Region r = Region.open(a[1])) {
            Mutex m = r.mutex(a[2]);
            int tid = m.holderTid();
            System.out.println("READY holder_tid=0x" + Integer.toHexString(tid) + " " + m);
            try {
                if (!m.tryLock(TIMEOUT_S, TimeUnit.SECONDS)) {
                    System.out.println("TIMEOUT " + m);
                    return;
                }
                System.out.println("NOOWNERDIED " + m);
                m.unlock();
            } catch (OwnerDiedException e) {
                boolean held = m.isHeldByCurrentThread();
                m.markConsistent();
                m.unlock();
                System.out.println("OWNERDIED held=" + held + " consistent_after=" + m.isConsistent() + " "
                        + e.getMessage());
            }
        }
    }
}
