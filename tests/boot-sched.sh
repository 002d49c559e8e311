#!/bin/bash
# Hermetic test of the boot-matrix scheduler (tests/boot/sched.sh) and of
# the ext4 image helpers it uses (tests/boot/lib.sh): fake boots, which sleep
# and write a report instead of running QEMU, on real (small) ext4 disks.
# Proves: at most BOOT_JOBS boots run at once and two do; dependencies run
# first; a boot shared by cells runs once and every cell gets its verdict; a
# failed boot fails its dependents' cells naming the boot they waited for; an
# image asked for by two concurrent boots is built once; a disk copied from
# an earlier boot carries what that boot wrote, its initrd can be extracted
# through symlinks, and it runs only its own guest actions.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib/t.sh
. "$here/lib/t.sh"
for c in mkfs.ext4 debugfs flock ps; do
	command -v "$c" >/dev/null || { fail "requirement: $c" "$c is not installed (e2fsprogs, util-linux, procps)"; t_done; exit 1; }
done
work=$(t_tmp boot-sched)
export DAXBUS_BUILD=$work/build
# shellcheck source=boot/lib.sh
. "$here/boot/lib.sh"
# shellcheck source=boot/sched.sh
. "$here/boot/sched.sh"
BOOT_DISK_SIZE=16M
SCHED_RUNNER=fake_run

# --- fake boots ----------------------------------------------------------------

# A root tree: /initrd.img points into /boot, where nothing is yet; a boot
# may "write" the file there (write=, as a guest rebuilding its initramfs).
tree=$work/tree
mkdir -p "$tree/boot" "$tree/etc" "$tree/usr/lib/x"
echo fake >"$tree/etc/hostname"
ln -s boot/initrd.img-fake "$tree/initrd.img"
ln -s usr/lib "$tree/lib"
echo plain-initrd >"$work/plain.img"
mkdir -p "$work/a"
for a in 10-first 20-report 30-second; do
	printf '#!/bin/sh\necho %s.ran=1\n' "$a" >"$work/a/$a.sh"
done

# Concurrency bookkeeping: every fake boot logs start and end in order.
ev=$work/events
_fake_mark() {
	local what=$1 b=$2 fd n
	exec {fd}>"$work/.ev.lock"
	flock "$fd"
	n=$(cat "$work/running" 2>/dev/null || echo 0)
	if [ "$what" = start ]; then n=$((n + 1)); else n=$((n - 1)); fi
	echo "$n" >"$work/running"
	[ "$n" -le "$(cat "$work/max" 2>/dev/null || echo 0)" ] || echo "$n" >"$work/max"
	echo "$what $b" >>"$ev"
	exec {fd}>&-
}

# fake_run BOOT KVER INITRD DISK APPEND; APPEND says what to do:
#   sleep=SECONDS (default 0.3)  fail=1 (no report)  write=PATH:TEXT
fake_run() {
	local b=$1 kver=$2 initrd=$3 disk=$4 append=$5 dir=$BOOT_DIR/$1 a s=0.3 failit=0
	for a in $append; do
		case $a in
		sleep=*) s=${a#sleep=} ;;
		fail=1) failit=1 ;;
		write=*)
			a=${a#write=}
			printf '%s\n' "${a#*:}" >"$dir/.write"
			boot_disk_put "$disk" "$dir/.write" "${a%%:*}" || return 1
			;;
		esac
	done
	case " $append " in *" mark=job "*) ;; *) _fake_mark start "$b" ;; esac
	sleep "$s"
	_fake_mark end "$b"
	echo fake >"$dir/accel"
	echo "$s" >"$dir/seconds"
	if [ "$failit" = 1 ]; then
		echo "boot: $b: no complete report (fake failure)" >&2
		return 1
	fi
	{
		echo "kver=$kver"
		echo "initrd=$(cat "$initrd")"
		echo "pre=$(boot_disk_ls "$disk" /usr/local/lib/daxbus-guest.pre.d | tr '\n' ' ')"
		echo "post=$(boot_disk_ls "$disk" /usr/local/lib/daxbus-guest.d | tr '\n' ' ')"
	} >"$dir/report.txt"
}

