#!/usr/bin/env bash
# Builds the test daemons of `fbreplay capture`'s tests: libfuse's passthrough_hp from the same Debian fuse3 source
# as scripts/build-passthrough-hp.sh, with fbreplay's patch (scripts/patches/passthrough_hp-fbreplay.patch):
# --backing-per-open registers a new backing id per open and closes it at the open's release (like fuser and
# Android's FuseDaemon); SIGUSR1 makes the daemon forget its backing ids as after a restart while the /dev/fuse
# connection stays (the kernel then refuses opens of files still held). Without the option the daemon shares one id
# per inode as stock passthrough_hp does, and SIGUSR1 still forgets. Built once into the cache (keyed by the libfuse
# version and the hash of the patch and this script) and linked from build/passthrough_hp-fbreplay/.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/provision.sh

version=3.17.2
tarball=fuse3_${version}.orig.tar.gz
# Checksums-Sha256 of this file in Debian's Sources index (trixie, fuse3 3.17.2-3), as in build-passthrough-hp.sh.
sha256=3d932431ad94e86179e5265cddde1d67aa3bb2fb09a5bd35c641f86f2b5ed06f
patch=scripts/patches/passthrough_hp-fbreplay.patch
key=$version-$(cat "$patch" "$0" | sha256sum | cut -c1-12)
cached=$(cache_dir)/passthrough_hp-fbreplay-$key
out=build/passthrough_hp-fbreplay

link() {
  mkdir -p "$out"
  ln -sfn "$cached/passthrough_hp" "$out/passthrough_hp"
  cp "$cached/VERSION" "$out/VERSION"
  cat "$out/VERSION"
}
if [ -x "$cached/passthrough_hp" ] && "$cached/passthrough_hp" --help >/dev/null 2>&1; then link; exit 0; fi

need_debs meson ninja-build g++ pkgconf curl patch
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
patch -s -p1 -d "$src" <"$patch" || { echo "$patch does not apply to libfuse $version" >&2; exit 1; }
meson setup "$src/build" "$src" -Ddefault_library=static -Dexamples=true -Dutils=false -Dtests=false >"$work/meson.log" 2>&1 \
  || { tail -20 "$work/meson.log" >&2; exit 1; }
ninja -C "$src/build" example/passthrough_hp >"$work/ninja.log" 2>&1 || { tail -20 "$work/ninja.log" >&2; exit 1; }
mkdir -p "$(dirname "$cached")"
rm -rf "$cached.tmp" && mkdir "$cached.tmp"
cp "$src/build/example/passthrough_hp" "$cached.tmp/passthrough_hp"
echo "libfuse $version passthrough_hp from Debian's $tarball (sha256 $sha256) + $patch" >"$cached.tmp/VERSION"
rm -rf "$cached" && mv "$cached.tmp" "$cached"
link
