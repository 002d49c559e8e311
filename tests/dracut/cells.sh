# shellcheck shell=bash
# Boot cells of the dracut module: real Debian kernels in QEMU with the
# emulated NVDIMM (devdax), a Debian root mounted `ro`, initramfs images
# built by dracut with the working tree's module and helper.  Each cell
# asserts which nd driver binds the nd dax device, where the DAX device shows
# up in sysfs, the loaded modules, the policy files and the daxbus: kernel
# log lines.  Also the dracut generations users run beside Debian 12's 059:
# Debian 11's 051 (systemd 247) and Debian 13's dracut-ng 106 (systemd 257),
# each building the image inside a root of its own release.
# Sourced by tests/harness/boot.sh.
# shellcheck disable=SC2154 # boot, cell (the scheduler), K510, K61 (boot.sh)

# --- images (built once per run, by the first boot that needs one) -----------

sched_image "plain-$K510" dracut_build "$K510" systemd
sched_image "daxbus-in-$K510" dracut_build "$K510" systemd --add daxbus --add-drivers "$DAX_DRIVERS"
# daxbus in, the DAX drivers left to the real root: several boots share it.
sched_image "daxbus-out-$K510-systemd" dracut_build "$K510" systemd --add daxbus --omit-drivers "$DAX_DRIVERS"
sched_image "daxbus-out-$K510-shell" dracut_build "$K510" shell --add daxbus --omit-drivers "$DAX_DRIVERS"
sched_image "daxbus-$K61" dracut_build "$K61" systemd --add daxbus

# crashing_image OUT KVER FLAVOUR [dracut args...]: the module with a helper
# that segfaults in place of the real one.
crashing_image() {
	local out=$1
	shift
	fake_helper "$out.helper" crash || return 1
	DAXBUS_HELPER=$out.helper dracut_build "$out" "$@"
}
sched_image "crashing-$K510-systemd" crashing_image "$K510" systemd --add daxbus --omit-drivers "$DAX_DRIVERS"
sched_image "crashing-$K510-shell" crashing_image "$K510" shell --add daxbus --omit-drivers "$DAX_DRIVERS"

# --- boots ----------------------------------------------------------------------

# fresh BOOT key=value...: an overlay on the base root with this build's
# helper in /usr/sbin (so the guest can report `daxbus status`).
fresh() {
	local b=$1
	shift
	sched_boot "$b" disk=base "put=$DAXBUS:/usr/sbin/daxbus" "$@"
}

fresh compat-baseline kver="$K510" initrd="image:plain-$K510" append="$APPEND_DEBUG"
# rd.daxbus.debug: the steps also log what the kernel's module tree says
fresh initramfs-bus kver="$K510" initrd="image:daxbus-in-$K510" append="$APPEND_DEBUG rd.daxbus.debug"
fresh firstboot-systemd kver="$K510" initrd="image:daxbus-out-$K510-systemd" append="$APPEND_DEBUG rd.daxbus.debug"
fresh firstboot-shell kver="$K510" initrd="image:daxbus-out-$K510-shell" append="$APPEND_DEBUG rd.daxbus.debug"
fresh optout kver="$K510" initrd="image:daxbus-out-$K510-systemd" append="rd.daxbus=0"
# The disk firstboot-shell left behind, booted again without daxbus.
sched_boot second-boot kver="$K510" initrd="image:plain-$K510" disk=after:firstboot-shell
fresh bus-only-61 kver="$K61" initrd="image:daxbus-$K61" append="rd.daxbus.debug"
sched_boot installer kver="$K510" disk=base:installer initrd=base:installer:installer.img
fresh ostree kver="$K510" initrd="image:daxbus-out-$K510-systemd" append="ostree=/ostree/boot.1/debian/0"
fresh crashing-helper-systemd kver="$K510" initrd="image:crashing-$K510-systemd"
fresh crashing-helper-shell kver="$K510" initrd="image:crashing-$K510-shell"

# The installer's target: a root where `daxbus enable --root --dracut` ran,
# and beside it the image dracut built from that target's own configuration.
installer_base() {
	local dir=$1 target=$1/target
	root_copy "$(boot_rootfs_base)" "$target" || { boot_die "cannot copy the root tree"; return 1; }
	install -D -m 0755 "$DAXBUS" "$target/usr/sbin/daxbus"
	"$DAXBUS" enable --root "$target" --dracut || { boot_die "daxbus enable --root --dracut failed"; return 1; }
	DRACUT_CONFDIR=$target/etc/dracut.conf.d DRACUT_KMODDIR=$target/lib/modules/$K510 \
		dracut_build "$dir/installer.img" "$K510" systemd --omit-drivers "$DAX_DRIVERS" ||
		{ boot_die "dracut with the target's configuration failed: $dir/installer.img.log"; return 1; }
	disk_mkfs "$target" "$dir/disk.img" || return 1
	rm -rf "$target"
}
sched_base installer installer_base

