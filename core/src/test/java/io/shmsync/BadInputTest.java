package io.shmsync;

import io.shmsync.internal.region.DirectoryEntryLayout;
import io.shmsync.internal.region.RegionLayout;
import io.shmsync.testing.Child;
import io.shmsync.testing.ChildJvm;
import io.shmsync.testing.ShmDir;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Hostile region files: every malformed header or directory gives an {@link InvalidRegionException} naming
 * the file and the field (never a crash, never a leaked descriptor); files that are not regular files, or
 * belong to another user, are refused; corruption written after open is found by later lookups.
 */
class BadInputTest {
    static final int SIZE = 16384;
    static final int CAPACITY = 16;

    @RegisterExtension
    final ShmDir shm = new ShmDir();

    static long offsetOf(Region r, String name) {
        return r.entries().stream().filter(e -> e.name().equals(name)).findFirst().orElseThrow().offset();
    }

    static long entry(int i) {
        return RegionLayout.LENGTH + 64L * i;
    }

    /** Where things are in the valid region (read from its header: the layout may grow). */
    record Ctx(Path file, long heap, long heapSize) {
        long heapEnd() {
            return heap + heapSize;
        }
    }

    /**
     * A valid region with semaphores "a" (entry 0, at the start of the heap) and "b" (entry 1, right after
     * it), closed.
     */
    static Ctx validRegion(String name) throws IOException {
        Path file;
        try (Region r = Region.create(name, SIZE, RegionOptions.defaults().directoryCapacity(CAPACITY))) {
            r.semaphore("a", 1);
            r.semaphore("b", 2);
            file = r.file();
        }
        try (Patcher p = new Patcher(file)) {
            Ctx c = new Ctx(file, p.readU64(RegionLayout.HEAP_OFFSET_OFFSET), p.readU64(RegionLayout.HEAP_SIZE_OFFSET));
            assertEquals(c.heap(), p.readU64(entry(0) + DirectoryEntryLayout.OFFSET_OFFSET), "a at the heap start");
            assertEquals(c.heap() + 64, p.readU64(entry(1) + DirectoryEntryLayout.OFFSET_OFFSET), "b after a");
            return c;
        }
    }

    /** Writes little-endian values into a file. */
    static final class Patcher implements AutoCloseable {
        final FileChannel ch;

        Patcher(Path p) throws IOException {
            ch = FileChannel.open(p, StandardOpenOption.READ, StandardOpenOption.WRITE);
        }

        Patcher u8(long off, int v) throws IOException {
            return bytes(off, new byte[]{(byte) v});
        }

        Patcher u16(long off, int v) throws IOException {
            return put(off, ByteBuffer.allocate(2).order(ByteOrder.LITTLE_ENDIAN).putShort((short) v));
        }

        Patcher u32(long off, long v) throws IOException {
            return put(off, ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt((int) v));
        }

        Patcher u64(long off, long v) throws IOException {
            return put(off, ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(v));
        }

        Patcher bytes(long off, byte[] b) throws IOException {
            return put(off, ByteBuffer.wrap(b).position(b.length));
        }

        long readU64(long off) throws IOException {
            ByteBuffer b = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            ch.read(b, off);
            return b.getLong(0);
        }

        Patcher name(int entry, byte[] name) throws IOException {
            u8(entry(entry) + DirectoryEntryLayout.NAME_LENGTH_OFFSET, name.length);
            byte[] padded = new byte[DirectoryEntryLayout.MAX_NAME_BYTES];
            System.arraycopy(name, 0, padded, 0, Math.min(name.length, padded.length));
            return bytes(entry(entry) + DirectoryEntryLayout.NAME_OFFSET, padded);
        }

        private Patcher put(long off, ByteBuffer b) throws IOException {
            b.flip();
            while (b.hasRemaining()) {
                off += ch.write(b, off);
            }
            return this;
        }

        @Override
        public void close() throws IOException {
            ch.close();
        }
    }

