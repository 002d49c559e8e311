#!/bin/bash
# Table-driven tests of daxbus enable/disable: each case builds a fresh fake
# root, runs the real binary, and compares the exit status, a piece of the
# message and the whole resulting tree.  The table runs twice: with openat2
# and with the component-walk resolver older kernels get.
set -uo pipefail
. "$(dirname "$0")/../lib/t.sh"
t_require unshare mount

# Setup words, applied in order to a fresh root (and $OUT, a sibling dir).
setup() {
	local root=$1 w
	shift
	for w in "$@"; do
		case $w in
		etc) mkdir -p "$root/etc" ;;
		modprobe) mkdir -p "$root/etc/modprobe.d" ;;
		policy) mkdir -p "$root/etc/modprobe.d"; cp "$POLICY_FILE" "$root/etc/modprobe.d/daxctl.conf" ;;
		policy-commented) mkdir -p "$root/etc/modprobe.d"
			{ echo "# opted in by hand"; sed 's/ /   /' "$POLICY_FILE"; echo; } >"$root/etc/modprobe.d/daxctl.conf" ;;
		daxlink) mkdir -p "$root/etc/modprobe.d" "$root/usr/share/daxctl"
			cp "$POLICY_FILE" "$root/usr/share/daxctl/daxctl.conf"
			ln -s /usr/share/daxctl/daxctl.conf "$root/etc/modprobe.d/daxctl.conf" ;;
		dangling) mkdir -p "$root/etc/modprobe.d"; ln -s /usr/share/daxctl/daxctl.conf "$root/etc/modprobe.d/daxctl.conf" ;;
		devnull) mkdir -p "$root/etc/modprobe.d"; ln -s /dev/null "$root/etc/modprobe.d/daxctl.conf" ;;
		foreign) mkdir -p "$root/etc/modprobe.d"; printf '%s' "$FOREIGN_TEXT" >"$root/etc/modprobe.d/daxctl.conf" ;;
		fifo) mkdir -p "$root/etc/modprobe.d"; mkfifo "$root/etc/modprobe.d/daxctl.conf" ;;
		dir) mkdir -p "$root/etc/modprobe.d/daxctl.conf" ;;
		escape) mkdir -p "$root/etc" "$OUT"; ln -s "$OUT" "$root/etc/modprobe.d" ;;
		escape-rel) mkdir -p "$root/etc" "$OUT"; ln -s ../../out "$root/etc/modprobe.d" ;;
		inroot-link) mkdir -p "$root/etc" "$root/usr/lib/modprobe.d"; ln -s /usr/lib/modprobe.d "$root/etc/modprobe.d" ;;
		inroot-link-missing) mkdir -p "$root/etc" "$root/usr"; ln -s /usr/lib/modprobe.d "$root/etc/modprobe.d" ;;
		inroot-link-rel-missing) mkdir -p "$root/etc" "$root/usr"; ln -s ../usr/lib/modprobe.d "$root/etc/modprobe.d" ;;
		inroot-link-top-missing) mkdir -p "$root/etc"; ln -s ../var/modprobe.d "$root/etc/modprobe.d" ;;
		inroot-link-last-missing) mkdir -p "$root/etc" "$root/usr"; ln -s /usr/modprobe.d "$root/etc/modprobe.d" ;;
		etc-is-root) ln -s / "$root/etc" ;;
		crlf) mkdir -p "$root/etc/modprobe.d"; sed 's/$/\r/' "$POLICY_FILE" >"$root/etc/modprobe.d/daxctl.conf" ;;
		comment-joins) mkdir -p "$root/etc/modprobe.d"
			printf 'blacklist dax_pmem_compat\n# opted in \\\nalias nd:t7* dax_pmem\n' >"$root/etc/modprobe.d/daxctl.conf" ;;
		nul-more) mkdir -p "$root/etc/modprobe.d"
			{ cat "$POLICY_FILE"; printf '\0\nblacklist dax_pmem\n'; } >"$root/etc/modprobe.d/daxctl.conf" ;;
		kmod-same) mkdir -p "$root/etc/modprobe.d"
			printf 'alias\tnd:t7*   dax-pmem ignored-word\nblacklist dax-pmem-compat\nbogus directive\n' >"$root/etc/modprobe.d/daxctl.conf" ;;
		stale-temp) mkdir -p "$root/etc/modprobe.d"; echo partial >"$root/etc/modprobe.d/.#daxctl.conf.daxbus" ;;
		stale-rm) mkdir -p "$root/etc/modprobe.d"; cp "$POLICY_FILE" "$root/etc/modprobe.d/.#daxctl.conf.daxbus-rm" ;;
		stale-rm-foreign) mkdir -p "$root/etc/modprobe.d"; printf '%s' "$FOREIGN_TEXT" >"$root/etc/modprobe.d/.#daxctl.conf.daxbus-rm" ;;
		mkinitramfs) mkdir -p "$root/usr/sbin"; : >"$root/usr/sbin/mkinitramfs" ;;
		dracut-bin) mkdir -p "$root/usr/bin"; : >"$root/usr/bin/dracut" ;;
		itools-dropin) mkdir -p "$root/etc/initramfs-tools/conf.d"; cp "$ITOOLS_DROPIN_FILE" "$root/etc/initramfs-tools/conf.d/daxbus" ;;
		run) mkdir -p "$root/run" ;;
		run-policy) mkdir -p "$root/run/modprobe.d"; cp "$POLICY_FILE" "$root/run/modprobe.d/daxctl.conf" ;;
		dropin) mkdir -p "$root/etc/dracut.conf.d"; cp "$DROPIN_FILE" "$root/etc/dracut.conf.d/daxbus.conf" ;;
		dropin-0.1) mkdir -p "$root/etc/dracut.conf.d"; cp "$T_TOP/dracut/daxbus-0.1.conf" "$root/etc/dracut.conf.d/daxbus.conf" ;;
		foreign-dropin) mkdir -p "$root/etc/dracut.conf.d"; echo 'add_dracutmodules+=" daxbus lvm "' >"$root/etc/dracut.conf.d/daxbus.conf" ;;
		*) echo "cli.sh: unknown setup word $w" >&2; return 1 ;;
		esac
	done
}

