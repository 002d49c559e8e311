#!/bin/bash
# The README's installer and image-builder recipes, as far as this machine can
# run them: the in-target form (`in-target`, kickstart %post, chroot) inside a
# real debootstrapped Debian root, the --root form followed by a dracut run
# that reads only the target's configuration (Calamares, installers), and the
# bootc layout (make install into an image tree plus a dracut.conf.d file
# under /usr/lib).  Anaconda, Calamares, rpm-ostree and bootc do not run here.
set -uo pipefail
. "$(dirname "$0")/../lib/t.sh"
. "$(dirname "$0")/../lib/dracut.sh"
# shellcheck source=../harness/roots.sh
. "$(dirname "$0")/../harness/roots.sh"
t_require chroot dracut lsinitrd

K510=${DAXBUS_K510:-5.10.0-32-amd64}
boot_deps >/dev/null || { fail "requirement: boot packages" "boot_deps failed"; t_done; exit 1; }
rootfs=$(boot_rootfs_base) || { fail "requirement: Debian root" "boot_rootfs_base failed"; t_done; exit 1; }

# A disposable target: hard links keep it cheap; the files we add are new.
target=$(t_tmp recipes)/target
cp -al "$rootfs" "$target"
rm -f "$target/etc/modprobe.d/daxctl.conf" "$target/etc/dracut.conf.d/daxbus.conf"
install -D -m 0755 "$DAXBUS" "$target/usr/sbin/daxbus"

# preseed late_command / kickstart %post: the helper runs inside the target.
if out=$(chroot "$target" /usr/sbin/daxbus enable --dracut 2>&1) &&
	cmp -s "$target/etc/modprobe.d/daxctl.conf" "$POLICY_FILE" &&
	cmp -s "$target/etc/dracut.conf.d/daxbus.conf" "$T_TOP/dracut/daxbus.conf"; then
	pass "in-target (preseed, kickstart %post): enable --dracut inside a Debian root"
else
	fail "in-target enable" "$out"
fi
out=$(chroot "$target" /usr/sbin/daxbus enable --dracut 2>&1)
if [[ $out == *"already in place"* ]]; then pass "in-target: second run is a no-op"; else fail "in-target rerun" "$out"; fi

# Calamares/--root form: the target's own dracut configuration pulls the module in.
img=$T_WORK/images/recipe-calamares.img
rm -f "$target/etc/modprobe.d/daxctl.conf" "$target/etc/dracut.conf.d/daxbus.conf"
if "$DAXBUS" enable --root "$target" --dracut 2>/dev/null &&
	DRACUT_CONFDIR=$target/etc/dracut.conf.d DRACUT_KMODDIR=$target/lib/modules/$K510 \
		dracut_build "$img" "$K510" systemd &&
	list=$(lsinitrd "$img") && grep -q ' usr/sbin/daxbus$' <<<"$list"; then
	pass "--root DIR --dracut, then dracut with the target's confdir: module included"
else
	fail "--root recipe" "see $img.log"
fi

# bootc: install into the image tree, opt in through /usr/lib/dracut/dracut.conf.d.
tree=$(t_tmp recipes)/image
if make -s -C "$T_TOP" install DESTDIR="$tree" prefix=/usr >/dev/null 2>&1; then
	mkdir -p "$tree/usr/lib/dracut/dracut.conf.d"
	echo 'add_dracutmodules+=" daxbus "' >"$tree/usr/lib/dracut/dracut.conf.d/50-daxbus.conf"
	img=$T_WORK/images/recipe-bootc.img
	if b=$(dracut_base_dir "$tree/usr/lib/dracut/modules.d/50daxbus") &&
		DAXBUS_HELPER=$tree/usr/sbin/daxbus DRACUT_BASEDIR=$b \
		DRACUT_CONFDIR=$tree/usr/lib/dracut/dracut.conf.d DRACUT_KMODDIR=$target/lib/modules/$K510 \
		dracut_build "$img" "$K510" systemd &&
		list=$(lsinitrd "$img") && grep -q ' usr/sbin/daxbus$' <<<"$list"; then
		pass "bootc layout: make install + /usr/lib/dracut/dracut.conf.d drop-in"
	else
		fail "bootc recipe" "see $img.log"
	fi
else
	fail "bootc recipe" "make install DESTDIR failed"
fi
rm -rf "$(dirname "$target")" "$(dirname "$tree")"
[ "$t_failed" -eq 0 ] && rm -f "$T_WORK"/images/recipe-*.img
t_done
