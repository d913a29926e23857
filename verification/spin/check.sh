#!/usr/bin/env bash
# Model-checks the Promela models of docs/PROTOCOL.md (§3 semaphore, §6 robust mutex and leases, §7
# read-write semaphore) with spin,
# for 3 processes, and shows that spin finds each seeded bug. Prints a table (model, property, states,
# time, result) and exits non-zero on any unexpected result: a property that should hold and fails (or
# whose search is incomplete), or a seeded bug / known finding that spin does not find.
#
# Usage: verification/spin/check.sh [-k]     (-k: keep the work directory with pan sources and trails)
# Needs spin (Debian package `spin`, installed here if missing) and gcc.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
keep=0; [ "${1:-}" = -k ] && keep=1

if ! command -v spin >/dev/null 2>&1; then
  echo "check.sh: installing spin"
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends spin
fi
command -v gcc >/dev/null 2>&1 || { echo "check.sh: gcc is needed" >&2; exit 2; }

work="$(mktemp -d /tmp/shmsync-spin.XXXXXX)"
[ $keep = 1 ] || trap 'rm -rf "$work"' EXIT
unexpected=0
rows=()

# run NAME MODEL KIND EXPECT PROPERTY DEFINES...
#   KIND:   safety (assertions + invalid end states) | progress (non-progress cycles, -l) |
#           progress-fair (the same under weak fairness, -l -f)
#   EXPECT: pass | "find:<text>" (spin must report an error whose message contains <text>)
run() {
  local name=$1 model=$2 kind=$3 expect=$4 prop=$5; shift 5
  local dir="$work/$name"; mkdir -p "$dir"; cp "$here/$model" "$dir/"
  local cflags="-O2 -w -DCOLLAPSE -DMEMLIM=4096" runflags="-m3000000 ${PANFLAGS:-}"
  case $kind in
    safety) cflags="$cflags -DSAFETY" ;;
    progress) cflags="$cflags -DNP"; runflags="$runflags -l" ;;
    progress-fair) cflags="$cflags -DNP"; runflags="$runflags -l -f" ;;
  esac
  local t0 t1 out states result msg
  t0=$(date +%s.%N)
  ( cd "$dir" && spin "$@" -a "$model" >spin.out 2>&1 && gcc $cflags -o pan pan.c >gcc.out 2>&1 \
      && nice -n 5 ./pan $runflags >pan.out 2>&1 ) || true
  t1=$(date +%s.%N)
  out="$dir/pan.out"
  states=$(grep -Eo '^ *[0-9.e+]+ states, stored' "$out" 2>/dev/null | grep -Eo '^ *[0-9.e+]+' | tr -d ' ' || true)
  [ -n "$states" ] || states="?"
  msg=$(grep -Eo '^pan:1: [^(]*' "$out" 2>/dev/null | head -1 | sed 's/^pan:1: //; s/ *$//' || true)
  local errors; errors=$(grep -Eo 'errors: [0-9]+' "$out" 2>/dev/null | head -1 | grep -Eo '[0-9]+' || echo "?")
  # (pan stops at -DMEMLIM with "reached -DMEMLIM bound" and still prints "errors: 0": an incomplete search,
  # not a pass; "Search not completed" alone also follows a found error, so it is not the test)
  if grep -q 'max search depth too small\|out of memory\|reached -DMEMLIM bound' "$out" 2>/dev/null; then
    result="INCOMPLETE"; unexpected=$((unexpected + 1))
  elif [ "$errors" = "?" ]; then
    result="NO RESULT (see $dir)"; unexpected=$((unexpected + 1)); keep=1; trap - EXIT
  elif [ "$expect" = pass ]; then
    if [ "$errors" = 0 ]; then result="holds"; else result="UNEXPECTED: $msg"; unexpected=$((unexpected + 1)); fi
  else
    local want=${expect#find:}
    if [ "$errors" != 0 ] && [[ "$msg" == *"$want"* ]]; then result="found: $msg"
    else result="NOT FOUND (wanted: $want; got: ${msg:-no error})"; unexpected=$((unexpected + 1)); fi
  fi
  rows+=("$(printf '%-34s %-58s %10s %7.1f  %s' "$name" "$prop" "$states" "$(echo "$t1 - $t0" | bc)" "$result")")
  echo "${rows[-1]}"
}

