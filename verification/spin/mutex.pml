/*
 * Promela model of the shmsync robust mutex and process leases, docs/PROTOCOL.md §6.
 *
 * N processes, each with one worker thread (TID of its lease thread: me+1) and a lease slot (§6.2)
 * attached before the model starts: lease[p] = TID(p), linked on p's robust list.  One mutex m.
 * Lock word (§6.1): (lk_tid, lk_w, lk_d) = TID | FUTEX_WAITERS | FUTEX_OWNER_DIED; lease words the same.
 * Every access to a word is one atomic{} (a load, CAS or exchange of the 32-bit word).
 *
 * Robust list of p (§6.3): `linked[p]` (m is on the list; the slot always is) and `pend[p]`
 * (list_op_pending names m).  The operation lock of §6.3 is the CAS of pend 0 -> e; with one worker
 * per process it never fails, so it is a plain assignment here.
 *
 * Death (§6.4 "if the process dies after this step"): the killer may kill one process at any
 * moment.  The kernel walks the lease thread's list when the lease thread exits (`walk`), and the
 * worker stops at its own pace: before the walk, or after it - the sibling-thread window (b) of
 * §6.4, in which the dead process's worker keeps executing protocol steps for a while.
 * Kernel walk = linux kernel/futex/core.c handle_futex_death(): for each listed entry except the
 * pending one, and then for the pending one: if the word is 0 and it is the pending entry, wake 1;
 * else if its TID is the dead thread's: word = (word & W) | D, and wake 1 if W was set.
 *
 * Waiter death (§6.4 "Waiter death"): a waiter keeps the list_op_pending of its own thread's robust-list
 * head (glibc's, not the lease's) on m from its first sleep until it acquired m or gave up (`wpend`).  When
 * the waiter thread exits (`texit`: SIGKILL dequeues it from the futex first), the kernel's
 * handle_futex_death sees that pending entry: owner part of the word 0 -> wake 1 (the word holds lease TIDs,
 * never a waiter's TID, so the "mark OWNER_DIED" branch never applies to it).
 * Zombie wait (§6.4 "Owner death"): a thread that acquired m with an owner-died report waits, before it
 * reports (enters its section), until every dead process has no thread left (stop[]).
 *
 * Futex model: futex_waitv on {lock, lease[o]} compares both words and queues in one atomic step
 * (else returns at once); a FUTEX_WAKE on either word dequeues the waiter from both; wake(n) wakes
 * up to n, any of them; spurious returns (budget SPUR) and aborts (budget ABORTS; timeout,
 * interrupt, close, removal), an abort possibly after a wake-up was consumed.
 *
 * Properties (check.sh):
 *  - mutual exclusion among live processes: when a thread takes m, no other thread of a live process
 *    holds it (ME_STRICT: nor does a dead process's thread that is still running, see below);
 *  - owner-died reported when the previous holder died holding m (orphan -> report), and never
 *    without a death;
 *  - no lost wake-up: invalid end state = a live worker asleep for ever after all others finished;
 *  - progress (-DPROGRESS, pan -l -f): no cycle without an acquisition under weak fairness.
 * Variants:
 *  NO_WAITER_DEATH  no process dies while its thread is a waiter that has slept and not yet acquired m
 *                   or given up (no longer used by check.sh: waiter deaths are covered by wpend)
 *  ME_STRICT        also count a dead process's thread that is still running in the window (b)
 *  ROUNDS           lock/unlock rounds per process (default 1)
 *  BUG_U4_XCHG      U4 releases by an exchange (as glibc) instead of PROTOCOL 6.4 CAS TID(|W) -> 0
 * Seeded bugs:
 *  BUG_NO_LEASE_WATCH   waiters do not watch the owner's lease (no rule 3, wait on lock alone)
 *  BUG_NO_WAITERS_BIT   a waiter does not set FUTEX_WAITERS in lock before sleeping
 *  BUG_NO_PASSON        an aborting waiter does not wake another when lock is free or D
 *  BUG_NO_DIED_REPORT   an acquirer that takes m from D (or a dead lease) does not report it
 *  BUG_NO_WAITER_PENDING a waiter does not keep its own list_op_pending on m (the old protocol)
 *  BUG_NO_ZOMBIE_WAIT   the owner-died report does not wait for the dead process's threads to stop
 *  BUG_NO_SELF_CHECK    a woken waiter takes m without checking that its own lease is still its own
 */

