# Data-parallel training under mpirun (L2Lp): 2 ranks give one process's losses and final parameters (within 1e-5,
# both executors, eager AdamW / LAMB / AdamW with clipping, 4 micro-batches per rank), two 2-rank runs give the same
# bits, a run resumes across process counts, a SIGKILLed rank ends the job quickly with no process left and an
# intact checkpoint, and bad input gives the whole job exit 2 with its message.
source "$(dirname "$0")/lib.sh"
S=$STRATA
command -v mpirun >/dev/null || { echo "SKIP: mpirun not installed (apt openmpi-bin; scripts/setup-deps.sh)"; exit 77; }
PY=/usr/bin/python3
MPI=(mpirun --allow-run-as-root --oversubscribe -np 2)
losses() { grep -o '"loss":[^,]*' "$1" | sed 's/"loss"://'; }
json_num() { grep -o "\"$1\": *[-0-9.e+]*" "$2" | head -1 | sed 's/.*: *//'; }
# close A B TOL: the two files' numbers (one per line) agree within TOL, relative to max(1, |a|).
close() {
  paste "$1" "$2" | awk -v t="$3" '{d=$1-$2; if (d<0) d=-d; m=($1<0?-$1:$1); if (m<1) m=1; if (d/m>t) bad=1; n++}
    END{exit (bad || n == 0)}'
}
A=(--data "synthetic:vocab=64,classes=4,n=256" --model tiny --layers 2 --seq-len 12 --batch 32 --micro-batch 4
   --steps 10 --dropout 0.1 --threads 1 --seed 3 --quiet)
for ex in baseline l2l; do
  for opt in "adamw --clip 0" "lamb --clip 0" "adamw --clip 1"; do
    tag="$ex-${opt// /}"
    # (reports of the 2-rank runs are kept for the sharding checks below)
    # shellcheck disable=SC2086
    expect_rc 0 "one process $tag" -- $S train "${A[@]}" --executor $ex --optimizer $opt --log "$WORK/1-$tag.jsonl" \
      --save "$WORK/1-$tag" --report "$WORK/1-$tag.json"
    # shellcheck disable=SC2086
    expect_rc 0 "two ranks $tag" -- "${MPI[@]}" $S train "${A[@]}" --executor $ex --optimizer $opt \
      --log "$WORK/2-$tag.jsonl" --save "$WORK/2-$tag" --report "$WORK/2-$tag.json"
    close <(losses "$WORK/1-$tag.jsonl") <(losses "$WORK/2-$tag.jsonl") 1e-5 || fail "$tag: losses differ at 2 ranks"
    same_params "$WORK/1-$tag" "$WORK/2-$tag" 1e-5 || fail "$tag: final parameters differ at 2 ranks"
  done
done
grep -q '"ranks": 2' "$WORK/2-l2l-adamw--clip0.json" || fail "the report lacks ranks 2"
# Evaluation is split over the ranks and reduced: the one-process figures.
for k in eval_accuracy eval_examples; do
  [[ $(json_num $k "$WORK/1-l2l-adamw--clip0.json") == $(json_num $k "$WORK/2-l2l-adamw--clip0.json") ]] ||
    fail "$k differs between one process and 2 ranks"
done
expect_ge "$(json_num reduce_bytes "$WORK/2-l2l-adamw--clip0.json")" 1 "reduce_bytes"
# Two runs at 2 ranks: the same bits, whatever the timing.
expect_rc 0 "two ranks again" -- "${MPI[@]}" $S train "${A[@]}" --executor l2l --optimizer adamw --clip 0 \
  --log "$WORK/2b.jsonl"
cmp -s <(losses "$WORK/2-l2l-adamw--clip0.jsonl") <(losses "$WORK/2b.jsonl") || fail "two 2-rank runs differ"

# --shard-optimizer (L2L): eager AdamW updates are bit-identical to the unsharded 2-rank run (chunks fall on
# vector boundaries); with clipping the norm sums per-rank shares, so within 1e-5 of one process; the optimizer's
# moments per rank are 1/2 and 1/4 of one process's (within 5 %) and the device peak does not change.
expect_rc 0 "two ranks sharded" -- "${MPI[@]}" $S train "${A[@]}" --executor l2l --optimizer adamw --clip 0 \
  --shard-optimizer --log "$WORK/2s.jsonl" --save "$WORK/2s" --report "$WORK/2s.json"
