#!/bin/bash
# The helper's initramfs steps against fake initramfs trees: options from
# /proc/cmdline and from the files dracut bakes in, the runtime policy, and
# persisting into a sysroot that is writable, read-only (bind or super block),
# impossible to remount, OSTree, foreign or already opted in.  Each case runs
# in its own mount namespace; trees are compared whole.
set -uo pipefail
. "$(dirname "$0")/../lib/t.sh"
t_require unshare mount findmnt

# Build a fake initramfs root in $1: proc/cmdline, baked cmdline files, sysroot.
mkinitrd_tree() {
	local root=$1 proc=$2 baked=$3 sys=$4 w
	mkdir -p "$root/proc" "$root/run" "$root/etc" "$root/sysroot"
	printf '%b\n' "$proc" >"$root/proc/cmdline"
	if [ -n "$baked" ] && [ "$baked" != - ]; then
		mkdir -p "$root/etc/cmdline.d"
		printf '%s\n' "$baked" >"$root/etc/cmdline.d/50-baked.conf"
	fi
	for w in $sys; do
		case $w in
		etc) mkdir -p "$root/sysroot/etc" ;;
		foreign) mkdir -p "$root/sysroot/etc/modprobe.d"; printf '%s' "$FOREIGN_TEXT" >"$root/sysroot/etc/modprobe.d/daxctl.conf" ;;
		daxlink) mkdir -p "$root/sysroot/etc/modprobe.d" "$root/sysroot/usr/share/daxctl"
			cp "$POLICY_FILE" "$root/sysroot/usr/share/daxctl/daxctl.conf"
			ln -s /usr/share/daxctl/daxctl.conf "$root/sysroot/etc/modprobe.d/daxctl.conf" ;;
		selinux) mkdir -p "$root/sysroot/etc/selinux"; echo SELINUX=enforcing >"$root/sysroot/etc/selinux/config" ;;
		runforeign) mkdir -p "$root/run/modprobe.d"; printf '%s' "$FOREIGN_TEXT" >"$root/run/modprobe.d/daxctl.conf" ;;
		nosysroot) rmdir "$root/sysroot" ;;
		cmdline-dir) mkdir -p "$root/etc/cmdline.d/x.conf" ;;
		cmdline-fifo) mkfifo "$root/etc/cmdline" ;;
		cmdline-loop) mkdir -p "$root/etc/cmdline.d"; ln -s y.conf "$root/etc/cmdline.d/y.conf" ;;
		cmdline-dev) mknod "$root/etc/cmdline" c 1 5 ;;
		cmdline-big) mkdir -p "$root/etc/cmdline.d"; head -c 100000 /dev/zero | tr '\0' x >"$root/etc/cmdline.d/big.conf" ;;
		run-optout) mkdir -p "$root/run/initramfs/cmdline.d"; echo rd.daxbus=0 >"$root/run/initramfs/cmdline.d/o.conf" ;;
		-) ;;
		*) echo "initrd.sh: unknown word $w" >&2; return 1 ;;
		esac
	done
}

# Runs inside a private mount namespace: make the sysroot as asked, run the
# step, then print "ro"/"rw" for the sysroot mount as it was left.
inner() {
	local root=$1 mnt=$2 step=$3
	case $mnt in
	rw) ;;
	ro-bind) mount --bind "$root/sysroot" "$root/sysroot" && mount -o remount,bind,ro "$root/sysroot" ;;
	ro-super)
		mkdir -p "$root/.stash" && cp -a "$root/sysroot/." "$root/.stash/"
		mount -t tmpfs -o size=4m,mode=755 tmpfs "$root/sysroot" && cp -a "$root/.stash/." "$root/sysroot/" && rm -rf "$root/.stash"
		mount -o remount,ro "$root/sysroot" ;;
	ro-noremount)
		# a read-only directory that is not a mount point of its own: remount must fail
		mount --bind "$root" "$root" && mount -o remount,bind,ro "$root" ;;
	esac
	"$DAXBUS" initrd "$step" --root "$root" --sysroot "$root/sysroot" --log stderr
	echo "exit=$?"
	if [ -d "$root/sysroot" ]; then
		findmnt -n -o OPTIONS -T "$root/sysroot" | tr ',' '\n' | grep -xE 'ro|rw' | head -1 | sed 's/^/sysroot=/'
		# copy what was written out of the namespace before its mounts vanish
		mkdir -p "$root.after" && cp -a "$root/sysroot/." "$root.after/"
	fi
}
export -f inner
export DAXBUS

