package io.shmsync;

import io.shmsync.testing.ChildJvm;
import io.shmsync.testing.SemPeer;
import io.shmsync.testing.ShmDir;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.nio.file.Files;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * A C program using glibc's own {@code sem_open}/{@code sem_post}/{@code sem_wait} ({@code sem_peer}) and
 * this JVM's {@link PosixSemaphore} share named semaphores: 100 000 ping-pong round trips in each
 * direction, and a million tokens through producer/consumer pairs, each ending at value 0 and nwaiters 0
 * as seen by both C and Java.
 */
class GlibcInteropTest {
    static final int ROUNDS = 100_000;
    static final int TOKENS = 500_000; // per direction: 1M in total
    static final Pattern RESULT = Pattern.compile("RESULT rounds=(\\d+) p50_ns=(\\d+) .*");
    static final Duration LONG = Duration.ofSeconds(90);

    @RegisterExtension
    final ShmDir shm = new ShmDir();

    /** A thread doing {@code body}; its failure is kept for {@link #join}. */
    record Worker(Thread thread, AtomicReference<Throwable> failure) {
        static Worker start(String name, ThrowingRunnable body) {
            AtomicReference<Throwable> f = new AtomicReference<>();
            Thread t = Thread.ofPlatform().name(name).start(() -> {
                try {
                    body.run();
                } catch (Throwable e) {
                    f.set(e);
                }
            });
            return new Worker(t, f);
        }

        void join(ChildJvm peer) throws InterruptedException {
            thread.join(LONG.toMillis());
            if (thread.isAlive()) {
                throw peer.failure("Java side " + thread.getName() + " still running: " + thread.getState());
            }
            if (failure.get() != null) {
                AssertionError e = peer.failure("Java side " + thread.getName() + " failed: " + failure.get());
                e.initCause(failure.get());
                throw e;
            }
        }
    }

    interface ThrowingRunnable {
        void run() throws Exception;
    }

    static void assertIdle(String name, PosixSemaphore s) {
        SemPeer.Stat st = SemPeer.stat(name);
        assertEquals(new SemPeer.Stat(0, 0, 128), st, "C's view of " + name);
        assertEquals(0, s.availablePermits(), s.toString());
        assertEquals(0, s.getQueueLength(), s.toString());
    }

    @Test
    @Timeout(120)
    void cPingsJavaPong() throws Exception {
        String a = shm.semName(), b = shm.semName();
        SemPeer.run("create", a, "0"); // one made by glibc,
        try (PosixSemaphore sa = PosixSemaphore.open(a);
             PosixSemaphore sb = PosixSemaphore.create(b, 0600, 0)) { // one by Java
            Worker pong = Worker.start("java-pong", () -> {
                for (int i = 0; i < ROUNDS; i++) {
                    sa.acquire();
                    sb.release();
                }
            });
            ChildJvm ping = shm.closeLater(SemPeer.start("ping", a, b, Integer.toString(ROUNDS)));
            ping.awaitLine("READY");
            Matcher m = ping.awaitMatch(RESULT, LONG);
            ping.assertExit(0);
            pong.join(ping);
            assertEquals(Integer.toString(ROUNDS), m.group(1));
            System.out.println("C ping -> Java pong: " + m.group());
            assertIdle(a, sa);
            assertIdle(b, sb);
        }
    }

    @Test
    @Timeout(120)
    void javaPingsCPong() throws Exception {
        String a = shm.semName(), b = shm.semName();
        try (PosixSemaphore sa = PosixSemaphore.create(a, 0600, 0)) {
            SemPeer.run("create", b, "0");
            try (PosixSemaphore sb = PosixSemaphore.openOrCreate(b, 0600, 5)) { // exists: keeps 0
                assertEquals(0, sb.availablePermits());
                ChildJvm pong = shm.closeLater(SemPeer.start("pong", a, b, Integer.toString(ROUNDS)));
                pong.awaitLine("READY");
                Worker ping = Worker.start("java-ping", () -> {
                    for (int i = 0; i < ROUNDS; i++) {
                        sa.release();
                        sb.acquire();
                    }
                });
                ping.join(pong);
                pong.awaitLine("DONE rounds=" + ROUNDS, LONG);
                pong.assertExit(0);
                assertIdle(a, sa);
                assertIdle(b, sb);
            }
        }
    }

    @Test
    @Timeout(120)
    void cProducesJavaConsumes() throws Exception {
        String s = shm.semName();
        try (PosixSemaphore sem = PosixSemaphore.create(s, 0600, 0)) {
            // Two Java consumer threads, so they also contend with each other.
            Worker c1 = Worker.start("java-consumer-1", () -> consume(sem, TOKENS / 2));
            Worker c2 = Worker.start("java-consumer-2", () -> consume(sem, TOKENS - TOKENS / 2));
            ChildJvm producer = shm.closeLater(SemPeer.start("produce", s, Integer.toString(TOKENS)));
            producer.awaitLine("DONE count=" + TOKENS, LONG);
            producer.assertExit(0);
            c1.join(producer);
            c2.join(producer);
            assertIdle(s, sem);
        }
    }

    @Test
    @Timeout(120)
    void javaProducesCConsumes() throws Exception {
        String s = shm.semName();
        SemPeer.run("create", s, "0");
        try (PosixSemaphore sem = PosixSemaphore.open(s)) {
            ChildJvm consumer = shm.closeLater(SemPeer.start("consume", s, Integer.toString(TOKENS)));
            consumer.awaitLine("READY");
            Worker producer = Worker.start("java-producer", () -> {
                for (int i = 0; i < TOKENS; i++) {
                    if (i % 5 == 0 && i + 3 <= TOKENS) {
                        sem.release(3);
                        i += 2;
                    } else {
                        sem.release();
                    }
                }
            });
            producer.join(consumer);
            consumer.awaitLine("DONE count=" + TOKENS, LONG);
            consumer.assertExit(0);
            assertIdle(s, sem);
        }
    }

    private static void consume(PosixSemaphore sem, int n) throws InterruptedException {
        for (int i = 0; i < n; i++) {
            if ((i & 3) != 0 || !sem.tryAcquire()) {
                sem.acquire();
            }
        }
    }

    /** A file made by Java's create is byte for byte what glibc's sem_open makes (32 bytes, private=128). */
    @Test
    @Timeout(60)
    void javaImageEqualsGlibcImage() throws Exception {
        String c = shm.semName(), j = shm.semName();
        SemPeer.run("create", c, "7");
        try (PosixSemaphore js = PosixSemaphore.create(j, 0600, 7);
             PosixSemaphore cs = PosixSemaphore.open(c)) {
            byte[] glibc = Files.readAllBytes(PosixSemaphore.path(c));
            byte[] ours = Files.readAllBytes(PosixSemaphore.path(j));
            assertEquals(32, glibc.length);
            assertArrayEquals(glibc, ours);
            assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(PosixSemaphore.path(j))));
            assertEquals(7, cs.availablePermits());
            assertEquals(7, js.availablePermits());
            assertEquals(new SemPeer.Stat(7, 0, 128), SemPeer.stat(j));
        }
    }
}
