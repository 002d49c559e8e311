# shellcheck shell=bash
# The boot-matrix scheduler.  Boots (one QEMU guest each), jobs (any work,
# e.g. several guests at once) and cells (verdicts over their results) are
# declared separately; sched_run runs what the requested cells need, in
# dependency order, as background jobs that together use at most BOOT_JOBS
# slots (default 2 with two or more CPUs), and decides each cell as soon as
# its boots are done.  All state lives in the S_* and SB_/SC_/SI_ arrays
# declared by sched_reset; nothing is eval'ed.
#
#   sched_boot BOOT key=value...
#     kver=KVER            a pinned kernel (build/kernels/KVER)
#     kernel=disk:/PATH    the kernel in the boot's own disk (links followed)
#     kernel=entry         kernel, initrd and arguments from the disk's boot
#                          entry (BLS), e.g. an OSTree deployment's
#            entry:N       from its Nth newest entry (entry:2: an OSTree
#                          rollback, the deployment before the default)
#     initrd=image:NAME    an image declared with sched_image
#            disk:/PATH    from the boot's own disk, after put= and actions=
#            file:PATH     a ready file
#            base:NAME:FILE  a file a sched_base builder left in its directory
#            fn:FUNC       FUNC BOOT prints the path (run in the job)
#     disk=base            an overlay on the cached base root's image
#          tree:DIR        an overlay on an image of the tree DIR
#          treefn:CMD WORDS  an overlay on an image of the tree CMD prints
#          base:NAME       an overlay on a sched_base's disk.img
#          after:BOOT2     an overlay on BOOT2's disk as BOOT2 left it (BOOT2
#                          becomes a dependency; its disk is kept until done)
#          fn:FUNC         FUNC BOOT OUT writes the disk (raw or qcow2)
#     append="ARGS"        kernel arguments after BOOT_BASE_APPEND
#     after="BOOT..."      boots that must have run (successfully) first
#     put="SRC:PATH..."    host files into the disk; "image:NAME:PATH" for an
#                          image declared with sched_image, "fn:FUNC:PATH"
#                          for the file `FUNC BOOT RAW` prints (RAW: the
#                          disk's raw view, before anything is put)
#     actions="[pre:]FILE..."  guest actions (the agent runs them; see
#                          guest/daxbus-guest): into /usr/local/lib/
#                          daxbus-guest{.pre,}.d; a disk=after: copy starts
#                          with both directories emptied
#     timeout=S cache=MODE kill_on=ERE ssh=1 reboots=N smp=N mem=SIZE
#     own_kernel=PATH own_initrd=PATH no_report=1   see qemu.sh (GUEST_*);
#                          ssh=1 gives the guest a free host port, in
#                          build/boot/BOOT/ssh-port
#     slots=N              how many of the BOOT_JOBS slots it takes (a guest
#                          with N vCPUs' worth of work: N; default smp)
#   sched_job NAME run=FUNC [slots=N] [after="BOOT..."]
#     any work: FUNC NAME DIR (DIR is build/boot/NAME), success is status 0
#   sched_guest_start BOOT, sched_guest_wait BOOT
#     in a job's FUNC: BOOT (declared with sched_boot, named by no cell) as
#     a guest the job drives: its disk, files, kernel and initrd are made
#     as for a boot, then QEMU starts in the background; sched_guest_wait
#     waits for it to end (status: guest_run's) and deletes its disk
#     unless KEEP_BOOTS=1
#   sched_image NAME BUILDER [ARGS...]
#     an initramfs image build/boot/initrd/NAME.img, built at most once per
#     run by `BUILDER OUT ARGS...` when a job first asks for it
#   sched_base NAME BUILDER [ARGS...]
#     a prepared root, built at most once per run by `BUILDER DIR ARGS...`,
#     which leaves DIR/disk.img (a raw root image) and anything else boots
#     take from it (initrd=base:NAME:FILE); deleted when no boot needs it
#   sched_cell CELL "BOOT..." CHECK [ARGS...]
#     when its boots are done, CHECK ARGS... runs in a subshell with $cell
#     and $boot (the first boot; `on BOOT` switches) and records what
#     differs with seen+=("..."); no entry: PASS.  note="..." is printed
#     with the cell's times (e.g. the part of a job that was the cell's).  A failed or skipped boot
#     fails the cell, naming it.
#   sched_run CELL...
#     prints "cell CELL: PASS|FAIL ... (boot BOOT, T s)" per cell as it is
#     decided, "# boot BOOT: ..." per boot, progress, and a summary line.
# A boot's files live in build/boot/BOOT/; once its cells are decided and no
# pending boot needs its disk, the disk and NVDIMM copies are deleted unless
# KEEP_BOOTS=1 or a cell or the boot failed.  Job steps, in order, each timed
# in harness.log: disk, files, actions, kernel/initrd, run.
#
# Source after tests/lib/t.sh (pass, fail) and the harness files.  A test of
# the scheduler itself replaces SCHED_RUNNER (default _sched_qemu).

SCHED_RUNNER=${SCHED_RUNNER:-_sched_qemu}
SCHED_BOOT_KEYS="kver kernel initrd disk append after put actions timeout cache kill_on ssh reboots smp mem own_kernel own_initrd no_report slots run"

