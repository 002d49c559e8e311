#!/bin/bash
# daxbus's judgements of files agree with the programs that act on them.
#   - "Is this daxctl.conf the policy" against the real modprobe -c of kmod
#     28 (Debian 11), 30 (Debian 12, this machine) and 34 (Debian 13), each
#     in a root of its own release: where they read a file differently, it
#     is the policy only if every one of them reads the policy from it.
#   - The dracut drop-in as dracut reads it (it sources the file: the words
#     add_dracutmodules then holds), the initramfs-tools drop-in as daxbus's
#     hook reads it (its own daxbus_opted_in function), for daxbus status.
set -uo pipefail
. "$(dirname "$0")/../lib/t.sh"
# shellcheck source=../harness/roots.sh
. "$(dirname "$0")/../harness/roots.sh"
t_require modprobe python3 unshare chroot

work=$(t_tmp judgements)

# --- kmod --------------------------------------------------------------------------

# The roots whose modprobe reads the files, by kmod version.
declare -A KMOD_ROOT=()
for v in 28:dracut051 34:dracut106; do
	if tree=$(root_variant "${v#*:}" 2>/dev/null); then
		KMOD_ROOT[${v%%:*}]=$tree
	else
		fail "kmod ${v%%:*}: the Debian root with it (root_variant ${v#*:})" "see build/boot/cache/root-${v#*:}.log"
	fi
done
got=$(modprobe --version | grep -o 'kmod version [0-9]*' | grep -o '[0-9]*$')
[ "$got" = 30 ] || fail "kmod 30 on this machine" "modprobe says kmod $got"
for k in "${!KMOD_ROOT[@]}"; do
	got=$(root_chroot "${KMOD_ROOT[$k]}" modprobe --version 2>/dev/null | grep -o 'kmod version [0-9]*' | grep -o '[0-9]*$')
	[ "$got" = "$k" ] || fail "kmod $k in ${KMOD_ROOT[$k]}" "its modprobe says kmod ${got:-nothing}"
done

# read_with KMOD DIR: the directives kmod version KMOD takes from DIR (a
# modprobe.d directory), as a set (a line twice means what it means once);
# what /proc/cmdline adds is the same for every call and is taken away by
# comparing with an empty directory.
read_with() {
	local k=$1 dir=$2 root
	if [ "$k" = 30 ]; then
		modprobe -C "$dir" -d "$work/none" -S 0 -c 2>/dev/null | sed '/^# End of configuration files/q' | grep -av '^#' | LC_ALL=C sort -u
		return
	fi
	root=${KMOD_ROOT[$k]}
	rm -rf "$root.kmod-input" 2>/dev/null
	# the input goes into the root for the chroot's modprobe
	mkdir -p "$root/tmp/judge" && cp -a "$dir/." "$root/tmp/judge/" || return 1
	root_chroot "$root" modprobe -C /tmp/judge -d /tmp/none -S 0 -c 2>/dev/null | sed '/^# End of configuration files/q' |
		grep -av '^#' | LC_ALL=C sort -u
	rm -rf "$root/tmp/judge"
}

# A private copy of each root, so nothing is written into the cached trees.
for k in "${!KMOD_ROOT[@]}"; do
	root_copy "${KMOD_ROOT[$k]}" "$work/root-$k" && KMOD_ROOT[$k]=$work/root-$k
done
mkdir -p "$work/none" "$work/empty" "$work/policy"
cp "$POLICY_FILE" "$work/policy/daxctl.conf"
declare -A BASE=() WANT=()
for k in 28 30 34; do
	[ "$k" = 30 ] || [ -n "${KMOD_ROOT[$k]-}" ] || continue
	BASE[$k]=$(read_with "$k" "$work/empty")
	WANT[$k]=$(comm -13 <(echo "${BASE[$k]}") <(read_with "$k" "$work/policy"))
	[ -n "${WANT[$k]}" ] || fail "kmod $k reads the policy file" "modprobe -c shows nothing for it"
done

