# shellcheck shell=bash
# Sourced by the hostonly guest actions (put beside the .deb in
# /var/lib/daxbus-test by tests/hostonly/cells.sh): the kernel's initramfs
# rebuilt by the root's own dracut in hostonly mode.  Debian's dracut builds
# generic images (hostonly=no) unless told otherwise; Fedora, RHEL and SUSE
# configure hostonly=yes, and -H asks for that mode explicitly.
# --no-compress: gzip of the image under TCG costs minutes and compression is
# not what is tested.

# hostonly_dracut DIR: reports hostonly.dracut_rc, hostonly.dracut_seconds
# (and hostonly.dracut_log lines on failure), log in DIR/dracut.log;
# returns dracut's status.
hostonly_dracut() {
	local d=$1 kver t0 rc
	kver=$(uname -r)
	t0=$(date +%s)
	dracut -f -H --no-compress "/boot/initrd.img-$kver" "$kver" >"$d/dracut.log" 2>&1
	rc=$?
	echo "hostonly.dracut_rc=$rc"
	echo "hostonly.dracut_seconds=$(($(date +%s) - t0))"
	[ "$rc" = 0 ] || tail -n 5 "$d/dracut.log" | sed 's/^/hostonly.dracut_log=/'
	return "$rc"
}
