/*
 * Promela model of the shmsync counting semaphore, docs/PROTOCOL.md §3 (glibc new_sem).
 *
 * The 64-bit `data` word is the pair (value, nw): every access to it below is one atomic{} block, as
 * every access in §3.2 is one load / CAS / fetch_add on `data`.  The futex word is `value` (§3.1).
 * Each of the N processes (one thread each) runs rounds of: acquire (fast path, then slow path),
 * hold, release.  Processes me < JAVA_FROM run glibc's slow path (register once, take-and-deregister
 * in one CAS, stay registered across re-sleeps: also the C header's and the kernel module's), the others
 * Java's (register just before each sleep, deregister right after it, take with the fast path; §3.2):
 * by default process 0 is a glibc waiter and 1, 2 are Java waiters (-DJAVA_FROM=0: all Java, 3: all glibc).  Timeouts, interrupts, removal and close are one nondeterministic "abort" of the
 * wait core (§3.4) with a global budget ABORTS; spurious wake-ups have a budget SPUR.
 *
 * Futex model (§3.4): futex_wait compares the word with the expected value and queues the caller in
 * one atomic step (else returns at once, EAGAIN); futex_wake(1) dequeues at most one queued waiter,
 * any of them; a sleeper may also return spuriously, or abort - and an abort may be reported
 * although a wake-up dequeued the thread first (futex_waitv reporting the abort word while the wake
 * on the semaphore word was consumed too, §3.3 "Aborts pass wake-ups on").
 *
 * Checked (check.sh):
 *   safety  (ROUNDS finite): assertions (permits conserved: value + holders == P; holders <= P, so
 *           P == 1 is mutual exclusion; nw == number of registered waiters) and invalid end states:
 *           when every other process has finished, a process still asleep in futex_wait is a lost
 *           wake-up (all its peers released their permits, so value == P > 0).
 *   progress (-DPROGRESS, infinite rounds, pan -l -f): no cycle without a successful acquire
 *           under weak fairness.
 * Seeded bugs (-D):
 *   BUG_NO_REGISTER      the slow path does not add W (and so never removes it)
 *   BUG_WAKE_FIRST       release wakes before it publishes the token (wake decided on a plain load)
 *   BUG_NO_PASSON        an aborting waiter does not pass a consumed wake-up on
 *   BUG_WAKE_FROM_LOAD   release decides to wake on its initial load instead of the CAS's witness
 *   BUG_JAVA_SLEEP_UNREGISTERED  a Java waiter deregisters before its sleep instead of after it
 */

#define N 3
#define me _pid      /* process number 0..N-1 */
#ifndef P
#define P 1            /* initial permits */
#endif
#ifndef ROUNDS
#define ROUNDS 2       /* acquire attempts per process in the safety run */
#endif
#ifndef ABORTS
#define ABORTS 1
#endif
#ifndef SPUR
#define SPUR 1
#endif
#ifndef JAVA_FROM
#define JAVA_FROM 1    /* processes me >= JAVA_FROM run the Java slow path */
#endif

byte value = P;        /* data bits 0-31: the futex word */
byte nw = 0;           /* data bits 32-63: nwaiters */
bit queued[N];         /* futex wait queue of `value` */
bit held[N];           /* process holds a permit (bookkeeping, changes in the same step as value) */
bit reg[N];            /* process is registered in nw (bookkeeping) */
byte aborts = ABORTS;
byte spur = SPUR;

inline invariant() {
  assert(value + held[0] + held[1] + held[2] == P);      /* no permit lost or duplicated */
#ifndef BUG_NO_REGISTER
  assert(nw == reg[0] + reg[1] + reg[2]);                /* nwaiters accounting */
#endif
}

/* FUTEX_WAKE(value, 1) */
inline futex_wake1() {
  atomic {
    if
    :: queued[0] -> queued[0] = 0
    :: queued[1] -> queued[1] = 0
    :: queued[2] -> queued[2] = 0
    :: else -> skip
    fi
  }
}

/* wait core (§3.4): sleep while value == 0; sets `aborted` on timeout/interrupt/removal/close */
inline futex_wait0() {
  atomic { if :: value == 0 -> queued[me] = 1 :: else -> skip fi };  /* compare-and-queue */
  if
  :: !queued[me] -> skip                                         /* woken (or EAGAIN) */
  :: atomic { aborts > 0 -> aborts--; queued[me] = 0; aborted = 1 } /* abort, wake maybe consumed */
  :: atomic { spur > 0 -> spur--; queued[me] = 0 }                 /* spurious return */
  fi
}

