#!/bin/bash
# Guest action of the migrate cells (cells-migrate.sh), run before the report
# on Debian 11's 5.10 booted without any policy (the compat model).  In one
# boot, in this order: `daxbus migrate` while /dev/dax0.0 is held open
# (busy.*), `--dry-run` (dry.*), the real migration (live.*), a second one
# (again.*), then daxctl hands the device to kmem (kmem.*).  Each step's exit
# code, output and the state after it are report keys; the report proper
# then shows the final state.
k() { printf '%s=%s\n' "$1" "$2"; }
out() { sed "s/^/$1.out=/"; }
names() {
	local f
	for f in "$1"/*; do [ -e "$f" ] && printf '%s ' "${f##*/}"; done
}
conf() { if [ -e "$1" ]; then sha256sum <"$1" | cut -d' ' -f1; else echo absent; fi; }
state() {
	local p=$1 d drv=none
	for d in /sys/bus/nd/devices/dax*; do
		[ -n "$(cat "$d/namespace" 2>/dev/null)" ] || continue
		drv=none
		[ -L "$d/driver" ] && drv=$(basename "$(readlink "$d/driver")")
	done
	k "$p.nd_driver" "$drv"
	k "$p.class_dax" "$(names /sys/class/dax)"
	k "$p.bus_dax" "$(names /sys/bus/dax/devices)"
	k "$p.compat_loaded" "$(grep -c '^dax_pmem_compat ' /proc/modules)"
	k "$p.etc_conf" "$(conf /etc/modprobe.d/daxctl.conf)"
	k "$p.run_conf" "$(conf /run/modprobe.d/daxctl.conf)"
	# the character device still opens (the driver behind it works)
	if (exec 3</dev/dax0.0) 2>/dev/null; then k "$p.opens" yes; else k "$p.opens" no; fi
}
state before

# 1. busy: a process holds the device open
sleep 600 3</dev/dax0.0 &
holder=$!
sleep 1
k busy.holder "$holder"
daxbus migrate 2>&1 | out busy
k busy.rc "${PIPESTATUS[0]}"
state busy
kill "$holder"
wait "$holder" 2>/dev/null

# 2. dry run
daxbus migrate --dry-run 2>&1 | out dry
k dry.rc "${PIPESTATUS[0]}"
state dry

# 3. the real migration, timed
t0=$(date +%s%N)
daxbus migrate 2>&1 | out live
k live.rc "${PIPESTATUS[0]}"
k live.ms $((($(date +%s%N) - t0) / 1000000))
state live
for m in dax_pmem dax_pmem_core device_dax; do
	k "live.module.$m" "$(grep -c "^$m " /proc/modules)"
done

# 4. again
daxbus migrate 2>&1 | out again
k again.rc "${PIPESTATUS[0]}"

# 5. what the bus model is for: the memory as system RAM
k kmem.memtotal_before "$(awk '/^MemTotal:/ {print $2}' /proc/meminfo)"
# daxctl prints JSON without a final newline: one report line of it
o=$(daxctl reconfigure-device -m system-ram dax0.0 2>&1)
k kmem.rc $?
k kmem.out "$(tr -d '\n' <<<"$o")"
k kmem.memtotal_after "$(awk '/^MemTotal:/ {print $2}' /proc/meminfo)"
daxbus status 2>&1 | grep '^  dax[0-9]' | out kmem.status
exit 0
