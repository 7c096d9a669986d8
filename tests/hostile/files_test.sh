# Hostile files against the real CLI: deeply nested JSON in every file strata parses as JSON, wrong types and
# absurd sizes in checkpoint files, gzip bombs and a 10 MB text line. Each command runs under `timeout 10` and
# `prlimit --as` (1.5 GiB); the suite asserts its exit code, that the message names the file and the place, that
# the message is short (values quoted, never dumped), and that outputs written before are intact.
source "$(dirname "$0")/../cli/lib.sh"
S=$STRATA
export STRATA_THREADS=2
PY=/usr/bin/python3
W=$WORK
H=$W/h
LIMIT_AS=$((1536 * 1024 * 1024))
command -v prlimit >/dev/null && command -v timeout >/dev/null || { echo "skip: needs prlimit and timeout"; exit 77; }

# hostile WANT_RC DESC -- command...: bounded in time and address space; output kept in $WORK/out
hostile() {
  local want=$1 desc=$2; shift 3
  local t0 t1 rc
  t0=$(date +%s%N)
  timeout -s KILL 10 prlimit --as=$LIMIT_AS -- "$@" >"$WORK/out" 2>&1
  rc=$?
  t1=$(date +%s%N)
  if [[ $rc -eq 137 ]]; then
    fail "$desc: killed after 10 s"
  elif [[ $rc -ne $want ]]; then
    fail "$desc: exit $rc, expected $want"
    sed 's/^/    /' "$WORK/out" | cut -c1-300 | tail -8 >&2
  fi
  local bytes
  bytes=$(wc -c <"$WORK/out")
  ((bytes < 4000)) || fail "$desc: $bytes bytes of output (a value was dumped, not quoted)"
  echo "  $desc: exit $rc in $(((t1 - t0) / 1000000)) ms"
}
# names FILE PLACE DESC: the last message names the file and the place (field, line, tensor, limit)
names() {
  expect_out "$1" "$3"
  expect_out "$2" "$3"
}

# A small text checkpoint; every hostile checkpoint is a copy of it with one file replaced.
"$PY" - "$W/small.jsonl" <<'PYEOF'
import random, sys
random.seed(0)
a = "cat dog bird fish horse cow sheep goat".split()
b = "red blue green yellow black white pink grey".split()
with open(sys.argv[1], "w") as f:
    for i in range(60):
        ws = a if i % 2 == 0 else b
        f.write('{"text": "%s", "label": "%s"}\n' % (" ".join(random.choice(ws) for _ in range(6)),
                                                    "animal" if i % 2 == 0 else "colour"))
PYEOF
expect_rc 0 "train the base checkpoint" -- $S train --data "$W/small.jsonl" --model tiny --layers 1 --steps 2 \
  --batch 8 --micro-batch 8 --seq-len 16 --vocab-size 32 --save "$W/ck" --quiet
"$PY" "$(dirname "$0")/make_files.py" "$H" "$W/ck" || { fail "generating the hostile files"; finish; }

# Outputs written before each command; a failed command must leave them as they were.
echo "earlier embeddings" >"$W/prior.npy"
echo "earlier labels" >"$W/prior.txt"
echo "earlier tree" >"$W/prior.json"
printf 'a,b,label\n0,0,x\n1,1,y\n0,1,x\n1,0,y\n0,0,x\n1,1,y\n' >"$W/small.csv"
expect_rc 0 "fit a flat model" -- $S fit --train "$W/small.csv" --tree flat --trees 3 --out "$W/prior.strata"
echo "earlier predictions" >"$W/prior.csv"
for f in prior.npy prior.txt prior.json prior.strata prior.csv; do cp "$W/$f" "$W/$f.orig"; done
intact() {
  local f
  for f in prior.npy prior.txt prior.json prior.strata prior.csv; do
    cmp -s "$W/$f" "$W/$f.orig" || fail "$1: replaced the earlier $f"
  done
}
embed() { hostile "$1" "$2" -- $S embed --model "$3" --data "$W/small.jsonl" --out "$W/prior.npy" \
  --labels-out "$W/prior.txt"; }
