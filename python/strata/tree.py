"""LabelTree (strata's label tree: JSON in and out, DOT and SVG drawings, notebook display) and induce_tree, the
hierarchy induction pipeline (class-conditional representation -> embedding -> clustering) on numpy arrays."""
import json

import numpy as np
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_X_y

from . import _core
from ._common import as_f32, progress_callback, seed_of, threads_of


class LabelTree:
    """A label tree: every class in exactly one leaf, any depth. Stored as strata's JSON (what `strata induce`
    writes and `strata fit --tree` reads), so trees move freely between Python and the CLI."""

    def __init__(self, json_text):
        self._json = _core.tree_normalize(json_text if isinstance(json_text, str) else json.dumps(json_text))
        self._doc = json.loads(self._json)

    # -- construction ------------------------------------------------------------------------------------------
    @classmethod
    def from_json(cls, text):
        """From strata's JSON: {"classes": [...], "tree": {"name": ..., "children": [...]}}; leaves {"class": c}."""
        return cls(text)

    @classmethod
    def load(cls, path):
        with open(path, encoding="utf-8") as f:
            return cls(f.read())

    @classmethod
    def flat(cls, classes):
        return cls(_core.tree_flat([str(c) for c in classes]))

    @classmethod
    def from_groups(cls, groups):
        """From a list of groups of class names: [["cat", "dog"], ["car", "truck"]] -> a depth-2 tree."""
        return cls.from_dict({f"g{i}": list(g) for i, g in enumerate(groups)})

    @classmethod
    def from_dict(cls, spec, classes=None):
        """From a nested structure: a dict maps child names to subtrees, a list or tuple holds unnamed subtrees, and
        anything else is a class (a leaf); a dict value of None is a leaf named by its key.
        {"animal": ["cat", "dog"], "vehicle": {"car": None, "truck": None}}. `classes` fixes the class order
        (default: sorted)."""
        leaves = []

        def node(x, name=None):
            if isinstance(x, dict):
                ch = [node(v, str(k)) if v is not None else leaf(k) for k, v in x.items()]
            elif isinstance(x, (list, tuple)):
                ch = [node(v) for v in x]
            else:
                return leaf(x)
            out = {"children": ch}
            if name is not None:
                out["name"] = name
            return out

        def leaf(c):
            leaves.append(str(c))
            return {"class": str(c)}

        root = node(spec)
        if "class" in root:
            raise ValueError("a label tree needs at least one internal node; got a single class")
        if classes is None:
            classes = sorted(leaves)
        return cls({"classes": [str(c) for c in classes], "tree": root})

    # -- views -------------------------------------------------------------------------------------------------
    @property
    def classes(self):
        """Class names, in class-id order."""
        return list(self._doc["classes"])

    @property
    def root(self):
        """The tree as nested dicts (name, children; leaves: class)."""
        return self._doc["tree"]

    def groups(self):
        """The top-level partition: one list of class names per child of the root."""
        def under(n):
            return [n["class"]] if "class" in n else [c for ch in n["children"] for c in under(ch)]
        return [under(ch) for ch in self.root["children"]]

    @property
    def depth(self):
        def d(n):
            return 0 if "class" in n else 1 + max(d(ch) for ch in n["children"])
        return d(self.root)

    def to_dict(self):
        """The nested form from_dict reads: internal nodes as {name: subtree} dicts (or lists), leaves as names."""
        def conv(n):
            if "class" in n:
                return n["class"]
            kids = n["children"]
            if all("name" in k for k in kids if "class" not in k) and any("class" not in k for k in kids):
                return {k["name"] if "class" not in k else k["class"]: (None if "class" in k else conv(k))
                        for k in kids}
            return [conv(k) for k in kids]
        return conv(self.root)

    def to_json(self):
        return self._json

    def save(self, path):
        with open(path, "w", encoding="utf-8") as f:
            f.write(self._json)

    def to_dot(self):
        return _core.tree_to_dot(self._json)

    def to_svg(self):
        return _core.tree_to_svg(self._json)

    def _repr_svg_(self):  # Jupyter draws the tree
        return self.to_svg()

    def __eq__(self, other):
        return isinstance(other, LabelTree) and self._doc == other._doc

    def __hash__(self):
        return hash(self._json)

    def __repr__(self):
        return f"LabelTree({len(self.classes)} classes, depth {self.depth}, groups {self.groups()})"

    def __getstate__(self):
        return {"json": self._json}

    def __setstate__(self, state):
        self.__init__(state["json"])


# Induction parameters shared by induce_tree, HierarchicalClassifier and compare (the CLI's induce flags).
INDUCE_DEFAULTS = dict(method="means", embed="cmds", cluster="gmm", linkage="average", k_min=2, k_max=None,
                       dims=None, pca=None, negatives=5, reg_covar=3e-2, covariance=None)


def induce_params(seed, threads, **kw):
    p = dict(INDUCE_DEFAULTS)
    unknown = set(kw) - set(p)
    if unknown:
        raise TypeError(f"unknown induction parameter(s): {sorted(unknown)}")
    p.update({k: v for k, v in kw.items()})
    cov = p["covariance"]
    p["covariance"] = [] if cov is None else ([cov] if isinstance(cov, str) else list(cov))
    for k in ("k_max", "dims", "pca"):
        p[k] = 0 if p[k] is None else int(p[k])
    p.update(seed=seed, threads=threads, k_min=int(p["k_min"]), negatives=int(p["negatives"]),
             reg_covar=float(p["reg_covar"]))
    return p


def induce_encoded(X32, y_enc, class_names, params, callback=None):
    """Induction on encoded labels (ids into class_names); returns (LabelTree, detail)."""
    r = _core.induce(X32, y_enc, list(class_names), params, callback)
    return LabelTree(r["tree"]), r["detail"]


def induce_tree(X, y, method="means", embed="cmds", cluster="gmm", k_min=2, k_max=None, random_state=0, *,
                linkage="average", dims=None, pca=None, negatives=5, reg_covar=3e-2, covariance=None, n_jobs=None,
                verbose=False, callback=None):
    """Induce a label tree from data, as `strata induce` does: method means|mmd|tasksim, embed none|cmds|ase,
    cluster gmm|agglomerative|kmeans, k_min..k_max top-level groups (k_max None: half the classes).
    Leaves are named str(c) for the sorted classes c of y. The data are copied once into the core's data set."""
    X, y = check_X_y(X, y, dtype=[np.float32, np.float64])
    check_classification_targets(y)
    classes, y_enc = np.unique(y, return_inverse=True)
    if len(classes) < 2:
        raise ValueError(f"induce_tree needs at least 2 classes; y has {len(classes)}")
    params = induce_params(seed_of(random_state), threads_of(n_jobs), method=method, embed=embed, cluster=cluster,
                           linkage=linkage, k_min=k_min, k_max=k_max, dims=dims, pca=pca, negatives=negatives,
                           reg_covar=reg_covar, covariance=covariance)
    tree, _ = induce_encoded(as_f32(X), y_enc.astype(np.int32), [str(c) for c in classes], params,
                             progress_callback(verbose, callback))
    return tree
