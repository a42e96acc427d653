#!/usr/bin/env bash
# Installs Chromium for the browser test (site/browser.test.ts; issue 3, "runs in the browser"):
# Debian's `chromium` package through apt-get when /usr/bin/chromium is missing. playwright-core
# drives it through executablePath; nothing is downloaded by Playwright itself. Prints one line.
# Needs root for the install; without root (or without apt-get) it only reports, and the
# browser test then skips and says why.
#
#   .ci/browser-setup.sh    exit 0 when /usr/bin/chromium exists at the end, 1 otherwise
set -u

chromium_path=/usr/bin/chromium

say() {
  echo "browser-setup: $*"
}

version() {
  "$chromium_path" --version 2>/dev/null | head -n 1
}

if [ -x "$chromium_path" ]; then
  say "$(version) already installed"
  exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  say "no $chromium_path and no root apt-get to install it; the browser test will skip"
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
if apt-get update -qq >/dev/null 2>&1 &&
  apt-get install -y -qq chromium >/dev/null 2>&1 &&
  [ -x "$chromium_path" ]; then
  say "installed $(version)"
  exit 0
fi
say "apt-get could not install chromium; the browser test will skip"
exit 1
