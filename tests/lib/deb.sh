# shellcheck shell=bash
# The daxbus .deb of the working tree, built once and kept in build/deb/KEY/,
# where KEY is a digest of the tracked files as they are on disk (edits not
# yet committed included) and of the kmod tarball the build uses.  The boot
# cells that install the package with dpkg take it from there;
# tests/packages/packages.sh, which builds it itself as a test, stores its result
# there, so `make check` runs dpkg-buildpackage once.  Source after
# tests/harness/base.sh (BOOT_TOP, BOOT_BUILD, boot_die, boot_log, boot_locked).
#
#   deb_key            -> KEY of the current tree
#   deb_store DEB      keep DEB (built from this tree) as KEY's package
#   deb_package        -> path of KEY's package, built here when missing
#   deb_repo           -> a flat apt repository of files holding it (Packages,
#                         Release, daxbus.deb), for guests that install by name:
#                         DEB_REPO_PUT puts it at /srv/daxbus-repo in a disk
#                         and leaves its /etc/apt/sources.list a comment

DEB_CACHE=$BOOT_BUILD/deb

# The kmod tarball the Makefile's default KMOD_DEBIAN uses: already
# downloaded by `make`, so building the package needs no network.
_deb_kmod_tarball() {
	local v t
	v=$(sed -n 's/^KMOD_DEBIAN *?= *//p' "$BOOT_TOP/Makefile")
	t=$(awk -v v="$v" '!/^#/ && $3 == v { print $4 }' "$BOOT_TOP/tools/kmod-sources.tsv")
	if [ -z "$t" ] || [ ! -f "$BOOT_BUILD/cache/$t" ]; then
		boot_die "no kmod tarball for KMOD_DEBIAN='$v' in $BOOT_BUILD/cache (run make first)"
		return 1
	fi
	echo "$BOOT_BUILD/cache/$t"
}

# The tracked files (as a release tarball would hold them) with their modes
# and contents, the kmod tarball and the architecture.  One stat and one
# sha256sum for all the files: two processes per file took 10 to 15 s, and
# every boot that puts the package in its disk asks for the key.
deb_key() {
	local kmod
	command -v git >/dev/null || { boot_die "deb_key: git is needed to list the tracked files"; return 1; }
	kmod=$(_deb_kmod_tarball) || return 1
	{
		(
			cd "$BOOT_TOP" || exit 1
			tracked() { git ls-files -z | while IFS= read -r -d '' f; do [ -f "$f" ] && printf '%s\0' "$f"; done; }
			tracked | xargs -0 -r stat -c '%a %n' -- && tracked | xargs -0 -r sha256sum --
		) || exit 1
		echo "$(basename "$kmod") $(dpkg --print-architecture)"
	} | sha256sum | cut -d' ' -f1
}

# deb_store DEB [KEY]: a copy under KEY (default: the tree's), published
# with a rename so a reader never sees half a file.
deb_store() {
	local deb=${1:?deb_store DEB [KEY]} key=${2-} dir
	[ -f "$deb" ] || { boot_die "deb_store: no file $deb"; return 1; }
	[ -n "$key" ] || key=$(deb_key) || return 1
	dir=$DEB_CACHE/$key
	mkdir -p "$dir"
	cp "$deb" "$dir/.$(basename "$deb").tmp" && mv "$dir/.$(basename "$deb").tmp" "$dir/$(basename "$deb")"
}

deb_package() {
	boot_locked deb _deb_package
}

