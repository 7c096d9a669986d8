#!/usr/bin/env bash
# Configures (once) and builds sanitizer build trees; sourced by scripts/fuzz.sh and scripts/sanitize-test.sh.
#   build-asan: clang 14, ASan + UBSan (+ libFuzzer coverage), -O1 -g, tests and fuzz targets, no benchmarks.
#               The same libraries serve the sanitized unit tests and the fuzzers, so they compile once.
#   build-tsan: clang 14, TSan, -O1 -g, tests only (scripts/sanitize-test.sh builds the threaded tests alone).
# Sanitizer findings never recover: -fno-sanitize-recover=all turns every UBSan report into an abort.
set -euo pipefail

STRATA_ROOT=${STRATA_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
CLANGXX=${CLANGXX:-clang++-14}
SAN_JOBS=${JOBS:-$(nproc)}

# sanitize_configure <dir> <sanitizers> [extra cmake args...]
sanitize_configure() {
  local dir=$1 san=$2
  shift 2
  if ! command -v "$CLANGXX" >/dev/null; then
    echo "sanitize: $CLANGXX not found (scripts/setup-deps.sh installs clang-14 and libclang-rt-14-dev)" >&2
    return 1
  fi
  mkdir -p "$STRATA_ROOT/$dir"
  cmake -S "$STRATA_ROOT" -B "$STRATA_ROOT/$dir" -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_COMPILER="$CLANGXX" \
    -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g -fno-sanitize-recover=all" -DSTRATA_SANITIZE="$san" \
    -DSTRATA_BUILD_BENCH=OFF "$@" >"$STRATA_ROOT/$dir/configure.log" 2>&1 || {
    echo "sanitize: configuring $dir failed; see $dir/configure.log" >&2
    tail -20 "$STRATA_ROOT/$dir/configure.log" >&2
    return 1
  }
}

# sanitize_build <dir> <targets...>: quiet unless the build fails.
sanitize_build() {
  local dir=$1
  shift
  local log="$STRATA_ROOT/$dir/build.log"
  if ! cmake --build "$STRATA_ROOT/$dir" -j "$SAN_JOBS" --target "$@" >"$log" 2>&1; then
    grep -E "error|Error" "$log" | head -30 >&2
    echo "sanitize: building $* in $dir failed; see $dir/build.log" >&2
    return 1
  fi
}

asan_configure() {
  sanitize_configure build-asan address,undefined,fuzzer-no-link -DSTRATA_FUZZ=ON
}
