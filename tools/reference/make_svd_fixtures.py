#!/usr/bin/env python3
"""Writes the Stable Video Diffusion parity cases (case format: see make_fixtures.py).

Components (their case and tensor names are fixed; other case folders are checked against
them through KINEMA_PARITY_DIRS):

  svd_vae_encode          vae/            in.image [B,3,H,W] in [-1,1] -> out.mean
  svd_vae_decode          vae/            in.latents [F,4,h,w], params {num_frames,
                                          decode_chunk_size?} -> out.video [F,3,H,W]
  svd_unet                unet/           in.sample [B,F,C,h,w], in.timestep [B],
                                          in.encoder_hidden_states [B,1,D],
                                          in.added_time_ids [B,3] -> out.sample [B,F,4,h,w]
  clip_vision_projection  image_encoder/  in.pixel_values [B,3,S,S] -> out.image_embeds [B,P]
  euler_karras            scheduler/      in.sample, in.model_outputs [N,...],
  euler_discrete                          params {num_inference_steps} -> out.timesteps [N],
                                          out.sigmas [N+1], out.scaled [N,...],
                                          out.samples [N,...], out.init_noise_sigma [1]
  svd_resize_antialias    (none)          in.image [B,3,H,W] in [-1,1], params {height,
                                          width} -> out.image (diffusers'
                                          _resize_with_antialiasing)
  svd_pipeline            the pipeline    in.image [1,3,H,W] in [0,1], in.latents [1,F,4,h,w],
                                          in.image_noise [1,3,H,W], params {height, width,
                                          num_frames, num_inference_steps, min_guidance_scale,
                                          max_guidance_scale, fps, motion_bucket_id,
                                          noise_aug_strength, decode_chunk_size,
                                          image_input?} -> out.frames [1,F,3,H,W]

Every parameter of every network is re-randomised (mix_factor, norms, biases and the
projections diffusers initialises to constants included), so a mis-mapped weight cannot
hide behind a zero or a one. Weights are rounded to float16 and saved as float16 so that the
committed cases stay small; both sides then compute in float32 from the same values (the
bf16 cases run both sides in bfloat16 instead). Each pipeline case is first run through a
hand-written sampling loop and only written if diffusers agrees with it.

The committed cases use configs shaped like diffusers' fast-test configs but trimmed to fit
the ~1 MB case budget. `--full` also writes diffusers' exact test configs (several MB each;
not committed):

    python tools/reference/make_svd_fixtures.py --out crates/kinema-diffusion/tests/parity
    python tools/reference/make_svd_fixtures.py --out /tmp/svd-full --full
    KINEMA_PARITY_DIRS=/tmp/svd-full cargo test -p kinema-diffusion --test parity
"""

import argparse
import copy
import math
import os
import sys
import tempfile

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_fixtures import _bf16_tolerance, write_case  # noqa: E402

# stabilityai/stable-video-diffusion-img2vid-xt scheduler/scheduler_config.json (the keys
# EulerDiscreteScheduler reads; the config also carries clip_sample, set_alpha_to_one and
# skip_prk_steps, which it ignores).
SVD_EULER = dict(beta_end=0.012, beta_schedule="scaled_linear", beta_start=0.00085,
                 interpolation_type="linear", num_train_timesteps=1000,
                 prediction_type="v_prediction", sigma_max=700.0, sigma_min=0.002,
                 steps_offset=1, timestep_spacing="leading", timestep_type="continuous",
                 trained_betas=None, use_karras_sigmas=True)

# diffusers' fast-test configs (tests/pipelines/stable_video_diffusion/).
TEST_UNET = dict(block_out_channels=(32, 64), layers_per_block=2, sample_size=32, in_channels=8,
                 out_channels=4,
                 down_block_types=("CrossAttnDownBlockSpatioTemporal", "DownBlockSpatioTemporal"),
                 up_block_types=("UpBlockSpatioTemporal", "CrossAttnUpBlockSpatioTemporal"),
                 cross_attention_dim=32, num_attention_heads=8,
                 projection_class_embeddings_input_dim=96, addition_time_embed_dim=32)
TEST_VAE = dict(block_out_channels=[32, 64], in_channels=3, out_channels=3,
                down_block_types=["DownEncoderBlock2D", "DownEncoderBlock2D"], latent_channels=4)
