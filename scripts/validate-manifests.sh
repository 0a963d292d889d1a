#!/usr/bin/env bash
# Validates the deployment artefacts offline: renders deploy/k8s (base and
# overlays), checks every object against the Kubernetes API schemas and the
# deployment policy, and checks the Dockerfile against the built binaries.
# Needs Node.js (installed from Debian when missing) and, once, the npm
# packages locked in tests/deploy/package-lock.json.
set -euo pipefail
cd "$(dirname "$0")/.."
TESTS=tests/deploy

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "Installing: nodejs npm"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends nodejs npm
fi

# npm ci empties node_modules first: run it only when the lock file changed
# since the last install.
if ! cmp -s "$TESTS/package-lock.json" "$TESTS/node_modules/.validated-lock.json"; then
  npm ci --prefix "$TESTS" --prefer-offline --no-audit --no-fund --loglevel=error
  cp "$TESTS/package-lock.json" "$TESTS/node_modules/.validated-lock.json"
fi

node --test "$TESTS"/*.test.mjs
