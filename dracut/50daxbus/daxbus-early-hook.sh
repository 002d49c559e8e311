#!/bin/sh
# daxbus, shell init, pre-udev: install the bus-model policy in /run/modprobe.d
# before udevd starts.  Sourced by dracut's init: never exit, always return 0.
# The helper logs its own decisions to the kernel log; here we only report a
# helper that is missing or died.

if [ -x /usr/sbin/daxbus ]; then
    /usr/sbin/daxbus initrd early
    _daxbus_rc=$?
    [ "$_daxbus_rc" -gt 1 ] && echo "<4>daxbus: helper failed (status $_daxbus_rc); boot continues without the runtime policy" >/dev/kmsg
    unset _daxbus_rc
else
    echo "<4>daxbus: /usr/sbin/daxbus is missing from the initramfs; boot continues" >/dev/kmsg
fi 2>/dev/null
return 0
