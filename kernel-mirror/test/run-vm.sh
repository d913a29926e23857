#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# run-vm.sh KERNEL   (KERNEL: 6.1, 6.1-rt or 6.12)
#
# Boots that Debian kernel under QEMU (TCG: nested KVM hangs on the build
# machines), with the host's root shared read-only over 9p, so the guest
# runs the host's JDK 25, test binaries and this tree unchanged. A second,
# writable 9p share is mounted over kernel-mirror/build/vm-KERNEL. The guest
# loads shmsync.ko (built here for that kernel), runs test/scenarios.sh,
# and powers off. Prints the guest's "RESULT <kernel> <scenario> PASS|FAIL"
# lines; exit status 0 only if every scenario passed.
#
# Environment: SHMSYNC_KCACHE (kernel cache, default /var/cache/shmsync-kernels),
# VM_TIMEOUT (seconds, default 1800: 20 scenarios, slow when the host is loaded), VM_MEM (MiB, default 3072).
set -euo pipefail

KNAME=${1:?usage: run-vm.sh 6.1|6.1-rt|6.12}
HERE=$(cd "$(dirname "$0")" && pwd)
KM=$(cd "$HERE/.." && pwd)
REPO=$(cd "$KM/.." && pwd)
BUILD=$KM/build
CACHE=${SHMSYNC_KCACHE:-/var/cache/shmsync-kernels}

"$HERE/setup-kernels.sh" >&2
# shellcheck disable=SC1091
. "$CACHE/kernels.env"
case "$KNAME" in
6.1) KVER=$KVER_61; HDR=/usr/src/linux-headers-$KVER ;;
6.1-rt) KVER=$KVER_61RT; HDR=/usr/src/linux-headers-$KVER ;;
6.12) KVER=$KVER_612; HDR=$CACHE/root-$KVER/usr/src/linux-headers-$KVER ;;
*) echo "run-vm.sh: unknown kernel $KNAME (6.1, 6.1-rt, 6.12)" >&2; exit 2 ;;
esac
ROOT=$CACHE/root-$KVER
VM=$BUILD/vm-$KNAME
MOD=$BUILD/mod-$KNAME
mkdir -p "$VM" "$MOD"
rm -f "$VM"/results.txt "$VM"/guest.log "$VM"/console.log "$VM"/done "$VM"/rtt.txt

# --- host-side builds ------------------------------------------------------
make -s -C "$KM" user lib >&2
JAVA_HOME=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}
[ -x "$JAVA_HOME/bin/java" ] || JAVA_HOME=/usr/lib/jvm/temurin-25-jdk-amd64
if [ ! -d "$REPO/core/target/classes/io/shmsync" ]; then
	(cd "$REPO" && JAVA_HOME=$JAVA_HOME ./mvnw -q -o -DskipTests install -pl core) >&2
fi
# Private copies for the guest: other builds in this tree must not change
# what a running VM executes.
mkdir -p "$BUILD/java" "$VM/bin"
rm -rf "$VM/core-classes" && cp -r "$REPO/core/target/classes" "$VM/core-classes"
cp "$BUILD/shmsync-c" "$VM/bin/"
if [ ! -f "$BUILD/java/GuestTest.class" ] || [ "$HERE/java/GuestTest.java" -nt "$BUILD/java/GuestTest.class" ]; then
	"$JAVA_HOME/bin/javac" -d "$BUILD/java" -cp "$VM/core-classes" "$HERE/java/GuestTest.java"
fi
# A CDS archive of the test's classes: JVM start-up dominates under TCG.
JFLAGS="--enable-native-access=ALL-UNNAMED -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xmx256m"
if true; then # the archive is tied to the class path, which is copied anew
	jt=$(mktemp -d)
	"$JAVA_HOME/bin/java" $JFLAGS -XX:ArchiveClassesAtExit="$VM/guest.jsa" -Dio.shmsync.dir="$jt" \
		-cp "$VM/core-classes:$BUILD/java" GuestTest setup cds 65536 a b >/dev/null 2>&1 || true
	rm -rf "$jt"
fi
rm -rf "$MOD/src" && make -s -C "$KM/module" dkms-src DEST="$MOD/src" >/dev/null
make -s -C "$MOD/src" KDIR="$HDR" >"$MOD/build.log" 2>&1 || { cat "$MOD/build.log" >&2; echo "RESULT $KNAME build FAIL"; exit 1; }
grep -v -e '^make' -e 'Skipping BTF' "$MOD/build.log" | grep -i -e warning -e error >&2 || true
# The module as DKMS builds it (dkms.conf), in a private DKMS tree: "dkms add" + "dkms build" for this
# kernel; the dkms scenario loads the result. ("dkms install" would run depmod on the host's /lib/modules.)
DK=$MOD/dkms
rm -rf "$DK" && mkdir -p "$DK/tree" "$DK/src" "$DK/install"
make -s -C "$KM/module" dkms-src DEST="$DK/src/shmsync-0.1" >/dev/null
dkms_=(dkms --dkmstree "$DK/tree" --sourcetree "$DK/src" --installtree "$DK/install")
if ! { "${dkms_[@]}" add -m shmsync -v 0.1 && "${dkms_[@]}" build -m shmsync -v 0.1 -k "$KVER" --kernelsourcedir "$HDR"; } >"$MOD/dkms.log" 2>&1; then
	cat "$MOD/dkms.log" >&2
