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
if [ -z "${DAXBUS_CELLS_LOADED-}" ]; then
	export DAXBUS_CELLS_LIB=1
	# shellcheck source=cells.sh
	. "$itools_here/cells.sh"
fi
# shellcheck source=../lib/itools-root.sh
. "$itools_here/../lib/itools-root.sh"

ITOOLS_CELLS="itools-baseline itools-firstboot itools-initramfs-bus itools-optout itools-crashing-helper itools-default-modules"
# Modules of the NVDIMM chain and the DAX drivers, nd chain first.
ITOOLS_DAX_MODULES="nfit libnvdimm nd_pmem dax_pmem_core dax_pmem dax_pmem_compat device_dax"
ITOOLS_OPTIN=$'# written by daxbus enable --initramfs: include daxbus in every initramfs\nDAXBUS=y\n'

# A guest hook (tests/boot/guest: /usr/local/lib/daxbus-guest.d/*.sh, stdout
# copied into the report): the root's ext4 mount and remounts, with their
# kernel timestamps.
_itools_guest_hook() {
	cat <<'EOF'
dmesg | sed -n 's/^\[ *\([0-9.]*\)\] EXT4-fs (vda): \(.*\)/ext4_vda=\1 \2/p'
EOF
}

# Everything the cells boot is built once per run (BOOT_RUN_ID), under a
# lock, in $ITOOLS_SHARED; the image builds run in parallel (a Debian 5.10
# MODULES=most image takes minutes under TCG-level load):
#   plain/   root without daxbus; initrd.img = update-initramfs -c (baseline)
#   optin/   root with `make install DESTDIR=<root> prefix=/usr` and the opt-in
#            file; initrd.img = update-initramfs -c with Debian's defaults,
#            initrd-dax.img = mkinitramfs with the DAX drivers listed in the
#            modules file of a copy of /etc/initramfs-tools,
#            initrd-crash.img = mkinitramfs with DAXBUS_HELPER pointing at a
#            helper that segfaults
#   */disk.img   ext4 image of the root (boot_mkfs_tree); cells boot copies
# Each image has NAME.list (lsinitramfs) and NAME.ORDER.{init-top,init-bottom}.
ITOOLS_SHARED=$BOOT_DIR/itools-shared

itools_prepare() {
	_boot_locked itools-shared _itools_prepare
}

_itools_prepare() {
	local d=$ITOOLS_SHARED
	[ "$(cat "$d/.run" 2>/dev/null)" = "$BOOT_RUN_ID" ] && return 0
	rm -rf "$d"
	mkdir -p "$d"
	boot_log "itools: building the roots and images (parallel)"
	_itools_prepare_plain >"$d/plain.log" 2>&1 &
	local p1=$!
	_itools_prepare_optin >"$d/optin.log" 2>&1
	local rc=$?
	wait "$p1" || rc=1
	if [ "$rc" != 0 ]; then
		tail -n 15 "$d/plain.log" "$d/optin.log" >&2
		boot_die "itools: preparing the roots or images failed, see $d/*.log"
		return 1
	fi
	echo "$BOOT_RUN_ID" >"$d/.run"
}

# _itools_image TREE NAME CMD...: run CMD (builds /boot/NAME.img in TREE),
# then keep it with its lsinitramfs listing and ORDER files.
_itools_image() {
	local t=$1 name=$2 out step
	shift 2
	out=$(dirname "$t")/$name
	itools_chroot "$t" "$@" || return 1
	[ -s "$t/boot/$name.img" ] || { echo "no /boot/$name.img"; return 1; }
	itools_chroot "$t" lsinitramfs "/boot/$name.img" >"$out.list" || return 1
	rm -rf "$t/tmp/$name.d"
	itools_chroot "$t" unmkinitramfs "/boot/$name.img" "/tmp/$name.d" || return 1
	for step in init-top init-bottom; do
		cp "$t/tmp/$name.d/scripts/$step/ORDER" "$out.ORDER.$step" || return 1
	done
	rm -rf "$t/tmp/$name.d"
	mv "$t/boot/$name.img" "$out.img"
}

_itools_prepare_plain() {
	local t=$ITOOLS_SHARED/plain/root
	itools_root_copy "$t" && _itools_guest_hook >"$t/usr/local/lib/daxbus-guest.d/itools.sh" &&
		_itools_image "$t" initrd sh -c "update-initramfs -c -k $ITOOLS_KVER && mv /boot/initrd.img-$ITOOLS_KVER /boot/initrd.img" &&
		boot_mkfs_tree "$t" "$ITOOLS_SHARED/plain/disk.img" && rm -rf "$t"
}

