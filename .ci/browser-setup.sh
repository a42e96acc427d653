#!/usr/bin/env bash
# Installs Chromium for the browser test (site/browser.test.ts; issue 3, "runs in the browser"):
# Debian's `chromium` package through apt-get when /usr/bin/chromium is missing. playwright-core
# drives it through executablePath; nothing is downloaded by Playwright itself. Prints one line.
# Safe to run again: an installed Chromium that starts is used as it is.
#
#   .ci/browser-setup.sh          exit 0 when /usr/bin/chromium runs at the end, 1 otherwise (why,
#                                 in one line); .ci/run stops there, so CI cannot pass without it
#   APT_LOCK_WAIT_SECONDS=600     how long apt-get waits for another apt-get's lock (default 600)
set -u

chromium_path=/usr/bin/chromium
lock_wait_seconds="${APT_LOCK_WAIT_SECONDS:-600}"
apt_log="${BROWSER_SETUP_APT_LOG:-/tmp/neverstop-browser-apt.log}"

say() {
  echo "browser-setup: $*"
}

fail() {
  say "$* (the browser test cannot run)"
  exit 1
}

# `--version` proves the binary starts (its libraries are all there), not only that it exists.
version() {
  timeout 30 "$chromium_path" --version 2>/dev/null | head -n 1
}

if [ -x "$chromium_path" ] && [ -n "$(version)" ]; then
  say "$(version) already installed"
  exit 0
fi
[ "$(id -u)" -eq 0 ] || fail "no working $chromium_path and this is not root: cannot install it"
command -v apt-get >/dev/null 2>&1 || fail "no working $chromium_path and no apt-get to install it"
# Lock::Timeout: another apt-get (the Docker setup, an unattended upgrade) finishes first.
export DEBIAN_FRONTEND=noninteractive
if ! {
  apt-get -o DPkg::Lock::Timeout="$lock_wait_seconds" update -qq &&
    apt-get -o DPkg::Lock::Timeout="$lock_wait_seconds" install -y -qq chromium
} >"$apt_log" 2>&1; then
  fail "apt-get install chromium failed: $(grep -E '^(E|W):' "$apt_log" | tail -n 1)"
fi
[ -x "$chromium_path" ] && [ -n "$(version)" ] || fail "chromium installed but $chromium_path does not start"
say "installed $(version)"
