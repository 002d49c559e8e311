#!/bin/bash
# Fetch and unpack a Debian kernel package into build/kernels/KVER so tests can
# use a real module tree (and boot its vmlinuz in QEMU) without installing
# anything on the machine.  Idempotent and cached; prints the tree's path.
#
# usage: tools/fetch-kernel.sh KVER        e.g. 5.10.0-32-amd64
#   -> build/kernels/KVER/boot/vmlinuz-KVER
#      build/kernels/KVER/lib/modules/KVER   (depmod already run)
set -euo pipefail

kver=${1:?usage: fetch-kernel.sh KVER (e.g. 5.10.0-32-amd64)}
case $kver in
*/* | .* | "") echo "fetch-kernel: bad KVER '$kver'" >&2; exit 2 ;;
esac

# The kernels the tests are written against, pinned to an exact package
# version so every run tests the same modules; apt checks the .deb's hash
# against the signed archive index.  Other KVERs take the archive's candidate.
declare -A pin=(
	[5.10.0-32-amd64]=5.10.223-1 # bullseye: has dax_pmem_compat
	[6.1.0-50-amd64]=6.1.176-1   # bookworm: compat driver removed (5.17)
)

top=$(cd "$(dirname "$0")/.." && pwd)
build=${DAXBUS_BUILD:-$top/build}
debs=$build/cache/debs
tree=$build/kernels/$kver
pkg=linux-image-$kver

die() { echo "fetch-kernel: $*" >&2; exit 1; }

for t in dpkg-deb depmod apt-get flock; do
	command -v "$t" >/dev/null || die "missing tool '$t'"
done
mkdir -p "$debs" "$build/kernels"
# Tests run in parallel may ask for the same kernel; one fetches, the others
# wait and then find the finished tree.
exec 9>"$build/kernels/.$kver.lock"
flock 9

# A tree only counts as complete once it has been renamed into place, which
# happens after depmod; the marker guards against a tree copied in by hand.
if [ -e "$tree/.complete" ]; then
	echo "$tree"
	exit 0
fi
# Leftovers of interrupted runs (we hold the lock, so none is in use).
rm -rf "$build/kernels/.$kver".?????? "$debs/.dl.$kver".??????

ver=${pin[$kver]-}
shopt -s nullglob
if [ -n "$ver" ]; then
	debs_found=("$debs/${pkg}_${ver//:/%3a}_amd64.deb")
	[ -e "${debs_found[0]}" ] || debs_found=()
else
	debs_found=("$debs/${pkg}"_*_amd64.deb)
fi

if [ ${#debs_found[@]} -eq 0 ]; then
	apt_conf=$("$top/tools/apt-private.sh" "$build/apt") || die "cannot set up private apt"
	# apt-get download writes into the current directory; use a scratch
	# directory so an interrupted download never leaves a truncated .deb
	# where the cache lookup above would trust it.
	dl=$(mktemp -d "$debs/.dl.$kver.XXXXXX")
	trap 'rm -rf "$dl"' EXIT
	echo "fetch-kernel: downloading $pkg${ver:+=$ver}" >&2
	(cd "$dl" && APT_CONFIG=$apt_conf apt-get -q download "$pkg${ver:+=$ver}" >&2) ||
		die "apt-get download $pkg${ver:+=$ver} failed"
	got=("$dl"/*.deb)
	[ ${#got[@]} -eq 1 ] || die "expected one .deb from apt-get download, got ${#got[@]}"
	mv "${got[0]}" "$debs/"
	debs_found=("$debs/$(basename "${got[0]}")")
	rm -rf "$dl"
	trap - EXIT
fi
deb=${debs_found[-1]}

tmp=$(mktemp -d "$build/kernels/.$kver.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
dpkg-deb -x "$deb" "$tmp" || die "dpkg-deb -x $deb failed"
[ -e "$tmp/boot/vmlinuz-$kver" ] || die "$deb has no boot/vmlinuz-$kver"
[ -d "$tmp/lib/modules/$kver" ] || die "$deb has no lib/modules/$kver"
depmod -b "$tmp" "$kver" || die "depmod failed for $kver"
touch "$tmp/.complete"
# A stale partial tree from an older layout would block the rename.
rm -rf "$tree"
mv "$tmp" "$tree"
trap - EXIT
echo "$tree"
