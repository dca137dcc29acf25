#!/usr/bin/env python3
"""Reference timing for `cargo bench -p kinema-diffusion --bench hunyuan_vae`.

diffusers' AutoencoderKLHunyuanVideo with its default (= released) config and random
weights, on the CPU, same thread count as the Rust benchmark (default 2; OMP_NUM_THREADS):
the reference-frame encode (1 frame 256x256, posterior sample x 0.476986) and a decode of
latents [1, 16, 5, 16, 16] (17 frames at 128x128). Prints each time and the peak RSS.

    OMP_NUM_THREADS=2 .venv/bin/python tools/reference/bench_hunyuan_vae.py [--iters N]
"""

import argparse
import os
import resource
import sys
import time

import torch


def peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def best_of(iters, f):
    times, out = [], None
    for _ in range(iters):
        t = time.perf_counter()
        out = f()
        times.append(time.perf_counter() - t)
    return min(times), out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--iters", type=int, default=1)
    args = parser.parse_args()
    threads = int(os.environ.get("OMP_NUM_THREADS", "2"))
    torch.set_num_threads(threads)
    from diffusers import AutoencoderKLHunyuanVideo

    torch.manual_seed(0)
    vae = AutoencoderKLHunyuanVideo().eval()
    frame = torch.rand(1, 3, 1, 256, 256) * 2 - 1
    latents = torch.randn(1, 16, 5, 16, 16)
    print(f"torch {torch.__version__} threads={threads}")
    with torch.inference_mode():
        enc_s, z = best_of(args.iters, lambda: vae.encode(frame).latent_dist.sample() * 0.476986)
        print(f"encode 1x256x256 -> {list(z.shape)}: best {enc_s:.2f} s; peak RSS {peak_rss_mib():.0f} MiB")
        dec_s, v = best_of(args.iters, lambda: vae.decode(latents).sample)
        print(f"decode -> {list(v.shape)}: best {dec_s:.2f} s; peak RSS {peak_rss_mib():.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