cmp -s <(losses "$WORK/2-l2l-adamw--clip0.jsonl") <(losses "$WORK/2s.jsonl") || fail "sharded eager AdamW differs"
same_params "$WORK/1-l2l-adamw--clip0" "$WORK/2s" 1e-5 || fail "sharded: final parameters differ from one process"
expect_rc 0 "two ranks sharded, clipped" -- "${MPI[@]}" $S train "${A[@]}" --executor l2l --optimizer adamw \
  --clip 1 --shard-optimizer --log "$WORK/2sc.jsonl" --save "$WORK/2sc"
close <(losses "$WORK/1-l2l-adamw--clip1.jsonl") <(losses "$WORK/2sc.jsonl") 1e-5 || fail "sharded clipped losses"
same_params "$WORK/1-l2l-adamw--clip1" "$WORK/2sc" 1e-5 || fail "sharded clipped: final parameters differ"
one=$(json_num optimizer_bytes_per_rank "$WORK/2-l2l-adamw--clip0.json")
MPI4=(mpirun --allow-run-as-root --oversubscribe -np 4)
expect_rc 0 "four ranks sharded" -- "${MPI4[@]}" $S train "${A[@]}" --executor l2l --optimizer adamw --clip 0 \
  --shard-optimizer --steps 2 --report "$WORK/4s.json"
expect_rc 0 "four ranks" -- "${MPI4[@]}" $S train "${A[@]}" --executor l2l --optimizer adamw --clip 0 \
  --steps 2 --report "$WORK/4.json"
for run in "2s 2 2-l2l-adamw--clip0" "4s 4 4"; do
  set -- $run
  got=$(json_num optimizer_bytes_per_rank "$WORK/$1.json")
  awk -v g="$got" -v o="$one" -v n="$2" 'BEGIN{r=g*n/o; exit !(r > 0.95 && r < 1.05)}' ||
    fail "sharded at $2 ranks: optimizer bytes $got, not 1/$2 of $one"
  [[ $(json_num device_peak_bytes "$WORK/$1.json") == $(json_num device_peak_bytes "$WORK/$3.json") ]] ||
    fail "sharded at $2 ranks: the device peak changed"
done
# LAMB sharded: each process's share of the slab norms is summed over the processes (on the optimizer thread's own
# communicator for L2L), so the trust ratios are the whole slab's: within 1e-5 of one process, both executors.
for ex in l2l baseline; do
  expect_rc 0 "two ranks sharded LAMB $ex" -- "${MPI[@]}" $S train "${A[@]}" --executor $ex --optimizer lamb --clip 0 \
    --shard-optimizer --log "$WORK/2sl-$ex.jsonl" --save "$WORK/2sl-$ex"
  close <(losses "$WORK/1-$ex-lamb--clip0.jsonl") <(losses "$WORK/2sl-$ex.jsonl") 1e-5 || fail "sharded LAMB $ex: losses"
  same_params "$WORK/1-$ex-lamb--clip0" "$WORK/2sl-$ex" 1e-5 || fail "sharded LAMB $ex: final parameters differ"
done
# The baseline shards too (its moments live on the device, so its device peak falls).
expect_rc 0 "two ranks sharded baseline" -- "${MPI[@]}" $S train "${A[@]}" --optimizer adamw --clip 1 --shard-optimizer \
  --log "$WORK/2sb.jsonl" --save "$WORK/2sb" --report "$WORK/2sb.json"
cmp -s <(losses "$WORK/2-baseline-adamw--clip1.jsonl") <(losses "$WORK/2sb.jsonl") ||
  close <(losses "$WORK/1-baseline-adamw--clip1.jsonl") <(losses "$WORK/2sb.jsonl") 1e-5 ||
  fail "sharded baseline: losses differ"
same_params "$WORK/1-baseline-adamw--clip1" "$WORK/2sb" 1e-5 || fail "sharded baseline: final parameters differ"
# Resume across process counts (and from a sharded run: its moments are gathered into the checkpoint).
expect_rc 0 "resume a sharded checkpoint at 1" -- $S train --resume "$WORK/2s" --steps 12 --quiet --log "$WORK/2s.jsonl"

