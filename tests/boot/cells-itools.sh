#!/bin/bash
# Boot cells for initramfs-tools (Debian 11/12, Ubuntu 20.04/22.04): Debian
# 11's 5.10 kernel (has dax_pmem_compat) in QEMU with a devdax NVDIMM, booting
# a Debian 12 root whose initramfs is built by its own initramfs-tools
# (update-initramfs in a chroot of the root tree), with daxbus installed into
# that root the way a user does (`make install DESTDIR=<root> prefix=/usr`,
# then the opt-in file).  The root tree is booted as an ext4 image.
#
# The cells are functions cell_itools_* that use only tests/boot/lib.sh's
# primitives and the assertion helpers of tests/boot/cells.sh, so any
# scheduler can run them (each sets nothing but `cell` and `seen`).
#   tests/boot/cells-itools.sh --run [CELL...]   run them serially here
# Sourced (without --run) it only defines the functions.
# "A && B || { no_boot ...; return; }" is meant: any failed step is no boot.
# shellcheck disable=SC2015
set -uo pipefail
itools_here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
DAXBUS_CELLS_LIB=1
# shellcheck source=cells.sh
. "$itools_here/cells.sh"
# shellcheck source=../lib/itools-root.sh
. "$itools_here/../lib/itools-root.sh"

ITOOLS_CELLS="itools-baseline itools-initramfs-bus itools-firstboot itools-optout itools-default-modules itools-crashing-helper"
# Modules of the NVDIMM chain and the DAX drivers, nd chain first.
ITOOLS_DAX_MODULES="nfit libnvdimm nd_pmem dax_pmem_core dax_pmem dax_pmem_compat device_dax"
ITOOLS_OPTIN=$'# written by daxbus enable --initramfs: include daxbus in every initramfs\nDAXBUS=y\n'

# A guest hook (tests/boot/guest: /usr/local/lib/daxbus-guest.d/*.sh, stdout
# copied into the report): the ext4 remounts of the root and the console
# lines of udevd's start, with their kernel timestamps.
_itools_guest_hook() {
	cat <<'EOF'
dmesg | sed -n 's/^\[ *\([0-9.]*\)\] EXT4-fs (vda): \(.*\)/ext4_vda=\1 \2/p'
dmesg | sed -n 's/^\[ *\([0-9.]*\)\] .*starting version.*/udevd_start_ts=\1/p' | head -n1
EOF
}

# itools_tree CELL [OPTIN] -> path of a fresh root tree for CELL with daxbus
# installed (and opted in when OPTIN=y).  The initramfs is built later by
# itools_update_initramfs, once the cell has set up its configuration.
itools_tree() {
	local c=$1 optin=${2-y} t=$BOOT_DIR/$1/root
	itools_root_copy "$t" >&2 || return 1
	if [ "$optin" != none ]; then
		make -s -C "$BOOT_TOP" install DESTDIR="$t" prefix=/usr >"$BOOT_DIR/$c/install.log" 2>&1 ||
			{ boot_log "$c: make install failed, see $BOOT_DIR/$c/install.log"; return 1; }
	fi
	[ "$optin" = y ] && printf '%s' "$ITOOLS_OPTIN" >"$t/etc/initramfs-tools/conf.d/daxbus"
	mkdir -p "$t/usr/local/lib/daxbus-guest.d"
	_itools_guest_hook >"$t/usr/local/lib/daxbus-guest.d/itools.sh"
	echo "$t"
}