    interface Corruption {
        void apply(Patcher p, Ctx c) throws IOException;
    }

    static Arguments bad(String label, String field, Corruption c) {
        return Arguments.of(label, field, c);
    }

    static final long E0 = entry(0), E1 = entry(1);

    static Stream<Arguments> corruptions() {
        return Stream.of(
                bad("file shorter than 4096", "file size", (p, c) -> p.ch.truncate(4095)),
                bad("file of 100 bytes", "file size", (p, c) -> p.ch.truncate(100)),
                bad("empty file", "file size", (p, c) -> p.ch.truncate(0)),
                bad("header says bigger than the file", "region_size", (p, c) -> p.u64(16, SIZE * 2L)),
                bad("file truncated below region_size", "region_size", (p, c) -> p.ch.truncate(8192)),
                bad("file longer than region_size", "region_size", (p, c) -> p.u64(SIZE + 4095, 0).u8(SIZE + 4095, 0)),
                bad("region_size not a page multiple", "region_size", (p, c) -> {
                    p.u8(SIZE + 99, 0);
                    p.u64(16, SIZE + 100);
                }),
                bad("region_size huge", "region_size", (p, c) -> p.u64(16, -4096L)),
                bad("wrong magic", "magic", (p, c) -> p.u64(0, 0x00434E59534D4854L)),
                bad("zero magic", "magic", (p, c) -> p.u64(0, 0)),
                bad("version 2", "version", (p, c) -> p.u32(8, 2)),
                bad("version 0", "version", (p, c) -> p.u32(8, 0)),
                bad("version 0xFFFFFFFF", "version", (p, c) -> p.u32(8, 0xFFFFFFFFL)),
                bad("header_length 64", "header_length", (p, c) -> p.u32(12, 64)),
                bad("flags 1", "flags", (p, c) -> p.u32(80, 1)),
                bad("flags high bit", "flags", (p, c) -> p.u32(80, 0x80000000L)),
                bad("entry_length 32", "entry_length", (p, c) -> p.u32(36, 32)),
                bad("directory_offset 256", "directory_offset", (p, c) -> p.u64(24, 256)),
                bad("directory_offset huge", "directory_offset", (p, c) -> p.u64(24, Long.MIN_VALUE + 128)),
                bad("directory_capacity 0", "directory_capacity", (p, c) -> p.u32(32, 0)),
                bad("directory_capacity 65537", "directory_capacity", (p, c) -> p.u32(32, 65537)),
                bad("directory_capacity 0xFFFFFFFF", "directory_capacity", (p, c) -> p.u32(32, 0xFFFFFFFFL)),
                bad("directory_capacity 65536 overlaps the heap", "heap_offset|process_table.*", (p, c) -> p.u32(32, 65536)),
                bad("heap_offset past the end", "heap_offset", (p, c) -> p.u64(40, SIZE + 64)),
                bad("heap_offset at the end", "heap_offset", (p, c) -> p.u64(40, SIZE)),
                bad("heap_offset huge", "heap_offset", (p, c) -> p.u64(40, -64L)),
                bad("heap_offset inside the directory", "heap_offset|process_table.*", (p, c) -> p.u64(40, 256)),
                bad("heap_offset not 64-aligned", "heap_offset", (p, c) -> p.u64(40, c.heap() + 8)),
                bad("heap_size past the end", "heap_size", (p, c) -> p.u64(48, c.heapSize() + 64 + (SIZE - c.heapEnd()))),
                bad("heap_size huge", "heap_size", (p, c) -> p.u64(48, -64L)),
                bad("heap_size not 64-aligned", "heap_size", (p, c) -> p.u64(48, 100)),
                bad("entry offset past the end", "directory entry 0 offset", (p, c) -> p.u64(E0 + 8, SIZE + 64)),
                bad("entry offset huge", "directory entry 0 offset", (p, c) -> p.u64(E0 + 8, -64L)),
                bad("entry offset in the directory", "directory entry 0 offset", (p, c) -> p.u64(E0 + 8, 128)),
                bad("entry offset in the header", "directory entry 0 offset", (p, c) -> p.u64(E0 + 8, 0)),
                bad("entry offset not 64-aligned", "directory entry 0 offset", (p, c) -> p.u64(E0 + 8, c.heap() + 8)),
                bad("entry size not a multiple of 64", "directory entry 0 size", (p, c) -> p.u64(E0 + 16, 100)),
                bad("entry size 0", "directory entry 0 size", (p, c) -> p.u64(E0 + 16, 0)),
                bad("entry size negative", "directory entry 0 size", (p, c) -> p.u64(E0 + 16, -64L)),
                bad("entry size past the heap", "directory entry 1 size", (p, c) -> p.u64(E1 + 16, c.heapSize())),
                bad("entry size overflowing", "directory entry 1 size", (p, c) -> p.u64(E1 + 16, Long.MAX_VALUE & -64L)),
                bad("two LIVE objects overlap", "directory entry 1 offset", (p, c) -> p.u64(E0 + 16, 128)),
                bad("two LIVE objects at the same offset", "directory entry", (p, c) -> p.u64(E1 + 8, c.heap())),
                bad("invalid UTF-8 name", "directory entry 0 name", (p, c) -> p.name(0, new byte[]{(byte) 0xC3, 0x28})),
                bad("overlong UTF-8 name", "directory entry 0 name", (p, c) -> p.name(0, new byte[]{(byte) 0xC0, (byte) 0xAF})),
                bad("truncated UTF-8 sequence", "directory entry 0 name", (p, c) -> p.name(0, new byte[]{'x', (byte) 0xE2, (byte) 0x82})),
                bad("name_length 0", "directory entry 0 name", (p, c) -> p.u8(E0 + 5, 0)),
                bad("name_length 41", "directory entry 0 name", (p, c) -> p.u8(E0 + 5, 41)),
                bad("name_length 255", "directory entry 0 name", (p, c) -> p.u8(E0 + 5, 255)),
                bad("duplicate names", "directory entry 1 name", (p, c) -> p.name(1, "a".getBytes(StandardCharsets.UTF_8))),
                bad("state 3", "directory entry 0 state", (p, c) -> p.u8(E0 + 4, 3)),
                bad("state 255", "directory entry 0 state", (p, c) -> p.u8(E0 + 4, 255)),
                bad("unknown type 0x7FFF", "directory entry 0 type", (p, c) -> p.u16(E0 + 6, 0x7FFF)),
                bad("type 0 on a LIVE entry", "directory entry 0 type", (p, c) -> p.u16(E0 + 6, 0)),
                bad("type 0xFFFF", "directory entry 0 type", (p, c) -> p.u16(E0 + 6, 0xFFFF)),
                bad("a forged LIVE entry in a free slot outside the heap", "directory entry 5 offset", (p, c) -> {
                    p.u8(entry(5) + 4, 2).u16(entry(5) + 6, 1).u64(entry(5) + 8, 64).u64(entry(5) + 16, 64)
                            .name(5, "evil".getBytes(StandardCharsets.UTF_8));
                }),
                bad("a RESERVED entry with the name of a LIVE one", "directory entry 6 name", (p, c) -> {
                    p.u8(entry(6) + 4, 1).name(6, "b".getBytes(StandardCharsets.UTF_8));
                }));
    }