# fake_disk BOOT OUT: the first step of a job, so a job counts as running
# from here to the end of fake_run (mark=job in APPEND).
fake_disk() {
	_fake_mark start "$1"
	cp "$work/small.img" "$2"
}

# fake_image OUT TEXT [SECONDS]: a slow image build, logged in builds.
fake_image() {
	echo "build $1" >>"$work/builds"
	sleep "${3:-1}"
	printf '%s\n' "$2" >"$1"
}
broken_image() {
	echo "build $1" >>"$work/builds"
	echo "boot: error: dracut failed for $1 (fake)" >&2
	return 1
}

# --- checks (called by the scheduler for each cell) -----------------------------

# shellcheck disable=SC2154 # boot: set by the scheduler for the check
want() {
	local got
	got=$(boot_report_get "$boot" "$1")
	[ "$got" = "$2" ] || seen+=("$boot: $1='$got' (want '$2')")
}
check_initrd() { want initrd "$1"; }
check_two_stage() {
	want initrd rebuilt-by-chain1
	want pre ""
	want post "30-second.sh "
	on chain1
	want pre "10-first.sh "
	want post "20-report.sh "
}
check_multi() {
	want initrd plain-initrd
	on chain3
	want kver k3
}
check_nothing() { :; }
check_never() { seen+=("the thing that was seen"); }
# shellcheck disable=SC2154 # the point: a variable nobody set
check_broken() { seen+=("$no_such_variable"); }

# --- helpers for the assertions ----------------------------------------------------

# run_sched JOBS CELL...: a fresh run; its output in $out (and $work/out.N).
# In a subshell, so that the scheduler's pass/fail lines do not count here.
# RUN_IN_COMSUB=1 runs it inside $(...) instead, where bash 5.2's wait -n
# loses jobs (the scheduler must cope).
runs=0
run_sched() {
	local jobs=$1
	shift
	runs=$((runs + 1))
	rm -f "$ev" "$work/running" "$work/max" "$work/builds"
	if [ "${RUN_IN_COMSUB-}" = 1 ]; then
		out=$(BOOT_JOBS=$jobs BOOT_RUN_ID=run$runs sched_run "$@" 2>&1)
		printf '%s\n' "$out" >"$work/out.$runs"
	else
		(BOOT_JOBS=$jobs BOOT_RUN_ID=run$runs sched_run "$@") >"$work/out.$runs" 2>&1
		out=$(cat "$work/out.$runs")
	fi
}
has() {
	if grep -qE -- "$2" <<<"$out"; then pass "$1"; else fail "$1" "no line matching /$2/ in $work/out.$runs:" "$out"; fi
}
hasnt() {
	if grep -qE -- "$2" <<<"$out"; then fail "$1" "a line matches /$2/ in $work/out.$runs"; else pass "$1"; fi
}
line_no() { grep -n -x -m1 -- "$1" "$ev" | cut -d: -f1; }
# before NAME A B: event A is logged before event B
before() {
	local a b
	a=$(line_no "$2")
	b=$(line_no "$3")
	if [ -n "$a" ] && [ -n "$b" ] && [ "$a" -lt "$b" ]; then pass "$1"; else fail "$1" "'$2' at line ${a:-none}, '$3' at line ${b:-none} of $ev"; fi
}
count() {
	local n
	n=$(grep -c -x -- "$2" "$3" 2>/dev/null)
	if [ "${n:-0}" = "$4" ]; then pass "$1"; else fail "$1" "'$2' ${n:-0} times in $3, want $4"; fi
}
is() { if [ "$2" = "$3" ]; then pass "$1"; else fail "$1" "got '$2', want '$3'"; fi; }

