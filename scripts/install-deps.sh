#!/usr/bin/env bash
# Installs the Debian packages the project builds and tests with. Idempotent: installs only what
# is missing, so a second run costs a dpkg query. Needs root (or sudo) when something is missing.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config git
  clang clang-format clang-tidy libclang-rt-14-dev
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler libssl-dev
  libabsl-dev libre2-dev libyaml-cpp-dev libboost-dev
  prometheus-cpp-dev libhiredis-dev libcurl4-openssl-dev libnghttp2-dev
  libgtest-dev libgmock-dev libbenchmark-dev libcli11-dev libcivetweb-dev
  redis-server redis-sentinel prometheus nginx nginx-dev caddy wrk chromium
  python3 python3-grpcio python3-protobuf python3-yaml python3-jsonschema python3-matplotlib curl openssl
  etcd-server
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian starts these services on install; the project's tests start their own on ephemeral ports.
for svc in redis-server redis-sentinel prometheus nginx caddy etcd; do
  if command -v systemctl >/dev/null 2>&1; then $SUDO systemctl stop "$svc" >/dev/null 2>&1 || true; fi
  if command -v service >/dev/null 2>&1; then $SUDO service "$svc" stop >/dev/null 2>&1 || true; fi
done
echo "install-deps: done"
