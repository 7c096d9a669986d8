"""scikit-learn estimators over strata's C++ hierarchy toolkit: RandomForestClassifier (strata's forest) and
HierarchicalClassifier (a local classifier per parent node of an induced, random, flat or given label tree).
Native learners fit and predict in C++ without the GIL; a scikit-learn estimator as the node learner is cloned per
node and runs in Python. Fitted native models pickle as strata's .strata bytes (what `strata fit` writes)."""
import os
import tempfile

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted

from . import _core
from ._common import as_f32, progress_callback, seed_of, threads_of, validate
from .tree import LabelTree, induce_encoded, induce_params

_NATIVE = ("forest", "logistic")


def _model_bytes(model):
    """A fitted core model as the bytes of its .strata file."""
    with tempfile.TemporaryDirectory(prefix="strata-") as d:
        path = os.path.join(d, "model.strata")
        model.save(path)
        with open(path, "rb") as f:
            return f.read()


def _model_from_bytes(data):
    with tempfile.TemporaryDirectory(prefix="strata-") as d:
        path = os.path.join(d, "model.strata")
        with open(path, "wb") as f:
            f.write(data)
        return _core.Model.load(path)


class _StrataClassifier(ClassifierMixin, BaseEstimator):
    """Fit/predict plumbing shared by the estimators: validation, label encoding, the core model, pickling."""

    def _encode(self, X, y):
        X, y = validate(self, X, y)
        check_classification_targets(y)
        classes, y_enc = np.unique(y, return_inverse=True)
        self.classes_ = classes
        return X, y_enc.astype(np.int32)

    def _class_names(self):
        return [str(c) for c in self.classes_]

    def _learner(self, kind, seed, threads):
        max_depth = getattr(self, "max_depth", None)
        p = dict(kind=kind, n_trees=int(getattr(self, "n_estimators", 100)), max_depth=0 if max_depth is None
                 else int(max_depth), min_samples_leaf=int(getattr(self, "min_samples_leaf", 1)),
                 honest=bool(getattr(self, "honest", False)), l2=float(getattr(self, "l2", 1e-4)), seed=seed,
                 threads=threads)
        if p["n_trees"] < 1:
            raise ValueError(f"n_estimators must be at least 1, got {p['n_trees']}")
        if p["max_depth"] < 0:
            raise ValueError(f"max_depth must be None or non-negative, got {max_depth}")
        if p["min_samples_leaf"] < 1:
            raise ValueError(f"min_samples_leaf must be at least 1, got {p['min_samples_leaf']}")
        return p

    def _fit_native(self, X32, y_enc, tree, learner, routing, seed, threads):
        model = _core.Model()
        model.fit(X32, y_enc, tree.to_json(), learner, routing, seed, threads,
                  progress_callback(getattr(self, "verbose", 0), getattr(self, "callback", None)))
        self._model = model

    def predict_proba(self, X):
        """Class probabilities, (n_samples, n_classes) float64, columns in the order of classes_ (sorted)."""
        check_is_fitted(self)
        X = validate(self, X, reset=False)
        return self._proba(X)

    def _proba(self, X):
        return self._model.predict_proba(as_f32(X)).astype(np.float64)

    def predict(self, X):
        """The most probable class (ties go to the first in classes_, as in the CLI)."""
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]

    def save(self, path):
        """Writes the fitted model as a .strata file that `strata predict/evaluate --model` read (native only)."""
        check_is_fitted(self)
        if getattr(self, "_model", None) is None:
            raise ValueError("only native (forest/logistic) models have a .strata file")
        self._model.save(os.fspath(path))

    def __getstate__(self):
        state = dict(self.__dict__)
        if state.get("_model") is not None:
            state["_model"] = _model_bytes(state["_model"])
        return state

    def __setstate__(self, state):
        state = dict(state)
        if isinstance(state.get("_model"), bytes):
            state["_model"] = _model_from_bytes(state["_model"])
        self.__dict__.update(state)


