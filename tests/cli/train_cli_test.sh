# End to end: strata train / evaluate --model DIR / embed on real WordNet glosses (tiny model, a few steps), resume
# equivalence on synthetic data, embeddings that strata induce reads, and the exit codes for bad input.
source "$(dirname "$0")/lib.sh"
S=$STRATA
json_num() { grep -o "\"$1\": *[-0-9.e+]*" "$2" | head -1 | sed 's/.*: *//'; }  # json_num KEY FILE
same() { awk -v a="$1" -v b="$2" 'BEGIN{exit !((a-b)^2 < 1e-12)}' || fail "$3: $1 != $2"; }

for c in train embed; do expect_rc 0 "$c --help" -- $S $c --help; done

# Train a tiny model on real WordNet glosses: progress, checkpoint, report, log.
W="$WORK/wn"
expect_rc 0 "train wordnet" -- $S train --data wordnet:lexname --model tiny --steps 25 --batch 32 --micro-batch 16 \
  --seq-len 32 --vocab-size 1000 --lr 1e-3 --threads 2 --seed 3 --save "$W" --report "$WORK/wn.json" --log "$WORK/wn.jsonl"
expect_out "step 25/25" "train wordnet: progress"
expect_out "tok/s" "train wordnet: progress"
expect_out "truncated" "train wordnet: truncation is reported"
for f in config.json model.safetensors optimizer.safetensors tokenizer.model trainer_state.json; do
  [[ -s "$W/$f" ]] || fail "checkpoint lacks $f"
done
grep -q '"noun.animal"' "$W/config.json" || fail "config.json lacks the id2label names"
grep -q 'bert.encoder.layer.1.attention.self.query.weight' "$W/model.safetensors" || fail "model.safetensors lacks HF names"
for k in step_ms_median tokens_per_s gflops device_peak_bytes host_peak_bytes peak_rss_bytes tokens_per_step final_loss eval_accuracy; do
  grep -q "\"$k\"" "$WORK/wn.json" || fail "report lacks $k"
done
[[ $(json_num tokens_per_step "$WORK/wn.json") == 1024 ]] || fail "tokens_per_step should be 32 x 32"
[[ $(wc -l <"$WORK/wn.jsonl") -eq 25 ]] || fail "log should have 25 lines"
first=$(head -1 "$WORK/wn.jsonl" | grep -o '"loss":[0-9.e+-]*' | cut -d: -f2)
last=$(tail -1 "$WORK/wn.jsonl" | grep -o '"loss":[0-9.e+-]*' | cut -d: -f2)
awk -v a="$first" -v b="$last" 'BEGIN{exit !(b < a)}' || fail "train wordnet: loss did not fall ($first -> $last)"

# The saved model evaluates to the reported accuracy.
expect_rc 0 "evaluate --model DIR" -- $S evaluate --model "$W" --data wordnet:lexname --json "$WORK/ev.json" --threads 2
same "$(json_num accuracy "$WORK/ev.json")" "$(json_num eval_accuracy "$WORK/wn.json")" "evaluate after loading"
[[ $(json_num examples "$WORK/ev.json") == 11572 ]] || fail "evaluate: the WordNet test split has 11572 rows"

# Embeddings of the test split, readable by induce.
expect_rc 0 "embed" -- $S embed --model "$W" --data wordnet:lexname --split test --out "$WORK/e.npy" --labels-out "$WORK/l.txt"
[[ $(wc -l <"$WORK/l.txt") -eq 11572 ]] || fail "embed: one label per test row"
expect_rc 0 "induce on embeddings" -- $S induce --train "$WORK/e.npy" --labels "$WORK/l.txt" --out "$WORK/tree.json"
grep -q '"verb.motion"' "$WORK/tree.json" || fail "induce on embeddings: tree lacks a WordNet class"

# Stop and resume reproduce the uninterrupted run's losses exactly (dropout on).
SYN="synthetic:vocab=128,classes=5,n=300"
A=(--data "$SYN" --model tiny --layers 1 --seq-len 16 --batch 16 --micro-batch 4 --steps 24 --dropout 0.1 --threads 2 --quiet)
expect_rc 0 "train full" -- $S train "${A[@]}" --log "$WORK/full.jsonl"
expect_rc 0 "train stop-at" -- $S train "${A[@]}" --stop-at 10 --save "$WORK/syn" --log "$WORK/part.jsonl"
expect_rc 0 "train resume" -- $S train --resume "$WORK/syn" --log "$WORK/part.jsonl" --quiet
cmp -s <(grep -o '"loss":[^,]*' "$WORK/full.jsonl") <(grep -o '"loss":[^,]*' "$WORK/part.jsonl") \
  || fail "resume: losses differ from the uninterrupted run"
[[ $(wc -l <"$WORK/part.jsonl") -eq 24 ]] || fail "resume: the log should hold all 24 steps"
expect_rc 2 "resume with another lr" -- $S train --resume "$WORK/syn" --lr 0.1
expect_out "--lr" "resume with another lr"
expect_rc 2 "resume with another model" -- $S train --resume "$WORK/syn" --model tiny --layers 3
expect_out "bert.encoder.layer.1." "resume with another model"

# Bad input: exit 2 with what was expected and found; an impossible budget: exit 3.
expect_rc 2 "micro-batch not dividing" -- $S train "${A[@]}" --micro-batch 5
expect_out "1, 2, 4, 8, 16" "micro-batch not dividing"
printf '{"hidden_size": 100, "num_attention_heads": 3, "num_hidden_layers": 1, "intermediate_size": 64}\n' >"$WORK/bad.json"
expect_rc 2 "heads not dividing hidden" -- $S train "${A[@]}" --model "$WORK/bad.json"
expect_out "num_attention_heads" "heads not dividing hidden"
expect_rc 3 "device budget" -- $S train "${A[@]}" --device-memory 64KiB
expect_out "smallest budget that works is" "device budget"
printf 'text\tlabel\n' >"$WORK/empty.tsv"
expect_rc 2 "empty data set" -- $S train --data "$WORK/empty.tsv" --model tiny --steps 2
expect_out "empty.tsv" "empty data set"
touch "$WORK/afile"
expect_rc 2 "unwritable --save" -- $S train "${A[@]}" --save "$WORK/afile/ck"
expect_out "afile" "unwritable --save"
expect_rc 2 "text data on a model without tokenizer" -- $S evaluate --model "$WORK/syn" --data wordnet:lexname
expect_out "tokenizer" "text data on a model without tokenizer"
printf 'text\tlabel\nthe cat sat\tnoun.animal\nit flew away\tnoun.spaceship\n' >"$WORK/unseen.tsv"
expect_rc 2 "unseen label" -- $S evaluate --model "$W" --data "$WORK/unseen.tsv" --split all
expect_out "noun.spaceship" "unseen label"
cp -r "$W" "$WORK/broken"
head -c 2000 "$W/model.safetensors" >"$WORK/broken/model.safetensors"
expect_rc 2 "truncated safetensors" -- $S evaluate --model "$WORK/broken" --data wordnet:lexname
expect_out "model.safetensors" "truncated safetensors"
rm "$WORK/broken/tokenizer.model"
cp "$W/model.safetensors" "$WORK/broken/model.safetensors"
expect_rc 2 "missing tokenizer" -- $S embed --model "$WORK/broken" --data wordnet:lexname --out "$WORK/x.npy" --labels-out "$WORK/x.txt"
expect_out "tokenizer" "missing tokenizer"
[[ ! -e "$WORK/x.npy" ]] || fail "a failed embed must not leave an output file"
finish
