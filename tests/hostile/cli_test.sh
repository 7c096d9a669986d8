# Hostile input through the real CLI (issue 12): absurd thread counts and threads that cannot be created, outputs
# a failing command must not replace, numbers out of range, and silent surprises. Every case runs under timeout and
# an address-space limit, asserts the exit code and that the message names the flag or file, and checks that the
# outputs of earlier good runs are byte-for-byte intact. Tiny data: it runs in well under a minute on 2 cores.
source "$(dirname "$0")/../cli/lib.sh"
S=$STRATA
export STRATA_THREADS=2
LIMIT_S=${HOSTILE_TIMEOUT:-20}     # seconds any one command may take before its error
LIMIT_AS=${HOSTILE_AS:-1073741824} # 1 GiB of address space (a memory bound that also covers thread stacks)

# bounded RC DESC -- command...: the command under timeout and prlimit; also fails on a timeout.
bounded() {
  local want=$1 desc=$2; shift 3
  local t0=$(date +%s%N)
  timeout -k 2 "$LIMIT_S" prlimit --as="$LIMIT_AS" -- "$@" >"$WORK/out" 2>&1
  local rc=$? ms=$((($(date +%s%N) - t0) / 1000000))
  if [[ $rc -eq 124 || $rc -eq 137 ]]; then fail "$desc: no answer within ${LIMIT_S}s (a hang?)"; return; fi
  if [[ $rc -ne $want ]]; then fail "$desc: exit $rc, expected $want"; sed 's/^/    /' "$WORK/out" | tail -8 >&2; fi
  [[ $ms -lt $((LIMIT_S * 1000)) ]] || fail "$desc: took ${ms} ms"
}
sums() { (cd "$WORK" && sha256sum "$@" 2>&1); }  # sums FILE...: checksums, for "intact" checks
intact() {  # intact SAVED DESC: the files summed into SAVED are unchanged
  (cd "$WORK" && sha256sum --quiet -c "$1" >/dev/null 2>&1) || fail "$2: an earlier output was replaced or removed"
}
# A small 3-class CSV.
python3 - "$WORK" <<'PY'
import random, sys
random.seed(0)
w = sys.argv[1]
with open(f"{w}/small.csv", "w") as f:
    f.write("a,b,c,label\n")
    for i in range(90):
        k = i % 3
        f.write(f"{k + random.random():.3f},{random.random():.3f},{2 * k + random.random():.3f},c{k}\n")
with open(f"{w}/continuous.csv", "w") as f:   # the last column is a measurement, not a class
    f.write("a,b,y\n")
    for i in range(1500):
        f.write(f"{random.random():.4f},{random.random():.4f},{random.random() * 100:.4f}\n")
with open(f"{w}/fraction.csv", "w") as f:     # two classes spelt as fractional numbers
    f.write("a,b,y\n")
    for i in range(40):
        f.write(f"{i % 2 + random.random():.3f},{random.random():.3f},{0.5 + i % 2}\n")
with open(f"{w}/one.tsv", "w") as f:          # text data with a single class
    f.write("id\ttext\tlabel\n")
    for i in range(40):
        f.write(f"{i}\tsome words number {i}\tonly\n")
PY
D=(--train "$WORK/small.csv")
SYN=(--data "synthetic:vocab=64,classes=3,n=96" --model tiny --layers 1 --seq-len 8 --batch 8 --steps 4 --threads 2 --quiet)

