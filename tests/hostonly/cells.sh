# shellcheck shell=bash
# Boot cells for hostonly dracut images rebuilt on the machine itself, the
# way Fedora, RHEL and SUSE build them.  The guest root is `root_variant
# dracut` (Debian's dracut and the 5.10 kernel package installed with dpkg);
# everything that decides the image happens inside the guest: the .deb
# installed with dpkg -i, `daxbus enable --dracut`, `daxctl
# migrate-device-model`, and `dracut -f -H`.  A second boot of the same disk
# then boots the image the guest built (initrd=disk:/boot/initrd.img-KVER).
#
#   hostonly-build -> hostonly-daxbus, hostonly-optout
#       stage 1 installs and enables daxbus and rebuilds the image once;
#       both cells boot overlays of its disk (with and without rd.daxbus=0)
#   hostonly-stale-build -> hostonly-daxctl-stale
#       stage 1 rebuilds the image first and runs daxctl migrate-device-model
#       afterwards; stage 2 boots that stale image
# Sourced by tests/harness/boot.sh.
# shellcheck disable=SC2154 # boot, cell (the scheduler)

hostonly_here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
HOSTONLY_KVER=$ROOTS_KVER
# The DAX drivers as they sit in the image (kernel/drivers/dax/...).
HOSTONLY_DAX_KOS="dax_pmem dax_pmem_compat dax_pmem_core device_dax"
# A hostonly dracut run under TCG takes minutes: the agent's unit and QEMU
# get more time in the stage-1 boots.
HOSTONLY_DROPIN="$hostonly_here/actions/hostonly-timeout.conf:/etc/systemd/system/daxbus-guest.service.d/hostonly.conf"
# what both stage-1 actions source
HOSTONLY_LIB="$hostonly_here/actions/hostonly-dracut.sh:/var/lib/daxbus-test/hostonly-dracut.sh"
HOSTONLY_STAGE1_TIMEOUT=1000

# Stage 1's disk: the dracut root with the package of this tree (built once,
# tests/lib/deb.sh) where a user would have downloaded it.
hostonly_build_disk() {
	local b=$1 out=$2 tree deb
	tree=$(root_variant dracut) || return 1
	deb=$(deb_package) || return 1
	disk_overlay "$(disk_base "$tree")" "$out" || return 1
	disk_put "$out" "$deb" /var/lib/daxbus-test/daxbus.deb
	boot_log "$b: put $deb -> /var/lib/daxbus-test/daxbus.deb"
}

sched_boot hostonly-build kver="$HOSTONLY_KVER" disk=fn:hostonly_build_disk \
	initrd="disk:/boot/initrd.img-$HOSTONLY_KVER" put="$HOSTONLY_DROPIN $HOSTONLY_LIB" \
	actions="pre:$hostonly_here/actions/hostonly-build.sh" timeout="$HOSTONLY_STAGE1_TIMEOUT"
sched_boot hostonly-daxbus kver="$HOSTONLY_KVER" disk=after:hostonly-build \
	initrd="disk:/boot/initrd.img-$HOSTONLY_KVER" append="$APPEND_DEBUG rd.daxbus.debug"
sched_boot hostonly-optout kver="$HOSTONLY_KVER" disk=after:hostonly-build \
	initrd="disk:/boot/initrd.img-$HOSTONLY_KVER" append="$APPEND_DEBUG rd.daxbus=0"
sched_boot hostonly-stale-build kver="$HOSTONLY_KVER" disk="treefn:root_variant dracut" \
	initrd="disk:/boot/initrd.img-$HOSTONLY_KVER" put="$HOSTONLY_DROPIN $HOSTONLY_LIB" \
	actions="pre:$hostonly_here/actions/hostonly-stale-build.sh" timeout="$HOSTONLY_STAGE1_TIMEOUT"
sched_boot hostonly-daxctl-stale kver="$HOSTONLY_KVER" disk=after:hostonly-stale-build \
	initrd="disk:/boot/initrd.img-$HOSTONLY_KVER" append="$APPEND_DEBUG"

# --- what the image built in the guest holds ---------------------------------

# hostonly_image BOOT: lsinitrd of the image BOOT booted, kept beside it as
# initrd.lsinitrd (header and listing), read whole before any grep (with
# pipefail an early-closing grep -q would make lsinitrd's SIGPIPE look like
# a failure).
hostonly_image() {
	local b=$1 img out=$BOOT_DIR/$1/initrd.lsinitrd
	img=$(cat "$BOOT_DIR/$b/initrd.path" 2>/dev/null)
	if [ -z "$img" ] || ! lsinitrd "$img" >"$out" 2>&1; then
		seen+=("$b: lsinitrd of '${img:-no initrd.path}' failed")
		return 1
	fi
}