TEST_CLIP = dict(hidden_size=32, projection_dim=32, num_hidden_layers=5, num_attention_heads=4,
                 image_size=32, intermediate_size=37, patch_size=1)

# Trimmed to the case budget: 32 channels is GroupNorm's minimum (32 groups).
SMALL_VAE = dict(block_out_channels=[32, 32], in_channels=3, out_channels=3,
                 down_block_types=["DownEncoderBlock2D"] * 2, latent_channels=4)
# Three levels, two layers per block: the decoder mid block applies its attention.
WIDE_VAE = dict(block_out_channels=[32, 32, 32], layers_per_block=2, in_channels=3,
                out_channels=3, down_block_types=["DownEncoderBlock2D"] * 3, latent_channels=4)
# One level: no resampling, latents at pixel size (the tiny pipelines' VAE).
FLAT_VAE = dict(block_out_channels=[32], in_channels=3, out_channels=3,
                down_block_types=["DownEncoderBlock2D"], latent_channels=4)
# Two levels of plain spatio-temporal blocks: down/upsampling and skip connections.
PLAIN_UNET = dict(block_out_channels=(32, 32), layers_per_block=1, in_channels=8, out_channels=4,
                  down_block_types=("DownBlockSpatioTemporal",) * 2,
                  up_block_types=("UpBlockSpatioTemporal",) * 2, cross_attention_dim=12,
                  num_attention_heads=2, projection_class_embeddings_input_dim=24,
                  addition_time_embed_dim=8)
# Layers per level as a list, (2, 1), which the up path reads reversed: the inner up block
# has two residual blocks (skips from level two's layer and level one's downsampler), the
# outer one three (level one's two layers and conv_in).
LAYERS2_UNET = dict(PLAIN_UNET, layers_per_block=(2, 1), cross_attention_dim=6,
                    projection_class_embeddings_input_dim=9, addition_time_embed_dim=3)
# One level each (the case budget fits no more): cross-attention down blocks with two
# transformer layers per block (also in the mid block), and cross-attention up blocks.
CROSS_DOWN_UNET = dict(block_out_channels=(32,), layers_per_block=1,
                       transformer_layers_per_block=2, in_channels=8, out_channels=4,
                       down_block_types=("CrossAttnDownBlockSpatioTemporal",),
                       up_block_types=("UpBlockSpatioTemporal",), cross_attention_dim=8,
                       num_attention_heads=4, projection_class_embeddings_input_dim=15,
                       addition_time_embed_dim=5)
CROSS_UP_UNET = dict(block_out_channels=(32,), layers_per_block=1, in_channels=8, out_channels=4,
                     down_block_types=("DownBlockSpatioTemporal",),
                     up_block_types=("CrossAttnUpBlockSpatioTemporal",), cross_attention_dim=20,
                     num_attention_heads=1, projection_class_embeddings_input_dim=6,
                     addition_time_embed_dim=2)
# The tiny pipelines' U-Net: one level, cross-attention only in the mid block.
FLAT_UNET = dict(block_out_channels=(32,), layers_per_block=1, in_channels=8, out_channels=4,
                 down_block_types=("DownBlockSpatioTemporal",),
                 up_block_types=("UpBlockSpatioTemporal",), cross_attention_dim=16,
                 num_attention_heads=2, projection_class_embeddings_input_dim=24,
                 addition_time_embed_dim=8)


def writes_stream(name):
    """Parameters whose output joins the residual stream between the norms: the input
    convolutions, the last convolution of every residual branch, the projections back out of
    attention, shortcuts and resampling convolutions."""
    stream = ("conv_in.", ".conv2.", "conv_shortcut.", "proj_out.", "samplers.0.conv.")
    vae_attention = "attentions.0.to_out" in name and "transformer" not in name
    return any(part in name for part in stream) or vae_attention


