#!/bin/bash
# `make demo`: boots Debian 11's 5.10 kernel (which still ships dax_pmem_compat)
# with an emulated NVDIMM twice — stock initramfs, then with the daxbus
# module — and prints what changed.  Sets up everything it needs on first run
# (packages, kernels, a Debian root, the NVDIMM); later runs reuse the cache.
set -uo pipefail
export HARNESS_DECLARE_ONLY=1
# shellcheck source=boot.sh
. "$(dirname "$0")/boot.sh"

echo "daxbus demo: preparing kernels, a Debian root and an NVDIMM (cached after the first run)..."
boot_setup || { echo "demo: setup failed" >&2; exit 1; }
echo "daxbus demo: booting $K510 without daxbus, then with it (about a minute each under TCG)..."
sched_run compat-baseline firstboot-systemd

val() { boot_report_get "$1" "$2"; }
files() {
	local c=$1 out="" p v
	for p in /etc/modprobe.d/daxctl.conf /run/modprobe.d/daxctl.conf; do
		v=$(val "$c" "conf.$p")
		[ -n "$v" ] && [ "$v" != absent ] && out+="$p "
	done
	echo "${out:-none}"
}
where() {
	if [ "$(val "$1" bus_dax0.0)" = present ]; then echo "/sys/bus/dax/devices/dax0.0"
	elif [ "$(val "$1" class_dax0.0)" = present ]; then echo "/sys/class/dax/dax0.0"
	else echo "no DAX device"; fi
}
echo
printf '%-30s | %-34s | %-34s\n' "Linux $K510" "before: stock initramfs" "after: dracut --add daxbus"
printf '%s\n' "-------------------------------+------------------------------------+-----------------------------------"
row() { printf '%-30s | %-34s | %-34s\n' "$1" "$2" "$3"; }
row "nd dax device bound to" "$(val compat-baseline nd_dax_active_driver)" "$(val firstboot-systemd nd_dax_active_driver)"
row "DAX device in sysfs" "$(where compat-baseline)" "$(where firstboot-systemd)"
row "policy files" "$(files compat-baseline)" "$(files firstboot-systemd)"
row "root's systemd started at (s)" "$(val compat-baseline root_systemd_ts)" "$(val firstboot-systemd root_systemd_ts)"
row "boot to report, wall (s)" "$(cat "$BOOT_DIR/compat-baseline/seconds" 2>/dev/null)" "$(cat "$BOOT_DIR/firstboot-systemd/seconds" 2>/dev/null)"
echo
echo "daxbus lines in the kernel log of the second boot:"
grep '^kmsg=.*daxbus:' "$BOOT_DIR/firstboot-systemd/report.txt" | sed 's/^kmsg=/  /'
echo
echo "Reports: $BOOT_DIR/compat-baseline/report.txt, $BOOT_DIR/firstboot-systemd/report.txt"
[ "$t_failed" = 0 ]
