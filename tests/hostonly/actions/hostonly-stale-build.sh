#!/bin/bash
# Guest action of the hostonly cells (tests/hostonly/cells.sh), stage 1
# of hostonly-daxctl-stale, run before the report: the kernel's initramfs is
# rebuilt in hostonly mode by the root's own dracut (as on Fedora, RHEL,
# SUSE) while /etc has no policy, and only afterwards does the administrator
# run `daxctl migrate-device-model`, without rebuilding the image.
set -u
d=/var/lib/daxbus-test
mkdir -p "$d"
kver=$(uname -r)
# -H: Debian's dracut defaults to generic images (see hostonly-build.sh);
# --no-compress: gzip under TCG costs minutes.
t0=$(date +%s)
dracut -f -H --no-compress "/boot/initrd.img-$kver" "$kver" >"$d/dracut.log" 2>&1
rc=$?
echo "hostonly.dracut_rc=$rc"
echo "hostonly.dracut_seconds=$(($(date +%s) - t0))"
[ "$rc" = 0 ] || tail -n 5 "$d/dracut.log" | sed 's/^/hostonly.dracut_log=/'
daxctl migrate-device-model >"$d/migrate.log" 2>&1
m=$?
echo "hostonly.migrate_rc=$m"
[ "$rc" = 0 ] && [ "$m" = 0 ]
