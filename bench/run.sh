#!/usr/bin/env bash
# shmsync benchmarks: one command, one result directory.
#
#   bench/run.sh            quick mode (default): finishes in a few minutes on 2 cores
#   bench/run.sh --full     longer JMH runs, more rounds and trials (for publication)
#   bench/run.sh --out DIR  write the results to DIR instead of bench/results/<UTC timestamp>
#   bench/run.sh --smoke    a one-minute check that every step works (numbers meaningless)
#   bench/run.sh --no-build use bench/target/benchmarks.jar and kernel-mirror/build as they are
#   bench/run.sh --wait-quiet  after building, wait (up to 15 min) until the 1-minute load average is < 0.3
#   bench/run.sh --nice     run every measurement at nice -20 (root): on a machine shared with other work,
#                           C and JVM rows alike then get ~99 % of a contended CPU (stated in machine.txt)
#   bench/run.sh --no-rwsem skip step 9 (the read-write semaphore)
#   bench/run.sh --vm [K]   step 10: boot kernel K (default 6.12) under QEMU TCG with kernel-mirror/test/run-vm.sh,
#                           scenario rtt only, and report its JVM<->kthread vs JVM<->JVM round trips (both measured
#                           inside that one guest boot; TCG-emulated, so not comparable with any other row). Slow
#                           (~1-2 min, more under load), so not in the default run
#   bench/run.sh --vm-log F take step 10's numbers from an earlier harness output F instead (kernel-mirror/test/
#                           run-all.sh or run-vm.sh stdout, or the guest's rtt.txt, e.g. kernel-mirror/build/vm-6.12/rtt.txt)
#   bench/run.sh --only STEPS  run only these steps (comma-separated numbers, e.g. --only 9,10), then the summary
#
# Builds what it needs (../mvnw for the benchmarks jar, make for kernel-mirror's C tools, cc for
# bench/native), then measures, in this order, all in one run on this machine:
#   1. the native floor: glibc sem_post+sem_wait and a C CAS lock (sem_bench uncontended), before and after
#      step 2                                                              -> raw/c-uncontended.txt
#   2. JMH, uncontended acquire+release: shmsync Semaphore / PosixSemaphore, java.util.concurrent.Semaphore,
#      a VarHandle CAS lock on a mapped segment (-prof gc: B/op)          -> raw/jmh.json, raw/jmh.txt
#   3. syscalls of the benchmark thread for N and 10*N iterations (perf and/or strace on its TID) -> raw/syscalls.txt
#   4. blocking ping-pong, cross-CPU (0,1) and pinned (0,0), TRIALS interleaved trials of: glibc C<->C
#      (sem_bench), JVM<->JVM region Semaphore, JVM<->JVM PosixSemaphore, JVM<->C (sem_peer) -> raw/pingpong.txt
#   5. attribution: the same ping-pong in C with FUTEX_WAIT vs futex_waitv on 1/2/3 words -> raw/waitv.txt
#   6. the peers: ping-pong JVM<->JVM over shmsync spin-then-park, Agrona (busy-spin, backoff), Chronicle Bytes
#      (busy, balanced pauser), FileChannel.lock, Unix-domain socket, pipe; the C spin floor -> raw/exchange.txt
#   7. sparse traffic: one message every 1 ms and every 10 ms, blocking vs spin-then-park vs spinning -> raw/sparse.txt
#   8. contended throughput: 1, 2, 4, 8 processes on one semaphore / one mutex, shmsync vs glibc -> raw/contended.txt
#   9. read-write semaphore: rwlock_bench uncontended (glibc pshared pthread_rwlock rdlock/wrlock+unlock and the C
#      rwsem.h protocol) before and after JMH RwSemaphoreBenchmark; read-mostly throughput (95 % reads) with
#      1..N processes, glibc vs C rwsem.h vs Java RwSemaphore                              -> raw/rwsem.txt
#  10. (--vm / --vm-log only) JVM<->kthread vs JVM<->JVM round trip from the kernel-mirror VM harness, one boot
#      of a QEMU TCG guest                                                                  -> raw/vm-rtt.txt
# and writes summary.md (tables, ratios against the native floor, targets met or missed), machine.txt and
# PNG charts (charts/*.png, XChart, from the raw RESULT lines).
# Every tool prints "RESULT key=value ..." lines; io.shmsync.bench.Summary turns them into summary.md.
set -euo pipefail

BENCH=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$BENCH")
. "$BENCH/../scripts/find-jdk25.sh"

