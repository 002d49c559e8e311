#!/bin/bash
# Shared by the reliability scripts (tests/reliability/*.sh): the commands
# under test with the fake root each one starts from, a fast whole-tree
# manifest, and the figures line each script leaves for the summary table.
# shellcheck disable=SC2034  # variables are for the sourcing scripts
. "$(dirname "${BASH_SOURCE[0]}")/../lib/t.sh"

# The dracut drop-in's text, from the file that holds it.
IFS= read -r -d '' R_DROPIN_TEXT <"$DROPIN_FILE"

# The temporaries the helper may leave only while it runs.
TEMP_GLOB='.#*'

# name | arguments after the binary (ROOT is replaced) | initial root
R_COMMANDS=$(cat <<'TABLE'
enable | enable --root ROOT | plain
enable --runtime | enable --runtime --root ROOT | plain
enable --dracut | enable --dracut --root ROOT | plain
disable | disable --root ROOT | enabled
initrd early | initrd early --root ROOT --sysroot ROOT/sysroot --log stderr | initramfs
initrd root | initrd root --root ROOT --sysroot ROOT/sysroot --log stderr | initramfs
TABLE
)

# Make the initial root KIND in directory $1 (which must not exist yet).
r_mkroot() {
	local root=$1 kind=$2
	mkdir -p "$root/etc" "$root/run"
	case $kind in
	plain) ;;
	enabled)
		mkdir -p "$root/etc/modprobe.d" "$root/etc/dracut.conf.d"
		cp "$POLICY_FILE" "$root/etc/modprobe.d/daxctl.conf"
		printf '%s' "$R_DROPIN_TEXT" >"$root/etc/dracut.conf.d/daxbus.conf" ;;
	initramfs)
		mkdir -p "$root/proc" "$root/sysroot/etc"
		echo "ro root=/dev/vda" >"$root/proc/cmdline" ;;
	*) echo "r_mkroot: unknown kind $kind" >&2; return 1 ;;
	esac
}

# Whole tree below $1, one entry a line: path, type+mode, link target, and
# for regular files the content (quoted).  Uses two processes, since the
# fault scripts run it thousands of times.  Sets R_MANIFEST.
r_manifest_v() {
	local line path c q
	R_MANIFEST=
	while IFS= read -r line; do
		R_MANIFEST+=$line
		if [[ $line == *" f"[0-7]* ]]; then
			path=${line%% *}
			c=
			IFS= read -r -d '' c <"$1/$path"
			printf -v q '%q' "$c"
			R_MANIFEST+=" $q"
		fi
		R_MANIFEST+=$'\n'
	done < <(cd "$1" && find . -mindepth 1 -printf '%P %y%m%l\n' | LC_ALL=C sort)
}
r_manifest() {
	r_manifest_v "$1"
	printf '%s' "$R_MANIFEST"
}

# Temporaries named in manifest $1, one a line (empty: none).
r_temps() {
	local line out=
	while IFS= read -r line; do
		case ${line%% *} in .\#* | */.\#*) out+=${line%% *}$'\n' ;; esac
	done <<<"$1"
	printf '%s' "$out"
}

# Manifest $1 without the temporaries, into R_KEPT.
r_drop_temps() {
	local line
	R_KEPT=
	while IFS= read -r line; do
		case ${line%% *} in .\#* | */.\#*) ;; *) [ -n "$line" ] && R_KEPT+=$line$'\n' ;; esac
	done <<<"$1"
}

# Run the daxbus arguments of a command table row against ROOT.
# r_args "enable --root ROOT" /x -> array R_ARGS
r_args() {
	local spec=${1//ROOT/$2}
	read -r -a R_ARGS <<<"$spec"
}

# The figures for the summary table: one line "label|tried|passed|note".
r_figure() {
	mkdir -p "$T_WORK"
	printf '%s|%s|%s|%s\n' "$1" "$2" "$3" "${4:-}" >>"$T_WORK/reliability.figures"
}
