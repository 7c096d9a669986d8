"""The documented offline install: a venv with --system-site-packages (for Debian's numpy and scikit-learn) and
`cmake --install BUILD --component python --prefix VENV`; the venv's python imports strata and fits a model."""
import os
import subprocess
import sys

import pytest


def test_cmake_install_into_a_venv(tmp_path):
    build = os.environ.get("STRATA_BUILD_DIR")
    if not build:
        pytest.skip("STRATA_BUILD_DIR is not set; ctest sets it")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(venv)], check=True)
    subprocess.run(["cmake", "--install", build, "--component", "python", "--prefix", str(venv)], check=True,
                   capture_output=True)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    code = ("import strata, numpy as np; X = np.random.default_rng(0).normal(size=(60, 3)).astype('f4');"
            "y = (X[:, 0] > 0).astype(int); print(strata.__file__);"
            "print(strata.RandomForestClassifier(n_estimators=3, random_state=0).fit(X, y).score(X, y))")
    out = subprocess.run([str(venv / "bin" / "python"), "-c", code], env=env, cwd=tmp_path, check=True,
                         capture_output=True, text=True).stdout.split()
    assert out[0].startswith(str(venv))
    assert float(out[1]) > 0.9
