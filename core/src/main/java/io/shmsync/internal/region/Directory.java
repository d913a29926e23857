package io.shmsync.internal.region;

import io.shmsync.InvalidRegionException;
import io.shmsync.ObjectType;
import io.shmsync.ObjectTypeMismatchException;
import io.shmsync.RegionFullException;
import io.shmsync.internal.futex.Futex;
import io.shmsync.internal.posix.Posix;

import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.LongConsumer;

import static io.shmsync.internal.region.DirectoryEntryLayout.*;

/**
 * The directory of named objects in a region and its allocator (docs/PROTOCOL.md §1.4).
 *
 * <p>Readers are lock-free (seqlock on each entry's {@code sequence}); writers hold the directory lock
 * (an OFD lock on byte 0 of the file, plus a process-local lock). Every entry is validated before it is
 * returned: the region stays untrusted input for as long as it is mapped.
 */
public final class Directory {
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT;
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG;
    private static final VarHandle SEQUENCE = ValueLayout.JAVA_INT.varHandle();

    private final Mapping mapping;
    private final MemorySegment segment;
    private final Path file;
    private final long directoryOffset;
    private final int capacity;
    private final long heapOffset;
    private final long heapEnd;
    private final long creatorPidNamespace;
    private final long processTableOffset;
    private final int processTableCapacity;

    /** A stable snapshot of one entry. */
    public record Entry(int index, int sequence, int state, int type, long offset, long size, String name) {
    }

    private Directory(Mapping mapping, long directoryOffset, int capacity, long heapOffset, long heapEnd,
                      long creatorPidNamespace, long processTableOffset, int processTableCapacity) {
        this.mapping = mapping;
        this.segment = mapping.segment();
        this.file = mapping.path();
        this.directoryOffset = directoryOffset;
        this.capacity = capacity;
        this.heapOffset = heapOffset;
        this.heapEnd = heapEnd;
        this.creatorPidNamespace = creatorPidNamespace;
        this.processTableOffset = processTableOffset;
        this.processTableCapacity = processTableCapacity;
    }

    /**
     * Writes a fresh header for a region of {@code size} bytes with {@code capacity} entries and the default
     * process table ({@link RegionLayout#defaultProcessTableCapacity(long)}).
     */
    public static void format(MemorySegment s, long size, int capacity, long pidNamespace) {
        format(s, size, capacity, RegionLayout.defaultProcessTableCapacity(size), pidNamespace);
    }

    /**
     * Writes a fresh header: {@code capacity} directory entries, then a process table of
     * {@code processCapacity} slots (docs/PROTOCOL.md §6.2; 0 for none), then the heap.
     */
    public static void format(MemorySegment s, long size, int capacity, int processCapacity, long pidNamespace) {
        long tableOffset = align(RegionLayout.LENGTH + (long) capacity * LENGTH, RegionLayout.ALIGNMENT);
        long heapOffset = align(tableOffset + (long) processCapacity * RegionLayout.PROCESS_SLOT_LENGTH,
                RegionLayout.ALIGNMENT);
        if (heapOffset >= size) {
            throw new IllegalArgumentException("a region of " + size + " bytes has no room for a heap after "
                    + capacity + " directory entries and " + processCapacity + " process slots");
        }
        s.set(LONG, RegionLayout.MAGIC_OFFSET, RegionLayout.MAGIC);
        s.set(INT, RegionLayout.VERSION_OFFSET, RegionLayout.VERSION);
        s.set(INT, RegionLayout.HEADER_LENGTH_OFFSET, RegionLayout.LENGTH);
        s.set(LONG, RegionLayout.REGION_SIZE_OFFSET, size);
        s.set(LONG, RegionLayout.DIRECTORY_OFFSET_OFFSET, RegionLayout.LENGTH);
        s.set(INT, RegionLayout.DIRECTORY_CAPACITY_OFFSET, capacity);
        s.set(INT, RegionLayout.ENTRY_LENGTH_OFFSET, LENGTH);
        s.set(LONG, RegionLayout.HEAP_OFFSET_OFFSET, heapOffset);
        s.set(LONG, RegionLayout.HEAP_SIZE_OFFSET, (size - heapOffset) & -RegionLayout.ALIGNMENT);
        s.set(INT, RegionLayout.CREATOR_PID_OFFSET, Posix.getpid());
        s.set(INT, RegionLayout.CREATOR_UID_OFFSET, Posix.geteuid());
        s.set(LONG, RegionLayout.CREATOR_PID_NAMESPACE_OFFSET, pidNamespace);
        s.set(LONG, RegionLayout.CREATED_AT_NS_OFFSET,
                java.time.Instant.now().getEpochSecond() * 1_000_000_000L + java.time.Instant.now().getNano());
        s.set(INT, RegionLayout.FLAGS_OFFSET, 0);
        s.set(INT, RegionLayout.PROCESS_TABLE_CAPACITY_OFFSET, processCapacity);
        s.set(LONG, RegionLayout.PROCESS_TABLE_OFFSET_OFFSET, processCapacity == 0 ? 0 : tableOffset);
        VarHandle.releaseFence();
    }

