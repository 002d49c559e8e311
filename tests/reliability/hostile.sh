#!/bin/bash
# Hostile roots, in both resolver modes (openat2 and the component walk,
# DAXBUS_NO_OPENAT2=1): symlinks that point outside the root (absolute,
# relative, through ..), symlink loops, FIFOs, devices and directories at
# the files the helper reads, a read-only directory; then two races driven
# with strace --inject=SYSCALL:delay_enter=USEC and a background mover.
# Every case runs the real binary in its own mount namespace, with a time
# bound, next to a directory "outside" that must never change; the root's
# temporaries must be gone and the exit status must be the expected one.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
t_require strace unshare timeout mkfifo mknod
KVER=$(uname -r)
HOSTILE_TIMEOUT=${HOSTILE_TIMEOUT:-20}
# HOSTILE_RACES_ONLY=1 runs only the races (for debugging them)

# Runs inside unshare -m: an optional read-only bind mount, then the helper.
inner() {
	local root=$1 ro=$2 tmo=$3
	shift 3
	if [ "$ro" != - ]; then
		if ! { mount --bind "$root/$ro" "$root/$ro" && mount -o remount,bind,ro "$root/$ro"; }; then
			echo "setup: cannot mount $ro read-only"
			return 99
		fi
	fi
	timeout -k 2 "$tmo" "$DAXBUS" "$@"
}
export -f inner
export DAXBUS