# name | setup | arguments (ROOT is replaced) | status | message part | tree after (";"-separated)
CASES=$(cat <<'TABLE'
fresh root | etc | enable --root ROOT | 0 | installed | etc d755;etc/modprobe.d d755;etc/modprobe.d/daxctl.conf f644 =policy
missing etc/modprobe.d | etc | enable -r ROOT | 0 | installed ROOT/etc/modprobe.d/daxctl.conf | etc d755;etc/modprobe.d d755;etc/modprobe.d/daxctl.conf f644 =policy
existing empty modprobe.d | modprobe | enable --root ROOT | 0 | installed | etc d755;etc/modprobe.d d755;etc/modprobe.d/daxctl.conf f644 =policy
identical file | policy | enable --root ROOT | 0 | already in place | etc d755;etc/modprobe.d d755;etc/modprobe.d/daxctl.conf f644 =policy
same policy, comments and spacing | policy-commented | enable --root ROOT | 0 | already in place | etc d755;etc/modprobe.d d755;etc/modprobe.d/daxctl.conf f644 =sha:397fc0ce5f64
daxctl-style symlink | daxlink | enable --root ROOT | 0 | already in place (link to /usr/share/daxctl/daxctl.conf) | etc d755;etc/modprobe.d d755;etc/modprobe.d/daxctl.conf l -> /usr/share/daxctl/daxctl.conf;usr d755;usr/share d755;usr/share/daxctl d755;usr/share/daxctl/daxctl.conf f644 =policy
dangling symlink is foreign | dangling | enable --root ROOT | 1 | is a link to /usr/share/daxctl/daxctl.conf, which is not the daxbus policy | etc d755;etc/modprobe.d d755;etc/modprobe.d/daxctl.conf l -> /usr/share/daxctl/daxctl.conf
/dev/null mask is foreign | devnull | enable --root ROOT | 1 | refusing to replace | etc d755;etc/modprobe.d d755;etc/modprobe.d/daxctl.conf l -> /dev/null
foreign content | foreign | enable --root ROOT | 1 | exists with other content; it belongs to the administrator | etc d755;etc/modprobe.d d755;etc/modprobe.d/daxctl.conf f644 =foreign
FIFO at the path does not block | fifo | enable --root ROOT | 1 | is not a regular file | etc d755;etc/modprobe.d d755;etc/modprobe.d/daxctl.conf p
directory at the path | dir | enable --root ROOT | 1 | is not a regular file | etc d755;etc/modprobe.d d755;etc/modprobe.d/daxctl.conf d755
modprobe.d links outside the root | escape | enable --root ROOT | 1 | failed to write ROOT/etc/modprobe.d/daxctl.conf | etc d755;etc/modprobe.d l -> OUT
modprobe.d links outside, relative | escape-rel | enable --root ROOT | 1 | failed to write | etc d755;etc/modprobe.d l -> ../../out
modprobe.d links inside the root | inroot-link | enable --root ROOT | 0 | installed | etc d755;etc/modprobe.d l -> /usr/lib/modprobe.d;usr d755;usr/lib d755;usr/lib/modprobe.d d755;usr/lib/modprobe.d/daxctl.conf f644 =policy
modprobe.d links to a directory not there yet | inroot-link-missing | enable --root ROOT | 0 | installed ROOT/usr/lib/modprobe.d/daxctl.conf | etc d755;etc/modprobe.d l -> /usr/lib/modprobe.d;usr d755;usr/lib d755;usr/lib/modprobe.d d755;usr/lib/modprobe.d/daxctl.conf f644 =policy
the same, a relative link | inroot-link-rel-missing | enable --root ROOT | 0 | installed ROOT/usr/lib/modprobe.d/daxctl.conf | etc d755;etc/modprobe.d l -> ../usr/lib/modprobe.d;usr d755;usr/lib d755;usr/lib/modprobe.d d755;usr/lib/modprobe.d/daxctl.conf f644 =policy
a link to a missing top-level directory | inroot-link-top-missing | enable --root ROOT | 1 | a symbolic link on its way leads to a directory directly beneath ROOT that does not exist | etc d755;etc/modprobe.d l -> ../var/modprobe.d
a link to a directory whose parent is there | inroot-link-last-missing | enable --root ROOT | 0 | installed ROOT/usr/modprobe.d/daxctl.conf | etc d755;etc/modprobe.d l -> /usr/modprobe.d;usr d755;usr/modprobe.d d755;usr/modprobe.d/daxctl.conf f644 =policy
etc links to the root: nothing made at its top | etc-is-root | enable --root ROOT | 1 | leads to a directory directly beneath ROOT that does not exist | etc l -> /
dry run through a link to a directory not there yet | inroot-link-missing | enable --root ROOT --dry-run | 0 | install the policy as ROOT/etc/modprobe.d/daxctl.conf | etc d755;etc/modprobe.d l -> /usr/lib/modprobe.d;usr d755
read-only target directory | modprobe | enable --root ROOT (ro etc/modprobe.d) | 1 | failed to write ROOT/etc/modprobe.d/daxctl.conf: Read-only file system | etc d755;etc/modprobe.d d755
root is not a system | | enable --root ROOT | 1 | ROOT/etc does not exist (is ROOT the root of a system?) | 
root does not exist | - | enable --root ROOT/nonexistent | 1 | root ROOT/nonexistent: No such file or directory | 
root is a file | etc | enable --root ROOT/etc/hostname (file) | 1 | Not a directory | etc d755;etc/hostname f644 =sha:e3b0c44298fc
runtime | run | enable --root ROOT --runtime | 0 | installed ROOT/run/modprobe.d/daxctl.conf | run d755;run/modprobe.d d755;run/modprobe.d/daxctl.conf f644 =policy
runtime leaves etc alone | etc run | enable --root ROOT --runtime | 0 | installed | etc d755;run d755;run/modprobe.d d755;run/modprobe.d/daxctl.conf f644 =policy
runtime already | run-policy | enable --root ROOT --runtime | 0 | already in place | run d755;run/modprobe.d d755;run/modprobe.d/daxctl.conf f644 =policy
dracut drop-in | etc | enable --root ROOT --dracut | 0 | installed ROOT/etc/dracut.conf.d/daxbus.conf | etc d755;etc/dracut.conf.d d755;etc/dracut.conf.d/daxbus.conf f644 =dropin;etc/modprobe.d d755;etc/modprobe.d/daxctl.conf f644 =policy
dracut drop-in already | policy dropin | enable --root ROOT --dracut | 0 | already in place | etc d755;etc/dracut.conf.d d755;etc/dracut.conf.d/daxbus.conf f644 =dropin;etc/modprobe.d d755;etc/modprobe.d/daxctl.conf f644 =policy
foreign drop-in writes nothing | etc foreign-dropin | enable --root ROOT --dracut | 1 | ROOT/etc/dracut.conf.d/daxbus.conf exists with other content | etc d755;etc/dracut.conf.d d755;etc/dracut.conf.d/daxbus.conf f644 =sha:855c3348c6e2
disable: ours | policy dropin | disable --root ROOT | 0 | removed ROOT/etc/modprobe.d/daxctl.conf | etc d755;etc/dracut.conf.d d755;etc/modprobe.d d755
disable: absent | etc | disable --root ROOT | 0 | not present | etc d755
disable: daxbus 0.1's drop-in is daxbus's too | policy dropin-0.1 | disable --root ROOT | 0 | removed ROOT/etc/dracut.conf.d/daxbus.conf | etc d755;etc/dracut.conf.d d755;etc/modprobe.d d755
status: daxbus 0.1's drop-in is the policy | policy dropin-0.1 | status --root ROOT | 0 | dracut drop-in: policy | etc d755;etc/dracut.conf.d d755;etc/dracut.conf.d/daxbus.conf f644 =sha:a4bc76b6a08a;etc/modprobe.d d755;etc/modprobe.d/daxctl.conf f644 =policy
disable: daxctl symlink | daxlink | disable --root ROOT | 0 | removed | etc d755;etc/modprobe.d d755;usr d755;usr/share d755;usr/share/daxctl d755;usr/share/daxctl/daxctl.conf f644 =policy
disable: foreign | foreign dropin | disable --root ROOT | 1 | refusing to remove | etc d755;etc/dracut.conf.d d755;etc/dracut.conf.d/daxbus.conf f644 =dropin;etc/modprobe.d d755;etc/modprobe.d/daxctl.conf f644 =foreign
disable: foreign drop-in | policy foreign-dropin | disable --root ROOT | 1 | refusing to remove | etc d755;etc/dracut.conf.d d755;etc/dracut.conf.d/daxbus.conf f644 =sha:855c3348c6e2;etc/modprobe.d d755;etc/modprobe.d/daxctl.conf f644 =policy
disable: FIFO | fifo | disable --root ROOT | 1 | is not a regular file | etc d755;etc/modprobe.d d755;etc/modprobe.d/daxctl.conf p
disable: runtime | policy run-policy | disable --root ROOT --runtime | 0 | removed ROOT/run/modprobe.d/daxctl.conf | etc d755;etc/modprobe.d d755;etc/modprobe.d/daxctl.conf f644 =policy;run d755;run/modprobe.d d755
disable: runtime absent | run | disable --root ROOT --runtime | 0 | not present | run d755
CRLF line ends are not the policy (kmod reads "dax_pmem\r") | crlf | enable --root ROOT | 1 | exists with other content | etc d755;etc/modprobe.d d755;etc/modprobe.d/daxctl.conf f644 =sha:SETUP
a comment ending in a backslash swallows the alias | comment-joins | enable --root ROOT | 1 | exists with other content | etc d755;etc/modprobe.d d755;etc/modprobe.d/daxctl.conf f644 =sha:SETUP
directives after a NUL byte count | nul-more | enable --root ROOT | 1 | exists with other content | etc d755;etc/modprobe.d d755;etc/modprobe.d/daxctl.conf f644 =sha:SETUP
disable keeps a file with directives after a NUL | nul-more | disable --root ROOT | 1 | refusing to remove | etc d755;etc/modprobe.d d755;etc/modprobe.d/daxctl.conf f644 =sha:SETUP
same directives as kmod reads them (tabs, dashes, extra words) | kmod-same | enable --root ROOT | 0 | already in place | etc d755;etc/modprobe.d d755;etc/modprobe.d/daxctl.conf f644 =sha:SETUP
disable: same directives, other text: the administrator's | policy-commented | disable --root ROOT | 1 | has the policy's directives but not daxbus's text | etc d755;etc/modprobe.d d755;etc/modprobe.d/daxctl.conf f644 =sha:397fc0ce5f64
runtime policy hidden by a foreign /etc file: refused | foreign run | enable --root ROOT --runtime | 1 | hides any runtime policy | etc d755;etc/modprobe.d d755;etc/modprobe.d/daxctl.conf f644 =foreign;run d755
runtime policy hidden by a /dev/null mask: refused | devnull run | enable --root ROOT --runtime | 1 | hides any runtime policy | etc d755;etc/modprobe.d d755;etc/modprobe.d/daxctl.conf l -> /dev/null;run d755
stale temporary of a killed run is replaced | stale-temp | enable --root ROOT | 0 | installed | etc d755;etc/modprobe.d d755;etc/modprobe.d/daxctl.conf f644 =policy
disable cleans a killed run's removal temporary | policy stale-rm | disable --root ROOT | 0 | removed ROOT/etc/modprobe.d/daxctl.conf | etc d755;etc/modprobe.d d755
disable keeps a removal temporary that is not ours | policy stale-rm-foreign | disable --root ROOT | 1 | that is not daxbus's is in the way | etc d755;etc/modprobe.d d755;etc/modprobe.d/.#daxctl.conf.daxbus-rm f644 =foreign;etc/modprobe.d/daxctl.conf f644 =policy
--initramfs without a generator: refused | etc | enable --root ROOT --initramfs | 1 | has neither dracut nor initramfs-tools | etc d755
--initramfs on an initramfs-tools root | etc mkinitramfs | enable --root ROOT --initramfs | 0 | initramfs generator of ROOT: initramfs-tools | etc d755;etc/initramfs-tools d755;etc/initramfs-tools/conf.d d755;etc/initramfs-tools/conf.d/daxbus f644 =itools;etc/modprobe.d d755;etc/modprobe.d/daxctl.conf f644 =policy;usr d755;usr/sbin d755;usr/sbin/mkinitramfs f644 =sha:e3b0c44298fc
--initramfs on a dracut root | etc dracut-bin | enable --root ROOT --initramfs | 0 | initramfs generator of ROOT: dracut | etc d755;etc/dracut.conf.d d755;etc/dracut.conf.d/daxbus.conf f644 =dropin;etc/modprobe.d d755;etc/modprobe.d/daxctl.conf f644 =policy;usr d755;usr/bin d755;usr/bin/dracut f644 =sha:e3b0c44298fc
disable --initramfs takes the initramfs-tools opt-in back | policy itools-dropin | disable --root ROOT --initramfs | 0 | removed ROOT/etc/initramfs-tools/conf.d/daxbus | etc d755;etc/initramfs-tools d755;etc/initramfs-tools/conf.d d755;etc/modprobe.d d755
usage: disable --runtime with --dracut | etc | disable --root ROOT --runtime --dracut | 2 | cannot be combined | etc d755
usage: -r without a value | etc | enable -r | 2 | -r needs a directory | etc d755
usage: no command | etc | | 2 | missing command | etc d755
usage: unknown command | etc | frobnicate --root ROOT | 2 | unknown command 'frobnicate' | etc d755
usage: option of another command | etc | enable --root ROOT --kver 5.10 | 2 | enable does not take --kver | etc d755
usage: stray argument | etc | enable --root ROOT extra | 2 | unexpected argument 'extra' | etc d755
usage: empty root | etc | enable --root= | 2 | --root needs a directory | etc d755
usage: bad --kver | etc | status --root ROOT --kver ../x | 2 | is not a kernel release | etc d755
usage: bad initrd step | etc | initrd sideways --root ROOT | 2 | unknown initrd step 'sideways' | etc d755
TABLE
)