    static long align(long v, int a) {
        return (v + a - 1) & -(long) a;
    }

    /**
     * Validates the header and every stable entry (docs/PROTOCOL.md §1.2) and returns the directory.
     *
     * @throws InvalidRegionException naming the file and the first field that is wrong
     */
    public static Directory open(Mapping mapping) throws InvalidRegionException {
        MemorySegment s = mapping.segment();
        Path f = mapping.path();
        long fileSize = s.byteSize();
        if (fileSize < RegionLayout.MIN_REGION_SIZE) {
            throw new InvalidRegionException(f, "region_size", "file has " + fileSize + " bytes, fewer than "
                    + RegionLayout.MIN_REGION_SIZE + " (truncated?)");
        }
        long magic = s.get(LONG, RegionLayout.MAGIC_OFFSET);
        if (magic != RegionLayout.MAGIC) {
            throw new InvalidRegionException(f, "magic", String.format("0x%016x, expected 0x%016x (\"SHMSYNC\\0\"): "
                    + "not a shmsync region", magic, RegionLayout.MAGIC));
        }
        int version = s.get(INT, RegionLayout.VERSION_OFFSET);
        if (version != RegionLayout.VERSION) {
            throw new InvalidRegionException(f, "version", Integer.toUnsignedString(version)
                    + ", this library reads format version " + RegionLayout.VERSION);
        }
        expect(f, "header_length", s.get(INT, RegionLayout.HEADER_LENGTH_OFFSET), RegionLayout.LENGTH);
        expect(f, "flags", s.get(INT, RegionLayout.FLAGS_OFFSET), 0);
        long regionSize = s.get(LONG, RegionLayout.REGION_SIZE_OFFSET);
        if (regionSize != fileSize) {
            throw new InvalidRegionException(f, "region_size", Long.toUnsignedString(regionSize)
                    + " but the file has " + fileSize + " bytes" + (Long.compareUnsigned(regionSize, fileSize) > 0
                    ? " (truncated?)" : ""));
        }
        if (regionSize % RegionLayout.PAGE_SIZE != 0) {
            throw new InvalidRegionException(f, "region_size", regionSize + " is not a multiple of "
                    + RegionLayout.PAGE_SIZE);
        }
        expect(f, "entry_length", s.get(INT, RegionLayout.ENTRY_LENGTH_OFFSET), LENGTH);
        long dirOffset = s.get(LONG, RegionLayout.DIRECTORY_OFFSET_OFFSET);
        if (dirOffset != RegionLayout.LENGTH) {
            throw new InvalidRegionException(f, "directory_offset", Long.toUnsignedString(dirOffset) + ", expected "
                    + RegionLayout.LENGTH);
        }
        int cap = s.get(INT, RegionLayout.DIRECTORY_CAPACITY_OFFSET);
        if (cap < 1 || cap > RegionLayout.MAX_DIRECTORY_CAPACITY) {
            throw new InvalidRegionException(f, "directory_capacity", Integer.toUnsignedString(cap)
                    + ", must be 1 to " + RegionLayout.MAX_DIRECTORY_CAPACITY);
        }
        long dirEnd = dirOffset + (long) cap * LENGTH;
        long heapOffset = s.get(LONG, RegionLayout.HEAP_OFFSET_OFFSET);
        if (heapOffset % RegionLayout.ALIGNMENT != 0 || Long.compareUnsigned(heapOffset, dirEnd) < 0
                || Long.compareUnsigned(heapOffset, regionSize) >= 0) {
            throw new InvalidRegionException(f, "heap_offset", Long.toUnsignedString(heapOffset)
                    + ", must be a multiple of 64 in [" + dirEnd + ", " + regionSize + ")");
        }
        long heapSize = s.get(LONG, RegionLayout.HEAP_SIZE_OFFSET);
        if (heapSize % RegionLayout.ALIGNMENT != 0 || Long.compareUnsigned(heapSize, regionSize - heapOffset) > 0) {
            throw new InvalidRegionException(f, "heap_size", Long.toUnsignedString(heapSize)
                    + ", must be a multiple of 64 and at most " + (regionSize - heapOffset));
        }
        int ptCap = s.get(INT, RegionLayout.PROCESS_TABLE_CAPACITY_OFFSET);
        long ptOffset = s.get(LONG, RegionLayout.PROCESS_TABLE_OFFSET_OFFSET);
        if (ptCap < 0 || ptCap > RegionLayout.MAX_PROCESS_TABLE_CAPACITY) {
            throw new InvalidRegionException(f, "process_table_capacity", Integer.toUnsignedString(ptCap)
                    + ", must be 0 to " + RegionLayout.MAX_PROCESS_TABLE_CAPACITY);
        }
        long ptExpected = ptCap == 0 ? 0 : align(dirEnd, RegionLayout.ALIGNMENT);
        if (ptOffset != ptExpected) {
            throw new InvalidRegionException(f, "process_table_offset", Long.toUnsignedString(ptOffset)
                    + ", expected " + ptExpected + (ptCap == 0 ? " (no process table)"
                    : " (the end of the directory, 64-aligned)"));
        }
        if (ptCap != 0 && ptOffset + (long) ptCap * RegionLayout.PROCESS_SLOT_LENGTH > heapOffset) {
            throw new InvalidRegionException(f, "process_table_capacity", ptCap + " slots of "
                    + RegionLayout.PROCESS_SLOT_LENGTH + " bytes at " + ptOffset + " overlap the heap at "
                    + heapOffset);
        }
        Directory d = new Directory(mapping, dirOffset, cap, heapOffset, heapOffset + heapSize,
                s.get(LONG, RegionLayout.CREATOR_PID_NAMESPACE_OFFSET), ptOffset, ptCap);
        d.validateAll();
        return d;
    }

