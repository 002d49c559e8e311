#!/bin/bash
# Build a static, symbol-localised libkmod from a known kmod source.  Debian
# ships no libkmod.a and its libkmod.so is glibc-only, so the helper compiles
# libkmod/*.c and shared/*.c itself with a small config.h.
#
# usage: tools/libkmod.sh OUTDIR CACHEDIR     build (a no-op when nothing changed)
#        tools/libkmod.sh --digest TREE        print the tree digest of a kmod tree
#        tools/libkmod.sh --fetch CACHEDIR     fetch KMOD_DEBIAN's orig tarball into
#                                              CACHEDIR (once), check it, print its path
#
# Which source (the Makefile passes its variables of the same names):
#   KMOD_SOURCE  a kmod tarball or unpacked tree; its sha256 (tarball) or tree
#                digest must be a row of tools/kmod-sources.tsv.  No apt.
#   KMOD_DEBIAN  otherwise: this Debian source version, fetched once with
#                apt-get source into CACHEDIR (the default on Debian).
#   KMOD_VERIFY  no: accept a KMOD_SOURCE in no row (patched kmod), loudly.
#   CC           the compiler: musl-gcc (default) or gcc (LIBC=glibc).
#
# Output: OUTDIR/libkmod.o (one relocatable object whose only global symbols
# are libkmod's public API), OUTDIR/include/libkmod.h, and OUTDIR/source.info
# (name, recipe, versions, checksum: what debian/rules reads for Built-Using).
# OUTDIR/.key records the inputs; with the same inputs nothing is touched, so
# make can run this every time without relinking the helper.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
table=$here/kmod-sources.tsv

die() { echo "libkmod: $*" >&2; exit 1; }