# The image was built by dracut in hostonly mode: its header records the
# arguments dracut was called with.
hostonly_expect_hostonly() {
	local args
	args=$(sed -n 's/^Arguments: *//p' "$BOOT_DIR/$1/initrd.lsinitrd")
	case " $args " in
	*" -H "* | *" --hostonly "*) ;;
	*) seen+=("$1: image not built with -H (Arguments: ${args:-none})") ;;
	esac
}

# hostonly_expect_in BOOT yes|no PATTERN WHAT: an image path matching the
# extended regular expression PATTERN is / is not there, as a file or as a
# symlink (daxctl's policy is a link: "PATH -> TARGET" in the listing).
hostonly_expect_in() {
	local b=$1 should=$2 pat=$3 what=$4 has=no
	grep -Eq " ${pat}( -> .*)?\$" "$BOOT_DIR/$b/initrd.lsinitrd" && has=yes
	[ "$has" = "$should" ] || seen+=("$b: image $([ "$should" = yes ] && echo lacks || echo has) $what")
}

# The DAX drivers in BOOT's image, space separated (also kept in dax-modules).
hostonly_dax_modules() {
	local m found=""
	for m in $HOSTONLY_DAX_KOS; do
		grep -Eq "/kernel/drivers/dax/(pmem/)?$m\.ko(\.[a-z]+)?\$" "$BOOT_DIR/$1/initrd.lsinitrd" && found="$found $m"
	done
	echo "${found# }" | tee "$BOOT_DIR/$1/dax-modules"
}

# The policy file inside BOOT's image has the policy's text.
hostonly_expect_image_policy() {
	local img got
	img=$(cat "$BOOT_DIR/$1/initrd.path")
	got=$(lsinitrd -f etc/modprobe.d/daxctl.conf "$img" 2>/dev/null | sha256sum | cut -d' ' -f1)
	[ "$got" = "$POLICY_SHA" ] || seen+=("$1: the image's etc/modprobe.d/daxctl.conf is not the policy")
}

# --- the cells ------------------------------------------------------------------

# Stage 1 of hostonly-daxbus/-optout: package installed with dpkg (the
# helper belongs to it), enabled, image rebuilt; the machine that built it
# ran the compat model (nothing rebinds a bound device).
hostonly_expect_build() {
	local version
	# the package's version (VERSION and the Debian revision)
	version=$(dpkg-parsechangelog -l "$BOOT_TOP/debian/changelog" -S Version)
	on hostonly-build
	expect hostonly.dpkg_rc 0
	expect hostonly.dpkg_status "install ok installed $version"
	expect hostonly.helper_owner "daxbus: /usr/sbin/daxbus"
	expect hostonly.enable_rc 0
	expect hostonly.dracut_rc 0
	compat_model
	expect conf./etc/modprobe.d/daxctl.conf "file:$POLICY_SHA"
}

# Measured with Debian 12's dracut 059 (README, "hostonly dracut"): stock
# hostonly dracut puts the NVDIMM's nd drivers (libnvdimm, nd_pmem, nd_btt)
# into the image but no DAX driver at all: nothing asks for drivers/dax, and
# hostonly only filters what modules ask for.  So an image built without
# daxbus (the stale cell) binds the nd dax device after switch-root, with the
# root's modprobe.d deciding.  daxbus's module adds the bus model's drivers
# (dax_pmem, device_dax and their dependencies, never dax_pmem_compat) to
# hostonly images of a machine with an nd dax device.
hostonly_expect_no_dax_drivers() {
	local mods
	mods=$(hostonly_dax_modules "$1")
	[ -z "$mods" ] || seen+=("$1: image holds DAX drivers: $mods")
}

# daxbus's installkernel: the bus model's drivers, not the compat one.
hostonly_expect_bus_drivers() {
	local mods
	mods=" $(hostonly_dax_modules "$1") "
	[[ $mods == *" dax_pmem "* && $mods == *" device_dax "* && $mods != *" dax_pmem_compat "* ]] ||
		seen+=("$1: image's DAX drivers are '${mods# }', want dax_pmem and device_dax without dax_pmem_compat")
}