# name | daxbus arguments (R = the root) | setup, run by bash with $R, $O
# (outside), $P (the policy file), $KVER | read-only dir or - | exit status
# | afterwards: "same" (root unchanged), "absent PATH", "policy PATH", "-"
CASES=$(cat <<'TABLE'
modprobe.d is an absolute link outside | enable --root R | ln -s "$O" "$R/etc/modprobe.d" | - | 0,1 | -
modprobe.d is a relative link climbing out | enable --root R | ln -s ../../../outside "$R/etc/modprobe.d" | - | 0,1 | -
modprobe.d is a link through .. | enable --root R | mkdir -p "$R/a"; ln -s ../a/../../../../outside "$R/etc/modprobe.d" | - | 0,1 | -
etc itself is a link to .. | enable --root R | rmdir "$R/etc"; ln -s .. "$R/etc" | - | 0,1 | -
daxctl.conf is an absolute link to the host's policy: disable | disable --root R | cp "$P" "$O/daxctl.conf"; mkdir "$R/etc/modprobe.d"; ln -s "$O/daxctl.conf" "$R/etc/modprobe.d/daxctl.conf" | - | 1 | same
daxctl.conf is an absolute link to the host's policy: enable | enable --root R | cp "$P" "$O/daxctl.conf"; mkdir "$R/etc/modprobe.d"; ln -s "$O/daxctl.conf" "$R/etc/modprobe.d/daxctl.conf" | - | 1 | same
daxctl.conf relative link out of the root: disable | disable --root R | cp "$P" "$O/daxctl.conf"; mkdir "$R/etc/modprobe.d"; ln -s ../../../outside/daxctl.conf "$R/etc/modprobe.d/daxctl.conf" | - | 1 | same
modprobe.d is a symlink loop | enable --root R | ln -s modprobe.d "$R/etc/modprobe.d" | - | 1 | same
daxctl.conf is a symlink loop: enable | enable --root R | mkdir "$R/etc/modprobe.d"; ln -s daxctl.conf "$R/etc/modprobe.d/daxctl.conf" | - | 1 | same
daxctl.conf is a symlink loop: disable | disable --root R | mkdir "$R/etc/modprobe.d"; ln -s daxctl.conf "$R/etc/modprobe.d/daxctl.conf" | - | 1 | same
daxctl.conf is a FIFO: enable | enable --root R | mkdir "$R/etc/modprobe.d"; mkfifo "$R/etc/modprobe.d/daxctl.conf" | - | 1 | same
daxctl.conf is a FIFO: disable | disable --root R | mkdir "$R/etc/modprobe.d"; mkfifo "$R/etc/modprobe.d/daxctl.conf" | - | 1 | same
daxctl.conf is a FIFO: status | status --root R | mkdir "$R/etc/modprobe.d"; mkfifo "$R/etc/modprobe.d/daxctl.conf" | - | 0,1 | same
daxctl.conf is a character device: enable | enable --root R | mkdir "$R/etc/modprobe.d"; mknod "$R/etc/modprobe.d/daxctl.conf" c 1 5 | - | 1 | same
daxctl.conf is a character device: disable | disable --root R | mkdir "$R/etc/modprobe.d"; mknod "$R/etc/modprobe.d/daxctl.conf" c 1 5 | - | 1 | same
daxctl.conf is a directory: enable | enable --root R | mkdir -p "$R/etc/modprobe.d/daxctl.conf" | - | 1 | same
daxctl.conf is a directory: disable | disable --root R | mkdir -p "$R/etc/modprobe.d/daxctl.conf" | - | 1 | same
runtime daxctl.conf is a FIFO | enable --runtime --root R | mkdir -p "$R/run/modprobe.d"; mkfifo "$R/run/modprobe.d/daxctl.conf" | - | 1 | same
dracut drop-in is a FIFO: nothing written | enable --dracut --root R | mkdir -p "$R/etc/dracut.conf.d"; mkfifo "$R/etc/dracut.conf.d/daxbus.conf" | - | 1 | same
read-only modprobe.d: enable | enable --root R | mkdir -p "$R/etc/modprobe.d" | etc/modprobe.d | 1 | same
read-only etc: enable --dracut | enable --dracut --root R | mkdir -p "$R/etc/modprobe.d" | etc | 1 | same
read-only modprobe.d: disable | disable --root R | mkdir -p "$R/etc/modprobe.d"; cp "$P" "$R/etc/modprobe.d/daxctl.conf" | etc/modprobe.d | 1 | same
early: FIFO at etc/cmdline, rd.daxbus=0 still holds | initrd early --root R --sysroot R/sysroot --log stderr | mkfifo "$R/etc/cmdline" | - | 0 | absent run/modprobe.d/daxctl.conf
early: FIFO at etc/cmdline.d/x.conf, rd.daxbus=0 still holds | initrd early --root R --sysroot R/sysroot --log stderr | mkdir "$R/etc/cmdline.d"; mkfifo "$R/etc/cmdline.d/x.conf" | - | 0 | absent run/modprobe.d/daxctl.conf
early: directory at etc/cmdline.d/x.conf, rd.daxbus=0 still holds | initrd early --root R --sysroot R/sysroot --log stderr | mkdir -p "$R/etc/cmdline.d/x.conf" | - | 0 | absent run/modprobe.d/daxctl.conf
early: symlink loop at etc/cmdline.d/x.conf, rd.daxbus=0 still holds | initrd early --root R --sysroot R/sysroot --log stderr | mkdir "$R/etc/cmdline.d"; ln -s x.conf "$R/etc/cmdline.d/x.conf" | - | 0 | absent run/modprobe.d/daxctl.conf
early: /dev/zero at etc/cmdline.d/x.conf, rd.daxbus=0 still holds | initrd early --root R --sysroot R/sysroot --log stderr | mkdir "$R/etc/cmdline.d"; mknod "$R/etc/cmdline.d/x.conf" c 1 5 | - | 0 | absent run/modprobe.d/daxctl.conf
early: oversized etc/cmdline.d/big.conf, rd.daxbus=0 still holds | initrd early --root R --sysroot R/sysroot --log stderr | mkdir "$R/etc/cmdline.d"; printf '%*s' 2000000 x >"$R/etc/cmdline.d/big.conf" | - | 0 | absent run/modprobe.d/daxctl.conf
root: FIFO at etc/cmdline.d/x.conf, rd.daxbus=0 still holds | initrd root --root R --sysroot R/sysroot --log stderr | mkdir "$R/etc/cmdline.d"; mkfifo "$R/etc/cmdline.d/x.conf" | - | 0 | absent sysroot/etc/modprobe.d/daxctl.conf
early: cmdline.d link to the host is not read | initrd early --root R --sysroot R/sysroot --log stderr | echo rd.daxbus=0 >"$O/cmdline"; echo ro >"$R/proc/cmdline"; mkdir "$R/etc/cmdline.d"; ln -s "$O/cmdline" "$R/etc/cmdline.d/x.conf" | - | 0 | policy run/modprobe.d/daxctl.conf
early: FIFO at modules.dep.bin | initrd early --root R --sysroot R/sysroot --log stderr | echo ro >"$R/proc/cmdline"; mkdir -p "$R/lib/modules/$KVER"; mkfifo "$R/lib/modules/$KVER/modules.dep.bin" | - | 0 | policy run/modprobe.d/daxctl.conf
early: FIFO at modules.symbols.bin | initrd early --root R --sysroot R/sysroot --log stderr | echo ro >"$R/proc/cmdline"; mkdir -p "$R/lib/modules/$KVER"; : >"$R/lib/modules/$KVER/modules.dep.bin"; mkfifo "$R/lib/modules/$KVER/modules.symbols.bin" | - | 0 | policy run/modprobe.d/daxctl.conf
root: FIFO at modules.dep.bin, the policy is persisted | initrd root --root R --sysroot R/sysroot --log stderr | echo ro >"$R/proc/cmdline"; mkdir -p "$R/lib/modules/$KVER" "$R/sysroot/lib/modules/$KVER"; mkfifo "$R/lib/modules/$KVER/modules.dep.bin" "$R/sysroot/lib/modules/$KVER/modules.dep.bin" | - | 0 | policy sysroot/etc/modprobe.d/daxctl.conf
root: FIFO at sysroot daxctl.conf | initrd root --root R --sysroot R/sysroot --log stderr | echo ro >"$R/proc/cmdline"; mkdir -p "$R/sysroot/etc/modprobe.d"; mkfifo "$R/sysroot/etc/modprobe.d/daxctl.conf" | - | 1 | -
status: FIFO at modules.dep.bin | status --root R --kver 6.1.0-test | mkdir -p "$R/lib/modules/6.1.0-test"; mkfifo "$R/lib/modules/6.1.0-test/modules.dep.bin" | - | 0,1 | same
status: FIFO at modules.symbols.bin | status --root R --kver 6.1.0-test | mkdir -p "$R/lib/modules/6.1.0-test"; : >"$R/lib/modules/6.1.0-test/modules.dep.bin"; mkfifo "$R/lib/modules/6.1.0-test/modules.symbols.bin" | - | 0,1 | same
status: module tree is a link to the host | status --root R --kver KVER | mkdir -p "$R/lib/modules"; ln -s "/lib/modules/$KVER" "$R/lib/modules/$KVER"; mkdir -p "$O/x" | - | 0,1 | same
TABLE
)

