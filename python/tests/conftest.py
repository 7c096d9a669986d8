"""Shared fixtures of the Python suite: small data sets (kept small so the whole suite runs in about a minute on two
cores), the CLI binary of the same build (STRATA) and helpers to run it."""
import os
import subprocess

import numpy as np
import pytest


def grouped_blobs(n_per_class=30, groups=3, per_group=3, d=8, seed=1, spread=6.0, noise=0.6):
    """Classes in well-separated groups: class means near their group's centre, so induction has a clear answer.
    Returns X (float32), y (ints), group_of_class."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, spread, size=(groups, d))
    X, y, goc = [], [], []
    for g in range(groups):
        for j in range(per_group):
            c = g * per_group + j
            goc.append(g)
            mean = centres[g] + rng.normal(0, 1.2, size=d)
            X.append(mean + rng.normal(0, noise, size=(n_per_class, d)))
            y += [c] * n_per_class
    return np.vstack(X).astype(np.float32), np.array(y), goc


@pytest.fixture(scope="session")
def blobs():
    return grouped_blobs()


@pytest.fixture(scope="session")
def strata_bin():
    path = os.environ.get("STRATA")
    if not path or not os.path.exists(path):
        pytest.skip("STRATA (the CLI binary) is not set; ctest sets it")
    return path


def run_cli(strata_bin, *args, check=True):
    r = subprocess.run([strata_bin, "--progress", "none", *map(str, args)], capture_output=True, text=True)
    if check and r.returncode != 0:
        raise AssertionError(f"strata {' '.join(map(str, args))} exited {r.returncode}: {r.stderr}")
    return r
