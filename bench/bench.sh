#!/bin/bash
# The benchmark table (`make bench`): size, system calls, speed against
# daxctl migrate-device-model measured A/B in the same run, peak RSS, and the
# dracut module's cost (initramfs size, helper time per boot step).
# It measures and prints; it does not pass or fail on shared-machine timings.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
DAXBUS=${DAXBUS:-$top/build/daxbus}
work=$top/build/bench
mkdir -p "$work"
N=${BENCH_RUNS:-200}
rows=()
row() { rows+=("$(printf '| %-50s | %10s | %-20s | %-4s |' "$1" "$2" "$3" "$4")"); }
# A value that is no number (a run that failed) meets no target.
verdict() { awk -v v="$1" -v t="$2" -v op="$3" 'BEGIN { if (v !~ /^[0-9]+(\.[0-9]+)?$/) print "NO"; else if (op == "le") print (v <= t ? "yes" : "NO"); else print (v >= t ? "yes" : "NO") }'; }

# Size.  The targets guard against regressions and were set again when
# `migrate` came in: it links libkmod's module insertion and removal (about
# 15 KiB) and adds 9 KiB of its own, 117.8 -> 141.8 KiB.  The in-use scan
# that makes migrate safe on a real server (every thread's descriptor table,
# mount namespaces, a deadline-bound child for the candidates) and the JSON
# reports took it to 165.8 KiB; the target stays, as a question to answer.
size=$(stat -c %s "$DAXBUS")
row "stripped size of build/daxbus (KiB)" "$(awk -v s="$size" 'BEGIN{printf "%.1f", s/1024}')" "<= 144" "$(verdict "$size" $((144 * 1024)) le)"

# System calls, counted by strace (execve included)
total_calls() { strace -f -o "$work/strace.raw" "$@" >/dev/null 2>&1; grep -cvE '^[0-9]+ +\+\+\+|^[0-9]+ +---' "$work/strace.raw"; }
fresh=$work/root-fresh
rm -rf "$fresh" && mkdir -p "$fresh/etc/modprobe.d"
n_fresh=$(total_calls "$DAXBUS" enable --root "$fresh")
n_again=$(total_calls "$DAXBUS" enable --root "$fresh")
row "syscalls: enable on a fresh root" "$n_fresh" "<= 40" "$(verdict "$n_fresh" 40 le)"
row "syscalls: enable on an enabled root (no-op)" "$n_again" "<= 40" "$(verdict "$n_again" 40 le)"

# Peak RSS of enable and of status on a real 5.10 module tree (see peakrss.py)
spawn=$work/spawn
musl-gcc -static -O2 -o "$spawn" "$top/bench/spawn.c" || { echo "bench: cannot build bench/spawn.c" >&2; exit 1; }
floor=$work/floor
musl-gcc -static -O2 -o "$floor" "$top/bench/floor.c" || { echo "bench: cannot build bench/floor.c" >&2; exit 1; }
rss() { gdb -q -batch -x "$top/bench/peakrss.py" --args "$@" 2>/dev/null | sed -n 's/^PEAK_RSS_KIB //p'; }
rm -rf "$fresh" && mkdir -p "$fresh/etc/modprobe.d"
r_enable=$(rss "$DAXBUS" enable --root "$fresh")
row "peak RSS: enable (KiB)" "$r_enable" "<= 1024" "$(verdict "$r_enable" 1024 le)"
if tree=$("$top/tools/fetch-kernel.sh" 5.10.0-32-amd64 2>/dev/null); then
	r_status=$(rss "$DAXBUS" status --root "$tree")
	row "peak RSS: status on Debian 5.10 tree (KiB)" "$r_status" "<= 1024" "$(verdict "$r_status" 1024 le)"
fi

# A/B against daxctl: both write /etc/modprobe.d/daxctl.conf, here on a
# private tmpfs in a private mount namespace, alternating, median of N each.
if command -v daxctl >/dev/null; then
	ab=$(unshare -m sh -c 'mount -t tmpfs tmpfs /etc/modprobe.d && "$1" ab /etc/modprobe.d/daxctl.conf "$2" "$3" enable -- daxctl migrate-device-model' \
		bench "$spawn" "$N" "$DAXBUS")
	if [ -n "$ab" ]; then
		read -r ta tb <<<"$ab"
		row "wall time: daxbus enable (us, median of $N)" "$ta" "" ""
		row "wall time: daxctl migrate-device-model (us)" "$tb" "" ""
		ratio=$(awk -v a="$ta" -v b="$tb" 'BEGIN{printf "%.1f", b/a}')
		row "speed-up over daxctl (x)" "$ratio" ">= 5" "$(verdict "$ratio" 5 ge)"
	fi
else
	row "daxctl A/B" "n/a" "daxctl missing" "NO"
fi

