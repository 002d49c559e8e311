#!/bin/bash
# make check-reliability (and tests/run.sh --unit): fault injection, hostile
# roots, concurrency, fuzzing and the hermetic tests on the ASan build, then
# one figures table.  Builds build/asan/daxbus and build/fuzz/* first if
# they are missing (make asan-build fuzz-build).  FUZZ_SECONDS (default 15)
# bounds each harness.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
here=$(dirname "$0")
start=$(date +%s)
export T_WORK
mkdir -p "$T_WORK"
: >"$T_WORK/reliability.figures"
# Run alone (make check-reliability), sum the results like tests/run.sh does.
alone=
if [ -z "${T_RESULTS:-}" ]; then
	export T_RESULTS=$T_WORK/reliability.results
	: >"$T_RESULTS"
	alone=1
fi

if ! make -C "$T_TOP" --no-print-directory -s asan-build fuzz-build >"$T_WORK/reliability-build.log" 2>&1; then
	fail "build: make asan-build fuzz-build" "$(tail -n 20 "$T_WORK/reliability-build.log")"
fi
for s in faults hostile concurrency fuzz asan; do
	echo "# --- tests/reliability/$s.sh"
	bash "$here/$s.sh"
done
# The power-cut instants boot QEMU for minutes: make check-reliability only.
if [ "${RELIABILITY_BOOTS:-0}" = 1 ]; then
	echo "# --- tests/reliability/instants.sh"
	bash "$here/instants.sh"
fi

# The figures each script left, one table.
echo "#"
echo "# reliability figures ($(($(date +%s) - start)) s)"
printf '# %-46s %12s %12s  %s\n' "what" "tried" "passed" "note"
while IFS='|' read -r what tried passed note; do
	printf '# %-46s %12s %12s  %s\n' "$what" "$tried" "$passed" "$note"
done <"$T_WORK/reliability.figures"
t_done
if [ -n "$alone" ]; then
	read -r passed failed < <(awk '{p+=$1; f+=$2} END {print p+0, f+0}' "$T_RESULTS")
	rm -f "$T_RESULTS"
	echo "$passed passed, $failed failed"
	[ "$failed" = 0 ]
fi
