package io.shmsync.robust;

import io.shmsync.Mutex;
import io.shmsync.ObjectTypeMismatchException;
import io.shmsync.OwnerDiedException;
import io.shmsync.NotRecoverableException;
import io.shmsync.ProcessInfo;
import io.shmsync.ProcessState;
import io.shmsync.Region;
import io.shmsync.RegionClosedException;
import io.shmsync.testing.Await;
import io.shmsync.testing.ShmDir;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Semantics of {@link Mutex} inside one process: error checking, contention, timeouts, recovery, close. */
class MutexTest {
    @RegisterExtension
    final ShmDir shm = new ShmDir();

    @Test
    @Timeout(60)
    void lockUnlockAndErrorChecking() throws Exception {
        try (Region r = Region.create(shm.regionName("m"), 64 * 1024)) {
            Mutex m = r.mutex("m");
            assertFalse(m.isLocked());
            m.lock();
            assertTrue(m.isLocked());
            assertTrue(m.isHeldByCurrentThread());
            assertTrue(m.isConsistent());
            assertThrows(IllegalMonitorStateException.class, m::lock, "not reentrant");
            assertThrows(IllegalMonitorStateException.class, m::tryLock);
            Mutex same = r.mutex("m");
            assertThrows(IllegalMonitorStateException.class, same::lock, "another handle, same thread");
            AtomicReference<Throwable> other = new AtomicReference<>();
            Thread t = Thread.ofPlatform().start(() -> {
                try {
                    m.unlock();
                } catch (Throwable e) {
                    other.set(e);
                }
            });
            t.join();
            assertInstanceOf(IllegalMonitorStateException.class, other.get(), "unlock by a non-holder");
            assertTrue(m.toString().contains("this process"), m.toString());
            m.unlock();
            assertFalse(m.isLocked());
            assertThrows(IllegalMonitorStateException.class, m::unlock, "unlock when not held");
            assertTrue(m.tryLock());
            same.unlock();
            assertThrows(ObjectTypeMismatchException.class, () -> r.semaphore("m", 0));
            assertThrows(UnsupportedOperationException.class, m::newCondition);
            List<ProcessInfo> ps = r.processes();
            assertEquals(1, ps.size(), ps.toString());
            assertEquals(ProcessState.ALIVE, ps.get(0).state());
            assertEquals(ProcessHandle.current().pid(), ps.get(0).pid());
            assertTrue(ps.get(0).current());
        }
    }

    @Test
    @Timeout(120)
    void mutualExclusionPlatformAndVirtualThreads() throws Exception {
        try (Region r = Region.create(shm.regionName("m"), 64 * 1024)) {
            Mutex m = r.mutex("m");
            long[] counter = {0};
            int threads = 8;
            int rounds = 20_000;
            List<Thread> ts = new ArrayList<>();
            for (int i = 0; i < threads; i++) {
                Thread.Builder b = i % 2 == 0 ? Thread.ofPlatform() : Thread.ofVirtual();
                ts.add(b.start(() -> {
                    for (int k = 0; k < rounds; k++) {
                        m.lock();
                        try {
                            counter[0]++;
                            if (k % 1000 == 0) {
                                Thread.yield();
                            }
                        } finally {
                            m.unlock();
                        }
                    }
                }));
            }
            for (Thread t : ts) {
                t.join();
            }
            assertEquals((long) threads * rounds, counter[0]);
            assertFalse(m.isLocked());
        }
    }

    @Test
    @Timeout(60)
    void timeoutNamesTheHolderAndInterruptWorks() throws Exception {
        try (Region r = Region.create(shm.regionName("m"), 64 * 1024)) {
            Mutex m = r.mutex("m");
            m.lock();
            AtomicReference<Object> result = new AtomicReference<>();
            Thread t = Thread.ofPlatform().start(() -> {
                try {
                    result.set(m.tryLock(50, TimeUnit.MILLISECONDS));
                    m.lock(50, TimeUnit.MILLISECONDS);
                    result.set("acquired?");
                } catch (Throwable e) {
                    result.set(e);
                }
            });
            t.join();
            TimeoutException te = assertInstanceOf(TimeoutException.class, result.get());
            assertTrue(te.getMessage().contains("a platform thread of this process (TID "), te.getMessage());
            CountDownLatch started = new CountDownLatch(1);
            Thread w = Thread.ofPlatform().start(() -> {
                started.countDown();
                try {
                    m.lockInterruptibly();
                    result.set("acquired?");
                } catch (Throwable e) {
                    result.set(e);
                }
            });
            started.await();
            Await.until(m::hasQueuedThreads, () -> "waiter registered");
            w.interrupt();
            w.join();
            assertInstanceOf(InterruptedException.class, result.get());
            m.unlock();
            Thread v = Thread.ofVirtual().start(() -> {
                m.lock();
                m.unlock();
            });
            v.join();
        }
    }

