#!/bin/bash
# Fault injection into the real static binary with strace --inject: whatever
# system call fails on the write path, the target is either absent or
# complete, no temporary file is left behind, and the exit status says so
# (a failed fsync of the directory takes the new file back: "failed" is then
# the whole truth).  Also checks that the publish really is the atomic,
# durable sequence.  tests/reliability/ injects at every system call.
set -uo pipefail
. "$(dirname "$0")/../lib/t.sh"
t_require strace

# name | syscall to fail | errno | which call (strace's when=)
CASES=$(cat <<'TABLE'
temp file cannot be created | openat | ENOSPC | TEMP
write fails (disk full) | write | ENOSPC | 1
fsync of the file fails | fsync | EIO | 1
rename fails | renameat2 | EIO | 1
fsync of the directory fails | fsync | EIO | 2
TABLE
)

while IFS='|' read -r name sc err when; do
	name=$(trim "$name"); sc=$(trim "$sc"); err=$(trim "$err"); when=$(trim "$when")
	dir=$(t_tmp faults)
	mkdir -p "$dir/etc/modprobe.d"
	if [ "$when" = TEMP ]; then
		# the ordinal of the openat that creates the temporary file, from a clean run
		probe=$(t_tmp faults)
		mkdir -p "$probe/etc/modprobe.d"
		strace -o "$probe.trace" -e trace=openat "$DAXBUS" enable --root "$probe" 2>/dev/null
		when=$(grep -n '\.#daxctl' "$probe.trace" | cut -d: -f1)
		rm -rf "$probe" "$probe.trace"
	fi
	out=$(strace -o "$dir.trace" -f -e trace=all -e "inject=$sc:error=$err:when=$when" \
		"$DAXBUS" enable --root "$dir" 2>&1)
	rc=$?
	left=$(ls -A "$dir/etc/modprobe.d")
	if [ "$rc" = 1 ] && [ -z "$left" ] && [[ $out == *"failed to write"* ]]; then
		pass "$name"
	else
		fail "$name" "rc=$rc, left in etc/modprobe.d: [$left]" "$out"
	fi
	rm -rf "$dir" "$dir.trace"
done <<<"$CASES"

# The publish sequence itself.
dir=$(t_tmp faults)
mkdir -p "$dir/etc/modprobe.d"
strace -o "$dir.trace" -e trace=openat,openat2,fchmod,write,fsync,renameat2,unlinkat "$DAXBUS" enable --root "$dir" 2>/dev/null
seq=$(grep -E '\.#daxctl\.conf|fsync|renameat2' "$dir.trace" | sed -E 's/\(([0-9]+)</(/; s/^[0-9]+ +//')
if grep -E 'O_CREAT' <<<"$seq" | grep 'O_EXCL' | grep 'O_NOFOLLOW' | grep 'O_CLOEXEC' >/dev/null &&
	grep -q 'RENAME_NOREPLACE' <<<"$seq" &&
	[ "$(grep -c '^fsync' <<<"$seq")" = 2 ] &&
	awk '/O_EXCL/{a=NR} /^fsync/ && !f{f=NR} /renameat2/{r=NR} END{exit !(a<f && f<r)}' <<<"$seq" &&
	[ "$(grep -E '^fsync' "$dir.trace" | tail -1)" != "" ] &&
	awk '/renameat2/{r=NR} /^fsync/{l=NR} END{exit !(l>r)}' <<<"$seq"; then
	pass "publish: O_EXCL temp, fsync, renameat2 NOREPLACE, fsync dir"
else
	fail "publish sequence" "$seq"
fi
rm -rf "$dir" "$dir.trace"

# An already enabled root is not written at all.
dir=$(t_tmp faults)
mkdir -p "$dir/etc/modprobe.d"
cp "$POLICY_FILE" "$dir/etc/modprobe.d/daxctl.conf"
strace -f -o "$dir.trace" "$DAXBUS" enable --root "$dir" 2>/dev/null
if grep -qE 'O_CREAT|renameat|unlink|fsync|mkdir' "$dir.trace"; then
	fail "no-op when already enabled" "$(grep -E 'O_CREAT|renameat|unlink|fsync|mkdir' "$dir.trace")"
else
	pass "no-op when already enabled: nothing created, renamed or synced"
fi
rm -rf "$dir" "$dir.trace"
t_done
