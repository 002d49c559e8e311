#!/bin/bash
# daxbus on a root booted from an OSTree deployment, without booting one (the
# ostree boot cells do that): a fake root with /run/ostree-booted and the
# boot links ostree= goes through.  status names the deployment and where
# the policy lives there (text and JSON); enable says what its /etc write
# means on OSTree; a root without /run/ostree-booted has "ostree": null.
set -uo pipefail
. "$(dirname "$0")/../lib/t.sh"
t_require python3

work=$(t_tmp ostree-status)
dep=/ostree/deploy/debian/deploy/0123abcd.0

# fakeroot DIR: booted from $dep through /ostree/boot.1/debian/BOOTCSUM/0
fakeroot() {
	local f=$1
	mkdir -p "$f/run" "$f/proc" "$f/etc" "$f/sysroot$dep" "$f/sysroot/ostree/boot.1/debian/bc5"
	ln -s sysroot/ostree "$f/ostree"
	ln -s ../../../deploy/debian/deploy/0123abcd.0 "$f/sysroot/ostree/boot.1/debian/bc5/0"
	touch "$f/run/ostree-booted"
	echo "root=/dev/vda rw ostree=/ostree/boot.1/debian/bc5/0" >"$f/proc/cmdline"
}

r=$work/r
fakeroot "$r"
out=$("$DAXBUS" status --root "$r" 2>&1)
is "status names the booted deployment" "$(grep -c "^ostree: booted deployment $dep\$" <<<"$out")" 1
is "status: no policy, no OSTree policy line" "$(grep -c "this deployment's /etc\|runtime only" <<<"$out")" 0
is "JSON: the deployment" "$("$DAXBUS" status --root "$r" --json | json_get '["ostree"]["deployment"]')" "$dep"
is "JSON: no policy anywhere" "$("$DAXBUS" status --root "$r" --json | json_get '["ostree"]["policy_in"]')" None

mkdir -p "$r/run/modprobe.d" && cp "$T_TOP/modprobe.d/daxctl.conf" "$r/run/modprobe.d/"
is "status: a runtime policy is runtime only there" \
	"$("$DAXBUS" status --root "$r" | grep -c "runtime only: not in this deployment's /etc")" 1
is "JSON: policy_in run" "$("$DAXBUS" status --root "$r" --json | json_get '["ostree"]["policy_in"]')" run

out=$("$DAXBUS" enable --root "$r" 2>&1)
is "enable: exit 0" "$?" 0
is "enable says /etc is the deployment's and merges forward" \
	"$(grep -c "OSTree: /etc is the booted deployment's own ($dep); later deployments merge it" <<<"$out")" 1
is "enable says reboot, and when the image needs daxbus" "$(grep -c 'OSTree: reboot to use the bus model' <<<"$out")" 1
is "status: the policy in the deployment's /etc" \
	"$("$DAXBUS" status --root "$r" | grep -c "in this deployment's /etc: later deployments merge it")" 1
is "JSON: policy_in etc" "$("$DAXBUS" status --root "$r" --json | json_get '["ostree"]["policy_in"]')" etc
is "enable --runtime says nothing of OSTree" "$("$DAXBUS" enable --runtime --root "$r" 2>&1 | grep -c OSTree)" 0

# ostree= that does not resolve: said, not guessed
rm "$r/sysroot/ostree/boot.1/debian/bc5/0"
is "status: an ostree= that resolves to nothing is said so" \
	"$("$DAXBUS" status --root "$r" | grep -c '^ostree: booted deployment (ostree= does not name one)$')" 1

# not booted from OSTree
rm "$r/run/ostree-booted"
is "JSON: ostree null without /run/ostree-booted" "$("$DAXBUS" status --root "$r" --json | json_get '["ostree"]')" None
is "status: no ostree line without /run/ostree-booted" "$("$DAXBUS" status --root "$r" | grep -c '^ostree:')" 0
is "enable: no OSTree lines without /run/ostree-booted" "$("$DAXBUS" enable --root "$r" 2>&1 | grep -c OSTree)" 0
t_done
