#!/usr/bin/env python3
"""Writes a complete, tiny Wan2.2 TI2V pipeline folder with random weights, in the diffusers
layout of Wan-AI/Wan2.2-TI2V-5B-Diffusers (model_index.json, scheduler/, text_encoder/,
tokenizer/, transformer/, vae/), for Kinema's engine and CLI tests:

    python tools/reference/make_tiny_model.py \
        --out crates/kinema-diffusion/tests/models/wan-tiny-ti2v

The networks have the real architecture at toy widths (the transformer and VAE configs of
diffusers' fast test tests/pipelines/wan/test_wan_22_image_to_video.py, a 2-layer umT5 with
32-wide embeddings, the code-built tokenizer of make_fixtures.py). Their outputs are noise:
the folder exists to exercise loading, prompt encoding, sampling, decoding and keying end to
end in well under a second, not to make pictures.
"""

import argparse
import os
import shutil
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_fixtures import WAN_UNIPC, _perturbed, _tiny_tokenizer  # noqa: E402


def build():
    from diffusers import (AutoencoderKLWan, UniPCMultistepScheduler, WanImageToVideoPipeline,
                           WanTransformer3DModel)
    from transformers import UMT5Config, UMT5EncoderModel

    tokenizer = _tiny_tokenizer()
    torch.manual_seed(0)
    text_encoder = UMT5EncoderModel(UMT5Config(
        vocab_size=len(tokenizer), d_model=32, d_kv=8, num_heads=4, d_ff=64, num_layers=2,
        relative_attention_num_buckets=32)).eval()
    torch.manual_seed(1)
    vae = _perturbed(AutoencoderKLWan(
        base_dim=3, z_dim=48, in_channels=12, out_channels=12, is_residual=True, patch_size=2,
        latents_mean=[0.0] * 48, latents_std=[1.0] * 48, dim_mult=[1, 1, 1, 1], num_res_blocks=1,
        scale_factor_spatial=16, scale_factor_temporal=4,
        temperal_downsample=[False, True, True]), 1, 0.05)
    torch.manual_seed(2)
    transformer = _perturbed(WanTransformer3DModel(
        patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=12, in_channels=48,
        out_channels=48, text_dim=32, freq_dim=256, ffn_dim=32, num_layers=2, cross_attn_norm=True,
        qk_norm="rms_norm_across_heads", rope_max_seq_len=32), 2)
    # Wan2.2 TI2V-5B's own scheduler config (UniPC, flow sigmas, flow_shift 5).
    scheduler = UniPCMultistepScheduler(**dict(WAN_UNIPC, flow_shift=5.0))
    return WanImageToVideoPipeline(tokenizer=tokenizer, text_encoder=text_encoder, vae=vae,
                                   scheduler=scheduler, transformer=transformer,
                                   transformer_2=None, image_encoder=None, image_processor=None,
                                   boundary_ratio=None, expand_timesteps=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="folder to (re)create")
    args = parser.parse_args(argv)
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))
    pipe = build()
    if os.path.isdir(args.out):
        shutil.rmtree(args.out)
    pipe.save_pretrained(args.out)
    # Smoke-run it in diffusers so a folder that diffusers cannot run is never committed.
    from PIL import Image
    # (Embeddings go in directly: diffusers' prompt cleaning needs ftfy, which is optional.)
    ids = pipe.tokenizer(["a slime bounces"], return_tensors="pt").input_ids
    with torch.no_grad():
        embeds = pipe.text_encoder(ids).last_hidden_state
        out = pipe(image=Image.new("RGB", (32, 32), (0, 255, 0)), prompt_embeds=embeds,
                   negative_prompt_embeds=torch.zeros_like(embeds), height=32, width=32,
                   num_frames=5, num_inference_steps=2, output_type="pt").frames
    assert out.shape == (1, 5, 3, 32, 32), out.shape
    size = sum(os.path.getsize(os.path.join(root, f))
               for root, _, files in os.walk(args.out) for f in files)
    print(f"wrote {args.out}: {size / 1024:.0f} KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
