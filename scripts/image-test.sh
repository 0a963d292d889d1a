#!/usr/bin/env bash
# Builds the Dockerfile for real and runs the image's binaries, without a
# registry and without `podman run` (refused on CI machines):
#   1. debian:12 and debian:12-slim: a minimal bookworm debootstrapped from this
#      machine's Debian archive and imported into podman (cached, see below);
#   2. `podman build --isolation=chroot` of the Dockerfile (ccache in its
#      BuildKit-style cache mount, kept by buildah in /var/tmp/buildah-cache);
#   3. the runtime image's root filesystem, mounted read-only with a tmpfs
#      /tmp (as the pods run it), runs halopsa-sim and halopsa-server as uid
#      10001 against a real redis-server; halopsa-cli, also from the image,
#      creates a ticket over gRPC and through the signed webhook gateway, and
#      /healthz and /readyz answer.
# Needs root. Prints the time of each step.
#   sudo scripts/image-test.sh
# IMAGE_TEST_CACHE (default /var/cache/ext-halopsa/image-test) keeps the
# debootstrapped bases as tarballs; they are rebuilt after
# IMAGE_TEST_BASE_MAX_DAYS (default 7) so the image gets Debian's updates.
set -euo pipefail
SCRIPT=$(realpath "$0")
cd "$(dirname "$SCRIPT")/.."
IMAGE=localhost/ext-halopsa:image-test
RUNTIME_IMAGE=$IMAGE-runtime
RUNTIME_UID=10001

step_started=0
step() { step_started=$SECONDS; echo "== $*"; }
took() { echo "   took $((SECONDS - step_started))s"; }

# --- inside a private mount namespace: run the image's binaries -------------
# Mounts made here vanish with the namespace, whatever happens.

# The image's root read-only, with a tmpfs /tmp, /proc and /dev (as a pod).
mount_image_root() {
  mount --bind "$1" "$ROOT"
  mount -o remount,bind,ro "$ROOT"
  mount -t tmpfs -o size=64m,mode=1777 tmpfs "$ROOT/tmp"
  mount -t proc proc "$ROOT/proc"
  mount --rbind /dev "$ROOT/dev"
}

