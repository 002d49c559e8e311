#!/bin/bash
# The project's shell scripts, for shellcheck and the POSIX checks: one list,
# used by `make syncheck` and by tests/helper/build.sh, found by their first line
# so a new script cannot be forgotten.  Works without git (release tarballs).
#   tools/shell-files.sh bash   scripts run by bash (tools, tests, bench, module-setup.sh)
#   tools/shell-files.sh sh     POSIX sh that runs in an initramfs (hooks, scripts)
set -euo pipefail
cd "$(dirname "$0")/.."
want=${1:?usage: shell-files.sh bash|sh}
find tools tests bench dracut initramfs-tools -type f ! -path '*/corpus/*' 2>/dev/null | LC_ALL=C sort |
	while read -r f; do
		first=$(head -n1 "$f" 2>/dev/null || true)
		case $first in
		'#!/bin/bash'* | '#!/usr/bin/env bash'* | '# shellcheck shell=bash'*) kind=bash ;;
		'#!/bin/sh'*) kind=posix ;;
		*) continue ;;
		esac
		[ "$kind" = "${want/#sh/posix}" ] && echo "$f"
	done
exit 0