def rerandomise(module, seed, half=True, stream_scale=1.0):
    """Replaces every parameter with seeded random values of a sensible scale, then (half)
    rounds them to float16 precision so the float16 copy saved with the case is exact.

    stream_scale < 1 shrinks what writes the residual stream (see writes_stream), so every
    GroupNorm normalises activations whose variance is comparable to its epsilon: a 1e-5
    where diffusers has 1e-6 then changes the output well beyond the tolerance. Inside each
    branch, after its norm, activations stay of order one."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in module.named_parameters():
            r = torch.randn(p.shape, generator=g)
            if name.endswith("mix_factor"):
                value = 1.5 * r  # sigmoid far from 0.5 and from 0 or 1: the swap shows
            elif p.ndim == 1 and "norm" in name and name.endswith("weight"):
                value = 1.0 + 0.25 * r
            elif p.ndim == 1:
                value = 0.1 * r
            else:
                value = r / math.sqrt(p[0].numel())
            if writes_stream(name):
                value = value * stream_scale
            p.copy_(value)
            if half:
                p.copy_(p.half().float())
    return module.eval()


def save_half(module):
    """A float16 copy for saving (the float32 original keeps computing)."""
    return copy.deepcopy(module).to(torch.float16)


def _unet(cfg, seed, stream_scale=1.0):
    from diffusers import UNetSpatioTemporalConditionModel

    torch.manual_seed(seed)
    return rerandomise(UNetSpatioTemporalConditionModel(**cfg), seed, stream_scale=stream_scale)


def _vae(cfg, seed, stream_scale=1.0):
    from diffusers import AutoencoderKLTemporalDecoder

    torch.manual_seed(seed)
    return rerandomise(AutoencoderKLTemporalDecoder(**cfg), seed, stream_scale=stream_scale)


# Residual streams shrunk this much make every norm's epsilon count (see rerandomise).
EPS_PROBE = 0.01


def _clip(seed, **cfg):
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

    torch.manual_seed(seed)
    return rerandomise(CLIPVisionModelWithProjection(CLIPVisionConfig(**cfg)), seed)


# ---------------------------------------------------------------------------------------------
# VAE: svd_vae_encode, svd_vae_decode
# ---------------------------------------------------------------------------------------------

def decode_in_chunks(vae, latents, num_frames, chunk):
    """StableVideoDiffusionPipeline.decode_latents after its 1/scaling_factor: each chunk is
    decoded as one clip of its own length; without a chunk, clips of num_frames."""
    if chunk is None:
        return vae.decode(latents, num_frames=num_frames).sample
    parts = [vae.decode(latents[i:i + chunk], num_frames=latents[i:i + chunk].shape[0]).sample
             for i in range(0, latents.shape[0], chunk)]
    return torch.cat(parts)


def make_vae_cases(out_dir, full=False):
    # (name, config, encode image shape, decode latents shape, num_frames, chunk, seed,
    #  stream scale)
    cases = [
        ("svd_vae_tiny", SMALL_VAE, (2, 3, 16, 16), (3, 4, 8, 8), 3, None, 3000, 1.0),
        # Odd frame count, non-square, chunks of 2 (2 + 2 + 1), attention applied in the mid
        # block, three resolutions; small residual streams, so the 2D (1e-6) and temporal
        # (1e-5) norm epsilons both show.
        ("svd_vae_wide", WIDE_VAE, (1, 3, 24, 40), (5, 4, 6, 10), 5, 2, 3001, EPS_PROBE),
        # Two clips of 3 frames decoded in one call.
        ("svd_vae_flat", FLAT_VAE, (1, 3, 12, 20), (6, 4, 5, 7), 3, None, 3002, 1.0),
    ]
    if full:
        cases = [("svd_vae_test", TEST_VAE, (1, 3, 32, 32), (4, 4, 16, 16), 2, None, 3003, 1.0)]
    for name, cfg, image_shape, latent_shape, frames, chunk, seed, scale in cases:
        vae = _vae(cfg, seed, scale)
        g = torch.Generator().manual_seed(seed)
        image = torch.rand(image_shape, generator=g) * 2 - 1
        latents = torch.randn(latent_shape, generator=g)
        with torch.no_grad():
            mean = vae.encode(image).latent_dist.mean
            video = decode_in_chunks(vae, latents, frames, chunk)
        saved = {"vae": save_half(vae)}
        write_case(out_dir, f"{name}_encode", "svd_vae_encode", 1e-4, 1e-4, {}, saved,
                   {"in.image": image, "out.mean": mean})
        params = {"num_frames": frames}
        if chunk is not None:
            params["decode_chunk_size"] = chunk
        write_case(out_dir, f"{name}_decode", "svd_vae_decode", 1e-4, 1e-4, params, saved,
                   {"in.latents": latents, "out.video": video})


# ---------------------------------------------------------------------------------------------
# U-Net: svd_unet
# ---------------------------------------------------------------------------------------------

def unet_inputs(cfg, batch, frames, h, w, g, timestep=None):
    sample = torch.randn(batch, frames, cfg["in_channels"], h, w, generator=g)
    t = timestep if timestep is not None else torch.rand(batch, generator=g) * 3 - 1
    states = torch.randn(batch, 1, cfg["cross_attention_dim"], generator=g)
    # fps − 1, motion bucket, noise augmentation: real-valued ranges as the pipeline sends.
    ids = torch.stack([torch.tensor([6.0, 127.0, 0.02]), torch.tensor([9.0, 30.0, 0.3])])[:batch]
    return sample, t, states, ids


def make_unet_cases(out_dir, full=False):
    cases = [
        # name, config, batch, frames, h, w, seed, stream scale
        ("svd_unet_plain", PLAIN_UNET, 2, 3, 8, 8, 4000, 1.0),
        # Odd latent sizes (5x7): upsampling to the skip connection's size. This and the
        # cross-attention cases shrink the residual streams, so every block type's norm
        # epsilon (1e-5 plain down and mid, 1e-6 cross-attention down and all up) shows.
        ("svd_unet_plain_odd", PLAIN_UNET, 1, 5, 5, 7, 4001, EPS_PROBE),
        ("svd_unet_cross_down", CROSS_DOWN_UNET, 2, 4, 4, 6, 4002, EPS_PROBE),
        ("svd_unet_cross_up", CROSS_UP_UNET, 1, 2, 3, 5, 4004, EPS_PROBE),
        ("svd_unet_layers2", LAYERS2_UNET, 1, 3, 6, 10, 4005, 1.0),
    ]
    if full:
        cases = [("svd_unet_test", TEST_UNET, 2, 3, 8, 8, 4003, 1.0)]
    for name, cfg, batch, frames, h, w, seed, scale in cases:
        unet = _unet(cfg, seed, scale)
        g = torch.Generator().manual_seed(seed)
        sample, t, states, ids = unet_inputs(cfg, batch, frames, h, w, g)
        with torch.no_grad():
            out = unet(sample, t, encoder_hidden_states=states, added_time_ids=ids,
                       return_dict=False)[0]
        write_case(out_dir, name, "svd_unet", 1e-4, 1e-4, {}, {"unet": save_half(unet)},
                   {"in.sample": sample, "in.timestep": t, "in.encoder_hidden_states": states,
                    "in.added_time_ids": ids, "out.sample": out})


# ---------------------------------------------------------------------------------------------
# CLIP vision with projection: clip_vision_projection
# ---------------------------------------------------------------------------------------------

def make_clip_cases(out_dir, full=False):
    cases = [
        ("clip_projection_gelu", dict(hidden_size=40, intermediate_size=56, num_attention_heads=5,
                                      num_hidden_layers=3, image_size=30, patch_size=6,
                                      projection_dim=24, hidden_act="gelu"), 2, 5000),
        ("clip_projection_quick_gelu", dict(hidden_size=32, intermediate_size=37,
                                            num_attention_heads=4, num_hidden_layers=2,
                                            image_size=32, patch_size=8, projection_dim=16),
         1, 5001),
    ]
    if full:
        cases = [("clip_projection_test", TEST_CLIP, 2, 5002)]
    for name, cfg, batch, seed in cases:
        model = _clip(seed, **cfg)
        g = torch.Generator().manual_seed(seed)
        pixels = torch.randn(batch, 3, cfg["image_size"], cfg["image_size"], generator=g)
        with torch.no_grad():
            embeds = model(pixel_values=pixels).image_embeds
        write_case(out_dir, name, "clip_vision_projection", 1e-4, 1e-4, {},
                   {"image_encoder": save_half(model)},
                   {"in.pixel_values": pixels, "out.image_embeds": embeds})


# ---------------------------------------------------------------------------------------------
# Scheduler: euler_karras (and euler_discrete for the non-Karras variants)
# ---------------------------------------------------------------------------------------------

def run_euler(scheduler, steps, shape, seed):
    """Pipeline order per step: scale_model_input, then step with a random model output."""
    g = torch.Generator().manual_seed(seed)
    scheduler.set_timesteps(steps, device="cpu")
    sample = torch.randn(shape, generator=g) * scheduler.init_noise_sigma
    model_outputs = torch.randn((steps, *shape), generator=g)
    timesteps = scheduler.timesteps.clone()
    sigmas = scheduler.sigmas.clone()
    x = sample
    scaled, samples = [], []
    for i, t in enumerate(timesteps):
        scaled.append(scheduler.scale_model_input(x, t))
        x = scheduler.step(model_outputs[i], t, x, return_dict=False)[0]
        samples.append(x)
    return {"in.sample": sample, "in.model_outputs": model_outputs,
            "out.timesteps": timesteps.float(), "out.sigmas": sigmas.float(),
            "out.scaled": torch.stack(scaled), "out.samples": torch.stack(samples),
            "out.init_noise_sigma": torch.tensor([float(scheduler.init_noise_sigma)])}


def make_scheduler_cases(out_dir, full=False):
    from diffusers import EulerDiscreteScheduler

    if full:
        return
    cases = [
        ("euler_karras_svd_steps25", "euler_karras", SVD_EULER, 25, (1, 5, 4, 3, 5)),
        ("euler_karras_svd_steps1", "euler_karras", SVD_EULER, 1, (1, 2, 4, 2, 3)),
        ("euler_karras_svd_steps2", "euler_karras", SVD_EULER, 2, (2, 3, 4, 3, 2)),
        ("euler_karras_svd_steps30", "euler_karras", SVD_EULER, 30, (1, 3, 4, 2, 2)),
        # Karras between the training schedule's own ends, discrete timesteps (sigma -> t),
        # epsilon prediction, linspace spacing.
        ("euler_karras_discrete_steps12", "euler_karras",
         dict(beta_schedule="scaled_linear", beta_start=0.00085, beta_end=0.012,
              use_karras_sigmas=True), 12, (2, 4, 3)),
        ("euler_karras_trailing_sigmamin_steps7", "euler_karras",
         dict(use_karras_sigmas=True, timestep_spacing="trailing", final_sigmas_type="sigma_min",
              prediction_type="sample"), 7, (3, 5)),
        ("euler_discrete_leading_steps10", "euler_discrete",
         dict(beta_schedule="squaredcos_cap_v2", timestep_spacing="leading", steps_offset=1),
         10, (1, 4, 2, 3)),
        ("euler_discrete_linspace_vpred_steps8", "euler_discrete",
         dict(prediction_type="v_prediction", timestep_type="continuous"), 8, (4, 3)),
    ]
    for seed, (name, component, cfg, steps, shape) in enumerate(cases, start=6000):
        scheduler = EulerDiscreteScheduler(**cfg)
        tensors = run_euler(scheduler, steps, shape, seed)
        write_case(out_dir, name, component, 1e-5, 1e-5, {"num_inference_steps": steps},
                   {"scheduler": scheduler}, tensors)


# ---------------------------------------------------------------------------------------------
# The CLIP resize: svd_resize_antialias
# ---------------------------------------------------------------------------------------------

def make_resize_cases(out_dir, full=False):
    from diffusers.pipelines.stable_video_diffusion.pipeline_stable_video_diffusion import (
        _resize_with_antialiasing)

    if full:
        return
    # Shrinking by 3.75 x 3.5 (5x5 Gaussian, sigmas 1.375/1.25), by 1.5 x 2.2 (even kernel
    # sizes rounded up), and enlarging (a 3-tap kernel of sigma 0.001, bicubic up).
    cases = [("svd_resize_shrink", (2, 3, 90, 70), (24, 20)),
             ("svd_resize_mixed", (1, 3, 33, 44), (22, 20)),
             ("svd_resize_enlarge", (1, 3, 9, 13), (20, 16))]
    for seed, (name, shape, size) in enumerate(cases, start=7000):
        g = torch.Generator().manual_seed(seed)
        image = torch.rand(shape, generator=g) * 2 - 1
        out = _resize_with_antialiasing(image, size)
        write_case(out_dir, name, "svd_resize_antialias", 1e-5, 1e-5,
                   {"height": size[0], "width": size[1]}, {},
                   {"in.image": image, "out.image": out})


# ---------------------------------------------------------------------------------------------
# Pipeline: svd_pipeline (StableVideoDiffusionPipeline)
# ---------------------------------------------------------------------------------------------

def _to_pil(image):
    from PIL import Image

    array = (image[0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
    return Image.fromarray(array)


def manual_svd(pipe, image, image_input, image_noise, latents, p):
    """StableVideoDiffusionPipeline's sampling written out by hand."""
    from diffusers.pipelines.stable_video_diffusion.pipeline_stable_video_diffusion import (
        _resize_with_antialiasing)

    sched = copy.deepcopy(pipe.scheduler)
    fe = pipe.feature_extractor
    clip_in = image
    if image_input == "pil":
        clip_in = (_resize_with_antialiasing(image * 2 - 1, (224, 224)) + 1) / 2
    mean = torch.tensor(fe.image_mean).view(1, 3, 1, 1)
    std = torch.tensor(fe.image_std).view(1, 3, 1, 1)
    embeds = pipe.image_encoder((clip_in - mean) / std).image_embeds.unsqueeze(1)
    noisy = image * 2 - 1 + p["noise_aug_strength"] * image_noise
    cond = pipe.vae.encode(noisy).latent_dist.mode()
    frames = p["num_frames"]
    cond = cond.unsqueeze(1).repeat(1, frames, 1, 1, 1)
    ids = torch.tensor([[p["fps"] - 1, p["motion_bucket_id"], p["noise_aug_strength"]]],
                       dtype=torch.float32)
    sched.set_timesteps(p["num_inference_steps"])
    x = latents * sched.init_noise_sigma
    guidance = torch.linspace(p["min_guidance_scale"], p["max_guidance_scale"], frames)
    guidance = guidance.view(1, frames, 1, 1, 1)
    cfg = p["max_guidance_scale"] > 1
    for t in sched.timesteps:
        scaled = sched.scale_model_input(x, t)

        def unet(c, e):
            return pipe.unet(torch.cat([scaled, c], dim=2), t, encoder_hidden_states=e,
                             added_time_ids=ids, return_dict=False)[0]

        pred = unet(cond, embeds)
        if cfg:
            uncond = unet(torch.zeros_like(cond), torch.zeros_like(embeds))
            pred = uncond + guidance * (pred - uncond)
        x = sched.step(pred, t, x).prev_sample
    z = x.flatten(0, 1) * (1 / pipe.vae.config.scaling_factor)
    video = decode_in_chunks(pipe.vae, z, frames, p["decode_chunk_size"])
    video = video.reshape(1, frames, *video.shape[1:])
    return (video * 0.5 + 0.5).clamp(0, 1)


