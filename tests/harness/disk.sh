# shellcheck shell=bash
# Disk images for the boots: ext4 images of root trees (one per tree version,
# shared), copy-on-write qcow2 overlays on them (one per boot, a few MB), and
# files into and out of either without mounting anything in the host's
# namespace: a qcow2 image is seen as a raw one through a FUSE export of
# qemu-storage-daemon, and debugfs reads and writes that.
#
#   disk_mkfs TREE OUT               a raw ext4 image of TREE as it is
#   disk_base TREE                   -> the shared raw image of TREE (built
#                                       once per version of TREE: its .key)
#   disk_overlay BACKING OUT         a qcow2 overlay on BACKING (raw/qcow2)
#   disk_with IMAGE FUNC ARGS...     FUNC RAW ARGS..., RAW IMAGE's raw view
#   disk_put IMAGE SRC PATH          copy a host file in (mode, parents made)
#   disk_extract IMAGE PATH OUT      copy a file out, links followed inside
#   disk_ls IMAGE DIR / disk_rm IMAGE PATH
#   disk_entry IMAGE [RANK]          -> the boot entry in /boot/loader/entries
#                                       (BLS): "linux PATH", "initrd PATH"
#                                       (each), "options ..." lines
# The *_raw forms take a raw image (or a view) and are what disk_with's
# FUNC calls.
# shellcheck source=base.sh
. "$(dirname "${BASH_SOURCE[0]}")/base.sh"
[ -n "${HARNESS_DISK_LOADED-}" ] && return 0
HARNESS_DISK_LOADED=1

# Big enough for a root with two pruned module trees and room for what the
# guests write; the files are sparse, so the size costs nothing.
BOOT_DISK_SIZE=${BOOT_DISK_SIZE:-2G}

disk_mkfs() {
	local tree=$1 out=$2
	rm -f "$out"
	mkdir -p "$(dirname "$out")"
	if ! truncate -s "$BOOT_DISK_SIZE" "$out" ||
		! mkfs.ext4 -q -F -L daxbus-root -d "$tree" "$out" >/dev/null; then
		rm -f "$out"
		boot_die "mkfs.ext4 -d $tree failed"
	fi
}

# One image per tree and version: build/boot/bases/NAME-KEY.img, where KEY
# is the tree's .key (the cached roots have one) or its mtime.
disk_base() {
	local tree=${1:?disk_base TREE} key name
	[ -d "$tree" ] || boot_die "disk_base: no tree $tree" || return 1
	key=$(cat "$tree/.key" 2>/dev/null || stat -c %Y "$tree")
	name=$(basename "$tree")-$(printf '%s %s' "$tree" "$key" | sha256sum | cut -c1-12)
	boot_locked "base-$name" _disk_base "$tree" "$BOOT_DIR/bases/$name.img"
}

_disk_base() {
	local tree=$1 out=$2 old
	if [ ! -e "$out" ]; then
		# earlier versions of the same tree go: they only take room
		for old in "$BOOT_DIR/bases/$(basename "$tree")"-????????????.img; do
			[ "$old" = "$out" ] || rm -f "$old"
		done
		disk_mkfs "$tree" "$out.tmp" || return 1
		mv "$out.tmp" "$out"
	fi
	echo "$out"
}

disk_overlay() {
	local backing=${1:?disk_overlay BACKING OUT} out=${2:?disk_overlay BACKING OUT} fmt=raw
	[ -f "$backing" ] || boot_die "disk_overlay: no image $backing" || return 1
	case $(head -c 4 "$backing" | od -An -c | tr -d ' ') in QFI*) fmt=qcow2 ;; esac
	rm -f "$out"
	mkdir -p "$(dirname "$out")"
	qemu-img create -q -f qcow2 -b "$(realpath "$backing")" -F "$fmt" "$out" ||
		boot_die "qemu-img create of an overlay on $backing failed"
}

_disk_is_qcow2() {
	[ "$(head -c 3 "$1" 2>/dev/null)" = QFI ]
}

