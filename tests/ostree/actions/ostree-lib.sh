# shellcheck shell=bash
# Sourced by the ostree family's guest actions (installed in the commits as
# /usr/local/lib/daxbus-test-ostree.sh, outside the agent's action folders).
# etc_sum: one digest of the booted deployment's /etc: every file's and
# link's path, mode and target, and every file's content.
etc_sum() {
	(cd /etc && find . -xdev \( -type f -o -type l \) -printf '%p %m %l\n' | sort &&
		find . -xdev -type f -print0 | sort -z | xargs -0 sha256sum) | sha256sum | cut -d' ' -f1
}