MODE=quick
OUT=
BUILD=1
QUIET_WAIT=0
NICE=0
RWSEM=1
VM=
VM_LOG=
ONLY=
while [ $# -gt 0 ]; do
  case "$1" in
    --full) MODE=full ;;
    --quick) MODE=quick ;;
    --smoke) MODE=smoke ;;
    --out) OUT=$2; shift ;;
    --no-build) BUILD=0 ;;
    --wait-quiet) QUIET_WAIT=1 ;;
    --nice) NICE=1 ;;
    --no-rwsem) RWSEM=0 ;;
    --vm) VM=6.12; case "${2:-}" in 6.1|6.1-rt|6.12) VM=$2; shift ;; esac ;;
    --vm-log) VM_LOG=$(cd "$(dirname "$2")" && pwd)/$(basename "$2"); shift ;;
    --only) ONLY=",$2,"; shift ;;
    -h|--help) awk 'NR > 1 && !/^#/ {exit} NR > 1 {sub(/^# ?/, ""); print}' "$0"; exit 0 ;;
    *) echo "run.sh: unknown argument $1 (try --help)" >&2; exit 2 ;;
  esac
  shift
done

if [ "$MODE" = smoke ]; then   # checks that everything runs (a minute); its numbers mean nothing
  JMH_OPTS=(-f 1 -wi 1 -w 200ms -i 2 -r 200ms)
  C_ITERS=1000000; C_RUNS=2
  SYS_N=1000000
  TRIALS=1
  CROSS_ROUNDS=2000;  CROSS_WARMUP=500
  SPIN_ROUNDS=20000;  SPIN_WARMUP=5000
  PINNED_ROUNDS=20000; PINNED_WARMUP=5000
  EX_TRIALS=1
  SPARSE_S=0.3; SPARSE_WARMUP=2000
  CONT_S=0.3; CONT_WARM_MS=100; CONT_NS=(1 2)
  RW_JMH=(-f 1 -wi 1 -w 200ms -i 2 -r 200ms); RW_BENCH='RwSemaphoreBenchmark.(rwRead|rwWrite)$'; RW_TP_MS=300; RW_NS=(1 2)
elif [ "$MODE" = quick ]; then
  JMH_OPTS=(-f 2 -wi 2 -w 1s -i 3 -r 1s)
  C_ITERS=20000000; C_RUNS=5
  SYS_N=10000000
  TRIALS=3
  CROSS_ROUNDS=20000;  CROSS_WARMUP=5000
  SPIN_ROUNDS=200000; SPIN_WARMUP=200000
  PINNED_ROUNDS=200000; PINNED_WARMUP=50000
  EX_TRIALS=2
  SPARSE_S=2; SPARSE_WARMUP=20000
  CONT_S=1; CONT_WARM_MS=500; CONT_NS=(1 2 4 8)
  RW_JMH=("${JMH_OPTS[@]}"); RW_BENCH='RwSemaphoreBenchmark.(rwRead|rwWrite)$'; RW_TP_MS=1000; RW_NS=(1 2 4)
else
  JMH_OPTS=(-f 3 -wi 5 -w 2s -i 10 -r 2s)
  C_ITERS=100000000; C_RUNS=10
  SYS_N=20000000
  TRIALS=5
  CROSS_ROUNDS=100000; CROSS_WARMUP=20000
  SPIN_ROUNDS=1000000; SPIN_WARMUP=500000
  PINNED_ROUNDS=1000000; PINNED_WARMUP=100000
  EX_TRIALS=5
  SPARSE_S=10; SPARSE_WARMUP=50000
  CONT_S=5; CONT_WARM_MS=1000; CONT_NS=(1 2 4 8)
  RW_JMH=("${JMH_OPTS[@]}"); RW_BENCH='RwSemaphoreBenchmark'; RW_TP_MS=5000; RW_NS=(1 2 4 8)
fi
# step N runs unless --only was given without it (--only 9,10: just those, then the summary and charts)
step() { [ -z "$ONLY" ] || [[ "$ONLY" == *",$1,"* ]]; }

[ -n "$OUT" ] || OUT="$BENCH/results/$(date -u +%Y%m%dT%H%M%SZ)"
RAW="$OUT/raw"
mkdir -p "$RAW/pingpong"
START=$(date +%s)
JAR="$BENCH/target/benchmarks.jar"
JAVA="$JAVA_HOME/bin/java"
JFLAGS=(--enable-native-access=ALL-UNNAMED)
SEM_BENCH="$ROOT/kernel-mirror/build/sem_bench"
SEM_PEER="$ROOT/kernel-mirror/build/sem_peer"
WAITV="$BENCH/target/native/waitv_pingpong"
NATIVE="$BENCH/target/native/native_bench"
RWBENCH="$BENCH/target/native/rwlock_bench"
# The JDK 25 flags each peer library needs (io.shmsync.bench.PeerUncontendedBenchmark documents them).
AGRONA_FLAGS=(--add-exports=java.base/jdk.internal.misc=ALL-UNNAMED)
CHRONICLE_FLAGS=(--add-exports=java.base/jdk.internal.ref=ALL-UNNAMED --add-exports=java.base/sun.nio.ch=ALL-UNNAMED
  --add-exports=jdk.unsupported/sun.misc=ALL-UNNAMED --add-opens=java.base/java.lang=ALL-UNNAMED
  --add-opens=java.base/java.lang.reflect=ALL-UNNAMED --add-opens=java.base/java.io=ALL-UNNAMED
  --add-opens=java.base/java.util=ALL-UNNAMED --add-opens=java.base/java.nio=ALL-UNNAMED
  --add-opens=java.base/sun.nio.ch=ALL-UNNAMED -Dchronicle.analytics.disable=true)