# --- 1. declarations are checked ------------------------------------------------

sched_reset
while IFS='|' read -r name args; do
	name=$(trim "$name")
	# shellcheck disable=SC2086 # the table's words are the arguments
	if sched_boot x-$RANDOM $args 2>/dev/null; then fail "declaration refused: $name" "sched_boot $args succeeded"; else pass "declaration refused: $name"; fi
done <<'EOF'
no kver              | initrd=file:/x disk=base
no initrd            | kver=k disk=base
no disk              | kver=k initrd=file:/x
bad initrd kind      | kver=k initrd=dracut disk=base
relative disk: path  | kver=k initrd=disk:boot/x disk=base
bad disk kind        | kver=k initrd=file:/x disk=copy
unknown key          | kver=k initrd=file:/x disk=base colour=red
not key=value        | kver=k initrd=file:/x disk=base oops
action not .sh       | kver=k initrd=file:/x disk=base actions=/tmp/a.txt
timeout not seconds  | kver=k initrd=file:/x disk=base timeout=1m
EOF
sched_boot dup kver=k initrd=file:/x disk=base
if sched_boot dup kver=k initrd=file:/x disk=base 2>/dev/null; then fail "declaration refused: twice" "accepted"; else pass "declaration refused: twice"; fi

# --- 2. images inside ext4 disks (no mount) -----------------------------------------

img=$work/x.img
mkdir -p "$work/xt/boot" "$work/xt/deep/er"
echo real >"$work/xt/boot/initrd.img-1"
echo deep >"$work/xt/deep/er/f"
ln -s initrd.img-1 "$work/xt/boot/initrd.img"
ln -s /boot/initrd.img "$work/xt/abs"
ln -s ../boot/../boot/initrd.img "$work/xt/deep/rel"
ln -s deep/er "$work/xt/dir"
ln -s ../../dir/f "$work/xt/deep/er/up"
ln -s nowhere "$work/xt/dangling"
boot_mkfs_tree "$work/xt" "$img" 2>/dev/null || fail "mkfs of the extraction tree" "boot_mkfs_tree failed"
while IFS='|' read -r path want; do
	path=$(trim "$path")
	want=$(trim "$want")
	rm -f "$work/x.out"
	got=$(boot_disk_extract "$img" "$path" "$work/x.out" 2>/dev/null && cat "$work/x.out" || echo FAILS)
	is "boot_disk_extract $path" "$got" "$want"
done <<'EOF'
/boot/initrd.img-1     | real
/boot/initrd.img       | real
/abs                   | real
/deep/rel              | real
/dir/f                 | deep
/deep/er/up            | deep
/dir/../er/f           | deep
/dir/../boot/initrd.img | FAILS
/dangling              | FAILS
/boot                  | FAILS
/missing               | FAILS
boot/initrd.img        | FAILS
EOF
for text in new newer; do
	echo "$text" >"$work/new"
	rm -f "$work/x.out"
	boot_disk_put "$img" "$work/new" /a/b/c.sh 2>/dev/null && boot_disk_extract "$img" /a/b/c.sh "$work/x.out" 2>/dev/null
	is "boot_disk_put makes parents, replaces ($text)" "$(cat "$work/x.out" 2>/dev/null)" "$text"
done
is "boot_disk_ls" "$(boot_disk_ls "$img" /a/b)" c.sh
boot_disk_rm "$img" /a/b/c.sh
is "boot_disk_rm" "$(boot_disk_ls "$img" /a/b)" ""

# --- 3. how many at once ----------------------------------------------------------
# Jobs counted from their first step (fake_disk) to the end of the boot.

boot_mkfs_tree "$tree" "$work/small.img" 2>/dev/null || fail "mkfs of the small disk" "boot_mkfs_tree failed"
sched_reset
for b in j1 j2 j3 j4 j5; do
	sched_boot "$b" kver=k initrd=file:"$work/plain.img" disk=fn:fake_disk append="sleep=2 mark=job"
	sched_cell "$b" "$b" check_nothing
