#!/usr/bin/env bash
# Runs one fuzz target for a bounded time (ctest's fuzz tests, fuzz/fuzz_tests.cmake).
# Usage: run_fuzzer.sh TARGET SECONDS SEED_CORPUS WORK_DIR
# New inputs go to WORK_DIR/corpus (the committed seeds stay as they are); a crashing input is
# saved in WORK_DIR/artifacts and its path printed. Exit 77 (ctest: skipped) when the target was not
# built because clang or libFuzzer is missing.
set -euo pipefail
target=$1 seconds=$2 seeds=$3 work=$4
if [ ! -x "$target" ]; then
  echo "skipped: $target was not built (needs clang++ with libFuzzer; .ci/setup installs them)"
  exit 77
fi
mkdir -p "$work/corpus" "$work/artifacts"
# Findings exit 1 (libFuzzer's own default, 77, would read as "skipped").
exec "$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -error_exitcode=1 -timeout_exitcode=1 \
  -print_final_stats=1 -artifact_prefix="$work/artifacts/" "$work/corpus" "$seeds"
