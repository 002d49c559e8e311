# shellcheck shell=bash
# Boot cells of the ostree family: a real OSTree deployment, booted through
# ostree-prepare-root exactly as its boot entry says (kernel=entry), /usr
# read-only, the deployment's /etc at /sysroot/etc in the initramfs, the
# physical root at /sysroot after switch-root.  One disk is built per run
# (sched_base ostree): the harness's root with Debian 12's ostree and
# ostree-boot, daxbus installed in /usr (make install), the images built
# inside the tree by its own dracut before each commit, as image builders
# do; four commits in the repository of a fresh sysroot:
#   debian/baked      daxbus in /usr and in the image (--add daxbus)
#   debian/upgraded   the same with one more file in /usr (an upgrade)
#   debian/installed  daxbus in /usr, not in the image
#   debian/without    no daxbus at all, image without it
# and two deployments, installed then baked (the default).  What the guests
# do (deploy an upgrade, `daxbus enable`) they do themselves, with the
# guest actions baked into every commit (actions/), told what by the kernel
# command line.  Sourced by tests/harness/boot.sh.
# shellcheck disable=SC2154 # K510, POLICY_SHA (boot.sh, checks.sh), boot
ostree_here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# ostree ARGS... of the ostree root variant (its own ostree 2022.7), with
# DIR seen at /mnt.
ostree_tool() {
	local dir=$1 tool
	shift
	tool=$(root_variant ostree) || return 1
	ROOT_CHROOT_MNT=$dir root_chroot "$tool" ostree "$@"
}

# The tree as ostree wants it: /etc as the default /usr/etc, /var empty,
# the kernel and image in /usr/lib/modules/KVER, the top directories that
# hold state as links into /var, /sysroot and the /ostree link.
ostree_shape() {
	local tree=$1 d
	mv "$tree/etc" "$tree/usr/etc" || return 1
	for d in home opt srv mnt; do
		rm -rf "${tree:?}/$d" && ln -s "var/$d" "$tree/$d"
	done
	rm -rf "${tree:?}/root" && ln -s var/roothome "$tree/root"
	printf 'd /var/%s 0755 root root -\n' home opt srv mnt >"$tree/usr/lib/tmpfiles.d/daxbus-test-ostree.conf"
	echo 'd /var/roothome 0700 root root -' >>"$tree/usr/lib/tmpfiles.d/daxbus-test-ostree.conf"
	rm -rf "${tree:?}/var" "${tree:?}/boot" "${tree:?}/dev" "${tree:?}/run" "${tree:?}/tmp" "${tree:?}/proc" "${tree:?}/sys"
	mkdir -p "$tree/var" "$tree/boot" "$tree/dev" "$tree/run" "$tree/proc" "$tree/sys" "$tree/sysroot"
	mkdir -m 1777 "$tree/tmp"
	ln -s sysroot/ostree "$tree/ostree"
}

