"""TextClassifier: a BERT-style sequence classifier trained by strata's engine (baseline or L2L executor) from
Python. fit() runs what `strata train` runs; the model directory is the CLI's checkpoint both ways (save() writes
one, load() opens one `strata train --save` wrote), so `strata evaluate --model DIR` scores a Python-trained model."""
import json
import os
import shutil
import tempfile

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted

from . import _core
from ._common import progress_callback, threads_of


def _read_classifier_head(model_dir):
    """classifier.weight (K, H) and classifier.bias (K) from the checkpoint's model.safetensors."""
    path = os.path.join(model_dir, "model.safetensors")
    with open(path, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(n))
        base = 8 + n

        def tensor(name):
            h = header[name]
            if h["dtype"] != "F32":
                raise ValueError(f"{path}: {name} is {h['dtype']}, expected F32")
            a, b = h["data_offsets"]
            f.seek(base + a)
            return np.frombuffer(f.read(b - a), dtype="<f4").reshape(h["shape"]).astype(np.float32)
        return tensor("classifier.weight"), tensor("classifier.bias")


class TextClassifier(ClassifierMixin, BaseEstimator):
    """A text classifier trained with strata's engine. Parameters are `strata train`'s flags: model (preset
    tiny|mini|small|medium|base|large or a config.json), executor (baseline|l2l), device_memory (bytes; None: no
    limit), micro_batch (int or "auto"), batch, seq_len, steps or epochs, lr, warmup, weight_decay, optimizer,
    dropout, vocab_size, tokenizer (a SentencePiece model; None: trained on the texts), random_state (--seed),
    n_jobs (--threads), verbose / callback (progress events as dicts).

    fit(texts, labels) trains as `strata train --data FILE` on a .jsonl of the rows: like the CLI it holds out the
    rows whose hash falls in the test split (about 10 %) and reports on them in report_. After fit: classes_,
    report_ (what --report writes), losses_, model_dir_ (the checkpoint)."""

    def __init__(self, model="tiny", *, executor="baseline", device_memory=None, micro_batch=8, batch=32, seq_len=64,
                 steps=None, epochs=None, lr=5e-4, warmup=0.1, weight_decay=0.01, optimizer="adamw", dropout=None,
                 vocab_size=8192, tokenizer=None, random_state=0, n_jobs=None, verbose=0, callback=None):
        self.model = model
        self.executor = executor
        self.device_memory = device_memory
        self.micro_batch = micro_batch
        self.batch = batch
        self.seq_len = seq_len
        self.steps = steps
        self.epochs = epochs
        self.lr = lr
        self.warmup = warmup
        self.weight_decay = weight_decay
        self.optimizer = optimizer
        self.dropout = dropout
        self.vocab_size = vocab_size
        self.tokenizer = tokenizer
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.verbose = verbose
        self.callback = callback

    def _options(self, data, save):
        o = {"data": data, "model": str(self.model), "executor": self.executor, "batch": int(self.batch),
             "micro-batch": 0 if self.micro_batch == "auto" else int(self.micro_batch), "seq-len": int(self.seq_len),
             "lr": float(self.lr), "warmup": float(self.warmup), "weight-decay": float(self.weight_decay),
             "optimizer": self.optimizer, "vocab-size": int(self.vocab_size), "seed": int(self.random_state),
             "threads": threads_of(self.n_jobs), "save": save,
             "quiet": not (self.verbose or self.callback is not None)}
        if self.steps is not None:
            o["steps"] = int(self.steps)
        if self.epochs is not None:
            o["epochs"] = float(self.epochs)
        if self.device_memory is not None:
            o["device-memory"] = int(self.device_memory)
        if self.dropout is not None:
            o["dropout"] = float(self.dropout)
        if self.tokenizer is not None:
            o["tokenizer"] = os.fspath(self.tokenizer)
        return o

    def fit(self, texts, labels):
        texts, labels = list(texts), list(labels)
        if len(texts) != len(labels):
            raise ValueError(f"{len(texts)} texts but {len(labels)} labels; the counts must agree")
        if len(set(map(str, labels))) < 2:
            raise ValueError("fit needs at least 2 classes")
        self._tmp = tempfile.TemporaryDirectory(prefix="strata-text-")
        data = os.path.join(self._tmp.name, "train.jsonl")
        with open(data, "w", encoding="utf-8") as f:
            for t, y in zip(texts, labels):
                f.write(json.dumps({"text": str(t), "label": str(y)}) + "\n")
        model_dir = os.path.join(self._tmp.name, "model")
        r = _core.train_text(self._options(data, model_dir), [], progress_callback(self.verbose, self.callback))
        self.report_ = json.loads(r["report"])
        self.losses_ = list(r["losses"])
        by_name = {str(y): y for y in labels}
        self._open(model_dir)
        self.classes_ = np.array([by_name.get(c, c) for c in self._names])
        return self

    def _open(self, model_dir):
        self.model_dir_ = model_dir
        self._core = _core.TextModel(model_dir, threads_of(self.n_jobs), 32)
        self._names = list(self._core.classes)
        self._head = _read_classifier_head(model_dir)

    def transform(self, texts):
        """Pooled [CLS] embeddings (n, hidden) float32, what `strata embed` writes."""
        check_is_fitted(self)
        return self._core.pooled(list(texts), 0)

    def predict_proba(self, texts):
        """Softmax of the classifier head over the pooled vectors; columns in the order of classes_."""
        pooled = self.transform(texts).astype(np.float64)
        w, b = self._head
        logits = pooled @ w.T.astype(np.float64) + b
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        return p / p.sum(axis=1, keepdims=True)

    def predict(self, texts):
        check_is_fitted(self)
        pred, _, _ = self._core.evaluate(list(texts), [0] * len(texts), 0)
        return self.classes_[np.asarray(pred, dtype=int)]

    def save(self, path):
        """Writes the checkpoint directory (config.json, model.safetensors, tokenizer.model, ...), as the CLI's."""
        check_is_fitted(self)
        path = os.fspath(path)
        tmp, old = path + ".tmp-strata", path + ".old-strata"
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.copytree(self.model_dir_, tmp)  # written whole under a temporary name, then swapped in
        if os.path.exists(path):
            shutil.rmtree(old, ignore_errors=True)
            os.replace(path, old)
        os.replace(tmp, path)
        shutil.rmtree(old, ignore_errors=True)

    @classmethod
    def load(cls, path, n_jobs=None):
        """Opens a checkpoint directory (from save() or `strata train --save`); classes_ are its label names."""
        path = os.fspath(path)
        if not os.path.isdir(path):
            raise FileNotFoundError(f"{path}: no such model directory")
        with open(os.path.join(path, "trainer_state.json"), encoding="utf-8") as f:
            state = json.load(f)
        opts = state.get("options", {}) if isinstance(state, dict) else {}
        est = cls(model=opts.get("model", "tiny"), seq_len=opts.get("seq-len", 64), n_jobs=n_jobs)
        est._open(path)
        est.classes_ = np.array(est._names)
        return est

    def __getstate__(self):
        raise TypeError("TextClassifier does not pickle; use save(dir) and TextClassifier.load(dir)")
