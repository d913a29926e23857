package io.shmsync;

import io.shmsync.internal.region.RegionLayout;
import io.shmsync.testing.Child;
import io.shmsync.testing.ChildJvm;
import io.shmsync.testing.ShmDir;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * 8 processes race {@code Region.openOrCreate} of the same region and {@code semaphore("x", 3)} on it,
 * for several rounds: all succeed, there is exactly one region file and one directory entry, all see the
 * same generation and offset, and the initial permits were applied exactly once (the processes drain the
 * semaphore between them and get 3 permits in total). Each round also races
 * {@code PosixSemaphore.openOrCreate} of one name, with the same expectations.
 */
class CreationRaceTest {
    static final int PROCESSES = 8;
    static final int ROUNDS = 12;
    static final int PERMITS = 3;

    @RegisterExtension
    final ShmDir shm = new ShmDir();

    @Test
    @Timeout(180)
    void racingCreatorsAgree() throws Exception {
        List<ChildJvm> children = new ArrayList<>();
        for (int p = 0; p < PROCESSES; p++) {
            children.add(shm.start(shm.child(Racer.class).name("racer-" + p).args(p)));
        }
        Set<Long> pids = new HashSet<>();
        for (ChildJvm c : children) {
            c.awaitLine("READY");
            pids.add(c.pid());
        }
        Pattern result = Pattern.compile(
                "RESULT round=(\\d+) got=(\\d+) generation=(\\d+) offset=(\\d+) size=(\\d+) entries=(\\d+) posix=(\\d+)");
        List<String> expectedRegions = new ArrayList<>();
        for (int round = 0; round < ROUNDS; round++) {
            String sem = shm.semName(); // and a POSIX semaphore, as glibc's sem_open(O_CREAT) races
            for (ChildJvm c : children) {
                c.send("ROUND " + round + " " + sem);
            }
            int got = 0, posixGot = 0;
            Set<String> generations = new HashSet<>(), offsets = new HashSet<>(), sizes = new HashSet<>();
            StringBuilder all = new StringBuilder();
            for (ChildJvm c : children) {
                Matcher m = c.awaitMatch(result);
                all.append("\n  ").append(c.name()).append(": ").append(m.group());
                assertEquals(round, Integer.parseInt(m.group(1)), c.describe("wrong round"));
                got += Integer.parseInt(m.group(2));
                posixGot += Integer.parseInt(m.group(7));
                generations.add(m.group(3));
                offsets.add(m.group(4));
                sizes.add(m.group(5));
                assertEquals("1", m.group(6), c.describe("directory must hold exactly one entry"));
            }
            String ctx = "round " + round + ":" + all;
            assertEquals(PERMITS, got, "initial permits applied more than once? " + ctx);
            assertEquals(PERMITS, posixGot, "POSIX semaphore initialised more than once? " + ctx);
            assertEquals(1, generations.size(), "generations differ: " + ctx);
            assertEquals(1, offsets.size(), "offsets differ: " + ctx);
            assertEquals(1, sizes.size(), "sizes differ: " + ctx);

            String name = "race-" + round;
            expectedRegions.add(name);
            expectedRegions.sort(null);
            assertEquals(expectedRegions, Region.list(), ctx);
            try (Stream<Path> files = Files.list(shm.path())) {
                List<String> names = files.map(p -> p.getFileName().toString()).sorted().toList();
                assertEquals(expectedRegions.stream().map(n -> Region.FILE_PREFIX + n).toList(), names,
                        "exactly one file per region, no temp files left: " + ctx);
            }
            // The creator recorded in the header is one of the racers.
            ByteBuffer header = ByteBuffer.allocate(RegionLayout.LENGTH).order(ByteOrder.LITTLE_ENDIAN);
            try (FileChannel ch = FileChannel.open(Region.path(name))) {
                ch.read(header, 0);
            }
            long creator = header.getInt(RegionLayout.CREATOR_PID_OFFSET);
            assertTrue(pids.contains(creator), "creator_pid " + creator + " is not a racer " + pids);
            try (Region r = Region.open(name)) {
                Semaphore x = r.semaphore("x");
                assertEquals(0, x.availablePermits(), ctx);
                assertEquals(0, x.getQueueLength(), ctx);
                assertEquals(Integer.toString(x.generation()), generations.iterator().next(), ctx);
                assertEquals(1, r.entries().size(), ctx);
            }
        }
        for (ChildJvm c : children) {
            c.send("END");
        }
        for (ChildJvm c : children) {
            c.assertExit(0);
        }
    }

    /** Waits for "ROUND r" commands; races openOrCreate("race-r") and semaphore("x", 3). */
    public static final class Racer {
        public static void main(String[] args) {
            Child.run(args, a -> {
                int id = Integer.parseInt(a[0]);
                // Warm up: load classes and bind the native calls before the race.
                String warm = "warm-" + ProcessHandle.current().pid();
                try (Region w = Region.openOrCreate(warm, 4096)) {
                    w.semaphore("w", 1).tryAcquire();
                }
                Region.unlink(warm);
                Child.say("READY");
                for (String cmd; !(cmd = Child.command()).equals("END"); ) {
                    String[] c = cmd.split(" ");
                    int round = Integer.parseInt(c[1]);
                    int posix = 0;
                    try (PosixSemaphore p = PosixSemaphore.openOrCreate(c[2], 0600, PERMITS)) {
                        while (p.tryAcquire()) {
                            posix++;
                        }
                    }
                    // Different sizes: the winner's size must be the one everybody sees.
                    try (Region r = Region.openOrCreate("race-" + round, 4096L * (4 + id))) {
                        Semaphore x = r.semaphore("x", PERMITS);
                        int got = 0;
                        while (x.tryAcquire()) {
                            got++;
                        }
                        List<RegionEntry> entries = r.entries();
                        RegionEntry e = entries.stream().filter(en -> en.name().equals("x")).findFirst()
                                .orElseThrow();
                        if (e.generation() != x.generation()) {
                            throw new AssertionError("entry generation " + e.generation() + " != handle's "
                                    + x.generation());
                        }
                        Child.say("RESULT round=" + round + " got=" + got + " generation=" + x.generation()
                                + " offset=" + e.offset() + " size=" + r.size() + " entries=" + entries.size()
                                + " posix=" + posix);
                    }
                }
            });
        }
    }
}