_deb_package() {
	local key version dversion arch dir deb kmod work t0
	key=$(deb_key) || return 1
	version=$(sed -n 's/^VERSION *:= *//p' "$BOOT_TOP/Makefile")
	# the package's own version: VERSION and the Debian revision
	dversion=$(dpkg-parsechangelog -l "$BOOT_TOP/debian/changelog" -S Version) || return 1
	arch=$(dpkg --print-architecture)
	dir=$DEB_CACHE/$key
	deb=$dir/daxbus_${dversion}_$arch.deb
	if [ ! -f "$deb" ]; then
		command -v dpkg-buildpackage >/dev/null || { boot_die "dpkg-buildpackage is not installed (tools/deps.sh package)"; return 1; }
		kmod=$(_deb_kmod_tarball) || return 1
		t0=$(boot_now)
		# Old keys are old trees: only the newest package is worth keeping.
		rm -rf "${DEB_CACHE:?}"/*/ "$DEB_CACHE"/.build.*
		mkdir -p "$DEB_CACHE"
		work=$(mktemp -d "$DEB_CACHE/.build.XXXXXX")
		mkdir -p "$work/daxbus-$version"
		# The tracked files only, as packages.sh builds it (from make dist).
		if ! (cd "$BOOT_TOP" && git ls-files -z | while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
			cpio -0 -pdm --quiet "$work/daxbus-$version") ||
			! (cd "$work/daxbus-$version" && KMOD_SOURCE=$kmod dpkg-buildpackage -us -uc -b >"$work/build.log" 2>&1) ||
			[ ! -f "$work/daxbus_${dversion}_$arch.deb" ]; then
			tail -n 15 "$work/build.log" >&2
			cp "$work/build.log" "$DEB_CACHE/build.log" 2>/dev/null
			rm -rf "$work"
			boot_die "dpkg-buildpackage of the working tree failed, see $DEB_CACHE/build.log"
			return 1
		fi
		deb_store "$work/daxbus_${dversion}_$arch.deb" "$key" || { rm -rf "$work"; return 1; }
		rm -rf "$work"
		boot_log "deb: daxbus_${dversion}_$arch.deb built in $(boot_elapsed "$t0") s (key ${key:0:12})"
	fi
	echo "$deb"
}

# A flat repository, `deb [trusted=yes] file:/srv/daxbus-repo ./` (unsigned:
# the guests trust it by that option, as a local repository of files).
deb_repo() { boot_locked deb-repo _deb_repo; }
_deb_repo() {
	local deb dir
	deb=$(deb_package) || return 1
	dir=${deb%/*}/repo
	if [ ! -s "$dir/Release" ]; then
		command -v dpkg-scanpackages >/dev/null || { boot_die "dpkg-scanpackages is not installed (dpkg-dev)"; return 1; }
		rm -rf "$dir" && mkdir -p "$dir" && cp "$deb" "$dir/daxbus.deb" || return 1
		if ! (cd "$dir" && dpkg-scanpackages -m . /dev/null >Packages 2>/dev/null) || ! grep -q '^Package: daxbus$' "$dir/Packages"; then
			boot_die "dpkg-scanpackages found no daxbus package in $dir"
			return 1
		fi
		{
			echo "Date: $(LC_ALL=C date -Ru)"
			echo "SHA256:"
			echo " $(sha256sum <"$dir/Packages" | cut -d' ' -f1) $(stat -c %s "$dir/Packages") Packages"
		} >"$dir/Release.tmp" && mv "$dir/Release.tmp" "$dir/Release"
	fi
	echo "$dir"
}
# for put=fn:FUNC:PATH (FUNC BOOT RAW prints the host file)
deb_repo_deb() { local d; d=$(deb_repo) && echo "$d/daxbus.deb"; }
deb_repo_packages() { local d; d=$(deb_repo) && echo "$d/Packages"; }
deb_repo_release() { local d; d=$(deb_repo) && echo "$d/Release"; }
# shellcheck disable=SC2034 # for the families' cells
DEB_REPO_PUT="fn:deb_repo_deb:/srv/daxbus-repo/daxbus.deb fn:deb_repo_packages:/srv/daxbus-repo/Packages \
fn:deb_repo_release:/srv/daxbus-repo/Release $BOOT_TOP/tests/lib/no-archive.list:/etc/apt/sources.list"
