#!/usr/bin/python3
"""Loads a `strata pretrain --save` directory into the PyTorch mirror of Hugging Face's BertForMaskedLM
(tools/torch_bert_model.py) the way from_pretrained would: config.json gives the shapes, model.safetensors is loaded
by name with strict=True (no missing, no unexpected tensor, every shape equal; the decoder weight is the word
embeddings, tied, not stored). Then scores masked-token prediction on texts of whole-word WordPiece tokens: every
real position of every text masked in turn ([MASK] in, the mirror's argmax out).

Usage: load_pretrained_in_torch.py DIR TEXTS.txt  ->  one JSON line {"tensors", "masked_accuracy", "mlm_loss",
"positions"} on stdout. Texts are split on spaces; every word must be in DIR/vocab.txt (no sub-word splitting)."""
import json
import os
import struct
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_bert_model import BertForMaskedLM  # noqa: E402


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        assert t["dtype"] == "F32", (name, t["dtype"])
        a, b = t["data_offsets"]
        out[name] = torch.from_numpy(np.frombuffer(data[a:b], dtype="<f4").reshape(t["shape"]).copy())
    return out


def main():
    d, texts = sys.argv[1], sys.argv[2]
    cfg = json.load(open(os.path.join(d, "config.json")))
    assert cfg.get("architectures") == ["BertForMaskedLM"], cfg.get("architectures")
    model = BertForMaskedLM(cfg)
    model.load_state_dict(read_safetensors(os.path.join(d, "model.safetensors")), strict=True)
    model.eval()
    vocab = {w: i for i, w in enumerate(open(os.path.join(d, "vocab.txt")).read().split("\n")) if w}
    cls, sep, mask = vocab["[CLS]"], vocab["[SEP]"], vocab["[MASK]"]
    correct = total = 0
    loss_sum = 0.0
    with torch.no_grad():
        for line in open(texts):
            ids = [cls] + [vocab[w] for w in line.split()] + [sep]
            rows = torch.tensor([ids] * (len(ids) - 2))
            labels = torch.full_like(rows, -100)
            for r, t in enumerate(range(1, len(ids) - 1)):
                rows[r, t], labels[r, t] = mask, ids[t]
            logits, loss = model(rows, torch.ones_like(rows), torch.zeros_like(rows), labels)
            picked = labels != -100
            correct += int((logits.argmax(-1)[picked] == labels[picked]).sum())
            total += int(picked.sum())
            loss_sum += float(loss) * int(picked.sum())
    print(json.dumps({"tensors": len(model.state_dict()), "masked_accuracy": correct / total,
                      "mlm_loss": loss_sum / total, "positions": total}))


if __name__ == "__main__":
    main()