log() { echo "[run.sh $(date -u +%H:%M:%S)] $*" | tee -a "$OUT/run.log" >&2; }
# note TEXT: appends a command line to commands.txt, with repo-relative names for what run.sh built.
note() {
  echo "$*" | sed "s|$TMPBIN/benchmarks.jar|bench/target/benchmarks.jar|g; s|$TMPBIN/waitv_pingpong|bench/target/native/waitv_pingpong|g; s|$TMPBIN/native_bench|bench/target/native/native_bench|g; s|$TMPBIN/rwlock_bench|bench/target/native/rwlock_bench|g; s|$TMPBIN/|kernel-mirror/build/|g; s|$ROOT/||g" >> "$OUT/commands.txt"
}
# record OUTFILE CMD...: runs CMD, notes it in commands.txt, appends its stdout to OUTFILE and its stderr to
# OUTFILE.err, and shows its RESULT lines. A failing command ends the run (set -e, pipefail).
record() {
  local out=$1; shift
  note "$*"
  "$@" 2>> "$out.err" | tee -a "$out" | { grep '^RESULT' >&2 || true; }
}

# ------------------------------------------------------------------------------------------------ build
if [ "$BUILD" = 1 ]; then
  log "building benchmarks.jar (mvnw) and the C tools (make, cc)"
  (cd "$ROOT" && { ./mvnw -q -o -DskipTests -pl bench -am install 2>/dev/null || ./mvnw -q -DskipTests -pl bench -am install; })
  make -s -C "$ROOT/kernel-mirror" user
  mkdir -p "$(dirname "$WAITV")"
  cc -O2 -Wall -Wextra -Werror -std=gnu11 -o "$WAITV" "$BENCH/native/waitv_pingpong.c"
  cc -O2 -Wall -Wextra -Werror -std=gnu11 -pthread -o "$NATIVE" "$BENCH/native/native_bench.c"
  cc -O2 -Wall -Wextra -Werror -std=gnu11 -pthread -I"$ROOT/kernel-mirror/include" -o "$RWBENCH" "$BENCH/native/rwlock_bench.c"
fi
for f in "$JAR" "$SEM_BENCH" "$SEM_PEER" "$WAITV" "$NATIVE" "$RWBENCH"; do
  [ -e "$f" ] || { echo "run.sh: missing $f (run without --no-build)" >&2; exit 1; }
done
# Measure private copies: a build in the same work tree (mvn clean, make clean) must not pull the jar or the
# tools from under a running benchmark. raw-tmp/ is git-ignored and removed at the end.
TMPBIN="$OUT/raw-tmp"
mkdir -p "$TMPBIN"
cp "$JAR" "$SEM_BENCH" "$SEM_PEER" "$WAITV" "$NATIVE" "$RWBENCH" "$TMPBIN/"
JAR="$TMPBIN/benchmarks.jar"; SEM_BENCH="$TMPBIN/sem_bench"; SEM_PEER="$TMPBIN/sem_peer"; WAITV="$TMPBIN/waitv_pingpong"
NATIVE="$TMPBIN/native_bench"; RWBENCH="$TMPBIN/rwlock_bench"

# ------------------------------------------------------------------------------------------------ machine
if [ "$QUIET_WAIT" = 1 ]; then
  for _ in $(seq 90); do
    awk '{exit !($1 < 0.3)}' /proc/loadavg && break
    echo "[run.sh] waiting for a quiet machine: load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
    sleep 10
  done
fi
if [ "$NICE" = 1 ]; then
  renice -n -20 -p $$ >/dev/null || { echo "run.sh: --nice needs root (renice -20 failed)" >&2; exit 1; }
