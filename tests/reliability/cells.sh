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

# The power-cut instants of `make check-reliability` (tests/reliability/
# instants.sh), not in make check: on a booted root, `daxbus enable` killed by
# aim (tests/reliability/aim.c, no hook in the product) on entering the rename
# of the policy's temporary, or the directory fsync after it; QEMU SIGKILLed
# right then; a plain boot of the disk surveys /etc/modprobe.d and runs enable
# again.  Before the rename: no policy, the temporary whole or absent.
# Between rename and fsync: exactly one of the two names, whole.  Either way
# the next enable succeeds and leaves the policy and nothing hidden.
RELIABILITY_AIM=${RELIABILITY_AIM:-$BOOT_DIR/aim}
cut_instant() {
	local cell=$1 aim=$2
	sched_boot "$cell" disk=base kver="$K510" initrd="image:plain-$K510" append="rw daxbus.test.aim=$aim" \
		cache=directsync kill_on="DAXBUS-CUT-NOW" no_report=1 timeout=240 \
		put="$DAXBUS:/usr/sbin/daxbus $RELIABILITY_AIM:/usr/local/sbin/aim" \
		actions="pre:$reliability_here/actions/cut-aim.sh"
	sched_boot "$cell-after" kver="$K510" initrd="image:plain-$K510" disk="after:$cell" \
		actions="$reliability_here/actions/cut-survey.sh"
	sched_cell "$cell" "$cell $cell-after" check_cut_instant "$aim"
}
cut_instant cut-before-rename renameat2:1
cut_instant cut-before-dirsync fsync:2

check_cut_instant() {
	local aim=$1 sys n conf temp whole="file:$POLICY_SHA"
	sys=${aim%%:*} n=${aim#*:}
	# aimed where it was meant (the second fsync is the directory's), or it proves nothing
	grep -aq "aim: killed on entering $sys #$n (fd [0-9]*: /etc/modprobe.d)" "$BOOT_DIR/$cell/console.log" ||
		seen+=("the helper was not killed on entering $sys #$n on /etc/modprobe.d: $(grep -a -m1 -o 'aim: .*' "$BOOT_DIR/$cell/console.log" || echo 'no aim line')")
	[ -s "$BOOT_DIR/$cell/killed" ] || seen+=("the boot was not cut: no DAXBUS-CUT-NOW line reached the console")
	on "$cell-after"
	conf=$(r cut.conf) temp=$(r cut.temp)
	case $sys in
	renameat2)
		[ "$conf" = absent ] || seen+=("cut.conf=$conf before any rename (want absent)")
		case $temp in absent | "$whole") ;; *) seen+=("cut.temp=${temp:-<none>}: neither whole nor absent") ;; esac
		;;
	fsync)
		case "$conf/$temp" in "$whole/absent" | "absent/$whole") ;;
		*) seen+=("after the rename, before the fsync: cut.conf=${conf:-<none>} cut.temp=${temp:-<none>} (want one of them whole, the other absent)") ;;
		esac
		;;
	esac
	expect cut.enable_rc 0
	expect cut.after_conf "$whole"
	expect cut.after_hidden ""
}
