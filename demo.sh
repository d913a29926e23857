#!/bin/sh
# The shmsync demo: builds the library (and the C peer if cc exists), then JVMs and a C program
# ping-pong through named semaphores in shared memory and a table of round-trip times is printed.
# Usage: ./demo.sh [rounds]
set -eu
cd "$(dirname "$0")"
. ./scripts/find-jdk25.sh
./mvnw -q -B -DskipTests install
if command -v cc >/dev/null 2>&1 && command -v make >/dev/null 2>&1; then
  make -s -C kernel-mirror user
fi
CP="core/target/classes:examples/target/classes"
exec "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -cp "$CP" \
  -Dshmsync.c.peer=kernel-mirror/build/sem_peer io.shmsync.examples.PingPongDemo "$@"
