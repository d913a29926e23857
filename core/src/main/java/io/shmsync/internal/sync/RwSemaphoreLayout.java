package io.shmsync.internal.sync;

/**
 * A read-write semaphore object (docs/PROTOCOL.md §7.1; a test checks these constants against that table).
 *
 * <pre>
 * state (u64, offset 0), as the table at the top of Linux's kernel/locking/rwsem.c:
 *   bit   0     PRESENT  a writer holds or waits (= WRITER || WWAIT &gt; 0): new readers queue
 *   bit   1     PHASE    toggled by each write release that hands the lock to the queued readers
 *   bits  2-15  zero
 *   bits 16-31  RWAIT    queued readers                \ low half, offset 0: the readers' futex word
 *   bits 32-47  READERS  read holds                    \
 *   bits 48-62  WWAIT    queued writers                 } high half, offset 4: the writers' futex word
 *   bit  63     WRITER   a writer holds the lock       /
 * flags (u32, offset 8): 0, or ROBUST (bit 0); a robust object also has (PROTOCOL §7.6)
 *   slot_capacity (u32, 12) = the process table's capacity, writer_lease (u32, 16): the write holder's lease TID,
 *   owner_died (u32, 20): 1 after a cleaner released a dead writer's lock, until an acquirer is told;
 *   then per process-table slot, 16 bytes at 64 + 16 * slot: reads, wwait, rwait0, rwait1 (i32 each)
 * reserved (to byte 63) zero
 * </pre>
 */
public final class RwSemaphoreLayout {
    private RwSemaphoreLayout() {
    }

    public static final int STATE_OFFSET = 0;
    public static final int FLAGS_OFFSET = 8;
    public static final int SLOT_CAPACITY_OFFSET = 12;
    public static final int WRITER_LEASE_OFFSET = 16;
    public static final int OWNER_DIED_OFFSET = 20;
    public static final int RESERVED_OFFSET = 24;

    /** {@code flags} bit 0: the object is robust (per-slot counts follow the header, PROTOCOL §7.6). */
    public static final int ROBUST = 0x1;
    /** Bytes of one slot's counts after the header of a robust object. */
    public static final int SLOT_COUNTS_SIZE = 16;
    /** In a slot's counts: read holds of the slot's process (i32). */
    public static final int SLOT_READS = 0;
    /** In a slot's counts: the slot's process's writers registered in WWAIT (i32). */
    public static final int SLOT_WWAIT = 4;
    /** In a slot's counts: the slot's process's readers registered in RWAIT while PHASE was 0 (i32); PHASE 1 at +4. */
    public static final int SLOT_RWAIT0 = 8;

    /** Size of a read-write semaphore object in a region. */
    public static final int LENGTH = 64;

    /** Size of a robust object for a process table of {@code slots} slots, rounded up to 64. */
    public static long robustSize(int slots) {
        return (LENGTH + (long) SLOT_COUNTS_SIZE * slots + 63) & ~63L;
    }

    public static final long PRESENT = 0x1L;
    public static final long PHASE = 0x2L;
    public static final int RWAIT_SHIFT = 16;
    public static final int READERS_SHIFT = 32;
    public static final int WWAIT_SHIFT = 48;
    public static final int WRITER_SHIFT = 63;

    public static final long RW1 = 1L << RWAIT_SHIFT;
    public static final long R1 = 1L << READERS_SHIFT;
    public static final long WW1 = 1L << WWAIT_SHIFT;
    public static final long WRITER = 1L << WRITER_SHIFT;
    /** Bits 2-15, always zero. */
    public static final long ZERO_BITS = 0xFFFCL;

    /** Largest READERS + RWAIT. */
    public static final int MAX_READERS = 0xFFFF;
    /** Largest WWAIT. */
    public static final int MAX_WAITING_WRITERS = 0x7FFF;

    /** Byte offset of the readers' futex word (the low half of state) in the object. */
    public static final int READ_WORD = 0;
    /** Byte offset of the writers' futex word (the high half of state) in the object. */
    public static final int WRITE_WORD = 4;

    public static int rwait(long s) {
        return (int) (s >>> RWAIT_SHIFT) & 0xFFFF;
    }

    public static int readers(long s) {
        return (int) (s >>> READERS_SHIFT) & 0xFFFF;
    }

    public static int wwait(long s) {
        return (int) (s >>> WWAIT_SHIFT) & 0x7FFF;
    }

    public static boolean writer(long s) {
        return s < 0;
    }

    public static boolean present(long s) {
        return (s & PRESENT) != 0;
    }

    /** Null if {@code s} keeps the invariants I1-I4 of docs/PROTOCOL.md §7.1, else what is wrong. */
    public static String broken(long s) {
        if (present(s) != (writer(s) || wwait(s) > 0)) {
            return "PRESENT is " + (present(s) ? "set" : "clear") + " but WRITER is " + writer(s)
                    + " and WWAIT " + wwait(s) + " (I1)";
        }
        if (writer(s) && readers(s) != 0) {
            return "WRITER set with READERS " + readers(s) + " (I2)";
        }
        if (readers(s) + rwait(s) > MAX_READERS) {
            return "READERS " + readers(s) + " + RWAIT " + rwait(s) + " exceed " + MAX_READERS + " (I3)";
        }
        if ((s & ZERO_BITS) != 0) {
            return "bits 2-15 are not zero (I4)";
        }
        return null;
    }
}
