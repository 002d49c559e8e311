# shellcheck shell=bash
# Boot cells for `daxbus migrate`, the early step's rescue, and device-DAX
# memory handed to dax_kmem as system RAM at the first boot through daxctl's
# own configuration.  Sourced by tests/harness/boot.sh (after the dracut
# family, whose images it boots).  Three boots carry the five migrate cells:
#   migrate-510     5.10 without policy (compat); its pre action (actions/
#                   migrate-510.sh) runs migrate while the device is held
#                   open, --dry-run, the real one, a second one, then daxctl
#                   reconfigure-device -m system-ram; cells migrate-busy,
#                   migrate-dry-run-and-again and migrate-live read it
#   migrate-rescue  5.10, DAX drivers and daxbus in the image, the compat
#                   driver loaded by rd.driver.pre= before the early step
#   migrate-61      Debian 12's 6.1 (no compat driver)
# shellcheck disable=SC2154 # K510, K61, DAXBUS (boot.sh), boot (the scheduler)

migrate_here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

fresh migrate-510 kver="$K510" initrd="image:plain-$K510" actions="pre:$migrate_here/actions/migrate-510.sh"
fresh migrate-rescue kver="$K510" initrd="image:daxbus-in-$K510" append="rd.driver.pre=dax_pmem_compat"
fresh migrate-61 kver="$K61" initrd="image:daxbus-$K61" actions="pre:$migrate_here/actions/migrate-61.sh"
# the compat model as the action saw it after step PREFIX, policy files untouched
migrate_compat_after() {
	local p=$1
	expect "$p.nd_driver" dax_pmem_compat
	expect "$p.class_dax" "dax0.0 "
	expect "$p.bus_dax" ""
	expect "$p.compat_loaded" 1
	expect "$p.opens" yes
	expect "$p.etc_conf" absent
	expect "$p.run_conf" absent
}

check_migrate_busy() {
	local pid
	migrate_compat_after before
	pid=$(r busy.holder)
	expect busy.rc 1
	expect_out busy "dax0.0 (character device "
	expect_out busy "is open by process $pid (sleep)"
	expect_out busy "refusing to migrate"
	migrate_compat_after busy
}

check_migrate_dry_run_and_again() {
	expect dry.rc 0
	expect_out dry "dry run, nothing is changed"
	expect_out dry "install the policy as /etc/modprobe.d/daxctl.conf"
	expect_out dry "unbind dax0.1 from dax_pmem_compat"
	expect_out dry "remove module dax_pmem_compat"
	expect_out dry "wait up to 10 s until every device is on /sys/bus/dax"
	migrate_compat_after dry
	expect live.rc 0
	expect again.rc 0
	expect_out again "/etc/modprobe.d/daxctl.conf: already in place"
	expect_out again "nothing to migrate: dax_pmem_compat is not loaded (device model: bus)"
}

check_migrate_live() {
	expect live.rc 0
	expect_out live "installed /etc/modprobe.d/daxctl.conf"
	expect_out live "unbound dax0.1 from dax_pmem_compat"
	expect_out live "removed module dax_pmem_compat"
	expect_out live "loaded dax_pmem (nd:t7 under the policy)"
	expect_out live "migrated to the bus model: 1 device on /sys/bus/dax"
	expect live.nd_driver dax_pmem
	expect live.class_dax ""
	expect live.bus_dax "dax0.0 "
	expect live.compat_loaded 0
	expect live.opens yes
	expect live.etc_conf "$POLICY_SHA"
	expect live.module.dax_pmem 1
	# the fact migrate.c's comment states: only the compat module changes
	expect live.module.dax_pmem_core 1
	expect live.module.device_dax 1
	# what the bus model is for
	expect kmem.rc 0
	awk -v a="$(r kmem.memtotal_before)" -v b="$(r kmem.memtotal_after)" 'BEGIN { exit !(b > a) }' ||
		seen+=("MemTotal did not grow: $(r kmem.memtotal_before) -> $(r kmem.memtotal_after) kB")
	expect_out kmem.status "dax0.0: bus model, driver kmem, mode system-ram"
	# the report, taken after all of it, without a reboot
	expect nd_dax_active_driver dax_pmem
	expect bus_dax0.0 present
	expect class_dax0.0 absent
	expect module.dax_pmem_compat absent
	expect module.kmem loaded
}

