package io.shmsync.robust;

import io.shmsync.ProcessInfo;
import io.shmsync.ProcessState;
import io.shmsync.Region;
import io.shmsync.testing.ChildJvm;
import io.shmsync.testing.Seeds;
import io.shmsync.testing.ShmDir;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link Region#processes()} and the reclamation of dead processes' slots: alive and dead processes are
 * listed with their PIDs, a process that closes its region leaves no slot behind, and dead slots are
 * reclaimed exactly once while several processes clean at the same time (iceoryx2 #1578/#1592).
 */
class ProcessTableTest {
    @RegisterExtension
    final ShmDir shm = new ShmDir();

    private ChildJvm attached(String region) {
        ChildJvm c = shm.start(RobustChild.class, "hold", region);
        c.awaitLine("READY");
        c.send("ATTACH");
        c.awaitLine("ATTACHED");
        return c;
    }

    private static Set<Long> pids(Region r, ProcessState state) {
        return r.processes().stream().filter(p -> p.state() == state).map(p -> (long) p.pid())
                .collect(Collectors.toSet());
    }

    @Test
    @Timeout(300)
    void listAliveAndDeadAndReclaimExactlyOnceWithConcurrentCleaners() throws Exception {
        Random rnd = Seeds.random("ProcessTableTest");
        String name = shm.regionName("pt");
        try (Region r = Region.create(name, 256 * 1024)) {
            r.mutex("m");
            long me = ProcessHandle.current().pid();
            List<ChildJvm> alive = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                alive.add(attached(name));
            }
            Set<Long> expected = alive.stream().map(ChildJvm::pid).collect(Collectors.toSet());
            expected.add(me);
            assertEquals(expected, pids(r, ProcessState.ALIVE), r.processes().toString());
            ProcessInfo self = r.processes().stream().filter(ProcessInfo::current).findFirst().orElseThrow();
            assertEquals(me, self.pid());
            assertTrue(self.leaseTid() > 0 && self.startTime() > 0 && self.generation() >= 1, self.toString());

            // A process that closes its region frees its slot: not listed, not dead.
            ChildJvm leaving = alive.removeLast();
            leaving.send("EXIT");
            leaving.assertExit(0);
            assertEquals(Set.of(), pids(r, ProcessState.DEAD));
            assertTrue(!pids(r, ProcessState.ALIVE).contains(leaving.pid()));

            for (int round = 0; round < 4; round++) {
                int victims = 1 + rnd.nextInt(3);
                // All attach first (an attach reclaims dead slots), then all are killed.
                List<ChildJvm> doomed = new ArrayList<>();
                for (int v = 0; v < victims; v++) {
                    doomed.add(attached(name));
                }
                Set<Long> killed = new java.util.HashSet<>();
                for (ChildJvm c : doomed) {
                    killed.add(c.pid());
                    c.close();
                }
                assertEquals(killed, pids(r, ProcessState.DEAD), "round " + round + ": " + r.processes());
                List<ChildJvm> cleaners = new ArrayList<>();
                for (int k = 0; k < 3; k++) {
                    ChildJvm c = shm.start(RobustChild.class, "hold", name);
                    c.awaitLine("READY");
                    cleaners.add(c);
                }
                Collections.shuffle(cleaners, rnd);
                for (ChildJvm c : cleaners) {
                    c.send("RECLAIM");
                }
                int reclaimed = r.reclaimDeadProcesses();
                for (ChildJvm c : cleaners) {
                    reclaimed += Integer.parseInt(c.awaitLine("RECLAIMED ").substring("RECLAIMED ".length()));
                }
                assertEquals(victims, reclaimed, "round " + round + ": each dead slot reclaimed exactly once");
                assertEquals(Set.of(), pids(r, ProcessState.DEAD));
                for (ChildJvm c : cleaners) {
                    c.send("EXIT");
                    c.assertExit(0);
                }
            }
            Set<Long> still = alive.stream().map(ChildJvm::pid).collect(Collectors.toSet());
            still.add(me);
            assertEquals(still, pids(r, ProcessState.ALIVE), r.processes().toString());
        }
    }
}