    private static void expect(Path f, String field, int actual, int expected) throws InvalidRegionException {
        if (actual != expected) {
            throw new InvalidRegionException(f, field, Integer.toUnsignedString(actual) + ", expected " + expected);
        }
    }

    public Mapping mapping() {
        return mapping;
    }

    public int capacity() {
        return capacity;
    }

    public long heapSize() {
        return heapEnd - heapOffset;
    }

    public long creatorPidNamespace() {
        return creatorPidNamespace;
    }

    /** Offset of the process table (docs/PROTOCOL.md §6.2), 0 if the region has none. */
    public long processTableOffset() {
        return processTableOffset;
    }

    /** Number of process-table slots, 0 if the region has none. */
    public int processTableCapacity() {
        return processTableCapacity;
    }

    /** The LIVE entries of {@code type} (each validated), for scans such as a dead process's cleanup. */
    public List<Entry> entriesOfType(ObjectType type) {
        List<Entry> list = new ArrayList<>();
        for (Entry e : entries()) {
            if (e.state() == STATE_LIVE && e.type() == type.code()) {
                list.add(e);
            }
        }
        return list;
    }

    /** Offset of entry {@code i}'s {@code sequence} word from the start of the region. */
    public long entryOffset(int i) {
        return directoryOffset + (long) i * LENGTH;
    }

