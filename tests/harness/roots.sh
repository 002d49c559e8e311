# shellcheck shell=bash
# Cached Debian root trees: the boot matrix's disks are made of them, and the
# hermetic tests build images and install packages in copies of them.
#
#   root_debootstrap SUITE [PKGS]   -> a debootstrapped minbase tree of SUITE
#                                      with what the guest agent needs and
#                                      PKGS (comma-separated); the only step
#                                      that needs the network, cached for good
#   boot_rootfs_base                -> the base root: bookworm, the guest
#                                      agent, both pinned kernels' pruned
#                                      module trees, the test fstab
#   root_variant VARIANT            -> a root with more in it (below)
#   root_copy SRC DST               a copy of SRC that may be changed (hard
#                                   links, real copies where tools write)
#   root_chroot ROOT CMD...         CMD inside ROOT with /proc, /sys, /dev in
#                                   a private mount namespace, empty env
#
# Variants (cached in build/boot/cache/root-VARIANT, rebuilt when their
# recipe, base or kernel package changes; never modify them in place):
#   dracut     the base root + Debian 12's dracut, and Debian 11's kernel
#              package linux-image-$ROOTS_KVER installed with dpkg -i (its
#              postinst has the root's own generator build /boot/initrd.img-K)
#   itools     the same with initramfs-tools, busybox and zstd
#   dracut051  Debian 11 (bullseye) debootstrapped with dracut 051 and
#              systemd 247, the agent and $ROOTS_KVER's module tree and
#              vmlinuz (no kernel package: no image is built)
#   dracut106  the same for Debian 13 (trixie): dracut-ng 106, systemd 257
#   ostree     the base root + Debian 12's dracut, ostree and ostree-boot
#              (its 98ostree dracut module, ostree-prepare-root), no kernel
#              package: tests/ostree/ makes deployments of it
#   fleet-dracut, fleet-itools   dracut and itools as hosts Ansible drives:
#              openssh-server, python3, python3-apt, dbus, systemd-networkd
#              at 10.0.2.15 (QEMU user networking); the images the guest
#              builds are its own (hostonly=yes, MODULES=dep; the one the
#              kernel's postinst built in the chroot is generic)
#   cloudinit  itools (MODULES=dep) + Debian 12's cloud-init; the agent runs after
#              cloud-final.service (cloud-init.target), so it reports what
#              the user-data did in the same boot
# shellcheck source=base.sh
. "$(dirname "${BASH_SOURCE[0]}")/base.sh"
[ -n "${HARNESS_ROOTS_LOADED-}" ] && return 0
HARNESS_ROOTS_LOADED=1

ROOTS_KVER=${ROOTS_KVER:-$BOOT_KVER_COMPAT}

# Root of the test disks.  The kernel mounts it read-only (`ro`) and so does
# the initramfs (/sysroot is ro in dracut, as on Debian and Fedora); after
# switch-root systemd-remount-fs applies this fstab and remounts / rw
# (Debian's stock options).  So a step that writes to /sysroot in the
# initramfs must remount it rw itself, and the guest report (which runs
# after local-fs.target) normally shows root_mount=rw.
BOOT_FSTAB='/dev/vda / ext4 errors=remount-ro 0 1'

# Module directories no test VM needs; dropping them halves the trees.
BOOT_PRUNE="drivers/gpu drivers/net/wireless drivers/net/ethernet sound drivers/media drivers/infiniband drivers/staging drivers/iio drivers/bluetooth net/wireless net/bluetooth"

# What every debootstrapped root has, whatever else it gets.
ROOTS_INCLUDE=systemd-sysv,udev,kmod,ndctl,daxctl,e2fsprogs