def build_pipeline(unet_cfg, vae_cfg, clip_cfg, seed):
    from diffusers import EulerDiscreteScheduler, StableVideoDiffusionPipeline
    from transformers import CLIPImageProcessor

    unet = _unet(unet_cfg, seed)
    vae = _vae(vae_cfg, seed + 1)
    encoder = _clip(seed + 2, **clip_cfg)
    size = clip_cfg["image_size"]
    fe = CLIPImageProcessor(crop_size=size, size=size)
    pipe = StableVideoDiffusionPipeline(vae=vae, image_encoder=encoder, unet=unet,
                                        scheduler=EulerDiscreteScheduler(**SVD_EULER),
                                        feature_extractor=fe)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def run_pipeline(pipe, image, image_input, image_noise, latents, p):
    """The real pipeline with the noise-augmentation noise injected."""
    import diffusers.pipelines.stable_video_diffusion.pipeline_stable_video_diffusion as svd

    real = svd.randn_tensor

    def injected(shape, **kw):
        if tuple(shape) == tuple(image_noise.shape):
            return image_noise.clone()
        raise RuntimeError(f"unexpected randn_tensor({shape}): latents are given")

    svd.randn_tensor = injected
    try:
        arg = _to_pil(image) if image_input == "pil" else image
        return pipe(arg, height=p["height"], width=p["width"], num_frames=p["num_frames"],
                    num_inference_steps=p["num_inference_steps"],
                    min_guidance_scale=p["min_guidance_scale"],
                    max_guidance_scale=p["max_guidance_scale"], fps=p["fps"],
                    motion_bucket_id=p["motion_bucket_id"],
                    noise_aug_strength=p["noise_aug_strength"],
                    decode_chunk_size=p["decode_chunk_size"], latents=latents.clone(),
                    output_type="pt").frames
    finally:
        svd.randn_tensor = real


