# End to end: induce, fit, predict, evaluate, compare and simulate through the real CLI on a small slice of
# Fashion-MNIST, and the exit codes and messages for bad input.
source "$(dirname "$0")/lib.sh"
S=$STRATA
export STRATA_THREADS=2

expect_rc 0 "version" -- $S --version
expect_out "strata " "version"
for c in induce fit predict evaluate compare simulate; do expect_rc 0 "$c --help" -- $S $c --help; done

# induce -> a valid tree with every class
expect_rc 0 "induce" -- $S induce --train fashion-mnist:train --per-class 100 --seed 1 --out "$WORK/tree.json" --svg "$WORK/tree.svg"
expect_out "top-level groups" "induce"
[[ -s "$WORK/tree.svg" ]] && grep -q "Ankle boot" "$WORK/tree.svg" || fail "induce: SVG lacks a class name"
for c in "T-shirt/top" Trouser Pullover Dress Coat Sandal Shirt Sneaker Bag "Ankle boot"; do
  grep -qF "\"$c\"" "$WORK/tree.json" || fail "induce: tree.json lacks class $c"
done
expect_rc 0 "induce agglomerative" -- $S induce --train fashion-mnist:train --per-class 50 --cluster agglomerative --linkage ward --out "$WORK/agg.json"
expect_out "depth" "induce agglomerative"
expect_rc 0 "induce mmd" -- $S induce --train fashion-mnist:train --per-class 40 --method mmd --out "$WORK/mmd.json"
expect_rc 0 "induce tasksim" -- $S induce --train fashion-mnist:train --per-class 40 --method tasksim --embed ase --cluster kmeans --out "$WORK/ts.json"

# fit on the tree, evaluate, predict; determinism across thread counts
expect_rc 0 "fit" -- $S fit --train fashion-mnist:train --per-class 100 --tree "$WORK/tree.json" --trees 20 --seed 3 --threads 1 --out "$WORK/m1.strata"
expect_rc 0 "fit 2 threads" -- $S fit --train fashion-mnist:train --per-class 100 --tree "$WORK/tree.json" --trees 20 --seed 3 --threads 2 --out "$WORK/m2.strata"
expect_rc 0 "evaluate" -- $S evaluate --model "$WORK/m1.strata" --test fashion-mnist:test --json "$WORK/metrics.json"
acc=$(awk '/^accuracy/{print $2}' "$WORK/out")
expect_ge "$acc" 0.70 "evaluate: accuracy of a 100-per-class hierarchical forest"
grep -q '"confusion_matrix"' "$WORK/metrics.json" || fail "evaluate: JSON lacks the confusion matrix"
expect_rc 0 "predict" -- $S predict --model "$WORK/m1.strata" --data fashion-mnist:test --proba --out "$WORK/pred.csv"
[[ $(wc -l <"$WORK/pred.csv") -eq 10001 ]] || fail "predict: expected 10001 lines"
awk -F, 'NR>1{s=0; for(i=4;i<=NF;i++) s+=$i; if (s<0.999||s>1.001) bad++} END{exit bad>0}' "$WORK/pred.csv" || fail "predict: probabilities do not sum to 1"
pacc=$(awk -F, 'NR>1{n++; if ($2==$3) k++} END{print k/n}' "$WORK/pred.csv")
awk -v a="$acc" -v b="$pacc" 'BEGIN{exit !((a-b)^2 < 1e-8)}' || fail "predict accuracy $pacc != evaluate accuracy $acc"
expect_rc 0 "predict (2-thread model)" -- $S predict --model "$WORK/m2.strata" --data fashion-mnist:test --proba --out "$WORK/pred2.csv"
cmp -s "$WORK/pred.csv" "$WORK/pred2.csv" || fail "fit: probabilities differ between models fitted with 1 and 2 threads"
expect_rc 0 "fit flat logistic" -- $S fit --train fashion-mnist:train --per-class 50 --tree flat --learner logistic --out "$WORK/lr.strata"
expect_rc 0 "fit random tree" -- $S fit --train fashion-mnist:train --per-class 50 --tree random --trees 5 --out "$WORK/rand.strata"

# compare with a true tree: JSON has every row and the ARI
cat >"$WORK/true.json" <<'JSON'
{"classes": ["T-shirt/top","Trouser","Pullover","Dress","Coat","Sandal","Shirt","Sneaker","Bag","Ankle boot"],
 "tree": {"children": [
   {"name": "clothes", "children": [{"class":"T-shirt/top"},{"class":"Trouser"},{"class":"Pullover"},{"class":"Dress"},{"class":"Coat"},{"class":"Shirt"}]},
   {"name": "shoes", "children": [{"class":"Sandal"},{"class":"Sneaker"},{"class":"Ankle boot"}]},
   {"name": "bags", "children": [{"class":"Bag"}]}]}}
