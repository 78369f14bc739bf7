#!/usr/bin/env bash
# Install the build into a temporary DESTDIR and check what lands there:
# the shared libtessera with its soname links, that it exports only the API
# of tessera.h, tessera.pc, the header, the programs, and the systemd units,
# sysusers.d and tmpfiles.d files under the directories meson.build says
# (by default under the prefix). Then build a program outside the tree
# against the installed header and library with pkg-config's flags, and
# run it.
#
# Arguments: build dir, source dir, project version, prefix, libdir,
# includedir, bindir, sbindir, unit dir, sysusers dir, tmpfiles dir (all
# absolute), then the C compiler command.
#
# Everything is written under one temporary directory, removed on exit.
# (meson install itself rewrites BUILD/meson-logs/install-log.txt.)
set -euo pipefail

if [ $# -lt 12 ]; then
  echo "usage: $0 BUILD SRC VERSION PREFIX LIBDIR INCLUDEDIR BINDIR SBINDIR UNITDIR SYSUSERSDIR TMPFILESDIR CC..." >&2
  exit 2
fi
build=$1 src=$2 version=$3 prefix=$4 libdir=$5 includedir=$6 bindir=$7 sbindir=$8
unitdir=$9 sysusersdir=${10} tmpfilesdir=${11}
shift 11
cc=("$@")
if [ -n "${TESSERA_SANITIZE:-}" ] && [ "$TESSERA_SANITIZE" != none ]; then
  cc+=("-fsanitize=$TESSERA_SANITIZE")
fi

for tool in nm readelf pkg-config; do
  command -v "$tool" >/dev/null || { echo "$tool not installed: skipping"; exit 77; }
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
dest=$tmp/dest
errors=0
fail() {
  echo "FAIL: $*"
  errors=$((errors + 1))
}

meson install -C "$build" --no-rebuild --quiet --destdir "$dest" >"$tmp/install.log" 2>&1 || {
  cat "$tmp/install.log"
  echo "FAIL: meson install --destdir"
  exit 1
}

# --- the shared library and its soname links
major=${version%%.*}
lib=$dest$libdir/libtessera.so.$version
if [ ! -f "$lib" ] || [ -L "$lib" ]; then
  fail "no regular file $libdir/libtessera.so.$version"
fi
for link in "libtessera.so.$major" libtessera.so; do
  if [ ! -L "$dest$libdir/$link" ]; then
    fail "$libdir/$link is not a symlink"
  elif [ "$(readlink -f "$dest$libdir/$link")" != "$(readlink -f "$lib")" ]; then
    fail "$libdir/$link does not lead to libtessera.so.$version"
  fi
done
if [ -e "$dest$libdir/libtessera.a" ]; then
  fail "libtessera.a is installed (it would carry common/ and wire/ into its users)"
fi
if [ -f "$lib" ]; then
  soname=$(readelf -d "$lib" | sed -n 's/.*(SONAME).*\[\(.*\)\].*/\1/p')
  [ "$soname" = "libtessera.so.$major" ] || fail "soname is '$soname', not libtessera.so.$major"
fi

# --- exported symbols: exactly the functions tessera.h declares, in TESSERA_0
header=$dest$includedir/tessera/tessera.h
if [ ! -f "$header" ]; then
  fail "no $includedir/tessera/tessera.h"
elif [ -f "$lib" ]; then
  nm -D --defined-only "$lib" >"$tmp/nm.txt"
  # "ADDRESS TYPE NAME[@@NODE]"; nm before binutils 2.35 prints no node.
  awk '{print $NF}' "$tmp/nm.txt" | sed 's/@.*//' | sort -u >"$tmp/exported"
  grep -vx -e 'TESSERA_0' -e 'tessera_[a-z0-9_]*' "$tmp/exported" >"$tmp/foreign" || true
  if [ -s "$tmp/foreign" ]; then
    fail "libtessera exports $(wc -l <"$tmp/foreign") symbols that are not tessera_*, such as" \
      "$(head -n 8 "$tmp/foreign" | tr '\n' ' ')"
  fi
  grep -qx TESSERA_0 "$tmp/exported" || fail "no version node TESSERA_0"
  grep -o 'tessera_[a-z0-9_]*(' "$header" | tr -d '(' | sort -u >"$tmp/declared"
  grep 'tessera_' "$tmp/exported" >"$tmp/exported-api" || true
  if ! diff -u "$tmp/declared" "$tmp/exported-api" >"$tmp/api.diff"; then
    cat "$tmp/api.diff"
    fail "exported tessera_* functions differ from those tessera.h declares (- declared only, + exported only)"
  fi
  [ -s "$tmp/declared" ] || fail "found no declarations in tessera.h"
  # Where nm prints version nodes, every function must be in TESSERA_0.
  if grep -q '@' "$tmp/nm.txt" && grep ' tessera_' "$tmp/nm.txt" | grep -qv '@@TESSERA_0$'; then
    fail "some tessera_* symbols are not in the version node TESSERA_0"
  fi
fi

# --- the header stands alone: only system headers, nothing from the tree
if [ -f "$header" ]; then
  if grep -n '^#include *"' "$header"; then
    fail "the installed tessera.h includes headers by quoted (in-tree) path"
  fi
fi

# --- pkg-config
pcdir=$dest$libdir/pkgconfig
if [ ! -f "$pcdir/tessera.pc" ]; then
  fail "no $libdir/pkgconfig/tessera.pc"
  pcflags=""
else
  # Only our .pc: PKG_CONFIG_LIBDIR replaces the system's search path.
  # The prefix is redefined to the staged one (--define-prefix cannot find
  # it from a multiarch libdir such as lib/x86_64-linux-gnu).
  pc=(env PKG_CONFIG_LIBDIR="$pcdir" PKG_CONFIG_PATH="$pcdir" pkg-config
      --define-variable=prefix="$dest$prefix")
  "${pc[@]}" --exists tessera || fail "pkg-config does not find tessera"
  pcversion=$("${pc[@]}" --modversion tessera || true)
  [ "$pcversion" = "$version" ] || fail "tessera.pc has version '$pcversion', not $version"
  pcflags=$("${pc[@]}" --cflags --libs tessera || true)
  echo "pkg-config --cflags --libs tessera: $pcflags"
  case " $pcflags " in *" -I$dest$includedir "*) ;; *) fail "pkg-config gives no -I$dest$includedir" ;; esac
  case " $pcflags " in *" -L$dest$libdir "*) ;; *) fail "pkg-config gives no -L$dest$libdir" ;; esac
  case " $pcflags " in *" -ltessera "*) ;; *) fail "pkg-config gives no -ltessera" ;; esac
