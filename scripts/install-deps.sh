#!/usr/bin/env bash
# Installs the Debian 12 packages the build, the tests and the run need,
# plus any package names given as arguments (e.g. the fuzz build's clang).
# Does nothing (and needs no network) when they are all present.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libabsl-dev libboost-dev rapidjson-dev libssl-dev zlib1g-dev
  libgtest-dev libgmock-dev libbenchmark-dev openssl ca-certificates
  libhiredis-dev redis-server
  "$@"
)

missing=()
for package in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "Installing: ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
