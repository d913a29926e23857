package io.shmsync;

import io.shmsync.internal.sync.Guard;
import io.shmsync.internal.sync.RwSemaphoreLayout;
import io.shmsync.internal.sync.SemaphoreLayout;
import io.shmsync.internal.sync.WaitScope;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.invoke.VarHandle;
import java.nio.file.Path;
import java.lang.reflect.Field;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Test-only access to core's package-private constructors and words, for the jcstress tests in
 * {@code io.shmsync.jcstress} (the jcstress jar is a class-path jar, so this class shares core's package).
 */
public final class JcstressAccess {
    private static final VarHandle LONG = ValueLayout.JAVA_LONG.varHandle();
    private static final VarHandle INT = ValueLayout.JAVA_INT.varHandle();
    private static final WaitScope SCOPE = new WaitScope("jcstress");
    /** Bytes of a semaphore cell: the 64-byte object, then a 64-byte line whose first word is its "sequence". */
    private static final long CELL = 128;
    private static final long SEQUENCE = 64;

    private JcstressAccess() {
    }

    /** A semaphore over fresh native memory (no region): its word transitions are core's, unchanged. */
    public static final class Sem {
        public final Semaphore sem;
        private final MemorySegment segment;

        Sem(int permits) {
            segment = Arena.ofAuto().allocate(CELL, 64);
            Semaphore.writeImage(segment, 0, permits);
            // generation 0 == the zero "sequence" word: the object is never seen as removed
            sem = new Semaphore(segment, 0, Guard.of(SCOPE, segment, SEQUENCE, 0, "jcstress semaphore"));
        }

        /** The raw 64-bit data word (value | nwaiters << 32), read with volatile semantics. */
        public long data() {
            return (long) LONG.getVolatile(segment, (long) SemaphoreLayout.DATA_OFFSET);
        }

        /** The memory the semaphore lives in (for the deliberately broken control test). */
        public MemorySegment segment() {
            return segment;
        }

        public int value() {
            return (int) data();
        }

        public int nwaiters() {
            return (int) (data() >>> SemaphoreLayout.NWAITERS_SHIFT);
        }
    }

    public static Sem semaphore(int permits) {
        return new Sem(permits);
    }

    /**
     * A read-write semaphore over fresh native memory (no region; zeroed memory is a free object, PROTOCOL
     * §7.1), like {@link Sem}. Besides the public API (which tracks holds per thread and instance), it gives
     * the tests core's transitions themselves, without the ownership bookkeeping, to play "another
     * party" (a C program or another process) that holds the lock when the actors start: {@link #t5TryWrite()},
     * {@link #t1TryRead()}, {@link #t8ReleaseWrite()}, {@link #t9Downgrade()}, {@link #t4ReleaseRead()} run the
     * private methods of {@link RwSemaphore} that implement those transitions, unchanged.
     */
    public static final class RwSem {
        private static final MethodHandle TRY_READ;
        private static final MethodHandle RELEASE_READ;
        private static final MethodHandle TRY_WRITE;
        private static final MethodHandle RELEASE_WRITE;

        static {
            try {
                MethodHandles.Lookup l = MethodHandles.privateLookupIn(RwSemaphore.class, MethodHandles.lookup());
                TRY_READ = l.findVirtual(RwSemaphore.class, "tryRead", MethodType.methodType(int.class, boolean.class));
                RELEASE_READ = l.findVirtual(RwSemaphore.class, "releaseRead", MethodType.methodType(void.class));
                TRY_WRITE = l.findVirtual(RwSemaphore.class, "tryWrite", MethodType.methodType(boolean.class));
                RELEASE_WRITE = l.findVirtual(RwSemaphore.class, "releaseWrite",
                        MethodType.methodType(long.class, boolean.class));
            } catch (ReflectiveOperationException e) {
                throw new ExceptionInInitializerError(e);
            }
        }

        public final RwSemaphore rw;
        private final MemorySegment segment;

        RwSem() {
            segment = Arena.ofAuto().allocate(CELL, 64);
            rw = new RwSemaphore(segment, 0, RwSemaphoreLayout.LENGTH, Guard.of(SCOPE, segment, SEQUENCE, 0,
                    "jcstress rwsem"), Path.of("jcstress"), null); // a plain (not robust) object
        }

        /** The raw state word, volatile read. */
        public long state() {
            return (long) LONG.getVolatile(segment, (long) RwSemaphoreLayout.STATE_OFFSET);
        }

        /** The memory the object lives in (for the deliberately broken control test). */
        public MemorySegment segment() {
            return segment;
        }

        /** T1 (not nested) as core runs it: true if a read hold was taken. No hold is recorded for a thread. */
        public boolean t1TryRead() {
            try {
                return (int) TRY_READ.invokeExact(rw, false) != 0;
            } catch (Throwable t) {
                throw rethrow(t);
            }
        }

        /** T4 as core runs it (release CAS, wake a writer if it was the last hold and writers wait). */
        public void t4ReleaseRead() {
            try {
                RELEASE_READ.invokeExact(rw);
            } catch (Throwable t) {
                throw rethrow(t);
            }
        }

        /** T5 as core runs it. */
        public boolean t5TryWrite() {
            try {
                return (boolean) TRY_WRITE.invokeExact(rw);
            } catch (Throwable t) {
                throw rethrow(t);
            }
        }

        /** T8 as core runs it: clear WRITER, hand off to queued readers and wake them, or wake a writer. */
        public void t8ReleaseWrite() {
            try {
                long replaced = (long) RELEASE_WRITE.invokeExact(rw, false);
            } catch (Throwable t) {
                throw rethrow(t);
            }
        }

        /** T9 as core runs it: the write hold becomes a read hold, atomically. */
        public void t9Downgrade() {
            try {
                long replaced = (long) RELEASE_WRITE.invokeExact(rw, true);
            } catch (Throwable t) {
                throw rethrow(t);
            }
        }

        private static RuntimeException rethrow(Throwable t) {
            if (t instanceof RuntimeException r) {
                throw r;
            }
            if (t instanceof Error e) {
                throw e;
            }
            throw new IllegalStateException(t);
        }
    }

    public static RwSem rwSemaphore() {
        return new RwSem();
    }

    /**
     * Pools of robust mutexes in one region of this JVM (a region per jcstress state would be far too slow):
     * each test class takes the mutexes of its own pool round-robin. A pool is larger than the number of
     * states jcstress keeps live at once (run.sh passes -strideCount 4 -strideSize 256: 1024 &lt; SIZE), and every
     * test leaves its mutex unlocked and consistent after its actors ran; a state jcstress only constructs
     * (its footprint estimate) leaves the mutex as it set it up. (Creating objects costs more the more a
     * region holds: first-fit over sorted extents, PROTOCOL §1.4, so the pools are kept small.)
     */
    public static final class MutexPool {
        private static final int POOLS = 3;
        private static final int SIZE = 1280;
        private static final Mutex[] MUTEXES = new Mutex[POOLS * SIZE];
        private static final MemorySegment[] SEGMENTS = new MemorySegment[POOLS * SIZE];
        private static final long[] LOCK = new long[POOLS * SIZE];
        private static final AtomicInteger[] NEXT = new AtomicInteger[POOLS];

        static {
            String name = "jcstress-" + ProcessHandle.current().pid();
            try {
                Region region = Region.create(name, 4L << 20,
                        RegionOptions.defaults().directoryCapacity(POOLS * SIZE + 64));
                Region.unlink(name); // the mapping stays; nothing is left in /dev/shm when the fork exits
                Field seg = Mutex.class.getDeclaredField("segment");
                Field base = Mutex.class.getDeclaredField("base");
                seg.setAccessible(true);
                base.setAccessible(true);
                for (int i = 0; i < POOLS * SIZE; i++) {
                    Mutex m = region.mutex("m" + i);
                    MUTEXES[i] = m;
                    SEGMENTS[i] = (MemorySegment) seg.get(m);
                    LOCK[i] = (long) base.get(m); // lock word at offset 0 of the object (PROTOCOL §6.1)
                }
                for (int p = 0; p < POOLS; p++) {
                    NEXT[p] = new AtomicInteger();
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException(e);
            }
        }

        private MutexPool() {
        }

        /** The index of the next mutex of pool {@code pool} (0 … 2, one per test class). */
        public static int next(int pool) {
            return pool * SIZE + Math.floorMod(NEXT[pool].getAndIncrement(), SIZE);
        }

        public static Mutex mutex(int i) {
            return MUTEXES[i];
        }

        /** The lock word, volatile read. */
        public static int lockWord(int i) {
            return (int) INT.getVolatile(SEGMENTS[i], LOCK[i]);
        }

        /**
         * Writes the lock word as the kernel's robust-list walk leaves it for a holder that died
         * ({@code FUTEX_OWNER_DIED}, TID 0; PROTOCOL §6.1). The mutex must be free, or still so marked
         * by a state that jcstress constructed but did not run.
         */
        public static void markOwnerDied(int i) {
            int v = (int) INT.compareAndExchange(SEGMENTS[i], LOCK[i], 0, MutexAccess.FUTEX_OWNER_DIED);
            if (v != 0 && v != MutexAccess.FUTEX_OWNER_DIED) {
                throw new IllegalStateException("mutex " + i + " is not free: " + Integer.toHexString(v));
            }
        }
    }

    /** Lock-word constants (PROTOCOL §6.1). */
    public static final class MutexAccess {
        public static final int FUTEX_OWNER_DIED = 0x40000000;

        private MutexAccess() {
        }
    }
}
