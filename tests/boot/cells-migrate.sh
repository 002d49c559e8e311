# shellcheck shell=bash
# Boot cells for `daxbus migrate` and the early step's rescue (issue 11):
# sourced by tests/boot/cells.sh after its helpers (fresh, expect, bus_model,
# ...) and images are declared.  Three boots carry the five cells:
#   migrate-510     5.10 without policy (compat); its pre action (actions/
#                   migrate-510.sh) runs migrate while the device is held
#                   open, --dry-run, the real one, a second one, then daxctl
#                   reconfigure-device -m system-ram; cells migrate-busy,
#                   migrate-dry-run-and-again and migrate-live read it
#   migrate-rescue  5.10, DAX drivers and daxbus in the image, the compat
#                   driver loaded by rd.driver.pre= before the early step
#   migrate-61      Debian 12's 6.1 (no compat driver)
# shellcheck disable=SC2154 # here, K510, K61, DAXBUS, POLICY_SHA, boot: cells.sh

# shellcheck disable=SC2034 # cells.sh appends it to ALL_CELLS
MIGRATE_CELLS="migrate-live migrate-busy migrate-dry-run-and-again early-rescue migrate-bus-only-61"

fresh migrate-510 kver="$K510" initrd="image:plain-$K510" actions="pre:$here/actions/migrate-510.sh"
fresh migrate-rescue kver="$K510" initrd="image:daxbus-in-$K510" append="rd.driver.pre=dax_pmem_compat"
fresh migrate-61 kver="$K61" initrd="image:daxbus-$K61" actions="pre:$here/actions/migrate-61.sh"

# expect_out PREFIX TEXT: a PREFIX.out= line of the report contains TEXT
expect_out() {
	grep -F -- "$2" "$BOOT_DIR/$boot/report.txt" | grep -q "^$1\.out=" || seen+=("$1 output lacks '$2'")
}
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
