#!/usr/bin/env bash
# Make a Docker engine answer on this machine (root, Debian), for the docker backend's tests.
# Idempotent: installs docker.io and busybox-static only when missing, starts dockerd only when no
# engine answers, then waits (up to 60 s) until `docker info` works. dockerd's log: /tmp/dockerd.log.
set -euo pipefail

need_apt=()
command -v dockerd >/dev/null 2>&1 || need_apt+=(docker.io)
command -v busybox >/dev/null 2>&1 || [ -x /bin/busybox ] || need_apt+=(busybox-static)
if [ "${#need_apt[@]}" -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

if docker info >/dev/null 2>&1; then
  echo "docker-setup: engine already answers"
  exit 0
fi

if ! pgrep -x dockerd >/dev/null 2>&1; then
  nohup dockerd >/tmp/dockerd.log 2>&1 </dev/null &
  echo "docker-setup: started dockerd (pid $!)"
fi

for _ in $(seq 1 120); do
  if [ -S /var/run/docker.sock ] && docker info >/dev/null 2>&1; then
    echo "docker-setup: engine answers ($(docker version --format '{{.Server.Version}}'))"
    exit 0
  fi
  sleep 0.5
done
echo "docker-setup: dockerd did not come up in 60 s; last log lines:" >&2
tail -n 20 /tmp/dockerd.log >&2 || true
exit 1
