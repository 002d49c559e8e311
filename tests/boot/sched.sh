# shellcheck shell=bash
# The boot-matrix scheduler.  Boots (one QEMU run each) and cells (verdicts
# over boot reports) are declared separately; sched_run runs the boots the
# requested cells need, at most BOOT_JOBS at a time as background jobs in
# dependency order, and decides each cell as soon as its boots have run.
# The declaration API is documented in the header of tests/boot/lib.sh.
#
# Source it after tests/lib/t.sh and tests/boot/lib.sh.  SCHED_RUNNER names
# the function that does the QEMU part of a job (default _sched_qemu);
# tests/boot-sched.sh replaces it with fake boots to test the scheduler
# without QEMU.

SCHED_RUNNER=${SCHED_RUNNER:-_sched_qemu}

# Declarations: one associative array per key, indexed by boot/cell/image.
sched_reset() {
	declare -gA _sb_kver=() _sb_initrd=() _sb_disk=() _sb_append=() _sb_after=() \
		_sb_put=() _sb_actions=() _sb_timeout=()
	declare -ga _sb_order=()
	declare -gA _sc_boots=() _sc_check=()
	declare -gA _si_cmd=()
}
sched_reset

_sched_err() { echo "sched: $*" >&2; return 1; }

_sched_name_ok() {
	[[ $1 =~ ^[A-Za-z0-9][A-Za-z0-9._+-]*$ ]] || _sched_err "bad name '$1' (letters, digits, . _ + -)"
}

# sched_boot BOOT key=value...   (keys: see lib.sh's header)
sched_boot() {
	local name=${1:?sched_boot BOOT key=value...} kv k v f
	shift
	_sched_name_ok "$name" || return 1
	[ -z "${_sb_kver[$name]+x}" ] || _sched_err "boot $name declared twice" || return 1
	local -A got=()
	for kv in "$@"; do
		k=${kv%%=*}
		v=${kv#*=}
		[ "$k" != "$kv" ] || _sched_err "boot $name: '$kv' is not key=value" || return 1
		case $k in
		kver | append | after | put) ;;
		initrd)
			case $v in
			image:?* | disk:/* | file:?* | fn:?*) ;;
			*) _sched_err "boot $name: initrd=$v (image:NAME, disk:/PATH, file:PATH or fn:FUNC)" || return 1 ;;
			esac
			;;
		disk)
			case $v in
			base | tree:?* | treefn:?* | after:?* | fn:?*) ;;
			*) _sched_err "boot $name: disk=$v (base, tree:DIR, treefn:CMD, after:BOOT or fn:FUNC)" || return 1 ;;
			esac
			;;
		actions)
			for f in $v; do
				f=${f#pre:}
				[[ ${f##*/} =~ ^[A-Za-z0-9][A-Za-z0-9._-]*\.sh$ ]] ||
					_sched_err "boot $name: action '$f' must be named [A-Za-z0-9._-]*.sh" || return 1
			done
			;;
		timeout) [[ $v =~ ^[0-9]+$ ]] || _sched_err "boot $name: timeout=$v is not seconds" || return 1 ;;
		*) _sched_err "boot $name: unknown key '$k'" || return 1 ;;
		esac
		got[$k]=$v
	done
	for k in kver initrd disk; do
		[ -n "${got[$k]-}" ] || _sched_err "boot $name: $k= is required" || return 1
	done
	_sb_kver[$name]=${got[kver]}
	_sb_initrd[$name]=${got[initrd]}
	_sb_disk[$name]=${got[disk]}
	_sb_append[$name]=${got[append]-}
	_sb_after[$name]=${got[after]-}
	_sb_put[$name]=${got[put]-}
	_sb_actions[$name]=${got[actions]-}
	_sb_timeout[$name]=${got[timeout]-}
	_sb_order+=("$name")
}

