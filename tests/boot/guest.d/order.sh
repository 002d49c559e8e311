#!/bin/bash
# Guest hook (installed into every cell's root): when did the initrd's
# systemd start udevd, and when did daxbus-early.service finish?  Printed as
# report keys so the host can check the early step ran before udevd.
log=$(dmesg 2>/dev/null)
ts() { sed -n "s/^\[ *\([0-9.]*\)\] .*$1.*/\1/p" <<<"$log" | head -n1; }
echo "order.udevd_start=$(ts 'Starting systemd-udevd.service')"
echo "order.daxbus_early_done=$(ts 'Finished daxbus-early.service')"
