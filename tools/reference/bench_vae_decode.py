#!/usr/bin/env python3
"""Reference timing for `cargo bench -p kinema-diffusion --bench vae_decode`.

Decodes 17 frames at 256x256 (latents [1, 48, 5, 16, 16]) with the real Wan2.2 VAE config
(Wan-AI/Wan2.2-TI2V-5B-Diffusers vae/config.json) and random weights, on the CPU, with the
same thread count as the Rust benchmark (default 2; set OMP_NUM_THREADS to change it).
Prints wall time of the decode and the process's peak RSS.

    OMP_NUM_THREADS=2 .venv/bin/python tools/reference/bench_vae_decode.py [--parts both|decoder]
"""

import argparse
import os
import resource
import sys
import time

import torch

WAN22_VAE = dict(
    base_dim=160, decoder_base_dim=256, z_dim=48, dim_mult=[1, 2, 4, 4], num_res_blocks=2,
    attn_scales=[], temperal_downsample=[False, True, True], dropout=0.0, is_residual=True,
    in_channels=12, out_channels=12, patch_size=2, scale_factor_spatial=16,
    scale_factor_temporal=4, latents_mean=[0.0] * 48, latents_std=[1.0] * 48,
)


def peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--parts", choices=["both", "decoder"], default="both",
                        help="'decoder' drops the encoder before decoding (memory comparison)")
    parser.add_argument("--iters", type=int, default=1)
    args = parser.parse_args()
    threads = int(os.environ.get("OMP_NUM_THREADS", "2"))
    torch.set_num_threads(threads)
    from diffusers import AutoencoderKLWan

    t0 = time.perf_counter()
    torch.manual_seed(0)
    vae = AutoencoderKLWan(**WAN22_VAE).eval()
    if args.parts == "decoder":
        vae.encoder = None
    build_s = time.perf_counter() - t0
    latents = torch.randn(1, 48, 5, 16, 16, generator=torch.Generator().manual_seed(0))
    rss_before = peak_rss_mib()
    times = []
    with torch.inference_mode():
        for _ in range(args.iters):
            t = time.perf_counter()
            video = vae.decode(latents).sample
            times.append(time.perf_counter() - t)
    print(f"torch {torch.__version__} threads={threads} parts={args.parts}")
    print(f"build {build_s:.2f} s; peak RSS after build {rss_before:.0f} MiB")
    print(f"decode {list(video.shape)}: best {min(times):.2f} s, runs {[round(x, 2) for x in times]}")
    print(f"peak RSS {peak_rss_mib():.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