printf '%-34s %-58s %10s %7s  %s\n' model property states "time(s)" result
# ---- §3 semaphore (sem.pml) ----
ME="ME (P=1), permits conserved, nwaiters, no lost wake-up"
# processes: 0 runs glibc's slow path, 1 and 2 Java's (-DJAVA_FROM=0: all Java; 3: all glibc)
run sem                 sem.pml safety   pass "$ME (glibc+2 Java)"                 -DP=1 -DROUNDS=2
run sem-java            sem.pml safety   pass "$ME (3 Java)"                       -DP=1 -DROUNDS=2 -DJAVA_FROM=0
run sem-glibc           sem.pml safety   pass "$ME (3 glibc)"                      -DP=1 -DROUNDS=2 -DJAVA_FROM=3
run sem-P2              sem.pml safety   pass "permits conserved (P=2), nwaiters, no lost wake-up"  -DP=2 -DROUNDS=2
run sem-progress        sem.pml progress-fair pass "progress under weak fairness"                -DPROGRESS
run sem-bug-no-register sem.pml safety   "find:invalid end state" "seeded: slow path skips nwaiters+1"   -DBUG_NO_REGISTER
run sem-bug-wake-first  sem.pml safety   "find:invalid end state" "seeded: release wakes before its CAS" -DBUG_WAKE_FIRST
run sem-bug-no-passon   sem.pml safety   "find:invalid end state" "seeded: abort does not pass wake-up on" -DBUG_NO_PASSON
run sem-bug-no-passon-java sem.pml safety "find:invalid end state" "seeded: Java abort does not pass wake-up on" -DBUG_NO_PASSON -DJAVA_FROM=0
run sem-bug-wake-load   sem.pml safety   "find:invalid end state" "seeded: wake decided on the first load" -DBUG_WAKE_FROM_LOAD
run sem-bug-java-unreg  sem.pml safety   "find:invalid end state" "seeded: Java waiter sleeps deregistered" -DBUG_JAVA_SLEEP_UNREGISTERED
# ---- §6 robust mutex and leases (mutex.pml) ----
run mutex               mutex.pml safety pass "ME, no lost wake-up; aborts+spurious, no deaths" -DDEATHS=0 -DABORTS=1 -DSPUR=1
run mutex-progress      mutex.pml progress pass "progress (no fairness needed), no deaths"      -DPROGRESS -DDEATHS=0 -DABORTS=0 -DSPUR=0
run mutex-death          mutex.pml safety pass "deaths at any step (waiters too): ME(live), owner-died, no lost wake-up" -DABORTS=0
run mutex-death-strict   mutex.pml safety pass "deaths at any step (waiters too): ME incl. dying threads (ME_STRICT)" -DABORTS=0 -DME_STRICT
run mutex-death-aborts   mutex.pml safety pass "deaths at any step + an abort after a consumed wake" -DABORTS=1
# seeded bugs: each must be found (the first three were the findings of verification/spin/README.md)
# (-E: the same clobber also loses the new owner's FUTEX_WAITERS, an invalid end state found first)
PANFLAGS=-E run mutex-bug-u4-xchg mutex.pml safety "find:assertion violated" "seeded (was finding 1): U4 by exchange frees a new owner's lock" -DABORTS=0 -DBUG_U4_XCHG
run mutex-bug-no-waiter-pending mutex.pml safety "find:invalid end state" "seeded (was finding 2): waiter not pending on m while it waits" -DABORTS=0 -DBUG_NO_WAITER_PENDING
run mutex-bug-no-self-check mutex.pml safety "find:invalid end state" "seeded: a dying process's woken waiter takes m" -DABORTS=0 -DBUG_NO_SELF_CHECK
run mutex-bug-no-zombie-wait mutex.pml safety "find:assertion violated" "seeded (was finding 3): report before the dead threads stop" -DABORTS=0 -DME_STRICT -DBUG_NO_ZOMBIE_WAIT
run mutex-bug-no-lease-watch mutex.pml safety "find:invalid end state" "seeded: waiters do not watch the lease" -DABORTS=0 -DBUG_NO_LEASE_WATCH
run mutex-bug-no-waiters-bit mutex.pml safety "find:invalid end state" "seeded: waiter does not set FUTEX_WAITERS" -DDEATHS=0 -DBUG_NO_WAITERS_BIT
run mutex-bug-no-passon mutex.pml safety "find:invalid end state" "seeded: aborting waiter does not pass on" -DDEATHS=0 -DBUG_NO_PASSON
run mutex-bug-no-died-report mutex.pml safety "find:assertion violated" "seeded: take from D without the report" -DABORTS=0 -DBUG_NO_DIED_REPORT
# ---- §7 read-write semaphore (rwsem.pml, §7 as on branch s2-rwsem f25445d) ----
run rwsem               rwsem.pml safety pass "RW exclusion, word counts (I1,I2,READERS,RWAIT,WWAIT), no lost wake-up" -DROUNDS=2
run rwsem-progress      rwsem.pml progress pass "progress (no fairness needed)"                  -DPROGRESS
run rwsem-bug-t7-no-reader-wake rwsem.pml safety "find:invalid end state" "seeded: last writer's abort leaves readers queued" -DBUG_T7_NO_READER_WAKE
run rwsem-bug-t4-no-writer-wake rwsem.pml safety "find:invalid end state" "seeded: last read release wakes no writer" -DBUG_T4_NO_WRITER_WAKE
run rwsem-bug-t7-no-passon rwsem.pml safety "find:invalid end state" "seeded: aborting writer does not pass on" -DBUG_T7_NO_PASSON

if [ $unexpected -ne 0 ]; then
  echo "check.sh: $unexpected unexpected result(s)${keep:+; work directory $work}" >&2
  exit 1
fi
echo "check.sh: all ${#rows[@]} results as expected"
