package io.shmsync;

import io.shmsync.internal.region.RegionLayout;
import io.shmsync.testing.Child;
import io.shmsync.testing.ChildJvm;
import io.shmsync.testing.ShmDir;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The directory of named objects and its allocator, region files, listing and unlinking. */
class DirectoryTest {
    @RegisterExtension
    final ShmDir shm = new ShmDir();

    static RegionEntry entry(Region r, String name) {
        return r.entries().stream().filter(e -> e.name().equals(name)).findFirst()
                .orElseThrow(() -> new AssertionError("no entry " + name + " in " + r.entries()));
    }

    // ------------------------------------------------------------------ reserved names

    @Test
    @Timeout(120)
    void reserveUnusedNameIsUniqueAcrossProcesses() throws Exception {
        String name = shm.regionName("reserve");
        try (Region region = Region.create(name, 256 * 1024, RegionOptions.defaults().directoryCapacity(128))) {
            List<ChildJvm> children = new ArrayList<>();
            for (int p = 0; p < 4; p++) {
                children.add(shm.start(shm.child(Reserver.class).name("reserver-" + p).args(name, 20)));
            }
            for (ChildJvm c : children) {
                c.awaitLine("READY");
            }
            for (ChildJvm c : children) {
                c.send("GO");
            }
            List<String> all = new ArrayList<>();
            for (ChildJvm c : children) {
                for (int i = 0; i < 20; i++) {
                    all.add(c.awaitLine("NAME ").substring(5));
                }
                c.assertExit(0);
            }
            Set<String> distinct = new TreeSet<>(all);
            assertEquals(80, distinct.size(), "duplicates among " + all);
            Set<String> expected = IntStream.rangeClosed(1, 80).mapToObj(i -> "worker-" + i)
                    .collect(Collectors.toCollection(TreeSet::new));
            assertEquals(expected, distinct, "the smallest unused numbers");
            List<RegionEntry> entries = region.entries();
            assertEquals(80, entries.size());
            assertTrue(entries.stream().allMatch(RegionEntry::reserved), entries.toString());
            assertEquals("worker-81", region.reserveUnusedName("worker-"));
        }
    }

    /** args: REGION COUNT. Reserves COUNT names "worker-N" after GO, printing "NAME n" for each. */
    public static final class Reserver {
        public static void main(String[] args) {
            Child.run(args, a -> {
                try (Region r = Region.open(a[0])) {
                    Child.say("READY");
                    Child.expect("GO");
                    for (int i = 0; i < Integer.parseInt(a[1]); i++) {
                        Child.say("NAME " + r.reserveUnusedName("worker-"));
                    }
                }
            });
        }
    }

    @Test
    void reservedNameBecomesASemaphore() throws Exception {
        try (Region r = Region.create(shm.regionName("res"), 64 * 1024)) {
            String n = r.reserveUnusedName("job-");
            assertEquals("job-1", n);
            RegionEntry e = entry(r, n);
            assertTrue(e.reserved());
            assertNull(e.type());
            assertThrows(NoSuchElementException.class, () -> r.semaphore(n), "a reserved name has no object");
            assertEquals("job-2", r.reserveUnusedName("job-"));
            Semaphore s = r.semaphore(n, 2);
            assertEquals(2, s.availablePermits());
            RegionEntry live = entry(r, n);
            assertFalse(live.reserved());
            assertEquals(ObjectType.SEMAPHORE, live.type());
            assertNotEquals(e.generation(), live.generation());
            assertEquals(2, r.entries().size(), "the reservation's entry is used, not a new one");
            assertEquals("job-3", r.reserveUnusedName("job-"));
            assertTrue(r.remove("job-2"));
            assertEquals("job-2", r.reserveUnusedName("job-"), "removed reservations are free again");
            assertTrue(r.remove(n));
            assertEquals("job-1", r.reserveUnusedName("job-"));
            assertThrows(IllegalArgumentException.class, () -> r.reserveUnusedName("x".repeat(40)));
            assertThrows(IllegalArgumentException.class, () -> r.reserveUnusedName("bad\nprefix"));
        }
    }

    // ------------------------------------------------------------------ names

