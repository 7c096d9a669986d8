"""Metrics of the hierarchy toolkit: hierarchical precision/recall/F1 over ancestor sets (micro and macro, as
hiclass defines them), learning efficiency (the paper's error ratio) and the adjusted Rand index."""
import numpy as np

from .tree import LabelTree


def _ancestor_sets(tree):
    """class label -> set of node ids on its root path, excluding the root (hiclass's convention)."""
    parent = tree._parents()
    sets = {}
    for v, c in enumerate(tree._class_ids):
        if c >= 0:
            path = set()
            while parent[v] >= 0:
                path.add(v)
                v = parent[v]
            sets[tree._classes[c]] = path
    return sets


def hierarchical_precision_recall_f1(y_true, y_pred, tree, average="micro"):
    """Hierarchical P/R/F1: each label is extended to its ancestors (root excluded); micro sums |T ∩ P|, |P|, |T|
    over samples (hiclass's default), macro averages the per-sample ratios. Labels are matched to leaves by str()."""
    if not isinstance(tree, LabelTree):
        tree = LabelTree.from_dict(tree)
    anc = _ancestor_sets(tree)
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true and y_pred differ in shape: {y_true.shape} vs {y_pred.shape}")
    try:
        T = [anc[str(t)] for t in y_true]
        P = [anc[str(p)] for p in y_pred]
    except KeyError as e:
        raise ValueError(f"label {e.args[0]!r} is not a class of the tree") from None
    inter = np.array([len(t & p) for t, p in zip(T, P)], dtype=float)
    nt = np.array([len(t) for t in T], dtype=float)
    npred = np.array([len(p) for p in P], dtype=float)
    if average == "micro":
        p, r = inter.sum() / npred.sum(), inter.sum() / nt.sum()
    elif average == "macro":
        p, r = np.mean(inter / npred), np.mean(inter / nt)
    else:
        raise ValueError(f"average must be 'micro' or 'macro', got {average!r}")
    f = 0.0 if p + r == 0 else 2 * p * r / (p + r)
    return float(p), float(r), float(f)


def hierarchical_precision(y_true, y_pred, tree, average="micro"):
    return hierarchical_precision_recall_f1(y_true, y_pred, tree, average)[0]


def hierarchical_recall(y_true, y_pred, tree, average="micro"):
    return hierarchical_precision_recall_f1(y_true, y_pred, tree, average)[1]


def hierarchical_f1(y_true, y_pred, tree, average="micro"):
    return hierarchical_precision_recall_f1(y_true, y_pred, tree, average)[2]


def learning_efficiency(error_flat, error_hier):
    """The paper's learning efficiency: flat error / hierarchical error (> 1: the hierarchy helps)."""
    return float("inf") if error_hier == 0 else float(error_flat) / float(error_hier)


def adjusted_rand_index(labels_a, labels_b):
    """ARI of two partitions (e.g. induced vs true top-level groups); computed by strata's core."""
    from . import _core
    a = np.unique(np.asarray(labels_a), return_inverse=True)[1]
    b = np.unique(np.asarray(labels_b), return_inverse=True)[1]
    if len(a) != len(b):
        raise ValueError(f"partitions of different lengths: {len(a)} vs {len(b)}")
    return float(_core.adjusted_rand_index(a.tolist(), b.tolist()))
