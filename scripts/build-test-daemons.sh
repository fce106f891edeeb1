#!/usr/bin/env bash
# Builds the test daemons of `fbreplay capture`'s tests: libfuse's passthrough_hp from the same Debian fuse3 source
# as scripts/build-passthrough-hp.sh, with fbreplay's patch (scripts/patches/passthrough_hp-fbreplay.patch):
# --backing-per-open registers a new backing id per open and closes it at the open's release (like fuser and
# Android's FuseDaemon); SIGUSR1 makes the daemon forget its backing ids as after a restart while the /dev/fuse
# connection stays (the kernel then refuses opens of files still held). Without the option the daemon shares one id
# per inode as stock passthrough_hp does, and SIGUSR1 still forgets.
# The binary lands in the cache ($FBREPLAY_CACHE, default ${XDG_CACHE_HOME:-$HOME/.cache}/fbreplay), keyed by the
# libfuse version and the hash of the patch and this script.
#   build-test-daemons.sh          build if needed; print the binary's path
#   build-test-daemons.sh --path   print where it is or would be; build nothing
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -f scripts/lib/cache-dir.sh ]; then cache=$(bash scripts/lib/cache-dir.sh); else cache=${FBREPLAY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/fbreplay}; fi
version=3.17.2
tarball=fuse3_${version}.orig.tar.gz
# Checksums-Sha256 of this file in Debian's Sources index (trixie, fuse3 3.17.2-3), as in build-passthrough-hp.sh.
sha256=3d932431ad94e86179e5265cddde1d67aa3bb2fb09a5bd35c641f86f2b5ed06f
patch=scripts/patches/passthrough_hp-fbreplay.patch
key=$(cat "$patch" scripts/build-test-daemons.sh | sha256sum | cut -c1-16)
out=$cache/passthrough_hp-fbreplay-$version-$key
binary=$out/passthrough_hp
if [ "${1:-}" = "--path" ]; then echo "$binary"; exit 0; fi
if [ -x "$binary" ]; then echo "$binary"; exit 0; fi

need=()
command -v meson >/dev/null || need+=(meson)
command -v ninja >/dev/null || need+=(ninja-build)
command -v g++ >/dev/null || need+=(g++)
command -v pkg-config >/dev/null || need+=(pkgconf)
command -v curl >/dev/null || need+=(curl)
command -v patch >/dev/null || need+=(patch)
if ((${#need[@]} > 0)); then
  if [ "$(id -u)" -ne 0 ]; then echo "build-test-daemons.sh: run as root to install: ${need[*]}" >&2; exit 1; fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
apt_mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
mirrors=${DEBIAN_MIRROR:-"${apt_mirror} http://deb.debian.org/debian"}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fetched=""
for mirror in $mirrors; do
  if curl -fsS --retry 3 -o "$work/$tarball" "${mirror%/}/pool/main/f/fuse3/$tarball"; then fetched=$mirror; break; fi
done
[ -n "$fetched" ] || { echo "build-test-daemons.sh: cannot fetch $tarball from: $mirrors" >&2; exit 1; }
echo "$sha256  $work/$tarball" | sha256sum -c --quiet - || { echo "build-test-daemons.sh: $tarball does not match its Debian checksum" >&2; exit 1; }
tar -xzf "$work/$tarball" -C "$work"
src=$work/fuse-$version
patch -s -p1 -d "$src" <"$patch" || { echo "build-test-daemons.sh: $patch does not apply to libfuse $version" >&2; exit 1; }
meson setup "$src/build" "$src" -Ddefault_library=static -Dexamples=true -Dutils=false -Dtests=false >"$work/meson.log" 2>&1 \
  || { tail -20 "$work/meson.log" >&2; exit 1; }
ninja -C "$src/build" example/passthrough_hp >"$work/ninja.log" 2>&1 || { tail -20 "$work/ninja.log" >&2; exit 1; }
mkdir -p "$out.tmp"
cp "$src/build/example/passthrough_hp" "$out.tmp/passthrough_hp"
echo "libfuse $version passthrough_hp from Debian's $tarball (sha256 $sha256) + $patch ($key)" >"$out.tmp/VERSION"
rm -rf "$out"
mv "$out.tmp" "$out"
echo "$binary"
