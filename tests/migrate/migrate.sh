#!/bin/bash
# daxbus migrate and status's per-device lines, without a VM: the running
# system's /sys and /proc are fake trees named by DAXBUS_TEST_LIVE (a
# test-only variable; lib.sh builds them).
# Each case compares the exit status, pieces of the output and the whole
# root and live trees (a refusal or a dry run changes nothing).  What needs a
# kernel (unbinding, module removal and loading, the wait, the rollback) is
# proven by the boot cells of tests/migrate/cells.sh.
set -uo pipefail
. "$(dirname "$0")/../lib/t.sh"
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
t_require python3

# name | live words | root words | args (ROOT = the root) | exit | output pieces (";"-separated, "!" = must not appear) | root after ("same" or entries)
CASES='
dry run in the compat model | compat | - | migrate --root ROOT --dry-run | 0 | dry run, nothing is changed;install the policy as ROOT/etc/modprobe.d/daxctl.conf;unbind dax0.1 from dax_pmem_compat (LIVE/sys/bus/nd/drivers/dax_pmem_compat/unbind);remove module dax_pmem_compat (libkmod);load what nd:t7 resolves to under the policy, dax_pmem (libkmod);probe dax0.1 again (LIVE/sys/bus/nd/drivers_probe);wait up to 10 s until every device is on LIVE/sys/bus/dax | same
dry run, --runtime | compat | - | migrate --root ROOT --dry-run --runtime | 0 | install the policy as ROOT/run/modprobe.d/daxctl.conf | same
dry run, compat loaded, nothing bound | compat-unbound | - | migrate --root ROOT --dry-run | 0 | remove module dax_pmem_compat (libkmod) | same
device open: refused, nothing written | compat open | - | migrate --root ROOT | 1 | dax0.0 (character device 1:3) is open by process 4242 (holder);refusing to migrate | same
device mapped: refused | compat mapped | - | migrate --root ROOT | 1 | dax0.0 (character device 1:3) is mapped by process 4343 (mapper);nothing changed (compat model) | same
open and mapped: both named | compat open mapped | - | migrate --root ROOT --runtime | 1 | is open by process 4242 (holder);is mapped by process 4343 (mapper) | same
dry run refuses too | compat open | - | migrate --root ROOT --dry-run | 1 | is open by process 4242 (holder) | same
bus model: nothing to migrate, policy installed | bus | - | migrate --root ROOT | 0 | installed ROOT/etc/modprobe.d/daxctl.conf;nothing to migrate: dax_pmem_compat is not loaded (device model: bus) | etc/modprobe.d/daxctl.conf
bus model, --runtime | bus open | - | migrate --root ROOT --runtime | 0 | nothing to migrate: dax_pmem_compat is not loaded (device model: bus) | run/modprobe.d/daxctl.conf
no device at all | - | - | migrate --root ROOT --dry-run | 0 | nothing to migrate: dax_pmem_compat is not loaded (device model: none) | same
foreign policy file: enable refuses | bus | foreign | migrate --root ROOT | 1 | exists with other content;policy not installed: nothing migrated (bus model) | same
extra argument | bus | - | migrate --root ROOT now | 2 | unexpected argument '"'"'now'"'"' | same
option of another command | bus | - | migrate --root ROOT --kver 1 | 2 | migrate does not take --kver | same
empty --root | bus | - | migrate --root= | 2 | --root needs a directory | same
status: compat instance | compat | - | status --root ROOT | 0 |   dax0.0: compat model, driver dax_pmem_compat, mode devdax, size 1073741824 (1024 MiB), target node 0;devices: compat model | same
status: bus instance, numa_node | bus | - | status --root ROOT | 0 |   dax0.0: bus model, driver device_dax, mode devdax, size 534773760 (510 MiB), target node 1 | same
status: system-ram | kmem | - | status --root ROOT | 0 |   dax0.0: bus model, driver kmem, mode system-ram | same
status: an idle seed beside a bound device is the bus model | bus seed | - | status --root ROOT | 0 | devices: bus model;nd device dax0.2      bound to (none) (idle seed) | same
status: numbers that do not parse are unknown, not 0 | compat badnum | - | status --root ROOT | 0 | driver dax_pmem_compat, mode devdax, size unknown, target node unknown;!size 0;!target node 0 | same
migrate: an idle seed is not moved | compat seed | - | migrate --root ROOT --dry-run | 0 | unbind dax0.1 from dax_pmem_compat;probe dax0.1 again;!dax0.2 | same
migrate: bus model and an idle seed: nothing to migrate | bus seed | - | migrate --root ROOT --dry-run | 0 | nothing to migrate: dax_pmem_compat is not loaded (device model: bus) | same
dry run: a foreign policy file refuses as the real run does | compat | foreign | migrate --root ROOT --dry-run | 1 | exists with other content;policy not installed | same
dry run, bus model: a foreign policy file refuses | bus | foreign | migrate --root ROOT --dry-run | 1 | exists with other content | same
a FIFO at the unbind attribute fails at once, never waits | compat fifo-unbind | - | migrate --root ROOT | 1 | cannot unbind dax0.1 from dax_pmem_compat;the system is in the compat model | etc/modprobe.d/daxctl.conf
'