fi
NCPU=$(nproc)
HAVE_TASKSET=0; command -v taskset >/dev/null 2>&1 && HAVE_TASKSET=1
{
  echo "date (UTC): $(date -u '+%Y-%m-%d %H:%M:%S')"
  echo "mode: $MODE"
  echo "CPU model: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | sed -n 1p)"
  echo "CPUs: $NCPU online ($(cat /sys/devices/system/cpu/online 2>/dev/null)), $(lscpu 2>/dev/null | sed -n 's/^Thread(s) per core:[[:space:]]*/threads per core: /p')"
  hv=$(lscpu 2>/dev/null | sed -n 's/^Hypervisor vendor:[[:space:]]*//p')
  virt=$(systemd-detect-virt 2>/dev/null || true)
  dmi=$(cat /sys/class/dmi/id/sys_vendor /sys/class/dmi/id/product_name 2>/dev/null | tr '\n' ' ' || true)
  if [ -n "$hv" ] || grep -qw hypervisor /proc/cpuinfo; then v="yes"; else v="no (no hypervisor flag)"; fi
  echo "virtualised: $v; hypervisor: ${hv:-none reported}; systemd-detect-virt: ${virt:-n/a}; DMI: ${dmi:-n/a}"
  echo "memory: $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
  echo "kernel: $(uname -srm)"
  echo "clocksource: $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource 2>/dev/null || echo ?)"
  echo "JDK: $("$JAVA" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.vm.name = //p' | sed -n 1p) $("$JAVA" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.runtime.version = //p' | sed -n 1p) ($("$JAVA" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.vendor = //p' | sed -n 1p))"
  echo "JVM flags: ${JFLAGS[*]} (defaults otherwise: $("$JAVA" -XX:+PrintCommandLineFlags -version 2>&1 | sed -n 1p | tr -s ' '))"
  echo "glibc: $(ldd --version 2>&1 | sed -n 1p)"
  echo "cc: $(cc --version | sed -n 1p)"
  echo "shmsync commit: $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null)$(git -C "$ROOT" diff --quiet HEAD -- core 2>/dev/null || echo ' (core modified)')"
  echo "priority: nice $(ps -o ni= -p $$ | tr -d ' ')$([ "$NICE" = 1 ] && echo ' (--nice: every benchmark process at nice -20, the CPUs were shared with other work)')"
  echo "load at start: $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15-min load average; anything above ~0.3 means other work shares these CPUs)"
  echo "parameters: JMH ${JMH_OPTS[*]}; C uncontended $C_ITERS iters x $C_RUNS runs; syscalls N=$SYS_N; ping-pong $TRIALS trials (peers: $EX_TRIALS), cross-CPU $CROSS_ROUNDS rounds (+$CROSS_WARMUP warm-up), spinners cross-CPU $SPIN_ROUNDS rounds (+$SPIN_WARMUP warm-up), pinned $PINNED_ROUNDS rounds (+$PINNED_WARMUP warm-up); sparse ${SPARSE_S} s per interval (+$SPARSE_WARMUP dense and 5000 gapped warm-up rounds); contended ${CONT_S} s counted (+${CONT_WARM_MS} ms warm-up) per point"
} > "$OUT/machine.txt"
busy() { ps -eo pcpu=,pid=,args= --sort=-pcpu | awk '$1 >= 5 && n++ < 5' | cut -c1-160 || true; }
{ echo "== busy processes (>= 5 % CPU) before the run"; busy; } > "$RAW/other-load.txt"
log "results go to $OUT ($MODE mode)"
cat "$OUT/machine.txt" >&2

# ------------------------------------------------------------------------------------------------ 1+2. JMH, C floor
# The C floor runs before and after JMH: these VMs drift between speed levels over minutes (the summary
# uses the median of both and shows each), and a ratio should not hinge on which minute the floor got.
if step 1 || step 2; then
log "1/10 native floor: sem_bench uncontended $C_ITERS --runs $C_RUNS, native_bench mutex-uncontended (before JMH)"
record "$RAW/c-uncontended.txt" "$SEM_BENCH" uncontended "$C_ITERS" --runs "$C_RUNS"
record "$RAW/c-uncontended.txt" "$NATIVE" mutex-uncontended "$((C_ITERS / 4))" --runs "$C_RUNS"
log "2/10 JMH uncontended (${JMH_OPTS[*]} -prof gc), then the native floor again"
# -Djmh.ignoreLock: other JMH runs on a shared machine must not abort this one (their load shows in other-load.txt)
record "$RAW/jmh.txt" "$JAVA" "${JFLAGS[@]}" -Djmh.ignoreLock=true --sun-misc-unsafe-memory-access=allow -cp "$JAR" io.shmsync.bench.JmhMain \
  'io.shmsync.bench.(Uncontended|PeerUncontended|MutexLeaseList)Benchmark' "${JMH_OPTS[@]}" -prof gc -rf json -rff "$RAW/jmh.json"
record "$RAW/c-uncontended.txt" "$SEM_BENCH" uncontended "$C_ITERS" --runs "$C_RUNS"
record "$RAW/c-uncontended.txt" "$NATIVE" mutex-uncontended "$((C_ITERS / 4))" --runs "$C_RUNS"
fi