class RandomForestClassifier(_StrataClassifier):
    """strata's random forest (CART with gini on pre-binned features, bootstrap, sqrt(d) features per split,
    optional honest trees), fitted in C++. The same data and random_state give the model `strata fit --tree flat
    --trees N --seed S` gives: identical probabilities and model file.

    Parameters: n_estimators, max_depth (None: unlimited), min_samples_leaf, honest, random_state (int: the CLI's
    --seed; None: a fresh seed per fit), n_jobs (None/-1: all cores; results never depend on it), verbose, callback
    (called with each progress event as a dict)."""

    def __init__(self, n_estimators=100, *, max_depth=None, min_samples_leaf=1, honest=False, random_state=None,
                 n_jobs=None, verbose=0, callback=None):
        self.n_estimators = n_estimators
        self.max_depth = max_depth
        self.min_samples_leaf = min_samples_leaf
        self.honest = honest
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.verbose = verbose
        self.callback = callback

    def fit(self, X, y):
        X, y_enc = self._encode(X, y)
        seed, threads = seed_of(self.random_state), threads_of(self.n_jobs)
        learner = self._learner("forest", seed, threads)
        self._fit_native(as_f32(X), y_enc, LabelTree.flat(self._class_names()), learner, "soft", seed, threads)
        return self


class HierarchicalClassifier(_StrataClassifier):
    """A classifier per parent node of a label tree, combined by the product rule P(y|x) = prod over the path of
    P(child | x, node) (routing="soft") or by following the most probable child (routing="hard").

    tree: "induced" (induce one from the training data with the induction parameters, as `strata induce`),
    "random" (a random tree with the induced tree's group sizes), "flat", a LabelTree, or a nested dict/list of
    class labels (see LabelTree.from_dict). With fewer than 3 classes "induced" and "random" are flat.
    estimator: "forest" or "logistic" (fitted in C++, as `strata fit --learner`), or any scikit-learn classifier
    with predict_proba, cloned and fitted per node in Python.
    Forest parameters: n_estimators, max_depth, min_samples_leaf, honest (per node model); logistic: l2.
    Induction parameters: method, embed, cluster, linkage, k_min, k_max, dims, pca, negatives, reg_covar,
    covariance (the CLI's induce flags). After fit: tree_ (LabelTree), classes_, n_features_in_."""

    def __init__(self, tree="induced", estimator="forest", routing="soft", *, n_estimators=100, max_depth=None,
                 min_samples_leaf=1, honest=False, l2=1e-4, method="means", embed="cmds", cluster="gmm",
                 linkage="average", k_min=2, k_max=None, dims=None, pca=None, negatives=5, reg_covar=3e-2,
                 covariance=None, random_state=None, n_jobs=None, verbose=0, callback=None):
        self.tree = tree
        self.estimator = estimator
        self.routing = routing
        self.n_estimators = n_estimators
        self.max_depth = max_depth
        self.min_samples_leaf = min_samples_leaf
        self.honest = honest
        self.l2 = l2
        self.method = method
        self.embed = embed
        self.cluster = cluster
        self.linkage = linkage
        self.k_min = k_min
        self.k_max = k_max
        self.dims = dims
        self.pca = pca
        self.negatives = negatives
        self.reg_covar = reg_covar
        self.covariance = covariance
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.verbose = verbose
        self.callback = callback

    def _induce_kwargs(self):
        return dict(method=self.method, embed=self.embed, cluster=self.cluster, linkage=self.linkage,
                    k_min=self.k_min, k_max=self.k_max, dims=self.dims, pca=self.pca, negatives=self.negatives,
                    reg_covar=self.reg_covar, covariance=self.covariance)

    def _resolve_tree(self, X32, y_enc, names, seed, threads):
        t = self.tree
        if isinstance(t, str):
            if t not in ("induced", "random", "flat"):
                raise ValueError(f"tree must be 'induced', 'random', 'flat', a LabelTree or a nested dict; got {t!r}")
            if t == "flat" or len(names) < 3:
                return LabelTree.flat(names)
            params = induce_params(seed, threads, **self._induce_kwargs())
            cb = progress_callback(self.verbose, self.callback)
            tree, detail = induce_encoded(X32, y_enc, names, params, cb)
            if cb is not None:  # the line `strata fit` prints
                cb({"event": "message", "text": f"induced {len(tree.groups())} groups ({detail})"})
            if t == "random":  # the CLI's fit --tree random: derive_seed(seed, 7)
                tree = LabelTree(_core.tree_random_like(tree.to_json(), _core.derive_seed(seed, 7)))
            return tree
        given = t if isinstance(t, LabelTree) else LabelTree.from_dict(t)
        if sorted(given.classes) != sorted(names):
            missing, extra = sorted(set(names) - set(given.classes)), sorted(set(given.classes) - set(names))
            raise ValueError(f"the tree's classes differ from the classes of y (as str): missing from the tree "
                             f"{missing}, not in y {extra}")
        doc = {"classes": names, "tree": given.root}  # class ids in the order of classes_
        return LabelTree(doc)

    def fit(self, X, y):
        if self.routing not in ("soft", "hard"):
            raise ValueError(f"routing must be 'soft' or 'hard', got {self.routing!r}")
        X, y_enc = self._encode(X, y)
        names = self._class_names()
        seed, threads = seed_of(self.random_state), threads_of(self.n_jobs)
        X32 = as_f32(X)
        native = isinstance(self.estimator, str)
        if native and self.estimator not in _NATIVE:
            raise ValueError(f"estimator must be 'forest', 'logistic' or a scikit-learn classifier; "
                             f"got {self.estimator!r}")
        if not native and not hasattr(self.estimator, "predict_proba"):
            raise ValueError(f"estimator {self.estimator!r} has no predict_proba")
        learner = self._learner(self.estimator if native else "forest", seed, threads)
        self.tree_ = self._resolve_tree(X32, y_enc, names, seed, threads)
        if native:
            self._fit_native(X32, y_enc, self.tree_, learner, self.routing, seed, threads)
            self._nodes = None
        else:
            self._model = None
            self._nodes = _fit_python_nodes(self.tree_, names, X, y_enc, self.estimator)
        return self

    def _proba(self, X):
        if self._model is not None:
            self._model.set_routing(self.routing)
            return super()._proba(X)
        # Python node learners see X as validated, in fit and here alike (no float32 conversion)
        out = np.zeros((X.shape[0], len(self.classes_)))
        _predict_python_nodes(self._nodes, X, out, self.routing == "hard")
        return out


