#!/bin/bash
# The shell-init hooks are sourced by dracut's init: whatever the helper does
# (missing, crashing, failing, hanging on nothing), they must return 0, leave
# the sourcing shell running, and say what happened in the kernel log.
# Each case runs in a private mount namespace where /usr/sbin holds only the
# fake helper and /dev/kmsg is a plain file we can read back.
set -uo pipefail
. "$(dirname "$0")/../lib/t.sh"
t_require unshare mount dash

HOOKS=$T_TOP/dracut/50daxbus

# name | hook | helper (missing, crash, fail, ok) | expected kmsg part (or -)
CASES=$(cat <<'TABLE'
early hook, helper missing | daxbus-early-hook.sh | missing | /usr/sbin/daxbus is missing from the initramfs; boot continues
early hook, helper crashes | daxbus-early-hook.sh | crash | helper failed (status 139); boot continues without the runtime policy
early hook, helper fails | daxbus-early-hook.sh | fail | -
early hook, helper works | daxbus-early-hook.sh | ok | -
root hook, helper missing | daxbus-root-hook.sh | missing | /usr/sbin/daxbus is missing from the initramfs; boot continues
root hook, helper crashes | daxbus-root-hook.sh | crash | helper failed (status 139); root left as it was
root hook, helper fails | daxbus-root-hook.sh | fail | -
TABLE
)

while IFS='|' read -r name hook helper want; do
	name=$(trim "$name"); hook=$(trim "$hook"); helper=$(trim "$helper"); want=$(trim "$want")
	for sh in dash "bash --posix"; do
		dir=$(t_tmp hooks)
		mkdir -p "$dir/sbin"
		: >"$dir/kmsg"
		fake_helper "$dir/sbin/daxbus" "$helper"
		# shellcheck disable=SC2016
		out=$(unshare -m sh -c '
			mount --bind "$1/sbin" /usr/sbin && mount --bind "$1/kmsg" /dev/kmsg || exit 99
			exec '"$sh"' -c ". \"\$0\"; echo \"returned=\$?\"; echo still-running" "$2"
		' sh "$dir" "$HOOKS/$hook" 2>&1)
		kmsg=$(cat "$dir/kmsg")
		if [[ $out != *"returned=0"*"still-running"* ]]; then
			fail "$name [$sh]" "the hook did not return 0 to a running shell" "$out"
		elif [ "$want" = - ] && [ -n "$kmsg" ]; then
			fail "$name [$sh]" "unexpected kmsg: $kmsg"
		elif [ "$want" != - ] && [[ $kmsg != *"daxbus: $want"* ]]; then
			fail "$name [$sh]" "kmsg lacks: $want" "kmsg: $kmsg"
		elif [ "$helper" = ok ] && [ "$(cat "$dir/sbin/daxbus.args" 2>/dev/null)" != "initrd early" ]; then
			fail "$name [$sh]" "helper called with: $(cat "$dir/sbin/daxbus.args" 2>/dev/null)"
		else
			pass "$name [$sh]"
		fi
		rm -rf "$dir"
	done
done <<<"$CASES"

# The hostonly branch of module-setup.sh adds the DAX drivers only on a
# machine with a devdax namespace: every libnvdimm region also has an idle
# seed dax device (namespace empty), which is no reason to.  Its question,
# asked of fake /sys trees through dracut's $dracutsysrootdir.
# name | nd dax devices: NAME=NAMESPACE (empty: a seed), ... | has one (0/1)
NDCASES=$(cat <<'TABLE'
no nd dax device | | 1
an idle seed only | dax0.0= | 1
the seed and an active device | dax0.0= dax0.1=namespace0.0 | 0
a seed whose namespace reads "none" | dax0.0=none | 1
two regions, one active device | dax0.0= dax1.0= dax1.1=namespace1.0 | 0
TABLE
)
while IFS='|' read -r name devs want; do
	name=$(trim "$name"); want=$(trim "$want")
	dir=$(t_tmp ndseed)
	mkdir -p "$dir/sys/bus/nd/devices"
	for d in $devs; do
		mkdir -p "$dir/sys/bus/nd/devices/${d%%=*}"
		echo "${d#*=}" >"$dir/sys/bus/nd/devices/${d%%=*}/namespace"
	done
	# shellcheck disable=SC2016
	got=$(dracutsysrootdir=$dir bash -c '. "$1" >/dev/null 2>&1; _daxbus_host_has_nd_dax; echo $?' sh "$HOOKS/module-setup.sh")
	if [ "$got" = "$want" ]; then
		pass "hostonly: $name -> $([ "$want" = 0 ] && echo "DAX drivers added" || echo "no DAX drivers")"
	else
		fail "hostonly: $name" "_daxbus_host_has_nd_dax said $got, want $want"
	fi
	rm -rf "$dir"
done <<<"$NDCASES"
t_done
