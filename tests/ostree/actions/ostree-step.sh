#!/bin/bash
# Guest action of the ostree family (tests/ostree/cells.sh), baked into every
# commit; runs after the report's probes.  What this boot does to the system,
# from the kernel command line:
#   daxbus.test.ostree_enable=1      `daxbus enable`, as daxbus(8) says to on
#                                    a booted OSTree system
#   daxbus.test.ostree_deploy=REF    `ostree admin deploy` of REF, merged from
#                                    the booted deployment (an upgrade)
# Reports:
#   ostree.enable_rc=<rc>  ostree.enable=<a line of its output> (*)
#   ostree.deploy_rc=<rc>  ostree.deploy=<a line of its output> (*)
#   ostree.etc_sum_end=<digest of the booted deployment's /etc, at the end>
read -ra args </proc/cmdline
for a in "${args[@]}"; do
	case $a in
	daxbus.test.ostree_enable=1)
		out=$(/usr/sbin/daxbus enable 2>&1)
		echo "ostree.enable_rc=$?"
		printf '%s\n' "$out" | sed 's/^/ostree.enable=/'
		;;
	daxbus.test.ostree_deploy=*)
		out=$(ostree admin deploy --os=debian "${a#*=}" 2>&1)
		echo "ostree.deploy_rc=$?"
		printf '%s\n' "$out" | sed 's/^/ostree.deploy=/'
		;;
	esac
done
# shellcheck source=ostree-lib.sh # installed there by tests/ostree/cells.sh
. /usr/local/lib/daxbus-test-ostree.sh
echo "ostree.etc_sum_end=$(etc_sum)"
