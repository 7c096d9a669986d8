#!/usr/bin/env bash
# Installs every Debian 12 package strata needs to build, test and run its demo.
# Idempotent: packages already present are skipped and nothing is printed for them.
# clang 14 with its sanitizer and libFuzzer runtimes (libclang-rt-14-dev) and llvm-symbolizer (llvm-14) build the
# fuzz targets and the sanitized tests (scripts/fuzz.sh, scripts/sanitize-test.sh).
# The Python module (python/) needs pybind11, numpy, scikit-learn and pytest from Debian, for /usr/bin/python3.
# STRATA_WITH_PEERS=1 also installs the benchmark peers (PyTorch, fastText).
set -euo pipefail

PKGS=(
  build-essential cmake pkg-config
  clang-14 libclang-rt-14-dev llvm-14
  libopenblas-dev liblapacke-dev libeigen3-dev
  libcli11-dev nlohmann-json3-dev zlib1g-dev
  libsentencepiece-dev libicu-dev
  libopenmpi-dev openmpi-bin
  libgtest-dev libgmock-dev libbenchmark-dev
  dataset-fashion-mnist wordnet-base
  python3-dev pybind11-dev python3-pybind11 python3-numpy python3-sklearn python3-pytest python3-venv python3-pip
)
PEERS=(python3-torch fasttext)
if [[ "${STRATA_WITH_PEERS:-0}" == "1" ]]; then PKGS+=("${PEERS[@]}"); fi

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "setup-deps: installing ${missing[*]}" >&2
SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
if ! $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/tmp/strata-apt.log 2>&1; then
  $SUDO apt-get update -qq >/dev/null 2>&1 || true
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/tmp/strata-apt.log 2>&1 || {
    echo "setup-deps: apt-get install failed; see /tmp/strata-apt.log" >&2; tail -20 /tmp/strata-apt.log >&2; exit 1; }
fi