    @Test
    void objectNameValidation() throws Exception {
        try (Region r = Region.create(shm.regionName("names"), 64 * 1024)) {
            for (String bad : new String[]{"", "a\nb", "\u0000", "tab\there", "del\u007f", "c1\u0085",
                    "x".repeat(41), "\u20ac".repeat(14) /* 42 bytes */}) {
                assertThrows(IllegalArgumentException.class, () -> r.semaphore(bad, 1), "name " + visible(bad));
                assertThrows(IllegalArgumentException.class, () -> r.semaphore(bad), "name " + visible(bad));
                assertThrows(IllegalArgumentException.class, () -> r.remove(bad), "name " + visible(bad));
            }
            assertThrows(IllegalArgumentException.class, () -> r.semaphore(null, 1));
            assertThrows(IllegalArgumentException.class, () -> r.semaphore("neg", -1));
            assertTrue(r.entries().isEmpty(), "nothing created by refused calls: " + r.entries());
            // Object names are not file names: slashes, dots, spaces and 40-byte UTF-8 names are fine and
            // create no file.
            List<String> good = List.of("a/b", "..", ".", "/", "with space", "x".repeat(40), "\u00e9".repeat(20),
                    "\u20ac".repeat(13) + "x", "\uD83D\uDE00 emoji");
            for (String g : good) {
                Semaphore s = r.semaphore(g, 3);
                assertEquals(3, s.availablePermits(), g);
                assertEquals(3, r.semaphore(g).availablePermits(), g);
            }
            assertEquals(new TreeSet<>(good), r.entries().stream().map(RegionEntry::name).collect(Collectors.toSet())
                    .stream().collect(Collectors.toCollection(TreeSet::new)));
            try (Stream<Path> files = Files.list(shm.path())) {
                assertEquals(1, files.count(), "only the region file");
            }
        }
    }

    /**
     * An unpaired surrogate cannot be encoded in UTF-8: String.getBytes replaces it with '?', so the name
     * stored is not the name asked for. Each call then creates another entry named "?", and the region
     * ends up with duplicate names, which makes every later Region.open refuse it.
     */
    @Test
    void unpairedSurrogateIsRefused() throws Exception {
        String name = shm.regionName("surrogate");
        try (Region r = Region.create(name, 64 * 1024)) {
            assertThrows(IllegalArgumentException.class, () -> r.semaphore("\uD800", 1));
            assertThrows(IllegalArgumentException.class, () -> r.semaphore("a\uDC00b", 1));
            r.semaphore("?", 1);
        }
        Region.open(name).close(); // whatever happened, the region must stay valid
    }

    static String visible(String s) {
        return s.chars().mapToObj(c -> c < 32 || c == 127 || (c >= 128 && c < 160) ? String.format("\\u%04x", c)
                : String.valueOf((char) c)).collect(Collectors.joining("", "\"", "\""));
    }

    @Test
    void regionNameValidation() {
        for (String bad : new String[]{"", "..", ".", ".hidden", "a/b", "/abs", "../escape", "x".repeat(201),
                "new\nline", "nul\u0000", "sp ace", "\u00e9t\u00e9", "-dash-first"}) {
            assertThrows(IllegalArgumentException.class, () -> Region.create(bad, 4096), "create " + visible(bad));
            assertThrows(IllegalArgumentException.class, () -> Region.open(bad), "open " + visible(bad));
            assertThrows(IllegalArgumentException.class, () -> Region.openOrCreate(bad, 4096), visible(bad));
            assertThrows(IllegalArgumentException.class, () -> Region.unlink(bad), "unlink " + visible(bad));
            assertThrows(IllegalArgumentException.class, () -> Region.path(bad), "path " + visible(bad));
        }
        assertThrows(IllegalArgumentException.class, () -> Region.create(null, 4096));
        assertEquals(shm.path().resolve("shmsync." + "x".repeat(200)), Region.path("x".repeat(200)));
        assertThrows(IllegalArgumentException.class, () -> Region.create("ok", 0));
        assertThrows(IllegalArgumentException.class, () -> Region.create("ok", -4096));
        assertThrows(IllegalArgumentException.class, () -> Region.create("ok", Long.MAX_VALUE));
        assertThrows(IllegalArgumentException.class, () -> RegionOptions.defaults().directoryCapacity(0));
        assertThrows(IllegalArgumentException.class, () -> RegionOptions.defaults().directoryCapacity(65537));
        assertThrows(IllegalArgumentException.class, () -> RegionOptions.defaults().mode(01777));
        assertEquals(List.of(), listDir(), "nothing created by refused calls");
    }

