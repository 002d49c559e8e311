#!/bin/bash
# Guest action of the hostonly cells (tests/hostonly/cells.sh), stage 1
# of hostonly-daxctl-stale, run before the report: the kernel's initramfs is
# rebuilt in hostonly mode by the root's own dracut (as on Fedora, RHEL,
# SUSE) while /etc has no policy, and only afterwards does the administrator
# run `daxctl migrate-device-model`, without rebuilding the image.
set -u
d=/var/lib/daxbus-test
mkdir -p "$d"
# shellcheck source=hostonly-dracut.sh
. "$d/hostonly-dracut.sh"
hostonly_dracut "$d"
rc=$?
daxctl migrate-device-model >"$d/migrate.log" 2>&1
m=$?
echo "hostonly.migrate_rc=$m"
[ "$rc" = 0 ] && [ "$m" = 0 ]
