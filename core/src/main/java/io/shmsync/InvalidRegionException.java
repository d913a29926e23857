package io.shmsync;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A region (or POSIX semaphore) file is not what it must be: wrong magic or version, inconsistent sizes,
 * an offset outside the file, overlapping objects, a corrupt directory entry. The message names the file
 * and the field. Thrown when a region is opened, and (wrapped in an {@link java.io.UncheckedIOException})
 * when corruption written into it later by another process is found.
 */
public class InvalidRegionException extends IOException {
    private static final long serialVersionUID = 1L;

    private final transient Path file;
    private final String field;

    public InvalidRegionException(Path file, String field, String problem) {
        super(file + ": invalid " + field + ": " + problem);
        this.file = file;
        this.field = field;
    }

    /** The file that failed validation. */
    public Path file() {
        return file;
    }

    /** The field that failed validation, as named in docs/PROTOCOL.md. */
    public String field() {
        return field;
    }
}
