#!/usr/bin/python3
"""PyTorch peer of `strata train` for timing: trains tools/torch_bert_model.py's BertForSequenceClassification (post-LN
BERT exactly as Hugging Face: GELU erf form, layer_norm_eps 1e-12, tanh pooler + linear classifier) in float32 on the
CPU with dropout 0 and torch.optim.AdamW (lr 5e-4, weight_decay 0.01, betas (0.9, 0.999), eps 1e-8), on the same
synthetic token sequences as strata's `synthetic:vocab=V,classes=C,n=N` (src/strata/data/text.h, make_synthetic):

    state = seed (uint64); for each row i in [0, n), for each position t in [0, seq):   (all arithmetic mod 2^64)
        state += 0x9E3779B97F4A7C15; z = state; z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EB; z ^= z >> 31; ids[i][t] = z % vocab
    y[i] = ids[i][0] % classes; attention mask all ones (no padding); token_type_ids all 0.

Step k (warm-up steps first, then timed steps; k counts both) takes rows (k*batch + j) % n, j in [0, batch): rows in
order, wrapping. A step is zero_grad(set_to_none=True), forward with labels (mean cross-entropy), backward,
optimizer.step(), timed as a whole with time.perf_counter.

FLOPs per step (strata's definition, so the gflops figures are comparable):
    flops = 6 * non_embedding_params * tokens + layers * 12 * batch * seq^2 * hidden
  where tokens = batch * seq; non_embedding_params = every parameter except the three embedding tables (word,
  position, token type), i.e. the encoder layers + the embedding LayerNorm + the pooler + the classifier; the second
  term is attention (QK^T and PV: forward 4 * B * T^2 * C per layer, backward twice that). The 6 * P * tokens term
  counts the pooler and classifier over every token although they see only [CLS]; strata counts them the same way.
gflops = flops / median step seconds / 1e9; tokens_per_s = batch * seq / median step seconds.

Weights follow Hugging Face's _init_weights (linear and embedding weights ~ N(0, 0.02), padding row 0 of the word
table zeroed, biases 0, LayerNorm 1 / 0) drawn from torch.manual_seed(seed): the same distribution as strata's
initialisation, not the same numbers, so losses agree in trend, not digit for digit.

Run (apt's torch 1.13 CPU and numpy; `python3` on PATH may not see them):
    /usr/bin/python3 bench/peers/torch_bert.py --preset mini --seq 128 --batch 32 --steps 10 --threads 2
Human-readable lines go to stderr; stdout gets exactly one JSON line:
    {"peer": "torch", "torch_version", "threads", "layers", "hidden", "heads", "seq", "batch", "steps",
     "step_ms_median", "step_ms_min", "tokens_per_s", "gflops", "peak_rss_bytes", "final_loss",
     "non_embedding_params"}
"""
import argparse
import json
import os
import resource
import statistics
import sys
import time

import numpy as np
import torch
from torch import nn

sys.dont_write_bytecode = True  # no tools/__pycache__ from the import below
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))
from torch_bert_model import BertForSequenceClassification  # noqa: E402

# name: (layers, hidden, heads); intermediate = 4 * hidden (strata's bert_preset).
PRESETS = {"tiny": (2, 128, 2), "mini": (4, 256, 4), "small": (4, 512, 8), "medium": (8, 512, 8),
           "base": (12, 768, 12), "large": (24, 1024, 16)}
MAX_POSITIONS = 512
TYPE_VOCAB = 2
EMBEDDING_TABLES = ("bert.embeddings.word_embeddings.weight", "bert.embeddings.position_embeddings.weight",
                    "bert.embeddings.token_type_embeddings.weight")

U64 = (1 << 64) - 1
GOLDEN, MIX1, MIX2 = 0x9E3779B97F4A7C15, 0xBF58476D1CE4E5B9, 0x94D049BB133111EB


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def splitmix64_reference(seed, count):
    """The generator written out as a plain Python loop (the definition); used to check the vectorised one."""
    state, out = seed, []
    for _ in range(count):
        state = (state + GOLDEN) & U64
        z = state
        z = ((z ^ (z >> 30)) * MIX1) & U64
        z = ((z ^ (z >> 27)) * MIX2) & U64
        out.append(z ^ (z >> 31))
    return out


