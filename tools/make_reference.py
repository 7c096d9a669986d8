#!/usr/bin/python3
"""Writes tests/data/reference/tiny_bert.safetensors: a tiny BERT sequence classifier in plain torch.nn
(tools/torch_bert_model.py, mirroring Hugging Face's BertForSequenceClassification module for module: same parameter
names, same operation order), run in float64 on a padded batch with dropout off. Dumps the weights, the batch, the
logits, the loss, every parameter gradient and the losses of 10 torch.optim.AdamW steps, for
tests/model/reference_test.cpp.

Run: /usr/bin/python3 tools/make_reference.py [out_path]   (PyTorch 1.13 CPU, numpy; no transformers needed)
"""
import json
import os
import struct
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_bert_model import BertForSequenceClassification  # noqa: E402  (the model lives beside this script)

CONFIG = {
    "vocab_size": 50, "hidden_size": 16, "num_hidden_layers": 2, "num_attention_heads": 2,
    "intermediate_size": 32, "hidden_act": "gelu", "hidden_dropout_prob": 0.0,
    "attention_probs_dropout_prob": 0.0, "max_position_embeddings": 16, "type_vocab_size": 2,
    "layer_norm_eps": 1e-12, "initializer_range": 0.2, "pad_token_id": 0, "num_labels": 5,
    "id2label": {str(i): f"class_{i}" for i in range(5)},
}
B, T = 3, 8
LENGTHS = [8, 5, 3]
SEED = 20261129
ADAMW_STEPS = 10
LR, WEIGHT_DECAY = 1e-3, 0.01


def write_safetensors(path, tensors, metadata):
    dtypes = {np.dtype("float32"): "F32", np.dtype("float64"): "F64", np.dtype("int32"): "I32"}
    header, blobs, offset = {"__metadata__": metadata}, [], 0
    for name, arr in tensors.items():
        arr = np.ascontiguousarray(arr)
        data = arr.astype(arr.dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": dtypes[arr.dtype], "shape": list(arr.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "tests/data/reference/tiny_bert.safetensors"
    rng = np.random.default_rng(SEED)
    torch.manual_seed(SEED)
    model = BertForSequenceClassification(CONFIG).double()
    # Non-trivial values everywhere (random biases and LayerNorm affine too) so every gradient path is exercised;
    # float32-representable, so strata (float32) starts from exactly these weights.
    params = {}
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "LayerNorm.weight" in name:
                w = 1.0 + 0.1 * rng.standard_normal(p.shape)
            elif name.endswith(".bias") or "LayerNorm" in name:
                w = 0.1 * rng.standard_normal(p.shape)
            else:
                w = CONFIG["initializer_range"] * rng.standard_normal(p.shape)
            w = w.astype(np.float32)
            params[name] = w
            p.copy_(torch.from_numpy(w.astype(np.float64)))

    ids = np.zeros((B, T), np.int32)
    segs = np.zeros((B, T), np.int32)
    mask = np.zeros((B, T), np.float32)
    for b, n in enumerate(LENGTHS):
        ids[b, :n] = rng.integers(1, CONFIG["vocab_size"], n)
        ids[b, 0] = 1  # a [CLS]-like first token
        segs[b, n // 2:n] = 1
        mask[b, :n] = 1
    ids[0, 3] = CONFIG["pad_token_id"]  # a padding-id token inside a real sequence: its word row gets no gradient
    labels = rng.integers(0, CONFIG["num_labels"], B).astype(np.int32)

    t_ids, t_segs = torch.from_numpy(ids).long(), torch.from_numpy(segs).long()
    t_mask, t_labels = torch.from_numpy(mask).double(), torch.from_numpy(labels).long()
    logits, loss = model(t_ids, t_mask, t_segs, t_labels)
    loss.backward()
    grads = {name: p.grad.detach().numpy().copy() for name, p in model.named_parameters()}

    opt = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=WEIGHT_DECAY)
    losses = []
    for _ in range(ADAMW_STEPS):
        opt.zero_grad()
        _, l = model(t_ids, t_mask, t_segs, t_labels)
        losses.append(l.item())
        l.backward()
        opt.step()
    with torch.no_grad():
        losses.append(model(t_ids, t_mask, t_segs, t_labels)[1].item())

    tensors = {"input_ids": ids, "token_type_ids": segs, "attention_mask": mask, "labels": labels,
               "logits": logits.detach().numpy(), "loss": np.array([loss.item()]),
               "adamw_losses": np.array(losses)}
    for name, w in params.items():
        tensors["param/" + name] = w
    for name, g in grads.items():
        tensors["grad/" + name] = g  # float64
    metadata = {"config": json.dumps(CONFIG), "torch": torch.__version__, "dtype": "float64",
                "adamw": json.dumps({"lr": LR, "weight_decay": WEIGHT_DECAY, "betas": [0.9, 0.999], "eps": 1e-8,
                                     "steps": ADAMW_STEPS}),
                "note": "adamw_losses[k] is the loss after k steps; k = 0 .. steps"}
    write_safetensors(out, tensors, metadata)
    print(f"wrote {out}: loss {loss.item():.6f}, AdamW losses {losses[0]:.6f} -> {losses[-1]:.6f}")


if __name__ == "__main__":
    main()
