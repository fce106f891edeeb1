#!/usr/bin/env bash
# Build one guest kernel (bzImage) per conflict policy: Debian's linux-source-6.12, `make tinyconfig` plus
# kernel/config, then kernel/patches/<policy>.patch applied to the same tree and rebuilt incrementally.
#
#   scripts/build-kernels.sh [POLICY...]        build what is missing (default: every kernel/patches/*.patch)
#   scripts/build-kernels.sh --path POLICY      print POLICY's bzImage path; exit 1 when it is not built
#   scripts/build-kernels.sh --describe POLICY  print "<linux version> + <patch>" for reports
#
# Cache: $(scripts/lib/cache-dir.sh)/kernels/<debian version>-<config hash>/ holds the build tree (tree/) and one
# directory per policy and patch hash (<policy>-<patch hash>/bzImage). Idempotent, and instant when every asked
# bzImage is there. Installs its Debian packages (root) when missing. One build at a time (flock).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/scripts/lib/provision.sh"
cache=$(cache_dir)
packages="linux-source-6.12 qemu-system-x86 bc bison flex libelf-dev libssl-dev make gcc libc6-dev xz-utils cpio patch"
config="$root/kernel/config"
jobs=${FBREPLAY_KERNEL_JOBS:-$(nproc)}

die() { echo "build-kernels: $*" >&2; exit 1; }
hash12() { sha256sum "$1" | cut -c1-12; }

# The build directory's name: Debian's source version and our config's hash.
build_dir() {
	v=$(dpkg-query -W -f='${Version}' linux-source-6.12 2>/dev/null) || die "linux-source-6.12 is not installed"
	echo "$cache/kernels/$v-$(hash12 "$config")"
}

patch_file() {
	f="$root/kernel/patches/$1.patch"
	[ -f "$f" ] || die "no patch for policy '$1' ($f)"
	echo "$f"
}

image_path() { echo "$(build_dir)/$1-$(hash12 "$(patch_file "$1")")/bzImage"; }

case "${1:-}" in
--path)
	[ $# = 2 ] || die "usage: --path POLICY"
	p=$(image_path "$2")
	[ -f "$p" ] || die "no kernel for '$2' yet: run scripts/build-kernels.sh $2"
	echo "$p"; exit 0 ;;
--describe)
	[ $# = 2 ] || die "usage: --describe POLICY"
	v=$(dpkg-query -W -f='${Version}' linux-source-6.12) || die "linux-source-6.12 is not installed"
	echo "Linux $v + kernel/patches/$2.patch ($(hash12 "$(patch_file "$2")"))"; exit 0 ;;
-*) die "unknown option $1" ;;
esac

if [ $# = 0 ]; then
	set --
	for f in "$root"/kernel/patches/*.patch; do set -- "$@" "$(basename "$f" .patch)"; done
fi
for p in "$@"; do patch_file "$p" >/dev/null; done

# Fast path: every asked kernel is built.
if dpkg-query -W linux-source-6.12 >/dev/null 2>&1; then
	all=1
	for p in "$@"; do [ -f "$(image_path "$p")" ] || all=0; done
	if [ $all = 1 ]; then echo "kernels ready: $(basename "$(build_dir)") $*"; exit 0; fi
fi

# shellcheck disable=SC2086
need_debs $packages
dir=$(build_dir)
mkdir -p "$dir"
exec 9>"$dir/.lock"
flock 9
tree="$dir/tree"
state="$dir/applied" # the patch the tree carries now, or "dirty" while a patch is being applied or reverted

# The tree: unpacked once, configured once. A tree left dirty by an interrupted patch is rebuilt from scratch.
if [ -d "$tree" ] && [ "$(cat "$state" 2>/dev/null || echo dirty)" = dirty ]; then
	echo "build-kernels: the tree was left mid-patch; unpacking it again" >&2
	rm -rf "$tree"
fi
if [ ! -d "$tree" ]; then
	tarball=$(ls /usr/src/linux-source-6.12.tar.xz) || die "no /usr/src/linux-source-6.12.tar.xz"
	rm -rf "$dir/unpack" && mkdir -p "$dir/unpack"
	echo "build-kernels: unpacking $tarball" >&2
	tar -C "$dir/unpack" -xJf "$tarball"
	mv "$dir/unpack/linux-source-6.12" "$tree" && rmdir "$dir/unpack"
	echo none >"$state"
	make -C "$tree" -s tinyconfig >&2
	"$tree/scripts/kconfig/merge_config.sh" -m -O "$tree" "$tree/.config" "$config" >/dev/null
	make -C "$tree" -s olddefconfig >&2
	# Every option we ask for must have survived olddefconfig (a dependency we forgot silently drops it).
	grep '^CONFIG_' "$config" | while read -r line; do
		grep -qx "$line" "$tree/.config" || die "kernel/config: $line did not survive olddefconfig"
	done
fi

# A patch with no hunks (a stock kernel) is only its header.
patch_in() { if grep -q '^--- ' "$2"; then patch -s -d "$tree" -p1 --no-backup-if-mismatch $1 <"$2"; fi; }

# Swap the tree's patch: revert the one it carries (patch touches what it reverts, so make rebuilds it).
apply() {
	cur=$(cat "$state")
	[ "$cur" = "$1" ] && return 0
	echo dirty >"$state"
	if [ "$cur" != none ]; then patch_in -R "$dir/applied.patch"; fi
	cp "$2" "$dir/applied.patch"
	patch_in -N "$2" || die "$2 does not apply to $(basename "$dir")"
	echo "$1" >"$state"
}

for p in "$@"; do
	out=$(image_path "$p")
	[ -f "$out" ] && { echo "kernel $p: cached"; continue; }
	start=$(date +%s)
	apply "$p-$(hash12 "$(patch_file "$p")")" "$(patch_file "$p")"
	echo "build-kernels: building $p (make -j$jobs bzImage)" >&2
	make -C "$tree" -s -j"$jobs" bzImage >"$dir/build-$p.log" 2>&1 ||
		{ tail -20 "$dir/build-$p.log" >&2; die "make failed for $p (log: $dir/build-$p.log)"; }
	mkdir -p "$(dirname "$out")"
	cp "$tree/arch/x86/boot/bzImage" "$out.tmp" && mv "$out.tmp" "$out"
	echo "kernel $p: built in $(($(date +%s) - start)) s"
done
echo "kernels ready: $(basename "$dir") $*"
