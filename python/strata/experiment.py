"""strata.compare: flat (matched resources) vs induced tree vs random tree (vs a true tree) over several seeds, the
experiment behind `strata compare`, on numpy arrays; returns the CLI's table as a dict (or a pandas DataFrame)."""
import json

import numpy as np
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_array, check_X_y

from . import _core
from ._common import as_f32, progress_callback, seed_of, threads_of
from .tree import LabelTree, induce_params


def compare(X_train, y_train, X_test, y_test, *, per_class=0, seeds=10, random_state=0, estimator="forest",
            n_estimators=100, max_depth=None, min_samples_leaf=1, honest=False, l2=1e-4, true_tree=None,
            n_jobs=None, as_frame=False, verbose=False, callback=None, **induce):
    """Runs `strata compare` on arrays (copied once into the core's data sets). Returns {"rows": {name: row},
    "table": the CLI's text table, "induced_trees": [LabelTree per
    seed]}; with as_frame=True (needs pandas) a DataFrame of the rows instead. Induction keywords as induce_tree."""
    X_train, y_train = check_X_y(X_train, y_train, dtype=[np.float32, np.float64])
    X_test = check_array(X_test, dtype=[np.float32, np.float64])
    check_classification_targets(y_train)
    classes, ytr = np.unique(y_train, return_inverse=True)
    y_test = np.asarray(y_test)
    if X_test.shape[1] != X_train.shape[1]:
        raise ValueError(f"X_test has {X_test.shape[1]} features, X_train has {X_train.shape[1]}")
    if len(y_test) != X_test.shape[0]:
        raise ValueError(f"X_test has {X_test.shape[0]} rows but y_test has {len(y_test)} labels")
    unknown = np.setdiff1d(y_test, classes)
    if len(unknown):
        raise ValueError(f"y_test holds labels not in y_train: {unknown[:5].tolist()}")
    yte = np.searchsorted(classes, y_test)
    names = [str(c) for c in classes]
    threads = threads_of(n_jobs)
    seed = seed_of(random_state)
    learner = dict(kind=estimator, n_trees=int(n_estimators), max_depth=0 if max_depth is None else int(max_depth),
                   min_samples_leaf=int(min_samples_leaf), honest=bool(honest), l2=float(l2), seed=seed,
                   threads=threads)
    tt = None
    if true_tree is not None:
        t = true_tree if isinstance(true_tree, LabelTree) else LabelTree.from_dict(true_tree)
        tt = LabelTree({"classes": names, "tree": t.root}).to_json()
    r = _core.compare(as_f32(X_train), ytr.astype(np.int32), as_f32(X_test), yte.astype(np.int32), names, learner,
                      induce_params(seed, threads, **induce), int(per_class), int(seeds), seed, tt, threads,
                      progress_callback(verbose, callback))
    doc = json.loads(r["json"])
    out = {"rows": _rows(doc), "table": r["table"], "induced_trees": [LabelTree(t) for t in r["induced_trees"]],
           "raw": doc}
    if as_frame:
        import pandas as pd
        return pd.DataFrame.from_dict(out["rows"], orient="index")
    return out


def _rows(doc):
    """The CLI's JSON rows (flat, induced, random, true) without the embedded tree."""
    return {name: row for name, row in doc.items() if name != "induced_tree_seed0"}
