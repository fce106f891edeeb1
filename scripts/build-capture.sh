#!/usr/bin/env bash
# Builds `fbreplay capture`'s BPF program and its loader (capture/: fbcapture.bpf.c, loader.c, record.h) with
# Debian's clang, llvm, libbpf-dev and bpftool; vmlinux.h comes from the running kernel's /sys/kernel/btf/vmlinux.
# Built once into the cache, keyed by the hash of the sources and this script (a changed source is a new build),
# and linked from build/fbcapture/. Checks that this kernel has BTF and that the loader can attach here.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/provision.sh

key=$(cat capture/record.h capture/fbcapture.bpf.c capture/loader.c "$0" | sha256sum | cut -c1-16)
cached=$(cache_dir)/fbcapture-$key
out=build/fbcapture

link() {
  mkdir -p "$out"
  ln -sfn "$cached/fbcapture-loader" "$out/fbcapture-loader"
  cp "$cached/VERSION" "$out/VERSION"
  cat "$out/VERSION"
}
[ -r /sys/kernel/btf/vmlinux ] || { echo "this kernel has no BTF (/sys/kernel/btf/vmlinux): capture needs CONFIG_DEBUG_INFO_BTF" >&2; exit 1; }
if [ -x "$cached/fbcapture-loader" ]; then link; exit 0; fi

need_debs clang llvm libbpf-dev bpftool gcc libc6-dev pkgconf
bpftool=$(command -v bpftool || echo /usr/sbin/bpftool)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp capture/record.h capture/fbcapture.bpf.c capture/loader.c "$work/"
"$bpftool" btf dump file /sys/kernel/btf/vmlinux format c >"$work/vmlinux.h"
clang -g -O2 -target bpf -D__TARGET_ARCH_x86 -I"$work" -c "$work/fbcapture.bpf.c" -o "$work/fbcapture.bpf.o" 2>"$work/clang.log" \
  || { tail -20 "$work/clang.log" >&2; echo "clang cannot build capture/fbcapture.bpf.c" >&2; exit 1; }
llvm-strip -g "$work/fbcapture.bpf.o"
"$bpftool" gen skeleton "$work/fbcapture.bpf.o" name fbcapture_bpf >"$work/fbcapture.skel.h"
# record.h uses __u32 & co.: vmlinux.h defines them for the BPF side, linux/types.h for the loader. Static, so
# that the loader runs wherever the cache is shared.
gcc -O2 -Wall -include linux/types.h -I"$work" "$work/loader.c" -o "$work/fbcapture-loader" -static $(pkg-config --libs --static libbpf) 2>"$work/gcc.log" \
  || { tail -20 "$work/gcc.log" >&2; echo "gcc cannot build capture/loader.c" >&2; exit 1; }
# Into the cache atomically: a build interrupted half way leaves nothing that looks done.
mkdir -p "$(dirname "$cached")"
rm -rf "$cached.tmp" && mkdir "$cached.tmp"
cp "$work/fbcapture-loader" "$work/fbcapture.bpf.o" "$cached.tmp/"
echo "fbcapture $key: clang $(clang -dumpversion), libbpf $(pkg-config --modversion libbpf), built on $(uname -r)" >"$cached.tmp/VERSION"
rm -rf "$cached" && mv "$cached.tmp" "$cached"
link
