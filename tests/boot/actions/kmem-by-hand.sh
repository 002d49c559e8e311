#!/bin/bash
# Guest action of the kmem-without-daxbus cell (tests/boot/cells-kmem.sh):
# what an administrator sees when running, by hand, the command the udev
# rule ran at boot (udevd logs only its exit code at its default level):
#   kmem.by_hand.rc=<exit code of daxctl reconfigure-device --check-config dax0.0>
#   kmem.by_hand.out=<a line of its output>   (*)
out=$(daxctl reconfigure-device --check-config dax0.0 2>&1)
echo "kmem.by_hand.rc=$?"
[ -n "$out" ] && printf '%s\n' "$out" | sed 's/^/kmem.by_hand.out=/'
exit 0
