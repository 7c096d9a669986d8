# Helpers for the end-to-end CLI tests: run strata, assert exit codes, output substrings and numbers.
set -uo pipefail
: "${STRATA:?STRATA must point at the strata binary}"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
FAILS=0
fail() { echo "FAIL: $*" >&2; FAILS=$((FAILS + 1)); }
# expect_rc CODE DESCRIPTION -- command...   (stdout+stderr kept in $WORK/out)
expect_rc() {
  local want=$1 desc=$2; shift 3
  "$@" >"$WORK/out" 2>&1
  local rc=$?
  if [[ $rc -ne $want ]]; then fail "$desc: exit $rc, expected $want"; sed 's/^/    /' "$WORK/out" | tail -15 >&2; fi
}
expect_out() {  # expect_out SUBSTRING DESCRIPTION
  grep -qF -- "$1" "$WORK/out" || { fail "$2: output lacks '$1'"; sed 's/^/    /' "$WORK/out" | tail -15 >&2; }
}
expect_ge() {  # expect_ge VALUE MIN DESCRIPTION
  awk -v v="$1" -v m="$2" 'BEGIN{exit !(v+0 >= m+0)}' || fail "$3: $1 < $2"
}
# same_params DIR1 DIR2 TOL: every tensor of model.safetensors within TOL, relative to the tensor's max |value|. Not
# the attention key biases: their true gradient is exactly zero (softmax ignores a score shift q.b shared by all
# keys), so what they get is rounding noise whose bits depend on the order of summation, and AdamW turns any noise
# into steps of about lr. They never change the model's outputs.
same_params() {
  /usr/bin/python3 - "$1/model.safetensors" "$2/model.safetensors" "$3" <<'PYEOF'
import json, struct, sys, array
def load(p):
    b = open(p, "rb").read(); n = struct.unpack("<Q", b[:8])[0]; h = json.loads(b[8:8 + n]); out = {}
    for k, v in h.items():
        if k == "__metadata__": continue
        s, e = v["data_offsets"]; a = array.array("f"); a.frombytes(b[8 + n + s:8 + n + e]); out[k] = a
    return out
a, b, tol = load(sys.argv[1]), load(sys.argv[2]), float(sys.argv[3])
assert a.keys() == b.keys(), "different tensors"
for k in a:
    if k.endswith("attention.self.key.bias"): continue
    scale = max(1e-12, max(abs(x) for x in a[k]))
    err = max(abs(x - y) for x, y in zip(a[k], b[k])) / scale
    if err > tol: sys.exit(f"{k}: relative difference {err:.3g} > {tol}")
PYEOF
}
finish() {
  if [[ $FAILS -ne 0 ]]; then echo "$FAILS check(s) failed" >&2; exit 1; fi
  echo "all checks passed"
}
