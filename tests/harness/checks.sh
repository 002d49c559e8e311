# shellcheck shell=bash
# Checks that boot cells of every family share, each written once.  A cell's
# check function runs with $cell and $boot set by the scheduler and adds what
# differs from what it wants to seen=() (the scheduler prints it); `on BOOT`
# reads another boot of the cell.  The report keys are documented in
# guest/daxbus-guest.
# shellcheck disable=SC2154 # boot, cell and seen belong to the scheduler's check
[ -n "${HARNESS_CHECKS_LOADED-}" ] && return 0
HARNESS_CHECKS_LOADED=1

# shellcheck disable=SC2034 # for the families' cells
# The policy's digest, as the agent reports files (conf.PATH=file:SHA).
POLICY_SHA=$(sha256sum <"$BOOT_TOP/modprobe.d/daxctl.conf" | cut -d' ' -f1)
# shellcheck disable=SC2034
# The DAX drivers, for --add-drivers / --omit-drivers and the reports.
DAX_DRIVERS="dax_pmem dax_pmem_compat dax_pmem_core device_dax"
# initcall_debug timestamps every module init (which phase loaded dax_pmem);
# a big log buffer keeps the early lines.
# shellcheck disable=SC2034
APPEND_DEBUG="initcall_debug log_buf_len=8M"

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
# PREFIX.out= lines of the report (an action's output) contain TEXT
expect_out() {
	grep -F -- "$2" "$BOOT_DIR/$boot/report.txt" | grep -q "^$1\.out=" || seen+=("$1 output lacks '$2'")
}

# MODULE's init ran before (initramfs) or after (root) the root's systemd started.
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

# The early step was done before udevd started.  After journald starts,
# systemd's own messages leave the kernel log, but the serial console
# carries both, in order: compare positions there.  udevd's start is
# systemd's "Starting ... systemd-udevd.service" (249 and later name the
# unit; 247 only describes it, cut to the console's width: "Starting
# Rule-based Manage..."), or udevd's own "Starting systemd-udevd version N"
# in initramfs-tools (which prints to the console, not the kernel log).
expect_before_udevd() {
	local log=$BOOT_DIR/$boot/console.log done_at udevd_at
	done_at=$(sed 's/\x1b\[[0-9;]*m//g' "$log" | grep -n -m1 'daxbus: early step done' | cut -d: -f1)
	udevd_at=$(sed 's/\x1b\[[0-9;]*m//g' "$log" |
		grep -n -m1 -E 'Start.*(systemd-udevd\.ser|Rule-based Manage)|Starting (systemd-udevd )?version' | cut -d: -f1)
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

# Both systemd initrd units ran: systemd's own lines about them in the journal.
expect_units_ran() {
	local u
	for u in daxbus-early.service daxbus-root.service; do
		grep -qE "^journal\.$u=(Finished|Started) " "$BOOT_DIR/$boot/report.txt" ||
			seen+=("the journal has no Finished/Started line of $u")
	done
}

# The DAX drivers were in kernel KVER's initramfs (a compat kernel): the
# early step put the policy in /run before udevd, dax_pmem loaded in the
# initramfs, the bus model, and the root step persisted the policy.
expect_bus_from_initramfs() {
	local kver=$1
	bus_model
	expect_before_udevd
	expect_loaded_in dax_pmem initramfs
	expect_kmsg "daxbus: runtime policy installed in /run/modprobe.d/daxctl.conf"
	expect_kmsg "daxbus: kernel $kver in the initramfs: compat"
	expect_kmsg "daxbus: nd:t7 resolves to dax_pmem with the initramfs's configuration"
	expect conf./run/modprobe.d/daxctl.conf "file:$POLICY_SHA"
	expect conf./etc/modprobe.d/daxctl.conf "file:$POLICY_SHA"
}

# The DAX drivers only in the real root, mounted ro at SYSROOT in the
# initramfs: the policy in /run, persisted through a remount rw and back,
# dax_pmem loaded from the root, the bus model.
expect_bus_from_root() {
	local sysroot=$1
	bus_model
	expect_loaded_in dax_pmem root
	expect conf./etc/modprobe.d/daxctl.conf "file:$POLICY_SHA"
	expect conf./run/modprobe.d/daxctl.conf "file:$POLICY_SHA"
	expect_kmsg "daxbus: runtime policy installed in /run/modprobe.d/daxctl.conf"
	expect_kmsg "daxbus: remounted $sysroot read-write for the write"
	expect_kmsg "daxbus: policy persisted in $sysroot/etc/modprobe.d/daxctl.conf"
	expect_kmsg "daxbus: remounted $sysroot read-only again"
	expect_status "policy: enabled (/etc/modprobe.d/daxctl.conf)"
}