# sched_image NAME BUILDER [ARGS...]: BUILDER OUT ARGS... makes the image.
sched_image() {
	local name=${1:?sched_image NAME BUILDER [ARGS...]}
	shift
	[ -n "${1-}" ] || _sched_err "image $name: no builder" || return 1
	_sched_name_ok "$name" || return 1
	_si_cmd[$name]=$(printf '%q ' "$@")
}

# sched_cell CELL "BOOT..." CHECK [ARGS...]
sched_cell() {
	local cell=${1:?sched_cell CELL BOOTS CHECK [ARGS...]} boots=${2:?sched_cell CELL BOOTS CHECK [ARGS...]}
	shift 2
	[ -n "${1-}" ] || _sched_err "cell $cell: no check function" || return 1
	_sched_name_ok "$cell" || return 1
	_sc_boots[$cell]=$boots
	_sc_check[$cell]=$(printf '%q ' "$@")
}

sched_cells() { printf '%s\n' "${!_sc_boots[@]}"; }

# The boots BOOT needs to have run first, on one line.
_sched_deps() {
	local -a d
	read -r -a d <<<"${_sb_after[$1]-}"
	case ${_sb_disk[$1]-} in
	after:*) d=("${_sb_disk[$1]#after:}" "${d[@]}") ;;
	esac
	echo "${d[*]}"
}

# --- images: built once per run, by whichever job asks first -----------------

# Prints the path of image NAME, building it first if this run has not.
# Concurrent callers wait on the image's lock; a build that failed in this
# run is not retried by the next caller.
sched_image_path() {
	local name=${1:?sched_image_path NAME} out
	[ -n "${_si_cmd[$name]+x}" ] || _sched_err "image $name is not declared" || return 1
	out=$BOOT_DIR/initrd/$name.img
	_boot_locked "image-$name" _sched_image_build "$name" "$out" || return 1
	echo "$out"
}

_sched_image_build() {
	local name=$1 out=$2 t0
	local -a cmd
	[ -e "$out.done.$BOOT_RUN_ID" ] && { boot_log "image $name: already built in this run"; return 0; }
	[ -e "$out.failed.$BOOT_RUN_ID" ] && { boot_die "image $name: its build failed earlier in this run, see $out.log"; return 1; }
	rm -f "$out".done.* "$out".failed.*
	mkdir -p "$(dirname "$out")"
	eval "cmd=(${_si_cmd[$name]})"
	t0=$(boot_now)
	boot_log "image $name: building"
	if "${cmd[0]}" "$out" "${cmd[@]:1}" >&2; then
		touch "$out.done.$BOOT_RUN_ID"
		boot_log "image $name: built in $(boot_elapsed "$t0") s"
	else
		touch "$out.failed.$BOOT_RUN_ID"
		boot_die "image $name: build failed, see $out.log"
	fi
}

# --- one boot's job (runs in the background, output in harness.log) ---------

