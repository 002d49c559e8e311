#!/bin/bash
# Guest action of the kmem cells (tests/migrate/cells.sh): runs the
# program of the udev rule the root's daxctl package ships, exactly as udevd
# would for /dev/dax0.0, and reports it:
#   kmem.shipped_rule.cmd=<the command>|none   (none: the rule has no RUN+=)
#   kmem.shipped_rule.rc=<exit code>
#   kmem.shipped_rule.out=<a line of its output>   (*)
# The cells keep a replacement of the rule in /etc/udev/rules.d; this shows
# whether the shipped one would have done anything by itself.
rule=/lib/udev/rules.d/90-daxctl-device.rules
cmd=$(sed -n 's/.*RUN+="\([^"]*\)".*/\1/p' "$rule" 2>/dev/null | head -n1)
if [ -z "$cmd" ]; then
	echo "kmem.shipped_rule.cmd=none"
	exit 0
fi
cmd=${cmd//'$env{DEVNAME}'/\/dev\/dax0.0}
echo "kmem.shipped_rule.cmd=$cmd"
read -r -a argv <<<"$cmd"
out=$("${argv[@]}" 2>&1)
echo "kmem.shipped_rule.rc=$?"
[ -n "$out" ] && printf '%s\n' "$out" | sed 's/^/kmem.shipped_rule.out=/'
exit 0
