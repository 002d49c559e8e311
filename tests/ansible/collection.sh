#!/bin/bash
# The daxbus.daxbus Ansible collection (ansible/), without a VM: it passes
# ansible-lint --offline, builds with ansible-galaxy at the project's
# version, installs from its tarball, and its role runs for real with
# Debian 12's ansible against this machine with a fake root (daxbus_root):
# check mode changes nothing and lists what enable would do, the first run
# reports changed from the helper's JSON, the second changed=0, the status
# fact says enabled, a foreign file fails the host with the helper's
# reason, state: absent opts out (changed, then changed=0), a host where
# migrate refuses (a fake helper) fails before enable runs, "false" given
# as a string (-e key=value) is false, a bad variable
# is refused by the argument spec.  Not here: installing the package,
# migrate, the initramfs rebuild and the reboot (the fleet boot cells).
set -uo pipefail
. "$(dirname "$0")/../lib/t.sh"
t_require ansible-playbook ansible-galaxy ansible-lint python3

work=$(t_tmp ansible)
src=$T_TOP/ansible
version=$(sed -n 's/^VERSION *:= *//p' "$T_TOP/Makefile")
is "galaxy.yml has the project's version" "$(sed -n 's/^version: *//p' "$src/galaxy.yml")" "$version"

if out=$(cd "$src" && ansible-lint --offline --nocolor 2>&1); then
	pass "ansible-lint --offline: no violation"
else
	fail "ansible-lint --offline" "$out"
fi

tarball=$work/daxbus-daxbus-$version.tar.gz
out=$(ansible-galaxy collection build --output-path "$work" "$src" 2>&1)
if [ -s "$tarball" ]; then pass "ansible-galaxy collection build"; else fail "ansible-galaxy collection build" "$out"; fi
is "the tarball has the role's argument spec" \
	"$(tar -tzf "$tarball" 2>/dev/null | grep -c '^roles/daxbus/meta/argument_specs.yml$')" 1
out=$(ansible-galaxy collection install -p "$work/collections" "$tarball" 2>&1)
if [ -f "$work/collections/ansible_collections/daxbus/daxbus/roles/daxbus/tasks/main.yml" ]; then
	pass "ansible-galaxy collection install from the tarball"
else
	fail "ansible-galaxy collection install" "$out"
fi

# A root with a dracut and daxbus's dracut module, as enable --initramfs finds them.
root=$work/root
mkdir -p "$root/etc" "$root/run" "$root/usr/bin" "$root/usr/lib/dracut/modules.d/50daxbus"
printf '#!/bin/sh\n' >"$root/usr/bin/dracut" && chmod +x "$root/usr/bin/dracut"
cp "$T_TOP/dracut/50daxbus/module-setup.sh" "$root/usr/lib/dracut/modules.d/50daxbus/"

cat >"$work/play.yml" <<'PLAY'
---
- name: Roll daxbus out
  hosts: all
  gather_facts: false
  roles:
    - role: daxbus.daxbus.daxbus
  post_tasks:
    - name: Report the status fact
      ansible.builtin.debug:
        msg: "FACT policy.state={{ daxbus_status.policy.state }}"
      when: daxbus_status is defined
PLAY
export ANSIBLE_COLLECTIONS_PATH=$work/collections ANSIBLE_NOCOLOR=1 ANSIBLE_RETRY_FILES_ENABLED=0 \
	ANSIBLE_LOCALHOST_WARNING=0 ANSIBLE_INVENTORY_UNPARSED_WARNING=0 ANSIBLE_PYTHON_INTERPRETER=/usr/bin/python3
# play NAME [ansible-playbook args...]: run it, keep the output in $work/NAME.out
play() {
	local name=$1
	shift
	ansible-playbook -i localhost, -c local "$work/play.yml" \
		-e "{\"daxbus_install\": false, \"daxbus_helper\": \"$DAXBUS\", \"daxbus_root\": \"$root\", \"daxbus_rebuild_initramfs\": false}" \
		"$@" >"$work/$name.out" 2>&1
}
recap() { sed -n 's/^localhost *: .*\b'"$2"'=\([0-9]*\).*/\1/p' "$work/$1.out"; }
tree() { (cd "$root" && find . -printf '%p %s\n' | sort); }