check_early_rescue() {
	bus_model
	expect_kmsg "daxbus: removed module dax_pmem_compat"
	expect_kmsg "daxbus: dax_pmem_compat was loaded before the early step: migrated in place to the bus model"
	expect_kmsg "daxbus: runtime policy installed in /run/modprobe.d/daxctl.conf"
}

check_migrate_bus_only_61() {
	expect dry.rc 0
	expect_out dry "nothing to migrate: kernel $K61 has no dax_pmem_compat (bus model only)"
	expect live.rc 0
	expect_out live "nothing to migrate: kernel $K61 has no dax_pmem_compat (bus model only)"
	expect nd_dax_active_driver dax_pmem
	expect bus_dax0.0 present
	expect module.dax_pmem_compat absent
}

sched_cell migrate-busy migrate-510 check_migrate_busy
sched_cell migrate-dry-run-and-again migrate-510 check_migrate_dry_run_and_again
sched_cell migrate-live migrate-510 check_migrate_live
sched_cell early-rescue migrate-rescue check_early_rescue
sched_cell migrate-bus-only-61 migrate-61 check_migrate_bus_only_61
ALL_CELLS+=(migrate-live migrate-busy migrate-dry-run-and-again early-rescue migrate-bus-only-61)

# --- System RAM at the first boot: daxctl's own configuration -------------------
# Debian 11's 5.10 kernel (has dax_pmem_compat) with the bookworm base root.
#
# What the root's daxctl provides (package daxctl 76.1-1, Debian bookworm;
# read from the debootstrapped tree, build/boot/cache/debootstrap):
# - /etc/daxctl.conf.d/: every *.conf there is an ini file;
#   a section "[reconfigure-device NAME]" with "nvdimm.uuid = UUID" selects a
#   device, "mode = system-ram" (the default), "online = true|false" (default
#   true), "movable = true|false" (default true) say what to do.  The
#   shipped daxctl.example.conf has all of it commented out.  The uuid is the
#   nd dax device's (its info block's): what `ndctl create-namespace -m
#   devdax` and `ndctl list` print as "uuid", /sys/bus/nd/devices/daxX.Y/uuid.
# - `daxctl reconfigure-device --check-config DEV` (-C) reads that
#   configuration for DEV (daxX.Y or /dev/daxX.Y) and reconfigures it; no
#   matching section: a message, exit 0.  It needs the bus model
#   (daxctl-reconfigure-device(1), Note).
# - /lib/udev/rules.d/90-daxctl-device.rules, one rule:
#     ACTION=="add", SUBSYSTEM=="dax", RUN+="/usr/bin/daxctl -C $env{DEVNAME}"
#   That program fails before doing anything: -C is an option of
#   reconfigure-device, not of daxctl, which answers "Unknown option: -C"
#   and exits 129, in either device model.  Debian's rule replaced the
#   upstream one (which starts daxdev-reconfigure@.service, a unit running
#   `daxctl reconfigure-device --check-config %I`); neither bookworm's ndctl
#   nor its daxctl (nor libdaxctl1, libndctl6) ships that unit.  (trixie's
#   daxctl 81-1 has the upstream rule back, but its ndctl, daxctl and
#   libdaxctl1 packages do not ship daxdev-reconfigure@.service either.)
#   Seen in the boots: "dax0.0: Process '/usr/bin/daxctl -C /dev/dax0.0'
#   failed with exit code 129." in udevd's journal, on 5.10 and 6.1.
# So the shipped pieces alone never reconfigure anything.  The cells add
# two files, the least that makes daxctl's own mechanism run:
# - /etc/udev/rules.d/90-daxctl-device.rules (same name: hides the shipped
#   rule): tags each DAX device for systemd and wants
#   daxdev-reconfigure@.service for it (a template without instance: systemd
#   names the instance after the device's escaped sysfs path), as upstream's
#   rule does with systemd-escape;
# - /etc/systemd/system/daxdev-reconfigure@.service, written here: a oneshot
#   running `daxctl reconfigure-device --check-config %I` (daxctl takes the
#   path's last component).
# Not a RUN+= of daxctl: libndctl (ndctl_bus_wait_probe) polls until udev's
# queue is empty, which it never is from inside an event, so a RUN+= waits
# out libndctl's timeout holding the event; tried: `udevadm settle` returned
# 40 to 60 s later than without it under TCG.  The shipped rule's own result
# is still measured in every boot (actions/kmem-shipped-rule.sh) and checked,
# so that a fixed package shows up as a FAIL telling to drop the
# replacement.  The configuration itself is daxctl's, in daxctl's
# directory, read by daxctl.
#
# Sizes: x86_64 memory blocks are 128 MiB here; the 512 MiB NVDIMM of
# lib.sh sits at 4 GiB and its devdax range, after the info block and the
# struct-page reserve (2 MiB aligned), is 0x100a00000 + 502 MiB: blocks 33
# to 35 lie wholly in it, 384 MiB that dax_kmem adds; -m 1G leaves room for
# their memmap, so lib.sh's sizes stay.  The guest reports the
# blocks of dax0.0's range and MemTotal (tests/harness/guest/daxbus-guest).
#
# shellcheck disable=SC2154 # boot, cell, K510, DAXBUS... come from cells.sh
KMEM_SHIPPED_RULE=/lib/udev/rules.d/90-daxctl-device.rules
KMEM_RULE=/etc/udev/rules.d/90-daxctl-device.rules
KMEM_CONF=/etc/daxctl.conf.d/daxbus-test.conf
KMEM_UNIT=/etc/systemd/system/daxdev-reconfigure@.service

