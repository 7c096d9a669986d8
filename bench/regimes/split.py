#!/usr/bin/env python3
"""Splits embeddings (.npy) and their labels (one per line) into train and test per class, deterministically:
split.py X.npy LABELS.txt PREFIX TEST_FRACTION -> PREFIX-train.npy, PREFIX-train.txt, PREFIX-test.npy, PREFIX-test.txt.
Every class keeps at least one row on each side (classes with fewer than two rows are dropped)."""
import sys
import numpy as np

x = np.load(sys.argv[1])
labels = [l.rstrip("\n") for l in open(sys.argv[2], encoding="utf-8")]
prefix, frac = sys.argv[3], float(sys.argv[4])
assert len(labels) == x.shape[0], f"{sys.argv[2]}: {len(labels)} labels for {x.shape[0]} rows"
rng = np.random.default_rng(0)
by = {}
for i, l in enumerate(labels):
    by.setdefault(l, []).append(i)
tr, te = [], []
for l in sorted(by):
    idx = np.array(by[l])
    if len(idx) < 2:
        continue
    rng.shuffle(idx)
    k = min(len(idx) - 1, max(1, int(round(frac * len(idx)))))
    te += idx[:k].tolist()
    tr += idx[k:].tolist()
for name, rows in (("train", tr), ("test", te)):
    np.save(f"{prefix}-{name}.npy", x[np.array(rows)].astype(np.float32))
    with open(f"{prefix}-{name}.txt", "w", encoding="utf-8") as f:
        f.write("".join(labels[i] + "\n" for i in rows))
print(f"{sys.argv[1]}: {len(by)} classes, {len(tr)} train / {len(te)} test rows", file=sys.stderr)
