# End to end: strata train --init from Hugging Face BERT directories (the mirror's fixtures in tests/data/reference,
# given a WordPiece vocab.txt): both prefix styles fine-tune on a .tsv, the checkpoint carries the vocabulary and
# evaluates; missing or misshapen tensors, a bad vocab.txt and conflicting flags exit 2 naming what is wrong.
source "$(dirname "$0")/lib.sh"
S=$STRATA
REF="$STRATA_TEST_DATA/reference"
WORDS=(the a cat dog sat ran on under mat rug big small red blue quick slow bird fish swam flew tree lake
       hill road car bus '##s' '##ed' , . and or not very over)
make_hf() {  # make_hf SRC DEST: the fixture's config.json + model.safetensors, and a 40-token vocab.txt
  mkdir -p "$2" && cp "$REF/$1/config.json" "$REF/$1/model.safetensors" "$2/"
  { printf '%s\n' '[PAD]' '[UNK]' '[CLS]' '[SEP]' '[MASK]' "${WORDS[@]}"; } >"$2/vocab.txt"
  [[ $(wc -l <"$2/vocab.txt") -eq 40 ]] || fail "make_hf: vocab.txt should have 40 tokens (config vocab_size)"
}
make_hf hf_pretraining "$WORK/hf"
make_hf hf_bertmodel "$WORK/bare"
{
  printf 'text\tlabel\n'
  for i in $(seq 1 60); do
    case $((i % 3)) in
      0) printf 'The cat sat on the mat.\tanimal\n' ;;
      1) printf 'A quick red car ran on the road\tvehicle\n' ;;
      2) printf 'Birds flew over the big lake, and fish swam\tnature\n' ;;
    esac
  done
} >"$WORK/task.tsv"
common=(--data "$WORK/task.tsv" --steps 6 --batch 8 --micro-batch 4 --seq-len 16 --threads 2 --seed 1 --lr 1e-3)

expect_rc 0 "init from BertForPreTraining names" -- $S train --init "$WORK/hf" "${common[@]}" --save "$WORK/ft"
expect_out "tensors loaded" "init: the load is reported"
expect_out "newly initialised: classifier.weight, classifier.bias" "init: the new head is named"
expect_out "unused: cls.predictions.bias" "init: pre-training heads are listed as unused"
expect_out "step 6/6" "init: trains"
[[ -s "$WORK/ft/vocab.txt" && ! -e "$WORK/ft/tokenizer.model" ]] || fail "init: the checkpoint should carry vocab.txt"
grep -q '"vehicle"' "$WORK/ft/config.json" || fail "init: config.json lacks the task's labels"
grep -q '"num_hidden_layers": 2' "$WORK/ft/config.json" || fail "init: the architecture is the pre-trained one"
expect_rc 0 "evaluate the fine-tuned model" -- $S evaluate --model "$WORK/ft" --data "$WORK/task.tsv" --threads 2
# The fine-tuned checkpoint is itself a valid --init (its classifier is replaced, its pooler kept).
expect_rc 0 "init from strata's own checkpoint" -- $S train --init "$WORK/ft" "${common[@]}"
expect_out "newly initialised: classifier.weight, classifier.bias; unused: classifier.bias, classifier.weight" \
  "init from strata: the old head is unused"

expect_rc 0 "init from BertModel names" -- $S train --init "$WORK/bare" "${common[@]}" --executor l2l
expect_out "without the bert. prefix" "init: bare names are recognised"

# Bad pre-trained directories and flags.
cp -r "$WORK/hf" "$WORK/deep" && sed -i 's/"num_hidden_layers": 2/"num_hidden_layers": 3/' "$WORK/deep/config.json"
expect_rc 2 "missing tensors" -- $S train --init "$WORK/deep" "${common[@]}"
expect_out "missing tensors: bert.encoder.layer.2.attention.self.query.weight" "missing tensors are named"
cp -r "$WORK/bare" "$WORK/wide" && sed -i 's/"intermediate_size": 32/"intermediate_size": 48/' "$WORK/wide/config.json"
expect_rc 2 "misshapen tensors" -- $S train --init "$WORK/wide" "${common[@]}"
expect_out "encoder.layer.0.intermediate.dense.weight expected [48, 16], found [32, 16]" "misshapen tensors are named"
cp -r "$WORK/hf" "$WORK/dup" && echo "cat" >>"$WORK/dup/vocab.txt"
expect_rc 2 "duplicate vocabulary token" -- $S train --init "$WORK/dup" "${common[@]}"
expect_out "vocab.txt:41: duplicate token 'cat'" "the duplicate is named with its line"
mkdir -p "$WORK/novocab" && cp "$WORK/hf/config.json" "$WORK/hf/model.safetensors" "$WORK/novocab/"
expect_rc 2 "text data without the pre-trained vocabulary" -- $S train --init "$WORK/novocab" "${common[@]}"
expect_out "no vocab.txt or tokenizer.model" "the missing vocabulary is named"
expect_rc 2 "--init with --model" -- $S train --init "$WORK/hf" --model tiny "${common[@]}"
expect_out "fixes the architecture" "--init and --model conflict"
expect_rc 2 "--init nowhere" -- $S train --init "$WORK/nowhere" --data synthetic:vocab=40,classes=3,n=64 --steps 1
expect_out "not a directory" "--init names a missing directory"
finish
