#!/bin/bash
# Guest pre-action of the power-cut instants (tests/reliability/instants.sh):
# `daxbus enable` run under aim (tests/reliability/aim.c), which SIGKILLs it
# on entering the system call that daxbus.test.aim=SYSCALL:N on the kernel
# command line names; then the line the host kills QEMU on.  Both go to the
# console, in that order, so the host has the aim's line before the cut.
# Nothing is reported otherwise: the report never comes.
aim=
read -ra args </proc/cmdline
for a in "${args[@]}"; do
	case $a in daxbus.test.aim=*) aim=${a#daxbus.test.aim=} ;; esac
done
if [ -z "$aim" ]; then
	echo "cut-aim: no daxbus.test.aim=SYSCALL:N on the kernel command line" >/dev/console
	exit 1
fi
/usr/local/sbin/aim "${aim%%:*}" "${aim#*:}" /usr/sbin/daxbus enable >/dev/console 2>&1
printf 'DAXBUS-%s rc=%s\n' "CUT-NOW" "$?" >/dev/console
# the host cuts the power now; never let the agent go on to a clean power-off
sleep 600
