#!/usr/bin/env bash
# Makes sure Debian's chromium is installed, for the web console's browser
# tests (internal/console, chromedp): installs it from Debian's packages
# where it is absent. Safe to run again; does nothing when it is there.
set -euo pipefail

if command -v chromium >/dev/null 2>&1; then
  echo "chromium.sh: $(chromium --version 2>/dev/null || echo chromium) is installed" >&2
  exit 0
fi
echo "chromium.sh: installing chromium from Debian's packages" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
command -v chromium >/dev/null 2>&1 || { echo "chromium.sh: chromium did not install" >&2; exit 1; }
echo "chromium.sh: $(chromium --version 2>/dev/null) installed" >&2
