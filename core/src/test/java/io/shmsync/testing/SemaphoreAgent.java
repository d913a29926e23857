package io.shmsync.testing;

import io.shmsync.ObjectRemovedException;
import io.shmsync.Region;
import io.shmsync.RegionClosedException;
import io.shmsync.Semaphore;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A child process that operates on semaphores of one region on command, so a test can block threads in
 * another process, interrupt them, time them out, remove or release under them, and watch the outcome.
 *
 * <p>Args: {@code REGION}. Prints {@code READY} once the region is mapped. Commands (one per line):
 * <pre>
 * acquire ID SEM [virtual]        a thread ID does SEM.acquire(): prints "ID STARTED", then
 *                                 "ID ACQUIRED", "ID INTERRUPTED interrupted=B", "ID REMOVED", "ID CLOSED"
 *                                 or "ID ERROR exception"
 * uninterruptibly ID SEM [virtual] same with acquireUninterruptibly(); "ID ACQUIRED interrupted=B"
 * timed ID SEM MILLIS [virtual]   tryAcquire(MILLIS) in a loop until acquired ("ID ACQUIRED") or stopped
 *                                 ("ID TIMEDOUT count=N", N timed-out attempts)
 * stop ID                         ends the loop of a timed thread after its current attempt
 * interrupt ID                    Thread.interrupt() of thread ID
 * release SEM N                   SEM.release(N); prints "RELEASED SEM", or "RELEASE-FAILED SEM exception-class"
 * stat SEM                        prints "STAT SEM value=V nwaiters=W"
 * close                           closes the region; prints "CLOSED"
 * exit                            ends the process (status 0)
 * </pre>
 */
public final class SemaphoreAgent {
    private SemaphoreAgent() {
    }

    private static final Map<String, Thread> THREADS = new ConcurrentHashMap<>();
    private static final Map<String, AtomicBoolean> STOPS = new ConcurrentHashMap<>();
    private static final Map<String, Semaphore> SEMS = new ConcurrentHashMap<>();

    public static void main(String[] args) {
        Child.run(args, a -> {
            Region region = Region.open(a[0]);
            Child.say("READY");
            for (;;) {
                String[] c = Child.command().trim().split(" +");
                switch (c[0]) {
                    case "acquire", "uninterruptibly" -> start(c[1], c.length > 3, () -> {
                        Semaphore s = sem(region, c[2]);
                        Child.say(c[1] + " STARTED");
                        if (c[0].equals("acquire")) {
                            s.acquire();
                            Child.say(c[1] + " ACQUIRED");
                        } else {
                            s.acquireUninterruptibly();
                            Child.say(c[1] + " ACQUIRED interrupted=" + Thread.currentThread().isInterrupted());
                        }
                    });
                    case "timed" -> {
                        AtomicBoolean stop = new AtomicBoolean();
                        STOPS.put(c[1], stop);
                        long millis = Long.parseLong(c[3]);
                        start(c[1], c.length > 4, () -> {
                            Semaphore s = sem(region, c[2]);
                            Child.say(c[1] + " STARTED");
                            int timeouts = 0;
                            while (!stop.get()) {
                                if (s.tryAcquire(millis, TimeUnit.MILLISECONDS)) {
                                    Child.say(c[1] + " ACQUIRED");
                                    return;
                                }
                                timeouts++;
                            }
                            Child.say(c[1] + " TIMEDOUT count=" + timeouts);
                        });
                    }
                    case "stop" -> STOPS.get(c[1]).set(true);
                    case "interrupt" -> THREADS.get(c[1]).interrupt();
                    case "release" -> {
                        try {
                            sem(region, c[1]).release(Integer.parseInt(c[2]));
                            Child.say("RELEASED " + c[1]);
                        } catch (RuntimeException e) {
                            Child.say("RELEASE-FAILED " + c[1] + " " + e.getClass().getName());
                        }
                    }
                    case "stat" -> {
                        Semaphore s = sem(region, c[1]);
                        Child.say("STAT " + c[1] + " value=" + s.availablePermits() + " nwaiters=" + s.getQueueLength());
                    }
                    case "close" -> {
                        region.close();
                        Child.say("CLOSED");
                    }
                    case "exit" -> {
                        return;
                    }
                    default -> throw new IllegalArgumentException("unknown command " + String.join(" ", c));
                }
            }
        });
    }

    private static Semaphore sem(Region region, String name) {
        return SEMS.computeIfAbsent(name, region::semaphore);
    }

    interface Body {
        void run() throws Exception;
    }

    private static void start(String id, boolean virtual, Body body) {
        Runnable r = () -> {
            try {
                body.run();
            } catch (InterruptedException e) {
                Child.say(id + " INTERRUPTED interrupted=" + Thread.currentThread().isInterrupted());
            } catch (ObjectRemovedException e) {
                Child.say(id + " REMOVED " + e.getMessage());
            } catch (RegionClosedException e) {
                Child.say(id + " CLOSED " + e.getMessage());
            } catch (Throwable e) {
                Child.say(id + " ERROR " + e);
                e.printStackTrace(System.out);
            }
        };
        Thread t = (virtual ? Thread.ofVirtual() : Thread.ofPlatform().daemon()).name(id).unstarted(r);
        THREADS.put(id, t);
        t.start();
    }
}
