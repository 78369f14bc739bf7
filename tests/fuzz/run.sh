#!/usr/bin/env bash
# Run every fuzz target for SECONDS each on a copy of its seed corpus.
#   tests/fuzz/run.sh BUILD_DIR [SECONDS]
# Prints executions per target; exits 1 if any target found a crash
# (the reproducer is left in the printed directory).
set -uo pipefail
build=$(cd "$1" && pwd)
secs=${2:-20}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d /tmp/tessera-fuzz-run.XXXXXX)
status=0
for t in request stream config attrs jwt ts_codec svid; do
  bin="$build/tests/fuzz/fuzz_$t"
  [ -x "$bin" ] || { echo "fuzz_$t: not built"; status=1; continue; }
  mkdir -p "$work/$t"
  log="$work/$t.log"
  # New inputs go to the work dir, never into the seed corpus in the tree.
  if (cd "$work" && "$bin" -max_total_time="$secs" -max_len=4096 -timeout=30 \
        -rss_limit_mb=2048 -print_final_stats=1 "$work/$t" "$here/corpus/$t" >"$log" 2>&1); then
    execs=$(grep -E "stat::number_of_executed_units" "$log" | awk '{print $2}')
    echo "fuzz_$t: ok, ${execs:-?} executions in ${secs}s, 0 crashes"
  else
    echo "fuzz_$t: FAILED (log and reproducer in $work)"
    tail -n 30 "$log"
    status=1
  fi
done
[ $status -eq 0 ] && rm -rf "$work"
exit $status
