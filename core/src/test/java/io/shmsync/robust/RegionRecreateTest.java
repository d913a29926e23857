package io.shmsync.robust;

import io.shmsync.Mutex;
import io.shmsync.OwnerDiedException;
import io.shmsync.Region;
import io.shmsync.RegionEntry;
import io.shmsync.internal.sync.MutexLayout;
import io.shmsync.testing.ChildJvm;
import io.shmsync.testing.ShmDir;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.channels.FileChannel;
import java.nio.file.StandardOpenOption;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A region file unlinked and created again under the same name while a mutex in the old file is held
 * (docs/PROTOCOL.md §6.5): the holder keeps working on the old mapping, the new file is never written by
 * the old holder, by its {@code close()}, or by the kernel when the holder — now attached to the new file,
 * possibly at the old file's address — is killed (the hazard of musl commit da8d0fc4).
 */
class RegionRecreateTest {
    private static final long SIZE = 64 * 1024;

    @RegisterExtension
    final ShmDir shm = new ShmDir();

    private static long offset(Region r, String name) {
        return r.entries().stream().filter(e -> e.name().equals(name)).findFirst().map(RegionEntry::offset)
                .orElseThrow();
    }

    /** The 40 glibc bytes of the mutex at {@code offset} in {@code r}'s file, read through a mapping of our own. */
    private static long[] image(Region r, long offset) throws Exception {
        try (Arena arena = Arena.ofConfined();
             FileChannel ch = FileChannel.open(r.file(), StandardOpenOption.READ)) {
            MemorySegment s = ch.map(FileChannel.MapMode.READ_ONLY, 0, r.size(), arena);
            long[] out = new long[MutexLayout.PTHREAD_MUTEX_T_LENGTH / 8];
            for (int i = 0; i < out.length; i++) {
                out[i] = s.get(ValueLayout.JAVA_LONG, offset + 8L * i);
            }
            return out;
        }
    }

    @Test
    @Timeout(60)
    void holderInThisProcessKeepsTheOldFile() throws Exception {
        String name = shm.regionName("recreate");
        try (Region old = Region.create(name, SIZE)) {
            Mutex oldM = old.mutex("m");
            oldM.lock();
            Region.unlink(name);
            try (Region fresh = Region.create(name, SIZE)) {
                Mutex freshM = fresh.mutex("m");
                long o = offset(fresh, "m");
                assertEquals(offset(old, "m"), o, "the same offset in both files: the case that matters");
                assertFalse(freshM.isLocked());
                assertTrue(freshM.tryLock());
                freshM.unlock();
                long[] pristine = image(fresh, o); // (its list_next keeps what this process's lock wrote)
                assertTrue(oldM.isHeldByCurrentThread());
                // held on this platform thread's own robust list: the word holds the thread's TID
                assertEquals(io.shmsync.internal.robust.ThreadList.current(Thread.currentThread()).tid, oldM.holderTid());
                oldM.unlock();
                assertFalse(oldM.isLocked());
                oldM.lock(); // the list and the old mapping still work
                oldM.unlock();
                assertEquals(java.util.Arrays.toString(pristine), java.util.Arrays.toString(image(fresh, o)));
            }
        }
    }

    @Test
    @Timeout(120)
    void holderClosedThenKilledAfterReopeningTheNewFile() throws Exception {
        String name = shm.regionName("recreate");
        try (Region old = Region.create(name, SIZE)) {
            Mutex oldM = old.mutex("m");
            long o = offset(old, "m");
            ChildJvm c = shm.start(RobustChild.class, "recreate", name);
            c.awaitLine("READY");
            c.send("LOCK");
            c.awaitLine("LOCKED");
            Region.unlink(name);
            try (Region fresh = Region.create(name, SIZE)) {
                Mutex freshM = fresh.mutex("m");
                assertEquals(o, offset(fresh, "m"));
                long[] pristine = image(fresh, o);

                // Closing the old region while holding "m" releases it as owner-died there, and only there.
                c.send("CLOSE");
                c.awaitLine("CLOSED");
                assertEquals(java.util.Arrays.toString(pristine), java.util.Arrays.toString(image(fresh, o)),
                        "the new file's mutex was written by the old holder's close");
                OwnerDiedException e = assertThrows(OwnerDiedException.class, oldM::lock);
                assertTrue(oldM.isHeldByCurrentThread(), e.toString());
                oldM.markConsistent();
                oldM.unlock();

                // Attached to the new file (maybe at the old file's address), holding nothing in it: a
                // SIGKILL makes the kernel walk the child's list, which must not reach the mutex.
                c.send("REOPEN");
                c.awaitLine("REOPENED");
                c.close(); // SIGKILL
                assertEquals(java.util.Arrays.toString(pristine), java.util.Arrays.toString(image(fresh, o)),
                        "the kernel wrote into the new file's mutex at the old holder's death");
                assertTrue(freshM.tryLock(), "no owner death reported: nobody died holding this one");
                freshM.unlock();
            }
        }
    }

    @Test
    @Timeout(120)
    void holderKilledWhileTheNameIsAnotherFile() throws Exception {
        String name = shm.regionName("recreate");
        try (Region old = Region.create(name, SIZE)) {
            Mutex oldM = old.mutex("m");
            long o = offset(old, "m");
            ChildJvm c = shm.start(RobustChild.class, "recreate", name);
            c.awaitLine("READY");
            c.send("LOCK");
            c.awaitLine("LOCKED");
            Region.unlink(name);
            try (Region fresh = Region.create(name, SIZE)) {
                Mutex freshM = fresh.mutex("m");
                long[] pristine = image(fresh, o);
                c.close(); // SIGKILL while holding the old file's mutex
                OwnerDiedException e = assertThrows(OwnerDiedException.class, oldM::lock);
                assertTrue(e.markedByKernel(), "the kernel marked the old file's word: " + e);
                oldM.markConsistent();
                oldM.unlock();
                assertEquals(java.util.Arrays.toString(pristine), java.util.Arrays.toString(image(fresh, o)));
                assertTrue(freshM.tryLock());
                freshM.unlock();
            }
        }
    }
}
