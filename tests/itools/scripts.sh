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
. "$(dirname "$0")/../lib/t.sh"
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
		fake_helper "$dir/sbin/daxbus" "$helper"
		out=$(run_script "$dir" "$sh" "$SCRIPTS/$script" "$envset" 2>&1)
		kmsg=$(cat "$dir/kmsg")
		if [ "$out" != "rc=0" ]; then
			fail "$label" "the script did not exit 0 silently" "$out"
		elif [ "$want" = - ] && [ -n "$kmsg" ]; then
			fail "$label" "unexpected kmsg: $kmsg"
		elif [ "$want" != - ] && [ "$kmsg" != "<4>daxbus: $want" ]; then
			fail "$label" "kmsg is not: <4>daxbus: $want" "kmsg: $kmsg"
		elif [ "$helper" = ok ] && [ "$(cat "$dir/sbin/daxbus.args" 2>/dev/null)" != "$args" ]; then
			fail "$label" "helper called with: $(cat "$dir/sbin/daxbus.args" 2>/dev/null)" "wanted: $args"
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

# --- 2. the hook's opt-in logic, run by itself in the Debian root -------------
# It gets a DESTDIR holding initramfs-tools' script tree (ours included), as
# mkinitramfs prepares it, and must leave exactly our files there or none.

# shellcheck source=../harness/roots.sh
. "$T_TOP/tests/harness/roots.sh"
KVER=$ROOTS_KVER
root=$T_WORK/itools-root
# a copy of the initramfs-tools root, without the image the kernel's postinst built
if ! tree=$(root_variant itools) || ! root_copy "$tree" "$root" || ! rm -f "$root/boot/initrd.img-$KVER"; then
	fail "requirement: initramfs-tools root" "building $BOOT_CACHE/itools-root failed (see above)"
	t_done
	exit 1
fi
if ! make -s -C "$T_TOP" install DESTDIR="$root" prefix=/usr >"$T_WORK/itools-install.log" 2>&1; then
	fail "make install DESTDIR=<root> prefix=/usr" "$(tail -n 5 "$T_WORK/itools-install.log")"
	t_done
	exit 1
fi
pass "make install DESTDIR=<root> prefix=/usr"
HELPER_SHA=$(sha256sum <"$root/usr/sbin/daxbus" | cut -d' ' -f1)
OPTIN=$'# written by daxbus enable --initramfs: include daxbus in every initramfs\nDAXBUS=y\n'
DAXBUS_FILES="scripts/init-bottom/daxbus scripts/init-top/daxbus usr/sbin/daxbus"

# name | content of conf.d/daxbus (printf format; <none>: no file, <dir>: a
# directory, <nohelper>: opted in, helper not installed) | copied (yes/no)
HOOK_CASES=$(cat <<'TABLE'
no opt-in file | <none> | no
what daxbus enable --initramfs writes | <optin> | yes
DAXBUS=n | DAXBUS=n\n | no
commented out | # DAXBUS=y\n | no
last assignment wins (y, then n) | DAXBUS=y\nDAXBUS=n\n | no
last assignment wins (n, then y) | DAXBUS=n\nDAXBUS=y\n | yes
quoted | DAXBUS="y"\n | yes
indented | \tDAXBUS=y\n | yes
no final newline | DAXBUS=y | yes
yes is not y | DAXBUS=yes\n | no
empty file | | no
not sourced: command substitutions | $(touch /tmp/pwned)\n`touch /tmp/pwned`\nDAXBUS=y\n | yes
not sourced: a command after y | DAXBUS=y; touch /tmp/pwned\n | no
a directory | <dir> | no
opted in, helper not installed | <nohelper> | no
TABLE
)

