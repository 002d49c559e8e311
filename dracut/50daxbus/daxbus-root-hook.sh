#!/bin/sh
# daxbus, shell init, pre-pivot: persist the policy into the real root
# (remounting it read-write only for the write).  Sourced by dracut's init:
# never exit, always return 0.

if [ -x /usr/sbin/daxbus ]; then
    /usr/sbin/daxbus initrd root --sysroot "${NEWROOT:-/sysroot}"
    _daxbus_rc=$?
    [ "$_daxbus_rc" -gt 1 ] && echo "<4>daxbus: helper failed (status $_daxbus_rc); root left as it was" >/dev/kmsg
    unset _daxbus_rc
else
    echo "<4>daxbus: /usr/sbin/daxbus is missing from the initramfs; boot continues" >/dev/kmsg
fi 2>/dev/null
return 0
