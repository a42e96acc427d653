#!/usr/bin/env bash
# Makes a Docker engine answer on this machine for the Docker tests (lesson 5, "systems that
# never stop", run on containers): installs docker.io and docker-compose through apt-get when
# they are missing, starts `dockerd` in the background when no engine answers, waits for it and
# prints one line. Needs root for the install and the engine; without root it only reports.
#
# The engine starts with no bridge and no iptables rules (--bridge=none --iptables=false): every
# container runs on the host network and traffic stays on 127.0.0.0/8. No registry is reachable
# from these machines, so images come from `npx neverstop docker-base` (see the Dockerfile).
#
#   .ci/docker-setup.sh            exit 0 when an engine answers at the end, 1 otherwise
#   DOCKER_SETUP_WAIT_SECONDS=120  how long to wait for a fresh engine (default 60)
set -u

wait_seconds="${DOCKER_SETUP_WAIT_SECONDS:-60}"
log_file="${DOCKER_SETUP_LOG:-/tmp/neverstop-dockerd.log}"

engine_answers() {
  command -v docker >/dev/null 2>&1 && docker version --format '{{.Server.Version}}' >/dev/null 2>&1
}

say() {
  echo "docker-setup: $*"
}

if engine_answers; then
  say "a Docker engine $(docker version --format '{{.Server.Version}}') already answers"
  exit 0
fi

if [ "$(id -u)" != "0" ]; then
  say "no Docker engine answers and this is not root: cannot install or start one (Docker tests will skip)"
  exit 1
fi

if ! command -v dockerd >/dev/null 2>&1 || ! command -v docker-compose >/dev/null 2>&1; then
  if ! command -v apt-get >/dev/null 2>&1; then
    say "no dockerd and no apt-get to install it (Docker tests will skip)"
    exit 1
  fi
  if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io docker-compose; } >/tmp/neverstop-docker-apt.log 2>&1; then
    say "apt-get install docker.io docker-compose failed, see /tmp/neverstop-docker-apt.log (Docker tests will skip)"
    exit 1
  fi
fi

# An engine that is still starting (its pid file names a live process) is waited for, not doubled.
if ! { [ -f /var/run/docker.pid ] && kill -0 "$(cat /var/run/docker.pid)" 2>/dev/null; }; then
  # setsid: the engine outlives this script and the shell that ran it.
  setsid dockerd --bridge=none --iptables=false --ip-masq=false --storage-driver=vfs \
    >"$log_file" 2>&1 </dev/null &
fi

for _ in $(seq 1 "$wait_seconds"); do
  if engine_answers; then
    say "started dockerd $(docker version --format '{{.Server.Version}}') (vfs storage, host network only; log in $log_file)"
    exit 0
  fi
  sleep 1
done
say "dockerd did not answer within ${wait_seconds} s, last log line: $(tail -n 1 "$log_file" 2>/dev/null)"
exit 1
