#!/bin/bash
# Guest action of the power-cut instants (tests/reliability/instants.sh), on
# the plain boot after the cut: what the cut left in /etc/modprobe.d, then
# whether `daxbus enable` runs undisturbed by it, and what it leaves.
#   cut.conf=absent|file:<sha256>|other   /etc/modprobe.d/daxctl.conf
#   cut.temp=absent|file:<sha256>|other   its temporary, .#daxctl.conf.daxbus
#   cut.enable_rc=<exit code of daxbus enable>
#   cut.enable=<a line of its output>     (*)
#   cut.after_conf=...                    daxctl.conf after it
#   cut.after_hidden=<hidden entries left in /etc/modprobe.d, space-separated>
shopt -s nullglob dotglob
d=/etc/modprobe.d
look() {
	if [ -L "$1" ] || { [ -e "$1" ] && [ ! -f "$1" ]; }; then
		echo other
	elif [ -f "$1" ]; then
		echo "file:$(sha256sum <"$1" | cut -d' ' -f1)"
	else
		echo absent
	fi
}
echo "cut.conf=$(look $d/daxctl.conf)"
echo "cut.temp=$(look $d/.#daxctl.conf.daxbus)"
out=$(/usr/sbin/daxbus enable 2>&1)
echo "cut.enable_rc=$?"
printf '%s\n' "$out" | sed 's/^/cut.enable=/'
echo "cut.after_conf=$(look $d/daxctl.conf)"
hidden=""
for f in "$d"/.*; do
	case ${f##*/} in . | ..) ;; *) hidden+="${f##*/} " ;; esac
done
echo "cut.after_hidden=${hidden% }"