tried=0 passed=0
for mode in openat2 walk; do
	while IFS='|' read -r name args setup ro want_rc after; do
		[ -n "${HOSTILE_RACES_ONLY:-}" ] && continue
		name=$(trim "$name"); args=$(trim "$args"); setup=$(trim "$setup"); ro=$(trim "$ro")
		want_rc=$(trim "$want_rc"); after=$(trim "$after")
		label="[$mode] $name"
		tried=$((tried + 1))
		dir=$(t_tmp hostile)
		R=$dir/root O=$dir/outside
		mkdir -p "$R/etc" "$R/run" "$R/proc" "$R/sysroot/etc" "$O"
		echo "ro rd.daxbus=0" >"$R/proc/cmdline"
		if ! R=$R O=$O P=$POLICY_FILE KVER=$KVER bash -c "$setup" 2>"$dir.err"; then
			fail "$label" "setup failed: $(cat "$dir.err")"; rm -rf "$dir" "$dir.err"; continue
		fi
		outside_before=$(r_manifest "$O")
		root_before=$(r_manifest "$R")
		args=${args//KVER/$KVER}
		read -r -a argv <<<"${args//R/$R}"
		env=()
		[ "$mode" = walk ] && env=(DAXBUS_NO_OPENAT2=1)
		out=$(env "${env[@]}" unshare -m bash -c 'inner "$@"' inner "$R" "$ro" "$HOSTILE_TIMEOUT" "${argv[@]}" 2>&1 </dev/null)
		rc=$?
		root_after=$(r_manifest "$R")
		temps=$(r_temps "$root_after")
		why=
		if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
			why="did not finish within ${HOSTILE_TIMEOUT}s (blocked)"
		elif [ "$(r_manifest "$O")" != "$outside_before" ]; then
			why="wrote outside the root: $(diff <(echo "$outside_before") <(r_manifest "$O") | grep '^[<>]' | tr '\n' ';')"
		elif [[ ,$want_rc, != *",$rc,"* ]]; then
			why="exit $rc, expected $want_rc"
		elif [ -n "$temps" ]; then
			why="temporary left: $temps"
		elif [ "$rc" = 1 ] && [[ $out != *"$R"* ]]; then
			why="exit 1 and no message names a path in the root"
		else
			case $after in
			same) [ "$root_after" = "$root_before" ] || why="root changed: $(diff <(echo "$root_before") <(echo "$root_after") | grep '^[<>]' | tr '\n' ';')" ;;
			absent\ *) [ ! -e "$R/${after#absent }" ] && [ ! -L "$R/${after#absent }" ] || why="${after#absent } exists (the opt-out was lost)" ;;
			policy\ *) [ -f "$R/${after#policy }" ] && cmp -s "$R/${after#policy }" "$POLICY_FILE" || why="${after#policy } is not the policy" ;;
			-) ;;
			*) why="bad table entry: $after" ;;
			esac
		fi
		if [ -n "$why" ]; then
			fail "$label" "$why" "${out//$'\n'/ | }"
		else
			pass "$label"; passed=$((passed + 1))
		fi
		rm -rf "$dir" "$dir.err"
	done < <(printf '%s\n' "$CASES")