def splitmix64_stream(seed, count):
    """The first `count` splitmix64 outputs from state = seed, vectorised: the k-th state (0-based) is
    seed + (k + 1) * golden mod 2^64. numpy uint64 array arithmetic wraps mod 2^64."""
    with np.errstate(over="ignore"):
        z = np.arange(1, count + 1, dtype=np.uint64) * np.uint64(GOLDEN) + np.uint64(seed)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(MIX1)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(MIX2)
        return z ^ (z >> np.uint64(31))


def self_check_generator():
    # Vigna's splitmix64 from state 0 starts 0xE220A8397B1DCDAF; the loop and the vectorised form must agree.
    if splitmix64_reference(0, 1)[0] != 0xE220A8397B1DCDAF:
        raise SystemExit("torch_bert.py: internal error: splitmix64 reference does not match the published value")
    for seed in (0, 1234, U64 - 5):
        want = splitmix64_reference(seed, 257)
        got = [int(v) for v in splitmix64_stream(seed, 257)]
        if got != want:
            raise SystemExit(f"torch_bert.py: internal error: vectorised generator differs from the loop (seed {seed})")


def make_synthetic(vocab, classes, n, seq, seed):
    """(ids int64 (n, seq), y int64 (n,)) exactly as strata's make_synthetic."""
    ids = (splitmix64_stream(seed, n * seq) % np.uint64(vocab)).astype(np.int64).reshape(n, seq)
    return ids, ids[:, 0] % classes


def hf_init_(model, std, pad_token_id):
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.Linear):
                m.weight.normal_(0.0, std)
                m.bias.zero_()
            elif isinstance(m, nn.Embedding):
                m.weight.normal_(0.0, std)
                if m.padding_idx is not None:
                    m.weight[pad_token_id].zero_()
            elif isinstance(m, nn.LayerNorm):
                m.weight.fill_(1.0)
                m.bias.zero_()


def parse_args():
    ap = argparse.ArgumentParser(
        description="PyTorch peer of `strata train`: times BERT sequence-classifier training steps (fp32, CPU) on "
                    "strata's synthetic token data. One JSON line on stdout, details on stderr.")
    ap.add_argument("--preset", choices=list(PRESETS), default="mini",
                    help="model size: tiny L2 H128 A2, mini L4 H256 A4, small L4 H512 A8, medium L8 H512 A8, "
                         "base L12 H768 A12, large L24 H1024 A16 (default mini)")
    ap.add_argument("--layers", type=int, help="override the preset's depth")
    ap.add_argument("--hidden", type=int, help="override the preset's width (intermediate = 4 * hidden)")
    ap.add_argument("--heads", type=int, help="override the preset's attention heads")
    ap.add_argument("--vocab", type=int, default=8192, help="synthetic vocabulary (default 8192)")
    ap.add_argument("--classes", type=int, default=45, help="classes, y = first token %% classes (default 45)")
    ap.add_argument("--n", type=int, default=4096, help="synthetic rows (default 4096)")
    ap.add_argument("--seq", type=int, default=128, help="sequence length (default 128, at most 512)")
    ap.add_argument("--batch", type=int, default=32, help="rows per step (default 32)")
    ap.add_argument("--steps", type=int, default=20, help="timed steps (default 20)")
    ap.add_argument("--warmup-steps", type=int, default=3, help="untimed steps run first (default 3)")
    ap.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (default 2)")
    ap.add_argument("--seed", type=int, default=0,
                    help="data seed (strata's --seed default, 0) and torch.manual_seed for the weights")
    ap.add_argument("--lr", type=float, default=5e-4, help="AdamW learning rate (default 5e-4)")
    ap.add_argument("--weight-decay", type=float, default=0.01, help="AdamW weight decay (default 0.01)")
    a = ap.parse_args()
    layers, hidden, heads = PRESETS[a.preset]
    a.layers = layers if a.layers is None else a.layers
    a.hidden = hidden if a.hidden is None else a.hidden
    a.heads = heads if a.heads is None else a.heads
    for name in ("layers", "hidden", "heads", "vocab", "classes", "n", "seq", "batch", "steps", "threads"):
        if getattr(a, name) < 1:
            ap.error(f"--{name} must be at least 1, got {getattr(a, name)}")
    if a.warmup_steps < 0:
        ap.error(f"--warmup-steps must be non-negative, got {a.warmup_steps}")
    if a.hidden % a.heads != 0:
        ap.error(f"--hidden ({a.hidden}) is not a multiple of --heads ({a.heads})")
    if a.classes > a.vocab:
        ap.error(f"--classes ({a.classes}) must not exceed --vocab ({a.vocab})")
    if a.seq > MAX_POSITIONS:
        ap.error(f"--seq ({a.seq}) exceeds max_position_embeddings ({MAX_POSITIONS})")
    if not 0 <= a.seed <= U64:
        ap.error(f"--seed must be in [0, 2^64), got {a.seed}")
    return a


