#!/bin/bash
# make check-reliability: the power-cut instants the `power-cut` boot cell
# does not aim at (tests/reliability/cells.sh): `daxbus enable`
# on a booted 5.10 root, killed before the rename of the policy's temporary
# and between that rename and the directory's fsync, the power cut right
# then, the disk booted again.  Builds the aim tool (tests/reliability/aim.c)
# with musl, then runs the two cells through the boot harness (QEMU, a few
# minutes; not part of make check).
set -uo pipefail
. "$(dirname "$0")/lib.sh"
here=$(cd "$(dirname "$0")" && pwd)
aim=$T_TOP/build/boot/aim
mkdir -p "${aim%/*}"
if ! command -v musl-gcc >/dev/null; then
	fail "build: aim" "musl-gcc is not installed (make deps installs musl-tools)"
	r_figure "power-cut instants (boot cells)" 2 0
	t_done
	exit 1
fi
if ! musl-gcc -static -Os -Wall -Wextra -Werror -o "$aim.tmp" "$here/aim.c" 2>"$T_WORK/aim-build.log"; then
	fail "build: aim" "$(cat "$T_WORK/aim-build.log")"
	r_figure "power-cut instants (boot cells)" 2 0
	t_done
	exit 1
fi
mv "$aim.tmp" "$aim"
out=$T_WORK/instants.out
RELIABILITY_AIM=$aim bash "$T_TOP/tests/harness/boot.sh" cut-before-rename cut-before-dirsync | tee "$out"
r_figure "power-cut instants (boot cells)" 2 "$(grep -c '^cell [a-z-]*: PASS' "$out")"
t_done