# shellcheck disable=SC2034 # read through namerefs (_sched_store_argv, _sched_load_argv)
sched_reset() {
	declare -gA SB=() SB_KIND=() SC_BOOTS=() SC_ARGC=() SC_ARGV=() SI_ARGC=() SI_ARGV=() SBASE_ARGC=() SBASE_ARGV=()
	declare -ga SB_ORDER=()
}
sched_reset

_sched_err() { echo "sched: $*" >&2; return 1; }

_sched_name_ok() {
	[[ $1 =~ ^[A-Za-z0-9][A-Za-z0-9._+-]*$ ]] || _sched_err "bad name '$1' (letters, digits, . _ + -)"
}

# A boot's declared value: SB[BOOT,KEY] (empty when not given).
_sb() { printf '%s' "${SB[$1,$2]-}"; }

_sched_check_kv() {
	local name=$1 k=$2 v=$3 f
	case $k in
	initrd)
		case $v in
		image:?* | disk:/* | file:?* | fn:?* | base:?*:?*) ;;
		*) _sched_err "boot $name: initrd=$v (image:NAME, disk:/PATH, file:PATH, base:NAME:FILE or fn:FUNC)" ;;
		esac ;;
	kernel)
		case $v in
		disk:/* | entry | entry:[1-9]) ;;
		*) _sched_err "boot $name: kernel=$v (disk:/PATH, entry or entry:N)" ;;
		esac ;;
	disk)
		case $v in
		base | tree:?* | treefn:?* | base:?* | after:?* | fn:?*) ;;
		*) _sched_err "boot $name: disk=$v (base, tree:DIR, treefn:CMD, base:NAME, after:BOOT or fn:FUNC)" ;;
		esac ;;
	actions)
		for f in $v; do
			f=${f#pre:}
			[[ ${f##*/} =~ ^[A-Za-z0-9][A-Za-z0-9._-]*\.sh$ ]] ||
				_sched_err "boot $name: action '$f' must be named [A-Za-z0-9._-]*.sh" || return 1
		done ;;
	timeout | reboots | smp | slots)
		[[ $v =~ ^[0-9]+$ ]] || _sched_err "boot $name: $k=$v is not a number" ;;
	cache)
		case $v in unsafe | none | directsync | writeback | writethrough) ;; *) _sched_err "boot $name: cache=$v" ;; esac ;;
	esac
}

