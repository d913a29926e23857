package io.shmsync.robust;

import io.shmsync.Mutex;
import io.shmsync.Region;
import io.shmsync.testing.ChildJvm;
import io.shmsync.testing.ShmDir;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A JMH-free measurement, in one run, of an uncontended {@code Mutex.lock()+unlock()} (robust-list
 * bookkeeping included) and of glibc's robust, process-shared, error-checking
 * {@code pthread_mutex_lock+unlock} in C (robust_peer bench), printed for the record; and the check that the
 * Java pair allocates nothing. Times are reported, not asserted (a shared 2-vCPU machine is too noisy for a
 * hard bound); allocation is asserted.
 */
class MutexCostTest {
    static final int OPS = 2_000_000;

    @RegisterExtension
    final ShmDir shm = new ShmDir();

    static long lockUnlock(Mutex m, int n) {
        for (int i = 0; i < n; i++) {
            m.lock();
            m.unlock();
        }
        return n;
    }

    private static long allocatedBytes(Object bean, Method m) throws Exception {
        return (Long) m.invoke(bean);
    }

    @Test
    @Timeout(300)
    void uncontendedLockUnlockVersusGlibc() throws Exception {
        Object bean = Class.forName("java.lang.management.ManagementFactory").getMethod("getThreadMXBean").invoke(null);
        Class<?> sunBean = Class.forName("com.sun.management.ThreadMXBean");
        Assumptions.assumeTrue(sunBean.isInstance(bean), "no com.sun.management.ThreadMXBean");
        Method allocated = sunBean.getMethod("getCurrentThreadAllocatedBytes");
        Method cpu = sunBean.getMethod("getCurrentThreadCpuTime");
        try (Region r = Region.create(shm.regionName("cost"), 64 * 1024)) {
            Mutex m = r.mutex("m");
            for (int warm = 0; warm < 10; warm++) {
                lockUnlock(m, OPS);
            }
            List<Double> java = new ArrayList<>();
            List<Double> javaCpu = new ArrayList<>();
            long minBytes = Long.MAX_VALUE;
            for (int round = 0; round < 7; round++) {
                long b0 = allocatedBytes(bean, allocated);
                long c0 = (Long) cpu.invoke(bean);
                long t0 = System.nanoTime();
                lockUnlock(m, OPS);
                long t1 = System.nanoTime();
                long c1 = (Long) cpu.invoke(bean);
                long b1 = allocatedBytes(bean, allocated);
                java.add((t1 - t0) / (double) OPS);
                javaCpu.add((c1 - c0) / (double) OPS);
                minBytes = Math.min(minBytes, b1 - b0);
            }
            ChildJvm c = shm.closeLater(ChildJvm.startProgram("robust_peer-bench",
                    List.of(CPeer.binary().toString(), "bench", Integer.toString(OPS * 5), "7")));
            List<Double> glibc = new ArrayList<>();
            List<Double> glibcCpu = new ArrayList<>();
            Pattern p = Pattern.compile("BENCH ns=([0-9.]+) cpu=([0-9.]+)");
            for (int round = 0; round < 7; round++) {
                Matcher mm = c.awaitMatch(p);
                glibc.add(Double.parseDouble(mm.group(1)));
                glibcCpu.add(Double.parseDouble(mm.group(2)));
            }
            c.assertExit(0);
            // Thread CPU time is what a shared machine disturbs least (other work preempts, it does not add).
            System.out.printf("MutexCostTest: uncontended lock+unlock, median of 7 rounds (min) — thread CPU time: "
                            + "shmsync Mutex %.1f ns (%.1f), glibc robust pshared errorcheck pthread_mutex %.1f ns "
                            + "(%.1f), ratio %.2f; wall time: %.1f ns (%.1f) vs %.1f ns (%.1f), ratio %.2f; allocated "
                            + "%d bytes per %d pairs%n", median(javaCpu), min(javaCpu), median(glibcCpu), min(glibcCpu),
                    median(javaCpu) / median(glibcCpu), median(java), min(java), median(glibc), min(glibc),
                    median(java) / median(glibc), minBytes, OPS);
            assertTrue(minBytes < 64 * 1024, minBytes + " bytes allocated by " + OPS + " lock+unlock pairs");
        }
    }

    private static double median(List<Double> v) {
        List<Double> s = new ArrayList<>(v);
        s.sort(null);
        return s.get(s.size() / 2);
    }

    private static double min(List<Double> v) {
        return v.stream().mapToDouble(Double::doubleValue).min().orElseThrow();
    }
}
