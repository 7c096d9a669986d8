#!/usr/bin/env python3
"""Peer for bench/adamw_bench.cpp: times torch.optim.AdamW steps over one fp32 tensor of N parameters on the CPU
(torch.set_num_threads(threads)), single-tensor (foreach=False, the CPU default) and foreach=True.
Prints one line per variant: 'torch_adamw variant=<v> n=<n> threads=<t> min_ms=<x> median_ms=<y>'.
Run with /usr/bin/python3 (apt's torch)."""
import argparse
import statistics
import time

import torch


def time_variant(n, threads, steps, warmup, foreach):
    torch.manual_seed(0)
    p = torch.nn.Parameter(torch.randn(n))
    p.grad = torch.randn(n) * 0.1
    kwargs = dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01)
    if foreach is not None:
        kwargs["foreach"] = foreach
    opt = torch.optim.AdamW([p], **kwargs)
    for _ in range(warmup):
        opt.step()
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        opt.step()
        times.append((time.perf_counter() - t0) * 1e3)
    return min(times), statistics.median(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=50_000_000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    print(f"# torch {torch.__version__}, {torch.get_num_threads()} threads", flush=True)
    variants = [("default", None), ("foreach", True)]
    for name, foreach in variants:
        try:
            mn, med = time_variant(args.n, args.threads, args.steps, args.warmup, foreach)
        except TypeError as e:  # foreach not accepted by this torch
            print(f"# variant {name} unavailable: {e}", flush=True)
            continue
        print(f"torch_adamw variant={name} n={args.n} threads={args.threads} min_ms={mn:.2f} median_ms={med:.2f}",
              flush=True)


if __name__ == "__main__":
    main()
