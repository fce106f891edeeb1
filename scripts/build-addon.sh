#!/usr/bin/env bash
# The native addon of fbreplay's FUSE daemon (native/: FUSE_DEV_IOC_BACKING_OPEN/CLOSE), for `record --daemon
# native`, kernel-check and their tests. `npm install` builds it as an optional dependency; when that failed (no
# compiler then), this builds it once the compiler is there.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/provision.sh
addon=native/build/Release/fbreplay_passthrough.node
loads() { node -e "require('./$addon')" >/dev/null 2>&1; }
if ! loads; then
  need_debs make g++ python3
  echo "building the native addon (node-gyp)" >&2
  npm run --silent build:native >/tmp/fbreplay-addon-build.log 2>&1 || { tail -3 /tmp/fbreplay-addon-build.log >&2; exit 1; }
  loads || { echo "$addon was built but does not load" >&2; exit 1; }
fi
echo "native addon $addon"
