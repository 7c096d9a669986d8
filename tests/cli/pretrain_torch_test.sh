# End to end: what `strata pretrain --save` writes (under L2L, with a WordPiece vocab.txt) loads into the PyTorch
# mirror of Hugging Face's BertForMaskedLM by name with strict=True, and the loaded model predicts masked words as
# well as strata's own held-out score says. Needs PyTorch for /usr/bin/python3 (a benchmark peer): skipped without.
source "$(dirname "$0")/lib.sh"
S=$STRATA
if ! /usr/bin/python3 -c "import torch" 2>/dev/null; then
  echo "SKIP: PyTorch is not installed for /usr/bin/python3 (STRATA_WITH_PEERS=1 scripts/setup-deps.sh installs it)"
  exit 77
fi
words=(the a cat dog sat ran on under mat rug big small red blue quick slow bird fish swam flew tree lake hill)
for i in $(seq 1 400); do
  a=${words[$((i % 23))]} b=${words[$(((i * 7) % 23))]} c=${words[$(((i * 11) % 23))]}
  echo "the $a $b sat on the $c and the $b ran"
done >"$WORK/corpus.txt"
printf '%s\n' '[PAD]' '[UNK]' '[CLS]' '[SEP]' '[MASK]' and "${words[@]}" >"$WORK/vocab.txt"
tail -n 30 "$WORK/corpus.txt" >"$WORK/probe.txt"

expect_rc 0 "pretrain (l2l, WordPiece)" -- $S pretrain --data "$WORK/corpus.txt" --tokenizer "$WORK/vocab.txt" \
  --model tiny --steps 150 --batch 16 --seq-len 16 --lr 3e-3 --threads 2 --seed 1 --executor l2l --micro-batch 8 \
  --save "$WORK/pt" --report "$WORK/pt.json" --quiet
[[ -s "$WORK/pt/vocab.txt" ]] || fail "the checkpoint carries its vocab.txt"
if /usr/bin/python3 "$STRATA_SRC/tools/load_pretrained_in_torch.py" "$WORK/pt" "$WORK/probe.txt" >"$WORK/torch.json" \
  2>"$WORK/torch.err"; then
  /usr/bin/python3 - "$WORK/pt.json" "$WORK/torch.json" <<'PY' || fail "the mirror does not predict as strata scored"
import json, math, sys
strata, torch = (json.load(open(p)) for p in sys.argv[1:])
chance = 1 / 29
print("strata held-out masked accuracy", strata["eval_masked_accuracy"], "mirror", torch["masked_accuracy"],
      "mirror loss", torch["mlm_loss"], file=sys.stderr)
assert torch["masked_accuracy"] > 5 * chance, torch
assert torch["masked_accuracy"] > 0.6 * strata["eval_masked_accuracy"], (torch, strata["eval_masked_accuracy"])
assert torch["mlm_loss"] < math.log(29) - 1.0, torch
PY
else
  fail "the PyTorch mirror cannot load the checkpoint strictly by name"
  sed 's/^/    /' "$WORK/torch.err" | tail -8 >&2
fi
finish
