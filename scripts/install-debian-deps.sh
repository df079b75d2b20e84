#!/usr/bin/env bash
# Installs the Debian packages slotgate's demo and tests run against, when they are missing:
#   scripts/install-debian-deps.sh demo    redis-server, redis-tools
#   scripts/install-debian-deps.sh tests   the same, plus python3-redis (redis-py), tmux and openssl (TLS test certificates)
#   scripts/install-debian-deps.sh bench   the same as demo, plus nutcracker (twemproxy, npm run bench's reference proxy)
# As root it uses apt-get; otherwise it prints the command to run and fails if something is missing.
# It runs as `npm test`'s pretest step and from `npm run demo`, so a fresh machine needs only npm.
set -euo pipefail

purpose=${1:-tests}
missing=()
packages=()
for tool in redis-server redis-cli redis-benchmark; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if [ "${#missing[@]}" -gt 0 ]; then packages+=(redis-server redis-tools); fi
if [ "$purpose" = tests ]; then
  # redis-py is Debian's, under /usr/bin/python3 (a pyenv python3 first on PATH does not see it).
  if ! python3 -c 'import redis' >/dev/null 2>&1 && ! /usr/bin/python3 -c 'import redis' >/dev/null 2>&1; then
    missing+=(python3-redis)
    packages+=(python3-redis)
  fi
  for tool in tmux openssl; do
    if ! command -v "$tool" >/dev/null 2>&1; then
      missing+=("$tool")
      packages+=("$tool")
    fi
  done
fi
if [ "$purpose" = bench ] && ! command -v nutcracker >/dev/null 2>&1; then
  missing+=(nutcracker)
  packages+=(nutcracker)
fi
[ "${#packages[@]}" -eq 0 ] && exit 0

install="apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y ${packages[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "slotgate: missing ${missing[*]}; install them with: sudo sh -c '$install'" >&2
  exit 1
fi

echo "slotgate: installing ${packages[*]} (missing: ${missing[*]})"
# policy-rc.d answering 101 keeps the package scripts from starting redis-server as a service; add
# one only if the machine has none, and take it away again afterwards.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
  chmod +x /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
apt-get update
DEBIAN_FRONTEND=noninteractive apt-get install -y "${packages[@]}"

# Our tests and the demo start their own nodes; a packaged redis-server on 6379 is only in the way.
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  systemctl stop redis-server.service 2>/dev/null || true
elif command -v service >/dev/null 2>&1; then
  service redis-server stop >/dev/null 2>&1 || true
fi
if [ -s /run/redis/redis-server.pid ]; then kill "$(cat /run/redis/redis-server.pid)" 2>/dev/null || true; fi
# Likewise the packaged nutcracker service (the bench starts its own, on ports of its choosing).
if [ "$purpose" = bench ]; then
  if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    systemctl stop nutcracker.service 2>/dev/null || true
  elif command -v service >/dev/null 2>&1; then
    service nutcracker stop >/dev/null 2>&1 || true
  fi
fi
