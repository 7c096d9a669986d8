"""Python against the CLI on the same work: HierarchicalClassifier (induced tree, forest) on Fashion-MNIST with 500
training examples per class, fitted from Python and by `strata fit` on the same rows (.npy), then strata.compare
against the scikit-learn recipe (a flat RandomForestClassifier with the flat row's tree count) in the same run.
Usage: PYTHONPATH=build/python:python /usr/bin/python3 python/benchmarks/fashion_hier.py build/strata [trees]"""
import gzip
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

import strata

DIR = os.environ.get("STRATA_FASHION_MNIST_DIR", "/usr/share/datasets/fashion-mnist")


def idx(name):
    with gzip.open(os.path.join(DIR, name)) as f:
        data = f.read()
    ndim = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def main():
    cli = sys.argv[1] if len(sys.argv) > 1 else "build/strata"
    trees = int(sys.argv[2]) if len(sys.argv) > 2 else 100
    X = idx("train-images-idx3-ubyte.gz").reshape(-1, 784).astype(np.float32) / 255
    y = idx("train-labels-idx1-ubyte.gz").astype(np.int64)
    Xt = idx("t10k-images-idx3-ubyte.gz").reshape(-1, 784).astype(np.float32) / 255
    yt = idx("t10k-labels-idx1-ubyte.gz").astype(np.int64)
    rng = np.random.default_rng(0)
    rows = np.sort(np.concatenate([rng.choice(np.flatnonzero(y == c), 500, replace=False) for c in range(10)]))
    X, y = np.ascontiguousarray(X[rows]), y[rows]
    with tempfile.TemporaryDirectory() as d:
        np.save(f"{d}/x.npy", X)
        np.save(f"{d}/y.npy", y)
        py, cl = [], []
        for _ in range(3):
            t0 = time.perf_counter()
            strata.HierarchicalClassifier(n_estimators=trees, random_state=0).fit(X, y)
            py.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            subprocess.run([cli, "--progress", "none", "fit", "--train", f"{d}/x.npy", "--labels", f"{d}/y.npy",
                            "--trees", str(trees), "--seed", "0", "--out", f"{d}/m.strata"], check=True,
                           capture_output=True)
            cl.append(time.perf_counter() - t0)
    print(f"HierarchicalClassifier fit, 5000 x 784, {trees} trees per node: Python {min(py):.2f} s, "
          f"CLI {min(cl):.2f} s (process, incl. reading the .npy), ratio {min(py) / min(cl):.3f}")

    from sklearn.ensemble import RandomForestClassifier
    r = strata.compare(X, y, Xt, yt, seeds=1, n_estimators=trees, random_state=0)
    flat_trees = trees * (1 + len(r["induced_trees"][0].groups()))
    t0 = time.perf_counter()
    sk = RandomForestClassifier(n_estimators=flat_trees, n_jobs=-1, random_state=0).fit(X, y)
    sk_s = time.perf_counter() - t0
    print(r["table"])
    print(f"scikit-learn flat forest ({flat_trees} trees): accuracy {sk.score(Xt, yt):.4f}, fit {sk_s:.2f} s")


if __name__ == "__main__":
    main()