# ------------------------------------------------------------------------------------------------ 3. syscalls
if step 3; then
log "3/10 syscalls of the benchmark thread, N=$SYS_N and 10N"
TOOLS=()
if command -v perf >/dev/null 2>&1 && perf stat -e raw_syscalls:sys_enter -x, -o /dev/null -- true >/dev/null 2>&1; then
  TOOLS+=(perf)
fi
if ! command -v strace >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  log "installing strace (apt-get)"
  apt-get install -y -qq strace >/dev/null 2>&1 || (apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq strace >/dev/null 2>&1) || true
fi
command -v strace >/dev/null 2>&1 && TOOLS+=(strace)
if [ ${#TOOLS[@]} -eq 0 ]; then
  log "neither perf (with tracepoints) nor strace works here: syscall proof skipped"
else
  SC="$RAW/syscalls"
  mkdir -p "$SC"
  FIFO="$SC/commands.fifo"
  rm -f "$FIFO"; mkfifo "$FIFO"
  note "$JAVA ${JFLAGS[*]} -cp $JAR io.shmsync.bench.SyscallCount   (commands on stdin)"
  "$JAVA" "${JFLAGS[@]}" -cp "$JAR" io.shmsync.bench.SyscallCount < "$FIFO" > "$SC/target.txt" 2>&1 &
  TARGET=$!
  exec 7> "$FIFO"
  trap 'kill $TARGET 2>/dev/null || true; rm -f "$FIFO"' EXIT
  for _ in $(seq 600); do grep -q '^TID' "$SC/target.txt" && break; kill -0 $TARGET 2>/dev/null || break; sleep 0.1; done
  TID=$(sed -n 's/^TID tid=\([0-9]*\).*/\1/p' "$SC/target.txt")
  [ -n "$TID" ] || { cat "$SC/target.txt" >&2; echo "run.sh: SyscallCount did not start" >&2; exit 1; }
  phase() { # phase TOOL WHAT N
    local tool=$1 what=$2 n=$3 out="$SC/$1-$2-$3.txt" t done count
    if [ "$tool" = perf ]; then
      note "perf stat -e raw_syscalls:sys_enter -t $TID -x, -o $out"
      perf stat -e raw_syscalls:sys_enter -t "$TID" -x, -o "$out" & t=$!
      sleep 1   # perf prints nothing when it is attached; give it time
    else
      note "strace -c -p $TID -o $out"
      strace -c -p "$TID" -o "$out" 2> "$out.err" & t=$!
      for _ in $(seq 100); do grep -q attached "$out.err" 2>/dev/null && break; sleep 0.05; done
      sleep 0.2
    fi
    done=$(grep -c '^DONE' "$SC/target.txt" || true)
    echo "$what $n" >&7
    while [ "$(grep -c '^DONE' "$SC/target.txt" || true)" -le "$done" ]; do
      kill -0 $TARGET 2>/dev/null || { echo "run.sh: SyscallCount died" >&2; exit 1; }
      sleep 0.05
    done
    kill -INT $t; wait $t || true
    if [ "$tool" = perf ]; then
      count=$(grep 'raw_syscalls:sys_enter' "$out" | cut -d, -f1)
    else
      grep -q attached "$out.err" || { echo "run.sh: strace did not attach: $(cat "$out.err")" >&2; exit 1; }
      count=$(awk '$NF == "total" {print $4}' "$out"); count=${count:-0}
    fi
    echo "RESULT kind=syscalls tool=$tool what=$what n=$n count=$count tid=$TID" | tee -a "$RAW/syscalls.txt" >&2
  }
  for tool in "${TOOLS[@]}"; do
    phase "$tool" run "$SYS_N"
    phase "$tool" run "$((SYS_N * 10))"
    phase "$tool" yield 1000
  done
  echo quit >&7; exec 7>&-
  wait $TARGET || true
  trap - EXIT; rm -f "$FIFO"
  grep '^DONE' "$SC/target.txt" >&2 || true
fi
fi

# ------------------------------------------------------------------------------------------------ 4. ping-pong
PLACEMENTS=()
if [ "$HAVE_TASKSET" = 1 ]; then
  [ "$NCPU" -ge 2 ] && PLACEMENTS+=(0,1)
  PLACEMENTS+=(0,0)
else
  log "no taskset: ping-pong runs unpinned only"
  PLACEMENTS+=(any)
fi
if step 4; then
pp() { # pp TRIAL CPUS MECH CMD...
  local trial=$1 cpus=$2 mech=$3; shift 3
  local f="$RAW/pingpong/t$trial-${cpus/,/_}-$mech.txt"
  record "$f" timeout 300 "$@"
  grep '^RESULT' "$f" | sed "s/\$/ trial=$trial/" >> "$RAW/pingpong.txt"
}
log "4/10 ping-pong: $TRIALS trials x {${PLACEMENTS[*]}} x {glibc C<->C, JVM<->JVM region, JVM<->JVM posix, JVM<->C}"
for trial in $(seq "$TRIALS"); do
  for cpus in "${PLACEMENTS[@]}"; do
    if [ "$cpus" = 0,0 ]; then R=$PINNED_ROUNDS; W=$PINNED_WARMUP; else R=$CROSS_ROUNDS; W=$CROSS_WARMUP; fi
    CPUARG=(); [ "$cpus" = any ] || CPUARG=(--cpus "$cpus")
    pp "$trial" "$cpus" glibc_sem "$SEM_BENCH" pingpong "$R" --warmup "$W" "${CPUARG[@]}"
    for peer in jvm jvm-posix c; do
      H=(); [ "$trial" = 1 ] && H=(--hgrm "$RAW/pingpong/histogram-${cpus/,/_}-$peer.hgrm")
      pp "$trial" "$cpus" "$peer" "$JAVA" "${JFLAGS[@]}" -cp "$JAR" io.shmsync.bench.PingPong --peer "$peer" \
        --rounds "$R" --warmup "$W" "${CPUARG[@]}" --sem-peer "$SEM_PEER" "${H[@]}"
    done
  done
done

fi
# ------------------------------------------------------------------------------------------------ 5. waitv
if step 5; then
log "5/10 attribution: C ping-pong with FUTEX_WAIT vs futex_waitv on 1/2/3 words"
for trial in $(seq "$TRIALS"); do
  for cpus in "${PLACEMENTS[@]}"; do
    if [ "$cpus" = 0,0 ]; then R=$PINNED_ROUNDS; W=$PINNED_WARMUP; else R=$CROSS_ROUNDS; W=$CROSS_WARMUP; fi
    CPUARG=(); [ "$cpus" = any ] || CPUARG=(--cpus "$cpus")
    for m in futex_wait waitv_1 waitv_2 waitv_3; do
      record "$RAW/waitv-t$trial.log" timeout 300 "$WAITV" "$m" "$R" --warmup "$W" "${CPUARG[@]}"
    done
  done
  grep '^RESULT' "$RAW/waitv-t$trial.log" | sed "s/\$/ trial=$trial/" >> "$RAW/waitv.txt"
done

fi
# ------------------------------------------------------------------------------------------------ 6. peers
# ex FILE MECH ARGS...: one Exchange run (with the JVM flags the mechanism's library needs), RESULT lines -> FILE
ex() {
  local file=$1 mech=$2; shift 2
  local f="$RAW/exchange/t${TRIAL:-1}-$mech-$(echo "$*" | tr -c 'A-Za-z0-9' _ | sed 's/_*$//').txt" flags=()
  case "$mech" in agrona_*) flags=("${AGRONA_FLAGS[@]}") ;; chronicle_*) flags=("${CHRONICLE_FLAGS[@]}") ;; esac
  record "$f" timeout 300 "$JAVA" "${JFLAGS[@]}" --sun-misc-unsafe-memory-access=allow "${flags[@]}" -cp "$JAR" \
    io.shmsync.bench.Exchange --mech "$mech" "$@"
  grep '^RESULT' "$f" | sed "s/\$/ trial=${TRIAL:-1}/" >> "$file"
}
if step 6; then
mkdir -p "$RAW/exchange"
BLOCKING_PEERS=(shmsync_spin_park shmsync_spin_fixed shmsync_spin_bench filelock uds pipe)
SPINNING_PEERS=(agrona_spin agrona_backoff chronicle_spin chronicle_pauser)
log "6/10 peers: $EX_TRIALS trials x {${PLACEMENTS[*]}} x {${BLOCKING_PEERS[*]}}, spinners {${SPINNING_PEERS[*]}} and the C spin floor cross-CPU only"
for trial in $(seq "$EX_TRIALS"); do
  TRIAL=$trial
  for cpus in "${PLACEMENTS[@]}"; do
    if [ "$cpus" = 0,0 ]; then R=$PINNED_ROUNDS; W=$PINNED_WARMUP; else R=$CROSS_ROUNDS; W=$CROSS_WARMUP; fi
    CPUARG=(); [ "$cpus" = any ] || CPUARG=(--cpus "$cpus")
    MECHS=("${BLOCKING_PEERS[@]}")
    if [ "$cpus" != 0,0 ]; then
      MECHS+=("${SPINNING_PEERS[@]}")   # pinned to one CPU a spinner only progresses when preempted: n/a
      record "$RAW/exchange/c_spin-t$trial.txt" timeout 300 "$NATIVE" spin-pingpong "$((R * 5))" --warmup "$W" "${CPUARG[@]}"
      grep '^RESULT' "$RAW/exchange/c_spin-t$trial.txt" | sed "s/\$/ trial=$trial/" >> "$RAW/exchange.txt"
    fi
    for m in "${MECHS[@]}"; do
      H=(); [ "$trial" = 1 ] && H=(--hgrm "$RAW/exchange/histogram-${cpus/,/_}-$m.hgrm")
      MR=$R; MW=$W
      # a mechanism that spins across CPUs does a round trip in well under a microsecond: 5000 warm-up rounds
      # are a few milliseconds, before the JIT has compiled its loop (JIT work then shows in its CPU time and
      # latency); give every spinner, ours and the peers alike, the same longer warm-up and more rounds
      case "$m:$cpus" in *:0,0) ;; shmsync_spin_*|agrona_*|chronicle_*) MR=$SPIN_ROUNDS; MW=$SPIN_WARMUP ;; esac
      ex "$RAW/exchange.txt" "$m" --rounds "$MR" --warmup "$MW" "${CPUARG[@]}" "${H[@]}"
    done
  done
