# shellcheck shell=bash
# One guest in QEMU: a real Debian kernel, an initramfs, a disk, the
# emulated NVDIMM; the guest agent's report on the second serial port.
#
#   boot_qemu_probe                  -> kvm or tcg, decided once per run
#   guest_run NAME KERNEL INITRD DISK NVDIMM APPEND
#                                    boot; files in build/boot/NAME: console.log,
#                                    report.txt, qemu.cmd, qemu.log, seconds,
#                                    accel, runs; 0 when a report came
#   boot_report_get NAME KEY         first value of KEY in NAME's report
#   boot_report_all NAME KEY         every value of KEY (a repeated key), a line each
# KERNEL is a vmlinuz path, or a kernel release (the pinned kernels).
# Per boot, in the environment of guest_run:
#   GUEST_CACHE=unsafe|none|directsync|writeback   the disk's cache mode
#                                    (unsafe by default: fast, and nothing
#                                    but a host crash loses data)
#   GUEST_SMP=N GUEST_MEM=1G         vCPUs and memory
#   GUEST_TIMEOUT=S                  QEMU is killed after S s (per run)
#   GUEST_KILL_ON=ERE                SIGKILL QEMU the moment a console line
#                                    matches (a power cut); "killed" holds it
#   GUEST_SSH_PORT=N                 user networking, host 127.0.0.1:N -> 22
#   GUEST_REBOOTS=N                  a guest that reboots itself comes back,
#                                    up to N times, on the kernel and
#                                    initramfs of its own disk
#                                    (GUEST_OWN_KERNEL, GUEST_OWN_INITRD:
#                                    paths in the image, links followed;
#                                    default /vmlinuz, /initrd.img)
#   GUEST_NO_REPORT=1                success is QEMU ending (poweroff, or
#                                    GUEST_KILL_ON), no report is expected
# shellcheck source=base.sh
. "$(dirname "${BASH_SOURCE[0]}")/base.sh"
# shellcheck source=disk.sh
. "$(dirname "${BASH_SOURCE[0]}")/disk.sh"
[ -n "${HARNESS_QEMU_LOADED-}" ] && return 0
HARNESS_QEMU_LOADED=1

# Always on the kernel command line.  rd.shell=0 rd.emergency=poweroff make a
# broken initramfs end the VM at once instead of idling until the timeout;
# no_timer_check avoids a rare early "IO-APIC + timer doesn't work" panic
# under TCG on a loaded host.
BOOT_BASE_APPEND=${BOOT_BASE_APPEND:-console=ttyS0 root=/dev/vda ro panic=-1 rd.shell=0 rd.emergency=poweroff no_timer_check}
BOOT_NVDIMM_SIZE=512M

# Decide KVM vs TCG with one short boot of the 5.10 kernel with no root: it
# must get all the way to the "cannot mount root" panic (panic=-1 and
# -no-reboot then end QEMU).  /dev/kvm can exist while guests stall right
# after the decompressor, so merely opening it proves nothing.
# BOOT_ACCEL=kvm|tcg skips the probe.
boot_qemu_probe() {
	boot_locked probe _boot_qemu_probe
}