# name | the file (printf format)
FILES=$(cat <<'TABLE'
the policy | blacklist dax_pmem_compat\nalias nd:t7* dax_pmem\n
no newline at the end | blacklist dax_pmem_compat\nalias nd:t7* dax_pmem
a backslash at the very end | blacklist dax_pmem_compat\nalias nd:t7* dax_pmem\\
a backslash and a newline at the end | blacklist dax_pmem_compat\nalias nd:t7* dax_pmem\\\n
weakdep (kmod 33 and later) | blacklist dax_pmem_compat\nalias nd:t7* dax_pmem\nweakdep dax_pmem device_dax\n
softdep | blacklist dax_pmem_compat\nalias nd:t7* dax_pmem\nsoftdep dax_pmem pre: device_dax\n
CRLF | blacklist dax_pmem_compat\r\nalias nd:t7* dax_pmem\r\n
tabs, dashes, extra words | alias\tnd:t7*   dax-pmem ignored\nblacklist dax-pmem-compat\n
a comment joins the next line | blacklist dax_pmem_compat\n# note \\\nalias nd:t7* dax_pmem\n
a NUL byte ends its line only | blacklist dax_pmem_compat\0 trailing\nalias nd:t7* dax_pmem\n
directives after a NUL | blacklist dax_pmem_compat\nalias nd:t7* dax_pmem\0\nblacklist dax_pmem\n
a backslash inside a word | blacklist dax_pmem\\_compat\nalias nd:t7* dax_pmem\n
a bracket range | blacklist dax_pmem_compat\nalias nd:t[7]* dax_pmem\n
unknown directive and include | blacklist dax_pmem_compat\nalias nd:t7* dax_pmem\nfrobnicate x\ninclude /etc/foo\n
the same line twice | blacklist dax_pmem_compat\nblacklist dax_pmem_compat\nalias nd:t7* dax_pmem\n
blacklist alone | blacklist dax_pmem_compat\n
alias alone | alias nd:t7* dax_pmem\n
an options line more | blacklist dax_pmem_compat\nalias nd:t7* dax_pmem\noptions dax_pmem x=1\n
empty | 
TABLE
)

disagree=()
while IFS='|' read -r name fmt; do
	name=$(trim "$name")
	fmt=$(trim "$fmt")
	d=$work/in
	rm -rf "$d" "$work/r"
	mkdir -p "$d" "$work/r/etc/modprobe.d"
	# shellcheck disable=SC2059 # the table cell is the format
	printf "$fmt" >"$d/daxctl.conf"
	cp "$d/daxctl.conf" "$work/r/etc/modprobe.d/daxctl.conf"
	all=yes
	says=""
	for k in 28 30 34; do
		[ -n "${WANT[$k]-}" ] || continue
		if [ "$(comm -13 <(echo "${BASE[$k]}") <(read_with "$k" "$d"))" = "${WANT[$k]}" ]; then
			says+=" $k:policy"
		else
			says+=" $k:other"
			all=no
		fi
	done
	[[ $says == *policy* && $says == *other* ]] && disagree+=("$name ($says )")
	js=$("$DAXBUS" status --root "$work/r" --json 2>/dev/null)
	ours=$(json_get '["policy"]["files"][0]["is_policy"]' <<<"$js" 2>/dev/null)
	[ "$ours" = True ] && ours=yes || ours=no
	if [ "$ours" = "$all" ]; then
		pass "kmod: $name: daxbus says $([ "$ours" = yes ] && echo policy || echo 'not the policy') (kmod$says)"
	else
		fail "kmod: $name" "daxbus says policy=$ours, kmod$says (the policy only if every version reads it)"
	fi
done <<<"$FILES"
# The inputs the versions read differently are listed in daxbus(8).
for d in "${disagree[@]}"; do
	echo "# kmod versions disagree: $d"