# The disk of both boots: the cached root with daxctl's configuration for
# the NVDIMM's namespace (its uuid recorded when it was converted), the
# rule and the unit that make systemd run daxctl's check for each DAX
# device, all there before the first boot.
kmem_disk() {
	local out=$2 dir=$BOOT_DIR/$1 uuid root
	uuid=$(boot_nvdimm_uuid) || return 1
	root=$(boot_rootfs_base) || return 1
	mkdir -p "$dir"
	{
		echo "# daxbus boot test: the NVDIMM's devdax namespace as system RAM"
		echo "[reconfigure-device daxbus-test]"
		echo "nvdimm.uuid = $uuid"
		echo "mode = system-ram"
		echo "online = true"
		echo "movable = true"
	} >"$dir/daxctl.conf"
	grep -q 'RUN+="/usr/bin/daxctl -C \$env{DEVNAME}"' "$root$KMEM_SHIPPED_RULE" ||
		{ boot_die "$KMEM_SHIPPED_RULE is not the rule tests/migrate/cells.sh describes: check it again"; return 1; }
	# the workaround as shipped (examples/debian12-daxctl, README)
	cp "$BOOT_TOP/examples/debian12-daxctl/90-daxctl-device.rules" "$dir/daxctl-device.rules" &&
		cp "$BOOT_TOP/examples/debian12-daxctl/daxdev-reconfigure@.service" "$dir/daxdev-reconfigure@.service" || return 1
	disk_overlay "$(disk_base "$root")" "$out" && disk_with "$out" _kmem_put "$dir"
}
_kmem_put() {
	disk_put_raw "$1" "$2/daxctl.conf" "$KMEM_CONF" &&
		disk_put_raw "$1" "$2/daxctl-device.rules" "$KMEM_RULE" &&
		disk_put_raw "$1" "$2/daxdev-reconfigure@.service" "$KMEM_UNIT"
}

sched_boot kmem-firstboot kver="$K510" initrd="image:daxbus-out-$K510-systemd" disk=fn:kmem_disk \
	"put=$DAXBUS:/usr/sbin/daxbus" append="$APPEND_DEBUG rd.daxbus.debug" \
	actions="pre:$migrate_here/actions/kmem-unit.sh $migrate_here/actions/kmem-shipped-rule.sh"
sched_boot kmem-without-daxbus kver="$K510" initrd="image:plain-$K510" disk=fn:kmem_disk \
	"put=$DAXBUS:/usr/sbin/daxbus" append="$APPEND_DEBUG" \
	actions="pre:$migrate_here/actions/kmem-unit.sh $migrate_here/actions/kmem-shipped-rule.sh"

# Both: the shipped rule's program still fails by itself (else the
# replacement rule and unit are not needed any more).
kmem_shipped_rule_broken() {
	expect kmem.shipped_rule.cmd "/usr/bin/daxctl -C /dev/dax0.0"
	expect kmem.shipped_rule.rc 129
	grep -qx 'kmem.shipped_rule.out=Unknown option: -C' "$BOOT_DIR/$boot/report.txt" ||
		seen+=("the shipped rule's daxctl did not say 'Unknown option: -C': drop the replacement rule?")
}