# Digest of exactly the files a recipe may compile or include.
tree_digest() {
	(cd "$1" && LC_ALL=C sha256sum libkmod/*.[ch] shared/*.[ch] | LC_ALL=C sort -k2 | sha256sum | cut -d' ' -f1)
}

if [ "${1-}" = --digest ]; then
	[ -f "${2:?usage: libkmod.sh --digest TREE}/libkmod/libkmod.h" ] || die "$2: not a kmod source tree"
	tree_digest "$2"
	exit 0
fi

fetch_only=no
if [ "${1-}" = --fetch ]; then
	fetch_only=yes
	set -- - "${2:?usage: libkmod.sh --fetch CACHEDIR}"
	KMOD_SOURCE=
fi
out=${1:?usage: libkmod.sh OUTDIR CACHEDIR}
cache=${2:?usage: libkmod.sh OUTDIR CACHEDIR}
CC=${CC:-musl-gcc}
KMOD_DEBIAN=${KMOD_DEBIAN:-34.2-2}
KMOD_SOURCE=${KMOD_SOURCE:-}
KMOD_VERIFY=${KMOD_VERIFY:-yes}
case $KMOD_VERIFY in yes | no) ;; *) die "KMOD_VERIFY must be yes or no, not '$KMOD_VERIFY'" ;; esac
[ $fetch_only = yes ] || command -v "$CC" >/dev/null || die "compiler '$CC' not found (musl-gcc: Debian's musl-tools; or make LIBC=glibc)"

# row FIELD VALUE -> the first row whose FIELD (1-based column) is VALUE
row() {
	awk -v f="$1" -v v="$2" '!/^#/ && NF >= 6 && $f == v { print; exit }' "$table"
}

loud() {
	local l
	{
		echo "libkmod: ********************************************************************"
		for l in "$@"; do echo "libkmod: $l"; done
		echo "libkmod: ********************************************************************"
	} >&2
}

# Which source, its identity and its row.
mkdir -p "$cache"
cache=$(cd "$cache" && pwd)
kind='' path='' sum='' line=''
if [ -z "$KMOD_SOURCE" ]; then
	line=$(row 3 "$KMOD_DEBIAN")
	[ -n "$line" ] || die "KMOD_DEBIAN=$KMOD_DEBIAN is in no row of $table"
	read -r _ _ _ tarball want _ <<<"$line"
	kind=tarball path=$cache/$tarball
	if [ ! -e "$path" ]; then
		command -v apt-get >/dev/null ||
			die "no KMOD_SOURCE given and no apt-get to fetch Debian's kmod $KMOD_DEBIAN: download a kmod tarball listed in $table and run make KMOD_SOURCE=/path/to/it (README: Building on other distributions)"
		exec 9>"$cache/.kmod-fetch.lock"
		flock 9
		if [ ! -e "$path" ]; then
			apt_conf=$("$here/apt-private.sh" "$cache/apt")
			# Only the orig tarball is needed, and apt checks each file
			# against the signed Sources index as it downloads it; some
			# archive mirrors lack a .dsc, so a failure counts only if the
			# tarball did not arrive.
			(cd "$cache" && APT_CONFIG=$apt_conf apt-get -q source --download-only "kmod=$KMOD_DEBIAN" >"$cache/apt-source.log" 2>&1) ||
				[ -e "$path" ] || { tail -n 5 "$cache/apt-source.log" | sed 's|https\?://[^ ]*|<uri>|g' >&2; die "apt-get source kmod=$KMOD_DEBIAN failed (log: $cache/apt-source.log)"; }
		fi
		exec 9>&-
	fi
	sum=$(sha256sum <"$path" | cut -d' ' -f1)
	[ "$sum" = "$want" ] || die "sha256 mismatch for $path: $sum, expected $want"
	[ $fetch_only = no ] || { echo "$path"; exit 0; }
elif [ -d "$KMOD_SOURCE" ]; then
	kind=tree path=$(cd "$KMOD_SOURCE" && pwd)
	[ -f "$path/libkmod/libkmod.h" ] || die "KMOD_SOURCE=$KMOD_SOURCE: not a kmod source tree (no libkmod/libkmod.h)"
	sum=$(tree_digest "$path")
	line=$(row 6 "$sum")
elif [ -f "$KMOD_SOURCE" ]; then
	kind=tarball path=$(cd "$(dirname "$KMOD_SOURCE")" && pwd)/$(basename "$KMOD_SOURCE")
	sum=$(sha256sum <"$path" | cut -d' ' -f1)
	line=$(row 5 "$sum")
else
	die "KMOD_SOURCE=$KMOD_SOURCE: no such file or directory"
fi

verified=yes
if [ -z "$line" ]; then
	if [ "$KMOD_VERIFY" != no ]; then
		{
			echo "libkmod: $path: $kind checksum $sum is not one we know."
			echo "libkmod: Known sources ($table):"
			awk '!/^#/ && NF >= 6 { printf "libkmod:   %-12s %s\n", $1, $4 }' "$table"
			echo "libkmod: For a patched kmod, KMOD_VERIFY=no builds it anyway (with a warning)."
		} >&2
		exit 1
	fi
	verified=no
fi
if [ "$KMOD_VERIFY" = no ]; then
	loud "WARNING: KMOD_VERIFY=no: the kmod source is NOT checked against tools/kmod-sources.tsv" \
		"  $kind $path" "  checksum $sum${line:+ (it matches row '${line%% *}' anyway)}" \
		"  The helper will be built from whatever libkmod this is."
fi

# Up to date?  Everything that decides the object goes into the key.
key=$({
	cat "$0" "$table"
	echo "$CC $(command -v "$CC") $kind $sum $KMOD_VERIFY"
	"$CC" -dumpversion 2>/dev/null || true
} | sha256sum | cut -d' ' -f1)
if [ "$(cat "$out/.key" 2>/dev/null)" = "$key" ] && [ -e "$out/libkmod.o" ] && [ -e "$out/include/libkmod.h" ]; then
	exit 0
fi

mkdir -p "$out"
out=$(cd "$out" && pwd)
src="$out/src"
rm -rf "$src" "$out/obj" "$out/.key"
mkdir -p "$src" "$out/obj" "$out/include"
if [ "$kind" = tarball ]; then
	tar -xf "$path" -C "$src" --strip-components=1 || die "cannot unpack $path"
else
	cp -a "$path/libkmod" "$path/shared" "$src/"
	[ -f "$path/configure.ac" ] && cp "$path/configure.ac" "$src/"
fi
[ -f "$src/libkmod/libkmod.h" ] || die "$path holds no libkmod/libkmod.h"

# The recipe: from the row, or for an unverified source from its version.
version=$(awk '/^AC_INIT/ { getline; gsub(/[][ \t,]/, ""); print; exit }' "$src/configure.ac" 2>/dev/null || true)
if [ -n "$line" ]; then
	read -r name recipe debver _ <<<"$line"
else
	name=unverified debver=-
	case $version in
	"") die "cannot tell the kmod version of $path (no AC_INIT in configure.ac)" ;;
	[12][0-9] | 3[0-3] | [12][0-9].* | 3[0-3].*) recipe=30 ;;
	*) recipe=34 ;;
	esac
fi

# 1 if HEADER declares SYMBOL (function or macro) with _GNU_SOURCE.
probe_decl() {
	if printf '#include <%s>\n#ifndef %s\nvoid *daxbus_probe = (void *)%s;\n#endif\n' "$1" "$2" "$2" |
		"$CC" -D_GNU_SOURCE -x c -c -o /dev/null - 2>/dev/null; then
		echo 1
	else
		echo 0
	fi
}

# Only what libkmod's sources test for.
common_config() {
	cat <<CONF
#define _GNU_SOURCE 1
#define PACKAGE "kmod"
#define VERSION "${version:-unknown}"
#define SYSCONFDIR "/etc"
#define ENABLE_LOGGING 1
#define HAVE_SECURE_GETENV 1
#define HAVE_STRUCT_STAT_ST_MTIM 1
#define HAVE_STATIC_ASSERT 1
#define HAVE_NORETURN 1
#define HAVE___BUILTIN_UADDL_OVERFLOW 1
#define HAVE___BUILTIN_UADDLL_OVERFLOW 1
CONF
}

recipe_30() {
	{
		common_config
		echo "#define HAVE_DECL_STRNDUPA $(probe_decl string.h strndupa)"
		echo "#define HAVE_DECL_BE32TOH $(probe_decl endian.h be32toh)"
		echo '#define KMOD_FEATURES ""'
	} >"$src/config.h"
	files=("$src"/libkmod/libkmod*.c "$src"/shared/{array,hash,scratchbuf,strbuf,util}.c)
}

recipe_34() {
	{
		common_config
		cat <<'CONF'
#define DISTCONFDIR "/usr/lib"
#define MODULE_DIRECTORY "/lib/modules"
#define ENABLE_DEBUG 0
#define ENABLE_ELFDBG 0
#define ENABLE_XZ 0
#define ENABLE_XZ_DLOPEN 0
#define ENABLE_ZLIB 0
#define ENABLE_ZLIB_DLOPEN 0
#define ENABLE_ZSTD 0
#define ENABLE_ZSTD_DLOPEN 0
#define ENABLE_OPENSSL 0
#define HAVE___BUILTIN_CLZ 1
#define HAVE___BUILTIN_TYPES_COMPATIBLE_P 1
#define HAVE___BUILTIN_UADD_OVERFLOW 1
#define HAVE___BUILTIN_UMUL_OVERFLOW 1
#define HAVE___BUILTIN_UMULL_OVERFLOW 1
#define HAVE___BUILTIN_UMULLL_OVERFLOW 1
#define HAVE_DECL___XSTAT 0
#define KMOD_FEATURES "-ZSTD -XZ -ZLIB -OPENSSL"
CONF
		echo "#define HAVE_DECL_BASENAME $(probe_decl string.h basename)"
	} >"$src/config.h"
	local f
	files=()
	for f in "$src"/libkmod/libkmod*.c; do
		case ${f##*/} in libkmod-file-xz.c | libkmod-file-zlib.c | libkmod-file-zstd.c) continue ;; esac
		files+=("$f")
	done
	files+=("$src"/shared/{array,hash,strbuf,util}.c)
}