    static InvalidRegionException assertInvalid(String region, Path file, String field) {
        InvalidRegionException e = assertThrows(InvalidRegionException.class, () -> Region.open(region).close(),
                "expected an InvalidRegionException naming " + field);
        assertEquals(file, e.file(), e.getMessage());
        assertTrue(e.getMessage().contains(file.toString()), "message names the file: " + e.getMessage());
        assertTrue(e.field().matches("(?s).*(" + field + ").*"), "field \"" + e.field() + "\" should name " + field + ": "
                + e.getMessage());
        assertTrue(e.getMessage().contains(e.field()), "message names the field: " + e.getMessage());
        return e;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("corruptions")
    void corruptHeaderOrDirectoryIsRefused(String label, String field, Corruption c) throws Exception {
        String name = shm.regionName("bad");
        Ctx ctx = validRegion(name);
        try (Patcher p = new Patcher(ctx.file())) {
            c.apply(p, ctx);
        }
        InvalidRegionException e = assertInvalid(name, ctx.file(), field);
        System.out.println("BadInputTest: " + label + " -> " + e.getMessage());
        // openOrCreate must not "repair" a bad file by replacing it either.
        assertThrows(InvalidRegionException.class, () -> Region.openOrCreate(name, SIZE).close());
    }

    /** Hundreds of refused opens leak neither descriptors nor mappings. */
    @Test
    void refusedOpensLeakNothing() throws Exception {
        String name = shm.regionName("leak");
        Ctx ctx = validRegion(name);
        Path file = ctx.file();
        try (Patcher p = new Patcher(file)) {
            p.u64(E1 + 8, ctx.heap()); // overlap: detected last, after the file was mapped and the header checked
        }
        long fds = countFds(), maps = countMappings(file);
        for (int i = 0; i < 300; i++) {
            assertThrows(InvalidRegionException.class, () -> Region.open(name));
        }
        // Other threads of this JVM may open or close a few descriptors meanwhile; a leak would be 300.
        long leaked = countFds() - fds;
        assertTrue(leaked < 50, leaked + " descriptors leaked by 300 refused opens");
        assertEquals(maps, countMappings(file), "mappings leaked");
    }

    static long countFds() throws IOException {
        try (Stream<Path> s = Files.list(Path.of("/proc/self/fd"))) {
            return s.count();
        }
    }

    static long countMappings(Path file) throws IOException {
        return Files.readAllLines(Path.of("/proc/self/maps")).stream().filter(l -> l.endsWith(file.toString())).count();
    }

    /** An entry left odd (a writer died mid-change) is skipped by readers and repaired by the next writer. */
    @Test
    void oddSequenceIsSkippedAndRepaired() throws Exception {
        String name = shm.regionName("odd");
        Ctx ctx = validRegion(name);
        Path file = ctx.file();
        try (Patcher p = new Patcher(file)) {
            p.u32(E1, 3); // "b": a writer is at work (or died at work); its fields are garbage
            p.u8(E1 + 4, 77).u64(E1 + 8, -1L);
        }
        try (Region r = Region.open(name)) {
            assertEquals(List.of("a"), r.entries().stream().map(RegionEntry::name).toList());
            r.semaphore("c", 0); // a writer: repairs entry 1 first
            RegionEntry c = r.entries().stream().filter(e -> e.name().equals("c")).findFirst().orElseThrow();
            assertEquals(ctx.heap() + 64, c.offset(), "the repaired entry's space is free again");
        }
        try (Patcher p = new Patcher(file)) {
            assertEquals(0, p.readU64(E1) & 1, "sequence even again");
        }
        Region.open(name).close();
    }

    /**
     * A name that exists as another type of object is an error, never a reuse. Only semaphores exist so far
     * in the committed format; this runs as soon as ObjectType has a second type (forged here by hand).
     */
    @Test
    void typeMismatchIsAClearError() throws Exception {
        ObjectType other = java.util.Arrays.stream(ObjectType.values()).filter(t -> t != ObjectType.SEMAPHORE)
                .findFirst().orElse(null);
        Assumptions.assumeTrue(other != null, "only one object type exists");
        String name = shm.regionName("types");
        Ctx ctx = validRegion(name);
        try (Patcher p = new Patcher(ctx.file())) {
            p.u16(E1 + DirectoryEntryLayout.TYPE_OFFSET, other.code());
            p.u64(E1 + DirectoryEntryLayout.SIZE_OFFSET, Math.max(64, other.minimumSize()));
        }
        try (Region r = Region.open(name)) {
            ObjectTypeMismatchException e = assertThrows(ObjectTypeMismatchException.class, () -> r.semaphore("b"));
            assertTrue(e.getMessage().contains("\"b\"") && e.getMessage().contains(other.toString()), e.getMessage());
            assertThrows(ObjectTypeMismatchException.class, () -> r.semaphore("b", 1));
            assertEquals(other, r.entries().stream().filter(x -> x.name().equals("b")).findFirst().orElseThrow().type());
        }
    }

    // ------------------------------------------------------------------ not a regular file

    @Test
    void symbolicLinkIsRefused() throws Exception {
        String target = shm.regionName("target");
        Path real = validRegion(target).file();
        String name = shm.regionName("link");
        Files.createSymbolicLink(Region.path(name), real);
        InvalidRegionException e = assertThrows(InvalidRegionException.class, () -> Region.open(name));
        assertTrue(e.getMessage().contains("symbolic link"), e.getMessage());
        assertTrue(e.getMessage().contains(Region.path(name).toString()), e.getMessage());
        assertThrows(InvalidRegionException.class, () -> Region.openOrCreate(name, SIZE));
        // A dangling link: refused too, and not created through.
        String dangling = shm.regionName("dangling");
        Path victim = shm.path().resolve("victim");
        Files.createSymbolicLink(Region.path(dangling), victim);
        assertThrows(InvalidRegionException.class, () -> Region.openOrCreate(dangling, SIZE));
        assertFalse(Files.exists(victim), "nothing created through the link");
        // The same for POSIX semaphores.
        String sem = shm.semName();
        Files.createSymbolicLink(PosixSemaphore.path(sem), real);
        e = assertThrows(InvalidRegionException.class, () -> PosixSemaphore.open(sem));
        assertTrue(e.getMessage().contains("symbolic link"), e.getMessage());
    }

    @Test
    void directoryAndFifoAreRefused() throws Exception {
        String dir = shm.regionName("dir");
        Files.createDirectory(Region.path(dir));
        IOException e = assertThrows(IOException.class, () -> Region.open(dir));
        assertTrue(e.getMessage().contains(Region.path(dir).toString()), e.getMessage());
        String fifo = shm.regionName("fifo");
        Process mk = new ProcessBuilder("mkfifo", Region.path(fifo).toString()).inheritIO().start();
        assertEquals(0, mk.waitFor());
        InvalidRegionException f = assertThrows(InvalidRegionException.class, () -> Region.open(fifo));
        assertTrue(f.getMessage().contains("not a regular file"), f.getMessage());
        assertTrue(f.getMessage().contains(Region.path(fifo).toString()), f.getMessage());
        assertThrows(InvalidRegionException.class, () -> Region.openOrCreate(fifo, SIZE));
        // A directory behind a POSIX semaphore name is refused as well.
        String sem = shm.semName();
        Files.createDirectory(PosixSemaphore.path(sem));
        try {
            assertThrows(IOException.class, () -> PosixSemaphore.open(sem));
        } finally {
            Files.delete(PosixSemaphore.path(sem));
        }
    }

    @Test
    void shortPosixSemaphoreFileIsRefused() throws Exception {
        String sem = shm.semName();
        Files.write(PosixSemaphore.path(sem), new byte[16]);
        Files.setPosixFilePermissions(PosixSemaphore.path(sem), PosixFilePermissions.fromString("rw-------"));
        InvalidRegionException e = assertThrows(InvalidRegionException.class, () -> PosixSemaphore.open(sem));
        assertTrue(e.getMessage().contains(PosixSemaphore.path(sem).toString()), e.getMessage());
    }

    // ------------------------------------------------------------------ other owners

    static boolean isRoot() {
        return "root".equals(System.getProperty("user.name"));
    }

    @Test
    void regionOwnedByAnotherUser() throws Exception {
        Assumptions.assumeTrue(isRoot(), "needs root to give a file away");
        String name = shm.regionName("owned");
        Path file = validRegion(name).file();
        Files.setAttribute(file, "unix:uid", 65534);
        AccessDeniedException e = assertThrows(AccessDeniedException.class, () -> Region.open(name));
        assertTrue(e.getMessage().contains("65534"), e.getMessage());
        assertThrows(AccessDeniedException.class, () -> Region.openOrCreate(name, SIZE));
        try (Region r = Region.open(name, RegionOptions.defaults().allowOwner(65534))) {
            assertEquals(1, r.semaphore("a").availablePermits());
        }
        String sem = shm.semName();
        PosixSemaphore.create(sem, 0600, 1).close();
        Files.setAttribute(PosixSemaphore.path(sem), "unix:uid", 65534);
        assertThrows(AccessDeniedException.class, () -> PosixSemaphore.open(sem));
        try (PosixSemaphore s = PosixSemaphore.open(sem, Set.of(65534))) {
            assertEquals(1, s.availablePermits());
        }
    }

    /** A process running as uid 65534 (setpriv) meets regions made by root. */
    @Test
    @Timeout(60)
    void anotherUserOpensOurRegion() throws Exception {
        Assumptions.assumeTrue(isRoot(), "needs root to drop privileges");
        Process probe = new ProcessBuilder("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "true")
                .redirectErrorStream(true).start();
        Assumptions.assumeTrue(probe.waitFor() == 0, "setpriv does not work here");
        String shared = shm.regionName("shared"), private0600 = shm.regionName("private");
        try (Region r = Region.create(shared, SIZE, RegionOptions.defaults().mode(0666));
             Region p = Region.create(private0600, SIZE)) {
            Semaphore s = r.semaphore("s", 0);
            p.semaphore("s", 0);
            ChildJvm c = shm.start(shm.child(AsOtherUser.class).args(shared, private0600)
                    .wrapper("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups")
                    .classPath(ChildJvm.classDirectoriesOnly()));
            c.awaitLine("uid 65534");
            c.awaitLine("default-owner " + AccessDeniedException.class.getName());
            c.awaitLine("allowed-owner released");
            c.awaitLine("mode-0600 " + AccessDeniedException.class.getName());
            c.assertExit(0);
            assertEquals(1, s.availablePermits(), "the other user's release arrived");
        }
    }

    /** args: SHARED PRIVATE. Runs as another user. */
    public static final class AsOtherUser {
        public static void main(String[] args) {
            Child.run(args, a -> {
                Child.say("uid " + Files.getAttribute(Path.of("/proc/self"), "unix:uid"));
                try (Region r = Region.open(a[0])) {
                    Child.say("default-owner opened! " + r);
                } catch (IOException e) {
                    Child.say("default-owner " + e.getClass().getName() + " " + e.getMessage());
                }
                try (Region r = Region.open(a[0], RegionOptions.defaults().allowOwner(0))) {
                    r.semaphore("s").release();
                    Child.say("allowed-owner released");
                }
                try (Region r = Region.open(a[1], RegionOptions.defaults().allowOwner(0))) {
                    Child.say("mode-0600 opened! " + r);
                } catch (IOException e) {
                    Child.say("mode-0600 " + e.getClass().getName() + " " + e.getMessage());
                }
            });
        }
    }

    // ------------------------------------------------------------------ after open

    @Test
    void corruptionAfterOpenIsFoundByLaterLookups() throws Exception {
        String name = shm.regionName("later");
        try (Region r = Region.create(name, SIZE, RegionOptions.defaults().directoryCapacity(CAPACITY))) {
            Semaphore a = r.semaphore("a", 1);
            r.semaphore("b", 2);
            long heap = offsetOf(r, "a");
            try (Patcher p = new Patcher(r.file())) {
                p.u64(E1 + 8, SIZE + 64); // "b" now points past the end
            }
            UncheckedIOException e = assertThrows(UncheckedIOException.class, () -> r.semaphore("b"));
            InvalidRegionException cause = assertInstanceOf(InvalidRegionException.class, e.getCause());
            assertEquals("directory entry 1 offset", cause.field());
            assertEquals(r.file(), cause.file());
            assertThrows(UncheckedIOException.class, () -> r.semaphore("b", 2));
            assertThrows(UncheckedIOException.class, r::entries);
            // Creating another object validates every LIVE extent first: it refuses to allocate.
            e = assertThrows(UncheckedIOException.class, () -> r.semaphore("c", 0));
            assertInstanceOf(InvalidRegionException.class, e.getCause());
            // An intact object's handle still works.
            assertTrue(a.tryAcquire());
            a.release();
            // Overlap created after open.
            try (Patcher p = new Patcher(r.file())) {
                p.u64(E1 + 8, heap);
            }
            e = assertThrows(UncheckedIOException.class, () -> r.semaphore("c", 0));
            assertTrue(e.getCause().getMessage().contains("overlaps"), e.getCause().getMessage());
            // Repaired by hand: usable again.
            try (Patcher p = new Patcher(r.file())) {
                p.u64(E1 + 8, heap + 64);
            }
            assertEquals(2, r.semaphore("b").availablePermits());
            // Bumping a's sequence (as a removal would) kills its handle.
            try (Patcher p = new Patcher(r.file())) {
                p.u32(E0, a.generation() + 2);
            }
            assertThrows(ObjectRemovedException.class, a::tryAcquire);
        }
    }

    /**
     * A value above SEM_VALUE_MAX written by a hostile peer: release() must refuse (as at SEM_VALUE_MAX)
     * rather than carry into the nwaiters half of the word.
     */
    @Test
    void corruptValueAboveMaxIsNotCarriedIntoWaiters() throws Exception {
        try (Region r = Region.create(shm.regionName("value"), SIZE, RegionOptions.defaults().directoryCapacity(CAPACITY))) {
            Semaphore a = r.semaphore("a", 0);
            long heap = offsetOf(r, "a");
            try (Patcher p = new Patcher(r.file())) {
                p.u64(heap, 0xFFFF_FFFFL);
            }
            assertThrows(IllegalStateException.class, a::release);
            try (Patcher p = new Patcher(r.file())) {
                assertEquals(0xFFFF_FFFFL, p.readU64(heap), "data unchanged");
            }
        }
    }

    @Test
    void overflowAtSemValueMax() throws Exception {
        try (Region r = Region.create(shm.regionName("max"), SIZE)) {
            Semaphore s = r.semaphore("s", Integer.MAX_VALUE);
            assertEquals(Integer.MAX_VALUE, s.availablePermits());
            IllegalStateException e = assertThrows(IllegalStateException.class, s::release);
            assertTrue(e.getMessage().contains("SEM_VALUE_MAX"), e.getMessage());
            assertThrows(IllegalStateException.class, () -> s.release(1));
            assertEquals(Integer.MAX_VALUE, s.availablePermits(), "nothing changed");
            assertEquals(0, s.getQueueLength(), "nothing carried into nwaiters");
            assertTrue(s.tryAcquire());
            assertThrows(IllegalStateException.class, () -> s.release(2));
            s.release();
            assertEquals(Integer.MAX_VALUE, s.drainPermits());
            assertEquals(0, s.availablePermits());
            s.release(Integer.MAX_VALUE);
            assertEquals(Integer.MAX_VALUE, s.availablePermits());
            assertEquals(0, s.getQueueLength());
        }
    }

    /**
     * Another process truncates the file under a live mapping: accesses fault and the JVM turns that into
     * an InternalError (docs/PROTOCOL.md §1.2). Done in a child JVM, so that a crash cannot take the test
     * JVM with it.
     */
    @Test
    @Timeout(60)
    void truncationUnderALiveMappingDoesNotCrash() throws Exception {
        String name = shm.regionName("trunc");
        try (Region r = Region.create(name, SIZE)) {
            r.semaphore("s", 1);
        }
        ChildJvm c = shm.start(shm.child(Truncated.class).args(name));
        c.awaitLine("READY");
        try (FileChannel ch = FileChannel.open(Region.path(name), StandardOpenOption.WRITE)) {
            ch.truncate(0);
        }
        c.send("GO");
        c.awaitLine("tryAcquire " + InternalError.class.getName());
        c.awaitLine("release " + InternalError.class.getName());
        c.awaitLine("closed");
        c.assertExit(0, Duration.ofSeconds(30));
    }

    /** args: REGION. Maps it, waits for GO (the file is truncated meanwhile), then touches it. */
    public static final class Truncated {
        public static void main(String[] args) {
            Child.run(args, a -> {
                Region r = Region.open(a[0]);
                Semaphore s = r.semaphore("s");
                Child.say("READY");
                Child.expect("GO");
                for (String op : new String[]{"tryAcquire", "release", "entries"}) {
                    try {
                        switch (op) {
                            case "tryAcquire" -> s.tryAcquire();
                            case "release" -> s.release();
                            default -> r.entries();
                        }
                        Child.say(op + " returned");
                    } catch (Throwable t) {
                        Child.say(op + " " + t.getClass().getName() + " " + t.getMessage());
                    }
                }
                r.close();
                Child.say("closed");
            });
        }
    }

    // ------------------------------------------------------------------ full file system

    @Test
    @Timeout(60)
    void fullSharedMemoryFileSystem() throws Exception {
        Assumptions.assumeTrue(isRoot(), "needs root to mount a tmpfs");
        Path small = Files.createDirectory(shm.path().resolve("small"));
        Process mount = new ProcessBuilder("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", small.toString())
                .redirectErrorStream(true).start();
        String out = new String(mount.getInputStream().readAllBytes());
        Assumptions.assumeTrue(mount.waitFor() == 0, "cannot mount a tmpfs: " + out);
        shm.closeLater(() -> new ProcessBuilder("umount", small.toString()).inheritIO().start().waitFor());
        String previous = System.setProperty(Region.DIRECTORY_PROPERTY, small.toString());
        try {
            IOException e = assertThrows(IOException.class, () -> Region.create("big", 4 << 20));
            assertTrue(e.getMessage().contains(small.resolve("shmsync.big").toString()), e.getMessage());
            assertTrue(e.getMessage().contains("No space left on device") || e.getMessage().contains("full"),
                    "names the cause: " + e.getMessage());
            try (Stream<Path> files = Files.list(small)) {
                assertEquals(List.of(), files.toList(), "no temp file or region left behind");
            }
            try (Region r = Region.create("fits", 256 * 1024)) {
                assertEquals(0, r.semaphore("s", 0).availablePermits());
            }
            assertThrows(IOException.class, () -> Region.openOrCreate("big2", 4 << 20));
        } finally {
            System.setProperty(Region.DIRECTORY_PROPERTY, previous);
        }
    }

    /** Raw view of a mapped file for tests that write "as another process". */
    static MemorySegment map(Path file, Arena arena) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            return ch.map(FileChannel.MapMode.READ_WRITE, 0, ch.size(), arena);
        }
    }

    @Test
    void writesThroughAnotherMappingAreSeen() throws Exception {
        try (Region r = Region.create(shm.regionName("map"), SIZE, RegionOptions.defaults().directoryCapacity(CAPACITY));
             Arena arena = Arena.ofConfined()) {
            Semaphore a = r.semaphore("a", 0);
            long heap = offsetOf(r, "a");
            MemorySegment raw = map(r.file(), arena);
            raw.set(ValueLayout.JAVA_LONG, heap, 3L | (2L << 32));
            assertEquals(3, a.availablePermits());
            assertEquals(2, a.getQueueLength());
            assertEquals(128, raw.get(ValueLayout.JAVA_INT, heap + 8), "private = FUTEX_SHARED");
        }
    }
}