# _sched_keys KIND NAME "KEY..." key=value...: NAME declared once, each
# argument a key=value of the allowed KEYs, checked, into SB
_sched_keys() {
	local kind=$1 name=$2 allowed=$3 kv k v
	shift 3
	_sched_name_ok "$name" || return 1
	[ -z "${SB_KIND[$name]+x}" ] || _sched_err "$kind $name declared twice" || return 1
	for kv in "$@"; do
		k=${kv%%=*}
		v=${kv#*=}
		[ "$k" != "$kv" ] || _sched_err "$kind $name: '$kv' is not key=value" || return 1
		[[ " $allowed " == *" $k "* ]] || _sched_err "$kind $name: unknown key '$k' (${allowed// /, })" || return 1
		_sched_check_kv "$name" "$k" "$v" || return 1
		SB[$name,$k]=$v
	done
}

# sched_boot BOOT key=value...
sched_boot() {
	local name=${1:?sched_boot BOOT key=value...}
	shift
	_sched_keys boot "$name" "${SCHED_BOOT_KEYS/ run/}" "$@" || return 1
	[ -n "$(_sb "$name" disk)" ] || _sched_err "boot $name: disk= is required" || return 1
	if [[ $(_sb "$name" kernel) != entry* ]]; then
		[ -n "$(_sb "$name" initrd)" ] || _sched_err "boot $name: initrd= is required" || return 1
		[ -n "$(_sb "$name" kver)$(_sb "$name" kernel)" ] || _sched_err "boot $name: kver= or kernel= is required" || return 1
	fi
	SB_KIND[$name]=boot
	SB_ORDER+=("$name")
}

# sched_job NAME run=FUNC [slots=N] [after="..."] [timeout=S]
sched_job() {
	local name=${1:?sched_job NAME run=FUNC ...}
	shift
	_sched_keys job "$name" "run slots after timeout" "$@" || return 1
	[ -n "$(_sb "$name" run)" ] || _sched_err "job $name: run= is required" || return 1
	SB_KIND[$name]=job
	SB_ORDER+=("$name")
}

# Store ARGS under PREFIX[KEY]: a count and one element each (no eval).
_sched_store_argv() {
	local -n _argc=$1 _argv=$2
	local key=$3 i=0 a
	shift 3
	_argc["$key"]=$#
	for a in "$@"; do
		_argv["$key,$i"]=$a
		i=$((i + 1))
	done
}

# SCHED_ARGV=() the arguments stored under KEY.
_sched_load_argv() {
	# shellcheck disable=SC2178 # namerefs to the arrays named by the caller
	local -n _argc=$1 _argv=$2
	local key=$3 i
	SCHED_ARGV=()
	for ((i = 0; i < ${_argc["$key"]:-0}; i++)); do
		SCHED_ARGV+=("${_argv["$key,$i"]}")
	done
}

# _sched_declare KIND ARGC ARGV NAME BUILDER [ARGS...]: an image or a base
_sched_declare() {
	local kind=$1 argc=$2 argv=$3 name=$4
	shift 4
	[ -n "${1-}" ] || _sched_err "$kind $name: no builder" || return 1
	_sched_name_ok "$name" || return 1
	_sched_store_argv "$argc" "$argv" "$name" "$@"
}
sched_image() { _sched_declare image SI_ARGC SI_ARGV "${1:?sched_image NAME BUILDER [ARGS...]}" "${@:2}"; }
sched_base() { _sched_declare base SBASE_ARGC SBASE_ARGV "${1:?sched_base NAME BUILDER [ARGS...]}" "${@:2}"; }

sched_cell() {
	local cell=${1:?sched_cell CELL BOOTS CHECK [ARGS...]} boots=${2:?sched_cell CELL BOOTS CHECK [ARGS...]}
	shift 2
	[ -n "${1-}" ] || _sched_err "cell $cell: no check function" || return 1
	_sched_name_ok "$cell" || return 1
	SC_BOOTS[$cell]=$boots
	_sched_store_argv SC_ARGC SC_ARGV "$cell" "$@"
}

sched_cells() { printf '%s\n' "${!SC_BOOTS[@]}"; }

# The boots BOOT needs to have run first, on one line.
_sched_deps() {
	local disk
	local -a d
	read -r -a d <<<"$(_sb "$1" after)"
	disk=$(_sb "$1" disk)
	[[ $disk == after:* ]] && d=("${disk#after:}" "${d[@]}")
	echo "${d[*]}"
}

# The slots BOOT takes.
_sched_slots() {
	local s
	s=$(_sb "$1" slots)
	[ -n "$s" ] || s=$(_sb "$1" smp)
	echo "${s:-1}"
}

# --- what boots are built from: images and bases, once per run ---------------

# Build NAME (kind image or base) at most once per run; concurrent callers
# wait on its lock; a build that failed in this run is not retried.
sched_image_path() {
	local name=${1:?sched_image_path NAME}
	[ -n "${SI_ARGC[$name]+x}" ] || _sched_err "image $name is not declared" || return 1
	boot_locked "image-$name" _sched_build_once image "$name" "$BOOT_DIR/initrd/$name.img" || return 1
	echo "$BOOT_DIR/initrd/$name.img"
}

sched_base_dir() {
	local name=${1:?sched_base_dir NAME}
	[ -n "${SBASE_ARGC[$name]+x}" ] || _sched_err "base $name is not declared" || return 1
	boot_locked "base-$name" _sched_build_once base "$name" "$BOOT_DIR/bases/run-$name" || return 1
	echo "$BOOT_DIR/bases/run-$name"
}

_sched_build_once() {
	local _skind=$1 _sname=$2 _sout=$3 _st0 _sok=1
	[ -e "$_sout.done.$BOOT_RUN_ID" ] && return 0
	[ -e "$_sout.failed.$BOOT_RUN_ID" ] && { boot_die "$_skind $_sname: its build failed earlier in this run, see $_sout.log"; return 1; }
	rm -rf "$_sout" "$_sout".done.* "$_sout".failed.*
	mkdir -p "$(dirname "$_sout")"
	_st0=$(boot_now)
	boot_log "$_skind $_sname: building"
	if [ "$_skind" = image ]; then
		_sched_load_argv SI_ARGC SI_ARGV "$_sname"
		"${SCHED_ARGV[0]}" "$_sout" "${SCHED_ARGV[@]:1}" >&2 || _sok=0
	else
		_sched_load_argv SBASE_ARGC SBASE_ARGV "$_sname"
		mkdir -p "$_sout"
		{ "${SCHED_ARGV[0]}" "$_sout" "${SCHED_ARGV[@]:1}" >&2 && [ -f "$_sout/disk.img" ]; } || _sok=0
	fi
	if [ "$_sok" = 1 ]; then
		touch "$_sout.done.$BOOT_RUN_ID"
		boot_log "$_skind $_sname: built in $(boot_elapsed "$_st0") s"
	else
		touch "$_sout.failed.$BOOT_RUN_ID"
		boot_die "$_skind $_sname: build failed, see $_sout.log"
	fi
}

# --- one boot's job (runs in the background, output in harness.log) --------------

# Run one step; on failure leave "STEP: what went wrong" in
# build/boot/BOOT/failed for the cells: the first error line the step
# printed (lib "boot: error: ..." and "boot: NAME: no complete report").
_sched_step() {
	local _sb_=$1 _swhat=$2 _st0 _src=0 _serr _swhy
	shift 2
	_serr=$BOOT_DIR/$_sb_/.step.err
	_st0=$(boot_now)
	"$@" 2>"$_serr" || _src=$?
	cat "$_serr" >&2
	if [ "$_src" != 0 ]; then
		_swhy=$(grep -m1 -E 'error|no complete report|failed|timed out' "$_serr" || tail -n1 "$_serr")
		_swhy=${_swhy#boot: }
		_swhy=${_swhy#error: }
		_swhy=${_swhy#"$_sb_: "}
		if grep -q "^boot: $_sb_: timed out" "$_serr"; then _swhy+=", timed out"; fi
		echo "$_swhat: ${_swhy:-exit status $_src}" >"$BOOT_DIR/$_sb_/failed"
		echo "sched: $_swhat failed after $(boot_elapsed "$_st0") s"
	else
		echo "sched: $_swhat done in $(boot_elapsed "$_st0") s"
	fi
	rm -f "$_serr"
	return "$_src"
}

# (Functions that call the cells' functions name their locals _s*: bash's
# dynamic scope would show a plain "tree" or "base" to the callee.)
_sched_make_disk() {
	local _sb_=$1 _sout=$2 _sspec _stree _sbase
	local -a _swords
	_sspec=$(_sb "$_sb_" disk)
	case $_sspec in
	base)
		_stree=$(boot_rootfs_base) || return 1
		_sbase=$(disk_base "$_stree") || return 1
		;;
	tree:*) _sbase=$(disk_base "${_sspec#tree:}") || return 1 ;;
	treefn:*)
		read -r -a _swords <<<"${_sspec#treefn:}"
		_stree=$("${_swords[@]}") || { boot_die "${_sspec#treefn:} failed"; return 1; }
		_sbase=$(disk_base "$_stree") || return 1
		;;
	base:*) _sbase=$(sched_base_dir "${_sspec#base:}")/disk.img || return 1 ;;
	after:*)
		_sbase=$BOOT_DIR/${_sspec#after:}/disk.qcow2
		[ -f "$_sbase" ] || { boot_die "no disk $_sbase"; return 1; }
		;;
	fn:*) "${_sspec#fn:}" "$_sb_" "$_sout"; return ;;
	esac
	disk_overlay "$_sbase" "$_sout"
}

