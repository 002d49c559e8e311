#!/bin/bash
# libkmod cases against the real module indexes of Debian's kernels: what
# `daxbus status` says about the kernel kind and what nd:t7 loads must agree
# with modprobe itself (the oracle), with and without the policy.
set -uo pipefail
. "$(dirname "$0")/../lib/t.sh"
t_require modprobe python3

K510=${DAXBUS_K510:-5.10.0-32-amd64}
K61=${DAXBUS_K61:-6.1.0-50-amd64}


# What modprobe would insert last for nd:t7 (the driver itself), or "none".
oracle() {
	local root=$1 kver=$2 line
	line=$(modprobe -d "$root" -S "$kver" -C "$root/etc/modprobe.d" --show-depends nd:t7 2>/dev/null | tail -1)
	line=${line##*/}
	line=${line%% *}
	line=${line%.ko*}
	echo "${line:-none}"
}

# kernel | policy files (setup) | kind | nd:t7 loads | policy state
CASES=$(cat <<TABLE
$K510 | none | compat | dax_pmem_compat | absent
$K510 | policy | compat | dax_pmem | enabled
$K510 | blacklist-only | compat | none | foreign
$K510 | alias-only | compat | dax_pmem | foreign
$K510 | runtime | compat | dax_pmem | runtime
$K510 | masked-by-etc | compat | dax_pmem_compat | masked
$K510 | daxlink | compat | dax_pmem | enabled
$K61 | none | bus | dax_pmem | absent
$K61 | policy | bus | dax_pmem | enabled
TABLE
)

declare -A trees
for k in "$K510" "$K61"; do
	trees[$k]=$("$T_TOP/tools/fetch-kernel.sh" "$k") || { fail "fetch kernel $k" "tools/fetch-kernel.sh $k failed"; t_done; exit 1; }
done

while IFS='|' read -r kver setup kind loads state; do
	kver=$(trim "$kver"); setup=$(trim "$setup"); kind=$(trim "$kind"); loads=$(trim "$loads"); state=$(trim "$state")
	name="$kver, $setup"
	dir=$(t_tmp kmod)
	mkdir -p "$dir/lib/modules" "$dir/etc/modprobe.d" "$dir/run/modprobe.d" "$dir/usr/lib/modprobe.d"
	# a hard-link copy is cheap and keeps the cached tree pristine
	cp -al "${trees[$kver]}/lib/modules/$kver" "$dir/lib/modules/"
	case $setup in
	policy) cp "$POLICY_FILE" "$dir/etc/modprobe.d/daxctl.conf" ;;
	blacklist-only) echo "blacklist dax_pmem_compat" >"$dir/etc/modprobe.d/daxctl.conf" ;;
	alias-only) echo "alias nd:t7* dax_pmem" >"$dir/etc/modprobe.d/daxctl.conf" ;;
	runtime) cp "$POLICY_FILE" "$dir/run/modprobe.d/daxctl.conf" ;;
	masked-by-etc) cp "$POLICY_FILE" "$dir/usr/lib/modprobe.d/daxctl.conf"; ln -s /dev/null "$dir/etc/modprobe.d/daxctl.conf" ;;
	daxlink) mkdir -p "$dir/usr/share/daxctl"; cp "$POLICY_FILE" "$dir/usr/share/daxctl/daxctl.conf"
		ln -s /usr/share/daxctl/daxctl.conf "$dir/etc/modprobe.d/daxctl.conf" ;;
	esac
	js=$("$DAXBUS" status --root "$dir" --json 2>&1)
	rc=$?
	got_kind=$(json_get '["kernel"]["kind"]' <<<"$js" 2>/dev/null)
	got_loads=$(json_get '["resolution"]["modules"]' <<<"$js" 2>/dev/null | tr -d "[]'" | sed 's/^$/none/')
	got_state=$(json_get '["policy"]["state"]' <<<"$js" 2>/dev/null)
	got_rel=$(json_get '["kernel"]["release"]' <<<"$js" 2>/dev/null)
	# modprobe -C takes one directory; compare only where the policy lives in etc
	want_oracle=$loads
	case $setup in runtime | masked-by-etc | daxlink) want_oracle= ;; esac
	orc=$(oracle "$dir" "$kver")
	if [ "$rc" != 0 ]; then
		fail "$name" "status exit $rc: $js"
	elif [ "$got_kind" != "$kind" ] || [ "$got_loads" != "$loads" ] || [ "$got_state" != "$state" ] || [ "$got_rel" != "$kver" ]; then
		fail "$name" "kind=$got_kind loads=$got_loads state=$got_state release=$got_rel" "expected kind=$kind loads=$loads state=$state"
	elif [ -n "$want_oracle" ] && [ "$orc" != "$loads" ]; then
		fail "$name" "modprobe --show-depends says $orc, daxbus says $got_loads"
	else
		pass "$name: $kind kernel, nd:t7 -> $loads${want_oracle:+ (= modprobe)}"
	fi
	rm -rf "$dir"
done <<<"$CASES"

