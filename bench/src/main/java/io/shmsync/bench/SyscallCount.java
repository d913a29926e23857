package io.shmsync.bench;

import io.shmsync.Region;
import io.shmsync.Semaphore;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.Locale;

/**
 * The target of the syscall proof (bench/run.sh, step "syscalls"): a dedicated platform thread that runs
 * uncontended {@code tryAcquire() + release()} iterations on a region semaphore on command, so that a tracer
 * attached to <em>that thread only</em> ({@code perf stat -e raw_syscalls:sys_enter -t TID},
 * {@code strace -c -p TID}) can count its system calls for N and for 10·N iterations.
 *
 * <p>Protocol (stdin / stdout, one line each):
 * <pre>
 *   → TID tid=T pid=P             the bench thread is warmed up (JIT-compiled loop) and idle
 *   ← run K                       run K tryAcquire+release iterations
 *   → DONE run K ns_per_op=X      (printed by the main thread, not the bench thread)
 *   ← yield K                     positive control: K Thread.yield() calls = K sched_yield syscalls
 *   → DONE yield K
 *   ← quit
 * </pre>
 * Between commands the bench thread waits by spinning on a volatile field ({@code Thread.onSpinWait()}): a
 * blocking hand-off (park, futex) would itself be syscalls of that thread. All output and stdin reading is
 * done by the main thread, so the bench thread's only syscalls are the ones its iterations make (none
 * expected) plus whatever the JVM makes it do (a safepoint or handshake that blocks it: rare, and the same
 * for N and 10·N). The control proves the counter is attached to the right thread.
 */
public final class SyscallCount {
    private static final int IDLE = 0;
    private static final int RUN = 1;
    private static final int YIELD = 2;
    private static final int QUIT = 3;

    private static volatile int command = IDLE;
    private static volatile long argument;
    private static volatile long sequence;     // bumped by the main thread per command
    private static volatile long completed;    // set to sequence by the bench thread when done
    private static volatile long elapsedNanos;
    private static volatile long tid;
    private static volatile boolean sink;

    private SyscallCount() {
    }

    public static void main(String[] args) throws Exception {
        long warmupIterations = args.length > 0 ? Long.parseLong(args[0]) : 20_000_000L;
        String name = "bench-sys-" + ProcessHandle.current().pid();
        Region.unlink(name);
        try (Region region = Region.create(name, 1 << 16)) {
            Semaphore sem = region.semaphore("s", 1);
            Region.unlink(name); // mapped: the file name is no longer needed
            Thread bench = Thread.ofPlatform().name("syscall-bench").start(() -> benchThread(sem));
            // Warm up every code path the bench thread will take while traced (the command spin loop, the
            // run and yield branches), with pauses so the spin loop runs long enough to be compiled too: a
            // compilation request (the JIT queue's futex wake) must not land in a counted window.
            for (int i = 0; i < 20; i++) {
                execute(RUN, warmupIterations / 20);
                execute(YIELD, 500);
                Thread.sleep(50);
            }
            System.out.println("TID tid=" + tid + " pid=" + ProcessHandle.current().pid());
            System.out.flush();
            BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
            for (String line; (line = in.readLine()) != null; ) {
                String[] w = line.trim().split("\\s+");
                int c = switch (w[0]) {
                    case "run" -> RUN;
                    case "yield" -> YIELD;
                    case "quit" -> QUIT;
                    case "" -> -1;
                    default -> throw new IllegalArgumentException("unknown command: " + line);
                };
                if (c < 0) {
                    continue;
                }
                long n = w.length > 1 ? Long.parseLong(w[1]) : 0;
                if (c == QUIT) {
                    break;
                }
                execute(c, n);
                if (c == RUN) {
                    System.out.printf(Locale.ROOT, "DONE run %d ns_per_op=%.2f%n", n, (double) elapsedNanos / n);
                } else {
                    System.out.printf(Locale.ROOT, "DONE yield %d%n", n);
                }
                System.out.flush();
            }
            command = QUIT;
            sequence = sequence + 1;
            bench.join();
        } finally {
            Region.unlink(name);
        }
    }

    /** Main thread: hands one command to the bench thread and waits (sleeping) until it is done. */
    private static void execute(int c, long n) throws InterruptedException {
        argument = n;
        command = c;
        long seq = sequence + 1;
        sequence = seq; // publishes command and argument
        while (completed != seq) {
            Thread.sleep(1);
        }
    }

    private static void benchThread(Semaphore sem) {
        tid = Native.currentTid();
        long seen = 0;
        for (;;) {
            long seq;
            while ((seq = sequence) == seen) {
                Thread.onSpinWait();
            }
            seen = seq;
            int c = command;
            long n = argument;
            if (c == QUIT) {
                return;
            }
            if (c == RUN) {
                long t0 = System.nanoTime();
                loop(sem, n);
                elapsedNanos = System.nanoTime() - t0;
            } else if (c == YIELD) {
                for (long i = 0; i < n; i++) {
                    Thread.yield();
                }
            }
            completed = seq;
        }
    }

    private static void loop(Semaphore sem, long n) {
        boolean all = true;
        for (long i = 0; i < n; i++) {
            all &= sem.tryAcquire();
            sem.release();
        }
        if (!all) {
            throw new IllegalStateException("an uncontended tryAcquire failed");
        }
        sink = all;
    }
}
