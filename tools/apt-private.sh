#!/bin/bash
# Private apt configuration for fetching Debian packages (kernels, kmod
# source) without touching the machine's own apt state.  The archive URI is
# copied from the machine's /etc/apt/sources.list.d/debian.sources so that no
# mirror host name is ever written into this repository.
#
# usage: tools/apt-private.sh DIR      -> prints the path of DIR/apt.conf
#        APT_CONFIG=$(tools/apt-private.sh DIR) apt-get ...
set -euo pipefail

dir=${1:?usage: apt-private.sh DIR}
sources=${DAXBUS_DEBIAN_SOURCES:-/etc/apt/sources.list.d/debian.sources}
keyring=/usr/share/keyrings/debian-archive-keyring.gpg

[ -r "$sources" ] || { echo "apt-private: cannot read $sources" >&2; exit 1; }
[ -r "$keyring" ] || { echo "apt-private: missing $keyring (apt-get install debian-archive-keyring)" >&2; exit 1; }

# First URI of a stanza that is not the security archive.
uri=$(awk '/^URIs:/ && $2 !~ /security/ { print $2; exit }' "$sources")
[ -n "$uri" ] || { echo "apt-private: no URIs: line in $sources" >&2; exit 1; }

mkdir -p "$dir/lists/partial" "$dir/cache/archives/partial"
dir=$(cd "$dir" && pwd)

{
	for suite in bullseye bookworm trixie; do
		echo "deb [signed-by=$keyring] $uri $suite main"
		echo "deb-src [signed-by=$keyring] $uri $suite main"
	done
} > "$dir/sources.list.new"

cat > "$dir/apt.conf.new" <<CONF
Dir::Etc::SourceList "$dir/sources.list";
Dir::Etc::SourceParts "$dir/nonexistent";
Dir::State::Lists "$dir/lists";
Dir::Cache "$dir/cache";
Dir::State::status "/var/lib/dpkg/status";
APT::Sandbox::User "root";
CONF

changed=0
cmp -s "$dir/sources.list.new" "$dir/sources.list" 2>/dev/null || changed=1
mv "$dir/sources.list.new" "$dir/sources.list"
mv "$dir/apt.conf.new" "$dir/apt.conf"

# Refresh the lists once per day at most (or when the sources changed).
stamp="$dir/lists/.updated"
if [ "$changed" = 1 ] || [ ! -e "$stamp" ] || [ -n "$(find "$stamp" -mmin +1440 2>/dev/null)" ]; then
	APT_CONFIG="$dir/apt.conf" apt-get -q update >"$dir/update.log" 2>&1 ||
		{ echo "apt-private: apt-get update failed, see $dir/update.log" >&2; exit 1; }
	touch "$stamp"
fi
echo "$dir/apt.conf"
