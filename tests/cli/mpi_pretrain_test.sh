# Data-parallel L2L pre-training under mpirun: 2 ranks give one process's MLM losses, held-out score and weights
# (within 1e-5; dropout on: its keys are global micro-batch indices), rank 0 trains the tokenizer and shares it, only
# rank 0 writes; a 2-rank checkpoint resumes in one process; the baseline executor and --shard-optimizer are
# refused under mpirun.
source "$(dirname "$0")/lib.sh"
S=$STRATA
command -v mpirun >/dev/null || { echo "SKIP: mpirun not installed (apt openmpi-bin; scripts/setup-deps.sh)"; exit 77; }
MPI=(mpirun --allow-run-as-root --oversubscribe -np 2)
words=(the a cat dog sat ran on under mat rug big small red blue quick slow bird fish swam flew tree lake hill)
for i in $(seq 1 400); do
  a=${words[$((i % 23))]} b=${words[$(((i * 7) % 23))]} c=${words[$(((i * 11) % 23))]}
  echo "the $a $b sat on the $c and the $b ran"
done >"$WORK/corpus.txt"
run=(--data "$WORK/corpus.txt" --model tiny --steps 10 --batch 16 --seq-len 16 --vocab-size 60 --lr 3e-3 --seed 4
  --dropout 0.1 --executor l2l --micro-batch 4 --threads 1 --quiet)

expect_rc 0 "pretrain, one process" -- $S pretrain "${run[@]}" --save "$WORK/one" --report "$WORK/one.json"
expect_rc 0 "pretrain, two ranks" -- "${MPI[@]}" $S pretrain "${run[@]}" --save "$WORK/two" --report "$WORK/two.json" \
  --log "$WORK/two.jsonl"
/usr/bin/python3 - "$WORK/one.json" "$WORK/two.json" <<'PY' || fail "pretrain: 2 ranks differ from one process"
import json, sys
one, two = (json.load(open(p)) for p in sys.argv[1:])
assert two["processes"] == 2 and one["processes"] == 1
d = max(abs(x - y) for x, y in zip(one["losses"], two["losses"]))
assert len(one["losses"]) == len(two["losses"]) == 10 and d < 1e-5, d
assert abs(one["eval_mlm_loss"] - two["eval_mlm_loss"]) < 1e-5
assert one["eval_predicted_tokens"] == two["eval_predicted_tokens"]
PY
same_params "$WORK/one" "$WORK/two" 1e-4 || fail "pretrain: 2 ranks' weights differ from one process's"
[[ $(wc -l <"$WORK/two.jsonl") -eq 10 ]] || fail "pretrain under mpirun: rank 0 alone writes the log"

# A checkpoint written by 2 ranks (stopped at step 6) resumes in one process as the run ran (executor and
# micro-batches from the checkpoint, so the same dropout masks): the uninterrupted 2-rank run's losses.
expect_rc 0 "pretrain, two ranks, stopped at step 6" -- "${MPI[@]}" $S pretrain "${run[@]}" --stop-at 6 \
  --save "$WORK/part"
expect_rc 0 "pretrain --resume of the 2-rank checkpoint in one process" -- $S pretrain --resume "$WORK/part" \
  --report "$WORK/resumed.json" --quiet
/usr/bin/python3 - "$WORK/two.json" "$WORK/resumed.json" <<'PY' || fail "pretrain: the resumed 2-rank run drifts"
import json, sys
two, resumed = (json.load(open(p)) for p in sys.argv[1:])
assert resumed["first_step"] == 6 and len(resumed["losses"]) == 4
d = max(abs(x - y) for x, y in zip(two["losses"][6:], resumed["losses"]))
assert d < 1e-5, (d, two["losses"][6:], resumed["losses"])
PY
expect_rc 2 "pretrain --shard-optimizer" -- "${MPI[@]}" $S pretrain "${run[@]}" --shard-optimizer
expect_rc 2 "pretrain, baseline under mpirun" -- "${MPI[@]}" $S pretrain "${run[@]}" --executor baseline \
  --micro-batch auto
expect_out "under mpirun, pretrain runs --executor l2l" "the baseline is refused under mpirun"
finish
