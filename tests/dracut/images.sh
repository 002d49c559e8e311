#!/bin/bash
# Real dracut images (dracut 059, Debian's 5.10 and 6.1 kernel trees, both
# init flavours) built with the working tree's module, inspected with
# lsinitrd: the static helper and the policy are in, the hooks or units are
# in with the right ordering, and nothing activates the policy at build time.
# Also: opt-in only, the installer drop-in, and the `make install` layout.
set -uo pipefail
. "$(dirname "$0")/../lib/t.sh"
. "$(dirname "$0")/../lib/dracut.sh"
t_require dracut lsinitrd readelf

K510=${DAXBUS_K510:-5.10.0-32-amd64}
K61=${DAXBUS_K61:-6.1.0-50-amd64}
IMG=$T_WORK/images
mkdir -p "$IMG"
UNITS=usr/lib/systemd/system

has() { grep -qE "$2" <<<"$1"; }
extract() { lsinitrd "$1" -f "$2" 2>/dev/null; }

check_image() {
	local img=$1 flavour=$2 name=$3 list unit ok=1 why=()
	list=$(lsinitrd "$img" 2>/dev/null)
	has "$list" ' usr/sbin/daxbus$' || { ok=0; why+=("no usr/sbin/daxbus"); }
	extract "$img" usr/sbin/daxbus >"$img.daxbus"
	cmp -s "$img.daxbus" "$DAXBUS" || { ok=0; why+=("usr/sbin/daxbus is not build/daxbus"); }
	has "$(readelf -d "$img.daxbus" 2>&1)" 'NEEDED|Error|Not an ELF' && { ok=0; why+=("helper has NEEDED entries or is not ELF"); }
	# the helper carries the policy; no copy of it anywhere in the image
	has "$list" 'daxctl\.conf$' && { ok=0; why+=("a daxctl.conf in the image (the policy must come from the helper at boot)"); }
	if [ "$flavour" = systemd ]; then
		unit=$(extract "$img" $UNITS/daxbus-early.service)
		has "$unit" '^Before=.*systemd-udevd\.service' || { ok=0; why+=("early unit not Before=systemd-udevd.service"); }
		has "$unit" '^DefaultDependencies=no' || { ok=0; why+=("early unit has default dependencies"); }
		has "$unit" '^ExecStart=-/usr/sbin/daxbus initrd early' || { ok=0; why+=("early unit failure not ignored"); }
		unit=$(extract "$img" $UNITS/daxbus-root.service)
		has "$unit" '^After=.*sysroot\.mount.*initrd-root-fs\.target' || { ok=0; why+=("root unit not After=sysroot.mount initrd-root-fs.target"); }
		has "$unit" '^Before=.*initrd-parse-etc\.service' || { ok=0; why+=("root unit not Before=initrd-parse-etc.service"); }
		has "$unit" '^ExecStart=-/usr/sbin/daxbus initrd root' || { ok=0; why+=("root unit failure not ignored"); }
		# enabled as dracut's own modules do it ($SYSTEMCTL add-wants: links in etc/systemd/system)
		has "$list" " (etc|usr/lib)/systemd/system/sysinit.target.wants/daxbus-early.service " || { ok=0; why+=("early unit not enabled"); }
		has "$list" " (etc|usr/lib)/systemd/system/initrd.target.wants/daxbus-root.service " || { ok=0; why+=("root unit not enabled"); }
		has "$list" 'hooks/.*daxbus' && { ok=0; why+=("shell hooks in a systemd image"); }
		has "$list" "$UNITS/systemd-udevd.service" || { ok=0; why+=("not a systemd initrd"); }
	else
		has "$list" 'hooks/pre-udev/05-daxbus-early-hook.sh' || { ok=0; why+=("no pre-udev hook"); }
		has "$list" 'hooks/pre-pivot/50-daxbus-root-hook.sh' || { ok=0; why+=("no pre-pivot hook"); }
		has "$list" 'daxbus-(early|root)\.service' && { ok=0; why+=("units in a shell-init image"); }
		has "$list" "$UNITS/systemd-udevd.service" && { ok=0; why+=("systemd in the shell-init image"); }
	fi
	if [ "$ok" = 1 ]; then pass "$name"; else fail "$name" "${why[@]}"; fi
}

for kver in "$K510" "$K61"; do
	for flavour in systemd shell; do
		img=$IMG/$kver-$flavour.img
		if dracut_build "$img" "$kver" "$flavour" --add daxbus; then
			check_image "$img" "$flavour" "image $kver ($flavour): helper, no policy copy, $([ $flavour = systemd ] && echo units || echo hooks)"
		else
			fail "image $kver ($flavour)" "dracut failed, see $img.log"
		fi
	done
done

# check() returns 255: not in an image unless asked for.
img=$IMG/$K510-not-asked.img
if dracut_build "$img" "$K510" systemd && ! has "$(lsinitrd "$img")" daxbus; then
	pass "opt-in only: no daxbus without --add"
else
	fail "opt-in only" "daxbus in an image that did not ask for it (or dracut failed)"
fi

# Installer-time opt-in: the target root's dracut configuration pulls it in.
target=$(t_tmp dracut)
mkdir -p "$target/etc"
if "$DAXBUS" enable --root "$target" --dracut 2>/dev/null; then
	img=$IMG/$K510-installer.img
	if DRACUT_CONFDIR=$target/etc/dracut.conf.d dracut_build "$img" "$K510" systemd &&
		has "$(lsinitrd "$img")" ' usr/sbin/daxbus$'; then
		pass "installer: enable --dracut makes the target's dracut include the module"
	else
		fail "installer drop-in" "module not included, see $img.log"
	fi
