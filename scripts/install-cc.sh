#!/usr/bin/env bash
# A C compiler for the C port of the replay core (bench/c-core): the benchmark's native baseline and the tests that
# keep it in step with the wasm core. Debian's gcc, as `cc`.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/provision.sh
command -v cc >/dev/null || need_debs gcc libc6-dev
cc --version | head -1
