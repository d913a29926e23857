/*
 * Promela model of the shmsync read-write semaphore, docs/PROTOCOL.md §7 (as committed on s2-rwsem,
 * f25445d): transitions T1-T8 of §7.3 on one 64-bit `state` word (every access one atomic{}: a load or a
 * CAS comparing the whole word), queued readers sleeping on lo(state), queued writers on hi(state) (§7.2).
 * Not modelled: nested reads (T1's nesting rule), T9 downgrade, T10 try-upgrade, robustness (§7.6: not
 * implemented; a process death here blocks the object, as §7.6 says).
 *
 * N processes; each round a process nondeterministically read-locks or write-locks (fast path T1/T5, then
 * slow path T2/T6), may give up in its wait (budget ABORTS: T3/T7), holds, and unlocks (T4/T8).
 * Futex: wait compares the half and queues atomically; "wake readers" wakes every reader queued on lo,
 * "wake a writer" one writer queued on hi; spurious returns (budget SPUR); an abort may follow a consumed
 * wake-up.
 * Properties: reader-writer exclusion in the critical sections; the word counts what the processes do
 * (READERS = read holds incl. handed-off ones, RWAIT = queued readers, WWAIT = registered writers, I1, I2);
 * no lost wake-up (invalid end state: someone asleep for ever after all others finished); progress
 * (-DPROGRESS, pan -l).
 * Seeded bugs:
 *   BUG_T7_NO_READER_WAKE  the last waiting writer that gives up does not wake the readers queued behind it
 *                          (Linux's 2021 rwsem hand-off fix, boostorg/thread #373)
 *   BUG_T4_NO_WRITER_WAKE  the last read release does not wake a waiting writer
 *   BUG_T7_NO_PASSON       an aborting writer does not pass a consumed wake-up on
 */
#define N 3
#define me _pid
#ifndef ROUNDS
#define ROUNDS 1
#endif
#ifndef ABORTS
#define ABORTS 1
#endif
#ifndef SPUR
#define SPUR 0
#endif

/* state: lo = (present, phase, rwait), hi = (readers, wwait, writer) */
bit present, phase, writer;
byte rwait, readers, wwait;
/* futex queues */
bit qr[N], qw[N];
byte aborts = ABORTS, spur = SPUR;
/* ghosts */
bit rreg[N], rhold[N], wreg[N];
byte inR, inW;            /* processes in their read / write critical sections */

#define SNAP  atomic { sp = present; sph = phase; sw = writer; srw = rwait; sr = readers; sww = wwait }
#define SAME  (present == sp && phase == sph && writer == sw && rwait == srw && readers == sr && wwait == sww)
#define CLR   sp = 0; sph = 0; sw = 0; srw = 0; sr = 0; sww = 0

inline inv() {
  assert(present == (writer || wwait > 0));                 /* I1 */
  assert(!writer || readers == 0);                          /* I2 */
  assert(readers == rhold[0] + rhold[1] + rhold[2]);        /* read holds, handed-off ones included */
  assert(rwait == rreg[0] + rreg[1] + rreg[2]);
  assert(wwait == wreg[0] + wreg[1] + wreg[2])
}
inline wake_readers() {
  atomic { qr[0] = 0; qr[1] = 0; qr[2] = 0 }
}
inline wake_writer() {
  atomic {
    if
    :: qw[0] -> qw[0] = 0
    :: qw[1] -> qw[1] = 0
    :: qw[2] -> qw[2] = 0
    :: else -> skip
    fi
  }
}
/* wait core on a half; sets aborted */
inline sleep_r() {
  if
  :: !qr[me] -> skip
  :: atomic { aborts > 0 -> aborts--; qr[me] = 0; aborted = 1 }
  :: atomic { spur > 0 -> spur--; qr[me] = 0 }
  fi
}
inline sleep_w() {
  if
  :: !qw[me] -> skip
  :: atomic { aborts > 0 -> aborts--; qw[me] = 0; aborted = 1 }
  :: atomic { spur > 0 -> spur--; qw[me] = 0 }
  fi
}
/* T8 conversion of every registered reader into a holder (ghost, in the same step as the CAS) */
inline handoff() {
  if :: rreg[0] -> rreg[0] = 0; rhold[0] = 1 :: else -> skip fi;
  if :: rreg[1] -> rreg[1] = 0; rhold[1] = 1 :: else -> skip fi;
  if :: rreg[2] -> rreg[2] = 0; rhold[2] = 1 :: else -> skip fi
}

