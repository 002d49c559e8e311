# shellcheck shell=bash
# Library for the QEMU boot tests: builds (and caches) a Debian bookworm root
# disk with a guest agent, a devdax-converted NVDIMM backing file and
# initramfs images made with the host's dracut, then boots real Debian kernels
# and collects the agent's key=value report.  Source it; it does not run
# anything by itself.
#
#   boot_deps                          apt-get install what is missing
#   boot_kernels                       fetch both pinned kernels
#   boot_rootfs_base                   -> path of the cached root tree
#   boot_disk_image OUT [EXTRA_DIR]    ext4 image of the root (+ EXTRA_DIR)
#   boot_mkfs_tree TREE OUT            ext4 image of any tree (mkfs.ext4 -d)
#   boot_nvdimm OUT                    fresh copy of the converted NVDIMM
#   boot_qemu_probe                    KVM or TCG, decided once per run
#   boot_initrd OUT KVER [dracut args...]
#   boot_run NAME KVER INITRD DISK NVDIMM APPEND
#   boot_report_get NAME KEY           first value of KEY in NAME's report
#
# Everything lands in build/boot/; cached pieces in build/boot/cache/.
# The guest agent and its report keys: tests/boot/guest/daxbus-guest.

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

# Seconds since the epoch with millisecond precision, for the phase timings.
boot_now() { date +%s.%N | cut -c1-14; }
boot_elapsed() { awk -v a="$1" -v b="$(boot_now)" 'BEGIN { printf "%.1f", b - a }'; }

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
# forever; delete build/boot/cache/debootstrap to refresh it.
_boot_debootstrap() {
	local dst=$BOOT_CACHE/debootstrap tmp uri sources
	[ -e "$dst/.complete" ] && return 0
	sources=${DAXBUS_DEBIAN_SOURCES:-/etc/apt/sources.list.d/debian.sources}
	# The archive comes from the machine's own apt configuration so no
	# mirror name is written into the repository.
	uri=$(awk '/^URIs:/ && $2 !~ /security/ { print $2; exit }' "$sources" 2>/dev/null)
	[ -n "$uri" ] || boot_die "no archive URI in $sources" || return 1
	mkdir -p "$BOOT_CACHE"
	tmp=$(mktemp -d "$BOOT_CACHE/.debootstrap.XXXXXX")
	boot_log "debootstrap bookworm minbase (about 40 s)"
	if ! debootstrap --variant=minbase \
		--include=systemd-sysv,udev,kmod,ndctl,daxctl,e2fsprogs \
		bookworm "$tmp" "$uri" >"$BOOT_CACHE/debootstrap.log" 2>&1; then
		rm -rf "$tmp"
		tail -n 20 "$BOOT_CACHE/debootstrap.log" >&2
		boot_die "debootstrap failed, see $BOOT_CACHE/debootstrap.log"
		return 1
	fi
	touch "$tmp/.complete"
	rm -rf "$dst"
	mv "$tmp" "$dst"
}

# Everything stage 2 depends on; a change rebuilds the tree (not stage 1).
_boot_rootfs_key() {
	{
		declare -f _boot_rootfs_configure
		echo "$BOOT_FSTAB $BOOT_PRUNE $BOOT_KVERS"
		cat "$BOOT_GUEST_SRC/daxbus-guest" "$BOOT_GUEST_SRC/daxbus-guest.service"
		local k
		for k in $BOOT_KVERS; do
			stat -c %Y "$BOOT_BUILD/kernels/$k/.complete" 2>/dev/null
		done
	} | sha256sum | cut -d' ' -f1
}

_boot_rootfs_configure() {
	local root=$1 k mods d
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

	install -m 0755 "$BOOT_GUEST_SRC/daxbus-guest" "$root/usr/local/sbin/daxbus-guest"
	install -m 0644 "$BOOT_GUEST_SRC/daxbus-guest.service" "$root/etc/systemd/system/daxbus-guest.service"
	ln -sf ../daxbus-guest.service "$root/etc/systemd/system/multi-user.target.wants/daxbus-guest.service"
	mkdir -p "$root/usr/local/lib/daxbus-guest.d"

	for k in $BOOT_KVERS; do
		mods=$root/usr/lib/modules/$k
		mkdir -p "$root/usr/lib/modules"
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
	_boot_debootstrap || return 1
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

# OUT gets an ext4 image of the root tree.  Without EXTRA_DIR it is a sparse
# copy of a cached image; with EXTRA_DIR the files of EXTRA_DIR (paths
# relative to /) are laid over a hard-linked copy of the tree first.
boot_disk_image() {
	local out=${1:?boot_disk_image OUT [EXTRA_DIR]} extra=${2-} root base tmp
	root=$(boot_rootfs_base) || return 1
	mkdir -p "$(dirname "$out")"
	if [ -z "$extra" ]; then
		base=$BOOT_CACHE/rootfs.img
		_boot_locked rootfs _boot_base_image "$root" "$base" || return 1
		rm -f "$out"
		cp --sparse=always "$base" "$out"
		return
	fi
	[ -d "$extra" ] || boot_die "EXTRA_DIR '$extra' is not a directory" || return 1
	tmp=$(mktemp -d "$BOOT_DIR/.overlay.XXXXXX")
	# Hard links keep the copy cheap; --remove-destination unlinks every
	# file it replaces, so the cached tree's inodes are never written.
	if cp -al "$root/." "$tmp/" && cp -a --remove-destination "$extra/." "$tmp/"; then
		boot_mkfs_tree "$tmp" "$out" || { rm -rf "$tmp"; return 1; }
	else
		rm -rf "$tmp"
		boot_die "overlaying $extra failed"
		return 1
	fi
	rm -rf "$tmp"
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
	rm -f "$dir"/{console.log,report.raw,report.txt,qemu.log,qemu.cmd,seconds}
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

_boot_nvdimm_convert() {
	local cached=$1
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
		mv "$work/nvdimm.img" "$cached"
		rm -f "$work/disk.img" "$initrd" "$initrd.log"
	fi
}
