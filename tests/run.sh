#!/bin/bash
# Runs the test scripts and sums their results.  The last line is always
# "N passed, N failed" (CI reads it); the exit status is 0 only if nothing
# failed and every script ran to its end.  Before each phase it says what
# the phase holds; at the end, each script's wall time and the peak disk use
# of build/ (sampled).
#   tests/run.sh --unit   hermetic tests (no VM)
#   tests/run.sh --boot   the QEMU boot matrix (tests/harness/boot.sh)
#   tests/run.sh --all    both
#   tests/run.sh NAME...  those scripts (tests/NAME.sh), e.g. packages/packages
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
export T_WORK=${T_WORK:-$top/build/tests}
mkdir -p "$T_WORK"
export T_RESULTS=$T_WORK/results.$$
: >"$T_RESULTS"
# One id for every script of the run: what is built once per run is.
export BOOT_RUN_ID=${BOOT_RUN_ID:-$$.$(date +%s)}

# The hermetic scripts, by family (tests/README of the layout: README.md, "Tests").
unit=(helper/build helper/cli helper/fnmatch helper/kmod helper/judgements helper/initrd reliability/publish
	dracut/hooks dracut/images dracut/generations dracut/recipes itools/scripts migrate/migrate migrate/inuse
	ostree/status ansible/collection cloudinit/config harness/selftest packages/packages reliability/check)
boot=(harness/boot)
case ${1:---all} in
--unit) phases=(unit) ;;
--boot) phases=(boot) ;;
--all) phases=(unit boot) ;;
-*) echo "usage: tests/run.sh [--unit|--boot|--all|NAME...]" >&2; exit 2 ;;
*)
	for s in "$@"; do
		[ -f "$top/tests/$s.sh" ] || { echo "tests/run.sh: no tests/$s.sh" >&2; exit 2; }
	done
	named=("$@")
	phases=(named)
	;;
esac

# The peak of build/'s size, sampled every 30 s in the background (and at
# each script's end); du counts blocks in use (sparse images as what they
# hold) and hard links once.
peak=$T_WORK/disk-peak.$$
echo 0 >"$peak"
sample_disk() {
	local now
	now=$(nice -n 19 du -sxk "$top/build" 2>/dev/null | cut -f1)
	[ -n "$now" ] && now=$((now * 1024)) && [ "$now" -gt "$(cat "$peak")" ] && echo "$now" >"$peak"
	return 0
}
(
	trap 'exit 0' TERM
	while :; do
		sample_disk
		sleep 30 &
		wait $!
	done
) &
sampler=$!

broken=0
times=()
run_script() {
	local s=$1 before start
	echo "# --- tests/$s.sh"
	before=$(wc -l <"$T_RESULTS")
	start=$SECONDS
	bash "$top/tests/$s.sh"
	times+=("$(printf '#   %5d s  tests/%s.sh' $((SECONDS - start)) "$s")")
	sample_disk
	# a script that died before t_done reported nothing: count it as a failure
	if [ "$(wc -l <"$T_RESULTS")" = "$before" ]; then
		echo "not ok - tests/$s.sh did not finish"
		echo "0 1" >>"$T_RESULTS"
		broken=1
	fi
}

for phase in "${phases[@]}"; do
	case $phase in
	unit) list=("${unit[@]}") ;;
	boot) list=("${boot[@]}") ;;
	named) list=("${named[@]}") ;;
	esac
	case $phase in
	boot) echo "# === phase boot: the boot matrix (its first line says how many boots and cells)" ;;
	*) echo "# === phase $phase: ${#list[@]} scripts: ${list[*]}" ;;
	esac
	for s in "${list[@]}"; do
		run_script "$s"
	done
done
kill "$sampler" 2>/dev/null
wait "$sampler" 2>/dev/null
sample_disk

# wall time of each script (the CI run has a time limit)
echo "# wall time per script:"
printf '%s\n' "${times[@]}"
awk -v b="$(cat "$peak")" 'BEGIN { printf "# peak disk use of build/: %.1f GB (du, sampled every 30 s and after each script)\n", b / 1e9 }'
rm -f "$peak"
read -r passed failed < <(awk '{p+=$1; f+=$2} END {print p+0, f+0}' "$T_RESULTS")
rm -f "$T_RESULTS"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ] && [ "$broken" = 0 ]
