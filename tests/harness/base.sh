# shellcheck shell=bash
# The boot harness's ground floor: where things are, logging, locks, the
# clock, the pinned kernels.  Every other file of tests/harness/ sources it.
#
#   boot_log MSG / boot_die MSG     "boot: ..." on stderr (boot_die returns 1)
#   boot_now / boot_elapsed T0      a clock in seconds with milliseconds
#   boot_locked NAME CMD...         CMD under build/boot/cache/.NAME.lock
#   boot_kernels                    fetch both pinned kernels
[ -n "${HARNESS_BASE_LOADED-}" ] && return 0
HARNESS_BASE_LOADED=1

HARNESS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BOOT_TOP=$(cd "$HARNESS/../.." && pwd)
BOOT_BUILD=${DAXBUS_BUILD:-$BOOT_TOP/build}
BOOT_DIR=$BOOT_BUILD/boot
BOOT_CACHE=$BOOT_DIR/cache
# shellcheck disable=SC2034 # for the files that source this one
BOOT_GUEST_SRC=$HARNESS/guest

# One id per top-level run, inherited by scripts that source this again, so
# that what is built once per run (the KVM probe, shared images) is.
export BOOT_RUN_ID=${BOOT_RUN_ID:-$$.$(date +%s)}

# The two kernels every cell is written against (package linux-image-KVER;
# exact package versions are pinned in tools/fetch-kernel.sh).
BOOT_KVER_COMPAT=5.10.0-32-amd64 # bullseye: has dax_pmem_compat
BOOT_KVER_BUS=6.1.0-50-amd64     # bookworm: bus model only
BOOT_KVERS="$BOOT_KVER_COMPAT $BOOT_KVER_BUS"

# What the harness needs on the host.
BOOT_DEPS="qemu-system-x86 qemu-utils debootstrap dracut-core kmod cpio e2fsprogs coreutils util-linux dpkg apt debian-archive-keyring openssh-client"

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

# Run "$@" holding build/boot/cache/.NAME.lock, so jobs and test scripts may
# run in parallel: the first builds a cached piece, the others wait for it.
boot_locked() {
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
	for p in $BOOT_DEPS; do
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
