#!/usr/bin/env bash
# The CUDA backend's GPU check, one script (issue 13's must-show 1-3), meant to finish within 8 minutes on an H200:
#   1. the backend conformance suite for "cuda" (fp32 GEMM, then STRATA_CUDA_GEMM=bf16: tensor cores, fp32 accumulate)
#      with no test skipped;
#   2. on the GPU, L2L vs baseline losses over 20 steps (fp32, within 1e-5), and CPU vs GPU runs of the same model
#      and seed (within 1e-4), dropout on (the counter-based masks must agree bit for bit for this to hold);
#   3. BERT-Large (L24 H1024 A16), seq 128, batch 32: baseline device peak, L2L under --device-memory 8GiB, L2L
#      device peak at 24/48/96 layers, step times, tokens/s and share of the GPU's fp32/bf16 peak, bytes over PCIe
#      per step against the copy bandwidth measured by bench/copy_bandwidth_bench; printed as a Markdown table.
# Any mismatch, skipped test or failed run stops the script with "GPU CHECK FAILED: ..." and exit status 1.
#
#   scripts/gpu-check.sh                      configure + build (Release, -DSTRATA_CUDA=ON) into build-gpu, then check
#   scripts/gpu-check.sh --bundle-to DIR      no GPU needed: build, then pack the three programs and the shared
#                                             libraries they need beyond glibc and CUDA into DIR/bundle.tar.xz; stop
#   scripts/gpu-check.sh --prebuilt DIR       check with DIR/bundle.tar.xz instead of building (for a GPU machine
#                                             without this project's apt dependencies)
# Environment: BUILD (build-gpu), JOBS (nproc), CMAKE_ARGS (extra configure flags, e.g. ccache launchers), OUT_DIR (gpu-check-out: logs, reports, the table),
# PEAK_FP32_TFLOPS (67, H200 SXM dense fp32), PEAK_BF16_TFLOPS (989, H200 SXM dense bf16), QUICK=1 (skip 48/96 layers).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build-gpu}
JOBS=${JOBS:-$(nproc)}
OUT_DIR=${OUT_DIR:-gpu-check-out}
PEAK_FP32=${PEAK_FP32_TFLOPS:-67}
PEAK_BF16=${PEAK_BF16_TFLOPS:-989}
PY=$(command -v python3)
MODE=build
BUNDLE_DIR=
case "${1:-}" in
  --bundle-to) MODE=bundle; BUNDLE_DIR=${2:?--bundle-to needs a directory} ;;
  --prebuilt) MODE=prebuilt; BUNDLE_DIR=${2:?--prebuilt needs a directory} ;;
  "") ;;
  *) echo "usage: scripts/gpu-check.sh [--bundle-to DIR | --prebuilt DIR]" >&2; exit 2 ;;
esac
START=$SECONDS
fail() { echo "GPU CHECK FAILED: $*" >&2; exit 1; }
step() { echo; echo "== [$((SECONDS - START)) s] $*"; }

build() {
  step "build: Release, -DSTRATA_CUDA=ON, $JOBS jobs"
  command -v nvcc >/dev/null || [[ -x /usr/local/cuda/bin/nvcc ]] || fail "nvcc not found (CUDA toolkit needed)"
  # shellcheck disable=SC2086
  cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DSTRATA_CUDA=ON -DSTRATA_BUILD_BENCH=ON \
    -DCMAKE_DISABLE_FIND_PACKAGE_MPI=ON ${CMAKE_ARGS:-} >"$OUT_DIR/configure.log" 2>&1 || { tail -30 "$OUT_DIR/configure.log"; fail "configure"; }
  grep -q "CUDA backend: on" "$OUT_DIR/configure.log" || fail "configured without the CUDA backend"
  cmake --build "$BUILD" -j "$JOBS" --target strata strata_backend_tests copy_bandwidth_bench \
    >"$OUT_DIR/build.log" 2>&1 || { tail -40 "$OUT_DIR/build.log"; fail "build"; }
  BIN=$BUILD
}

