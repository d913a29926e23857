package io.shmsync.internal.region;

import io.shmsync.internal.posix.Errors;
import io.shmsync.internal.posix.Posix;
import io.shmsync.internal.sync.WaitScope;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;

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
    private volatile boolean closed;
    private final AtomicReference<BooleanSupplier> beforeUnmap;
    /**
     * Held by directory writers for the whole of a change (together with the OFD lock on {@link #fd()}):
     * {@link #close()} takes it too, so it never unmaps or closes the descriptor under a writer, and a
     * writer that comes after the close fails instead of using a closed (maybe reused) descriptor.
     */
    private final java.util.concurrent.locks.ReentrantLock directoryLock = new java.util.concurrent.locks.ReentrantLock();

    private Mapping(int fd, Path path, Arena arena, MemorySegment segment, WaitScope scope, Posix.FileStat stat,
                    AtomicReference<BooleanSupplier> beforeUnmap) {
        this.beforeUnmap = beforeUnmap;
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
        AtomicReference<BooleanSupplier> beforeUnmap = new AtomicReference<>();
        MemorySegment segment = MemorySegment.ofAddress(address).reinterpret(size, arena, unused -> {
            BooleanSupplier keep = beforeUnmap.get();
            if (keep == null || !keep.getAsBoolean()) {
                Posix.munmap(address, size);
            }
        });
        return new Mapping(fd, path, arena, segment, new WaitScope(scopeName), stat, beforeUnmap);
    }

    /**
     * Sets what {@link #close()} runs after the JVM's close handshake on the segment (every thread has left its
     * accesses to it, and later ones fail) and before the unmap, while the memory can still be reached by
     * address; if it returns true the memory stays mapped for the rest of the process's life.
     */
    public void beforeUnmap(BooleanSupplier keepMapped) {
        if (!beforeUnmap.compareAndSet(null, keepMapped)) {
            throw new IllegalStateException("a before-unmap action is already set");
        }
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

    /** The process-local half of the directory lock; see {@link #close()}. */
    public java.util.concurrent.locks.ReentrantLock directoryLock() {
        return directoryLock;
    }

    public boolean isClosed() { // not synchronized: directory writers ask while close() waits for them
        return closed;
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        scope.closeAndDrain();
        directoryLock.lock(); // wait for a directory writer of this process to finish
        try {
            arena.close();
            Posix.close(fd);
        } finally {
            directoryLock.unlock(); // later writers see 'closed' and throw
        }
    }
}
