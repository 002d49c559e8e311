#!/bin/bash
# Release and packaging: the `make dist` tarball (built and tested in a clean
# directory without git), builds from a KMOD_SOURCE tarball and tree and the
# refusal of an unknown one, the glibc fallback, the Debian package
# (dpkg-buildpackage, lintian, dpkg -i into real Debian roots with dracut and
# with initramfs-tools, images built there, purge), the RPM (rpmbuild,
# rpm -qlp against `make install`), and the man pages' lint.
#
# Everything is built from the working tree's tracked files (a scratch clone
# with them committed), so uncommitted edits are tested too.  No network:
# kmod comes from the tarball the normal build already fetched.
set -uo pipefail
. "$(dirname "$0")/../lib/t.sh"
# shellcheck source=../harness/roots.sh
. "$(dirname "$0")/../harness/roots.sh"
# shellcheck source=../lib/deb.sh
. "$(dirname "$0")/../lib/deb.sh"
t_require git make tar gzip dpkg-buildpackage dpkg-source dpkg-deb lintian blhc rpmbuild rpm rpm2cpio rpmlint find-debuginfo eu-strip mandoc groff readelf unshare chroot

# Our own make runs must not inherit the caller's (make check's) variables.
unset MAKEFLAGS MAKELEVEL MFLAGS KMOD_SOURCE KMOD_VERIFY KMOD_DEBIAN LIBC B
export DEBIAN_FRONTEND=noninteractive

t0_all=$(boot_now)
# t_time LABEL START: how long a stage took, for the report.
t_time() { echo "# time: $1 $(boot_elapsed "$2") s"; }

version=$(sed -n 's/^VERSION *:= *//p' "$T_TOP/Makefile")
kmod_debian=$(sed -n 's/^KMOD_DEBIAN *?= *//p' "$T_TOP/Makefile")
# KMOD_DEBIAN's row of the table: its orig tarball and that tarball's sha256
read -r kmod_tarball kmod_sha < <(awk -v v="$kmod_debian" '!/^#/ && $3 == v { print $4, $5 }' "$T_TOP/tools/kmod-sources.tsv")
kmod_src=$T_TOP/build/cache/$kmod_tarball
arch=$(dpkg --print-architecture)
if [ -z "$version" ] || [ -z "$kmod_tarball" ] || [ ! -f "$kmod_src" ]; then
	fail "requirement: kmod source" "VERSION='$version' KMOD_DEBIAN='$kmod_debian' tarball '$kmod_src' missing (run make first)"
	t_done
	exit 1
fi
work=$(t_tmp packages)

# ---------------------------------------------------------------- versions
deb_version=$(dpkg-parsechangelog -l "$T_TOP/debian/changelog" -S Version)
v_deb=${deb_version%-*}
v_rpm=$(sed -n 's/^Version: *//p' "$T_TOP/daxbus.spec")
v_man=$(sed -n '1s/.*"daxbus \([^"]*\)".*/\1/p' "$T_TOP/man/daxbus.8" "$T_TOP/man/dracut.daxbus.7" | sort -u | tr '\n' ' ')
if [ "$v_deb" = "$version" ] && [ "$v_rpm" = "$version" ] && [ "$v_man" = "$version " ]; then
	pass "one version everywhere: Makefile, debian/changelog ($deb_version), daxbus.spec, man pages ($version)"
else
	fail "versions" "Makefile $version, debian/changelog $v_deb, daxbus.spec $v_rpm, man pages $v_man"
fi
spec_kmod=$(sed -n 's/^%global kmod_version *//p' "$T_TOP/daxbus.spec")
if awk -v v="$spec_kmod" '!/^#/ && $1 ~ /^upstream-/ && $4 == "kmod-" v ".tar.xz" { f = 1 } END { exit !f }' "$T_TOP/tools/kmod-sources.tsv"; then
	pass "daxbus.spec's kmod_version $spec_kmod has an upstream row in tools/kmod-sources.tsv"
else
	fail "spec kmod_version" "no upstream row for kmod-$spec_kmod.tar.xz"
fi