# The dracut module's cost: same image, same compression, with and without.
if command -v dracut >/dev/null && [ -n "${tree:-}" ]; then
	# shellcheck source=../tests/lib/t.sh
	. "$top/tests/lib/t.sh"
	# shellcheck source=../tests/lib/dracut.sh
	. "$top/tests/lib/dracut.sh"
	# --no-kernel: the module adds no kernel modules, and the images compress fast
	if dracut_build "$work/with.img" 5.10.0-32-amd64 systemd --no-kernel --add daxbus &&
		dracut_build "$work/without.img" 5.10.0-32-amd64 systemd --no-kernel; then
		sw=$(stat -c %s "$work/with.img"); so=$(stat -c %s "$work/without.img")
		added=$(awk -v a="$sw" -v b="$so" 'BEGIN{printf "%.1f", (a-b)/1024}')
		row "initramfs size added, uncompressed cpio (KiB)" "$added" "<= 152" "$(verdict "$added" 152 le)"
		# dracut's own zstd settings, as a Debian/Fedora image is shipped
		zw=$(zstd -q -15 -c "$work/with.img" | wc -c); zo=$(zstd -q -15 -c "$work/without.img" | wc -c)
		zadded=$(awk -v a="$zw" -v b="$zo" 'BEGIN{printf "%.1f", (a-b)/1024}')
		row "initramfs size added, zstd -15 as dracut (KiB)" "$zadded" "<= 80" "$(verdict "$zadded" 80 le)"
	fi
fi

# Helper time and system calls per boot step, natively, on a fake initramfs
# whose run/ and sysroot are tmpfs (as /run is in an initramfs), holding
# Debian's 5.10 module tree; median of 21 runs each, every run from an empty
# run/ and sysroot/etc.  The syscall count (strace -f, execve included) is
# of one run with the default options, one with rd.daxbus.debug (the
# optional libkmod inspection).  A run counts only if it exits 0 and leaves
# the policy file it was to write: a run that failed half-way (a full tmpfs:
# two copies of the 5.10 tree are about 620 MB) makes fewer calls and is no
# measure of the step.
if [ -n "${tree:-}" ]; then
	fake=$work/initrd-root
	rm -rf "$fake" && mkdir -p "$fake"
	# shellcheck disable=SC2016
	unshare -m bash -c '
		fake=$1 tree=$2 daxbus=$3 out=$4
		mount -t tmpfs -o size=1536m tmpfs "$fake" || exit 1
		mkdir -p "$fake/proc" "$fake/run" "$fake/lib/modules" "$fake/sysroot/lib/modules" "$fake/sysroot/etc"
		cp -a "$tree/lib/modules/5.10.0-32-amd64" "$fake/lib/modules/$(uname -r)" &&
			cp -a "$tree/lib/modules/5.10.0-32-amd64" "$fake/sysroot/lib/modules/$(uname -r)" || exit 1
		# did the run do its job: exit 0 and the policy file in place
		wrote() {
			[ "$1" = 0 ] || return 1
			case $2 in
			early) [ -s "$fake/run/modprobe.d/daxctl.conf" ] ;;
			root) [ -s "$fake/sysroot/etc/modprobe.d/daxctl.conf" ] ;;
			esac
		}
		for debug in "" " rd.daxbus.debug"; do
			echo "ro root=/dev/vda$debug" >"$fake/proc/cmdline"
			for step in early root; do
				times=() ok=1
				for ((i = 0; i < 21; i++)); do
					rm -rf "$fake/run/modprobe.d" "$fake/sysroot/etc/modprobe.d"
					log=$("$daxbus" initrd "$step" --root "$fake" --sysroot "$fake/sysroot" --log stderr 2>&1)
					wrote $? "$step" || { ok=0; echo "bench: $step step failed: $log" >&2; break; }
					times+=("$(printf "%s\n" "$log" | sed -n "s/.*$step step done in \([0-9]*\) us.*/\1/p")")
				done
				rm -rf "$fake/run/modprobe.d" "$fake/sysroot/etc/modprobe.d"
				strace -f -o "$out.trace" "$daxbus" initrd "$step" --root "$fake" --sysroot "$fake/sysroot" --log stderr 2>/dev/null
				wrote $? "$step" || ok=0
				if [ "$ok" = 1 ]; then
					calls=$(grep -cvE "^[0-9]+ +\+\+\+|^[0-9]+ +---" "$out.trace")
					us=$(printf "%s\n" "${times[@]}" | sort -n | awk "{v[NR]=\$1} END {print v[int((NR+1)/2)]}")
				else
					calls=failed us=failed
				fi
				echo "$step${debug:+ (debug)} $us $calls"
			done
		done' bench "$fake" "$tree" "$DAXBUS" "$work/steps" >"$work/steps.txt" 2>&1
	while read -r step d us calls; do
		[ "$d" = "(debug)" ] || { calls=$us; us=$d; d=""; }
		if [ "$us" = failed ]; then
			ms=failed
		else
			ms=$(awk -v u="$us" 'BEGIN{printf "%.2f", u/1000}')
		fi
		if [ -z "$d" ]; then
			row "helper time, $step step, native, tmpfs (ms)" "$ms" "<= 1" "$(verdict "$ms" 1 le)"
			row "syscalls, $step step (fresh write)" "$calls" "$([ "$step" = early ] && echo "<= 40" || echo "<= 40 + remount")" \
				"$([ "$step" = early ] && verdict "$calls" 40 le)"
		else
			row "helper time, $step step, rd.daxbus.debug (ms)" "$ms" "(optional)" ""
			row "syscalls, $step step, rd.daxbus.debug" "$calls" "(optional)" ""
		fi
	done < <(grep -E '^(early|root)' "$work/steps.txt")
	rm -rf "$fake"