_boot_qemu_probe() {
	# One decision file per run: parallel runs must not overwrite each
	# other's decision.  build/boot/accel is the latest one, for people.
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
				-enable-kvm -cpu "$cpu" -m 512 -display none -monitor none -nic none \
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

_guest_accel_args() {
	local a
	a=$(boot_qemu_probe) || return 1
	if [ "$a" = kvm ]; then
		echo "-enable-kvm -cpu ${BOOT_KVM_CPU:-qemu64}"
	else
		echo "-accel tcg"
	fi
}

# The report block of DIR/report.raw into DIR/report.txt; 0 when complete.
_guest_take_report() {
	local dir=$1 block=""
	[ -e "$dir/report.raw" ] &&
		block=$(tr -d '\r' <"$dir/report.raw" | sed -n '/^DAXBUS-BEGIN$/,/^DAXBUS-END$/p')
	printf '%s\n' "$block" | grep -qx DAXBUS-END || return 1
	printf '%s\n' "$block" | grep -v -x -e DAXBUS-BEGIN -e DAXBUS-END >"$dir/report.txt" || true
}

# One QEMU run of CMD; console to DIR/console.log (appended), watched for
# GUEST_KILL_ON when set.  Returns QEMU's status (137 when killed).
_guest_qemu_once() {
	local dir=$1 limit=$2
	shift 2
	local qpid dog rc=0 line re=${GUEST_KILL_ON-}
	if [ -z "$re" ]; then
		"$@" -serial "file:$dir/console.run" -serial "file:$dir/report.raw" </dev/null >>"$dir/qemu.log" 2>&1 &
		qpid=$!
	else
		rm -f "$dir/console.fifo"
		mkfifo "$dir/console.fifo"
		"$@" -serial stdio -serial "file:$dir/report.raw" </dev/null >"$dir/console.fifo" 2>>"$dir/qemu.log" &
		qpid=$!
	fi
	# The watchdog holds no descriptor of the caller's and its sleep ends with
	# it: a sleep left running kept a boot_locked lock held around this run
	# (the NVDIMM conversion's) for the whole limit, and other boots waited.
	(
		for f in /proc/"$BASHPID"/fd/*; do
			f=${f##*/}
			[ "$f" -gt 2 ] && exec {f}>&-
		done
		trap 'kill "$nap" 2>/dev/null; exit 0' TERM
		sleep "$limit" &
		nap=$!
		wait "$nap" && kill -9 "$qpid" 2>/dev/null && echo "timed out after $limit s" >"$dir/timedout"
	) &
	dog=$!
	if [ -n "$re" ]; then
		: >"$dir/console.run"
		while IFS= read -r line; do
			line=${line%$'\r'}
			printf '%s\n' "$line" >>"$dir/console.run"
			if [[ $line =~ $re ]] && [ ! -e "$dir/killed" ]; then
				kill -9 "$qpid" 2>/dev/null
				printf '%s\n' "$line" >"$dir/killed"
			fi
		done <"$dir/console.fifo"
		rm -f "$dir/console.fifo"
	fi
	wait "$qpid" || rc=$?
	pkill -P "$dog" 2>/dev/null
	kill "$dog" 2>/dev/null
	wait "$dog" 2>/dev/null
	cat "$dir/console.run" >>"$dir/console.log" 2>/dev/null
	rm -f "$dir/console.run"
	return "$rc"
}

