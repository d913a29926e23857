package io.shmsync.internal.sync;

import io.shmsync.internal.futex.Futex;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;

import static io.shmsync.internal.sync.RwSemaphoreLayout.*;

/**
 * What a cleaner does to a robust read-write semaphore for a dead (or departing) process-table slot
 * (docs/PROTOCOL.md §7.6): take the slot's counts by atomic exchange (so each is applied at most once), then
 * give everything back in one CAS of {@code state} — its read holds (T4), its queued readers (T3: the ones
 * still waiting deregister, the ones a write release already admitted give their hold back), its queued
 * writers (T7) and, if the slot's process held the write lock, the write lock (T8, hand-off included), after
 * setting {@code owner_died} so that the next acquirer is told. Everything read from the object is
 * untrusted: a corrupt object is left alone.
 */
public final class RwSemaphoreRecovery {
    private static final VarHandle INT = ValueLayout.JAVA_INT.varHandle();
    private static final VarHandle LONG = ValueLayout.JAVA_LONG.varHandle();

    private RwSemaphoreRecovery() {
    }

    /**
     * Offset of slot {@code slot}'s counts in the object at {@code offset} of {@code size} bytes, or -1 if it
     * is not a valid robust object for a table of {@code capacity} slots.
     */
    public static long countsOffset(MemorySegment segment, long offset, long size, int capacity, int slot) {
        if (segment.get(ValueLayout.JAVA_INT, offset + FLAGS_OFFSET) != ROBUST
                || segment.get(ValueLayout.JAVA_INT, offset + SLOT_CAPACITY_OFFSET) != capacity
                || size < robustSize(capacity) || slot < 0 || slot >= capacity) {
            return -1;
        }
        return offset + LENGTH + (long) SLOT_COUNTS_SIZE * slot;
    }

    /** Zeroes a slot's counts (a slot never inherits a former occupant's). */
    public static void zero(MemorySegment segment, long offset, long size, int capacity, int slot) {
        long c = countsOffset(segment, offset, size, capacity, slot);
        if (c >= 0) {
            for (int i = 0; i < SLOT_COUNTS_SIZE; i += 4) {
                INT.setVolatile(segment, c + i, 0);
            }
        }
    }

    /**
     * Gives back what slot {@code slot} (lease TID {@code leaseTid}) holds in the robust read-write semaphore
     * at {@code offset}.
     *
     * @param registrations also undo its queued registrations (false when a live process closes the region:
     *                      its own waiting threads deregister themselves as the close ends their waits)
     * @return the number of holds and registrations given back (0 if none, or the object is corrupt)
     */
    public static int undo(MemorySegment segment, long offset, long size, int capacity, int slot, int leaseTid,
                           boolean registrations) {
        long c = countsOffset(segment, offset, size, capacity, slot);
        if (c < 0) {
            return 0;
        }
        int reads = Math.max(0, (int) INT.getAndSet(segment, c + SLOT_READS, 0));
        int ww = registrations ? Math.max(0, (int) INT.getAndSet(segment, c + SLOT_WWAIT, 0)) : 0;
        int rw0 = registrations ? Math.max(0, (int) INT.getAndSet(segment, c + SLOT_RWAIT0, 0)) : 0;
        int rw1 = registrations ? Math.max(0, (int) INT.getAndSet(segment, c + SLOT_RWAIT0 + 4, 0)) : 0;
        boolean wrote = leaseTid != 0
                && INT.compareAndSet(segment, offset + WRITER_LEASE_OFFSET, leaseTid, 0);
        if (wrote) {
            INT.setVolatile(segment, offset + OWNER_DIED_OFFSET, leaseTid); // before the releasing CAS
        }
        if (reads == 0 && ww == 0 && rw0 == 0 && rw1 == 0 && !wrote) {
            return 0;
        }
        long st = offset + STATE_OFFSET;
        long s = (long) LONG.getVolatile(segment, st);
        long n;
        int undone;
        for (;;) {
            if (broken(s) != null) {
                return 0; // corrupt: leave it alone
            }
            boolean phase1 = (s & PHASE) != 0;
            // Registrations made in the current phase still wait; those of the other phase were admitted by
            // the toggle and hold (a second toggle needs READERS = 0, impossible while they hold: §7.3).
            int waiting = phase1 ? rw1 : rw0;
            int admitted = phase1 ? rw0 : rw1;
            int dr = Math.min(reads + admitted, readers(s));
            int drw = Math.min(waiting, rwait(s));
            int dww = Math.min(ww, wwait(s));
            n = s - dr * R1 - drw * RW1 - dww * WW1;
            boolean release = wrote && writer(s);
            if (release) {
                n &= ~WRITER;
                int rwn = rwait(n);
                if (rwn != 0) {
                    n = (n - rwn * RW1 + rwn * R1) ^ PHASE; // T8's hand-off to every queued reader
                }
            }
            n = writer(n) || wwait(n) > 0 ? n | PRESENT : n & ~PRESENT;
            undone = dr + drw + dww + (release ? 1 : 0);
            long w = (long) LONG.compareAndExchange(segment, st, s, n);
            if (w == s) {
                break;
            }
            s = w;
        }
        long base = segment.address() + offset;
        if (((n ^ s) & PHASE) != 0 || (present(s) && !present(n) && rwait(n) != 0)) {
            Futex.wake(base + READ_WORD, Integer.MAX_VALUE, true);
        }
        if (!writer(n) && readers(n) == 0 && wwait(n) != 0) {
            Futex.wake(base + WRITE_WORD, 1, true);
        }
        return undone;
    }
}
