# shellcheck shell=bash
# Library for the QEMU boot tests: builds (and caches) a Debian bookworm root
# disk with a guest agent, a devdax-converted NVDIMM backing file and
# initramfs images made with the host's dracut, then boots real Debian kernels
# and collects the agent's key=value report.  Source it; it does not run
# anything by itself.  The boot matrix declares its boots and cells with
# tests/boot/sched.sh (below); these are the pieces it is built from.
#
#   boot_deps                          apt-get install what is missing
#   boot_kernels                       fetch both pinned kernels
#   boot_rootfs_base                   -> path of the cached root tree
#   boot_disk_image [--tree TREE] OUT [EXTRA_DIR]
#                                      ext4 image of the cached root, or of
#                                      any TREE (e.g. `root_variant dracut`),
#                                      with EXTRA_DIR's files laid over it
#   boot_mkfs_tree TREE OUT            ext4 image of a tree as it is
#   boot_disk_extract DISK PATH OUT    copy a file out of an ext4 image
#                                      without mounting it, symlinks followed
#                                      inside the image (/initrd.img,
#                                      /boot/initrd.img-KVER -> ...)
#   boot_disk_put DISK SRC PATH        copy a host file into an ext4 image
#                                      (mode and owner of SRC, parents made)
#   boot_disk_rm DISK PATH             remove a file from an ext4 image
#   boot_disk_ls DISK DIR              names in a directory of an ext4 image
#   boot_nvdimm OUT                    fresh copy of the converted NVDIMM
#   boot_nvdimm_uuid                   uuid of its devdax namespace (the nd
#                                      dax info block's, what daxctl's
#                                      nvdimm.uuid matches), recorded when
#                                      the NVDIMM was converted
#   boot_qemu_probe                    KVM or TCG, decided once per run
#   boot_initrd OUT KVER [dracut args...]
#   boot_run NAME KVER INITRD DISK NVDIMM APPEND
#   boot_report_get NAME KEY           first value of KEY in NAME's report
#
# Everything lands in build/boot/; cached pieces in build/boot/cache/.
# The guest agent and its report keys: tests/boot/guest/daxbus-guest.
#
# Boots, cells and the scheduler (tests/boot/sched.sh, used by cells.sh):
#
#   A boot is one QEMU run; its files are build/boot/BOOT/{harness.log,
#   disk.img,initrd.path,console.log,report.txt,seconds,accel}.  Declare it:
#     sched_boot BOOT kver=KVER initrd=SPEC disk=SPEC [append="ARGS"]
#                [after="BOOT..."] [put="SRC:PATH..."] [actions="FILE..."]
#   initrd=  image:NAME     an image declared with sched_image (below)
#            disk:PATH      extracted from this boot's own disk, after put=
#                           and actions= (boot_disk_extract; PATH may be a
#                           link such as /boot/initrd.img-KVER)
#            file:PATH      a ready file
#            fn:FUNC        FUNC BOOT prints the path (built in the job)
#   disk=    base           copy of the cached root image
#            tree:DIR       any root tree (boot_disk_image --tree DIR)
#            treefn:CMD     the tree CMD prints, run in the job (e.g.
#                           "treefn:root_variant dracut")
#            after:BOOT2    copy of BOOT2's disk after BOOT2 ran; BOOT2
#                           becomes a dependency (a failed BOOT2 means this
#                           boot is not run)
#            fn:FUNC        FUNC BOOT OUT writes the disk image
#   append=  kernel arguments after BOOT_BASE_APPEND
#   after=   more boots that must have run (successfully) first
#   put=     files copied into the disk (boot_disk_put), "SRC:PATH" for a
#            host file, "image:NAME:PATH" for a declared image
#   actions= guest actions, see below; "pre:FILE" for one run before the
#            report is taken
#   timeout= seconds this boot's QEMU may take (default BOOT_TIMEOUT, or
#            240 under TCG); the agent's own unit stops after 150 s, so a
#            slow action also needs put= of a drop-in
#            /etc/systemd/system/daxbus-guest.service.d/NAME.conf
#            ([Service] TimeoutStartSec=...)
#   Job steps, in order, each timed in harness.log: disk, put, actions,
#   initrd, then QEMU with a fresh copy of the NVDIMM.  A step that fails
#   fails the boot with its first error line ("initrd image:X: dracut
#   failed ..."), and the boots depending on it are not run.
#
#     sched_image NAME BUILDER [ARGS...]
#   declares an initramfs image build/boot/initrd/NAME.img, built at most
#   once per run by `BUILDER OUT ARGS...` when a job first asks for it
#   (sched_image_path NAME); a second job asking meanwhile waits for it.
#
#     sched_cell CELL "BOOT..." CHECK [ARGS...]
#   declares a verdict: when all of its boots have run, CHECK ARGS... runs
#   (in a subshell: a check that breaks fails only its cell) with $cell set
#   and $boot the first boot; it records what differs with `seen+=("...")`
#   (cells.sh's expect helpers do) and may call `on BOOT` to read another
#   boot's report.  No seen entry: PASS.  If a boot of the cell failed or was
#   not run, the cell FAILs naming it, without running CHECK.  Several cells
#   may name the same boot; it runs once.
#
#     sched_run CELL...   runs the boots those cells need (transitively), at
#   most BOOT_JOBS at a time (default 2 with two or more CPUs), and prints
#   one "cell CELL: PASS|FAIL ... (boot BOOT, T s)" line per cell as it is
#   decided, "# boot BOOT: T s (ACCEL, qemu Q s)" per boot and a final
#   "# boot matrix: ..." line.
#
# Guest actions (multi-stage boots).  A file named by actions= is copied into
# the disk as /usr/local/lib/daxbus-guest.d/NAME (pre:FILE as
# /usr/local/lib/daxbus-guest.pre.d/NAME); NAME must end in .sh.  The agent
# runs them with bash in name order (use NN- prefixes): pre.d ones right
# after udev settled, before anything is probed (so the report shows their
# effect), the others at the end of the report.  Their stdout goes into the
# report verbatim; keys pre.NAME.rc and hook.NAME.rc hold their exit codes.
# The root is read-write by then, and the agent syncs before the VM powers
# off, so whatever an action writes is on the disk for a boot declared with
# disk=after:THIS.  A disk=after: copy starts with both directories emptied:
# a boot runs exactly the actions it declares.  The pattern "rebuild the
# initramfs in the guest, then reboot with it":
#   sched_boot stage1 kver=K initrd=image:plain disk=treefn:"root_variant dracut" \
#       actions="pre:tests/boot/actions/10-rebuild.sh"
#   sched_boot stage2 kver=K disk=after:stage1 initrd=disk:/boot/initrd.img-K
#   sched_cell rebuilt "stage1 stage2" check_rebuilt
# cells.sh's harness-multistage (not in the default list) does exactly this
# with real boots: `tests/boot/cells.sh harness-multistage`.

