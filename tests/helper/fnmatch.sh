#!/bin/bash
# The helper links its own fnmatch (helper/fnmatch.c) in place of musl's, to
# leave the wide-character tables out of the binary.  libkmod matches every
# module alias with it, so it must answer exactly as musl's does: compared
# here over every alias pattern of both pinned Debian kernels (against
# strings made from them and their neighbours) and over random patterns
# full of the awkward cases (brackets left open, classes, ranges, `\`).
set -uo pipefail
. "$(dirname "$0")/../lib/t.sh"

t_require musl-gcc awk
work=$(t_tmp fnmatch)
cmp=$work/compare
if ! out=$(musl-gcc -std=gnu11 -O1 -Wall -Wextra -Werror -static -DDAXBUS_FNMATCH=daxbus_fnmatch \
	-o "$cmp" "$T_TOP/tests/helper/fnmatch/compare.c" "$T_TOP/helper/fnmatch.c" 2>&1); then
	fail "build the comparison program with musl-gcc" "$out"
	t_done
	exit 1
fi

# compare_ok NAME MIN_MATCHED OUTPUT RC: no difference, and enough matches
# that the comparison is not all "no match" on both sides.
compare_ok() {
	local name=$1 min=$2 out=$3 rc=$4 matched
	matched=$(sed -n 's/.*matched \([0-9]*\),.*/\1/p' <<<"$out" | tail -n 1)
	if [ "$rc" = 0 ] && [ "${matched:-0}" -ge "$min" ]; then
		pass "$name: $(tail -n 1 <<<"$out")"
	else
		fail "$name (exit $rc, want at least $min matches)" "$(tail -n 21 <<<"$out")"
	fi
}

for seed in 1 20251130; do
	out=$("$cmp" random 400000 "$seed")
	compare_ok "random patterns, seed $seed: same answers as musl" 1000 "$out" $?
done

for k in "${DAXBUS_K510:-5.10.0-32-amd64}" "${DAXBUS_K61:-6.1.0-50-amd64}"; do
	if ! tree=$("$T_TOP/tools/fetch-kernel.sh" "$k"); then
		fail "fetch kernel $k" "tools/fetch-kernel.sh $k failed"
		continue
	fi
	alias=$tree/lib/modules/$k/modules.alias
	n=$(awk '$1 == "alias"' "$alias" 2>/dev/null | wc -l)
	if [ "$n" -lt 1000 ]; then
		fail "$k: modules.alias has $n aliases" "$alias"
		continue
	fi
	out=$(awk '$1 == "alias" { print $2 }' "$alias" | "$cmp" aliases)
	compare_ok "$k: all $n alias patterns, same answers as musl" "$n" "$out" $?
done

t_done
