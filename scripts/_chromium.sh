#!/usr/bin/env bash
# Makes sure Debian's Chromium is at /usr/bin/chromium for tests/integration/test_guest_browser.py and
# scripts/screenshots_guest. Installs it (apt-get install -y --no-install-recommends chromium)
# only when it is missing and we are root; never touches the apt sources. Without root it only
# says what to run: the browser test then fails with the same advice.
set -euo pipefail
CHROMIUM=/usr/bin/chromium
if [ -x "$CHROMIUM" ]; then
    exit 0
fi
if [ "$(id -u)" != 0 ]; then
    echo "warning: $CHROMIUM is missing; install it with: sudo apt-get install -y --no-install-recommends chromium" >&2
    exit 0
fi
echo "== installing Chromium (apt-get install -y --no-install-recommends chromium)"
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y --no-install-recommends chromium; then
    # The package lists may be missing or stale on a fresh machine.
    apt-get update
    apt-get install -y --no-install-recommends chromium
fi
[ -x "$CHROMIUM" ] || { echo "error: $CHROMIUM is still missing after apt-get install" >&2; exit 1; }