done

fi
# ------------------------------------------------------------------------------------------------ 7. sparse
SPARSE_MECHS=(shmsync_block shmsync_spin_park shmsync_spin_fixed agrona_spin agrona_backoff chronicle_pauser)
if step 7; then
[ "$MODE" = smoke ] && SPARSE_MECHS=(shmsync_block shmsync_spin_park agrona_spin)
SPARSE_CPUS=(); [ "$HAVE_TASKSET" = 1 ] && [ "$NCPU" -ge 2 ] && SPARSE_CPUS=(--cpus 0,1)
TRIAL=1
log "7/10 sparse traffic: every 1 ms and every 10 ms for $SPARSE_S s each: {${SPARSE_MECHS[*]}} ${SPARSE_CPUS[*]}"
for iv in 1000 10000; do
  R=$(awk -v s="$SPARSE_S" -v i="$iv" 'BEGIN {printf "%d", s * 1000000 / i}')
  for m in "${SPARSE_MECHS[@]}"; do
    ex "$RAW/sparse.txt" "$m" --rounds "$R" --warmup "$SPARSE_WARMUP" --interval-us "$iv" "${SPARSE_CPUS[@]}"
  done
done

fi
# ------------------------------------------------------------------------------------------------ 8. contended
if step 8; then
log "8/10 contended throughput: {${CONT_NS[*]}} processes, semaphore and mutex, shmsync and glibc, ${CONT_S} s each"
for n in "${CONT_NS[@]}"; do
  for prim in sem mutex; do
    record "$RAW/contended.txt" timeout 300 "$NATIVE" contended "$prim" "$n" "$CONT_S" --warmup-ms "$CONT_WARM_MS"
    record "$RAW/contended.txt" timeout 300 "$JAVA" "${JFLAGS[@]}" -cp "$JAR" io.shmsync.bench.Contended --prim "$prim" \
      --procs "$n" --seconds "$CONT_S" --warmup-ms "$CONT_WARM_MS"
  done
