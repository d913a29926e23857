package io.shmsync;

import io.shmsync.internal.sync.Guard;
import io.shmsync.internal.sync.SemaphoreLayout;
import io.shmsync.internal.sync.WaitScope;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
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
     * A pool of robust mutexes in one region of this JVM (a region per jcstress state would be far too
     * slow): states take them round-robin. The pool is larger than the number of states jcstress keeps
     * in flight, and every test leaves its mutex unlocked and consistent.
     */
    public static final class MutexPool {
        private static final int SIZE = 4096;
        private static final Mutex[] MUTEXES = new Mutex[SIZE];
        private static final MemorySegment[] SEGMENTS = new MemorySegment[SIZE];
        private static final long[] LOCK = new long[SIZE];
        private static final AtomicInteger NEXT = new AtomicInteger();

        static {
            String name = "jcstress-" + ProcessHandle.current().pid();
            try {
                Region region = Region.create(name, 4L << 20, RegionOptions.defaults().directoryCapacity(SIZE + 64));
                Region.unlink(name); // the mapping stays; nothing is left in /dev/shm when the fork exits
                Field seg = Mutex.class.getDeclaredField("segment");
                Field base = Mutex.class.getDeclaredField("base");
                seg.setAccessible(true);
                base.setAccessible(true);
                for (int i = 0; i < SIZE; i++) {
                    Mutex m = region.mutex("m" + i);
                    MUTEXES[i] = m;
                    SEGMENTS[i] = (MemorySegment) seg.get(m);
                    LOCK[i] = (long) base.get(m); // lock word at offset 0 of the object (PROTOCOL §6.1)
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException(e);
            }
        }

        private MutexPool() {
        }

        public static int next() {
            return Math.floorMod(NEXT.getAndIncrement(), SIZE);
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
         * ({@code FUTEX_OWNER_DIED}, TID 0; PROTOCOL §6.1): the mutex must be free when this is called.
         */
        public static void markOwnerDied(int i) {
            if (!INT.compareAndSet(SEGMENTS[i], LOCK[i], 0, MutexAccess.FUTEX_OWNER_DIED)) {
                throw new IllegalStateException("mutex " + i + " is not free: " + Integer.toHexString(lockWord(i)));
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