    @Test
    void posixSemaphoreNameValidation() {
        for (String bad : new String[]{"", "/", "/a/b", "a/b", "/.", "/..", ".", "..", "/nul\u0000",
                "/" + "x".repeat(252)}) {
            assertThrows(IllegalArgumentException.class, () -> PosixSemaphore.create(bad, 0600, 0), visible(bad));
            assertThrows(IllegalArgumentException.class, () -> PosixSemaphore.open(bad), visible(bad));
            assertThrows(IllegalArgumentException.class, () -> PosixSemaphore.unlink(bad), visible(bad));
        }
        assertEquals(Path.of("/dev/shm/sem." + "x".repeat(251)), PosixSemaphore.path("/" + "x".repeat(251)));
        assertEquals(PosixSemaphore.path("/abc"), PosixSemaphore.path("abc"));
        assertThrows(IllegalArgumentException.class, () -> PosixSemaphore.create(shm.semName(), 01000, 0));
        assertThrows(IllegalArgumentException.class, () -> PosixSemaphore.create(shm.semName(), 0600, -1));
    }

    private List<String> listDir() {
        try (Stream<Path> s = Files.list(shm.path())) {
            return s.map(p -> p.getFileName().toString()).toList();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    // ------------------------------------------------------------------ full

    @Test
    void fullDirectory() throws Exception {
        try (Region r = Region.create(shm.regionName("fulldir"), 64 * 1024,
                RegionOptions.defaults().directoryCapacity(3))) {
            assertEquals(3, r.directoryCapacity());
            r.semaphore("a", 1);
            r.semaphore("b", 1);
            r.reserveUnusedName("c-");
            RegionFullException e = assertThrows(RegionFullException.class, () -> r.semaphore("d", 1));
            assertTrue(e.getMessage().contains("directory"), e.getMessage());
            assertThrows(RegionFullException.class, () -> r.reserveUnusedName("c-"));
            assertEquals(1, r.semaphore("a", 7).availablePermits(), "existing objects are still found");
            assertEquals(3, r.entries().size());
            assertTrue(r.remove("c-1"));
            assertEquals(4, r.semaphore("d", 4).availablePermits());
        }
    }

    static long headerU64(Path file, int offset) throws java.io.IOException {
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(8).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(file)) {
            ch.read(b, offset);
        }
        return b.getLong(0);
    }

    @Test
    void fullHeap() throws Exception {
        // A directory with more entries than the heap has room for objects (read from the header: the
        // layout between directory and heap may grow).
        Region r = null;
        for (int cap = 8; r == null; cap += 8) {
            Region c = Region.create(shm.regionName("fullheap"), 8192, RegionOptions.defaults().directoryCapacity(cap));
            if (headerU64(c.file(), RegionLayout.HEAP_SIZE_OFFSET) / 64 < cap) {
                r = c;
            } else {
                c.close();
                Region.unlink(c.name());
            }
        }
        try (Region region = r) {
            long objects = headerU64(region.file(), RegionLayout.HEAP_SIZE_OFFSET) / 64;
            assertTrue(objects >= 2, "heap of " + objects + " objects");
            List<Semaphore> sems = new ArrayList<>();
            for (int i = 0; i < objects; i++) {
                sems.add(region.semaphore("s" + i, i));
            }
            RegionFullException e = assertThrows(RegionFullException.class, () -> region.semaphore("more", 1));
            assertTrue(e.getMessage().contains("no room"), e.getMessage());
            assertEquals(objects, region.entries().size(), "a failed creation leaves no entry");
            long offset1 = entry(region, "s1").offset();
            assertTrue(region.remove("s1"));
            assertEquals(5, region.semaphore("more", 5).availablePermits());
            assertEquals(offset1, entry(region, "more").offset());
            assertThrows(ObjectRemovedException.class, sems.get(1)::availablePermits);
            assertEquals(objects - 1, sems.get((int) objects - 1).availablePermits(), "neighbours untouched");
            assertEquals(0, sems.get(0).availablePermits());
        }
    }

    @Test
    void firstFitAllocation() throws Exception {
        try (Region r = Region.create(shm.regionName("alloc"), 64 * 1024)) {
            for (String n : List.of("a", "b", "c", "d")) {
                r.semaphore(n, 0);
            }
            long a = entry(r, "a").offset();
            for (String n : List.of("a", "b", "c", "d")) {
                RegionEntry e = entry(r, n);
                assertEquals(64, e.size());
                assertEquals(0, e.offset() % 64, "cache-line aligned");
                assertEquals(0, e.generation() % 2, "stable entries have an even generation");
            }
            assertEquals(List.of(a, a + 64, a + 128, a + 192),
                    Stream.of("a", "b", "c", "d").map(n -> entry(r, n).offset()).toList());
            assertTrue(r.remove("b"));
            assertTrue(r.remove("c"));
            r.semaphore("e", 0);
            r.semaphore("f", 0);
            r.semaphore("g", 0);
            assertEquals(a + 64, entry(r, "e").offset(), "first gap");
            assertEquals(a + 128, entry(r, "f").offset(), "rest of the gap");
            assertEquals(a + 256, entry(r, "g").offset(), "after the last object");
            // The first object is at the start of the heap, which is after the directory.
            assertEquals(headerU64(r.file(), RegionLayout.HEAP_OFFSET_OFFSET), a);
            assertTrue(a >= RegionLayout.LENGTH + (long) r.directoryCapacity() * 64);
        }
    }

    // ------------------------------------------------------------------ objects and files

    @Test
    void existingSemaphoreKeepsItsPermitsAndStatePersists() throws Exception {
        String name = shm.regionName("persist");
        try (Region r = Region.create(name, 64 * 1024)) {
            Semaphore s = r.semaphore("s", 5);
            assertEquals(5, r.semaphore("s", 9).availablePermits());
            s.release(2);
            r.reserveUnusedName("w-");
            assertTrue(s.toString().contains("\"s\"") && s.toString().contains(name)
                    && s.toString().contains("permits=7"), s.toString());
        }
        try (Region r = Region.open(name)) {
            assertEquals(7, r.semaphore("s").availablePermits());
            assertEquals(Set.of("s", "w-1"), r.entries().stream().map(RegionEntry::name).collect(Collectors.toSet()));
            assertEquals(name, r.name());
            assertEquals(Region.path(name), r.file());
            assertEquals(64 * 1024, r.size());
        }
    }

    @Test
    void createOpenUnlinkList() throws Exception {
        assertEquals(List.of(), Region.list());
        String a = "a-region", b = "b-region";
        Region ra = Region.create(a, 5000);
        assertEquals(8192, ra.size(), "rounded up to pages");
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(ra.file())));
        try (Region rb = Region.create(b, 4096, RegionOptions.defaults().mode(0640))) {
            assertEquals("rw-r-----", PosixFilePermissions.toString(Files.getPosixFilePermissions(rb.file())),
                    "the mode is applied exactly, whatever the umask");
            assertThrows(FileAlreadyExistsException.class, () -> Region.create(a, 4096));
            assertThrows(NoSuchFileException.class, () -> Region.open("missing"));
            // Things in the directory that are not regions.
            Files.createDirectory(shm.path().resolve("shmsync.dir"));
            Files.createSymbolicLink(shm.path().resolve("shmsync.link"), ra.file());
            Files.write(shm.path().resolve("shmsync.bad name"), new byte[4096]);
            Files.write(shm.path().resolve("other-file"), new byte[1]);
            Files.write(shm.path().resolve("shmsync-tmp.0123456789abcdef"), new byte[1]);
            assertEquals(List.of(a, b), Region.list());

            Semaphore s = ra.semaphore("s", 1);
            assertTrue(Region.unlink(a));
            assertFalse(Region.unlink(a));
            assertEquals(List.of(b), Region.list());
            assertThrows(NoSuchFileException.class, () -> Region.open(a));
            assertTrue(s.tryAcquire(), "the mapping outlives the name");
            s.release();
            try (Region fresh = Region.openOrCreate(a, 4096)) {
                assertTrue(fresh.entries().isEmpty(), "a new region under the old name");
            }
        } finally {
            ra.close();
        }
    }

    @Test
    void directoryCapacityOptions() throws Exception {
        try (Region small = Region.create(shm.regionName("cap"), 4096);
             Region big = Region.create(shm.regionName("cap"), 8 << 20, RegionOptions.defaults().directoryCapacity(65536));
             Region one = Region.create(shm.regionName("cap"), 4096, RegionOptions.defaults().directoryCapacity(1))) {
            assertEquals(RegionLayout.defaultCapacity(4096), small.directoryCapacity());
            assertEquals(65536, big.directoryCapacity());
            assertEquals(1, one.directoryCapacity());
            one.semaphore("only", 1);
            assertThrows(RegionFullException.class, () -> one.semaphore("second", 1));
            Set<String> names = new HashSet<>();
            for (int i = 0; i < 100; i++) {
                names.add(big.reserveUnusedName("n"));
            }
            assertEquals(100, names.size());
        }
        assertThrows(IllegalArgumentException.class,
                () -> Region.create(shm.regionName("cap"), 4096, RegionOptions.defaults().directoryCapacity(64)),
                "a directory that leaves no heap");
    }
}