done
run_sched 2 j1 j2 j3 j4 j5
is "two boots at once, not more (BOOT_JOBS=2)" "$(cat "$work/max" 2>/dev/null)" 2
is "all five ran (BOOT_JOBS=2)" "$(grep -c '^cell j[1-5]: PASS' <<<"$out")" 5
run_sched 1 j1 j2 j3
is "one boot at a time (BOOT_JOBS=1)" "$(cat "$work/max" 2>/dev/null)" 1
run_sched 3 j1 j2 j3 j4 j5
is "three at once with BOOT_JOBS=3" "$(cat "$work/max" 2>/dev/null)" 3
if [ "$(nproc)" -ge 2 ]; then
	(unset BOOT_JOBS; sched_run j1 j2 j3) >"$work/out.default" 2>&1
	if grep -q '^# boot matrix: 3 boots for 3 cells, 2 at a time$' "$work/out.default"; then pass "default: 2 at a time on $(nproc) CPUs"; else fail "default: 2 at a time on $(nproc) CPUs" "$(head -n1 "$work/out.default")"; fi
fi

# --- 4. dependencies, shared boots, multi-stage disks -------------------------------

sched_reset
sched_image img-shared fake_image "shared image"
sched_boot s1 kver=k1 initrd=image:img-shared disk=tree:"$tree" append=sleep=1.0
sched_boot s2 kver=k2 initrd=image:img-shared disk=tree:"$tree" append=sleep=1.0
sched_boot chain1 kver=k initrd=file:"$work/plain.img" disk=tree:"$tree" \
	append="sleep=0.5 write=/boot/initrd.img-fake:rebuilt-by-chain1" \
	actions="pre:$work/a/10-first.sh $work/a/20-report.sh"
sched_boot chain2 kver=k disk=after:chain1 initrd=disk:/initrd.img actions="$work/a/30-second.sh"
sched_boot chain3 kver=k3 initrd=file:"$work/plain.img" disk=tree:"$tree" after=chain2
sched_boot unused kver=k initrd=file:"$work/plain.img" disk=tree:"$tree"
sched_cell shared-a s1 check_initrd "shared image"
sched_cell shared-b s1 check_initrd "shared image"
sched_cell other s2 check_initrd "shared image"
sched_cell two-stage chain2 check_two_stage
sched_cell multi "chain1 chain3" check_multi
sched_cell seen-fail s2 check_never
sched_cell not-asked unused check_nothing

