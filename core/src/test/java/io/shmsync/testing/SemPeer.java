package io.shmsync.testing;

import org.junit.jupiter.api.Assumptions;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The C peer {@code sem_peer} (kernel-mirror/tools/sem_peer.c), built by the Maven build into the directory
 * named by the system property {@code shmsync.c.bin}. It uses glibc's own {@code sem_open}/{@code sem_post}/
 * {@code sem_wait}.
 */
public final class SemPeer {
    private SemPeer() {
    }

    private static final Pattern STAT = Pattern.compile("value=(\\d+) nwaiters=(\\d+) private=(-?\\d+)");

    /** The binary; skips the test (assumption) if the build did not make it. */
    public static Path binary() {
        String bin = System.getProperty("shmsync.c.bin");
        Assumptions.assumeTrue(bin != null, "system property shmsync.c.bin not set (run through Maven)");
        Path p = Path.of(bin, "sem_peer");
        Assumptions.assumeTrue(Files.isExecutable(p), p + " not built (make -C kernel-mirror user)");
        return p;
    }

    /** Starts {@code sem_peer args...}; the caller closes it (or registers it with {@link ShmDir#closeLater}). */
    public static ChildJvm start(String... args) {
        List<String> cmd = new ArrayList<>();
        cmd.add(binary().toString());
        cmd.addAll(List.of(args));
        return ChildJvm.startProgram("sem_peer " + args[0], cmd);
    }

    /** Runs a short command to completion, asserts exit 0, returns its output. */
    public static List<String> run(String... args) {
        try (ChildJvm c = start(args)) {
            c.assertExit(0, Duration.ofSeconds(30));
            return c.output();
        }
    }

    /** {@code value, nwaiters, private} of a named semaphore, read by C from the raw sem_t words. */
    public record Stat(long value, long nwaiters, int privateWord) {
    }

    public static Stat stat(String name) {
        try (ChildJvm c = start("stat", name)) {
            Matcher m = c.awaitMatch(STAT, Duration.ofSeconds(30));
            Stat s = new Stat(Long.parseLong(m.group(1)), Long.parseLong(m.group(2)), Integer.parseInt(m.group(3)));
            c.assertExit(0, Duration.ofSeconds(30));
            return s;
        }
    }
}