fi
for step in early root; do
	us=$(cat "$top"/build/boot/*/report.txt 2>/dev/null |
		sed -n "s/.*daxbus: $step step done in \([0-9]*\) us.*/\1/p" | sort -n | tail -1)
	if [ -n "$us" ]; then
		ms=$(awk -v u="$us" 'BEGIN{printf "%.2f", u/1000}')
		row "helper time, $step step, in TCG VM, worst (ms)" "$ms" "(emulated)" ""
	else
		row "helper time, $step step, in VM (ms)" "n/a" "check-boot" ""
	fi
done

# Scale: the in-use scan of `migrate --dry-run` and `status` against fake
# running systems (bench/fake-live.py) on tmpfs, median of 3 runs.  The scan
# reads each descriptor's link once (and stats the ones that name a file):
# its cost grows with processes x descriptors.  The floor row is a bare
# readlinkat per descriptor of the same tree (bench/floor.c): no design that
# looks at each descriptor once is faster on the machine at hand.
ms_median() {
	local t0 ts=()
	for _ in 1 2 3; do
		t0=$(date +%s%N)
		"$@" >/dev/null 2>&1
		ts+=($((($(date +%s%N) - t0) / 1000000)))
	done
	printf '%s\n' "${ts[@]}" | sort -n | sed -n 2p
}
scale=/dev/shm/daxbus-bench.$$
# shellcheck source=../tests/lib/t.sh
. "$top/tests/lib/t.sh"
# shellcheck source=../tests/migrate/lib.sh
. "$top/tests/migrate/lib.sh"
declare -A scan_ms=()
floor_ms=
for n in 1000 10000; do
	rm -rf "$scale" && mkdir -p "$scale"
	if live "$scale/live" compat && root "$scale/root" &&
		python3 "$top/bench/fake-live.py" procs "$scale/live" "$n" 100 50 &&
		DAXBUS_TEST_LIVE=$scale/live "$DAXBUS" migrate --root "$scale/root" --dry-run >/dev/null 2>&1; then
		scan_ms[$n]=$(DAXBUS_TEST_LIVE=$scale/live ms_median "$DAXBUS" migrate --root "$scale/root" --dry-run)
		# the floor: one readlinkat per descriptor, nothing else (bench/floor.c)
		[ "$n" = 10000 ] && floor_ms=$(for _ in 1 2 3; do "$floor" "$scale/live/proc" | cut -d' ' -f1; done | sort -n | sed -n 2p)
	else
		scan_ms[$n]=failed
	fi
done
row "migrate --dry-run, 1,000 procs x 100 fds x 50 maps (ms)" "${scan_ms[1000]}" "(growth base)" ""
row "migrate --dry-run, 10,000 procs x 100 fds x 50 maps (ms)" "${scan_ms[10000]}" "<= 1000" \
	"$([ "${scan_ms[10000]}" != failed ] && verdict "${scan_ms[10000]}" 1000 le)"
row "  floor: a readlinkat per descriptor, 10,000 procs (ms)" "${floor_ms:-failed}" "(this machine)" ""
if [ "${scan_ms[1000]}" != failed ] && [ "${scan_ms[10000]}" != failed ] && [ "${scan_ms[1000]}" -gt 0 ]; then
	row "  growth 1,000 -> 10,000 processes (x)" "$(awk -v a="${scan_ms[1000]}" -v b="${scan_ms[10000]}" 'BEGIN{printf "%.1f", b/a}')" "~10 (linear)" ""
fi
rm -rf "$scale" && mkdir -p "$scale/live/proc/1" "$scale/live/dev"
echo systemd >"$scale/live/proc/1/comm"
if [ -n "${tree:-}" ] && python3 "$top/bench/fake-live.py" devices "$scale/live" 1000; then
	st=$(DAXBUS_TEST_LIVE=$scale/live ms_median "$DAXBUS" status --root "$tree" --kver 5.10.0-32-amd64)
	row "status, 1,000 device-DAX instances (ms)" "$st" "<= 100" "$(verdict "$st" 100 le)"
else
	row "status, 1,000 device-DAX instances (ms)" "failed" "<= 100" "NO"
fi
rm -rf "$scale"

printf '| %-50s | %10s | %-20s | %-4s |\n' "measure" "value" "target" "met"
printf '|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..52})" "$(printf -- '-%.0s' {1..12})" "$(printf -- '-%.0s' {1..22})" "------"
printf '%s\n' "${rows[@]}"
