#!/bin/bash
# Hermetic test of the boot harness without QEMU: the scheduler (sched.sh)
# with fake boots, which sleep and write a report, on real small ext4 disks
# and qcow2 overlays (disk.sh).  Proves: the slots (BOOT_JOBS) are never
# over-used and a wide job runs alone; dependencies run first; a boot shared
# by cells runs once and every cell gets its verdict; a failed boot fails its
# dependents' cells naming the boot they waited for; an image or a base
# asked for by two boots at once is built once; an overlay on an earlier
# boot's disk carries what that boot wrote, its initrd can be extracted
# through symlinks, and it runs only its own guest actions; a boot entry
# (BLS) gives kernel, initrds and options; finished boots' disks are deleted
# unless kept; progress is printed; files go in and out of qcow2 overlays
# and raw images alike.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../lib/t.sh
. "$here/../lib/t.sh"
for c in mkfs.ext4 debugfs flock ps qemu-img qemu-storage-daemon; do
	command -v "$c" >/dev/null || { fail "requirement: $c" "$c is not installed (e2fsprogs, util-linux, procps, qemu-utils, qemu-system-common)"; t_done; exit 1; }
done
work=$(t_tmp selftest)
export DAXBUS_BUILD=$work/build
# shellcheck source=base.sh
. "$here/base.sh"
# shellcheck source=disk.sh
. "$here/disk.sh"
# shellcheck source=qemu.sh
. "$here/qemu.sh"
# shellcheck source=sched.sh
. "$here/sched.sh"
BOOT_DISK_SIZE=16M
SCHED_RUNNER=fake_run

# --- fake boots ----------------------------------------------------------------

# A root tree: /initrd.img points into /boot, where nothing is yet; a boot
# may "write" the file there (write=, as a guest rebuilding its initramfs).
tree=$work/tree
mkdir -p "$tree/boot/loader/entries" "$tree/etc" "$tree/usr/lib/x" "$tree/boot/os/1"
echo fake >"$tree/etc/hostname"
ln -s boot/initrd.img-fake "$tree/initrd.img"
ln -s usr/lib "$tree/lib"
echo entry-kernel >"$tree/boot/os/1/vmlinuz"
echo entry-initrd-a >"$tree/boot/os/1/initramfs.img"
echo entry-initrd-b >"$tree/boot/os/1/overlay.img"
printf 'title old\nversion 1\nlinux /os/1/vmlinuz\ninitrd /os/1/initramfs.img\noptions root=/dev/vda old=1\n' >"$tree/boot/loader/entries/a.conf"
printf 'title new\nversion 2\nlinux /os/1/vmlinuz\ninitrd /os/1/initramfs.img\ninitrd /os/1/overlay.img\noptions root=/dev/vda ostree=/os/1\n' >"$tree/boot/loader/entries/b.conf"
echo plain-initrd >"$work/plain.img"
mkdir -p "$work/a"
for a in 10-first 20-report 30-second; do
	printf '#!/bin/sh\necho %s.ran=1\n' "$a" >"$work/a/$a.sh"
done

# Slot bookkeeping: every fake boot logs start and end in order, and the
# slots in use at its start.
ev=$work/events
_fake_mark() {
	local what=$1 b=$2 slots=${3:-1} fd n
	exec {fd}>"$work/.ev.lock"
	flock "$fd"
	n=$(cat "$work/running" 2>/dev/null || echo 0)
	if [ "$what" = start ]; then n=$((n + slots)); else n=$((n - slots)); fi
	echo "$n" >"$work/running"
	[ "$n" -le "$(cat "$work/max" 2>/dev/null || echo 0)" ] || echo "$n" >"$work/max"
	echo "$what $b" >>"$ev"
	exec {fd}>&-
}

