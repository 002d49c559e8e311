#!/bin/bash
# Runs each libFuzzer harness (make fuzz-build builds them into build/fuzz)
# for FUZZ_SECONDS (default 15), starting from the seed corpus in
# fuzz/corpus/HARNESS; new inputs are kept in $T_WORK/fuzz-corpus/HARNESS
# for the next run, a crashing input is saved as $T_WORK/fuzz-crash-HARNESS-*.
# A harness passes when libFuzzer ends without a crash, a sanitizer report
# or a timeout, after executing at least one input.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
SECONDS_EACH=${FUZZ_SECONDS:-15}
FUZZ_DIR=${FUZZ_DIR:-$T_TOP/build/fuzz}
HARNESSES=${FUZZ_HARNESSES:-cli kmodconf_equivalent modconf_scan cmdline}

for h in $HARNESSES; do
	bin=$FUZZ_DIR/fuzz_$h
	if [ ! -x "$bin" ]; then
		fail "fuzz $h" "$bin is not built (make fuzz-build)"
		r_figure "fuzz $h (executions)" 0 0 "not built"
		continue
	fi
	[ -d "$T_TOP/fuzz/corpus/$h" ] || { fail "fuzz $h" "no seed corpus fuzz/corpus/$h"; continue; }
	corpus=$T_WORK/fuzz-corpus/$h
	mkdir -p "$corpus"
	log=$T_WORK/fuzz-$h.log
	# -close_fd_mask=3: the parsers print usage errors; libFuzzer keeps its
	# own copy of stderr for its reports and the sanitizers'.
	timeout -k 10 $((SECONDS_EACH + 120)) "$bin" -max_total_time="$SECONDS_EACH" -print_final_stats=1 \
		-close_fd_mask=3 -max_len=4096 -timeout=10 -rss_limit_mb=1024 \
		-artifact_prefix="$T_WORK/fuzz-crash-$h-" "$corpus" "$T_TOP/fuzz/corpus/$h" >"$log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	crashes=$(grep -c '^==[0-9]*==ERROR\|runtime error:\|^==[0-9]*== ERROR: libFuzzer\|deadly signal' "$log")
	if [ "$rc" = 0 ] && [ "${execs:-0}" -gt 0 ] && [ "$crashes" = 0 ]; then
		pass "fuzz $h: $execs executions in ${SECONDS_EACH}s, no crash"
		rm -f "$log"
	else
		fail "fuzz $h: exit $rc, ${execs:-0} executions, $crashes crash reports" \
			"$(grep -m1 -A12 'ERROR\|runtime error\|deadly signal' "$log")" "log: $log" \
			"artifacts: $(echo "$T_WORK/fuzz-crash-$h-"*)"
		[ "$crashes" = 0 ] && crashes=1
	fi
	r_figure "fuzz $h (executions)" "${execs:-0}" "$([ "$crashes" = 0 ] && echo "${execs:-0}" || echo 0)" "crashes: $crashes"
done
t_done