#define N 3
#define me _pid
#define T (_pid + 1)          /* this process's lease TID */
#ifndef ROUNDS
#define ROUNDS 1
#endif
#ifndef ABORTS
#define ABORTS 1
#endif
#ifndef SPUR
#define SPUR 0
#endif
#ifndef DEATHS
#define DEATHS 1
#endif

/* shared words */
byte lk_tid; bit lk_w, lk_d;                  /* m.lock */
byte ls_tid[N]; bit ls_w[N], ls_d[N];         /* slot[p].lease */
/* per-process robust list (user memory, read by the kernel at death) */
bit linked[N], pend[N];
bit wpend[N];                                 /* the worker thread's own (glibc) head: pending = m */
/* futex wait queues: sleeping[p] with the words it waits on */
bit sleeping[N], onLock[N];
byte onLease[N];                              /* 0: none, o+1: lease of process o */
/* budgets and death */
byte aborts = ABORTS, spur = SPUR;
bit dead[N], stop[N];
/* ghost bookkeeping */
bit inwait[N];        /* between its first sleep and its acquisition or give-up (NO_WAITER_DEATH) */
bit hold[N];          /* the thread's CAS put its TID into lock and it has not exchanged it out */
bit orphan;           /* lock is held by a dead process's thread (one owner-died report due) */

#define is_free() (lk_tid == 0 && !lk_w && !lk_d)

#if DEATHS > 0
#define LIST(x) x
#else
#define LIST(x) skip      /* nobody dies: only the kernel's walk reads the list, so it is left out */
#endif

inline wake_lock1() {
  atomic {
    if
    :: sleeping[0] && onLock[0] -> sleeping[0] = 0
    :: sleeping[1] && onLock[1] -> sleeping[1] = 0
    :: sleeping[2] && onLock[2] -> sleeping[2] = 0
    :: else -> skip
    fi
  }
}
inline wake_lease1(o) {
  atomic {
    if
    :: sleeping[0] && onLease[0] == o + 1 -> sleeping[0] = 0
    :: sleeping[1] && onLease[1] == o + 1 -> sleeping[1] = 0
    :: sleeping[2] && onLease[2] == o + 1 -> sleeping[2] = 0
    :: else -> skip
    fi
  }
}
inline wake_lease_all(o) {
  atomic {
    if :: sleeping[0] && onLease[0] == o + 1 -> sleeping[0] = 0 :: else -> skip fi;
    if :: sleeping[1] && onLease[1] == o + 1 -> sleeping[1] = 0 :: else -> skip fi;
    if :: sleeping[2] && onLease[2] == o + 1 -> sleeping[2] = 0 :: else -> skip fi
  }
}

/* the kernel's robust-list walk at the lease thread's exit (handle_futex_death) */
inline walk(v) {
  atomic {
    /* the slot entry (never pending in this model: attach is done) */
    if
    :: ls_tid[v] == v + 1 -> ls_tid[v] = 0; ls_d[v] = 1; if :: ls_w[v] -> wake_lease1(v) :: else -> skip fi
    :: else -> skip
    fi;
    /* m as a listed, non-pending entry */
    if
    :: linked[v] && !pend[v] && lk_tid == v + 1 -> lk_tid = 0; lk_d = 1; if :: lk_w -> wake_lock1() :: else -> skip fi
    :: else -> skip
    fi;
    /* the pending entry last */
    if
    :: pend[v] && is_free() -> wake_lock1()
    :: pend[v] && lk_tid == v + 1 -> lk_tid = 0; lk_d = 1; if :: lk_w -> wake_lock1() :: else -> skip fi
    :: else -> skip
    fi
  }
}

/* the worker thread of v exits (SIGKILL): dequeued from its futex wait, then the kernel walks its own
   robust list, whose pending entry names m while it waits (handle_futex_death: owner 0 -> wake 1) */
inline texit(v) {
  atomic {
    stop[v] = 1; sleeping[v] = 0; onLock[v] = 0; onLease[v] = 0;
    if :: wpend[v] && lk_tid == 0 -> wake_lock1() :: else -> skip fi
  }
}

/* self check (§6.4 "Waiter death"): a thread that slept checks, with list_op_pending = m set and before its CAS, that its own
   lease is still its own; if not, its process is being killed: it passes its wake-up on and stops */
inline self_check() {
#ifndef BUG_NO_SELF_CHECK
  if
  :: slept && (ls_tid[me] != T || ls_d[me]) ->
     if :: lk_tid == 0 || lk_d -> wake_lock1() :: else -> skip fi;
     goto done
  :: else -> skip
  fi
#else
  skip
#endif
}