else
	fail "installer drop-in" "daxbus enable --dracut failed"
fi

# The drop-in left behind once the package (and with it the module) is gone:
# dracut goes on building images.  daxbus 0.1's unconditional drop-in is the
# control: with it, dracut fails for want of the module.
gone=$T_WORK/dracut-base-gone
rm -rf "$gone"
cp -al "$(dracut_base_dir "")" "$gone" && rm -rf "$gone/modules.d/50daxbus"
for v in current 0.1; do
	mkdir -p "$target/etc/dracut.conf.d"
	cp "$T_TOP/dracut/daxbus$([ "$v" = 0.1 ] && echo -0.1).conf" "$target/etc/dracut.conf.d/daxbus.conf"
	img=$IMG/$K510-module-gone-$v.img
	rm -f "$img"
	DRACUT_BASEDIR=$gone DRACUT_CONFDIR=$target/etc/dracut.conf.d dracut_build "$img" "$K510" systemd --no-kernel 2>/dev/null
	rc=$?
	if [ "$v" = current ] && [ "$rc" = 0 ] && [ -s "$img" ]; then
		pass "module removed, drop-in left behind: dracut still builds the image"
	elif [ "$v" = 0.1 ] && [ "$rc" != 0 ] && grep -qi "module 'daxbus' cannot be found" "$img.log"; then
		pass "control: 0.1's unconditional drop-in without the module makes dracut fail (status $rc)"
	else
		fail "module removed, $v drop-in left behind" "dracut status $rc" "$(tail -3 "$img.log")"
	fi
done
rm -rf "$target" "$gone"

# make install: the layout users get, and a module that finds what it installed.
dest=$(t_tmp install)
if make -s -C "$T_TOP" install DESTDIR="$dest" prefix=/usr >/dev/null 2>&1; then
	missing=()
	for f in usr/sbin/daxbus usr/share/daxbus/daxctl.conf usr/lib/dracut/modules.d/50daxbus/module-setup.sh \
		usr/lib/dracut/modules.d/50daxbus/daxbus-early-hook.sh usr/lib/dracut/modules.d/50daxbus/daxbus-root.service \
		usr/share/man/man8/daxbus.8 usr/share/man/man7/dracut.daxbus.7; do
		[ -e "$dest/$f" ] || missing+=("$f")
	done
	if [ ${#missing[@]} -eq 0 ] && grep -q '"/usr/sbin/daxbus"' "$dest/usr/lib/dracut/modules.d/50daxbus/module-setup.sh" &&
		! grep -q '@SBINDIR@' "$dest/usr/lib/dracut/modules.d/50daxbus/module-setup.sh"; then
		pass "make install DESTDIR: helper, policy, module (paths substituted), man pages"
	else
		fail "make install layout" "missing: ${missing[*]:-none}; module-setup.sh: $(grep -n daxbus\" "$dest/usr/lib/dracut/modules.d/50daxbus/module-setup.sh")"
	fi
	# the installed module, with dracut pointed at the DESTDIR helper
	img=$IMG/$K510-installed.img
	if base=$(dracut_base_dir "$dest/usr/lib/dracut/modules.d/50daxbus") &&
		DAXBUS_HELPER=$dest/usr/sbin/daxbus DRACUT_BASEDIR=$base \
		dracut_build "$img" "$K510" systemd --add daxbus &&
		extract "$img" usr/sbin/daxbus | cmp -s - "$dest/usr/sbin/daxbus"; then
		pass "installed module builds an image with the installed helper"
	else
		fail "installed module" "see $img.log"
	fi
	# no helper anywhere: dracut must say why and fail.  A daxbus installed
	# on this machine (the .deb) is hidden from dracut in a private mount
	# namespace, so the case means the same everywhere: each directory that
	# has one is overlaid with a whiteout of it (a file bound over it would
	# still be found by bash's PATH search, which dracut falls back to).
	img=$IMG/$K510-nohelper.img
	rm -f "$img"
	# shellcheck disable=SC2016 # expanded by the inner shell
	PATH=/usr/sbin:/usr/bin:/sbin:/bin DRACUT_BASEDIR=$base unshare -m bash -c '
		for d in /usr/sbin /usr/bin /sbin /bin /usr/local/sbin /usr/local/bin; do
			[ -L "$d" ] || [ ! -e "$d/daxbus" ] && continue
			w=$(mktemp -d "${2%/*}/.whiteout.XXXXXX") && mknod "$w/daxbus" c 0 0 &&
				mount -t overlay overlay -o "lowerdir=$w:$d" "$d" || exit 99
		done
		. "$1/lib/t.sh"; . "$1/lib/dracut.sh"
		dracut_build "$2" "$3" systemd --add daxbus' sh "$T_TOP/tests" "$img" "$K510" 2>/dev/null
	rc=$?
	rm -rf "$IMG"/.whiteout.*
	if [ "$rc" != 0 ] && [ "$rc" != 99 ] && grep -q "daxbus: the daxbus helper was not found" "$img.log" && [ ! -e "$img" ]; then
		pass "missing helper: dracut says the daxbus helper was not found and fails (status $rc, no image)"
	else
		fail "missing helper" "dracut status $rc, image $([ -e "$img" ] && echo written || echo absent)" "$(tail -3 "$img.log")"
	fi
else
	fail "make install DESTDIR" "make install failed"
fi
rm -rf "$dest"
# the images are kept for a look only when something failed
[ "$t_failed" -eq 0 ] && rm -f "$IMG"/*.img "$IMG"/*.img.daxbus
t_done
