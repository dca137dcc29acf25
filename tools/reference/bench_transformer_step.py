#!/usr/bin/env python3
"""PyTorch/diffusers counterpart of `crates/kinema-diffusion/benches/transformer_step.rs`.

One WanTransformer3DModel forward at the real TI2V-5B width (dim 3072, 24 heads, ffn 14336,
48 channels, text_dim 4096) with --layers blocks and random weights, on latents
[1, 48, 9, 30, 52] (3510 tokens, per-token timesteps as TI2V) and 512 text tokens, float32 on
CPU with a fixed thread count. Prints forward time and peak RSS.

    OMP_NUM_THREADS=2 python tools/reference/bench_transformer_step.py --threads 2
"""

import argparse
import resource
import time

import torch
from diffusers import WanTransformer3DModel


def peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--frames", type=int, default=9)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    start = time.perf_counter()
    model = WanTransformer3DModel(
        patch_size=(1, 2, 2), num_attention_heads=24, attention_head_dim=128, in_channels=48,
        out_channels=48, text_dim=4096, freq_dim=256, ffn_dim=14336, num_layers=args.layers,
        cross_attn_norm=True, qk_norm="rms_norm_across_heads", eps=1e-6, rope_max_seq_len=1024,
    ).eval()
    print(f"threads: {torch.get_num_threads()}")
    print(f"build ({args.layers} layers): {time.perf_counter() - start:.2f} s, rss {peak_rss_mib():.0f} MiB")

    h, w = 30, 52
    per_frame = (h // 2) * (w // 2)
    tokens = args.frames * per_frame
    latents = torch.randn(1, 48, args.frames, h, w)
    text = torch.randn(1, 512, 4096)
    timestep = torch.full((1, tokens), 937.0)
    timestep[:, :per_frame] = 0.0
    with torch.no_grad():
        start = time.perf_counter()
        out = model(hidden_states=latents, timestep=timestep, encoder_hidden_states=text,
                    return_dict=False)[0]
        secs = time.perf_counter() - start
    print(f"tokens {tokens}: forward {secs:.2f} s, peak rss {peak_rss_mib():.0f} MiB "
          f"(output mean {out.mean().item():.4f})")


if __name__ == "__main__":
    main()