DEPS="qemu-system-x86 debootstrap dracut-core kmod cpio e2fsprogs coreutils util-linux dpkg apt debian-archive-keyring"

# The two kernels every cell is written against (package linux-image-KVER;
# exact package versions are pinned in tools/fetch-kernel.sh).
BOOT_KVER_COMPAT=5.10.0-32-amd64 # bullseye: has dax_pmem_compat
BOOT_KVER_BUS=6.1.0-50-amd64     # bookworm: bus model only
BOOT_KVERS="$BOOT_KVER_COMPAT $BOOT_KVER_BUS"

BOOT_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BOOT_BUILD=${DAXBUS_BUILD:-$BOOT_TOP/build}
BOOT_DIR=$BOOT_BUILD/boot
BOOT_CACHE=$BOOT_DIR/cache
BOOT_GUEST_SRC=$BOOT_TOP/tests/boot/guest

# One id per top-level run, inherited by scripts that source this again, so
# the KVM/TCG probe runs once per run rather than once per script.  A
# Makefile running several boot scripts should export one BOOT_RUN_ID (or
# BOOT_ACCEL=kvm|tcg to skip the probe).
export BOOT_RUN_ID=${BOOT_RUN_ID:-$$.$(date +%s)}

# Root of the test disk.  The kernel mounts it read-only (`ro` below) and so
# does the initramfs (/sysroot is ro in dracut, as on Debian and Fedora);
# after switch-root systemd-remount-fs applies this fstab and remounts / rw
# (Debian's stock options).  So: a hook that writes to /sysroot in the
# initramfs must remount it rw itself, and the guest report (which runs
# after local-fs.target) normally shows root_mount=rw.
BOOT_FSTAB='/dev/vda / ext4 errors=remount-ro 0 1'

# Always on the kernel command line.  rd.shell=0 rd.emergency=poweroff make a
# broken initramfs end the VM at once instead of idling until the timeout.
BOOT_BASE_APPEND=${BOOT_BASE_APPEND:-console=ttyS0 root=/dev/vda ro panic=-1 rd.shell=0 rd.emergency=poweroff}

# Big enough for minbase + two pruned module trees (about 620 MB) with room
# for test files; the image file is sparse, so the size costs nothing.
BOOT_DISK_SIZE=${BOOT_DISK_SIZE:-2G}
BOOT_NVDIMM_SIZE=512M

# Module directories no test VM needs; dropping them halves the image.
BOOT_PRUNE="drivers/gpu drivers/net/wireless drivers/net/ethernet sound drivers/media drivers/infiniband drivers/staging drivers/iio drivers/bluetooth net/wireless net/bluetooth"

boot_log() { echo "boot: $*" >&2; }
boot_die() { echo "boot: error: $*" >&2; return 1; }

