package io.shmsync.internal.posix;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;

/** Turns an errno into the {@code java.nio.file} exception a Java user expects, with the cause spelled out. */
public final class Errors {
    private Errors() {
    }

    public static IOException io(String call, String file, int errno) {
        String reason = call + ": " + Posix.strerror(errno) + " (errno " + errno + ")";
        return switch (errno) {
            case Posix.ENOENT -> new NoSuchFileException(file, null, reason);
            case Posix.EEXIST -> new FileAlreadyExistsException(file, null, reason);
            case Posix.EACCES, Posix.EPERM -> new AccessDeniedException(file, null, reason);
            default -> new FileSystemException(file, null, reason);
        };
    }
}
