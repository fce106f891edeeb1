#!/usr/bin/env bash
# Builds `fbreplay capture`'s BPF program and its loader (capture/: fbcapture.bpf.c, loader.c, record.h) with
# Debian's clang, llvm, libbpf-dev and bpftool; vmlinux.h comes from the running kernel's /sys/kernel/btf/vmlinux.
# The loader lands in the cache ($FBREPLAY_CACHE, default ${XDG_CACHE_HOME:-$HOME/.cache}/fbreplay), in a directory
# keyed by the hash of the sources and this script, so a changed source is a new build and an unchanged one is
# found at once.
#   build-capture.sh          build if needed; print the loader's path
#   build-capture.sh --path   print where the loader is or would be; build nothing
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -x scripts/lib/cache-dir.sh ] || [ -f scripts/lib/cache-dir.sh ]; then
  cache=$(bash scripts/lib/cache-dir.sh)
else
  cache=${FBREPLAY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/fbreplay}
fi
key=$(cat capture/record.h capture/fbcapture.bpf.c capture/loader.c scripts/build-capture.sh | sha256sum | cut -c1-16)
out=$cache/fbcapture-$key
loader=$out/fbcapture-loader
if [ "${1:-}" = "--path" ]; then echo "$loader"; exit 0; fi
if [ -x "$loader" ]; then echo "$loader"; exit 0; fi

[ -r /sys/kernel/btf/vmlinux ] || { echo "build-capture.sh: this kernel has no BTF (/sys/kernel/btf/vmlinux): capture needs CONFIG_DEBUG_INFO_BTF" >&2; exit 1; }
need=()
command -v clang >/dev/null || need+=(clang)
command -v llvm-strip >/dev/null || need+=(llvm)
command -v bpftool >/dev/null || [ -x /usr/sbin/bpftool ] || need+=(bpftool)
[ -f /usr/include/bpf/libbpf.h ] || need+=(libbpf-dev)
command -v gcc >/dev/null || need+=(gcc)
command -v pkg-config >/dev/null || need+=(pkgconf)
if ((${#need[@]} > 0)); then
  if [ "$(id -u)" -ne 0 ]; then echo "build-capture.sh: run as root to install: ${need[*]}" >&2; exit 1; fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
bpftool=$(command -v bpftool || echo /usr/sbin/bpftool)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp capture/record.h capture/fbcapture.bpf.c capture/loader.c "$work/"
"$bpftool" btf dump file /sys/kernel/btf/vmlinux format c >"$work/vmlinux.h"
# record.h uses __u32 & co.: vmlinux.h defines them for the BPF side, linux/types.h for the loader.
clang -g -O2 -target bpf -D__TARGET_ARCH_x86 -I"$work" -c "$work/fbcapture.bpf.c" -o "$work/fbcapture.bpf.o" 2>"$work/clang.log" \
  || { tail -20 "$work/clang.log" >&2; exit 1; }
llvm-strip -g "$work/fbcapture.bpf.o"
"$bpftool" gen skeleton "$work/fbcapture.bpf.o" name fbcapture_bpf >"$work/fbcapture.skel.h"
gcc -O2 -Wall -include linux/types.h -I"$work" "$work/loader.c" -o "$work/fbcapture-loader" $(pkg-config --libs --static libbpf) -static 2>"$work/gcc.log" \
  || gcc -O2 -Wall -include linux/types.h -I"$work" "$work/loader.c" -o "$work/fbcapture-loader" $(pkg-config --libs libbpf) 2>"$work/gcc.log" \
  || { tail -20 "$work/gcc.log" >&2; exit 1; }
mkdir -p "$out.tmp"
cp "$work/fbcapture-loader" "$work/fbcapture.bpf.o" "$out.tmp/"
echo "fbcapture $key: clang $(clang -dumpversion), libbpf $(pkg-config --modversion libbpf), kernel $(uname -r)" >"$out.tmp/VERSION"
rm -rf "$out"
mv "$out.tmp" "$out"
echo "$loader"
