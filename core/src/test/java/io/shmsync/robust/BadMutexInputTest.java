package io.shmsync.robust;

import io.shmsync.InvalidRegionException;
import io.shmsync.Mutex;
import io.shmsync.NotRecoverableException;
import io.shmsync.OwnerDiedException;
import io.shmsync.Region;
import io.shmsync.RegionEntry;
import io.shmsync.RegionFullException;
import io.shmsync.RegionOptions;
import io.shmsync.Semaphore;
import io.shmsync.internal.posix.Posix;
import io.shmsync.internal.sync.MutexLayout;
import io.shmsync.testing.ChildJvm;
import io.shmsync.testing.ShmDir;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A mutex's bytes written by a hostile or broken peer: what can be detected fails clearly, naming the
 * field, and leaves the mutex released; a lock that stays held shows up as a timeout naming the holder.
 */
class BadMutexInputTest {
    @RegisterExtension
    final ShmDir shm = new ShmDir();

    /** A second, raw mapping of the region file, as another process would have it. */
    private static MemorySegment raw(Region r, Arena arena) throws Exception {
        try (FileChannel ch = FileChannel.open(r.file(), StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            return ch.map(FileChannel.MapMode.READ_WRITE, 0, r.size(), arena);
        }
    }

    private static long offset(Region r, String name) {
        return r.entries().stream().filter(e -> e.name().equals(name)).findFirst().map(RegionEntry::offset)
                .orElseThrow();
    }

    private static InvalidRegionException invalid(Throwable t) {
        UncheckedIOException u = assertInstanceOf(UncheckedIOException.class, t);
        return assertInstanceOf(InvalidRegionException.class, u.getCause());
    }

    @Test
    void kindAndReservedBytes() throws Exception {
        try (Region r = Region.create(shm.regionName("bad"), 64 * 1024); Arena arena = Arena.ofShared()) {
            Mutex m = r.mutex("m");
            long o = offset(r, "m");
            MemorySegment s = raw(r, arena);
            for (int kind : new int[]{0, 1, 16, 128, 146 | 32, 146 | 64, 145}) {
                s.set(ValueLayout.JAVA_INT, o + MutexLayout.KIND_OFFSET, kind);
                InvalidRegionException e = invalid(assertThrows(RuntimeException.class, m::lock));
                assertTrue(e.getMessage().contains("__kind") && e.getMessage().contains(Integer.toString(kind)),
                        e.getMessage());
                assertEquals(0, s.get(ValueLayout.JAVA_INT, o), "released after the refusal");
                invalid(assertThrows(RuntimeException.class, () -> r.mutex("m")));
            }
            s.set(ValueLayout.JAVA_INT, o + MutexLayout.KIND_OFFSET, MutexLayout.KIND_NORMAL);
            m.lock(); // 144 = ROBUST|PSHARED (glibc's default type) is accepted
            m.unlock();
            s.set(ValueLayout.JAVA_INT, o + MutexLayout.KIND_OFFSET, MutexLayout.KIND);
            // Reserved bytes are checked when a handle is made, on the slow path and after an owner death.
            for (long at = MutexLayout.RESERVED_OFFSET; at < MutexLayout.LENGTH; at++) {
                s.set(ValueLayout.JAVA_BYTE, o + at, (byte) 0x40);
                InvalidRegionException e = invalid(assertThrows(RuntimeException.class, () -> r.mutex("m")));
                assertTrue(e.getMessage().contains("reserved"), e.getMessage());
                s.set(ValueLayout.JAVA_INT, o, 0x3fff_fff0); // held by someone: the slow path checks
                e = invalid(assertThrows(RuntimeException.class, () -> m.lock(10, TimeUnit.MILLISECONDS)));
                assertTrue(e.getMessage().contains("reserved"), e.getMessage());
                s.set(ValueLayout.JAVA_INT, o, 0);
                s.set(ValueLayout.JAVA_BYTE, o + at, (byte) 0);
            }
            assertTrue(m.tryLock());
            m.unlock();
        }
    }

    @Test
    @Timeout(60)
    void ownerAtInconsistentOrNotRecoverable() throws Exception {
        try (Region r = Region.create(shm.regionName("bad"), 64 * 1024); Arena arena = Arena.ofShared()) {
            Mutex m = r.mutex("m");
            long o = offset(r, "m");
            MemorySegment s = raw(r, arena);
            s.set(ValueLayout.JAVA_INT, o + MutexLayout.OWNER_OFFSET, MutexLayout.NOTRECOVERABLE);
            NotRecoverableException nr = assertThrows(NotRecoverableException.class, m::lock);
            assertTrue(nr.getMessage().contains("not recoverable"), nr.getMessage());
            assertFalse(m.isLocked());
            s.set(ValueLayout.JAVA_INT, o + MutexLayout.OWNER_OFFSET, MutexLayout.INCONSISTENT);
            OwnerDiedException od = assertThrows(OwnerDiedException.class, m::lock);
            assertFalse(od.markedByKernel());
            assertTrue(od.getMessage().contains("INCONSISTENT"), od.getMessage());
            assertTrue(m.isHeldByCurrentThread(), "an OwnerDiedException leaves the mutex held");
            m.markConsistent();
            m.unlock();
            assertTrue(m.isConsistent());
        }
    }

    @Test
    @Timeout(60)
    void kernelThreadOwnerIsNamed() throws Exception {
        // A kthread of shmsync.ko stores 0x20000000 | TID (PROTOCOL §6.4); written here by hand.
        try (Region r = Region.create(shm.regionName("bad"), 64 * 1024); Arena arena = Arena.ofShared()) {
            Mutex m = r.mutex("m");
            long o = offset(r, "m");
            MemorySegment s = raw(r, arena);
            s.set(ValueLayout.JAVA_INT, o + MutexLayout.LOCK_OFFSET, 0x2000_0000 | 4242);
            assertTrue(m.toString().contains("kernel thread 4242"), m.toString());
            TimeoutException te = assertThrows(TimeoutException.class, () -> m.lock(20, TimeUnit.MILLISECONDS));
            assertTrue(te.getMessage().contains("kernel thread 4242"), te.getMessage());
            s.set(ValueLayout.JAVA_INT, o + MutexLayout.LOCK_OFFSET, 4242);
            assertFalse(m.toString().contains("kernel thread"), m.toString());
            s.set(ValueLayout.JAVA_INT, o + MutexLayout.LOCK_OFFSET, 0);
            assertTrue(m.tryLock());
            m.unlock();
        }
    }

    @Test
    @Timeout(120)
    void listPointersChangedWhileHeldAreReportedAndRepaired() throws Exception {
        String name = shm.regionName("bad");
        try (Region r = Region.create(name, 64 * 1024); Arena arena = Arena.ofShared()) {
            Mutex m1 = r.mutex("m1");
            Mutex m2 = r.mutex("m2");
            MemorySegment s = raw(r, arena);
            // In this process: m2's __list.__next is overwritten while held.
            m1.lock();
            m2.lock();
            long o2 = offset(r, "m2");
            s.set(ValueLayout.JAVA_LONG, o2 + MutexLayout.LIST_NEXT_OFFSET, 0xdead_beef_000L);
            InvalidRegionException e = invalid(assertThrows(RuntimeException.class, m2::unlock));
            assertTrue(e.getMessage().contains("__list.__next"), e.getMessage());
            assertFalse(m2.isLocked(), "released anyway");
            m1.unlock();
            // In a child that is killed afterwards: the list it repaired still reports its other mutex.
            ChildJvm c = shm.start(RobustChild.class, "hold", name);
            c.awaitLine("READY");
            c.send("LOCK m1");
            c.awaitLine("LOCKED ownerDied=false");
            c.send("LOCK m2");
            c.awaitLine("LOCKED ownerDied=false");
            s.set(ValueLayout.JAVA_LONG, o2 + MutexLayout.LIST_NEXT_OFFSET, 0x1234L);
            c.send("UNLOCK m2");
            String line = c.awaitLine("EXCEPTION ");
            assertTrue(line.contains("__list.__next"), line);
            c.close();
            OwnerDiedException od = assertThrows(OwnerDiedException.class, m1::lock);
            assertTrue(od.markedByKernel(), "the kernel walked the repaired list");
            m1.markConsistent();
            m1.unlock();
            m2.lock(); // not stuck
            m2.unlock();
        }
    }

    @Test
    @Timeout(60)
    void aLockHeldByAnUnknownTidTimesOutNamingIt() throws Exception {
        try (Region r = Region.create(shm.regionName("bad"), 64 * 1024); Arena arena = Arena.ofShared()) {
            Mutex m = r.mutex("m");
            MemorySegment s = raw(r, arena);
            int fake = 0x3fff_fff0;
            s.set(ValueLayout.JAVA_INT, offset(r, "m"), fake);
            TimeoutException te = assertThrows(TimeoutException.class, () -> m.lock(100, TimeUnit.MILLISECONDS));
            assertTrue(te.getMessage().contains("TID " + fake), te.getMessage());
            assertFalse(m.tryLock());
            assertFalse(m.tryLock(50, TimeUnit.MILLISECONDS));
            assertEquals(fake, m.holderTid());
            assertTrue(m.toString().contains("TID " + fake), m.toString());
            s.set(ValueLayout.JAVA_INT, offset(r, "m"), 0);
            assertTrue(m.tryLock());
            m.unlock();
        }
    }

    @Test
    @Timeout(60)
    void processTableCapacityOption() throws Exception {
        assertThrows(IllegalArgumentException.class, () -> RegionOptions.defaults().processTableCapacity(-1));
        assertThrows(IllegalArgumentException.class, () -> RegionOptions.defaults().processTableCapacity(4097));
        try (Region r = Region.create(shm.regionName("nopt"), 64 * 1024,
                RegionOptions.defaults().processTableCapacity(0))) {
            assertTrue(r.semaphore("s", 1).tryAcquire(), "plain semaphores need no process table");
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> r.mutex("m"));
            assertTrue(e.getMessage().contains("process table"), e.getMessage());
        }
        try (Region r = Region.create(shm.regionName("pt3"), 64 * 1024,
                RegionOptions.defaults().processTableCapacity(3))) {
            Mutex m = r.mutex("m");
            m.lock();
            m.unlock();
            assertEquals(1, r.processes().size(), r.processes().toString());
        }
    }