# Files and actions into the disk, through one view of it.
_sched_fill_disk() {
	local b=$1 disk=$2
	[ -n "$(_sb "$b" put)$(_sb "$b" actions)" ] || [[ $(_sb "$b" disk) == after:* ]] || return 0
	disk_with "$disk" _sched_fill_raw "$b"
}

_sched_fill_raw() {
	local raw=$1 b=$2 e src path dir n f
	# A disk its earlier boot left unclean (a power cut) has a journal to
	# replay: replay it first, as the guest's own fsck would before mounting,
	# or the replay at boot would undo what debugfs writes below.
	if [[ $(_sb "$b" disk) == after:* ]]; then
		e2fsck -E journal_only -p "$raw" >/dev/null 2>&1
		# 0: clean, 1: replayed; 4 and up: e2fsck could not
		[ $? -lt 4 ] || { boot_die "e2fsck could not replay the journal of the disk $(_sb "$b" disk) left"; return 1; }
	fi
	for e in $(_sb "$b" put); do
		case $e in
		image:*)
			path=${e#image:*:}
			e=${e#image:}
			src=$(sched_image_path "${e%%:*}") || return 1
			;;
		fn:*)
			path=${e#fn:*:}
			e=${e#fn:}
			src=$("${e%%:*}" "$b" "$raw") || return 1
			;;
		*)
			src=${e%%:*}
			path=${e#*:}
			;;
		esac
		disk_put_raw "$raw" "$src" "$path" || return 1
		boot_log "put $src -> $path"
	done
	# a copied disk keeps the actions of its earlier boot: a boot runs exactly its own
	if [[ $(_sb "$b" disk) == after:* ]]; then
		for dir in /usr/local/lib/daxbus-guest.d /usr/local/lib/daxbus-guest.pre.d; do
			for n in $(disk_ls_raw "$raw" "$dir"); do
				disk_rm_raw "$raw" "$dir/$n" || return 1
			done
		done
	fi
	for f in $(_sb "$b" actions); do
		dir=/usr/local/lib/daxbus-guest.d
		[ "${f#pre:}" = "$f" ] || dir=/usr/local/lib/daxbus-guest.pre.d
		f=${f#pre:}
		disk_put_raw "$raw" "$f" "$dir/${f##*/}" || return 1
		boot_log "action $f -> $dir/${f##*/}"
	done
}

# The kernel, initramfs and extra arguments of BOOT into its directory:
# kernel.path, initrd.path, entry.append.
_sched_make_boot_files() {
	local _sb_=$1 _sdisk=$2 _sdir=$BOOT_DIR/$1 _sspec _sout _skernel
	_sspec=$(_sb "$_sb_" kernel)
	if [[ $_sspec == entry* ]]; then
		disk_with "$_sdisk" _sched_entry_files "$_sb_" "${_sspec#entry}" || return 1
		return 0
	fi
	if [[ $_sspec == disk:* ]]; then
		_skernel=$_sdir/vmlinuz
		disk_extract "$_sdisk" "${_sspec#disk:}" "$_skernel" || return 1
	else
		_skernel=$(_sb "$_sb_" kver)
	fi
	_sspec=$(_sb "$_sb_" initrd)
	case $_sspec in
	image:*) _sout=$(sched_image_path "${_sspec#image:}") || return 1 ;;
	disk:*)
		_sout=$_sdir/initrd.img
		disk_extract "$_sdisk" "${_sspec#disk:}" "$_sout" || return 1
		;;
	file:*) _sout=${_sspec#file:} ;;
	base:*)
		_sspec=${_sspec#base:}
		_sout=$(sched_base_dir "${_sspec%%:*}")/${_sspec#*:} || return 1
		;;
	fn:*) _sout=$("${_sspec#fn:}" "$_sb_") || return 1 ;;
	esac
	[ -s "$_sout" ] || { boot_die "initrd $_sout is missing or empty"; return 1; }
	echo "$_skernel" >"$_sdir/kernel.path"
	echo "$_sout" >"$_sdir/initrd.path"
	: >"$_sdir/entry.append"
}

# From the boot entry (BLS): the kernel, the initrds (concatenated: cpio
# archives concatenate) and the options, as the boot loader would take them.
_sched_entry_files() {
	local raw=$1 b=$2 rank=${3#:} dir=$BOOT_DIR/$2 key val n=0
	local -a initrds=()
	disk_entry_raw "$raw" "${rank:-1}" >"$dir/entry" || return 1
	: >"$dir/initrd.img"
	while read -r key val; do
		case $key in
		linux) disk_extract_raw "$raw" "/boot$val" "$dir/vmlinuz" || disk_extract_raw "$raw" "$val" "$dir/vmlinuz" || return 1 ;;
		initrd)
			n=$((n + 1))
			disk_extract_raw "$raw" "/boot$val" "$dir/initrd.$n" || disk_extract_raw "$raw" "$val" "$dir/initrd.$n" || return 1
			initrds+=("$dir/initrd.$n")
			;;
		options) printf '%s\n' "$val" >"$dir/entry.append" ;;
		esac
	done <"$dir/entry"
	if [ ! -s "$dir/vmlinuz" ] || [ ${#initrds[@]} = 0 ]; then
		boot_die "the boot entry names no linux or initrd"
		return 1
	fi
	cat "${initrds[@]}" >"$dir/initrd.img" && rm -f "${initrds[@]}"
	echo "$dir/vmlinuz" >"$dir/kernel.path"
	echo "$dir/initrd.img" >"$dir/initrd.path"
}

# _sched_prepare BOOT DISK: what a boot needs before QEMU (its disk, the
# files put in it, its kernel and initrd), each a step of its log
_sched_prepare() {
	_sched_step "$1" "disk $(_sb "$1" disk)" _sched_make_disk "$1" "$2" &&
		_sched_step "$1" "files" _sched_fill_disk "$1" "$2" &&
		_sched_step "$1" "kernel and initrd" _sched_make_boot_files "$1" "$2"
}

_sched_job() {
	local _sb_=$1 _sdir=$BOOT_DIR/$1 _st0 _src=0 _sdisk
	_st0=$(boot_now)
	if [ "${SB_KIND[$_sb_]}" = job ]; then
		echo "sched: job $_sb_: run=$(_sb "$_sb_" run) after='$(_sched_deps "$_sb_")'"
		_sched_step "$_sb_" "run" "$(_sb "$_sb_" run)" "$_sb_" "$_sdir" || _src=1
	else
		_sdisk=$_sdir/disk.qcow2
		echo "sched: boot $_sb_: kver=$(_sb "$_sb_" kver) kernel=$(_sb "$_sb_" kernel) initrd=$(_sb "$_sb_" initrd)" \
			"disk=$(_sb "$_sb_" disk) append='$(_sb "$_sb_" append)' after='$(_sched_deps "$_sb_")'"
		{
			_sched_prepare "$_sb_" "$_sdisk" &&
				_sched_step "$_sb_" "run" "$SCHED_RUNNER" "$_sb_" "$_sdisk"
		} || _src=1
	fi
	boot_elapsed "$_st0" >"$_sdir/job-seconds"
	echo "$_src" >"$_sdir/job-status"
	echo "sched: $_sb_: job $([ "$_src" = 0 ] && echo "done" || echo FAILED) after $(cat "$_sdir/job-seconds") s"
	return "$_src"
}

sched_guest_start() {
	local _sb_=${1:?sched_guest_start BOOT} _sdir _sdisk
	[ "${SB_KIND[$_sb_]-}" = boot ] || { _sched_err "sched_guest_start: $_sb_ is not a declared boot"; return 1; }
	_sdir=$BOOT_DIR/$_sb_ _sdisk=$BOOT_DIR/$_sb_/disk.qcow2
	mkdir -p "$_sdir"
	rm -f "$_sdir/ssh-port" "$_sdir/qemu.pid"
	_sched_prepare "$_sb_" "$_sdisk" || return 1
	"$SCHED_RUNNER" "$_sb_" "$_sdisk" >"$_sdir/guest.out" 2>&1 &
	echo $! >"$_sdir/qemu.pid"
}

sched_guest_wait() {
	local b=${1:?sched_guest_wait BOOT} rc=0 pid
	pid=$(cat "$BOOT_DIR/$b/qemu.pid" 2>/dev/null) || return 1
	wait "$pid" || rc=$?
	[ "${KEEP_BOOTS-}" = 1 ] || rm -f "$BOOT_DIR/$b/disk.qcow2"
	return "$rc"
}

# A free TCP port on the loopback for a guest's sshd.
_sched_free_port() {
	local p
	for ((p = 20000 + RANDOM % 20000; ; p++)); do
		(echo >"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return 0; }
	done
}

# The QEMU part of a real boot: an NVDIMM copy of its own, the guest.
_sched_qemu() {
	local b=$1 disk=$2 dir=$BOOT_DIR/$1 rc=0 port=""
	boot_nvdimm "$dir/nvdimm.img" || return 1
	if [ "$(_sb "$b" ssh)" = 1 ]; then
		port=$(_sched_free_port)
		echo "$port" >"$dir/ssh-port"
	fi
	GUEST_TIMEOUT=$(_sb "$b" timeout) GUEST_CACHE=$(_sb "$b" cache) GUEST_KILL_ON=$(_sb "$b" kill_on) \
		GUEST_SSH_PORT=$port GUEST_REBOOTS=$(_sb "$b" reboots) GUEST_SMP=$(_sb "$b" smp) GUEST_MEM=$(_sb "$b" mem) \
		GUEST_OWN_KERNEL=$(_sb "$b" own_kernel) GUEST_OWN_INITRD=$(_sb "$b" own_initrd) GUEST_NO_REPORT=$(_sb "$b" no_report) \
		guest_run "$b" "$(cat "$dir/kernel.path")" "$(cat "$dir/initrd.path")" "$disk" "$dir/nvdimm.img" \
		"$(_sb "$b" append) $(cat "$dir/entry.append")" || rc=$?
	rm -f "$dir/nvdimm.img"
	return "$rc"
}

# --- the scheduler -------------------------------------------------------------

# Add BOOT and, first, everything it needs to the run (S_WANT, dependencies
# first).  An undeclared boot or a cycle fails the boots involved.
_sched_need() {
	local b=$1 d
	case ${S_MARK[$b]-} in
	"done") return 0 ;;
	busy)
		S_ST[$b]=failed
		S_WHY[$b]="dependency cycle through boot $b"
		return 0
		;;
	esac
	S_MARK[$b]=busy
	if [ -z "${SB_KIND[$b]+x}" ]; then
		S_ST[$b]=failed
		S_WHY[$b]="boot $b is not declared"
	else
		S_DEPS[$b]=$(_sched_deps "$b")
		for d in ${S_DEPS[$b]}; do
			_sched_need "$d"
		done
		[ -n "${S_ST[$b]-}" ] || S_ST[$b]=pending
	fi
	S_MARK[$b]="done"
	S_WANT+=("$b")
}

