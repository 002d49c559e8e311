#!/bin/bash
# Guest action of the hostonly cells (tests/hostonly/cells.sh), stage 1,
# run before the report: daxbus installed and enabled the way a user of a
# dracut distribution does it, on the machine itself: dpkg -i of the .deb
# the harness left in /var/lib/daxbus-test, `daxbus enable --dracut`, then
# the kernel's initramfs rebuilt by the root's own dracut in hostonly mode,
# so the image is built from this machine's devices, loaded modules and
# /etc as they are now.  Logs stay in /var/lib/daxbus-test for the host.
set -u
d=/var/lib/daxbus-test
dpkg -i "$d/daxbus.deb" >"$d/dpkg.log" 2>&1
echo "hostonly.dpkg_rc=$?"
echo "hostonly.dpkg_status=$(dpkg-query -W -f='${Status} ${Version}' daxbus 2>&1)"
echo "hostonly.helper_owner=$(dpkg -S /usr/sbin/daxbus 2>&1)"
daxbus enable --dracut >"$d/enable.log" 2>&1
echo "hostonly.enable_rc=$?"
# shellcheck source=hostonly-dracut.sh
. "$d/hostonly-dracut.sh"
hostonly_dracut "$d"
