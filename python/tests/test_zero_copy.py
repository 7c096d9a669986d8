"""Zero-copy: fitting a 60 000 x 784 float32 array adds no second copy of it. Peak RSS is measured in a fresh
process: the array is created and touched, then fitted; the growth must stay well below the array's 188 MB (the
forest's own uint8 bins are a quarter of it)."""
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent("""
    import resource, sys
    import numpy as np
    import strata
    est = sys.argv[1]
    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, size=(60000, 784), dtype=np.uint8).astype(np.float32) / 255
    y = rng.integers(0, 10, size=60000)
    # warm up the module (thread pools, first allocations) on a small slice
    strata.RandomForestClassifier(n_estimators=1, max_depth=2, random_state=0).fit(X[:200], y[:200])
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    if est == "forest":
        clf = strata.RandomForestClassifier(n_estimators=2, max_depth=3, random_state=0, n_jobs=1)
    else:
        groups = [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9]]
        clf = strata.HierarchicalClassifier(tree=groups, n_estimators=2, max_depth=3, random_state=0, n_jobs=1)
    clf.fit(X, y)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(X.nbytes, after - before)
""")


def grow(est):
    out = subprocess.run([sys.executable, "-c", SCRIPT, est], capture_output=True, text=True, check=True).stdout
    nbytes, grew = map(int, out.split())
    return nbytes, grew


def test_forest_fit_reads_the_array_in_place():
    nbytes, grew = grow("forest")
    assert nbytes == 60000 * 784 * 4
    assert grew < 0.25 * nbytes, f"peak RSS grew by {grew / 2**20:.0f} MiB for a {nbytes / 2**20:.0f} MiB array"


def test_hierarchical_fit_reads_the_array_in_place():
    nbytes, grew = grow("hier")
    # the root model reads X in place; a group's model copies only its own rows (half of them here)
    assert grew < 0.8 * nbytes, f"peak RSS grew by {grew / 2**20:.0f} MiB for a {nbytes / 2**20:.0f} MiB array"
