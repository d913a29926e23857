package io.shmsync;

import io.shmsync.testing.Child;
import io.shmsync.testing.ChildJvm;
import io.shmsync.testing.Seeds;
import io.shmsync.testing.ShmDir;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Producer and consumer processes (two threads each) pass tokens through one region semaphore: every
 * token released is acquired exactly once. A lost token leaves a consumer blocked; a duplicated one lets
 * the consumers finish with permits left over.
 */
class ProducerConsumerProcessTest {
    static final int[] PRODUCED = {14_000, 10_000}; // per producer process
    static final int CONSUMERS = 2;
    static final int THREADS = 2;

    @RegisterExtension
    final ShmDir shm = new ShmDir();

    @Test
    @Timeout(180)
    void noTokenLostOrDuplicated() throws Exception {
        long seed = Seeds.seed("ProducerConsumerProcessTest");
        int total = 0;
        for (int p : PRODUCED) {
            total += p;
        }
        int perConsumer = total / CONSUMERS;
        assertEquals(total, perConsumer * CONSUMERS);
        String name = shm.regionName("pc");
        try (Region region = Region.create(name, 64 * 1024)) {
            Semaphore tokens = region.semaphore("tokens", 0);
            Semaphore consumed = region.semaphore("consumed", 0);
            List<ChildJvm> consumers = new ArrayList<>();
            List<ChildJvm> producers = new ArrayList<>();
            for (int c = 0; c < CONSUMERS; c++) {
                consumers.add(shm.start(shm.child(Worker.class).name("consumer-" + c)
                        .args(name, "consume", perConsumer, THREADS, seed + 100 + c)));
            }
            for (int p = 0; p < PRODUCED.length; p++) {
                producers.add(shm.start(shm.child(Worker.class).name("producer-" + p)
                        .args(name, "produce", PRODUCED[p], THREADS, seed + p)));
            }
            List<ChildJvm> all = new ArrayList<>(consumers);
            all.addAll(producers);
            for (ChildJvm c : all) {
                c.awaitLine("READY");
            }
            for (ChildJvm c : consumers) {
                c.send("GO"); // consumers first: they block until producers run
            }
            for (ChildJvm c : producers) {
                c.send("GO");
            }
            Pattern done = Pattern.compile("DONE (produce|consume) count=(\\d+)");
            long produced = 0, consumedCount = 0;
            for (ChildJvm c : all) {
                Matcher m = c.awaitMatch(done);
                if (m.group(1).equals("produce")) {
                    produced += Long.parseLong(m.group(2));
                } else {
                    consumedCount += Long.parseLong(m.group(2));
                }
                c.assertExit(0);
            }
            String state = "tokens " + tokens + ", consumed " + consumed + " (seed " + seed + ")";
            assertEquals(total, produced, state);
            assertEquals(total, consumedCount, state);
            assertEquals(0, tokens.availablePermits(), "tokens left over (duplicated?): " + state);
            assertEquals(0, tokens.getQueueLength(), state);
            assertEquals(total, consumed.availablePermits(), state);
            assertEquals(0, consumed.getQueueLength(), state);
        }
    }

    /** args: region produce|consume count threads seed. */
    public static final class Worker {
        public static void main(String[] args) {
            Child.run(args, a -> {
                String region = a[0];
                boolean produce = a[1].equals("produce");
                int count = Integer.parseInt(a[2]);
                int threads = Integer.parseInt(a[3]);
                long seed = Long.parseLong(a[4]);
                try (Region r = Region.open(region)) {
                    Semaphore tokens = r.semaphore("tokens");
                    Semaphore consumed = r.semaphore("consumed");
                    AtomicLong done = new AtomicLong();
                    AtomicLong errors = new AtomicLong();
                    Child.say("READY");
                    Child.expect("GO");
                    List<Thread> ts = new ArrayList<>();
                    for (int t = 0; t < threads; t++) {
                        int share = count / threads + (t < count % threads ? 1 : 0);
                        Random rnd = new Random(seed * 17 + t);
                        ts.add(Thread.ofPlatform().start(() -> {
                            try {
                                if (produce) {
                                    int left = share;
                                    while (left > 0) {
                                        int n = rnd.nextInt(4) == 0 ? Math.min(left, 1 + rnd.nextInt(8)) : 1;
                                        if (n == 1) {
                                            tokens.release();
                                        } else {
                                            tokens.release(n);
                                        }
                                        left -= n;
                                        done.addAndGet(n);
                                        if (rnd.nextInt(64) == 0) {
                                            Thread.yield();
                                        }
                                    }
                                } else {
                                    for (int i = 0; i < share; i++) {
                                        take(tokens, rnd);
                                        consumed.release();
                                        done.incrementAndGet();
                                    }
                                }
                            } catch (Throwable e) {
                                e.printStackTrace(System.out);
                                errors.incrementAndGet();
                            }
                        }));
                    }
                    for (Thread t : ts) {
                        t.join();
                    }
                    if (errors.get() != 0) {
                        throw new AssertionError(errors.get() + " thread(s) failed");
                    }
                    Child.say("DONE " + a[1] + " count=" + done.get());
                }
            });
        }

        static void take(Semaphore s, Random rnd) throws InterruptedException {
            switch (rnd.nextInt(6)) {
                case 0 -> s.acquireUninterruptibly();
                case 1 -> {
                    while (!s.tryAcquire(rnd.nextInt(3), TimeUnit.MILLISECONDS)) {
                        // again
                    }
                }
                case 2 -> {
                    while (!s.tryAcquire()) {
                        Thread.yield();
                    }
                }
                default -> s.acquire();
            }
        }
    }
}
