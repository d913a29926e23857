#!/usr/bin/env bash
# Builds and runs the jcstress tests of shmsync's word transitions (verification/jcstress): Semaphore
# (PROTOCOL §3.2), Mutex (§6.4) and RwSemaphore (§7.3). Fails on any FAILED/ERROR test, and fails if any of
# the control tests that are broken on purpose (ControlTests.BrokenReleaseControl, ...BrokenReadTryLockControl)
# is NOT reported as failing.
#
# Usage: verification/jcstress/run.sh [MODE]    MODE: jcstress preset (sanity, quick [default], default, ...)
# Environment: JCSTRESS_TIME_LIMIT (seconds, default 900) bounds the whole jcstress run.
set -euo pipefail
cd "$(dirname "$0")/../.."
mode=${1:-quick}
limit=${JCSTRESS_TIME_LIMIT:-900}

. ./scripts/find-jdk25.sh
offline=""; [ "${MVN_OFFLINE:-0}" = 1 ] && offline="-o"
# core (and the parent pom) into the local repository, then the jcstress jar
./mvnw -q -B $offline -pl core -am install -DskipTests
./mvnw -q -B $offline -f verification/jcstress/pom.xml package

root="$(pwd)"
out="$root/verification/jcstress/target/results"
rm -rf "$out"; mkdir -p "$out"
log="$out/jcstress.log"
# By default one JVM configuration per test, to bound CI time: -jvmArgs replaces jcstress's matrix of JVM
# flag combinations (about 14 per test) by C2 with its scheduling stress flags, and -sc false drops the
# per-actor compilation matrix (interpreter/C1/C2 per actor, 9 forks per two-actor test, ~8 s each).
# JCSTRESS_FULL=1 runs jcstress's full matrices (about an hour on two CPUs). At most 4 x 256 states are
# live at once: the Mutex tests reuse a pool of 1280 mutexes per test class (JcstressAccess.MutexPool).
if [ "${JCSTRESS_FULL:-0}" = 1 ]; then
  jcargs=(-jvmArgsPrepend "--enable-native-access=ALL-UNNAMED")
else
  jcargs=(-sc false -jvmArgs "--enable-native-access=ALL-UNNAMED -XX:+UnlockDiagnosticVMOptions -XX:+StressLCM -XX:+StressGCM -XX:+StressIGVN")
fi
echo "jcstress: mode $mode, at most ${limit}s, report in $out"
set +e
# (run inside $out: jcstress writes its result blob into the working directory)
(cd "$out" && timeout --kill-after=30 "$limit" nice -n 10 "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED \
  -jar "$root/verification/jcstress/target/jcstress.jar" -v -m "$mode" -t 'io\.shmsync\.jcstress\.' \
  -strideCount 4 -strideSize 256 "${jcargs[@]}" -r "$out" >"$log" 2>&1)
rc=$?
set -e
grep -E '^\s*\((Results|ETA)' "$log" | tail -1 || true

# jcstress prints one "[OK]"/"[FAILED]"/"[ERROR]"... line per test result in its console output
# (each result line appears twice: as it completes and in the summary; counts are of distinct tests)
failed_real=$(grep -E '\[(FAILED|ERROR|CRASH|TIMEOUT)[^]]*\]\s+io\.shmsync\.jcstress\.' "$log" | grep -v 'Control' \
  | sort -u || true)
ok_count=$(grep -oE '\[OK\]\s+io\.shmsync\.jcstress\.\S+' "$log" | sort -u | wc -l)
echo "jcstress: $ok_count tests OK"
status=0
if [ -n "$failed_real" ]; then
  echo "jcstress: FAILED tests:"; echo "$failed_real"; status=1
fi
for control in BrokenReleaseControl BrokenReadTryLockControl; do
  if grep -qE "\[FAILED\]\s+io\.shmsync\.jcstress\.ControlTests\.$control\b" "$log"; then
    echo "jcstress: control $control failed, as it must"
  else
    echo "jcstress: the broken control $control was not caught: the run cannot be trusted"; status=1
  fi
done
if [ $rc -ne 0 ] && [ $rc -ne 1 ]; then   # jcstress exits 1 when a test failed (here: the control)
  echo "jcstress: exit status $rc (timeout or crash); see $log"; status=1
fi
[ $status -eq 0 ] && echo "jcstress: OK"
exit $status
