"""LabelTree (JSON in/out shared with the CLI, nested-dict form, groups, drawings), induce_tree, compare and the
metrics module."""
import json

import numpy as np
import pytest

import strata
from strata import metrics
from conftest import run_cli


def test_labeltree_round_trips_and_draws():
    t = strata.LabelTree.from_dict({"animal": ["cat", "dog"], "vehicle": {"car": None, "truck": None}})
    assert t.classes == ["car", "cat", "dog", "truck"]
    assert t.groups() == [["cat", "dog"], ["car", "truck"]]
    assert t.depth == 2
    assert strata.LabelTree.from_json(t.to_json()) == t
    assert strata.LabelTree.from_dict(t.to_dict()) == t
    svg = t._repr_svg_()
    assert svg.lstrip().startswith("<svg") or svg.lstrip().startswith("<?xml")
    assert "truck" in svg and "truck" in t.to_dot()
    with pytest.raises(ValueError, match="not in"):
        strata.LabelTree({"classes": ["a"], "tree": {"children": [{"class": "b"}]}})


def test_induce_tree_recovers_groups_and_matches_the_cli(blobs, strata_bin, tmp_path):
    X, y, goc = blobs
    t = strata.induce_tree(X, y, random_state=0)
    assert sorted(map(sorted, t.groups())) == sorted(
        sorted(str(c) for c in range(9) if goc[c] == g) for g in range(3))
    np.save(tmp_path / "x.npy", X)
    np.save(tmp_path / "y.npy", y)
    run_cli(strata_bin, "induce", "--train", tmp_path / "x.npy", "--labels", tmp_path / "y.npy", "--seed", 0,
            "--out", tmp_path / "tree.json")
    assert strata.LabelTree.load(tmp_path / "tree.json") == t
    t2 = strata.induce_tree(X, y, cluster="agglomerative", linkage="ward")
    assert t2.depth >= 2


def test_compare_returns_the_cli_table(blobs, strata_bin, tmp_path):
    X, y, goc = blobs
    truth = [[c for c in range(9) if goc[c] == g] for g in range(3)]
    r = strata.compare(X[::2], y[::2], X[1::2], y[1::2], seeds=2, n_estimators=4, true_tree=truth, random_state=5)
    assert list(r["rows"]) == ["flat", "induced", "random", "true"]
    assert r["rows"]["induced"]["ari"] == pytest.approx(1.0)
    assert len(r["rows"]["flat"]["per_seed_accuracy"]) == 2
    assert "induced" in r["table"] and len(r["induced_trees"]) == 2
    # the CLI on the same data, seed and settings prints the same accuracies
    for name, part in (("train", slice(0, None, 2)), ("test", slice(1, None, 2))):
        np.save(tmp_path / f"{name}.npy", X[part])
        np.save(tmp_path / f"{name}-y.npy", y[part])
    strata.LabelTree.from_dict(truth, classes=[str(c) for c in range(9)]).save(tmp_path / "true.json")
    run_cli(strata_bin, "compare", "--train", tmp_path / "train.npy", "--train-labels", tmp_path / "train-y.npy",
            "--test", tmp_path / "test.npy", "--test-labels", tmp_path / "test-y.npy", "--seeds", 2, "--trees", 4,
            "--seed", 5, "--true-tree", tmp_path / "true.json", "--json", tmp_path / "r.json")
    cli = json.loads((tmp_path / "r.json").read_text())
    for name in ("flat", "induced", "random", "true"):
        assert cli[name]["per_seed_accuracy"] == r["rows"][name]["per_seed_accuracy"]


def test_metrics():
    tree = strata.LabelTree.from_dict({"A": ["a1", "a2"], "B": ["b1", "b2"]})
    # a sibling mistake keeps the shared ancestor: 1 of 2 nodes right
    assert metrics.hierarchical_precision_recall_f1(["a1"], ["a2"], tree) == (0.5, 0.5, 0.5)
    # micro sums over samples: 2 of 4 predicted nodes right, 2 of 4 true nodes found
    assert metrics.hierarchical_f1(["a1", "b1"], ["a1", "a2"], tree) == pytest.approx(0.5)
    assert metrics.hierarchical_precision(["a1"], ["b1"], tree, average="macro") == 0.0
    assert metrics.adjusted_rand_index([0, 0, 1, 1], [5, 5, 7, 7]) == pytest.approx(1.0)
    assert metrics.learning_efficiency(0.2, 0.1) == 2.0


def _chain(depth):
    """A caterpillar tree: one class leaves at each level, two at the bottom (depth edges to the deepest leaf)."""
    spec = ["c0", "c1"]
    for i in range(2, depth + 1):
        spec = [f"c{i}", spec]
    return spec


def test_deep_trees_work_everywhere_without_recursion():
    # 3000 levels: past Python's recursion limit (1000) and json's, within strata's 10 000
    depth = 3000
    t = strata.LabelTree.from_dict(_chain(depth))
    assert t.depth == depth and len(t.classes) == depth + 1
    assert t.groups()[0] == [f"c{depth}"] and len(t.groups()[1]) == depth
    assert strata.LabelTree.from_json(t.to_json()) == t
    assert strata.LabelTree.from_dict(t.to_dict()) == t
    assert strata.LabelTree({"classes": t.classes, "tree": t.root}) == t
    n, levels = t.root, 0
    while "children" in n:
        n, levels = n["children"][-1], levels + 1
    assert levels == depth and n == {"class": "c1"}
    assert "c0" in t.to_dot() and "LabelTree(3001 classes, depth 3000" in repr(t)
    import pickle
    assert pickle.loads(pickle.dumps(t)) == t
    # hierarchical metrics on the deep tree: c1 vs its sibling c0 share every ancestor but the leaf
    assert metrics.hierarchical_precision(["c1"], ["c0"], t) == pytest.approx((depth - 1) / depth)


def test_deep_tree_in_a_python_node_estimator():
    from sklearn.tree import DecisionTreeClassifier
    depth = 1500  # a model per level, past the recursion limit: each splits its level's class from those below
    y = np.repeat(np.arange(depth + 1), 2)
    X = y[:, None].astype(float)
    clf = strata.HierarchicalClassifier(estimator=DecisionTreeClassifier(max_depth=1), tree=_chain(depth))
    clf.fit(X, [f"c{i}" for i in y])
    p = clf.predict_proba(X[::300])
    assert p.shape == (len(X[::300]), depth + 1) and np.allclose(p.sum(axis=1), 1.0)
    assert list(clf.predict(X[::300])) == [f"c{i}" for i in y[::300]]


def test_trees_past_the_depth_limit_are_refused_with_a_clear_error():
    with pytest.raises(ValueError, match="deep|depth|nest"):
        strata.LabelTree.from_dict(_chain(10050))