# Run one step of the job; on failure leave "STEP: what went wrong" in
# build/boot/BOOT/failed for the cells.  The reason is the first error line
# the step printed (lib.sh prints "boot: error: ..." and, for a boot without
# a report, "boot: NAME: no complete report (...)").
_sched_step() {
	local b=$1 what=$2 t0 rc=0 err why
	shift 2
	err=$BOOT_DIR/$b/.step.err
	t0=$(boot_now)
	"$@" 2>"$err" || rc=$?
	cat "$err" >&2
	if [ "$rc" != 0 ]; then
		why=$(grep -m1 -E 'error|no complete report|failed|timed out' "$err" || tail -n1 "$err")
		why=${why#boot: }
		why=${why#error: }
		why=${why#"$b: "}
		if grep -q "^boot: $b: timed out" "$err"; then why+=", timed out"; fi
		echo "$what: ${why:-exit status $rc}" >"$BOOT_DIR/$b/failed"
		echo "sched: $what failed after $(boot_elapsed "$t0") s"
	else
		echo "sched: $what done in $(boot_elapsed "$t0") s"
	fi
	rm -f "$err"
	return "$rc"
}

_sched_make_disk() {
	local b=$1 out=$2 spec=${_sb_disk[$1]} tree
	case $spec in
	base) boot_disk_image "$out" ;;
	tree:*) boot_disk_image --tree "${spec#tree:}" "$out" ;;
	treefn:*)
		# shellcheck disable=SC2086 # CMD is a command line
		tree=$(${spec#treefn:}) || { boot_die "${spec#treefn:} failed"; return 1; }
		boot_disk_image --tree "$tree" "$out"
		;;
	after:*)
		local from=$BOOT_DIR/${spec#after:}/disk.img
		[ -f "$from" ] || { boot_die "no disk $from"; return 1; }
		cp --sparse=always "$from" "$out"
		;;
	fn:*) "${spec#fn:}" "$b" "$out" ;;
	esac
}

_sched_put_files() {
	local b=$1 disk=$2 e src path
	for e in ${_sb_put[$b]}; do
		case $e in
		image:*)
			path=${e#image:*:}
			e=${e#image:}
			src=$(sched_image_path "${e%%:*}") || return 1
			;;
		*)
			src=${e%%:*}
			path=${e#*:}
			;;
		esac
		boot_disk_put "$disk" "$src" "$path" || return 1
		boot_log "put $src -> $path"
	done
}

# A copied disk keeps the files of its earlier boot; its actions are
# cleared so that a boot runs exactly the actions it declares.
_sched_put_actions() {
	local b=$1 disk=$2 f dir n
	if [[ ${_sb_disk[$b]} == after:* ]]; then
		for dir in /usr/local/lib/daxbus-guest.d /usr/local/lib/daxbus-guest.pre.d; do
			for n in $(boot_disk_ls "$disk" "$dir"); do
				boot_disk_rm "$disk" "$dir/$n" || return 1
				boot_log "removed the earlier boot's action $dir/$n"
			done
		done
	fi
	for f in ${_sb_actions[$b]}; do
		dir=/usr/local/lib/daxbus-guest.d
		[ "${f#pre:}" = "$f" ] || dir=/usr/local/lib/daxbus-guest.pre.d
		f=${f#pre:}
		boot_disk_put "$disk" "$f" "$dir/${f##*/}" || return 1
		boot_log "action $f -> $dir/${f##*/}"
	done
}

_sched_make_initrd() {
	local b=$1 disk=$2 spec=${_sb_initrd[$1]} out
	case $spec in
	image:*) out=$(sched_image_path "${spec#image:}") || return 1 ;;
	disk:*)
		out=$BOOT_DIR/$b/initrd.img
		boot_disk_extract "$disk" "${spec#disk:}" "$out" || return 1
		;;
	file:*) out=${spec#file:} ;;
	fn:*) out=$("${spec#fn:}" "$b") || return 1 ;;
	esac
	[ -s "$out" ] || { boot_die "initrd $out is missing or empty"; return 1; }
	echo "$out" >"$BOOT_DIR/$b/initrd.path"
}

_sched_job() {
	local b=$1 dir=$BOOT_DIR/$1 t0 rc=0
	t0=$(boot_now)
	echo "sched: boot $b: kver=${_sb_kver[$b]} initrd=${_sb_initrd[$b]} disk=${_sb_disk[$b]}" \
		"append='${_sb_append[$b]}' after='$(_sched_deps "$b")'"
	{
		_sched_step "$b" "disk ${_sb_disk[$b]}" _sched_make_disk "$b" "$dir/disk.img" &&
			_sched_step "$b" "files" _sched_put_files "$b" "$dir/disk.img" &&
			_sched_step "$b" "actions" _sched_put_actions "$b" "$dir/disk.img" &&
			_sched_step "$b" "initrd ${_sb_initrd[$b]}" _sched_make_initrd "$b" "$dir/disk.img" &&
			BOOT_TIMEOUT=${_sb_timeout[$b]:-${BOOT_TIMEOUT-}} _sched_step "$b" "run" \
				"$SCHED_RUNNER" "$b" "${_sb_kver[$b]}" "$(cat "$dir/initrd.path")" "$dir/disk.img" "${_sb_append[$b]}"
	} || rc=1
	boot_elapsed "$t0" >"$dir/job-seconds"
	echo "$rc" >"$dir/job-status"
	echo "sched: boot $b: job $([ "$rc" = 0 ] && echo "done" || echo FAILED) after $(cat "$dir/job-seconds") s"
	return "$rc"
}