    @Test
    @Timeout(60)
    void processTableFull() throws Exception {
        String name = shm.regionName("full");
        try (Region r = Region.create(name, 64 * 1024, RegionOptions.defaults().processTableCapacity(1))) {
            r.mutex("m");
            ChildJvm c = shm.start(RobustChild.class, "hold", name);
            c.awaitLine("READY");
            c.send("LOCK");
            String line = c.awaitLine("EXCEPTION ");
            assertTrue(line.contains(RegionFullException.class.getName()) && line.contains("process table"), line);
        }
    }

    @Test
    @Timeout(120)
    void anotherPidNamespaceGetsAClearErrorForRobustObjectsOnly() throws Exception {
        Assumptions.assumeTrue(Posix.geteuid() == 0, "needs root for unshare --pid");
        Assumptions.assumeTrue(Files.isExecutable(Path.of("/usr/bin/unshare")), "needs unshare(1)");
        String name = shm.regionName("ns");
        try (Region r = Region.create(name, 64 * 1024)) {
            Semaphore sem = r.semaphore("s", 0);
            r.mutex("m");
            ChildJvm c = shm.start(shm.child(NamespaceChild.class).args(name)
                    .wrapper("/usr/bin/unshare", "--pid", "--fork", "--mount-proc"));
            String line = c.awaitLine("MUTEX ");
            assertTrue(line.contains("IllegalStateException") && line.contains("PID namespace"), line);
            assertTrue(sem.tryAcquire(30, TimeUnit.SECONDS), "the semaphore released from the other namespace");
            c.assertExit(0);
        }
    }

    /** Runs inside a fresh PID namespace. */
    public static final class NamespaceChild {
        public static void main(String[] args) {
            io.shmsync.testing.Child.run(args, a -> {
                try (Region r = Region.open(a[0])) {
                    try {
                        r.mutex("m");
                        io.shmsync.testing.Child.say("MUTEX usable?!");
                    } catch (RuntimeException e) {
                        io.shmsync.testing.Child.say("MUTEX " + e);
                    }
                    r.semaphore("s").release();
                }
            });
        }
    }
}
