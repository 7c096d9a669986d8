"""The scikit-learn conventions of RandomForestClassifier and HierarchicalClassifier: fitted attributes, sorted
probability columns, labels of any type, pickling through .strata bytes, meta-estimators, routing, trees given in
every accepted form, Python node learners, and strata's errors as Python exceptions."""
import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import strata


def test_forest_fit_predict_conventions(blobs):
    X, y, _ = blobs
    clf = strata.RandomForestClassifier(n_estimators=10, random_state=0)
    assert clf.fit(X, y) is clf
    assert list(clf.classes_) == sorted(set(y))
    assert clf.n_features_in_ == X.shape[1]
    p = clf.predict_proba(X)
    assert p.shape == (len(X), 9)
    np.testing.assert_allclose(p.sum(axis=1), 1, atol=1e-5)
    assert clf.score(X, y) > 0.95
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[p.argmax(axis=1)])


def test_string_labels_keep_sorted_columns(blobs):
    X, y, _ = blobs
    names = np.array(["zebra", "ant", "moth", "bee", "cat", "dog", "eel", "fox", "gnu"])[y]
    clf = strata.RandomForestClassifier(n_estimators=10, random_state=1).fit(X, names)
    assert list(clf.classes_) == sorted(set(names))
    # the column of "ant" predicts the rows labelled "ant"
    col = list(clf.classes_).index("ant")
    assert clf.predict_proba(X[names == "ant"])[:, col].mean() > 0.8
    assert set(clf.predict(X)) <= set(names)


def test_same_seed_same_model_and_threads_do_not_matter(blobs):
    X, y, _ = blobs
    a = strata.RandomForestClassifier(n_estimators=8, random_state=3, n_jobs=1).fit(X, y).predict_proba(X)
    b = strata.RandomForestClassifier(n_estimators=8, random_state=3, n_jobs=2).fit(X, y).predict_proba(X)
    c = strata.RandomForestClassifier(n_estimators=8, random_state=4).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_float64_and_fortran_input_give_the_float32_result(blobs):
    X, y, _ = blobs
    ref = strata.RandomForestClassifier(n_estimators=5, random_state=0).fit(X, y).predict_proba(X)
    for Xi in (X.astype(np.float64), np.asfortranarray(X)):
        p = strata.RandomForestClassifier(n_estimators=5, random_state=0).fit(Xi, y).predict_proba(Xi)
        np.testing.assert_array_equal(p, ref)


def test_pickle_round_trips_through_strata_bytes(blobs):
    X, y, _ = blobs
    for clf in (strata.RandomForestClassifier(n_estimators=5, random_state=0),
                strata.HierarchicalClassifier(estimator="logistic", random_state=0)):
        clf.fit(X, y)
        state = clf.__getstate__()
        assert state["_model"][:12] == b"STRATA-HIER\n"  # the .strata file format, not a Python object
        back = pickle.loads(pickle.dumps(clf))
        np.testing.assert_array_equal(back.predict_proba(X), clf.predict_proba(X))
        assert back.get_params() == clf.get_params()


def test_hierarchical_induced_tree_finds_the_groups(blobs):
    X, y, goc = blobs
    clf = strata.HierarchicalClassifier(n_estimators=10, random_state=0).fit(X, y)
    assert isinstance(clf.tree_, strata.LabelTree)
    got = sorted(sorted(int(c) for c in g) for g in clf.tree_.groups())
    want = sorted(sorted(c for c in range(9) if goc[c] == g) for g in range(3))
    assert got == want
    assert clf.score(X, y) > 0.95


def test_hard_routing_is_one_hot_and_soft_is_not(blobs):
    X, y, _ = blobs
    hard = strata.HierarchicalClassifier(routing="hard", n_estimators=5, random_state=0).fit(X, y)
    p = hard.predict_proba(X)
    assert set(np.unique(p)) <= {0.0, 1.0}
    soft = clone(hard).set_params(routing="soft").fit(X, y)
    assert len(np.unique(soft.predict_proba(X))) > 2