# disk_with IMAGE FUNC ARGS...: a raw image is used as it is; a qcow2 image
# is exported through FUSE at IMAGE.view for the time FUNC runs.
disk_with() {
	local image=${1:?disk_with IMAGE FUNC ARGS...} fn=${2:?disk_with IMAGE FUNC ARGS...} view pid rc=0
	shift 2
	[ -f "$image" ] || boot_die "no disk image $image" || return 1
	if ! _disk_is_qcow2 "$image"; then
		"$fn" "$image" "$@"
		return
	fi
	view=$image.view
	umount "$view" 2>/dev/null
	rm -f "$view" "$view.pid"
	: >"$view"
	if ! qemu-storage-daemon --daemonize --pidfile "$view.pid" \
		--blockdev "driver=file,filename=$image,node-name=f" \
		--blockdev driver=qcow2,file=f,node-name=q \
		--export "type=fuse,id=e,node-name=q,mountpoint=$view,writable=on,writethrough=on" >"$view.log" 2>&1; then
		rm -f "$view"
		boot_die "cannot export $image through FUSE: $(tail -n 2 "$view.log")"
		return 1
	fi
	pid=$(cat "$view.pid")
	"$fn" "$view" "$@" || rc=$?
	# Every write was flushed to the qcow2 file before it completed
	# (writethrough), so once no request can come (unmounted) the daemon may
	# go at once: it takes a second to quit by itself.  It must be gone before
	# QEMU opens the image (image locking).
	umount "$view" || umount -l "$view"
	kill -9 "$pid" 2>/dev/null
	# gone, or a zombie (its files closed, its locks released) that init
	# has not reaped yet
	while [ -e "/proc/$pid" ] && [ "$(cut -d' ' -f3 "/proc/$pid/stat" 2>/dev/null)" != Z ]; do sleep 0.01; done
	rm -f "$view" "$view.pid" "$view.log"
	return "$rc"
}

# --- files inside an ext4 image, with debugfs ------------------------------------
# debugfs exits 0 even when a command fails; errors are lines on stderr other
# than its version banner, so each call is checked that way.

_disk_debugfs() {
	local disk=$1 err
	shift
	err=$(DEBUGFS_PAGER=__none__ debugfs "$@" "$disk" 2>&1 >/dev/null | grep -v '^debugfs [0-9]')
	[ -z "$err" ] || { echo "$err" >&2; return 1; }
}

# Type of PATH in the image: regular, directory, symlink, ... or "missing".
_disk_type() {
	local t
	t=$(DEBUGFS_PAGER=__none__ debugfs -R "stat \"$2\"" "$1" 2>/dev/null | sed -n 's/^Inode: [0-9]*  *Type: \([a-z]*\).*/\1/p')
	echo "${t:-missing}"
}

_disk_readlink() {
	local disk=$1 path=$2 info
	info=$(DEBUGFS_PAGER=__none__ debugfs -R "stat \"$path\"" "$disk" 2>/dev/null)
	case $info in
	*'Fast link dest: "'*)
		info=${info#*Fast link dest: \"}
		printf '%s\n' "${info%%\"*}"
		;;
	*) DEBUGFS_PAGER=__none__ debugfs -R "cat \"$path\"" "$disk" 2>/dev/null ;;
	esac
}