    // ---------------------------------------------------------------- reading (lock-free)

    /**
     * Reads entry {@code i} consistently.
     *
     * @return the entry, or null if it is FREE or being changed by a writer (odd sequence)
     */
    Entry read(int i) {
        long e = entryOffset(i);
        for (int spins = 0; ; spins++) {
            int s1 = (int) SEQUENCE.getAcquire(segment, e + SEQUENCE_OFFSET);
            if ((s1 & 1) != 0) {
                return null;
            }
            int state = Byte.toUnsignedInt(segment.get(ValueLayout.JAVA_BYTE, e + STATE_OFFSET));
            int nameLength = Byte.toUnsignedInt(segment.get(ValueLayout.JAVA_BYTE, e + NAME_LENGTH_OFFSET));
            int type = Short.toUnsignedInt(segment.get(ValueLayout.JAVA_SHORT_UNALIGNED, e + TYPE_OFFSET));
            long offset = segment.get(LONG, e + OFFSET_OFFSET);
            long size = segment.get(LONG, e + SIZE_OFFSET);
            byte[] name = new byte[Math.min(nameLength, MAX_NAME_BYTES)];
            MemorySegment.copy(segment, ValueLayout.JAVA_BYTE, e + NAME_OFFSET, name, 0, name.length);
            VarHandle.loadLoadFence();
            int s2 = (int) SEQUENCE.get(segment, e + SEQUENCE_OFFSET);
            if (s1 != s2) {
                if (spins > 1000) {
                    return null; // a writer keeps changing it; treat as busy
                }
                Thread.onSpinWait();
                continue;
            }
            if (state == STATE_FREE) {
                return null;
            }
            return new Entry(i, s1, state, type, offset, size, nameLength <= MAX_NAME_BYTES
                    ? decode(name) : null);
        }
    }

