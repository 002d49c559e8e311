# shellcheck shell=bash
# Boot cells for initramfs-tools (Debian 11/12, Ubuntu 20.04/22.04): Debian
# 11's 5.10 kernel (has dax_pmem_compat) booting a Debian 12 root whose
# initramfs is built by its own initramfs-tools (update-initramfs in a
# chroot of the root), with daxbus installed into that root the way a user
# does (`make install DESTDIR=<root> prefix=/usr`, then the opt-in file).
# Sourced by tests/harness/boot.sh.
# shellcheck disable=SC2154 # boot, cell (the scheduler), K510 (boot.sh)

ITOOLS_KVER=$ROOTS_KVER
# Modules of the NVDIMM chain and the DAX drivers, nd chain first.
ITOOLS_DAX_MODULES="nfit libnvdimm nd_pmem dax_pmem_core dax_pmem dax_pmem_compat device_dax"
ITOOLS_OPTIN=$'# written by daxbus enable --initramfs: include daxbus in every initramfs\nDAXBUS=y\n'

# A guest action (stdout into the report): the root's ext4 mount and
# remounts, with their kernel timestamps.
itools_guest_action() {
	# shellcheck disable=SC2016 # the action's text
	printf '%s\n' 'dmesg | sed -n '\''s/^\[ *\([0-9.]*\)\] EXT4-fs (vda): \(.*\)/ext4_vda=\1 \2/p'\' >"$1/itools.sh"
}

# _itools_image ROOT DIR NAME CMD...: run CMD in ROOT (it builds
# /boot/NAME.img), then keep it in DIR with its lsinitramfs listing and
# ORDER files (DIR/NAME.img, NAME.list, NAME.ORDER.{init-top,init-bottom}).
_itools_image() {
	local t=$1 d=$2 name=$3 step
	shift 3
	root_chroot "$t" "$@" || return 1
	[ -s "$t/boot/$name.img" ] || { echo "no /boot/$name.img"; return 1; }
	root_chroot "$t" lsinitramfs "/boot/$name.img" >"$d/$name.list" || return 1
	rm -rf "$t/tmp/$name.d"
	root_chroot "$t" unmkinitramfs "/boot/$name.img" "/tmp/$name.d" || return 1
	for step in init-top init-bottom; do
		cp "$t/tmp/$name.d/scripts/$step/ORDER" "$d/$name.ORDER.$step" || return 1
	done
	rm -rf "$t/tmp/$name.d"
	mv "$t/boot/$name.img" "$d/$name.img"
}

# The root without daxbus: initrd.img = update-initramfs -c (the baseline).
itools_base_plain() {
	local d=$1 t=$1/root
	root_copy "$(root_variant itools)" "$t" && rm -f "$t/boot/initrd.img-$ITOOLS_KVER" || return 1
	itools_guest_action "$t/usr/local/lib/daxbus-guest.d"
	_itools_image "$t" "$d" initrd sh -c "update-initramfs -c -k $ITOOLS_KVER && mv /boot/initrd.img-$ITOOLS_KVER /boot/initrd.img" &&
		disk_mkfs "$t" "$d/disk.img" && rm -rf "$t"
}

# The root with `make install DESTDIR=<root> prefix=/usr` and the opt-in file:
#   initrd.img        update-initramfs -c with Debian's defaults
#   initrd-dax.img    mkinitramfs with the DAX drivers in the modules file
#                     of a copy of /etc/initramfs-tools
#   initrd-crash.img  mkinitramfs with DAXBUS_HELPER naming a helper that
#                     segfaults
# built in parallel (a MODULES=most image takes minutes on a busy machine).
itools_base_optin() {
	local d=$1 t=$1/root m pids=() p rc=0
	root_copy "$(root_variant itools)" "$t" && rm -f "$t/boot/initrd.img-$ITOOLS_KVER" || return 1
	make -s -C "$BOOT_TOP" install DESTDIR="$t" prefix=/usr || return 1
	printf '%s' "$ITOOLS_OPTIN" >"$t/etc/initramfs-tools/conf.d/daxbus"
	itools_guest_action "$t/usr/local/lib/daxbus-guest.d"
	cp -a "$t/etc/initramfs-tools" "$t/tmp/conf-dax"
	for m in $ITOOLS_DAX_MODULES; do echo "$m"; done >"$t/tmp/conf-dax/modules"
	fake_helper "$t/tmp/crashing-helper" crash || return 1
	_itools_image "$t" "$d" initrd sh -c "update-initramfs -c -k $ITOOLS_KVER && mv /boot/initrd.img-$ITOOLS_KVER /boot/initrd.img" &
	pids+=($!)
	_itools_image "$t" "$d" initrd-dax mkinitramfs -d /tmp/conf-dax -o /boot/initrd-dax.img "$ITOOLS_KVER" &
	pids+=($!)
	_itools_image "$t" "$d" initrd-crash env DAXBUS_HELPER=/tmp/crashing-helper mkinitramfs -o /boot/initrd-crash.img "$ITOOLS_KVER" &
	pids+=($!)
	for p in "${pids[@]}"; do
		wait "$p" || rc=1
	done
	[ "$rc" = 0 ] || return 1
	grep -q '^MODULES=most$' "$t/etc/initramfs-tools/initramfs.conf" || { echo "not Debian's default MODULES=most"; return 1; }
	rm -rf "$t/tmp/conf-dax" "$t/tmp/crashing-helper"
	disk_mkfs "$t" "$d/disk.img" && rm -rf "$t"
}
sched_base itools-plain itools_base_plain
sched_base itools-optin itools_base_optin