done

fi

# ------------------------------------------------------------------------------------------------ 9. rwsem
# tag FILE KIND: the RESULT lines of FILE, tagged kind=KIND (so no other table mistakes them for its own rows)
tag() { grep '^RESULT' "$1" | sed "s/^RESULT /RESULT kind=$2 /"; }
if step 9 && [ "$RWSEM" = 1 ]; then
  T9=$(date +%s)
  log "9/10 read-write semaphore: rwlock_bench uncontended ($C_ITERS x $C_RUNS), JMH $RW_BENCH (${RW_JMH[*]} -prof gc), rwlock_bench again; read-mostly throughput {${RW_NS[*]}} processes, $RW_TP_MS ms each"
  mkdir -p "$RAW/rwsem"
  record "$RAW/rwsem/c-uncontended.log" "$RWBENCH" uncontended "$C_ITERS" --runs "$C_RUNS"
  record "$RAW/rwsem/jmh.log" "$JAVA" "${JFLAGS[@]}" -Djmh.ignoreLock=true -cp "$JAR" io.shmsync.bench.JmhMain \
    "io.shmsync.bench.$RW_BENCH" "${RW_JMH[@]}" -prof gc
  record "$RAW/rwsem/c-uncontended.log" "$RWBENCH" uncontended "$C_ITERS" --runs "$C_RUNS"
  for n in "${RW_NS[@]}"; do
    record "$RAW/rwsem/throughput.log" timeout 300 "$RWBENCH" throughput glibc "$n" "$RW_TP_MS"
    record "$RAW/rwsem/throughput.log" timeout 300 "$RWBENCH" throughput rwsem "$n" "$RW_TP_MS"
    record "$RAW/rwsem/throughput.log" timeout 300 "$JAVA" "${JFLAGS[@]}" -cp "$JAR" io.shmsync.bench.RwThroughput "$n" "$RW_TP_MS"
  done
  { tag "$RAW/rwsem/c-uncontended.log" rwsem_c; tag "$RAW/rwsem/jmh.log" rwsem_jmh; tag "$RAW/rwsem/throughput.log" rwsem_throughput; } > "$RAW/rwsem.txt"
  echo "rwsem step: $(( $(date +%s) - T9 )) s" >> "$OUT/machine.txt"
