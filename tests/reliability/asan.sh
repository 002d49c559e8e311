#!/bin/bash
# The hermetic tests against the ASan/UBSan build (make asan builds it):
# tests/helper/{cli,initrd,kmod}.sh, tests/migrate/migrate.sh and
# tests/reliability/publish.sh with DAXBUS pointing at build/asan/daxbus.
# Any sanitizer report aborts the helper, which the tests see as a wrong exit
# status.  Leak checking is on, except for publish.sh: LeakSanitizer cannot
# run under ptrace (strace).
set -uo pipefail
. "$(dirname "$0")/lib.sh"
ASAN_DAXBUS=${ASAN_DAXBUS:-$T_TOP/build/asan/daxbus}
[ -x "$ASAN_DAXBUS" ] || { fail "requirement: $ASAN_DAXBUS" "not built (make asan-build)"; t_done; exit 1; }
if ! grep -qa __asan_init "$ASAN_DAXBUS"; then
	fail "requirement: ASan" "$ASAN_DAXBUS is not built with AddressSanitizer"; t_done; exit 1
fi

total_p=0 total_f=0
for s in helper/cli helper/initrd reliability/publish helper/kmod migrate/migrate; do
	leaks=1
	[ "$s" = reliability/publish ] && leaks=0
	log=$(t_tmp asan).log
	DAXBUS=$ASAN_DAXBUS T_RESULTS='' \
		ASAN_OPTIONS="detect_leaks=$leaks:abort_on_error=1:print_summary=1" \
		UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1" \
		bash "$T_TOP/tests/$s.sh" >"$log" 2>&1
	rc=$?
	read -r p f < <(sed -n 's/^# [a-z]*\.sh: \([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p' "$log" | tail -1)
	if [ -z "${p:-}" ]; then
		fail "asan: tests/$s.sh did not finish (exit $rc)" "$(tail -n 20 "$log")"
		total_f=$((total_f + 1))
		continue
	fi
	total_p=$((total_p + p)); total_f=$((total_f + f))
	if grep -q 'ERROR: AddressSanitizer\|runtime error:\|ERROR: LeakSanitizer' "$log"; then
		fail "asan: tests/$s.sh: sanitizer report" "$(grep -m3 -A3 'ERROR: AddressSanitizer\|runtime error:\|ERROR: LeakSanitizer' "$log")"
	elif [ "$f" = 0 ] && [ "$rc" = 0 ]; then
		pass "asan: tests/$s.sh: $p passed"
	else
		fail "asan: tests/$s.sh: $f of $((p + f)) failed" "$(grep -A2 '^not ok' "$log" | head -n 20)"
	fi
	rm -f "$log"
done
echo "# asan: $total_p of $((total_p + total_f)) hermetic tests passed on $ASAN_DAXBUS"
r_figure "hermetic tests on the ASan/UBSan build" "$((total_p + total_f))" "$total_p" "cli initrd faults kmod"
t_done
