#!/usr/bin/env python3
"""The `strata compare` recipe written with scikit-learn, for a side-by-side timing.

Per seed: subsample N training examples per class; class means -> classical MDS (Zhu-Ghodsi elbow) -> GMM with
BIC over k in [2, K/2] and four covariance types -> a two-level tree; fit a flat random forest with matched
resources (trees = per-node trees x internal nodes), the hierarchical forest on the induced tree (coarse model
+ one fine model per group, soft product rule) and on a random tree with the same group sizes; score on the test
set. Prints one line per seed and a summary table, like `strata compare`.

Run with /usr/bin/python3 (apt's python3-sklearn):
  /usr/bin/python3 bench/peers/sklearn_compare.py --per-class 500 --seeds 10 --trees 100
"""
import argparse
import gzip
import os
import sys
import time

import numpy as np
from sklearn.ensemble import RandomForestClassifier
from sklearn.mixture import GaussianMixture

DIR = os.environ.get("STRATA_FASHION_MNIST_DIR", "/usr/share/datasets/fashion-mnist")


def read_idx(images, labels):
    with gzip.open(os.path.join(DIR, images)) as f:
        x = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 784).astype(np.float32) / 255.0
    with gzip.open(os.path.join(DIR, labels)) as f:
        y = np.frombuffer(f.read(), np.uint8, offset=8).astype(np.int64)
    return x, y


def choose_dims(ev):
    ev = np.sort(ev)[::-1]
    n = len(ev)
    if n < 3:
        return 1
    best, best_q = -np.inf, 1
    for q in range(1, n):
        a, b = ev[:q], ev[q:]
        var = (np.sum((a - a.mean()) ** 2) + np.sum((b - b.mean()) ** 2)) / max(n - 2, 1)
        sd = np.sqrt(max(var, 1e-300))
        ll = -0.5 * np.sum(((a - a.mean()) / sd) ** 2) - 0.5 * np.sum(((b - b.mean()) / sd) ** 2) - n * np.log(sd)
        if ll > best:
            best, best_q = ll, q
    return best_q


def cmds(d):
    n = d.shape[0]
    j = np.eye(n) - np.ones((n, n)) / n
    b = -0.5 * j @ (d ** 2) @ j
    w, v = np.linalg.eigh(b)
    idx = np.argsort(w)[::-1]
    w, v = np.clip(w[idx], 0, None), v[:, idx]
    q = choose_dims(w)
    return v[:, :q] * np.sqrt(w[:q])


def induce(x, y, k_classes, seed):
    means = np.stack([x[y == c].mean(0) for c in range(k_classes)])
    d = np.sqrt(((means[:, None, :] - means[None, :, :]) ** 2).sum(-1))
    pts = cmds(d)
    best = (np.inf, None)
    for k in range(2, max(2, k_classes // 2) + 1):
        for cov in ("spherical", "diag", "tied", "full"):
            try:
                g = GaussianMixture(n_components=k, covariance_type=cov, n_init=5, random_state=seed).fit(pts)
                bic = g.bic(pts)
            except Exception:
                continue
            if bic < best[0]:
                best = (bic, g.predict(pts))
    return best[1]


class HierForest:
    def __init__(self, groups, trees, seed):
        self.groups, self.trees, self.seed = np.asarray(groups), trees, seed

    def fit(self, x, y):
        self.ids = np.unique(self.groups)
        g = self.groups[y]
        self.coarse = RandomForestClassifier(self.trees, n_jobs=2, random_state=self.seed).fit(x, g)
        self.fine = {}
        for gid in self.ids:
            members = np.flatnonzero(self.groups == gid)
            if len(members) > 1:
                m = g == gid
                self.fine[gid] = RandomForestClassifier(self.trees, n_jobs=2, random_state=self.seed).fit(x[m], y[m])
        return self

    def predict(self, x):
        pc = self.coarse.predict_proba(x)
        out = np.zeros((x.shape[0], len(self.groups)))
        for j, gid in enumerate(self.coarse.classes_):
            members = np.flatnonzero(self.groups == gid)
            if len(members) == 1:
                out[:, members[0]] = pc[:, j]
            else:
                f = self.fine[gid]
                out[:, f.classes_] += pc[:, j:j + 1] * f.predict_proba(x)
        return out.argmax(1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--per-class", type=int, default=500)
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--trees", type=int, default=100)
    a = ap.parse_args()
    t_all = time.perf_counter()
    x, y = read_idx("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz")
    xt, yt = read_idx("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
    K = 10
    acc = {"flat": [], "induced": [], "random": []}
    for s in range(a.seeds):
        t0 = time.perf_counter()
        rng = np.random.default_rng(s)
        idx = np.sort(np.concatenate([rng.choice(np.flatnonzero(y == c), a.per_class, replace=False) for c in range(K)]))
        xs, ys = x[idx], y[idx]
        groups = induce(xs, ys, K, s)
        n_groups = len(np.unique(groups))
        internal = 1 + sum(1 for g in np.unique(groups) if np.sum(groups == g) > 1)
        flat = RandomForestClassifier(a.trees * internal, n_jobs=2, random_state=s).fit(xs, ys)
        acc["flat"].append(np.mean(flat.predict(xt) == yt))
        acc["induced"].append(np.mean(HierForest(groups, a.trees, s).fit(xs, ys).predict(xt) == yt))
        rand = rng.permutation(groups)
        acc["random"].append(np.mean(HierForest(rand, a.trees, s).fit(xs, ys).predict(xt) == yt))
        print(f"seed {s + 1}/{a.seeds}: " + "  ".join(f"{k} {v[-1]:.4f}" for k, v in acc.items())
              + f"  ({n_groups} groups; {time.perf_counter() - t0:.1f} s)", file=sys.stderr)
    for k, v in acc.items():
        v = np.asarray(v)
        se = v.std(ddof=1) / np.sqrt(len(v)) if len(v) > 1 else 0.0
        print(f"{k:8s} {v.mean():.4f} ± {se:.4f}")
    print(f"total_seconds {time.perf_counter() - t_all:.2f}")


if __name__ == "__main__":
    main()
