#!/bin/bash
# Fault injection at every system call of every writing command.  For each
# command (enable, enable --runtime, enable --dracut, disable, initrd early,
# initrd root) a clean run is traced to list its system calls and their
# ordinals; then each occurrence fails once with EIO, ENOSPC, EROFS, EPERM
# and EINTR, and is hit once with SIGKILL, every time on a fresh root
# (strace -f --inject=SYSCALL:error=E:when=N, :signal=KILL).  Checked:
#   - the tree is the old state or the complete new state (whole-tree
#     manifests); for disable, and for a run killed between two files, each
#     policy file on its own is old or new (a removal cannot be taken back,
#     a SIGKILL cannot be handled; the next run finishes the job);
#     directories on the way to a policy file may stay behind, empty
#     (creating them is not undone, like mkdir -p);
#   - exit status 0 only if the new state is complete, otherwise 1;
#   - a run that exits 1 says so in a "daxbus:" line naming the path (a
#     path below the root), except for the calls in NO_PATH;
#   - no temporary (.#*) is left by a run that was not killed;
#   - after SIGKILL, a clean run of the same command reaches the complete new
#     state and leaves no temporary.
# Not injected (documented, counted as excluded): execve (the helper never
# starts), exit_group/exit (nothing runs after them), arch_prctl and
# set_tid_address (the C library's thread setup before main; a failure there
# is fatal by design of the C library).
# FAULTS_JOBS (default 2) runs that many fault points at a time;
# FAULTS_ONLY=REGEX limits the commands, FAULTS_LIST=f1,f2 the faults.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
t_require strace unshare

EXCLUDED=" execve exit_group exit arch_prctl set_tid_address "
# Calls that are not about a path: a failure must still leave a correct tree
# and exit status, and a "daxbus:" line, but need not name a path.
NO_PATH=" brk mmap munmap mprotect madvise mremap getrandom uname writev rt_sigaction rt_sigprocmask prlimit64 setrlimit getpid gettid clock_gettime clock_nanosleep timer_create timer_settime timer_delete alarm setitimer fcntl memfd_create ioctl wait4 clone clone3 fork vfork kill tgkill pipe2 poll ppoll prctl "
FAULTS=${FAULTS_LIST:-EIO,ENOSPC,EROFS,EPERM,EINTR,KILL}
JOBS=${FAULTS_JOBS:-2}
work=$(t_tmp rfaults)

# The ordinals worth injecting: for every system call name, 1..the most
# times one process made it (strace counts per process).
points_of() {
	sed -nE 's/^([0-9]+) +([a-z_0-9]+)\(.*/\1 \2/p' "$1" |
		sort | uniq -c | awk '{ if ($1 > max[$3]) max[$3] = $1 } END { for (s in max) for (i = 1; i <= max[s]; i++) print s, i }' |
		LC_ALL=C sort -k1,1 -k2,2n
}

# Run the command of this table row in $dir/root, optionally under a
# strace fault; output to $dir.out, exit status in $rc.
run_cmd() {
	local inject=$1
	local -a R_ARGS pre=()
	r_args "$spec" "$dir/root"
	[[ $spec == initrd* ]] && pre=(unshare -m)
	if [ -n "$inject" ]; then
		# (in a subshell: no "Killed" notice from this shell)
		("${pre[@]}" strace -f -o /dev/null -e trace=all "--inject=$inject" "$DAXBUS" "${R_ARGS[@]}" >"$dir.out" 2>&1 </dev/null
			exit $?) 2>/dev/null
	else
		"${pre[@]}" "$DAXBUS" "${R_ARGS[@]}" >"$dir.out" 2>&1 </dev/null
	fi
	rc=$?
	out=
	IFS= read -r -d '' out <"$dir.out"
}

# Is manifest $1 an allowed state?  strict: old, new, or old plus empty
# directories of new.  between: every entry is in old or in new, and what
# both have is kept (each file on its own is old or new: disable, and any
# command killed between two files).
allowed_state() {
	local got=$1 mode=$2 line
	[ "$got" = "$old" ] || [ "$got" = "$new" ] && return 0
	declare -A in_old=() in_new=() in_got=()
	while IFS= read -r line; do [ -n "$line" ] && in_old[$line]=1; done <<<"$old"
	while IFS= read -r line; do [ -n "$line" ] && in_new[$line]=1; done <<<"$new"
	while IFS= read -r line; do [ -n "$line" ] && in_got[$line]=1; done <<<"$got"
	if [ "$mode" = between ]; then
		for line in "${!in_got[@]}"; do [ -n "${in_old[$line]+x}${in_new[$line]+x}" ] || return 1; done
		for line in "${!in_old[@]}"; do [ -z "${in_new[$line]+x}" ] || [ -n "${in_got[$line]+x}" ] || return 1; done
		return 0
	fi
	for line in "${!in_old[@]}"; do [ -n "${in_got[$line]+x}" ] || return 1; done
	for line in "${!in_got[@]}"; do
		[ -n "${in_old[$line]+x}" ] && continue
		[ -n "${in_new[$line]+x}" ] && [[ $line == *" d"[0-7]* ]] || return 1
	done
	return 0
}

