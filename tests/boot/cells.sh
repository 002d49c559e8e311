#!/bin/bash
# The boot matrix: real Debian kernels in QEMU with an emulated NVDIMM
# (devdax namespace), a debootstrapped Debian root mounted `ro`, initramfs
# images built by dracut from the working tree's module and helper.  Each cell
# asserts which nd driver binds the nd dax device, where the DAX device shows
# up in sysfs, the loaded modules, the policy files and the daxbus: kernel log
# lines, and prints `cell NAME: PASS` or `cell NAME: FAIL <what was seen>`.
#
#   tests/boot/cells.sh [CELL...]      default: every cell, in order
# Sourcing it with DAXBUS_CELLS_LIB=1 only defines the functions (make demo).
# "A && B || { no_boot; return; }" is meant: any failed step is no boot.
# shellcheck disable=SC2015
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/t.sh
. "$here/../lib/t.sh"
# shellcheck source=../lib/dracut.sh
. "$here/../lib/dracut.sh"
# shellcheck source=lib.sh
. "$here/lib.sh"

K510=$BOOT_KVER_COMPAT
K61=$BOOT_KVER_BUS
IMGDIR=$BOOT_DIR/initrd
DAX_DRIVERS="dax_pmem dax_pmem_compat dax_pmem_core device_dax"
POLICY_SHA=$(sha256sum <"$POLICY_FILE" | cut -d' ' -f1)
# initcall_debug timestamps every module init (which phase loaded dax_pmem);
# a big log buffer keeps the early lines.
APPEND_DEBUG="initcall_debug log_buf_len=8M"

# --- building blocks --------------------------------------------------------

# initrd NAME KVER FLAVOUR [dracut args...] -> path; built once per run
initrd() {
	local name=$1 kver=$2 flavour=$3 out
	shift 3
	out=$IMGDIR/$name.img
	if [ ! -e "$out.done.$BOOT_RUN_ID" ]; then
		rm -f "$out".done.*
		dracut_build "$out" "$kver" "$flavour" "$@" >&2 || return 1
		touch "$out.done.$BOOT_RUN_ID"
	fi
	echo "$out"
}

# The root every cell boots: the cached Debian tree plus this build's helper
# in /usr/sbin (so the guest can report `daxbus status`).
disk() {
	local out=$1 extra
	extra=$(t_tmp extra)
	install -D -m 0755 "$DAXBUS" "$extra/usr/sbin/daxbus"
	boot_disk_image "$out" "$extra" >&2
	local rc=$?
	rm -rf "$extra"
	return $rc
}

# --- assertions: collect what differs, report once per cell -----------------

seen=()
r() { boot_report_get "$cell" "$1"; }
expect() {
	local got
	got=$(r "$1")
	[ "$got" = "$2" ] || seen+=("$1=${got:-<none>} (want $2)")
}
expect_kmsg() {
	grep -F -- "$1" "$BOOT_DIR/$cell/report.txt" | grep -q '^kmsg=' || seen+=("no kmsg '$1'")
}
expect_no_kmsg() {
	if grep -q '^kmsg=.*daxbus:' "$BOOT_DIR/$cell/report.txt"; then
		seen+=("unexpected daxbus: kmsg lines: $(grep -c '^kmsg=.*daxbus:' "$BOOT_DIR/$cell/report.txt")")
	fi
}
expect_status() {
	grep -F -- "$1" "$BOOT_DIR/$cell/report.txt" | grep -q '^status=' || seen+=("daxbus status lacks '$1'")
}
# module loaded before (initramfs) or after (real root) the root's systemd started
expect_loaded_in() {
	local mod=$1 phase=$2 t root
	t=$(r "modinit.$mod")
	root=$(r root_systemd_ts)
	if [ -z "$t" ] || [ "$root" = none ] || [ -z "$root" ]; then
		seen+=("no init timestamp for $mod (modinit=$t, root systemd=$root)")
	elif [ "$phase" = initramfs ] && ! awk -v a="$t" -v b="$root" 'BEGIN{exit !(a < b)}'; then
		seen+=("$mod loaded at $t, after the root's systemd ($root)")
	elif [ "$phase" = root ] && ! awk -v a="$t" -v b="$root" 'BEGIN{exit !(a > b)}'; then
		seen+=("$mod loaded at $t, before the root's systemd ($root)")
	fi
}
# systemd initrd: the early step was done before udevd was started.  After
# journald starts, systemd's own messages leave the kernel log, but the
# serial console carries both, in order: compare positions there.
expect_before_udevd() {
	local log=$BOOT_DIR/$cell/console.log done_at udevd_at
	done_at=$(sed 's/\x1b\[[0-9;]*m//g' "$log" | grep -n -m1 'daxbus: early step done' | cut -d: -f1)
	udevd_at=$(sed 's/\x1b\[[0-9;]*m//g' "$log" | grep -n -m1 'Start.*systemd-udevd\.ser' | cut -d: -f1)
	if [ -z "$done_at" ] || [ -z "$udevd_at" ]; then
		seen+=("console lacks the early step (line ${done_at:-none}) or udevd's start (line ${udevd_at:-none})")
	elif [ "$done_at" -ge "$udevd_at" ]; then
		seen+=("early step done at console line $done_at, udevd started at line $udevd_at")
	fi
}
bus_model() {
	expect nd_dax_active_driver dax_pmem
	expect bus_dax0.0 present
	expect class_dax0.0 absent
	expect module.dax_pmem loaded
	expect module.dax_pmem_compat absent
}
compat_model() {
	expect nd_dax_active_driver dax_pmem_compat
	expect bus_dax0.0 absent
	expect class_dax0.0 present
	expect module.dax_pmem_compat loaded
	expect module.dax_pmem absent
}
no_policy_files() {
	expect conf./etc/modprobe.d/daxctl.conf absent
	expect conf./run/modprobe.d/daxctl.conf absent
}

