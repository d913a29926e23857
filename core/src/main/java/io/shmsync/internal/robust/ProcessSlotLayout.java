package io.shmsync.internal.robust;

/**
 * One slot of a region's process table (docs/PROTOCOL.md §6.2; a test checks these constants against that
 * table). The first 40 bytes have the shape of a robust mutex: the lease word at 0 is a futex word holding
 * the lease TID of the attached process, and {@code list_next} at 32 links the slot on that process's
 * robust list, so {@code futex_offset} = −32 serves mutexes and slots alike.
 *
 * <pre>
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-----------------------------------------------------------+
 * |W|D|        lease TID (30 bits)          lease (futex word)     |  0
 * +-+-+---------------------------+-------------------------------+
 * |             state             |              pid              |  4, 8
 * +-------------------------------+-------------------------------+
 * |          generation           |   start_time (u64) ...        | 12, 16
 * +-------------------------------+-------------------------------+
 * |                    list_prev (process-local)                  | 24
 * |                    list_next (process-local)                  | 32
 * |                      pid_namespace (u64)                      | 40
 * +-------------------------------+-------------------------------+
 * |           lease_tid           |           reserved            | 48
 * +-------------------------------+-------------------------------+
 * |                      attached_at_ns (u64)                     | 56
 * +---------------------------------------------------------------+
 * </pre>
 * (start_time at 16 is 8-byte aligned; the picture shows 32-bit columns.)
 */
public final class ProcessSlotLayout {
    private ProcessSlotLayout() {
    }

    public static final int LEASE_OFFSET = 0;
    public static final int STATE_OFFSET = 4;
    public static final int PID_OFFSET = 8;
    public static final int GENERATION_OFFSET = 12;
    public static final int START_TIME_OFFSET = 16;
    public static final int LIST_PREV_OFFSET = 24;
    public static final int LIST_NEXT_OFFSET = 32;
    public static final int PID_NAMESPACE_OFFSET = 40;
    public static final int LEASE_TID_OFFSET = 48;
    public static final int RESERVED_OFFSET = 52;
    public static final int ATTACHED_AT_NS_OFFSET = 56;

    public static final int LENGTH = 64;

    public static final int STATE_FREE = 0;
    public static final int STATE_LIVE = 1;
    public static final int STATE_CLEANING = 2;
}
