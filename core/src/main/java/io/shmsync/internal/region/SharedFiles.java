package io.shmsync.internal.region;

import io.shmsync.InvalidRegionException;
import io.shmsync.internal.posix.Errors;
import io.shmsync.internal.posix.Posix;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.Set;
import java.util.function.Consumer;

/**
 * Race-free creation and careful opening of shared files, as glibc's {@code sem_open} does it
 * (docs/PROTOCOL.md §1.3): build the complete image in an {@code O_EXCL} temp file, then {@code link()} it
 * to its final name; open with {@code O_NOFOLLOW} and check type, owner and size on the descriptor.
 */
public final class SharedFiles {
    private SharedFiles() {
    }

    private static final SecureRandom RANDOM = new SecureRandom();
    private static final int CREATE_ATTEMPTS = 50;
    /** Temp files younger than this are never treated as orphans (their creator may not hold its lock yet). */
    static final long ORPHAN_MIN_AGE_MILLIS = Long.getLong("io.shmsync.orphanMinAgeMillis", 5_000L);

    /**
     * Creates {@code target} with the image {@code writeImage} writes into a fresh zeroed mapping.
     *
     * @param tempPrefix  file name prefix of the temp file, in the target's directory
     * @param randomBytes number of random bytes (hex) after the prefix
     * @return the mapping of the new file, or null if {@code target} already existed and {@code exclusive}
     *         is false (the caller then opens the existing file)
     * @throws FileAlreadyExistsException if it existed and {@code exclusive} is true
     */
    public static Mapping create(Path target, String tempPrefix, int randomBytes, int mode, long size,
                                 Consumer<MemorySegment> writeImage, boolean exclusive, String scopeName)
            throws IOException {
        Path dir = target.getParent();
        int fd = -1;
        Path temp = null;
        for (int attempt = 0; attempt < CREATE_ATTEMPTS && fd < 0; attempt++) {
            byte[] r = new byte[randomBytes];
            RANDOM.nextBytes(r);
            temp = dir.resolve(tempPrefix + HexFormat.of().formatHex(r));
            fd = Posix.open(temp.toString(),
                    Posix.O_RDWR | Posix.O_CREAT | Posix.O_EXCL | Posix.O_NOFOLLOW | Posix.O_CLOEXEC, mode);
            if (fd < 0 && fd != -Posix.EEXIST) {
                throw Errors.io("open(O_CREAT|O_EXCL)", temp.toString(), -fd);
            }
        }
        if (fd < 0) {
            throw new FileSystemException(dir.toString(), null, "no unused temporary file name after "
                    + CREATE_ATTEMPTS + " attempts");
        }
        Mapping mapping = null;
        boolean published = false;
        try {
            check(Posix.fchmod(fd, mode), "fchmod", temp);
            // The creation lock tells a later creator that this temp file is in use (orphans have none).
            check(Posix.ofdLock(fd, false, true), "fcntl(F_OFD_SETLK)", temp);
            int e = Posix.posixFallocate(fd, 0, size);
            if (e != 0) {
                throw new FileSystemException(target.toString(), null, "cannot reserve " + size + " bytes in "
                        + dir + " (posix_fallocate: " + Posix.strerror(e) + ", errno " + e + ")"
                        + (e == Posix.ENOSPC ? ": the shared-memory file system is full" : ""));
            }
            Posix.FileStat st = Posix.fstat(fd);
            mapping = Mapping.map(fd, target, size, st, scopeName);
            writeImage.accept(mapping.segment());
            int r = Posix.link(temp.toString(), target.toString());
            if (r == -Posix.EEXIST) {
                if (exclusive) {
                    throw new FileAlreadyExistsException(target.toString(), null, "already exists");
                }
                return null;
            }
            check(r, "link", target);
            published = true;
            return mapping;
        } finally {
            Posix.unlink(temp.toString());
            if (!published) {
                if (mapping != null) {
                    mapping.close(); // closes fd too
                } else {
                    Posix.close(fd);
                }
            } else {
                Posix.ofdLock(fd, false, false);
            }
        }
    }

    private static void check(int r, String call, Path file) throws IOException {
        if (r < 0) {
            throw Errors.io(call, file.toString(), -r);
        }
    }

    /**
     * Opens an existing shared file read-write with {@code O_NOFOLLOW} and checks, on the descriptor, that
     * it is a regular file owned by this user (or an allowed one) and at least {@code minSize} bytes.
     *
     * @return the descriptor; its stat is checked, the caller maps it
     */
    public static int openChecked(Path path, Set<Integer> allowedOwners, long minSize, Posix.FileStat[] statOut)
            throws IOException {
        int fd = Posix.open(path.toString(), Posix.O_RDWR | Posix.O_NOFOLLOW | Posix.O_CLOEXEC, 0);
        if (fd == -Posix.ELOOP) {
            throw new InvalidRegionException(path, "file", "is a symbolic link; shmsync opens with O_NOFOLLOW and "
                    + "refuses links");
        }
        if (fd < 0) {
            throw Errors.io("open", path.toString(), -fd);
        }
        boolean ok = false;
        try {
            Posix.FileStat st = Posix.fstat(fd);
            if (!st.isRegularFile()) {
                throw new InvalidRegionException(path, "file", "is not a regular file (mode 0"
                        + Integer.toOctalString(st.mode()) + ")");
            }
            int me = Posix.geteuid();
            if (st.uid() != me && !allowedOwners.contains(st.uid())) {
                throw new java.nio.file.AccessDeniedException(path.toString(), null, "owned by uid "
                        + Integer.toUnsignedString(st.uid()) + ", not by this process's uid "
                        + Integer.toUnsignedString(me) + "; allow that owner explicitly to open it");
            }
            if (st.size() < minSize) {
                throw new InvalidRegionException(path, "file size", st.size() + " bytes, less than the minimum "
                        + minSize + " (truncated?)");
            }
            statOut[0] = st;
            ok = true;
            return fd;
        } finally {
            if (!ok) {
                Posix.close(fd);
            }
        }
    }

    /**
     * Removes temp files whose creator died: each file in {@code dir} whose name starts with
     * {@code tempPrefix}, that is older than a few seconds and whose creation lock can be taken. A live
     * creator holds the lock from right after it created the file until it has published or removed it.
     *
     * @return the number of files removed
     */
    public static int removeOrphans(Path dir, String tempPrefix) {
        int removed = 0;
        try (var files = java.nio.file.Files.newDirectoryStream(dir, tempPrefix + "*")) {
            long now = System.currentTimeMillis();
            for (Path p : files) {
                // A creator takes its lock right after O_EXCL; the age test covers that small window.
                long mtime = java.nio.file.Files.getLastModifiedTime(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)
                        .toMillis();
                if (now - mtime < ORPHAN_MIN_AGE_MILLIS) {
                    continue;
                }
                int fd = Posix.open(p.toString(), Posix.O_RDWR | Posix.O_NOFOLLOW | Posix.O_CLOEXEC, 0);
                if (fd < 0) {
                    continue;
                }
                try {
                    if (Posix.ofdLock(fd, false, true) == 0 && Posix.unlink(p.toString()) == 0) {
                        removed++;
                    }
                } finally {
                    Posix.close(fd);
                }
            }
        } catch (IOException | RuntimeException e) {
            // best effort: a directory we cannot list has nothing we could clean anyway
        }
        return removed;
    }
}
