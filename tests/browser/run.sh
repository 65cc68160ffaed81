#!/usr/bin/env bash
# Browser test of the storefront: installs what it needs, then runs it.
#   STOREFRONT_URL=http://127.0.0.1:3000/ SIM_URL=http://127.0.0.1:3000 tests/browser/run.sh
# The project's test script starts the local stack and calls this with both variables set.
# Uses Debian's Chromium (/usr/bin/chromium, or CHROMIUM_PATH); never downloads a browser.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

apt_updated=0
apt_install() {
  if [ "$apt_updated" = 0 ]; then
    as_root apt-get update -qq
    apt_updated=1
  fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"
}

if [ -z "${CHROMIUM_PATH:-}" ] && [ ! -x /usr/bin/chromium ]; then
  echo "run.sh: installing Debian's chromium" >&2
  apt_install chromium
fi
# A font with Chinese glyphs, so the page (and its screenshots) show the Chinese labels.
if command -v fc-list >/dev/null && [ -z "$(fc-list :lang=zh 2>/dev/null)" ]; then
  echo "run.sh: installing a Chinese font (fonts-wqy-microhei)" >&2
  apt_install fonts-wqy-microhei || echo "run.sh: no Chinese font; Chinese text will show as boxes" >&2
fi

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "run.sh: installing Node.js and npm" >&2
  apt_install nodejs npm
fi

# playwright-core never downloads a browser; the variable makes sure no install hook tries.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
if [ ! -d node_modules/playwright-core ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  if [ -f package-lock.json ]; then
    npm ci --no-audit --no-fund
  else
    npm install --no-audit --no-fund
  fi
fi

exec node --test storefront.test.mjs backoff.test.mjs
