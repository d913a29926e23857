#!/usr/bin/env bash
# The read-write semaphore benchmarks alone: bench/run.sh step 9 (uncontended RwSemaphore read/write lock+unlock vs
# glibc pshared pthread_rwlock and C rwsem.h, read-mostly throughput with 1..N processes), with run.sh's options:
#   bench/rwsem.sh [--smoke|--full] [--no-build] [--out DIR]
exec "$(cd "$(dirname "$0")" && pwd)/run.sh" --only 9 "$@"