# Resume across process counts: 2 ranks then 1, and 1 then 2, follow the uninterrupted run.
R=("${A[@]}" --executor l2l --optimizer adamw --clip 1)
expect_rc 0 "2 ranks, stop at 4" -- "${MPI[@]}" $S train "${R[@]}" --stop-at 4 --save "$WORK/r2" --log "$WORK/r2.jsonl"
expect_rc 0 "resume at 1" -- $S train --resume "$WORK/r2" --log "$WORK/r2.jsonl" --quiet
close <(losses "$WORK/1-l2l-adamw--clip1.jsonl") <(losses "$WORK/r2.jsonl") 1e-5 || fail "resume 2 -> 1 ranks differs from the uninterrupted run"
expect_rc 0 "1 process, stop at 4" -- $S train "${R[@]}" --stop-at 4 --save "$WORK/r1" --log "$WORK/r1.jsonl"
expect_rc 0 "resume at 2" -- "${MPI[@]}" $S train --resume "$WORK/r1" --log "$WORK/r1.jsonl" --quiet
close <(losses "$WORK/1-l2l-adamw--clip1.jsonl") <(losses "$WORK/r1.jsonl") 1e-5 ||
  fail "resume 1 -> 2 ranks differs from the uninterrupted run"

# Bad input: the whole job exits 2 with the message (no hang).
expect_rc 2 "batch not splitting" -- timeout 60 "${MPI[@]}" $S train "${A[@]}" --batch 24 --micro-batch 8
expect_out "does not split over 2 processes" "batch not splitting"
expect_rc 2 "missing data file" -- timeout 60 "${MPI[@]}" $S train "${A[@]}" --data "$WORK/none.tsv"
expect_out "none.tsv" "missing data file"
# Bad input on one rank only (rank 1 reads a malformed file, rank 0 good data): the whole job exits 2 with rank 1's
# message, within the bound.
printf 'text\tlabel\nfine words\ta\nno label here\n' >"$WORK/bad.tsv"
expect_rc 2 "bad data on rank 1" -- timeout 60 "${MPI[@]}" bash -c \
  'if [[ $OMPI_COMM_WORLD_RANK == 1 ]]; then d="$0"; else d="synthetic:vocab=64,classes=4,n=256"; fi
   exec "$1" train --data "$d" --model tiny --layers 1 --seq-len 12 --batch 32 --steps 5 --quiet' "$WORK/bad.tsv" "$S"
expect_out "rank 1: error: $WORK/bad.tsv:3: expected 2 tab-separated fields" "bad data on rank 1"

# A rank killed mid-run: the job ends non-zero within 30 s, no process is left, the checkpoint resumes exactly.
K=(--data "synthetic:vocab=64,classes=4,n=256" --model tiny --layers 2 --seq-len 32 --batch 32 --micro-batch 4
   --steps 2000 --threads 1 --seed 5 --quiet --executor l2l)
"${MPI[@]}" $S train "${K[@]}" --save "$WORK/k" --save-every 5 >"$WORK/kill.out" 2>&1 &
job=$!
for _ in $(seq 1 600); do
  s=$(json_num step "$WORK/k/trainer_state.json" 2>/dev/null)
  [[ -n "$s" && "$s" -ge 10 ]] && break
  sleep 0.05
done
victim=$(pgrep -f -- "--save $WORK/k" | grep -v "^$job\$" | tail -1)
t0=$(date +%s)
kill -9 "$victim" 2>/dev/null
for _ in $(seq 1 300); do kill -0 $job 2>/dev/null || break; sleep 0.1; done
if kill -0 $job 2>/dev/null; then fail "kill: the job still runs 30 s after a rank died"; kill -9 $job; fi
wait $job; rc=$?
echo "a killed rank ended the job in $(( $(date +%s) - t0 )) s with exit $rc"
[[ $rc -ne 0 ]] || fail "kill: the job exited 0 after a rank died"
sleep 1
[[ -z $(pgrep -f -- "--save $WORK/k") ]] || { fail "kill: processes left running"; pkill -9 -f -- "--save $WORK/k"; }
s=$(json_num step "$WORK/k/trainer_state.json")
expect_rc 0 "resume after a killed rank" -- $S train --resume "$WORK/k" --steps $((s + 3)) --quiet --log "$WORK/k.jsonl"
[[ $(losses "$WORK/k.jsonl" | wc -l) -eq 3 ]] || fail "kill: the resumed run should run 3 steps from the checkpoint"

finish
