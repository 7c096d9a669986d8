#!/usr/bin/env bash
# The main job on the default real data: induce a label hierarchy for Fashion-MNIST and compare the hierarchical
# classifier against a flat one with matched resources and a random tree with the same group sizes; then train a
# small BERT on WordNet glosses with the L2L executor under a device budget, embed the test glosses and induce a
# label tree of WordNet's lexicographer files from the embeddings.
set -euo pipefail
STRATA=${1:-build/strata}
OUT=${OUT:-out}
mkdir -p "$OUT"
echo "== strata induce: label tree of Fashion-MNIST from its class means (CMDS + GMM/BIC)"
"$STRATA" induce --train fashion-mnist:train --out "$OUT/fashion-tree.json" --svg "$OUT/fashion-tree.svg"
echo
echo "== strata compare: flat vs induced vs random vs semantic trees, 500 training examples per class, 5 seeds"
"$STRATA" compare --train fashion-mnist:train --test fashion-mnist:test --per-class 500 --seeds 5 --trees 100 \
  --true-tree "$(dirname "$0")/../docs/trees/fashion-mnist-semantic.json" \
  --json "$OUT/fashion-compare.json" --svg "$OUT/fashion-tree-seed0.svg"
echo
echo "== strata train: BERT-tiny on wordnet:lexname, L2L executor, 600 steps, device budget 12 MiB"
echo "   (the baseline executor would need 16 MiB for the same run: it exits 3 and says so)"
"$STRATA" train --data wordnet:lexname --model tiny --executor l2l --device-memory 12MiB --micro-batch auto \
  --steps 600 --batch 32 --seq-len 32 --vocab-size 4000 --lr 1e-3 --save "$OUT/wordnet-tiny" \
  --report "$OUT/wordnet-train.json"
echo
echo "== strata embed + induce: a label tree of WordNet's 45 lexicographer files from the model's [CLS] vectors"
"$STRATA" embed --model "$OUT/wordnet-tiny" --data wordnet:lexname --split test --out "$OUT/wordnet-test.npy" \
  --labels-out "$OUT/wordnet-test-labels.txt"
"$STRATA" induce --train "$OUT/wordnet-test.npy" --labels "$OUT/wordnet-test-labels.txt" \
  --out "$OUT/wordnet-tree.json" --svg "$OUT/wordnet-tree.svg"
echo
echo "wrote $OUT/fashion-tree.json, $OUT/fashion-tree.svg, $OUT/fashion-compare.json, $OUT/wordnet-tiny/,"
echo "      $OUT/wordnet-train.json, $OUT/wordnet-tree.json, $OUT/wordnet-tree.svg"
