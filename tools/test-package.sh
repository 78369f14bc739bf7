#!/usr/bin/env bash
# Builds the Debian packages from a copy of this checkout (never in the
# checkout itself), runs lintian over them (any error fails), unpacks each
# .deb with dpkg-deb -x into a scratch folder and checks what landed there:
# the programs, the library, the units, the sysusers.d and tmpfiles.d files,
# the man pages, the configuration as a conffile, the maintainer scripts;
# that the unpacked tesserad accepts the shipped /etc/tessera/tesserad.json
# with --check-config, runs on it (socket and store moved into the scratch
# folder) for the unpacked tessera to make, use and check a key, and stops
# on SIGTERM; and that a program builds and runs against the unpacked
# libtessera-dev. Nothing is installed on the machine. Everything is written
# under one temporary directory, removed on exit, so a second run starts
# from the same state.
#
# Usage: tools/test-package.sh [--keep]   (--keep leaves the scratch folder)
# Exit status: 0 pass, 1 fail, 77 when the packaging tools are missing.
set -uo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
keep=0
[ "${1:-}" = --keep ] && keep=1

for tool in dpkg-buildpackage dpkg-deb dh lintian fakeroot; do
  command -v "$tool" >/dev/null || { echo "test-package: $tool not installed: skipping"; exit 77; }
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/tessera-package.XXXXXX")
cleanup() {
  if [ "$keep" -eq 1 ]; then
    echo "test-package: kept $tmp"
  else
    rm -rf "$tmp"
  fi
}
trap cleanup EXIT
trap "exit 130" INT TERM
errors=0
fail() {
  echo "FAIL: $*"
  errors=$((errors + 1))
}
start=$(date +%s)

# --- a copy of the checkout: tracked files and new ones not ignored (so no
# build directory), or the whole tree without build* outside git.
version=$(sed -n '1s/^tessera (\([^)]*\)).*/\1/p' "$src/debian/changelog")
copy=$tmp/tessera-$version
project_version=$(sed -n "s/^  version: '\([^']*\)',.*/\1/p" "$src/meson.build" | head -1)
[ "$version" = "$project_version" ] ||
  fail "debian/changelog's version $version is not meson.build's $project_version (add a changelog entry)"
mkdir -p "$copy"
if git -C "$src" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  (cd "$src" && git ls-files -z --cached --others --exclude-standard |
     xargs -0 -r sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh |
     tar --null -T - -cf -) | tar -xf - -C "$copy" || { echo "FAIL: copying the checkout"; exit 1; }
else
  tar -C "$src" --exclude='./build*' --exclude=./.git -cf - . | tar -xf - -C "$copy" ||
    { echo "FAIL: copying the tree"; exit 1; }
fi

before=$(git -C "$src" status --porcelain 2>/dev/null)

# --- the source package, from the pristine copy, for lintian's source checks
if ! (cd "$tmp" && dpkg-source -b "tessera-$version" >"$tmp/source.log" 2>&1); then
  cat "$tmp/source.log"
  fail "dpkg-source -b"
fi

# --- build (binary packages only, unsigned, without the build-time tests)
jobs=$(nproc 2>/dev/null || echo 2)
echo "test-package: dpkg-buildpackage -b in $copy"
if ! (cd "$copy" && DEB_BUILD_OPTIONS="nocheck noautodbgsym parallel=$jobs" \
        dpkg-buildpackage -b -us -uc >"$tmp/build.log" 2>&1); then
  tail -40 "$tmp/build.log"
  echo "FAIL: dpkg-buildpackage -b (log above)"
  exit 1
