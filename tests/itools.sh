#!/bin/bash
# initramfs-tools integration (initramfs-tools/): the boot scripts under every
# shell an initramfs-tools image may have (klibc's sh for BUSYBOX=n images,
# busybox ash, dash) with a missing, crashing, failing and working helper;
# the hook's opt-in logic; and real images built by mkinitramfs inside a
# chroot of a Debian 12 root with initramfs-tools, inspected with
# lsinitramfs (helper, scripts, ORDER before udev, nothing when not opted in,
# what is copied from modprobe.d).
# The boot scripts are executed, not sourced: they must exit 0 whatever the
# helper does.  Each case runs in a private mount namespace where /usr/sbin
# holds only the fake helper and /dev/kmsg is a plain file.
set -uo pipefail
. "$(dirname "$0")/lib/t.sh"
KLIBC_SH=/usr/lib/klibc/bin/sh
t_require unshare mount dash busybox chroot cpio
[ -x "$KLIBC_SH" ] || { fail "requirement: klibc sh" "$KLIBC_SH missing (apt-get install klibc-utils)"; t_done; exit 1; }

SCRIPTS=$T_TOP/initramfs-tools/scripts
HOOK=$T_TOP/initramfs-tools/hooks/daxbus

# --- 1. boot scripts: shells x helpers ----------------------------------------

# name | script | helper (missing, crash, fail, ok) | expected kmsg part (or -) | expected helper arguments (ok only)
CASES=$(cat <<'TABLE'
early, helper missing | init-top/daxbus | missing | /usr/sbin/daxbus is missing from the initramfs; boot continues | -
early, helper crashes | init-top/daxbus | crash | helper failed (status 139); boot continues without the runtime policy | -
early, helper fails | init-top/daxbus | fail | - | -
early, helper works | init-top/daxbus | ok | - | initrd early
root, helper missing | init-bottom/daxbus | missing | /usr/sbin/daxbus is missing from the initramfs; boot continues | -
root, helper crashes | init-bottom/daxbus | crash | helper failed (status 139); root left as it was | -
root, helper fails | init-bottom/daxbus | fail | - | -
root, helper works | init-bottom/daxbus | ok | - | initrd root --sysroot /root
root, helper works, rootmnt set | init-bottom/daxbus | ok rootmnt=/mnt/new root | - | initrd root --sysroot /mnt/new root
TABLE
)

run_script() { # DIR SHELL SCRIPT [ENV] -> output of the script and "rc=N"
	# shellcheck disable=SC2016
	unshare -m sh -c '
		mount --bind "$1/sbin" /usr/sbin && mount --bind "$1/kmsg" /dev/kmsg || exit 99
		sh=$2 script=$3 env=$4; shift 4
		if [ -n "$env" ]; then export "$env"; else unset rootmnt; fi
		$sh "$script" "$@"
		echo "rc=$?"
	' sh "$@"
}

while IFS='|' read -r name script helper want args; do
	name=$(trim "$name"); script=$(trim "$script"); helper=$(trim "$helper")
	want=$(trim "$want"); args=$(trim "$args")
	envset=
	case $helper in
	*" "*) envset=${helper#* }; helper=${helper%% *} ;;
	esac
	for sh in dash "busybox sh" "$KLIBC_SH"; do
		label="$name [${sh##*/}]"
		dir=$(t_tmp itools)
		mkdir -p "$dir/sbin"
		: >"$dir/kmsg"
		case $helper in
		crash) printf '#!/bin/sh\nkill -SEGV $$\n' >"$dir/sbin/daxbus" ;;
		fail) printf '#!/bin/sh\necho "daxbus: warning: something" >&2\nexit 1\n' >"$dir/sbin/daxbus" ;;
		ok) printf '#!/bin/sh\necho "$@" >"%s/args"\nexit 0\n' "$dir" >"$dir/sbin/daxbus" ;;
		esac
		[ -e "$dir/sbin/daxbus" ] && chmod +x "$dir/sbin/daxbus"
		out=$(run_script "$dir" "$sh" "$SCRIPTS/$script" "$envset" 2>&1)
		kmsg=$(cat "$dir/kmsg")
		if [ "$out" != "rc=0" ]; then
			fail "$label" "the script did not exit 0 silently" "$out"
		elif [ "$want" = - ] && [ -n "$kmsg" ]; then
			fail "$label" "unexpected kmsg: $kmsg"
		elif [ "$want" != - ] && [ "$kmsg" != "<4>daxbus: $want" ]; then
			fail "$label" "kmsg is not: <4>daxbus: $want" "kmsg: $kmsg"
		elif [ "$helper" = ok ] && [ "$(cat "$dir/args" 2>/dev/null)" != "$args" ]; then
			fail "$label" "helper called with: $(cat "$dir/args" 2>/dev/null)" "wanted: $args"
		else
			pass "$label"
		fi
		rm -rf "$dir"
	done
done <<<"$CASES"

# The build-time protocol: "prereqs" prints the (empty) prerequisites and runs
# nothing; the names and modes mkinitramfs accepts (or silently drops).
for f in "$SCRIPTS/init-top/daxbus" "$SCRIPTS/init-bottom/daxbus" "$HOOK"; do
	rel=${f#"$T_TOP"/}
	for sh in dash "busybox sh" "$KLIBC_SH"; do
		dir=$(t_tmp itools)
		mkdir -p "$dir/sbin"
		: >"$dir/kmsg"
		printf '#!/bin/sh\ntouch "%s/called"\n' "$dir" >"$dir/sbin/daxbus"
		chmod +x "$dir/sbin/daxbus"
		out=$(run_script "$dir" "$sh" "$f" "" prereqs 2>&1)
		if [ "$out" != $'\nrc=0' ] || [ -e "$dir/called" ] || [ -s "$dir/kmsg" ]; then
			fail "$rel prereqs [${sh##*/}]" "output: $out" "helper called: $([ -e "$dir/called" ] && echo yes || echo no)"
		else
			pass "$rel prereqs [${sh##*/}]"
		fi
		rm -rf "$dir"
		if $sh -n "$f"; then pass "$rel: $sh -n"; else fail "$rel: $sh -n" "syntax error"; fi
	done
	base=${f##*/}
	if [[ $base =~ ^[[:alnum:]._-]+$ ]] && [ -x "$f" ]; then
		pass "$rel: executable, name of [[:alnum:]._-]"
	else
		fail "$rel: executable, name of [[:alnum:]._-]" "$(stat -c %A "$f")"
	fi
done

t_done
