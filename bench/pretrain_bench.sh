#!/usr/bin/env bash
# Pre-training bench (make bench, BENCH=pretrain). One run, side by side:
#   1. MLM pre-training on the WordNet glosses of the wordnet:lexname TRAINING split only (its test glosses are never
#      seen), with the baseline or the l2l executor;
#   2. fine-tuning on two tasks, each from scratch and from the pre-trained directory with the same tokenizer (the
#      one pre-training trained), steps and seed, plus the majority class and fastText supervised on the same split:
#        a. wordnet:lexname (45 classes; fastText: bench/peers/fasttext_wordnet.py);
#        b. hypernym.tsv: WordNet noun glosses labelled by their hypernym ancestor at depth HYP_DEPTH, written by
#           bench/peers/wordnet_hypernym_tsv.py so that every row strata's .tsv split puts in the TEST split is a
#           WordNet-test-split synset whose gloss pre-training never saw (fastText: bench/peers/fasttext_tsv.py,
#           which reproduces strata's row-hash split; the bench checks that its row counts equal strata's);
#   3. a table of test accuracies and the pre-training line.
# Usage: bench/pretrain_bench.sh [BUILD_DIR]   (default: build). Sizes from the environment:
#   MODEL (mini) PT_STEPS (3000) FT_STEPS (1000) SEQ (64) BATCH (32) THREADS (2) EXECUTOR (baseline | l2l)
#   VOCAB (8192 pieces) LR (5e-4) HYP_DEPTH (5) HYP_MIN_SIZE (60) FT_EPOCH (25: fastText epochs)
# Exits non-zero if any step fails (its log's tail is printed). Temporary files live in a mktemp dir removed at exit.
set -euo pipefail
export LC_ALL=C  # printf's %f wants '.' decimals

BUILD=${1:-build}
S=$BUILD/strata
PY=/usr/bin/python3
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
MODEL=${MODEL:-mini} PT_STEPS=${PT_STEPS:-3000} FT_STEPS=${FT_STEPS:-1000} SEQ=${SEQ:-64} BATCH=${BATCH:-32}
THREADS=${THREADS:-2} EXECUTOR=${EXECUTOR:-baseline} VOCAB=${VOCAB:-8192} LR=${LR:-5e-4}
HYP_DEPTH=${HYP_DEPTH:-5} HYP_MIN_SIZE=${HYP_MIN_SIZE:-60} FT_EPOCH=${FT_EPOCH:-25}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

# ---- helpers ----------------------------------------------------------------------------------------------------
# step NAME CMD...: runs CMD with stdout to $OUT/NAME.out and stderr to $OUT/NAME.log; on failure prints the log's
# tail and exits with CMD's status (so the bench fails whenever any step fails).
step() {
  local name=$1 rc=0
  shift
  "$@" >"$OUT/$name.out" 2>"$OUT/$name.log" || rc=$?
  if ((rc != 0)); then
    echo "pretrain_bench: step '$name' failed (exit $rc): $*" >&2
    tail -n 20 "$OUT/$name.log" >&2
    exit "$rc"
  fi
}
# jget FILE KEY: a top-level value of a JSON file (a report, or a peer's one-line output).
jget() { "$PY" -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }
# strata_split LOG: "TRAIN TEST CLASSES" from strata train's summary line ("N training rows, M test rows, K classes").
strata_split() {
  local line
  line=$(grep -o '[0-9]* training rows, [0-9]* test rows, [0-9]* classes' "$1" | head -1)
  [[ -n $line ]] || { echo "pretrain_bench: no split summary in $1" >&2; exit 1; }
  sed -E 's/([0-9]+) training rows, ([0-9]+) test rows, ([0-9]+) classes/\1 \2 \3/' <<<"$line"
}
f3() { printf '%.3f' "$1"; }

# ---- the steps ----------------------------------------------------------------------------------------------------
# 1. Pre-training: trains the SentencePiece tokenizer and the MLM on the wordnet:lexname train glosses.
pretrain() {
  local t0=$SECONDS
  step pretrain "$S" pretrain --data wordnet:lexname --model "$MODEL" --executor "$EXECUTOR" --seq-len "$SEQ" \
    --batch "$BATCH" --threads "$THREADS" --seed 1 --steps "$PT_STEPS" --lr "$LR" --vocab-size "$VOCAB" \
    --save "$OUT/pt" --report "$OUT/pt.json"
  PT_SECONDS=$((SECONDS - t0))
}

# finetune TASK DATA: from scratch (the pre-training tokenizer, a fresh MODEL) and from the pre-trained directory,
# same steps, batch, sequence length, learning rate and seed. Reports in $OUT/TASK-{scratch,init}.json.
finetune() {
  local task=$1 data=$2
  local ft=(--data "$data" --seq-len "$SEQ" --batch "$BATCH" --threads "$THREADS" --seed 1 --steps "$FT_STEPS"
    --lr "$LR")
  step "$task-scratch" "$S" train "${ft[@]}" --model "$MODEL" --tokenizer "$OUT/pt/tokenizer.model" \
    --report "$OUT/$task-scratch.json"
  step "$task-init" "$S" train "${ft[@]}" --init "$OUT/pt" --report "$OUT/$task-init.json"
}