# The QEMU part of a real job: an NVDIMM copy of its own, the boot, and the
# NVDIMM copy removed again (the guest writes to it; nothing reads it later).
_sched_qemu() {
	local b=$1 kver=$2 initrd=$3 disk=$4 append=$5 nv rc=0
	nv=$BOOT_DIR/$b/nvdimm.img
	boot_nvdimm "$nv" || return 1
	boot_run "$b" "$kver" "$initrd" "$disk" "$nv" "$append" || rc=$?
	rm -f "$nv"
	return "$rc"
}

# --- the scheduler -------------------------------------------------------------

# Add BOOT and, first, everything it needs to the run (_want, in an order
# where dependencies come first).  An undeclared boot or a cycle fails the
# boots involved; their cells say so.
_sched_need() {
	local b=$1 d
	case ${_mark[$b]-} in
	"done") return 0 ;;
	busy)
		_st[$b]=failed
		_why[$b]="dependency cycle through boot $b"
		return 0
		;;
	esac
	_mark[$b]=busy
	if [ -z "${_sb_kver[$b]+x}" ]; then
		_st[$b]=failed
		_why[$b]="boot $b is not declared"
	else
		_deps[$b]=$(_sched_deps "$b")
		for d in ${_deps[$b]}; do
			_sched_need "$d"
		done
		[ -n "${_st[$b]-}" ] || _st[$b]=pending
	fi
	_mark[$b]="done"
	_want+=("$b")
}

# _height[BOOT]: length of the longest chain of boots in this run that wait
# for BOOT; among ready boots the longest chain starts first.  Relaxed once
# per boot, which is enough without cycles (and stops with them).
_sched_heights() {
	local i o d
	for o in "${_want[@]}"; do
		_height[$o]=0
	done
	for i in "${_want[@]}"; do
		for o in "${_want[@]}"; do
			for d in ${_deps[$o]-}; do
				[ "${_height[$d]}" -gt "${_height[$o]}" ] || _height[$d]=$((_height[$o] + 1))
			done
		done
	done
	: "$i"
}

_sched_default_jobs() {
	local n
	n=$(nproc 2>/dev/null || echo 1)
	if [ "$n" -ge 2 ]; then echo 2; else echo 1; fi
}

_sched_launch() {
	local b=$1 dir=$BOOT_DIR/$1
	rm -rf "$dir"
	mkdir -p "$dir"
	(_sched_job "$b") >"$dir/harness.log" 2>&1 </dev/null &
	_pid2boot[$!]=$b
	_st[$b]=running
	_t0[$b]=$(boot_now)
	_running=$((_running + 1))
}

# Start what can start; boots whose dependency failed are not run.  Repeats
# until nothing changes, since skipping one boot may decide another.
_sched_start_ready() {
	local b d changed=1 ready
	while [ "$changed" = 1 ]; do
		changed=0
		for b in "${_queue[@]}"; do
			[ "${_st[$b]}" = pending ] || continue
			ready=1
			for d in ${_deps[$b]}; do
				case ${_st[$d]} in
				ok) ;;
				failed | skipped)
					_st[$b]=skipped
					if [ "${_st[$d]}" = failed ]; then
						_why[$b]="needs boot $d, which failed"
						_root[$b]=$d
					else
						_why[$b]="needs boot $d, which was not run (boot ${_root[$d]} failed)"
						_root[$b]=${_root[$d]}
					fi
					ready=0
					changed=1
					_sched_finished "$b"
					break
					;;
				*) ready=0 ;;
				esac
			done
			if [ "$ready" = 1 ] && [ "$_running" -lt "$_jobs" ]; then
				_sched_launch "$b"
				changed=1
			fi
		done
	done
}

