#!/usr/bin/env bash
# What `fbreplay record` and the real-mount tests need: FUSE 3 (fusermount3), bindfs, strace and sqlite3 from
# Debian, /dev/fuse, and root (the tests mount as root).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/provision.sh
need_debs fuse3 bindfs strace sqlite3
[ -r /dev/fuse ] && [ -w /dev/fuse ] || { echo "/dev/fuse is missing or not accessible: this kernel or container has no FUSE" >&2; exit 1; }
need_root "mounting FUSE file systems for the tests"
echo "fuse3 $(dpkg-query -W -f='${Version}' fuse3), bindfs $(dpkg-query -W -f='${Version}' bindfs)"
