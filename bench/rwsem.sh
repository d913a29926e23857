#!/usr/bin/env bash
# shmsync RwSemaphore benchmarks, Java and C in one run, with ratios against glibc's pshared pthread_rwlock.
#
#   bench/rwsem.sh              quick mode (a few minutes on 2 cores)
#   bench/rwsem.sh --smoke      checks that every step works (numbers meaningless)
#   bench/rwsem.sh --no-build   use bench/target/benchmarks.jar as it is
#   bench/rwsem.sh --no-throughput   only the uncontended table
#   bench/rwsem.sh --out DIR    raw output to DIR (default bench/results/rwsem-<UTC timestamp>)
#
# Measures, in this order, on this machine:
#   1. bench/native/rwlock_bench uncontended: glibc pthread_rwlock rdlock/wrlock+unlock (PTHREAD_PROCESS_SHARED)
#      and the C rwsem.h protocol, one thread                                  -> raw/c-uncontended.txt
#   2. JMH io.shmsync.bench.RwSemaphoreBenchmark (-prof gc): RwSemaphore read/write lock+unlock,
#      ReentrantReadWriteLock, the Java two-CAS floor                           -> raw/jmh.txt
#   3. step 1 again (the C rows use the median of both sessions)
#   4. read-mostly throughput (95 % reads) with 1, 2, 4 processes: glibc, C rwsem.h (rwlock_bench throughput,
#      fork()ed processes) and Java (io.shmsync.bench.RwThroughput, one JVM per process) -> raw/throughput.txt
# and prints the tables (also to summary.md). Every tool prints "RESULT key=value ..." lines.
# Numbers taken while other work shares the CPUs are only directional: the load is printed with them.
set -euo pipefail

BENCH=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$BENCH")
. "$BENCH/../scripts/find-jdk25.sh"

MODE=quick
BUILD=1
THROUGHPUT=1
OUT=
while [ $# -gt 0 ]; do
  case "$1" in
    --smoke) MODE=smoke ;;
    --quick) MODE=quick ;;
    --no-build) BUILD=0 ;;
    --no-throughput) THROUGHPUT=0 ;;
    --out) OUT=$2; shift ;;
    -h|--help) awk 'NR > 1 && !/^#/ {exit} NR > 1 {sub(/^# ?/, ""); print}' "$0"; exit 0 ;;
    *) echo "rwsem.sh: unknown argument $1 (try --help)" >&2; exit 2 ;;
  esac
  shift
done
if [ "$MODE" = smoke ]; then
  JMH_OPTS=(-f 1 -wi 1 -w 200ms -i 2 -r 200ms); C_ITERS=1000000; C_RUNS=2; TP_MILLIS=300; TP_PROCS="1 2"
else
  JMH_OPTS=(-f 2 -wi 3 -w 1s -i 5 -r 1s); C_ITERS=20000000; C_RUNS=5; TP_MILLIS=2000; TP_PROCS="1 2 4"
fi

[ -n "$OUT" ] || OUT="$BENCH/results/rwsem-$(date -u +%Y%m%dT%H%M%SZ)"
RAW="$OUT/raw"
mkdir -p "$RAW"
JAVA="$JAVA_HOME/bin/java"
JAR="$BENCH/target/benchmarks.jar"
CBENCH="$BENCH/target/native/rwlock_bench"
log() { echo "[rwsem.sh $(date -u +%H:%M:%S)] $*" >&2; }

if [ "$BUILD" = 1 ]; then
  log "building benchmarks.jar (mvnw) and rwlock_bench (cc)"
  (cd "$ROOT" && { ./mvnw -q -o -DskipTests -pl bench -am install 2>/dev/null || ./mvnw -q -DskipTests -pl bench -am install; })
  mkdir -p "$(dirname "$CBENCH")"
  cc -O2 -Wall -Wextra -Werror -std=gnu11 -pthread -I"$ROOT/kernel-mirror/include" -o "$CBENCH" \
    "$BENCH/native/rwlock_bench.c"
fi
for f in "$JAR" "$CBENCH"; do
  [ -e "$f" ] || { echo "rwsem.sh: missing $f (run without --no-build)" >&2; exit 1; }
done
# private copies: a rebuild in this work tree must not pull them from under a running benchmark
cp "$JAR" "$CBENCH" "$RAW/"
JAR="$RAW/benchmarks.jar"; CBENCH="$RAW/rwlock_bench"

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
log "load average at start: $LOAD_START"
log "1/4 C uncontended ($C_ITERS iters x $C_RUNS runs)"
"$CBENCH" uncontended "$C_ITERS" --runs "$C_RUNS" | tee -a "$RAW/c-uncontended.txt" | grep '^RESULT' >&2
log "2/4 JMH RwSemaphoreBenchmark (${JMH_OPTS[*]} -prof gc)"
"$JAVA" -Djmh.ignoreLock=true --enable-native-access=ALL-UNNAMED -cp "$JAR" io.shmsync.bench.JmhMain \
  'io.shmsync.bench.RwSemaphoreBenchmark' "${JMH_OPTS[@]}" -prof gc > "$RAW/jmh.txt" 2> "$RAW/jmh.err"
