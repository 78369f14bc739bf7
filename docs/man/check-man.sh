#!/usr/bin/env bash
# Checks the man pages: each renders with no warning, both as man(1) shows it
# (the check lintian makes too) and through groff with every warning on; each
# long option a program's --help prints, and for tessera(1) each command, is
# in its page; every key of tesserad's default configuration is in
# tesserad.json(5). So a new option, command or key without its page fails.
#
# Arguments: the pages' directory, the project's version, then PAGE=PROGRAM
# pairs.
set -uo pipefail

if [ $# -lt 3 ]; then
  echo "usage: $0 MANDIR VERSION PAGE=PROGRAM..." >&2
  exit 2
fi
dir=$1 version=$2
shift 2
for tool in man groff python3; do
  command -v "$tool" >/dev/null || { echo "$tool not installed: skipping"; exit 77; }
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
errors=0
fail() {
  echo "FAIL: $*"
  errors=$((errors + 1))
}

# The page's text with roff's escapes for '-', '"' and '\' undone and font
# changes removed, so options and names can be searched as typed.
plain() {
  sed -e 's/\\-/-/g' -e 's/\\(dq/"/g' -e 's/\\e/\\/g' -e 's/\\f[BIRP]//g' "$1"
}

for page in "$dir"/*.[1-8]; do
  name=$(basename "$page")
  LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l -Tutf8 -Z "$page" \
    >/dev/null 2>"$tmp/man.err"
  [ -s "$tmp/man.err" ] && fail "$name: man --warnings: $(head -5 "$tmp/man.err")"
  groff -ww -z -man "$page" 2>"$tmp/groff.err"
  [ -s "$tmp/groff.err" ] && fail "$name: groff -ww: $(head -5 "$tmp/groff.err")"
  first=$(grep -m1 '^\.TH' "$page")
  sect=${name##*.}
  [[ "$first" == ".TH "*" $sect "* ]] || fail "$name: .TH does not give section $sect: $first"
  [[ "$first" == *"\"tessera $version\""* ]] ||
    fail "$name: .TH does not name \"tessera $version\" (meson.build's version): $first"
done

for pair in "$@"; do
  page=$dir/${pair%%=*} prog=${pair#*=}
  name=$(basename "$page")
  [ -f "$page" ] || { fail "no page $name"; continue; }
  plain "$page" >"$tmp/page"
  if ! "$prog" --help >"$tmp/help" 2>&1; then
    fail "$prog --help failed"
    continue
  fi
  n=0
  for opt in $(grep -oE -- '--[a-z][a-z0-9-]*' "$tmp/help" | sort -u); do
    n=$((n + 1))
    grep -qE -- "(^|[^a-z0-9-])$opt([^a-z0-9-]|\$)" "$tmp/page" ||
      fail "$name does not describe $opt (in $(basename "$prog") --help)"
  done
  [ "$n" -gt 0 ] || fail "$(basename "$prog") --help names no long option"
  if [ "$(basename "$prog")" = tessera ]; then
    # Commands: the first word of each line of the help's Commands section.
    cmds=$(sed -n '/^Commands:/,/^$/p' "$tmp/help" | sed -n 's/^  \([a-z][a-z-]*\).*/\1/p')
    [ -n "$cmds" ] || fail "tessera --help lists no commands"
    for cmd in $cmds; do
      grep -qE "^\.B[IR]? $cmd( |\$)" "$tmp/page" ||
        fail "$name does not describe the command $cmd"
    done
  fi
done

# tesserad.json(5): every key of the default configuration, with its section.
tesserad=
for pair in "$@"; do
  [ "${pair%%=*}" = tesserad.8 ] && tesserad=${pair#*=}
done
if [ -n "$tesserad" ]; then
  "$tesserad" --print-default-config >"$tmp/default.json" || fail "--print-default-config failed"
  plain "$dir/tesserad.json.5" >"$tmp/page5"
  python3 - "$tmp/default.json" >"$tmp/keys" <<'PY' || fail "the default configuration is not JSON"
import json, sys
def walk(v):
    if isinstance(v, dict):
        for k, x in v.items():
            print(k)
            walk(x)
    elif isinstance(v, list):
        for x in v:
            walk(x)
walk(json.load(open(sys.argv[1])))
PY
  for key in $(sort -u "$tmp/keys"); do
    grep -qE "^\.(B|BR|SH) $key( |\$)" "$tmp/page5" ||
      grep -qiE "^\.SH $key\$" "$tmp/page5" ||
      fail "tesserad.json.5 does not describe the key $key"
  done
fi

# Every authenticator and provider type this build offers is in
# tesserad.json(5), and not among those it calls not available (the list
# comes from the error for a type that does not exist), so a type that
# becomes available fails this until its page says so.
if [ -n "$tesserad" ]; then
  for section in authenticators providers; do
    echo "{\"$section\": [{\"type\": \"NoSuchType\"}]}" >"$tmp/types.json"
    chmod 600 "$tmp/types.json"
    "$tesserad" --check-config "$tmp/types.json" >"$tmp/types.out" 2>&1
    types=$(sed -n -e 's/.*expected one of \(.*\), got .*/\1/p' \
               -e 's/.*(available: \(.*\)).*/\1/p' "$tmp/types.out" | tr -d '",')
    [ -n "$types" ] || fail "tesserad names no available $section types: $(cat "$tmp/types.out")"
    for t in $types; do
      grep -q "\"$t\"" "$tmp/page5" || fail "tesserad.json.5 does not describe the $section type $t"
      grep -B1 "recognised and refused" "$tmp/page5" | grep -q "\"$t\"" &&
        fail "tesserad.json.5 calls the $section type $t not available, and it is"
    done
  done
fi

# The example in tesserad.json(5) is a valid configuration.
if [ -n "$tesserad" ]; then
  sed -n '/^\.SH EXAMPLE$/,/^\.SH /p' "$tmp/page5" | sed -n '/^\.RS/,/^\.RE/p' |
    grep -v '^\.' >"$tmp/example.json"
  chmod 600 "$tmp/example.json"
  if [ ! -s "$tmp/example.json" ]; then
    fail "tesserad.json.5 has no example under EXAMPLE"
  elif ! "$tesserad" --check-config "$tmp/example.json" >"$tmp/check.out" 2>&1; then
    fail "the example of tesserad.json.5 is not valid: $(cat "$tmp/check.out")"
  fi
fi

if [ "$errors" -ne 0 ]; then
  echo "$errors problem(s)"
  exit 1
fi
echo "man pages: $(ls "$dir"/*.[1-8] | wc -l) pages clean and complete"
