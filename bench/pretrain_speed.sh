#!/usr/bin/env bash
# L2L pre-training against the baseline executor: step time and device peak, interleaved runs.
#   bench/pretrain_speed.sh [BUILD]   (env: MODEL=mini RUNS=3 STEPS=40 BATCH=32 SEQ=64 MICRO=8 THREADS=2)
# Each run pre-trains MODEL on the wordnet:lexname training glosses for STEPS steps of BATCH x SEQ with one shared
# SentencePiece tokenizer (trained once first); the figure of a run is its median step time after the first 5
# steps (page faults make the first ones slow). Prints min / median over runs and the device peaks.
set -euo pipefail
BUILD=${1:-build}
S=$BUILD/strata
MODEL=${MODEL:-mini} RUNS=${RUNS:-3} STEPS=${STEPS:-40} BATCH=${BATCH:-32} SEQ=${SEQ:-64} MICRO=${MICRO:-8}
THREADS=${THREADS:-2}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
echo "command: MODEL=$MODEL RUNS=$RUNS STEPS=$STEPS BATCH=$BATCH SEQ=$SEQ MICRO=$MICRO THREADS=$THREADS bench/pretrain_speed.sh $BUILD"
common=(--data wordnet:lexname --model "$MODEL" --batch "$BATCH" --seq-len "$SEQ" --threads "$THREADS" --seed 1
  --eval-rows 32 --quiet)
"$S" pretrain "${common[@]}" --steps 1 --save "$OUT/tok" >/dev/null
for r in $(seq 1 "$RUNS"); do
  for ex in baseline l2l; do
    extra=()
    [[ $ex == l2l ]] && extra=(--executor l2l --micro-batch "$MICRO")
    "$S" pretrain "${common[@]}" --tokenizer "$OUT/tok/tokenizer.model" --steps "$STEPS" "${extra[@]}" \
      --log "$OUT/$ex-$r.jsonl" --report "$OUT/$ex-$r.json"
  done
done
/usr/bin/python3 - "$OUT" "$RUNS" "$BATCH" "$SEQ" <<'PY'
import json, statistics, sys
out, runs, B, T = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
med = {}
for ex in ("baseline", "l2l"):
    per_run = [statistics.median([json.loads(l)["ms"] for l in open(f"{out}/{ex}-{r}.jsonl")][5:])
               for r in range(1, runs + 1)]
    peak = json.load(open(f"{out}/{ex}-1.json"))["device_peak_bytes"] / 2**20
    med[ex] = (statistics.median(per_run), peak)
    print(f"{ex:9s} step ms per run {[round(m, 1) for m in per_run]}  min / median {min(per_run):.1f} / "
          f"{med[ex][0]:.1f}  tokens/s {B * T / med[ex][0] * 1e3:.0f}  device peak {peak:.1f} MiB")
print(f"l2l / baseline: step time {med['l2l'][0] / med['baseline'][0]:.2f}x, device peak "
      f"{med['l2l'][1] / med['baseline'][1]:.2f}x")
PY