# Good runs first: the outputs every later case must leave intact.
expect_rc 0 "good induce" -- $S induce "${D[@]}" --out "$WORK/tree.json" --svg "$WORK/tree.svg"
expect_rc 0 "good fit" -- $S fit "${D[@]}" --tree flat --trees 3 --out "$WORK/m.strata"
expect_rc 0 "good predict" -- $S predict --model "$WORK/m.strata" --data "$WORK/small.csv" --out "$WORK/p.csv"
expect_rc 0 "good evaluate" -- $S evaluate --model "$WORK/m.strata" --test "$WORK/small.csv" --json "$WORK/e.json"
expect_rc 0 "good compare" -- $S compare "${D[@]}" --test "$WORK/small.csv" --seeds 1 --trees 2 --json "$WORK/c.json"
expect_rc 0 "good simulate" -- $S simulate --reps 1 --samples-per-class 5 --test-per-class 5 --trees 2 --sigma2-group 0.1 --out "$WORK/s.csv"
expect_rc 0 "good train" -- $S train "${SYN[@]}" --save "$WORK/ck" --log "$WORK/log.jsonl" --report "$WORK/r.json"
expect_rc 0 "good embed" -- $S embed --model "$WORK/ck" --data "synthetic:vocab=64,classes=3,n=96" --out "$WORK/emb.npy" --labels-out "$WORK/lab.txt"
sums tree.json tree.svg m.strata p.csv e.json c.json s.csv ck/model.safetensors ck/trainer_state.json \
  ck/optimizer.safetensors log.jsonl r.json emb.npy lab.txt >"$WORK/good.sha"
grep -q "FAILED\|No such" "$WORK/good.sha" && fail "the good runs did not write every output"
mkdir -p "$WORK/adir"

# ---- class 2: threads -----------------------------------------------------------------------------------------
bounded 2 "induce --threads 1000" -- $S induce "${D[@]}" --threads 1000 --out "$WORK/tree.json"
expect_out "--threads" "induce --threads 1000"
expect_out "1000" "induce --threads 1000"
bounded 2 "train --eps-threads 5000" -- $S train "${SYN[@]}" --executor l2l --eps-threads 5000
expect_out "--eps-threads" "train --eps-threads 5000"
bounded 2 "fit --threads 100000" -- $S fit "${D[@]}" --tree flat --threads 100000 --out "$WORK/m.strata"
bounded 2 "simulate --threads 4096" -- $S simulate --reps 1 --threads 4096 --out "$WORK/s.csv"
bounded 2 "evaluate --threads 9999" -- $S evaluate --model "$WORK/ck" --data "synthetic:vocab=64,classes=3,n=96" --threads 9999
# Threads that cannot be created: 1 GiB stacks in a 3 GiB address space leave room for two or three threads.
for c in "induce ${D[*]} --out $WORK/tree.json" "fit ${D[*]} --tree flat --trees 4 --out $WORK/m.strata"; do
  timeout -k 2 "$LIMIT_S" prlimit --stack=1073741824 --as=3221225472 -- $S $c --threads 40 >"$WORK/out" 2>&1
  rc=$?
  [[ $rc -eq 3 ]] || { fail "threads that cannot be created (${c%% *}): exit $rc, expected 3"; tail -5 "$WORK/out" >&2; }
  expect_out "40 threads" "threads that cannot be created (${c%% *})"
done
intact "$WORK/good.sha" "class 2"

