#!/usr/bin/env bash
# Builds and runs the jcstress tests of shmsync's word transitions (verification/jcstress): Semaphore
# (PROTOCOL §3.2) and Mutex (§6.4). Fails on any FAILED/ERROR test, and fails if the control test that is
# broken on purpose (ControlTests.BrokenReleaseControl) is NOT reported as failing.
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

out="verification/jcstress/target/results"
rm -rf "$out"; mkdir -p "$out"
log="$out/jcstress.log"
# -jvmArgs replaces jcstress's own matrix of JVM flag combinations (about 14 per test, ~10 s each) by one
# configuration, to bound CI time; JCSTRESS_FULL=1 keeps the matrix and prepends the native-access flag.
if [ "${JCSTRESS_FULL:-0}" = 1 ]; then
  jvmflag=-jvmArgsPrepend; jvmargs="--enable-native-access=ALL-UNNAMED"
else
  jvmflag=-jvmArgs; jvmargs="--enable-native-access=ALL-UNNAMED -XX:+UnlockDiagnosticVMOptions -XX:+StressLCM -XX:+StressGCM -XX:+StressIGVN"
fi
echo "jcstress: mode $mode, at most ${limit}s, report in $out"
set +e
timeout --kill-after=30 "$limit" nice -n 10 "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED \
  -jar verification/jcstress/target/jcstress.jar -v -m "$mode" -t 'io\.shmsync\.jcstress\.' \
  "$jvmflag" "$jvmargs" -r "$out" >"$log" 2>&1
rc=$?
set -e
grep -E '^\s*\((Results|ETA)' "$log" | tail -1 || true

# jcstress prints one "[OK]"/"[FAILED]"/"[ERROR]"... line per test result in its console output
failed_real=$(grep -E '\[(FAILED|ERROR|CRASH|TIMEOUT)[^]]*\]\s+io\.shmsync\.jcstress\.' "$log" | grep -v 'Control' || true)
control_failed=$(grep -cE '\[FAILED\]\s+io\.shmsync\.jcstress\.ControlTests' "$log" || true)
ok_count=$(grep -cE '\[OK\]\s+io\.shmsync\.jcstress\.' "$log" || true)
echo "jcstress: $ok_count test configurations OK; control failed as it must in $control_failed configuration(s)"
status=0
if [ -n "$failed_real" ]; then
  echo "jcstress: FAILED tests:"; echo "$failed_real"; status=1
fi
if [ "$control_failed" -eq 0 ]; then
  echo "jcstress: the broken control test was not caught: the run cannot be trusted"; status=1
fi
if [ $rc -ne 0 ] && [ $rc -ne 1 ]; then   # jcstress exits 1 when a test failed (here: the control)
  echo "jcstress: exit status $rc (timeout or crash); see $log"; status=1
fi
[ $status -eq 0 ] && echo "jcstress: OK"
exit $status