# cell | root | image | kernel arguments
ITOOLS_BOOTS=$(cat <<TABLE
itools-baseline | plain | initrd |
itools-initramfs-bus | optin | initrd-dax | $APPEND_DEBUG rd.daxbus.debug
itools-firstboot | optin | initrd | $APPEND_DEBUG rd.daxbus.debug
itools-optout | optin | initrd | rd.daxbus=0
itools-crashing-helper | optin | initrd-crash |
itools-default-modules | optin | initrd |
TABLE
)
while IFS='|' read -r _c _root _img _a; do
	_c=$(trim "$_c") _root=$(trim "$_root") _img=$(trim "$_img")
	sched_boot "$_c" kver="$ITOOLS_KVER" disk="base:itools-$_root" initrd="base:itools-$_root:$_img.img" append="$(trim "$_a")"
	sched_cell "$_c" "$_c" "check_${_c//-/_}" "$_root" "$_img"
	ALL_CELLS+=("$_c")
done <<<"$ITOOLS_BOOTS"
unset _c _root _img _a

# The listing of the image a cell booted: ROOT IMAGE are the check's arguments.
itools_list() { echo "$BOOT_DIR/bases/run-itools-$1/$2.list"; }

# The DAX modules in the image, space separated.
itools_image_dax_modules() {
	local m found=""
	for m in $ITOOLS_DAX_MODULES; do
		grep -q "/$m\.ko" "$(itools_list "$1" "$2")" && found="$found $m"
	done
	echo "${found# }"
}

# The image's ORDER files put daxbus before udev, in init-top and init-bottom.
itools_expect_order() {
	local step a b f
	for step in init-top init-bottom; do
		f=$BOOT_DIR/bases/run-itools-$1/$2.ORDER.$step
		a=$(grep -n "/scripts/$step/daxbus " "$f" 2>/dev/null | cut -d: -f1 | head -n1)
		b=$(grep -n "/scripts/$step/udev " "$f" 2>/dev/null | cut -d: -f1 | head -n1)
		if [ -z "$a" ] || [ -z "$b" ] || [ "$a" -ge "$b" ]; then
			seen+=("$step ORDER: daxbus at line ${a:-none}, udev at line ${b:-none}")
		fi
	done
}

# The kernel log shows the root remounted rw and ro again by the helper
# before the real root's systemd started: two ext4 remounts of vda then.
itools_expect_ro_again() {
	local root_ts n
	root_ts=$(r root_systemd_ts)
	n=$(grep '^ext4_vda=' "$BOOT_DIR/$boot/report.txt" | grep 're-mounted' |
		awk -v t="$root_ts" '{ split($1, a, "="); if (a[2] + 0 < t + 0) n++ } END { print n + 0 }')
	[ "$n" = 2 ] || seen+=("ext4 remounts of the root in the initramfs: $n (want 2: rw, then ro)")
}

# No daxbus at all: the harness sees the compat model (and can fail).
check_itools_baseline() {
	compat_model
	no_policy_files
	expect_no_kmsg
	grep -q 'daxbus' "$(itools_list "$1" "$2")" && seen+=("daxbus in the image")
	return 0
}

# DAX drivers in the image (listed in the modules file): dax_pmem loads in
# the initramfs, the early step runs before udevd.
check_itools_initramfs_bus() {
	[ "$(itools_image_dax_modules "$1" "$2")" = "$ITOOLS_DAX_MODULES" ] ||
		seen+=("image has DAX modules: $(itools_image_dax_modules "$1" "$2")")
	itools_expect_order "$1" "$2"
	expect_bus_from_initramfs "$ITOOLS_KVER"
}

# DAX drivers only in the root (Debian's defaults), root mounted ro: bus
# model at the first boot, policy persisted, root ro again before run-init.
check_itools_firstboot() {
	itools_image_dax_modules "$1" "$2" | tr ' ' '\n' | grep -q -x -e dax_pmem -e dax_pmem_compat &&
		seen+=("image has DAX drivers: $(itools_image_dax_modules "$1" "$2")")
	itools_expect_order "$1" "$2"
	expect_before_udevd
	expect_bus_from_root /root
	itools_expect_ro_again
}

# rd.daxbus=0: compat model, nothing written anywhere.
check_itools_optout() {
	compat_model
	no_policy_files
	expect_kmsg "daxbus: disabled by rd.daxbus=0: no policy installed"
	expect_kmsg "daxbus: disabled by rd.daxbus=0: root left untouched"
}

# The image exactly as update-initramfs builds it with Debian's defaults
# (MODULES=most), no debugging options: bus model.  Records the DAX modules
# that default puts in the image (none).
check_itools_default_modules() {
	local mods
	mods=$(itools_image_dax_modules "$1" "$2")
	echo "${mods:-none}" >"$BOOT_DIR/$cell/dax-modules"
	grep -qx 'usr/sbin/daxbus' "$(itools_list "$1" "$2")" || seen+=("update-initramfs left daxbus out")
	bus_model
	expect conf./etc/modprobe.d/daxctl.conf "file:$POLICY_SHA"
	expect_kmsg "daxbus: runtime policy installed in /run/modprobe.d/daxctl.conf"
}

# A helper that segfaults: the boot reaches the root, compat model, the
# scripts say what happened.
check_itools_crashing_helper() {
	compat_model
	no_policy_files
	expect_kmsg "daxbus: helper failed (status 139); boot continues without the runtime policy"
	expect_kmsg "daxbus: helper failed (status 139); root left as it was"
}
