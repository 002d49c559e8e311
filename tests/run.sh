#!/bin/bash
# Runs the test scripts and sums their results.  The last line is always
# "N passed, N failed" (CI reads it); the exit status is 0 only if nothing
# failed and every script ran to its end.
#   tests/run.sh --unit   hermetic tests (no VM)
#   tests/run.sh --boot   the QEMU boot matrix
#   tests/run.sh --all    both
#   tests/run.sh NAME...  those scripts (tests/NAME.sh), e.g. packages
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
export T_WORK=${T_WORK:-$top/build/tests}
mkdir -p "$T_WORK"
export T_RESULTS=$T_WORK/results.$$
: >"$T_RESULTS"

unit=(build cli faults fnmatch kmod initrd hooks dracut dracut-generations recipes itools migrate boot-sched packages reliability/check)
boot=(boot/cells)
case ${1:---all} in
--unit) scripts=("${unit[@]}") ;;
--boot) scripts=("${boot[@]}") ;;
--all) scripts=("${unit[@]}" "${boot[@]}") ;;
-*) echo "usage: tests/run.sh [--unit|--boot|--all|NAME...]" >&2; exit 2 ;;
*)
	scripts=("$@")
	for s in "${scripts[@]}"; do
		[ -f "$top/tests/$s.sh" ] || { echo "tests/run.sh: no tests/$s.sh" >&2; exit 2; }
	done
	;;
esac

broken=0
times=()
for s in "${scripts[@]}"; do
	echo "# --- tests/$s.sh"
	before=$(wc -l <"$T_RESULTS")
	start=$SECONDS
	bash "$top/tests/$s.sh"
	times+=("$(printf '#   %5d s  tests/%s.sh' $((SECONDS - start)) "$s")")
	# a script that died before t_done reported nothing: count it as a failure
	if [ "$(wc -l <"$T_RESULTS")" = "$before" ]; then
		echo "not ok - tests/$s.sh did not finish"
		echo "0 1" >>"$T_RESULTS"
		broken=1
	fi
done

# wall time of each script (the CI run has a time limit)
echo "# wall time per script:"
printf '%s\n' "${times[@]}"
read -r passed failed < <(awk '{p+=$1; f+=$2} END {print p+0, f+0}' "$T_RESULTS")
rm -f "$T_RESULTS"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ] && [ "$broken" = 0 ]