    @Test
    @Timeout(60)
    void closeWhileHeldReleasesAsOwnerDiedAndUnrecoveredBecomesNotRecoverable() throws Exception {
        String name = shm.regionName("m");
        try (Region keeper = Region.create(name, 64 * 1024)) {
            Mutex k = keeper.mutex("m");
            Region other = Region.open(name);
            Mutex m = other.mutex("m");
            m.lock();
            CountDownLatch waiting = new CountDownLatch(1);
            AtomicReference<Throwable> got = new AtomicReference<>();
            Thread t = Thread.ofPlatform().start(() -> {
                waiting.countDown();
                try {
                    k.lock();
                } catch (Throwable e) {
                    got.set(e);
                }
                // holds it now (with OwnerDiedException); unlock without markConsistent
                k.unlock();
            });
            waiting.await();
            Await.until(k::hasQueuedThreads, () -> "waiter registered");
            other.close();
            assertThrows(RegionClosedException.class, m::unlock);
            t.join();
            OwnerDiedException e = assertInstanceOf(OwnerDiedException.class, got.get());
            assertSame(k, e.mutex());
            assertTrue(e.markedByKernel());
            assertTrue(k.isNotRecoverable());
            assertThrows(NotRecoverableException.class, k::lock);
            assertThrows(NotRecoverableException.class, k::tryLock);
            assertFalse(k.isLocked());
            assertTrue(keeper.remove("m"));
            Mutex fresh = keeper.mutex("m");
            fresh.lock();
            fresh.unlock();
        }
    }

    @Test
    @Timeout(120)
    void robustListLimitFailsClearlyAndChangesNothing() throws Exception {
        int limit = io.shmsync.internal.sync.MutexLayout.ROBUST_LIST_LIMIT;
        int own = io.shmsync.internal.robust.ThreadList.LIMIT;
        try (Region r = Region.create(shm.regionName("limit"), 4 << 20,
                io.shmsync.RegionOptions.defaults().directoryCapacity(limit + own + 8))) {
            List<Mutex> held = new ArrayList<>();
            // This thread's own list takes ThreadList.LIMIT, then the process's lease list the rest: one of its
            // entries is this process's slot in the region, so 2047 more mutexes fit there.
            for (int i = 0; i < own + limit - 1; i++) {
                Mutex m = r.mutex("m" + i);
                m.lock();
                held.add(m);
            }
            Mutex last = r.mutex("last");
            IllegalStateException e = assertThrows(IllegalStateException.class, last::lock);
            assertTrue(e.getMessage().contains("ROBUST_LIST_LIMIT = " + limit), e.getMessage());
            assertFalse(last.isLocked(), "nothing changed");
            assertThrows(IllegalStateException.class, last::tryLock);
            held.getFirst().unlock();
            last.lock();
            last.unlock();
            for (Mutex m : held.subList(1, held.size())) {
                m.unlock();
            }
        }
    }

    @Test
    @Timeout(60)
    void recoveryWithMarkConsistent() throws Exception {
        String name = shm.regionName("m");
        try (Region keeper = Region.create(name, 64 * 1024)) {
            Region other = Region.open(name);
            other.mutex("m").lock();
            other.close();
            Mutex m = keeper.mutex("m");
            assertThrows(IllegalStateException.class, () -> {
                try {
                    m.lock();
                } catch (OwnerDiedException e) {
                    assertFalse(m.isConsistent());
                    assertTrue(m.isHeldByCurrentThread());
                    m.markConsistent();
                    assertTrue(m.isConsistent());
                    m.markConsistent(); // not inconsistent any more: IllegalStateException
                }
            });
            m.unlock();
            m.lock();
            m.unlock();
            assertTrue(m.isConsistent());
        }
    }
}