while IFS='|' read -r name content want; do
	name=$(trim "$name"); content=$(trim "$content"); want=$(trim "$want")
	rm -rf "$root/tmp/hook" "$root/tmp/pwned"
	mkdir -p "$root/tmp/hook/dest/scripts" "$root/tmp/hook/conf/conf.d"
	# as mkinitramfs does before it runs the hooks
	cp -a "$root/usr/share/initramfs-tools/scripts/." "$root/tmp/hook/dest/scripts/"
	theirs=$(cd "$root/tmp/hook/dest" && find . -type f -o -type l | sed 's|^\./||' | grep -v '/daxbus$' | LC_ALL=C sort)
	moved=0
	case $content in
	"<none>") ;;
	"<dir>") mkdir "$root/tmp/hook/conf/conf.d/daxbus" ;;
	"<optin>") printf '%s' "$OPTIN" >"$root/tmp/hook/conf/conf.d/daxbus" ;;
	"<nohelper>")
		printf '%s' "$OPTIN" >"$root/tmp/hook/conf/conf.d/daxbus"
		mv "$root/usr/sbin/daxbus" "$root/tmp/daxbus.away" && moved=1
		;;
	*)
		# shellcheck disable=SC2059 # the table cell is the format
		printf "$content" >"$root/tmp/hook/conf/conf.d/daxbus"
		;;
	esac
	out=$(root_chroot "$root" DESTDIR=/tmp/hook/dest CONFDIR=/tmp/hook/conf verbose=n \
		/usr/share/initramfs-tools/hooks/daxbus 2>&1)
	rc=$?
	[ "$moved" = 1 ] && mv "$root/tmp/daxbus.away" "$root/usr/sbin/daxbus"
	# everything in DESTDIR now but initramfs-tools' own scripts
	got=$(cd "$root/tmp/hook/dest" && find . -type f -o -type l | sed 's|^\./||' | LC_ALL=C sort |
		comm -23 - <(printf '%s\n' "$theirs") | tr '\n' ' ')
	got=${got% }
	if [ "$want" = yes ]; then expect_files=$DAXBUS_FILES; else expect_files=""; fi
	if [ "$rc" != 0 ]; then
		fail "hook: $name" "exit status $rc" "$out"
	elif [ "$got" != "$expect_files" ]; then
		fail "hook: $name" "copied: ${got:-nothing}" "wanted: ${expect_files:-nothing}"
	elif [ -e "$root/tmp/pwned" ]; then
		fail "hook: $name" "the opt-in file was executed"
	elif [ "$want" = yes ] && { [ "$(sha256sum <"$root/tmp/hook/dest/usr/sbin/daxbus" | cut -d' ' -f1)" != "$HELPER_SHA" ] ||
		[ ! -x "$root/tmp/hook/dest/scripts/init-top/daxbus" ] || [ ! -x "$root/tmp/hook/dest/scripts/init-bottom/daxbus" ]; }; then
		fail "hook: $name" "the copies differ from the installed files or lost their mode"
	elif [ "$content" = "<nohelper>" ] && [[ $out != *"W: daxbus: /usr/sbin/daxbus is missing or not executable"* ]]; then
		fail "hook: $name" "no warning" "$out"
	elif [ "$content" != "<nohelper>" ] && [ -n "$out" ]; then
		fail "hook: $name" "unexpected output" "$out"
	else
		pass "hook: $name"
	fi
done <<<"$HOOK_CASES"
rm -rf "$root/tmp/hook"

# --- 3. real images: mkinitramfs in the root, inspected with lsinitramfs -----

# mkimage NAME OPTIN(y/n) [initramfs.conf line...]: builds /tmp/NAME.img in
# the root from a copy of its /etc/initramfs-tools (MODULES=list: fast, and
# the DAX modules do not matter here), unpacks it to $root/tmp/NAME.d and
# leaves the file list in $root/tmp/NAME.list.
mkimage() {
	local name=$1 optin=$2 conf=$root/tmp/$1.conf line
	shift 2
	rm -rf "$conf" "$root/tmp/$name".*
	cp -a "$root/etc/initramfs-tools" "$conf"
	rm -f "$conf/conf.d/daxbus"
	[ "$optin" = y ] && printf '%s' "$OPTIN" >"$conf/conf.d/daxbus"
	for line in MODULES=list "$@"; do
		echo "$line" >>"$conf/initramfs.conf"
	done
	root_chroot "$root" mkinitramfs -d "/tmp/$name.conf" -o "/tmp/$name.img" "$KVER" >"$root/tmp/$name.log" 2>&1 &&
		root_chroot "$root" lsinitramfs "/tmp/$name.img" >"$root/tmp/$name.list" 2>>"$root/tmp/$name.log" &&
		root_chroot "$root" unmkinitramfs "/tmp/$name.img" "/tmp/$name.d" 2>>"$root/tmp/$name.log"
}

# 0 when script $2 runs before script $3 by ORDER file $1
order_before() {
	local a b
	a=$(grep -n "/$2 " "$1" | cut -d: -f1 | head -n1)
	b=$(grep -n "/$3 " "$1" | cut -d: -f1 | head -n1)
	[ -n "$a" ] && [ -n "$b" ] && [ "$a" -lt "$b" ]
}

