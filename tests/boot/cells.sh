#!/bin/bash
# The boot matrix: real Debian kernels in QEMU with an emulated NVDIMM
# (devdax namespace), a debootstrapped Debian root mounted `ro`, initramfs
# images built by dracut from the working tree's module and helper.  Each cell
# asserts which nd driver binds the nd dax device, where the DAX device shows
# up in sysfs, the loaded modules, the policy files and the daxbus: kernel log
# lines, and prints `cell NAME: PASS (boot BOOT, T s)` or
# `cell NAME: FAIL <what was seen> (boot BOOT, T s)`.
#
# Boots (QEMU runs) and cells (verdicts) are declared separately below and
# run by tests/boot/sched.sh, BOOT_JOBS boots at a time (default 2 on two or
# more CPUs); the API is in tests/boot/lib.sh's header.
#
#   tests/boot/cells.sh [CELL...]   default: every cell of ALL_CELLS; a
#                                   named cell runs the boots it needs
# Sourcing it with DAXBUS_CELLS_LIB=1 only declares (make demo).
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/t.sh
. "$here/../lib/t.sh"
# shellcheck source=../lib/dracut.sh
. "$here/../lib/dracut.sh"
# shellcheck source=lib.sh
. "$here/lib.sh"
# shellcheck source=sched.sh
. "$here/sched.sh"

K510=$BOOT_KVER_COMPAT
K61=$BOOT_KVER_BUS
DAX_DRIVERS="dax_pmem dax_pmem_compat dax_pmem_core device_dax"
POLICY_SHA=$(sha256sum <"$POLICY_FILE" | cut -d' ' -f1)
# initcall_debug timestamps every module init (which phase loaded dax_pmem);
# a big log buffer keeps the early lines.
APPEND_DEBUG="initcall_debug log_buf_len=8M"

# --- assertions: collect what differs, report once per cell -----------------