_itools_prepare_optin() {
	local t=$ITOOLS_SHARED/optin/root m pids=() p rc=0
	itools_root_copy "$t" || return 1
	make -s -C "$BOOT_TOP" install DESTDIR="$t" prefix=/usr || return 1
	printf '%s' "$ITOOLS_OPTIN" >"$t/etc/initramfs-tools/conf.d/daxbus"
	_itools_guest_hook >"$t/usr/local/lib/daxbus-guest.d/itools.sh"
	# DAX drivers in the image: the modules file of a private confdir
	cp -a "$t/etc/initramfs-tools" "$t/tmp/conf-dax"
	rm -f "$t/tmp/conf-dax/modules"
	for m in $ITOOLS_DAX_MODULES; do echo "$m"; done >"$t/tmp/conf-dax/modules"
	printf '#!/bin/sh\n# stands in for a broken helper\nkill -SEGV $$\n' >"$t/tmp/crashing-helper"
	chmod 0755 "$t/tmp/crashing-helper"
	_itools_image "$t" initrd sh -c "update-initramfs -c -k $ITOOLS_KVER && mv /boot/initrd.img-$ITOOLS_KVER /boot/initrd.img" &
	pids+=($!)
	_itools_image "$t" initrd-dax mkinitramfs -d /tmp/conf-dax -o /boot/initrd-dax.img "$ITOOLS_KVER" &
	pids+=($!)
	_itools_image "$t" initrd-crash env DAXBUS_HELPER=/tmp/crashing-helper mkinitramfs -o /boot/initrd-crash.img "$ITOOLS_KVER" &
	pids+=($!)
	for p in "${pids[@]}"; do
		wait "$p" || rc=1
	done
	[ "$rc" = 0 ] || return 1
	grep -q '^MODULES=most$' "$t/etc/initramfs-tools/initramfs.conf" || { echo "not Debian's default MODULES=most"; return 1; }
	rm -rf "$t/tmp/conf-dax" "$t/tmp/crashing-helper"
	boot_mkfs_tree "$t" "$ITOOLS_SHARED/optin/disk.img" && rm -rf "$t"
}

