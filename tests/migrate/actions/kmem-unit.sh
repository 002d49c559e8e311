#!/bin/bash
# Guest action of the kmem cells (tests/migrate/cells.sh), run before the
# report: waits (at most 120 s) until the daxdev-reconfigure@ instance that
# udev asked for has run, so the report sees what daxctl did, then reports,
# from the journal (a oneshot that succeeded is unloaded at once, so
# systemctl cannot be asked afterwards):
#   kmem.unit=<instance name>|none    none: no instance ran within 30 s
#   kmem.unit.result=success|<systemd's "Failed with result" word>|unknown
#   kmem.unit.status=<daxctl's exit status>   0 on success
#   kmem.unit.log=<a journal line of the instance>   (*)
pattern='daxdev-reconfigure@*'
log=""
for ((i = 0; i < 240; i++)); do
	running=$(systemctl list-units --all --no-legend --plain --state=activating "$pattern" 2>/dev/null)
	log=$(journalctl -b --no-pager -o cat -u "$pattern" 2>/dev/null)
	if [ -z "$running" ]; then
		[ -n "$log" ] && break
		[ "$i" -ge 60 ] && break
	fi
	sleep 0.5
done
unit=$(journalctl -b --no-pager -o export -u "$pattern" 2>/dev/null |
	sed -n 's/^_\{0,1\}\(SYSTEMD_\)\{0,1\}UNIT=\(daxdev-reconfigure@.*\.service\)$/\2/p' | head -n1)
echo "kmem.unit=${unit:-none}"
[ -n "$unit" ] || exit 0
result=unknown status=""
case $log in
*"Failed with result '"*)
	result=${log#*Failed with result \'}
	result=${result%%\'*}
	;;
*": Deactivated successfully."* | *"Finished daxdev-reconfigure@"*) result=success status=0 ;;
esac
case $log in
*"Main process exited, code=exited, status="*)
	status=${log#*Main process exited, code=exited, status=}
	status=${status%%/*}
	;;
esac
echo "kmem.unit.result=$result"
echo "kmem.unit.status=${status:-unknown}"
printf '%s\n' "$log" | sed 's/^/kmem.unit.log=/'
exit 0
