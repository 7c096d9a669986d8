# The regime study's CLI: simulate's data-shape flags, the pretrained mode, --preset authors in simulate and
# compare, the coarse / fine columns, and exit 2 naming the flag for bad values.
source "$(dirname "$0")/lib.sh"
S=$STRATA
export STRATA_THREADS=2

# many groups in many dims, pretrained features: one row with the new columns, ARI well above the permuted one
expect_rc 0 "simulate pretrained" -- $S --progress none simulate --groups 6 --classes-per-group 3 --dims 40 \
  --features pretrained --sigma2-between 2 --sigma2-group 0.05 --samples-per-class 10 --test-per-class 10 \
  --reps 2 --trees 4 --out "$WORK/sim.csv"
[[ $(wc -l <"$WORK/sim.csv") -eq 2 ]] || fail "simulate pretrained: expected header + 1 row"
head -1 "$WORK/sim.csv" | grep -q "le_random_mean,.*coarse_induced_mean,.*fine_induced_mean" ||
  fail "simulate: CSV lacks the random / coarse / fine columns"
awk -F, 'NR==2 && !($5 > $7 + 0.3) {bad=1} END{exit bad}' "$WORK/sim.csv" || fail "simulate pretrained: ARI not above the permuted baseline"

# the authors' preset: runs, and an explicit --trees wins over it (the same data and seed give the same flat
# accuracy only when the forests are the same)
expect_rc 0 "simulate authors" -- $S --progress none simulate --preset authors --reps 2 --sigma2-group 0.1 \
  --samples-per-class 10 --test-per-class 10 --out "$WORK/a.csv"
expect_rc 0 "simulate authors, explicit forest" -- $S --progress none simulate --preset authors --trees 10 \
  --max-depth 10 --coarse-trees 25 --flat-depth node --reps 2 --sigma2-group 0.1 --samples-per-class 10 \
  --test-per-class 10 --out "$WORK/b.csv"
cmp -s "$WORK/a.csv" "$WORK/b.csv" || fail "simulate: --preset authors differs from its explicit flags"
expect_rc 0 "simulate strata" -- $S --progress none simulate --reps 2 --sigma2-group 0.1 --samples-per-class 10 \
  --test-per-class 10 --out "$WORK/c.csv"
cmp -s "$WORK/a.csv" "$WORK/c.csv" && fail "simulate: --preset authors changed nothing"

# bad values: exit 2 naming the flag
expect_rc 2 "simulate --dims 0" -- $S simulate --dims 0 --out "$WORK/x.csv"
expect_out "--dims" "simulate --dims 0"
expect_rc 2 "simulate --features" -- $S simulate --features pixels --out "$WORK/x.csv"
expect_out "--features" "simulate --features"
expect_rc 2 "simulate --informative" -- $S simulate --informative 5 --out "$WORK/x.csv"
expect_out "--informative" "simulate --informative"
expect_rc 2 "simulate --preset" -- $S simulate --preset paper --out "$WORK/x.csv"
expect_out "--preset" "simulate --preset"
expect_rc 2 "compare --flat-depth" -- $S compare --train fashion-mnist:train --test fashion-mnist:test --flat-depth deep
expect_out "--flat-depth" "compare --flat-depth"

# compare under the authors' preset on a slice of Fashion-MNIST: the table has the coarse / fine columns
expect_rc 0 "compare authors" -- $S --progress none compare --train fashion-mnist:train --test fashion-mnist:test \
  --per-class 20 --seeds 1 --preset authors --json "$WORK/cmp.json"
expect_out "fine|grp" "compare authors"
grep -q '"coarse_accuracy"' "$WORK/cmp.json" || fail "compare JSON lacks coarse_accuracy"
grep -q '"fine_given_group"' "$WORK/cmp.json" || fail "compare JSON lacks fine_given_group"

finish
