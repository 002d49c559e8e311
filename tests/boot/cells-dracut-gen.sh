# shellcheck shell=bash
# Boot cells for the dracut generations users run beside Debian 12's 059:
# Debian 11's dracut 051 with systemd 247, and Debian 13's dracut-ng 106
# with systemd 257, each in a Debian root of that release
# (tests/lib/roots.sh, variants dracut051 and dracut106).  daxbus goes into a
# copy of the root with `make install`, and the root's own dracut builds the
# images inside it (`dracut -f --add daxbus`, as an administrator runs it);
# the root is booted with Debian 11's 5.10 and the NVDIMM, root `ro`.
# Sourced by tests/boot/cells.sh after its helpers and checks.
# shellcheck disable=SC2154 # here, K510, DAX_DRIVERS, APPEND_DEBUG, boot: cells.sh
# shellcheck source=../lib/roots.sh
. "$here/../lib/roots.sh"

# shellcheck disable=SC2034 # cells.sh appends it to ALL_CELLS
DRACUT_GEN_CELLS="dracut051-firstboot-systemd dracut051-firstboot-shell dracut051-initramfs-bus dracut051-optout dracut106-firstboot-systemd"
DRACUT_GEN_SHARED=$BOOT_DIR/dracut-gen
DRACUT_GEN_OMIT_SYSTEMD="systemd systemd-initrd systemd-udevd systemd-journald systemd-sysusers systemd-modules-load systemd-tmpfiles systemd-sysctl systemd-ask-password dracut-systemd"

# The images each root's dracut builds: NAME -> its dracut arguments in
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
declare -gA DRACUT_GEN_WANT=([dracut051]="systemd-out shell-out systemd-in" [dracut106]="systemd-out")

# Once per run and variant: the root with daxbus installed, its images, and
# the ext4 image of it that the boots copy.
dracut_gen_prepare() {
	_boot_locked "dracut-gen-$1" _dracut_gen_prepare "$1"
}

_dracut_gen_prepare() {
	local v=$1 d=$DRACUT_GEN_SHARED/$1 tree root name pids=() p rc=0
	local -a DRACUT_GEN_ARGS
	[ "$(cat "$d/.run" 2>/dev/null)" = "$BOOT_RUN_ID" ] && return 0
	rm -rf "$d"
	mkdir -p "$d"
	tree=$(root_variant "$v") || return 1
	root=$d/root
	root_copy "$tree" "$root" || { boot_die "$v: cannot copy $tree"; return 1; }
	make -s -C "$BOOT_TOP" install DESTDIR="$root" prefix=/usr >"$d/install.log" 2>&1 ||
		{ boot_die "$v: make install into the root failed, see $d/install.log"; return 1; }
	# the package's version: Debian 11's dracut does not know its own
	root_chroot "$root" dpkg-query -W -f '${Version}\n' dracut-core >"$d/dracut-version" 2>&1
	for name in ${DRACUT_GEN_WANT[$v]}; do
		dracut_gen_args "$name" || return 1
		root_chroot "$root" dracut --force --no-hostonly --no-compress --no-early-microcode \
			--add daxbus "${DRACUT_GEN_ARGS[@]}" "/boot/daxbus-$name.img" "$ROOTS_KVER" >"$d/$name.log" 2>&1 &
		pids+=($!)
	done
	for p in "${pids[@]}"; do
		wait "$p" || rc=1
	done
	for name in ${DRACUT_GEN_WANT[$v]}; do
		if [ ! -s "$root/boot/daxbus-$name.img" ]; then
			tail -n 5 "$d/$name.log" >&2
			boot_die "$v: the root's dracut did not build $name, see $d/$name.log"
			return 1
		fi
		mv "$root/boot/daxbus-$name.img" "$d/$name.img"
	done
	[ "$rc" = 0 ] || { boot_die "$v: a dracut run failed, see $d/*.log"; return 1; }
	boot_mkfs_tree "$root" "$d/disk.img" || return 1
	rm -rf "$root"
	echo "$BOOT_RUN_ID" >"$d/.run"
}

# The boot's variant and image, from its name: dracutNNN-...
declare -gA DRACUT_GEN_BOOT=(
	[dracut051-firstboot-systemd]="dracut051 systemd-out"
	[dracut051-firstboot-shell]="dracut051 shell-out"
	[dracut051-initramfs-bus]="dracut051 systemd-in"
	[dracut051-optout]="dracut051 systemd-out"
	[dracut106-firstboot-systemd]="dracut106 systemd-out"
)
dracut_gen_disk() {
	local v
	read -r v _ <<<"${DRACUT_GEN_BOOT[$1]}"
	dracut_gen_prepare "$v" || return 1
	cp "$DRACUT_GEN_SHARED/$v/dracut-version" "$BOOT_DIR/$1/dracut-version"
	cp --sparse=always "$DRACUT_GEN_SHARED/$v/disk.img" "$2"
}
dracut_gen_initrd() {
	local v name
	read -r v name <<<"${DRACUT_GEN_BOOT[$1]}"
	dracut_gen_prepare "$v" || return 1
	echo "$DRACUT_GEN_SHARED/$v/$name.img"
}

for _b in "${!DRACUT_GEN_BOOT[@]}"; do
	case $_b in
	*-optout) _a="rd.daxbus=0" ;;
	*) _a="$APPEND_DEBUG rd.daxbus.debug" ;;
	esac
	sched_boot "$_b" kver="$K510" disk=fn:dracut_gen_disk initrd=fn:dracut_gen_initrd append="$_a"
done
unset _b _a

# The image was built by the dracut this cell is about.
dracut_gen_expect_version() {
	grep -q "^$1-" "$BOOT_DIR/$boot/dracut-version" 2>/dev/null ||
		seen+=("image not built by dracut $1: $(head -c 80 "$BOOT_DIR/$boot/dracut-version" 2>/dev/null)")
}

# Both units ran in the systemd initrd: systemd's own lines about them.
dracut_gen_expect_units_ran() {
	local u
	for u in daxbus-early.service daxbus-root.service; do
		grep -qE "^journal\.$u=(Finished|Started) " "$BOOT_DIR/$boot/report.txt" ||
			seen+=("the journal has no Finished/Started line of $u")
	done
}

check_dracut_gen_firstboot() {
	local version=$1 flavour=$2
	dracut_gen_expect_version "$version"
	check_persist "$flavour"
	[ "$flavour" = systemd ] && dracut_gen_expect_units_ran
	return 0
}

check_dracut_gen_initramfs_bus() {
	dracut_gen_expect_version 051
	check_initramfs_bus
	dracut_gen_expect_units_ran
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