# ---- class 5: outputs checked before the work, published together ---------------------------------------------
bounded 2 "induce --svg in a missing directory" -- $S induce "${D[@]}" --out "$WORK/tree.json" --svg "$WORK/missing/x.svg"
expect_out "--svg" "induce --svg in a missing directory"
expect_out "does not exist" "induce --svg in a missing directory"
bounded 2 "induce --dot a directory" -- $S induce "${D[@]}" --out "$WORK/tree.json" --dot "$WORK/adir"
expect_out "is a directory" "induce --dot a directory"
bounded 2 "induce --out = --svg" -- $S induce "${D[@]}" --out "$WORK/tree.json" --svg "$WORK/tree.json"
expect_out "same output" "induce --out = --svg"
bounded 2 "fit --out in a missing directory" -- $S fit "${D[@]}" --tree flat --out "$WORK/missing/m.strata"
expect_out "--out" "fit --out in a missing directory"
bounded 2 "predict --out a directory" -- $S predict --model "$WORK/m.strata" --data "$WORK/small.csv" --out "$WORK/adir"
bounded 2 "evaluate --json in a missing directory" -- $S evaluate --model "$WORK/m.strata" --test "$WORK/small.csv" --json "$WORK/missing/e.json"
grep -q "^accuracy" "$WORK/out" && fail "evaluate: the work ran before the output path was checked"
bounded 2 "compare --svg in a missing directory" -- $S compare "${D[@]}" --test "$WORK/small.csv" --seeds 1 --trees 2 --json "$WORK/c.json" --svg "$WORK/missing/c.svg"
bounded 2 "simulate --svg in a missing directory" -- $S simulate --reps 1 --samples-per-class 5 --test-per-class 5 --trees 2 --sigma2-group 0.1 --out "$WORK/s.csv" --svg "$WORK/missing/s.svg"
bounded 2 "train --report in a missing directory" -- $S train "${SYN[@]}" --save "$WORK/ck" --log "$WORK/log.jsonl" --report "$WORK/missing/r.json"
expect_out "--report" "train --report in a missing directory"
bounded 2 "train --log a directory" -- $S train "${SYN[@]}" --save "$WORK/ck" --log "$WORK/adir" --report "$WORK/r.json"
bounded 2 "embed --labels-out in a missing directory" -- $S embed --model "$WORK/ck" --data "synthetic:vocab=64,classes=3,n=96" --out "$WORK/emb.npy" --labels-out "$WORK/missing/l.txt"
expect_out "--labels-out" "embed --labels-out in a missing directory"
ls "$WORK" | grep -q '\.tmp\.' && fail "class 5: temporary files left behind"
intact "$WORK/good.sha" "class 5"

# ---- class 6: every number has a range (exit 2 naming the flag and the value) -----------------------------------
check_range() {  # check_range FLAG VALUE -- command...
  local flag=$1 value=$2; shift 3
  bounded 2 "$flag $value" -- "$@" "$flag" "$value"
  expect_out "$flag" "$flag $value"
  expect_out "'$value'" "$flag $value: names the value"
}
check_range --per-class -1 -- $S induce "${D[@]}" --out "$WORK/tree.json"
check_range --seed -1 -- $S fit "${D[@]}" --tree flat --out "$WORK/m.strata"
check_range --trees 0 -- $S fit "${D[@]}" --tree flat --out "$WORK/m.strata"
check_range --max-depth 1.5 -- $S fit "${D[@]}" --tree flat --out "$WORK/m.strata"
check_range --l2 nan -- $S fit "${D[@]}" --tree flat --learner logistic --out "$WORK/m.strata"
check_range --reg-covar inf -- $S induce "${D[@]}" --out "$WORK/tree.json"
check_range --seeds 0 -- $S compare "${D[@]}" --test "$WORK/small.csv" --json "$WORK/c.json"
check_range --sigma2-class nan -- $S simulate --reps 1 --out "$WORK/s.csv"
check_range --samples-per-class -5 -- $S simulate --reps 1 --out "$WORK/s.csv"
check_range --threads -3 -- $S induce "${D[@]}" --out "$WORK/tree.json"
check_range --dropout nan -- $S train "${SYN[@]}"
check_range --dropout 1 -- $S train "${SYN[@]}"
check_range --clip -1 -- $S train "${SYN[@]}"
check_range --stop-at -1 -- $S train "${SYN[@]}"
bounded 2 "--stop-at past the schedule" -- $S train "${SYN[@]}" --steps 4 --stop-at 9
expect_out "past the end of the schedule (4 steps)" "--stop-at past the schedule is named, not capped"
check_range --save-every -1 -- $S train "${SYN[@]}"
check_range --lr inf -- $S train "${SYN[@]}"
check_range --warmup 2 -- $S train "${SYN[@]}"
check_range --seq-len -5 -- $S embed --model "$WORK/ck" --data "synthetic:vocab=64,classes=3,n=96" --out "$WORK/emb.npy" --labels-out "$WORK/lab.txt"
bounded 2 "--steps 0" -- $S train --data "synthetic:vocab=64,classes=3,n=96" --model tiny --layers 1 --seq-len 8 --batch 8 --steps 0 --quiet
expect_out "--steps" "--steps 0"
bounded 2 "--epochs 1e30" -- $S train --data "synthetic:vocab=64,classes=3,n=96" --model tiny --layers 1 --seq-len 8 --batch 8 --epochs 1e30 --quiet
expect_out "--epochs" "--epochs 1e30"
bounded 2 "--save-every without --save" -- $S train "${SYN[@]}" --save-every 2
expect_out "needs --save" "--save-every without --save"
# A diverging run stops with exit 1 naming the step, and keeps the last good checkpoint.
bounded 1 "--lr 1e30 diverges" -- $S train "${SYN[@]}" --lr 1e30 --save "$WORK/ck" --log "$WORK/log.jsonl" --report "$WORK/r.json"
expect_out "diverged" "--lr 1e30 diverges"
expect_out "at step" "--lr 1e30 diverges"
expect_out "--lr" "--lr 1e30 diverges"
intact "$WORK/good.sha" "class 6"