check_image() { # NAME LABEL
	local name=$1 label=$2 d=$root/tmp/$1.d f missing=""
	for f in $DAXBUS_FILES; do
		grep -qx "$f" "$root/tmp/$name.list" || missing="$missing $f"
	done
	if [ -n "$missing" ]; then fail "$label: daxbus files in the image" "missing:$missing"; else pass "$label: daxbus files in the image"; fi
	if cmp -s "$d/usr/sbin/daxbus" "$root/usr/sbin/daxbus" && ! readelf -d "$d/usr/sbin/daxbus" 2>/dev/null | grep -q NEEDED &&
		readelf -h "$d/usr/sbin/daxbus" >/dev/null 2>&1 && [ -x "$d/usr/sbin/daxbus" ]; then
		pass "$label: the installed static helper, executable"
	else
		fail "$label: the installed static helper, executable" "$(file "$d/usr/sbin/daxbus" 2>&1)"
	fi
	local step
	for step in init-top init-bottom; do
		if [ ! -f "$d/scripts/$step/udev" ]; then
			fail "$label: $step ORDER: daxbus before udev" "no scripts/$step/udev in the image"
		elif order_before "$d/scripts/$step/ORDER" daxbus udev; then
			pass "$label: $step ORDER: daxbus before udev"
		else
			fail "$label: $step ORDER: daxbus before udev" "$(grep -v param.conf "$d/scripts/$step/ORDER" | tr '\n' ' ')"
		fi
	done
}

if mkimage optin y && mkimage plain n && mkimage optin-klibc y BUSYBOX=n; then
	check_image optin "opted in"
	check_image optin-klibc "opted in, BUSYBOX=n"
	# klibc's sh really is the image's shell there
	if grep -q busybox "$root/tmp/optin-klibc.list"; then
		fail "BUSYBOX=n image has no busybox" "$(grep busybox "$root/tmp/optin-klibc.list" | head -n3)"
	else
		pass "BUSYBOX=n image has no busybox"
	fi
	if grep -q daxbus "$root/tmp/plain.list"; then
		fail "not opted in: nothing of daxbus in the image" "$(grep daxbus "$root/tmp/plain.list")"
	else
		pass "not opted in: nothing of daxbus in the image"
	fi
	# The opt-in adds exactly our files and their directories: no libraries.
	extra=$(comm -13 <(LC_ALL=C sort "$root/tmp/plain.list") <(LC_ALL=C sort "$root/tmp/optin.list") |
		grep -v -x -e usr/share -e usr/share/daxbus -e conf/conf.d/daxbus | tr '\n' ' ')
	if [ "${extra% }" = "$DAXBUS_FILES" ]; then
		pass "opt-in adds only the daxbus files (no libraries)"
	else
		fail "opt-in adds only the daxbus files (no libraries)" "added: $extra"
	fi
else
	fail "mkinitramfs images" "see $root/tmp/*.log" "$(tail -n 5 "$root"/tmp/*.log)"
fi

# --- 4. what mkinitramfs copies from the modprobe.d directories ---------------

# path in the root | how to make it | path in the image, or - for not copied
MODPROBE_CASES=$(cat <<'TABLE'
etc/modprobe.d/plain.conf | file | etc/modprobe.d/plain.conf
etc/modprobe.d/daxctl.conf | link /usr/share/daxbus/daxctl.conf | etc/modprobe.d/daxctl.conf
etc/modprobe.d/masked.conf | link /dev/null | -
etc/modprobe.d/notes.txt | file | -
etc/modprobe.d/.hidden.conf | file | -
usr/lib/modprobe.d/ulib.conf | file | usr/lib/modprobe.d/ulib.conf
run/modprobe.d/run.conf | file | -
usr/local/lib/modprobe.d/local.conf | file | -
TABLE
)
while IFS='|' read -r p how _; do
	p=$(trim "$p"); how=$(trim "$how")
	mkdir -p "$root/$(dirname "$p")"
	case $how in
	file) echo "options daxbus_test_${p//[^a-z]/_} x=1" >"$root/$p" ;;
	link*) ln -sfn "${how#link }" "$root/$p" ;;
	esac
done <<<"$MODPROBE_CASES"
if mkimage modprobe n; then
	list=$root/tmp/modprobe.list
	while IFS='|' read -r p how want; do
		p=$(trim "$p"); how=$(trim "$how"); want=$(trim "$want")
		label="modprobe.d: /$p ($how)"
		if [ "$want" = - ]; then
			if grep -q "/${p##*/}$" "$list"; then fail "$label: not copied" "$(grep "/${p##*/}$" "$list")"; else pass "$label: not copied"; fi
		elif ! grep -qx "$want" "$list"; then
			fail "$label: copied as /$want" "image has: $(grep "/${p##*/}$" "$list")"
		elif [[ $how = link* ]] && ! { [ -L "$root/tmp/modprobe.d/$want" ] &&
			[ "$(readlink -f "$root/tmp/modprobe.d/$want")" = "$root/tmp/modprobe.d${how#link }" ] &&
			[ -f "$root/tmp/modprobe.d${how#link }" ]; }; then
			fail "$label: copied as a link with its target" "$(ls -l "$root/tmp/modprobe.d/$want" 2>&1)"
		else
			pass "$label: copied as /$want"
		fi
	done <<<"$MODPROBE_CASES"
else
	fail "mkinitramfs with modprobe.d files" "$(tail -n 5 "$root/tmp/modprobe.log")"
fi

rm -rf "$root"
t_done
