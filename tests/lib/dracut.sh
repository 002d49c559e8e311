#!/bin/bash
# A private copy of dracut's base directory with the working tree's daxbus
# module in it, so tests build real images without installing anything into
# /usr/lib/dracut.  dracut 059 honours $dracutbasedir for this.
# Sourced after lib/t.sh.

# Usage: dracut_base_dir  -> prints the directory (rebuilt when the module changed)
dracut_base_dir() {
	local base=$T_WORK/dracut-base mod
	mod=$base/modules.d/50daxbus
	mkdir -p "$T_WORK"
	if [ ! -f "$base/dracut-init.sh" ]; then
		rm -rf "$base.tmp"
		cp -a /usr/lib/dracut "$base.tmp" || return 1
		rm -rf "$base.tmp/modules.d/50daxbus"
		rm -rf "$base" && mv "$base.tmp" "$base"
	fi
	rm -rf "$mod"
	mkdir -p "$mod"
	cp "$T_TOP"/dracut/50daxbus/* "$mod/"
	cp "$DAXBUS" "$mod/daxbus"
	cp "$POLICY_FILE" "$mod/daxctl.conf"
	echo "$base"
}

# Usage: dracut_build OUT KVER FLAVOUR [dracut args...]
#   FLAVOUR: systemd (dracut's systemd initrd) or shell (dracut's own init)
dracut_build() {
	local out=$1 kver=$2 flavour=$3 base kmods empty
	shift 3
	base=$(dracut_base_dir) || return 1
	kmods=$("$T_TOP/tools/fetch-kernel.sh" "$kver")/lib/modules/$kver || return 1
	empty=$T_WORK/empty-confdir
	mkdir -p "$empty" "$(dirname "$out")"
	local omit=()
	[ "$flavour" = shell ] && omit=(--omit "systemd systemd-initrd systemd-udevd systemd-journald systemd-sysusers systemd-modules-load systemd-tmpfiles systemd-sysctl systemd-ask-password dracut-systemd")
	dracutbasedir=$base dracut --no-hostonly --no-compress --no-early-microcode --force \
		--conf /dev/null --confdir "$empty" "${omit[@]}" \
		--kver "$kver" --kmoddir "$kmods" "$@" "$out" >"$out.log" 2>&1 ||
		{ echo "dracut failed for $out:" >&2; tail -n 15 "$out.log" >&2; return 1; }
}
