#!/bin/bash
# The dracut module under each dracut generation users run, each in a Debian
# root of its own with that release's dracut (tests/harness/roots.sh): Debian 11's
# dracut 051, Debian 12's 059 and Debian 13's dracut-ng 106.  daxbus is
# installed into a copy of the root with `make install`, and the root's own
# dracut builds the image inside it, as an administrator would; the image is
# then read with the root's own lsinitrd.  What each must show:
#   systemd initrd: the helper, both units, and both units wanted by their
#                   targets (the class of bug where dracut 051 left them
#                   copied but enabled by nothing)
#   shell init:     the helper and both hooks
#   a step that does not happen (systemctl failing): dracut exits non-zero
#                   and says what is missing, no image is written
set -uo pipefail
. "$(dirname "$0")/../lib/t.sh"
# shellcheck source=../harness/roots.sh
. "$(dirname "$0")/../harness/roots.sh"
t_require unshare chroot debootstrap

KVER=$ROOTS_KVER
# variant | dracut version its root ships
GENERATIONS=$(cat <<'TABLE'
dracut051 | 051
dracut | 059
dracut106 | 106
TABLE
)
OMIT_SYSTEMD="systemd systemd-initrd systemd-udevd systemd-journald systemd-sysusers systemd-modules-load systemd-tmpfiles systemd-sysctl systemd-ask-password dracut-systemd"

# gen_build ROOT OUT FLAVOUR [dracut args...]: the root's dracut, inside it
# (GEN_ENV: NAME=VALUE words for its environment).
# --no-kernel: the class under test is the module's install(), and leaving
# the kernel's modules out makes an image in seconds.
gen_build() {
	local root=$1 out=$2 flavour=$3
	shift 3
	local omit=()
	[ "$flavour" = shell ] && omit=(--omit "$OMIT_SYSTEMD")
	# the chroot starts from an empty environment: variables go in through env
	# shellcheck disable=SC2086 # NAME=VALUE words
	root_chroot "$root" env ${GEN_ENV-} dracut --force --no-hostonly --no-compress --no-early-microcode --no-kernel \
		"${omit[@]}" --add daxbus "$@" "$out" "$KVER"
}

# gen_list ROOT IMAGE: the image's listing, by the root's own lsinitrd.
gen_list() {
	root_chroot "$1" lsinitrd "$2" 2>/dev/null
}

while IFS='|' read -r variant want; do
	variant=$(trim "$variant") want=$(trim "$want")
	tree=$(root_variant "$variant") || { fail "root $variant" "root_variant $variant failed (build/boot/cache/root-$variant.log)"; continue; }
	root=$T_WORK/gen-$variant
	root_copy "$tree" "$root" || { fail "root $variant" "cannot copy $tree"; continue; }
	if ! make -s -C "$T_TOP" install DESTDIR="$root" prefix=/usr >"$T_WORK/gen-$variant.install.log" 2>&1; then
		fail "make install into the $variant root" "$(tail -n 3 "$T_WORK/gen-$variant.install.log")"
		continue
	fi
	# the package's version: Debian 11's dracut does not know its own
	got=$(root_chroot "$root" dpkg-query -W -f '${Version}' dracut-core 2>/dev/null)
	[ "${got%%-*}" = "$want" ] || { fail "dracut $want in the $variant root" "its dracut-core is '${got:-not installed}'"; continue; }

	# systemd initrd: both units in, both wanted
	if gen_build "$root" /tmp/daxbus-systemd.img systemd >"$root.systemd.log" 2>&1; then
		list=$(gen_list "$root" /tmp/daxbus-systemd.img)
		why=()
		grep -q ' usr/sbin/daxbus$' <<<"$list" || why+=("no usr/sbin/daxbus")
		for u in daxbus-early.service daxbus-root.service; do
			grep -qE " (usr/)?lib/systemd/system/$u\$" <<<"$list" || why+=("no $u")
		done
		grep -qE ' etc/systemd/system/sysinit\.target\.wants/daxbus-early\.service( ->|$)' <<<"$list" ||
			why+=("daxbus-early.service not wanted by sysinit.target")
		grep -qE ' etc/systemd/system/initrd\.target\.wants/daxbus-root\.service( ->|$)' <<<"$list" ||
			why+=("daxbus-root.service not wanted by initrd.target")
		grep -q 'command not found' "$root.systemd.log" && why+=("the build log has 'command not found'")
		if [ ${#why[@]} -eq 0 ]; then
			pass "dracut $want, systemd initrd: helper and both units, both wanted"
		else
			fail "dracut $want, systemd initrd" "${why[@]}" "log: $root.systemd.log"
		fi
	else
		fail "dracut $want, systemd initrd" "dracut failed: $(tail -n 3 "$root.systemd.log")"
	fi

	# shell init: both hooks
	if gen_build "$root" /tmp/daxbus-shell.img shell >"$root.shell.log" 2>&1; then
		list=$(gen_list "$root" /tmp/daxbus-shell.img)
		why=()
		grep -q ' usr/sbin/daxbus$' <<<"$list" || why+=("no usr/sbin/daxbus")
		grep -q 'hooks/pre-udev/05-daxbus-early-hook\.sh$' <<<"$list" || why+=("no pre-udev hook")
		grep -q 'hooks/pre-pivot/50-daxbus-root-hook\.sh$' <<<"$list" || why+=("no pre-pivot hook")
		grep -q 'daxbus-early\.service' <<<"$list" && why+=("units in a shell-init image")
		if [ ${#why[@]} -eq 0 ]; then
			pass "dracut $want, shell init: helper and both hooks"
		else
			fail "dracut $want, shell init" "${why[@]}" "log: $root.shell.log"
		fi
	else
		fail "dracut $want, shell init" "dracut failed: $(tail -n 3 "$root.shell.log")"
	fi

	# A unit that cannot be enabled fails the build: status, message, no image.
	rm -f "$root/tmp/daxbus-broken.img"
	GEN_ENV=SYSTEMCTL=/bin/false gen_build "$root" /tmp/daxbus-broken.img systemd >"$root.broken.log" 2>&1
	rc=$?
	if [ "$rc" != 0 ] && grep -q "daxbus: .*did not enable daxbus-early.service" "$root.broken.log" &&
		[ ! -e "$root/tmp/daxbus-broken.img" ]; then
		pass "dracut $want: units that cannot be enabled fail the build (status $rc, no image)"
	else
		fail "dracut $want: a failed add-wants must fail the build" "status $rc, image $([ -e "$root/tmp/daxbus-broken.img" ] && echo written || echo absent)" \
			"$(grep daxbus "$root.broken.log" | tail -n 3)"
	fi
	rm -rf "$root" "$root".*.log
done <<<"$GENERATIONS"
t_done
