# shellcheck shell=bash
# A private copy of dracut's base directory with the working tree's daxbus
# module in it, so tests build real images without installing anything into
# /usr/lib/dracut.  dracut 059 honours $dracutbasedir for this.  Uses T_TOP,
# T_WORK and DAXBUS of lib/t.sh when set.
[ -n "${LIB_DRACUT_LOADED-}" ] && return 0
LIB_DRACUT_LOADED=1
: "${T_TOP:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${T_WORK:=$T_TOP/build/tests}"
: "${DAXBUS:=$T_TOP/build/daxbus}"

# Usage: dracut_base_dir [MODULE_DIR]  -> prints the directory
# Without MODULE_DIR the module comes from the working tree, with the built
# helper beside it; with MODULE_DIR (an installed 50daxbus, as
# `make install DESTDIR=...` lays it out) that directory is used as it is.
# The module is put in afresh on every call.
dracut_base_dir() {
	local src=${1-} base=$T_WORK/dracut-base mod
	[ -n "$src" ] && base=$T_WORK/dracut-base-installed
	mod=$base/modules.d/50daxbus
	mkdir -p "$T_WORK"
	if [ ! -f "$base/dracut-init.sh" ]; then
		rm -rf "$base.tmp"
		cp -a /usr/lib/dracut "$base.tmp" || return 1
		rm -rf "$base.tmp/modules.d/50daxbus"
		rm -rf "$base" && mv "$base.tmp" "$base"
	fi
	rm -rf "$mod"
	if [ -n "$src" ]; then
		cp -a "$src" "$mod" || return 1
	else
		mkdir -p "$mod"
		cp "$T_TOP"/dracut/50daxbus/* "$mod/"
		cp "$DAXBUS" "$mod/daxbus"
	fi
	echo "$base"
}

# Usage: dracut_build OUT KVER FLAVOUR [dracut args...]
#   FLAVOUR: systemd (dracut's systemd initrd) or shell (dracut's own init)
# Hermetic: no host configuration, uncompressed, log in OUT.log.  The
# environment can point it elsewhere:
#   DRACUT_BASEDIR  dracut's base directory  (default: dracut_base_dir)
#   DRACUT_CONFDIR  dracut.conf.d to read    (default: an empty directory)
#   DRACUT_KMODDIR  kernel module tree       (default: tools/fetch-kernel.sh KVER)
#   DRACUT_DRIVERS  "all": dracut's own choice for a generic image (every
#                   storage, HID and file system driver: 118 MB, 26 s);
#                   default "qemu": what the QEMU machine of the boot cells
#                   needs and what a generic image holds of the NVDIMM stack
#                   (nd_pmem and its kin), 33 MB in 10 s.  daxbus's module
#                   adds its own drivers either way.
QEMU_DRIVERS="virtio_pci virtio_blk virtio_scsi virtio_console nd_pmem nd_btt nd_e820 libnvdimm nfit"
dracut_build() {
	local out=$1 kver=$2 flavour=$3 base confdir kmods
	shift 3
	base=${DRACUT_BASEDIR:-$(dracut_base_dir "")} || return 1
	kmods=${DRACUT_KMODDIR:-$("$T_TOP/tools/fetch-kernel.sh" "$kver")/lib/modules/$kver} || return 1
	confdir=${DRACUT_CONFDIR:-$T_WORK/empty-confdir}
	mkdir -p "$T_WORK/empty-confdir" "$(dirname "$out")"
	local omit=() drivers=()
	[ "$flavour" = shell ] && omit=(--omit "systemd systemd-initrd systemd-udevd systemd-journald systemd-sysusers systemd-modules-load systemd-tmpfiles systemd-sysctl systemd-ask-password dracut-systemd")
	[ "${DRACUT_DRIVERS:-qemu}" = all ] || drivers=(--omit kernel-modules --filesystems ext4 --add-drivers "$QEMU_DRIVERS")
	dracutbasedir=$base dracut --no-hostonly --no-compress --no-early-microcode --force \
		--conf /dev/null --confdir "$confdir" "${omit[@]}" "${drivers[@]}" \
		--kver "$kver" --kmoddir "$kmods" "$@" "$out" >"$out.log" 2>&1 ||
		{ echo "dracut failed for $out:" >&2; tail -n 15 "$out.log" >&2; return 1; }
}