# ---------------------------------------------------------------- man pages
out=""
for m in "$T_TOP"/man/*.[0-9]; do
	out+=$(groff -ww -z -man "$m" 2>&1)
	out+=$(mandoc -T lint -W style "$m" 2>&1)
done
if [ -z "$out" ]; then pass "man pages: no warnings from groff -ww -z, mandoc -T lint"; else fail "man page lint" "$out"; fi

# ---------------------------------------------------------------- make dist
t0=$(boot_now)
clone=$work/clone
git clone -q "$T_TOP" "$clone" 2>/dev/null || { fail "git clone of the working tree" ""; t_done; exit 1; }
(cd "$clone" && git ls-files -z | xargs -0 -r rm -f)
(cd "$T_TOP" && git ls-files -z | while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done) |
	(cd "$T_TOP" && cpio -0 -pdm --quiet "$clone")
(cd "$clone" && git add -A . && git -c user.name=test -c user.email=test@invalid commit -q --allow-empty -m "working tree snapshot")
(cd "$clone" && git clean -qfdx)

echo "# uncommitted change" >>"$clone/README.md"
out=$(make -C "$clone" dist 2>&1)
rc=$?
if [ $rc != 0 ] && [[ $out == *"uncommitted changes"* ]] && [ ! -e "$clone/build/daxbus-$version.tar.gz" ]; then
	pass "make dist refuses a tree with uncommitted changes"
else
	fail "make dist with a dirty tree" "rc=$rc" "$out"
fi
git -C "$clone" checkout -q README.md
# (the kmod orig tarball from the cache the main build filled: no download)
if out=$(make -C "$clone" dist KMOD_CACHE="$T_TOP/build/cache" 2>&1) && [ -f "$clone/build/daxbus-$version.tar.gz" ]; then
	pass "make dist: build/daxbus-$version.tar.gz"
else
	fail "make dist" "$out"
fi
# The Debian source package's two orig tarballs: the release tarball itself
# and Debian's kmod orig tarball of KMOD_DEBIAN, checked by its row.
orig=$clone/build/daxbus_$version.orig.tar.gz
orig_kmod=$clone/build/daxbus_$version.orig-kmod.tar.xz
if cmp -s "$orig" "$clone/build/daxbus-$version.tar.gz" && [ -f "$orig_kmod" ] &&
	[ "$(sha256sum <"$orig_kmod" | cut -d' ' -f1)" = "$kmod_sha" ]; then
	pass "make dist: daxbus_$version.orig.tar.gz and daxbus_$version.orig-kmod.tar.xz (kmod $kmod_debian, its sha256 in tools/kmod-sources.tsv)"
else
	fail "make dist: the Debian orig tarballs" "$(ls -l "$clone/build")"
fi
coll=$clone/build/daxbus-daxbus-$version.tar.gz
if [ -f "$coll" ] && tar -xzOf "$coll" MANIFEST.json 2>/dev/null | grep -q "\"version\": \"$version\""; then
	pass "make dist: the Ansible collection, build/daxbus-daxbus-$version.tar.gz"
else
	fail "make dist: no Ansible collection daxbus-daxbus-$version.tar.gz of version $version" "$(ls "$clone/build")"
fi
dist=$clone/build/daxbus-$version.tar.gz
expect=$(git -C "$clone" ls-files | sed "s|^|daxbus-$version/|" | LC_ALL=C sort)
actual=$(tar -tzf "$dist" 2>/dev/null | grep -v '/$' | LC_ALL=C sort)
if [ -n "$actual" ] && [ "$actual" = "$expect" ]; then
	pass "tarball holds exactly the tracked files, under daxbus-$version/ ($(wc -l <<<"$actual") files, nothing generated)"
else
	fail "tarball contents" "$(diff <(echo "$expect") <(echo "$actual") | head -20)"
fi

# A clean directory, no git on PATH: a fake git records any call.
src=$work/dist/daxbus-$version
mkdir -p "$work/dist" "$work/nogit"
tar -xzf "$dist" -C "$work/dist"
printf '#!/bin/sh\necho "git $*" >>%q\nexit 127\n' "$work/nogit/calls" >"$work/nogit/git"
chmod +x "$work/nogit/git"
nogit_path=$work/nogit:$PATH
if out=$(PATH=$nogit_path make -C "$src" KMOD_SOURCE="$kmod_src" 2>&1) && [ -x "$src/build/daxbus" ] &&
	! readelf -d "$src/build/daxbus" | grep -q NEEDED && [[ $("$src/build/daxbus" --version | head -n1) == "daxbus $version" ]]; then
	pass "from the tarball: make KMOD_SOURCE=... builds a static build/daxbus"
else
	fail "build from the tarball" "$(tail -n 15 <<<"$out")"
fi
t_time "make dist + build from it" "$t0"

# The hermetic tests, run from the unpacked tarball with its own binary.  A
# representative subset: the kmod oracle (1-2 min, the same libkmod as the
# main run), the dracut image builds and the chroot recipes run in the main
# suite; this proves the tarball carries what the tests need.
t0=$(boot_now)
inner=$work/inner-results
: >"$inner"
ok=1 log=""
for s in helper/build helper/cli reliability/publish dracut/hooks helper/initrd; do
	before=$(wc -l <"$inner")
	o=$(cd "$src" && PATH=$nogit_path T_WORK="$src/build/tests" T_RESULTS="$inner" DAXBUS="$src/build/daxbus" \
		bash "tests/$s.sh" 2>&1)
	[ "$(wc -l <"$inner")" = "$before" ] && { ok=0; log+="tests/$s.sh did not finish"$'\n'; }
	log+=$(grep -E '^(not ok|# [a-z]+\.sh:)' <<<"$o")$'\n'
done
read -r ip if < <(awk '{p+=$1; f+=$2} END {print p+0, f+0}' "$inner")
if [ $ok = 1 ] && [ "$if" = 0 ] && [ "$ip" -gt 0 ]; then
	pass "from the tarball: tests/helper/{build,cli,initrd}.sh, reliability/publish.sh, dracut/hooks.sh: $ip passed, 0 failed"
else
	fail "hermetic tests from the tarball ($ip passed, $if failed)" "$log"
fi
if [ ! -s "$work/nogit/calls" ]; then
	pass "the build and the tests from the tarball never called git"
else
	fail "git used from the tarball" "$(sort -u "$work/nogit/calls" | head)"
fi
t_time "hermetic tests from the tarball" "$t0"

# ---------------------------------------------------------------- KMOD_SOURCE
t0=$(boot_now)
# The same kmod unpacked: a tree checked by the digest of its libkmod/ and
# shared/ sources.  Same sources, same compiler: the same binary.
ktree=$work/kmod-tree
mkdir -p "$ktree"
tar -xf "$kmod_src" -C "$ktree" --strip-components=1
if out=$(make -C "$src" B=build-tree KMOD_SOURCE="$ktree" 2>&1) &&
	grep -qx kind=tree "$src/build-tree/libkmod/source.info" && grep -qx verified=yes "$src/build-tree/libkmod/source.info" &&
	cmp -s "$src/build-tree/daxbus" "$src/build/daxbus"; then
	pass "KMOD_SOURCE=tree: accepted by its tree digest, binary identical to the tarball build"
else
	fail "KMOD_SOURCE=tree" "$(tail -n 10 <<<"$out")" "$(cat "$src/build-tree/libkmod/source.info" 2>/dev/null)"
fi

bad=$work/kmod-bad.tar.xz
cp "$kmod_src" "$bad"
printf 'x' >>"$bad"
out=$(make -C "$src" B=build-bad KMOD_SOURCE="$bad" 2>&1)
rc=$?
if [ $rc != 0 ] && [[ $out == *"is not one we know"* ]] && [ ! -e "$src/build-bad/daxbus" ]; then
	pass "KMOD_SOURCE tarball with an unknown sha256: refused, nothing built"
else
	fail "wrong tarball checksum" "rc=$rc" "$(tail -n 5 <<<"$out")"
fi
echo "/* patched */" >>"$ktree/libkmod/libkmod.c"
out=$(make -C "$src" B=build-bad KMOD_SOURCE="$ktree" 2>&1)
rc=$?
if [ $rc != 0 ] && [[ $out == *"is not one we know"* ]] && [ ! -e "$src/build-bad/daxbus" ]; then
	pass "KMOD_SOURCE tree with a changed file: refused, nothing built"
