package io.shmsync.internal.sync;

/**
 * A semaphore whose permits are given back when the process holding them dies (SysV {@code SEM_UNDO}):
 * glibc's {@code sem_t} in the first 32 bytes, exactly as {@link SemaphoreLayout}, then shmsync's undo
 * header, then one signed 32-bit adjustment per process-table slot (docs/PROTOCOL.md §6.8; a test checks
 * these constants against that table).
 *
 * <pre>
 *   0  data (u64)             value | nwaiters &lt;&lt; 32, as SemaphoreLayout
 *   8  private (u32) = 128    12 pad (u32)
 *  16  glibc_reserved (16 bytes)
 *  32  undo_capacity (u32)    = the region's process_table_capacity
 *  36  reserved (28 bytes)
 *  64  adjustment[undo_capacity] (s32 each): permits acquired minus permits released by the process in
 *      that slot; the object is 64 + undo_capacity * 4 bytes, rounded up to 64
 * </pre>
 */
public final class UndoSemaphoreLayout {
    private UndoSemaphoreLayout() {
    }

    public static final int DATA_OFFSET = 0;
    public static final int PRIVATE_OFFSET = 8;
    public static final int PAD_OFFSET = 12;
    public static final int GLIBC_RESERVED_OFFSET = 16;
    public static final int UNDO_CAPACITY_OFFSET = 32;
    public static final int RESERVED_OFFSET = 36;

    /** Size of the header; the adjustments start here. */
    public static final int LENGTH = 64;
    /** Bytes per adjustment. */
    public static final int ADJUSTMENT_SIZE = 4;

    /** Object size for a region whose process table has {@code slots} slots. */
    public static long objectSize(int slots) {
        return LENGTH + (((long) slots * ADJUSTMENT_SIZE + 63) & -64L);
    }
}