# boot CELL KVER INITRD DISK [APPEND]: boots and leaves the report; 1 if none
boot() {
	local c=$1 kver=$2 img=$3 dsk=$4 append=${5-} nv
	nv=$BOOT_DIR/$c/nvdimm.img
	boot_nvdimm "$nv" >&2 || return 1
	boot_run "$c" "$kver" "$img" "$dsk" "$nv" "$append" >&2
}

# fresh_boot KVER INITRD [APPEND]: a new root disk for this cell, booted
fresh_boot() {
	disk "$BOOT_DIR/$cell/disk.img" && boot "$cell" "$1" "$2" "$BOOT_DIR/$cell/disk.img" "${3-}"
}

# The image several cells share: daxbus in, the DAX drivers left to the real root.
img_daxbus_out() {
	initrd "daxbus-out-$K510-$1" "$K510" "$1" --add daxbus --omit-drivers "$DAX_DRIVERS"
}

verdict() {
	local dir=$BOOT_DIR/$cell
	rm -f "$dir/nvdimm.img"
	if [ ${#seen[@]} -eq 0 ]; then
		echo "cell $cell: PASS ($(cat "$dir/seconds" 2>/dev/null) s)"
		pass "boot cell $cell"
	else
		echo "cell $cell: FAIL $(printf '%s; ' "${seen[@]}")"
		fail "boot cell $cell" "report: $dir/report.txt"
	fi
}

no_boot() {
	no_boot_seen=1
	rm -f "$BOOT_DIR/$cell/nvdimm.img"
	echo "cell $cell: FAIL $1"
	fail "boot cell $cell" "$1"
}

# --- the cells ----------------------------------------------------------------

# 1. The baseline: proves the harness can see the compat model (and fail).
cell_compat_baseline() {
	local img
	img=$(initrd plain-$K510 "$K510" systemd) &&
		fresh_boot "$K510" "$img" "$APPEND_DEBUG" || { no_boot "no boot report"; return; }
	compat_model
	no_policy_files
	expect_no_kmsg
	expect_status "kind:                  compat"
	expect_status "nd:t7 loads:           dax_pmem_compat"
}

# 2. DAX modules in the initramfs: the bus model is already there.
cell_initramfs_bus() {
	local img
	img=$(initrd daxbus-in-$K510 "$K510" systemd --add daxbus --add-drivers "$DAX_DRIVERS") &&
		fresh_boot "$K510" "$img" "$APPEND_DEBUG" || { no_boot "no boot report"; return; }
	bus_model
	expect_before_udevd
	expect_loaded_in dax_pmem initramfs
	expect_kmsg "daxbus: runtime policy installed in /run/modprobe.d/daxctl.conf"
	expect_kmsg "daxbus: kernel $K510 in the initramfs: compat"
	expect_kmsg "daxbus: nd:t7 now resolves to dax_pmem in the initramfs"
	expect conf./run/modprobe.d/daxctl.conf "file:$POLICY_SHA"
	expect conf./etc/modprobe.d/daxctl.conf "file:$POLICY_SHA"
}

# 3./4. DAX modules only in the real root, root mounted ro, both init flavours.
persist_cell() {
	local flavour=$1 img
	img=$(img_daxbus_out "$flavour") &&
		fresh_boot "$K510" "$img" "$APPEND_DEBUG" || { no_boot "no boot report"; return; }
	bus_model
	[ "$flavour" = systemd ] && expect_before_udevd
	expect_loaded_in dax_pmem root
	expect conf./etc/modprobe.d/daxctl.conf "file:$POLICY_SHA"
	expect conf./run/modprobe.d/daxctl.conf "file:$POLICY_SHA"
	expect_kmsg "daxbus: runtime policy installed in /run/modprobe.d/daxctl.conf"
	expect_kmsg "daxbus: kernel $K510 in the root: compat"
	expect_kmsg "daxbus: remounted /sysroot read-write for the write"
	expect_kmsg "daxbus: policy persisted in /sysroot/etc/modprobe.d/daxctl.conf"
	expect_kmsg "daxbus: remounted /sysroot read-only again"
	expect_status "policy: enabled (/etc/modprobe.d/daxctl.conf)"
	expect_status "nd device dax0.1      bound to dax_pmem"
	# the disk is the next cell's starting point
	cp --sparse=always "$BOOT_DIR/$cell/disk.img" "$BOOT_DIR/persisted-disk.img"
}
cell_firstboot_systemd() { persist_cell systemd; }
cell_firstboot_shell() { persist_cell shell; }

# 5. Opt-out: compat model, nothing written anywhere.
cell_optout() {
	local img
	img=$(img_daxbus_out systemd) &&
		fresh_boot "$K510" "$img" "rd.daxbus=0" || { no_boot "no boot report"; return; }
	compat_model
	no_policy_files
	expect_kmsg "daxbus: disabled by rd.daxbus=0: no policy installed"
	expect_kmsg "daxbus: disabled by rd.daxbus=0: root left untouched"
}

# 6. Second boot of the persisted disk, initramfs without daxbus.
cell_second_boot() {
	local img
	[ -e "$BOOT_DIR/persisted-disk.img" ] || { no_boot "needs the disk of cell firstboot-shell or firstboot-systemd"; return; }
	mkdir -p "$BOOT_DIR/$cell"
	cp --sparse=always "$BOOT_DIR/persisted-disk.img" "$BOOT_DIR/$cell/disk.img"
	img=$(initrd plain-$K510 "$K510" systemd) &&
		boot "$cell" "$K510" "$img" "$BOOT_DIR/$cell/disk.img" || { no_boot "no boot report"; return; }
	bus_model
	expect conf./etc/modprobe.d/daxctl.conf "file:$POLICY_SHA"
	expect conf./run/modprobe.d/daxctl.conf absent
	expect_no_kmsg
}

# 7. A kernel without the compat driver.
cell_bus_only_61() {
	local img
	img=$(initrd daxbus-$K61 "$K61" systemd --add daxbus) &&
		fresh_boot "$K61" "$img" || { no_boot "no boot report"; return; }
	expect nd_dax_active_driver dax_pmem
	expect bus_dax0.0 present
	expect class_dax0.0 absent
	expect module.dax_pmem_compat absent
	expect_kmsg "daxbus: kernel $K61 in the root: bus"
	expect_status "kind:                  bus (bus model only: the policy is harmless)"
}

# 8. Installer: enable --root --dracut on the target, its dracut config decides.
cell_installer() {
	local target img list
	target=$(t_tmp installer)/root
	cp -al "$(boot_rootfs_base)" "$target" || { no_boot "cannot copy the root tree"; return; }
	install -D -m 0755 "$DAXBUS" "$target/usr/sbin/daxbus"
	"$DAXBUS" enable --root "$target" --dracut 2>/dev/null || { no_boot "daxbus enable --root --dracut failed"; return; }
	img=$IMGDIR/installer-$K510.img
	DRACUT_CONFDIR=$target/etc/dracut.conf.d DRACUT_KMODDIR=$target/lib/modules/$K510 \
		dracut_build "$img" "$K510" systemd --omit-drivers "$DAX_DRIVERS" >&2 ||
		{ no_boot "dracut with the target's configuration failed: $img.log"; return; }
	list=$(lsinitrd "$img")
	grep -q ' usr/sbin/daxbus$' <<<"$list" || seen+=("module not in the image built from the target's config")
	boot_mkfs_tree "$target" "$BOOT_DIR/$cell/disk.img" >&2 || { no_boot "mkfs of the target failed"; return; }
	rm -rf "$(dirname "$target")"
	boot "$cell" "$K510" "$img" "$BOOT_DIR/$cell/disk.img" || { no_boot "no boot report"; return; }
	bus_model
	expect conf./etc/modprobe.d/daxctl.conf "file:$POLICY_SHA"
	expect_kmsg "daxbus: runtime policy installed"
	expect_kmsg "daxbus: /sysroot/etc/modprobe.d/daxctl.conf already in place"
}

# 9. OSTree-like: runtime policy only, root untouched, still the bus model.
cell_ostree() {
	local img
	img=$(img_daxbus_out systemd) &&
		fresh_boot "$K510" "$img" "ostree=/ostree/boot.1/debian/0" || { no_boot "no boot report"; return; }
	bus_model
	expect conf./etc/modprobe.d/daxctl.conf absent
	expect conf./run/modprobe.d/daxctl.conf "file:$POLICY_SHA"
	expect_kmsg "daxbus: OSTree deployment (ostree= given): runtime policy only"
	expect_status "policy: runtime (/run/modprobe.d/daxctl.conf)"
}

# 10./11. A helper that crashes must not block the boot, in either flavour.
broken_cell() {
	local flavour=$1 img crash
	crash=$BOOT_DIR/$cell/crashing-helper
	printf '#!/bin/sh\n# stands in for a broken helper\nkill -SEGV $$\n' >"$crash"
	chmod +x "$crash"
	img=$(DAXBUS_HELPER=$crash initrd "crashing-$K510-$flavour" "$K510" "$flavour" --add daxbus --omit-drivers "$DAX_DRIVERS") &&
		fresh_boot "$K510" "$img" || { no_boot "boot blocked: no report"; return; }
	compat_model
	no_policy_files
	# the report itself comes from the real root: the boot was not blocked
	[ "$flavour" = shell ] && expect_kmsg "daxbus: helper failed (status 139); boot continues without the runtime policy"
	[ "$flavour" = shell ] && expect_kmsg "daxbus: helper failed (status 139); root left as it was"
	return 0
}
cell_crashing_helper_systemd() { broken_cell systemd; }
cell_crashing_helper_shell() { broken_cell shell; }

ALL_CELLS="compat-baseline initramfs-bus firstboot-systemd firstboot-shell optout second-boot bus-only-61 installer ostree crashing-helper-systemd crashing-helper-shell"

# run_cells CELL... : each cell prints exactly one "cell NAME: ..." line
run_cells() {
	for cell in "$@"; do
		seen=()
		no_boot_seen=0
		rm -rf "${BOOT_DIR:?}/$cell"
		mkdir -p "$BOOT_DIR/$cell"
		if [ "$(type -t "cell_${cell//-/_}")" != function ]; then
			no_boot "unknown cell (cells: $ALL_CELLS)"
			continue
		fi
		"cell_${cell//-/_}"
		[ "$no_boot_seen" = 1 ] || verdict
	done
}

# Everything the cells share, built once: kernels, root tree, NVDIMM, accel.
boot_setup() {
	local t0
	t0=$(boot_now)
	boot_deps >&2 && boot_kernels >&2 && boot_rootfs_base >/dev/null &&
		boot_nvdimm "$BOOT_DIR/.probe-nvdimm.img" && boot_qemu_probe >&2 || return 1
	rm -f "$BOOT_DIR/.probe-nvdimm.img"
	echo "# boot setup took $(boot_elapsed "$t0") s"
}

if [ -z "${DAXBUS_CELLS_LIB-}" ]; then
	t_require qemu-system-x86_64 dracut lsinitrd mkfs.ext4
	boot_setup || { echo "cell setup: FAIL kernels, root tree, NVDIMM or QEMU probe"; fail "boot setup" "see above"; t_done; exit 1; }
	# shellcheck disable=SC2048,SC2086 # the list is words
	run_cells ${*:-$ALL_CELLS}
	t_done
fi
