#!/usr/bin/env bash
# Runs every benchmark with its peer side by side in one run and prints the figures (make bench).
# BENCH=name runs only that one (data, gmm, forest, compare, kernels, sgemm, stream, adamw, train, depth, l2lp, wordnet,
# pretrain, regimes). Slow: the scikit-learn
# forest and compare peers take minutes.
set -uo pipefail
BUILD=${1:-build}
B=$BUILD/bench
PY=/usr/bin/python3
failed=""  # benches whose script reported a failure (make bench then exits non-zero)
want() { [[ -z "${BENCH:-}" || "${BENCH}" == "$1" ]]; }
hdr() { echo; echo "== $*"; }

if want data; then hdr "data loading: strata vs NumPy"; $B/data_load_bench --runs 5; fi
if want gmm; then hdr "GMM + BIC, k=2..30 x 4 covariance types, 100 x 16: strata vs scikit-learn"; $B/gmm_bench --runs 5; fi
if want forest; then
  hdr "random forest, Fashion-MNIST, 100 trees, depth 20, 2 threads: strata"
  $B/forest_bench --trees 100 --max-depth 20 --threads 2 --reps 3
  hdr "random forest: scikit-learn peer"
  $PY bench/peers/sklearn_forest.py --trees 100 --max-depth 20 --threads 2 --reps 3
fi
if want compare; then
  for r in 1 2 3; do
    hdr "compare, Fashion-MNIST, 500 per class, 10 seeds, 100 trees per node (run $r): strata"
    /usr/bin/time -f "strata_compare_wall_seconds %e" $BUILD/strata compare --train fashion-mnist:train \
      --test fashion-mnist:test --per-class 500 --seeds 10 --trees 100 --threads 2 2>&1 | grep -v '^strata: seed'
    hdr "compare (run $r): the same recipe in scikit-learn"
    /usr/bin/time -f "sklearn_compare_wall_seconds %e" $PY bench/peers/sklearn_compare.py --per-class 500 --seeds 10 \
      --trees 100 2>&1 | grep -v '^seed'
  done
fi
if want kernels; then hdr "engine CPU kernels"; $B/kernels_bench --benchmark_min_time=0.2; fi
if want sgemm; then hdr "OpenBLAS sgemm peak"; $B/sgemm_bench; fi
if want stream; then hdr "STREAM-like triad"; $B/stream_bench; fi
if want adamw; then
  hdr "fused AdamW, 50M parameters: strata"; $B/adamw_bench
  hdr "torch.optim.AdamW peer"; $PY bench/peers/torch_adamw.py
fi
if want train; then hdr "training step: strata vs PyTorch (synthetic, seq 128, batch 32, 2 threads)"; bench/train_vs_torch.sh "$BUILD"; fi
if want depth; then
  hdr "depth sweep, baseline vs L2L (BERT-mini width, seq 128, batch 32 = 4 x 8, AdamW, eager)"
  $B/depth_sweep_bench --layers 4,12,24,48 --steps 5 --threads 2 --clip 0 --stash-memory 1GiB \
    --svg docs/results/depth-sweep.svg --csv docs/results/depth-sweep.csv
fi
if want l2lp; then hdr "L2Lp: mpirun -np 2 (1 thread each) vs one process (2 threads), mini width, 12 layers"; bench/l2lp_bench.sh "$BUILD"; fi
if want pretrain; then
  hdr "MLM pre-training on WordNet train glosses, then fine-tuning on wordnet:lexname and a WordNet hypernym .tsv:" \
    "scratch vs pre-trained vs fastText"
  bench/pretrain_bench.sh "$BUILD" || failed+=" pretrain"
  hdr "MLM pre-training speed: L2L vs the baseline executor (step time, device peak)"
  bench/pretrain_speed.sh "$BUILD" || failed+=" pretrain-speed"
fi
if want wordnet; then hdr "wordnet:lexname baselines: majority class and fastText supervised"; $PY bench/peers/fasttext_wordnet.py; fi
if want regimes; then
  hdr "regime study: when does an induced hierarchy help? (REGIMES_GRID=small; =full for the larger grid)"
  bench/regimes/run.sh "$BUILD"
fi
if [[ -n $failed ]]; then echo "bench: failed:$failed" >&2; exit 1; fi
