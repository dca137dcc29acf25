#!/usr/bin/env python3
"""Writes a complete, tiny Wan pipeline folder with random weights, in the diffusers layout,
for Kinema's engine and CLI tests:

- `--variant ti2v` (default): Wan-AI/Wan2.2-TI2V-5B-Diffusers' layout (model_index.json,
  scheduler/, text_encoder/, tokenizer/, transformer/, vae/);
- `--variant i2v`: a Wan2.1 I2V layout (Wan-AI/Wan2.1-I2V-14B-480P-Diffusers), which adds
  image_encoder/ (CLIP vision, saved with the `vision_model.` key prefix that transformers 4
  wrote for the released checkpoints) and image_processor/, a 16-channel VAE, and a
  transformer with image_dim and added_kv_proj_dim.
- `--variant svd`: a Stable Video Diffusion layout (stabilityai/stable-video-diffusion-img2vid-xt:
  model_index.json, feature_extractor/, image_encoder/, scheduler/, unet/, vae/) with SVD-XT's
  scheduler config, a one-level U-Net (no layers in its down block) and VAE at 32 channels
  (GroupNorm's minimum), and a
  CLIP at 224 pixels (the size diffusers resizes decoded images to). Weights are float16 to
  keep the folder small; Kinema and diffusers both load them as float32.

    python tools/reference/make_tiny_model.py \
        --out crates/kinema-diffusion/tests/models/wan-tiny-ti2v
    python tools/reference/make_tiny_model.py --variant i2v \
        --out crates/kinema-diffusion/tests/models/wan-tiny-i2v
    python tools/reference/make_tiny_model.py --variant svd \
        --out crates/kinema-diffusion/tests/models/tiny-svd
    python tools/reference/make_tiny_model.py --variant opensora --opensora-src ~/src/Open-Sora \
        --out crates/kinema-diffusion/tests/models/tiny-opensora

- `--variant opensora`: an Open-Sora 2.0 folder as hpcai-tech/Open-Sora-v2 ships it (see
  make_tiny_opensora.py); it needs Open-Sora's source at the pinned commit
  (`--opensora-src`, as for opensora_reference.py) because the MMDiT is built by its code.

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


def build_i2v():
    from diffusers import (AutoencoderKLWan, UniPCMultistepScheduler, WanImageToVideoPipeline,
                           WanTransformer3DModel)
    from transformers import (CLIPImageProcessor, CLIPVisionConfig, CLIPVisionModel, UMT5Config,
                              UMT5EncoderModel)

    tokenizer = _tiny_tokenizer()
    torch.manual_seed(10)
    text_encoder = UMT5EncoderModel(UMT5Config(
        vocab_size=len(tokenizer), d_model=32, d_kv=8, num_heads=4, d_ff=64, num_layers=2,
        relative_attention_num_buckets=32)).eval()
    torch.manual_seed(11)
    image_encoder = _perturbed(CLIPVisionModel(CLIPVisionConfig(
        hidden_size=40, intermediate_size=56, num_attention_heads=5, num_hidden_layers=3,
        image_size=32, patch_size=8, hidden_act="gelu")).eval(), 11)
    image_processor = CLIPImageProcessor(crop_size=32, size={"shortest_edge": 32})
    torch.manual_seed(12)
    vae = _perturbed(AutoencoderKLWan(
        base_dim=3, z_dim=16, dim_mult=[1, 1, 1, 1], num_res_blocks=1,
        temperal_downsample=[False, True, True]), 12, 0.05)
    torch.manual_seed(13)
    transformer = _perturbed(WanTransformer3DModel(
        patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=12, in_channels=36,
        out_channels=16, text_dim=32, freq_dim=256, ffn_dim=32, num_layers=2, cross_attn_norm=True,
        qk_norm="rms_norm_across_heads", rope_max_seq_len=64, image_dim=40,
        added_kv_proj_dim=24), 13)
    # rope_max_seq_len 64: the VAE compresses 8x (not 16x), so the default 704-pixel canvas
    # is a 44-wide patch grid. Wan2.1 I2V 480P's scheduler config (UniPC, flow sigmas, flow_shift 3).
    scheduler = UniPCMultistepScheduler(**dict(WAN_UNIPC, flow_shift=3.0))
    return WanImageToVideoPipeline(tokenizer=tokenizer, text_encoder=text_encoder, vae=vae,
                                   scheduler=scheduler, transformer=transformer,
                                   transformer_2=None, image_encoder=image_encoder,
                                   image_processor=image_processor, boundary_ratio=None,
                                   expand_timesteps=False)


def build_svd():
    from make_svd_fixtures import FLAT_UNET, FLAT_VAE, SVD_EULER, _clip, _unet, _vae
    from diffusers import EulerDiscreteScheduler, StableVideoDiffusionPipeline
    from transformers import CLIPImageProcessor

    # No layers in the down block (the up block keeps one): the smallest complete U-Net.
    # sample_size 64 (latents; the VAE keeps pixel size) makes the engine default to a
    # 64-pixel picture, quick for a random-weight model.
    unet = _unet(dict(FLAT_UNET, layers_per_block=0, sample_size=64), 20)
    vae = _vae(FLAT_VAE, 21)
    encoder = _clip(22, hidden_size=32, intermediate_size=37, num_attention_heads=4,
                    num_hidden_layers=2, projection_dim=16, image_size=224, patch_size=14)
    pipe = StableVideoDiffusionPipeline(
        vae=vae, image_encoder=encoder, unet=unet,
        scheduler=EulerDiscreteScheduler(**SVD_EULER),
        feature_extractor=CLIPImageProcessor(crop_size=224, size=224))
    pipe.set_progress_bar_config(disable=True)
    return pipe


def smoke_svd(pipe, out):
    """Runs the saved folder in diffusers (float16 weights loaded as float32)."""
    from diffusers import StableVideoDiffusionPipeline
    from PIL import Image

    loaded = StableVideoDiffusionPipeline.from_pretrained(out, torch_dtype=torch.float32)
    loaded.set_progress_bar_config(disable=True)
    with torch.no_grad():
        frames = loaded(Image.new("RGB", (40, 24), (0, 255, 0)), height=24, width=40,
                        num_frames=3, num_inference_steps=2, decode_chunk_size=2,
                        output_type="pt").frames
    assert frames.shape == (1, 3, 3, 24, 40), frames.shape


def _prefix_vision_keys(folder):
    """Rewrites image_encoder/model.safetensors with `vision_model.` keys, as transformers 4
    saved CLIPVisionModel (and as the released Wan2.1 checkpoints hold them)."""
    from safetensors.torch import load_file, save_file

    path = os.path.join(folder, "image_encoder", "model.safetensors")
    tensors = load_file(path)
    if not any(k.startswith("vision_model.") for k in tensors):
        save_file({f"vision_model.{k}": v for k, v in tensors.items()}, path,
                  metadata={"format": "pt"})


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="folder to (re)create")
    parser.add_argument("--variant", choices=["ti2v", "i2v", "svd", "opensora"], default="ti2v")
    parser.add_argument("--opensora-src", help="Open-Sora checkout at the pinned commit "
                        "(--variant opensora only)")
    args = parser.parse_args(argv)
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))
    if args.variant == "opensora":
        from make_tiny_opensora import build_opensora

        if not args.opensora_src:
            parser.error("--variant opensora needs --opensora-src (Open-Sora at "
                         "7ad6a96a135feb81f755c84fb391818718f6beb2)")
        return report_size(build_opensora(args.out, args.opensora_src))
    if args.variant == "svd":
        from make_svd_fixtures import _half_pipeline

        pipe = build_svd()
        if os.path.isdir(args.out):
            shutil.rmtree(args.out)
        _half_pipeline(pipe).save_pretrained(args.out)
        smoke_svd(pipe, args.out)
        return report_size(args.out)
    pipe = build() if args.variant == "ti2v" else build_i2v()
    if os.path.isdir(args.out):
        shutil.rmtree(args.out)
    pipe.save_pretrained(args.out)
    if args.variant == "i2v":
        _prefix_vision_keys(args.out)
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
    return report_size(args.out)


def report_size(out):
    size = sum(os.path.getsize(os.path.join(root, f))
               for root, _, files in os.walk(out) for f in files)
    print(f"wrote {out}: {size / 1024:.0f} KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
