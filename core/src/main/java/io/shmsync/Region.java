package io.shmsync;

import io.shmsync.internal.futex.Futex;
import io.shmsync.internal.posix.NativeAccess;
import io.shmsync.internal.posix.Posix;
import io.shmsync.internal.region.Directory;
import io.shmsync.internal.region.DirectoryEntryLayout;
import io.shmsync.internal.region.Mapping;
import io.shmsync.internal.region.RegionLayout;
import io.shmsync.internal.region.SharedFiles;
import io.shmsync.internal.robust.ProcessTable;
import io.shmsync.internal.sync.Guard;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.regex.Pattern;

/**
 * A named region of shared memory, the file {@code /dev/shm/shmsync.NAME}, holding a directory of named
 * synchronisation objects. Every process (JVM, C program, kernel thread) that maps the same region sees
 * the same objects.
 *
 * <pre>{@code
 * try (Region region = Region.openOrCreate("orders", 1 << 20)) {
 *     Semaphore ready = region.semaphore("ready", 0);
 *     ready.acquire();          // another process calls region.semaphore("ready", 0).release()
 * }
 * }</pre>
 *
 * <p><b>Files.</b> The directory is {@code /dev/shm}, or the value of the system property
 * {@value #DIRECTORY_PROPERTY} or, failing that, of the environment variable {@value #DIRECTORY_ENV}.
 * Creation is race-free (the complete image is built in a temp file and {@code link()}ed to its name, as
 * glibc's {@code sem_open} does); the pages are reserved at creation, so a full {@code /dev/shm} fails then
 * with an {@link IOException}, never later with a {@code SIGBUS}. Opening refuses symbolic links, files
 * owned by another user (unless {@linkplain RegionOptions#allowOwner(int) allowed}) and any file whose
 * header or directory is inconsistent ({@link InvalidRegionException}, naming the file and the field).
 *
 * <p><b>Objects.</b> {@link #semaphore(String, int)} gets or creates a named semaphore; of many processes
 * racing to create the same name exactly one initialises it. {@link #remove(String)} removes an object:
 * its threads blocked anywhere wake up and fail, and handles to it refuse to operate.
 *
 * <p><b>Closing.</b> {@link #close()} wakes this process's threads blocked on the region's objects (they
 * throw {@link RegionClosedException}), waits until they have left, then unmaps the region; afterwards every
 * use of the region and of its objects' handles throws {@link IllegalStateException}. Closing never removes
 * the file: {@link #unlink(String)} does, and processes that have it mapped keep using it.
 *
 * <p>Instances are thread-safe.
 */