done
if [ ${#disagree[@]} -ge 2 ]; then
	pass "kmod 28, 30 and 34 disagree on ${#disagree[@]} of the inputs (listed above and in daxbus(8))"
else
	fail "the versions' differences are covered" "only ${#disagree[@]} input(s) read differently: a version missing?"
fi

# --- the drop-ins ----------------------------------------------------------------

# dracut sources a drop-in: the words add_dracutmodules holds then, and
# "+NAME" for each other variable the file set or changed.
dracut_reads() {
	# shellcheck disable=SC2016 # expanded by the inner shell
	env -i bash -c '
		dracutbasedir=$1 add_dracutmodules=""
		before=$(declare -p | grep -v "^declare -[-a-zA-Z]* \(BASH_\|FUNCNAME\|PIPESTATUS\|_=\)")
		. "$2" >/dev/null 2>&1
		after=$(declare -p | grep -v "^declare -[-a-zA-Z]* \(BASH_\|FUNCNAME\|PIPESTATUS\|_=\)")
		echo $add_dracutmodules $(comm -13 <(echo "$before" | sort) <(echo "$after" | sort) |
			sed -n "s/^declare -[-a-zA-Z]* \([A-Za-z_][A-Za-z_0-9]*\)=.*/+\1/p" | grep -vx "+add_dracutmodules\|+before")
	' bash "$2" "$1"
}
# the hook's own daxbus_opted_in
itools_reads() {
	# shellcheck disable=SC2016 # expanded by the inner shell
	sh -c 'eval "$(sed -n "/^daxbus_opted_in()/,/^}/p" "$1")"; daxbus_opted_in "$2" && echo y || echo n' \
		sh "$T_TOP/initramfs-tools/hooks/daxbus" "$1"
}
mkdir -p "$work/dracut-with/modules.d/50daxbus" "$work/dracut-without/modules.d"

# name | file (printf format) | status says
DRACUT=$(cat <<'TABLE'
daxbus's drop-in | <current> | policy
0.1's drop-in | <0.1> | policy
the line alone | add_dracutmodules+=" daxbus "\n | policy-equivalent
single quotes, more blanks | # mine\n  add_dracutmodules+='  daxbus  '\n | policy-equivalent
daxbus and another module | add_dracutmodules+=" daxbus lvm "\n | foreign
another module | add_dracutmodules+=" lvm "\n | foreign
a command besides | add_dracutmodules+=" daxbus "\nhostonly=yes\n | foreign
only comments | # nothing\n | foreign
TABLE
)
while IFS='|' read -r name fmt want; do
	name=$(trim "$name") fmt=$(trim "$fmt") want=$(trim "$want")
	r=$work/dr
	rm -rf "$r"
	mkdir -p "$r/etc/dracut.conf.d"
	case $fmt in
	"<current>") cp "$T_TOP/dracut/daxbus.conf" "$r/etc/dracut.conf.d/daxbus.conf" ;;
	"<0.1>") cp "$T_TOP/dracut/daxbus-0.1.conf" "$r/etc/dracut.conf.d/daxbus.conf" ;;
	*)
		# shellcheck disable=SC2059 # the table cell is the format
		printf "$fmt" >"$r/etc/dracut.conf.d/daxbus.conf"
		;;
	esac
	reads=$(dracut_reads "$r/etc/dracut.conf.d/daxbus.conf" "$work/dracut-with")
	[ "$reads" = daxbus ] && dracut_says=policy || dracut_says=foreign
	got=$(json_get '["initramfs"]["dracut_opt_in"]' <<<"$("$DAXBUS" status --root "$r" --json 2>/dev/null)" 2>/dev/null)
	if [ "$got" != "$want" ]; then
		fail "dracut drop-in: $name" "status says $got, want $want (dracut reads: '$reads')"
	elif [ "${got%-equivalent}" != "$dracut_says" ]; then
		fail "dracut drop-in: $name" "status says $got, dracut reads '$reads'"
	else
		pass "dracut drop-in: $name: status says $got, dracut reads '$reads'"
	fi
done <<<"$DRACUT"
# Left behind by a removed daxbus: asks for nothing, so dracut still builds.
reads=$(dracut_reads "$T_TOP/dracut/daxbus.conf" "$work/dracut-without")
if [ -z "$reads" ] && [ "$(dracut_reads "$T_TOP/dracut/daxbus.conf" "$work/dracut-with")" = daxbus ]; then
	pass "dracut drop-in: asks for daxbus with the module under \$dracutbasedir, for nothing without"
else
	fail "dracut drop-in without the module" "dracut reads '$reads'"
fi

# name | file (printf format) | status says
ITOOLS=$(cat <<'TABLE'
daxbus's opt-in | <current> | policy
plain DAXBUS=y | DAXBUS=y\n | policy-equivalent
quoted, indented | \tDAXBUS="y"\n | policy-equivalent
the last one wins | DAXBUS=y\nDAXBUS=n\n | foreign
yes is not y | DAXBUS=yes\n | foreign
TABLE
)
while IFS='|' read -r name fmt want; do
	name=$(trim "$name") fmt=$(trim "$fmt") want=$(trim "$want")
	r=$work/it
	rm -rf "$r"
	mkdir -p "$r/etc/initramfs-tools/conf.d"
	if [ "$fmt" = "<current>" ]; then
		cp "$ITOOLS_DROPIN_FILE" "$r/etc/initramfs-tools/conf.d/daxbus"
	else
		# shellcheck disable=SC2059 # the table cell is the format
		printf "$fmt" >"$r/etc/initramfs-tools/conf.d/daxbus"
	fi
	hook=$(itools_reads "$r/etc/initramfs-tools/conf.d/daxbus")
	[ "$hook" = y ] && hook_says=policy || hook_says=foreign
	got=$(json_get '["initramfs"]["initramfs_tools_opt_in"]' <<<"$("$DAXBUS" status --root "$r" --json 2>/dev/null)" 2>/dev/null)
	if [ "$got" = "$want" ] && [ "${got%-equivalent}" = "$hook_says" ]; then
		pass "initramfs-tools opt-in: $name: status says $got, the hook says $hook"
	else
		fail "initramfs-tools opt-in: $name" "status says $got, want $want; the hook says $hook"
	fi
done <<<"$ITOOLS"

rm -rf "$work"
t_done
