#!/bin/bash
# A fleet guest's state, as key=value lines: run in the guest over SSH by
# tests/fleet/cells.sh (bash -s), before and after each play.
set -u
v() { printf '%s=%s\n' "$1" "$2"; }
v boot_id "$(cat /proc/sys/kernel/random/boot_id)"
v kernel "$(uname -r)"
v package "$(dpkg-query -W -f '${Status} ${Version}' daxbus 2>/dev/null || echo none)"
v policy "$([ -e /etc/modprobe.d/daxctl.conf ] && echo present || echo absent)"
d=$(find /etc/dracut.conf.d /etc/initramfs-tools/conf.d -name '*daxbus*' 2>/dev/null | sort | tr '\n' ' ')
v dropins "${d:-none}"
if [ -e /sys/bus/dax/devices/dax0.0 ]; then
	v model bus
elif [ -e /sys/class/dax/dax0.0 ]; then
	v model compat
else
	v model none
fi
drv=$(readlink /sys/class/dax/dax0.0/device/driver /sys/bus/dax/devices/dax0.0/driver 2>/dev/null | head -n1)
v driver "${drv##*/}"
v kmsg_daxbus "$(dmesg | grep -c 'daxbus:')"
v var_tmp_debs "$(find /var/tmp -maxdepth 1 -name '*.deb' | wc -l)"
# what the play's handler recorded before a reboot, as live.PHASE.KEY=VALUE
for f in /var/lib/daxbus-fleet/*; do
	[ -f "$f" ] && sed "s/^/live.${f##*/}./" "$f"
done
pid=$(systemctl show -p MainPID --value daxbus-fleet-holder.service 2>/dev/null)
if [ -n "$pid" ] && [ "$pid" != 0 ] && [ -e "/proc/$pid" ]; then
	v holder "$pid $(cat "/proc/$pid/comm") $(readlink "/proc/$pid/fd/3")"
else
	v holder none
fi
v units_failed "$(systemctl list-units --failed --plain --no-legend | awk '{print $1}' | tr '\n' ' ')"