active [N] proctype proc() {

  byte dv, dn;         /* the snapshot d = (value(d), nwaiters(d)) */
  bit aborted;
  bit slept;           /* Java path: this wait slept and no take attempt has answered it yet (`owe`) */
#ifdef BUG_WAKE_FROM_LOAD
  byte dn0;
#endif
#ifndef PROGRESS
  byte round = 0;
#endif

top:
#ifndef PROGRESS
  if
  :: round == ROUNDS -> goto done
  :: else -> round++
  fi;
#endif
  aborted = 0;
  slept = 0;
  /* §3.2 try-acquire (fast path): d = load; if value(d) == 0 fail; else CAS d -> d-1, retry */
  atomic { dv = value; dn = nw };
fast:
  if
  :: dv == 0 && me >= JAVA_FROM -> goto jslow
  :: dv == 0 && me < JAVA_FROM -> goto slow
  :: else ->
     atomic {
       if
       :: value == dv && nw == dn -> value--; held[me] = 1; invariant(); dv = 0; dn = 0; goto got
       :: else -> dv = value; dn = nw
       fi
     };
     goto fast
  fi;

slow:
  /* §3.2 acquire (slow path): d = fetch_add(W) (register).  d is the value fetch_add returned, as §3.2
     and glibc write it, so the first CAS below fails once and retries with the witness (core uses d + W) */
#ifdef BUG_NO_REGISTER
  atomic { dv = value; dn = nw };
#else
  atomic { dv = value; dn = nw; nw++; reg[me] = 1; invariant() };
#endif
sloop:
  if
  :: dv > 0 ->
     /* CAS d -> d - 1 - W: take a token and deregister in one step */
     atomic {
       if
       :: value == dv && nw == dn ->
          value--; held[me] = 1;
#ifndef BUG_NO_REGISTER
          nw--; reg[me] = 0;
#endif
          invariant(); dv = 0; dn = 0; goto got
       :: else -> dv = value; dn = nw
       fi
     };
     goto sloop
  :: dv == 0 ->
     futex_wait0();
     if
     :: aborted -> goto abort
     :: else -> atomic { dv = value; dn = nw }; goto sloop   /* reload d */
     fi
  fi;

abort:
  /* §3.2 abort: d = fetch_add(-W) - W; if value(d) > 0 && nwaiters(d) > 0: FUTEX_WAKE(1) */
#ifdef BUG_NO_REGISTER
  atomic { dv = value; dn = nw };
#else
  atomic { nw--; reg[me] = 0; dv = value; dn = nw; invariant() };
#endif
#ifndef BUG_NO_PASSON
  if
  :: dv > 0 && dn > 0 -> futex_wake1()
  :: else -> skip
  fi;
#endif
  dv = 0; dn = 0;
  goto top;

jslow:
  /* §3.2 acquire (slow path), Java: the wait is opened (interrupt hook, removal watch, abort window: no
     access to data), then d = fetch_add(W) (register); sleep only if value(d) == 0; fetch_add(-W)
     (deregister); the wait is closed; then the fast path takes a token, or comes back here */
#ifdef BUG_NO_REGISTER
  atomic { dv = value };
#elif defined(BUG_JAVA_SLEEP_UNREGISTERED)
  atomic { dv = value };
#else
  atomic { dv = value; nw++; reg[me] = 1; invariant() };
#endif
  if
  :: dv == 0 -> futex_wait0(); slept = 1
  :: else -> skip
  fi;
#if !defined(BUG_NO_REGISTER) && !defined(BUG_JAVA_SLEEP_UNREGISTERED)
  atomic { nw--; reg[me] = 0; invariant() };
#endif
  if
  :: aborted -> goto jabort
  :: atomic { !aborted && aborts > 0 -> aborts--; aborted = 1 }; goto jabort  /* seen by finish() after no sleep */
  :: !aborted -> skip
  fi;
  slept = 0;                               /* the take below answers a consumed wake-up */
  atomic { dv = value; dn = nw };
jtake:
  if
  :: dv == 0 -> goto jslow
  :: else ->
     atomic {
       if
       :: value == dv && nw == dn -> value--; held[me] = 1; invariant(); dv = 0; dn = 0; goto got
       :: else -> dv = value; dn = nw
       fi
     };
     goto jtake
  fi;

jabort:
  /* Java abort after a sleep (passOn): already deregistered; d = load; if value(d) > 0 && nwaiters(d) > 0
     FUTEX_WAKE(1).  An abort without a sleep in this wait consumed no wake-up and passes nothing on. */
#ifndef BUG_NO_PASSON
  if
  :: slept ->
     atomic { dv = value; dn = nw };
     if
     :: dv > 0 && dn > 0 -> futex_wake1()
     :: else -> skip
     fi
  :: else -> skip
  fi;
#endif
  dv = 0; dn = 0; slept = 0;
  goto top;

got:
progress:
  skip;   /* holding a permit: the critical section */

  /* §3.2 release: d = load; CAS d -> d+1; if nwaiters(d) > 0 (d the CAS replaced): FUTEX_WAKE(1) */
  atomic { dv = value; dn = nw };
#ifdef BUG_WAKE_FIRST
  if :: dn > 0 -> futex_wake1() :: else -> skip fi;
#endif
#ifdef BUG_WAKE_FROM_LOAD
  dn0 = dn;
#endif
rel:
  atomic {
    if
    :: value == dv && nw == dn -> value++; held[me] = 0; invariant()
    :: else -> dv = value; dn = nw; goto rel
    fi
  };
#ifdef BUG_WAKE_FROM_LOAD
  if :: dn0 > 0 -> futex_wake1() :: else -> skip fi;
#elif !defined(BUG_WAKE_FIRST)
  if :: dn > 0 -> futex_wake1() :: else -> skip fi;
#endif
  dv = 0; dn = 0;
  goto top;

done:
  skip
}