_disk_path_ok() {
	case $1 in
	/*) ;;
	*) boot_die "$1: not an absolute path" || return 1 ;;
	esac
	case $1 in
	*'"'* | *$'\n'* | *' '*) boot_die "$1: blanks and quotes are not supported in image paths" ;;
	esac
}

# Resolve PATH to a path without symlinks inside the image DISK, one
# component at a time like a chroot would (absolute targets mean the image's
# root, ".." stops at it).  Prints the path; fails on a dangling link.
_disk_resolve() {
	local disk=$1 resolved="" c t hops=0
	local -a rest more
	IFS=/ read -r -a rest <<<"$2"
	while [ ${#rest[@]} -gt 0 ]; do
		c=${rest[0]}
		rest=("${rest[@]:1}")
		case $c in
		'' | .) continue ;;
		..) resolved=${resolved%/*}; continue ;;
		esac
		case $(_disk_type "$disk" "$resolved/$c") in
		missing) boot_die "$disk: no $resolved/$c (resolving $2)"; return 1 ;;
		symlink)
			hops=$((hops + 1))
			[ "$hops" -le 40 ] || boot_die "$disk: too many links resolving $2" || return 1
			t=$(_disk_readlink "$disk" "$resolved/$c")
			[ -n "$t" ] || boot_die "$disk: unreadable link $resolved/$c" || return 1
			[ "${t#/}" != "$t" ] && resolved=""
			IFS=/ read -r -a more <<<"$t"
			rest=("${more[@]}" "${rest[@]}")
			;;
		*) resolved=$resolved/$c ;;
		esac
	done
	echo "${resolved:-/}"
}

disk_extract_raw() {
	local disk=$1 path=$2 out=$3 real
	_disk_path_ok "$path" || return 1
	real=$(_disk_resolve "$disk" "$path") || return 1
	[ "$(_disk_type "$disk" "$real")" = regular ] || boot_die "$path ($real) is not a regular file in the image" || return 1
	mkdir -p "$(dirname "$out")"
	rm -f "$out.tmp"
	if _disk_debugfs "$disk" -R "dump \"$real\" \"$out.tmp\"" && [ -f "$out.tmp" ]; then
		mv "$out.tmp" "$out"
	else
		rm -f "$out.tmp"
		boot_die "dumping $real out of the image failed"
	fi
}

# Names in directory PATH of the image, one a line (none if it is missing).
disk_ls_raw() {
	local disk=$1 path=$2
	_disk_path_ok "$path" || return 1
	[ "$(_disk_type "$disk" "$path")" = directory ] || return 0
	# -p: /inode/mode/uid/gid/name/size/ per entry
	DEBUGFS_PAGER=__none__ debugfs -R "ls -p \"$path\"" "$disk" 2>/dev/null |
		awk -F/ 'NF >= 7 && $6 != "." && $6 != ".." { print $6 }'
}

disk_rm_raw() {
	local disk=$1 path=$2
	_disk_path_ok "$path" || return 1
	case $(_disk_type "$disk" "$path") in
	missing) return 0 ;;
	directory) boot_die "$path is a directory in the image" ;;
	*) _disk_debugfs "$disk" -w -R "rm \"$path\"" ;;
	esac
}

disk_put_raw() {
	local disk=$1 src=$2 path=$3 dir="" c size
	local -a parts
	_disk_path_ok "$path" || return 1
	[ -f "$src" ] || boot_die "disk_put: no file $src" || return 1
	# One debugfs run: parents (those that exist complain), the old file
	# (may not exist), the new one; then check what is there.
	IFS=/ read -r -a parts <<<"${path%/*}"
	{
		for c in "${parts[@]}"; do
			[ -n "$c" ] || continue
			dir=$dir/$c
			echo "mkdir \"$dir\""
		done
		echo "rm \"$path\""
		echo "write \"$src\" \"$path\""
	} | DEBUGFS_PAGER=__none__ debugfs -w -f - "$disk" >/dev/null 2>&1
	size=$(DEBUGFS_PAGER=__none__ debugfs -R "stat \"$path\"" "$disk" 2>/dev/null | awk '
		/^Inode:/ { type = $4 }
		/^User:/ { for (i = 1; i < NF; i++) if ($i == "Size:") size = $(i + 1) }
		END { if (type == "regular") print size }')
	[ "$size" = "$(stat -c %s "$src")" ] || boot_die "writing $path into the image failed"
}

disk_extract() { disk_with "$1" disk_extract_raw "$2" "$3"; }
disk_ls() { disk_with "$1" disk_ls_raw "$2"; }
disk_rm() { disk_with "$1" disk_rm_raw "$2"; }
disk_put() { disk_with "$1" disk_put_raw "$2" "$3"; }

# The boot loader entry of a root (BLS, /boot/loader/entries/*.conf) with
# the highest version (RANK 2: the next highest, ...), as "key value" lines:
# linux, initrd (one line each), options.  OSTree writes one per deployment;
# the newest is the default, the one after it the rollback.
disk_entry_raw() {
	local disk=$1 rank=${2:-1} dir name v best
	dir=$(_disk_resolve "$disk" /boot/loader/entries) || return 1
	best=$(for name in $(disk_ls_raw "$disk" "$dir"); do
		case $name in *.conf) ;; *) continue ;; esac
		v=$(DEBUGFS_PAGER=__none__ debugfs -R "cat \"$dir/$name\"" "$disk" 2>/dev/null | awk '$1 == "version" { print $2 }')
		echo "${v:-0} $name"
	done | sort -k1,1nr | sed -n "${rank}p" | cut -d' ' -f2-)
	[ -n "$best" ] || boot_die "no boot entry number $rank in /boot/loader/entries" || return 1
	DEBUGFS_PAGER=__none__ debugfs -R "cat \"$dir/$best\"" "$disk" 2>/dev/null |
		awk '$1 == "linux" || $1 == "initrd" || $1 == "options" { print }'
}
disk_entry() { disk_with "$1" disk_entry_raw "${2:-1}"; }
