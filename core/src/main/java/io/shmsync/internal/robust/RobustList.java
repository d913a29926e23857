package io.shmsync.internal.robust;

import io.shmsync.internal.posix.Posix;
import io.shmsync.internal.sync.MutexLayout;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.locks.LockSupport;

/**
 * This process's robust list: one parked platform "lease" thread that registered its own
 * {@code robust_list_head} with {@code set_robust_list}, and the list of every robust futex word the
 * process holds (docs/PROTOCOL.md §6.3). Every such word holds the lease thread's TID, so when the process
 * dies — however it dies — the kernel walks this list as the lease thread exits and marks each word
 * {@code FUTEX_OWNER_DIED}, waking one waiter.
 *
 * <p><b>Operation lock.</b> The head has a single {@code list_op_pending} slot and the list is in user
 * memory, so the threads of the process take turns: an operation claims the head by a CAS of
 * {@code list_op_pending} from 0 to the entry it is about to lock or unlock (one atomic both takes the
 * process-local lock and tells the kernel about the step in flight), does its CAS or exchange on the word
 * and its link or unlink, and releases with a release store of 0. The lock is held for tens of
 * nanoseconds (plus one {@code FUTEX_WAKE} when an unlock has waiters to wake), so waiters spin, then yield,
 * then park briefly.
 *
 * <p><b>Order of the list.</b> Process-table slots ("lease entries") come first, mutexes after them, so a
 * mutex entry whose memory another process overwrote cannot hide the slots from the kernel's walk. The
 * kernel walks at most {@link MutexLayout#ROBUST_LIST_LIMIT} entries: this process can hold at most that
 * many robust words (slots included); {@link #checkRoom()} refuses one more.
 */
public final class RobustList {
    private static final VarHandle LONG = ValueLayout.JAVA_LONG.varHandle();

    // The native block (Arena.global(), never freed while the process lives).
    private static final long DUMMY_WORD = 0;      // u32, always 0: the word of the token entry
    private static final long TOKEN = 32;          // a pending value that names no real word
    private static final long HEAD = 64;           // struct robust_list_head { list; futex_offset; list_op_pending; }
    private static final long HEAD_FUTEX_OFFSET = 72;
    private static final long HEAD_PENDING = 80;
    private static final long BLOCK_SIZE = 128;

    private static final Object START_LOCK = new Object();
    private static volatile RobustList instance;
    private static volatile RuntimeException startFailure;

    private final MemorySegment block;
    private final long tokenAddress;
    private final int tid;
    private final RobustEntry head;
    /** Last lease entry, or the head: mutex entries are inserted after it. */
    private RobustEntry leaseTail;
    private int size;

    private RobustList(MemorySegment block, int tid) {
        this.block = block;
        this.tokenAddress = block.address() + TOKEN;
        this.tid = tid;
        this.head = new RobustEntry(block, HEAD);
        this.leaseTail = head;
    }

    /**
     * The process's robust list, starting the lease thread the first time.
     *
     * @throws UnsupportedOperationException if the kernel refuses {@code set_robust_list}
     */
    public static RobustList get() {
        RobustList r = instance;
        if (r != null) {
            return r;
        }
        synchronized (START_LOCK) {
            if (instance == null) {
                if (startFailure != null) {
                    throw startFailure;
                }
                try {
                    instance = start();
                } catch (RuntimeException e) {
                    startFailure = e;
                    throw e;
                }
            }
            return instance;
        }
    }

    private static RobustList start() {
        MemorySegment block = Arena.global().allocate(BLOCK_SIZE, 64); // zeroed
        long headAddress = block.address() + HEAD;
        block.set(ValueLayout.JAVA_LONG, HEAD, headAddress); // empty list: points at itself
        // futex_offset: the word is 32 bytes before list_next, in mutexes (glibc's layout) and slots alike.
        block.set(ValueLayout.JAVA_LONG, HEAD_FUTEX_OFFSET, (long) (MutexLayout.LOCK_OFFSET - MutexLayout.LIST_NEXT_OFFSET));
        block.set(ValueLayout.JAVA_LONG, HEAD_PENDING, 0L);
        VarHandle.fullFence();
        CompletableFuture<Integer> registered = new CompletableFuture<>();
        Thread lease = Thread.ofPlatform().daemon().name("shmsync-lease").stackSize(128 * 1024).unstarted(() -> {
            try {
                int tid = Posix.gettid();
                int r = RobustSyscalls.setRobustList(headAddress);
                registered.complete(r == 0 ? tid : r);
            } catch (Throwable t) {
                registered.completeExceptionally(t);
                return;
            }
            // The words on the list hold this thread's TID: it must live exactly as long as the process.
            for (;;) {
                LockSupport.park();
                Thread.interrupted();
            }
        });
        lease.start();
        int r;
        try {
            r = registered.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while starting the shmsync lease thread", e);
        } catch (ExecutionException e) {
            throw new IllegalStateException("the shmsync lease thread failed to start", e.getCause());
        }
        if (r <= 0) {
            throw new UnsupportedOperationException("robust futexes are not available: set_robust_list failed with "
                    + Posix.strerror(-r) + " (errno " + -r + "); robust mutexes and process leases need them");
        }
        return new RobustList(block, r);
    }

    /** The lease thread's TID: the owner TID every robust word of this process holds. */
    public int tid() {
        return tid;
    }

    /** Number of entries on the list (lease entries included). Read under the operation lock. */
    public int size() {
        return size;
    }