# -- a scikit-learn estimator per node (Python) ------------------------------------------------------------------
def _fit_python_nodes(tree, names, X, y_enc, estimator):
    """Fits clone(estimator) at every internal node with >= 2 children that have rows. Returns one dict per node of
    `tree` (index = node id, 0 the root): {"class": id} for leaves, {"children", "model", "local"} for internal
    nodes (local: model label -> child index). Loops, not recursion: any depth the tree may have."""
    ids = {n: i for i, n in enumerate(names)}
    kids, order = tree._kids, tree._preorder()
    under = [None] * len(kids)  # class ids under each node
    for v in reversed(order):  # children before their parent
        if tree._class_ids[v] >= 0:
            under[v] = [ids[tree._classes[tree._class_ids[v]]]]
        else:
            under[v] = [c for k in kids[v] for c in under[k]]
    nodes = [None] * len(kids)
    for v in order:
        if tree._class_ids[v] >= 0:
            nodes[v] = {"class": under[v][0]}
            continue
        child_of = np.full(len(names), -1)
        for i, k in enumerate(kids[v]):
            child_of[under[k]] = i
        rows = np.flatnonzero(child_of[y_enc] >= 0)
        local = np.unique(child_of[y_enc[rows]])
        model = clone(estimator).fit(X[rows], child_of[y_enc[rows]]) if len(local) >= 2 else None
        nodes[v] = {"children": list(kids[v]), "local": local, "model": model}
    return nodes


def _predict_python_nodes(nodes, X, out, hard):
    """out[:, c] = the product of the routing probabilities on the path to class c (hard: 0/1 along the argmax)."""
    stack = [(0, np.ones(X.shape[0]))]
    while stack:
        v, reach = stack.pop()
        n = nodes[v]
        if "class" in n:
            out[:, n["class"]] = reach
            continue
        m = len(n["children"])
        cp = np.zeros((X.shape[0], m))
        if n["model"] is not None:
            cp[:, n["model"].classes_] = n["model"].predict_proba(X)
        elif len(n["local"]) == 1:
            cp[:, n["local"][0]] = 1.0
        else:
            cp[:] = 1.0 / m
        if hard:  # the argmax child gets everything (ties: the first child)
            cp = np.eye(m)[np.argmax(cp, axis=1)]
        for i, ch in enumerate(n["children"]):
            stack.append((ch, reach * cp[:, i]))
