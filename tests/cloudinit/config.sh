#!/bin/bash
# The documented #cloud-config (examples/cloud-init/daxbus.cloud-config),
# without a VM: Debian 12's cloud-init accepts it (its own schema check),
# and its runcmd, turned into the script cloud-init runs by cloud-init's own
# code, calls daxbus in the documented order against fake commands that
# record their calls: install only when daxbus is missing, migrate, then
# enable --initramfs and the rebuild of the host's generator even when
# migrate failed (a device in use).  The first boot itself is the boot
# cell cloudinit-firstboot (tests/cloudinit/cells.sh).
set -uo pipefail
. "$(dirname "$0")/../lib/t.sh"
t_require cloud-init

cc=$T_TOP/examples/cloud-init/daxbus.cloud-config
work=$(t_tmp cloudinit)
# cloud-init's own interpreter, whichever python3 comes first on PATH
py=$(sed -n '1s/^#! *//p' "$(command -v cloud-init)")

out=$(cloud-init schema --config-file "$cc" 2>&1)
rc=$?
if [ $rc = 0 ] && [[ $out == *"Valid cloud-config"* ]]; then
	pass "cloud-init $(cloud-init --version 2>&1 | awk '{print $2}') schema: $(basename "$cc") is valid"
else
	fail "cloud-init schema" "rc=$rc" "$out"
fi
# The check can fail: the same file with runcmd broken is refused.
sed 's/^runcmd:$/runcmd: 5\nbroken:/' "$cc" >"$work/broken.cloud-config"
out=$(cloud-init schema --config-file "$work/broken.cloud-config" 2>&1)
is "cloud-init schema refuses a broken copy (runcmd: 5)" "$? $(grep -c "runcmd" <<<"$out")" "1 1"

# runcmd as cloud-init writes it (cloudinit.util.shellify), run by sh with
# a PATH of fake daxbus, apt-get, dnf and generator commands that record
# their calls, and only sh and cp besides (the host's own dracut or
# update-initramfs must never run).
# run_case NAME DAXBUS_PRESENT MIGRATE_RC GENERATOR -> the calls, one a line
run_case() {
	local present=$2 migrate_rc=$3 gen=$4 d=$work/$1 c
	mkdir -p "$d/bin" "$d/tools"
	ln -sf "$(command -v sh)" "$d/tools/sh"
	ln -sf "$(command -v cp)" "$d/tools/cp"
	: >"$d/calls"
	printf '#!/bin/sh\necho "daxbus $*" >>"%s"\n[ "$1" = migrate ] && exit %s\nexit 0\n' "$d/calls" "$migrate_rc" >"$d/daxbus"
	chmod +x "$d/daxbus"
	[ "$present" = yes ] && cp "$d/daxbus" "$d/bin/daxbus"
	printf '#!/bin/sh\necho "apt-get $*" >>"%s"\n[ "$1" = install ] && cp "%s" "%s"\nexit 0\n' "$d/calls" "$d/daxbus" "$d/bin/daxbus" >"$d/bin/apt-get"
	for c in "$gen" dnf; do
		printf '#!/bin/sh\necho "%s $*" >>"%s"\n' "$c" "$d/calls" >"$d/bin/$c"
	done
	chmod +x "$d/bin/"*
	"$py" -c 'import sys, yaml
from cloudinit import util
sys.stdout.write(util.shellify(yaml.safe_load(open(sys.argv[1]))["runcmd"]))' "$cc" >"$d/runcmd" || return 1
	PATH=$d/bin:$d/tools /bin/sh "$d/runcmd" >"$d/out" 2>&1
	cat "$d/calls"
}

is "runcmd, daxbus in the image, initramfs-tools: migrate, enable --initramfs, update-initramfs, status" \
	"$(run_case present yes 0 update-initramfs | tr '\n' ';')" \
	"daxbus migrate;daxbus enable --initramfs;update-initramfs -u -k all;daxbus status;"
is "runcmd, daxbus missing, dracut: installed by name first, then the same with dracut" \
	"$(run_case missing no 0 dracut | tr '\n' ';')" \
	"apt-get update;apt-get install -y daxbus;daxbus migrate;daxbus enable --initramfs;dracut -f --regenerate-all;daxbus status;"
is "runcmd, migrate refused (device in use): later boots are still opted in and rebuilt" \
	"$(run_case busy yes 1 update-initramfs | tr '\n' ';')" \
	"daxbus migrate;daxbus enable --initramfs;update-initramfs -u -k all;daxbus status;"

# make install puts it with the other examples.
if make -s -C "$T_TOP" install DESTDIR="$work/inst" prefix=/usr >/dev/null 2>&1 &&
	cmp -s "$work/inst/usr/share/doc/daxbus/examples/cloud-init/daxbus.cloud-config" "$cc"; then
	pass "make install: /usr/share/doc/daxbus/examples/cloud-init/daxbus.cloud-config"
else
	fail "make install of the cloud-config" "$(find "$work/inst" -path '*examples*' 2>/dev/null)"
fi
t_done
