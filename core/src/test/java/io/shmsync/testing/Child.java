package io.shmsync.testing;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * The child side of {@link ChildJvm}: every child {@code main} starts with {@link #run(String[], Body)}.
 *
 * <ul>
 *   <li>A daemon thread reads stdin line by line; the lines are {@linkplain #command() commands} from the
 *       parent. At EOF (the parent closed it, or died) the child halts at once with status 3, so children
 *       never outlive their test JVM.</li>
 *   <li>{@link #say(String)} prints a line and flushes (the parent waits for lines such as {@code READY}).</li>
 *   <li>An exception from the body is printed and ends the child with status 1; a normal end exits 0.</li>
 * </ul>
 * This class must not use JUnit: some children run as another user without access to its jars.
 */
public final class Child {
    private static final BlockingQueue<String> COMMANDS = new LinkedBlockingQueue<>();
    private static final String EOF = "\u0000EOF";

    private Child() {
    }

    /** The body of a child's main. */
    @FunctionalInterface
    public interface Body {
        void run(String[] args) throws Exception;
    }

    /** Runs {@code body} with the stdin watchdog in place, then exits the JVM (0, or 1 on an exception). */
    public static void run(String[] args, Body body) {
        Thread watchdog = new Thread(Child::readStdin, "child-stdin-watchdog");
        watchdog.setDaemon(true);
        watchdog.start();
        int status = 0;
        try {
            body.run(args);
        } catch (Throwable t) {
            System.out.println("CHILD FAILED: " + t);
            t.printStackTrace(System.out);
            status = 1;
        }
        System.out.flush();
        System.err.flush();
        Runtime.getRuntime().halt(status);
    }

    private static void readStdin() {
        try (BufferedReader r = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))) {
            for (String line; (line = r.readLine()) != null; ) {
                COMMANDS.add(line);
            }
        } catch (Throwable ignored) {
            // treat as EOF
        }
        System.out.flush();
        Runtime.getRuntime().halt(3);
    }

    /** Prints a line for the parent and flushes. Thread-safe. */
    public static void say(String line) {
        synchronized (System.out) {
            System.out.println(line);
            System.out.flush();
        }
    }

    /** The next command line from the parent (blocks). */
    public static String command() throws InterruptedException {
        String c = COMMANDS.take();
        if (c.equals(EOF)) {
            throw new IllegalStateException("stdin closed");
        }
        return c;
    }

    /** The next command, which must be {@code expected}. */
    public static void expect(String expected) throws InterruptedException {
        String c = command();
        if (!c.equals(expected)) {
            throw new IllegalStateException("expected command \"" + expected + "\", got \"" + c + "\"");
        }
    }

    /** The next command within the timeout, or null. */
    public static String command(long timeout, TimeUnit unit) throws InterruptedException {
        return COMMANDS.poll(timeout, unit);
    }
}