JSON
expect_rc 0 "compare" -- $S compare --train fashion-mnist:train --test fashion-mnist:test --per-class 30 --seeds 2 --trees 10 --true-tree "$WORK/true.json" --json "$WORK/cmp.json"
for row in flat induced random true; do expect_out "$row" "compare table"; grep -q "\"$row\"" "$WORK/cmp.json" || fail "compare JSON lacks $row"; done
grep -q '"ari"' "$WORK/cmp.json" || fail "compare JSON lacks ari"
grep -q '"learning_efficiency"' "$WORK/cmp.json" || fail "compare JSON lacks learning_efficiency"

# simulate: one CSV row per setting, an SVG, ARI above the permuted baseline at low group spread
expect_rc 0 "simulate" -- $S simulate --reps 3 --sigma2-group 0.01 --samples-per-class 5,20 --trees 10 --out "$WORK/sim.csv" --svg "$WORK/sim.svg"
[[ $(wc -l <"$WORK/sim.csv") -eq 3 ]] || fail "simulate: expected header + 2 rows"
awk -F, 'NR>1 && !($5 > $7 + 0.3) {bad++} END{exit bad>0}' "$WORK/sim.csv" || fail "simulate: ARI not above the permuted baseline"
grep -q "<svg" "$WORK/sim.svg" || fail "simulate: no SVG"

# a small CSV end to end
{ echo "a,b,label"; for i in $(seq 1 30); do echo "$i,$((i % 7)),low"; echo "$((i+100)),$((i % 5)),high"; echo "$((i+200)),1,mid"; done; } >"$WORK/small.csv"
expect_rc 0 "fit csv" -- $S fit --train "$WORK/small.csv" --tree flat --trees 10 --out "$WORK/csv.strata"
expect_rc 0 "evaluate csv" -- $S evaluate --model "$WORK/csv.strata" --test "$WORK/small.csv"
expect_out "accuracy            1.0000" "evaluate csv"

# bad input: exit 2 with file and line, nothing half-written
expect_rc 2 "missing file" -- $S induce --train "$WORK/nope.csv" --out "$WORK/x.json"
expect_out "nope.csv" "missing file"
printf 'a,b,label\n1,2,x\n3,y\n' >"$WORK/ragged.csv"
expect_rc 2 "ragged csv" -- $S fit --train "$WORK/ragged.csv" --tree flat --out "$WORK/x.strata"
expect_out "ragged.csv:3" "ragged csv"
printf 'a,b,label\n1,2,x\n3,oops,y\n' >"$WORK/nonnum.csv"
expect_rc 2 "non-numeric csv" -- $S fit --train "$WORK/nonnum.csv" --tree flat --out "$WORK/x.strata"
expect_out "nonnum.csv:3" "non-numeric csv"
printf 'a,b,label\n1,,x\n3,4,y\n' >"$WORK/missing.csv"
expect_rc 2 "missing cell" -- $S fit --train "$WORK/missing.csv" --tree flat --out "$WORK/x.strata"
expect_out "--missing" "missing cell"
expect_rc 0 "missing cell with --missing mean" -- $S fit --train "$WORK/missing.csv" --missing mean --tree flat --trees 3 --out "$WORK/x.strata"
expect_rc 2 "label column absent" -- $S fit --train "$WORK/small.csv" --label-column kind --tree flat --out "$WORK/x.strata"
expect_out "kind" "label column absent"
printf 'a,label\n1,x\n2,x\n' >"$WORK/oneclass.csv"
expect_rc 2 "one class" -- $S fit --train "$WORK/oneclass.csv" --tree flat --out "$WORK/x.strata"
expect_rc 2 "bad method" -- $S induce --train fashion-mnist:train --method nonsense --out "$WORK/x.json"
expect_rc 2 "bad tree arg" -- $S fit --train "$WORK/small.csv" --tree "$WORK/nosuch.json" --out "$WORK/x.strata"
echo '{"classes": ["high","low"], "tree": {"children": [{"class": "high"}, {"class": "low"}]}}' >"$WORK/short.json"
expect_rc 2 "tree missing a class" -- $S fit --train "$WORK/small.csv" --tree "$WORK/short.json" --out "$WORK/x.strata"
expect_rc 2 "unknown flag" -- $S fit --train "$WORK/small.csv" --bogus
expect_rc 2 "dimension mismatch" -- $S evaluate --model "$WORK/csv.strata" --test fashion-mnist:test
expect_out "features" "dimension mismatch"
head -c 200 "$WORK/m1.strata" >"$WORK/trunc.strata"
expect_rc 2 "truncated model" -- $S evaluate --model "$WORK/trunc.strata" --test fashion-mnist:test
expect_out "trunc.strata" "truncated model"
expect_rc 2 "unwritable output" -- $S predict --model "$WORK/csv.strata" --data "$WORK/small.csv" --out "$WORK/no/such/dir/p.csv"
printf 'a,b,label\n1,2,zzz\n' >"$WORK/unseen.csv"; printf '3,4,low\n' >>"$WORK/unseen.csv"
expect_rc 2 "unseen label at evaluation" -- $S evaluate --model "$WORK/csv.strata" --test "$WORK/unseen.csv"
expect_out "zzz" "unseen label at evaluation"
ls "$WORK" | grep -q '\.tmp\.' && fail "a temporary file was left behind"
finish