# The scheduler calls a cell's check with $cell, $boot (whose report the
# helpers read; `on BOOT` switches) and an empty seen=().
# shellcheck disable=SC2154 # boot and cell are set by the scheduler
r() { boot_report_get "$boot" "$1"; }
expect() {
	local got
	got=$(r "$1")
	[ "$got" = "$2" ] || seen+=("$1=${got:-<none>} (want $2)")
}
expect_kmsg() {
	grep -F -- "$1" "$BOOT_DIR/$boot/report.txt" | grep -q '^kmsg=' || seen+=("no kmsg '$1'")
}
expect_no_kmsg() {
	if grep -q '^kmsg=.*daxbus:' "$BOOT_DIR/$boot/report.txt"; then
		seen+=("unexpected daxbus: kmsg lines: $(grep -c '^kmsg=.*daxbus:' "$BOOT_DIR/$boot/report.txt")")
	fi
}
expect_status() {
	grep -F -- "$1" "$BOOT_DIR/$boot/report.txt" | grep -q '^status=' || seen+=("daxbus status lacks '$1'")
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
	local log=$BOOT_DIR/$boot/console.log done_at udevd_at
	done_at=$(sed 's/\x1b\[[0-9;]*m//g' "$log" | grep -n -m1 'daxbus: early step done' | cut -d: -f1)
	# systemd 249 and later name the unit; 247 (Debian 11) only describes
	# it, cut to the console's width ("Starting Rule-based Manage…for ...")
	udevd_at=$(sed 's/\x1b\[[0-9;]*m//g' "$log" | grep -n -m1 -E 'Start.*(systemd-udevd\.ser|Rule-based Manage)' | cut -d: -f1)
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

# --- images (built once per run, by the first boot that needs one) -----------

# A dracut image with the working tree's module and helper (tests/lib/dracut.sh).
sched_image "plain-$K510" dracut_build "$K510" systemd
sched_image "daxbus-in-$K510" dracut_build "$K510" systemd --add daxbus --add-drivers "$DAX_DRIVERS"
# daxbus in, the DAX drivers left to the real root: several boots share it.
sched_image "daxbus-out-$K510-systemd" dracut_build "$K510" systemd --add daxbus --omit-drivers "$DAX_DRIVERS"
sched_image "daxbus-out-$K510-shell" dracut_build "$K510" shell --add daxbus --omit-drivers "$DAX_DRIVERS"
sched_image "daxbus-$K61" dracut_build "$K61" systemd --add daxbus

# crashing_image OUT KVER FLAVOUR [dracut args...]: the module with a helper
# that segfaults in place of the real one.
crashing_image() {
	local out=$1 crash=$1.helper
	shift
	printf '#!/bin/sh\n# stands in for a broken helper\nkill -SEGV $$\n' >"$crash"
	chmod +x "$crash"
	DAXBUS_HELPER=$crash dracut_build "$out" "$@"
}
sched_image "crashing-$K510-systemd" crashing_image "$K510" systemd --add daxbus --omit-drivers "$DAX_DRIVERS"
sched_image "crashing-$K510-shell" crashing_image "$K510" shell --add daxbus --omit-drivers "$DAX_DRIVERS"

# --- boots ----------------------------------------------------------------------

# fresh BOOT key=value...: a boot of a new copy of the cached root with this
# build's helper in /usr/sbin (so the guest can report `daxbus status`).
fresh() {
	local b=$1
	shift
	sched_boot "$b" disk=base "put=$DAXBUS:/usr/sbin/daxbus" "$@"
}

# One boot per cell so far, named after it (build/boot/CELL/report.txt).
fresh compat-baseline kver="$K510" initrd="image:plain-$K510" append="$APPEND_DEBUG"
# rd.daxbus.debug: the steps also log what the kernel's module tree says
fresh initramfs-bus kver="$K510" initrd="image:daxbus-in-$K510" append="$APPEND_DEBUG rd.daxbus.debug"
fresh firstboot-systemd kver="$K510" initrd="image:daxbus-out-$K510-systemd" append="$APPEND_DEBUG rd.daxbus.debug"
fresh firstboot-shell kver="$K510" initrd="image:daxbus-out-$K510-shell" append="$APPEND_DEBUG rd.daxbus.debug"
fresh optout kver="$K510" initrd="image:daxbus-out-$K510-systemd" append="rd.daxbus=0"
# The disk firstboot-shell left behind, booted again without daxbus.
sched_boot second-boot kver="$K510" initrd="image:plain-$K510" disk=after:firstboot-shell
fresh bus-only-61 kver="$K61" initrd="image:daxbus-$K61" append="rd.daxbus.debug"
sched_boot installer kver="$K510" disk=fn:installer_disk initrd=fn:installer_initrd
fresh ostree kver="$K510" initrd="image:daxbus-out-$K510-systemd" append="ostree=/ostree/boot.1/debian/0"
fresh crashing-helper-systemd kver="$K510" initrd="image:crashing-$K510-systemd"
fresh crashing-helper-shell kver="$K510" initrd="image:crashing-$K510-shell"

# The installer boot's disk: a target root where `daxbus enable --root
# --dracut` ran, and beside it the image dracut built from that target's
# own configuration (installer_initrd hands it to the boot).
installer_disk() {
	local b=$1 out=$2 target
	target=$BOOT_DIR/$b/target
	rm -rf "$target"
	cp -al "$(boot_rootfs_base)" "$target" || { boot_die "cannot copy the root tree"; return 1; }
	install -D -m 0755 "$DAXBUS" "$target/usr/sbin/daxbus"
	"$DAXBUS" enable --root "$target" --dracut || { boot_die "daxbus enable --root --dracut failed"; return 1; }
	DRACUT_CONFDIR=$target/etc/dracut.conf.d DRACUT_KMODDIR=$target/lib/modules/$K510 \
		dracut_build "$BOOT_DIR/$b/installer.img" "$K510" systemd --omit-drivers "$DAX_DRIVERS" ||
		{ boot_die "dracut with the target's configuration failed: $BOOT_DIR/$b/installer.img.log"; return 1; }
	boot_mkfs_tree "$target" "$out" || { boot_die "mkfs of the target failed"; return 1; }
	rm -rf "$target"
}
installer_initrd() { echo "$BOOT_DIR/$1/installer.img"; }

# --- the cells --------------------------------------------------------------------

# 1. The baseline: proves the harness can see the compat model (and fail).
check_compat_baseline() {
	compat_model
	no_policy_files
	expect_no_kmsg
	expect_status "kind:                  compat"
	expect_status "nd:t7 loads:           dax_pmem_compat"
}

# 2. DAX modules in the initramfs: the bus model is already there.
check_initramfs_bus() {
	bus_model
	expect_before_udevd
	expect_loaded_in dax_pmem initramfs
	expect_kmsg "daxbus: runtime policy installed in /run/modprobe.d/daxctl.conf"
	expect_kmsg "daxbus: kernel $K510 in the initramfs: compat"
	expect_kmsg "daxbus: nd:t7 resolves to dax_pmem with the initramfs's configuration"
	expect conf./run/modprobe.d/daxctl.conf "file:$POLICY_SHA"
	expect conf./etc/modprobe.d/daxctl.conf "file:$POLICY_SHA"
}

# 3./4. DAX modules only in the real root, root mounted ro, both init flavours.
check_persist() {
	local flavour=$1
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
}

# 5. Opt-out: compat model, nothing written anywhere.
check_optout() {
	compat_model
	no_policy_files
	expect_kmsg "daxbus: disabled by rd.daxbus=0: no policy installed"
	expect_kmsg "daxbus: disabled by rd.daxbus=0: root left untouched"
}

# 6. Second boot of the persisted disk, initramfs without daxbus.
check_second_boot() {
	bus_model
	expect conf./etc/modprobe.d/daxctl.conf "file:$POLICY_SHA"
	expect conf./run/modprobe.d/daxctl.conf absent
	expect_no_kmsg
}

# 7. A kernel without the compat driver.
check_bus_only_61() {
	expect nd_dax_active_driver dax_pmem
	expect bus_dax0.0 present
	expect class_dax0.0 absent
	expect module.dax_pmem_compat absent
	expect_kmsg "daxbus: kernel $K61 in the root: bus"
	expect_status "kind:                  bus (bus model only: the policy is harmless)"
}

# 8. Installer: enable --root --dracut on the target, its dracut config decides.
check_installer() {
	local list
	# the whole listing first: grep -q would close the pipe early, and with
	# pipefail lsinitrd's SIGPIPE would read as "not found"
	list=$(lsinitrd "$(cat "$BOOT_DIR/$boot/initrd.path")")
	grep -q ' usr/sbin/daxbus$' <<<"$list" ||
		seen+=("module not in the image built from the target's config")
	bus_model
	expect conf./etc/modprobe.d/daxctl.conf "file:$POLICY_SHA"
	expect_kmsg "daxbus: runtime policy installed"
	expect_kmsg "daxbus: /sysroot/etc/modprobe.d/daxctl.conf already in place"
}

# 9. OSTree-like: runtime policy only, root untouched, still the bus model.
check_ostree() {
	bus_model
	expect conf./etc/modprobe.d/daxctl.conf absent
	expect conf./run/modprobe.d/daxctl.conf "file:$POLICY_SHA"
	expect_kmsg "daxbus: OSTree deployment (ostree= given): runtime policy only"
	expect_status "policy: runtime (/run/modprobe.d/daxctl.conf)"
}

# 10./11. A helper that crashes must not block the boot (the report itself
# comes from the real root), in either flavour.
check_crashing_helper() {
	local flavour=$1
	compat_model
	no_policy_files
	if [ "$flavour" = shell ]; then
		expect_kmsg "daxbus: helper failed (status 139); boot continues without the runtime policy"
		expect_kmsg "daxbus: helper failed (status 139); root left as it was"
	fi
}

sched_cell compat-baseline compat-baseline check_compat_baseline
sched_cell initramfs-bus initramfs-bus check_initramfs_bus
sched_cell firstboot-systemd firstboot-systemd check_persist systemd
sched_cell firstboot-shell firstboot-shell check_persist shell
sched_cell optout optout check_optout
sched_cell second-boot second-boot check_second_boot
sched_cell bus-only-61 bus-only-61 check_bus_only_61
sched_cell installer installer check_installer
sched_cell ostree ostree check_ostree
sched_cell crashing-helper-systemd crashing-helper-systemd check_crashing_helper systemd
sched_cell crashing-helper-shell crashing-helper-shell check_crashing_helper shell

# The initramfs-tools cells (issue 12), declared on the same scheduler.
export DAXBUS_CELLS_LOADED=1
# cells-itools.sh sources this file when run alone, so shellcheck is not
# sent after it from here (it would chase the cycle).
# shellcheck source=/dev/null
. "$here/cells-itools.sh"
# Debian 11's dracut 051 and Debian 13's dracut-ng 106, in their own roots.
# shellcheck source=cells-dracut-gen.sh
. "$here/cells-dracut-gen.sh"
# The hostonly cells (issue 8): images rebuilt by dracut -H inside the guest.
# shellcheck source=/dev/null
. "$here/cells-hostonly.sh"

# The migrate cells (issue 11): `daxbus migrate` and the early step's rescue.
# shellcheck source=cells-migrate.sh
. "$here/cells-migrate.sh"

# System RAM at the first boot through daxctl's configuration (issue 11).
# shellcheck source=cells-kmem.sh
. "$here/cells-kmem.sh"

# shellcheck disable=SC2154 # ITOOLS_CELLS and HOSTONLY_CELLS come from cells-itools.sh and cells-hostonly.sh
ALL_CELLS="compat-baseline initramfs-bus firstboot-systemd firstboot-shell optout second-boot bus-only-61 installer ostree crashing-helper-systemd crashing-helper-shell $ITOOLS_CELLS $HOSTONLY_CELLS $MIGRATE_CELLS $KMEM_CELLS $DRACUT_GEN_CELLS"

# --- the harness's own multi-stage example (not in ALL_CELLS) -------------------
# "Rebuild the initramfs in the guest, then reboot with it", as later cells
# will do with a real generator: stage 1 boots the plain image; its pre
# action installs the image that was put on its disk as the kernel's
# initramfs (as update-initramfs would) and leaves a note; stage 2 boots
# stage 1's disk with the initrd extracted from it through /initrd.img and
# reports the note.  `tests/boot/cells.sh harness-multistage`.
sched_boot harness-stage1 kver="$K510" initrd="image:plain-$K510" disk=base \
	put="$DAXBUS:/usr/sbin/daxbus image:daxbus-out-$K510-systemd:/var/lib/harness/staged.img" \
	actions="pre:$here/actions/harness-stage1.sh"
sched_boot harness-stage2 kver="$K510" disk=after:harness-stage1 initrd=disk:/initrd.img \
	actions="$here/actions/harness-stage2.sh"
check_harness_multistage() {
	local id
	compat_model
	expect pre.harness-stage1.rc 0
	id=$(r harness.stage1.boot_id)
	[ -n "$id" ] || seen+=("stage 1 reported no boot id")
	on harness-stage2
	# the image stage 1 installed carries daxbus: the bus model now
	bus_model
	expect_kmsg "daxbus: policy persisted in /sysroot/etc/modprobe.d/daxctl.conf"
	expect harness.stage2.note "$id"
	expect pre.harness-stage1.rc ""
	expect hook.harness-stage2.rc 0
}
sched_cell harness-multistage "harness-stage1 harness-stage2" check_harness_multistage

# run_cells CELL...: one "cell NAME: ..." line per cell, as cells finish.
run_cells() {
	# One dracut base directory for every image of the run: built here,
	# before the jobs, since building it replaces the module in it.
	if [ -z "${DRACUT_BASEDIR-}" ]; then
		DRACUT_BASEDIR=$(dracut_base_dir "") || { echo "cell setup: FAIL dracut base directory"; fail "boot setup" "dracut_base_dir failed"; return 1; }
		export DRACUT_BASEDIR
	fi
	sched_run "$@"
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
	t_require qemu-system-x86_64 dracut lsinitrd mkfs.ext4 debugfs unshare chroot zstd cpio
	boot_setup || { echo "cell setup: FAIL kernels, root tree, NVDIMM or QEMU probe"; fail "boot setup" "see above"; t_done; exit 1; }
	# shellcheck disable=SC2048,SC2086 # the list is words
	run_cells ${*:-$ALL_CELLS}
	t_done
fi
