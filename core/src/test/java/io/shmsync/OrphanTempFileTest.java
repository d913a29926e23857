package io.shmsync;

import io.shmsync.internal.posix.Posix;
import io.shmsync.testing.Child;
import io.shmsync.testing.ChildJvm;
import io.shmsync.testing.ShmDir;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.time.temporal.ChronoUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Temp files left by a creator killed between O_EXCL and link() (docs/PROTOCOL.md §1.3): the next
 * Region.create removes them if they are old enough and their creation lock is free; a live creator's
 * file (locked), a young file, and things that merely look like temp files are left alone.
 */
class OrphanTempFileTest {
    @RegisterExtension
    final ShmDir shm = new ShmDir();

    static final FileTime HOUR_AGO = FileTime.from(Instant.now().minus(1, ChronoUnit.HOURS));

    Path file(String name, boolean old) throws Exception {
        Path p = shm.path().resolve(name);
        Files.write(p, new byte[4096]);
        if (old) {
            Files.setLastModifiedTime(p, FileTime.from(Instant.now().minus(1, ChronoUnit.HOURS)));
        }
        return p;
    }

    @Test
    void oldUnlockedOrphanIsRemovedYoungOneKept() throws Exception {
        Path old = file(Region.TEMP_PREFIX + "00112233445566aa", true);
        Path young = file(Region.TEMP_PREFIX + "00112233445566bb", false);
        Path lookalike = file("shmsync-tmpx.00112233445566cc", true);
        Path semTemp = file("sem.abcdef", true);
        Region.create("x", 4096).close();
        assertFalse(Files.exists(old), "an old orphan is removed");
        assertTrue(Files.exists(young), "a young temp file may belong to a creator that has not locked it yet");
        assertTrue(Files.exists(lookalike));
        assertTrue(Files.exists(semTemp));
        // Opening does not clean; creating again does not touch the young one either.
        Region.open("x").close();
        Region.openOrCreate("y", 4096).close();
        assertTrue(Files.exists(young));
    }

    @Test
    void linksAndDirectoriesNamedLikeTempFilesAreNotFollowed() throws Exception {
        Path victim = shm.path().resolve("victim");
        byte[] content = "precious".getBytes();
        Files.write(victim, content);
        Path link = shm.path().resolve(Region.TEMP_PREFIX + "1111111111111111");
        Files.createSymbolicLink(link, victim);
        // The link's own mtime must be old too (the cleanup looks at the link, not its target).
        Process touch = new ProcessBuilder("touch", "-h", "-d", "1 hour ago", link.toString()).inheritIO().start();
        assertEquals(0, touch.waitFor());
        Files.setLastModifiedTime(victim, HOUR_AGO);
        Path dir = Files.createDirectory(shm.path().resolve(Region.TEMP_PREFIX + "2222222222222222"));
        Files.setLastModifiedTime(dir, HOUR_AGO);
        Region.create("x", 4096).close();
        assertArrayEquals(content, Files.readAllBytes(victim), "the link's target is untouched");
        assertTrue(Files.exists(link, LinkOption.NOFOLLOW_LINKS), "a link is not opened (O_NOFOLLOW), so not removed");
        assertTrue(Files.isDirectory(dir));
    }

    @Test
    @Timeout(60)
    void liveCreatorsTempFileIsKeptUntilItDies() throws Exception {
        Path temp = file(Region.TEMP_PREFIX + "33333333333333cc", false);
        ChildJvm creator = shm.start(LockHolder.class, temp);
        creator.awaitLine("LOCKED");
        Files.setLastModifiedTime(temp, HOUR_AGO); // old, but locked: the creator is alive
        Region.create("a", 4096).close();
        assertTrue(Files.exists(temp), "a live creator's temp file must not be removed");
        creator.close(); // SIGKILL: the kernel drops its OFD lock
        Region.create("b", 4096).close();
        assertFalse(Files.exists(temp), "the dead creator's temp file is removed");
    }

    /** args: FILE. Takes the creation lock on FILE as a creator does (OFD lock on byte 0) and holds it. */
    public static final class LockHolder {
        public static void main(String[] args) {
            Child.run(args, a -> {
                int fd = Posix.open(a[0], Posix.O_RDWR | Posix.O_NOFOLLOW | Posix.O_CLOEXEC, 0);
                if (fd < 0 || Posix.ofdLock(fd, false, true) != 0) {
                    throw new IllegalStateException("cannot lock " + a[0]);
                }
                Child.say("LOCKED");
                Child.command(); // hold until killed
            });
        }
    }

    @Test
    @Timeout(60)
    void minimumAgeIsConfigurable() throws Exception {
        Path young = file(Region.TEMP_PREFIX + "44444444444444dd", false);
        ChildJvm c = shm.start(shm.child(Creator.class).args("a").jvmArgs("-Dio.shmsync.orphanMinAgeMillis=0"));
        c.awaitLine("CREATED");
        c.assertExit(0);
        assertFalse(Files.exists(young), "with a minimum age of 0, a young unlocked orphan is removed");

        Path old = file(Region.TEMP_PREFIX + "55555555555555ee", true);
        c = shm.start(shm.child(Creator.class).args("b").jvmArgs("-Dio.shmsync.orphanMinAgeMillis=" + 86_400_000));
        c.awaitLine("CREATED");
        c.assertExit(0);
        assertTrue(Files.exists(old), "younger than a day: kept");
    }

    /** args: NAME. Creates region NAME. */
    public static final class Creator {
        public static void main(String[] args) {
            Child.run(args, a -> {
                Region.create(a[0], 4096).close();
                Child.say("CREATED");
            });
        }
    }
}
