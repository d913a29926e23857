package io.shmsync.internal.robust;

import io.shmsync.internal.posix.Posix;
import io.shmsync.internal.posix.Syscall;
import io.shmsync.internal.sync.MutexLayout;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A platform thread's own robust list, shared with glibc (docs/PROTOCOL.md §6.3 "Thread lists"): the mutexes
 * a platform thread holds are linked on the list glibc registered for that thread with {@code set_robust_list},
 * and their words hold the thread's own TID, exactly as glibc's {@code pthread_mutex_lock} does for a robust
 * mutex. Only this thread changes the list and its {@code list_op_pending}, so neither needs a lock: a lock or
 * an unlock is one atomic on the word plus plain stores, and when the thread dies — alone, or with its
 * process — the kernel walks this list at <em>its</em> exit, so a word can never be left holding the TID of a
 * thread that is gone without being marked (the sibling-thread window of the process-wide lease list).
 *
 * <p><b>Sharing glibc's list.</b> glibc links its own robust mutexes at the front of the list (through
 * {@code robust_head.list}) and unlinks them with their {@code __list.__prev}/{@code __next} fields; it never
 * walks the list. shmsync puts one <em>anchor</em> — a private 64-byte block shaped like a glibc mutex whose
 * word is 0 — on the list once per thread, when the list is empty, so the anchor stays the last glibc-visible
 * entry for the life of the thread; shmsync's entries hang after the anchor (anchor → newest … oldest → head).
 * glibc then only ever writes the anchor's {@code __prev} (when it links or unlinks the entry in front of it);
 * shmsync only writes the anchor's {@code __next} and its own entries' {@code __next}. A thread whose list is
 * not empty at that moment, whose head is not glibc's layout, or that is virtual, uses the lease list
 * instead ({@link #current} returns null). {@code -Dio.shmsync.mutex.threadLists=false} turns thread lists off.
 *
 * <p><b>Local copy.</b> As for the lease list, the links are kept in this object and never read back from
 * shared memory; an entry's {@code __next} found different at unlock is reported (and not followed).
 */
public final class ThreadList {
    private static final VarHandle LONG = ValueLayout.JAVA_LONG.varHandle();
    private static final MemorySegment RAW = RobustList.RAW;
    private static final long HEAD_SIZE = 24;
    private static final long HEAD_FUTEX_OFFSET = 8;
    private static final long HEAD_PENDING = 16;
    /** The anchor block: word at 0 (always 0), {@code __prev} at 24, {@code __next} at 32, like a mutex. */
    private static final long ANCHOR_SIZE = 64;

    /**
     * Entries one thread may hold through its list: the kernel walks at most
     * {@link MutexLayout#ROBUST_LIST_LIMIT} entries per list, and glibc's own entries share it. A thread that
     * holds this many takes further mutexes through the lease list.
     */
    public static final int LIMIT = MutexLayout.ROBUST_LIST_LIMIT / 2;

    private static final boolean ENABLED = !"false".equals(System.getProperty("io.shmsync.mutex.threadLists"));
    /**
     * This process's thread lists by TID. Kept after their threads end (a thread is small, and a recycled TID
     * is told apart by {@code tgkill}): {@link #holding} is only asked about a TID found in a lock word.
     */
    private static final Map<Integer, ThreadList> BY_TID = new ConcurrentHashMap<>();
    private static final ThreadList NONE = new ThreadList();
    /** Anchors of gone threads, ready for reuse ({@link #anchor()}). */
    private static final java.util.concurrent.ConcurrentLinkedQueue<Long> FREE_ANCHORS =
            new java.util.concurrent.ConcurrentLinkedQueue<>();
    /** Size of {@link #BY_TID} at which the next list creation purges gone threads. */
    private static volatile int purgeAt = 64;
    private static final ThreadLocal<ThreadList> CURRENT = ThreadLocal.withInitial(ThreadList::create);

    /** The thread this list belongs to. */
    public final Thread thread;
    /** The thread's TID: the owner TID of the words it holds through this list. */
    public final int tid;
    private final long head;        // &robust_head.list: the terminator of the list
    private final long pending;     // &robust_head.list_op_pending
    private final long anchorNext;  // &anchor.__next: the entry after it is shmsync's newest

    /**
     * Local copy of shmsync's part of the list, as a stack: {@code stack[depth - 1]} is the newest entry (the one
     * after the anchor), {@code stack[0]} the oldest (its {@code __next} is the head). Mutexes are mostly
     * unlocked in the reverse order of locking, so an unlink is usually a pop. Slots at and above
     * {@code depth} keep their last entry, so that relocking the same mutex stores no reference (a GC barrier).
     */
    private RobustEntry[] stack = new RobustEntry[8];
    private int depth;
    private long mismatchFound;
    private long mismatchExpected;

    private ThreadList() {
        this.thread = null;
        this.tid = 0;
        this.head = 0;
        this.pending = 0;
        this.anchorNext = 0;
    }

    private ThreadList(Thread thread, int tid, long head, long anchorNext) {
        this.thread = thread;
        this.tid = tid;
        this.head = head;
        this.pending = head + HEAD_PENDING;
        this.anchorNext = anchorNext;
    }

    /**
     * The calling thread's list, or null if it must use the lease list (a virtual thread, thread lists turned
     * off, or a glibc list this thread cannot share). {@code me} must be the current thread.
     */
    public static ThreadList current(Thread me) {
        if (!ENABLED || me.isVirtual()) {
            return null;
        }
        ThreadList t = CURRENT.get();
        return t == NONE ? null : t;
    }

    /** How many thread lists this process remembers (diagnostics and tests: gone threads are purged). */
    public static int remembered() {
        return BY_TID.size();
    }

    /** Whether {@code tid} is the TID of a thread of this process that has (or had) a thread list. */
    public static boolean isOurs(int tid) {
        return tid != 0 && BY_TID.containsKey(tid);
    }

    /**
     * For a region being closed, after the JVM's close handshake (PROTOCOL.md §6.5): whether a live thread of
     * this process with TID {@code tid} holds {@code e}'s word through {@code e} — it is on that thread's list
     * or its {@code list_op_pending} (a lock between its CAS and its link, an unlock between its unlink and
     * its release). Reads the other thread's state without synchronisation: the handshake ordered everything
     * it did through the region's segment, and the rest only shrinks the answer's window.
     */
    public static boolean holding(int tid, RobustEntry e) {
        ThreadList x = tid == 0 ? null : BY_TID.get(tid);
        if (x == null || RobustSyscalls.tgkill0(Posix.getpid(), tid) != 0) {
            return false; // not a thread of this process (any more): a recycled TID, or another process's
        }
        if ((long) LONG.getVolatile(RAW, x.pending) == e.address()) {
            return true;
        }
        RobustEntry[] st = x.stack;
        for (int i = Math.min(x.depth, st.length) - 1; i >= 0; i--) {
            if (st[i] == e) {
                return true;
            }
        }
        return false;
    }

    /** The calling platform thread's glibc {@code robust_head} if it has shmsync's layout, else 0. */
    static long glibcHead() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment cap = a.allocate(Syscall.captureLayout());
            MemorySegment out = a.allocate(16, 8);
            long r = Syscall.call(cap, Syscall.SYS_GET_ROBUST_LIST, 0L, out.address(), out.address() + 8, 0L, 0L, 0L);
            long h = out.get(ValueLayout.JAVA_LONG, 0);
            long len = out.get(ValueLayout.JAVA_LONG, 8);
            if (r != 0 || h == 0 || len != HEAD_SIZE) {
                return 0;
            }
            long expected = MutexLayout.LOCK_OFFSET - MutexLayout.LIST_NEXT_OFFSET;
            return RAW.get(ValueLayout.JAVA_LONG, h + HEAD_FUTEX_OFFSET) == expected ? h : 0;
        } catch (RuntimeException | LinkageError e) {
            return 0;
        }
    }

    private static ThreadList create() {
        Thread me = Thread.currentThread();
        long h = glibcHead();
        if (h == 0) {
            return NONE;
        }
        // Put the anchor on the list only while the list is empty and idle, so that it stays last.
        if ((long) LONG.getVolatile(RAW, h) != h || (long) LONG.getVolatile(RAW, h + HEAD_PENDING) != 0L) {
            return NONE;
        }
        long anchor = anchor();
        long anchorNext = anchor + MutexLayout.LIST_NEXT_OFFSET;
        RAW.set(ValueLayout.JAVA_LONG, anchor + MutexLayout.LIST_PREV_OFFSET, h);
        RAW.set(ValueLayout.JAVA_LONG, anchorNext, h);
        LONG.setRelease(RAW, h, anchorNext);
        int tid = Posix.gettid();
        ThreadList t = new ThreadList(me, tid, h, anchorNext);
        BY_TID.put(tid, t);
        return t;
    }

    /**
     * A zeroed anchor block: one a gone thread no longer needs, or a new one. Anchors are native memory that is
     * never freed (the kernel may walk a thread's list until the thread has completely exited, after its Java
     * side ended), so they are reused instead, once their thread's task is gone.
     */
    private static long anchor() {
        if (BY_TID.size() >= purgeAt) {
            purgeGoneThreads();
        }
        Long a = FREE_ANCHORS.poll();
        if (a == null) {
            return Arena.global().allocate(ANCHOR_SIZE, 64).address();
        }
        RAW.asSlice(a, ANCHOR_SIZE).fill((byte) 0);
        return a;
    }

    /**
     * Forgets the lists of threads that are gone — their Java thread ended and no task of this process has
     * their TID any more ({@code tgkill(getpid(), TID, 0)} fails: the kernel has walked their lists) — and
     * keeps their anchors for reuse. Amortised: runs when the number of lists doubled since the last run.
     */
    private static synchronized void purgeGoneThreads() {
        if (BY_TID.size() < purgeAt) {
            return;
        }
        int pid = Posix.getpid();
        for (Map.Entry<Integer, ThreadList> en : BY_TID.entrySet()) {
            ThreadList t = en.getValue();
            if (!t.thread.isAlive() && RobustSyscalls.tgkill0(pid, en.getKey()) == -RobustSyscalls.ESRCH
                    && BY_TID.remove(en.getKey(), t)) {
                FREE_ANCHORS.add(t.anchorNext - MutexLayout.LIST_NEXT_OFFSET);
            }
        }
        purgeAt = Math.max(64, 2 * BY_TID.size());
    }

    // ------------------------------------------------------------------ list_op_pending

    /** {@code list_op_pending} = the entry about to be locked or unlocked (a plain store, ordered before the CAS). */
    public void setPending(RobustEntry e) {
        LONG.setOpaque(RAW, pending, e.address());
    }

    /** {@code list_op_pending} = 0, after the links (release). */
    public void clearPending() {
        LONG.setRelease(RAW, pending, 0L);
    }

    /** Whether {@code list_op_pending} currently names {@code e} (a waiter armed it for its wait). */
    public boolean pendingIs(RobustEntry e) {
        return (long) LONG.getOpaque(RAW, pending) == e.address();
    }

    /** The address of this thread's {@code list_op_pending}, for a waiter's claim while it sleeps. */
    public long pendingAddress() {
        return pending;
    }

    // ------------------------------------------------------------------ links (this thread only)

    public boolean isFull() {
        return depth >= LIMIT;
    }

    /** Links {@code e} (whose word this thread has just taken) right after the anchor. */
    public void link(RobustEntry e) {
        int d = depth;
        RobustEntry[] st = stack;
        if (d == st.length) {
            st = grow();
        }
        RAW.set(ValueLayout.JAVA_LONG, e.address(), d == 0 ? head : st[d - 1].address()); // complete first
        LONG.setRelease(RAW, anchorNext, e.address());
        if (st[d] != e) {
            st[d] = e;
        }
        depth = d + 1;
    }

    private RobustEntry[] grow() {
        return stack = Arrays.copyOf(stack, Math.min(2 * stack.length, LIMIT));
    }

    /**
     * Unlinks {@code e}, which this thread linked, using the local copy of the links only.
     *
     * @param touchEntry whether {@code e}'s own {@code __next} may be read for the corruption check (false once
     *                   its memory may belong to something else)
     * @return false if {@code __next} was not the pointer this thread wrote ({@link #mismatch()} says what)
     */
    public boolean unlink(RobustEntry e, boolean touchEntry) {
        int d = depth;
        RobustEntry[] st = stack;
        if (d > 0 && st[d - 1] == e) { // the newest: the anchor points at it
            long below = d == 1 ? head : st[d - 2].address();
            boolean ok = !touchEntry || check(e, below);
            LONG.setRelease(RAW, anchorNext, below);
            depth = d - 1;
            return ok;
        }
        return unlinkInside(e, touchEntry);
    }

    private boolean unlinkInside(RobustEntry e, boolean touchEntry) {
        RobustEntry[] st = stack;
        int d = depth;
        for (int i = d - 2; i >= 0; i--) {
            if (st[i] == e) {
                long below = i == 0 ? head : st[i - 1].address();
                boolean ok = !touchEntry || check(e, below);
                LONG.setRelease(RAW, st[i + 1].address(), below); // the newer neighbour now skips e
                System.arraycopy(st, i + 1, st, i, d - 1 - i);
                st[d - 1] = e;
                depth = d - 1;
                return ok;
            }
        }
        return true; // not on this thread's list
    }

    private boolean check(RobustEntry e, long expected) {
        long found = RAW.get(ValueLayout.JAVA_LONG, e.address());
        if (found == expected) {
            return true;
        }
        mismatchFound = found;
        mismatchExpected = expected;
        return false;
    }

    /** After {@link #unlink} returned false: what was found. */
    public String mismatch() {
        return String.format("__list.__next is 0x%x, but this thread linked it to 0x%x", mismatchFound,
                mismatchExpected);
    }

    @Override
    public String toString() {
        return "ThreadList[TID " + tid + ", " + depth + " entries]";
    }
}
