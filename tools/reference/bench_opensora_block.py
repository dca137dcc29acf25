#!/usr/bin/env python3
"""PyTorch counterpart of `crates/kinema-diffusion/benches/opensora_block.rs`, with Open-Sora's
own MMDiT code (imported behind the CPU shims of opensora_reference.py).

The released config (hidden 3072, 24 heads, axes_dim [16, 56, 56], MLP x4, split
projections, liger RoPE, cond_in) with one double-stream and one single-stream block and
random weights; --frames latent frames of 16x24 image tokens plus 512 text tokens, batch 1,
float32 on the CPU with a fixed thread count. Prints forward time and peak RSS.

    OMP_NUM_THREADS=2 python tools/reference/bench_opensora_block.py --opensora-src ~/src/Open-Sora --threads 2
"""

import argparse
import os
import resource
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from opensora_reference import check_source, import_opensora  # noqa: E402


def peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--opensora-src", required=True)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--frames", type=int, default=3)
    args = parser.parse_args()
    check_source(args.opensora_src)
    mmdit, _ = import_opensora(os.path.abspath(args.opensora_src))
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    start = time.perf_counter()
    config = mmdit.MMDiTConfig(
        from_pretrained=None, cache_dir=None, in_channels=64, vec_in_dim=768,
        context_in_dim=4096, hidden_size=3072, mlp_ratio=4.0, num_heads=24, depth=1,
        depth_single_blocks=1, axes_dim=[16, 56, 56], theta=10_000, qkv_bias=True,
        guidance_embed=False, cond_embed=True, fused_qkv=False, use_liger_rope=True)
    model = mmdit.MMDiTModel(config).eval()
    print(f"threads: {torch.get_num_threads()}")
    print(f"build (1 double + 1 single block): {time.perf_counter() - start:.2f} s, "
          f"rss {peak_rss_mib():.0f} MiB")

    h, w = 16, 24
    n = args.frames * h * w
    ids = torch.zeros(args.frames, h, w, 3)
    ids[..., 0] += torch.arange(args.frames)[:, None, None]
    ids[..., 1] += torch.arange(h)[None, :, None]
    ids[..., 2] += torch.arange(w)[None, None, :]
    with torch.no_grad():
        start = time.perf_counter()
        out = model(img=torch.randn(1, n, 64), img_ids=ids.reshape(1, n, 3),
                    txt=torch.randn(1, 512, 4096), txt_ids=torch.zeros(1, 512, 3),
                    timesteps=torch.tensor([0.9]), y_vec=torch.randn(1, 768),
                    cond=torch.randn(1, n, 68))
        secs = time.perf_counter() - start
    print(f"image tokens {n} + 512 text: forward {secs:.2f} s, peak rss {peak_rss_mib():.0f} MiB "
          f"(output mean {out.mean().item():.4f})")


if __name__ == "__main__":
    main()
