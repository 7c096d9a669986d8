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

printf '%s\n' '[PAD]' '[UNK]' '[CLS]' '[SEP]' the cat >"$WORK/nomask.txt"
expect_rc 2 "vocabulary without [MASK]" -- $S pretrain "${run[@]}" --tokenizer "$WORK/nomask.txt"
expect_out "no [MASK] token" "the missing [MASK] is named"
expect_rc 2 "--mask-prob out of range" -- $S pretrain "${run[@]}" --mask-prob 1.5
expect_out "mask-prob" "the bad flag is named"
finish
