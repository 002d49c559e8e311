#!/bin/bash
# Shared by the test scripts: result counting (TAP-like lines, summed by
# tests/run.sh), fake roots and whole-tree manifests.
# shellcheck disable=SC2034  # variables are for the sourcing scripts

T_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
DAXBUS=${DAXBUS:-$T_TOP/build/daxbus}
POLICY_FILE=$T_TOP/modprobe.d/daxctl.conf
T_WORK=${T_WORK:-$T_TOP/build/tests}
# The product texts, from the files that hold them (never retyped here).
DROPIN_FILE=$T_TOP/dracut/daxbus.conf
ITOOLS_DROPIN_FILE=$T_TOP/initramfs-tools/conf.d/daxbus
FOREIGN_TEXT=$'options dax_pmem foo=1\n'
t_passed=0
t_failed=0

# Strip leading and trailing blanks (table cells).
trim() {
	local s=$1
	s=${s#"${s%%[! ]*}"}
	printf '%s' "${s%"${s##*[! ]}"}"
}

pass() { echo "ok - $1"; t_passed=$((t_passed + 1)); }
# is NAME GOT WANT: one test, passed when GOT is WANT.
is() { if [ "$2" = "$3" ]; then pass "$1"; else fail "$1" "got '$2', want '$3'"; fi; }
# json_get EXPR: EXPR (e.g. '["policy"]["state"]') of the JSON on stdin, as Python prints it.
json_get() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval("d"+sys.argv[1]))' "$1"; }
fail() {
	echo "not ok - $1"
	shift
	printf '#   %s\n' "$@"
	t_failed=$((t_failed + 1))
}

# Called once at the end of every test script.
t_done() {
	echo "# $(basename "$0"): $t_passed passed, $t_failed failed"
	[ -n "${T_RESULTS:-}" ] && echo "$t_passed $t_failed" >>"$T_RESULTS"
	[ "$t_failed" -eq 0 ]
}

# A test that cannot run here must say so and count as failed.
t_require() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null || { fail "requirement: $c" "$c is not installed (make check installs it via tools/deps.sh)"; t_done; exit 1; }
	done
	[ -x "$DAXBUS" ] || { fail "requirement: daxbus" "$DAXBUS not built (run make)"; t_done; exit 1; }
}

t_tmp() {
	mkdir -p "$T_WORK"
	mktemp -d "$T_WORK/$1.XXXXXX"
}

# Name a file's content: the known texts by name, anything else by hash.
content_ref() {
	local f=$1
	if cmp -s "$f" "$POLICY_FILE"; then echo "=policy"
	elif cmp -s "$f" <(printf '%s' "$FOREIGN_TEXT"); then echo "=foreign"
	elif cmp -s "$f" "$DROPIN_FILE"; then echo "=dropin"
	elif cmp -s "$f" "$ITOOLS_DROPIN_FILE"; then echo "=itools"
	else echo "=sha:$(sha256sum <"$f" | cut -c1-12)"
	fi
}

# Every entry below ROOT, one per line: path, type and mode, content or target.
# Comparing manifests compares whole trees, stray temporary files included.
manifest() {
	local root=$1 p rel
	(cd "$root" && find . -mindepth 1 | LC_ALL=C sort) | while read -r p; do
		rel=${p#./}
		if [ -L "$root/$rel" ]; then
			echo "$rel l -> $(readlink "$root/$rel")"
		elif [ -d "$root/$rel" ]; then
			echo "$rel d$(stat -c %a "$root/$rel")"
		elif [ -p "$root/$rel" ]; then
			echo "$rel p"
		elif [ -f "$root/$rel" ]; then
			echo "$rel f$(stat -c %a "$root/$rel") $(content_ref "$root/$rel")"
		else
			echo "$rel ?"
		fi
	done
}

# fake_helper FILE KIND: a stand-in for the helper at FILE.
#   crash  kills itself with SIGSEGV (status 139)
#   fail   says a warning and exits 1
#   ok     writes its arguments to FILE.args and exits 0
#   missing  (nothing is written)
fake_helper() {
	local f=$1
	case $2 in
	crash) printf '#!/bin/sh\n# stands in for a broken helper\nkill -SEGV $$\n' >"$f" ;;
	fail) printf '#!/bin/sh\necho "daxbus: warning: something" >&2\nexit 1\n' >"$f" ;;
	ok) printf '#!/bin/sh\necho "$@" >"%s.args"\nexit 0\n' "$f" >"$f" ;;
	missing) return 0 ;;
	*) echo "fake_helper: unknown kind $2" >&2; return 1 ;;
	esac
	chmod 0755 "$f"
}