active [N] proctype p() {
  bit sp, sph, sw, pp, aborted, registered, wakeR, wakeW;
  byte srw, sr, sww;
#ifndef PROGRESS
  byte round;
#endif
top:
#ifndef PROGRESS
  if :: round == ROUNDS -> goto done :: else -> round++ fi;
#endif
  if :: goto rd :: goto wr fi;

rd:
  /* T1 read-trylock */
  SNAP;
  if
  :: !sp && !sw -> atomic { if :: SAME -> readers++; rhold[me] = 1; inv(); CLR; goto rcs :: else fi }
  :: else
  fi;
  /* T2 read-lock (slow) */
t2:
  SNAP;
  if
  :: !sp -> atomic { if :: SAME -> readers++; rhold[me] = 1; inv(); CLR; goto rcs :: else -> goto t2 fi }
  :: else -> atomic { if :: SAME -> rwait++; rreg[me] = 1; pp = sph; inv(); CLR :: else -> goto t2 fi }
  fi;
t2w:
  SNAP;
  if
  :: sph != pp -> atomic { assert(rhold[me]); CLR; pp = 0 }; goto rcs          /* admitted */
  :: sph == pp && !sp ->
     atomic { if :: SAME -> rwait--; readers++; rreg[me] = 0; rhold[me] = 1; inv(); CLR; pp = 0; goto rcs
                 :: else -> CLR; goto t2w fi }
  :: sph == pp && sp ->
     atomic { if :: present == sp && phase == sph && rwait == srw -> qr[me] = 1 :: else fi; CLR };
     sleep_r();
     if :: aborted -> goto t3 :: else -> goto t2w fi
  fi;
t3:
  /* T3 read-abort */
  aborted = 0;
  SNAP;
  if
  :: sph != pp -> atomic { assert(rhold[me]); CLR; pp = 0 }; goto t4           /* admitted: give it back */
  :: else -> atomic { if :: SAME -> rwait--; rreg[me] = 0; inv(); CLR; pp = 0; goto top :: else -> CLR; goto t3 fi }
  fi;
rcs:
  atomic { assert(inW == 0); inR++ };
progress_r:
  inR--;
t4:
  /* T4 read-unlock */
  SNAP;
  assert(sr > 0);
  atomic {
    if
    :: SAME -> readers--; rhold[me] = 0; inv()
    :: else -> CLR; goto t4
    fi
  };
#ifndef BUG_T4_NO_WRITER_WAKE
  if :: sr == 1 && sww > 0 -> wake_writer() :: else fi;
#endif
  atomic { CLR };
  goto top;

wr:
  registered = 0;
  /* T5 write-trylock, then T6 */
t6:
  SNAP;
  if
  :: !sw && sr == 0 ->
     atomic {
       if
       :: SAME -> writer = 1; present = 1; if :: registered -> wwait--; wreg[me] = 0 :: else fi; inv(); CLR; goto wcs
       :: else -> CLR; goto t6
       fi
     }
  :: else ->
     if
     :: !registered -> atomic { if :: SAME -> wwait++; present = 1; wreg[me] = 1; registered = 1; inv(); CLR :: else -> CLR fi }; goto t6
     :: registered ->
        atomic { if :: readers == sr && wwait == sww && writer == sw -> qw[me] = 1 :: else fi; CLR };
        sleep_w();
        if :: aborted -> goto t7 :: else -> goto t6 fi
     fi
  fi;
t7:
  /* T7 write-abort: s' = s - WW1, PRESENT cleared if WWAIT(s') = 0 and not WRITER(s) */
  aborted = 0;
  SNAP;
  atomic {
    if
    :: SAME -> wwait--; wreg[me] = 0; if :: wwait == 0 && !writer -> present = 0 :: else fi; inv();
       /* the wake decisions use s (the replaced value) and s' (the value written) */
       wakeR = (sp && !present && rwait > 0); wakeW = (!writer && readers == 0 && wwait > 0); CLR
    :: else -> CLR; goto t7
    fi
  };
#ifndef BUG_T7_NO_READER_WAKE
  if :: wakeR -> wake_readers() :: else fi;
#endif
#ifndef BUG_T7_NO_PASSON
  if :: wakeW -> wake_writer() :: else fi;
#endif
  atomic { wakeR = 0; wakeW = 0; registered = 0 };
  goto top;
wcs:
  atomic { assert(inR == 0 && inW == 0); inW++ };
progress_w:
  inW--;
t8:
  /* T8 write-unlock */
  SNAP;
  assert(sw);
  atomic {
    if
    :: SAME ->
       writer = 0;
       if :: srw > 0 -> readers = readers + srw; rwait = 0; phase = 1 - phase; handoff() :: else fi;
       present = (sww > 0); inv()
    :: else -> CLR; goto t8
    fi
  };
  if
  :: srw > 0 -> wake_readers()
  :: srw == 0 && sww > 0 -> wake_writer()
  :: else
  fi;
  atomic { CLR };
  goto top;
done:
  skip
}