/* bookkeeping when this thread's CAS put its TID into lock */
inline acquired(report) {
#ifdef BUG_NO_DIED_REPORT
  report = 0;
#endif
  if
  :: !dead[me] ->
     assert(!orphan || report);                        /* the holder died: the next owner is told */
     assert(!report || dead[0] || dead[1] || dead[2]); /* no report without a death */
#ifndef ME_STRICT
     assert(!(hold[0] && !dead[0]) && !(hold[1] && !dead[1]) && !(hold[2] && !dead[2]));
#endif
     orphan = 0
  :: else -> orphan = 1                               /* a dead process's thread took it (window b) */
  fi;
  hold[me] = 1; inwait[me] = 0
}

active [N] proctype worker() {
  byte vt, lt, o;       /* snapshots: lock's TID, the owner's lease TID, owner process */
  bit vw, vd, lw, ld, slept, report, aborted, oldw;
#ifndef PROGRESS
  byte round;
#endif
  /* the slot is attached before the model starts (§6.2 Attach) */
  atomic { ls_tid[me] = T };
  {
  skip;
top:
#ifndef PROGRESS
  if :: round == ROUNDS -> goto done :: else -> round++ fi;
#endif
  slept = 0; report = 0;

  /* §6.4 Lock (uncontended) */
  LIST(pend[me] = 1);                                               /* L1 */
  atomic { if :: is_free() -> lk_tid = T; acquired(report); goto L3 :: else -> skip fi };   /* L2 */
  LIST(pend[me] = 0);   /* (L2 failed: give the operation lock back, go to the slow path) */

slow:
  /* §6.4 Contended lock: read v */
  atomic { vt = lk_tid; vw = lk_w; vd = lk_d; lt = 0; lw = 0; ld = 0; o = 0 };
  if
  :: vt == 0 || vd ->
     /* rule 1: take it under the operation lock: CAS v -> T | (v & W) | (W if slept) */
     report = vd;
take:
     LIST(pend[me] = 1);
     self_check();
     atomic {
       if
       :: lk_tid == vt && lk_w == vw && lk_d == vd ->
          lk_tid = T; lk_w = vw | slept; lk_d = 0; acquired(report); goto L3
       :: else -> skip
       fi
     };
     LIST(pend[me] = 0); report = 0; goto slow
  :: else ->
     o = vt - 1;
     atomic { lt = ls_tid[o]; lw = ls_w[o]; ld = ls_d[o] };
#ifndef BUG_NO_LEASE_WATCH
     if
     :: lt != vt || ld ->
        /* rule 3: the owner is dead although m was never marked: take m as owner-died, wake all
           waiters of that lease word */
        LIST(pend[me] = 1);
        self_check();
        atomic {
          if
          :: lk_tid == vt && lk_w == vw && lk_d == vd ->
             lk_tid = T; lk_w = vw | slept; lk_d = 0; report = 1; acquired(report); oldw = 1
          :: else -> oldw = 0
          fi
        };
        wake_lease_all(o);
        if :: oldw -> oldw = 0; goto L3 :: else -> LIST(pend[me] = 0); goto slow fi
     :: else -> skip
     fi;
#endif
     /* rule 4: wait.  CAS W into lock if absent; CAS W into the owner's lease if absent */
#ifndef BUG_NO_WAITERS_BIT
     if
     :: !vw -> atomic { if :: lk_tid == vt && !lk_w && lk_d == vd -> lk_w = 1; vw = 1 :: else -> goto slow fi }
     :: else -> skip
     fi;
#endif
#ifndef BUG_NO_LEASE_WATCH
     if
     :: !lw -> atomic { if :: ls_tid[o] == lt && !ls_w[o] && ls_d[o] == ld -> ls_w[o] = 1; lw = 1 :: else -> goto slow fi }
     :: else -> skip
     fi;
#ifndef BUG_NO_WAITER_PENDING
     LIST(wpend[me] = 1);                 /* its own head's list_op_pending = m until the wait ends */
#endif
     /* futex_waitv {lock == v|W, lease == its value|W} (plus sequence and abort word: aborts) */
     atomic {
       if
       :: dead[me] -> goto done          /* SIGKILL pending: the thread dies in the syscall */
       :: !dead[me] && lk_tid == vt && lk_w == vw && lk_d == vd && ls_tid[o] == lt && ls_w[o] && ls_d[o] == ld ->
          sleeping[me] = 1; onLock[me] = 1; onLease[me] = o + 1; inwait[me] = 1
       :: else -> skip
       fi
     };
#else
     atomic {
       if
       :: lk_tid == vt && lk_w == vw && lk_d == vd -> sleeping[me] = 1; onLock[me] = 1; inwait[me] = 1
       :: else -> skip
       fi
     };
#endif
     if
     :: !sleeping[me] -> skip
     :: atomic { aborts > 0 -> aborts--; sleeping[me] = 0; aborted = 1 }
     :: atomic { spur > 0 -> spur--; sleeping[me] = 0 }
     fi;
     atomic { onLock[me] = 0; onLease[me] = 0; slept = 1; vt = 0; lt = 0; o = 0; lw = 0; ld = 0 };
     if
     :: aborted -> aborted = 0;
#ifndef BUG_NO_PASSON
        /* a waiter that gives up after sleeping wakes one other waiter if lock is free or D */
        if :: lk_tid == 0 || lk_d -> wake_lock1() :: else -> skip fi;
#endif
        LIST(wpend[me] = 0);
        inwait[me] = 0;
        goto top
     :: else -> goto slow
     fi
  fi;

L3:
  LIST(linked[me] = 1);                                             /* L3: link e */
  skip;                                                             /* L4: holder_thread, owner */
  LIST(pend[me] = 0);                                               /* L5 */
#if DEATHS > 0
  wpend[me] = 0;                                   /* the wait (if any) ended: own pending back to 0 */
  if
  :: report ->
#ifndef BUG_NO_ZOMBIE_WAIT
     /* before reporting owner death: wait until the dead processes have no thread left */
     (!dead[0] || stop[0]) && (!dead[1] || stop[1]) && (!dead[2] || stop[2]);
#endif
     skip
  :: else -> skip
  fi;
#endif
#ifdef ME_STRICT
  /* entering the section: no other running thread (live, or dead and still running) holds m */
  assert(dead[me] || (!(hold[0] && !stop[0] && 0 != me) && !(hold[1] && !stop[1] && 1 != me)
                      && !(hold[2] && !stop[2] && 2 != me)));
#endif
progress:
  /* critical section; after an owner-died report the holder repairs and marks consistent */
  atomic { report = 0; vt = 0; vw = 0; vd = 0; slept = 0; lt = 0; lw = 0; ld = 0; o = 0 };

  /* §6.4 Unlock */
  LIST(pend[me] = 1);                                               /* U1 */
  LIST(linked[me] = 0);                                             /* U2 */
  skip;                                                             /* U3 */
  atomic {                                                          /* U4 */
#ifndef BUG_U4_XCHG
    if
    :: lk_tid == T -> oldw = lk_w; lk_tid = 0; lk_w = 0; lk_d = 0;
       if :: dead[me] -> orphan = 0 :: else -> skip fi   /* a dead thread finished its section */
    :: else -> oldw = 0       /* the word is not ours any more: our death was declared */
    fi;
#else
    oldw = lk_w;
    if :: dead[me] && hold[me] -> orphan = 0 :: else -> skip fi;  /* a dead thread finished its section */
    lk_tid = 0; lk_w = 0; lk_d = 0;
#endif
    hold[me] = 0
  };
  if :: oldw -> wake_lock1() :: else -> skip fi;
  oldw = 0;
  LIST(pend[me] = 0);                                               /* U5 */
  goto top
  } unless { stop[me] };
done:
  skip
}

/* kills at most DEATHS processes (SIGKILL), at any moment */
active proctype killer() {
  byte v, k = DEATHS;
  do
  :: k > 0 ->
     k--;
#ifdef ANY_VICTIM
     if :: v = 0 :: v = 1 :: v = 2 fi;
#else
     v = 0;                               /* the workers are symmetric: killing process 0 is general */
#endif
#ifdef NO_WAITER_DEATH
     atomic { !dead[v] && !inwait[v] -> dead[v] = 1; if :: hold[v] -> orphan = 1 :: else -> skip fi };
#else
     atomic { !dead[v] -> dead[v] = 1; if :: hold[v] -> orphan = 1 :: else -> skip fi };
#endif
     if
     :: texit(v); walk(v)               /* the worker is gone before the lease thread's exit */
     :: walk(v); texit(v)               /* window (b): the worker runs on after the walk */
     fi
  :: break
  od
}