fi
DKMSKO=$(find "$DK/tree/shmsync/0.1/$KVER" -name 'shmsync.ko*' 2>/dev/null | head -1)
# shmsync_test.ko: a second module on shmsync.ko's exported API (test/kmod, tests only).
rm -rf "$MOD/kmod" && cp -r "$HERE/kmod" "$MOD/kmod"
make -s -C "$HDR" M="$MOD/kmod" KBUILD_EXTRA_SYMBOLS="$MOD/src/Module.symvers" SHMSYNC_INCLUDE="$MOD/src/include" \
	modules >"$MOD/kmod.log" 2>&1 || { cat "$MOD/kmod.log" >&2; echo "RESULT $KNAME build-test-module FAIL"; exit 1; }

# --- initramfs -------------------------------------------------------------
INITRD=$BUILD/initramfs-$KNAME.cpio.gz
if [ ! -f "$INITRD" ] || [ "$0" -nt "$INITRD" ]; then
	IR=$(mktemp -d)
	mkdir -p "$IR"/{bin,proc,sys,dev,host,mods}
	cp /bin/busybox "$IR/bin/"
	for c in sh mount umount insmod mkdir chroot poweroff sleep cat sed ln; do ln -s busybox "$IR/bin/$c"; done
	MODDIR=$(ls -d "$ROOT"/lib/modules/*/ | head -1)
	order=()
	add() { # depth-first: dependencies first
		local m=$1 f d
		for x in "${order[@]:-}"; do [ "$x" = "$m" ] && return 0; done
		f=$(find "$MODDIR" -name "$m.ko*" | head -1)
		[ -n "$f" ] || return 0   # built in
		for d in $(modinfo -F depends "$f" | tr ',' ' '); do add "$d"; done
		order+=("$m")
		case "$f" in
		*.xz) xz -dc "$f" >"$IR/mods/$m.ko" ;;
		*.zst) zstd -qdc "$f" >"$IR/mods/$m.ko" ;;
		*) cp "$f" "$IR/mods/$m.ko" ;;
		esac
	}
	for m in virtio_pci 9pnet_virtio 9p; do add "$m"; done
	printf '%s\n' "${order[@]}" >"$IR/mods/order"
	cat >"$IR/init" <<'INIT'
#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in $(cat /mods/order); do insmod /mods/$m.ko; done
arg() { sed -n "s/.*shmsync\.$1=\([^ ]*\).*/\1/p" /proc/cmdline; }
S=$(arg scratch)
mount -t 9p -o trans=virtio,version=9p2000.L,ro,cache=loose hostroot /host || poweroff -f
mount -t proc proc /host/proc
mount -t sysfs sys /host/sys
mount -t devtmpfs dev /host/dev
mount -t debugfs debugfs /host/sys/kernel/debug
mkdir -p /host/dev/shm
mount -t tmpfs -o mode=1777 shm /host/dev/shm
# The guest's /tmp is a tmpfs; a checkout under the host's /tmp (as a CI clone may be) stays visible
# through a bind mount made before the tmpfs hides it.
R=$(arg repo)
case "$R" in /tmp/?*) mkdir -p /keep && mount -o bind "/host$R" /keep ;; esac
mount -t tmpfs -o mode=1777 tmp /host/tmp
case "$R" in /tmp/?*) mkdir -p "/host$R" && mount -o bind /keep "/host$R" ;; esac
mount -t 9p -o trans=virtio,version=9p2000.L,cache=none scratch /host$S
chroot /host /bin/sh -c "cd $S && HOME=/tmp PATH=/usr/sbin:/usr/bin:/sbin:/bin sh ./guest.sh >guest.log 2>&1; echo done >done"
poweroff -f
INIT
	chmod +x "$IR/init"
	(cd "$IR" && find . | cpio -o -H newc --quiet | gzip -1 >"$INITRD")
	rm -rf "$IR"
fi

# --- the guest's script ------------------------------------------------------
cat >"$VM/guest.sh" <<GUEST
export SCENARIOS="${SCENARIOS:-}" CORE_CLASSES=$VM/core-classes SHMSYNC_C=$VM/bin/shmsync-c KNAME=$KNAME KM=$KM REPO=$REPO MODKO=$MOD/src/shmsync.ko TESTKO=$MOD/kmod/shmsync_test.ko DKMSKO=$DKMSKO JAVA_HOME=$JAVA_HOME
exec sh $HERE/scenarios.sh
GUEST

# --- boot ----------------------------------------------------------------------
start=$(date +%s)
set +e
timeout "${VM_TIMEOUT:-1800}" qemu-system-x86_64 -accel tcg,thread=multi -cpu max -smp 2 \
	-m "${VM_MEM:-3072}" -nographic -no-reboot \
	-kernel "$ROOT/boot/vmlinuz-$KVER" -initrd "$INITRD" \
	-append "console=ttyS0 quiet loglevel=4 panic=-1 shmsync.scratch=$VM shmsync.repo=$REPO" \
	-virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
	-virtfs "local,path=$VM,mount_tag=scratch,security_model=none" \
	-nic none </dev/null >"$VM/console.log" 2>&1
qrc=$?
set -e
end=$(date +%s)

pass=0; fail=0
if [ -f "$VM/results.txt" ]; then
	while read -r tag k s verdict rest; do
		[ "$tag" = RESULT ] || continue
		echo "RESULT $KNAME $s $verdict${rest:+ $rest}"
		if [ "$verdict" = PASS ]; then pass=$((pass + 1)); else fail=$((fail + 1)); fi
	done <"$VM/results.txt"
fi
if [ ! -f "$VM/done" ]; then
	echo "RESULT $KNAME vm FAIL guest did not finish (qemu exit $qrc after $((end - start)) s; see $VM/console.log, $VM/guest.log)"
	tail -20 "$VM/console.log" >&2 || true
	fail=$((fail + 1))
fi
[ -f "$VM/rtt.txt" ] && sed "s/^/RTT $KNAME /" "$VM/rtt.txt"
echo "VM $KNAME ($KVER): $pass passed, $fail failed, $((end - start)) s"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
