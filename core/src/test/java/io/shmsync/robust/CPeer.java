package io.shmsync.robust;

import io.shmsync.testing.ChildJvm;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Builds core/src/test/c/robust_peer.c with {@code cc} into target/ (once per JVM) and starts it. */
final class CPeer {
    private CPeer() {
    }

    private static Path binary;

    static synchronized Path binary() throws IOException, InterruptedException {
        if (binary != null) {
            return binary;
        }
        Path source = Path.of("src/test/c/robust_peer.c").toAbsolutePath();
        if (!Files.isRegularFile(source)) {
            source = Path.of("core/src/test/c/robust_peer.c").toAbsolutePath(); // run from the repository root
        }
        Path target = source.getParent().getParent().getParent().getParent().resolve("target");
        Files.createDirectories(target);
        Path out = target.resolve("robust_peer");
        List<String> cmd = new ArrayList<>(List.of("cc", "-O2", "-Wall", "-pthread", "-o", out.toString(),
                source.toString()));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String log = new String(p.getInputStream().readAllBytes());
        if (!p.waitFor(120, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new AssertionError("cannot build " + source + ": " + cmd + "\n" + log);
        }
        binary = out;
        return out;
    }

    /** Starts the peer on the pthread_mutex_t at {@code offset} of {@code file}; waits for READY. */
    static ChildJvm start(Path file, long offset) throws IOException, InterruptedException {
        ChildJvm c = ChildJvm.startProgram("robust_peer", List.of(binary().toString(), file.toString(),
                Long.toString(offset)));
        c.awaitLine("READY");
        return c;
    }
}