fi

# --- programs, and the systemd files where they belong
for f in "$bindir/tessera" "$bindir/tesserad" "$sbindir/tessera-idp" "$sbindir/tessera-orchestrator" "$sbindir/tessera-migrate"; do
  [ -x "$dest$f" ] || fail "no program $f"
done
for f in tesserad.service tesserad.socket tessera-idp.service tessera-idp.socket \
         tessera-orchestrator.service; do
  [ -f "$dest$unitdir/$f" ] || fail "no unit $unitdir/$f"
done
[ -f "$dest$sysusersdir/tessera.conf" ] || fail "no $sysusersdir/tessera.conf"
[ -f "$dest$tmpfilesdir/tessera.conf" ] || fail "no $tmpfilesdir/tessera.conf"
if [ -f "$dest$unitdir/tesserad.service" ]; then
  grep -q "^ExecStart=$bindir/tesserad\( \|$\)" "$dest$unitdir/tesserad.service" ||
    fail "tesserad.service does not start $bindir/tesserad"
fi
# Nothing outside the prefix and the three systemd directories.
(cd "$dest" && find . ! -type d | sed 's#^\.##') >"$tmp/installed"
while IFS= read -r f; do
  case "$f" in
  "$prefix"/* | "$unitdir"/* | "$sysusersdir"/* | "$tmpfilesdir"/*) ;;
  *) fail "installed outside the prefix: $f" ;;
  esac
done <"$tmp/installed"

# --- a program outside the tree, built against what was installed
if [ -n "$pcflags" ] && [ -f "$header" ]; then
  read -r -a flags <<<"$pcflags"
  if ! "${cc[@]}" -std=c99 -pedantic -Wall -Wextra -Werror -o "$tmp/consumer" \
       "$src/tests/install/consumer.c" "${flags[@]}" 2>"$tmp/cc.log"; then
    cat "$tmp/cc.log"
    fail "the consumer program does not build with pkg-config's flags"
  else
    readelf -d "$tmp/consumer" | grep -q "(NEEDED).*\[libtessera.so.$major\]" ||
      fail "the consumer is not linked against libtessera.so.$major"
    if ! LD_LIBRARY_PATH="$dest$libdir" "$tmp/consumer" "$tmp/no-such.sock"; then
      fail "the consumer program failed"
    fi
    loaded=$(LD_LIBRARY_PATH="$dest$libdir" LD_TRACE_LOADED_OBJECTS=1 "$tmp/consumer" |
             sed -n 's/.*libtessera\.so\.[0-9]* => \([^ ]*\).*/\1/p')
    [ "$(readlink -f "$loaded")" = "$(readlink -f "$lib")" ] ||
      fail "the consumer loaded libtessera from '$loaded', not the staged install"
  fi
  # The library's internals must not be reachable, the tessera_-named ones
  # included (a version script alone would let tessera_call through).
  for sym in tessera_call wire_status_name; do
    printf 'int %s(void);\nint main(void)\n{\n\treturn %s();\n}\n' "$sym" "$sym" >"$tmp/internal.c"
    if "${cc[@]}" -o "$tmp/internal" "$tmp/internal.c" "${flags[@]}" 2>/dev/null; then
      fail "a program outside the tree links against the internal $sym"
    fi
  done
fi