# name | step | /proc/cmdline | baked cmdline.d | sysroot setup | mount | exit | message part | run tree | sysroot tree | sysroot left
CASES=$(cat <<'TABLE'
early: default | early | ro root=/dev/vda | - | etc | rw | 0 | runtime policy installed | modprobe.d d755;modprobe.d/daxctl.conf f644 =policy | etc d755 | rw
early: rd.daxbus=0 | early | ro rd.daxbus=0 | - | etc | rw | 0 | disabled by rd.daxbus=0 | | etc d755 | rw
early: rd.daxbus=0 baked into etc/cmdline.d | early | ro | rd.daxbus=0 | etc | rw | 0 | disabled by rd.daxbus=0 | | etc d755 | rw
early: /proc/cmdline overrides the baked value | early | rd.daxbus=1 | rd.daxbus=0 | etc | rw | 0 | runtime policy installed | modprobe.d d755;modprobe.d/daxctl.conf f644 =policy | etc d755 | rw
early: quoted value | early | rd.daxbus="0" | - | etc | rw | 0 | disabled by rd.daxbus=0 | | etc d755 | rw
early: odd value warns, taken as true like getargbool | early | rd.daxbus=maybe | - | etc | rw | 0 | rd.daxbus=maybe: dracut reads any value but 0, no and off as true | modprobe.d d755;modprobe.d/daxctl.conf f644 =policy | etc d755 | rw
early: foreign runtime file left alone | early | ro | - | etc runforeign | rw | 1 | is not the daxbus policy; left alone | modprobe.d d755;modprobe.d/daxctl.conf f644 =foreign | etc d755 | rw
early: a directory among cmdline.d's files does not lose /proc/cmdline | early | rd.daxbus=0 | - | etc cmdline-dir | rw | 0 | disabled by rd.daxbus=0 | | etc d755 | rw
early: a FIFO at etc/cmdline is skipped, not waited for | early | rd.daxbus=0 | - | etc cmdline-fifo | rw | 0 | kernel command line source /etc/cmdline skipped | | etc d755 | rw
early: a symlink loop in cmdline.d is skipped | early | rd.daxbus=0 | - | etc cmdline-loop | rw | 0 | disabled by rd.daxbus=0 | | etc d755 | rw
early: a device node at etc/cmdline is skipped | early | rd.daxbus=0 | - | etc cmdline-dev | rw | 0 | skipped: not a regular file | | etc d755 | rw
early: an oversized cmdline.d file is skipped | early | rd.daxbus=0 | - | etc cmdline-big | rw | 0 | skipped: File too large | | etc d755 | rw
early: dracut-ng's run/initramfs/cmdline.d is read | early | ro | - | etc run-optout | rw | 0 | disabled by rd.daxbus=0 | initramfs d755;initramfs/cmdline.d d755;initramfs/cmdline.d/o.conf f644 =sha:SETUP | etc d755 | rw
early: vertical tab separates words, as in the kernel | early | ro\vrd.daxbus=0 | - | etc | rw | 0 | disabled by rd.daxbus=0 | | etc d755 | rw
early: a quote left open runs to the end | early | ro rd.daxbus="0 | - | etc | rw | 0 | disabled by rd.daxbus=0 | | etc d755 | rw
early: a quote left open in a baked cmdline.d file does not swallow /proc's rd.daxbus=0 | early | ro rd.daxbus=0 | rd.luks.name="a b | etc | rw | 0 | disabled by rd.daxbus=0 | | etc d755 | rw
early: a baked file's words before its open quote count | early | ro | rd.daxbus=0 rd.x="y | etc | rw | 0 | disabled by rd.daxbus=0 | | etc d755 | rw
early: the last occurrence wins | early | rd.daxbus=0 rd.daxbus=1 | - | etc | rw | 0 | runtime policy installed | modprobe.d d755;modprobe.d/daxctl.conf f644 =policy | etc d755 | rw
early: empty value is true, as dracut-getarg | early | rd.daxbus= | - | etc | rw | 0 | runtime policy installed | modprobe.d d755;modprobe.d/daxctl.conf f644 =policy | etc d755 | rw
root: OSTree with a bad cmdline.d source still leaves the root alone | root | ro ostree=/ostree/x | - | etc cmdline-dir | rw | 0 | OSTree deployment | | etc d755 | rw
root: writable sysroot | root | rw | - | etc | rw | 0 | policy persisted in | | etc d755;etc/modprobe.d d755;etc/modprobe.d/daxctl.conf f644 =policy | rw
root: read-only bind mount, restored | root | ro | - | etc | ro-bind | 0 | remounted SYSROOT read-only again | | etc d755;etc/modprobe.d d755;etc/modprobe.d/daxctl.conf f644 =policy | ro
root: read-only super block, restored | root | ro | - | etc | ro-super | 0 | remounted SYSROOT read-write for the write | | etc d755;etc/modprobe.d d755;etc/modprobe.d/daxctl.conf f644 =policy | ro
root: cannot remount, runtime only | root | ro | - | etc | ro-noremount | 1 | cannot be remounted read-write | | etc d755 | ro
root: OSTree leaves the root alone | root | ro ostree=/ostree/boot.1/debian/0 | - | etc | ro-bind | 0 | OSTree deployment (ostree= given): runtime policy only | | etc d755 | ro
root: OSTree with rd.daxbus.persist=1 | root | ostree=/ostree/x rd.daxbus.persist=1 | - | etc | rw | 0 | policy persisted | | etc d755;etc/modprobe.d d755;etc/modprobe.d/daxctl.conf f644 =policy | rw
root: rd.daxbus.persist=0 | root | ro | rd.daxbus.persist=0 | etc | rw | 0 | rd.daxbus.persist=0: runtime policy only | | etc d755 | rw
root: rd.daxbus=0 | root | rd.daxbus=0 | - | etc | rw | 0 | disabled by rd.daxbus=0 | | etc d755 | rw
root: foreign daxctl.conf | root | ro | - | foreign | ro-bind | 1 | administrator's file); left alone | | etc d755;etc/modprobe.d d755;etc/modprobe.d/daxctl.conf f644 =foreign | ro
root: daxctl symlink counts as opted in | root | ro | - | daxlink | ro-bind | 0 | already in place | | etc d755;etc/modprobe.d d755;etc/modprobe.d/daxctl.conf l -> /usr/share/daxctl/daxctl.conf;usr d755;usr/share d755;usr/share/daxctl d755;usr/share/daxctl/daxctl.conf f644 =policy | ro
root: SELinux relabel requested | root | ro | - | etc selinux | rw | 0 | will be relabelled after switch-root | systemd d755;systemd/relabel-extra.d d755;systemd/relabel-extra.d/daxbus.relabel f644 =sha:e4fcd1221fd6 | etc d755;etc/modprobe.d d755;etc/modprobe.d/daxctl.conf f644 =policy;etc/selinux d755;etc/selinux/config f644 =sha:181ef1d3319a | rw
root: no sysroot | root | ro | - | nosysroot | rw | 1 | runtime policy only | | | -
TABLE
)