# S_HEIGHT[BOOT]: the length of the longest chain of boots that wait for
# BOOT; among ready boots the longest chain starts first.
_sched_heights() {
	local i='' o d
	for o in "${S_WANT[@]}"; do
		S_HEIGHT[$o]=0
	done
	for i in "${S_WANT[@]}"; do
		for o in "${S_WANT[@]}"; do
			for d in ${S_DEPS[$o]-}; do
				[ "${S_HEIGHT[$d]}" -gt "${S_HEIGHT[$o]}" ] || S_HEIGHT[$d]=$((S_HEIGHT[$o] + 1))
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
	S_PID[$b]=$!
	S_ST[$b]=running
	S_T0[$b]=$(boot_now)
	S_USED=$((S_USED + $(_sched_slots "$b")))
}

# Start what can start; boots whose dependency failed are not run.  Repeats
# until nothing changes, since skipping one boot may decide another.
_sched_start_ready() {
	local b d changed=1 ready slots
	while [ "$changed" = 1 ]; do
		changed=0
		for b in "${S_QUEUE[@]}"; do
			[ "${S_ST[$b]}" = pending ] || continue
			ready=1
			for d in ${S_DEPS[$b]}; do
				case ${S_ST[$d]} in
				ok) ;;
				failed | skipped)
					S_ST[$b]=skipped
					if [ "${S_ST[$d]}" = failed ]; then
						S_WHY[$b]="needs boot $d, which failed"
						S_ROOT[$b]=$d
					else
						S_WHY[$b]="needs boot $d, which was not run (boot ${S_ROOT[$d]} failed)"
						S_ROOT[$b]=${S_ROOT[$d]}
					fi
					ready=0
					changed=1
					_sched_finished "$b"
					break
					;;
				*) ready=0 ;;
				esac
			done
			[ "$ready" = 1 ] || continue
			slots=$(_sched_slots "$b")
			# a job wider than the machine runs alone
			if [ $((S_USED + slots)) -le "$S_JOBS" ] || [ "$S_USED" = 0 ]; then
				_sched_launch "$b"
				changed=1
			fi
		done
	done
}

