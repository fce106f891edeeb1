#!/usr/bin/env bash
# Installs Debian's headless-capable Chromium (/usr/bin/chromium), which test/report.test.ts drives through
# playwright-core to open the HTML report. Idempotent: does nothing when chromium is already on the PATH.
# `apt-get update` runs only when the first install attempt fails (e.g. no package lists yet).
set -euo pipefail
if command -v chromium >/dev/null; then exit 0; fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-chromium.sh: run as root to install chromium" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y -qq chromium >/dev/null; then
  apt-get update -qq
  apt-get install -y -qq chromium >/dev/null
fi
command -v chromium >/dev/null
echo "installed: chromium ($(chromium --version 2>/dev/null || echo 'version unknown'))"
