#!/usr/bin/env bash
# Fresh machine to full test run: install packages, build with warnings as
# errors, run every test; then the same suite again under ASan+UBSan.
# Ends with one line "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."

tools/install-deps.sh || exit 1

total_pass=0
total_fail=0
status=0

count() { # build dir -> adds its Criterion test counts to the totals
  local log="$1/meson-logs/testlog.json"
  [ -f "$log" ] || return 0
  local out
  out=$(python3 - "$log" <<'PY'
import json, re, sys
passed = failed = 0
for line in open(sys.argv[1]):
    t = json.loads(line)
    text = (t.get("stdout") or "") + (t.get("stderr") or "")
    m = re.findall(r"Synthesis: Tested: (\d+) \| Passing: (\d+) \| Failing: (\d+) \| Crashing: (\d+)", text)
    if m:
        tested, ok, fail, crash = map(int, m[-1])
        passed += ok
        failed += fail + crash
        if t["result"] not in ("OK", "SKIP") and fail + crash == 0:
            failed += 1   # the executable failed outside any test
    elif t["result"] == "OK":
        passed += 1
    elif t["result"] != "SKIP":
        failed += 1
print(passed, failed)
PY
)
  total_pass=$((total_pass + ${out% *}))
  total_fail=$((total_fail + ${out#* }))
}

run_suite() { # name, build dir, meson setup options...
  local name="$1" dir="$2"
  shift 2
  echo "=== $name build ($dir)"
  if [ ! -f "$dir/build.ninja" ]; then
    meson setup "$dir" --werror "$@" || { status=1; total_fail=$((total_fail + 1)); return; }
  fi
  if ! ninja -C "$dir"; then
    status=1; total_fail=$((total_fail + 1)); return
  fi
  echo "=== $name tests"
  if ! meson test -C "$dir" --print-errorlogs --num-processes 2; then
    status=1
  fi
  count "$dir"
}

run_suite "release (-Werror)" build-test -Dbuildtype=debugoptimized

export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
run_suite "ASan+UBSan" build-asan -Dbuildtype=debug -Db_sanitize=address,undefined -Db_lundef=false

# The daemon end-to-end suites again with every tesserad under valgrind
# memcheck (errors and definite/indirect leaks fail; the harness stretches its
# waits to valgrind's pace). One suite at a time: with two valgrind runs side by
# side, psa_ext intermittently reported an uninitialised value inside OpenSSL's
# GCM decryption (EVP_DecryptFinal_ex from the software provider's aead_verify),
# never seen in a run alone; until that is understood the pass stays serial.
echo "=== valgrind memcheck (e2e)"
if [ -f build-test/build.ninja ]; then
  vg_suites=(basic mock load robust lifecycle core keys crypt cli crash users lib identity stress providers store migrate svid parsec_cli ts ts_tee tpm pkcs11 migrate_tpm p11adopt p11mp storage_api psa_ext psa_api psa_ts ts_proc)
  if TESSERA_VALGRIND=1 meson test -C build-test --no-rebuild --print-errorlogs \
      --timeout-multiplier 6 --suite e2e "${vg_suites[@]}" \
      >/tmp/tessera-valgrind.log 2>&1; then
    total_pass=$((total_pass + 1))
    echo "valgrind: ${#vg_suites[@]} suites clean"
  else
    status=1; total_fail=$((total_fail + 1))
    grep -E "^ *[0-9]+/[0-9]+ |FAILED|FAIL\]|Assertion|expression|lost|Invalid|uninitialised" \
      /tmp/tessera-valgrind.log | head -60
  fi
fi

# The Debian packages: built from a copy of the checkout (nocheck), lintian,
# unpacked, and the unpacked tesserad --check-config on the shipped
# configuration (tools/test-package.sh; nothing is installed).
echo "=== Debian packages (tools/test-package.sh)"
if tools/test-package.sh >/tmp/tessera-deb.log 2>&1; then
  total_pass=$((total_pass + 1))
  tail -2 /tmp/tessera-deb.log
else
  status=1; total_fail=$((total_fail + 1))
  tail -60 /tmp/tessera-deb.log
fi

# libFuzzer targets, briefly (tests/fuzz/run.sh BUILD SECONDS runs them longer).
echo "=== fuzz build (clang, libFuzzer, ASan+UBSan)"
if [ ! -f build-fuzz/build.ninja ]; then
  CC=clang meson setup build-fuzz --werror -Dfuzzing=true -Dbuildtype=debugoptimized \
    -Db_sanitize=address,undefined -Db_lundef=false >/dev/null || status=1
fi
if ninja -C build-fuzz tests/fuzz/fuzz_request tests/fuzz/fuzz_stream tests/fuzz/fuzz_config \
    tests/fuzz/fuzz_attrs tests/fuzz/fuzz_jwt tests/fuzz/fuzz_ts_codec tests/fuzz/fuzz_svid; then
  echo "=== fuzz (${FUZZ_SECONDS:-20} s per target)"
  fuzz_out=$(tests/fuzz/run.sh build-fuzz "${FUZZ_SECONDS:-20}")
  echo "$fuzz_out"
  total_pass=$((total_pass + $(grep -c ': ok,' <<<"$fuzz_out")))
  fuzz_bad=$(grep -c 'FAILED\|not built' <<<"$fuzz_out")
  total_fail=$((total_fail + fuzz_bad))
  [ "$fuzz_bad" -eq 0 ] || status=1
else
  status=1; total_fail=$((total_fail + 1))
fi

echo
echo "$total_pass passed, $total_fail failed"
exit $status
