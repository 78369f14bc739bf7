#!/usr/bin/env bash
# The identity flow on one machine, as the current user, in a temporary
# directory: tesserad (Jwt + UnixPeerCredentials), tessera-idp and
# tessera-orchestrator, then a program launched as the client "demo" gets a
# token and makes a key under spiffe://tessera.local/demo. Needs a build in
# build/ (tools/quickstart.sh or meson setup build && ninja -C build).
set -euo pipefail
cd "$(dirname "$0")/.."
b=$PWD/build
for f in daemon/tesserad identity/tessera-idp identity/tessera-orchestrator client/tessera; do
  [ -x "$b/$f" ] || { echo "identity-demo: $b/$f is missing: build first" >&2; exit 1; }
done

dir=$(mktemp -d /tmp/tessera-identity.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT

cat > "$dir/tesserad.json" <<JSON
{
  "core": {"allow_root": true},
  "listener": {"socket_path": "$dir/api.sock"},
  "authenticators": [{"type": "Jwt"}, {"type": "UnixPeerCredentials"}],
  "trust": {"peer_uid": $(id -u)}
}
JSON
wait_for() { for _ in $(seq 1 100); do [ -S "$1" ] && return 0; sleep 0.1; done; return 1; }

"$b/daemon/tesserad" --config "$dir/tesserad.json" --state-dir "$dir" --kek-file "$dir/secrets/kek" \
  2>"$dir/tesserad.log" &
pids+=($!)
wait_for "$dir/api.sock"
"$b/identity/tessera-idp" --socket "$dir/idp.sock" --tesserad "unix:$dir/api.sock" \
  --orchestrator-uid "$(id -u)" --check-interval-ms 500 2>"$dir/idp.log" &
pids+=($!)
wait_for "$dir/idp.sock"
"$b/identity/tessera-orchestrator" serve --socket "$dir/orch.sock" --idp "unix:$dir/idp.sock" \
  --check-interval-ms 500 2>"$dir/orch.log" &
pids+=($!)
wait_for "$dir/orch.sock"

run_demo() {
  "$b/identity/tessera-orchestrator" run --socket "$dir/orch.sock" --name demo -- \
    "$b/client/tessera" --endpoint "unix:$dir/api.sock" --auth jwt --idp "unix:$dir/idp.sock" "$@"
}
# The chain is ready once the idp has shared its root with tesserad.
for _ in $(seq 1 50); do run_demo whoami >/dev/null 2>&1 && break; sleep 0.2; done
echo "\$ tessera-orchestrator run --name demo -- tessera --auth jwt whoami"
run_demo whoami
echo "\$ tessera-orchestrator run --name demo -- tessera --auth jwt create-ecc-key demo-key"
run_demo create-ecc-key demo-key
echo "\$ tessera-orchestrator run --name demo -- tessera --auth jwt list-keys"
run_demo list-keys
echo "\$ tessera --auth jwt whoami    # not launched by the orchestrator"
"$b/client/tessera" --auth jwt --idp "unix:$dir/idp.sock" whoami || true
