# shellcheck shell=bash
# Debian roots with an initramfs generator and a kernel package installed,
# for tests that install daxbus's .deb with dpkg and build images with the
# root's own tools.  Source after tests/boot/lib.sh (it uses BOOT_CACHE,
# boot_rootfs_base and _boot_locked).
#
#   root_variant VARIANT        -> path of the cached tree; never modify it
#   root_copy SRC DST           a hard-link copy of SRC that may be changed
#   root_chroot ROOT CMD...     CMD inside ROOT with /proc, /sys and /dev
#                               mounted in a private mount namespace
#
# Variants dracut and itools are boot_rootfs_base (debootstrapped bookworm
# minbase with systemd, udev, kmod, ndctl, daxctl and the guest agent) plus
#   dracut: Debian's dracut     itools: Debian's initramfs-tools, busybox, zstd
# installed with apt inside the root, plus the bullseye kernel package
# linux-image-$ROOTS_KVER installed with dpkg -i from build/cache/debs, whose
# postinst makes the root's own generator build /boot/initrd.img-$ROOTS_KVER.
# Variants of other Debian releases, each with the dracut that release ships
# (for the dracut generations users run), debootstrapped with dracut and
# given the agent and $ROOTS_KVER's module tree and vmlinuz as
# boot_rootfs_base gets them (no kernel package, so no image is built):
#   dracut051: Debian 11 (bullseye): dracut 051, systemd 247
#   dracut106: Debian 13 (trixie): dracut-ng 106, systemd 257
# Cached in build/boot/cache/root-VARIANT and rebuilt when the recipe, the
# base root or the kernel package changes.  The trees stay bootable (systemd
# and the guest agent are kept) for QEMU boots of their ext4 images.

ROOTS_KVER=${ROOTS_KVER:-5.10.0-32-amd64}

root_variant() {
	local v=${1:?root_variant dracut|itools} base
	case $v in
	dracut | itools) base=$(boot_rootfs_base) || return 1 ;;
	dracut051 | dracut106)
		"$BOOT_TOP/tools/fetch-kernel.sh" "$ROOTS_KVER" >/dev/null || return 1
		_boot_locked "root-$v" _root_release "$v"
		return
		;;
	*) boot_die "root_variant: unknown variant '$v' (dracut, itools, dracut051, dracut106)" || return 1 ;;
	esac
	"$BOOT_TOP/tools/fetch-kernel.sh" "$ROOTS_KVER" >/dev/null || return 1
	_boot_locked "root-$v" _root_variant "$v" "$base"
}

# The Debian release of a variant of another release.
_root_release_suite() {
	case $1 in
	dracut051) echo bullseye ;;
	dracut106) echo trixie ;;
	esac
}

_root_release() {
	local v=$1 suite dst key tmp t0 deb
	suite=$(_root_release_suite "$v")
	dst=$BOOT_CACHE/root-$v
	deb=$(_boot_debootstrap "$suite" dracut) || return 1
	key=$({
		declare -f _boot_rootfs_configure _boot_install_agent _root_release
		echo "$v $suite $ROOTS_KVER $BOOT_FSTAB $BOOT_PRUNE"
		cat "$BOOT_GUEST_SRC/daxbus-guest" "$BOOT_GUEST_SRC/daxbus-guest.service"
		stat -c %Y "$deb/.complete" "$BOOT_BUILD/kernels/$ROOTS_KVER/.complete"
	} | sha256sum | cut -d' ' -f1)
	if [ "$(cat "$dst/.key" 2>/dev/null)" != "$key" ]; then
		t0=$(boot_now)
		rm -rf "$BOOT_CACHE/.root-$v".??????
		tmp=$(mktemp -d "$BOOT_CACHE/.root-$v.XXXXXX")
		if ! cp -a "$deb/." "$tmp/" || ! rm -f "$tmp/.complete" ||
			! _boot_rootfs_configure "$tmp" "$ROOTS_KVER" >"$BOOT_CACHE/root-$v.log" 2>&1 ||
			! install -D -m 0644 "$BOOT_BUILD/kernels/$ROOTS_KVER/boot/vmlinuz-$ROOTS_KVER" "$tmp/boot/vmlinuz-$ROOTS_KVER"; then
			tail -n 20 "$BOOT_CACHE/root-$v.log" >&2
			rm -rf "$tmp"
			boot_die "root-$v: build failed, see $BOOT_CACHE/root-$v.log"
			return 1
		fi
		echo "$key" >"$tmp/.key"
		rm -rf "$dst"
		mv "$tmp" "$dst"
		boot_log "root-$v: ready in $(boot_elapsed "$t0") s ($(du -sh "$dst" | cut -f1))"
	fi
	echo "$dst"
}

