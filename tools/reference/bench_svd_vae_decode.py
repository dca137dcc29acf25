#!/usr/bin/env python3
"""PyTorch/diffusers counterpart of `crates/kinema-diffusion/benches/svd_vae_decode.rs`.

Decodes one chunk of 8 frames at 256x256 (latents [8, 4, 32, 32]) with SVD-XT's
AutoencoderKLTemporalDecoder config and random weights, decoder only (the encoder is
dropped before decoding), float32 on CPU. Prints decode time and peak RSS.

    OMP_NUM_THREADS=2 python tools/reference/bench_svd_vae_decode.py [--frames N]
"""

import argparse
import os
import resource
import time

import torch
from diffusers import AutoencoderKLTemporalDecoder


def peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--frames", type=int, default=8)
    parser.add_argument("--latent", type=int, default=32)
    args = parser.parse_args()
    threads = int(os.environ.get("OMP_NUM_THREADS", "2"))
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    t0 = time.perf_counter()
    vae = AutoencoderKLTemporalDecoder(
        block_out_channels=[128, 256, 512, 512], down_block_types=["DownEncoderBlock2D"] * 4,
        in_channels=3, latent_channels=4, layers_per_block=2, out_channels=3).eval()
    vae.encoder = None
    vae.quant_conv = None
    print(f"threads {threads}; build {time.perf_counter() - t0:.2f} s; "
          f"peak RSS after build {peak_rss_mib():.0f} MiB")
    latents = torch.randn(args.frames, 4, args.latent, args.latent)
    with torch.inference_mode():
        t = time.perf_counter()
        video = vae.decode(latents, num_frames=args.frames).sample
        secs = time.perf_counter() - t
    print(f"decode {list(video.shape)}: {secs:.2f} s; peak RSS {peak_rss_mib():.0f} MiB")


if __name__ == "__main__":
    main()
