#!/usr/bin/env bash
# The main job on the default real data: induce a label hierarchy for Fashion-MNIST and compare the hierarchical
# classifier against a flat one with matched resources and a random tree with the same group sizes.
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
echo "wrote $OUT/fashion-tree.json, $OUT/fashion-tree.svg, $OUT/fashion-compare.json"
