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
finish() {
  if [[ $FAILS -ne 0 ]]; then echo "$FAILS check(s) failed" >&2; exit 1; fi
  echo "all checks passed"
}