def test_tree_given_as_dict_labeltree_flat_or_random(blobs):
    X, y, goc = blobs
    groups = {f"g{g}": [c for c in range(9) if goc[c] == g] for g in range(3)}
    a = strata.HierarchicalClassifier(tree=groups, estimator="logistic", random_state=0).fit(X, y)
    assert sorted(map(sorted, a.tree_.groups())) == sorted(sorted(str(c) for c in v) for v in groups.values())
    b = strata.HierarchicalClassifier(tree=a.tree_, estimator="logistic", random_state=0).fit(X, y)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    flat = strata.HierarchicalClassifier(tree="flat", estimator="logistic", random_state=0).fit(X, y)
    assert flat.tree_.depth == 1
    rnd = strata.HierarchicalClassifier(tree="random", n_estimators=5, random_state=0).fit(X, y)
    assert sorted(map(len, rnd.tree_.groups())) == sorted(map(len, groups.values()))
    with pytest.raises(ValueError, match="missing from the tree"):
        strata.HierarchicalClassifier(tree={"a": [0, 1], "b": [2]}).fit(X, y)


def test_python_estimator_is_cloned_per_node(blobs):
    X, y, goc = blobs
    groups = [[c for c in range(9) if goc[c] == g] for g in range(3)]
    base = LogisticRegression(max_iter=500)
    clf = strata.HierarchicalClassifier(tree=groups, estimator=base).fit(X, y)
    assert not hasattr(base, "coef_")  # the given estimator stays unfitted
    nodes = clf._nodes  # one per tree node, 0 the root
    root, first = nodes[0], nodes[nodes[0]["children"][0]]
    assert root["model"] is not first["model"]
    p = clf.predict_proba(X)
    np.testing.assert_allclose(p.sum(axis=1), 1, atol=1e-9)
    assert clf.score(X, y) > 0.95
    # the product rule: P(class) = P(group) * P(class | group)
    g0 = root["model"].predict_proba(X[:3])[:, 0]
    c0 = first["model"].predict_proba(X[:3])[:, 0]
    np.testing.assert_allclose(p[:3, groups[0][0]], g0 * c0)


def test_pipeline_gridsearch_and_cross_val_score(blobs):
    X, y, _ = blobs
    pipe = make_pipeline(StandardScaler(), strata.HierarchicalClassifier(estimator="logistic", random_state=0))
    assert cross_val_score(pipe, X, y, cv=3).mean() > 0.9
    gs = GridSearchCV(strata.RandomForestClassifier(random_state=0), {"n_estimators": [2, 6], "max_depth": [1, None]},
                      cv=2).fit(X, y)
    assert gs.best_params_["max_depth"] is None
    assert gs.best_estimator_.n_estimators in (2, 6)


def test_errors_become_python_exceptions(blobs, tmp_path):
    X, y, _ = blobs
    clf = strata.RandomForestClassifier(n_estimators=2, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="features"):
        clf.predict(X[:, :3])
    with pytest.raises(FileNotFoundError, match="cannot open"):
        strata._core.Model.load(str(tmp_path / "missing.strata"))
    bad = tmp_path / "bad.strata"
    bad.write_bytes(b"STRATA-HIER\n\x01\x00")
    with pytest.raises(ValueError, match="bad.strata"):
        strata._core.Model.load(str(bad))
    with pytest.raises(ValueError, match="cluster"):
        strata.induce_tree(X, y, cluster="nope")
    with pytest.raises(ValueError, match="n_estimators"):
        strata.RandomForestClassifier(n_estimators=0).fit(X, y)


def test_single_class_predicts_it(blobs):
    X, _, _ = blobs
    y = np.full(len(X), 7)
    clf = strata.HierarchicalClassifier(n_estimators=3, random_state=0).fit(X, y)
    assert (clf.predict(X) == 7).all()
