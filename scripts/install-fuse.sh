#!/usr/bin/env bash
# Installs what `fbreplay record` and its tests need, from Debian packages: FUSE 3 (fusermount3), bindfs, strace.
set -euo pipefail
need=()
command -v bindfs >/dev/null || need+=(bindfs)
command -v fusermount3 >/dev/null || need+=(fuse3)
command -v strace >/dev/null || need+=(strace)
command -v sqlite3 >/dev/null || need+=(sqlite3)
if ((${#need[@]} == 0)); then exit 0; fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-fuse.sh: run as root to install: ${need[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
echo "installed: ${need[*]}"
