#!/bin/bash
# Guest pre-action of the ostree family (tests/ostree/cells.sh), baked into
# every commit: where this boot stands on the OSTree disk, before anything
# else runs.
#   ostree.deployment=<the booted deployment's directory, from ostree=>
#   ostree.is_default=yes|no         it is the first in `ostree admin status`
#   ostree.config_diff=<a config-diff line under modprobe.d>     (*)
#   ostree.usr_ro=yes|no             /usr is mounted read-only
#   ostree.usr_changed=<a /usr path changed since the kernel started> (*)
#   ostree.sysroot_ro=yes|no         the physical root (/sysroot) is read-only
#   ostree.found=<path>              (*) every daxctl.conf and daxbus temporary
#                                    in a modprobe.d on the physical disk
#   ostree.etc_sum=<digest of the booted deployment's /etc>
read -ra args </proc/cmdline
dep=
for a in "${args[@]}"; do
	case $a in ostree=*) dep=$(readlink -f "/sysroot${a#ostree=}") ;; esac
done
echo "ostree.deployment=${dep#/sysroot}"
# the first deployment `ostree admin status` lists is the default; "*" marks the booted one
case $(ostree admin status 2>/dev/null | head -n1) in "* "*) echo ostree.is_default=yes ;; *) echo ostree.is_default=no ;; esac
ostree admin config-diff 2>/dev/null | grep 'modprobe.d' | sed 's/^/ostree.config_diff=/'
ro() { findmnt -no OPTIONS "$1" | tr ',' '\n' | grep -qx ro && echo yes || echo no; }
echo "ostree.usr_ro=$(ro /usr)"
# ctime: no program can set it back; since the kernel started: this boot, initramfs included
read -r up _ </proc/uptime
find /usr -xdev -newerct "@$(($(date +%s) - ${up%.*} - 1))" -print 2>/dev/null | head -n 20 | sed 's/^/ostree.usr_changed=/'
echo "ostree.sysroot_ro=$(ro /sysroot)"
find /sysroot -xdev -path '*/modprobe.d/*' \( -name daxctl.conf -o -name '.#daxctl.conf*' \) 2>/dev/null |
	sed 's|^/sysroot||; s/^/ostree.found=/'
# shellcheck source=ostree-lib.sh # installed there by tests/ostree/cells.sh
. /usr/local/lib/daxbus-test-ostree.sh
echo "ostree.etc_sum=$(etc_sum)"
