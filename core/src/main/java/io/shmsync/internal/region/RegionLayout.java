package io.shmsync.internal.region;

/**
 * The region header, docs/PROTOCOL.md §1.1 (a test checks these constants against that table).
 *
 * <pre>
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +---------------------------------------------------------------+
 * |                 magic "SHMSYNC\0" (u64)                       |  0
 * +-------------------------------+-------------------------------+
 * |          version              |        header_length          |  8
 * +-------------------------------+-------------------------------+
 * |                      region_size (u64)                        | 16
 * |                   directory_offset (u64)                      | 24
 * +-------------------------------+-------------------------------+
 * |      directory_capacity       |         entry_length          | 32
 * +-------------------------------+-------------------------------+
 * |                     heap_offset (u64)                         | 40
 * |                      heap_size (u64)                          | 48
 * +-------------------------------+-------------------------------+
 * |         creator_pid           |          creator_uid          | 56
 * +-------------------------------+-------------------------------+
 * |                creator_pid_namespace (u64)                    | 64
 * |                   created_at_ns (u64)                         | 72
 * +-------------------------------+-------------------------------+
 * |            flags              |    process_table_capacity     | 80
 * +-------------------------------+-------------------------------+
 * |                 process_table_offset (u64)                    | 88
 * |        kernel_attach          |       kernel_generation       | 96
 * |                    reserved (24 bytes) ...                    | 104
 * +---------------------------------------------------------------+
 * </pre>
 */
public final class RegionLayout {
    private RegionLayout() {
    }

    public static final int MAGIC_OFFSET = 0;
    public static final int VERSION_OFFSET = 8;
    public static final int HEADER_LENGTH_OFFSET = 12;
    public static final int REGION_SIZE_OFFSET = 16;
    public static final int DIRECTORY_OFFSET_OFFSET = 24;
    public static final int DIRECTORY_CAPACITY_OFFSET = 32;
    public static final int ENTRY_LENGTH_OFFSET = 36;
    public static final int HEAP_OFFSET_OFFSET = 40;
    public static final int HEAP_SIZE_OFFSET = 48;
    public static final int CREATOR_PID_OFFSET = 56;
    public static final int CREATOR_UID_OFFSET = 60;
    public static final int CREATOR_PID_NAMESPACE_OFFSET = 64;
    public static final int CREATED_AT_NS_OFFSET = 72;
    public static final int FLAGS_OFFSET = 80;
    public static final int PROCESS_TABLE_CAPACITY_OFFSET = 84;
    public static final int PROCESS_TABLE_OFFSET_OFFSET = 88;
    /** Bytes 96..103: reserved for the kernel module (docs/PROTOCOL.md §5); zero here. */
    /** Current attachments by shmsync.ko; changed only by the module (atomic add/subtract). */
    public static final int KERNEL_ATTACH_OFFSET = 96;
    /** Attachments by shmsync.ko ever made; changed only by the module. */
    public static final int KERNEL_GENERATION_OFFSET = 100;
    public static final int RESERVED_OFFSET = 104;

    /** Bytes of the header; also where the directory starts. */
    public static final int LENGTH = 128;

    /** ASCII "SHMSYNC\0" read as a little-endian u64. */
    public static final long MAGIC = 0x00434E59534D4853L;
    public static final int VERSION = 1;
    public static final int PAGE_SIZE = 4096;
    public static final int MIN_REGION_SIZE = PAGE_SIZE;
    public static final int MAX_DIRECTORY_CAPACITY = 65536;
    /** Objects and the heap are aligned to a cache line. */
    public static final int ALIGNMENT = 64;

    /** Bytes per process-table slot (docs/PROTOCOL.md §6.2). */
    public static final int PROCESS_SLOT_LENGTH = 64;
    /** Largest process table (docs/PROTOCOL.md §6.2). */
    public static final int MAX_PROCESS_TABLE_CAPACITY = 4096;

    /**
     * Default process-table capacity for a region of {@code size} bytes: one slot per 8 KiB, 16 … 256
     * ({@code RegionOptions.processTableCapacity} chooses another).
     */
    public static int defaultProcessTableCapacity(long size) {
        return (int) Math.max(16, Math.min(256, size / 8192));
    }

    /** Default directory capacity for a region of {@code size} bytes: one entry per 1 KiB, 16 … 1024. */
    public static int defaultCapacity(long size) {
        return (int) Math.max(16, Math.min(1024, size / 1024));
    }
}
