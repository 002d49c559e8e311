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
t_done