run_sched 2 shared-a shared-b other two-stage multi seen-fail
is "never more than two at once (BOOT_JOBS=2)" "$(awk '$1 > 2' "$work/max" 2>/dev/null)" ""
count "a boot shared by two cells runs once" "start s1" "$ev" 1
count "every boot runs once" "start chain1" "$ev" 1
has "first cell of a shared boot: PASS" '^cell shared-a: PASS \(boot s1, [0-9]+\.[0-9] s\)$'
has "second cell of a shared boot: PASS" '^cell shared-b: PASS \(boot s1, [0-9]+\.[0-9] s\)$'
has "another boot of a shared image: PASS" '^cell other: PASS \(boot s2, [0-9.]+ s\)$'
before "disk=after: runs after its boot" "end chain1" "start chain2"
before "after= runs after its boot" "end chain2" "start chain3"
has "the disk of the earlier boot, initrd extracted through a link, own actions only" '^cell two-stage: PASS \(boot chain2, [0-9.]+ s\)$'
has "a cell over two boots" '^cell multi: PASS \(boot chain1, [0-9.]+ s; boot chain3, [0-9.]+ s\)$'
has "a failed check says what was seen" '^cell seen-fail: FAIL the thing that was seen \(boot s2, [0-9.]+ s\)$'
hasnt "a boot no requested cell needs is not run" 'boot unused'
hasnt "a cell not asked for gets no line" 'not-asked'
is "one line per requested cell" "$(grep -c '^cell ' <<<"$out")" 6
has "one line per boot, with its time" '^# boot chain2: [0-9]+\.[0-9] s \(fake, qemu 0\.3 s\)$'
is "a # boot line for each boot" "$(grep -v '^# boot matrix:' <<<"$out" | grep -c '^# boot [a-z0-9]*: ')" 5
has "the summary line" '^# boot matrix: 5 boots, 6 cells, wall [0-9.]+ s, boot time sum [0-9.]+ s$'
read -r wall sum < <(sed -n 's/^# boot matrix: .*wall \([0-9.]*\) s, boot time sum \([0-9.]*\) s$/\1 \2/p' <<<"$out")
if awk -v w="${wall:-0}" -v s="${sum:-0}" 'BEGIN { exit !(w > 0 && w < s) }'; then pass "wall time below the sum of boot times"; else fail "wall time below the sum of boot times" "wall ${wall:-?} s, sum ${sum:-?} s"; fi
if grep -q '^sched: run done' "$BOOT_DIR/s1/harness.log" && ! grep -q 'sched: boot s1' <<<"$out"; then
	pass "a job logs to its harness.log, not to the terminal"
else
	fail "a job logs to its harness.log, not to the terminal" "$BOOT_DIR/s1/harness.log"
fi

# Only the boots a cell needs, transitively, and the cells asked for.
run_sched 2 two-stage
is "one cell asked, one line" "$(grep -c '^cell ' <<<"$out")" 1
is "only the boots it needs (chain1, chain2)" "$(grep '^start' "$ev" | sort | tr '\n' ' ')" "start chain1 start chain2 "

# Inside $(...): the same verdicts.
RUN_IN_COMSUB=1 run_sched 2 shared-a shared-b other two-stage multi seen-fail
is "inside \$(...): every cell decided" "$(grep -c -E '^cell (shared-a|shared-b|other|two-stage|multi): PASS' <<<"$out")" 5
hasnt "inside \$(...): no scheduler error" 'sched:|scheduler error'

run_sched 1 shared-a other multi
has "BOOT_JOBS=1: cells still decided" '^cell multi: PASS'

# --- 5. an image asked for by two boots at once is built once ----------------------

sched_reset
sched_image img-slow fake_image "slow image" 1.5
sched_boot i1 kver=k initrd=image:img-slow disk=tree:"$tree"
sched_boot i2 kver=k initrd=image:img-slow disk=tree:"$tree"
sched_cell i1 i1 check_initrd "slow image"
sched_cell i2 i2 check_initrd "slow image"
run_sched 2 i1 i2
count "image built once for two concurrent boots" "build $BOOT_DIR/initrd/img-slow.img" "$work/builds" 1
has "first boot of the image" '^cell i1: PASS'
has "second boot of the image" '^cell i2: PASS'
if grep -q 'image img-slow: already built in this run' "$BOOT_DIR/i1/harness.log" "$BOOT_DIR/i2/harness.log"; then
	pass "the second boot waited for the first one's build"
else
	fail "the second boot waited for the first one's build" "no 'already built' in either harness.log"
fi
run_sched 2 i1
count "a new run builds the image again" "build $BOOT_DIR/initrd/img-slow.img" "$work/builds" 1

# --- 6. failures --------------------------------------------------------------------

