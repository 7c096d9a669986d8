# End to end: strata pretrain on a one-text-a-line corpus (the loss falls, the held-out MLM loss and masked-token
# accuracy are reported, the same seed gives the same run), its checkpoint is a BertForMaskedLM by name that
# train --init fine-tunes from; a vocabulary without [MASK] and out-of-range flags exit 2.
source "$(dirname "$0")/lib.sh"
S=$STRATA
json_num() { grep -o "\"$1\": *[-0-9.e+]*" "$2" | head -1 | sed 's/.*: *//'; }
words=(the a cat dog sat ran on under mat rug big small red blue quick slow bird fish swam flew tree lake hill)
for i in $(seq 1 400); do
  a=${words[$((i % 23))]} b=${words[$(((i * 7) % 23))]} c=${words[$(((i * 11) % 23))]}
  echo "the $a $b sat on the $c and the $b ran"
done >"$WORK/corpus.txt"
run=(--data "$WORK/corpus.txt" --model tiny --steps 40 --batch 16 --seq-len 16 --vocab-size 60 --lr 3e-3 --threads 2 --seed 4)

expect_rc 0 "pretrain" -- $S pretrain "${run[@]}" --save "$WORK/pt" --report "$WORK/pt.json"
expect_out "step 40/40" "pretrain: progress"
expect_out "masked-token accuracy" "pretrain: held-out accuracy is reported"
for k in eval_mlm_loss eval_masked_accuracy eval_predicted_tokens first_loss final_loss; do
  grep -q "\"$k\"" "$WORK/pt.json" || fail "pretrain report lacks $k"
done
awk -v a="$(json_num first_loss "$WORK/pt.json")" -v b="$(json_num final_loss "$WORK/pt.json")" 'BEGIN{exit !(b < a - 0.5)}' ||
  fail "pretrain: the MLM loss did not fall"
expect_ge "$(json_num eval_predicted_tokens "$WORK/pt.json")" 20 "pretrain: held-out tokens are scored"
grep -q '"BertForMaskedLM"' "$WORK/pt/config.json" || fail "pretrain: config.json should name BertForMaskedLM"
for name in cls.predictions.bias cls.predictions.transform.LayerNorm.weight bert.encoder.layer.1.output.dense.weight; do
  grep -q "$name" "$WORK/pt/model.safetensors" || fail "pretrain checkpoint lacks $name"
done
grep -q 'classifier.weight\|bert.pooler' "$WORK/pt/model.safetensors" && fail "pretrain checkpoint should hold no task head"
[[ -s "$WORK/pt/tokenizer.model" ]] || fail "pretrain checkpoint lacks its tokenizer"

expect_rc 0 "pretrain again, same seed" -- $S pretrain "${run[@]}" --report "$WORK/pt2.json" --quiet
[[ "$(json_num final_loss "$WORK/pt.json")" == "$(json_num final_loss "$WORK/pt2.json")" ]] ||
  fail "pretrain: the same seed should give the same losses"
[[ "$(json_num eval_mlm_loss "$WORK/pt.json")" == "$(json_num eval_mlm_loss "$WORK/pt2.json")" ]] ||
  fail "pretrain: the same seed should give the same held-out loss"

{ printf 'text\tlabel\n'; for i in $(seq 1 80); do
    if ((i % 2)); then echo -e "the cat sat on the mat\tcalm"; else echo -e "the dog ran under the big tree\tbusy"; fi
  done; } >"$WORK/task.tsv"
expect_rc 0 "fine-tune from the pre-trained directory" -- $S train --init "$WORK/pt" --data "$WORK/task.tsv" \
  --steps 5 --batch 8 --seq-len 16 --threads 2
expect_out "newly initialised: bert.pooler.dense.weight, bert.pooler.dense.bias, classifier.weight, classifier.bias" \
  "fine-tune: pooler and classifier are new"
expect_out "unused: cls.predictions.bias" "fine-tune: the MLM head is unused"

