#!/usr/bin/env bash
# Debian's Chromium (/usr/bin/chromium), which test/report.test.ts drives headless through playwright-core to open
# the HTML report. With its recommended packages (fonts among them), as a desktop install has.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/provision.sh
need_debs --recommends chromium
chromium --version 2>/dev/null || echo "chromium $(dpkg-query -W -f='${Version}' chromium)"