# ---- class 7: silent surprises --------------------------------------------------------------------------------
bounded 2 "continuous label column" -- $S induce --train "$WORK/continuous.csv" --out "$WORK/tree.json"
expect_out "--max-classes" "continuous label column"
expect_out "continuous.csv" "continuous label column"
expect_rc 0 "fractional labels" -- $S fit --train "$WORK/fraction.csv" --tree flat --trees 2 --out "$WORK/frac.strata"
expect_out "warning" "fractional labels"
bounded 2 "train on one class (text)" -- $S train --data "$WORK/one.tsv" --model tiny --layers 1 --seq-len 8 --batch 8 --steps 2 --vocab-size 40 --quiet
expect_out "at least 2 classes" "train on one class (text)"
expect_out "one.tsv" "train on one class (text)"
bounded 2 "train on one class (synthetic)" -- $S train --data "synthetic:vocab=64,classes=1,n=96" --model tiny --layers 1 --seq-len 8 --batch 8 --steps 2 --quiet
expect_out "at least 2 classes" "train on one class (synthetic)"
bounded 2 "unknown subcommand" -- $S fitt --train x.csv
expect_out "unknown subcommand 'fitt'" "unknown subcommand"
expect_out "induce" "unknown subcommand: lists the valid ones"
bounded 2 "no subcommand" -- $S
expect_out "induce" "no subcommand: lists the valid ones"
cp -r "$WORK/ck" "$WORK/ck_bad"
python3 - "$WORK/ck_bad/trainer_state.json" <<'PY'
import json, sys
p = sys.argv[1]; j = json.load(open(p)); j["options"]["lr"] = "fast"; json.dump(j, open(p, "w"))
PY
bounded 2 "resume: a wrong type in trainer_state.json" -- $S train --resume "$WORK/ck_bad" --quiet
expect_out "trainer_state.json" "resume: a wrong type in trainer_state.json"
expect_out "lr" "resume: a wrong type in trainer_state.json"
cp -r "$WORK/ck" "$WORK/ck_bad2"
python3 - "$WORK/ck_bad2/trainer_state.json" <<'PY'
import json, sys
p = sys.argv[1]; j = json.load(open(p)); j["options"] = "fast"; json.dump(j, open(p, "w"))
PY
bounded 2 "evaluate: options as a string in trainer_state.json" -- $S evaluate --model "$WORK/ck_bad2" --data "synthetic:vocab=64,classes=3,n=96"
expect_out "trainer_state.json" "evaluate: options as a string in trainer_state.json"
bounded 2 "resume: options as a string in trainer_state.json" -- $S train --resume "$WORK/ck_bad2" --quiet
expect_out "trainer_state.json" "resume: options as a string in trainer_state.json"
intact "$WORK/good.sha" "class 7"

finish
