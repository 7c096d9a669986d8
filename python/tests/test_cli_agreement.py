"""Python and the CLI agree: the same .npy data and seed give the same model file (byte for byte, apart from the
recorded fit seconds) and the same probabilities; models move both ways."""
import struct

import numpy as np
import pytest

import strata
from conftest import run_cli


def fit_seconds_offset(data):
    """Byte offset of the fit-seconds double in a .strata file (hierarchical.cpp, save()): the one field that
    differs between two fits of the same model."""
    off = 12 + 4 + 1 + 8 + 4
    (n,) = struct.unpack_from("<Q", data, off)
    off += 8 + n  # learner kind
    off += 4 * 4 + 1 + 1 + 8 + 8 + 4 + 8 + 4 + 8 + 1 + 4  # forest and logistic config
    (n,) = struct.unpack_from("<Q", data, off)
    off += 8 + n  # tree JSON
    (k,) = struct.unpack_from("<Q", data, off)
    off += 8
    for _ in range(k):
        (n,) = struct.unpack_from("<Q", data, off)
        off += 8 + n
    return off + 8  # after the feature count


def masked(data):
    off = fit_seconds_offset(data)
    return data[:off] + b"\0" * 8 + data[off + 8:]


@pytest.mark.parametrize("tree,learner", [("flat", "forest"), ("induced", "forest"), ("induced", "logistic")])
def test_same_model_file_and_probabilities(blobs, strata_bin, tmp_path, tree, learner):
    X, y, _ = blobs
    np.save(tmp_path / "x.npy", X)
    np.save(tmp_path / "y.npy", y)
    cli_model = tmp_path / "cli.strata"
    run_cli(strata_bin, "fit", "--train", tmp_path / "x.npy", "--labels", tmp_path / "y.npy", "--tree", tree,
            "--learner", learner, "--trees", 7, "--seed", 11, "--out", cli_model)
    if tree == "flat" and learner == "forest":
        py = strata.RandomForestClassifier(n_estimators=7, random_state=11)
    else:
        py = strata.HierarchicalClassifier(tree=tree, estimator=learner, n_estimators=7, random_state=11)
    py.fit(X, y)
    py.save(tmp_path / "py.strata")
    a, b = cli_model.read_bytes(), (tmp_path / "py.strata").read_bytes()
    assert len(a) == len(b)
    assert masked(a) == masked(b)
    # the CLI's model loaded in Python predicts exactly what the Python-fitted one does
    cli_loaded = strata._core.Model.load(str(cli_model))
    np.testing.assert_array_equal(cli_loaded.predict_proba(X).astype(np.float64), py.predict_proba(X))
    # and strata predict --proba writes those probabilities (to its 6 significant digits)
    run_cli(strata_bin, "predict", "--model", tmp_path / "py.strata", "--data", tmp_path / "x.npy", "--labels",
            tmp_path / "y.npy", "--proba", "--out", tmp_path / "pred.csv")
    rows = np.genfromtxt(tmp_path / "pred.csv", delimiter=",", skip_header=1)
    np.testing.assert_allclose(rows[:, 3:], py.predict_proba(X), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(rows[:, 1].astype(int), py.predict(X))


def test_fit_seconds_is_where_the_mask_says(blobs, tmp_path):
    X, y, _ = blobs
    clf = strata.RandomForestClassifier(n_estimators=2, random_state=0).fit(X, y)
    clf.save(tmp_path / "m.strata")
    data = (tmp_path / "m.strata").read_bytes()
    (secs,) = struct.unpack_from("<d", data, fit_seconds_offset(data))
    assert secs == pytest.approx(clf._model.fit_seconds)
