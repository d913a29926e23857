package io.shmsync;

import io.shmsync.internal.region.RegionLayout;
import io.shmsync.testing.ShmDir;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * PROTOCOL §1.1/§5: a region file the loaded kernel module holds is not unlinked; the module's list of attached
 * files (device, inode) decides, the header's kernel_attach only when the list cannot be read. The list is faked
 * here through {@code io.shmsync.kernelAttached} (a tree shaped like {@code /sys/module/shmsync/parameters}).
 */
class KernelAttachTest {
    @RegisterExtension
    final ShmDir shm = new ShmDir();

    @TempDir
    Path sys;

    private Path modules;
    private Path list;

    @BeforeEach
    void fakeSysModule() throws Exception {
        modules = Files.createDirectories(sys.resolve("module"));
        list = modules.resolve("shmsync").resolve("parameters").resolve("attached");
        System.setProperty(Region.KERNEL_ATTACHED_PROPERTY, list.toString());
    }

    @AfterEach
    void restore() {
        System.clearProperty(Region.KERNEL_ATTACHED_PROPERTY);
    }

    private static void setAttach(Path file, int value) throws Exception {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(0, value), RegionLayout.KERNEL_ATTACH_OFFSET);
        }
    }

    /** What a loaded shmsync.ko attached to these files shows. */
    private void moduleHolds(Path... files) throws Exception {
        StringBuilder b = new StringBuilder();
        for (Path f : files) {
            b.append(Files.getAttribute(f, "unix:dev")).append(' ').append(Files.getAttribute(f, "unix:ino")).append('\n');
        }
        Files.createDirectories(list.getParent());
        Files.writeString(list, b.toString());
    }

    @Test
    void unlinkIsRefusedWhileTheModuleHoldsTheFile() throws Exception {
        try (Region r = Region.create("kattach", 1 << 16)) {
            assertEquals(0, r.kernelAttachments());
            setAttach(r.file(), 1); // what shmsync.ko's attach does (atomically)
            moduleHolds(r.file());
            assertEquals(1, r.kernelAttachments());
            FileSystemException e = assertThrows(FileSystemException.class, () -> Region.unlink("kattach"));
            assertTrue(e.getMessage().contains("shmsync.ko"), e.getMessage());
            assertTrue(Files.exists(r.file()), "the file must still be there");
            try (Region again = Region.open("kattach")) { // any value is valid: readers do not validate it
                assertEquals(1, again.kernelAttachments());
            }
            setAttach(r.file(), 0); // detach
            moduleHolds();
            assertTrue(Region.unlink("kattach"));
            assertFalse(Region.unlink("kattach"));
        }
    }

    @Test
    void aCopyOfAnAttachedRegionCanBeUnlinked() throws Exception {
        try (Region r = Region.create("kattach", 1 << 16)) {
            setAttach(r.file(), 1);
            moduleHolds(r.file());
            Path copy = Region.path("kattach-copy");
            Files.copy(r.file(), copy); // cp: the header says kernel_attach = 1, but no module holds this inode
            try (Region c = Region.open("kattach-copy")) {
                assertEquals(1, c.kernelAttachments());
            }
            assertTrue(Region.unlink("kattach-copy"));
            assertThrows(FileSystemException.class, () -> Region.unlink("kattach"));
            moduleHolds();
            assertTrue(Region.unlink("kattach"));
        }
    }

    @Test
    void aCountNoLoadedModuleOwnsDoesNotPreventTheUnlink() throws Exception {
        try (Region r = Region.create("kattach", 1 << 16)) {
            setAttach(r.file(), 1); // left by a module that is gone: /sys/module has no shmsync
            assertTrue(Region.unlink("kattach"));
        }
    }

    @Test
    void withoutTheListTheCountDecides() throws Exception {
        System.setProperty(Region.KERNEL_ATTACHED_PROPERTY,
                sys.resolve("no-sysfs").resolve("module").resolve("shmsync").resolve("parameters").resolve("attached")
                        .toString());
        try (Region r = Region.create("kattach", 1 << 16)) {
            setAttach(r.file(), 1);
            FileSystemException e = assertThrows(FileSystemException.class, () -> Region.unlink("kattach"));
            assertTrue(e.getMessage().contains("kernel_attach = 1"), e.getMessage());
            setAttach(r.file(), 0);
            assertTrue(Region.unlink("kattach"));
        }
    }

    @Test
    void aLoadedModuleWithoutTheListLetsTheCountDecide() throws Exception {
        Files.createDirectories(list.getParent()); // /sys/module/shmsync/parameters, no "attached" (older module)
        try (Region r = Region.create("kattach", 1 << 16)) {
            setAttach(r.file(), 1);
            assertThrows(FileSystemException.class, () -> Region.unlink("kattach"));
            setAttach(r.file(), 0);
            assertTrue(Region.unlink("kattach"));
        }
    }

    @Test
    void unlinkOfAFileThatIsNoRegionIsNotConfusedByItsBytes() throws Exception {
        Path p = Region.path("notaregion");
        Files.write(p, new byte[200]); // magic 0: not a region, kernel_attach irrelevant
        assertTrue(Region.unlink("notaregion"));
    }
}