else
	fail "changed tree" "rc=$rc" "$(tail -n 5 <<<"$out")"
fi
out=$(make -C "$src" B=build-bad KMOD_SOURCE="$ktree" KMOD_VERIFY=no 2>&1)
rc=$?
if [ $rc = 0 ] && [ -x "$src/build-bad/daxbus" ] && grep -q 'WARNING: KMOD_VERIFY=no' <<<"$out" &&
	grep -qx verified=no "$src/build-bad/libkmod/source.info"; then
	pass "KMOD_VERIFY=no: the patched tree builds, with a loud warning"
else
	fail "KMOD_VERIFY=no" "rc=$rc" "$(tail -n 8 <<<"$out")"
fi

# ---------------------------------------------------------------- LIBC=glibc
if out=$(make -C "$src" B=build-glibc KMOD_SOURCE="$kmod_src" LIBC=glibc 2>&1); then
	g=$src/build-glibc/daxbus
	groot=$work/glibc-root
	mkdir -p "$groot/etc"
	dyn=$(readelf -d "$g" 2>&1)
	if ! grep -q NEEDED <<<"$dyn" && file "$g" | grep -q 'statically linked' &&
		[[ $("$g" --version) == "daxbus $version"$'\n'"libkmod "*", glibc" ]] &&
		"$g" enable --root "$groot" 2>/dev/null && cmp -s "$groot/etc/modprobe.d/daxctl.conf" "$POLICY_FILE"; then
		pass "LIBC=glibc: static, no NEEDED, --version and enable --root work ($(stat -c %s "$g") bytes)"
	else
		fail "LIBC=glibc binary" "$(file "$g")" "$dyn"
	fi
else
	fail "LIBC=glibc build" "$(tail -n 10 <<<"$out")"
fi
# Debian 12's kmod (30, autotools era: the other recipe) through the apt
# path; its libkmod must answer exactly as the release's kmod 34 does on
# both kernels, with and without the policy.
if out=$(make -C "$src" B=build-30 KMOD_CACHE="$T_TOP/build/cache" KMOD_DEBIAN=30+20221128-1 2>&1) &&
	grep -qx recipe=30 "$src/build-30/libkmod/source.info"; then
	sroot=$work/status-root
	diffs=""
	for k in $BOOT_KVERS; do
		tree=$("$T_TOP/tools/fetch-kernel.sh" "$k") || { diffs+="no kernel $k"$'\n'; continue; }
		mkdir -p "$sroot/lib/modules"
		cp -al "$tree/lib/modules/$k" "$sroot/lib/modules/"
	done
	for state in none policy; do
		[ $state = policy ] && "$src/build/daxbus" enable --root "$sroot" 2>/dev/null
		for k in $BOOT_KVERS; do
			a=$("$src/build/daxbus" status --root "$sroot" --kver "$k" --json 2>&1)
			b=$("$src/build-30/daxbus" status --root "$sroot" --kver "$k" --json 2>&1)
			[ -n "$a" ] && [ "$a" = "$b" ] || diffs+="$k/$state: $(diff <(echo "$a") <(echo "$b") | head -5)"$'\n'
		done
	done
	if [ -z "$diffs" ]; then
		pass "KMOD_DEBIAN=30+20221128-1 (Debian 12, recipe 30): builds; status --json equals kmod $kmod_debian's on $BOOT_KVERS, with and without policy"
	else
		fail "kmod 30 vs kmod $kmod_debian" "$diffs"
	fi
	rm -rf "$sroot"
else
	fail "KMOD_DEBIAN=30+20221128-1 build" "$(tail -n 10 <<<"$out")"
fi
t_time "KMOD_SOURCE and LIBC builds" "$t0"

# Every file `make install` lays out for PREFIX-style VARS..., "MODE PATH"
# per line (man pages without a compression suffix).
install_listing() {
	local dest=$1
	shift
	rm -rf "$dest"
	make -s -C "$src" install DESTDIR="$dest" KMOD_SOURCE="$kmod_src" "$@" >/dev/null 2>&1 || return 1
	(cd "$dest" && find . -mindepth 1 ! -type d -printf '%m /%P\n' | LC_ALL=C sort)
}

# ---------------------------------------------------------------- Debian package
# As a distribution's build farm does it, all with the network off
# (unshare -n): the source package made from the two orig tarballs of
# `make dist` (dpkg-source -b, kmod unpacked in kmod/ as the README says),
# unpacked again elsewhere (dpkg-source -x puts the component in kmod/) and
# built there with dpkg-buildpackage, source and binary.
t0=$(boot_now)
debdir=$work/deb
mkdir -p "$debdir/up" "$debdir/farm"
cp "$orig" "$orig_kmod" "$debdir/up/"
tar -xzf "$orig" -C "$debdir/up"
out=$(cd "$debdir/up/daxbus-$version" && unshare -n dpkg-buildpackage -us -uc -b 2>&1)
if [ -n "$out" ] && ! [ -e "$debdir/up/daxbus_${deb_version}_$arch.deb" ] &&
	grep -q "no kmod source in kmod/" <<<"$out" && grep -q "orig-kmod.tar.xz" <<<"$out"; then
	pass "dpkg-buildpackage without kmod/: stops naming the component tarball and how to unpack it"