mkdir -p "$OUT_DIR"
case $MODE in
  build) build ;;
  bundle)
    build
    step "bundle: programs + non-glibc, non-CUDA shared libraries -> $BUNDLE_DIR/bundle.tar.xz"
    STAGE=$(mktemp -d)
    mkdir -p "$STAGE/tests" "$STAGE/bench" "$STAGE/lib" "$BUNDLE_DIR"
    cp "$BUILD/strata" "$STAGE/"
    cp "$BUILD/tests/strata_backend_tests" "$STAGE/tests/"
    cp "$BUILD/bench/copy_bandwidth_bench" "$STAGE/bench/"
    for exe in "$STAGE/strata" "$STAGE/tests/strata_backend_tests" "$STAGE/bench/copy_bandwidth_bench"; do
      ldd "$exe" | awk '/=> \//{print $3}' | grep -Ev '/(libc|libm|libdl|librt|libpthread|ld-linux[^/]*|libstdc\+\+|libgcc_s|libcuda|libcudart|libcublas|libcublasLt)\.so' |
        xargs -r -I{} cp -Ln {} "$STAGE/lib/"
    done
    tar -C "$STAGE" -cJf "$BUNDLE_DIR/bundle.tar.xz" .
    rm -rf "$STAGE"
    ls -l "$BUNDLE_DIR/bundle.tar.xz"
    exit 0
    ;;
  prebuilt)
    step "prebuilt programs from $BUNDLE_DIR/bundle.tar.xz"
    BIN=$(mktemp -d)
    tar -C "$BIN" -xJf "$BUNDLE_DIR/bundle.tar.xz"
    export LD_LIBRARY_PATH="$BIN/lib:/usr/local/cuda/lib64${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    if [[ ! -e /usr/local/cuda/lib64/libcublas.so.13 ]]; then  # loaded at run time: e.g. only from a pip wheel
      CUBLAS=$(find / -name 'libcublas.so.13' -not -path '/proc/*' 2>/dev/null | head -1)
      [[ -n "$CUBLAS" ]] || fail "libcublas.so.13 not found on this machine"
      export LD_LIBRARY_PATH="$LD_LIBRARY_PATH:$(dirname "$CUBLAS")"
    fi
    if ldd "$BIN/strata" | grep -q "not found"; then
      CUDART=$(find / -name 'libcudart.so.13' -not -path '/proc/*' 2>/dev/null | head -1)
      [[ -n "$CUDART" ]] && export LD_LIBRARY_PATH="$LD_LIBRARY_PATH:$(dirname "$CUDART")"
    fi
    ;;
esac
STRATA="$BIN/strata"
"$STRATA" --version >/dev/null || fail "$STRATA does not run (missing shared libraries? ldd it)"

step "GPU"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || fail "nvidia-smi: no GPU here"

# ---- 1. conformance ---------------------------------------------------------------------------------------------
conformance() {  # $1: label; the environment selects the GEMM precision
  local log="$OUT_DIR/conformance-$1.log"
  "$BIN/tests/strata_backend_tests" --gtest_filter='Backends/*/cuda:Cuda*' >"$log" 2>&1 || { grep -E "Failure|FAILED|NMSE|error" "$log" | head -40; fail "conformance ($1): see $log"; }
  grep -q "SKIPPED" "$log" && { grep -A2 "Skipped" "$log" | head; fail "conformance ($1): tests skipped on a GPU machine"; }
  grep -E "^\[  PASSED  \]" "$log"
}
step "1. conformance suite, cuda, fp32 GEMM"
STRATA_CUDA_GEMM=fp32 conformance fp32
step "1. conformance suite, cuda, bf16 tensor-core GEMM (STRATA_CUDA_GEMM=bf16)"
STRATA_CUDA_GEMM=bf16 conformance bf16