# The text form names the kind for people, and --kver picks one of several trees.
dir=$(t_tmp kmod)
mkdir -p "$dir/lib/modules" "$dir/etc"
cp -al "${trees[$K510]}/lib/modules/$K510" "${trees[$K61]}/lib/modules/$K61" "$dir/lib/modules/"
out=$("$DAXBUS" status --root "$dir" 2>&1)
if [[ $out == *"kernel: $K61"* && $out == *"kind:                  bus"* ]]; then
	pass "status without --kver picks the newest tree ($K61)"
else
	fail "status picks newest" "$out"
fi
out=$("$DAXBUS" status --root "$dir" --kver "$K510" 2>&1)
if [[ $out == *"compat (compat driver present: the policy is needed"* && $out == *"nd:t7 loads:           dax_pmem_compat"* ]]; then
	pass "status --kver $K510: compat kernel, loads dax_pmem_compat"
else
	fail "status --kver" "$out"
fi
out=$("$DAXBUS" status --root "$dir" --kver 9.9.9 2>&1)
rc=$?
if [ "$rc" = 1 ] && [[ $out == *"lib/modules/9.9.9: no such module tree"* ]]; then
	pass "status --kver of a missing tree fails naming it"
else
	fail "status --kver missing" "rc=$rc $out"
fi
rm -rf "$dir"

# An image that a dracut older than 052 built before this daxbus's module was
# installed: daxbus 0.1.0's units were never enabled in it; status says to
# rebuild it, and only then.
# name | the root's dracut sets SYSTEMCTL (y/n) | image older than the module (y/n/none) | opted in (y/n) | rebuild named (y/n)
STALE=$(cat <<'TABLE'
dracut 051, image older than the module, opted in | n | y | y | y
dracut 051, image newer than the module | n | n | y | n
dracut 051, no image | n | none | y | n
dracut 051, not opted in | n | y | n | n
dracut 059, image older than the module | y | y | y | n
TABLE
)
while IFS='|' read -r name sets older optin want; do
	name=$(trim "$name"); sets=$(trim "$sets"); older=$(trim "$older"); optin=$(trim "$optin"); want=$(trim "$want")
	dir=$(t_tmp kmod)
	mkdir -p "$dir/lib/modules" "$dir/usr/bin" "$dir/boot" "$dir/usr/lib/dracut/modules.d/50daxbus" "$dir/etc/dracut.conf.d"
	cp -al "${trees[$K510]}/lib/modules/$K510" "$dir/lib/modules/"
	{ echo '#!/bin/bash'; [ "$sets" = y ] && echo 'export SYSTEMCTL=${SYSTEMCTL:-systemctl}'; echo 'true'; } >"$dir/usr/bin/dracut"
	chmod 0755 "$dir/usr/bin/dracut"
	[ "$optin" = y ] && cp "$DROPIN_FILE" "$dir/etc/dracut.conf.d/daxbus.conf"
	# the module's ctime is its installation time; the image's mtime its build time
	case $older in
	y) : >"$dir/boot/initrd.img-$K510"; touch -d '2 days ago' "$dir/boot/initrd.img-$K510"
		: >"$dir/usr/lib/dracut/modules.d/50daxbus/module-setup.sh" ;;
	n) : >"$dir/usr/lib/dracut/modules.d/50daxbus/module-setup.sh"; sleep 0.01
		: >"$dir/boot/initrd.img-$K510"; touch -d '1 hour' "$dir/boot/initrd.img-$K510" ;;
	none) : >"$dir/usr/lib/dracut/modules.d/50daxbus/module-setup.sh" ;;
	esac
	out=$("$DAXBUS" status --root "$dir" --kver "$K510" 2>&1)
	rc=$?
	js=$("$DAXBUS" status --root "$dir" --kver "$K510" --json 2>/dev/null)
	img=$(json_get '["initramfs"]["dracut_image_to_rebuild"]' <<<"$js" 2>/dev/null)
	if [ "$rc" != 0 ]; then
		fail "status, $name" "exit $rc" "$out"
	elif [ "$want" = y ] && { [[ $out != *"rebuild /boot/initrd.img-$K510 (dracut -f --kver $K510)"* ]] || [ "$img" != "/boot/initrd.img-$K510" ]; }; then
		fail "status, $name: names the image to rebuild" "json: $img" "$out"
	elif [ "$want" = n ] && { [[ $out == *"rebuild "* ]] || [ "$img" != None ]; }; then
		fail "status, $name: no rebuild" "json: $img" "$out"
	else
		pass "status, $name: $([ "$want" = y ] && echo "says to rebuild the image" || echo "nothing to rebuild")"
	fi
	rm -rf "$dir"
done <<<"$STALE"