run_case() {
	local name=$1 words=$2 args=$3 want_rc=$4 want_msg=$5 want_tree=$6 mode=$7
	local dir root rc out got want ro=
	dir=$(t_tmp cli)
	root=$dir/root
	OUT=$dir/out
	mkdir -p "$root"
	[ "$words" = "-" ] && words=
	# shellcheck disable=SC2086
	setup "$root" $words || { fail "$name [$mode]" "bad setup"; return; }
	case $args in
	*"(ro etc/modprobe.d)"*) ro=etc/modprobe.d; args=${args% (ro*} ;;
	*"(file)"*) : >"$root/etc/hostname"; args=${args% (file)} ;;
	esac
	args=${args//ROOT/$root}
	want_msg=${want_msg//ROOT/$root}
	want_tree=${want_tree//OUT/$OUT}
	# "=sha:SETUP": the file as the setup made it, which must be left unchanged
	[[ $want_tree == *=sha:SETUP* ]] &&
		want_tree=${want_tree//=sha:SETUP/$(content_ref "$root/etc/modprobe.d/daxctl.conf")}
	# shellcheck disable=SC2086
	if [ -n "$ro" ]; then
		out=$(unshare -m sh -c 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && shift && exec "$@"' \
			sh "$root/$ro" "$DAXBUS" $args 2>&1 </dev/null)
	else
		out=$(timeout 10 "$DAXBUS" $args 2>&1 </dev/null)
	fi
	rc=$?
	got=$(manifest "$root")
	want=$(tr ';' '\n' <<<"$want_tree" | sed '/^$/d')
	if [ "$rc" != "$want_rc" ]; then
		fail "$name [$mode]" "exit status $rc, expected $want_rc" "output: $out"
	elif [[ $out != *"$want_msg"* ]]; then
		fail "$name [$mode]" "output lacks: $want_msg" "output: $out"
	elif [ "$got" != "$want" ]; then
		fail "$name [$mode]" "tree differs (expected / got):" "$(diff <(echo "$want") <(echo "$got") | sed -n '2,$p' | tr '\n' ' ')"
	elif [ -d "$OUT" ] && [ -n "$(ls -A "$OUT")" ]; then
		fail "$name [$mode]" "wrote outside the root: $(ls -A "$OUT")"
	else
		pass "$name [$mode]"
	fi
	rm -rf "$dir"
}

for mode in openat2 walk; do
	if [ "$mode" = walk ]; then export DAXBUS_NO_OPENAT2=1; else unset DAXBUS_NO_OPENAT2; fi
	while IFS='|' read -r name words args rc msg tree; do
		run_case "$(trim "$name")" "$(trim "$words")" "$(trim "$args")" "$(trim "$rc")" "$(trim "$msg")" "$(trim "$tree")" "$mode"
	done <<<"$CASES"
done

# daxbus(8) names every option each command's --help lists: in the command's
# SYNOPSIS (long form, or the short one) and in OPTIONS.
man_src=$(sed 's/\\-/-/g' "$T_TOP/man/daxbus.8")
options_section=$(sed -n '/^\.SH OPTIONS/,/^\.SH /p' <<<"$man_src")
for verb in enable disable status migrate initrd; do
	synopsis=$(sed -n '/^\.SH SYNOPSIS/,/^\.SH /p' <<<"$man_src" | sed -n "/^\.B daxbus $verb\$/,/^\.br/p")
	missing=()
	while read -r short long; do
		[ "$long" = --help ] && continue
		grep -qF -- "$long" <<<"$options_section" || missing+=("$long (OPTIONS)")
		if ! grep -qF -- "$long" <<<"$synopsis" && { [ "$short" = - ] || ! grep -qE -- "$short( |\$)" <<<"$synopsis"; }; then
			missing+=("$long (SYNOPSIS)")
		fi
	done < <("$DAXBUS" "$verb" --help | sed -nE 's/^  (-[a-zA-Z]), (--[a-z-]+).*/\1 \2/p; s/^      (--[a-z-]+).*/- \1/p')
	if [ ${#missing[@]} -eq 0 ] && [ -n "$synopsis" ]; then
		pass "daxbus(8) names every option of $verb --help"
	else
		fail "daxbus(8) and $verb --help disagree" "${missing[*]:-no SYNOPSIS line for $verb}"
	fi
done

# bash completion (completion/daxbus): words typed -> what it offers
# (the program is the first word, as a user types it)
COMPCASES=$(cat <<'TABLE'
the commands | daxbus _ | enable disable status migrate initrd help
a command's prefix | daxbus mi | migrate
options without a command | daxbus - | --help --version
status's options, from its --help | daxbus status -- | --root --kver --json --quiet --verbose --help
after an option, still the options | daxbus migrate --dry-run --j | --json
the initramfs steps | daxbus initrd _ | early root
--log's values | daxbus initrd early --log _ | kmsg stderr
--root takes a directory | daxbus enable --root /proc/sel | /proc/self
an unknown command: nothing | daxbus frob -- |
TABLE
)
while IFS='|' read -r name words want; do
	name=$(trim "$name"); want=$(trim "$want")
	read -r -a w <<<"$(trim "$words")"
	w[0]=$DAXBUS
	[ "${w[-1]}" = _ ] && w[-1]=""
	# shellcheck disable=SC2016
	got=$(bash -c '. "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _daxbus; echo "${COMPREPLY[*]}"' \
		sh "$T_TOP/completion/daxbus" "${w[@]}" 2>&1)
	if [ "$got" = "$want" ]; then pass "completion: $name"; else fail "completion: $name" "got '$got', want '$want'"; fi
done <<<"$COMPCASES"
t_done