sched_reset
sched_image img-broken broken_image
sched_boot f1 kver=k initrd=file:"$work/plain.img" disk=tree:"$tree" append=fail=1
sched_boot f2 kver=k initrd=file:"$work/plain.img" disk=after:f1
sched_boot f3 kver=k initrd=file:"$work/plain.img" disk=tree:"$tree" after=f2
sched_boot ok1 kver=k initrd=file:"$work/plain.img" disk=tree:"$tree" append=sleep=1
sched_boot b1 kver=k initrd=image:img-broken disk=tree:"$tree"
sched_boot b2 kver=k initrd=image:img-broken disk=tree:"$tree"
sched_boot nodisk kver=k initrd=file:"$work/plain.img" disk=tree:"$work/no-such-tree"
sched_boot ghost kver=k initrd=file:"$work/plain.img" disk=tree:"$tree" after=nobody
sched_boot cyc1 kver=k initrd=file:"$work/plain.img" disk=tree:"$tree" after=cyc2
sched_boot cyc2 kver=k initrd=file:"$work/plain.img" disk=tree:"$tree" after=cyc1
sched_cell c-f1 f1 check_nothing
sched_cell c-f2 f2 check_nothing
sched_cell c-f3 f3 check_nothing
sched_cell c-ok ok1 check_nothing
sched_cell c-both "ok1 f1" check_nothing
sched_cell c-img b1 check_nothing
sched_cell c-img2 b2 check_nothing
sched_cell c-nodisk nodisk check_nothing
sched_cell c-ghost ghost check_nothing
sched_cell c-cycle cyc1 check_nothing
sched_cell c-broken ok1 check_broken
run_sched 2 c-f1 c-f2 c-f3 c-ok c-both c-img c-img2 c-nodisk c-ghost c-cycle c-broken no-such-cell
has "a failed boot fails its cell, saying why" '^cell c-f1: FAIL boot f1 failed: run: no complete report \(fake failure\) \(boot f1, [0-9.]+ s\)$'
has "its dependent's cell names the boot it waited for" '^cell c-f2: FAIL boot f2 not run: needs boot f1, which failed \(boot f2, not run\)$'
has "and the next one names its boot and the cause" '^cell c-f3: FAIL boot f3 not run: needs boot f2, which was not run \(boot f1 failed\) \(boot f3, not run\)$'
is "dependents of a failed boot are not run" "$(grep -c -E '^start (f2|f3)$' "$ev")" 0
has "other boots still run and pass" '^cell c-ok: PASS \(boot ok1, [0-9.]+ s\)$'
has "a cell over a passed and a failed boot fails" '^cell c-both: FAIL boot f1 failed'
# b1 and b2 start together: either may be the one that builds.
has "a failed image build fails the boot" '^cell c-img2?: FAIL boot b[12] failed: initrd image:img-broken: dracut failed for .*img-broken.img \(fake\)'
count "a failed image is not built again by another boot" "build $BOOT_DIR/initrd/img-broken.img" "$work/builds" 1
has "the other boot says so" '^cell c-img2?: FAIL boot b[12] failed: initrd image:img-broken: image img-broken: its build failed earlier in this run'
has "a failed disk fails the boot" "^cell c-nodisk: FAIL boot nodisk failed: disk tree:.*no-such-tree.* is not a directory"
has "an undeclared dependency" '^cell c-ghost: FAIL boot ghost not run: needs boot nobody, which failed'
has "a dependency cycle" '^cell c-cycle: FAIL boot cyc1 .*(cycle|cyc2)'
has "an unknown cell" '^cell no-such-cell: FAIL unknown cell'
has "a check that breaks fails its own cell only" '^cell c-broken: FAIL check check_broken did not finish \(status [0-9]+\) \(boot ok1, [0-9.]+ s\)$'
is "one line per requested cell, failures included" "$(grep -c '^cell ' <<<"$out")" 12
has "failed boots are counted and timed" '^# boot f1: [0-9.]+ s \(fake, qemu 0\.3 s\) FAILED: run: no complete report'
has "skipped boots get a line" '^# boot f2: not run: needs boot f1, which failed$'
# The scheduler's own pass/fail counting (tests/lib/t.sh) sees the failures.
n=$(grep -c '^not ok - boot cell ' <<<"$out")
is "every failing cell is counted as a failure" "$n" 11

t_done
