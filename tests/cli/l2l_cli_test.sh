# End to end for the L2L executor: same losses as the baseline from the CLI, the report's EPS fields, the budget
# planner's exit 3, crash safety (SIGKILL between checkpoints, resume, the uninterrupted run's losses), and bf16
# device storage on real WordNet glosses within a point of fp32.
source "$(dirname "$0")/lib.sh"
S=$STRATA
json_num() { grep -o "\"$1\": *[-0-9.e+]*" "$2" | head -1 | sed 's/.*: *//'; }
losses() { grep -o '"loss":[^,]*' "$1"; }

SYN="synthetic:vocab=256,classes=6,n=512"
A=(--data "$SYN" --model tiny --layers 3 --seq-len 24 --batch 16 --micro-batch 4 --steps 20 --dropout 0.1 --threads 2 --quiet)

# L2L reproduces the baseline's loss trajectory and reports its param-server figures.
expect_rc 0 "baseline" -- $S train "${A[@]}" --log "$WORK/base.jsonl" --report "$WORK/base.json"
expect_rc 0 "l2l" -- $S train "${A[@]}" --executor l2l --log "$WORK/l2l.jsonl" --report "$WORK/l2l.json"
cmp -s <(losses "$WORK/base.jsonl") <(losses "$WORK/l2l.jsonl") || fail "l2l: losses differ from the baseline"
for k in eps_bytes stash_peak_bytes bytes_to_device bytes_from_device eager eps_overlap; do
  grep -q "\"$k\"" "$WORK/l2l.json" || fail "l2l report lacks $k"
done
grep -q '"eager": false' "$WORK/l2l.json" || fail "with --clip 1.0 the EPS cannot be eager"
expect_rc 0 "l2l eager" -- $S train "${A[@]}" --executor l2l --clip 0 --report "$WORK/eager.json"
grep -q '"eager": true' "$WORK/eager.json" || fail "with --clip 0 the EPS is eager"
# --recompute auto stashes every layer's saved activations here (plenty of host memory); the paper's recompute
# schedule gives the same losses; a --stash-memory too small for even the layer outputs exits 3 naming the minimum,
# under which auto recomputes every layer.
grep -q '"recomputed_layers": 0' "$WORK/l2l.json" || fail "auto should stash the saved activations of a tiny model"
expect_rc 0 "l2l recompute on" -- $S train "${A[@]}" --executor l2l --recompute on --log "$WORK/on.jsonl" --report "$WORK/on.json"
cmp -s <(losses "$WORK/base.jsonl") <(losses "$WORK/on.jsonl") || fail "l2l --recompute on: losses differ"
grep -q '"stashed_layers": 0' "$WORK/on.json" || fail "--recompute on should recompute every layer"
expect_rc 3 "stash budget too small" -- $S train "${A[@]}" --executor l2l --stash-memory 1KiB
expect_out "--stash-memory is 1.0 KiB; the smallest budget that works is" "stash budget too small"
smin=$(grep -o 'smallest budget that works is [0-9]* bytes' "$WORK/out" | awk '{print $6}')
expect_rc 0 "l2l at the named stash minimum" -- $S train "${A[@]}" --executor l2l --stash-memory "$smin" --steps 2 --report "$WORK/smin.json"
grep -q '"stashed_layers": 0' "$WORK/smin.json" || fail "auto should recompute under the minimum stash budget"
expect_rc 2 "bad stash memory" -- $S train "${A[@]}" --executor l2l --stash-memory lots
expect_out "--stash-memory" "bad stash memory"
expect_rc 2 "bad recompute" -- $S train "${A[@]}" --executor l2l --recompute maybe

bp=$(json_num device_peak_bytes "$WORK/base.json"); lp=$(json_num device_peak_bytes "$WORK/l2l.json")
awk -v b="$bp" -v l="$lp" 'BEGIN{exit !(l < b)}' || fail "l2l device peak $lp not below the baseline's $bp"