def pipeline_case(out_dir, name, pipe, p, image_input, seed, tolerance=1e-4):
    g = torch.Generator().manual_seed(seed)
    h, w, frames = p["height"], p["width"], p["num_frames"]
    image = torch.rand(1, 3, h, w, generator=g)
    if image_input == "pil":
        image = (image * 255).round() / 255  # what a PIL image can hold
    noise = torch.randn(1, 3, h, w, generator=g)
    scale = pipe.vae_scale_factor
    latents = torch.randn(1, frames, pipe.unet.config.out_channels, h // scale, w // scale,
                          generator=g)
    with torch.no_grad():
        video = run_pipeline(pipe, image, image_input, noise, latents, p)
        manual = manual_svd(pipe, image, image_input, noise, latents, p)
    diff = (video - manual).abs().max().item()
    # Not bit-equal: the pipeline runs both guidance branches as one batch of 2, the loop as
    # two batches of 1 (GEMM blocking differs at ~1e-6, amplified by the sampling).
    if video.shape != (1, frames, 3, h, w) or diff > 5e-5:
        raise RuntimeError(f"{name}: pipeline and hand-written loop disagree "
                           f"(shape {tuple(video.shape)}, max diff {diff})")
    params = dict(p)
    if image_input != "pt":
        params["image_input"] = image_input
    write_case(out_dir, name, "svd_pipeline", tolerance, tolerance, params,
               {".": _half_pipeline(pipe)},
               {"in.image": image, "in.latents": latents, "in.image_noise": noise,
                "out.frames": video})