# --- libtessera-psa: the shared library, its exports, psa/ headers,
# tessera-psa.pc, and a PSA program built with pkg-config's flags (and
# PKG_CONFIG_SYSROOT_DIR into the staged tree) run against a daemon that
# $TESSERA_PSA_RUNNER (tests/install/psa-runner.c) starts.
psalib=$dest$libdir/libtessera-psa.so.$version
if [ ! -f "$psalib" ] || [ -L "$psalib" ]; then
  fail "no regular file $libdir/libtessera-psa.so.$version"
else
  soname=$(readelf -d "$psalib" | sed -n 's/.*(SONAME).*\[\(.*\)\].*/\1/p')
  [ "$soname" = "libtessera-psa.so.$major" ] || fail "libtessera-psa's soname is '$soname'"
  [ -L "$dest$libdir/libtessera-psa.so" ] || fail "$libdir/libtessera-psa.so is not a symlink"
  nm -D --defined-only "$psalib" | awk '{print $NF}' | sed 's/@.*//' | sort -u >"$tmp/psa-exported"
  grep -vx -e 'TESSERA_PSA_1' -e 'psa_[a-z0-9_]*' "$tmp/psa-exported" >"$tmp/psa-foreign" || true
  if [ -s "$tmp/psa-foreign" ]; then
    fail "libtessera-psa exports $(wc -l <"$tmp/psa-foreign") symbols that are not the PSA API," \
      "such as $(head -n 8 "$tmp/psa-foreign" | tr '\n' ' ')"
  fi
  # wire/'s own psa_* helpers are inside, but must not be exported.
  for sym in psa_attrs_from_pb psa_alg_from_pb psa_hash_size; do
    grep -qx "$sym" "$tmp/psa-exported" && fail "libtessera-psa exports the internal $sym"
  done
  for sym in psa_crypto_init psa_import_key psa_sign_hash psa_aead_update psa_key_derivation_output_key; do
    grep -qx "$sym" "$tmp/psa-exported" || fail "libtessera-psa does not export $sym"
  done
fi
# Under tessera-psa/: Mbed TLS's package owns $includedir/psa/crypto.h.
for h in crypto.h crypto_types.h crypto_values.h crypto_sizes.h crypto_struct.h error.h \
         storage_common.h internal_trusted_storage.h protected_storage.h; do
  f=$dest$includedir/tessera-psa/psa/$h
  [ -f "$f" ] || fail "no $includedir/tessera-psa/psa/$h"
  if [ -f "$f" ] && grep -n '^#include *"client/\|^#include *"wire/\|^#include *"common/' "$f"; then
    fail "the installed psa/$h includes a header of the tree"
  fi
done
[ -e "$dest$includedir/psa" ] && fail "headers installed in $includedir/psa, where Mbed TLS has its own"
if [ ! -f "$pcdir/tessera-psa.pc" ]; then
  fail "no $libdir/pkgconfig/tessera-psa.pc"
else
  # The sysroot form: the .pc file's own prefix, prefixed with the staged tree.
  psaflags=$(env PKG_CONFIG_LIBDIR="$pcdir" PKG_CONFIG_PATH="$pcdir" \
               PKG_CONFIG_SYSROOT_DIR="$dest" pkg-config --cflags --libs tessera-psa || true)
  echo "pkg-config --cflags --libs tessera-psa: $psaflags"
  case " $psaflags " in *" -ltessera-psa "*) ;; *) fail "pkg-config gives no -ltessera-psa" ;; esac
  case " $psaflags " in *"/tessera-psa "*) ;; *) fail "pkg-config gives no -I for include/tessera-psa" ;; esac
  read -r -a pflags <<<"$psaflags"
  if ! "${cc[@]}" -std=c99 -pedantic -Wall -Wextra -Werror -o "$tmp/consumer-psa" \
       "$src/tests/install/consumer-psa.c" "${pflags[@]}" 2>"$tmp/cc-psa.log"; then
    cat "$tmp/cc-psa.log"
    fail "the PSA consumer does not build with pkg-config's flags"
  else
    readelf -d "$tmp/consumer-psa" | grep -q "(NEEDED).*\[libtessera-psa.so.$major\]" ||
      fail "the PSA consumer is not linked against libtessera-psa.so.$major"
    if readelf -d "$tmp/consumer-psa" | grep -q "(NEEDED).*\[libtessera.so"; then
      fail "the PSA consumer needs libtessera too (libtessera-psa should carry it)"
    fi
    if [ -z "${TESSERA_PSA_RUNNER:-}" ]; then
      echo "no TESSERA_PSA_RUNNER: the PSA consumer is built but not run"
    elif ! TESSERA_PSA_CONSUMER="$tmp/consumer-psa" TESSERA_PSA_LIBDIR="$dest$libdir" \
         "$TESSERA_PSA_RUNNER" --jobs=1 >"$tmp/psa-run.log" 2>&1; then
      cat "$tmp/psa-run.log"
      fail "the PSA consumer failed against the daemon"
    else
      echo "the PSA consumer passed against a daemon"
    fi
  fi
fi

if [ "$errors" -ne 0 ]; then
  echo "$errors check(s) failed"
  exit 1
fi
echo "install: all checks passed"