# ---- 2. same losses ---------------------------------------------------------------------------------------------
SMALL=(--data "synthetic:vocab=8192,classes=45,n=2048" --model mini --layers 4 --seq-len 128 --batch 32
  --micro-batch 8 --steps 20 --dropout 0.1 --seed 7 --threads "$JOBS" --quiet)
train_log() {  # $1: name; rest: extra flags. Writes $OUT_DIR/$1.jsonl (per-step losses) and $1.json (report).
  local name=$1; shift
  "$STRATA" train "${SMALL[@]}" "$@" --log "$OUT_DIR/$name.jsonl" --report "$OUT_DIR/$name.json" \
    >"$OUT_DIR/$name.out" 2>&1 || { tail -20 "$OUT_DIR/$name.out"; fail "strata train $name $*"; }
}
compare_losses() {  # $1 $2: runs, $3: tolerance, $4: what
  "$PY" - "$OUT_DIR/$1.jsonl" "$OUT_DIR/$2.jsonl" "$3" "$4" <<'PYEOF' || fail "$4"
import json, sys
a, b = ([json.loads(l)["loss"] for l in open(p)] for p in sys.argv[1:3])
tol, what = float(sys.argv[3]), sys.argv[4]
if len(a) != 20 or len(b) != 20:
    sys.exit(f"{what}: expected 20 steps each, got {len(a)} and {len(b)}")
worst = max(range(20), key=lambda i: abs(a[i] - b[i]))
d = abs(a[worst] - b[worst])
print(f"{what}: max |loss difference| over 20 steps {d:.3g} at step {worst + 1} (limit {tol:g}); "
      f"losses {a[0]:.6f} -> {a[-1]:.6f} vs {b[0]:.6f} -> {b[-1]:.6f}")
if not d <= tol:
    sys.exit(f"{what}: difference {d:.3g} above {tol:g}")
PYEOF
}
step "2. L2L vs baseline on the GPU (mini, 4 layers, fp32, dropout 0.1, 20 steps)"
train_log gpu-baseline --backend cuda --executor baseline
train_log gpu-l2l --backend cuda --executor l2l
compare_losses gpu-baseline gpu-l2l 1e-5 "GPU L2L vs GPU baseline"
step "2. CPU vs GPU (same model and seed)"
train_log cpu-baseline --backend cpu --executor baseline
compare_losses cpu-baseline gpu-baseline 1e-4 "CPU baseline vs GPU baseline"
train_log cpu-l2l --backend cpu --executor l2l
compare_losses cpu-l2l gpu-l2l 1e-4 "CPU L2L vs GPU L2L"

# ---- 3. BERT-Large figures ----------------------------------------------------------------------------------------
step "3. copy bandwidth (pinned host <-> device, bench/copy_bandwidth_bench)"
"$BIN/bench/copy_bandwidth_bench" --backend cuda --mib 256 --reps 5 | tee "$OUT_DIR/bandwidth.txt" || fail "copy bench"
LARGE=(--data "synthetic:vocab=30522,classes=2,n=1024" --model large --seq-len 128 --batch 32 --steps 4 --dropout 0.1
  --seed 1 --threads "$JOBS" --quiet)
EPS=(--eps-threads $((JOBS > 4 ? JOBS / 2 : 2)))  # the param-server's update threads: half the cores
large() {  # $1: name; rest: flags
  local name=$1; shift
  env ${GEMM:+STRATA_CUDA_GEMM=$GEMM} "$STRATA" train "${LARGE[@]}" --backend cuda "$@" --report "$OUT_DIR/$name.json" \
    >"$OUT_DIR/$name.out" 2>&1 || { tail -20 "$OUT_DIR/$name.out"; fail "BERT-Large run $name: $*"; }
  echo "$name done"
}
step "3. BERT-Large, seq 128, batch 32"
large large-baseline-24 --executor baseline --layers 24 --micro-batch 8
large large-l2l-24 --executor l2l "${EPS[@]}" --layers 24 --micro-batch 8 --device-memory 8GiB
GEMM=bf16 large large-l2l-24-bf16 --executor l2l "${EPS[@]}" --layers 24 --micro-batch 8 --device-memory 8GiB --device-dtype bf16
if [[ -z "${QUICK:-}" ]]; then
  large large-l2l-48 --executor l2l "${EPS[@]}" --layers 48 --micro-batch 8 --device-memory 8GiB
  large large-l2l-96 --executor l2l "${EPS[@]}" --layers 96 --micro-batch 8 --device-memory 8GiB
