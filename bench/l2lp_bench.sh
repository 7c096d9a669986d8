#!/usr/bin/env bash
# L2Lp against one process on the same cores, side by side in one run: the same L2L training (mini width, 12 layers,
# seq 128, global batch 32 in micro-batches of 8, AdamW eager, dropout 0.1) as `mpirun -np 2` with one compute
# thread per rank and as one process with two threads; RUNS alternating runs of each. Prints per run and the
# min/median of tokens/s, their ratio, reduce_overlap and what a step moves over MPI.
#   bench/l2lp_bench.sh [BUILD_DIR]      (RUNS=3 STEPS=8 LAYERS=12 EXTRA="--shard-optimizer")
set -euo pipefail
BUILD=${1:-build}
RUNS=${RUNS:-3}
STEPS=${STEPS:-8}
LAYERS=${LAYERS:-12}
EXTRA=${EXTRA:-}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
A=(train --data "synthetic:vocab=8192,classes=45,n=4096" --model mini --layers "$LAYERS" --seq-len 128 --batch 32
   --micro-batch 8 --steps "$STEPS" --executor l2l --clip 0 --eps-threads 1 --quiet)
for r in $(seq 1 "$RUNS"); do
  echo "== run $r: one process, 2 threads" >&2
  "$BUILD/strata" "${A[@]}" --threads 2 --report "$TMP/one-$r.json"
  echo "== run $r: mpirun -np 2, 1 thread each" >&2
  # shellcheck disable=SC2086
  mpirun --allow-run-as-root --oversubscribe -np 2 "$BUILD/strata" "${A[@]}" --threads 1 $EXTRA \
    --report "$TMP/two-$r.json"
done
/usr/bin/python3 - "$TMP" "$RUNS" <<'PYEOF'
import json, statistics, sys
tmp, runs = sys.argv[1], int(sys.argv[2])
one = [json.load(open(f"{tmp}/one-{r}.json")) for r in range(1, runs + 1)]
two = [json.load(open(f"{tmp}/two-{r}.json")) for r in range(1, runs + 1)]
t1 = [j["tokens_per_s"] for j in one]; t2 = [j["tokens_per_s"] for j in two]
ratios = [b / a for a, b in zip(t1, t2)]
ov = [j["reduce_overlap"] for j in two]
steps = two[0]["steps_run"]
mb = two[0]["reduce_bytes"] / steps / 2**20
print("| run | 1 process tok/s | 2 ranks tok/s | ratio | reduce_overlap | MiB reduced per step per rank | step ms (2 ranks) |")
print("|---|---|---|---|---|---|---|")
for r in range(runs):
    print(f"| {r + 1} | {t1[r]:.0f} | {t2[r]:.0f} | {ratios[r]:.2f} | {ov[r]:.2f} | {mb:.1f} | {two[r]['step_ms_median']:.0f} |")
print(f"min / median: 1 process {min(t1):.0f} / {statistics.median(t1):.0f} tok/s; 2 ranks {min(t2):.0f} / "
      f"{statistics.median(t2):.0f} tok/s; ratio (per run) median {statistics.median(ratios):.2f}; "
      f"reduce_overlap min {min(ov):.2f}; optimizer bytes per rank {two[0]['optimizer_bytes_per_rank']} "
      f"(one process {one[0]['optimizer_bytes_per_rank']})")
PYEOF
