package io.shmsync.internal.region;

/**
 * One directory entry, docs/PROTOCOL.md §1.4 (a test checks these constants against that table).
 *
 * <pre>
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +---------------------------------------------------------------+
 * |        sequence (seqlock + generation, futex word)            |  0
 * +---------------+---------------+-------------------------------+
 * |     state     |  name_length  |             type              |  4
 * +---------------+---------------+-------------------------------+
 * |                       offset (u64)                            |  8
 * |                        size (u64)                             | 16
 * +---------------------------------------------------------------+
 * |                   name (40 bytes, UTF-8) ...                  | 24
 * +---------------------------------------------------------------+
 * </pre>
 */
public final class DirectoryEntryLayout {
    private DirectoryEntryLayout() {
    }

    public static final int SEQUENCE_OFFSET = 0;
    public static final int STATE_OFFSET = 4;
    public static final int NAME_LENGTH_OFFSET = 5;
    public static final int TYPE_OFFSET = 6;
    public static final int OFFSET_OFFSET = 8;
    public static final int SIZE_OFFSET = 16;
    public static final int NAME_OFFSET = 24;

    public static final int LENGTH = 64;
    public static final int MAX_NAME_BYTES = 40;

    public static final int STATE_FREE = 0;
    public static final int STATE_RESERVED = 1;
    public static final int STATE_LIVE = 2;
}
