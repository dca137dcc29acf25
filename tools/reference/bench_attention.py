#!/usr/bin/env python3
"""PyTorch counterpart of `crates/kinema-diffusion/benches/attention.rs`.

`F.scaled_dot_product_attention` (the flash kernel on the CPU) at the SVD U-Net's largest
spatial self-attention: 14 frames x 5 heads, 2880 tokens, width 64, float32.

    OMP_NUM_THREADS=2 python tools/reference/bench_attention.py --threads 2
"""

import argparse
import time

import torch
import torch.nn.functional as F


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--shape", default="14x5x2880x64", help="BxHxNxD")
    parser.add_argument("--iters", type=int, default=3)
    args = parser.parse_args()
    b, h, n, d = (int(v) for v in args.shape.split("x"))
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    q, k, v = (torch.randn(b, h, n, d) for _ in range(3))
    flops = 4.0 * b * h * n * n * d
    best = float("inf")
    with torch.inference_mode():
        for _ in range(args.iters):
            start = time.perf_counter()
            out = F.scaled_dot_product_attention(q, k, v)
            best = min(best, time.perf_counter() - start)
    print(f"attention {args.shape}: best of {args.iters} {best:.3f} s, "
          f"{flops / best / 1e9:.1f} GFLOP/s (output mean {out.mean().item():.5f})")


if __name__ == "__main__":
    main()