else
	fail "dpkg-buildpackage without kmod/" "$(tail -n 5 <<<"$out")"
fi
mkdir -p "$debdir/up/daxbus-$version/kmod"
tar -xf "$orig_kmod" -C "$debdir/up/daxbus-$version/kmod" --strip-components=1
dsc=$debdir/up/daxbus_$deb_version.dsc
if (cd "$debdir/up/daxbus-$version" && unshare -n dpkg-source -b . >"$debdir/source.log" 2>&1) && [ -f "$dsc" ] &&
	grep -q "daxbus_$version.orig-kmod.tar.xz" "$dsc" && grep -qx 'Format: 3.0 (quilt)' "$dsc"; then
	pass "unshare -n dpkg-source -b: daxbus_$deb_version.dsc, 3.0 (quilt), with the orig-kmod component"
else
	fail "dpkg-source -b" "$(tail -n 10 "$debdir/source.log")"
fi
cp "$dsc" "$debdir/up/daxbus_$deb_version.debian.tar.xz" "$orig" "$orig_kmod" "$debdir/farm/" 2>/dev/null
deb=$debdir/farm/daxbus_${deb_version}_$arch.deb
if (cd "$debdir/farm" && dpkg-source -x "daxbus_$deb_version.dsc" src >"$debdir/extract.log" 2>&1) &&
	[ -f "$debdir/farm/src/kmod/libkmod/libkmod.c" ] &&
	(cd "$debdir/farm/src" && unshare -n dpkg-buildpackage -us -uc >"$debdir/build.log" 2>&1) && [ -f "$deb" ]; then
	pass "dpkg-source -x, then unshare -n dpkg-buildpackage -us -uc: daxbus_${deb_version}_$arch.deb, no network"
	# The boot cells that install it with dpkg take it from build/deb
	# (tests/lib/deb.sh): one dpkg-buildpackage per make check.
	deb_store "$deb" || fail "keeping the .deb for the boot cells" "deb_store $deb failed"
else
	fail "offline build of the source package" "$(tail -n 15 "$debdir/extract.log" "$debdir/build.log" 2>/dev/null)"
fi
is "dpkg-buildpackage: the build log shows each compile command (V=1)" \
	"$(grep -c -- ' -c helper/cli\.c -o build/obj/cli\.o$' "$debdir/build.log")" 1