def _half_pipeline(pipe):
    """The pipeline with its networks in float16, for saving."""
    from diffusers import StableVideoDiffusionPipeline

    return StableVideoDiffusionPipeline(vae=save_half(pipe.vae),
                                        image_encoder=save_half(pipe.image_encoder),
                                        unet=save_half(pipe.unet), scheduler=pipe.scheduler,
                                        feature_extractor=pipe.feature_extractor)


PIPELINE_CLIP = dict(hidden_size=32, intermediate_size=37, num_attention_heads=4,
                     num_hidden_layers=2, projection_dim=16, patch_size=8)


def make_pipeline_cases(out_dir, full=False):
    base = dict(num_inference_steps=2, min_guidance_scale=1.0, max_guidance_scale=2.5, fps=7,
                motion_bucket_id=127, noise_aug_strength=0.02)
    if full:
        pipe = build_pipeline(TEST_UNET, TEST_VAE, TEST_CLIP, 8100)
        p = dict(base, height=32, width=32, num_frames=2, decode_chunk_size=2)
        pipeline_case(out_dir, "svd_pipeline_test", pipe, p, "pt", 8100)
        return
    # The tensor path: CLIP sees the image normalised at its own size (32x32 = image_size).
    # A VAE with one downsampling (latents at half size); to fit the case budget, a U-Net
    # whose down block has no layers at all (its up block then has one).
    pipe = build_pipeline(dict(FLAT_UNET, layers_per_block=0), SMALL_VAE,
                          dict(PIPELINE_CLIP, image_size=32), 8000)
    p = dict(base, height=32, width=32, num_frames=3, decode_chunk_size=3)
    pipeline_case(out_dir, "svd_pipeline_tiny", pipe, p, "pt", 8000)
    # Odd frames, decode chunks of 2, more noise augmentation, other conditioning, 4 steps.
    pipe = build_pipeline(FLAT_UNET, FLAT_VAE, dict(PIPELINE_CLIP, image_size=16), 8001)
    p = dict(height=16, width=16, num_frames=5, num_inference_steps=4, min_guidance_scale=1.5,
             max_guidance_scale=3.0, fps=12, motion_bucket_id=40, noise_aug_strength=0.1,
             decode_chunk_size=2)
    pipeline_case(out_dir, "svd_pipeline_chunked", pipe, p, "pt", 8001)
    # The PIL path: a non-square image, resized with antialiasing to 224 for CLIP; no CFG.
    pipe = build_pipeline(FLAT_UNET, FLAT_VAE, dict(PIPELINE_CLIP, image_size=224, patch_size=14),
                          8002)
    p = dict(height=24, width=40, num_frames=2, num_inference_steps=3, min_guidance_scale=1.0,
             max_guidance_scale=1.0, fps=6, motion_bucket_id=200, noise_aug_strength=0.02,
             decode_chunk_size=2)
    pipeline_case(out_dir, "svd_pipeline_pil_noguide", pipe, p, "pil", 8002)