files=()
case $recipe in
30) recipe_30 ;;
34) recipe_34 ;;
*) die "row '$name' names unknown recipe '$recipe'" ;;
esac

# Compiled from inside the tree with relative names: __FILE__ (in libkmod's
# log calls) then names libkmod/x.c, not the build directory, so the same
# source gives the same binary wherever it is built.
objs=()
for f in "${files[@]}"; do
	[ -f "$f" ] || die "recipe $recipe: $f missing from $path"
	o="$out/obj/$(basename "${f%.c}").o"
	(cd "$src" && "$CC" -std=gnu11 -Os -fPIE -ffunction-sections -fdata-sections -fvisibility=hidden \
		-include config.h -I . -w -c "${f#"$src"/}" -o "$o") || die "compiling $f failed (recipe $recipe)"
	objs+=("$o")
done
# One object, internal names (hash_new, strbuf_*, ...) made local so they
# cannot collide with the helper's own symbols.
ld -r -o "$out/obj/libkmod-all.o" "${objs[@]}"
objcopy --localize-hidden "$out/obj/libkmod-all.o" "$out/libkmod.o.tmp"
mv "$out/libkmod.o.tmp" "$out/libkmod.o"
cp "$src/libkmod/libkmod.h" "$out/include/libkmod.h"
cat >"$out/source.info" <<INFO
name=$name
recipe=$recipe
kmod_version=${version:-unknown}
debian_version=$debver
kind=$kind
checksum=$sum
verified=$verified
path=$path
cc=$CC
INFO
echo "$key" >"$out/.key"
echo "libkmod: built ${#objs[@]} files with $CC from kmod ${version:-?} ($name, $kind, recipe $recipe)" >&2