# fasttext TASK PEER [ARGS...]: the peer's one JSON line lands in $OUT/fasttext-TASK.out.
fasttext() {
  local task=$1 peer=$2
  shift 2
  step "fasttext-$task" "$PY" "$HERE/peers/$peer" "$@" --epoch "$FT_EPOCH" --threads "$THREADS"
}

# check_split TASK: strata's train/test/class counts (scratch run's log) must equal the fastText peer's, else the
# two are not on the same split and the table would compare different test sets.
check_split() {
  local task=$1 ours peer
  ours=$(strata_split "$OUT/$task-scratch.log")
  peer="$(jget "$OUT/fasttext-$task.out" train_rows) $(jget "$OUT/fasttext-$task.out" test_rows)"
  peer+=" $(jget "$OUT/fasttext-$task.out" classes)"
  if [[ $ours != "$peer" ]]; then
    echo "pretrain_bench: $task: strata's split (train test classes: $ours) differs from the peer's ($peer)" >&2
    exit 1
  fi
  SPLIT[$task]=$ours
}

# row TASK: one table row from the peer's JSON and the two strata reports.
row() {
  local task=$1 peer_json=$OUT/fasttext-$1.out
  local -a s
  read -ra s <<<"${SPLIT[$task]}"
  printf '%-16s %7s %8s %7s %9s %9s %15s %17s\n' "$task" "${s[2]}" "${s[0]}" "${s[1]}" \
    "$(f3 "$(jget "$peer_json" majority_accuracy)")" "$(f3 "$(jget "$peer_json" fasttext_accuracy)")" \
    "$(f3 "$(jget "$OUT/$task-scratch.json" eval_accuracy)")" "$(f3 "$(jget "$OUT/$task-init.json" eval_accuracy)")"
}

# ---- the run ------------------------------------------------------------------------------------------------------
echo "command: MODEL=$MODEL PT_STEPS=$PT_STEPS FT_STEPS=$FT_STEPS SEQ=$SEQ BATCH=$BATCH THREADS=$THREADS" \
  "EXECUTOR=$EXECUTOR VOCAB=$VOCAB LR=$LR HYP_DEPTH=$HYP_DEPTH HYP_MIN_SIZE=$HYP_MIN_SIZE FT_EPOCH=$FT_EPOCH" \
  "bench/pretrain_bench.sh $BUILD"
declare -A SPLIT

step hypernym-tsv "$PY" "$HERE/peers/wordnet_hypernym_tsv.py" "$OUT/hypernym.tsv" --depth "$HYP_DEPTH" \
  --min-size "$HYP_MIN_SIZE"
pretrain
t0=$SECONDS
finetune lexname wordnet:lexname
finetune hypernym "$OUT/hypernym.tsv"
FT_SECONDS=$((SECONDS - t0))
t0=$SECONDS
fasttext lexname fasttext_wordnet.py
fasttext hypernym fasttext_tsv.py "$OUT/hypernym.tsv"
FASTTEXT_SECONDS=$((SECONDS - t0))
check_split lexname
check_split hypernym
# The generator's own count of the rows strata will test on must agree too (its layout assumes strata's row keys).
[[ "$(jget "$OUT/hypernym-tsv.out" train_rows) $(jget "$OUT/hypernym-tsv.out" test_rows)" == \
  "$(cut -d' ' -f1-2 <<<"${SPLIT[hypernym]}")" ]] || {
  echo "pretrain_bench: the hypernym generator's split differs from strata's" >&2
  exit 1
}

tokens=$((PT_STEPS * BATCH * SEQ))
echo "pretrain $MODEL ($EXECUTOR executor): $PT_STEPS steps of $BATCH x $SEQ ($tokens token positions) on the" \
  "wordnet:lexname train glosses, $PT_SECONDS s"
echo "  MLM loss $(f3 "$(jget "$OUT/pt.json" first_loss)") -> $(f3 "$(jget "$OUT/pt.json" final_loss)");" \
  "held-out MLM loss $(f3 "$(jget "$OUT/pt.json" eval_mlm_loss)")," \
  "masked-token accuracy $(f3 "$(jget "$OUT/pt.json" eval_masked_accuracy)")"
echo "fine-tune: $FT_STEPS steps of $BATCH x $SEQ, lr $LR, seed 1, the pre-training tokenizer ($VOCAB pieces)," \
  "$FT_SECONDS s for all four runs; fastText supervised ($(jget "$OUT/fasttext-lexname.out" fasttext_args))," \
  "$FASTTEXT_SECONDS s for both; test accuracy:"
printf '%-16s %7s %8s %7s %9s %9s %15s %17s\n' task classes train test majority fastText "strata scratch" \
  "strata pre-trained"
row lexname
row hypernym
echo "(hypernym: WordNet noun glosses by depth-$HYP_DEPTH hypernym ancestor, classes of >= $HYP_MIN_SIZE synsets;" \
  "its test rows are WordNet-test-split synsets whose glosses pre-training never saw)"