# resume CK: trains on from CK (saving into it); CK must be unchanged after a failure
resume() {
  local sum
  sum=$(cat "$3"/* | md5sum)
  hostile "$1" "$2" -- $S train --resume "$3" --steps 4 --quiet
  [[ $(cat "$3"/* | md5sum) == "$sum" ]] || fail "$2: the checkpoint changed"
}

echo "class 1: deep nesting"
hostile 2 "label tree 50000 levels deep" -- $S fit --train "$W/small.csv" --tree "$H/deep-tree.json" \
  --out "$W/prior.strata"
names "deep-tree.json" "deeper than the limit of 10000 levels" "deep tree"
hostile 2 "label tree 9000 levels deep, bad innermost leaf" -- $S fit --train "$W/small.csv" \
  --tree "$H/deep-tree-badleaf.json" --out "$W/prior.strata"
names "deep-tree-badleaf.json" "(8992 more levels)" "deep bad leaf"
expect_out "children[1]: class 'zz' is not in \"classes\"" "deep bad leaf"
hostile 2 "jsonl label nested 10^5 deep" -- $S train --data "$H/deep-label.jsonl" --model tiny --steps 1
names "deep-label.jsonl:1" "nested deeper than the limit of 64 levels" "deep jsonl label"
hostile 2 "jsonl text nested 10^5 deep" -- $S embed --model "$W/ck" --data "$H/deep-text.jsonl" \
  --out "$W/prior.npy" --labels-out "$W/prior.txt"
names "deep-text.jsonl:4" "nested deeper than the limit" "deep jsonl text"
hostile 2 "jsonl label a 10^5-element array" -- $S train --data "$H/flat-huge-label.jsonl" --model tiny --steps 1
names "flat-huge-label.jsonl:1" '"label" must be a string or an integer, found [123456789,' "huge label"
embed 2 "safetensors shape nested 10^5 deep" "$H/ck-deep-shape"
names "ck-deep-shape/model.safetensors" "nests JSON deeper than the limit of 64" "deep shape"
embed 2 "safetensors metadata nested 10^5 deep" "$H/ck-deep-metadata"
names "ck-deep-metadata/model.safetensors" "deeper than the limit" "deep metadata"
embed 2 "config.json field nested 10^5 deep" "$H/ck-deep-config"
names "ck-deep-config/config.json" "nested deeper than the limit of 64 levels" "deep config"
resume 2 "trainer_state.json nested 10^5 deep" "$H/ck-deep-state"
names "ck-deep-state/trainer_state.json" "nested deeper than the limit" "deep state"
embed 2 "trainer_state.json nested 10^5 deep (embed)" "$H/ck-deep-state"
names "ck-deep-state/trainer_state.json" "nested deeper than the limit" "deep state (embed)"
# a fitted model whose embedded label tree (a length-prefixed JSON string) is replaced by a 50000-level one
"$PY" - "$W/prior.strata" "$H/deep-tree.json" "$H/deep-tree.strata" <<'PYEOF'
import struct, sys
model, tree, out = open(sys.argv[1], "rb").read(), open(sys.argv[2], "rb").read(), sys.argv[3]
at = model.rindex(b"{", 0, model.index(b'"classes"'))
n = struct.unpack("<Q", model[at - 8:at])[0]
open(out, "wb").write(model[:at - 8] + struct.pack("<Q", len(tree)) + tree + model[at + n:])
PYEOF
hostile 2 "model file with a 50000-level tree" -- $S predict --model "$H/deep-tree.strata" --data "$W/small.csv" \
  --out "$W/prior.csv"
names "deep-tree.strata: embedded label tree" "deeper than the limit of 10000 levels" "deep model tree"
intact "class 1"

echo "class 3: wrong types and inconsistent values in checkpoint files"
resume 2 "options as a string" "$H/ck-options-string"
names "ck-options-string/trainer_state.json" "\"options\": expected a JSON object, found string" "options string"
embed 2 "seq-len as text" "$H/ck-seqlen-text"
names "ck-seqlen-text/trainer_state.json" "'seq-len' must be an integer" "seq-len text"
resume 2 "seq-len as text (resume)" "$H/ck-seqlen-text"
names "ck-seqlen-text/trainer_state.json" "'seq-len' must be an integer" "seq-len text (resume)"
embed 2 "seq-len beyond the positions" "$H/ck-seqlen-huge"
names "ck-seqlen-huge/trainer_state.json" "exceeds max_position_embeddings" "seq-len huge"
resume 2 "seed a fraction" "$H/ck-seed-float"
names "ck-seed-float/trainer_state.json" "'seed' must be an integer" "seed float"
resume 2 "step as a string" "$H/ck-step-string"
names "ck-step-string/trainer_state.json" '"step" must be a non-negative integer' "step string"
resume 2 "more updates than steps" "$H/ck-updates-ahead"
names "ck-updates-ahead/trainer_state.json" '"updates" 99 exceeds "step" 2' "updates ahead"
embed 2 "trainer state an array" "$H/ck-state-array"
names "ck-state-array/trainer_state.json" "expected a JSON object, found array" "state array"
embed 2 "hidden_size as text" "$H/ck-hidden-string"
names "ck-hidden-string/config.json" '"hidden_size" must be an integer, found "128"' "hidden string"
embed 2 "hidden_act a number" "$H/ck-act-number"
names "ck-act-number/config.json" '"hidden_act" must be a string, found 5' "act number"
embed 2 "layer_norm_eps beyond float" "$H/ck-eps-huge"
names "ck-eps-huge/config.json" '"layer_norm_eps" is out of range' "eps huge"
embed 2 "safetensors shape entries as text" "$H/ck-shape-string"
names "ck-shape-string/model.safetensors" 'shape entries must be non-negative integers, found "4"' "shape string"
embed 2 "tokenizer.model garbage" "$H/ck-tokenizer-garbage"
names "ck-tokenizer-garbage/tokenizer.model" "not a SentencePiece model" "tokenizer garbage"
# another run's tokenizer (42 pieces) in a checkpoint whose embedding table has 32 rows
expect_rc 0 "train a checkpoint with a larger vocabulary" -- $S train --data "$W/small.jsonl" --model tiny --layers 1 \
  --steps 1 --batch 8 --micro-batch 8 --seq-len 16 --vocab-size 64 --save "$W/ck64" --quiet
cp -r "$W/ck" "$H/ck-tokenizer-other" && cp "$W/ck64/tokenizer.model" "$H/ck-tokenizer-other/"
embed 2 "tokenizer of another model" "$H/ck-tokenizer-other"
names "ck-tokenizer-other/tokenizer.model" "pieces, more than vocab_size 32 in" "tokenizer other"
intact "class 3"

echo "class 4: sizes claiming more memory than the files hold"
embed 2 "num_hidden_layers 10^6" "$H/ck-layers-1e6"
names "ck-layers-1e6/config.json" "num_hidden_layers 1000000 exceeds the limit of 1024" "layers 1e6"
resume 2 "num_hidden_layers 10^6 (resume)" "$H/ck-layers-1e6"
names "ck-layers-1e6/config.json" "num_hidden_layers 1000000 exceeds the limit" "layers 1e6 (resume)"
embed 2 "vocab_size 2^31-1" "$H/ck-vocab-2g"
names "ck-vocab-2g/config.json" "vocab_size 2147483647 exceeds the limit of 16777216" "vocab 2^31-1"
embed 2 "hidden_size 2^30" "$H/ck-hidden-2p30"
names "ck-hidden-2p30/config.json" "hidden_size 1073741824 exceeds the limit of 65536" "hidden 2^30"
embed 2 "500 layers that the weights lack" "$H/ck-layers-500"
names "ck-layers-500/model.safetensors" "no tensor named 'bert.encoder.layer.1." "layers 500"
embed 2 "vocabulary of 2^24 that the weights lack" "$H/ck-vocab-16m"
names "ck-vocab-16m/model.safetensors" "word_embeddings.weight': expected shape [16777216, 128]" "vocab 16m"
embed 2 "2^24 labels that the weights lack" "$H/ck-labels-huge"
names "ck-labels-huge/model.safetensors" "classifier.weight': expected shape [16777216, 128]" "labels 16m"
hostile 2 "csv.gz inflating to 200 MB of newlines" -- $S fit --train "$H/bomb.csv.gz" --tree flat \
  --out "$W/prior.strata"
names "bomb.csv.gz" "inflates to more than 67108864 bytes" "csv bomb"
hostile 2 "csv.gz bomb (induce)" -- $S induce --train "$H/bomb.csv.gz" --out "$W/prior.json"
names "bomb.csv.gz" "inflates to more than" "csv bomb (induce)"
hostile 2 "jsonl.gz inflating to a 200 MB line" -- $S train --data "$H/bomb.jsonl.gz" --model tiny --steps 1
names "bomb.jsonl.gz" "gunzip the file" "jsonl bomb"
hostile 0 "embed a 10 MB text line" -- $S embed --model "$W/ck" --data "$H/long-line.jsonl" --out "$W/long.npy" \
  --labels-out "$W/long.txt"
[[ $(wc -l <"$W/long.txt") -eq 21 ]] || fail "10 MB line: expected 21 labels"
expect_out "truncated 1 texts" "embed a 10 MB text line"
hostile 0 "train on a 10 MB text line" -- $S train --data "$H/long-line.jsonl" --model tiny --layers 1 --steps 1 \
  --batch 2 --micro-batch 2 --seq-len 16 --vocab-size 32 --quiet
intact "class 4"
finish