    private static String decode(byte[] bytes) {
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            return null;
        }
    }

    /** Checks one stable, non-FREE entry (docs/PROTOCOL.md §1.2). */
    private void check(Entry e) throws InvalidRegionException {
        String where = "directory entry " + e.index();
        if (e.state() != STATE_RESERVED && e.state() != STATE_LIVE) {
            throw new InvalidRegionException(file, where + " state", e.state() + ", must be 0, 1 or 2");
        }
        if (e.name() == null || e.name().isEmpty()) {
            throw new InvalidRegionException(file, where + " name", "name_length must be 1 to " + MAX_NAME_BYTES
                    + " bytes of valid UTF-8");
        }
        if (e.state() == STATE_LIVE) {
            ObjectType t = ObjectType.ofCode(e.type());
            if (t == null) {
                throw new InvalidRegionException(file, where + " type", e.type() + " is not a known object type");
            }
            long off = e.offset();
            long size = e.size();
            if (off % RegionLayout.ALIGNMENT != 0 || off < heapOffset || off >= heapEnd) {
                throw new InvalidRegionException(file, where + " offset", Long.toUnsignedString(off)
                        + ", must be a multiple of 64 inside the heap [" + heapOffset + ", " + heapEnd + ")");
            }
            if (size <= 0 || size % RegionLayout.ALIGNMENT != 0 || size > heapEnd - off) {
                throw new InvalidRegionException(file, where + " size", Long.toUnsignedString(size)
                        + ", must be a positive multiple of 64 ending inside the heap (offset " + off
                        + ", heap end " + heapEnd + ")");
            }
            if (size < t.minimumSize()) {
                throw new InvalidRegionException(file, where + " size", size + " is smaller than a " + t
                        + " (" + t.minimumSize() + " bytes)");
            }
        }
    }

    /** Validates all stable entries: each on its own, names unique, LIVE objects not overlapping. */
    void validateAll() throws InvalidRegionException {
        List<Entry> live = new ArrayList<>();
        Set<String> names = new HashSet<>();
        for (int i = 0; i < capacity; i++) {
            Entry e = read(i);
            if (e == null) {
                continue;
            }
            check(e);
            if (!names.add(e.name())) {
                throw new InvalidRegionException(file, "directory entry " + i + " name", "\"" + e.name()
                        + "\" appears twice in the directory");
            }
            if (e.state() == STATE_LIVE) {
                live.add(e);
            }
        }
        sortedExtents(live);
    }

    /** Sorts LIVE entries by offset and refuses overlaps. */
    private List<Entry> sortedExtents(List<Entry> live) throws InvalidRegionException {
        live.sort(Comparator.comparingLong(Entry::offset));
        for (int k = 1; k < live.size(); k++) {
            Entry a = live.get(k - 1), b = live.get(k);
            if (a.offset() + a.size() > b.offset()) {
                throw new InvalidRegionException(file, "directory entry " + b.index() + " offset",
                        "object \"" + b.name() + "\" [" + b.offset() + ", " + (b.offset() + b.size())
                                + ") overlaps object \"" + a.name() + "\" [" + a.offset() + ", "
                                + (a.offset() + a.size()) + ")");
            }
        }
        return live;
    }

    /** Lock-free lookup of a validated, non-FREE entry by name; null if absent. */
    public Entry lookup(String name) {
        for (int i = 0; i < capacity; i++) {
            Entry e = read(i);
            if (e != null && name.equals(e.name())) {
                try {
                    check(e);
                } catch (InvalidRegionException x) {
                    throw new UncheckedIOException(x);
                }
                return e;
            }
        }
        return null;
    }

    /** A snapshot of all non-FREE entries (each validated). */
    public List<Entry> entries() {
        List<Entry> all = new ArrayList<>();
        for (int i = 0; i < capacity; i++) {
            Entry e = read(i);
            if (e != null) {
                try {
                    check(e);
                } catch (InvalidRegionException x) {
                    throw new UncheckedIOException(x);
                }
                all.add(e);
            }
        }
        return all;
    }

    // ---------------------------------------------------------------- writing (under the directory lock)

    private void lock() {
        ReentrantLock localLock = mapping.directoryLock();
        localLock.lock();
        try {
            if (mapping.isClosed()) {
                throw new IllegalStateException(file + " was closed by this process");
            }
            boolean virtual = Thread.currentThread().isVirtual();
            for (long backoff = 1_000; ; backoff = Math.min(backoff * 2, 1_000_000)) {
                // A virtual thread must not block its carrier in F_OFD_SETLKW: it tries and sleeps instead.
                int r = Posix.ofdLock(mapping.fd(), !virtual, true);
                if (r == 0) {
                    return;
                }
                if (r == -Posix.EINTR) {
                    continue;
                }
                if (r == -Posix.EAGAIN || r == -Posix.EACCES) {
                    java.util.concurrent.locks.LockSupport.parkNanos(backoff);
                    continue;
                }
                throw new UncheckedIOException(io.shmsync.internal.posix.Errors.io("fcntl(F_OFD_SETLKW)",
                        file.toString(), -r));
            }
        } catch (RuntimeException | Error e) {
            localLock.unlock();
            throw e;
        }
    }

    private void unlock() {
        try {
            Posix.ofdLock(mapping.fd(), false, false);
        } finally {
            mapping.directoryLock().unlock();
        }
    }

    /** Under the lock: entries left odd by a writer that died mid-change become FREE (PROTOCOL §1.4 step 1). */
    private void repair() {
        for (int i = 0; i < capacity; i++) {
            long e = entryOffset(i);
            int s = (int) SEQUENCE.getVolatile(segment, e + SEQUENCE_OFFSET);
            if ((s & 1) != 0) {
                clearFields(e);
                SEQUENCE.setRelease(segment, e + SEQUENCE_OFFSET, s + 1);
                Futex.wake(segment.address() + e + SEQUENCE_OFFSET, Integer.MAX_VALUE, true);
            }
        }
    }

    private void clearFields(long e) {
        segment.asSlice(e + STATE_OFFSET, LENGTH - STATE_OFFSET).fill((byte) 0);
    }

    /** Begins a change of entry at {@code e}: sequence becomes odd, ordered before the field stores. */
    private int beginChange(long e) {
        return (int) SEQUENCE.getAndAdd(segment, e + SEQUENCE_OFFSET, 1) + 1;
    }

    /** Ends a change: sequence becomes even, with release order after the field stores. */
    private int endChange(long e, int odd) {
        SEQUENCE.setRelease(segment, e + SEQUENCE_OFFSET, odd + 1);
        return odd + 1;
    }

    private void writeName(long e, byte[] name) {
        segment.set(ValueLayout.JAVA_BYTE, e + NAME_LENGTH_OFFSET, (byte) name.length);
        MemorySegment.copy(name, 0, segment, ValueLayout.JAVA_BYTE, e + NAME_OFFSET, name.length);
    }

    /** Checks an object name: 1 to 40 bytes of UTF-8, no control characters. */
    public static byte[] checkName(String name) {
        if (name == null || name.isEmpty()) {
            throw new IllegalArgumentException("object name must not be empty");
        }
        for (int k = 0; k < name.length(); k++) {
            if (Character.isISOControl(name.charAt(k))) {
                throw new IllegalArgumentException("object name must not contain control characters: "
                        + name.replaceAll("\\p{Cntrl}", "?"));
            }
        }
        byte[] b;
        try {
            ByteBuffer bb = StandardCharsets.UTF_8.newEncoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).encode(java.nio.CharBuffer.wrap(name));
            b = new byte[bb.remaining()];
            bb.get(b);
        } catch (CharacterCodingException e) {
            throw new IllegalArgumentException("object name is not valid Unicode (unpaired surrogate?): "
                    + name.chars().mapToObj(c -> String.format("\\u%04x", c)).reduce("", String::concat));
        }
        if (b.length > MAX_NAME_BYTES) {
            throw new IllegalArgumentException("object name \"" + name + "\" has " + b.length
                    + " UTF-8 bytes, at most " + MAX_NAME_BYTES + " are allowed");
        }
        return b;
    }

    /**
     * Gets the LIVE object {@code name} of {@code type}, or creates it: {@code size} bytes, zeroed, then
     * {@code init} is given its offset to write the initial image. Of many racing processes exactly one
     * creates it.
     */
    public Entry getOrCreate(String name, ObjectType type, long size, LongConsumer init) {
        byte[] nameBytes = checkName(name);
        Entry e = lookup(name);
        if (e != null && e.state() == STATE_LIVE) {
            return checkType(e, type);
        }
        lock();
        try {
            repair();
            e = lookup(name);
            if (e != null && e.state() == STATE_LIVE) {
                return checkType(e, type);
            }
            int index = e != null ? e.index() : freeEntry();
            long offset = allocate(size, name);
            long eo = entryOffset(index);
            int odd = beginChange(eo);
            clearFields(eo);
            segment.asSlice(offset, size).fill((byte) 0);
            init.accept(offset);
            segment.set(ValueLayout.JAVA_BYTE, eo + STATE_OFFSET, (byte) STATE_LIVE);
            segment.set(ValueLayout.JAVA_SHORT_UNALIGNED, eo + TYPE_OFFSET, (short) type.code());
            segment.set(LONG, eo + OFFSET_OFFSET, offset);
            segment.set(LONG, eo + SIZE_OFFSET, size);
            writeName(eo, nameBytes);
            int seq = endChange(eo, odd);
            return new Entry(index, seq, STATE_LIVE, type.code(), offset, size, name);
        } finally {
            unlock();
        }
    }

    private Entry checkType(Entry e, ObjectType type) {
        if (e.type() != type.code()) {
            throw new ObjectTypeMismatchException("\"" + e.name() + "\" in " + file + " is a "
                    + ObjectType.ofCode(e.type()) + ", not a " + type);
        }
        return e;
    }

    /** Lock-free: the LIVE object {@code name} of {@code type}, or null if there is none. */
    public Entry get(String name, ObjectType type) {
        Entry e = lookup(name);
        if (e == null || e.state() != STATE_LIVE) {
            return null;
        }
        return checkType(e, type);
    }

    private int freeEntry() {
        for (int i = 0; i < capacity; i++) {
            long e = entryOffset(i);
            if (segment.get(INT, e + SEQUENCE_OFFSET) % 2 == 0
                    && segment.get(ValueLayout.JAVA_BYTE, e + STATE_OFFSET) == STATE_FREE) {
                return i;
            }
        }
        throw new RegionFullException("the directory of " + file + " is full: all " + capacity
                + " entries are in use (create the region with a larger directory capacity)");
    }

    /** First fit in the complement of the LIVE extents (under the lock). */
    private long allocate(long size, String forName) {
        List<Entry> live = new ArrayList<>();
        for (int i = 0; i < capacity; i++) {
            Entry e = read(i);
            if (e != null && e.state() == STATE_LIVE) {
                try {
                    check(e);
                } catch (InvalidRegionException x) {
                    throw new UncheckedIOException(x);
                }
                live.add(e);
            }
        }
        try {
            sortedExtents(live);
        } catch (InvalidRegionException x) {
            throw new UncheckedIOException(x);
        }
        long cursor = heapOffset;
        for (Entry e : live) {
            if (e.offset() - cursor >= size) {
                return cursor;
            }
            cursor = Math.max(cursor, e.offset() + e.size());
        }
        if (heapEnd - cursor >= size) {
            return cursor;
        }
        long used = live.stream().mapToLong(Entry::size).sum();
        throw new RegionFullException("no room for " + size + " bytes for \"" + forName + "\" in " + file
                + ": heap " + (heapEnd - heapOffset) + " bytes, " + used + " in use by " + live.size()
                + " objects, largest gap too small");
    }

    /**
     * Reserves a fresh name {@code prefix + n} (smallest n >= 1 not in use) as a RESERVED entry: the seed's
     * {@code get_and_reserve_an_unused_name()}. Atomic across processes.
     */
    public String reserveUnusedName(String prefix) {
        checkName(prefix + "1");
        lock();
        try {
            repair();
            Set<String> used = new HashSet<>();
            for (int i = 0; i < capacity; i++) {
                Entry e = read(i);
                if (e != null) {
                    used.add(e.name());
                }
            }
            for (long n = 1; ; n++) {
                String candidate = prefix + n;
                if (candidate.getBytes(StandardCharsets.UTF_8).length > MAX_NAME_BYTES) {
                    throw new RegionFullException("no unused name with prefix \"" + prefix + "\" fits in "
                            + MAX_NAME_BYTES + " bytes");
                }
                if (!used.contains(candidate)) {
                    int index = freeEntry();
                    long eo = entryOffset(index);
                    int odd = beginChange(eo);
                    clearFields(eo);
                    segment.set(ValueLayout.JAVA_BYTE, eo + STATE_OFFSET, (byte) STATE_RESERVED);
                    writeName(eo, candidate.getBytes(StandardCharsets.UTF_8));
                    endChange(eo, odd);
                    return candidate;
                }
            }
        } finally {
            unlock();
        }
    }

    /**
     * Removes the entry {@code name} (an object or a reserved name): its generation changes, waiters in
     * all processes are woken and fail, and its space becomes free.
     *
     * @return false if there was no such entry
     */
    public boolean remove(String name) {
        checkName(name);
        lock();
        try {
            repair();
            Entry e = lookup(name);
            if (e == null) {
                return false;
            }
            long eo = entryOffset(e.index());
            int odd = beginChange(eo);
            clearFields(eo);
            endChange(eo, odd);
            Futex.wake(segment.address() + eo + SEQUENCE_OFFSET, Integer.MAX_VALUE, true);
            return true;
        } finally {
            unlock();
        }
    }

    @Override
    public String toString() {
        return "Directory[" + file + ", capacity " + capacity + ", heap " + Arrays.toString(
                new long[]{heapOffset, heapEnd}) + "]";
    }
}