# The image hostonly-build made, as booted by BOOT: hostonly, with the
# module and the root's policy file (copied from /etc by hostonly dracut).
hostonly_expect_daxbus_image() {
	local b=$1
	hostonly_image "$b" || return 0
	hostonly_expect_hostonly "$b"
	hostonly_expect_in "$b" yes 'usr/sbin/daxbus' "the daxbus helper"
	hostonly_expect_in "$b" yes 'etc/modprobe.d/daxctl.conf' "etc/modprobe.d/daxctl.conf"
	hostonly_expect_image_policy "$b"
	hostonly_expect_bus_drivers "$b"
}

# Package installed with dpkg and enabled in the guest, image rebuilt there
# in hostonly mode, reboot: the early step installs the runtime policy, the
# device binds to dax_pmem in the initramfs, bus model.
check_hostonly_daxbus() {
	hostonly_expect_build
	on hostonly-daxbus
	hostonly_expect_daxbus_image hostonly-daxbus
	bus_model
	expect_loaded_in dax_pmem initramfs
	expect_kmsg "daxbus: runtime policy installed in /run/modprobe.d/daxctl.conf"
	expect_kmsg "daxbus: kernel $HOSTONLY_KVER in the initramfs: bus"
	expect_kmsg "daxbus: kernel $HOSTONLY_KVER in the root: compat"
	expect_kmsg "daxbus: /sysroot/etc/modprobe.d/daxctl.conf already in place"
	expect conf./run/modprobe.d/daxctl.conf "file:$POLICY_SHA"
	expect conf./etc/modprobe.d/daxctl.conf "file:$POLICY_SHA"
	expect_status "policy: enabled (/etc/modprobe.d/daxctl.conf)"
}

# rd.daxbus=0 on the same image: daxbus writes nothing, but `daxbus enable`
# put the policy in the root's /etc and hostonly dracut copied it into the
# image, so the bus model stays.  Really opting out takes `daxbus disable`
# and a rebuild (README).
check_hostonly_optout() {
	hostonly_expect_build
	on hostonly-optout
	hostonly_expect_daxbus_image hostonly-optout
	expect_kmsg "daxbus: disabled by rd.daxbus=0: no policy installed"
	expect_kmsg "daxbus: disabled by rd.daxbus=0: root left untouched"
	expect conf./run/modprobe.d/daxctl.conf absent
	expect conf./etc/modprobe.d/daxctl.conf "file:$POLICY_SHA"
	bus_model
	expect_loaded_in dax_pmem initramfs
}

# A hostonly image built before daxctl migrate-device-model, booted without
# a rebuild.  The image's copy of /etc/modprobe.d lacks the policy, the
# root's /etc has it (daxctl's link).  Recorded result: the image holds no
# DAX driver, so nothing binds in the initramfs; the root's udev binds the
# device under the root's policy: dax_pmem, bus model.
check_hostonly_daxctl_stale() {
	local b=hostonly-daxctl-stale
	on hostonly-stale-build
	expect hostonly.dracut_rc 0
	expect hostonly.migrate_rc 0
	compat_model
	expect conf./etc/modprobe.d/daxctl.conf "link:/usr/share/daxctl/daxctl.conf"
	on "$b"
	if hostonly_image "$b"; then
		hostonly_expect_hostonly "$b"
		hostonly_expect_in "$b" no 'etc/modprobe.d/daxctl.conf' "etc/modprobe.d/daxctl.conf"
		hostonly_expect_in "$b" no 'usr/sbin/daxbus' "the daxbus helper"
		hostonly_expect_no_dax_drivers "$b"
	fi
	echo "$(r nd_dax_active_driver) (modinit.dax_pmem=$(r modinit.dax_pmem) modinit.dax_pmem_compat=$(r modinit.dax_pmem_compat) root systemd at $(r root_systemd_ts))" >"$BOOT_DIR/$b/winner"
	expect conf./etc/modprobe.d/daxctl.conf "link:/usr/share/daxctl/daxctl.conf"
	expect conf./run/modprobe.d/daxctl.conf absent
	expect_no_kmsg
	bus_model
	expect_loaded_in dax_pmem root
}

sched_cell hostonly-daxbus "hostonly-build hostonly-daxbus" check_hostonly_daxbus
sched_cell hostonly-optout "hostonly-build hostonly-optout" check_hostonly_optout
sched_cell hostonly-daxctl-stale "hostonly-stale-build hostonly-daxctl-stale" check_hostonly_daxctl_stale
ALL_CELLS+=(hostonly-daxbus hostonly-daxctl-stale hostonly-optout)
