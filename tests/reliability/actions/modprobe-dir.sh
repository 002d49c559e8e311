#!/bin/bash
# Guest action of the power-cut cell (tests/reliability/cells.sh): what a
# write cut short could have left in /etc/modprobe.d besides the policy.
#   modprobe_d.leftovers=<names of hidden entries, space-separated>|
#   modprobe_d.daxctl_conf_size=<bytes>|absent
shopt -s nullglob dotglob
left=""
for f in /etc/modprobe.d/.*; do
	case ${f##*/} in . | ..) ;; *) left+="${f##*/} " ;; esac
done
echo "modprobe_d.leftovers=${left% }"
if [ -f /etc/modprobe.d/daxctl.conf ]; then
	echo "modprobe_d.daxctl_conf_size=$(stat -c %s /etc/modprobe.d/daxctl.conf)"
else
	echo "modprobe_d.daxctl_conf_size=absent"
fi
