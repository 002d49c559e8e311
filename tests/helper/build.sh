#!/bin/bash
# The build's promises: a static, stripped binary with no NEEDED entries,
# the policy compiled in from modprobe.d/daxctl.conf, clean shell sources
# (shellcheck; POSIX sh for the hooks dracut sources).
set -uo pipefail
. "$(dirname "$0")/../lib/t.sh"
t_require readelf shellcheck file

dyn=$(readelf -d "$DAXBUS" 2>&1)
if ! grep -q NEEDED <<<"$dyn" && file "$DAXBUS" | grep -q 'statically linked'; then
	pass "build/daxbus is static, no NEEDED entries"
else
	fail "static binary" "$(file "$DAXBUS")" "$dyn"
fi
if ! readelf -S "$DAXBUS" | grep -E '\.symtab|\.debug' >/dev/null; then pass "build/daxbus is stripped"; else fail "stripped" "has .symtab/.debug"; fi

# The policy inside the binary is the file's text, not a second copy.
dir=$(t_tmp build)
mkdir -p "$dir/etc"
"$DAXBUS" enable --root "$dir" 2>/dev/null
if cmp -s "$dir/etc/modprobe.d/daxctl.conf" "$POLICY_FILE"; then pass "policy compiled from modprobe.d/daxctl.conf"; else fail "policy text" "differs"; fi
rm -rf "$dir"
if [ "$(grep -rlF 'alias nd:t7' "$T_TOP/helper" "$T_TOP/dracut" 2>/dev/null)" = "" ]; then
	pass "no hand-typed copy of the policy in helper/ or dracut/"
else
	fail "single source" "$(grep -rlF 'alias nd:t7' "$T_TOP/helper" "$T_TOP/dracut")"
fi

out=$("$DAXBUS" --help); rc=$?
if [ $rc = 0 ] && [[ $out == Usage:* ]]; then pass "--help: usage on stdout, exit 0"; else fail "--help" "rc=$rc"; fi
out=$("$DAXBUS" --version); rc=$?
if [ $rc = 0 ] && [[ $out == "daxbus "[0-9]* ]]; then pass "--version"; else fail "--version" "rc=$rc $out"; fi
# The second line names the kmod that libkmod.sh built, as it recorded it.
info=$(dirname "$DAXBUS")/libkmod/source.info
if [ -f "$info" ]; then
	is "--version names the linked libkmod's kmod release and source row" "$(sed -n 2p <<<"$out")" \
		"libkmod $(sed -n 's/^kmod_version=//p' "$info") ($(sed -n 's/^name=//p' "$info")), musl"
else
	fail "--version: the build's record of its kmod" "no $info"
fi

cd "$T_TOP" || exit 1
# the same lists `make syncheck` uses (tools/shell-files.sh)
mapfile -t bash_files < <(tools/shell-files.sh bash)
mapfile -t sh_files < <(tools/shell-files.sh sh)
if [ ${#bash_files[@]} -gt 10 ] && out=$(shellcheck -x "${bash_files[@]}" 2>&1); then
	pass "shellcheck: ${#bash_files[@]} bash scripts (tools, tests, bench, module-setup.sh)"
else
	fail "shellcheck" "$(head -20 <<<"$out")"
fi
ok=1
why=()
for h in "${sh_files[@]}"; do
	shellcheck -s sh "$h" >/dev/null 2>&1 || { ok=0; why+=("shellcheck -s sh $h"); }
	bash --posix -n "$h" 2>/dev/null || { ok=0; why+=("bash --posix -n $h"); }
	dash -n "$h" 2>/dev/null || { ok=0; why+=("dash -n $h"); }
done
for h in dracut/50daxbus/*-hook.sh; do
	grep -qE '^[^#]*\bexit\b' "$h" && { ok=0; why+=("$h uses exit (dracut sources it)"); }
done
if [ $ok = 1 ] && [ ${#sh_files[@]} -ge 2 ]; then
	pass "initramfs scripts: POSIX sh (${#sh_files[@]} files), dracut hooks never exit"
else
	fail "initramfs scripts" "${why[@]}"
fi
t_done