grep '^RESULT' "$RAW/jmh.txt" >&2
log "3/4 C uncontended again"
"$CBENCH" uncontended "$C_ITERS" --runs "$C_RUNS" | tee -a "$RAW/c-uncontended.txt" | grep '^RESULT' >&2
: > "$RAW/throughput.txt"
if [ "$THROUGHPUT" = 1 ]; then
  log "4/4 read-mostly throughput (95 % reads, $TP_MILLIS ms), processes: $TP_PROCS"
  for p in $TP_PROCS; do
    "$CBENCH" throughput glibc "$p" "$TP_MILLIS" | tee -a "$RAW/throughput.txt" >&2
    "$CBENCH" throughput rwsem "$p" "$TP_MILLIS" | tee -a "$RAW/throughput.txt" >&2
    "$JAVA" --enable-native-access=ALL-UNNAMED -cp "$JAR" io.shmsync.bench.RwThroughput "$p" "$TP_MILLIS" \
      | grep '^RESULT' | tee -a "$RAW/throughput.txt" >&2
  done
fi
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

python3 - "$RAW" "$LOAD_START" "$LOAD_END" "$MODE" <<'EOF' | tee "$OUT/summary.md"
import re, statistics, sys
raw, load_start, load_end, mode = sys.argv[1:5]
def kv(line):
    return dict(f.split("=", 1) for f in line.split()[1:] if "=" in f)
c = {}
for line in open(raw + "/c-uncontended.txt"):
    if line.startswith("RESULT"):
        d = kv(line)
        c.setdefault(d["op"], []).append(float(d["ns_per_op_median"]))
j = {}
for line in open(raw + "/jmh.txt"):
    if line.startswith("RESULT"):
        d = kv(line)
        j[d["bench"]] = (float(d["ns_per_op"]), float(d["ns_per_op_error"]), float(d["b_per_op"]))
def cv(op):
    v = c.get(op)
    return statistics.median(v) if v else float("nan")
glibc = {"read": cv("glibc_rdlock+unlock"), "write": cv("glibc_wrlock+unlock")}
print(f"# RwSemaphore benchmarks ({mode} mode)\n")
print(f"Load average (1/5/15 min) at start {load_start}, at end {load_end}; the machine has "
      f"{len(open('/proc/cpuinfo').read().split('processor')) - 1} CPUs. Anything above ~0.3 means other work "
      "shared the CPUs: numbers are then directional only.\n")
print("## Uncontended lock + unlock (one thread)\n")
print("| mechanism | side | ns/op | B/op | / glibc pthread_rwlock (same side) |")
print("|---|---|---:|---:|---:|")
rows = [("glibc `pthread_rwlock` pshared (C)", "read", cv("glibc_rdlock+unlock"), None),
        ("glibc `pthread_rwlock` pshared (C)", "write", cv("glibc_wrlock+unlock"), None),
        ("shmsync `rwsem.h` (C)", "read", cv("rwsem_read+up_read"), None),
        ("shmsync `rwsem.h` (C)", "write", cv("rwsem_write+up_write"), None)]
names = {"rwRead": ("shmsync `RwSemaphore` lock()+unlock()", "read"),
         "rwWrite": ("shmsync `RwSemaphore` lock()+unlock()", "write"),
         "rwTryRead": ("shmsync `RwSemaphore` tryLock()+unlock()", "read"),
         "rwTryWrite": ("shmsync `RwSemaphore` tryLock()+unlock()", "write"),
         "jucRead": ("`ReentrantReadWriteLock` (in-process)", "read"),
         "jucWrite": ("`ReentrantReadWriteLock` (in-process)", "write"),
         "casFloorRead": ("Java floor: two 64-bit CASes on a mapped word", "read")}
for b, (name, side) in names.items():
    if b in j:
        rows.append((name, side, j[b][0], j[b]))
for name, side, ns, jr in rows:
    err = f" ± {jr[1]:.2f}" if jr else ""
    bop = f"{jr[2]:.3f}" if jr else "–"
    print(f"| {name} | {side} | {ns:.2f}{err} | {bop} | {ns / glibc[side]:.2f}× |")
print("\nC rows: median of the per-session medians (two sessions, before and after JMH): "
      + ", ".join(f"{k} {' / '.join(f'{x:.2f}' for x in v)}" for k, v in c.items()))
tp = {}
for line in open(raw + "/throughput.txt"):
    if line.startswith("RESULT"):
        d = kv(line)
        tp[(d["mech"], int(d["procs"]))] = (float(d["ops_per_sec"]), int(d["violations"]), d["write_permille"])
if tp:
    print("\n## Read-mostly throughput (processes, 95 % reads), Mops/s of all processes together\n")
    procs = sorted({p for _, p in tp})
    print("| mechanism | " + " | ".join(f"{p} proc" for p in procs) + " |")
    print("|---|" + "---:|" * len(procs))
    for mech, label in (("glibc", "glibc `pthread_rwlock` pshared (C)"), ("rwsem", "shmsync `rwsem.h` (C)"),
                        ("java", "shmsync `RwSemaphore` (Java, one JVM per process)")):
        cells = []
        for p in procs:
            if (mech, p) in tp:
                v = tp[(mech, p)]
                g = tp.get(("glibc", p))
                ratio = f" ({v[0] / g[0]:.2f}× glibc)" if g and mech != "glibc" else ""
                cells.append(f"{v[0] / 1e6:.2f}{ratio}" + (f" **{v[1]} violations**" if v[1] else ""))
            else:
                cells.append("–")
        print(f"| {label} | " + " | ".join(cells) + " |")
EOF
log "summary: $OUT/summary.md"