_sched_fmt_boot() {
	local b=$1
	case ${S_ST[$b]} in
	skipped) echo "boot $b, not run" ;;
	*) echo "boot $b, ${S_SECS[$b]:-0.0} s" ;;
	esac
}

# "k/N boots, ~M min left": the mean job time so far, over the slots.
_sched_progress() {
	local left=$((${#S_WANT[@]} - S_NBOOTS))
	[ "$S_NBOOTS" -gt 0 ] || return 0
	awk -v k="$S_NBOOTS" -v n="${#S_WANT[@]}" -v sum="$S_SUM" -v left="$left" -v jobs="$S_JOBS" \
		'BEGIN { printf "# progress: %d/%d boots, ~%d min left\n", k, n, int(sum / k * left / jobs / 60 + 0.5) }'
}

# Print the boot's line, then decide every cell that was waiting only for it.
_sched_finished() {
	local b=$1 dir=$BOOT_DIR/$1 accel q c x all
	case ${S_ST[$b]} in
	ok | failed)
		if [ -n "${S_T0[$b]-}" ]; then
			S_SECS[$b]=$(cat "$dir/job-seconds" 2>/dev/null || boot_elapsed "${S_T0[$b]}")
			S_SUM=$(awk -v a="$S_SUM" -v b="${S_SECS[$b]}" 'BEGIN { printf "%.1f", a + b }')
			S_NBOOTS=$((S_NBOOTS + 1))
			accel=$(cat "$dir/accel" 2>/dev/null)
			q=$(cat "$dir/seconds" 2>/dev/null)
			if [ -n "$accel" ]; then accel="($accel, qemu ${q:-?} s)"; else accel="(no QEMU run)"; fi
			if [ "${S_ST[$b]}" = ok ]; then
				echo "# boot $b: ${S_SECS[$b]} s $accel"
			else
				echo "# boot $b: ${S_SECS[$b]} s $accel FAILED: ${S_WHY[$b]} (log: $dir/harness.log)"
			fi
			_sched_progress
		else
			echo "# boot $b: FAILED: ${S_WHY[$b]}"
		fi
		;;
	skipped) echo "# boot $b: not run: ${S_WHY[$b]}" ;;
	esac
	for c in "${S_CELLS[@]}"; do
		[ -z "${S_DECIDED[$c]-}" ] || continue
		all=1
		for x in ${SC_BOOTS[$c]}; do
			case ${S_ST[$x]} in
			ok | failed | skipped) ;;
			*) all=0 ;;
			esac
		done
		[ "$all" = 1 ] && _sched_decide "$c"
	done
	_sched_tidy
}