run_case() {
	local name=$1 lw=$2 rw=$3 args=$4 want_rc=$5 pieces=$6 after=$7 d out rc before now e want problems=()
	d=$(t_tmp migrate)
	# shellcheck disable=SC2086 # words
	if ! live "$d/live" $lw || ! root "$d/root" $rw; then
		fail "$name" "setup failed"
		return
	fi
	before=$(manifest "$d")
	args=${args//ROOT/$d/root}
	# shellcheck disable=SC2086 # words
	out=$(DAXBUS_TEST_LIVE=$d/live timeout 30 "$DAXBUS" $args 2>&1)
	rc=$?
	[ "$rc" = 124 ] && problems+=("still running after 30 s")
	[ "$rc" = "$want_rc" ] || problems+=("exit $rc, want $want_rc")
	IFS=';' read -r -a want <<<"$pieces"
	want=("${want[@]//ROOT/$d/root}")
	check_pieces "$out" "${want[@]//LIVE/$d/live}"
	now=$(manifest "$d")
	if [ "$after" = same ]; then
		[ "$now" = "$before" ] || problems+=("trees changed: $(diff <(echo "$before") <(echo "$now") | grep '^[<>]' | tr '\n' ' ')")
	else
		for e in $after; do
			[ "$(content_ref "$d/root/$e")" = "=policy" ] || problems+=("root/$e is not the policy")
		done
		[ "$(diff <(echo "$before") <(echo "$now") | grep -c '^[<>] .* f')" = 1 ] || problems+=("more than one file changed")
	fi
	if [ ${#problems[@]} = 0 ]; then
		pass "migrate: $name"
	else
		fail "migrate: $name" "${problems[@]}" "output: $out"
	fi
	rm -rf "$d"
}

while IFS='|' read -r name lw rw args rc pieces after; do
	name=$(trim "$name")
	[ -n "$name" ] || continue
	run_case "$name" "$(trim "$lw")" "$(trim "$rw")" "$(trim "$args")" "$(trim "$rc")" "$(trim "$pieces")" "$(trim "$after")"
done <<<"$CASES"

# status --json: the per-device instances, and the whole output against the
# schema example of man/daxbus.8 (same keys at every level; values may differ).
json_case() {
	local words=$1 check=$2 d js
	d=$(t_tmp migrate)
	# shellcheck disable=SC2086 # words
	live "$d/live" $words && root "$d/root" -
	js=$(DAXBUS_TEST_LIVE=$d/live "$DAXBUS" status --root "$d/root" --json 2>&1)
	if python3 "$T_WORK/migrate-json.py" "$T_TOP/man/daxbus.8" "$check" <<<"$js"; then
		pass "status --json ($words): $check"
	else
		fail "status --json ($words): $check" "output: $js"
	fi
	rm -rf "$d"
}
mkdir -p "$T_WORK"
cat >"$T_WORK/migrate-json.py" <<'PY'
import json, re, sys
man, check = sys.argv[1], sys.argv[2]
got = json.load(sys.stdin)
text = open(man).read()
block = text.split('.SH JSON OUTPUT', 1)[1].split('.nf\n', 1)[1].split('\n.fi', 1)[0]
doc = json.loads(block.replace('\\-', '-'))
def keys(a, b, path):
    bad = []
    if isinstance(a, dict) and isinstance(b, dict):
        if set(a) != set(b):
            bad.append(f"{path}: keys {sorted(set(a) ^ set(b))} differ")
        for k in set(a) & set(b):
            bad += keys(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list) and isinstance(b, list) and a and b:
        bad += keys(a[0], b[0], path + "[0]")
    return bad
inst = got["devices"]["instances"]
d = inst[0] if inst else {}
if check == "schema":
    bad = keys(doc, got, "")
elif check == "compat instance":
    bad = [] if d == {"chardev": "dax0.0", "model": "compat", "driver": "dax_pmem_compat", "mode": "devdax", "size": 1073741824, "target_node": 0} else [str(d)]
elif check == "unknown numbers":
    bad = [] if d.get("size", 0) is None and d.get("target_node", 0) is None else [str(d)]
elif check == "seed":
    nd = {x["device"]: x for x in got["devices"]["nd_dax"]}
    bad = [] if (got["devices"]["model"] == "bus" and nd.get("dax0.2", {}).get("active") is False
                 and nd.get("dax0.1", {}).get("active") is True) else [str(got["devices"])]
elif check == "system-ram instance":
    bad = [] if d == {"chardev": "dax0.0", "model": "bus", "driver": "kmem", "mode": "system-ram", "size": 534773760, "target_node": 1} else [str(d)]
for b in bad:
    print(b, file=sys.stderr)
sys.exit(1 if bad else 0)
PY
# The early initramfs step's rescue, with the same code: it never fails the
# step (exit 0), and says what it did.
early_case() {
	local name=$1 words=$2 pieces=$3 bind=$4 d out rc want problems=()
	d=$(t_tmp migrate)
	# shellcheck disable=SC2086 # words
	live "$d/live" $words && root "$d/root" -
	mkdir -p "$d/root/proc" && echo ro >"$d/root/proc/cmdline"
	[ -d "$d/live/sys/bus/nd/drivers/dax_pmem_compat" ] && : >"$d/live/sys/bus/nd/drivers/dax_pmem_compat/bind"
	out=$(DAXBUS_TEST_LIVE=$d/live "$DAXBUS" initrd early --root "$d/root" --log stderr 2>&1)
	rc=$?
	[ "$rc" = 0 ] || problems+=("exit $rc, want 0")
	[ "$(content_ref "$d/root/run/modprobe.d/daxctl.conf")" = "=policy" ] || problems+=("no runtime policy")
	IFS=';' read -r -a want <<<"$pieces"
	check_pieces "$out" "${want[@]}"
	if [ -n "$bind" ]; then
		[ "$(cat "$d/live/sys/bus/nd/drivers/dax_pmem_compat/bind" 2>/dev/null)" = "$bind" ] || problems+=("bind file does not hold $bind")
	fi
	if [ ${#problems[@]} = 0 ]; then pass "initrd early: $name"; else fail "initrd early: $name" "${problems[@]}" "output: $out"; fi
	rm -rf "$d"
}
early_case "bus model: no rescue" "bus" "runtime policy installed;!dax_pmem_compat was loaded" ""
early_case "compat loaded, device open: left alone" "compat open" "is open by process 4242 (holder);dax_pmem_compat was loaded before the early step and a device is in use (or that cannot be told): left in the compat model" ""
# the fake has no module tree: the removal fails, and the unbound device is bound to compat again
early_case "compat loaded, removal fails: rolled back" "compat-unbound" "cannot remove module dax_pmem_compat;rollback: bound dax0.1 to dax_pmem_compat again;migration failed; the system is in the compat model;migrating in place failed" "dax0.1"

json_case compat schema
json_case kmem schema
json_case "" schema
json_case compat "compat instance"
json_case kmem "system-ram instance"
json_case "compat badnum" "unknown numbers"
json_case "bus seed" "seed"

# A dry run whose output cannot be written says so, and fails.
d=$(t_tmp migrate)
live "$d/live" compat && root "$d/root" -
err=$(DAXBUS_TEST_LIVE=$d/live "$DAXBUS" migrate --root "$d/root" --dry-run 2>&1 >/dev/full)
rc=$?
if [ "$rc" != 0 ] && grep -q "No space left on device" <<<"$err"; then
	pass "migrate --dry-run >/dev/full: exit $rc, says: $(head -1 <<<"$err")"
else
	fail "migrate --dry-run >/dev/full" "exit $rc, stderr: $err"
fi
rm -rf "$d"
t_done
