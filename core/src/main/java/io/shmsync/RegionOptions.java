package io.shmsync;

import java.util.Set;
import java.util.TreeSet;

/**
 * How a region is created or opened. Immutable; each {@code with…} method returns a copy.
 *
 * <pre>{@code
 * Region r = Region.openOrCreate("jobs", 1 << 20, RegionOptions.defaults().mode(0660).allowOwner(1001));
 * }</pre>
 */
public final class RegionOptions {
    private static final RegionOptions DEFAULTS = new RegionOptions(0600, Set.of(), 0, -1);

    private final int mode;
    private final Set<Integer> allowedOwners;
    private final int directoryCapacity;
    private final int processTableCapacity; // -1: default

    private RegionOptions(int mode, Set<Integer> allowedOwners, int directoryCapacity, int processTableCapacity) {
        this.mode = mode;
        this.allowedOwners = allowedOwners;
        this.directoryCapacity = directoryCapacity;
        this.processTableCapacity = processTableCapacity;
    }

    /**
     * Mode 0600, only regions owned by this process's effective UID, a directory and a process table sized by
     * the region size.
     */
    public static RegionOptions defaults() {
        return DEFAULTS;
    }

    /**
     * The permission bits of a created file (default {@code 0600}; the umask does not apply). Use e.g.
     * {@code 0660} to share a region with a group on purpose.
     */
    public RegionOptions mode(int mode) {
        if ((mode & ~0777) != 0) {
            throw new IllegalArgumentException("mode must be permission bits 0 .. 0777, got 0" + Integer.toOctalString(mode));
        }
        return new RegionOptions(mode, allowedOwners, directoryCapacity, processTableCapacity);
    }

    /**
     * Also accept files owned by this UID when opening. By default a region owned by another user is refused
     * (it could be a trap laid in the world-writable {@code /dev/shm}).
     */
    public RegionOptions allowOwner(int uid) {
        Set<Integer> s = new TreeSet<>(allowedOwners);
        s.add(uid);
        return new RegionOptions(mode, Set.copyOf(s), directoryCapacity, processTableCapacity);
    }

    /** Number of directory entries of a created region (default: one per KiB of region, 16 to 1024). */
    public RegionOptions directoryCapacity(int entries) {
        if (entries < 1 || entries > 65536) {
            throw new IllegalArgumentException("directory capacity must be 1 to 65536, got " + entries);
        }
        return new RegionOptions(mode, allowedOwners, entries, processTableCapacity);
    }

    /**
     * Number of process-table slots of a created region (docs/PROTOCOL.md §6.2): how many processes can use its
     * robust objects ({@link Mutex}, {@link UndoSemaphore}, {@link Region#processes()}) at the same time, dead
     * ones included until they are reclaimed. Default: one per 8 KiB of region, 16 to 256. Each slot takes 64
     * bytes of the region, and each undo semaphore 4 bytes per slot. 0 creates a region without robust objects
     * (plain semaphores only). Ignored when an existing region is opened: its creator chose.
     *
     * @throws IllegalArgumentException if {@code slots} is not 0 to 4096
     */
    public RegionOptions processTableCapacity(int slots) {
        if (slots < 0 || slots > io.shmsync.internal.region.RegionLayout.MAX_PROCESS_TABLE_CAPACITY) {
            throw new IllegalArgumentException("process table capacity must be 0 to "
                    + io.shmsync.internal.region.RegionLayout.MAX_PROCESS_TABLE_CAPACITY + ", got " + slots);
        }
        return new RegionOptions(mode, allowedOwners, directoryCapacity, slots);
    }

    /** @return the requested process-table capacity, or -1 for the default */
    public int processTableCapacity() {
        return processTableCapacity;
    }

    public int mode() {
        return mode;
    }

    public Set<Integer> allowedOwners() {
        return allowedOwners;
    }

    /** @return the requested capacity, or 0 for the default */
    public int directoryCapacity() {
        return directoryCapacity;
    }

    @Override
    public String toString() {
        return "RegionOptions[mode=0" + Integer.toOctalString(mode) + ", allowedOwners=" + allowedOwners
                + ", directoryCapacity=" + (directoryCapacity == 0 ? "default" : directoryCapacity)
                + ", processTableCapacity=" + (processTableCapacity < 0 ? "default" : processTableCapacity) + "]";
    }
}
