#!/usr/bin/env bash
# Pre-training bench (make bench, BENCH=pretrain): MLM pre-training on the WordNet glosses of the TRAINING split only
# (wordnet:lexname train: the test glosses are never seen), then fine-tuning on wordnet:lexname from scratch and
# from the pre-trained directory with the same tokenizer, steps and seed; test accuracy of both. fastText's figure
# for the same task comes from BENCH=wordnet. Sizes from the environment:
#   MODEL (mini) PT_STEPS (3000) FT_STEPS (1000) SEQ (64) BATCH (32) THREADS (2)
set -euo pipefail
BUILD=${1:-build}
S=$BUILD/strata
MODEL=${MODEL:-mini} PT_STEPS=${PT_STEPS:-3000} FT_STEPS=${FT_STEPS:-1000} SEQ=${SEQ:-64} BATCH=${BATCH:-32}
THREADS=${THREADS:-2}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
num() { grep -o "\"$1\": *[-0-9.e+]*" "$2" | head -1 | sed 's/.*: *//'; }
common=(--model "$MODEL" --seq-len "$SEQ" --batch "$BATCH" --threads "$THREADS" --seed 1 --quiet)

t0=$(date +%s)
$S pretrain --data wordnet:lexname "${common[@]}" --steps "$PT_STEPS" --lr 5e-4 --vocab-size 8192 \
  --save "$OUT/pt" --report "$OUT/pt.json"
t1=$(date +%s)
$S train --data wordnet:lexname "${common[@]}" --steps "$FT_STEPS" --lr 5e-4 --tokenizer "$OUT/pt/tokenizer.model" \
  --report "$OUT/scratch.json"
$S train --data wordnet:lexname --init "$OUT/pt" --seq-len "$SEQ" --batch "$BATCH" --threads "$THREADS" --seed 1 \
  --quiet --steps "$FT_STEPS" --lr 5e-4 --report "$OUT/init.json"
t2=$(date +%s)
echo "pretrain $MODEL: $PT_STEPS steps of $BATCH x $SEQ on wordnet:lexname train glosses, $((t1 - t0)) s"
echo "  MLM loss $(num first_loss "$OUT/pt.json") -> $(num final_loss "$OUT/pt.json");" \
  "held-out MLM loss $(num eval_mlm_loss "$OUT/pt.json"), masked-token accuracy $(num eval_masked_accuracy "$OUT/pt.json")"
echo "fine-tune wordnet:lexname, $FT_STEPS steps of $BATCH x $SEQ, same tokenizer and seed ($((t2 - t1)) s for both):"
echo "  from scratch:          test accuracy $(num eval_accuracy "$OUT/scratch.json")"
echo "  after pre-training:    test accuracy $(num eval_accuracy "$OUT/init.json")"
echo "  majority class:        test accuracy $(num majority_accuracy "$OUT/scratch.json")"
