package io.shmsync.testing;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A child process for multi-process tests: a JVM running a {@code main} class of the test sources (or any
 * other program, see {@link #startProgram}). Its stderr is merged into stdout and read line by line on a
 * daemon thread, so no output is ever lost: every assertion failure made through this class carries the
 * child's complete output so far.
 *
 * <p>Children written with {@link Child} exit when their stdin reaches EOF, so they die with the test JVM
 * even if it is killed; {@link #close()} kills the process and all its descendants.
 *
 * <pre>{@code
 * try (ChildJvm c = ChildJvm.java(MyTest.Worker.class).regionDir(dir).args("a", "b").start()) {
 *     c.awaitLine("READY");
 *     c.send("GO");
 *     String result = c.awaitLine("RESULT ");
 *     c.assertExit(0);
 * }
 * }</pre>
 */
public final class ChildJvm implements AutoCloseable {
    /** Default time to wait for a line or an exit: generous, the test's @Timeout bounds the total anyway. */
    public static final Duration DEFAULT_WAIT = Duration.ofSeconds(60);

    private final String name;
    private final List<String> command;
    private final Process process;
    private final OutputStream stdin;
    private final List<String> lines = new ArrayList<>();
    private final java.util.BitSet consumed = new java.util.BitSet();
    private boolean eof;

    private ChildJvm(String name, List<String> command, Process process) {
        this.name = name;
        this.command = command;
        this.process = process;
        this.stdin = process.getOutputStream();
        Thread reader = new Thread(this::readOutput, "child-output-" + name);
        reader.setDaemon(true);
        reader.start();
    }

    // ------------------------------------------------------------------ starting

    /** A builder for a JVM running {@code mainClass} with the test class path. */
    public static Builder java(Class<?> mainClass) {
        return new Builder(mainClass);
    }

    /** Starts a non-Java program (e.g. a C peer); its output is captured the same way. */
    public static ChildJvm startProgram(String name, List<String> command) {
        return launch(name, command, null);
    }

    /** Starts {@code command} with the environment of this process plus {@code env}. */
    static ChildJvm launch(String name, List<String> command, java.util.Map<String, String> env) {
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
        if (env != null) {
            pb.environment().putAll(env);
        }
        try {
            return new ChildJvm(name, List.copyOf(command), pb.start());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start " + name + ": " + command, e);
        }
    }

    /** The {@code java} launcher of this JVM. */
    public static String javaExecutable() {
        return ProcessHandle.current().info().command()
                .filter(c -> c.endsWith("/java") && Files.isExecutable(Path.of(c)))
                .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    }

    /**
     * The class path for children: this JVM's class path plus its module path (under Surefire the main
     * classes may be on the module path). Children always run on the class path, so
     * {@code --enable-native-access=ALL-UNNAMED} covers the library.
     */
    public static String testClassPath() {
        Set<String> entries = new LinkedHashSet<>();
        for (String prop : new String[]{"java.class.path", "jdk.module.path"}) {
            String v = System.getProperty(prop);
            if (v != null) {
                for (String e : v.split(java.io.File.pathSeparator)) {
                    if (!e.isBlank()) {
                        entries.add(e);
                    }
                }
            }
        }
        return String.join(java.io.File.pathSeparator, entries);
    }

    /**
     * Only the directories of compiled main and test classes (no jars): for children that must run as
     * another user who cannot read the Maven repository.
     */
    public static String classDirectoriesOnly() {
        List<String> dirs = new ArrayList<>();
        for (String e : testClassPath().split(java.io.File.pathSeparator)) {
            if (Files.isDirectory(Path.of(e))) {
                dirs.add(e);
            }
        }
        return String.join(java.io.File.pathSeparator, dirs);
    }

    /** Builds the command line of a child JVM. */
    public static final class Builder {
        private final Class<?> mainClass;
        private final List<String> jvmArgs = new ArrayList<>();
        private final List<String> args = new ArrayList<>();
        private final List<String> prefix = new ArrayList<>();
        private String name;
        private String classPath;
        private Path regionDir;

        private Builder(Class<?> mainClass) {
            this.mainClass = mainClass;
            this.name = mainClass.getSimpleName();
        }

        /** Name used in messages (default: the main class's simple name). */
        public Builder name(String name) {
            this.name = name;
            return this;
        }

        /** The region directory, passed as {@code -Dio.shmsync.dir}. */
        public Builder regionDir(Path dir) {
            this.regionDir = dir;
            return this;
        }

        /** Extra JVM options (before the main class). */
        public Builder jvmArgs(String... a) {
            jvmArgs.addAll(List.of(a));
            return this;
        }

        /** Program arguments. */
        public Builder args(Object... a) {
            for (Object o : a) {
                args.add(String.valueOf(o));
            }
            return this;
        }

        /** A command that wraps the java launcher, e.g. {@code setpriv --reuid=65534 ...}. */
        public Builder wrapper(String... command) {
            prefix.addAll(List.of(command));
            return this;
        }

        public Builder classPath(String cp) {
            this.classPath = cp;
            return this;
        }

        public List<String> command() {
            List<String> cmd = new ArrayList<>(prefix);
            cmd.add(javaExecutable());
            cmd.add("-cp");
            cmd.add(classPath != null ? classPath : testClassPath());
            cmd.add("--enable-native-access=ALL-UNNAMED");
            cmd.add("-XX:TieredStopAtLevel=1");
            cmd.add("-XX:+UseSerialGC");
            cmd.add("-Xshare:auto");
            cmd.add("-Xms16m");
            cmd.add("-Xmx128m");
            cmd.add("-XX:-UsePerfData");
            if (regionDir != null) {
                cmd.add("-Dio.shmsync.dir=" + regionDir);
            }
            String seed = System.getProperty("shmsync.seed");
            if (seed != null) {
                cmd.add("-Dshmsync.seed=" + seed);
            }
            cmd.addAll(jvmArgs);
            cmd.add(mainClass.getName());
            cmd.addAll(args);
            return cmd;
        }

        public ChildJvm start() {
            return launch(name, command(), null);
        }
    }

    // ------------------------------------------------------------------ output

    private void readOutput() {
        try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(),
                StandardCharsets.UTF_8))) {
            for (String line; (line = r.readLine()) != null; ) {
                synchronized (this) {
                    lines.add(line);
                    notifyAll();
                }
            }
        } catch (IOException e) {
            synchronized (this) {
                lines.add("<<output read failed: " + e + ">>");
            }
        } finally {
            synchronized (this) {
                eof = true;
                notifyAll();
            }
        }
    }

    /**
     * The earliest line not returned by an earlier await that starts with {@code prefix}, waiting for it if
     * needed. Lines that do not match stay available to later awaits, so lines printed by concurrent threads
     * of the child may be awaited in any order.
     */
    public String awaitLine(String prefix) {
        return awaitLine(prefix, DEFAULT_WAIT);
    }

    public String awaitLine(String prefix, Duration timeout) {
        return awaitMatching(l -> l.startsWith(prefix), "a line starting with \"" + prefix + "\"", timeout);
    }

    /** The next line that matches {@code regex} completely; returns the matcher (groups available). */
    public Matcher awaitMatch(Pattern regex) {
        return awaitMatch(regex, DEFAULT_WAIT);
    }

    public Matcher awaitMatch(Pattern regex, Duration timeout) {
        String line = awaitMatching(l -> regex.matcher(l).matches(), "a line matching /" + regex + "/", timeout);
        Matcher m = regex.matcher(line);
        if (!m.matches()) {
            throw new AssertionError("impossible");
        }
        return m;
    }

    private synchronized String awaitMatching(Predicate<String> p, String what, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        for (;;) {
            for (int i = consumed.nextClearBit(0); i < lines.size(); i = consumed.nextClearBit(i + 1)) {
                String l = lines.get(i);
                if (p.test(l)) {
                    consumed.set(i);
                    return l;
                }
            }
            if (eof) {
                // The output is complete; let the exit status settle for the message.
                waitQuietly(Duration.ofSeconds(2));
                throw failure("child ended its output without " + what);
            }
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                throw failure("no " + what + " within " + timeout);
            }
            try {
                TimeUnit.NANOSECONDS.timedWait(this, left);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw failure("interrupted while waiting for " + what);
            }
        }
    }

    /** All output lines so far. */
    public synchronized List<String> output() {
        return List.copyOf(lines);
    }

    /** An AssertionError whose message carries the child's command, state and complete output so far. */
    public AssertionError failure(String message) {
        return new AssertionError(describe(message));
    }

    public String describe(String message) {
        StringBuilder sb = new StringBuilder();
        sb.append(message).append("\n--- child ").append(name).append(" (pid ").append(process.pid()).append(", ")
                .append(process.isAlive() ? "running" : "exit code " + process.exitValue()).append(")\n")
                .append("--- command: ").append(String.join(" ", command)).append('\n')
                .append("--- output:\n");
        for (String l : output()) {
            sb.append("    | ").append(l).append('\n');
        }
        return sb.append("--- end of output of ").append(name).toString();
    }

    // ------------------------------------------------------------------ input, exit

    /** Sends one line to the child's stdin. */
    public void send(String line) {
        try {
            stdin.write((line + "\n").getBytes(StandardCharsets.UTF_8));
            stdin.flush();
        } catch (IOException e) {
            throw failure("cannot write \"" + line + "\" to the child: " + e);
        }
    }

    /** Closes the child's stdin (children made with {@link Child} then exit). */
    public void closeStdin() {
        try {
            stdin.close();
        } catch (IOException ignored) {
            // already gone
        }
    }

    private boolean waitQuietly(Duration d) {
        try {
            return process.waitFor(d.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /** Waits for the process to end and returns its exit code; fails with the output if it does not. */
    public int awaitExit(Duration timeout) {
        if (!waitQuietly(timeout)) {
            throw failure("child did not exit within " + timeout);
        }
        // Let the reader drain the rest of the output.
        synchronized (this) {
            long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
            while (!eof && System.nanoTime() < deadline) {
                try {
                    wait(50);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    break;
                }
            }
        }
        return process.exitValue();
    }

    /** Waits for the exit and asserts its code. */
    public void assertExit(int expected) {
        assertExit(expected, DEFAULT_WAIT);
    }

    public void assertExit(int expected, Duration timeout) {
        int code = awaitExit(timeout);
        if (code != expected) {
            throw failure("child exited with " + code + ", expected " + expected);
        }
    }

    public long pid() {
        return process.pid();
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    public String name() {
        return name;
    }

    /** Kills the process and all its descendants (SIGKILL), and waits for it. Idempotent. */
    @Override
    public void close() {
        closeStdin();
        process.descendants().forEach(ProcessHandle::destroyForcibly);
        process.destroyForcibly();
        waitQuietly(Duration.ofSeconds(10));
    }

    @Override
    public String toString() {
        return "ChildJvm[" + name + ", pid " + process.pid() + "]";
    }
}
