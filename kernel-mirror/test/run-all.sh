#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# run-all.sh: the kernel-mirror VM matrix. Installs what it needs (apt:
# QEMU, busybox, kernel headers; kernel images cached under
# /var/cache/shmsync-kernels), builds the user tools and the module for each
# kernel, boots each kernel under QEMU TCG and runs test/scenarios.sh.
#
# Prints one "RESULT <kernel> <scenario> PASS|FAIL ..." line per scenario
# per kernel, the RTT lines, and last "N passed, N failed". Exit status 0
# only if everything passed.
#
# Environment: KERNELS (default "6.1 6.1-rt 6.12"), and run-vm.sh's.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
start=$(date +%s)
pass=0; fail=0
"$HERE/setup-kernels.sh" || { echo "RESULT all setup FAIL"; echo "0 passed, 1 failed"; exit 1; }
for k in ${KERNELS:-6.1 6.1-rt 6.12}; do
	out=$("$HERE/run-vm.sh" "$k" 2> >(sed "s/^/[$k] /" >&2))
	echo "$out"
	p=$(echo "$out" | grep -c '^RESULT .* PASS')
	f=$(echo "$out" | grep -c '^RESULT .* FAIL')
	pass=$((pass + p)); fail=$((fail + f))
	[ "$p" -gt 0 ] || [ "$f" -gt 0 ] || fail=$((fail + 1))
done
echo "kernel-mirror VM matrix: $(( $(date +%s) - start )) s"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
