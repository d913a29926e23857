package io.shmsync;

import io.shmsync.internal.posix.Posix;
import io.shmsync.internal.region.Mapping;
import io.shmsync.internal.region.SharedFiles;
import io.shmsync.internal.sync.Guard;
import io.shmsync.internal.sync.SemaphoreLayout;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Set;

/**
 * A POSIX named semaphore: the file {@code /dev/shm/sem.NAME} that glibc's {@code sem_open("/NAME", …)}
 * creates and maps. A C program's {@code sem_wait}/{@code sem_post} and this class's methods operate on the
 * same 32-byte {@code sem_t} with the same protocol, so C processes and JVMs can share one semaphore.
 *
 * <p>Names follow glibc: {@code "/NAME"} (the leading slash is optional), no other slash, not {@code "."}
 * or {@code ".."}, at most 251 bytes. Creation builds the image in {@code /dev/shm/sem.XXXXXX} opened with
 * {@code O_EXCL} and {@code link()}s it to the final name; the loser of a race opens the winner's file.
 * Files are always in {@code /dev/shm} (glibc's directory), regardless of {@link Region#directory()}.
 *
 * <p>Semantics are those of {@link Semaphore}. {@link #close()} unmaps (like {@code sem_close}): threads of
 * this process blocked on it throw {@link RegionClosedException}.
 */
public final class PosixSemaphore extends Semaphore implements AutoCloseable {
    /** Where glibc keeps named semaphores. */
    public static final Path SHM_DIRECTORY = Path.of("/dev/shm");
    private static final int NAME_MAX = 251; // NAME_MAX (255) minus "sem."

    private final Mapping mapping;
    private final String name;

    private PosixSemaphore(Mapping mapping, String name) {
        super(mapping.segment(), 0, Guard.of(mapping.scope(), "POSIX semaphore " + name));
        this.mapping = mapping;
        this.name = name;
    }

    /** The file glibc uses for {@code name}: {@code /dev/shm/sem.NAME}. */
    public static Path path(String name) {
        return SHM_DIRECTORY.resolve("sem." + checkName(name));
    }

    private static String checkName(String name) {
        if (name == null) {
            throw new IllegalArgumentException("name must not be null");
        }
        String n = name.startsWith("/") ? name.substring(1) : name;
        if (n.isEmpty() || n.contains("/") || n.equals(".") || n.equals("..") || n.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("invalid POSIX semaphore name \"" + name + "\" (glibc's EINVAL): "
                    + "use \"/NAME\" with no other slash");
        }
        if (n.getBytes(java.nio.charset.StandardCharsets.UTF_8).length > NAME_MAX) {
            throw new IllegalArgumentException("POSIX semaphore name too long (glibc's ENAMETOOLONG): " + name);
        }
        return n;
    }

    private static String display(String name) {
        return name.startsWith("/") ? name : "/" + name;
    }

    /**
     * Opens an existing named semaphore, like {@code sem_open(name, 0)}.
     *
     * @throws NoSuchFileException if it does not exist
     * @throws InvalidRegionException if the file is shorter than a {@code sem_t} or not a regular file
     */
    public static PosixSemaphore open(String name) throws IOException {
        return open(name, Set.of());
    }

    /** Opens an existing named semaphore, also accepting files owned by {@code allowedOwners}. */
    public static PosixSemaphore open(String name, Set<Integer> allowedOwners) throws IOException {
        Path p = path(name);
        Region.init();
        Posix.FileStat[] st = new Posix.FileStat[1];
        int fd = SharedFiles.openChecked(p, allowedOwners, SemaphoreLayout.SEM_T_LENGTH, st);
        Mapping m = Mapping.map(fd, p, SemaphoreLayout.SEM_T_LENGTH, st[0], "POSIX semaphore " + display(name));
        return new PosixSemaphore(m, display(name));
    }

    /**
     * Creates a named semaphore with {@code initialPermits}, like {@code sem_open(name, O_CREAT|O_EXCL, mode, value)}.
     *
     * @throws java.nio.file.FileAlreadyExistsException if it exists
     */
    public static PosixSemaphore create(String name, int mode, int initialPermits) throws IOException {
        PosixSemaphore s = create(name, mode, initialPermits, true);
        return s;
    }

    /**
     * Opens the named semaphore, creating it with {@code initialPermits} if it does not exist, like
     * {@code sem_open(name, O_CREAT, mode, value)}. An existing semaphore keeps its value.
     */
    public static PosixSemaphore openOrCreate(String name, int mode, int initialPermits) throws IOException {
        for (int attempt = 0; ; attempt++) {
            try {
                return open(name);
            } catch (NoSuchFileException absent) {
                PosixSemaphore s = create(name, mode, initialPermits, false);
                if (s != null) {
                    return s;
                }
                if (attempt > 100) {
                    throw absent;
                }
            }
        }
    }

    private static PosixSemaphore create(String name, int mode, int initialPermits, boolean exclusive)
            throws IOException {
        Path p = path(name);
        checkInitial(initialPermits);
        if ((mode & ~0777) != 0) {
            throw new IllegalArgumentException("mode must be permission bits 0 .. 0777");
        }
        Region.init();
        // glibc's temp name is "sem.XXXXXX"; ours has 12 hex digits after the same prefix.
        Mapping m = SharedFiles.create(p, "sem.", 6, mode, SemaphoreLayout.SEM_T_LENGTH,
                s -> writeImage(s, 0, initialPermits), exclusive, "POSIX semaphore " + display(name));
        return m == null ? null : new PosixSemaphore(m, display(name));
    }

    /**
     * Removes the name, like {@code sem_unlink}; processes that have it open keep using it.
     *
     * @return false if it did not exist
     */
    public static boolean unlink(String name) throws IOException {
        try {
            Files.delete(path(name));
            return true;
        } catch (NoSuchFileException e) {
            return false;
        }
    }

    /** The name, with its leading slash. */
    public String name() {
        return name;
    }

    /** Unmaps the semaphore (like {@code sem_close}); blocked threads of this process get {@link RegionClosedException}. */
    @Override
    public void close() {
        mapping.close();
    }

    @Override
    public String toString() {
        return super.toString().replaceFirst("^Semaphore", "PosixSemaphore");
    }
}