# --- the cells --------------------------------------------------------------------

# The baseline: proves the harness can see the compat model (and fail).
check_compat_baseline() {
	compat_model
	no_policy_files
	expect_no_kmsg
	expect_status "kind:                  compat"
	expect_status "nd:t7 loads:           dax_pmem_compat"
}

# DAX modules in the initramfs: the bus model is already there.
check_initramfs_bus() {
	expect_bus_from_initramfs "$K510"
}

# DAX modules only in the real root, root mounted ro, both init flavours.
check_persist() {
	local flavour=$1
	[ "$flavour" = systemd ] && expect_before_udevd
	expect_bus_from_root /sysroot
	expect_kmsg "daxbus: kernel $K510 in the root: compat"
	expect_status "nd device dax0.1      bound to dax_pmem"
}

# Opt-out: compat model, nothing written anywhere.
check_optout() {
	compat_model
	no_policy_files
	expect_kmsg "daxbus: disabled by rd.daxbus=0: no policy installed"
	expect_kmsg "daxbus: disabled by rd.daxbus=0: root left untouched"
}

# Second boot of the persisted disk, initramfs without daxbus.
check_second_boot() {
	bus_model
	expect conf./etc/modprobe.d/daxctl.conf "file:$POLICY_SHA"
	expect conf./run/modprobe.d/daxctl.conf absent
	expect_no_kmsg
}

# A kernel without the compat driver.
check_bus_only_61() {
	expect nd_dax_active_driver dax_pmem
	expect bus_dax0.0 present
	expect class_dax0.0 absent
	expect module.dax_pmem_compat absent
	expect_kmsg "daxbus: kernel $K61 in the root: bus"
	expect_status "kind:                  bus (bus model only: the policy is harmless)"
}

# Installer: enable --root --dracut on the target, its dracut config decides.
check_installer() {
	local list
	# the whole listing first: grep -q would close the pipe early, and with
	# pipefail lsinitrd's SIGPIPE would read as "not found"
	list=$(lsinitrd "$(cat "$BOOT_DIR/$boot/initrd.path")")
	grep -q ' usr/sbin/daxbus$' <<<"$list" ||
		seen+=("module not in the image built from the target's config")
	bus_model
	expect conf./etc/modprobe.d/daxctl.conf "file:$POLICY_SHA"
	expect_kmsg "daxbus: runtime policy installed"
	expect_kmsg "daxbus: /sysroot/etc/modprobe.d/daxctl.conf already in place"
}

# ostree= on the command line of an ordinary root: runtime policy only, root
# untouched, still the bus model (tests/ostree has real deployments).
check_ostree() {
	bus_model
	expect conf./etc/modprobe.d/daxctl.conf absent
	expect conf./run/modprobe.d/daxctl.conf "file:$POLICY_SHA"
	expect_kmsg "daxbus: OSTree deployment (ostree= given): runtime policy only"
	expect_status "policy: runtime (/run/modprobe.d/daxctl.conf)"
}

# A helper that crashes must not block the boot (the report itself comes
# from the real root), in either flavour.
check_crashing_helper() {
	local flavour=$1
	compat_model
	no_policy_files
	if [ "$flavour" = shell ]; then
		expect_kmsg "daxbus: helper failed (status 139); boot continues without the runtime policy"
		expect_kmsg "daxbus: helper failed (status 139); root left as it was"
	fi
}

sched_cell compat-baseline compat-baseline check_compat_baseline
sched_cell initramfs-bus initramfs-bus check_initramfs_bus
sched_cell firstboot-systemd firstboot-systemd check_persist systemd
sched_cell firstboot-shell firstboot-shell check_persist shell
sched_cell optout optout check_optout
sched_cell second-boot second-boot check_second_boot
sched_cell bus-only-61 bus-only-61 check_bus_only_61
sched_cell installer installer check_installer
sched_cell ostree ostree check_ostree
sched_cell crashing-helper-systemd crashing-helper-systemd check_crashing_helper systemd
sched_cell crashing-helper-shell crashing-helper-shell check_crashing_helper shell
ALL_CELLS+=(compat-baseline initramfs-bus firstboot-systemd firstboot-shell optout second-boot bus-only-61 installer
	ostree crashing-helper-systemd crashing-helper-shell)

# --- dracut 051 and dracut-ng 106, each in a root of its own release --------------
# daxbus goes into a copy of the root with `make install`, and the root's own
# dracut builds the images inside it (`dracut -f --add daxbus`, as an
# administrator runs it); the root is booted with Debian 11's 5.10.

DRACUT_GEN_OMIT_SYSTEMD="systemd systemd-initrd systemd-udevd systemd-journald systemd-sysusers systemd-modules-load systemd-tmpfiles systemd-sysctl systemd-ask-password dracut-systemd"