_sched_fmt_boot() {
	local b=$1
	case ${_st[$b]} in
	skipped) echo "boot $b, not run" ;;
	*) echo "boot $b, ${_secs[$b]:-0.0} s" ;;
	esac
}

# Print the boot's line, then decide every cell that was waiting only for it.
_sched_finished() {
	local b=$1 dir=$BOOT_DIR/$1 accel q
	case ${_st[$b]} in
	ok | failed)
		if [ -n "${_t0[$b]-}" ]; then
			_secs[$b]=$(cat "$dir/job-seconds" 2>/dev/null || boot_elapsed "${_t0[$b]}")
			_sum=$(awk -v a="$_sum" -v b="${_secs[$b]}" 'BEGIN { printf "%.1f", a + b }')
			_nboots=$((_nboots + 1))
			accel=$(cat "$dir/accel" 2>/dev/null)
			q=$(cat "$dir/seconds" 2>/dev/null)
			if [ -n "$accel" ]; then accel="($accel, qemu ${q:-?} s)"; else accel="(no QEMU run)"; fi
			if [ "${_st[$b]}" = ok ]; then
				echo "# boot $b: ${_secs[$b]} s $accel"
			else
				echo "# boot $b: ${_secs[$b]} s $accel FAILED: ${_why[$b]} (log: $dir/harness.log)"
			fi
		else
			echo "# boot $b: FAILED: ${_why[$b]}"
		fi
		;;
	skipped) echo "# boot $b: not run: ${_why[$b]}" ;;
	esac
	local c x all
	for c in "${_cells[@]}"; do
		[ -z "${_decided[$c]-}" ] || continue
		all=1
		for x in ${_sc_boots[$c]}; do
			case ${_st[$x]} in
			ok | failed | skipped) ;;
			*) all=0 ;;
			esac
		done
		[ "$all" = 1 ] && _sched_decide "$c"
	done
}

# For check functions: read the reports of another boot of the cell.
on() { boot=$1; }

