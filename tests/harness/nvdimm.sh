# shellcheck shell=bash
# The emulated NVDIMM: a backing file that holds a devdax namespace.  The
# conversion (ndctl create-namespace -m devdax in a guest) takes a whole
# boot, so it is done once and cached; the info block persists in the file,
# and every boot gets a sparse copy of its own because the guest writes to
# it.
#
#   boot_nvdimm OUT          a fresh copy of the converted NVDIMM
#   boot_nvdimm_uuid         the uuid of its devdax namespace (the nd dax
#                            info block's, what daxctl's nvdimm.uuid matches)
# shellcheck source=base.sh
. "$(dirname "${BASH_SOURCE[0]}")/base.sh"
# shellcheck source=roots.sh
. "$(dirname "${BASH_SOURCE[0]}")/roots.sh"
# shellcheck source=qemu.sh
. "$(dirname "${BASH_SOURCE[0]}")/qemu.sh"
# shellcheck source=../lib/dracut.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/dracut.sh"
[ -n "${HARNESS_NVDIMM_LOADED-}" ] && return 0
HARNESS_NVDIMM_LOADED=1

boot_nvdimm() {
	local out=${1:?boot_nvdimm OUT} cached=$BOOT_CACHE/nvdimm-devdax.img
	boot_locked nvdimm _boot_nvdimm_convert "$cached" || return 1
	mkdir -p "$(dirname "$out")"
	rm -f "$out"
	cp --sparse=always "$cached" "$out"
}

boot_nvdimm_uuid() {
	local cached=$BOOT_CACHE/nvdimm-devdax.img uuid
	boot_locked nvdimm _boot_nvdimm_convert "$cached" || return 1
	uuid=$(cat "$cached.uuid" 2>/dev/null)
	[ -n "$uuid" ] || boot_die "no uuid recorded in $cached.uuid" || return 1
	echo "$uuid"
}

_boot_nvdimm_convert() {
	local cached=$1 uuid work=$BOOT_CACHE/convert tree base initrd active
	# A copy converted before the uuid was recorded is converted again.
	[ -s "$cached.uuid" ] || rm -f "$cached"
	[ -e "$cached" ] && return 0
	boot_log "converting the NVDIMM to devdax (one boot)"
	mkdir -p "$work"
	tree=$(boot_rootfs_base) || return 1
	base=$(disk_base "$tree") || return 1
	disk_overlay "$base" "$work/disk.qcow2" || return 1
	initrd=$work/initrd-plain-$BOOT_KVER_BUS.img
	# the stock dracut, whatever the calling test set
	DRACUT_BASEDIR='' dracut_build "$initrd" "$BOOT_KVER_BUS" systemd || return 1
	rm -f "$work/nvdimm.img"
	truncate -s "$BOOT_NVDIMM_SIZE" "$work/nvdimm.img"
	guest_run nvdimm-convert "$BOOT_KVER_BUS" "$initrd" "$work/disk.qcow2" "$work/nvdimm.img" "daxbus.test=convert" || return 1
	active=$(boot_report_get nvdimm-convert nd_dax_active)
	if [ "$(boot_report_get nvdimm-convert convert_rc)" != 0 ] || [ -z "$active" ] || [ "$active" = none ]; then
		boot_die "NVDIMM conversion did not produce a devdax namespace, see $BOOT_DIR/nvdimm-convert/report.txt"
		return 1
	fi
	# create-namespace prints the new namespace as JSON; its "uuid" is the
	# devdax info block's (daxctl list shows the same).
	uuid=$(sed -n 's/^convert=.*"uuid": *"\([0-9a-f-]*\)".*/\1/p' "$BOOT_DIR/nvdimm-convert/report.txt" | head -n1)
	[ -n "$uuid" ] || boot_die "no uuid in the conversion's output, see $BOOT_DIR/nvdimm-convert/report.txt" || return 1
	echo "$uuid" >"$cached.uuid.tmp"
	mv "$work/nvdimm.img" "$cached"
	mv "$cached.uuid.tmp" "$cached.uuid"
	rm -rf "$work"
}
