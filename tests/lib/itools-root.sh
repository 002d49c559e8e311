# shellcheck shell=bash
# A Debian root that builds its initramfs with initramfs-tools: the boot
# tests' cached root (tests/boot/lib.sh, boot_rootfs_base) plus, installed in
# a chroot the way a user would, initramfs-tools (with busybox and zstd) and
# Debian 11's linux-image-5.10.0-32-amd64 package (the cached .deb of
# tools/fetch-kernel.sh, so the kernel's full module tree and its postinst
# run).  initramfs-tools' own defaults stay (Debian 12: MODULES=most,
# COMPRESS=zstd).  Cached in build/boot/cache/itools-root, keyed and locked; never
# modify it in place: copy it with `cp -al` and replace files, never write
# into them.  Source after tests/boot/lib.sh.
#
#   itools_root            -> path of the cached tree
#   itools_root_copy DST   a private copy of it to change and build in
#   itools_chroot ROOT CMD...   run CMD in ROOT with /proc, /sys, /dev
#                               mounted in a private mount namespace
#
# (Another helper writes tests/lib/roots.sh with `root_variant itools`; this
# is kept small so the two can be unified.)

ITOOLS_KVER=${ITOOLS_KVER:-$BOOT_KVER_COMPAT}
ITOOLS_PKGS="initramfs-tools busybox zstd"

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

# /usr (the bulk) is hard-linked: tools that change it (dpkg, depmod, make
# install) replace files rather than write into them.  /etc, /var and /boot
# are real copies: update-initramfs rewrites its state file in
# /var/lib/initramfs-tools in place, and the tests edit /etc.
itools_root_copy() {
	local dst=$1 src
	src=$(itools_root) || return 1
	rm -rf "$dst"
	mkdir -p "$dst"
	cp -al "$src/." "$dst/" || return 1
	rm -rf "${dst:?}/etc" "${dst:?}/var" "${dst:?}/boot" "$dst/.key"
	cp -a "$src/etc" "$src/var" "$src/boot" "$dst/"
}

_itools_deb() {
	local d=$BOOT_BUILD/cache/debs f
	"$BOOT_TOP/tools/fetch-kernel.sh" "$ITOOLS_KVER" >/dev/null || return 1
	for f in "$d/linux-image-${ITOOLS_KVER}_"*_amd64.deb; do
		[ -e "$f" ] && { echo "$f"; return 0; }
	done
	boot_die "no cached linux-image-$ITOOLS_KVER .deb in $d"
}

_itools_root_key() {
	local base=$1 deb=$2
	{
		cat "$base/.key"
		declare -f itools_chroot _itools_root_build
		echo "$ITOOLS_PKGS $ITOOLS_KVER"
		sha256sum <"$deb"
	} | sha256sum | cut -d' ' -f1
}

itools_root() {
	local base deb
	base=$(boot_rootfs_base) || return 1
	deb=$(_itools_deb) || return 1
	_boot_locked itools-root _itools_root_cached "$base" "$deb"
}

_itools_root_cached() {
	local base=$1 deb=$2 dst=$BOOT_CACHE/itools-root key tmp
	key=$(_itools_root_key "$base" "$deb")
	if [ "$(cat "$dst/.key" 2>/dev/null)" != "$key" ]; then
		boot_log "itools root: installing $ITOOLS_PKGS and $(basename "$deb") in a chroot (a few minutes)"
		tmp=$(mktemp -d "$BOOT_CACHE/.itools-root.XXXXXX")
		if ! _itools_root_build "$base" "$deb" "$tmp" >"$BOOT_CACHE/itools-root.log" 2>&1; then
			tail -n 20 "$BOOT_CACHE/itools-root.log" >&2
			rm -rf "$tmp"
			boot_die "itools root: build failed, see $BOOT_CACHE/itools-root.log"
			return 1
		fi
		echo "$key" >"$tmp/.key"
		rm -rf "$dst"
		mv "$tmp" "$dst"
	fi
	echo "$dst"
}

_itools_root_build() {
	local base=$1 deb=$2 r=$3
	# /usr and the module trees are hard links to the base tree: dpkg
	# replaces files by renaming new ones over them, which leaves the base's
	# inodes alone.  /etc and /var get appended to in place (logs, dpkg's
	# database), so they are real copies.
	cp -al "$base/." "$r/" || return 1
	rm -rf "${r:?}/etc" "${r:?}/var" "$r/.key"
	cp -a "$base/etc" "$base/var" "$r/" || return 1
	cp --remove-destination /etc/resolv.conf "$r/etc/resolv.conf" || return 1
	printf '#!/bin/sh\nexit 101\n' >"$r/usr/sbin/policy-rc.d" && chmod 0755 "$r/usr/sbin/policy-rc.d"
	cp "$deb" "$r/tmp/" || return 1
	# shellcheck disable=SC2086 # a list of packages
	itools_chroot "$r" apt-get -q update &&
		itools_chroot "$r" apt-get -q install -y --no-install-recommends $ITOOLS_PKGS &&
		itools_chroot "$r" apt-get -q install -y --no-install-recommends "/tmp/$(basename "$deb")" ||
		return 1
	rm -f "$r/usr/sbin/policy-rc.d" "$r/tmp/$(basename "$deb")" "$r/etc/resolv.conf"
	rm -rf "$r"/var/lib/apt/lists/* "$r"/var/cache/apt/archives/*.deb
	# The kernel's postinst built an image; the tests build their own.
	rm -f "$r/boot/initrd.img-$ITOOLS_KVER"
	# Nothing may be opted in yet.
	[ ! -e "$r/etc/initramfs-tools/conf.d/daxbus" ]
}