# Module trees nobody should trust: status never hangs, never reads outside
# the root, and says when the index cannot be used instead of answering
# confidently: the report exits 0 (it was printed) and says "unknown" and
# why; the quiet form, which must answer, exits 1 (cannot tell).
# name | setup | exit of status -q | message part (or kind=...)
HOSTILE=$(cat <<'TABLE'
FIFO in place of modules.dep.bin | fifo-dep | 1 | module index of
FIFO in place of modules.symbols.bin | fifo-symbols | 1 | not a regular file
index file is an absolute symlink (to the host's) | abs-link-index | 1 | not a regular file
empty index files | empty-index | 1 | module index missing, empty or corrupt
tree is an absolute symlink resolved inside the root | inroot-tree-link | 0 | kind=compat
tree is an absolute symlink to nothing inside the root (the host has it) | host-tree-link | 1 | no such module tree
TABLE
)
while IFS='|' read -r name setup want_rc want; do
	name=$(trim "$name"); setup=$(trim "$setup"); want_rc=$(trim "$want_rc"); want=$(trim "$want")
	dir=$(t_tmp kmod)
	mkdir -p "$dir/lib/modules" "$dir/etc"
	tree=$dir/lib/modules/$K510
	cp -al "${trees[$K510]}/lib/modules/$K510" "$tree"
	case $setup in
	fifo-dep) rm -f "$tree/modules.dep.bin"; mkfifo "$tree/modules.dep.bin" ;;
	fifo-symbols) rm -f "$tree/modules.symbols.bin"; mkfifo "$tree/modules.symbols.bin" ;;
	abs-link-index) rm -f "$tree/modules.alias.bin"; ln -s "${trees[$K510]}/lib/modules/$K510/modules.alias.bin" "$tree/modules.alias.bin" ;;
	empty-index) for f in "$tree"/modules.*.bin; do rm -f "$f"; : >"$f"; done ;;
	inroot-tree-link) mkdir -p "$dir/opt"; mv "$tree" "$dir/opt/tree"; ln -s /opt/tree "$tree" ;;
	host-tree-link) rm -rf "$tree"; ln -s "${trees[$K510]}/lib/modules/$K510" "$tree" ;;
	esac
	out=$(timeout 20 "$DAXBUS" status --root "$dir" --kver "$K510" --json 2>&1)
	rc=$?
	kind=$(json_get '["kernel"]["kind"]' <<<"$(grep '^{' <<<"$out")" 2>/dev/null)
	qout=$(timeout 20 "$DAXBUS" status -q --root "$dir" --kver "$K510" 2>&1)
	qrc=$?
	[ "$want_rc" = 0 ] && want_q=3 || want_q=1 # a usable tree without policy: not enabled
	[ "$want_rc" = 1 ] && [ "$setup" = host-tree-link ] && want_q=1
	if [ "$rc" = 124 ] || [ "$qrc" = 124 ]; then
		fail "$name" "status hung (killed after 20 s)"
	elif [ "$setup" = host-tree-link ] && [ "$rc" != 1 ]; then
		fail "$name" "exit $rc, expected 1 (--kver names a tree the root does not have)" "$out"
	elif [ "$setup" != host-tree-link ] && [ "$rc" != 0 ]; then
		fail "$name" "the report exited $rc, expected 0" "$out"
	elif [ "$qrc" != "$want_q" ]; then
		fail "$name" "status -q exited $qrc, expected $want_q" "$qout"
	elif [[ $want == kind=* ]] && [ "kind=$kind" != "$want" ]; then
		fail "$name" "kind=$kind, expected $want" "$out"
	elif [[ $want != kind=* ]] && [[ $out != *"$want"* ]]; then
		fail "$name" "output lacks: $want" "$out"
	else
		pass "hostile tree: $name"
	fi
	rm -rf "$dir"
done <<<"$HOSTILE"

# Corrupt indexes: a few bytes of real depmod output flipped.  kmod 30 crashed
# or grew without bound on some of these; daxbus isolates libkmod, so every
# run must end by itself within its limits, with 0 or 1, never a signal.
n=${KMOD_CORRUPT_TRIES:-20}
bad=0
why=()
for ((i = 1; i <= n; i++)); do
	dir=$(t_tmp kmod)
	mkdir -p "$dir/lib/modules" "$dir/etc"
	tree=$dir/lib/modules/$K510
	cp -al "${trees[$K510]}/lib/modules/$K510" "$tree"
	for f in modules.dep.bin modules.alias.bin modules.symbols.bin; do
		cp --remove-destination "${trees[$K510]}/lib/modules/$K510/$f" "$tree/$f"
		size=$(stat -c %s "$tree/$f")
		for ((j = 0; j < 4; j++)); do
			printf '%b' "\\x$(printf %02x $((RANDOM % 256)))" |
				dd of="$tree/$f" bs=1 seek=$(( (RANDOM * 32768 + RANDOM) % size )) conv=notrunc status=none
		done
	done
	timeout 30 "$DAXBUS" status --root "$dir" --kver "$K510" >/dev/null 2>&1
	rc=$?
	if [ "$rc" != 0 ] && [ "$rc" != 1 ]; then
		bad=$((bad + 1))
		why+=("try $i: exit $rc")
	fi
	rm -rf "$dir"
done
if [ "$bad" = 0 ]; then
	pass "corrupt indexes: $n trees with flipped bytes, every status ended with 0 or 1"
else
	fail "corrupt indexes: $bad of $n ended badly" "${why[@]}"
fi
t_done
