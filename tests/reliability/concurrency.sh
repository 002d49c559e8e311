#!/bin/bash
# Hundreds of parallel runs on one root, in batches: identical enables
# racing, disables racing, then a seeded mix of enable, enable --runtime,
# enable --dracut, disable and disable --runtime.  Every run must exit 0
# (the end state it asked for held when it finished), and after every batch
# each policy file is either absent or exactly daxbus's, with no temporary
# left and nothing else in the root.  CONC_RUNS (default 300) sets the total,
# CONC_BATCH (default 50) the runs started at once.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
t_require timeout

RUNS=${CONC_RUNS:-300}
BATCH=${CONC_BATCH:-50}
MIX=("enable" "enable --runtime" "enable --dracut" "disable" "disable --runtime")
RANDOM=9 # the same mix every time

runs=0 ok_runs=0
dir=$(t_tmp conc)
R=$dir/root

# Start the given command lines at once; count and report the exit statuses.
batch() {
	local label=$1 i bad=() rc
	shift
	local -a pids=() cmds=("$@")
	for i in "${!cmds[@]}"; do
		# shellcheck disable=SC2086  # the command line is split on purpose
		timeout -k 2 60 "$DAXBUS" ${cmds[i]} --root "$R" >"$dir/out.$i" 2>&1 &
		pids[i]=$!
	done
	for i in "${!cmds[@]}"; do
		wait "${pids[i]}"
		rc=$?
		runs=$((runs + 1))
		if [ "$rc" = 0 ]; then
			ok_runs=$((ok_runs + 1))
		else
			bad+=("${cmds[i]}: exit $rc: $(tr '\n' ' ' <"$dir/out.$i")")
		fi
	done
	rm -f "$dir"/out.*
	if [ ${#bad[@]} = 0 ]; then
		pass "$label: ${#cmds[@]} parallel runs, all exit 0"
	else
		fail "$label: ${#bad[@]} of ${#cmds[@]} parallel runs failed" "${bad[@]:0:6}"
	fi
}

# The root holds only the directories and, per file, nothing or exactly ours.
check_state() {
	local label=$1 want=$2 m line why=
	m=$(r_manifest "$R")
	while IFS= read -r line; do
		[ -n "$line" ] || continue
		case $line in
		"etc d755" | "run d755" | "etc/modprobe.d d755" | "run/modprobe.d d755" | "etc/dracut.conf.d d755") ;;
		"etc/modprobe.d/daxctl.conf f644 "* | "run/modprobe.d/daxctl.conf f644 "*)
			[ "${line#* f644 }" = "$policy_q" ] || why+="${line%% *} is not the policy; " ;;
		"etc/dracut.conf.d/daxbus.conf f644 "*)
			[ "${line#* f644 }" = "$dropin_q" ] || why+="the drop-in is not daxbus's; " ;;
		*) why+="unexpected entry: $line; " ;;
		esac
	done <<<"$m"
	case $want in
	present) [ -f "$R/etc/modprobe.d/daxctl.conf" ] || why+="etc/modprobe.d/daxctl.conf missing; " ;;
	absent) [ ! -e "$R/etc/modprobe.d/daxctl.conf" ] && [ ! -e "$R/etc/dracut.conf.d/daxbus.conf" ] || why+="policy still present; " ;;
	esac
	if [ -z "$why" ]; then pass "$label: final state consistent ($want)"; else fail "$label: final state" "$why" "$m"; fi
}
policy_text=$(<"$POLICY_FILE")$'\n'
printf -v policy_q '%q' "$policy_text"
printf -v dropin_q '%q' "$R_DROPIN_TEXT"

mkdir -p "$R/etc" "$R/run"
n=$((BATCH < RUNS ? BATCH : RUNS))
mapfile -t cmds < <(for _ in $(seq "$n"); do echo enable; done)
batch "identical enables" "${cmds[@]}"
check_state "identical enables" present
left=$((RUNS - n))
n=$((BATCH < left ? BATCH : left))
if [ "$n" -gt 0 ]; then
	mapfile -t cmds < <(for _ in $(seq "$n"); do echo disable; done)
	batch "identical disables" "${cmds[@]}"
	check_state "identical disables" absent
	left=$((left - n))
fi
b=0
while [ "$left" -gt 0 ]; do
	b=$((b + 1))
	n=$((BATCH < left ? BATCH : left))
	cmds=()
	for _ in $(seq "$n"); do cmds+=("${MIX[RANDOM % ${#MIX[@]}]}"); done
	batch "mixed batch $b" "${cmds[@]}"
	check_state "mixed batch $b" any
	left=$((left - n))
done

echo "# concurrent runs: $ok_runs of $runs exited 0"
r_figure "concurrent runs (batches of $BATCH)" "$runs" "$ok_runs"
rm -rf "$dir"
t_done