def main():
    a = parse_args()
    self_check_generator()
    torch.set_num_threads(a.threads)
    cfg = {"vocab_size": a.vocab, "hidden_size": a.hidden, "num_hidden_layers": a.layers,
           "num_attention_heads": a.heads, "intermediate_size": 4 * a.hidden, "hidden_act": "gelu",
           "hidden_dropout_prob": 0.0, "attention_probs_dropout_prob": 0.0,
           "max_position_embeddings": MAX_POSITIONS, "type_vocab_size": TYPE_VOCAB, "layer_norm_eps": 1e-12,
           "initializer_range": 0.02, "pad_token_id": 0, "num_labels": a.classes}

    ids, y = make_synthetic(a.vocab, a.classes, a.n, a.seq, a.seed)
    ids_t, y_t = torch.from_numpy(ids), torch.from_numpy(y)
    mask = torch.ones(a.batch, a.seq, dtype=torch.float32)
    segs = torch.zeros(a.batch, a.seq, dtype=torch.int64)

    torch.manual_seed(a.seed & ((1 << 63) - 1))
    model = BertForSequenceClassification(cfg).float()
    hf_init_(model, cfg["initializer_range"], cfg["pad_token_id"])
    model.train()  # dropout is 0 anyway
    params = dict(model.named_parameters())
    total = sum(p.numel() for p in params.values())
    non_emb = total - sum(params[n].numel() for n in EMBEDDING_TABLES)
    tokens = a.batch * a.seq
    flops = 6 * non_emb * tokens + a.layers * 12 * a.batch * a.seq * a.seq * a.hidden
    opt = torch.optim.AdamW(model.parameters(), lr=a.lr, weight_decay=a.weight_decay)

    log(f"# torch {torch.__version__}, {torch.get_num_threads()} threads; BERT L{a.layers} H{a.hidden} A{a.heads} "
        f"I{4 * a.hidden}, vocab {a.vocab}, {a.classes} classes; {total:,} parameters ({non_emb:,} non-embedding)")
    log(f"# synthetic n={a.n} seq={a.seq} seed={a.seed}; batch {a.batch}; {a.warmup_steps} warm-up + {a.steps} "
        f"timed steps; {flops / 1e9:.2f} GFLOP per step")

    times, loss_v = [], float("nan")
    for k in range(a.warmup_steps + a.steps):
        rows = torch.from_numpy((np.arange(a.batch, dtype=np.int64) + k * a.batch) % a.n)
        b_ids, b_y = ids_t[rows], y_t[rows]
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        _, loss = model(b_ids, mask, segs, b_y)
        loss.backward()
        opt.step()
        dt = time.perf_counter() - t0
        loss_v = loss.item()
        timed = k >= a.warmup_steps
        if timed:
            times.append(dt)
        log(f"step {k:4d} {'timed ' if timed else 'warmup'} loss {loss_v:.4f}  {dt * 1e3:9.1f} ms")

    med, mn = statistics.median(times), min(times)
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB
    log(f"# median {med * 1e3:.1f} ms/step (min {mn * 1e3:.1f}), {tokens / med:,.0f} tokens/s, "
        f"{flops / med / 1e9:.2f} GFLOP/s, peak RSS {peak_rss / 2**20:.0f} MiB, final loss {loss_v:.4f}")
    print(json.dumps({
        "peer": "torch", "torch_version": torch.__version__, "threads": a.threads, "layers": a.layers,
        "hidden": a.hidden, "heads": a.heads, "seq": a.seq, "batch": a.batch, "steps": a.steps,
        "step_ms_median": round(med * 1e3, 3), "step_ms_min": round(mn * 1e3, 3),
        "tokens_per_s": round(tokens / med, 1), "gflops": round(flops / med / 1e9, 3),
        "peak_rss_bytes": peak_rss, "final_loss": loss_v, "non_embedding_params": non_emb}), flush=True)


if __name__ == "__main__":
    main()