# The images a root's dracut builds: NAME -> its dracut arguments in
# DRACUT_GEN_ARGS (uncompressed: the class under test is what is in them,
# and gzip costs half a minute a build on two cores).
dracut_gen_args() {
	case $1 in
	systemd-out) DRACUT_GEN_ARGS=(--omit-drivers "$DAX_DRIVERS") ;;
	shell-out) DRACUT_GEN_ARGS=(--omit "$DRACUT_GEN_OMIT_SYSTEMD" --omit-drivers "$DAX_DRIVERS") ;;
	systemd-in) DRACUT_GEN_ARGS=(--add-drivers "$DAX_DRIVERS") ;;
	*) boot_die "dracut_gen_args: no image $1"; return 1 ;;
	esac
}

# dracut_gen_base DIR VARIANT IMAGE...: the root with daxbus installed, the
# images its dracut built (DIR/IMAGE.img), the package version of its dracut
# (DIR/dracut-version: Debian 11's dracut does not know its own) and the
# root's image (DIR/disk.img).
dracut_gen_base() {
	local dir=$1 v=$2 tree root=$1/root name pids=() p rc=0
	local -a DRACUT_GEN_ARGS
	shift 2
	tree=$(root_variant "$v") || return 1
	root_copy "$tree" "$root" || { boot_die "$v: cannot copy $tree"; return 1; }
	make -s -C "$BOOT_TOP" install DESTDIR="$root" prefix=/usr >"$dir/install.log" 2>&1 ||
		{ boot_die "$v: make install into the root failed, see $dir/install.log"; return 1; }
	root_chroot "$root" dpkg-query -W -f '${Version}\n' dracut-core >"$dir/dracut-version" 2>&1
	for name in "$@"; do
		dracut_gen_args "$name" || return 1
		root_chroot "$root" dracut --force --no-hostonly --no-compress --no-early-microcode \
			--add daxbus "${DRACUT_GEN_ARGS[@]}" "/boot/daxbus-$name.img" "$ROOTS_KVER" >"$dir/$name.log" 2>&1 &
		pids+=($!)
	done
	for p in "${pids[@]}"; do
		wait "$p" || rc=1
	done
	for name in "$@"; do
		[ -s "$root/boot/daxbus-$name.img" ] ||
			{ tail -n 5 "$dir/$name.log" >&2; boot_die "$v: the root's dracut did not build $name, see $dir/$name.log"; return 1; }
		mv "$root/boot/daxbus-$name.img" "$dir/$name.img"
	done
	[ "$rc" = 0 ] || { boot_die "$v: a dracut run failed, see $dir/*.log"; return 1; }
	disk_mkfs "$root" "$dir/disk.img" || return 1
	rm -rf "$root"
}
sched_base dracut051 dracut_gen_base dracut051 systemd-out shell-out systemd-in
sched_base dracut106 dracut_gen_base dracut106 systemd-out

for _b in dracut051-firstboot-systemd:systemd-out dracut051-firstboot-shell:shell-out \
	dracut051-initramfs-bus:systemd-in dracut051-optout:systemd-out dracut106-firstboot-systemd:systemd-out; do
	_a="$APPEND_DEBUG rd.daxbus.debug"
	[[ $_b == *-optout:* ]] && _a="rd.daxbus=0"
	sched_boot "${_b%%:*}" kver="$K510" disk="base:${_b%%-*}" initrd="base:${_b%%-*}:${_b#*:}.img" append="$_a"
done
unset _b _a

# The image was built by the dracut this cell is about.
dracut_gen_expect_version() {
	local v
	v=$(cat "$BOOT_DIR/bases/run-dracut$1/dracut-version" 2>/dev/null)
	[[ $v == "$1"-* ]] || seen+=("image not built by dracut $1: ${v:-no version recorded}")
}

check_dracut_gen_firstboot() {
	local version=$1 flavour=$2
	dracut_gen_expect_version "$version"
	check_persist "$flavour"
	[ "$flavour" = systemd ] && expect_units_ran
	return 0
}

check_dracut_gen_initramfs_bus() {
	dracut_gen_expect_version 051
	check_initramfs_bus
	expect_units_ran
}

check_dracut_gen_optout() {
	dracut_gen_expect_version 051
	check_optout
}

sched_cell dracut051-firstboot-systemd dracut051-firstboot-systemd check_dracut_gen_firstboot 051 systemd
sched_cell dracut051-firstboot-shell dracut051-firstboot-shell check_dracut_gen_firstboot 051 shell
sched_cell dracut051-initramfs-bus dracut051-initramfs-bus check_dracut_gen_initramfs_bus
sched_cell dracut051-optout dracut051-optout check_dracut_gen_optout
sched_cell dracut106-firstboot-systemd dracut106-firstboot-systemd check_dracut_gen_firstboot 106 systemd
ALL_CELLS+=(dracut051-firstboot-systemd dracut051-firstboot-shell dracut051-initramfs-bus dracut051-optout
	dracut106-firstboot-systemd)
