#!/usr/bin/env bash
# The regime study (issue 15): when does an induced hierarchy beat a resource-matched flat forest?
#   bench/regimes/run.sh [BUILD] [sim|real|all]
# sim: `strata simulate` over grids of classes × dims, samples × group tightness and forest budget × depth (both
#      flat matchings), and the authors' preset beside strata's; one CSV row per cell in docs/results/regimes.csv,
#      heatmaps docs/results/regimes-*.svg (bench/regimes/heatmap.py).
# real: `strata compare` under both presets on Fashion-MNIST pixels, on `embed` vectors of a small encoder trained
#      on wordnet:lexname (held-out glosses, 45 classes) and on WordNet noun glosses labelled by their depth-5
#      hypernym (135 classes, true tree: depth-3 hypernyms); JSON in docs/results/regimes-real-*.json and a table.
# REGIMES_GRID=small (default: make bench, about 30 min on 2 quiet cores) | full (denser grids, 5 seeds: hours)
# | smoke (a minute, checks the pipeline only).
# REGIMES_SEEDS overrides the replicates per cell; REGIMES_OUT the output folder (default docs/results);
# REGIMES_REAL the real data sets (default: fashion-mnist wordnet); REGIMES_ENCODER_STEPS the encoder's steps
# (default 800); REGIMES_STUDIES the simulation studies to run (default: classes_dims samples_tightness budget_depth presets; cells
# are seeded by their coordinates, so studies run apart give the rows one run would).
set -euo pipefail
BUILD=${1:-build}
WHAT=${2:-all}
S=$BUILD/strata
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${REGIMES_OUT:-docs/results}
GRID=${REGIMES_GRID:-small}
PY=/usr/bin/python3
THREADS=${REGIMES_THREADS:-2}
WORK=$(mktemp -d /tmp/strata-regimes.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$OUT"

if [[ $GRID == full ]]; then
  SEEDS=${REGIMES_SEEDS:-5}
  CLASSES="10 20 50 100 200"; DIMS="2 8 32 128 512 2048"
  SAMPLES="5 10 20 50 100"; TIGHT="0.01 0.03 0.1 0.3 1"
  TREES="2 5 10 25 50"; DEPTHS="2 4 6 10 20 0"
elif [[ $GRID == smoke ]]; then  # a minute: checks the pipeline, not a result
  SEEDS=${REGIMES_SEEDS:-2}
  CLASSES="10 20"; DIMS="2 32"; SAMPLES="5 20"; TIGHT="0.1"; TREES="3"; DEPTHS="4 0"
else
  SEEDS=${REGIMES_SEEDS:-3}
  CLASSES="10 50 200"; DIMS="2 32 512 2048"
  SAMPLES="5 20 100"; TIGHT="0.01 0.1 0.5"
  TREES="5 25"; DEPTHS="4 10 0"
fi

# The base point every grid moves away from: 50 classes in groups of 5, "pre-trained" features (a 16-dim latent
# hierarchy embedded into 128 dims with noise), group centres N(0, I), class means N(centre, 0.1 I), samples
# N(mean, 0.1 I) in the latent space plus N(0, 0.1 I) in every dim, 20 training and 20 test samples per class,
# 10 trees per node, unlimited depth, strata's resource matching.
PRE="--features pretrained --sigma2-between 1 --sigma2-class 0.1 --sigma2-noise 0.1 --classes-per-group 5"
CSV="$OUT/regimes.csv"
# cell STUDY XNAME X YNAME Y SETUP simulate-args...: one simulate run, its row prefixed by the cell. The seed
# depends on (study, x, y) only, so the setups of one cell (presets, flat matchings) see the same data.
cell() {
  local study=$1 xn=$2 x=$3 yn=$4 y=$5 label=$6
  shift 6
  local seed
  seed=$(echo "${study%_*}/$x/$y" | cksum | cut -d' ' -f1)
  local args="--reps $SEEDS --test-per-class 20 --threads $THREADS --seed $seed $*"
  echo "strata simulate $args" >>"$WORK/commands.txt"
  # shellcheck disable=SC2086
  "$S" --progress none simulate $args --out "$WORK/cell.csv" >/dev/null
  if [[ ! -s "$WORK/rows.csv" ]]; then echo "study,x_name,x,y_name,y,setup,$(head -1 "$WORK/cell.csv")" >"$WORK/rows.csv"; fi
  tail -n +2 "$WORK/cell.csv" | sed "s|^|$study,$xn,$x,$yn,$y,$label,|" >>"$WORK/rows.csv"
  echo "regimes: $study $xn=$x $yn=$y $label done ($SECONDS s)" >&2
}

sim() {
  local t0=$SECONDS
  # 1. classes × dims (groups of 5 classes; latent dims min(dims, 16))
  if study classes_dims; then for k in $CLASSES; do for d in $DIMS; do
    cell classes_dims classes "$k" dims "$d" strata $PRE --groups $((k / 5)) --dims "$d" --samples-per-class 20 \
      --sigma2-group 0.1 --trees 10
  done; done; fi
  # 2. samples per class × group tightness (sigma2_group / sigma2_between)
  if study samples_tightness; then for n in $SAMPLES; do for t in $TIGHT; do
    cell samples_tightness samples "$n" tightness "$t" strata $PRE --groups 10 --dims 128 --samples-per-class "$n" \
      --sigma2-group "$t" --trees 10
  done; done; fi
  # 3. forest budget × depth, under both flat matchings (path: strata; node: the authors')
  if study budget_depth; then for tr in $TREES; do for dp in $DEPTHS; do for m in path node; do
    cell "budget_depth_$m" trees "$tr" depth "$dp" "flat-depth=$m" $PRE --groups 10 --dims 128 \
      --samples-per-class 20 --sigma2-group 0.1 --trees "$tr" --max-depth "$dp" --flat-depth "$m"
  done; done; done; fi
  # 4. the authors' preset beside strata's (10 trees per node, like the grids), on the paper's most favourable
  #    shape (100 classes in 20 groups, 50 samples per class, pretrained features in 512 dims) and on strata's
  #    old 2-D default (4 groups × 4 classes at (±1, ±1)).
  study presets || { finish_sim "$t0"; return; }
  cell presets shape 100x512 setup - strata $PRE --groups 20 --dims 512 --samples-per-class 50 \
    --sigma2-group 0.1 --trees 10
  cell presets shape 100x512 setup - authors $PRE --groups 20 --dims 512 --samples-per-class 50 \
    --sigma2-group 0.1 --preset authors
  cell presets shape 16x2 setup - strata --samples-per-class 20 --sigma2-group 0.1 --trees 10
  cell presets shape 16x2 setup - authors --samples-per-class 20 --sigma2-group 0.1 --preset authors
  finish_sim "$t0"
}

STUDIES=${REGIMES_STUDIES:-classes_dims samples_tightness budget_depth presets}
study() { [[ " $STUDIES " == *" $1 "* ]]; }

finish_sim() {
  mv "$WORK/rows.csv" "$CSV.tmp" && mv "$CSV.tmp" "$CSV"
  cp "$WORK/commands.txt" "$OUT/regimes-commands.txt"
  $PY "$HERE/heatmap.py" "$CSV" "$OUT"
  echo "regimes: simulation grid ($GRID, $SEEDS seeds) took $((SECONDS - $1)) s" >&2
}

# compare NAME TRAIN TEST [extra...]: both presets, JSON per preset.
compare_both() {
  local name=$1 train=$2 test=$3
  shift 3
  for p in strata authors; do
    echo "strata compare --train $train --test $test $* --preset $p" >>"$OUT/regimes-real-commands.txt"
    "$S" --progress none compare --train "$train" --test "$test" "$@" --preset "$p" --threads "$THREADS" \
      --json "$OUT/regimes-real-$name-$p.json" | sed "s|^|$name $p: |"
  done
}

real() {
  local t0=$SECONDS
  if [[ " ${REGIMES_REAL:-fashion-mnist wordnet} " == *" fashion-mnist "* ]]; then : >"$OUT/regimes-real-commands.txt"; fi
  local rseeds=$SEEDS
  if [[ " ${REGIMES_REAL:-fashion-mnist wordnet} " == *" fashion-mnist "* ]]; then
  compare_both fashion-mnist fashion-mnist:train fashion-mnist:test --per-class 50 --seeds "$rseeds" \
    --true-tree docs/trees/fashion-mnist-semantic.json
  fi
  if [[ " ${REGIMES_REAL:-fashion-mnist wordnet} " != *" wordnet "* ]]; then $PY "$HERE/real_table.py" "$OUT"; return; fi
  # A small encoder on wordnet:lexname (its fixed train split), then embeddings of held-out and hypernym glosses.
  local steps=${REGIMES_ENCODER_STEPS:-800}
  echo "strata train --data wordnet:lexname --model tiny --steps $steps --seq-len 48 --batch 32 --lr 1e-3" \
    >>"$OUT/regimes-real-commands.txt"
  "$S" --progress none train --data wordnet:lexname --model tiny --steps "$steps" --seq-len 48 --batch 32 --lr 1e-3 \
    --threads "$THREADS" --save "$WORK/enc" --report "$OUT/regimes-real-encoder.json" >/dev/null
  "$S" --progress none embed --model "$WORK/enc" --data wordnet:lexname --split test --out "$WORK/lex.npy" \
    --labels-out "$WORK/lex.txt" >/dev/null
  $PY "$HERE/wordnet_sets.py" "$WORK/wn"
  "$S" --progress none embed --model "$WORK/enc" --data "$WORK/wn/hypernym.tsv" --split all --out "$WORK/hyp.npy" \
    --labels-out "$WORK/hyp.txt" >/dev/null
  $PY "$HERE/split.py" "$WORK/lex.npy" "$WORK/lex.txt" "$WORK/lex" 0.5
  $PY "$HERE/split.py" "$WORK/hyp.npy" "$WORK/hyp.txt" "$WORK/hyp" 0.5
  cp "$WORK/wn/hypernym-tree.json" "$OUT/regimes-wordnet-hypernym-tree.json"
  compare_both wordnet-lexname "$WORK/lex-train.npy" "$WORK/lex-test.npy" --train-labels "$WORK/lex-train.txt" \
    --test-labels "$WORK/lex-test.txt" --seeds "$rseeds"
  compare_both wordnet-hypernym "$WORK/hyp-train.npy" "$WORK/hyp-test.npy" --train-labels "$WORK/hyp-train.txt" \
    --test-labels "$WORK/hyp-test.txt" --seeds "$rseeds" --true-tree "$OUT/regimes-wordnet-hypernym-tree.json"
  $PY "$HERE/real_table.py" "$OUT" >"$OUT/regimes-real.md"
  cat "$OUT/regimes-real.md"
  echo "regimes: real data took $((SECONDS - t0)) s" >&2
}

case $WHAT in
  sim) sim ;;
  real) real ;;
  all) sim; real ;;
  *) echo "usage: $0 [BUILD] [sim|real|all]" >&2; exit 2 ;;
esac
