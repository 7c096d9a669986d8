#!/usr/bin/env bash
# Runs every libFuzzer target (fuzz/<name>_fuzz.cpp, built in build-asan with ASan + UBSan) for a given time on a
# fresh copy of its seed corpus (fuzz/corpus/<name>/) with its dictionary (fuzz/dict/<name>.dict), two targets at a
# time (JOBS). Prints the executions and the result per target; any finding (crash, sanitizer report, timeout,
# memory over the limits, an exit-1 error or a stray exception, see fuzz/fuzz_util.h) fails the run and names the
# reproducer. Usage: scripts/fuzz.sh [--seconds N] [TARGET...]   (default: $FUZZ_SECONDS, else 600 s, every target)
set -euo pipefail
STRATA_ROOT=$(cd "$(dirname "$0")/.." && pwd)
source "$STRATA_ROOT/scripts/sanitize-build.sh"

seconds=${FUZZ_SECONDS:-600}
targets=()
while [[ $# -gt 0 ]]; do
  case $1 in
    --seconds) seconds=$2; shift 2 ;;
    -h|--help) sed -n '2,7p' "$0"; exit 0 ;;
    *) targets+=("$1"); shift ;;
  esac
done
if [[ ${#targets[@]} -eq 0 ]]; then
  for f in "$STRATA_ROOT"/fuzz/*_fuzz.cpp; do t=$(basename "$f" .cpp); targets+=("${t%_fuzz}"); done
fi

start=$(date +%s)
asan_configure
sanitize_build build-asan $(printf 'strata_fuzz_%s ' "${targets[@]}")
echo "fuzz: built ${#targets[@]} targets in $(( $(date +%s) - start )) s; running each for ${seconds} s" >&2

RUNS="$STRATA_ROOT/build-asan/fuzz-runs"
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:detect_stack_use_after_return=1:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

# run_target <name>: one libFuzzer run; its log and artifacts under build-asan/fuzz-runs/<name>/.
run_target() {
  local t=$1 dir="$RUNS/$1"
  rm -rf "$dir"
  mkdir -p "$dir/corpus" "$dir/artifacts"
  cp "$STRATA_ROOT/fuzz/corpus/$t/"* "$dir/corpus/"
  local dict=()
  [[ -f "$STRATA_ROOT/fuzz/dict/$t.dict" ]] && dict=("-dict=$STRATA_ROOT/fuzz/dict/$t.dict")
  # -timeout: one input may take 10 s; -rss_limit_mb / -malloc_limit_mb: issue 12 allows no input of under 1 MB
  # more than 1 GB (ASan's own overhead is in the RSS, hence 2 GB there).
  set +e
  "$STRATA_ROOT/build-asan/fuzz/strata_fuzz_$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -malloc_limit_mb=1024 -print_final_stats=1 -artifact_prefix="$dir/artifacts/" "${dict[@]}" "$dir/corpus" \
    >"$dir/log" 2>&1
  echo $? >"$dir/rc"
  set -e
}

pids=()
for t in "${targets[@]}"; do
  while [[ $(jobs -rp | wc -l) -ge ${SAN_JOBS} ]]; do wait -n || true; done
  run_target "$t" &
  pids+=($!)
done
wait

failed=0
printf '%-14s %12s %8s  %s\n' target executions exec/s result
for t in "${targets[@]}"; do
  dir="$RUNS/$t"
  rc=$(cat "$dir/rc" 2>/dev/null || echo 1)
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$dir/log" | tail -1)
  artifacts=$(find "$dir/artifacts" -type f | sort)
  if [[ $rc -eq 0 && -z $artifacts ]]; then
    result="ok"
  else
    result="FINDING (exit $rc)"
    failed=1
  fi
  printf '%-14s %12s %8s  %s\n' "$t" "${execs:-?}" "${rate:-?}" "$result"
  if [[ $result != ok ]]; then
    grep -m3 -E "strata-fuzz FINDING|ERROR: |SUMMARY: |runtime error" "$dir/log" | sed 's/^/    /' || true
    echo "    log: $dir/log"
    for a in $artifacts; do echo "    reproduce: $STRATA_ROOT/build-asan/fuzz/strata_fuzz_$t $a"; done
  fi
done
echo "fuzz: ${#targets[@]} targets, ${seconds} s each, $(( $(date +%s) - start )) s in all" >&2
exit $failed
