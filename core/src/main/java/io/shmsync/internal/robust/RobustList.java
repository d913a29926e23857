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

    /**
     * The native block, in a {@code static final} so that the JIT folds its bounds and liveness checks: every
     * lock and unlock touches {@code list_op_pending} twice. Allocated when the first lease thread starts.
     */
    private static final class Native {
        static final MemorySegment BLOCK = Arena.global().allocate(BLOCK_SIZE, 64); // zeroed

        private Native() {
        }
    }

    /**
     * All of the address space, for plain accesses by absolute address to memory this process knows is mapped:
     * the list pointers of linked entries, and the words and fields of a mutex whose region is not closing,
     * <em>while the operation lock is held</em> ({@code ProcessTable.close()} sets its closing flag before it
     * takes the operation lock to unlink the region's entries, and unmaps only after that). Its bounds and
     * liveness checks fold away, which the checks of a region's own segment do not (they cost about as much as
     * an atomic each on the uncontended path). Never used for an address read from shared memory.
     */
    public static final MemorySegment RAW = MemorySegment.NULL.reinterpret(Long.MAX_VALUE);

    private static final Object START_LOCK = new Object();
    private static volatile RobustList instance;
    private static volatile RuntimeException startFailure;

    private final long tokenAddress;
    private final int tid;
    private final RobustEntry head;
    // The local copy of the links, by index (0 is the head), so that linking and unlinking store only ints:
    // reference stores would cost a GC write barrier each on the uncontended path. entries[i] may keep a stale
    // reference after i was freed (it is reused for the same entry without a store in the common case).
    private RobustEntry[] entries = new RobustEntry[16];
    private int[] next = new int[16];
    private int[] prev = new int[16];
    private int freeTop = -1;          // free indices, a stack through next[]
    private int highWater = 1;         // indices below it have been handed out
    /** Index of the last lease entry, or 0 (the head): mutex entries are inserted after it. */
    private int leaseTail;
    private int size;

    private RobustList(MemorySegment block, int tid) {
        this.tokenAddress = block.address() + TOKEN;
        this.tid = tid;
        this.head = new RobustEntry(block, HEAD);
        this.entries[0] = head;
        this.leaseTail = 0;
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
        MemorySegment block = Native.BLOCK;
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
        if (!LONG.compareAndSet(Native.BLOCK, HEAD_PENDING, 0L, entry.address)) {
            lockOpSlow(entry.address);
        }
    }

    /** Takes the operation lock with a pending value that names no word (for bookkeeping only). */
    public void lockOp() {
        if (!LONG.compareAndSet(Native.BLOCK, HEAD_PENDING, 0L, tokenAddress)) {
            lockOpSlow(tokenAddress);
        }
    }

    private void lockOpSlow(long value) {
        for (int spins = 0; ; spins++) {
            if ((long) LONG.getOpaque(Native.BLOCK, HEAD_PENDING) == 0L
                    && LONG.compareAndSet(Native.BLOCK, HEAD_PENDING, 0L, value)) {
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
        LONG.setVolatile(Native.BLOCK, HEAD_PENDING, entry == null ? tokenAddress : entry.address);
    }

    /** Releases the operation lock: {@code list_op_pending} = 0 with release order. */
    public void unlockOp() {
        LONG.setRelease(Native.BLOCK, HEAD_PENDING, 0L);
    }

    /**
     * Test hook for the sibling-thread window (docs/PROTOCOL.md §6.4 (b)): leave the word just locked
     * unlisted and unpended, as if the kernel had walked the list between this thread's CAS and its link.
     */
    public void dropPendingForTest() {
        LONG.setVolatile(Native.BLOCK, HEAD_PENDING, 0L);
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
        int i = allocate(e);
        int p = e.lease ? 0 : leaseTail;
        int n = next[p];
        RobustEntry[] es = entries;
        // Make the entry complete before it becomes reachable from the head (the kernel may walk at any time).
        // Only the next pointers matter to the kernel; the process keeps the back links itself, so the
        // entry's list_prev is left alone (PROTOCOL §6.3). Both addresses are mapped: e's region is not closing
        // (callers check under this lock), p is linked (PROTOCOL §6.5 unlinks before unmapping).
        RAW.set(ValueLayout.JAVA_LONG, e.address, es[n].address);
        LONG.setRelease(RAW, es[p].address, e.address);
        prev[i] = p;
        next[i] = n;
        next[p] = i;
        prev[n] = i;
        e.index = i;
        e.linked = true;
        if (e.lease && leaseTail == 0) {
            leaseTail = i;
        }
        size++;
    }

    private int allocate(RobustEntry e) {
        int i = freeTop;
        if (i >= 0) {
            freeTop = next[i];
        } else {
            i = highWater++;
            if (i == entries.length) {
                int len = Math.min(2 * i, MutexLayout.ROBUST_LIST_LIMIT + 1);
                entries = java.util.Arrays.copyOf(entries, len);
                next = java.util.Arrays.copyOf(next, len);
                prev = java.util.Arrays.copyOf(prev, len);
            }
        }
        if (entries[i] != e) {
            entries[i] = e;
        }
        return i;
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
        int i = e.index;
        int p = prev[i];
        int n = next[i];
        RobustEntry[] es = entries;
        long nextAddress = es[n].address;
        boolean ok = true;
        if (touchEntry) {
            long nextField = RAW.get(ValueLayout.JAVA_LONG, e.address);
            if (nextField != nextAddress) {
                ok = false;
                mismatchFound = nextField;
                mismatchExpected = nextAddress;
            }
        }
        LONG.setRelease(RAW, es[p].address, nextAddress);
        next[p] = n;
        prev[n] = p;
        e.index = -1;
        e.linked = false;
        if (leaseTail == i) {
            leaseTail = p;
        }
        size--;
        next[i] = freeTop;
        freeTop = i;
        return ok;
    }

    private long mismatchFound;
    private long mismatchExpected;

    /** After {@link #unlink} returned false, under the same operation lock: what was found. */
    public String mismatch() {
        return String.format("__list.__next is 0x%x, but this process linked it to 0x%x", mismatchFound,
                mismatchExpected);
    }

    /**
     * The {@link Thread#threadId()} of the Java thread of this process that holds the mutex at {@code wordOffset} of {@code table}'s region
     * through any {@code Region} object of that file, or 0 (under the operation lock; walks the local copy).
     */
    public long holderOf(ProcessTable table, long wordOffset) {
        for (int i = next[0]; i != 0; i = next[i]) {
            RobustEntry e = entries[i];
            if (!e.lease && e.wordOffset == wordOffset && e.table.sameFile(table)) {
                long h = e.holderId;
                if (h != 0) {
                    return h;
                }
            }
        }
        return 0;
    }

    /** The linked entries of {@code table} (under the operation lock). */
    List<RobustEntry> entriesOf(ProcessTable table) {
        List<RobustEntry> list = new ArrayList<>();
        for (int i = next[0]; i != 0; i = next[i]) {
            RobustEntry e = entries[i];
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
