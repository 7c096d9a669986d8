# End to end: strata predict on unlabelled data (a CSV without a label column, a .npy without labels) and fit /
# evaluate / compare on .npy train and test sets each with its own labels file (--train-labels, --test-labels),
# with the exit code and message for a label count that does not match the rows.
source "$(dirname "$0")/lib.sh"
S=$STRATA
export STRATA_THREADS=2
PY=/usr/bin/python3
W=$WORK

# 3 well-separated classes, 4 features; train and test drawn alike
cat >"$WORK/gen.py" <<'PYEOF'
import sys, numpy as np
w = sys.argv[1]
for name, seed, n in (("train", 0, 40), ("test", 1, 20)):
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(3), n)
    x = (rng.normal(size=(3 * n, 4)) + 4 * y[:, None]).astype(np.float32)
    np.save(f"{w}/{name}.npy", x)
    np.save(f"{w}/{name}-y.npy", y)
    with open(f"{w}/{name}.csv", "w") as f:
        f.write("a,b,c,d,label\n" + "".join(",".join(f"{v:.6g}" for v in r) + f",k{c}\n" for r, c in zip(x, y)))
    with open(f"{w}/{name}-nolabel.csv", "w") as f:
        f.write("a,b,c,d\n" + "".join(",".join(f"{v:.6g}" for v in r) + "\n" for r in x))
np.save(f"{w}/short-y.npy", np.zeros(7, dtype=np.int64))
PYEOF
$PY "$WORK/gen.py" "$WORK" || fail "generating the data (needs $PY with numpy)"

# CSV: fit on the labelled file, predict the same rows without their label column
expect_rc 0 "fit csv" -- $S fit --train "$W/train.csv" --tree flat --trees 5 --seed 1 --out "$W/csv.strata"
expect_rc 0 "predict labelled csv" -- $S predict --model "$W/csv.strata" --data "$W/test.csv" --out "$W/p1.csv"
expect_out "accuracy against the data's labels" "predict labelled csv"
expect_rc 0 "predict unlabelled csv" -- $S predict --model "$W/csv.strata" --data "$W/test-nolabel.csv" --proba \
    --out "$W/p2.csv"
expect_out "60 unlabelled examples" "predict unlabelled csv"
[[ $(head -1 "$W/p2.csv") == "row,predicted,p_k0,p_k1,p_k2" ]] \
  || fail "unlabelled csv: header is '$(head -1 "$W/p2.csv")'"
[[ $(wc -l <"$W/p2.csv") -eq 61 ]] || fail "unlabelled csv: expected 60 rows"
cmp -s <(cut -d, -f2 "$W/p1.csv" | tail -n +2) <(cut -d, -f2 "$W/p2.csv" | tail -n +2) \
  || fail "unlabelled csv: predictions differ from those of the labelled file"
expect_rc 0 "predict --no-labels" -- $S predict --model "$W/csv.strata" --data "$W/test-nolabel.csv" --no-labels \
    --out "$W/p3.csv"
cmp -s "$W/p3.csv" <(cut -d, -f1,2 "$W/p2.csv") || fail "--no-labels: output differs from the detected case"
# a CSV with the wrong number of features is refused, not guessed at
cut -d, -f1-3 "$W/test-nolabel.csv" >"$W/narrow.csv"
expect_rc 2 "predict narrow csv" -- $S predict --model "$W/csv.strata" --data "$W/narrow.csv" --out "$W/p4.csv"
expect_out "features, but the model" "predict narrow csv"

# .npy: train and test each with their own labels file
expect_rc 0 "fit npy --train-labels" -- $S fit --train "$W/train.npy" --train-labels "$W/train-y.npy" --tree flat \
    --trees 5 --seed 1 --out "$W/npy.strata"
expect_rc 0 "evaluate npy --test-labels" -- $S evaluate --model "$W/npy.strata" --test "$W/test.npy" \
    --test-labels "$W/test-y.npy"
acc=$(awk '/^accuracy/{print $2}' "$W/out")
expect_ge "$acc" 0.95 "evaluate npy: accuracy on separated classes"
expect_rc 0 "predict unlabelled npy" -- $S predict --model "$W/npy.strata" --data "$W/test.npy" --out "$W/p5.csv"
expect_out "60 unlabelled examples" "predict unlabelled npy"
[[ $(head -1 "$W/p5.csv") == "row,predicted" ]] || fail "unlabelled npy: header is '$(head -1 "$W/p5.csv")'"
expect_rc 0 "predict labelled npy" -- $S predict --model "$W/npy.strata" --data "$W/test.npy" --labels "$W/test-y.npy" \
    --out "$W/p6.csv"
[[ $(head -1 "$W/p6.csv") == "row,predicted,label" ]] || fail "labelled npy: header is '$(head -1 "$W/p6.csv")'"
expect_rc 0 "compare two npy sets" -- $S compare --train "$W/train.npy" --train-labels "$W/train-y.npy" \
    --test "$W/test.npy" --test-labels "$W/test-y.npy" --seeds 2 --trees 4 --json "$W/cmp.json"
expect_out "induced" "compare two npy sets"
grep -q '"flat"' "$W/cmp.json" || fail "compare two npy sets: JSON lacks the flat row"

# bad input: label counts that do not match the rows exit 2 and say so
expect_rc 2 "compare: short test labels" -- $S compare --train "$W/train.npy" --train-labels "$W/train-y.npy" \
    --test "$W/test.npy" --test-labels "$W/short-y.npy" --seeds 1 --trees 2
expect_out "holds 60 rows but" "compare: short test labels"
expect_out "the counts must agree" "compare: short test labels"
expect_rc 2 "fit: short labels" -- $S fit --train "$W/train.npy" --train-labels "$W/short-y.npy" --out "$W/x.strata"
expect_out "holds 120 rows but" "fit: short labels"
expect_rc 2 "predict: short labels" -- $S predict --model "$W/npy.strata" --data "$W/test.npy" \
    --labels "$W/short-y.npy" --out "$W/p7.csv"
expect_rc 2 "compare without test labels" -- $S compare --train "$W/train.npy" --train-labels "$W/train-y.npy" \
    --test "$W/test.npy" --seeds 1
expect_out "give the labels file too" "compare without test labels"
[[ ! -e "$W/x.strata" && ! -e "$W/p7.csv" ]] || fail "bad input left an output file"
finish