public final class Region implements AutoCloseable {
    /** System property naming the directory that holds regions (default {@code /dev/shm}). */
    public static final String DIRECTORY_PROPERTY = "io.shmsync.dir";
    /** Environment variable naming the directory that holds regions, if the property is not set. */
    public static final String DIRECTORY_ENV = "SHMSYNC_DIR";
    /** File name prefix of a region. */
    public static final String FILE_PREFIX = "shmsync.";
    /** File name prefix of a region being created; files left by a dead creator are removed. */
    public static final String TEMP_PREFIX = "shmsync-tmp.";

    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9._-]{0,199}");

    private final String name;
    private final Mapping mapping;
    private final Directory directory;
    /** The process table and this process's robust state for the region; null if the region has no table. */
    private final ProcessTable processTable;
    /** One {@link RwSemaphore} instance per live object (holds are tracked per instance), by object offset. */
    private final java.util.concurrent.ConcurrentHashMap<Long, RwSemaphore> rwSemaphores =
            new java.util.concurrent.ConcurrentHashMap<>();

    private Region(String name, Mapping mapping, Directory directory) {
        this.name = name;
        this.mapping = mapping;
        this.directory = directory;
        this.processTable = ProcessTable.of(directory, name, pidNamespace());
    }

    /** The directory that holds region files. */
    public static Path directory() {
        String d = System.getProperty(DIRECTORY_PROPERTY);
        if (d == null || d.isEmpty()) {
            d = System.getenv(DIRECTORY_ENV);
        }
        return Path.of(d == null || d.isEmpty() ? "/dev/shm" : d);
    }

    /** The file of region {@code name}. */
    public static Path path(String name) {
        checkName(name);
        return directory().resolve(FILE_PREFIX + name);
    }

    private static void checkName(String name) {
        if (name == null || !NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("region name must match " + NAME.pattern() + ", got "
                    + (name == null ? "null" : "\"" + name + "\""));
        }
    }

    static void init() {
        NativeAccess.require(); // one clear exception naming the flag, before any restricted call
        Posix.init();
        Futex.init(); // create the futex method handles now, not on the first contended wait
    }

    /**
     * Creates region {@code name} of at least {@code size} bytes (rounded up to 4096), mode 0600.
     *
     * @throws java.nio.file.FileAlreadyExistsException if it exists
     * @throws IOException if the file cannot be created or its pages reserved (e.g. {@code /dev/shm} full)
     */
    public static Region create(String name, long size) throws IOException {
        return create(name, size, RegionOptions.defaults());
    }

    /** Creates region {@code name} with {@code options}; see {@link #create(String, long)}. */
    public static Region create(String name, long size, RegionOptions options) throws IOException {
        Region r = create(name, size, options, true);
        return r;
    }

    /**
     * Opens region {@code name}, creating it with {@code size} bytes if it does not exist. Of processes
     * racing to create it, one wins and the others open the winner's region.
     */
    public static Region openOrCreate(String name, long size) throws IOException {
        return openOrCreate(name, size, RegionOptions.defaults());
    }

    /** Opens or creates region {@code name} with {@code options}; see {@link #openOrCreate(String, long)}. */
    public static Region openOrCreate(String name, long size, RegionOptions options) throws IOException {
        for (int attempt = 0; ; attempt++) {
            try {
                return open(name, options);
            } catch (NoSuchFileException absent) {
                Region r = create(name, size, options, false);
                if (r != null) {
                    return r;
                }
                if (attempt > 100) {
                    throw absent; // created and unlinked again and again by others
                }
            }
        }
    }

    private static Region create(String name, long size, RegionOptions options, boolean exclusive)
            throws IOException {
        checkName(name);
        init();
        long rounded = Math.max(RegionLayout.MIN_REGION_SIZE, (size + RegionLayout.PAGE_SIZE - 1)
                & -(long) RegionLayout.PAGE_SIZE);
        if (size <= 0 || rounded < size) {
            throw new IllegalArgumentException("region size must be positive, got " + size);
        }
        int capacity = options.directoryCapacity() != 0 ? options.directoryCapacity()
                : RegionLayout.defaultCapacity(rounded);
        int slots = options.processTableCapacity() >= 0 ? options.processTableCapacity()
                : RegionLayout.defaultProcessTableCapacity(rounded);
        Path file = path(name);
        SharedFiles.removeOrphans(file.getParent(), TEMP_PREFIX);
        long pidns = pidNamespace();
        Mapping m = SharedFiles.create(file, TEMP_PREFIX, 8, options.mode(), rounded,
                s -> Directory.format(s, rounded, capacity, slots, pidns), exclusive, "region " + name);
        if (m == null) {
            return null;
        }
        try {
            return new Region(name, m, Directory.open(m));
        } catch (IOException | RuntimeException e) {
            m.close();
            throw e;
        }
    }

    /**
     * Opens the existing region {@code name}, validating it completely.
     *
     * @throws NoSuchFileException if there is none
     * @throws InvalidRegionException if it is not a valid region (the message names the file and field)
     * @throws java.nio.file.AccessDeniedException if another user owns it
     */
    public static Region open(String name) throws IOException {
        return open(name, RegionOptions.defaults());
    }

    /** Opens the existing region {@code name}; {@code options} may allow other owners. */
    public static Region open(String name, RegionOptions options) throws IOException {
        checkName(name);
        init();
        Path file = path(name);
        Posix.FileStat[] st = new Posix.FileStat[1];
        int fd = SharedFiles.openChecked(file, options.allowedOwners(), RegionLayout.MIN_REGION_SIZE, st);
        Mapping m = Mapping.map(fd, file, st[0].size(), st[0], "region " + name);
        try {
            return new Region(name, m, Directory.open(m));
        } catch (IOException | RuntimeException e) {
            m.close();
            throw e;
        }
    }

    /**
     * Removes region {@code name}'s file. Processes that have it mapped keep using it; new opens fail.
     * Refused while the kernel module is attached to this very file: re-creating the name would leave kernel
     * threads on the old file. The loaded module lists the files it holds (device and inode, in
     * {@code /sys/module/shmsync/parameters/attached}); the header's {@code kernel_attach} only decides when
     * that list cannot be read. So a copy of an attached region (whose header says {@code kernel_attach} ≠ 0),
     * or a count left by a module that is gone, does not prevent the unlink (docs/PROTOCOL.md §5).
     *
     * @throws java.nio.file.FileSystemException if shmsync.ko is attached to the region
     * @return false if it did not exist
     */
    public static boolean unlink(String name) throws IOException {
        Path p = path(name);
        int attached = kernelAttachments(p);
        Boolean held = kernelHolds(p);
        if (Boolean.TRUE.equals(held) || (held == null && attached != 0)) {
            throw new java.nio.file.FileSystemException(p.toString(), null, "the kernel module shmsync.ko is "
                    + "attached to this region (" + (held == null ? "kernel_attach = "
                    + Integer.toUnsignedString(attached) + "; the module's list of attached files cannot be read"
                    : "listed in " + kernelAttachedList()) + "); unlinking or re-creating it would split kernel "
                    + "threads and processes onto two files: rmmod or detach first");
        }
        try {
            Files.delete(p);
            return true;
        } catch (NoSuchFileException e) {
            return false;
        }
    }

    /** System property: where the loaded module lists its attached files (for tests). */
    static final String KERNEL_ATTACHED_PROPERTY = "io.shmsync.kernelAttached";

    private static Path kernelAttachedList() {
        return Path.of(System.getProperty(KERNEL_ATTACHED_PROPERTY, "/sys/module/shmsync/parameters/attached"));
    }

    /**
     * Whether the loaded shmsync.ko holds this very file: its device and inode are a line {@code "DEV INO"} of
     * the module's list. {@code FALSE} also when no module is loaded ({@code /sys/module} has no
     * {@code shmsync}); {@code null} when it cannot be told ({@code /sys/module} is not there, or a loaded
     * module has no list): then the header's count decides.
     */
    private static Boolean kernelHolds(Path p) throws IOException {
        Path list = kernelAttachedList();
        Path module = list.getParent() == null ? null : list.getParent().getParent();
        Path modules = module == null ? null : module.getParent();
        if (!Files.isReadable(list)) {
            if (module != null && Files.isDirectory(module)) {
                return null; // a module without the list
            }
            return modules != null && Files.isDirectory(modules) ? Boolean.FALSE : null;
        }
        long dev, ino;
        try {
            java.util.Map<String, Object> a = Files.readAttributes(p, "unix:dev,ino",
                    java.nio.file.LinkOption.NOFOLLOW_LINKS);
            dev = (Long) a.get("dev");
            ino = (Long) a.get("ino");
        } catch (NoSuchFileException e) {
            return Boolean.FALSE;
        } catch (UnsupportedOperationException e) {
            return null;
        }
        List<String> lines;
        try {
            lines = Files.readAllLines(list);
        } catch (NoSuchFileException e) {
            return Boolean.FALSE; // unloaded meanwhile
        }
        for (String line : lines) {
            String[] f = line.trim().split(" ");
            try {
                if (f.length == 2 && Long.parseUnsignedLong(f[0]) == dev && Long.parseUnsignedLong(f[1]) == ino) {
                    return Boolean.TRUE;
                }
            } catch (NumberFormatException e) {
                return null; // not the format this library knows
            }
        }
        return Boolean.FALSE;
    }

    /**
     * Reads {@code kernel_attach} of a region file without trusting it: 0 if the file is absent, not a
     * regular file, too short or not a shmsync region.
     */
    private static int kernelAttachments(Path p) throws IOException {
        if (!Files.isRegularFile(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            return 0;
        }
        try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(p,
                java.nio.file.StandardOpenOption.READ, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(RegionLayout.LENGTH)
                    .order(java.nio.ByteOrder.LITTLE_ENDIAN);
            while (b.hasRemaining() && ch.read(b, b.position()) > 0) {
                // read the header
            }
            if (b.position() < RegionLayout.LENGTH || b.getLong(RegionLayout.MAGIC_OFFSET) != RegionLayout.MAGIC) {
                return 0;
            }
            return b.getInt(RegionLayout.KERNEL_ATTACH_OFFSET);
        } catch (NoSuchFileException | java.nio.file.AccessDeniedException e) {
            return 0;
        }
    }

    /** How many times the kernel module shmsync.ko is attached to this region now (header {@code kernel_attach}). */
    public int kernelAttachments() {
        return mapping.segment().get(java.lang.foreign.ValueLayout.JAVA_INT, RegionLayout.KERNEL_ATTACH_OFFSET);
    }

    /** The names of the regions in {@link #directory()}, sorted. Contents are not validated. */
    public static List<String> list() throws IOException {
        List<String> names = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(directory(), FILE_PREFIX + "*")) {
            for (Path p : ds) {
                String n = p.getFileName().toString().substring(FILE_PREFIX.length());
                if (NAME.matcher(n).matches() && Files.isRegularFile(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                    names.add(n);
                }
            }
        }
        names.sort(null);
        return names;
    }

    static long pidNamespace() {
        try {
            String link = Files.readSymbolicLink(Path.of("/proc/self/ns/pid")).toString(); // "pid:[4026531836]"
            return Long.parseLong(link.substring(link.indexOf('[') + 1, link.indexOf(']')));
        } catch (IOException | RuntimeException e) {
            return 0;
        }
    }

    // ------------------------------------------------------------------ objects

    /**
     * Gets the semaphore {@code name}, creating it with {@code initialPermits} if it does not exist (an
     * existing semaphore keeps its permits, like {@code sem_open(O_CREAT)} on an existing name).
     *
     * @throws ObjectTypeMismatchException if {@code name} is another type of object
     * @throws RegionFullException if it must be created and the directory or the heap is full
     * @throws IllegalArgumentException if the name is empty, longer than 40 UTF-8 bytes or has control
     *                                  characters, or {@code initialPermits} is negative
     */
    public Semaphore semaphore(String name, int initialPermits) {
        Semaphore.checkInitial(initialPermits);
        Directory.Entry e = directory.getOrCreate(name, ObjectType.SEMAPHORE, ObjectType.SEMAPHORE.minimumSize(),
                offset -> Semaphore.writeImage(mapping.segment(), offset, initialPermits));
        return semaphore(e);
    }

    /**
     * Gets the existing semaphore {@code name}.
     *
     * @throws NoSuchElementException if there is no object of that name
     * @throws ObjectTypeMismatchException if it is another type of object
     */
    public Semaphore semaphore(String name) {
        Directory.checkName(name);
        Directory.Entry e = directory.get(name, ObjectType.SEMAPHORE);
        if (e == null) {
            throw new NoSuchElementException("no semaphore \"" + name + "\" in region " + this.name);
        }
        return semaphore(e);
    }

    private Semaphore semaphore(Directory.Entry e) {
        Guard guard = Guard.of(mapping.scope(), mapping.segment(),
                directory.entryOffset(e.index()) + DirectoryEntryLayout.SEQUENCE_OFFSET, e.sequence(),
                "semaphore \"" + e.name() + "\" in region " + name);
        return new Semaphore(mapping.segment(), e.offset(), guard);
    }

    /**
     * Gets the robust mutex {@code name}, creating it (unlocked) if it does not exist. The first robust
     * object this process uses in the region attaches the process to the region's process table (starting,
     * once per process, the lease thread whose robust futex list lets the kernel report this process's
     * death): see {@link Mutex} and docs/PROTOCOL.md §6.
     *
     * @throws ObjectTypeMismatchException if {@code name} is another type of object
     * @throws RegionFullException if it must be created and the directory or the heap is full, or the
     *                             process table has no free slot
     * @throws IllegalStateException if this process is in another PID namespace than the region's creator
     *                               (thread IDs would mean other threads), or the region has no process table
     * @throws IllegalArgumentException if the name is empty, longer than 40 UTF-8 bytes or has control characters
     */
    public Mutex mutex(String name) {
        Directory.checkName(name);
        ProcessTable table = robust();
        table.attach();
        Directory.Entry e = directory.getOrCreate(name, ObjectType.MUTEX, ObjectType.MUTEX.minimumSize(),
                offset -> Mutex.writeImage(mapping.segment(), offset));
        Guard guard = Guard.of(mapping.scope(), mapping.segment(),
                directory.entryOffset(e.index()) + DirectoryEntryLayout.SEQUENCE_OFFSET, e.sequence(),
                "mutex \"" + e.name() + "\" in region " + this.name);
        return new Mutex(mapping.segment(), e.offset(), guard, table, mapping.path());
    }

    /**
     * Gets the undo-on-death semaphore {@code name}, creating it with {@code initialPermits} if it does not
     * exist: a semaphore whose permits are given back when the process that acquired them dies or closes the
     * region, like SysV {@code SEM_UNDO} (see {@link UndoSemaphore}; docs/PROTOCOL.md §6.8). Attaches this
     * process to the region's process table, as {@link #mutex(String)} does.
     *
     * @throws ObjectTypeMismatchException if {@code name} is another type of object (a plain semaphore too)
     * @throws RegionFullException if it must be created and there is no room, or no process slot is free
     * @throws IllegalStateException as {@link #mutex(String)}
     */
    public UndoSemaphore undoSemaphore(String name, int initialPermits) {
        Semaphore.checkInitial(initialPermits);
        Directory.checkName(name);
        ProcessTable table = robust();
        table.attach();
        int slots = directory.processTableCapacity();
        Directory.Entry e = directory.getOrCreate(name, ObjectType.UNDO_SEMAPHORE,
                io.shmsync.internal.sync.UndoSemaphoreLayout.objectSize(slots), offset -> {
                    Semaphore.writeImage(mapping.segment(), offset, initialPermits);
                    mapping.segment().set(java.lang.foreign.ValueLayout.JAVA_INT,
                            offset + io.shmsync.internal.sync.UndoSemaphoreLayout.UNDO_CAPACITY_OFFSET, slots);
                });
        long capacity = Integer.toUnsignedLong(mapping.segment().get(java.lang.foreign.ValueLayout.JAVA_INT,
                e.offset() + io.shmsync.internal.sync.UndoSemaphoreLayout.UNDO_CAPACITY_OFFSET));
        if (capacity != slots || e.size() < io.shmsync.internal.sync.UndoSemaphoreLayout.objectSize(slots)) {
            throw new java.io.UncheckedIOException(new InvalidRegionException(mapping.path(), "undo semaphore \""
                    + e.name() + "\" undo_capacity", capacity + " (object of " + e.size() + " bytes), but the "
                    + "process table has " + slots + " slots"));
        }
        Guard guard = Guard.of(mapping.scope(), mapping.segment(),
                directory.entryOffset(e.index()) + DirectoryEntryLayout.SEQUENCE_OFFSET, e.sequence(),
                "undo semaphore \"" + e.name() + "\" in region " + this.name);
        return new UndoSemaphore(mapping.segment(), e.offset(), guard, table);
    }

    /**
     * Gets the read-write semaphore {@code name}, creating it (free) if it does not exist: see
     * {@link RwSemaphore} and docs/PROTOCOL.md §7. While the object lives, every call returns the same
     * instance (read and write holds are tracked per instance and thread). Needs no process table.
     *
     * @throws ObjectTypeMismatchException if {@code name} is another type of object
     * @throws RegionFullException if it must be created and the directory or the heap is full
     * @throws java.io.UncheckedIOException wrapping an {@link InvalidRegionException} if its bytes are corrupt
     * @throws IllegalArgumentException if the name is empty, longer than 40 UTF-8 bytes or has control characters
     */
    public RwSemaphore rwSemaphore(String name) {
        return rwSemaphore(name, false);
    }

    /**
     * Gets the robust read-write semaphore {@code name}, creating it (free) if it does not exist: a
     * {@link RwSemaphore} that survives the death of a process that holds it or is queued for it
     * (docs/PROTOCOL.md §7.6). A process's read holds and queued threads are given back by the cleaner of its
     * process-table slot (§6.6) when it dies or closes the region; a dead write holder's lock is released
     * the same way and the next acquirer (reader or writer) gets an {@link OwnerDiedException} holding what
     * it asked for. Threads waiting for the object run that cleaner themselves (they watch the write
     * holder's process lease, and look for dead processes at least every 100 ms while they sleep). Attaches
     * this process to the region's process table, as {@link #mutex(String)} does. The object is larger than
     * a plain one by 16 bytes per process slot, and each read or write lock and unlock adds one atomic add
     * or store on this process's slot counts. {@link #rwSemaphore(String)} also opens a robust object (as
     * robust).
     *
     * @throws IllegalStateException if {@code name} exists as a plain (not robust) read-write semaphore, or
     *                               as {@link #mutex(String)}
     * @throws ObjectTypeMismatchException if {@code name} is another type of object
     * @throws RegionFullException if it must be created and there is no room, or no process slot is free
     */
    public RwSemaphore robustRwSemaphore(String name) {
        return rwSemaphore(name, true);
    }

    private RwSemaphore rwSemaphore(String name, boolean robust) {
        Directory.checkName(name);
        if (mapping.isClosed()) {
            throw new IllegalStateException("region " + this.name + " is closed");
        }
        ProcessTable table = robust ? robust() : null;
        if (table != null) {
            table.attach();
        }
        int slots = robust ? directory.processTableCapacity() : 0;
        // A fresh object is all zero (state 0: free), which the allocator already wrote.
        Directory.Entry e = directory.getOrCreate(name, ObjectType.RWSEM, robust
                ? io.shmsync.internal.sync.RwSemaphoreLayout.robustSize(slots) : ObjectType.RWSEM.minimumSize(),
                offset -> {
                    if (robust) {
                        mapping.segment().set(java.lang.foreign.ValueLayout.JAVA_INT,
                                offset + io.shmsync.internal.sync.RwSemaphoreLayout.SLOT_CAPACITY_OFFSET, slots);
                        mapping.segment().set(java.lang.foreign.ValueLayout.JAVA_INT,
                                offset + io.shmsync.internal.sync.RwSemaphoreLayout.FLAGS_OFFSET,
                                io.shmsync.internal.sync.RwSemaphoreLayout.ROBUST);
                    }
                });
        boolean isRobust = RwSemaphore.isRobust(mapping.segment(), e.offset());
        if (robust && !isRobust) {
            throw new IllegalStateException("read-write semaphore \"" + e.name() + "\" in region " + this.name
                    + " exists and is not robust (robustness is chosen when it is created)");
        }
        ProcessTable t = isRobust ? robust() : null;
        return rwSemaphores.compute(e.offset(), (offset, old) -> {
            if (old != null && old.generation() == e.sequence()) {
                return old;
            }
            Guard guard = Guard.of(mapping.scope(), mapping.segment(),
                    directory.entryOffset(e.index()) + DirectoryEntryLayout.SEQUENCE_OFFSET, e.sequence(),
                    (isRobust ? "robust " : "") + "read-write semaphore \"" + e.name() + "\" in region " + this.name);
            return new RwSemaphore(mapping.segment(), offset, e.size(), guard, mapping.path(), t);
        });
    }

    private ProcessTable robust() {
        if (processTable == null) {
            throw new IllegalStateException("region " + name + " has no process table (process_table_capacity 0), "
                    + "so it cannot hold robust objects");
        }
        if (mapping.isClosed()) {
            throw new IllegalStateException("region " + name + " is closed");
        }
        return processTable;
    }

    /**
     * The processes attached to the region (those that use its robust objects), from its process table:
     * alive, dead (the kernel marked their lease when they died; their slot awaits reclamation), or being
     * cleaned. A snapshot; does not attach this process.
     */
    public List<ProcessInfo> processes() {
        if (processTable == null) {
            return List.of();
        }
        if (mapping.isClosed()) {
            throw new IllegalStateException("region " + name + " is closed");
        }
        return processTable.processes();
    }

    /**
     * Reclaims the slots of dead processes: for each, exactly one cleaner among all processes repairs what
     * the process left (mutex words it locked in the instant it was killed are marked owner-died) and frees
     * the slot. Attaching to the region does this too. Attaches this process.
     *
     * @return the number of slots this call reclaimed
     */
    public int reclaimDeadProcesses() {
        return robust().reclaimDead();
    }

    /**
     * Reserves a name {@code prefix + n} that no entry uses (the smallest such n &ge; 1), atomically across
     * processes: no other process gets the same name until it is {@linkplain #remove(String) removed}.
     * Creating an object under a reserved name uses the reservation.
     */
    public String reserveUnusedName(String prefix) {
        return directory.reserveUnusedName(prefix);
    }

    /**
     * Removes the object or reserved name {@code name}. Threads of every process blocked on the object
     * wake up and throw {@link ObjectRemovedException}; handles to it refuse to operate; its memory is
     * reused by later objects. Remove an object only when its users are done with it.
     *
     * @return false if there was no such entry
     */
    public boolean remove(String name) {
        boolean removed = directory.remove(name);
        rwSemaphores.values().removeIf(RwSemaphore::isRemoved);
        return removed;
    }

    /** A snapshot of the directory: objects and reserved names. */
    public List<RegionEntry> entries() {
        List<RegionEntry> list = new ArrayList<>();
        for (Directory.Entry e : directory.entries()) {
            list.add(e.state() == DirectoryEntryLayout.STATE_LIVE
                    ? new RegionEntry(e.name(), ObjectType.ofCode(e.type()), e.offset(), e.size(), e.sequence())
                    : new RegionEntry(e.name(), null, 0, 0, e.sequence()));
        }
        return list;
    }

    /** The region's name. */
    public String name() {
        return name;
    }

    /** The region's file. */
    public Path file() {
        return mapping.path();
    }

    /** The region's size in bytes. */
    public long size() {
        return mapping.segment().byteSize();
    }

    /** Number of directory entries. */
    public int directoryCapacity() {
        return directory.capacity();
    }

    /** The inode of the creator's PID namespace, as recorded in the header (0 if unknown). */
    public long creatorPidNamespace() {
        return directory.creatorPidNamespace();
    }

    /** Whether {@link #close()} was called. */
    public boolean isClosed() {
        return mapping.isClosed();
    }

    /**
     * Wakes this process's threads blocked on the region's objects (they throw
     * {@link RegionClosedException}), waits until they have left their waits, and unmaps the region.
     * Idempotent. Other processes are not affected, except that robust mutexes of this region that this
     * process still holds are first released as if the process had died (their next owner gets
     * {@link OwnerDiedException}), and its process-table slot is freed: the kernel must never find an entry
     * of this process's robust list in memory that is no longer mapped (docs/PROTOCOL.md §6.5).
     */
    @Override
    public void close() {
        if (processTable != null && !mapping.isClosed()) {
            processTable.close();
        }
        mapping.close();
    }

    @Override
    public String toString() {
        return "Region[" + name + ", " + mapping.path() + ", " + size() + " bytes"
                + (isClosed() ? ", closed" : ", " + directory.capacity() + " entries") + "]";
    }
}
