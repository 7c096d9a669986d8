#!/usr/bin/env bash
# Training step, strata vs PyTorch, side by side in one run: the same BERT classifier (dropout 0, AdamW, float32,
# 2 threads) on the same synthetic token sequences, RUNS alternating runs of each, plus the machine's OpenBLAS sgemm
# peak measured in the same run. Prints one table row per model: step time min/median over runs (each run's figure
# is the median of its steps), the strata/torch step-time ratio, GFLOP/s (6 * non-embedding params * tokens +
# attention FLOPs, per median step) and its share of the sgemm peak, and peak RSS.
#   bench/train_vs_torch.sh [BUILD_DIR]      (RUNS=3 STEPS=13 ROWS="mini mini-L12 base-L2")
set -euo pipefail
BUILD=${1:-build}
RUNS=${RUNS:-3}
STEPS=${STEPS:-13}
ROWS=${ROWS:-"mini mini-L12 base-L2"}
PY=/usr/bin/python3
HERE=$(cd "$(dirname "$0")" && pwd)
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
DATA="synthetic:vocab=8192,classes=45,n=4096"
declare -A STRATA_ARGS=([mini]="--model mini" [mini-L12]="--model mini --layers 12" [base-L2]="--model base --layers 2")
declare -A TORCH_ARGS=([mini]="--preset mini" [mini-L12]="--preset mini --layers 12" [base-L2]="--preset base --layers 2")

"$BUILD/bench/sgemm_bench" 2 3 | tee "$TMP/sgemm.txt" >&2
for row in $ROWS; do
  for r in $(seq 1 "$RUNS"); do
    echo "== $row run $r: strata" >&2
    # shellcheck disable=SC2086
    "$BUILD/strata" train --data "$DATA" ${STRATA_ARGS[$row]} --seq-len 128 --batch 32 --micro-batch 8 \
      --steps "$STEPS" --dropout 0 --threads 2 --quiet --report "$TMP/strata-$row-$r.json"
    echo "== $row run $r: torch" >&2
    # shellcheck disable=SC2086
    "$PY" "$HERE/peers/torch_bert.py" ${TORCH_ARGS[$row]} --seq 128 --batch 32 --steps $((STEPS - 3)) \
      --warmup-steps 3 --threads 2 >"$TMP/torch-$row-$r.json" 2>/dev/null
  done
done
"$PY" - "$TMP" "$ROWS" <<'PYEOF'
import glob, json, re, statistics, sys
tmp, rows = sys.argv[1], sys.argv[2].split()
peak = float(re.search(r"sgemm peak .*?: ([0-9.]+)", open(f"{tmp}/sgemm.txt").read()).group(1))
print(f"OpenBLAS sgemm peak, 2 threads: {peak:.1f} GFLOP/s")
print("| model | strata step ms (min / median) | torch step ms (min / median) | strata / torch | strata GFLOP/s (% of sgemm peak) | torch GFLOP/s (% of peak) | peak RSS strata / torch (MiB) |")
print("|---|---|---|---|---|---|---|")
for row in rows:
    s = [json.load(open(f)) for f in sorted(glob.glob(f"{tmp}/strata-{row}-*.json"))]
    t = [json.loads(open(f).read().strip().splitlines()[-1]) for f in sorted(glob.glob(f"{tmp}/torch-{row}-*.json"))]
    sm = [x["step_ms_median"] for x in s]; tm = [x["step_ms_median"] for x in t]
    sg = statistics.median(x["gflops"] for x in s); tg = statistics.median(x["gflops"] for x in t)
    sr = max(x["peak_rss_bytes"] for x in s) / 2**20; tr = max(x["peak_rss_bytes"] for x in t) / 2**20
    print(f"| {row} | {min(sm):.0f} / {statistics.median(sm):.0f} | {min(tm):.0f} / {statistics.median(tm):.0f} | "
          f"{statistics.median(sm) / statistics.median(tm):.2f}x | {sg:.1f} ({100 * sg / peak:.0f} %) | "
          f"{tg:.1f} ({100 * tg / peak:.0f} %) | {sr:.0f} / {tr:.0f} |")
PYEOF