# fake_run BOOT DISK; the boot's append= says what to do:
#   sleep=SECONDS (default 0.3)  fail=1 (no report)  write=PATH:TEXT
fake_run() {
	local b=$1 disk=$2 dir=$BOOT_DIR/$1 a s=0.3 failit=0 slots
	slots=$(_sched_slots "$b")
	for a in $(_sb "$b" append) $(cat "$dir/entry.append"); do
		case $a in
		sleep=*) s=${a#sleep=} ;;
		fail=1) failit=1 ;;
		write=*)
			a=${a#write=}
			printf '%s\n' "${a#*:}" >"$dir/.write"
			disk_put "$disk" "$dir/.write" "${a%%:*}" || return 1
			;;
		esac
	done
	_fake_mark start "$b" "$slots"
	sleep "$s"
	_fake_mark end "$b" "$slots"
	echo fake >"$dir/accel"
	echo "$s" >"$dir/seconds"
	if [ "$failit" = 1 ]; then
		echo "boot: $b: no complete report (fake failure)" >&2
		return 1
	fi
	{
		echo "kernel=$(basename "$(cat "$dir/kernel.path")")"
		echo "initrd=$(tr '\n' ' ' <"$(cat "$dir/initrd.path")" | sed 's/ $//')"
		echo "append=$(cat "$dir/entry.append")"
		echo "pre=$(disk_ls "$disk" /usr/local/lib/daxbus-guest.pre.d | tr '\n' ' ')"
		echo "post=$(disk_ls "$disk" /usr/local/lib/daxbus-guest.d | tr '\n' ' ')"
	} >"$dir/report.txt"
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
# fake_base DIR: a prepared root, logged in builds
fake_base() {
	echo "base $1" >>"$work/builds"
	sleep 1
	echo base-initrd >"$1/initrd.img"
	disk_mkfs "$tree" "$1/disk.img"
}
# fake_job NAME DIR: any work, in slots
fake_job() {
	_fake_mark start "$1" "$(_sched_slots "$1")"
	sleep 1
	_fake_mark end "$1" "$(_sched_slots "$1")"
	echo "job=$1" >"$2/report.txt"
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
	want kernel k3
}
check_entry() {
	want kernel vmlinuz
	want initrd "entry-initrd-a entry-initrd-b"
	want append "root=/dev/vda ostree=/os/1"
}
check_nothing() { :; }
check_never() { seen+=("the thing that was seen"); }
# shellcheck disable=SC2154 # the point: a variable nobody set
check_broken() { seen+=("$no_such_variable"); }

# --- helpers for the assertions ----------------------------------------------------

# run_sched JOBS CELL...: a fresh run; its output in $out (and $work/out.N).
# In a subshell, so that the scheduler's pass/fail lines do not count here.
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
bad kernel kind      | kernel=/vmlinuz initrd=file:/x disk=base
unknown key          | kver=k initrd=file:/x disk=base colour=red
not key=value        | kver=k initrd=file:/x disk=base oops
action not .sh       | kver=k initrd=file:/x disk=base actions=/tmp/a.txt
timeout not seconds  | kver=k initrd=file:/x disk=base timeout=1m
cache mode           | kver=k initrd=file:/x disk=base cache=fast
EOF
sched_boot dup kver=k initrd=file:/x disk=base
if sched_boot dup kver=k initrd=file:/x disk=base 2>/dev/null; then fail "declaration refused: twice" "accepted"; else pass "declaration refused: twice"; fi
if sched_job j-x slots=2 2>/dev/null; then fail "declaration refused: job without run=" "accepted"; else pass "declaration refused: job without run="; fi

# --- 2. files in ext4 images, raw and qcow2 overlays (nothing mounted) -------------

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
disk_mkfs "$work/xt" "$img" 2>/dev/null || fail "mkfs of the extraction tree" "disk_mkfs failed"
disk_overlay "$img" "$work/x.qcow2" 2>/dev/null || fail "an overlay" "disk_overlay failed"
for d in "$img" "$work/x.qcow2"; do
	kind=raw
	[ "$d" = "$img" ] || kind=qcow2
	while IFS='|' read -r path want; do
		path=$(trim "$path")
		want=$(trim "$want")
		rm -f "$work/x.out"
		got=$(disk_extract "$d" "$path" "$work/x.out" 2>/dev/null && cat "$work/x.out" || echo FAILS)
		is "disk_extract $path ($kind)" "$got" "$want"
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
done
for text in new newer; do
	echo "$text" >"$work/new"
	rm -f "$work/x.out"
	disk_put "$work/x.qcow2" "$work/new" /a/b/c.sh 2>/dev/null && disk_extract "$work/x.qcow2" /a/b/c.sh "$work/x.out" 2>/dev/null
	is "disk_put into an overlay makes parents, replaces ($text)" "$(cat "$work/x.out" 2>/dev/null)" "$text"
done
is "disk_ls of an overlay" "$(disk_ls "$work/x.qcow2" /a/b)" c.sh
is "the overlay's backing image is untouched" "$(disk_ls "$img" /a/b)" ""
disk_rm "$work/x.qcow2" /a/b/c.sh
is "disk_rm" "$(disk_ls "$work/x.qcow2" /a/b)" ""
is "no view left mounted" "$(grep -c "$work" /proc/self/mountinfo)" 0
# the boot entry with the highest version wins
disk_mkfs "$tree" "$work/t.img" 2>/dev/null
is "disk_entry: the newest entry" "$(disk_entry "$work/t.img" | tr '\n' '|')" \
	"linux /os/1/vmlinuz|initrd /os/1/initramfs.img|initrd /os/1/overlay.img|options root=/dev/vda ostree=/os/1|"
is "disk_entry RANK 2: the one before it (a rollback)" "$(disk_entry "$work/t.img" 2 | tr '\n' '|')" \
	"linux /os/1/vmlinuz|initrd /os/1/initramfs.img|options root=/dev/vda old=1|"
is "disk_entry RANK 3: none, said" "$(disk_entry "$work/t.img" 3 2>&1 >/dev/null | grep -c 'no boot entry number 3')" 1

# --- 3. slots ------------------------------------------------------------------------

sched_reset
for b in j1 j2 j3 j4 j5; do
	sched_boot "$b" kver=k initrd=file:"$work/plain.img" disk=tree:"$tree" append="sleep=2"
	sched_cell "$b" "$b" check_nothing
done
sched_boot wide kver=k initrd=file:"$work/plain.img" disk=tree:"$tree" append="sleep=2" slots=2
sched_cell wide wide check_nothing
sched_job three run=fake_job slots=3
sched_cell three three check_nothing
run_sched 2 j1 j2 j3 j4 j5
is "two boots at once, not more (BOOT_JOBS=2)" "$(cat "$work/max" 2>/dev/null)" 2
is "all five ran (BOOT_JOBS=2)" "$(grep -c '^cell j[1-5]: PASS' <<<"$out")" 5
has "progress as boots end" '^# progress: 5/5 boots, ~0 min left$'
run_sched 1 j1 j2 j3
is "one boot at a time (BOOT_JOBS=1)" "$(cat "$work/max" 2>/dev/null)" 1
run_sched 3 j1 j2 j3 j4 j5
is "three at once with BOOT_JOBS=3" "$(cat "$work/max" 2>/dev/null)" 3
run_sched 2 j1 j2 j3 wide
is "a boot of two slots with BOOT_JOBS=2: never more than 2 in use" "$(cat "$work/max" 2>/dev/null)" 2
has "the wide boot ran" '^cell wide: PASS'
run_sched 2 j1 three
is "a job wider than BOOT_JOBS runs alone (3 slots in use, never 4)" "$(cat "$work/max" 2>/dev/null)" 3
has "a job's cell" '^cell three: PASS'
if [ "$(nproc)" -ge 2 ]; then
	(unset BOOT_JOBS; sched_run j1 j2 j3) >"$work/out.default" 2>&1
	if grep -q '^# boot matrix: 3 boots for 3 cells, 2 slots$' "$work/out.default"; then pass "default: 2 slots on $(nproc) CPUs"; else fail "default: 2 slots on $(nproc) CPUs" "$(head -n1 "$work/out.default")"; fi
fi

# --- 4. dependencies, shared boots, multi-stage disks, entries, bases ---------------

sched_reset
sched_image img-shared fake_image "shared image"
sched_base based fake_base
sched_boot s1 kver=k1 initrd=image:img-shared disk=tree:"$tree" append=sleep=1.0
sched_boot s2 kver=k2 initrd=image:img-shared disk=tree:"$tree" append=sleep=1.0
sched_boot chain1 kver=k initrd=file:"$work/plain.img" disk=tree:"$tree" \
	append="sleep=0.5 write=/boot/initrd.img-fake:rebuilt-by-chain1" \
	actions="pre:$work/a/10-first.sh $work/a/20-report.sh"
sched_boot chain2 kver=k disk=after:chain1 initrd=disk:/initrd.img actions="$work/a/30-second.sh"
sched_boot chain3 kver=k3 initrd=file:"$work/plain.img" disk=tree:"$tree" after=chain2
sched_boot entry kernel=entry disk=tree:"$tree"
sched_boot bb1 kver=k initrd=base:based:initrd.img disk=base:based
sched_boot bb2 kver=k initrd=base:based:initrd.img disk=base:based
sched_boot unused kver=k initrd=file:"$work/plain.img" disk=tree:"$tree"
sched_cell shared-a s1 check_initrd "shared image"
sched_cell shared-b s1 check_initrd "shared image"
sched_cell other s2 check_initrd "shared image"
sched_cell two-stage chain2 check_two_stage
sched_cell multi "chain1 chain3" check_multi
sched_cell entry entry check_entry
sched_cell base-1 bb1 check_initrd base-initrd
sched_cell base-2 bb2 check_initrd base-initrd
sched_cell seen-fail s2 check_never
sched_cell not-asked unused check_nothing

run_sched 2 shared-a shared-b other two-stage multi entry base-1 base-2 seen-fail
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
has "kernel, initrds and options from the boot entry" '^cell entry: PASS'
has "a base's disk and files, first boot" '^cell base-1: PASS'
has "a base's disk and files, second boot" '^cell base-2: PASS'
count "a base is built once for two boots" "base $BOOT_DIR/bases/run-based" "$work/builds" 1
has "a failed check says what was seen" '^cell seen-fail: FAIL the thing that was seen \(boot s2, [0-9.]+ s\)$'
hasnt "a boot no requested cell needs is not run" 'boot unused'
hasnt "a cell not asked for gets no line" 'not-asked'
is "one line per requested cell" "$(grep -c '^cell ' <<<"$out")" 9
has "one line per boot, with its time" '^# boot chain2: [0-9]+\.[0-9] s \(fake, qemu 0\.3 s\)$'
has "the summary line" '^# boot matrix: 8 boots, 9 cells, wall [0-9.]+ s, boot time sum [0-9.]+ s$'
read -r wall sum < <(sed -n 's/^# boot matrix: .*wall \([0-9.]*\) s, boot time sum \([0-9.]*\) s$/\1 \2/p' <<<"$out")
if awk -v w="${wall:-0}" -v s="${sum:-0}" 'BEGIN { exit !(w > 0 && w < s) }'; then pass "wall time below the sum of boot times"; else fail "wall time below the sum of boot times" "wall ${wall:-?} s, sum ${sum:-?} s"; fi
if grep -q '^sched: run done' "$BOOT_DIR/s1/harness.log" && ! grep -q 'sched: boot s1' <<<"$out"; then
	pass "a job logs to its harness.log, not to the terminal"
else
	fail "a job logs to its harness.log, not to the terminal" "$BOOT_DIR/s1/harness.log"
fi
is "finished boots' disks are deleted" "$(ls "$BOOT_DIR"/{s1,chain1,chain2,bb1}/disk.qcow2 2>/dev/null)" ""
is "a failed cell's boot keeps its disk" "$(ls "$BOOT_DIR/s2/disk.qcow2" 2>/dev/null)" "$BOOT_DIR/s2/disk.qcow2"
is "a base no boot needs any more is deleted" "$(ls -d "$BOOT_DIR/bases/run-based" 2>/dev/null)" ""
KEEP_BOOTS=1 run_sched 2 shared-a
is "KEEP_BOOTS=1 keeps them" "$(ls "$BOOT_DIR/s1/disk.qcow2" 2>/dev/null)" "$BOOT_DIR/s1/disk.qcow2"

# Only the boots a cell needs, transitively, and the cells asked for.
run_sched 2 two-stage
is "one cell asked, one line" "$(grep -c '^cell ' <<<"$out")" 1
is "only the boots it needs (chain1, chain2)" "$(grep '^start' "$ev" | sort | tr '\n' ' ')" "start chain1 start chain2 "

# Inside $(...): the same verdicts.
RUN_IN_COMSUB=1 run_sched 2 shared-a shared-b other two-stage multi seen-fail
is "inside \$(...): every cell decided" "$(grep -c -E '^cell (shared-a|shared-b|other|two-stage|multi): PASS' <<<"$out")" 5
hasnt "inside \$(...): no scheduler error" 'scheduler error'

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
has "a failed image build fails the boot" '^cell c-img2?: FAIL boot b[12] failed: kernel and initrd: dracut failed for .*img-broken.img \(fake\)'
count "a failed image is not built again by another boot" "build $BOOT_DIR/initrd/img-broken.img" "$work/builds" 1
has "the other boot says so" '^cell c-img2?: FAIL boot b[12] failed: kernel and initrd: image img-broken: its build failed earlier in this run'
has "a failed disk fails the boot" "^cell c-nodisk: FAIL boot nodisk failed: disk tree:.*no-such-tree"
has "an undeclared dependency" '^cell c-ghost: FAIL boot ghost not run: needs boot nobody, which failed'
has "a dependency cycle" '^cell c-cycle: FAIL boot cyc1 .*(cycle|cyc2)'
has "an unknown cell" '^cell no-such-cell: FAIL unknown cell'
has "a check that breaks fails its own cell only" '^cell c-broken: FAIL check check_broken did not finish \(status [0-9]+\) \(boot ok1, [0-9.]+ s\)$'
is "one line per requested cell, failures included" "$(grep -c '^cell ' <<<"$out")" 12
has "failed boots are counted and timed" '^# boot f1: [0-9.]+ s \(fake, qemu 0\.3 s\) FAILED: run: no complete report'
has "skipped boots get a line" '^# boot f2: not run: needs boot f1, which failed$'
is "a failed boot keeps its disk" "$(ls "$BOOT_DIR/f1/disk.qcow2" 2>/dev/null)" "$BOOT_DIR/f1/disk.qcow2"
# The scheduler's own pass/fail counting (tests/lib/t.sh) sees the failures.
n=$(grep -c '^not ok - boot cell ' <<<"$out")
is "every failing cell is counted as a failure" "$n" 11

# --- 7. a QEMU run leaves nothing behind holding the caller's locks ---------------
# (_guest_qemu_once with a stand-in for QEMU, inside a held boot_locked lock:
# the lock is free again as soon as the run is over, not at the watchdog's limit)
qdir=$work/qemu-once
mkdir -p "$qdir"
boot_locked selftest-qemu _guest_qemu_once "$qdir" 987 true
if flock -n -w 0 "$BOOT_CACHE/.selftest-qemu.lock" true; then
	pass "a finished QEMU run leaves no watchdog holding the lock it ran under"
else
	fail "a finished QEMU run leaves no watchdog holding the lock it ran under" \
		"the lock is still held: $(pgrep -af '^sleep 987$')"
fi
pkill -f '^sleep 987$'

# --- 8. tests/harness/boot.sh checks the names it is given before its setup ---------
# (its setup downloads kernels and builds roots for minutes: a typo must not
# cost them; --list names every declared cell)
bout=$(T_RESULTS='' DAXBUS_BUILD=$work/boot-names "$T_TOP/tests/harness/boot.sh" no-such-cell firstboot-shell 2>&1)
brc=$?
is "boot.sh with an unknown cell: exit status 1" "$brc" 1
if grep -qx 'cell no-such-cell: FAIL unknown cell (tests/harness/boot.sh --list names them)' <<<"$bout" &&
	! grep -q 'setup\|^cell firstboot-shell' <<<"$bout" && [ ! -e "$work/boot-names" ]; then
	pass "boot.sh names the unknown cell and stops before any setup"
else
	fail "boot.sh names the unknown cell and stops before any setup" "$bout"
fi
blist=$("$T_TOP/tests/harness/boot.sh" --list 2>&1)
if grep -qx firstboot-shell <<<"$blist" && grep -qx fleet-ansible <<<"$blist" && grep -qx cut-before-rename <<<"$blist"; then
	pass "boot.sh --list names the cells, every family's"
else
	fail "boot.sh --list names the cells, every family's" "$blist"
fi

[ "$t_failed" = 0 ] && rm -rf "$work"
t_done
