#!/bin/bash
# Build a static, symbol-localised libkmod with musl from Debian's own kmod
# source package.  Debian ships no libkmod.a and its libkmod.so is glibc-only.
# Output: $OUT/libkmod.o (one relocatable object whose only global symbols
# are libkmod's public API) and $OUT/include/libkmod.h.
#
# usage: tools/libkmod.sh OUTDIR CACHEDIR
set -euo pipefail

# Pinned source: Debian 12's kmod.  apt-get source checks the .dsc signature
# chain; the sha256 below pins the upstream tarball we compile.
KMOD_VERSION=30+20221128-1
KMOD_ORIG=kmod_30+20221128.orig.tar.xz
KMOD_ORIG_SHA256=00bc9ae4f1f9e1bbc1266d838452865bc7c24271d0853939edbe3029ad22af4e

out=${1:?usage: libkmod.sh OUTDIR CACHEDIR}
cache=${2:?usage: libkmod.sh OUTDIR CACHEDIR}
here=$(cd "$(dirname "$0")" && pwd)
CC=${MUSL_CC:-musl-gcc}

mkdir -p "$out" "$cache"
out=$(cd "$out" && pwd)
cache=$(cd "$cache" && pwd)

if [ ! -e "$cache/$KMOD_ORIG" ]; then
	apt_conf=$("$here/apt-private.sh" "$cache/apt")
	(cd "$cache" && APT_CONFIG=$apt_conf apt-get -q source --download-only "kmod=$KMOD_VERSION" >/dev/null) ||
		{ echo "libkmod: apt-get source kmod=$KMOD_VERSION failed" >&2; exit 1; }
fi
echo "$KMOD_ORIG_SHA256  $cache/$KMOD_ORIG" | sha256sum --quiet -c - ||
	{ echo "libkmod: sha256 mismatch for $cache/$KMOD_ORIG" >&2; exit 1; }

src="$out/src"
rm -rf "$src" "$out/obj"
mkdir -p "$src" "$out/obj" "$out/include"
tar -xJf "$cache/$KMOD_ORIG" -C "$src" --strip-components=1

# Only what libkmod's sources test for.  No compression or openssl: the
# helper reads indexes and configuration, never module files.
cat > "$src/config.h" <<'CONF'
#define _GNU_SOURCE 1
#define PACKAGE "kmod"
#define VERSION "30"
#define SYSCONFDIR "/etc"
#define ENABLE_LOGGING 1
#define HAVE_SECURE_GETENV 1
#define HAVE_STRUCT_STAT_ST_MTIM 1
#define HAVE_STATIC_ASSERT 1
#define HAVE_NORETURN 1
#define HAVE_DECL_STRNDUPA 0
#define HAVE_DECL_BE32TOH 1
#define HAVE___BUILTIN_UADDL_OVERFLOW 1
#define HAVE___BUILTIN_UADDLL_OVERFLOW 1
#define KMOD_FEATURES ""
CONF

objs=()
for f in "$src"/libkmod/libkmod*.c "$src"/shared/{array,hash,scratchbuf,strbuf,util}.c; do
	o="$out/obj/$(basename "${f%.c}").o"
	"$CC" -std=gnu11 -Os -fPIE -ffunction-sections -fdata-sections -fvisibility=hidden \
		-include "$src/config.h" -I "$src" -w -c "$f" -o "$o"
	objs+=("$o")
done
# One object, internal names (hash_new, strbuf_*, ...) made local so they
# cannot collide with the helper's own symbols.
ld -r -o "$out/obj/libkmod-all.o" "${objs[@]}"
objcopy --localize-hidden "$out/obj/libkmod-all.o" "$out/libkmod.o"
cp "$src/libkmod/libkmod.h" "$out/include/libkmod.h"
echo "libkmod: built ${#objs[@]} files from kmod $KMOD_VERSION" >&2
