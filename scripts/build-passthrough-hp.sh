#!/usr/bin/env bash
# Builds libfuse's passthrough_hp (a real passthrough daemon: FUSE_PASSTHROUGH, one shared backing id per inode) from
# Debian's fuse3 3.17.2 source package, for `fbreplay record --daemon passthrough_hp` and its tests. Debian 12 ships
# libfuse 3.14, which has no passthrough. The binary is linked statically, built once into the cache (keyed by the
# libfuse version and the hash of this script and the patch) and linked from build/passthrough_hp/.
#   scripts/build-passthrough-hp.sh             stock passthrough_hp
#   scripts/build-passthrough-hp.sh PATCH NAME  with PATCH applied, linked from build/NAME/ (scripts/build-test-daemons.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/provision.sh

version=3.17.2
tarball=fuse3_${version}.orig.tar.gz
# Checksums-Sha256 of this file in Debian's Sources index (trixie, fuse3 3.17.2-3).
sha256=3d932431ad94e86179e5265cddde1d67aa3bb2fb09a5bd35c641f86f2b5ed06f
patch=${1:-}
name=${2:-passthrough_hp}
key=$version-$(cat "$0" ${patch:+"$patch"} | sha256sum | cut -c1-12)
cached=$(cache_dir)/$name-$key
out=build/$name

link() {
  mkdir -p "$out"
  ln -sfn "$cached/passthrough_hp" "$out/passthrough_hp"
  cp "$cached/VERSION" "$out/VERSION"
  cat "$out/VERSION"
}
if [ -x "$cached/passthrough_hp" ] && "$cached/passthrough_hp" --help >/dev/null 2>&1; then link; exit 0; fi

need_debs meson ninja-build g++ pkgconf curl ${patch:+patch}
# The mirror apt uses here first (it may be a local one), then Debian's own; DEBIAN_MIRROR overrides both.
apt_mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
mirrors=${DEBIAN_MIRROR:-"${apt_mirror} http://deb.debian.org/debian"}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fetched=""
for mirror in $mirrors; do
  if curl -fsS --retry 3 -o "$work/$tarball" "${mirror%/}/pool/main/f/fuse3/$tarball"; then fetched=$mirror; break; fi
done
[ -n "$fetched" ] || { echo "cannot fetch $tarball from: $mirrors" >&2; exit 1; }
echo "$sha256  $work/$tarball" | sha256sum -c --quiet - || { echo "$tarball does not match its Debian checksum" >&2; exit 1; }
tar -xzf "$work/$tarball" -C "$work"
src=$work/fuse-$version
if [ -n "$patch" ]; then
  patch -s -p1 -d "$src" <"$patch" || { echo "$patch does not apply to libfuse $version" >&2; exit 1; }
fi
meson setup "$src/build" "$src" -Ddefault_library=static -Dexamples=true -Dutils=false -Dtests=false >"$work/meson.log" 2>&1 \
  || { tail -20 "$work/meson.log" >&2; exit 1; }
ninja -C "$src/build" example/passthrough_hp >"$work/ninja.log" 2>&1 || { tail -20 "$work/ninja.log" >&2; exit 1; }
# Into the cache atomically: a build interrupted half way leaves nothing that looks done.
mkdir -p "$(dirname "$cached")"
rm -rf "$cached.tmp" && mkdir "$cached.tmp"
cp "$src/build/example/passthrough_hp" "$cached.tmp/passthrough_hp"
echo "libfuse $version passthrough_hp from Debian's $tarball (sha256 $sha256)${patch:+ + $patch}" >"$cached.tmp/VERSION"
rm -rf "$cached" && mv "$cached.tmp" "$cached"
link