# Run CMD in ROOT.  The mounts live only in the private namespace, so they
# vanish with it, whatever happens inside.
root_chroot() {
	local root=${1:?root_chroot ROOT CMD...}
	shift
	unshare --mount --propagation private -- /bin/bash -c '
		r=$1
		shift
		mount -t proc proc "$r/proc" &&
			mount -t sysfs sysfs "$r/sys" &&
			mount --rbind /dev "$r/dev" || exit 1
		exec chroot "$r" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
			HOME=/root LC_ALL=C DEBIAN_FRONTEND=noninteractive "$@"
	' root_chroot "$root" "$@"
}

# Hard links keep the copy cheap, but programs that rewrite a file in place
# (dpkg's log, cp onto an existing image) would write through to the cached
# tree: the directories that package tools and generators write to (about
# 50 MB) are real copies.
root_copy() {
	local src=${1:?root_copy SRC DST} dst=${2:?root_copy SRC DST} d
	rm -rf "$dst"
	mkdir -p "$(dirname "$dst")" && cp -al "$src" "$dst" || return 1
	for d in etc var boot root tmp run; do
		[ -d "$src/$d" ] || continue
		rm -rf "${dst:?}/$d" && cp -a "$src/$d" "$dst/$d" || return 1
	done
}

_root_variant_deb() {
	local debs=("$BOOT_BUILD/cache/debs/linux-image-${ROOTS_KVER}_"*_amd64.deb)
	[ -e "${debs[-1]}" ] || { boot_die "no linux-image-$ROOTS_KVER .deb in $BOOT_BUILD/cache/debs (tools/fetch-kernel.sh)"; return 1; }
	echo "${debs[-1]}"
}

# Everything a variant depends on; a change rebuilds it.
_root_variant_key() {
	local v=$1 base=$2 deb
	deb=$(_root_variant_deb) || return 1
	{
		declare -f _root_variant_configure root_chroot
		echo "$v $ROOTS_KVER $(basename "$deb") $(stat -c %s "$deb")"
		cat "$base/.key"
	} | sha256sum | cut -d' ' -f1
}

_root_variant() {
	local v=$1 base=$2 dst key tmp t0
	dst=$BOOT_CACHE/root-$v
	key=$(_root_variant_key "$v" "$base") || return 1
	if [ "$(cat "$dst/.key" 2>/dev/null)" != "$key" ]; then
		t0=$(boot_now)
		boot_log "root-$v: base root + apt-get install + dpkg -i linux-image-$ROOTS_KVER (a few minutes)"
		rm -rf "$BOOT_CACHE/.root-$v".??????
		tmp=$(mktemp -d "$BOOT_CACHE/.root-$v.XXXXXX")
		# A full copy: apt and dpkg rewrite files that the base shares.
		if ! cp -a "$base/." "$tmp/" || ! rm -f "$tmp/.key" ||
			! _root_variant_configure "$v" "$tmp" >"$BOOT_CACHE/root-$v.log" 2>&1; then
			tail -n 20 "$BOOT_CACHE/root-$v.log" >&2
			rm -rf "$tmp"
			boot_die "root-$v: build failed, see $BOOT_CACHE/root-$v.log"
			return 1
		fi
		echo "$key" >"$tmp/.key"
		rm -rf "$dst"
		mv "$tmp" "$dst"
		boot_log "root-$v: ready in $(boot_elapsed "$t0") s ($(du -sh "$dst" | cut -f1))"
	fi
	echo "$dst"
}

# In a subshell: the trace (for the log) must not leak into the caller.
_root_variant_configure() (
	v=$1 root=$2
	case $v in
	dracut) pkgs="dracut linux-base" ;;
	itools) pkgs="initramfs-tools linux-base busybox zstd" ;;
	esac
	deb=$(_root_variant_deb) || return 1
	# Maintainer scripts must not start daemons inside the chroot.
	printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
	chmod 0755 "$root/usr/sbin/policy-rc.d"
	cp /etc/resolv.conf "$root/etc/resolv.conf"
	set -x
	root_chroot "$root" apt-get -q update || return 1
	# shellcheck disable=SC2086 # a list of packages
	root_chroot "$root" apt-get -q install -y --no-install-recommends $pkgs || return 1
	cp "$deb" "$root/tmp/" || return 1
	root_chroot "$root" dpkg -i "/tmp/$(basename "$deb")" || return 1
	rm -f "$root/tmp/$(basename "$deb")"
	root_chroot "$root" apt-get -q clean
	rm -rf "$root/var/lib/apt/lists/"*
	rm -f "$root/usr/sbin/policy-rc.d"
	# The kernel's postinst ran the root's generator.
	[ -s "$root/boot/initrd.img-$ROOTS_KVER" ] || { echo "no /boot/initrd.img-$ROOTS_KVER after dpkg -i"; return 1; }
	[ -s "$root/boot/vmlinuz-$ROOTS_KVER" ] || { echo "no /boot/vmlinuz-$ROOTS_KVER after dpkg -i"; return 1; }
)
