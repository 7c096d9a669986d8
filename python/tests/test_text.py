"""TextClassifier: trained from Python on a small WordNet slice, saved, and scored the same by `strata evaluate
--model DIR`; predict/predict_proba/transform agree with each other; Ctrl-C stops training."""
import _thread
import json
import os
import threading
import time

import numpy as np
import pytest

import strata
from conftest import run_cli

WORDNET = os.environ.get("STRATA_WORDNET_DIR", "/usr/share/wordnet")


def wordnet_slice(per=60):
    """The first `per` glosses of each of data.noun, data.verb, data.adj, labelled by part of speech."""
    texts, labels = [], []
    for pos in ("noun", "verb", "adj"):
        path = os.path.join(WORDNET, f"data.{pos}")
        if not os.path.exists(path):
            pytest.skip(f"{path} is missing (apt wordnet-base)")
        with open(path, encoding="latin-1") as f:
            for line in f:
                if line.startswith("  ") or "|" not in line:
                    continue
                texts.append(line.split("|", 1)[1].strip())
                labels.append(pos)
                if labels.count(pos) == per:
                    break
    return texts, labels


def small(**kw):
    p = dict(steps=40, batch=16, micro_batch=16, seq_len=16, vocab_size=250, lr=3e-3, warmup=0.05, random_state=0)
    p.update(kw)
    return strata.TextClassifier(**p)


def test_fit_save_and_cli_evaluate_agree(strata_bin, tmp_path):
    texts, labels = wordnet_slice()
    events = []
    clf = small(callback=events.append).fit(texts, labels)
    assert list(clf.classes_) == ["adj", "noun", "verb"]
    steps = [e for e in events if e["event"] == "step"]
    got = [e["step"] for e in steps]  # the trainer reports every few steps, and always the last
    assert got == sorted(set(got)) and got[-1] == 40 and steps[-1]["total"] == 40
    assert steps[-1]["loss"] == pytest.approx(clf.losses_[-1])
    assert clf.losses_[-1] < clf.losses_[0]
    acc = clf.score(texts, labels)
    assert acc > 0.6  # learned something (chance is 1/3)
    proba = clf.predict_proba(texts)
    np.testing.assert_allclose(proba.sum(axis=1), 1, atol=1e-9)
    assert (clf.classes_[proba.argmax(axis=1)] == clf.predict(texts)).mean() > 0.99
    emb = clf.transform(texts[:5])
    assert emb.shape == (5, 128) and emb.dtype == np.float32  # tiny: hidden 128

    clf.save(tmp_path / "model")
    data = tmp_path / "slice.jsonl"
    data.write_text("".join(json.dumps({"text": t, "label": y}) + "\n" for t, y in zip(texts, labels)))
    out = run_cli(strata_bin, "evaluate", "--model", tmp_path / "model", "--data", data, "--split", "all").stdout
    cli_acc = float(next(line.split()[1] for line in out.splitlines() if line.startswith("accuracy")))
    assert cli_acc == pytest.approx(acc, abs=5e-5)

    back = strata.TextClassifier.load(tmp_path / "model")
    np.testing.assert_array_equal(back.predict(texts), clf.predict(texts))
    clf.save(tmp_path / "model")  # over an existing checkpoint: replaced whole, no leftovers beside it
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model", "slice.jsonl"]


def test_bad_input_budget_and_missing_model(tmp_path):
    with pytest.raises(ValueError, match="counts must agree"):
        small().fit(["a", "b"], ["x"])
    texts, labels = wordnet_slice(20)
    with pytest.raises(MemoryError, match="device"):  # the CLI's exit 3, with its message
        small(device_memory=4096).fit(texts, labels)
    with pytest.raises(FileNotFoundError):
        strata.TextClassifier.load(tmp_path / "nowhere")


def test_keyboard_interrupt_stops_training():
    texts, labels = wordnet_slice(30)
    clf = small(steps=100000)
    timer = threading.Timer(1.0, _thread.interrupt_main)
    t0 = time.perf_counter()
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        clf.fit(texts, labels)
    timer.join()
    assert time.perf_counter() - t0 < 4.0
    assert not hasattr(clf, "classes_")