    // ------------------------------------------------------------------ the operation lock

    /**
     * Takes the operation lock with {@code list_op_pending} = {@code entry}. One CAS when uncontended.
     */
    public void lockOp(RobustEntry entry) {
        if (!LONG.compareAndSet(block, HEAD_PENDING, 0L, entry.address)) {
            lockOpSlow(entry.address);
        }
    }

    /** Takes the operation lock with a pending value that names no word (for bookkeeping only). */
    public void lockOp() {
        if (!LONG.compareAndSet(block, HEAD_PENDING, 0L, tokenAddress)) {
            lockOpSlow(tokenAddress);
        }
    }

    private void lockOpSlow(long value) {
        for (int spins = 0; ; spins++) {
            if ((long) LONG.getOpaque(block, HEAD_PENDING) == 0L
                    && LONG.compareAndSet(block, HEAD_PENDING, 0L, value)) {
                return;
            }
            if (spins < 100) {
                Thread.onSpinWait();
            } else if (spins < 200) {
                Thread.yield();
            } else {
                LockSupport.parkNanos(20_000L);
            }
        }
    }

    /** While holding the operation lock: points {@code list_op_pending} at another entry. */
    public void setPending(RobustEntry entry) {
        LONG.setVolatile(block, HEAD_PENDING, entry == null ? tokenAddress : entry.address);
    }

    /** Releases the operation lock: {@code list_op_pending} = 0 with release order. */
    public void unlockOp() {
        LONG.setRelease(block, HEAD_PENDING, 0L);
    }

    /**
     * Test hook for the sibling-thread window (docs/PROTOCOL.md §6.4 (b)): leave the word just locked
     * unlisted and unpended, as if the kernel had walked the list between this thread's CAS and its link.
     */
    public void dropPendingForTest() {
        LONG.setVolatile(block, HEAD_PENDING, 0L);
    }

    // ------------------------------------------------------------------ the list (under the operation lock)

    /**
     * @throws IllegalStateException if the list already has {@link MutexLayout#ROBUST_LIST_LIMIT} entries
     */
    public void checkRoom() {
        if (size >= MutexLayout.ROBUST_LIST_LIMIT) {
            throw new IllegalStateException("this process already holds " + size + " robust words (mutexes plus "
                    + "one lease slot per attached region): the kernel repairs at most ROBUST_LIST_LIMIT = "
                    + MutexLayout.ROBUST_LIST_LIMIT + " per robust list, so shmsync refuses to hold more");
        }
    }

    /** Links {@code e}: lease entries at the front, mutexes after the last lease entry. */
    public void link(RobustEntry e) {
        if (e.linked) {
            throw new IllegalStateException("robust entry already linked");
        }
        RobustEntry p = e.lease ? head : leaseTail;
        RobustEntry n = p.next;
        // Make the entry complete before it becomes reachable from the head (the kernel may walk at any time).
        // Only the next pointers matter to the kernel; the process keeps the back links itself, so the
        // entry's list_prev is left alone (PROTOCOL §6.3).
        e.linkSegment.set(ValueLayout.JAVA_LONG, e.nextOffset, n.address);
        LONG.setRelease(p.linkSegment, p.nextOffset, e.address);
        e.prev = p;
        e.next = n;
        p.next = e;
        n.prev = e;
        e.linked = true;
        if (e.lease && leaseTail == head) {
            leaseTail = e;
        }
        size++;
    }

    /**
     * Unlinks {@code e}, repairing its predecessor's pointer from the local copy of the links. The entry's
     * own pointer is left as it is: nothing reachable from the head points at it any more.
     *
     * @param touchEntry whether {@code e}'s own pointer may be read (false once its memory may belong to
     *                   something else: a removed object)
     * @return true, or false if the pointer found in {@code e} is not the one this process wrote (another
     *         process changed it: {@link #mismatch()} describes it until the operation lock is released)
     */
    public boolean unlink(RobustEntry e, boolean touchEntry) {
        if (!e.linked) {
            return true;
        }
        RobustEntry p = e.prev;
        RobustEntry n = e.next;
        boolean ok = true;
        if (touchEntry) {
            long nextField = e.linkSegment.get(ValueLayout.JAVA_LONG, e.nextOffset);
            if (nextField != n.address) {
                ok = false;
                mismatchFound = nextField;
                mismatchExpected = n.address;
            }
        }
        LONG.setRelease(p.linkSegment, p.nextOffset, n.address);
        p.next = n;
        n.prev = p;
        e.prev = null;
        e.next = null;
        e.linked = false;
        if (leaseTail == e) {
            leaseTail = p;
        }
        size--;
        return ok;
    }

    private long mismatchFound;
    private long mismatchExpected;

    /** After {@link #unlink} returned false, under the same operation lock: what was found. */
    public String mismatch() {
        return String.format("__list.__next is 0x%x, but this process linked it to 0x%x", mismatchFound,
                mismatchExpected);
    }

    /** The linked entries of {@code table} (under the operation lock). */
    List<RobustEntry> entriesOf(ProcessTable table) {
        List<RobustEntry> list = new ArrayList<>();
        for (RobustEntry e = head.next; e != head; e = e.next) {
            if (e.table == table) {
                list.add(e);
            }
        }
        return list;
    }

    @Override
    public String toString() {
        return "RobustList[lease TID " + tid + ", " + size + " entries]";
    }
}
