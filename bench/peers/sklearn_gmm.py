#!/usr/bin/python3
"""Peer for bench/gmm_bench.cpp: scikit-learn's GaussianMixture BIC loop over k x covariance type.

Generates the same data as gmm_bench (splitmix64 uniforms, Irwin-Hall normals; exact in both languages), runs
GaussianMixture(n_components=k, covariance_type=c, random_state=0).fit(X).bic(X) for every cell, several times,
and prints one line: sklearn_gmm runs=R min_s=... median_s=... best_k=... best_cov=... best_bic=...
Run with /usr/bin/python3 (apt's scikit-learn).
"""
import argparse
import statistics
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture

MASK = (1 << 64) - 1


def bench_data(n=100, d=16, clusters=5):
    state = 12345
    def uniform():
        nonlocal state
        state = (state + 0x9E3779B97F4A7C15) & MASK
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        z ^= z >> 31
        return float(z >> 11) * 2.0 ** -53
    centers = [[uniform() * 8.0 - 4.0 for _ in range(d)] for _ in range(clusters)]
    X = np.empty((n, d))
    for i in range(n):
        for j in range(d):
            s = 0.0
            for _ in range(12):
                s += uniform()
            X[i, j] = centers[i % clusters][j] + (s - 6.0)
    return X


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--k-min", type=int, default=2)
    ap.add_argument("--k-max", type=int, default=30)
    ap.add_argument("--table", action="store_true", help="also print 'cell k cov bic' for every cell of the last run")
    args = ap.parse_args()
    X = bench_data()
    covs = ["spherical", "diag", "tied", "full"]
    warnings.simplefilter("ignore", ConvergenceWarning)
    times = []
    best = None
    table = []
    for _ in range(args.runs):
        t0 = time.perf_counter()
        best = None
        table = []
        for k in range(args.k_min, args.k_max + 1):
            for c in covs:
                try:
                    bic = GaussianMixture(n_components=k, covariance_type=c, random_state=0).fit(X).bic(X)
                except ValueError:  # ill-defined covariance
                    table.append((k, c, float("inf")))
                    continue
                table.append((k, c, bic))
                if best is None or bic < best[2]:
                    best = (k, c, bic)
        times.append(time.perf_counter() - t0)
    print(f"sklearn_gmm runs={args.runs} min_s={min(times):.6f} median_s={statistics.median(times):.6f} "
          f"best_k={best[0]} best_cov={best[1]} best_bic={best[2]:.6f} checksum={X.sum():.12f}")
    if args.table:
        for k, c, bic in table:
            print(f"cell {k} {c} {bic:.6f}")


if __name__ == "__main__":
    main()
