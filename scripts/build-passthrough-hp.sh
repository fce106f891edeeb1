#!/usr/bin/env bash
# Builds libfuse's passthrough_hp (a real passthrough daemon: FUSE_PASSTHROUGH, one shared backing id per inode) from
# Debian's fuse3 3.17.2 source package, for `fbreplay record --daemon passthrough_hp` and its tests. Debian 12 ships
# libfuse 3.14, which has no passthrough. The binary is linked statically and lands in build/passthrough_hp/.
set -euo pipefail
cd "$(dirname "$0")/.."
out=build/passthrough_hp
if [ -x "$out/passthrough_hp" ] && "$out/passthrough_hp" --help >/dev/null 2>&1; then exit 0; fi

version=3.17.2
tarball=fuse3_${version}.orig.tar.gz
# Checksums-Sha256 of this file in Debian's Sources index (trixie, fuse3 3.17.2-3).
sha256=3d932431ad94e86179e5265cddde1d67aa3bb2fb09a5bd35c641f86f2b5ed06f
# The mirror apt uses here first (it may be a local one), then Debian's own; DEBIAN_MIRROR overrides both.
apt_mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
mirrors=${DEBIAN_MIRROR:-"${apt_mirror} http://deb.debian.org/debian"}

need=()
command -v meson >/dev/null || need+=(meson)
command -v ninja >/dev/null || need+=(ninja-build)
command -v g++ >/dev/null || need+=(g++)
command -v pkg-config >/dev/null || need+=(pkgconf)
command -v curl >/dev/null || need+=(curl)
if ((${#need[@]} > 0)); then
  if [ "$(id -u)" -ne 0 ]; then echo "build-passthrough-hp.sh: run as root to install: ${need[*]}" >&2; exit 1; fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fetched=""
for mirror in $mirrors; do
  if curl -fsS --retry 3 -o "$work/$tarball" "${mirror%/}/pool/main/f/fuse3/$tarball"; then fetched=$mirror; break; fi
done
[ -n "$fetched" ] || { echo "build-passthrough-hp.sh: cannot fetch $tarball from: $mirrors" >&2; exit 1; }
echo "$sha256  $work/$tarball" | sha256sum -c --quiet - || { echo "build-passthrough-hp.sh: $tarball does not match its Debian checksum" >&2; exit 1; }
tar -xzf "$work/$tarball" -C "$work"
src=$work/fuse-$version
meson setup "$src/build" "$src" -Ddefault_library=static -Dexamples=true -Dutils=false -Dtests=false >"$work/meson.log" 2>&1 \
  || { tail -20 "$work/meson.log" >&2; exit 1; }
ninja -C "$src/build" example/passthrough_hp >"$work/ninja.log" 2>&1 || { tail -20 "$work/ninja.log" >&2; exit 1; }
mkdir -p "$out"
cp "$src/build/example/passthrough_hp" "$out/passthrough_hp"
echo "libfuse $version passthrough_hp from Debian's $tarball (sha256 $sha256)" >"$out/VERSION"
echo "built $out/passthrough_hp (libfuse $version)"
