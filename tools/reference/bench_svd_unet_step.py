#!/usr/bin/env python3
"""PyTorch/diffusers counterpart of `crates/kinema-diffusion/benches/svd_unet_step.rs`.

One UNetSpatioTemporalConditionModel forward at SVD-XT's width for its first two levels
(320/640 channels, cross-attention blocks of 2 layers, 5/10 heads, mid block at 640),
random weights, 14 frames of 40x72 latents (8 channels), one guidance branch, float32 on
CPU. Prints forward time and peak RSS.

    OMP_NUM_THREADS=2 python tools/reference/bench_svd_unet_step.py --threads 2
"""

import argparse
import resource
import time

import torch
from diffusers import UNetSpatioTemporalConditionModel


def peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--frames", type=int, default=14)
    parser.add_argument("--size", default="40x72", help="latent HxW")
    args = parser.parse_args()
    h, w = (int(v) for v in args.size.split("x"))
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    start = time.perf_counter()
    unet = UNetSpatioTemporalConditionModel(
        addition_time_embed_dim=256, block_out_channels=(320, 640), cross_attention_dim=1024,
        down_block_types=("CrossAttnDownBlockSpatioTemporal",) * 2, in_channels=8,
        layers_per_block=2, num_attention_heads=(5, 10), num_frames=25, out_channels=4,
        projection_class_embeddings_input_dim=768, transformer_layers_per_block=1,
        up_block_types=("CrossAttnUpBlockSpatioTemporal",) * 2).eval()
    print(f"threads: {torch.get_num_threads()}")
    print(f"build: {time.perf_counter() - start:.2f} s, rss {peak_rss_mib():.0f} MiB")
    sample = torch.randn(1, args.frames, 8, h, w)
    states = torch.randn(1, 1, 1024)
    ids = torch.tensor([[6.0, 127.0, 0.02]])
    with torch.inference_mode():
        start = time.perf_counter()
        out = unet(sample, torch.tensor([1.2]), encoder_hidden_states=states,
                   added_time_ids=ids, return_dict=False)[0]
        secs = time.perf_counter() - start
    print(f"{args.frames} frames of {h}x{w}: forward {secs:.2f} s, peak rss "
          f"{peak_rss_mib():.0f} MiB (output mean {out.mean().item():.4f})")


if __name__ == "__main__":
    main()
