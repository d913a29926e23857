package io.shmsync.testing;

import io.shmsync.PosixSemaphore;
import io.shmsync.Region;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * Gives each test its own region directory {@code /dev/shm/shmsync-test-<random>} and sets the system
 * property {@value Region#DIRECTORY_PROPERTY} to it for the test; afterwards kills the test's children,
 * unlinks its POSIX semaphores, restores the property and deletes the directory.
 *
 * <pre>{@code
 * @RegisterExtension final ShmDir shm = new ShmDir();
 * }</pre>
 */
public final class ShmDir implements BeforeEachCallback, AfterEachCallback {
    private static final SecureRandom RANDOM = new SecureRandom();
    public static final Path SHM = Path.of("/dev/shm");

    private Path dir;
    private String previous;
    private final List<AutoCloseable> resources = new ArrayList<>();
    private final List<String> semNames = new ArrayList<>();
    private int counter;

    private static String hex(int bytes) {
        byte[] b = new byte[bytes];
        RANDOM.nextBytes(b);
        return HexFormat.of().formatHex(b);
    }

    @Override
    public void beforeEach(ExtensionContext context) throws IOException {
        dir = Files.createDirectory(SHM.resolve("shmsync-test-" + hex(8)));
        previous = System.getProperty(Region.DIRECTORY_PROPERTY);
        System.setProperty(Region.DIRECTORY_PROPERTY, dir.toString());
    }

    @Override
    public void afterEach(ExtensionContext context) {
        for (int i = resources.size() - 1; i >= 0; i--) {
            try {
                resources.get(i).close();
            } catch (Exception e) {
                System.err.println("cleanup: " + e);
            }
        }
        resources.clear();
        for (String n : semNames) {
            try {
                PosixSemaphore.unlink(n);
            } catch (Exception e) {
                System.err.println("cleanup of " + n + ": " + e);
            }
        }
        if (previous == null) {
            System.clearProperty(Region.DIRECTORY_PROPERTY);
        } else {
            System.setProperty(Region.DIRECTORY_PROPERTY, previous);
        }
        deleteRecursively(dir);
    }

    /** Deletes a tree without following symbolic links. */
    public static void deleteRecursively(Path root) {
        if (root == null || !Files.exists(root, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try {
            Files.walkFileTree(root, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                    Files.deleteIfExists(file);
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult postVisitDirectory(Path d, IOException exc) throws IOException {
                    Files.deleteIfExists(d);
                    return FileVisitResult.CONTINUE;
                }
            });
        } catch (IOException e) {
            System.err.println("cleanup of " + root + ": " + e);
        }
    }

    /** This test's region directory. */
    public Path path() {
        return dir;
    }

    /** A fresh region name. */
    public String regionName(String prefix) {
        return prefix + "-" + (++counter) + "-" + hex(3);
    }

    /** A fresh POSIX semaphore name "/shmsync-test-...", unlinked after the test. */
    public String semName() {
        String n = "/shmsync-test-" + hex(6) + "-" + (++counter);
        semNames.add(n);
        return n;
    }

    /** Closes {@code r} after the test (children, regions, mounts ...), in reverse order of registration. */
    public <T extends AutoCloseable> T closeLater(T r) {
        resources.add(r);
        return r;
    }

    /** A child JVM builder with this directory as its region directory; start it with {@link #start}. */
    public ChildJvm.Builder child(Class<?> mainClass) {
        return ChildJvm.java(mainClass).regionDir(dir);
    }

    /** Starts the child and kills it after the test. */
    public ChildJvm start(ChildJvm.Builder b) {
        return closeLater(b.start());
    }

    /** Starts {@code mainClass} with {@code args} and kills it after the test. */
    public ChildJvm start(Class<?> mainClass, Object... args) {
        return start(child(mainClass).args(args));
    }
}
