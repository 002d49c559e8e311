# shellcheck shell=bash
# Boot cell of the reliability family: a power cut the moment the root step
# reports the policy durable.  The root is mounted rw from the start (no
# remount, whose sync would hide a missing flush), the disk has no host
# cache between the guest and the file (cache=directsync), and QEMU is
# SIGKILLed as the "persisted" line reaches the console: only what the guest
# flushed survives.  A second, plain boot of that disk (initramfs without
# daxbus) must find the policy whole, nothing left over, the bus model.
# Sourced by tests/harness/boot.sh, after the dracut family (its images).
# shellcheck disable=SC2154 # K510, POLICY_SHA (boot.sh, checks.sh), boot

reliability_here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

fresh power-cut kver="$K510" initrd="image:daxbus-out-$K510-systemd" append="rw" \
	cache=directsync kill_on="daxbus: policy persisted in " no_report=1 timeout=240
sched_boot power-cut-after kver="$K510" initrd="image:plain-$K510" disk=after:power-cut \
	actions="$reliability_here/actions/modprobe-dir.sh"

check_power_cut() {
	local killed=$BOOT_DIR/power-cut/killed
	# the cut happened where it was aimed, or the cell proves nothing
	if [ ! -s "$killed" ]; then
		seen+=("the first boot was not cut: no 'policy persisted' line reached the console")
		return
	fi
	grep -q 'remounted /sysroot' "$BOOT_DIR/power-cut/console.log" &&
		seen+=("the first boot remounted /sysroot: the root was not mounted rw")
	on power-cut-after
	expect conf./etc/modprobe.d/daxctl.conf "file:$POLICY_SHA"
	expect modprobe_d.leftovers ""
	expect hook.modprobe-dir.rc 0
	bus_model
	expect_no_kmsg
}

sched_cell power-cut "power-cut power-cut-after" check_power_cut
ALL_CELLS+=(power-cut)