# itools_boot ROOT(plain|optin) IMAGE [APPEND]: boots a copy of that root's
# disk with that image for $cell; keeps the image's listing and ORDER files
# in the cell's directory.
itools_boot() {
	local which=$1 name=$2 append=${3-} d=$BOOT_DIR/$cell step
	itools_prepare || return 1
	cp "$ITOOLS_SHARED/$which/$name.list" "$d/initrd.list" &&
		for step in init-top init-bottom; do
			cp "$ITOOLS_SHARED/$which/$name.ORDER.$step" "$d/ORDER.$step" || return 1
		done &&
		cp --sparse=always "$ITOOLS_SHARED/$which/disk.img" "$d/disk.img" &&
		boot_nvdimm "$d/nvdimm.img" >&2 || return 1
	boot_run "$cell" "$ITOOLS_KVER" "$ITOOLS_SHARED/$which/$name.img" "$d/disk.img" "$d/nvdimm.img" "$append" >&2
	local rc=$?
	rm -f "$d/disk.img"
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
# "Starting systemd-udevd version N" (initramfs-tools starts udevd in
# init-top/udev; udevd prints that line to the console, not to the kernel
# log).
itools_expect_before_udevd() {
	local log=$BOOT_DIR/$cell/console.log done_at udevd_at
	done_at=$(sed 's/\x1b\[[0-9;]*m//g' "$log" | grep -n -m1 'daxbus: early step done' | cut -d: -f1)
	udevd_at=$(sed 's/\x1b\[[0-9;]*m//g' "$log" | grep -n -m1 -E 'Starting (systemd-udevd )?version' | cut -d: -f1)
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
	[ -n "${ITOOLS_SCHED-}" ] || itools_boot plain initrd || { no_boot "no boot report"; return; }
	compat_model
	no_policy_files
	expect_no_kmsg
	grep -q 'daxbus' "$BOOT_DIR/$cell/initrd.list" && seen+=("daxbus in the image")
	return 0
}

# DAX drivers in the image (listed in the modules file): dax_pmem loads in
# the initramfs, the early step runs before udevd.
cell_itools_initramfs_bus() {
	[ -n "${ITOOLS_SCHED-}" ] || itools_boot optin initrd-dax "$APPEND_DEBUG rd.daxbus.debug" || { no_boot "no boot report"; return; }
	[ "$(itools_image_dax_modules)" = "$ITOOLS_DAX_MODULES" ] ||
		seen+=("image has DAX modules: $(itools_image_dax_modules)")
	bus_model
	itools_expect_order
	itools_expect_before_udevd
	expect_loaded_in dax_pmem initramfs
	expect_kmsg "daxbus: runtime policy installed in /run/modprobe.d/daxctl.conf"
	expect_kmsg "daxbus: kernel $ITOOLS_KVER in the initramfs: compat"
	expect_kmsg "daxbus: nd:t7 resolves to dax_pmem with the initramfs's configuration"
	expect conf./run/modprobe.d/daxctl.conf "file:$POLICY_SHA"
	expect conf./etc/modprobe.d/daxctl.conf "file:$POLICY_SHA"
}

# DAX drivers only in the root (Debian's defaults), root mounted ro: bus
# model at the first boot, policy persisted, root ro again before run-init.
cell_itools_firstboot() {
	[ -n "${ITOOLS_SCHED-}" ] || itools_boot optin initrd "$APPEND_DEBUG rd.daxbus.debug" || { no_boot "no boot report"; return; }
	itools_image_dax_modules | tr ' ' '\n' | grep -q -x -e dax_pmem -e dax_pmem_compat &&
		seen+=("image has DAX drivers: $(itools_image_dax_modules)")
	bus_model
	itools_expect_order
	itools_expect_before_udevd
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
	[ -n "${ITOOLS_SCHED-}" ] || itools_boot optin initrd "rd.daxbus=0" || { no_boot "no boot report"; return; }
	compat_model
	no_policy_files
	expect_kmsg "daxbus: disabled by rd.daxbus=0: no policy installed"
	expect_kmsg "daxbus: disabled by rd.daxbus=0: root left untouched"
}

# The image exactly as update-initramfs builds it with Debian's defaults
# (MODULES=most), no debugging options: bus model.  Records the DAX modules
# that default puts in the image.
cell_itools_default_modules() {
	[ -n "${ITOOLS_SCHED-}" ] || itools_boot optin initrd || { no_boot "no boot report"; return; }
	local mods
	mods=$(itools_image_dax_modules)
	echo "${mods:-none}" >"$BOOT_DIR/$cell/dax-modules"
	grep -qx 'usr/sbin/daxbus' "$BOOT_DIR/$cell/initrd.list" || seen+=("update-initramfs left daxbus out")
	bus_model
	expect conf./etc/modprobe.d/daxctl.conf "file:$POLICY_SHA"
	expect_kmsg "daxbus: runtime policy installed in /run/modprobe.d/daxctl.conf"
}

# A helper that segfaults: the boot reaches the root, compat model, the
# scripts say what happened.
cell_itools_crashing_helper() {
	[ -n "${ITOOLS_SCHED-}" ] || itools_boot optin initrd-crash || { no_boot "boot blocked: no report"; return; }
	compat_model
	no_policy_files
	expect_kmsg "daxbus: helper failed (status 139); boot continues without the runtime policy"
	expect_kmsg "daxbus: helper failed (status 139); root left as it was"
}

# --- on the boot scheduler (tests/boot/sched.sh), beside the dracut cells ------
# Each cell has a boot of its own name; the disk and the initrd come from the
# shared, once-per-run build above.  ITOOLS_SCHED tells the cell functions
# that the scheduler booted already.
declare -gA ITOOLS_ROOT=([itools-baseline]=plain [itools-initramfs-bus]=optin [itools-firstboot]=optin
	[itools-optout]=optin [itools-default-modules]=optin [itools-crashing-helper]=optin)
declare -gA ITOOLS_IMAGE=([itools-baseline]=initrd [itools-initramfs-bus]=initrd-dax [itools-firstboot]=initrd
	[itools-optout]=initrd [itools-default-modules]=initrd [itools-crashing-helper]=initrd-crash)
itools_sched_disk() {
	local b=$1 out=$2 which=${ITOOLS_ROOT[$1]} name=${ITOOLS_IMAGE[$1]} step
	itools_prepare || return 1
	cp "$ITOOLS_SHARED/$which/$name.list" "$BOOT_DIR/$b/initrd.list" || return 1
	for step in init-top init-bottom; do
		cp "$ITOOLS_SHARED/$which/$name.ORDER.$step" "$BOOT_DIR/$b/ORDER.$step" || return 1
	done
	cp --sparse=always "$ITOOLS_SHARED/$which/disk.img" "$out"
}
itools_sched_initrd() {
	itools_prepare || return 1
	echo "$ITOOLS_SHARED/${ITOOLS_ROOT[$1]}/${ITOOLS_IMAGE[$1]}.img"
}
itools_sched_check() {
	ITOOLS_SCHED=1 "cell_${cell//-/_}"
}
if declare -F sched_boot >/dev/null; then
	for _c in $ITOOLS_CELLS; do
		case $_c in
		itools-initramfs-bus | itools-firstboot) _a="$APPEND_DEBUG rd.daxbus.debug" ;;
		itools-optout) _a="rd.daxbus=0" ;;
		*) _a="" ;;
		esac
		sched_boot "$_c" kver="$ITOOLS_KVER" disk=fn:itools_sched_disk initrd=fn:itools_sched_initrd append="$_a"
		sched_cell "$_c" "$_c" itools_sched_check
	done
	unset _c _a
fi

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
	itools_prepare || { echo "cell setup: FAIL initramfs-tools roots and images"; fail "itools setup" "see above"; t_done; exit 1; }
	# shellcheck disable=SC2048,SC2086 # the list is words
	itools_run_cells ${*:-$ITOOLS_CELLS}
	t_done
fi
