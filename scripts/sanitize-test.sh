#!/usr/bin/env bash
# The unit tests under sanitizers (make test runs both parts):
#   asan  every GoogleTest case (ctest label `unit`; not the end-to-end CLI, MPI and Python tests) built with clang 14,
#         ASan + UBSan, -O1 -g, in build-asan (the libraries the fuzzers use, scripts/sanitize-build.sh)
#   tsan  the threaded parts: the EPS, the L2L executor, the thread pool and the process groups (the MPI tests under
#         mpirun too), built with TSan in build-tsan
# Any sanitizer report fails the run (halt_on_error / abort_on_error). Usage: scripts/sanitize-test.sh [asan] [tsan]
set -euo pipefail
STRATA_ROOT=$(cd "$(dirname "$0")/.." && pwd)
source "$STRATA_ROOT/scripts/sanitize-build.sh"
SUPP="$STRATA_ROOT/scripts/sanitizers"

TSAN_TESTS='^(EagerParamServer|L2L|ThreadPool|LocalGroup|World)\.|^dist\.mpi$'

run_asan() {
  local t0=$(date +%s)
  asan_configure
  sanitize_build build-asan strata_unit_tests
  local t1=$(date +%s)
  ASAN_OPTIONS=abort_on_error=1:detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1 \
  LSAN_OPTIONS=suppressions=$SUPP/lsan.supp:print_suppressions=0 \
  UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    ctest --test-dir "$STRATA_ROOT/build-asan" -L unit -j "$SAN_JOBS" --output-on-failure --no-tests=error -Q \
    || { echo "sanitize: unit tests under ASan + UBSan failed (build-asan)" >&2; return 1; }
  echo "sanitize: ASan + UBSan unit tests passed (build $((t1 - t0)) s, tests $(($(date +%s) - t1)) s)" >&2
}

run_tsan() {
  local t0=$(date +%s)
  sanitize_configure build-tsan thread
  sanitize_build build-tsan strata_core_tests strata_train_tests strata_dist_tests
  local t1=$(date +%s)
  # OpenBLAS's own threads are not instrumented: one BLAS thread keeps TSan from seeing unsynchronised accesses
  # that are really ordered inside OpenBLAS.
  OPENBLAS_NUM_THREADS=1 TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1:suppressions=$SUPP/tsan.supp \
    ctest --test-dir "$STRATA_ROOT/build-tsan" -R "$TSAN_TESTS" -j "$SAN_JOBS" --output-on-failure --no-tests=error -Q \
    || { echo "sanitize: threaded tests under TSan failed (build-tsan)" >&2; return 1; }
  echo "sanitize: TSan tests passed (build $((t1 - t0)) s, tests $(($(date +%s) - t1)) s)" >&2
}

parts=("$@")
[[ ${#parts[@]} -eq 0 ]] && parts=(asan tsan)
for p in "${parts[@]}"; do
  case $p in
    asan) run_asan ;;
    tsan) run_tsan ;;
    *) echo "sanitize-test: unknown part '$p' (asan, tsan)" >&2; exit 2 ;;
  esac
done
