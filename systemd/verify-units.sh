#!/usr/bin/env bash
# Check the unit files with systemd-analyze. Arguments: source dir, the
# configured tesserad.service, the built tesserad binary.
# Exit 77 (meson's "skipped") when systemd-analyze is not installed.
set -euo pipefail
src=$1 service=$2 tesserad=$3 idp_service=$4 idp=$5 orch_service=$6 orch=$7 kek_service=$8

if ! command -v systemd-analyze >/dev/null; then
  echo "systemd-analyze not installed: skipping"
  exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The check must be able to fail: a misspelt directive is reported.
cat > "$tmp/broken.service" <<UNIT
[Service]
ExecStart=/bin/true
ProtectSystm=strict
UNIT
if out=$(systemd-analyze verify --man=no "$tmp/broken.service" 2>&1) && \
   ! grep -q "Unknown key" <<<"$out"; then
  echo "self-check failed: systemd-analyze did not report a misspelt directive"
  exit 1
fi

# The real units, with ExecStart pointing at the binary just built.
sed "s#^ExecStart=[^ ]*#ExecStart=$tesserad#" "$service" > "$tmp/tesserad.service"
cp "$src/tesserad.socket" "$tmp/tesserad.socket"
sed "s#^ExecStart=[^ ]*#ExecStart=$idp#" "$idp_service" > "$tmp/tessera-idp.service"
sed "s#^ExecStart=[^ ]*#ExecStart=$orch#" "$orch_service" > "$tmp/tessera-orchestrator.service"
cp "$src/tessera-idp.socket" "$tmp/tessera-idp.socket"
sed "s#^ExecStart=[^ ]*#ExecStart=$src/tessera-kek-setup#" "$kek_service" > "$tmp/tessera-kek.service"
mkdir -p "$tmp/tesserad.service.d"
cp "$src/tesserad.service.d/identity.conf" "$tmp/tesserad.service.d/"
out=$(cd "$tmp" && SYSTEMD_UNIT_PATH="$tmp:" systemd-analyze verify --man=no \
  "$tmp/tesserad.socket" "$tmp/tesserad.service" "$tmp/tessera-idp.socket" \
  "$tmp/tessera-idp.service" "$tmp/tessera-orchestrator.service" "$tmp/tessera-kek.service" \
  2>&1 || true)
# A user that does not exist on the build machine is not a unit error.
problems=$(grep -v -E "User=|Group=|tessera.*does not exist|Failed to resolve|^$" <<<"$out" || true)
echo "$out"
if [ -n "$problems" ]; then
  echo "systemd-analyze verify reported problems:"
  echo "$problems"
  exit 1
fi
echo "units verified"

# The key-encryption key comes as an encrypted credential that the set-up
# unit makes before tesserad starts (not a commented-out example).
grep -q '^LoadCredentialEncrypted=tessera-kek:/etc/credstore.encrypted/tessera-kek$' "$service" ||
  { echo "tesserad.service does not load the tessera-kek credential"; exit 1; }
grep -q '^Requires=.*tessera-kek.service' "$service" &&
  grep -q '^After=.*tessera-kek.service' "$service" ||
  { echo "tesserad.service does not start after tessera-kek.service"; exit 1; }

# Parsec clients' default path: tmpfiles links it to the socket unit's path.
listen=$(sed -n 's/^ListenStream=//p' "$src/tesserad.socket")
systemd-tmpfiles --create --root="$tmp/root" "$src/tessera.tmpfiles" >/dev/null 2>&1 || true
link=$(readlink "$tmp/root/run/parsec/parsec.sock" || true)
if [ "$link" != "$listen" ]; then
  echo "tmpfiles: /run/parsec/parsec.sock -> '$link', expected the socket unit's $listen"
  exit 1
fi
echo "tmpfiles: /run/parsec/parsec.sock -> $listen"

if systemd-analyze security --help 2>/dev/null | grep -q -- "--offline"; then
  systemd-analyze security --offline=true --no-pager "$tmp/tesserad.service" | tail -n 3 || true
fi