is "dpkg-buildpackage: libkmod built from kmod/ (the component), checked by its tree digest" \
	"$(grep -c "^libkmod: built .* from kmod ${kmod_debian%%-*} (debian-[0-9]*, tree, recipe" "$debdir/build.log")" 1
# blhc: the compile and link lines carry dpkg-buildflags' flags.
blhc_out=$(blhc "$debdir/build.log" 2>&1)
blhc_rc=$?
while IFS= read -r l; do [ -n "$l" ] && echo "#   blhc: $l"; done <<<"$blhc_out"
if [ $blhc_rc = 0 ] && [ -z "$blhc_out" ]; then
	pass "blhc $(blhc --version 2>/dev/null | sed -n '1s/^blhc \([^ ]*\).*/\1/p'): the build log is clean (flags honoured, verbose)"
else
	fail "blhc (exit $blhc_rc)" "$(head -n 5 <<<"$blhc_out")"
fi
t_time "dpkg-source and dpkg-buildpackage, offline" "$t0"
bu=$(dpkg-deb -f "$deb" Built-Using 2>/dev/null)
musl=$(dpkg-query -W -f='${source:Package} (= ${source:Version})' musl-dev)
is "Built-Using: the kmod and the musl it linked" "$bu" "kmod (= $kmod_debian), $musl"
# Debian's flags honoured, symbols in the debug package: the packaged
# helper is stripped and has a build-id; daxbus-dbgsym holds its symbols,
# which show the stack protector (dpkg-buildflags' -fstack-protector-strong).
mkdir -p "$work/deb-x" && dpkg-deb -x "$deb" "$work/deb-x"
is ".deb: the helper has a build-id" "$(readelf -n "$work/deb-x/usr/sbin/daxbus" 2>/dev/null | grep -c 'Build ID')" 1
is ".deb: the helper is stripped" "$(readelf -S "$work/deb-x/usr/sbin/daxbus" 2>/dev/null | grep -c '\.symtab')" 0
dbgsym=$(find "$debdir/farm" -maxdepth 1 -name "daxbus-dbgsym_${deb_version}_*.*deb" | head -n1)
mkdir -p "$work/dbg-x" && [ -n "$dbgsym" ] && dpkg-deb -x "$dbgsym" "$work/dbg-x"
dbgfile=$(find "$work/dbg-x/usr/lib/debug/.build-id" -name '*.debug' 2>/dev/null | head -n1)
is "daxbus-dbgsym: the helper's symbols, under its build-id" "$([ -n "$dbgfile" ] && nm "$dbgfile" 2>/dev/null | grep -c ' T main$')" 1
is "the helper is built with the stack protector" "$([ -n "$dbgfile" ] && nm "$dbgfile" 2>/dev/null | grep -c '__stack_chk_fail$' | grep -c '^[1-9]')" 1
ctrl=$(dpkg-deb --ctrl-tarfile "$deb" 2>/dev/null | tar -t 2>/dev/null)
scripts=$(dpkg-deb -I "$deb" postinst preinst prerm postrm triggers 2>/dev/null
	dpkg-deb --fsys-tarfile "$deb" | tar -xO ./usr/share/daxbus/package-hook 2>/dev/null)
# Commands, not the messages that name them.
calls=$(grep -vE '^[[:space:]]*(#|echo )' <<<"$scripts" |
	grep -E '(^|[;&|(]|then|do|else|exec)[[:space:]]*(update-initramfs|mkinitramfs|dracut|dpkg-trigger)([[:space:]]|;|$)')
if [ -n "$ctrl" ] && ! grep -qx './triggers' <<<"$ctrl" && [ -z "$calls" ]; then
	pass ".deb: no trigger file, no maintainer script runs update-initramfs or dracut"
else
	fail ".deb control" "$ctrl" "$calls"
fi
# The package's files are `make install`'s, plus documentation.
# (the documentation directory, examples included, is compared on its own below)
expect=$(install_listing "$work/inst-deb" prefix=/usr | sed -E 's|^([0-7]+ /usr/share/man/.*)$|\1.gz|' |
	grep -v -e ' /usr/share/doc/daxbus/')
debdoc=$(dpkg-deb --fsys-tarfile "$deb" | tar -t | sed 's|^\.||')
actual=$(dpkg-deb --fsys-tarfile "$deb" | tar -tv | awk '$1 !~ /^d/ { print $1, substr($6, 2) }' |
	while read -r perm path; do
		m=0
		for i in 1 4 7; do
			d=0
			[ "${perm:i:1}" = r ] && d=$((d + 4))
			[ "${perm:i+1:1}" = w ] && d=$((d + 2))
			[ "${perm:i+2:1}" = x ] && d=$((d + 1))
			m=$m$d
		done
		echo "${m#0} $path"
	done | grep -v -e ' /usr/share/doc/daxbus/' -e ' /usr/share/lintian/overrides/daxbus$' | LC_ALL=C sort)
if [ -n "$expect" ] && [ "$actual" = "$expect" ]; then
	pass ".deb holds exactly make install's files and modes (+ /usr/share/doc/daxbus, lintian overrides)"
else
	fail ".deb vs make install" "$(diff <(echo "$expect") <(echo "$actual") | head -20)"
fi
for f in examples/debian12-daxctl/90-daxctl-device.rules examples/debian12-daxctl/daxdev-reconfigure@.service; do
	grep -qx "/usr/share/doc/daxbus/$f" <<<"$debdoc" || fail ".deb: /usr/share/doc/daxbus/$f" "not in the package"
done

t0=$(boot_now)
lint=$(lintian -I --pedantic --show-overrides "$debdir/farm/daxbus_${deb_version}_$arch.changes" 2>&1 | grep -v 'running with root privileges')
tags=$(grep -E '^[EWIPX]: ' <<<"$lint")
overridden=$(grep -c '^O: ' <<<"$lint")
if [ -z "$tags" ] && [ -n "$lint" ]; then
	pass "lintian -I --pedantic on the source and binary packages: no tags ($overridden overridden, each with its reason in debian/*lintian-overrides)"
else
	fail "lintian" "$tags"
fi
while IFS= read -r l; do echo "#   lintian: $l"; done <<<"$lint"
t_time "lintian" "$t0"

# ---------------------------------------------------------------- Debian 13
# "Built for Debian 13": the same source package built offline inside a
# Debian 13 root by its own toolchain, so the musl it links and declares is
# Debian 13's; the libkmod it links is the release's kmod, as the binary says.
t0=$(boot_now)
if b13=$(root_debootstrap trixie build-essential,debhelper,musl-tools,fakeroot); then
	r13=$work/root-trixie
	root_copy "$b13" "$r13" && mkdir -p "$r13/tmp/b" &&
		cp "$debdir/farm/daxbus_$deb_version.dsc" "$debdir/farm/daxbus_$deb_version.debian.tar.xz" "$orig" "$orig_kmod" "$r13/tmp/b/"
	out=$(root_chroot "$r13" unshare -n sh -c "cd /tmp/b && dpkg-source -x daxbus_$deb_version.dsc src && cd src && dpkg-buildpackage -us -uc -b" 2>&1)
	deb13=$r13/tmp/b/daxbus_${deb_version}_$arch.deb
	if [ -f "$deb13" ]; then
		pass "Debian 13 root: unshare -n dpkg-buildpackage of the source package: daxbus_${deb_version}_$arch.deb"
		musl13=$(root_chroot "$r13" dpkg-query -W -f='${source:Package} (= ${source:Version})' musl-dev)
		mkdir -p "$work/deb13-x" && dpkg-deb -x "$deb13" "$work/deb13-x"
		is "Debian 13 .deb: Built-Using names Debian 13's musl and the kmod it linked" \
			"$(dpkg-deb -f "$deb13" Built-Using)" "kmod (= $kmod_debian), $musl13"
		is "Debian 13's musl is not this machine's ($musl)" "$([ -n "$musl13" ] && [ "$musl13" != "$musl" ] && echo differs)" differs
		is "Debian 13 .deb: the helper says it links kmod ${kmod_debian%%-*}'s libkmod" \
			"$("$work/deb13-x/usr/sbin/daxbus" --version 2>&1 | sed -n 2p)" "libkmod ${kmod_debian%%-*} (debian-${kmod_debian%%.*}), musl"
	else
		fail "Debian 13 root: dpkg-buildpackage" "$(tail -n 15 <<<"$out")"
	fi
	rm -rf "$r13"
	# Used once per CI run: its 742 MB would count against the run's disk
	# budget until the end.  Kept between local runs.
	[ "${CI-}" != true ] || rm -rf "$b13"
else
	fail "Debian 13 build root" "root_debootstrap trixie failed (see build/boot/cache/debootstrap-trixie-*.log)"
fi
t_time "Debian 13 build" "$t0"

# ---------------------------------------------------------------- .deb in real roots
# Hash of every initramfs and kernel in /boot, and the opt-in files: what
# installing the package must not change.
boot_state() {
	local r=$1 f
	(cd "$r/boot" && for f in *; do [ -f "$f" ] && echo "$(sha256sum <"$f" | cut -c1-16) $(stat -c %Y "$f") $f"; done)
	for f in etc/modprobe.d/daxctl.conf etc/dracut.conf.d/daxbus.conf run/modprobe.d/daxctl.conf usr/lib/modprobe.d/daxctl.conf; do
		[ -e "$r/$f" ] || [ -L "$r/$f" ] && echo "present: $f"
	done
	return 0
}

for variant in dracut itools; do
	t0=$(boot_now)
	if ! base=$(root_variant "$variant"); then
		fail "root variant $variant" "root_variant $variant failed (see build/boot/cache/root-$variant.log)"
		continue
	fi
	r=$work/root-$variant
	root_copy "$base" "$r" || { fail "$variant: hard-link copy" ""; continue; }
	cp "$deb" "$r/tmp/daxbus.deb"
	before=$(boot_state "$r")
	out=$(root_chroot "$r" dpkg -i /tmp/daxbus.deb 2>&1)
	rc=$?
	after=$(boot_state "$r")
	if [ $rc = 0 ] && [ -x "$r/usr/sbin/daxbus" ] && [ -f "$r/usr/lib/dracut/modules.d/50daxbus/module-setup.sh" ] &&
		[ -f "$r/usr/share/daxbus/daxctl.conf" ] && [ -f "$r/usr/share/man/man8/daxbus.8.gz" ] &&
		[[ $(root_chroot "$r" daxbus --version 2>&1 | head -n1) == "daxbus $version" ]]; then
		pass "$variant root: dpkg -i installs the helper, module, policy text and man pages"
	else
		fail "$variant root: dpkg -i" "rc=$rc" "$out"
	fi
	if [ -n "$before" ] && [ "$before" = "$after" ] && ! grep -q '^present:' <<<"$after"; then
		pass "$variant root: installing changed no initramfs and installed no policy"
	else
		fail "$variant root: install side effects" "$(diff <(echo "$before") <(echo "$after"))"
	fi

	if [ "$variant" = dracut ]; then
		# The root's own dracut and configuration, asked for the module.
		out=$(root_chroot "$r" dracut --force --no-compress --add daxbus --kver "$ROOTS_KVER" /tmp/daxbus-test.img 2>&1)
		list=$(lsinitrd "$r/tmp/daxbus-test.img" 2>/dev/null)
		# The helper carries the policy text compiled in: the image gets the
		# helper and its early and root steps, and no copy of the policy.
		if grep -q ' usr/sbin/daxbus$' <<<"$list" && grep -q 'daxbus-early' <<<"$list" &&
			grep -q 'daxbus-root' <<<"$list" && ! grep -q 'daxctl\.conf$' <<<"$list"; then
			pass "dracut root: dracut --add daxbus (in the chroot) puts the helper and its two steps in the image, and no policy file"
		else
			fail "dracut root: image" "$(grep daxbus <<<"$list")" "$(tail -n 10 <<<"$out")"
		fi
	else
		# The root's own mkinitramfs, with its configuration but MODULES=list
		# (a small image; the generator is what matters): the package alone
		# must not put daxbus in the image.
		cp -a "$r/etc/initramfs-tools" "$r/tmp/itools-conf"
		sed -i 's/^MODULES=.*/MODULES=list/' "$r/tmp/itools-conf/initramfs.conf"
		out=$(root_chroot "$r" mkinitramfs -d /tmp/itools-conf -o /tmp/daxbus-test.img "$ROOTS_KVER" 2>&1)
		rc=$?
		list=$(root_chroot "$r" lsinitramfs /tmp/daxbus-test.img 2>/dev/null)
		if [ $rc = 0 ] && grep -q 'usr/bin/udevadm\|bin/udevadm' <<<"$list" && ! grep -q 'daxbus' <<<"$list"; then
			pass "itools root: mkinitramfs with the package installed: image built, no daxbus in it without opt-in"
		else
			fail "itools root: mkinitramfs" "rc=$rc" "$(tail -n 10 <<<"$out")" "$(grep daxbus <<<"$list")"
		fi
	fi

	# Purge without opt-in: quiet, everything gone.
	if [ "$variant" = itools ]; then
		out=$(root_chroot "$r" dpkg --purge daxbus 2>&1)
		if [ ! -e "$r/usr/sbin/daxbus" ] && [ ! -e "$r/usr/lib/dracut/modules.d/50daxbus" ] && ! grep -q 'left in place' <<<"$out"; then
			pass "itools root: purge without opt-in removes everything, no note"
		else
			fail "itools root: plain purge" "$out"
		fi
		root_chroot "$r" dpkg -i /tmp/daxbus.deb >/dev/null 2>&1
	fi
	# The user opts in, then purges: their files stay, the note names them.
	if [ "$variant" = dracut ]; then enable=(daxbus enable --dracut); else enable=(daxbus enable); fi
	root_chroot "$r" "${enable[@]}" >/dev/null 2>&1
	out=$(root_chroot "$r" dpkg --purge daxbus 2>&1)
	rc=$?
	purge_out=$out
	kept=1
	cmp -s "$r/etc/modprobe.d/daxctl.conf" "$POLICY_FILE" || kept=0
	[ "$variant" = dracut ] && { [ -f "$r/etc/dracut.conf.d/daxbus.conf" ] || kept=0; }
	if [ $rc = 0 ] && [ $kept = 1 ] && [ ! -e "$r/usr/sbin/daxbus" ] &&
		grep -q '/etc/modprobe.d/daxctl.conf' <<<"$out" && grep -q 'daxbus disable' <<<"$out" &&
		{ [ "$variant" != dracut ] || grep -q '/etc/dracut.conf.d/daxbus.conf' <<<"$out"; }; then
		pass "$variant root: purge after '${enable[*]}' leaves the user's files and says where they are"
	else
		fail "$variant root: purge with opt-in files" "rc=$rc kept=$kept" "$out"
	fi
	if [ "$variant" = dracut ]; then
		# The drop-in left behind asks for nothing: the root's dracut still builds.
		out=$(root_chroot "$r" dracut --force --no-compress --no-kernel --kver "$ROOTS_KVER" /tmp/after-purge.img 2>&1)
		rc=$?
		if [ $rc = 0 ] && [ -s "$r/tmp/after-purge.img" ] && grep -q 'harmless once the package is gone' <<<"$purge_out"; then
			pass "dracut root: after the purge, the drop-in left behind does not break the root's dracut"
		else
			fail "dracut root: dracut after the purge" "rc=$rc" "$(tail -n 5 <<<"$out")"
		fi
		# Upgrade from 0.1: its unconditional drop-in becomes today's text.
		cp "$T_TOP/dracut/daxbus-0.1.conf" "$r/etc/dracut.conf.d/daxbus.conf"
		out=$(root_chroot "$r" dpkg -i /tmp/daxbus.deb 2>&1)
		if cmp -s "$r/etc/dracut.conf.d/daxbus.conf" "$T_TOP/dracut/daxbus.conf" && grep -q "(daxbus 0.1's) replaced" <<<"$out"; then
			pass "dracut root: installing over daxbus 0.1's drop-in replaces it with today's (and says so)"
		else
			fail "dracut root: 0.1 drop-in upgrade" "$out"
		fi
		printf '# mine\nadd_dracutmodules+=" daxbus "\n' >"$r/etc/dracut.conf.d/daxbus.conf"
		root_chroot "$r" dpkg -i /tmp/daxbus.deb >/dev/null 2>&1
		out=$(root_chroot "$r" dpkg -r daxbus 2>&1)
		if grep -q '# mine' "$r/etc/dracut.conf.d/daxbus.conf" && grep -q 'every dracut run fails once the package is gone' <<<"$out"; then
			pass "dracut root: an administrator's drop-in is never changed; removal warns that it breaks dracut"
		else
			fail "dracut root: administrator's drop-in" "$out" "$(cat "$r/etc/dracut.conf.d/daxbus.conf")"
		fi
	fi
	rm -rf "$r"
	t_time "$variant root" "$t0"
done

# ---------------------------------------------------------------- RPM
t0=$(boot_now)
top=$work/rpm
mkdir -p "$top/SOURCES"
cp "$dist" "$top/SOURCES/"
# --nodeps: Debian's rpm has an empty package database, so every
# BuildRequires (make, musl-gcc, ...) would count as missing although the
# Debian equivalents are installed.  unshare -n: no network, as in a build
# farm.  With no kmod tarball beside the daxbus tarball, the build stops in
# %prep naming the file and where it comes from.
if ! out=$(unshare -n rpmbuild -ta --nodeps --define "_topdir $top" "$top/SOURCES/$(basename "$dist")" 2>&1) &&
	grep -q "kmod-[0-9.]*\.tar\.xz is missing" <<<"$out" &&
	grep -q 'https://www.kernel.org/pub/linux/utils/kernel/kmod/' <<<"$out"; then
	pass "rpmbuild -ta offline without the kmod tarball: stops naming it and where to get it"
else
	fail "rpmbuild -ta without the kmod tarball" "$(tail -n 8 <<<"$out")"
fi
# Beside the daxbus tarball, as rpmbuild -ta expects Source1 (the source
# package takes it from there).  kernel.org cannot be reached from here, so
# the Debian orig tarball (tools/kmod-sources.tsv) stands in for Source1.
# Debian's rpm has no redhat-rpm-config: these two macros are what Fedora's
# adds so that every package gets a -debuginfo package.
cat >"$top/debuginfo.macros" <<'MACROS'
%_enable_debug_packages 1
%install %{?_enable_debug_packages:%{?buildsubdir:%{debug_package}}}\
%%install\
%{nil}
MACROS
cp "$kmod_src" "$top/SOURCES/"
if unshare -n rpmbuild -ta --nodeps --load "$top/debuginfo.macros" --define "_topdir $top" --define "kmod_tarball $kmod_tarball" \
	"$top/SOURCES/$(basename "$dist")" >"$top/build.log" 2>&1; then
	pass "rpmbuild -ta offline, the kmod tarball beside the daxbus tarball"
else
	fail "rpmbuild -ta" "$(tail -n 15 "$top/build.log")"
fi
is "rpmbuild: the build log shows each compile command (V=1)" \
	"$(grep -c -- ' -c helper/cli\.c -o build/obj/cli\.o$' "$top/build.log")" 1
# The distribution's flags: %{build_cflags} as this rpm defines them.
rpm_cflags=$(rpm --eval '%{?build_cflags}')
is "rpmbuild: the compile lines carry %{build_cflags} ($rpm_cflags)" \
	"$(grep -- ' -c helper/cli\.c -o build/obj/cli\.o$' "$top/build.log" | grep -cF -- " $rpm_cflags ")" 1
rpmfile=$(find "$top/RPMS" -name "daxbus-$version-*.rpm" ! -name '*debuginfo*' 2>/dev/null | head -n1)
dbgrpm=$(find "$top/RPMS" -name "daxbus-debuginfo-$version-*.rpm" 2>/dev/null | head -n1)
mkdir -p "$work/rpm-dbg" && [ -n "$dbgrpm" ] && (cd "$work/rpm-dbg" && rpm2cpio "$dbgrpm" | cpio -id --quiet 2>/dev/null)
dbgfile=$(find "$work/rpm-dbg/usr/lib/debug/.build-id" -name '*.debug' 2>/dev/null | head -n1)
is "daxbus-debuginfo: the helper's symbols, under its build-id" "$([ -n "$dbgfile" ] && nm "$dbgfile" 2>/dev/null | grep -c ' T main$')" 1
mkdir -p "$work/rpm-x" && [ -n "$rpmfile" ] && (cd "$work/rpm-x" && rpm2cpio "$rpmfile" | cpio -id --quiet 2>/dev/null)
is "rpm: the packaged helper is stripped, with a build-id" \
	"$(readelf -S "$work/rpm-x/usr/sbin/daxbus" 2>/dev/null | grep -c '\.symtab') $(readelf -n "$work/rpm-x/usr/sbin/daxbus" 2>/dev/null | grep -c 'Build ID')" "0 1"
is "rpm: Provides bundled(libkmod) = the kmod it links" \
	"$(rpm -qp --provides "$rpmfile" 2>/dev/null | grep -c "^bundled(libkmod) = ${kmod_debian%%-*}$")" 1
# rpmlint: every tag it gives is one the spec explains (its "rpmlint TAG"
# comment lines), and every explained tag still occurs.
explained=$(sed -n 's/^#  *rpmlint \([a-z][^:]*\):.*/\1/p' "$T_TOP/daxbus.spec" | tr ',' '\n' | tr -d ' ' | LC_ALL=C sort -u)
srpm=$(find "$top/SRPMS" -name "daxbus-$version-*.src.rpm" | head -n1)
lint=$(cd "$T_TOP" && rpmlint daxbus.spec "$srpm" "$rpmfile" "$dbgrpm" 2>&1)
while IFS= read -r l; do echo "#   rpmlint: $l"; done <<<"$(grep -E ': [EW]: |checked' <<<"$lint")"
given=$(grep -oE ': [EW]: [a-z0-9-]+' <<<"$lint" | sed 's/^: [EW]: //' | LC_ALL=C sort -u)
if [ -n "$srpm" ] && [ -n "$dbgrpm" ] && [ -n "$given" ] && [ "$given" = "$explained" ]; then
	pass "rpmlint $(rpmlint --version 2>/dev/null | head -n1) on the spec, source, binary and debuginfo packages: each of its $(wc -l <<<"$given") tags explained in daxbus.spec"
else
	fail "rpmlint: tags given and tags explained differ" "$(diff <(echo "$explained") <(echo "$given"))"
fi
# Files (not directories) with their modes, as make install lays them out
# with rpm's own directory macros; rpm adds %license and %doc.
expect=$(install_listing "$work/inst-rpm" prefix="$(rpm --eval '%{_prefix}')" sbindir="$(rpm --eval '%{_sbindir}')" \
	datadir="$(rpm --eval '%{_datadir}')" mandir="$(rpm --eval '%{_mandir}')" \
	DRACUT_MODULES_DIR="$(rpm --eval '%{_prefix}')/lib/dracut/modules.d" |
	grep -v -e ' /usr/share/initramfs-tools/' -e ' /usr/share/man/man7/initramfs-tools\.daxbus\.7$' -e ' /usr/share/doc/daxbus/')
rpmlist=$(rpm -qp --qf '[%{FILEMODES:octal} %{FILENAMES}\n]' "$rpmfile" 2>/dev/null)
is "rpm License: daxbus, libkmod and musl (built with musl)" \
	"$(rpm -qp --qf '%{LICENSE}' "$rpmfile" 2>/dev/null)" "GPL-2.0-only AND LGPL-2.1-or-later AND MIT"
actual=$(awk '$1 !~ /^4/ { print substr($1, length($1) - 2), $2 }' <<<"$rpmlist" |
	sed -E 's/\.(gz|xz|bz2|zst)$//' | grep -v -e " /usr/share/doc/daxbus" -e " /usr/share/licenses/daxbus" -e " /usr/lib/\.build-id/" | LC_ALL=C sort)
dirs_ok=1
while read -r d; do
	[ -d "$work/inst-rpm$d" ] || { dirs_ok=0; echo "# rpm directory not made by make install: $d"; }
done < <(awk '$1 ~ /^4/ { print $2 }' <<<"$rpmlist" | grep -v -e '^/usr/share/doc/daxbus' -e '^/usr/share/licenses/daxbus' -e '^/usr/lib/\.build-id')
if [ -n "$rpmfile" ] && [ -n "$expect" ] && [ "$actual" = "$expect" ] && [ $dirs_ok = 1 ] &&
	grep -q '^[0-7]* /usr/share/licenses/daxbus.*/LICENSE$' <<<"$rpmlist"; then
	pass "rpm -qlp: every file and mode is make install's (+ %license, %doc, rpm's build-id link)"
else
	fail "rpm vs make install" "$(diff <(echo "$expect") <(echo "$actual") | head -20)"
fi
grep -q '^[0-7]* /usr/share/doc/daxbus[^/]*/examples/debian12-daxctl/daxdev-reconfigure@\.service$' <<<"$rpmlist" ||
	fail "rpm: the daxctl examples" "no examples/debian12-daxctl/daxdev-reconfigure@.service under /usr/share/doc"
t_time "rpmbuild" "$t0"

t_time "tests/packages/packages.sh" "$t0_all"
rm -rf "$work"
t_done