# The instance udev started is named after dax0.0's sysfs path.
kmem_unit_is_dax00() {
	[[ $(r kmem.unit) == daxdev-reconfigure@sys-devices-*-dax0.0.service ]] ||
		seen+=("kmem.unit=$(r kmem.unit) (want daxdev-reconfigure@ of dax0.0's sysfs path)")
}

# kmem_log LINE: the instance's journal has LINE.
kmem_log() {
	grep -qxF "kmem.unit.log=$1" "$BOOT_DIR/$boot/report.txt" ||
		seen+=("the journal of daxctl's unit lacks '$1'")
}

# kmem_num KEY VAR: VAR gets KEY's number from the report, or -1 and a note.
kmem_num() {
	local v
	v=$(r "$1")
	case $v in
	'' | *[!0-9]*) seen+=("$1=${v:-<none>} on $boot (want a number)"); v=-1 ;;
	esac
	printf -v "$2" '%s' "$v"
}

# daxbus + daxctl's configuration: system RAM at the first boot.
check_kmem_firstboot() {
	local blocks online total bs mem base
	bus_model
	expect dax0.0.driver kmem
	expect module.kmem loaded
	grep -q '^daxctl_list=.*"mode":"system-ram"' "$BOOT_DIR/$boot/report.txt" ||
		seen+=("daxctl list does not show system-ram: $(r daxctl_list)")
	kmem_unit_is_dax00
	expect kmem.unit.result success
	expect kmem.unit.status 0
	blocks=$(r memblocks.dax0.0)
	online=${blocks%/*} total=${blocks#*/}
	if ! [[ $blocks =~ ^[0-9]+/[0-9]+$ ]] || [ "$total" -lt 1 ] || [ "$online" != "$total" ]; then
		seen+=("memory blocks of dax0.0 online: ${blocks:-<none>} (want all, at least one)")
		[[ $online =~ ^[0-9]+$ ]] || online=0
	fi
	kmem_num memory_block_size bs
	kmem_num memtotal_kb mem
	kmem_shipped_rule_broken
	on compat-baseline
	kmem_num memtotal_kb base
	# The blocks' memory, give or take 1/16 (memmap and such).
	if [ "$mem" -ge 0 ] && [ "$base" -ge 0 ] && [ "$bs" -gt 0 ] &&
		[ $((mem - base)) -lt $((online * bs * 15 / 16 / 1024)) ]; then
		seen+=("MemTotal ${mem} kB, baseline ${base} kB: grew by less than the $online online blocks of $((bs / 1024)) kB")
	fi
}

# The same configuration without daxbus: the compat model, daxctl refuses.
check_kmem_without_daxbus() {
	local mem base bs
	compat_model
	no_policy_files
	expect dax0.0.driver none
	expect module.kmem absent
	grep -q '^daxctl_list=.*"mode":"devdax"' "$BOOT_DIR/$boot/report.txt" ||
		seen+=("daxctl list does not show devdax: $(r daxctl_list)")
	kmem_unit_is_dax00
	expect kmem.unit.result exit-code
	# 161: -EOPNOTSUPP as an exit status
	expect kmem.unit.status 161
	kmem_log 'libdaxctl: daxctl_dev_disable: dax0.0: error: device model is dax-class'
	kmem_log 'error reconfiguring devices: Operation not supported'
	[[ $(r memblocks.dax0.0) =~ ^0/[1-9][0-9]*$ ]] ||
		seen+=("memory blocks of dax0.0 online: $(r memblocks.dax0.0) (want 0 of at least one)")
	kmem_shipped_rule_broken
	kmem_num memtotal_kb mem
	kmem_num memory_block_size bs
	on compat-baseline
	kmem_num memtotal_kb base
	if [ "$mem" -ge 0 ] && [ "$base" -ge 0 ] && [ $((mem - base)) -ge $((bs / 1024)) ]; then
		seen+=("MemTotal ${mem} kB, a memory block or more above the baseline's ${base} kB")
	fi
}

sched_cell kmem-firstboot "kmem-firstboot compat-baseline" check_kmem_firstboot
sched_cell kmem-without-daxbus "kmem-without-daxbus compat-baseline" check_kmem_without_daxbus
ALL_CELLS+=(kmem-firstboot kmem-without-daxbus)
