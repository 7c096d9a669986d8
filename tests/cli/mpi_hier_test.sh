# The hierarchy half of L2Lp (issue 10, must-show 7): under mpirun, `fit` spreads each forest's trees and `compare`
# its seeds over the ranks, and both give exactly one process's output: the same model bytes (apart from the stored
# fit seconds) and probabilities, the same per-seed results; rank 0 alone prints.
source "$(dirname "$0")/lib.sh"
S=$STRATA
command -v mpirun >/dev/null || { echo "SKIP: mpirun not installed (apt openmpi-bin; scripts/setup-deps.sh)"; exit 77; }
PY=/usr/bin/python3
mpi() { local n=$1; shift; timeout 300 mpirun --allow-run-as-root --oversubscribe -np "$n" "$@"; }

# masked MODEL: the model file with its stored fit seconds zeroed (they differ run to run). The offset follows
# HierarchicalClassifier::save; the field must hold a plausible time, so a wrong offset fails instead of masking.
masked() {
  $PY - "$1" <<'PYEOF'
import struct, sys
b = bytearray(open(sys.argv[1], "rb").read())
assert b[:12] == b"STRATA-HIER\n", "not a model file"
o = 12 + 4 + 1 + 8 + 4
def skip_str():
    global o
    o += 8 + struct.unpack_from("<Q", b, o)[0]
skip_str()                                    # learner kind
o += 4 * 4 + 1 + 1 + 8 + 8 + 4 + 8 + 4 + 8 + 1 + 4  # forest and logistic settings
skip_str()                                    # tree JSON
n = struct.unpack_from("<Q", b, o)[0]; o += 8
for _ in range(n): skip_str()                 # class names
o += 8                                        # feature dimension
secs = struct.unpack_from("<d", b, o)[0]
assert 0 < secs < 3600, f"fit seconds at byte {o} read {secs}: the model layout changed"
b[o:o + 8] = bytes(8)
sys.stdout.buffer.write(b)
PYEOF
}

# fit: one process, then 2 and 3 ranks (7 trees: the last round leaves a rank without a tree).
F=(fit --train fashion-mnist:train --per-class 30 --trees 7 --seed 3 --threads 1)
for tree in induced flat; do
  expect_rc 0 "fit $tree, one process" -- $S "${F[@]}" --tree $tree --out "$WORK/one-$tree.strata"
  for n in 2 3; do
    expect_rc 0 "fit $tree, $n ranks" -- mpi $n $S "${F[@]}" --tree $tree --out "$WORK/mpi$n-$tree.strata"
    # Counted as occurrences, not lines: mpirun forwards stdout and stderr separately, so in one file a line of
    # one can land inside a line of the other.
    [[ $(grep -o "fitted [0-9]* node model" "$WORK/out" | wc -l) -eq 1 ]] ||
      fail "fit $tree, $n ranks: expected one 'fitted' line (rank 0)"
    [[ $tree != induced || $(grep -o "induced [0-9]* groups" "$WORK/out" | wc -l) -eq 1 ]] ||
      fail "fit $tree, $n ranks: expected one 'induced ... groups' line (rank 0)"
    cmp -s <(masked "$WORK/one-$tree.strata") <(masked "$WORK/mpi$n-$tree.strata") ||
      fail "fit $tree: the model of $n ranks differs from one process's"
  done
done
expect_rc 0 "predict, one process's model" -- $S predict --model "$WORK/one-induced.strata" \
  --data fashion-mnist:test --proba --out "$WORK/one.csv"
expect_rc 0 "predict, 2 ranks' model" -- $S predict --model "$WORK/mpi2-induced.strata" \
  --data fashion-mnist:test --proba --out "$WORK/mpi2.csv"
[[ -s "$WORK/one.csv" ]] && cmp -s "$WORK/one.csv" "$WORK/mpi2.csv" ||
  fail "predict --proba: the 2-rank model's probabilities differ from one process's"
# Rank 0 alone writes: an unwritable --out fails the whole job with exit 2 and the message, without a hang.
expect_rc 2 "fit to an unwritable path, 2 ranks" -- mpi 2 $S "${F[@]}" --tree flat --out "$WORK/none/m.strata"
expect_out "none/m.strata" "fit to an unwritable path, 2 ranks"

# compare: 3 seeds over 2 ranks (an uneven last round): the same results as one process, apart from seconds.
C=(compare --train fashion-mnist:train --test fashion-mnist:test --per-class 30 --seeds 3 --trees 5 --seed 2
   --threads 1)
# stdout (the table) and stderr (per-seed progress) kept apart: mpirun forwards them separately, so in one file a
# line of one can land inside a line of the other.
$S "${C[@]}" --json "$WORK/one.json" --svg "$WORK/one.svg" >"$WORK/one.out" 2>"$WORK/one.err" ||
  fail "compare, one process: exit $?"
mpi 2 $S "${C[@]}" --json "$WORK/mpi.json" --svg "$WORK/mpi.svg" >"$WORK/mpi.out" 2>"$WORK/mpi.err" ||
  fail "compare, 2 ranks: exit $?"
$PY - "$WORK/one.json" "$WORK/mpi.json" <<'PYEOF' || fail "compare --json: 2 ranks differ from one process"
import json, sys
def load(p):
    j = json.load(open(p))
    for row in j.values():
        if isinstance(row, dict): row.pop("fit_seconds", None)
    return j
a, b = load(sys.argv[1]), load(sys.argv[2])
assert len(a["flat"]["per_seed_accuracy"]) == 3, "expected 3 seeds"
if a != b: sys.exit(f"one process: {json.dumps(a)[:400]}\n2 ranks: {json.dumps(b)[:400]}")
PYEOF
cmp -s "$WORK/one.svg" "$WORK/mpi.svg" || fail "compare --svg: the first seed's induced tree differs at 2 ranks"
# The table (its last column, fit seconds, aside) and the per-seed lines (their seconds aside), printed once.
table() { grep -E "^(model|flat|induced|random|true) " "$1" | awk '{$NF=""; print}'; }
seeds() { grep -o "seed [0-9]/3: [^(]*" "$1"; }
[[ $(grep -c "^model " "$WORK/mpi.out") -eq 1 ]] || fail "compare, 2 ranks: expected one table (rank 0)"
[[ $(seeds "$WORK/mpi.err" | wc -l) -eq 3 ]] || fail "compare, 2 ranks: expected 3 per-seed lines"
diff <(table "$WORK/one.out") <(table "$WORK/mpi.out") >&2 || fail "compare: the 2-rank table differs"
diff <(seeds "$WORK/one.err") <(seeds "$WORK/mpi.err") >&2 || fail "compare: the 2-rank per-seed lines differ"

finish
