#!/usr/bin/env python3
"""Writes the parity cases for Open-Sora 2.0's autoencoder and text encoders.

Cases (same format as make_fixtures.py; see README.md), from tiny random configs:
  hunyuan_vae_encode_*   diffusers AutoencoderKLHunyuanVideo, video -> posterior mean
  hunyuan_vae_decode_*   latents -> video (the `_tiled` pair with small spatial tiles,
                         the `_framewise` pair long enough for diffusers' temporal tiles)
  t5_encoder_*           transformers T5EncoderModel (T5 v1.1: gated-gelu, untied)
  clip_text_pooled_*     transformers CLIPTextModel pooler_output, both pooling rules
                         (eos_token_id == 2: argmax of the ids; otherwise the first eos id)

    OMP_NUM_THREADS=2 .venv/bin/python tools/reference/make_opensora_fixtures.py \
        --out crates/kinema-diffusion/tests/parity
"""

import argparse
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_fixtures import _resave_io, write_case  # noqa: E402


def _perturb(module, seed, scale=0.05):
    """Random init leaves norms at exactly 1/0; nudge every parameter so affine terms count."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.add_(torch.randn(p.shape, generator=g) * scale)
    return module


def _tiny_vae(seed):
    from diffusers import AutoencoderKLHunyuanVideo

    torch.manual_seed(seed)
    vae = AutoencoderKLHunyuanVideo(
        latent_channels=4, block_out_channels=(2, 2, 4, 4), layers_per_block=1,
        norm_num_groups=2)
    return _perturb(vae.eval(), seed + 100)


def make_vae_cases(out_dir):
    g = torch.Generator().manual_seed(5)
    # 5 frames -> 2 latent frames, so the causal attention mask and temporal resampling count.
    video = torch.rand(1, 3, 5, 16, 24, generator=g) * 2 - 1
    vae = _tiny_vae(40)
    with torch.no_grad():
        mean = vae.encode(video).latent_dist.mean
    write_case(out_dir, "hunyuan_vae_encode_tiny", "hunyuan_vae_encode", 1e-4, 1e-4, {},
               {"vae": vae}, {"in.video": video, "out.mean": mean})

    latents = torch.randn(1, 4, 2, 2, 3, generator=g)
    with torch.no_grad():
        out = vae.decode(latents).sample
    write_case(out_dir, "hunyuan_vae_decode_tiny", "hunyuan_vae_decode", 1e-4, 1e-4, {},
               {"vae": vae}, {"in.latents": latents, "out.video": out})

    # Spatial tiles of 16 px at a stride of 8 (2 and 1 latents): every blend rule and the
    # in-place order of diffusers' blending shows up on a 32x24 frame.
    tiling = dict(tile_sample_min_height=16, tile_sample_min_width=16,
                  tile_sample_stride_height=8, tile_sample_stride_width=8)
    vae.enable_tiling(**tiling)
    video = torch.rand(1, 3, 5, 32, 24, generator=g) * 2 - 1
    with torch.no_grad():
        mean = vae.encode(video).latent_dist.mean
    write_case(out_dir, "hunyuan_vae_encode_tiled", "hunyuan_vae_encode", 1e-4, 1e-4,
               {"tiling": tiling}, {"vae": vae}, {"in.video": video, "out.mean": mean})
    latents = torch.randn(1, 4, 2, 4, 3, generator=g)
    with torch.no_grad():
        out = vae.decode(latents).sample
    write_case(out_dir, "hunyuan_vae_decode_tiled", "hunyuan_vae_decode", 1e-4, 1e-4,
               {"tiling": tiling}, {"vae": vae}, {"in.latents": latents, "out.video": out})


def make_vae_framewise_cases(out_dir):
    """Clips longer than 16 frames (4 latents) go through diffusers' default framewise
    (temporal) tiling: 17-frame tiles every 12 frames, cross-faded over 1 latent / 4 frames."""
    g = torch.Generator().manual_seed(6)
    vae = _tiny_vae(41)
    video = torch.rand(1, 3, 29, 8, 8, generator=g) * 2 - 1
    with torch.no_grad():
        mean = vae.encode(video).latent_dist.mean
    write_case(out_dir, "hunyuan_vae_encode_framewise", "hunyuan_vae_encode", 1e-4, 1e-4, {},
               {"vae": vae}, {"in.video": video, "out.mean": mean})
    latents = torch.randn(1, 4, 8, 1, 1, generator=g)
    with torch.no_grad():
        out = vae.decode(latents).sample
    write_case(out_dir, "hunyuan_vae_decode_framewise", "hunyuan_vae_decode", 1e-4, 1e-4, {},
               {"vae": vae}, {"in.latents": latents, "out.video": out})


def make_t5_cases(out_dir):
    from transformers import T5Config, T5EncoderModel

    torch.manual_seed(50)
    config = T5Config(vocab_size=64, d_model=16, d_kv=4, num_heads=4, d_ff=24, num_layers=3,
                      feed_forward_proj="gated-gelu", tie_word_embeddings=False,
                      relative_attention_num_buckets=32, relative_attention_max_distance=128)
    model = _perturb(T5EncoderModel(config).eval(), 51)
    g = torch.Generator().manual_seed(52)
    ids = torch.randint(2, 64, (2, 40), generator=g)
    mask = torch.ones(2, 40, dtype=torch.int64)
    # Row 1 is padded with its padding *attended*, as Open-Sora does (mask all ones, pad ids).
    ids[1, 11] = 1
    ids[1, 12:] = 0
    mask[0, 30:] = 0
    ids[0, 30:] = 0
    with torch.no_grad():
        out = model(input_ids=ids, attention_mask=mask).last_hidden_state
    tensors = {"in.input_ids": ids, "in.attention_mask": mask, "out.last_hidden_state": out}
    write_case(out_dir, "t5_encoder_tiny", "t5_encoder", 1e-4, 1e-4, {},
               {"text_encoder": model}, tensors)
    _resave_io(out_dir, "t5_encoder_tiny", tensors)


def make_clip_text_cases(out_dir):
    from transformers import CLIPTextConfig, CLIPTextModel

    # eos_token_id 2 is the legacy rule (argmax of the ids: the highest id is the eos token);
    # 49407 is CLIP-L's real eos id, found by its first occurrence.
    for name, eos, seed in [("clip_text_pooled_argmax", 2, 60), ("clip_text_pooled_eos", 97, 61)]:
        torch.manual_seed(seed)
        config = CLIPTextConfig(vocab_size=100, hidden_size=16, intermediate_size=24,
                                num_attention_heads=2, num_hidden_layers=2,
                                max_position_embeddings=20, hidden_act="quick_gelu",
                                eos_token_id=eos, bos_token_id=96, pad_token_id=eos)
        model = _perturb(CLIPTextModel(config).eval(), seed + 100)
        g = torch.Generator().manual_seed(seed + 200)
        ids = torch.randint(3, 90, (2, 20), generator=g)
        ids[:, 0] = 96
        if eos == 2:
            # argmax picks the largest id: make it the last real token of each row.
            ids[0, 7] = 99
            ids[1, 13] = 99
        else:
            # padded with eos, as CLIP-L's tokenizer pads: the *first* eos must be chosen.
            ids[0, 7:] = eos
            ids[1, 13:] = eos
        with torch.no_grad():
            out = model(input_ids=ids).pooler_output
        tensors = {"in.input_ids": ids, "out.pooler_output": out}
        write_case(out_dir, name, "clip_text_pooled", 1e-4, 1e-4, {},
                   {"text_encoder": model}, tensors)
        _resave_io(out_dir, name, tensors)


FAMILIES = {
    "hunyuan_vae": make_vae_cases,
    "hunyuan_vae_framewise": make_vae_framewise_cases,
    "t5": make_t5_cases,
    "clip_text": make_clip_text_cases,
}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="directory to write the case folders into")
    parser.add_argument("--only", action="append", choices=sorted(FAMILIES),
                        help="family to generate (repeatable); default: all")
    args = parser.parse_args(argv)
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))
    os.makedirs(args.out, exist_ok=True)
    for family in args.only or list(FAMILIES):
        print(f"{family}:")
        FAMILIES[family](args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
