#!/usr/bin/env bash
# tessera-kek-setup's decisions, with a stand-in for systemd-creds (which
# would seal to this machine's host key): a new key, a file key moved into
# the credential and shredded, a store with records and no key refused, an
# existing credential left alone.
set -euo pipefail
setup=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The stand-in: "encrypt" prefixes the bytes, "decrypt" strips them.
cat > "$tmp/creds" <<'STUB'
#!/usr/bin/env bash
set -euo pipefail
op=$1; shift
[ "$1" = "--name=tessera-kek" ] || { echo "stub: missing --name" >&2; exit 2; }
in=$2 out=$3
[ "$out" != - ] || out=/dev/stdout
if [ "$op" = encrypt ]; then
  { printf 'SEALED:'; cat "$in"; } > "$out"
else
  tail -c +8 "$in" > "$out"
fi
STUB
chmod +x "$tmp/creds"
fail() { echo "FAIL: $*"; exit 1; }

run() { # case dir -> runs the script on that case's paths
  TESSERA_CREDSTORE="$1/credstore" TESSERA_STORE="$1/state/keystore.sqlite3" \
    TESSERA_KEK_FILE="$1/etc/keystore.kek" SYSTEMD_CREDS="$tmp/creds" sh "$setup"
}

# 1. A new installation: a new 32-byte key, sealed.
c="$tmp/new"; mkdir -p "$c/state" "$c/etc"
run "$c" >/dev/null
[ "$(head -c 7 "$c/credstore/tessera-kek")" = SEALED: ] || fail "new: not sealed"
[ "$(tail -c +8 "$c/credstore/tessera-kek" | wc -c)" -eq 32 ] || fail "new: not 32 bytes"
[ "$(stat -c %a "$c/credstore/tessera-kek")" = 600 ] || fail "new: mode"
# Run again: left alone.
before=$(md5sum < "$c/credstore/tessera-kek")
run "$c" >/dev/null
[ "$(md5sum < "$c/credstore/tessera-kek")" = "$before" ] || fail "second run changed the key"

# 2. An older installation with the key beside the store: moved, then shredded.
c="$tmp/old"; mkdir -p "$c/state" "$c/etc"
head -c 32 /dev/urandom > "$c/state/keystore.sqlite3.kek"
cp "$c/state/keystore.sqlite3.kek" "$tmp/expected"
echo data > "$c/state/keystore.sqlite3"
run "$c" | grep -q "moved the key-encryption key" || fail "old: no message"
tail -c +8 "$c/credstore/tessera-kek" | cmp -s - "$tmp/expected" || fail "old: another key"
[ ! -e "$c/state/keystore.sqlite3.kek" ] || fail "old: the file key is still there"

# 3. The same with the key at kek_path.
c="$tmp/file"; mkdir -p "$c/state" "$c/etc"
head -c 32 /dev/urandom > "$c/etc/keystore.kek"
cp "$c/etc/keystore.kek" "$tmp/expected"
echo data > "$c/state/keystore.sqlite3"
run "$c" >/dev/null
tail -c +8 "$c/credstore/tessera-kek" | cmp -s - "$tmp/expected" || fail "file: another key"
[ ! -e "$c/etc/keystore.kek" ] || fail "file: the file key is still there"

# 4. Records and no key anywhere: refused, nothing made.
c="$tmp/lost"; mkdir -p "$c/state" "$c/etc"
echo data > "$c/state/keystore.sqlite3"
if out=$(run "$c" 2>&1); then fail "lost: accepted"; fi
grep -q "not making a new one" <<<"$out" || fail "lost: message: $out"
[ ! -e "$c/credstore/tessera-kek" ] || fail "lost: a key was made"

# 5. A file that is not a key: refused, left as it is.
c="$tmp/bad"; mkdir -p "$c/state" "$c/etc"
echo short > "$c/etc/keystore.kek"
if run "$c" >/dev/null 2>&1; then fail "bad: accepted"; fi
[ -e "$c/etc/keystore.kek" ] && [ ! -e "$c/credstore/tessera-kek" ] || fail "bad: changed"
echo "tessera-kek-setup: 5 cases passed"
