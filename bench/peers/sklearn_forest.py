#!/usr/bin/python3
"""scikit-learn peer of bench/forest_bench: RandomForestClassifier on Fashion-MNIST (the same gz IDX files),
printing fit seconds, predict seconds and test accuracy per rep, then min/median.
Usage: /usr/bin/python3 bench/peers/sklearn_forest.py [--trees 100] [--max-depth 20] [--threads 2] [--reps 3]
       [--predict-reps 1] (times prediction that many times per fit, as forest_bench --predict-reps does)"""
import argparse
import gzip
import os
import statistics
import time

import numpy as np
from sklearn.ensemble import RandomForestClassifier

DIR = os.environ.get("STRATA_FASHION_MNIST_DIR", "/usr/share/datasets/fashion-mnist")


def read_idx(name):
    with gzip.open(os.path.join(DIR, name + ".gz"), "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    arr = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    return arr.reshape(dims[0], -1) if ndim > 1 else arr


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--trees", type=int, default=100)
    ap.add_argument("--max-depth", type=int, default=20)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--train", type=int, default=0)
    ap.add_argument("--predict-reps", type=int, default=1)
    args = ap.parse_args()
    # float32 as strata sees it (pixel values 0..255 unscaled); sklearn converts to float32 internally anyway.
    xtr = read_idx("train-images-idx3-ubyte").astype(np.float32)
    ytr = read_idx("train-labels-idx1-ubyte").astype(np.int64)
    xte = read_idx("t10k-images-idx3-ubyte").astype(np.float32)
    yte = read_idx("t10k-labels-idx1-ubyte").astype(np.int64)
    if args.train:
        xtr, ytr = xtr[:args.train], ytr[:args.train]
    print(f"fashion-mnist train {xtr.shape[0]} x {xtr.shape[1]}, test {xte.shape[0]}; trees {args.trees} "
          f"max_depth {args.max_depth} threads {args.threads}")
    fits, fit_cpus, preds, pred_cpus = [], [], [], []
    for r in range(args.reps):
        rf = RandomForestClassifier(n_estimators=args.trees, max_depth=args.max_depth, n_jobs=args.threads,
                                    random_state=r)
        t0, c0 = time.perf_counter(), time.process_time()
        rf.fit(xtr, ytr)
        fit_s, fit_cpu = time.perf_counter() - t0, time.process_time() - c0
        for _ in range(args.predict_reps):
            t0, c0 = time.perf_counter(), time.process_time()
            proba = rf.predict_proba(xte)
            pred_s, pred_cpu = time.perf_counter() - t0, time.process_time() - c0
            if args.predict_reps > 1:
                print(f"  predict {pred_s:.3f} s (cpu {pred_cpu:.3f})", flush=True)
            preds.append(pred_s)
            pred_cpus.append(pred_cpu)
        acc = float(np.mean(rf.classes_[proba.argmax(axis=1)] == yte))
        nodes = np.mean([e.tree_.node_count for e in rf.estimators_])
        print(f"rep {r}: fit {fit_s:.3f} s (cpu {fit_cpu:.3f})  predict {pred_s:.3f} s (cpu {pred_cpu:.3f})  accuracy {acc:.4f}  nodes/tree {nodes:.0f}",
              flush=True)
        fits.append(fit_s)
        fit_cpus.append(fit_cpu)
    print(f"sklearn forest: fit min {min(fits):.3f} median {statistics.median(fits):.3f} s "
          f"(cpu min {min(fit_cpus):.3f} median {statistics.median(fit_cpus):.3f}); "
          f"predict min {min(preds):.3f} median {statistics.median(preds):.3f} s "
          f"(cpu min {min(pred_cpus):.3f} median {statistics.median(pred_cpus):.3f})")


if __name__ == "__main__":
    main()
