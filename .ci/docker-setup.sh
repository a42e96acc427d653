#!/usr/bin/env bash
# Makes a Docker engine answer on this machine for the Docker tests (lesson 5, "systems that
# never stop", run on containers): installs docker.io and docker-compose through apt-get when
# they are missing, starts `dockerd` in the background when no engine answers, waits for it with
# a bounded timeout and prints one line. Safe to run again: an engine that answers, or one that
# is still starting, is used as it is, never doubled.
#
# The engine starts with no bridge and no iptables rules (--bridge=none --iptables=false): every
# container runs on the host network and traffic stays on 127.0.0.0/8. No registry is reachable
# from these machines, so images come from `npx neverstop docker-base` (see the Dockerfile).
#
#   .ci/docker-setup.sh            exit 0 when an engine answers at the end, 1 otherwise (why, in
#                                  one line); .ci/run stops there, so CI cannot pass without Docker
#   DOCKER_SETUP_WAIT_SECONDS=120  how long to wait for a fresh engine (default 60)
#   APT_LOCK_WAIT_SECONDS=600      how long apt-get waits for another apt-get's lock (default 600)
set -u

wait_seconds="${DOCKER_SETUP_WAIT_SECONDS:-60}"
lock_wait_seconds="${APT_LOCK_WAIT_SECONDS:-600}"
log_file="${DOCKER_SETUP_LOG:-/tmp/neverstop-dockerd.log}"
apt_log="${DOCKER_SETUP_APT_LOG:-/tmp/neverstop-docker-apt.log}"

engine_version() {
  docker version --format '{{.Server.Version}}' 2>/dev/null
}

engine_answers() {
  command -v docker >/dev/null 2>&1 && engine_version >/dev/null
}

say() {
  echo "docker-setup: $*"
}

fail() {
  say "$* (the Docker tests cannot run)"
  exit 1
}

if engine_answers; then
  say "a Docker engine $(engine_version) already answers"
  exit 0
fi

[ "$(id -u)" = "0" ] || fail "no Docker engine answers and this is not root: cannot install or start one"

if ! command -v dockerd >/dev/null 2>&1 || ! command -v docker >/dev/null 2>&1; then
  command -v apt-get >/dev/null 2>&1 || fail "no dockerd and no apt-get to install it"
  # Lock::Timeout: another apt-get (the browser setup, an unattended upgrade) finishes first.
  export DEBIAN_FRONTEND=noninteractive
  if ! {
    apt-get -o DPkg::Lock::Timeout="$lock_wait_seconds" update -qq &&
      apt-get -o DPkg::Lock::Timeout="$lock_wait_seconds" install -y -qq docker.io docker-compose
  } >"$apt_log" 2>&1; then
    fail "apt-get install docker.io docker-compose failed: $(grep -E '^(E|W):' "$apt_log" | tail -n 1)"
  fi
  command -v dockerd >/dev/null 2>&1 || fail "docker.io installed but no dockerd on PATH"
fi

# An engine that is still starting (its pid file names a live dockerd) is waited for, not doubled.
pid_file=/var/run/docker.pid
if ! { [ -f "$pid_file" ] && kill -0 "$(cat "$pid_file")" 2>/dev/null; }; then
  rm -f "$pid_file" # a stale one from a dockerd that died makes a new one refuse to start
  # setsid: the engine outlives this script and the shell that ran it.
  setsid dockerd --bridge=none --iptables=false --ip-masq=false --storage-driver=vfs \
    >"$log_file" 2>&1 </dev/null &
fi

for _ in $(seq 1 "$wait_seconds"); do
  if engine_answers; then
    say "started dockerd $(engine_version) (vfs storage, host network only; log in $log_file)"
    exit 0
  fi
  sleep 1
done
fail "dockerd did not answer within ${wait_seconds} s, last log line: $(tail -n 1 "$log_file" 2>/dev/null)"
