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
# The hermetic phase runs its scripts in TEST_JOBS lanes (default 2 with two
# or more CPUs, 1 otherwise): most of them use one CPU, and the two lanes
# together take about half the time of one.  Each script's output is printed
# whole when it ends.  Scripts that share a working directory run in order in
# one lane (a chain below); the caches they share (kernels, Debian roots) are
# built under locks (tests/harness/base.sh, boot_locked).
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
# Chains: scripts that must run one after the other in the same lane,
# because one writes what the other reads (images and recipes share
# build/tests/images and the private dracut base directory, whose daxbus
# module each call puts in afresh).  A script in no chain is a chain alone.
chains=("dracut/images dracut/recipes")
# The order lanes take chains in: the longest first (measured cold, 2 cores),
# so the two lanes end close together; others follow in the order of unit.
longest=(reliability/check packages/packages dracut/generations dracut/images helper/judgements harness/selftest itools/scripts)
jobs=${TEST_JOBS:-$([ "$(nproc 2>/dev/null || echo 1)" -ge 2 ] && echo 2 || echo 1)}
case $jobs in
'' | *[!0-9]* | 0) echo "tests/run.sh: TEST_JOBS must be a number of lanes, 1 or more, not '$jobs'" >&2; exit 2 ;;
esac
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
# Every sample goes to $T_WORK/disk-samples ("SECONDS BYTES"); the peak and
# its moment (to match with the run's log of script times) are read from it.
disk_t0=$(date +%s)
samples=$T_WORK/disk-samples
mkdir -p "$T_WORK" && : >"$samples"
sample_disk() {
	local now
	now=$(nice -n 19 du -sxk "$top/build" 2>/dev/null | cut -f1)
	[ -n "$now" ] && echo "$(($(date +%s) - disk_t0)) $((now * 1024))" >>"$samples" 2>/dev/null
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
lanes=$T_WORK/lanes.$$
rm -rf "$lanes" && mkdir -p "$lanes"
# Each script's files in LANES are named by its path, / made -.
lane_key() { echo "$lanes/${1//\//-}"; }
# run_one S: runs tests/S.sh with its own results file (KEY.results), its
# wall time in KEY.seconds.
run_one() {
	local s=$1 key start=$SECONDS
	key=$(lane_key "$s")
	T_RESULTS=$key.results bash "$top/tests/$s.sh"
	echo $((SECONDS - start)) >"$key.seconds"
}
# collect S: what run_one left, into the run's totals.
collect() {
	local s=$1 key
	key=$(lane_key "$s")
	times+=("$(printf '#   %5d s  tests/%s.sh' "$(cat "$key.seconds" 2>/dev/null || echo 0)" "$s")")
	sample_disk
	# a script that died before t_done reported nothing: count it as a failure
	if [ -s "$key.results" ]; then
		cat "$key.results" >>"$T_RESULTS"
	else
		echo "not ok - tests/$s.sh did not finish"
		echo "0 1" >>"$T_RESULTS"
		broken=1
	fi
}
run_script() {
	echo "# --- tests/$1.sh"
	run_one "$1"
	collect "$1"
}

# run_lanes SCRIPT...: the scripts in $jobs lanes, by chains (above); each
# script's output is printed whole, with its header, as its chain ends.
run_lanes() {
	local s c i done_pid order=() queue=() chain
	declare -A in_list=() taken=() chain_of=()
	for s in "$@"; do in_list[$s]=1; done
	for c in "${chains[@]}"; do
		for s in $c; do chain_of[$s]=$c; done
	done
	# longest first, then the rest in the given order
	for s in "${longest[@]}" "$@"; do
		if [ -z "${in_list[$s]-}" ] || [ -n "${taken[$s]-}" ]; then continue; fi
		chain=${chain_of[$s]:-$s}
		c=
		for i in $chain; do
			[ -n "${in_list[$i]-}" ] && c+="${c:+ }$i" && taken[$i]=1
		done
		order+=("$c")
	done
	queue=("${order[@]}")
	declare -A chain_pid=()
	while [ ${#queue[@]} -gt 0 ] || [ ${#chain_pid[@]} -gt 0 ]; do
		while [ ${#queue[@]} -gt 0 ] && [ ${#chain_pid[@]} -lt "$jobs" ]; do
			chain=${queue[0]}
			queue=("${queue[@]:1}")
			(
				for s in $chain; do
					run_one "$s" >"$(lane_key "$s").out" 2>&1
				done
			) &
			chain_pid[$!]=$chain
			echo "# started: ${chain// / then } (${#chain_pid[@]} of $jobs lanes busy)"
		done
		done_pid=
		wait -n -p done_pid "${!chain_pid[@]}"
		# no pid: the wait was interrupted by a signal; wait again
		[ -n "$done_pid" ] || { sleep 1; continue; }
		for s in ${chain_pid[$done_pid]}; do
			echo "# --- tests/$s.sh"
			cat "$(lane_key "$s").out"
			collect "$s"
		done
		unset "chain_pid[$done_pid]"
	done
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
	if [ "$phase" != boot ] && [ "$jobs" -gt 1 ] && [ ${#list[@]} -gt 1 ]; then
		echo "# $jobs lanes (TEST_JOBS); each script's output appears whole when it ends"
		run_lanes "${list[@]}"
	else
		for s in "${list[@]}"; do
			run_script "$s"
		done
	fi
done
rm -rf "$lanes"
kill "$sampler" 2>/dev/null
wait "$sampler" 2>/dev/null
sample_disk

# wall time of each script (the CI run has a time limit)
echo "# wall time per script:"
printf '%s\n' "${times[@]}"
awk -v f="${samples#"$top"/}" '$2 > b { b = $2; t = $1 }
	END { printf "# peak disk use of build/: %.1f GB (du, sampled every 30 s and after each script)", b / 1e9
		if (NR) printf ", %d s after the start (%s)", t, f
		print "" }' "$samples" 2>/dev/null
read -r passed failed < <(awk '{p+=$1; f+=$2} END {print p+0, f+0}' "$T_RESULTS")
rm -f "$T_RESULTS"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ] && [ "$broken" = 0 ]