done

# Races.  The mover does its move while strace holds the helper at the
# chosen call (delay_enter); the call is found by tracing a clean run.
DELAY_US=${HOSTILE_DELAY_US:-3000000}
MOVE_AFTER=${HOSTILE_MOVE_AFTER:-1.2}

# (a) walk mode: the walk follows etc/modprobe.d -> /mv/x/../../../outside/pwn;
# while it holds mv/x (delayed at its next openat), mv is moved out of the
# root, so ".." steps taken from x would lead to the parent of the root,
# where outside/pwn also exists.
race_walk() {
	local dir R O out rc n
	dir=$(t_tmp hostile)
	R=$dir/root O=$dir/outside
	mkdir -p "$R/etc" "$R/run" "$R/mv/x" "$R/outside/pwn" "$O/pwn"
	ln -s /mv/x/../../../outside/pwn "$R/etc/modprobe.d"
	cp -a "$R" "$dir/probe"
	DAXBUS_NO_OPENAT2=1 strace -o "$dir.trace" -e trace=openat "$DAXBUS" enable --root "$dir/probe" >/dev/null 2>&1
	# the first ".." of the last walk (the one the file is created through)
	# the call after the last walk opened mv/x: the walk holds x (and would
	# take ".." from it next, if it climbs by "..")
	n=$(grep -E '^openat\(' "$dir.trace" | awk '/"x"/ { x = NR } END { if (x) print x + 1 }')
	if [ -z "$n" ]; then
		tried=$((tried + 1))
		fail "race (a) walk: rename a directory during the walk" "a clean walk-mode run never opened mv/x; cannot set the race up" "$(head -c 600 "$dir.trace")"
		rm -rf "$dir" "$dir.trace"; return
	fi
	(sleep "$MOVE_AFTER"; mv "$R/mv" "$O/mv") &
	out=$(DAXBUS_NO_OPENAT2=1 strace -o /dev/null "--inject=openat:delay_enter=$DAXBUS_DELAY:when=$n" "$DAXBUS" enable --root "$R" 2>&1)
	rc=$?
	wait
	tried=$((tried + 1))
	local stray=() f
	for f in "$O/pwn"/* "$O/pwn"/.[!.]* "$dir"/*; do
		[ -e "$f" ] || [ -L "$f" ] || continue
		case $f in "$R" | "$O" | "$dir/probe") ;; *) stray+=("$f") ;; esac
	done
	if [ ${#stray[@]} -gt 0 ]; then
		fail "race (a) walk: rename a directory during the walk" "written outside the root: ${stray[*]}" "exit $rc: $out"
	elif [ ! -d "$O/mv/x" ]; then
		fail "race (a) walk: rename a directory during the walk" "the mover did not run"
	else
		pass "race (a) walk: rename a directory during the walk: nothing written outside (exit $rc)"
		passed=$((passed + 1))
	fi
	rm -rf "$dir" "$dir.trace"
}

# (b) disable: between the check of daxctl.conf and its removal, a foreign
# file is renamed over it.  The foreign file must survive.
race_disable() {
	local mode=$1 dir R out rc sc n env=()
	[ "$mode" = walk ] && env=(DAXBUS_NO_OPENAT2=1)
	dir=$(t_tmp hostile)
	R=$dir/root
	mkdir -p "$R/etc/modprobe.d" "$R/run"
	cp "$POLICY_FILE" "$R/etc/modprobe.d/daxctl.conf"
	cp -a "$R" "$dir/probe"
	env "${env[@]}" strace -o "$dir.trace" "$DAXBUS" disable --root "$dir/probe" >/dev/null 2>&1
	# the first successful rename or unlink of daxctl.conf, and its ordinal
	# among the calls of its name
	sc=$(grep -E '^(renameat2|renameat|rename|unlinkat|unlink)\(.*"daxctl\.conf".*= 0$' "$dir.trace" | head -1)
	sc=${sc%%(*}
	[ -n "$sc" ] && n=$(grep -E "^$sc\(" "$dir.trace" | grep -nE '"daxctl\.conf".*= 0$' | head -1 | cut -d: -f1)
	tried=$((tried + 1))
	if [ -z "$sc" ]; then
		fail "[$mode] race (b) disable: foreign file swapped in" "a clean disable neither renamed nor unlinked daxctl.conf"
		rm -rf "$dir" "$dir.trace"; return
	fi
	printf '%s' "$FOREIGN_TEXT" >"$R/etc/modprobe.d/foreign.tmp"
	(sleep "$MOVE_AFTER"; mv -f "$R/etc/modprobe.d/foreign.tmp" "$R/etc/modprobe.d/daxctl.conf") &
	out=$(env "${env[@]}" strace -o /dev/null "--inject=$sc:delay_enter=$DAXBUS_DELAY:when=$n" "$DAXBUS" disable --root "$R" 2>&1)
	rc=$?
	wait
	local left
	left=$(r_manifest "$R/etc/modprobe.d")
	if [ -e "$R/etc/modprobe.d/foreign.tmp" ]; then
		fail "[$mode] race (b) disable: foreign file swapped in" "the mover did not run"
	elif [ "$(content_ref "$R/etc/modprobe.d/daxctl.conf" 2>/dev/null)" != "=foreign" ]; then
		fail "[$mode] race (b) disable: foreign file swapped in" "the foreign file was removed (delayed $sc), exit $rc" "left: ${left//$'\n'/; }" "$out"
	elif [ -n "$(r_temps "$left")" ]; then
		fail "[$mode] race (b) disable: foreign file swapped in" "temporary left: $(r_temps "$left")"
	elif [ "$rc" != 1 ]; then
		fail "[$mode] race (b) disable: foreign file swapped in" "foreign file kept but exit $rc (1 expected: the policy is not removed)" "$out"
	else
		pass "[$mode] race (b) disable: foreign file swapped in (before $sc) survives, exit 1"
		passed=$((passed + 1))
	fi
	rm -rf "$dir" "$dir.trace"
}

DAXBUS_DELAY=$DELAY_US
race_walk
race_disable openat2
race_disable walk

echo "# hostile cases: $passed of $tried passed"
r_figure "hostile cases (2 resolver modes + races)" "$tried" "$passed"
t_done
