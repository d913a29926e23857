package io.shmsync;

import io.shmsync.internal.region.RegionLayout;
import io.shmsync.testing.ShmDir;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.StandardOpenOption;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** PROTOCOL §1.1/§5: a region the kernel module is attached to (kernel_attach != 0) is not unlinked. */
class KernelAttachTest {
    @RegisterExtension
    final ShmDir shm = new ShmDir();

    private static void setAttach(java.nio.file.Path file, int value) throws Exception {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(0, value), RegionLayout.KERNEL_ATTACH_OFFSET);
        }
    }

    @Test
    void unlinkIsRefusedWhileTheKernelIsAttached() throws Exception {
        try (Region r = Region.create("kattach", 1 << 16)) {
            assertEquals(0, r.kernelAttachments());
            setAttach(r.file(), 1); // what shmsync.ko's attach does (atomically)
            assertEquals(1, r.kernelAttachments());
            FileSystemException e = assertThrows(FileSystemException.class, () -> Region.unlink("kattach"));
            assertTrue(e.getMessage().contains("shmsync.ko"), e.getMessage());
            assertTrue(Files.exists(r.file()), "the file must still be there");
            try (Region again = Region.open("kattach")) { // any value is valid: readers do not validate it
                assertEquals(1, again.kernelAttachments());
            }
            setAttach(r.file(), 0); // detach
            assertTrue(Region.unlink("kattach"));
            assertFalse(Region.unlink("kattach"));
        }
    }

    @Test
    void unlinkOfAFileThatIsNoRegionIsNotConfusedByItsBytes() throws Exception {
        java.nio.file.Path p = Region.path("notaregion");
        Files.write(p, new byte[200]); // magic 0: not a region, kernel_attach irrelevant
        assertTrue(Region.unlink("notaregion"));
    }
}