# Seconds since the epoch with millisecond precision, for the phase timings
# (bash's own clock: no process to start, which counts on a busy machine).
# EPOCHREALTIME's decimal point follows the locale: keep the digits only.
_boot_ms() {
	local us=${EPOCHREALTIME//[!0-9]/}
	echo "${us%???}"
}
boot_now() {
	local ms
	ms=$(_boot_ms)
	echo "${ms%???}.${ms: -3}"
}
# Seconds since T (from boot_now), one decimal.
boot_elapsed() {
	local d
	d=$(($(_boot_ms) - 10#${1//[!0-9]/}))
	printf '%d.%d' $((d / 1000)) $((d % 1000 / 100))
}

# Run "$@" holding build/boot/cache/.NAME.lock, so test scripts may run in
# parallel: the first builds a cached piece, the others wait and reuse it.
_boot_locked() {
	local name=$1 fd rc=0
	shift
	mkdir -p "$BOOT_CACHE"
	exec {fd}>"$BOOT_CACHE/.$name.lock"
	flock "$fd"
	"$@" || rc=$?
	exec {fd}>&-
	return "$rc"
}

boot_deps() {
	local p want=()
	for p in $DEPS; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || want+=("$p")
	done
	[ ${#want[@]} -eq 0 ] && return 0
	[ "$(id -u)" = 0 ] || boot_die "missing packages: ${want[*]} (run as root or install them)" || return 1
	boot_log "installing ${want[*]}"
	if ! DEBIAN_FRONTEND=noninteractive apt-get -q update >/dev/null ||
		! DEBIAN_FRONTEND=noninteractive apt-get -q install -y --no-install-recommends "${want[@]}" >/dev/null; then
		boot_die "apt-get install ${want[*]} failed"
	fi
}

boot_kernels() {
	local k
	for k in $BOOT_KVERS; do
		"$BOOT_TOP/tools/fetch-kernel.sh" "$k" >/dev/null || return 1
	done
}

# Stage 1: plain debootstrap, the only step that needs the network.  Cached
# forever; delete build/boot/cache/debootstrap* to refresh it.
#   _boot_debootstrap [SUITE [EXTRA_PACKAGES]]   default: bookworm
# Every suite gets what the guest agent and the boots need (systemd, udev,
# kmod, ndctl, daxctl, e2fsprogs); EXTRA_PACKAGES (comma-separated) come on
# top, installed by debootstrap itself with their dependencies.
BOOT_DEBOOTSTRAP_INCLUDE=systemd-sysv,udev,kmod,ndctl,daxctl,e2fsprogs
_boot_debootstrap() {
	local suite=${1:-bookworm} extra=${2-} dst tmp uri sources
	dst=$BOOT_CACHE/debootstrap
	[ "$suite" = bookworm ] && [ -z "$extra" ] || dst=$BOOT_CACHE/debootstrap-$suite${extra:+-${extra//,/-}}
	[ -e "$dst/.complete" ] && { echo "$dst"; return 0; }
	sources=${DAXBUS_DEBIAN_SOURCES:-/etc/apt/sources.list.d/debian.sources}
	# The archive comes from the machine's own apt configuration so no
	# mirror name is written into the repository.
	uri=$(awk '/^URIs:/ && $2 !~ /security/ { print $2; exit }' "$sources" 2>/dev/null)
	[ -n "$uri" ] || boot_die "no archive URI in $sources" || return 1
	mkdir -p "$BOOT_CACHE"
	rm -rf "$dst".tmp.??????
	tmp=$(mktemp -d "$dst.tmp.XXXXXX")
	boot_log "debootstrap $suite minbase${extra:+ + $extra} (about a minute)"
	if ! debootstrap --variant=minbase --include="$BOOT_DEBOOTSTRAP_INCLUDE${extra:+,$extra}" \
		"$suite" "$tmp" "$uri" >"$dst.log" 2>&1; then
		rm -rf "$tmp"
		tail -n 20 "$dst.log" >&2
		boot_die "debootstrap $suite failed, see $dst.log"
		return 1
	fi
	touch "$tmp/.complete"
	rm -rf "$dst"
	mv "$tmp" "$dst"
	echo "$dst"
}

# Everything stage 2 depends on; a change rebuilds the tree (not stage 1).
_boot_rootfs_key() {
	{
		declare -f _boot_rootfs_configure _boot_install_agent
		echo "$BOOT_FSTAB $BOOT_PRUNE $BOOT_KVERS"
		cat "$BOOT_GUEST_SRC/daxbus-guest" "$BOOT_GUEST_SRC/daxbus-guest.service"
		local k
		for k in $BOOT_KVERS; do
			stat -c %Y "$BOOT_BUILD/kernels/$k/.complete" 2>/dev/null
		done
	} | sha256sum | cut -d' ' -f1
}

# In a hard-linked copy of a tree: unlink the agent's files before
# installing them, so the original tree's inodes are never written.
_boot_replace_agent() {
	rm -f "$1/usr/local/sbin/daxbus-guest" "$1/etc/systemd/system/daxbus-guest.service" \
		"$1/etc/systemd/system/multi-user.target.wants/daxbus-guest.service"
	_boot_install_agent "$1"
}

# The guest agent, its unit and the action directories, into a tree.
_boot_install_agent() {
	local root=$1
	install -D -m 0755 "$BOOT_GUEST_SRC/daxbus-guest" "$root/usr/local/sbin/daxbus-guest"
	install -D -m 0644 "$BOOT_GUEST_SRC/daxbus-guest.service" "$root/etc/systemd/system/daxbus-guest.service"
	mkdir -p "$root/etc/systemd/system/multi-user.target.wants" \
		"$root/usr/local/lib/daxbus-guest.d" "$root/usr/local/lib/daxbus-guest.pre.d"
	ln -sf ../daxbus-guest.service "$root/etc/systemd/system/multi-user.target.wants/daxbus-guest.service"
}

# _boot_rootfs_configure ROOT [KVERS]: test configuration, the agent and the
# pruned module trees of KVERS (default: both pinned kernels).
_boot_rootfs_configure() {
	local root=$1 kvers=${2:-$BOOT_KVERS} k mods d
	echo daxbus-test >"$root/etc/hostname"
	# A fixed id: an empty /etc/machine-id means "first boot" to systemd,
	# which would start systemd-firstboot prompts on a read-only root.
	echo 5d1b0a7c3e8f4a2b9c6d0e1f2a3b4c5d >"$root/etc/machine-id"
	{
		echo '# Test VM root; see BOOT_FSTAB in tests/boot/lib.sh for ro/rw.'
		echo "$BOOT_FSTAB"
	} >"$root/etc/fstab"
	# Nobody logs in; a getty on the console would only add noise.
	ln -sf /dev/null "$root/etc/systemd/system/serial-getty@.service"
	ln -sf /dev/null "$root/etc/systemd/system/getty@.service"
	rm -f "$root"/etc/systemd/system/timers.target.wants/*
	ln -sf /lib/systemd/system/multi-user.target "$root/etc/systemd/system/default.target"

	_boot_install_agent "$root"

	for k in $kvers; do
		# lib/modules: kmod's path, whether /lib is merged into /usr or not
		mods=$root/lib/modules/$k
		mkdir -p "$root/lib/modules"
		cp -a "$BOOT_BUILD/kernels/$k/lib/modules/$k" "$mods" || return 1
		for d in $BOOT_PRUNE; do
			rm -rf "${mods:?}/kernel/$d"
		done
		depmod -b "$root" "$k" || return 1
	done
}

# Stage 2: the debootstrap tree plus test configuration, agent and both
# kernels' module trees.  Prints the tree's path; never modify it in place.
boot_rootfs_base() {
	boot_kernels || return 1
	_boot_locked rootfs _boot_rootfs_base
}

_boot_rootfs_base() {
	local dst=$BOOT_CACHE/rootfs key tmp
	_boot_debootstrap bookworm >/dev/null || return 1
	key=$(_boot_rootfs_key)
	if [ "$(cat "$dst/.key" 2>/dev/null)" != "$key" ]; then
		boot_log "assembling root tree"
		tmp=$(mktemp -d "$BOOT_CACHE/.rootfs.XXXXXX")
		if ! cp -a "$BOOT_CACHE/debootstrap/." "$tmp/" ||
			! rm -f "$tmp/.complete" ||
			! _boot_rootfs_configure "$tmp"; then
			rm -rf "$tmp"
			boot_die "root tree assembly failed"
			return 1
		fi
		echo "$key" >"$tmp/.key"
		rm -rf "$dst" "$BOOT_CACHE/rootfs.img"
		mv "$tmp" "$dst"
	fi
	echo "$dst"
}

boot_mkfs_tree() {
	local tree=$1 out=$2
	rm -f "$out"
	if ! truncate -s "$BOOT_DISK_SIZE" "$out" ||
		! mkfs.ext4 -q -F -L daxbus-root -d "$tree" "$out" >/dev/null; then
		boot_die "mkfs.ext4 -d $tree failed"
	fi
}

_boot_base_image() {
	local root=$1 base=$2
	if [ ! -e "$base" ] || [ "$base" -ot "$root/.key" ]; then
		boot_mkfs_tree "$root" "$base.tmp" || return 1
		mv "$base.tmp" "$base"
	fi
}

# OUT gets an ext4 image of a root tree: the cached root (boot_rootfs_base)
# unless --tree names another one.  Without EXTRA_DIR the cached root's image
# is a sparse copy of a cached image; otherwise the files of EXTRA_DIR (paths
# relative to /) are laid over a hard-linked copy of the tree first.  Any
# other TREE also gets this tree's guest agent (so an older copy in it cannot
# change the report); the rest of it (fstab, module trees...) is the tree's
# business, normally a derivative of boot_rootfs_base.
boot_disk_image() {
	local tree=""
	if [ "${1-}" = --tree ]; then
		tree=${2:?boot_disk_image --tree TREE OUT [EXTRA_DIR]}
		shift 2
		[ -d "$tree" ] || boot_die "tree '$tree' is not a directory" || return 1
	fi
	local out=${1:?boot_disk_image [--tree TREE] OUT [EXTRA_DIR]} extra=${2-} base tmp
	[ -z "$extra" ] || [ -d "$extra" ] || boot_die "EXTRA_DIR '$extra' is not a directory" || return 1
	mkdir -p "$(dirname "$out")" "$BOOT_DIR"
	if [ -z "$tree" ]; then
		tree=$(boot_rootfs_base) || return 1
		if [ -z "$extra" ]; then
			base=$BOOT_CACHE/rootfs.img
			_boot_locked rootfs _boot_base_image "$tree" "$base" || return 1
			rm -f "$out"
			cp --sparse=always "$base" "$out"
			return
		fi
	fi
	tmp=$(mktemp -d "$BOOT_DIR/.overlay.XXXXXX")
	# Hard links keep the copy cheap; --remove-destination unlinks every
	# file it replaces, so the tree's inodes are never written.
	local ok=1
	cp -al "$tree/." "$tmp/" || ok=0
	if [ "$ok" = 1 ] && [ "$tree" != "$BOOT_CACHE/rootfs" ]; then
		_boot_replace_agent "$tmp" || ok=0
	fi
	if [ "$ok" = 1 ] && [ -n "$extra" ]; then
		cp -a --remove-destination "$extra/." "$tmp/" || ok=0
	fi
	[ "$ok" = 1 ] && { boot_mkfs_tree "$tmp" "$out" || ok=0; }
	rm -rf "$tmp"
	[ "$ok" = 1 ] || boot_die "disk image of $tree${extra:+ + $extra} failed"
}

# --- files inside an ext4 image, without mounting it (debugfs) ---------------
# debugfs exits 0 even when a command fails; errors are lines on stderr other
# than its version banner, so each call is checked that way.

_boot_debugfs() {
	local disk=$1 err
	shift
	err=$(DEBUGFS_PAGER=__none__ debugfs "$@" "$disk" 2>&1 >/dev/null | grep -v '^debugfs [0-9]')
	[ -z "$err" ] || { echo "$err" >&2; return 1; }
}

# Type of PATH in the image: regular, directory, symlink, ... or "missing".
# Intermediate symlinks are followed by debugfs itself.
_boot_disk_type() {
	local t
	t=$(DEBUGFS_PAGER=__none__ debugfs -R "stat \"$2\"" "$1" 2>/dev/null | sed -n 's/^Inode: [0-9]*  *Type: \([a-z]*\).*/\1/p')
	echo "${t:-missing}"
}

_boot_disk_readlink() {
	local disk=$1 path=$2 info
	info=$(DEBUGFS_PAGER=__none__ debugfs -R "stat \"$path\"" "$disk" 2>/dev/null)
	case $info in
	*'Fast link dest: "'*)
		info=${info#*Fast link dest: \"}
		printf '%s\n' "${info%%\"*}"
		;;
	*) DEBUGFS_PAGER=__none__ debugfs -R "cat \"$path\"" "$disk" 2>/dev/null ;;
	esac
}

_boot_disk_path_ok() {
	case $1 in
	/*) ;;
	*) boot_die "$1: not an absolute path" || return 1 ;;
	esac
	case $1 in
	*'"'* | *$'\n'* | *' '*) boot_die "$1: blanks and quotes are not supported in image paths" ;;
	esac
}

# Resolve PATH to a path without symlinks inside the image DISK, one
# component at a time like a chroot would (absolute targets mean the image's
# root, ".." stops at it).  Prints the path; fails on a dangling link.
_boot_disk_resolve() {
	local disk=$1 resolved="" c t hops=0
	local -a rest
	IFS=/ read -r -a rest <<<"$2"
	while [ ${#rest[@]} -gt 0 ]; do
		c=${rest[0]}
		rest=("${rest[@]:1}")
		case $c in
		'' | .) continue ;;
		..) resolved=${resolved%/*}; continue ;;
		esac
		case $(_boot_disk_type "$disk" "$resolved/$c") in
		missing) boot_die "$disk: no $resolved/$c (resolving $2)"; return 1 ;;
		symlink)
			hops=$((hops + 1))
			[ "$hops" -le 40 ] || boot_die "$disk: too many links resolving $2" || return 1
			t=$(_boot_disk_readlink "$disk" "$resolved/$c")
			[ -n "$t" ] || boot_die "$disk: unreadable link $resolved/$c" || return 1
			[ "${t#/}" != "$t" ] && resolved=""
			local -a more
			IFS=/ read -r -a more <<<"$t"
			rest=("${more[@]}" "${rest[@]}")
			;;
		*) resolved=$resolved/$c ;;
		esac
	done
	echo "${resolved:-/}"
}

boot_disk_extract() {
	local disk=${1:?boot_disk_extract DISK PATH OUT} path=${2:?boot_disk_extract DISK PATH OUT} out=${3:?boot_disk_extract DISK PATH OUT} real
	[ -f "$disk" ] || boot_die "no disk image $disk" || return 1
	_boot_disk_path_ok "$path" || return 1
	real=$(_boot_disk_resolve "$disk" "$path") || return 1
	[ "$(_boot_disk_type "$disk" "$real")" = regular ] || boot_die "$disk: $path ($real) is not a regular file" || return 1
	mkdir -p "$(dirname "$out")"
	rm -f "$out.tmp"
	if _boot_debugfs "$disk" -R "dump \"$real\" \"$out.tmp\"" && [ -f "$out.tmp" ]; then
		mv "$out.tmp" "$out"
	else
		rm -f "$out.tmp"
		boot_die "$disk: dumping $real failed"
	fi
}

# Names in directory PATH of the image, one a line (none if it is missing).
boot_disk_ls() {
	local disk=${1:?boot_disk_ls DISK PATH} path=${2:?boot_disk_ls DISK PATH}
	_boot_disk_path_ok "$path" || return 1
	[ "$(_boot_disk_type "$disk" "$path")" = directory ] || return 0
	# -p: /inode/mode/uid/gid/name/size/ per entry
	DEBUGFS_PAGER=__none__ debugfs -R "ls -p \"$path\"" "$disk" 2>/dev/null |
		awk -F/ 'NF >= 7 && $6 != "." && $6 != ".." { print $6 }'
}

boot_disk_rm() {
	local disk=${1:?boot_disk_rm DISK PATH} path=${2:?boot_disk_rm DISK PATH}
	_boot_disk_path_ok "$path" || return 1
	case $(_boot_disk_type "$disk" "$path") in
	missing) return 0 ;;
	directory) boot_die "$disk: $path is a directory" ;;
	*) _boot_debugfs "$disk" -w -R "rm \"$path\"" ;;
	esac
}

boot_disk_put() {
	local disk=${1:?boot_disk_put DISK SRC PATH} src=${2:?boot_disk_put DISK SRC PATH} path=${3:?boot_disk_put DISK SRC PATH}
	local dir="" c size
	local -a parts
	_boot_disk_path_ok "$path" || return 1
	[ -f "$src" ] || boot_die "boot_disk_put: no file $src" || return 1
	[ -f "$disk" ] || boot_die "no disk image $disk" || return 1
	# One debugfs run: parents (those that exist complain), the old file
	# (may not exist), the new one; then check what is there.
	IFS=/ read -r -a parts <<<"${path%/*}"
	{
		for c in "${parts[@]}"; do
			[ -n "$c" ] || continue
			dir=$dir/$c
			echo "mkdir \"$dir\""
		done
		echo "rm \"$path\""
		echo "write \"$src\" \"$path\""
	} | DEBUGFS_PAGER=__none__ debugfs -w -f - "$disk" >/dev/null 2>&1
	size=$(DEBUGFS_PAGER=__none__ debugfs -R "stat \"$path\"" "$disk" 2>/dev/null | awk '
		/^Inode:/ { type = $4 }
		/^User:/ { for (i = 1; i < NF; i++) if ($i == "Size:") size = $(i + 1) }
		END { if (type == "regular") print size }')
	[ "$size" = "$(stat -c %s "$src")" ] || boot_die "$disk: writing $path failed"
}

# Decide KVM vs TCG with one short boot of the 5.10 kernel with no root: it
# must get all the way to the "cannot mount root" panic (panic=-1 and
# -no-reboot then end QEMU).  Here /dev/kvm exists but guests stall right
# after the decompressor, so merely opening /dev/kvm proves nothing.
# BOOT_ACCEL=kvm|tcg skips the probe.
boot_qemu_probe() {
	_boot_locked probe _boot_qemu_probe
}

_boot_qemu_probe() {
	# One decision file per run: parallel runs must not overwrite each
	# other's decision (and re-probe).  build/boot/accel is the latest one,
	# for people reading the logs.
	local f=$BOOT_DIR/accel.d/$BOOT_RUN_ID log t0 cpu=${BOOT_KVM_CPU:-qemu64} accel=tcg
	if [ -n "${BOOT_ACCEL-}" ]; then
		echo "$BOOT_ACCEL"
		return 0
	fi
	mkdir -p "$BOOT_DIR/accel.d"
	if [ ! -s "$f" ]; then
		find "$BOOT_DIR/accel.d" -type f -mmin +1440 -delete 2>/dev/null || true
		"$BOOT_TOP/tools/fetch-kernel.sh" "$BOOT_KVER_COMPAT" >/dev/null || return 1
		log=$BOOT_DIR/probe-console.log
		t0=$(boot_now)
		if [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
			rm -f "$log"
			timeout -k 5 "${BOOT_PROBE_TIMEOUT:-20}" qemu-system-x86_64 \
				-enable-kvm -cpu "$cpu" -m 512 -nographic -monitor none -nic none \
				-no-reboot -serial "file:$log" \
				-kernel "$BOOT_BUILD/kernels/$BOOT_KVER_COMPAT/boot/vmlinuz-$BOOT_KVER_COMPAT" \
				-append "console=ttyS0 panic=-1" \
				</dev/null >"$BOOT_DIR/probe-qemu.log" 2>&1 || true
			grep -q 'Kernel panic' "$log" 2>/dev/null && accel=kvm
		fi
		echo "$accel" >"$f"
		echo "$accel" >"$BOOT_DIR/accel"
		boot_log "probe: KVM (-cpu $cpu) $([ $accel = kvm ] && echo works || echo 'does not reach the kernel panic') -> $accel ($(boot_elapsed "$t0") s)"
	fi
	cat "$f"
}

_boot_accel_args() {
	local a
	# Probes only on the first call of a run (see BOOT_RUN_ID).
	a=$(boot_qemu_probe) || return 1
	if [ "$a" = kvm ]; then
		echo "-enable-kvm -cpu ${BOOT_KVM_CPU:-qemu64}"
	else
		echo "-accel tcg"
	fi
}

# Build an initramfs with the host's dracut, isolated from the host's dracut
# configuration and module tree:
#   --conf /dev/null --confdir <empty>   no /etc/dracut.conf{,.d} of the host
#   --kmoddir                            modules from build/kernels/KVER
#   --no-hostonly                        generic image, as distributions ship
#   --no-compress                        gzip costs ~35 s per image here
# DRACUT_BASEDIR: a private copy of /usr/lib/dracut (e.g. with the project's
# module added under modules.d/).  dracut 059 takes its base directory from
# the environment variable `dracutbasedir` (default /usr/lib/dracut) and reads
# dracut-init.sh, dracut-functions.sh, modules.d/ and dracut.conf.d/ from it;
# dracut-install is found on $PATH first, so the copy may omit it.
boot_initrd() {
	local out=${1:?boot_initrd OUT KVER [dracut args...]} kver=${2:?boot_initrd OUT KVER [dracut args...]}
	shift 2
	local kmods=$BOOT_BUILD/kernels/$kver/lib/modules/$kver empty=$BOOT_DIR/empty-confdir
	[ -d "$kmods" ] || "$BOOT_TOP/tools/fetch-kernel.sh" "$kver" >/dev/null || return 1
	mkdir -p "$empty" "$(dirname "$out")"
	local base=()
	if [ -n "${DRACUT_BASEDIR-}" ]; then
		[ -f "$DRACUT_BASEDIR/dracut-init.sh" ] || boot_die "DRACUT_BASEDIR=$DRACUT_BASEDIR has no dracut-init.sh" || return 1
		base=(env "dracutbasedir=$DRACUT_BASEDIR")
	fi
	if ! "${base[@]}" dracut --no-hostonly --no-compress --no-early-microcode --force \
		--conf /dev/null --confdir "$empty" \
		--kver "$kver" --kmoddir "$kmods" "$@" "$out" >"$out.log" 2>&1; then
		tail -n 20 "$out.log" >&2
		boot_die "dracut failed for $out, see $out.log"
		return 1
	fi
}

# Boot a kernel and collect the guest report into build/boot/NAME/report.txt.
boot_run() {
	local name=${1:?} kver=${2:?} initrd=${3:?} disk=${4:?} nvdimm=${5:?} append=${6-}
	local dir=$BOOT_DIR/$name kernel accel t0 rc=0 limit
	kernel=$BOOT_BUILD/kernels/$kver/boot/vmlinuz-$kver
	[ -e "$kernel" ] || boot_die "no kernel $kernel (tools/fetch-kernel.sh $kver)" || return 1
	local f
	for f in "$initrd" "$disk" "$nvdimm"; do
		[ -e "$f" ] || boot_die "$name: missing $f" || return 1
	done
	accel=$(_boot_accel_args) || return 1
	case $accel in
	*kvm*) limit=${BOOT_TIMEOUT:-120} ;;
	*) limit=${BOOT_TIMEOUT:-240} ;;
	esac
	# Only this boot's outputs are removed: callers may keep their disk and
	# NVDIMM copies in the same directory.
	mkdir -p "$dir"
	rm -f "$dir"/{console.log,report.raw,report.txt,qemu.log,qemu.cmd,seconds,accel}
	local cmd
	# shellcheck disable=SC2206,SC2054 # accel is a list of options; commas are QEMU's
	cmd=(qemu-system-x86_64 $accel
		-machine pc,nvdimm=on -m 1G,slots=2,maxmem=4G -smp "${BOOT_SMP:-1}"
		-object "memory-backend-file,id=mem1,share=on,mem-path=$nvdimm,size=$BOOT_NVDIMM_SIZE"
		-device nvdimm,id=nv1,memdev=mem1
		-drive "file=$disk,format=raw,if=virtio,cache=unsafe"
		-kernel "$kernel" -initrd "$initrd"
		-append "$BOOT_BASE_APPEND $append"
		-nographic -monitor none -nic none -no-reboot
		-serial "file:$dir/console.log" -serial "file:$dir/report.raw")
	printf '%q ' "${cmd[@]}" >"$dir/qemu.cmd"
	case $accel in
	*kvm*) echo kvm >"$dir/accel" ;;
	*) echo tcg >"$dir/accel" ;;
	esac
	t0=$(boot_now)
	timeout -k 10 "$limit" "${cmd[@]}" </dev/null >"$dir/qemu.log" 2>&1 || rc=$?
	boot_elapsed "$t0" >"$dir/seconds"
	# The guest sets ttyS1 raw, but strip CRs in case it could not.  The
	# callers may run with set -e, so nothing here may fail on a missing file.
	local block=""
	[ -e "$dir/report.raw" ] &&
		block=$(tr -d '\r' <"$dir/report.raw" | sed -n '/^DAXBUS-BEGIN$/,/^DAXBUS-END$/p')
	if ! printf '%s\n' "$block" | grep -qx DAXBUS-END; then
		{
			echo "boot: $name: no complete report (qemu rc=$rc, $(cat "$dir/seconds") s, limit $limit s)"
			[ "$rc" = 124 ] && echo "boot: $name: timed out"
			echo "--- qemu: $(tail -n 5 "$dir/qemu.log")"
			echo "--- tail of $dir/console.log:"
			tail -n 30 "$dir/console.log" 2>/dev/null || true
		} >&2
		return 1
	fi
	printf '%s\n' "$block" | grep -v -x -e DAXBUS-BEGIN -e DAXBUS-END >"$dir/report.txt" || true
	boot_log "$name: report after $(cat "$dir/seconds") s ($accel)"
}

# First value of KEY in NAME's report (empty when absent).
boot_report_get() {
	sed -n "s/^$(printf '%s' "$2" | sed 's/[.[\*^$/]/\\&/g')=//p" "$BOOT_DIR/$1/report.txt" | head -n1
}

# A copy of the NVDIMM backing file that holds a devdax namespace.  The
# conversion takes a whole boot, so it is done once and cached; the info
# block persists in the file, and every test boot gets its own copy because
# the guest writes to it.
boot_nvdimm() {
	local out=${1:?boot_nvdimm OUT} cached=$BOOT_CACHE/nvdimm-devdax.img
	_boot_locked nvdimm _boot_nvdimm_convert "$cached" || return 1
	mkdir -p "$(dirname "$out")"
	rm -f "$out"
	cp --sparse=always "$cached" "$out"
}

boot_nvdimm_uuid() {
	local cached=$BOOT_CACHE/nvdimm-devdax.img uuid
	_boot_locked nvdimm _boot_nvdimm_convert "$cached" || return 1
	uuid=$(cat "$cached.uuid" 2>/dev/null)
	[ -n "$uuid" ] || boot_die "no uuid recorded in $cached.uuid" || return 1
	echo "$uuid"
}

_boot_nvdimm_convert() {
	local cached=$1 uuid
	# A copy converted before the uuid was recorded is converted again.
	[ -s "$cached.uuid" ] || rm -f "$cached"
	if [ ! -e "$cached" ]; then
		local work=$BOOT_CACHE/convert disk initrd active
		mkdir -p "$work"
		boot_log "converting the NVDIMM to devdax (one boot)"
		boot_disk_image "$work/disk.img" || return 1
		initrd=$work/initrd-plain-$BOOT_KVER_BUS.img
		# Always the stock dracut, whatever the calling test set.
		DRACUT_BASEDIR='' boot_initrd "$initrd" "$BOOT_KVER_BUS" || return 1
		rm -f "$work/nvdimm.img"
		truncate -s "$BOOT_NVDIMM_SIZE" "$work/nvdimm.img"
		boot_run nvdimm-convert "$BOOT_KVER_BUS" "$initrd" "$work/disk.img" "$work/nvdimm.img" "daxbus.test=convert" || return 1
		active=$(boot_report_get nvdimm-convert nd_dax_active)
		if [ "$(boot_report_get nvdimm-convert convert_rc)" != 0 ] || [ -z "$active" ] || [ "$active" = none ]; then
			boot_die "NVDIMM conversion did not produce a devdax namespace, see $BOOT_DIR/nvdimm-convert/report.txt"
			return 1
		fi
		# create-namespace prints the new namespace as JSON; its "uuid"
		# is the devdax info block's (daxctl list shows the same).
		uuid=$(sed -n 's/^convert=.*"uuid": *"\([0-9a-f-]*\)".*/\1/p' "$BOOT_DIR/nvdimm-convert/report.txt" | head -n1)
		[ -n "$uuid" ] || boot_die "no uuid in the conversion's output, see $BOOT_DIR/nvdimm-convert/report.txt" || return 1
		echo "$uuid" >"$cached.uuid.tmp"
		mv "$work/nvdimm.img" "$cached"
		mv "$cached.uuid.tmp" "$cached.uuid"
		rm -f "$work/disk.img" "$initrd" "$initrd.log"
	fi
}