# ostree marks each deployment's top directory immutable: unmark before rm.
ostree_rm_sysroot() {
	local d
	for d in "$1"/ostree/deploy/*/deploy/*; do
		[ -d "$d" ] && chattr -i "$d"
	done
	rm -rf "$1"
}

ostree_base() {
	local dir=$1 root tree=$1/tree sys=$1/sysroot k=$K510 mods f pids=() rc=0
	ostree_rm_sysroot "$sys"
	root=$(root_variant ostree) || return 1
	root_copy "$root" "$tree" || { boot_die "ostree: cannot copy $root"; return 1; }
	rm -rf "$tree/lib/modules/$K61"
	mods=$tree/usr/lib/modules/$k
	make -s -C "$BOOT_TOP" install DESTDIR="$tree" prefix=/usr >"$dir/install.log" 2>&1 ||
		{ boot_die "ostree: make install into the tree failed, see $dir/install.log"; return 1; }
	install -D -m 0644 "$ostree_here/actions/ostree-lib.sh" "$tree/usr/local/lib/daxbus-test-ostree.sh"
	install -D -m 0755 "$ostree_here/actions/ostree-survey.sh" "$tree/usr/local/lib/daxbus-guest.pre.d/ostree-survey.sh"
	install -D -m 0755 "$ostree_here/actions/ostree-step.sh" "$tree/usr/local/lib/daxbus-guest.d/ostree-step.sh"
	install -m 0644 "$BOOT_BUILD/kernels/$k/boot/vmlinuz-$k" "$mods/vmlinuz" || return 1
	# the images, by the tree's dracut and its configuration (ostree.conf:
	# the ostree and systemd modules); drivers as the harness's images
	for f in baked plain; do
		local add=()
		[ $f = baked ] && add=(--add daxbus)
		root_chroot "$tree" dracut --force --no-hostonly --no-compress --no-early-microcode \
			--omit kernel-modules --filesystems ext4 --add-drivers "$QEMU_DRIVERS" "${add[@]}" \
			"/$f.img" "$k" >"$dir/dracut-$f.log" 2>&1 &
		pids+=($!)
	done
	for f in "${pids[@]}"; do wait "$f" || rc=1; done
	if [ "$rc" != 0 ] || [ ! -s "$tree/baked.img" ] || [ ! -s "$tree/plain.img" ]; then
		boot_die "ostree: the tree's dracut failed, see $dir/dracut-*.log"
		return 1
	fi
	mv "$tree/baked.img" "$dir/baked.img" && mv "$tree/plain.img" "$dir/plain.img" || return 1
	ostree_shape "$tree" || { boot_die "ostree: cannot shape the tree"; return 1; }

	if ! mkdir -p "$sys" || ! ostree_tool "$dir" admin init-fs /mnt/sysroot >"$dir/ostree.log" 2>&1 ||
		! ostree_tool "$dir" admin os-init debian --sysroot=/mnt/sysroot >>"$dir/ostree.log" 2>&1; then
		boot_die "ostree: init-fs or os-init failed, see $dir/ostree.log"
		return 1
	fi
	# commit NAME: the tree as it is now, as debian/NAME
	_ostree_commit() {
		ostree_tool "$dir" --repo=/mnt/sysroot/ostree/repo commit --branch="debian/$1" \
			--subject="daxbus test: $1" --tree=dir=/mnt/tree >>"$dir/ostree.log" 2>&1 ||
			{ boot_die "ostree: commit of $1 failed, see $dir/ostree.log"; return 1; }
	}
	cp "$dir/plain.img" "$mods/initramfs.img" && _ostree_commit installed || return 1
	cp "$dir/baked.img" "$mods/initramfs.img" && _ostree_commit baked || return 1
	echo "an upgrade" >"$tree/usr/share/daxbus-test-upgraded" && _ostree_commit upgraded || return 1
	rm -f "$tree/usr/share/daxbus-test-upgraded"
	make -s -C "$BOOT_TOP" uninstall DESTDIR="$tree" prefix=/usr >>"$dir/install.log" 2>&1 ||
		{ boot_die "ostree: make uninstall in the tree failed, see $dir/install.log"; return 1; }
	[ ! -e "$tree/usr/sbin/daxbus" ] || { boot_die "ostree: make uninstall left /usr/sbin/daxbus"; return 1; }
	cp "$dir/plain.img" "$mods/initramfs.img" && _ostree_commit without || return 1
	rm -rf "$tree" "$dir/baked.img" "$dir/plain.img"

	for f in installed baked; do
		ostree_tool "$dir" admin deploy --sysroot=/mnt/sysroot --os=debian --retain \
			--karg=root=/dev/vda --karg=rw "debian/$f" >>"$dir/ostree.log" 2>&1 ||
			{ boot_die "ostree: deploy of debian/$f failed, see $dir/ostree.log"; return 1; }
	done
	BOOT_DISK_SIZE=4G disk_mkfs "$sys" "$dir/disk.img" || return 1
	ostree_rm_sysroot "$sys"
}
sched_base ostree ostree_base


# The repository's config with sysroot.readonly=true, for ostree-readonly-sysroot.
ostree_readonly_config() {
	local out=$BOOT_DIR/$1/repo-config
	disk_extract_raw "$2" /ostree/repo/config "$out.tmp" || return 1
	printf '\n[sysroot]\nreadonly=true\n' >>"$out.tmp" && mv "$out.tmp" "$out" && echo "$out"
}

# Every boot: the entry's kernel, image and options, exactly (after the
# harness's BOOT_BASE_APPEND, whose root=/dev/vda ro the entry's rw follows).
ostree_boot() {
	local b=$1
	shift
	[[ " $* " == *" kernel="* ]] || set -- kernel=entry "$@"
	sched_boot "$b" "$@"
}
ostree_boot ostree-baked disk=base:ostree append="daxbus.test.ostree_deploy=debian/upgraded"
ostree_boot ostree-upgrade disk=after:ostree-baked
ostree_boot ostree-rollback disk=after:ostree-upgrade kernel=entry:2
ostree_boot ostree-persist disk=base:ostree append="rd.daxbus.persist=1 daxbus.test.ostree_deploy=debian/without"
ostree_boot ostree-merge-carries disk=after:ostree-persist
ostree_boot ostree-optout disk=base:ostree append="rd.daxbus=0"
ostree_boot ostree-readonly-sysroot disk=base:ostree append="rd.daxbus.persist=1" \
	put="fn:ostree_readonly_config:/ostree/repo/config"
ostree_boot ostree-enable-booted disk=base:ostree kernel=entry:2 append="daxbus.test.ostree_enable=1"
ostree_boot ostree-enable-booted-next disk=after:ostree-enable-booted kernel=entry:2

# Booted through ostree-prepare-root, the deployment the cell meant.
ostree_booted() {
	local want_default=$1
	[ -n "$(r ostree.deployment)" ] || seen+=("no ostree= deployment in the report (not an OSTree boot?)")
	expect ostree.is_default "$want_default"
	expect ostree.usr_ro yes
	expect ostree.usr_changed ""
}
# The only daxctl.conf or daxbus temporary in any modprobe.d of the disk is
# the booted deployment's etc/modprobe.d/daxctl.conf.
ostree_only_in_deployment() {
	local found
	found=$(boot_report_all "$boot" ostree.found | tr '\n' ' ')
	[ "$found" = "$(r ostree.deployment)/etc/modprobe.d/daxctl.conf " ] ||
		seen+=("policies on the disk: ${found:-none} (want only $(r ostree.deployment)/etc/modprobe.d/daxctl.conf)")
}
ostree_config_diff() {
	local d
	d=$(boot_report_all "$boot" ostree.config_diff | tr -s ' ' | tr '\n' ';')
	[ "$d" = "$1" ] || seen+=("config-diff under modprobe.d: '${d}' (want '$1')")
}

check_ostree_baked() {
	ostree_booted yes
	bus_model
	expect conf./run/modprobe.d/daxctl.conf "file:$POLICY_SHA"
	expect conf./etc/modprobe.d/daxctl.conf absent
	expect_kmsg "daxbus: OSTree deployment (ostree= given): runtime policy only"
	ostree_config_diff ""
	expect ostree.found ""
	expect_status "ostree: booted deployment $(r ostree.deployment)"
	expect_status "runtime only: not in this deployment's /etc"
}
check_ostree_persist() {
	ostree_booted yes
	bus_model
	expect conf./etc/modprobe.d/daxctl.conf "file:$POLICY_SHA"
	expect_kmsg "daxbus: policy persisted in /sysroot/etc/modprobe.d/daxctl.conf"
	ostree_config_diff "A modprobe.d/daxctl.conf;"
	ostree_only_in_deployment
	expect_status "in this deployment's /etc: later deployments merge it"
	expect ostree.deploy_rc 0
}
check_ostree_merge_carries() {
	local from
	on ostree-persist
	from=$(r ostree.deployment)
	on ostree-merge-carries
	ostree_booted yes
	[ "$(r ostree.deployment)" != "$from" ] || seen+=("booted $from again, not the new deployment")
	bus_model
	expect conf./etc/modprobe.d/daxctl.conf "file:$POLICY_SHA"
	expect conf./run/modprobe.d/daxctl.conf absent
	expect_no_kmsg
	expect status_rc ""
	ostree_config_diff "A modprobe.d/daxctl.conf;"
}
check_ostree_upgrade_rollback() {
	local baked sum
	on ostree-baked
	baked=$(r ostree.deployment) sum=$(r ostree.etc_sum_end)
	expect ostree.deploy_rc 0
	on ostree-upgrade
	ostree_booted yes
	[ "$(r ostree.deployment)" != "$baked" ] || seen+=("the upgrade boot booted $baked again")
	bus_model
	on ostree-rollback
	ostree_booted no
	expect ostree.deployment "$baked"
	bus_model
	expect ostree.etc_sum "$sum"
}
check_ostree_optout() {
	ostree_booted yes
	compat_model
	no_policy_files
	expect ostree.found ""
	expect_kmsg "daxbus: disabled by rd.daxbus=0"
}
check_ostree_readonly_sysroot() {
	ostree_booted yes
	bus_model
	expect ostree.sysroot_ro yes
	# /sysroot/etc was writable as it was: nothing remounted
	grep -q '^kmsg=.*daxbus: remounted' "$BOOT_DIR/$boot/report.txt" && seen+=("the root step remounted something")
	expect_kmsg "daxbus: policy persisted in /sysroot/etc/modprobe.d/daxctl.conf"
	expect conf./etc/modprobe.d/daxctl.conf "file:$POLICY_SHA"
	ostree_only_in_deployment
}
check_ostree_enable_booted() {
	ostree_booted no
	compat_model
	expect ostree.enable_rc 0
	grep -qF "ostree.enable=daxbus: OSTree: /etc is the booted deployment's own ($(r ostree.deployment))" \
		"$BOOT_DIR/$boot/report.txt" || seen+=("enable did not say what its write means on OSTree")
	on ostree-enable-booted-next
	ostree_booted no
	bus_model
	expect conf./etc/modprobe.d/daxctl.conf "file:$POLICY_SHA"
	ostree_only_in_deployment
}

sched_cell ostree-baked ostree-baked check_ostree_baked
sched_cell ostree-persist ostree-persist check_ostree_persist
sched_cell ostree-merge-carries "ostree-merge-carries ostree-persist" check_ostree_merge_carries
sched_cell ostree-upgrade-rollback "ostree-upgrade ostree-baked ostree-rollback" check_ostree_upgrade_rollback
sched_cell ostree-optout ostree-optout check_ostree_optout
sched_cell ostree-readonly-sysroot ostree-readonly-sysroot check_ostree_readonly_sysroot
sched_cell ostree-enable-booted "ostree-enable-booted ostree-enable-booted-next" check_ostree_enable_booted
ALL_CELLS+=(ostree-baked ostree-persist ostree-merge-carries ostree-upgrade-rollback ostree-optout
	ostree-readonly-sysroot ostree-enable-booted)
