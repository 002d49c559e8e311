#!/bin/bash
# Install the Debian packages a make target needs, only those missing, so a
# fresh Debian 12 machine needs nothing but `make`.  Groups:
#   build  helper + static libkmod   test  hermetic tests   bench  benchmark
#   rel    the ASan build and the libFuzzer harnesses (make asan, fuzz)
set -euo pipefail

declare -A group=(
	[build]="make gcc binutils musl-tools xz-utils apt ca-certificates debian-archive-keyring"
	[test]="strace kmod udev systemd dracut-core cpio zstd util-linux mount e2fsprogs shellcheck python3 file dash"
	[bench]="strace daxctl util-linux gdb musl-tools zstd"
	[rel]="clang-14 libclang-rt-14-dev llvm-14 strace"
)

want=()
for g in "$@"; do
	[ -n "${group[$g]+x}" ] || { echo "deps: unknown group '$g' (build, test, bench, rel)" >&2; exit 2; }
	for p in ${group[$g]}; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || want+=("$p")
	done
done
[ ${#want[@]} -eq 0 ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "deps: missing packages: ${want[*]} (run as root, or install them)" >&2
	exit 1
fi
echo "deps: installing ${want[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get -q update >/dev/null
apt-get -q install -y --no-install-recommends "${want[@]}" >/dev/null
