#!/usr/bin/env bash
# The test daemons of `fbreplay capture`'s tests: libfuse's passthrough_hp with fbreplay's patch
# (scripts/patches/passthrough_hp-fbreplay.patch): --backing-per-open registers a new backing id per open and closes
# it at the open's release (like fuser and Android's FuseDaemon); SIGUSR1 makes the daemon forget its backing ids as
# after a restart while the /dev/fuse connection stays (the kernel then refuses opens of files still held). Without
# the option the daemon shares one id per inode as stock passthrough_hp does. Built and cached by
# scripts/build-passthrough-hp.sh, linked from build/passthrough_hp-fbreplay/.
set -euo pipefail
cd "$(dirname "$0")/.."
exec bash scripts/build-passthrough-hp.sh scripts/patches/passthrough_hp-fbreplay.patch passthrough_hp-fbreplay