cleanup_run() {
  [ ${#PIDS[@]} -eq 0 ] || kill "${PIDS[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
  umount -R "$ROOT" 2>/dev/null || umount -R -l "$ROOT" 2>/dev/null || true
  # Never into the image, should it still be mounted.
  rm -rf --one-file-system "$WORK"
}

fail() {
  echo "FAIL: $*"
  for log in "$WORK"/*.log; do echo "--- $log"; tail -20 "$log"; done
  exit 1
}

as_image_user() { "$CHROOT" --userspec=$RUNTIME_UID:$RUNTIME_UID "$ROOT" "$@"; }

# A loopback TCP port nobody listens on (from /proc/net/tcp{,6}), for
# redis-server, which cannot take port 0. Taken below the kernel's ephemeral
# range, where no outgoing connection holds it; start_redis still retries,
# since another process may bind it first.
free_port() {
  local port used ephemeral_low
  read -r ephemeral_low _ </proc/sys/net/ipv4/ip_local_port_range
  used=$(awk 'FNR > 1 { split($2, a, ":"); print a[2] }' /proc/net/tcp /proc/net/tcp6 |
    while read -r hex; do echo $((16#$hex)); done)
  while :; do
    port=$((10000 + RANDOM % (ephemeral_low - 10000)))
    grep -qx "$port" <<<"$used" || { echo "$port"; return; }
  done
}

# Waits (bounded) until "$@" succeeds.
wait_for() {
  local deadline=$((SECONDS + 30))
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.1
  done
}

# HTTP status of GET path on 127.0.0.1:port, with bash's /dev/tcp (no curl
# on a fresh Debian).
http_status() {
  local status
  exec 3<>"/dev/tcp/127.0.0.1/$1" || return 1
  printf 'GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' "$2" >&3
  read -r -t 5 _ status _ <&3 || true
  exec 3<&-
  echo "${status:-none}"
}
answers() { [ "$(http_status "$ADMIN_PORT" "$1")" = "$2" ]; }

# Files the pod would get from its Secrets, owned by the image's user.
write_secrets() {
  mkdir "$ROOT/tmp/secrets"
  cp tests/testdata/certs/{server.pem,server.key,ca.pem} "$ROOT/tmp/secrets/"
  openssl rand -hex 32 >"$ROOT/tmp/secrets/lc-extension-secret"
  echo sim-secret >"$ROOT/tmp/secrets/halopsa-client-secret"
  chown -R $RUNTIME_UID:$RUNTIME_UID "$ROOT/tmp/secrets"
  chmod 0500 "$ROOT/tmp/secrets"
}

start_redis() {
  REDIS_PASSWORD=$(openssl rand -hex 24)
  printf 'requirepass %s\n' "$REDIS_PASSWORD" >"$WORK/redis-auth.conf"
  local attempt
  for attempt in 1 2 3 4 5; do
    REDIS_PORT=$(free_port)
    redis-server --include "$WORK/redis-auth.conf" --bind 127.0.0.1 --port "$REDIS_PORT" --save '' \
      --appendonly no --dir "$WORK" >"$WORK/redis.log" 2>&1 &
    REDIS_PID=$!
    wait_for redis_answers_or_exits || break
    kill -0 "$REDIS_PID" 2>/dev/null && { PIDS+=("$REDIS_PID"); return; }
    grep -q 'Address already in use' "$WORK/redis.log" || break
    echo "   port $REDIS_PORT was taken; another (attempt $attempt)"
  done
  fail "redis-server did not start"
}

# True once redis-server answers, or once it has exited (a bind failure).
redis_answers_or_exits() {
  ! kill -0 "$REDIS_PID" 2>/dev/null || REDISCLI_AUTH="$REDIS_PASSWORD" timeout 2 redis-cli -p "$REDIS_PORT" ping
}

start_simulator() {
  as_image_user /usr/local/bin/halopsa-sim --listen=127.0.0.1:0 --tls_cert=/tmp/secrets/server.pem \
    --tls_key=/tmp/secrets/server.key --client_id=sim-client --client_secret=sim-secret >"$WORK/sim.log" 2>&1 &
  PIDS+=($!)
  wait_for grep -q '^halopsa-sim listening on ' "$WORK/sim.log" || fail "halopsa-sim did not start"
  SIM_URL=$(sed -n 's/^halopsa-sim listening on //p' "$WORK/sim.log")
}

# halopsa-server on port 0 everywhere, configured as in deploy/k8s (files for
# secrets) against the simulator and Redis; its ports from its start-up line.
start_server() {
  env -i PATH=/usr/local/bin:/usr/bin:/bin \
    HALOPSA_INSTANCE_URL="$SIM_URL" HALOPSA_CLIENT_ID=sim-client \
    HALOPSA_CLIENT_SECRET_FILE=/tmp/secrets/halopsa-client-secret \
    HALOPSA_CA_FILE=/tmp/secrets/ca.pem HALOPSA_ALLOW_PRIVATE_UPSTREAM=true \
    HALOPSA_GRPC_LISTEN=127.0.0.1:0 HALOPSA_GRPC_PLAINTEXT=true \
    HALOPSA_GATEWAY_LISTEN=127.0.0.1:0 LC_EXTENSION_SECRET_FILE=/tmp/secrets/lc-extension-secret \
    HALOPSA_ADMIN_LISTEN=127.0.0.1:0 \
    HALOPSA_REDIS_URL="redis://:$REDIS_PASSWORD@127.0.0.1:$REDIS_PORT/0" HALOPSA_REDIS_UNREADY_AFTER=1s \
    "$CHROOT" --userspec=$RUNTIME_UID:$RUNTIME_UID "$ROOT" /usr/local/bin/halopsa-server >"$WORK/server.log" 2>&1 &
  SERVER_PID=$!
  PIDS+=("$SERVER_PID")
  wait_for grep -q '"msg":"started"' "$WORK/server.log" || fail "halopsa-server did not start"
  bound_port() { sed -n "s/.*\"msg\":\"started\".*\"$1\":\([0-9]*\).*/\1/p" "$WORK/server.log"; }
  GRPC_PORT=$(bound_port grpc_port) GATEWAY_PORT=$(bound_port gateway_port) ADMIN_PORT=$(bound_port admin_port)
}

cli() { as_image_user /usr/local/bin/halopsa-cli --target="127.0.0.1:$GRPC_PORT" --timeout=10s "$@"; }

check_serving() {
  wait_for cli health || fail "halopsa-server did not become healthy"
  [ "$(ps -o uid= -p "$SERVER_PID" | tr -d ' ')" = $RUNTIME_UID ] || fail "halopsa-server does not run as uid $RUNTIME_UID"
  echo "ok   halopsa-server, halopsa-sim and halopsa-cli run from the image as uid $RUNTIME_UID"
  answers /healthz 200 || fail "/healthz did not answer 200"
  answers /readyz 200 || fail "/readyz did not answer 200"
  echo "ok   /healthz and /readyz answer 200"
}

check_creates() {
  local created hooked
  created=$(cli create_ticket '{"summary": "image test", "client_id": 12, "site_id": 18}' 2>&1) ||
    fail "create_ticket: $created"
  grep -q '"id"' <<<"$created" || fail "create_ticket answered without an id: $created"
  echo "ok   create_ticket over gRPC"
  hooked=$(as_image_user /usr/local/bin/halopsa-cli --gateway_url="http://127.0.0.1:$GATEWAY_PORT/" \
    --lc_extension_secret_file=/tmp/secrets/lc-extension-secret \
    --org_config="{\"instance_url\": \"$SIM_URL\", \"client_id\": \"sim-client\", \"client_secret\": \"sim-secret\"}" \
    webhook create_ticket '{"summary": "image test webhook", "client_id": "12", "site_id": "18"}' 2>&1) ||
    fail "webhook create_ticket: $hooked"
  grep -q '"id"' <<<"$hooked" || fail "webhook create_ticket answered without an id: $hooked"
  echo "ok   create_ticket through the signed webhook gateway"
}

check_shared_state() {
  local keys
  keys=$(REDISCLI_AUTH="$REDIS_PASSWORD" redis-cli -p "$REDIS_PORT" dbsize)
  [ "$keys" -gt 0 ] || fail "halopsa-server kept nothing in Redis (dbsize $keys)"
  echo "ok   halopsa-server keeps its shared state in Redis ($keys keys)"
  { kill -KILL "$REDIS_PID" && wait "$REDIS_PID"; } 2>/dev/null || true
  wait_for answers /readyz 503 || fail "/readyz did not turn 503 with Redis gone"
  answers /healthz 200 || fail "/healthz did not answer 200 with Redis gone"
  echo "ok   with Redis gone, /readyz answers 503 after HALOPSA_REDIS_UNREADY_AFTER and /healthz 200"
  if grep -qF "$REDIS_PASSWORD" "$WORK/server.log"; then fail "the Redis password is in the server's log"; fi
  echo "ok   the Redis password is not in the server's log"
}

if [ "${1:-}" = --run-in-namespace ]; then
  WORK=$(mktemp -d /tmp/halopsa-image-run.XXXXXX)
  ROOT="$WORK/root"
  mkdir "$ROOT"
  PIDS=()
  CHROOT=$(command -v chroot)
  trap cleanup_run EXIT
  mount_image_root "$2"
  write_secrets
  start_redis
  start_simulator
  start_server
  check_serving
  check_creates
  check_shared_state
  exit 0
fi

# --- outside: install, base images, build ------------------------------------
[ "$(id -u)" -eq 0 ] || { echo "scripts/image-test.sh needs root (podman build, chroot, mounts)"; exit 2; }
total_started=$SECONDS
./scripts/install-deps.sh podman debootstrap

CACHE=${IMAGE_TEST_CACHE:-/var/cache/ext-halopsa/image-test}
MAX_DAYS=${IMAGE_TEST_BASE_MAX_DAYS:-7}
# This machine's Debian archive (apt sources), which the images then use too.
SOURCES=/etc/apt/sources.list.d/debian.sources
MIRROR=$(awk '$1 == "URIs:" { print $2; exit }' "$SOURCES")
[ -n "$MIRROR" ] || { echo "no Debian archive in $SOURCES"; exit 2; }

# podman import refuses file names with ':'.
tarball() { echo "$CACHE/${1/:/-}.tar"; }

base_is_current() {
  [ "$(podman image inspect --format '{{index .Labels "ext-halopsa.base"}}' "localhost/$1" 2>/dev/null)" = "$BASE_KEY" ] &&
    [ -n "$(find "$(tarball "$1")" -mtime -"$MAX_DAYS" 2>/dev/null)" ]
}

import_base() { # name
  podman import --quiet --change "LABEL ext-halopsa.base=$BASE_KEY" \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["bash"]' "$(tarball "$1")" "localhost/$1" >/dev/null
}

# debian:12 is debootstrap's minbase with the host's apt sources; debian:12-slim
# additionally leaves out documentation, as Debian's slim images do.
make_bases() {
  local rootfs="$CACHE/rootfs"
  rm -rf "$rootfs"
  mkdir -p "$CACHE"
  debootstrap --variant=minbase bookworm "$rootfs" "$MIRROR" >"$CACHE/debootstrap.log" 2>&1 ||
    { tail -20 "$CACHE/debootstrap.log"; exit 1; }
  rm -f "$rootfs/etc/apt/sources.list"
  cp "$SOURCES" "$rootfs/etc/apt/sources.list.d/"
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb \
    "$rootfs"/var/log/* "$rootfs"/tmp/*
  tar -C "$rootfs" -cf "$(tarball debian:12).partial" . && mv "$(tarball debian:12).partial" "$(tarball debian:12)"
  cat >"$rootfs/etc/dpkg/dpkg.cfg.d/slim" <<'CFG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
CFG
  find "$rootfs/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
  rm -rf "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/*
  tar -C "$rootfs" -cf "$(tarball debian:12-slim).partial" . && mv "$(tarball debian:12-slim).partial" "$(tarball debian:12-slim)"
  rm -rf "$rootfs"
}

# What the cached bases are made from; a change rebuilds them.
BASE_KEY=$(printf '%s\n' "$MIRROR" "$(cat "$SOURCES")" "$(declare -f make_bases)" | sha256sum | cut -c1-16)

step "base images debian:12 and debian:12-slim (cache $CACHE)"
if base_is_current debian:12 && base_is_current debian:12-slim; then
  echo "   cached"
else
  if [ "$(find "$CACHE" -maxdepth 1 -name 'debian-12*.tar' -mtime -"$MAX_DAYS" 2>/dev/null | wc -l)" -ne 2 ] ||
     [ "$(cat "$CACHE/key" 2>/dev/null)" != "$BASE_KEY" ]; then
    echo "   debootstrap bookworm from $MIRROR"
    make_bases
    echo "$BASE_KEY" >"$CACHE/key"
  fi
  import_base debian:12
  import_base debian:12-slim
fi
took

step "podman build --isolation=chroot"
: >"${TMPDIR:-/tmp}/halopsa-image-build.log"
BUILD_LOG=${TMPDIR:-/tmp}/halopsa-image-build.log
# The build stage is tagged too: its layers (the installed dependencies, the
# compiled tree) then stay cached when the prune below drops what the last
# build left behind.
for target in build runtime; do
  podman build --isolation=chroot --pull=never --layers --target "$target" -t "$IMAGE-$target" . >>"$BUILD_LOG" 2>&1 ||
    { tail -40 "$BUILD_LOG"; echo "FAIL: podman build"; exit 1; }
done
podman image prune -f >/dev/null
took

step "run the image's binaries from its root filesystem as uid $RUNTIME_UID"
IMAGE_ROOT=$(podman image mount "$RUNTIME_IMAGE")
trap 'podman image unmount "$RUNTIME_IMAGE" >/dev/null' EXIT
unshare --mount --propagation private -- "$SCRIPT" --run-in-namespace "$IMAGE_ROOT"
took
echo "image test passed in $((SECONDS - total_started))s"
