package io.shmsync.internal.region;

import io.shmsync.internal.posix.Errors;
import io.shmsync.internal.posix.Posix;
import io.shmsync.internal.sync.WaitScope;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;

/**
 * An open, mapped file: its descriptor (kept open for the directory lock), a {@code MAP_SHARED} mapping
 * owned by a shared {@link Arena}, and the {@link WaitScope} of this process's waiters on it.
 * {@link #close()} aborts those waiters, waits for them to leave, then unmaps (any later access to the
 * segment throws {@link IllegalStateException}) and closes the descriptor.
 */
public final class Mapping implements AutoCloseable {
    private final int fd;
    private final Path path;
    private final Arena arena;
    private final MemorySegment segment;
    private final WaitScope scope;
    private final Posix.FileStat stat;
    private boolean closed;

    private Mapping(int fd, Path path, Arena arena, MemorySegment segment, WaitScope scope, Posix.FileStat stat) {
        this.fd = fd;
        this.path = path;
        this.arena = arena;
        this.segment = segment;
        this.scope = scope;
        this.stat = stat;
    }

    /**
     * Maps {@code size} bytes of {@code fd} shared, read-write. On failure the descriptor is closed.
     */
    public static Mapping map(int fd, Path path, long size, Posix.FileStat stat, String scopeName) throws IOException {
        long address = Posix.mmapShared(fd, size);
        if (address < 0) {
            Posix.close(fd);
            throw Errors.io("mmap", path.toString(), (int) -address);
        }
        Arena arena = Arena.ofShared();
        MemorySegment segment = MemorySegment.ofAddress(address)
                .reinterpret(size, arena, unused -> Posix.munmap(address, size));
        return new Mapping(fd, path, arena, segment, new WaitScope(scopeName), stat);
    }

    public int fd() {
        return fd;
    }

    public Path path() {
        return path;
    }

    public MemorySegment segment() {
        return segment;
    }

    public WaitScope scope() {
        return scope;
    }

    public Posix.FileStat stat() {
        return stat;
    }

    public synchronized boolean isClosed() {
        return closed;
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        scope.closeAndDrain();
        arena.close();
        Posix.close(fd);
    }
}