fi

# ------------------------------------------------------------------------------------------------ 10. VM RTT
# The harness prints "RTT run=I jvm_kthread_p50_ns=K jvm_jvm_p50_ns=J" per run (GuestTest rtt, inside the guest;
# run-vm.sh prefixes "RTT <kernel> "); each run's p50 of both, alternating, in one boot.
vm_rtt() { # vm_rtt SOURCE-DESCRIPTION KERNEL < harness output
  awk -v src="$1" -v k0="$2" '
    /jvm_kthread_p50_ns=/ {
      k = ($1 == "RTT" && $3 == "RTT") ? $2 : k0     # run-vm.sh: "RTT <kernel> RTT run=..."; rtt.txt: "RTT run=..."
      kt = $0; sub(/.*jvm_kthread_p50_ns=/, "", kt); sub(/ .*/, "", kt)
      jj = $0; sub(/.*jvm_jvm_p50_ns=/, "", jj); sub(/ .*/, "", jj)
      run = $0; sub(/.*run=/, "", run); sub(/ .*/, "", run)
      printf "RESULT kind=vm_rtt kernel=%s run=%s jvm_kthread_p50_ns=%s jvm_jvm_p50_ns=%s source=%s\n", k, run, kt, jj, src
    }'
}
if step 10 && [ -n "$VM" ]; then
  T10=$(date +%s)
  log "10/10 VM harness: kernel $VM under QEMU TCG, scenario rtt only (kernel-mirror/test/run-vm.sh)"
  note "SCENARIOS=rtt kernel-mirror/test/run-vm.sh $VM"
  SCENARIOS=rtt "$ROOT/kernel-mirror/test/run-vm.sh" "$VM" > "$RAW/vm-rtt.log" 2> "$RAW/vm-rtt.log.err" || true
  grep -E '^(RESULT|VM)' "$RAW/vm-rtt.log" >&2 || true
  vm_rtt "qemu-tcg-this-run" "$VM" < "$RAW/vm-rtt.log" > "$RAW/vm-rtt.txt"
  [ -s "$RAW/vm-rtt.txt" ] || log "10/10 the VM harness printed no RTT lines: see $RAW/vm-rtt.log and $RAW/vm-rtt.log.err"
  echo "vm step: $(( $(date +%s) - T10 )) s (kernel $VM, QEMU TCG)" >> "$OUT/machine.txt"
elif step 10 && [ -n "$VM_LOG" ]; then
  log "10/10 VM RTT numbers read from $VM_LOG (an earlier harness run, not this one)"
  note "(step 10 read from $VM_LOG)"
  cp "$VM_LOG" "$RAW/vm-rtt.log"
  VM_LOG_KERNEL=$(basename "$(dirname "$VM_LOG")"); VM_LOG_KERNEL=${VM_LOG_KERNEL#vm-}   # build/vm-6.12/rtt.txt
  vm_rtt "earlier-harness-log" "$VM_LOG_KERNEL" < "$VM_LOG" > "$RAW/vm-rtt.txt"
  [ -s "$RAW/vm-rtt.txt" ] || { echo "run.sh: no 'RTT run=... jvm_kthread_p50_ns=...' lines in $VM_LOG" >&2; exit 1; }
fi

# ------------------------------------------------------------------------------------------------ summary
echo "load at end: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$OUT/machine.txt"
echo "elapsed: $(( $(date +%s) - START )) s" >> "$OUT/machine.txt"
{ echo "== busy processes (>= 5 % CPU) after the run"; busy; } >> "$RAW/other-load.txt"
note "$JAVA -Djava.awt.headless=true -cp $JAR io.shmsync.bench.Charts $OUT"
"$JAVA" -Djava.awt.headless=true -cp "$JAR" io.shmsync.bench.Charts "$OUT" >&2
"$JAVA" -cp "$JAR" io.shmsync.bench.Summary "$OUT" > /dev/null
find "$RAW" -name '*.err' -empty -delete
rm -rf "$TMPBIN"
log "done in $(( $(date +%s) - START )) s: $OUT/summary.md"
cat "$OUT/summary.md"