guest_run() {
	local name=${1:?} kernel=${2:?} initrd=${3:?} disk=${4:?} nvdimm=${5:?} append=${6-}
	local dir=$BOOT_DIR/$name accel t0 rc=0 limit fmt=raw net="-nic none" runs=0 reason
	local own_k=${GUEST_OWN_KERNEL:-/vmlinuz} own_i=${GUEST_OWN_INITRD:-/initrd.img}
	[ -e "$kernel" ] || kernel=$BOOT_BUILD/kernels/$kernel/boot/vmlinuz-$kernel
	local f
	for f in "$kernel" "$initrd" "$disk" "$nvdimm"; do
		[ -e "$f" ] || boot_die "$name: missing $f" || return 1
	done
	accel=$(_guest_accel_args) || return 1
	case $accel in
	*kvm*) limit=${GUEST_TIMEOUT:-120} ;;
	*) limit=${GUEST_TIMEOUT:-240} ;;
	esac
	_disk_is_qcow2 "$disk" && fmt=qcow2
	[ -n "${GUEST_SSH_PORT-}" ] && net="-nic user,model=virtio-net-pci,hostfwd=tcp:127.0.0.1:$GUEST_SSH_PORT-:22"
	mkdir -p "$dir"
	rm -f "$dir"/{console.log,console.run,report.raw,report.txt,qemu.log,qemu.cmd,seconds,accel,killed,timedout,runs}
	case $accel in *kvm*) echo kvm >"$dir/accel" ;; *) echo tcg >"$dir/accel" ;; esac
	t0=$(boot_now)
	while :; do
		local -a cmd
		# shellcheck disable=SC2206,SC2054 # accel and net are lists of options; commas are QEMU's
		# -nodefaults: no VGA, floppy, CD-ROM or parallel port (and no default
		# serial: both are named below), whose drivers every boot would
		# otherwise probe and load under TCG for nothing
		cmd=(qemu-system-x86_64 $accel -nodefaults
			-machine pc,nvdimm=on -m "${GUEST_MEM:-1G},slots=2,maxmem=4G" -smp "${GUEST_SMP:-1}"
			-object "memory-backend-file,id=mem1,share=on,mem-path=$nvdimm,size=$BOOT_NVDIMM_SIZE"
			-device nvdimm,id=nv1,memdev=mem1
			-drive "file=$disk,format=$fmt,if=virtio,cache=${GUEST_CACHE:-unsafe}"
			-kernel "$kernel" -initrd "$initrd" -append "$BOOT_BASE_APPEND $append"
			-display none -monitor none $net -no-reboot)
		printf '%q ' "${cmd[@]}" >>"$dir/qemu.cmd"
		echo >>"$dir/qemu.cmd"
		runs=$((runs + 1))
		echo "$runs" >"$dir/runs"
		[ "$runs" = 1 ] || echo "=== daxbus harness: run $runs, kernel $kernel, initrd $initrd ===" >>"$dir/console.log"
		rc=0
		_guest_qemu_once "$dir" "$limit" "${cmd[@]}" || rc=$?
		[ -e "$dir/timedout" ] || [ -e "$dir/killed" ] && break
		# a guest that asked for a reboot comes back on its own kernel and initramfs
		if [ "$runs" -le "${GUEST_REBOOTS:-0}" ] && tail -n 5 "$dir/console.log" 2>/dev/null | grep -q 'reboot: Restarting system'; then
			kernel=$dir/own-vmlinuz initrd=$dir/own-initrd.img
			if ! disk_with "$disk" _guest_own_boot_files "$own_k" "$own_i" "$kernel" "$initrd"; then
				boot_die "$name: cannot take the kernel and initramfs out of the guest's disk"
				break
			fi
			continue
		fi
		break
	done
	boot_elapsed "$t0" >"$dir/seconds"
	if [ "${GUEST_NO_REPORT-}" = 1 ]; then
		[ ! -e "$dir/timedout" ] && { [ "$rc" = 0 ] || [ -e "$dir/killed" ]; } && return 0
		reason="qemu rc=$rc"
	elif _guest_take_report "$dir"; then
		boot_log "$name: report after $(cat "$dir/seconds") s ($accel, $runs run$([ "$runs" = 1 ] || echo s))"
		return 0
	else
		reason="no complete report (qemu rc=$rc, $(cat "$dir/seconds") s, limit $limit s)"
	fi
	{
		echo "boot: $name: $reason"
		[ -e "$dir/timedout" ] && echo "boot: $name: timed out"
		echo "--- qemu: $(tail -n 5 "$dir/qemu.log")"
		echo "--- tail of $dir/console.log:"
		tail -n 30 "$dir/console.log" 2>/dev/null || true
	} >&2
	return 1
}

_guest_own_boot_files() {
	local raw=$1 k=$2 i=$3 kout=$4 iout=$5
	disk_extract_raw "$raw" "$k" "$kout" && disk_extract_raw "$raw" "$i" "$iout"
}

# First value of KEY in NAME's report (empty when absent).
boot_report_get() { boot_report_all "$1" "$2" | head -n1; }
boot_report_all() {
	sed -n "s/^$(printf '%s' "$2" | sed 's/[.[\*^$/]/\\&/g')=//p" "$BOOT_DIR/$1/report.txt" 2>/dev/null
}