fi
built=$(date +%s)
debs=("$tmp"/*.deb)
changes=("$tmp"/*.changes)
names=$(for d in "${debs[@]}"; do dpkg-deb -f "$d" Package; done | sort | tr '\n' ' ')
[ "$names" = "libtessera-dev libtessera-psa-dev libtessera-psa0 libtessera0 tessera " ] ||
  fail "binary packages are '$names', expected libtessera-dev libtessera-psa-dev libtessera-psa0 libtessera0 tessera"

# Build-Depends names the package of every library meson found through
# pkg-config, and of protoc-c: a new dependency() fails this until it is there.
bdeps=$(sed -n '/^Build-Depends:/,/^[A-Z]/p' "$src/debian/control" |
          sed -e 's/^Build-Depends://' -e '/^[A-Z]/d' | tr ',|' '\n\n' |
          sed -e 's/[[:space:]]*\([a-z0-9.+-]*\).*/\1/' | grep . | sort -u)
objdir=$(ls -d "$copy"/obj-* 2>/dev/null | head -1)
if [ -n "$objdir" ] && command -v pkg-config >/dev/null; then
  for dep in $(meson introspect "$objdir" --dependencies 2>/dev/null |
                 python3 -c 'import json, sys; [print(d["name"]) for d in json.load(sys.stdin)]' | sort -u); do
    pcdir=$(pkg-config --variable=pcfiledir "$dep" 2>/dev/null) || continue
    [ -f "$pcdir/$dep.pc" ] || continue
    owner=$(dpkg -S "$(readlink -f "$pcdir/$dep.pc")" 2>/dev/null | head -1 | cut -d: -f1)
    [ -n "$owner" ] || owner=$(dpkg -S "$pcdir/$dep.pc" 2>/dev/null | head -1 | cut -d: -f1)
    [ -n "$owner" ] || continue
    grep -qx "$owner" <<<"$bdeps" || fail "Build-Depends lacks $owner (meson's dependency $dep)"
  done
fi
owner=$(dpkg -S "$(readlink -f "$(command -v protoc-c)")" 2>/dev/null | head -1 | cut -d: -f1)
[ -z "$owner" ] || grep -qx "$owner" <<<"$bdeps" || fail "Build-Depends lacks $owner (protoc-c)"

# --- lintian: errors fail; warnings are printed (each kept one is overridden
# with its reason in debian/*.lintian-overrides).
lintian --fail-on error --display-info "${changes[@]}" "$tmp"/*.dsc >"$tmp/lintian.log" 2>&1
lrc=$?
grep -v '^running with root privileges' "$tmp/lintian.log"
if [ "$lrc" -ne 0 ] || grep -q '^E: ' "$tmp/lintian.log"; then
  fail "lintian reports errors"
fi
grep -q '^W: ' "$tmp/lintian.log" && fail "lintian reports warnings without an override"

# --- unpack every package into one root, as an installation would lay it out
root=$tmp/root
mkdir -p "$root"
for d in "${debs[@]}"; do
  dpkg-deb -x "$d" "$root" || fail "dpkg-deb -x $(basename "$d")"
done
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
for f in usr/bin/tesserad usr/bin/tessera usr/sbin/tessera-idp usr/sbin/tessera-orchestrator \
         usr/sbin/tessera-migrate usr/libexec/tessera/tessera-kek-setup; do
  [ -x "$root/$f" ] || fail "no executable /$f"
done
# Every program on the PATH has its man page.
for f in "$root"/usr/bin/* "$root"/usr/sbin/*; do
  p=$(basename "$f")
  ls "$root"/usr/share/man/man[18]/"$p".[18].gz >/dev/null 2>&1 || fail "no man page for $p"
done
for f in tesserad.service tesserad.socket tessera-kek.service tessera-idp.service \
         tessera-idp.socket tessera-orchestrator.service; do
  [ -f "$root/lib/systemd/system/$f" ] || fail "no unit /lib/systemd/system/$f"
done
[ -f "$root/usr/lib/sysusers.d/tessera.conf" ] || fail "no /usr/lib/sysusers.d/tessera.conf"
[ -f "$root/usr/lib/tmpfiles.d/tessera.conf" ] || fail "no /usr/lib/tmpfiles.d/tessera.conf"
for f in man1/tessera.1 man5/tesserad.json.5 man8/tesserad.8 man8/tessera-idp.8 \
         man8/tessera-orchestrator.8 man8/tessera-migrate.8; do
  [ -f "$root/usr/share/man/$f.gz" ] || fail "no man page /usr/share/man/$f.gz"
done
[ -f "$root/usr/share/doc/tessera/systemd.md" ] ||
  fail "no /usr/share/doc/tessera/systemd.md (the units' Documentation=)"
[ -L "$root/usr/lib/$multiarch/libtessera.so" ] || fail "no libtessera.so link (libtessera-dev)"
ls "$root/usr/lib/$multiarch"/libtessera.so.0.* >/dev/null 2>&1 || fail "no libtessera.so.0.* (libtessera0)"
[ -f "$root/usr/include/tessera/tessera.h" ] || fail "no tessera.h (libtessera-dev)"
[ -f "$root/usr/lib/$multiarch/pkgconfig/tessera.pc" ] || fail "no tessera.pc (libtessera-dev)"
[ -L "$root/usr/lib/$multiarch/libtessera-psa.so" ] || fail "no libtessera-psa.so link (libtessera-psa-dev)"
ls "$root/usr/lib/$multiarch"/libtessera-psa.so.0.* >/dev/null 2>&1 ||
  fail "no libtessera-psa.so.0.* (libtessera-psa0)"
for h in crypto.h internal_trusted_storage.h protected_storage.h; do
  [ -f "$root/usr/include/tessera-psa/psa/$h" ] || fail "no tessera-psa/psa/$h (libtessera-psa-dev)"
done
# Mbed TLS's libmbedtls-dev owns /usr/include/psa: nothing of ours goes there.
[ -e "$root/usr/include/psa" ] && fail "a package installs /usr/include/psa (Mbed TLS's)"
[ -f "$root/usr/lib/$multiarch/pkgconfig/tessera-psa.pc" ] ||
  fail "no tessera-psa.pc (libtessera-psa-dev)"

# Each unit runs a program the package ships, at the path the unit names.
for u in "$root"/lib/systemd/system/*.service; do
  for exe in $(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' "$u"); do
    [ -x "$root$exe" ] || fail "$(basename "$u"): ExecStart $exe is not in the package"
  done
done

# The configuration is a conffile, and the unpacked daemon accepts it.
tessera_deb=$(ls "$tmp"/tessera_*.deb)
mkdir -p "$tmp/control"
dpkg-deb -e "$tessera_deb" "$tmp/control"
grep -qx /etc/tessera/tesserad.json "$tmp/control/conffiles" 2>/dev/null ||
  fail "/etc/tessera/tesserad.json is not a conffile"
conf=$root/etc/tessera/tesserad.json
if [ ! -f "$conf" ]; then
  fail "no /etc/tessera/tesserad.json"
else
  # Owner and mode rules of --check-config: the unpacked files are ours.
  out=$(LD_LIBRARY_PATH="$root/usr/lib/$multiarch" "$root/usr/bin/tesserad" --check-config "$conf" 2>&1)
  rc=$?
  echo "tesserad --check-config: $out"
  [ "$rc" -eq 0 ] || fail "the unpacked tesserad refuses the shipped configuration"
  "$root/usr/bin/tesserad" --version | grep -qx "tesserad $version" ||
    fail "tesserad --version is not $version"
fi
# The unpacked daemon runs on the shipped configuration (its socket and
# store moved into the scratch folder) and the unpacked CLI uses it.
if [ -f "$conf" ]; then
  as_root=()
  [ "$(id -u)" -eq 0 ] && as_root=(--allow-root)
  mkdir -m 700 "$tmp/state"
  LD_LIBRARY_PATH="$root/usr/lib/$multiarch" "$root/usr/bin/tesserad" --config "$conf" \
    --socket "$tmp/api.sock" --state-dir "$tmp/state" "${as_root[@]}" \
    >"$tmp/tesserad.log" 2>&1 &
  daemon=$!
  trap 'kill "$daemon" 2>/dev/null; wait "$daemon" 2>/dev/null; cleanup' EXIT
  cli=(env LD_LIBRARY_PATH="$root/usr/lib/$multiarch" "$root/usr/bin/tessera"
       --endpoint "unix:$tmp/api.sock")
  for _ in $(seq 100); do
    [ -S "$tmp/api.sock" ] && break
    kill -0 "$daemon" 2>/dev/null || break
    sleep 0.1
  done
  if ! "${cli[@]}" ping >"$tmp/ping.out" 2>&1; then
    cat "$tmp/ping.out" "$tmp/tesserad.log"
    fail "the unpacked tessera cannot ping the unpacked tesserad"
  elif ! "${cli[@]}" create-ecc-key pkg-test >/dev/null 2>&1 ||
       ! sig=$("${cli[@]}" sign pkg-test --message hello 2>/dev/null) ||
       ! "${cli[@]}" verify pkg-test --signature "$sig" --message hello >/dev/null 2>&1; then
    cat "$tmp/tesserad.log"
    fail "a key made, used and checked through the unpacked packages does not verify"
  fi
  if kill -TERM "$daemon" 2>/dev/null; then
    wait "$daemon"
    drc=$?
    [ "$drc" -eq 0 ] || fail "the unpacked tesserad did not stop cleanly on SIGTERM (status $drc)"
  else
    wait "$daemon"
    fail "the unpacked tesserad exited on its own (status $?)"
  fi
  trap cleanup EXIT
fi

# The CLI reports an unreachable daemon as such (exit 3), from the package.
LD_LIBRARY_PATH="$root/usr/lib/$multiarch" "$root/usr/bin/tessera" \
  --endpoint "unix:$tmp/none.sock" ping >/dev/null 2>&1
[ $? -eq 3 ] || fail "the unpacked tessera does not exit 3 without a daemon"

# The maintainer scripts: users and directories made, the daemon's units
# enabled, nothing for the identity services until the admin enables them.
postinst=$tmp/control/postinst
if [ -f "$postinst" ]; then
  grep -q 'systemd-sysusers.*tessera.conf' "$postinst" || fail "postinst does not run systemd-sysusers"
  grep -q 'systemd-tmpfiles.*tessera.conf' "$postinst" || fail "postinst does not run systemd-tmpfiles"
  grep -q 'deb-systemd-helper.*enable.*tesserad.socket' "$postinst" ||
    fail "postinst does not enable tesserad.socket"
  grep -q "deb-systemd-invoke.*tesserad.socket" "$postinst" ||
    fail "postinst does not start tesserad.socket"
  # Opt-in: enabled only where the admin enabled them before (an upgrade).
  for u in tessera-idp.socket tessera-idp.service tessera-orchestrator.service; do
    grep -q "debian-installed '$u'" "$postinst" || fail "postinst does not guard $u"
    grep "deb-systemd-invoke" "$postinst" | grep -v try-restart | grep -q "$u" &&
      fail "postinst starts $u"
  done
  # The users exist before the directories owned by them are made.
  [ "$(grep -n 'systemd-sysusers' "$postinst" | head -1 | cut -d: -f1)" -lt \
    "$(grep -n 'systemd-tmpfiles' "$postinst" | head -1 | cut -d: -f1)" ] 2>/dev/null ||
    fail "postinst runs systemd-tmpfiles before systemd-sysusers"
else
  fail "the tessera package has no postinst"
fi
# Removal stops every service before its program goes.
for u in tesserad.service tesserad.socket tessera-idp.service tessera-idp.socket \
         tessera-orchestrator.service; do
  sed -n '/deb-systemd-invoke stop/,/>\/dev\/null/p' "$tmp/control/prerm" 2>/dev/null | grep -q "$u" ||
    fail "prerm does not stop $u on removal"
done

# A program built against the unpacked development package runs.
if command -v cc >/dev/null; then
  cat >"$tmp/use.c" <<'C'
#include <stdio.h>
#include <tessera/tessera.h>
int main(void) { printf("%s\n", tessera_strerror(TESSERA_OK)); return 0; }
C
  cflags=$(PKG_CONFIG_SYSROOT_DIR=$root PKG_CONFIG_LIBDIR=$root/usr/lib/$multiarch/pkgconfig \
             pkg-config --cflags --libs tessera) || fail "pkg-config tessera"
  if cc -o "$tmp/use" "$tmp/use.c" $cflags 2>"$tmp/cc.log" &&
     LD_LIBRARY_PATH="$root/usr/lib/$multiarch" "$tmp/use" >/dev/null; then
    :
  else
    cat "$tmp/cc.log"
    fail "a program using the unpacked libtessera-dev does not build or run"
  fi
  # And one against libtessera-psa-dev, through its pkg-config file only.
  cat >"$tmp/use-psa.c" <<'C'
#include <psa/crypto.h>
#include <psa/protected_storage.h>
int main(void) { return PSA_ALG_SHA_256 == 0x02000009 && PSA_HASH_LENGTH(PSA_ALG_SHA_256) == 32 ? 0 : 1; }
C
  cflags=$(PKG_CONFIG_SYSROOT_DIR=$root PKG_CONFIG_LIBDIR=$root/usr/lib/$multiarch/pkgconfig \
             pkg-config --cflags --libs tessera-psa) || fail "pkg-config tessera-psa"
  if cc -std=c99 -Wall -Werror -o "$tmp/use-psa" "$tmp/use-psa.c" $cflags 2>"$tmp/cc-psa.log" &&
     LD_LIBRARY_PATH="$root/usr/lib/$multiarch" "$tmp/use-psa"; then
    :
  else
    cat "$tmp/cc-psa.log"
    fail "a program using the unpacked libtessera-psa-dev does not build or run"
  fi
fi

# The checkout itself is as it was: nothing was built or written there.
[ "$(git -C "$src" status --porcelain 2>/dev/null)" = "$before" ] ||
  fail "the checkout changed during the package build"

end=$(date +%s)
echo "test-package: build $((built - start)) s, checks $((end - built)) s"
if [ "$errors" -ne 0 ]; then
  echo "test-package: $errors problem(s)"
  exit 1
fi
echo "test-package: ${#debs[@]} packages built, lintian clean, configuration accepted"
