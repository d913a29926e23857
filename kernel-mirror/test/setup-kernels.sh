#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Installs what the VM tests need and prepares the three Debian kernels
# (6.1, 6.1 PREEMPT_RT, 6.12 from bookworm-security): host tools and 6.1
# headers through apt, the kernel images (and the 6.12 headers, whose
# package would pull the image) extracted with dpkg -x into a cache.
#
# Idempotent: a second run with everything cached only checks.
# Writes $CACHE/kernels.env with KVER_61, KVER_61RT, KVER_612 and the paths
# of each kernel's image root and header directory.
#
# Environment: SHMSYNC_KCACHE (default /var/cache/shmsync-kernels).
set -euo pipefail

CACHE=${SHMSYNC_KCACHE:-/var/cache/shmsync-kernels}
mkdir -p "$CACHE/debs"
export DEBIAN_FRONTEND=noninteractive

log() { echo "setup-kernels: $*" >&2; }

need_pkgs=()
for p in qemu-system-x86 busybox-static cpio kmod zstd xz-utils dwarves make gcc libc6-dev libelf-dev dkms; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need_pkgs+=("$p")
done

newest() { # newest package name matching an anchored regex
	apt-cache search --names-only "$1" | awk '{print $1}' | sort -V | tail -1
}

if [ -z "$(newest '^linux-image-6\.1\.0-[0-9]+-amd64$')" ] || { [ ${#need_pkgs[@]} -gt 0 ] && [ ! -f "$CACHE/apt-updated" ]; }; then
	log "apt-get update"
	apt-get update -q >/dev/null
	touch "$CACHE/apt-updated"
fi

# --- pick the newest ABIs apt offers -------------------------------------
if [ -f "$CACHE/kernels.env" ] && [ -z "${SHMSYNC_KREFRESH:-}" ]; then
	# shellcheck disable=SC1091
	. "$CACHE/kernels.env"
else
	img61=$(newest '^linux-image-6\.1\.0-[0-9]+-amd64$')
	abi=${img61#linux-image-6.1.0-}; abi=${abi%-amd64}
	KVER_61=6.1.0-$abi-amd64
	KVER_61RT=6.1.0-$abi-rt-amd64
	img612=$(newest '^linux-image-6\.12\.[0-9]+\+deb12-amd64$')
	KVER_612=${img612#linux-image-}
	[ -n "$abi" ] && [ -n "$KVER_612" ] || { log "cannot find the kernel packages (apt-get update?)"; exit 1; }
fi
log "kernels: $KVER_61 $KVER_61RT $KVER_612"

if [ ${#need_pkgs[@]} -gt 0 ] || ! [ -d "/usr/src/linux-headers-$KVER_61" ] || ! [ -d "/usr/src/linux-headers-$KVER_61RT" ]; then
	log "apt-get install ${need_pkgs[*]} headers"
	apt-get install -y -q --no-install-recommends "${need_pkgs[@]}" \
		"linux-headers-$KVER_61" "linux-headers-$KVER_61RT" >/dev/null
fi

# --- images (and 6.12 headers) extracted into the cache ------------------
extract() { # package root
	local pkg=$1 root=$2 deb
	deb=$(ls "$CACHE/debs/${pkg}_"*.deb 2>/dev/null | head -1 || true)
	if [ -z "$deb" ]; then
		(cd "$CACHE/debs" && apt-get -o APT::Sandbox::User=root download -q "$pkg" >/dev/null)
		deb=$(ls "$CACHE/debs/${pkg}_"*.deb | head -1)
	fi
	if [ ! -f "$root/.done-$pkg" ]; then
		mkdir -p "$root"
		dpkg -x "$deb" "$root"
		touch "$root/.done-$pkg"
	fi
}

for k in "$KVER_61" "$KVER_61RT" "$KVER_612"; do
	extract "linux-image-$k" "$CACHE/root-$k"
done
v612=${KVER_612%-amd64}
for p in "linux-headers-$KVER_612" "linux-headers-$v612-common" "linux-kbuild-$v612"; do
	extract "$p" "$CACHE/root-$KVER_612"
done
H612=$CACHE/root-$KVER_612/usr/src/linux-headers-$KVER_612
# The extracted headers' Makefile includes the -common tree by absolute path.
sed -i "s#include /usr/src/#include $CACHE/root-$KVER_612/usr/src/#" "$H612/Makefile"

cat > "$CACHE/kernels.env.tmp" <<ENV
KVER_61=$KVER_61
KVER_61RT=$KVER_61RT
KVER_612=$KVER_612
ENV
mv "$CACHE/kernels.env.tmp" "$CACHE/kernels.env"
log "ok"