# itools_update_initramfs TREE CELL [update-initramfs args]: the image the
# root's own initramfs-tools builds; prints its path.
itools_update_initramfs() {
	local t=$1 c=$2 img
	shift 2
	[ $# -gt 0 ] || set -- -c -k "$ITOOLS_KVER"
	img=$t/boot/initrd.img-$ITOOLS_KVER
	itools_chroot "$t" update-initramfs "$@" >"$BOOT_DIR/$c/update-initramfs.log" 2>&1 && [ -s "$img" ] ||
		{ boot_log "$c: update-initramfs $* failed, see $BOOT_DIR/$c/update-initramfs.log"; return 1; }
	itools_chroot "$t" lsinitramfs "/boot/initrd.img-$ITOOLS_KVER" >"$BOOT_DIR/$c/initrd.list" 2>/dev/null
	# The run order fixed in the image (unmkinitramfs is initramfs-tools').
	rm -rf "$t/tmp/unpacked"
	if itools_chroot "$t" unmkinitramfs "/boot/initrd.img-$ITOOLS_KVER" /tmp/unpacked 2>/dev/null; then
		local step
		for step in init-top init-bottom; do
			cp "$t/tmp/unpacked/scripts/$step/ORDER" "$BOOT_DIR/$c/ORDER.$step" 2>/dev/null
		done
	fi
	rm -rf "$t/tmp/unpacked"
	cp "$img" "$BOOT_DIR/$c/initrd.img"
	echo "$BOOT_DIR/$c/initrd.img"
}

# itools_boot CELL TREE INITRD [APPEND]: ext4 image of TREE, a fresh NVDIMM, boot
itools_boot() {
	local c=$1 t=$2 img=$3 append=${4-} nv=$BOOT_DIR/$1/nvdimm.img
	boot_mkfs_tree "$t" "$BOOT_DIR/$c/disk.img" >&2 || return 1
	rm -rf "$t"
	boot_nvdimm "$nv" >&2 || return 1
	boot_run "$c" "$ITOOLS_KVER" "$img" "$BOOT_DIR/$c/disk.img" "$nv" "$append" >&2
	local rc=$?
	rm -f "$BOOT_DIR/$c/disk.img"
	return $rc
}

# The DAX modules in the image (from its lsinitramfs listing), space separated.
itools_image_dax_modules() {
	local m found=""
	for m in $ITOOLS_DAX_MODULES; do
		grep -q "/$m\.ko" "$BOOT_DIR/$cell/initrd.list" && found="$found $m"
	done
	echo "${found# }"
}

# On the serial console, the early step's last line comes before udevd's
# "starting version" line (initramfs-tools starts udevd in init-top/udev).
itools_expect_before_udevd() {
	local log=$BOOT_DIR/$cell/console.log done_at udevd_at
	done_at=$(sed 's/\x1b\[[0-9;]*m//g' "$log" | grep -n -m1 'daxbus: early step done' | cut -d: -f1)
	udevd_at=$(sed 's/\x1b\[[0-9;]*m//g' "$log" | grep -n -m1 -i 'starting version' | cut -d: -f1)
	if [ -z "$done_at" ] || [ -z "$udevd_at" ]; then
		seen+=("console lacks the early step (line ${done_at:-none}) or udevd's start (line ${udevd_at:-none})")
	elif [ "$done_at" -ge "$udevd_at" ]; then
		seen+=("early step done at console line $done_at, udevd started at line $udevd_at")
	fi
}

# The image's ORDER files (saved by itools_update_initramfs) put daxbus
# before udev, in init-top and in init-bottom.
itools_expect_order() {
	local step a b f
	for step in init-top init-bottom; do
		f=$BOOT_DIR/$cell/ORDER.$step
		a=$(grep -n "/scripts/$step/daxbus " "$f" 2>/dev/null | cut -d: -f1 | head -n1)
		b=$(grep -n "/scripts/$step/udev " "$f" 2>/dev/null | cut -d: -f1 | head -n1)
		if [ -z "$a" ] || [ -z "$b" ] || [ "$a" -ge "$b" ]; then
			seen+=("$step ORDER: daxbus at line ${a:-none}, udev at line ${b:-none}")
		fi
	done
}

# The kernel log shows the root remounted rw and ro again by the helper
# before the real root's systemd started: two ext4 remounts of vda then.
itools_expect_ro_again() {
	local root_ts n
	root_ts=$(r root_systemd_ts)
	n=$(grep '^ext4_vda=' "$BOOT_DIR/$cell/report.txt" | grep 're-mounted' |
		awk -v t="$root_ts" '{ split($1, a, "="); if (a[2] + 0 < t + 0) n++ } END { print n + 0 }')
	[ "$n" = 2 ] || seen+=("ext4 remounts of the root in the initramfs: $n (want 2: rw, then ro)")
}

# --- the cells ----------------------------------------------------------------

# No daxbus at all: the harness sees the compat model (and can fail).
cell_itools_baseline() {
	local t img
	t=$(itools_tree "$cell" none) && img=$(itools_update_initramfs "$t" "$cell") &&
		itools_boot "$cell" "$t" "$img" || { no_boot "no boot report"; return; }
	compat_model
	no_policy_files
	expect_no_kmsg
	grep -q 'daxbus' "$BOOT_DIR/$cell/initrd.list" && seen+=("daxbus in the image")
	return 0
}

# DAX drivers in the image (/etc/initramfs-tools/modules): dax_pmem loads in
# the initramfs, the early step runs before udevd.
cell_itools_initramfs_bus() {
	local t img m
	t=$(itools_tree "$cell") || { no_boot "no root tree"; return; }
	rm -f "$t/etc/initramfs-tools/modules"
	{
		echo "# daxbus boot test: the NVDIMM chain and the DAX drivers"
		for m in $ITOOLS_DAX_MODULES; do echo "$m"; done
	} >"$t/etc/initramfs-tools/modules"
	img=$(itools_update_initramfs "$t" "$cell") &&
		itools_boot "$cell" "$t" "$img" "$APPEND_DEBUG" || { no_boot "no boot report"; return; }
	[ "$(itools_image_dax_modules)" = "$ITOOLS_DAX_MODULES" ] ||
		seen+=("image has DAX modules: $(itools_image_dax_modules)")
	bus_model
	itools_expect_order
	itools_expect_before_udevd
	expect_loaded_in dax_pmem initramfs
	expect_kmsg "daxbus: runtime policy installed in /run/modprobe.d/daxctl.conf"
	expect_kmsg "daxbus: kernel $ITOOLS_KVER in the initramfs: compat"
	expect_kmsg "daxbus: nd:t7 now resolves to dax_pmem in the initramfs"
	expect conf./run/modprobe.d/daxctl.conf "file:$POLICY_SHA"
	expect conf./etc/modprobe.d/daxctl.conf "file:$POLICY_SHA"
}

# DAX drivers only in the root (Debian's defaults), root mounted ro: bus
# model at the first boot, policy persisted, root ro again before run-init.
cell_itools_firstboot() {
	local t img
	t=$(itools_tree "$cell") && img=$(itools_update_initramfs "$t" "$cell") &&
		itools_boot "$cell" "$t" "$img" "$APPEND_DEBUG" || { no_boot "no boot report"; return; }
	itools_image_dax_modules | tr ' ' '\n' | grep -q -x -e dax_pmem -e dax_pmem_compat &&
		seen+=("image has DAX drivers: $(itools_image_dax_modules)")
	bus_model
	itools_expect_order
	expect_loaded_in dax_pmem root
	expect conf./etc/modprobe.d/daxctl.conf "file:$POLICY_SHA"
	expect conf./run/modprobe.d/daxctl.conf "file:$POLICY_SHA"
	expect_kmsg "daxbus: runtime policy installed in /run/modprobe.d/daxctl.conf"
	expect_kmsg "daxbus: remounted /root read-write for the write"
	expect_kmsg "daxbus: policy persisted in /root/etc/modprobe.d/daxctl.conf"
	expect_kmsg "daxbus: remounted /root read-only again"
	itools_expect_ro_again
	expect_status "policy: enabled (/etc/modprobe.d/daxctl.conf)"
}

# rd.daxbus=0: compat model, nothing written anywhere.
cell_itools_optout() {
	local t img
	t=$(itools_tree "$cell") && img=$(itools_update_initramfs "$t" "$cell") &&
		itools_boot "$cell" "$t" "$img" "rd.daxbus=0" || { no_boot "no boot report"; return; }
	compat_model
	no_policy_files
	expect_kmsg "daxbus: disabled by rd.daxbus=0: no policy installed"
	expect_kmsg "daxbus: disabled by rd.daxbus=0: root left untouched"
}

# The user's recipe on an installed system: the kernel package's own image
# exists, daxbus is installed and opted in, `update-initramfs -u` rebuilds it
# with Debian's defaults (MODULES=most).  Records the DAX modules in it.
cell_itools_default_modules() {
	local t img mods
	t=$(itools_tree "$cell" none) &&
		itools_update_initramfs "$t" "$cell" >/dev/null &&
		make -s -C "$BOOT_TOP" install DESTDIR="$t" prefix=/usr >"$BOOT_DIR/$cell/install.log" 2>&1 &&
		printf '%s' "$ITOOLS_OPTIN" >"$t/etc/initramfs-tools/conf.d/daxbus" &&
		img=$(itools_update_initramfs "$t" "$cell" -u) &&
		grep -q '^MODULES=most$' "$t/etc/initramfs-tools/initramfs.conf" &&
		itools_boot "$cell" "$t" "$img" || { no_boot "no boot report"; return; }
	mods=$(itools_image_dax_modules)
	echo "${mods:-none}" >"$BOOT_DIR/$cell/dax-modules"
	grep -qx 'usr/sbin/daxbus' "$BOOT_DIR/$cell/initrd.list" || seen+=("update-initramfs -u left daxbus out")
	bus_model
	expect conf./etc/modprobe.d/daxctl.conf "file:$POLICY_SHA"
	expect_kmsg "daxbus: runtime policy installed in /run/modprobe.d/daxctl.conf"
}

# A helper that segfaults: the boot reaches the root, compat model, the
# scripts say what happened.
cell_itools_crashing_helper() {
	local t img
	t=$(itools_tree "$cell") || { no_boot "no root tree"; return; }
	rm -f "$t/usr/sbin/daxbus"
	printf '#!/bin/sh\n# stands in for a broken helper\nkill -SEGV $$\n' >"$t/usr/sbin/daxbus"
	chmod 0755 "$t/usr/sbin/daxbus"
	img=$(itools_update_initramfs "$t" "$cell") &&
		itools_boot "$cell" "$t" "$img" || { no_boot "boot blocked: no report"; return; }
	compat_model
	no_policy_files
	expect_kmsg "daxbus: helper failed (status 139); boot continues without the runtime policy"
	expect_kmsg "daxbus: helper failed (status 139); root left as it was"
}

# --- a small serial driver for running these by hand --------------------------

itools_run_cells() {
	local t0
	for cell in "$@"; do
		seen=()
		no_boot_seen=0
		rm -rf "${BOOT_DIR:?}/$cell"
		mkdir -p "$BOOT_DIR/$cell"
		t0=$(boot_now)
		if [ "$(type -t "cell_${cell//-/_}")" != function ]; then
			no_boot "unknown cell (cells: $ITOOLS_CELLS)"
		else
			"cell_${cell//-/_}"
			[ "$no_boot_seen" = 1 ] || verdict
		fi
		[ -e "$BOOT_DIR/$cell/dax-modules" ] && echo "# $cell: DAX modules in the image: $(cat "$BOOT_DIR/$cell/dax-modules")"
		echo "# $cell: wall time $(boot_elapsed "$t0") s"
	done
}

if [ "${1-}" = --run ]; then
	shift
	t_require qemu-system-x86_64 mkfs.ext4 unshare chroot zstd cpio
	boot_setup || { echo "cell setup: FAIL kernels, root tree, NVDIMM or QEMU probe"; fail "boot setup" "see above"; t_done; exit 1; }
	itools_root >/dev/null || { echo "cell setup: FAIL initramfs-tools root"; fail "itools root" "see above"; t_done; exit 1; }
	# shellcheck disable=SC2048,SC2086 # the list is words
	itools_run_cells ${*:-$ITOOLS_CELLS}
	t_done
fi
