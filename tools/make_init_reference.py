#!/usr/bin/python3
"""Writes the fixtures of tests/train/init_reference_test.cpp (strata train --init): a tiny "pre-trained" BERT as
Hugging Face lays it out on disk, in both naming styles, and the PyTorch mirror's fine-tuning losses from it.

  tests/data/reference/hf_pretraining/   config.json + model.safetensors as BertForPreTraining writes them:
                                         "bert."-prefixed encoder and pooler, plus the pre-training heads
                                         (cls.predictions.*, cls.seq_relationship.*) that fine-tuning leaves unused;
                                         the tied decoder weight is not stored (HF drops shared tensors).
  tests/data/reference/hf_bertmodel/     the same weights as BertModel writes them: no prefix, no heads.
  tests/data/reference/init_finetune.safetensors
                                         the new classifier head the mirror starts from, a padded batch and the
                                         losses of 10 torch.optim.AdamW steps of BertForSequenceClassification
                                         (tools/torch_bert_model.py, float64, dropout off).

Run: /usr/bin/python3 tools/make_init_reference.py [out_dir]   (PyTorch 1.13 CPU, numpy; no transformers needed)
"""
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_reference import write_safetensors  # noqa: E402
from torch_bert_model import BertForSequenceClassification  # noqa: E402

CONFIG = {
    "architectures": ["BertForPreTraining"], "model_type": "bert",
    "vocab_size": 40, "hidden_size": 16, "num_hidden_layers": 2, "num_attention_heads": 2,
    "intermediate_size": 32, "hidden_act": "gelu", "hidden_dropout_prob": 0.0,
    "attention_probs_dropout_prob": 0.0, "max_position_embeddings": 16, "type_vocab_size": 2,
    "layer_norm_eps": 1e-12, "initializer_range": 0.2, "pad_token_id": 0,
}
NUM_LABELS = 3
B, T = 4, 8
LENGTHS = [8, 6, 4, 7]
SEED = 20261201
ADAMW_STEPS = 10
LR, WEIGHT_DECAY = 1e-3, 0.01


def random_like(rng, name, shape):
    if "LayerNorm.weight" in name:
        w = 1.0 + 0.1 * rng.standard_normal(shape)
    elif name.endswith(".bias") or "LayerNorm" in name:
        w = 0.1 * rng.standard_normal(shape)
    else:
        w = CONFIG["initializer_range"] * rng.standard_normal(shape)
    return w.astype(np.float32)


def write_dir(path, tensors):
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, "config.json"), "w") as f:
        json.dump(CONFIG, f, indent=2)
    write_safetensors(os.path.join(path, "model.safetensors"), tensors, {"format": "pt"})


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "tests/data/reference"
    rng = np.random.default_rng(SEED)
    c = dict(CONFIG, num_labels=NUM_LABELS)
    model = BertForSequenceClassification(c).double()
    params = {}
    with torch.no_grad():
        for name, p in model.named_parameters():
            w = random_like(rng, name, tuple(p.shape))
            params[name] = w
            p.copy_(torch.from_numpy(w.astype(np.float64)))
    H, V = CONFIG["hidden_size"], CONFIG["vocab_size"]
    heads = {n: random_like(rng, n, s) for n, s in [
        ("cls.predictions.bias", (V,)), ("cls.predictions.transform.dense.weight", (H, H)),
        ("cls.predictions.transform.dense.bias", (H,)), ("cls.predictions.transform.LayerNorm.weight", (H,)),
        ("cls.predictions.transform.LayerNorm.bias", (H,)), ("cls.seq_relationship.weight", (2, H)),
        ("cls.seq_relationship.bias", (2,))]}
    encoder = {n: w for n, w in params.items() if n.startswith("bert.")}
    write_dir(os.path.join(out, "hf_pretraining"), dict(encoder, **heads))
    write_dir(os.path.join(out, "hf_bertmodel"), {n[len("bert."):]: w for n, w in encoder.items()})

    ids = np.zeros((B, T), np.int32)
    segs = np.zeros((B, T), np.int32)
    mask = np.zeros((B, T), np.float32)
    for b, n in enumerate(LENGTHS):
        ids[b, :n] = rng.integers(5, V, n)
        ids[b, 0], ids[b, n - 1] = 2, 3  # [CLS] ... [SEP]
        mask[b, :n] = 1
    labels = rng.integers(0, NUM_LABELS, B).astype(np.int32)
    t_ids, t_segs = torch.from_numpy(ids).long(), torch.from_numpy(segs).long()
    t_mask, t_labels = torch.from_numpy(mask).double(), torch.from_numpy(labels).long()
    opt = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=WEIGHT_DECAY)
    losses = []
    for _ in range(ADAMW_STEPS):
        opt.zero_grad()
        _, loss = model(t_ids, t_mask, t_segs, t_labels)
        losses.append(loss.item())
        loss.backward()
        opt.step()
    tensors = {"input_ids": ids, "token_type_ids": segs, "attention_mask": mask, "labels": labels,
               "adamw_losses": np.array(losses),
               "classifier.weight": params["classifier.weight"], "classifier.bias": params["classifier.bias"]}
    metadata = {"num_labels": str(NUM_LABELS), "torch": torch.__version__, "dtype": "float64",
                "adamw": json.dumps({"lr": LR, "weight_decay": WEIGHT_DECAY, "steps": ADAMW_STEPS}),
                "note": "adamw_losses[k] is the loss before step k+1"}
    path = os.path.join(out, "init_finetune.safetensors")
    write_safetensors(path, tensors, metadata)
    print(f"wrote {path}: losses {losses[0]:.6f} -> {losses[-1]:.6f}")


if __name__ == "__main__":
    main()
