"""LabelTree (strata's label tree: JSON in and out, DOT and SVG drawings, notebook display) and induce_tree, the
hierarchy induction pipeline (class-conditional representation -> embedding -> clustering) on numpy arrays."""
import json

import numpy as np
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_X_y

from . import _core
from ._common import as_f32, progress_callback, seed_of, threads_of


class _Raw(str):
    """JSON text that _dumps copies as is."""


def _dumps(obj):
    """json.dumps without recursion: the json module stops near 1000 levels, strata's trees nest up to 20 002."""
    out, stack = [], [obj]
    while stack:
        x = stack.pop()
        if isinstance(x, _Raw):
            out.append(x)
        elif isinstance(x, dict):
            items = list(x.items())
            out.append("{")
            stack.append(_Raw("}"))
            for j in range(len(items) - 1, -1, -1):
                stack.append(items[j][1])
                stack.append(_Raw(("," if j else "") + json.dumps(str(items[j][0])) + ":"))
        elif isinstance(x, (list, tuple)):
            out.append("[")
            stack.append(_Raw("]"))
            for j in range(len(x) - 1, -1, -1):
                stack.append(x[j])
                if j:
                    stack.append(_Raw(","))
        else:
            out.append(json.dumps(x))
    return "".join(out)


class LabelTree:
    """A label tree: every class in exactly one leaf, any depth. Stored as strata's JSON (what `strata induce`
    writes and `strata fit --tree` reads), so trees move freely between Python and the CLI. Every operation is a
    loop, not a recursion: a tree as deep as the CLI reads (10 000 levels) works here too."""

    def __init__(self, json_text):
        self._json = _core.tree_normalize(json_text if isinstance(json_text, str) else _dumps(json_text))
        self._classes, self._kids, self._names, self._class_ids = _core.tree_nodes(self._json)

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

        def leaf(c):
            leaves.append(str(c))
            return {"class": str(c)}

        top = [None]
        stack = [(spec, None, top, 0)]  # (subtree, its name, the list its node goes into, the position there)
        while stack:
            x, name, dst, i = stack.pop()
            if isinstance(x, dict):
                kids = [(v, str(k)) if v is not None else (k, leaf) for k, v in x.items()]
            elif isinstance(x, (list, tuple)):
                kids = [(v, None) for v in x]
            else:
                dst[i] = leaf(x)
                continue
            ch = [None] * len(kids)
            dst[i] = {"children": ch} if name is None else {"name": name, "children": ch}
            for j, (v, nm) in enumerate(kids):
                if nm is leaf:
                    ch[j] = leaf(v)
                else:
                    stack.append((v, nm, ch, j))
        root = top[0]
        if "class" in root:
            raise ValueError("a label tree needs at least one internal node; got a single class")
        if classes is None:
            classes = sorted(leaves)
        return cls({"classes": [str(c) for c in classes], "tree": root})

    # -- the nodes (node 0 is the root) --------------------------------------------------------------------------
    def _preorder(self):
        order, stack = [], [0]
        while stack:
            v = stack.pop()
            order.append(v)
            stack.extend(reversed(self._kids[v]))
        return order

    def _parents(self):
        parent = [-1] * len(self._kids)
        for v, kids in enumerate(self._kids):
            for k in kids:
                parent[k] = v
        return parent

    def _classes_under(self, v):
        out, stack = [], [v]
        while stack:
            u = stack.pop()
            if self._class_ids[u] >= 0:
                out.append(self._classes[self._class_ids[u]])
            stack.extend(reversed(self._kids[u]))
        return out

    def _node_dict(self, v):
        if self._class_ids[v] >= 0:
            return {"class": self._classes[self._class_ids[v]]}
        d = {} if self._names[v] is None else {"name": self._names[v]}
        d["children"] = []
        return d

    # -- views -------------------------------------------------------------------------------------------------
    @property
    def classes(self):
        """Class names, in class-id order."""
        return list(self._classes)

    @property
    def root(self):
        """The tree as nested dicts (name, children; leaves: class). A fresh copy on every call."""
        made = [self._node_dict(v) for v in range(len(self._kids))]
        for v, kids in enumerate(self._kids):
            if kids:
                made[v]["children"] = [made[k] for k in kids]
        return made[0]

    def groups(self):
        """The top-level partition: one list of class names per child of the root."""
        return [self._classes_under(ch) for ch in self._kids[0]]

    @property
    def depth(self):
        depth = [0] * len(self._kids)
        for v in self._preorder():
            for k in self._kids[v]:
                depth[k] = depth[v] + 1
        return max(depth)

    def to_dict(self):
        """The nested form from_dict reads: internal nodes as {name: subtree} dicts (or lists), leaves as names."""
        conv = [None] * len(self._kids)
        for v in reversed(self._preorder()):  # children before their parent
            if self._class_ids[v] >= 0:
                conv[v] = self._classes[self._class_ids[v]]
                continue
            kids = self._kids[v]
            inner = [k for k in kids if self._class_ids[k] < 0]
            if inner and all(self._names[k] is not None for k in inner):
                conv[v] = {(self._names[k] if self._class_ids[k] < 0 else conv[k]):
                           (conv[k] if self._class_ids[k] < 0 else None) for k in kids}
            else:
                conv[v] = [conv[k] for k in kids]
        return conv[0]

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

    def __eq__(self, other):  # the JSON is canonical: strata wrote it from the parsed tree
        return isinstance(other, LabelTree) and self._json == other._json

    def __hash__(self):
        return hash(self._json)

    def __repr__(self):
        groups = self.groups() if len(self._classes) <= 32 else f"{len(self._kids[0])} top-level groups"
        return f"LabelTree({len(self._classes)} classes, depth {self.depth}, groups {groups})"

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