# Delete what no later boot or cell needs: each finished boot's disk (once
# every boot built on it is done and its cells are decided) and the run's
# bases no pending boot uses.  Kept with KEEP_BOOTS=1, and for failures.
_sched_tidy() {
	local b o c busy spec name
	[ "${KEEP_BOOTS-}" = 1 ] && return 0
	for b in "${S_WANT[@]}"; do
		[ -z "${S_TIDIED[$b]-}" ] || continue
		case ${S_ST[$b]} in ok) ;; *) continue ;; esac
		busy=0
		for o in "${S_WANT[@]}"; do
			[[ " ${S_DEPS[$o]-} " == *" $b "* ]] || continue
			case ${S_ST[$o]} in ok | failed | skipped) ;; *) busy=1 ;; esac
			[ -n "${S_KEEP[$o]-}" ] && busy=1
		done
		for c in "${S_CELLS[@]}"; do
			[[ " ${SC_BOOTS[$c]} " == *" $b "* ]] || continue
			[ -n "${S_DECIDED[$c]-}" ] || busy=1
			[ "${S_DECIDED[$c]-}" = fail ] && S_KEEP[$b]=1
		done
		if [ "$busy" = 1 ] || [ -n "${S_KEEP[$b]-}" ]; then continue; fi
		rm -f "$BOOT_DIR/$b"/{disk.qcow2,nvdimm.img,initrd.img,vmlinuz,own-vmlinuz,own-initrd.img}
		S_TIDIED[$b]=1
	done
	# the run's bases: gone when every boot on them is done and tidied
	for name in "${!SBASE_ARGC[@]}"; do
		[ -d "$BOOT_DIR/bases/run-$name" ] || continue
		busy=0
		for b in "${S_WANT[@]}"; do
			spec="$(_sb "$b" disk) $(_sb "$b" initrd)"
			[[ $spec == *"base:$name"* ]] || continue
			[ -n "${S_TIDIED[$b]-}" ] || busy=1
		done
		[ "$busy" = 0 ] && rm -rf "$BOOT_DIR/bases/run-$name"
	done
}

# For check functions: read the reports of another boot of the cell.
on() { boot=$1; }