fi
"$PY" - "$OUT_DIR" "$PEAK_FP32" "$PEAK_BF16" <<'PYEOF' | tee "$OUT_DIR/table.md" || fail "BERT-Large figures"
import json, os, re, sys
out, peak32, peak16 = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
bw = dict(re.findall(r"^(\w+_GBps) ([0-9.]+)", open(f"{out}/bandwidth.txt").read(), re.M))
h2d, d2h = float(bw["host_to_device_GBps"]), float(bw["device_to_host_GBps"])
rows = [("baseline", "large-baseline-24", "fp32", peak32), ("l2l", "large-l2l-24", "fp32", peak32),
        ("l2l", "large-l2l-24-bf16", "bf16 slabs, bf16 GEMM", peak16), ("l2l", "large-l2l-48", "fp32", peak32),
        ("l2l", "large-l2l-96", "fp32", peak32)]
print(f"copy bandwidth (pinned, 256 MiB): host->device {h2d:.1f} GB/s, device->host {d2h:.1f} GB/s")
print("| executor | layers | precision | --device-memory | device peak | step ms (median) | tokens/s | TFLOP/s (% of peak) "
      "| PCIe GB per step (to / from device) | PCIe time at measured bandwidth (ms) |")
print("|---|---|---|---|---|---|---|---|---|---|")
peaks, base_ms = {}, None
for ex, name, prec, peak in rows:
    path = f"{out}/{name}.json"
    if not os.path.exists(path):
        continue
    r = json.load(open(path))
    steps = max(1, r["steps_run"])
    up, down = r["bytes_to_device"] / steps / 1e9, r["bytes_from_device"] / steps / 1e9
    ms, tf = r["step_ms_median"], r["gflops"] / 1e3
    if ex == "baseline":
        base_ms = ms
    else:
        peaks[r["model"]["layers"]] = r["device_peak_bytes"]
    budget = "8GiB" if ex == "l2l" else "none"
    print(f"| {ex} | {r['model']['layers']} | {prec} | {budget} | {r['device_peak_bytes'] / 2**30:.2f} GiB | {ms:.0f} "
          f"| {r['tokens_per_s']:.0f} | {tf:.1f} ({100 * tf / peak:.1f}% of {peak:g}) | {up:.2f} / {down:.2f} "
          f"| {1e3 * (up / h2d + down / d2h):.0f} |")
l2l24 = json.load(open(f"{out}/large-l2l-24.json"))
if base_ms:
    print(f"L2L / baseline step time at 24 layers: {l2l24['step_ms_median'] / base_ms:.2f}")
if l2l24["device_peak_bytes"] > 8 * 2**30:
    sys.exit("L2L BERT-Large device peak above 8 GiB")
if len(peaks) > 1 and max(peaks.values()) > 1.05 * min(peaks.values()):
    sys.exit(f"L2L device peak not flat in depth: {peaks}")
if len(peaks) > 1:
    print("L2L device peak flat from 24 to 96 layers: " + ", ".join(f"{k}: {v / 2**30:.2f} GiB" for k, v in sorted(peaks.items())))
PYEOF

step "done in $((SECONDS - START)) s: all GPU checks passed (logs and reports in $OUT_DIR/)"
if ((SECONDS - START > 480)); then echo "warning: over the 8-minute target" >&2; fi