# Worker: runs the fault points in file $1 ("SYSCALL N FAULT" lines), one
# result line each ("ok LABEL" or "FAIL LABEL: why") into $2.
worker() {
	local sc n fault dir out rc got temps why inject label mode i=0
	while read -r sc n fault; do
		i=$((i + 1))
		label="$name: $sc#$n $fault"
		why=
		dir=$work/w$BASHPID.$i
		cp -a "$template" "$dir"
		if [ "$fault" = KILL ]; then inject="$sc:signal=KILL:when=$n"; else inject="$sc:error=$fault:when=$n"; fi
		run_cmd "$inject"
		r_manifest_v "$dir/root"
		got=$R_MANIFEST
		temps=$(r_temps "$got")
		if [ "$fault" = KILL ]; then
			r_drop_temps "$got"
			got=$R_KEPT
		fi
		mode=strict
		[[ $name == disable* ]] || [ "$fault" = KILL ] && mode=between
		if ! allowed_state "$got" "$mode"; then
			why="tree is neither the old nor the new state: $(diff <(echo "$old") <(echo "$got") | grep '^[<>]' | tr '\n' ';')"
		elif [ "$fault" = KILL ]; then
			run_cmd ""
			r_manifest_v "$dir/root"
			temps=$(r_temps "$R_MANIFEST")
			if [ "$rc" != 0 ] || [ "$R_MANIFEST" != "$new" ] || [ -n "$temps" ]; then
				why="after SIGKILL the next clean run: exit $rc, temporaries [${temps//$'\n'/ }], tree $([ "$R_MANIFEST" = "$new" ] && echo complete || echo incomplete)"
			fi
		elif [ "$rc" = 0 ] && [ "$got" != "$new" ]; then
			why="exit 0 but the new state is not complete"
		elif [ "$rc" != 0 ] && [ "$rc" != 1 ]; then
			why="exit status $rc (0 or 1 expected)"
		elif [ "$rc" = 1 ] && [[ $out != *"daxbus: "* ]]; then
			why="exit 1 without a message"
		elif [ "$rc" = 1 ] && [[ $NO_PATH != *" $sc "* ]] && [[ $out != *"$dir/root"* ]]; then
			why="exit 1 but no message names a path below the root"
		elif [ -n "$temps" ]; then
			why="temporary left: ${temps//$'\n'/ }"
		fi
		if [ -n "$why" ]; then
			echo "FAIL $label: $why (exit $rc) ${out//$'\n'/ | }"
		else
			echo "ok $label"
		fi
		rm -rf "$dir" "$dir.out"
	done <"$1" >"$2"
}

tried=0 passed=0 excluded=0
while IFS='|' read -r name spec kind; do
	name=$(trim "$name"); spec=$(trim "$spec"); kind=$(trim "$kind")
	[[ $name =~ ${FAULTS_ONLY:-.} ]] || continue
	template=$work/template
	rm -rf "$template" && mkdir -p "$template"
	r_mkroot "$template/root" "$kind"
	r_manifest_v "$template/root"
	old=$R_MANIFEST
	dir=$work/probe
	rm -rf "$dir" && cp -a "$template" "$dir"
	r_args "$spec" "$dir/root"
	pre=()
	[[ $spec == initrd* ]] && pre=(unshare -m)
	"${pre[@]}" strace -f -o "$work/trace" "$DAXBUS" "${R_ARGS[@]}" >/dev/null 2>&1 </dev/null
	rc=$?
	r_manifest_v "$dir/root"
	new=$R_MANIFEST
	if [ "$rc" != 0 ] || [ "$old" = "$new" ]; then
		fail "$name: clean run" "exit $rc, or nothing changed; cannot inject faults"
		continue
	fi
	mapfile -t points < <(points_of "$work/trace")
	n_ex=0
	for j in $(seq 1 "$JOBS"); do : >"$work/list.$j"; done
	j=0
	for p in "${points[@]}"; do
		sc=${p% *}
		if [[ $EXCLUDED == *" $sc "* ]]; then n_ex=$((n_ex + 1)); continue; fi
		for f in ${FAULTS//,/ }; do
			echo "$p $f" >>"$work/list.$((j % JOBS + 1))"
			j=$((j + 1))
		done
	done
	for j in $(seq 1 "$JOBS"); do
		worker "$work/list.$j" "$work/result.$j" &
	done
	wait
	results=$(cat "$work"/result.*)
	rm -f "$work"/list.* "$work"/result.*
	t=$(grep -c '^ok \|^FAIL ' <<<"$results")
	ok=$(grep -c '^ok ' <<<"$results")
	tried=$((tried + t)); passed=$((passed + ok)); excluded=$((excluded + n_ex))
	if [ "$t" -gt 0 ] && [ "$t" = "$ok" ]; then
		pass "$name: $t fault points (${#points[@]} call occurrences, $n_ex excluded)"
	else
		mapfile -t bad < <(grep '^FAIL ' <<<"$results" | head -n 8)
		fail "$name: $ok of $t fault points passed" "${bad[@]}"
		grep '^FAIL ' <<<"$results" >"$work/$(tr ' -' '__' <<<"$name").failures"
	fi
done < <(printf '%s\n' "$R_COMMANDS")

echo "# fault points: $passed of $tried passed ($excluded call occurrences excluded by rule); failures in $work"
r_figure "fault points (6 faults x every syscall)" "$tried" "$passed" "$excluded occurrences excluded"
rm -rf "$work/template" "$work/probe" "$work/trace"
[ "$t_failed" = 0 ] && rm -rf "$work"
t_done