_sched_decide() {
	local c=$1 x b times="" bad="" detail
	local -a check
	_decided[$c]=1
	_ncells=$((_ncells + 1))
	for x in ${_sc_boots[$c]}; do
		times+="${times:+; }$(_sched_fmt_boot "$x")"
		if [ -z "$bad" ] && [ "${_st[$x]}" != ok ]; then
			case ${_st[$x]} in
			failed) bad="boot $x failed: ${_why[$x]}" detail="log: $BOOT_DIR/$x/harness.log" ;;
			skipped) bad="boot $x not run: ${_why[$x]}" detail="log: $BOOT_DIR/${_root[$x]}/harness.log" ;;
			esac
		fi
	done
	if [ -n "$bad" ]; then
		echo "cell $c: FAIL $bad ($times)"
		fail "boot cell $c" "$detail"
		return
	fi
	b=${_sc_boots[$c]%% *}
	eval "check=(${_sc_check[$c]})"
	# In a subshell, so that a check that trips over `set -u` or exits
	# fails its own cell, not the whole matrix; seen=() comes back in a file.
	local f=$BOOT_DIR/.seen.$c
	# shellcheck disable=SC2034 # cell and boot are for the check functions
	cell=$c boot=$b
	if (
		seen=()
		"${check[@]}" >&2
		[ ${#seen[@]} -eq 0 ] || printf '%s\0' "${seen[@]}"
	) >"$f"; then
		mapfile -d '' seen <"$f"
	else
		seen=("check ${check[0]} did not finish (status $?)")
	fi
	rm -f "$f"
	if [ ${#seen[@]} -eq 0 ]; then
		echo "cell $c: PASS ($times)"
		pass "boot cell $c"
	else
		echo "cell $c: FAIL $(printf '%s; ' "${seen[@]}" | sed 's/; $//') ($times)"
		fail "boot cell $c" "reports: $(for x in ${_sc_boots[$c]}; do printf '%s ' "$BOOT_DIR/$x/report.txt"; done)"
	fi
}

_sched_lost_job() {
	local p
	for p in "${!_pid2boot[@]}"; do
		kill -0 "$p" 2>/dev/null || { echo "$p"; return 0; }
	done
	return 1
}

# Kill what the running jobs started (QEMU under timeout, dracut...), child
# by child, by process id.
_sched_kill_tree() {
	local p
	for p in $(ps -o pid= --ppid "$1" 2>/dev/null); do
		_sched_kill_tree "$p"
	done
	kill "$1" 2>/dev/null
}

_sched_abort() {
	local p
	echo "# boot matrix: interrupted, stopping ${#_pid2boot[@]} job(s)" >&2
	for p in "${!_pid2boot[@]}"; do
		_sched_kill_tree "$p"
	done
	exit 130
}

# sched_run CELL...: see lib.sh's header.
sched_run() {
	local c x b t0 pid rc
	local -a _cells=() _want=() _queue=()
	local -A _mark=() _st=() _why=() _root=() _deps=() _height=() _pid2boot=() _t0=() _secs=() _decided=()
	local _jobs=${BOOT_JOBS:-$(_sched_default_jobs)} _running=0 _sum=0.0 _nboots=0 _ncells=0
	[[ $_jobs =~ ^[1-9][0-9]*$ ]] || { _sched_err "BOOT_JOBS=$_jobs is not a positive number"; return 1; }
	t0=$(boot_now)
	for c in "$@"; do
		if [ -z "${_sc_boots[$c]+x}" ]; then
			echo "cell $c: FAIL unknown cell (cells: $(sched_cells | sort | tr '\n' ' '))"
			fail "boot cell $c" "unknown cell"
			continue
		fi
		_cells+=("$c")
		for x in ${_sc_boots[$c]}; do
			_sched_need "$x"
		done
	done
	# Longest chain first, then the order in which the cells asked.
	_sched_heights
	while read -r _ b; do
		_queue+=("$b")
	done < <(for b in "${_want[@]}"; do
		[ "${_st[$b]}" = pending ] && echo "${_height[$b]} $b"
	done | sort -s -k1,1nr)
	echo "# boot matrix: ${#_want[@]} boots for ${#_cells[@]} cells, $_jobs at a time"
	trap _sched_abort INT TERM
	# Boots that failed at declaration (undeclared, cycles) decide their cells now.
	for b in "${_want[@]}"; do
		[ "${_st[$b]}" = failed ] && _sched_finished "$b"
	done
	while :; do
		_sched_start_ready
		[ "$_running" -gt 0 ] || break
		pid=""
		wait -n -p pid
		rc=$?
		if [ -z "${pid-}" ]; then
			# Inside $(...), bash 5.2 loses a job that ends while another
			# command substitution runs (wait -n then says 127): find the
			# job whose process is gone and take the status it left.
			pid=$(_sched_lost_job) || { sleep 0.5; continue; }
			rc=$(cat "$BOOT_DIR/${_pid2boot[$pid]}/job-status" 2>/dev/null || echo 1)
		fi
		b=${_pid2boot[$pid]}
		unset "_pid2boot[$pid]"
		_running=$((_running - 1))
		if [ "$rc" = 0 ]; then
			_st[$b]=ok
		else
			_st[$b]=failed
			_why[$b]=$(cat "$BOOT_DIR/$b/failed" 2>/dev/null || echo "job exited with status $rc")
		fi
		_sched_finished "$b"
	done
	trap - INT TERM
	# Anything still undecided had a boot that never became ready (a bug).
	for c in "${_cells[@]}"; do
		if [ -z "${_decided[$c]-}" ]; then
			echo "cell $c: FAIL its boots were never run (scheduler error)"
			fail "boot cell $c" "scheduler error"
		fi
	done
	echo "# boot matrix: $_nboots boots, $_ncells cells, wall $(boot_elapsed "$t0") s, boot time sum $_sum s"
}
