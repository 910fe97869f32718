#!/usr/bin/env bash
# Installs axe-core for the web console's accessibility check (the browser
# tests of internal/webui) from its committed lockfile with npm ci. Safe to
# run again; does nothing when it is installed.
set -euo pipefail
dir="$(dirname "$0")/../internal/webui/testdata/axe"
if [ -f "$dir/node_modules/axe-core/axe.min.js" ]; then
  echo "axe.sh: axe-core is installed" >&2
  exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "axe.sh: installing npm from Debian's packages" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends npm >/dev/null
fi
(cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
echo "axe.sh: axe-core installed" >&2
