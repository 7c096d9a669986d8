#!/usr/bin/python3
"""Writes tests/data/reference/tiny_mlm.safetensors: a tiny BertForMaskedLM in plain torch.nn
(tools/torch_bert_model.py: HF's module names, the decoder tied to the word embeddings) run in float64 on a padded
batch with dropout off, some positions masked (labels -100 elsewhere). Dumps the weights, the batch, the logits,
the loss, every parameter gradient (the tied word embeddings get the embedding and the decoder gradient) and
the losses of 10 torch.optim.AdamW steps, for
tests/model/mlm_reference_test.cpp.

Run: /usr/bin/python3 tools/make_mlm_reference.py [out_path]   (PyTorch 1.13 CPU, numpy; no transformers needed)
"""
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_reference import write_safetensors  # noqa: E402
from torch_bert_model import BertForMaskedLM  # noqa: E402

CONFIG = {
    "vocab_size": 50, "hidden_size": 16, "num_hidden_layers": 2, "num_attention_heads": 2,
    "intermediate_size": 32, "hidden_act": "gelu", "hidden_dropout_prob": 0.0,
    "attention_probs_dropout_prob": 0.0, "max_position_embeddings": 16, "type_vocab_size": 2,
    "layer_norm_eps": 1e-12, "initializer_range": 0.2, "pad_token_id": 0,
}
B, T = 3, 8
LENGTHS = [8, 6, 4]
MASKED = [(0, 1), (0, 4), (0, 6), (1, 2), (1, 3), (2, 1)]  # (row, position) predicted; the rest are -100
SEED = 20261202
ADAMW_STEPS = 10
LR, WEIGHT_DECAY = 1e-3, 0.01


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "tests/data/reference/tiny_mlm.safetensors"
    rng = np.random.default_rng(SEED)
    torch.manual_seed(SEED)
    model = BertForMaskedLM(CONFIG).double()
    params = {}
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "LayerNorm.weight" in name:
                w = 1.0 + 0.1 * rng.standard_normal(p.shape)
            elif name.endswith("bias") or "LayerNorm" in name:
                w = 0.1 * rng.standard_normal(p.shape)
            else:
                w = CONFIG["initializer_range"] * rng.standard_normal(p.shape)
            w = w.astype(np.float32)
            params[name] = w
            p.copy_(torch.from_numpy(w.astype(np.float64)))

    ids = np.zeros((B, T), np.int32)
    segs = np.zeros((B, T), np.int32)
    mask = np.zeros((B, T), np.float32)
    labels = np.full((B, T), -100, np.int32)
    for b, n in enumerate(LENGTHS):
        ids[b, :n] = rng.integers(5, CONFIG["vocab_size"], n)
        ids[b, 0], ids[b, n - 1] = 2, 3
        segs[b, n // 2:n] = 1
        mask[b, :n] = 1
    for b, t in MASKED:
        labels[b, t] = ids[b, t]
        ids[b, t] = 4  # [MASK]; one of them keeps its token instead, as BERT's 10 % do
    ids[1, 3] = labels[1, 3]

    t_ids, t_segs = torch.from_numpy(ids).long(), torch.from_numpy(segs).long()
    t_mask, t_labels = torch.from_numpy(mask).double(), torch.from_numpy(labels).long()
    logits, loss = model(t_ids, t_mask, t_segs, t_labels)
    loss.backward()
    grads = {name: p.grad.detach().numpy().copy() for name, p in model.named_parameters()}
    opt = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=WEIGHT_DECAY)
    losses = []
    for _ in range(ADAMW_STEPS):  # the tied table is one parameter: both of its gradients feed one update
        opt.zero_grad()
        _, l = model(t_ids, t_mask, t_segs, t_labels)
        losses.append(l.item())
        l.backward()
        opt.step()
    tensors = {"input_ids": ids, "token_type_ids": segs, "attention_mask": mask, "labels": labels,
               "logits": logits.detach().numpy(), "loss": np.array([loss.item()]), "adamw_losses": np.array(losses)}
    for name, w in params.items():
        tensors["param/" + name] = w
    for name, g in grads.items():
        tensors["grad/" + name] = g
    metadata = {"config": json.dumps(CONFIG), "torch": torch.__version__, "dtype": "float64",
                "adamw": json.dumps({"lr": LR, "weight_decay": WEIGHT_DECAY, "steps": ADAMW_STEPS}),
                "note": "logits (B, T, V) at every position; labels -100 are not predicted; adamw_losses[k] is the "
                        "loss before step k+1"}
    write_safetensors(out, tensors, metadata)
    print(f"wrote {out}: loss {loss.item():.6f}")


if __name__ == "__main__":
    main()