_sched_decide() {
	local c=$1 x b times="" bad="" detail f
	S_DECIDED[$c]=pass
	S_NCELLS=$((S_NCELLS + 1))
	for x in ${SC_BOOTS[$c]}; do
		times+="${times:+; }$(_sched_fmt_boot "$x")"
		if [ -z "$bad" ] && [ "${S_ST[$x]}" != ok ]; then
			case ${S_ST[$x]} in
			failed) bad="boot $x failed: ${S_WHY[$x]}" detail="log: $BOOT_DIR/$x/harness.log" ;;
			skipped) bad="boot $x not run: ${S_WHY[$x]}" detail="log: $BOOT_DIR/${S_ROOT[$x]}/harness.log" ;;
			esac
		fi
	done
	if [ -n "$bad" ]; then
		S_DECIDED[$c]=fail
		echo "cell $c: FAIL $bad ($times)"
		fail "boot cell $c" "$detail"
		return
	fi
	b=${SC_BOOTS[$c]%% *}
	_sched_load_argv SC_ARGC SC_ARGV "$c"
	# In a subshell, so that a check that trips over `set -u` or exits fails
	# its own cell, not the whole matrix; seen=() comes back in a file.
	f=$BOOT_DIR/.seen.$c
	# shellcheck disable=SC2034 # cell and boot are for the check functions
	cell=$c boot=$b
	if (
		seen=() note=""
		"${SCHED_ARGV[@]}" >&2
		[ -z "$note" ] || printf '%s' "$note" >"$f.note"
		[ ${#seen[@]} -eq 0 ] || printf '%s\0' "${seen[@]}"
	) >"$f"; then
		mapfile -d '' seen <"$f"
	else
		seen=("check ${SCHED_ARGV[0]} did not finish (status $?)")
	fi
	[ -s "$f.note" ] && times="$(cat "$f.note"); $times"
	rm -f "$f" "$f.note"
	if [ ${#seen[@]} -eq 0 ]; then
		echo "cell $c: PASS ($times)"
		pass "boot cell $c"
	else
		S_DECIDED[$c]=fail
		echo "cell $c: FAIL $(printf '%s; ' "${seen[@]}" | sed 's/; $//') ($times)"
		fail "boot cell $c" "reports: $(for x in ${SC_BOOTS[$c]}; do printf '%s ' "$BOOT_DIR/$x/"; done)"
	fi
}

# Kill what the running jobs started (QEMU, dracut...), child by child.
_sched_kill_tree() {
	local p
	for p in $(ps -o pid= --ppid "$1" 2>/dev/null); do
		_sched_kill_tree "$p"
	done
	kill "$1" 2>/dev/null
}

_sched_abort() {
	local b
	echo "# boot matrix: interrupted, stopping the running jobs" >&2
	for b in "${!S_PID[@]}"; do
		[ "${S_ST[$b]}" = running ] && _sched_kill_tree "${S_PID[$b]}"
	done
	exit 130
}

# One finished job, reaped: its status from the file it left.
_sched_reap() {
	local b=$1 rc
	wait "${S_PID[$b]}" 2>/dev/null
	rc=$(cat "$BOOT_DIR/$b/job-status" 2>/dev/null || echo 1)
	S_USED=$((S_USED - $(_sched_slots "$b")))
	if [ "$rc" = 0 ]; then
		S_ST[$b]=ok
	else
		S_ST[$b]=failed
		S_WHY[$b]=$(cat "$BOOT_DIR/$b/failed" 2>/dev/null || echo "job exited with status $rc")
	fi
	_sched_finished "$b"
}

sched_run() {
	local c x b t0
	declare -gA S_MARK=() S_ST=() S_WHY=() S_ROOT=() S_DEPS=() S_HEIGHT=() S_PID=() S_T0=() S_SECS=() \
		S_DECIDED=() S_KEEP=() S_TIDIED=()
	declare -ga S_CELLS=() S_WANT=() S_QUEUE=()
	declare -g S_JOBS=${BOOT_JOBS:-$(_sched_default_jobs)} S_USED=0 S_SUM=0.0 S_NBOOTS=0 S_NCELLS=0
	[[ $S_JOBS =~ ^[1-9][0-9]*$ ]] || { _sched_err "BOOT_JOBS=$S_JOBS is not a positive number"; return 1; }
	t0=$(boot_now)
	for c in "$@"; do
		if [ -z "${SC_BOOTS[$c]+x}" ]; then
			echo "cell $c: FAIL unknown cell (cells: $(sched_cells | sort | tr '\n' ' '))"
			fail "boot cell $c" "unknown cell"
			continue
		fi
		S_CELLS+=("$c")
		for x in ${SC_BOOTS[$c]}; do
			_sched_need "$x"
		done
	done
	# Longest chain first, then the order in which the cells asked.
	_sched_heights
	while read -r _ b; do
		S_QUEUE+=("$b")
	done < <(for b in "${S_WANT[@]}"; do
		[ "${S_ST[$b]}" = pending ] && echo "${S_HEIGHT[$b]} $b"
	done | sort -s -k1,1nr)
	echo "# boot matrix: ${#S_WANT[@]} boots for ${#S_CELLS[@]} cells, $S_JOBS slots"
	trap _sched_abort INT TERM
	for b in "${S_WANT[@]}"; do
		[ "${S_ST[$b]}" = failed ] && _sched_finished "$b"
	done
	while :; do
		_sched_start_ready
		[ "$S_USED" -gt 0 ] || break
		# poll: a job is done when its process is gone
		for b in "${!S_PID[@]}"; do
			[ "${S_ST[$b]}" = running ] || continue
			kill -0 "${S_PID[$b]}" 2>/dev/null || _sched_reap "$b"
		done
		sleep 0.2
	done
	trap - INT TERM
	# anything still undecided had a boot that never became ready (a bug)
	for c in "${S_CELLS[@]}"; do
		if [ -z "${S_DECIDED[$c]-}" ]; then
			echo "cell $c: FAIL its boots were never run (scheduler error)"
			fail "boot cell $c" "scheduler error"
		fi
	done
	echo "# boot matrix: $S_NBOOTS boots, $S_NCELLS cells, wall $(boot_elapsed "$t0") s, boot time sum $S_SUM s"
}