# Budget: exit 3 naming the smallest budget; that budget then works; auto picks a micro-batch.
expect_rc 3 "l2l budget too small" -- $S train "${A[@]}" --executor l2l --device-memory 100KiB
expect_out "smallest budget that works is" "l2l budget too small"
min=$(grep -o 'smallest budget that works is [0-9]* bytes' "$WORK/out" | awk '{print $6}')
expect_rc 0 "l2l at the named minimum" -- $S train "${A[@]}" --executor l2l --device-memory "$min" --steps 2
expect_rc 0 "l2l micro-batch auto" -- $S train "${A[@]}" --executor l2l --micro-batch auto --device-memory "$min" --steps 2 --report "$WORK/auto.json"
[[ $(json_num micro_batch "$WORK/auto.json") -ge 4 ]] || fail "auto should pick at least the micro-batch the minimum was named for"
expect_rc 3 "baseline under the l2l budget" -- $S train "${A[@]}" --layers 12 --device-memory "$min"
expect_rc 0 "l2l, 12 layers, same budget" -- $S train "${A[@]}" --layers 12 --executor l2l --device-memory "$min" --steps 2
expect_rc 2 "micro-batch not dividing" -- $S train "${A[@]}" --executor l2l --micro-batch 3
expect_out "values that do: 1, 2, 4, 8, 16" "micro-batch not dividing"
expect_rc 2 "bf16 on the baseline" -- $S train "${A[@]}" --device-dtype bf16
expect_rc 2 "bad stash" -- $S train "${A[@]}" --executor l2l --stash gpu

# Crash safety: SIGKILL between checkpoints, resume, and the losses from the checkpoint on are the uninterrupted
# run's; the checkpoint directory is never half-written.
C=(--data "$SYN" --model tiny --layers 4 --seq-len 64 --batch 32 --micro-batch 8 --steps 120 --threads 2 --quiet --executor l2l)
expect_rc 0 "uninterrupted" -- $S train "${C[@]}" --log "$WORK/full.jsonl"
$S train "${C[@]}" --save "$WORK/ck" --save-every 10 --log "$WORK/crash.jsonl" >"$WORK/crash.out" 2>&1 &
pid=$!
for _ in $(seq 1 600); do
  s=$(json_num step "$WORK/ck/trainer_state.json" 2>/dev/null)
  [[ -n "$s" && "$s" -ge 30 ]] && break
  sleep 0.05
done
kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
s=$(json_num step "$WORK/ck/trainer_state.json")
[[ -n "$s" && "$s" -lt 120 ]] || fail "crash: the run should have been killed mid-way (checkpoint at step '$s')"
expect_rc 0 "resume after SIGKILL" -- $S train --resume "$WORK/ck" --log "$WORK/crash.jsonl" --quiet
cmp -s <(losses "$WORK/full.jsonl") <(losses "$WORK/crash.jsonl") || fail "crash: resumed losses differ from the uninterrupted run"
[[ -z $(ls -d "$WORK"/ck.tmp.* 2>/dev/null) ]] || fail "crash: a temporary checkpoint directory was left behind"

# bf16 device storage on WordNet: test accuracy within one point of fp32 for the same steps.
W=(--data wordnet:lexname --model tiny --steps 600 --batch 32 --micro-batch 16 --seq-len 32 --vocab-size 2000 --lr 5e-4 --threads 2 --seed 4 --quiet --executor l2l)
expect_rc 0 "wordnet l2l fp32" -- $S train "${W[@]}" --report "$WORK/f32.json"
expect_rc 0 "wordnet l2l bf16" -- $S train "${W[@]}" --device-dtype bf16 --report "$WORK/bf16.json"
a32=$(json_num eval_accuracy "$WORK/f32.json"); a16=$(json_num eval_accuracy "$WORK/bf16.json")
echo "wordnet tiny 600 steps: fp32 $a32, bf16 $a16"
awk -v a="$a32" -v b="$a16" 'BEGIN{d=a-b; if (d<0) d=-d; exit !(d <= 0.01)}' || fail "bf16 accuracy $a16 not within 1 point of fp32 $a32"
expect_ge "$a32" "$(json_num majority_accuracy "$WORK/f32.json")" "wordnet: better than the majority class"
finish
