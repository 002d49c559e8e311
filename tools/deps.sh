#!/bin/bash
# Install the Debian packages a make target needs, only those missing, so a
# fresh Debian 12 machine needs nothing but `make`.  Groups:
#   build  helper + static libkmod   test  hermetic tests   bench  benchmark
#   package  release tarball, .deb (debian/control's Build-Depends), .rpm,
#            lintian, man page linters (tests/packages/packages.sh)
#   rel    the ASan build and the libFuzzer harnesses (make asan, fuzz)
# On a system without dpkg (Fedora, Arch, ...) it installs nothing and says
# so: see the README, "Building on other distributions".
set -euo pipefail

declare -A group=(
	[build]="make gcc binutils musl-tools xz-utils apt ca-certificates debian-archive-keyring"
	[test]="strace kmod udev systemd dracut-core cpio zstd util-linux mount e2fsprogs shellcheck python3 file dash busybox klibc-utils debootstrap qemu-system-x86 qemu-utils ansible-core ansible-lint cloud-init openssh-client dpkg-dev"
	[bench]="strace daxctl util-linux gdb musl-tools zstd"
	[package]="ansible-core git gzip tar dpkg-dev debhelper fakeroot lintian blhc rpm rpmlint debugedit elfutils mandoc groff-base man-db file binutils debootstrap util-linux"
	[rel]="clang-14 libclang-rt-14-dev llvm-14 strace"
)

if ! command -v dpkg-query >/dev/null || ! command -v apt-get >/dev/null; then
	echo "deps: not a Debian system: install the tools for '$*' yourself (README: Building on other distributions)" >&2
	exit 0
fi

# A package in several groups (each group stands alone) is looked at once.
want=()
declare -A seen=()
for g in "$@"; do
	[ -n "${group[$g]+x}" ] || { echo "deps: unknown group '$g' (build, test, bench, package, rel)" >&2; exit 2; }
	for p in ${group[$g]}; do
		[ -z "${seen[$p]-}" ] || continue
		seen[$p]=1
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
