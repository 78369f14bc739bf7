#!/usr/bin/env bash
# Fresh machine to running daemon: install packages, build, and run tesserad
# in the foreground with the embedded default configuration, on a socket in
# a local state directory.
set -euo pipefail
cd "$(dirname "$0")/.."

tools/install-deps.sh
[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build >/dev/null

state="$PWD/.tessera"
mkdir -p "$state/store"
chmod 0700 "$state" "$state/store"
sock="$state/api.sock"

# The key store in .tessera/store, its key-encryption key beside that
# directory (.tessera/store.kek), never in it.
args=(--socket "$sock" --state-dir "$state/store")
if [ "$(id -u)" -eq 0 ]; then
  # tesserad refuses root by default; this demo opts in explicitly.
  args+=(--allow-root)
fi

cat <<MSG
tesserad socket: $sock
Try, from another terminal in $PWD:
  PARSEC_SERVICE_ENDPOINT=unix:$sock build/client/tessera ping
Stop with Ctrl-C.
MSG
exec build/daemon/tesserad "${args[@]}"