# L2L pre-training (one layer on the device, the tied decoder streamed by vocabulary chunks): the baseline's losses
# without dropout, a checkpoint train --init takes, and a device budget under its plan is exit 3 naming the minimum.
nodrop=(--data "$WORK/corpus.txt" --model tiny --steps 12 --batch 16 --seq-len 16 --vocab-size 60 --lr 3e-3 --threads 2
  --seed 4 --dropout 0 --quiet)
expect_rc 0 "pretrain, baseline, no dropout" -- $S pretrain "${nodrop[@]}" --report "$WORK/b.json"
expect_rc 0 "pretrain, l2l" -- $S pretrain "${nodrop[@]}" --executor l2l --micro-batch 4 --save "$WORK/pt_l2l" \
  --report "$WORK/l.json"
/usr/bin/python3 - "$WORK/b.json" "$WORK/l.json" <<'PY' || fail "pretrain: l2l and baseline losses differ"
import json, sys
b, l = (json.load(open(p)) for p in sys.argv[1:])
assert l["executor"] == "l2l" and b["executor"] == "baseline"
d = max(abs(x - y) for x, y in zip(b["losses"], l["losses"]))
assert len(b["losses"]) == len(l["losses"]) == 12 and d < 1e-5, d
assert abs(b["eval_mlm_loss"] - l["eval_mlm_loss"]) < 1e-5 and b["eval_masked_accuracy"] == l["eval_masked_accuracy"]
assert l["device_peak_bytes"] < b["device_peak_bytes"], (l["device_peak_bytes"], b["device_peak_bytes"])
PY
expect_rc 0 "pretrain, l2l, saved activations stashed" -- $S pretrain "${nodrop[@]}" --executor l2l --micro-batch 4 \
  --recompute off --report "$WORK/l_off.json"
/usr/bin/python3 - "$WORK/b.json" "$WORK/l_off.json" <<'PY' || fail "pretrain: l2l --recompute off drifts from the baseline"
import json, sys
b, l = (json.load(open(p)) for p in sys.argv[1:])
assert max(abs(x - y) for x, y in zip(b["losses"], l["losses"])) < 1e-5
PY
expect_rc 3 "pretrain, l2l, stash budget too small" -- $S pretrain "${nodrop[@]}" --executor l2l --micro-batch 4 \
  --stash-memory 4KiB
expect_out "--stash-memory" "pretrain: the stash budget is named"
expect_rc 0 "fine-tune from the l2l pre-trained directory" -- $S train --init "$WORK/pt_l2l" --data "$WORK/task.tsv" \
  --steps 3 --batch 8 --seq-len 16 --threads 2 --quiet
expect_rc 3 "pretrain, l2l, device budget too small" -- $S pretrain "${nodrop[@]}" --executor l2l --micro-batch 4 \
  --device-memory 64KiB
expect_out "smallest budget that works" "pretrain: the exit-3 message names the minimum"
expect_out "MLM decoder" "pretrain: the decoder is part of the plan"
expect_rc 2 "pretrain, baseline with micro-batches" -- $S pretrain "${nodrop[@]}" --micro-batch 4
expect_out "micro-batches are l2l" "pretrain: the baseline refuses micro-batches"

# Checkpoints and --resume: a run stopped at step 5 (checkpoints every 2 steps) and resumed gives the uninterrupted
# run's losses and held-out loss bit for bit (dropout on: masks are keyed by seed and step); the resumed run may
# switch executors; options that fix the trajectory cannot change.
expect_rc 0 "pretrain, stopped at step 5" -- $S pretrain "${run[@]}" --stop-at 5 --save-every 2 --save "$WORK/part" \
  --log "$WORK/part.jsonl" --quiet