before=$(tree)
play check --check --diff
is "check mode: exit 0" "$?" 0
is "check mode: the recap counts the change enable would make" "$(recap check changed)" 1
is "check mode: the helper's dry run lists installing the policy" \
	"$(grep -c "\"file\": \"$root/etc/modprobe.d/daxctl.conf\"" "$work/check.out")" 1
is "check mode: the root is unchanged" "$(tree)" "$before"

play first
is "first run: exit 0" "$?" 0
is "first run: changed=1 (enable)" "$(recap first changed)" 1
is "first run: the policy is installed" "$(cmp -s "$T_TOP/modprobe.d/daxctl.conf" "$root/etc/modprobe.d/daxctl.conf" && echo same)" same
is "first run: dracut is opted in" "$(cmp -s "$T_TOP/dracut/daxbus.conf" "$root/etc/dracut.conf.d/daxbus.conf" && echo same)" same
is "first run: the status fact says enabled" "$(grep -c 'FACT policy.state=enabled' "$work/first.out")" 1

play again
is "second run: changed=0, failed=0" "$(recap again changed)/$(recap again failed)" 0/0

play absent -e daxbus_state=absent
is "state absent: changed=1" "$(recap absent changed)" 1
is "state absent: the policy and the drop-in are gone" \
	"$(find "$root/etc/modprobe.d" "$root/etc/dracut.conf.d" -name 'daxbus*' -o -name 'daxctl*' | wc -l)" 0
play absent2 -e daxbus_state=absent
is "state absent again: changed=0" "$(recap absent2 changed)" 0

echo "options dax_pmem_compat foo=1" >"$root/etc/modprobe.d/daxctl.conf"
play foreign
is "a foreign daxctl.conf: the host fails" "$(recap foreign failed)" 1
is "... with the helper's reason, naming the file" \
	"$(grep -c "error: $root/etc/modprobe.d/daxctl.conf exists with other content; it belongs to the administrator" "$work/foreign.out")" 1
is "... and the file is left alone" "$(cat "$root/etc/modprobe.d/daxctl.conf")" "options dax_pmem_compat foo=1"

# migrate comes first and a refusal stops the host there: a fake helper
# (the real one answers status about the fake root) refuses migrate as
# the real one does for a device in use; enable must never be called, so
# the host keeps no policy and no opt-in.  daxbus_root=/ because the role
# migrates only the running system; the fake never writes anything.
rm -f "$root/etc/modprobe.d/daxctl.conf"
fake=$work/fake-daxbus
printf '#!/bin/sh\necho "$*" >>%q\ncase $1 in\nstatus) exec %q status --root %q --json ;;\nmigrate) echo "daxbus: error: dax0.0 is in use: /dev/dax0.0 held by pid 4242 (fio); nothing changed" >&2; exit 1 ;;\nenable) echo '"'"'{"changed": false, "actions": []}'"'"' ;;\nesac\nexit 0\n' \
	"$work/fake-calls" "$DAXBUS" "$root" >"$fake"
chmod +x "$fake"
play busy -e daxbus_root=/ -e daxbus_migrate=true -e "daxbus_helper=$fake"
is "migrate refused (in use): the host fails" "$(recap busy failed)" 1
is "... with the helper's reason, naming the process" "$(grep -c 'daxbus migrate exited 1: daxbus: error: dax0.0 is in use: /dev/dax0.0 held by pid 4242 (fio)' "$work/busy.out")" 1
is "... and enable never ran: the helper saw status and migrate only" "$(cut -d' ' -f1 "$work/fake-calls" | tr '\n' ' ')" "status migrate "

# -e KEY=VALUE gives strings: "false" must mean false (| bool), not a
# non-empty, so true, string
: >"$work/fake-calls"
play nomigrate -e daxbus_root=/ -e daxbus_migrate=false -e "daxbus_helper=$fake"
is "daxbus_migrate=false as a string (-e key=value): the host succeeds" "$(recap nomigrate failed)" 0
is "... and migrate never ran" "$(cut -d' ' -f1 "$work/fake-calls" | tr '\n' ' ')" "status enable status "

play bogus -e daxbus_state=bogus
is "a bad daxbus_state: refused by the argument spec" \
	"$(grep -c "value of daxbus_state must be one of: present, absent" "$work/bogus.out")" 1
t_done