while IFS='|' read -r name step proc baked sys mnt want_rc want_msg want_run want_sys want_left; do
	name=$(trim "$name"); step=$(trim "$step"); proc=$(trim "$proc"); baked=$(trim "$baked"); sys=$(trim "$sys")
	mnt=$(trim "$mnt"); want_rc=$(trim "$want_rc"); want_msg=$(trim "$want_msg"); want_run=$(trim "$want_run")
	want_sys=$(trim "$want_sys"); want_left=$(trim "$want_left")
	dir=$(t_tmp initrd)
	root=$dir/root
	mkinitrd_tree "$root" "$proc" "$baked" "$sys" || { fail "$name" "bad setup"; continue; }
	out=$(unshare -m bash -c 'inner "$@"' inner "$root" "$mnt" "$step" 2>&1 </dev/null)
	want_msg=${want_msg//SYSROOT/$root/sysroot}
	rc=$(sed -n 's/^exit=//p' <<<"$out")
	left=$(sed -n 's/^sysroot=//p' <<<"$out")
	[ -n "$left" ] || left=-
	got_run=$(manifest "$root/run")
	[[ $want_run == *=sha:SETUP* ]] && want_run=${want_run//=sha:SETUP/=sha:$(printf 'rd.daxbus=0\n' | sha256sum | cut -c1-12)}
	got_sys=$( [ -d "$root.after" ] && manifest "$root.after")
	if [ "$rc" != "$want_rc" ]; then
		fail "$name" "exit $rc, expected $want_rc" "$out"
	elif [[ $out != *"$want_msg"* ]]; then
		fail "$name" "output lacks: $want_msg" "$out"
	elif [ "$got_run" != "$(tr ';' '\n' <<<"$want_run" | sed '/^$/d')" ]; then
		fail "$name" "run/ differs: $(tr '\n' ';' <<<"$got_run")"
	elif [ "$got_sys" != "$(tr ';' '\n' <<<"$want_sys" | sed '/^$/d')" ]; then
		fail "$name" "sysroot differs: $(tr '\n' ';' <<<"$got_sys")"
	elif [ "$left" != "$want_left" ]; then
		fail "$name" "sysroot left $left, expected $want_left" "$out"
	else
		pass "$name"
	fi
	rm -rf "$dir"
done <<<"$CASES"

# The relabel list names the file as the booted system sees it.
dir=$(t_tmp initrd)
mkinitrd_tree "$dir/root" "ro" "-" "selinux"
"$DAXBUS" initrd root --root "$dir/root" --sysroot "$dir/root/sysroot" --log stderr 2>/dev/null
if [ "$(cat "$dir/root/run/systemd/relabel-extra.d/daxbus.relabel" 2>&1)" = $'/etc/modprobe.d\n/etc/modprobe.d/daxctl.conf' ]; then
	pass "relabel list: /etc/modprobe.d and /etc/modprobe.d/daxctl.conf"
else
	fail "relabel list" "$(cat "$dir/root/run/systemd/relabel-extra.d/daxbus.relabel" 2>&1)"
fi
rm -rf "$dir"
t_done