root_debootstrap() {
	local suite=${1:-bookworm} extra=${2-} dst
	dst=$BOOT_CACHE/debootstrap-$suite${extra:+-${extra//,/-}}
	boot_locked "debootstrap-$suite" _root_debootstrap "$suite" "$extra" "$dst"
}

_root_debootstrap() {
	local suite=$1 extra=$2 dst=$3 tmp uri sources
	[ -e "$dst/.complete" ] && { echo "$dst"; return 0; }
	sources=${DAXBUS_DEBIAN_SOURCES:-/etc/apt/sources.list.d/debian.sources}
	# The archive comes from the machine's own apt configuration so no
	# mirror name is written into the repository.
	uri=$(awk '/^URIs:/ && $2 !~ /security/ { print $2; exit }' "$sources" 2>/dev/null)
	[ -n "$uri" ] || boot_die "no archive URI in $sources" || return 1
	mkdir -p "$BOOT_CACHE"
	rm -rf "$dst".tmp.??????
	tmp=$(mktemp -d "$dst.tmp.XXXXXX")
	boot_log "debootstrap $suite minbase${extra:+ + $extra} (a minute or two)"
	if ! debootstrap --variant=minbase --include="$ROOTS_INCLUDE${extra:+,$extra}" \
		"$suite" "$tmp" "$uri" >"$dst.log" 2>&1; then
		rm -rf "$tmp"
		tail -n 20 "$dst.log" >&2
		boot_die "debootstrap $suite failed, see $dst.log"
		return 1
	fi
	touch "$tmp/.complete"
	rm -rf "$dst"
	mv "$tmp" "$dst"
	echo "$dst"
}

# Run CMD in ROOT.  The mounts live only in the private namespace, so they
# vanish with it, whatever happens inside.  ROOT_CHROOT_MNT=DIR: a host
# directory seen at ROOT's /mnt (a tool of ROOT working on DIR).
root_chroot() {
	local root=${1:?root_chroot ROOT CMD...}
	shift
	# shellcheck disable=SC2016 # expanded by the inner shell
	unshare --mount --propagation private -- /bin/bash -c '
		r=$1 m=$2
		shift 2
		{ [ -z "$m" ] || mount --bind "$m" "$r/mnt"; } &&
			mount -t proc proc "$r/proc" &&
			mount -t sysfs sysfs "$r/sys" &&
			mount --rbind /dev "$r/dev" || exit 99
		exec chroot "$r" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
			HOME=/root LC_ALL=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"
	' root_chroot "$root" "${ROOT_CHROOT_MNT-}" "$@"
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
		if [ ! -d "$src/$d" ] || [ -L "$src/$d" ]; then continue; fi
		rm -rf "${dst:?}/$d" && cp -a "$src/$d" "$dst/$d" || return 1
	done
	rm -f "$dst/.key"
}

# --- the base root -------------------------------------------------------------

# In a copy of a tree: unlink the agent's files before installing them, so
# the original tree's inodes are never written.
_root_install_agent() {
	local root=$1
	rm -f "$root/usr/local/sbin/daxbus-guest" "$root/etc/systemd/system/daxbus-guest.service" \
		"$root/etc/systemd/system/multi-user.target.wants/daxbus-guest.service"
	install -D -m 0755 "$BOOT_GUEST_SRC/daxbus-guest" "$root/usr/local/sbin/daxbus-guest"
	install -D -m 0644 "$BOOT_GUEST_SRC/daxbus-guest.service" "$root/etc/systemd/system/daxbus-guest.service"
	mkdir -p "$root/etc/systemd/system/multi-user.target.wants" \
		"$root/usr/local/lib/daxbus-guest.d" "$root/usr/local/lib/daxbus-guest.pre.d"
	ln -sf ../daxbus-guest.service "$root/etc/systemd/system/multi-user.target.wants/daxbus-guest.service"
}

# _root_configure ROOT [KVERS]: test configuration, the agent and the pruned
# module trees of KVERS (default: both pinned kernels).
_root_configure() {
	local root=$1 kvers=${2:-$BOOT_KVERS} k mods d
	echo daxbus-test >"$root/etc/hostname"
	# A fixed id: an empty /etc/machine-id means "first boot" to systemd,
	# which would start systemd-firstboot prompts on a read-only root.
	echo 5d1b0a7c3e8f4a2b9c6d0e1f2a3b4c5d >"$root/etc/machine-id"
	{
		echo '# Test VM root; see BOOT_FSTAB in tests/harness/roots.sh for ro/rw.'
		echo "$BOOT_FSTAB"
	} >"$root/etc/fstab"
	# Nobody logs in; a getty on the console would only add noise.
	ln -sf /dev/null "$root/etc/systemd/system/serial-getty@.service"
	ln -sf /dev/null "$root/etc/systemd/system/getty@.service"
	rm -f "$root"/etc/systemd/system/timers.target.wants/*
	ln -sf /lib/systemd/system/multi-user.target "$root/etc/systemd/system/default.target"
	_root_install_agent "$root"
	for k in $kvers; do
		# lib/modules: kmod's path, whether /lib is merged into /usr or not
		mods=$root/lib/modules/$k
		mkdir -p "$root/lib/modules"
		# hard links: depmod and dpkg replace files by renaming, never
		# in place, so the kernel tree is never written through them
		cp -al "$BOOT_BUILD/kernels/$k/lib/modules/$k" "$mods" || return 1
		for d in $BOOT_PRUNE; do
			rm -rf "${mods:?}/kernel/$d"
		done
		depmod -b "$root" "$k" || return 1
	done
}

# _root_build NAME KEY BUILDER ARGS...: build/boot/cache/root-NAME, rebuilt
# in a temporary directory by `BUILDER TMP ARGS...` whenever KEY changed.
_root_build() {
	local name=$1 key=$2 dst=$BOOT_CACHE/root-$1 tmp t0
	shift 2
	if [ "$(cat "$dst/.key" 2>/dev/null)" != "$key" ]; then
		t0=$(boot_now)
		boot_log "root-$name: building"
		rm -rf "$BOOT_CACHE/.root-$name".??????
		tmp=$(mktemp -d "$BOOT_CACHE/.root-$name.XXXXXX")
		if ! "$@" "$tmp" >"$BOOT_CACHE/root-$name.log" 2>&1; then
			tail -n 20 "$BOOT_CACHE/root-$name.log" >&2
			rm -rf "$tmp"
			boot_die "root-$name: build failed, see $BOOT_CACHE/root-$name.log"
			return 1
		fi
		echo "$key" >"$tmp/.key"
		rm -rf "$dst"
		mv "$tmp" "$dst"
		boot_log "root-$name: ready in $(boot_elapsed "$t0") s ($(du -sh "$dst" | cut -f1))"
	fi
	echo "$dst"
}

# The key of what a recipe depends on: its functions' text and the inputs named.
_root_key() {
	{
		declare -f _root_configure _root_install_agent "$@" 2>/dev/null
		echo "$BOOT_FSTAB $BOOT_PRUNE $BOOT_KVERS $ROOTS_KVER $ROOTS_INCLUDE"
		cat "$BOOT_GUEST_SRC/daxbus-guest" "$BOOT_GUEST_SRC/daxbus-guest.service"
	} | sha256sum | cut -d' ' -f1
}

boot_rootfs_base() {
	boot_kernels || return 1
	boot_locked rootfs _root_base
}

_root_base() {
	local deb key k
	deb=$(root_debootstrap bookworm) || return 1
	key=$({
		_root_key _root_base_recipe
		for k in $BOOT_KVERS; do stat -c %Y "$BOOT_BUILD/kernels/$k/.complete"; done
		stat -c %Y "$deb/.complete"
	} | sha256sum | cut -d' ' -f1)
	_root_build base "$key" _root_base_recipe "$deb"
}

# Hard links to the debootstrap tree where nothing is written.
_root_base_recipe() {
	local deb=$1 tmp=$2
	root_copy "$deb" "$tmp" && rm -f "$tmp/.complete" && _root_configure "$tmp"
}

# --- variants --------------------------------------------------------------------

root_variant() {
	local v=${1:?root_variant VARIANT}
	"$BOOT_TOP/tools/fetch-kernel.sh" "$ROOTS_KVER" >/dev/null || return 1
	case $v in
	dracut | itools | ostree | fleet-dracut | fleet-itools | cloudinit)
		boot_rootfs_base >/dev/null || return 1
		boot_locked "root-$v" _root_bookworm_variant "$v"
		;;
	dracut051 | dracut106) boot_locked "root-$v" _root_release "$v" ;;
	*) boot_die "root_variant: unknown variant '$v' (dracut, itools, ostree, fleet-dracut, fleet-itools, cloudinit, dracut051, dracut106)" ;;
	esac
}

_root_kernel_deb() {
	local debs=("$BOOT_BUILD/cache/debs/linux-image-${ROOTS_KVER}_"*_amd64.deb)
	[ -e "${debs[-1]}" ] || { boot_die "no linux-image-$ROOTS_KVER .deb in $BOOT_BUILD/cache/debs (tools/fetch-kernel.sh)"; return 1; }
	echo "${debs[-1]}"
}

_root_bookworm_variant() {
	local v=$1 base=$BOOT_CACHE/root-base deb key
	deb=$(_root_kernel_deb) || return 1
	key=$({
		_root_key _root_bookworm_recipe root_chroot
		echo "$v $(basename "$deb") $(stat -c %s "$deb")"
		cat "$base/.key"
	} | sha256sum | cut -d' ' -f1)
	_root_build "$v" "$key" _root_bookworm_recipe "$v" "$base" "$deb"
}

_root_bookworm_recipe() (
	v=$1 base=$2 deb=$3 root=$4
	case $v in
	dracut) pkgs="dracut linux-base" ;;
	itools) pkgs="initramfs-tools linux-base busybox zstd" ;;
	ostree) pkgs="dracut ostree ostree-boot" ;;
	fleet-dracut) pkgs="dracut linux-base openssh-server python3 python3-apt dbus" ;;
	fleet-itools) pkgs="initramfs-tools linux-base busybox zstd openssh-server python3 python3-apt dbus" ;;
	cloudinit) pkgs="initramfs-tools linux-base busybox zstd cloud-init" ;;
	esac
	root_copy "$base" "$root" || exit 1
	# Maintainer scripts must not start daemons inside the chroot.
	printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
	chmod 0755 "$root/usr/sbin/policy-rc.d"
	cp /etc/resolv.conf "$root/etc/resolv.conf"
	set -x
	root_chroot "$root" apt-get -q update || exit 1
	# shellcheck disable=SC2086 # a list of packages
	root_chroot "$root" apt-get -q install -y --no-install-recommends $pkgs || exit 1
	if [ "$v" = ostree ]; then
		# a tree to commit, not a system to boot as it is: no kernel package
		root_chroot "$root" apt-get -q clean
		rm -rf "$root/var/lib/apt/lists/"* "$root/usr/sbin/policy-rc.d"
		exit 0
	fi
	cp "$deb" "$root/tmp/" || exit 1
	root_chroot "$root" dpkg -i "/tmp/$(basename "$deb")" || exit 1
	rm -f "$root/tmp/$(basename "$deb")"
	# The package's modules are byte for byte those of the kernel tree the
	# harness unpacked: hard links to it instead of copies, about 300 MB less
	# on disk per root (dpkg and depmod replace files by renaming, never in
	# place, as for the base root's links)
	hardlink -q -f -i '\.ko$' "$BOOT_BUILD/kernels/$ROOTS_KVER/lib/modules/$ROOTS_KVER" "$root/lib/modules/$ROOTS_KVER" || exit 1
	root_chroot "$root" apt-get -q clean
	rm -rf "$root/var/lib/apt/lists/"*
	rm -f "$root/usr/sbin/policy-rc.d"
	case $v in
	fleet-*)
		mkdir -p "$root/etc/systemd/network" "$root/etc/systemd/system/multi-user.target.wants"
		printf '[Match]\nName=en*\n\n[Network]\nAddress=10.0.2.15/24\nGateway=10.0.2.2\n' \
			>"$root/etc/systemd/network/10-qemu.network"
		ln -sf /lib/systemd/system/systemd-networkd.service \
			"$root/etc/systemd/system/multi-user.target.wants/systemd-networkd.service"
		install -d -m 0700 "$root/root/.ssh"
		# no DNS in the guest: sshd must not wait for reverse lookups
		echo 'UseDNS no' >"$root/etc/ssh/sshd_config.d/daxbus-test.conf"
		;;
	esac
	# Images the guest builds itself are its own (the one the kernel's
	# postinst built in the chroot stays generic): a quarter of the size,
	# minutes less under TCG.
	case $v in
	fleet-dracut)
		echo 'hostonly=yes' >"$root/etc/dracut.conf.d/50-test-hostonly.conf"
		# Debian 12's dracut picks gzip -9: 12 s on this host for the 48 MB
		# hostonly image, over a minute of the guest's rebuild under TCG;
		# gzip -1 takes under a second here.  Passed as a command with its
		# arguments, which dracut runs as it is.
		echo 'compress="gzip -n -1"' >"$root/etc/dracut.conf.d/50-test-compress.conf"
		# Only the installed kernel: `dracut --regenerate-all` builds an
		# image for every tree in /lib/modules, and the base root's other
		# trees (for the harness's own boots) are no kernel of this host.
		# Half the guest's rebuild (about 150 s under TCG) each time.
		for k in "$root"/lib/modules/*; do
			[ "${k##*/}" = "$ROOTS_KVER" ] || rm -rf "$k"
		done
		;;
	fleet-itools | cloudinit) echo 'MODULES=dep' >"$root/etc/initramfs-tools/conf.d/50-test-modules-dep" ;;
	esac
	if [ "$v" = cloudinit ]; then
		mkdir -p "$root/etc/systemd/system/cloud-init.target.wants" "$root/etc/systemd/system/daxbus-guest.service.d"
		mv "$root/etc/systemd/system/multi-user.target.wants/daxbus-guest.service" \
			"$root/etc/systemd/system/cloud-init.target.wants/" || exit 1
		printf '[Unit]\nAfter=cloud-final.service\n' >"$root/etc/systemd/system/daxbus-guest.service.d/after-cloud-init.conf"
		# minbase has no en_US.UTF-8, cloud-init's default locale: C.UTF-8,
		# as a minimal cloud image would say, or its locale module fails
		rm -f "$root/etc/default/locale"
		echo 'LANG=C.UTF-8' >"$root/etc/default/locale"
		echo 'locale: C.UTF-8' >"$root/etc/cloud/cloud.cfg.d/50-daxbus-test.cfg"
	fi
	# The kernel's postinst ran the root's generator.
	[ -s "$root/boot/initrd.img-$ROOTS_KVER" ] || { echo "no /boot/initrd.img-$ROOTS_KVER after dpkg -i"; exit 1; }
	[ -s "$root/boot/vmlinuz-$ROOTS_KVER" ] || { echo "no /boot/vmlinuz-$ROOTS_KVER after dpkg -i"; exit 1; }
)

# The Debian release of a variant of another release.
_root_release_suite() {
	case $1 in
	dracut051) echo bullseye ;;
	dracut106) echo trixie ;;
	esac
}

_root_release() {
	local v=$1 suite deb key
	suite=$(_root_release_suite "$v")
	deb=$(root_debootstrap "$suite" dracut) || return 1
	key=$({
		_root_key _root_release_recipe
		echo "$v $suite"
		stat -c %Y "$deb/.complete" "$BOOT_BUILD/kernels/$ROOTS_KVER/.complete"
	} | sha256sum | cut -d' ' -f1)
	_root_build "$v" "$key" _root_release_recipe "$deb"
}

_root_release_recipe() {
	local deb=$1 tmp=$2
	root_copy "$deb" "$tmp" && rm -f "$tmp/.complete" && _root_configure "$tmp" "$ROOTS_KVER" &&
		install -D -m 0644 "$BOOT_BUILD/kernels/$ROOTS_KVER/boot/vmlinuz-$ROOTS_KVER" "$tmp/boot/vmlinuz-$ROOTS_KVER"
}
