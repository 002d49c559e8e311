# shellcheck shell=bash
# A Debian root that builds its initramfs with initramfs-tools: the
# `root_variant itools` of tests/lib/roots.sh (the boot tests' cached root
# plus initramfs-tools, busybox and zstd installed with apt in a chroot, and
# Debian 11's linux-image-5.10.0-32-amd64 installed with dpkg, so the
# kernel's full module tree and its postinst run), shared with the package
# tests so that one make check builds it once.  initramfs-tools' own
# defaults stay (Debian 12: MODULES=most, COMPRESS=zstd).  Source after
# tests/boot/lib.sh.
#
#   itools_root            -> path of the cached tree; never modify it
#   itools_root_copy DST   a private copy of it to change and build in,
#                          without the image the kernel's postinst built
#                          (the tests build their own; update-initramfs -c
#                          refuses to replace one)
#   itools_chroot ROOT CMD...   run CMD in ROOT with /proc, /sys, /dev
#                               mounted in a private mount namespace

# shellcheck source=roots.sh
. "$(dirname "${BASH_SOURCE[0]}")/roots.sh"

ITOOLS_KVER=$ROOTS_KVER

itools_chroot() {
	local root=$1
	shift
	# shellcheck disable=SC2016 # expanded by the inner shell
	unshare -m --propagation private sh -c '
		r=$1; shift
		mount -t proc proc "$r/proc" && mount -t sysfs sysfs "$r/sys" &&
			mount --rbind /dev "$r/dev" || exit 99
		exec chroot "$r" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
			DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 "$@"
	' sh "$root" "$@"
}

itools_root() { root_variant itools; }

itools_root_copy() {
	local dst=$1 src
	src=$(itools_root) || return 1
	root_copy "$src" "$dst" || return 1
	rm -f "$dst/.key" "$dst/boot/initrd.img-$ITOOLS_KVER"
}