# ---------------------------------------------------------------------------------------------
# bfloat16: the U-Net and the decoder run in bfloat16 on both sides (params.dtype)
# ---------------------------------------------------------------------------------------------

def make_bf16_cases(out_dir, full=False):
    if full:
        return
    seed = 9000
    unet = _unet(PLAIN_UNET, seed)
    g = torch.Generator().manual_seed(seed)
    sample, t, states, ids = unet_inputs(PLAIN_UNET, 1, 3, 8, 8, g)
    with torch.no_grad():
        full_out = unet(sample, t, encoder_hidden_states=states, added_time_ids=ids,
                        return_dict=False)[0]
        ub = copy.deepcopy(unet).to(torch.bfloat16)
        out = ub(sample.bfloat16(), t, encoder_hidden_states=states.bfloat16(),
                 added_time_ids=ids.bfloat16(), return_dict=False)[0]
    atol, gap = _bf16_tolerance(out, full_out)
    print(f"  unet bf16 vs f32 gap {gap:.3g}")
    write_case(out_dir, "svd_unet_plain_bf16", "svd_unet", atol, 1e-2, {"dtype": "bf16"},
               {"unet": ub}, {"in.sample": sample.bfloat16(), "in.timestep": t,
                              "in.encoder_hidden_states": states.bfloat16(),
                              "in.added_time_ids": ids.bfloat16(), "out.sample": out})

    vae = _vae(SMALL_VAE, seed + 1)
    latents = torch.randn(3, 4, 6, 6, generator=g).bfloat16()
    with torch.no_grad():
        full_out = vae.decode(latents.float(), num_frames=3).sample
        vb = copy.deepcopy(vae).to(torch.bfloat16)
        out = vb.decode(latents, num_frames=3).sample
    atol, gap = _bf16_tolerance(out, full_out)
    print(f"  vae decode bf16 vs f32 gap {gap:.3g}")
    write_case(out_dir, "svd_vae_tiny_decode_bf16", "svd_vae_decode", atol, 1e-2,
               {"dtype": "bf16", "num_frames": 3}, {"vae": vb},
               {"in.latents": latents, "out.video": out})


FAMILIES = {
    "vae": make_vae_cases,
    "unet": make_unet_cases,
    "clip": make_clip_cases,
    "schedulers": make_scheduler_cases,
    "resize": make_resize_cases,
    "pipeline": make_pipeline_cases,
    "bf16": make_bf16_cases,
}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="directory to write the case folders into")
    parser.add_argument("--only", action="append", choices=sorted(FAMILIES),
                        help="component family to generate (repeatable); default: all")
    parser.add_argument("--full", action="store_true",
                        help="write diffusers' exact fast-test configs instead (several MB per "
                             "case; for KINEMA_PARITY_DIRS, not for committing)")
    args = parser.parse_args(argv)
    if args.full:
        import make_fixtures
        make_fixtures.MAX_CASE_BYTES = 64 << 20
    torch.manual_seed(0)
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))
    os.makedirs(args.out, exist_ok=True)
    for family in args.only or list(FAMILIES):
        print(f"{family}:")
        FAMILIES[family](args.out, full=args.full)
    return 0


if __name__ == "__main__":
    sys.exit(main())
