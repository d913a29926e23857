package io.shmsync.internal.robust;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link DeadProcess#mayRunUserCode}, the check behind the owner-died report's wait (PROTOCOL §6.4 "Owner
 * death"), on real processes: sleeping and stopped ones may still run user code, a zombie, a gone process and a
 * PID with another start time may not.
 */
class DeadProcessTest {
    @Test
    @Timeout(120)
    void sleepingStoppedZombieAndGoneProcesses() throws Exception {
        // The shell execs into `sleep 60` without reaping its background child, which becomes a zombie.
        Process p = new ProcessBuilder("sh", "-c", "sleep 0.05 & exec sleep 60").start();
        try {
            int pid = (int) p.pid();
            long start = ProcessTable.startTime(Integer.toString(pid));
            assertTrue(start > 0);
            assertTrue(DeadProcess.mayRunUserCode(pid, start), "a sleeping process without SIGKILL pending");
            assertFalse(DeadProcess.mayRunUserCode(pid, start + 1), "another start time: the PID was reused");

            int zombie = awaitZombieChild(pid);
            long zstart = ProcessTable.startTime(Integer.toString(zombie));
            assertFalse(DeadProcess.mayRunUserCode(zombie, zstart), "a zombie runs nothing");

            Runtime.getRuntime().exec(new String[] {"kill", "-STOP", Integer.toString(pid)}).waitFor();
            awaitState(pid, 'T');
            assertTrue(DeadProcess.mayRunUserCode(pid, start), "stopped without SIGKILL: SIGCONT would resume it");

            p.destroyForcibly();
            assertTrue(p.waitFor(30, TimeUnit.SECONDS));
            assertFalse(DeadProcess.mayRunUserCode(pid, start), "gone");
        } finally {
            p.destroyForcibly();
        }
    }

    private static int awaitZombieChild(int pid) throws Exception {
        Path children = Path.of("/proc", Integer.toString(pid), "task", Integer.toString(pid), "children");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        for (;;) {
            String c = Files.readString(children).trim();
            if (!c.isEmpty()) {
                int z = Integer.parseInt(c.split(" ")[0]);
                if (state(z) == 'Z') {
                    return z;
                }
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("no zombie child of " + pid);
            }
            Thread.sleep(5);
        }
    }

    private static void awaitState(int pid, char state) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (state(pid) != state) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("process " + pid + " not in state " + state);
            }
            Thread.sleep(5);
        }
    }

    private static char state(int pid) throws Exception {
        String stat = Files.readString(Path.of("/proc", Integer.toString(pid), "stat"));
        return stat.charAt(stat.lastIndexOf(')') + 2);
    }
}
