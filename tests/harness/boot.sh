#!/bin/bash
# The boot matrix: every family's boot cells (tests/FAMILY/cells.sh), run by
# the scheduler (sched.sh) on real Debian kernels in QEMU with the emulated
# NVDIMM.  Prints `cell NAME: PASS ...` or `cell NAME: FAIL <what was seen>`
# per cell as it is decided, progress as boots end, and the summary.
#
#   tests/harness/boot.sh [CELL...]   default: every family's cells; named
#                                     cells run just the boots they need
#                                     (an unknown name fails before setup)
#   tests/harness/boot.sh --list      every declared cell's name
# Sourcing it with HARNESS_DECLARE_ONLY=1 only declares (make demo).
set -uo pipefail
harness=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/t.sh
. "$harness/../lib/t.sh"
# shellcheck source=../lib/dracut.sh
. "$harness/../lib/dracut.sh"
# shellcheck source=base.sh
. "$harness/base.sh"
# shellcheck source=roots.sh
. "$harness/roots.sh"
# shellcheck source=disk.sh
. "$harness/disk.sh"
# shellcheck source=qemu.sh
. "$harness/qemu.sh"
# shellcheck source=nvdimm.sh
. "$harness/nvdimm.sh"
# shellcheck source=sched.sh
. "$harness/sched.sh"
# shellcheck source=checks.sh
. "$harness/checks.sh"
# shellcheck source=../lib/deb.sh
. "$harness/../lib/deb.sh"

# shellcheck disable=SC2034 # the families' cells use them
K510=$BOOT_KVER_COMPAT
# shellcheck disable=SC2034
K61=$BOOT_KVER_BUS
ALL_CELLS=()

# fresh BOOT key=value...: an overlay on the base root with this build's
# helper in /usr/sbin (so the guest can report `daxbus status`).
fresh() {
	local b=$1
	shift
	sched_boot "$b" disk=base "put=$DAXBUS:/usr/sbin/daxbus" "$@"
}

# The families, in the order their cells are listed.  The fleet and
# cloudinit cells come last and run only when asked (BOOT_FLEET, below).
for family in dracut itools hostonly migrate reliability ostree fleet cloudinit; do
	# shellcheck source=/dev/null
	. "$harness/../$family/cells.sh"
	case $family in ostree) BOOT_CORE_CELLS=("${ALL_CELLS[@]}") ;; esac
done
unset family

# BOOT_FLEET: whether the fleet and cloudinit cells (three guests driven by
# Ansible over SSH, a cloud-init first boot) join the matrix when no cell is
# named.  0 (make check): not them; they cost more time and disk than make
# check's budget (README, "Tests").  1 (make check-boot): every cell.  only
# (make check-fleet): just them.  Cells named on the command line always run.
BOOT_FLEET=${BOOT_FLEET:-0}
BOOT_FLEET_CELLS=("${ALL_CELLS[@]:${#BOOT_CORE_CELLS[@]}}")
boot_default_cells() {
	case $BOOT_FLEET in
	0) echo "${BOOT_CORE_CELLS[@]}" ;;
	1) echo "${ALL_CELLS[@]}" ;;
	only) echo "${BOOT_FLEET_CELLS[@]}" ;;
	esac
}

# Room for the matrix: the bases and the boots' overlays, the NVDIMM
# copies, the images (measured peak of a cold run: README, "Tests").
BOOT_SPACE_GB=${BOOT_SPACE_GB:-6}
boot_space() {
	local avail
	mkdir -p "$BOOT_DIR"
	avail=$(df --output=avail -B1G "$BOOT_DIR" | tail -n1 | tr -d ' ')
	[ "$avail" -ge "$BOOT_SPACE_GB" ] ||
		boot_die "only $avail GB free under $BOOT_DIR; the boot matrix needs about $BOOT_SPACE_GB GB (BOOT_SPACE_GB)"
}

# Everything the cells share, built once: kernels, base root, NVDIMM, accel,
# the dracut base directory every image of the run is built with.
boot_setup() {
	local t0
	t0=$(boot_now)
	boot_space && boot_deps >&2 && boot_kernels >&2 && boot_rootfs_base >/dev/null &&
		boot_nvdimm_uuid >/dev/null && boot_qemu_probe >&2 || return 1
	if [ -z "${DRACUT_BASEDIR-}" ]; then
		DRACUT_BASEDIR=$(dracut_base_dir "") || return 1
		export DRACUT_BASEDIR
	fi
	echo "# boot setup took $(boot_elapsed "$t0") s"
}

if [ -z "${HARNESS_DECLARE_ONLY-}" ]; then
	case $BOOT_FLEET in
	0 | 1 | only) ;;
	*) echo "cell setup: FAIL BOOT_FLEET='$BOOT_FLEET' is not 0, 1 or only"; fail "BOOT_FLEET" "'$BOOT_FLEET' is not 0, 1 or only"; t_done; exit 1 ;;
	esac
	if [ "${1-}" = --list ]; then
		sched_cells | sort
		exit 0
	fi
	# Names are checked before the setup's minutes of downloads and builds.
	bad=0
	for c in "$@"; do
		if [ -z "${SC_BOOTS[$c]+x}" ]; then
			echo "cell $c: FAIL unknown cell (tests/harness/boot.sh --list names them)"
			fail "boot cell $c" "unknown cell"
			bad=1
		fi
	done
	[ "$bad" = 0 ] || { t_done; exit 1; }
	t_require qemu-system-x86_64 qemu-img qemu-storage-daemon dracut lsinitrd mkfs.ext4 debugfs unshare chroot zstd cpio \
		ssh ssh-keygen ansible-playbook ansible-galaxy dpkg-scanpackages
	boot_setup || { echo "cell setup: FAIL kernels, base root, NVDIMM, QEMU probe or disk space"; fail "boot setup" "see above"; t_done; exit 1; }
	if [ $# -gt 0 ]; then
		sched_run "$@"
	else
		[ "$BOOT_FLEET" = 0 ] && echo "# not in this run (BOOT_FLEET=0; make check-boot and make check-fleet run them): ${BOOT_FLEET_CELLS[*]}"
		# shellcheck disable=SC2046 # cell names are single words
		sched_run $(boot_default_cells)
	fi
	t_done
fi
