#!/usr/bin/env bash
# The run command: installs what is missing, builds, starts the HaloPSA
# simulator (HTTPS on loopback) and halopsa-server against it, and prints
# how to call the service. Ctrl-C stops both.
#
# The server reads the HALOPSA_* / LC_* variables of the README's
# configuration table from the environment as usual; this script sets those
# that connect it to the simulator and, unless already set, loopback listen
# addresses (HALOPSA_GRPC_LISTEN, HALOPSA_GATEWAY_LISTEN,
# HALOPSA_ADMIN_LISTEN). Its own variable: BUILD_DIR (as in scripts/build.sh,
# default build).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/build.sh
BIN="${BUILD_DIR:-build}/bin"
CERTS=tests/testdata/certs
export HALOPSA_GRPC_LISTEN=${HALOPSA_GRPC_LISTEN:-127.0.0.1:50051}
export HALOPSA_GATEWAY_LISTEN=${HALOPSA_GATEWAY_LISTEN:-127.0.0.1:8080}
export HALOPSA_ADMIN_LISTEN=${HALOPSA_ADMIN_LISTEN:-127.0.0.1:9090}
GRPC=$HALOPSA_GRPC_LISTEN
GATEWAY=$HALOPSA_GATEWAY_LISTEN
ADMIN=$HALOPSA_ADMIN_LISTEN

RUN_DIR=$(mktemp -d)
SIM_LOG="$RUN_DIR/sim.log"
# A fresh webhook signing key for this run (LimaCharlie's shared secret).
LC_SECRET_FILE="$RUN_DIR/lc-extension-secret"
openssl rand -hex 32 > "$LC_SECRET_FILE"
"$BIN/halopsa-sim" --listen=127.0.0.1:0 --tls_cert="$CERTS/server.pem" --tls_key="$CERTS/server.key" \
  --client_id=sim-client --client_secret=sim-secret >"$SIM_LOG" 2>&1 &
SIM_PID=$!
SERVER_PID=""
# Background jobs of a script ignore SIGINT, so Ctrl-C reaches only this
# shell: it sends SIGTERM, on which both drain and exit.
stop() {
  kill $SERVER_PID $SIM_PID 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$RUN_DIR"
}
trap stop EXIT
trap 'exit 130' INT TERM
for _ in $(seq 100); do
  SIM_URL=$(sed -n 's/^halopsa-sim listening on //p' "$SIM_LOG")
  [ -n "$SIM_URL" ] && break
  kill -0 $SIM_PID 2>/dev/null || { cat "$SIM_LOG"; exit 1; }
  sleep 0.1
done
[ -n "$SIM_URL" ] || { echo "the simulator did not start"; cat "$SIM_LOG"; exit 1; }

# The simulator's certificate is signed by the test CA; it runs on
# loopback, which only allow_private_upstream permits.
HALOPSA_INSTANCE_URL="$SIM_URL" HALOPSA_CLIENT_ID=sim-client HALOPSA_CLIENT_SECRET=sim-secret \
HALOPSA_CA_FILE="$CERTS/ca.pem" HALOPSA_ALLOW_PRIVATE_UPSTREAM=1 \
HALOPSA_GRPC_PLAINTEXT=1 LC_EXTENSION_SECRET_FILE="$LC_SECRET_FILE" \
  "$BIN/halopsa-server" &
SERVER_PID=$!

for _ in $(seq 100); do
  "$BIN/halopsa-cli" --target="$GRPC" health >/dev/null 2>&1 && break
  kill -0 $SERVER_PID 2>/dev/null || exit 1
  sleep 0.1
done

cat <<TXT

ext-halopsa is running against the HaloPSA simulator at $SIM_URL:
  gRPC $GRPC, webhook gateway http://$GATEWAY/, admin http://$ADMIN/metrics
Try it from another terminal (gRPC):

  $BIN/halopsa-cli --target=$GRPC create_ticket '{"summary": "Test detection", "client_id": 12, "site_id": 18}'
  $BIN/halopsa-cli --target=$GRPC search_tickets '{"client_id": 12}'
  $BIN/halopsa-cli --target=$GRPC add_action '{"ticket_id": 2884, "note": "triage notes", "timetaken": 1}'
  $BIN/halopsa-cli --target=$GRPC link_asset_to_ticket '{"ticket_id": 2884, "hostname": "CONTOSO-LT-7"}'
  $BIN/halopsa-cli --target=$GRPC lookup_client_site '{"type": "site", "client_id": 12}'

As LimaCharlie would, through the signed webhook gateway (signing key in $LC_SECRET_FILE):

  $BIN/halopsa-cli --gateway_url=http://$GATEWAY/ --lc_extension_secret_file=$LC_SECRET_FILE \\
    --org_config='{"instance_url": "$SIM_URL", "client_id": "sim-client", "client_secret": "sim-secret"}' \\
    webhook create_ticket '{"summary": "{{ .cat }} - host1", "client_id": "12", "site_id": "18"}'

Ctrl-C stops the server and the simulator.
TXT
wait $SERVER_PID