grep -q '"steps_done": 5' "$WORK/part/trainer_state.json" || fail "pretrain --stop-at 5: the checkpoint is at step 5"
[[ $(wc -l <"$WORK/part.jsonl") -eq 5 ]] || fail "pretrain --log: one line per step"
expect_rc 0 "pretrain --resume" -- $S pretrain --resume "$WORK/part" --report "$WORK/resumed.json" --quiet
/usr/bin/python3 - "$WORK/pt.json" "$WORK/resumed.json" <<'PY' || fail "pretrain --resume: not the uninterrupted run"
import json, sys
full, resumed = (json.load(open(p)) for p in sys.argv[1:])
assert resumed["first_step"] == 5 and full["losses"][5:] == resumed["losses"], (full["losses"], resumed["losses"])
assert full["eval_mlm_loss"] == resumed["eval_mlm_loss"]
PY
# An l2l run with dropout, resumed with --resume alone, runs on as it ran (executor and micro-batches from the
# checkpoint, so the same dropout masks): the uninterrupted run's losses bit for bit. (Resumed as the baseline, one
# micro-batch, its first step's loss moved by 0.02.)
drop_l2l=(--data "$WORK/corpus.txt" --model tiny --steps 10 --batch 16 --seq-len 16 --vocab-size 60 --lr 3e-3
  --threads 2 --seed 4 --dropout 0.1 --executor l2l --micro-batch 4 --quiet)
expect_rc 0 "pretrain, l2l, dropout" -- $S pretrain "${drop_l2l[@]}" --report "$WORK/ld.json"
expect_rc 0 "pretrain, l2l, dropout, stopped at step 4" -- $S pretrain "${drop_l2l[@]}" --stop-at 4 \
  --save "$WORK/part_ld"
grep -q '"executor": "l2l"' "$WORK/part_ld/trainer_state.json" || fail "pretrain: the checkpoint names its executor"
expect_rc 0 "pretrain --resume of the l2l run" -- $S pretrain --resume "$WORK/part_ld" --report "$WORK/ld_res.json" \
  --quiet
/usr/bin/python3 - "$WORK/ld.json" "$WORK/ld_res.json" <<'PY' || fail "pretrain --resume: the l2l run does not run on"
import json, sys
full, resumed = (json.load(open(p)) for p in sys.argv[1:])
assert resumed["first_step"] == 4 and full["losses"][4:] == resumed["losses"], (full["losses"], resumed["losses"])
PY
expect_rc 0 "pretrain, baseline, stopped at step 6, no dropout" -- $S pretrain "${nodrop[@]}" --stop-at 6 \
  --save "$WORK/part0" --quiet
expect_rc 0 "pretrain --resume under l2l" -- $S pretrain --resume "$WORK/part0" --executor l2l --micro-batch 8 \
  --report "$WORK/resumed_l2l.json" --quiet
/usr/bin/python3 - "$WORK/b.json" "$WORK/resumed_l2l.json" <<'PY' || fail "pretrain: baseline -> l2l resume drifts"
import json, sys
full, resumed = (json.load(open(p)) for p in sys.argv[1:])
assert max(abs(x - y) for x, y in zip(full["losses"][6:], resumed["losses"])) < 1e-5
PY
expect_rc 2 "pretrain --resume with another --lr" -- $S pretrain --resume "$WORK/part" --lr 1e-3
expect_out "--lr 0.001 differs from the run's" "pretrain --resume: the changed option is named"
expect_rc 0 "a train checkpoint" -- $S train --data "$WORK/task.tsv" --model tiny --steps 1 --batch 8 --seq-len 16 \
  --threads 2 --save "$WORK/cls" --quiet
expect_rc 2 "pretrain --resume of a train checkpoint" -- $S pretrain --resume "$WORK/cls"
expect_out "not a pretrain checkpoint" "pretrain --resume: a train checkpoint is refused"
expect_rc 2 "pretrain --save-every without --save" -- $S pretrain "${run[@]}" --save-every 2

printf '%s\n' '[PAD]' '[UNK]' '[CLS]' '[SEP]' the cat >"$WORK/nomask.txt"
expect_rc 2 "vocabulary without [MASK]" -- $S pretrain "${run[@]}" --tokenizer "$WORK/nomask.txt"
expect_out "no [MASK] token" "the missing [MASK] is named"
expect_rc 2 "--mask-prob out of range" -- $S pretrain "${run[@]}" --mask-prob 1.5
expect_out "mask-prob" "the bad flag is named"
finish
