package io.shmsync.testing;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The harness itself: output capture, failures that carry the output, exit on stdin EOF, kill. */
class ChildJvmTest {
    @RegisterExtension
    final ShmDir shm = new ShmDir();

    /** args: MODE. Echoes commands; "fail" throws; "fork" starts a grandchild and waits. */
    public static final class Echo {
        public static void main(String[] args) {
            Child.run(args, a -> {
                Child.say("READY dir=" + System.getProperty("io.shmsync.dir"));
                System.err.println("to stderr");
                for (;;) {
                    String c = Child.command();
                    switch (c) {
                        case "fail" -> throw new IllegalStateException("asked to fail");
                        case "exit" -> {
                            return;
                        }
                        case "fork" -> {
                            Process p = new ProcessBuilder("sleep", "300").start();
                            Child.say("GRANDCHILD " + p.pid());
                        }
                        default -> Child.say("ECHO " + c);
                    }
                }
            });
        }
    }

    @Test
    @Timeout(60)
    void linesCommandsAndExit() {
        ChildJvm c = shm.start(Echo.class);
        assertEquals("READY dir=" + shm.path(), c.awaitLine("READY"));
        c.awaitLine("to stderr"); // merged
        c.send("b");
        c.send("a");
        assertEquals("ECHO a", c.awaitLine("ECHO a"), "lines may be awaited out of order");
        assertEquals("ECHO b", c.awaitLine("ECHO"));
        c.send("x");
        c.send("42");
        Matcher m = c.awaitMatch(Pattern.compile("ECHO (\\d+)"), Duration.ofSeconds(30));
        assertEquals("42", m.group(1));
        assertEquals("ECHO x", c.awaitLine("ECHO"), "skipped lines stay available");
        c.send("exit");
        c.assertExit(0);
    }

    @Test
    @Timeout(60)
    void failuresCarryTheOutput() {
        ChildJvm c = shm.start(Echo.class);
        c.awaitLine("READY");
        c.send("fail");
        AssertionError e = assertThrows(AssertionError.class, () -> c.awaitLine("NEVER"));
        assertTrue(e.getMessage().contains("asked to fail"), e.getMessage());
        assertTrue(e.getMessage().contains("CHILD FAILED"), e.getMessage());
        assertTrue(e.getMessage().contains("exit code 1"), e.getMessage());
        assertEquals(1, c.awaitExit(Duration.ofSeconds(30)));
    }

    @Test
    @Timeout(60)
    void awaitTimesOutWithTheOutput() {
        ChildJvm c = shm.start(Echo.class);
        c.awaitLine("READY");
        AssertionError e = assertThrows(AssertionError.class, () -> c.awaitLine("NEVER", Duration.ofMillis(200)));
        assertTrue(e.getMessage().contains("READY dir="), e.getMessage());
        assertTrue(e.getMessage().contains("running"), e.getMessage());
    }

    @Test
    @Timeout(60)
    void childExitsWhenStdinCloses() {
        ChildJvm c = shm.start(Echo.class);
        c.awaitLine("READY");
        c.closeStdin();
        assertEquals(3, c.awaitExit(Duration.ofSeconds(30)));
    }

    @Test
    @Timeout(60)
    void closeKillsTheChildAndItsDescendants() {
        ChildJvm c = shm.start(Echo.class);
        c.awaitLine("READY");
        c.send("fork");
        long grandchild = Long.parseLong(c.awaitLine("GRANDCHILD ").substring("GRANDCHILD ".length()));
        assertTrue(ProcessHandle.of(grandchild).map(ProcessHandle::isAlive).orElse(false));
        c.close();
        assertFalse(c.isAlive());
        Await.until(() -> ProcessHandle.of(grandchild).map(h -> !h.isAlive()).orElse(true),
                () -> "grandchild " + grandchild + " still alive");
    }
}
