#!/usr/bin/env bash
# Optional, manual check of the Dockerfile's runtime stage without a Docker
# engine: builds a minimal Debian 12 root filesystem (debootstrap minbase, the
# variant debian:12-slim is made from), installs the runtime packages named in
# the Dockerfile, copies in the built binaries and runs each one there as uid
# 10001. Proves the binaries load with exactly those packages.
# Needs root, network access to the Debian archive, ~400 MB in /tmp and a few
# minutes; not part of scripts/validate-manifests.sh.
#   sudo tests/deploy/runtime-rootfs-smoke.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${1:-build}/bin
# The machine's own Debian mirror unless DEBIAN_MIRROR names one.
MIRROR=${DEBIAN_MIRROR:-$(awk '$1 == "URIs:" { print $2; exit }' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)}
[ -n "$MIRROR" ] || { echo "set DEBIAN_MIRROR to a Debian archive URL"; exit 2; }
command -v debootstrap >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap

PACKAGES=$(node --input-type=module -e "
  import { readFileSync } from 'node:fs';
  import { aptInstalledPackages, parseDockerfile } from './tests/deploy/lib/dockerfile.mjs';
  console.log(aptInstalledPackages(parseDockerfile(readFileSync('Dockerfile', 'utf8')).at(-1)).join(' '));")
echo "runtime packages: $PACKAGES"

ROOT=$(mktemp -d /tmp/halopsa-rootfs.XXXXXX)
LOG=$(mktemp /tmp/halopsa-rootfs-log.XXXXXX)
trap 'rm -rf "$ROOT" "$LOG"' EXIT
chmod 0755 "$ROOT" # it is /, which uid 10001 must traverse
step() { "$@" >>"$LOG" 2>&1 || { tail -20 "$LOG"; echo "FAIL: $*"; exit 1; }; }
step debootstrap --variant=minbase bookworm "$ROOT" "$MIRROR"
step chroot "$ROOT" apt-get update -qq
# shellcheck disable=SC2086
step chroot "$ROOT" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $PACKAGES
step chroot "$ROOT" groupadd --gid 10001 halopsa
step chroot "$ROOT" useradd --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent --no-log-init --shell /usr/sbin/nologin halopsa
cp "$BIN/halopsa-server" "$BIN/halopsa-cli" "$BIN/halopsa-sim" "$ROOT/usr/local/bin/"

failed=0
for binary in halopsa-server halopsa-cli halopsa-sim; do
  missing=$(chroot "$ROOT" ldd "/usr/local/bin/$binary" | grep 'not found' || true)
  output=$(chroot --userspec=10001:10001 "$ROOT" "/usr/local/bin/$binary" --helpfull 2>&1 || true)
  if [ -n "$missing" ] || grep -q 'error while loading shared libraries' <<<"$output" || ! grep -q 'Flags from' <<<"$output"; then
    echo "FAIL $binary: ${missing:-$(head -3 <<<"$output")}"
    failed=1
  else
    echo "ok   $binary loads and runs as uid 10001"
  fi
done
if [ -x "$ROOT/usr/bin/sleep" ]; then
  echo "ok   /usr/bin/sleep (the preStop hook) is present"
else
  echo "FAIL no /usr/bin/sleep"
  failed=1
fi
exit $failed
