package io.shmsync.robust;

import io.shmsync.Mutex;
import io.shmsync.OwnerDiedException;
import io.shmsync.Region;
import io.shmsync.RegionClosedException;
import io.shmsync.RegionEntry;
import io.shmsync.internal.robust.ThreadList;
import io.shmsync.testing.ShmDir;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.channels.FileChannel;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Platform threads hold mutexes on their own (glibc's) robust list (docs/PROTOCOL.md §6.3 "Thread lists"):
 * the word holds the thread's TID, the kernel marks it when that thread exits, the list is shared with
 * glibc's own robust mutexes on the same thread, and closing the region under a holder thread neither crashes
 * nor leaves the word held.
 */
class ThreadListTest {
    private static final int EOWNERDEAD = 130;

    @RegisterExtension
    final ShmDir shm = new ShmDir();

    private static long offset(Region r, String name) {
        return r.entries().stream().filter(e -> e.name().equals(name)).findFirst().map(RegionEntry::offset)
                .orElseThrow();
    }

    /** Runs {@code body} on a new platform thread and waits for it to end (its OS thread included). */
    private static Throwable onThreadThatExits(ThrowingRunnable body) throws Exception {
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread t = Thread.ofPlatform().start(() -> {
            try {
                body.run();
            } catch (Throwable e) {
                failure.set(e);
            }
        });
        t.join();
        return failure.get();
    }

    interface ThrowingRunnable {
        void run() throws Throwable;
    }

    @Test
    @Timeout(60)
    void aWordHoldsTheThreadsOwnTidAndItsExitMarksIt() throws Exception {
        try (Region r = Region.create(shm.regionName("tl"), 64 * 1024)) {
            Mutex a = r.mutex("a");
            Mutex b = r.mutex("b");
            AtomicReference<Integer> tid = new AtomicReference<>();
            assertNull(onThreadThatExits(() -> {
                ThreadList own = ThreadList.current(Thread.currentThread());
                assertNotNull(own, "a fresh platform thread can share its glibc list");
                a.lock();
                b.lock();
                tid.set(own.tid);
                assertEquals(own.tid, a.holderTid());
                assertEquals(own.tid, b.holderTid());
                // and it ends holding both
            }));
            for (Mutex m : List.of(a, b)) {
                OwnerDiedException e = assertThrows(OwnerDiedException.class, m::lock, m.toString());
                assertTrue(e.markedByKernel(), "the kernel marked it at the thread's exit");
                m.markConsistent();
                m.unlock();
                assertFalse(m.isLocked());
            }
        }
    }

    /**
     * glibc's own robust mutexes on the same thread, interleaved with shmsync's: glibc links at the front of
     * the thread's list, shmsync after its anchor. A glibc-locked word ("g", a robust mutex in the same region
     * that glibc's {@code pthread_mutex_lock} takes through a second mapping) and two shmsync mutexes are
     * locked and unlocked in mixed order, then all three are held when the thread exits: the kernel's walk
     * must reach every one of them, so the chain glibc → anchor → shmsync entries → head is intact.
     */
    @Test
    @Timeout(60)
    void sharesTheThreadsListWithGlibcRobustMutexes() throws Throwable {
        Linker linker = Linker.nativeLinker();
        MethodHandle lock = linker.downcallHandle(linker.defaultLookup().find("pthread_mutex_lock").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS));
        MethodHandle unlock = linker.downcallHandle(linker.defaultLookup().find("pthread_mutex_unlock").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS));
        try (Region r = Region.create(shm.regionName("glibc"), 64 * 1024);
             Arena arena = Arena.ofShared();
             FileChannel ch = FileChannel.open(r.file(), StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            Mutex g = r.mutex("g");
            Mutex m1 = r.mutex("m1");
            Mutex m2 = r.mutex("m2");
            MemorySegment second = ch.map(FileChannel.MapMode.READ_WRITE, 0, r.size(), arena);
            MemorySegment gc = second.asSlice(offset(r, "g"), 40); // glibc's view of "g"
            List<String> steps = new ArrayList<>();
            Throwable failed = onThreadThatExits(() -> {
                m1.lock();                                        // head → anchor → m1 (the list was empty)
                assertEquals(0, (int) lock.invokeExact(gc));    // head → g → anchor → m1
                steps.add("glibc lock g");
                assertEquals(0, (int) unlock.invokeExact(gc));  // glibc unlinks the entry in front of the anchor
                assertEquals(0, (int) lock.invokeExact(gc));    // and links it again at the front
                m2.lock();                                        // anchor → m2 → m1
                m1.unlock();                                      // from inside shmsync's part
                m1.lock();                                        // anchor → m1 → m2
                m2.unlock();
                m2.lock();
                assertEquals(ThreadList.current(Thread.currentThread()).tid, m1.holderTid());
                steps.add("holding g, m1, m2");
            });
            assertNull(failed);
            assertEquals(List.of("glibc lock g", "holding g, m1, m2"), steps);
            for (Mutex m : List.of(g, m1, m2)) {
                OwnerDiedException e = assertThrows(OwnerDiedException.class, m::lock, m.toString());
                assertTrue(e.markedByKernel(), m + ": the kernel's walk reached it");
                m.markConsistent();
                m.unlock();
            }
            // And glibc on this (test) thread, with shmsync holding on the same thread at the same time.
            m1.lock();
            assertEquals(0, (int) lock.invokeExact(gc));
            m2.lock();
            assertEquals(0, (int) unlock.invokeExact(gc));
            m1.unlock();
            m2.unlock();
            assertFalse(g.isLocked() || m1.isLocked() || m2.isLocked());
        }
    }

    /**
     * A thread whose glibc list is not empty when it first locks a shmsync mutex (it holds a glibc robust mutex)
     * cannot put the anchor last: it uses the process's lease list, for good.
     */
    @Test
    @Timeout(60)
    void aThreadHoldingAGlibcRobustMutexAtFirstUseTakesTheLeaseList() throws Throwable {
        Linker linker = Linker.nativeLinker();
        MethodHandle lock = linker.downcallHandle(linker.defaultLookup().find("pthread_mutex_lock").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS));
        MethodHandle unlock = linker.downcallHandle(linker.defaultLookup().find("pthread_mutex_unlock").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS));
        try (Region r = Region.create(shm.regionName("fallback"), 64 * 1024);
             Arena arena = Arena.ofShared();
             FileChannel ch = FileChannel.open(r.file(), StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            Mutex g = r.mutex("g");
            Mutex m = r.mutex("m");
            MemorySegment gc = ch.map(FileChannel.MapMode.READ_WRITE, 0, r.size(), arena).asSlice(offset(r, "g"), 40);
            assertNull(onThreadThatExits(() -> {
                assertEquals(0, (int) lock.invokeExact(gc));
                assertNull(ThreadList.current(Thread.currentThread()), "the list is not empty: no anchor");
                m.lock();
                assertEquals(r.processes().getFirst().leaseTid(), m.holderTid(), "held through the lease list");
                m.unlock();
                assertEquals(0, (int) unlock.invokeExact(gc));
                assertNull(ThreadList.current(Thread.currentThread()), "decided once per thread");
            }));
            assertFalse(g.isLocked() || m.isLocked());
        }
    }

    /**
     * Threads come and go: the lists of gone threads are forgotten and their anchors reused, and a thread on a
     * reused anchor still has its held words marked at its exit (the kernel walks through the anchor).
     */
    @Test
    @Timeout(120)
    void goneThreadsAreForgottenAndTheirAnchorsReused() throws Exception {
        try (Region r = Region.create(shm.regionName("churn"), 64 * 1024)) {
            Mutex m = r.mutex("m");
            Mutex last = r.mutex("last");
            for (int i = 0; i < 300; i++) {
                assertNull(onThreadThatExits(() -> {
                    m.lock();
                    m.unlock();
                }));
            }
            assertTrue(ThreadList.remembered() < 200, ThreadList.remembered() + " lists remembered after 300 threads");
            assertNull(onThreadThatExits(last::lock)); // ends holding it
            OwnerDiedException e = assertThrows(OwnerDiedException.class, last::lock);
            assertTrue(e.markedByKernel());
            last.markConsistent();
            last.unlock();
            assertFalse(m.isLocked());
        }
    }

    /** Closing one {@code Region} object of a file leaves alone a word held through another one of it. */
    @Test
    @Timeout(60)
    void closingAnotherMappingOfTheFileLeavesAWordHeldThroughThisOne() throws Exception {
        String name = shm.regionName("two");
        try (Region first = Region.create(name, 64 * 1024)) {
            Mutex held = first.mutex("m");
            Region second = Region.open(name);
            Mutex same = second.mutex("m");
            held.lock();
            assertTrue(same.isLocked());
            second.close();
            assertTrue(held.isHeldByCurrentThread());
            assertEquals(ThreadList.current(Thread.currentThread()).tid, held.holderTid(), "not marked owner-died");
            held.unlock();
            assertFalse(held.isLocked());
            held.lock();
            held.unlock();
        }
    }

    /**
     * Another thread of this process closes the region while a platform thread holds one of its mutexes on its
     * own list: the word is marked owner-died for the next owner, and the holder's later unlock fails cleanly
     * (the memory it touches stays mapped), after which its list still works.
     */
    @Test
    @Timeout(60)
    void closingTheRegionUnderAHolderThread() throws Exception {
        String name = shm.regionName("close");
        try (Region keeper = Region.create(name, 64 * 1024)) {
            Mutex k = keeper.mutex("m");
            Mutex other = keeper.mutex("other");
            Region closing = Region.open(name);
            Mutex m = closing.mutex("m");
            CountDownLatch held = new CountDownLatch(1);
            CountDownLatch closed = new CountDownLatch(1);
            AtomicReference<Throwable> unlockResult = new AtomicReference<>();
            Thread holder = Thread.ofPlatform().start(() -> {
                m.lock();
                held.countDown();
                try {
                    closed.await();
                    m.unlock();
                } catch (Throwable e) {
                    unlockResult.set(e);
                }
                other.lock(); // this thread's list is still consistent
                other.unlock();
            });
            held.await();
            closing.close();
            closed.countDown();
            holder.join();
            assertInstanceOf(RegionClosedException.class, unlockResult.get());
            // close() released it as if this process had died: FUTEX_OWNER_DIED in the word, as the kernel would
            OwnerDiedException e = assertThrows(OwnerDiedException.class, k::lock);
            assertTrue(e.markedByKernel(), e.getMessage());
            k.markConsistent();
            k.unlock();
            assertFalse(other.isLocked());
        }
    }
}
